//! NATS JetStream: a durable pull consumer. Messages are acknowledged only
//! after a checkpoint covers them, and the checkpoint keeps the highest
//! stream sequence it covers. On a restart from a checkpoint the consumer is
//! recreated to start just after that sequence: what the restored state has
//! not seen comes again, in stream order, at once (JetStream's redelivery
//! would bring it only after `ack_wait`, behind newer messages, where event
//! time would find it late), and what it has seen does not come again even
//! when its acknowledgements were lost in the crash.

use super::BATCH;
use crate::engine::{Batch, Feed, Item};
use async_nats::jetstream::{self, consumer::pull};
use futures_util::StreamExt;
use std::time::Duration;

pub struct NatsInput {
    pub url: String,
    pub stream: String,
    pub subject: Option<String>,
    pub durable: String,
    pub format: vigie_decode::Format,
    /// `ack_wait` as configured (`"60s"`).
    pub ack_wait: String,
}

impl super::Source for NatsInput {
    fn kind(&self) -> &'static str {
        "nats"
    }

    fn format(&self) -> vigie_decode::Format {
        self.format
    }

    fn start(self: Box<Self>, cx: super::Context) -> anyhow::Result<super::Started> {
        let ack_wait = crate::config::duration_ms(&self.ack_wait)
            .map_err(|e| anyhow::anyhow!("[[inputs]] nats ack_wait: {e}"))?
            .max(1000) as u64;
        // The highest stream sequence the restored checkpoint covers.
        let covered = cx.resume.as_ref().and_then(|p| p.get("sequence")).and_then(|v| v.as_u64()).unwrap_or(0);
        let input = Position { covered, ack_wait: Duration::from_millis(ack_wait) };
        cx.rt.spawn(run(cx.input, cx.name, *self, input, cx.feed));
        Ok(super::Started { done: 1, ..Default::default() })
    }
}

/// Where the consumer stands.
struct Position {
    /// The highest stream sequence the restored checkpoint covers.
    covered: u64,
    ack_wait: Duration,
}

async fn run(input: usize, name: String, cfg: NatsInput, pos: Position, feed: Feed) {
    if let Err(e) = consume(input, &name, &cfg, &pos, &feed).await {
        tracing::error!(input = %name, url = %cfg.url, "NATS input stopped: {e}");
    }
    feed.done(input);
}

async fn consume(input: usize, name: &str, cfg: &NatsInput, pos: &Position, feed: &Feed) -> anyhow::Result<()> {
    let client = async_nats::connect(&cfg.url).await?;
    let js = jetstream::new(client);
    let stream = js.get_stream(&cfg.stream).await.map_err(|e| anyhow::anyhow!("stream {}: {e}", cfg.stream))?;
    let mut config = pull::Config {
        durable_name: Some(cfg.durable.clone()),
        filter_subject: cfg.subject.clone().unwrap_or_default(),
        ack_policy: jetstream::consumer::AckPolicy::Explicit,
        ack_wait: pos.ack_wait,
        max_ack_pending: 100_000,
        ..Default::default()
    };
    if pos.covered > 0 {
        // Resume exactly after the checkpoint (see the module's comment).
        match stream.delete_consumer(&cfg.durable).await {
            Ok(_) => {}
            // Not there (a first start after the checkpoint, or deleted by hand).
            Err(e)
                if matches!(e.kind(), jetstream::stream::ConsumerErrorKind::JetStream(j)
                if j.error_code() == jetstream::ErrorCode::CONSUMER_NOT_FOUND) => {}
            Err(e) => anyhow::bail!("consumer {}: {e}", cfg.durable),
        }
        config.deliver_policy = jetstream::consumer::DeliverPolicy::ByStartSequence { start_sequence: pos.covered + 1 };
        tracing::info!(input = %name, from = pos.covered + 1, "NATS consumer resumes after its checkpoint");
    }
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .get_or_create_consumer(&cfg.durable, config)
        .await
        .map_err(|e| anyhow::anyhow!("consumer {}: {e}", cfg.durable))?;
    // The highest sequence handed to the engine so far.
    let mut top = pos.covered;
    while !feed.stopping() {
        let mut batch = consumer
            .fetch()
            .max_messages(BATCH)
            .expires(Duration::from_millis(200))
            .messages()
            .await
            .map_err(|e| anyhow::anyhow!("fetch: {e}"))?;
        let mut items = Vec::new();
        let mut msgs = Vec::new();
        let mut highest = 0u64;
        while let Some(m) = batch.next().await {
            let m = match m {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(input = %name, "NATS message error: {e}");
                    continue;
                }
            };
            let seq = m.info().map(|i| i.stream_sequence).unwrap_or(0);
            highest = highest.max(seq);
            items.push(Item::Line { bytes: m.payload.to_vec(), offset: seq });
            msgs.push(m);
        }
        if items.is_empty() {
            continue;
        }
        let rt = tokio::runtime::Handle::current();
        let mut b = Batch::new(input, items);
        // Positions only grow: the checkpoint keeps the highest sequence applied.
        top = top.max(highest);
        b.position = Some(serde_json::json!({ "sequence": top }));
        b.ack = Some(Box::new(move |ok| {
            if ok {
                rt.spawn(async move {
                    for m in msgs {
                        if let Err(e) = m.ack().await {
                            tracing::warn!("NATS ack failed (the message will be redelivered): {e}");
                        }
                    }
                });
            }
        }));
        let mut b = Some(b);
        while let Some(batch) = b.take() {
            if let Err(back) = feed.try_send(batch) {
                if feed.stopping() {
                    break;
                }
                b = Some(back);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
    Ok(())
}
