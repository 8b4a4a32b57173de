//! What an analytic produces: one finding about one account, with the
//! evidence a person needs (observed value, baseline, window, peers).

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Severity is defined once, in the alert contract.
pub use vigie_alert::Severity;

/// One detection of the analytics (see docs/analytics.md for each).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Detection {
    DistinctSubjectsHour,
    DistinctSubjectsDay,
    RecordsVolume,
    OutsideWorkingSet,
    OutsideCaseload,
    OffHours,
    NewSource,
    ImpossibleTravel,
    ResetThenNewSource,
    ResetTakeover,
    RareAccountCreation,
    RarePrivilegeGrant,
    IamFromNewSource,
    NewAccountBulkRead,
    SprayingSourceLogin,
    FusedEvidence,
}

impl Detection {
    pub const ALL: [Detection; 16] = [
        Detection::DistinctSubjectsHour,
        Detection::DistinctSubjectsDay,
        Detection::RecordsVolume,
        Detection::OutsideWorkingSet,
        Detection::OutsideCaseload,
        Detection::OffHours,
        Detection::NewSource,
        Detection::ImpossibleTravel,
        Detection::ResetThenNewSource,
        Detection::ResetTakeover,
        Detection::RareAccountCreation,
        Detection::RarePrivilegeGrant,
        Detection::IamFromNewSource,
        Detection::NewAccountBulkRead,
        Detection::SprayingSourceLogin,
        Detection::FusedEvidence,
    ];

    /// The rule id alerts carry.
    pub fn id(self) -> &'static str {
        match self {
            Detection::DistinctSubjectsHour => "vigie-analytics-distinct-subjects-hour",
            Detection::DistinctSubjectsDay => "vigie-analytics-distinct-subjects-day",
            Detection::RecordsVolume => "vigie-analytics-records-volume",
            Detection::OutsideWorkingSet => "vigie-analytics-outside-working-set",
            Detection::OutsideCaseload => "vigie-analytics-outside-caseload",
            Detection::OffHours => "vigie-analytics-off-hours",
            Detection::NewSource => "vigie-analytics-new-source",
            Detection::ImpossibleTravel => "vigie-analytics-impossible-travel",
            Detection::ResetThenNewSource => "vigie-analytics-reset-then-new-source",
            Detection::ResetTakeover => "vigie-analytics-reset-takeover",
            Detection::RareAccountCreation => "vigie-analytics-rare-account-creation",
            Detection::RarePrivilegeGrant => "vigie-analytics-rare-privilege-grant",
            Detection::IamFromNewSource => "vigie-analytics-iam-from-new-source",
            Detection::NewAccountBulkRead => "vigie-analytics-new-account-bulk-read",
            Detection::SprayingSourceLogin => "vigie-analytics-spraying-source-login",
            Detection::FusedEvidence => "vigie-analytics-fused-evidence",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Detection::DistinctSubjectsHour => "Account Read Far More People This Hour Than Usual",
            Detection::DistinctSubjectsDay => "Account Read Far More People Today Than Usual",
            Detection::RecordsVolume => "Account Retrieved an Unusual Volume of Records",
            Detection::OutsideWorkingSet => "Account Reads People Outside Its Working Set",
            Detection::OutsideCaseload => "Account Reads People Outside Its Caseload",
            Detection::OffHours => "Account Reads Personal Data at an Unusual Time",
            Detection::NewSource => "Account Used From a New Source",
            Detection::ImpossibleTravel => "Impossible Travel Between Two Uses of an Account",
            Detection::ResetThenNewSource => "Password Reset Followed by a Login From a New Source",
            Detection::ResetTakeover => "Password Reset, New Source, Then Bulk Reads (Account Takeover Path)",
            Detection::RareAccountCreation => "Account Creation by an Account That Never Creates Accounts",
            Detection::RarePrivilegeGrant => "Privilege Grant by an Account That Never Grants Privileges",
            Detection::IamFromNewSource => {
                "Accounts Created or Privileges Granted From a Network New to the Administrator"
            }
            Detection::NewAccountBulkRead => "New Account Reads Personal Data at Volume",
            Detection::SprayingSourceLogin => "Login From a Source That Is Spraying Passwords",
            Detection::FusedEvidence => "Several Weak Signals Together: Source, Client, Volume, People, Time",
        }
    }

    /// Detections that measure one thing, for the risk score's repeats:
    /// distinct people and people outside the working set are the same
    /// count where every person is new (a call centre), and people outside
    /// the caseload are mostly the people outside the working set (the
    /// reads that raise one raise the other).
    pub fn family(self) -> &'static str {
        match self {
            Detection::DistinctSubjectsHour
            | Detection::DistinctSubjectsDay
            | Detection::OutsideWorkingSet
            | Detection::OutsideCaseload => "vigie-analytics-people-volume",
            other => other.id(),
        }
    }

    /// The level a finding counts at in the account's risk score. A read
    /// outside the caseload is an entitlement matter: the account's owner at
    /// its own desk reading people it should not is a case for review by
    /// the data-protection officer, not for an automatic suspension, and an
    /// intruder shows itself by other findings (source, hour, volume). So
    /// it counts as medium at most: it corroborates, it never contains on
    /// its own. The alert keeps its level.
    pub fn risk_level(self, level: Severity) -> Severity {
        match self {
            Detection::OutsideCaseload => level.min(Severity::Medium),
            _ => level,
        }
    }

    pub fn tags(self) -> &'static [&'static str] {
        match self {
            Detection::DistinctSubjectsHour
            | Detection::DistinctSubjectsDay
            | Detection::RecordsVolume
            | Detection::OutsideWorkingSet
            | Detection::OutsideCaseload
            | Detection::NewAccountBulkRead
            | Detection::FusedEvidence => &["attack.collection", "attack.t1213"],
            Detection::SprayingSourceLogin => &["attack.credential-access", "attack.t1110.003", "attack.t1078"],
            Detection::OffHours | Detection::NewSource | Detection::ImpossibleTravel => {
                &["attack.initial-access", "attack.t1078"]
            }
            Detection::ResetThenNewSource | Detection::ResetTakeover => {
                &["attack.initial-access", "attack.t1078", "attack.t1656"]
            }
            Detection::RareAccountCreation => &["attack.persistence", "attack.t1136"],
            Detection::IamFromNewSource => &["attack.persistence", "attack.t1136", "attack.t1098"],
            Detection::RarePrivilegeGrant => &["attack.persistence", "attack.t1098"],
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Signal {
    pub detection: Detection,
    pub level: Severity,
    pub ts: i64,
    pub user: String,
    pub source: Option<String>,
    /// One sentence a person can act on.
    pub reason: String,
    pub evidence: Map<String, Value>,
    /// Where the triggering event was read.
    pub origin: vigie_alert::Origin,
}
