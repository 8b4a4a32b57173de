//! The alert contract: one JSON object, ECS-style, that every sink writes
//! and every consumer (SOC console, SOAR, ticketing) can rely on.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What produced an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertKind {
    Sigma,
    Correlation,
    Analytic,
    Incident,
}

/// First sight of an alert, or the final tally of its merged repeats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    New,
    Updated,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertHeader {
    /// Deterministic: the same input always yields the same id, so replays
    /// and restarts never duplicate an alert downstream.
    pub id: String,
    pub kind: AlertKind,
    pub status: Status,
    /// How many occurrences this alert stands for (merged repeats).
    pub count: u64,
    pub first_seen: String,
    pub last_seen: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RuleRef {
    pub id: String,
    pub name: String,
    pub level: crate::Severity,
    /// DRL 1.1 requires the author of a Sigma rule on everything it produces.
    pub author: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct UserRef {
    pub name: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceRef {
    pub ip: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// Event time of the triggering event.
    #[serde(rename = "@timestamp")]
    pub timestamp: String,
    pub alert: AlertHeader,
    pub rule: RuleRef,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<UserRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
    /// One sentence a person can act on.
    pub reason: String,
    /// What made it fire: matched fields, counts, window, baseline.
    pub evidence: Map<String, Value>,
    /// Ids of the triggering events.
    pub events: Vec<String>,
    /// The triggering event itself, when there is exactly one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event: Option<Value>,
}

impl Alert {
    /// The entity repeats are merged by: the user, else the source, else
    /// nothing (one alert per rule within the merge window).
    pub fn entity(&self) -> String {
        let user = self.user.as_ref().map_or("", |u| u.name.as_str());
        let source = self.source.as_ref().map_or("", |s| s.ip.as_str());
        format!("{user}\u{1f}{source}")
    }
}

/// Where an event was read: the input (a file path, `http`, `stdin#0`, ...)
/// and its position there (line, byte offset or record id). Typed from the
/// reader to the alert; only the alert's `events` list spells it
/// `input:offset`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Origin {
    pub input: std::sync::Arc<str>,
    pub offset: u64,
}

impl Origin {
    pub fn new(input: impl Into<std::sync::Arc<str>>, offset: u64) -> Origin {
        Origin { input: input.into(), offset }
    }
}

impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.input, self.offset)
    }
}

/// A deterministic id from the parts that identify an alert.
pub fn alert_id(parts: &[&str]) -> String {
    let mut id = IdBuilder::default();
    for p in parts {
        id.part(p);
    }
    id.finish()
}

/// [`alert_id`] built part by part, for hot paths whose parts are numbers or
/// lists: a part can be written in pieces (`write!` streams into the hash),
/// so nothing is formatted into a string first. `b.part(x)` for each part
/// gives the same id as `alert_id(&[x, ...])`.
#[derive(Default)]
pub struct IdBuilder {
    h: xxhash_rust::xxh3::Xxh3,
}

impl IdBuilder {
    /// One whole part.
    pub fn part(&mut self, p: &str) -> &mut Self {
        self.h.update(p.as_bytes());
        self.end()
    }

    /// Close a part written in pieces.
    pub fn end(&mut self) -> &mut Self {
        self.h.update(&[0x1f]);
        self
    }

    pub fn finish(&self) -> String {
        format!("{:032x}", self.h.digest128())
    }
}

impl std::fmt::Write for IdBuilder {
    /// A piece of the current part.
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.h.update(s.as_bytes());
        Ok(())
    }
}

/// A stable id of an event from its bytes: the same event read twice (a
/// replay, a restart, a duplicate delivery) has the same id.
pub fn event_id(bytes: &[u8]) -> String {
    format!("{:032x}", xxhash_rust::xxh3::xxh3_128(bytes))
}

/// Milliseconds since the epoch as RFC 3339 (UTC, millisecond precision).
pub fn rfc3339(ms: i64) -> String {
    match jiff::Timestamp::from_millisecond(ms) {
        Ok(t) => format!("{t:.3}"),
        Err(_) => ms.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_id_built_in_pieces_is_the_id_of_its_parts() {
        use std::fmt::Write;
        let mut b = IdBuilder::default();
        b.part("access");
        write!(b, "{}", Origin::new("http", 42)).unwrap();
        b.end();
        write!(b, "{}", -1_700_000_000_123i64).unwrap();
        b.end();
        for (i, s) in ["ab", "cd"].iter().enumerate() {
            if i > 0 {
                b.write_str(",").unwrap();
            }
            b.write_str(s).unwrap();
        }
        b.end().part("");
        assert_eq!(b.finish(), alert_id(&["access", "http:42", "-1700000000123", "ab,cd", ""]));
        // The separator is part of the id: moving it changes the id.
        assert_ne!(alert_id(&["ab", "c"]), alert_id(&["a", "bc"]));
    }

    #[test]
    fn ids_are_deterministic_and_separate_their_parts() {
        assert_eq!(alert_id(&["r", "e"]), alert_id(&["r", "e"]));
        assert_ne!(alert_id(&["ab", "c"]), alert_id(&["a", "bc"]));
        assert_eq!(event_id(b"x").len(), 32);
    }

    #[test]
    fn timestamps_are_rfc3339_utc() {
        assert_eq!(rfc3339(1_709_366_472_345), "2024-03-02T08:01:12.345Z");
    }
}
