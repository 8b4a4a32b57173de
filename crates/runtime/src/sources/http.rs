//! The HTTP server: ingest (`POST /ingest` for NDJSON, and an
//! Elasticsearch-compatible `POST /_bulk` so Beats, Vector and Fluent Bit
//! ship to vigie unchanged), `/metrics` and `/healthz`.
//!
//! A request is answered only once a checkpoint covers its events: a 200
//! means they are processed and their state is on disk. When the queue is
//! full the answer is 429 with `Retry-After`, which every shipper honours.

use crate::engine::{Batch, Feed, Item};
use crate::metrics::Metrics;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct Server {
    pub feed: Option<Feed>,
    pub input: usize,
    pub input_name: String,
    pub token: Arc<String>,
    pub metrics: Arc<Metrics>,
    pub public_metrics: bool,
    /// Largest body, as sent and once expanded (`Content-Encoding: gzip`).
    pub max_body: usize,
}

/// What every route of the server shares: the token, the metrics, the
/// body limit.
#[derive(Clone)]
pub struct Api {
    pub token: Arc<String>,
    pub metrics: Arc<Metrics>,
    pub public_metrics: bool,
    pub max_body: usize,
}

impl Server {
    /// The server's state; `ingest` is the http input (index, name, feed),
    /// without which `/ingest` and `/_bulk` find nowhere to send.
    pub fn new(api: &Api, ingest: Option<(usize, String, Feed)>) -> Server {
        let (input, input_name, feed) = match ingest {
            Some((i, name, feed)) => (i, name, Some(feed)),
            None => (usize::MAX, String::new(), None),
        };
        Server {
            feed,
            input,
            input_name,
            token: api.token.clone(),
            metrics: api.metrics.clone(),
            public_metrics: api.public_metrics,
            max_body: api.max_body,
        }
    }
}

/// `type = "http"`: ingest on the server's `/ingest` and `/_bulk`. It ends
/// when the engine is told to stop.
pub struct HttpInput {
    pub format: vigie_decode::Format,
}

impl crate::sources::Source for HttpInput {
    fn kind(&self) -> &'static str {
        "http"
    }

    fn format(&self) -> vigie_decode::Format {
        self.format
    }

    fn start(self: Box<Self>, cx: crate::sources::Context) -> anyhow::Result<crate::sources::Started> {
        let (feed, stop, i) = (cx.feed.clone(), cx.stop, cx.input);
        cx.rt.spawn(async move {
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            feed.done(i);
        });
        let (input, name, feed) = (cx.input, cx.name, cx.feed);
        let routes: crate::sources::Routes =
            Box::new(move |api: &Api| router(Server::new(api, Some((input, name, feed))), api.max_body));
        Ok(crate::sources::Started { done: 1, routes: Some(routes), ..Default::default() })
    }
}

pub fn router(s: Server, max_body: usize) -> Router {
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/", get(info))
        .route("/ingest", post(ingest))
        .route("/_bulk", post(bulk))
        .route("/{index}/_bulk", post(bulk))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(s)
}

/// Accept `Bearer <token>`, `ApiKey <token>`, or Basic auth whose password
/// is the token (what Beats and Fluent Bit send), compared in constant time.
fn authorised(s: &Server, headers: &HeaderMap) -> bool {
    let Some(h) = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let given = if let Some(t) = h.strip_prefix("Bearer ").or_else(|| h.strip_prefix("ApiKey ")) {
        t.trim().to_string()
    } else if let Some(b) = h.strip_prefix("Basic ") {
        use base64::Engine as _;
        let decoded = base64::engine::general_purpose::STANDARD.decode(b.trim()).unwrap_or_default();
        let text = String::from_utf8_lossy(&decoded).into_owned();
        text.split_once(':').map(|(_, p)| p.to_string()).unwrap_or_default()
    } else {
        return false;
    };
    constant_eq(given.as_bytes(), s.token.as_bytes())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

fn unauthorised() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"vigie\"")],
        Json(json!({"error": "missing or wrong token (Authorization: Bearer <token>)"})),
    )
        .into_response()
}

async fn metrics(State(s): State<Server>, headers: HeaderMap) -> Response {
    if !s.public_metrics && !authorised(&s, &headers) {
        return unauthorised();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], s.metrics.render()).into_response()
}

/// What Elasticsearch answers on `/`; shippers read the version from it.
async fn info(State(s): State<Server>, headers: HeaderMap) -> Response {
    if !authorised(&s, &headers) {
        return unauthorised();
    }
    Json(json!({
        "name": "vigie",
        "cluster_name": "vigie",
        "version": {"number": "8.11.0", "build_flavor": "default", "lucene_version": "9.8.0"},
        "tagline": "You Know, for Search"
    }))
    .into_response()
}

/// Read the whole body, telling a client that went away (counted) from a
/// body over the limit (413), and expand it per its `Content-Encoding`
/// (415 for an encoding other than gzip, 413 when it expands beyond
/// `max_body`).
async fn body(s: &Server, req: Request) -> Result<Bytes, Response> {
    let encoding = req.headers().get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").to_string());
    match Bytes::from_request(req, &()).await {
        Ok(b) => match crate::sources::encoding::decode(encoding.as_deref(), &b, s.max_body) {
            Ok(None) => Ok(b),
            Ok(Some(expanded)) => Ok(Bytes::from(expanded)),
            Err(e) => {
                use crate::sources::encoding::EncodingError as E;
                let (status, reason) = match e {
                    E::Unsupported(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "content_encoding"),
                    E::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
                    E::Corrupt(_) => (StatusCode::BAD_REQUEST, "corrupt_body"),
                };
                s.metrics.reject(&s.input_name, reason);
                Err((status, Json(json!({"error": e.to_string()}))).into_response())
            }
        },
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            s.metrics.reject(&s.input_name, "too_large");
            Err((StatusCode::PAYLOAD_TOO_LARGE, Json(json!({"error": e.body_text()}))).into_response())
        }
        Err(e) => {
            s.metrics.reject(&s.input_name, "aborted");
            Err((StatusCode::BAD_REQUEST, Json(json!({"error": e.body_text()}))).into_response())
        }
    }
}

fn content_type_ok(headers: &HeaderMap) -> bool {
    let ct = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let ct = ct.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    matches!(
        ct.as_str(),
        "application/x-ndjson"
            | "application/json"
            | "application/jsonlines"
            | "application/x-jsonlines"
            | "text/plain"
    )
}

/// The `Idempotency-Key` header: `Ok(None)` without one; `Err` when it is
/// empty, too long or not text.
fn idempotency_key(headers: &HeaderMap) -> Result<Option<String>, ()> {
    let Some(v) = headers.get("idempotency-key") else { return Ok(None) };
    match v.to_str() {
        Ok(k) if !k.trim().is_empty() && k.len() <= crate::idempotency::MAX_KEY_LEN => Ok(Some(k.trim().to_string())),
        _ => Err(()),
    }
}

/// 400 for a bad `Idempotency-Key` (counted).
fn bad_key(s: &Server) -> Response {
    s.metrics.reject(&s.input_name, "idempotency_key");
    let msg = format!("Idempotency-Key: printable text of at most {} bytes", crate::idempotency::MAX_KEY_LEN);
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg}))).into_response()
}

/// Hand lines to the engine and wait for the checkpoint that covers them.
/// A batch with a `key` already processed is answered as accepted, once
/// its acknowledgement comes, without being processed again.
async fn submit(s: &Server, items: Vec<Item>, key: Option<String>) -> Result<(), Response> {
    let Some(feed) = &s.feed else {
        return Err((StatusCode::NOT_FOUND, Json(json!({"error": "no http input is configured"}))).into_response());
    };
    if items.is_empty() {
        return Ok(());
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<bool>();
    let mut b = Batch::new(s.input, items);
    b.key = key;
    b.ack = Some(Box::new(move |ok| {
        let _ = tx.send(ok);
    }));
    if feed.try_send(b).is_err() {
        s.metrics.reject(&s.input_name, "queue_full");
        return Err((
            StatusCode::TOO_MANY_REQUESTS,
            [(header::RETRY_AFTER, "1")],
            Json(json!({"error": "the engine's queue is full; retry after a second"})),
        )
            .into_response());
    }
    // The batch is queued: wait for its checkpoint however long it takes.
    // Only an engine that stops without one abandons it (the sender is
    // dropped or answers `false`): then, and only then, the client must
    // send again.
    match rx.await {
        Ok(true) => Ok(()),
        _ => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            Json(json!({"error": "the engine stopped before these events were checkpointed; send them again"})),
        )
            .into_response()),
    }
}

/// The body's lines; those over `[engine] max_line` are skipped and counted.
fn lines(s: &Server, body: &[u8]) -> Vec<Item> {
    let max = s.feed.as_ref().map_or(crate::sources::lines::DEFAULT_MAX_LINE, |f| f.max_line);
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in body.iter().enumerate().chain(std::iter::once((body.len(), &b'\n'))) {
        if b == b'\n' {
            let line = &body[start..i];
            if line.len() > max {
                s.metrics.lines_too_long.get_or_create(&s.metrics.input(&s.input_name)).inc();
                tracing::warn!(input = %s.input_name, offset = start, bytes = line.len(), "skipped: line over [engine] max_line");
            } else if line.iter().any(|c| !c.is_ascii_whitespace()) {
                out.push(Item::Line { bytes: line.to_vec(), offset: start as u64 });
            }
            start = i + 1;
        }
    }
    out
}

async fn ingest(State(s): State<Server>, req: Request) -> Response {
    if !authorised(&s, req.headers()) {
        return unauthorised();
    }
    if !content_type_ok(req.headers()) {
        s.metrics.reject(&s.input_name, "content_type");
        return (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Json(json!({"error": "send newline-delimited JSON with Content-Type: application/x-ndjson"})),
        )
            .into_response();
    }
    let key = match idempotency_key(req.headers()) {
        Ok(k) => k.map(|k| format!("ingest:{k}")),
        Err(()) => return bad_key(&s),
    };
    let data = match body(&s, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let items = lines(&s, &data);
    let n = items.len();
    match submit(&s, items, key).await {
        Ok(()) => Json(json!({"accepted": n})).into_response(),
        Err(r) => r,
    }
}

/// The Elasticsearch bulk API: action lines (`index`, `create`) each
/// followed by a document. `delete` and `update` make no sense for a
/// detection engine and are answered per item with a 400.
async fn bulk(State(s): State<Server>, req: Request) -> Response {
    if !authorised(&s, req.headers()) {
        return unauthorised();
    }
    let header_key = match idempotency_key(req.headers()) {
        Ok(k) => k,
        Err(()) => return bad_key(&s),
    };
    let data = match body(&s, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let all = lines(&s, &data);
    // A resent bulk request carries the same documents with the same `_id`s:
    // when every document has one, they name the batch.
    let mut ids = sha2::Sha256::default();
    let mut all_ids = true;
    let mut docs = Vec::new();
    let mut results = Vec::new();
    let mut it = all.into_iter();
    while let Some(Item::Line { bytes, offset }) = it.next() {
        let action: serde_json::Value = match serde_json::from_slice(&bytes) {
            Ok(v) => v,
            Err(e) => {
                s.metrics.reject(&s.input_name, "bulk_action");
                results.push(json!({"index": {"status": 400, "error": {"type": "parse_exception", "reason": format!("action at byte {offset}: {e}")}}}));
                continue;
            }
        };
        let verb = action.as_object().and_then(|o| o.keys().next().cloned()).unwrap_or_default();
        let index = action.get(&verb).and_then(|a| a.get("_index")).cloned().unwrap_or(json!("vigie"));
        match verb.as_str() {
            "index" | "create" => match it.next() {
                Some(doc) => {
                    match action.get(&verb).and_then(|a| a.get("_id")).and_then(|v| v.as_str()) {
                        Some(id) => {
                            use sha2::Digest;
                            ids.update(id.as_bytes());
                            ids.update(b"\n");
                        }
                        None => all_ids = false,
                    }
                    docs.push(doc);
                    results.push(json!({verb.clone(): {"_index": index, "status": 201, "result": "created"}}));
                }
                None => results.push(json!({verb.clone(): {"status": 400, "error": {"type": "parse_exception", "reason": "action without a document"}}})),
            },
            "update" => {
                it.next();
                s.metrics.reject(&s.input_name, "bulk_update");
                results.push(json!({"update": {"_index": index, "status": 400, "error": {"type": "illegal_argument_exception", "reason": "vigie accepts index and create only"}}}));
            }
            other => {
                s.metrics.reject(&s.input_name, "bulk_action");
                results.push(json!({other: {"_index": index, "status": 400, "error": {"type": "illegal_argument_exception", "reason": "vigie accepts index and create only"}}}));
            }
        }
    }
    let errors = results.iter().any(|r| {
        r.as_object().and_then(|o| o.values().next()).and_then(|v| v.get("status")).and_then(|s| s.as_u64())
            != Some(201)
    });
    let key = match header_key {
        Some(k) => Some(format!("bulk:{k}")),
        None if all_ids && !docs.is_empty() => {
            use sha2::Digest;
            Some(format!("bulk-ids:{}", hex::encode(ids.finalize())))
        }
        None => None,
    };
    match submit(&s, docs, key).await {
        Ok(()) => Json(json!({"took": 0, "errors": errors, "items": results})).into_response(),
        Err(r) => r,
    }
}

/// Serve until `stop` is raised.
pub async fn serve(listener: tokio::net::TcpListener, app: Router, stop: Arc<std::sync::atomic::AtomicBool>) {
    let shutdown = async move {
        while !stop.load(std::sync::atomic::Ordering::Relaxed) {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    };
    if let Err(e) = axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
        .with_graceful_shutdown(shutdown)
        .await
    {
        tracing::error!(error = %e, "http server failed");
    }
}
