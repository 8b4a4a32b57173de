//! `vigie simulate`: write a simulated organisation's access log and the
//! ground truth of the attacks in it.

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::BufWriter;
use std::path::PathBuf;
use std::process::ExitCode;
use vigie_simulate::{Archetype, SimConfig, simulate_as};

#[derive(Args)]
pub struct SimulateArgs {
    /// The kind of organisation: agency (advisers and partner advisers, office hours), hospital (24/7 shift
    /// staff, on-call doctors, admin staff), callcentre (agents reading a new person at every call, evening and
    /// Saturday shifts), portal (outside professionals with small, irregular volumes).
    #[arg(long, default_value = "agency", value_parser = ["agency", "hospital", "callcentre", "portal"])]
    pub archetype: String,
    /// Accounts in the organisation (readers, managers, help desk, admins, service accounts).
    #[arg(long, default_value_t = 2000)]
    pub accounts: usize,
    /// People whose records the application holds.
    #[arg(long, default_value_t = 10_000_000)]
    pub subjects: u32,
    /// Days simulated (attacks start in the last third).
    #[arg(long, default_value_t = 21)]
    pub days: u32,
    /// The same seed gives the same organisation, events and attacks.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// First day (YYYY-MM-DD), in the organisation's time zone (Europe/Paris).
    #[arg(long, default_value = "2026-03-02")]
    pub start: String,
    /// Run only these scenarios (repeatable): france_travail, stolen_partner_credentials, low_and_slow,
    /// spraying_then_export, stolen_service_token, impossible_travel, account_creator, curious_insider,
    /// careful_attacker.
    #[arg(long = "scenario", value_name = "NAME")]
    pub scenarios: Vec<String>,
    /// Where to write the events (JSON lines; `.gz` compresses).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Where to write the ground truth (JSON).
    #[arg(long, value_name = "FILE")]
    pub truth: PathBuf,
    /// Also write the organisation's caseload file (account,subject_id), for the analytics' caseload check.
    #[arg(long, value_name = "FILE")]
    pub caseload: Option<PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    pub json: bool,
}

pub fn run(a: SimulateArgs) -> Result<ExitCode> {
    let start: jiff::civil::Date = a.start.parse().with_context(|| format!("--start {}", a.start))?;
    let names: Vec<&str> = vigie_simulate::scenario::Attack::ALL.iter().map(|x| x.name()).collect();
    for s in &a.scenarios {
        if !names.contains(&s.as_str()) {
            anyhow::bail!("--scenario {s}: unknown; choose from {}", names.join(", "));
        }
    }
    let archetype = Archetype::parse(&a.archetype)
        .with_context(|| format!("--archetype {}: choose agency, hospital, callcentre or portal", a.archetype))?;
    let cfg = SimConfig {
        seed: a.seed,
        accounts: a.accounts,
        subjects: a.subjects,
        days: a.days,
        start,
        scenarios: a.scenarios.clone(),
    };
    let file = std::fs::File::create(&a.out).with_context(|| format!("{}", a.out.display()))?;
    let mut out: Box<dyn std::io::Write> = if a.out.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::fast()))
    } else {
        Box::new(BufWriter::with_capacity(1 << 20, file))
    };
    let bar = if a.json { ProgressBar::hidden() } else { ProgressBar::new(a.days as u64) };
    bar.set_style(ProgressStyle::with_template("{spinner} day {pos}/{len} {wide_bar} {elapsed}").unwrap());
    let t = std::time::Instant::now();
    let (truth, summary) = simulate_as(&cfg, archetype, &mut out, &|d| bar.set_position(d as u64))?;
    drop(out);
    bar.finish_and_clear();
    std::fs::write(&a.truth, serde_json::to_vec_pretty(&truth)?).with_context(|| format!("{}", a.truth.display()))?;
    if let Some(p) = &a.caseload {
        let f = std::fs::File::create(p).with_context(|| format!("{}", p.display()))?;
        vigie_simulate::write_caseload_as(&cfg, archetype, &mut BufWriter::new(f))?;
    }
    let secs = t.elapsed().as_secs_f64();
    if a.json {
        let mut v = serde_json::to_value(&summary)?;
        v["seconds"] = serde_json::json!(secs);
        println!("{v}");
    } else {
        eprintln!(
            "{} ({}): {} events ({} malicious) for {} accounts over {} days in {:.1} s; {} scenarios; truth in {}",
            truth.archetype,
            a.seed,
            summary.events,
            summary.malicious_events,
            summary.accounts,
            summary.days,
            secs,
            truth.scenarios.len(),
            a.truth.display()
        );
    }
    Ok(ExitCode::SUCCESS)
}
