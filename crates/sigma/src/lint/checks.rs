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

mod d3fend;
mod sigmahq;
mod taxonomy;

/// The 14 enterprise ATT&CK tactics as SigmaHQ writes them in tags, and the
/// two that ATT&CK v19 (April 2026) split Defense Evasion into, which
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
static CAR: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9]{4}-[0-9]{2}-[0-9]{3}$").unwrap());
static STP: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[1-5][auk]?$").unwrap());

/// The tag namespaces of the Sigma specification's tags appendix (and
/// pySigma's `namespace_tag` validator).
pub const TAG_NAMESPACES: [&str; 7] = ["attack", "car", "cve", "d3fend", "detection", "stp", "tlp"];

/// The top-level keys the Sigma specification defines for rules,
/// correlations and filters.
pub const ATTRIBUTES: [&str; 22] = [
    "title",
    "id",
    "name",
    "related",
    "taxonomy",
    "status",
    "description",
    "license",
    "references",
    "author",
    "date",
    "modified",
    "tags",
    "logsource",
    "detection",
    "fields",
    "falsepositives",
    "level",
    "scope",
    "correlation",
    "filter",
    "generate",
];

/// File names shorter or longer than this (in characters, extension
/// included) are reported by `filename-length`, as by pySigma.
pub const FILENAME_LENGTH: std::ops::RangeInclusive<usize> = 10..=90;

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
            detail: escape_controls(detail.into()),
            line: (line > 0).then_some(line),
            document: self.document,
        });
    }
}

/// A finding's detail with its control characters escaped (`\u{1b}`, `\n`):
/// it echoes what a rule file says (a field name, a tag, a log source), and
/// is printed on one line to a terminal or into JUnit XML, where an escape
/// sequence or a raw control character does not belong.
fn escape_controls(detail: String) -> String {
    if !detail.chars().any(char::is_control) {
        return detail;
    }
    let mut out = String::with_capacity(detail.len() + 8);
    for c in detail.chars() {
        if c.is_control() {
            out.extend(c.escape_debug());
        } else {
            out.push(c);
        }
    }
    out
}

pub(super) fn run(sources: &[Source]) -> Report {
    let mut report = Report::default();
    let mut seen: Vec<Seen> = Vec::new();
    // Each file's name, path and first document, for `duplicate-filename`.
    let mut files: Vec<(&str, &str, usize)> = Vec::new();
    for src in sources {
        let mut d = Doc { document: report.documents.len(), path: &src.path, id: None, out: Vec::new() };
        let name = file_name(&src.path);
        let chars = name.chars().count();
        if !FILENAME_LENGTH.contains(&chars) {
            d.emit("filename-length", 0, format!("`{name}` has {chars} characters"));
        }
        sigmahq::file(&mut d, name);
        files.push((name, &src.path, d.document));
        report.findings.append(&mut d.out);
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
        let alone = docs.len() == 1;
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
            if alone {
                sigmahq::filename_prefix(&mut d, node);
            }
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
    duplicate_filenames(&files, &mut report.findings);
    report
}

/// The last component of a path written with `/` or `\`.
fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

/// Files of the set that share a name (in different folders).
fn duplicate_filenames(files: &[(&str, &str, usize)], out: &mut Vec<Finding>) {
    let mut groups: BTreeMap<&str, Vec<(&str, usize)>> = BTreeMap::new();
    for &(name, path, document) in files {
        let group = groups.entry(name).or_default();
        if !group.iter().any(|(p, _)| *p == path) {
            group.push((path, document));
        }
    }
    let c = check("duplicate-filename").expect("known check");
    for (name, group) in groups.into_iter().filter(|(_, g)| g.len() > 1) {
        for &(path, document) in &group {
            let others: Vec<&str> = group.iter().map(|(p, _)| *p).filter(|p| *p != path).collect();
            out.push(Finding {
                path: path.to_string(),
                rule_id: None,
                check: c.id,
                severity: c.severity,
                reason: c.reason,
                detail: format!("`{name}` also at {}", others.join(", ")),
                line: None,
                document,
            });
        }
    }
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
    sigmahq::document(d, node, kind);
    match kind {
        Kind::Rule => {
            logsource(d, node);
            specific_logsource(d, node);
            sigmahq::detection(d, node);
            taxonomy::rule(d, node);
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
            sigmahq::correlation(d, c);
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
    if let Node::Map { entries, .. } = node {
        for (key, value) in entries {
            if let Some(near) = near_attribute(key) {
                d.emit("unknown-attribute", value.line(), format!("`{key}`: did you mean `{near}`?"));
            }
        }
    }
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
        // `modified` alone is `modified-without-date`, which says more.
        None if node.get("modified").is_some() => {}
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
            "car" if !CAR.is_match(name) => d.emit("invalid-car-tag", line, format!("`{tag}`")),
            "stp" if !STP.is_match(name) => d.emit("invalid-stp-tag", line, format!("`{tag}`")),
            // pySigma compares the name as written: tactics and technique ids
            // lowercase, artifacts in the ontology's CamelCase
            // (`d3fend.NetworkTraffic`, which `tag-not-lowercase` reports too).
            "d3fend" if !d3fend::known(tag.split_once('.').map_or("", |(_, n)| n)) => {
                d.emit("invalid-d3fend-tag", line, format!("`{tag}`"))
            }
            ns if !TAG_NAMESPACES.contains(&ns) => d.emit("unknown-tag-namespace", line, format!("`{tag}`")),
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
    // pySigma's `fieldname_logsource`: the specification's four keys only.
    if let Some(Node::Map { entries, .. }) = node.get("logsource") {
        for (k, v) in entries {
            if !matches!(k.as_str(), "category" | "product" | "service" | "definition") {
                d.emit("unknown-logsource-key", v.line(), format!("`{k}`"));
            }
        }
    }
}

/// The generic log source category that covers a Sysmon or Security event
/// ID (pySigma's `specific_instead_of_generic_logsource` table).
fn generic_category(service: &str, event_id: u32) -> Option<&'static str> {
    Some(match (service, event_id) {
        ("sysmon", 1) | ("security", 4688) => "process_creation",
        ("sysmon", 2) => "file_change",
        ("sysmon", 3) => "network_connection",
        ("sysmon", 4 | 16) => "sysmon_status",
        ("sysmon", 5) => "process_termination",
        ("sysmon", 6) => "driver_load",
        ("sysmon", 7) => "image_load",
        ("sysmon", 8) => "create_remote_thread",
        ("sysmon", 9) => "raw_access_thread",
        ("sysmon", 10) => "process_access",
        ("sysmon", 11) => "file_event",
        ("sysmon", 12) => "registry_add, registry_delete or registry_event",
        ("sysmon", 13) => "registry_set or registry_event",
        ("sysmon", 14) => "registry_rename or registry_event",
        ("sysmon", 15) => "create_stream_hash",
        ("sysmon", 17 | 18) => "pipe_created",
        ("sysmon", 19..=21) => "wmi_event",
        ("sysmon", 22) => "dns_query",
        ("sysmon", 23) => "file_delete",
        ("sysmon", 24) => "clipboard_change",
        ("sysmon", 25) => "process_tampering",
        ("sysmon", 26) => "file_delete_detected",
        ("sysmon", 27) => "file_block_executable",
        ("sysmon", 28) => "file_block_shredding",
        ("sysmon", 29) => "file_executable_detected",
        ("sysmon", 255) => "sysmon_error",
        _ => return None,
    })
}

/// `EventID` values of a `product: windows` rule on the Sysmon or Security
/// channel that a generic category covers.
fn specific_logsource(d: &mut Doc, node: &Node) {
    let Some(ls) = node.get("logsource") else { return };
    if ls.get("product").and_then(Node::as_str) != Some("windows") {
        return;
    }
    let Some(service) = ls.get("service").and_then(Node::as_str).filter(|s| matches!(*s, "sysmon" | "security")) else {
        return;
    };
    let Some(Node::Map { entries, .. }) = node.get("detection") else { return };
    let mut maps: Vec<&Node> = Vec::new();
    for (key, search) in entries {
        match search {
            _ if key == "condition" => {}
            Node::Map { .. } => maps.push(search),
            Node::Seq { items, .. } => maps.extend(items.iter().filter(|i| matches!(i, Node::Map { .. }))),
            _ => {}
        }
    }
    for m in maps {
        let Some(v) = m.get("EventID") else { continue };
        let items: Vec<&Node> = match v {
            Node::Seq { items, .. } => items.iter().collect(),
            n => vec![n],
        };
        for i in items {
            if let Some(id) = i.as_str().and_then(|t| t.trim().parse::<u32>().ok())
                && let Some(category) = generic_category(service, id)
            {
                d.emit(
                    "specific-instead-of-generic-logsource",
                    i.line(),
                    format!("`service: {service}` with EventID {id}: use `category: {category}`"),
                );
            }
        }
    }
}

/// The Sigma attribute a top-level key is a typo of: within one edit (a
/// transposition counts as one) of a name of up to five letters, two of a
/// longer one. Keys far from every attribute are custom attributes, which
/// Sigma allows.
fn near_attribute(key: &str) -> Option<&'static str> {
    if ATTRIBUTES.contains(&key) {
        return None;
    }
    ATTRIBUTES
        .iter()
        .map(|a| (edit_distance(&key.to_lowercase(), a), *a))
        .filter(|(n, a)| *n <= if a.len() <= 5 { 1 } else { 2 })
        .min()
        .map(|(_, a)| a)
}

/// Optimal string alignment distance: insertions, deletions, substitutions
/// and transpositions of adjacent characters.
fn edit_distance(a: &str, b: &str) -> usize {
    let (a, b): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    d[0] = (0..=b.len()).collect();
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[i - 1][j] + 1).min(d[i][j - 1] + 1).min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[i - 2][j - 2] + 1);
            }
            d[i][j] = v;
        }
    }
    d[a.len()][b.len()]
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
        let mut them = Vec::new();
        thems(&parsed, &mut them);
        if !them.is_empty() && searches.len() == 1 {
            d.emit("them-with-single-search", line, format!("`{cond}` with only `{}`", searches[0].0));
        }
        if them.contains(&true) {
            d.emit("all-of-them", line, format!("`{cond}`"));
        }
        for (name, pattern) in names {
            let mut hits = 0;
            for (i, (s, _)) in searches.iter().enumerate() {
                let hit = if pattern { condition::pattern_matches(name, s) } else { name == Some(*s) };
                if hit {
                    used[i] = true;
                    hits += 1;
                }
            }
            let any = hits > 0;
            if pattern && let Some(p) = name {
                if !p.contains('*') {
                    d.emit("of-without-wildcard", line, format!("`of {p}`"));
                } else if hits == 1 && !p.starts_with("selection_") && !p.starts_with("filter_") {
                    // SigmaHQ writes `1 of selection_*` and `not 1 of filter_*`
                    // for groups that are meant to grow: as its validator, say nothing.
                    d.emit("of-single-search", line, format!("`of {p}`"));
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

/// The `1 of them` (false) and `all of them` (true) of a condition.
fn thems(c: &Cond, out: &mut Vec<bool>) {
    match c {
        Cond::Ident(_) => {}
        Cond::Not(x) => thems(x, out),
        Cond::And(xs) | Cond::Or(xs) => xs.iter().for_each(|x| thems(x, out)),
        Cond::Of { all, pattern: None } => out.push(*all),
        Cond::Of { .. } => {}
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
    let mut named = Vec::new();
    for p in parts {
        match Modifier::parse(p) {
            Some(m) => {
                mods.push(m);
                named.push((p, m));
            }
            None => d.emit("unknown-modifier", value.line(), format!("`{p}` in `{key}`")),
        }
    }
    if let Some(why) = modifier_combination(&named) {
        d.emit("invalid-modifier-combination", value.line(), format!("`{key}`: {why}"));
    }
    if let Node::Seq { items, .. } = value
        && items.is_empty()
    {
        d.emit("empty-value-list", value.line(), format!("`{key}`"));
        return;
    }
    values(d, Some(key).filter(|_| !field.is_empty() || !mods.is_empty()), &mods, value);
}

/// What is wrong with a chain of modifiers (as written, in order), if
/// anything: pairs the Sigma specification makes exclusive or meaningless.
fn modifier_combination(mods: &[(&str, Modifier)]) -> Option<String> {
    use Modifier::*;
    let name = |m: Modifier| mods.iter().find(|(_, x)| *x == m).map_or("", |(n, _)| *n);
    let pos = |m: Modifier| mods.iter().position(|(_, x)| *x == m);
    let has = |m: Modifier| pos(m).is_some();
    let list = |ms: &[Modifier]| -> Vec<&str> { ms.iter().filter(|m| has(**m)).map(|m| name(*m)).collect() };
    for (i, (n, m)) in mods.iter().enumerate() {
        if *m != Base64 && mods[..i].iter().any(|(_, x)| x == m) {
            return Some(format!("`{n}` twice"));
        }
    }
    let anchors = list(&[Contains, StartsWith, EndsWith]);
    if anchors.len() > 1 {
        return Some(format!("`{}` exclude one another", anchors.join("` and `")));
    }
    let encodings = list(&[Utf16, Utf16Le, Utf16Be]);
    if encodings.len() > 1 {
        return Some(format!("`{}` exclude one another", encodings.join("` and `")));
    }
    if has(Base64) && has(Base64Offset) {
        return Some("`base64` and `base64offset` exclude one another".into());
    }
    let comparisons = list(&[Lt, Lte, Gt, Gte]);
    if comparisons.len() > 1 {
        return Some(format!("`{}` exclude one another", comparisons.join("` and `")));
    }
    let transforms = [Contains, StartsWith, EndsWith, Windash, Base64, Base64Offset, Utf16, Utf16Le, Utf16Be];
    for (m, what) in [(Re, "a regular expression"), (Cidr, "a network"), (Exists, "true or false")] {
        let mut others: Vec<Modifier> = transforms.to_vec();
        others.extend([Re, Cidr, Exists, Lt, Lte, Gt, Gte, FieldRef].into_iter().filter(|x| *x != m));
        if m == Exists {
            others.extend([All, Cased, Neq, Expand]);
        }
        let found = list(&others);
        if has(m) && !found.is_empty() {
            return Some(format!("`{}` takes {what}, which `{}` cannot apply to", name(m), found.join("`, `")));
        }
    }
    if let Some(flag) = [ReI, ReM, ReS].into_iter().find(|f| has(*f))
        && !has(Re)
    {
        return Some(format!("the regular expression flag `{}` without `re`", name(flag)));
    }
    let comparison = comparisons.first().copied();
    if let Some(c) = comparison {
        let found = list(&transforms);
        if !found.is_empty() {
            return Some(format!("`{c}` compares numbers, which `{}` cannot apply to", found.join("`, `")));
        }
    }
    if let Some(e) = [Utf16, Utf16Le, Utf16Be].into_iter().find(|e| has(*e)) {
        let after = |b: Modifier| pos(b).is_some_and(|p| p > pos(e).unwrap_or(usize::MAX));
        if !after(Base64) && !after(Base64Offset) {
            return Some(format!("`{}` must be followed by `base64` or `base64offset`", name(e)));
        }
    }
    if has(Windash) && has(All) {
        return Some(format!(
            "`{}` makes variants of each value, and `all` would require every variant",
            name(Windash)
        ));
    }
    None
}

/// Is the character at byte `i` of `s` escaped by an odd run of backslashes?
fn escaped(s: &str, i: usize) -> bool {
    s.as_bytes()[..i].iter().rev().take_while(|&&b| b == b'\\').count() % 2 == 1
}

/// A whole number, as Python's `int()` reads it (sign and ASCII digits).
fn is_integer(s: &str) -> bool {
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit())
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
        let Node::Scalar { text, plain, .. } = v else { continue };
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
        if !plain && key.is_some() && is_integer(text) && mods.iter().all(|m| matches!(m, All | Cased | Neq)) {
            d.emit("number-as-string", line, format!("`'{text}'` in {label}"));
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
        if text.char_indices().any(|(i, ch)| ch == '*' && !escaped(text, i) && text[i + 1..].starts_with('*')) {
            d.emit("double-wildcard", line, format!("`{text}` in {label}"));
        }
        if text.char_indices().any(|(i, ch)| (ch == '*' || ch == '?') && escaped(text, i)) {
            d.emit("escaped-wildcard", line, format!("`{text}` in {label}"));
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
            "title: T\nid: 0b5c6e1e-6a3c-4d2b-9f1e-2a7c8d9e0f11\nstatus: test\ndescription: A rule under test.\nauthor: A\n\
             date: 2026-01-01\nlevel: low\nlogsource: {{product: windows}}\ndetection:\n{detection}"
        );
        let report = run(&[Source { path: "win_rule_under_test.yml".into(), text }]);
        report.findings.iter().map(|f| f.check).collect()
    }

    /// The checks a rule triggers with these lines in place of its tags.
    fn found_top(top: &str) -> Vec<&'static str> {
        let text = format!(
            "title: T\nid: 0b5c6e1e-6a3c-4d2b-9f1e-2a7c8d9e0f11\nstatus: test\ndescription: A rule under test.\nauthor: A\n\
             date: 2026-01-01\nlevel: low\n{top}detection:\n  s:\n    a: x\n  condition: s\n"
        );
        let report = run(&[Source { path: "win_rule_under_test.yml".into(), text }]);
        report.findings.iter().map(|f| f.check).collect()
    }

    #[test]
    fn escaped_wildcards_are_literal() {
        // A literal star: no redundant wildcard, only the note that it is escaped.
        assert_eq!(found("  s:\n    a|endswith: 'x\\*'\n  condition: s\n"), ["escaped-wildcard"]);
        assert_eq!(found("  s:\n    a|contains: 'x\\*'\n  condition: s\n"), ["escaped-wildcard"]);
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
        assert_eq!(found("  s1:\n    a: 1\n  s2:\n    b: 2\n  condition: all of them\n"), ["all-of-them"]);
        assert!(found("  s1:\n    a: 1\n  s2:\n    b: 2\n  condition: 1 of them\n").is_empty());
        assert_eq!(
            found("  s1:\n    a: 1\n  _x:\n    b: 2\n  condition: all of them\n"),
            ["all-of-them", "unused-search"]
        );
        assert_eq!(found("  s1:\n    a: 1\n  condition: 1 of them\n"), ["them-with-single-search"]);
        assert_eq!(found("  s1:\n    a: 1\n  condition: all of them\n"), ["them-with-single-search", "all-of-them"]);
        let single = ["of-single-search"];
        assert_eq!(found("  s1:\n    a: 1\n  condition: 1 of s*\n"), single, "a pattern is not `them`");
        assert_eq!(found("  s1:\n    a: 1\n  _x:\n    b: 2\n  condition: s1 and not 1 of _*\n"), single);
        assert_eq!(found("  s1:\n    a: 1\n  condition: all of s1\n"), ["of-without-wildcard"]);
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

    #[test]
    fn wildcards_doubled_and_escaped() {
        assert_eq!(found("  s:\n    a: 'x**y'\n  condition: s\n"), ["double-wildcard"]);
        assert_eq!(found("  s:\n    a: 'x\\**y'\n  condition: s\n"), ["escaped-wildcard"], "an escaped star, then one");
        assert_eq!(found("  s:\n    a|contains: 'C:\\Users\\*\\x'\n  condition: s\n"), ["escaped-wildcard"]);
        assert_eq!(found("  s:\n    a|contains: 'what\\?'\n  condition: s\n"), ["escaped-wildcard"]);
        assert!(
            found("  s:\n    a|contains: 'C:\\Users\\\\*\\x'\n  condition: s\n").is_empty(),
            "`\\\\*`: a backslash"
        );
        assert!(found("  s:\n    a|re: 'x\\*\\?y**'\n  condition: s\n").is_empty(), "a regex has its own syntax");
    }

    #[test]
    fn numbers_written_as_strings() {
        assert_eq!(found("  s:\n    a: '3'\n    b: \"-10\"\n  condition: s\n"), ["number-as-string"; 2]);
        assert_eq!(found("  s:\n    a: ['3', 4]\n  condition: s\n"), ["number-as-string"]);
        let fine = "  s:\n    a: 3\n    b|contains: '3'\n    c: '0x10'\n    d: '3 4'\n    e: '1.5'\n  condition: s\n";
        assert!(found(fine).is_empty());
        assert!(found("  s:\n    - '4624'\n  condition: s\n").is_empty(), "keywords are strings");
    }

    #[test]
    fn modifier_combinations() {
        let bad = |m: &str| found(&format!("  s:\n    a|{m}: x\n  condition: s\n"));
        for m in [
            "contains|endswith",
            "startswith|endswith",
            "contains|contains",
            "re|contains",
            "windash|re",
            "re|base64",
            "i",
            "re|i|i",
            "cidr|startswith",
            "exists|neq",
            "utf16le|contains",
            "base64|utf16le",
            "wide|base64|utf16be",
            "base64|base64offset|contains",
            "gt|lt",
            "gte|contains",
        ] {
            assert_eq!(bad(m), ["invalid-modifier-combination"], "{m}");
        }
        let fine = [
            "contains",
            "contains|all",
            "re|i|m|s",
            "utf16le|base64offset|contains",
            "wide|base64",
            "base64|base64",
            "windash|contains",
            "cased|endswith",
            "neq",
            "fieldref|startswith",
        ];
        for m in fine {
            assert!(!bad(m).contains(&"invalid-modifier-combination"), "{m}: {:?}", bad(m));
        }
        assert_eq!(
            found("  s:\n    a|exists|all: [true]\n  condition: s\n"),
            ["invalid-modifier-combination", "all-single-value"]
        );
        assert_eq!(
            found("  s:\n    a|windash|contains|all: ['-x', '-y']\n  condition: s\n"),
            ["invalid-modifier-combination"]
        );
    }

    #[test]
    fn tags_car_stp_and_namespaces() {
        let tags = |t: &str| found_top(&format!("logsource: {{product: windows}}\ntags: [{t}]\n"));
        assert!(tags("car.2016-04-005, stp.1u, stp.5, d3fend.d3-pa, tlp.clear").is_empty());
        assert_eq!(tags("car.2016-4-005"), ["invalid-car-tag"]);
        assert_eq!(tags("stp.1x"), ["invalid-stp-tag"]);
        assert_eq!(tags("stp.6"), ["invalid-stp-tag"]);
        assert_eq!(tags("mitre.t1059, attack.t1059, attack.execution"), ["unknown-tag-namespace"]);
        // D3FEND, compared as pySigma does, as written: tactics and technique
        // ids lowercase, artifacts in the ontology's CamelCase (which
        // `tag-not-lowercase` reports too, as pySigma's `tag_format` does).
        assert!(tags("d3fend.detect, d3fend.d3-psa, d3fend.d3-mfa, d3fend.restore").is_empty());
        assert_eq!(tags("d3fend.d3-xyz"), ["invalid-d3fend-tag"]);
        assert_eq!(tags("d3fend.networktraffic"), ["invalid-d3fend-tag"]);
        assert_eq!(tags("d3fend.detection"), ["invalid-d3fend-tag"]);
        assert_eq!(tags("d3fend.NetworkTraffic"), ["tag-not-lowercase"]);
        assert_eq!(tags("d3fend.ProcessSegment, d3fend.DigitalArtifact"), ["tag-not-lowercase", "tag-not-lowercase"]);
        assert_eq!(tags("d3fend.D3-PSA"), ["tag-not-lowercase", "invalid-d3fend-tag"]);
        assert_eq!(tags("d3fend.Detect"), ["tag-not-lowercase", "invalid-d3fend-tag"]);
        assert_eq!(tags("d3fend.D3-XYZ"), ["tag-not-lowercase", "invalid-d3fend-tag"]);
        assert_eq!(tags("d3fend.PhysicalLock"), ["tag-not-lowercase", "invalid-d3fend-tag"]);
        // A name that lowercases to a known one through Unicode (the Kelvin
        // sign) is not that name.
        assert_eq!(tags("d3fend.d3-\u{212a}"), ["tag-not-lowercase", "invalid-d3fend-tag"]);
        assert_eq!(tags("d3fend.\u{212a}"), ["tag-not-lowercase", "invalid-d3fend-tag"]);
    }

    /// What a finding echoes from the file (a field name, a tag) carries no
    /// raw control character: no terminal escape sequence, one line.
    #[test]
    fn details_escape_control_characters() {
        let text = "title: T\nid: 0b5c6e1e-6a3c-4d2b-9f1e-2a7c8d9e0f11\nstatus: test\ndescription: A rule under test.\n\
                    author: A\ndate: 2026-01-01\nlevel: low\ntags: [\"d3fend.x\\ty\"]\n\
                    logsource: {product: windows, category: process_creation}\n\
                    detection:\n  s:\n    \"Ima\\e[31mge\": a\n  condition: s\n";
        let report = run(&[Source { path: "proc_creation_win_rule_under_test.yml".into(), text: text.into() }]);
        let detail = |id: &str| report.findings.iter().find(|f| f.check == id).map(|f| f.detail.clone());
        assert_eq!(detail("unknown-field").as_deref(), Some("`Ima\\u{1b}[31mge` on `windows/process_creation`"));
        assert_eq!(detail("invalid-tag-format").as_deref(), Some("`d3fend.x\\ty`"));
        assert!(report.findings.iter().all(|f| !f.detail.chars().any(char::is_control)), "{:?}", report.findings);
        assert_eq!(escape_controls("a\nb\u{7}c é".into()), "a\\nb\\u{7}c é");
    }

    #[test]
    fn attributes_near_the_known_ones() {
        let top = |t: &str| found_top(&format!("logsource: {{product: windows}}\n{t}"));
        assert!(top("simulation: x\nregression_tests_path: y\nscope: [server]\n").is_empty());
        assert_eq!(top("note: n\n"), ["custom-attribute"]);
        assert_eq!(top("falsepositive: [x]\n"), ["unknown-attribute"]);
        assert_eq!(top("decription: x\n"), ["unknown-attribute"]);
        assert_eq!(top("Tags: [attack.t1059]\n"), ["unknown-attribute"]);
        assert_eq!(top("titel: x\n"), ["unknown-attribute"]);
        assert_eq!(top("tlp: x\n"), ["custom-attribute"], "two edits from a short attribute is a custom one");
        assert_eq!(edit_distance("refrences", "references"), 1);
        assert_eq!(edit_distance("autohr", "author"), 1);
        assert_eq!(edit_distance("", "id"), 2);
    }

    #[test]
    fn specific_logsources() {
        let rule = |ls: &str, ids: &str| {
            let text = format!(
                "title: T\nid: 0b5c6e1e-6a3c-4d2b-9f1e-2a7c8d9e0f11\nstatus: test\ndescription: A rule under test.\nauthor: A\n\
                 date: 2026-01-01\nlevel: low\nlogsource: {{{ls}}}\ndetection:\n  s:\n    EventID: {ids}\n  condition: s\n"
            );
            run(&[Source { path: "rule_under_test.yml".into(), text }])
                .findings
                .iter()
                .map(|f| f.check)
                .filter(|c| !matches!(*c, "filename-prefix" | "unknown-logsource"))
                .collect::<Vec<_>>()
        };
        let w = "specific-instead-of-generic-logsource";
        assert_eq!(rule("product: windows, service: sysmon", "[1, 255, 30]"), [w, w]);
        assert_eq!(rule("product: windows, service: security", "4688"), [w]);
        assert!(rule("product: windows, service: security", "4624").is_empty());
        assert!(rule("product: windows, service: system", "1").is_empty());
        assert!(rule("product: linux, service: sysmon", "1").is_empty());
    }

    #[test]
    fn filename_prefixes() {
        assert_eq!(sigmahq::filename_prefix_of("windows", "process_creation", ""), Some("proc_creation_win_"));
        assert_eq!(sigmahq::filename_prefix_of("windows", "", "security"), Some("win_security_"));
        assert_eq!(sigmahq::filename_prefix_of("windows", "no_such_category", ""), Some("win_"), "the product's");
        assert_eq!(sigmahq::filename_prefix_of("", "proxy", ""), Some("proxy_"));
        assert_eq!(sigmahq::filename_prefix_of("", "no_such_category", ""), None);
    }

    #[test]
    fn file_names() {
        let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/lint/clean-set.yml")).unwrap();
        let names = |paths: &[&str]| {
            let sources: Vec<Source> =
                paths.iter().map(|p| Source { path: p.to_string(), text: text.clone() }).collect();
            let mut v: Vec<_> = run(&sources)
                .findings
                .iter()
                .filter(|f| matches!(f.check, "filename-length" | "duplicate-filename"))
                .map(|f| f.check)
                .collect();
            v.dedup();
            v
        };
        let long = format!("{}.yml", "x".repeat(86));
        assert_eq!(long.len(), 90);
        assert!(names(&["rules/abcdef.yml", &format!("rules/{long}")]).is_empty());
        assert_eq!(names(&["rules/abcde.yml"]), ["filename-length"]);
        assert_eq!(names(&[&format!("rules/x{long}")]), ["filename-length"]);
        assert_eq!(names(&["a/rule_one.yml", "b\\rule_one.yml"]), ["duplicate-filename"]);
    }
}
