//! Evidence fusion: weak signals that each stay under their own threshold
//! (a new network of the same provider, a browser one version off, three
//! times the usual volume, people the account never reads) add up.
//!
//! Each account-hour is described by five ordinal features (0: nothing
//! unusual). How often each level occurs is learned from the deployment's
//! own population of account-hours, so a call centre, where every hour
//! brings new people, learns that working-set novelty is ordinary there,
//! and a hospital that nights are. The surprise of a level is
//! `-log2 P(feature >= level)`, with one pseudo-count so that nothing is
//! infinitely surprising; the fused score is their sum (Fisher's method,
//! in bits). Under independence and with calibrated tails, an innocent
//! hour reaches `t` bits with probability `2^-t × Σ_{i<k} (t ln 2)^i / i!`
//! for `k` features: at `t` = 22 and five features, at most about 7 in
//! 10,000 (far fewer in practice: most hours are at level 0 everywhere).
//! The features are not independent, so the thresholds are set and their
//! false-alarm rate measured on simulated organisations (docs/efficacy.md).

use serde::{Deserialize, Serialize};

/// The features, in the order of [`Population::counts`].
pub const FEATURES: [&str; N] = ["access", "volume", "people", "time", "interleaved"];
/// How many features.
pub const N: usize = 5;
/// Levels per feature.
pub const LEVELS: usize = 8;

/// The access level from which the account was reached from a provider or
/// country it never used.
pub const NEW_PROVIDER: u8 = 5;

/// How the account was reached this hour: 0 nothing new; 1 a new address
/// in a known /24; 2 a new user agent from a known network; 3 a new /24 of
/// a known provider (/16 or autonomous system); 4 that and a new user
/// agent; 5 an unknown provider or country; 6 that and a new user agent.
pub fn access_level(new_ip: bool, new_net: bool, new_agent: bool, new_provider: bool) -> u8 {
    match (new_provider, new_net, new_agent) {
        (true, _, true) => 6,
        (true, _, false) => 5,
        (false, true, true) => 4,
        (false, true, false) => 3,
        (false, false, true) => 2,
        (false, false, false) => u8::from(new_ip),
    }
}

/// Volume against the account's own hours (and its peers', when both are
/// known the smaller deviation counts): ratio bins 1.5, 2, 3, 5, 10, 20.
pub fn volume_level(ratio: f32) -> u8 {
    [1.5, 2.0, 3.0, 5.0, 10.0, 20.0].iter().filter(|&&b| ratio >= b).count() as u8
}

/// People outside the working set against the account's usual count per
/// hour: ratio bins 2, 4, 8, 16, 32, 64 (at least 3 such people).
pub fn people_level(new: u32, usual: f32) -> u8 {
    if new < 3 {
        return 0;
    }
    let ratio = new as f32 / usual.max(1.0);
    [2.0, 4.0, 8.0, 16.0, 32.0, 64.0].iter().filter(|&&b| ratio >= b).count() as u8
}

/// How rare the hour of the day (or the weekend) is for the account: its
/// share of the account's active hours, bins 5%, 2%, 0.5%, and never.
pub fn time_level(share: f32, never: bool) -> u8 {
    if never { 4 } else { [0.05, 0.02, 0.005].iter().filter(|&&b| share < b).count() as u8 }
}

/// Acts of the hour that came from another /24 than the act just before,
/// minutes before: two people using one account at once (the owner at the
/// office, someone else elsewhere). Bins 1, 2, 4, 8 switches.
pub fn interleaved_level(switches: u8) -> u8 {
    [1, 2, 4, 8].iter().filter(|&&b| switches >= b).count() as u8
}

/// The deployment's account-hours, counted by level of each feature.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Population {
    pub hours: u32,
    pub counts: [[u32; LEVELS]; N],
    /// Account-hours by fused score (whole bits, the last bin open): the
    /// measured distribution behind the thresholds.
    pub scores: Vec<u32>,
}

/// Score bins kept in [`Population::scores`].
const SCORE_BINS: usize = 64;

impl Population {
    /// Learn one closed account-hour.
    pub fn learn(&mut self, levels: [u8; N], fused: f32) {
        if self.hours >= u32::MAX / 2 {
            // Halve, so that old habits fade and nothing overflows.
            self.hours /= 2;
            self.counts.iter_mut().flatten().for_each(|c| *c /= 2);
            self.scores.iter_mut().for_each(|c| *c /= 2);
        }
        self.hours += 1;
        for (f, &l) in levels.iter().enumerate() {
            self.counts[f][(l as usize).min(LEVELS - 1)] += 1;
        }
        if self.scores.len() != SCORE_BINS {
            self.scores = vec![0; SCORE_BINS];
        }
        self.scores[(fused.max(0.0) as usize).min(SCORE_BINS - 1)] += 1;
    }

    /// Bits of surprise of `level` for feature `f`, at most `cap`.
    pub fn surprise(&self, f: usize, level: u8, cap: f32) -> f32 {
        if level == 0 {
            return 0.0;
        }
        let at_least: u64 = self.counts[f][(level as usize).min(LEVELS - 1)..].iter().map(|&c| c as u64).sum();
        let p = (at_least as f64 + 1.0) / (self.hours as f64 + 1.0);
        ((-p.log2()) as f32).clamp(0.0, cap)
    }

    /// The fused score of an hour and each feature's part.
    pub fn score(&self, levels: [u8; N], cap: f32) -> (f32, [f32; N]) {
        let mut parts = [0.0; N];
        for (f, &l) in levels.iter().enumerate() {
            parts[f] = self.surprise(f, l, cap);
        }
        (parts.iter().sum(), parts)
    }

    /// Share of the learned account-hours that scored at least `t` bits.
    pub fn tail(&self, t: f32) -> f64 {
        let from = (t.max(0.0) as usize).min(SCORE_BINS);
        let n: u64 = self.scores.iter().skip(from).map(|&c| c as u64).sum();
        if self.hours == 0 { 0.0 } else { n as f64 / self.hours as f64 }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rare_levels_surprise_more_and_common_ones_not_at_all() {
        let mut p = Population::default();
        for i in 0..10_000u32 {
            // Volume level 1 in a fifth of hours, level 3 in one in a thousand.
            let v = if i % 1000 == 0 {
                3
            } else if i % 5 == 0 {
                1
            } else {
                0
            };
            p.learn([0, v, 0, 0, 0], 0.0);
        }
        let common = p.surprise(1, 1, 16.0);
        let rare = p.surprise(1, 3, 16.0);
        assert!((common - 2.3).abs() < 0.1, "{common}");
        assert!((rare - 10.0).abs() < 0.2, "{rare}");
        // Never seen: bounded by the pseudo-count and the cap.
        assert!((p.surprise(0, 6, 16.0) - 13.3).abs() < 0.1);
        assert_eq!(p.surprise(0, 6, 8.0), 8.0);
        assert_eq!(p.surprise(2, 0, 8.0), 0.0);
        let (total, parts) = p.score([6, 3, 0, 0, 0], 16.0);
        assert!((total - parts[0] - parts[1]).abs() < 1e-4);
        assert_eq!(p.tail(0.0), 1.0);
    }

    #[test]
    fn levels_are_ordered() {
        assert!(access_level(false, false, false, false) < access_level(true, false, false, false));
        assert!(access_level(true, true, false, false) < access_level(true, true, true, false));
        assert!(access_level(true, true, true, false) < access_level(true, true, false, true));
        assert_eq!(volume_level(1.0), 0);
        assert_eq!(volume_level(3.1), 3);
        assert_eq!(people_level(2, 0.1), 0, "two people are never a signal");
        assert_eq!(people_level(30, 1.5), 4);
        assert_eq!(time_level(0.2, false), 0);
        assert_eq!(time_level(0.001, false), 3);
        assert_eq!(time_level(0.0, true), 4);
        assert_eq!(interleaved_level(0), 0);
        assert_eq!(interleaved_level(5), 3);
    }
}
