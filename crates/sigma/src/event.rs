//! What a compiled rule needs from an event.
//!
//! The rule engine never sees JSON or EVTX: an adapter resolves a field id to
//! the event's values (already folded for case-insensitive matching, and cached
//! for the life of the event), so that decoding and matching stay independent.

/// A field name interned to a dense id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FieldId(pub u32);

/// Interns Sigma field names.
#[derive(Debug, Default, Clone)]
pub struct FieldTable {
    names: Vec<String>,
    ids: std::collections::HashMap<String, FieldId>,
}

impl FieldTable {
    pub fn intern(&mut self, name: &str) -> FieldId {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = FieldId(self.names.len() as u32);
        self.names.push(name.to_string());
        self.ids.insert(name.to_string(), id);
        id
    }
    pub fn get(&self, name: &str) -> Option<FieldId> {
        self.ids.get(name).copied()
    }
    pub fn name(&self, id: FieldId) -> &str {
        &self.names[id.0 as usize]
    }
    pub fn len(&self) -> usize {
        self.names.len()
    }
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
    pub fn iter(&self) -> impl Iterator<Item = (FieldId, &str)> {
        self.names.iter().enumerate().map(|(i, n)| (FieldId(i as u32), n.as_str()))
    }
}

/// The type of a scalar event value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    Str,
    Num(f64),
    Bool,
    Null,
    /// An object (or array of objects): present, but never equal to a value.
    Composite,
}

/// One scalar value of an event field. Numbers and booleans carry their
/// decimal/`true` text so that string patterns can match them too.
#[derive(Debug, Clone, Copy)]
pub struct Val<'a> {
    pub raw: &'a str,
    pub folded: &'a str,
    pub kind: Kind,
}

impl Val<'_> {
    pub fn is_null(&self) -> bool {
        self.kind == Kind::Null
    }
    /// A scalar that value tests can compare (not null, not an object).
    pub fn is_scalar(&self) -> bool {
        !matches!(self.kind, Kind::Null | Kind::Composite)
    }
    /// The value as a number: numbers as they are, strings if they parse.
    pub fn number(&self) -> Option<f64> {
        match self.kind {
            Kind::Num(n) => Some(n),
            Kind::Str => self.raw.trim().parse().ok(),
            _ => None,
        }
    }
}

/// Access to one event's fields.
pub trait Event {
    /// Calls `f` on each scalar of `field` (array elements one by one) until it
    /// returns true. `None` when the field is absent; otherwise whether `f`
    /// returned true for some value.
    fn any_value(&self, field: FieldId, f: &mut dyn FnMut(&Val<'_>) -> bool) -> Option<bool>;

    /// Calls `f` on every string leaf of the event (for keyword searches) until
    /// it returns true.
    fn any_text(&self, f: &mut dyn FnMut(&Val<'_>) -> bool) -> bool;

    /// The answer of a test whose result depends on the string `raw` alone
    /// (a regular expression, say). `key` tells tests apart for as long as
    /// the rules live; an engine may remember answers across events, as
    /// log values repeat. The default asks every time.
    fn remembered(&self, key: usize, raw: &str, test: &mut dyn FnMut() -> bool) -> bool {
        let _ = (key, raw);
        test()
    }
}
