//! The checks themselves: one walk over each document's YAML tree, then the
//! checks that need the whole set (duplicate ids and titles, references).

use super::{Finding, Linted, Report, check};
use crate::condition::{self, Cond};
use crate::modifier::Modifier;
use crate::parse;
use crate::ruleset::Source;
use crate::yaml::{self, Node};
use regex::Regex;
use std::collections::{BTreeMap, HashSet};
use std::sync::LazyLock;

/// The 14 enterprise ATT&CK tactics as SigmaHQ writes them in tags, and the
/// two that ATT&CK v18 (October 2025) split Defense Evasion into, which
/// SigmaHQ's rules already use (`stealth`, `defense-impairment`).
pub const ATTACK_TACTICS: [&str; 16] = [
    "reconnaissance",
    "resource-development",
    "initial-access",
    "execution",
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "discovery",
    "lateral-movement",
    "collection",
    "command-and-control",
    "exfiltration",
    "impact",
    "stealth",
    "defense-impairment",
];

static UUID: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$").unwrap()
});
static TAG: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9][a-z0-9_-]*\.[a-z0-9][a-z0-9_.-]*$").unwrap());
static ATTACK_ID: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^(t[0-9]{4}(\.[0-9]{3})?|g[0-9]{4}|s[0-9]{4})$").unwrap());
static CVE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9]{4}-[0-9]{4,}$").unwrap());
static DATE: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$").unwrap());

/// Is this a UUID (any case)?
pub fn is_uuid(s: &str) -> bool {
    UUID.is_match(s)
}

/// A YYYY-MM-DD date that exists on the calendar.
fn parse_date(s: &str) -> Option<jiff::civil::Date> {
    if !DATE.is_match(s) {
        return None;
    }
    s.parse().ok()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Rule,
    Correlation,
    Filter,
}

/// A document's place in the set, for the checks across documents.
struct Seen {
    document: usize,
    path: String,
    line: usize,
    id: Option<String>,
    title: Option<String>,
    name: Option<String>,
    /// Rules a correlation or filter names, with the line of each.
    refs: Vec<(String, usize)>,
}

struct Doc<'a> {
    document: usize,
    path: &'a str,
    id: Option<String>,
    out: Vec<Finding>,
}

impl Doc<'_> {
    fn emit(&mut self, id: &'static str, line: usize, detail: impl Into<String>) {
        let c = check(id).unwrap_or_else(|| panic!("unknown check id {id}"));
        self.out.push(Finding {
            path: self.path.to_string(),
            rule_id: self.id.clone(),
            check: c.id,
            severity: c.severity,
            reason: c.reason,
            detail: detail.into(),
            line: (line > 0).then_some(line),
            document: self.document,
        });
    }
}

pub(super) fn run(sources: &[Source]) -> Report {
    let mut report = Report::default();
    let mut seen: Vec<Seen> = Vec::new();
    for src in sources {
        let mut d = Doc { document: report.documents.len(), path: &src.path, id: None, out: Vec::new() };
        let docs = match yaml::parse_documents(&src.text) {
            Ok(docs) => docs,
            Err(e) => {
                d.emit("yaml-syntax", e.line, e.message);
                report.documents.push(Linted { path: src.path.clone(), id: None, title: None, line: e.line });
                report.findings.extend(d.out);
                continue;
            }
        };
        let docs: Vec<&Node> = docs.iter().filter(|n| !n.is_null()).collect();
        if docs.is_empty() {
            d.emit("invalid-document", 1, "no Sigma document in this file");
            report.documents.push(Linted { path: src.path.clone(), id: None, title: None, line: 1 });
            report.findings.extend(d.out);
            continue;
        }
        for node in docs {
            let id = node.get("id").and_then(Node::as_str).map(str::to_string);
            let mut d = Doc { document: report.documents.len(), path: &src.path, id: id.clone(), out: Vec::new() };
            let s = document(&mut d, node);
            report.documents.push(Linted {
                path: src.path.clone(),
                id: s.id.clone(),
                title: s.title.clone(),
                line: node.line(),
            });
            seen.push(s);
            report.findings.extend(d.out);
        }
    }
    across(&seen, &mut report.findings);
    report
}

/// The checks of one document.
fn document(d: &mut Doc, node: &Node) -> Seen {
    let line = node.line();
    let str_of = |k: &str| node.get(k).and_then(Node::as_str).map(str::to_string);
    let mut seen = Seen {
        document: d.document,
        path: d.path.to_string(),
        line,
        id: str_of("id"),
        title: str_of("title"),
        name: str_of("name"),
        refs: Vec::new(),
    };
    if !matches!(node, Node::Map { .. }) {
        d.emit("invalid-document", line, format!("a Sigma document must be a mapping, found {}", node.kind()));
        return seen;
    }
    let kind = if node.get("correlation").is_some() {
        Kind::Correlation
    } else if node.get("filter").is_some() {
        Kind::Filter
    } else {
        Kind::Rule
    };
    let before = d.out.len();
    metadata(d, node, kind);
    tags(d, node);
    match kind {
        Kind::Rule => {
            logsource(d, node);
            match node.get("detection") {
                Some(det) => detection(d, det, false),
                None => d.emit("missing-detection", line, ""),
            }
        }
        Kind::Filter => {
            logsource(d, node);
            let f = node.get("filter").unwrap_or(node);
            seen.refs = references(d, f);
            detection(d, f, true);
        }
        Kind::Correlation => {
            let c = node.get("correlation").unwrap_or(node);
            seen.refs = references(d, c);
            if c.get("timespan").is_none() && c.get("timeframe").is_none() {
                d.emit("missing-timespan", c.line(), "");
            }
            if let Some(g) = c.get("group-by")
                && !matches!(g, Node::Seq { .. })
            {
                d.emit("group-by-not-list", g.line(), format!("found {}", g.kind()));
            }
        }
    }
    // Whatever else keeps the loader from reading the document, unless a
    // check above already reported an error for it.
    let reported = d.out[before..].iter().any(|f| f.severity == super::Severity::Error);
    if !reported && let Err(e) = parse::document(node) {
        d.emit("invalid-document", e.line, e.message);
    }
    seen
}

fn metadata(d: &mut Doc, node: &Node, kind: Kind) {
    let line = node.line();
    match node.get("id") {
        None => d.emit("missing-id", line, ""),
        Some(n) => match n.as_str() {
            Some(id) if is_uuid(id) => {}
            Some(id) => d.emit("invalid-id", n.line(), format!("`{id}`")),
            None => d.emit("invalid-id", n.line(), format!("found {}", if n.is_null() { "null" } else { n.kind() })),
        },
    }
    match node.get("title").map(|t| (t, t.as_str())) {
        None | Some((_, None)) => d.emit("missing-title", line, ""),
        Some((_, Some(t))) if t.trim().is_empty() => d.emit("missing-title", line, ""),
        Some((n, Some(t))) => {
            if t.chars().count() > 110 {
                d.emit("title-too-long", n.line(), format!("{} characters", t.chars().count()));
            }
            let first = t.split_whitespace().next().unwrap_or_default().to_lowercase();
            if first == "detects" || t.trim_end().ends_with('.') {
                d.emit("title-style", n.line(), format!("`{t}`"));
            }
        }
    }
    if node.get("author").and_then(Node::as_str).is_none_or(|a| a.trim().is_empty()) {
        d.emit("missing-author", line, "");
    }
    if node.get("description").and_then(Node::as_str).is_none_or(|a| a.trim().is_empty()) {
        d.emit("missing-description", line, "");
    }
    let mut date = None;
    match node.get("date") {
        None => d.emit("missing-date", line, ""),
        Some(n) => match n.as_str().and_then(parse_date) {
            Some(x) => date = Some(x),
            None => d.emit("invalid-date", n.line(), format!("date `{}`", n.as_str().unwrap_or("(not a scalar)"))),
        },
    }
    if let Some(n) = node.get("modified") {
        match n.as_str().and_then(parse_date) {
            Some(m) => {
                if let Some(date) = date
                    && m < date
                {
                    d.emit("modified-before-date", n.line(), format!("modified {m}, date {date}"));
                }
            }
            None => d.emit("invalid-date", n.line(), format!("modified `{}`", n.as_str().unwrap_or("(not a scalar)"))),
        }
    }
    match node.get("status") {
        None if kind != Kind::Filter => d.emit("missing-status", line, ""),
        None => {}
        Some(n) => {
            let s = n.as_str().unwrap_or_default();
            if !matches!(s, "stable" | "test" | "experimental" | "deprecated" | "unsupported") {
                d.emit("invalid-status", n.line(), format!("`{s}`"));
            }
        }
    }
    match node.get("level") {
        None if kind != Kind::Filter => d.emit("missing-level", line, ""),
        None => {}
        Some(n) => {
            let s = n.as_str().unwrap_or_default();
            if !matches!(s, "informational" | "low" | "medium" | "high" | "critical") {
                d.emit("invalid-level", n.line(), format!("`{s}`"));
            }
        }
    }
    for key in ["references", "falsepositives", "tags", "fields"] {
        if let Some(n) = node.get(key)
            && !matches!(n, Node::Seq { .. })
            && !n.is_null()
        {
            d.emit("not-a-list", n.line(), format!("`{key}` is {}", n.kind()));
        }
    }
    if let Some(Node::Seq { items, .. }) = node.get("references") {
        let mut refs = HashSet::new();
        for i in items {
            if let Some(r) = i.as_str()
                && !refs.insert(r)
            {
                d.emit("duplicate-reference", i.line(), r.to_string());
            }
        }
    }
    if let Some(rel) = node.get("related") {
        let Node::Seq { items, .. } = rel else {
            d.emit("invalid-related", rel.line(), format!("`related` is {}, not a list", rel.kind()));
            return;
        };
        for entry in items {
            let id = entry.get("id").and_then(Node::as_str);
            let ty = entry.get("type").and_then(Node::as_str);
            if !id.is_some_and(is_uuid) {
                d.emit("invalid-related", entry.line(), format!("id `{}`", id.unwrap_or("(missing)")));
            }
            if !ty.is_some_and(|t| matches!(t, "derived" | "obsolete" | "merged" | "renamed" | "similar")) {
                d.emit("invalid-related", entry.line(), format!("type `{}`", ty.unwrap_or("(missing)")));
            }
        }
    }
}

fn tags(d: &mut Doc, node: &Node) {
    let Some(Node::Seq { items, .. }) = node.get("tags") else { return };
    let mut seen = HashSet::new();
    for item in items {
        let Some(tag) = item.as_str() else {
            d.emit("invalid-tag-format", item.line(), format!("found {}", item.kind()));
            continue;
        };
        let line = item.line();
        let lower = tag.to_lowercase();
        if lower != tag {
            d.emit("tag-not-lowercase", line, format!("`{tag}`"));
        }
        if !seen.insert(lower.clone()) {
            d.emit("duplicate-tag", line, format!("`{tag}`"));
        }
        if !TAG.is_match(&lower) {
            d.emit("invalid-tag-format", line, format!("`{tag}`"));
            continue;
        }
        let (ns, name) = lower.split_once('.').unwrap_or_default();
        match ns {
            "attack" if !(ATTACK_TACTICS.contains(&name) || ATTACK_ID.is_match(name)) => {
                d.emit("invalid-attack-tag", line, format!("`{tag}`"))
            }
            "cve" if !CVE.is_match(name) => d.emit("invalid-cve-tag", line, format!("`{tag}`")),
            "tlp" if !matches!(name, "clear" | "white" | "green" | "amber" | "amber-strict" | "red") => {
                d.emit("invalid-tlp-tag", line, format!("`{tag}`"))
            }
            "detection" if !matches!(name, "dfir" | "emerging-threats" | "threat-hunting") => {
                d.emit("invalid-detection-tag", line, format!("`{tag}`"))
            }
            _ => {}
        }
    }
}

fn logsource(d: &mut Doc, node: &Node) {
    let ok = match node.get("logsource") {
        Some(Node::Map { entries, .. }) => entries
            .iter()
            .any(|(k, v)| matches!(k.as_str(), "category" | "product" | "service") && v.as_str().is_some()),
        _ => false,
    };
    if !ok {
        let line = node.get("logsource").map_or(node.line(), Node::line);
        d.emit("missing-logsource", line, "");
    }
}

/// The rules a correlation or filter names under `rules`.
fn references(d: &mut Doc, node: &Node) -> Vec<(String, usize)> {
    match node.get("rules") {
        Some(Node::Seq { items, .. }) => {
            items.iter().filter_map(|i| i.as_str().map(|s| (s.to_string(), i.line()))).collect()
        }
        Some(n) => match n.as_str() {
            Some(s) => vec![(s.to_string(), n.line())],
            None => {
                d.emit("invalid-document", n.line(), "`rules` must name rules by id or name");
                Vec::new()
            }
        },
        None => {
            d.emit("invalid-document", node.line(), "no `rules` to apply to");
            Vec::new()
        }
    }
}

fn detection(d: &mut Doc, det: &Node, filter: bool) {
    let Node::Map { entries, .. } = det else {
        d.emit("missing-detection", det.line(), format!("found {}", det.kind()));
        return;
    };
    let mut searches: Vec<(&str, usize)> = Vec::new();
    let mut conditions: Vec<(&str, usize)> = Vec::new();
    for (key, value) in entries {
        match key.as_str() {
            "condition" => match value {
                Node::Seq { items, .. } => {
                    conditions.extend(items.iter().filter_map(|i| i.as_str().map(|s| (s, i.line()))))
                }
                n => conditions.extend(n.as_str().map(|s| (s, n.line()))),
            },
            "timeframe" => {}
            "rules" if filter => {}
            name => {
                searches.push((name, value.line()));
                search(d, value);
            }
        }
    }
    if conditions.is_empty() {
        d.emit("missing-condition", det.line(), "");
        return;
    }
    let mut used = vec![false; searches.len()];
    let mut unreadable = false;
    for (cond, line) in conditions {
        let parsed = match condition::parse(cond) {
            Ok((c, agg)) => {
                if agg.is_some() {
                    d.emit("legacy-aggregation", line, format!("`{cond}`"));
                }
                c
            }
            Err(e) => {
                d.emit("invalid-condition", line, e.message);
                unreadable = true;
                continue;
            }
        };
        let mut names = Vec::new();
        idents(&parsed, &mut names);
        for (name, pattern) in names {
            let mut any = false;
            for (i, (s, _)) in searches.iter().enumerate() {
                let hit = if pattern { condition::pattern_matches(name, s) } else { name == Some(*s) };
                if hit {
                    used[i] = true;
                    any = true;
                }
            }
            if !any {
                let what = match (name, pattern) {
                    (Some(n), false) => format!("`{n}`"),
                    (Some(p), true) => format!("pattern `{p}` matches no search"),
                    (None, _) => "`them`, but there is no search".into(),
                };
                d.emit("unknown-search", line, what);
            }
        }
    }
    // A condition that cannot be read may use any search: say nothing.
    for ((name, line), used) in searches.iter().zip(used) {
        if !used && !unreadable {
            d.emit("unused-search", *line, format!("`{name}`"));
        }
    }
}

/// The identifiers a condition names: (name, is a pattern). `them` is (None, true).
fn idents<'a>(c: &'a Cond, out: &mut Vec<(Option<&'a str>, bool)>) {
    match c {
        Cond::Ident(s) => out.push((Some(s), false)),
        Cond::Not(x) => idents(x, out),
        Cond::And(xs) | Cond::Or(xs) => xs.iter().for_each(|x| idents(x, out)),
        Cond::Of { pattern, .. } => out.push((pattern.as_deref(), true)),
    }
}

fn search(d: &mut Doc, node: &Node) {
    match node {
        Node::Map { entries, .. } => {
            for (key, v) in entries {
                item(d, key, v);
            }
        }
        Node::Seq { items, .. } if items.iter().any(|i| matches!(i, Node::Map { .. })) => {
            for m in items {
                if let Node::Map { entries, .. } = m {
                    for (key, v) in entries {
                        item(d, key, v);
                    }
                }
            }
        }
        Node::Seq { items, .. } if items.is_empty() => d.emit("empty-value-list", node.line(), ""),
        _ => values(d, None, &[], node),
    }
}

fn item(d: &mut Doc, key: &str, value: &Node) {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    if field.contains(char::is_whitespace) {
        d.emit("field-with-space", value.line(), format!("`{field}`"));
    }
    let mut mods = Vec::new();
    for p in parts {
        match Modifier::parse(p) {
            Some(m) => mods.push(m),
            None => d.emit("unknown-modifier", value.line(), format!("`{p}` in `{key}`")),
        }
    }
    if let Node::Seq { items, .. } = value
        && items.is_empty()
    {
        d.emit("empty-value-list", value.line(), format!("`{key}`"));
        return;
    }
    values(d, Some(key).filter(|_| !field.is_empty() || !mods.is_empty()), &mods, value);
}

/// Is the character at byte `i` of `s` escaped by an odd run of backslashes?
fn escaped(s: &str, i: usize) -> bool {
    s.as_bytes()[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

fn leading_star(s: &str) -> bool {
    s.starts_with('*')
}

fn trailing_star(s: &str) -> bool {
    s.len() > 1 && s.ends_with('*') && !escaped(s, s.len() - 1)
}

/// Has `s` an unescaped `*` or `?` anywhere?
fn has_wildcard(s: &str) -> bool {
    s.char_indices().any(|(i, ch)| (ch == '*' || ch == '?') && !escaped(s, i))
}

/// The checks of one field's (or one keyword list's) values.
fn values(d: &mut Doc, key: Option<&str>, mods: &[Modifier], node: &Node) {
    use Modifier::*;
    let items: Vec<&Node> = match node {
        Node::Seq { items, .. } => items.iter().collect(),
        n => vec![n],
    };
    let label = key.map_or("keywords".to_string(), |k| format!("`{k}`"));
    let has = |m: Modifier| mods.contains(&m);
    if has(All) && items.len() == 1 {
        d.emit("all-single-value", node.line(), label.clone());
    }
    if has(Base64Offset) && !has(Contains) {
        d.emit("base64offset-without-contains", node.line(), label.clone());
    }
    let wants_string = key.is_none()
        || mods.iter().any(|m| {
            matches!(
                m,
                Contains
                    | StartsWith
                    | EndsWith
                    | Re
                    | Base64
                    | Base64Offset
                    | Windash
                    | Utf16
                    | Utf16Be
                    | Utf16Le
                    | Cidr
                    | Expand
                    | FieldRef
            )
        });
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for v in items {
        let line = v.line();
        let Node::Scalar { text, .. } = v else { continue };
        if v.is_null() || text.is_empty() {
            if wants_string && !has(Exists) {
                let what = if v.is_null() { "null" } else { "''" };
                d.emit("empty-value", line, format!("{what} in {label}"));
            }
            continue;
        }
        if text.chars().any(char::is_control) {
            d.emit("control-character", line, format!("{text:?} in {label}"));
        }
        if seen.insert(text, line).is_some() {
            d.emit("duplicate-value", line, format!("`{text}` in {label}"));
        }
        if has(Re) {
            let mut b = regex::RegexBuilder::new(text);
            b.case_insensitive(has(ReI)).multi_line(has(ReM)).dot_matches_new_line(has(ReS)).size_limit(1 << 24);
            if let Err(e) = b.build() {
                let msg = e.to_string();
                let last = msg.lines().rev().find(|l| !l.trim().is_empty()).unwrap_or("").trim().to_string();
                d.emit("invalid-regex", line, format!("`{text}`: {last}"));
            }
            continue;
        }
        if mods.iter().any(|m| matches!(m, Exists | Lt | Lte | Gt | Gte | Cidr | FieldRef | Expand)) {
            continue;
        }
        if text.chars().all(|c| c == '*') {
            d.emit("wildcard-only-value", line, label.clone());
            continue;
        }
        let (lead, trail) = (leading_star(text), trailing_star(text));
        let redundant = (has(Contains) && (lead || trail)) || (has(StartsWith) && trail) || (has(EndsWith) && lead);
        if redundant {
            d.emit("redundant-wildcard", line, format!("`{text}` in {label}"));
        } else if key.is_some() && mods.is_empty() && (lead || trail) {
            let inner = &text[usize::from(lead)..text.len() - usize::from(trail)];
            if !inner.is_empty() && !has_wildcard(inner) {
                let m = match (lead, trail) {
                    (true, true) => "contains",
                    (true, false) => "endswith",
                    _ => "startswith",
                };
                d.emit("wildcard-instead-of-modifier", line, format!("`{text}` in {label}: use `|{m}`"));
            }
        }
    }
}

/// Checks across the set: duplicate ids and titles, dangling references.
fn across(seen: &[Seen], out: &mut Vec<Finding>) {
    let mut push = |s: &Seen, id: &'static str, line: usize, detail: String| {
        let c = check(id).expect("known check");
        out.push(Finding {
            path: s.path.clone(),
            rule_id: s.id.clone(),
            check: c.id,
            severity: c.severity,
            reason: c.reason,
            detail,
            line: Some(line),
            document: s.document,
        });
    };
    for (check_id, key) in [("duplicate-id", 0), ("duplicate-title", 1)] {
        let mut groups: BTreeMap<&str, Vec<&Seen>> = BTreeMap::new();
        for s in seen {
            let k = if key == 0 { s.id.as_deref() } else { s.title.as_deref() };
            if let Some(k) = k.filter(|k| !k.trim().is_empty()) {
                groups.entry(k).or_default().push(s);
            }
        }
        for (k, group) in groups.into_iter().filter(|(_, g)| g.len() > 1) {
            for s in &group {
                let others: Vec<String> =
                    group.iter().filter(|o| !std::ptr::eq(**o, *s)).map(|o| format!("{}:{}", o.path, o.line)).collect();
                push(s, check_id, s.line, format!("`{k}` also in {}", others.join(", ")));
            }
        }
    }
    let known: HashSet<&str> = seen.iter().flat_map(|s| s.id.iter().chain(s.name.iter())).map(String::as_str).collect();
    for s in seen {
        for (r, line) in &s.refs {
            if !known.contains(r.as_str()) {
                push(s, "dangling-reference", *line, format!("`{r}`"));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The checks one detection triggers, in a rule that is otherwise clean.
    fn found(detection: &str) -> Vec<&'static str> {
        let text = format!(
            "title: T\nid: 0b5c6e1e-6a3c-4d2b-9f1e-2a7c8d9e0f11\nstatus: test\ndescription: D\nauthor: A\n\
             date: 2026-01-01\nlevel: low\nlogsource: {{product: windows}}\ndetection:\n{detection}"
        );
        let report = run(&[Source { path: "t.yml".into(), text }]);
        report.findings.iter().map(|f| f.check).collect()
    }

    #[test]
    fn escaped_wildcards_are_literal() {
        assert!(found("  s:\n    a|endswith: 'x\\*'\n  condition: s\n").is_empty());
        assert!(found("  s:\n    a|contains: 'x\\*'\n  condition: s\n").is_empty());
        assert_eq!(found("  s:\n    a|contains: 'x\\\\*'\n  condition: s\n"), ["redundant-wildcard"]);
        assert_eq!(found("  s:\n    a|startswith: '*x'\n  condition: s\n"), Vec::<&str>::new());
        assert_eq!(found("  s:\n    a|endswith: '*x'\n  condition: s\n"), ["redundant-wildcard"]);
        assert_eq!(found("  s:\n    a: 'x*'\n  condition: s\n"), ["wildcard-instead-of-modifier"]);
        assert!(
            found("  s:\n    a: '*x*y*'\n  condition: s\n").is_empty(),
            "inner wildcards need more than a modifier"
        );
    }

    #[test]
    fn patterns_them_and_underscores() {
        assert!(found("  s1:\n    a: 1\n  s2:\n    b: 2\n  condition: 1 of s*\n").is_empty());
        assert!(found("  s1:\n    a: 1\n  s2:\n    b: 2\n  condition: all of them\n").is_empty());
        assert_eq!(found("  s1:\n    a: 1\n  _x:\n    b: 2\n  condition: all of them\n"), ["unused-search"]);
        assert!(found("  s1:\n    a: 1\n  _x:\n    b: 2\n  condition: s1 and not 1 of _*\n").is_empty());
        assert_eq!(found("  s1:\n    a: 1\n  condition: s1 or 1 of f*\n"), ["unknown-search"]);
        assert_eq!(found("  s1:\n    a: 1\n  condition: s1 AND s1\n"), ["invalid-condition"]);
    }

    #[test]
    fn values_that_match_everything_or_nothing() {
        assert!(found("  s:\n    a: null\n    b: ''\n  condition: s\n").is_empty(), "absent and empty are meaningful");
        assert_eq!(found("  s:\n    a|startswith: null\n  condition: s\n"), ["empty-value"]);
        assert_eq!(found("  s:\n    - ''\n  condition: s\n"), ["empty-value"]);
        assert_eq!(found("  s:\n    a|contains|all: [x, y, x]\n  condition: s\n"), ["duplicate-value"]);
        assert!(found("  s:\n    a|exists: true\n    b|gte: 10\n    c|cidr: 10.0.0.0/8\n  condition: s\n").is_empty());
        assert_eq!(found("  s:\n    a|re|i: '[a-'\n  condition: s\n"), ["invalid-regex"]);
        assert!(found("  s:\n    a|re: '^\\d+$'\n  condition: s\n").is_empty());
    }
}
