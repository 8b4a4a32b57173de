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
        assert_eq!(s.schema_version().unwrap(), 4);
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
        // A restart re-reads the same events: nothing is counted twice (the
        // table skips them; the day files keep them and readers drop them).
        let again = s.write_accesses(&rows).unwrap();
        let files = s.trail_files.is_some();
        assert_eq!(again, if files { 3 } else { 0 });
        assert_eq!(s.access_count().unwrap(), if files { 6 } else { 3 });
        let by_account =
            s.accesses(&Scope { accounts: vec!["adv1".into()], from_ms: 0, to_ms: 10_000, ..Default::default() });
        assert_eq!(by_account.unwrap().len(), 2);
        let by_source = s
            .accesses(&Scope { sources: vec!["203.0.113.9".into()], from_ms: 0, to_ms: 10_000, ..Default::default() })
            .unwrap();
        assert_eq!(by_source.iter().map(|r| r.ts).collect::<Vec<_>>(), [2000, 3000]);
        // The day files keep the first 128 bits of each pseudonym.
        assert_eq!(by_source[0].subjects.len(), 1);
        assert!(key.pseudonym("3").starts_with(&by_source[0].subjects[0]), "{:?}", by_source[0].subjects);
        assert!(by_source[0].subjects[0].len() >= 32);
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
        let sess = vigie_store::auth::Session {
            user: "bob".into(),
            role: "dpo".into(),
            csrf: "c".into(),
            expires_ms: 100,
            enrol_only: true,
            mfa: false,
        };
        s.put_session("cookie", &sess).unwrap();
        assert_eq!(s.session("cookie", 50).unwrap(), Some(sess));
        assert_eq!(s.session("cookie", 150).unwrap(), None);
        s.end_session("cookie").unwrap();
        assert_eq!(s.session("cookie", 50).unwrap(), None);
    }
}

/// A sealed store: the audit chain keyed by a file beside the database, its
/// head recorded in another.
fn sealed(db: &TestDb, dir: &std::path::Path) -> Store {
    let seal = vigie_store::AuditSeal::open(&dir.join("audit.key"), dir.join("audit.head")).unwrap();
    Store::open(&db.url).unwrap().with_audit_seal(seal)
}

#[test]
fn a_keyed_audit_chain_detects_edits_a_cut_tail_and_a_recomputed_chain() {
    for db in TestDb::both() {
        let dir = tempfile::tempdir().unwrap();
        let s = sealed(&db, dir.path());
        for i in 0..20 {
            let action = if i % 3 == 0 { "login.failed" } else { "alert.close" };
            s.audit("alice", action, &format!("a{i}"), "{}").unwrap();
        }
        let ok = s.verify_audit().unwrap();
        assert!(ok.ok && ok.sealed && ok.entries == 20 && ok.head_seq == Some(20), "{ok:?}");
        assert!(ok.head.starts_with("hmac-sha256:"), "{ok:?}");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            for f in ["audit.key", "audit.head"] {
                let mode = std::fs::metadata(dir.path().join(f)).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{f}");
            }
        }
        // The key is not in the database.
        let key = std::fs::read_to_string(dir.path().join("audit.key")).unwrap();
        let dump = format!("{:?}", s.db.query("SELECT * FROM audit", &[]).unwrap());
        assert!(!dump.contains(key.trim()));

        // An edit.
        s.db.execute("UPDATE audit SET detail = '{\"x\":1}' WHERE seq = 4", &[]).unwrap();
        let r = s.verify_audit().unwrap();
        assert_eq!((r.ok, r.broken_at), (false, Some(4)), "{r:?}");
        s.db.execute("UPDATE audit SET detail = '{}' WHERE seq = 4", &[]).unwrap();
        assert!(s.verify_audit().unwrap().ok);

        // A cut tail: the newest entries deleted, the rest a valid chain.
        let saved = s
            .db
            .query("SELECT seq, at_ms, actor, action, target, detail, prev_hash, hash FROM audit WHERE seq >= 15", &[])
            .unwrap();
        s.db.execute("DELETE FROM audit WHERE seq >= 15", &[]).unwrap();
        let r = s.verify_audit().unwrap();
        assert!(!r.ok, "a cut tail must not verify: {r:?}");
        assert!(r.problem.as_deref().unwrap().contains("tail was cut"), "{r:?}");
        for row in &saved {
            s.db.execute(
                "INSERT INTO audit (seq, at_ms, actor, action, target, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &row.0,
            )
            .unwrap();
        }
        assert!(s.verify_audit().unwrap().ok);

        // Every login.failed removed and the chain recomputed as plain
        // SHA-256 (as an attacker without the key would).
        s.db.execute("DELETE FROM audit WHERE action = 'login.failed'", &[]).unwrap();
        let rows = s.db.query("SELECT at_ms, actor, action, target, detail FROM audit ORDER BY seq", &[]).unwrap();
        s.db.execute("DELETE FROM audit", &[]).unwrap();
        let plain = Store::open(&db.url).unwrap();
        for r in &rows {
            plain.audit(&r.text(1), &r.text(2), &r.text(3), &r.text(4)).unwrap();
        }
        assert!(plain.verify_audit().unwrap().ok, "the plain chain is self-consistent");
        let r = s.verify_audit().unwrap();
        assert!(!r.ok, "a recomputed chain must not verify: {r:?}");

        // A keyed chain cannot be verified without its key.
        let db2 = TestDb::sqlite();
        let dir2 = tempfile::tempdir().unwrap();
        let k = sealed(&db2, dir2.path());
        k.audit("a", "b", "c", "{}").unwrap();
        assert!(!Store::open(&db2.url).unwrap().verify_audit().unwrap().ok);
        // Another key, another MAC.
        let other = Store::open(&db2.url)
            .unwrap()
            .with_audit_seal(vigie_store::AuditSeal::new(&[7u8; 32], dir2.path().join("audit.head")));
        assert!(!other.verify_audit().unwrap().ok);
    }
}

#[test]
fn a_legacy_plain_chain_still_verifies_and_is_continued_keyed() {
    for db in TestDb::both() {
        let plain = Store::open(&db.url).unwrap();
        for i in 0..3 {
            plain.audit("alice", "alert.close", &format!("a{i}"), "{}").unwrap();
        }
        let dir = tempfile::tempdir().unwrap();
        let s = sealed(&db, dir.path());
        let r = s.verify_audit().unwrap();
        assert!(r.ok && r.legacy == 3, "{r:?}");
        s.audit("bob", "login", "", "{}").unwrap();
        let r = s.verify_audit().unwrap();
        assert!(r.ok && r.legacy == 3 && r.entries == 4, "{r:?}");
        // A plain entry may not follow a keyed one.
        plain.audit("mallory", "login", "", "{}").unwrap();
        assert!(!s.verify_audit().unwrap().ok);
    }
}

#[test]
fn user_changes_end_sessions_and_an_admin_always_remains() {
    let sess = |user: &str, role: &str| vigie_store::auth::Session {
        user: user.into(),
        role: role.into(),
        csrf: "c".into(),
        expires_ms: i64::MAX,
        enrol_only: false,
        mfa: false,
    };
    for db in TestDb::both() {
        let s = Store::open(&db.url).unwrap();
        for bad in ["", " ", "a b", "x\n", "-opt"] {
            assert!(s.put_user(bad, "analyst", "h").is_err(), "{bad:?}");
            assert!(s.put_token(bad, "analyst", "t").is_err(), "{bad:?}");
        }
        s.put_user("root", "admin", "h0").unwrap();
        s.put_user("dpo1", "dpo", "h1").unwrap();
        s.put_session("c1", &sess("dpo1", "dpo")).unwrap();
        assert_eq!(s.session("c1", 0).unwrap().unwrap().role, "dpo");
        // A role change ends the session.
        s.put_user("dpo1", "analyst", "h1").unwrap();
        assert_eq!(s.session("c1", 0).unwrap(), None);
        // So does a password change.
        s.put_session("c2", &sess("dpo1", "analyst")).unwrap();
        assert!(s.session("c2", 0).unwrap().is_some());
        s.put_user("dpo1", "analyst", "h1").unwrap();
        assert!(s.session("c2", 0).unwrap().is_some(), "an unchanged user keeps its session");
        s.put_user("dpo1", "analyst", "h2").unwrap();
        assert_eq!(s.session("c2", 0).unwrap(), None);
        // And the user's removal.
        s.put_session("c3", &sess("dpo1", "analyst")).unwrap();
        s.remove_user("dpo1").unwrap();
        assert_eq!(s.session("c3", 0).unwrap(), None);
        assert_eq!(s.session_count("dpo1", 0).unwrap(), 0);
        assert!(matches!(s.remove_user("dpo1"), Err(vigie_store::StoreError::NotFound { .. })));
        // The last admin can be neither demoted nor removed.
        assert!(s.put_user("root", "analyst", "h0").is_err());
        assert!(s.remove_user("root").is_err());
        s.put_user("root2", "admin", "h").unwrap();
        s.put_user("root", "analyst", "h0").unwrap();
        assert!(s.remove_user("root2").is_err());
        // Tokens: listed without their secret, revoked by id.
        let id = s.put_token("ci", "analyst", "secret-token").unwrap();
        let list = s.tokens().unwrap();
        assert_eq!((list.len(), list[0].id.as_str(), list[0].name.as_str()), (1, id.as_str(), "ci"));
        assert!(!format!("{list:?}").contains("secret-token"));
        s.revoke_token(&id).unwrap();
        assert_eq!(s.token("secret-token").unwrap(), None);
        assert!(s.revoke_token(&id).is_err());
    }
}

#[test]
fn suppressions_of_an_account_can_wait_for_a_second_person() {
    for db in TestDb::both() {
        let s = Store::open(&db.url).unwrap();
        let sup = SuppressionRow {
            id: "p1".into(),
            rule_id: None,
            account: Some("ana".into()),
            source_ip: None,
            reason: "campaign".into(),
            created_by: "bob".into(),
            created_ms: 0,
            expires_ms: 100,
        };
        s.add_pending_suppression(&sup).unwrap();
        assert!(s.suppressions(5).unwrap().is_empty(), "a pending suppression is not applied");
        assert_eq!(s.pending_suppressions(5).unwrap().len(), 1);
        assert!(s.approve_suppression("p1", "bob", 5).is_err(), "not by its author");
        assert!(s.approve_suppression("p1", "ana", 5).is_err(), "not by the person it covers");
        s.approve_suppression("p1", "carol", 5).unwrap();
        assert_eq!(s.suppressions(5).unwrap().len(), 1);
        assert!(s.pending_suppressions(5).unwrap().is_empty());
        assert!(s.approve_suppression("p1", "carol", 5).is_err());
    }
}

#[cfg(unix)]
#[test]
fn the_database_and_its_wal_are_owner_only() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state").join("vigie.db");
    let s = Store::open(&path.display().to_string()).unwrap();
    s.audit("a", "b", "c", "{}").unwrap();
    let mode = |p: &std::path::Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&dir.path().join("state")), 0o700);
    for suffix in ["", "-wal", "-shm"] {
        let p = std::path::PathBuf::from(format!("{}{suffix}", path.display()));
        assert!(p.exists(), "{}", p.display());
        assert_eq!(mode(&p), 0o600, "{}", p.display());
    }
    drop(s);
    // A database left world-readable by an older vigie is narrowed.
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
    let _s = Store::open(&path.display().to_string()).unwrap();
    assert_eq!(mode(&path), 0o600);
}

#[test]
fn second_factors_are_sealed_bound_to_their_user_and_spent_once() {
    for db in TestDb::both() {
        let dir = tempfile::tempdir().unwrap();
        let seal = vigie_store::AuditSeal::open(&dir.path().join("audit.key"), dir.path().join("audit.head")).unwrap();
        let s = Store::open(&db.url).unwrap().with_audit_seal(seal);
        s.put_user("ann", "admin", "h").unwrap();
        s.put_user("bob", "dpo", "h").unwrap();
        let secret = b"0123456789abcdefghij";
        s.begin_mfa("ann", secret).unwrap();
        assert!(!s.user("ann").unwrap().unwrap().mfa, "pending until a code confirms it");
        let cookie = vigie_store::auth::Session {
            user: "ann".into(),
            role: "admin".into(),
            csrf: "c".into(),
            expires_ms: i64::MAX,
            enrol_only: true,
            mfa: false,
        };
        s.put_session("k", &cookie).unwrap();
        // A code checked against a key that another enrolment replaced
        // confirms nothing.
        assert!(s.confirm_mfa("ann", 100, b"another key, not ann's").is_err());
        s.confirm_mfa("ann", 100, secret).unwrap();
        assert_eq!(s.session("k", 0).unwrap(), None, "confirming ends the user's sessions");
        let m = s.mfa("ann").unwrap().unwrap();
        assert_eq!((m.secret.as_deref(), m.pending, m.last_step), (Some(&secret[..]), None, 100));
        assert!(s.user("ann").unwrap().unwrap().mfa);
        // Sealed: the raw secret is nowhere in the row.
        let raw = s.db.query("SELECT totp_secret FROM users WHERE name = 'ann'", &[]).unwrap()[0].text(0);
        assert!(!raw.contains(&hex::encode(secret)) && !raw.contains("0123456789"), "{raw}");
        // A step is spent once; an older one never.
        assert!(!s.spend_mfa_step("ann", 100).unwrap());
        assert!(s.spend_mfa_step("ann", 101).unwrap());
        assert!(!s.spend_mfa_step("ann", 101).unwrap());
        assert!(!s.spend_mfa_step("ann", 99).unwrap());
        // Moved to another user's row, the sealed secret does not open.
        s.db.execute("UPDATE users SET totp_secret = $1 WHERE name = 'bob'", &[raw.as_str().into()]).unwrap();
        assert!(s.mfa("bob").is_err());
        // Without the key, nothing opens and nothing can be enrolled.
        let keyless = Store::open(&db.url).unwrap();
        assert!(keyless.mfa("ann").is_err() && keyless.begin_mfa("bob", secret).is_err());
        s.reset_mfa("ann").unwrap();
        assert_eq!(s.mfa("ann").unwrap().unwrap().secret, None);
        assert!(s.reset_mfa("nobody").is_err());
    }
}

/// Appends from many threads at once (parallel failed logins) each record
/// the head without tripping over one another's temporary file, and the
/// head ends at the newest entry.
#[test]
fn parallel_audit_appends_all_succeed_and_the_head_is_the_newest() {
    for db in TestDb::both() {
        let dir = tempfile::tempdir().unwrap();
        let seal = vigie_store::AuditSeal::open(&dir.path().join("audit.key"), dir.path().join("audit.head")).unwrap();
        let s = std::sync::Arc::new(Store::open(&db.url).unwrap().with_audit_seal(seal.clone()));
        std::thread::scope(|scope| {
            for t in 0..8 {
                let s = s.clone();
                scope.spawn(move || {
                    for k in 0..10 {
                        s.audit("x", "login.failed", &format!("{t}-{k}"), "{}").unwrap();
                    }
                });
            }
        });
        assert_eq!(seal.head().unwrap().unwrap().seq, 80);
        let r = s.verify_audit().unwrap();
        assert!(r.ok && r.entries == 80, "{r:?}");
    }
}

/// Issue 18 on PostgreSQL: the trail goes by COPY into one partition per
/// day (rows dated far from now into the default one), hostile text comes
/// back as it went in, the same rows written again are skipped, and
/// retention drops whole days.
#[test]
fn the_trail_on_postgres_is_copied_into_day_partitions_and_dropped_whole() {
    let key = Pseudonymiser::new(b"k");
    let day = 86_400_000i64;
    let db = TestDb::postgres();
    let s = Store::open(&db.url).unwrap();
    let today = vigie_store::now_ms().div_euclid(day);
    let mut hostile = access("h", today * day + 5, "adv1", "10.0.0.1", &["9"], &key);
    hostile.user_agent = Some("a\tb\\c\nd\re\0f".into());
    hostile.target = None;
    hostile.bytes = None;
    let rows = vec![
        access("a", (today - 2) * day + 1, "adv1", "10.0.0.1", &["1"], &key),
        access("b", (today - 2) * day + 2, "adv2", "10.0.0.2", &["2"], &key),
        access("c", (today - 1) * day, "adv1", "10.0.0.1", &["3"], &key),
        hostile,
        access("far", 4_102_444_800_000, "adv1", "10.0.0.1", &["4"], &key), // 2100-01-01
    ];
    assert_eq!(s.write_accesses(&rows).unwrap(), 5);
    assert_eq!(s.write_accesses(&rows).unwrap(), 0, "rows already stored are skipped");
    assert_eq!(s.access_count().unwrap(), 5);
    let parts =
        s.db.query(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'access' ORDER BY 1",
            &[],
        )
        .unwrap();
    let names: Vec<String> = parts.iter().map(|r| r.text(0)).collect();
    assert_eq!(names.len(), 4, "three days and the default: {names:?}");
    assert!(names.contains(&"access_default".to_string()));
    let in_default = s.db.query("SELECT COUNT(*) FROM access_default", &[]).unwrap()[0].int(0);
    assert_eq!(in_default, 1, "the row of 2100 has no partition of its own");

    let one = Scope { accounts: vec!["adv1".into()], sources: vec![], from_ms: 0, to_ms: i64::MAX };
    let got = s.accesses(&one).unwrap();
    assert_eq!(got.iter().map(|r| r.id.as_str()).collect::<Vec<_>>(), ["a", "c", "h", "far"]);
    assert_eq!(got[2].user_agent.as_deref(), Some("a\tb\\c\nd\re\u{FFFD}f"));
    assert_eq!((got[2].target.as_deref(), got[2].bytes), (None, None));

    // Retention at the start of today, keeping one day: the partition of
    // two days ago goes whole; the others and the far row stay.
    let purged = s.enforce(&Retention { trail_ms: day, alerts_ms: 365 * day }, today * day).unwrap();
    assert_eq!(purged.access, 2);
    assert_eq!(s.access_count().unwrap(), 3);
    let left =
        s.db.query(
            "SELECT COUNT(*) FROM pg_inherits i JOIN pg_class p ON p.oid = i.inhparent WHERE p.relname = 'access'",
            &[],
        )
        .unwrap();
    assert_eq!(left[0].int(0), 3);
}
