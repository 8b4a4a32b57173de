//! An event as the compiled rules see it: Sigma field ids resolved through the
//! mapping to paths, with each field's values rendered and folded once per
//! event and kept in one reusable buffer (no allocation per field).

use std::cell::RefCell;
use std::fmt::Write as _;
use vigie_events::{FieldPath, JsonValueTrait, Value, path};
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

/// Per-thread memory for field values; reused across events.
#[derive(Default)]
pub struct FieldCache {
    generation: u32,
    slots: Vec<Slot>,
    vals: Vec<CachedVal>,
    text: String,
}

impl FieldCache {
    /// Forget every cached value (a new event, or a new routing of it).
    pub fn reset(&mut self, fields: usize) {
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

    fn push_scalar(&mut self, v: &Value) {
        let start = self.text.len() as u32;
        let kind = if let Some(s) = v.as_str() {
            self.text.push_str(s);
            Kind::Str
        } else if let Some(i) = v.as_i64() {
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
        } else if v.is_null() {
            Kind::Null
        } else {
            Kind::Composite
        };
        let end = self.text.len() as u32;
        let raw = &self.text[start as usize..end as usize];
        let needs_fold = if raw.is_ascii() {
            raw.bytes().any(|b| b.is_ascii_uppercase())
        } else {
            true
        };
        let folded = if needs_fold {
            let raw = raw.to_string();
            let fs = self.text.len() as u32;
            fold_into(&raw, &mut self.text);
            (fs, self.text.len() as u32)
        } else {
            (start, end)
        };
        self.vals.push(CachedVal { raw: (start, end), folded, kind });
    }

    fn resolve(&mut self, field: FieldId, paths: &[FieldPath], root: &Value) {
        let start = self.vals.len() as u32;
        let mut found = false;
        for p in paths {
            // Values are only reached when the path exists, so pushing them as
            // they come never mixes two paths.
            let (f, _) = p.visit(root, &mut |v| {
                self.push_scalar(v);
                false
            });
            if f {
                found = true;
                break;
            }
        }
        let slot = &mut self.slots[field.0 as usize];
        *slot = Slot { generation: self.generation, start, end: self.vals.len() as u32, found };
    }

    fn is_cached(&self, field: FieldId) -> bool {
        self.slots.get(field.0 as usize).is_some_and(|s| s.generation == self.generation)
    }

    fn visit(&self, field: FieldId, f: &mut dyn FnMut(&Val<'_>) -> bool) -> Option<bool> {
        let slot = self.slots[field.0 as usize];
        if !slot.found {
            return None;
        }
        for cv in &self.vals[slot.start as usize..slot.end as usize] {
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

/// One event seen through one log-source bucket's field paths.
pub struct EventView<'a> {
    pub root: &'a Value,
    pub paths: &'a [Option<Box<[FieldPath]>>],
    pub cache: &'a RefCell<FieldCache>,
}

impl EventView<'_> {
    fn paths_of(&self, field: FieldId) -> &[FieldPath] {
        self.paths.get(field.0 as usize).and_then(|p| p.as_deref()).unwrap_or(&[])
    }
}

impl Event for EventView<'_> {
    fn any_value(&self, field: FieldId, f: &mut dyn FnMut(&Val<'_>) -> bool) -> Option<bool> {
        if let Ok(mut c) = self.cache.try_borrow_mut() {
            if !c.is_cached(field) {
                c.resolve(field, self.paths_of(field), self.root);
            }
        } else if !self.cache.borrow().is_cached(field) {
            // A field reference evaluated while another field is being read:
            // resolve into a private cache rather than the shared one.
            let mut own = FieldCache::default();
            own.reset(field.0 as usize + 1);
            own.resolve(field, self.paths_of(field), self.root);
            return own.visit(field, f);
        }
        self.cache.borrow().visit(field, f)
    }

    fn any_text(&self, f: &mut dyn FnMut(&Val<'_>) -> bool) -> bool {
        let mut folded = String::new();
        path::any_string(self.root, &mut |s| {
            folded.clear();
            fold_into(s, &mut folded);
            f(&Val { raw: s, folded: &folded, kind: Kind::Str })
        })
    }
}
