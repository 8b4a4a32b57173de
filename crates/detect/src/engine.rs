//! The detection engine: rule buckets per log source, shared automata per
//! field, and evaluation of the few rules whose literals an event contains.

use crate::literals::{Gate, Literals};
use crate::memo::{MAX_KEY, ScanMemo};
use crate::view::{EventView, FieldCache, first_present, push_values};
use rustc_hash::FxHashMap;
use std::cell::RefCell;
use std::sync::atomic::{AtomicU64, Ordering};
use vigie_events::flat::Rejected;
use vigie_events::{FieldPath, Flat, Value, Wanted};
use vigie_mapping::{Mapping, RouteScratch};
use vigie_sigma::fold::fold_into;
use vigie_sigma::prefilter::needs;
use vigie_sigma::{FieldId, RuleSet};

/// One field's automaton: every required literal of the bucket's rules on
/// that field, and which rules each literal unlocks.
struct Scan {
    field: Option<FieldId>,
    /// The shape's automaton for this field's literals; buckets whose rules
    /// need the same literals on the same paths share it, and it runs at most
    /// once per event.
    automaton: u32,
    /// Pattern id to the bucket-local rules it unlocks.
    targets: Targets,
}

/// What each pattern of a scan unlocks, as one array cut by pattern: every
/// event walks the targets of the literals it holds, and one contiguous
/// array with each rule's masks inside costs that walk far fewer cache
/// misses than a list per pattern plus a look-up per rule.
#[derive(Default)]
struct Targets {
    /// Pattern id to its first target; the last entry ends the array.
    starts: Box<[u32]>,
    list: Box<[Target]>,
}

#[derive(Clone, Copy)]
struct Target {
    /// Bucket-local rule index.
    rule: u32,
    /// The bits of all the rule's requirement groups.
    full: u8,
    /// The bit of the requirement group the pattern belongs to.
    bit: u8,
}

impl Targets {
    /// From (local rule, group bit) lists per pattern, with each local
    /// rule's full mask.
    fn new(per_pattern: &[Vec<(u32, u8)>], full: &[u8]) -> Targets {
        let mut starts = Vec::with_capacity(per_pattern.len() + 1);
        let mut list = Vec::new();
        for targets in per_pattern {
            starts.push(list.len() as u32);
            list.extend(targets.iter().map(|&(rule, bit)| Target { rule, full: full[rule as usize], bit }));
        }
        starts.push(list.len() as u32);
        Targets { starts: starts.into_boxed_slice(), list: list.into_boxed_slice() }
    }

    #[inline]
    fn of(&self, pattern: u32) -> &[Target] {
        let p = pattern as usize;
        match (self.starts.get(p), self.starts.get(p + 1)) {
            (Some(&a), Some(&z)) => &self.list[a as usize..z as usize],
            _ => &[],
        }
    }

    /// Back to one list per pattern (to renumber the patterns).
    fn lists(&self) -> Vec<Vec<(u32, u8)>> {
        (0..self.starts.len().saturating_sub(1) as u32)
            .map(|p| self.of(p).iter().map(|t| (t.rule, t.bit)).collect())
            .collect()
    }
}

/// The rules that apply to one log source of one mapping.
struct Bucket {
    /// Global rule indices.
    rules: Vec<u32>,
    /// Where each Sigma field lives for this log source: field id to the
    /// shape's path-list id.
    fields: Vec<Option<u32>>,
    scans: Vec<Scan>,
    /// Local indices of rules with no required literal: always evaluated.
    always: Vec<u32>,
    /// Per local rule: the bits of all its requirement groups.
    full: Vec<u8>,
    /// The bucket's keyword literals, as indices in its shape's
    /// [`Shape::keywords`] (empty: the bucket searches no keyword).
    keywords: Box<[u32]>,
    /// Where the bucket's rules start in a scratch's candidate marks: each
    /// bucket has its own contiguous run of them.
    base: u32,
}

struct Shape {
    mapping: Mapping,
    buckets: Vec<Option<Bucket>>,
    /// Distinct path lists of all buckets; the per-event cache is indexed by these.
    lists: Vec<Box<[FieldPath]>>,
    automata: Vec<Literals>,
    /// Engine-wide number of this shape's first automaton, so that one
    /// thread's [`ScanMemo`] can serve every shape.
    first_automaton: u32,
    /// Every keyword literal of the shape's buckets (sorted): the literals
    /// of its one keyword automaton.
    keywords: Vec<String>,
}

/// A rule that matched an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Hit {
    pub rule: u32,
    pub shape: usize,
    pub entry: usize,
}

/// Statistics of the compiled engine, for `rules check` and benchmarks.
#[derive(Debug, Clone, Default)]
pub struct EngineStats {
    pub buckets: usize,
    pub literals: usize,
    pub always_evaluated: usize,
    /// Heap used by the literal automata.
    pub automaton_bytes: usize,
    /// Paths (and path prefixes) an event is flattened to.
    pub wanted_paths: usize,
    /// Rules whose log source no loaded mapping can route to.
    pub unroutable: Vec<u32>,
}

/// The compiled rule set, ready to match events from any thread.
pub struct Engine {
    pub set: RuleSet,
    shapes: Vec<Shape>,
    /// With a user mapping, every event is read with it; otherwise the shape
    /// of each event picks the mapping.
    forced: bool,
    /// Every path that shape recognition, routing or a rule can read: an
    /// event is flattened to these once, and read from the flat copy.
    wanted: Wanted,
    pub stats: EngineStats,
    /// Per rule: the fields it reads, when its verdict depends on their
    /// values alone (no keyword search), so that it can be remembered.
    reads: Vec<Option<Box<[FieldId]>>>,
    /// Candidate marks a scratch needs: the rules of all buckets.
    marks: usize,
    /// Unique per engine built in this process: a [`Scratch`] remembers
    /// scan results by automaton number, which only mean something for
    /// the engine that made it.
    id: u64,
}

/// Numbers the engines of this process (a reload builds a new one).
static ENGINES: AtomicU64 = AtomicU64::new(0);

/// Per-thread working memory.
pub struct Scratch {
    /// The engine this scratch was made for.
    engine: u64,
    flat: Flat,
    route_scratch: RouteScratch,
    cache: RefCell<FieldCache>,
    /// Per rule of each bucket (from [`Bucket::base`]): the bucket run it
    /// was last marked in (high 24 bits) and the requirement groups seen
    /// then (low 8 bits).
    marks: Vec<u32>,
    /// Numbers each bucket run (24 bits, never 0), so that a mark from an
    /// earlier run (of this event's other buckets, or of an earlier event)
    /// reads as empty without being cleared.
    run: u32,
    fired_stamp: Vec<u32>,
    generation: u32,
    cand: Vec<u32>,
    routes: Vec<usize>,
    /// Per automaton: the event generation it last ran for, and where the
    /// pattern ids it found then are in `found_ids`. Twelve bytes each, so
    /// that the dozen automata an event asks about cost few cache lines.
    found: Vec<(u32, u32, u32)>,
    /// The pattern ids the automata found in this event, one run each.
    found_ids: Vec<u32>,
    /// One string of the event folded, for the keyword scan.
    lower: String,
    /// Scan results of values seen in earlier events.
    pub memo: ScanMemo,
    /// Regex answers for values seen in earlier events.
    tests: RefCell<ScanMemo>,
    /// Rule verdicts for the values they read, seen in earlier events.
    pub verdicts: ScanMemo,
    /// The key of one rule's verdict, being built.
    key: Vec<u8>,
    /// The keyword gate of each set of keyword-searching buckets met so
    /// far, by shape and entries (see [`Engine::keyword_gate`]).
    gates: FxHashMap<Box<[u32]>, u32>,
    gate_list: Vec<Gate>,
    gate_key: Vec<u32>,
    /// The current event's keyword gate, in `gate_list`.
    gate: u32,
    /// Candidate rules so far (for benchmarks): the rules whose literals an
    /// event held, plus those with none; each was evaluated or answered
    /// from [`Scratch::verdicts`].
    pub evaluated: u64,
}

impl Engine {
    /// Compile `set` against `mappings`. With `forced`, `mappings` must hold
    /// exactly the user's mapping.
    pub fn new(set: RuleSet, mappings: Vec<Mapping>, forced: bool) -> Engine {
        let mut stats = EngineStats::default();
        let mut routed = vec![false; set.rules.len()];
        let mut shapes: Vec<Shape> = mappings
            .into_iter()
            .map(|mapping| {
                let mut lists = PathLists::default();
                let mut automata = Automata::default();
                let mut buckets: Vec<Option<Bucket>> = (0..mapping.entries.len())
                    .map(|e| {
                        let b = build_bucket(&set, &mapping, e, &mut lists, &mut automata, &mut stats)?;
                        b.rules.iter().for_each(|&r| routed[r as usize] = true);
                        Some(b)
                    })
                    .collect();
                let keywords = share_keywords(&mut buckets, &mut automata);
                stats.automaton_bytes += automata.list.iter().map(Literals::memory).sum::<usize>();
                Shape { mapping, buckets, lists: lists.lists, automata: automata.list, first_automaton: 0, keywords }
            })
            .collect();
        let mut marks = 0u32;
        for b in shapes.iter_mut().flat_map(|sh| sh.buckets.iter_mut().flatten()) {
            b.base = marks;
            marks += b.rules.len() as u32;
        }
        let mut first = 0u32;
        for sh in &mut shapes {
            sh.first_automaton = first;
            first += sh.automata.len() as u32;
        }
        stats.unroutable = (0..set.rules.len() as u32).filter(|&r| !routed[r as usize]).collect();
        let wanted = wanted(&set, &shapes);
        stats.wanted_paths = wanted.len();
        let reads = set.rules.iter().map(|r| reads(&r.expr)).collect();
        Engine {
            set,
            shapes,
            forced,
            wanted,
            stats,
            reads,
            marks: marks as usize,
            id: ENGINES.fetch_add(1, Ordering::Relaxed),
        }
    }

    pub fn scratch(&self) -> Scratch {
        let n = self.set.rules.len();
        Scratch {
            engine: self.id,
            flat: Flat::default(),
            route_scratch: RouteScratch::default(),
            cache: RefCell::new(FieldCache::default()),
            marks: vec![0; self.marks],
            fired_stamp: vec![0; n],
            generation: 0,
            run: 0,
            cand: Vec::new(),
            routes: Vec::new(),
            found: vec![(0, 0, 0); self.shapes.iter().map(|s| s.automata.len()).max().unwrap_or(0)],
            found_ids: Vec::new(),
            lower: String::new(),
            memo: ScanMemo::default(),
            tests: RefCell::new(ScanMemo::default()),
            verdicts: ScanMemo::default(),
            key: Vec::new(),
            gates: FxHashMap::default(),
            gate_list: Vec::new(),
            gate_key: Vec::new(),
            gate: 0,
            evaluated: 0,
        }
    }

    pub fn mapping(&self, shape: usize) -> &Mapping {
        &self.shapes[shape].mapping
    }

    /// The fields the loaded mappings mark as personal (`personal:`).
    pub fn personal_fields(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for f in self.shapes.iter().flat_map(|s| s.mapping.personal.iter()) {
            if !out.contains(f) {
                out.push(f.clone());
            }
        }
        out
    }

    /// Which mapping reads this (flattened) event; `None` when no shape is
    /// recognised.
    fn shape_of(&self, ev: &Flat) -> Option<usize> {
        if self.forced {
            return Some(0);
        }
        self.shapes.iter().position(|sh| sh.mapping.detects(ev))
    }

    /// Recognise the event's shape and route it to its log-source buckets,
    /// without matching: the first stages of [`Engine::detect`], timed on
    /// their own by `vigie bench --stages`. Returns the number of buckets.
    pub fn route_only(&self, json: &[u8], s: &mut Scratch) -> Option<usize> {
        s.flat.fill_json(json, &self.wanted).ok()?;
        let sh = &self.shapes[self.shape_of(&s.flat)?];
        sh.mapping.route(&s.flat, &mut s.routes, &mut s.route_scratch);
        Some(s.routes.len())
    }

    /// Match one event. Returns the shape it was read as (None: unrecognised,
    /// and no rule could apply).
    pub fn detect(&self, ev: &Value, s: &mut Scratch, out: &mut Vec<Hit>) -> Option<usize> {
        let mut flat = std::mem::take(&mut s.flat);
        flat.fill(ev, &self.wanted);
        let shape = self.detect_flat(&flat, s, out);
        s.flat = flat;
        shape
    }

    /// Match one JSON document straight from its text, without building
    /// its tree (see [`Flat::fill_json`]). `Err` when the fast decoder does
    /// not take the text: decode it with sonic-rs and call [`Engine::detect`],
    /// which also reports what is wrong with it.
    pub fn detect_json(&self, json: &[u8], s: &mut Scratch, out: &mut Vec<Hit>) -> Result<Option<usize>, Rejected> {
        let mut flat = std::mem::take(&mut s.flat);
        let r = flat.fill_json(json, &self.wanted).map(|()| self.detect_flat(&flat, s, out));
        s.flat = flat;
        r
    }

    fn detect_flat(&self, ev: &Flat, s: &mut Scratch, out: &mut Vec<Hit>) -> Option<usize> {
        if s.engine != self.id {
            // Another engine's scratch (a caller that kept it across a rule
            // reload): its memo and per-rule marks would be wrong here.
            let flat = std::mem::take(&mut s.flat);
            *s = self.scratch();
            s.flat = flat;
        }
        let shape = self.shape_of(ev)?;
        let sh = &self.shapes[shape];
        let mut routes = std::mem::take(&mut s.routes);
        sh.mapping.route(ev, &mut routes, &mut s.route_scratch);
        s.gate = Self::keyword_gate(shape, sh, &routes, s);
        s.cache.borrow_mut().reset(sh.lists.len());
        s.generation = s.generation.wrapping_add(1);
        if s.generation == 0 {
            s.fired_stamp.iter_mut().for_each(|x| *x = 0);
            s.found.iter_mut().for_each(|f| f.0 = 0);
            s.generation = 1;
        }
        s.found_ids.clear();
        for &entry in &routes {
            let Some(b) = &sh.buckets[entry] else {
                continue;
            };
            self.run_bucket(b, sh, ev, s, |rule| out.push(Hit { rule, shape, entry }));
        }
        s.routes = routes;
        Some(shape)
    }

    /// The gate of the keyword searches an event meets. The shape's one
    /// keyword automaton holds every bucket's keywords (131 for Windows,
    /// from web shells to Exchange), but a Sysmon event meets only the few
    /// of its own buckets (Mimikatz's): a gate built from all 131 let half
    /// of a Sysmon event's strings through to the memo and the automaton,
    /// one built from the event's buckets turns most of them away. Gates
    /// are built on first use, per thread, for each set of buckets.
    fn keyword_gate(shape: usize, sh: &Shape, routes: &[usize], s: &mut Scratch) -> u32 {
        let with_keywords = |e: &usize| sh.buckets[*e].as_ref().is_some_and(|b| !b.keywords.is_empty());
        s.gate_key.clear();
        s.gate_key.push(shape as u32);
        s.gate_key.extend(routes.iter().filter(|e| with_keywords(e)).map(|&e| e as u32));
        if s.gate_key.len() == 1 {
            // No keyword search: the gate is never asked.
            return u32::MAX;
        }
        if let Some(&g) = s.gates.get(&s.gate_key[..]) {
            return g;
        }
        if s.gate_list.len() >= MAX_GATES {
            s.gates.clear();
            s.gate_list.clear();
        }
        let mut ids: Vec<u32> = s.gate_key[1..]
            .iter()
            .filter_map(|&e| sh.buckets[e as usize].as_ref())
            .flat_map(|b| b.keywords.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        let lits: Vec<String> = ids.iter().map(|&i| sh.keywords[i as usize].clone()).collect();
        s.gate_list.push(Gate::build(&lits));
        let g = s.gate_list.len() as u32 - 1;
        s.gates.insert(s.gate_key.clone().into_boxed_slice(), g);
        g
    }

    fn run_bucket(&self, b: &Bucket, sh: &Shape, ev: &Flat, s: &mut Scratch, mut emit: impl FnMut(u32)) {
        let view = EventView { root: ev, fields: &b.fields, lists: &sh.lists, cache: &s.cache, tests: &s.tests };
        let generation = s.generation;
        // Candidate marks are per bucket run; a rule in two buckets is
        // deduplicated by `fired_stamp` below.
        s.run = (s.run + 1) & RUNS;
        if s.run == 0 {
            s.marks.iter_mut().for_each(|x| *x = 0);
            s.run = 1;
        }
        let run = s.run;
        s.cand.clear();
        let cand = &mut s.cand;
        let marks = &mut s.marks[b.base as usize..][..b.rules.len()];
        for scan in &b.scans {
            if s.found[scan.automaton as usize].0 != generation {
                let start = s.found_ids.len() as u32;
                let found = &mut s.found_ids;
                let ac = &sh.automata[scan.automaton as usize];
                let id = sh.first_automaton + scan.automaton;
                let memo = &mut s.memo;
                let lower = &mut s.lower;
                let mut scan_folded = |t: &str, out: &mut Vec<u32>| {
                    lower.clear();
                    fold_into(t, lower);
                    ac.each(lower, |pid| out.push(pid as u32));
                };
                match scan.field {
                    // A field: its values at the first of its paths the
                    // event has, read raw from the flat event (folded only
                    // when the memo does not know them; the field cache is
                    // left to the rules that are evaluated).
                    Some(f) => {
                        let paths = b.fields[f.0 as usize].map_or(&[][..], |l| &sh.lists[l as usize][..]);
                        first_present(ev, paths, |leaf, text| {
                            if leaf.kind.is_scalar() && ac.may_hold(text) {
                                memo.find(id as usize % 128, id, text, found, &mut scan_folded);
                            }
                        });
                    }
                    // Each string position is a lane of its own: in one log
                    // source the k-th string is mostly the same field, so a
                    // timestamp's position stops paying for look-ups while
                    // an image path's keeps its memo.
                    None => {
                        let gate = &s.gate_list[s.gate as usize];
                        ev.strings()
                            .enumerate()
                            .filter(|(_, text)| gate.may_hold(text))
                            .for_each(|(k, text)| memo.find(128 + k % 128, id, text, found, &mut scan_folded))
                    }
                }
                s.found[scan.automaton as usize] = (generation, start, s.found_ids.len() as u32);
            }
            let (_, a, z) = s.found[scan.automaton as usize];
            for &pid in &s.found_ids[a as usize..z as usize] {
                for t in scan.targets.of(pid) {
                    let m = &mut marks[t.rule as usize];
                    let seen = if *m >> 8 == run { *m as u8 } else { 0 };
                    if seen != t.full {
                        let now = seen | t.bit;
                        *m = run << 8 | now as u32;
                        if now == t.full {
                            cand.push(t.rule);
                        }
                    }
                }
            }
        }
        cand.extend_from_slice(&b.always);
        cand.sort_unstable();
        s.evaluated += cand.len() as u64;
        for &li in cand.iter() {
            let g = b.rules[li as usize];
            if s.fired_stamp[g as usize] == generation {
                continue;
            }
            let expr = &self.set.rules[g as usize].expr;
            let fired = match &self.reads[g as usize] {
                Some(fields) if verdict_key(fields, b, sh, ev, &mut s.key) => {
                    s.verdicts.check(g as usize, RULE | g as u64, &s.key, || expr.eval(&view))
                }
                _ => expr.eval(&view),
            };
            if fired {
                s.fired_stamp[g as usize] = generation;
                emit(g);
            }
        }
    }

    /// The fields and values that made `hit` match, by Sigma field name
    /// (`keywords` for field-less searches).
    pub fn explain(&self, ev: &Value, hit: &Hit, s: &mut Scratch) -> Vec<(String, String)> {
        let sh = &self.shapes[hit.shape];
        let Some(b) = &sh.buckets[hit.entry] else {
            return Vec::new();
        };
        s.cache.borrow_mut().reset(sh.lists.len());
        let mut flat = std::mem::take(&mut s.flat);
        flat.fill(ev, &self.wanted);
        let view = EventView { root: &flat, fields: &b.fields, lists: &sh.lists, cache: &s.cache, tests: &s.tests };
        let mut out = Vec::new();
        self.set.rules[hit.rule as usize].expr.explain(&view, &mut out);
        s.flat = flat;
        out.into_iter()
            .map(|(f, v)| (f.map_or_else(|| "keywords".to_string(), |f| self.set.fields.name(f).to_string()), v))
            .collect()
    }

    /// The event's own timestamp, as the mapping finds it.
    pub fn timestamp(&self, ev: &Value, shape: usize) -> Option<String> {
        self.shapes[shape].mapping.timestamp(ev).map(|c| c.into_owned())
    }
}

/// The bucket-run numbers a candidate mark holds (its high 24 bits).
const RUNS: u32 = (1 << 24) - 1;

/// Keyword gates a thread keeps before it starts again (an engine's
/// routes make a few dozen sets of buckets).
const MAX_GATES: usize = 1024;

/// Owner bit of rule verdicts in the verdict memo (see [`ScanMemo::check`]).
const RULE: u64 = 1 << 62;

/// The fields `expr` reads, when its verdict depends on their values alone:
/// `None` when it searches keywords (every string of the event).
fn reads(expr: &vigie_sigma::Expr) -> Option<Box<[FieldId]>> {
    let mut leaves = Vec::new();
    expr.leaves(&mut leaves);
    let mut fields = Vec::new();
    for l in leaves {
        fields.push(l.field?);
        if let vigie_sigma::Test::FieldRef { other, .. } = l.test {
            fields.push(other);
        }
    }
    fields.sort_unstable_by_key(|f| f.0);
    fields.dedup();
    Some(fields.into_boxed_slice())
}

/// The key of a rule's verdict for this event: every value of every field
/// it reads, as the bucket's mapping finds them. False when too long to keep.
fn verdict_key(fields: &[FieldId], b: &Bucket, sh: &Shape, ev: &Flat, key: &mut Vec<u8>) -> bool {
    key.clear();
    fields.iter().all(|f| {
        let paths = b.fields[f.0 as usize].map_or(&[][..], |l| &sh.lists[l as usize][..]);
        push_values(ev, paths, key, MAX_KEY)
    })
}

/// Keyword searches read every string of the event, whatever its log
/// source, and the buckets of one event (a Sysmon process creation is in
/// three) mostly search the same keywords (every Windows bucket has
/// `win_alert_mimikatz_keywords`). One automaton over the union of all
/// buckets' keywords therefore scans the event's text once instead of once
/// per bucket; each bucket keeps the targets of its own literals.
/// Returns the union.
fn share_keywords(buckets: &mut [Option<Bucket>], automata: &mut Automata) -> Vec<String> {
    let lists = std::mem::take(&mut automata.keywords);
    if lists.is_empty() {
        return Vec::new();
    }
    let mut union: Vec<String> = lists.iter().flat_map(|(_, l)| l.iter().cloned()).collect();
    union.sort();
    union.dedup();
    automata.list.push(Literals::build(&union));
    let id = automata.list.len() as u32 - 1;
    for (entry, pats) in lists {
        let Some(b) = buckets[entry].as_mut() else {
            continue;
        };
        let Some(scan) = b.scans.iter_mut().find(|s| s.field.is_none()) else {
            continue;
        };
        let mut old = scan.targets.lists();
        let mut targets = vec![Vec::new(); union.len()];
        let mut ids = Vec::with_capacity(pats.len());
        for (local, pat) in pats.iter().enumerate() {
            if let Ok(u) = union.binary_search(pat) {
                targets[u] = std::mem::take(&mut old[local]);
                ids.push(u as u32);
            }
        }
        scan.targets = Targets::new(&targets, &b.full);
        scan.automaton = id;
        b.keywords = ids.into_boxed_slice();
    }
    union
}

/// Every path an event can be asked for: shape recognition and routing of
/// each mapping, and the fields of each bucket's rules; with every string
/// when some rule searches keywords.
fn wanted(set: &RuleSet, shapes: &[Shape]) -> Wanted {
    let mut w = Wanted::default();
    for sh in shapes {
        sh.mapping.want(&mut w);
        sh.lists.iter().flat_map(|l| l.iter()).for_each(|p| w.add(p));
    }
    let mut leaves = Vec::new();
    w.strings = shapes.iter().flat_map(|sh| sh.buckets.iter().flatten()).any(|b| {
        b.rules.iter().any(|&r| {
            leaves.clear();
            set.rules[r as usize].expr.leaves(&mut leaves);
            leaves.iter().any(|l| l.field.is_none())
        })
    });
    w
}

/// The literals of one field while a bucket is built: the patterns, their
/// index by text, and the rules each pattern unlocks.
type FieldLiterals = (Vec<String>, FxHashMap<String, usize>, Vec<Vec<(u32, u8)>>);

/// Requirement groups kept per rule (each a bit of a `u8` mask).
const MAX_GROUPS: usize = 3;

/// Interning of automata by (paths, literal set).
#[derive(Default)]
struct Automata {
    list: Vec<Literals>,
    /// Each bucket's keyword literals (sorted), by entry, until
    /// [`share_keywords`] builds the shape's one keyword automaton.
    keywords: Vec<(usize, Vec<String>)>,
    ids: FxHashMap<(Option<u32>, Vec<String>), u32>,
}

/// Interning of path lists, so that buckets share cache slots.
#[derive(Default)]
struct PathLists {
    lists: Vec<Box<[FieldPath]>>,
    ids: FxHashMap<Vec<String>, u32>,
}

impl PathLists {
    fn intern(&mut self, paths: Vec<FieldPath>) -> u32 {
        let key: Vec<String> = paths.iter().map(|p| p.as_str().to_string()).collect();
        *self.ids.entry(key).or_insert_with(|| {
            self.lists.push(paths.into_boxed_slice());
            self.lists.len() as u32 - 1
        })
    }
}

fn build_bucket(
    set: &RuleSet,
    mapping: &Mapping,
    entry: usize,
    lists: &mut PathLists,
    automata: &mut Automata,
    stats: &mut EngineStats,
) -> Option<Bucket> {
    let ls = &mapping.entries[entry].logsource;
    let rules: Vec<u32> = (0..set.rules.len() as u32).filter(|&r| set.rules[r as usize].logsource.within(ls)).collect();
    if rules.is_empty() {
        return None;
    }
    let mut fields: Vec<Option<u32>> = vec![None; set.fields.len()];
    let mut by_field: FxHashMap<Option<FieldId>, FieldLiterals> = FxHashMap::default();
    let mut always = Vec::new();
    let mut full: Vec<u8> = Vec::with_capacity(rules.len());
    let mut leaves = Vec::new();
    for (li, &r) in rules.iter().enumerate() {
        let expr = &set.rules[r as usize].expr;
        leaves.clear();
        expr.leaves(&mut leaves);
        for l in &leaves {
            let mut add = |f: FieldId| {
                if fields[f.0 as usize].is_none() {
                    fields[f.0 as usize] = Some(lists.intern(mapping.field_paths(entry, set.fields.name(f))));
                }
            };
            if let Some(f) = l.field {
                add(f);
            }
            if let vigie_sigma::Test::FieldRef { other, .. } = l.test {
                add(other);
            }
        }
        let groups = needs(expr, MAX_GROUPS);
        if groups.is_empty() {
            always.push(li as u32);
            full.push(0);
            continue;
        }
        full.push(((1u16 << groups.len()) - 1) as u8);
        for (gi, group) in groups.into_iter().enumerate() {
            let bit = 1u8 << gi;
            for (field, lit) in group {
                let (pats, ids, targets) = by_field.entry(field).or_default();
                let pid = *ids.entry(lit.clone()).or_insert_with(|| {
                    pats.push(lit);
                    targets.push(Vec::new());
                    pats.len() - 1
                });
                if !targets[pid].contains(&(li as u32, bit)) {
                    targets[pid].push((li as u32, bit));
                }
            }
        }
    }
    let mut scans: Vec<Scan> = by_field
        .into_iter()
        .map(|(field, (pats, _, targets))| {
            stats.literals += pats.len();
            // Sorted, so that equal literal sets get equal pattern ids.
            let mut order: Vec<usize> = (0..pats.len()).collect();
            order.sort_by(|&a, &b| pats[a].cmp(&pats[b]));
            let sorted: Vec<String> = order.iter().map(|&i| pats[i].clone()).collect();
            let lists: Vec<Vec<(u32, u8)>> = order.iter().map(|&i| targets[i].clone()).collect();
            let targets = Targets::new(&lists, &full);
            if field.is_none() {
                automata.keywords.push((entry, sorted));
                return Scan { field, automaton: u32::MAX, targets };
            }
            let key = (field.and_then(|f| fields[f.0 as usize]), sorted);
            let automaton = match automata.ids.get(&key) {
                Some(&id) => id,
                None => {
                    automata.list.push(Literals::build(&key.1));
                    let id = automata.list.len() as u32 - 1;
                    automata.ids.insert(key, id);
                    id
                }
            };
            Scan { field, automaton, targets }
        })
        .collect();
    scans.sort_by_key(|s| s.field);
    stats.buckets += 1;
    stats.always_evaluated += always.len();
    Some(Bucket { rules, fields, scans, always, full, keywords: Box::default(), base: 0 })
}

#[cfg(test)]
mod tests {
    use super::*;
    use vigie_sigma::{Placeholders, Source};

    /// Two log sources that every event reaches, and a rule in each that
    /// needs literals of two fields: a mask left from the other bucket or
    /// the previous event would make a candidate of half a match.
    fn engine() -> Engine {
        let mapping = Mapping::from_yaml(
            "name: t\ndefault: ['{field}']\nlogsources:\n  - logsource: {product: p, service: a}\n  - logsource: {product: p, service: b}\n",
            "t.yml",
            None,
        )
        .unwrap();
        let rule = |id: &str, svc: &str| {
            format!(
                "title: {id}\nid: {id}\nauthor: t\nlogsource: {{product: p, service: {svc}}}\ndetection:\n  sel:\n    Image|endswith: '\\x.exe'\n    CommandLine|contains: 'run'\n  condition: sel\n"
            )
        };
        let text = format!("{}---\n{}", rule("ra", "a"), rule("rb", "b"));
        let set = RuleSet::load(&[Source { path: "t.yml".into(), text }], &Placeholders::default());
        assert!(set.rejected.is_empty(), "{:?}", set.rejected);
        Engine::new(set, vec![mapping], true)
    }

    #[test]
    fn candidate_marks_do_not_outlive_their_bucket_run() {
        let e = engine();
        let events = [
            r#"{"Image":"C:\\x.exe","CommandLine":"y"}"#,
            r#"{"Image":"C:\\y.exe","CommandLine":"run"}"#,
            r#"{"Image":"C:\\x.exe","CommandLine":"run it"}"#,
            r#"{"Image":"C:\\z.exe","CommandLine":"walk"}"#,
        ];
        let mut long = e.scratch();
        // Start just before the run counter wraps, so that stamps from
        // before the wrap meet the numbers after it.
        long.run = RUNS - 5;
        for round in 0..6 {
            for ev in events {
                let (mut kept, mut fresh) = (Vec::new(), Vec::new());
                e.detect_json(ev.as_bytes(), &mut long, &mut kept).unwrap();
                e.detect_json(ev.as_bytes(), &mut e.scratch(), &mut fresh).unwrap();
                assert_eq!(kept, fresh, "round {round}: {ev}");
                assert_eq!(kept.len(), if ev.contains("x.exe\",\"CommandLine\":\"run") { 2 } else { 0 }, "{ev}");
            }
        }
        assert!(long.run < 100, "the counter wrapped");
    }

    #[test]
    fn scans_from_before_the_generation_wrapped_are_not_reused() {
        let e = engine();
        let mut long = e.scratch();
        // As if every automaton had last run at generation 1, four billion
        // events ago, and found nothing; the next event wraps the counter.
        long.generation = u32::MAX;
        long.found.iter_mut().for_each(|f| *f = (1, 0, 0));
        let ev = r#"{"Image":"C:\\x.exe","CommandLine":"run it"}"#;
        for n in 0..3 {
            let mut hits = Vec::new();
            e.detect_json(ev.as_bytes(), &mut long, &mut hits).unwrap();
            assert_eq!(hits.len(), 2, "event {n}");
        }
    }
}
