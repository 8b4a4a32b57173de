//! Sinks: where alerts (and action events) go. Every alert goes to every
//! sink as a typed [`Record`]; those that send bytes send the same JSON
//! object (the alert contract). A sink's `flush` is its durability point: the
//! engine flushes every sink before it writes a checkpoint, so an alert
//! covered by a checkpoint has been delivered (or counted as failed).

pub mod elasticsearch;
mod file;
mod nats;
pub mod queued;
pub mod store;
mod syslog;
mod webhook;

pub use file::{JsonlSink, StdoutSink};
pub use nats::NatsSink;
pub use store::{Live, StoreSink, StoreWriter};
pub use syslog::SyslogSink;
pub use webhook::{Delivery, WebhookSink, post_signed, signature};

pub use crate::config::AlertFormat;
use crate::config::SinkConfig;
use crate::metrics::Metrics;
use std::sync::Arc;

/// What travels to the sinks: an alert or an action record, typed. Sinks
/// that keep records (the store) take the values themselves; sinks that
/// send bytes (files, webhooks, syslog, NATS) ask for [`Record::json`],
/// which is made once for all of them, on first use.
#[derive(Debug, Clone, Copy)]
pub enum Item<'a> {
    Alert(&'a vigie_alert::Alert),
    Action(&'a vigie_respond::ActionRecord),
    /// The audit chain's head, for the `[store] audit_sinks`.
    AuditHead(&'a AuditHead),
}

/// The audit chain's head as sent to a sink: a copy kept where the
/// database's administrators cannot reach (see `vigie_store::audit`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct AuditHead {
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    /// Always `audit_head`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `audit-head-<seq>`.
    pub id: String,
    pub seq: i64,
    pub mac: String,
}

impl AuditHead {
    pub fn new(head: &vigie_store::audit::Head, at_ms: i64) -> AuditHead {
        AuditHead {
            timestamp: vigie_alert::rfc3339(at_ms),
            kind: "audit_head",
            id: format!("audit-head-{}", head.seq),
            seq: head.seq,
            mac: head.mac.clone(),
        }
    }
}

/// An item on its way to the sinks, with its serialised form (in the
/// record's [`AlertFormat`]) made at most once.
#[derive(Debug)]
pub struct Record<'a> {
    pub item: Item<'a>,
    pub format: AlertFormat,
    json: std::cell::OnceCell<Vec<u8>>,
}

impl<'a> Record<'a> {
    pub fn alert(a: &'a vigie_alert::Alert) -> Record<'a> {
        Record { item: Item::Alert(a), format: AlertFormat::Vigie, json: Default::default() }
    }

    pub fn action(a: &'a vigie_respond::ActionRecord) -> Record<'a> {
        Record { item: Item::Action(a), format: AlertFormat::Vigie, json: Default::default() }
    }

    pub fn audit_head(h: &'a AuditHead) -> Record<'a> {
        Record { item: Item::AuditHead(h), format: AlertFormat::Vigie, json: Default::default() }
    }

    /// The same item, to be serialised in `format`.
    pub fn in_format(&self, format: AlertFormat) -> Record<'a> {
        Record { item: self.item, format, json: Default::default() }
    }

    /// `alert`, `action` or `audit_head`.
    pub fn stream(&self) -> &'static str {
        match self.item {
            Item::Alert(_) => "alert",
            Item::Action(_) => "action",
            Item::AuditHead(_) => "audit_head",
        }
    }

    /// Deterministic id (receivers deduplicate on it).
    pub fn id(&self) -> &'a str {
        match self.item {
            Item::Alert(a) => &a.alert.id,
            Item::Action(a) => &a.action.id,
            Item::AuditHead(h) => &h.id,
        }
    }

    /// Event time, RFC 3339.
    pub fn timestamp(&self) -> &'a str {
        match self.item {
            Item::Alert(a) => &a.timestamp,
            Item::Action(a) => &a.timestamp,
            Item::AuditHead(h) => &h.timestamp,
        }
    }

    /// The level of the alert (behind the action).
    pub fn level(&self) -> vigie_alert::Severity {
        match self.item {
            Item::Alert(a) => a.rule.level,
            Item::Action(a) => a.alert.level,
            Item::AuditHead(_) => vigie_alert::Severity::Informational,
        }
    }

    /// The record as one JSON object, made on first use: the alert
    /// contract, or an alert as an OCSF Detection Finding when the record's
    /// format says so (actions and audit heads have no OCSF form: only
    /// alert sinks take `format = "ocsf"`).
    pub fn json(&self) -> &[u8] {
        self.json.get_or_init(|| {
            let v = match self.item {
                Item::Alert(a) if self.format == AlertFormat::Ocsf => Ok(vigie_alert::ocsf::to_vec(a)),
                Item::Alert(a) => serde_json::to_vec(a),
                Item::Action(a) => serde_json::to_vec(a),
                Item::AuditHead(h) => serde_json::to_vec(h),
            };
            // Typed records have string keys only: serialising cannot fail.
            v.unwrap_or_default()
        })
    }

    /// A copy that outlives the caller (for a sink's own queue).
    pub fn to_owned(&self) -> Owned {
        let item = match self.item {
            Item::Alert(a) => OwnedItem::Alert(Box::new(a.clone())),
            Item::Action(a) => OwnedItem::Action(Box::new(a.clone())),
            Item::AuditHead(h) => OwnedItem::AuditHead(Box::new(h.clone())),
        };
        Owned { item, format: self.format }
    }
}

/// A record held by a sink's queue.
#[derive(Debug, Clone)]
pub struct Owned {
    pub item: OwnedItem,
    pub format: AlertFormat,
}

#[derive(Debug, Clone)]
pub enum OwnedItem {
    Alert(Box<vigie_alert::Alert>),
    Action(Box<vigie_respond::ActionRecord>),
    AuditHead(Box<AuditHead>),
}

impl Owned {
    pub fn record(&self) -> Record<'_> {
        let r = match &self.item {
            OwnedItem::Alert(a) => Record::alert(a),
            OwnedItem::Action(a) => Record::action(a),
            OwnedItem::AuditHead(h) => Record::audit_head(h),
        };
        r.in_format(self.format)
    }
}

/// A sink whose alerts are written in another format than vigie's own.
struct Formatted {
    inner: Box<dyn Sink>,
    format: AlertFormat,
}

impl Sink for Formatted {
    fn name(&self) -> &str {
        self.inner.name()
    }
    fn write(&mut self, rec: &Record<'_>) -> Result<(), SinkError> {
        self.inner.write(&rec.in_format(self.format))
    }
    fn flush(&mut self) -> Result<(), SinkError> {
        self.inner.flush()
    }
    fn position(&self) -> Result<Option<serde_json::Value>, SinkError> {
        self.inner.position()
    }
    fn restore(&mut self, pos: &serde_json::Value) -> Result<(), SinkError> {
        self.inner.restore(pos)
    }
    fn committed(&mut self, pos: &serde_json::Value) -> Result<(), SinkError> {
        self.inner.committed(pos)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("sink {sink}: {message}")]
pub struct SinkError {
    pub sink: String,
    pub message: String,
}

pub trait Sink: Send {
    fn name(&self) -> &str;
    /// Hand over one record.
    fn write(&mut self, rec: &Record<'_>) -> Result<(), SinkError>;
    /// Make everything written so far durable or delivered.
    fn flush(&mut self) -> Result<(), SinkError>;
    /// Where the sink stands, for the checkpoint (a file's length). An
    /// error fails the checkpoint: one saved without the position could not
    /// be gone back to exactly.
    fn position(&self) -> Result<Option<serde_json::Value>, SinkError> {
        Ok(None)
    }
    /// Go back to a checkpointed position, so that alerts written after the
    /// checkpoint (and regenerated by the replay that follows a crash) are
    /// not written twice.
    fn restore(&mut self, _pos: &serde_json::Value) -> Result<(), SinkError> {
        Ok(())
    }
    /// The checkpoint that recorded `pos` (this sink's [`position`]) is
    /// committed: what only an earlier checkpoint needed may go.
    ///
    /// [`position`]: Sink::position
    fn committed(&mut self, _pos: &serde_json::Value) -> Result<(), SinkError> {
        Ok(())
    }
}

/// Build the configured sinks, named `<prefix><kind>#<n>` (alert sinks have
/// no prefix, action sinks `actions:`). Network sinks run on `rt`.
pub fn build(
    prefix: &str,
    configs: &[SinkConfig],
    rt: &tokio::runtime::Handle,
    metrics: &Arc<Metrics>,
) -> anyhow::Result<Vec<Box<dyn Sink>>> {
    let mut out: Vec<Box<dyn Sink>> = Vec::new();
    for (i, c) in configs.iter().enumerate() {
        let name = |kind: &str| format!("{prefix}{kind}#{i}");
        let format = c.format();
        if format != AlertFormat::Vigie && !prefix.is_empty() {
            anyhow::bail!(
                "{}: format = \"ocsf\" is for alert sinks ([[sinks]]); actions and audit heads have no OCSF form",
                name(c.kind())
            );
        }
        let sink: Box<dyn Sink> = match c {
            SinkConfig::Jsonl { path, .. } => Box::new(JsonlSink::open(&name("jsonl"), path)?),
            SinkConfig::Stdout { .. } => Box::new(StdoutSink::new(&name("stdout"))),
            SinkConfig::Webhook { url, secret, max_retries, timeout, queue, .. } => {
                let timeout = crate::config::duration_ms(timeout)
                    .map_err(|e| anyhow::anyhow!("[[sinks]] webhook timeout: {e}"))?
                    .max(1) as u64;
                let opts = webhook::Options {
                    max_retries: *max_retries,
                    timeout: std::time::Duration::from_millis(timeout),
                    queue: (*queue).max(1),
                };
                Box::new(WebhookSink::new(&name("webhook"), url, secret, opts, rt, metrics.clone())?)
            }
            // Network sinks deliver from a bounded queue on their own thread.
            SinkConfig::Syslog { address, protocol, queue, .. } => Box::new(queued::Queued::new(
                Box::new(SyslogSink::new(&name("syslog"), address, protocol)?),
                *queue,
                metrics.clone(),
            )),
            SinkConfig::Nats { url, subject, queue, .. } => Box::new(queued::Queued::new(
                Box::new(NatsSink::new(&name("nats"), url, subject, rt)?),
                *queue,
                metrics.clone(),
            )),
            SinkConfig::Elasticsearch {
                url,
                index,
                api_key,
                username,
                password,
                batch,
                max_retries,
                timeout,
                backoff,
                batch_wait,
                queue,
                dead_letter,
                dead_letter_max_bytes,
                ..
            } => {
                let ms = |what: &str, v: &str| {
                    crate::config::duration_ms(v)
                        .map(|ms| std::time::Duration::from_millis(ms.max(1) as u64))
                        .map_err(|e| anyhow::anyhow!("[[sinks]] elasticsearch {what}: {e}"))
                };
                let auth = match (api_key, username, password) {
                    (Some(k), None, None) => Some(elasticsearch::Auth::ApiKey(k.clone())),
                    (None, Some(u), Some(p)) => {
                        Some(elasticsearch::Auth::Basic { username: u.clone(), password: p.clone() })
                    }
                    (None, None, None) => None,
                    _ => {
                        anyhow::bail!("[[sinks]] elasticsearch: give either api_key, or username and password together")
                    }
                };
                let opts = elasticsearch::Options {
                    index: index.clone(),
                    auth,
                    batch: *batch,
                    max_retries: *max_retries,
                    timeout: ms("timeout", timeout)?,
                    dead_letter: dead_letter.clone(),
                    dead_letter_max_bytes: *dead_letter_max_bytes,
                    backoff: ms("backoff", backoff)?,
                };
                let inner = elasticsearch::BulkSink::new(&name("elasticsearch"), url, opts, rt, metrics.clone())?;
                let wait = crate::config::duration_ms(batch_wait)
                    .map_err(|e| anyhow::anyhow!("[[sinks]] elasticsearch batch_wait: {e}"))?;
                Box::new(queued::Queued::gathering(
                    Box::new(inner),
                    *queue,
                    metrics.clone(),
                    std::time::Duration::from_millis(wait.clamp(0, 60_000) as u64),
                ))
            }
        };
        out.push(match format {
            AlertFormat::Vigie => sink,
            format => Box::new(Formatted { inner: sink, format }),
        });
    }
    Ok(out)
}
