//! What vigie remembers of one account. Everything is bounded: counters
//! switch from exact to HyperLogLog, sources are small rings of hashes, the
//! working set is a fixed Bloom filter. docs/analytics.md gives the bytes.

use crate::baseline::Baseline;
use cardinality_estimator::CardinalityEstimator;
use serde::{Deserialize, Serialize};

/// Distinct people read: exact while small, then a 256-register
/// HyperLogLog (about 6% error) – a few hundred bytes at most.
pub type Distinct = CardinalityEstimator<u64, wyhash::WyHash, 8, 5>;

/// A ring of recent 32-bit hashes (sources an account used).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Ring {
    items: Vec<u32>,
    next: u8,
}

impl Ring {
    pub fn contains(&self, h: u32) -> bool {
        self.items.contains(&h)
    }

    /// Remember `h`; returns whether it was new.
    pub fn add(&mut self, h: u32, cap: usize) -> bool {
        if self.contains(h) {
            return false;
        }
        if self.items.len() < cap {
            self.items.push(h);
        } else if cap > 0 {
            let i = self.next as usize % cap;
            self.items[i] = h;
            self.next = ((i + 1) % cap) as u8;
        }
        true
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }
}

/// A fixed-size Bloom filter of people the account has read (its working
/// set), with two probes per id.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Bloom {
    bits: Vec<u64>,
}

impl Bloom {
    fn probes(h: u64, bits: usize) -> [usize; 2] {
        [(h as usize) % bits, ((h >> 32) as usize).wrapping_mul(0x9E37) % bits]
    }

    /// Add `h`; returns whether it may have been there already.
    pub fn insert(&mut self, h: u64, bits: u32) -> bool {
        let n = (bits.max(64) as usize).div_ceil(64) * 64;
        if self.bits.len() != n / 64 {
            self.bits = vec![0; n / 64];
        }
        let mut seen = true;
        for p in Self::probes(h, n) {
            let (w, b) = (p / 64, 1u64 << (p % 64));
            seen &= self.bits[w] & b != 0;
            self.bits[w] |= b;
        }
        seen
    }

    pub fn bytes(&self) -> usize {
        self.bits.len() * 8
    }
}

/// Per-hour signal levels already raised (so that each fires once an hour,
/// and again only when it escalates).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Fired {
    pub distinct: u8,
    pub distinct_day: u8,
    pub records: u8,
    pub working_set: bool,
    pub off_hours: bool,
    pub new_account: bool,
    pub takeover: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Account {
    pub first_seen: i64,
    pub last_seen: i64,
    /// Peer group key (group and role).
    pub peer: Option<String>,
    pub service: bool,
    /// Hour (epoch hours) and day (local days) being counted.
    pub hour: i64,
    pub day: i64,
    pub hour_distinct: Distinct,
    pub day_distinct: Distinct,
    pub hour_records: u64,
    pub hour_reads: u32,
    pub hour_new: u32,
    pub hour_active: bool,
    /// Time-of-week slot of the current hour (0 = Monday 00h, local time).
    pub slot: u8,
    pub fired: Fired,
    pub fired_day: u8,
    pub base_hour: Baseline,
    pub base_day: Baseline,
    pub base_records: Baseline,
    pub base_new_share: Baseline,
    /// Active hours per time-of-week slot (saturating).
    pub week: Vec<u8>,
    pub active_hours: u32,
    pub active_days: u16,
    pub ips: Ring,
    pub nets: Ring,
    pub agents: Ring,
    pub countries: Ring,
    /// Last located act: (time, lat, lon).
    pub last_geo: Option<(i64, f32, f32)>,
    pub working: Bloom,
    /// Takeover path: when a password reset of this account happened, and
    /// when it next logged in from a new source.
    pub reset_at: Option<i64>,
    pub new_source_after_reset: Option<i64>,
    /// Accounts created and privileges granted by this account, ever.
    pub creations: u32,
    pub grants: u32,
    /// When the account was created in the log (by an IAM event).
    pub created_at: Option<i64>,
}

impl Account {
    /// Approximate heap and inline bytes held (for the bound in the docs).
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Account>()
            + self.hour_distinct.size_of()
            + self.day_distinct.size_of()
            + self.week.capacity()
            + 4 * (self.ips.len() + self.nets.len() + self.agents.len() + self.countries.len())
            + self.working.bytes()
            + self.peer.as_ref().map_or(0, |p| p.capacity())
    }
}

/// A 32-bit hash of a source attribute.
pub fn h32(s: &str) -> u32 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes()) as u32
}
