//! The correlator: routes rule matches to the correlations that reference
//! them, keeps one bounded window per (correlation, group), fires, chains
//! firings into correlations of correlations, and closes windows as event
//! time advances.

use crate::spec::{Mode, Spec};
use crate::window::{Input, Window};
use rustc_hash::{FxHashMap, FxHasher};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};
use std::hash::Hasher;
use vigie_sigma::rule::CorrelationType;

/// Bounds on state. Every bound that bites is counted in [`Stats`].
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Groups kept per correlation. Beyond it, the group whose window would
    /// close soonest (the least recently active) is evicted.
    pub max_groups: usize,
    /// Entries kept per group window (seconds with events for event_count,
    /// values for the value types, occurrences per rule for temporal ones).
    pub max_entries: usize,
    /// Events older than the newest event time minus this are late: counted,
    /// and kept out of correlation windows.
    pub lateness_ms: i64,
    /// Ids of triggering events kept per group, as evidence.
    pub max_event_ids: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { max_groups: 100_000, max_entries: 10_000, lateness_ms: 5_000, max_event_ids: 20 }
    }
}

/// Counters for metrics and the end-of-run summary.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Stats {
    pub late: u64,
    pub evicted_groups: u64,
    pub evicted_entries: u64,
    /// Matches that lacked a group-by field, so belonged to no group.
    pub ungrouped: u64,
    /// Matches whose value field was missing or not a number.
    pub no_value: u64,
    pub fired: u64,
    /// Groups of a checkpoint dropped at restore because their correlation
    /// changed shape meanwhile (another type, or another list of rules).
    #[serde(default)]
    pub dropped_on_restore: u64,
}

/// A rule match (or a correlation firing) offered to the correlator.
pub struct Signal<'a> {
    /// The matched rule's id and name: what `rules:` entries may refer to.
    pub refs: &'a [&'a str],
    /// Event time, in milliseconds since the Unix epoch.
    pub ts: i64,
    /// A stable id of the triggering event, kept as evidence.
    pub event_id: &'a str,
    /// Reads a Sigma field of the triggering event as text.
    pub field: &'a dyn Fn(&str) -> Option<String>,
}

/// A correlation that fired.
#[derive(Debug, Clone, PartialEq)]
pub struct Firing {
    /// Index into [`Correlator::specs`].
    pub spec: usize,
    /// Event time of the event that made it fire (or of the window's end,
    /// for a window judged at its close).
    pub ts: i64,
    pub window_start: i64,
    pub window_end: i64,
    /// group-by field -> value
    pub group: Vec<(String, String)>,
    pub metric: f64,
    /// The referenced rules that contributed to this window.
    pub rules: Vec<String>,
    /// Ids of the triggering events (the most recent ones, bounded).
    pub events: Vec<String>,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
struct Group {
    values: Vec<String>,
    window: Window,
    first: i64,
    last: i64,
    /// Matches per referenced rule since the group opened (or last fired).
    per_rule: Vec<u64>,
    events: VecDeque<String>,
    count: u64,
    deadline: i64,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
struct State {
    groups: FxHashMap<String, Group>,
    deadlines: BTreeSet<(i64, String)>,
}

/// Everything a restart needs, keyed by correlation id so that a rule pack
/// edited between runs keeps the state of the correlations it still has.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Snapshot {
    max_ts: Option<i64>,
    stats: Stats,
    states: Vec<(String, State)>,
    /// Each correlation's definition when its state was taken: state is
    /// only continued by the same definition (older snapshots have none).
    #[serde(default)]
    definitions: Vec<(String, u64)>,
}

pub struct Correlator {
    pub specs: Vec<Spec>,
    states: Vec<State>,
    /// rule reference -> (spec, position in its `rules`)
    by_ref: FxHashMap<String, Vec<(usize, usize)>>,
    /// rule reference -> does some correlation referencing it say `generate: true`
    generate: FxHashMap<String, bool>,
    limits: Limits,
    max_ts: Option<i64>,
    pub stats: Stats,
}

/// Chains deeper than this are cut: a correlation that refers back to
/// itself, directly or not, must not loop.
const MAX_CHAIN: usize = 8;

impl Correlator {
    pub fn new(correlations: &[(String, vigie_sigma::Correlation)], limits: Limits) -> Correlator {
        let specs: Vec<Spec> = correlations.iter().map(|(p, c)| Spec::new(p, c)).collect();
        let mut by_ref: FxHashMap<String, Vec<(usize, usize)>> = FxHashMap::default();
        let mut generate: FxHashMap<String, bool> = FxHashMap::default();
        for (i, s) in specs.iter().enumerate() {
            for (pos, r) in s.rules.iter().enumerate() {
                by_ref.entry(r.clone()).or_default().push((i, pos));
                *generate.entry(r.clone()).or_default() |= s.generate;
            }
        }
        let states = vec![State::default(); specs.len()];
        Correlator { specs, states, by_ref, generate, limits, max_ts: None, stats: Stats::default() }
    }

    /// Does a rule (known by these references) raise alerts of its own? Not
    /// when a correlation uses it with `generate: false` (the default) and
    /// none with `generate: true`: it is then a building block only.
    pub fn standalone(&self, refs: &[&str]) -> bool {
        let mut referenced = false;
        for r in refs {
            if let Some(&g) = self.generate.get(*r) {
                if g {
                    return true;
                }
                referenced = true;
            }
        }
        !referenced
    }

    /// Per compiled rule: does it raise alerts of its own? Not a translated
    /// legacy base rule, and not a building block (see [`Self::standalone`]).
    pub fn standalone_rules(&self, rules: &[vigie_sigma::CompiledRule]) -> Vec<bool> {
        rules.iter().map(|r| r.emit && self.standalone(&r.meta.refs())).collect()
    }

    /// Is any correlation interested in matches of this rule?
    pub fn wants(&self, refs: &[&str]) -> bool {
        refs.iter().any(|r| self.by_ref.contains_key(*r))
    }

    /// The watermark: windows ending before it are final.
    pub fn watermark(&self) -> Option<i64> {
        self.max_ts.map(|t| t.saturating_sub(self.limits.lateness_ms))
    }

    /// Groups and entries held, for state-size metrics.
    pub fn state_size(&self) -> (usize, usize) {
        let groups = self.states.iter().map(|s| s.groups.len()).sum();
        let entries = self.states.iter().flat_map(|s| s.groups.values()).map(|g| g.window.len()).sum();
        (groups, entries)
    }

    /// Offer one match. Firings (including those of chained correlations)
    /// are appended to `out`.
    pub fn observe(&mut self, sig: &Signal, out: &mut Vec<Firing>) {
        if !self.wants(sig.refs) {
            return;
        }
        if self.watermark().is_some_and(|w| sig.ts < w) {
            self.stats.late += 1;
            return;
        }
        self.feed(sig, out, 0);
        if self.max_ts.is_none_or(|m| sig.ts > m) {
            self.max_ts = Some(sig.ts);
            if let Some(w) = self.watermark() {
                self.close_until(w, out, false);
            }
        }
    }

    /// Let event time advance without an event (an idle stream's clock).
    pub fn advance(&mut self, ts: i64, out: &mut Vec<Firing>) {
        if self.max_ts.is_none_or(|m| ts > m) {
            self.max_ts = Some(ts);
        }
        if let Some(w) = self.watermark() {
            self.close_until(w, out, false);
        }
    }

    /// End of input (a replay that has read everything): judge every open
    /// window now, since no event can still enter it.
    pub fn finish(&mut self, out: &mut Vec<Firing>) {
        self.close_until(i64::MAX, out, true);
    }

    fn feed(&mut self, sig: &Signal, out: &mut Vec<Firing>, depth: usize) {
        let mut targets: Vec<(usize, usize)> =
            sig.refs.iter().filter_map(|r| self.by_ref.get(*r)).flatten().copied().collect();
        targets.sort_unstable();
        targets.dedup();
        let first_new = out.len();
        for (si, pos) in targets {
            self.feed_one(si, pos, sig, out);
        }
        if depth >= MAX_CHAIN {
            return;
        }
        // A firing is itself a match of the correlation's id and name.
        let fired: Vec<Firing> = out[first_new..].to_vec();
        for f in fired {
            let meta = self.specs[f.spec].meta.clone();
            let refs = meta.refs();
            if !self.wants(&refs) {
                continue;
            }
            let group = f.group.clone();
            let lookup = move |name: &str| group.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone());
            let id = f.events.last().cloned().unwrap_or_default();
            let chained = Signal { refs: &refs, ts: f.ts, event_id: &id, field: &lookup };
            self.feed(&chained, out, depth + 1);
        }
    }

    fn feed_one(&mut self, si: usize, pos: usize, sig: &Signal, out: &mut Vec<Firing>) {
        let spec = &self.specs[si];
        let mut values = Vec::with_capacity(spec.group_by.len());
        for g in &spec.group_by {
            match spec.resolve(g, sig.refs).and_then(|f| (sig.field)(f)) {
                Some(v) => values.push(v),
                None => {
                    self.stats.ungrouped += 1;
                    return;
                }
            }
        }
        let input = match spec.kind {
            CorrelationType::EventCount => Input::Event,
            CorrelationType::Temporal | CorrelationType::TemporalOrdered => Input::Rule(pos),
            kind => {
                let raw = spec.field.as_deref().and_then(|f| spec.resolve(f, sig.refs)).and_then(|f| (sig.field)(f));
                match (kind, raw) {
                    (CorrelationType::ValueCount, Some(v)) => Input::Value(stable_hash(&v)),
                    (_, Some(v)) => match v.trim().parse::<f64>() {
                        Ok(x) if x.is_finite() => Input::Number(x),
                        _ => {
                            self.stats.no_value += 1;
                            return;
                        }
                    },
                    (_, None) => {
                        self.stats.no_value += 1;
                        return;
                    }
                }
            }
        };
        let key = values.join("\u{1f}");
        let (span, mode, kind, n_rules) = (spec.timespan_ms, spec.mode, spec.kind, spec.rules.len());
        let state = &mut self.states[si];
        // A window judged at its close covers [first, first + span]: an
        // event past its end closes it (judged now) and opens the next.
        if mode == Mode::AtClose
            && state.groups.get(&key).is_some_and(|g| sig.ts > g.deadline)
            && let Some(g) = state.groups.remove(&key)
        {
            state.deadlines.remove(&(g.deadline, key.clone()));
            self.judge(si, &g, out);
        }
        // A window of `a and not b` opens on `a`: `b` alone says nothing.
        let opens = self.specs[si].opens.get(pos).copied().unwrap_or(true);
        let state = &mut self.states[si];
        if !state.groups.contains_key(&key) {
            if !opens {
                return;
            }
            if state.groups.len() >= self.limits.max_groups.max(1)
                && let Some(victim) = state.deadlines.pop_first()
            {
                state.groups.remove(&victim.1);
                self.stats.evicted_groups += 1;
            }
            let deadline = sig.ts.saturating_add(span);
            state.deadlines.insert((deadline, key.clone()));
            let group = Group {
                values,
                window: Window::new(kind, n_rules),
                first: sig.ts,
                last: sig.ts,
                per_rule: vec![0; n_rules],
                events: VecDeque::new(),
                count: 0,
                deadline,
            };
            state.groups.insert(key.clone(), group);
        }
        let Some(g) = state.groups.get_mut(&key) else { return };
        self.stats.evicted_entries += g.window.insert(sig.ts, input, self.limits.max_entries);
        if mode == Mode::Eager {
            g.first = g.first.min(sig.ts);
        }
        g.last = g.last.max(sig.ts);
        g.count += 1;
        g.per_rule[pos] += 1;
        g.events.push_back(sig.event_id.to_string());
        while g.events.len() > self.limits.max_event_ids {
            g.events.pop_front();
        }
        if mode == Mode::AtClose {
            return;
        }
        // Eager: the window is the timespan that ends at the newest event.
        g.window.slide(g.last.saturating_sub(span).saturating_add(1));
        let deadline = g.last.saturating_add(span);
        if deadline != g.deadline {
            state.deadlines.remove(&(g.deadline, key.clone()));
            state.deadlines.insert((deadline, key.clone()));
            g.deadline = deadline;
        }
        let spec = &self.specs[si];
        let metric = g.window.metric(kind, spec.percentile);
        if spec.holds(&g.window, metric) {
            let start = g.last.saturating_sub(span).max(g.first);
            out.push(firing(si, spec, g, sig.ts, start, g.last, metric));
            self.stats.fired += 1;
            // A firing consumes its window: the next one needs a fresh
            // threshold's worth of events.
            let g = state.groups.remove(&key);
            if let Some(g) = g {
                state.deadlines.remove(&(g.deadline, key));
            }
        }
    }

    /// Close every window whose deadline is before `watermark`: judge the
    /// at-close ones, forget the expired eager ones. With `all`, judge open
    /// eager windows too (they already fired if they could).
    fn close_until(&mut self, watermark: i64, out: &mut Vec<Firing>, all: bool) {
        for si in 0..self.specs.len() {
            loop {
                let state = &mut self.states[si];
                match state.deadlines.first() {
                    Some((deadline, _)) if *deadline <= watermark || all => {}
                    _ => break,
                }
                let Some((_, key)) = state.deadlines.pop_first() else { break };
                let Some(g) = state.groups.remove(&key) else { continue };
                if self.specs[si].mode == Mode::AtClose {
                    self.judge(si, &g, out);
                }
            }
        }
    }

    /// Evaluate a window judged at its close.
    fn judge(&mut self, si: usize, g: &Group, out: &mut Vec<Firing>) {
        let spec = &self.specs[si];
        let metric = g.window.metric(spec.kind, spec.percentile);
        if spec.holds(&g.window, metric) {
            let end = g.first.saturating_add(spec.timespan_ms);
            out.push(firing(si, spec, g, end, g.first, end, metric));
            self.stats.fired += 1;
        }
    }

    pub fn snapshot(&self) -> Snapshot {
        Snapshot {
            max_ts: self.max_ts,
            stats: self.stats.clone(),
            states: self.specs.iter().zip(&self.states).map(|(s, st)| (s.key().to_string(), st.clone())).collect(),
            definitions: self.specs.iter().map(|s| (s.key().to_string(), s.fingerprint())).collect(),
        }
    }

    /// Restore a snapshot; state of correlations no longer loaded is dropped.
    /// Returns how many correlations' state was restored.
    pub fn restore(&mut self, snap: Snapshot) -> usize {
        self.max_ts = snap.max_ts;
        self.stats = snap.stats;
        let mut restored = 0;
        let mut by_key: FxHashMap<String, State> = snap.states.into_iter().collect();
        let defined: FxHashMap<String, u64> = snap.definitions.into_iter().collect();
        for (spec, state) in self.specs.iter().zip(&mut self.states) {
            if let Some(mut s) = by_key.remove(spec.key()) {
                // The same id with another definition (a threshold, a span,
                // the rules): its windows meant something else. Start afresh.
                if defined.get(spec.key()).is_some_and(|f| *f != spec.fingerprint()) {
                    self.stats.dropped_on_restore += s.groups.len() as u64;
                    continue;
                }
                // A rule file may have changed the correlation under the
                // same id: keep only the groups whose window still fits.
                let fresh = Window::new(spec.kind, spec.rules.len());
                let before = s.groups.len();
                s.groups.retain(|_, g| g.per_rule.len() == spec.rules.len() && g.window.same_shape(&fresh));
                let dropped = before - s.groups.len();
                if dropped > 0 {
                    s.deadlines.retain(|(_, k)| s.groups.contains_key(k));
                    self.stats.dropped_on_restore += dropped as u64;
                }
                *state = s;
                restored += 1;
            }
        }
        // Correlations no longer loaded: their open windows go too.
        self.stats.dropped_on_restore += by_key.values().map(|s| s.groups.len() as u64).sum::<u64>();
        restored
    }
}

fn firing(si: usize, spec: &Spec, g: &Group, ts: i64, start: i64, end: i64, metric: f64) -> Firing {
    Firing {
        spec: si,
        ts,
        window_start: start,
        window_end: end,
        group: spec.group_by.iter().cloned().zip(g.values.iter().cloned()).collect(),
        metric,
        rules: spec.rules.iter().zip(&g.per_rule).filter(|(_, n)| **n > 0).map(|(r, _)| r.clone()).collect(),
        events: g.events.iter().cloned().collect(),
        count: g.count,
    }
}

/// A hash that is the same in every process and version, so that distinct
/// values restored from a checkpoint still compare equal to new ones.
fn stable_hash(s: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(s.as_bytes());
    h.finish()
}
