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

/// Issue 16: a response webhook that hangs stalled the engine about 41 s per
/// incident, and its calls were recorded "failed: unreachable" though the
/// receiver got each one. Now each call has its timeout, runs off the
/// detection path, is not resent once sent, and is recorded `unknown`.
#[test]
fn a_hung_response_webhook_is_recorded_unknown_and_called_once() {
    use std::sync::atomic::Ordering;
    let dir = tempfile::tempdir().unwrap();
    // Accepts, reads, never answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = l.local_addr().unwrap().to_string();
    let got = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let g = got.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let _ = c.set_read_timeout(Some(std::time::Duration::from_millis(500)));
            let mut buf = [0u8; 8192];
            if matches!(std::io::Read::read(&mut c, &mut buf), Ok(n) if n > 0) {
                g.fetch_add(1, Ordering::SeqCst);
            }
            held.push(c);
        }
    });
    let port = common::free_port();
    let actions = dir.path().join("actions.jsonl");
    let mut cfg = format!(
        "[rules]\npaths = [{rules:?}]\n[engine]\nstate_dir = {state:?}\ncheckpoint_interval = \"200ms\"\n[server]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"t\"\n[[inputs]]\ntype = \"http\"\n[[action_sinks]]\ntype = \"jsonl\"\npath = {actions:?}\n[[response.when]]\nkinds = [\"correlation\"]\nlevel = \"high\"\nactions = [\"suspend_user\", \"create_ticket\"]\n",
        rules = common::rules_dir(),
        state = dir.path().join("state").display().to_string(),
        actions = actions.display().to_string(),
    );
    for a in ["suspend_user", "create_ticket"] {
        cfg.push_str(&format!(
            "[response.actions.{a}]\nurl = \"http://{hook}/{a}\"\nsecret = \"k\"\nmax_retries = 3\ntimeout = \"200ms\"\n"
        ));
    }
    let e = common::Running::start(&cfg);
    let (status, reply) = common::http(
        &e.addr,
        "POST",
        "/ingest",
        &[("Authorization", "Bearer t"), ("Content-Type", "application/x-ndjson")],
        common::auth_sample().as_bytes(),
    );
    assert_eq!(status, 200, "{reply}");
    let s = e.finish();
    assert_eq!(s.actions.get("unknown"), Some(&3), "{s:?}");
    let acts = common::alerts(&actions);
    assert_eq!(acts.len(), 3);
    for a in &acts {
        assert_eq!(a["action"]["status"], "unknown", "{a}");
        assert!(a["action"]["reason"].as_str().unwrap().contains("outcome unknown"), "{a}");
    }
    // Each call reached the receiver once: a call that may have been carried
    // out is not sent again.
    assert_eq!(got.load(Ordering::SeqCst), 3);
}
