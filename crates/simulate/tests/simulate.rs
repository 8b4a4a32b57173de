//! The simulator is deterministic, its truth agrees with its events, and
//! eval scores a hand-made run exactly.

use vigie_simulate::eval::{self, Record};
use vigie_simulate::{SimConfig, Truth, simulate};

fn run(seed: u64, scenarios: &[&str]) -> (String, Truth) {
    let cfg = SimConfig {
        seed,
        accounts: 200,
        subjects: 100_000,
        days: 10,
        scenarios: scenarios.iter().map(|s| s.to_string()).collect(),
        ..SimConfig::default()
    };
    let mut out = Vec::new();
    let (truth, summary) = simulate(&cfg, &mut out, &|_| {}).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(summary.events as usize, text.lines().count());
    (text, truth)
}

#[test]
fn the_same_seed_gives_the_same_organisation_and_attacks() {
    let (a, ta) = run(7, &[]);
    let (b, tb) = run(7, &[]);
    assert_eq!(a, b);
    assert_eq!(ta, tb);
    let (c, _) = run(8, &[]);
    assert_ne!(a, c, "another seed, another organisation");
}

#[test]
fn events_are_in_time_order_and_in_the_canonical_schema() {
    let (text, truth) = run(3, &[]);
    let mut last = String::new();
    let mut reads = 0;
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        let ts = v["@timestamp"].as_str().unwrap().to_string();
        assert!(ts >= last, "{ts} after {last}");
        last = ts;
        assert!(v["user"]["name"].is_string() && v["event"]["category"].is_array() && v["source"]["ip"].is_string());
        if v["data_subject"]["ids"].is_array() {
            reads += 1;
        }
    }
    assert!(reads > 10_000, "{reads} reads");
    assert_eq!(truth.scenarios.len(), 9);
    // Six everyday look-alikes, the caseload takeover, one or two organisation-wide events.
    assert!((8..=9).contains(&truth.benign.len()), "{}", truth.benign.len());
}

#[test]
fn the_truth_counts_exactly_what_the_attack_events_read() {
    let (text, truth) = run(5, &["france_travail"]);
    let s = &truth.scenarios[0];
    assert_eq!(s.name, "france_travail");
    let victim = &s.accounts[0];
    let attacker_ip = &s.source_ips[0];
    let mut records = 0u64;
    let mut people = std::collections::BTreeSet::new();
    for line in text.lines() {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        if v["user"]["name"] == **victim
            && v["source"]["ip"] == **attacker_ip
            && let Some(ids) = v["data_subject"]["ids"].as_array()
        {
            records += 1;
            people.insert(ids[0].as_str().unwrap().to_string());
        }
    }
    assert!(records > 1000);
    assert_eq!(records, s.records_total);
    assert_eq!(people.len() as u64, s.subjects_exposed);
    // It started with a help-desk reset of the victim's password.
    let reset = text
        .lines()
        .find(|l| l.contains("user.password_reset") && l.contains(&format!("\"target\":{{\"name\":\"{victim}\"}}")));
    assert!(reset.is_some());
}

#[test]
fn eval_scores_detection_containment_and_false_highs() {
    let (_, mut truth) = run(5, &["france_travail"]);
    truth.benign = vec![vigie_simulate::Benign {
        name: "innocents".into(),
        accounts: vec!["innocent".into()],
        start_ms: 0,
        end_ms: i64::MAX,
    }];
    let s = truth.scenarios[0].clone();
    let reads: Vec<i64> = s.reads.iter().map(|r| r.0).collect();
    let (t10, t20) = (reads[9], reads[19]);
    let rec = |ts: i64, level: usize, user: &str| Record {
        ts,
        level: vigie_alert::Severity::ALL[level],
        kind: "analytic".into(),
        rule: "r".into(),
        user: Some(user.into()),
        ip: None,
        action: None,
    };
    let alerts = vec![rec(t10, 2, &s.accounts[0]), rec(t10, 4, &s.accounts[0]), rec(t10, 3, "innocent")];
    let actions = vec![
        Record { action: Some(("block_ip".into(), "pending_approval".into())), ..rec(t10, 4, &s.accounts[0]) },
        Record { action: Some(("suspend_user".into(), "dry_run".into())), ..rec(t20, 4, &s.accounts[0]) },
    ];
    let r = eval::report(&[(truth.clone(), alerts, actions)]);
    let x = &r.scenarios[0];
    assert!(x.detected);
    assert_eq!(x.records_before_detection, 9, "the 10th read is the one alerted on");
    assert_eq!(x.records_before_containment, 19, "a held action does not contain");
    assert_eq!(r.false_high, 1);
    assert_eq!(r.benign[0].false_high, 1, "the false high is on a benign look-alike");
    assert_eq!(r.account_days, truth.accounts as u64 * 10);
    assert!(r.targets.every_attack_detected && r.targets.exposure_under_0_5_pct);
    let svg = eval::svg(&r);
    assert!(svg.starts_with("<svg") && svg.contains("france_travail"));
    // Without alerts: not detected, everything exposed.
    let r = eval::report(&[(truth, vec![], vec![])]);
    assert!(!r.scenarios[0].detected);
    assert_eq!(r.scenarios[0].records_before_containment, s.records_total);
    assert!(!r.targets.every_attack_detected);
}

#[test]
fn the_caseload_file_lists_what_advisers_follow() {
    let cfg = SimConfig { seed: 3, accounts: 200, subjects: 100_000, days: 10, ..SimConfig::default() };
    let mut out = Vec::new();
    let n = vigie_simulate::write_caseload(&cfg, &mut out).unwrap();
    let text = String::from_utf8(out).unwrap();
    assert_eq!(text.lines().next(), Some("account,subject_id"));
    assert_eq!(text.lines().count() as u64, n + 1);
    assert!(n > 10_000, "{n}");
    assert!(text.lines().skip(1).all(|l| l.split(',').count() == 2));
}
