//! Benchmark corpora built from real Windows events, whose values do not
//! repeat: SigmaHQ's regression data (`../shared/sigma/regression_data`,
//! EVTX files each recorded for a rule that must fire) read through vigie's
//! own EVTX decoder, then drawn at random and changed so that no memo of
//! values can feed on repetition.
//!
//! - **varied**: a regression event with 80% of its free-text values
//!   ([`FREE_TEXT`]: command lines, file names, registry paths, details and
//!   the like) given a unique suffix, every process id randomised and every
//!   record id unique. Images keep their names, so rules on the process
//!   still route and fire; rules that end on a free-text value fire less.
//! - **mix**: what a fleet mostly logs. 99% of events are benign: a
//!   regression event (so every log source and field shape of the set is
//!   there) with every free-text value, image and program metadata (original
//!   file name, product, hashes, ...) replaced by an ordinary one of the same kind (a program under `C:\Program Files`, a
//!   document under a user's folder, a key under the user's software hive),
//!   drawn from a small fleet of vendors plus a unique part. 1% are varied
//!   regression events. The detections that remain on benign events are those
//!   of rules that need no free-text value (an EventID alone, a field kept),
//!   which is what a real fleet's false positives look like.

use crate::gen_events::Rng;
use anyhow::{Context, Result};
use serde_json::Value;
use std::io::Write;
use std::path::Path;

/// Which corpus `vigie bench` measures.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum CorpusKind {
    /// vigie's generator: an ordinary fleet whose values repeat (the memos
    /// see them again and again).
    Generated,
    /// Regression events with unique free-text values and random process ids.
    Varied,
    /// 99% benign events derived from the regression events, 1% varied ones.
    Mix,
}

impl CorpusKind {
    pub fn name(self) -> &'static str {
        match self {
            CorpusKind::Generated => "generated",
            CorpusKind::Varied => "varied",
            CorpusKind::Mix => "mix",
        }
    }
}

/// Fields whose values are free text: what an attacker (or a program)
/// chooses, as opposed to the fields that say what kind of event it is.
pub const FREE_TEXT: &[&str] = &[
    "CommandLine",
    "ParentCommandLine",
    "TargetFilename",
    "TargetObject",
    "Details",
    "NewName",
    "ImageLoaded",
    "PipeName",
    "QueryName",
    "QueryResults",
    "ScriptBlockText",
    "ServiceFileName",
    "ImagePath",
    "ObjectName",
    "ShareName",
    "RelativeTargetName",
    "CallTrace",
    "DestinationHostname",
    "Payload",
    "TaskContent",
    "Contents",
    "Path",
];

/// Fields naming a program: kept by the varied corpus (rules on the process
/// must still see it), replaced by the benign one.
const IMAGES: &[&str] =
    &["Image", "ParentImage", "SourceImage", "TargetImage", "NewProcessName", "ParentProcessName", "ProcessName"];

/// What a program's file says of itself (and its hashes): kept by the
/// varied corpus, made the benign program's own by the mix.
const PE_METADATA: &[&str] =
    &["OriginalFileName", "Product", "Description", "Company", "FileVersion", "Hashes", "Hash", "TaskName"];

/// Process ids, as numbers (Sysmon) or `0x` strings (Security).
const PIDS: &[&str] =
    &["ProcessId", "ParentProcessId", "SourceProcessId", "TargetProcessId", "NewProcessId", "ProcessID"];

/// How many of the free-text values the varied corpus changes.
const VARIED_SHARE: f64 = 0.8;
/// The share of regression (attack) events in the mix.
const MIX_ATTACKS: f64 = 0.01;
/// Vendors of the benign fleet: values share a vendor, never a whole value.
const VENDORS: usize = 40;

/// Every record of every EVTX file under `dir`, as JSON trees.
pub fn seeds(dir: &Path) -> Result<Vec<Value>> {
    let files: Vec<_> = vigie_decode::discover(std::slice::from_ref(&dir.to_path_buf()))?
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("evtx")))
        .collect();
    let mut out = Vec::new();
    for f in &files {
        let mut bad = None;
        vigie_decode::read_file(
            f,
            1,
            &mut |rec| match sonic_rs::to_string(&rec.value).map(|s| serde_json::from_str::<Value>(&s)) {
                Ok(Ok(v)) => out.push(v),
                Ok(Err(e)) => bad = Some(e.to_string()),
                Err(e) => bad = Some(e.to_string()),
            },
            &mut |_| {},
        )
        .with_context(|| format!("reading {}", f.display()))?;
        if let Some(e) = bad {
            anyhow::bail!("{}: a record did not convert: {e}", f.display());
        }
    }
    anyhow::ensure!(!out.is_empty(), "no EVTX record under {}", dir.display());
    Ok(out)
}

fn unit(rng: &mut Rng) -> f64 {
    (rng.next() >> 11) as f64 / (1u64 << 53) as f64
}

/// The fields of an event's data, whatever its shape: `Event.EventData`,
/// `Event.UserData.*`, or the top level of a flat event.
fn data_fields(v: &mut Value) -> Vec<&mut serde_json::Map<String, Value>> {
    let mut out = Vec::new();
    if !v.get("Event").is_some_and(Value::is_object) {
        if let Some(m) = v.as_object_mut() {
            out.push(m);
        }
        return out;
    }
    let Some(Value::Object(ev)) = v.get_mut("Event") else { return out };
    for (k, d) in ev.iter_mut() {
        match (k.as_str(), d) {
            ("EventData", Value::Object(m)) => out.push(m),
            ("UserData", Value::Object(u)) => out.extend(u.values_mut().filter_map(|x| x.as_object_mut())),
            ("System", Value::Object(s)) => {
                if let Some(Value::Object(x)) = s.get_mut("Execution")
                    && let Some(Value::Object(a)) = x.get_mut("#attributes")
                {
                    out.push(a);
                }
            }
            _ => {}
        }
    }
    out
}

fn set_record_id(v: &mut Value, i: u64) {
    if let Some(id) = v.pointer_mut("/Event/System/EventRecordID") {
        *id = Value::from(i);
    }
}

fn random_pid(old: &Value, rng: &mut Rng) -> Option<Value> {
    let pid = 4 + 4 * rng.below(60_000) as u64;
    match old {
        Value::Number(_) => Some(Value::from(pid)),
        Value::String(s) if s.starts_with("0x") => Some(Value::String(format!("0x{pid:x}"))),
        Value::String(s) if s.parse::<u64>().is_ok() => Some(Value::String(pid.to_string())),
        _ => None,
    }
}

/// A regression event with unique free-text values and random process ids.
pub fn vary(v: &mut Value, rng: &mut Rng, i: u64) {
    set_record_id(v, i);
    for m in data_fields(v) {
        for (k, x) in m.iter_mut() {
            if PIDS.contains(&k.as_str()) {
                if let Some(p) = random_pid(x, rng) {
                    *x = p;
                }
            } else if FREE_TEXT.contains(&k.as_str())
                && let Value::String(s) = x
                && !s.is_empty()
                && unit(rng) < VARIED_SHARE
            {
                let sep = if k.ends_with("CommandLine") || k == "ScriptBlockText" { ' ' } else { '_' };
                s.push(sep);
                s.push_str(&format!("{:012x}", rng.next() & 0xffff_ffff_ffff));
            }
        }
    }
}

/// An ordinary value for field `k`, of vendor `n`, unique by `u`.
fn benign_value(k: &str, n: usize, u: u64) -> String {
    let exe = format!(r"C:\Program Files\Contoso{n}\app{n}.exe");
    match k {
        "CommandLine" | "ParentCommandLine" => format!(r#""{exe}" --profile {u:x}"#),
        "ImageLoaded" => format!(r"C:\Program Files\Contoso{n}\lib{n}_{u:x}.dll"),
        "TargetFilename" | "Path" | "ObjectName" | "RelativeTargetName" => {
            format!(r"C:\Users\user{n}\Documents\report-{u:x}.docx")
        }
        "TargetObject" => format!(r"HKU\S-1-5-21-1000-{n}\Software\Contoso{n}\Settings\v{u:x}"),
        "Details" => format!("DWORD (0x{:08x})", u & 0xffff_ffff),
        "ScriptBlockText" | "Payload" | "Contents" | "TaskContent" => format!("Get-Date -Format o # {u:x}"),
        "QueryName" | "DestinationHostname" => format!("h{u:x}.contoso{n}.example"),
        "QueryResults" => format!("::ffff:10.{}.{}.{};", n, (u >> 8) & 0xff, u & 0xff),
        "PipeName" => format!(r"\contoso{n}_{u:x}"),
        "ShareName" => format!(r"\\*\share{n}"),
        "NewName" => format!(r"C:\Users\user{n}\Documents\report-{u:x}.bak"),
        "CallTrace" => format!(r"C:\Windows\SYSTEM32\ntdll.dll+{:x}", u & 0xfffff),
        "OriginalFileName" => format!("app{n}.exe"),
        "Product" => format!("Contoso{n} Suite"),
        "Description" => format!("Contoso{n} application"),
        "Company" => format!("Contoso{n} Ltd"),
        "FileVersion" => format!("1.{n}.0"),
        "Hashes" | "Hash" => format!("SHA256={:016X}{:048X}", u, u.wrapping_mul(0x9E37_79B9_7F4A_7C15)),
        "TaskName" => format!(r"\Contoso{n}\Update"),
        _ if IMAGES.contains(&k) || k == "ServiceFileName" || k == "ImagePath" => exe,
        _ => format!("value-{u:x}"),
    }
}

/// A regression event with every free-text value, image and program
/// metadata made ordinary.
pub fn benign(v: &mut Value, rng: &mut Rng, i: u64) {
    set_record_id(v, i);
    let n = rng.below(VENDORS);
    for m in data_fields(v) {
        for (k, x) in m.iter_mut() {
            if PIDS.contains(&k.as_str()) {
                if let Some(p) = random_pid(x, rng) {
                    *x = p;
                }
            } else if [FREE_TEXT, IMAGES, PE_METADATA].iter().any(|l| l.contains(&k.as_str())) && x.is_string() {
                *x = Value::String(benign_value(k, n, rng.next() & 0xffff_ffff_ffff));
            }
        }
    }
}

/// Write `n` events of `kind` (not `Generated`) drawn from `seeds` to `out`
/// as JSON lines, deterministically from `seed`; `flat`: in the flat
/// Windows shape (see [`gen_events::flatten`](crate::gen_events::flatten)).
pub fn write_corpus(
    out: &mut dyn Write,
    kind: CorpusKind,
    seeds: &[Value],
    n: u64,
    seed: u64,
    flat: bool,
) -> Result<()> {
    anyhow::ensure!(!seeds.is_empty(), "no seed events");
    let mut rng = Rng::new(seed);
    let (mut nested, mut line) = (Vec::new(), Vec::new());
    for i in 0..n {
        let mut v = seeds[rng.below(seeds.len())].clone();
        match kind {
            CorpusKind::Mix if unit(&mut rng) >= MIX_ATTACKS => benign(&mut v, &mut rng, i),
            CorpusKind::Mix | CorpusKind::Varied => vary(&mut v, &mut rng, i),
            CorpusKind::Generated => anyhow::bail!("the generated corpus has its own generator"),
        }
        if flat {
            nested.clear();
            serde_json::to_writer(&mut nested, &v)?;
            line.clear();
            crate::gen_events::flatten(&nested, &mut line);
            out.write_all(&line)?;
        } else {
            serde_json::to_writer(&mut *out, &v)?;
            out.write_all(b"\n")?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Value {
        serde_json::json!({"Event": {
            "System": {"EventID": 1, "EventRecordID": 7, "Channel": "Microsoft-Windows-Sysmon/Operational",
                       "Execution": {"#attributes": {"ProcessID": 3544}}},
            "EventData": {"Image": "C:\\Windows\\System32\\cmd.exe", "CommandLine": "cmd.exe /c whoami",
                          "TargetFilename": "C:\\Temp\\evil.ps1", "ProcessId": 4460, "ParentProcessId": "0x1f0",
                          "Hashes": "SHA1=5E4F", "User": "NT AUTHORITY\\SYSTEM"}}})
    }

    fn corpus(kind: CorpusKind, n: u64, seed: u64) -> Vec<Value> {
        let mut out = Vec::new();
        write_corpus(&mut out, kind, &[sample()], n, seed, false).unwrap();
        out.split(|&b| b == b'\n').filter(|l| !l.is_empty()).map(|l| serde_json::from_slice(l).unwrap()).collect()
    }

    #[test]
    fn the_varied_corpus_changes_most_free_text_and_every_pid_and_keeps_the_rest() {
        let events = corpus(CorpusKind::Varied, 2000, 1);
        assert_eq!(events.len(), 2000);
        let mut changed = 0;
        let mut lines = std::collections::HashSet::new();
        for (i, e) in events.iter().enumerate() {
            let d = &e["Event"]["EventData"];
            let cmd = d["CommandLine"].as_str().unwrap();
            assert!(cmd.starts_with("cmd.exe /c whoami"), "{cmd}");
            if cmd != "cmd.exe /c whoami" {
                changed += 1;
                assert!(lines.insert(cmd.to_string()), "a suffix repeats: {cmd}");
            }
            // What says what the event is stays as it was.
            assert_eq!(d["Image"], "C:\\Windows\\System32\\cmd.exe");
            assert_eq!((d["Hashes"].as_str(), e["Event"]["System"]["EventID"].as_u64()), (Some("SHA1=5E4F"), Some(1)));
            assert_eq!(e["Event"]["System"]["EventRecordID"], i as u64);
            // Process ids keep their type.
            assert!(d["ProcessId"].is_u64() && d["ParentProcessId"].as_str().unwrap().starts_with("0x"));
        }
        // 80% of values, within a wide margin of chance.
        assert!((1500..1700).contains(&changed), "{changed} of 2000 changed");
        let pids: std::collections::HashSet<u64> =
            events.iter().map(|e| e["Event"]["EventData"]["ProcessId"].as_u64().unwrap()).collect();
        assert!(pids.len() > 1500, "{} distinct pids", pids.len());
        // Deterministic from the seed, and another seed gives another corpus.
        assert_eq!(corpus(CorpusKind::Varied, 50, 1), events[..50]);
        assert_ne!(corpus(CorpusKind::Varied, 50, 2), events[..50]);
    }

    #[test]
    fn the_mix_is_mostly_benign_events_that_keep_no_original_value() {
        let events = corpus(CorpusKind::Mix, 5000, 3);
        let benign: Vec<&Value> = events
            .iter()
            .filter(|e| !e["Event"]["EventData"]["CommandLine"].as_str().unwrap().starts_with("cmd.exe"))
            .collect();
        // 1% attacks, within a wide margin of chance.
        assert!((4900..5000).contains(&benign.len()), "{} benign of 5000", benign.len());
        for e in benign {
            let d = &e["Event"]["EventData"];
            for k in ["Image", "CommandLine", "TargetFilename"] {
                let s = d[k].as_str().unwrap();
                assert!(!s.contains("cmd.exe") && !s.contains("evil"), "{k} = {s}");
            }
            assert!(d["Image"].as_str().unwrap().starts_with("C:\\Program Files\\Contoso"));
            assert_eq!(d["User"], "NT AUTHORITY\\SYSTEM");
        }
    }

    #[test]
    fn the_regression_evtx_files_give_the_seed_events() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/sigma/regression_data");
        let seeds = seeds(&dir).unwrap();
        // Every EVTX file holds at least the record its rule must fire on.
        let files = vigie_decode::discover(&[dir]).unwrap();
        let evtx = files.iter().filter(|p| p.extension().is_some_and(|e| e == "evtx")).count();
        assert!(evtx > 100 && seeds.len() >= evtx, "{} seeds from {evtx} files", seeds.len());
        assert!(seeds.iter().all(|s| s.pointer("/Event/System/EventID").is_some()));
    }
}
