//! SigmaHQ's log-source taxonomy (taxonomy.txt beside this file): which log
//! sources SigmaHQ's rules may use, the field names known for each, and the
//! fields a log source already implies. Four checks read it:
//! `unknown-logsource`, `unknown-field`, `field-name-case` and
//! `redundant-field`. Only rules are checked: a correlation has no log
//! source, and a filter's log source only narrows the rules it names.

use super::Doc;
use super::sigmahq::{CATEGORIES_WITHOUT_EVENTID, items};
use crate::yaml::Node;
use std::collections::{HashMap, HashSet};
use std::sync::LazyLock;

/// The taxonomy's text, in vigie's own format (see its header).
const TEXT: &str = include_str!("taxonomy.txt");

/// What the taxonomy says about one log source.
#[derive(Debug, Default)]
pub(super) struct Known {
    /// The field names known for it; empty when the taxonomy lists none,
    /// and then no field of a rule on it is checked.
    pub fields: HashSet<&'static str>,
    /// The fields the log source already implies (`Channel`, `EventID`).
    pub redundant: Vec<&'static str>,
}

/// A log source as (product, category, service), "" for a key left out.
pub(super) type Key = (&'static str, &'static str, &'static str);

/// The taxonomy, parsed once.
pub(super) static TAXONOMY: LazyLock<HashMap<Key, Known>> = LazyLock::new(|| parse(TEXT));

fn parse(text: &'static str) -> HashMap<Key, Known> {
    let mut out: HashMap<Key, Known> = HashMap::new();
    let mut current: Option<Key> = None;
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(rest) = line.strip_prefix("@ ") {
            let mut parts = rest.split_whitespace().map(|p| if p == "-" { "" } else { p });
            let key = (parts.next().unwrap_or(""), parts.next().unwrap_or(""), parts.next().unwrap_or(""));
            out.entry(key).or_default();
            current = Some(key);
            continue;
        }
        let Some(entry) = current.and_then(|k| out.get_mut(&k)) else { continue };
        match line.strip_prefix("redundant:") {
            Some(rest) => entry.redundant.extend(rest.split_whitespace()),
            None => entry.fields.extend(line.split_whitespace()),
        }
    }
    out
}

/// The known field written in another case, if `field` is one.
fn other_case(known: &HashSet<&'static str>, field: &str) -> Option<&'static str> {
    let lower = field.to_lowercase();
    let mut found: Vec<&'static str> = known.iter().copied().filter(|k| k.to_lowercase() == lower).collect();
    found.sort_unstable();
    found.first().copied()
}

/// The taxonomy's checks of one rule.
pub(super) fn rule(d: &mut Doc, node: &Node) {
    let Some(ls @ Node::Map { .. }) = node.get("logsource") else { return };
    // A product, category or service written as a list or a mapping names no
    // log source: left out, it would make the rule's log source another one
    // (`windows` for `{product: windows, category: [process_creation]}`),
    // silently known and its fields judged against that one.
    let odd = ["product", "category", "service"]
        .into_iter()
        .find_map(|k| ls.get(k).filter(|v| !matches!(v, Node::Scalar { .. })).map(|v| (k, v)));
    if let Some((k, v)) = odd {
        d.emit("unknown-logsource", v.line(), format!("`{k}` is {}, not a name", v.kind()));
        return;
    }
    let key = |k: &str| ls.get(k).and_then(Node::as_str).unwrap_or("");
    let (product, category, service) = (key("product"), key("category"), key("service"));
    // A log source with none of the three is `missing-logsource`'s.
    if product.is_empty() && category.is_empty() && service.is_empty() {
        return;
    }
    let Some(known) = TAXONOMY.get(&(product, category, service)) else {
        let named: Vec<String> = [("product", product), ("category", category), ("service", service)]
            .iter()
            .filter(|(_, v)| !v.is_empty())
            .map(|(k, v)| format!("{k}: {v}"))
            .collect();
        d.emit("unknown-logsource", ls.line(), format!("`{}`", named.join(", ")));
        return;
    };
    let Some(det) = node.get("detection") else { return };
    // `EventID` on a category that already selects its event is
    // `category-with-eventid`'s, which says more.
    let eventid_reported = product == "windows" && CATEGORIES_WITHOUT_EVENTID.contains(&category);
    for (key, value) in items(det) {
        let field = key.split('|').next().unwrap_or_default();
        // A keyword (no field), or a field with a space (`field-with-space`).
        if field.is_empty() || field.contains(' ') {
            continue;
        }
        let line = value.line();
        if !known.fields.is_empty() && !known.fields.contains(field) {
            match other_case(&known.fields, field) {
                Some(right) => d.emit("field-name-case", line, format!("`{field}`: the taxonomy writes `{right}`")),
                None => {
                    d.emit("unknown-field", line, format!("`{field}` on `{}`", describe(product, category, service)))
                }
            }
        }
        if known.redundant.contains(&field) && !(field == "EventID" && eventid_reported) {
            d.emit("redundant-field", line, format!("`{field}` on `{}`", describe(product, category, service)));
        }
    }
}

/// A log source written as `product/category/service`, keys left out skipped.
fn describe(product: &str, category: &str, service: &str) -> String {
    [product, category, service].iter().filter(|s| !s.is_empty()).copied().collect::<Vec<_>>().join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_taxonomy_parses() {
        let t = &*TAXONOMY;
        assert!(t.len() > 100, "{} log sources", t.len());
        let pc = &t[&("windows", "process_creation", "")];
        assert!(pc.fields.contains("CommandLine") && pc.fields.contains("sha256"));
        assert_eq!(pc.redundant, ["Channel", "EventID"]);
        assert_eq!(t[&("windows", "registry_set", "")].redundant, ["Channel", "EventID", "EventType"]);
        assert!(t[&("linux", "", "auditd")].fields.contains("cap_fe,cap_fi"));
        assert!(t[&("", "proxy", "")].fields.contains("c-uri"));
        assert!(t[&("windows", "", "security")].fields.is_empty());
        assert!(t[&("windows", "sysmon_error", "")].fields.is_empty());
        assert!(t.contains_key(&("linux", "", "")) && t.contains_key(&("", "", "apache")));
        assert!(t.contains_key(&("vigie", "data_access", "")));
        assert_eq!(other_case(&pc.fields, "commandline"), Some("CommandLine"));
        assert_eq!(other_case(&pc.fields, "CommandLines"), None);
    }

    /// The checks of the taxonomy a rule on this log source with this
    /// detection triggers.
    fn checks(logsource: &str, detection: &str) -> Vec<&'static str> {
        let text = format!(
            "title: T\nid: 0b5c6e1e-6a3c-4d2b-9f1e-2a7c8d9e0f11\nstatus: test\ndescription: A rule under test.\n\
             author: A\ndate: 2026-01-01\nlevel: low\nlogsource: {{{logsource}}}\ndetection:\n{detection}"
        );
        let report = super::super::run(&[crate::ruleset::Source { path: "rule_under_test.yml".into(), text }]);
        let ours =
            ["unknown-logsource", "unknown-field", "field-name-case", "redundant-field", "category-with-eventid"];
        report.findings.iter().map(|f| f.check).filter(|c| ours.contains(c)).collect()
    }

    #[test]
    fn each_check_fires_where_it_should_and_nowhere_else() {
        let pc = "product: windows, category: process_creation";
        let sel = |items: &str| format!("  sel:\n{items}  condition: sel\n");
        // Known fields, with modifiers, in a list of maps, and keywords: nothing.
        let good = "    Image|endswith: 'a.exe'\n    CommandLine|contains|all: [a, b]\n    sha256: abc\n";
        assert!(checks(pc, &sel(good)).is_empty());
        let list = "  sel:\n    - Image: a\n    - ParentImage: b\n  kw:\n    - whoami\n  condition: sel or kw\n";
        assert!(checks(pc, list).is_empty());
        // Unknown, in another case, implied.
        assert_eq!(checks(pc, &sel("    Imagefile: a\n")), ["unknown-field"]);
        assert_eq!(checks(pc, &sel("    image|endswith: a\n")), ["field-name-case"]);
        assert_eq!(checks(pc, &sel("    Channel: Security\n")), ["redundant-field"]);
        // EventID on a category that selects its event is reported once, by
        // `category-with-eventid`; on registry_event, which does not, here.
        assert_eq!(checks(pc, &sel("    EventID: 1\n")), ["category-with-eventid"]);
        let re = "product: windows, category: registry_event";
        assert_eq!(checks(re, &sel("    EventID: 13\n    TargetObject: x\n")), ["redundant-field"]);
        // A log source the taxonomy knows without a field list: any field.
        assert!(checks("product: windows, service: security", &sel("    AnyField: 1\n")).is_empty());
        assert!(checks("product: aws, service: cloudtrail", &sel("    eventName: x\n")).is_empty());
        // vigie's own log sources are known, their fields open.
        assert!(checks("product: vigie, category: data_access", &sel("    data_subject.count: 5\n")).is_empty());
        // An unknown log source is reported once, its fields not at all.
        assert_eq!(checks("product: windows, category: proces_creation", &sel("    X: 1\n")), ["unknown-logsource"]);
        assert_eq!(
            checks("product: Windows, category: process_creation", &sel("    Image: a\n")),
            ["unknown-logsource"]
        );
        // No log source at all, or no key of the three, is `missing-logsource`'s.
        assert!(checks("definition: x", &sel("    Image: a\n")).is_empty());
        // A key written as a list or a mapping is not left out (which would
        // make this `windows` alone, known, or `linux/auditd`, whose fields
        // `Image` is not one of): the log source is unknown, no field judged.
        assert_eq!(
            checks("product: windows, category: [process_creation]", &sel("    Image: a\n")),
            ["unknown-logsource"]
        );
        assert_eq!(
            checks("product: linux, category: {a: b}, service: auditd", &sel("    Image: a\n")),
            ["unknown-logsource"]
        );
        // A null key is left out, as pySigma leaves it.
        assert!(checks("product: windows, category: process_creation, service: ~", &sel("    Image: a\n")).is_empty());
    }

    #[test]
    fn correlations_and_odd_documents_are_left_alone() {
        let corr = "title: C\nid: 7d2f1a9c-3b4e-4c5d-8e6f-1a2b3c4d5e6f\ncorrelation:\n  type: event_count\n  rules: [x]\n  \
                    group-by: [Computer]\n  timespan: 5m\n  condition: {gte: 2}\n";
        for text in [
            corr,
            "logsource: [a, b]\ndetection: 5\n",
            "logsource: {product: windows, category: process_creation}\ndetection: [a]\n",
            "logsource: {product: {a: b}}\n",
        ] {
            let report = super::super::run(&[crate::ruleset::Source { path: "x.yml".into(), text: text.into() }]);
            assert!(
                !report
                    .findings
                    .iter()
                    .any(|f| matches!(f.check, "unknown-field" | "field-name-case" | "redundant-field")),
                "{text}: {:?}",
                report.findings
            );
        }
    }

    /// Every log source of vigie's built-in `app` mapping is known, so that
    /// vigie's own rules on them are not `unknown-logsource`.
    #[test]
    fn vigies_own_log_sources_are_known() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../mapping/builtin/app.yml");
        let text = std::fs::read_to_string(path).unwrap();
        let mut n = 0;
        for line in text.lines().filter_map(|l| l.trim().strip_prefix("- logsource: {")) {
            let body = line.trim_end_matches('}');
            let get = |k: &str| {
                body.split(',')
                    .filter_map(|kv| kv.split_once(':'))
                    .find(|(a, _)| a.trim() == k)
                    .map_or("", |(_, v)| v.trim())
                    .to_string()
            };
            let (p, c, s) = (get("product"), get("category"), get("service"));
            assert!(
                TAXONOMY.keys().any(|(a, b, x)| *a == p && *b == c && *x == s),
                "{p}/{c}/{s} of app.yml is not in taxonomy.txt"
            );
            n += 1;
        }
        assert!(n >= 4, "{n} log sources read from app.yml");
    }
}
