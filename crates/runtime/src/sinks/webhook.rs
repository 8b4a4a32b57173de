//! Webhook: one signed HTTP POST per alert, delivered by tasks of its own.
//!
//! Detection never waits for the receiver: an alert is handed over at once
//! or, when the sink already holds `queue` alerts (waiting or in delivery),
//! dropped and counted (`vigie_sink_dropped_total`); the backlog is
//! `vigie_sink_queue`. A checkpoint does not wait for deliveries either:
//! alerts are durable in the JSONL sink and the store, the webhook is a
//! notification that is at most once across a crash.
//!
//! The receiver verifies `X-Vigie-Signature: sha256=<hex>`, the HMAC-SHA256
//! of the exact body under the shared secret, so that nobody else can make a
//! SOAR suspend an account. `X-Vigie-Alert-Id` (`X-Vigie-Action-Id` for an
//! action event) lets it deduplicate a re-delivery after a crash. Failures (network errors, 5xx, 429) are
//! retried with exponential backoff; a 4xx other than 429 is not retried.

use super::{Record, Sink, SinkError};
use crate::metrics::{Metrics, SinkLabel};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

/// Deliveries in flight at once.
const CONCURRENCY: usize = 8;

/// `sha256=<hex of HMAC-SHA256(secret, body)>`
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// How a webhook sink delivers.
#[derive(Debug, Clone, Copy)]
pub struct Options {
    pub max_retries: u32,
    /// One attempt's limit.
    pub timeout: Duration,
    /// Alerts held at most (waiting or in delivery).
    pub queue: usize,
}

pub struct WebhookSink {
    name: String,
    tx: mpsc::Sender<(&'static str, String, bytes::Bytes)>,
    /// Alerts held (waiting or in delivery).
    held: Arc<AtomicUsize>,
    queue: usize,
    metrics: Arc<Metrics>,
    label: SinkLabel,
}

impl WebhookSink {
    pub fn new(
        name: &str,
        url: &str,
        secret: &str,
        opts: Options,
        rt: &tokio::runtime::Handle,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<WebhookSink> {
        let client = reqwest::Client::builder()
            .connect_timeout(opts.timeout)
            .build()
            .map_err(|e| anyhow::anyhow!("webhook {url}: {e}"))?;
        // The channel never fills: `held` refuses alerts first.
        let (tx, rx) = mpsc::channel::<(&'static str, String, bytes::Bytes)>(opts.queue);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let held = Arc::new(AtomicUsize::new(0));
        let label = SinkLabel { sink: name.into() };
        for _ in 0..CONCURRENCY {
            let (rx, client, held, metrics) = (rx.clone(), client.clone(), held.clone(), metrics.clone());
            let (url, secret, label) = (url.to_string(), secret.as_bytes().to_vec(), label.clone());
            rt.spawn(async move {
                loop {
                    let next = rx.lock().await.recv().await;
                    let Some((stream, id, body)) = next else { break };
                    let header = match stream {
                        "action" => "x-vigie-action-id",
                        "audit_head" => "x-vigie-audit-head-id",
                        _ => "x-vigie-alert-id",
                    };
                    let d =
                        post_signed(&client, &url, &secret, (header, &id), body, opts.max_retries, opts.timeout).await;
                    if !d.ok {
                        metrics.sink_errors.get_or_create(&label).inc();
                    }
                    let left = held.fetch_sub(1, Ordering::AcqRel).saturating_sub(1);
                    metrics.sink_queue.get_or_create(&label).set(left as i64);
                }
            });
        }
        Ok(WebhookSink { name: name.into(), tx, held, queue: opts.queue, metrics, label })
    }
}

/// How a signed POST ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub ok: bool,
    /// The last HTTP status received, if any.
    pub status: Option<u16>,
    pub attempts: u32,
    /// The last network error, if any.
    pub error: Option<String>,
    /// The request reached the receiver (or may have) but no answer came in
    /// time: whether it was carried out is not known.
    pub unknown: bool,
}

/// POST `body` signed with `secret`, each attempt within `timeout`,
/// retrying failed connections, 5xx and 429 with exponential backoff;
/// another 4xx is final. A request that was sent but got no answer (a
/// timeout, a connection cut after sending) is not sent again: its outcome
/// is unknown (`Delivery::unknown`). `id` is a header that lets the receiver
/// drop a re-delivery.
pub async fn post_signed(
    client: &reqwest::Client,
    url: &str,
    secret: &[u8],
    id: (&str, &str),
    body: bytes::Bytes,
    retries: u32,
    timeout: Duration,
) -> Delivery {
    let sig = signature(secret, &body);
    let mut d = Delivery { ok: false, status: None, attempts: 0, error: None, unknown: false };
    for attempt in 0..=retries {
        if attempt > 0 {
            let backoff = Duration::from_millis(100u64.saturating_mul(1 << attempt.min(10)));
            tokio::time::sleep(backoff.min(Duration::from_secs(30))).await;
        }
        d.attempts = attempt + 1;
        let resp = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-vigie-signature", &sig)
            .header(id.0, id.1)
            .timeout(timeout)
            .body(body.clone())
            .send()
            .await;
        match resp {
            Ok(r) => {
                let status = r.status();
                d.status = Some(status.as_u16());
                if status.is_success() {
                    d.ok = true;
                    return d;
                }
                if status.is_client_error() && status.as_u16() != 429 {
                    tracing::warn!(
                        url,
                        status = status.as_u16(),
                        id = id.1,
                        "webhook refused the request; not retried"
                    );
                    return d;
                }
                tracing::debug!(url, status = status.as_u16(), attempt, "webhook failed; retrying");
            }
            Err(e) if e.is_connect() => {
                tracing::debug!(url, error = %e, attempt, "webhook unreachable; retrying");
                d.error = Some(e.to_string());
            }
            Err(e) => {
                tracing::warn!(url, id = id.1, error = %e, "webhook sent but not answered: outcome unknown, not resent");
                d.error = Some(e.to_string());
                d.unknown = true;
                return d;
            }
        }
    }
    tracing::warn!(url, id = id.1, retries, "webhook delivery given up after retries");
    d
}

impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    /// Hand the alert over, or drop and count it when the sink is full.
    fn write(&mut self, rec: &Record<'_>) -> Result<(), SinkError> {
        let before = self.held.fetch_add(1, Ordering::AcqRel);
        let item = (rec.stream(), rec.id().to_string(), bytes::Bytes::copy_from_slice(rec.json()));
        if before >= self.queue || self.tx.try_send(item).is_err() {
            self.held.fetch_sub(1, Ordering::AcqRel);
            self.metrics.sink_dropped.get_or_create(&self.label).inc();
            tracing::warn!(sink = %self.name, id = rec.id(), "webhook sink full: alert dropped");
            return Ok(());
        }
        self.metrics.sink_queue.get_or_create(&self.label).set(self.held.load(Ordering::Acquire) as i64);
        Ok(())
    }

    /// Deliveries go on in the background: nothing to wait for.
    fn flush(&mut self) -> Result<(), SinkError> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signature_matches_a_known_hmac() {
        // RFC 4231 test case 2.
        assert_eq!(
            signature(b"Jefe", b"what do ya want for nothing?"),
            "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }
}
