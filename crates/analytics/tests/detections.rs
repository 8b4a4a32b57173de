//! Each detection on a small, hand-made history: the habits first, then the
//! deviation, and the signal (or its absence) checked with its evidence.

use vigie_analytics::{Act, Activity, Analytics, AnalyticsConfig, Detection, Severity, Signal, subject_hash};

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
        origin: vigie_alert::Origin::new("test", ts as u64),
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
    let levels: Vec<Severity> = hour.iter().map(|s| s.level).collect();
    assert_eq!(levels, vec![Severity::Medium, Severity::High, Severity::Critical], "escalates once per level");
    let first = hour[0];
    assert_eq!(first.evidence["basis"], "own");
    assert!(first.evidence["baseline"]["samples"].as_u64().unwrap() >= 12);
    assert!(first.evidence["observed"].as_f64().unwrap() < 120.0, "raised early, not at the end of the hour");
    assert!(first.reason.contains("adv1") && first.reason.contains("distinct people"));
    let ws: Vec<Severity> = fired(&out, Detection::OutsideWorkingSet).iter().map(|s| s.level).collect();
    assert_eq!(ws, vec![Severity::Medium, Severity::High, Severity::Critical], "all of them outside its working set");
}

/// Six advisers of one agency with two weeks of habits.
fn six_peers() -> (Analytics, Vec<Signal>) {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    for u in ["p1", "p2", "p3", "p4", "p5", "p6"] {
        habits(&mut an, u, 14, 10, &mut out);
    }
    (an, out)
}

#[test]
fn a_new_account_is_judged_against_its_peers() {
    let (mut an, mut out) = six_peers();
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

/// After an upgrade whose account layout changed, saved accounts no longer
/// read and learn again; they must not "appear late" as new accounts (a
/// new account reading at volume is high): every heavy reader would be.
#[test]
fn an_account_relearned_after_a_restart_is_not_new() {
    let (an, mut out) = six_peers();
    let shared = an.shared();
    let kept: Vec<(String, vigie_analytics::Account)> =
        an.accounts.iter().filter(|(k, _)| k.as_str() != "p1").map(|(k, v)| (k.clone(), (**v).clone())).collect();
    let mut after = Analytics::new(AnalyticsConfig::default()).unwrap();
    after.restore(shared, kept);
    after.relearn(vec!["p1".into()]);
    out.clear();
    let t = MONDAY + 14 * 24 * H + 10 * H;
    for i in 0..150 {
        after.observe(&read("p1", t + i * 10_000, "217.108.13.44", &[format!("x-{i}")]), &mut out);
        after.observe(&read("newbie", t + i * 10_000, "217.108.13.50", &[format!("y-{i}")]), &mut out);
    }
    let new: Vec<&str> = fired(&out, Detection::NewAccountBulkRead).iter().map(|s| s.user.as_str()).collect();
    assert_eq!(new, ["newbie"], "{out:?}");
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
    // A provider and a client the account never used, right after a reset:
    // high at the login, hours before the harvest.
    assert_eq!(chain[0].level, Severity::High);
    assert_eq!(
        (chain[0].evidence["new_provider"].as_bool(), chain[0].evidence["new_user_agent"].as_bool()),
        (Some(true), Some(true))
    );
    assert_eq!(fired(&out, Detection::NewSource).len(), 1, "the new source on its own too");
    for i in 0..30 {
        an.observe(&read("adv2", t + 3 * H + i * 20_000, "203.0.113.50", &[format!("v-{i}")]), &mut out);
    }
    let takeover = fired(&out, Detection::ResetTakeover);
    assert_eq!(takeover.len(), 1);
    assert_eq!(takeover[0].level, Severity::Critical);
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

    // The owner comes back with an updated browser, from its own network,
    // and later has a busy hour: a look at the login, no takeover.
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    habits(&mut an, "adv3", 14, 8, &mut out);
    out.clear();
    an.observe(&act("sup1", t, "217.108.2.40", Act::Reset { target: "adv3".into() }), &mut out);
    let mut login = act("adv3", t + 11 * 60_000, "217.108.13.45", Act::Login { success: true });
    login.user_agent = Some("Firefox/134.0".into());
    an.observe(&login, &mut out);
    for i in 0..40 {
        let mut r = read("adv3", t + 5 * H + i * 60_000, "217.108.13.45", &[format!("busy-{i}")]);
        r.user_agent = Some("Firefox/134.0".into());
        an.observe(&r, &mut out);
    }
    let look = fired(&out, Detection::ResetThenNewSource);
    assert_eq!(look.len(), 1, "{out:?}");
    assert_eq!(look[0].level, Severity::Medium);
    assert_eq!(look[0].evidence["new_network"], false);
    assert!(fired(&out, Detection::ResetTakeover).is_empty(), "{out:?}");
}

/// An outside professional seen once, from a mobile network: a genuine
/// reset, a login from home (a network new to an account with no habits
/// yet), and a busy morning covering a colleague. The takeover path is the
/// reset and the new network only; its reads must pass the floor of every
/// volume bound, as any account with unknown habits. The intruder who
/// harvests is still critical.
#[test]
fn a_genuine_reset_on_an_account_with_unknown_habits_then_a_busy_hour_is_no_takeover() {
    let run = |people: i64| {
        let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
        let mut out = Vec::new();
        let day1 = MONDAY + 14 * H;
        an.observe(&act("pro1", day1, "37.166.47.242", Act::Login { success: true }), &mut out);
        for i in 0..5 {
            an.observe(&read("pro1", day1 + (i + 1) * 60_000, "37.166.47.242", &[format!("pro1-{i}")]), &mut out);
        }
        let t = MONDAY + 2 * 24 * H + 15 * H;
        an.observe(&act("desk", t, "217.108.2.40", Act::Reset { target: "pro1".into() }), &mut out);
        an.observe(&act("pro1", t + 16 * 60_000, "89.125.244.14", Act::Login { success: true }), &mut out);
        let look = fired(&out, Detection::ResetThenNewSource);
        assert_eq!(look.len(), 1, "{out:?}");
        assert_eq!(look[0].level, Severity::Medium, "a new network, but the owner's own browser");
        let morning = MONDAY + 3 * 24 * H + 8 * H;
        for i in 0..people {
            an.observe(&read("pro1", morning + i * 90_000, "89.125.244.14", &[format!("cover-{i}")]), &mut out);
        }
        fired(&out, Detection::ResetTakeover)
            .iter()
            .map(|s| (s.level, s.evidence["bound"].as_f64()))
            .collect::<Vec<_>>()
    };
    assert_eq!(run(20), vec![], "20 people in an hour is no harvest for an account whose habits are unknown");
    assert_eq!(run(30), vec![(Severity::Critical, Some(25.0))], "the bound in the evidence is the one applied");
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
    assert_eq!(off[0].level, Severity::Medium);
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
    assert_eq!(travel[0].evidence["known_network"], false, "the far leg arrives on a network new to the account");
    let new = fired(&out, Detection::NewSource);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].level, Severity::Medium, "a new country");
    out.clear();
    // The owner goes on working from the usual place: the journey back is
    // impossible too, but it arrives on the account's own network, which is
    // no source to block.
    let mut back = act("adv4", sat + 3 * H + 5 * 60_000, "217.108.13.44", Act::Login { success: true });
    back.location = Some((48.85, 2.35));
    an.observe(&back, &mut out);
    let travel = fired(&out, Detection::ImpossibleTravel);
    assert_eq!(travel.len(), 1);
    assert_eq!(travel[0].evidence["known_network"], true);
    // Minutes after a journey already reported, the way back is its end,
    // not news: low, and it says so.
    assert_eq!(travel[0].level, Severity::Low);
    assert!(travel[0].evidence["journey_reported_at"].is_string());
    assert!(travel[0].reason.contains("back where it usually works"));
    // The intruder uses the account again from afar: that leg is high again.
    out.clear();
    let mut again = act("adv4", sat + 3 * H + 20 * 60_000, "198.51.100.20", Act::Login { success: true });
    again.location = Some((40.71, -74.0));
    again.country = Some("US".into());
    an.observe(&again, &mut out);
    let travel = fired(&out, Detection::ImpossibleTravel);
    assert_eq!(travel.len(), 1);
    assert_eq!(travel[0].level, Severity::High);
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
    let new: Vec<(Severity, String)> =
        fired(&out, Detection::NewSource).iter().map(|s| (s.level, s.evidence["new"].to_string())).collect();
    assert_eq!(new.len(), 2, "{new:?}");
    assert_eq!(new[0].0, Severity::Low, "a new network of the usual provider");
    assert_eq!(new[1].0, Severity::Medium);
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
    assert_eq!(young[0].level, Severity::High, "created from the creator's usual place and hours");
    out.clear();
    an.observe(&act("svc-batch", t, "192.0.2.77", Act::Login { success: true }), &mut out);
    let svc = fired(&out, Detection::NewSource);
    assert_eq!(svc.len(), 1);
    assert_eq!(svc[0].level, Severity::High, "a service account's new source is grave");
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
fn reads_outside_a_declared_caseload_are_judged_by_how_often_the_account_reads_outside_it() {
    let mut an = with_caseload("test", &["adv9", "desk1"], 60);
    let mut out = Vec::new();
    let levels = |out: &[Signal], user: &str| -> Vec<Severity> {
        fired(out, Detection::OutsideCaseload).iter().filter(|s| s.reason.starts_with(user)).map(|s| s.level).collect()
    };
    // A first day, inside the caseload: nothing, even with no history.
    for i in 0..30 {
        an.observe(&read("adv9", MONDAY + 9 * H + i * 60_000, "217.108.13.44", &[format!("adv9-case-{i}")]), &mut out);
    }
    assert!(fired(&out, Detection::OutsideCaseload).is_empty());
    // Thirteen people outside it in the next hour (the floor is 12): worth a
    // look from the first day, but nothing says yet how often this
    // organisation reads outside its files (new applicants, walk-ins, a
    // file that lags): medium only.
    for i in 0..13 {
        an.observe(&read("adv9", MONDAY + 10 * H + i * 60_000, "217.108.13.44", &[format!("neighbour-{i}")]), &mut out);
    }
    assert_eq!(levels(&out, "adv9"), vec![Severity::Medium], "{out:?}");
    // Two weeks of ordinary work: each hour 8 of its caseload and one or
    // two walk-ins (adv9); a help-desk account that reads 20 people outside
    // its file every hour (desk1).
    for d in 1..15 {
        if d % 7 >= 5 {
            continue;
        }
        for h in 9..17 {
            let t = MONDAY + d * 24 * H + h * H;
            for i in 0..8 {
                let id = format!("adv9-case-{}", (h * 8 + i + d) % 60);
                an.observe(&read("adv9", t + i * 60_000, "217.108.13.44", &[id]), &mut out);
            }
            for i in 0..1 + (h + d) % 2 {
                an.observe(
                    &read("adv9", t + (20 + i) * 60_000, "217.108.13.44", &[format!("walkin-{d}-{h}-{i}")]),
                    &mut out,
                );
            }
            for i in 0..20 {
                an.observe(&read("desk1", t + i * 90_000, "217.108.13.60", &[format!("caller-{d}-{h}-{i}")]), &mut out);
            }
        }
    }
    out.clear();
    // What was learned of the caseload (each account's habit and its
    // peers') survives a checkpoint: a restored engine judges the same.
    let shared = serde_json::to_string(&an.shared()).unwrap();
    assert!(shared.contains("peers_outside"));
    let rows: Vec<(String, Vec<u8>)> = an.take_changes().into_iter().map(|(k, a)| (k, a.unwrap())).collect();
    let mut back = with_caseload("restored", &["adv9", "desk1"], 60);
    back.restore(
        serde_json::from_str(&shared).unwrap(),
        rows.iter().map(|(k, v)| (k.clone(), vigie_analytics::Account::decode(v).unwrap())).collect(),
    );
    let mut restored = Vec::new();
    // Third Monday afternoon: adv9 looks up 65 neighbours and celebrities;
    // desk1 has a busy hour of 35 callers.
    let t = MONDAY + 21 * 24 * H + 14 * H;
    for i in 0..65 {
        let curious = read("adv9", t + i * 50_000, "217.108.13.44", &[format!("curious-{i}")]);
        an.observe(&curious, &mut out);
        back.observe(&curious, &mut restored);
        if i < 35 {
            let busy = read("desk1", t + i * 100_000, "217.108.13.60", &[format!("busy-{i}")]);
            an.observe(&busy, &mut out);
            back.observe(&busy, &mut restored);
        }
    }
    assert_eq!(out, restored, "the restored state judges exactly as the original");
    assert_eq!(levels(&out, "adv9"), vec![Severity::Medium, Severity::High, Severity::Critical], "{out:?}");
    let first = fired(&out, Detection::OutsideCaseload)[0];
    assert_eq!(first.evidence["basis"], "own");
    assert_eq!(first.evidence["bound"].as_f64(), Some(12.0), "the floor: its own habit is one or two an hour");
    assert!(levels(&out, "desk1").is_empty(), "reading outside the file is this account's job: {out:?}");
}

/// People, not reads: one file outside the caseload opened again and again
/// is one person. And an hour far beyond the bound teaches no peer group,
/// even from an account still in its warm-up (whose alerts stay medium).
#[test]
fn outside_the_caseload_counts_people_and_an_alarming_hour_teaches_no_peers() {
    let mut an = with_caseload("people", &["adv1", "adv2", "newcomer"], 1);
    let mut out = Vec::new();
    let t = MONDAY + 9 * H;
    for i in 0..40 {
        an.observe(&read("adv1", t + i * 60_000, "217.108.13.44", &["the-same-outsider".to_string()]), &mut out);
    }
    assert!(fired(&out, Detection::OutsideCaseload).is_empty(), "one person, read forty times: {out:?}");
    // A newcomer reads 500 people outside the file in its first hour; the
    // next hour closes it.
    for i in 0..500 {
        an.observe(&read("newcomer", t + i * 5_000, "217.108.13.50", &[format!("o-{i}")]), &mut out);
    }
    an.observe(&read("newcomer", t + 2 * H, "217.108.13.50", &["newcomer-case-0".to_string()]), &mut out);
    an.observe(&read("adv1", t + 2 * H, "217.108.13.44", &["adv1-case-0".to_string()]), &mut out);
    let peers = an.shared().peers_outside;
    let learned: Vec<f32> = peers.values().map(|b| b.mean).collect();
    assert!(learned.iter().all(|m| *m < 2.0), "the 500 taught a peer group: {peers:?}");
    assert!(!peers.is_empty(), "the ordinary hour is learned");
}

/// Analytics with a caseload file giving each of `accounts` the people
/// `{account}-case-0` to `{account}-case-{per-1}`.
fn with_caseload(tag: &str, accounts: &[&str], per: usize) -> Analytics {
    let dir = std::env::temp_dir().join(format!("vigie-caseload-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("caseload.csv");
    let mut text = String::from("account,subject_id\n");
    for u in accounts {
        for i in 0..per {
            text.push_str(&format!("{u},{u}-case-{i}\n"));
        }
    }
    std::fs::write(&file, text).unwrap();
    let mut cfg = AnalyticsConfig::default();
    cfg.caseload.accounts = Some(file);
    Analytics::new(cfg).unwrap()
}

/// An adviser's weekdays, 9h–17h, from its own address and browser, over
/// a caseload of 60 (people `{user}-case-N`), with some spread per hour.
#[allow(clippy::too_many_arguments)]
fn workdays(
    an: &mut Analytics,
    user: &str,
    from: i64,
    days: i64,
    per_hour: usize,
    ip: &str,
    ua: &str,
    out: &mut Vec<Signal>,
) {
    for d in from..from + days {
        let day = MONDAY + d * 24 * H;
        if d % 7 >= 5 {
            continue;
        }
        let mut login = act(user, day + 9 * H, ip, Act::Login { success: true });
        login.user_agent = Some(ua.into());
        an.observe(&login, out);
        for h in 9..17 {
            let n = per_hour + (h as usize + d as usize) % 4;
            for i in 0..n {
                let id = format!("{user}-case-{}", (h as usize * 7 + i * 3 + d as usize) % 60);
                let mut r = read(user, day + h * H + i as i64 * 50_000, ip, &[id]);
                r.user_agent = Some(ua.into());
                an.observe(&r, out);
            }
        }
    }
}

#[test]
fn cold_start_every_account_is_unseen_on_day_one_but_none_is_new() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    // The log starts at deployment: on its first morning twenty accounts
    // appear, some reading 60 people in their first hour (a Monday's backlog).
    for u in 0..20 {
        for i in 0..60 {
            let ev = read(&format!("adv{u}"), MONDAY + 9 * H + i * 50_000, "217.108.13.44", &[format!("{u}-{i}")]);
            an.observe(&ev, &mut out);
        }
    }
    assert!(fired(&out, Detection::NewAccountBulkRead).is_empty(), "unseen is not new: {out:?}");
    assert!(out.iter().all(|s| s.evidence["learning"]["deployment"] == "learning"), "every alert says so");
    assert!(out.iter().all(|s| s.evidence["learning"]["account"] == "learning"));
    // After the deployment has learned its population, an account that
    // first appears is new, and is judged against its peers.
    out.clear();
    let t = MONDAY + 4 * 24 * H + 10 * H;
    for i in 0..60 {
        an.observe(&read("late", t + i * 50_000, "217.108.13.50", &[format!("late-{i}")]), &mut out);
    }
    let young = fired(&out, Detection::NewAccountBulkRead);
    assert_eq!(young.len(), 1, "{out:?}");
    assert_eq!(young[0].evidence["learning"]["deployment"], "learned");
}

/// A nightly job: token login and five exports, from its server, starting
/// at 02:30 plus or minus `jitter` minutes.
fn nightly(an: &mut Analytics, user: &str, day: i64, minute: i64, ip: &str, ua: &str, out: &mut Vec<Signal>) {
    let t = MONDAY + day * 24 * H + minute * 60_000;
    let mut login = act(user, t, ip, Act::Login { success: true });
    login.token_auth = true;
    login.group = Some("infra".into());
    login.role = Some("reporting".into());
    login.user_agent = Some(ua.into());
    an.observe(&login, out);
    for k in 0..5 {
        let mut e = act(user, t + 60_000 + k * 120_000, ip, Act::Read { subjects: vec![], records: 3000 });
        e.group = login.group.clone();
        e.role = login.role.clone();
        e.user_agent = Some(ua.into());
        an.observe(&e, out);
    }
}

#[test]
fn a_service_account_is_known_by_its_token_and_judged_against_its_own_jitter() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    // 02:30 give or take up to 20 minutes: some nights it starts in the 2
    // o'clock hour, some in the 3 o'clock one.
    let starts = [150, 165, 140, 171, 155, 147, 168, 152, 160, 145, 170, 158];
    for (d, m) in starts.iter().enumerate() {
        nightly(&mut an, "etl-nightly", d as i64, *m, "10.20.0.15", "Apache-HttpClient/4.5", &mut out);
    }
    // Tonight it runs 30 minutes late, into an hour it has rarely started in.
    nightly(&mut an, "etl-nightly", 12, 195, "10.20.0.15", "Apache-HttpClient/4.5", &mut out);
    assert!(fired(&out, Detection::OffHours).is_empty(), "jitter is not an unusual time: {out:?}");
    assert!(fired(&out, Detection::NewSource).is_empty());
    // Its token in someone else's hands: another provider, another client,
    // the afternoon. Known for a service account by its token alone.
    nightly(&mut an, "etl-nightly", 13, 15 * 60, "203.0.113.66", "python-requests/2.31", &mut out);
    let new = fired(&out, Detection::NewSource);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].level, Severity::Critical, "new provider and new client for a service account");
    assert_eq!(new[0].evidence["service_by"], serde_json::json!(["token authentication"]));
    let odd = fired(&out, Detection::OffHours);
    assert_eq!(odd.len(), 1);
    assert_eq!(odd[0].level, Severity::High);
}

#[test]
fn a_success_from_a_source_that_is_spraying_is_critical_from_the_first_minute() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    // Day one, 03:00: one address fails against 120 accounts, then gets in.
    let t = MONDAY + 3 * H;
    for u in 0..120 {
        an.observe(&act(&format!("adv{u}"), t + u * 5_000, "45.9.148.3", Act::Login { success: false }), &mut out);
    }
    an.observe(&act("adv77", t + 11 * 60_000, "45.9.148.3", Act::Login { success: true }), &mut out);
    let hit = fired(&out, Detection::SprayingSourceLogin);
    assert_eq!(hit.len(), 1, "{out:?}");
    assert_eq!(hit[0].level, Severity::Critical);
    assert_eq!(hit[0].evidence["ip"], "45.9.148.3");
    // An office where a few people mistype their password is not spraying.
    out.clear();
    for u in 0..60 {
        let who = format!("emp{u}");
        if u % 10 == 0 {
            an.observe(&act(&who, t + 5 * H + u * 1000, "192.0.2.10", Act::Login { success: false }), &mut out);
        }
        an.observe(&act(&who, t + 5 * H + u * 1000 + 500, "192.0.2.10", Act::Login { success: true }), &mut out);
    }
    assert!(fired(&out, Detection::SprayingSourceLogin).is_empty());
}

fn careful_world(an: &mut Analytics, out: &mut Vec<Signal>) {
    for u in 0..30 {
        let ua = if u % 2 == 0 { "Chrome/134.0" } else { "Firefox/133.0" };
        workdays(an, &format!("adv{u}"), 0, 11, 6 + u % 5, &format!("81.{}.{}.20", 40 + u, u), ua, out);
    }
}

/// Thirty advisers' habits, learned with a fusion that judges after 300
/// account-hours.
fn fusion_world() -> Analytics {
    let cfg = AnalyticsConfig {
        fusion: vigie_analytics::config::Fusion { min_hours: 300, ..Default::default() },
        ..Default::default()
    };
    let mut an = Analytics::new(cfg).unwrap();
    careful_world(&mut an, &mut Vec::new());
    an
}

#[test]
fn weak_signals_add_up_for_a_careful_attacker_but_not_for_a_new_caseload() {
    let mut an = fusion_world();
    let mut out = Vec::new();
    // Day 14 (a Tuesday), the victim's hours: an address of its provider
    // (same /16) but a new /24, its browser one version older, three times
    // its reads, all people it never read.
    let day = MONDAY + 15 * 24 * H;
    let mut login = act("adv4", day + 10 * H, "81.44.200.7", Act::Login { success: true });
    login.user_agent = Some("Chrome/133.0".into());
    an.observe(&login, &mut out);
    for i in 0..30 {
        let mut r = read("adv4", day + 10 * H + i * 110_000, "81.44.200.7", &[format!("stranger-{i}")]);
        r.user_agent = Some("Chrome/133.0".into());
        an.observe(&r, &mut out);
    }
    let fused = fired(&out, Detection::FusedEvidence);
    assert_eq!(fused.len(), 1, "{:?}", out.iter().map(|s| (s.detection, s.level, &s.reason)).collect::<Vec<_>>());
    assert!(fused[0].level >= Severity::High);
    assert_eq!(fused[0].evidence["ip"], "81.44.200.7", "the new source, for containment");
    assert!(fused[0].evidence["features"]["people"]["bits"].as_f64().unwrap() > 0.0);
    assert!(fused[0].evidence["features"]["access"]["bits"].as_f64().unwrap() > 0.0);
    // A colleague takes over a new caseload: new people at its usual pace,
    // from its usual address and browser.
    out.clear();
    for i in 0..9 {
        let mut r = read("adv5", day + 10 * H + i * 300_000, "81.45.5.20", &[format!("handover-{i}")]);
        r.user_agent = Some("Firefox/133.0".into());
        an.observe(&r, &mut out);
    }
    assert!(fired(&out, Detection::FusedEvidence).is_empty(), "{out:?}");
    assert!(out.iter().all(|s| s.level < Severity::High), "{out:?}");
}

#[test]
fn a_peer_wide_surge_and_a_new_egress_for_everyone_are_the_organisation() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    for u in 0..12 {
        workdays(&mut an, &format!("adv{u}"), 0, 11, 8, "217.108.13.44", "Firefox/133.0", &mut out);
    }
    out.clear();
    // Day 14: a campaign; every adviser reads four times as many people,
    // from the organisation's new egress.
    let day = MONDAY + 15 * 24 * H;
    for i in 0..40 {
        for u in 0..12 {
            let ev = read(
                &format!("adv{u}"),
                day + 10 * H + i * 80_000 + u * 1000,
                "62.210.7.9",
                &[format!("camp-{u}-{i}")],
            );
            an.observe(&ev, &mut out);
        }
    }
    let high: Vec<_> = out.iter().filter(|s| s.level >= Severity::High).map(|s| (&s.user, s.detection)).collect();
    assert!(high.is_empty(), "{high:?}");
    let distinct = fired(&out, Detection::DistinctSubjectsHour);
    assert!(distinct.iter().filter(|s| s.level == Severity::Low).count() >= 6, "the surge is seen, as low");
    let new = fired(&out, Detection::NewSource).len();
    assert!(new < 12, "once the egress is new to {new} accounts it is the organisation's");
}

#[test]
fn accounts_created_from_a_strange_context_are_the_intruders_persistence() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    habits(&mut an, "sup7", 14, 8, &mut out);
    out.clear();
    // 21h, from a network the help-desk agent never used: two accounts
    // created and granted a role, which then read at volume.
    let t = MONDAY + 15 * 24 * H + 21 * H;
    an.observe(&act("sup7", t, "185.100.87.219", Act::Login { success: true }), &mut out);
    an.observe(&act("sup7", t + 60_000, "185.100.87.219", Act::Create { target: "ext1".into() }), &mut out);
    an.observe(&act("sup7", t + 90_000, "185.100.87.219", Act::Grant { target: "ext1".into() }), &mut out);
    let created = fired(&out, Detection::RareAccountCreation);
    assert_eq!(created[0].level, Severity::High, "{:?}", created[0].evidence);
    assert_eq!(fired(&out, Detection::RarePrivilegeGrant)[0].level, Severity::High);
    out.clear();
    for i in 0..45 {
        an.observe(&read("ext1", t + 5 * 60_000 + i * 20_000, "185.100.87.219", &[format!("h-{i}")]), &mut out);
    }
    let young = fired(&out, Detection::NewAccountBulkRead);
    assert_eq!(young.len(), 1);
    assert_eq!(young[0].level, Severity::Critical);
}

/// An insider: from its usual desk, a help-desk agent that never created
/// an account creates one late in the evening, an hour it never works. The
/// account is suspect from its first reads, and is judged from the floor of
/// every bound; the same first creation in office hours is a new duty.
#[test]
fn a_first_creation_at_an_hour_the_creator_never_works_marks_the_account() {
    let young_reads = |hour: i64| {
        let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
        let mut out = Vec::new();
        habits(&mut an, "sup8", 14, 8, &mut out);
        out.clear();
        let t = MONDAY + 15 * 24 * H + hour * H;
        an.observe(&act("sup8", t, "217.108.13.44", Act::Login { success: true }), &mut out);
        an.observe(&act("sup8", t + 60_000, "217.108.13.44", Act::Create { target: "ext2".into() }), &mut out);
        for i in 0..32 {
            an.observe(&read("ext2", t + 5 * 60_000 + i * 30_000, "217.108.13.44", &[format!("k-{i}")]), &mut out);
        }
        let young: Vec<(Severity, f64)> = fired(&out, Detection::NewAccountBulkRead)
            .iter()
            .map(|s| (s.level, s.evidence["observed"].as_f64().unwrap()))
            .collect();
        young
    };
    let late = young_reads(22);
    assert_eq!(late.len(), 1, "{late:?}");
    assert_eq!(late[0].0, Severity::Critical);
    assert!(late[0].1 <= 26.0, "raised at the floor of every bound: {late:?}");
    assert!(young_reads(10).is_empty(), "a first creation in office hours is a new duty");
}

#[test]
fn memories_built_from_the_input_stay_bounded() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    // Hostile input: every account moves to a network of its own.
    for u in 0..110_000u32 {
        let user = format!("u{u}");
        an.observe(&act(&user, MONDAY + 9 * H, "217.108.13.44", Act::Login { success: true }), &mut out);
        let ip = format!("{}.{}.{}.9", 11 + u / 65_536, (u / 256) % 256, u % 256);
        an.observe(&act(&user, MONDAY + 10 * H, &ip, Act::Login { success: true }), &mut out);
    }
    assert!(an.org_nets.len() <= 100_000, "{}", an.org_nets.len());
}

#[test]
fn a_new_hire_growing_into_the_job_is_a_look_not_an_alarm() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    // Three advisers read about 30 people an hour; the new hire, in the same
    // agency and role, only 4 so far.
    for p in ["adv-p1", "adv-p2", "adv-p3"] {
        habits(&mut an, p, 14, 30, &mut out);
    }
    habits(&mut an, "adv-new", 14, 4, &mut out);
    out.clear();
    let t = MONDAY + 14 * 24 * H + 10 * H;
    // The new hire reads 55 people in an hour: twice its bound of 25, but
    // within what its peers read in an ordinary hour.
    for i in 0..55 {
        an.observe(&read("adv-new", t + i * 30_000, "217.108.13.44", &[format!("new-{i}")]), &mut out);
    }
    let mine: Vec<&Signal> = out.iter().filter(|s| s.user == "adv-new").collect();
    assert!(
        mine.iter().any(|s| s.detection == Detection::DistinctSubjectsHour),
        "still above its own past, so still worth a look: {mine:?}"
    );
    for s in &mine {
        if matches!(s.detection, Detection::DistinctSubjectsHour | Detection::OutsideWorkingSet) {
            assert_eq!(s.level, Severity::Medium, "{s:?} {mine:?}");
        }
    }
    out.clear();
    // An established adviser reading far more than its peers still alarms.
    for i in 0..160 {
        an.observe(&read("adv-p1", t + i * 10_000, "217.108.13.44", &[format!("far-{i}")]), &mut out);
    }
    let hour = fired(&out, Detection::DistinctSubjectsHour);
    assert!(hour.iter().any(|s| s.level >= Severity::High), "{hour:?}");
}

/// A live reload's new settings take over what was learned: the habits
/// still stand (harvesting is judged against the account's own baseline,
/// with the new, stricter levels), the accounts not yet checkpointed are
/// still written at the next checkpoint, unless the time zone changed, which
/// forgets every account (their schedules were learned in local hours).
#[test]
fn new_settings_keep_what_was_learned_unless_the_time_zone_changes() {
    let learned = || {
        let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
        let mut out = Vec::new();
        habits(&mut an, "adv1", 14, 12, &mut out);
        habits(&mut an, "adv2", 14, 12, &mut out);
        an
    };
    let harvest = |an: &mut Analytics| {
        let mut out = Vec::new();
        let t = MONDAY + 14 * 24 * H + 10 * H;
        for i in 0..60 {
            an.observe(&read("adv1", t + i * 5_000, "217.108.13.44", &[format!("victim-{i}")]), &mut out);
        }
        fired(&out, Detection::DistinctSubjectsHour)
            .iter()
            .map(|s| (s.level, s.evidence["basis"].clone()))
            .collect::<Vec<_>>()
    };
    // The same history and the same harvest: the running settings, and
    // stricter levels adopted by a reload.
    let before = harvest(&mut learned());
    let mut cfg = AnalyticsConfig::default();
    cfg.distinct.levels = [1.0, 1.05, 1.1];
    let mut fresh = Analytics::new(cfg.clone()).unwrap();
    assert_eq!(fresh.adopt(learned()), 0);
    assert_eq!(fresh.accounts.len(), 2);
    let written = fresh.take_changes();
    assert_eq!(written.iter().filter(|(_, a)| a.is_some()).count(), 2, "learned, not yet checkpointed, still written");
    let after = harvest(&mut fresh);
    assert!(!before.is_empty() && before.iter().all(|(_, b)| b == "own"), "{before:?}");
    assert!(after.iter().all(|(_, b)| b == "own"), "judged against the learned baseline: {after:?}");
    assert!(after.len() > before.len(), "the new levels apply: {before:?} then {after:?}");

    cfg.timezone = "America/New_York".into();
    let mut moved = Analytics::new(cfg).unwrap();
    assert_eq!(moved.adopt(fresh), 2);
    assert!(moved.accounts.is_empty());
    let forgotten: Vec<_> = moved.take_changes().into_iter().filter(|(_, a)| a.is_none()).map(|(n, _)| n).collect();
    assert_eq!(forgotten.len(), 2, "forgotten in the store too: {forgotten:?}");
}

/// Thirty advisers in five agencies, eleven days: the role's habits.
fn role_world(an: &mut Analytics) {
    let mut o = Vec::new();
    for u in 0..30 {
        let user = format!("adv{u}");
        for d in 0..11 {
            let day = MONDAY + d * 24 * H;
            if d % 7 >= 5 {
                continue;
            }
            for h in 9..17 {
                for i in 0..6 + (u + h) % 4 {
                    let id = format!("{user}-{}", (h * 7 + i) % 60);
                    let mut r = read(&user, day + h * H + i * 50_000, "81.40.1.20", &[id]);
                    r.group = Some(format!("agence-{}", u % 5));
                    an.observe(&r, &mut o);
                }
            }
        }
    }
}

/// A read by `pro1`, a professional of the firm `cabinet-x`.
fn pro(ts: i64, ip: &str, ua: &str, id: String) -> Activity {
    let mut r = read("pro1", ts, ip, &[id]);
    r.group = Some("cabinet-x".into());
    r.user_agent = Some(ua.into());
    r
}

/// A professional of a three-person firm works a morning now and then: its
/// own habits and its firm's are never learned in two weeks. Its role in
/// every other firm is the reference, and a use from a provider it never
/// used that reads beyond that bound is high at once, critical at twice.
#[test]
fn a_rarely_active_account_is_judged_against_its_role_and_its_stolen_credentials_are_graver() {
    let t = MONDAY + 10 * 24 * H + 10 * H;
    // Two mornings from its office, a few people each; an hour before the
    // attack its owner logs in (its last morning's hour is learned).
    let world = || {
        let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
        role_world(&mut an);
        let mut out = Vec::new();
        for d in [1, 8] {
            for i in 0..8 {
                let ts = MONDAY + d * 24 * H + 10 * H + i * 300_000;
                an.observe(&pro(ts, "90.12.7.3", "Firefox/133.0", format!("c-{i}")), &mut out);
            }
        }
        let mut login = act("pro1", t - H, "90.12.7.3", Act::Login { success: true });
        login.group = Some("cabinet-x".into());
        an.observe(&login, &mut out);
        assert!(out.iter().all(|s| s.level < Severity::High), "{out:?}");
        an
    };
    let mut an = world();
    let role_before = an.shared().peers["*/advisor"];
    // Day 10, 10h: someone else, from another provider and browser, reads
    // a stranger every 20 seconds.
    let mut out = Vec::new();
    for i in 0..150 {
        an.observe(&pro(t + i * 20_000, "185.220.9.14", "Chrome/120.0", format!("s-{i}")), &mut out);
    }
    let hour = fired(&out, Detection::DistinctSubjectsHour);
    let levels: Vec<Severity> = hour.iter().map(|s| s.level).collect();
    assert_eq!(
        levels,
        vec![Severity::High, Severity::Critical],
        "{:?}",
        hour.iter().map(|s| &s.reason).collect::<Vec<_>>()
    );
    assert_eq!(hour[0].evidence["basis"], "peers");
    assert_eq!(hour[0].evidence["peers"]["group"], "*/advisor", "the role across firms, not the firm");
    assert_eq!(hour[0].evidence["new_provider_this_hour"], true);
    assert!(hour[0].evidence["observed"].as_f64().unwrap() < 60.0, "raised at the role's bound, not the default 60");
    assert!(hour[0].reason.contains("provider or country the account never used"));
    // The next hour closes the attack's: neither the firm's, the role's nor
    // everyone's habits learned it.
    an.observe(&pro(t + 2 * H, "185.220.9.14", "Chrome/120.0", "s-x".into()), &mut out);
    let peers = an.shared().peers;
    assert_eq!(peers["*/advisor"], role_before, "an alarming hour teaches no peers");
    assert!(peers.get("cabinet-x/advisor").is_none_or(|b| b.mean < 20.0), "{peers:?}");

    // An account seen on one day only: "a provider it never used" means
    // little yet, and the reads are judged as any account's.
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    role_world(&mut an);
    let mut out = Vec::new();
    for i in 0..8 {
        an.observe(&pro(t - 24 * H + i * 300_000, "90.12.7.3", "Firefox/133.0", format!("c-{i}")), &mut out);
    }
    for i in 0..150 {
        an.observe(&pro(t + i * 20_000, "185.220.9.14", "Chrome/120.0", format!("s-{i}")), &mut out);
    }
    let hour = fired(&out, Detection::DistinctSubjectsHour);
    assert_eq!(hour[0].level, Severity::Medium, "{:?}", hour.iter().map(|s| &s.reason).collect::<Vec<_>>());
    assert_eq!(hour[0].evidence["new_provider_this_hour"], false);

    // The same reads from the professional's own office: medium at the
    // bound, as for any account.
    let mut an = world();
    let mut out = Vec::new();
    for i in 0..150 {
        an.observe(&pro(t + i * 20_000, "90.12.7.3", "Firefox/133.0", format!("s-{i}")), &mut out);
    }
    let hour = fired(&out, Detection::DistinctSubjectsHour);
    assert_eq!(hour[0].level, Severity::Medium, "{:?}", hour.iter().map(|s| &s.reason).collect::<Vec<_>>());
    assert_eq!(hour[0].evidence["new_provider_this_hour"], false);
}

/// An administrator who creates accounts as its job logs in at night from a
/// network it never used, and creates accounts over the next hour: each act
/// is reported (its job, but not from there), each account is created from
/// that fresh network, even in an hour with no login of its own, and each
/// is judged from the floor of every bound when it reads.
#[test]
fn creations_an_hour_after_a_login_from_a_new_network_still_come_from_it() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    habits(&mut an, "iam3", 14, 8, &mut out);
    // Its usual creations: office hours, its usual desk.
    for d in [14, 15] {
        let t = MONDAY + d * 24 * H + 11 * H + 30 * 60_000;
        an.observe(&act("iam3", t, "217.108.13.44", Act::Create { target: format!("hire{d}") }), &mut out);
        an.observe(&act("iam3", t + 60_000, "217.108.13.44", Act::Grant { target: format!("hire{d}") }), &mut out);
    }
    assert_eq!(fired(&out, Detection::IamFromNewSource).len(), 0, "its usual creations, from its desk");
    out.clear();
    let t = MONDAY + 16 * 24 * H + 21 * H + 50 * 60_000;
    an.observe(&act("iam3", t, "185.100.87.219", Act::Login { success: true }), &mut out);
    // 22:05: the next hour, and no login in it.
    let c = t + 15 * 60_000;
    an.observe(&act("iam3", c, "185.100.87.219", Act::Create { target: "ext9".into() }), &mut out);
    an.observe(&act("iam3", c + 60_000, "185.100.87.219", Act::Grant { target: "ext9".into() }), &mut out);
    assert!(fired(&out, Detection::RareAccountCreation).is_empty(), "creating accounts is its job");
    // But not from there: the creation and the grant are each reported, high.
    let iam: Vec<(Severity, &str)> = fired(&out, Detection::IamFromNewSource)
        .iter()
        .map(|s| (s.level, s.evidence["ip"].as_str().unwrap_or_default()))
        .collect();
    assert_eq!(iam, vec![(Severity::High, "185.100.87.219"); 2], "{out:?}");
    out.clear();
    for i in 0..30 {
        an.observe(&read("ext9", c + 5 * 60_000 + i * 20_000, "185.100.87.219", &[format!("x-{i}")]), &mut out);
    }
    let young = fired(&out, Detection::NewAccountBulkRead);
    assert_eq!(young.len(), 1, "{out:?}");
    assert_eq!(young[0].level, Severity::Critical);
    assert_eq!(young[0].evidence["created_strangely"], true);
    assert!(young[0].evidence["observed"].as_f64().unwrap() <= 26.0, "{:?}", young[0].evidence);
}

/// An intruder's first act is often one wide search: two reads, twenty
/// people never read, from a provider and a client the account never
/// used. The fusion judges that hour on its people, not only on its count
/// of reads.
#[test]
fn one_wide_search_from_a_stranger_is_judged_by_the_fusion() {
    let mut an = fusion_world();
    let mut out = Vec::new();
    let day = MONDAY + 15 * 24 * H;
    let mut login = act("adv7", day + 14 * H, "198.51.100.7", Act::Login { success: true });
    login.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into());
    an.observe(&login, &mut out);
    let ids: Vec<String> = (0..20).map(|i| format!("listed-{i}")).collect();
    let mut search = read("adv7", day + 14 * H + 60_000, "198.51.100.7", &ids);
    search.user_agent = login.user_agent.clone();
    an.observe(&search, &mut out);
    let fused = fired(&out, Detection::FusedEvidence);
    assert_eq!(fused.len(), 1, "{:?}", out.iter().map(|s| (s.detection, s.level, &s.reason)).collect::<Vec<_>>());
    assert!(fused[0].level >= Severity::High);
    // One read of a few people stays unjudged: too little to weigh.
    out.clear();
    let mut login = act("adv8", day + 14 * H, "198.51.100.8", Act::Login { success: true });
    login.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into());
    an.observe(&login, &mut out);
    let few: Vec<String> = (0..3).map(|i| format!("few-{i}")).collect();
    an.observe(&read("adv8", day + 14 * H + 60_000, "198.51.100.8", &few), &mut out);
    assert!(fired(&out, Detection::FusedEvidence).is_empty(), "{out:?}");
}

/// The owner works at its desk; minutes later the account logs in from a
/// provider and a client it never used: the credentials in two pairs of
/// hands. High at the login, before the first read. The same login half an
/// hour after the owner's last act, or a new network of the owner's own
/// provider, is an ordinary new source.
#[test]
fn a_stranger_login_minutes_after_the_owner_worked_is_high() {
    let new_source = |gap_min: i64, ip: &str| {
        let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
        let mut out = Vec::new();
        habits(&mut an, "adv9", 14, 8, &mut out);
        let day = MONDAY + 15 * 24 * H;
        for i in 0..8 {
            an.observe(
                &read("adv9", day + 10 * H + i * 60_000, "217.108.13.44", &[format!("adv9-case-{i}")]),
                &mut out,
            );
        }
        out.clear();
        let mut login = act("adv9", day + 10 * H + (7 + gap_min) * 60_000, ip, Act::Login { success: true });
        login.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into());
        an.observe(&login, &mut out);
        let new = fired(&out, Detection::NewSource);
        assert_eq!(new.len(), 1, "{out:?}");
        (new[0].level, new[0].evidence.get("in_use_elsewhere_ms_before").cloned(), new[0].reason.clone())
    };
    let (level, gap, reason) = new_source(3, "198.51.100.7");
    assert_eq!(level, Severity::High, "{reason}");
    assert_eq!(gap, Some(serde_json::json!(180_000)));
    assert!(reason.contains("two people may be using it"), "{reason}");
    let (level, gap, _) = new_source(30, "198.51.100.7");
    assert_eq!(level, Severity::Medium, "half an hour later: the owner may have gone home");
    assert_eq!(gap, Some(serde_json::Value::Null));
    let (level, _, _) = new_source(3, "217.108.99.7");
    assert!(level <= Severity::Medium, "a new network of its own provider");
}

/// The morning its site's egress changed, an IT administrator who never
/// created an account creates one, at its usual hour and with its usual
/// browser, from the new address: a new duty seen from a new place, worth
/// a look, not a suspension. The same from a client it never used is high.
#[test]
fn a_first_creation_from_a_new_network_at_the_usual_hour_and_client_is_a_look() {
    let first_creation = |ua: &str| {
        let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
        let mut out = Vec::new();
        habits(&mut an, "it4", 14, 8, &mut out);
        out.clear();
        let t = MONDAY + 15 * 24 * H + 9 * H + 5 * 60_000;
        let mut login = act("it4", t, "198.51.100.40", Act::Login { success: true });
        login.user_agent = Some(ua.into());
        an.observe(&login, &mut out);
        for (i, a) in
            [Act::Create { target: "hire9".into() }, Act::Grant { target: "hire9".into() }].into_iter().enumerate()
        {
            let mut e = act("it4", t + (5 + i as i64) * 60_000, "198.51.100.40", a);
            e.user_agent = Some(ua.into());
            an.observe(&e, &mut out);
        }
        let c = fired(&out, Detection::RareAccountCreation)[0].clone();
        let g = fired(&out, Detection::RarePrivilegeGrant)[0].clone();
        (c, g)
    };
    let (c, g) = first_creation("Firefox");
    assert_eq!((c.level, g.level), (Severity::Medium, Severity::Medium), "{}", c.reason);
    assert_eq!(c.evidence["new_network"], true);
    assert_eq!(c.evidence["strange_place"], false);
    assert!(c.reason.contains("usual hours"), "{}", c.reason);
    let (c, g) = first_creation("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0");
    assert_eq!((c.level, g.level), (Severity::High, Severity::High), "{}", c.reason);
    assert_eq!(c.evidence["strange_place"], true);
}

/// An administrator's usual creations from a new network at its usual hour
/// and with its usual client, or from a network other accounts also took up
/// today (the organisation's new egress), are its day's work, not an
/// intruder's.
#[test]
fn an_administrator_at_work_from_a_new_network_is_not_reported() {
    let run = |colleague_first: bool, ua: &str| {
        let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
        let mut out = Vec::new();
        habits(&mut an, "iam5", 14, 8, &mut out);
        habits(&mut an, "adv6", 14, 8, &mut out);
        let day = MONDAY + 15 * 24 * H;
        an.observe(&act("iam5", day + 10 * H, "217.108.13.44", Act::Create { target: "hire1".into() }), &mut out);
        out.clear();
        if colleague_first {
            an.observe(&act("adv6", day + 13 * H, "62.210.7.9", Act::Login { success: true }), &mut out);
        }
        let t = day + 14 * H;
        let acts = [
            Act::Login { success: true },
            Act::Create { target: "hire2".into() },
            Act::Grant { target: "hire2".into() },
        ];
        for (i, a) in acts.into_iter().enumerate() {
            let mut e = act("iam5", t + i as i64 * 60_000, "62.210.7.10", a);
            e.user_agent = Some(ua.into());
            an.observe(&e, &mut out);
        }
        fired(&out, Detection::IamFromNewSource).len()
    };
    let stranger = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0";
    assert_eq!(run(false, "Firefox"), 0, "its usual hour and client");
    assert_eq!(run(true, stranger), 0, "a network other accounts took up today");
    // (Its first grant is reported as the rare grant.)
    assert_eq!(run(false, stranger), 1, "a provider and a client it never used");
}

/// The "owner at its desk" escalation needs the owner to have been on a
/// network it had settled on: minutes after it first used a new one (a
/// train, a café), a stranger's login is an ordinary new source.
#[test]
fn a_stranger_login_after_the_owner_moved_to_a_new_network_is_not_concurrency() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    habits(&mut an, "adv10", 14, 8, &mut out);
    let day = MONDAY + 15 * 24 * H;
    an.observe(&read("adv10", day + 10 * H, "217.108.99.3", &["adv10-case-1".to_string()]), &mut out);
    out.clear();
    let mut login = act("adv10", day + 10 * H + 3 * 60_000, "198.51.100.7", Act::Login { success: true });
    login.user_agent = Some("Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0".into());
    an.observe(&login, &mut out);
    let new = fired(&out, Detection::NewSource);
    assert_eq!(new.len(), 1, "{out:?}");
    assert_eq!(new[0].level, Severity::Medium, "{}", new[0].reason);
    assert!(new[0].evidence["in_use_elsewhere_ms_before"].is_null());
}

/// An administrator seen for an hour a day on five days has never been
/// seen at most hours of the week: its first creation at 09:30 is not "at
/// an hour it never works", and the account it made is judged as any new
/// account, not from the floor.
#[test]
fn an_hour_never_seen_means_nothing_for_an_administrator_seen_a_few_hours() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    for d in 0..5 {
        let t = MONDAY + d * 24 * H + 14 * H;
        an.observe(&act("adm2", t, "217.108.13.44", Act::Login { success: true }), &mut out);
        an.observe(&read("adm2", t + 60_000, "217.108.13.44", &[format!("adm2-{d}")]), &mut out);
    }
    out.clear();
    let t = MONDAY + 7 * 24 * H + 9 * H + 30 * 60_000;
    an.observe(&act("adm2", t, "217.108.13.44", Act::Create { target: "hire5".into() }), &mut out);
    for i in 0..30 {
        an.observe(&read("hire5", t + H + i * 60_000, "217.108.13.44", &[format!("h5-{i}")]), &mut out);
    }
    assert!(fired(&out, Detection::NewAccountBulkRead).is_empty(), "{out:?}");
    assert!(out.iter().all(|s| s.level < Severity::High), "{out:?}");
}

/// A self-service reset ("forgot my password") arms the reset path as a
/// help-desk reset does: the next login from a new network is reported.
#[test]
fn a_self_service_reset_arms_the_reset_path() {
    let mut an = Analytics::new(AnalyticsConfig::default()).unwrap();
    let mut out = Vec::new();
    habits(&mut an, "adv11", 14, 8, &mut out);
    out.clear();
    let t = MONDAY + 15 * 24 * H + 20 * H;
    an.observe(&act("adv11", t, "217.108.13.44", Act::Reset { target: "adv11".into() }), &mut out);
    an.observe(&act("adv11", t + 10 * 60_000, "198.51.100.9", Act::Login { success: true }), &mut out);
    let reset = fired(&out, Detection::ResetThenNewSource);
    assert_eq!(reset.len(), 1, "{out:?}");
    assert_eq!(reset[0].evidence["new_network"], true);
}
