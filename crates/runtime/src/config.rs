//! `vigie.toml`: the engine's configuration. Every section is optional; an
//! empty file runs the built-in rules over standard input to standard output.
//! docs/configuration.md shows a commented example of every key.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use vigie_alert::Suppression;
use vigie_decode::Format;

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub rules: RulesConfig,
    #[serde(default)]
    pub engine: EngineConfig,
    #[serde(default)]
    pub server: ServerConfig,
    #[serde(default)]
    pub inputs: Vec<InputConfig>,
    #[serde(default)]
    pub sinks: Vec<SinkConfig>,
    #[serde(default)]
    pub suppressions: Vec<Suppression>,
    /// Behaviour analytics on application access logs.
    #[serde(default)]
    pub analytics: AnalyticsSection,
    /// Containment: which alerts call for which actions, and guardrails.
    #[serde(default)]
    pub response: vigie_respond::ResponseConfig,
    /// Where action events go (same kinds as `[[sinks]]`).
    #[serde(default)]
    pub action_sinks: Vec<SinkConfig>,
    /// The store (alerts, triage, the data-access trail) and its retention.
    #[serde(default)]
    pub store: StoreSection,
    /// The web console and `/api/` (served on `[server] listen`).
    #[serde(default)]
    pub console: ConsoleSection,
    /// Who the notification drafts come from.
    #[serde(default)]
    pub organisation: vigie_investigate::Organisation,
    /// The file this was read from: a live reload reads it again.
    #[serde(skip)]
    pub source: Option<PathBuf>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StoreSection {
    pub enabled: bool,
    /// `postgres://user@host/db`, or a SQLite file; default
    /// `<state_dir>/vigie.db`.
    pub url: Option<String>,
    /// The pseudonymisation key (HMAC-SHA256 of subject ids): read from this
    /// environment variable, or this file; without either, a random key is
    /// created once in `<state_dir>/pseudonym.key` (owner-only). Keep it:
    /// re-identifying the people of an incident needs it.
    pub key_env: Option<String>,
    pub key_file: Option<PathBuf>,
    /// Keep the data-access trail (reads of personal data, IAM acts).
    pub trail: bool,
    /// How long the trail is kept (it is pseudonymised personal data).
    pub trail_retention: String,
    /// How long alerts, actions and notes are kept.
    pub alert_retention: String,
    /// The audit chain's HMAC key; default `<state_dir>/audit.key`, created
    /// once (owner-only). Keep it apart from the database: whoever holds
    /// both can rewrite the audit log undetected.
    pub audit_key_file: Option<PathBuf>,
    /// URL path patterns whose `{name}` segments identify a person
    /// (`/beneficiaries/{id}`): pseudonymised in every alert, wherever the
    /// path appears.
    pub url_patterns: Vec<String>,
    /// Fields (dotted paths) that hold personal data, pseudonymised in every
    /// alert like `data_subject.ids`.
    pub personal_fields: Vec<String>,
    /// Where the audit chain's head (its newest sequence number and MAC) is
    /// also sent each time it moves, checked at every checkpoint: sinks of
    /// the `[[sinks]]` kinds, best a syslog or webhook receiver on a machine
    /// the database's administrators cannot write to. `vigie audit verify
    /// --head SEQ:MAC` holds the chain against a head kept there.
    pub audit_sinks: Vec<SinkConfig>,
}

impl Default for StoreSection {
    fn default() -> Self {
        StoreSection {
            enabled: true,
            url: None,
            key_env: None,
            key_file: None,
            trail: true,
            trail_retention: "180d".into(),
            alert_retention: "400d".into(),
            audit_key_file: None,
            url_patterns: Vec::new(),
            personal_fields: Vec::new(),
            audit_sinks: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsoleSection {
    pub enabled: bool,
    /// Set the cookie's `Secure` flag (keep it on; browsers accept it on
    /// http://127.0.0.1 and localhost, and a proxy terminates TLS elsewhere).
    pub secure_cookies: bool,
    /// Session lifetime.
    pub session: String,
    /// Failed logins of one account before it is locked for 15 minutes (at
    /// most 10: a higher value is lowered); attempts after the second
    /// failure wait 1 s, 2 s, 4 s... An address may fail four times this
    /// often within 15 minutes, across accounts.
    pub max_failed_logins: u32,
    /// A suppression that covers an account applies only once a second
    /// person approves it (never the account's own user).
    pub approve_suppressions: bool,
    /// Admins and DPOs must have a second factor (TOTP): one without it may
    /// only enrol one after logging in. Analysts may enrol one too.
    pub require_mfa: bool,
}

impl Default for ConsoleSection {
    fn default() -> Self {
        ConsoleSection {
            enabled: true,
            secure_cookies: true,
            session: "12h".into(),
            max_failed_logins: 5,
            approve_suppressions: false,
            require_mfa: false,
        }
    }
}

#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct AnalyticsSection {
    /// A YAML file of analytics settings (see analytics/default.yml);
    /// without one, the bundled defaults.
    pub path: Option<PathBuf>,
    /// Turn the analytics off (or on, over the file's `enabled`).
    pub enabled: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesConfig {
    /// Rule files or folders; empty: the rule pack built into the binary.
    #[serde(default)]
    pub paths: Vec<PathBuf>,
    pub placeholders: Option<PathBuf>,
    /// A mapping to read every event with, instead of recognising shapes.
    pub mapping: Option<PathBuf>,
    /// Reload when a watched file changes (the rules, placeholders and
    /// mapping, this file, the analytics settings and caseload files);
    /// off, only `SIGHUP` and `POST /admin/reload` do (docs/rules.md).
    #[serde(default = "yes")]
    pub watch: bool,
}

fn yes() -> bool {
    true
}

impl Default for RulesConfig {
    fn default() -> Self {
        RulesConfig { paths: Vec::new(), placeholders: None, mapping: None, watch: true }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EngineConfig {
    /// Fields read for event time, in order, before the mapping's own.
    pub timestamp_fields: Vec<String>,
    /// Out-of-order tolerance: events older than the newest minus this are late.
    pub lateness: String,
    /// Repeats of a rule on one entity within this span merge into one alert.
    pub merge_window: String,
    /// Alerts kept open for merging at most; beyond, the oldest closes early.
    pub max_open_alerts: usize,
    pub max_groups: usize,
    pub max_entries: usize,
    /// Detection threads (default: one per core).
    pub workers: Option<usize>,
    /// Batches waiting between inputs and detection; when full, inputs wait
    /// (files, NATS) or refuse with 429 (HTTP).
    pub queue: usize,
    /// How often state is checkpointed (and inputs acknowledged).
    pub checkpoint_interval: String,
    /// Where the embedded state store lives.
    pub state_dir: PathBuf,
    /// When no event arrives for longer than `lateness`, let event time
    /// follow the wall clock, so that windows still close on a quiet stream.
    pub advance_when_idle: bool,
    /// `run`: an event time further ahead of the wall clock than this is
    /// not trusted: the event takes the newest trusted time, and is counted.
    pub max_clock_skew: String,
    /// `replay`: event time jumps forward by more than this only once three
    /// events within this span of each other confirm it; an outlier nobody
    /// confirms takes the trusted time, and is counted.
    pub max_time_jump: String,
    /// Longest line (or newline-framed syslog message) the inputs keep, in
    /// bytes: a longer one is skipped and counted (vigie_lines_too_long_total).
    pub max_line: usize,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            timestamp_fields: vec!["@timestamp".into()],
            lateness: "5s".into(),
            merge_window: "10m".into(),
            max_open_alerts: 10_000,
            max_groups: 100_000,
            max_entries: 10_000,
            workers: None,
            queue: 64,
            checkpoint_interval: "1s".into(),
            state_dir: PathBuf::from("vigie-state"),
            advance_when_idle: true,
            max_clock_skew: "5m".into(),
            max_time_jump: "1h".into(),
            max_line: 1 << 20,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address of the HTTP server (ingest, /metrics, /healthz).
    pub listen: String,
    /// Bearer token for ingest and metrics. Without one (and without
    /// `token_file`), a random token is created in the state folder.
    pub token: Option<String>,
    pub token_file: Option<PathBuf>,
    /// Largest accepted request body, in bytes.
    pub max_body: usize,
    /// Serve /metrics without a token (for a Prometheus on a trusted network).
    pub public_metrics: bool,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: "127.0.0.1:9600".into(),
            token: None,
            token_file: None,
            max_body: 16 << 20,
            public_metrics: false,
        }
    }
}

fn auto() -> Format {
    Format::Auto
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum InputConfig {
    Stdin {
        #[serde(default = "auto")]
        format: Format,
    },
    /// Follow a file as it grows, across rotation, resuming at the
    /// checkpointed offset.
    File {
        path: PathBuf,
        #[serde(default = "auto")]
        format: Format,
    },
    /// NDJSON POST on /ingest and an Elasticsearch-compatible /_bulk, on the
    /// `[server]` address.
    Http {
        #[serde(default = "auto")]
        format: Format,
    },
    Syslog {
        udp: Option<String>,
        tcp: Option<String>,
        #[serde(default = "auto")]
        format: Format,
    },
    /// A JetStream durable pull consumer; messages are acknowledged only
    /// after a checkpoint covers them.
    Nats {
        #[serde(default = "nats_url")]
        url: String,
        stream: String,
        #[serde(default)]
        subject: Option<String>,
        durable: String,
        #[serde(default = "auto")]
        format: Format,
        /// How long JetStream waits for an acknowledgement before it
        /// redelivers; after a crash, what the restored checkpoint had not
        /// covered comes back after this long.
        #[serde(default = "nats_ack_wait")]
        ack_wait: String,
    },
}

fn nats_ack_wait() -> String {
    "60s".into()
}

pub fn nats_url() -> String {
    "nats://127.0.0.1:4222".into()
}

/// How a sink writes an alert.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertFormat {
    /// vigie's alert object (docs/alerts.md).
    #[default]
    Vigie,
    /// An OCSF Detection Finding (class 2004), for SIEMs and data lakes
    /// that read OCSF (`vigie_alert::ocsf`).
    Ocsf,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum SinkConfig {
    Jsonl {
        path: PathBuf,
        #[serde(default)]
        format: AlertFormat,
    },
    Stdout {
        #[serde(default)]
        format: AlertFormat,
    },
    /// HTTP POST of each alert, signed with HMAC-SHA256 over the body in
    /// `X-Vigie-Signature: sha256=<hex>`, retried with exponential backoff.
    Webhook {
        url: String,
        secret: String,
        #[serde(default = "retries")]
        max_retries: u32,
        /// How long one attempt may take (a receiver that never answers).
        #[serde(default = "webhook_timeout")]
        timeout: String,
        /// Alerts the sink holds at most (waiting or being delivered); when
        /// full, a new alert is dropped and counted, never waited for.
        #[serde(default = "sink_queue")]
        queue: usize,
        #[serde(default)]
        format: AlertFormat,
    },
    Syslog {
        address: String,
        #[serde(default = "udp")]
        protocol: String,
        /// Records waiting for delivery at most; when full, a new one is
        /// dropped and counted (`vigie_sink_dropped_total`).
        #[serde(default = "sink_queue")]
        queue: usize,
        #[serde(default)]
        format: AlertFormat,
    },
    Nats {
        #[serde(default = "nats_url")]
        url: String,
        subject: String,
        /// As for syslog.
        #[serde(default = "sink_queue")]
        queue: usize,
        #[serde(default)]
        format: AlertFormat,
    },
    /// An Elasticsearch or OpenSearch cluster, through its `_bulk` API:
    /// alerts as ECS documents (OCSF with `format = "ocsf"`).
    Elasticsearch {
        /// The cluster's base URL (`https://es.example:9200`).
        url: String,
        #[serde(default = "es_index")]
        index: String,
        /// An API key (sent as `Authorization: ApiKey <key>`).
        #[serde(default)]
        api_key: Option<String>,
        /// Basic authentication, when no API key is given.
        #[serde(default)]
        username: Option<String>,
        #[serde(default)]
        password: Option<String>,
        /// Documents per `_bulk` request at most.
        #[serde(default = "es_batch")]
        batch: usize,
        #[serde(default = "retries")]
        max_retries: u32,
        /// One request's limit.
        #[serde(default = "webhook_timeout")]
        timeout: String,
        /// First wait before a retry, doubled each time (at most 30 s).
        #[serde(default = "es_backoff")]
        backoff: String,
        /// How long a request waits for more documents once the queue runs
        /// dry (at most; a full `batch` goes at once): a trickle of alerts
        /// makes a few larger requests instead of one per alert.
        #[serde(default = "es_batch_wait")]
        batch_wait: String,
        /// As for syslog.
        #[serde(default = "sink_queue")]
        queue: usize,
        /// Where documents that could not be indexed go, one JSON line each
        /// with the reason.
        dead_letter: PathBuf,
        /// The dead-letter file's size cap; lines past it are dropped and
        /// counted.
        #[serde(default = "dead_letter_max_bytes")]
        dead_letter_max_bytes: u64,
        #[serde(default)]
        format: AlertFormat,
    },
}

fn es_index() -> String {
    "vigie-alerts".into()
}

fn es_batch() -> usize {
    500
}

fn dead_letter_max_bytes() -> u64 {
    1 << 30
}

fn es_backoff() -> String {
    "500ms".into()
}

fn es_batch_wait() -> String {
    "200ms".into()
}

impl SinkConfig {
    /// How the sink writes alerts.
    pub fn format(&self) -> AlertFormat {
        match self {
            SinkConfig::Jsonl { format, .. }
            | SinkConfig::Stdout { format }
            | SinkConfig::Webhook { format, .. }
            | SinkConfig::Syslog { format, .. }
            | SinkConfig::Nats { format, .. }
            | SinkConfig::Elasticsearch { format, .. } => *format,
        }
    }

    /// The sink's `type`.
    pub fn kind(&self) -> &'static str {
        match self {
            SinkConfig::Jsonl { .. } => "jsonl",
            SinkConfig::Stdout { .. } => "stdout",
            SinkConfig::Webhook { .. } => "webhook",
            SinkConfig::Syslog { .. } => "syslog",
            SinkConfig::Nats { .. } => "nats",
            SinkConfig::Elasticsearch { .. } => "elasticsearch",
        }
    }
}

fn retries() -> u32 {
    5
}

fn webhook_timeout() -> String {
    "10s".into()
}

fn sink_queue() -> usize {
    10_000
}

fn udp() -> String {
    "udp".into()
}

impl Config {
    pub fn from_file(path: &Path) -> anyhow::Result<Config> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
        let mut cfg = Config::parse(&text).map_err(|e| anyhow::anyhow!("{}: {}", path.display(), quiet(&e, &text)))?;
        cfg.source = Some(path.to_path_buf());
        Ok(cfg)
    }

    pub fn parse(text: &str) -> Result<Config, toml::de::Error> {
        toml::from_str(text)
    }
}

/// A parse error by its place and reason, without the line it quotes: the
/// line may hold a secret (a webhook `secret`, a sink's `password`), and
/// the error goes to the log, the audit log and a reload's answer.
fn quiet(e: &toml::de::Error, text: &str) -> String {
    // A wrong type or value quotes the value (`invalid type: integer
    // `123456`, expected a string`): keep what was expected, not what was
    // there. Unknown keys and variants name words of the schema.
    let message = e.message().trim_end();
    let message = if message.starts_with("invalid ") {
        message
            .split('`')
            .enumerate()
            .map(|(i, part)| if i % 2 == 1 { "…" } else { part })
            .collect::<Vec<_>>()
            .join("`")
    } else {
        message.to_string()
    };
    match e.span() {
        Some(span) => {
            let before = &text.as_bytes()[..span.start.min(text.len())];
            let line = before.iter().filter(|b| **b == b'\n').count() + 1;
            let column = before.len() - before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
            format!("line {line}, column {column}: {message}")
        }
        None => message,
    }
}

/// `250ms`, `30s`, `5m`, `2h`, `1d`.
/// A configured duration in milliseconds (see [`vigie_alert::duration_ms`]).
pub fn duration_ms(s: &str) -> anyhow::Result<i64> {
    Ok(vigie_alert::duration_ms(s)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_analytics_file_states_the_defaults() {
        let bundled =
            vigie_analytics::AnalyticsConfig::from_yaml(vigie_content::analytics_yaml(), "default.yml").unwrap();
        let defaults = vigie_analytics::AnalyticsConfig::default();
        assert_eq!(serde_json::to_value(&bundled).unwrap(), serde_json::to_value(&defaults).unwrap());
    }

    #[test]
    fn the_documented_example_parses() {
        let text = include_str!("../../../docs/vigie.example.toml");
        let c = Config::parse(text).unwrap();
        assert_eq!(c.inputs.len(), 5);
        assert_eq!(c.sinks.len(), 6);
        assert_eq!(c.suppressions.len(), 1);
        assert_eq!(c.response.when.len(), 1);
        assert_eq!(c.response.actions.len(), 2);
        assert_eq!(c.action_sinks.len(), 1);
        assert_eq!(
            (c.store.trail_retention.as_str(), c.store.key_env.as_deref()),
            ("180d", Some("VIGIE_PSEUDONYM_KEY"))
        );
        assert_eq!(c.console.max_failed_logins, 5);
        assert_eq!(c.organisation.authority.as_deref(), Some("CNIL"));
        let env = |k: &str| (k == "VIGIE_IAM_SECRET").then(|| "k".to_string());
        vigie_respond::Policy::new(&c.response, &env).unwrap();
    }

    #[test]
    fn a_parse_error_names_its_place_never_the_line() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vigie.toml");
        std::fs::write(&path, "[[sinks]]\ntype = \"elasticsearch\"\npassword = \"hunter2-s3cret\n").unwrap();
        let e = format!("{:#}", Config::from_file(&path).unwrap_err());
        assert!(e.contains("line 3"), "{e}");
        assert!(!e.contains("hunter2"), "the secret is quoted: {e}");
        std::fs::write(
            &path,
            "[response]\nmode = \"sometimes\"\n[response.actions.suspend_user]\nsecret = \"hunter2\"\n",
        )
        .unwrap();
        let e = format!("{:#}", Config::from_file(&path).unwrap_err());
        assert!(e.contains("line 2") && e.contains("sometimes") && !e.contains("hunter2"), "{e}");
        std::fs::write(
            &path,
            "[[sinks]]\ntype = \"elasticsearch\"\nurl = \"http://x\"\ndead_letter = \"d\"\npassword = 918273645\n",
        )
        .unwrap();
        let e = format!("{:#}", Config::from_file(&path).unwrap_err());
        assert!(e.contains("invalid type") && !e.contains("918273645"), "the value is quoted: {e}");
    }

    #[test]
    fn unknown_keys_are_errors() {
        let e = Config::parse("[engine]\nlatenes = \"5s\"\n").unwrap_err().to_string();
        assert!(e.contains("latenes"), "{e}");
    }
}
