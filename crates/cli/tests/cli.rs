//! The `vigie` binary end to end: rules check, hunt output, bad input.

use std::path::{Path, PathBuf};
use std::process::Command;

fn vigie() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigie"))
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("vigie-cli-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

const GOOD: &str = "title: Whoami\nid: 11111111-1111-1111-1111-111111111111\nauthor: Tester One\nlevel: high\ntags: [attack.discovery]\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    Image|endswith: '\\whoami.exe'\n  condition: sel\n";
const BAD: &str = "title: Broken\nid: 22222222-2222-2222-2222-222222222222\nlogsource: {product: windows}\ndetection:\n  sel:\n    Image|sideways: x\n  condition: sel\n";

fn sysmon(image: &str, record: u32) -> String {
    format!(
        r##"{{"Event":{{"System":{{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational","EventRecordID":{record},"TimeCreated":{{"#attributes":{{"SystemTime":"2024-02-10T22:15:00Z"}}}}}},"EventData":{{"Image":"{image}"}}}}}}"##
    )
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn rules_check_reports_loaded_and_rejected_as_json() {
    let d = tmp("check");
    write(&d, "good.yml", GOOD);
    write(&d, "bad.yml", BAD);
    let out = vigie().args(["rules", "check", "--json"]).arg(&d).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "some rules were rejected");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["loaded"], 1);
    let r = &v["rejected"][0];
    assert!(r["path"].as_str().unwrap().ends_with("bad.yml"));
    assert_eq!(r["id"], "22222222-2222-2222-2222-222222222222");
    assert!(r["reason"].as_str().unwrap().contains("sideways"), "{r}");
}

#[test]
fn hunt_jsonl_carries_the_contract() {
    let d = tmp("hunt");
    let rules = write(&d, "r.yml", GOOD);
    let other = write(&d, "other.yml", BAD);
    let input = write(
        &d,
        "events.jsonl",
        &format!("{}\n{}\n", sysmon(r"C:\\Windows\\System32\\whoami.exe", 7), sysmon(r"C:\\x.exe", 8)),
    );
    // --rules is repeatable and takes exactly one path: the input after it stays an input.
    let out = vigie()
        .args(["hunt", "--jsonl", "--rules"])
        .arg(&rules)
        .arg("--rules")
        .arg(&other)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<serde_json::Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1);
    let h = &lines[0];
    assert_eq!(h["@timestamp"], "2024-02-10T22:15:00Z");
    assert_eq!(h["rule"]["id"], "11111111-1111-1111-1111-111111111111");
    assert_eq!(h["rule"]["name"], "Whoami");
    assert_eq!(h["rule"]["level"], "high");
    assert_eq!(h["rule"]["author"], "Tester One");
    assert_eq!(h["rule"]["tags"][0], "attack.discovery");
    assert!(h["log"]["file"]["path"].as_str().unwrap().ends_with("events.jsonl"));
    assert_eq!(h["log"]["offset"], 1);
    assert_eq!(h["matched"]["Image"], r"C:\Windows\System32\whoami.exe");
    assert_eq!(h["event"]["Event"]["System"]["EventRecordID"], 7);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("events read:  2"), "{err}");
    assert!(err.contains("high: 1"), "{err}");
    assert!(err.contains("1 rejected"), "{err}");
}

#[test]
fn hunt_table_is_readable() {
    let d = tmp("table");
    let rules = write(&d, "r.yml", GOOD);
    let input = write(&d, "e.json", &format!("[{}]", sysmon(r"C:\\whoami.exe", 1)));
    let out = vigie().args(["hunt", "--rules"]).arg(&rules).arg(&input).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Whoami") && text.contains("Tester One") && text.contains("high"), "{text}");
}

#[test]
fn bad_lines_are_counted_and_the_rest_is_read() {
    let d = tmp("badline");
    let rules = write(&d, "r.yml", GOOD);
    let input = write(
        &d,
        "e.jsonl",
        &format!("{}\n{{not json\n{}\n", sysmon(r"C:\\whoami.exe", 1), sysmon(r"C:\\whoami.exe", 2)),
    );
    let out = vigie().args(["hunt", "--jsonl", "--rules"]).arg(&rules).arg(&input).output().unwrap();
    assert!(out.status.success());
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("e.jsonl: line 2:"), "names file and line: {err}");
    assert!(err.contains("bad records:  1"), "{err}");
}

#[test]
fn summary_json_is_written_for_scripts() {
    let d = tmp("summary");
    let rules = write(&d, "r.yml", GOOD);
    let bad = write(&d, "bad.yml", BAD);
    let input = write(&d, "e.jsonl", &format!("{}\n{{not json\n", sysmon(r"C:\\whoami.exe", 1)));
    let summary = d.join("summary.json");
    let out = vigie()
        .args(["hunt", "--jsonl", "--summary-json"])
        .arg(&summary)
        .arg("--rules")
        .arg(&rules)
        .arg("--rules")
        .arg(&bad)
        .arg(&input)
        .output()
        .unwrap();
    assert!(out.status.success());
    let v: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(v["events"], 1);
    assert_eq!(v["bad_records"], 1);
    assert_eq!(v["detections"], 1);
    assert_eq!(v["detections_by_level"]["high"], 1);
    assert_eq!(v["rules_loaded"], 1);
    assert!(v["rules_rejected"][0]["reason"].as_str().unwrap().contains("sideways"));
}

#[test]
fn gzip_and_directories_are_read() {
    use std::io::Write;
    let d = tmp("gz");
    let rules = write(&d, "r.yml", GOOD);
    let sub = d.join("logs/deeper");
    std::fs::create_dir_all(&sub).unwrap();
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(sub.join("a.jsonl.gz")).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(format!("{}\n", sysmon(r"C:\\whoami.exe", 1)).as_bytes()).unwrap();
    enc.finish().unwrap();
    let out = vigie().args(["hunt", "--jsonl", "--rules"]).arg(&rules).arg(d.join("logs")).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1, "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn corrupt_evtx_is_reported_and_the_hunt_goes_on() {
    let d = tmp("evtx");
    let rules = write(&d, "r.yml", GOOD);
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/evtx");
    std::fs::copy(corpus.join("corrupt_chunk.evtx"), d.join("corrupt.evtx")).unwrap();
    let good = write(&d, "good.jsonl", &format!("{}\n", sysmon(r"C:\\whoami.exe", 1)));
    let out = vigie()
        .args(["hunt", "--jsonl", "--rules"])
        .arg(&rules)
        .arg(d.join("corrupt.evtx"))
        .arg(&good)
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1);
}

#[test]
fn unreadable_input_is_an_error() {
    let d = tmp("missing");
    let rules = write(&d, "r.yml", GOOD);
    let out = vigie().args(["hunt", "--rules"]).arg(&rules).arg(d.join("nope.evtx")).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("nope.evtx: no such file or directory"));
    let out = vigie().args(["hunt", "--rules"]).arg(d.join("no-rules")).arg(&rules).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no-rules"));
}

#[test]
fn user_mapping_overrides_detection() {
    let d = tmp("mapping");
    let rules = write(
        &d,
        "r.yml",
        "title: Bulk export\nid: 33333333-3333-3333-3333-333333333333\nauthor: T\nlevel: high\nlogsource: {product: billing}\ndetection:\n  sel:\n    records|gte: 1000\n  condition: sel\n",
    );
    let mapping = write(
        &d,
        "m.yml",
        "name: billing\ndefault: ['payload.{field}']\nfields:\n  svc: svc\ntimestamp: [ts]\nlogsources:\n  - logsource: {product: billing}\n    when:\n      svc: [billing*]\n",
    );
    let input = write(
        &d,
        "e.jsonl",
        "{\"ts\":\"2024-01-01T00:00:00Z\",\"svc\":\"billing-api\",\"payload\":{\"records\":5000}}\n{\"svc\":\"other\",\"payload\":{\"records\":5000}}\n",
    );
    let out = vigie()
        .args(["hunt", "--jsonl", "--mapping"])
        .arg(&mapping)
        .arg("--rules")
        .arg(&rules)
        .arg(&input)
        .output()
        .unwrap();
    let lines: Vec<&str> = std::str::from_utf8(&out.stdout).unwrap().lines().collect();
    assert_eq!(lines.len(), 1, "{}", String::from_utf8_lossy(&out.stderr));
    assert!(lines[0].contains("\"@timestamp\":\"2024-01-01T00:00:00Z\""));
}

#[test]
fn help_teaches() {
    let out = vigie().args(["hunt", "--help"]).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Examples") && text.contains("--jsonl") && text.contains("--rules"), "{text}");
}

#[test]
fn one_large_file_is_split_across_threads_with_true_line_numbers() {
    let d = tmp("large");
    let rules = write(&d, "r.yml", GOOD);
    let mut text = String::with_capacity(24 << 20);
    let n = 60_000u32;
    for i in 1..=n {
        let image = if i % 20_000 == 0 { r"C:\\whoami.exe" } else { r"C:\\Windows\\explorer.exe" };
        text.push_str(&sysmon(image, i));
        text.push_str(&" ".repeat(200));
        text.push('\n');
    }
    let input = write(&d, "big.jsonl", &text);
    assert!(std::fs::metadata(&input).unwrap().len() > 16 << 20, "large enough to be split");
    let out = vigie().args(["hunt", "--jsonl", "-j", "2", "--rules"]).arg(&rules).arg(&input).output().unwrap();
    assert!(out.status.success());
    let mut offsets: Vec<u64> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["log"]["offset"].as_u64().unwrap())
        .collect();
    offsets.sort();
    assert_eq!(offsets, vec![20_000, 40_000, 60_000]);
    assert!(String::from_utf8_lossy(&out.stderr).contains(&format!("events read:  {n}")));
}

fn summary(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Issue 16: `G0`, `{"a":`, `G1`, `G2`, `G3` lost G1 and G2 to the
/// multi-line reader, and a line nested 10,000 deep killed the hunt.
#[test]
fn hunt_reads_past_a_cut_document_and_a_deep_line() {
    let d = tmp("hostile");
    let rules = write(&d, "r.yml", GOOD);
    let g = |i| sysmon(r"C:\\whoami.exe", i);
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let input = write(&d, "e.jsonl", &format!("{}\n{{\"a\":\n{}\n{}\n{deep}\n{}\n", g(0), g(1), g(2), g(3)));
    let out = vigie().args(["hunt", "--jsonl", "--rules"]).arg(&rules).arg(&input).output().unwrap();
    assert!(out.status.success(), "{:?} {}", out.status, summary(&out));
    let records: Vec<u64> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["event"]["Event"]["System"]["EventRecordID"]
                .as_u64()
                .unwrap()
        })
        .collect();
    assert_eq!(records, vec![0, 1, 2, 3], "{}", summary(&out));
    let err = summary(&out);
    assert!(err.contains("e.jsonl: line 2: json: JSON document is cut short"), "{err}");
    assert!(err.contains("e.jsonl: line 5: json: JSON nested deeper than 256 levels"), "{err}");
    assert!(err.contains("bad records:  2"), "{err}");
}

/// Issue 16: a small gzip of zeros expanded whole into memory. It is read
/// as a stream up to a cap (small here), reported with the file's name;
/// an over-long line is skipped and counted.
#[test]
fn hunt_caps_gzip_expansion_and_line_length() {
    use std::io::Write;
    let d = tmp("gzbomb");
    let rules = write(&d, "r.yml", GOOD);
    let path = d.join("bomb.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(std::fs::File::create(&path).unwrap(), flate2::Compression::fast());
    gz.write_all(format!("{}\n", sysmon(r"C:\\whoami.exe", 1)).as_bytes()).unwrap();
    gz.write_all(&vec![b'x'; 2 << 20]).unwrap();
    gz.write_all(format!("\n{}\n", sysmon(r"C:\\whoami.exe", 2)).as_bytes()).unwrap();
    gz.write_all(&vec![0u8; 8 << 20]).unwrap();
    gz.finish().unwrap();
    let out = vigie()
        .args(["hunt", "--jsonl", "--max-line-bytes", "65536", "--max-expanded-bytes", "4194304", "--rules"])
        .arg(&rules)
        .arg(&path)
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?} {}", out.status, summary(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 2, "{}", summary(&out));
    let err = summary(&out);
    assert!(
        err.contains("bomb.jsonl.gz: line 2: json: line of 2097152 bytes is longer than the limit (65536 bytes)"),
        "{err}"
    );
    assert!(
        err.contains("bomb.jsonl.gz: byte 4194304 of the decompressed stream: gzip: expands to more than the limit"),
        "{err}"
    );
}

/// Issue 16: a "billion laughs" rule grew `rules check` to 23 GB. It is
/// rejected with its file and line; the other rules load.
#[test]
fn rules_check_rejects_a_billion_laughs_rule() {
    let d = tmp("laughs");
    write(&d, "good.yml", GOOD);
    let mut laughs =
        String::from("title: lol\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    for w in names.windows(2) {
        laughs.push_str(&format!("{}: &{} [{}]\n", w[1], w[1], vec![format!("*{}", w[0]); 9].join(",")));
    }
    write(&d, "laughs.yml", &laughs);
    let out = vigie().args(["rules", "check", "--json"]).arg(&d).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", summary(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["loaded"], 1);
    let r = &v["rejected"][0];
    assert!(r["path"].as_str().unwrap().ends_with("laughs.yml"), "{r}");
    assert!(r["reason"].as_str().unwrap().contains("aliases expand to more than 10000 nodes"), "{r}");
    assert!(r["reason"].as_str().unwrap().contains("at line"), "{r}");
}

/// Issue 16: the table held every detection (2.95 GB for 500,000 Windows
/// events). It keeps the first rows only, and counts the rest per rule.
#[test]
fn hunt_table_keeps_the_first_rows_and_counts_the_rest() {
    let d = tmp("maxrows");
    let rules = write(&d, "r.yml", GOOD);
    let text: String = (1..=5).map(|i| sysmon(r"C:\\whoami.exe", i) + "\n").collect();
    let input = write(&d, "e.jsonl", &text);
    let out = vigie().args(["hunt", "--max-rows", "2", "--rules"]).arg(&rules).arg(&input).output().unwrap();
    assert!(out.status.success(), "{}", summary(&out));
    let table = String::from_utf8_lossy(&out.stdout);
    assert_eq!(table.matches("e.jsonl:").count(), 2, "{table}");
    assert!(table.contains("e.jsonl:1") && table.contains("e.jsonl:2"), "the earliest rows: {table}");
    assert!(table.contains("2 of 5 detections shown"), "{table}");
    assert!(table.contains("5  high          Whoami"), "{table}");
    assert!(summary(&out).contains("high: 5"), "{}", summary(&out));
}

/// `vigie <args>` under umask 022 (a common default): what vigie creates
/// must still be owner-only.
#[cfg(unix)]
fn vigie_umask_022(args: &[&str], stdin: Option<&Path>) -> std::process::Output {
    let mut c = Command::new("sh");
    c.arg("-c").arg("umask 022; exec \"$0\" \"$@\"").arg(env!("CARGO_BIN_EXE_vigie")).args(args);
    if let Some(p) = stdin {
        c.stdin(std::fs::File::open(p).unwrap());
    }
    c.output().unwrap()
}

#[cfg(unix)]
fn files_under(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            files_under(&p, out);
        }
        out.push(p);
    }
}

/// The issue's privacy rows end to end through `vigie run`: a person's id
/// sent in every shape (string, number, array, objects, a URL path, a field
/// the configuration marks as personal, a line that does not decode) is in
/// clear in no file vigie writes (the store, its WAL, the alert file, the
/// checkpoint) and in no log line; and every file vigie creates is 0600 and
/// every folder 0700 under umask 022.
#[cfg(unix)]
#[test]
fn a_persons_id_is_nowhere_in_clear_and_state_is_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    const RAW: &str = "267035512349876";
    let d = tmp("privacy");
    let state = d.join("state");
    std::fs::create_dir_all(d.join("rules")).unwrap();
    write(
        &d.join("rules"),
        "view.yml",
        "title: Beneficiary viewed\nid: 33333333-3333-3333-3333-333333333333\nauthor: t\nlevel: high\n\
         logsource: {product: vigie, category: data_access}\ndetection:\n  sel:\n    event.action: beneficiary.view\n  condition: sel\n",
    );
    let ev = |user: &str, extra: &str| {
        format!(
            r#"{{"@timestamp":"2026-03-02T10:00:00Z","user":{{"name":"{user}"}},"source":{{"ip":"10.0.0.1"}},"event":{{"action":"beneficiary.view"}},{extra}}}"#
        )
    };
    let events = [
        ev("adv1", &format!(r#""data_subject":{{"ids":"{RAW}","count":1200}}"#)),
        ev("adv2", &format!(r#""data_subject":{{"ids":{RAW}}}"#)),
        ev("adv3", &format!(r#""data_subject":{{"ids":["{RAW}",{RAW}]}}"#)),
        ev("adv4", &format!(r#""data_subject":{{"ids":[{{"nir":"{RAW}"}},{{"id":{{"v":{RAW}}}}}]}}"#)),
        ev("adv5", &format!(r#""data_subject":{{"count":1}},"url":{{"path":"/beneficiaries/{RAW}"}}"#)),
        ev("adv6", &format!(r#""data_subject":{{"count":1}},"beneficiary":{{"nir":"{RAW}"}}"#)),
        format!(r#"{{"data_subject":{{"ids":{RAW}x}}}}"#),
    ];
    let input = write(&d, "events.jsonl", &(events.join("\n") + "\n"));
    let cfg = write(
        &d,
        "vigie.toml",
        &format!(
            "[rules]\npaths = [\"{rules}\"]\n[engine]\nstate_dir = \"{state}\"\n[server]\nlisten = \"127.0.0.1:0\"\n\
             [[inputs]]\ntype = \"stdin\"\n[[sinks]]\ntype = \"jsonl\"\npath = \"{state}/alerts/alerts.jsonl\"\n\
             [store]\nurl_patterns = [\"/beneficiaries/{{id}}\"]\npersonal_fields = [\"beneficiary.nir\"]\n",
            rules = d.join("rules").display(),
            state = state.display()
        ),
    );
    let out = vigie_umask_022(&["run", "--config", cfg.to_str().unwrap()], Some(&input));
    let logs = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{logs}");
    assert!(logs.contains("1 decode errors") || logs.contains("decode"), "{logs}");
    assert!(!logs.contains(RAW) && !logs.contains("26703551"), "the logs quote the id: {logs}");

    // Every alert reached the file, with the pseudonym in place of the id.
    let key = std::fs::read_to_string(state.join("pseudonym.key")).unwrap();
    let pseudonym = vigie_analytics::Pseudonymiser::new(key.trim().as_bytes()).pseudonym(RAW);
    let alerts = std::fs::read_to_string(state.join("alerts/alerts.jsonl")).unwrap();
    let users: std::collections::BTreeSet<String> = alerts
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|a| a["rule"]["id"] == "33333333-3333-3333-3333-333333333333")
        .filter_map(|a| a["user"]["name"].as_str().map(str::to_string))
        .collect();
    assert_eq!(users.len(), 6, "{alerts}");
    assert!(alerts.contains(&pseudonym), "{alerts}");

    // No file vigie wrote holds the id, and each is owner-only.
    let mut files = Vec::new();
    files_under(&state, &mut files);
    assert!(files.iter().any(|f| f.ends_with("vigie.db")), "{files:?}");
    assert!(files.iter().any(|f| f.ends_with("state.redb")), "{files:?}");
    for f in &files {
        let mode = std::fs::metadata(f).unwrap().permissions().mode() & 0o777;
        if f.is_dir() {
            assert_eq!(mode, 0o700, "{}", f.display());
        } else {
            assert_eq!(mode, 0o600, "{}", f.display());
            let bytes = std::fs::read(f).unwrap();
            assert!(!bytes.windows(RAW.len()).any(|w| w == RAW.as_bytes()), "{} holds the id in clear", f.display());
        }
    }
    assert_eq!(std::fs::metadata(&state).unwrap().permissions().mode() & 0o777, 0o700);

    // The store's alert rows carry the pseudonym too.
    let store = vigie_store::Store::open(&state.join("vigie.db").display().to_string()).unwrap();
    let bodies = format!("{:?}", store.db.query("SELECT body, reason FROM alerts", &[]).unwrap());
    assert!(bodies.contains(&pseudonym) && !bodies.contains(RAW));
}

/// Users can be removed (never the last admin), tokens listed and revoked,
/// and `audit verify` finds a cut tail that a plain hash chain would not.
#[test]
fn users_tokens_and_a_cut_audit_tail() {
    let d = tmp("admin");
    let db = d.join("state").join("vigie.db");
    let db_s = db.display().to_string();
    let add = |name: &str, role: &str| {
        let mut child = vigie()
            .args(["users", "add", name, "--role", role, "--store", &db_s])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        // A rejected name exits before reading the password: the pipe may be
        // closed already, and that is not the test's concern.
        let _ = child.stdin.take().unwrap().write_all(b"a long enough password\n");
        child.wait_with_output().unwrap()
    };
    std::fs::create_dir_all(db.parent().unwrap()).unwrap();
    vigie_store::Store::open(&db_s).unwrap();
    assert!(add("root", "admin").status.success());
    assert!(add("ana", "analyst").status.success());
    for bad in ["", "a b", "-x"] {
        let out = add(bad, "analyst");
        assert!(!out.status.success(), "{bad:?}");
    }
    let out = vigie().args(["users", "remove", "root", "--store", &db_s]).output().unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("last admin"), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(vigie().args(["users", "remove", "ana", "--store", &db_s]).status().unwrap().success());
    let out = vigie().args(["users", "list", "--json", "--store", &db_s]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["users"].as_array().unwrap().len(), 1);

    // Tokens: created (the old form still works), listed, revoked.
    let out = vigie().args(["token", "siem", "--role", "analyst", "--store", &db_s]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let token = String::from_utf8(out.stdout).unwrap().trim().to_string();
    let out = vigie().args(["token", "list", "--json", "--store", &db_s]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let id = v["tokens"][0]["id"].as_str().unwrap().to_string();
    assert!(!v.to_string().contains(&token));
    assert!(vigie().args(["token", "revoke", &id, "--store", &db_s]).status().unwrap().success());
    let store = vigie_store::Store::open(&db_s).unwrap();
    assert_eq!(store.token(&token).unwrap(), None);

    // The audit chain is keyed and its head kept beside the database.
    let out = vigie().args(["audit", "verify", "--json", "--store", &db_s]).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (out.status.code(), &v["ok"], &v["sealed"]),
        (Some(0), &serde_json::json!(true), &serde_json::json!(true)),
        "{v}"
    );
    let entries = v["entries"].as_i64().unwrap();
    assert!(entries >= 5, "{v}");
    // Cut the tail: the rest is a valid chain, but the head says otherwise.
    store.db.execute("DELETE FROM audit WHERE seq >= $1", &[vigie_store::Sql::Int(entries - 1)]).unwrap();
    let out = vigie().args(["audit", "verify", "--store", &db_s]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stdout));
    assert!(String::from_utf8_lossy(&out.stdout).contains("tail was cut"));
}

/// The audit chain's head is kept outside the database three times: the
/// head file, each checkpoint of `vigie run`, and the `[store] audit_sinks`.
/// Someone who can write the database and the head file (but not the
/// checkpoint, nor the receiver of the sink) cuts the tail and rewrites the
/// head file to match: the checkpoint's copy and the sink's copy still
/// expose it.
#[test]
fn the_audit_head_is_kept_in_checkpoints_and_sent_to_the_audit_sinks() {
    let d = tmp("audit-head");
    let state = d.join("state");
    let cfg = write(
        &d,
        "vigie.toml",
        &format!(
            "[engine]\nstate_dir = \"{state}\"\n[server]\nlisten = \"127.0.0.1:0\"\n[[inputs]]\ntype = \"stdin\"\n\
             [[store.audit_sinks]]\ntype = \"jsonl\"\npath = \"{heads}\"\n",
            state = state.display(),
            heads = d.join("heads.jsonl").display()
        ),
    );
    let cfg_s = cfg.to_str().unwrap();
    std::fs::create_dir_all(&state).unwrap();
    vigie_store::Store::open(&state.join("vigie.db").display().to_string()).unwrap();
    for (name, role) in [("root", "admin"), ("ana", "analyst"), ("dora", "dpo")] {
        let mut child = vigie()
            .args(["users", "add", name, "--role", role, "--config", cfg_s])
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(b"a long enough password\n").unwrap();
        assert!(child.wait_with_output().unwrap().status.success());
    }
    let input = write(&d, "events.jsonl", "{\"@timestamp\":\"2026-03-02T10:00:00Z\",\"user\":{\"name\":\"a\"}}\n");
    let out = vigie_umask_022(&["run", "--config", cfg_s], Some(&input));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The sink received the head as it stands in the head file.
    let head: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(state.join("audit.head")).unwrap()).unwrap();
    let sent = std::fs::read_to_string(d.join("heads.jsonl")).unwrap();
    let last: serde_json::Value = serde_json::from_str(sent.lines().last().unwrap()).unwrap();
    assert_eq!(
        (&last["type"], &last["seq"], &last["mac"]),
        (&serde_json::json!("audit_head"), &head["seq"], &head["mac"])
    );
    assert_eq!(head["seq"], 3, "{head}");
    let sink_head = format!("{}:{}", last["seq"], last["mac"].as_str().unwrap());

    let verify = |extra: &[&str]| {
        let out = vigie().args(["audit", "verify", "--json", "--config", cfg_s]).args(extra).output().unwrap();
        (out.status.code(), serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap())
    };
    let (code, v) = verify(&["--head", &sink_head]);
    assert_eq!(code, Some(0), "{v}");
    assert_eq!(v["checked_against"], serde_json::json!(["--head 3", "the last checkpoint"]), "{v}");

    // Cut the newest entry and rewrite the head file to the one before.
    let store = vigie_store::Store::open(&state.join("vigie.db").display().to_string()).unwrap();
    let second = store.db.query("SELECT hash FROM audit WHERE seq = 2", &[]).unwrap()[0].text(0);
    store.db.execute("DELETE FROM audit WHERE seq = 3", &[]).unwrap();
    std::fs::write(state.join("audit.head"), serde_json::json!({"seq": 2, "mac": second}).to_string()).unwrap();
    let (code, v) = verify(&[]);
    assert_eq!(code, Some(1), "the checkpoint's copy exposes the cut: {v}");
    assert!(v["problem"].as_str().unwrap().contains("the last checkpoint"), "{v}");
    // Without the checkpoint, the head kept by the sink's receiver does.
    std::fs::rename(state.join("state.redb"), d.join("state.redb.moved")).unwrap();
    let (code, v) = verify(&[]);
    assert_eq!(code, Some(0), "with the head file rewritten and no other copy, nothing can tell: {v}");
    let (code, v) = verify(&["--head", &sink_head]);
    assert_eq!(code, Some(1), "{v}");
    assert!(
        v["problem"].as_str().unwrap().contains("--head 3") && v["problem"].as_str().unwrap().contains("tail was cut"),
        "{v}"
    );
}

/// A rule that passes every lint check.
const LINT_CLEAN: &str = "title: Whoami Run\nid: 0b5c6e1e-6a3c-4d2b-9f1e-2a7c8d9e0f11\nstatus: test\ndescription: Discovery of the current user.\nauthor: Tester One\ndate: 2026-01-15\ntags:\n    - attack.discovery\n    - attack.t1033\nlogsource:\n    product: windows\n    category: process_creation\ndetection:\n    sel:\n        Image|endswith: '\\whoami.exe'\n    condition: sel\nlevel: low\n";

/// The clean rule with an invalid ATT&CK tag (error), a tag in capitals and
/// a duplicate tag (warnings, fixable), and `<&>` in the title for the XML.
fn lint_bad() -> String {
    LINT_CLEAN
        .replace("Whoami Run", "Whoami <&> \"Run\"")
        .replace("    - attack.t1033\n", "    - attack.T1033\n    - attack.discovery\n    - attack.discvery\n")
}

#[test]
fn rules_lint_text_json_and_exit_status() {
    let d = tmp("lint");
    // File names of 10 to 90 characters: shorter ones are `filename-length`.
    write(&d, "proc_creation_win_whoami_good.yml", LINT_CLEAN);
    let out = vigie().args(["rules", "lint"]).arg(&d).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(text.contains("0 errors, 0 warnings, 0 info in 1 files (1 documents)"), "{text}");
    let bad = write(&d, "proc_creation_win_whoami_bad.yml", &lint_bad().replace("0b5c6e1e", "1c5c6e1e"));
    let out = vigie().args(["rules", "lint"]).arg(&d).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    let line = format!("{}:11: error invalid-attack-tag: ", bad.display());
    assert!(text.contains(&line), "{text}");
    assert!(text.contains(&format!("{}:9: warning tag-not-lowercase: ", bad.display())), "{text}");
    let out = vigie().args(["rules", "lint", "--json"]).arg(&d).output().unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((v["files"].as_u64(), v["errors"].as_u64(), v["warnings"].as_u64()), (Some(2), Some(1), Some(2)));
    assert_eq!(v["counts"]["duplicate-tag"], 1);
    let f = &v["findings"][0];
    assert_eq!(f["rule_id"], "1c5c6e1e-6a3c-4d2b-9f1e-2a7c8d9e0f11");
    assert_eq!(
        (f["check"].as_str(), f["line"].as_u64(), f["severity"].as_str()),
        (Some("tag-not-lowercase"), Some(9), Some("warning"))
    );
    assert!(f["reason"].as_str().unwrap().contains("lowercase"), "{f}");
    // --help teaches, with an example.
    let out = vigie().args(["rules", "lint", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("vigie rules lint --fix") && help.contains("disable:") && help.contains("--junit"), "{help}");
}

#[test]
fn rules_lint_config_disables_escalates_and_rejects_unknown_checks() {
    let d = tmp("lint-config");
    let rules = d.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    write(&rules, "proc_creation_win_whoami_bad.yml", &lint_bad());
    let cfg = write(
        &d,
        "lint.yml",
        "disable: [invalid-attack-tag]\nseverity:\n  duplicate-tag: error\n  tag-not-lowercase: info\n",
    );
    let out = vigie().args(["rules", "lint", "--json", "--config"]).arg(&cfg).arg(&rules).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "duplicate-tag is an error now");
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["counts"].get("invalid-attack-tag"), None, "{v}");
    assert_eq!((v["errors"].as_u64(), v["warnings"].as_u64(), v["infos"].as_u64()), (Some(1), Some(0), Some(1)));
    let cfg = write(&d, "lint.yml", "disable: [invalid-attack-tag, duplicate-tag, tag-not-lowercase]\n");
    let out = vigie().args(["rules", "lint", "--config"]).arg(&cfg).arg(&rules).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stdout));
    let cfg = write(&d, "lint.yml", "disable: [no-such-check]\n");
    let out = vigie().args(["rules", "lint", "--config"]).arg(&cfg).arg(&rules).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("unknown check `no-such-check`"));
}

/// Attribute values of every `<tag ...>` with this name, unescaped.
fn xml_attrs(xml: &str, tag: &str, attr: &str) -> Vec<String> {
    let open = format!("<{tag} ");
    let key = format!(" {attr}=\"");
    xml.match_indices(&open)
        .filter_map(|(i, _)| {
            let rest = &xml[i..];
            let head = &rest[..rest.find('>').unwrap()];
            let start = head.find(&key)? + key.len();
            let v = &head[start..start + head[start..].find('"').unwrap()];
            Some(
                v.replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&amp;", "&"),
            )
        })
        .collect()
}

#[test]
fn rules_lint_writes_junit_xml() {
    let d = tmp("lint-junit");
    let rules = d.join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    write(&rules, "proc_creation_win_a_good.yml", LINT_CLEAN);
    write(&rules, "proc_creation_win_b_whoami_bad.yml", &lint_bad().replace("0b5c6e1e", "1c5c6e1e"));
    let xml_path = d.join("lint.xml");
    let out = vigie().args(["rules", "lint", "--junit"]).arg(&xml_path).arg(&rules).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let xml = std::fs::read_to_string(&xml_path).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "), "{xml}");
    // Balanced elements, and no raw markup from the title.
    for tag in ["testsuites", "testsuite", "testcase", "failure"] {
        let opened = xml.matches(&format!("<{tag} ")).count();
        let closed = xml.matches(&format!("</{tag}>")).count();
        let empty =
            xml.lines().filter(|l| l.trim_start().starts_with(&format!("<{tag} ")) && l.ends_with("/>")).count();
        assert_eq!(opened, closed + empty, "{tag}: {xml}");
    }
    assert!(!xml.contains("<&>"), "{xml}");
    let suites = xml_attrs(&xml, "testsuite", "name");
    assert_eq!(suites.len(), 2, "{xml}");
    assert!(suites[1].ends_with("b_whoami_bad.yml"));
    let cases = xml_attrs(&xml, "testcase", "name");
    assert_eq!(cases[1], "1c5c6e1e-6a3c-4d2b-9f1e-2a7c8d9e0f11 Whoami <&> \"Run\"", "{xml}");
    let failures = xml_attrs(&xml, "failure", "type");
    assert_eq!(failures, ["tag-not-lowercase", "duplicate-tag", "invalid-attack-tag"], "{xml}");
    assert_eq!(xml_attrs(&xml, "testsuites", "failures"), ["1"]);
    assert_eq!(xml_attrs(&xml, "testsuites", "tests"), ["2"]);
}

#[test]
fn rules_lint_fix_repairs_tags_and_nothing_else() {
    let d = tmp("lint-fix");
    let text = lint_bad().replace("    - attack.discvery\n", "");
    let p = write(&d, "proc_creation_win_whoami_rule.yml", &text);
    let out = vigie().args(["rules", "lint", "--fix"]).arg(&p).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(":9: tag-not-lowercase: `attack.T1033` -> `attack.t1033`"), "{stdout}");
    assert!(stdout.contains(":10: duplicate-tag: removed `attack.discovery`"), "{stdout}");
    assert!(stdout.contains("0 errors, 0 warnings, 0 info"), "{stdout}");
    let fixed = std::fs::read_to_string(&p).unwrap();
    let expected = text.replace("    - attack.T1033\n    - attack.discovery\n", "    - attack.t1033\n");
    assert_eq!(fixed, expected);
    // A second run finds nothing to fix and changes nothing.
    let out = vigie().args(["rules", "lint", "--fix"]).arg(&p).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stdout).contains("fixed"));
    assert_eq!(std::fs::read_to_string(&p).unwrap(), expected);
}
