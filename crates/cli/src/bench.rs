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
    /// Passes over the EVTX corpus (it is small; more passes give steadier numbers).
    #[arg(long, default_value_t = 5)]
    evtx_passes: u32,
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
    evtx_decode_only_rps: f64,
    evtx_rps_per_core: f64,
    evtx_detections: u64,
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
        // A first pass warms the page cache so that both timed passes read from memory.
        evtx_pass(&files, None, 1)?;
        let (secs, n, _) = evtx_pass(&files, None, args.evtx_passes)?;
        r.evtx_records = n;
        r.evtx_decode_only_rps = n as f64 / secs;
        let (secs, n, hits) = evtx_pass(&files, Some(&engine), args.evtx_passes)?;
        r.evtx_rps_per_core = n as f64 / secs;
        r.evtx_detections = hits;
        eprintln!(
            "evtx: {n} records ({:.1} MB), decode only {:.0}/s, decode+match {:.0}/s ({:.1} MB/s) per core, {hits} detections",
            r.evtx_bytes as f64 / 1e6,
            r.evtx_decode_only_rps,
            r.evtx_rps_per_core,
            r.evtx_bytes as f64 / 1e6 / secs
        );
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

fn evtx_pass(files: &[PathBuf], engine: Option<&Engine>, passes: u32) -> Result<(f64, u64, u64)> {
    let mut scratch = engine.map(Engine::scratch);
    let mut hits = Vec::new();
    let (mut n, mut count) = (0u64, 0u64);
    let t = Instant::now();
    for _ in 0..passes {
        for f in files {
            vigie_decode::read_file(
                f,
                1,
                &mut |rec| {
                    n += 1;
                    if let (Some(e), Some(s)) = (engine, scratch.as_mut()) {
                        hits.clear();
                        e.detect(&rec.value, s, &mut hits);
                        count += hits.iter().filter(|h| e.set.rules[h.rule as usize].emit).count() as u64;
                    }
                },
                &mut |_| {},
            )?;
        }
    }
    Ok((t.elapsed().as_secs_f64(), n, count))
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
