//! Live reload of the detection rules (with the placeholders and mapping
//! they are compiled with), the analytics settings and the response policy,
//! without stopping `vigie run`.
//!
//! A reload is asked for by `SIGHUP`, by `POST /admin/reload` (the API
//! token), or by a change to the watched files (polled every half second,
//! and taken once two polls agree, so that an editor's several writes make
//! one reload, or after five seconds at most when they never settle). The configuration file is read again, and the new set is built
//! on a thread of its own while detection goes on. It is refused, and the
//! running set kept, when any part cannot be built or when it rejects a rule
//! file that the running set did not reject: every such error is listed (in
//! the log, the audit entry and the API's answer). A set that builds is
//! handed to the engine, which swaps it in between two batches
//! (`engine::Reload`): correlations whose definition did not change keep
//! their windows, the others start afresh (counted); the analytics keep
//! what they learned unless the time zone changed (counted); the response
//! guardrails keep their counters. Other sections (inputs, sinks, the
//! store...) take effect at the next restart, and the answer says which
//! changed.
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

/// What the last reload that took (or the start) put in force. It holds
/// the detector's parts that a reload shares (the clock, the trail, the
/// analytics' extractor), never a detector: that would keep its whole rule
/// set in memory after the swap.
struct Running {
    cfg: Config,
    engine: Arc<vigie_detect::Engine>,
    analytics: vigie_analytics::AnalyticsConfig,
    clock: vigie_pipeline::time::Clock,
    extractor: Option<Arc<vigie_analytics::Extractor>>,
    trail: Option<Arc<vigie_analytics::Trail>>,
    /// The pseudonymisation key and the `[store]` section in force (a
    /// restart changes them, a reload does not): each new set's mapping
    /// may name other personal fields, so each reload scrubs with its own.
    scrub: Option<(vigie_analytics::Pseudonymiser, Arc<crate::config::StoreSection>)>,
}

/// The sections a reload does not apply: they take effect at the next
/// restart, and a reload that finds them changed says so.
fn restart_needed(before: &Config, now: &Config) -> Vec<&'static str> {
    let differ = |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") != format!("{b:?}");
    let mut out = Vec::new();
    let sections: [(&'static str, &dyn std::fmt::Debug, &dyn std::fmt::Debug); 9] = [
        ("[engine]", &before.engine, &now.engine),
        ("[server]", &before.server, &now.server),
        ("[[inputs]]", &before.inputs, &now.inputs),
        ("[[sinks]]", &before.sinks, &now.sinks),
        ("[[action_sinks]]", &before.action_sinks, &now.action_sinks),
        ("[[suppressions]]", &before.suppressions, &now.suppressions),
        ("[store]", &before.store, &now.store),
        ("[console]", &before.console, &now.console),
        ("[organisation]", &before.organisation, &now.organisation),
    ];
    for (name, a, b) in sections {
        if differ(a, b) {
            out.push(name);
        }
    }
    out
}

/// At most this many rules are named per list in a reload's answer and
/// audit entry (the rest are counted).
const NAMED: usize = 50;

fn changes_json(c: &vigie_sigma::Changes) -> Value {
    let mut out = serde_json::Map::new();
    for (k, l) in [("added", &c.added), ("changed", &c.changed), ("removed", &c.removed)] {
        let named: Vec<Value> =
            l.iter().take(NAMED).map(|e| json!({"id": e.key, "title": e.title, "author": e.author})).collect();
        out.insert(k.into(), Value::Array(named));
        if l.len() > NAMED {
            out.insert(format!("{k}_more"), json!(l.len() - NAMED));
        }
    }
    Value::Object(out)
}

/// Read the configuration file again (when `run` was given one) and build
/// everything a reload applies aside: the rules with their placeholders and
/// mapping, the analytics settings, and the response policy. Refused, with
/// every error found, when any part cannot be built or the rules reject a
/// file that the running set did not.
fn compile(running: &Running) -> Result<(Reload, Running), Vec<String>> {
    let cfg = match &running.cfg.source {
        Some(path) => Config::from_file(path).map_err(|e| vec![format!("{e:#}")])?,
        None => running.cfg.clone(),
    };
    let mut errors = Vec::new();
    let engine = crate::build_engine(&cfg).map_err(|e| errors.push(format!("{e:#}"))).ok();
    if let Some(engine) = &engine {
        let before = rejected(&running.engine);
        errors.extend(
            rejected(engine).into_iter().filter(|r| !before.contains(r)).map(|(path, why)| format!("{path}: {why}")),
        );
    }
    let analytics = crate::analytics_config(&cfg).map_err(|e| errors.push(format!("{e:#}"))).ok();
    // Built here, empty: the engine hands them what the running ones learned.
    let built = analytics.as_ref().and_then(|a| {
        let risk = vigie_analytics::Risk::new(&a.risk).map_err(|e| errors.push(format!("analytics: {e}"))).ok()?;
        let state = match a.enabled {
            true => Some(
                vigie_analytics::Analytics::new(a.clone()).map_err(|e| errors.push(format!("analytics: {e}"))).ok()?,
            ),
            false => None,
        };
        Some((state, risk))
    });
    let policy = crate::policy(&cfg).map_err(|e| errors.push(format!("[response]: {e:#}"))).ok();
    // Alerts are scrubbed with the personal fields of the new mapping.
    let scrubber = match (&running.scrub, &engine) {
        (Some((key, store)), Some(engine)) => {
            let scrub_cfg = Config { store: (**store).clone(), ..Config::default() };
            match crate::scrubber(&scrub_cfg, key.clone(), engine) {
                Ok(s) => Some(Some(s)),
                Err(e) => {
                    errors.push(format!("{e:#}"));
                    None
                }
            }
        }
        _ => Some(None),
    };
    let (Some(engine), Some(a), Some((state, risk)), Some(policy), Some(scrubber), true) =
        (engine, analytics, built, policy, scrubber, errors.is_empty())
    else {
        return Err(errors);
    };
    let engine = Arc::new(engine);
    let mut detector = Detector::new(engine.clone(), running.clock.clone());
    detector.trail = running.trail.clone();
    detector.extractor = running.extractor.clone();
    let extraction = |a: &vigie_analytics::AnalyticsConfig| (a.enabled, a.geoip.clone());
    if extraction(&a) != extraction(&running.analytics) {
        detector.extractor = crate::detector(&cfg, engine.clone(), &a).map_err(|e| vec![format!("{e:#}")])?.extractor;
    }
    let changes = engine.set.changes_from(&running.engine.set);
    let restart = restart_needed(&running.cfg, &cfg);
    for s in &restart {
        tracing::warn!("{s} changed: it takes effect at the next restart, not by a reload");
    }
    let summary = json!({
        "rules": engine.set.rules.len(),
        "correlations": engine.set.correlations.len(),
        "rejected": engine.set.rejected.len(),
        "changes": changes_json(&changes),
        "analytics_changed": format!("{a:?}") != format!("{:?}", running.analytics),
        "response_changed": format!("{:?}", cfg.response) != format!("{:?}", running.cfg.response),
        "restart_needed": restart,
    });
    let next = Running {
        cfg,
        engine: engine.clone(),
        analytics: a,
        clock: running.clock.clone(),
        extractor: detector.extractor.clone(),
        trail: running.trail.clone(),
        scrub: running.scrub.clone(),
    };
    Ok((Reload { detector, engine, analytics: state, risk, policy, scrubber, summary, done: None }, next))
}

/// Start the compiler (and the file watch) for requests from `requests`;
/// `base` is the detector in force at start, whose clock, trail and
/// extractor the new ones share. Each reload that takes replaces `rules` (the console's view).
#[allow(clippy::too_many_arguments)]
pub fn start(
    cfg: Config,
    requests: Requests,
    reloader: Reloader,
    base: Arc<Detector>,
    to_engine: Sender<Reload>,
    metrics: Arc<Metrics>,
    audit: Option<Arc<vigie_store::Store>>,
    key: Option<vigie_analytics::Pseudonymiser>,
    rules: Option<vigie_console::RulesView>,
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
    let store_section = cfg.store.clone();
    let analytics = match crate::analytics_config(&cfg) {
        Ok(a) => a,
        Err(e) => return tracing::error!("live reload off: {e:#}"),
    };
    let watched = watched_files(&cfg, &analytics);
    let mut running = Running {
        engine: base.engine.clone(),
        cfg,
        analytics,
        clock: base.clock.clone(),
        extractor: base.extractor.clone(),
        trail: base.trail.clone(),
        scrub: key.map(|k| (k, Arc::new(store_section))),
    };
    drop(base);
    let stop2 = stop.clone();
    std::thread::Builder::new()
        .name("rule-reload".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok(req) = requests.0.recv_timeout(Duration::from_millis(500)) else { continue };
                tracing::info!(trigger = req.why, "reloading");
                let started = std::time::Instant::now();
                match compile(&running) {
                    Ok((mut r, next)) => {
                        let (tx, applied) = crossbeam_channel::bounded(1);
                        r.done = Some(tx);
                        if to_engine.send(r).is_err() {
                            return;
                        }
                        // The engine swaps it in between two batches and
                        // answers with what it kept and dropped.
                        let outcome = loop {
                            match applied.recv_timeout(Duration::from_millis(500)) {
                                Ok(o) => break o,
                                Err(crossbeam_channel::RecvTimeoutError::Timeout) if !stop.load(Ordering::Relaxed) => {}
                                Err(_) => return,
                            }
                        };
                        let outcome = outcome.map(|mut v| {
                            v["seconds"] = json!(started.elapsed().as_secs_f64());
                            v
                        });
                        if let Ok(v) = &outcome {
                            audited("rules.reload", req.why, v);
                        }
                        if let Some(view) = &rules {
                            view.set(crate::rules_summary(&next.engine));
                        }
                        running = next;
                        if let Some(reply) = req.reply {
                            let _ = reply.send(outcome);
                        }
                    }
                    Err(errors) => {
                        metrics.rule_reloads.get_or_create(&ResultLabel { result: "refused".into() }).inc();
                        audited("rules.reload_refused", req.why, &json!({ "errors": errors }));
                        for e in &errors {
                            tracing::error!(
                                trigger = req.why,
                                "reload refused, the running rules and settings stay: {e}"
                            );
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
            // (fingerprint, first seen) of a change not yet taken.
            let mut pending: Option<(u64, std::time::Instant)> = None;
            while !stop2.load(Ordering::Relaxed) {
                for _ in 0..POLL_MS / 100 {
                    if stop2.load(Ordering::Relaxed) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(100));
                }
                let now = fingerprint(&watched);
                // Taken once two polls agree (an editor's writes settle
                // first), or once a change has waited `SETTLE_MAX` (a
                // folder that never settles still reloads).
                match pending {
                    Some((p, since)) if p == now || since.elapsed() >= SETTLE_MAX => {
                        seen = now;
                        pending = None;
                        reloader.nudge("file change");
                    }
                    Some((_, since)) if now != seen => pending = Some((now, since)),
                    _ if now != seen => pending = Some((now, std::time::Instant::now())),
                    _ => pending = None,
                }
            }
        })
        .map(|_| ())
        .unwrap_or_else(|e| tracing::error!("cannot start the rule watch: {e}"));
}

/// The files a change to which asks for a reload: the rules, placeholders
/// and mapping, the configuration file itself, the analytics settings and
/// the caseload files they name. (Files named only in a newer configuration
/// are watched from the next start.)
fn watched_files(cfg: &Config, a: &vigie_analytics::AnalyticsConfig) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = cfg.rules.paths.clone();
    out.extend(cfg.rules.placeholders.iter().cloned());
    out.extend(cfg.rules.mapping.iter().cloned());
    out.extend(cfg.source.iter().cloned());
    out.extend(cfg.analytics.path.iter().cloned());
    out.extend(a.caseload.accounts.iter().cloned());
    out.extend(a.caseload.subjects.iter().cloned());
    out
}

/// How often the watched files are looked at.
const POLL_MS: u64 = 500;

/// The longest a change waits for the files to settle.
const SETTLE_MAX: Duration = Duration::from_secs(5);

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
