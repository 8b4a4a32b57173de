//! Elasticsearch or OpenSearch: alerts indexed through the `_bulk` API, as
//! ECS documents (`vigie_alert::ecs`; OCSF with `format = "ocsf"`).
//!
//! It runs behind a [`Queued`](super::queued::Queued) queue on a thread of
//! its own, like the syslog and NATS sinks: detection never waits for the
//! cluster, and, like them, it is a notification, at most once across a
//! crash (a checkpoint does not wait for the queue; alerts are durable in
//! the JSONL sink and the store), and a full queue drops and counts
//! (`vigie_sink_dropped_total`). Documents are sent in batches of `batch`
//! (and whatever is queued when the queue runs dry), each as a `create`
//! with the record's deterministic id as `_id`, so that sending one again
//! (a retry, or a replay of the same input) is refused by the cluster (409)
//! instead of indexed twice; a 409 counts as delivered.
//!
//! Retries are bounded: a batch refused whole (connection error, timeout,
//! 429, 5xx) is sent again, and so are the documents the response marks 429
//! or 5xx, with exponential backoff, at most `max_retries` times. A document
//! refused for good (a mapping error, any other 4xx) or still refused after
//! the last retry goes to the **dead-letter file**, one JSON line with the
//! reason and the document, and is counted in `vigie_sink_errors_total`.

use super::{Item, Record, Sink, SinkError};
use crate::metrics::{Metrics, SinkLabel};
use serde::Deserialize;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

/// How an Elasticsearch sink delivers.
#[derive(Debug, Clone)]
pub struct Options {
    pub index: String,
    pub auth: Option<Auth>,
    pub batch: usize,
    pub max_retries: u32,
    /// One request's limit.
    pub timeout: Duration,
    pub dead_letter: PathBuf,
    /// The dead-letter file's size cap.
    pub dead_letter_max_bytes: u64,
    /// First wait before a retry; doubled each time, at most 30 s.
    pub backoff: Duration,
}

/// The largest `_bulk` response read (a response for 500 documents, each
/// with an error, is far smaller).
const MAX_RESPONSE: usize = 16 << 20;

/// How the sink proves who it is.
#[derive(Debug, Clone)]
pub enum Auth {
    ApiKey(String),
    Basic { username: String, password: String },
}

struct Doc {
    id: String,
    body: Vec<u8>,
}

pub struct BulkSink {
    name: String,
    url: String,
    opts: Options,
    client: reqwest::Client,
    rt: tokio::runtime::Handle,
    pending: Vec<Doc>,
    metrics: Arc<Metrics>,
    label: SinkLabel,
}

/// The part of a `_bulk` response vigie reads.
#[derive(Deserialize)]
struct BulkResponse {
    #[serde(default)]
    items: Vec<std::collections::HashMap<String, BulkItem>>,
}

#[derive(Deserialize)]
struct BulkItem {
    /// Missing or odd in a broken response: such an item is sent again.
    #[serde(default)]
    status: Option<u64>,
    #[serde(default)]
    error: Option<serde_json::Value>,
}

/// The most of a reason kept (an error from the cluster can quote a field's
/// value; the reason goes to the dead-letter file, never to the log).
const MAX_REASON: usize = 300;

fn cut(mut s: String) -> String {
    if s.len() > MAX_REASON {
        let mut at = MAX_REASON;
        while !s.is_char_boundary(at) {
            at -= 1;
        }
        s.truncate(at);
        s.push('…');
    }
    s
}

/// What became of one attempt.
enum Attempt {
    /// Sent whole again later (connection error, timeout, 429, 5xx).
    Retry(String),
    /// Per document: `None` delivered, `Some((retry, reason))` not.
    Items(Vec<Option<(bool, String)>>),
    /// Refused whole for good (another 4xx, or a response vigie cannot read).
    Refused(String),
}

impl BulkSink {
    pub fn new(
        name: &str,
        url: &str,
        opts: Options,
        rt: &tokio::runtime::Handle,
        metrics: Arc<Metrics>,
    ) -> anyhow::Result<BulkSink> {
        let client = reqwest::Client::builder()
            .connect_timeout(opts.timeout)
            .timeout(opts.timeout)
            .build()
            .map_err(|e| anyhow::anyhow!("elasticsearch {url}: {e}"))?;
        if let Some(dir) = opts.dead_letter.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("dead-letter folder {}: {e}", dir.display()))?;
        }
        Ok(BulkSink {
            name: name.into(),
            url: format!("{}/_bulk", url.trim_end_matches('/')),
            opts: Options { batch: opts.batch.max(1), ..opts },
            client,
            rt: rt.clone(),
            pending: Vec::new(),
            label: SinkLabel { sink: name.into() },
            metrics,
        })
    }

    /// The request body: an action line and a document line per document.
    fn body(&self, docs: &[Doc]) -> Vec<u8> {
        let mut out = Vec::with_capacity(docs.iter().map(|d| d.body.len() + 96).sum());
        for d in docs {
            let action = serde_json::json!({ "create": { "_index": self.opts.index, "_id": d.id } });
            // A map of strings: serialising cannot fail.
            let _ = serde_json::to_writer(&mut out, &action);
            out.push(b'\n');
            out.extend_from_slice(&d.body);
            out.push(b'\n');
        }
        out
    }

    fn attempt(&self, docs: &[Doc]) -> Attempt {
        let mut req = self
            .client
            .post(&self.url)
            .header(reqwest::header::CONTENT_TYPE, "application/x-ndjson")
            .body(self.body(docs));
        match &self.opts.auth {
            Some(Auth::ApiKey(k)) => req = req.header(reqwest::header::AUTHORIZATION, format!("ApiKey {k}")),
            Some(Auth::Basic { username, password }) => req = req.basic_auth(username, Some(password)),
            None => {}
        }
        let sent = self.rt.block_on(async move {
            let mut resp = req.send().await?;
            let status = resp.status().as_u16();
            // Read within the request's timeout, and never more than the cap.
            let mut bytes = Vec::new();
            while let Some(c) = resp.chunk().await? {
                if bytes.len() + c.len() > MAX_RESPONSE {
                    return Ok((status, None));
                }
                bytes.extend_from_slice(&c);
            }
            Ok::<_, reqwest::Error>((status, Some(bytes)))
        });
        let (status, bytes) = match sent {
            Ok((status, Some(b))) => (status, b),
            // Sending again is safe: a document indexed meanwhile answers 409.
            Ok((status, None)) => return Attempt::Retry(format!("HTTP {status}: response over {MAX_RESPONSE} bytes")),
            Err(e) => return Attempt::Retry(format!("request failed: {e}")),
        };
        let text = |b: &[u8]| cut(String::from_utf8_lossy(&b[..b.len().min(MAX_REASON + 4)]).into_owned());
        if status == 429 || status >= 500 {
            return Attempt::Retry(format!("HTTP {status}: {}", text(&bytes)));
        }
        if !(200..300).contains(&status) {
            return Attempt::Refused(format!("HTTP {status}: {}", text(&bytes)));
        }
        // A response vigie cannot read (a proxy's page, a broken item list)
        // says nothing of what was indexed: sending again is safe, since a
        // document indexed meanwhile answers 409.
        let parsed: BulkResponse = match serde_json::from_slice(&bytes) {
            Ok(r) => r,
            Err(e) => return Attempt::Retry(format!("unreadable _bulk response (HTTP {status}): {e}")),
        };
        if parsed.items.len() != docs.len() {
            return Attempt::Retry(format!(
                "_bulk response has {} items for {} documents",
                parsed.items.len(),
                docs.len()
            ));
        }
        Attempt::Items(
            parsed
                .items
                .into_iter()
                .map(|item| {
                    let Some(it) = item.into_values().next() else {
                        return Some((true, "empty _bulk item".into()));
                    };
                    match it.status {
                        // 409: created before (a re-delivery), so delivered.
                        Some(200..=299 | 409) => None,
                        Some(s @ 400..=499) if s != 429 => {
                            let why = it.error.map_or_else(String::new, |e| e.to_string());
                            Some((false, cut(format!("HTTP {s}: {why}"))))
                        }
                        Some(s) => Some((true, format!("HTTP {s}"))),
                        None => Some((true, "_bulk item without a status".into())),
                    }
                })
                .collect(),
        )
    }

    /// Send what is pending, retrying as the module says; what cannot be
    /// delivered goes to the dead-letter file.
    fn send(&mut self) -> Result<(), SinkError> {
        let mut todo = std::mem::take(&mut self.pending);
        let mut dead: Vec<(Doc, String)> = Vec::new();
        let mut last = String::new();
        let mut attempt = 0u32;
        while !todo.is_empty() {
            if attempt > self.opts.max_retries {
                dead.extend(todo.drain(..).map(|d| (d, format!("retries exhausted; last: {last}"))));
                break;
            }
            if attempt > 0 {
                let wait = self.opts.backoff.saturating_mul(1 << (attempt - 1).min(16)).min(Duration::from_secs(30));
                std::thread::sleep(wait);
            }
            attempt += 1;
            match self.attempt(&todo) {
                Attempt::Retry(why) => last = why,
                Attempt::Refused(why) => {
                    dead.extend(todo.drain(..).map(|d| (d, why.clone())));
                }
                Attempt::Items(verdicts) => {
                    let mut again = Vec::new();
                    for (d, v) in todo.drain(..).zip(verdicts) {
                        match v {
                            None => {}
                            Some((true, why)) => {
                                last = why;
                                again.push(d);
                            }
                            Some((false, why)) => dead.push((d, why)),
                        }
                    }
                    todo = again;
                }
            }
        }
        if dead.is_empty() {
            return Ok(());
        }
        // Counted per document here (an `Err` would count the batch once).
        self.metrics.sink_errors.get_or_create(&self.label).inc_by(dead.len() as u64);
        let written = write_dead_letters(&self.opts, &self.name, &dead)
            .map_err(|e| self.err(format!("dead-letter file {}: {e}", self.opts.dead_letter.display())))?;
        // The log says how many and where, never the reasons: a cluster's
        // error can quote a field's value (an account, an address).
        tracing::warn!(
            sink = %self.name,
            documents = dead.len(),
            written,
            dead_letter = %self.opts.dead_letter.display(),
            "documents not indexed; see the dead-letter file"
        );
        if written < dead.len() {
            tracing::error!(
                sink = %self.name,
                lost = dead.len() - written,
                max_bytes = self.opts.dead_letter_max_bytes,
                "the dead-letter file is full: documents dropped (counted in vigie_sink_errors_total)"
            );
        }
        Ok(())
    }

    fn err(&self, message: String) -> SinkError {
        SinkError { sink: self.name.clone(), message }
    }
}

/// One JSON line per document: when, which sink and index, its id, why, and
/// the document itself, so that it can be indexed again by hand. The file
/// is private to vigie and grows to `dead_letter_max_bytes` at most; the
/// lines past it are not written. Returns how many were.
fn write_dead_letters(opts: &Options, sink: &str, dead: &[(Doc, String)]) -> std::io::Result<usize> {
    use std::os::unix::fs::OpenOptionsExt;
    let path: &Path = &opts.dead_letter;
    let mut f = std::fs::OpenOptions::new().create(true).append(true).mode(0o600).open(path)?;
    let mut room = opts.dead_letter_max_bytes.saturating_sub(f.metadata()?.len());
    let (now, index) = (jiff::Timestamp::now().to_string(), &opts.index);
    let mut out = Vec::new();
    let mut written = 0;
    for (d, why) in dead {
        // Documents are JSON this sink made: embedded as they are.
        let doc = serde_json::value::RawValue::from_string(String::from_utf8_lossy(&d.body).into_owned())
            .map_err(std::io::Error::other)?;
        let line = serde_json::json!({
            "@timestamp": now, "sink": sink, "index": index, "_id": d.id, "reason": why, "document": doc,
        });
        let start = out.len();
        serde_json::to_writer(&mut out, &line).map_err(std::io::Error::other)?;
        out.push(b'\n');
        let len = (out.len() - start) as u64;
        if len > room {
            out.truncate(start);
            break;
        }
        room -= len;
        written += 1;
    }
    f.write_all(&out)?;
    f.sync_data()?;
    Ok(written)
}

impl Sink for BulkSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, rec: &Record<'_>) -> Result<(), SinkError> {
        let body = match rec.item {
            Item::Alert(a) if rec.format == super::AlertFormat::Vigie => {
                serde_json::to_vec(&vigie_alert::ecs::document(a)).unwrap_or_default()
            }
            _ => rec.json().to_vec(),
        };
        self.pending.push(Doc { id: rec.id().to_string(), body });
        if self.pending.len() >= self.opts.batch { self.send() } else { Ok(()) }
    }

    /// Called when the queue runs dry: what is pending goes now.
    fn flush(&mut self) -> Result<(), SinkError> {
        if self.pending.is_empty() { Ok(()) } else { self.send() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dead_letter_file_is_private_and_capped() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let opts = Options {
            index: "i".into(),
            auth: None,
            batch: 10,
            max_retries: 0,
            timeout: Duration::from_secs(1),
            dead_letter: dir.path().join("dead.jsonl"),
            dead_letter_max_bytes: 400,
            backoff: Duration::from_millis(1),
        };
        let doc = |n: u32| {
            (Doc { id: format!("id{n}"), body: br#"{"event":{"kind":"alert"}}"#.to_vec() }, "HTTP 400".to_string())
        };
        let dead: Vec<(Doc, String)> = (0..10).map(doc).collect();
        let written = write_dead_letters(&opts, "es#0", &dead).unwrap();
        assert!(written > 0 && written < 10, "{written}");
        let text = std::fs::read_to_string(&opts.dead_letter).unwrap();
        assert!(text.len() <= 400 && text.lines().count() == written);
        let line: serde_json::Value = serde_json::from_str(text.lines().next().unwrap()).unwrap();
        assert_eq!((line["_id"].as_str(), line["document"]["event"]["kind"].as_str()), (Some("id0"), Some("alert")));
        // Full: nothing more is written.
        assert_eq!(write_dead_letters(&opts, "es#0", &dead).unwrap(), 0);
        let mode = std::fs::metadata(&opts.dead_letter).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }

    #[test]
    fn reasons_are_cut() {
        assert_eq!(cut("short".into()), "short");
        let long = cut("é".repeat(400));
        assert!(long.len() <= MAX_REASON + '…'.len_utf8() && long.ends_with('…'));
    }
}
