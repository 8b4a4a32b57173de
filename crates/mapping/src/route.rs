//! Routing an event to its log-source entries without trying each one.
//!
//! Windows alone has about ninety entries, all keyed on the channel and often
//! the EventID. Entries whose conditions are exact values are grouped by the
//! fields they test, and each group answers with one hash lookup on the
//! event's values; only entries with wildcards or `exists` are tried in turn.

use crate::cond::{Check, Cond, values};
use crate::mapping::Entry;
use rustc_hash::FxHashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use vigie_events::{FieldPath, Flat};
use vigie_sigma::fold::fold_into;

#[derive(Debug, Clone, Default)]
struct Group {
    /// The paths of each tested field, in a fixed order.
    fields: Vec<Vec<FieldPath>>,
    /// Folded values, joined by \u{1f}, to the entries they select.
    index: FxHashMap<String, Vec<usize>>,
    /// For each k, the keys' first k values joined: a lookup stops as soon
    /// as the event's first values select nothing, before reading (often
    /// absent) later fields such as Sysmon's `EventType`.
    prefixes: Vec<rustc_hash::FxHashSet<String>>,
}

#[derive(Debug, Clone, Default)]
pub struct Router {
    groups: Vec<Group>,
    /// Entries that must be checked one by one (and entries with no condition).
    scan: Vec<usize>,
    /// Every path a routing condition reads: an event's entries depend on
    /// the values at these paths and on nothing else, so they are
    /// remembered by those values (see [`RouteScratch`]).
    paths: Vec<FieldPath>,
    /// Tells routers apart in a thread's memo (clones route alike and may
    /// share it).
    id: u64,
}

/// Numbers the routers built in this process.
static ROUTERS: AtomicU64 = AtomicU64::new(1);

/// Routing keys longer than this are not remembered (a routing field that
/// holds a long text: such values rarely repeat).
const MAX_ROUTE_KEY: usize = 512;

/// Routing results a thread keeps before it starts again. Routing values
/// are few (a Windows event is routed by its channel, EventID and Sysmon
/// `EventType`), so this bound is only met by unusual routing fields.
const MAX_ROUTE_MEMO: usize = 4096;

const SEP: char = '\u{1f}';

fn exact_set(set: &[Cond]) -> Option<Vec<(&[FieldPath], &[String])>> {
    set.iter()
        .map(|c| match &c.check {
            Check::AnyOf { exact: Some(vals), .. } => Some((c.paths.as_slice(), vals.as_slice())),
            _ => None,
        })
        .collect()
}

impl Router {
    pub fn new(entries: &[Entry]) -> Router {
        let mut r = Router { id: ROUTERS.fetch_add(1, Ordering::Relaxed), ..Router::default() };
        for c in entries.iter().flat_map(|e| e.when.iter().flatten()) {
            for p in &c.paths {
                if !r.paths.iter().any(|q| q.hash() == p.hash()) {
                    r.paths.push(p.clone());
                }
            }
        }
        for (i, e) in entries.iter().enumerate() {
            if e.when.is_empty() {
                r.scan.push(i);
                continue;
            }
            for set in &e.when {
                let Some(mut conds) = exact_set(set) else {
                    if !r.scan.contains(&i) {
                        r.scan.push(i);
                    }
                    continue;
                };
                conds.sort_by(|a, b| a.0.iter().map(FieldPath::as_str).cmp(b.0.iter().map(FieldPath::as_str)));
                let fields: Vec<Vec<FieldPath>> = conds.iter().map(|(p, _)| p.to_vec()).collect();
                let g = match r.groups.iter().position(|g| g.fields == fields) {
                    Some(g) => g,
                    None => {
                        let n = fields.len();
                        r.groups.push(Group {
                            fields,
                            index: FxHashMap::default(),
                            prefixes: vec![Default::default(); n.saturating_sub(1)],
                        });
                        r.groups.len() - 1
                    }
                };
                // Every combination of allowed values is a key.
                let mut keys = vec![String::new()];
                for (k, (_, vals)) in conds.iter().enumerate() {
                    keys = keys
                        .iter()
                        .flat_map(|prefix| {
                            vals.iter().map(move |v| if k == 0 { v.clone() } else { format!("{prefix}{SEP}{v}") })
                        })
                        .collect();
                }
                for key in keys {
                    let parts: Vec<&str> = key.split(SEP).collect();
                    for k in 1..parts.len() {
                        r.groups[g].prefixes[k - 1].insert(parts[..k].join(&SEP.to_string()));
                    }
                    let list = r.groups[g].index.entry(key).or_default();
                    if !list.contains(&i) {
                        list.push(i);
                    }
                }
            }
        }
        r
    }

    /// (groups, fields per group, entries checked one by one), for tests.
    #[cfg(test)]
    pub(crate) fn shape(&self) -> (usize, Vec<usize>, usize) {
        (self.groups.len(), self.groups.iter().map(|g| g.fields.len()).collect(), self.scan.len())
    }

    /// The entries `ev` belongs to, in `out` (sorted). Answered from the
    /// thread's memo when an earlier event had the same values at every
    /// routing path.
    pub fn route(&self, entries: &[Entry], ev: &Flat, out: &mut Vec<usize>, memo: &mut RouteScratch) {
        let mut key = std::mem::take(&mut memo.route_key);
        let keep = self.route_key(ev, &mut key);
        if keep && let Some(known) = memo.routes.get(&key) {
            out.clear();
            out.extend_from_slice(known);
            memo.route_key = key;
            return;
        }
        self.route_afresh(entries, ev, out, memo);
        if keep {
            if memo.routes.len() >= MAX_ROUTE_MEMO {
                memo.routes.clear();
            }
            memo.routes.insert(key.clone(), out.as_slice().into());
        }
        memo.route_key = key;
    }

    /// What routing can see of `ev`: this router's id, then for each
    /// routing path every value there ([`vigie_events::flat::Kind::push_key`]) and an end
    /// marker. Equal keys mean equal conditions' answers: conditions read
    /// only these paths, a number's text renders its value, and an empty
    /// array or an object is present with no text. False when too long to
    /// remember.
    fn route_key(&self, ev: &Flat, key: &mut Vec<u8>) -> bool {
        key.clear();
        key.extend_from_slice(&self.id.to_le_bytes());
        for p in &self.paths {
            for leaf in ev.values(p.hash()) {
                let text = ev.leaf_text(leaf);
                if key.len() + 3 + text.len() > MAX_ROUTE_KEY {
                    return false;
                }
                leaf.kind.push_key(text, key);
            }
            key.push(0xFF);
        }
        true
    }

    fn route_afresh(&self, entries: &[Entry], ev: &Flat, out: &mut Vec<usize>, memo: &mut RouteScratch) {
        out.clear();
        memo.seen.clear();
        memo.text.clear();
        let mut key = std::mem::take(&mut memo.key);
        for g in &self.groups {
            match single_key(g, ev, &mut key, memo) {
                Some(true) => {
                    if let Some(list) = g.index.get(&key) {
                        for &i in list {
                            if !out.contains(&i) {
                                out.push(i);
                            }
                        }
                    }
                }
                Some(false) => self.route_multi(g, ev, out),
                None => {}
            }
        }
        memo.key = key;
        for &i in &self.scan {
            let e = &entries[i];
            if !out.contains(&i) && (e.when.is_empty() || e.when.iter().any(|set| set.iter().all(|c| c.holds(ev)))) {
                out.push(i);
            }
        }
        out.sort_unstable();
    }

    /// The general case: some routing field holds several values (an array),
    /// so every combination is a key.
    fn route_multi(&self, g: &Group, ev: &Flat, out: &mut Vec<usize>) {
        let mut vals: Vec<String> = Vec::new();
        let mut keys = vec![String::new()];
        for (k, paths) in g.fields.iter().enumerate() {
            values(paths, ev, &mut vals);
            if vals.is_empty() {
                return;
            }
            keys = keys
                .iter()
                .flat_map(|prefix| {
                    vals.iter().map(move |v| if k == 0 { v.clone() } else { format!("{prefix}{SEP}{v}") })
                })
                .collect();
        }
        for key in &keys {
            if let Some(list) = g.index.get(key) {
                for &i in list {
                    if !out.contains(&i) {
                        out.push(i);
                    }
                }
            }
        }
    }
}

/// The values of routing fields already read for this event (several groups
/// test the same field: every Windows group tests the channel), in buffers
/// kept from event to event.
#[derive(Debug, Default)]
pub struct RouteScratch {
    /// (hash of the field's first path, number of scalars (capped at 2),
    /// range of the folded first scalar in `text`)
    seen: Vec<(u64, u8, usize, usize)>,
    text: String,
    key: String,
    /// Entries of the routing keys met so far (see [`Router::route`]).
    pub(crate) routes: FxHashMap<Vec<u8>, Box<[usize]>>,
    route_key: Vec<u8>,
}

/// Build the lookup key when each routing field has exactly one scalar (the
/// usual case) without allocating per value. `Some(false)`: some field has
/// several values; `None`: some field is missing, or the values read so far
/// select no entry.
fn single_key(g: &Group, ev: &Flat, key: &mut String, memo: &mut RouteScratch) -> Option<bool> {
    key.clear();
    for (k, paths) in g.fields.iter().enumerate() {
        if k > 0 {
            if !g.prefixes[k - 1].contains(key.as_str()) {
                return None;
            }
            key.push(SEP);
        }
        let id = paths.first().map_or(0, FieldPath::hash);
        let (n, start, end) = match memo.seen.iter().find(|(p, ..)| *p == id) {
            Some(&(_, n, start, end)) => (n, start, end),
            None => {
                let start = memo.text.len();
                let mut n = 0u8;
                for p in paths {
                    ev.visit(p, &mut |v, text| {
                        if v.kind.is_scalar() {
                            n += 1;
                            if n == 1 {
                                fold_into(text, &mut memo.text);
                            }
                        }
                        n > 1
                    });
                    if n > 0 {
                        break;
                    }
                }
                let end = memo.text.len();
                memo.seen.push((id, n, start, end));
                (n, start, end)
            }
        };
        match n {
            0 => return None,
            1 => key.push_str(&memo.text[start..end]),
            _ => return Some(false),
        }
    }
    Some(true)
}
