//! Reading input files: format sniffing, decompression, and per-record errors.

use crate::error::{DecodeError, Place};
use crate::limits::{Limits, MAX_JSON_DEPTH, check_json_depth};
use evtx::{EvtxParser, ParserSettings};
use flate2::read::MultiGzDecoder;
use sonic_rs::Value;
use std::fs::File;
use std::io::{BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use thiserror::Error;

/// One decoded event and where it came from.
#[derive(Debug)]
pub struct Record {
    pub value: Value,
    /// 1-based line (JSON lines), element index (JSON arrays) or EVTX record id.
    pub location: u64,
}

/// A file that could not be read at all.
#[derive(Debug, Error)]
pub enum InputError {
    #[error("{path}: cannot read: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("{path}: not an EVTX file: {message}")]
    Evtx { path: String, message: String },
    #[error("{path}: no such file or directory")]
    Missing { path: String },
}

/// What reading one file produced.
#[derive(Debug, Default, Clone, Copy)]
pub struct FileStats {
    pub records: u64,
    pub errors: u64,
    pub bytes: u64,
}

const EVTX_MAGIC: &[u8] = b"ElfFile\0";
const GZIP_MAGIC: &[u8] = &[0x1f, 0x8b];

/// Expand the given paths into input files: directories are walked
/// recursively (following no symlinks), keeping files whose names end in
/// .evtx, .json, .jsonl, .ndjson, .log or .gz; files named directly are
/// always kept. Results are sorted so that runs are reproducible.
pub fn discover(paths: &[PathBuf]) -> Result<Vec<PathBuf>, InputError> {
    const WANTED: [&str; 6] = [".evtx", ".json", ".jsonl", ".ndjson", ".log", ".gz"];
    discover_with(paths, &|name| WANTED.iter().any(|e| name.ends_with(e)))
}

/// [`discover`] with the caller's choice of file names (given lowercased)
/// inside directories; used for rule files as well as inputs.
pub fn discover_with(paths: &[PathBuf], wanted: &dyn Fn(&str) -> bool) -> Result<Vec<PathBuf>, InputError> {
    let mut out = Vec::new();
    for p in paths {
        let meta = std::fs::metadata(p).map_err(|e| input_error(p, e))?;
        if meta.is_dir() {
            let mut found = Vec::new();
            for entry in walkdir::WalkDir::new(p) {
                let entry = entry.map_err(|e| InputError::Io {
                    path: e.path().map_or_else(|| p.display().to_string(), |x| x.display().to_string()),
                    source: e.into_io_error().unwrap_or_else(|| std::io::Error::other("directory loop")),
                })?;
                if entry.file_type().is_file() && wanted(&entry.file_name().to_string_lossy().to_lowercase()) {
                    found.push(entry.into_path());
                }
            }
            found.sort();
            out.extend(found);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// Read one file, calling `on_record` for each event and `on_error` for each
/// record that could not be decoded. `evtx_threads` is the number of threads
/// the EVTX parser may use for this file.
pub fn read_file(
    path: &Path,
    evtx_threads: usize,
    on_record: &mut dyn FnMut(Record),
    on_error: &mut dyn FnMut(DecodeError),
) -> Result<FileStats, InputError> {
    read_file_with(path, evtx_threads, &Limits::default(), &mut |_, _| false, on_record, on_error)
}

/// Offered each line of JSON-lines text (and its line number) before it is
/// decoded; returns true when it took the line as a record, which is then
/// not decoded. A hunt matches lines straight from their text this way, and
/// leaves the lines it does not take (errors included) to the decoder.
pub type LineHook<'a> = dyn FnMut(&[u8], u64) -> bool + 'a;

/// [`read_file`] with the caller's [`Limits`], offering JSON lines to
/// `on_line` first.
pub fn read_file_with(
    path: &Path,
    evtx_threads: usize,
    limits: &Limits,
    on_line: &mut LineHook<'_>,
    on_record: &mut dyn FnMut(Record),
    on_error: &mut dyn FnMut(DecodeError),
) -> Result<FileStats, InputError> {
    let name = path.display().to_string();
    let io = |source| InputError::Io { path: name.clone(), source };
    let evtx_err = |e: evtx::err::EvtxError| InputError::Evtx { path: name.clone(), message: e.to_string() };
    let mut file = open(path)?;
    let bytes = file.metadata().map_err(io)?.len();
    let mut head = [0u8; 8];
    let n = read_up_to(&mut file, &mut head).map_err(io)?;
    let head = &head[..n];
    // One handle serves both the sniffing and the reading.
    file.seek(SeekFrom::Start(0)).map_err(io)?;
    let (records, errors) = counted(&name, on_line, on_record, on_error, &mut |line, count, err| {
        if head.starts_with(EVTX_MAGIC) {
            let parser = EvtxParser::from_read_seek(file.try_clone().map_err(io)?).map_err(evtx_err)?;
            read_evtx(parser, evtx_threads, 0, line, count, err);
            check_evtx_length(bytes, err);
        } else if head.starts_with(GZIP_MAGIC) {
            // Decompressed as a stream, never more than the cap: a small
            // file of zeros can expand to gigabytes.
            let mut gz = Capped::new(MultiGzDecoder::new(&file), limits.max_expanded_bytes);
            let mut r = BufReader::with_capacity(1 << 20, &mut gz);
            if r.fill_buf().map_err(io)?.starts_with(EVTX_MAGIC) {
                // The EVTX parser seeks: a gzipped EVTX file is held in
                // memory, up to the cap.
                let mut data = Vec::new();
                r.read_to_end(&mut data).map_err(io)?;
                drop(r);
                gz.report(err);
                check_evtx_length(data.len() as u64, err);
                read_evtx(EvtxParser::from_buffer(data).map_err(evtx_err)?, evtx_threads, 0, line, count, err);
            } else {
                read_json(r, limits, line, count, err).map_err(io)?;
                gz.report(err);
            }
        } else {
            read_json(BufReader::with_capacity(1 << 20, &file), limits, line, count, err).map_err(io)?;
        }
        Ok(())
    })?;
    Ok(FileStats { records, errors, bytes })
}

/// Open an input, telling a missing file from other failures.
fn open(path: &Path) -> Result<File, InputError> {
    File::open(path).map_err(|e| input_error(path, e))
}

fn input_error(path: &Path, e: std::io::Error) -> InputError {
    match e.kind() {
        std::io::ErrorKind::NotFound => InputError::Missing { path: path.display().to_string() },
        _ => InputError::Io { path: path.display().to_string(), source: e },
    }
}

/// A decoder: given where to send records and errors (placed, but not yet
/// named after the file).
type Decoder<'a> =
    dyn FnMut(&mut LineHook<'_>, &mut dyn FnMut(Record), &mut dyn FnMut(DecodeError)) -> Result<(), InputError> + 'a;

/// Run a decoder, counting the records and errors it reports and naming the
/// file in each error. Returns (records, errors).
fn counted(
    name: &str,
    on_line: &mut LineHook<'_>,
    on_record: &mut dyn FnMut(Record),
    on_error: &mut dyn FnMut(DecodeError),
    decode: &mut Decoder<'_>,
) -> Result<(u64, u64), InputError> {
    let records = std::cell::Cell::new(0u64);
    let mut errors = 0u64;
    decode(
        &mut |text, location| {
            let taken = on_line(text, location);
            records.set(records.get() + taken as u64);
            taken
        },
        &mut |r| {
            records.set(records.get() + 1);
            on_record(r)
        },
        &mut |e: DecodeError| {
            errors += 1;
            on_error(DecodeError { input: name.to_string(), ..e })
        },
    )?;
    Ok((records.get(), errors))
}

/// A part of a JSON-lines file that can be read on its own: it starts at the
/// beginning of a line (`first_line` lines precede it) and ends after one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Part {
    pub start: u64,
    pub end: u64,
    /// Lines before the part (JSON lines), or chunks before it (EVTX).
    pub first_line: u64,
    pub kind: PartKind,
}

/// What a [`Part`] holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PartKind {
    /// Whole lines of a JSON-lines file.
    JsonLines,
    /// A run of whole 64 KiB chunks of an EVTX file. Each chunk carries its
    /// own string and template tables, so it decodes without the others.
    EvtxChunks,
}

/// Files smaller than this are never split.
const MIN_SPLIT_BYTES: u64 = 16 << 20;

/// Split a large plain JSON-lines file into about `parts` pieces at line
/// boundaries, so that one big export is matched on every core. `None` when
/// the file is not worth or not safe to split: small, compressed, EVTX, a
/// JSON array, or a first line that is not one whole JSON document (a
/// pretty-printed file, whose documents could straddle a cut).
pub fn split_json_lines(path: &Path, parts: usize) -> Result<Option<Vec<Part>>, InputError> {
    let name = path.display().to_string();
    let io = |source| InputError::Io { path: name.clone(), source };
    let mut f = open(path)?;
    let len = f.metadata().map_err(io)?.len();
    if parts < 2 || len < MIN_SPLIT_BYTES {
        return Ok(None);
    }
    let mut first = Vec::new();
    BufReader::new(&mut f).take(1 << 20).read_until(b'\n', &mut first).map_err(io)?;
    let t = trim(&first);
    if t.first() != Some(&b'{')
        || check_json_depth(t, MAX_JSON_DEPTH).is_err()
        || sonic_rs::from_slice::<Value>(t).is_err()
    {
        return Ok(None);
    }
    // Cut points: the byte after the first newline at or past each even share.
    let mut cuts = vec![0u64];
    let mut buf = vec![0u8; 1 << 16];
    for k in 1..parts as u64 {
        let target = len * k / parts as u64;
        if target <= *cuts.last().expect("non-empty") {
            continue;
        }
        f.seek(SeekFrom::Start(target)).map_err(io)?;
        let n = read_up_to(&mut f, &mut buf).map_err(io)?;
        match memchr::memchr(b'\n', &buf[..n]) {
            Some(i) if target + (i as u64) + 1 < len => cuts.push(target + i as u64 + 1),
            _ => break,
        }
    }
    cuts.push(len);
    cuts.dedup();
    // Line numbers: count the newlines before each cut.
    f.seek(SeekFrom::Start(0)).map_err(io)?;
    let mut out = Vec::with_capacity(cuts.len() - 1);
    let (mut pos, mut lines) = (0u64, 0u64);
    let mut reader = BufReader::with_capacity(1 << 20, f);
    for w in cuts.windows(2) {
        while pos < w[0] {
            let chunk = reader.fill_buf().map_err(io)?;
            if chunk.is_empty() {
                break;
            }
            let take = chunk.len().min((w[0] - pos) as usize);
            lines += memchr::memchr_iter(b'\n', &chunk[..take]).count() as u64;
            reader.consume(take);
            pos += take as u64;
        }
        out.push(Part { start: w[0], end: w[1], first_line: lines, kind: PartKind::JsonLines });
    }
    Ok(Some(out))
}

/// Split a large file into about `parts` pieces that can be read on their
/// own, so that one big file is matched on every core: a JSON-lines file at
/// line boundaries ([`split_json_lines`]), an EVTX file at chunk boundaries.
/// `None` when the file is not worth or not safe to split.
pub fn split_file(path: &Path, parts: usize) -> Result<Option<Vec<Part>>, InputError> {
    let name = path.display().to_string();
    let io = |source| InputError::Io { path: name.clone(), source };
    let mut f = open(path)?;
    let mut head = [0u8; 8];
    let n = read_up_to(&mut f, &mut head).map_err(io)?;
    if !head[..n].starts_with(EVTX_MAGIC) {
        return split_json_lines(path, parts);
    }
    let len = f.metadata().map_err(io)?.len();
    if parts < 2 || len < MIN_SPLIT_BYTES {
        return Ok(None);
    }
    // A file whose header the parser refuses is read whole, so that it is
    // reported once, not once per part.
    f.seek(SeekFrom::Start(0)).map_err(io)?;
    if EvtxParser::from_read_seek(f).is_err() {
        return Ok(None);
    }
    let chunks = (len - EVTX_HEADER) / EVTX_CHUNK;
    let parts = (parts as u64).min(chunks);
    let at = |k: u64| EVTX_HEADER + (chunks * k / parts) * EVTX_CHUNK;
    Ok(Some(
        (0..parts)
            .map(|k| Part {
                start: at(k),
                // The last part also holds a torn tail, so that it is reported.
                end: if k + 1 == parts { len } else { at(k + 1) },
                first_line: chunks * k / parts,
                kind: PartKind::EvtxChunks,
            })
            .collect(),
    ))
}

/// An EVTX file seen as its header followed by one run of its chunks: the
/// parser reads it as a whole file with fewer chunks. Reads go to the file
/// by offset, so several windows share nothing but the file.
struct ChunkWindow {
    file: File,
    header: [u8; EVTX_HEADER as usize],
    start: u64,
    len: u64,
    pos: u64,
}

impl ChunkWindow {
    fn new(file: File, start: u64, end: u64) -> std::io::Result<ChunkWindow> {
        use std::os::unix::fs::FileExt;
        let mut header = [0u8; EVTX_HEADER as usize];
        file.read_exact_at(&mut header, 0)?;
        Ok(ChunkWindow { file, header, start, len: EVTX_HEADER + (end - start), pos: 0 })
    }
}

impl Read for ChunkWindow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use std::os::unix::fs::FileExt;
        if self.pos >= self.len {
            return Ok(0);
        }
        let want = buf.len().min((self.len - self.pos) as usize);
        let n = if self.pos < EVTX_HEADER {
            let from = &self.header[self.pos as usize..];
            let n = want.min(from.len());
            buf[..n].copy_from_slice(&from[..n]);
            n
        } else {
            self.file.read_at(&mut buf[..want], self.start + (self.pos - EVTX_HEADER))?
        };
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ChunkWindow {
    fn seek(&mut self, to: SeekFrom) -> std::io::Result<u64> {
        let target = match to {
            SeekFrom::Start(p) => Some(p),
            SeekFrom::End(d) => self.len.checked_add_signed(d),
            SeekFrom::Current(d) => self.pos.checked_add_signed(d),
        };
        let target =
            target.ok_or_else(|| std::io::Error::new(std::io::ErrorKind::InvalidInput, "seek before the start"))?;
        self.pos = target;
        Ok(target)
    }
}

/// Read one part of a file (see [`split_file`]).
pub fn read_part(
    path: &Path,
    part: Part,
    on_record: &mut dyn FnMut(Record),
    on_error: &mut dyn FnMut(DecodeError),
) -> Result<FileStats, InputError> {
    read_part_with(path, part, &Limits::default(), &mut |_, _| false, on_record, on_error)
}

/// [`read_part`] with the caller's [`Limits`], offering each line to
/// `on_line` first (see [`LineHook`]).
pub fn read_part_with(
    path: &Path,
    part: Part,
    limits: &Limits,
    on_line: &mut LineHook<'_>,
    on_record: &mut dyn FnMut(Record),
    on_error: &mut dyn FnMut(DecodeError),
) -> Result<FileStats, InputError> {
    let name = path.display().to_string();
    let io = |source| InputError::Io { path: name.clone(), source };
    let mut f = open(path)?;
    if part.kind == PartKind::EvtxChunks {
        let whole = f.metadata().map_err(io)?.len();
        let mut window = Some(ChunkWindow::new(f, part.start, part.end).map_err(io)?);
        let (records, errors) = counted(&name, on_line, on_record, on_error, &mut |line, count, err| {
            let window = window.take().expect("a part is read once");
            let parser = EvtxParser::from_read_seek(window)
                .map_err(|e| InputError::Evtx { path: name.clone(), message: e.to_string() })?;
            read_evtx(parser, 1, part.first_line, line, count, err);
            if part.end == whole {
                check_evtx_length(whole, err);
            }
            Ok(())
        })?;
        return Ok(FileStats { records, errors, bytes: part.end - part.start });
    }
    f.seek(SeekFrom::Start(part.start)).map_err(io)?;
    let mut reader = Some(BufReader::with_capacity(1 << 20, f.take(part.end - part.start)));
    let (records, errors) = counted(&name, on_line, on_record, on_error, &mut |line, count, err| {
        let r = reader.take().expect("a part is read once");
        read_lines(r, part.first_line, limits, line, count, err).map_err(io)
    })?;
    Ok(FileStats { records, errors, bytes: part.end - part.start })
}

/// Decode JSON (lines, array or one document) from memory; for fuzzing and
/// for inputs that do not come from files.
pub fn read_json_bytes(data: &[u8], on_record: &mut dyn FnMut(Record), on_error: &mut dyn FnMut(DecodeError)) {
    // Reading from memory cannot fail with an I/O error.
    let _ = read_json(Cursor::new(data), &Limits::default(), &mut |_, _| false, on_record, on_error);
}

/// Decode an EVTX file held in memory.
pub fn read_evtx_bytes(
    data: Vec<u8>,
    on_record: &mut dyn FnMut(Record),
    on_error: &mut dyn FnMut(DecodeError),
) -> Result<(), String> {
    check_evtx_length(data.len() as u64, on_error);
    let parser = EvtxParser::from_buffer(data).map_err(|e| e.to_string())?;
    read_evtx(parser, 1, 0, &mut |_, _| false, on_record, on_error);
    Ok(())
}

fn read_up_to(r: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match r.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Each record is rendered to JSON text by the `evtx` crate (on `threads`
/// threads, chunk by chunk) and offered to `on_line` first, as a JSON line
/// is: a caller that matches straight from the text never builds a tree for
/// the records that match nothing. A record `on_line` does not take is
/// decoded into a tree for `on_record`. `first_chunk` is the number of the
/// parser's first chunk in the whole file (not 0 when reading a part).
fn read_evtx<R: Read + std::io::Seek>(
    parser: EvtxParser<R>,
    threads: usize,
    first_chunk: u64,
    on_line: &mut LineHook<'_>,
    on_record: &mut dyn FnMut(Record),
    on_error: &mut dyn FnMut(DecodeError),
) {
    let settings = ParserSettings::new().num_threads(threads.max(1)).indent(false);
    let mut parser = parser.with_configuration(settings);
    for rec in parser.records_json_bytes() {
        match rec {
            Ok(r) if on_line(&r.data, r.event_record_id) => {}
            Ok(r) => match check_json_depth(&r.data, MAX_JSON_DEPTH)
                .map_err(|e| e.to_string())
                .and_then(|()| sonic_rs::from_slice::<Value>(&r.data).map_err(|e| crate::json_error(&e)))
            {
                Ok(value) => on_record(Record { value, location: r.event_record_id }),
                Err(e) => {
                    on_error(evtx_error(Place::Record(r.event_record_id), format!("invalid JSON rendering: {e}")))
                }
            },
            Err(e) => {
                if let evtx::err::EvtxError::FailedToParseChunk { chunk_id, source } = &e {
                    let chunk = first_chunk + chunk_id;
                    let place = Place::Chunk { chunk, byte: EVTX_HEADER + chunk * EVTX_CHUNK };
                    on_error(evtx_error(place, format!("corrupt chunk, its records are skipped: {source}")));
                    continue;
                }
                on_error(evtx_error(Place::Unknown, e.to_string()))
            }
        }
    }
}

const EVTX_HEADER: u64 = 4096;
const EVTX_CHUNK: u64 = 65536;

fn evtx_error(place: Place, message: String) -> DecodeError {
    DecodeError { place, ..DecodeError::new("evtx", "", message) }
}

fn json_error(place: Place, message: String) -> DecodeError {
    DecodeError { place, ..DecodeError::new("json", "", message) }
}

/// An EVTX file is a 4 KiB header and whole 64 KiB chunks; bytes after the
/// last whole chunk are a chunk cut short (a copy interrupted, a disk full),
/// whose records cannot be read. Say so instead of silently reading nothing.
fn check_evtx_length(len: u64, on_error: &mut dyn FnMut(DecodeError)) {
    if len > EVTX_HEADER {
        let tail = (len - EVTX_HEADER) % EVTX_CHUNK;
        if tail != 0 {
            let chunk = (len - EVTX_HEADER) / EVTX_CHUNK;
            on_error(evtx_error(
                Place::Chunk { chunk, byte: EVTX_HEADER + chunk * EVTX_CHUNK },
                format!("file ends {tail} bytes into a chunk: the file is truncated and that chunk's records are lost"),
            ));
        }
    }
}

/// JSON lines, a JSON array, or one (possibly pretty-printed) JSON document.
fn read_json<R: BufRead>(
    mut r: R,
    limits: &Limits,
    on_line: &mut LineHook<'_>,
    on_record: &mut dyn FnMut(Record),
    on_error: &mut dyn FnMut(DecodeError),
) -> std::io::Result<()> {
    let first = loop {
        let buf = r.fill_buf()?;
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(i) => break Some(buf[i]),
            None if buf.is_empty() => break None,
            None => {
                let n = buf.len();
                r.consume(n)
            }
        }
    };
    match first {
        None => Ok(()),
        Some(b'[') => {
            let mut all = Vec::new();
            r.read_to_end(&mut all)?;
            // The array itself is one level more than its events.
            let parsed = check_json_depth(&all, MAX_JSON_DEPTH + 1)
                .map_err(|e| e.to_string())
                .and_then(|()| sonic_rs::from_slice::<Vec<Value>>(&all).map_err(|e| crate::json_error(&e)));
            match parsed {
                Ok(items) => {
                    for (i, value) in items.into_iter().enumerate() {
                        on_record(Record { value, location: i as u64 + 1 });
                    }
                }
                Err(e) => on_error(json_error(Place::Array, e)),
            }
            Ok(())
        }
        Some(_) => read_lines(r, 0, limits, on_line, on_record, on_error),
    }
}

/// Call `f` with every line of `r`, without its `\n`, and a last line
/// with no `\n` after it. Lines are found with memchr's vectorised search
/// and handed out straight from the reader's buffer (only a line that
/// straddles two fills of the buffer is copied): `read_until` searched
/// byte-wise and copied every line, which cost a retro-hunt about as much
/// as matching a tenth of its events (docs/performance.md). Stops at the
/// first error `f` returns. Lines are not limited in length: readers of
/// outside data use [`for_each_line_max`].
pub fn for_each_line<R: BufRead, E: From<std::io::Error>>(
    r: R,
    mut f: impl FnMut(&[u8]) -> Result<(), E>,
) -> Result<(), E> {
    for_each_line_max(r, usize::MAX, |line| match line {
        Line::Text(t) => f(t),
        Line::TooLong(_) => Ok(()),
    })
}

/// One line handed out by [`for_each_line_max`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    /// A line's bytes, without its `\n`.
    Text(&'a [u8]),
    /// A line longer than the limit, skipped without being kept in memory:
    /// its length in bytes (without its `\n`).
    TooLong(u64),
}

/// [`for_each_line`], with lines longer than `max` bytes skipped: `f` gets
/// [`Line::TooLong`] for each instead of its text, and at most `max` bytes
/// of a line (plus the reader's buffer) are ever held.
pub fn for_each_line_max<R: BufRead, E: From<std::io::Error>>(
    mut r: R,
    max: usize,
    mut f: impl FnMut(Line<'_>) -> Result<(), E>,
) -> Result<(), E> {
    let mut carry: Vec<u8> = Vec::new();
    // The length of an over-long line being skipped, if one is.
    let mut skipping: Option<u64> = None;
    loop {
        let buf = r.fill_buf()?;
        if buf.is_empty() {
            return match skipping {
                Some(n) => f(Line::TooLong(n)),
                None if carry.is_empty() => Ok(()),
                None => f(Line::Text(&carry)),
            };
        }
        let mut start = 0;
        while let Some(k) = memchr::memchr(b'\n', &buf[start..]) {
            let line = &buf[start..start + k];
            if let Some(n) = skipping.take() {
                f(Line::TooLong(n + k as u64))?;
            } else if carry.len() + line.len() > max {
                f(Line::TooLong((carry.len() + line.len()) as u64))?;
                carry.clear();
            } else if carry.is_empty() {
                f(Line::Text(line))?;
            } else {
                carry.extend_from_slice(line);
                f(Line::Text(&carry))?;
                carry.clear();
            }
            start += k + 1;
        }
        let rest = &buf[start..];
        match &mut skipping {
            Some(n) => *n += rest.len() as u64,
            None if carry.len() + rest.len() > max => {
                skipping = Some((carry.len() + rest.len()) as u64);
                carry = Vec::new();
            }
            None => carry.extend_from_slice(rest),
        }
        let n = buf.len();
        r.consume(n);
    }
}

/// Tracks how deeply a JSON text read line by line nests, minding strings,
/// so that a document spread over lines is parsed once, when it closes.
#[derive(Default)]
struct Nesting {
    depth: usize,
    in_string: bool,
    escaped: bool,
    /// The deepest level reached.
    deepest: usize,
}

impl Nesting {
    fn feed(&mut self, text: &[u8]) {
        for &b in text {
            if self.in_string {
                match b {
                    _ if self.escaped => self.escaped = false,
                    b'\\' => self.escaped = true,
                    b'"' => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match b {
                b'"' => self.in_string = true,
                b'{' | b'[' => {
                    self.depth += 1;
                    self.deepest = self.deepest.max(self.depth);
                }
                b'}' | b']' => self.depth = self.depth.saturating_sub(1),
                _ => {}
            }
        }
    }
}

/// A document spread over several lines (pretty-printed JSON), collected
/// from its first line until its brackets close.
struct Pending {
    first: u64,
    text: Vec<u8>,
    nesting: Nesting,
    /// Why the document is being skipped (too deep or too long) rather than
    /// kept: its lines are still read to its end, but not held.
    skipped: Option<String>,
}

impl Pending {
    fn place(&self, last: u64) -> Place {
        if last > self.first { Place::Lines(self.first, last) } else { Place::Line(self.first) }
    }
}

/// True when `text` is a whole JSON object with at least one member: an
/// event of its own. Pretty printers never write one on a single line, so
/// such a line inside a multi-line document means that the document was cut
/// short and this line is the next event.
fn is_whole_object(text: &[u8]) -> bool {
    text.first() == Some(&b'{')
        && text.len() > 2
        && check_json_depth(text, MAX_JSON_DEPTH).is_ok()
        && sonic_rs::from_slice::<Value>(text).is_ok()
        && text[1..].iter().any(|b| !b.is_ascii_whitespace() && *b != b'}')
}

/// Lines are numbered from `first_line + 1`. A line longer than the
/// limit, or nested deeper than [`MAX_JSON_DEPTH`], is an error of its own.
/// A line that starts a JSON object but ends before it closes starts a
/// multi-line document, which ends where its brackets close; a document
/// broken off by a line that is a whole event of its own costs only its own
/// lines, and that event is read.
fn read_lines<R: BufRead>(
    r: R,
    first_line: u64,
    limits: &Limits,
    on_line: &mut LineHook<'_>,
    on_record: &mut dyn FnMut(Record),
    on_error: &mut dyn FnMut(DecodeError),
) -> std::io::Result<()> {
    let max = limits.max_line_bytes;
    let mut lineno = first_line;
    let mut pending: Option<Pending> = None;
    for_each_line_max(r, max, |line| -> std::io::Result<()> {
        lineno += 1;
        let line = match line {
            Line::Text(t) => t,
            Line::TooLong(n) => {
                if let Some(p) = pending.take() {
                    on_error(json_error(p.place(lineno - 1), "JSON document cut short by an over-long line".into()));
                }
                on_error(json_error(
                    Place::Line(lineno),
                    format!("line of {n} bytes is longer than the limit ({max} bytes), skipped"),
                ));
                return Ok(());
            }
        };
        let text = trim(line);
        if let Some(p) = &mut pending {
            if !is_whole_object(text) {
                p.nesting.feed(line);
                if p.skipped.is_none() {
                    if p.nesting.deepest > MAX_JSON_DEPTH {
                        p.skipped = Some(format!("JSON nested deeper than {MAX_JSON_DEPTH} levels"));
                    } else if p.text.len() + line.len() + 1 > max {
                        p.skipped = Some(format!("JSON document is longer than the limit ({max} bytes)"));
                    }
                    if p.skipped.is_some() {
                        p.text = Vec::new();
                    } else {
                        p.text.extend_from_slice(line);
                        p.text.push(b'\n');
                    }
                }
                if p.nesting.depth > 0 {
                    return Ok(());
                }
                let p = pending.take().expect("pending");
                match &p.skipped {
                    Some(reason) => on_error(json_error(p.place(lineno), format!("{reason}, skipped"))),
                    None => match sonic_rs::from_slice::<Value>(trim(&p.text)) {
                        Ok(value) => on_record(Record { value, location: p.first }),
                        Err(e) => on_error(json_error(p.place(lineno), describe(&e, trim(&p.text)))),
                    },
                }
                return Ok(());
            }
            // This line is an event of its own: the document before it was cut short.
            let p = pending.take().expect("pending");
            on_error(json_error(p.place(lineno - 1), "JSON document is cut short".into()));
        }
        if text.is_empty() {
            return Ok(());
        }
        if on_line(text, lineno) {
            return Ok(());
        }
        if let Err(e) = check_json_depth(text, MAX_JSON_DEPTH) {
            on_error(json_error(Place::Line(lineno), e.to_string()));
            return Ok(());
        }
        match sonic_rs::from_slice::<Value>(text) {
            Ok(value) => on_record(Record { value, location: lineno }),
            Err(e) if text.first() == Some(&b'{') && is_eof_error(&e, text) => {
                let mut nesting = Nesting::default();
                nesting.feed(line);
                let mut text = Vec::with_capacity(line.len() + 1);
                text.extend_from_slice(line);
                text.push(b'\n');
                pending = Some(Pending { first: lineno, text, nesting, skipped: None });
            }
            Err(e) => on_error(json_error(Place::Line(lineno), describe(&e, text))),
        }
        Ok(())
    })?;
    if let Some(p) = pending {
        on_error(json_error(p.place(lineno), "JSON document is cut short at the end of the file".into()));
    }
    Ok(())
}

/// A reader that ends after `cap` bytes, and ends (rather than fails) at a
/// read error, remembering either, so that the events read before are kept
/// and the file is reported once at its end ([`Capped::report`]).
struct Capped<R> {
    inner: R,
    cap: u64,
    read: u64,
    over: bool,
    error: Option<std::io::Error>,
}

impl<R: Read> Capped<R> {
    fn new(inner: R, cap: u64) -> Capped<R> {
        Capped { inner, cap, read: 0, over: false, error: None }
    }

    /// Say why the stream ended early, if it did.
    fn report(&mut self, on_error: &mut dyn FnMut(DecodeError)) {
        let at = Place::Decompressed(self.read);
        let gzip = |message| DecodeError { place: at.clone(), ..DecodeError::new("gzip", "", message) };
        if self.over {
            on_error(gzip(format!("expands to more than the limit ({} bytes); the rest is not read", self.cap)));
        } else if let Some(e) = self.error.take() {
            on_error(gzip(e.to_string()));
        }
    }
}

impl<R: Read> Read for Capped<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.over || self.error.is_some() || buf.is_empty() {
            return Ok(0);
        }
        // One byte past the cap tells a stream of exactly `cap` bytes from a longer one.
        let room = (self.cap - self.read).saturating_add(1).min(buf.len() as u64) as usize;
        loop {
            match self.inner.read(&mut buf[..room]) {
                Ok(n) if self.read + n as u64 > self.cap => {
                    self.over = true;
                    let keep = (self.cap - self.read) as usize;
                    self.read = self.cap;
                    return Ok(keep);
                }
                Ok(n) => {
                    self.read += n as u64;
                    return Ok(n);
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.error = Some(e);
                    return Ok(0);
                }
            }
        }
    }
}

/// sonic-rs reports a document cut short as an error at its very end.
fn is_eof_error(e: &sonic_rs::Error, text: &[u8]) -> bool {
    e.is_eof() || e.offset() >= text.len()
}

fn describe(e: &sonic_rs::Error, text: &[u8]) -> String {
    if std::str::from_utf8(text).is_err() {
        return "invalid UTF-8".into();
    }
    format!("invalid JSON: {}", crate::json_error(e))
}

fn trim(b: &[u8]) -> &[u8] {
    let start = b.iter().position(|c| !c.is_ascii_whitespace()).unwrap_or(b.len());
    let end = b.iter().rposition(|c| !c.is_ascii_whitespace()).map_or(start, |i| i + 1);
    &b[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonic_rs::JsonValueTrait;

    #[test]
    fn lines_are_split_whatever_the_buffer_boundaries() {
        let data = b"first\n\nsecond line, longer than the buffer\r\n{\"a\":1}\nlast, no newline";
        let expected: Vec<&[u8]> = data.split(|&c| c == b'\n').collect();
        // Buffers smaller than a line, of a line, and larger than the data.
        for cap in [1, 3, 7, 16, 64, 4096] {
            let mut got: Vec<Vec<u8>> = Vec::new();
            for_each_line(BufReader::with_capacity(cap, Cursor::new(&data[..])), |l| -> std::io::Result<()> {
                got.push(l.to_vec());
                Ok(())
            })
            .unwrap();
            assert_eq!(got, expected, "buffer of {cap}");
        }
        // A file ending with its newline has no empty last line; an error stops the reading.
        let mut n = 0;
        let r = for_each_line(Cursor::new(&b"a\nb\nc\n"[..]), |_| {
            n += 1;
            if n == 2 { Err(std::io::Error::other("stop")) } else { Ok(()) }
        });
        assert!(r.is_err());
        assert_eq!(n, 2);
        let mut lines = 0;
        for_each_line(Cursor::new(&b"a\nb\n"[..]), |_| -> std::io::Result<()> {
            lines += 1;
            Ok(())
        })
        .unwrap();
        assert_eq!(lines, 2);
    }

    fn run(data: &[u8]) -> (Vec<(u64, String)>, Vec<String>) {
        run_with(data, &Limits::default())
    }

    #[test]
    fn lines_with_a_bad_one_in_the_middle() {
        let (recs, errs) = run(b"{\"a\":1}\nnot json\n\n{\"a\":2}\n");
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[1].0, 4);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("line 2:"), "{errs:?}");
    }

    #[test]
    fn invalid_utf8_is_named() {
        let (recs, errs) = run(b"{\"a\":\"\xff\"}\n{\"a\":1}\n");
        assert_eq!(recs.len(), 1);
        assert!(errs[0].contains("UTF-8") || errs[0].contains("utf"), "{errs:?}");
    }

    #[test]
    fn arrays_and_pretty_documents() {
        let (recs, _) = run(b"  [ {\"a\":1}, {\"a\":2} ]");
        assert_eq!(recs.len(), 2);
        let (recs, errs) = run(b"{\n  \"a\": {\n    \"b\": 1\n  }\n}\n{\"c\":2}\n");
        assert_eq!(recs.len(), 2, "{errs:?}");
        assert!(errs.is_empty());
    }

    fn run_with(data: &[u8], limits: &Limits) -> (Vec<(u64, String)>, Vec<String>) {
        let mut recs = Vec::new();
        let mut errs = Vec::new();
        read_json(
            BufReader::with_capacity(64, Cursor::new(data)),
            limits,
            &mut |_, _| false,
            &mut |r| recs.push((r.location, r.value.to_string())),
            &mut |e: DecodeError| errs.push(format!("{}: {}", e.place, e.message)),
        )
        .unwrap();
        (recs, errs)
    }

    /// Issue 16: `G0`, `{"a":`, `G1`, `G2`, `G3` lost G1 and G2 to the
    /// multi-line reader. The broken document costs its own line only.
    #[test]
    fn a_truncated_document_costs_only_its_own_lines() {
        let (recs, errs) = run(b"{\"g\":0}\n{\"a\":\n{\"g\":1}\n{\"g\":2}\n{\"g\":3}\n");
        let got: Vec<u64> = recs.iter().map(|r| r.0).collect();
        assert_eq!(got, vec![1, 3, 4, 5], "{errs:?}");
        assert_eq!(errs, vec!["line 2: JSON document is cut short".to_string()]);
        // Cut short over several lines, then whole events.
        let (recs, errs) = run(b"{\n  \"a\": {\n    \"b\": 1\n{\"g\":1}\n{\n  \"c\": 2\n}\n");
        assert_eq!(recs.iter().map(|r| r.0).collect::<Vec<_>>(), vec![4, 5], "{errs:?}");
        assert_eq!(errs, vec!["lines 1-3: JSON document is cut short".to_string()]);
        // A pretty document whose inner objects hold empty objects and
        // strings with brackets is still one record.
        let pretty = b"{\n  \"a\": [\n    {},\n    {\n      \"s\": \"}]{\\\"\"\n    }\n  ]\n}\n{\"z\":1}\n";
        let (recs, errs) = run(pretty);
        assert_eq!(recs.len(), 2, "{errs:?}");
        assert!(errs.is_empty(), "{errs:?}");
    }

    /// Issue 16: a line nested 10,000 deep overflowed the stack. Deeper
    /// than the limit is an error of that line (or document); the rest is read.
    #[test]
    fn json_deeper_than_the_limit_is_an_error_of_its_own() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        let data = format!("{{\"g\":0}}\n{deep}\n{{\"g\":1}}\n");
        let (recs, errs) = run(data.as_bytes());
        assert_eq!(recs.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("line 2: JSON nested deeper than 256 levels"), "{errs:?}");
        // Cut short and deep, and deep over many lines.
        let open = format!("{{\"a\":{}", "[".repeat(10_000));
        let (recs, errs) = run(format!("{open}\n{{\"g\":1}}\n").as_bytes());
        assert_eq!(recs.len(), 1, "{errs:?}");
        assert_eq!(errs.len(), 1, "{errs:?}");
        let tall = format!("{{\n{}{}\n}}\n{{\"g\":1}}\n", "[\n".repeat(300), "]\n".repeat(300));
        let (recs, errs) = run(tall.as_bytes());
        assert_eq!(recs.iter().map(|r| r.0).collect::<Vec<_>>(), vec![604], "{errs:?}");
        assert_eq!(errs, vec!["lines 1-603: JSON nested deeper than 256 levels, skipped".to_string()]);
        // An array of events may nest one level more.
        let ok = format!("[{{\"a\":{}{}}}]", "[".repeat(255), "]".repeat(255));
        assert_eq!(run(ok.as_bytes()).0.len(), 1);
        let bad = format!("[{{\"a\":{}{}}}]", "[".repeat(256), "]".repeat(256));
        assert!(run(bad.as_bytes()).1[0].contains("deeper than 257"));
    }

    /// Issue 16: lines have a length limit; a longer one is skipped (never
    /// held whole), counted and reported by its line number.
    #[test]
    fn lines_longer_than_the_limit_are_skipped_and_reported() {
        let limits = Limits { max_line_bytes: 100, ..Limits::default() };
        let long = format!("{{\"a\":\"{}\"}}", "x".repeat(1000));
        let data = format!("{{\"g\":0}}\n{long}\n{{\"g\":1}}\n{long}");
        let (recs, errs) = run_with(data.as_bytes(), &limits);
        assert_eq!(recs.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(
            errs,
            vec![
                "line 2: line of 1008 bytes is longer than the limit (100 bytes), skipped".to_string(),
                "line 4: line of 1008 bytes is longer than the limit (100 bytes), skipped".to_string(),
            ]
        );
        // A pretty document longer than the limit is skipped as a whole.
        let pretty = format!("{{\n{}\"a\": 1\n}}\n{{\"g\":1}}\n", "\"x\": 1,\n".repeat(20));
        let (recs, errs) = run_with(pretty.as_bytes(), &limits);
        assert_eq!(recs.iter().map(|r| r.0).collect::<Vec<_>>(), vec![24], "{errs:?}");
        assert!(errs[0].starts_with("lines 1-23: JSON document is longer than the limit"), "{errs:?}");
        // What is held stays under the limit, whatever the buffer.
        for cap in [1, 7, 64, 4096] {
            let mut seen = Vec::new();
            for_each_line_max(
                BufReader::with_capacity(cap, Cursor::new(&b"ab\nabcdefgh\nabc\nabcdefghij"[..])),
                4,
                |l| -> std::io::Result<()> {
                    seen.push(match l {
                        Line::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        Line::TooLong(n) => format!("long {n}"),
                    });
                    Ok(())
                },
            )
            .unwrap();
            assert_eq!(seen, ["ab", "long 8", "abc", "long 10"], "buffer of {cap}");
        }
    }

    /// Issue 16: a gzip of zeros expanded to gigabytes in memory. It is
    /// now read as a stream, and no further than the cap, which is reported.
    #[test]
    fn gzip_is_streamed_and_capped() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("vigie-gzbomb-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // 1 MiB of events, then 2 MiB of zeros (no newline), in a few KB.
        let p = dir.join("bomb.jsonl.gz");
        let mut enc = GzEncoder::new(File::create(&p).unwrap(), Compression::fast());
        let line = b"{\"a\":1}\n";
        for _ in 0..(1 << 17) {
            enc.write_all(line).unwrap();
        }
        enc.write_all(&vec![0u8; 2 << 20]).unwrap();
        enc.finish().unwrap();
        assert!(std::fs::metadata(&p).unwrap().len() < 50_000);
        let limits = Limits { max_line_bytes: 4096, max_expanded_bytes: 256 << 10 };
        let (mut records, mut errs) = (0u64, Vec::new());
        let stats =
            read_file_with(&p, 1, &limits, &mut |_, _| false, &mut |_| records += 1, &mut |e| errs.push(e.to_string()))
                .unwrap();
        assert_eq!(records, (256 << 10) / line.len() as u64);
        assert_eq!(stats.errors, 1, "{errs:?}");
        assert!(
            errs[0].ends_with(
                "byte 262144 of the decompressed stream: gzip: expands to more than the limit (262144 bytes); the rest is not read"
            ),
            "{errs:?}"
        );
        // Past the events, the zeros are one line too long for the limit.
        let limits = Limits { max_line_bytes: 4096, max_expanded_bytes: 2 << 20 };
        let (mut records, mut errs) = (0u64, Vec::new());
        read_file_with(&p, 1, &limits, &mut |_, _| false, &mut |_| records += 1, &mut |e| errs.push(e.to_string()))
            .unwrap();
        assert_eq!(records, 1 << 17);
        assert_eq!(errs.len(), 2, "{errs:?}");
        assert!(errs[0].contains("line 131073: json: line of 1048576 bytes is longer than the limit"), "{errs:?}");
        assert!(errs[1].contains("expands to more than the limit (2097152 bytes)"), "{errs:?}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn truncated_document_is_reported() {
        let (recs, errs) = run(b"{\"a\":1}\n{\n \"b\": 2\n");
        assert_eq!(recs.len(), 1);
        assert_eq!(errs.len(), 1);
    }

    #[test]
    fn split_parts_cover_every_line_once_with_true_line_numbers() {
        let dir = std::env::temp_dir().join(format!("vigie-split-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("big.jsonl");
        let mut text = String::new();
        let n = 400_000u64;
        for i in 0..n {
            if i == 123_456 {
                text.push_str("not json\n");
            } else {
                text.push_str(&format!("{{\"i\":{i},\"pad\":\"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}}\n"));
            }
        }
        std::fs::write(&p, &text).unwrap();
        let parts = split_json_lines(&p, 4).unwrap().expect("large JSON lines split");
        assert_eq!(parts.len(), 4);
        let mut seen = Vec::new();
        let mut errs = Vec::new();
        for part in &parts {
            read_part(&p, *part, &mut |r| seen.push((r.location, r.value["i"].as_u64().unwrap())), &mut |e| {
                errs.push(e.place)
            })
            .unwrap();
        }
        assert_eq!(seen.len() as u64, n - 1);
        assert!(seen.iter().all(|(line, i)| *line == i + 1), "line numbers are global");
        assert_eq!(errs, vec![Place::Line(123457)]);
        assert!(split_json_lines(&p, 1).unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    /// A large EVTX file made of the sample files' chunks, repeated, with a
    /// corrupt chunk at `bad` and a torn tail.
    fn large_evtx(path: &Path, chunks: usize, bad: usize) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let mut pool = Vec::new();
        let mut header = Vec::new();
        for e in std::fs::read_dir(root.join("samples/windows")).unwrap() {
            let data = std::fs::read(e.unwrap().path()).unwrap();
            header = data[..EVTX_HEADER as usize].to_vec();
            pool.extend(data[EVTX_HEADER as usize..].chunks_exact(EVTX_CHUNK as usize).map(<[u8]>::to_vec));
        }
        let corrupt = std::fs::read(root.join("fuzz/corpus/evtx/corrupt_chunk.evtx")).unwrap();
        let mut out = header;
        for k in 0..chunks {
            let c = if k == bad { &corrupt[EVTX_HEADER as usize..] } else { &pool[k % pool.len()][..] };
            out.extend_from_slice(c);
        }
        out.extend_from_slice(&[0u8; 100]);
        std::fs::write(path, out).unwrap();
    }

    /// Records (as record id and text) and errors (as place and message).
    fn read_evtx_units(path: &Path, parts: Option<&[Part]>) -> (Vec<(u64, String)>, Vec<String>) {
        let (mut recs, mut errs) = (Vec::new(), Vec::new());
        let mut on_record = |r: Record| recs.push((r.location, r.value.to_string()));
        let mut on_error = |e: DecodeError| errs.push(format!("{}: {}", e.place, e.message));
        let limits = Limits::default();
        match parts {
            None => {
                read_file_with(path, 1, &limits, &mut |_, _| false, &mut on_record, &mut on_error).unwrap();
            }
            Some(parts) => {
                for p in parts {
                    read_part_with(path, *p, &limits, &mut |_, _| false, &mut on_record, &mut on_error).unwrap();
                }
            }
        }
        recs.sort();
        (recs, errs)
    }

    #[test]
    fn a_large_evtx_file_is_read_in_parts_that_give_what_the_whole_gives() {
        let dir = std::env::temp_dir().join(format!("vigie-evtx-parts-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("big.evtx");
        large_evtx(&p, 300, 250);
        let parts = split_file(&p, 4).unwrap().expect("a large EVTX file is split");
        assert_eq!(parts.len(), 4);
        assert!(parts.iter().all(|p| p.kind == PartKind::EvtxChunks));
        assert_eq!(parts[0].start, EVTX_HEADER);
        assert!(
            parts.windows(2).all(|w| w[0].end == w[1].start && (w[0].end - EVTX_HEADER).is_multiple_of(EVTX_CHUNK))
        );
        assert_eq!(parts[3].end, std::fs::metadata(&p).unwrap().len());
        let (whole, whole_errs) = read_evtx_units(&p, None);
        let (split, split_errs) = read_evtx_units(&p, Some(&parts));
        assert!(whole.len() >= 299, "{} records", whole.len());
        assert_eq!(whole, split, "the parts give every record once");
        // The corrupt chunk and the torn tail are reported once, at their
        // places in the whole file, not in the part.
        assert_eq!(whole_errs.len(), 2, "{whole_errs:?}");
        assert_eq!(whole_errs, split_errs);
        assert!(whole_errs[0].starts_with("chunk 250 at byte 0xfa1000"), "{whole_errs:?}");
        assert!(whole_errs[1].starts_with("chunk 300 at byte 0x12c1000: file ends 100 bytes into a chunk"));
        // A small one is not split, nor is a JSON array.
        let small = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/evtx/seed1.evtx");
        assert!(split_file(&small, 4).unwrap().is_none());
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn evtx_records_are_offered_as_text_first() {
        let f = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../samples/windows/sysmon_config_modification.evtx");
        let (mut texts, mut trees) = (Vec::new(), Vec::new());
        // Taking every record: no tree is built.
        read_file_with(
            &f,
            1,
            &Limits::default(),
            &mut |t, id| {
                texts.push((id, sonic_rs::from_slice::<Value>(t).unwrap().to_string()));
                true
            },
            &mut |r| trees.push(r.value.to_string()),
            &mut |e| panic!("{e}"),
        )
        .unwrap();
        assert!(!texts.is_empty() && trees.is_empty());
        // Declining every record: each comes decoded, the same.
        let mut declined = Vec::new();
        read_file_with(
            &f,
            1,
            &Limits::default(),
            &mut |_, _| false,
            &mut |r| declined.push((r.location, r.value.to_string())),
            &mut |e| panic!("{e}"),
        )
        .unwrap();
        assert_eq!(texts, declined);
    }

    #[test]
    fn truncated_evtx_is_reported_with_its_offset() {
        let mut errs = Vec::new();
        check_evtx_length(4096 + 65536 + 100, &mut |e: DecodeError| errs.push(format!("{}: {}", e.place, e.message)));
        assert_eq!(errs.len(), 1);
        assert!(errs[0].starts_with("chunk 1 at byte 0x11000"), "{errs:?}");
        errs.clear();
        check_evtx_length(4096 + 2 * 65536, &mut |e: DecodeError| errs.push(format!("{}: {}", e.place, e.message)));
        assert!(errs.is_empty());
    }

    #[test]
    fn gzip_and_missing_files() {
        use flate2::{Compression, write::GzEncoder};
        use std::io::Write;
        let dir = std::env::temp_dir().join(format!("vigie-events-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let p = dir.join("x.jsonl.gz");
        let mut enc = GzEncoder::new(File::create(&p).unwrap(), Compression::fast());
        enc.write_all(b"{\"a\":\"x\"}\n{\"a\":\"y\"}\n").unwrap();
        enc.finish().unwrap();
        let mut seen = Vec::new();
        let stats =
            read_file(&p, 1, &mut |r| seen.push(r.value["a"].as_str().unwrap().to_string()), &mut |_| {}).unwrap();
        assert_eq!(seen, vec!["x", "y"]);
        assert_eq!(stats.records, 2);
        assert!(matches!(read_file(&dir.join("nope"), 1, &mut |_| {}, &mut |_| {}), Err(InputError::Missing { .. })));
        assert!(discover(std::slice::from_ref(&dir)).unwrap().contains(&p));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
