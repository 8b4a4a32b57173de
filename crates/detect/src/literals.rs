//! The literal searchers of the engine, and the cheap test that spares most
//! texts their search.
//!
//! A field's automaton holds the literals its rules require; every value of
//! that field in every event is searched for them, unless the scan memo
//! already knows the value. Values the memo cannot know are new every time
//! (timestamps, GUIDs, addresses) or too short to be worth a look-up
//! (`true`, `tcp`, `S-1-5-18`), and almost none of them holds a literal.
//! Before folding and searching such a text, [`Literals::may_hold`] asks
//! whether it holds, for some literal, one pair of adjacent bytes that the
//! literal holds: a table look-up per byte, against a walk of the automaton
//! plus a copy to fold the text.

use aho_corasick::{AhoCorasick, MatchKind};
use daachorse::DoubleArrayAhoCorasick;

/// A multi-literal searcher reporting every (overlapping) occurrence.
/// daachorse's double-array automaton scans large literal sets about twice
/// as fast as aho-corasick's NFA here (docs/performance.md); aho-corasick is
/// the fallback for sets daachorse refuses (its size limits).
enum Searcher {
    Daac(DoubleArrayAhoCorasick<u32>),
    Ac(AhoCorasick),
}

/// One automaton's literals (already folded), searched in folded text.
pub(crate) struct Literals {
    searcher: Searcher,
    gate: Gate,
}

impl Literals {
    pub(crate) fn build(pats: &[String]) -> Literals {
        let searcher = match DoubleArrayAhoCorasick::new(pats) {
            Ok(d) => Searcher::Daac(d),
            Err(_) => Searcher::Ac(
                AhoCorasick::builder()
                    .match_kind(MatchKind::Standard)
                    .build(pats)
                    .expect("literal sets are always valid for Aho-Corasick"),
            ),
        };
        Literals { searcher, gate: Gate::build(pats) }
    }

    /// Whether `raw` may hold one of the literals (see [`Gate::may_hold`]).
    #[inline]
    pub(crate) fn may_hold(&self, raw: &str) -> bool {
        self.gate.may_hold(raw)
    }

    /// Call `f` with the pattern id of every occurrence in `folded`.
    #[inline]
    pub(crate) fn each(&self, folded: &str, mut f: impl FnMut(usize)) {
        match &self.searcher {
            Searcher::Daac(d) => d.find_overlapping_iter(folded).for_each(|m| f(m.value() as usize)),
            Searcher::Ac(a) => a.find_overlapping_iter(folded).for_each(|m| f(m.pattern().as_usize())),
        }
    }

    /// Heap bytes used, for the engine's statistics.
    pub(crate) fn memory(&self) -> usize {
        self.gate.memory()
            + match &self.searcher {
                Searcher::Daac(d) => d.heap_bytes(),
                Searcher::Ac(a) => a.memory_usage(),
            }
    }
}

/// The test a text must pass before it is searched for some literals: it
/// must be as long as the shortest of them and hold one of their chosen
/// byte pairs. An engine keeps one per automaton, and one per set of
/// keyword searches an event can meet (see `Engine::keyword_gate`).
pub(crate) struct Gate {
    /// The shortest literal's length in bytes.
    shortest: usize,
    /// One byte pair of each literal; `None` when a literal is a single
    /// byte (or there is none), and every text must be searched.
    pairs: Option<Pairs>,
}

impl Gate {
    pub(crate) fn build(pats: &[String]) -> Gate {
        let shortest = pats.iter().map(String::len).min().unwrap_or(0);
        let pairs = (shortest >= 2).then(|| Pairs::of(pats));
        Gate { shortest, pairs }
    }

    /// Whether `raw`, once folded, may hold one of the literals. Exact for
    /// "no" on ASCII texts, whose fold is their ASCII lowercase: a literal
    /// longer than the text, or none of whose chosen pair the text holds,
    /// cannot be in it. A non-ASCII text may fold to more bytes (`Ⱥ`, two
    /// bytes, folds to three) or fewer and ASCII ones (the Kelvin sign to
    /// `k`): always "maybe".
    #[inline]
    pub(crate) fn may_hold(&self, raw: &str) -> bool {
        if raw.len() < self.shortest {
            return !raw.is_ascii();
        }
        self.pairs.as_ref().is_none_or(|p| p.any_in(raw.as_bytes()))
    }

    fn memory(&self) -> usize {
        self.pairs.as_ref().map_or(0, |p| 256 + p.rows.len() * 32)
    }
}

/// A set of byte pairs: for each first byte, a 256-bit row of second bytes.
/// Only first bytes that some pair starts with have a row, so a set costs a
/// few hundred bytes and a text's bytes mostly stop at the first table.
struct Pairs {
    /// Row of each first byte, 0 for none (row 0 is always empty; row 1,
    /// full, is that of every non-ASCII byte).
    first: [u8; 256],
    rows: Vec<[u64; 4]>,
}

impl Pairs {
    /// One pair per literal, the one least likely in ordinary values (see
    /// [`commonness`]): a literal's pair that also fills timestamps, GUIDs
    /// and paths would let most texts through.
    fn of(pats: &[String]) -> Pairs {
        // Row 1 holds every byte, and follows every non-ASCII byte: a
        // non-ASCII text is always "maybe".
        let mut p = Pairs { first: [0; 256], rows: vec![[0; 4], [u64::MAX; 4]] };
        p.first[0x80..].fill(1);
        for pat in pats {
            let b = pat.as_bytes();
            let best = (0..b.len() - 1).min_by_key(|&i| commonness(b[i]) + commonness(b[i + 1]));
            if let Some(i) = best {
                p.add(b[i], b[i + 1]);
            }
        }
        p
    }

    /// Add the pair (`a`, `b`) in both cases of each byte: texts are
    /// tested raw, their fold being their ASCII lowercase.
    fn add(&mut self, a: u8, b: u8) {
        for a in [a, a.to_ascii_uppercase()] {
            if self.first[a as usize] == 0 {
                // At most 255 rows: byte values past that share row 255's
                // bits, which only lets more texts through.
                if self.rows.len() < 256 {
                    self.rows.push([0; 4]);
                }
                self.first[a as usize] = (self.rows.len() - 1) as u8;
            }
            let row = &mut self.rows[self.first[a as usize] as usize];
            for b in [b, b.to_ascii_uppercase()] {
                row[(b >> 6) as usize] |= 1 << (b & 63);
            }
        }
    }

    /// Whether `text` holds one of the pairs, in any case, or a non-ASCII
    /// character (whose fold is not its ASCII lowercase).
    #[inline]
    fn any_in(&self, text: &[u8]) -> bool {
        let mut row = 0;
        for &b in text {
            if row != 0 && self.rows[row][(b >> 6) as usize] & (1 << (b & 63)) != 0 {
                return true;
            }
            row = self.first[b as usize] as usize;
        }
        false
    }
}

/// How often a byte fills ordinary log values (lower is rarer): digits and
/// hexadecimal letters make up timestamps, GUIDs, hashes and addresses;
/// separators and frequent letters make up paths and command lines.
fn commonness(c: u8) -> u8 {
    match c {
        b'0'..=b'9' | b'a'..=b'f' => 3,
        b'\\' | b'/' | b' ' | b'.' | b'-' | b':' | b'_' | b'i' | b'l' | b'n' | b'o' | b'r' | b's' | b't' => 2,
        b'g'..=b'z' => 1,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lits(p: &[&str]) -> Literals {
        Literals::build(&p.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn texts_without_a_pair_are_not_searched() {
        let l = lits(&["mimikatz", "sekurlsa::", "\\rev.dll"]);
        for t in ["2023-11-14T22:13:20.000000Z", "{244823F2-DB06-6D5D-0000-000000000000}", "tcp", "10.1.209.17"] {
            assert!(!l.may_hold(t), "{t}");
        }
        for t in ["C:\\Tools\\MIMIKATZ.exe", "run SEKURLSA::logonpasswords", "x\\rev.dll"] {
            assert!(l.may_hold(t), "{t}");
        }
        // A non-ASCII text may fold into a literal: always searched.
        assert!(lits(&["kelvin"]).may_hold("\u{212a}elvin"));
        assert!(lits(&["kelvin"]).may_hold("x\u{212a}"));
        // A text shorter than every literal, whose fold is longer.
        let mut grown = String::new();
        vigie_sigma::fold::fold_into("\u{23a}x", &mut grown);
        assert_eq!(grown, "\u{2c65}x");
        assert!(grown.len() > "\u{23a}x".len());
        assert!(lits(&["\u{2c65}x"]).may_hold("\u{23a}x"));
        // A single-byte literal can be anywhere: every long enough text is searched.
        assert!(lits(&["`", "abc"]).may_hold("zz"));
        assert!(!lits(&["`", "abc"]).may_hold(""));
    }

    #[test]
    fn the_gate_never_hides_a_literal() {
        // Every literal inside every padding, in every case: the gate must
        // let it through, and the search must then find it.
        let pats = ["ab", "::", "zz top", "\\x", "q9", "a-f", "0123", "\u{e9}t\u{e9}"];
        let l = lits(&pats);
        for (id, p) in pats.iter().enumerate() {
            for text in [p.to_string(), format!("--{p}"), format!("{}..", p.to_uppercase()), format!("x{p}y")] {
                assert!(l.may_hold(&text), "{text}");
                let mut found = Vec::new();
                let mut folded = String::new();
                vigie_sigma::fold::fold_into(&text, &mut folded);
                l.each(&folded, |pid| found.push(pid));
                assert!(found.contains(&id), "{text}");
            }
        }
    }
}
