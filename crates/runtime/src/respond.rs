//! The respond stage inside the engine: the policy (vigie-respond) decides
//! on each alert as it is emitted, in order and in event time; webhook
//! calls run on the async runtime so that a slow SOAR never stalls
//! detection; every action event then goes to the action sinks.
//!
//! Calls run off the detection path, each attempt within its action's
//! `timeout`: a checkpoint does not wait for them, it saves the calls still
//! in flight. A call sent but not answered in time is recorded `unknown`
//! (it may have been carried out), never `failed`; so is a call that was in
//! flight when the engine stopped, when the next start restores it. After a
//! crash the replayed events decide the same actions with the same ids
//! (`X-Vigie-Action-Id`), so a receiver can drop a repeat.

use crate::metrics::{ActionLabel, Metrics};
use crate::sinks::{Record, Sink, SinkError, post_signed};
use crossbeam_channel::{Receiver, Sender};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use vigie_alert::Alert;
use vigie_respond::{ActionRecord, ActionStatus, Call, Planned, Policy};

struct Executor {
    rt: tokio::runtime::Handle,
    client: reqwest::Client,
    done_tx: Sender<ActionRecord>,
    done_rx: Receiver<ActionRecord>,
    /// Calls not finished, by action id, as they would be recorded.
    in_flight: Arc<Mutex<BTreeMap<String, ActionRecord>>>,
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
                    .connect_timeout(Duration::from_secs(10))
                    .build()
                    .map_err(|e| anyhow::anyhow!("response webhooks: {e}"))?;
                let (done_tx, done_rx) = crossbeam_channel::unbounded();
                Some(Executor { rt: rt.clone(), client, done_tx, done_rx, in_flight: Default::default() })
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

    /// Write the events of finished calls and flush the sinks. With `wait`
    /// (the engine is stopping), first wait for the calls in flight, each
    /// bounded by its timeout.
    pub fn flush(&mut self, wait: bool) -> Result<(), SinkError> {
        if let (Some(e), true) = (&self.exec, wait) {
            while e.in_flight.lock().map(|m| !m.is_empty()).unwrap_or(false) {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.collect()?;
        for s in self.sinks.iter_mut() {
            s.flush()?;
        }
        Ok(())
    }

    /// For a checkpoint: write what has finished, flush the sinks, and
    /// return the calls still in flight (none is both written and returned).
    pub fn checkpoint(&mut self) -> Result<Vec<ActionRecord>, SinkError> {
        let mut flying: Vec<ActionRecord> = match &self.exec {
            Some(e) => e.in_flight.lock().map(|m| m.values().cloned().collect()).unwrap_or_default(),
            None => Vec::new(),
        };
        let done: Vec<ActionRecord> = match &self.exec {
            Some(e) => e.done_rx.try_iter().collect(),
            None => Vec::new(),
        };
        for r in &done {
            self.write(r)?;
        }
        flying.retain(|f| !done.iter().any(|d| d.action.id == f.action.id));
        for s in self.sinks.iter_mut() {
            s.flush()?;
        }
        Ok(flying)
    }

    /// Calls that were in flight when the last run stopped: nobody knows
    /// whether they were carried out.
    pub fn restore_in_flight(&mut self, records: Vec<ActionRecord>) -> Result<(), SinkError> {
        for mut r in records {
            r.action.status = ActionStatus::Unknown;
            r.action.reason = "the engine stopped while the webhook call was in flight: outcome unknown".into();
            self.write(&r)?;
        }
        // Recorded at once, not at the next checkpoint (which an idle
        // engine may not write for a long time); a crash before it restores
        // the sinks' checkpointed positions and records them again, once.
        for s in self.sinks.iter_mut() {
            s.flush()?;
        }
        Ok(())
    }

    fn write(&mut self, r: &ActionRecord) -> Result<(), SinkError> {
        let status = status_name(r.action.status);
        self.metrics
            .actions
            .get_or_create(&ActionLabel { action: r.action.kind.name().into(), status: status.into() })
            .inc();
        *self.written.entry(status.into()).or_default() += 1;
        let rec = Record::action(r);
        for s in self.sinks.iter_mut() {
            s.write(&rec)?;
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
        ActionStatus::Unknown => "unknown",
    }
}

impl Executor {
    fn spawn(&self, mut record: ActionRecord, call: Call) {
        let (client, tx, n) = (self.client.clone(), self.done_tx.clone(), self.in_flight.clone());
        let id = record.action.id.clone();
        if let Ok(mut m) = n.lock() {
            let mut pending = record.clone();
            pending.action.status = ActionStatus::Unknown;
            m.insert(id.clone(), pending);
        }
        self.rt.spawn(async move {
            let d = post_signed(
                &client,
                &call.url,
                &call.secret,
                ("x-vigie-action-id", &id),
                bytes::Bytes::from(call.body),
                call.max_retries,
                Duration::from_millis(call.timeout_ms),
            )
            .await;
            record.action.status = match (d.ok, d.unknown) {
                (true, _) => ActionStatus::Executed,
                (false, true) => ActionStatus::Unknown,
                (false, false) => ActionStatus::Failed,
            };
            record.action.reason = match (&d.status, &d.error, d.ok) {
                (None, Some(e), _) if d.unknown => {
                    format!("webhook sent but not answered ({e}): outcome unknown, not resent")
                }
                (Some(s), _, true) => format!("webhook answered {s}"),
                (Some(s), _, false) => format!("webhook answered {s} after {} attempt(s)", d.attempts),
                (None, Some(e), _) => format!("webhook unreachable after {} attempt(s): {e}", d.attempts),
                (None, None, _) => "webhook not called".into(),
            };
            record.action.response = Some(serde_json::json!({"status": d.status, "attempts": d.attempts}));
            let _ = tx.send(record);
            if let Ok(mut m) = n.lock() {
                m.remove(&id);
            }
        });
    }
}
