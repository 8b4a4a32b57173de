//! vigie-runtime: the long-running engine (`vigie run`) and its offline twin
//! (`vigie replay`), wired around vigie-pipeline.
//!
//! `topology.rs` builds the components from the configuration, the same way
//! for `run` and `replay`. Folders follow the data flow: `sources/` (stdin,
//! file tail, replayed files, HTTP ingest, syslog, NATS), `server.rs` (the
//! HTTP server the http input and the console mount their routes on),
//! `engine.rs` (batches, detection workers, the stateful stage,
//! checkpoints), `sinks/` (JSONL, stdout, webhook, syslog, NATS, the store),
//! and `store.rs` (the embedded checkpoint store).

pub mod config;
pub mod engine;
pub mod idempotency;
pub mod metrics;
pub mod reload;
pub mod respond;
pub mod server;
pub mod sinks;
pub mod sources;
pub mod store;
pub mod topology;

use anyhow::{Context, Result};
use config::{Config, duration_ms};
use engine::Summary;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use topology::Topology;
use vigie_correlate::Limits;
use vigie_detect::{Engine, loader};
use vigie_mapping::{Mapping, builtins};
use vigie_pipeline::{Detector, StageConfig, time::Clock};

/// Choose the TLS crypto provider (ring, the one async-nats also uses) for
/// every HTTPS client in the process. Idempotent.
pub fn install_crypto() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Report panics by their place only: a panic's message may quote the
/// input that caused it (a slice of a line, a field's value), and input is
/// personal data until proven otherwise. The engine catches panics on
/// events and goes on; this makes the log line that says so safe.
/// `VIGIE_PANIC_DETAIL=1` restores the message, for a developer reproducing
/// a bug on data they may see.
pub fn install_panic_hook() {
    if std::env::var_os("VIGIE_PANIC_DETAIL").is_some_and(|v| v == "1") {
        return;
    }
    std::panic::set_hook(Box::new(|info| {
        let place =
            info.location().map_or_else(|| "unknown place".to_string(), |l| format!("{}:{}", l.file(), l.line()));
        let thread = std::thread::current();
        eprintln!(
            "vigie: thread '{}' panicked at {place} (message withheld: it may quote input; VIGIE_PANIC_DETAIL=1 shows it)",
            thread.name().unwrap_or("unnamed")
        );
    }));
}

/// Rules and mappings as configured: the user's, or the built-in pack.
pub fn build_engine(cfg: &Config) -> Result<Engine> {
    let set = if cfg.rules.paths.is_empty() {
        let ph = match &cfg.rules.placeholders {
            Some(p) => loader::load_placeholders(Some(p))?,
            None => vigie_content::placeholders(),
        };
        vigie_sigma::RuleSet::load(&vigie_content::rule_sources(), &ph)
    } else {
        let ph = loader::load_placeholders(cfg.rules.placeholders.as_deref())?;
        loader::load_rules(&cfg.rules.paths, &ph)?
    };
    if set.rules.is_empty() {
        anyhow::bail!("no rule loaded");
    }
    for r in set.rejected.iter().take(5) {
        tracing::warn!(path = %r.path, id = r.id.as_deref().unwrap_or("-"), "rule not loaded: {}", r.reason);
    }
    let (mappings, forced) = match &cfg.rules.mapping {
        Some(p) => (vec![Mapping::from_file(p)?], true),
        None => (builtins(), false),
    };
    Ok(Engine::new(set, mappings, forced))
}

pub fn stage_config(cfg: &Config) -> Result<StageConfig> {
    let e = &cfg.engine;
    Ok(StageConfig {
        limits: Limits {
            max_groups: e.max_groups,
            max_entries: e.max_entries,
            lateness_ms: duration_ms(&e.lateness).context("[engine] lateness")?,
            ..Limits::default()
        },
        merge_window_ms: duration_ms(&e.merge_window).context("[engine] merge_window")?,
        max_open_alerts: e.max_open_alerts,
        suppressions: cfg.suppressions.clone(),
        analytics: analytics_config(cfg)?,
        max_jump_ms: None,
    })
}

/// The stateless half: no activity extraction when the analytics are off,
/// and the GeoIP database when one is configured.
fn detector(cfg: &Config, engine: Arc<Engine>, analytics: &vigie_analytics::AnalyticsConfig) -> Result<Detector> {
    let mut d = Detector::new(engine, Clock::new(&cfg.engine.timestamp_fields));
    d.extractor = None;
    if analytics.enabled {
        let mut x = vigie_analytics::Extractor::default();
        if let Some(path) = &analytics.geoip {
            x.geoip = Some(vigie_analytics::activity::GeoIp::open(path)?);
            tracing::info!(path = %path.display(), "GeoIP database loaded");
        }
        d.extractor = Some(Arc::new(x));
    }
    Ok(d)
}

/// The analytics settings: the configured YAML file, or the bundled one.
pub fn analytics_config(cfg: &Config) -> Result<vigie_analytics::AnalyticsConfig> {
    let mut a = match &cfg.analytics.path {
        Some(p) => {
            let text = vigie_events::text::read_capped(p)
                .map_err(|m| anyhow::anyhow!("[analytics] path = {}: {m}", p.display()))?;
            vigie_analytics::AnalyticsConfig::from_yaml(&text, &p.display().to_string())?
        }
        None => vigie_analytics::AnalyticsConfig::from_yaml(
            vigie_content::analytics_yaml(),
            "builtin:analytics/default.yml",
        )?,
    };
    if let Some(on) = cfg.analytics.enabled {
        a.enabled = on;
    }
    Ok(a)
}

fn workers(cfg: &Config) -> usize {
    cfg.engine.workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
}

/// The response policy as configured; `secret_env` is read from the
/// process environment.
pub fn policy(cfg: &Config) -> Result<vigie_respond::Policy> {
    Ok(vigie_respond::Policy::new(&cfg.response, &|k| std::env::var(k).ok())?)
}

/// What the rules page shows of the loaded rule set.
pub fn rules_summary(engine: &Engine) -> vigie_console::RulesInfo {
    let set = &engine.set;
    vigie_console::RulesInfo {
        loaded: set.rules.len(),
        correlations: set.correlations.len(),
        rejected: set
            .rejected
            .iter()
            .map(|r| vigie_console::Rejected { path: r.path.clone(), id: r.id.clone(), reason: r.reason.clone() })
            .collect(),
        rules: set
            .rules
            .iter()
            .map(|r| {
                let m = &r.meta;
                (
                    m.id.clone().unwrap_or_default(),
                    m.title.clone(),
                    vigie_alert::Severity::of_rule(m.level.as_deref()),
                    m.author.clone().unwrap_or_default(),
                )
            })
            .collect(),
    }
}

/// The console on the store, with the engine's counters.
pub fn console(
    cfg: &Config,
    h: &StoreHandle,
    rules: vigie_console::RulesInfo,
    metrics: &metrics::Metrics,
) -> Result<vigie_console::Console> {
    Ok(vigie_console::Console::new(
        h.store.clone(),
        h.key.clone(),
        h.live.clone(),
        rules,
        cfg.organisation.clone(),
        metrics.events_total.clone(),
        vigie_console::Settings {
            secure_cookies: cfg.console.secure_cookies,
            session_ms: duration_ms(&cfg.console.session).context("[console] session")?,
            max_failed_logins: cfg.console.max_failed_logins,
            approve_suppressions: cfg.console.approve_suppressions,
            require_mfa: cfg.console.require_mfa,
        },
    ))
}

/// The store as configured, its pseudonymisation key and its writer.
pub struct StoreHandle {
    pub store: Arc<vigie_store::Store>,
    pub key: vigie_analytics::Pseudonymiser,
    pub writer: sinks::StoreWriter,
    pub live: tokio::sync::broadcast::Sender<sinks::Live>,
    pub retention: vigie_store::Retention,
    pub trail: bool,
}

/// The pseudonymisation key: from the environment, a file, or created once
/// in the state folder (owner-only).
pub fn pseudonym_key(cfg: &Config) -> Result<Vec<u8>> {
    if let Some(var) = &cfg.store.key_env {
        let k = std::env::var(var).with_context(|| format!("[store] key_env = {var}: not set"))?;
        return Ok(k.into_bytes());
    }
    let path = cfg.store.key_file.clone().unwrap_or_else(|| cfg.engine.state_dir.join("pseudonym.key"));
    secret_file(&path, "the pseudonymisation key (keep it: re-identification needs it)").map(String::into_bytes)
}

/// The audit chain's key and head file (`[store] audit_key_file`, default
/// `<state_dir>/audit.key`; the head in `<state_dir>/audit.head`).
pub fn audit_seal(cfg: &Config) -> Result<vigie_store::AuditSeal> {
    let key = cfg.store.audit_key_file.clone().unwrap_or_else(|| cfg.engine.state_dir.join("audit.key"));
    Ok(vigie_store::AuditSeal::open(&key, cfg.engine.state_dir.join("audit.head"))?)
}

/// The scrubber every alert goes through before it is kept or emitted:
/// `data_subject.ids`, `[store] url_patterns`, `[store] personal_fields`
/// and the fields the engine's mappings mark `personal:`.
pub fn scrubber(
    cfg: &Config,
    key: vigie_analytics::Pseudonymiser,
    engine: &Engine,
) -> Result<vigie_analytics::Scrubber> {
    vigie_analytics::Scrubber::new(key)
        .with_url_patterns(&cfg.store.url_patterns)
        .context("[store] url_patterns")?
        .with_personal_fields(&cfg.store.personal_fields)
        .context("[store] personal_fields")?
        .with_personal_fields(&engine.personal_fields())
        .context("mapping `personal:` fields")
}

/// Open the configured store (`None` when `[store] enabled = false`).
pub fn open_store(cfg: &Config) -> Result<Option<StoreHandle>> {
    if !cfg.store.enabled {
        return Ok(None);
    }
    let url = match &cfg.store.url {
        Some(u) => u.clone(),
        None => cfg.engine.state_dir.join("vigie.db").display().to_string(),
    };
    let store = Arc::new(
        vigie_store::Store::open(&url)
            .with_context(|| format!("[store] url = {}", vigie_store::redact(&url)))?
            .with_audit_seal(audit_seal(cfg)?),
    );
    let key = vigie_analytics::Pseudonymiser::new(&pseudonym_key(cfg)?);
    let (live, _) = tokio::sync::broadcast::channel(1024);
    let writer = sinks::StoreWriter::spawn(store.clone(), key.clone(), live.clone());
    let retention = vigie_store::Retention {
        trail_ms: duration_ms(&cfg.store.trail_retention).context("[store] trail_retention")?,
        alerts_ms: duration_ms(&cfg.store.alert_retention).context("[store] alert_retention")?,
    };
    tracing::info!(store = %store.location, "store open");
    Ok(Some(StoreHandle { store, key, writer, live, retention, trail: cfg.store.trail }))
}

/// Suppressions analysts create in the console reach the engine: the
/// store's list is read every few seconds and sent whole when it changes.
fn watch_suppressions(
    store: Arc<vigie_store::Store>,
    stop: Arc<AtomicBool>,
) -> crossbeam_channel::Receiver<Vec<vigie_alert::Suppression>> {
    let (tx, rx) = crossbeam_channel::unbounded();
    std::thread::spawn(move || {
        let mut last: Option<Vec<vigie_alert::Suppression>> = None;
        while !stop.load(Ordering::Relaxed) {
            match store.suppressions(vigie_store::now_ms()) {
                Ok(rows) => {
                    let list: Vec<vigie_alert::Suppression> = rows
                        .into_iter()
                        .map(|r| vigie_alert::Suppression {
                            rule: r.rule_id,
                            user: r.account,
                            source_ip: r.source_ip,
                            expires: vigie_alert::rfc3339(r.expires_ms),
                            reason: r.reason,
                        })
                        .collect();
                    if last.as_ref() != Some(&list) {
                        if tx.send(list.clone()).is_err() {
                            return;
                        }
                        last = Some(list);
                    }
                }
                Err(e) => tracing::warn!("reading suppressions from the store: {e}"),
            }
            for _ in 0..20 {
                if stop.load(Ordering::Relaxed) {
                    return;
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    });
    rx
}

/// Where a replay writes.
#[derive(Default)]
pub struct ReplayOutputs<'a> {
    pub alerts: Option<&'a std::path::Path>,
    pub actions: Option<&'a std::path::Path>,
    pub store: Option<&'a StoreHandle>,
    /// Call the action webhooks (the demo's local IAM); a replay of real
    /// logs never does.
    pub act: bool,
}

/// `vigie replay`: files through the same engine as `run`, as fast as they
/// can be read, in event time; open windows are judged at the end. Response
/// actions are decided exactly as `run` would, but never called: a replay of
/// last month's logs must not suspend anyone today.
pub fn replay(
    cfg: &Config,
    inputs: &[PathBuf],
    alerts: &std::path::Path,
    actions: Option<&std::path::Path>,
) -> Result<Summary> {
    replay_to(cfg, inputs, ReplayOutputs { alerts: Some(alerts), actions, ..Default::default() })
}

/// A replay with every output chosen (files, the store).
pub fn replay_to(cfg: &Config, inputs: &[PathBuf], out: ReplayOutputs<'_>) -> Result<Summary> {
    let files = vigie_decode::discover(inputs)?;
    // A replay writes fresh files: the same input gives the same files.
    for path in out.alerts.into_iter().chain(out.actions) {
        if path.exists() {
            std::fs::remove_file(path).with_context(|| format!("{}", path.display()))?;
        }
    }
    let mut t = Topology::replay(cfg)?;
    let failed = Arc::new(std::sync::Mutex::new(None));
    t.sources.push(Box::new(sources::files::Files { files, failed: failed.clone() }));
    if let Some(path) = out.alerts {
        t.sinks.push(Box::new(sinks::JsonlSink::open("alerts", path)?));
    }
    if let Some(path) = out.actions {
        t.action_sinks.push(Box::new(sinks::JsonlSink::open("actions", path)?));
    }
    if let Some(h) = out.store {
        t.attach_store(h);
    }
    if out.act {
        t.act(cfg)?;
    }
    let (feed, rx) = t.channel();
    let started = t.start_sources(&feed, None, &Arc::new(AtomicBool::new(false)))?;
    drop(feed);
    let opts = t.options(&started, true);
    let (parts, rt) = t.into_parts(None, None, rx, opts)?;
    let summary = engine::run_engine(parts)?;
    for th in started.threads {
        th.join().map_err(|_| anyhow::anyhow!("file reader panicked"))?;
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    if let Some(e) = failed.lock().ok().and_then(|mut f| f.take()) {
        anyhow::bail!(e);
    }
    Ok(summary)
}

/// A secret kept in a file: read it, or create it once (owner-only from
/// its creation, never readable by others even for an instant). Two
/// processes or threads creating it at once agree: the secret is written
/// to a private temporary file and linked into place only if no other got
/// there first.
pub(crate) fn secret_file(path: &std::path::Path, what: &str) -> Result<String> {
    if let Ok(t) = std::fs::read_to_string(path) {
        return Ok(t.trim().to_string());
    }
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    vigie_store::files::private_dir(dir)?;
    let t: String = {
        use rand::Rng;
        let bytes: [u8; 24] = rand::rng().random();
        hex::encode(bytes)
    };
    let tmp = dir.join(format!(".secret.{}.{:x}.tmp", std::process::id(), rand::random::<u64>()));
    {
        use std::io::Write;
        let mut f = vigie_store::files::private_file(&tmp)?;
        f.write_all(t.as_bytes()).and_then(|()| f.sync_all()).with_context(|| format!("writing {}", tmp.display()))?;
    }
    let linked = std::fs::hard_link(&tmp, path);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => {
            tracing::info!(path = %path.display(), "created {what}");
            Ok(t)
        }
        // Another process or thread created it first: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            Ok(std::fs::read_to_string(path)?.trim().to_string())
        }
        Err(e) => Err(e).with_context(|| format!("writing {}", path.display())),
    }
}

/// `vigie run`: until every input ends (stdin at end of file) or `stop` is
/// raised (SIGTERM, SIGINT); then drains, flushes and checkpoints.
pub fn run(cfg: &Config, stop: Arc<AtomicBool>) -> Result<Summary> {
    let mut t = Topology::live(cfg)?;
    let rules = rules_summary(&t.engine);
    let store = store::Store::open(&cfg.engine.state_dir)?;
    let handle = open_store(cfg)?;
    let restored = store.load()?;
    if let Some(c) = &restored {
        tracing::info!(dir = %cfg.engine.state_dir.display(), "resuming from checkpoint");
        if c.accounts_unreadable > 0 {
            tracing::warn!(
                accounts = c.accounts_unreadable,
                "behaviour state of some accounts was saved in an older layout and is learned again"
            );
        }
    }
    if let Some(h) = &handle {
        t.attach_store(h);
        // Retention is enforced at start and every hour.
        let (store, retention) = (h.store.clone(), h.retention);
        t.rt.spawn(async move {
            loop {
                let s = store.clone();
                match tokio::task::spawn_blocking(move || s.enforce(&retention, vigie_store::now_ms())).await {
                    Ok(Ok(p)) => tracing::info!(?p, "retention enforced"),
                    Ok(Err(e)) => tracing::error!("retention: {e}"),
                    Err(_) => {}
                }
                tokio::time::sleep(Duration::from_secs(3600)).await;
            }
        });
    }
    let (mut feed, rx) = t.channel();
    feed.stop = stop.clone();
    feed.max_line = cfg.engine.max_line.max(1);
    // Every input starts through the same trait; see `sources/mod.rs`.
    let started = t.start_sources(&feed, restored.as_ref(), &stop)?;
    drop(feed);

    // The HTTP server always runs (health and metrics); it ingests when an
    // http input is configured.
    let api = server::Api::new(cfg, t.metrics.clone())?;
    let ingesting = started.routes.is_some();
    let mut opts = t.options(&started, false);
    let mounted = match started.routes {
        Some(r) => r(&api),
        None => sources::http::routes(sources::http::Ingest::unconfigured(&api)),
    };
    // Live reload: requests wait here until the compiler starts below.
    let (reloader, requests) = reload::channel();
    let (reload_tx, reload_rx) = crossbeam_channel::unbounded();
    opts.reload = Some(reload_rx);
    let mut app = server::router(api.clone(), mounted).merge(reload::routes(api, reloader.clone()));
    let mut rules_view = None;
    if let (Some(h), true) = (&handle, cfg.console.enabled) {
        let c = console(cfg, h, rules, &t.metrics)?;
        rules_view = Some(c.rules.clone());
        app = app.merge(vigie_console::router(c));
        tracing::info!(address = %cfg.server.listen, "console on http://{}/console/", cfg.server.listen);
    }
    let http = server::start(t.rt.handle(), &cfg.server.listen, app, ingesting, stop.clone())?;
    {
        let stop = stop.clone();
        t.rt.spawn(async move {
            wait_for_signal().await;
            tracing::info!("stopping: draining inputs and checkpointing");
            stop.store(true, Ordering::Relaxed);
        });
        #[cfg(unix)]
        {
            let reloader = reloader.clone();
            t.rt.spawn(async move {
                use tokio::signal::unix::{SignalKind, signal};
                let Ok(mut hup) = signal(SignalKind::hangup()) else { return };
                while hup.recv().await.is_some() {
                    reloader.nudge("SIGHUP");
                }
            });
        }
    }
    opts.checkpoint_every = Duration::from_millis(duration_ms(&cfg.engine.checkpoint_interval)?.max(10) as u64);
    opts.idle_advance_ms = match cfg.engine.advance_when_idle {
        true => Some(duration_ms(&cfg.engine.lateness)?.max(1000)),
        false => None,
    };
    opts.suppressions = handle.as_ref().map(|h| watch_suppressions(h.store.clone(), stop.clone()));
    opts.max_skew_ms = Some(duration_ms(&cfg.engine.max_clock_skew).context("[engine] max_clock_skew")?);
    let (parts, rt) = t.into_parts(Some(&store), restored, rx, opts)?;
    parts.metrics.rules_loaded.set(parts.detector.engine.set.rules.len() as i64);
    reload::start(
        cfg.clone(),
        requests,
        reloader,
        parts.detector.clone(),
        reload_tx,
        parts.metrics.clone(),
        handle.as_ref().map(|h| h.store.clone()),
        vigie_analytics::Pseudonymiser::new(&pseudonym_key(cfg)?),
        rules_view,
        stop.clone(),
    );
    let summary = engine::run_engine(parts);
    stop.store(true, Ordering::Relaxed);
    let _ = rt.block_on(http);
    for th in started.threads {
        let _ = th.join();
    }
    rt.shutdown_timeout(Duration::from_secs(2));
    summary
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut term), Ok(mut int)) = (signal(SignalKind::terminate()), signal(SignalKind::interrupt())) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
