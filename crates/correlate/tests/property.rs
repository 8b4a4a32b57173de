//! The correlator against a naive reference written straight from the
//! documented semantics (docs/streaming.md#correlations): keep every match
//! since the last firing, count those inside the span that ends at the
//! newest one, fire when the condition holds, then start afresh.

use proptest::prelude::*;
use vigie_correlate::{Correlator, Limits, Signal};
use vigie_sigma::{Placeholders, RuleSet, Source};

fn correlator(kind: &str, n: u32, span_s: u32) -> Correlator {
    let cond = match kind {
        "value_count" => format!("{{field: v, gte: {n}}}"),
        _ => format!("{{gte: {n}}}"),
    };
    let text = format!(
        "title: base\nname: base\nlogsource: {{product: p}}\ndetection: {{sel: {{a: 1}}, condition: sel}}\n---\ntitle: c\nid: c\ncorrelation: {{type: {kind}, rules: [base], group-by: [g], timespan: {span_s}s, condition: {cond}}}\n"
    );
    let set = RuleSet::load(&[Source { path: "p.yml".into(), text }], &Placeholders::default());
    assert!(set.rejected.is_empty(), "{:?}", set.rejected);
    Correlator::new(&set.correlations, Limits { lateness_ms: 0, ..Limits::default() })
}

/// Indices of the events on which the reference fires.
fn reference(kind: &str, n: usize, span_ms: i64, events: &[(i64, u8)]) -> Vec<usize> {
    let mut since: Vec<(i64, u8)> = Vec::new();
    let mut fired = Vec::new();
    for (i, &(t, v)) in events.iter().enumerate() {
        since.push((t, v));
        let oldest = t - span_ms + 1;
        let inside: Vec<&(i64, u8)> = match kind {
            // Event counts are kept per second of event time: an event counts
            // while its second reaches into the span.
            "event_count" => since.iter().filter(|(e, _)| e.div_euclid(1000) >= oldest.div_euclid(1000)).collect(),
            _ => since.iter().filter(|(e, _)| *e >= oldest).collect(),
        };
        let metric = match kind {
            "value_count" => {
                let mut vs: Vec<u8> = inside.iter().map(|(_, v)| *v).collect();
                vs.sort_unstable();
                vs.dedup();
                vs.len()
            }
            _ => inside.len(),
        };
        if metric >= n {
            fired.push(i);
            since.clear();
        }
    }
    fired
}

fn engine(c: &mut Correlator, events: &[(i64, u8)]) -> Vec<usize> {
    let mut fired = Vec::new();
    for (i, &(t, v)) in events.iter().enumerate() {
        let v = v.to_string();
        let field = move |name: &str| match name {
            "g" => Some("group".to_string()),
            "v" => Some(v.clone()),
            _ => None,
        };
        let mut out = Vec::new();
        c.observe(&Signal { refs: &["base"], ts: t, event_id: "e", field: &field }, &mut out);
        if !out.is_empty() {
            fired.push(i);
        }
    }
    fired
}

/// Events in time order: gaps of 0 to 4 s (in ms), values from a small set.
fn events() -> impl Strategy<Value = Vec<(i64, u8)>> {
    prop::collection::vec((0i64..4000, 0u8..6), 1..80).prop_map(|steps| {
        let mut t = 1_700_000_000_000i64;
        steps
            .into_iter()
            .map(|(gap, v)| {
                t += gap;
                (t, v)
            })
            .collect()
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn event_count_agrees_with_the_reference(evs in events(), n in 2u32..7, span_s in 1u32..12) {
        let mut c = correlator("event_count", n, span_s);
        prop_assert_eq!(engine(&mut c, &evs), reference("event_count", n as usize, span_s as i64 * 1000, &evs));
    }

    #[test]
    fn value_count_agrees_with_the_reference(evs in events(), n in 2u32..6, span_s in 1u32..12) {
        let mut c = correlator("value_count", n, span_s);
        prop_assert_eq!(engine(&mut c, &evs), reference("value_count", n as usize, span_s as i64 * 1000, &evs));
    }
}
