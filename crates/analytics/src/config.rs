//! The analytics' settings (YAML). Every key has a default that works on
//! the canonical schema out of the box; docs/analytics.md explains each
//! detection and how to tune it.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalyticsConfig {
    pub enabled: bool,
    /// The organisation's time zone: working hours, evenings and weekends
    /// are judged in it.
    pub timezone: String,
    pub warmup: Warmup,
    pub distinct: Distinct,
    pub records: Records,
    pub working_set: WorkingSet,
    pub off_hours: OffHours,
    pub sources: Sources,
    pub travel: Travel,
    pub takeover: Takeover,
    pub iam: Iam,
    pub service: Service,
    pub spray: Spray,
    pub fusion: Fusion,
    pub risk: Risk,
    /// A GeoIP database (MaxMind .mmdb: GeoLite2, DB-IP, ip-location-db)
    /// for countries and impossible travel; without one, `source.geo` from
    /// the events is used, and travel is judged only where it is present.
    pub geoip: Option<PathBuf>,
    /// Who may read whom (docs/analytics.md, "Outside the caseload").
    pub caseload: CaseloadFiles,
    /// Accounts tracked at most; beyond, the longest idle are forgotten.
    pub max_accounts: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Warmup {
    /// Active hours before an account's own volume baseline is trusted.
    pub hours: u32,
    /// Active days before its schedule and sources are judged.
    pub days: u32,
    /// Values a baseline remembers (its horizon).
    pub horizon: u32,
    /// Days of log before the deployment knows its population: an account
    /// first seen later is new (as is one whose creation vigie saw).
    pub deployment_days: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Spray {
    /// A success from a source that failed for at least this many other
    /// accounts (and for more accounts than it succeeded for) within
    /// `window` is critical.
    pub min_accounts: u32,
    pub window: String,
    /// Sources remembered at most.
    pub max_sources: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Fusion {
    pub enabled: bool,
    /// Fused score (bits of surprise) of an account-hour that raises a
    /// high alert, and a critical one.
    pub high: f32,
    pub critical: f32,
    /// Bits one feature may add at most.
    pub cap: f32,
    /// Reads in the hour before it is judged.
    pub min_reads: u32,
    /// Account-hours the deployment must have learned before it judges.
    pub min_hours: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Distinct {
    /// Never alert below this many distinct people in an hour.
    pub min_hour: u32,
    /// Nor below this many in a day.
    pub min_day: u32,
    /// The bound is `mean + k × spread` of the account's (or its peers') hours.
    pub k: f32,
    /// The ratio of observed to bound at which the alert is medium, high, critical.
    pub levels: [f32; 3],
    /// Distinct people an hour that an account with no usable baseline
    /// (new, and no peers) may read before alerting.
    pub cold_hour: u32,
    /// Peer hours needed before a peer group's baseline is used.
    pub peer_min: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Records {
    /// Records returned in an hour (exports count here) below which nothing alerts.
    pub min_hour: u64,
    pub k: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkingSet {
    /// Never alert below this many people outside the working set in an hour.
    pub min_new: u32,
    /// The bound is `mean + k × spread` of the account's hours.
    pub k: f32,
    /// Bits of the per-account filter of people read (memory per account).
    pub bits: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CaseloadFiles {
    /// CSV `account,subject_id`: the people each account follows.
    pub accounts: Option<PathBuf>,
    /// CSV `subject_id,group`: the group (agency) each person belongs to.
    pub subjects: Option<PathBuf>,
    /// The fewest people outside the caseload in an hour that alert
    /// (medium; twice the bound: high; five times: critical).
    pub min_outside: u32,
    /// The bound is `mean + k × spread` of the account's own hours (its
    /// peers' until it has `warmup.hours` of them): how often the account
    /// legitimately reads outside the file (new applicants, walk-ins,
    /// colleagues covered, a file that lags) is learned, not assumed.
    pub k: f32,
}

impl Default for CaseloadFiles {
    fn default() -> Self {
        CaseloadFiles { accounts: None, subjects: None, min_outside: 12, k: 4.0 }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct OffHours {
    /// Reads in an unusual hour before it counts.
    pub min_reads: u32,
    /// A time-of-week slot is unusual when it holds less than this share of
    /// the account's active hours.
    pub rare_share: f32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Sources {
    pub enabled: bool,
    /// Addresses, /24 networks and user agents remembered per account.
    pub remember: usize,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Travel {
    pub max_kmh: f64,
    /// Shorter hops are ignored (GeoIP is imprecise within a country).
    pub min_km: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Takeover {
    /// After a password reset, a login from a new source within this span…
    pub login_within: String,
    /// …then reads beyond the account's bound within `read_within`.
    pub read_within: String,
    /// The fewest distinct people in an hour that complete the path. Unset,
    /// it is the floor of every volume bound (`distinct.min_hour`): the
    /// reset and the new network already say who may be reading, not how
    /// much an owner with unknown habits reads.
    pub min_distinct: Option<u32>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Iam {
    /// Active days of history before a first account creation or grant is unusual.
    pub min_days: u32,
    /// An account seen for fewer days than this is new.
    pub new_account_days: u32,
    /// Distinct people an hour a new account may read.
    pub new_account_hour: u32,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Service {
    /// Account-name prefixes of service accounts (roles such as `service`
    /// or `batch` mark them too).
    pub prefixes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Risk {
    /// A score halves in this span without new signals.
    pub half_life: String,
    /// Crossing it raises an incident.
    pub threshold: f32,
    /// Points per alert level.
    pub low: f32,
    pub medium: f32,
    pub high: f32,
    pub critical: f32,
    /// Signals listed in an incident at most.
    pub max_signals: usize,
}

impl Default for AnalyticsConfig {
    fn default() -> Self {
        AnalyticsConfig {
            enabled: true,
            timezone: "Europe/Paris".into(),
            warmup: Warmup::default(),
            distinct: Distinct::default(),
            records: Records::default(),
            working_set: WorkingSet::default(),
            off_hours: OffHours::default(),
            sources: Sources::default(),
            travel: Travel::default(),
            takeover: Takeover::default(),
            iam: Iam::default(),
            service: Service::default(),
            spray: Spray::default(),
            fusion: Fusion::default(),
            risk: Risk::default(),
            geoip: None,
            caseload: CaseloadFiles::default(),
            max_accounts: 2_000_000,
        }
    }
}

impl Default for Warmup {
    fn default() -> Self {
        Warmup { hours: 12, days: 4, horizon: 200, deployment_days: 3 }
    }
}
impl Default for Distinct {
    fn default() -> Self {
        Distinct { min_hour: 25, min_day: 80, k: 6.0, levels: [1.0, 2.0, 5.0], cold_hour: 60, peer_min: 40 }
    }
}
impl Default for Records {
    fn default() -> Self {
        Records { min_hour: 5_000, k: 8.0 }
    }
}
impl Default for WorkingSet {
    fn default() -> Self {
        WorkingSet { min_new: 12, k: 4.0, bits: 2048 }
    }
}
impl Default for OffHours {
    fn default() -> Self {
        OffHours { min_reads: 10, rare_share: 0.01 }
    }
}
impl Default for Sources {
    fn default() -> Self {
        Sources { enabled: true, remember: 8 }
    }
}
impl Default for Travel {
    fn default() -> Self {
        Travel { max_kmh: 900.0, min_km: 500.0 }
    }
}
impl Default for Takeover {
    fn default() -> Self {
        Takeover { login_within: "3d".into(), read_within: "3d".into(), min_distinct: None }
    }
}
impl Default for Iam {
    fn default() -> Self {
        Iam { min_days: 5, new_account_days: 7, new_account_hour: 40 }
    }
}
impl Default for Service {
    fn default() -> Self {
        Service { prefixes: vec!["svc-".into(), "svc_".into(), "svc.".into()] }
    }
}
impl Default for Spray {
    fn default() -> Self {
        Spray { min_accounts: 5, window: "2h".into(), max_sources: 100_000 }
    }
}
impl Default for Fusion {
    fn default() -> Self {
        Fusion { enabled: true, high: 22.0, critical: 32.0, cap: 12.0, min_reads: 5, min_hours: 2_000 }
    }
}
impl Default for Risk {
    fn default() -> Self {
        Risk {
            half_life: "6h".into(),
            threshold: 100.0,
            low: 10.0,
            medium: 30.0,
            high: 60.0,
            critical: 100.0,
            max_signals: 12,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("{path}: {message}")]
    Yaml { path: String, message: String },
    #[error("analytics {field}: {message}")]
    Invalid { field: &'static str, message: String },
}

impl AnalyticsConfig {
    pub fn from_yaml(text: &str, path: &str) -> Result<AnalyticsConfig, ConfigError> {
        yaml_serde::from_str(text).map_err(|e| ConfigError::Yaml { path: path.into(), message: e.to_string() })
    }
}
