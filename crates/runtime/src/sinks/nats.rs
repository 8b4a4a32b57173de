//! NATS: each alert published to a subject. When a JetStream stream captures
//! the subject, `Nats-Msg-Id` is the alert id, so the server drops a
//! re-delivery (after a crash) within its duplicate window.

use super::{Record, Sink, SinkError};

pub struct NatsSink {
    name: String,
    subject: String,
    client: async_nats::Client,
    rt: tokio::runtime::Handle,
}

impl NatsSink {
    pub fn new(name: &str, url: &str, subject: &str, rt: &tokio::runtime::Handle) -> anyhow::Result<NatsSink> {
        let client = rt.block_on(async_nats::connect(url)).map_err(|e| anyhow::anyhow!("NATS sink {url}: {e}"))?;
        Ok(NatsSink { name: name.into(), subject: subject.into(), client, rt: rt.clone() })
    }
}

impl Sink for NatsSink {
    fn name(&self) -> &str {
        &self.name
    }

    fn write(&mut self, rec: &Record<'_>) -> Result<(), SinkError> {
        let mut headers = async_nats::HeaderMap::new();
        headers.insert("Nats-Msg-Id", rec.id());
        let (client, subject, body) =
            (self.client.clone(), self.subject.clone(), bytes::Bytes::copy_from_slice(rec.json()));
        self.rt
            .block_on(client.publish_with_headers(subject, headers, body))
            .map_err(|e| SinkError { sink: self.name.clone(), message: e.to_string() })
    }

    fn flush(&mut self) -> Result<(), SinkError> {
        let client = self.client.clone();
        self.rt.block_on(client.flush()).map_err(|e| SinkError { sink: self.name.clone(), message: e.to_string() })
    }
}
