//! Deciding: which actions an alert calls for, and which guardrail (if any)
//! holds each back. Guardrails never drop an action silently: a held action
//! is recorded as `pending_approval` with the reason, so that a person sees
//! what vigie would have done and can do it.

use crate::config::{ActionType, ConfigError, Mode, ResponseConfig};
use crate::record::{ActionHeader, ActionRecord, ActionStatus, AlertLink};
use crate::template::render;
use globset::GlobMatcher;
use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, VecDeque};
use vigie_alert::Severity;
use vigie_alert::{Alert, Status, alert_id};

/// A webhook request to make; the runtime makes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub url: String,
    pub secret: Vec<u8>,
    pub body: Vec<u8>,
    pub max_retries: u32,
    /// How long one attempt may take.
    pub timeout_ms: u64,
}

/// One decided action. With a `call`, its record's status is settled by
/// the call (`executed` or `failed`); otherwise the record is final.
#[derive(Debug, Clone, PartialEq)]
pub struct Planned {
    pub record: ActionRecord,
    pub call: Option<Call>,
}

/// What the policy remembers, checkpointed with the engine.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PolicyState {
    /// Event times of recent actions per type (for rate limits).
    pub recent: BTreeMap<ActionType, VecDeque<i64>>,
    /// When each (type, target) was last acted on (for the cooldown).
    pub last: BTreeMap<String, i64>,
    /// Decided actions by status.
    pub by_status: BTreeMap<String, u64>,
    /// Repeats skipped within the cooldown.
    pub repeats: u64,
}

struct Resolved {
    url: Option<String>,
    secret: Vec<u8>,
    max_retries: u32,
    timeout_ms: u64,
    rate: Option<(u32, i64)>,
    approval: bool,
    payload: serde_json::Value,
}

/// A compiled `[[when]]`: kinds, lowest level, rules, actions.
type Trigger = (Vec<vigie_alert::AlertKind>, Severity, Vec<String>, Vec<ActionType>);

pub struct Policy {
    mode: Mode,
    never_act: Vec<(String, GlobMatcher)>,
    suspend_service: bool,
    never_block: Vec<IpNet>,
    cooldown_ms: i64,
    block_only_new: bool,
    when: Vec<Trigger>,
    actions: BTreeMap<ActionType, Resolved>,
    pub state: PolicyState,
}

/// Cooldown entries kept at most; the oldest go first.
const MAX_TARGETS: usize = 100_000;

impl Policy {
    /// Check and compile the configuration. `env` reads `secret_env`.
    pub fn new(cfg: &ResponseConfig, env: &dyn Fn(&str) -> Option<String>) -> Result<Policy, ConfigError> {
        let mut never_act = Vec::new();
        for p in &cfg.never_act {
            let g = globset::GlobBuilder::new(p)
                .case_insensitive(true)
                .literal_separator(false)
                .build()
                .map_err(|e| ConfigError::Pattern(p.clone(), e.kind().to_string()))?;
            never_act.push((p.clone(), g.compile_matcher()));
        }
        let mut never_block = Vec::new();
        for n in &cfg.never_block {
            let net = n
                .parse::<IpNet>()
                .or_else(|_| n.parse::<std::net::IpAddr>().map(IpNet::from))
                .map_err(|_| ConfigError::Network(n.clone()))?;
            never_block.push(net);
        }
        let cooldown_ms = vigie_alert::duration_ms(&cfg.cooldown).map_err(|e| ConfigError::Cooldown(e.to_string()))?;
        let mut when = Vec::new();
        for w in &cfg.when {
            let min: Severity = w.level.parse().map_err(|_| ConfigError::Level(w.level.clone()))?;
            when.push((w.kinds.clone(), min, w.rules.clone(), w.actions.clone()));
        }
        let mut actions = BTreeMap::new();
        for t in ActionType::ALL {
            let a = cfg.action(t);
            let secret = match (&a.secret, &a.secret_env) {
                (_, Some(var)) => Some(env(var).ok_or_else(|| ConfigError::Secret(t.name(), var.clone()))?),
                (Some(s), None) => Some(s.clone()),
                (None, None) => None,
            };
            if a.url.is_some() && secret.is_none() {
                return Err(ConfigError::Unsigned(t.name()));
            }
            actions.insert(
                t,
                Resolved {
                    url: a.url.clone(),
                    secret: secret.unwrap_or_default().into_bytes(),
                    max_retries: a.max_retries,
                    timeout_ms: vigie_alert::duration_ms(&a.timeout)
                        .map_err(|e| ConfigError::Timeout(t.name(), e.to_string()))?
                        .max(1) as u64,
                    rate: a.rate_limit.map(|r| (r.max, r.per.0)),
                    approval: a.approval,
                    payload: a.payload.clone().unwrap_or_else(|| crate::ActionConfig::default_payload(t)),
                },
            );
        }
        Ok(Policy {
            mode: cfg.mode,
            never_act,
            suspend_service: cfg.suspend_service_accounts,
            never_block,
            cooldown_ms,
            block_only_new: cfg.block_only_new_sources,
            when,
            actions,
            state: PolicyState::default(),
        })
    }

    /// Replay never calls webhooks: what it decides to do runs dry.
    pub fn force_dry_run(&mut self) {
        if self.mode == Mode::Act {
            self.mode = Mode::DryRun;
        }
    }

    /// The actions `alert` calls for. Only an alert's first record acts:
    /// the `updated` tally of merged repeats does not act again.
    pub fn decide(&mut self, alert: &Alert, out: &mut Vec<Planned>) {
        if alert.alert.status != Status::New {
            return;
        }
        let ts = jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%.fZ", &alert.timestamp)
            .or_else(|_| alert.timestamp.parse::<jiff::Timestamp>())
            .map(|t| t.as_millisecond())
            .unwrap_or(0);
        let mut wanted: Vec<ActionType> = Vec::new();
        for (kinds, min, rules, actions) in &self.when {
            let kind_ok = kinds.is_empty() || kinds.contains(&alert.alert.kind);
            let rule_ok = rules.is_empty() || rules.iter().any(|r| *r == alert.rule.id || *r == alert.rule.name);
            if kind_ok && rule_ok && alert.rule.level >= *min {
                for a in actions {
                    if !wanted.contains(a) {
                        wanted.push(*a);
                    }
                }
            }
        }
        let mut json = None;
        let new_sources: Vec<String> = alert
            .evidence
            .get("new_sources")
            .and_then(|v| v.as_array())
            .map(|l| l.iter().filter_map(|v| v.as_str().map(String::from)).collect())
            .unwrap_or_default();
        // May this account be suspended? Not if a never-act pattern names
        // it, nor (by default) if the analytics know it for a service account.
        let user = alert.user.as_ref().map(|u| u.name.as_str()).unwrap_or("");
        let account = alert.evidence.get("account");
        let service = account.and_then(|a| a.get("service")).and_then(|v| v.as_bool()).unwrap_or(false);
        let service_by: Vec<&str> = account
            .and_then(|a| a.get("service_by"))
            .and_then(|v| v.as_array())
            .map(|l| l.iter().filter_map(|v| v.as_str()).collect())
            .unwrap_or_default();
        let held = match self.never_act.iter().find(|(_, g)| g.is_match(user)) {
            Some((p, _)) => Some(format!("on the never-act list ({p})")),
            None if service && !self.suspend_service => {
                Some(format!("a service account (by {})", service_by.join(", ")))
            }
            None => None,
        };
        for t in wanted {
            let target = match t {
                ActionType::SuspendUser | ActionType::RevokeSessions => alert.user.as_ref().map(|u| u.name.clone()),
                ActionType::BlockIp => alert.source.as_ref().map(|s| s.ip.clone()),
                ActionType::CreateTicket => Some(alert.alert.id.clone()),
            };
            let Some(target) = target else { continue };
            let key = format!("{}\u{1f}{target}", t.name());
            if self.state.last.get(&key).is_some_and(|&t0| ts >= t0 && ts - t0 < self.cooldown_ms) {
                self.state.repeats += 1;
                continue;
            }
            let is_new = new_sources.contains(&target);
            let (status, reason, why) = match (t, &held) {
                (ActionType::SuspendUser, Some(h)) => (
                    ActionStatus::PendingApproval,
                    format!("account {target} is {h}; a person decides"),
                    format!("{target} may not be suspended by vigie ({h}); its suspension waits for a person"),
                ),
                (ActionType::RevokeSessions, Some(h)) if new_sources.is_empty() => (
                    ActionStatus::PendingApproval,
                    format!(
                        "account {target} is {h} and the incident names no new source to cut off; a person decides"
                    ),
                    format!("{target} may not be suspended ({h}), and no new source is known whose sessions to revoke"),
                ),
                _ => {
                    let (status, reason) = self.guard(t, &target, ts, is_new);
                    (status, reason, rationale(t, &target, held.as_deref(), &new_sources, is_new))
                }
            };
            let json = json.get_or_insert_with(|| serde_json::to_value(alert).unwrap_or_default());
            let a = &self.actions[&t];
            let call = (status == ActionStatus::Executed).then(|| {
                // The sessions to revoke: all of them for an account that is
                // also suspended; only the new sources' for one that is not.
                let sources = if held.is_some() { serde_json::json!(new_sources) } else { serde_json::json!("all") };
                let mut scope = json.clone();
                scope["action"] = serde_json::json!({"sources": sources});
                Call {
                    url: a.url.clone().unwrap_or_default(),
                    secret: a.secret.clone(),
                    body: serde_json::to_vec(&render(&a.payload, &scope)).unwrap_or_default(),
                    max_retries: a.max_retries,
                    timeout_ms: a.timeout_ms,
                }
            });
            if matches!(status, ActionStatus::Executed | ActionStatus::DryRun) {
                self.state.recent.entry(t).or_default().push_back(ts);
            }
            self.remember(key, ts);
            let status_name = serde_json::to_value(status).ok().and_then(|v| v.as_str().map(String::from));
            *self.state.by_status.entry(status_name.unwrap_or_default()).or_default() += 1;
            let record = ActionRecord {
                timestamp: alert.timestamp.clone(),
                action: ActionHeader {
                    id: alert_id(&["action", t.name(), &target, &alert.alert.id]),
                    kind: t,
                    status,
                    reason,
                    why,
                    response: None,
                },
                user: alert.user.clone(),
                source: alert.source.clone(),
                alert: AlertLink {
                    id: alert.alert.id.clone(),
                    kind: alert.alert.kind,
                    level: alert.rule.level,
                    rule: alert.rule.name.clone(),
                },
            };
            out.push(Planned { record, call });
        }
    }

    /// The status an action gets, and why. `Executed` means "call it".
    fn guard(&mut self, t: ActionType, target: &str, ts: i64, new_source: bool) -> (ActionStatus, String) {
        use ActionStatus::*;
        if t == ActionType::BlockIp
            && let Ok(ip) = target.parse::<std::net::IpAddr>()
            && let Some(net) = self.never_block.iter().find(|n| n.contains(&ip))
        {
            return (PendingApproval, format!("{target} is in never_block ({net}); a person decides"));
        }
        if t == ActionType::BlockIp && self.block_only_new && !new_source {
            return (
                PendingApproval,
                format!("{target} is not a new source for this account (it may be a shared office); a person decides"),
            );
        }
        let a = &self.actions[&t];
        if let Some((max, per)) = a.rate {
            let q = self.state.recent.entry(t).or_default();
            while q.front().is_some_and(|&t0| t0 <= ts - per) {
                q.pop_front();
            }
            if q.len() >= max as usize {
                return (
                    PendingApproval,
                    format!(
                        "rate limit reached ({max} {} per {}); held for approval",
                        t.name(),
                        vigie_alert::duration_text(per)
                    ),
                );
            }
        }
        if self.mode == Mode::Approval || a.approval {
            return (PendingApproval, format!("{} requires approval", t.name()));
        }
        if self.mode == Mode::DryRun {
            return (DryRun, "dry-run mode: recorded, not called".into());
        }
        if a.url.is_none() {
            return (DryRun, format!("no webhook configured for {}", t.name()));
        }
        (Executed, "called".into())
    }

    fn remember(&mut self, key: String, ts: i64) {
        self.state.last.insert(key, ts);
        if self.state.last.len() > MAX_TARGETS {
            let cutoff = ts - self.cooldown_ms;
            self.state.last.retain(|_, t| *t > cutoff);
            while self.state.last.len() > MAX_TARGETS {
                let oldest = self.state.last.iter().min_by_key(|(_, t)| **t).map(|(k, _)| k.clone());
                match oldest {
                    Some(k) => self.state.last.remove(&k),
                    None => break,
                };
            }
        }
    }
}

/// Why an action was chosen for this alert, in words for the record.
fn rationale(t: ActionType, target: &str, held: Option<&str>, new_sources: &[String], is_new: bool) -> String {
    match (t, held) {
        (ActionType::SuspendUser, _) => {
            format!("{target} is a person's account: suspending it stops every use of the stolen credential at once")
        }
        (ActionType::RevokeSessions, None) => {
            format!("{target}'s open sessions are revoked so that none outlives the suspension")
        }
        (ActionType::RevokeSessions, Some(h)) => format!(
            "{target} may not be suspended ({h}): instead, the sessions and credential used from {} are revoked, and the account goes on working from its usual sources",
            new_sources.join(", ")
        ),
        (ActionType::BlockIp, _) if is_new => {
            format!("{target} is a new source for the account in this incident: blocking it cuts the intruder off")
        }
        (ActionType::BlockIp, _) => format!("{target} is the account's usual source, possibly shared by many"),
        (ActionType::CreateTicket, _) => "every incident gets a ticket, so that a person reviews what was read".into(),
    }
}
