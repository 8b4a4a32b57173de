//! Webhook: one signed HTTP POST per alert.
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
use std::sync::{Arc, Condvar, Mutex};
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

/// Alerts handed over, and alerts finished (delivered or given up).
type Progress = Arc<(Mutex<(u64, u64)>, Condvar)>;

pub struct WebhookSink {
    name: String,
    tx: mpsc::Sender<(&'static str, String, bytes::Bytes)>,
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
        let (tx, rx) = mpsc::channel::<(&'static str, String, bytes::Bytes)>(1024);
        let rx = Arc::new(tokio::sync::Mutex::new(rx));
        let progress: Progress = Arc::new((Mutex::new((0, 0)), Condvar::new()));
        for _ in 0..CONCURRENCY {
            let (rx, client, progress, metrics) = (rx.clone(), client.clone(), progress.clone(), metrics.clone());
            let (url, secret, label) = (url.to_string(), secret.as_bytes().to_vec(), SinkLabel { sink: name.into() });
            rt.spawn(async move {
                loop {
                    let next = rx.lock().await.recv().await;
                    let Some((stream, id, body)) = next else { break };
                    let header = if stream == "action" { "x-vigie-action-id" } else { "x-vigie-alert-id" };
                    if !post_signed(&client, &url, &secret, (header, &id), body, max_retries).await.ok {
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

/// How a signed POST ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Delivery {
    pub ok: bool,
    /// The last HTTP status received, if any.
    pub status: Option<u16>,
    pub attempts: u32,
    /// The last network error, if any.
    pub error: Option<String>,
}

/// POST `body` signed with `secret`, retrying network errors, 5xx and 429
/// with exponential backoff; another 4xx is final. `id` is a header that
/// lets the receiver drop a re-delivery.
pub async fn post_signed(
    client: &reqwest::Client,
    url: &str,
    secret: &[u8],
    id: (&str, &str),
    body: bytes::Bytes,
    retries: u32,
) -> Delivery {
    let sig = signature(secret, &body);
    let mut d = Delivery { ok: false, status: None, attempts: 0, error: None };
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
            Err(e) => {
                tracing::debug!(url, error = %e, attempt, "webhook unreachable; retrying");
                d.error = Some(e.to_string());
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

    fn write(&mut self, rec: Record<'_>, json: &[u8]) -> Result<(), SinkError> {
        let item = (rec.stream, rec.id.to_string(), bytes::Bytes::copy_from_slice(json));
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
