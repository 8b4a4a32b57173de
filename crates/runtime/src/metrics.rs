//! Prometheus metrics: what an operator needs to see that nothing is being
//! lost (every drop, rejection, late event and eviction has a counter) and
//! that the engine keeps up (lag, queue depth, state size).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct InputLabel {
    pub input: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct LevelLabel {
    pub level: String,
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabel {
    pub input: String,
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SinkLabel {
    pub sink: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindLabel {
    pub kind: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ResultLabel {
    pub result: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ActionLabel {
    pub action: String,
    pub status: String,
}

/// How much the store's writer holds the engine back: the engine never
/// writes to the store itself, it hands rows to the writer's bounded queue,
/// and waits only when that queue is full or at a checkpoint.
#[derive(Clone, Default)]
pub struct StorePressure {
    /// Operations (alerts, actions, batches of trail rows) waiting for the writer.
    pub queue: Gauge,
    /// Times the engine found the writer's queue full and waited.
    pub waits: Counter,
    /// Seconds the engine waited for room in the writer's queue.
    pub wait_seconds: Counter<f64, AtomicU64>,
    /// Seconds checkpoints waited for the writer to commit what came before.
    pub flush_seconds: Counter<f64, AtomicU64>,
}

pub struct Metrics {
    pub registry: Registry,
    /// The store's writer (trail, alerts, actions).
    pub store: StorePressure,
    /// Rule reloads, `applied` or `refused`.
    pub rule_reloads: Family<ResultLabel, Counter>,
    /// Detection rules in force.
    pub rules_loaded: Gauge,
    pub events_in: Family<InputLabel, Counter>,
    pub decode_errors: Family<InputLabel, Counter>,
    /// Requests or frames refused whole (queue full, too large, bad type, ...).
    pub rejected: Family<ReasonLabel, Counter>,
    pub late_events: Counter,
    pub alerts: Family<LevelLabel, Counter>,
    pub suppressed: Counter,
    pub merged: Counter,
    pub sink_errors: Family<SinkLabel, Counter>,
    /// Response actions, by type and status.
    pub actions: Family<ActionLabel, Counter>,
    pub state_groups: Gauge,
    pub state_entries: Gauge,
    pub evictions: Family<KindLabel, Counter>,
    /// Wall-clock seconds behind the newest event time.
    pub lag_seconds: Gauge<f64, AtomicU64>,
    pub queue_depth: Gauge,
    pub checkpoints: Counter,
    pub checkpoint_bytes: Gauge,
    /// Events whose time was not trusted (ahead of the clock, unconfirmed jump).
    pub clamped: Counter,
    /// Batches whose decoding or detection panicked (their other events go on).
    pub batches_failed: Family<InputLabel, Counter>,
    /// Records waiting in a sink's queue.
    pub sink_queue: Family<SinkLabel, Gauge>,
    /// Records a sink dropped because its queue was full.
    pub sink_dropped: Family<SinkLabel, Counter>,
    /// Lines over the line-length limit, skipped.
    pub lines_too_long: Family<InputLabel, Counter>,
    /// Followed files found shorter than their checkpoint (read again from 0).
    pub truncations: Family<InputLabel, Counter>,
    /// Batches recognised by their idempotency key as already processed.
    pub duplicates: Family<InputLabel, Counter>,
    /// Events read, all inputs (the console's events/s).
    pub events_total: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("vigie");
        let m = Metrics {
            events_total: Default::default(),
            store: StorePressure::default(),
            rule_reloads: Family::default(),
            rules_loaded: Gauge::default(),
            events_in: Family::default(),
            decode_errors: Family::default(),
            rejected: Family::default(),
            late_events: Counter::default(),
            alerts: Family::default(),
            suppressed: Counter::default(),
            merged: Counter::default(),
            sink_errors: Family::default(),
            actions: Family::default(),
            state_groups: Gauge::default(),
            state_entries: Gauge::default(),
            evictions: Family::default(),
            lag_seconds: Gauge::default(),
            queue_depth: Gauge::default(),
            checkpoints: Counter::default(),
            checkpoint_bytes: Gauge::default(),
            clamped: Counter::default(),
            batches_failed: Family::default(),
            sink_queue: Family::default(),
            sink_dropped: Family::default(),
            lines_too_long: Family::default(),
            truncations: Family::default(),
            duplicates: Family::default(),
            registry: Registry::default(),
        };
        registry.register("events_in", "Events received, by input", m.events_in.clone());
        registry.register(
            "decode_errors",
            "Lines or records that could not be decoded, by input",
            m.decode_errors.clone(),
        );
        registry.register("rejected", "Requests or frames refused whole, by input and reason", m.rejected.clone());
        registry.register(
            "late_events",
            "Events older than the watermark (kept out of correlations)",
            m.late_events.clone(),
        );
        registry.register("alerts", "Alerts emitted, by level and kind", m.alerts.clone());
        registry.register("alerts_suppressed", "Alerts silenced by a configured suppression", m.suppressed.clone());
        registry.register("alerts_merged", "Repeats merged into an open alert", m.merged.clone());
        registry.register("sink_errors", "Alerts a sink failed to deliver after its retries", m.sink_errors.clone());
        registry.register("actions", "Response actions, by action and status", m.actions.clone());
        registry.register("state_groups", "Correlation groups held", m.state_groups.clone());
        registry.register("state_entries", "Correlation window entries held", m.state_entries.clone());
        registry.register("state_evictions", "State evicted by a bound, by kind", m.evictions.clone());
        registry.register("lag_seconds", "Wall-clock seconds behind the newest event time", m.lag_seconds.clone());
        registry.register("queue_depth", "Batches waiting for detection", m.queue_depth.clone());
        registry.register("checkpoints", "Checkpoints written", m.checkpoints.clone());
        registry.register("checkpoint_bytes", "Size of the last checkpoint", m.checkpoint_bytes.clone());
        registry.register(
            "event_time_clamped",
            "Events whose time was not trusted (ahead of the clock, or an unconfirmed jump)",
            m.clamped.clone(),
        );
        registry.register(
            "batches_failed",
            "Batches whose decoding or detection panicked, by input",
            m.batches_failed.clone(),
        );
        registry.register("sink_queue", "Records waiting in a sink's queue", m.sink_queue.clone());
        registry.register("sink_dropped", "Records a sink dropped because its queue was full", m.sink_dropped.clone());
        registry.register("lines_too_long", "Lines over the line-length limit, skipped", m.lines_too_long.clone());
        registry.register("truncations", "Followed files found truncated (read again from 0)", m.truncations.clone());
        registry.register(
            "duplicate_batches",
            "Batches recognised by their idempotency key as already processed",
            m.duplicates.clone(),
        );
        registry.register(
            "store_queue",
            "Operations (alerts, actions, batches of trail rows) waiting for the store's writer",
            m.store.queue.clone(),
        );
        registry.register(
            "store_waits",
            "Times the engine found the store writer's queue full and waited (backpressure)",
            m.store.waits.clone(),
        );
        registry.register(
            "store_wait_seconds",
            "Seconds the engine waited for room in the store writer's queue",
            m.store.wait_seconds.clone(),
        );
        registry.register(
            "store_flush_seconds",
            "Seconds checkpoints waited for the store's writer to commit",
            m.store.flush_seconds.clone(),
        );
        registry.register("rule_reloads", "Rule reloads, by result (applied or refused)", m.rule_reloads.clone());
        registry.register("rules_loaded", "Detection rules in force", m.rules_loaded.clone());
        Metrics { registry, ..m }
    }
}

impl Metrics {
    pub fn input(&self, name: &str) -> InputLabel {
        InputLabel { input: name.to_string() }
    }

    pub fn reject(&self, input: &str, reason: &str) {
        self.rejected.get_or_create(&ReasonLabel { input: input.into(), reason: reason.into() }).inc();
    }

    /// The text exposition format.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
