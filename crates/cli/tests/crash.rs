//! State that survives: `vigie run` follows a growing file, is killed with
//! SIGKILL mid-stream, restarts, and must end with exactly the alerts a
//! replay of the whole file gives: none lost, none written twice.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

fn vigie() -> Command {
    Command::new(env!("CARGO_BIN_EXE_vigie"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The authentication attack sample replayed on `days` consecutive days.
fn days(days: usize) -> Vec<String> {
    let sample = std::fs::read_to_string(repo().join("samples/app/auth-attacks.jsonl")).unwrap();
    let start: jiff::civil::Date = "2026-03-02".parse().unwrap();
    (0..days)
        .map(|d| {
            let date = start.checked_add(jiff::Span::new().days(d as i64)).unwrap().to_string();
            sample.replace("2026-03-02T", &format!("{date}T"))
        })
        .collect()
}

fn lines(p: &Path) -> Vec<String> {
    std::fs::read_to_string(p).unwrap_or_default().lines().map(str::to_string).collect()
}

fn start(config: &Path) -> Child {
    vigie().args(["run", "--config"]).arg(config).stderr(std::process::Stdio::null()).spawn().unwrap()
}

/// The alerts a replay of `input` with `rules` writes to `out`: what a live
/// run must end with.
fn replayed(rules: &Path, input: &Path, out: &Path) -> Vec<String> {
    let st = vigie().arg("replay").arg("--rules").arg(rules).arg(input).arg("--alerts").arg(out).output().unwrap();
    assert!(st.status.success(), "{}", String::from_utf8_lossy(&st.stderr));
    lines(out)
}

/// Where the kill tests strike: a small linear congruential generator from
/// a fixed seed, so that every run kills at the same points. `next(n)` is in
/// `0..n`.
fn kill_points(mut seed: u64) -> impl FnMut(u64) -> u64 {
    move |n| {
        seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        (seed >> 33) % n
    }
}

fn wait(limit: Duration, mut f: impl FnMut() -> bool) -> bool {
    let t = Instant::now();
    while !f() {
        if t.elapsed() > limit {
            return false;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    true
}

#[test]
fn kill_9_and_restart_lose_nothing_and_duplicate_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let input = d.join("auth.jsonl");
    let days = days(40);
    std::fs::write(&input, days.concat()).unwrap();
    // What the whole file must give.
    let expected_path = d.join("expected.jsonl");
    let rules = repo().join("rules/vigie");
    let mut expected = replayed(&rules, &input, &expected_path);
    assert_eq!(expected.len(), 3 * 40);

    // Now live. Run 1 checkpoints only at its start, reads the first half
    // at once, and is killed as soon as alerts past that checkpoint are on
    // disk: the restart must cut them away and redo them.
    let half = days.len() / 2;
    std::fs::write(&input, days[..half].concat()).unwrap();
    let alerts = d.join("alerts.jsonl");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = d.join("vigie.toml");
    let write_config = |interval: &str| {
        std::fs::write(
            &config,
            format!(
                "[rules]\npaths = [{rules:?}]\n[engine]\nstate_dir = {state:?}\ncheckpoint_interval = \"{interval}\"\nadvance_when_idle = false\n[server]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"t\"\n[[inputs]]\ntype = \"file\"\npath = {input:?}\nformat = \"json\"\n[[sinks]]\ntype = \"jsonl\"\npath = {alerts:?}\n",
                rules = rules.display().to_string(),
                state = d.join("state").display().to_string(),
                input = input.display().to_string(),
                alerts = alerts.display().to_string(),
            ),
        )
        .unwrap()
    };
    write_config("1h");
    let mut child = start(&config);
    assert!(wait(Duration::from_secs(30), || !lines(&alerts).is_empty()), "run 1 wrote no alert");
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!lines(&alerts).is_empty(), "alerts past the checkpoint are on disk when killed");

    // Run 2 follows the file as it grows a day at a time, checkpointing
    // often, and is killed again at pseudo-random moments (a fixed seed:
    // the same kills on every run), often mid-batch or mid-checkpoint.
    write_config("50ms");
    let mut file = std::fs::OpenOptions::new().append(true).open(&input).unwrap();
    child = start(&config);
    let mut next = kill_points(0x5eed_f11e);
    let mut kills = 0;
    for day in days.iter().skip(half) {
        file.write_all(day.as_bytes()).unwrap();
        file.flush().unwrap();
        if next(5) == 0 {
            std::thread::sleep(Duration::from_millis(next(40)));
            child.kill().unwrap();
            child.wait().unwrap();
            kills += 1;
            child = start(&config);
        } else {
            std::thread::sleep(Duration::from_millis(15));
        }
    }
    assert!(kills >= 2, "the seed must kill a few times: {kills}");
    let done = wait(Duration::from_secs(60), || lines(&alerts).len() >= expected.len());
    std::thread::sleep(Duration::from_millis(500));
    // A graceful stop: SIGTERM drains and checkpoints.
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    let status = child.wait().unwrap();
    assert!(status.success(), "SIGTERM exits cleanly");
    assert!(done, "only {} of {} alerts", lines(&alerts).len(), expected.len());
    let mut got = lines(&alerts);
    let ids = |v: &[String]| {
        let mut ids: Vec<String> = v
            .iter()
            .map(|l| serde_json::from_str::<serde_json::Value>(l).unwrap()["alert"]["id"].as_str().unwrap().to_string())
            .collect();
        ids.sort();
        ids
    };
    let got_ids = ids(&got);
    let mut dedup = got_ids.clone();
    dedup.dedup();
    assert_eq!(dedup.len(), got_ids.len(), "an alert was written twice");
    got.sort();
    expected.sort();
    assert_eq!(got, expected, "the live run and the replay must agree alert for alert");
}

/// Issue 16: hostile lines in a replayed file. A line nested 10,000 deep
/// killed the process (stack overflow), and a document cut short (`{"a":`)
/// swallowed the valid lines after it. Each is now one decode error, and
/// every event of the sample is read: the alerts are those of the clean file.
#[test]
fn replay_reads_every_event_past_hostile_lines() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let sample = std::fs::read_to_string(repo().join("samples/app/auth-attacks.jsonl")).unwrap();
    let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
    let mut hostile = String::new();
    for (i, line) in sample.lines().enumerate() {
        if i == 1 {
            hostile.push_str(&deep);
            hostile.push('\n');
        }
        if i % 5 == 2 {
            hostile.push_str("{\"a\":\n");
        }
        hostile.push_str(line);
        hostile.push('\n');
    }
    let input = d.join("hostile.jsonl");
    std::fs::write(&input, hostile).unwrap();
    let out = vigie()
        .arg("replay")
        .arg("--json")
        .arg("--rules")
        .arg(repo().join("rules/vigie"))
        .arg(&input)
        .arg("--alerts")
        .arg(d.join("alerts.jsonl"))
        .output()
        .unwrap();
    assert!(out.status.success(), "{:?} {}", out.status, String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(summary["events"], 25, "{summary}");
    assert_eq!(summary["decode_errors"], 6, "{summary}");
    assert_eq!(summary["alerts"], 3, "{summary}");
}

/// One HTTP/1.1 POST to `/ingest` with an idempotency key; the status, or
/// `None` when the engine was not there or died before answering.
fn ingest(port: u16, key: &str, body: &str) -> Option<u16> {
    use std::io::Read;
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    let head = format!(
        "POST /ingest HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer t\r\nContent-Type: application/x-ndjson\r\nIdempotency-Key: {key}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    s.write_all(head.as_bytes()).ok()?;
    s.write_all(body.as_bytes()).ok()?;
    let mut reply = String::new();
    s.read_to_string(&mut reply).ok()?;
    reply.split_whitespace().nth(1)?.parse().ok()
}

/// Issue 16, fault injection: `vigie run` ingesting over HTTP is killed with
/// SIGKILL at pseudo-random moments, mid-request or between requests. The
/// client follows the documented contract: every batch carries an
/// `Idempotency-Key`, and a batch not answered 200 is sent again once the
/// engine is back. It also resends the batch before the kill, as a client
/// does that cannot tell whether its last answer was lost. The alerts must
/// be exactly those of a replay of everything: none lost, none twice, and no
/// batch counted twice in a correlation.
#[test]
fn kill_9_at_random_during_http_ingest_with_idempotency_keys_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Each day also has one read of a person's record, for the data-access
    // trail (issue 18): it must hold each read exactly once.
    let days: Vec<String> = days(30)
        .into_iter()
        .enumerate()
        .map(|(i, day)| {
            let date = day.split("\"@timestamp\":\"").nth(1).unwrap()[..10].to_string();
            format!(
                "{day}{{\"@timestamp\":\"{date}T09:05:00.000Z\",\"event\":{{\"category\":[\"database\"],\"type\":[\"access\"],\"action\":\"beneficiary.view\",\"outcome\":\"success\",\"dataset\":\"portal.audit\"}},\"user\":{{\"name\":\"adv00042\",\"roles\":[\"advisor\"],\"group\":{{\"name\":\"agence-013\"}}}},\"source\":{{\"ip\":\"217.108.13.44\"}},\"data_subject\":{{\"ids\":[\"person-{i}\"],\"count\":1,\"categories\":[\"identity\"]}}}}\n"
            )
        })
        .collect();
    let whole = d.join("all.jsonl");
    std::fs::write(&whole, days.concat()).unwrap();
    let rules = repo().join("rules/vigie");
    let expected_path = d.join("expected.jsonl");
    let mut expected = replayed(&rules, &whole, &expected_path);
    assert_eq!(expected.len(), 3 * 30);

    let alerts = d.join("alerts.jsonl");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = d.join("vigie.toml");
    std::fs::write(
        &config,
        format!(
            "[rules]\npaths = [{rules:?}]\n[engine]\nstate_dir = {state:?}\ncheckpoint_interval = \"20ms\"\nadvance_when_idle = false\n[server]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"t\"\n[[inputs]]\ntype = \"http\"\nformat = \"json\"\n[[sinks]]\ntype = \"jsonl\"\npath = {alerts:?}\n[store]\ntrail_retention = \"100000d\"\n",
            rules = rules.display().to_string(),
            state = d.join("state").display().to_string(),
            alerts = alerts.display().to_string(),
        ),
    )
    .unwrap();
    let up = || wait(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    // Each run writes its summary (restored from the checkpoint, so it
    // counts every event since the first start) when it stops cleanly.
    let summary = d.join("summary.json");
    let start = |config: &Path| {
        vigie()
            .args(["run", "--config"])
            .arg(config)
            .arg("--summary-json")
            .arg(&summary)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let mut child = start(&config);
    assert!(up(), "vigie run did not start");
    let mut next = kill_points(0x5eed_1e16);
    let mut kills = 0;
    for (i, day) in days.iter().enumerate() {
        let key = format!("day-{i}");
        // About one batch in four is hit, after 0 to 40 ms: often while
        // its request is being read or checkpointed.
        let killer = (i > 0 && next(4) == 0).then(|| {
            let (pid, delay) = (child.id(), next(40));
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(delay));
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            })
        });
        let first = ingest(port, &key, day);
        if let Some(k) = killer {
            k.join().unwrap();
            child.wait().unwrap();
            kills += 1;
            child = start(&config);
            assert!(up(), "vigie run did not restart");
            // Resend the batch before (its answer may have been lost), then
            // this one, whether or not it was answered.
            let prev = format!("day-{}", i - 1);
            assert_eq!(ingest(port, &prev, &days[i - 1]), Some(200), "resending {prev}");
            assert_eq!(ingest(port, &key, day), Some(200), "resending {key} (first answer {first:?})");
        } else {
            assert_eq!(first, Some(200), "{key}");
        }
    }
    assert!(kills >= 3, "the seed must kill a few times: {kills}");
    assert!(wait(Duration::from_secs(30), || lines(&alerts).len() >= expected.len()));
    std::thread::sleep(Duration::from_millis(300));
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    assert!(child.wait().unwrap().success(), "SIGTERM exits cleanly");
    let events: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let sample = days[0].lines().count() as u64;
    assert_eq!(events["events"].as_u64(), Some(30 * sample), "{kills} kills: every event processed exactly once");
    let mut got = lines(&alerts);
    got.sort();
    expected.sort();
    assert_eq!(got.len(), expected.len(), "{kills} kills: an alert lost or written twice");
    assert_eq!(got, expected, "after {kills} kills the live run and the replay must agree alert for alert");
    // The trail: every read once, none lost and none stored twice (rows
    // written after the last checkpoint before a kill were cut at restart).
    let store = vigie_store::Store::open(&d.join("state").join("vigie.db").display().to_string()).unwrap();
    assert!(store.trail_files.is_some());
    assert_eq!(store.access_count().unwrap(), 30, "{kills} kills: trail rows stored");
    let scope = vigie_store::Scope { accounts: vec!["adv00042".into()], sources: vec![], from_ms: 0, to_ms: i64::MAX };
    assert_eq!(store.accesses(&scope).unwrap().len(), 30);
}

/// Issue 16, fault injection on NATS: the days are published to a
/// JetStream stream while `vigie run` consumes it through its durable
/// consumer, and the engine is killed with SIGKILL at pseudo-random
/// moments (often between a checkpoint and the acknowledgements it
/// releases). JetStream redelivers what was not acknowledged; the alerts
/// must be exactly those of a replay of everything, and every event must be
/// processed once.
#[test]
fn kill_9_at_random_during_nats_ingest_changes_nothing() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _inside = rt.enter();
    let client =
        rt.block_on(async_nats::connect("nats://127.0.0.1:4222")).expect("NATS on 127.0.0.1:4222 (see README)");
    let js = async_nats::jetstream::new(client);
    let tag = format!(
        "K{}_{}",
        std::process::id(),
        std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos())
    );
    let (stream, subject) = (format!("VIGIE_KILL_{tag}"), format!("vigie.kill.{tag}"));
    rt.block_on(js.create_stream(async_nats::jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![subject.clone()],
        ..Default::default()
    }))
    .unwrap();
    let publish = |text: &str| {
        rt.block_on(async {
            for l in text.lines() {
                js.publish(subject.clone(), l.to_string().into()).await.unwrap().await.unwrap();
            }
        })
    };

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let days = days(20);
    let whole = d.join("all.jsonl");
    std::fs::write(&whole, days.concat()).unwrap();
    let rules = repo().join("rules/vigie");
    let mut expected = replayed(&rules, &whole, &d.join("expected.jsonl"));
    assert_eq!(expected.len(), 3 * 20);

    let alerts = d.join("alerts.jsonl");
    let summary = d.join("summary.json");
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = d.join("vigie.toml");
    std::fs::write(
        &config,
        format!(
            "[rules]\npaths = [{rules:?}]\n[engine]\nstate_dir = {state:?}\ncheckpoint_interval = \"20ms\"\nadvance_when_idle = false\n[server]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"t\"\n[[inputs]]\ntype = \"nats\"\nstream = \"{stream}\"\ndurable = \"vigie\"\nformat = \"json\"\nack_wait = \"2s\"\n[[sinks]]\ntype = \"jsonl\"\npath = {alerts:?}\n",
            rules = rules.display().to_string(),
            state = d.join("state").display().to_string(),
            alerts = alerts.display().to_string(),
        ),
    )
    .unwrap();
    let start = || {
        vigie()
            .args(["run", "--config"])
            .arg(&config)
            .arg("--summary-json")
            .arg(&summary)
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap()
    };
    let up = || wait(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    let mut child = start();
    assert!(up(), "vigie run did not start");
    let mut next = kill_points(0x5eed_4a75);
    let mut kills = 0;
    for day in &days {
        // About one day in three is hit, 0 to 60 ms after its first event.
        let killer = (next(3) == 0).then(|| {
            let (pid, delay) = (child.id(), next(60));
            std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(delay));
                let _ = Command::new("kill").arg("-KILL").arg(pid.to_string()).status();
            })
        });
        publish(day);
        if let Some(k) = killer {
            k.join().unwrap();
            child.wait().unwrap();
            kills += 1;
            child = start();
            assert!(up(), "vigie run did not restart");
        }
    }
    assert!(kills >= 3, "the seed must kill a few times: {kills}");
    assert!(wait(Duration::from_secs(60), || lines(&alerts).len() >= expected.len()), "{kills} kills: alerts missing");
    // Past the acknowledgement wait: anything redelivered twice would show.
    std::thread::sleep(Duration::from_secs(3));
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    assert!(child.wait().unwrap().success(), "SIGTERM exits cleanly");
    rt.block_on(js.delete_stream(&stream)).unwrap();
    let events: serde_json::Value = serde_json::from_slice(&std::fs::read(&summary).unwrap()).unwrap();
    let sample = days[0].lines().count() as u64;
    assert_eq!(events["events"].as_u64(), Some(20 * sample), "{kills} kills: every event processed exactly once");
    let mut got = lines(&alerts);
    got.sort();
    expected.sort();
    assert_eq!(got.len(), expected.len(), "{kills} kills: an alert lost or written twice");
    assert_eq!(got, expected, "after {kills} kills the live run and the replay must agree alert for alert");
}

/// Issue 16: a response call in flight when the engine is killed. Its
/// outcome is unknown (the receiver may have carried it out): the restart
/// records it `unknown`, from the checkpoint that saw it leave, and does
/// not call it again.
#[test]
fn an_action_in_flight_at_a_kill_is_recorded_unknown_on_restart_and_not_resent() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Accepts, reads, never answers.
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let hook = l.local_addr().unwrap().to_string();
    let got = std::sync::Arc::new(AtomicUsize::new(0));
    let g = got.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
            let mut buf = [0u8; 8192];
            if matches!(std::io::Read::read(&mut c, &mut buf), Ok(n) if n > 0) {
                g.fetch_add(1, Ordering::SeqCst);
            }
            held.push(c);
        }
    });
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let actions = d.join("actions.jsonl");
    let mut cfg = format!(
        "[rules]\npaths = [{rules:?}]\n[engine]\nstate_dir = {state:?}\ncheckpoint_interval = \"50ms\"\n[server]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"t\"\n[[inputs]]\ntype = \"http\"\nformat = \"json\"\n[[action_sinks]]\ntype = \"jsonl\"\npath = {actions:?}\n[[response.when]]\nkinds = [\"correlation\"]\nlevel = \"high\"\nactions = [\"suspend_user\", \"create_ticket\"]\n",
        rules = repo().join("rules/vigie").display().to_string(),
        state = d.join("state").display().to_string(),
        actions = actions.display().to_string(),
    );
    for a in ["suspend_user", "create_ticket"] {
        cfg.push_str(&format!(
            "[response.actions.{a}]\nurl = \"http://{hook}/{a}\"\nsecret = \"k\"\nmax_retries = 0\ntimeout = \"1h\"\n"
        ));
    }
    let config = d.join("vigie.toml");
    std::fs::write(&config, cfg).unwrap();
    let up = || wait(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    let mut child = start(&config);
    assert!(up(), "vigie run did not start");
    let sample = std::fs::read_to_string(repo().join("samples/app/auth-attacks.jsonl")).unwrap();
    assert_eq!(ingest(port, "only", &sample), Some(200));
    // Every call reached the receiver, and checkpoints have seen them leave.
    assert!(wait(Duration::from_secs(20), || got.load(Ordering::SeqCst) >= 3), "calls: {}", got.load(Ordering::SeqCst));
    std::thread::sleep(Duration::from_millis(500));
    assert!(lines(&actions).is_empty(), "nothing is recorded while the calls hang: {:?}", lines(&actions));
    child.kill().unwrap();
    child.wait().unwrap();

    child = start(&config);
    assert!(up(), "vigie run did not restart");
    assert!(wait(Duration::from_secs(20), || lines(&actions).len() >= 3), "{:?}", lines(&actions));
    std::thread::sleep(Duration::from_millis(500));
    let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
    assert!(child.wait().unwrap().success(), "SIGTERM exits cleanly");
    let acts: Vec<serde_json::Value> = lines(&actions).iter().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(acts.len(), 3, "{acts:?}");
    for a in &acts {
        assert_eq!(a["action"]["status"], "unknown", "{a}");
        assert!(a["action"]["reason"].as_str().unwrap().contains("in flight"), "{a}");
    }
    // Not called again after the restart: it may have been carried out.
    assert_eq!(got.load(Ordering::SeqCst), 3);
}

/// Issue 18: trail rows written after the last checkpoint (a flush whose
/// checkpoint a kill prevented) are cut when the engine restarts, so that
/// the replay of the unacknowledged events that follows appends them once.
#[test]
fn trail_rows_written_after_the_last_checkpoint_are_cut_at_restart() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let config = d.join("vigie.toml");
    std::fs::write(
        &config,
        format!(
            "[engine]\nstate_dir = {state:?}\n[server]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"t\"\n[[inputs]]\ntype = \"http\"\nformat = \"json\"\n[store]\ntrail_retention = \"100000d\"\n",
            state = d.join("state").display().to_string(),
        ),
    )
    .unwrap();
    let up = || wait(Duration::from_secs(30), || std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    let read = |n: u32| {
        format!(
            "{{\"@timestamp\":\"2026-03-02T09:0{n}:00.000Z\",\"event\":{{\"category\":[\"database\"],\"type\":[\"access\"],\"action\":\"beneficiary.view\",\"outcome\":\"success\"}},\"user\":{{\"name\":\"adv1\",\"roles\":[\"advisor\"]}},\"source\":{{\"ip\":\"10.0.0.1\"}},\"data_subject\":{{\"ids\":[\"p{n}\"],\"count\":1}}}}\n"
        )
    };
    let stop = |child: &mut Child| {
        let _ = Command::new("kill").arg("-TERM").arg(child.id().to_string()).status();
        assert!(child.wait().unwrap().success());
    };
    let mut child = start(&config);
    assert!(up());
    assert_eq!(ingest(port, "a", &read(1)), Some(200));
    stop(&mut child);
    let db = d.join("state").join("vigie.db").display().to_string();
    let count = || vigie_store::Store::open(&db).unwrap().access_count().unwrap();
    assert_eq!(count(), 1);
    // Rows past the checkpoint, as a flush leaves them when a kill comes
    // before its checkpoint is written.
    let store = vigie_store::Store::open(&db).unwrap();
    let key = vigie_analytics::Pseudonymiser::new(b"k");
    let extra = vigie_analytics::Access {
        id: "x".into(),
        ts: 1_772_442_000_000,
        account: "adv1".into(),
        source_ip: None,
        user_agent: None,
        kind: "read".into(),
        action: "beneficiary.view".into(),
        target: None,
        categories: vec![],
        subjects: vec![key.pseudonym("p9")],
        records: 1,
        bytes: None,
    };
    store.write_accesses(&[extra]).unwrap();
    drop(store);
    assert_eq!(count(), 2);
    let mut child = start(&config);
    assert!(up());
    stop(&mut child);
    assert_eq!(count(), 1, "the restart cut the rows the checkpoint did not cover");
}
