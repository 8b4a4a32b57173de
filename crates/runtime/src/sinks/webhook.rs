//! Webhook: one signed HTTP POST per alert.
//!
//! The receiver verifies `X-Vigie-Signature: sha256=<hex>`, the HMAC-SHA256
//! of the exact body under the shared secret, so that nobody else can make a
//! SOAR suspend an account. `X-Vigie-Alert-Id` lets it deduplicate a
//! re-delivery after a crash. Failures (network errors, 5xx, 429) are
//! retried with exponential backoff; a 4xx other than 429 is not retried.

use super::{Sink, SinkError};
use crate::metrics::{Metrics, SinkLabel};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::sync::{Arc, Condvar, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use vigie_alert::Alert;

/// Deliveries in flight at once.
const CONCURRENCY: usize = 8;

/// `sha256=<hex of HMAC-SHA256(secret, body)>`
pub fn signature(secret: &[u8], body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes keys of any length");
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

/// Alerts handed over, and alerts finished (delivered or given up).
type Progress = Arc<(Mutex<(u64, u64)>, Condvar)>;

pub struct WebhookSink {
    name: String,
    tx: mpsc::Sender<(String, bytes::Bytes)>,
    progress: Progress,
}

impl WebhookSink {
    pub fn new(
        name: &str,
        url: &str,
        secret: &str,
        max_retries: u32,
        rt: &tokio::runtime::Handle,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<WebhookSink> {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| anyhow::anyhow!("webhook {url}: {e}"))?;
        let (tx, rx) = mpsc::channel::<(String, bytes::Bytes)>(1024);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let progress: Progress = Arc::new((Mutex::new((0, 0)), Condvar::new()));
        for _ in 0..CONCURRENCY {
            let (rx, client, progress, metrics) = (rx.clone(), client.clone(), progress.clone(), metrics.clone());
            let (url, secret, label) = (url.to_string(), secret.as_bytes().to_vec(), SinkLabel { sink: name.into() });
            rt.spawn(async move {
                loop {
                    let next = rx.lock().await.recv().await;
                    let Some((id, body)) = next else { break };
                    if !deliver(&client, &url, &secret, &id, body, max_retries).await {
                        metrics.sink_errors.get_or_create(&label).inc();
                    }
                    let (lock, cv) = &*progress;
                    if let Ok(mut p) = lock.lock() {
                        p.1 += 1;
                    }
                    cv.notify_all();
                }
            });
        }
        Ok(WebhookSink { name: name.into(), tx, progress })
    }
}

async fn deliver(
    client: &reqwest::Client,
    url: &str,
    secret: &[u8],
    id: &str,
    body: bytes::Bytes,
    retries: u32,
) -> bool {
    let sig = signature(secret, &body);
    for attempt in 0..=retries {
        if attempt > 0 {
            let backoff = Duration::from_millis(100u64.saturating_mul(1 << attempt.min(10)));
            tokio::time::sleep(backoff.min(Duration::from_secs(30))).await;
        }
        let resp = client
            .post(url)
            .header("content-type", "application/json")
            .header("x-vigie-signature", &sig)
            .header("x-vigie-alert-id", id)
            .body(body.clone())
            .send()
            .await;
        match resp {
            Ok(r) if r.status().is_success() => return true,
            Ok(r) if r.status().is_client_error() && r.status().as_u16() != 429 => {
                tracing::warn!(url, status = r.status().as_u16(), alert = id, "webhook refused the alert; not retried");
                return false;
            }
            Ok(r) => tracing::debug!(url, status = r.status().as_u16(), attempt, "webhook failed; retrying"),
            Err(e) => tracing::debug!(url, error = %e, attempt, "webhook unreachable; retrying"),
        }
    }
    tracing::warn!(url, alert = id, retries, "webhook delivery given up after retries");
    false
}

impl Sink for WebhookSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, alert: &Alert, json: &[u8]) -> Result<(), SinkError> {
        let item = (alert.alert.id.clone(), bytes::Bytes::copy_from_slice(json));
        self.tx
            .blocking_send(item)
            .map_err(|_| SinkError { sink: self.name.clone(), message: "delivery tasks stopped".into() })?;
        let (lock, _) = &*self.progress;
        if let Ok(mut p) = lock.lock() {
            p.0 += 1;
        }
        Ok(())
    }

    /// Wait until every alert handed over is delivered or given up.
    fn flush(&mut self) -> Result<(), SinkError> {
        let (lock, cv) = &*self.progress;
        let mut p = lock.lock().map_err(|_| SinkError { sink: self.name.clone(), message: "poisoned".into() })?;
        while p.1 < p.0 {
            p = cv
                .wait_timeout(p, Duration::from_millis(100))
                .map_err(|_| SinkError { sink: self.name.clone(), message: "poisoned".into() })?
                .0;
        }
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
