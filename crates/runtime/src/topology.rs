//! The topology: sources → detection workers → stateful stage → sinks and
//! responder, built from the configuration in one place for `vigie run`,
//! `vigie replay` and `vigie demo` (which replays).
//!
//! A live topology takes its sources from `[[inputs]]` and its sinks from
//! `[[sinks]]` and `[[action_sinks]]`; a replay has one source (the files
//! it is given) and the outputs its caller chooses, and never calls a
//! response webhook unless asked. Everything else (rules, mappings, the
//! stage, the analytics, the response policy, the store and its trail) is
//! built the same way for both.

use crate::config::{Config, duration_ms};
use crate::engine::{self, EngineOptions, EngineParts, Feed, Msg};
use crate::metrics::Metrics;
use crate::sinks::{self, Sink, StoreWriter};
use crate::sources::{self, Routes, Source};
use crate::store::Checkpoint;
use crate::{StoreHandle, build_engine, detector, policy, pseudonym_key, respond, scrubber, stage_config, workers};
use anyhow::{Context, Result};
use crossbeam_channel::Receiver;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use vigie_decode::Format;
use vigie_detect::Engine;
use vigie_pipeline::{Detector, Stage};

/// The engine's components, built and not yet started.
pub struct Topology {
    /// The async runtime network sources, sinks and webhooks run on.
    pub rt: tokio::runtime::Runtime,
    /// Rules and mappings, compiled.
    pub engine: Arc<Engine>,
    pub detector: Detector,
    pub stage: Stage,
    pub sources: Vec<Box<dyn Source>>,
    /// Alert sinks.
    pub sinks: Vec<Box<dyn Sink>>,
    /// Action sinks.
    pub action_sinks: Vec<Box<dyn Sink>>,
    /// Where the audit chain's head is also sent (`[store] audit_sinks`).
    pub audit_sinks: Vec<Box<dyn Sink>>,
    /// The audit chain's head, recorded in each checkpoint (once a store
    /// with a keyed audit chain is attached).
    audit: Option<engine::AuditHeads>,
    policy: vigie_respond::Policy,
    /// Call response webhooks (`false`: actions are decided and recorded as
    /// dry runs).
    act: bool,
    /// Where the data-access trail goes, when the store keeps one.
    pub trail: Option<StoreWriter>,
    pub metrics: Arc<Metrics>,
    /// Input queue size (batches).
    queue: usize,
    workers: usize,
}

/// The sources once started.
pub struct Started {
    /// Per input: its name and line format, in `[[inputs]]` order.
    pub inputs: Vec<(String, Format)>,
    /// `Feed::done` calls the engine waits for.
    pub expected_done: usize,
    /// Threads to join once the engine is done.
    pub threads: Vec<std::thread::JoinHandle<()>>,
    /// The http input's routes, to mount on the server.
    pub routes: Option<Routes>,
}

impl Topology {
    /// `vigie run`: sources and sinks as configured.
    pub fn live(cfg: &Config) -> Result<Topology> {
        if cfg.inputs.is_empty() {
            anyhow::bail!("no [[inputs]] configured (see docs/vigie.example.toml)");
        }
        let mut t = Topology::new(cfg, 2, None)?;
        t.sources = cfg.inputs.iter().map(|i| i.build()).collect();
        t.sinks = sinks::build("", &cfg.sinks, t.rt.handle(), &t.metrics)?;
        t.action_sinks = sinks::build("actions:", &cfg.action_sinks, t.rt.handle(), &t.metrics)?;
        t.audit_sinks = sinks::build("audit:", &cfg.store.audit_sinks, t.rt.handle(), &t.metrics)?;
        t.act = true;
        Ok(t)
    }

    /// `vigie replay`: no source and no sink yet (the caller adds the
    /// files and the outputs), and one outlier cannot move event time past
    /// the rest of the stream. Actions are dry runs unless [`Topology::act`].
    pub fn replay(cfg: &Config) -> Result<Topology> {
        let jump = duration_ms(&cfg.engine.max_time_jump).context("[engine] max_time_jump")?;
        let mut t = Topology::new(cfg, 1, Some(jump))?;
        t.policy.force_dry_run();
        Ok(t)
    }

    fn new(cfg: &Config, rt_threads: usize, max_jump_ms: Option<i64>) -> Result<Topology> {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(rt_threads).enable_all().build()?;
        crate::install_crypto();
        let engine = Arc::new(build_engine(cfg)?);
        let mut stage_cfg = stage_config(cfg)?;
        stage_cfg.max_jump_ms = max_jump_ms;
        let detector = detector(cfg, engine.clone(), &stage_cfg.analytics)?;
        let mut stage = Stage::new(engine.clone(), &stage_cfg)?;
        // Every alert is scrubbed of identifiers before it is kept or emitted.
        let key = vigie_analytics::Pseudonymiser::new(&pseudonym_key(cfg)?);
        stage.scrubber = Some(scrubber(cfg, key, &engine)?);
        Ok(Topology {
            rt,
            engine,
            detector,
            stage,
            sources: Vec::new(),
            sinks: Vec::new(),
            action_sinks: Vec::new(),
            audit_sinks: Vec::new(),
            audit: None,
            policy: policy(cfg)?,
            act: false,
            trail: None,
            metrics: Arc::new(Metrics::default()),
            queue: cfg.engine.queue,
            workers: workers(cfg),
        })
    }

    /// Call the response webhooks as the policy says (a replay's actions
    /// are otherwise dry runs).
    pub fn act(&mut self, cfg: &Config) -> Result<()> {
        self.policy = policy(cfg)?;
        self.act = true;
        Ok(())
    }

    /// Alerts and actions also go to the store, and the data-access trail
    /// when the store keeps one; the store's audit head goes into each
    /// checkpoint and to the audit sinks.
    pub fn attach_store(&mut self, h: &StoreHandle) {
        // The engine's handles count their waits in its metrics.
        let writer = h.writer.counted(&self.metrics.store);
        self.sinks.push(Box::new(sinks::StoreSink::new("store", writer.clone())));
        self.action_sinks.push(Box::new(sinks::StoreSink::new("actions:store", writer.clone())));
        if let Some(seal) = h.store.seal.clone() {
            self.audit = Some(engine::AuditHeads::new(seal, std::mem::take(&mut self.audit_sinks)));
        }
        if h.trail {
            self.detector.trail = Some(Arc::new(vigie_analytics::Trail::new(h.key.clone())));
            self.trail = Some(writer);
        }
    }

    /// The queue between the sources and the engine.
    pub fn channel(&self) -> (Feed, Receiver<(u64, Msg)>) {
        engine::channel(self.queue, self.metrics.clone())
    }

    /// Start every source through the [`Source`] trait, each resuming from
    /// its checkpointed position.
    pub fn start_sources(
        &mut self,
        feed: &Feed,
        restored: Option<&Checkpoint>,
        stop: &Arc<AtomicBool>,
    ) -> Result<Started> {
        let mut out = Started { inputs: Vec::new(), expected_done: 0, threads: Vec::new(), routes: None };
        for (i, source) in std::mem::take(&mut self.sources).into_iter().enumerate() {
            let name = sources::name(source.kind(), i);
            out.inputs.push((name.clone(), source.format()));
            let cx = sources::Context {
                input: i,
                resume: restored.and_then(|c| c.inputs.get(&name).cloned()),
                name,
                feed: feed.clone(),
                rt: self.rt.handle().clone(),
                stop: stop.clone(),
            };
            let started = source.start(cx)?;
            out.threads.extend(started.threads);
            out.expected_done += started.done;
            if let Some(r) = started.routes {
                if out.routes.is_some() {
                    anyhow::bail!("only one http input can be configured (it is served on [server] listen)");
                }
                out.routes = Some(r);
            }
        }
        Ok(out)
    }

    /// Engine options common to every topology; the caller sets what
    /// differs (checkpoints, idle advance, clock skew, suppressions).
    pub fn options(&self, started: &Started, finite: bool) -> EngineOptions {
        EngineOptions {
            workers: self.workers,
            queue: self.queue,
            inputs: started.inputs.clone(),
            expected_done: started.expected_done,
            checkpoint_every: Duration::from_secs(3600),
            finite,
            idle_advance_ms: None,
            trail: self.trail.clone(),
            suppressions: None,
            max_skew_ms: None,
            reload: None,
        }
    }

    /// Hand the stateful half to the engine loop; the runtime stays with
    /// the caller (the HTTP server and network sinks run on it).
    pub fn into_parts<'a>(
        self,
        store: Option<&'a crate::store::Store>,
        restored: Option<Checkpoint>,
        rx: Receiver<(u64, Msg)>,
        opts: EngineOptions,
    ) -> Result<(EngineParts<'a>, tokio::runtime::Runtime)> {
        let rt_handle = self.rt.handle().clone();
        let responder = respond::Responder::new(
            self.policy,
            self.action_sinks,
            self.act.then_some(&rt_handle),
            self.metrics.clone(),
        )?;
        let parts = EngineParts {
            detector: Arc::new(self.detector),
            stage: self.stage,
            sinks: self.sinks,
            responder,
            store,
            restored,
            rx,
            opts,
            metrics: self.metrics,
            audit: self.audit,
        };
        Ok((parts, self.rt))
    }
}
