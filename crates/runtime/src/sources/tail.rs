//! Following a file as it grows, like `tail -F`, Filebeat or Vector.
//!
//! A file is identified by its device, inode and a fingerprint of its first
//! bytes (at most 1 KiB), all kept in the position with the byte offset
//! after the last complete line. A restart resumes there, so no line is lost
//! or read twice:
//!
//! - rotated while vigie was down: the checkpointed file is looked for among
//!   the path's siblings (`app.log.1`, `app.log-20260302`, ...) by its
//!   identity, and drained from the checkpoint before the new file is read;
//! - truncated while down (shorter than the offset, or its first bytes
//!   changed): read again from 0, counted (`vigie_truncations_total`);
//! - rotated while running (logrotate `create`, a rename): the old file,
//!   still open, is read to its end, and until it has stayed there for
//!   [`ROTATE_WAIT`] (a writer that has not reopened yet), then the new one
//!   from its start;
//! - truncated while running (copytruncate): read again from 0, counted.
//!
//! A line longer than `[engine] max_line` is skipped as it is read (memory
//! stays bounded) and counted (`vigie_lines_too_long_total`).

use super::BATCH;
use crate::engine::{Batch, Feed, Item};
use serde::{Deserialize, Serialize};
use sha2::Digest;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `type = "file"`: follows `path`, resuming at the checkpointed position.
pub struct Tail {
    pub path: PathBuf,
    pub format: vigie_decode::Format,
}

impl super::Source for Tail {
    fn kind(&self) -> &'static str {
        "file"
    }

    fn format(&self) -> vigie_decode::Format {
        self.format
    }

    fn start(self: Box<Self>, cx: super::Context) -> anyhow::Result<super::Started> {
        let pos = cx.resume.and_then(|v| serde_json::from_value(v).ok());
        Ok(super::Started { threads: vec![spawn(cx.input, self.path, pos, cx.feed)], done: 1, ..Default::default() })
    }
}

/// Bytes of a file's start that fingerprint it.
pub const FINGERPRINT: u64 = 1024;
/// How long a rotated file must stay at its end before it is left.
pub const ROTATE_WAIT: Duration = Duration::from_millis(1000);

#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Position {
    pub dev: u64,
    pub ino: u64,
    pub offset: u64,
    /// How many of the file's first bytes `fp` covers (at most 1 KiB).
    #[serde(default)]
    pub fp_len: u64,
    /// A hash of the file's first `fp_len` bytes.
    #[serde(default)]
    pub fp: u64,
}

struct Open {
    file: File,
    path: PathBuf,
    dev: u64,
    ino: u64,
    /// Offset of the first byte not yet in a sent batch.
    offset: u64,
    /// Bytes read after the last complete line.
    partial: Vec<u8>,
    /// Inside a line over the limit: bytes of it skipped so far.
    skipping: Option<u64>,
    fp_len: u64,
    fp: u64,
    /// Since when the file has been at its end while the path names
    /// another file.
    rotated_eof: Option<Instant>,
}

fn hash(bytes: &[u8]) -> u64 {
    let d = sha2::Sha256::digest(bytes);
    u64::from_le_bytes(d[..8].try_into().unwrap_or([0; 8]))
}

/// The fingerprint of the first `len` bytes, if the file has them.
fn fingerprint(file: &File, len: u64) -> Option<u64> {
    let mut buf = vec![0u8; len as usize];
    file.read_exact_at(&mut buf, 0).ok()?;
    Some(hash(&buf))
}

/// Is `file` the one `p` describes (same device, inode and first bytes)?
fn same_file(p: &Position, file: &File) -> bool {
    let Ok(m) = file.metadata() else { return false };
    m.dev() == p.dev && m.ino() == p.ino && (p.fp_len == 0 || fingerprint(file, p.fp_len) == Some(p.fp))
}

impl Open {
    fn new(file: File, path: &Path, offset: u64) -> Option<Open> {
        let m = file.metadata().ok()?;
        let mut o = Open {
            file,
            path: path.to_path_buf(),
            dev: m.dev(),
            ino: m.ino(),
            offset,
            partial: Vec::new(),
            skipping: None,
            fp_len: 0,
            fp: 0,
            rotated_eof: None,
        };
        o.file.seek(SeekFrom::Start(offset)).ok()?;
        o.refresh_fingerprint();
        Some(o)
    }

    /// Extend the fingerprint while the file is shorter than 1 KiB.
    fn refresh_fingerprint(&mut self) {
        if self.fp_len >= FINGERPRINT {
            return;
        }
        let len = self.file.metadata().map(|m| m.len()).unwrap_or(0).min(FINGERPRINT);
        if len > self.fp_len
            && let Some(fp) = fingerprint(&self.file, len)
        {
            (self.fp_len, self.fp) = (len, fp);
        }
    }

    /// Has the file been truncated (shorter than what was read, or its
    /// first bytes changed)?
    fn truncated(&self) -> bool {
        let Ok(m) = self.file.metadata() else { return false };
        let read = self.offset + self.partial.len() as u64 + self.skipping.unwrap_or(0);
        m.len() < read || (self.fp_len > 0 && fingerprint(&self.file, self.fp_len) != Some(self.fp))
    }

    fn position(&mut self) -> serde_json::Value {
        self.refresh_fingerprint();
        let p = Position { dev: self.dev, ino: self.ino, offset: self.offset, fp_len: self.fp_len, fp: self.fp };
        serde_json::to_value(p).unwrap_or_default()
    }
}

/// Where to start: the checkpointed file at its offset (under the path, or
/// among its siblings when it was rotated while vigie was down), else the
/// path from 0. `truncated` is called when the checkpointed file is found
/// truncated.
fn open(path: &Path, resume: Option<Position>, truncated: &dyn Fn()) -> Option<Open> {
    let file = File::open(path).ok();
    let Some(p) = resume else { return Open::new(file?, path, 0) };
    let m = file.as_ref().and_then(|f| f.metadata().ok());
    if let (Some(f), Some(m)) = (file, m) {
        if m.dev() == p.dev && m.ino() == p.ino {
            if m.len() >= p.offset && same_file(&p, &f) {
                return Open::new(f, path, p.offset);
            }
            tracing::warn!(path = %path.display(), "file input: truncated while stopped; reading from the start");
            truncated();
            return Open::new(f, path, 0);
        }
        // The path names another file: the checkpointed one was rotated.
        if let Some((old, old_path)) = sibling(path, &p)
            && old.metadata().is_ok_and(|m| m.len() >= p.offset)
        {
            tracing::info!(path = %path.display(), rotated = %old_path.display(), "file input: rotated while stopped; finishing the rotated file first");
            return Open::new(old, &old_path, p.offset);
        }
        tracing::warn!(path = %path.display(), "file input: the checkpointed file is gone (rotated and removed or compressed while stopped); its unread lines are lost; reading the new file");
        return Open::new(f, path, 0);
    }
    // The path is missing; the checkpointed file may be a sibling still.
    if let Some((old, old_path)) = sibling(path, &p) {
        return Open::new(old, &old_path, p.offset);
    }
    None
}

/// A file beside `path` whose name starts with the path's (`app.log.1`,
/// `app.log-20260302`) and which is the file `p` describes.
fn sibling(path: &Path, p: &Position) -> Option<(File, PathBuf)> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let base = path.file_name()?.to_string_lossy().into_owned();
    for entry in std::fs::read_dir(dir).ok()?.flatten().take(10_000) {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name == base || !name.starts_with(&base) {
            continue;
        }
        let Ok(m) = entry.metadata() else { continue };
        if m.dev() != p.dev || m.ino() != p.ino {
            continue;
        }
        if let Ok(f) = File::open(entry.path())
            && same_file(p, &f)
        {
            return Some((f, entry.path()));
        }
    }
    None
}

fn identity(p: &Path) -> Option<(u64, u64)> {
    std::fs::metadata(p).ok().map(|m| (m.dev(), m.ino()))
}

pub fn spawn(input: usize, path: PathBuf, resume: Option<Position>, feed: Feed) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let label = feed.metrics.input(&format!("file#{input}"));
        let truncated = || {
            feed.metrics.truncations.get_or_create(&label).inc();
        };
        let mut cur: Option<Open> = None;
        let mut resume = resume;
        let mut buf = vec![0u8; 1 << 20];
        let mut warned = false;
        while !feed.stopping() {
            if cur.is_none() {
                cur = open(&path, resume.take(), &truncated);
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
                    resume = Some(Position { dev: o.dev, ino: o.ino, offset: o.offset, fp_len: o.fp_len, fp: o.fp });
                    cur = None;
                    continue;
                }
            };
            if n > 0 {
                o.rotated_eof = None;
                send_lines(o, &buf[..n], input, &feed, &label);
                continue;
            }
            // At the end: has the path been rotated or truncated?
            match identity(&path) {
                Some(id) if id != (o.dev, o.ino) => {
                    // A writer may not have reopened yet: wait at the end of
                    // the old file a while before leaving it.
                    let since = *o.rotated_eof.get_or_insert_with(Instant::now);
                    if since.elapsed() < ROTATE_WAIT {
                        std::thread::sleep(Duration::from_millis(50));
                        continue;
                    }
                    if !o.partial.is_empty() {
                        tracing::warn!(path = %o.path.display(), bytes = o.partial.len(), "file input: rotated file ends without a newline; its last bytes are not a line");
                    }
                    tracing::info!(path = %path.display(), "file input: rotated; reading the new file");
                    cur = File::open(&path).ok().and_then(|f| Open::new(f, &path, 0));
                    if let Some(n) = cur.as_mut() {
                        // The new file's start is the position to resume from.
                        let mut b = Batch::new(input, Vec::new());
                        b.position = Some(n.position());
                        feed.send(b);
                    }
                }
                Some(_) if o.truncated() => {
                    tracing::warn!(path = %path.display(), "file input: truncated; reading from the start");
                    truncated();
                    cur = File::open(&path).ok().and_then(|f| Open::new(f, &path, 0));
                    if let Some(n) = cur.as_mut() {
                        let mut b = Batch::new(input, Vec::new());
                        b.position = Some(n.position());
                        feed.send(b);
                    }
                }
                _ => std::thread::sleep(Duration::from_millis(50)),
            }
        }
        feed.done(input);
    })
}

/// Cut complete lines out of what was read and send them in batches. A
/// line over the limit is dropped as it comes, never held.
fn send_lines(o: &mut Open, data: &[u8], input: usize, feed: &Feed, label: &crate::metrics::InputLabel) {
    let max = feed.max_line;
    let mut data = data;
    let mut moved = false;
    if let Some(skipped) = o.skipping {
        match data.iter().position(|&b| b == b'\n') {
            None => {
                o.skipping = Some(skipped + data.len() as u64);
                return;
            }
            Some(i) => {
                o.offset += skipped + i as u64 + 1;
                o.skipping = None;
                data = &data[i + 1..];
                moved = true;
            }
        }
    }
    o.partial.extend_from_slice(data);
    let mut items = Vec::with_capacity(BATCH);
    if let Some(last_nl) = o.partial.iter().rposition(|&b| b == b'\n') {
        let complete: Vec<u8> = o.partial.drain(..=last_nl).collect();
        let mut start = 0usize;
        for (i, &b) in complete.iter().enumerate() {
            if b != b'\n' {
                continue;
            }
            let line = &complete[start..i];
            if line.len() > max {
                too_long(feed, label, o.offset + start as u64, line.len() as u64);
            } else if line.iter().any(|b| !b.is_ascii_whitespace()) {
                items.push(Item::Line { bytes: line.to_vec(), offset: o.offset + start as u64 });
            }
            start = i + 1;
            if items.len() >= BATCH {
                let mut b = Batch::new(input, std::mem::take(&mut items));
                let mut p = Position { dev: o.dev, ino: o.ino, offset: o.offset + start as u64, fp_len: 0, fp: 0 };
                o.refresh_fingerprint();
                (p.fp_len, p.fp) = (o.fp_len, o.fp);
                b.position = serde_json::to_value(p).ok();
                feed.send(b);
            }
        }
        o.offset += complete.len() as u64;
        moved = true;
    }
    if o.partial.len() > max {
        // No newline within the limit: drop what is held and skip on.
        too_long(feed, label, o.offset, o.partial.len() as u64);
        o.skipping = Some(o.partial.len() as u64);
        o.partial = Vec::new();
    }
    if moved {
        let mut b = Batch::new(input, items);
        b.position = Some(o.position());
        feed.send(b);
    }
}

fn too_long(feed: &Feed, label: &crate::metrics::InputLabel, offset: u64, bytes: u64) {
    feed.metrics.lines_too_long.get_or_create(label).inc();
    tracing::warn!(input = %label.input, offset, bytes, "skipped: line over [engine] max_line");
}
