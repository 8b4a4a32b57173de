//! `vigie bench-trail`: the data-access trail at an organisation's scale.
//! Writes a synthetic trail through the store (as the engine's writer does:
//! rows queued, made durable at each simulated checkpoint), then times the
//! impact queries a DPO runs when the regulator's clock is running: one
//! account over the whole window, and every account that used one source
//! address. Nothing is repeated that would flatter the encoding: every read
//! is of a different person, and times are spread over the days.

use anyhow::{Context, Result};
use clap::Args;
use indicatif::ProgressBar;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Instant;
use vigie_analytics::{Access, Pseudonymiser};
use vigie_store::Scope;

#[derive(Args)]
pub struct BenchTrailArgs {
    /// Folder for the store (created; its trail goes in <dir>/trail).
    #[arg(long, value_name = "DIR")]
    pub dir: PathBuf,
    /// Reads to write.
    #[arg(long, default_value_t = 10_000_000)]
    pub reads: u64,
    /// Accounts reading.
    #[arg(long, default_value_t = 10_000)]
    pub accounts: u64,
    /// Days the reads span.
    #[arg(long, default_value_t = 30)]
    pub days: u64,
    /// Reads per simulated checkpoint (each one a flush of the trail).
    #[arg(long, default_value_t = 20_000)]
    pub per_checkpoint: u64,
    /// A store URL instead of the SQLite file in --dir (postgres://...).
    #[arg(long)]
    pub store: Option<String>,
    /// Print the results as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Only time the queries, on the trail an earlier run wrote in --dir
    /// (give it the same --reads, --accounts and --days).
    #[arg(long)]
    pub queries_only: bool,
}

const DAY_MS: i64 = 86_400_000;

/// A small xorshift generator: the same seed, the same trail.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

pub fn run(a: BenchTrailArgs) -> Result<ExitCode> {
    std::fs::create_dir_all(&a.dir).with_context(|| a.dir.display().to_string())?;
    let url = a.store.clone().unwrap_or_else(|| a.dir.join("vigie.db").display().to_string());
    let store = vigie_store::Store::open(&url).with_context(|| format!("opening the store {url}"))?;
    let start = 1_767_225_600_000i64; // 2026-01-01
    let span = a.days.max(1) as i64 * DAY_MS;
    let (write_s, settle_s) = if a.queries_only { (f64::NAN, f64::NAN) } else { write(&store, &a, start, span)? };
    let bytes = match &store.trail_files {
        Some(f) => f.bytes()?,
        // PostgreSQL: the day partitions with their indexes.
        None => store
            .db
            .query(
                "SELECT COALESCE(SUM(pg_total_relation_size(inhrelid)), 0)::BIGINT FROM pg_inherits \
                 WHERE inhparent = 'access'::regclass",
                &[],
            )?
            .first()
            .map_or(0, |r| r.int(0).max(0) as u64),
    };

    // One account over the whole window; every account of one source.
    let (from_ms, to_ms) = (start, start + span);
    let t = Instant::now();
    let one = vigie_investigate::impact::of_scope(
        &store,
        Scope { accounts: vec!["adv00042".into()], sources: vec![], from_ms, to_ms },
    )?;
    let account_s = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let by_source = vigie_investigate::impact::of_scope(
        &store,
        Scope { accounts: vec![], sources: vec!["10.0.42.1".into()], from_ms, to_ms },
    )?;
    let source_s = t.elapsed().as_secs_f64();
    let out = serde_json::json!({
        "store": if store.trail_files.is_some() { "day files" } else { "table" },
        "reads": a.reads,
        "accounts": a.accounts,
        "days": a.days,
        "write_seconds": write_s,
        "reads_per_second": a.reads as f64 / write_s,
        "compaction_wait_seconds": settle_s,
        "bytes": bytes,
        "bytes_per_read": bytes as f64 / a.reads.max(1) as f64,
        "impact_one_account": {"seconds": account_s, "people": one.subjects},
        "impact_one_source": {"seconds": source_s, "people": by_source.subjects},
    });
    if a.json {
        println!("{out}");
    } else {
        println!("{}", serde_json::to_string_pretty(&out)?);
    }
    Ok(ExitCode::SUCCESS)
}

/// Write the synthetic trail; returns the seconds spent writing and then
/// waiting for the last compaction.
fn write(store: &vigie_store::Store, a: &BenchTrailArgs, start: i64, span: i64) -> Result<(f64, f64)> {
    let key = Pseudonymiser::new(b"bench-trail");
    let step = (span / a.reads.max(1) as i64).max(1);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let bar = if a.json { ProgressBar::hidden() } else { ProgressBar::new(a.reads) };
    let t = Instant::now();
    let mut batch = Vec::with_capacity(a.per_checkpoint as usize);
    for i in 0..a.reads {
        let acct = rng.next() % a.accounts.max(1);
        let ts = start + i as i64 * step + (rng.next() % step as u64) as i64;
        batch.push(Access {
            id: vigie_alert::alert_id(&["bench", &i.to_string()]),
            ts,
            account: format!("adv{acct:05}"),
            // Each account has a few addresses of its own.
            source_ip: Some(format!("10.{}.{}.{}", acct / 256 % 256, acct % 256, rng.next() % 3 + 1)),
            user_agent: Some(format!("Mozilla/5.0 build {}", acct % 40)),
            kind: "read".into(),
            action: if i % 50 == 0 { "beneficiary.search".into() } else { "beneficiary.view".into() },
            target: None,
            categories: vec!["identity".into(), "nir".into()],
            subjects: vec![key.pseudonym(&i.to_string())],
            records: 1,
            bytes: Some(1_000 + rng.next() % 4_000),
        });
        if batch.len() as u64 >= a.per_checkpoint {
            store.queue_accesses(std::mem::take(&mut batch))?;
            store.flush_accesses()?;
            bar.inc(a.per_checkpoint);
        }
    }
    store.queue_accesses(batch)?;
    store.flush_accesses()?;
    bar.finish_and_clear();
    let write_s = t.elapsed().as_secs_f64();
    // Days that are over are compacted by account on a thread of their own
    // while the writing goes on; wait for the last of them.
    let t = Instant::now();
    if let Some(f) = &store.trail_files {
        f.compact_days_over()?;
    }
    let settle_s = t.elapsed().as_secs_f64();
    Ok((write_s, settle_s))
}
