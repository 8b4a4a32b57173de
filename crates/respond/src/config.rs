//! `[response]` in vigie.toml. The defaults are the bundled policy: an
//! incident at level high or above suspends the account, revokes its
//! sessions, opens a ticket, and blocks the address only when the evidence
//! shows it is new for the account (a usual address may be an office's
//! shared egress; blocking it would cut off everyone there).

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use vigie_alert::AlertKind;

/// What vigie may do on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Call the configured webhooks (actions without a webhook run dry).
    #[default]
    Act,
    /// Decide and record, never call.
    DryRun,
    /// Every action waits for a person.
    Approval,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionType {
    SuspendUser,
    RevokeSessions,
    BlockIp,
    CreateTicket,
}

impl ActionType {
    pub const ALL: [ActionType; 4] =
        [ActionType::SuspendUser, ActionType::RevokeSessions, ActionType::BlockIp, ActionType::CreateTicket];

    pub fn name(self) -> &'static str {
        match self {
            ActionType::SuspendUser => "suspend_user",
            ActionType::RevokeSessions => "revoke_sessions",
            ActionType::BlockIp => "block_ip",
            ActionType::CreateTicket => "create_ticket",
        }
    }

    /// Actions aimed at an account, which the never-act list protects.
    pub fn targets_account(self) -> bool {
        matches!(self, ActionType::SuspendUser | ActionType::RevokeSessions)
    }
}

/// Which alerts call for which actions.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct When {
    /// Alert kinds (`sigma`, `correlation`, `analytic`, `incident`); empty: any.
    #[serde(default)]
    pub kinds: Vec<AlertKind>,
    /// The lowest alert level that qualifies.
    #[serde(default = "default_level")]
    pub level: String,
    /// Rule ids or names; empty: any rule.
    #[serde(default)]
    pub rules: Vec<String>,
    pub actions: Vec<ActionType>,
}

fn default_level() -> String {
    "high".into()
}

#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub max: u32,
    /// A duration such as `1h`.
    #[serde(default = "default_per")]
    pub per: Per,
}

/// A rate-limit period, kept as milliseconds once parsed.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Per(pub i64);

impl<'de> Deserialize<'de> for Per {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Per, D::Error> {
        let s = String::deserialize(d)?;
        vigie_alert::duration_ms(&s).map(Per).map_err(serde::de::Error::custom)
    }
}

fn default_per() -> Per {
    Per(3_600_000)
}

/// How one action type is carried out.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ActionConfig {
    /// The webhook (a SOAR, the IAM's admin API, a ticketing system).
    /// Without one the action runs dry.
    pub url: Option<String>,
    /// The HMAC-SHA256 key of `X-Vigie-Signature`; prefer `secret_env`.
    pub secret: Option<String>,
    /// The environment variable holding the key.
    pub secret_env: Option<String>,
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// How long one call may take. A call sent but not answered in time has
    /// an unknown outcome: it is recorded `unknown` and not sent again (only
    /// a call that never reached the receiver is retried).
    #[serde(default = "default_timeout")]
    pub timeout: String,
    pub rate_limit: Option<RateLimit>,
    /// Hold every action of this type for a person to approve.
    #[serde(default)]
    pub approval: bool,
    /// The JSON body, where `{{path}}` is replaced by the alert's field
    /// (`{{user.name}}`, `{{alert.id}}`, `{{reason}}`; `{{.}}` is the whole
    /// alert). Default: a body naming the action, its target and the alert.
    pub payload: Option<Value>,
}

fn default_retries() -> u32 {
    3
}

fn default_timeout() -> String {
    "10s".into()
}

impl ActionConfig {
    fn bundled(t: ActionType) -> ActionConfig {
        let (max, approval) = match t {
            ActionType::SuspendUser | ActionType::RevokeSessions => (10, false),
            ActionType::BlockIp => (20, false),
            ActionType::CreateTicket => (100, false),
        };
        ActionConfig {
            url: None,
            secret: None,
            secret_env: None,
            max_retries: default_retries(),
            timeout: default_timeout(),
            rate_limit: Some(RateLimit { max, per: default_per() }),
            approval,
            payload: None,
        }
    }

    /// The body sent when none is configured.
    pub fn default_payload(t: ActionType) -> Value {
        let mut body = json!({
            "action": t.name(),
            "alert_id": "{{alert.id}}",
            "rule": "{{rule.name}}",
            "level": "{{rule.level}}",
            "reason": "{{reason}}",
        });
        match t {
            ActionType::SuspendUser => body["account"] = json!("{{user.name}}"),
            ActionType::RevokeSessions => {
                body["account"] = json!("{{user.name}}");
                // Only these, for an account that may not be suspended.
                body["sources"] = json!("{{action.sources}}");
            }
            ActionType::BlockIp => body["ip"] = json!("{{source.ip}}"),
            ActionType::CreateTicket => {
                body["account"] = json!("{{user.name}}");
                body["ip"] = json!("{{source.ip}}");
                body["evidence"] = json!("{{evidence}}");
            }
        }
        body
    }
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct ResponseConfig {
    pub mode: Mode,
    /// Accounts vigie never suspends by itself, as glob patterns
    /// (break-glass accounts, service accounts): their suspension waits for
    /// approval. Their sessions and credentials used from a new source are
    /// still revoked, and that source blocked: a stolen token must not
    /// read on while a person is found.
    pub never_act: Vec<String>,
    /// Suspend accounts the analytics know for service accounts (by name,
    /// role or token authentication). Off by default: a suspended job is an
    /// outage; they get the never-act treatment instead.
    pub suspend_service_accounts: bool,
    /// Networks (CIDR) `block_ip` never blocks by itself: the organisation's
    /// own egress, proxies, partners' gateways.
    pub never_block: Vec<String>,
    /// The same action on the same target at most once per this span.
    pub cooldown: String,
    /// Block only an address the alert's evidence names as new for the
    /// account (`evidence.new_sources`, set on incidents): the account's
    /// usual address may be an office shared by hundreds.
    pub block_only_new_sources: bool,
    pub when: Vec<When>,
    pub actions: BTreeMap<ActionType, ActionConfig>,
}

impl Default for ResponseConfig {
    fn default() -> Self {
        ResponseConfig {
            mode: Mode::Act,
            never_act: ["svc-*", "svc_*", "svc.*", "*$", "break-glass*", "breakglass*"].map(String::from).to_vec(),
            suspend_service_accounts: false,
            never_block: ["127.0.0.0/8", "::1/128"].map(String::from).to_vec(),
            cooldown: "1h".into(),
            block_only_new_sources: true,
            when: vec![When {
                kinds: vec![AlertKind::Incident],
                level: "high".into(),
                rules: Vec::new(),
                actions: ActionType::ALL.to_vec(),
            }],
            actions: BTreeMap::new(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ConfigError {
    #[error("[response] never_act pattern `{0}`: {1}")]
    Pattern(String, String),
    #[error("[response] never_block `{0}` is not a network such as 10.0.0.0/8")]
    Network(String),
    #[error("[response] cooldown: {0}")]
    Cooldown(String),
    #[error("[response] when: level `{0}` is not one of informational, low, medium, high, critical")]
    Level(String),
    #[error("[response.actions.{0}] secret_env: environment variable `{1}` is not set")]
    Secret(&'static str, String),
    #[error("[response.actions.{0}] timeout: {1}")]
    Timeout(&'static str, String),
    #[error("[response.actions.{0}] a url needs a secret (or secret_env) to sign requests with")]
    Unsigned(&'static str),
}

impl ResponseConfig {
    /// The settings of one action type: configured, else bundled.
    pub fn action(&self, t: ActionType) -> ActionConfig {
        self.actions.get(&t).cloned().unwrap_or_else(|| ActionConfig::bundled(t))
    }
}
