//! Syslog receivers. UDP: one message per datagram. TCP: octet-counted
//! frames (`LEN SP MSG`, RFC 6587) or newline-delimited messages, detected
//! per connection by its first byte. A frame cut short by a disconnect is
//! counted as a decode error, never half-processed.
//!
//! Syslog has no acknowledgement: what a sender wrote before a crash of
//! vigie and after its last checkpoint is lost, as with any syslog
//! receiver. Ship through a relay with a disk queue, or use the HTTP or
//! NATS inputs, where delivery is acknowledged after checkpoints.

use super::BATCH;
use crate::engine::{Batch, Feed, Item};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::net::{TcpListener, UdpSocket};

/// Largest frame accepted on TCP; a longer length prefix is an error.
const MAX_FRAME: usize = 1 << 20;

/// `type = "syslog"`: one input, up to two listeners.
pub struct Syslog {
    pub udp: Option<String>,
    pub tcp: Option<String>,
    pub format: vigie_decode::Format,
}

impl super::Source for Syslog {
    fn kind(&self) -> &'static str {
        "syslog"
    }

    fn format(&self) -> vigie_decode::Format {
        self.format
    }

    fn start(self: Box<Self>, cx: super::Context) -> anyhow::Result<super::Started> {
        use anyhow::Context as _;
        let (u, t) = (self.udp, self.tcp);
        let (udp, tcp) = cx.rt.block_on(async move {
            let u = match u {
                Some(a) => Some(UdpSocket::bind(&a).await.with_context(|| format!("syslog udp {a}"))?),
                None => None,
            };
            let t = match t {
                Some(a) => Some(TcpListener::bind(&a).await.with_context(|| format!("syslog tcp {a}"))?),
                None => None,
            };
            anyhow::Ok((u, t))
        })?;
        if udp.is_none() && tcp.is_none() {
            anyhow::bail!("syslog input {}: give `udp` or `tcp` (or both)", cx.name);
        }
        // Each listener says when it is done: the input is done when both are.
        let mut started = super::Started::default();
        if let Some(s) = udp {
            cx.rt.spawn(self::udp(cx.input, cx.name.clone(), s, cx.feed.clone()));
            started.done += 1;
        }
        if let Some(l) = tcp {
            cx.rt.spawn(self::tcp(cx.input, cx.name, l, cx.feed));
            started.done += 1;
        }
        Ok(started)
    }
}

/// Feed a batch from async code: wait (briefly, repeatedly) while the queue
/// is full, which slows TCP senders down instead of dropping.
async fn feed_async(feed: &Feed, mut b: Batch) {
    loop {
        match feed.try_send(b) {
            Ok(()) => return,
            Err(back) => {
                if feed.stopping() {
                    return;
                }
                b = back;
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
        }
    }
}

pub async fn udp(input: usize, name: String, socket: UdpSocket, feed: Feed) {
    let mut buf = vec![0u8; 65_536];
    let mut items = Vec::with_capacity(BATCH);
    let mut offset = 0u64;
    while !feed.stopping() {
        let got = tokio::time::timeout(Duration::from_millis(20), socket.recv_from(&mut buf)).await;
        if let Ok(Ok((n, _))) = got {
            items.push(Item::Line { bytes: buf[..n].to_vec(), offset });
            offset += 1;
            if items.len() < BATCH {
                continue;
            }
        }
        if items.is_empty() {
            continue;
        }
        // UDP cannot be slowed down: a full queue is a counted drop.
        if feed.try_send(Batch::new(input, std::mem::take(&mut items))).is_err() {
            feed.metrics.reject(&name, "queue_full");
        }
    }
    feed.done(input);
}

pub async fn tcp(input: usize, name: String, listener: TcpListener, feed: Feed) {
    let name = Arc::new(name);
    while !feed.stopping() {
        let Ok(Ok((stream, _))) = tokio::time::timeout(Duration::from_millis(50), listener.accept()).await else {
            continue;
        };
        let (feed, name) = (feed.clone(), name.clone());
        tokio::spawn(async move {
            let mut r = BufReader::new(stream);
            let mut items = Vec::new();
            let mut offset = 0u64;
            loop {
                let frame = match read_frame(&mut r, feed.max_line).await {
                    Ok(Some(Frame::Message(f))) => f,
                    Ok(Some(Frame::TooLong(n))) => {
                        feed.metrics.lines_too_long.get_or_create(&feed.metrics.input(&name)).inc();
                        tracing::warn!(input = %name, frame = offset, bytes = n, "skipped: message over [engine] max_line");
                        offset += 1;
                        continue;
                    }
                    Ok(None) => break,
                    Err(e) => {
                        feed.metrics.decode_errors.get_or_create(&feed.metrics.input(&name)).inc();
                        tracing::warn!(input = %name, frame = offset, "syslog tcp: {e}");
                        break;
                    }
                };
                items.push(Item::Line { bytes: frame, offset });
                offset += 1;
                if items.len() >= BATCH || r.buffer().is_empty() {
                    feed_async(&feed, Batch::new(input, std::mem::take(&mut items))).await;
                }
            }
            if !items.is_empty() {
                feed_async(&feed, Batch::new(input, items)).await;
            }
        });
    }
    feed.done(input);
}

/// What one frame was.
#[derive(Debug, PartialEq)]
enum Frame {
    Message(Vec<u8>),
    /// A newline-framed message over the line limit, skipped.
    TooLong(usize),
}

/// One frame, or `None` at a clean end of stream.
async fn read_frame<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R, max_line: usize) -> Result<Option<Frame>, String> {
    let first = match r.fill_buf().await {
        Ok([]) => return Ok(None),
        Ok(b) => b[0],
        Err(e) => return Err(e.to_string()),
    };
    if first.is_ascii_digit() {
        let mut len = Vec::new();
        r.read_until(b' ', &mut len).await.map_err(|e| e.to_string())?;
        if len.last() != Some(&b' ') {
            return Err("truncated frame: the connection closed inside the length prefix".into());
        }
        let n: usize = std::str::from_utf8(&len[..len.len() - 1])
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| "bad octet count".to_string())?;
        let limit = MAX_FRAME.min(max_line);
        if n > limit {
            return Err(format!("frame of {n} bytes is over the {limit}-byte limit"));
        }
        let mut frame = vec![0u8; n];
        r.read_exact(&mut frame)
            .await
            .map_err(|_| format!("truncated frame: the connection closed before its {n} bytes"))?;
        Ok(Some(Frame::Message(frame)))
    } else {
        let mut line = Vec::new();
        match super::lines::read_line_async(r, &mut line, max_line).await.map_err(|e| e.to_string())? {
            super::lines::Read::Eof => Ok(None),
            super::lines::Read::TooLong(n) => Ok(Some(Frame::TooLong(n))),
            super::lines::Read::Line(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                Ok(Some(Frame::Message(line)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn frames_octet_counted_newline_and_truncated() {
        let m = |b: &[u8]| Some(Frame::Message(b.to_vec()));
        let mut r = BufReader::new(&b"5 hello3 abc"[..]);
        assert_eq!(read_frame(&mut r, 100).await.unwrap(), m(b"hello"));
        assert_eq!(read_frame(&mut r, 100).await.unwrap(), m(b"abc"));
        assert_eq!(read_frame(&mut r, 100).await.unwrap(), None);
        let mut r = BufReader::new(&b"<13>a\n<13>b"[..]);
        assert_eq!(read_frame(&mut r, 100).await.unwrap(), m(b"<13>a"));
        assert_eq!(read_frame(&mut r, 100).await.unwrap(), m(b"<13>b"));
        let mut r = BufReader::new(&b"10 short"[..]);
        assert!(read_frame(&mut r, 100).await.unwrap_err().contains("truncated"));
        let mut r = BufReader::new(&b"12"[..]);
        assert!(read_frame(&mut r, 100).await.unwrap_err().contains("truncated"));
        let mut r = BufReader::new(&b"<13>too long a line\n<13>ok\n"[..]);
        assert_eq!(read_frame(&mut r, 8).await.unwrap(), Some(Frame::TooLong(20)));
        assert_eq!(read_frame(&mut r, 8).await.unwrap(), m(b"<13>ok"));
    }
}
