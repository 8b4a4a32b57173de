//! From the YAML tree to Sigma documents, with errors that name the line and
//! the construct at fault.

use crate::condition::CmpOp;
use crate::modifier::Modifier;
use crate::rule::*;
use crate::yaml::Node;
use thiserror::Error;

/// Why a document could not be read.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

fn err<T>(node: &Node, message: impl Into<String>) -> Result<T, ParseError> {
    Err(ParseError { line: node.line(), message: message.into() })
}

fn string_list(node: Option<&Node>) -> Vec<String> {
    match node {
        Some(Node::Seq { items, .. }) => items.iter().filter_map(|n| n.as_str().map(str::to_string)).collect(),
        Some(n) => n.as_str().map(|s| vec![s.to_string()]).unwrap_or_default(),
        None => Vec::new(),
    }
}

fn opt_str(node: &Node, key: &str) -> Option<String> {
    node.get(key).and_then(Node::as_str).map(str::to_string)
}

fn meta(doc: &Node) -> Meta {
    Meta {
        id: opt_str(doc, "id"),
        name: opt_str(doc, "name"),
        title: opt_str(doc, "title").unwrap_or_default(),
        status: opt_str(doc, "status"),
        level: opt_str(doc, "level").map(|l| l.to_lowercase()),
        author: opt_str(doc, "author"),
        description: opt_str(doc, "description"),
        tags: string_list(doc.get("tags")),
        references: string_list(doc.get("references")),
        falsepositives: string_list(doc.get("falsepositives")),
        fields: string_list(doc.get("fields")),
        date: opt_str(doc, "date"),
        modified: opt_str(doc, "modified"),
    }
}

fn logsource(doc: &Node) -> LogSource {
    let ls = doc.get("logsource");
    let get = |k: &str| ls.and_then(|l| opt_str(l, k)).map(|s| s.to_lowercase());
    LogSource { category: get("category"), product: get("product"), service: get("service") }
}

/// Read one YAML document as a Sigma rule, correlation or filter.
pub fn document(doc: &Node) -> Result<Document, ParseError> {
    if !matches!(doc, Node::Map { .. }) {
        return err(doc, format!("a Sigma document must be a mapping, found {}", doc.kind()));
    }
    let m = meta(doc);
    if m.title.is_empty() {
        return err(doc, "missing required field `title`");
    }
    if let Some(c) = doc.get("correlation") {
        return Ok(Document::Correlation(correlation(doc, c, m)?));
    }
    if let Some(f) = doc.get("filter") {
        let rules = string_list(f.get("rules"));
        let det = detection(f)?;
        return Ok(Document::Filter(Filter { meta: m, logsource: logsource(doc), rules, detection: det }));
    }
    let Some(det) = doc.get("detection") else {
        return err(doc, "missing `detection` (and not a correlation or filter document)");
    };
    if doc.get("logsource").is_none() {
        return err(doc, "missing required field `logsource`");
    }
    Ok(Document::Rule(Rule { meta: m, logsource: logsource(doc), detection: detection(det)? }))
}

fn detection(det: &Node) -> Result<Detection, ParseError> {
    let Node::Map { entries, .. } = det else {
        return err(det, format!("`detection` must be a mapping, found {}", det.kind()));
    };
    let mut searches = Vec::new();
    let mut conditions = Vec::new();
    let mut timeframe = None;
    for (key, value) in entries {
        match key.as_str() {
            "condition" => match value {
                Node::Seq { items, .. } => {
                    for i in items {
                        match i.as_str() {
                            Some(s) => conditions.push(s.to_string()),
                            None => return err(i, "each condition must be a string"),
                        }
                    }
                }
                n => match n.as_str() {
                    Some(s) => conditions.push(s.to_string()),
                    None => return err(n, "`condition` must be a string"),
                },
            },
            "timeframe" => timeframe = value.as_str().map(str::to_string),
            // A filter document lists its target rules beside its searches.
            "rules" => {}
            name => searches.push((name.to_string(), search(name, value)?)),
        }
    }
    if conditions.is_empty() {
        return err(det, "missing `condition`");
    }
    Ok(Detection { searches, conditions, timeframe })
}

fn search(name: &str, node: &Node) -> Result<Search, ParseError> {
    match node {
        Node::Map { entries, .. } => {
            let mut items = Vec::new();
            for (key, v) in entries {
                items.push(item(key, v, node.line())?);
            }
            Ok(Search::AllOf(items))
        }
        Node::Seq { items, .. } => {
            if items.iter().all(|i| matches!(i, Node::Map { .. })) && !items.is_empty() {
                let mut alts = Vec::new();
                for m in items {
                    let Node::Map { entries, .. } = m else { unreachable!() };
                    let mut its = Vec::new();
                    for (key, v) in entries {
                        its.push(item(key, v, m.line())?);
                    }
                    alts.push(its);
                }
                Ok(Search::AnyOf(alts))
            } else if items.iter().all(|i| matches!(i, Node::Scalar { .. })) {
                Ok(Search::Keywords(Item {
                    field: None,
                    modifiers: Vec::new(),
                    values: items.iter().map(scalar_value).collect(),
                    line: node.line(),
                }))
            } else {
                err(node, format!("search `{name}` mixes mappings and plain values in one list"))
            }
        }
        Node::Scalar { .. } => Ok(Search::Keywords(Item {
            field: None,
            modifiers: Vec::new(),
            values: vec![scalar_value(node)],
            line: node.line(),
        })),
    }
}

fn scalar_value(n: &Node) -> Value {
    match n {
        _ if n.is_null() => Value::Null,
        Node::Scalar { text, .. } => Value::Str(text.clone()),
        _ => Value::Null,
    }
}

fn item(key: &str, value: &Node, line: usize) -> Result<Item, ParseError> {
    let mut parts = key.split('|');
    let field = parts.next().unwrap_or_default();
    let mut modifiers = Vec::new();
    for p in parts {
        match Modifier::parse(p) {
            Some(m) => modifiers.push(m),
            None => {
                return Err(ParseError { line, message: format!("unknown modifier `{p}` in `{key}`") });
            }
        }
    }
    let values = match value {
        Node::Seq { items, .. } => {
            let mut vs = Vec::new();
            for i in items {
                if !matches!(i, Node::Scalar { .. }) {
                    return err(i, format!("values of `{key}` must be plain values, found {}", i.kind()));
                }
                vs.push(scalar_value(i));
            }
            vs
        }
        Node::Scalar { .. } => vec![scalar_value(value)],
        Node::Map { .. } => {
            return err(value, format!("`{key}` maps to a mapping; expected a value or a list"));
        }
    };
    let field = if field.is_empty() { None } else { Some(field.to_string()) };
    Ok(Item { field, modifiers, values, line: value.line() })
}

/// Parse a timespan such as `30s`, `5m`, `1h`, `7d`, `2w`.
pub fn timespan_secs(s: &str) -> Option<u64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = num.parse().ok()?;
    let mult = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "M" => 30 * 86_400,
        "y" => 365 * 86_400,
        _ => return None,
    };
    n.checked_mul(mult)
}

fn correlation(doc: &Node, c: &Node, meta: Meta) -> Result<Correlation, ParseError> {
    let Some(t) = opt_str(c, "type") else {
        return err(c, "correlation without `type`");
    };
    let Some(kind) = CorrelationType::parse(&t) else {
        return err(c, format!("unknown correlation type `{t}`"));
    };
    let rules = string_list(c.get("rules"));
    if rules.is_empty() {
        return err(c, "correlation without `rules`");
    }
    let group_by = string_list(c.get("group-by"));
    let Some(ts) = opt_str(c, "timespan").or_else(|| opt_str(c, "timeframe")) else {
        return err(c, "correlation without `timespan`");
    };
    let Some(timespan_secs) = timespan_secs(&ts) else {
        return err(c, format!("invalid timespan `{ts}` (expected e.g. 30s, 5m, 1h, 7d)"));
    };
    let mut cond = CorrelationCondition { expression: None, checks: Vec::new(), field: None, percentile: None };
    match c.get("condition") {
        Some(n @ Node::Map { entries, .. }) => {
            for (k, v) in entries {
                let op = match k.as_str() {
                    "gt" => CmpOp::Gt,
                    "gte" => CmpOp::Gte,
                    "lt" => CmpOp::Lt,
                    "lte" => CmpOp::Lte,
                    "eq" => CmpOp::Eq,
                    "neq" => CmpOp::Neq,
                    "field" => {
                        cond.field = match v {
                            Node::Seq { .. } => string_list(Some(v)).into_iter().next(),
                            _ => v.as_str().map(str::to_string),
                        };
                        continue;
                    }
                    "percentile" => {
                        cond.percentile = v.as_str().and_then(|s| s.parse().ok());
                        continue;
                    }
                    other => return err(n, format!("unknown correlation condition key `{other}`")),
                };
                let Some(x) = v.as_str().and_then(|s| s.parse::<f64>().ok()) else {
                    return err(v, format!("correlation condition `{k}` needs a number"));
                };
                cond.checks.push((op, x));
            }
        }
        Some(n)
            if matches!(kind, CorrelationType::Temporal | CorrelationType::TemporalOrdered) && n.as_str().is_some() =>
        {
            // pySigma's extended temporal condition: a boolean expression
            // over the rules (`rule_a and not rule_b`).
            let text = n.as_str().unwrap_or_default();
            match crate::rule::RuleExpr::parse(text, &rules) {
                Ok(e) => {
                    let named = e.positive();
                    if kind == CorrelationType::TemporalOrdered && named.len() > crate::rule::MAX_ORDERED_RULES {
                        return err(
                            n,
                            format!(
                                "a temporal_ordered condition may name at most {} rules without `not` ({} here)",
                                crate::rule::MAX_ORDERED_RULES,
                                named.len()
                            ),
                        );
                    }
                    cond.expression = Some(e)
                }
                Err(m) => return err(n, m),
            }
        }
        None if matches!(kind, CorrelationType::Temporal | CorrelationType::TemporalOrdered) => {
            // The specification's default: every listed rule must have matched.
            cond.checks.push((CmpOp::Gte, rules.len() as f64));
        }
        Some(n) => {
            return err(
                n,
                "correlation `condition` must be a mapping such as `gte: 10` (or, for temporal types, an expression over the rules such as `a and not b`)",
            );
        }
        None => return err(c, "correlation without `condition`"),
    }
    let needs_field = matches!(
        kind,
        CorrelationType::ValueCount
            | CorrelationType::ValueSum
            | CorrelationType::ValueAvg
            | CorrelationType::ValuePercentile
            | CorrelationType::ValueMedian
    );
    if needs_field && cond.field.is_none() {
        return err(c, format!("correlation type `{t}` needs `condition.field`"));
    }
    if kind == CorrelationType::ValuePercentile && cond.percentile.is_none() {
        cond.percentile = Some(95.0);
    }
    let mut aliases = Vec::new();
    if let Some(Node::Map { entries, .. }) = c.get("aliases") {
        for (alias, m) in entries {
            let mut per_rule = Vec::new();
            if let Node::Map { entries, .. } = m {
                for (r, f) in entries {
                    if let Some(f) = f.as_str() {
                        per_rule.push((r.clone(), f.to_string()));
                    }
                }
            }
            aliases.push((alias.clone(), per_rule));
        }
    }
    let generate = c
        .get("generate")
        .or_else(|| doc.get("generate"))
        .and_then(Node::as_str)
        .is_some_and(|s| s.eq_ignore_ascii_case("true"));
    Ok(Correlation { meta, kind, rules, group_by, timespan_secs, condition: cond, aliases, generate })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::parse_documents;

    fn doc(s: &str) -> Result<Document, ParseError> {
        document(&parse_documents(s).unwrap()[0])
    }

    #[test]
    fn reads_a_rule() {
        let d = doc("title: T\nid: x\nauthor: A\nlogsource: {product: Windows}\ndetection:\n  sel:\n    EventID: 00000429\n    Image|endswith: ['\\a.exe', '\\b.exe']\n  kw:\n    - evil\n  condition: sel or kw\n").unwrap();
        let Document::Rule(r) = d else { panic!() };
        assert_eq!(r.logsource.product.as_deref(), Some("windows"));
        let Search::AllOf(items) = &r.detection.searches[0].1 else { panic!() };
        assert_eq!(items[0].values, vec![Value::Str("00000429".into())]);
        assert_eq!(items[1].modifiers, vec![Modifier::EndsWith]);
        assert!(matches!(r.detection.searches[1].1, Search::Keywords(_)));
    }

    #[test]
    fn unknown_modifier_is_named() {
        let e = doc("title: T\nlogsource: {}\ndetection:\n  sel:\n    a|bogus: 1\n  condition: sel\n").unwrap_err();
        assert!(e.message.contains("`bogus`"), "{e}");
        assert_eq!(e.line, 5);
    }

    #[test]
    fn reads_a_correlation() {
        let d = doc("title: C\ncorrelation:\n  type: value_count\n  rules: [a]\n  group-by: [src]\n  timespan: 5m\n  condition:\n    gte: 10\n    field: user\n").unwrap();
        let Document::Correlation(c) = d else { panic!() };
        assert_eq!(c.timespan_secs, 300);
        assert_eq!(c.condition.field.as_deref(), Some("user"));
        assert!(!c.generate);
        let d = doc("title: C\ncorrelation:\n  type: temporal\n  rules: [a, b]\n  timespan: 1h\n").unwrap();
        let Document::Correlation(c) = d else { panic!() };
        assert_eq!(c.condition.checks, vec![(CmpOp::Gte, 2.0)]);
    }

    #[test]
    fn timespans() {
        assert_eq!(timespan_secs("90s"), Some(90));
        assert_eq!(timespan_secs("2d"), Some(172_800));
        assert_eq!(timespan_secs("x"), None);
    }
}
