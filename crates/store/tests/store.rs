//! The store on both backends: SQLite in a temporary file and PostgreSQL
//! on 127.0.0.1:5432, each test in its own database.

use vigie_alert::Alert;
use vigie_analytics::{Access, Pseudonymiser};
use vigie_store::testing::TestDb;
use vigie_store::{AlertFilter, Retention, Scope, Store, SuppressionRow, Triage};

fn alert(id: &str, level: &str, user: &str, at: &str) -> Alert {
    serde_json::from_value(serde_json::json!({
        "@timestamp": at,
        "alert": {"id": id, "kind": "analytic", "status": "new", "count": 1, "first_seen": at, "last_seen": at},
        "rule": {"id": "vigie-analytics-distinct-hour", "name": "Distinct people", "level": level, "author": "vigie"},
        "user": {"name": user},
        "reason": "read 400 people in an hour",
        "evidence": {},
        "events": [],
        "event": {"data_subject": {"ids": ["1234567", 42]}, "user": {"name": user}}
    }))
    .unwrap()
}

fn access(id: &str, ts: i64, account: &str, ip: &str, subjects: &[&str], key: &Pseudonymiser) -> Access {
    Access {
        id: id.into(),
        ts,
        account: account.into(),
        source_ip: Some(ip.into()),
        user_agent: Some("curl/8".into()),
        kind: "read".into(),
        action: "beneficiary.view".into(),
        target: None,
        categories: vec!["nir".into(), "contact".into()],
        subjects: subjects.iter().map(|s| key.pseudonym(s)).collect(),
        records: subjects.len() as u64,
        bytes: Some(100),
    }
}

#[test]
fn migrations_apply_once_and_are_recorded() {
    for db in TestDb::both() {
        let s = Store::open(&db.url).unwrap();
        assert_eq!(s.schema_version().unwrap(), 1);
        drop(s);
        // Opening again applies nothing and keeps the data.
        let s = Store::open(&db.url).unwrap();
        assert_eq!(vigie_store::migrate::migrate(&s.db).unwrap(), Vec::<i64>::new());
    }
}

#[test]
fn alerts_are_upserted_scrubbed_and_triaged() {
    let key = Pseudonymiser::new(b"org key");
    for db in TestDb::both() {
        let s = Store::open(&db.url).unwrap();
        let mut a = alert("a1", "high", "adv1", "2026-03-02T20:00:00.000Z");
        s.write_alert(&a, Some(&key)).unwrap();
        s.write_alert(&alert("a2", "low", "adv2", "2026-03-02T21:00:00.000Z"), Some(&key)).unwrap();
        // The evidence keeps no raw subject id.
        let row = s.alert("a1").unwrap();
        let text = row.alert.to_string();
        assert!(!text.contains("1234567"), "{text}");
        assert!(text.contains(&key.pseudonym("1234567")));
        assert!(text.contains(&key.pseudonym("42")));
        // A merged repeat updates the tally, not the triage.
        s.triage("a1", &Triage::Assign { assignee: "alice".into() }).unwrap();
        a.alert.count = 7;
        a.alert.last_seen = "2026-03-02T20:30:00.000Z".into();
        s.write_alert(&a, Some(&key)).unwrap();
        let row = s.alert("a1").unwrap();
        assert_eq!((row.count, row.assignee.as_deref(), row.status.as_str()), (7, Some("alice"), "open"));
        // Filters.
        let high =
            s.alerts(&AlertFilter { min_level: Some(vigie_alert::Severity::High), ..Default::default() }).unwrap();
        assert_eq!(high.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a1"]);
        // Triage.
        s.triage("a1", &Triage::Acknowledge).unwrap();
        let err = s.triage("a1", &Triage::Close { resolution: "maybe".into(), reason: "x".into() }).unwrap_err();
        assert!(err.to_string().contains("true_positive"), "{err}");
        let err = s.triage("a1", &Triage::Close { resolution: "false_positive".into(), reason: " ".into() });
        assert!(err.is_err());
        let row =
            s.triage("a1", &Triage::Close { resolution: "true_positive".into(), reason: "confirmed".into() }).unwrap();
        assert_eq!((row.status.as_str(), row.resolution.as_deref()), ("closed", Some("true_positive")));
        assert!(matches!(s.triage("nope", &Triage::Reopen), Err(vigie_store::StoreError::NotFound { .. })));
        s.add_note("a1", "alice", "called the adviser").unwrap();
        assert_eq!(s.notes("a1").unwrap()[0].body, "called the adviser");
        assert!(s.add_note("nope", "alice", "x").is_err());
        let hits = s.rule_hits().unwrap();
        assert_eq!(hits[0].2, 2);
    }
}

#[test]
fn the_trail_is_deduplicated_and_scoped() {
    let key = Pseudonymiser::new(b"k");
    for db in TestDb::both() {
        let s = Store::open(&db.url).unwrap();
        let rows = vec![
            access("r1", 1000, "adv1", "10.0.0.1", &["1", "2"], &key),
            access("r2", 2000, "adv1", "203.0.113.9", &["3"], &key),
            access("r3", 3000, "adv2", "203.0.113.9", &["4"], &key),
        ];
        assert_eq!(s.write_accesses(&rows).unwrap(), 3);
        // A restart re-reads the same events: nothing is counted twice.
        assert_eq!(s.write_accesses(&rows).unwrap(), 0);
        assert_eq!(s.access_count().unwrap(), 3);
        let by_account =
            s.accesses(&Scope { accounts: vec!["adv1".into()], from_ms: 0, to_ms: 10_000, ..Default::default() });
        assert_eq!(by_account.unwrap().len(), 2);
        let by_source = s
            .accesses(&Scope { sources: vec!["203.0.113.9".into()], from_ms: 0, to_ms: 10_000, ..Default::default() })
            .unwrap();
        assert_eq!(by_source.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["r2", "r3"]);
        assert_eq!(by_source[0].subjects, [key.pseudonym("3")]);
        assert_eq!(by_source[0].categories, ["nir", "contact"]);
        let window =
            s.accesses(&Scope { accounts: vec!["adv1".into()], from_ms: 1500, to_ms: 10_000, ..Default::default() });
        assert_eq!(window.unwrap().len(), 1);
        assert!(s.accesses(&Scope::default()).unwrap().is_empty());
    }
}

#[test]
fn retention_deletes_old_trail_and_expired_rows_only() {
    let key = Pseudonymiser::new(b"k");
    let day = 86_400_000;
    for db in TestDb::both() {
        let s = Store::open(&db.url).unwrap();
        let now = 400 * day;
        s.write_accesses(&[access("old", now - 200 * day, "a", "1.1.1.1", &["1"], &key)]).unwrap();
        s.write_accesses(&[access("new", now - day, "a", "1.1.1.1", &["2"], &key)]).unwrap();
        s.add_suppression(&SuppressionRow {
            id: "s1".into(),
            rule_id: Some("r".into()),
            account: None,
            source_ip: None,
            reason: "noisy".into(),
            created_by: "alice".into(),
            created_ms: now - 2 * day,
            expires_ms: now - day,
        })
        .unwrap();
        let purged = s.enforce(&Retention { trail_ms: 180 * day, alerts_ms: 365 * day }, now).unwrap();
        assert_eq!((purged.access, purged.suppressions), (1, 1));
        assert_eq!(s.access_count().unwrap(), 1);
        assert!(s.suppressions(now).unwrap().is_empty());
    }
}

#[test]
fn suppressions_must_name_something_and_say_why() {
    for db in TestDb::both() {
        let s = Store::open(&db.url).unwrap();
        let mut sup = SuppressionRow {
            id: "s".into(),
            rule_id: None,
            account: None,
            source_ip: None,
            reason: "x".into(),
            created_by: "a".into(),
            created_ms: 0,
            expires_ms: 10,
        };
        assert!(s.add_suppression(&sup).is_err());
        sup.account = Some("batch01".into());
        sup.reason = "".into();
        assert!(s.add_suppression(&sup).is_err());
        sup.reason = "nightly job".into();
        s.add_suppression(&sup).unwrap();
        assert_eq!(s.suppressions(5).unwrap().len(), 1);
        assert_eq!(s.suppressions(10).unwrap().len(), 0);
    }
}

#[test]
fn a_tampered_audit_log_is_detected() {
    for db in TestDb::both() {
        let s = Store::open(&db.url).unwrap();
        for i in 0..5 {
            s.audit("alice", "alert.close", &format!("a{i}"), "{}").unwrap();
        }
        let ok = s.verify_audit().unwrap();
        assert!(ok.ok && ok.entries == 5, "{ok:?}");
        // Change one detail: that entry no longer matches its hash.
        s.db.execute("UPDATE audit SET actor = 'mallory' WHERE seq = 3", &[]).unwrap();
        let r = s.verify_audit().unwrap();
        assert_eq!((r.ok, r.broken_at), (false, Some(3)), "{r:?}");
        // Put it back, then delete an entry: the gap is found.
        s.db.execute("UPDATE audit SET actor = 'alice' WHERE seq = 3", &[]).unwrap();
        assert!(s.verify_audit().unwrap().ok);
        s.db.execute("DELETE FROM audit WHERE seq = 2", &[]).unwrap();
        let r = s.verify_audit().unwrap();
        assert_eq!((r.ok, r.broken_at), (false, Some(3)), "{r:?}");
    }
}

#[test]
fn users_tokens_and_sessions_keep_hashes_only() {
    for db in TestDb::both() {
        let s = Store::open(&db.url).unwrap();
        assert!(s.put_user("bob", "root", "h").is_err());
        s.put_user("bob", "dpo", "$argon2id$fake").unwrap();
        assert_eq!(s.user("bob").unwrap().unwrap().role, "dpo");
        s.put_token("ci", "analyst", "secret-token").unwrap();
        assert_eq!(s.token("secret-token").unwrap(), Some(("ci".into(), "analyst".into())));
        assert_eq!(s.token("other").unwrap(), None);
        let stored = s.db.query("SELECT token_hash FROM tokens", &[]).unwrap();
        assert_ne!(stored[0].text(0), "secret-token");
        let sess =
            vigie_store::auth::Session { user: "bob".into(), role: "dpo".into(), csrf: "c".into(), expires_ms: 100 };
        s.put_session("cookie", &sess).unwrap();
        assert_eq!(s.session("cookie", 50).unwrap(), Some(sess));
        assert_eq!(s.session("cookie", 150).unwrap(), None);
        s.end_session("cookie").unwrap();
        assert_eq!(s.session("cookie", 50).unwrap(), None);
    }
}
