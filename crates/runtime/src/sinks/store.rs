//! The store as a sink: alerts, action events and the data-access trail go
//! to one writer thread, in order, in batches (one transaction per batch),
//! so that the stage never waits on the database. `flush` (before every
//! checkpoint) waits until everything sent is committed. Each committed
//! alert or action is announced on `live`, for the console's live updates.

use super::{Item, Record, Sink, SinkError};
use crate::metrics::StorePressure;
use crossbeam_channel::{Receiver, Sender, TrySendError};
use std::sync::Arc;
use vigie_analytics::{Access, Pseudonymiser};
use vigie_store::Store;

pub use vigie_store::Live;

pub enum Op {
    Alert(Box<vigie_alert::Alert>),
    Action(Box<vigie_respond::ActionRecord>),
    Trail(Vec<Access>),
    Flush(Sender<Result<(), String>>),
}

/// The writer thread's handle; clones send to the same thread.
#[derive(Clone)]
pub struct StoreWriter {
    tx: Sender<Op>,
    store: Arc<Store>,
    /// Where the waits of this handle's senders are counted.
    pressure: StorePressure,
}

impl StoreWriter {
    pub fn spawn(store: Arc<Store>, key: Pseudonymiser, live: tokio::sync::broadcast::Sender<Live>) -> StoreWriter {
        let (tx, rx) = crossbeam_channel::bounded(256);
        let writer = StoreWriter { tx, store: store.clone(), pressure: StorePressure::default() };
        std::thread::Builder::new()
            .name("store-writer".into())
            .spawn(move || write_loop(&store, &key, &live, rx))
            .map(|_| ())
            .unwrap_or_else(|e| tracing::error!("cannot start the store writer: {e}"));
        writer
    }

    /// Where the trail's day files stand (after a flush), for the checkpoint.
    pub fn trail_position(&self) -> Result<Option<serde_json::Value>, String> {
        let Some(files) = self.store.trail_files.as_ref() else { return Ok(None) };
        let p = files.position().map_err(|e| format!("trail position unknown: {e}"))?;
        serde_json::to_value(p).map(Some).map_err(|e| format!("trail position: {e}"))
    }

    /// Cut the trail's day files back to a checkpoint's position.
    pub fn restore_trail(&self, pos: &serde_json::Value) -> Result<(), String> {
        let Some(files) = &self.store.trail_files else { return Ok(()) };
        files.restore(&trail_files_at(pos)?).map_err(|e| e.to_string())
    }

    /// A checkpoint naming `pos` is committed: day files it replaced by
    /// sorted ones may be deleted.
    pub fn trail_committed(&self, pos: &serde_json::Value) -> Result<(), String> {
        let Some(files) = &self.store.trail_files else { return Ok(()) };
        files.committed(&trail_files_at(pos)?).map_err(|e| e.to_string())
    }

    /// A handle whose waits are counted in `pressure` (the engine's metrics).
    pub fn counted(&self, pressure: &StorePressure) -> StoreWriter {
        StoreWriter { pressure: pressure.clone(), ..self.clone() }
    }

    pub fn trail(&self, rows: Vec<Access>) {
        if !rows.is_empty() {
            let _ = self.send(Op::Trail(rows));
        }
    }

    /// Hand `op` to the writer. When its queue is full the caller waits
    /// (backpressure: nothing is dropped), and the wait is counted.
    fn send(&self, op: Op) -> Result<(), String> {
        let stopped = || "the store writer has stopped".to_string();
        match self.tx.try_send(op) {
            Ok(()) => {}
            Err(TrySendError::Full(op)) => {
                // Counted before waiting, so that a writer stuck for good shows.
                self.pressure.waits.inc();
                let t = std::time::Instant::now();
                self.tx.send(op).map_err(|_| stopped())?;
                self.pressure.wait_seconds.inc_by(t.elapsed().as_secs_f64());
            }
            Err(TrySendError::Disconnected(_)) => return Err(stopped()),
        }
        self.pressure.queue.set(self.tx.len() as i64);
        Ok(())
    }

    /// Wait until everything sent before is committed.
    pub fn flush(&self) -> Result<(), String> {
        let t = std::time::Instant::now();
        let (tx, rx) = crossbeam_channel::bounded(1);
        self.tx.send(Op::Flush(tx)).map_err(|_| "the store writer has stopped".to_string())?;
        let done = rx.recv().map_err(|_| "the store writer has stopped".to_string())?;
        self.pressure.flush_seconds.inc_by(t.elapsed().as_secs_f64());
        self.pressure.queue.set(self.tx.len() as i64);
        done
    }
}

/// A checkpoint's trail position: each day file's length.
fn trail_files_at(pos: &serde_json::Value) -> Result<std::collections::BTreeMap<String, u64>, String> {
    serde_json::from_value(pos.clone()).map_err(|e| format!("trail position: {e}"))
}

fn write_loop(store: &Store, key: &Pseudonymiser, live: &tokio::sync::broadcast::Sender<Live>, rx: Receiver<Op>) {
    // The first error since the last flush, reported to that flush (and so
    // to the checkpoint, which then does not claim what was not stored).
    let mut failed: Option<String> = None;
    let mut trail: Vec<Access> = Vec::new();
    // Day files (beside SQLite) take the rows in memory and make them
    // durable at each flush; the PostgreSQL table takes them in batches.
    let files = store.trail_files.is_some();
    let commit_trail = |trail: &mut Vec<Access>, failed: &mut Option<String>| {
        let written = if files { store.flush_accesses() } else { store.write_accesses(trail) };
        if let Err(e) = written {
            tracing::error!("store: trail not written: {e}");
            failed.get_or_insert(e.to_string());
        }
        trail.clear();
    };
    while let Ok(op) = rx.recv() {
        match op {
            Op::Trail(rows) if files => {
                if let Err(e) = store.queue_accesses(rows) {
                    failed.get_or_insert(e.to_string());
                }
            }
            Op::Trail(rows) => {
                trail.extend(rows);
                if trail.len() >= 4096 {
                    commit_trail(&mut trail, &mut failed);
                }
            }
            Op::Alert(a) => {
                if !files {
                    commit_trail(&mut trail, &mut failed);
                }
                match store.write_alert(&a, Some(key)) {
                    Ok(()) => {
                        let _ = live.send(Live {
                            stream: "alert",
                            id: a.alert.id.clone(),
                            level: a.rule.level,
                            account: a.user.as_ref().map(|u| u.name.clone()),
                        });
                    }
                    Err(e) => {
                        tracing::error!(alert = %a.alert.id, "store: alert not written: {e}");
                        failed.get_or_insert(e.to_string());
                    }
                }
            }
            Op::Action(r) => match store.write_action(&r) {
                Ok(()) => {
                    let _ = live.send(Live {
                        stream: "action",
                        id: r.action.id.clone(),
                        level: r.alert.level,
                        account: r.user.as_ref().map(|u| u.name.clone()),
                    });
                }
                Err(e) => {
                    tracing::error!(action = %r.action.id, "store: action not written: {e}");
                    failed.get_or_insert(e.to_string());
                }
            },
            Op::Flush(done) => {
                commit_trail(&mut trail, &mut failed);
                let _ = done.send(failed.take().map_or(Ok(()), Err));
            }
        }
    }
    commit_trail(&mut trail, &mut failed);
}

/// Alerts or action events into the store (one sink per stream).
pub struct StoreSink {
    name: String,
    writer: StoreWriter,
}

impl StoreSink {
    pub fn new(name: &str, writer: StoreWriter) -> StoreSink {
        StoreSink { name: name.into(), writer }
    }
}

impl Sink for StoreSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, rec: &Record<'_>) -> Result<(), SinkError> {
        let op = match rec.item {
            Item::Alert(a) => Op::Alert(Box::new(a.clone())),
            Item::Action(a) => Op::Action(Box::new(a.clone())),
            // The store is what the head guards against: it keeps the chain itself.
            Item::AuditHead(_) => return Ok(()),
        };
        self.writer.send(op).map_err(|message| SinkError { sink: self.name.clone(), message })
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        self.writer.flush().map_err(|m| SinkError { sink: self.name.clone(), message: m })
    }

    /// The trail's day files, as of the flush just made: a checkpoint
    /// records them, and a restart cuts the files back to them, so that
    /// every read of an acknowledged event is in the trail exactly once.
    fn position(&self) -> Result<Option<serde_json::Value>, SinkError> {
        self.writer.trail_position().map_err(|m| SinkError { sink: self.name.clone(), message: m })
    }

    fn restore(&mut self, pos: &serde_json::Value) -> Result<(), SinkError> {
        self.writer.restore_trail(pos).map_err(|m| SinkError { sink: self.name.clone(), message: m })
    }

    fn committed(&mut self, pos: &serde_json::Value) -> Result<(), SinkError> {
        self.writer.trail_committed(pos).map_err(|m| SinkError { sink: self.name.clone(), message: m })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_queue_makes_the_sender_wait_and_the_wait_is_counted() {
        let dir = std::env::temp_dir().join(format!("vigie-store-pressure-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let store = Arc::new(Store::open(&dir.join("v.db").display().to_string()).unwrap());
        // A queue of one and a writer that takes its first operation only
        // after a pause: the second send must wait for it.
        let (tx, rx) = crossbeam_channel::bounded(1);
        let pressure = StorePressure::default();
        let w = StoreWriter { tx, store, pressure: StorePressure::default() }.counted(&pressure);
        w.trail(Vec::new());
        assert_eq!(pressure.queue.get(), 0, "nothing is sent for no rows");
        let reader = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            let mut n = 0;
            while rx.recv_timeout(std::time::Duration::from_millis(500)).is_ok() {
                n += 1;
            }
            n
        });
        let row = Access {
            id: "1".into(),
            ts: 0,
            account: "a".into(),
            source_ip: None,
            user_agent: None,
            kind: "read".into(),
            action: "view".into(),
            target: None,
            categories: Vec::new(),
            subjects: Vec::new(),
            records: 1,
            bytes: None,
        };
        w.trail(vec![row.clone()]);
        assert_eq!((pressure.waits.get(), pressure.queue.get()), (0, 1), "the first op finds room");
        w.trail(vec![row]);
        assert_eq!(pressure.waits.get(), 1, "the second waited for the writer");
        assert!(pressure.wait_seconds.get() >= 0.05, "{} s", pressure.wait_seconds.get());
        assert_eq!(reader.join().unwrap(), 2, "nothing was dropped");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
