//! Live reload of the detection rules, with the placeholders and mapping
//! they are compiled with, without stopping `vigie run`.
//!
//! A reload is asked for by `SIGHUP`, by `POST /admin/reload` (the API
//! token), or by a change to the rule files (polled every two seconds, and
//! taken once two polls agree, so that an editor's several writes make one
//! reload). The new set is compiled on a thread of its own while detection
//! goes on. It is refused, and the running set kept, when it cannot be
//! built or when it rejects a rule file that the running set did not
//! reject: every such error is listed (in the log, and in the API's
//! answer). A set that builds is handed to the engine, which swaps it in
//! between two batches (`engine::Reload`); correlations whose definition
//! did not change keep their windows, the others start afresh (counted).
//! Reloads are counted in `vigie_rule_reloads_total{result}` and written to
//! the store's audit log (`rules.reload`, `rules.reload_refused`, by
//! `vigie:<trigger>`).

use crate::config::Config;
use crate::engine::Reload;
use crate::metrics::{Metrics, ResultLabel};
use crossbeam_channel::{Receiver, Sender};
use serde_json::{Value, json};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime};
use vigie_pipeline::Detector;

/// What a reload's asker is told: the new set's figures, or every error.
pub type Outcome = Result<Value, Vec<String>>;

struct Request {
    why: &'static str,
    reply: Option<Sender<Outcome>>,
}

/// Asks for reloads; clones ask the same compiler.
#[derive(Clone)]
pub struct Reloader {
    tx: Sender<Request>,
}

/// Where reload requests wait until the compiler starts.
pub struct Requests(Receiver<Request>);

pub fn channel() -> (Reloader, Requests) {
    let (tx, rx) = crossbeam_channel::unbounded();
    (Reloader { tx }, Requests(rx))
}

impl Reloader {
    /// Ask for a reload; the answer comes once the new set is in force or
    /// refused.
    pub fn request(&self, why: &'static str) -> Receiver<Outcome> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let _ = self.tx.send(Request { why, reply: Some(tx) });
        rx
    }

    /// Ask for a reload without waiting for it.
    pub fn nudge(&self, why: &'static str) {
        let _ = self.tx.send(Request { why, reply: None });
    }
}

/// The rejected rule files of a set, as (path, reason).
fn rejected(engine: &vigie_detect::Engine) -> Vec<(String, String)> {
    engine.set.rejected.iter().map(|r| (r.path.clone(), r.reason.clone())).collect()
}

/// Compile the configured rules aside. Refused when the set cannot be
/// built or rejects a file the running set (`before`) did not.
fn compile(cfg: &Config, base: &Detector, before: &[(String, String)]) -> Result<Reload, Vec<String>> {
    let engine = crate::build_engine(cfg).map_err(|e| vec![format!("{e:#}")])?;
    let now = rejected(&engine);
    let new: Vec<String> =
        now.iter().filter(|r| !before.contains(r)).map(|(path, why)| format!("{path}: {why}")).collect();
    if !new.is_empty() {
        return Err(new);
    }
    let engine = Arc::new(engine);
    let summary = json!({
        "rules": engine.set.rules.len(),
        "correlations": engine.set.correlations.len(),
        "rejected": now.len(),
    });
    Ok(Reload { detector: base.with_engine(engine.clone()), engine, summary, done: None })
}

/// Start the compiler (and the file watch) for requests from `requests`;
/// `base` is the detector in force at start, whose clock, analytics
/// extractor and trail the new ones share.
#[allow(clippy::too_many_arguments)]
pub fn start(
    cfg: Config,
    requests: Requests,
    reloader: Reloader,
    base: Arc<Detector>,
    to_engine: Sender<Reload>,
    metrics: Arc<Metrics>,
    audit: Option<Arc<vigie_store::Store>>,
    stop: Arc<AtomicBool>,
) {
    // Every reload and refusal goes to the store's audit log, with what
    // asked for it (the analysts' actions are there too).
    let audited = move |action: &str, why: &str, detail: &Value| {
        if let Some(store) = &audit
            && let Err(e) = store.audit(&format!("vigie:{why}"), action, "rules", &detail.to_string())
        {
            tracing::warn!("rule reload not audited: {e}");
        }
    };
    let mut before = rejected(&base.engine);
    let watched = cfg.rules.paths.iter().cloned().chain(cfg.rules.placeholders.iter().cloned());
    let watched: Vec<PathBuf> = watched.chain(cfg.rules.mapping.iter().cloned()).collect();
    let stop2 = stop.clone();
    std::thread::Builder::new()
        .name("rule-reload".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok(req) = requests.0.recv_timeout(Duration::from_millis(500)) else { continue };
                tracing::info!(trigger = req.why, "reloading the rules");
                match compile(&cfg, &base, &before) {
                    Ok(mut r) => {
                        before = rejected(&r.engine);
                        audited("rules.reload", req.why, &r.summary);
                        r.done = req.reply;
                        if to_engine.send(r).is_err() {
                            return;
                        }
                    }
                    Err(errors) => {
                        metrics.rule_reloads.get_or_create(&ResultLabel { result: "refused".into() }).inc();
                        audited("rules.reload_refused", req.why, &json!({ "errors": errors }));
                        for e in &errors {
                            tracing::error!(trigger = req.why, "rule reload refused, the running rules stay: {e}");
                        }
                        if let Some(reply) = req.reply {
                            let _ = reply.send(Err(errors));
                        }
                    }
                }
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!("cannot start the rule reloader: {e}"));
    if watched.is_empty() {
        return;
    }
    std::thread::Builder::new()
        .name("rule-watch".into())
        .spawn(move || {
            let mut seen = fingerprint(&watched);
            let mut pending: Option<u64> = None;
            while !stop2.load(Ordering::Relaxed) {
                for _ in 0..20 {
                    if stop2.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let now = fingerprint(&watched);
                // Taken once two polls agree: an editor's writes settle first.
                match pending {
                    Some(p) if p == now => {
                        seen = now;
                        pending = None;
                        reloader.nudge("file change");
                    }
                    _ if now != seen => pending = Some(now),
                    _ => pending = None,
                }
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!("cannot start the rule watch: {e}"));
}

/// A hash of the watched files' names, sizes and modification times
/// (folders walked, at most 100,000 files).
fn fingerprint(paths: &[PathBuf]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = rustc_hash::FxHasher::default();
    for root in paths {
        for e in walkdir::WalkDir::new(root).follow_links(true).sort_by_file_name().into_iter().take(100_000).flatten()
        {
            let Ok(m) = e.metadata() else { continue };
            e.path().hash(&mut h);
            m.len().hash(&mut h);
            m.modified().ok().and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok()).hash(&mut h);
        }
    }
    h.finish()
}

/// `POST /admin/reload`: reload now and answer with the outcome (200 with
/// the new set's figures, 422 with every error).
pub fn routes(api: crate::server::Api, reloader: Reloader) -> axum::Router {
    use axum::extract::State;
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    async fn reload(State((api, r)): State<(crate::server::Api, Reloader)>, headers: HeaderMap) -> Response {
        if !crate::server::authorised(&api, &headers) {
            return crate::server::unauthorised();
        }
        let rx = r.request("api");
        let got = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(120))).await;
        match got {
            Ok(Ok(Ok(summary))) => {
                (StatusCode::OK, axum::Json(json!({"applied": true, "set": summary}))).into_response()
            }
            Ok(Ok(Err(errors))) => {
                (StatusCode::UNPROCESSABLE_ENTITY, axum::Json(json!({"applied": false, "errors": errors})))
                    .into_response()
            }
            _ => (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({"error": "the reload did not finish"})))
                .into_response(),
        }
    }
    axum::Router::new().route("/admin/reload", axum::routing::post(reload)).with_state((api, reloader))
}
