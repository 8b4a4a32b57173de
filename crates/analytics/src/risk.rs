//! The entity risk score: every finding about an account (analytics, and
//! Sigma or correlation alerts that name it) adds points by level; the
//! score halves every `half_life` without news. Crossing the threshold
//! raises one incident that lists every signal behind it; the account can
//! raise another only after its score has fallen below half the threshold.

use crate::config::{ConfigError, Risk as RiskConfig};
use rustc_hash::{FxHashMap, FxHashSet};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use vigie_alert::Severity;

/// One signal behind a score.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Contribution {
    pub alert_id: String,
    pub rule: String,
    pub level: Severity,
    pub at: String,
    pub points: f32,
    pub reason: String,
    /// An address the signal found new for the account (the attacker's,
    /// likely): containment may block it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_source: Option<String>,
    /// Event time of the signal (ms).
    #[serde(default)]
    pub at_ms: i64,
    /// Signals of one family measure one thing (distinct people and people
    /// outside the working set are the same count where every person is
    /// new): their repeats are counted together. Empty: the rule's own.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub family: String,
}

impl Contribution {
    fn family(&self) -> &str {
        if self.family.is_empty() { &self.rule } else { &self.family }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Score {
    pub value: f32,
    /// Event time of `value`.
    pub at: i64,
    pub signals: VecDeque<Contribution>,
    /// An incident is open (raised and not yet decayed below half).
    pub raised: bool,
    pub incidents: u32,
}

/// What crossing the threshold produces.
#[derive(Debug, Clone, PartialEq)]
pub struct Incident {
    pub user: String,
    pub ts: i64,
    pub score: f32,
    pub threshold: f32,
    pub signals: Vec<Contribution>,
    /// The incident's ordinal for this account (part of its id).
    pub number: u32,
    pub critical: bool,
}

pub struct Risk {
    cfg: RiskConfig,
    half_life: f64,
    pub scores: FxHashMap<String, Score>,
    dirty: FxHashSet<String>,
}

impl Risk {
    pub fn new(cfg: &RiskConfig) -> Result<Risk, ConfigError> {
        let half_life = vigie_alert::duration_ms(&cfg.half_life)
            .map_err(|e| ConfigError::Invalid { field: "risk.half_life", message: e.to_string() })?;
        Ok(Risk {
            cfg: cfg.clone(),
            half_life: half_life.max(1) as f64,
            scores: FxHashMap::default(),
            dirty: FxHashSet::default(),
        })
    }

    /// Keep `old`'s scores under these settings (a live reload): a score
    /// is points already earned, which the new half-life decays from now on.
    pub fn adopt(&mut self, old: &mut Risk) {
        self.scores = std::mem::take(&mut old.scores);
        self.dirty = std::mem::take(&mut old.dirty);
    }

    pub fn points(&self, level: Severity) -> f32 {
        match level {
            Severity::Informational => 0.0,
            Severity::Low => self.cfg.low,
            Severity::Medium => self.cfg.medium,
            Severity::High => self.cfg.high,
            Severity::Critical => self.cfg.critical,
        }
    }

    fn decayed(&self, s: &Score, ts: i64) -> f32 {
        let dt = (ts - s.at).max(0) as f64;
        (s.value as f64 * 0.5f64.powf(dt / self.half_life)) as f32
    }

    /// The score of `user` at `ts`.
    pub fn score(&self, user: &str, ts: i64) -> f32 {
        self.scores.get(user).map_or(0.0, |s| self.decayed(s, ts))
    }

    /// Add a signal; returns the incident it triggers, if any.
    ///
    /// Each repeat of a rule within the story is less news than the one
    /// before: the k-th adds 1/k of its level's points, and repeats that
    /// would add less than a quarter add nothing. Five exports of a nightly
    /// job, or five nights of a night nurse, stay one finding's worth; it
    /// takes different findings to raise an incident quickly, or one that
    /// persists for hours.
    pub fn add(&mut self, user: &str, ts: i64, c: Contribution) -> Option<Incident> {
        let full = self.points(c.level);
        if full <= 0.0 {
            return None;
        }
        let mut s = self.scores.remove(user).unwrap_or_default();
        let now = ts.max(s.at);
        let value = self.decayed(&s, now);
        if s.raised && value < self.cfg.threshold / 2.0 {
            s.raised = false;
            s.signals.clear();
        }
        if value < 1.0 && !s.raised {
            // A fresh story: old, fully decayed signals do not explain it.
            s.signals.clear();
        }
        // An escalation (a level above any before of this rule) is new
        // evidence and counts in full; a repeat is less news each time.
        let same = s.signals.iter().filter(|x| x.family() == c.family());
        let escalates = same.clone().all(|x| self.points(x.level) < full);
        let points = if escalates { full } else { full / (1 + same.count()) as f32 };
        if points < 0.25 * full {
            self.scores.insert(user.to_string(), s);
            return None;
        }
        s.value = value + points;
        s.at = now;
        s.signals.push_back(Contribution { points, at_ms: ts, ..c });
        while s.signals.len() > self.cfg.max_signals {
            s.signals.pop_front();
        }
        let mut out = None;
        if !s.raised && s.value >= self.cfg.threshold {
            s.raised = true;
            s.incidents += 1;
            out = Some(Incident {
                user: user.to_string(),
                ts: now,
                score: s.value,
                threshold: self.cfg.threshold,
                signals: s.signals.iter().cloned().collect(),
                number: s.incidents,
                critical: s.value >= 2.0 * self.cfg.threshold
                    || s.signals.iter().any(|x| x.level == Severity::Critical),
            });
        }
        self.scores.insert(user.to_string(), s);
        self.dirty.insert(user.to_string());
        out
    }

    pub fn take_changes(&mut self) -> Vec<(String, Option<Score>)> {
        self.dirty.drain().map(|u| (u.clone(), self.scores.get(&u).cloned())).collect()
    }

    pub fn restore(&mut self, scores: Vec<(String, Score)>) {
        self.scores = scores.into_iter().collect();
        self.dirty.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(level: &str) -> Contribution {
        Contribution {
            alert_id: "a".into(),
            rule: level.into(),
            level: level.parse().unwrap(),
            at: String::new(),
            points: 0.0,
            reason: String::new(),
            new_source: None,
            at_ms: 0,
            family: String::new(),
        }
    }

    fn rule(level: &str, rule: &str) -> Contribution {
        Contribution { rule: rule.into(), ..c(level) }
    }

    #[test]
    fn each_repeat_of_a_finding_is_less_news_than_the_last() {
        let mut r = Risk::new(&RiskConfig::default()).unwrap();
        // Ten exports of a nightly job, a minute apart: 30 + 15 + 10 + 7.5,
        // then nothing more.
        for k in 0..10 {
            assert!(r.add("job", k * 60_000, rule("medium", "bulk export")).is_none(), "export {k}");
        }
        let s = r.score("job", 9 * 60_000);
        assert!((s - 62.5).abs() < 1.0, "{s}");
        assert_eq!(r.scores["job"].signals.len(), 4);
        // An escalation of the same rule counts in full, once.
        r.add("job", 9 * 60_000, rule("high", "bulk export"));
        assert!((r.score("job", 9 * 60_000) - 122.5).abs() < 1.0, "{}", r.score("job", 9 * 60_000));
        let mut r = Risk::new(&RiskConfig::default()).unwrap();
        for k in 0..10 {
            r.add("job", k * 60_000, rule("medium", "bulk export"));
        }
        // A different finding stacks at full weight.
        let i = r.add("job", 9 * 60_000, rule("high", "new source")).expect("62.5 + 60 crosses 100");
        assert_eq!(i.signals.iter().filter(|x| x.rule == "bulk export").count(), 4);
        // Two rules of one family repeat together.
        let mut r = Risk::new(&RiskConfig::default()).unwrap();
        let fam = |rule_name: &str| Contribution { family: "volume".into(), ..rule("medium", rule_name) };
        for k in 0..4 {
            r.add("agent", k * 3_600_000, fam("distinct people"));
            r.add("agent", k * 3_600_000 + 1, fam("working set"));
        }
        assert!(r.score("agent", 4 * 3_600_000) < 100.0, "{}", r.score("agent", 4 * 3_600_000));
        assert!(!r.scores["agent"].raised);
    }

    /// An afternoon of reads outside the caseload escalating to critical,
    /// with people outside the working set beside it: an entitlement case
    /// for review, never an incident (a suspension) on its own. The same
    /// afternoon from a new source is an incident.
    #[test]
    fn reads_outside_the_caseload_corroborate_but_never_contain_alone() {
        use crate::Detection;
        let add = |r: &mut Risk, t: i64, d: Detection, level: &str| {
            let level: Severity = level.parse().unwrap();
            let x = Contribution { family: d.family().into(), level: d.risk_level(level), ..rule("medium", d.id()) };
            r.add("adv", t, x)
        };
        let mut r = Risk::new(&RiskConfig::default()).unwrap();
        let m = 60_000;
        for (k, level) in ["medium", "high", "critical"].iter().enumerate() {
            assert!(add(&mut r, k as i64 * 10 * m, Detection::OutsideCaseload, level).is_none(), "{level}");
            assert!(add(&mut r, k as i64 * 10 * m + 1, Detection::OutsideWorkingSet, "medium").is_none(), "{level}");
        }
        assert!(!r.scores["adv"].raised, "score {}", r.score("adv", 30 * m));
        // Without the ceiling, the same afternoon was an incident.
        let mut r = Risk::new(&RiskConfig::default()).unwrap();
        let raw = |level: &str| Contribution {
            family: Detection::OutsideCaseload.family().into(),
            ..rule(level, "caseload")
        };
        r.add("adv", 0, raw("medium"));
        assert!(r.add("adv", 10 * m, raw("high")).is_some() || r.add("adv", 20 * m, raw("critical")).is_some());
        let mut r = Risk::new(&RiskConfig::default()).unwrap();
        for (k, level) in ["medium", "high", "critical"].iter().enumerate() {
            assert!(add(&mut r, k as i64 * 10 * m, Detection::OutsideCaseload, level).is_none(), "{level}");
        }
        assert!(r.score("adv", 20 * m) < 60.0, "{}", r.score("adv", 20 * m));
        assert!(add(&mut r, 25 * m, Detection::NewSource, "high").is_some(), "another family corroborates");
    }

    #[test]
    fn scores_add_decay_and_raise_once() {
        let mut r = Risk::new(&RiskConfig::default()).unwrap();
        let h = 3_600_000;
        assert!(r.add("u", 0, c("medium")).is_none());
        assert!(r.add("u", 0, c("high")).is_none());
        assert!((r.score("u", 6 * h) - 45.0).abs() < 0.5, "halved after one half-life");
        let i = r.add("u", 6 * h, rule("high", "another")).expect("45 + 60 crosses 100");
        assert_eq!(i.signals.len(), 3);
        assert_eq!(i.number, 1);
        assert!(r.add("u", 6 * h, c("critical")).is_none(), "one incident while it stays raised");
        // Two days later the score has decayed: a new story can raise again.
        let i2 = r.add("u", 60 * h, c("critical")).expect("re-armed");
        assert_eq!(i2.number, 2);
        assert_eq!(i2.signals.len(), 1, "old signals do not explain the new incident");
        assert!(i2.critical);
        assert!(r.add("v", 0, c("informational")).is_none());
        assert_eq!(r.score("v", 0), 0.0);
    }
}
