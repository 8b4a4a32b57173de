//! The contents of one group's window, one shape per correlation type. Every
//! shape is updated incrementally: an event adds an entry, sliding removes the
//! entries that left the window, and the metric is read from running totals,
//! never by rescanning the window.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;
use vigie_sigma::rule::CorrelationType;

/// Event counts are kept per second of event time, so a window of any
/// number of events costs at most one entry per second of its span.
const BUCKET_MS: i64 = 1000;

/// What one event contributes to a window.
#[derive(Debug, Clone, Copy)]
pub enum Input {
    /// event_count: the event itself.
    Event,
    /// value_count: a hash of the field's value.
    Value(u64),
    /// value_sum, value_avg, value_percentile: the field as a number.
    Number(f64),
    /// temporal types: the position of the matched rule in `rules`.
    Rule(usize),
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub enum Window {
    Count { buckets: VecDeque<(i64, u64)>, total: u64 },
    Distinct { entries: VecDeque<(i64, u64)>, counts: FxHashMap<u64, u32> },
    Numbers { entries: VecDeque<(i64, f64)>, sum: f64, sorted: Option<Vec<f64>> },
    Temporal { seen: Vec<VecDeque<i64>> },
}

impl Window {
    pub fn new(kind: CorrelationType, rules: usize) -> Window {
        match kind {
            CorrelationType::EventCount => Window::Count { buckets: VecDeque::new(), total: 0 },
            CorrelationType::ValueCount => Window::Distinct { entries: VecDeque::new(), counts: FxHashMap::default() },
            CorrelationType::ValueSum | CorrelationType::ValueAvg => {
                Window::Numbers { entries: VecDeque::new(), sum: 0.0, sorted: None }
            }
            CorrelationType::ValuePercentile | CorrelationType::ValueMedian => {
                Window::Numbers { entries: VecDeque::new(), sum: 0.0, sorted: Some(Vec::new()) }
            }
            CorrelationType::Temporal | CorrelationType::TemporalOrdered => {
                Window::Temporal { seen: vec![VecDeque::new(); rules] }
            }
        }
    }

    /// Add one event at `ts`. Events may arrive out of order (within the
    /// lateness the caller allows), so entries are inserted in time order.
    /// Returns how many entries had to be evicted to respect `cap`.
    pub fn insert(&mut self, ts: i64, input: Input, cap: usize) -> u64 {
        let mut evicted = 0;
        match (self, input) {
            (Window::Count { buckets, total }, Input::Event) => {
                let b = ts.div_euclid(BUCKET_MS) * BUCKET_MS;
                let at = buckets.partition_point(|&(t, _)| t < b);
                match buckets.get_mut(at) {
                    Some((t, n)) if *t == b => *n += 1,
                    _ => buckets.insert(at, (b, 1)),
                }
                *total += 1;
                while buckets.len() > cap {
                    let (_, n) = buckets.pop_front().unwrap_or_default();
                    *total -= n;
                    evicted += 1;
                }
            }
            (Window::Distinct { entries, counts }, Input::Value(h)) => {
                let at = entries.partition_point(|&(t, _)| t <= ts);
                entries.insert(at, (ts, h));
                *counts.entry(h).or_default() += 1;
                while entries.len() > cap {
                    forget_value(entries.pop_front(), counts);
                    evicted += 1;
                }
            }
            (Window::Numbers { entries, sum, sorted }, Input::Number(x)) => {
                let at = entries.partition_point(|&(t, _)| t <= ts);
                entries.insert(at, (ts, x));
                *sum += x;
                if let Some(s) = sorted {
                    let at = s.partition_point(|&y| y < x);
                    s.insert(at, x);
                }
                while entries.len() > cap {
                    forget_number(entries.pop_front(), sum, sorted);
                    evicted += 1;
                }
            }
            (Window::Temporal { seen }, Input::Rule(pos)) => {
                if let Some(q) = seen.get_mut(pos) {
                    let at = q.partition_point(|&t| t <= ts);
                    q.insert(at, ts);
                    while q.len() > cap {
                        q.pop_front();
                        evicted += 1;
                    }
                }
            }
            // The caller builds the input from the same type; a mismatch
            // contributes nothing rather than corrupting the totals.
            _ => {}
        }
        evicted
    }

    /// Drop every entry older than `oldest`.
    pub fn slide(&mut self, oldest: i64) {
        match self {
            Window::Count { buckets, total } => {
                while buckets.front().is_some_and(|&(t, _)| t < oldest.div_euclid(BUCKET_MS) * BUCKET_MS) {
                    let (_, n) = buckets.pop_front().unwrap_or_default();
                    *total -= n;
                }
            }
            Window::Distinct { entries, counts } => {
                while entries.front().is_some_and(|&(t, _)| t < oldest) {
                    forget_value(entries.pop_front(), counts);
                }
            }
            Window::Numbers { entries, sum, sorted } => {
                while entries.front().is_some_and(|&(t, _)| t < oldest) {
                    forget_number(entries.pop_front(), sum, sorted);
                }
            }
            Window::Temporal { seen } => {
                for q in seen {
                    while q.front().is_some_and(|&t| t < oldest) {
                        q.pop_front();
                    }
                }
            }
        }
    }

    /// The value the condition is compared with.
    pub fn metric(&self, kind: CorrelationType, percentile: f64) -> f64 {
        match self {
            Window::Count { total, .. } => *total as f64,
            Window::Distinct { counts, .. } => counts.len() as f64,
            Window::Numbers { entries, sum, sorted } => match (kind, sorted) {
                (CorrelationType::ValueAvg, _) if entries.is_empty() => 0.0,
                (CorrelationType::ValueAvg, _) => *sum / entries.len() as f64,
                (CorrelationType::ValuePercentile, Some(s)) => nearest_rank(s, percentile),
                (CorrelationType::ValueMedian, Some(s)) => median(s),
                _ => *sum,
            },
            Window::Temporal { seen } if kind == CorrelationType::TemporalOrdered => ordered_prefix(seen) as f64,
            Window::Temporal { seen } => seen.iter().filter(|q| !q.is_empty()).count() as f64,
        }
    }

    /// Whether `other` is the same kind of window, with the same number of
    /// rules (temporal) and the same sorted list or not (numbers).
    pub fn same_shape(&self, other: &Window) -> bool {
        match (self, other) {
            (Window::Count { .. }, Window::Count { .. }) | (Window::Distinct { .. }, Window::Distinct { .. }) => true,
            (Window::Numbers { sorted: a, .. }, Window::Numbers { sorted: b, .. }) => a.is_some() == b.is_some(),
            (Window::Temporal { seen: a }, Window::Temporal { seen: b }) => a.len() == b.len(),
            _ => false,
        }
    }

    /// For temporal windows: whether each rule matched in the window.
    pub fn present(&self, i: usize) -> bool {
        match self {
            Window::Temporal { seen } => seen.get(i).is_some_and(|q| !q.is_empty()),
            _ => false,
        }
    }

    /// For temporal windows: whether the rules at `positions` (ascending)
    /// occurred in that order, each after an occurrence of the one before.
    pub fn in_order(&self, positions: &[usize]) -> bool {
        let Window::Temporal { seen } = self else { return false };
        let mut after = i64::MIN;
        for &i in positions {
            let Some(q) = seen.get(i) else { return false };
            let at = q.partition_point(|&t| t < after);
            match q.get(at) {
                Some(&t) => after = t,
                None => return false,
            }
        }
        true
    }

    /// Entries held, for state-size metrics.
    pub fn len(&self) -> usize {
        match self {
            Window::Count { buckets, .. } => buckets.len(),
            Window::Distinct { entries, .. } => entries.len(),
            Window::Numbers { entries, .. } => entries.len(),
            Window::Temporal { seen } => seen.iter().map(VecDeque::len).sum(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

fn forget_value(entry: Option<(i64, u64)>, counts: &mut FxHashMap<u64, u32>) {
    let Some((_, h)) = entry else { return };
    if let Some(n) = counts.get_mut(&h) {
        *n -= 1;
        if *n == 0 {
            counts.remove(&h);
        }
    }
}

fn forget_number(entry: Option<(i64, f64)>, sum: &mut f64, sorted: &mut Option<Vec<f64>>) {
    let Some((_, x)) = entry else { return };
    *sum -= x;
    if let Some(s) = sorted {
        let at = s.partition_point(|&y| y < x);
        if at < s.len() {
            s.remove(at);
        }
    }
}

/// The nearest-rank percentile (the smallest value with at least p% of the
/// values at or below it), which is always one of the observed values.
fn nearest_rank(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The median: the middle value, or the mean of the two middle values of an
/// even count (as a statistics package computes it; pySigma leaves the
/// definition to the backend's median function, which is this one in
/// Elasticsearch's and SQL's exact forms).
fn median(sorted: &[f64]) -> f64 {
    let n = sorted.len();
    match n {
        0 => 0.0,
        _ if n % 2 == 1 => sorted[n / 2],
        _ => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

/// How many of the rules, from the first, occurred in order: the earliest
/// occurrence of each rule at or after the one chosen for the rule before.
/// Taking the earliest each time finds the longest chain there is.
fn ordered_prefix(seen: &[VecDeque<i64>]) -> usize {
    let mut after = i64::MIN;
    for (k, q) in seen.iter().enumerate() {
        let at = q.partition_point(|&t| t < after);
        match q.get(at) {
            Some(&t) => after = t,
            None => return k,
        }
    }
    seen.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_median_is_the_middle_or_the_mean_of_the_two_middles() {
        let mut w = Window::new(CorrelationType::ValueMedian, 1);
        assert_eq!(w.metric(CorrelationType::ValueMedian, 0.0), 0.0);
        for (t, x) in [(1, 40.0), (2, 10.0), (3, 30.0)] {
            w.insert(t, Input::Number(x), 100);
        }
        assert_eq!(w.metric(CorrelationType::ValueMedian, 0.0), 30.0);
        w.insert(4, Input::Number(20.0), 100);
        assert_eq!(w.metric(CorrelationType::ValueMedian, 0.0), 25.0);
        w.slide(2);
        assert_eq!(w.metric(CorrelationType::ValueMedian, 0.0), 20.0, "10, 30 and 20 are left; 40 left with t=1");
    }

    #[test]
    fn counts_slide_by_the_second() {
        let mut w = Window::new(CorrelationType::EventCount, 1);
        for t in [1_000, 1_500, 2_000, 9_999] {
            w.insert(t, Input::Event, 100);
        }
        assert_eq!(w.metric(CorrelationType::EventCount, 0.0), 4.0);
        assert_eq!(w.len(), 3, "one bucket per second");
        w.slide(2_000);
        assert_eq!(w.metric(CorrelationType::EventCount, 0.0), 2.0);
    }

    #[test]
    fn distinct_values_leave_with_their_last_entry() {
        let mut w = Window::new(CorrelationType::ValueCount, 1);
        w.insert(10, Input::Value(1), 100);
        w.insert(20, Input::Value(2), 100);
        w.insert(30, Input::Value(1), 100);
        assert_eq!(w.metric(CorrelationType::ValueCount, 0.0), 2.0);
        w.slide(15);
        assert_eq!(w.metric(CorrelationType::ValueCount, 0.0), 2.0, "value 1 is still seen at 30");
        w.slide(25);
        assert_eq!(w.metric(CorrelationType::ValueCount, 0.0), 1.0);
    }

    #[test]
    fn numbers_sum_average_and_percentile() {
        let mut w = Window::new(CorrelationType::ValuePercentile, 1);
        for (t, x) in [(1, 10.0), (2, 30.0), (3, 20.0), (4, 40.0)] {
            w.insert(t, Input::Number(x), 100);
        }
        assert_eq!(w.metric(CorrelationType::ValuePercentile, 50.0), 20.0);
        assert_eq!(w.metric(CorrelationType::ValuePercentile, 95.0), 40.0);
        w.slide(3);
        assert_eq!(w.metric(CorrelationType::ValuePercentile, 50.0), 20.0);
        let mut a = Window::new(CorrelationType::ValueAvg, 1);
        a.insert(1, Input::Number(1.0), 100);
        a.insert(2, Input::Number(3.0), 100);
        assert_eq!(a.metric(CorrelationType::ValueAvg, 0.0), 2.0);
        assert_eq!(a.metric(CorrelationType::ValueSum, 0.0), 4.0);
    }

    #[test]
    fn order_is_checked_on_event_time_not_arrival() {
        let mut w = Window::new(CorrelationType::TemporalOrdered, 2);
        w.insert(50, Input::Rule(1), 10);
        assert_eq!(w.metric(CorrelationType::TemporalOrdered, 0.0), 0.0);
        w.insert(60, Input::Rule(0), 10);
        assert_eq!(w.metric(CorrelationType::TemporalOrdered, 0.0), 1.0, "the second rule came first");
        w.insert(40, Input::Rule(0), 10);
        assert_eq!(w.metric(CorrelationType::TemporalOrdered, 0.0), 2.0, "a late first rule completes the order");
        assert_eq!(w.metric(CorrelationType::Temporal, 0.0), 2.0);
    }

    #[test]
    fn caps_evict_the_oldest_entries() {
        let mut w = Window::new(CorrelationType::ValueCount, 1);
        let evicted: u64 = (0..10).map(|i| w.insert(i, Input::Value(i as u64), 4)).sum();
        assert_eq!(evicted, 6);
        assert_eq!(w.metric(CorrelationType::ValueCount, 0.0), 4.0);
    }
}
