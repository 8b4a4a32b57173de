//! The http input: `POST /ingest` for NDJSON, and an Elasticsearch-compatible
//! `POST /_bulk` so Beats, Vector and Fluent Bit ship to vigie unchanged.
//! These routes are mounted on the server (`server.rs`), which also serves
//! `/healthz` and `/metrics` and holds the token.
//!
//! A request is answered only once a checkpoint covers its events: a 200
//! means they are processed and their state is on disk. When the queue is
//! full the answer is 429 with `Retry-After`, which every shipper honours.

use crate::engine::{Batch, Feed, Item};
use crate::server::{Api, authorised, unauthorised};
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, FromRequest, Request, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::json;
use std::time::Duration;

/// The ingest routes' state: the input they feed (none when no http input
/// is configured: `/ingest` then has nowhere to send) and the server's
/// shared settings.
#[derive(Clone)]
pub struct Ingest {
    pub feed: Option<Feed>,
    pub input: usize,
    pub input_name: String,
    pub api: Api,
}

impl Ingest {
    /// The routes' state without an http input.
    pub fn unconfigured(api: &Api) -> Ingest {
        Ingest { feed: None, input: usize::MAX, input_name: String::new(), api: api.clone() }
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
        let (input, input_name, feed) = (cx.input, cx.name, cx.feed);
        let routes: crate::sources::Routes =
            Box::new(move |api: &Api| self::routes(Ingest { feed: Some(feed), input, input_name, api: api.clone() }));
        Ok(crate::sources::Started { done: 1, routes: Some(routes), ..Default::default() })
    }
}

/// `/ingest`, `/_bulk` and `/{index}/_bulk`, to mount on the server.
pub fn routes(s: Ingest) -> Router {
    let max_body = s.api.max_body;
    Router::new()
        .route("/ingest", post(ingest))
        .route("/_bulk", post(bulk))
        .route("/{index}/_bulk", post(bulk))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(s)
}

/// Read the whole body, telling a client that went away (counted) from a
/// body over the limit (413), and expand it per its `Content-Encoding`
/// (415 for an encoding other than gzip, 413 when it expands beyond
/// `max_body`).
async fn body(s: &Ingest, req: Request) -> Result<Bytes, Response> {
    let encoding = req.headers().get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").to_string());
    match Bytes::from_request(req, &()).await {
        Ok(b) => match crate::sources::encoding::decode(encoding.as_deref(), &b, s.api.max_body) {
            Ok(None) => Ok(b),
            Ok(Some(expanded)) => Ok(Bytes::from(expanded)),
            Err(e) => {
                use crate::sources::encoding::EncodingError as E;
                let (status, reason) = match e {
                    E::Unsupported(_) => (StatusCode::UNSUPPORTED_MEDIA_TYPE, "content_encoding"),
                    E::TooLarge(_) => (StatusCode::PAYLOAD_TOO_LARGE, "too_large"),
                    E::Corrupt(_) => (StatusCode::BAD_REQUEST, "corrupt_body"),
                };
                s.api.metrics.reject(&s.input_name, reason);
                Err((status, Json(json!({"error": e.to_string()}))).into_response())
            }
        },
        Err(e) if e.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            s.api.metrics.reject(&s.input_name, "too_large");
            Err((StatusCode::PAYLOAD_TOO_LARGE, Json(json!({"error": e.body_text()}))).into_response())
        }
        Err(e) => {
            s.api.metrics.reject(&s.input_name, "aborted");
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
fn bad_key(s: &Ingest) -> Response {
    s.api.metrics.reject(&s.input_name, "idempotency_key");
    let msg = format!("Idempotency-Key: printable text of at most {} bytes", crate::idempotency::MAX_KEY_LEN);
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg}))).into_response()
}

/// Hand lines to the engine and wait for the checkpoint that covers them.
/// A batch with a `key` already processed is answered as accepted, once
/// its acknowledgement comes, without being processed again.
async fn submit(s: &Ingest, items: Vec<Item>, key: Option<String>) -> Result<(), Response> {
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
        s.api.metrics.reject(&s.input_name, "queue_full");
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
fn lines(s: &Ingest, body: &[u8]) -> Vec<Item> {
    let max = s.feed.as_ref().map_or(crate::sources::lines::DEFAULT_MAX_LINE, |f| f.max_line);
    let mut out = Vec::new();
    let mut start = 0;
    for (i, &b) in body.iter().enumerate().chain(std::iter::once((body.len(), &b'\n'))) {
        if b == b'\n' {
            let line = &body[start..i];
            if line.len() > max {
                s.api.metrics.lines_too_long.get_or_create(&s.api.metrics.input(&s.input_name)).inc();
                tracing::warn!(input = %s.input_name, offset = start, bytes = line.len(), "skipped: line over [engine] max_line");
            } else if line.iter().any(|c| !c.is_ascii_whitespace()) {
                out.push(Item::Line { bytes: line.to_vec(), offset: start as u64 });
            }
            start = i + 1;
        }
    }
    out
}

async fn ingest(State(s): State<Ingest>, req: Request) -> Response {
    if !authorised(&s.api, req.headers()) {
        return unauthorised();
    }
    if !content_type_ok(req.headers()) {
        s.api.metrics.reject(&s.input_name, "content_type");
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
async fn bulk(State(s): State<Ingest>, req: Request) -> Response {
    if !authorised(&s.api, req.headers()) {
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
                s.api.metrics.reject(&s.input_name, "bulk_action");
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
                s.api.metrics.reject(&s.input_name, "bulk_update");
                results.push(json!({"update": {"_index": index, "status": 400, "error": {"type": "illegal_argument_exception", "reason": "vigie accepts index and create only"}}}));
            }
            other => {
                s.api.metrics.reject(&s.input_name, "bulk_action");
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
