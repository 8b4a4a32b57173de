//! Sources that are spraying: addresses that failed to log in as several
//! different accounts lately, and succeeded for few. A success from such a
//! source needs no baseline to be grave: it is the one guess that worked.
//!
//! An office behind one address sees a few typos among hundreds of
//! successful logins; a sprayer sees failures for many accounts and a
//! success for one. So a source counts as spraying when it failed for at
//! least `min_accounts` accounts within the window *and* for more accounts
//! than it succeeded for.

use rustc_hash::FxHashMap;
use serde::{Deserialize, Serialize};

/// Accounts remembered per source and outcome (a count beyond is enough).
pub const KEEP: usize = 64;

/// One source's recent logins: (account hash, last time), failures and
/// successes apart.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SourceLogins {
    pub failed: Vec<(u32, i64)>,
    pub succeeded: Vec<(u32, i64)>,
    pub last: i64,
}

fn note(list: &mut Vec<(u32, i64)>, who: u32, ts: i64, window: i64) {
    list.retain(|&(_, t)| ts - t <= window);
    if let Some(e) = list.iter_mut().find(|(h, _)| *h == who) {
        e.1 = e.1.max(ts);
        return;
    }
    match list.len() < KEEP {
        true => list.push((who, ts)),
        false => {
            // Replace the oldest: the count stays at its cap.
            if let Some(e) = list.iter_mut().min_by_key(|e| e.1) {
                *e = (who, ts);
            }
        }
    }
}

/// What a source did lately, when a success from it is judged.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Spraying {
    /// Accounts it failed for within the window.
    pub failed_accounts: usize,
    /// Other accounts it logged in as within the window.
    pub succeeded_accounts: usize,
}

/// What makes a source a sprayer, and how many are remembered.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    /// The span (ms) in which failures count.
    pub window: i64,
    /// Other accounts it must have failed for.
    pub min_accounts: usize,
    /// Sources remembered at most.
    pub max_sources: usize,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sources {
    pub by_ip: FxHashMap<String, SourceLogins>,
}

impl Sources {
    /// Note a login of `who` (a hash of the account) from `ip`; for a
    /// success, return the source's spraying record when it is spraying.
    pub fn login(&mut self, ip: &str, who: u32, ts: i64, success: bool, limits: Limits) -> Option<Spraying> {
        let Limits { window, min_accounts, max_sources } = limits;
        if !self.by_ip.contains_key(ip) {
            if self.by_ip.len() >= max_sources {
                self.forget(ts, window, max_sources);
            }
            if !success {
                self.by_ip.insert(ip.to_string(), SourceLogins::default());
            } else {
                // A success from an address that never failed: nothing to remember.
                return None;
            }
        }
        let s = self.by_ip.get_mut(ip)?;
        s.last = s.last.max(ts);
        if !success {
            note(&mut s.failed, who, ts, window);
            return None;
        }
        s.failed.retain(|&(_, t)| ts - t <= window);
        let failed = s.failed.iter().filter(|(h, _)| *h != who).count();
        let spraying = Spraying { failed_accounts: failed, succeeded_accounts: s.succeeded.len() };
        note(&mut s.succeeded, who, ts, window);
        (failed >= min_accounts && failed > spraying.succeeded_accounts).then_some(spraying)
    }

    /// Drop sources idle for a window; if still too many, the idlest half.
    fn forget(&mut self, ts: i64, window: i64, max_sources: usize) {
        self.by_ip.retain(|_, s| ts - s.last <= window);
        if self.by_ip.len() >= max_sources {
            let mut last: Vec<i64> = self.by_ip.values().map(|s| s.last).collect();
            let k = last.len() / 2;
            let (_, cut, _) = last.select_nth_unstable(k);
            let cut = *cut;
            self.by_ip.retain(|_, s| s.last > cut);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: i64 = 3_600_000;
    const L: Limits = Limits { window: W, min_accounts: 5, max_sources: 1000 };

    #[test]
    fn a_sprayer_is_known_and_an_office_with_typos_is_not() {
        let mut s = Sources::default();
        for a in 0..120u32 {
            assert_eq!(s.login("203.0.113.9", a, a as i64 * 1000, false, L), None);
        }
        let hit = s.login("203.0.113.9", 7, 200_000, true, L).expect("spraying");
        assert_eq!(hit.failed_accounts, KEEP, "capped at the latest accounts");
        let hit = s.login("203.0.113.9", 119, 200_500, true, L).expect("still spraying");
        assert_eq!(hit.failed_accounts, KEEP - 1, "the account that logged in is not counted");
        assert_eq!(hit.succeeded_accounts, 1);
        // An office: 200 people log in, six mistype their password once.
        for a in 0..200u32 {
            if a % 33 == 0 {
                s.login("192.0.2.1", a, a as i64 * 1000, false, L);
            }
            let r = s.login("192.0.2.1", a, a as i64 * 1000 + 500, true, L);
            assert_eq!(r, None, "account {a}");
        }
        // The window passes: the sprayer's failures are forgotten.
        assert_eq!(s.login("203.0.113.9", 8, 200_000 + 2 * W, true, L), None);
        // Bounded: old sources go first.
        for i in 0..50u32 {
            s.login(&format!("198.51.100.{i}"), 1, 10 * W + i as i64, false, Limits { max_sources: 20, ..L });
        }
        assert!(s.by_ip.len() <= 20);
    }
}
