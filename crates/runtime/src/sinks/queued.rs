//! A network sink (syslog, NATS) on a thread of its own behind a bounded
//! queue, so that a slow or hung receiver never holds detection: a record
//! is handed over at once or, when the queue is full, dropped and counted
//! (`vigie_sink_dropped_total{sink}`); the backlog is `vigie_sink_queue`.
//! Delivery errors are counted (`vigie_sink_errors_total`) and logged, and
//! never stop the engine. A checkpoint does not wait for the queue: these
//! sinks are notifications, at most once across a crash.

use super::{Owned, Record, Sink, SinkError};
use crate::metrics::{Metrics, SinkLabel};
use crossbeam_channel::{Sender, TrySendError};
use std::sync::Arc;
use std::time::{Duration, Instant};

pub struct Queued {
    name: String,
    tx: Option<Sender<Owned>>,
    worker: Option<std::thread::JoinHandle<()>>,
    metrics: Arc<Metrics>,
    label: SinkLabel,
}

impl Queued {
    pub fn new(inner: Box<dyn Sink>, queue: usize, metrics: Arc<Metrics>) -> Queued {
        Queued::gathering(inner, queue, metrics, Duration::ZERO)
    }

    /// The same, but a batch is flushed `wait` after its first record
    /// (sooner when the sink sends a full batch by itself): fewer, fuller
    /// requests for a trickle, at the cost of up to `wait` of latency for
    /// a lone record.
    pub fn gathering(inner: Box<dyn Sink>, queue: usize, metrics: Arc<Metrics>, wait: Duration) -> Queued {
        let name = inner.name().to_string();
        let label = SinkLabel { sink: name.clone() };
        let (tx, rx) = crossbeam_channel::bounded::<Owned>(queue.max(1));
        let (m, l) = (metrics.clone(), label.clone());
        let worker = std::thread::spawn(move || {
            let mut inner = inner;
            while let Ok(first) = rx.recv() {
                let until = Instant::now() + wait;
                let mut next = Some(first);
                while let Some(r) = next.take() {
                    if let Err(e) = inner.write(&r.record()) {
                        m.sink_errors.get_or_create(&l).inc();
                        tracing::warn!(sink = %l.sink, "{e}");
                    }
                    m.sink_queue.get_or_create(&l).set(rx.len() as i64);
                    next = rx.try_recv().ok().or_else(|| {
                        let left = until.saturating_duration_since(Instant::now());
                        (!left.is_zero()).then(|| rx.recv_timeout(left).ok()).flatten()
                    });
                }
                if let Err(e) = inner.flush() {
                    m.sink_errors.get_or_create(&l).inc();
                    tracing::warn!(sink = %l.sink, "{e}");
                }
            }
        });
        Queued { name, tx: Some(tx), worker: Some(worker), metrics, label }
    }
}

impl Sink for Queued {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, rec: &Record<'_>) -> Result<(), SinkError> {
        let Some(tx) = &self.tx else { return Ok(()) };
        match tx.try_send(rec.to_owned()) {
            Ok(()) => {
                self.metrics.sink_queue.get_or_create(&self.label).set(tx.len() as i64);
            }
            Err(TrySendError::Full(_)) | Err(TrySendError::Disconnected(_)) => {
                self.metrics.sink_dropped.get_or_create(&self.label).inc();
                tracing::warn!(sink = %self.name, id = rec.id(), "sink queue full: record dropped");
            }
        }
        Ok(())
    }

    /// Deliveries go on in the background: nothing to wait for.
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

impl Drop for Queued {
    fn drop(&mut self) {
        // Let the worker deliver what is queued, then end; a hung receiver
        // does not hold the process: the thread is left behind.
        self.tx = None;
        if let Some(w) = self.worker.take()
            && w.is_finished()
        {
            let _ = w.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};

    fn alert() -> vigie_alert::Alert {
        serde_json::from_value(serde_json::json!({
            "@timestamp": "2026-01-01T00:00:00.000Z",
            "alert": {"id": "a", "kind": "sigma", "status": "new", "count": 1,
                      "first_seen": "2026-01-01T00:00:00.000Z", "last_seen": "2026-01-01T00:00:00.000Z"},
            "rule": {"id": "r", "name": "R", "level": "high", "author": "a"},
            "reason": "why", "evidence": {}, "events": []
        }))
        .unwrap()
    }

    /// A sink whose receiver hangs until released.
    struct Hung(Arc<AtomicBool>);

    impl Sink for Hung {
        fn name(&self) -> &str {
            "hung#0"
        }
        fn write(&mut self, _: &Record<'_>) -> Result<(), SinkError> {
            while !self.0.load(Ordering::Relaxed) {
                std::thread::sleep(std::time::Duration::from_millis(5));
            }
            Ok(())
        }
        fn flush(&mut self) -> Result<(), SinkError> {
            Ok(())
        }
    }

    #[test]
    fn a_hung_receiver_fills_the_queue_and_the_rest_is_dropped_and_counted() {
        let release = Arc::new(AtomicBool::new(false));
        let metrics = Arc::new(Metrics::default());
        let mut q = Queued::new(Box::new(Hung(release.clone())), 2, metrics.clone());
        let alert = alert();
        let rec = Record::alert(&alert);
        // One taken by the hung worker (after a moment), two queued, the rest dropped.
        q.write(&rec).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        for _ in 0..5 {
            q.write(&rec).unwrap();
        }
        q.flush().unwrap();
        let text = metrics.render();
        assert!(text.contains("vigie_sink_dropped_total{sink=\"hung#0\"} 3"), "{text}");
        assert!(text.contains("vigie_sink_queue{sink=\"hung#0\"} 2"), "{text}");
        release.store(true, Ordering::Relaxed);
    }

    /// Counts the records written between flushes.
    struct Batches(Arc<std::sync::Mutex<Vec<usize>>>, usize);

    impl Sink for Batches {
        fn name(&self) -> &str {
            "batches#0"
        }
        fn write(&mut self, _: &Record<'_>) -> Result<(), SinkError> {
            self.1 += 1;
            Ok(())
        }
        fn flush(&mut self) -> Result<(), SinkError> {
            self.0.lock().unwrap().push(std::mem::take(&mut self.1));
            Ok(())
        }
    }

    #[test]
    fn a_gathering_queue_waits_for_a_trickle_and_flushes_once() {
        let alert = alert();
        let rec = Record::alert(&alert);
        let run = |wait: Duration| {
            let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
            let mut q = Queued::gathering(Box::new(Batches(seen.clone(), 0)), 100, Arc::new(Metrics::default()), wait);
            for _ in 0..4 {
                q.write(&rec).unwrap();
                std::thread::sleep(Duration::from_millis(30));
            }
            let t = Instant::now();
            while seen.lock().unwrap().iter().sum::<usize>() < 4 && t.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(10));
            }
            seen.lock().unwrap().clone()
        };
        assert_eq!(run(Duration::from_secs(3)), [4], "one request for the trickle");
        // Without a wait, each record that finds the queue dry goes alone
        // (a loaded machine may still catch two together).
        assert!(run(Duration::ZERO).len() >= 2, "without a wait, a request as soon as the queue is dry");
    }
}
