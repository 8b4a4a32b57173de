//! Syslog in, signed webhooks out, and NATS JetStream both ways, against
//! real sockets and the NATS server on 127.0.0.1:4222.

mod common;
use common::*;
use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const TOKEN: &str = "t";

/// The attack sample's lines wrapped in RFC 5424 syslog frames.
fn syslog_lines() -> Vec<String> {
    auth_sample().lines().map(|l| format!("<86>1 2026-03-02T00:00:00Z portal app 42 - - {l}")).collect()
}

#[test]
fn syslog_over_udp_and_tcp_with_a_truncated_frame() {
    let dir = tempfile::tempdir().unwrap();
    let (udp, tcp) = (free_port(), free_port());
    let e = Running::start(&format!(
        "[rules]\npaths = [{:?}]\n[engine]\nstate_dir = {:?}\nadvance_when_idle = false\n[server]\nlisten = \"127.0.0.1:{}\"\ntoken = \"{TOKEN}\"\n[[inputs]]\ntype = \"syslog\"\nudp = \"127.0.0.1:{udp}\"\ntcp = \"127.0.0.1:{tcp}\"\n[[sinks]]\ntype = \"jsonl\"\npath = {:?}\n",
        rules_dir(),
        dir.path().join("state").display().to_string(),
        free_port(),
        dir.path().join("alerts.jsonl").display().to_string()
    ));
    let lines = syslog_lines();
    // The first half over UDP, one datagram each.
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let half = lines.len() / 2;
    for l in &lines[..half] {
        sock.send_to(l.as_bytes(), ("127.0.0.1", udp)).unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    wait_for(Duration::from_secs(10), || {
        metric(&e.addr, TOKEN, "vigie_events_in_total{input=\"syslog#0\"}") >= half as f64
    });
    // The rest over TCP, octet-counted, then a frame cut short by a disconnect.
    {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", tcp)).unwrap();
        for l in &lines[half..] {
            write!(s, "{} {l}", l.len()).unwrap();
        }
        write!(s, "500 <13>1 - - - - - - cut short").unwrap();
    }
    wait_for(Duration::from_secs(10), || {
        metric(&e.addr, TOKEN, "vigie_events_in_total{input=\"syslog#0\"}") >= lines.len() as f64
    });
    wait_for(Duration::from_secs(10), || {
        metric(&e.addr, TOKEN, "vigie_decode_errors_total{input=\"syslog#0\"}") == 1.0
    });
    let s = e.finish();
    assert_eq!(s.events, lines.len() as u64);
    let a = alerts(&dir.path().join("alerts.jsonl"));
    assert_eq!(a.len(), 3, "the JSON payloads were decoded and correlated: {a:?}");
}

/// Deliveries received: (signature header, alert or action id header, body).
type Received = Arc<Mutex<Vec<(String, String, Vec<u8>)>>>;

/// A webhook receiver that fails the first two deliveries, then records.
fn receiver(port: u16) -> Received {
    let got: Received = Arc::default();
    let g = got.clone();
    let failures = Arc::new(Mutex::new(2));
    std::thread::spawn(move || {
        let rt = tokio::runtime::Runtime::new().unwrap();
        rt.block_on(async move {
            use axum::http::{HeaderMap, StatusCode};
            let handler = axum::routing::post(move |headers: HeaderMap, body: axum::body::Bytes| {
                let (g, failures) = (g.clone(), failures.clone());
                async move {
                    let mut f = failures.lock().unwrap();
                    if *f > 0 {
                        *f -= 1;
                        return StatusCode::INTERNAL_SERVER_ERROR;
                    }
                    let h = |k: &str| headers.get(k).and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
                    let id = h("x-vigie-alert-id") + &h("x-vigie-action-id");
                    g.lock().unwrap().push((h("x-vigie-signature"), id, body.to_vec()));
                    StatusCode::OK
                }
            });
            let app = axum::Router::new().route("/hook", handler.clone()).route("/act", handler);
            let l = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.unwrap();
            axum::serve(l, app).await.unwrap();
        });
    });
    got
}

#[test]
fn webhook_deliveries_are_signed_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let hook = free_port();
    let got = receiver(hook);
    let e = Running::start(&format!(
        "[rules]\npaths = [{:?}]\n[engine]\nstate_dir = {:?}\n[server]\nlisten = \"127.0.0.1:{}\"\ntoken = \"{TOKEN}\"\n[[inputs]]\ntype = \"http\"\n[[sinks]]\ntype = \"webhook\"\nurl = \"http://127.0.0.1:{hook}/hook\"\nsecret = \"s3cret\"\nmax_retries = 4\n",
        rules_dir(),
        dir.path().join("state").display().to_string(),
        free_port(),
    ));
    let (s, _) = http(
        &e.addr,
        "POST",
        "/ingest",
        &[("Authorization", "Bearer t"), ("Content-Type", "application/x-ndjson")],
        auth_sample().as_bytes(),
    );
    // Ingest does not wait for the webhook (its own tasks deliver).
    assert_eq!(s, 200);
    wait_for(std::time::Duration::from_secs(20), || got.lock().unwrap().len() >= 3);
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 3, "each alert once, after two failed attempts were retried");
    for (sig, id, body) in &got {
        assert_eq!(sig, &vigie_runtime::sinks::signature(b"s3cret", body));
        let v: serde_json::Value = serde_json::from_slice(body).unwrap();
        assert_eq!(v["alert"]["id"].as_str(), Some(id.as_str()));
    }
    e.finish();
}

#[test]
fn response_actions_call_signed_webhooks_and_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let hook = free_port();
    let got = receiver(hook);
    let actions = dir.path().join("actions.jsonl");
    let e = Running::start(&format!(
        r#"[rules]
paths = [{:?}]
[engine]
state_dir = {:?}
[server]
listen = "127.0.0.1:{}"
token = "{TOKEN}"
[[inputs]]
type = "http"
[response]
never_block = ["198.51.100.0/24"]
[[response.when]]
kinds = ["correlation"]
level = "high"
actions = ["suspend_user", "block_ip"]
[response.actions.suspend_user]
url = "http://127.0.0.1:{hook}/act"
secret = "act-s3cret"
max_retries = 4
payload = {{ login = "{{{{user.name}}}}", alert = "{{{{alert.id}}}}" }}
[[action_sinks]]
type = "jsonl"
path = {:?}
"#,
        rules_dir(),
        dir.path().join("state").display().to_string(),
        free_port(),
        actions.display().to_string(),
    ));
    let (s, _) = http(
        &e.addr,
        "POST",
        "/ingest",
        &[("Authorization", "Bearer t"), ("Content-Type", "application/x-ndjson")],
        auth_sample().as_bytes(),
    );
    assert_eq!(s, 200);
    let summary = e.finish();
    let got = got.lock().unwrap().clone();
    assert_eq!(got.len(), 1, "one suspension, delivered after two failed attempts: {got:?}");
    let (sig, id, body) = &got[0];
    assert_eq!(sig, &vigie_runtime::sinks::signature(b"act-s3cret", body));
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["login"], "adv00077", "the high alert: success after repeated failures");
    let recs = alerts(&actions);
    assert_eq!(recs.len(), 2, "{recs:?}");
    let suspend = recs.iter().find(|r| r["action"]["type"] == "suspend_user").unwrap();
    assert_eq!(suspend["action"]["status"], "executed");
    assert_eq!(suspend["action"]["id"].as_str(), Some(id.as_str()));
    assert_eq!(suspend["action"]["response"]["attempts"], 3);
    assert_eq!(suspend["alert"]["id"], v["alert"]);
    // The attacker's address is in never_block: held for a person.
    let block = recs.iter().find(|r| r["action"]["type"] == "block_ip").unwrap();
    assert_eq!(block["action"]["status"], "pending_approval");
    assert_eq!(summary.actions.get("executed"), Some(&1));
}

#[test]
fn nats_jetstream_in_and_out() {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let _inside = rt.enter();
    let tag = format!("T{}_{}", std::process::id(), free_port());
    let (stream, subject, alerts_subject) =
        (format!("VIGIE_{tag}"), format!("vigie.test.{tag}.in"), format!("vigie.test.{tag}.alerts"));
    let client =
        rt.block_on(async_nats::connect("nats://127.0.0.1:4222")).expect("NATS on 127.0.0.1:4222 (see README)");
    let js = async_nats::jetstream::new(client.clone());
    rt.block_on(js.create_stream(async_nats::jetstream::stream::Config {
        name: stream.clone(),
        subjects: vec![subject.clone()],
        ..Default::default()
    }))
    .unwrap();
    let mut sub = rt.block_on(client.subscribe(alerts_subject.clone())).unwrap();
    for l in auth_sample().lines() {
        rt.block_on(async { js.publish(subject.clone(), l.to_string().into()).await.unwrap().await.unwrap() });
    }
    let dir = tempfile::tempdir().unwrap();
    let e = Running::start(&format!(
        "[rules]\npaths = [{:?}]\n[engine]\nstate_dir = {:?}\ncheckpoint_interval = \"100ms\"\n[server]\nlisten = \"127.0.0.1:{}\"\ntoken = \"{TOKEN}\"\n[[inputs]]\ntype = \"nats\"\nstream = \"{stream}\"\ndurable = \"vigie\"\n[[sinks]]\ntype = \"nats\"\nsubject = \"{alerts_subject}\"\n",
        rules_dir(),
        dir.path().join("state").display().to_string(),
        free_port(),
    ));
    let mut received = Vec::new();
    rt.block_on(async {
        use futures_util::StreamExt;
        while received.len() < 3 {
            let m = tokio::time::timeout(Duration::from_secs(20), sub.next()).await.expect("alerts on NATS").unwrap();
            received.push(m);
        }
    });
    assert!(received.iter().all(|m| m.headers.as_ref().and_then(|h| h.get("Nats-Msg-Id")).is_some()));
    // Every message is acknowledged once a checkpoint covers it.
    wait_for(Duration::from_secs(10), || {
        rt.block_on(async {
            let mut s = js.get_stream(&stream).await.unwrap();
            let mut c: async_nats::jetstream::consumer::PullConsumer = s.get_consumer("vigie").await.unwrap();
            let info = c.info().await.unwrap();
            let _ = &mut s;
            info.num_ack_pending == 0 && info.delivered.stream_sequence == 25
        })
    });
    e.finish();
    rt.block_on(js.delete_stream(&stream)).unwrap();
}

#[test]
fn an_alert_sink_writes_ocsf_detection_findings_when_told() {
    let dir = tempfile::tempdir().unwrap();
    let (mine, ocsf) = (dir.path().join("alerts.jsonl"), dir.path().join("ocsf.jsonl"));
    let e = Running::start(&http_config(
        dir.path(),
        &format!("[[sinks]]\ntype = \"jsonl\"\npath = {:?}\nformat = \"ocsf\"\n", ocsf.display().to_string()),
    ));
    post_auth_sample(&e);
    e.finish();
    let (mine, ocsf) = (alerts(&mine), alerts(&ocsf));
    assert!(!mine.is_empty());
    assert_eq!(mine.len(), ocsf.len(), "every alert in both formats");
    for (a, f) in mine.iter().zip(&ocsf) {
        assert_eq!(f["class_uid"], 2004, "{f}");
        assert_eq!(f["finding_info"]["uid"], a["alert"]["id"]);
        assert_eq!(f["finding_info"]["analytic"]["uid"], a["rule"]["id"]);
        assert_eq!(f["unmapped"]["rule_author"], a["rule"]["author"]);
        assert_eq!(f["message"], a["reason"]);
        let level = a["rule"]["level"].as_str().unwrap();
        let want = ["informational", "low", "medium", "high", "critical"].iter().position(|l| *l == level).unwrap() + 1;
        assert_eq!(f["severity_id"], want as u64);
        if let Some(user) = a["user"]["name"].as_str() {
            assert_eq!(f["evidences"][0]["user"]["name"], user);
        }
    }
}

#[test]
fn ocsf_is_refused_on_action_sinks() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = vigie_runtime::config::Config::parse(&format!(
        r#"[engine]
state_dir = {:?}
[server]
listen = "127.0.0.1:{}"
[[inputs]]
type = "http"
[[action_sinks]]
type = "jsonl"
path = "a.jsonl"
format = "ocsf"
"#,
        dir.path().join("state").display().to_string(),
        free_port(),
    ))
    .unwrap();
    let err = vigie_runtime::run(&cfg, std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true))).unwrap_err();
    assert!(format!("{err:#}").contains("actions:jsonl#0: format = \"ocsf\" is for alert sinks"), "{err:#}");
}

/// What a `_bulk` receiver saw: each request's documents (`_id`s), and every
/// way a request broke the bulk protocol.
#[derive(Default)]
struct Bulk {
    requests: Vec<Vec<String>>,
    created: Vec<String>,
    violations: Vec<String>,
}

/// A small Elasticsearch `_bulk` endpoint. It checks the protocol (POST
/// /_bulk, NDJSON, a `create` action with `_index` and `_id` before each ECS
/// alert document, a final newline) and answers as `script` says for the
/// n-th request: `None` indexes every document (409 for an `_id` it has);
/// `Some(Err(status))` refuses the request whole; `Some(Ok(statuses))` gives
/// the first documents those statuses.
fn bulk_receiver(
    port: u16,
    index: &'static str,
    script: impl Fn(usize) -> Option<Result<Vec<u16>, u16>> + Send + 'static,
) -> std::sync::Arc<std::sync::Mutex<Bulk>> {
    use std::io::{BufRead, BufReader, Read, Write};
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Bulk::default()));
    let s = seen.clone();
    let listener = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    std::thread::spawn(move || {
        for conn in listener.incoming() {
            let Ok(mut conn) = conn else { continue };
            let mut r = BufReader::new(conn.try_clone().unwrap());
            let (mut head, mut line) = (Vec::new(), String::new());
            while r.read_line(&mut line).unwrap_or(0) > 2 {
                head.push(std::mem::take(&mut line).trim_end().to_ascii_lowercase());
            }
            let len: usize = head
                .iter()
                .find_map(|h| h.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap()))
                .unwrap_or(0);
            let mut body = vec![0; len];
            r.read_exact(&mut body).unwrap();
            let mut bulk = s.lock().unwrap();
            let n = bulk.requests.len();
            if !head[0].starts_with("post /_bulk ") {
                bulk.violations.push(format!("request line {}", head[0]));
            }
            if !head.iter().any(|h| h == "content-type: application/x-ndjson") {
                bulk.violations.push("content type".into());
            }
            if !body.ends_with(b"\n") {
                bulk.violations.push("no final newline".into());
            }
            let lines: Vec<serde_json::Value> = body
                .split(|b| *b == b'\n')
                .filter(|l| !l.is_empty())
                .map(|l| serde_json::from_slice(l).unwrap())
                .collect();
            let mut ids = Vec::new();
            for pair in lines.chunks(2) {
                let create = &pair[0]["create"];
                if pair[0].as_object().map(|o| o.len()) != Some(1) || create["_index"] != index {
                    bulk.violations.push(format!("action {}", pair[0]));
                }
                let doc = pair.get(1).cloned().unwrap_or_default();
                if doc["event"]["kind"] != "alert" || doc["event"]["id"] != create["_id"] || doc["@timestamp"].is_null()
                {
                    bulk.violations.push(format!("document {doc}"));
                }
                ids.push(create["_id"].as_str().unwrap_or_default().to_string());
            }
            bulk.requests.push(ids.clone());
            let (status, items) = match script(n) {
                Some(Err(status)) => (status, Vec::new()),
                plan => {
                    let given = plan.and_then(Result::ok).unwrap_or_default();
                    let items = ids
                        .iter()
                        .enumerate()
                        .map(|(i, id)| {
                            let st = given.get(i).copied().unwrap_or(if bulk.created.contains(id) { 409 } else { 201 });
                            if st == 201 {
                                bulk.created.push(id.clone());
                            }
                            if st == 0 {
                                // A broken item: no status at all.
                                return serde_json::json!({"create": {"_index": index, "_id": id}});
                            }
                            let error = (st >= 300).then(|| serde_json::json!({"type": if st == 400 { "mapper_parsing_exception" } else { "es_rejected_execution_exception" }}));
                            serde_json::json!({"create": {"_index": index, "_id": id, "status": st, "error": error}})
                        })
                        .collect();
                    (200, items)
                }
            };
            drop(bulk);
            let body = serde_json::json!({"took": 1, "errors": items.iter().any(|i: &serde_json::Value| i["create"]["status"] != 201), "items": items}).to_string();
            let _ = write!(
                conn,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
    });
    seen
}

/// An engine taking HTTP input, with a JSONL alert sink at `dir/alerts.jsonl`
/// and the sinks in `extra`.
fn http_config(dir: &std::path::Path, extra: &str) -> String {
    http_config_with(&rules_dir(), dir, extra)
}

/// [`http_config`] with the rules of `rules`.
fn http_config_with(rules: &str, dir: &std::path::Path, extra: &str) -> String {
    format!(
        r#"[rules]
paths = [{:?}]
[engine]
state_dir = {:?}
[server]
listen = "127.0.0.1:{}"
token = "{TOKEN}"
[[inputs]]
type = "http"
[[sinks]]
type = "jsonl"
path = {:?}
{extra}
"#,
        rules,
        dir.join("state").display().to_string(),
        free_port(),
        dir.join("alerts.jsonl").display().to_string(),
    )
}

/// Send the authentication attack sample and wait for its acknowledgement.
fn post_auth_sample(e: &Running) {
    let (s, _) = http(
        &e.addr,
        "POST",
        "/ingest",
        &[("Authorization", "Bearer t"), ("Content-Type", "application/x-ndjson")],
        auth_sample().as_bytes(),
    );
    assert_eq!(s, 200);
}

fn bulk_config(dir: &std::path::Path, port: u16, extra: &str) -> String {
    let dead = dir.join("dead.jsonl").display().to_string();
    http_config(
        dir,
        &format!(
            "[[sinks]]\ntype = \"elasticsearch\"\nurl = \"http://127.0.0.1:{port}\"\nindex = \"soc-alerts\"\ndead_letter = {dead:?}\nbackoff = \"20ms\"\nbatch_wait = \"2s\"\n{extra}\n"
        ),
    )
}

#[test]
fn the_elasticsearch_sink_speaks_bulk_retries_what_may_succeed_and_dead_letters_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    // First request refused whole (503); the second indexes all but its
    // first document (429, sent again), its second (400, for good) and its
    // third (an item without a status: sent again).
    let seen = bulk_receiver(port, "soc-alerts", |n| match n {
        0 => Some(Err(503)),
        1 => Some(Ok(vec![429, 400, 0])),
        _ => None,
    });
    let e = Running::start(&bulk_config(dir.path(), port, "max_retries = 3"));
    post_auth_sample(&e);
    let ids: Vec<String> = alerts(&dir.path().join("alerts.jsonl"))
        .iter()
        .map(|a| a["alert"]["id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.len() >= 3, "{ids:?}");
    let dead_path = dir.path().join("dead.jsonl");
    wait_for(Duration::from_secs(20), || {
        let b = seen.lock().unwrap();
        b.created.len() + 1 >= ids.len() && dead_path.exists()
    });
    let summary_addr = e.addr.clone();
    let errors = metric(&summary_addr, "t", "vigie_sink_errors_total{sink=\"elasticsearch#1\"}");
    e.finish();
    let b = seen.lock().unwrap();
    assert!(b.violations.is_empty(), "{:#?}", b.violations);
    assert_eq!(b.requests[0], b.requests[1], "a batch refused whole is sent again whole");
    let (retried, refused, broken) = (&b.requests[1][0], &b.requests[1][1], &b.requests[1][2]);
    assert!(b.requests[2].contains(retried) && b.requests[2].contains(broken), "{:?}", b.requests);
    assert!(!b.requests[2].contains(refused));
    let dead = alerts(&dead_path);
    assert_eq!(dead.len(), 1, "{dead:?}");
    assert_eq!(&dead[0]["_id"].as_str().unwrap(), refused);
    assert!(dead[0]["reason"].as_str().unwrap().contains("mapper_parsing_exception"), "{}", dead[0]);
    assert_eq!(dead[0]["document"]["event"]["id"].as_str(), Some(refused.as_str()));
    // Every other alert was indexed exactly once.
    let mut created = b.created.clone();
    created.sort();
    let mut want: Vec<String> = ids.iter().filter(|a| *a != refused).cloned().collect();
    want.sort();
    assert_eq!(created, want);
    assert_eq!(errors, 1.0, "the dead-lettered document is counted");
}

#[test]
fn the_elasticsearch_sink_gives_up_after_its_retries() {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let seen = bulk_receiver(port, "soc-alerts", |_| Some(Err(503)));
    let e = Running::start(&bulk_config(dir.path(), port, "max_retries = 2\nbatch = 1000"));
    post_auth_sample(&e);
    let dead_path = dir.path().join("dead.jsonl");
    wait_for(Duration::from_secs(20), || dead_path.exists());
    e.finish();
    let dead = alerts(&dead_path);
    let b = seen.lock().unwrap();
    // Each batch: the first attempt and two retries, then the dead letters.
    let docs: usize = b.requests.iter().map(Vec::len).sum();
    assert_eq!(docs, 3 * dead.len(), "{:?}", b.requests);
    assert!(dead.iter().all(|d| d["reason"].as_str().unwrap().starts_with("retries exhausted; last: HTTP 503")));
}

/// A rule for the application schema that matches events whose
/// `event.action` is `action`.
fn action_rule(id: &str, action: &str) -> String {
    format!(
        "title: Action {action}\nid: {id}\nstatus: test\nauthor: t\nlogsource: {{product: vigie, category: authentication}}\ndetection:\n  sel:\n    event.action: {action}\n  condition: sel\nlevel: high\n"
    )
}

#[test]
fn rules_reload_live_and_a_broken_set_is_refused_while_the_running_one_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("a.yml"), action_rule("11111111-1111-4111-8111-111111111111", "never_seen")).unwrap();
    let alerts_path = dir.path().join("alerts.jsonl");
    let e =
        Running::start(&http_config_with(&rules.display().to_string(), dir.path(), "[analytics]\nenabled = false\n"));
    let login = |n: u32| {
        format!(
            "{{\"@timestamp\":\"2026-03-02T09:00:{n:02}.000Z\",\"event\":{{\"category\":[\"authentication\"],\"type\":[\"start\"],\"action\":\"user_login\",\"outcome\":\"success\"}},\"user\":{{\"name\":\"adv{n}\",\"group\":{{\"name\":\"agence-1\"}}}},\"source\":{{\"ip\":\"10.0.0.{n}\"}}}}\n"
        )
    };
    let post = |body: String| {
        let (s, _) = http(
            &e.addr,
            "POST",
            "/ingest",
            &[("Authorization", "Bearer t"), ("Content-Type", "application/x-ndjson")],
            body.as_bytes(),
        );
        assert_eq!(s, 200);
    };
    let reload = || http(&e.addr, "POST", "/admin/reload", &[("Authorization", "Bearer t")], b"");
    let fired = || alerts(&alerts_path).iter().filter(|a| a["rule"]["name"] == "Action user_login").count();
    post(login(1));
    assert_eq!(fired(), 0, "no rule for logins yet");
    // A new rule file, reloaded through the API, is in force for the next batch.
    std::fs::write(rules.join("b.yml"), action_rule("22222222-2222-4222-8222-222222222222", "user_login")).unwrap();
    let (s, body) = reload();
    assert_eq!(s, 200, "{body}");
    assert!(body.contains("\"rules\":2"), "{body}");
    post(login(2));
    assert_eq!(fired(), 1);
    // A broken file: refused with its error, and detection goes on with the set in force.
    std::fs::write(rules.join("c.yml"), "title: Broken\nid: 33333333-3333-4333-8333-333333333333\nlogsource: {product: vigie}\ndetection:\n  sel:\n    event.action|nosuchmodifier: x\n  condition: sel\n").unwrap();
    let (s, body) = reload();
    assert_eq!(s, 422, "{body}");
    assert!(body.contains("c.yml") && body.contains("nosuchmodifier"), "{body}");
    post(login(3));
    assert_eq!(fired(), 2, "the running rules still detect");
    assert_eq!(http(&e.addr, "POST", "/admin/reload", &[], b"").0, 401, "the API token is required");
    // The file watch: removing the broken file and the login rule reloads by itself.
    std::fs::remove_file(rules.join("c.yml")).unwrap();
    std::fs::remove_file(rules.join("b.yml")).unwrap();
    wait_for(Duration::from_secs(20), || metric(&e.addr, "t", "vigie_rule_reloads_total{result=\"applied\"}") >= 2.0);
    assert_eq!(metric(&e.addr, "t", "vigie_rule_reloads_total{result=\"refused\"}"), 1.0);
    assert_eq!(metric(&e.addr, "t", "vigie_rules_loaded"), 1.0);
    post(login(4));
    assert_eq!(fired(), 2, "the login rule is gone");
    e.finish();
    // Each reload and the refusal are in the audit log, with their trigger.
    let store = vigie_store::Store::open(&dir.path().join("state/vigie.db").display().to_string()).unwrap();
    let entries = store.audit_entries(100).unwrap();
    let of = |action: &str| entries.iter().filter(|a| a.action == action).map(|a| a.actor.as_str()).collect::<Vec<_>>();
    assert_eq!(of("rules.reload"), ["vigie:file change", "vigie:api"], "newest first: {entries:?}");
    assert_eq!(of("rules.reload_refused"), ["vigie:api"]);
    assert!(entries.iter().any(|a| a.action == "rules.reload_refused" && a.detail.contains("nosuchmodifier")));
}

/// The configuration file, the analytics settings and the response policy
/// reload with the rules: a new `[[response.when]]` acts on the next alert,
/// analytics settings keep what was learned unless the time zone changes,
/// sections that need a restart are named, and the console's Rules page
/// lists each reload with its trigger and what changed (with the authors).
#[test]
fn settings_reload_live_and_the_console_lists_each_reload() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    let rule_id = "44444444-4444-4444-8444-444444444444";
    std::fs::write(rules.join("a.yml"), action_rule(rule_id, "user_login")).unwrap();
    let analytics = dir.path().join("analytics.yml");
    std::fs::write(&analytics, "timezone: Europe/Paris\n").unwrap();
    let actions = dir.path().join("actions.jsonl");
    let base = http_config_with(
        &rules.display().to_string(),
        dir.path(),
        &format!(
            "[analytics]\npath = {:?}\n[[action_sinks]]\ntype = \"jsonl\"\npath = {:?}\n",
            analytics.display().to_string(),
            actions.display().to_string()
        ),
    );
    let cfg_path = dir.path().join("vigie.toml");
    std::fs::write(&cfg_path, &base).unwrap();
    // An analyst who may read the Rules page.
    let db = dir.path().join("state/vigie.db").display().to_string();
    std::fs::create_dir_all(dir.path().join("state")).unwrap();
    {
        let store = vigie_store::Store::open(&db).unwrap();
        store.put_user("ana", "analyst", &vigie_console::auth::hash_password("ana-password-123").unwrap()).unwrap();
    }
    let e = Running::start_file(&cfg_path);
    let post = |n: u32| {
        let body = format!(
            "{{\"@timestamp\":\"2026-03-02T09:00:{n:02}.000Z\",\"event\":{{\"category\":[\"authentication\"],\"type\":[\"start\"],\"action\":\"user_login\",\"outcome\":\"success\"}},\"user\":{{\"name\":\"adv{n}\",\"group\":{{\"name\":\"agence-1\"}}}},\"source\":{{\"ip\":\"10.0.0.{n}\"}}}}\n"
        );
        let h = [("Authorization", "Bearer t"), ("Content-Type", "application/x-ndjson")];
        assert_eq!(http(&e.addr, "POST", "/ingest", &h, body.as_bytes()).0, 200);
    };
    let reload = || {
        let (s, body) = http(&e.addr, "POST", "/admin/reload", &[("Authorization", "Bearer t")], b"");
        (s, serde_json::from_str::<serde_json::Value>(&body).unwrap())
    };
    post(1);
    post(2);
    assert!(!actions.exists() || alerts(&actions).is_empty(), "no response policy yet");

    // A response policy and a change that needs a restart, in one edit.
    let policy = format!(
        "[response]\nmode = \"dry_run\"\n[[response.when]]\nrules = [\"{rule_id}\"]\nactions = [\"suspend_user\"]\n"
    );
    let edited = base.replace("[engine]\n", "[engine]\ncheckpoint_interval = \"7s\"\n");
    std::fs::write(&cfg_path, format!("{edited}{policy}")).unwrap();
    let (s, v) = reload();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["set"]["response_changed"], true, "{v}");
    assert_eq!(v["set"]["analytics_changed"], false, "{v}");
    assert_eq!(v["set"]["restart_needed"], serde_json::json!(["[engine]"]), "{v}");
    post(3);
    let recs = alerts(&actions);
    assert_eq!(recs.len(), 1, "{recs:?}");
    assert_eq!(recs[0]["action"]["type"], "suspend_user");
    assert_eq!(recs[0]["action"]["status"], "dry_run");

    // Analytics: a new threshold keeps what was learned, a new time zone drops it.
    std::fs::write(&analytics, "timezone: Europe/Paris\nspray:\n  min_accounts: 9\n").unwrap();
    let (s, v) = reload();
    assert_eq!(s, 200, "{v}");
    assert_eq!(
        (&v["set"]["analytics_changed"], &v["set"]["analytics_accounts_dropped"]),
        (&serde_json::json!(true), &serde_json::json!(0)),
        "{v}"
    );
    std::fs::write(&analytics, "timezone: America/New_York\n").unwrap();
    let (s, v) = reload();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["set"]["analytics_accounts_dropped"], 3, "three accounts had logged in: {v}");
    // Broken settings are refused, every error listed, and detection goes on.
    std::fs::write(&analytics, "timezone: Mars/Olympus\n").unwrap();
    std::fs::write(&cfg_path, format!("{edited}[response]\nmode = \"sometimes\"\n")).unwrap();
    let (s, v) = reload();
    assert_eq!(s, 422, "{v}");
    let errors = v["errors"].to_string();
    assert!(errors.contains("sometimes"), "{errors}");
    std::fs::write(&cfg_path, format!("{edited}{policy}")).unwrap();
    let (s, v) = reload();
    assert_eq!(s, 422, "{v}");
    assert!(v["errors"].to_string().contains("Mars/Olympus"), "{v}");
    std::fs::write(&analytics, "timezone: America/New_York\n").unwrap();
    // A rule changed by its author: the reload names it, and the console lists it.
    std::fs::write(rules.join("a.yml"), action_rule(rule_id, "user_login").replace("author: t", "author: Dana"))
        .unwrap();
    let (s, v) = reload();
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["set"]["changes"]["changed"][0]["author"], "Dana", "{v}");
    post(4);
    assert_eq!(alerts(&actions).len(), 2, "the policy survived the refusals");

    let cookie = console_login(&e.addr, "ana", "ana-password-123");
    let (s, body) = http(&e.addr, "GET", "/api/rules", &[("Cookie", &cookie)], b"");
    assert_eq!(s, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).unwrap();
    let reloads = page["reloads"].as_array().unwrap();
    let result = |r: &serde_json::Value| (r["by"].as_str().unwrap().to_string(), r["applied"].as_bool().unwrap());
    let got: Vec<_> = reloads.iter().map(result).collect();
    let api = |applied| ("vigie:api".to_string(), applied);
    assert_eq!(got, [api(true), api(false), api(false), api(true), api(true), api(true)], "{page}");
    assert_eq!(reloads[0]["detail"]["changes"]["changed"][0]["author"], "Dana");
    assert!(reloads[1]["detail"]["errors"].to_string().contains("Mars/Olympus"));
    assert_eq!(page["loaded"], 1);
    e.finish();
}

/// A probe rule of generation `g`: every generation matches the probes, and
/// its title says which generation an alert came from.
fn probe_rule(g: u64) -> String {
    format!(
        "title: Probe gen {g}\nid: 55555555-5555-4555-8555-555555555555\nstatus: test\nauthor: gen {g}\nlogsource: {{product: vigie, category: authentication}}\ndetection:\n  sel:\n    event.action: probe\n  condition: sel\nlevel: high\n"
    )
}

/// Reload under load: events through HTTP at about 20,000 a second while
/// the rule folder changes every second (for a minute; set
/// `VIGIE_RELOAD_SOAK_SECONDS` to change it), with a broken rule file for
/// three seconds out of every fifteen. No event is lost, every probe raises
/// exactly one alert, each batch is judged by one rule set, never by a set
/// older than one already used for a batch answered before it was sent,
/// nor by a set written after its answer; broken files are refused and
/// detection goes on through them.
#[test]
fn rules_reload_every_second_under_load_lose_nothing_and_each_alert_comes_from_the_set_in_force() {
    use std::time::Instant;
    let seconds: u64 = std::env::var("VIGIE_RELOAD_SOAK_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("rules");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("static.yml"), action_rule("66666666-6666-4666-8666-666666666666", "never_seen"))
        .unwrap();
    std::fs::write(rules.join("gen.yml"), probe_rule(0)).unwrap();
    let alerts_path = dir.path().join("alerts.jsonl");
    let cfg = format!(
        "[rules]\npaths = [{:?}]\n[engine]\nstate_dir = {:?}\ncheckpoint_interval = \"200ms\"\n[server]\nlisten = \"127.0.0.1:{}\"\ntoken = \"{TOKEN}\"\n[[inputs]]\ntype = \"http\"\n[[sinks]]\ntype = \"jsonl\"\npath = {:?}\n[analytics]\nenabled = false\n",
        rules.display().to_string(),
        dir.path().join("state").display().to_string(),
        free_port(),
        alerts_path.display().to_string(),
    );
    let e = Running::start(&cfg);
    let started = Instant::now();
    let until = started + Duration::from_secs(seconds);

    // The rule writer: a new generation every second, a broken file now and then.
    let written: Arc<Mutex<Vec<Instant>>> = Arc::new(Mutex::new(vec![started]));
    let writer = {
        let (rules, written) = (rules.clone(), written.clone());
        std::thread::spawn(move || {
            let mut g = 0;
            while Instant::now() < until {
                std::thread::sleep(Duration::from_secs(1));
                g += 1;
                std::fs::write(rules.join("gen.yml"), probe_rule(g)).unwrap();
                written.lock().unwrap().push(Instant::now());
                match g % 15 {
                    7 => std::fs::write(rules.join("broken.yml"), "title: Broken\nlogsource: {product: vigie}\ndetection:\n  sel:\n    event.action|nosuchmodifier: x\n  condition: sel\n").unwrap(),
                    10 => std::fs::remove_file(rules.join("broken.yml")).unwrap(),
                    _ => {}
                }
            }
        })
    };

    // Senders: 8 connections, batches of 2,500 events paced to 20,000 a
    // second in all; one event in 100 is a probe with its own account.
    const SENDERS: u64 = 8;
    const BATCH: u64 = 2_500;
    let senders: Vec<_> = (0..SENDERS)
        .map(|k| {
            let addr = e.addr.clone();
            std::thread::spawn(move || {
                // (first probe seq, probes, sent at, answered at)
                let mut batches: Vec<(u64, u64, Instant, Instant)> = Vec::new();
                let (mut sent, mut busy) = (0u64, 0u64);
                let mut n = 0u64;
                while Instant::now() < until {
                    let base = (n * SENDERS + k) * BATCH;
                    let mut body = String::with_capacity(BATCH as usize * 220);
                    for i in 0..BATCH {
                        let seq = base + i;
                        let (action, user) = if i % 100 == 0 { ("probe", format!("p{seq}")) } else { ("user_login", format!("u{seq}")) };
                        body.push_str(&format!(
                            "{{\"@timestamp\":\"2026-03-02T09:{:02}:{:02}.{:03}Z\",\"event\":{{\"category\":[\"authentication\"],\"type\":[\"start\"],\"action\":\"{action}\",\"outcome\":\"success\"}},\"user\":{{\"name\":\"{user}\",\"group\":{{\"name\":\"agence-{k}\"}}}},\"source\":{{\"ip\":\"10.{}.{}.{}\"}}}}\n",
                            (seq / 60_000) % 60, (seq / 1000) % 60, seq % 1000, (seq >> 16) & 255, (seq >> 8) & 255, seq & 255
                        ));
                    }
                    let at = Instant::now();
                    let h = [("Authorization", "Bearer t"), ("Content-Type", "application/x-ndjson")];
                    loop {
                        match http(&addr, "POST", "/ingest", &h, body.as_bytes()).0 {
                            200 => break,
                            429 => {
                                busy += 1;
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            s => panic!("ingest answered {s}"),
                        }
                    }
                    batches.push((base, BATCH / 100, at, Instant::now()));
                    sent += BATCH;
                    n += 1;
                    // Paced: this sender's share of 20,000 a second.
                    let due = Duration::from_secs_f64(sent as f64 / (20_000.0 / SENDERS as f64));
                    if let Some(wait) = due.checked_sub(at.duration_since(started) + at.elapsed()) {
                        std::thread::sleep(wait.min(until.saturating_duration_since(Instant::now())));
                    }
                }
                (batches, sent, busy)
            })
        })
        .collect();
    let mut batches = Vec::new();
    let (mut sent, mut busy) = (0, 0);
    for s in senders {
        let (b, n, r) = s.join().unwrap();
        batches.extend(b);
        sent += n;
        busy += r;
    }
    let elapsed = started.elapsed().as_secs_f64();
    writer.join().unwrap();
    let applied = metric(&e.addr, TOKEN, "vigie_rule_reloads_total{result=\"applied\"}");
    let refused = metric(&e.addr, TOKEN, "vigie_rule_reloads_total{result=\"refused\"}");
    let summary = e.finish();
    eprintln!(
        "reload soak: {sent} events in {elapsed:.1} s ({:.0}/s), {busy} answers 429, {applied} reloads applied, {refused} refused",
        sent as f64 / elapsed
    );

    // Nothing lost.
    assert_eq!(summary.events, sent, "every event acknowledged was applied");
    assert_eq!(summary.decode_errors, 0);
    // Each probe raised one alert, from one generation.
    let mut gen_of: std::collections::HashMap<u64, u64> = std::collections::HashMap::new();
    for a in alerts(&alerts_path) {
        let Some(seq) = a["user"]["name"].as_str().and_then(|u| u.strip_prefix('p')).and_then(|s| s.parse().ok())
        else {
            continue;
        };
        let g: u64 = a["rule"]["name"].as_str().unwrap().trim_start_matches("Probe gen ").parse().unwrap();
        assert!(gen_of.insert(seq, g).is_none(), "probe {seq} raised two alerts");
    }
    let probes: u64 = batches.iter().map(|b| b.1).sum();
    assert_eq!(gen_of.len() as u64, probes, "every probe raised its alert: {summary:?}");
    let written = written.lock().unwrap().clone();
    let mut spans: Vec<(Instant, Instant, u64, u64)> = Vec::new();
    for &(base, n, at, answered) in &batches {
        let gens: Vec<u64> = (0..n).map(|i| gen_of[&(base + i * 100)]).collect();
        assert!(gens.iter().all(|g| *g == gens[0]), "one batch, one rule set: {gens:?}");
        // Not a set written after the batch was answered.
        let newest = written.iter().filter(|w| **w <= answered).count() as u64 - 1;
        assert!(gens[0] <= newest, "generation {} used before it was written (newest {newest})", gens[0]);
        spans.push((at, answered, gens[0], base));
    }
    // Never a set older than one that judged a batch answered before this one was sent.
    spans.sort_by_key(|s| s.1);
    let mut floor = (0u64, 0u64);
    let mut by_sent = spans.clone();
    by_sent.sort_by_key(|s| s.0);
    let mut i = 0;
    for &(at, _, g, base) in &by_sent {
        while i < spans.len() && spans[i].1 < at {
            floor = floor.max((spans[i].2, spans[i].3));
            i += 1;
        }
        assert!(
            g >= floor.0,
            "batch {base} judged by generation {g} after batch {} was judged by {}",
            floor.1,
            floor.0
        );
    }
    let newest_used = spans.iter().map(|s| s.2).max().unwrap_or(0);
    assert!(
        applied >= (seconds / 4) as f64 && newest_used + 6 >= seconds,
        "reloads kept up: {applied} applied, newest generation used {newest_used}"
    );
    assert!(refused >= 1.0 || seconds < 8, "the broken file was refused");
}
