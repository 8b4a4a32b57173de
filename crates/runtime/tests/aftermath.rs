//! After the attack: a simulated France Travail takeover is replayed into
//! the store (SQLite and PostgreSQL); the breach impact computed from the
//! incident alone must equal the simulator's ground truth exactly, and the
//! store must hold no raw subject id.

mod common;
use std::sync::Arc;
use vigie_runtime::config::Config;
use vigie_store::Scope;
use vigie_store::testing::TestDb;

#[test]
fn the_impact_of_a_simulated_incident_equals_the_ground_truth() {
    let dir = tempfile::tempdir().unwrap();
    let (events, truth) = common::simulated_takeover(dir.path());
    let s = &truth.scenarios[0];
    assert!(s.subjects_exposed > 1000, "a real harvest: {}", s.subjects_exposed);
    let victim = &s.accounts[0];
    let raw_id = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .find_map(|l| l.split("\"ids\":[\"").nth(1).and_then(|r| r.split('"').next()).map(str::to_string))
        .unwrap();

    for db in TestDb::both() {
        let mut cfg = Config::default();
        cfg.engine.state_dir = dir.path().join("state");
        cfg.store.url = Some(db.url.clone());
        cfg.store.key_env = Some("VIGIE_TEST_KEY_AFTERMATH".into());
        // SAFETY: set before any thread of this test reads the environment.
        unsafe { std::env::set_var("VIGIE_TEST_KEY_AFTERMATH", "test key") };
        let h = vigie_runtime::open_store(&cfg).unwrap().unwrap();
        let outputs = vigie_runtime::ReplayOutputs { store: Some(&h), ..Default::default() };
        vigie_runtime::replay_to(&cfg, std::slice::from_ref(&events), outputs).unwrap();
        let store: Arc<vigie_store::Store> = h.store.clone();

        let incidents = store
            .alerts(&vigie_store::AlertFilter {
                kind: Some("incident".into()),
                account: Some(victim.clone()),
                ..Default::default()
            })
            .unwrap();
        let incident = incidents.last().expect("an incident on the victim");
        let report = vigie_investigate::incident::report(&store, &incident.id).unwrap();
        let imp = &report.impact;
        assert_eq!(imp.subjects, s.subjects_exposed, "people exposed: {}", imp.basis);
        assert_eq!(imp.records, s.records_total);
        assert_eq!(imp.reads as usize, s.reads.len());
        assert_eq!((imp.first_ms, imp.last_ms), (Some(s.reads[0].0), Some(s.reads.last().unwrap().0)));
        assert_eq!(imp.iocs.source_ips.iter().map(|x| x.0.clone()).collect::<Vec<_>>(), s.source_ips);
        assert_eq!(imp.subjects_by_category["nir"], s.subjects_exposed);
        assert!(imp.upper_bound_subjects.unwrap() >= imp.subjects);
        // The same answer from the attacker's address alone.
        let by_ip = vigie_investigate::impact::of_scope(
            &store,
            Scope { sources: s.source_ips.clone(), from_ms: s.start_ms, to_ms: s.end_ms, ..Default::default() },
        )
        .unwrap();
        assert_eq!(by_ip.subjects, s.subjects_exposed);
        // Awareness is the first high signal, at or before the incident.
        assert!(report.awareness_ms <= incident.first_seen_ms && report.awareness_ms >= s.start_ms);
        // Drafts carry the numbers and the clocks.
        let d = vigie_investigate::notify::drafts(&report, &Default::default(), report.awareness_ms);
        assert_eq!(d.art33.subjects_identified, s.subjects_exposed);
        assert!(d.markdown.gdpr_art33.contains(&s.subjects_exposed.to_string()));
        assert!(
            d.markdown.gdpr_art33.contains("72h 0m left") || d.markdown.gdpr_art33.contains("72 h"),
            "{}",
            d.deadlines.gdpr_art33.remaining
        );
        // No raw subject id anywhere in the store: the access table, and
        // the trail's day files beside SQLite.
        let n = store
            .db
            .query("SELECT COUNT(*) FROM access WHERE subjects LIKE $1", &[format!("%{raw_id}%").into()])
            .unwrap();
        assert_eq!(n[0].int(0), 0);
        if let Some(files) = &store.trail_files {
            for e in std::fs::read_dir(files.dir()).unwrap() {
                let bytes = std::fs::read(e.unwrap().path()).unwrap();
                assert!(!bytes.windows(raw_id.len()).any(|w| w == raw_id.as_bytes()));
            }
        }
        let alerts_with_id = store
            .db
            .query("SELECT COUNT(*) FROM alerts WHERE body LIKE $1", &[format!("%\"{raw_id}\"%").into()])
            .unwrap();
        assert_eq!(alerts_with_id[0].int(0), 0);
        // The exported list resolves back to people for the key's holder.
        let csv = vigie_investigate::impact::subjects_csv(imp);
        let list: String = std::fs::read_to_string(&events)
            .unwrap()
            .lines()
            .filter_map(|l| {
                l.split("\"ids\":[\"").nth(1).and_then(|r| r.split('"').next()).map(|id| format!("{id},person {id}\n"))
            })
            .collect();
        let m =
            vigie_investigate::reidentify::reidentify(&vigie_analytics::Pseudonymiser::new(b"test key"), &csv, &list);
        assert_eq!(m.people.len() as u64, s.subjects_exposed);
        assert!(m.unmatched.is_empty());
    }
}
