//! `vigie bench`: reproducible throughput figures for docs/performance.md.
//!
//! Everything runs on one thread so that the figures are per core; `hunt`
//! spreads files over all cores.

use crate::gen_events;
use crate::varied::{self, CorpusKind};
use anyhow::{Context, Result};
use clap::Args;
use serde::Serialize;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;
use vigie_detect::{Engine, loader};
use vigie_mapping::builtins;
use vigie_sigma::{RuleSet, Source};

#[derive(Args)]
pub struct BenchArgs {
    /// Rule files or directories (repeatable), normally the whole SigmaHQ set.
    #[arg(long = "rules", short = 'r', required = true, value_name = "PATH")]
    rules: Vec<PathBuf>,
    /// Values for `%placeholder%` names.
    #[arg(long, value_name = "FILE")]
    placeholders: Option<PathBuf>,
    /// Number of JSON events in the corpus.
    #[arg(long, default_value_t = 1_000_000)]
    events: u64,
    /// Which corpus: `generated` (vigie's fleet generator; its values
    /// repeat, which the memos feed on), `varied` (SigmaHQ's regression
    /// events with 80% of free-text values made unique and random process
    /// ids) or `mix` (99% benign events derived from the regression events,
    /// 1% varied ones). See docs/performance.md, "The corpora".
    #[arg(long, value_enum, default_value = "generated")]
    corpus_kind: CorpusKind,
    /// The regression data the `varied` and `mix` corpora are drawn from
    /// (every EVTX file below it).
    #[arg(long, value_name = "DIR", default_value = "../shared/sigma/regression_data")]
    regression: PathBuf,
    /// Where the corpus is written (reused when it already has the right
    /// size); default `bench-data/sysmon-v2.jsonl` for the generated corpus,
    /// `bench-data/<kind>.jsonl` for the others.
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Generate the flat Windows shape (`EventID`, `Image`, ... at the top
    /// level) instead of the nested EVTX-as-JSON shape.
    #[arg(long)]
    flat: bool,
    /// A directory of EVTX files to measure too (e.g. SigmaHQ's regression_data).
    #[arg(long, value_name = "DIR")]
    evtx: Option<PathBuf>,
    /// Passes over the EVTX corpus (it is small; more passes give steadier
    /// numbers). The large-file measure concatenates the corpus's chunks this
    /// many times into one file.
    #[arg(long, default_value_t = 5)]
    evtx_passes: u32,
    /// Threads for the parallel large-file EVTX measure (default: every core).
    #[arg(long)]
    evtx_threads: Option<usize>,
    /// Also measure with growing subsets of the rules, to show how cost scales.
    #[arg(long)]
    scaling: bool,
    /// Also time flattening, shape recognition and routing alone (no matching).
    #[arg(long)]
    stages: bool,
    /// Print the results as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Serialize, Default)]
struct EvtxLarge {
    path: PathBuf,
    bytes: u64,
    chunks: u64,
    records: u64,
    crate_rps: f64,
    decode_only_rps: f64,
    rps_per_core: f64,
    threads: usize,
    rps_parallel: f64,
    /// `rps_parallel` over `threads` times `rps_per_core`.
    efficiency: f64,
    detections: u64,
}

#[derive(Serialize, Default)]
struct Results {
    corpus: &'static str,
    rules_loaded: usize,
    rules_rejected: usize,
    rule_load_seconds: f64,
    json_events: u64,
    json_bytes: u64,
    json_decode_only_eps: f64,
    json_decode_route_eps: Option<f64>,
    json_eps_per_core: f64,
    json_mb_per_s_per_core: f64,
    json_detections: u64,
    evtx_records: u64,
    evtx_bytes: u64,
    /// The `evtx` crate alone, rendering each record to JSON text.
    evtx_crate_rps: f64,
    /// vigie's decoder: rendered, then decoded into a tree.
    evtx_decode_only_rps: f64,
    /// Decoded and matched as `vigie hunt` does.
    evtx_rps_per_core: f64,
    evtx_detections: u64,
    /// The same chunks concatenated into one large file, as a real log is.
    evtx_large: Option<EvtxLarge>,
    scaling: Vec<(usize, f64)>,
    peak_rss_mb: f64,
}

pub fn run(args: BenchArgs) -> Result<ExitCode> {
    let mut r = Results::default();
    let ph = loader::load_placeholders(args.placeholders.as_deref())?;
    let t = Instant::now();
    let files = loader::rule_files(&args.rules)?;
    let sources: Vec<Source> = files
        .iter()
        .map(|f| Ok(Source { path: f.display().to_string(), text: std::fs::read_to_string(f)? }))
        .collect::<Result<_, std::io::Error>>()?;
    let set = RuleSet::load(&sources, &ph);
    r.rules_loaded = set.loaded();
    r.rules_rejected = set.rejected.len();
    let engine = Engine::new(set, builtins(), false);
    r.rule_load_seconds = t.elapsed().as_secs_f64();
    eprintln!(
        "rules: {} loaded, {} rejected, compiled in {:.2} s; events are flattened to {} wanted paths and prefixes",
        r.rules_loaded, r.rules_rejected, r.rule_load_seconds, engine.stats.wanted_paths
    );

    let named = args.corpus.clone().unwrap_or_else(|| match args.corpus_kind {
        CorpusKind::Generated => PathBuf::from("bench-data/sysmon-v2.jsonl"),
        k => PathBuf::from(format!("bench-data/{}.jsonl", k.name())),
    });
    let corpus = if args.flat { named.with_extension("flat.jsonl") } else { named };
    r.corpus = args.corpus_kind.name();
    ensure_corpus(&corpus, args.events, args.flat, args.corpus_kind, &args.regression)?;
    r.json_events = args.events;
    r.json_bytes = std::fs::metadata(&corpus)?.len();
    let (secs, _) = json_pass(&corpus, None)?;
    r.json_decode_only_eps = args.events as f64 / secs;
    if args.stages {
        let secs = route_pass(&corpus, &engine)?;
        r.json_decode_route_eps = Some(args.events as f64 / secs);
        eprintln!("json: flatten + shape + routing only {:.0}/s per core", args.events as f64 / secs);
    }
    let (secs, hits) = json_pass(&corpus, Some(&engine))?;
    r.json_eps_per_core = args.events as f64 / secs;
    r.json_mb_per_s_per_core = r.json_bytes as f64 / 1e6 / secs;
    r.json_detections = hits;
    eprintln!(
        "json ({} corpus): {} events, decode only {:.0}/s, decode+match {:.0}/s ({:.0} MB/s) per core, {hits} detections ({:.1} per 1,000 events)",
        r.corpus,
        args.events,
        r.json_decode_only_eps,
        r.json_eps_per_core,
        r.json_mb_per_s_per_core,
        hits as f64 * 1000.0 / args.events.max(1) as f64
    );

    if let Some(dir) = &args.evtx {
        let files: Vec<PathBuf> = vigie_decode::discover(std::slice::from_ref(dir))?
            .into_iter()
            .filter(|p| p.extension().is_some_and(|e| e.eq_ignore_ascii_case("evtx")))
            .collect();
        r.evtx_bytes = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum::<u64>()
            * args.evtx_passes as u64;
        let units: Vec<(PathBuf, Option<vigie_decode::Part>)> = files.iter().map(|f| (f.clone(), None)).collect();
        // A first pass warms the page cache so that every timed pass reads from memory.
        evtx_pass(&units, EvtxMode::Crate, 1)?;
        let (secs, n, _) = evtx_pass(&units, EvtxMode::Crate, args.evtx_passes)?;
        r.evtx_crate_rps = n as f64 / secs;
        let (secs, n, _) = evtx_pass(&units, EvtxMode::Tree, args.evtx_passes)?;
        r.evtx_records = n;
        r.evtx_decode_only_rps = n as f64 / secs;
        let (secs, n, hits) = evtx_pass(&units, EvtxMode::Match(&engine), args.evtx_passes)?;
        r.evtx_rps_per_core = n as f64 / secs;
        r.evtx_detections = hits;
        eprintln!(
            "evtx ({} files): {n} records ({:.1} MB), evtx crate alone {:.0}/s, decode only {:.0}/s, decode+match {:.0}/s ({:.1} MB/s) per core, {hits} detections",
            files.len(),
            r.evtx_bytes as f64 / 1e6,
            r.evtx_crate_rps,
            r.evtx_decode_only_rps,
            r.evtx_rps_per_core,
            r.evtx_bytes as f64 / 1e6 / secs
        );
        let large = PathBuf::from("bench-data/evtx-repeated.evtx");
        let threads = args.evtx_threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get()));
        r.evtx_large = Some(evtx_large(&files, &large, args.evtx_passes, threads, &engine)?);
    }

    if args.scaling {
        let subset = corpus.with_extension("scaling.jsonl");
        ensure_corpus(&subset, 200_000, args.flat, args.corpus_kind, &args.regression)?;
        for n in [100usize, 500, 1000, 2000, sources.len()] {
            // An evenly spread sample of the files, so every subset has the
            // same mix of log sources as the whole set.
            let n = n.min(sources.len());
            let sample: Vec<Source> = (0..n).map(|i| sources[i * sources.len() / n].clone()).collect();
            let set = RuleSet::load(&sample, &ph);
            let rules = set.rules.len();
            let e = Engine::new(set, builtins(), false);
            let (secs, _) = json_pass(&subset, Some(&e))?;
            let eps = 200_000.0 / secs;
            eprintln!("scaling: {rules} rules -> {eps:.0} events/s per core");
            r.scaling.push((rules, eps));
        }
    }
    r.peak_rss_mb = peak_rss_mb();
    if args.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
    } else {
        println!("peak memory (RSS): {:.0} MB", r.peak_rss_mb);
    }
    Ok(ExitCode::SUCCESS)
}

fn ensure_corpus(path: &Path, n: u64, flat: bool, kind: CorpusKind, regression: &Path) -> Result<()> {
    let lines = std::fs::File::open(path).map(|f| std::io::BufReader::new(f).lines().count() as u64).unwrap_or(0);
    if lines == n {
        return Ok(());
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    eprintln!("generating {n} events ({} corpus) into {}", kind.name(), path.display());
    if kind == CorpusKind::Generated {
        return gen_events::write_corpus(path, n, 42, flat).with_context(|| format!("writing {}", path.display()));
    }
    let seeds = varied::seeds(regression)?;
    eprintln!("  drawn from {} regression events under {}", seeds.len(), regression.display());
    let mut f = std::io::BufWriter::new(std::fs::File::create(path)?);
    varied::write_corpus(&mut f, kind, &seeds, n, 42, flat)?;
    f.flush().with_context(|| format!("writing {}", path.display()))
}

/// Hand every non-empty line of a JSON-lines file to `f`. The file is
/// streamed (from the page cache after the first pass), so peak memory
/// reflects the engine, not the corpus. Returns the seconds taken.
fn each_line(path: &Path, mut f: impl FnMut(&[u8]) -> Result<()>) -> Result<f64> {
    let reader = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(path)?);
    let t = Instant::now();
    vigie_decode::files::for_each_line(reader, |line| {
        let line = line.trim_ascii_end();
        if line.is_empty() { Ok(()) } else { f(line) }
    })?;
    Ok(t.elapsed().as_secs_f64())
}

/// One single-threaded pass. Without an engine, every line is decoded into
/// a tree (sonic-rs): the decoder's own speed. With one, every line is
/// matched as `vigie hunt` matches it: flattened straight from its text,
/// and decoded into a tree only when the fast decoder does not take it.
fn json_pass(path: &Path, engine: Option<&Engine>) -> Result<(f64, u64)> {
    let mut scratch = engine.map(Engine::scratch);
    let mut hits = Vec::new();
    let (mut count, mut events, mut slow) = (0u64, 0u64, 0u64);
    let secs = each_line(path, |line| {
        events += 1;
        let (Some(e), Some(s)) = (engine, scratch.as_mut()) else {
            std::hint::black_box(sonic_rs::from_slice::<sonic_rs::Value>(line)?);
            return Ok(());
        };
        hits.clear();
        if e.detect_json(line, s, &mut hits).is_err() {
            slow += 1;
            e.detect(&sonic_rs::from_slice(line)?, s, &mut hits);
        }
        count += hits.iter().filter(|h| e.set.rules[h.rule as usize].emit).count() as u64;
        Ok(())
    })?;
    if let Some(s) = &scratch {
        eprintln!("  candidate rules per event: {:.1}", s.evaluated as f64 / events.max(1) as f64);
        eprintln!("  scan memo: {} hits, {} misses", s.memo.hits_count, s.memo.misses);
        eprintln!("  rule verdicts remembered: {} hits, {} misses", s.verdicts.hits_count, s.verdicts.misses);
        if slow > 0 {
            eprintln!("  lines the fast decoder left to sonic-rs: {slow}");
        }
    }
    Ok((secs, count))
}

/// Flatten and route only: how much of the per-event time is spent before
/// any rule is looked at.
fn route_pass(path: &Path, engine: &Engine) -> Result<f64> {
    let mut scratch = engine.scratch();
    each_line(path, |line| {
        engine.route_only(line, &mut scratch);
        Ok(())
    })
}

/// What an EVTX pass does with each record.
#[derive(Clone, Copy)]
enum EvtxMode<'a> {
    /// The `evtx` crate alone: render each record to JSON text, nothing more.
    Crate,
    /// vigie's decoder: the rendering decoded into a tree.
    Tree,
    /// Matched as `vigie hunt` matches: straight from the rendering, a tree
    /// only for the records the fast path does not take.
    Match(&'a Engine),
}

/// One single-threaded pass over EVTX files or parts of files. Returns
/// (seconds, records, detections).
fn evtx_pass(units: &[(PathBuf, Option<vigie_decode::Part>)], mode: EvtxMode, passes: u32) -> Result<(f64, u64, u64)> {
    let t = Instant::now();
    let (mut n, mut count) = (0u64, 0u64);
    let mut scratch = match mode {
        EvtxMode::Match(e) => Some(e.scratch()),
        _ => None,
    };
    for _ in 0..passes {
        for (f, part) in units {
            let (k, c) = evtx_unit(f, *part, mode, &mut scratch)?;
            n += k;
            count += c;
        }
    }
    Ok((t.elapsed().as_secs_f64(), n, count))
}

/// Records and detections of one EVTX file or part.
fn evtx_unit(
    f: &Path,
    part: Option<vigie_decode::Part>,
    mode: EvtxMode,
    scratch: &mut Option<vigie_detect::Scratch>,
) -> Result<(u64, u64)> {
    let engine = match mode {
        EvtxMode::Crate => {
            let settings = evtx::ParserSettings::new().num_threads(1).indent(false);
            let mut parser = evtx::EvtxParser::from_path(f)?.with_configuration(settings);
            let n = parser.records_json_bytes().filter(|r| std::hint::black_box(r).is_ok()).count();
            return Ok((n as u64, 0));
        }
        EvtxMode::Tree => None,
        EvtxMode::Match(e) => Some(e),
    };
    // (records, detections, scratch, hits), shared by the two callbacks.
    let state = std::cell::RefCell::new((0u64, 0u64, scratch.take(), Vec::new()));
    let mut on_line = |text: &[u8], _: u64| {
        let st = &mut *state.borrow_mut();
        let (Some(e), Some(s)) = (engine, st.2.as_mut()) else {
            return false;
        };
        st.3.clear();
        if e.detect_json(text, s, &mut st.3).is_err() {
            return false;
        }
        st.0 += 1;
        st.1 += st.3.iter().filter(|h| e.set.rules[h.rule as usize].emit).count() as u64;
        true
    };
    // Records the fast path leaves (and every record without an engine) come decoded into a tree.
    let mut on_record = |rec: vigie_decode::Record| {
        let st = &mut *state.borrow_mut();
        st.0 += 1;
        if let (Some(e), Some(s)) = (engine, st.2.as_mut()) {
            st.3.clear();
            e.detect(&rec.value, s, &mut st.3);
            st.1 += st.3.iter().filter(|h| e.set.rules[h.rule as usize].emit).count() as u64;
        } else {
            std::hint::black_box(rec);
        }
    };
    let limits = vigie_decode::Limits::default();
    match part {
        Some(p) => vigie_decode::read_part_with(f, p, &limits, &mut on_line, &mut on_record, &mut |_| {})?,
        None => vigie_decode::read_file_with(f, 1, &limits, &mut on_line, &mut on_record, &mut |_| {})?,
    };
    let (n, count, s, _) = state.into_inner();
    *scratch = s;
    Ok((n, count))
}

/// Concatenate the chunks of every file `passes` times into one large EVTX
/// file (a chunk carries its own string and template tables, so it is valid
/// anywhere), then measure it on one thread and on `threads`, cut at chunk
/// boundaries as `vigie hunt` cuts it.
fn evtx_large(files: &[PathBuf], path: &Path, passes: u32, threads: usize, engine: &Engine) -> Result<EvtxLarge> {
    const HEADER: usize = 4096;
    const CHUNK: usize = 65536;
    let mut chunks: Vec<Vec<u8>> = Vec::new();
    let mut header = None;
    for f in files {
        let data = std::fs::read(f)?;
        if data.len() < HEADER + CHUNK || !data.starts_with(b"ElfFile\0") {
            continue;
        }
        header.get_or_insert_with(|| data[..HEADER].to_vec());
        chunks.extend(data[HEADER..].chunks_exact(CHUNK).map(<[u8]>::to_vec));
    }
    let mut header = header.context("no EVTX file with a whole chunk")?;
    let total = chunks.len() as u64 * passes as u64;
    // Header fields: last chunk number, chunk count (16 bits, the parser
    // counts the chunks from the file's length), not dirty, and its CRC32.
    header[16..24].copy_from_slice(&(total.saturating_sub(1)).to_le_bytes());
    header[42..44].copy_from_slice(&(total.min(u16::MAX as u64) as u16).to_le_bytes());
    header[120..124].copy_from_slice(&0u32.to_le_bytes());
    let crc = crc32fast::hash(&header[..120]);
    header[124..128].copy_from_slice(&crc.to_le_bytes());
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let mut out = std::io::BufWriter::new(std::fs::File::create(path)?);
    out.write_all(&header)?;
    for _ in 0..passes {
        for c in &chunks {
            out.write_all(c)?;
        }
    }
    out.flush()?;
    drop(out);
    let bytes = std::fs::metadata(path)?.len();
    let whole = [(path.to_path_buf(), None)];
    evtx_pass(&whole, EvtxMode::Crate, 1)?;
    let (secs, records, _) = evtx_pass(&whole, EvtxMode::Crate, 1)?;
    let crate_rps = records as f64 / secs;
    let (secs, _, _) = evtx_pass(&whole, EvtxMode::Tree, 1)?;
    let decode_only_rps = records as f64 / secs;
    // One thread and all threads, alternated three times (a pass here is
    // short, and this machine's load drifts); the rates are over the sums.
    let parts = vigie_decode::split_file(path, threads * 4)?.unwrap_or_default();
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build()?;
    let (mut one, mut all, mut detections) = (0.0, 0.0, 0);
    for _ in 0..3 {
        let (secs, _, d) = evtx_pass(&whole, EvtxMode::Match(engine), 1)?;
        one += secs;
        detections = d;
        let t = Instant::now();
        let counted: Vec<(u64, u64)> = pool.install(|| {
            use rayon::prelude::*;
            parts
                .par_iter()
                .map_init(|| Some(engine.scratch()), |s, p| evtx_unit(path, Some(*p), EvtxMode::Match(engine), s))
                .collect::<Result<_>>()
        })?;
        all += t.elapsed().as_secs_f64();
        let (n2, d2) = counted.iter().fold((0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
        anyhow::ensure!(
            n2 == records && d2 == d,
            "the parts gave {n2} records and {d2} detections, the whole file {records} and {d}"
        );
    }
    let rps_per_core = 3.0 * records as f64 / one;
    let rps_parallel = 3.0 * records as f64 / all;
    let r = EvtxLarge {
        path: path.to_path_buf(),
        bytes,
        chunks: total,
        records,
        crate_rps,
        decode_only_rps,
        rps_per_core,
        threads,
        rps_parallel,
        efficiency: rps_parallel / (threads as f64 * rps_per_core),
        detections,
    };
    eprintln!(
        "evtx (one file of {} chunks, {:.0} MB): {records} records, evtx crate alone {crate_rps:.0}/s, decode only {decode_only_rps:.0}/s, decode+match {rps_per_core:.0}/s per core; {threads} threads {rps_parallel:.0}/s ({:.1}% of {threads} x one core), {detections} detections",
        r.chunks,
        bytes as f64 / 1e6,
        r.efficiency * 100.0
    );
    Ok(r)
}

/// Peak resident memory of this process, from /proc (Linux).
fn peak_rss_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|k| k.parse::<f64>().ok()))
        })
        .map_or(0.0, |kb| kb / 1024.0)
}
