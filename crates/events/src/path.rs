//! Dotted field paths over JSON trees.
//!
//! `user.name` must find both `{"user": {"name": ..}}` and `{"user.name": ..}`
//! (and mixtures such as `{"user": {"group.name": ..}}`), because shippers
//! flatten keys inconsistently. Rather than building joined keys, each object
//! entry is compared against the remaining path segments, so a lookup costs one
//! pass over the entries at each level and allocates nothing. A `*` segment
//! stands for any one key (`Event.UserData.*.Param`).

use sonic_rs::{JsonContainerTrait, JsonValueTrait, Value};

/// A pre-split dotted path.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FieldPath {
    segs: Vec<String>,
    dotted: String,
    /// The hash [`crate::flat::Flat`] files this path's values under.
    hash: u64,
}

impl FieldPath {
    pub fn new(dotted: &str) -> Self {
        let segs: Vec<String> = dotted.split('.').map(str::to_string).collect();
        let hash = crate::flat::prefix_hashes(&segs).last().copied().unwrap_or(crate::flat::ROOT);
        FieldPath { segs, dotted: dotted.to_string(), hash }
    }

    pub fn hash(&self) -> u64 {
        self.hash
    }

    pub fn segments(&self) -> &[String] {
        &self.segs
    }

    /// The hashes of the path's first 1, 2, ... segments.
    pub fn prefix_hashes(&self) -> Vec<u64> {
        crate::flat::prefix_hashes(&self.segs)
    }

    pub fn as_str(&self) -> &str {
        &self.dotted
    }

    /// Call `f` on every value this path reaches (arrays on the way are
    /// flattened) until it returns true. Returns (found, f returned true).
    pub fn visit<'v>(&self, root: &'v Value, f: &mut dyn FnMut(&'v Value) -> bool) -> (bool, bool) {
        let mut found = false;
        let hit = walk(root, &self.segs, &mut found, f);
        (found, hit)
    }

    /// The first value this path reaches.
    pub fn first<'v>(&self, root: &'v Value) -> Option<&'v Value> {
        let mut out = None;
        self.visit(root, &mut |v| {
            out = Some(v);
            true
        });
        out
    }
}

/// How many leading segments `key` spells, joined with dots. Most keys differ
/// from the segment at the first byte, so that is checked before comparing.
#[inline]
fn prefix_len(key: &str, segs: &[String]) -> Option<usize> {
    let key = key.as_bytes();
    let first = segs.first()?.as_bytes();
    if key.first() != first.first() {
        return None;
    }
    if key.len() == first.len() {
        return (key == first).then_some(1);
    }
    let mut rest = key;
    for (i, s) in segs.iter().enumerate() {
        let s = s.as_bytes();
        if rest.len() < s.len() || &rest[..s.len()] != s {
            return None;
        }
        rest = &rest[s.len()..];
        if rest.is_empty() {
            return Some(i + 1);
        }
        if rest[0] != b'.' {
            return None;
        }
        rest = &rest[1..];
    }
    None
}

fn walk<'v>(node: &'v Value, segs: &[String], found: &mut bool, f: &mut dyn FnMut(&'v Value) -> bool) -> bool {
    if segs.is_empty() {
        *found = true;
        if let Some(arr) = node.as_array() {
            return arr.iter().any(&mut *f);
        }
        return f(node);
    }
    if let Some(obj) = node.as_object() {
        if segs[0] == "*" {
            return obj.iter().any(|(_, v)| walk(v, &segs[1..], found, f));
        }
        for (k, v) in obj.iter() {
            if let Some(n) = prefix_len(k, segs)
                && walk(v, &segs[n..], found, f)
            {
                return true;
            }
        }
        false
    } else if let Some(arr) = node.as_array() {
        arr.iter().any(|v| walk(v, segs, found, f))
    } else {
        false
    }
}

/// A scalar as the text Sigma compares: strings as they are, numbers in
/// decimal, booleans as `true`/`false`; `None` for null, objects and arrays.
pub fn scalar_text(v: &Value) -> Option<std::borrow::Cow<'_, str>> {
    if let Some(s) = v.as_str() {
        return Some(std::borrow::Cow::Borrowed(s));
    }
    if v.is_number() || v.is_boolean() {
        return Some(std::borrow::Cow::Owned(v.to_string()));
    }
    None
}

/// Call `f` on every string leaf of a tree until it returns true.
pub fn any_string<'v>(node: &'v Value, f: &mut dyn FnMut(&'v str) -> bool) -> bool {
    if let Some(s) = node.as_str() {
        return f(s);
    }
    if let Some(obj) = node.as_object() {
        return obj.iter().any(|(_, v)| any_string(v, f));
    }
    if let Some(arr) = node.as_array() {
        return arr.iter().any(|v| any_string(v, f));
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(path: &str, json: &str) -> Vec<String> {
        let v: Value = sonic_rs::from_str(json).unwrap();
        let mut out = Vec::new();
        FieldPath::new(path).visit(&v, &mut |x| {
            out.push(x.to_string());
            false
        });
        out
    }

    #[test]
    fn dotted_and_nested_are_the_same_field() {
        assert_eq!(all("user.name", r#"{"user":{"name":"a"}}"#), vec![r#""a""#]);
        assert_eq!(all("user.name", r#"{"user.name":"a"}"#), vec![r#""a""#]);
        assert_eq!(all("user.group.name", r#"{"user":{"group.name":"g"}}"#), vec![r#""g""#]);
        assert_eq!(all("user.name", r#"{"username":"a","user":{"names":"b"}}"#), Vec::<String>::new());
    }

    #[test]
    fn star_segment_matches_any_key() {
        assert_eq!(all("Event.UserData.*.User", r#"{"Event":{"UserData":{"LogonEv":{"User":"u"}}}}"#), vec![r#""u""#]);
    }

    #[test]
    fn arrays_flatten() {
        assert_eq!(all("event.category", r#"{"event":{"category":["a","b"]}}"#), vec![r#""a""#, r#""b""#]);
        assert_eq!(all("a.b", r#"{"a":[{"b":1},{"b":2}]}"#), vec!["1", "2"]);
    }

    #[test]
    fn found_reports_presence_of_null() {
        let v: Value = sonic_rs::from_str(r#"{"a":null}"#).unwrap();
        let (found, _) = FieldPath::new("a").visit(&v, &mut |_| false);
        assert!(found);
        let (found, _) = FieldPath::new("b").visit(&v, &mut |_| false);
        assert!(!found);
    }
}
