//! `replay`: files through the engine, deterministic, with correlations.

mod common;
use common::*;
use vigie_runtime::config::Config;

fn config() -> Config {
    Config::parse(&format!("[rules]\npaths = [{:?}]\n", rules_dir())).unwrap()
}

#[test]
fn replay_finds_the_three_authentication_attacks() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let s = vigie_runtime::replay(&config(), &[repo().join("samples/app/auth-attacks.jsonl")], &out, None).unwrap();
    assert_eq!(s.events, 25);
    let a = alerts(&out);
    let names: Vec<&str> = a.iter().map(|x| x["rule"]["name"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        vec![
            "Password Spraying From One Source",
            "Successful Logon After Repeated Failures",
            "Failed Logons Staying Below the Lockout Threshold"
        ]
    );
    for x in &a {
        assert_eq!(x["alert"]["kind"], "correlation");
        assert_eq!(x["rule"]["author"], "vigie");
        assert!(!x["events"].as_array().unwrap().is_empty(), "triggering events are listed");
        assert!(x["evidence"]["window"]["start"].is_string());
    }
    assert_eq!(a[0]["source"]["ip"], "198.51.100.7");
    assert_eq!(a[1]["user"]["name"], "adv00077");
    assert_eq!(a[2]["evidence"]["metric"]["value"], 3.0);
}

#[test]
fn a_replay_is_deterministic() {
    let dir = tempfile::tempdir().unwrap();
    let inputs = [repo().join("samples")];
    let (one, two) = (dir.path().join("1.jsonl"), dir.path().join("2.jsonl"));
    let cfg = Config::default();
    vigie_runtime::replay(&cfg, &inputs, &one, None).unwrap();
    vigie_runtime::replay(&cfg, &inputs, &two, None).unwrap();
    let (a, b) = (std::fs::read(&one).unwrap(), std::fs::read(&two).unwrap());
    assert!(!a.is_empty());
    assert_eq!(a, b, "same input, same alerts, same ids");
}

#[test]
fn repeats_merge_into_one_alert_with_a_count() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("exports.jsonl");
    let mut lines = String::new();
    for i in 0..5 {
        lines.push_str(&format!(
            "{{\"@timestamp\":\"2026-03-02T20:0{i}:00Z\",\"event\":{{\"category\":[\"database\"],\"type\":[\"access\"],\"action\":\"export\",\"dataset\":\"portal.audit\"}},\"user\":{{\"name\":\"adv9\"}},\"source\":{{\"ip\":\"192.0.2.1\"}},\"data_subject\":{{\"count\":5000}}}}\n"
        ));
    }
    std::fs::write(&input, lines).unwrap();
    let out = dir.path().join("alerts.jsonl");
    let s = vigie_runtime::replay(&config(), &[input], &out, None).unwrap();
    // The behaviour analytics see the exports too; this test is about the
    // Sigma rule's repeats.
    let a: Vec<_> = alerts(&out).into_iter().filter(|a| a["alert"]["kind"] == "sigma").collect();
    assert_eq!(a.len(), 2, "the first sight, then its final tally: {a:?}");
    assert_eq!(a[0]["alert"]["status"], "new");
    assert_eq!(a[1]["alert"]["status"], "updated");
    assert_eq!(a[0]["alert"]["id"], a[1]["alert"]["id"]);
    assert_eq!(a[1]["alert"]["count"], 5);
    assert_eq!(s.merged, 4);
}

#[test]
fn suppressions_silence_and_count() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("alerts.jsonl");
    let cfg = Config::parse(&format!(
        "[rules]\npaths = [{:?}]\n[[suppressions]]\nrule = \"Password Spraying From One Source\"\nsource_ip = \"198.51.100.7\"\nexpires = \"2030-01-01T00:00:00Z\"\nreason = \"red-team exercise\"\n",
        rules_dir()
    ))
    .unwrap();
    let s = vigie_runtime::replay(&cfg, &[repo().join("samples/app/auth-attacks.jsonl")], &out, None).unwrap();
    assert_eq!(alerts(&out).len(), 2);
    assert_eq!(s.suppressed, 1);
}

#[test]
fn replay_records_actions_but_never_calls_a_webhook() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = Config::parse(&format!(
        "[rules]\npaths = [{:?}]\n[[response.when]]\nkinds = [\"correlation\"]\nlevel = \"high\"\nactions = [\"suspend_user\", \"create_ticket\"]\n[response.actions.suspend_user]\nurl = \"http://127.0.0.1:9/never-called\"\nsecret = \"k\"\n",
        rules_dir()
    ))
    .unwrap();
    let input = [repo().join("samples/app/auth-attacks.jsonl")];
    let (alerts_out, actions_out) = (dir.path().join("alerts.jsonl"), dir.path().join("actions.jsonl"));
    let s = vigie_runtime::replay(&cfg, &input, &alerts_out, Some(&actions_out)).unwrap();
    let first = std::fs::read(&actions_out).unwrap();
    let acts = alerts(&actions_out);
    let types: Vec<(&str, &str)> =
        acts.iter().map(|a| (a["action"]["type"].as_str().unwrap(), a["action"]["status"].as_str().unwrap())).collect();
    // Two high alerts: spraying (no account: a ticket only) and the success
    // after failures (account adv00077: suspended, dry, and a ticket).
    assert_eq!(types, vec![("create_ticket", "dry_run"), ("suspend_user", "dry_run"), ("create_ticket", "dry_run")]);
    assert_eq!(acts[1]["user"]["name"], "adv00077");
    assert_eq!(s.actions.get("dry_run"), Some(&3));
    // Every action names an alert of the alert file.
    let ids: Vec<String> = alerts(&alerts_out).iter().map(|a| a["alert"]["id"].as_str().unwrap().to_string()).collect();
    assert!(acts.iter().all(|a| ids.contains(&a["alert"]["id"].as_str().unwrap().to_string())));
    vigie_runtime::replay(&cfg, &input, &alerts_out, Some(&actions_out)).unwrap();
    assert_eq!(std::fs::read(&actions_out).unwrap(), first, "deterministic");
}

/// Issue 16: one event dated 2099 (or `1e300`) made every later event late.
#[test]
fn one_event_from_the_future_does_not_make_the_rest_late() {
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read_to_string(repo().join("samples/app/auth-attacks.jsonl")).unwrap();
    let lines: Vec<&str> = sample.lines().collect();
    let outlier = |t: &str| {
        format!(
            "{{\"@timestamp\":{t},\"event\":{{\"category\":[\"authentication\"],\"type\":[\"start\"],\"action\":\"user_login\",\"outcome\":\"failure\",\"dataset\":\"portal.auth\"}},\"user\":{{\"name\":\"x\"}},\"source\":{{\"ip\":\"192.0.2.9\"}}}}"
        )
    };
    for (name, t, at) in
        [("first", "\"2099-01-01T00:00:00Z\"", 0), ("epoch", "1e300", 0), ("middle", "\"2099-01-01T00:00:00Z\"", 10)]
    {
        let mut text: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
        text.insert(at, outlier(t));
        let input = dir.path().join(format!("{name}.jsonl"));
        std::fs::write(&input, text.join("\n") + "\n").unwrap();
        let out = dir.path().join(format!("{name}-alerts.jsonl"));
        let s = vigie_runtime::replay(&config(), &[input], &out, None).unwrap();
        let correlations = alerts(&out).iter().filter(|a| a["alert"]["kind"] == "correlation").count();
        assert_eq!(correlations, 3, "{name}: {s:?}");
        assert_eq!(s.late, 0, "{name}");
        assert_eq!(s.clamped, 1, "{name}: the outlier is counted");
    }
}

/// A legitimate jump (a second file a month later) is confirmed by the
/// events after it: their times are kept, nothing is clamped.
#[test]
fn a_confirmed_jump_in_event_time_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let sample = std::fs::read_to_string(repo().join("samples/app/auth-attacks.jsonl")).unwrap();
    let later = sample.replace("2026-03-02", "2026-04-02");
    let input = dir.path().join("two.jsonl");
    std::fs::write(&input, format!("{sample}{later}")).unwrap();
    let out = dir.path().join("alerts.jsonl");
    let s = vigie_runtime::replay(&config(), &[input], &out, None).unwrap();
    assert_eq!(s.clamped, 0);
    assert_eq!(s.late, 0);
    let c: Vec<_> = alerts(&out).into_iter().filter(|a| a["alert"]["kind"] == "correlation").collect();
    assert_eq!(c.len(), 6);
    assert!(c[3]["@timestamp"].as_str().unwrap().starts_with("2026-04-02"));
}
