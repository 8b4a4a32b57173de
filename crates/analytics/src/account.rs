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

/// The people an account has read lately (its working set): an ageing
/// Bloom filter of two halves with two probes each. New ids go into the
/// current half; when it holds about a quarter of its bits' worth, it
/// becomes the old half and a fresh one starts, so the set follows the
/// caseload as it changes and the false-positive rate stays near 5%.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Bloom {
    current: Vec<u64>,
    old: Vec<u64>,
    inserted: u32,
}

impl Bloom {
    fn probes(h: u64, bits: usize) -> [usize; 2] {
        [(h as usize) % bits, ((h >> 32) as usize).wrapping_mul(0x9E37_79B9) % bits]
    }

    fn has(words: &[u64], h: u64) -> bool {
        let bits = words.len() * 64;
        bits > 0 && Self::probes(h, bits).iter().all(|&p| words[p / 64] & (1 << (p % 64)) != 0)
    }

    /// Add `h`; returns whether it was (probably) there already. `bits` is
    /// the memory of both halves together.
    pub fn insert(&mut self, h: u64, bits: u32) -> bool {
        let words = (bits.max(128) as usize / 2).div_ceil(64);
        if self.current.len() != words {
            self.current = vec![0; words];
            self.old.clear();
            self.inserted = 0;
        }
        let seen = Self::has(&self.current, h) || Self::has(&self.old, h);
        if !Self::has(&self.current, h) {
            for p in Self::probes(h, words * 64) {
                self.current[p / 64] |= 1 << (p % 64);
            }
            self.inserted += 1;
            if self.inserted as usize > words * 64 / 4 {
                self.old = std::mem::replace(&mut self.current, vec![0; words]);
                self.inserted = 0;
            }
        }
        seen
    }

    pub fn bytes(&self) -> usize {
        (self.current.len() + self.old.len()) * 8
    }
}

/// Per-hour signal levels already raised (so that each fires once an hour,
/// and again only when it escalates).
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq)]
pub struct Fired {
    pub distinct: u8,
    pub distinct_day: u8,
    pub records: u8,
    pub working_set: u8,
    pub caseload: u8,
    pub off_hours: bool,
    pub new_account: bool,
    pub takeover: bool,
    /// Level of the fused evidence already raised this hour.
    pub fused: u8,
    pub spraying_source: bool,
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
    /// People read this hour outside the caseload file's entitlement.
    pub hour_outside: u32,
    pub hour_active: bool,
    /// Time-of-week slot of the current hour (0 = Monday 00h, local time).
    pub slot: u8,
    pub fired: Fired,
    pub fired_day: u8,
    pub base_hour: Baseline,
    pub base_day: Baseline,
    pub base_records: Baseline,
    /// People outside the working set read per active hour.
    pub base_new: Baseline,
    /// Active hours per time-of-week slot (saturating).
    pub week: Vec<u8>,
    pub active_hours: u32,
    pub active_days: u16,
    pub ips: Ring,
    pub nets: Ring,
    pub agents: Ring,
    pub countries: Ring,
    pub asns: Ring,
    /// Last located act: (time, lat, lon).
    pub last_geo: Option<(i64, f32, f32)>,
    /// Country of that act (hash).
    #[serde(default)]
    pub last_country: Option<u32>,
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
    /// Why it is a service account: bits of [`SERVICE_BY_NAME`] and the others.
    #[serde(default)]
    pub service_by: u8,
    /// Minute of the local day of each active day's first act (its spread
    /// is the schedule's jitter).
    #[serde(default)]
    pub base_start: Baseline,
    /// /16 networks (IPv4) or /32 prefixes (IPv6) the account used: a new
    /// /24 inside a known one is the same provider.
    #[serde(default)]
    pub wide: Ring,
    /// This hour's most novel access (see `Fusion`), and how rare its time
    /// of week is for the account (0: usual).
    #[serde(default)]
    pub hour_access: u8,
    #[serde(default)]
    pub hour_time: u8,
    /// The address behind `hour_access` (a new source, for containment).
    #[serde(default)]
    pub hour_access_ip: Option<String>,
    /// Highest fused score of this hour (bits).
    #[serde(default)]
    pub hour_fused: f32,
    /// The /24 of the last act and when (for interleaved use), and how
    /// often this hour the account switched /24 within minutes.
    #[serde(default)]
    pub last_net: (u32, i64),
    #[serde(default)]
    pub hour_switches: u8,
    /// The last network new to the account: (hash, first use, access level).
    #[serde(default)]
    pub fresh: (u32, i64, u8),
    /// Created by an account acting from a network new to it or at an
    /// hour it never works.
    #[serde(default)]
    pub created_strangely: bool,
    /// Counted this hour among its peer group's deviating accounts.
    #[serde(default)]
    pub hour_deviating: bool,
    /// When an impossible journey of this account was last reported, and
    /// where it had started (the account's place before it).
    #[serde(default)]
    pub travel_at: i64,
    #[serde(default)]
    pub travel_origin: (f32, f32),
    /// People outside the caseload file's entitlement read per active hour
    /// (learned only where a caseload file is given).
    #[serde(default)]
    pub base_outside: Baseline,
    /// Whether the caseload file said anything of this hour's reads.
    #[serde(default)]
    pub hour_judged: bool,
    /// Known before a restart whose saved state could not be read: its
    /// habits are learned again, but it is not new to the deployment.
    #[serde(default)]
    pub relearned: bool,
}

/// Why an account is taken for a service account.
pub const SERVICE_BY_NAME: u8 = 1;
pub const SERVICE_BY_ROLE: u8 = 2;
pub const SERVICE_BY_TOKEN: u8 = 4;

/// The reasons in words, for the evidence.
pub fn service_reasons(bits: u8) -> Vec<&'static str> {
    [(SERVICE_BY_NAME, "name"), (SERVICE_BY_ROLE, "role"), (SERVICE_BY_TOKEN, "token authentication")]
        .iter()
        .filter(|(b, _)| bits & b != 0)
        .map(|(_, s)| *s)
        .collect()
}

impl Account {
    /// This hour the account was used from a network new to it (a new /24
    /// or more: access level 3 and up, see `fusion::access_level`), or one
    /// first used within the day.
    pub fn new_network_this_hour(&self) -> bool {
        self.hour_access >= 3
    }

    /// Approximate heap and inline bytes held (for the bound in the docs).
    pub fn bytes(&self) -> usize {
        std::mem::size_of::<Account>()
            + self.hour_distinct.size_of()
            + self.day_distinct.size_of()
            + self.week.capacity()
            + 4 * (self.ips.len()
                + self.nets.len()
                + self.agents.len()
                + self.countries.len()
                + self.asns.len()
                + self.wide.len())
            + self.hour_access_ip.as_ref().map_or(0, |s| s.capacity())
            + self.working.bytes()
            + self.peer.as_ref().map_or(0, |p| p.capacity())
    }
}

/// Accounts are checkpointed in a compact binary form (postcard): an
/// account row is written every time the account acts between two
/// checkpoints, so its size is paid many times a second under load.
impl Account {
    pub fn encode(&self) -> Vec<u8> {
        postcard::to_allocvec(self).unwrap_or_default()
    }

    pub fn decode(bytes: &[u8]) -> Result<Account, String> {
        postcard::from_bytes(bytes).map_err(|e| e.to_string())
    }
}

/// A 32-bit hash of a source attribute.
pub fn h32(s: &str) -> u32 {
    xxhash_rust::xxh3::xxh3_64(s.as_bytes()) as u32
}
