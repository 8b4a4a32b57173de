//! The ground truth written beside the events: what each attack did, when,
//! to whom and from where, and the records it read, event by event; and
//! the benign look-alikes that must not raise high alerts.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Scenario {
    pub name: String,
    pub description: String,
    /// Accounts the attacker used (including accounts it created).
    pub accounts: Vec<String>,
    /// Addresses the attacker used.
    pub source_ips: Vec<String>,
    /// First and last malicious event (RFC 3339).
    pub start: String,
    pub end: String,
    pub start_ms: i64,
    pub end_ms: i64,
    /// Every malicious data access: (time in ms, records returned, index
    /// of the account in `accounts`, index of the address in `source_ips`).
    pub reads: Vec<(i64, u64, u8, u8)>,
    /// Records the attack read in all (what it takes if never stopped).
    pub records_total: u64,
    /// Distinct people whose records it read.
    pub subjects_exposed: u64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Benign {
    pub name: String,
    pub accounts: Vec<String>,
    pub start_ms: i64,
    pub end_ms: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Truth {
    pub seed: u64,
    /// The kind of organisation (agency, hospital, callcentre, portal);
    /// empty in truths written before archetypes existed.
    #[serde(default)]
    pub archetype: String,
    pub accounts: usize,
    pub subjects: u32,
    pub days: u32,
    pub start: String,
    pub events: u64,
    pub scenarios: Vec<Scenario>,
    pub benign: Vec<Benign>,
}
