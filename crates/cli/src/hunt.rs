//! `vigie hunt`: a parallel retro-hunt over files.

use crate::output::{self, Detection, File, Log, Row, RuleRef};
use anyhow::{Result, bail};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use rayon::prelude::*;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;
use vigie_alert::Severity;
use vigie_detect::{Engine, Hit, Scratch, loader};
use vigie_mapping::{Mapping, builtins};

#[derive(Args)]
pub struct HuntArgs {
    /// A rule file or directory; repeat the flag for several (each takes one path).
    #[arg(long = "rules", short = 'r', required = true, value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// A mapping file to read every input with, instead of recognising each event's shape.
    #[arg(long, value_name = "FILE")]
    pub mapping: Option<PathBuf>,
    /// Values for `%placeholder%` names used with the `expand` modifier.
    #[arg(long, value_name = "FILE")]
    pub placeholders: Option<PathBuf>,
    /// One JSON object per detection on standard output (the summary goes to standard error).
    #[arg(long)]
    pub jsonl: bool,
    /// Worker threads (default: all cores). Files are shared among them, and
    /// a file of 16 MB or more is cut into parts (JSON lines at line
    /// boundaries, EVTX at chunk boundaries) so that one large log also uses
    /// every core.
    #[arg(long, short = 'j')]
    pub threads: Option<usize>,
    /// Hide the progress bar.
    #[arg(long, short)]
    pub quiet: bool,
    /// The table shows at most this many detections (the most severe, then the
    /// earliest), with a count per rule of them all: memory does not grow with
    /// the number of detections. `--jsonl` writes every one.
    #[arg(long, value_name = "N", default_value_t = 1000)]
    pub max_rows: usize,
    /// Skip (and count) input lines longer than this many bytes.
    #[arg(long, value_name = "BYTES", default_value_t = vigie_decode::MAX_LINE_BYTES)]
    pub max_line_bytes: usize,
    /// Stop reading a compressed input once it has expanded to this many bytes (and report it).
    #[arg(long, value_name = "BYTES", default_value_t = vigie_decode::MAX_EXPANDED_BYTES)]
    pub max_expanded_bytes: u64,
    /// Also write the summary as one JSON object to this file (for scripts).
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
    /// Input files or directories (searched recursively).
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

/// Totals shared by the workers.
#[derive(Default)]
struct Counters {
    events: AtomicU64,
    unrecognised: AtomicU64,
    decode_errors: AtomicU64,
    bytes: AtomicU64,
}

/// One hunt worker's state for one input (a file or a part of one).
struct Worker<'a> {
    engine: &'a Engine,
    /// Per rule: a detection of its own (not only a correlation's input).
    standalone: &'a [bool],
    /// Per rule: its level (a rule without one, or with an unknown one, is medium).
    severity: &'a [Severity],
    jsonl: bool,
    shown: &'a str,
    scratch: Scratch,
    hits: Vec<Hit>,
    out_buf: Vec<u8>,
    rows: Top,
    levels: BTreeMap<Severity, u64>,
    /// Per rule (by index): its detections.
    per_rule: BTreeMap<u32, u64>,
}

/// A table row in the order the table shows them: the most severe, then
/// the earliest, first.
struct Ranked(Row);

impl Ranked {
    fn key(&self) -> (Reverse<Severity>, &str, &str) {
        (Reverse(self.0.level), &self.0.timestamp, &self.0.location)
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Ranked) -> bool {
        self.key() == other.key()
    }
}
impl Eq for Ranked {}
impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Ranked) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Ranked {
    fn cmp(&self, other: &Ranked) -> std::cmp::Ordering {
        self.key().cmp(&other.key())
    }
}

/// The first `max` rows of the table, in a heap whose top is the last of
/// them: a row after it is never built, one before it takes its place.
struct Top {
    max: usize,
    heap: BinaryHeap<Ranked>,
}

impl Top {
    fn new(max: usize) -> Top {
        Top { max, heap: BinaryHeap::new() }
    }

    /// Whether a row of this level and time would be kept.
    fn wants(&self, level: Severity, timestamp: &str) -> bool {
        if self.heap.len() < self.max {
            return true;
        }
        self.heap.peek().is_some_and(|last| (Reverse(level), timestamp) < (last.key().0, last.key().1))
    }

    fn push(&mut self, row: Row) {
        if self.max == 0 {
            return;
        }
        self.heap.push(Ranked(row));
        if self.heap.len() > self.max {
            self.heap.pop();
        }
    }

    fn extend(&mut self, other: Top) {
        for r in other.heap {
            self.push(r.0);
        }
    }

    fn into_sorted(self) -> Vec<Row> {
        self.heap.into_sorted_vec().into_iter().map(|r| r.0).collect()
    }
}

impl Worker<'_> {
    /// Write out the detections in `self.hits` for the event they were found in.
    fn report(&mut self, value: &sonic_rs::Value, location: u64) {
        let engine = self.engine;
        // The event's JSON, made at its first detection and shared by the others.
        let mut event: Option<Box<serde_json::value::RawValue>> = None;
        for hit in &self.hits {
            let rule = &engine.set.rules[hit.rule as usize];
            if !self.standalone[hit.rule as usize] {
                continue;
            }
            let level = self.severity[hit.rule as usize];
            *self.levels.entry(level).or_default() += 1;
            let timestamp = engine.timestamp(value, hit.shape);
            if !self.jsonl {
                *self.per_rule.entry(hit.rule).or_default() += 1;
                if !self.rows.wants(level, timestamp.as_deref().unwrap_or_default()) {
                    continue;
                }
            }
            let matched: BTreeMap<String, String> = engine.explain(value, hit, &mut self.scratch).into_iter().collect();
            if self.jsonl {
                let event = match &mut event {
                    Some(e) => e,
                    None => match serde_json::value::to_raw_value(value) {
                        Ok(e) => event.insert(e),
                        Err(_) => continue,
                    },
                };
                let d = Detection {
                    timestamp,
                    rule: RuleRef::new(&rule.meta, &rule.path),
                    log: Log { file: File { path: self.shown.to_string() }, offset: location },
                    matched,
                    event,
                };
                if serde_json::to_writer(&mut self.out_buf, &d).is_ok() {
                    self.out_buf.push(b'\n');
                }
            } else {
                self.rows.push(Row {
                    timestamp: timestamp.unwrap_or_default(),
                    level,
                    rule: rule.meta.title.clone(),
                    author: rule.meta.author.clone().unwrap_or_else(|| "unknown".into()),
                    location: format!("{}:{location}", self.shown),
                    matched: matched.iter().map(|(k, v)| format!("{k}={}", clip(v))).collect::<Vec<_>>().join("\n"),
                });
            }
        }
    }
}

/// How many decode errors are printed one by one before only counting.
const SHOWN_ERRORS: u64 = 20;

/// How many rejected rules the summary names (all are in `vigie rules check`).
const SHOWN_REJECTED: usize = 5;

pub fn run(args: HuntArgs) -> Result<ExitCode> {
    let started = Instant::now();
    let ph = loader::load_placeholders(args.placeholders.as_deref())?;
    let set = loader::load_rules(&args.rules, &ph)?;
    if set.rules.is_empty() {
        bail!(
            "no rule loaded from {}",
            args.rules.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
        );
    }
    let (mappings, forced) = match &args.mapping {
        Some(p) => (vec![Mapping::from_file(p)?], true),
        None => (builtins(), false),
    };
    let files = vigie_decode::discover(&args.inputs)?;
    let rejected = set.rejected.clone();
    let correlations = set.correlations.len();
    // Rules that only feed correlations (Sigma's `generate: false`) are not
    // detections of their own; a hunt, which has no correlation state, skips them.
    let standalone =
        vigie_correlate::Correlator::new(&set.correlations, Default::default()).standalone_rules(&set.rules);
    let severity: Vec<Severity> = set.rules.iter().map(|r| Severity::of_rule(r.meta.level.as_deref())).collect();
    let engine = Engine::new(set, mappings, forced);
    let load_secs = started.elapsed().as_secs_f64();

    let pool = rayon::ThreadPoolBuilder::new().num_threads(args.threads.unwrap_or(0)).build()?;
    let total_bytes: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    let bar = if args.quiet || !std::io::stderr().is_terminal() {
        ProgressBar::hidden()
    } else {
        let b = ProgressBar::new(total_bytes);
        b.set_style(
            ProgressStyle::with_template(
                "{spinner} [{elapsed_precise}] {wide_bar} {bytes}/{total_bytes} ({eta}) {msg}",
            )
            .expect("valid template"),
        );
        b
    };
    let counters = Counters::default();
    let by_level: Mutex<BTreeMap<Severity, u64>> = Mutex::default();
    let per_rule: Mutex<BTreeMap<u32, u64>> = Mutex::default();
    let rows = Mutex::new(Top::new(args.max_rows));
    let limits =
        vigie_decode::Limits { max_line_bytes: args.max_line_bytes, max_expanded_bytes: args.max_expanded_bytes };
    let stdout = Mutex::new(std::io::BufWriter::new(std::io::stdout()));
    let failures: Mutex<Vec<String>> = Mutex::default();
    let match_start = Instant::now();
    let evtx_threads = if files.len() == 1 { pool.current_num_threads() } else { 1 };
    // Large JSON-lines files are cut at line boundaries, and large EVTX
    // files at chunk boundaries, so that one big file is decoded and matched
    // on every core, like a directory of files.
    let threads = pool.current_num_threads();
    let mut units: Vec<(&PathBuf, Option<vigie_decode::Part>)> = Vec::new();
    for f in &files {
        match vigie_decode::split_file(f, threads * 4) {
            Ok(Some(parts)) => units.extend(parts.into_iter().map(|p| (f, Some(p)))),
            _ => units.push((f, None)),
        }
    }

    pool.install(|| {
        units.par_iter().for_each(|(path, part)| {
            let shown = path.display().to_string();
            let w = std::cell::RefCell::new(Worker {
                engine: &engine,
                standalone: &standalone,
                severity: &severity,
                jsonl: args.jsonl,
                shown: &shown,
                scratch: engine.scratch(),
                hits: Vec::new(),
                out_buf: Vec::new(),
                rows: Top::new(args.max_rows),
                levels: BTreeMap::new(),
                per_rule: BTreeMap::new(),
            });
            let flush = |w: &mut Worker| {
                if w.out_buf.len() > 1 << 16 {
                    let _ = stdout.lock().expect("stdout lock").write_all(&w.out_buf);
                    w.out_buf.clear();
                }
            };
            // JSON lines are matched straight from their text; a line the
            // fast decoder does not take goes to `on_record` decoded.
            let mut on_line = |text: &[u8], location: u64| {
                let w = &mut *w.borrow_mut();
                w.hits.clear();
                let Ok(shape) = engine.detect_json(text, &mut w.scratch, &mut w.hits) else {
                    return false;
                };
                if shape.is_some() && w.hits.iter().any(|h| standalone[h.rule as usize]) {
                    // Only events with a detection are decoded, for the output.
                    let Ok(value) = sonic_rs::from_slice::<sonic_rs::Value>(text) else {
                        return false;
                    };
                    w.report(&value, location);
                    flush(w);
                }
                counters.events.fetch_add(1, Relaxed);
                if shape.is_none() {
                    counters.unrecognised.fetch_add(1, Relaxed);
                }
                true
            };
            let mut on_record = |rec: vigie_decode::Record| {
                let w = &mut *w.borrow_mut();
                counters.events.fetch_add(1, Relaxed);
                w.hits.clear();
                let Some(_) = engine.detect(&rec.value, &mut w.scratch, &mut w.hits) else {
                    counters.unrecognised.fetch_add(1, Relaxed);
                    return;
                };
                w.report(&rec.value, rec.location);
                flush(w);
            };
            let mut on_error = |e: vigie_decode::DecodeError| {
                let n = counters.decode_errors.fetch_add(1, Relaxed);
                if n < SHOWN_ERRORS {
                    bar.suspend(|| eprintln!("warning: skipped: {e}"));
                }
            };
            let result = match part {
                Some(p) => vigie_decode::read_part_with(path, *p, &limits, &mut on_line, &mut on_record, &mut on_error),
                None => vigie_decode::read_file_with(
                    path,
                    evtx_threads,
                    &limits,
                    &mut on_line,
                    &mut on_record,
                    &mut on_error,
                ),
            };
            match result {
                Ok(stats) => {
                    counters.bytes.fetch_add(stats.bytes, Relaxed);
                    bar.inc(stats.bytes);
                }
                Err(e) => {
                    bar.suspend(|| eprintln!("error: {e}"));
                    failures.lock().expect("lock").push(e.to_string());
                }
            }
            let w = w.into_inner();
            if !w.out_buf.is_empty() {
                let _ = stdout.lock().expect("stdout lock").write_all(&w.out_buf);
            }
            rows.lock().expect("lock").extend(w.rows);
            let mut pr = per_rule.lock().expect("lock");
            for (k, v) in w.per_rule {
                *pr.entry(k).or_default() += v;
            }
            drop(pr);
            let mut lv = by_level.lock().expect("lock");
            for (k, v) in w.levels {
                *lv.entry(k).or_default() += v;
            }
        })
    });
    bar.finish_and_clear();
    let mut out = stdout.into_inner().expect("stdout");
    let secs = match_start.elapsed().as_secs_f64();
    let rows = rows.into_inner().expect("rows").into_sorted();
    if !args.jsonl {
        let per_rule = per_rule.into_inner().expect("per rule");
        let total: u64 = per_rule.values().sum();
        if total == 0 {
            writeln!(out, "No detections.")?;
        } else {
            if !rows.is_empty() {
                writeln!(out, "{}", output::table(&rows))?;
            }
            if total > rows.len() as u64 {
                // Only the first rows are kept: say what the others were.
                writeln!(
                    out,
                    "{} of {total} detections shown (the most severe, then the earliest; --max-rows to change, --jsonl for all). Per rule:",
                    rows.len()
                )?;
                let mut counts: Vec<(Severity, u64, &str)> = per_rule
                    .iter()
                    .map(|(&r, &n)| (severity[r as usize], n, engine.set.rules[r as usize].meta.title.as_str()))
                    .collect();
                counts.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
                for (level, n, title) in counts {
                    writeln!(out, "  {n:>10}  {:<13} {title}", level.as_str())?;
                }
            }
        }
    }
    out.flush()?;
    drop(out);

    let events = counters.events.load(Relaxed);
    let by_level = by_level.into_inner().expect("levels");
    let detections: u64 = by_level.values().sum();
    let levels: Vec<(&Severity, &u64)> = by_level.iter().rev().collect();
    let mut s = String::new();
    use std::fmt::Write as _;
    let _ = writeln!(s, "\nSummary");
    let _ = writeln!(s, "  files:        {} ({:.1} MB)", files.len(), counters.bytes.load(Relaxed) as f64 / 1e6);
    let _ = writeln!(
        s,
        "  events read:  {events} in {secs:.2} s ({:.0} events/s on {} threads)",
        events as f64 / secs.max(1e-9),
        pool.current_num_threads()
    );
    let _ = writeln!(
        s,
        "  detections:   {detections}{}",
        if levels.is_empty() {
            String::new()
        } else {
            format!(" ({})", levels.iter().map(|(l, n)| format!("{l}: {n}")).collect::<Vec<_>>().join(", "))
        }
    );
    let _ = writeln!(
        s,
        "  rules:        {} loaded in {load_secs:.2} s, {} rejected{}",
        engine.set.rules.iter().filter(|r| r.emit).count(),
        rejected.len(),
        if rejected.is_empty() { "" } else { " (see `vigie rules check`)" }
    );
    for r in rejected.iter().take(SHOWN_REJECTED) {
        let _ = writeln!(s, "    rejected {} ({}): {}", r.path, r.id.as_deref().unwrap_or("no id"), r.reason);
    }
    if rejected.len() > SHOWN_REJECTED {
        let _ = writeln!(s, "    ... and {} more", rejected.len() - SHOWN_REJECTED);
    }
    if !engine.stats.unroutable.is_empty() {
        // Rules for log sources (Linux, cloud, ...) that no loaded mapping can
        // route an event to: say so, so that nobody believes they were tried.
        let mut by_product: BTreeMap<String, usize> = BTreeMap::new();
        for &r in &engine.stats.unroutable {
            let ls = &engine.set.rules[r as usize].logsource;
            let key = ls.product.clone().or_else(|| ls.category.clone()).unwrap_or_else(|| "any".into());
            *by_product.entry(key).or_default() += 1;
        }
        let mut top: Vec<(String, usize)> = by_product.into_iter().collect();
        top.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let list: Vec<String> = top.iter().take(6).map(|(k, n)| format!("{k} {n}")).collect();
        let _ = writeln!(
            s,
            "  unrouted:     {} rules are for log sources no mapping recognises ({}{}); add a mapping with --mapping",
            engine.stats.unroutable.len(),
            list.join(", "),
            if top.len() > 6 { ", ..." } else { "" }
        );
    }
    if correlations > 0 {
        let _ = writeln!(
            s,
            "  correlations: {correlations} parsed; they are evaluated by the streaming engine, not by hunt"
        );
    }
    let unrec = counters.unrecognised.load(Relaxed);
    if unrec > 0 {
        let _ = writeln!(s, "  unrecognised: {unrec} events matched no known shape (give --mapping)");
    }
    let errs = counters.decode_errors.load(Relaxed);
    if errs > 0 {
        let _ =
            writeln!(s, "  bad records:  {errs} skipped{}", if errs > SHOWN_ERRORS { " (first 20 shown)" } else { "" });
    }
    let failures = failures.into_inner().expect("failures");
    if let Some(path) = &args.summary_json {
        let summary = Summary {
            files: files.len(),
            bytes: counters.bytes.load(Relaxed),
            events,
            seconds: secs,
            events_per_second: events as f64 / secs.max(1e-9),
            threads: pool.current_num_threads(),
            detections,
            detections_by_level: &by_level,
            rules_loaded: engine.set.rules.iter().filter(|r| r.emit).count(),
            rules_rejected: rejected
                .iter()
                .map(|r| crate::rules::Rejected { path: &r.path, id: r.id.as_deref(), reason: &r.reason })
                .collect(),
            rules_unrouted: engine.stats.unroutable.len(),
            correlations_parsed: correlations,
            unrecognised_events: counters.unrecognised.load(Relaxed),
            bad_records: counters.decode_errors.load(Relaxed),
            unreadable_inputs: &failures,
        };
        std::fs::write(path, serde_json::to_string_pretty(&summary)? + "\n")
            .map_err(|e| anyhow::anyhow!("{}: cannot write the summary: {e}", path.display()))?;
    }
    if !failures.is_empty() {
        let _ = writeln!(s, "  unreadable:   {} input(s)", failures.len());
    }
    eprint!("{s}");
    if !failures.is_empty() {
        return Ok(ExitCode::from(2));
    }
    Ok(ExitCode::SUCCESS)
}

/// The end-of-hunt summary, as written by `--summary-json`.
#[derive(serde::Serialize)]
struct Summary<'a> {
    files: usize,
    bytes: u64,
    events: u64,
    seconds: f64,
    events_per_second: f64,
    threads: usize,
    detections: u64,
    detections_by_level: &'a BTreeMap<Severity, u64>,
    rules_loaded: usize,
    rules_rejected: Vec<crate::rules::Rejected<'a>>,
    rules_unrouted: usize,
    correlations_parsed: usize,
    unrecognised_events: u64,
    bad_records: u64,
    unreadable_inputs: &'a [String],
}

fn clip(v: &str) -> String {
    const MAX: usize = 120;
    if v.chars().count() <= MAX { v.to_string() } else { format!("{}…", v.chars().take(MAX).collect::<String>()) }
}
