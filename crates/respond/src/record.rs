//! The action event: what vigie did (or would have done, or waits to do),
//! written to the action sinks so that every containment step is on record.

use crate::config::ActionType;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vigie_alert::{AlertKind, SourceRef, UserRef};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActionStatus {
    Executed,
    DryRun,
    Failed,
    PendingApproval,
    /// The call was sent but not answered in time (or the engine stopped
    /// while it was in flight): it may or may not have been carried out.
    Unknown,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionHeader {
    /// Deterministic (action type, target, alert), sent as
    /// `X-Vigie-Action-Id` so that a receiver can ignore a re-delivery.
    pub id: String,
    #[serde(rename = "type")]
    pub kind: ActionType,
    pub status: ActionStatus,
    /// Why this status: the guardrail that held it, or the webhook's answer.
    pub reason: String,
    /// Why this action was chosen for this account: what it contains, and
    /// for an account the policy may not suspend, what is done instead.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub why: String,
    /// The webhook's answer, when one was called.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertLink {
    pub id: String,
    pub kind: AlertKind,
    pub level: vigie_alert::Severity,
    pub rule: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRecord {
    /// The event time of the alert that called for it: containment is
    /// measured on the same clock as the attack.
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    pub action: ActionHeader,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
    pub alert: AlertLink,
}
