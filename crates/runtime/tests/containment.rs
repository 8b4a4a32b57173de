//! The whole way, with the bundled content: a simulated France Travail
//! attack is replayed; the analytics raise an incident on the victim's
//! account, and the bundled response policy suspends it (dry run, as no
//! webhook is configured) within minutes of the first malicious read.

mod common;
use vigie_runtime::config::Config;

#[test]
fn a_simulated_takeover_ends_in_a_suspension_of_the_victim() {
    let dir = tempfile::tempdir().unwrap();
    let (events, truth) = common::simulated_takeover(dir.path());
    let s = &truth.scenarios[0];
    let victim = &s.accounts[0];
    let (alerts, actions) = (dir.path().join("alerts.jsonl"), dir.path().join("actions.jsonl"));
    let summary = vigie_runtime::replay(&Config::default(), &[events], &alerts, Some(&actions)).unwrap();
    assert!(summary.alerts_by_kind.get("incident").copied().unwrap_or(0) >= 1, "{summary:?}");

    let alerts = common::alerts(&alerts);
    let incident = alerts
        .iter()
        .find(|a| a["alert"]["kind"] == "incident" && a["user"]["name"] == victim.as_str())
        .expect("an incident on the victim");
    assert!(incident["evidence"]["signals"].as_array().unwrap().len() >= 2, "it names the signals behind it");
    assert_eq!(incident["rule"]["author"], "vigie");

    let actions = common::alerts(&actions);
    let suspend = actions
        .iter()
        .find(|a| a["action"]["type"] == "suspend_user" && a["user"]["name"] == victim.as_str())
        .expect("the victim is suspended");
    assert_eq!(suspend["action"]["status"], "dry_run");
    assert_eq!(suspend["alert"]["kind"], "incident");
    let at: jiff::Timestamp = suspend["@timestamp"].as_str().unwrap().parse().unwrap();
    let first_read = s.reads.first().unwrap().0;
    let taken = s.reads.iter().filter(|r| r.0 < at.as_millisecond()).count();
    assert!(at.as_millisecond() - first_read < 15 * 60_000, "contained within 15 minutes of the first read");
    assert!(taken < 200, "{taken} records read before containment");
    // The attacker's address was new for the account: it is blocked too.
    let block =
        actions.iter().find(|a| a["action"]["type"] == "block_ip" && a["alert"]["id"] == suspend["alert"]["id"]);
    assert_eq!(block.map(|b| b["action"]["status"].clone()), Some(serde_json::json!("dry_run")));
    // No one else was suspended by the bundled policy.
    let others: Vec<_> = actions
        .iter()
        .filter(|a| a["action"]["type"] == "suspend_user" && a["user"]["name"] != victim.as_str())
        .collect();
    assert!(others.is_empty(), "{others:?}");
}

#[test]
fn a_configured_geoip_database_feeds_impossible_travel() {
    let dir = tempfile::tempdir().unwrap();
    let mmdb = common::repo().join("crates/analytics/tests/data/geo-test.mmdb");
    let yml = dir.path().join("analytics.yml");
    std::fs::write(&yml, format!("geoip: {}\n", mmdb.display())).unwrap();
    let events = dir.path().join("logins.jsonl");
    let login = |t: &str, ip: &str| {
        format!(
            "{{\"@timestamp\":\"{t}\",\"event\":{{\"category\":[\"authentication\"],\"type\":[\"start\"],\"outcome\":\"success\"}},\"user\":{{\"name\":\"adv7\"}},\"source\":{{\"ip\":\"{ip}\"}}}}\n"
        )
    };
    std::fs::write(
        &events,
        login("2026-03-02T09:00:00Z", "192.0.2.10") + &login("2026-03-02T09:40:00Z", "198.51.100.7"),
    )
    .unwrap();
    let out = dir.path().join("alerts.jsonl");
    let cfg = Config::parse(&format!("[analytics]\npath = {:?}\n", yml.display().to_string())).unwrap();
    vigie_runtime::replay(&cfg, std::slice::from_ref(&events), &out, None).unwrap();
    let travel: Vec<_> =
        common::alerts(&out).into_iter().filter(|a| a["rule"]["id"] == "vigie-analytics-impossible-travel").collect();
    assert_eq!(travel.len(), 1);
    assert!(travel[0]["evidence"]["distance_km"].as_f64().unwrap() > 10_000.0);
    // Without a database (and no source.geo in the events) it stays silent.
    vigie_runtime::replay(&Config::default(), &[events], &out, None).unwrap();
    assert!(common::alerts(&out).iter().all(|a| a["rule"]["id"] != "vigie-analytics-impossible-travel"));
}
