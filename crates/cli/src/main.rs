//! The `vigie` command line.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

mod admin;
mod aftermath;
mod bench;
mod bench_state;
mod bench_trail;
mod demo;
mod eval;
mod gen_events;
mod hunt;
mod lint;
mod live;
mod loadgen;
mod output;
mod rules;
mod simulate;
mod varied;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// vigie: real-time threat detection and response for personal-data systems.
///
/// Start with the demo: a simulated agency, the France Travail attack,
/// caught, contained and measured, then a console to explore it:
///
///   vigie demo
///
/// Or a retro-hunt over log files with the SigmaHQ rules:
///
///   vigie hunt --rules rules/sigma samples/
///
/// Every command explains itself with `vigie <command> --help`.
#[derive(Parser)]
#[command(name = "vigie", version, about, long_about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// The France Travail attack against a simulated agency: detected, contained, measured, and a console to explore.
    ///
    /// Simulates an agency's last two weeks in which a help desk resets a
    /// partner adviser's password for an attacker, who then logs in from a
    /// new address and harvests beneficiaries' records. Streams it through
    /// the real engine, calls the containment actions on a local stand-in
    /// for the organisation's IAM, fills the store, prints what happened and
    /// the regulator's deadline, and serves the console on 127.0.0.1 with a
    /// one-time login. Needs no configuration and no server.
    ///
    /// Examples:
    ///
    ///   vigie demo
    ///
    ///   vigie demo --no-serve --json > story.json
    Demo(demo::DemoArgs),
    /// Search log files (EVTX, JSON lines, JSON arrays, gzip, directories) with Sigma rules.
    ///
    /// Each input event is recognised by its shape (EVTX, EVTX rendered as JSON,
    /// flat Windows JSON, ECS, the personal-data application schema), routed to
    /// the rules of its log source, and matched. Detections are printed as a
    /// table, or one JSON object per line with --jsonl; a summary follows on
    /// standard error.
    ///
    /// Examples:
    ///
    ///   vigie hunt --rules rules/sigma samples/
    ///
    ///   vigie hunt --rules rules/sigma/rules --rules my-rules.yml --jsonl logs/*.evtx > hits.jsonl
    ///
    ///   vigie hunt --rules my-rules/ --mapping my-app.yml app-audit.jsonl.gz
    Hunt(hunt::HuntArgs),
    /// Work with rule files.
    #[command(subcommand)]
    Rules(RulesCommand),
    /// Measure matching speed with the full rule set on a corpus (see docs/performance.md).
    Bench(bench::BenchArgs),
    /// Run the real-time engine: inputs, Sigma rules, correlations, alerts to sinks, checkpoints.
    ///
    /// Inputs (stdin, followed files, HTTP NDJSON and Elasticsearch _bulk, syslog,
    /// NATS JetStream) and sinks (JSONL, stdout, signed webhooks, syslog, NATS)
    /// come from the configuration file. State is checkpointed to the state
    /// folder and restored at start: after a crash nothing is lost or repeated.
    /// SIGTERM drains, flushes and checkpoints.
    ///
    /// Alerts, actions, triage and the pseudonymised data-access trail go to the
    /// store (SQLite in the state folder, or PostgreSQL), and the web console and
    /// its API are served on [server] listen: http://127.0.0.1:9600/console/ by
    /// default. Create its users with `vigie users add`.
    ///
    /// Example:
    ///
    ///   vigie run --config vigie.toml
    Run(live::RunArgs),
    /// Replay log files through the real-time engine, as fast as they can be read, in event time.
    ///
    /// The same code path as `run`, so a replay shows what the live engine
    /// would have alerted on: Sigma matches, correlations, merged repeats.
    /// Without --config, the built-in rules are used.
    ///
    /// Examples:
    ///
    ///   vigie replay samples/ --alerts alerts.jsonl
    ///
    ///   vigie replay --config vigie.toml logs/2026-11-*.jsonl.gz --alerts november.jsonl --actions actions.jsonl
    ///
    /// With --actions, the response actions the alerts call for are written
    /// too, decided by the same policy and guardrails as `run`, but a replay
    /// never calls a webhook: they are recorded as dry_run (or pending_approval).
    Replay(live::ReplayArgs),
    /// Offer load to a running engine's HTTP ingest and measure throughput and alert latency.
    ///
    /// Runs as its own process, on 127.0.0.1. Throughput counts events the
    /// engine accepted (a 200 means processed and checkpointed). With --listen
    /// and a webhook sink pointing at http://<listen>/alerts, it also measures
    /// the time from sending an event to receiving its alert.
    ///
    /// Example (see docs/performance.md):
    ///
    ///   vigie loadgen --token $(cat vigie-state/token) --rate 20000 --seconds 30 --listen 127.0.0.1:9700
    Loadgen(loadgen::LoadgenArgs),
    /// Simulate an organisation's application access log, with attacks and their ground truth.
    ///
    /// Agencies and partner organisations, advisers with caseloads, managers,
    /// help desk, administrators and service accounts, with working hours,
    /// lunch, remote days, typos, holidays, travel, new hires and colleagues
    /// covering for each other. The attacks (the France Travail path, stolen
    /// partner credentials, low-and-slow, spraying then export, a stolen
    /// service token, impossible travel, an account creator, a curious
    /// insider) start in the last third. Deterministic per seed.
    ///
    /// Example (then replay it and score the result with `vigie eval`):
    ///
    ///   vigie simulate --accounts 2000 --days 21 --seed 1 --out sim.jsonl --truth truth.json
    Simulate(simulate::SimulateArgs),
    /// Score alerts and actions against a simulation's ground truth.
    ///
    /// For each attack: detected at high or above or not, minutes to detect
    /// and to contain, records taken before each; and false high alerts per
    /// 1,000 account-days. Give several --truth/--alerts/--actions (one per
    /// seed, in order) to aggregate seeds.
    ///
    /// Example:
    ///
    ///   vigie replay sim.jsonl --alerts alerts.jsonl --actions actions.jsonl
    ///
    ///   vigie eval --truth truth.json --alerts alerts.jsonl --actions actions.jsonl --svg efficacy.svg
    Eval(eval::EvalArgs),
    /// Measure the memory the behaviour analytics hold per account.
    ///
    /// Creates many accounts with a few days of logins and reads each, then
    /// reports resident memory per account, the estimate vigie makes of it,
    /// and the size of an account's checkpoint row (docs/performance.md).
    ///
    /// Example: vigie bench-state --accounts 1000000
    BenchState(bench_state::BenchStateArgs),
    /// Measure the data-access trail: write rate, bytes per read, impact queries.
    ///
    /// Writes a synthetic trail of reads, each of a different person, through
    /// the store as the engine does (flushed at each simulated checkpoint),
    /// then times the impact of one account over the window and of every
    /// account that used one source address (docs/performance.md).
    ///
    /// Example: vigie bench-trail --dir /tmp/trail-bench --reads 10000000 --accounts 10000 --days 30
    BenchTrail(bench_trail::BenchTrailArgs),
    /// Breach impact: exactly whose records an incident, accounts or addresses read, from the store's trail.
    ///
    /// People are counted from pseudonyms (the store never holds raw ids), per
    /// data category; records returned without ids are estimated, with the
    /// basis; first and last access, records, bytes and indicators follow.
    ///
    /// Examples:
    ///
    ///   vigie impact --config vigie.toml --incident 5f0c...
    ///
    ///   vigie impact --store vigie-state/vigie.db --account adv00042 --from 2026-03-01T00:00:00Z --subjects-csv exposed.csv
    ///
    ///   vigie impact --store postgres://vigie@db/vigie --source 185.220.101.7 --json
    Impact(aftermath::ImpactArgs),
    /// Draft the GDPR Art. 33 and 34 and NIS2 notifications of an incident, with their deadlines.
    ///
    /// Example: vigie notify --config vigie.toml --incident 5f0c... --out notifications/
    Notify(aftermath::NotifyArgs),
    /// Resolve an exported pseudonymised subject list against the organisation's own list, with its key.
    ///
    /// Example: vigie reidentify --key-file vigie-state/pseudonym.key --pseudonyms exposed.csv --subjects beneficiaries.csv --out to-notify.csv
    Reidentify(aftermath::ReidentifyArgs),
    /// Console users (argon2 passwords; roles analyst, dpo, admin).
    #[command(subcommand)]
    Users(admin::UsersCommand),
    /// API tokens for scripts (sent as Authorization: Bearer <token>): create, list, revoke.
    ///
    /// Examples:
    ///
    ///   vigie token siem-export --role analyst --config vigie.toml
    ///
    ///   vigie token list --config vigie.toml --json
    ///
    ///   vigie token revoke 3f9a0c1d2e4b5a69 --config vigie.toml
    Token(admin::TokenCommand),
    /// The HMAC-chained audit log of analyst actions.
    #[command(subcommand)]
    Audit(admin::AuditCommand),
}

#[derive(Subcommand)]
enum RulesCommand {
    /// Load rules and report every rule that loaded and every rule that did not, with the reason.
    ///
    /// Exit status is 0 when every rule loaded, 1 when some were rejected.
    ///
    /// Example: vigie rules check --placeholders rules/placeholders.yml rules/sigma
    Check {
        /// Rule files or directories (searched recursively for .yml and .yaml).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// Values for `%placeholder%` names used with the `expand` modifier.
        #[arg(long)]
        placeholders: Option<PathBuf>,
        /// Print one JSON object: {"loaded": N, "rejected": [{"path", "id", "reason"}]}.
        #[arg(long)]
        json: bool,
        /// Also list every loaded rule.
        #[arg(long, short)]
        verbose: bool,
    },
    /// Lint Sigma rules: catch mistakes and convention breaks the loader accepts.
    ///
    /// One hundred checks, each with an id, a severity and a reason: those of
    /// pySigma's core validators and of SigmaHQ's validator plugin, and
    /// vigie's own. Metadata (a UUID `id` unique across the set, title,
    /// author, YYYY-MM-DD dates, status and level values), tags
    /// (`namespace.name` in lowercase, valid ATT&CK, CAR, CVE, D3FEND, STP and
    /// TLP tags, no duplicates), the log source and its field names against
    /// SigmaHQ's taxonomy, the detection (every search used by the condition
    /// and no unknown one, no `'*'`-only value, no `|all` with one value,
    /// valid `|re` patterns, no redundant wildcards next to `|contains`), file
    /// names, and correlations and filters (they name rules of the set, a
    /// `timespan`, a `group-by` list). Every check is listed in docs/lint.md.
    ///
    /// Findings print as `path:line: severity check-id: reason`, grouped by
    /// file. Exit status is 1 when an error-severity finding remains, else 0
    /// (2 for a usage error, such as an unknown check id in the config).
    ///
    /// A config file turns checks off or changes their severity:
    ///
    ///   disable: [wildcard-instead-of-modifier]
    ///
    ///   severity: {missing-author: error, title-too-long: info}
    ///
    /// Examples:
    ///
    ///   vigie rules lint rules/vigie rules/sigma
    ///
    ///   vigie rules lint --config lint.yml --json --junit lint.xml rules/
    ///
    ///   vigie rules lint --fix rules/vigie   (lowercases tags, removes duplicate tags)
    Lint {
        /// Rule files or directories (searched recursively for .yml and .yaml).
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        /// YAML file with `disable: [check-id, ...]` and `severity: {check-id: error|warning|info}`.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Print one JSON object: counts, counts per check, and every finding
        /// with path, line, rule id, check, severity, reason and detail.
        #[arg(long)]
        json: bool,
        /// Also write a JUnit XML report to FILE: a testsuite per file, a
        /// testcase per rule, a failure per finding.
        #[arg(long, value_name = "FILE")]
        junit: Option<PathBuf>,
        /// Apply the safe fixes in place (lowercase tags, remove duplicate
        /// tags) as exact text edits, then lint the fixed files.
        #[arg(long)]
        fix: bool,
    },
}

/// Files vigie creates hold alerts, password hashes and keys: owner-only,
/// whatever umask the shell or service manager gave (0600 files, 0700
/// folders; SQLite, redb, JSONL sinks and checkpoints all follow it).
fn private_umask() {
    #[cfg(unix)]
    // SAFETY: umask only sets the process's file mode creation mask; it
    // cannot fail and touches no memory.
    unsafe {
        libc::umask(0o077);
    }
}

fn main() -> ExitCode {
    private_umask();
    vigie_runtime::install_panic_hook();
    let cli = Cli::parse();
    // Logs go to standard error; RUST_LOG=debug shows more.
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info,evtx=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let result = match cli.command {
        Command::Hunt(args) => hunt::run(args),
        Command::Rules(RulesCommand::Check { paths, placeholders, json, verbose }) => {
            rules::check(&paths, placeholders.as_deref(), json, verbose)
        }
        Command::Rules(RulesCommand::Lint { paths, config, json, junit, fix }) => {
            lint::run(lint::Args { paths: &paths, config: config.as_deref(), json, junit: junit.as_deref(), fix })
        }
        Command::Bench(args) => bench::run(args),
        Command::Run(args) => live::run(args),
        Command::Replay(args) => live::replay(args),
        Command::Loadgen(args) => loadgen::run(args),
        Command::Simulate(args) => simulate::run(args),
        Command::Eval(args) => eval::run(args),
        Command::BenchState(args) => bench_state::run(args),
        Command::BenchTrail(args) => bench_trail::run(args),
        Command::Demo(args) => demo::run(args),
        Command::Impact(args) => aftermath::impact(args),
        Command::Notify(args) => aftermath::notify(args),
        Command::Reidentify(args) => aftermath::reidentify(args),
        Command::Users(c) => admin::users(c),
        Command::Token(c) => admin::token_command(c),
        Command::Audit(c) => admin::audit(c),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
