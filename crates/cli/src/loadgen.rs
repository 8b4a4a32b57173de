//! `vigie loadgen`: a load generator for `vigie run`'s HTTP ingest, run as a
//! separate process on 127.0.0.1. It measures sustained throughput (events
//! per second accepted, i.e. processed and checkpointed), and, when it also
//! receives the engine's alerts on a webhook, the latency from sending an
//! event to receiving its alert. docs/performance.md shows how to use it.

use crate::gen_events::{self, Rng};
use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, ValueEnum)]
pub enum Shape {
    /// The canonical application schema (logins, reads of personal data, exports).
    App,
    /// Sysmon events rendered as JSON (Event.System, Event.EventData), as `vigie bench` uses.
    Sysmon,
}

#[derive(Args)]
pub struct LoadgenArgs {
    /// Base URL of the engine's HTTP server.
    #[arg(long, default_value = "http://127.0.0.1:9600")]
    pub url: String,
    /// The engine's API token.
    #[arg(long)]
    pub token: String,
    /// Events per second to offer; 0 sends as fast as the engine accepts.
    #[arg(long, default_value_t = 0)]
    pub rate: u64,
    /// How long to send, in seconds.
    #[arg(long, default_value_t = 20)]
    pub seconds: u64,
    /// Concurrent connections (requests in flight).
    #[arg(long, default_value_t = 16)]
    pub connections: usize,
    /// Events per request.
    #[arg(long, default_value_t = 1000)]
    pub batch: usize,
    /// What the events look like.
    #[arg(long, value_enum, default_value = "app")]
    pub shape: Shape,
    /// With `app`, one event in this many is a bulk export that raises an alert.
    #[arg(long, default_value_t = 1000)]
    pub match_every: u64,
    /// Receive alerts on this address (configure a webhook sink to
    /// http://<addr>/alerts) and report send-to-alert latency.
    #[arg(long, value_name = "ADDR")]
    pub listen: Option<String>,
    /// Report the peak memory (VmHWM) of this process id, the engine's, at the end.
    #[arg(long)]
    pub pid: Option<u32>,
    /// Print the result as one JSON object.
    #[arg(long)]
    pub json: bool,
}

#[derive(serde::Serialize, Default)]
struct Report {
    offered_rate: u64,
    seconds: f64,
    events_accepted: u64,
    events_per_second: f64,
    requests: u64,
    refused_429: u64,
    failed: u64,
    alerts_received: u64,
    latency_ms_p50: Option<f64>,
    latency_ms_p99: Option<f64>,
    latency_ms_max: Option<f64>,
    engine_peak_rss_mb: Option<f64>,
}

/// A bulk export of 5,000 person-records: the built-in rule
/// "Bulk Export of Personal Data From the Application" fires on it.
fn export(seq: u64) -> String {
    format!(
        r#""event":{{"category":["database"],"type":["access"],"action":"beneficiary.export","outcome":"success","dataset":"portal.audit"}},"user":{{"name":"exp{seq:09}","roles":["advisor"]}},"source":{{"ip":"10.9.9.9"}},"data_subject":{{"count":5000,"categories":["identity","nir"]}}}}"#
    )
}

fn now_us() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_micros() as u64)
}

/// A pool of event lines (without their opening brace), cycled through.
fn pool(shape: Shape, n: usize) -> Vec<Vec<u8>> {
    let mut rng = Rng::new(7);
    let mut out = Vec::with_capacity(n);
    for i in 0..n as u64 {
        let mut line = Vec::new();
        match shape {
            Shape::Sysmon => gen_events::event(&mut rng, i, &mut line),
            Shape::App => {
                let user = format!("adv{:05}", rng.below(5000));
                let count = 1;
                let ip = format!("10.{}.{}.{}", rng.below(4), rng.below(250), rng.below(250));
                line = format!(
                    r#"{{"event":{{"category":["database"],"type":["access"],"action":"beneficiary.view","outcome":"success","dataset":"portal.audit"}},"user":{{"name":"{user}","roles":["advisor"],"group":{{"name":"agence-{:03}"}}}},"source":{{"ip":"{ip}"}},"url":{{"path":"/api/v2/beneficiaries/{}"}},"data_subject":{{"ids":["{}"],"count":{count},"categories":["identity","nir"]}}}}"#,
                    rng.below(100),
                    rng.below(10_000_000),
                    rng.below(10_000_000)
                )
                .into_bytes();
            }
        }
        // Keep what follows the opening brace: the send time goes in front.
        if line.first() == Some(&b'{') {
            line.remove(0);
        }
        out.push(line);
    }
    out
}

pub fn run(args: LoadgenArgs) -> Result<ExitCode> {
    vigie_runtime::install_crypto();
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build()?;
    rt.block_on(drive(args))
}

async fn drive(args: LoadgenArgs) -> Result<ExitCode> {
    let pool = Arc::new(pool(args.shape, 50_000));
    let latencies: Arc<std::sync::Mutex<Vec<u64>>> = Arc::default();
    if let Some(addr) = &args.listen {
        let lat = latencies.clone();
        let app = axum::Router::new().route(
            "/alerts",
            axum::routing::post(move |body: axum::body::Bytes| {
                let lat = lat.clone();
                async move {
                    let now = now_us();
                    if let Ok(v) = serde_json::from_slice::<serde_json::Value>(&body)
                        && let Some(sent) = v["event"]["loadgen"]["sent_us"].as_u64()
                        && let Ok(mut l) = lat.lock()
                    {
                        l.push(now.saturating_sub(sent));
                    }
                    "ok"
                }
            }),
        );
        let l = tokio::net::TcpListener::bind(addr).await.with_context(|| format!("--listen {addr}"))?;
        tokio::spawn(async move {
            let _ = axum::serve(l, app).await;
        });
    }
    let client = reqwest::Client::builder().pool_max_idle_per_host(args.connections).build()?;
    let url = format!("{}/ingest", args.url.trim_end_matches('/'));
    let (accepted, requests, refused, failed) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let next = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = start + Duration::from_secs(args.seconds);
    // With a rate, each connection sends its share on a fixed schedule.
    let per_conn_interval = (args.rate > 0)
        .then(|| Duration::from_secs_f64(args.batch as f64 * args.connections as f64 / args.rate as f64));
    let mut tasks = Vec::new();
    for c in 0..args.connections {
        let (client, url, pool, token) = (client.clone(), url.clone(), pool.clone(), args.token.clone());
        let (accepted, requests, refused, failed, next) =
            (accepted.clone(), requests.clone(), refused.clone(), failed.clone(), next.clone());
        let (batch, shape, match_every) = (args.batch, args.shape, args.match_every);
        tasks.push(tokio::spawn(async move {
            let mut tick = per_conn_interval.map(|iv| {
                let mut t = tokio::time::interval_at(tokio::time::Instant::now() + iv.mul_f64(c as f64 / 16.0), iv);
                t.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
                t
            });
            while Instant::now() < end {
                if let Some(t) = tick.as_mut() {
                    t.tick().await;
                }
                let first = next.fetch_add(batch as u64, Relaxed);
                let sent = now_us();
                let prefix = format!(
                    "{{\"@timestamp\":\"{}\",\"loadgen\":{{\"sent_us\":{sent}}},",
                    vigie_alert::rfc3339((sent / 1000) as i64)
                );
                let mut body = Vec::with_capacity(batch * 600);
                for k in 0..batch as u64 {
                    let seq = first + k;
                    body.extend_from_slice(prefix.as_bytes());
                    if matches!(shape, Shape::App) && match_every > 0 && seq % match_every == 0 {
                        // A bulk export by an account of its own, so that no
                        // alert is merged into an earlier one.
                        body.extend_from_slice(export(seq).as_bytes());
                    } else {
                        body.extend_from_slice(&pool[(seq % pool.len() as u64) as usize]);
                    }
                    body.push(b'\n');
                }
                requests.fetch_add(1, Relaxed);
                let r = client
                    .post(&url)
                    .bearer_auth(&token)
                    .header("content-type", "application/x-ndjson")
                    .body(body)
                    .send()
                    .await;
                match r.map(|r| r.status().as_u16()) {
                    Ok(200) => {
                        accepted.fetch_add(batch as u64, Relaxed);
                    }
                    Ok(429) => {
                        refused.fetch_add(1, Relaxed);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    _ => {
                        failed.fetch_add(1, Relaxed);
                    }
                }
            }
        }));
    }
    for t in tasks {
        let _ = t.await;
    }
    let seconds = start.elapsed().as_secs_f64();
    // Alerts of the last requests may still be on their way.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut lat = latencies.lock().map(|l| l.clone()).unwrap_or_default();
    lat.sort_unstable();
    let pct = |p: f64| {
        (!lat.is_empty()).then(|| lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1] as f64 / 1000.0)
    };
    let rep = Report {
        offered_rate: args.rate,
        seconds,
        events_accepted: accepted.load(Relaxed),
        events_per_second: accepted.load(Relaxed) as f64 / seconds,
        requests: requests.load(Relaxed),
        refused_429: refused.load(Relaxed),
        failed: failed.load(Relaxed),
        alerts_received: lat.len() as u64,
        latency_ms_p50: pct(0.50),
        latency_ms_p99: pct(0.99),
        latency_ms_max: lat.last().map(|&m| m as f64 / 1000.0),
        engine_peak_rss_mb: args.pid.and_then(peak_rss_mb),
    };
    if args.json {
        println!("{}", serde_json::to_string(&rep)?);
    } else {
        println!(
            "{:.0} events/s accepted ({} events in {:.1} s, {} requests, {} refused with 429, {} failed)",
            rep.events_per_second, rep.events_accepted, rep.seconds, rep.requests, rep.refused_429, rep.failed
        );
        if let (Some(p50), Some(p99), Some(max)) = (rep.latency_ms_p50, rep.latency_ms_p99, rep.latency_ms_max) {
            println!(
                "{} alerts; send-to-alert latency p50 {p50:.1} ms, p99 {p99:.1} ms, max {max:.1} ms",
                rep.alerts_received
            );
        }
        if let Some(m) = rep.engine_peak_rss_mb {
            println!("engine peak memory (VmHWM): {m:.0} MB");
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let kb: f64 = s.lines().find(|l| l.starts_with("VmHWM:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}
