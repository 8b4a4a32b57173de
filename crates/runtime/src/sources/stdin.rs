//! Standard input, one event per line, until end of file. A batch is sent
//! when it is full or when no more input is waiting, so a slow pipe is not
//! held back to fill a batch.

use super::BATCH;
use super::lines::Read;
use super::{Context, Source, Started};
use crate::engine::{Batch, Feed, Item};
use vigie_decode::Format;

/// `type = "stdin"`: done at end of file.
pub struct Stdin {
    pub format: Format,
}

impl Source for Stdin {
    fn kind(&self) -> &'static str {
        "stdin"
    }

    fn format(&self) -> Format {
        self.format
    }

    fn start(self: Box<Self>, cx: Context) -> anyhow::Result<Started> {
        Ok(Started { threads: vec![spawn(cx.input, cx.feed)], done: 1, ..Default::default() })
    }
}

pub fn spawn(input: usize, feed: Feed) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut r = std::io::BufReader::with_capacity(1 << 16, std::io::stdin());
        let mut items = Vec::with_capacity(BATCH);
        let mut offset = 0u64;
        let mut line = Vec::new();
        let label = feed.metrics.input(&format!("stdin#{input}"));
        loop {
            match super::lines::read_line(&mut r, &mut line, feed.max_line) {
                Ok(Read::Eof) => break,
                Ok(Read::Line(n)) => {
                    if line.iter().any(|b| !b.is_ascii_whitespace()) {
                        items.push(Item::Line { bytes: line.clone(), offset });
                    }
                    offset += n as u64;
                }
                Ok(Read::TooLong(n)) => {
                    feed.metrics.lines_too_long.get_or_create(&label).inc();
                    tracing::warn!(input = %label.input, offset, bytes = n, "skipped: line over [engine] max_line");
                    offset += n as u64;
                }
                Err(e) => {
                    tracing::error!(error = %e, "stdin: read failed");
                    break;
                }
            }
            if items.len() >= BATCH || (r.buffer().is_empty() && !items.is_empty()) {
                let mut b = Batch::new(input, std::mem::take(&mut items));
                b.position = Some(serde_json::json!({ "offset": offset }));
                feed.send(b);
            }
            if feed.stopping() {
                break;
            }
        }
        if !items.is_empty() {
            feed.send(Batch::new(input, items));
        }
        feed.done(input);
    })
}
