//! HTTP ingest against a running engine: authentication, NDJSON and the
//! Elasticsearch bulk API, and every kind of bad input, each of which gets a
//! clear answer or a counted rejection while the engine keeps going.

mod common;
use common::*;
use std::io::Write;
use std::time::Duration;

const TOKEN: &str = "test-token";

fn start(dir: &std::path::Path, extra: &str) -> Running {
    let port = free_port();
    Running::start(&format!(
        "[rules]\npaths = [{rules:?}]\n[engine]\nstate_dir = {state:?}\ncheckpoint_interval = \"200ms\"\n{extra}\n[server]\nlisten = \"127.0.0.1:{port}\"\ntoken = \"{TOKEN}\"\nmax_body = 100000\n[[inputs]]\ntype = \"http\"\n[[sinks]]\ntype = \"jsonl\"\npath = {alerts:?}\n",
        rules = rules_dir(),
        state = dir.join("state").display().to_string(),
        alerts = dir.join("alerts.jsonl").display().to_string(),
    ))
}

fn auth() -> (&'static str, String) {
    ("Authorization", format!("Bearer {TOKEN}"))
}

fn post(addr: &str, path: &str, ct: &str, body: &[u8]) -> (u16, String) {
    let (k, v) = auth();
    http(addr, "POST", path, &[(k, &v), ("Content-Type", ct)], body)
}

#[test]
fn ndjson_ingest_with_bad_lines_counted_and_the_rest_detected() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), "");
    let addr = e.addr.clone();
    // No token, wrong token: refused, and nothing is read.
    assert_eq!(http(&addr, "POST", "/ingest", &[("Content-Type", "application/x-ndjson")], b"{}").0, 401);
    let (s, _) = http(
        &addr,
        "POST",
        "/ingest",
        &[("Authorization", "Bearer nope"), ("Content-Type", "application/x-ndjson")],
        b"{}",
    );
    assert_eq!(s, 401);
    assert_eq!(http(&addr, "GET", "/metrics", &[], b"").0, 401, "metrics need the token too");
    // The attack sample, with a malformed line and invalid UTF-8 mixed in.
    let mut body = auth_sample().into_bytes();
    body.extend_from_slice(b"{\"@timestamp\": oops}\n\xff\xfe{\"a\":1}\n");
    let (status, reply) = post(&addr, "/ingest", "application/x-ndjson", &body);
    assert_eq!(status, 200, "{reply}");
    assert!(reply.contains("\"accepted\":27"), "{reply}");
    assert_eq!(metric(&addr, TOKEN, "vigie_decode_errors_total{input=\"http#0\"}"), 2.0);
    assert_eq!(metric(&addr, TOKEN, "vigie_events_in_total{input=\"http#0\"}"), 25.0);
    // The checkpoint that answered the request covers its alerts.
    let a = alerts(&dir.path().join("alerts.jsonl"));
    assert_eq!(a.len(), 3, "{a:?}");
    let s = e.finish();
    assert_eq!((s.events, s.decode_errors), (25, 2));
}

#[test]
fn bad_requests_get_clear_answers_and_the_engine_keeps_going() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), "");
    let addr = e.addr.clone();
    let (s, body) = post(&addr, "/ingest", "application/xml", b"<a/>");
    assert_eq!(s, 415);
    assert!(body.contains("application/x-ndjson"), "{body}");
    assert_eq!(metric(&addr, TOKEN, "vigie_rejected_total{input=\"http#0\",reason=\"content_type\"}"), 1.0);
    let big = vec![b'{'; 200_000];
    assert_eq!(post(&addr, "/ingest", "application/x-ndjson", &big).0, 413);
    assert_eq!(metric(&addr, TOKEN, "vigie_rejected_total{input=\"http#0\",reason=\"too_large\"}"), 1.0);
    // A client that goes away in the middle of its body.
    {
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        let (k, v) = auth();
        write!(s, "POST /ingest HTTP/1.1\r\nHost: x\r\n{k}: {v}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 5000\r\n\r\n{{\"a\":").unwrap();
        s.flush().unwrap();
    }
    wait_for(Duration::from_secs(10), || {
        metric(&addr, TOKEN, "vigie_rejected_total{input=\"http#0\",reason=\"aborted\"}") == 1.0
    });
    // Still serving, and still detecting.
    let (status, _) = post(&addr, "/ingest", "application/x-ndjson", auth_sample().as_bytes());
    assert_eq!(status, 200);
    assert_eq!(alerts(&dir.path().join("alerts.jsonl")).len(), 3);
    e.finish();
}

#[test]
fn elasticsearch_bulk_api_for_beats_vector_and_fluent_bit() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), "");
    let addr = e.addr.clone();
    let (k, v) = auth();
    let (s, info) = http(&addr, "GET", "/", &[(k, &v)], b"");
    assert_eq!(s, 200);
    assert!(info.contains("\"number\":\"8."), "shippers read a version: {info}");
    let mut body = String::new();
    for line in auth_sample().lines() {
        body.push_str("{\"create\":{\"_index\":\"logs-portal\"}}\n");
        body.push_str(line);
        body.push('\n');
    }
    body.push_str("{\"delete\":{\"_id\":\"1\"}}\n");
    // Beats send basic auth; the password is the token.
    use base64::Engine as _;
    let basic = format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(format!("elastic:{TOKEN}")));
    let (s, reply) = http(
        &addr,
        "POST",
        "/logs-portal/_bulk",
        &[("Authorization", &basic), ("Content-Type", "application/x-ndjson")],
        body.as_bytes(),
    );
    assert_eq!(s, 200, "{reply}");
    let r: serde_json::Value = serde_json::from_str(&reply).unwrap();
    let items = r["items"].as_array().unwrap();
    assert_eq!(items.len(), 26);
    assert_eq!(items[0]["create"]["status"], 201);
    assert_eq!(items[25]["delete"]["status"], 400);
    assert_eq!(r["errors"], true);
    assert_eq!(alerts(&dir.path().join("alerts.jsonl")).len(), 3);
    e.finish();
}

#[test]
fn a_full_queue_answers_429_with_retry_after() {
    // A feed nobody drains: its one slot is taken, so the next request is refused.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let metrics = std::sync::Arc::new(vigie_runtime::metrics::Metrics::default());
    let (feed, _rx) = vigie_runtime::engine::channel(1, metrics.clone());
    assert!(feed.try_send(vigie_runtime::engine::Batch::new(0, Vec::new())).is_ok());
    let api = vigie_runtime::server::Api {
        token: std::sync::Arc::new(TOKEN.into()),
        metrics: metrics.clone(),
        public_metrics: false,
        max_body: 1 << 20,
    };
    let ingest = vigie_runtime::sources::http::Ingest {
        feed: Some(feed),
        input: 0,
        input_name: "http#0".into(),
        api: api.clone(),
    };
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let listener = rt.block_on(tokio::net::TcpListener::bind(&addr)).unwrap();
    rt.spawn(vigie_runtime::server::serve(
        listener,
        vigie_runtime::server::router(api, vigie_runtime::sources::http::routes(ingest)),
        stop.clone(),
    ));
    let (k, v) = auth();
    let raw = {
        use std::io::Read;
        let mut s = std::net::TcpStream::connect(&addr).unwrap();
        write!(s, "POST /ingest HTTP/1.1\r\nHost: x\r\nConnection: close\r\n{k}: {v}\r\nContent-Type: application/x-ndjson\r\nContent-Length: 7\r\n\r\n{{\"a\":1}}").unwrap();
        s.set_read_timeout(Some(std::time::Duration::from_secs(5))).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        out
    };
    assert!(raw.starts_with("HTTP/1.1 429"), "{raw}");
    assert!(raw.to_ascii_lowercase().contains("retry-after: 1"), "{raw}");
    assert!(metrics.render().contains("vigie_rejected_total{input=\"http#0\",reason=\"queue_full\"} 1"));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
}

#[test]
fn suppressions_created_in_the_store_silence_the_running_engine() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), "");
    let addr = e.addr.clone();
    let (status, _) = post(&addr, "/ingest", "application/x-ndjson", auth_sample().as_bytes());
    assert_eq!(status, 200);
    let first = alerts(&dir.path().join("alerts.jsonl"));
    assert_eq!(first.len(), 3);
    // An analyst suppresses each of them in the console (the store).
    let store = vigie_store::Store::open(dir.path().join("state/vigie.db").to_str().unwrap()).unwrap();
    for (i, a) in first.iter().enumerate() {
        store
            .add_suppression(&vigie_store::SuppressionRow {
                id: format!("s{i}"),
                rule_id: a["rule"]["id"].as_str().map(str::to_string),
                account: a["user"]["name"].as_str().map(str::to_string),
                source_ip: a["source"]["ip"].as_str().map(str::to_string),
                reason: "known test traffic".into(),
                created_by: "ana".into(),
                created_ms: vigie_store::now_ms(),
                expires_ms: vigie_store::now_ms() + 3_600_000,
            })
            .unwrap();
    }
    // The engine reads the store's suppressions every two seconds. The
    // same attacks again, a day later.
    std::thread::sleep(Duration::from_millis(2500));
    let again = auth_sample().replace("\"2026-03-02T", "\"2026-03-03T");
    let (status, _) = post(&addr, "/ingest", "application/x-ndjson", again.as_bytes());
    assert_eq!(status, 200);
    let s = e.finish();
    assert_eq!((s.late, s.suppressed), (0, 3), "{s:?}");
    // Nothing new and no repeat tallies: the same three alerts.
    assert_eq!(alerts(&dir.path().join("alerts.jsonl")).len(), 3);
}

/// A receiver that accepts connections and reads requests but never
/// answers; it counts the requests it got.
pub fn hung_receiver() -> (String, std::sync::Arc<std::sync::atomic::AtomicUsize>) {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let got = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let g = got.clone();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for c in l.incoming() {
            let Ok(mut c) = c else { continue };
            let g = g.clone();
            let _ = c.set_read_timeout(Some(Duration::from_millis(500)));
            let mut buf = [0u8; 4096];
            if matches!(std::io::Read::read(&mut c, &mut buf), Ok(n) if n > 0) {
                g.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
            held.push(c);
        }
    });
    (addr, got)
}

/// Issue 16: a webhook sink whose receiver never answers held every
/// checkpoint, so `/ingest` answered 503 after 60 s and resent events were
/// processed again. Now the answer comes while the receiver still holds the
/// deliveries, and a full sink drops and counts.
#[test]
fn a_hung_webhook_sink_never_holds_ingest() {
    let dir = tempfile::tempdir().unwrap();
    let (hook, got) = hung_receiver();
    // Delivery attempts may take an hour: only the sink's own tasks wait.
    let e = start(
        dir.path(),
        &format!(
            "[[sinks]]\ntype = \"webhook\"\nurl = \"http://{hook}/\"\nsecret = \"k\"\ntimeout = \"1h\"\nqueue = 2\n"
        ),
    );
    let addr = e.addr.clone();
    let (status, reply) = post(&addr, "/ingest", "application/x-ndjson", auth_sample().as_bytes());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(alerts(&dir.path().join("alerts.jsonl")).len(), 3);
    // Two alerts held by the sink (the receiver has them, unanswered), the
    // third dropped and counted.
    wait_for(Duration::from_secs(10), || got.load(std::sync::atomic::Ordering::SeqCst) == 2);
    assert_eq!(metric(&addr, TOKEN, "vigie_sink_queue{sink=\"webhook#0\"}"), 2.0);
    assert_eq!(metric(&addr, TOKEN, "vigie_sink_dropped_total{sink=\"webhook#0\"}"), 1.0);
    // Still detecting, once per event.
    let again = auth_sample().replace("\"2026-03-02T", "\"2026-03-03T");
    assert_eq!(post(&addr, "/ingest", "application/x-ndjson", again.as_bytes()).0, 200);
    let s = e.finish();
    assert_eq!(s.events, 50);
}

fn gzip(data: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

/// Issue 16: `Content-Encoding: gzip` was not decoded on either route.
#[test]
fn gzip_bodies_are_expanded_on_both_routes_within_the_cap() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), "");
    let addr = e.addr.clone();
    let (k, v) = auth();
    let hdr = |enc: &'static str| {
        vec![(k, v.clone()), ("Content-Type", "application/x-ndjson".into()), ("Content-Encoding", enc.to_string())]
    };
    let send = |path: &str, enc: &'static str, body: &[u8]| {
        let h = hdr(enc);
        let h: Vec<(&str, &str)> = h.iter().map(|(a, b)| (*a, b.as_str())).collect();
        http(&addr, "POST", path, &h, body)
    };
    let (s, reply) = send("/ingest", "gzip", &gzip(auth_sample().as_bytes()));
    assert_eq!(s, 200, "{reply}");
    assert!(reply.contains("\"accepted\":25"), "{reply}");
    assert_eq!(metric(&addr, TOKEN, "vigie_decode_errors_total{input=\"http#0\"}"), 0.0);
    assert_eq!(alerts(&dir.path().join("alerts.jsonl")).len(), 3);
    // The bulk API, a day later.
    let mut bulk = String::new();
    for line in auth_sample().replace("\"2026-03-02T", "\"2026-03-03T").lines() {
        bulk.push_str("{\"create\":{}}\n");
        bulk.push_str(line);
        bulk.push('\n');
    }
    let (s, reply) = send("/_bulk", "gzip", &gzip(bulk.as_bytes()));
    assert_eq!(s, 200, "{reply}");
    let r: serde_json::Value = serde_json::from_str(&reply).unwrap();
    assert_eq!(r["errors"], false, "{reply}");
    assert_eq!(alerts(&dir.path().join("alerts.jsonl")).len(), 6);
    // A bomb: 150 KB of zeros in a few hundred bytes, over max_body (100 KB).
    let bomb = gzip(&vec![b'0'; 150_000]);
    assert!(bomb.len() < 1000);
    assert_eq!(send("/ingest", "gzip", &bomb).0, 413);
    assert_eq!(send("/_bulk", "gzip", &bomb).0, 413);
    assert_eq!(metric(&addr, TOKEN, "vigie_rejected_total{input=\"http#0\",reason=\"too_large\"}"), 2.0);
    assert_eq!(send("/ingest", "zstd", b"\x28\xb5\x2f\xfd").0, 415);
    assert_eq!(send("/ingest", "gzip", b"not gzip").0, 400);
    let s = e.finish();
    assert_eq!((s.events, s.decode_errors), (50, 0));
}

/// Issue 16: a batch whose decoding or detection panicked left the in-order
/// stage waiting forever. Now the event is skipped, the batch counted, and
/// its other events processed. (`vigie-test-panic` makes detection panic in
/// test builds: the `fault-injection` feature.)
#[test]
fn a_panicking_event_is_skipped_and_its_batch_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), "");
    let addr = e.addr.clone();
    let sample = auth_sample();
    let lines: Vec<&str> = sample.lines().collect();
    let body = format!("{}\n{{\"msg\":\"vigie-test-panic\"}}\n{}\n", lines[..12].join("\n"), lines[12..].join("\n"));
    let (status, reply) = post(&addr, "/ingest", "application/x-ndjson", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(metric(&addr, TOKEN, "vigie_batches_failed_total{input=\"http#0\"}"), 1.0);
    assert_eq!(metric(&addr, TOKEN, "vigie_events_in_total{input=\"http#0\"}"), 25.0);
    assert_eq!(alerts(&dir.path().join("alerts.jsonl")).len(), 3);
    // A real line that made the syslog decoder panic (a multi-byte
    // character where the timestamp is cut): whatever the decoder makes of
    // it, the events around it are processed.
    let again = auth_sample().replace("\"2026-03-02T", "\"2026-03-03T");
    let body = format!("{again}<13>Ja\u{e9}45678901234 host tag: msg\n{again}");
    let (status, reply) = post(&addr, "/ingest", "text/plain", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
    assert!(metric(&addr, TOKEN, "vigie_events_in_total{input=\"http#0\"}") >= 75.0);
    let s = e.finish();
    assert!(s.events >= 75, "{s:?}");
}

/// Issue 16: a panic in the stateful stage itself (correlations, analytics,
/// merge) stopped the engine thread and with it every input. Now the event
/// is skipped, logged by its place, the batch counted, and the events
/// before and after it are applied and alerted on. (An account named
/// `vigie-test-stage-panic` makes the stage panic in test builds.)
#[test]
fn a_panic_in_the_stage_skips_the_event_and_the_stream_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), "");
    let addr = e.addr.clone();
    let sample = auth_sample();
    let lines: Vec<&str> = sample.lines().collect();
    let bomb = r#"{"@timestamp":"2026-03-02T10:00:00Z","event":{"action":"beneficiary.view"},"user":{"name":"vigie-test-stage-panic"},"source":{"ip":"10.0.0.9"},"data_subject":{"count":1}}"#;
    let body = format!("{}\n{bomb}\n{}\n", lines[..12].join("\n"), lines[12..].join("\n"));
    let (status, reply) = post(&addr, "/ingest", "application/x-ndjson", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(metric(&addr, TOKEN, "vigie_batches_failed_total{input=\"http#0\"}"), 1.0);
    assert_eq!(alerts(&dir.path().join("alerts.jsonl")).len(), 3, "the sample's alerts, as without the bad event");
    // The engine still takes events afterwards.
    let again = auth_sample().replace("\"2026-03-02T", "\"2026-03-03T");
    let (status, reply) = post(&addr, "/ingest", "application/x-ndjson", again.as_bytes());
    assert_eq!(status, 200, "{reply}");
    let s = e.finish();
    assert!(s.events >= 50, "{s:?}");
}

/// Issue 16: a batch checkpointed but never acknowledged (the engine was
/// killed between the two) was processed twice when resent. With an
/// `Idempotency-Key` (or the `_bulk` documents' `_id`s) it is processed
/// once, also after a restart, and answered as accepted.
#[test]
fn a_resent_batch_with_an_idempotency_key_is_processed_once() {
    let dir = tempfile::tempdir().unwrap();
    let (k, v) = auth();
    let send = |addr: &str, path: &str, key: Option<&str>, body: &[u8]| {
        let mut h = vec![(k, v.as_str()), ("Content-Type", "application/x-ndjson")];
        if let Some(key) = key {
            h.push(("Idempotency-Key", key));
        }
        http(addr, "POST", path, &h, body)
    };
    let mut bulk = String::new();
    for (i, line) in auth_sample().replace("\"2026-03-02T", "\"2026-03-03T").lines().enumerate() {
        bulk.push_str(&format!("{{\"create\":{{\"_id\":\"doc-{i}\"}}}}\n{line}\n"));
    }
    let e = start(dir.path(), "");
    let addr = e.addr.clone();
    for _ in 0..2 {
        let (s, reply) = send(&addr, "/ingest", Some("batch-1"), auth_sample().as_bytes());
        assert_eq!(s, 200, "{reply}");
        assert!(reply.contains("\"accepted\":25"), "{reply}");
        let (s, reply) = send(&addr, "/_bulk", None, bulk.as_bytes());
        assert_eq!(s, 200, "{reply}");
    }
    assert_eq!(metric(&addr, TOKEN, "vigie_duplicate_batches_total{input=\"http#0\"}"), 2.0);
    let s = e.finish();
    assert_eq!(s.events, 50, "{s:?}");
    // The keys are checkpointed: a resend after a restart is recognised.
    let e = start(dir.path(), "");
    let addr = e.addr.clone();
    assert_eq!(send(&addr, "/ingest", Some("batch-1"), auth_sample().as_bytes()).0, 200);
    assert_eq!(send(&addr, "/_bulk", None, bulk.as_bytes()).0, 200);
    // Without a key, a resend is processed again (the documented contract).
    assert_eq!(send(&addr, "/ingest", None, auth_sample().replace("\"2026-03-02T", "\"2026-03-04T").as_bytes()).0, 200);
    let long = "k".repeat(300);
    assert_eq!(send(&addr, "/ingest", Some(&long), b"{}").0, 400);
    let s = e.finish();
    assert_eq!(s.events, 75, "{s:?}");
    assert_eq!(alerts(&dir.path().join("alerts.jsonl")).len(), 9);
}

/// A read of personal data dated 2099 is still a read: the trail files it
/// at the trusted time the stage gives the event, where an incident's
/// window finds it, not in a day file of 2099 that no window and no
/// retention reaches.
#[test]
fn a_read_dated_2099_is_kept_in_the_trail_at_the_trusted_time() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), "max_clock_skew = \"5m\"");
    let addr = e.addr.clone();
    let read = |ts: &str, id: &str| {
        format!(
            "{{\"@timestamp\":\"{ts}\",\"user\":{{\"name\":\"adv1\"}},\"source\":{{\"ip\":\"10.0.0.1\"}},\"event\":{{\"action\":\"beneficiary.view\"}},\"data_subject\":{{\"ids\":[\"{id}\"]}}}}\n"
        )
    };
    let body = read("2026-03-02T10:00:00Z", "1001") + &read("2099-01-01T00:00:00Z", "1002");
    let (status, reply) = post(&addr, "/ingest", "application/x-ndjson", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
    let s = e.finish();
    assert_eq!(s.clamped, 1, "{s:?}");
    let store = vigie_store::Store::open(&dir.path().join("state/vigie.db").display().to_string()).unwrap();
    let scope = vigie_store::Scope { accounts: vec!["adv1".into()], sources: vec![], from_ms: 0, to_ms: i64::MAX };
    let rows = store.accesses(&scope).unwrap();
    let trusted = "2026-03-02T10:00:00Z".parse::<jiff::Timestamp>().unwrap().as_millisecond();
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert!(rows.iter().all(|r| r.ts == trusted), "{rows:?}");
}

/// Issue 16: one event dated 2099 made every later event late, and `run`
/// checkpointed that watermark. Now its time is not trusted: counted, and
/// the attacks after it are still correlated.
#[test]
fn an_event_from_2099_does_not_poison_the_running_engine() {
    let dir = tempfile::tempdir().unwrap();
    let e = start(dir.path(), "max_clock_skew = \"5m\"");
    let addr = e.addr.clone();
    let body = format!(
        "{{\"@timestamp\":\"2099-01-01T00:00:00Z\",\"event\":{{\"category\":[\"authentication\"],\"outcome\":\"failure\"}},\"user\":{{\"name\":\"x\"}}}}\n{}",
        auth_sample()
    );
    let (status, reply) = post(&addr, "/ingest", "application/x-ndjson", body.as_bytes());
    assert_eq!(status, 200, "{reply}");
    assert_eq!(metric(&addr, TOKEN, "vigie_event_time_clamped_total"), 1.0);
    let correlations =
        alerts(&dir.path().join("alerts.jsonl")).iter().filter(|a| a["alert"]["kind"] == "correlation").count();
    assert_eq!(correlations, 3);
    let s = e.finish();
    assert_eq!((s.late, s.clamped), (0, 1), "{s:?}");
}
