//! The correlator end to end: rule files as a user writes them, matches in
//! event time, firings out. One test per correlation type and per state rule.

use vigie_correlate::{Correlator, Firing, Limits, Signal};
use vigie_sigma::{Placeholders, RuleSet, Source};

const BASE: &str = "
title: Failed login
id: failed-id
name: failed_login
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4625}, condition: sel}
---
title: Successful login
name: successful_login
logsource: {product: windows, service: security}
detection: {sel: {EventID: 4624}, condition: sel}
---
title: Transfer
name: transfer
logsource: {category: proxy}
detection: {sel: {method: POST}, condition: sel}
";

fn correlator(extra: &str, limits: Limits) -> Correlator {
    let text = format!("{BASE}---\n{extra}");
    let set = RuleSet::load(&[Source { path: "c.yml".into(), text }], &Placeholders::default());
    assert!(set.rejected.is_empty(), "{:?}", set.rejected);
    Correlator::new(&set.correlations, limits)
}

/// A match of `rule` at minute `min` with the given fields.
fn hit(c: &mut Correlator, rule: &str, ms: i64, fields: &[(&str, &str)]) -> Vec<Firing> {
    let fields: Vec<(String, String)> = fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    let lookup = move |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
    let id = format!("ev-{ms}");
    let mut out = Vec::new();
    c.observe(&Signal { refs: &[rule], ts: ms, event_id: &id, field: &lookup }, &mut out);
    out
}

const MIN: i64 = 60_000;

#[test]
fn event_count_fires_per_group_on_the_threshold_event() {
    let mut c = correlator(
        "title: Brute force\nid: bf\ncorrelation: {type: event_count, rules: [failed_login], group-by: [User], timespan: 10m, condition: {gte: 3}}\n",
        Limits::default(),
    );
    assert!(hit(&mut c, "failed_login", 0, &[("User", "alice")]).is_empty());
    assert!(hit(&mut c, "failed_login", MIN, &[("User", "bob")]).is_empty());
    assert!(hit(&mut c, "failed_login", 2 * MIN, &[("User", "alice")]).is_empty());
    let f = hit(&mut c, "failed_login", 3 * MIN, &[("User", "alice")]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].group, vec![("User".to_string(), "alice".to_string())]);
    assert_eq!(f[0].metric, 3.0);
    assert_eq!(f[0].events, vec!["ev-0", "ev-120000", "ev-180000"]);
    assert_eq!((f[0].window_start, f[0].window_end), (0, 3 * MIN));
    // Events spread wider than the span never add up.
    for m in [20, 31, 42, 53] {
        assert!(hit(&mut c, "failed_login", m * MIN, &[("User", "carol")]).is_empty());
    }
    assert_eq!(c.stats.fired, 1);
}

#[test]
fn value_count_is_password_spraying() {
    let mut c = correlator(
        "title: Spray\nid: spray\ncorrelation: {type: value_count, rules: [failed_login], group-by: [IpAddress], timespan: 5m, condition: {field: User, gte: 3}}\n",
        Limits::default(),
    );
    for (t, u) in [(0, "a"), (1, "a"), (2, "a"), (3, "b")] {
        assert!(hit(&mut c, "failed_login", t * 1000, &[("IpAddress", "10.0.0.9"), ("User", u)]).is_empty());
    }
    let f = hit(&mut c, "failed_login", 4000, &[("IpAddress", "10.0.0.9"), ("User", "c")]);
    assert_eq!(f.len(), 1, "three distinct accounts from one source");
    assert_eq!(f[0].metric, 3.0);
    // A match without the group-by field belongs to no group, and says so.
    assert!(hit(&mut c, "failed_login", 5000, &[("User", "d")]).is_empty());
    assert_eq!(c.stats.ungrouped, 1);
}

#[test]
fn temporal_needs_every_rule_in_any_order() {
    let mut c = correlator(
        "title: Both\nid: both\ncorrelation: {type: temporal, rules: [successful_login, failed_login], group-by: [User], timespan: 1m}\n",
        Limits::default(),
    );
    assert!(hit(&mut c, "successful_login", 0, &[("User", "x")]).is_empty());
    assert!(hit(&mut c, "failed_login", 2 * MIN, &[("User", "x")]).is_empty(), "too far apart");
    let f = hit(&mut c, "successful_login", 2 * MIN + 5000, &[("User", "x")]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].rules, vec!["successful_login", "failed_login"]);
}

#[test]
fn temporal_ordered_needs_the_order() {
    let mut c = correlator(
        "title: Fail then success\nid: fts\ncorrelation: {type: temporal_ordered, rules: [failed_login, successful_login], group-by: [User], timespan: 10m}\n",
        Limits::default(),
    );
    assert!(hit(&mut c, "successful_login", 0, &[("User", "x")]).is_empty());
    assert!(hit(&mut c, "failed_login", MIN, &[("User", "x")]).is_empty(), "success came before the failure");
    assert_eq!(hit(&mut c, "successful_login", 2 * MIN, &[("User", "x")]).len(), 1);
}

#[test]
fn value_sum_avg_and_percentile() {
    let rules = [
        ("value_sum", "gte: 1000", vec![400.0, 500.0, 200.0], 2usize),
        ("value_avg", "gt: 300", vec![100.0, 900.0], 1),
        ("value_percentile", "percentile: 50\n    gte: 50", vec![10.0, 60.0, 70.0], 2),
    ];
    for (kind, cond, values, fires_at) in rules {
        let text = format!(
            "title: {kind}\nid: {kind}\ncorrelation:\n  type: {kind}\n  rules: [transfer]\n  group-by: [src]\n  timespan: 1h\n  condition:\n    field: bytes\n    {cond}\n"
        );
        let mut c = correlator(&text, Limits::default());
        for (i, v) in values.iter().enumerate() {
            let f = hit(&mut c, "transfer", i as i64 * 1000, &[("src", "h1"), ("bytes", &v.to_string())]);
            assert_eq!(f.len(), usize::from(i == fires_at), "{kind} after value {i}");
        }
        assert!(hit(&mut c, "transfer", 9000, &[("src", "h1"), ("bytes", "lots")]).is_empty());
        assert_eq!(c.stats.no_value, 1, "{kind}: a non-number is counted, not guessed");
    }
}

#[test]
fn an_upper_bound_is_judged_when_the_window_closes() {
    // Below the lockout threshold of 5: at least 3 failures but fewer than 5.
    let mut c = correlator(
        "title: Under lockout\nid: ul\ncorrelation: {type: event_count, rules: [failed_login], group-by: [User], timespan: 10m, condition: {gte: 3, lt: 5}}\n",
        Limits { lateness_ms: 0, ..Limits::default() },
    );
    for m in [0, 1, 2, 3] {
        assert!(hit(&mut c, "failed_login", m * MIN, &[("User", "slow")]).is_empty());
    }
    for m in [0, 1, 2, 3, 4, 5] {
        assert!(hit(&mut c, "failed_login", m * MIN + 1, &[("User", "fast")]).is_empty());
    }
    // Event time passes the end of both windows: `slow` (4) fires, `fast` (6) does not.
    let f = hit(&mut c, "failed_login", 11 * MIN, &[("User", "other")]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].group[0].1, "slow");
    assert_eq!((f[0].metric, f[0].ts), (4.0, 10 * MIN));
}

#[test]
fn chained_correlations_with_aliases_and_generate() {
    let mut c = correlator(
        "title: Many failures then success
id: chain
correlation:
  type: temporal_ordered
  rules: [many_failed, successful_login]
  group-by: [account]
  timespan: 10m
  aliases:
    account:
      many_failed: User
      successful_login: TargetUserName
---
title: Many failures
id: many-failed-id
name: many_failed
correlation: {type: event_count, rules: [failed_login], group-by: [User], timespan: 10m, condition: {gte: 2}}
",
        Limits::default(),
    );
    assert!(!c.standalone(&["failed-id", "failed_login"]), "generate: false keeps building blocks quiet");
    assert!(!c.standalone(&["many-failed-id", "many_failed"]));
    assert!(c.standalone(&["chain"]));
    assert!(c.standalone(&["transfer"]), "a rule no correlation uses is standalone");
    assert!(hit(&mut c, "failed_login", 0, &[("User", "eve")]).is_empty());
    let inner = hit(&mut c, "failed_login", 1000, &[("User", "eve")]);
    assert_eq!(inner.len(), 1, "the inner correlation fires");
    assert!(hit(&mut c, "successful_login", 2000, &[("TargetUserName", "mallory")]).is_empty());
    let f = hit(&mut c, "successful_login", 3000, &[("TargetUserName", "eve")]);
    assert_eq!(f.len(), 1);
    assert_eq!(c.specs[f[0].spec].key(), "chain");
    assert_eq!(f[0].group, vec![("account".to_string(), "eve".to_string())]);
}

#[test]
fn late_events_are_counted_not_used() {
    let mut c = correlator(
        "title: BF\nid: bf\ncorrelation: {type: event_count, rules: [failed_login], group-by: [User], timespan: 1h, condition: {gte: 2}}\n",
        Limits { lateness_ms: 10_000, ..Limits::default() },
    );
    assert!(hit(&mut c, "failed_login", 100_000, &[("User", "u")]).is_empty());
    // 5 s behind the newest event: within tolerance, used.
    assert_eq!(hit(&mut c, "failed_login", 95_000, &[("User", "u")]).len(), 1);
    assert!(hit(&mut c, "failed_login", 80_000, &[("User", "u")]).is_empty());
    assert_eq!(c.stats.late, 1);
}

#[test]
fn group_cap_evicts_and_counts() {
    let mut c = correlator(
        "title: BF\nid: bf\ncorrelation: {type: event_count, rules: [failed_login], group-by: [User], timespan: 1h, condition: {gte: 2}}\n",
        Limits { max_groups: 2, ..Limits::default() },
    );
    for (t, u) in [(0, "a"), (1, "b"), (2, "c")] {
        hit(&mut c, "failed_login", t, &[("User", u)]);
    }
    assert_eq!(c.stats.evicted_groups, 1);
    assert_eq!(c.state_size().0, 2);
    // `a` was evicted (its window would have closed first), so it starts over.
    assert!(hit(&mut c, "failed_login", 3, &[("User", "a")]).is_empty());
    assert_eq!(hit(&mut c, "failed_login", 4, &[("User", "c")]).len(), 1);
}

#[test]
fn a_restored_snapshot_continues_the_same_windows() {
    let text = "title: Spray\nid: spray\ncorrelation: {type: value_count, rules: [failed_login], group-by: [IpAddress], timespan: 5m, condition: {field: User, gte: 4}}\n";
    let events: Vec<(i64, String)> = (0..8).map(|i| (i * 1000, format!("user{}", i % 5))).collect();
    let run = |c: &mut Correlator, evs: &[(i64, String)]| -> Vec<Firing> {
        evs.iter().flat_map(|(t, u)| hit(c, "failed_login", *t, &[("IpAddress", "1.2.3.4"), ("User", u)])).collect()
    };
    let mut whole = correlator(text, Limits::default());
    let expected = run(&mut whole, &events);
    assert_eq!(expected.len(), 2, "each firing consumes its window; four fresh values fire again");

    let mut first = correlator(text, Limits::default());
    assert!(run(&mut first, &events[..3]).is_empty());
    let json = serde_json::to_string(&first.snapshot()).unwrap();
    let mut second = correlator(text, Limits::default());
    assert_eq!(second.restore(serde_json::from_str(&json).unwrap()), 1);
    assert_eq!(run(&mut second, &events[3..]), expected);
    assert_eq!(second.snapshot(), whole.snapshot());
}

#[test]
fn legacy_count_rules_run_as_correlations() {
    let mut c = correlator(
        "title: Old style\nid: old\nlogsource: {product: windows, service: security}\ndetection:\n  sel: {EventID: 4625}\n  timeframe: 5m\n  condition: sel | count() by User > 2\n",
        Limits::default(),
    );
    assert!(!c.standalone(&["old"]));
    for t in 0..2 {
        assert!(hit(&mut c, "old", t, &[("User", "z")]).is_empty());
    }
    assert_eq!(hit(&mut c, "old", 2, &[("User", "z")]).len(), 1);
}

#[test]
fn finish_judges_windows_still_open() {
    let mut c = correlator(
        "title: Quiet\nid: q\ncorrelation: {type: event_count, rules: [failed_login], group-by: [User], timespan: 1h, condition: {lte: 2}}\n",
        Limits::default(),
    );
    hit(&mut c, "failed_login", 0, &[("User", "u")]);
    let mut out = Vec::new();
    c.finish(&mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].metric, 1.0);
}

#[test]
fn value_median_is_the_middle_value() {
    // pySigma's value_median: 10, 60, 70 has a median of 60; 10, 60 of 35.
    let text = "title: Median\nid: med\ncorrelation:\n  type: value_median\n  rules: [transfer]\n  group-by: [src]\n  timespan: 1h\n  condition:\n    field: bytes\n    gte: 50\n";
    let mut c = correlator(text, Limits::default());
    assert!(hit(&mut c, "transfer", 0, &[("src", "h1"), ("bytes", "10")]).is_empty());
    assert!(hit(&mut c, "transfer", 1000, &[("src", "h1"), ("bytes", "60")]).is_empty(), "median 35");
    let f = hit(&mut c, "transfer", 2000, &[("src", "h1"), ("bytes", "70")]);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].metric, 60.0);
    // Another group's values are its own.
    assert!(hit(&mut c, "transfer", 3000, &[("src", "h2"), ("bytes", "90")]).len() == 1);
    assert!(hit(&mut c, "transfer", 4000, &[("src", "h3"), ("bytes", "5")]).is_empty());
}

#[test]
fn temporal_keeps_its_groups_apart() {
    // Hayabusa 4.0 had to fix temporal correlations that ignored group-by:
    // a failure for one user and a success for another are not "both".
    let mut c = correlator(
        "title: Both\nid: both\ncorrelation: {type: temporal, rules: [successful_login, failed_login], group-by: [User], timespan: 10m}\n",
        Limits::default(),
    );
    assert!(hit(&mut c, "failed_login", 0, &[("User", "x")]).is_empty());
    assert!(hit(&mut c, "successful_login", MIN, &[("User", "y")]).is_empty(), "another user");
    assert_eq!(hit(&mut c, "successful_login", 2 * MIN, &[("User", "x")]).len(), 1);
}

#[test]
fn an_extended_temporal_condition_with_or_fires_on_either_rule_and_the_other() {
    let mut c = correlator(
        "title: Fail and any\nid: ext-or\ncorrelation:\n  type: temporal\n  rules: [failed_login, successful_login, transfer]\n  group-by: [User]\n  timespan: 10m\n  condition: failed_login and (successful_login or transfer)\n",
        Limits::default(),
    );
    assert!(hit(&mut c, "transfer", 0, &[("User", "x")]).is_empty(), "transfer alone");
    let f = hit(&mut c, "failed_login", MIN, &[("User", "x")]);
    assert_eq!(f.len(), 1, "failure with a transfer");
    assert_eq!(f[0].rules, vec!["failed_login", "transfer"]);
    assert!(hit(&mut c, "failed_login", 20 * MIN, &[("User", "z")]).is_empty(), "failure alone");
    assert_eq!(hit(&mut c, "successful_login", 21 * MIN, &[("User", "z")]).len(), 1);
}

#[test]
fn an_extended_temporal_condition_with_not_is_judged_when_the_window_closes() {
    // A failure not followed by a success within 10 minutes (absence can
    // only be known once the window is over).
    let mut c = correlator(
        "title: Failure without success\nid: ext-not\ncorrelation:\n  type: temporal\n  rules: [failed_login, successful_login]\n  group-by: [User]\n  timespan: 10m\n  condition: failed_login and not successful_login\n",
        Limits { lateness_ms: 0, ..Limits::default() },
    );
    assert!(hit(&mut c, "failed_login", 0, &[("User", "gave-up")]).is_empty());
    assert!(hit(&mut c, "failed_login", MIN, &[("User", "got-in")]).is_empty());
    assert!(hit(&mut c, "successful_login", 2 * MIN, &[("User", "got-in")]).is_empty());
    assert!(hit(&mut c, "successful_login", 3 * MIN, &[("User", "never-failed")]).is_empty());
    let mut out = Vec::new();
    c.advance(30 * MIN, &mut out);
    let users: Vec<&str> = out.iter().map(|f| f.group[0].1.as_str()).collect();
    assert_eq!(users, vec!["gave-up"], "only the failure with no success");
}

#[test]
fn an_extended_ordered_condition_needs_its_rules_in_order() {
    let mut c = correlator(
        "title: Fail then success or transfer\nid: ext-ord\ncorrelation:\n  type: temporal_ordered\n  rules: [failed_login, successful_login, transfer]\n  group-by: [User]\n  timespan: 10m\n  condition: failed_login and (successful_login or transfer)\n",
        Limits::default(),
    );
    // Hayabusa 4.0's temporal_ordered ignored the order: a success before
    // the failure must not fire.
    assert!(hit(&mut c, "successful_login", 0, &[("User", "x")]).is_empty());
    assert!(hit(&mut c, "failed_login", MIN, &[("User", "x")]).is_empty(), "success came first");
    assert_eq!(hit(&mut c, "transfer", 2 * MIN, &[("User", "x")]).len(), 1, "failure, then a transfer");
}

#[test]
fn an_extended_condition_must_name_the_correlations_rules() {
    for (cond, why) in [
        ("failed_login and nobody", "`nobody` in the condition is not one of the correlation's `rules`"),
        ("failed_login and (successful_login", "a `(` is not closed"),
        ("failed_login successful_login", "unexpected `successful_login`"),
        ("failed_login and", "ends where a rule name is expected"),
    ] {
        let text = format!(
            "{BASE}---\ntitle: Bad\nid: bad\ncorrelation:\n  type: temporal\n  rules: [failed_login, successful_login]\n  timespan: 10m\n  condition: {cond}\n"
        );
        let set = RuleSet::load(&[Source { path: "c.yml".into(), text }], &Placeholders::default());
        assert_eq!(set.rejected.len(), 1, "{cond}");
        assert!(set.rejected[0].reason.contains(why), "{cond}: {}", set.rejected[0].reason);
    }
}

#[test]
fn a_negated_rule_alone_opens_no_window() {
    // A success at 0 and a failure at 1m with no success after it: the
    // window is the failure's, and the earlier success is not in it.
    let mut c = correlator(
        "title: Failure without success\nid: ext-not2\ncorrelation:\n  type: temporal\n  rules: [failed_login, successful_login]\n  group-by: [User]\n  timespan: 10m\n  condition: failed_login and not successful_login\n",
        Limits { lateness_ms: 0, ..Limits::default() },
    );
    assert!(hit(&mut c, "successful_login", 0, &[("User", "u")]).is_empty());
    assert!(hit(&mut c, "failed_login", MIN, &[("User", "u")]).is_empty());
    let mut out = Vec::new();
    c.advance(30 * MIN, &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].window_start, MIN);
}

#[test]
fn state_restored_into_a_changed_correlation_keeps_only_what_fits() {
    let before = "title: Both\nid: same-id\ncorrelation: {type: temporal, rules: [successful_login, failed_login], group-by: [User], timespan: 10m}\n";
    let mut c = correlator(before, Limits::default());
    assert!(hit(&mut c, "failed_login", 0, &[("User", "x")]).is_empty());
    let snap = c.snapshot();
    // The same id now correlates three rules: the old group cannot be
    // continued (and must not crash the engine).
    let after = "title: All three\nid: same-id\ncorrelation: {type: temporal, rules: [successful_login, failed_login, transfer], group-by: [User], timespan: 10m}\n";
    let mut c = correlator(after, Limits::default());
    // A checkpoint of an older version has no definitions: the windows that
    // no longer fit are dropped all the same.
    let mut old: serde_json::Value = serde_json::to_value(&snap).unwrap();
    old.as_object_mut().unwrap().remove("definitions");
    assert_eq!(c.restore(serde_json::from_value(old).unwrap()), 1);
    assert_eq!(c.stats.dropped_on_restore, 1);
    assert!(hit(&mut c, "transfer", MIN, &[("User", "x")]).is_empty());
    assert!(hit(&mut c, "successful_login", 2 * MIN, &[("User", "x")]).is_empty());
    assert_eq!(hit(&mut c, "failed_login", 3 * MIN, &[("User", "x")]).len(), 1);
}

#[test]
fn extended_conditions_are_bounded() {
    let names: Vec<String> = (0..9).map(|i| format!("r{i}")).collect();
    let rules: String = names.iter().map(|n| format!("title: {n}\nname: {n}\nlogsource: {{category: proxy}}\ndetection: {{sel: {{n: {n}}}, condition: sel}}\n---\n")).collect();
    let cases = [
        ("temporal_ordered", names.join(" and "), "may name at most 8 rules without `not` (9 here)"),
        ("temporal", format!("{}r0", "not ".repeat(70)), "nested deeper than 64 levels"),
        ("temporal", vec!["r0"; 101].join(" or "), "longer than 200 words"),
    ];
    for (kind, cond, why) in cases {
        let text = format!(
            "{rules}title: Big\nid: big\ncorrelation:\n  type: {kind}\n  rules: [{}]\n  timespan: 10m\n  condition: {cond}\n",
            names.join(", ")
        );
        let set = RuleSet::load(&[Source { path: "c.yml".into(), text }], &Placeholders::default());
        assert_eq!(set.rejected.len(), 1, "{kind}");
        assert!(set.rejected[0].reason.contains(why), "{}", set.rejected[0].reason);
    }
}

#[test]
fn state_is_continued_only_by_the_same_definition() {
    let rule = |gte: u32| {
        format!(
            "title: Brute force\nid: bf-same\ncorrelation: {{type: event_count, rules: [failed_login], group-by: [User], timespan: 10m, condition: {{gte: {gte}}}}}\n"
        )
    };
    let mut c = correlator(&rule(3), Limits::default());
    for m in [0, 1] {
        assert!(hit(&mut c, "failed_login", m * MIN, &[("User", "x")]).is_empty());
    }
    // Unchanged: the two failures are still counted.
    let mut same = correlator(&rule(3), Limits::default());
    same.restore(c.snapshot());
    assert_eq!(hit(&mut same, "failed_login", 2 * MIN, &[("User", "x")]).len(), 1);
    assert_eq!(same.stats.dropped_on_restore, 0);
    // Another threshold under the same id: its windows start afresh.
    let mut changed = correlator(&rule(2), Limits::default());
    changed.restore(c.snapshot());
    assert_eq!(changed.stats.dropped_on_restore, 1);
    assert!(hit(&mut changed, "failed_login", 2 * MIN, &[("User", "x")]).is_empty());
    assert_eq!(hit(&mut changed, "failed_login", 3 * MIN, &[("User", "x")]).len(), 1);
}
