//! vigie-console: the web console and the HTTP API under `/api/` that it
//! is built on (the console's script calls nothing else, so whatever an
//! analyst can do, a script with a token can do too).
//!
//! - `auth`: sessions, API tokens, roles, CSRF, login rate limiting;
//! - `mfa`: the second factor (TOTP, RFC 6238): enrolment and checks;
//! - `api`: the endpoints (alerts and triage, accounts, incidents, impact,
//!   notification drafts, rules, audit, the live stream);
//! - `series`: the hourly series behind the charts;
//! - `assets`: the page, its script and style, and the vendored uPlot,
//!   embedded in the binary (no Node at build time).
//!
//! Everything but the static assets, `POST /api/login` and `/healthz`
//! requires authentication.

pub mod api;
pub mod assets;
pub mod auth;
pub mod mfa;
pub mod series;

use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use vigie_store::Store;

/// The rules the engine loaded, for the rules page.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct RulesInfo {
    pub loaded: usize,
    pub correlations: usize,
    pub rejected: Vec<Rejected>,
    /// (id, title, level, author) of each loaded rule.
    pub rules: Vec<(String, String, vigie_alert::Severity, String)>,
}

/// The rule set in force, replaced by each live reload.
#[derive(Clone, Default)]
pub struct RulesView(Arc<std::sync::RwLock<Arc<RulesInfo>>>);

impl RulesView {
    pub fn new(info: RulesInfo) -> RulesView {
        RulesView(Arc::new(std::sync::RwLock::new(Arc::new(info))))
    }

    pub fn get(&self) -> Arc<RulesInfo> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set(&self, info: RulesInfo) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(info);
    }
}

#[derive(Debug, Clone, serde::Serialize)]
pub struct Rejected {
    pub path: String,
    pub id: Option<String>,
    pub reason: String,
}

/// Settings the console needs from `[console]`.
#[derive(Debug, Clone)]
pub struct Settings {
    pub secure_cookies: bool,
    pub session_ms: i64,
    /// Failed logins per account before it is locked (at most 10); an
    /// address may fail four times as often, across accounts.
    pub max_failed_logins: u32,
    /// A suppression covering an account waits for a second person.
    pub approve_suppressions: bool,
    /// Admins and DPOs must have a second factor: without one, a login
    /// opens a session that may only enrol one.
    pub require_mfa: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            secure_cookies: true,
            session_ms: 12 * 3_600_000,
            max_failed_logins: 5,
            approve_suppressions: false,
            require_mfa: false,
        }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct Console {
    pub store: Arc<Store>,
    pub key: vigie_analytics::Pseudonymiser,
    pub live: tokio::sync::broadcast::Sender<vigie_store::Live>,
    pub rules: RulesView,
    pub org: Arc<vigie_investigate::Organisation>,
    /// Events the engine has read (for events/s).
    pub events: Arc<AtomicU64>,
    pub settings: Arc<Settings>,
    pub limiter: Arc<auth::LoginLimiter>,
    /// (wall ms, events) at the last overview, for the rate.
    pub last_rate: Arc<std::sync::Mutex<(i64, u64, f64)>>,
}

impl Console {
    pub fn new(
        store: Arc<Store>,
        key: vigie_analytics::Pseudonymiser,
        live: tokio::sync::broadcast::Sender<vigie_store::Live>,
        rules: RulesInfo,
        org: vigie_investigate::Organisation,
        events: Arc<AtomicU64>,
        settings: Settings,
    ) -> Console {
        Console {
            store,
            key,
            live,
            rules: RulesView::new(rules),
            org: Arc::new(org),
            events,
            limiter: Arc::new(auth::LoginLimiter::new(settings.max_failed_logins)),
            settings: Arc::new(settings),
            last_rate: Arc::new(std::sync::Mutex::new((0, 0, 0.0))),
        }
    }

    /// Run a store call off the async threads.
    pub async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, vigie_store::StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        tokio::task::spawn_blocking(f)
            .await
            // A panic's message may quote data: say where, not what.
            .map_err(|e| ApiError::Internal(if e.is_panic() { "a store task panicked".into() } else { e.to_string() }))?
            .map_err(ApiError::from)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    Unauthorized(String),
    #[error("{0}")]
    Forbidden(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    TooMany(String),
    /// The password was right; a code from the authenticator is needed.
    #[error("{0}")]
    SecondFactor(String),
    #[error("{0}")]
    Internal(String),
}

impl From<vigie_store::StoreError> for ApiError {
    fn from(e: vigie_store::StoreError) -> ApiError {
        match e {
            vigie_store::StoreError::NotFound { .. } => ApiError::NotFound(e.to_string()),
            vigie_store::StoreError::Invalid { .. } => ApiError::BadRequest(e.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let status = match &self {
            ApiError::Unauthorized(_) | ApiError::SecondFactor(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::TooMany(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(m) => {
                tracing::error!("console: {m}");
                StatusCode::INTERNAL_SERVER_ERROR
            }
        };
        let message =
            if status == StatusCode::INTERNAL_SERVER_ERROR { "internal error".into() } else { self.to_string() };
        let mfa = matches!(self, ApiError::SecondFactor(_));
        let body = if mfa {
            serde_json::json!({"error": message, "mfa": true})
        } else {
            serde_json::json!({"error": message})
        };
        (status, axum::Json(body)).into_response()
    }
}

/// Headers on every answer: no framing, no sniffing, no referrer, scripts
/// and styles from this origin only, and no caching of API answers.
async fn security_headers(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let api = req.uri().path().starts_with("/api/");
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; \
             frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    h.insert("cross-origin-opener-policy", HeaderValue::from_static("same-origin"));
    if api {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

/// The console's routes (to merge with the engine's own).
pub fn router(c: Console) -> Router {
    api::routes().merge(assets::routes()).layer(axum::middleware::from_fn(security_headers)).with_state(c)
}
