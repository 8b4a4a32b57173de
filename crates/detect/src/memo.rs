//! Remembered literal scans: which patterns an automaton finds in a given
//! text, kept across events.
//!
//! Log values repeat. Of the ~500 bytes of strings in a Sysmon event, most
//! (image paths, command lines, user and host names, providers, channels)
//! were seen a few events earlier; only timestamps, GUIDs and the like are
//! new. Scanning is a table walk per byte, while a look-up here hashes the
//! text and compares it once, so a repeated value costs a fraction of a scan.
//! The memo is exact: an entry is only reused for the same automaton and the
//! byte-identical text, so a hash collision costs a scan, never a detection.
//! The same table also keeps yes/no answers ([`ScanMemo::check`]): a regex's
//! for one value, a rule's for the encoded values of every field it reads.

use rustc_hash::FxHasher;
use std::hash::Hasher;

/// Entries kept per thread. Direct-mapped: a new text takes its slot from
/// whatever was there, so values seen once (timestamps) only ever displace
/// one entry each and frequent values come straight back. 4,096 slots of
/// 128 bytes stay within a core's L2 cache; a larger table measured slower.
const SLOTS: usize = 1 << 12;

/// Texts up to this length are kept inside their slot, so that a look-up
/// touches one place in memory (most values, paths included, fit).
const INLINE: usize = 108;

/// Longer texts are scanned every time: they are rarely repeated, scanning
/// dominates hashing for them anyway, and the cap bounds the memo's memory.
pub const MAX_KEY: usize = 256;

/// Shorter texts (`tcp`, `true`, `-`) are scanned every time: scanning a
/// few bytes is less work than hashing, probing and copying them.
pub const MIN_KEY: usize = 12;

#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Slot {
    hash: u64,
    /// The automaton (or the test, see [`ScanMemo::check`]) of the entry.
    owner: u64,
    len: u16,
    /// Whether `hits` holds anything for this slot (most texts hold no
    /// literal), or the test's answer.
    any: bool,
    key: [u8; INLINE],
}

const EMPTY: Slot = Slot { hash: 0, owner: u64::MAX, len: 0, any: false, key: [0; INLINE] };

/// Look-ups per sampling window of a lane.
const WINDOW: u16 = 256;

/// Windows a lane skips the memo after one in which fewer than a third of
/// its look-ups hit.
const REST: u32 = 15;

/// Lanes: the callers' streams of look-ups (the field automata in the first
/// half, the keyword scan's string positions in the second; regex leaves
/// and rule verdicts each in a memo of their own), each deciding on its own
/// whether the memo pays. Lanes that share a number share a decision, never
/// an answer. A value that is new every time (a timestamp, a GUID) would
/// otherwise pay for a look-up and a copy on top of its scan.
const LANES: usize = 256;

#[derive(Clone, Copy, Default)]
struct Lane {
    lookups: u16,
    hits: u16,
    /// Look-ups left to answer without the memo.
    resting: u32,
}

/// Per-thread memo of scan results.
pub struct ScanMemo {
    lanes: Box<[Lane]>,
    slots: Box<[Slot]>,
    /// Per slot: its text when longer than [`INLINE`].
    long: Box<[Vec<u8>]>,
    /// Per slot: the pattern ids its text holds.
    hits: Box<[Vec<u32>]>,
    /// Look-ups answered without scanning, and scans done (for benchmarks).
    pub hits_count: u64,
    pub misses: u64,
}

impl Default for ScanMemo {
    fn default() -> ScanMemo {
        ScanMemo {
            lanes: vec![Lane::default(); LANES].into_boxed_slice(),
            slots: vec![EMPTY; SLOTS].into_boxed_slice(),
            long: vec![Vec::new(); SLOTS].into_boxed_slice(),
            hits: vec![Vec::new(); SLOTS].into_boxed_slice(),
            hits_count: 0,
            misses: 0,
        }
    }
}

impl ScanMemo {
    /// Whether `lane` should look this text up: the text's length suits the
    /// memo, and the lane's recent look-ups mostly hit.
    #[inline]
    fn worth(&mut self, lane: usize, len: usize) -> bool {
        if !(MIN_KEY..=MAX_KEY).contains(&len) {
            return false;
        }
        let l = &mut self.lanes[lane % LANES];
        if l.resting > 0 {
            l.resting -= 1;
            return false;
        }
        true
    }

    /// Count one look-up of `lane`; a window with too few hits rests the lane.
    #[inline]
    fn tally(&mut self, lane: usize, hit: bool) {
        let l = &mut self.lanes[lane % LANES];
        l.lookups += 1;
        l.hits += hit as u16;
        if l.lookups == WINDOW {
            if l.hits * 3 < WINDOW {
                l.resting = REST * WINDOW as u32;
            }
            l.lookups = 0;
            l.hits = 0;
        }
    }

    /// The slot for (`owner`, `text`), and whether it already holds them;
    /// when not, it is taken over for them (its answer is then stale and
    /// the caller must set it).
    #[inline]
    fn probe(&mut self, owner: u64, b: &[u8]) -> (usize, bool) {
        let mut h = FxHasher::default();
        h.write_u64(owner);
        h.write(b);
        // FxHasher's output is a product with a rotate: mix it again so that
        // similar texts ("1-2", "1-3") spread over the whole table.
        let hash = (h.finish() ^ (h.finish() >> 31)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        let i = (hash >> (64 - SLOTS.trailing_zeros())) as usize;
        let slot = &mut self.slots[i];
        let same = slot.hash == hash
            && slot.owner == owner
            && slot.len as usize == b.len()
            && if b.len() <= INLINE { slot.key[..b.len()] == *b } else { self.long[i] == b };
        if same {
            self.hits_count += 1;
            return (i, true);
        }
        self.misses += 1;
        slot.hash = hash;
        slot.owner = owner;
        slot.len = b.len() as u16;
        if b.len() <= INLINE {
            slot.key[..b.len()].copy_from_slice(b);
        } else {
            self.long[i].clear();
            self.long[i].extend_from_slice(b);
        }
        (i, false)
    }

    /// The pattern ids `automaton` finds in `text`, appended to `out`.
    /// `scan` is called only when this text has not been remembered for
    /// this automaton; it must push every id found in `text` (the memo
    /// keeps what it pushes).
    #[inline]
    pub fn find(
        &mut self,
        lane: usize,
        automaton: u32,
        text: &str,
        out: &mut Vec<u32>,
        scan: impl FnOnce(&str, &mut Vec<u32>),
    ) {
        if !self.worth(lane, text.len()) {
            scan(text, out);
            return;
        }
        let (i, known) = self.probe(automaton as u64, text.as_bytes());
        self.tally(lane, known);
        if !known {
            let found = &mut self.hits[i];
            found.clear();
            scan(text, found);
            self.slots[i].any = !found.is_empty();
        }
        if self.slots[i].any {
            out.extend_from_slice(&self.hits[i]);
        }
    }

    /// The answer of a test that depends on `key` alone (a text, or an
    /// encoding of every value a rule reads), `test` being asked only when
    /// it is not remembered. `owner` names the test and must not collide
    /// with an automaton number: callers use addresses with the top bit
    /// set, or rule numbers with the next bit set.
    #[inline]
    pub fn check(&mut self, lane: usize, owner: u64, key: &[u8], test: impl FnOnce() -> bool) -> bool {
        if !self.worth(lane, key.len()) {
            return test();
        }
        let (i, known) = self.probe(owner, key);
        self.tally(lane, known);
        if !known {
            self.slots[i].any = test();
        }
        self.slots[i].any
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan_x(text: &str, out: &mut Vec<u32>) {
        out.extend(text.match_indices('x').map(|(i, _)| i as u32));
    }

    #[test]
    fn remembers_per_automaton_and_exact_text() {
        let mut m = ScanMemo::default();
        let mut out = Vec::new();
        m.find(0, 0, "axbx-long-enough", &mut out, scan_x);
        assert_eq!(out, [1, 3]);
        assert_eq!((m.hits_count, m.misses), (0, 1));
        out.clear();
        m.find(0, 0, "axbx-long-enough", &mut out, |_, _| panic!("a remembered text is not scanned again"));
        assert_eq!(out, [1, 3]);
        assert_eq!((m.hits_count, m.misses), (1, 1));
        // Another automaton, or another text, is scanned.
        out.clear();
        m.find(1, 1, "axbx-long-enough", &mut out, |_, o| o.push(9));
        assert_eq!(out, [9]);
        out.clear();
        m.find(0, 0, "axbxx-long-enough", &mut out, scan_x);
        assert_eq!(out, [1, 3, 4]);
        assert_eq!(m.misses, 3);
    }

    #[test]
    fn colliding_slots_never_mix_texts() {
        // Far more texts than slots: every answer must still be the text's own.
        let mut m = ScanMemo::default();
        let mut out = Vec::new();
        for round in 0..2 {
            for i in 0..(SLOTS * 3) {
                let t = format!("{i:012}x{}", "x".repeat(i % 5));
                out.clear();
                // One lane per text, so that no lane sees enough misses to rest.
                m.find(i, 0, &t, &mut out, scan_x);
                let mut want = Vec::new();
                scan_x(&t, &mut want);
                assert_eq!(out, want, "round {round}, text {t}");
            }
        }
        // The newest text holds its slot.
        let last = format!("{:012}x{}", SLOTS * 3 - 1, "x".repeat((SLOTS * 3 - 1) % 5));
        let before = m.hits_count;
        m.find(SLOTS * 3 - 1, 0, &last, &mut out, |_, _| panic!("the newest text is remembered"));
        assert_eq!(m.hits_count, before + 1);
    }

    #[test]
    fn short_and_long_texts_are_always_scanned() {
        let mut m = ScanMemo::default();
        let mut out = Vec::new();
        m.find(0, 0, "xx", &mut out, scan_x);
        m.find(0, 0, "xx", &mut out, scan_x);
        assert_eq!(out, [0, 1, 0, 1]);
        let long = "x".repeat(MAX_KEY + 1);
        out.clear();
        m.find(0, 0, &long, &mut out, scan_x);
        m.find(0, 0, &long, &mut out, scan_x);
        assert_eq!(out.len(), 2 * (MAX_KEY + 1));
        assert_eq!((m.hits_count, m.misses), (0, 0));
    }

    #[test]
    fn a_lane_of_new_texts_stops_looking_up_and_others_keep_their_memo() {
        let mut m = ScanMemo::default();
        let mut out = Vec::new();
        let w = WINDOW as usize;
        for i in 0..3 * w {
            // Lane 0: a new text every time (a timestamp).
            out.clear();
            let t = format!("2026-11-25T{i:09}x");
            m.find(0, 0, &t, &mut out, scan_x);
            assert_eq!(out, [20], "resting lanes still answer by scanning");
            // Lane 1: the same text every time.
            m.find(1, 1, "C:\\Windows\\x.exe", &mut out, scan_x);
        }
        // Lane 0 looked up one window's worth, then rested; lane 1 hit on
        // every look-up but its first.
        assert_eq!(m.misses as usize, w + 1);
        assert_eq!(m.hits_count as usize, 3 * w - 1);
        // After its rest (two windows of it are spent), the lane samples again.
        for i in 0..(REST as usize - 2) * w {
            m.find(0, 0, &format!("later-{i:09}x"), &mut out, scan_x);
        }
        assert_eq!(m.misses as usize, w + 1, "still resting");
        m.find(0, 0, "a new text, looked up", &mut out, scan_x);
        assert_eq!(m.misses as usize, w + 2);
    }
}
