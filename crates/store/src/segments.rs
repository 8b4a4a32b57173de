//! The data-access trail of the embedded store, as day files of compressed
//! column blocks (`<store folder>/trail/YYYY-MM-DD.trail`), instead of
//! SQLite rows: one row per read is written at ingest speed and kept in
//! about 30 bytes.
//!
//! A file is a sequence of frames, each one block of rows of that UTC day:
//!
//! ```text
//! "VTB1" | payload length u32 | CRC-32 of the payload u32 | rows u32 | min ts i64 | max ts i64 | payload
//! ```
//!
//! (little-endian). The payload is a deflated column encoding of the rows:
//! a dictionary of the block's strings (accounts, sources, clients, kinds,
//! actions, targets, categories), then each column in turn: times as
//! zigzag deltas, dictionary ids and counts as varints, and each subject as
//! the first 16 bytes of its pseudonym (128 bits: two of 37 million people
//! share a prefix with odds under 10^-23), and each row's id as 32 bits, for
//! the readers' de-duplication.
//!
//! - **Appends** happen at each flush (the engine's checkpoint), after
//!   which the files are synced; [`Segments::position`] (each file's
//!   length) goes into the checkpoint and [`Segments::restore`] cuts the
//!   files back to it after a crash, so the replay that follows appends
//!   every unacknowledged read once. Rows carry no id: exactly-once comes
//!   from the checkpoint, not from de-duplication.
//! - **Readers** (impact, the console) read whole frames only, and skip a
//!   frame whose time range misses the window without inflating it; a
//!   frame cut short by a crash, or whose CRC does not match, ends the read
//!   of that file, with a warning.
//! - **Retention** deletes whole day files.

use crate::StoreError;
use crate::trail::Scope;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use vigie_analytics::Access;

const MAGIC: &[u8; 4] = b"VTB1";
const HEADER: usize = 4 + 4 + 4 + 4 + 8 + 8;
const DAY_MS: i64 = 86_400_000;
/// Bytes of a pseudonym kept (the first 128 bits of the HMAC-SHA256).
pub const SUBJECT_BYTES: usize = 16;
/// Bytes of a row's id kept, for the readers' de-duplication.
const ID_BYTES: usize = 4;
/// Rows per block at most (a flush with more writes several).
const BLOCK_ROWS: usize = 65_536;
/// Rows of one day that are written as a block without waiting for the
/// flush.
const EAGER_ROWS: usize = 16_384;
/// The largest payload a reader accepts (a corrupt length cannot make it
/// allocate more).
const MAX_PAYLOAD: usize = 64 << 20;
/// The largest inflated block a reader accepts.
const MAX_INFLATED: u64 = 256 << 20;

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io(format!("{}: {e}", path.display()))
}

fn corrupt(path: &Path, what: &str) -> StoreError {
    StoreError::Io(format!("{}: {what}", path.display()))
}

/// The UTC day of a time in ms, as days since 1970-01-01.
fn day_of(ts: i64) -> i64 {
    ts.div_euclid(DAY_MS)
}

fn file_name(day: i64) -> String {
    let date = jiff::Timestamp::from_millisecond(day * DAY_MS)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| format!("day{day}"));
    format!("{date}.trail")
}

fn day_of_name(name: &str) -> Option<i64> {
    let stem = name.strip_suffix(".trail")?;
    if stem.len() != 10 {
        return None;
    }
    let ts: jiff::Timestamp = format!("{stem}T00:00:00Z").parse().ok()?;
    Some(day_of(ts.as_millisecond()))
}

// ---- the column encoding ----

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn zigzag(v: i64) -> u64 {
    ((v << 1) ^ (v >> 63)) as u64
}

fn unzigzag(v: u64) -> i64 {
    ((v >> 1) as i64) ^ -((v & 1) as i64)
}

/// A cursor over a decoded payload; every read is bounds-checked.
struct Cursor<'a> {
    buf: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let b = *self.buf.get(self.at)?;
            self.at += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn bytes(&mut self, n: usize) -> Option<&'a [u8]> {
        let end = self.at.checked_add(n)?;
        let s = self.buf.get(self.at..end)?;
        self.at = end;
        Some(s)
    }

    /// A count that cannot exceed what is left to read (one byte each at
    /// least), so that a corrupt count cannot make a reader allocate.
    fn count(&mut self) -> Option<usize> {
        let n = usize::try_from(self.varint()?).ok()?;
        (n <= self.buf.len() - self.at).then_some(n)
    }
}

/// Strings of a block, each stored once.
#[derive(Default)]
struct Dict<'a> {
    ids: HashMap<&'a str, u64, rustc_hash::FxBuildHasher>,
    list: Vec<&'a str>,
}

impl<'a> Dict<'a> {
    fn id(&mut self, s: &'a str) -> u64 {
        let n = self.list.len() as u64;
        *self.ids.entry(s).or_insert_with(|| {
            self.list.push(s);
            n
        })
    }

    /// 0 for none, else id + 1.
    fn opt(&mut self, s: Option<&'a str>) -> u64 {
        s.map_or(0, |s| self.id(s) + 1)
    }
}

/// The row's id as [`ID_BYTES`] bytes: the first 32 bits of vigie's
/// 128-bit hex ids (FNV-1a of anything else). Readers drop a row whose time
/// (to the millisecond) and id were already read, so that reading the same
/// input twice (two replays into one store) never counts a read twice; two
/// different reads in the same millisecond share 32 bits by chance once in
/// four billion.
fn id_bytes(id: &str) -> [u8; ID_BYTES] {
    let mut out = [0u8; ID_BYTES];
    if let Some(Ok(b)) = id.get(..2 * ID_BYTES).map(hex::decode) {
        out.copy_from_slice(&b);
        return out;
    }
    let mut h = 0xcbf2_9ce4_8422_2325u64;
    for b in id.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    out.copy_from_slice(&h.to_be_bytes()[..ID_BYTES]);
    out
}

fn subject_bytes(pseudonym: &str) -> [u8; SUBJECT_BYTES] {
    let mut out = [0u8; SUBJECT_BYTES];
    // Pseudonyms are hex; anything else (never written by vigie) keeps its
    // first bytes, so that it still counts as one person.
    match hex::decode(pseudonym.get(..2 * SUBJECT_BYTES).unwrap_or(pseudonym)) {
        Ok(b) => out[..b.len().min(SUBJECT_BYTES)].copy_from_slice(&b[..b.len().min(SUBJECT_BYTES)]),
        Err(_) => {
            let b = pseudonym.as_bytes();
            out[..b.len().min(SUBJECT_BYTES)].copy_from_slice(&b[..b.len().min(SUBJECT_BYTES)]);
        }
    }
    out
}

/// The uncompressed column encoding of `rows`.
fn encode(rows: &[&Access]) -> Vec<u8> {
    let mut dict = Dict::default();
    let mut cols = Vec::with_capacity(rows.len() * 40);
    let mut last = 0i64;
    for r in rows {
        put_varint(&mut cols, zigzag(r.ts.wrapping_sub(last)));
        last = r.ts;
    }
    for r in rows {
        cols.extend_from_slice(&id_bytes(&r.id));
    }
    for r in rows {
        put_varint(&mut cols, dict.id(&r.account));
        put_varint(&mut cols, dict.opt(r.source_ip.as_deref()));
        put_varint(&mut cols, dict.opt(r.user_agent.as_deref()));
        put_varint(&mut cols, dict.id(&r.kind));
        put_varint(&mut cols, dict.id(&r.action));
        put_varint(&mut cols, dict.opt(r.target.as_deref()));
        put_varint(&mut cols, r.categories.len() as u64);
        for c in &r.categories {
            put_varint(&mut cols, dict.id(c));
        }
        put_varint(&mut cols, r.records);
        put_varint(&mut cols, r.bytes.map_or(0, |b| b.saturating_add(1)));
        put_varint(&mut cols, r.subjects.len() as u64);
        for s in &r.subjects {
            cols.extend_from_slice(&subject_bytes(s));
        }
    }
    let mut out = Vec::with_capacity(cols.len() + dict.list.len() * 16 + 8);
    put_varint(&mut out, rows.len() as u64);
    put_varint(&mut out, dict.list.len() as u64);
    for s in &dict.list {
        put_varint(&mut out, s.len() as u64);
        out.extend_from_slice(s.as_bytes());
    }
    out.extend_from_slice(&cols);
    out
}

/// What a reader wants of a block: rows of these accounts and/or from
/// these sources, within a window.
struct Filter<'a> {
    scope: &'a Scope,
}

/// Decode a block's rows that pass `filter` (all of them without one).
fn decode(buf: &[u8], filter: Option<&Filter<'_>>) -> Option<Vec<Access>> {
    let mut c = Cursor { buf, at: 0 };
    let rows = c.count()?;
    let n = c.count()?;
    let mut dict: Vec<&str> = Vec::with_capacity(n);
    for _ in 0..n {
        let len = c.count()?;
        dict.push(std::str::from_utf8(c.bytes(len)?).ok()?);
    }
    let word = |id: u64| dict.get(usize::try_from(id).ok()?).copied();
    let opt = |id: u64| if id == 0 { Some(None) } else { word(id - 1).map(Some) };
    // Which dictionary entries the filter names: a block naming none of
    // them has no row to return.
    let (want_accounts, want_sources) = match filter {
        Some(f) => {
            let ids = |names: &[String]| -> Vec<u64> {
                dict.iter().enumerate().filter(|(_, w)| names.iter().any(|n| n == *w)).map(|(i, _)| i as u64).collect()
            };
            let (a, s) = (ids(&f.scope.accounts), ids(&f.scope.sources));
            if (!f.scope.accounts.is_empty() && a.is_empty()) || (!f.scope.sources.is_empty() && s.is_empty()) {
                return Some(Vec::new());
            }
            (Some(a), Some(s))
        }
        None => (None, None),
    };
    let mut ts = Vec::with_capacity(rows.min(BLOCK_ROWS));
    let mut last = 0i64;
    for _ in 0..rows {
        last = last.wrapping_add(unzigzag(c.varint()?));
        ts.push(last);
    }
    let ids = c.bytes(rows.checked_mul(ID_BYTES)?)?;
    let mut out = Vec::new();
    for (t, id) in ts.into_iter().zip(ids.chunks(ID_BYTES)) {
        let account = c.varint()?;
        let source = c.varint()?;
        let agent = c.varint()?;
        let kind = c.varint()?;
        let action = c.varint()?;
        let target = c.varint()?;
        let ncat = c.count()?;
        let mut cats = Vec::with_capacity(ncat);
        for _ in 0..ncat {
            cats.push(c.varint()?);
        }
        let records = c.varint()?;
        let bytes = c.varint()?;
        let nsub = c.count()?;
        let subjects = c.bytes(nsub.checked_mul(SUBJECT_BYTES)?)?;
        if let Some(f) = filter {
            let in_window = t >= f.scope.from_ms && t <= f.scope.to_ms;
            let by_account = want_accounts.as_ref().is_none_or(|a| f.scope.accounts.is_empty() || a.contains(&account));
            let by_source = want_sources
                .as_ref()
                .is_none_or(|s| f.scope.sources.is_empty() || (source > 0 && s.contains(&(source - 1))));
            if !(in_window && by_account && by_source) {
                continue;
            }
        }
        out.push(Access {
            id: hex::encode(id),
            ts: t,
            account: word(account)?.to_string(),
            source_ip: opt(source)?.map(str::to_string),
            user_agent: opt(agent)?.map(str::to_string),
            kind: word(kind)?.to_string(),
            action: word(action)?.to_string(),
            target: opt(target)?.map(str::to_string),
            categories: cats.into_iter().map(|id| word(id).map(str::to_string)).collect::<Option<_>>()?,
            subjects: subjects.chunks(SUBJECT_BYTES).map(hex::encode).collect(),
            records,
            bytes: bytes.checked_sub(1),
        });
    }
    Some(out)
}

// ---- frames ----

struct FrameHeader {
    len: usize,
    crc: u32,
    rows: u32,
    min_ts: i64,
    max_ts: i64,
}

fn frame(rows: &[&Access]) -> Result<Vec<u8>, std::io::Error> {
    let raw = encode(rows);
    let mut z = DeflateEncoder::new(Vec::with_capacity(raw.len() / 2), Compression::fast());
    z.write_all(&raw)?;
    let payload = z.finish()?;
    let (min, max) = rows.iter().fold((i64::MAX, i64::MIN), |(lo, hi), r| (lo.min(r.ts), hi.max(r.ts)));
    let mut out = Vec::with_capacity(HEADER + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
    out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    out.extend_from_slice(&min.to_le_bytes());
    out.extend_from_slice(&max.to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(out)
}

fn parse_header(h: &[u8; HEADER]) -> Option<FrameHeader> {
    if &h[..4] != MAGIC {
        return None;
    }
    let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let i64_at = |i: usize| i64::from_le_bytes(h[i..i + 8].try_into().unwrap_or([0; 8]));
    let len = u32_at(4) as usize;
    (len <= MAX_PAYLOAD).then(|| FrameHeader {
        len,
        crc: u32_at(8),
        rows: u32_at(12),
        min_ts: i64_at(16),
        max_ts: i64_at(24),
    })
}

/// Called on each frame: its offset, header and payload (when wanted).
type OnFrame<'a> = dyn FnMut(u64, &FrameHeader, Option<&[u8]>) -> Result<(), StoreError> + 'a;

/// Walk a file's frames: `f(offset, header, payload if wanted)`. A frame
/// cut short or failing its CRC ends the walk (the file's tail after a
/// crash, before the restore cuts it).
fn walk(path: &Path, want: &mut dyn FnMut(&FrameHeader) -> bool, f: &mut OnFrame<'_>) -> Result<(), StoreError> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io(path, e)),
    };
    let mut at = 0u64;
    let mut head = [0u8; HEADER];
    let mut payload = Vec::new();
    loop {
        match file.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(()),
            Err(e) => return Err(io(path, e)),
        }
        let Some(h) = parse_header(&head) else {
            tracing::warn!(file = %path.display(), offset = at, "trail: not a block header; the rest of the file is skipped");
            return Ok(());
        };
        if want(&h) {
            payload.resize(h.len, 0);
            if file.read_exact(&mut payload).is_err() || crc32fast::hash(&payload) != h.crc {
                tracing::warn!(file = %path.display(), offset = at, "trail: block cut short or damaged; the rest of the file is skipped");
                return Ok(());
            }
            f(at, &h, Some(&payload))?;
        } else {
            file.seek(SeekFrom::Current(h.len as i64)).map_err(|e| io(path, e))?;
            f(at, &h, None)?;
        }
        at += (HEADER + h.len) as u64;
    }
}

/// Cut a file's torn tail (a block half written when a process died
/// without a checkpoint to restore), so that blocks appended after it stay
/// readable. Done once per file and process, before its first append.
fn repair(path: &Path) -> Result<(), StoreError> {
    let Ok(len) = std::fs::metadata(path).map(|m| m.len()) else { return Ok(()) };
    let mut good = 0u64;
    walk(path, &mut |_| true, &mut |at, h, _| {
        good = at + (HEADER + h.len) as u64;
        Ok(())
    })?;
    if good < len {
        tracing::warn!(file = %path.display(), kept = good, cut = len - good, "trail: a torn block at the end of the file was cut");
        let f = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| io(path, e))?;
        f.set_len(good).map_err(|e| io(path, e))?;
        f.sync_all().map_err(|e| io(path, e))?;
    }
    Ok(())
}

fn inflate(path: &Path, payload: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(payload.len() * 3);
    DeflateDecoder::new(payload)
        .take(MAX_INFLATED)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(path, &format!("block does not inflate: {e}")))?;
    Ok(out)
}

// ---- the store of day files ----

/// The trail's folder, written by one writer (the engine's store thread)
/// and read by anyone.
pub struct Segments {
    dir: PathBuf,
    /// Rows waiting for the next flush, by day.
    pending: Mutex<BTreeMap<i64, Vec<Access>>>,
    /// Day files whose tail this process has checked before appending.
    checked: Mutex<std::collections::HashSet<i64>>,
    /// Day files written since the last sync.
    unsynced: Mutex<std::collections::BTreeSet<i64>>,
}

impl Segments {
    pub fn open(dir: &Path) -> Result<Segments, StoreError> {
        crate::files::private_dir(dir)?;
        Ok(Segments {
            dir: dir.to_path_buf(),
            pending: Mutex::new(BTreeMap::new()),
            checked: Mutex::default(),
            unsynced: Mutex::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Day files, oldest first.
    fn days(&self) -> Result<Vec<(i64, PathBuf)>, StoreError> {
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(&self.dir, e)),
        };
        for e in rd {
            let e = e.map_err(|e| io(&self.dir, e))?;
            if let Some(day) = e.file_name().to_str().and_then(day_of_name) {
                out.push((day, e.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Queue rows for the next flush. A day that has gathered a full block
    /// is written at once (not yet synced), so that encoding keeps pace with
    /// ingest and a flush has only the remainder to write.
    pub fn append(&self, rows: Vec<Access>) -> Result<(), StoreError> {
        let full: Vec<(i64, Vec<Access>)> = {
            let mut p = self.pending.lock().unwrap_or_else(|e| e.into_inner());
            for r in rows {
                p.entry(day_of(r.ts)).or_default().push(r);
            }
            let days: Vec<i64> = p.iter().filter(|(_, v)| v.len() >= EAGER_ROWS).map(|(d, _)| *d).collect();
            days.into_iter().filter_map(|d| p.remove(&d).map(|v| (d, v))).collect()
        };
        for (day, rows) in full {
            self.write(day, &rows)?;
        }
        Ok(())
    }

    /// Append `rows` to their day's file as blocks (not synced).
    fn write(&self, day: i64, rows: &[Access]) -> Result<(), StoreError> {
        let path = self.dir.join(file_name(day));
        if self.checked.lock().unwrap_or_else(|e| e.into_inner()).insert(day) {
            repair(&path)?;
        }
        let mut f = crate::files::private_append(&path)?;
        let refs: Vec<&Access> = rows.iter().collect();
        for chunk in refs.chunks(BLOCK_ROWS) {
            f.write_all(&frame(chunk).map_err(|e| io(&path, e))?).map_err(|e| io(&path, e))?;
        }
        self.unsynced.lock().unwrap_or_else(|e| e.into_inner()).insert(day);
        Ok(())
    }

    /// Write the queued rows as blocks at the end of their day files and
    /// sync every file written since the last flush. Returns the rows
    /// written by this call.
    pub fn flush(&self) -> Result<u64, StoreError> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let mut n = 0;
        for (day, rows) in pending {
            self.write(day, &rows)?;
            n += rows.len() as u64;
        }
        let days = std::mem::take(&mut *self.unsynced.lock().unwrap_or_else(|e| e.into_inner()));
        for day in days {
            let path = self.dir.join(file_name(day));
            let f = std::fs::OpenOptions::new().append(true).open(&path).map_err(|e| io(&path, e))?;
            f.sync_data().map_err(|e| io(&path, e))?;
        }
        Ok(n)
    }

    /// Each day file's length, for the checkpoint.
    pub fn position(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut out = BTreeMap::new();
        for (_, path) in self.days()? {
            let len = std::fs::metadata(&path).map_err(|e| io(&path, e))?.len();
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                out.insert(name.to_string(), len);
            }
        }
        Ok(out)
    }

    /// Cut the files back to a checkpoint's position: what was appended
    /// after it is removed (the replay writes it again), and day files it
    /// did not know are deleted. Rows still queued are dropped.
    pub fn restore(&self, pos: &BTreeMap<String, u64>) -> Result<(), StoreError> {
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.unsynced.lock().unwrap_or_else(|e| e.into_inner()).clear();
        for (_, path) in self.days()? {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default().to_string();
            match pos.get(&name) {
                Some(&len) => {
                    let f = std::fs::OpenOptions::new().write(true).open(&path).map_err(|e| io(&path, e))?;
                    if f.metadata().map_err(|e| io(&path, e))?.len() > len {
                        f.set_len(len).map_err(|e| io(&path, e))?;
                        f.sync_all().map_err(|e| io(&path, e))?;
                    }
                }
                None => std::fs::remove_file(&path).map_err(|e| io(&path, e))?,
            }
        }
        Ok(())
    }

    /// Rows in scope, in time order. An empty scope selects nothing.
    pub fn accesses(&self, s: &Scope) -> Result<Vec<Access>, StoreError> {
        if s.accounts.is_empty() && s.sources.is_empty() {
            return Ok(Vec::new());
        }
        let filter = Filter { scope: s };
        let mut out = Vec::new();
        for (day, path) in self.days()? {
            if day < day_of(s.from_ms) || day > day_of(s.to_ms) {
                continue;
            }
            walk(&path, &mut |h| h.max_ts >= s.from_ms && h.min_ts <= s.to_ms, &mut |at, _, payload| {
                if let Some(p) = payload {
                    let raw = inflate(&path, p)?;
                    let rows = decode(&raw, Some(&filter))
                        .ok_or_else(|| corrupt(&path, &format!("block at {at} does not decode")))?;
                    out.extend(rows);
                }
                Ok(())
            })?;
        }
        out.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.id.cmp(&b.id)));
        out.dedup_by(|b, a| a.ts == b.ts && a.id == b.id);
        Ok(out)
    }

    /// The newest read of an account, if any (scans from the newest day).
    pub fn last_access(&self, account: &str) -> Result<Option<i64>, StoreError> {
        let scope = Scope { accounts: vec![account.to_string()], sources: vec![], from_ms: i64::MIN, to_ms: i64::MAX };
        for (day, _) in self.days()?.into_iter().rev() {
            let s = Scope { from_ms: day * DAY_MS, to_ms: day * DAY_MS + DAY_MS - 1, ..scope.clone() };
            if let Some(last) = self.accesses(&s)?.last() {
                return Ok(Some(last.ts));
            }
        }
        Ok(None)
    }

    /// Rows stored (from the block headers, nothing inflated).
    pub fn count(&self) -> Result<i64, StoreError> {
        let mut n = 0i64;
        for (_, path) in self.days()? {
            walk(&path, &mut |_| false, &mut |_, h, _| {
                n += i64::from(h.rows);
                Ok(())
            })?;
        }
        Ok(n)
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> Result<u64, StoreError> {
        self.days()?.iter().map(|(_, p)| std::fs::metadata(p).map(|m| m.len()).map_err(|e| io(p, e))).sum()
    }

    /// Delete the day files wholly older than `before_ms`; returns the rows
    /// they held.
    pub fn drop_before(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut n = 0u64;
        for (day, path) in self.days()? {
            if (day + 1) * DAY_MS <= before_ms {
                walk(&path, &mut |_| false, &mut |_, h, _| {
                    n += u64::from(h.rows);
                    Ok(())
                })?;
                std::fs::remove_file(&path).map_err(|e| io(&path, e))?;
            }
        }
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(ts: i64, account: &str, ip: &str, subjects: &[&str]) -> Access {
        Access {
            id: String::new(),
            ts,
            account: account.into(),
            source_ip: Some(ip.into()),
            user_agent: if ts % 2 == 0 { Some("Mozilla/5.0".into()) } else { None },
            kind: "read".into(),
            action: "beneficiary.view".into(),
            target: None,
            categories: vec!["identity".into(), "nir".into()],
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
            records: subjects.len() as u64,
            bytes: if ts % 3 == 0 { Some(ts as u64 % 5000) } else { None },
        }
    }

    fn pseudonym(n: u64) -> String {
        hex::encode(sha2_like(n))
    }

    /// 32 bytes that differ for each n (a stand-in for an HMAC).
    fn sha2_like(n: u64) -> [u8; 32] {
        let mut out = [0u8; 32];
        let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0xDEAD_BEEF;
        for chunk in out.chunks_mut(8) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            chunk.copy_from_slice(&x.to_le_bytes());
        }
        out
    }

    /// Property: any rows, encoded and decoded, come back as they went in
    /// (subjects cut to their first 128 bits), against a naive reference.
    #[test]
    fn blocks_round_trip() {
        let mut rng = 0x1234_5678_u64;
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        for _ in 0..50 {
            let n = (next() % 300) as usize;
            let rows: Vec<Access> = (0..n)
                .map(|i| {
                    let subs: Vec<String> = (0..next() % 3).map(|_| pseudonym(next())).collect();
                    let mut r = row(
                        (next() % 1_000_000) as i64 - 500_000,
                        &format!("acct{}", next() % 7),
                        &format!("10.0.0.{}", next() % 5),
                        &[],
                    );
                    r.subjects = subs;
                    r.target = (i % 5 == 0).then(|| "victim".into());
                    r.id = if i % 2 == 0 { format!("{:032x}", next()) } else { format!("odd-{i}") };
                    r.categories = (0..next() % 3).map(|k| format!("c{k}")).collect();
                    r.records = next() % 100_000;
                    r
                })
                .collect();
            let refs: Vec<&Access> = rows.iter().collect();
            let back = decode(&encode(&refs), None).unwrap();
            assert_eq!(back.len(), rows.len());
            for (a, b) in rows.iter().zip(&back) {
                let mut want = a.clone();
                want.id = hex::encode(id_bytes(&a.id));
                want.subjects = a.subjects.iter().map(|s| s[..2 * SUBJECT_BYTES].to_string()).collect();
                assert_eq!(&want, b);
            }
        }
    }

    /// Full blocks are written as rows arrive; the flush writes the rest and
    /// syncs; a restore cuts what was written after the checkpoint, eager
    /// blocks included.
    #[test]
    fn full_blocks_are_written_before_the_flush_and_cut_back_by_a_restore() {
        let dir = tempfile::tempdir().unwrap();
        let s = Segments::open(dir.path()).unwrap();
        s.append((0..10).map(|i| row(i, "a", "1.1.1.1", &[])).collect()).unwrap();
        s.flush().unwrap();
        let pos = s.position().unwrap();
        s.append((0..EAGER_ROWS as i64 + 5).map(|i| row(100 + i, "a", "1.1.1.1", &[])).collect()).unwrap();
        assert_eq!(s.count().unwrap(), 10 + EAGER_ROWS as i64 + 5, "written before any flush");
        s.restore(&pos).unwrap();
        assert_eq!(s.count().unwrap(), 10);
        assert_eq!(s.flush().unwrap(), 0, "nothing left queued after a restore");
    }

    #[test]
    fn corrupt_payloads_never_panic_nor_allocate_wildly() {
        let rows = [row(1, "a", "1.1.1.1", &[&pseudonym(1)]), row(2, "b", "2.2.2.2", &[])];
        let refs: Vec<&Access> = rows.iter().collect();
        let good = encode(&refs);
        for cut in 0..good.len() {
            let _ = decode(&good[..cut], None);
        }
        let mut x = 7u64;
        for _ in 0..2000 {
            let mut bad = good.clone();
            x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let i = (x >> 33) as usize % bad.len();
            bad[i] ^= (x >> 17) as u8 | 1;
            let _ = decode(&bad, None);
        }
        let _ = decode(&[0xff; 16], None);
    }

    #[test]
    fn files_are_written_read_by_scope_cut_back_and_dropped_by_day() {
        let dir = tempfile::tempdir().unwrap();
        let s = Segments::open(&dir.path().join("trail")).unwrap();
        let day = DAY_MS;
        s.append(vec![
            row(10, "adv1", "10.0.0.1", &[&pseudonym(1)]),
            row(20, "adv2", "203.0.113.9", &[&pseudonym(2)]),
            row(day + 5, "adv1", "203.0.113.9", &[&pseudonym(3), &pseudonym(4)]),
        ])
        .unwrap();
        assert_eq!(s.flush().unwrap(), 3);
        let pos = s.position().unwrap();
        assert_eq!(pos.len(), 2, "{pos:?}");
        assert_eq!(s.count().unwrap(), 3);
        let all = Scope { accounts: vec!["adv1".into()], sources: vec![], from_ms: 0, to_ms: 2 * day };
        let got = s.accesses(&all).unwrap();
        assert_eq!(got.iter().map(|r| r.ts).collect::<Vec<_>>(), [10, day + 5]);
        assert_eq!(got[1].subjects, [&pseudonym(3)[..32], &pseudonym(4)[..32]]);
        let by_source = Scope { accounts: vec![], sources: vec!["203.0.113.9".into()], from_ms: 0, to_ms: 2 * day };
        assert_eq!(s.accesses(&by_source).unwrap().len(), 2);
        let both = Scope { accounts: vec!["adv1".into()], ..by_source.clone() };
        assert_eq!(s.accesses(&both).unwrap().len(), 1);
        let window = Scope { from_ms: 15, to_ms: day, ..by_source.clone() };
        assert_eq!(s.accesses(&window).unwrap().len(), 1);
        assert!(s.accesses(&Scope { from_ms: 0, to_ms: 2 * day, ..Scope::default() }).unwrap().is_empty());
        assert_eq!(s.last_access("adv1").unwrap(), Some(day + 5));
        assert_eq!(s.last_access("nobody").unwrap(), None);

        // Appended after the checkpoint, then a crash: cut back, and a day
        // file the checkpoint did not know is removed.
        s.append(vec![row(30, "adv1", "10.0.0.1", &[]), row(3 * day, "adv3", "10.0.0.3", &[])]).unwrap();
        s.flush().unwrap();
        assert_eq!(s.count().unwrap(), 5);
        s.restore(&pos).unwrap();
        assert_eq!(s.count().unwrap(), 3);
        assert_eq!(s.position().unwrap(), pos);

        // A torn tail (a block half written) is skipped by readers.
        let first = dir.path().join("trail").join(file_name(0));
        let mut f = std::fs::OpenOptions::new().append(true).open(&first).unwrap();
        f.write_all(&frame(&[&row(40, "adv1", "10.0.0.1", &[])]).unwrap()[..20]).unwrap();
        assert_eq!(s.accesses(&all).unwrap().len(), 2);

        // The next process to append cuts the torn block first.
        let s = Segments::open(&dir.path().join("trail")).unwrap();
        // The same reads written twice (two replays of one file) are read once.
        let mut again = row(50, "adv1", "10.0.0.1", &[&pseudonym(9)]);
        again.id = format!("{:032x}", 77);
        s.append(vec![again.clone()]).unwrap();
        s.append(vec![again]).unwrap();
        s.flush().unwrap();
        let window = Scope { accounts: vec!["adv1".into()], sources: vec![], from_ms: 50, to_ms: 50 };
        assert_eq!(s.accesses(&window).unwrap().len(), 1);

        // Retention drops whole days.
        assert_eq!(s.drop_before(day + 1).unwrap(), 4);
        assert_eq!(s.count().unwrap(), 1);
        assert!(!first.exists());
    }
}
