//! An event read once into (dotted path → values), for the matcher.
//!
//! Looking a field up in a JSON tree costs a pass over the entries of every
//! object on its way, and an absent field (most of them: a rule set asks
//! for hundreds of Windows fields, an event has twenty) costs a full pass
//! over each place it might be. A detection engine asks for dozens of fields
//! per event, so it pays more in look-ups than in parsing. [`Flat`] walks
//! the tree once, hashing each path as it goes, keeps only the values at
//! the paths the loaded rules and mappings can ask for ([`Wanted`]), and
//! then answers each look-up from a small hash table.
//!
//! Paths are hashed segment by segment, so a dotted key (`{"user.name": ..}`)
//! and nested objects (`{"user": {"name": ..}}`) reach the same field, as
//! [`FieldPath::visit`] does on the tree. A `*` segment stands for any one
//! key: objects at a starred prefix give each child a second hash. Two paths
//! are taken to be equal when their 64-bit hashes are: with the SigmaHQ
//! pack's 1,121 wanted paths and prefixes (`vigie bench` prints the count)
//! and about fifty paths in a Sysmon event of the bench corpus (43 values
//! on average, plus their objects), the chance that some path of
//! an event is taken for a wanted one is about 50 × 1,121 / 2^61 (the
//! wanted-path table keeps 61 bits of each hash), 2.4·10^-14.

mod json;

pub use json::{MAX_DEPTH, Rejected};

use crate::path::FieldPath;
use sonic_rs::{JsonContainerTrait, JsonValueTrait, Value};
use std::fmt::Write as _;

/// The hash of the empty path (the event's root).
pub const ROOT: u64 = 0x9e37_79b9_7f4a_7c15;

/// Multiplier for the whole eight-byte words of a segment.
const WORD: u64 = 0x9e37_79b9_7f4a_7c15;
/// Multiplier for a segment's last, partial word.
const TAIL: u64 = 0xd6e8_feb8_6659_fd93;

/// The 128-bit product of `a` and `m`, folded to 64 bits: every input bit
/// reaches every output bit, in one multiply.
#[inline(always)]
fn fold_mul(a: u64, m: u64) -> u64 {
    let p = a as u128 * m as u128;
    (p as u64) ^ (p >> 64) as u64
}

/// The hash of `prev` followed by one more segment: one multiply per whole
/// eight-byte word, one for the rest (up to seven bytes, with the segment's
/// length in the free top byte, so that "ab" and "ab\0" differ). Word-wise,
/// so that the JSON decoder can hash an object key in the same pass that
/// looks for its closing quote.
#[inline]
pub fn extend(prev: u64, seg: &[u8]) -> u64 {
    let mut words = seg.chunks_exact(8);
    let mut h = prev;
    for w in words.by_ref() {
        h = hash_word(h, u64::from_le_bytes(w.try_into().unwrap_or_default()));
    }
    let mut tail = [0u8; 8];
    let rest = words.remainder();
    tail[..rest.len()].copy_from_slice(rest);
    hash_tail(h, u64::from_le_bytes(tail), seg.len())
}

/// One whole word of a segment into the hash.
#[inline(always)]
pub(crate) fn hash_word(h: u64, word: u64) -> u64 {
    fold_mul(h ^ word, WORD)
}

/// The last word of a segment (its bytes after the whole words, zero above
/// them) and the segment's length: the segment's hash.
#[inline(always)]
pub(crate) fn hash_tail(h: u64, tail: u64, len: usize) -> u64 {
    fold_mul(h ^ tail ^ ((len as u64) << 56), TAIL)
}

/// The hash of a key that may itself hold dots (each dot starts a segment).
#[inline]
fn extend_key(prev: u64, key: &str) -> u64 {
    if !key.as_bytes().contains(&b'.') {
        return extend(prev, key.as_bytes());
    }
    key.split('.').fold(prev, |h, s| extend(h, s.as_bytes()))
}

/// The hashes of a path's segments, from the root: `out[k]` is the hash of
/// the first `k + 1` segments.
pub fn prefix_hashes(segs: &[String]) -> Vec<u64> {
    let mut h = ROOT;
    segs.iter()
        .map(|s| {
            h = extend(h, s.as_bytes());
            h
        })
        .collect()
}

/// What a value at a path is.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Str,
    /// A number, rendered in decimal in the text.
    Num(f64),
    /// `true` or `false`, rendered in the text.
    Bool,
    Null,
    /// An object, or an array inside an array: present, never equal to a value.
    Composite,
    /// An empty array: the field is present but has no value.
    Empty,
}

impl Kind {
    /// A value with a text to compare: a string, a number or a boolean.
    pub fn is_scalar(self) -> bool {
        matches!(self, Kind::Str | Kind::Num(_) | Kind::Bool)
    }

    /// Append a value of this kind with this text to a memo key as one
    /// record: a byte for the kind, the text's length (two bytes) and the
    /// text, so that distinct sequences of values give distinct keys. A
    /// number's kind and text say all of it: its value is parsed from that
    /// text, which both decoders render one way only. Callers bound their
    /// keys far below 64 KB.
    #[inline]
    pub fn push_key(self, text: &str, key: &mut Vec<u8>) {
        key.push(match self {
            Kind::Str => 1,
            Kind::Num(_) => 2,
            Kind::Bool => 3,
            Kind::Null => 4,
            Kind::Composite => 5,
            Kind::Empty => 6,
        });
        key.extend_from_slice(&(text.len() as u16).to_le_bytes());
        key.extend_from_slice(text.as_bytes());
    }
}

/// One value of an event at one path.
#[derive(Debug, Clone, Copy)]
pub struct Leaf {
    hash: u64,
    start: u32,
    end: u32,
    pub kind: Kind,
}

/// The paths an engine can ask for, so that nothing else is kept.
#[derive(Debug, Clone, Default)]
pub struct Wanted {
    /// What to do at each path hash (`KEEP`, `ENTER`, `STAR` bits).
    table: Table,
    /// Keep every string of the event in order too (keyword searches).
    pub strings: bool,
    /// Keep everything (tests, and callers that do not know their paths).
    all: bool,
}

/// Keep the values at this path.
const KEEP: u8 = 1;
/// Enter the object at this path: a wanted path goes on below it.
const ENTER: u8 = 2;
/// The object's keys also stand for a `*` segment.
const STAR: u8 = 4;

impl Wanted {
    /// Every path of every event. Starred paths still have to be
    /// [`add`](Wanted::add)ed: every key of every object cannot stand for a
    /// `*` too.
    pub fn all() -> Wanted {
        Wanted { all: true, strings: true, ..Wanted::default() }
    }

    pub fn add(&mut self, p: &FieldPath) {
        let hashes = p.prefix_hashes();
        for (i, seg) in p.segments().iter().enumerate() {
            if seg == "*" {
                self.table.set(if i == 0 { ROOT } else { hashes[i - 1] }, STAR);
            }
        }
        if let Some((last, inner)) = hashes.split_last() {
            self.table.set(*last, KEEP);
            self.table.set(ROOT, ENTER);
            inner.iter().for_each(|&h| self.table.set(h, ENTER));
        }
    }

    /// What to do at a path: one look-up for all three questions.
    /// How many paths and path prefixes are asked for.
    pub fn len(&self) -> usize {
        self.table.len
    }

    pub fn is_empty(&self) -> bool {
        self.table.len == 0
    }

    #[inline(always)]
    fn at(&self, h: u64) -> u8 {
        let f = self.table.get(h);
        if self.all { f | KEEP | ENTER } else { f }
    }
}

/// A small open-addressing map from path hash to flags. The keys are
/// already well-mixed hashes, so their bits index the table directly. Each
/// slot is one word, the hash with its three low bits replaced by the
/// flags, so that the SigmaHQ pack's ~1,100 paths fit in 16 KB: the
/// decoder looks up every key of every event here, and a table that left
/// the L1 cache cost a cache miss per key (the top line of its profile).
/// Paths are then told apart by 61 bits of their hash instead of 64.
#[derive(Debug, Clone, Default)]
struct Table {
    slots: Vec<u64>,
    len: usize,
}

/// The bits of a path hash a slot keeps (never 0, which marks a free slot).
#[inline]
fn tag(h: u64) -> u64 {
    let t = h & !7;
    if t == 0 { 8 } else { t }
}

impl Table {
    fn set(&mut self, h: u64, flag: u8) {
        // At most five eighths full: short probe sequences.
        if (self.len + 1) * 8 > self.slots.len() * 5 {
            let old = std::mem::take(&mut self.slots);
            self.slots = vec![0; (old.len() * 2).max(64)];
            self.len = 0;
            for e in old.into_iter().filter(|&e| e != 0) {
                self.set(e & !7, (e & 7) as u8);
            }
        }
        let t = tag(h);
        let mask = self.slots.len() - 1;
        let mut at = (t >> 3) as usize & mask;
        loop {
            let e = &mut self.slots[at];
            if *e == 0 {
                *e = t | flag as u64;
                self.len += 1;
                return;
            }
            if *e & !7 == t {
                *e |= flag as u64;
                return;
            }
            at = (at + 1) & mask;
        }
    }

    #[inline(always)]
    fn get(&self, h: u64) -> u8 {
        if self.slots.is_empty() {
            return 0;
        }
        let t = tag(h);
        let mask = self.slots.len() - 1;
        let mut at = (t >> 3) as usize & mask;
        loop {
            let e = self.slots[at];
            if e & !7 == t {
                return (e & 7) as u8;
            }
            if e == 0 {
                return 0;
            }
            at = (at + 1) & mask;
        }
    }
}

/// Where a value sits relative to the path it was reached by.
#[derive(Clone, Copy, PartialEq)]
enum Level {
    /// The value at the path itself.
    Node,
    /// An element of the array at the path: one of the path's values.
    Element,
    /// Deeper inside arrays: not a value of the path, but objects inside
    /// still lead on to longer paths.
    Deep,
}

/// Empty slot marker of the index (a real hash equal to it is remapped).
const FREE: u64 = 0;

/// One event, flattened. Reused from event to event: no allocation once
/// the buffers have grown.
#[derive(Debug, Default)]
pub struct Flat {
    leaves: Vec<Leaf>,
    /// Next leaf with the same hash, in document order (`u32::MAX`: none).
    next: Vec<u32>,
    /// The values' texts (from JSON text: the line itself, then the values
    /// that had to be rewritten).
    text: String,
    /// Every string of the event in document order (when wanted).
    strings: Vec<(u32, u32)>,
    /// Open-addressing index: (hash, first leaf, last leaf).
    index: Vec<(u64, u32, u32)>,
}

impl Flat {
    /// Flatten `root`, keeping what `wanted` asks for.
    pub fn fill(&mut self, root: &Value, wanted: &Wanted) {
        self.clear();
        self.walk(root, ROOT, Level::Node, true, wanted);
        self.build_index();
    }

    fn walk(&mut self, v: &Value, h: u64, level: Level, primary: bool, w: &Wanted) {
        let direct = level != Level::Deep;
        let at = w.at(h);
        let kept = direct && at & KEEP != 0;
        if let Some(s) = v.as_str() {
            let listed = primary && w.strings;
            if kept || listed {
                let start = self.text.len() as u32;
                self.text.push_str(s);
                let end = self.text.len() as u32;
                if listed {
                    self.strings.push((start, end));
                }
                if kept {
                    self.leaves.push(Leaf { hash: h, start, end, kind: Kind::Str });
                }
            }
        } else if let Some(obj) = v.as_object() {
            if kept {
                self.push(h, Kind::Composite);
            }
            let enter = at & ENTER != 0;
            let star = at & STAR != 0;
            for (k, c) in obj.iter() {
                if enter {
                    self.walk(c, extend_key(h, k), Level::Node, primary, w);
                } else if primary && w.strings {
                    // No wanted path goes through here: only the strings matter.
                    self.collect_strings(c);
                }
                if star {
                    self.walk(c, extend(h, b"*"), Level::Node, false, w);
                }
            }
        } else if let Some(arr) = v.as_array() {
            let inner = match level {
                Level::Node => {
                    if arr.is_empty() && kept {
                        self.push(h, Kind::Empty);
                    }
                    Level::Element
                }
                Level::Element => {
                    if kept {
                        self.push(h, Kind::Composite);
                    }
                    Level::Deep
                }
                Level::Deep => Level::Deep,
            };
            for e in arr.iter() {
                self.walk(e, h, inner, primary, w);
            }
        } else if kept {
            let start = self.text.len() as u32;
            let kind = if let Some(i) = v.as_i64() {
                let _ = write!(self.text, "{i}");
                Kind::Num(i as f64)
            } else if let Some(u) = v.as_u64() {
                let _ = write!(self.text, "{u}");
                Kind::Num(u as f64)
            } else if let Some(f) = v.as_f64() {
                let _ = write!(self.text, "{f}");
                Kind::Num(f)
            } else if let Some(b) = v.as_bool() {
                self.text.push_str(if b { "true" } else { "false" });
                Kind::Bool
            } else {
                Kind::Null
            };
            self.leaves.push(Leaf { hash: h, start, end: self.text.len() as u32, kind });
        }
    }

    /// Forget the previous event (the buffers are kept).
    fn clear(&mut self) {
        self.leaves.clear();
        self.next.clear();
        self.text.clear();
        self.strings.clear();
    }

    fn collect_strings(&mut self, v: &Value) {
        if let Some(s) = v.as_str() {
            let start = self.text.len() as u32;
            self.text.push_str(s);
            self.strings.push((start, self.text.len() as u32));
        } else if let Some(obj) = v.as_object() {
            obj.iter().for_each(|(_, c)| self.collect_strings(c));
        } else if let Some(arr) = v.as_array() {
            arr.iter().for_each(|c| self.collect_strings(c));
        }
    }

    fn push(&mut self, hash: u64, kind: Kind) {
        let at = self.text.len() as u32;
        self.leaves.push(Leaf { hash, start: at, end: at, kind });
    }

    fn build_index(&mut self) {
        let want = (self.leaves.len() * 2).next_power_of_two().max(16);
        if self.index.len() != want {
            self.index = vec![(FREE, 0, 0); want];
        } else {
            self.index.iter_mut().for_each(|e| e.0 = FREE);
        }
        self.next.resize(self.leaves.len(), u32::MAX);
        let mask = want - 1;
        for (i, leaf) in self.leaves.iter().enumerate() {
            let key = slot_key(leaf.hash);
            let mut at = key as usize & mask;
            loop {
                let e = &mut self.index[at];
                if e.0 == FREE {
                    *e = (key, i as u32, i as u32);
                    break;
                }
                if e.0 == key {
                    self.next[e.2 as usize] = i as u32;
                    e.2 = i as u32;
                    break;
                }
                at = (at + 1) & mask;
            }
        }
    }

    fn first(&self, hash: u64) -> Option<u32> {
        let key = slot_key(hash);
        let mask = self.index.len().checked_sub(1)?;
        let mut at = key as usize & mask;
        loop {
            let e = self.index[at];
            if e.0 == key {
                return Some(e.1);
            }
            if e.0 == FREE {
                return None;
            }
            at = (at + 1) & mask;
        }
    }

    /// Whether the event has the path (with any value, null included).
    pub fn has(&self, hash: u64) -> bool {
        self.first(hash).is_some()
    }

    /// The values at a path, in document order (an empty array gives an
    /// [`Kind::Empty`] leaf, which callers skip).
    pub fn values(&self, hash: u64) -> Values<'_> {
        Values { flat: self, at: self.first(hash).unwrap_or(u32::MAX) }
    }

    pub fn leaf_text(&self, leaf: &Leaf) -> &str {
        &self.text[leaf.start as usize..leaf.end as usize]
    }

    /// Every kept value as (path hash, kind, text), in document order: for
    /// comparing two flattenings of one event.
    pub fn entries(&self) -> impl Iterator<Item = (u64, Kind, &str)> {
        self.leaves.iter().map(|l| (l.hash, l.kind, self.leaf_text(l)))
    }

    /// Every string of the event, in document order (only when
    /// [`Wanted::strings`] was set).
    pub fn strings(&self) -> impl Iterator<Item = &str> {
        self.strings.iter().map(|&(s, e)| &self.text[s as usize..e as usize])
    }

    /// Call `f` on each value `path` reaches until it returns true, as
    /// [`FieldPath::visit`] does on the tree: (path present, f returned true).
    pub fn visit(&self, path: &FieldPath, f: &mut dyn FnMut(&Leaf, &str) -> bool) -> (bool, bool) {
        let mut found = false;
        for leaf in self.values(path.hash()) {
            found = true;
            if leaf.kind != Kind::Empty && f(leaf, self.leaf_text(leaf)) {
                return (true, true);
            }
        }
        (found, false)
    }
}

#[inline]
fn slot_key(hash: u64) -> u64 {
    if hash == FREE { 1 } else { hash }
}

/// The values of one path.
pub struct Values<'a> {
    flat: &'a Flat,
    at: u32,
}

impl<'a> Iterator for Values<'a> {
    type Item = &'a Leaf;
    fn next(&mut self) -> Option<&'a Leaf> {
        let i = self.at as usize;
        let leaf = self.flat.leaves.get(i)?;
        self.at = self.flat.next[i];
        Some(leaf)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_values(path: &str, json: &str) -> (bool, Vec<String>) {
        let v: Value = sonic_rs::from_str(json).unwrap();
        let mut out = Vec::new();
        let (found, _) = FieldPath::new(path).visit(&v, &mut |x| {
            out.push(if x.is_object() || x.is_array() {
                "<composite>".to_string()
            } else if let Some(i) = x.as_i64() {
                i.to_string()
            } else if let Some(u) = x.as_u64() {
                u.to_string()
            } else if let Some(f) = x.as_f64() {
                f.to_string()
            } else {
                x.to_string()
            });
            false
        });
        (found, out)
    }

    fn flat_values(path: &str, json: &str, wanted: &Wanted) -> (bool, Vec<String>) {
        let v: Value = sonic_rs::from_str(json).unwrap();
        let mut f = Flat::default();
        f.fill(&v, wanted);
        let mut out = Vec::new();
        let (found, _) = f.visit(&FieldPath::new(path), &mut |leaf, text| {
            out.push(match leaf.kind {
                Kind::Str => format!("{text:?}"),
                Kind::Null => "null".to_string(),
                Kind::Composite => "<composite>".to_string(),
                _ => text.to_string(),
            });
            false
        });
        (found, out)
    }

    /// The flat view must answer every path exactly as the tree walk does,
    /// whether it keeps everything or only the paths asked for.
    #[test]
    fn agrees_with_the_tree_walk() {
        let docs = [
            r#"{"user":{"name":"a"}}"#,
            r#"{"user.name":"a"}"#,
            r#"{"user":{"group.name":"g"},"user.group":{"name":"h"}}"#,
            r#"{"event":{"category":["a","b"]}}"#,
            r#"{"a":[{"b":1},{"b":2.5}]}"#,
            r#"{"a":[[{"b":true}],[3]],"c":[[1,2]],"d":[]}"#,
            r#"{"a":null,"b":{"c":{}},"e":[{"x":null}]}"#,
            r#"{"Event":{"UserData":{"LogonEv":{"User":"u","N":7}}}}"#,
            r#"{"n":-3,"u":18446744073709551615,"f":1e300,"s":"ÉCOLE"}"#,
        ];
        let paths = [
            "user.name",
            "user.group.name",
            "event.category",
            "a",
            "a.b",
            "c",
            "d",
            "b",
            "b.c",
            "e.x",
            "Event.UserData.*.User",
            "Event.UserData.*.N",
            "Event.UserData.LogonEv",
            "n",
            "u",
            "f",
            "s",
            "missing",
        ];
        let (mut some, mut all) = (Wanted::default(), Wanted::all());
        for p in paths {
            some.add(&FieldPath::new(p));
            all.add(&FieldPath::new(p));
        }
        for doc in docs {
            for p in paths {
                let want = tree_values(p, doc);
                assert_eq!(flat_values(p, doc, &all), want, "{p} in {doc} (everything kept)");
                assert_eq!(flat_values(p, doc, &some), want, "{p} in {doc} (wanted paths only)");
            }
        }
    }

    #[test]
    fn keeps_only_what_is_wanted() {
        let v: Value = sonic_rs::from_str(r#"{"a":{"b":"x","c":"y"},"d":"z"}"#).unwrap();
        let mut w = Wanted::default();
        w.add(&FieldPath::new("a.b"));
        let mut f = Flat::default();
        f.fill(&v, &w);
        assert!(f.has(FieldPath::new("a.b").hash()));
        assert!(!f.has(FieldPath::new("a.c").hash()));
        assert!(!f.has(FieldPath::new("d").hash()));
        assert_eq!(f.strings().count(), 0);
        w.strings = true;
        f.fill(&v, &w);
        assert_eq!(f.strings().collect::<Vec<_>>(), vec!["x", "y", "z"]);
    }
}
