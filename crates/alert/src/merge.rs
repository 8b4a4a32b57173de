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
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

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
pub struct Open {
    alert: Alert,
    first_ms: i64,
    last_ms: i64,
}

/// State that a checkpoint keeps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct MergerState {
    /// Open alerts are not part of the serialised state: a checkpoint
    /// stores them one row each, writing only those that changed (see
    /// [`Merger::take_changes`]), so its cost follows the alert rate, not
    /// the number of alerts open.
    #[serde(skip)]
    open: BTreeMap<String, Open>,
    /// (first seen, id) of every open alert, oldest first: closing looks
    /// only at the front, whatever the number of open alerts.
    #[serde(skip)]
    by_start: BTreeSet<(i64, String)>,
    /// Per suppression (by index in the config): alerts it silenced.
    pub suppressed: Vec<u64>,
    pub merged: u64,
    /// Merge windows closed early because `max_open` was reached.
    #[serde(default)]
    pub closed_early: u64,
}

pub struct Merger {
    window_ms: i64,
    /// Open alerts kept at most; beyond, the oldest closes early (its tally
    /// is emitted then), which bounds memory and checkpoint size.
    max_open: usize,
    suppressions: Vec<Compiled>,
    pub state: MergerState,
    /// (rule id, entity) -> key in `state.open`
    index: HashMap<(String, String), String>,
    /// Tallies of alerts closed early, waiting for the next `close`.
    early: Vec<Alert>,
    /// Open alerts changed (opened, merged into, closed) since the last checkpoint.
    dirty: HashSet<String>,
    /// Suppressions analysts create at run time (the console), replaced
    /// whole as the store's list changes; not checkpointed (the store is
    /// their record).
    dynamic: Vec<Compiled>,
    /// Alerts the run-time suppressions silenced.
    pub dynamic_suppressed: u64,
}

impl Merger {
    pub fn new(window_ms: i64, suppressions: &[Suppression]) -> Result<Merger, SuppressionError> {
        Merger::bounded(window_ms, 10_000, suppressions)
    }

    pub fn bounded(window_ms: i64, max_open: usize, suppressions: &[Suppression]) -> Result<Merger, SuppressionError> {
        let compiled = compile(suppressions)?;
        let state = MergerState { suppressed: vec![0; compiled.len()], ..MergerState::default() };
        Ok(Merger {
            window_ms,
            max_open: max_open.max(1),
            suppressions: compiled,
            state,
            index: HashMap::new(),
            early: Vec::new(),
            dirty: HashSet::new(),
            dynamic: Vec::new(),
            dynamic_suppressed: 0,
        })
    }

    /// Replace the run-time suppressions (counted apart from the configured ones).
    /// Apply `f` to every open alert (marked changed for the next
    /// checkpoint): a reload that names new personal fields re-scrubs the
    /// alerts still merging, which are emitted again when they close.
    pub fn rewrite_open(&mut self, mut f: impl FnMut(&mut Alert)) {
        for (id, o) in self.state.open.iter_mut() {
            f(&mut o.alert);
            self.dirty.insert(id.clone());
        }
        for a in &mut self.early {
            f(a);
        }
    }

    pub fn set_dynamic(&mut self, suppressions: &[Suppression]) -> Result<(), SuppressionError> {
        self.dynamic = compile(suppressions)?;
        Ok(())
    }

    /// Restore checkpointed state and the open alerts stored beside it
    /// (suppression counters are kept by position).
    pub fn restore(&mut self, mut state: MergerState, open: impl IntoIterator<Item = Open>) {
        state.suppressed.resize(self.suppressions.len(), 0);
        for o in open {
            state.by_start.insert((o.first_ms, o.alert.alert.id.clone()));
            state.open.insert(o.alert.alert.id.clone(), o);
        }
        self.index = state.open.iter().map(|(k, o)| (merge_key(&o.alert), k.clone())).collect();
        self.state = state;
        self.dirty.clear();
    }

    /// The open alerts changed since the last call: (id, the alert, or
    /// `None` when it closed). A checkpoint writes exactly these.
    pub fn take_changes(&mut self) -> Vec<(String, Option<Open>)> {
        self.dirty
            .drain()
            .map(|id| {
                let o = self.state.open.get(&id).cloned();
                (id, o)
            })
            .collect()
    }

    /// Offer a new alert at event time `ts_ms`. Returns it when it is to be
    /// emitted now; `None` when it was merged into an open alert or suppressed.
    pub fn offer(&mut self, alert: Alert, ts_ms: i64, rule_name: Option<&str>) -> Option<Alert> {
        if matches(&self.dynamic, &alert, ts_ms, rule_name).is_some() {
            self.dynamic_suppressed += 1;
            return None;
        }
        if let Some(i) = self.suppressed_by(&alert, ts_ms, rule_name) {
            self.state.suppressed[i] += 1;
            return None;
        }
        let key = merge_key(&alert);
        if let Some(open) = self.index.get(&key).and_then(|k| self.state.open.get_mut(k))
            && ts_ms - open.first_ms <= self.window_ms
        {
            self.dirty.insert(open.alert.alert.id.clone());
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
        if self.state.open.len() >= self.max_open
            && let Some((_, oldest)) = self.state.by_start.pop_first()
        {
            self.state.closed_early += 1;
            if let Some(a) = self.finish(&oldest) {
                self.early.push(a);
            }
        }
        let id = alert.alert.id.clone();
        self.index.insert(key, id.clone());
        let mut kept = alert.clone();
        kept.event = None;
        self.state.by_start.insert((ts_ms, id.clone()));
        self.dirty.insert(id.clone());
        self.state.open.insert(id, Open { alert: kept, first_ms: ts_ms, last_ms: ts_ms });
        Some(alert)
    }

    /// Close merge windows that ended before `watermark`; returns the
    /// `updated` records of those that absorbed repeats.
    pub fn close(&mut self, watermark: i64) -> Vec<Alert> {
        let mut out = std::mem::take(&mut self.early);
        while let Some((first, _)) = self.state.by_start.first() {
            if first.saturating_add(self.window_ms) >= watermark {
                break;
            }
            let Some((_, k)) = self.state.by_start.pop_first() else { break };
            out.extend(self.finish(&k));
        }
        out
    }

    /// Forget an open alert; its `updated` record if repeats were merged.
    fn finish(&mut self, id: &str) -> Option<Alert> {
        let o = self.state.open.remove(id)?;
        self.dirty.insert(id.to_string());
        self.index.remove(&merge_key(&o.alert));
        (o.alert.alert.count > 1).then(|| {
            let mut a = o.alert;
            a.alert.status = Status::Updated;
            a.alert.last_seen = rfc3339(o.last_ms);
            a
        })
    }

    /// Open merge windows, for state-size metrics.
    pub fn open(&self) -> usize {
        self.state.open.len()
    }

    fn suppressed_by(&self, a: &Alert, ts_ms: i64, rule_name: Option<&str>) -> Option<usize> {
        matches(&self.suppressions, a, ts_ms, rule_name)
    }
}

fn matches(list: &[Compiled], a: &Alert, ts_ms: i64, rule_name: Option<&str>) -> Option<usize> {
    list.iter().position(|s| {
        ts_ms < s.expires_ms
            && s.rule.as_deref().is_none_or(|r| r == a.rule.id || r == a.rule.name || Some(r) == rule_name)
            && s.user.as_deref().is_none_or(|u| a.user.as_ref().is_some_and(|x| x.name == u))
            && s.source_ip.as_deref().is_none_or(|ip| a.source.as_ref().is_some_and(|x| x.ip == ip))
    })
}

/// Check and compile suppressions (an expiry, a reason, and something named).
fn compile(suppressions: &[Suppression]) -> Result<Vec<Compiled>, SuppressionError> {
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
    Ok(compiled)
}

/// Repeats merge by rule, level and entity: a rule that escalates (an
/// analytic going from medium to high as the count climbs) raises a new
/// alert instead of vanishing into the first one's count.
fn merge_key(a: &Alert) -> (String, String) {
    (format!("{}\u{1f}{}", a.rule.id, a.rule.level), a.entity())
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
            rule: RuleRef {
                id: rule.into(),
                name: "R".into(),
                level: crate::Severity::High,
                author: "a".into(),
                tags: vec![],
            },
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
    fn the_open_alert_cap_closes_the_oldest_early() {
        let mut m = Merger::bounded(60_000, 2, &[]).unwrap();
        assert!(m.offer(alert("r1", "a", 0, 1), 0, None).is_some());
        assert!(m.offer(alert("r1", "a", 1, 2), 1, None).is_none());
        assert!(m.offer(alert("r1", "b", 2, 3), 2, None).is_some());
        assert!(m.offer(alert("r1", "c", 3, 4), 3, None).is_some(), "a third entity: `a` closes early");
        assert_eq!(m.open(), 2);
        assert_eq!(m.state.closed_early, 1);
        let up = m.close(4);
        assert_eq!(up.len(), 1);
        assert_eq!((up[0].alert.count, up[0].user.as_ref().unwrap().name.as_str()), (2, "a"));
    }

    #[test]
    fn run_time_suppressions_silence_until_replaced() {
        let mut m = Merger::new(60_000, &[]).unwrap();
        let sup = Suppression {
            rule: Some("r1".into()),
            user: Some("bob".into()),
            source_ip: None,
            expires: "2030-01-01T00:00:00Z".into(),
            reason: "known batch".into(),
        };
        m.set_dynamic(std::slice::from_ref(&sup)).unwrap();
        assert!(m.offer(alert("r1", "bob", 1_000, 1), 1_000, None).is_none());
        assert!(m.offer(alert("r1", "eve", 1_000, 2), 1_000, None).is_some());
        assert_eq!(m.dynamic_suppressed, 1);
        m.set_dynamic(&[]).unwrap();
        assert!(m.offer(alert("r1", "bob", 2_000, 3), 2_000, None).is_some());
        assert!(m.set_dynamic(&[Suppression { reason: " ".into(), ..sup }]).is_err());
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
