//! `vigie demo`: the France Travail attack, replayed against a simulated
//! agency through the real engine, contained, measured, and left in a
//! console to explore. No configuration, no server.
//!
//! 1. Simulate the agency's last two weeks, with the attack starting on the
//!    latest weekday evening (a help-desk reset, a login from a new source,
//!    then bulk reads), so that the regulator's clock is running now.
//! 2. Replay it once to learn when vigie would suspend the account.
//! 3. Take out what the application would have refused once suspended (the
//!    account's acts after the suspension), and replay again, for real:
//!    into the store, with the actions called on a local stand-in for the
//!    organisation's IAM.
//! 4. Tell the story, and serve the console on 127.0.0.1.

use anyhow::{Context, Result};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use vigie_alert::rfc3339;
use vigie_runtime::config::Config;
use vigie_simulate::{SimConfig, simulate};

#[derive(Args)]
pub struct DemoArgs {
    /// Address of the console.
    #[arg(long, default_value = "127.0.0.1:9600")]
    pub listen: String,
    /// Keep the demo's files (events, alerts, store) in this folder; default: a temporary one.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Accounts in the simulated agency.
    #[arg(long, default_value_t = 600)]
    pub accounts: usize,
    /// The same seed gives the same agency and attack.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Tell the story and stop, without serving the console.
    #[arg(long)]
    pub no_serve: bool,
    /// Print the story as one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Require a second factor of admins and DPOs ([console] require_mfa):
    /// the demo user, an admin, enrols one at its first login.
    #[arg(long)]
    pub require_mfa: bool,
}

const DAYS: u32 = 14;

/// What the demo found, for people (text) and scripts (--json).
#[derive(Debug, serde::Serialize)]
pub struct Story {
    pub victim: String,
    pub attack_started: String,
    pub first_malicious_read: String,
    pub detected: String,
    pub minutes_to_detect: f64,
    pub detection: String,
    pub contained: String,
    pub minutes_to_contain: f64,
    pub containment: Vec<String>,
    /// Containment that fell on accounts or addresses not in the attack
    /// (must stay empty).
    pub innocent_contained: Vec<String>,
    pub records_read_before_containment: u64,
    pub people_exposed: u64,
    pub records_unchecked: u64,
    pub people_unchecked: u64,
    pub unchecked_until: String,
    pub incident: String,
    pub awareness: String,
    pub gdpr_deadline: String,
    pub gdpr_remaining: String,
    pub events: u64,
    pub alerts: u64,
}

/// The latest weekday whose attack (from 17:20 Paris) is at least two
/// hours old, and the simulation's first day so that the attack falls on
/// it (the scenario starts on the first weekday of the last third).
fn dates(now: jiff::Timestamp) -> Result<jiff::civil::Date> {
    let tz = jiff::tz::TimeZone::get("Europe/Paris")?;
    let mut day = now.to_zoned_datetime(tz.clone()).date();
    loop {
        let evening = day.at(20, 0, 0, 0).to_zoned_datetime(tz.clone())?.timestamp();
        let weekday = day.weekday().to_monday_zero_offset() < 5;
        if weekday && evening <= now {
            break;
        }
        day = day.yesterday()?;
    }
    let third = (DAYS * 2 / 3) as i64;
    Ok(day.checked_sub(jiff::Span::new().days(third))?)
}

/// (timestamp ms, account) of a simulated line, read without a full parse.
fn line_facts(line: &str) -> (i64, &str, &str) {
    let ts = line
        .split("\"@timestamp\":\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(0, |t| t.as_millisecond());
    let user = line.split("\"user\":{\"name\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
    let ip = line.split("\"source\":{\"ip\":\"").nth(1).and_then(|r| r.split('"').next()).unwrap_or("");
    (ts, user, ip)
}

/// Copy `from` to `to`, keeping lines that `keep` accepts.
fn filter(from: &Path, to: &Path, keep: &dyn Fn(i64, &str, &str) -> bool) -> Result<u64> {
    let r = std::io::BufReader::new(std::fs::File::open(from)?);
    let mut w = std::io::BufWriter::new(std::fs::File::create(to)?);
    let mut n = 0;
    for line in r.lines() {
        let line = line?;
        let (ts, user, ip) = line_facts(&line);
        if keep(ts, user, ip) {
            w.write_all(line.as_bytes())?;
            w.write_all(b"\n")?;
            n += 1;
        }
    }
    w.flush()?;
    Ok(n)
}

/// What the attack would have read by now if nothing had stopped it:
/// (person-records, distinct people), from its address's reads.
fn unchecked(events: &Path, ips: &[String]) -> Result<(u64, u64)> {
    let mut people = std::collections::HashSet::new();
    let mut records = 0u64;
    for line in std::io::BufReader::new(std::fs::File::open(events)?).lines() {
        let line = line?;
        let (_, _, ip) = line_facts(&line);
        if !ips.iter().any(|x| x == ip) || !line.contains("\"data_subject\"") {
            continue;
        }
        let v: serde_json::Value = serde_json::from_str(&line)?;
        let ids = v["data_subject"]["ids"].as_array().map_or(0, |a| a.len() as u64);
        records += v["data_subject"]["count"].as_u64().unwrap_or(ids).max(ids);
        for id in v["data_subject"]["ids"].as_array().into_iter().flatten() {
            people.insert(id.to_string());
        }
    }
    Ok((records, people.len() as u64))
}

/// The organisation's IAM, as far as the demo needs one: it accepts
/// vigie's signed action calls and remembers them.
async fn iam(calls: Arc<Mutex<Vec<(String, serde_json::Value)>>>) -> Result<String> {
    use axum::routing::post;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().route(
        "/iam/{action}",
        post(move |axum::extract::Path(action): axum::extract::Path<String>, body: axum::body::Bytes| {
            let calls = calls.clone();
            async move {
                let v: serde_json::Value = serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null);
                if let Ok(mut c) = calls.lock() {
                    c.push((action, v));
                }
                axum::Json(serde_json::json!({"ok": true}))
            }
        }),
    );
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(format!("http://{addr}/iam"))
}

pub fn run(a: DemoArgs) -> Result<ExitCode> {
    let tmp;
    let dir = match &a.dir {
        Some(d) => {
            std::fs::create_dir_all(d)?;
            d.clone()
        }
        None => {
            tmp = std::env::temp_dir().join(format!("vigie-demo-{}", std::process::id()));
            std::fs::create_dir_all(&tmp)?;
            tmp.clone()
        }
    };
    let now = jiff::Timestamp::now();
    let start = dates(now)?;
    let say = |s: &str| {
        if !a.json {
            eprintln!("{s}");
        }
    };
    say(&format!("Simulating an agency of {} accounts over {DAYS} days from {start} (seed {})...", a.accounts, a.seed));
    let sim = SimConfig {
        seed: a.seed,
        accounts: a.accounts,
        subjects: 2_000_000,
        days: DAYS,
        start,
        scenarios: vec!["france_travail".into()],
    };
    let all = dir.join("simulated.jsonl");
    let bar = if a.json { ProgressBar::hidden() } else { ProgressBar::new(DAYS as u64) };
    bar.set_style(
        ProgressStyle::with_template("  {bar:30} {pos}/{len} days").unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let (truth, _) = {
        let mut out = std::io::BufWriter::new(std::fs::File::create(&all)?);
        let r = simulate(&sim, &mut out, &|d| bar.set_position(d as u64))?;
        out.flush()?;
        r
    };
    bar.finish_and_clear();
    let s = truth.scenarios.first().context("the simulation has no attack")?;
    let victim = s.accounts.first().cloned().context("the attack has no account")?;
    // The future has not happened yet.
    let cut = now.as_millisecond();
    let past = dir.join("events.jsonl");
    let n = filter(&all, &past, &|ts, _, _| ts <= cut)?;
    say(&format!("  {n} events up to now; the attack on {victim} starts {}", s.start));

    // Pass 1: when would vigie suspend the account?
    say("Replaying through the engine to find when vigie contains the attack...");
    let cfg1 = Config::default();
    let (a1, x1) = (dir.join("pass1-alerts.jsonl"), dir.join("pass1-actions.jsonl"));
    vigie_runtime::replay(&cfg1, std::slice::from_ref(&past), &a1, Some(&x1))?;
    let suspended_at = std::fs::read_to_string(&x1)?
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["action"]["type"] == "suspend_user" && v["user"]["name"] == victim.as_str())
        .filter_map(|v| v["@timestamp"].as_str().and_then(|t| t.parse::<jiff::Timestamp>().ok()))
        .map(|t| t.as_millisecond())
        .min();

    // Pass 2: what the application would have served once the account was
    // suspended and the address blocked, for real.
    let contained = dir.join("events-contained.jsonl");
    let attacker_ips = s.source_ips.clone();
    let attacker_accounts = s.accounts.clone();
    filter(&past, &contained, &|ts, user, ip| match suspended_at {
        Some(t) if ts > t => !attacker_accounts.iter().any(|x| x == user) && !attacker_ips.iter().any(|x| x == ip),
        _ => true,
    })?;
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build()?;
    let calls = Arc::new(Mutex::new(Vec::new()));
    let iam_url = rt.block_on(iam(calls.clone()))?;
    let mut cfg = Config::default();
    cfg.engine.state_dir = dir.join("state");
    cfg.server.listen = a.listen.clone();
    cfg.console.require_mfa = a.require_mfa;
    cfg.organisation.name = Some("Agence simulée (vigie demo)".into());
    cfg.organisation.dpo_email = Some("dpo@agence.example".into());
    for t in vigie_respond::ActionType::ALL {
        let act = cfg.response.actions.entry(t).or_insert_with(|| vigie_respond::ActionConfig {
            url: None,
            secret: None,
            secret_env: None,
            max_retries: 3,
            timeout: "10s".into(),
            rate_limit: None,
            approval: false,
            payload: None,
        });
        act.url = Some(format!("{iam_url}/{}", t.name()));
        act.secret = Some("demo-secret".into());
    }
    // A fresh store each run: the demo tells one story.
    let _ = std::fs::remove_dir_all(&cfg.engine.state_dir);
    let h = vigie_runtime::open_store(&cfg)?.context("the store is off")?;
    say("Streaming it again, contained, into the store (actions called on a stand-in IAM)...");
    let summary = vigie_runtime::replay_to(
        &cfg,
        std::slice::from_ref(&contained),
        vigie_runtime::ReplayOutputs {
            alerts: Some(&dir.join("alerts.jsonl")),
            actions: Some(&dir.join("actions.jsonl")),
            store: Some(&h),
            act: true,
        },
    )?;
    h.writer.flush().map_err(|e| anyhow::anyhow!("{e}"))?;
    let unchecked = unchecked(&past, &s.source_ips)?;
    let story = story(&h.store, s, &victim, &calls, &summary, unchecked)?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&story)?);
    } else {
        print_story(&story);
    }
    if a.no_serve {
        return Ok(ExitCode::SUCCESS);
    }
    serve(&cfg, &h, &a.listen, summary.events, rt)
}

fn story(
    store: &vigie_store::Store,
    s: &vigie_simulate::truth::Scenario,
    victim: &str,
    calls: &Mutex<Vec<(String, serde_json::Value)>>,
    summary: &vigie_runtime::engine::Summary,
    unchecked: (u64, u64),
) -> Result<Story> {
    let alerts = store.alerts(&vigie_store::AlertFilter {
        account: Some(victim.into()),
        min_level: Some(vigie_alert::Severity::High),
        limit: Some(5000),
        ..Default::default()
    })?;
    let first_high = alerts
        .iter()
        .filter(|r| r.first_seen_ms >= s.start_ms)
        .min_by_key(|r| r.first_seen_ms)
        .context("vigie raised no high alert on the victim")?;
    let incident = alerts
        .iter()
        .filter(|r| r.kind == "incident")
        .min_by_key(|r| r.first_seen_ms)
        .context("vigie raised no incident on the victim")?;
    let report = vigie_investigate::incident::report(store, &incident.id)?;
    let contained_at = report
        .actions
        .iter()
        .filter(|x| x.action == "suspend_user")
        .map(|x| x.at_ms)
        .min()
        .context("the victim was not suspended")?;
    let first_read = s.reads.first().map_or(s.start_ms, |r| r.0);
    // The calls that contained the attack (on its account or address), and
    // any that fell on someone else: the demo must contain only the attacker.
    let mut containment = Vec::new();
    let mut innocent = Vec::new();
    for (a, v) in calls.lock().map(|c| c.clone()).unwrap_or_default() {
        let account = v.get("account").and_then(|x| x.as_str());
        let ip = v.get("ip").and_then(|x| x.as_str());
        let line = format!("{a} {}", account.or(ip).unwrap_or("")).trim().to_string();
        let attack = account.is_some_and(|u| s.accounts.iter().any(|x| x == u))
            || ip.is_some_and(|i| s.source_ips.iter().any(|x| x == i));
        if attack {
            containment.push(line);
        } else if a != "create_ticket" {
            innocent.push(line);
        }
    }
    let d = vigie_investigate::notify::deadlines(report.awareness_ms, vigie_store::now_ms());
    Ok(Story {
        victim: victim.into(),
        attack_started: rfc3339(s.start_ms),
        first_malicious_read: rfc3339(first_read),
        detected: rfc3339(first_high.first_seen_ms),
        minutes_to_detect: (first_high.first_seen_ms - first_read) as f64 / 60_000.0,
        detection: first_high.reason.clone(),
        contained: rfc3339(contained_at),
        minutes_to_contain: (contained_at - first_read) as f64 / 60_000.0,
        containment,
        innocent_contained: innocent,
        records_read_before_containment: report.impact.records,
        people_exposed: report.impact.subjects,
        records_unchecked: unchecked.0,
        people_unchecked: unchecked.1,
        unchecked_until: rfc3339(vigie_store::now_ms()),
        incident: incident.id.clone(),
        awareness: d.awareness.clone(),
        gdpr_deadline: d.gdpr_art33.due.clone(),
        gdpr_remaining: d.gdpr_art33.remaining.clone(),
        events: summary.events,
        alerts: summary.alerts,
    })
}

/// "N min after the first read", or before it (the help-desk path is
/// often seen at the intruder's login, before any read).
fn from_first_read(minutes: f64) -> String {
    if minutes < 0.0 {
        format!("{:.1} min before the first read", -minutes)
    } else {
        format!("{minutes:.1} min after the first read")
    }
}

fn print_story(s: &Story) {
    println!();
    println!("What happened");
    // In time order (timestamps of one format sort as text).
    let mut lines: Vec<(&str, Vec<String>)> = vec![
        (
            &s.attack_started,
            vec![format!(
                "the help desk resets {}'s password for a caller; the attacker logs in from a new address",
                s.victim
            )],
        ),
        (&s.first_malicious_read, vec!["first bulk read of beneficiaries' records".to_string()]),
        (
            &s.detected,
            vec![format!("vigie raises a high alert, {}:", from_first_read(s.minutes_to_detect)), s.detection.clone()],
        ),
        (
            &s.contained,
            vec![
                format!("contained, {}: {}", from_first_read(s.minutes_to_contain), s.containment.join(", ")),
                if s.innocent_contained.is_empty() {
                    "no other account or address was contained".to_string()
                } else {
                    format!(
                        "also contained, outside the attack (false containments): {}",
                        s.innocent_contained.join(", ")
                    )
                },
            ],
        ),
    ];
    lines.sort_by(|a, b| a.0.cmp(b.0));
    for (at, text) in lines {
        for (i, t) in text.iter().enumerate() {
            if i == 0 {
                println!("  {at}  {t}");
            } else {
                println!("  {:width$}  {t}", "", width = at.len());
            }
        }
    }
    println!();
    println!(
        "Exposed: {} person-records of {} people, instead of the {} records of {} people the attack would have read by now ({}).",
        s.records_read_before_containment, s.people_exposed, s.records_unchecked, s.people_unchecked, s.unchecked_until
    );
    println!(
        "Regulator: awareness at {}; the GDPR Art. 33 notification is due by {} ({}).",
        s.awareness, s.gdpr_deadline, s.gdpr_remaining
    );
    println!("({} events, {} alerts; incident {})", s.events, s.alerts, s.incident);
}

fn serve(
    cfg: &Config,
    h: &vigie_runtime::StoreHandle,
    listen: &str,
    events: u64,
    rt: tokio::runtime::Runtime,
) -> Result<ExitCode> {
    let engine = vigie_runtime::build_engine(cfg)?;
    let rules = vigie_runtime::rules_summary(&engine);
    let metrics = vigie_runtime::metrics::Metrics::default();
    metrics.events_total.store(events, std::sync::atomic::Ordering::Relaxed);
    let console = vigie_runtime::console(cfg, h, rules, &metrics)?;
    let password = vigie_console::auth::random_token();
    let hash = vigie_console::auth::hash_password(&password).map_err(|e| anyhow::anyhow!("{e}"))?;
    h.store.put_user("demo", "admin", &hash)?;
    let app = vigie_console::router(console).route("/healthz", axum::routing::get(|| async { "ok\n" }));
    let listener = rt.block_on(tokio::net::TcpListener::bind(listen)).with_context(|| format!("--listen {listen}"))?;
    let addr = listener.local_addr()?;
    println!();
    println!("Console: http://{addr}/console/");
    println!("  user: demo   password: {password}   (one-time: a new one each run)");
    println!("Press Ctrl-C to stop.");
    std::io::stdout().flush()?;
    rt.block_on(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>())
            .with_graceful_shutdown(async {
                let _ = tokio::signal::ctrl_c().await;
            })
            .await
    })?;
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_detection_before_the_first_read_is_said_so() {
        assert_eq!(super::from_first_read(-55.0), "55.0 min before the first read");
        assert_eq!(super::from_first_read(3.25), "3.2 min after the first read");
    }
}
