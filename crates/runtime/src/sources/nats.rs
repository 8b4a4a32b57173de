//! NATS JetStream: a durable pull consumer. Messages are acknowledged only
//! after a checkpoint covers them, so after a crash JetStream redelivers
//! exactly what the restored state has not seen.

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
}

impl super::Source for NatsInput {
    fn kind(&self) -> &'static str {
        "nats"
    }

    fn format(&self) -> vigie_decode::Format {
        self.format
    }

    fn start(self: Box<Self>, cx: super::Context) -> anyhow::Result<super::Started> {
        cx.rt.spawn(run(cx.input, cx.name, *self, cx.feed));
        Ok(super::Started { done: 1, ..Default::default() })
    }
}

pub async fn run(input: usize, name: String, cfg: NatsInput, feed: Feed) {
    if let Err(e) = consume(input, &name, &cfg, &feed).await {
        tracing::error!(input = %name, url = %cfg.url, "NATS input stopped: {e}");
    }
    feed.done(input);
}

async fn consume(input: usize, name: &str, cfg: &NatsInput, feed: &Feed) -> anyhow::Result<()> {
    let client = async_nats::connect(&cfg.url).await?;
    let js = jetstream::new(client);
    let stream = js.get_stream(&cfg.stream).await.map_err(|e| anyhow::anyhow!("stream {}: {e}", cfg.stream))?;
    let consumer: jetstream::consumer::Consumer<pull::Config> = stream
        .get_or_create_consumer(
            &cfg.durable,
            pull::Config {
                durable_name: Some(cfg.durable.clone()),
                filter_subject: cfg.subject.clone().unwrap_or_default(),
                ack_policy: jetstream::consumer::AckPolicy::Explicit,
                ack_wait: Duration::from_secs(60),
                max_ack_pending: 100_000,
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("consumer {}: {e}", cfg.durable))?;
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
        while let Some(m) = batch.next().await {
            let m = match m {
                Ok(m) => m,
                Err(e) => {
                    tracing::warn!(input = %name, "NATS message error: {e}");
                    continue;
                }
            };
            let seq = m.info().map(|i| i.stream_sequence).unwrap_or(0);
            items.push(Item::Line { bytes: m.payload.to_vec(), offset: seq });
            msgs.push(m);
        }
        if items.is_empty() {
            continue;
        }
        let rt = tokio::runtime::Handle::current();
        let mut b = Batch::new(input, items);
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
