//! `vigie rules check`.

use anyhow::Result;
use serde::Serialize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vigie_detect::loader;

#[derive(Serialize)]
struct Report<'a> {
    loaded: usize,
    rejected: Vec<Rejected<'a>>,
}

/// A rejected rule as scripts read it (`rules check --json`, `hunt --summary-json`).
#[derive(Serialize)]
pub struct Rejected<'a> {
    pub path: &'a str,
    pub id: Option<&'a str>,
    pub reason: &'a str,
}

pub fn check(paths: &[PathBuf], placeholders: Option<&Path>, json: bool, verbose: bool) -> Result<ExitCode> {
    let ph = loader::load_placeholders(placeholders)?;
    let set = loader::load_rules(paths, &ph)?;
    let loaded = set.loaded();
    if json {
        let report = Report {
            loaded,
            rejected: set
                .rejected
                .iter()
                .map(|r| Rejected { path: &r.path, id: r.id.as_deref(), reason: &r.reason })
                .collect(),
        };
        println!("{}", serde_json::to_string(&report)?);
    } else {
        if verbose {
            for r in &set.rules {
                let id = r.meta.id.as_deref().unwrap_or("-");
                println!("loaded   {}  {id}  {}", r.path, r.meta.title);
            }
            for (p, c) in &set.correlations {
                println!("loaded   {p}  {}  {} (correlation)", c.meta.id.as_deref().unwrap_or("-"), c.meta.title);
            }
            for (p, f, n) in &set.filters {
                println!("loaded   {p}  {} (filter, applied to {n} rules)", f.meta.title);
            }
        }
        for r in &set.rejected {
            println!("rejected {}  {}  {}", r.path, r.id.as_deref().unwrap_or("-"), r.reason);
        }
        let total = loaded + set.rejected.len();
        let pct = if total == 0 { 100.0 } else { 100.0 * loaded as f64 / total as f64 };
        println!(
            "{loaded} loaded ({} detection rules, {} correlations, {} filters), {} rejected: {pct:.2}% of {total} loaded",
            set.rules.iter().filter(|r| r.emit).count(),
            set.correlations.len(),
            set.filters.len(),
            set.rejected.len()
        );
    }
    Ok(if set.rejected.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
