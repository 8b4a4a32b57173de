//! Scoring alerts and actions against the ground truth: was each attack
//! detected at high or above, how fast, how many records it had read by
//! then and by containment, how many high alerts fell on innocent
//! accounts, and how many containment actions (suspensions, session
//! revocations, address blocks) hit innocent accounts or addresses;
//! overall and per organisation archetype.

use crate::truth::Truth;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use vigie_alert::Severity;

/// The parts of an alert or action the evaluation reads.
#[derive(Debug, Clone)]
pub struct Record {
    pub ts: i64,
    pub level: Severity,
    pub kind: String,
    pub rule: String,
    pub user: Option<String>,
    pub ip: Option<String>,
    /// Actions: type and status.
    pub action: Option<(String, String)>,
}

/// A level as an alert line writes it; anything else ranks below low.
fn rank(level: &str) -> Severity {
    level.parse().unwrap_or(Severity::Informational)
}

fn ms(s: &str) -> Option<i64> {
    s.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

/// Read an alert line; `None` for the `updated` tallies and unreadable lines.
pub fn alert(line: &str) -> Option<Record> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    if v["alert"]["status"] != "new" {
        return None;
    }
    Some(Record {
        ts: ms(v["@timestamp"].as_str()?)?,
        level: rank(v["rule"]["level"].as_str().unwrap_or("")),
        kind: v["alert"]["kind"].as_str().unwrap_or("").into(),
        rule: v["rule"]["name"].as_str().unwrap_or("").into(),
        user: v["user"]["name"].as_str().map(String::from),
        ip: v["source"]["ip"].as_str().map(String::from),
        action: None,
    })
}

/// Read an action line.
pub fn action(line: &str) -> Option<Record> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    Some(Record {
        ts: ms(v["@timestamp"].as_str()?)?,
        level: rank(v["alert"]["level"].as_str().unwrap_or("")),
        kind: "action".into(),
        rule: v["alert"]["rule"].as_str().unwrap_or("").into(),
        user: v["user"]["name"].as_str().map(String::from),
        ip: v["source"]["ip"].as_str().map(String::from),
        action: Some((v["action"]["type"].as_str()?.into(), v["action"]["status"].as_str()?.into())),
    })
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ScenarioResult {
    pub seed: u64,
    pub name: String,
    pub detected: bool,
    pub first_high_rule: Option<String>,
    pub minutes_to_detect: Option<f64>,
    pub minutes_to_contain: Option<f64>,
    pub records_total: u64,
    pub records_before_detection: u64,
    pub records_before_containment: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FalseHigh {
    pub seed: u64,
    pub rule: String,
    pub user: Option<String>,
    pub at: String,
}

/// A containment action (suspend_user, revoke_sessions, block_ip; executed
/// or dry_run) on an account or address no attack used.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FalseContainment {
    pub seed: u64,
    pub archetype: String,
    pub rule: String,
    pub action: String,
    pub user: Option<String>,
    pub ip: Option<String>,
    pub at: String,
}

/// The figures of the runs of one archetype.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct ArchetypeResult {
    pub archetype: String,
    pub runs: usize,
    pub detected: usize,
    pub attacks: usize,
    pub median_minutes_to_detect: Option<f64>,
    pub records_total: u64,
    pub records_before_containment: u64,
    pub exposed_before_containment_pct: f64,
    pub account_days: u64,
    pub false_high: usize,
    pub false_high_per_1000_account_days: f64,
    pub false_containment: usize,
    pub false_containment_per_1000_account_days: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Report {
    pub runs: usize,
    pub scenarios: Vec<ScenarioResult>,
    pub detected: usize,
    pub attacks: usize,
    pub median_minutes_to_detect: Option<f64>,
    pub records_total: u64,
    pub records_before_containment: u64,
    /// Percent of what the attacks would have taken in total.
    pub exposed_before_containment_pct: f64,
    pub account_days: u64,
    pub false_high: usize,
    pub false_high_per_1000_account_days: f64,
    /// False high alerts by rule.
    pub false_high_by_rule: BTreeMap<String, usize>,
    pub false_high_samples: Vec<FalseHigh>,
    pub false_containment: usize,
    pub false_containment_per_1000_account_days: f64,
    /// False containments by rule.
    pub false_containment_by_rule: BTreeMap<String, usize>,
    pub false_containment_samples: Vec<FalseContainment>,
    /// False high alerts and false containments on each benign look-alike
    /// (manager exports, travel, new hires, covering, batch jobs, help-desk
    /// resets, caseload takeover, organisation-wide events).
    pub benign: Vec<BenignResult>,
    /// The same figures per archetype (runs grouped by `truth.archetype`).
    pub archetypes: Vec<ArchetypeResult>,
    pub targets: Targets,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct BenignResult {
    pub name: String,
    pub accounts: usize,
    pub false_high: usize,
    #[serde(default)]
    pub false_containment: usize,
}

/// The targets, met or not: every attack detected at high or above, median
/// time to detect under 5 minutes, records exposed before containment under
/// 0.5%, at most 0.5 false high alerts and 0.1 false containments per 1,000
/// account-days.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Targets {
    pub every_attack_detected: bool,
    pub median_detect_under_5_min: bool,
    pub exposure_under_0_5_pct: bool,
    pub false_high_at_most_0_5: bool,
    pub false_containment_at_most_0_1: bool,
}

/// How long after an attack ends an alert still counts as about it.
const GRACE_MS: i64 = 3_600_000;

/// Score one run (truth, alerts, actions) into per-scenario results and
/// false highs.
pub fn score_run(truth: &Truth, alerts: &[Record], actions: &[Record]) -> (Vec<ScenarioResult>, Vec<FalseHigh>) {
    let mut results = Vec::new();
    let mut attributed = vec![false; alerts.len()];
    for s in &truth.scenarios {
        let concerns = |r: &Record| {
            let who = r.user.as_ref().is_some_and(|u| s.accounts.contains(u));
            let from = r.ip.as_ref().is_some_and(|i| s.source_ips.contains(i));
            (who || from) && r.ts >= s.start_ms - GRACE_MS && r.ts <= s.end_ms + GRACE_MS
        };
        let mut first_high: Option<&Record> = None;
        for (i, a) in alerts.iter().enumerate() {
            if concerns(a) {
                attributed[i] = true;
                if a.level >= Severity::High && first_high.is_none_or(|f| a.ts < f.ts) {
                    first_high = Some(a);
                }
            }
        }
        // Containment per account and per address: the first action that
        // stops it (executed, or dry_run: what the engine would have done).
        let stops = |target_user: Option<&String>, target_ip: Option<&String>| -> Option<i64> {
            actions
                .iter()
                .filter(|r| {
                    let Some((ty, st)) = &r.action else { return false };
                    let acted = st == "executed" || st == "dry_run";
                    let on = match ty.as_str() {
                        "suspend_user" | "revoke_sessions" => target_user.is_some() && r.user.as_ref() == target_user,
                        "block_ip" => target_ip.is_some() && r.ip.as_ref() == target_ip,
                        _ => false,
                    };
                    acted && on && r.ts >= s.start_ms - GRACE_MS
                })
                .map(|r| r.ts)
                .min()
        };
        let account_stop: Vec<Option<i64>> = s.accounts.iter().map(|u| stops(Some(u), None)).collect();
        let ip_stop: Vec<Option<i64>> = s.source_ips.iter().map(|i| stops(None, Some(i))).collect();
        let detect_at = first_high.map(|f| f.ts);
        let mut before_detect = 0;
        let mut before_contain = 0;
        let mut contained: Option<i64> = None;
        for &(ts, n, who, from) in &s.reads {
            if detect_at.is_none_or(|d| ts < d) {
                before_detect += n;
            }
            let stop =
                [account_stop.get(who as usize).copied().flatten(), ip_stop.get(from as usize).copied().flatten()]
                    .into_iter()
                    .flatten()
                    .min();
            if let Some(st) = stop {
                contained = Some(contained.map_or(st, |c: i64| c.min(st)));
            }
            if stop.is_none_or(|st| ts < st) {
                before_contain += n;
            }
        }
        results.push(ScenarioResult {
            seed: truth.seed,
            name: s.name.clone(),
            detected: first_high.is_some(),
            first_high_rule: first_high.map(|f| f.rule.clone()),
            minutes_to_detect: detect_at.map(|d| ((d - s.start_ms).max(0) as f64 / 60_000.0 * 10.0).round() / 10.0),
            minutes_to_contain: contained.map(|c| ((c - s.start_ms).max(0) as f64 / 60_000.0 * 10.0).round() / 10.0),
            records_total: s.records_total,
            records_before_detection: before_detect,
            records_before_containment: before_contain,
        });
    }
    let false_high = alerts
        .iter()
        .zip(&attributed)
        .filter(|(a, hit)| !**hit && a.level >= Severity::High)
        .map(|(a, _)| FalseHigh {
            seed: truth.seed,
            rule: a.rule.clone(),
            user: a.user.clone(),
            at: jiff::Timestamp::from_millisecond(a.ts).map(|t| t.to_string()).unwrap_or_default(),
        })
        .collect();
    (results, false_high)
}

/// The containment actions of a run that fell on an account in no
/// scenario's accounts (suspend_user, revoke_sessions) or on an address in
/// no scenario's source addresses (block_ip), executed or dry_run.
pub fn false_containments(truth: &Truth, actions: &[Record]) -> Vec<FalseContainment> {
    let attacker_account = |u: &String| truth.scenarios.iter().any(|s| s.accounts.contains(u));
    let attacker_ip = |i: &String| truth.scenarios.iter().any(|s| s.source_ips.contains(i));
    actions
        .iter()
        .filter(|r| {
            let Some((ty, st)) = &r.action else { return false };
            if st != "executed" && st != "dry_run" {
                return false;
            }
            match ty.as_str() {
                "suspend_user" | "revoke_sessions" => r.user.as_ref().is_some_and(|u| !attacker_account(u)),
                "block_ip" => r.ip.as_ref().is_some_and(|i| !attacker_ip(i)),
                _ => false,
            }
        })
        .map(|r| FalseContainment {
            seed: truth.seed,
            archetype: truth.archetype.clone(),
            rule: r.rule.clone(),
            action: r.action.as_ref().map(|a| a.0.clone()).unwrap_or_default(),
            user: r.user.clone(),
            ip: r.ip.clone(),
            at: jiff::Timestamp::from_millisecond(r.ts).map(|t| t.to_string()).unwrap_or_default(),
        })
        .collect()
}

fn median(mut v: Vec<f64>) -> Option<f64> {
    v.sort_by(|a, b| a.total_cmp(b));
    if v.is_empty() {
        None
    } else if v.len() % 2 == 1 {
        Some(v[v.len() / 2])
    } else {
        Some((v[v.len() / 2 - 1] + v[v.len() / 2]) / 2.0)
    }
}

fn per_1000(n: usize, account_days: u64) -> f64 {
    let v = if account_days == 0 { 0.0 } else { n as f64 * 1000.0 / account_days as f64 };
    (v * 1000.0).round() / 1000.0
}

/// The figures of a set of runs (all, or one archetype's).
fn figures(
    archetype: &str,
    runs: usize,
    scenarios: &[ScenarioResult],
    false_high: usize,
    false_containment: usize,
    account_days: u64,
) -> ArchetypeResult {
    let total: u64 = scenarios.iter().map(|s| s.records_total).sum();
    let exposed: u64 = scenarios.iter().map(|s| s.records_before_containment).sum();
    let pct = if total == 0 { 0.0 } else { exposed as f64 * 100.0 / total as f64 };
    ArchetypeResult {
        archetype: archetype.into(),
        runs,
        detected: scenarios.iter().filter(|s| s.detected).count(),
        attacks: scenarios.len(),
        median_minutes_to_detect: median(scenarios.iter().filter_map(|s| s.minutes_to_detect).collect()),
        records_total: total,
        records_before_containment: exposed,
        exposed_before_containment_pct: (pct * 1000.0).round() / 1000.0,
        account_days,
        false_high,
        false_high_per_1000_account_days: per_1000(false_high, account_days),
        false_containment,
        false_containment_per_1000_account_days: per_1000(false_containment, account_days),
    }
}

/// Aggregate runs (one per seed, of one or several archetypes) into the report.
pub fn report(runs: &[(Truth, Vec<Record>, Vec<Record>)]) -> Report {
    let mut scenarios = Vec::new();
    let mut falses = Vec::new();
    let mut contains = Vec::new();
    let mut account_days = 0u64;
    let mut benign: Vec<BenignResult> = Vec::new();
    // Per archetype: runs, scenarios, false highs, false containments, account-days.
    let mut by_arch: BTreeMap<String, (usize, Vec<ScenarioResult>, usize, usize, u64)> = BTreeMap::new();
    for (t, a, x) in runs {
        let (s, f) = score_run(t, a, x);
        let c = false_containments(t, x);
        for b in &t.benign {
            let on = |u: &Option<String>| u.as_ref().is_some_and(|u| b.accounts.contains(u));
            let hits = f.iter().filter(|h| on(&h.user)).count();
            let stops = c.iter().filter(|h| on(&h.user)).count();
            match benign.iter_mut().find(|r| r.name == b.name) {
                Some(r) => {
                    r.accounts += b.accounts.len();
                    r.false_high += hits;
                    r.false_containment += stops;
                }
                None => benign.push(BenignResult {
                    name: b.name.clone(),
                    accounts: b.accounts.len(),
                    false_high: hits,
                    false_containment: stops,
                }),
            }
        }
        let days = t.accounts as u64 * t.days as u64;
        let name = if t.archetype.is_empty() { "unspecified".to_string() } else { t.archetype.clone() };
        let e = by_arch.entry(name).or_default();
        e.0 += 1;
        e.1.extend(s.iter().cloned());
        e.2 += f.len();
        e.3 += c.len();
        e.4 += days;
        scenarios.extend(s);
        falses.extend(f);
        contains.extend(c);
        account_days += days;
    }
    let all = figures("all", runs.len(), &scenarios, falses.len(), contains.len(), account_days);
    let archetypes = by_arch.iter().map(|(name, (n, s, f, c, d))| figures(name, *n, s, *f, *c, *d)).collect::<Vec<_>>();
    let mut by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for f in &falses {
        *by_rule.entry(f.rule.clone()).or_default() += 1;
    }
    let mut contain_by_rule: BTreeMap<String, usize> = BTreeMap::new();
    for c in &contains {
        *contain_by_rule.entry(c.rule.clone()).or_default() += 1;
    }
    let raw_pct = |a: &ArchetypeResult| {
        if a.records_total == 0 { 0.0 } else { a.records_before_containment as f64 * 100.0 / a.records_total as f64 }
    };
    let raw_fh = if account_days == 0 { 0.0 } else { falses.len() as f64 * 1000.0 / account_days as f64 };
    let raw_fc = if account_days == 0 { 0.0 } else { contains.len() as f64 * 1000.0 / account_days as f64 };
    Report {
        runs: runs.len(),
        detected: all.detected,
        attacks: all.attacks,
        median_minutes_to_detect: all.median_minutes_to_detect,
        records_total: all.records_total,
        records_before_containment: all.records_before_containment,
        exposed_before_containment_pct: all.exposed_before_containment_pct,
        account_days,
        false_high: falses.len(),
        false_high_per_1000_account_days: all.false_high_per_1000_account_days,
        false_high_by_rule: by_rule,
        targets: Targets {
            every_attack_detected: all.detected == all.attacks,
            median_detect_under_5_min: all.median_minutes_to_detect.is_some_and(|m| m < 5.0),
            exposure_under_0_5_pct: raw_pct(&all) < 0.5,
            false_high_at_most_0_5: raw_fh <= 0.5,
            false_containment_at_most_0_1: raw_fc <= 0.1,
        },
        false_high_samples: falses.into_iter().take(20).collect(),
        false_containment: contains.len(),
        false_containment_per_1000_account_days: all.false_containment_per_1000_account_days,
        false_containment_by_rule: contain_by_rule,
        false_containment_samples: contains.into_iter().take(20).collect(),
        benign,
        archetypes,
        scenarios,
    }
}

/// A bar chart (SVG) per scenario: records the attack took in all, by
/// detection, and by containment, on a logarithmic scale.
pub fn svg(r: &Report) -> String {
    let rows = &r.scenarios;
    let (w, row_h, left) = (900.0, 22.0, 330.0);
    let h = 60.0 + rows.len() as f64 * row_h * 1.5;
    let max = rows.iter().map(|s| s.records_total).max().unwrap_or(1).max(10) as f64;
    let x = |v: u64| if v == 0 { 0.0 } else { (v as f64 + 1.0).log10() / (max + 1.0).log10() * (w - left - 20.0) };
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" font-family=\"sans-serif\" font-size=\"12\">\n\
         <text x=\"10\" y=\"20\" font-size=\"15\">Records taken per attack (log scale): grey in all, orange before the first high alert, red before containment</text>\n"
    );
    for (i, s) in rows.iter().enumerate() {
        let y = 40.0 + i as f64 * row_h * 1.5;
        let label = format!("{} (seed {}){}", s.name, s.seed, if s.detected { "" } else { " NOT DETECTED" });
        out.push_str(&format!("<text x=\"10\" y=\"{:.0}\">{label}</text>\n", y + 14.0));
        for (v, color, hh) in [
            (s.records_total, "#bbb", row_h),
            (s.records_before_detection, "#f0a030", row_h * 0.66),
            (s.records_before_containment, "#d03020", row_h * 0.33),
        ] {
            out.push_str(&format!(
                "<rect x=\"{left}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{hh:.1}\" fill=\"{color}\"><title>{v}</title></rect>\n",
                y + (row_h - hh) / 2.0,
                x(v)
            ));
        }
        out.push_str(&format!(
            "<text x=\"{:.0}\" y=\"{:.0}\" fill=\"#333\">{} / {}</text>\n",
            left + x(s.records_total) + 6.0,
            y + 14.0,
            s.records_before_containment,
            s.records_total
        ));
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::truth::{Benign, Scenario};

    fn truth(seed: u64, archetype: &str) -> Truth {
        Truth {
            seed,
            archetype: archetype.into(),
            accounts: 100,
            days: 10,
            scenarios: vec![Scenario {
                name: "x".into(),
                accounts: vec!["thief".into()],
                source_ips: vec!["203.0.113.7".into()],
                start_ms: 1_000_000,
                end_ms: 2_000_000,
                reads: vec![(1_500_000, 100, 0, 0)],
                records_total: 100,
                ..Scenario::default()
            }],
            benign: vec![Benign {
                name: "reorganisation".into(),
                accounts: vec!["innocent".into()],
                start_ms: 0,
                end_ms: i64::MAX,
            }],
            ..Truth::default()
        }
    }

    fn act(ts: i64, ty: &str, status: &str, user: Option<&str>, ip: Option<&str>) -> Record {
        Record {
            ts,
            level: Severity::Critical,
            kind: "action".into(),
            rule: "rule-a".into(),
            user: user.map(String::from),
            ip: ip.map(String::from),
            action: Some((ty.into(), status.into())),
        }
    }

    #[test]
    fn containments_of_innocent_accounts_and_addresses_are_counted() {
        let actions = vec![
            act(1_200_000, "suspend_user", "executed", Some("innocent"), None),
            act(1_200_000, "block_ip", "dry_run", None, Some("198.51.100.9")),
            // Not false: on the attacker, held for approval, or not a containment.
            act(1_300_000, "suspend_user", "dry_run", Some("thief"), None),
            act(1_300_000, "block_ip", "executed", Some("innocent"), Some("203.0.113.7")),
            act(1_300_000, "revoke_sessions", "pending_approval", Some("bystander"), None),
            act(1_300_000, "notify", "executed", Some("bystander"), None),
        ];
        let r = report(&[(truth(1, "hospital"), vec![], actions)]);
        assert_eq!(r.false_containment, 2);
        assert_eq!(r.account_days, 1000);
        assert_eq!(r.false_containment_per_1000_account_days, 2.0);
        assert!(!r.targets.false_containment_at_most_0_1);
        assert_eq!(r.false_containment_by_rule["rule-a"], 2);
        let s = &r.false_containment_samples;
        assert_eq!(s[0].user.as_deref(), Some("innocent"));
        assert_eq!(s[0].action, "suspend_user");
        assert_eq!(s[1].ip.as_deref(), Some("198.51.100.9"));
        assert_eq!((s[1].seed, s[1].archetype.as_str()), (1, "hospital"));
        assert_eq!(r.benign[0].false_containment, 1, "the suspension fell on a benign look-alike");
        // The attacker's own containment stopped it before its read.
        assert_eq!(r.scenarios[0].records_before_containment, 0);
        let none = report(&[(truth(1, "hospital"), vec![], vec![])]);
        assert_eq!(none.false_containment, 0);
        assert!(none.targets.false_containment_at_most_0_1);
    }

    #[test]
    fn the_report_breaks_figures_down_per_archetype() {
        let high = |ts: i64, user: &str| Record {
            ts,
            level: Severity::High,
            kind: "analytic".into(),
            rule: "r".into(),
            user: Some(user.into()),
            ip: None,
            action: None,
        };
        let runs = vec![
            (truth(1, "hospital"), vec![high(1_060_000, "thief")], vec![]),
            (truth(2, "hospital"), vec![high(1_600_000, "thief"), high(5, "nurse")], vec![]),
            (truth(3, "portal"), vec![], vec![act(1_100_000, "suspend_user", "executed", Some("thief"), None)]),
            (truth(4, ""), vec![], vec![act(1, "block_ip", "executed", None, Some("192.0.2.1"))]),
        ];
        let r = report(&runs);
        let names: Vec<&str> = r.archetypes.iter().map(|a| a.archetype.as_str()).collect();
        assert_eq!(names, ["hospital", "portal", "unspecified"]);
        let h = &r.archetypes[0];
        assert_eq!((h.runs, h.detected, h.attacks), (2, 2, 2));
        assert_eq!(h.median_minutes_to_detect, Some(5.5), "1 and 10 minutes");
        assert_eq!((h.records_before_containment, h.records_total), (200, 200));
        assert_eq!(h.exposed_before_containment_pct, 100.0);
        assert_eq!((h.false_high, h.false_high_per_1000_account_days), (1, 0.5));
        let p = &r.archetypes[1];
        assert_eq!((p.detected, p.records_before_containment, p.exposed_before_containment_pct), (0, 0, 0.0));
        assert_eq!(p.false_containment, 0);
        let u = &r.archetypes[2];
        assert_eq!((u.false_containment, u.false_containment_per_1000_account_days), (1, 1.0));
        assert_eq!(r.detected, 2);
        assert_eq!(r.attacks, 4);
        assert!(!r.targets.median_detect_under_5_min);
        assert!(!r.targets.exposure_under_0_5_pct);
    }

    #[test]
    fn a_truth_without_an_archetype_still_loads() {
        let mut v = serde_json::to_value(truth(7, "agency")).unwrap();
        v.as_object_mut().unwrap().remove("archetype");
        let t: Truth = serde_json::from_value(v).unwrap();
        assert_eq!(t.archetype, "");
        assert_eq!(t.seed, 7);
        let back = serde_json::to_value(truth(7, "portal")).unwrap();
        assert_eq!(back["archetype"], "portal");
    }
}
