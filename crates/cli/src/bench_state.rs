//! `vigie bench-state`: how much memory the behaviour analytics hold per
//! account, measured on many accounts with real activity.

use anyhow::Result;
use clap::Args;
use indicatif::ProgressBar;
use std::process::ExitCode;
use vigie_analytics::{Act, Activity, Analytics, AnalyticsConfig, subject_hash};

#[derive(Args)]
pub struct BenchStateArgs {
    /// Accounts to create.
    #[arg(long, default_value_t = 1_000_000)]
    pub accounts: u32,
    /// Days of activity per account (each: a login and reads over three hours).
    #[arg(long, default_value_t = 3)]
    pub days: u32,
    /// Reads per account per day.
    #[arg(long, default_value_t = 30)]
    pub reads: u32,
    /// Print the results as one JSON object.
    #[arg(long)]
    pub json: bool,
}

fn rss_mb(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(0.0, |kb| kb / 1024.0)
}

pub fn run(a: BenchStateArgs) -> Result<ExitCode> {
    let before = rss_mb("VmRSS:");
    let mut an = Analytics::new(AnalyticsConfig::default())?;
    let mut out = Vec::new();
    let t = std::time::Instant::now();
    let bar = if a.json { ProgressBar::hidden() } else { ProgressBar::new(a.days as u64 * a.accounts as u64) };
    // Monday 2026-03-02 08:00 Paris.
    let t0 = 1_772_434_800_000i64;
    let mut events = 0u64;
    for d in 0..a.days as i64 {
        for u in 0..a.accounts {
            let user = format!("acct{u:07}");
            let ts = t0 + d * 86_400_000 + (u as i64 % 3600) * 1000;
            let base = Activity {
                ts,
                user: user.clone(),
                group: Some(format!("agence-{:03}", u % 400)),
                role: Some("advisor".into()),
                service_role: false,
                token_auth: false,
                ip: Some(format!("10.{}.{}.{}", u % 200, (u / 200) % 250, 1 + u % 250)),
                user_agent: Some("Mozilla/5.0 (Windows NT 10.0; Win64; x64)".into()),
                country: Some("FR".into()),
                location: Some((48.85, 2.35)),
                asn: Some(3215),
                act: Act::Login { success: true },
                origin: Default::default(),
            };
            an.observe(&base, &mut out);
            for r in 0..a.reads {
                let subject = subject_hash(&format!("{}", (u as u64 * 97 + r as u64 * 13 + d as u64) % 10_000_000));
                let ev = Activity {
                    ts: ts + r as i64 * 360_000,
                    act: Act::Read { subjects: vec![subject], records: 1 },
                    ..base.clone()
                };
                an.observe(&ev, &mut out);
            }
            events += 1 + a.reads as u64;
            out.clear();
            if u % 10_000 == 0 {
                bar.set_position(d as u64 * a.accounts as u64 + u as u64);
            }
        }
    }
    bar.finish_and_clear();
    let secs = t.elapsed().as_secs_f64();
    let after = rss_mb("VmRSS:");
    let held_mb = after - before;
    let sample: Vec<usize> = an.accounts.values().take(1000).map(|acct| acct.encode().len()).collect();
    let checkpoint_row = sample.iter().sum::<usize>() as f64 / sample.len().max(1) as f64;
    let r = serde_json::json!({
        "accounts": an.accounts.len(),
        "events": events,
        "seconds": secs,
        "events_per_second": events as f64 / secs,
        "estimated_bytes_per_account": an.bytes_per_account().round(),
        "rss_mb_held": held_mb.round(),
        "rss_bytes_per_account": (held_mb * 1_048_576.0 / an.accounts.len().max(1) as f64).round(),
        "peak_rss_mb": rss_mb("VmHWM:").round(),
        "checkpoint_row_bytes": checkpoint_row.round(),
    });
    if a.json {
        println!("{r}");
    } else {
        println!("{}", serde_json::to_string_pretty(&r)?);
    }
    Ok(ExitCode::SUCCESS)
}
