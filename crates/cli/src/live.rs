//! `vigie run` and `vigie replay`: the streaming engine, live and offline.

use anyhow::Result;
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use vigie_runtime::config::Config;
use vigie_runtime::engine::Summary;

#[derive(Args)]
pub struct RunArgs {
    /// The configuration file (see docs/vigie.example.toml for every key).
    #[arg(long, short, value_name = "FILE")]
    pub config: PathBuf,
    /// Write the end-of-run summary as JSON to this file.
    #[arg(long, value_name = "FILE")]
    pub summary_json: Option<PathBuf>,
}

#[derive(Args)]
pub struct ReplayArgs {
    /// A configuration file; without one, the built-in rules and defaults.
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Where to write the alerts, one JSON object per line (replaced if present).
    #[arg(long, value_name = "FILE")]
    pub alerts: PathBuf,
    /// Where to write the response actions the alerts call for, one JSON object per line.
    /// A replay never calls a webhook: actions that `run` would call are recorded as dry_run.
    #[arg(long, value_name = "FILE")]
    pub actions: Option<PathBuf>,
    /// A rule file or folder to use instead of the configured or built-in rules (repeatable).
    #[arg(long = "rules", short = 'r', value_name = "PATH")]
    pub rules: Vec<PathBuf>,
    /// Print the summary as one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Also write alerts, actions and the pseudonymised data-access trail into this store
    /// (a SQLite file or postgres://...), for `vigie impact` and the console on past logs.
    /// The pseudonymisation key comes from the configuration's [store] (or is created in its state folder).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
    /// Input files or folders: EVTX, JSON lines or arrays, gzip.
    #[arg(required = true, value_name = "INPUT")]
    pub inputs: Vec<PathBuf>,
}

pub fn run(args: RunArgs) -> Result<ExitCode> {
    let cfg = Config::from_file(&args.config)?;
    let stop = Arc::new(AtomicBool::new(false));
    let summary = vigie_runtime::run(&cfg, stop)?;
    eprintln!("{}", text(&summary));
    if let Some(p) = args.summary_json {
        std::fs::write(&p, serde_json::to_vec_pretty(&summary)?)?;
    }
    Ok(ExitCode::SUCCESS)
}

pub fn replay(args: ReplayArgs) -> Result<ExitCode> {
    let mut cfg = match &args.config {
        Some(p) => Config::from_file(p)?,
        None => Config::default(),
    };
    if !args.rules.is_empty() {
        cfg.rules.paths = args.rules.clone();
    }
    let handle = match &args.store {
        Some(url) => {
            cfg.store.url = Some(url.clone());
            vigie_runtime::open_store(&cfg)?
        }
        None => None,
    };
    let outputs = vigie_runtime::ReplayOutputs {
        alerts: Some(&args.alerts),
        actions: args.actions.as_deref(),
        store: handle.as_ref(),
        act: false,
    };
    let summary = vigie_runtime::replay_to(&cfg, &args.inputs, outputs)?;
    if let Some(h) = &handle {
        h.writer.flush().map_err(|e| anyhow::anyhow!("store: {e}"))?;
    }
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        eprintln!("{}", text(&summary));
        eprintln!("alerts written to {}", args.alerts.display());
        if let Some(p) = &args.actions {
            eprintln!("actions written to {}", p.display());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn text(s: &Summary) -> String {
    let levels: Vec<String> = s.alerts_by_level.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let kinds: Vec<String> = s.alerts_by_kind.iter().map(|(k, v)| format!("{k} {v}")).collect();
    let actions: Vec<String> = s.actions.iter().map(|(k, v)| format!("{k} {v}")).collect();
    format!(
        "{} events in {:.2} s ({:.0} events/s); {} alerts ({}; {}); {} merged repeats, {} suppressed\n\
         {} decode errors, {} late, {} with an untrusted time, {} without a timestamp, {} of no known shape; state evictions: {} groups, {} entries; \
         response actions: {}",
        s.events,
        s.seconds,
        s.events as f64 / s.seconds.max(1e-9),
        s.alerts,
        if levels.is_empty() { "none".into() } else { levels.join(", ") },
        if kinds.is_empty() { "-".into() } else { kinds.join(", ") },
        s.merged,
        s.suppressed,
        s.decode_errors,
        s.late,
        s.clamped,
        s.no_timestamp,
        s.unrecognised,
        s.evicted_groups,
        s.evicted_entries,
        if actions.is_empty() { "none".into() } else { actions.join(", ") },
    )
}
