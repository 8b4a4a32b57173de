//! The HTTP server on `[server] listen`: it always runs, for `/healthz` and
//! `/metrics` (and `/`, what Elasticsearch answers there, for shippers that
//! read a version from it), and guards them with the API token. Sources
//! mount their own routes on it: the http input's `/ingest` and `/_bulk`
//! live in `sources/http.rs`; the console's in `vigie-console`.

use crate::config::Config;
use crate::metrics::Metrics;
use anyhow::{Context, Result};
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::json;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

/// What every route of the server shares: the token, the metrics, the
/// body limit.
#[derive(Clone)]
pub struct Api {
    pub token: Arc<String>,
    pub metrics: Arc<Metrics>,
    pub public_metrics: bool,
    /// Largest body, as sent and once expanded (`Content-Encoding: gzip`).
    pub max_body: usize,
}

impl Api {
    pub fn new(cfg: &Config, metrics: Arc<Metrics>) -> Result<Api> {
        Ok(Api {
            token: Arc::new(token(cfg)?),
            metrics,
            public_metrics: cfg.server.public_metrics,
            max_body: cfg.server.max_body,
        })
    }
}

/// The token that guards ingest and metrics: configured, or created once
/// in the state folder (readable by its owner only).
pub fn token(cfg: &Config) -> Result<String> {
    if let Some(t) = &cfg.server.token {
        return Ok(t.clone());
    }
    let path = cfg.server.token_file.clone().unwrap_or_else(|| cfg.engine.state_dir.join("token"));
    crate::secret_file(&path, "an API token; send it as Authorization: Bearer <token>")
}

/// The server's own routes, with `mounted` (a source's routes) merged in.
pub fn router(api: Api, mounted: Router) -> Router {
    let max_body = api.max_body;
    Router::new()
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .route("/", get(info))
        .layer(DefaultBodyLimit::max(max_body))
        .with_state(api)
        .merge(mounted)
}

/// Accept `Bearer <token>`, `ApiKey <token>`, or Basic auth whose password
/// is the token (what Beats and Fluent Bit send), compared in constant time.
pub fn authorised(api: &Api, headers: &HeaderMap) -> bool {
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
    constant_eq(given.as_bytes(), api.token.as_bytes())
}

fn constant_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// 401, naming the scheme.
pub fn unauthorised() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        [(header::WWW_AUTHENTICATE, "Bearer realm=\"vigie\"")],
        Json(json!({"error": "missing or wrong token (Authorization: Bearer <token>)"})),
    )
        .into_response()
}

async fn metrics(State(api): State<Api>, headers: HeaderMap) -> Response {
    if !api.public_metrics && !authorised(&api, &headers) {
        return unauthorised();
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], api.metrics.render()).into_response()
}

/// What Elasticsearch answers on `/`; shippers read the version from it.
async fn info(State(api): State<Api>, headers: HeaderMap) -> Response {
    if !authorised(&api, &headers) {
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

/// Bind `listen` and serve `app` on `rt` until `stop` is raised.
pub fn start(
    rt: &tokio::runtime::Handle,
    listen: &str,
    app: Router,
    ingesting: bool,
    stop: Arc<AtomicBool>,
) -> Result<tokio::task::JoinHandle<()>> {
    let listener =
        rt.block_on(tokio::net::TcpListener::bind(listen)).with_context(|| format!("[server] listen = {listen}"))?;
    tracing::info!(address = %listen, "serving /healthz, /metrics{}", if ingesting { ", /ingest and /_bulk" } else { "" });
    Ok(rt.spawn(serve(listener, app, stop)))
}

/// Serve until `stop` is raised.
pub async fn serve(listener: tokio::net::TcpListener, app: Router, stop: Arc<AtomicBool>) {
    let shutdown = async move {
        while !stop.load(Ordering::Relaxed) {
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
