//! `vigie eval`: score a replay's alerts and actions against a simulation's
//! ground truth, over one or several seeds.

use anyhow::{Context, Result};
use clap::Args;
use comfy_table::Table;
use std::path::PathBuf;
use std::process::ExitCode;
use vigie_simulate::Truth;
use vigie_simulate::eval::{self, Record};

#[derive(Args)]
pub struct EvalArgs {
    /// Ground truth written by `vigie simulate` (repeatable: one per seed and archetype, in the order of --alerts).
    #[arg(long = "truth", value_name = "FILE", required = true)]
    pub truth: Vec<PathBuf>,
    /// Alerts written by `vigie replay --alerts` over that simulation (repeatable).
    #[arg(long = "alerts", value_name = "FILE", required = true)]
    pub alerts: Vec<PathBuf>,
    /// Actions written by `vigie replay --actions` (repeatable); without them nothing counts as contained.
    #[arg(long = "actions", value_name = "FILE")]
    pub actions: Vec<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Write a chart (SVG) of the records each attack took, by detection and by containment.
    #[arg(long, value_name = "FILE")]
    pub svg: Option<PathBuf>,
}

fn lines(path: &PathBuf, f: fn(&str) -> Option<Record>) -> Result<Vec<Record>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("{}", path.display()))?;
    Ok(text.lines().filter_map(f).collect())
}

pub fn run(a: EvalArgs) -> Result<ExitCode> {
    if a.truth.len() != a.alerts.len() || (!a.actions.is_empty() && a.actions.len() != a.truth.len()) {
        anyhow::bail!("give one --alerts (and one --actions, if any) per --truth, in the same order");
    }
    let mut runs = Vec::new();
    for (i, t) in a.truth.iter().enumerate() {
        let truth: Truth = serde_json::from_slice(&std::fs::read(t).with_context(|| format!("{}", t.display()))?)
            .with_context(|| format!("{}: not a ground truth written by vigie simulate", t.display()))?;
        let alerts = lines(&a.alerts[i], eval::alert)?;
        let actions = match a.actions.get(i) {
            Some(p) => lines(p, eval::action)?,
            None => Vec::new(),
        };
        runs.push((truth, alerts, actions));
    }
    let r = eval::report(&runs);
    if let Some(p) = &a.svg {
        std::fs::write(p, eval::svg(&r)).with_context(|| format!("{}", p.display()))?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&r)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut t = Table::new();
    t.set_header(vec![
        "seed",
        "scenario",
        "high+",
        "min to detect",
        "min to contain",
        "records: total",
        "before detection",
        "before containment",
        "first high alert",
    ]);
    let opt = |v: Option<f64>| v.map_or("-".to_string(), |m| format!("{m:.1}"));
    for s in &r.scenarios {
        t.add_row(vec![
            s.seed.to_string(),
            s.name.clone(),
            if s.detected { "yes".into() } else { "NO".into() },
            opt(s.minutes_to_detect),
            opt(s.minutes_to_contain),
            s.records_total.to_string(),
            s.records_before_detection.to_string(),
            s.records_before_containment.to_string(),
            s.first_high_rule.clone().unwrap_or_default(),
        ]);
    }
    println!("{t}");
    let mark = |ok: bool| if ok { "met" } else { "NOT met" };
    println!(
        "detected at high or above: {}/{} ({})\nmedian time to detect: {} min (target under 5: {})\nrecords exposed before containment: {} of {} ({:.3}%) (target under 0.5%: {})\nfalse high alerts: {} in {} account-days = {:.3} per 1,000 (target at most 0.5: {})\nfalse containments: {} = {:.3} per 1,000 account-days (target at most 0.1: {})",
        r.detected,
        r.attacks,
        mark(r.targets.every_attack_detected),
        opt(r.median_minutes_to_detect),
        mark(r.targets.median_detect_under_5_min),
        r.records_before_containment,
        r.records_total,
        r.exposed_before_containment_pct,
        mark(r.targets.exposure_under_0_5_pct),
        r.false_high,
        r.account_days,
        r.false_high_per_1000_account_days,
        mark(r.targets.false_high_at_most_0_5),
        r.false_containment,
        r.false_containment_per_1000_account_days,
        mark(r.targets.false_containment_at_most_0_1),
    );
    for (rule, n) in &r.false_high_by_rule {
        println!("  false high: {n} × {rule}");
    }
    for (rule, n) in &r.false_containment_by_rule {
        println!("  false containment: {n} × {rule}");
    }
    for c in r.false_containment_samples.iter().take(10) {
        println!(
            "    {} on {} at {} (seed {}, {}, rule {})",
            c.action,
            if c.action == "block_ip" { c.ip.as_deref() } else { c.user.as_deref() }.unwrap_or("-"),
            c.at,
            c.seed,
            c.archetype,
            c.rule
        );
    }
    for b in &r.benign {
        println!(
            "  benign look-alike {}: {} accounts, {} false high, {} false containment",
            b.name, b.accounts, b.false_high, b.false_containment
        );
    }
    let mut per = Table::new();
    per.set_header(vec![
        "archetype",
        "runs",
        "detected",
        "median min to detect",
        "records before containment / total",
        "%",
        "false high /1,000 acct-days",
        "false containment /1,000 acct-days",
    ]);
    for x in &r.archetypes {
        per.add_row(vec![
            x.archetype.clone(),
            x.runs.to_string(),
            format!("{}/{}", x.detected, x.attacks),
            opt(x.median_minutes_to_detect),
            format!("{} / {}", x.records_before_containment, x.records_total),
            format!("{:.3}", x.exposed_before_containment_pct),
            format!("{:.3} ({})", x.false_high_per_1000_account_days, x.false_high),
            format!("{:.3} ({})", x.false_containment_per_1000_account_days, x.false_containment),
        ]);
    }
    println!("{per}");
    Ok(ExitCode::SUCCESS)
}
