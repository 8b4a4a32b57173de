//! The response policy's decisions, on alerts shaped like the engine's.

use serde_json::{Map, json};
use vigie_alert::{Alert, AlertHeader, AlertKind, RuleRef, SourceRef, Status, UserRef};
use vigie_respond::{ActionStatus, ActionType, ConfigError, Planned, Policy, ResponseConfig};

fn alert(kind: AlertKind, level: &str, user: &str, ip: &str, ts: &str, id: &str) -> Alert {
    Alert {
        timestamp: ts.into(),
        alert: AlertHeader {
            id: id.into(),
            kind,
            status: Status::New,
            count: 1,
            first_seen: ts.into(),
            last_seen: ts.into(),
        },
        rule: RuleRef {
            id: "vigie-risk".into(),
            name: "Account risk".into(),
            level: level.parse().unwrap(),
            author: "vigie".into(),
            tags: vec![],
        },
        user: Some(UserRef { name: user.into() }),
        source: Some(SourceRef { ip: ip.into() }),
        reason: "risk 120 crossed 100".into(),
        evidence: Map::new(),
        events: vec![],
        event: None,
    }
}

fn no_env(_: &str) -> Option<String> {
    None
}

fn decide(p: &mut Policy, a: &Alert) -> Vec<Planned> {
    let mut out = Vec::new();
    p.decide(a, &mut out);
    out
}

fn status_of(out: &[Planned], t: ActionType) -> Option<ActionStatus> {
    out.iter().find(|p| p.record.action.kind == t).map(|p| p.record.action.status)
}

#[test]
fn bundled_policy_suspends_a_human_on_an_incident_dry_when_no_webhook() {
    let mut p = Policy::new(&ResponseConfig::default(), &no_env).unwrap();
    let out = decide(
        &mut p,
        &alert(AlertKind::Incident, "high", "adv00042", "203.0.113.9", "2026-03-02T21:00:00.000Z", "a1"),
    );
    assert_eq!(status_of(&out, ActionType::SuspendUser), Some(ActionStatus::DryRun));
    assert_eq!(status_of(&out, ActionType::RevokeSessions), Some(ActionStatus::DryRun));
    assert_eq!(status_of(&out, ActionType::CreateTicket), Some(ActionStatus::DryRun));
    // Blocking an address may cut off an office: it waits for a person.
    assert_eq!(status_of(&out, ActionType::BlockIp), Some(ActionStatus::PendingApproval));
    let rec = serde_json::to_value(&out[0].record).unwrap();
    assert_eq!(rec["action"]["type"], "suspend_user");
    assert_eq!(rec["action"]["status"], "dry_run");
    assert_eq!(rec["user"]["name"], "adv00042");
    assert_eq!(rec["source"]["ip"], "203.0.113.9");
    assert_eq!(rec["alert"]["id"], "a1");
    assert_eq!(rec["@timestamp"], "2026-03-02T21:00:00.000Z");
    assert!(out.iter().all(|p| p.call.is_none()));
}

#[test]
fn lesser_alerts_and_merged_tallies_do_not_act() {
    let mut p = Policy::new(&ResponseConfig::default(), &no_env).unwrap();
    assert!(
        decide(&mut p, &alert(AlertKind::Incident, "medium", "u", "198.51.100.1", "2026-03-02T21:00:00Z", "a"))
            .is_empty()
    );
    assert!(
        decide(&mut p, &alert(AlertKind::Sigma, "critical", "u", "198.51.100.1", "2026-03-02T21:00:00Z", "b"))
            .is_empty()
    );
    let mut upd = alert(AlertKind::Incident, "critical", "u", "198.51.100.1", "2026-03-02T21:00:00Z", "c");
    upd.alert.status = Status::Updated;
    assert!(decide(&mut p, &upd).is_empty());
}

#[test]
fn service_and_break_glass_accounts_are_not_suspended_but_their_new_source_is_cut_off() {
    let mut p = Policy::new(&ResponseConfig::default(), &no_env).unwrap();
    for user in ["svc-batch-paie", "BREAKGLASS-01", "HOST01$"] {
        // Without a new source there is nothing to cut off: a person decides.
        let out =
            decide(&mut p, &alert(AlertKind::Incident, "critical", user, "198.51.100.7", "2026-03-02T21:00:00Z", user));
        let s = out.iter().find(|p| p.record.action.kind == ActionType::SuspendUser).unwrap();
        assert_eq!(s.record.action.status, ActionStatus::PendingApproval, "{user}");
        assert!(s.record.action.reason.contains("never-act"), "{}", s.record.action.reason);
        assert_eq!(status_of(&out, ActionType::RevokeSessions), Some(ActionStatus::PendingApproval), "{user}");
    }
    // A stolen token: the incident names the new source. The suspension
    // still waits, but the sessions from that source are revoked and the
    // source is blocked at once, each with why.
    let mut a = alert(AlertKind::Incident, "critical", "svc-batch-paie", "203.0.113.66", "2026-03-03T15:00:00Z", "t");
    a.evidence.insert("new_sources".into(), json!(["203.0.113.66"]));
    let out = decide(&mut p, &a);
    assert_eq!(status_of(&out, ActionType::SuspendUser), Some(ActionStatus::PendingApproval));
    assert_eq!(status_of(&out, ActionType::RevokeSessions), Some(ActionStatus::DryRun));
    assert_eq!(status_of(&out, ActionType::BlockIp), Some(ActionStatus::DryRun));
    let revoke = out.iter().find(|p| p.record.action.kind == ActionType::RevokeSessions).unwrap();
    assert!(revoke.record.action.why.contains("may not be suspended"), "{}", revoke.record.action.why);
    assert!(revoke.record.action.why.contains("203.0.113.66"), "{}", revoke.record.action.why);
    // Known for a service account by its behaviour, whatever its name.
    let mut b = alert(AlertKind::Incident, "critical", "etl-nightly", "203.0.113.67", "2026-03-03T15:00:00Z", "e");
    b.evidence.insert("new_sources".into(), json!(["203.0.113.67"]));
    b.evidence.insert("account".into(), json!({"service": true, "service_by": ["token authentication"]}));
    let out = decide(&mut p, &b);
    let s = out.iter().find(|p| p.record.action.kind == ActionType::SuspendUser).unwrap();
    assert_eq!(s.record.action.status, ActionStatus::PendingApproval);
    assert!(s.record.action.reason.contains("token authentication"), "{}", s.record.action.reason);
    assert_eq!(status_of(&out, ActionType::RevokeSessions), Some(ActionStatus::DryRun));
    // A person's account is suspended, and the record says why.
    let mut c = alert(AlertKind::Incident, "critical", "adv00042", "203.0.113.68", "2026-03-03T15:00:00Z", "h");
    c.evidence.insert("new_sources".into(), json!(["203.0.113.68"]));
    let out = decide(&mut p, &c);
    let s = out.iter().find(|p| p.record.action.kind == ActionType::SuspendUser).unwrap();
    assert_eq!(s.record.action.status, ActionStatus::DryRun);
    assert!(s.record.action.why.contains("person"), "{}", s.record.action.why);
}

#[test]
fn a_webhook_revoking_a_service_account_names_only_the_new_sources() {
    let cfg: ResponseConfig = toml::from_str(
        r#"
        [actions.revoke_sessions]
        url = "https://iam.example/revoke"
        secret = "s"
        "#,
    )
    .unwrap();
    let mut p = Policy::new(&cfg, &no_env).unwrap();
    let mut a = alert(AlertKind::Incident, "critical", "svc-export", "203.0.113.66", "2026-03-03T15:00:00Z", "t");
    a.evidence.insert("new_sources".into(), json!(["203.0.113.66"]));
    let out = decide(&mut p, &a);
    let call = out.iter().find_map(|p| p.call.as_ref()).expect("revoke is called");
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["sources"], json!(["203.0.113.66"]));
    assert_eq!(body["account"], "svc-export");
    let mut h = alert(AlertKind::Incident, "critical", "adv1", "203.0.113.69", "2026-03-03T15:00:00Z", "u");
    h.evidence.insert("new_sources".into(), json!(["203.0.113.69"]));
    let out = decide(&mut p, &h);
    let call = out.iter().find_map(|p| p.call.as_ref()).expect("revoke is called");
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body["sources"], "all");
}

#[test]
fn cooldown_rate_limit_and_never_block() {
    let cfg: ResponseConfig = toml::from_str(
        r#"
        cooldown = "1h"
        never_block = ["10.0.0.0/8"]
        [[when]]
        kinds = ["incident"]
        level = "high"
        actions = ["suspend_user", "block_ip"]
        [actions.suspend_user]
        rate_limit = { max = 2, per = "1h" }
        [actions.block_ip]
        rate_limit = { max = 5, per = "1h" }
        "#,
    )
    .unwrap();
    let mut p = Policy::new(&cfg, &no_env).unwrap();
    let a = |user: &str, ip: &str, t: &str, id: &str| alert(AlertKind::Incident, "high", user, ip, t, id);
    let out = decide(&mut p, &a("u1", "10.1.2.3", "2026-03-02T10:00:00Z", "1"));
    assert_eq!(status_of(&out, ActionType::SuspendUser), Some(ActionStatus::DryRun));
    assert_eq!(status_of(&out, ActionType::BlockIp), Some(ActionStatus::PendingApproval));
    // The same account again within the cooldown: nothing new.
    assert!(decide(&mut p, &a("u1", "10.1.2.3", "2026-03-02T10:30:00Z", "2")).is_empty());
    assert_eq!(p.state.repeats, 2);
    assert_eq!(
        status_of(&decide(&mut p, &a("u2", "192.0.2.1", "2026-03-02T10:31:00Z", "3")), ActionType::SuspendUser),
        Some(ActionStatus::DryRun)
    );
    // A third suspension within the hour exceeds the limit of 2.
    let out = decide(&mut p, &a("u3", "192.0.2.2", "2026-03-02T10:32:00Z", "4"));
    let s = out.iter().find(|p| p.record.action.kind == ActionType::SuspendUser).unwrap();
    assert_eq!(s.record.action.status, ActionStatus::PendingApproval);
    assert!(s.record.action.reason.contains("rate limit"));
    // An hour after the first, there is room again; and u1's cooldown is over.
    let out = decide(&mut p, &a("u1", "192.0.2.3", "2026-03-02T11:00:01Z", "5"));
    assert_eq!(status_of(&out, ActionType::SuspendUser), Some(ActionStatus::DryRun));
}

#[test]
fn configured_webhooks_are_called_with_the_templated_payload_unless_dry_run_or_approval() {
    let text = r#"
        [[when]]
        kinds = ["incident"]
        actions = ["suspend_user"]
        [actions.suspend_user]
        url = "http://127.0.0.1:9/suspend"
        secret_env = "VIGIE_TEST_SECRET"
        payload = { login = "{{user.name}}", why = "vigie: {{reason}}", ref = "{{alert.id}}" }
    "#;
    let env = |k: &str| (k == "VIGIE_TEST_SECRET").then(|| "k3y".to_string());
    let cfg: ResponseConfig = toml::from_str(text).unwrap();
    let mut p = Policy::new(&cfg, &env).unwrap();
    let out = decide(&mut p, &alert(AlertKind::Incident, "high", "adv1", "192.0.2.1", "2026-03-02T10:00:00Z", "x"));
    assert_eq!(out.len(), 1);
    let call = out[0].call.as_ref().expect("a call");
    assert_eq!(out[0].record.action.status, ActionStatus::Executed);
    assert_eq!(call.url, "http://127.0.0.1:9/suspend");
    assert_eq!(call.secret, b"k3y");
    let body: serde_json::Value = serde_json::from_slice(&call.body).unwrap();
    assert_eq!(body, json!({"login": "adv1", "why": "vigie: risk 120 crossed 100", "ref": "x"}));

    let mut dry = Policy::new(&cfg, &env).unwrap();
    dry.force_dry_run();
    let out = decide(&mut dry, &alert(AlertKind::Incident, "high", "adv1", "192.0.2.1", "2026-03-02T10:00:00Z", "x"));
    assert_eq!(out[0].record.action.status, ActionStatus::DryRun);
    assert!(out[0].call.is_none());

    let mut cfg2 = cfg.clone();
    cfg2.mode = vigie_respond::Mode::Approval;
    let mut ap = Policy::new(&cfg2, &env).unwrap();
    let out = decide(&mut ap, &alert(AlertKind::Incident, "high", "adv1", "192.0.2.1", "2026-03-02T10:00:00Z", "x"));
    assert_eq!(out[0].record.action.status, ActionStatus::PendingApproval);
}

#[test]
fn configuration_mistakes_are_named() {
    let bad = |t: &str| Policy::new(&toml::from_str::<ResponseConfig>(t).unwrap(), &no_env).err().unwrap();
    assert_eq!(
        bad("[actions.block_ip]\nurl = \"http://x\"\nsecret_env = \"NOPE\""),
        ConfigError::Secret("block_ip", "NOPE".into())
    );
    assert_eq!(bad("[actions.block_ip]\nurl = \"http://x\""), ConfigError::Unsigned("block_ip"));
    assert_eq!(bad("never_block = [\"10.0.0/8x\"]"), ConfigError::Network("10.0.0/8x".into()));
    assert_eq!(bad("[[when]]\nlevel = \"severe\"\nactions = []"), ConfigError::Level("severe".into()));
    assert!(toml::from_str::<ResponseConfig>("[[when]]\nactions = [\"nuke\"]").is_err());
}
