//! Compile a rule's detection into an expression tree of leaf tests.
//!
//! Every per-event cost that can be paid once is paid here: values are
//! unescaped, transformed (windash, base64, UTF-16, placeholders), folded and
//! turned into the cheapest matcher; numbers, networks and regexes are parsed.

use crate::condition::{self, CmpOp, Cond};
use crate::event::{Event, FieldId, FieldTable, Kind, Val};
use crate::modifier::{self, Encoding, Modifier};
use crate::pattern::{StrMatcher, Tok, has_wildcards, plain_text, tokenize};
use crate::placeholder::Placeholders;
use crate::rule::{Detection, Item, Search, Value};
use ipnet::IpNet;
use regex::Regex;
use std::net::IpAddr;

/// A part of a timestamp, for the `minute` … `year` modifiers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimePart {
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

/// How a value is compared with a field.
#[derive(Debug, Clone)]
pub enum Test {
    /// A Sigma string (with wildcards); `cased` compares the raw text.
    Str {
        m: StrMatcher,
        cased: bool,
    },
    Re(Regex),
    Num(CmpOp, f64),
    Cidr(IpNet),
    TimePart(TimePart, CmpOp, f64),
    /// Equal to (or, with an anchor, containing/starting/ending with) another field.
    FieldRef {
        other: FieldId,
        anchor: Anchor,
        cased: bool,
    },
    /// `field: null`: absent, or present with a null value.
    Null,
    /// `field|exists: bool`: present with a non-null value.
    Exists(bool),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anchor {
    Exact,
    Prefix,
    Suffix,
    Contains,
}

/// A single test on a field (or, with `field: None`, on every text of the event).
#[derive(Debug, Clone)]
pub struct Leaf {
    pub field: Option<FieldId>,
    pub test: Test,
    /// `neq`: the field is present and no value passes the test.
    pub negate: bool,
}

/// A compiled condition.
#[derive(Debug, Clone)]
pub enum Expr {
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Leaf(Box<Leaf>),
    Const(bool),
}

/// Why a rule could not be compiled: the construct and where it is.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{message}")]
pub struct CompileError {
    pub message: String,
}

fn cerr<T>(item: &Item, message: String) -> Result<T, CompileError> {
    let field = item.field.as_deref().unwrap_or("<keywords>");
    Err(CompileError { message: format!("line {}: `{field}`: {message}", item.line) })
}

/// Shared inputs to compilation.
pub struct Compiler<'a> {
    pub fields: &'a mut FieldTable,
    pub placeholders: &'a Placeholders,
}

impl Compiler<'_> {
    /// Compile a detection, optionally AND-ed with extra detections (meta filters).
    pub fn detection(&mut self, det: &Detection) -> Result<Expr, CompileError> {
        let mut searches = Vec::with_capacity(det.searches.len());
        for (name, s) in &det.searches {
            searches.push((name.as_str(), self.search(s)?));
        }
        let mut alts = Vec::new();
        for c in &det.conditions {
            let (cond, agg) = condition::parse(c).map_err(|e| CompileError { message: e.to_string() })?;
            if agg.is_some() {
                return Err(CompileError {
                    message: "aggregation in condition must be translated to a correlation before compiling".into(),
                });
            }
            alts.push(resolve(&cond, &searches)?);
        }
        Ok(if alts.len() == 1 { alts.pop().expect("one") } else { Expr::Or(alts) })
    }

    fn search(&mut self, s: &Search) -> Result<Expr, CompileError> {
        Ok(match s {
            Search::AllOf(items) => and(items.iter().map(|i| self.item(i)).collect::<Result<_, _>>()?),
            Search::AnyOf(maps) => Expr::Or(
                maps.iter()
                    .map(|m| Ok(and(m.iter().map(|i| self.item(i)).collect::<Result<_, _>>()?)))
                    .collect::<Result<_, CompileError>>()?,
            ),
            Search::Keywords(item) => self.item(item)?,
        })
    }

    fn item(&mut self, item: &Item) -> Result<Expr, CompileError> {
        use Modifier::*;
        let has = |m: Modifier| item.modifiers.contains(&m);
        let field = item.field.as_deref().map(|f| self.fields.intern(f));
        if item.values.is_empty() {
            return cerr(item, "empty list of values".into());
        }
        // Placeholders first: everything else applies to the expanded values.
        let mut values: Vec<Value> = Vec::new();
        for v in &item.values {
            match v {
                Value::Str(s) if has(Expand) => {
                    for e in self.placeholders.expand(s).or_else(|e| cerr(item, e))? {
                        values.push(Value::Str(e));
                    }
                }
                other => values.push(other.clone()),
            }
        }
        let negate = has(Neq);
        let mut leaves = Vec::new();
        for v in &values {
            let s = match v {
                Value::Null => {
                    if item.modifiers.iter().any(|m| !matches!(m, All | Expand)) {
                        return cerr(item, "null cannot be combined with modifiers".into());
                    }
                    leaves.push(leaf(field, Test::Null, false));
                    continue;
                }
                Value::Str(s) => s.as_str(),
            };
            if has(Exists) {
                let b = match s.to_ascii_lowercase().as_str() {
                    "true" | "yes" => true,
                    "false" | "no" => false,
                    _ => return cerr(item, format!("`exists` needs true or false, found `{s}`")),
                };
                leaves.push(leaf(field, Test::Exists(b), false));
                continue;
            }
            if has(Re) {
                let mut flags = String::new();
                if has(ReI) {
                    flags.push('i');
                }
                if has(ReM) {
                    flags.push('m');
                }
                if has(ReS) {
                    flags.push('s');
                }
                let ascii = ascii_classes(s);
                let src = if flags.is_empty() { ascii } else { format!("(?{flags}){ascii}") };
                let re = regex::RegexBuilder::new(&src)
                    .size_limit(8 << 20)
                    .build()
                    .or_else(|e| cerr(item, format!("invalid regular expression: {e}")))?;
                leaves.push(leaf(field, Test::Re(re), negate));
                continue;
            }
            if has(ReI) || has(ReM) || has(ReS) {
                return cerr(item, "regex flags `i`, `m`, `s` are only valid after `re`".into());
            }
            if has(Cidr) {
                let net: IpNet = s
                    .trim()
                    .parse()
                    .or_else(|_| s.trim().parse::<IpAddr>().map(IpNet::from))
                    .or_else(|_| cerr(item, format!("`{s}` is not a CIDR network")))?;
                leaves.push(leaf(field, Test::Cidr(net), negate));
                continue;
            }
            let cmp = [(Lt, CmpOp::Lt), (Lte, CmpOp::Lte), (Gt, CmpOp::Gt), (Gte, CmpOp::Gte)]
                .into_iter()
                .find(|(m, _)| has(*m))
                .map(|(_, op)| op);
            let part = [
                (Minute, TimePart::Minute),
                (Hour, TimePart::Hour),
                (Day, TimePart::Day),
                (Week, TimePart::Week),
                (Month, TimePart::Month),
                (Year, TimePart::Year),
            ]
            .into_iter()
            .find(|(m, _)| has(*m))
            .map(|(_, p)| p);
            if cmp.is_some() || part.is_some() {
                let n: f64 = s.trim().parse().or_else(|_| cerr(item, format!("`{s}` is not a number")))?;
                let op = cmp.unwrap_or(CmpOp::Eq);
                let test = match part {
                    Some(p) => Test::TimePart(p, op, n),
                    None => Test::Num(op, n),
                };
                leaves.push(leaf(field, test, negate));
                continue;
            }
            let anchor = if has(Contains) {
                Anchor::Contains
            } else if has(StartsWith) {
                Anchor::Prefix
            } else if has(EndsWith) {
                Anchor::Suffix
            } else {
                Anchor::Exact
            };
            let cased = has(Cased);
            if has(FieldRef) {
                let other = self.fields.intern(s.trim());
                leaves.push(leaf(field, Test::FieldRef { other, anchor, cased }, negate));
                continue;
            }
            for text in self.string_values(item, s)? {
                // Anchor on tokens, never by pasting `*` onto the text: a value
                // ending in `\` would otherwise turn into an escaped star.
                let mut toks = tokenize(&text);
                let (front, back) = match anchor {
                    Anchor::Exact if field.is_none() => (true, true), // keywords: anywhere
                    Anchor::Exact => (false, false),
                    Anchor::Prefix => (false, true),
                    Anchor::Suffix => (true, false),
                    Anchor::Contains => (true, true),
                };
                if front && toks.first() != Some(&Tok::Star) {
                    toks.insert(0, Tok::Star);
                }
                if back && toks.last() != Some(&Tok::Star) {
                    toks.push(Tok::Star);
                }
                let m = StrMatcher::new(&toks, !cased);
                leaves.push(leaf(field, Test::Str { m, cased }, negate));
            }
        }
        if has(All) && leaves.len() > 1 {
            Ok(Expr::And(leaves))
        } else if leaves.len() == 1 {
            Ok(leaves.pop().expect("one"))
        } else {
            Ok(Expr::Or(leaves))
        }
    }

    /// Apply windash and the encoding modifiers; the results are Sigma strings
    /// (still escaped) ready for anchoring.
    fn string_values(&self, item: &Item, s: &str) -> Result<Vec<String>, CompileError> {
        use Modifier::*;
        let has = |m: Modifier| item.modifiers.contains(&m);
        let variants = if has(Windash) { modifier::windash(s) } else { vec![s.to_string()] };
        let enc = if has(Utf16Le) {
            Some(Encoding::Utf16Le)
        } else if has(Utf16Be) {
            Some(Encoding::Utf16Be)
        } else if has(Utf16) {
            Some(Encoding::Utf16Bom)
        } else {
            None
        };
        if enc.is_none() && !has(Base64) && !has(Base64Offset) {
            return Ok(variants);
        }
        let mut out = Vec::new();
        for v in variants {
            let toks = tokenize(&v);
            if has_wildcards(&toks) {
                return cerr(item, format!("cannot encode `{v}`: it contains wildcards"));
            }
            let bytes = modifier::encode(&plain_text(&toks), enc.unwrap_or(Encoding::Utf8));
            if has(Base64Offset) {
                out.extend(modifier::base64offset(&bytes));
            } else if has(Base64) {
                out.push(modifier::base64(&bytes));
            } else {
                out.push(crate::pattern::escape(&modifier::bytes_as_text(&bytes)));
            }
        }
        Ok(out)
    }
}

/// Sigma's regex flavour is a PCRE subset, and in PCRE `\w`, `\d`, `\s` and
/// `\b` are ASCII unless Unicode properties are switched on. The `regex`
/// crate makes them Unicode by default, which also makes their automata tens
/// of times larger (and Unicode `\b` pushes the search off the lazy DFA).
/// Outside character classes they are rewritten to their ASCII forms; inside
/// a class they are left as they are.
pub fn ascii_classes(pattern: &str) -> String {
    let mut out = String::with_capacity(pattern.len() + 16);
    let mut chars = pattern.chars().peekable();
    let mut in_class = false;
    let mut class_start = false;
    while let Some(c) = chars.next() {
        match c {
            '\\' => {
                let Some(&n) = chars.peek() else {
                    out.push(c);
                    break;
                };
                chars.next();
                // Negated classes are spelled as Unicode-mode negations of
                // ASCII sets, so they still match only whole characters.
                let ascii = match n {
                    _ if in_class => None,
                    'w' => Some("[0-9A-Za-z_]"),
                    'W' => Some("[^0-9A-Za-z_]"),
                    'd' => Some("[0-9]"),
                    'D' => Some("[^0-9]"),
                    's' => Some("[\\t\\n\\x0B\\x0C\\r ]"),
                    'S' => Some("[^\\t\\n\\x0B\\x0C\\r ]"),
                    'b' => Some("(?-u:\\b)"),
                    'B' => Some("(?-u:\\B)"),
                    _ => None,
                };
                if let Some(a) = ascii {
                    out.push_str(a);
                } else {
                    out.push(c);
                    out.push(n);
                }
                class_start = false;
            }
            '[' if !in_class => {
                in_class = true;
                class_start = true;
                out.push(c);
                if chars.peek() == Some(&'^') {
                    out.push('^');
                    chars.next();
                }
                continue;
            }
            ']' if in_class && !class_start => {
                in_class = false;
                out.push(c);
            }
            _ => {
                out.push(c);
                class_start = false;
            }
        }
        if c != '[' {
            class_start = false;
        }
    }
    out
}

fn leaf(field: Option<FieldId>, test: Test, negate: bool) -> Expr {
    Expr::Leaf(Box::new(Leaf { field, test, negate }))
}

fn and(mut items: Vec<Expr>) -> Expr {
    if items.len() == 1 { items.pop().expect("one") } else { Expr::And(items) }
}

fn resolve(c: &Cond, searches: &[(&str, Expr)]) -> Result<Expr, CompileError> {
    Ok(match c {
        Cond::Ident(name) => match searches.iter().find(|(n, _)| n == name) {
            Some((_, e)) => e.clone(),
            None => {
                return Err(CompileError { message: format!("condition names `{name}`, which is not a search") });
            }
        },
        Cond::Not(inner) => Expr::Not(Box::new(resolve(inner, searches)?)),
        Cond::And(v) => Expr::And(v.iter().map(|x| resolve(x, searches)).collect::<Result<_, _>>()?),
        Cond::Or(v) => Expr::Or(v.iter().map(|x| resolve(x, searches)).collect::<Result<_, _>>()?),
        Cond::Of { all, pattern } => {
            let picked: Vec<Expr> = searches
                .iter()
                .filter(|(n, _)| condition::pattern_matches(pattern.as_deref(), n))
                .map(|(_, e)| e.clone())
                .collect();
            if picked.is_empty() {
                let what = pattern.as_deref().unwrap_or("them");
                return Err(CompileError { message: format!("`{what}` in the condition matches no search") });
            }
            if *all { Expr::And(picked) } else { Expr::Or(picked) }
        }
    })
}

impl Expr {
    /// Evaluate against an event (two-valued logic: a missing field fails every
    /// value test, and `not` of that is true).
    pub fn eval<E: Event + ?Sized>(&self, ev: &E) -> bool {
        match self {
            Expr::And(v) => v.iter().all(|e| e.eval(ev)),
            Expr::Or(v) => v.iter().any(|e| e.eval(ev)),
            Expr::Not(e) => !e.eval(ev),
            Expr::Leaf(l) => l.eval(ev),
            Expr::Const(b) => *b,
        }
    }

    /// Visit every leaf.
    pub fn leaves<'a>(&'a self, out: &mut Vec<&'a Leaf>) {
        match self {
            Expr::And(v) | Expr::Or(v) => v.iter().for_each(|e| e.leaves(out)),
            Expr::Not(e) => e.leaves(out),
            Expr::Leaf(l) => out.push(l),
            Expr::Const(_) => {}
        }
    }
}

impl Expr {
    /// Evaluate like [`Expr::eval`], and record the evidence: for each positive
    /// leaf that held, its field and the event value that satisfied it.
    pub fn explain<E: Event + ?Sized>(&self, ev: &E, out: &mut Vec<(Option<FieldId>, String)>) -> bool {
        match self {
            Expr::And(v) => {
                let mark = out.len();
                let ok = v.iter().all(|e| e.explain(ev, out));
                if !ok {
                    out.truncate(mark);
                }
                ok
            }
            Expr::Or(v) => v.iter().any(|e| e.explain(ev, out)),
            Expr::Not(e) => !e.eval(ev),
            Expr::Leaf(l) => {
                if !l.eval(ev) {
                    return false;
                }
                if l.negate || matches!(l.test, Test::Null | Test::Exists(false)) {
                    return true;
                }
                let mut first = None;
                let mut keep = |v: &Val<'_>| {
                    if v.is_scalar() && l.test.matches(v, ev) {
                        first = Some(v.raw.to_string());
                        true
                    } else {
                        false
                    }
                };
                match l.field {
                    Some(f) => {
                        ev.any_value(f, &mut keep);
                    }
                    None => {
                        ev.any_text(&mut keep);
                    }
                }
                if let Some(v) = first
                    && !out.iter().any(|(f, x)| *f == l.field && *x == v)
                {
                    out.push((l.field, v));
                }
                true
            }
            Expr::Const(b) => *b,
        }
    }
}

impl Leaf {
    pub fn eval<E: Event + ?Sized>(&self, ev: &E) -> bool {
        let Some(field) = self.field else {
            return ev.any_text(&mut |v| self.test.matches(v, ev));
        };
        match &self.test {
            Test::Null => ev.any_value(field, &mut |v| v.is_null()).unwrap_or(true),
            Test::Exists(b) => ev.any_value(field, &mut |v| !v.is_null()).unwrap_or(false) == *b,
            t if self.negate => {
                let mut present = false;
                let mut hit = false;
                ev.any_value(field, &mut |v| {
                    if v.is_scalar() {
                        present = true;
                        hit |= t.matches(v, ev);
                    }
                    hit
                });
                present && !hit
            }
            Test::Re(re) => {
                // A regex is the costliest test and reads one string: let
                // the event remember its answer per value (`key` is this
                // leaf, alive as long as the rule).
                let key = self as *const Leaf as usize;
                let t = &self.test;
                ev.any_value(field, &mut |v| match v.kind {
                    Kind::Str => ev.remembered(key, v.raw, &mut || re.is_match(v.raw)),
                    _ => v.is_scalar() && t.matches(v, ev),
                })
                .unwrap_or(false)
            }
            t => ev.any_value(field, &mut |v| v.is_scalar() && t.matches(v, ev)).unwrap_or(false),
        }
    }
}

impl Test {
    /// Does one non-null value pass?
    pub fn matches<E: Event + ?Sized>(&self, v: &Val<'_>, ev: &E) -> bool {
        match self {
            Test::Str { m, cased } => m.is_match(if *cased { v.raw } else { v.folded }),
            Test::Re(re) => re.is_match(v.raw),
            Test::Num(op, n) => v.number().is_some_and(|x| op.apply(x, *n)),
            Test::Cidr(net) => v.raw.trim().parse::<IpAddr>().is_ok_and(|ip| net.contains(&ip)),
            Test::TimePart(part, op, n) => time_part(v.raw, *part).is_some_and(|x| op.apply(x as f64, *n)),
            Test::FieldRef { other, anchor, cased } => {
                let (a, cased) = (if *cased { v.raw } else { v.folded }, *cased);
                ev.any_value(*other, &mut |o| {
                    if !o.is_scalar() {
                        return false;
                    }
                    let b = if cased { o.raw } else { o.folded };
                    match anchor {
                        Anchor::Exact => a == b,
                        Anchor::Prefix => a.starts_with(b),
                        Anchor::Suffix => a.ends_with(b),
                        Anchor::Contains => a.contains(b),
                    }
                })
                .unwrap_or(false)
            }
            Test::Null => v.is_null(),
            Test::Exists(b) => *b,
        }
    }
}

/// Extract a part of a timestamp written as RFC 3339, `YYYY-MM-DD HH:MM:SS[.f]`
/// (as Sysmon's UtcTime) or epoch seconds/milliseconds. Times without a zone are UTC.
pub fn time_part(raw: &str, part: TimePart) -> Option<i64> {
    let dt = parse_time(raw)?;
    Some(match part {
        TimePart::Minute => dt.minute() as i64,
        TimePart::Hour => dt.hour() as i64,
        TimePart::Day => dt.day() as i64,
        TimePart::Week => dt.date().iso_week_date().week() as i64,
        TimePart::Month => dt.month() as i64,
        TimePart::Year => dt.year() as i64,
    })
}

/// Parse an event timestamp into UTC civil time.
pub fn parse_time(raw: &str) -> Option<jiff::civil::DateTime> {
    let s = raw.trim();
    if let Ok(ts) = s.parse::<jiff::Timestamp>() {
        return Some(jiff::tz::TimeZone::UTC.to_datetime(ts));
    }
    if let Ok(dt) = s.parse::<jiff::civil::DateTime>() {
        return Some(dt);
    }
    if let Ok(n) = s.parse::<i64>() {
        let ts = if n.abs() > 100_000_000_000 {
            jiff::Timestamp::from_millisecond(n).ok()?
        } else {
            jiff::Timestamp::from_second(n).ok()?
        };
        return Some(jiff::tz::TimeZone::UTC.to_datetime(ts));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn regex_classes_are_ascii_outside_brackets() {
        assert_eq!(ascii_classes(r"\w+\.exe\b"), r"[0-9A-Za-z_]+\.exe(?-u:\b)");
        assert_eq!(ascii_classes(r"[\w.]+\S"), r"[\w.]+[^\t\n\x0B\x0C\r ]");
        assert_eq!(ascii_classes(r"[]\d]\d"), r"[]\d][0-9]");
        assert_eq!(ascii_classes(r"a\\w"), r"a\\w", "an escaped backslash is not a class");
        assert_eq!(ascii_classes(r"\[\d\]"), r"\[[0-9]\]");
        let re = regex::Regex::new(&ascii_classes(r"^\w\W\d\D\s\S\b[\w]$")).unwrap();
        assert!(re.is_match("aé1x éz"), "negations match whole non-ASCII characters");
    }

    #[test]
    fn time_parts() {
        assert_eq!(time_part("2024-02-10T22:15:00Z", TimePart::Hour), Some(22));
        assert_eq!(time_part("2024-02-10 22:15:00.123", TimePart::Minute), Some(15));
        assert_eq!(time_part("2024-02-10T22:15:00+02:00", TimePart::Hour), Some(20));
        assert_eq!(time_part("2024-01-01T00:00:00Z", TimePart::Week), Some(1));
        assert_eq!(time_part("1707603300", TimePart::Year), Some(2024));
        assert_eq!(time_part("nonsense", TimePart::Year), None);
    }
}
