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
/// body over the limit (413).
async fn body(s: &Server, req: Request) -> Result<Bytes, Response> {
    match Bytes::from_request(req, &()).await {
        Ok(b) => Ok(b),
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

/// Hand lines to the engine and wait for the checkpoint that covers them.
async fn submit(s: &Server, items: Vec<Item>) -> Result<(), Response> {
    let Some(feed) = &s.feed else {
        return Err((StatusCode::NOT_FOUND, Json(json!({"error": "no http input is configured"}))).into_response());
    };
    if items.is_empty() {
        return Ok(());
    }
    let (tx, rx) = tokio::sync::oneshot::channel::<bool>();
    let mut b = Batch::new(s.input, items);
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
    match tokio::time::timeout(Duration::from_secs(60), rx).await {
        Ok(Ok(true)) => Ok(()),
        _ => Err((
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "5")],
            Json(json!({"error": "the engine stopped before these events were checkpointed; send them again"})),
        )
            .into_response()),
    }
}

fn lines(body: &[u8]) -> Vec<Item> {
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in body.iter().enumerate().chain(std::iter::once((body.len(), &b'\n'))) {
        if b == b'\n' {
            let line = &body[start..i];
            if line.iter().any(|c| !c.is_ascii_whitespace()) {
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
    let data = match body(&s, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let items = lines(&data);
    let n = items.len();
    match submit(&s, items).await {
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
    let data = match body(&s, req).await {
        Ok(b) => b,
        Err(r) => return r,
    };
    let all = lines(&data);
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
    match submit(&s, docs).await {
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
