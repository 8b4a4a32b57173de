//! Helpers shared by the integration tests: a one-logsource engine whose
//! Sigma fields are read straight from the event's own (dotted) paths.

use vigie_detect::Engine;
use vigie_mapping::Mapping;
use vigie_sigma::{Placeholders, RuleSet, Source};

pub fn mapping() -> Mapping {
    Mapping::from_yaml(
        "name: test\ndefault: ['{field}']\nlogsources:\n  - logsource: {product: test}\n",
        "test.yml",
        None,
    )
    .unwrap()
}

pub fn engine_with(rules: &str, placeholders: &Placeholders) -> Engine {
    let set = RuleSet::load(&[Source { path: "test.yml".into(), text: rules.into() }], placeholders);
    assert!(set.rejected.is_empty(), "rejected: {:?}", set.rejected);
    Engine::new(set, vec![mapping()], true)
}

/// Build a one-rule document around a detection block.
#[allow(dead_code)]
pub fn rule(detection: &str) -> String {
    let body: String = detection.lines().map(|l| format!("  {l}\n")).collect();
    format!("title: t\nid: r1\nauthor: tester\nlogsource: {{product: test}}\ndetection:\n{body}")
}

/// Does the rule (a detection block) fire on the event (JSON)?
#[allow(dead_code)]
pub fn fires(detection: &str, event: &str) -> bool {
    let e = engine_with(&rule(detection), &Placeholders::default());
    fires_on(&e, event)
}

/// Both decoders are asked (the tree, and the flattening straight from the
/// text that `vigie hunt` uses for JSON lines), and must agree.
pub fn fires_on(e: &Engine, event: &str) -> bool {
    let v: sonic_rs::Value = sonic_rs::from_str(event).unwrap();
    let mut s = e.scratch();
    let mut hits = Vec::new();
    e.detect(&v, &mut s, &mut hits);
    let mut fast = Vec::new();
    if e.detect_json(event.as_bytes(), &mut s, &mut fast).is_ok() {
        assert_eq!(fast, hits, "the text decoder and the tree decoder disagree on {event}");
    }
    !hits.is_empty()
}
