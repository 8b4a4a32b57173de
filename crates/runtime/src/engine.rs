//! The engine loop, shared by `vigie run` and `vigie replay`.
//!
//! ```text
//!  sources ──Feed (bounded)──▶ detection workers (one per core) ──▶ stage thread ──▶ sinks
//!            seq-numbered       decode + Sigma                     reorders by seq,
//!            batches                                               correlations, alerts,
//!                                                                  checkpoints, then acks
//! ```
//!
//! Batches carry a sequence number so that the stage applies them in the
//! order they were fed, whatever thread detected them: a replay is
//! deterministic, and a checkpoint's input positions describe exactly the
//! events its state has seen. Inputs are acknowledged (HTTP answered, NATS
//! messages acked) only after a checkpoint covers their batch.

use crate::metrics::{KindLabel, LevelLabel, Metrics};
use crate::respond::Responder;
use crate::sinks::{Record, Sink};
use crate::store::{Checkpoint, Store};
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender, TrySendError};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use vigie_alert::Alert;
use vigie_decode::Format;
use vigie_events::Value;
use vigie_pipeline::{Detected, Detector, Origin, Stage};

/// One unit of input.
pub enum Item {
    /// A raw line, decoded by the input's format.
    Line { bytes: Vec<u8>, offset: u64 },
    /// An event already decoded (files read by `vigie replay`).
    Event { value: Value, offset: u64 },
}

/// Called once a checkpoint covers the batch (`true`), or when the engine
/// stops without one (`false`: the input should let the sender retry).
pub type Ack = Box<dyn FnOnce(bool) + Send>;

pub struct Batch {
    pub input: usize,
    pub items: Vec<Item>,
    /// Where the input will resume if this is the last batch checkpointed.
    pub position: Option<serde_json::Value>,
    pub ack: Option<Ack>,
    /// Records the input could not decode itself (EVTX chunks, JSON files).
    pub errors: u64,
    /// The file the items come from, when the input reads several.
    pub origin: Option<Arc<str>>,
    /// The client's idempotency key: a batch with a key already processed
    /// is acknowledged without being processed again.
    pub key: Option<String>,
}

impl Batch {
    pub fn new(input: usize, items: Vec<Item>) -> Batch {
        Batch { input, items, position: None, ack: None, errors: 0, origin: None, key: None }
    }
}

pub enum Msg {
    Batch(Batch),
    /// The input has no more batches.
    Done(usize),
}

/// The handle inputs feed batches through.
#[derive(Clone)]
pub struct Feed {
    tx: Sender<(u64, Msg)>,
    seq: Arc<Mutex<u64>>,
    pub metrics: Arc<Metrics>,
    pub stop: Arc<AtomicBool>,
    /// Longest line an input keeps (`[engine] max_line`); longer ones are
    /// skipped and counted.
    pub max_line: usize,
}

impl Feed {
    /// Send, waiting while the queue is full (files, stdin, NATS).
    pub fn send(&self, b: Batch) -> bool {
        let Ok(mut seq) = self.seq.lock() else { return false };
        let ok = self.tx.send((*seq, Msg::Batch(b))).is_ok();
        *seq += ok as u64;
        ok
    }

    /// Send only if there is room; the batch comes back when the queue is
    /// full (HTTP answers 429).
    // The batch comes back to be retried or refused; it is not an error to propagate.
    #[allow(clippy::result_large_err)]
    pub fn try_send(&self, b: Batch) -> Result<(), Batch> {
        let Ok(mut seq) = self.seq.lock() else { return Err(b) };
        match self.tx.try_send((*seq, Msg::Batch(b))) {
            Ok(()) => {
                *seq += 1;
                Ok(())
            }
            Err(TrySendError::Full((_, Msg::Batch(b)))) | Err(TrySendError::Disconnected((_, Msg::Batch(b)))) => Err(b),
            Err(_) => unreachable!("only batches are tried"),
        }
    }

    /// The input is finished.
    pub fn done(&self, input: usize) {
        if let Ok(mut seq) = self.seq.lock()
            && self.tx.send((*seq, Msg::Done(input))).is_ok()
        {
            *seq += 1;
        }
    }

    pub fn stopping(&self) -> bool {
        self.stop.load(Ordering::Relaxed)
    }

    pub fn queued(&self) -> usize {
        self.tx.len()
    }
}

struct Processed {
    input: usize,
    detected: Vec<Detected>,
    decode_errors: u64,
    position: Option<serde_json::Value>,
    ack: Option<Ack>,
    key: Option<String>,
}

/// How the engine runs.
pub struct EngineOptions {
    pub workers: usize,
    pub queue: usize,
    /// Per input: its name (for metrics, positions, errors) and line format.
    pub inputs: Vec<(String, Format)>,
    /// `Feed::done` calls to wait for (an input with two listeners sends two).
    pub expected_done: usize,
    pub checkpoint_every: Duration,
    /// Finite input: judge open windows at the end (replay). Otherwise the
    /// engine stops on `stop` and checkpoints instead.
    pub finite: bool,
    /// Move event time with the wall clock when the stream is idle.
    pub idle_advance_ms: Option<i64>,
    /// Where the data-access trail goes, when the store keeps one.
    pub trail: Option<crate::sinks::StoreWriter>,
    /// Suppressions created at run time (the console), the whole list each
    /// time it changes.
    pub suppressions: Option<Receiver<Vec<vigie_alert::Suppression>>>,
    /// An event time further ahead of the wall clock than this is not
    /// trusted (`run`).
    pub max_skew_ms: Option<i64>,
    /// Rule sets compiled aside by a reload (`run`).
    pub reload: Option<Receiver<Reload>>,
}

/// The audit chain's head, copied into each checkpoint and sent to the
/// `[store] audit_sinks` whenever it moves (see `vigie_store::audit`).
pub struct AuditHeads {
    seal: vigie_store::AuditSeal,
    sinks: Vec<Box<dyn Sink>>,
    sent: Option<vigie_store::audit::Head>,
}

impl AuditHeads {
    pub fn new(seal: vigie_store::AuditSeal, sinks: Vec<Box<dyn Sink>>) -> AuditHeads {
        AuditHeads { seal, sinks, sent: None }
    }

    /// Start from the head the last checkpoint recorded (it is sent again
    /// only once it moves, and may never move back).
    fn restore(&mut self, head: Option<vigie_store::audit::Head>) {
        self.sent = head;
    }

    /// The head as recorded now; sent to the audit sinks if it moved since
    /// the last time. A sink that fails is logged, never fatal: the head
    /// file and the checkpoint still hold it.
    fn poll(&mut self) -> Option<vigie_store::audit::Head> {
        let head = match self.seal.head() {
            Ok(h) => h,
            Err(e) => {
                tracing::warn!("audit head not read: {e}");
                return self.sent.clone();
            }
        };
        // The head only moves forward: one that went back means the audit
        // log's tail was cut and the head file rewritten to match. Say so,
        // and keep recording the head known before.
        if let (Some(h), Some(before)) = (&head, &self.sent)
            && h.seq < before.seq
        {
            tracing::error!(
                from = before.seq,
                to = h.seq,
                "the audit head went back: the audit log's newest entries may have been removed (run `vigie audit verify`)"
            );
            return self.sent.clone();
        }
        if head.is_some() && head != self.sent {
            if let Some(h) = &head {
                let rec = crate::sinks::AuditHead::new(h, jiff::Timestamp::now().as_millisecond());
                for s in &mut self.sinks {
                    if let Err(e) = s.write(&Record::audit_head(&rec)).and_then(|()| s.flush()) {
                        tracing::warn!("audit head not sent: {e}");
                    }
                }
            }
            self.sent = head.clone();
        }
        head
    }

    /// Has the head moved since it was last sent (so that a checkpoint is
    /// due even without new events)?
    fn moved(&self) -> bool {
        self.seal.head().ok().flatten().is_some_and(|h| Some(&h) != self.sent.as_ref())
    }
}

/// What a checkpoint records beside the detection state: where each input
/// had got to, the idempotency keys seen, and the audit chain's head.
#[derive(Default)]
struct Ledger {
    positions: BTreeMap<String, serde_json::Value>,
    keys: crate::idempotency::Keys,
    audit: Option<AuditHeads>,
}

/// What the engine reports at the end.
#[derive(Debug, Default, Clone, serde::Serialize)]
pub struct Summary {
    pub events: u64,
    pub decode_errors: u64,
    pub alerts: u64,
    pub late: u64,
    /// Events whose time was not trusted and took the trusted time.
    pub clamped: u64,
    pub unrecognised: u64,
    pub no_timestamp: u64,
    pub suppressed: u64,
    pub merged: u64,
    pub alerts_by_level: BTreeMap<vigie_alert::Severity, u64>,
    pub alerts_by_kind: BTreeMap<String, u64>,
    pub evicted_groups: u64,
    pub evicted_entries: u64,
    /// Response actions written, by status.
    pub actions: BTreeMap<String, u64>,
    pub seconds: f64,
}

/// Make the feed for inputs, and the receiving end for [`run_engine`].
pub fn channel(queue: usize, metrics: Arc<Metrics>) -> (Feed, Receiver<(u64, Msg)>) {
    let (tx, rx) = crossbeam_channel::bounded(queue.max(1));
    let feed = Feed {
        tx,
        seq: Arc::new(Mutex::new(0)),
        metrics,
        stop: Arc::new(AtomicBool::new(false)),
        max_line: crate::sources::lines::DEFAULT_MAX_LINE,
    };
    (feed, rx)
}

/// Everything the engine loop runs with, gathered once by `run` or
/// `replay`: the detection halves, where alerts and actions go, the
/// checkpoint store and what it restored, the inputs' receiving end.
pub struct EngineParts<'a> {
    pub detector: Arc<Detector>,
    pub stage: Stage,
    pub sinks: Vec<Box<dyn Sink>>,
    pub responder: Responder,
    /// Where checkpoints are written (`None`: never, as in `replay`).
    pub store: Option<&'a Store>,
    pub restored: Option<Checkpoint>,
    pub rx: Receiver<(u64, Msg)>,
    pub opts: EngineOptions,
    pub metrics: Arc<Metrics>,
    /// The audit chain's head, recorded in each checkpoint.
    pub audit: Option<AuditHeads>,
}

/// Run until every input is done. `restored` positions were already handed
/// to the inputs; the stage and sinks are restored here.
pub fn run_engine(parts: EngineParts<'_>) -> anyhow::Result<Summary> {
    let EngineParts { detector, mut stage, mut sinks, mut responder, store, restored, rx, opts, metrics, audit } =
        parts;
    let started = Instant::now();
    let mut ledger = Ledger { audit, ..Ledger::default() };
    let restored_none = restored.is_none();
    if let Some(c) = restored {
        for s in sinks.iter_mut() {
            if let Some(p) = c.sinks.get(s.name()) {
                s.restore(p)?;
            }
        }
        for s in responder.sinks.iter_mut() {
            if let Some(p) = c.sinks.get(s.name()) {
                s.restore(p)?;
            }
        }
        responder.policy.state = c.response;
        responder.restore_in_flight(c.actions_in_flight)?;
        stage.restore(c.stage, c.rows);
        ledger.positions = c.inputs;
        ledger.keys = crate::idempotency::Keys::restore(c.idempotency);
        if let Some(a) = ledger.audit.as_mut() {
            a.restore(c.audit_head);
        }
    }
    let first_start = restored_none;
    let (out_tx, out_rx) = crossbeam_channel::bounded::<(u64, Option<Processed>, Option<usize>)>(opts.queue * 2 + 4);
    let inputs = Arc::new(opts.inputs.clone());
    let cell = Arc::new(std::sync::RwLock::new(detector));
    let mut workers = Vec::new();
    for _ in 0..opts.workers.max(1) {
        let (rx, out_tx, cell, inputs, metrics) =
            (rx.clone(), out_tx.clone(), cell.clone(), inputs.clone(), metrics.clone());
        workers.push(std::thread::spawn(move || {
            let mut det = current(&cell);
            let mut work = det.work();
            loop {
                let (seq, msg) = match rx.recv_timeout(Duration::from_secs(1)) {
                    Ok(m) => m,
                    // Idle: take the set in force now, so that a rule set
                    // swapped out is freed instead of kept by a worker.
                    Err(RecvTimeoutError::Timeout) => {
                        let now = current(&cell);
                        if !Arc::ptr_eq(&now, &det) {
                            det = now;
                            work = det.work();
                        }
                        continue;
                    }
                    Err(RecvTimeoutError::Disconnected) => break,
                };
                let sent = match msg {
                    Msg::Done(i) => out_tx.send((seq, None, Some(i))),
                    Msg::Batch(b) => {
                        // Each batch is detected whole by one rule set: the
                        // newest when it starts (a reload swaps it between
                        // batches; matches carry their rule, so a batch of
                        // the set before is applied as it was detected).
                        let now = current(&cell);
                        if !Arc::ptr_eq(&now, &det) {
                            det = now;
                            work = det.work();
                        }
                        let p = detect_batch(&det, &mut work, b, &inputs, &metrics);
                        out_tx.send((seq, Some(p), None))
                    }
                };
                if sent.is_err() {
                    break;
                }
            }
        }));
    }
    drop(out_tx);
    drop(rx);

    let mut live = opts.expected_done;
    let mut next = 0u64;
    let mut pending: BTreeMap<u64, (Option<Processed>, Option<usize>)> = BTreeMap::new();
    let mut acks: Vec<Ack> = Vec::new();
    let mut alerts: Vec<Alert> = Vec::new();
    let mut last_checkpoint = Instant::now();
    let mut last_audit_look = Instant::now();
    let mut panics_in_a_row = 0u32;
    let mut last_cost = Duration::ZERO;
    let mut dirty = false;
    let mut clock = (stage.event_time(), Instant::now());
    let mut summary = Summary::default();
    let mut decode_errors = 0u64;
    // A first checkpoint at once: it records where each sink stood before
    // this engine wrote anything, so that a crash before the next one cuts
    // the sinks back to it instead of leaving alerts that will be redone.
    if first_start && !opts.finite {
        checkpoint(store, &mut stage, &mut sinks, &mut responder, &mut ledger, &metrics)?;
    }

    while live > 0 {
        match out_rx.recv_timeout(Duration::from_millis(50)) {
            Ok((seq, p, done)) => {
                pending.insert(seq, (p, done));
            }
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        while let Some((p, done)) = pending.remove(&next) {
            next += 1;
            if done.is_some() {
                live -= 1;
            }
            let Some(p) = p else { continue };
            dirty = true;
            let name = &opts.inputs[p.input].0;
            if let Some(pos) = p.position {
                ledger.positions.insert(name.clone(), pos);
            }
            acks.extend(p.ack);
            if let Some(k) = p.key {
                let now = jiff::Timestamp::now().as_millisecond();
                if ledger.keys.seen(&k, now) {
                    // Already processed: acknowledged again, not applied.
                    metrics.duplicates.get_or_create(&metrics.input(name)).inc();
                    tracing::info!(input = %name, "batch already processed (same idempotency key): acknowledged");
                    continue;
                }
                ledger.keys.insert(k, now);
            }
            decode_errors += p.decode_errors;
            let mut trail = Vec::new();
            let mut failed = 0u64;
            for mut d in p.detected {
                let now = jiff::Timestamp::now().as_millisecond();
                let ahead = matches!((opts.max_skew_ms, d.ts), (Some(skew), Some(t)) if t > now.saturating_add(skew));
                if ahead {
                    tracing::warn!(input = %d.origin.input, offset = d.origin.offset, "event time {:?} ms is ahead of the clock: not trusted", d.ts);
                }
                if let Some(mut a) = d.access.take() {
                    // A read dated 2099 is filed at the time the stage gives
                    // the event (the trusted one), so that an incident's
                    // window finds it; its id, from the event, stays.
                    if ahead {
                        a.ts = stage.trusted_time().unwrap_or(now);
                    }
                    trail.push(a);
                }
                if apply_guarded(&mut stage, d, ahead, &mut alerts) {
                    panics_in_a_row = 0;
                } else {
                    failed += 1;
                    panics_in_a_row += 1;
                    // A bug every event now triggers: stop loudly rather
                    // than acknowledge events the stage no longer applies.
                    if panics_in_a_row >= MAX_PANICS_IN_A_ROW {
                        anyhow::bail!(
                            "the stateful stage panicked on {panics_in_a_row} events in a row: stopping (the last checkpoint is kept)"
                        );
                    }
                }
            }
            if failed > 0 {
                metrics.batches_failed.get_or_create(&metrics.input(name)).inc();
                decode_errors += failed;
            }
            if let Some(w) = &opts.trail {
                w.trail(trail);
            }
            emit(&mut sinks, &mut responder, &mut alerts, &metrics)?;
        }
        if stage.event_time() != clock.0 {
            clock = (stage.event_time(), Instant::now());
        } else if let (Some(idle), Some(t)) = (opts.idle_advance_ms, clock.0) {
            let waited = clock.1.elapsed().as_millis() as i64;
            if waited > idle {
                stage.advance(t + waited, &mut alerts);
                emit(&mut sinks, &mut responder, &mut alerts, &metrics)?;
            }
        }
        if let Some(rx) = &opts.reload {
            for r in rx.try_iter() {
                apply_reload(r, &mut stage, &mut responder, &cell, &metrics);
            }
        }
        if let Some(rx) = &opts.suppressions {
            for list in rx.try_iter() {
                if let Err(e) = stage.merger.set_dynamic(&list) {
                    tracing::warn!("suppressions from the store not applied: {e}");
                }
            }
        }
        responder.collect()?;
        metrics.queue_depth.set(pending.len() as i64);
        if let Some(t) = stage.event_time() {
            let now = jiff::Timestamp::now().as_millisecond();
            metrics.lag_seconds.set((now - t) as f64 / 1000.0);
        }
        // Inputs waiting for an acknowledgement (HTTP clients, NATS) get a
        // prompt checkpoint once the batches in hand are applied: a group
        // commit, so their latency is milliseconds, not the interval.
        // The gap is at least twice what the last checkpoint took, so that
        // checkpoints never take more than a third of the stage's time.
        let gap = (last_cost * 2).max(Duration::from_millis(20)).min(opts.checkpoint_every);
        let ack_due = !acks.is_empty() && pending.is_empty() && last_checkpoint.elapsed() >= gap;
        let due = last_checkpoint.elapsed() >= opts.checkpoint_every || ack_due;
        // Before any acknowledgement: a client that reads the metrics once
        // answered must see its own batch counted.
        update_state_metrics(&stage, &metrics);
        // The audit head moves with the console's and the CLI's actions, not
        // with events: look at it once per interval, and checkpoint if it moved.
        if !dirty && !opts.finite && last_audit_look.elapsed() >= opts.checkpoint_every {
            last_audit_look = Instant::now();
            dirty = ledger.audit.as_ref().is_some_and(AuditHeads::moved);
        }
        if dirty && due && !opts.finite {
            let t = Instant::now();
            checkpoint(store, &mut stage, &mut sinks, &mut responder, &mut ledger, &metrics)?;
            last_cost = t.elapsed();
            acks.drain(..).for_each(|a| a(true));
            last_checkpoint = Instant::now();
            dirty = false;
        }
    }
    if opts.finite {
        stage.finish(&mut alerts);
        emit(&mut sinks, &mut responder, &mut alerts, &metrics)?;
    }
    for s in sinks.iter_mut() {
        s.flush()?;
    }
    responder.flush(true)?;
    if !opts.finite {
        checkpoint(store, &mut stage, &mut sinks, &mut responder, &mut ledger, &metrics)?;
    }
    acks.drain(..).for_each(|a| a(true));
    for w in workers {
        let _ = w.join();
    }
    update_state_metrics(&stage, &metrics);
    let st = &stage.stats;
    summary.events = st.events;
    summary.decode_errors = decode_errors;
    summary.late = st.late;
    summary.clamped = st.clamped;
    summary.unrecognised = st.unrecognised;
    summary.no_timestamp = st.no_timestamp;
    summary.alerts_by_level = st.alerts_by_level.clone();
    summary.alerts_by_kind = st.alerts_by_kind.clone();
    summary.alerts = st.alerts_by_kind.values().sum();
    summary.suppressed = stage.merger.state.suppressed.iter().sum::<u64>() + stage.merger.dynamic_suppressed;
    summary.merged = stage.merger.state.merged;
    summary.evicted_groups = stage.correlator.stats.evicted_groups;
    summary.evicted_entries = stage.correlator.stats.evicted_entries;
    summary.actions = responder.written.clone();
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Consecutive events on which the stage may panic before the engine stops.
const MAX_PANICS_IN_A_ROW: u32 = 1000;

/// Apply one event to the stateful stage. A panic there (a bug the event
/// triggers in the correlations, the analytics or the merge) is caught:
/// the event is skipped and logged with its input and offset (never its
/// bytes), and the stream goes on. The state the event was changing may be
/// half-updated; it stays consistent enough to go on (every structure is
/// bounded and self-correcting as later events arrive), which is better
/// than an engine that stops for everyone. Returns false if it panicked.
fn apply_guarded(stage: &mut Stage, d: Detected, ahead: bool, alerts: &mut Vec<Alert>) -> bool {
    let (input, offset) = (d.origin.input.clone(), d.origin.offset);
    let applied = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        #[cfg(feature = "fault-injection")]
        {
            if d.activity.as_ref().is_some_and(|a| a.user == "vigie-test-stage-panic") {
                panic!("fault injection (stage)");
            }
        }
        if ahead { stage.apply_clamped(d, alerts) } else { stage.apply(d, alerts) }
    }));
    if applied.is_err() {
        tracing::error!(input = %input, offset, "skipped: the stateful stage panicked on this event");
    }
    applied.is_ok()
}

/// Decode and match one batch on a worker thread. A line that cannot be
/// decoded is counted and logged with its input and offset, and the batch
/// goes on. An event whose decoding or detection panics is caught: it is
/// skipped, logged with its input and offset (never its bytes), the batch
/// is counted in `vigie_batches_failed_total`, and its other events go on.
/// The rule set in force (swapped by a reload).
fn current(cell: &std::sync::RwLock<Arc<Detector>>) -> Arc<Detector> {
    cell.read().unwrap_or_else(|e| e.into_inner()).clone()
}

/// Swap a reload in (between two batches): the stage keeps the state of
/// what did not change, the workers take the new rule set with their next
/// batch, and whoever asked is told what was kept and dropped.
fn apply_reload(
    r: Reload,
    stage: &mut Stage,
    responder: &mut Responder,
    cell: &std::sync::RwLock<Arc<Detector>>,
    metrics: &Metrics,
) {
    let Reload { engine, detector, analytics, risk, mut policy, scrubber, mut summary, done } = r;
    stage.rescrub(scrubber);
    let dropped_before = stage.correlator.stats.dropped_on_restore;
    let kept = stage.reload(&engine);
    let accounts_dropped = stage.reconfigure(analytics, risk);
    policy.state = std::mem::take(&mut responder.policy.state);
    responder.policy = policy;
    *cell.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(detector);
    metrics.rule_reloads.get_or_create(&crate::metrics::ResultLabel { result: "applied".into() }).inc();
    metrics.rules_loaded.set(engine.set.rules.len() as i64);
    let groups_dropped = stage.correlator.stats.dropped_on_restore.saturating_sub(dropped_before);
    tracing::info!(
        rules = engine.set.rules.len(),
        correlations_kept = kept,
        correlation_groups_dropped = groups_dropped,
        analytics_accounts_dropped = accounts_dropped,
        "rules and settings reloaded"
    );
    summary["correlations_kept"] = serde_json::json!(kept);
    summary["correlation_groups_dropped"] = serde_json::json!(groups_dropped);
    summary["analytics_accounts_dropped"] = serde_json::json!(accounts_dropped);
    if let Some(done) = done {
        let _ = done.send(Ok(summary));
    }
}

/// A rule set and settings built aside, to be swapped in between batches.
pub struct Reload {
    pub engine: Arc<vigie_detect::Engine>,
    pub detector: Detector,
    /// The analytics under their new settings (`None`: off), empty: they
    /// take over what the running ones learned.
    pub analytics: Option<vigie_analytics::Analytics>,
    pub risk: vigie_analytics::Risk,
    /// The response policy; it keeps the running one's guardrail counters.
    pub policy: vigie_respond::Policy,
    /// The alerts' scrubber, with every personal field named since the
    /// start (the new mapping's included); open alerts are re-scrubbed.
    pub scrubber: vigie_analytics::Scrubber,
    /// What to tell whoever asked, once it is in force.
    pub summary: serde_json::Value,
    pub done: Option<crossbeam_channel::Sender<crate::reload::Outcome>>,
}

fn detect_batch(
    det: &Detector,
    work: &mut vigie_pipeline::Work,
    b: Batch,
    inputs: &[(String, Format)],
    metrics: &Metrics,
) -> Processed {
    let (input_name, format) = &inputs[b.input];
    let label = metrics.input(input_name);
    let name: Arc<str> = b.origin.clone().unwrap_or_else(|| input_name.as_str().into());
    let mut detected = Vec::with_capacity(b.items.len());
    let mut decode_errors = b.errors;
    let mut panicked = 0u64;
    for item in b.items {
        let offset = match &item {
            Item::Event { offset, .. } | Item::Line { offset, .. } => *offset,
        };
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| match &item {
            Item::Event { value, offset } => Ok(det.detect(value, &Origin::new(name.clone(), *offset), work)),
            Item::Line { bytes, offset } => {
                #[cfg(feature = "fault-injection")]
                {
                    if bytes.windows(16).any(|w| w == b"vigie-test-panic") {
                        panic!("fault injection");
                    }
                }
                vigie_decode::decode(*format, bytes)
                    .map(|value| det.detect(&value, &Origin::new(name.clone(), *offset), work))
            }
        }));
        match outcome {
            Ok(Ok(d)) => detected.push(d),
            Ok(Err(e)) => {
                metrics.decode_errors.get_or_create(&label).inc();
                tracing::warn!(input = %name, offset, format = e.format, field = e.field, "skipped: {}", e.message);
                decode_errors += 1;
            }
            Err(_) => {
                // The scratch space may be half-updated: start it afresh.
                *work = det.work();
                panicked += 1;
                decode_errors += 1;
                tracing::error!(input = %name, offset, "skipped: decoding or detection of this event panicked");
            }
        }
    }
    if panicked > 0 {
        metrics.batches_failed.get_or_create(&label).inc();
        metrics.decode_errors.get_or_create(&label).inc_by(panicked);
    }
    metrics.events_in.get_or_create(&label).inc_by(detected.len() as u64);
    metrics.events_total.fetch_add(detected.len() as u64, Ordering::Relaxed);
    Processed { input: b.input, detected, decode_errors, position: b.position, ack: b.ack, key: b.key }
}

fn emit(
    sinks: &mut [Box<dyn Sink>],
    responder: &mut Responder,
    alerts: &mut Vec<Alert>,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    for a in alerts.drain(..) {
        let kind = match a.alert.kind {
            vigie_alert::AlertKind::Sigma => "sigma",
            vigie_alert::AlertKind::Correlation => "correlation",
            vigie_alert::AlertKind::Analytic => "analytic",
            vigie_alert::AlertKind::Incident => "incident",
        };
        metrics.alerts.get_or_create(&LevelLabel { level: a.rule.level.as_str().into(), kind: kind.into() }).inc();
        let rec = Record::alert(&a);
        for s in sinks.iter_mut() {
            s.write(&rec)?;
        }
        responder.on_alert(&a)?;
    }
    Ok(())
}

fn checkpoint(
    store: Option<&Store>,
    stage: &mut Stage,
    sinks: &mut [Box<dyn Sink>],
    responder: &mut Responder,
    ledger: &mut Ledger,
    metrics: &Metrics,
) -> anyhow::Result<()> {
    for s in sinks.iter_mut() {
        s.flush()?;
    }
    let actions_in_flight = responder.checkpoint()?;
    let audit_head = ledger.audit.as_mut().and_then(AuditHeads::poll);
    let Some(store) = store else { return Ok(()) };
    let mut positions = BTreeMap::new();
    for s in sinks.iter().chain(responder.sinks.iter()) {
        if let Some(p) = s.position()? {
            positions.insert(s.name().to_string(), p);
        }
    }
    let changes = stage.row_changes();
    let c = Checkpoint {
        rows: Default::default(),
        accounts_unreadable: 0,
        stage: stage.snapshot(),
        inputs: ledger.positions.clone(),
        sinks: positions,
        response: responder.policy.state.clone(),
        actions_in_flight,
        idempotency: ledger.keys.snapshot(),
        audit_head,
    };
    let bytes = store.save(&c, &changes)?;
    // Committed: the sinks may let go of what only older checkpoints named
    // (the trail's day files replaced by sorted ones).
    for s in sinks.iter_mut().chain(responder.sinks.iter_mut()) {
        if let Some(pos) = c.sinks.get(s.name()) {
            s.committed(pos)?;
        }
    }
    metrics.checkpoints.inc();
    metrics.checkpoint_bytes.set(bytes as i64);
    Ok(())
}

fn update_state_metrics(stage: &Stage, metrics: &Metrics) {
    let (groups, entries) = stage.correlator.state_size();
    metrics.state_groups.set(groups as i64);
    metrics.state_entries.set(entries as i64);
    let cs = &stage.correlator.stats;
    let set = |kind: &str, v: u64| {
        let c = metrics.evictions.get_or_create(&KindLabel { kind: kind.into() });
        let now = c.get();
        if v > now {
            c.inc_by(v - now);
        }
    };
    set("group", cs.evicted_groups);
    set("entry", cs.evicted_entries);
    if stage.stats.clamped > metrics.clamped.get() {
        metrics.clamped.inc_by(stage.stats.clamped - metrics.clamped.get());
    }
    let late = metrics.late_events.get();
    if stage.stats.late > late {
        metrics.late_events.inc_by(stage.stats.late - late);
    }
    let sup: u64 = stage.merger.state.suppressed.iter().sum();
    if sup > metrics.suppressed.get() {
        metrics.suppressed.inc_by(sup - metrics.suppressed.get());
    }
    if stage.merger.state.merged > metrics.merged.get() {
        metrics.merged.inc_by(stage.merger.state.merged - metrics.merged.get());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The audit head is recorded as it moves forward, and never back: a
    /// head file rewound (a cut tail made to look whole) keeps the head
    /// known before, in the next checkpoint and at the sinks.
    #[test]
    fn the_audit_head_never_goes_back() {
        let dir = tempfile::tempdir().unwrap();
        let head_file = dir.path().join("audit.head");
        let seal = vigie_store::AuditSeal::new(&[1u8; 32], head_file.clone());
        let mut heads = AuditHeads::new(seal, Vec::new());
        assert_eq!(heads.poll(), None);
        let write = |seq: i64| std::fs::write(&head_file, format!(r#"{{"seq":{seq},"mac":"m{seq}"}}"#)).unwrap();
        write(5);
        assert_eq!(heads.poll().map(|h| h.seq), Some(5));
        assert!(!heads.moved());
        write(7);
        assert!(heads.moved());
        assert_eq!(heads.poll().map(|h| h.seq), Some(7));
        write(3);
        assert_eq!(heads.poll().map(|h| h.seq), Some(7), "a head that went back is not recorded");
        // After a restart, the checkpoint's head is the floor.
        let mut again = AuditHeads::new(vigie_store::AuditSeal::new(&[1u8; 32], head_file), Vec::new());
        again.restore(Some(vigie_store::audit::Head { seq: 7, mac: "m7".into() }));
        assert_eq!(again.poll().map(|h| h.seq), Some(7));
    }
}
