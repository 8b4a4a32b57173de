//! An event as the compiled rules see it: Sigma field ids resolved through the
//! mapping to paths, with each field's values rendered and folded once per
//! event and kept in one reusable buffer (no allocation per field).

use crate::memo::ScanMemo;
use std::cell::RefCell;
use vigie_events::FieldPath;
use vigie_events::flat::{self, Flat, Leaf};
use vigie_sigma::fold::fold_into;
use vigie_sigma::{Event, FieldId, Kind, Val};

#[derive(Clone, Copy, Default)]
struct Slot {
    generation: u32,
    start: u32,
    end: u32,
    found: bool,
}

#[derive(Clone, Copy)]
struct CachedVal {
    raw: (u32, u32),
    folded: (u32, u32),
    kind: Kind,
}

/// Per-thread memory for field values; reused across events. Slots are
/// indexed by *path list* (not by Sigma field), so that two log-source buckets
/// reading the same place in an event share one rendering of it.
#[derive(Default)]
pub struct FieldCache {
    generation: u32,
    slots: Vec<Slot>,
    vals: Vec<CachedVal>,
    text: String,
    /// Every string leaf of the event, for keyword searches, once per event.
    texts: Option<(u32, u32)>,
}

impl FieldCache {
    /// Forget every cached value: a new event.
    pub fn reset(&mut self, fields: usize) {
        self.texts = None;
        self.generation = self.generation.wrapping_add(1);
        if self.generation == 0 {
            self.slots.iter_mut().for_each(|s| s.generation = 0);
            self.generation = 1;
        }
        if self.slots.len() < fields {
            self.slots.resize(fields, Slot::default());
        }
        self.vals.clear();
        self.text.clear();
    }

    fn push_leaf(&mut self, v: &Leaf, text: &str) {
        let kind = match v.kind {
            flat::Kind::Str => return self.push_str(text),
            flat::Kind::Num(n) => Kind::Num(n),
            flat::Kind::Bool => Kind::Bool,
            flat::Kind::Null => Kind::Null,
            flat::Kind::Composite | flat::Kind::Empty => Kind::Composite,
        };
        let start = self.text.len() as u32;
        self.text.push_str(text);
        let end = self.text.len() as u32;
        // Rendered numbers and booleans are already lowercase ASCII.
        self.vals.push(CachedVal { raw: (start, end), folded: (start, end), kind });
    }

    /// Keep a string and its folded form (the same bytes when nothing folds).
    fn push_str(&mut self, s: &str) {
        let start = self.text.len();
        self.text.push_str(s);
        let end = self.text.len();
        let folded = if !s.is_ascii() {
            fold_into(s, &mut self.text);
            (end, self.text.len())
        } else if s.bytes().any(|b| b.is_ascii_uppercase()) {
            self.text.push_str(s);
            self.text[end..].make_ascii_lowercase();
            (end, self.text.len())
        } else {
            (start, end)
        };
        self.vals.push(CachedVal {
            raw: (start as u32, end as u32),
            folded: (folded.0 as u32, folded.1 as u32),
            kind: Kind::Str,
        });
    }

    fn resolve(&mut self, slot: usize, paths: &[FieldPath], root: &Flat) {
        let start = self.vals.len() as u32;
        let found = first_present(root, paths, |v, text| self.push_leaf(v, text));
        self.slots[slot] = Slot { generation: self.generation, start, end: self.vals.len() as u32, found };
    }

    fn is_cached(&self, slot: usize) -> bool {
        self.slots.get(slot).is_some_and(|s| s.generation == self.generation)
    }

    fn visit(&self, slot: usize, f: &mut dyn FnMut(&Val<'_>) -> bool) -> Option<bool> {
        let slot = self.slots[slot];
        if !slot.found {
            return None;
        }
        self.visit_range(slot.start, slot.end, f)
    }

    fn visit_range(&self, start: u32, end: u32, f: &mut dyn FnMut(&Val<'_>) -> bool) -> Option<bool> {
        for cv in &self.vals[start as usize..end as usize] {
            let v = Val {
                raw: &self.text[cv.raw.0 as usize..cv.raw.1 as usize],
                folded: &self.text[cv.folded.0 as usize..cv.folded.1 as usize],
                kind: cv.kind,
            };
            if f(&v) {
                return Some(true);
            }
        }
        Some(false)
    }
}

/// Call `f` on every value of the first of `paths` the event has (a Sigma
/// field is read at the first of its mapped places that exists); whether
/// one existed. Values are only reached when their path exists, so they
/// never mix two paths.
///
/// Generic and inlined rather than through [`Flat::visit`]'s `dyn`
/// callback: the field scans call it about twenty times per event, and two
/// indirect calls per value cost more than the look-up itself.
#[inline(always)]
pub(crate) fn first_present(root: &Flat, paths: &[FieldPath], mut f: impl FnMut(&Leaf, &str)) -> bool {
    for p in paths {
        let mut found = false;
        for leaf in root.values(p.hash()) {
            found = true;
            if leaf.kind != flat::Kind::Empty {
                f(leaf, root.leaf_text(leaf));
            }
        }
        if found {
            return true;
        }
    }
    false
}

/// Append to `key` every value of the first of `paths` the event has, with
/// its kind, and whether there was one: what a rule reading this field can
/// see of it. Each value is a record ([`flat::Kind::push_key`]) and the field
/// ends with a marker no kind uses, so distinct values give distinct keys.
/// False once `key` is longer than `max` (then it is not worth keeping).
pub(crate) fn push_values(root: &Flat, paths: &[FieldPath], key: &mut Vec<u8>, max: usize) -> bool {
    let mut fits = true;
    let found = first_present(root, paths, |leaf, text| {
        fits &= key.len() + 3 + text.len() <= max;
        if fits {
            leaf.kind.push_key(text, key);
        }
    });
    key.push(if found { 0xFF } else { 0xFE });
    fits && key.len() <= max
}

/// One event seen through one log-source bucket's field paths.
pub struct EventView<'a> {
    pub root: &'a Flat,
    /// Path-list id of each Sigma field id for this bucket.
    pub fields: &'a [Option<u32>],
    /// The shape's path lists.
    pub lists: &'a [Box<[FieldPath]>],
    pub cache: &'a RefCell<FieldCache>,
    /// Answers of value tests remembered across events.
    pub tests: &'a RefCell<ScanMemo>,
}

impl Event for EventView<'_> {
    fn any_value(&self, field: FieldId, f: &mut dyn FnMut(&Val<'_>) -> bool) -> Option<bool> {
        let list = (*self.fields.get(field.0 as usize)?)? as usize;
        if let Ok(mut c) = self.cache.try_borrow_mut() {
            if !c.is_cached(list) {
                c.resolve(list, &self.lists[list], self.root);
            }
        } else if !self.cache.borrow().is_cached(list) {
            // A field reference evaluated while another field is being read:
            // resolve into a private cache rather than the shared one.
            let mut own = FieldCache::default();
            own.reset(list + 1);
            own.resolve(list, &self.lists[list], self.root);
            return own.visit(list, f);
        }
        self.cache.borrow().visit(list, f)
    }

    fn remembered(&self, key: usize, raw: &str, test: &mut dyn FnMut() -> bool) -> bool {
        // Leaf addresses, with the top bit set (never a user-space address
        // bit) so that they never name an automaton.
        match self.tests.try_borrow_mut() {
            Ok(mut m) => m.check(key >> 4, key as u64 | 1 << 63, raw.as_bytes(), test),
            Err(_) => test(),
        }
    }

    fn any_text(&self, f: &mut dyn FnMut(&Val<'_>) -> bool) -> bool {
        if let Ok(mut c) = self.cache.try_borrow_mut()
            && c.texts.is_none()
        {
            let start = c.vals.len() as u32;
            self.root.strings().for_each(|s| c.push_str(s));
            let end = c.vals.len() as u32;
            c.texts = Some((start, end));
        }
        let c = self.cache.borrow();
        match c.texts {
            Some((start, end)) => c.visit_range(start, end, f).unwrap_or(false),
            None => {
                let mut folded = String::new();
                self.root.strings().any(|s| {
                    folded.clear();
                    fold_into(s, &mut folded);
                    f(&Val { raw: s, folded: &folded, kind: Kind::Str })
                })
            }
        }
    }
}
