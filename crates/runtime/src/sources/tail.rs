//! Following a file as it grows, like `tail -F`.
//!
//! The position is (file identity, byte offset after the last complete
//! line). A restart resumes there, so no line is lost or read twice. When
//! the path comes to name another file (rotation by rename), the old file is
//! read to its end first, then the new one from its start; when the file
//! shrinks (rotation by truncation), reading restarts at 0.

use super::BATCH;
use crate::engine::{Batch, Feed, Item};
use serde::{Deserialize, Serialize};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Position {
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
}

struct Open {
    file: File,
    dev: u64,
    ino: u64,
    /// Offset of the first byte not yet in a sent batch.
    offset: u64,
    /// Bytes read after the last complete line.
    partial: Vec<u8>,
}

fn identity(p: &Path) -> Option<(u64, u64, u64)> {
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino(), m.len()))
}

fn open(path: &Path, resume: Option<Position>) -> Option<Open> {
    let mut file = File::open(path).ok()?;
    let m = file.metadata().ok()?;
    let (dev, ino) = (m.dev(), m.ino());
    // Resume only in the same file, and only if it has not shrunk since.
    let offset = match resume {
        Some(p) if p.dev == dev && p.ino == ino && p.offset <= m.len() => p.offset,
        _ => 0,
    };
    file.seek(SeekFrom::Start(offset)).ok()?;
    Some(Open { file, dev, ino, offset, partial: Vec::new() })
}

pub fn spawn(input: usize, path: PathBuf, resume: Option<Position>, feed: Feed) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let mut cur: Option<Open> = None;
        let mut resume = resume;
        let mut buf = vec![0u8; 1 << 20];
        let mut warned = false;
        while !feed.stopping() {
            if cur.is_none() {
                cur = open(&path, resume.take());
                if cur.is_none() {
                    if !warned {
                        tracing::warn!(path = %path.display(), "file input: cannot open yet; waiting for it");
                        warned = true;
                    }
                    std::thread::sleep(Duration::from_millis(200));
                    continue;
                }
                warned = false;
            }
            let Some(o) = cur.as_mut() else { continue };
            let n = match o.file.read(&mut buf) {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(path = %path.display(), error = %e, "file input: read failed; reopening");
                    cur = None;
                    continue;
                }
            };
            if n > 0 {
                send_lines(o, &buf[..n], input, &feed);
                continue;
            }
            // At the end: has the path been rotated or truncated?
            match identity(&path) {
                Some((dev, ino, _)) if (dev, ino) != (o.dev, o.ino) => {
                    tracing::info!(path = %path.display(), "file input: rotated; reading the new file");
                    cur = open(&path, None);
                    if let Some(n) = cur.as_ref() {
                        // The new file's start is the position to resume from.
                        let mut b = Batch::new(input, Vec::new());
                        b.position = Some(position(n));
                        feed.send(b);
                    }
                }
                Some((_, _, len)) if len < o.offset + o.partial.len() as u64 => {
                    tracing::info!(path = %path.display(), "file input: truncated; reading from the start");
                    cur = open(&path, None);
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        feed.done(input);
    })
}

fn position(o: &Open) -> serde_json::Value {
    serde_json::to_value(Position { dev: o.dev, ino: o.ino, offset: o.offset }).unwrap_or_default()
}

/// Cut complete lines out of what was read and send them in batches.
fn send_lines(o: &mut Open, data: &[u8], input: usize, feed: &Feed) {
    o.partial.extend_from_slice(data);
    let Some(last_nl) = o.partial.iter().rposition(|&b| b == b'\n') else { return };
    let complete: Vec<u8> = o.partial.drain(..=last_nl).collect();
    let mut items = Vec::with_capacity(BATCH);
    let mut start = 0usize;
    for (i, &b) in complete.iter().enumerate() {
        if b != b'\n' {
            continue;
        }
        let line = &complete[start..i];
        if line.iter().any(|b| !b.is_ascii_whitespace()) {
            items.push(Item::Line { bytes: line.to_vec(), offset: o.offset + start as u64 });
        }
        start = i + 1;
        if items.len() >= BATCH {
            let mut b = Batch::new(input, std::mem::take(&mut items));
            b.position = Some(
                serde_json::to_value(Position { dev: o.dev, ino: o.ino, offset: o.offset + start as u64 })
                    .unwrap_or_default(),
            );
            feed.send(b);
        }
    }
    o.offset += complete.len() as u64;
    let mut b = Batch::new(input, items);
    b.position = Some(position(o));
    feed.send(b);
}
