//! The data-access trail of the embedded store, as day files of compressed
//! column blocks, instead of SQLite rows: one row per read is written at
//! ingest speed and kept in about 35 bytes, and an account's or a source's
//! reads over a month are found without reading the month.
//!
//! A file is a sequence of frames, each one block of rows of one UTC day:
//!
//! ```text
//! "VTB2" | payload length u32 | CRC-32 u32 | rows u32 | min ts i64 | max ts i64
//!        | min account key u64 | max account key u64 | source filter [256 bytes] | payload
//! ```
//!
//! (little-endian; the CRC covers the account keys, the filter and the
//! payload). An account's key is the XXH3-64 of its name; the source
//! filter is a 2,048-bit Bloom filter of the block's source addresses. A
//! reader skips a frame, without reading its payload, when its times miss
//! the window, when no wanted account's key is in its range, or when no
//! wanted source is in its filter. Frames of the first format (`"VTB1"`,
//! the same without the keys and the filter) are still read.
//!
//! The payload is a deflated column encoding of the rows: a dictionary of
//! the block's strings (accounts, sources, clients, kinds, actions,
//! targets, categories), then each column in turn: times as zigzag deltas,
//! dictionary ids and counts as varints, each subject as the first 16 bytes
//! of its pseudonym (128 bits: two of 37 million people share a prefix with
//! odds under 10^-23), and each row's id as 32 bits, for the readers'
//! de-duplication.
//!
//! Two files per day, at most:
//!
//! - `YYYY-MM-DD.trail` takes rows as they come, in blocks of up to 16,384
//!   rows in arrival order. **Appends** happen as blocks fill and at each
//!   flush (the engine's checkpoint), after which the files are synced;
//!   [`Segments::position`] (each file's length) goes into the checkpoint
//!   and [`Segments::restore`] cuts the files back to it after a crash, so
//!   the replay that follows appends every unacknowledged read once.
//! - `YYYY-MM-DD.sorted.trail` is the same rows **compacted** once the day
//!   is over (two hours after its end, in event time): rows sorted by
//!   account key, account and time, cut into blocks of 4,096, so that one
//!   account's day is one or two blocks. The sort holds at most about
//!   131,072 rows at a time: runs of that size are sorted first, then
//!   merged by ranges of account keys. It
//!   is written on a thread of its own from the synced part of the day
//!   file, then installed at a flush: the day file's later frames (late
//!   reads) are copied after it, it is synced and renamed into place, and
//!   the day file is deleted once a checkpoint that names the sorted file
//!   has been committed (the engine says so: [`Segments::committed`]; it
//!   may flush several times per checkpoint). Late reads of a compacted
//!   day are appended to the sorted file. A crash before that checkpoint
//!   leaves a sorted file the restore does not know, so it is deleted and
//!   the day file, cut back, is the day again.
//!
//! **Readers** (impact, the console) read the sorted file of a day where
//! there is one, else its day file; whole frames only; a frame cut short
//! by a crash, or whose CRC does not match, ends the read of that file,
//! with a warning. **Retention** deletes whole days.

use crate::StoreError;
use crate::trail::Scope;
use flate2::Compression;
use flate2::read::DeflateDecoder;
use flate2::write::DeflateEncoder;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicI64, Ordering};
use vigie_analytics::Access;
use xxhash_rust::xxh3::xxh3_64;

const MAGIC_V1: &[u8; 4] = b"VTB1";
const MAGIC: &[u8; 4] = b"VTB2";
/// The header's fixed part (both formats).
const HEAD: usize = 4 + 4 + 4 + 4 + 8 + 8;
const BLOOM_BYTES: usize = 256;
/// The second format's account keys and source filter.
const EXT: usize = 8 + 8 + BLOOM_BYTES;
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
/// Rows per block of a compacted day.
const SORTED_ROWS: usize = 4_096;
/// Rows sorted together when compacting (bounds its memory to tens of MB).
const RUN_ROWS: usize = 131_072;
/// How long after a day's end (in event time) it is compacted.
const GRACE_MS: i64 = 2 * 3_600_000;
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

fn date(day: i64) -> String {
    jiff::Timestamp::from_millisecond(day * DAY_MS)
        .map(|t| t.strftime("%Y-%m-%d").to_string())
        .unwrap_or_else(|_| format!("day{day}"))
}

/// The file that takes a day's rows as they come.
fn file_name(day: i64) -> String {
    format!("{}.trail", date(day))
}

/// The day's rows sorted by account, once the day is over.
fn sorted_name(day: i64) -> String {
    format!("{}.sorted.trail", date(day))
}

/// A sorted file being written (never read; removed at open).
fn tmp_name(day: i64) -> String {
    format!("{}.sorted.tmp", date(day))
}

/// A compaction's sorted runs (never read but by it; removed at open).
fn runs_name(day: i64) -> String {
    format!("{}.runs.tmp", date(day))
}

/// The day of a trail file's name, and whether it is the sorted one.
fn day_of_name(name: &str) -> Option<(i64, bool)> {
    let stem = name.strip_suffix(".trail")?;
    let (stem, sorted) = match stem.strip_suffix(".sorted") {
        Some(s) => (s, true),
        None => (stem, false),
    };
    if stem.len() != 10 {
        return None;
    }
    let ts: jiff::Timestamp = format!("{stem}T00:00:00Z").parse().ok()?;
    Some((day_of(ts.as_millisecond()), sorted))
}

/// An account's key: rows of a compacted day are sorted by it, and each
/// frame names the range of keys it holds.
fn account_key(account: &str) -> u64 {
    xxh3_64(account.as_bytes())
}

/// The three bits of a value in a frame's source filter.
fn bloom_bits(value: &str) -> [usize; 3] {
    let h = xxh3_64(value.as_bytes());
    let m = BLOOM_BYTES as u64 * 8 - 1;
    [(h & m) as usize, ((h >> 21) & m) as usize, ((h >> 42) & m) as usize]
}

fn bloom_has(bloom: &[u8], bits: &[usize; 3]) -> bool {
    bits.iter().all(|&b| bloom[b / 8] & (1 << (b % 8)) != 0)
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
    if let Some(h) = id.get(..2 * ID_BYTES)
        && hex::decode_to_slice(h, &mut out).is_ok()
    {
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
    // Pseudonyms are hex (decoded without an allocation: this runs for every
    // person read); anything else (never written by vigie) keeps its first
    // bytes, so that it still counts as one person.
    let hex_len = pseudonym.len().min(2 * SUBJECT_BYTES);
    if hex_len.is_multiple_of(2)
        && let Some(h) = pseudonym.get(..hex_len)
        && hex::decode_to_slice(h, &mut out[..hex_len / 2]).is_ok()
    {
        return out;
    }
    out = [0u8; SUBJECT_BYTES];
    let b = pseudonym.as_bytes();
    out[..b.len().min(SUBJECT_BYTES)].copy_from_slice(&b[..b.len().min(SUBJECT_BYTES)]);
    out
}

/// What the encoder needs of a row: the engine's [`Access`] rows, and the
/// rows of a decoded block (compaction), which borrow their strings from it.
trait Row<'a> {
    fn ts(&self) -> i64;
    fn id(&self) -> [u8; ID_BYTES];
    fn account(&self) -> &'a str;
    fn source(&self) -> Option<&'a str>;
    fn agent(&self) -> Option<&'a str>;
    fn kind(&self) -> &'a str;
    fn action(&self) -> &'a str;
    fn target(&self) -> Option<&'a str>;
    fn categories(&self) -> usize;
    fn each_category(&self, f: &mut dyn FnMut(&'a str));
    fn records(&self) -> u64;
    fn bytes(&self) -> Option<u64>;
    fn subjects(&self) -> usize;
    fn put_subjects(&self, out: &mut Vec<u8>);
}

impl<'a> Row<'a> for &'a Access {
    fn ts(&self) -> i64 {
        self.ts
    }
    fn id(&self) -> [u8; ID_BYTES] {
        id_bytes(&self.id)
    }
    fn account(&self) -> &'a str {
        &self.account
    }
    fn source(&self) -> Option<&'a str> {
        self.source_ip.as_deref()
    }
    fn agent(&self) -> Option<&'a str> {
        self.user_agent.as_deref()
    }
    fn kind(&self) -> &'a str {
        &self.kind
    }
    fn action(&self) -> &'a str {
        &self.action
    }
    fn target(&self) -> Option<&'a str> {
        self.target.as_deref()
    }
    fn categories(&self) -> usize {
        self.categories.len()
    }
    fn each_category(&self, f: &mut dyn FnMut(&'a str)) {
        let a: &'a Access = self;
        for c in &a.categories {
            f(c);
        }
    }
    fn records(&self) -> u64 {
        self.records
    }
    fn bytes(&self) -> Option<u64> {
        self.bytes
    }
    fn subjects(&self) -> usize {
        self.subjects.len()
    }
    fn put_subjects(&self, out: &mut Vec<u8>) {
        for s in &self.subjects {
            out.extend_from_slice(&subject_bytes(s));
        }
    }
}

/// A decoded row, borrowing its strings and subjects from the inflated
/// block; its categories are a range of a list kept beside the rows.
#[derive(Clone, Copy)]
struct View<'a> {
    ts: i64,
    id: [u8; ID_BYTES],
    account: &'a str,
    source: Option<&'a str>,
    agent: Option<&'a str>,
    kind: &'a str,
    action: &'a str,
    target: Option<&'a str>,
    cats: (u32, u32),
    records: u64,
    /// 0 for none, else bytes + 1.
    bytes: u64,
    subjects: &'a [u8],
}

impl<'a> View<'a> {
    fn to_access(self, cats: &[&'a str]) -> Access {
        let (from, n) = (self.cats.0 as usize, self.cats.1 as usize);
        Access {
            id: hex::encode(self.id),
            ts: self.ts,
            account: self.account.to_string(),
            source_ip: self.source.map(str::to_string),
            user_agent: self.agent.map(str::to_string),
            kind: self.kind.to_string(),
            action: self.action.to_string(),
            target: self.target.map(str::to_string),
            categories: cats[from..from + n].iter().map(|c| c.to_string()).collect(),
            subjects: self.subjects.chunks(SUBJECT_BYTES).map(hex::encode).collect(),
            records: self.records,
            bytes: self.bytes.checked_sub(1),
        }
    }
}

/// A decoded row with the list its categories are in, for the encoder.
struct Bound<'r, 'a> {
    v: &'r View<'a>,
    cats: &'r [&'a str],
}

impl<'a> Row<'a> for Bound<'_, 'a> {
    fn ts(&self) -> i64 {
        self.v.ts
    }
    fn id(&self) -> [u8; ID_BYTES] {
        self.v.id
    }
    fn account(&self) -> &'a str {
        self.v.account
    }
    fn source(&self) -> Option<&'a str> {
        self.v.source
    }
    fn agent(&self) -> Option<&'a str> {
        self.v.agent
    }
    fn kind(&self) -> &'a str {
        self.v.kind
    }
    fn action(&self) -> &'a str {
        self.v.action
    }
    fn target(&self) -> Option<&'a str> {
        self.v.target
    }
    fn categories(&self) -> usize {
        self.v.cats.1 as usize
    }
    fn each_category(&self, f: &mut dyn FnMut(&'a str)) {
        let (from, n) = (self.v.cats.0 as usize, self.v.cats.1 as usize);
        for c in &self.cats[from..from + n] {
            f(c);
        }
    }
    fn records(&self) -> u64 {
        self.v.records
    }
    fn bytes(&self) -> Option<u64> {
        self.v.bytes.checked_sub(1)
    }
    fn subjects(&self) -> usize {
        self.v.subjects.len() / SUBJECT_BYTES
    }
    fn put_subjects(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(self.v.subjects);
    }
}

/// The uncompressed column encoding of `rows`.
fn encode<'a, R: Row<'a>>(rows: &[R]) -> Vec<u8> {
    let mut dict = Dict::default();
    let mut cols = Vec::with_capacity(rows.len() * 40);
    let mut last = 0i64;
    for r in rows {
        put_varint(&mut cols, zigzag(r.ts().wrapping_sub(last)));
        last = r.ts();
    }
    for r in rows {
        cols.extend_from_slice(&r.id());
    }
    for r in rows {
        put_varint(&mut cols, dict.id(r.account()));
        put_varint(&mut cols, dict.opt(r.source()));
        put_varint(&mut cols, dict.opt(r.agent()));
        put_varint(&mut cols, dict.id(r.kind()));
        put_varint(&mut cols, dict.id(r.action()));
        put_varint(&mut cols, dict.opt(r.target()));
        put_varint(&mut cols, r.categories() as u64);
        r.each_category(&mut |c| put_varint(&mut cols, dict.id(c)));
        put_varint(&mut cols, r.records());
        put_varint(&mut cols, r.bytes().map_or(0, |b| b.saturating_add(1)));
        put_varint(&mut cols, r.subjects() as u64);
        r.put_subjects(&mut cols);
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

impl Scope {
    /// Whether a row is in this scope.
    fn admits(&self, ts: i64, account: &str, source: Option<&str>) -> bool {
        ts >= self.from_ms
            && ts <= self.to_ms
            && (self.accounts.is_empty() || self.accounts.iter().any(|a| a == account))
            && (self.sources.is_empty() || source.is_some_and(|s| self.sources.iter().any(|x| x == s)))
    }
}

/// Decode a block's rows in `scope` (all of them without one) into
/// `views`, their categories into `cats`. `None` when the block is damaged.
fn parse<'a>(buf: &'a [u8], scope: Option<&Scope>, views: &mut Vec<View<'a>>, cats: &mut Vec<&'a str>) -> Option<()> {
    let mut c = Cursor { buf, at: 0 };
    let rows = c.count()?;
    let n = c.count()?;
    // Grown as entries are read (each takes a byte at least), not sized
    // from a count a damaged block could make huge.
    let mut dict: Vec<&'a str> = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let len = c.count()?;
        dict.push(std::str::from_utf8(c.bytes(len)?).ok()?);
    }
    // A block whose dictionary names no wanted account (or no wanted
    // source) has no row to return.
    if let Some(s) = scope {
        let named = |want: &[String]| want.is_empty() || dict.iter().any(|d| want.iter().any(|w| w == d));
        if !named(&s.accounts) || !named(&s.sources) {
            return Some(());
        }
    }
    let word = |id: u64| dict.get(usize::try_from(id).ok()?).copied();
    let opt = |id: u64| if id == 0 { Some(None) } else { word(id - 1).map(Some) };
    let mut ts = Vec::with_capacity(rows.min(BLOCK_ROWS));
    let mut last = 0i64;
    for _ in 0..rows {
        last = last.wrapping_add(unzigzag(c.varint()?));
        ts.push(last);
    }
    let ids = c.bytes(rows.checked_mul(ID_BYTES)?)?;
    for (t, id) in ts.into_iter().zip(ids.chunks_exact(ID_BYTES)) {
        let account = word(c.varint()?)?;
        let source = opt(c.varint()?)?;
        let agent = opt(c.varint()?)?;
        let kind = word(c.varint()?)?;
        let action = word(c.varint()?)?;
        let target = opt(c.varint()?)?;
        let ncat = c.count()?;
        let from = cats.len();
        for _ in 0..ncat {
            cats.push(word(c.varint()?)?);
        }
        let records = c.varint()?;
        let bytes = c.varint()?;
        let nsub = c.count()?;
        let subjects = c.bytes(nsub.checked_mul(SUBJECT_BYTES)?)?;
        if scope.is_some_and(|s| !s.admits(t, account, source)) {
            cats.truncate(from);
            continue;
        }
        views.push(View {
            ts: t,
            id: id.try_into().ok()?,
            account,
            source,
            agent,
            kind,
            action,
            target,
            cats: (u32::try_from(from).ok()?, ncat as u32),
            records,
            bytes,
            subjects,
        });
    }
    Some(())
}

/// A block's rows in `scope` (all of them without one), as [`Access`] rows.
fn decode(buf: &[u8], scope: Option<&Scope>) -> Option<Vec<Access>> {
    let (mut views, mut cats) = (Vec::new(), Vec::new());
    parse(buf, scope, &mut views, &mut cats)?;
    Some(views.into_iter().map(|v| v.to_access(&cats)).collect())
}

// ---- frames ----

struct FrameHeader {
    /// The header's length (either format).
    head: usize,
    len: usize,
    crc: u32,
    rows: u32,
    min_ts: i64,
    max_ts: i64,
    /// The account keys, the source filter (the second format only).
    ext: Option<[u8; EXT]>,
}

impl FrameHeader {
    fn size(&self) -> u64 {
        (self.head + self.len) as u64
    }

    fn keys(&self) -> Option<(u64, u64)> {
        let e = self.ext.as_ref()?;
        let at = |i: usize| u64::from_le_bytes(e[i..i + 8].try_into().unwrap_or([0; 8]));
        Some((at(0), at(8)))
    }
}

/// A frame of `rows`, in the second format.
fn frame<'a, R: Row<'a>>(rows: &[R]) -> Result<Vec<u8>, std::io::Error> {
    let raw = encode(rows);
    let mut z = DeflateEncoder::new(Vec::with_capacity(raw.len() / 2), Compression::fast());
    z.write_all(&raw)?;
    let payload = z.finish()?;
    let (mut min, mut max) = (i64::MAX, i64::MIN);
    let (mut lo, mut hi) = (u64::MAX, u64::MIN);
    let mut ext = [0u8; EXT];
    let mut last: Option<(&str, Option<&str>)> = None;
    for r in rows {
        (min, max) = (min.min(r.ts()), max.max(r.ts()));
        // Rows of one account from one source come in runs; hash each
        // change only.
        if last != Some((r.account(), r.source())) {
            let k = account_key(r.account());
            (lo, hi) = (lo.min(k), hi.max(k));
            if let Some(s) = r.source() {
                for b in bloom_bits(s) {
                    ext[16 + b / 8] |= 1 << (b % 8);
                }
            }
            last = Some((r.account(), r.source()));
        }
    }
    ext[..8].copy_from_slice(&lo.to_le_bytes());
    ext[8..16].copy_from_slice(&hi.to_le_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(&ext);
    crc.update(&payload);
    let mut out = Vec::with_capacity(HEAD + EXT + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc.finalize().to_le_bytes());
    out.extend_from_slice(&(rows.len() as u32).to_le_bytes());
    out.extend_from_slice(&min.to_le_bytes());
    out.extend_from_slice(&max.to_le_bytes());
    out.extend_from_slice(&ext);
    out.extend_from_slice(&payload);
    Ok(out)
}

/// The fixed part of a header; the second format's extension follows.
fn parse_header(h: &[u8; HEAD]) -> Option<FrameHeader> {
    let v2 = match &h[..4] {
        m if m == MAGIC => true,
        m if m == MAGIC_V1 => false,
        _ => return None,
    };
    let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]);
    let i64_at = |i: usize| i64::from_le_bytes(h[i..i + 8].try_into().unwrap_or([0; 8]));
    let len = u32_at(4) as usize;
    (len <= MAX_PAYLOAD).then(|| FrameHeader {
        head: if v2 { HEAD + EXT } else { HEAD },
        len,
        crc: u32_at(8),
        rows: u32_at(12),
        min_ts: i64_at(16),
        max_ts: i64_at(24),
        ext: v2.then_some([0u8; EXT]),
    })
}

/// Called on each frame: its offset, header and payload (when wanted).
type OnFrame<'a> = dyn FnMut(u64, &FrameHeader, Option<&[u8]>) -> Result<(), StoreError> + 'a;

/// Walk a file's frames that end within its first `end` bytes:
/// `f(offset, header, payload if wanted)`. A frame cut short, or bytes
/// that are no frame, end the walk (the file's tail after a crash, before
/// the restore cuts it); a whole frame failing its CRC is skipped, with a
/// warning, and the walk goes on. `false` when the file does not exist.
fn walk(
    path: &Path,
    end: u64,
    want: &mut dyn FnMut(&FrameHeader) -> bool,
    f: &mut OnFrame<'_>,
) -> Result<bool, StoreError> {
    let mut file = match File::open(path) {
        // Room for a header and its extension: skipped payloads are not read.
        Ok(f) => BufReader::with_capacity(512, f),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(io(path, e)),
    };
    let mut at = 0u64;
    let mut head = [0u8; HEAD];
    let mut payload = Vec::new();
    let damaged = |at: u64, what: &str| {
        tracing::warn!(file = %path.display(), offset = at, "trail: {what}; the rest of the file is skipped");
        Ok(true)
    };
    loop {
        if at + HEAD as u64 > end {
            return Ok(true);
        }
        match file.read_exact(&mut head) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(true),
            Err(e) => return Err(io(path, e)),
        }
        let Some(mut h) = parse_header(&head) else { return damaged(at, "not a block header") };
        if at + h.size() > end {
            return Ok(true);
        }
        if let Some(ext) = h.ext.as_mut()
            && file.read_exact(ext).is_err()
        {
            return damaged(at, "block cut short");
        }
        if want(&h) {
            payload.resize(h.len, 0);
            if file.read_exact(&mut payload).is_err() {
                return damaged(at, "block cut short");
            }
            let mut crc = crc32fast::Hasher::new();
            if let Some(ext) = &h.ext {
                crc.update(ext);
            }
            crc.update(&payload);
            if crc.finalize() != h.crc {
                // A whole block whose bytes changed (the disk, a hand): it
                // is skipped and the blocks after it are still read.
                tracing::warn!(file = %path.display(), offset = at, "trail: block damaged (CRC); skipped");
                at += h.size();
                continue;
            }
            f(at, &h, Some(&payload))?;
        } else {
            file.seek_relative(h.len as i64).map_err(|e| io(path, e))?;
            f(at, &h, None)?;
        }
        at += h.size();
    }
}

/// Cut a file's torn tail (a block half written when a process died
/// without a checkpoint to restore), so that blocks appended after it stay
/// readable. Done once per file and process, before its first append.
fn repair(path: &Path) -> Result<(), StoreError> {
    let Ok(len) = std::fs::metadata(path).map(|m| m.len()) else { return Ok(()) };
    let good = valid_length(path, u64::MAX)?;
    if good < len {
        tracing::warn!(file = %path.display(), kept = good, cut = len - good, "trail: a torn block at the end of the file was cut");
        let f = std::fs::OpenOptions::new().write(true).open(path).map_err(|e| io(path, e))?;
        f.set_len(good).map_err(|e| io(path, e))?;
        f.sync_all().map_err(|e| io(path, e))?;
    }
    Ok(())
}

/// The length of a file's whole, sound frames within its first `end` bytes.
fn valid_length(path: &Path, end: u64) -> Result<u64, StoreError> {
    let mut good = 0u64;
    walk(path, end, &mut |_| true, &mut |at, h, _| {
        good = at + h.size();
        Ok(())
    })?;
    Ok(good)
}

fn inflate(path: &Path, payload: &[u8]) -> Result<Vec<u8>, StoreError> {
    let mut out = Vec::with_capacity(payload.len() * 3);
    DeflateDecoder::new(payload)
        .take(MAX_INFLATED)
        .read_to_end(&mut out)
        .map_err(|e| corrupt(path, &format!("block does not inflate: {e}")))?;
    Ok(out)
}

/// A reader's scope with its account keys and filter bits worked out once.
struct Filter<'a> {
    scope: &'a Scope,
    keys: Vec<u64>,
    bits: Vec<[usize; 3]>,
}

impl<'a> Filter<'a> {
    fn new(scope: &'a Scope) -> Filter<'a> {
        Filter {
            scope,
            keys: scope.accounts.iter().map(|a| account_key(a)).collect(),
            bits: scope.sources.iter().map(|s| bloom_bits(s)).collect(),
        }
    }

    /// Whether a frame may hold rows in scope (from its header alone).
    fn may_hold(&self, h: &FrameHeader) -> bool {
        if h.max_ts < self.scope.from_ms || h.min_ts > self.scope.to_ms {
            return false;
        }
        let Some(ext) = &h.ext else { return true };
        let (lo, hi) = h.keys().unwrap_or((0, u64::MAX));
        (self.keys.is_empty() || self.keys.iter().any(|k| (lo..=hi).contains(k)))
            && (self.bits.is_empty() || self.bits.iter().any(|b| bloom_has(&ext[16..], b)))
    }
}

// ---- compaction ----

/// Write the rows of the first `upto` bytes of a day file to `tmp`,
/// sorted by account key then time, in blocks of [`SORTED_ROWS`]; synced.
/// Memory stays bounded whatever the day's size: runs of [`RUN_ROWS`] rows
/// are sorted first (into `runs`), then merged by ranges of account keys,
/// each range read from the runs' blocks that overlap it. Returns the rows
/// written, which are the rows read.
fn compact_file(raw: &Path, upto: u64, runs: &Path, tmp: &Path, run_rows: usize) -> Result<u64, StoreError> {
    // A day file with a damaged block is left as it is (its readers skip
    // that block): compacting it would make the loss permanent.
    let mut next = 0u64;
    let mut gap = false;
    walk(raw, upto, &mut |_| true, &mut |at, h, _| {
        gap |= at != next;
        next = at + h.size();
        Ok(())
    })?;
    if gap || next != upto {
        return Err(corrupt(raw, "a block of the day is damaged; the day is not compacted"));
    }
    let rows_in = {
        let mut out = BufWriter::with_capacity(1 << 20, crate::files::private_file(runs)?);
        let mut rows = 0u64;
        let mut batch: Vec<Vec<u8>> = Vec::new();
        let mut batch_rows = 0usize;
        walk(raw, upto, &mut |_| true, &mut |_, h, payload| {
            batch.push(inflate(raw, payload.unwrap_or_default())?);
            batch_rows += h.rows as usize;
            if batch_rows >= run_rows {
                rows += write_sorted(raw, &std::mem::take(&mut batch), None, &mut out)?;
                batch_rows = 0;
            }
            Ok(())
        })?;
        rows += write_sorted(raw, &batch, None, &mut out)?;
        out.flush().map_err(|e| io(runs, e))?;
        rows
    };
    let mut out = BufWriter::with_capacity(1 << 20, crate::files::private_file(tmp)?);
    let parts = rows_in.div_ceil(run_rows as u64).max(1);
    let width = (u64::MAX / parts).saturating_add(1);
    let mut rows_out = 0u64;
    for p in 0..parts {
        let lo = p.saturating_mul(width);
        let hi = if p + 1 == parts { u64::MAX } else { lo + (width - 1) };
        let mut batch: Vec<Vec<u8>> = Vec::new();
        let mut batch_rows = 0usize;
        walk(runs, u64::MAX, &mut |h| h.keys().is_none_or(|(a, b)| a <= hi && b >= lo), &mut |_, h, payload| {
            if let Some(p) = payload {
                batch.push(inflate(runs, p)?);
                batch_rows += h.rows as usize;
                // One account with a huge day: its rows are written in
                // several sorted pieces rather than held at once.
                if batch_rows >= 4 * run_rows {
                    rows_out += write_sorted(runs, &std::mem::take(&mut batch), Some((lo, hi)), &mut out)?;
                    batch_rows = 0;
                }
            }
            Ok(())
        })?;
        rows_out += write_sorted(runs, &batch, Some((lo, hi)), &mut out)?;
    }
    let _ = std::fs::remove_file(runs);
    if rows_in != rows_out {
        return Err(corrupt(raw, &format!("compaction read {rows_in} rows but wrote {rows_out}")));
    }
    let f = out.into_inner().map_err(|e| io(tmp, e.into_error()))?;
    f.sync_all().map_err(|e| io(tmp, e))?;
    Ok(rows_out)
}

/// The rows of inflated blocks whose account key is in `keys` (all without
/// it), sorted by account key, account and time, written as blocks of
/// [`SORTED_ROWS`]; returns the rows written.
fn write_sorted(
    path: &Path,
    blocks: &[Vec<u8>],
    keys: Option<(u64, u64)>,
    out: &mut impl Write,
) -> Result<u64, StoreError> {
    let (mut views, mut cats) = (Vec::new(), Vec::new());
    for b in blocks {
        parse(b, None, &mut views, &mut cats).ok_or_else(|| corrupt(path, "a block does not decode"))?;
    }
    let mut keyed: Vec<(u64, View<'_>)> = views.into_iter().map(|v| (account_key(v.account), v)).collect();
    if let Some((lo, hi)) = keys {
        keyed.retain(|(k, _)| (lo..=hi).contains(k));
    }
    keyed.sort_unstable_by(|(ka, a), (kb, b)| {
        ka.cmp(kb).then(a.account.cmp(b.account)).then(a.ts.cmp(&b.ts)).then(a.id.cmp(&b.id))
    });
    for chunk in keyed.chunks(SORTED_ROWS) {
        let rows: Vec<Bound<'_, '_>> = chunk.iter().map(|(_, v)| Bound { v, cats: &cats }).collect();
        out.write_all(&frame(&rows).map_err(|e| io(path, e))?).map_err(|e| io(path, e))?;
    }
    Ok(keyed.len() as u64)
}

/// A compaction running on its own thread.
struct Job {
    day: i64,
    /// The day file's length it compacts.
    upto: u64,
    handle: std::thread::JoinHandle<Result<u64, StoreError>>,
}

// ---- the store of day files ----

/// The trail's folder, written by one writer (the engine's store thread)
/// and read by anyone.
pub struct Segments {
    dir: PathBuf,
    /// Rows waiting for the next flush, by day.
    pending: Mutex<BTreeMap<i64, Vec<Access>>>,
    /// Files whose tail this process has checked before appending.
    checked: Mutex<HashSet<PathBuf>>,
    /// Files written since the last sync.
    unsynced: Mutex<BTreeSet<PathBuf>>,
    /// The newest read time appended by this process: compaction's clock.
    newest: AtomicI64,
    /// The compaction running, if any.
    job: Mutex<Option<Job>>,
    /// Day files replaced by their sorted file (named beside them), deleted
    /// once a committed checkpoint names the sorted file ([`committed`]):
    /// until then a restart may go back to a checkpoint that knows only the
    /// day file.
    ///
    /// [`committed`]: Segments::committed
    superseded: Mutex<Vec<(PathBuf, String)>>,
    /// Days whose compaction failed: left as written by this process.
    failed: Mutex<HashSet<i64>>,
}

/// A day's files.
#[derive(Default)]
struct Day {
    raw: Option<PathBuf>,
    sorted: Option<PathBuf>,
}

impl Segments {
    /// Open the folder, to read it or to be its writer. Opening changes no
    /// file: readers (`vigie impact`, the console of another process) open
    /// it while the engine writes, and a compaction of the engine's may be
    /// writing its temporary files.
    pub fn open(dir: &Path) -> Result<Segments, StoreError> {
        crate::files::private_dir(dir)?;
        Ok(Segments {
            dir: dir.to_path_buf(),
            pending: Mutex::new(BTreeMap::new()),
            checked: Mutex::default(),
            unsynced: Mutex::default(),
            newest: AtomicI64::new(i64::MIN),
            job: Mutex::default(),
            superseded: Mutex::default(),
            failed: Mutex::default(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Every trail file: (day, sorted, path), oldest day first.
    fn files(&self) -> Result<Vec<(i64, bool, PathBuf)>, StoreError> {
        let mut out = Vec::new();
        let rd = match std::fs::read_dir(&self.dir) {
            Ok(r) => r,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
            Err(e) => return Err(io(&self.dir, e)),
        };
        for e in rd {
            let e = e.map_err(|e| io(&self.dir, e))?;
            if let Some((day, sorted)) = e.file_name().to_str().and_then(day_of_name) {
                out.push((day, sorted, e.path()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Each day's files, oldest first.
    fn days(&self) -> Result<BTreeMap<i64, Day>, StoreError> {
        let mut out: BTreeMap<i64, Day> = BTreeMap::new();
        for (day, sorted, path) in self.files()? {
            let d = out.entry(day).or_default();
            if sorted {
                d.sorted = Some(path);
            } else {
                d.raw = Some(path);
            }
        }
        Ok(out)
    }

    /// Walk the file that holds a day's rows: its sorted file if it has one,
    /// else its day file (or the sorted file that replaced it meanwhile).
    fn walk_day(
        &self,
        day: i64,
        d: &Day,
        want: &mut dyn FnMut(&FrameHeader) -> bool,
        f: &mut OnFrame<'_>,
    ) -> Result<(), StoreError> {
        if let Some(p) = &d.sorted {
            walk(p, u64::MAX, want, f)?;
        } else if let Some(p) = &d.raw
            && !walk(p, u64::MAX, want, f)?
        {
            walk(&self.dir.join(sorted_name(day)), u64::MAX, want, f)?;
        }
        Ok(())
    }

    /// Queue rows for the next flush. A day that has gathered a full block
    /// is written at once (not yet synced), so that encoding keeps pace with
    /// ingest and a flush has only the remainder to write.
    pub fn append(&self, rows: Vec<Access>) -> Result<(), StoreError> {
        // Compaction's clock: the newest read, but never ahead of the wall
        // clock by more than a day (an event dated 2099 must not make today
        // look over and compact it while it is being written).
        let ceiling = crate::now_ms().saturating_add(DAY_MS);
        if let Some(newest) = rows.iter().map(|r| r.ts.min(ceiling)).max() {
            self.newest.fetch_max(newest, Ordering::Relaxed);
        }
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

    /// Append `rows` to their day's file as blocks (not synced): the sorted
    /// file once the day has one.
    fn write(&self, day: i64, rows: &[Access]) -> Result<(), StoreError> {
        let sorted = self.dir.join(sorted_name(day));
        let path = if sorted.exists() { sorted } else { self.dir.join(file_name(day)) };
        if self.checked.lock().unwrap_or_else(|e| e.into_inner()).insert(path.clone()) {
            repair(&path)?;
        }
        let mut f = crate::files::private_append(&path)?;
        let refs: Vec<&Access> = rows.iter().collect();
        for chunk in refs.chunks(BLOCK_ROWS) {
            f.write_all(&frame(chunk).map_err(|e| io(&path, e))?).map_err(|e| io(&path, e))?;
        }
        self.unsynced.lock().unwrap_or_else(|e| e.into_inner()).insert(path);
        Ok(())
    }

    /// Write the queued rows as blocks at the end of their day files and
    /// sync every file written since the last flush; then move compaction
    /// on (see the module's notes). Returns the rows written by this call.
    pub fn flush(&self) -> Result<u64, StoreError> {
        let pending = std::mem::take(&mut *self.pending.lock().unwrap_or_else(|e| e.into_inner()));
        let mut n = 0;
        for (day, rows) in pending {
            self.write(day, &rows)?;
            n += rows.len() as u64;
        }
        let paths = std::mem::take(&mut *self.unsynced.lock().unwrap_or_else(|e| e.into_inner()));
        for path in paths {
            let f = std::fs::OpenOptions::new().append(true).open(&path).map_err(|e| io(&path, e))?;
            f.sync_data().map_err(|e| io(&path, e))?;
        }
        self.compaction(false)?;
        Ok(n)
    }

    /// A checkpoint recording `pos` (a [`position`](Segments::position)
    /// taken after a flush) is committed: the day files whose sorted file it
    /// names are no longer needed by any restart, and are deleted. The
    /// engine may flush several times per checkpoint, so deleting at a flush
    /// would not do: a crash before the checkpoint commits would go back to
    /// one that names the deleted day file only.
    pub fn committed(&self, pos: &BTreeMap<String, u64>) -> Result<(), StoreError> {
        self.delete_superseded(|sorted| pos.contains_key(sorted))
    }

    /// Delete the superseded day files whose sorted file `named` accepts.
    fn delete_superseded(&self, named: impl Fn(&str) -> bool) -> Result<(), StoreError> {
        let mut sup = self.superseded.lock().unwrap_or_else(|e| e.into_inner());
        let mut keep = Vec::new();
        let mut failed = None;
        for (raw, sorted) in std::mem::take(&mut *sup) {
            if !named(&sorted) {
                keep.push((raw, sorted));
                continue;
            }
            match std::fs::remove_file(&raw) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    failed.get_or_insert(io(&raw, e));
                    keep.push((raw, sorted));
                }
            }
        }
        *sup = keep;
        failed.map_or(Ok(()), Err)
    }

    /// One step of compaction, at a flush: install a finished compaction,
    /// start the next. `wait`: wait for a running one (tools without
    /// checkpoints).
    fn compaction(&self, wait: bool) -> Result<(), StoreError> {
        let mut job = self.job.lock().unwrap_or_else(|e| e.into_inner());
        if job.as_ref().is_some_and(|j| wait || j.handle.is_finished())
            && let Some(j) = job.take()
        {
            let tmp = self.dir.join(tmp_name(j.day));
            let done = match j.handle.join() {
                Ok(r) => r,
                Err(_) => Err(corrupt(&tmp, "the compaction thread panicked")),
            };
            match done {
                Ok(rows) => {
                    self.install(j.day, j.upto)?;
                    tracing::debug!(day = %date(j.day), rows, "trail: day compacted");
                }
                Err(e) => {
                    tracing::warn!(day = %date(j.day), "trail: compaction failed, the day stays as written: {e}");
                    let _ = std::fs::remove_file(&tmp);
                    let _ = std::fs::remove_file(self.dir.join(runs_name(j.day)));
                    self.failed.lock().unwrap_or_else(|e| e.into_inner()).insert(j.day);
                }
            }
        }
        if job.is_some() {
            return Ok(());
        }
        // The oldest day that is over and not compacted yet.
        let newest = self.newest.load(Ordering::Relaxed);
        let queued: Vec<i64> = self.pending.lock().unwrap_or_else(|e| e.into_inner()).keys().copied().collect();
        let failed = self.failed.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let next = self.days()?.into_iter().find(|(day, d)| {
            d.raw.is_some()
                && d.sorted.is_none()
                && (day + 1) * DAY_MS + GRACE_MS <= newest
                && !queued.contains(day)
                && !failed.contains(day)
        });
        let Some((day, d)) = next else { return Ok(()) };
        let Some(raw) = d.raw else { return Ok(()) };
        if self.checked.lock().unwrap_or_else(|e| e.into_inner()).insert(raw.clone()) {
            repair(&raw)?;
        }
        let upto = std::fs::metadata(&raw).map_err(|e| io(&raw, e))?.len();
        let (runs, tmp) = (self.dir.join(runs_name(day)), self.dir.join(tmp_name(day)));
        let handle = std::thread::Builder::new()
            .name("trail-compact".into())
            .spawn(move || compact_file(&raw, upto, &runs, &tmp, RUN_ROWS))
            .map_err(|e| io(&self.dir, e))?;
        *job = Some(Job { day, upto, handle });
        Ok(())
    }

    /// Put a compacted day in place: the day file's frames written after
    /// `upto` are copied after the sorted ones, the file is synced and
    /// renamed, and the day file is deleted once a committed checkpoint
    /// names the sorted file.
    fn install(&self, day: i64, upto: u64) -> Result<(), StoreError> {
        let (raw, tmp, sorted) =
            (self.dir.join(file_name(day)), self.dir.join(tmp_name(day)), self.dir.join(sorted_name(day)));
        let mut src = match File::open(&raw) {
            Ok(f) => f,
            // Retention dropped the day meanwhile: nothing to install.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                let _ = std::fs::remove_file(&tmp);
                return Ok(());
            }
            Err(e) => return Err(io(&raw, e)),
        };
        src.seek(std::io::SeekFrom::Start(upto)).map_err(|e| io(&raw, e))?;
        let mut dst = crate::files::private_append(&tmp)?;
        std::io::copy(&mut src, &mut dst).map_err(|e| io(&tmp, e))?;
        dst.sync_all().map_err(|e| io(&tmp, e))?;
        std::fs::rename(&tmp, &sorted).map_err(|e| io(&sorted, e))?;
        File::open(&self.dir).and_then(|d| d.sync_all()).map_err(|e| io(&self.dir, e))?;
        self.checked.lock().unwrap_or_else(|e| e.into_inner()).insert(sorted);
        self.superseded.lock().unwrap_or_else(|e| e.into_inner()).push((raw, sorted_name(day)));
        Ok(())
    }

    /// Compact every day that is over now, waiting for each, and delete
    /// the day files at once: for tools that take no checkpoint (the
    /// benchmark, tests); the engine compacts at its flushes instead.
    pub fn compact_days_over(&self) -> Result<(), StoreError> {
        loop {
            self.compaction(true)?;
            if self.job.lock().unwrap_or_else(|e| e.into_inner()).is_none() {
                // Nothing left to start: no checkpoint to wait for, delete
                // what the installs replaced.
                return self.delete_superseded(|_| true);
            }
        }
    }

    /// Each file's length, for the checkpoint.
    pub fn position(&self) -> Result<BTreeMap<String, u64>, StoreError> {
        let mut out = BTreeMap::new();
        for (_, _, path) in self.files()? {
            let len = match std::fs::metadata(&path) {
                Ok(m) => m.len(),
                // Dropped by retention since it was listed.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(&path, e)),
            };
            if let Some(name) = path.file_name().and_then(|n| n.to_str()) {
                out.insert(name.to_string(), len);
            }
        }
        Ok(out)
    }

    /// Cut the files back to a checkpoint's position: what was appended
    /// after it is removed (the replay writes it again), and files it did
    /// not know are deleted (a sorted file installed after it among them).
    /// A day file whose sorted file the checkpoint names is deleted.
    /// Rows still queued are dropped; a running compaction is abandoned.
    pub fn restore(&self, pos: &BTreeMap<String, u64>) -> Result<(), StoreError> {
        if let Some(j) = self.job.lock().unwrap_or_else(|e| e.into_inner()).take() {
            let _ = j.handle.join();
            let _ = std::fs::remove_file(self.dir.join(tmp_name(j.day)));
            let _ = std::fs::remove_file(self.dir.join(runs_name(j.day)));
        }
        self.pending.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.unsynced.lock().unwrap_or_else(|e| e.into_inner()).clear();
        self.superseded.lock().unwrap_or_else(|e| e.into_inner()).clear();
        // Compactions a writer did not finish (this one's was abandoned
        // above; a compaction truncates its files when it starts anyway).
        if let Ok(rd) = std::fs::read_dir(&self.dir) {
            for e in rd.flatten() {
                if e.file_name().to_str().is_some_and(|n| n.ends_with(".tmp")) {
                    let _ = std::fs::remove_file(e.path());
                }
            }
        }
        for (_, _, path) in self.files()? {
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
        for (_, d) in self.days()? {
            if let (Some(raw), Some(_)) = (d.raw, d.sorted) {
                std::fs::remove_file(&raw).map_err(|e| io(&raw, e))?;
            }
        }
        Ok(())
    }

    /// Rows in scope, in time order. An empty scope selects nothing.
    pub fn accesses(&self, s: &Scope) -> Result<Vec<Access>, StoreError> {
        if s.accounts.is_empty() && s.sources.is_empty() {
            return Ok(Vec::new());
        }
        let filter = Filter::new(s);
        let mut out = Vec::new();
        for (day, d) in self.days()? {
            if day < day_of(s.from_ms) || day > day_of(s.to_ms) {
                continue;
            }
            let path = d.sorted.as_ref().or(d.raw.as_ref()).cloned().unwrap_or_default();
            self.walk_day(day, &d, &mut |h| filter.may_hold(h), &mut |at, _, payload| {
                if let Some(p) = payload {
                    let raw = inflate(&path, p)?;
                    let rows = decode(&raw, Some(s))
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
        for day in self.days()?.into_keys().rev() {
            let s = Scope { from_ms: day * DAY_MS, to_ms: day * DAY_MS + DAY_MS - 1, ..scope.clone() };
            if let Some(last) = self.accesses(&s)?.last() {
                return Ok(Some(last.ts));
            }
        }
        Ok(None)
    }

    /// Rows stored (from the block headers, nothing inflated: a damaged
    /// block's rows, which readers skip, are still counted).
    pub fn count(&self) -> Result<i64, StoreError> {
        let mut n = 0i64;
        for (day, d) in self.days()? {
            self.walk_day(day, &d, &mut |_| false, &mut |_, h, _| {
                n += i64::from(h.rows);
                Ok(())
            })?;
        }
        Ok(n)
    }

    /// Bytes on disk.
    pub fn bytes(&self) -> Result<u64, StoreError> {
        self.files()?.iter().map(|(_, _, p)| std::fs::metadata(p).map(|m| m.len()).map_err(|e| io(p, e))).sum()
    }

    /// Delete the days wholly older than `before_ms`; returns the rows
    /// they held.
    pub fn drop_before(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut n = 0u64;
        for (day, d) in self.days()? {
            if (day + 1) * DAY_MS <= before_ms {
                self.walk_day(day, &d, &mut |_| false, &mut |_, h, _| {
                    n += u64::from(h.rows);
                    Ok(())
                })?;
                for path in d.raw.iter().chain(d.sorted.iter()) {
                    match std::fs::remove_file(path) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(e) => return Err(io(path, e)),
                    }
                }
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

    /// A block damaged in the middle of a day file (a flipped byte) costs
    /// its own rows only: the blocks after it are read, nothing cuts them,
    /// and the day is not compacted (which would make the loss permanent).
    #[test]
    fn a_damaged_block_is_skipped_and_its_day_is_not_compacted() {
        let dir = tempfile::tempdir().unwrap();
        let s = Segments::open(dir.path()).unwrap();
        // Three blocks of day 0 (one per flush), then a read of day 1.
        for b in 0..3i64 {
            s.append((0..10).map(|i| row(b * 1_000 + i, &format!("adv{i}"), "10.1.1.1", &[])).collect()).unwrap();
            s.flush().unwrap();
        }
        s.append(vec![row(DAY_MS + GRACE_MS + 1, "adv1", "10.9.9.9", &[])]).unwrap();
        s.flush().unwrap();
        let n = 31usize;
        wait_for_compaction(&s);
        // Damage the second block of the day file, before its compaction
        // is installed (a restart abandons it and starts again).
        let raw = dir.path().join(file_name(0));
        let mut offsets = Vec::new();
        walk(&raw, u64::MAX, &mut |_| false, &mut |at, h, _| {
            offsets.push((at, h.size(), h.rows));
            Ok(())
        })
        .unwrap();
        assert!(offsets.len() >= 3, "{offsets:?}");
        let (at, size, lost) = offsets[1];
        let mut bytes = std::fs::read(&raw).unwrap();
        bytes[(at + size / 2) as usize] ^= 0x55;
        std::fs::write(&raw, &bytes).unwrap();
        let pos = s.position().unwrap();
        s.restore(&pos).unwrap();
        let s = Segments::open(dir.path()).unwrap();
        assert_eq!(lost, 10);
        let all = Scope {
            accounts: (0..10).map(|a| format!("adv{a}")).collect(),
            sources: vec![],
            from_ms: 0,
            to_ms: 2 * DAY_MS,
        };
        let read = s.accesses(&all).unwrap();
        assert_eq!(read.len(), n - lost as usize, "only the damaged block's rows are missing");
        assert!(read.iter().any(|r| r.ts >= 2_000 && r.ts < DAY_MS), "the block after the damaged one is read");
        // The next writer's repair keeps the blocks after it.
        s.append(vec![row(DAY_MS + GRACE_MS + 9, "adv1", "10.9.9.9", &[])]).unwrap();
        s.flush().unwrap();
        wait_for_compaction(&s);
        s.flush().unwrap();
        assert_eq!(std::fs::read(&raw).unwrap()[..bytes.len()], bytes[..], "nothing was cut");
        assert!(!dir.path().join(sorted_name(0)).exists(), "a damaged day is not compacted");
        assert_eq!(s.accesses(&all).unwrap().len(), n + 1 - lost as usize);
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
    /// A day of reads of many accounts, and a read the next day that puts
    /// it past its grace period.
    fn busy_day(s: &Segments) -> usize {
        let mut rows = Vec::new();
        for i in 0..30_000i64 {
            let acct = (i * 7919) % 300;
            let mut r =
                row(i * 2_000 + 7, &format!("adv{acct}"), &format!("10.1.{}.{}", acct, i % 3), &[&pseudonym(i as u64)]);
            r.id = format!("{:032x}", i + 1);
            rows.push(r);
        }
        rows.push(row(DAY_MS + GRACE_MS + 1, "adv1", "10.9.9.9", &[]));
        let n = rows.len();
        s.append(rows).unwrap();
        n
    }

    fn wait_for_compaction(s: &Segments) {
        while s.job.lock().unwrap().as_ref().is_some_and(|j| !j.handle.is_finished()) {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
    }

    fn frames_that_may_hold(path: &Path, scope: &Scope) -> (usize, usize) {
        let f = Filter::new(scope);
        let (mut may, mut all) = (0, 0);
        walk(
            path,
            u64::MAX,
            &mut |h| {
                all += 1;
                if f.may_hold(h) {
                    may += 1;
                }
                false
            },
            &mut |_, _, _| Ok(()),
        )
        .unwrap();
        (may, all)
    }

    /// A day that is over is sorted by account on its own thread, installed
    /// at a flush, and its day file deleted once a committed checkpoint
    /// names the sorted file (not at a later flush: the engine flushes
    /// several times per checkpoint); every read stays,
    /// and a reader then inflates one or two blocks of the day per account
    /// or source instead of all of them.
    #[test]
    fn a_day_that_is_over_is_compacted_by_account_and_reads_the_same() {
        let dir = tempfile::tempdir().unwrap();
        let s = Segments::open(dir.path()).unwrap();
        let n = busy_day(&s);
        s.flush().unwrap();
        let (raw, sorted) = (dir.path().join(file_name(0)), dir.path().join(sorted_name(0)));
        let one = Scope { accounts: vec!["adv42".into()], sources: vec![], from_ms: 0, to_ms: DAY_MS };
        let before_one = s.accesses(&one).unwrap();
        assert_eq!(before_one.len(), 100);
        let ip = before_one[0].source_ip.clone().unwrap();
        let src = Scope { accounts: vec![], sources: vec![ip.clone()], from_ms: 0, to_ms: DAY_MS };
        let before_src = s.accesses(&src).unwrap();
        assert!(!before_src.is_empty());
        let (may, all) = frames_that_may_hold(&raw, &one);
        assert_eq!(may, all, "arrival order: every block may hold any account");

        wait_for_compaction(&s);
        assert!(!sorted.exists(), "nothing is installed between flushes");
        s.flush().unwrap();
        assert!(sorted.exists() && raw.exists(), "installed; the day file stays until the next checkpoint");
        assert_eq!(s.position().unwrap().len(), 3);
        assert_eq!(s.accesses(&one).unwrap(), before_one);
        let installed = s.position().unwrap();
        // More flushes before the checkpoint commits keep the day file: a
        // crash now goes back to the checkpoint before, which names it.
        s.flush().unwrap();
        s.flush().unwrap();
        assert!(raw.exists(), "no checkpoint names the sorted file yet");
        // A committed checkpoint that does not name the sorted file (taken
        // before the install) deletes nothing either.
        let mut older = installed.clone();
        older.remove(&sorted_name(0));
        s.committed(&older).unwrap();
        assert!(raw.exists());
        s.committed(&installed).unwrap();
        assert!(!raw.exists(), "the day file is deleted once a committed checkpoint names the sorted file");
        assert_eq!(s.accesses(&one).unwrap(), before_one);
        assert_eq!(s.accesses(&src).unwrap(), before_src);
        assert_eq!(s.count().unwrap(), n as i64);
        let (may, all) = frames_that_may_hold(&sorted, &one);
        assert!(all >= 30_000 / SORTED_ROWS && may <= 2, "{may} of {all} blocks");
        let (may, all) = frames_that_may_hold(&sorted, &src);
        assert!(may <= 2, "{may} of {all} blocks");

        // A late read of the compacted day goes to its sorted file.
        let mut late = row(5, "adv42", &ip, &[&pseudonym(99_999)]);
        late.id = format!("{:032x}", 99_999);
        s.append(vec![late]).unwrap();
        s.flush().unwrap();
        assert!(!raw.exists());
        assert_eq!(s.accesses(&one).unwrap().len(), 101);
        assert_eq!(s.count().unwrap(), n as i64 + 1);
    }

    /// A crash after a compaction is installed but before the checkpoint
    /// that names it: the restore deletes the sorted file and the day file
    /// is the day again. After that checkpoint: the day file goes.
    #[test]
    fn a_restore_keeps_the_files_its_checkpoint_names() {
        let dir = tempfile::tempdir().unwrap();
        let s = Segments::open(dir.path()).unwrap();
        let n = busy_day(&s) as i64;
        s.flush().unwrap();
        let before = s.position().unwrap();
        let all = Scope {
            accounts: (0..300).map(|a| format!("adv{a}")).collect(),
            sources: vec![],
            from_ms: 0,
            to_ms: DAY_MS,
        };
        let rows = s.accesses(&all).unwrap();
        wait_for_compaction(&s);
        s.flush().unwrap();
        let after = s.position().unwrap();
        assert_ne!(before, after);
        // The engine flushes more than once per checkpoint (one writer, two
        // store sinks): flushes alone never delete what `before` names.
        s.flush().unwrap();
        s.flush().unwrap();

        s.restore(&before).unwrap();
        assert!(!dir.path().join(sorted_name(0)).exists());
        assert_eq!(s.position().unwrap(), before);
        assert_eq!(s.accesses(&all).unwrap(), rows);

        // Compacted again and installed; the checkpoint names both files;
        // a restore to it keeps the sorted one only.
        let s = Segments::open(dir.path()).unwrap();
        s.append(vec![row(DAY_MS + GRACE_MS + 2, "adv2", "10.9.9.9", &[])]).unwrap();
        s.flush().unwrap();
        wait_for_compaction(&s);
        s.flush().unwrap();
        let both = s.position().unwrap();
        assert!(both.contains_key(&sorted_name(0)) && both.contains_key(&file_name(0)), "{both:?}");
        s.restore(&both).unwrap();
        assert!(!dir.path().join(file_name(0)).exists());
        assert_eq!(s.accesses(&all).unwrap(), rows);
        assert_eq!(s.count().unwrap(), n + 1);
    }

    /// Readers open the folder while the engine writes it (`vigie impact`,
    /// another process's console): opening it must not touch the files of
    /// a compaction running in the writer.
    #[test]
    fn a_reader_opening_the_folder_leaves_a_running_compaction_alone() {
        let dir = tempfile::tempdir().unwrap();
        let s = Segments::open(dir.path()).unwrap();
        let n = busy_day(&s) as i64;
        s.flush().unwrap();
        assert!(s.job.lock().unwrap().is_some(), "the flush started the day's compaction");
        // Sorted, not installed yet: its file is a temporary one.
        wait_for_compaction(&s);
        let reader = Segments::open(dir.path()).unwrap();
        assert_eq!(reader.count().unwrap(), n);
        s.flush().unwrap();
        assert!(dir.path().join(sorted_name(0)).exists());
        let pos = s.position().unwrap();
        s.committed(&pos).unwrap();
        assert!(!dir.path().join(file_name(0)).exists());
        assert_eq!(s.count().unwrap(), n);
        assert_eq!(reader.count().unwrap(), n);
    }

    /// Property: however the day is cut into runs, the sorted file holds the
    /// same rows, globally in account-key order, in blocks whose key ranges
    /// only touch.
    #[test]
    fn a_compaction_merges_its_runs_into_one_order() {
        let dir = tempfile::tempdir().unwrap();
        let s = Segments::open(dir.path()).unwrap();
        busy_day(&s);
        s.flush().unwrap();
        // The flush started the day's compaction: let it end first, as it
        // writes the files this test's compactions write.
        wait_for_compaction(&s);
        let raw = dir.path().join(file_name(0));
        let len = std::fs::metadata(&raw).unwrap().len();
        let (runs, tmp) = (dir.path().join(runs_name(0)), dir.path().join(tmp_name(0)));
        let all = |p: &Path| {
            let mut rows = Vec::new();
            let mut ranges = Vec::new();
            walk(
                p,
                u64::MAX,
                &mut |h| {
                    ranges.push(h.keys().unwrap());
                    true
                },
                &mut |_, _, payload| {
                    rows.extend(decode(&inflate(p, payload.unwrap()).unwrap(), None).unwrap());
                    Ok(())
                },
            )
            .unwrap();
            (rows, ranges)
        };
        let (mut want, _) = all(&raw);
        want.sort_by(|a, b| (a.ts, &a.id).cmp(&(b.ts, &b.id)));
        for run_rows in [1_000, 7_777, 1 << 20] {
            assert_eq!(compact_file(&raw, len, &runs, &tmp, run_rows).unwrap(), want.len() as u64);
            assert!(!runs.exists());
            let (got, ranges) = all(&tmp);
            let keys: Vec<u64> = got.iter().map(|r| account_key(&r.account)).collect();
            assert!(keys.is_sorted(), "run_rows {run_rows}");
            assert!(ranges.windows(2).all(|w| w[0].1 <= w[1].0), "run_rows {run_rows}");
            let mut got = got;
            got.sort_by(|a, b| (a.ts, &a.id).cmp(&(b.ts, &b.id)));
            assert_eq!(got, want, "run_rows {run_rows}");
        }
    }

    /// Files written in the first format (no account keys, no filter) are
    /// still read.
    #[test]
    fn blocks_of_the_first_format_are_still_read() {
        let dir = tempfile::tempdir().unwrap();
        let rows = [row(10, "adv1", "10.0.0.1", &[&pseudonym(1)]), row(20, "adv2", "10.0.0.2", &[])];
        let refs: Vec<&Access> = rows.iter().collect();
        let mut z = DeflateEncoder::new(Vec::new(), Compression::fast());
        z.write_all(&encode(&refs)).unwrap();
        let payload = z.finish().unwrap();
        let mut v1 = Vec::new();
        v1.extend_from_slice(MAGIC_V1);
        v1.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        v1.extend_from_slice(&crc32fast::hash(&payload).to_le_bytes());
        v1.extend_from_slice(&2u32.to_le_bytes());
        v1.extend_from_slice(&10i64.to_le_bytes());
        v1.extend_from_slice(&20i64.to_le_bytes());
        v1.extend_from_slice(&payload);
        std::fs::write(dir.path().join(file_name(0)), &v1).unwrap();
        let s = Segments::open(dir.path()).unwrap();
        s.append(vec![row(30, "adv1", "10.0.0.1", &[])]).unwrap();
        s.flush().unwrap();
        let one = Scope { accounts: vec!["adv1".into()], sources: vec![], from_ms: 0, to_ms: 100 };
        assert_eq!(s.accesses(&one).unwrap().iter().map(|r| r.ts).collect::<Vec<_>>(), [10, 30]);
        assert_eq!(s.count().unwrap(), 3);
    }
}
