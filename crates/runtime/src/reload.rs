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

/// A rejected rule as (id, else path; reason): a rule that was rejected and
/// only moved (a SigmaHQ update) is not a new rejection.
fn rejection_key(r: &vigie_sigma::Rejection) -> (&str, &str) {
    (r.id.as_deref().unwrap_or(&r.path), &r.reason)
}

/// The rejections of `now` that `before` did not have, as "path: reason".
fn new_rejections(before: &vigie_detect::Engine, now: &vigie_detect::Engine) -> Vec<String> {
    let old: rustc_hash::FxHashSet<(&str, &str)> = before.set.rejected.iter().map(rejection_key).collect();
    now.set
        .rejected
        .iter()
        .filter(|r| !old.contains(&rejection_key(r)))
        .map(|r| format!("{}: {}", r.path, r.reason))
        .collect()
}

/// At most this many errors are listed in a refusal's answer, audit entry
/// and log (the rest are counted).
const MAX_ERRORS: usize = 50;

fn capped(mut errors: Vec<String>) -> Vec<String> {
    if errors.len() > MAX_ERRORS {
        let more = errors.len() - MAX_ERRORS;
        errors.truncate(MAX_ERRORS);
        errors.push(format!("and {more} more"));
    }
    errors
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
    /// The configuration `run` started with: the sections a reload does not
    /// apply are compared with it, and alerts are scrubbed with its
    /// `[store]` fields.
    start: Arc<Config>,
    /// The pseudonymisation key alerts are scrubbed with.
    key: vigie_analytics::Pseudonymiser,
    /// Every field a mapping in force since the start called personal: a
    /// reload may add to them, never take one away (a field moved from the
    /// mapping to `[store] personal_fields` must not go out in clear until
    /// the restart that applies the latter).
    personal: Vec<String>,
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
/// mapping, the analytics settings, the response policy, and the alerts'
/// scrubber. Refused, with every error found, when any part cannot be
/// built or the rules reject a rule that the running set did not. A
/// configuration file that does not parse is an error, and the other
/// parts are still checked under the running configuration.
fn compile(running: &Running) -> Result<(Reload, Running), Vec<String>> {
    let mut errors = Vec::new();
    let cfg = match &running.cfg.source {
        Some(path) => match Config::from_file(path) {
            Ok(mut c) => {
                c.source = Some(path.clone());
                Some(c)
            }
            Err(e) => {
                errors.push(format!("{e:#}"));
                None
            }
        },
        None => Some(running.cfg.clone()),
    };
    let checked = cfg.as_ref().unwrap_or(&running.cfg);
    let engine = crate::build_engine(checked).map_err(|e| errors.push(format!("{e:#}"))).ok();
    if let Some(engine) = &engine {
        errors.extend(new_rejections(&running.engine, engine));
    }
    let analytics = crate::analytics_config(checked).map_err(|e| errors.push(format!("{e:#}"))).ok();
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
    let policy = crate::policy(checked).map_err(|e| errors.push(format!("[response]: {e:#}"))).ok();
    // Alerts are scrubbed with every personal field named since the start.
    let mut personal = running.personal.clone();
    let scrubber = engine.as_ref().and_then(|engine| {
        for f in engine.personal_fields() {
            if !personal.contains(&f) {
                personal.push(f);
            }
        }
        crate::scrubber(&running.start, running.key.clone(), engine)
            .and_then(|s| Ok(s.with_personal_fields(&personal)?))
            .map_err(|e| errors.push(format!("{e:#}")))
            .ok()
    });
    let (Some(cfg), Some(engine), Some(a), Some((state, risk)), Some(policy), Some(scrubber), true) =
        (cfg, engine, analytics, built, policy, scrubber, errors.is_empty())
    else {
        return Err(capped(errors));
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
    let restart = restart_needed(&running.start, &cfg);
    for s in &restart {
        tracing::warn!("{s} differs from the start: it takes effect at the next restart, not by a reload");
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
        start: running.start.clone(),
        key: running.key.clone(),
        personal,
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
    key: vigie_analytics::Pseudonymiser,
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
    let analytics = match crate::analytics_config(&cfg) {
        Ok(a) => a,
        Err(e) => return tracing::error!("live reload off: {e:#}"),
    };
    let watched = if cfg.rules.watch { watched_files(&cfg, &analytics) } else { Vec::new() };
    let mut running = Running {
        personal: base.engine.personal_fields(),
        engine: base.engine.clone(),
        start: Arc::new(cfg.clone()),
        cfg,
        analytics,
        clock: base.clock.clone(),
        extractor: base.extractor.clone(),
        trail: base.trail.clone(),
        key,
    };
    drop(base);
    let stop2 = stop.clone();
    std::thread::Builder::new()
        .name("rule-reload".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok(first) = requests.0.recv_timeout(Duration::from_millis(500)) else { continue };
                // Requests that arrived meanwhile are served by this same
                // reload: edits faster than a compile never pile up.
                let mut replies: Vec<Sender<Outcome>> = Vec::new();
                let why = first.why;
                for r in std::iter::once(first).chain(requests.0.try_iter()) {
                    replies.extend(r.reply);
                }
                tracing::info!(trigger = why, "reloading");
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
                            audited("rules.reload", why, v);
                        }
                        if let Some(view) = &rules {
                            view.set(crate::rules_summary(&next.engine));
                        }
                        running = next;
                        for reply in replies {
                            let _ = reply.send(outcome.clone());
                        }
                    }
                    Err(errors) => {
                        metrics.rule_reloads.get_or_create(&ResultLabel { result: "refused".into() }).inc();
                        audited("rules.reload_refused", why, &json!({ "errors": errors }));
                        for e in &errors {
                            tracing::error!(trigger = why, "reload refused, the running rules and settings stay: {e}");
                        }
                        for reply in replies {
                            let _ = reply.send(Err(errors.clone()));
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
