//! The respond stage inside the engine: the policy (vigie-respond) decides
//! on each alert as it is emitted, in order and in event time; webhook
//! calls run on the async runtime so that a slow SOAR never stalls
//! detection; every action event then goes to the action sinks.
//!
//! A checkpoint waits for calls in flight, like the alert webhook sink, so
//! an action covered by a checkpoint has been carried out (or recorded as
//! failed). After a crash the replayed events decide the same actions with
//! the same ids (`X-Vigie-Action-Id`), so a receiver can drop a repeat.

use crate::metrics::{ActionLabel, Metrics};
use crate::sinks::{Record, Sink, SinkError, post_signed};
use crossbeam_channel::{Receiver, Sender};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use vigie_alert::Alert;
use vigie_respond::{ActionRecord, ActionStatus, Call, Planned, Policy};

struct Executor {
    rt: tokio::runtime::Handle,
    client: reqwest::Client,
    done_tx: Sender<ActionRecord>,
    done_rx: Receiver<ActionRecord>,
    in_flight: Arc<AtomicUsize>,
}

pub struct Responder {
    pub policy: Policy,
    pub sinks: Vec<Box<dyn Sink>>,
    exec: Option<Executor>,
    planned: Vec<Planned>,
    metrics: Arc<Metrics>,
    /// Action events written, by status (this run).
    pub written: BTreeMap<String, u64>,
}

impl Responder {
    /// `rt` runs the webhook calls; without it (replay) nothing is called
    /// and the policy must have been forced to dry run.
    pub fn new(
        policy: Policy,
        sinks: Vec<Box<dyn Sink>>,
        rt: Option<&tokio::runtime::Handle>,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<Responder> {
        let exec = match rt {
            Some(rt) => {
                let client = reqwest::Client::builder()
                    .timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| anyhow::anyhow!("response webhooks: {e}"))?;
                let (done_tx, done_rx) = crossbeam_channel::unbounded();
                Some(Executor { rt: rt.clone(), client, done_tx, done_rx, in_flight: Arc::new(AtomicUsize::new(0)) })
            }
            None => None,
        };
        Ok(Responder { policy, sinks, exec, planned: Vec::new(), metrics, written: BTreeMap::new() })
    }

    /// Decide on one alert and start what it calls for.
    pub fn on_alert(&mut self, alert: &Alert) -> Result<(), SinkError> {
        let mut planned = std::mem::take(&mut self.planned);
        self.policy.decide(alert, &mut planned);
        for p in planned.drain(..) {
            match (p.call, &self.exec) {
                (Some(call), Some(exec)) => exec.spawn(p.record, call),
                (Some(_), None) => {
                    // Only reachable if a caller forgot to force a dry run.
                    let mut r = p.record;
                    r.action.status = ActionStatus::DryRun;
                    r.action.reason = "no webhook client in this mode: recorded, not called".into();
                    self.write(&r)?;
                }
                (None, _) => self.write(&p.record)?,
            }
        }
        self.planned = planned;
        self.collect()
    }

    /// Write the action events of calls that have finished.
    pub fn collect(&mut self) -> Result<(), SinkError> {
        let done: Vec<ActionRecord> = match &self.exec {
            Some(e) => e.done_rx.try_iter().collect(),
            None => return Ok(()),
        };
        for r in done {
            self.write(&r)?;
        }
        Ok(())
    }

    /// Wait for calls in flight, write their events, flush the sinks.
    pub fn flush(&mut self) -> Result<(), SinkError> {
        if let Some(e) = &self.exec {
            while e.in_flight.load(Ordering::Acquire) > 0 {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.collect()?;
        for s in self.sinks.iter_mut() {
            s.flush()?;
        }
        Ok(())
    }

    fn write(&mut self, r: &ActionRecord) -> Result<(), SinkError> {
        let json = serde_json::to_vec(r).map_err(|e| SinkError { sink: "actions".into(), message: e.to_string() })?;
        let status = status_name(r.action.status);
        self.metrics
            .actions
            .get_or_create(&ActionLabel { action: r.action.kind.name().into(), status: status.into() })
            .inc();
        *self.written.entry(status.into()).or_default() += 1;
        for s in self.sinks.iter_mut() {
            s.write(Record::action(r), &json)?;
        }
        Ok(())
    }
}

pub fn status_name(s: ActionStatus) -> &'static str {
    match s {
        ActionStatus::Executed => "executed",
        ActionStatus::DryRun => "dry_run",
        ActionStatus::Failed => "failed",
        ActionStatus::PendingApproval => "pending_approval",
    }
}

impl Executor {
    fn spawn(&self, mut record: ActionRecord, call: Call) {
        let (client, tx, n) = (self.client.clone(), self.done_tx.clone(), self.in_flight.clone());
        n.fetch_add(1, Ordering::AcqRel);
        self.rt.spawn(async move {
            let id = record.action.id.clone();
            let d = post_signed(
                &client,
                &call.url,
                &call.secret,
                ("x-vigie-action-id", &id),
                bytes::Bytes::from(call.body),
                call.max_retries,
            )
            .await;
            record.action.status = if d.ok { ActionStatus::Executed } else { ActionStatus::Failed };
            record.action.reason = match (&d.status, &d.error, d.ok) {
                (Some(s), _, true) => format!("webhook answered {s}"),
                (Some(s), _, false) => format!("webhook answered {s} after {} attempt(s)", d.attempts),
                (None, Some(e), _) => format!("webhook unreachable after {} attempt(s): {e}", d.attempts),
                (None, None, _) => "webhook not called".into(),
            };
            record.action.response = Some(serde_json::json!({"status": d.status, "attempts": d.attempts}));
            let _ = tx.send(record);
            n.fetch_sub(1, Ordering::AcqRel);
        });
    }
}
