//! The stateful half of the pipeline: one per engine, fed in order. It owns
//! the correlation windows and the merge state, which is exactly what a
//! checkpoint must save.

use crate::detector::{Detected, Match, Origin};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as J, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use vigie_alert::{
    Alert, AlertHeader, AlertKind, Merger, MergerState, RuleRef, Severity, SourceRef, Status, Suppression,
    SuppressionError, UserRef, alert_id, rfc3339,
};
use vigie_analytics::{Account, Analytics, AnalyticsConfig, Contribution, Incident, Risk, Score};
use vigie_correlate::{Correlator, Firing, Limits, Signal, Snapshot, Spec};
use vigie_detect::Engine;
use vigie_sigma::Meta;

/// Counters of the stateful stage, kept in checkpoints.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StageStats {
    pub events: u64,
    pub unrecognised: u64,
    /// Events with no readable time: they take the newest time seen.
    pub no_timestamp: u64,
    /// Events older than the watermark (still matched by Sigma rules, but
    /// kept out of correlation windows).
    pub late: u64,
    /// Events whose time was not trusted (too far ahead of the wall clock in
    /// `run`, an unconfirmed jump in `replay`): they took the trusted time.
    #[serde(default)]
    pub clamped: u64,
    pub alerts_by_level: BTreeMap<Severity, u64>,
    pub alerts_by_kind: BTreeMap<String, u64>,
}

/// Everything a restart needs.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct StageState {
    pub stats: StageStats,
    pub correlations: Snapshot,
    pub merger: MergerState,
    pub max_ts: Option<i64>,
    /// Peer baselines and counters (accounts and risk scores are stored
    /// one row each, beside the checkpoint).
    #[serde(default)]
    pub analytics: Option<vigie_analytics::Shared>,
}

#[derive(Debug, thiserror::Error)]
pub enum StageError {
    #[error(transparent)]
    Suppression(#[from] SuppressionError),
    #[error(transparent)]
    Analytics(#[from] vigie_analytics::ConfigError),
}

pub struct Stage {
    /// The correlator's bounds, for a reload's new correlator.
    limits: vigie_correlate::Limits,
    pub correlator: Correlator,
    pub merger: Merger,
    pub stats: StageStats,
    lateness_ms: i64,
    max_ts: Option<i64>,
    firings: Vec<Firing>,
    pub analytics: Option<Analytics>,
    pub risk: Risk,
    signals: Vec<vigie_analytics::Signal>,
    max_jump_ms: Option<i64>,
    /// Events whose time is far ahead of the trusted time, waiting for
    /// others to confirm it (replay only; at most [`HELD_MAX`]).
    held: Vec<Detected>,
    /// Trusted events applied since the first held one.
    since_held: usize,
    /// Pseudonymises every identifier of a person in an alert before it is
    /// kept, merged, checkpointed or emitted (see `vigie_analytics::scrub`).
    pub scrubber: Option<vigie_analytics::Scrubber>,
    /// Accounts whose stored state goes at the next checkpoint (the
    /// analytics turned off by a reload).
    forgotten: Vec<String>,
}

/// Events that must agree (within `max_jump`) before event time jumps
/// forward by more than `max_jump`.
pub const CONFIRMATIONS: usize = 3;
/// Held events at most: beyond, they are applied as they are.
const HELD_MAX: usize = 64;

/// Stage settings (the `[engine]` part of the configuration).
#[derive(Debug, Clone)]
pub struct StageConfig {
    pub limits: Limits,
    /// Repeats of a rule on one entity within this span merge into one alert.
    pub merge_window_ms: i64,
    /// Open (merging) alerts kept at most.
    pub max_open_alerts: usize,
    pub suppressions: Vec<Suppression>,
    pub analytics: AnalyticsConfig,
    /// An event more than this ahead of the trusted event time moves it only
    /// once [`CONFIRMATIONS`] events within this span of each other agree;
    /// an outlier nobody confirms takes the trusted time and is counted
    /// (`clamped`). `None`: every time is trusted (`run`, which checks
    /// times against the wall clock instead).
    pub max_jump_ms: Option<i64>,
}

impl Default for StageConfig {
    fn default() -> Self {
        StageConfig {
            limits: Limits::default(),
            merge_window_ms: 600_000,
            max_open_alerts: 10_000,
            suppressions: Vec::new(),
            analytics: AnalyticsConfig::default(),
            max_jump_ms: None,
        }
    }
}

impl Stage {
    /// Take a new rule set (a live reload): correlations keep their windows
    /// where their definition did not change, and start afresh where it did
    /// (counted in `correlator.stats.dropped_on_restore`). Returns how many
    /// correlations kept their state.
    pub fn reload(&mut self, engine: &Engine) -> usize {
        let snap = self.correlator.snapshot();
        let mut c = Correlator::new(&engine.set.correlations, self.limits);
        let kept = c.restore(snap);
        self.correlator = c;
        kept
    }

    /// A new scrubber (a live reload whose mapping names more personal
    /// fields): alerts still merging are scrubbed with it at once, so that
    /// none goes out later with a value it now covers.
    pub fn rescrub(&mut self, scrubber: vigie_analytics::Scrubber) {
        self.merger.rewrite_open(|a| scrubber.scrub_alert(a));
        self.scrubber = Some(scrubber);
    }

    /// New analytics settings (a live reload): `analytics` and `risk` were
    /// built from them aside, and take over what the running ones learned
    /// (see [`Analytics::adopt`]). Turning the analytics off forgets their
    /// state (in the store too, at the next checkpoint); turning them on
    /// starts it empty. Returns how many accounts' learned state was
    /// dropped.
    pub fn reconfigure(&mut self, analytics: Option<Analytics>, mut risk: Risk) -> usize {
        risk.adopt(&mut self.risk);
        self.risk = risk;
        let (old, mut new) = (self.analytics.take(), analytics);
        let dropped = match (old, new.as_mut()) {
            (Some(old), Some(new)) => new.adopt(old),
            (Some(old), None) => {
                // Off: their stored rows go too, at the next checkpoint.
                let dropped = old.accounts.len();
                self.forgotten.extend(old.into_names());
                dropped
            }
            (None, _) => 0,
        };
        self.analytics = new;
        dropped
    }

    pub fn new(engine: Arc<Engine>, cfg: &StageConfig) -> Result<Stage, StageError> {
        let correlator = Correlator::new(&engine.set.correlations, cfg.limits);
        Ok(Stage {
            limits: cfg.limits,
            correlator,
            merger: Merger::bounded(cfg.merge_window_ms, cfg.max_open_alerts, &cfg.suppressions)?,
            stats: StageStats::default(),
            lateness_ms: cfg.limits.lateness_ms,
            max_ts: None,
            firings: Vec::new(),
            analytics: if cfg.analytics.enabled { Some(Analytics::new(cfg.analytics.clone())?) } else { None },
            risk: Risk::new(&cfg.analytics.risk)?,
            signals: Vec::new(),
            max_jump_ms: cfg.max_jump_ms,
            held: Vec::new(),
            since_held: 0,
            scrubber: None,
            forgotten: Vec::new(),
        })
    }

    /// The newest event time seen.
    pub fn event_time(&self) -> Option<i64> {
        self.max_ts
    }

    /// Take one event's verdict; alerts to emit are appended to `out`.
    /// With `max_jump_ms`, an event far ahead of the trusted time is held
    /// until others confirm its time (see [`StageConfig::max_jump_ms`]).
    pub fn apply(&mut self, d: Detected, out: &mut Vec<Alert>) {
        let (Some(jump), Some(t)) = (self.max_jump_ms, d.ts) else {
            return self.apply_now(d, out);
        };
        if self.max_ts.is_some_and(|m| t <= m.saturating_add(jump)) {
            self.apply_now(d, out);
            if !self.held.is_empty() {
                self.since_held += 1;
                if self.since_held >= CONFIRMATIONS {
                    // The stream went on without them: outliers.
                    self.release(None, true, out);
                }
            }
            return;
        }
        self.held.push(d);
        if let Some((lo, hi)) = self.confirmed(jump) {
            self.release(Some((lo, hi.saturating_add(jump))), true, out);
        } else if self.held.len() >= HELD_MAX {
            self.release(None, false, out);
        }
    }

    /// The oldest and newest times of a group of [`CONFIRMATIONS`] held
    /// events within `jump` of each other, if there is one.
    fn confirmed(&self, jump: i64) -> Option<(i64, i64)> {
        if self.held.len() < CONFIRMATIONS {
            return None;
        }
        let mut times: Vec<i64> = self.held.iter().filter_map(|d| d.ts).collect();
        times.sort_unstable();
        times
            .windows(CONFIRMATIONS)
            .find(|w| w[CONFIRMATIONS - 1].saturating_sub(w[0]) <= jump)
            .map(|w| (w[0], w[CONFIRMATIONS - 1]))
    }

    /// Apply the held events in their order. With `clamp`, those after the
    /// confirmed group's limit (all of them without a group) take the
    /// trusted time, or the group's oldest before any.
    fn release(&mut self, group: Option<(i64, i64)>, clamp: bool, out: &mut Vec<Alert>) {
        self.since_held = 0;
        for mut d in std::mem::take(&mut self.held) {
            let ahead = match (group, d.ts) {
                (Some((_, l)), Some(t)) => t > l,
                (None, _) => true,
                (_, None) => false,
            };
            if clamp
                && ahead
                && let Some(to) = self.max_ts.or(group.map(|g| g.0))
            {
                self.stats.clamped += 1;
                d.ts = Some(to);
            }
            self.apply_now(d, out);
        }
    }

    /// The newest trusted event time: what an event too far ahead of the
    /// wall clock takes instead of its own.
    pub fn trusted_time(&self) -> Option<i64> {
        self.max_ts
    }

    /// Apply an event whose time is not to be trusted (too far ahead of the
    /// wall clock): it takes the trusted time; before any, it is an event
    /// without a time (which moves no window).
    pub fn apply_clamped(&mut self, mut d: Detected, out: &mut Vec<Alert>) {
        self.stats.clamped += 1;
        d.ts = self.max_ts;
        self.apply(d, out);
    }

    fn apply_now(&mut self, d: Detected, out: &mut Vec<Alert>) {
        self.stats.events += 1;
        if !d.recognised {
            self.stats.unrecognised += 1;
        }
        let ts = match d.ts {
            Some(t) => t,
            None => {
                self.stats.no_timestamp += 1;
                self.max_ts.unwrap_or(0)
            }
        };
        if self.max_ts.is_some_and(|m| ts < m.saturating_sub(self.lateness_ms)) {
            self.stats.late += 1;
        }
        let Detected { matches, event_id, event, origin, activity, .. } = d;
        let single = matches.iter().filter(|m| m.standalone).count() == 1;
        let mut event = event;
        for m in matches {
            let meta = m.meta.clone();
            if m.standalone {
                let ev = if single { event.take() } else { event.clone() };
                let a = sigma_alert(&meta, &m, ts, &event_id, ev, &origin);
                self.emit(a, ts, meta.name.as_deref(), out);
            }
            if m.correlated {
                let refs = meta.refs();
                let fields = &m.fields;
                let lookup = |name: &str| fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
                let sig = Signal { refs: &refs, ts, event_id: &event_id, field: &lookup };
                let mut fired = std::mem::take(&mut self.firings);
                self.correlator.observe(&sig, &mut fired);
                self.correlations(&mut fired, out);
                self.firings = fired;
            }
        }
        if let (Some(an), Some(mut act)) = (self.analytics.as_mut(), activity) {
            act.ts = ts;
            let mut sigs = std::mem::take(&mut self.signals);
            an.observe(&act, &mut sigs);
            for sig in sigs.drain(..) {
                let a = analytic_alert(&sig);
                self.emit(a, sig.ts, None, out);
            }
            self.signals = sigs;
        }
        self.advance(ts, out);
    }

    /// Let event time move on (also with no event: an idle stream's clock).
    pub fn advance(&mut self, ts: i64, out: &mut Vec<Alert>) {
        if self.max_ts.is_none_or(|m| ts > m) {
            self.max_ts = Some(ts);
        }
        let mut fired = std::mem::take(&mut self.firings);
        self.correlator.advance(ts, &mut fired);
        self.correlations(&mut fired, out);
        self.firings = fired;
        if let Some(w) = self.max_ts.map(|m| m.saturating_sub(self.lateness_ms)) {
            for a in self.merger.close(w) {
                out.push(a);
            }
        }
    }

    /// End of a finite input: judge open windows and close every merge.
    pub fn finish(&mut self, out: &mut Vec<Alert>) {
        // Nothing can confirm or refute them now; every window is judged
        // at once, so their own times can no longer make others late.
        self.release(None, false, out);
        let mut fired = std::mem::take(&mut self.firings);
        self.correlator.finish(&mut fired);
        self.correlations(&mut fired, out);
        self.firings = fired;
        out.extend(self.merger.close(i64::MAX));
    }

    pub fn snapshot(&self) -> StageState {
        StageState {
            stats: self.stats.clone(),
            correlations: self.correlator.snapshot(),
            merger: self.merger.state.clone(),
            max_ts: self.max_ts,
            analytics: self.analytics.as_ref().map(|a| a.shared()),
        }
    }

    /// Restore a checkpoint: the state, and the rows stored beside it
    /// (open alerts, accounts, risk scores).
    pub fn restore(&mut self, s: StageState, rows: Rows) {
        self.stats = s.stats;
        self.correlator.restore(s.correlations);
        self.merger.restore(s.merger, rows.open);
        self.max_ts = s.max_ts;
        if let (Some(an), Some(shared)) = (self.analytics.as_mut(), s.analytics) {
            an.restore(shared, rows.accounts);
            an.relearn(rows.relearn);
        }
        self.risk.restore(rows.scores);
    }

    /// Rows changed since the last checkpoint (`None`: delete the row).
    pub fn row_changes(&mut self) -> RowChanges {
        RowChanges {
            open: self.merger.take_changes(),
            accounts: {
                let mut rows: Vec<(String, Option<Vec<u8>>)> = self.forgotten.drain(..).map(|n| (n, None)).collect();
                rows.extend(self.analytics.as_mut().map(|a| a.take_changes()).unwrap_or_default());
                rows
            },
            scores: self.risk.take_changes(),
        }
    }

    fn correlations(&mut self, fired: &mut Vec<Firing>, out: &mut Vec<Alert>) {
        for f in fired.drain(..) {
            let spec = &self.correlator.specs[f.spec];
            if !self.correlator.standalone(&spec.meta.refs()) {
                continue;
            }
            let a = correlation_alert(spec, &f);
            let name = spec.meta.name.clone();
            self.emit(a, f.ts, name.as_deref(), out);
        }
    }

    /// Offer an alert to the merger; a new alert naming an account also
    /// feeds that account's risk score, which may raise an incident.
    fn emit(&mut self, mut a: Alert, ts: i64, name: Option<&str>, out: &mut Vec<Alert>) {
        if let Some(s) = &self.scrubber {
            s.scrub_alert(&mut a);
        }
        let Some(a) = self.merger.offer(a, ts, name) else { return };
        self.count(&a);
        let incident = match (&a.user, a.alert.kind) {
            (Some(u), k) if k != AlertKind::Incident => {
                let detection = vigie_analytics::Detection::ALL.iter().find(|d| d.id() == a.rule.id);
                let c = Contribution {
                    alert_id: a.alert.id.clone(),
                    rule: a.rule.name.clone(),
                    level: detection.map_or(a.rule.level, |d| d.risk_level(a.rule.level)),
                    at: a.timestamp.clone(),
                    points: 0.0,
                    reason: a.reason.clone(),
                    new_source: new_source(&a),
                    at_ms: ts,
                    family: detection.map(|d| d.family().to_string()).unwrap_or_default(),
                };
                let service = self.analytics.as_ref().and_then(|an| an.accounts.get(&u.name)).map(|acct| {
                    json!({"service": acct.service, "service_by": vigie_analytics::account::service_reasons(acct.service_by)})
                });
                self.risk.add(&u.name, ts, c).map(|i| incident_alert(&i, &a, service))
            }
            _ => None,
        };
        out.push(a);
        if let Some(i) = incident
            && let Some(i) = self.merger.offer(i, ts, None)
        {
            self.count(&i);
            out.push(i);
        }
    }

    fn count(&mut self, a: &Alert) {
        *self.stats.alerts_by_level.entry(a.rule.level).or_default() += 1;
        let kind = serde_json::to_value(a.alert.kind).ok().and_then(|v| v.as_str().map(str::to_string));
        *self.stats.alerts_by_kind.entry(kind.unwrap_or_default()).or_default() += 1;
    }
}

/// Rows stored beside a checkpoint.
#[derive(Debug, Default)]
pub struct Rows {
    pub open: Vec<vigie_alert::Open>,
    pub accounts: Vec<(String, Account)>,
    pub scores: Vec<(String, Score)>,
    /// Accounts whose rows no longer read (an older layout): learned again,
    /// but known to have been there.
    pub relearn: Vec<String>,
}

/// Rows changed since the last checkpoint.
#[derive(Debug, Default)]
pub struct RowChanges {
    pub open: Vec<(String, Option<vigie_alert::Open>)>,
    /// Encoded with [`Account::encode`].
    pub accounts: Vec<(String, Option<Vec<u8>>)>,
    pub scores: Vec<(String, Option<Score>)>,
}

fn analytic_alert(s: &vigie_analytics::Signal) -> Alert {
    let d = s.detection;
    let rule = RuleRef {
        id: d.id().into(),
        name: d.title().into(),
        level: s.level,
        author: "vigie".into(),
        tags: d.tags().iter().map(|t| t.to_string()).collect(),
    };
    let mut evidence = s.evidence.clone();
    evidence.insert("log".into(), log(&s.origin));
    Alert {
        timestamp: rfc3339(s.ts),
        alert: header(
            alert_id(&["analytic", d.id(), s.level.as_str(), &s.user, &s.ts.to_string()]),
            AlertKind::Analytic,
            s.ts,
        ),
        rule,
        user: Some(UserRef { name: s.user.clone() }),
        source: s.source.clone().map(|ip| SourceRef { ip }),
        reason: s.reason.clone(),
        evidence,
        events: vec![s.origin.to_string()],
        event: None,
    }
}

/// The address an analytic found new for the account, if this alert says so.
fn new_source(a: &Alert) -> Option<String> {
    use vigie_analytics::Detection::*;
    let named = a.evidence.get("ip").and_then(|v| v.as_str()).map(String::from);
    // The fused evidence names a new source only when one was part of it.
    if a.rule.id == FusedEvidence.id() {
        return named;
    }
    let flags =
        [NewSource, ResetThenNewSource, ImpossibleTravel, SprayingSourceLogin, IamFromNewSource].map(|d| d.id());
    if !flags.contains(&a.rule.id.as_str()) {
        return None;
    }
    // An impossible journey has two legs; the one that arrives on a network
    // the account already used is its owner coming back, not a source to
    // block (often the organisation's own egress, shared by everyone).
    if a.rule.id == ImpossibleTravel.id() && a.evidence.get("known_network").and_then(|v| v.as_bool()) == Some(true) {
        return None;
    }
    named.or_else(|| a.source.as_ref().map(|s| s.ip.clone()))
}

/// An incident: the account's risk crossed the threshold. It names every
/// signal behind it, so the analyst starts from the whole story.
fn incident_alert(i: &Incident, last: &Alert, account: Option<J>) -> Alert {
    let level = if i.critical { Severity::Critical } else { Severity::High };
    let rule = RuleRef {
        id: "vigie-risk-incident".into(),
        name: "Account Risk Crossed the Incident Threshold".into(),
        level,
        author: "vigie".into(),
        tags: vec!["attack.collection".into(), "attack.t1078".into()],
    };
    let names: Vec<String> = i.signals.iter().map(|c| format!("{} ({})", c.rule, c.level)).collect();
    let reason = format!(
        "Account {} reached risk {:.0} (threshold {:.0}) from {} signal(s): {}. Contain the account and review what it read.",
        i.user,
        i.score,
        i.threshold,
        i.signals.len(),
        names.join("; ")
    );
    let mut evidence = Map::new();
    evidence.insert("score".into(), json!((i.score * 10.0).round() / 10.0));
    evidence.insert("threshold".into(), json!(i.threshold));
    let mut new_sources: Vec<&str> = i.signals.iter().filter_map(|c| c.new_source.as_deref()).collect();
    new_sources.dedup();
    evidence.insert("new_sources".into(), json!(new_sources));
    evidence.insert("signals".into(), json!(i.signals));
    if let Some(acct) = account {
        // Whether the account is a service account, and how it is known:
        // the response policy contains those without suspending them.
        evidence.insert("account".into(), acct);
    }
    let first = i.signals.first().map(|c| c.at.clone()).unwrap_or_default();
    Alert {
        timestamp: rfc3339(i.ts),
        alert: header(alert_id(&["incident", &i.user, &i.number.to_string(), &first]), AlertKind::Incident, i.ts),
        rule,
        user: Some(UserRef { name: i.user.clone() }),
        source: last.source.clone(),
        reason,
        evidence,
        events: last.events.clone(),
        event: None,
    }
}

/// The alert's `log` evidence: where the event was read.
fn log(origin: &Origin) -> J {
    json!({"file": {"path": &*origin.input}, "offset": origin.offset})
}

fn rule_ref(meta: &Meta, fallback_id: &str) -> RuleRef {
    RuleRef {
        id: meta.id.clone().or_else(|| meta.name.clone()).unwrap_or_else(|| fallback_id.to_string()),
        name: meta.title.clone(),
        level: Severity::of_rule(meta.level.as_deref()),
        author: meta.author.clone().unwrap_or_else(|| "unknown".into()),
        tags: meta.tags.clone(),
    }
}

fn header(id: String, kind: AlertKind, ts: i64) -> AlertHeader {
    AlertHeader { id, kind, status: Status::New, count: 1, first_seen: rfc3339(ts), last_seen: rfc3339(ts) }
}

/// Long values (command lines, URLs) are cut in the one-line reason; the
/// evidence keeps them whole.
fn clip(v: &str) -> String {
    const MAX: usize = 80;
    if v.chars().count() <= MAX { v.to_string() } else { format!("{}…", v.chars().take(MAX).collect::<String>()) }
}

fn who(user: Option<&str>, source: Option<&str>) -> String {
    match (user, source) {
        (Some(u), Some(s)) => format!(" by account {u} from {s}"),
        (Some(u), None) => format!(" by account {u}"),
        (None, Some(s)) => format!(" from {s}"),
        (None, None) => String::new(),
    }
}

fn sigma_alert(meta: &Meta, m: &Match, ts: i64, event_id: &str, event: Option<J>, origin: &Origin) -> Alert {
    let rule = rule_ref(meta, "untitled");
    let shown: Vec<String> = m.matched.iter().take(3).map(|(k, v)| format!("{k}={}", clip(v))).collect();
    let reason = format!(
        "{} ({}) matched{}: {}. Check whether this activity was expected.",
        meta.title,
        rule.level,
        who(m.user.as_deref(), m.source.as_deref()),
        if shown.is_empty() { "the event".to_string() } else { shown.join(", ") }
    );
    let mut matched = Map::new();
    for (k, v) in &m.matched {
        matched.insert(k.clone(), J::String(v.clone()));
    }
    let mut evidence = Map::new();
    evidence.insert("matched".into(), J::Object(matched));
    evidence.insert("log".into(), log(origin));
    Alert {
        timestamp: rfc3339(ts),
        alert: header(alert_id(&["sigma", &rule.id, event_id]), AlertKind::Sigma, ts),
        rule,
        user: m.user.clone().map(|name| UserRef { name }),
        source: m.source.clone().map(|ip| SourceRef { ip }),
        reason,
        evidence,
        events: vec![event_id.to_string()],
        event,
    }
}

fn correlation_alert(spec: &Spec, f: &Firing) -> Alert {
    let rule = rule_ref(&spec.meta, &spec.path);
    let group = |name: &str| f.group.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str());
    let user = vigie_mapping::entity::first(vigie_mapping::entity::USER, group).map(str::to_string);
    let source = vigie_mapping::entity::first(vigie_mapping::entity::SOURCE, group).map(str::to_string);
    let group: Vec<String> = f.group.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let cond: Vec<String> = match &spec.expression {
        Some(e) => vec![e.render(&spec.rules)],
        None => spec.checks.iter().map(|(op, v)| format!("{} {v}", op_name(*op))).collect(),
    };
    let span = vigie_alert::duration_text(spec.timespan_ms);
    let reason = format!(
        "{}: {} for {} within {} (condition {}){}.",
        spec.meta.title,
        describe(spec, f.metric),
        if group.is_empty() { "all events".to_string() } else { group.join(", ") },
        span,
        cond.join(" and "),
        if f.rules.is_empty() { String::new() } else { format!("; rules involved: {}", f.rules.join(", ")) }
    );
    let mut groups = Map::new();
    for (k, v) in &f.group {
        groups.insert(k.clone(), J::String(v.clone()));
    }
    let mut condition = Map::new();
    for (op, v) in &spec.checks {
        condition.insert(op_name(*op).into(), json!(v));
    }
    if let Some(e) = &spec.expression {
        condition.insert("expression".into(), json!(e.render(&spec.rules)));
    }
    let mut evidence = Map::new();
    evidence.insert("type".into(), json!(format!("{:?}", spec.kind)));
    evidence.insert("metric".into(), json!({"name": spec.metric_name(), "value": f.metric}));
    evidence.insert("condition".into(), J::Object(condition));
    if let Some(field) = &spec.field {
        evidence.insert("field".into(), json!(field));
    }
    evidence.insert("group".into(), J::Object(groups));
    evidence.insert(
        "window".into(),
        json!({"start": rfc3339(f.window_start), "end": rfc3339(f.window_end), "timespan": span}),
    );
    evidence.insert("rules".into(), json!(f.rules));
    evidence.insert("matches".into(), json!(f.count));
    let key = f.group.iter().map(|(_, v)| v.as_str()).collect::<Vec<_>>().join("\u{1f}");
    Alert {
        timestamp: rfc3339(f.ts),
        alert: header(
            alert_id(&["correlation", spec.key(), &key, &f.window_start.to_string(), &f.ts.to_string()]),
            AlertKind::Correlation,
            f.ts,
        ),
        rule,
        user: user.map(|name| UserRef { name }),
        source: source.map(|ip| SourceRef { ip }),
        reason,
        evidence,
        events: f.events.clone(),
        event: None,
    }
}

/// The metric in words: "12 matching events", "10 distinct values of account".
fn describe(spec: &Spec, metric: f64) -> String {
    use vigie_sigma::rule::CorrelationType::*;
    let n = if metric.fract() == 0.0 { format!("{}", metric as i64) } else { format!("{metric:.2}") };
    let field = spec.field.as_deref().unwrap_or("value");
    match spec.kind {
        EventCount => format!("{n} matching events"),
        ValueCount => format!("{n} distinct values of {field}"),
        Temporal => format!("{n} of {} rules matched", spec.rules.len()),
        TemporalOrdered => format!("{n} of {} rules matched in order", spec.rules.len()),
        ValueSum => format!("{field} totals {n}"),
        ValueAvg => format!("{field} averages {n}"),
        ValuePercentile => format!("{field} has a {}th percentile of {n}", spec.percentile),
        ValueMedian => format!("{field} has a median of {n}"),
    }
}

fn op_name(op: vigie_sigma::condition::CmpOp) -> &'static str {
    use vigie_sigma::condition::CmpOp::*;
    match op {
        Lt => "lt",
        Lte => "lte",
        Gt => "gt",
        Gte => "gte",
        Eq => "eq",
        Neq => "neq",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_alert::{AlertHeader, SourceRef, Status};

    fn travel(ip: &str, known_network: bool) -> Alert {
        let d = vigie_analytics::Detection::ImpossibleTravel;
        let mut evidence = Map::new();
        evidence.insert("ip".into(), json!(ip));
        evidence.insert("known_network".into(), json!(known_network));
        Alert {
            timestamp: "2026-03-11T09:31:23.582Z".into(),
            alert: AlertHeader {
                id: ip.into(),
                kind: AlertKind::Analytic,
                status: Status::New,
                count: 1,
                first_seen: String::new(),
                last_seen: String::new(),
            },
            rule: RuleRef {
                id: d.id().into(),
                name: d.title().into(),
                level: Severity::High,
                author: "vigie".into(),
                tags: vec![],
            },
            user: Some(UserRef { name: "cbertrand".into() }),
            source: Some(SourceRef { ip: ip.into() }),
            reason: String::new(),
            evidence,
            events: vec![],
            event: None,
        }
    }

    #[test]
    fn only_the_leg_that_arrives_on_a_new_network_names_a_source_to_block() {
        assert_eq!(new_source(&travel("103.21.244.237", false)).as_deref(), Some("103.21.244.237"));
        // The owner's own network (here the call centre's egress, shared by
        // every agent) must never be blocked for an impossible journey.
        assert_eq!(new_source(&travel("218.133.7.10", true)), None);
    }
}
