//! Entry points for the fuzz targets (fuzz/) and for replaying their corpora
//! as ordinary tests. Each takes arbitrary bytes and must never panic.

use crate::Engine;
use std::sync::OnceLock;
use vigie_sigma::{Placeholders, RuleSet, Source, condition};

/// A small engine with a few real rules, built once.
fn engine() -> &'static Engine {
    static E: OnceLock<Engine> = OnceLock::new();
    E.get_or_init(|| {
        let text = "title: a\nid: a\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    Image|endswith: '\\cmd.exe'\n    CommandLine|contains|windash: ' -c '\n  filter:\n    User: null\n  condition: sel and not filter\n---\ntitle: k\nid: k\nlogsource: {product: windows}\ndetection:\n  keywords: [mimikatz]\n  condition: keywords\n---\ntitle: w\nid: w\nlogsource: {category: webserver}\ndetection:\n  sel:\n    cs-uri-query|re: '(?i)union.+select'\n    sc-status|gte: 200\n  condition: sel\n";
        let set = RuleSet::load(&[Source { path: "harness.yml".into(), text: text.into() }], &Placeholders::default());
        Engine::new(set, vigie_mapping::builtins(), false)
    })
}

/// Rule text: parse, compile, and report.
pub fn rule_text(data: &[u8]) {
    let text = String::from_utf8_lossy(data).into_owned();
    let set = RuleSet::load(&[Source { path: "fuzz.yml".into(), text }], &Placeholders::default());
    let _ = set.loaded();
}

/// A condition expression.
pub fn condition(data: &[u8]) {
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = condition::parse(s);
    }
}

/// JSON input through decoding and detection.
pub fn json(data: &[u8]) {
    let e = engine();
    let mut scratch = e.scratch();
    let mut hits = Vec::new();
    vigie_decode::read_json_bytes(
        data,
        &mut |rec| {
            hits.clear();
            e.detect(&rec.value, &mut scratch, &mut hits);
            for h in hits.clone() {
                let _ = e.explain(&rec.value, &h, &mut scratch);
            }
        },
        &mut |_| {},
    );
}

/// One JSON line through the text decoder that `vigie hunt` uses, held to
/// the tree decoder: whatever the text decoder takes, sonic-rs must take
/// too, with the same flattened values and the same detections.
pub fn flat_json(data: &[u8]) {
    use vigie_events::{Flat, Wanted};
    let e = engine();
    let mut scratch = e.scratch();
    let (mut fast, mut slow) = (Vec::new(), Vec::new());
    let Ok(_) = e.detect_json(data, &mut scratch, &mut fast) else {
        return;
    };
    let tree: vigie_events::Value = match sonic_rs::from_slice(data) {
        Ok(v) => v,
        Err(err) => panic!("the text decoder took what sonic-rs refuses ({err}): {:?}", String::from_utf8_lossy(data)),
    };
    e.detect(&tree, &mut scratch, &mut slow);
    assert_eq!(fast, slow, "detections differ on {:?}", String::from_utf8_lossy(data));
    let mut w = Wanted::all();
    w.add(&vigie_events::FieldPath::new("Event.UserData.*.Param"));
    let (mut a, mut b) = (Flat::default(), Flat::default());
    // With every path kept, a value the engine did not want may be one the
    // text decoder leaves to sonic-rs (a negative zero float).
    if a.fill_json(data, &w).is_err() {
        return;
    }
    b.fill(&tree, &w);
    assert!(a.entries().eq(b.entries()), "values differ on {:?}", String::from_utf8_lossy(data));
    assert!(a.strings().eq(b.strings()), "strings differ on {:?}", String::from_utf8_lossy(data));
}

/// EVTX bytes through decoding and detection.
pub fn evtx(data: &[u8]) {
    let e = engine();
    let mut scratch = e.scratch();
    let mut hits = Vec::new();
    let _ = vigie_decode::read_evtx_bytes(
        data.to_vec(),
        &mut |rec| {
            hits.clear();
            e.detect(&rec.value, &mut scratch, &mut hits);
        },
        &mut |_| {},
    );
}

/// A streamed log line: decoded in every format, and matched when it decodes.
pub fn line(data: &[u8]) {
    use vigie_decode::{Format, decode};
    let e = engine();
    let mut s = e.scratch();
    let mut hits = Vec::new();
    for f in [Format::Auto, Format::Json, Format::Syslog, Format::Cef, Format::Access] {
        if let Ok(v) = decode(f, data) {
            e.detect(&v, &mut s, &mut hits);
        }
    }
}
