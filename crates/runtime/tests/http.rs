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
    let server = vigie_runtime::sources::http::Server {
        feed: Some(feed),
        input: 0,
        input_name: "http#0".into(),
        token: std::sync::Arc::new(TOKEN.into()),
        metrics: metrics.clone(),
        public_metrics: false,
    };
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let listener = rt.block_on(tokio::net::TcpListener::bind(&addr)).unwrap();
    rt.spawn(vigie_runtime::sources::http::serve(
        listener,
        vigie_runtime::sources::http::router(server, 1 << 20),
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
