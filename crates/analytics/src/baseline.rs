//! A robust online baseline: an exponentially weighted mean and mean
//! absolute deviation, learned from each value the account produces.
//!
//! Robust because, once warm, a value is clipped to the current upper bound
//! before it is learned: an attacker reading ten thousand records in an hour
//! moves the baseline by a bounded step, not by ten thousand, so the attack
//! cannot teach vigie that it is normal. The horizon caps how much history
//! counts (1/horizon is the smallest weight), so habits may change slowly.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    /// Values learned.
    pub n: u32,
    pub mean: f32,
    /// Mean absolute deviation.
    pub dev: f32,
}

/// How many deviations above the mean a value is clipped at once warm.
const CLIP_K: f32 = 4.0;

impl Baseline {
    /// Learn `x`. `warm`: values before the clipping starts; `horizon`: the
    /// effective memory, in values.
    pub fn learn(&mut self, x: f32, warm: u32, horizon: u32) {
        let x = if self.n >= warm { x.min(self.upper(CLIP_K)) } else { x };
        self.n = self.n.saturating_add(1);
        let a = 1.0 / self.n.min(horizon.max(1)) as f32;
        let d = (x - self.mean).abs();
        self.mean += a * (x - self.mean);
        self.dev += a * (d - self.dev);
    }

    /// `mean + k × spread`, where the spread is at least a quarter of the
    /// mean and at least 1: a perfectly regular account (always 20 reads an
    /// hour) must not alert at 21.
    pub fn upper(&self, k: f32) -> f32 {
        self.mean + k * self.dev.max(self.mean * 0.25).max(1.0)
    }

    pub fn warm(&self, min: u32) -> bool {
        self.n >= min
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_level_and_resists_a_spike() {
        let mut b = Baseline::default();
        for i in 0..200 {
            b.learn(20.0 + (i % 5) as f32, 10, 100);
        }
        assert!((b.mean - 22.0).abs() < 1.0, "{b:?}");
        let before = b.upper(6.0);
        b.learn(10_000.0, 10, 100);
        assert!(b.upper(6.0) < before * 1.2, "one huge hour moves the bound a little: {before} -> {}", b.upper(6.0));
        // A regular account keeps a floor on its spread.
        let mut flat = Baseline::default();
        for _ in 0..50 {
            flat.learn(20.0, 10, 100);
        }
        assert!(flat.upper(6.0) >= 20.0 + 6.0 * 5.0);
    }
}
