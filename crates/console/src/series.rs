//! The hourly series behind the charts: distinct people an account read
//! per hour, against its own usual level (the median of its active hours
//! before the chart's span). Computed from the trail's pseudonyms, so the
//! console never needs a subject id.

use serde::Serialize;
use std::collections::{BTreeMap, HashSet};
use vigie_store::Access;

pub const HOUR: i64 = 3_600_000;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Series {
    /// Start of each hour (ms).
    pub hours: Vec<i64>,
    /// Distinct people read in that hour.
    pub distinct: Vec<u64>,
    /// The account's usual hour (median of its active hours before `from`).
    pub baseline: Option<f64>,
    /// Active hours the baseline was learned from.
    pub baseline_hours: usize,
}

/// Distinct people per hour over [from, to), and the baseline learned
/// from the rows before `from`.
pub fn distinct_per_hour(rows: &[Access], from: i64, to: i64) -> Series {
    let mut per: BTreeMap<i64, HashSet<&str>> = BTreeMap::new();
    for r in rows.iter().filter(|r| r.kind == "read") {
        let h = r.ts.div_euclid(HOUR) * HOUR;
        let set = per.entry(h).or_default();
        set.extend(r.subjects.iter().map(String::as_str));
    }
    let start = from.div_euclid(HOUR) * HOUR;
    let mut s = Series::default();
    let mut h = start;
    while h < to && s.hours.len() < 24 * 31 {
        s.hours.push(h);
        s.distinct.push(per.get(&h).map_or(0, |x| x.len() as u64));
        h += HOUR;
    }
    let mut before: Vec<u64> = per.range(..start).map(|(_, v)| v.len() as u64).filter(|n| *n > 0).collect();
    before.sort_unstable();
    s.baseline_hours = before.len();
    if !before.is_empty() {
        let m = before.len() / 2;
        s.baseline =
            Some(if before.len() % 2 == 1 { before[m] as f64 } else { (before[m - 1] + before[m]) as f64 / 2.0 });
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(ts: i64, subjects: &[&str]) -> Access {
        Access {
            id: format!("{ts}"),
            ts,
            account: "a".into(),
            source_ip: None,
            user_agent: None,
            kind: "read".into(),
            action: String::new(),
            target: None,
            categories: vec![],
            subjects: subjects.iter().map(|s| s.to_string()).collect(),
            records: subjects.len() as u64,
            bytes: None,
        }
    }

    #[test]
    fn hours_count_people_once_and_the_baseline_comes_from_before() {
        let rows = vec![
            read(0, &["a", "b"]),
            read(HOUR, &["a"]),
            read(2 * HOUR, &["a", "b", "c"]),
            read(10 * HOUR, &["x", "y"]),
            read(10 * HOUR + 5, &["x", "z"]),
        ];
        let s = distinct_per_hour(&rows, 10 * HOUR, 12 * HOUR);
        assert_eq!(s.hours, [10 * HOUR, 11 * HOUR]);
        assert_eq!(s.distinct, [3, 0]);
        assert_eq!((s.baseline, s.baseline_hours), (Some(2.0), 3));
    }
}
