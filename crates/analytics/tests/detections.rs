//! Each detection on a small, hand-made history: the habits first, then the
//! deviation, and the signal (or its absence) checked with its evidence.

use vigie_analytics::{Act, Activity, Analytics, AnalyticsConfig, Detection, Level, Signal, subject_hash};

const H: i64 = 3_600_000;
/// Monday 2026-03-02 00:00 in Paris (UTC+1).
const MONDAY: i64 = 1_772_406_000_000;

fn act(user: &str, ts: i64, ip: &str, act: Act) -> Activity {
    Activity {
        ts,
        user: user.into(),
        group: Some("agence-013".into()),
        role: Some("advisor".into()),
        service_role: false,
        token_auth: false,
        ip: Some(ip.into()),
        user_agent: Some("Firefox".into()),
        country: None,
        location: None,
        asn: None,
        act,
        origin: format!("test:{ts}"),
    }
}

fn read(user: &str, ts: i64, ip: &str, ids: &[String]) -> Activity {
    let subjects = ids.iter().map(|i| subject_hash(i)).collect::<Vec<_>>();
    let n = subjects.len() as u64;
    act(user, ts, ip, Act::Read { subjects, records: n })
}

/// Weekdays 9h–17h for `days` days from MONDAY: a login, then `per_hour`
/// reads of people from a caseload of 60.
fn habits(an: &mut Analytics, user: &str, days: i64, per_hour: usize, out: &mut Vec<Signal>) {
    for d in 0..days {
        let day = MONDAY + d * 24 * H;
        let wd = d % 7;
        if wd >= 5 {
            continue;
        }
        an.observe(&act(user, day + 9 * H, "217.108.13.44", Act::Login { success: true }), out);
        for h in 9..17 {
            for i in 0..per_hour {
                let id = format!("{user}-case-{}", (h as usize * per_hour + i + d as usize) % 60);
                an.observe(&read(user, day + h * H + i as i64 * 60_000, "217.108.13.44", &[id]), out);
            }
        }
    }
}

fn fired(out: &[Signal], d: Detection) -> Vec<&Signal> {
    out.iter().filter(|s| s.detection == d).collect()
}

#[test]
fn harvesting_far_beyond_the_account_habits_is_critical_and_explained() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    habits(&mut an, "adv1", 14, 12, &mut out);
    assert!(fired(&out, Detection::DistinctSubjectsHour).is_empty(), "habits alone are quiet: {out:?}");
    out.clear();
    // Third Monday, 10h: 400 people nobody in this account ever read.
    let t = MONDAY + 14 * 24 * H + 10 * H;
    for i in 0..400 {
        an.observe(&read("adv1", t + i * 5_000, "217.108.13.44", &[format!("victim-{i}")]), &mut out);
    }
    let hour = fired(&out, Detection::DistinctSubjectsHour);
    let levels: Vec<Level> = hour.iter().map(|s| s.level).collect();
    assert_eq!(levels, vec![Level::Medium, Level::High, Level::Critical], "escalates once per level");
    let first = hour[0];
    assert_eq!(first.evidence["basis"], "own");
    assert!(first.evidence["baseline"]["samples"].as_u64().unwrap() >= 12);
    assert!(first.evidence["observed"].as_f64().unwrap() < 120.0, "raised early, not at the end of the hour");
    assert!(first.reason.contains("adv1") && first.reason.contains("distinct people"));
    let ws: Vec<Level> = fired(&out, Detection::OutsideWorkingSet).iter().map(|s| s.level).collect();
    assert_eq!(ws, vec![Level::Medium, Level::High, Level::Critical], "all of them outside its working set");
}

#[test]
fn a_new_account_is_judged_against_its_peers() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    for u in ["p1", "p2", "p3", "p4", "p5", "p6"] {
        habits(&mut an, u, 14, 10, &mut out);
    }
    out.clear();
    let t = MONDAY + 14 * 24 * H + 10 * H;
    for i in 0..150 {
        an.observe(&read("newbie", t + i * 10_000, "217.108.13.50", &[format!("x-{i}")]), &mut out);
    }
    let hour = fired(&out, Detection::DistinctSubjectsHour);
    assert!(!hour.is_empty());
    assert_eq!(hour[0].evidence["basis"], "peers");
    assert_eq!(hour[0].evidence["peers"]["group"], "agence-013/advisor");
    assert_eq!(fired(&out, Detection::NewAccountBulkRead).len(), 1);
}

#[test]
fn the_france_travail_path_reset_new_source_then_reads() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    habits(&mut an, "adv2", 14, 8, &mut out);
    out.clear();
    let t = MONDAY + 15 * 24 * H + 18 * H; // Tuesday evening
    an.observe(&act("sup1", t, "217.108.2.40", Act::Reset { target: "adv2".into() }), &mut out);
    let mut login = act("adv2", t + 40 * 60_000, "203.0.113.50", Act::Login { success: true });
    login.user_agent = Some("python-requests/2.31".into());
    an.observe(&login, &mut out);
    let chain = fired(&out, Detection::ResetThenNewSource);
    assert_eq!(chain.len(), 1, "{out:?}");
    assert_eq!(chain[0].level, Level::Medium);
    assert_eq!(fired(&out, Detection::NewSource).len(), 1, "the new source on its own too");
    for i in 0..30 {
        an.observe(&read("adv2", t + 3 * H + i * 20_000, "203.0.113.50", &[format!("v-{i}")]), &mut out);
    }
    let takeover = fired(&out, Detection::ResetTakeover);
    assert_eq!(takeover.len(), 1);
    assert_eq!(takeover[0].level, Level::Critical);
    assert!(takeover[0].evidence["reset_at"].is_string());
    // Reads at 21h, an hour this account never worked.
    assert_eq!(
        fired(&out, Detection::OffHours).len(),
        1,
        "{:#?}",
        out.iter().map(|s| (s.detection, s.level, &s.reason)).collect::<Vec<_>>()
    );
}

#[test]
fn a_genuine_reset_from_the_usual_place_raises_nothing_grave() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    habits(&mut an, "adv3", 14, 8, &mut out);
    out.clear();
    let t = MONDAY + 15 * 24 * H + 9 * H;
    an.observe(&act("sup1", t, "217.108.2.40", Act::Reset { target: "adv3".into() }), &mut out);
    an.observe(&act("adv3", t + 5 * 60_000, "217.108.13.44", Act::Login { success: true }), &mut out);
    for i in 0..8 {
        an.observe(&read("adv3", t + 10 * 60_000 + i * 60_000, "217.108.13.44", &[format!("adv3-case-{i}")]), &mut out);
    }
    assert!(out.is_empty(), "{out:?}");
}

#[test]
fn weekend_nights_new_networks_and_travel() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    habits(&mut an, "adv4", 14, 8, &mut out);
    out.clear();
    // Saturday 23h local.
    let sat = MONDAY + 19 * 24 * H + 23 * H;
    for i in 0..12 {
        an.observe(&read("adv4", sat + i * 60_000, "217.108.13.44", &[format!("adv4-case-{i}")]), &mut out);
    }
    let off = fired(&out, Detection::OffHours);
    assert_eq!(off.len(), 1);
    assert_eq!(off[0].level, Level::Medium);
    assert_eq!(off[0].evidence["weekend"], true);
    out.clear();
    let mut paris = act("adv4", sat + 2 * H, "217.108.13.44", Act::Login { success: true });
    paris.location = Some((48.85, 2.35));
    an.observe(&paris, &mut out);
    let mut ny = act("adv4", sat + 3 * H, "198.51.100.20", Act::Login { success: true });
    ny.location = Some((40.71, -74.0));
    ny.country = Some("US".into());
    an.observe(&ny, &mut out);
    let travel = fired(&out, Detection::ImpossibleTravel);
    assert_eq!(travel.len(), 1);
    assert!(travel[0].evidence["speed_kmh"].as_f64().unwrap() > 5000.0);
    let new = fired(&out, Detection::NewSource);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].level, Level::Medium, "a new country");
}

#[test]
fn a_new_network_owner_is_graver_than_a_new_network() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    for d in 0..10 {
        let mut login = act("adv8", MONDAY + d * 24 * H + 9 * H, "217.108.13.44", Act::Login { success: true });
        login.asn = Some(3215);
        an.observe(&login, &mut out);
    }
    out.clear();
    let t = MONDAY + 10 * 24 * H + 9 * H;
    let mut same_owner = act("adv8", t, "217.108.99.1", Act::Login { success: true });
    same_owner.asn = Some(3215);
    an.observe(&same_owner, &mut out);
    let mut other_owner = act("adv8", t + H, "198.51.100.7", Act::Login { success: true });
    other_owner.asn = Some(64500);
    an.observe(&other_owner, &mut out);
    let new: Vec<(Level, String)> =
        fired(&out, Detection::NewSource).iter().map(|s| (s.level, s.evidence["new"].to_string())).collect();
    assert_eq!(new.len(), 2, "{new:?}");
    assert_eq!(new[0].0, Level::Low, "a new network of the usual provider");
    assert_eq!(new[1].0, Level::Medium);
    assert!(new[1].1.contains("autonomous system"));
}

#[test]
fn iam_by_accounts_that_never_do_it_and_service_accounts() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    habits(&mut an, "adv5", 14, 8, &mut out);
    habits(&mut an, "svc-batch", 14, 3, &mut out);
    out.clear();
    let t = MONDAY + 15 * 24 * H + 11 * H;
    an.observe(&act("adv5", t, "217.108.13.44", Act::Create { target: "ghost1".into() }), &mut out);
    an.observe(&act("adv5", t + 1000, "217.108.13.44", Act::Create { target: "ghost2".into() }), &mut out);
    an.observe(&act("adv5", t + 2000, "217.108.13.44", Act::Grant { target: "ghost1".into() }), &mut out);
    assert_eq!(fired(&out, Detection::RareAccountCreation).len(), 1, "once, on the first");
    assert_eq!(fired(&out, Detection::RarePrivilegeGrant).len(), 1);
    out.clear();
    for i in 0..45 {
        an.observe(&read("ghost1", t + H + i * 30_000, "198.51.100.9", &[format!("g-{i}")]), &mut out);
    }
    let young = fired(&out, Detection::NewAccountBulkRead);
    assert_eq!(young.len(), 1);
    assert!(young[0].evidence["created_at"].is_string());
    out.clear();
    an.observe(&act("svc-batch", t, "192.0.2.77", Act::Login { success: true }), &mut out);
    let svc = fired(&out, Detection::NewSource);
    assert_eq!(svc.len(), 1);
    assert_eq!(svc[0].level, Level::High, "a service account's new source is grave");
}

#[test]
fn state_survives_a_checkpoint_and_stays_small() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    habits(&mut an, "adv6", 14, 12, &mut out);
    let bytes = an.bytes_per_account();
    eprintln!("{bytes:.0} bytes per account");
    assert!(bytes > 0.0 && bytes <= 2048.0, "{bytes} bytes per account");
    let shared = serde_json::to_string(&an.shared()).unwrap();
    let rows: Vec<(String, Vec<u8>)> = an.take_changes().into_iter().map(|(k, a)| (k, a.unwrap())).collect();
    let mut back = Analytics::new(AnalyticsConfig::default()).unwrap();
    back.restore(
        serde_json::from_str(&shared).unwrap(),
        rows.iter().map(|(k, v)| (k.clone(), vigie_analytics::Account::decode(v).unwrap())).collect(),
    );
    let t = MONDAY + 14 * 24 * H + 10 * H;
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for i in 0..200 {
        let ev = read("adv6", t + i * 5_000, "217.108.13.44", &[format!("victim-{i}")]);
        an.observe(&ev, &mut a);
        back.observe(&ev, &mut b);
    }
    assert!(!a.is_empty());
    assert_eq!(a, b, "the restored state judges exactly as the original");
}

#[test]
fn reads_outside_a_declared_caseload_need_no_baseline() {
    let dir = std::env::temp_dir().join(format!("vigie-caseload-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("caseload.csv");
    let mut text = String::from("account,subject_id\n");
    for i in 0..60 {
        text.push_str(&format!("adv9,adv9-case-{i}\n"));
    }
    std::fs::write(&file, text).unwrap();
    let mut cfg = AnalyticsConfig::default();
    cfg.caseload.accounts = Some(file);
    let mut an = Analytics::new(cfg).unwrap();
    let mut out = Vec::new();
    // A first day, inside the caseload: nothing, even with no history.
    for i in 0..30 {
        an.observe(&read("adv9", MONDAY + 9 * H + i * 60_000, "217.108.13.44", &[format!("adv9-case-{i}")]), &mut out);
    }
    assert!(fired(&out, Detection::OutsideCaseload).is_empty());
    for i in 0..11 {
        an.observe(&read("adv9", MONDAY + 10 * H + i * 60_000, "217.108.13.44", &[format!("neighbour-{i}")]), &mut out);
    }
    let levels: Vec<Level> = fired(&out, Detection::OutsideCaseload).iter().map(|s| s.level).collect();
    assert_eq!(levels, vec![Level::Medium, Level::High], "5 outside: medium, 10: high");
    assert_eq!(fired(&out, Detection::OutsideCaseload)[1].evidence["observed"], 10);
}
