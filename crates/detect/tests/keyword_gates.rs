//! Keyword searches and their gates. A shape's keyword automaton holds the
//! keywords of all its log sources, but the gate a text must pass before
//! it is searched holds only those of the log sources the event was routed
//! to. These tests hold the engine to a plain model (a rule fires when the
//! event reaches its log source and holds its keyword) over every mix of
//! shapes, routes and keywords, in an order that makes one long-lived
//! scratch reuse its gates, and check that a keyword of a log source the
//! event does not reach is not even searched for.

use vigie_detect::Engine;
use vigie_mapping::Mapping;
use vigie_sigma::{Placeholders, RuleSet, Source};

/// Two shapes whose entries are numbered alike but hold different log
/// sources: a gate remembered by entry numbers alone would be wrong for
/// one of them.
fn mappings() -> Vec<Mapping> {
    vec![shape("a", "A", ["one", "two"]), shape("b", "B", ["two", "one"])]
}

/// A shape recognised by its field `marker`, whose entries route `src` 1
/// and 2 to the services `by_src`, and every event to the service `all`.
fn shape(name: &str, marker: &str, by_src: [&str; 2]) -> Mapping {
    let [first, second] = by_src;
    let yaml = format!(
        "name: {name}\ndetect:\n  - {{{marker}: {{exists: true}}}}\ndefault: ['{{field}}']\nlogsources:
  - logsource: {{product: p, service: {first}}}
    when: {{src: ['1']}}
  - logsource: {{product: p, service: {second}}}
    when: {{src: ['2']}}
  - logsource: {{product: p, service: all}}\n"
    );
    Mapping::from_yaml(&yaml, &format!("{name}.yml"), None).unwrap()
}

/// (rule id, service, keyword)
const RULES: [(&str, &str, &str); 4] = [
    ("r-one", "one", "alpha-one"),
    ("r-two", "two", "bravo-two"),
    ("r-all", "all", "charlie-all"),
    // A second rule of the same source with a keyword of its own.
    ("r-one-b", "one", "delta::one"),
];

fn engine() -> Engine {
    let text: String = RULES
        .iter()
        .map(|(id, service, kw)| {
            format!(
                "title: {id}\nid: {id}\nauthor: tester\nlogsource: {{product: p, service: {service}}}\ndetection:\n  keywords: ['{kw}']\n  condition: keywords\n---\n"
            )
        })
        .collect();
    let set = RuleSet::load(&[Source { path: "k.yml".into(), text }], &Placeholders::default());
    assert!(set.rejected.is_empty(), "{:?}", set.rejected);
    Engine::new(set, mappings(), false)
}

/// The services an event of this shape and `src` reaches.
fn reached(shape: &str, src: &str) -> Vec<&'static str> {
    let mut out = vec!["all"];
    match (shape, src) {
        ("A", "1") | ("B", "2") => out.push("one"),
        ("A", "2") | ("B", "1") => out.push("two"),
        _ => {}
    }
    out
}

#[test]
fn a_keyword_fires_wherever_its_log_source_is_reached() {
    let e = engine();
    let mut cases = Vec::new();
    for shape in ["A", "B"] {
        for src in ["1", "2", "3"] {
            for held in 0..1u32 << RULES.len() {
                cases.push((shape, src, held));
            }
        }
    }
    // One scratch for every event, visited in a scrambled order, so that
    // gates built for one set of buckets are met again by others.
    let mut s = e.scratch();
    for round in 0..3 {
        for k in 0..cases.len() {
            let (shape, src, held) = cases[(k * 37 + round * 11) % cases.len()];
            let words: Vec<String> = RULES
                .iter()
                .enumerate()
                .filter(|(i, _)| held & (1 << i) != 0)
                .map(|(_, (_, _, kw))| format!("run {} now", kw.to_uppercase()))
                .collect();
            let event = serde_json::json!({
                shape: true,
                "src": src,
                "msg": words.first().cloned().unwrap_or_else(|| "nothing to see here".into()),
                "deep": {"list": words.iter().skip(1).collect::<Vec<_>>()},
            })
            .to_string();
            let mut hits = Vec::new();
            let shown = e.detect_json(event.as_bytes(), &mut s, &mut hits).expect("valid JSON");
            assert!(shown.is_some(), "{event}: no shape");
            let mut got: Vec<&str> =
                hits.iter().map(|h| e.set.rules[h.rule as usize].meta.id.as_deref().unwrap_or("")).collect();
            got.sort_unstable();
            got.dedup();
            let services = reached(shape, src);
            let mut want: Vec<&str> = RULES
                .iter()
                .enumerate()
                .filter(|(i, (_, service, _))| held & (1 << i) != 0 && services.contains(service))
                .map(|(_, (id, _, _))| *id)
                .collect();
            want.sort_unstable();
            assert_eq!(got, want, "{event}");
        }
    }
}

#[test]
fn a_keyword_of_a_log_source_not_reached_is_not_searched() {
    let e = engine();
    let mut s = e.scratch();
    let looked_up = |s: &vigie_detect::Scratch| s.memo.hits_count + s.memo.misses;
    let mut hits = Vec::new();
    // Shape A, src 1: reaches `one` and `all`, not `two`.
    let other = r#"{"A": true, "src": "1", "msg": "run bravo-two now, twice"}"#;
    e.detect_json(other.as_bytes(), &mut s, &mut hits).unwrap();
    assert!(hits.is_empty());
    assert_eq!(looked_up(&s), 0, "a text holding only another source's keyword was searched");
    // Its own keyword is searched (and found).
    let own = r#"{"A": true, "src": "1", "msg": "run alpha-one now, twice"}"#;
    e.detect_json(own.as_bytes(), &mut s, &mut hits).unwrap();
    assert_eq!(hits.len(), 1);
    assert_eq!(looked_up(&s), 1);
    // The same text in shape B, src 2, where `one` is entry 1: searched.
    hits.clear();
    let b = r#"{"B": true, "src": "2", "msg": "run alpha-one now, twice"}"#;
    e.detect_json(b.as_bytes(), &mut s, &mut hits).unwrap();
    assert_eq!(hits.len(), 1);
}
