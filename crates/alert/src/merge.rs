//! Merging repeats and applying suppressions.
//!
//! A rule that fires 500 times on one account in ten minutes is one thing to
//! look at, not 500. The first occurrence is emitted at once (nobody waits
//! for a window to close to learn of an attack); later ones within the merge
//! window only raise its count, and when the window closes an `updated`
//! record with the same `alert.id` carries the final count and last time.
//! Nothing disappears: every repeat is in a count, every suppressed alert in
//! its suppression's counter.

use crate::model::{Alert, Status, rfc3339};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};

/// An explicit, expiring decision to silence some alerts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Suppression {
    /// Rule id, name or title; absent: every rule.
    #[serde(default)]
    pub rule: Option<String>,
    #[serde(default)]
    pub user: Option<String>,
    #[serde(default)]
    pub source_ip: Option<String>,
    /// RFC 3339; the suppression applies to alerts whose event time is before it.
    pub expires: String,
    /// Why: shown in reports next to what it silenced.
    pub reason: String,
}

#[derive(Debug, thiserror::Error)]
pub enum SuppressionError {
    #[error("suppression {index}: `expires` is not an RFC 3339 time: {value}")]
    BadExpiry { index: usize, value: String },
    #[error("suppression {index}: `reason` is empty; every suppression must say why")]
    NoReason { index: usize },
    #[error("suppression {index}: names no rule, user or source; it would silence everything")]
    Unbounded { index: usize },
}

struct Compiled {
    rule: Option<String>,
    user: Option<String>,
    source_ip: Option<String>,
    expires_ms: i64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Open {
    alert: Alert,
    first_ms: i64,
    last_ms: i64,
}

/// State that a checkpoint keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MergerState {
    open: BTreeMap<String, Open>,
    /// Per suppression (by index in the config): alerts it silenced.
    pub suppressed: Vec<u64>,
    pub merged: u64,
}

pub struct Merger {
    window_ms: i64,
    suppressions: Vec<Compiled>,
    pub state: MergerState,
    /// (rule id, entity) -> key in `state.open`
    index: HashMap<(String, String), String>,
}

impl Merger {
    pub fn new(window_ms: i64, suppressions: &[Suppression]) -> Result<Merger, SuppressionError> {
        let mut compiled = Vec::new();
        for (index, s) in suppressions.iter().enumerate() {
            let expires_ms = s
                .expires
                .parse::<jiff::Timestamp>()
                .map_err(|_| SuppressionError::BadExpiry { index, value: s.expires.clone() })?
                .as_millisecond();
            if s.reason.trim().is_empty() {
                return Err(SuppressionError::NoReason { index });
            }
            if s.rule.is_none() && s.user.is_none() && s.source_ip.is_none() {
                return Err(SuppressionError::Unbounded { index });
            }
            compiled.push(Compiled {
                rule: s.rule.clone(),
                user: s.user.clone(),
                source_ip: s.source_ip.clone(),
                expires_ms,
            });
        }
        let state = MergerState { suppressed: vec![0; compiled.len()], ..MergerState::default() };
        Ok(Merger { window_ms, suppressions: compiled, state, index: HashMap::new() })
    }

    /// Restore checkpointed state (suppression counters are kept by position).
    pub fn restore(&mut self, mut state: MergerState) {
        state.suppressed.resize(self.suppressions.len(), 0);
        self.index = state.open.iter().map(|(k, o)| ((o.alert.rule.id.clone(), o.alert.entity()), k.clone())).collect();
        self.state = state;
    }

    /// Offer a new alert at event time `ts_ms`. Returns it when it is to be
    /// emitted now; `None` when it was merged into an open alert or suppressed.
    pub fn offer(&mut self, alert: Alert, ts_ms: i64, rule_name: Option<&str>) -> Option<Alert> {
        if let Some(i) = self.suppressed_by(&alert, ts_ms, rule_name) {
            self.state.suppressed[i] += 1;
            return None;
        }
        let key = (alert.rule.id.clone(), alert.entity());
        if let Some(open) = self.index.get(&key).and_then(|k| self.state.open.get_mut(k))
            && ts_ms - open.first_ms <= self.window_ms
        {
            open.alert.alert.count += alert.alert.count;
            if ts_ms > open.last_ms {
                open.last_ms = ts_ms;
                open.alert.alert.last_seen = alert.alert.last_seen.clone();
            }
            for e in alert.events {
                if open.alert.events.len() < 100 && !open.alert.events.contains(&e) {
                    open.alert.events.push(e);
                }
            }
            self.state.merged += 1;
            return None;
        }
        let id = alert.alert.id.clone();
        self.index.insert(key, id.clone());
        let mut kept = alert.clone();
        kept.event = None;
        self.state.open.insert(id, Open { alert: kept, first_ms: ts_ms, last_ms: ts_ms });
        Some(alert)
    }

    /// Close merge windows that ended before `watermark`; returns the
    /// `updated` records of those that absorbed repeats.
    pub fn close(&mut self, watermark: i64) -> Vec<Alert> {
        let done: Vec<String> = self
            .state
            .open
            .iter()
            .filter(|(_, o)| o.first_ms.saturating_add(self.window_ms) < watermark)
            .map(|(k, _)| k.clone())
            .collect();
        let mut out = Vec::new();
        for k in done {
            let Some(o) = self.state.open.remove(&k) else { continue };
            self.index.remove(&(o.alert.rule.id.clone(), o.alert.entity()));
            if o.alert.alert.count > 1 {
                let mut a = o.alert;
                a.alert.status = Status::Updated;
                a.alert.last_seen = rfc3339(o.last_ms);
                out.push(a);
            }
        }
        out
    }

    /// Open merge windows, for state-size metrics.
    pub fn open(&self) -> usize {
        self.state.open.len()
    }

    fn suppressed_by(&self, a: &Alert, ts_ms: i64, rule_name: Option<&str>) -> Option<usize> {
        self.suppressions.iter().position(|s| {
            ts_ms < s.expires_ms
                && s.rule.as_deref().is_none_or(|r| r == a.rule.id || r == a.rule.name || Some(r) == rule_name)
                && s.user.as_deref().is_none_or(|u| a.user.as_ref().is_some_and(|x| x.name == u))
                && s.source_ip.as_deref().is_none_or(|ip| a.source.as_ref().is_some_and(|x| x.ip == ip))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;

    fn alert(rule: &str, user: &str, ts: i64, n: u32) -> Alert {
        Alert {
            timestamp: rfc3339(ts),
            alert: AlertHeader {
                id: alert_id(&[rule, user, &n.to_string()]),
                kind: AlertKind::Sigma,
                status: Status::New,
                count: 1,
                first_seen: rfc3339(ts),
                last_seen: rfc3339(ts),
            },
            rule: RuleRef { id: rule.into(), name: "R".into(), level: "high".into(), author: "a".into(), tags: vec![] },
            user: Some(UserRef { name: user.into() }),
            source: None,
            reason: "r".into(),
            evidence: Default::default(),
            events: vec![format!("e{n}")],
            event: None,
        }
    }

    #[test]
    fn repeats_merge_and_the_tally_is_emitted_at_close() {
        let mut m = Merger::new(60_000, &[]).unwrap();
        assert!(m.offer(alert("r1", "u", 0, 1), 0, None).is_some());
        assert!(m.offer(alert("r1", "u", 10_000, 2), 10_000, None).is_none());
        assert!(m.offer(alert("r1", "v", 10_000, 3), 10_000, None).is_some(), "another entity");
        assert!(m.close(50_000).is_empty(), "window still open");
        let up = m.close(70_000);
        assert_eq!(up.len(), 1, "only the merged alert gets an update");
        assert_eq!(up[0].alert.count, 2);
        assert_eq!(up[0].alert.status, Status::Updated);
        assert_eq!(up[0].events, vec!["e1", "e2"]);
        assert_eq!(m.state.merged, 1);
        assert!(m.offer(alert("r1", "u", 80_000, 4), 80_000, None).is_some(), "a new window");
    }

    #[test]
    fn suppressions_expire_and_are_counted() {
        let s = Suppression {
            rule: Some("R".into()),
            user: Some("u".into()),
            source_ip: None,
            expires: "1970-01-01T00:01:00Z".into(),
            reason: "pentest".into(),
        };
        let mut m = Merger::new(1, std::slice::from_ref(&s)).unwrap();
        assert!(m.offer(alert("r1", "u", 0, 1), 0, Some("R")).is_none());
        assert!(m.offer(alert("r1", "v", 0, 2), 0, Some("R")).is_some(), "other user");
        assert!(m.offer(alert("r1", "u", 61_000, 3), 61_000, Some("R")).is_some(), "expired");
        assert_eq!(m.state.suppressed, vec![1]);
        let unbounded = Suppression { rule: None, user: None, ..s.clone() };
        assert!(matches!(Merger::new(1, &[unbounded]), Err(SuppressionError::Unbounded { .. })));
        let silent = Suppression { reason: " ".into(), ..s };
        assert!(matches!(Merger::new(1, &[silent]), Err(SuppressionError::NoReason { .. })));
    }
}
