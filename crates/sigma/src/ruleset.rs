//! Loading a whole rule collection: parse every document, join meta filters,
//! translate legacy aggregations, compile, and account for every rule that
//! could not be used. Nothing is dropped silently: every document ends up
//! either compiled, parsed as a correlation, applied as a filter, or rejected
//! with its path, id and reason.

use crate::compile::{Compiler, Expr};
use crate::condition::{self, CmpOp};
use crate::event::FieldTable;
use crate::parse::{self, timespan_secs};
use crate::placeholder::Placeholders;
use crate::rule::*;
use crate::yaml;
use std::sync::Arc;

/// One rule file's text and the path to report it by.
#[derive(Debug, Clone)]
pub struct Source {
    pub path: String,
    pub text: String,
}

/// A rule ready to run.
#[derive(Debug, Clone)]
pub struct CompiledRule {
    pub meta: Arc<Meta>,
    pub logsource: LogSource,
    pub expr: Expr,
    pub path: String,
    /// False for the base rule of a translated legacy aggregation: it feeds
    /// its correlation but is not an alert by itself (Sigma's `generate: false`).
    pub emit: bool,
}

/// A document that was not loaded, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub path: String,
    pub id: Option<String>,
    pub reason: String,
}

/// A loaded rule collection.
#[derive(Debug, Default)]
pub struct RuleSet {
    pub rules: Vec<CompiledRule>,
    pub correlations: Vec<(String, Correlation)>,
    /// Filters and the number of rules each was joined to.
    pub filters: Vec<(String, Filter, usize)>,
    pub rejected: Vec<Rejection>,
    pub fields: FieldTable,
}

impl RuleSet {
    /// Load and compile every document of every source.
    pub fn load(sources: &[Source], placeholders: &Placeholders) -> RuleSet {
        let mut set = RuleSet::default();
        let mut rules: Vec<(String, Rule)> = Vec::new();
        let mut filters: Vec<(String, Filter)> = Vec::new();
        for src in sources {
            let docs = match yaml::parse_documents(&src.text) {
                Ok(d) => d,
                Err(e) => {
                    set.reject(&src.path, None, e.to_string());
                    continue;
                }
            };
            // An empty document (a stray `---`) holds no rule; a file with no
            // document at all is reported, since its author meant something.
            let docs: Vec<&yaml::Node> = docs.iter().filter(|n| !n.is_null()).collect();
            if docs.is_empty() {
                set.reject(&src.path, None, "no Sigma document in this file".into());
                continue;
            }
            for node in docs {
                let id = node.get("id").and_then(yaml::Node::as_str).map(str::to_string);
                match parse::document(node) {
                    Ok(Document::Rule(r)) => rules.push((src.path.clone(), r)),
                    Ok(Document::Filter(f)) => filters.push((src.path.clone(), f)),
                    Ok(Document::Correlation(c)) => set.correlations.push((src.path.clone(), c)),
                    Err(e) => set.reject(&src.path, id, e.to_string()),
                }
            }
        }
        let mut filter_uses = vec![0usize; filters.len()];
        for (path, rule) in rules {
            let applicable: Vec<usize> =
                filters.iter().enumerate().filter(|(_, (_, f))| targets(f, &rule)).map(|(i, _)| i).collect();
            match set.compile_rule(&path, rule, &filters, &applicable, placeholders) {
                Ok(()) => applicable.iter().for_each(|&i| filter_uses[i] += 1),
                Err((id, reason)) => set.reject(&path, id, reason),
            }
        }
        set.filters = filters.into_iter().zip(filter_uses).map(|((p, f), n)| (p, f, n)).collect();
        set.check_correlation_references();
        set
    }

    /// A correlation over rules that are not loaded could never fire: reject
    /// it, naming the missing rule, instead of keeping it silently inert.
    fn check_correlation_references(&mut self) {
        let mut known: std::collections::HashSet<String> = std::collections::HashSet::new();
        for r in &self.rules {
            known.extend(r.meta.id.iter().cloned());
            known.extend(r.meta.name.iter().cloned());
        }
        for (_, c) in &self.correlations {
            known.extend(c.meta.id.iter().cloned());
            known.extend(c.meta.name.iter().cloned());
        }
        let mut kept = Vec::new();
        for (path, c) in std::mem::take(&mut self.correlations) {
            match c.rules.iter().find(|r| !known.contains(*r)) {
                Some(missing) => {
                    let reason =
                        format!("correlation refers to `{missing}`, which is not a loaded rule or correlation");
                    self.reject(&path, c.meta.id.clone(), reason);
                }
                None => kept.push((path, c)),
            }
        }
        self.correlations = kept;
    }

    fn reject(&mut self, path: &str, id: Option<String>, reason: String) {
        self.rejected.push(Rejection { path: path.to_string(), id, reason });
    }

    fn compile_rule(
        &mut self,
        path: &str,
        mut rule: Rule,
        filters: &[(String, Filter)],
        applicable: &[usize],
        placeholders: &Placeholders,
    ) -> Result<(), (Option<String>, String)> {
        let id = rule.meta.id.clone();
        let fail = |m: String| (id.clone(), m);
        // A legacy `| count() by x > n` becomes a base rule plus a correlation.
        let mut aggregation = None;
        for c in &mut rule.detection.conditions {
            let (_, agg) = condition::parse(c).map_err(|e| fail(e.to_string()))?;
            if let Some(agg) = agg {
                if aggregation.is_some() {
                    return Err(fail("several aggregated conditions in one rule".into()));
                }
                *c = c.split('|').next().unwrap_or_default().trim().to_string();
                aggregation = Some(agg);
            }
        }
        let correlation = match aggregation {
            None => None,
            Some(agg) => Some(legacy_correlation(&rule, agg).map_err(fail)?),
        };
        let mut compiler = Compiler { fields: &mut self.fields, placeholders };
        let mut expr = compiler.detection(&rule.detection).map_err(|e| fail(e.message))?;
        for &i in applicable {
            let (fpath, f) = &filters[i];
            let fexpr = compiler
                .detection(&f.detection)
                .map_err(|e| fail(format!("filter `{}` ({fpath}): {}", f.meta.title, e.message)))?;
            expr = Expr::And(vec![expr, fexpr]);
        }
        let emit = correlation.is_none();
        if let Some(c) = correlation {
            self.correlations.push((path.to_string(), c));
        }
        self.rules.push(CompiledRule {
            meta: Arc::new(rule.meta),
            logsource: rule.logsource,
            expr,
            path: path.to_string(),
            emit,
        });
        Ok(())
    }

    /// Number of documents loaded (rules, correlations and filters).
    pub fn loaded(&self) -> usize {
        self.rules.iter().filter(|r| r.emit).count() + self.correlations.len() + self.filters.len()
    }
}

/// A filter applies to a rule it names (by id or name) whose log source is
/// within the filter's.
fn targets(f: &Filter, rule: &Rule) -> bool {
    let named = f.rules.iter().any(|r| Some(r) == rule.meta.id.as_ref() || Some(r) == rule.meta.name.as_ref());
    named && f.logsource.within(&rule.logsource)
}

/// Translate a v1 aggregation into the equivalent v2 correlation, or say why
/// there is none.
fn legacy_correlation(rule: &Rule, agg: condition::Aggregation) -> Result<Correlation, String> {
    let Some(tf) = rule.detection.timeframe.as_deref() else {
        return Err("legacy aggregation without `timeframe`: no window to count in".into());
    };
    let Some(timespan_secs) = timespan_secs(tf) else {
        return Err(format!("invalid timeframe `{tf}`"));
    };
    let kind = match (agg.function.as_str(), agg.field.is_some()) {
        ("count", false) => CorrelationType::EventCount,
        ("count", true) => CorrelationType::ValueCount,
        ("sum", true) => CorrelationType::ValueSum,
        ("avg", true) => CorrelationType::ValueAvg,
        (f @ ("min" | "max"), _) => {
            return Err(format!("legacy `{f}()` aggregation has no Sigma v2.1 correlation equivalent"));
        }
        (f, false) => return Err(format!("legacy `{f}()` aggregation needs a field")),
        (f, _) => return Err(format!("unknown aggregation `{f}`")),
    };
    let Some(base) = rule.meta.id.clone().or_else(|| rule.meta.name.clone()) else {
        return Err("legacy aggregation in a rule without `id` cannot be referenced by a correlation".into());
    };
    let checks = match agg.op {
        CmpOp::Neq => return Err("`!=` is not a correlation condition".into()),
        op => vec![(op, agg.value)],
    };
    let mut meta = rule.meta.clone();
    meta.id = rule.meta.id.as_ref().map(|id| format!("{id}-correlation"));
    Ok(Correlation {
        meta,
        kind,
        rules: vec![base],
        group_by: agg.group_by,
        timespan_secs,
        condition: CorrelationCondition { expression: None, checks, field: agg.field, percentile: None },
        aliases: Vec::new(),
        generate: false,
    })
}

/// One rule or correlation of a [`Changes`] list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    /// Its id, else its name, else `path: title`.
    pub key: String,
    pub title: String,
    pub author: Option<String>,
}

/// What a new rule set changed from the one before it: rules and
/// correlations added, removed, or changed in meaning or description (their
/// log source, condition, searches, level, tags or any other field).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Changes {
    pub added: Vec<Changed>,
    pub removed: Vec<Changed>,
    pub changed: Vec<Changed>,
}

impl Changes {
    pub fn is_empty(&self) -> bool {
        self.added.is_empty() && self.removed.is_empty() && self.changed.is_empty()
    }
}

impl RuleSet {
    /// Every rule and correlation by its key, with a hash of its whole
    /// definition (the compiled condition's printed form included).
    fn definitions(&self) -> std::collections::HashMap<String, (u64, Changed)> {
        use std::hash::{Hash, Hasher};
        let mut out = std::collections::HashMap::new();
        let mut put = |meta: &Meta, path: &str, text: String| {
            let key =
                meta.id.clone().or_else(|| meta.name.clone()).unwrap_or_else(|| format!("{path}: {}", meta.title));
            let mut h = std::hash::DefaultHasher::new();
            text.hash(&mut h);
            let entry = Changed { key: key.clone(), title: meta.title.clone(), author: meta.author.clone() };
            out.insert(key, (h.finish(), entry));
        };
        for r in &self.rules {
            put(&r.meta, &r.path, format!("{:?}\u{1f}{:?}\u{1f}{:?}\u{1f}{}", r.meta, r.logsource, r.expr, r.emit));
        }
        for (path, c) in &self.correlations {
            put(&c.meta, path, format!("{c:?}"));
        }
        out
    }

    /// What this set changed from `before`, each list sorted by key.
    pub fn changes_from(&self, before: &RuleSet) -> Changes {
        let (old, new) = (before.definitions(), self.definitions());
        let mut c = Changes::default();
        for (k, (h, e)) in &new {
            match old.get(k) {
                None => c.added.push(e.clone()),
                Some((h0, _)) if h0 != h => c.changed.push(e.clone()),
                Some(_) => {}
            }
        }
        c.removed = old.iter().filter(|(k, _)| !new.contains_key(*k)).map(|(_, (_, e))| e.clone()).collect();
        for l in [&mut c.added, &mut c.removed, &mut c.changed] {
            l.sort_by(|a, b| a.key.cmp(&b.key));
        }
        c
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> RuleSet {
        RuleSet::load(&[Source { path: "t.yml".into(), text: text.into() }], &Placeholders::default())
    }

    #[test]
    fn changes_name_rules_added_removed_and_changed() {
        let rule = |id: &str, value: &str, author: &str| {
            format!(
                "title: T {id}\nid: {id}\nauthor: {author}\nlogsource:\n  product: windows\ndetection:\n  s:\n    Image: '{value}'\n  condition: s\n"
            )
        };
        let before =
            load(&format!("{}---\n{}---\n{}", rule("a", "x", "Ann"), rule("b", "y", "Bo"), rule("c", "z", "Cy")));
        let after =
            load(&format!("{}---\n{}---\n{}", rule("a", "x", "Ann"), rule("b", "y2", "Bea"), rule("d", "w", "Di")));
        let c = after.changes_from(&before);
        let keys = |l: &[Changed]| l.iter().map(|e| e.key.clone()).collect::<Vec<_>>();
        assert_eq!(keys(&c.added), ["d"]);
        assert_eq!(keys(&c.removed), ["c"]);
        assert_eq!(keys(&c.changed), ["b"]);
        assert_eq!(c.changed[0].author.as_deref(), Some("Bea"));
        assert!(after.changes_from(&after).is_empty());
    }

    #[test]
    fn rejects_are_reported_with_id_and_reason() {
        let set = load(
            "title: A\nid: a1\nlogsource: {product: windows}\ndetection:\n  sel:\n    x|nope: 1\n  condition: sel\n---\ntitle: B\nid: b1\nlogsource: {product: windows}\ndetection:\n  sel:\n    x: 1\n  condition: sel\n",
        );
        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.rejected.len(), 1);
        assert_eq!(set.rejected[0].id.as_deref(), Some("a1"));
        assert!(set.rejected[0].reason.contains("nope"));
    }

    /// Issue 16: a billion-laughs rule is rejected with its file and the
    /// line of the alias that crossed the budget; the other files still load.
    #[test]
    fn a_rule_over_the_alias_budget_is_rejected_and_the_rest_load() {
        let good = "title: B\nid: b1\nlogsource: {product: windows}\ndetection:\n  sel:\n    x: 1\n  condition: sel\n";
        let set = RuleSet::load(
            &[
                Source { path: "laughs.yml".into(), text: crate::yaml::tests::laughs() },
                Source { path: "good.yml".into(), text: good.into() },
            ],
            &Placeholders::default(),
        );
        assert_eq!(set.rules.len(), 1);
        assert_eq!(set.rejected.len(), 1);
        assert_eq!(set.rejected[0].path, "laughs.yml");
        assert!(set.rejected[0].reason.contains("at line"), "{}", set.rejected[0].reason);
        assert!(set.rejected[0].reason.contains("aliases expand"), "{}", set.rejected[0].reason);
    }

    #[test]
    fn legacy_count_becomes_a_correlation() {
        let set = load(
            "title: A\nid: a1\nlogsource: {product: windows}\ndetection:\n  sel:\n    EventID: 4625\n  timeframe: 10m\n  condition: sel | count(TargetUserName) by IpAddress > 20\n",
        );
        assert_eq!(set.rules.len(), 1);
        assert!(!set.rules[0].emit);
        let (_, c) = &set.correlations[0];
        assert_eq!(c.kind, CorrelationType::ValueCount);
        assert_eq!(c.group_by, vec!["IpAddress"]);
        assert_eq!(c.timespan_secs, 600);
        assert_eq!(c.rules, vec!["a1"]);
        let set = load(
            "title: A\nid: a1\nlogsource: {product: windows}\ndetection:\n  sel:\n    EventID: 4625\n  condition: sel | count() > 20\n",
        );
        assert!(set.rejected[0].reason.contains("timeframe"));
        let set = load(
            "title: A\nid: a1\nlogsource: {product: windows}\ndetection:\n  sel:\n    EventID: 4625\n  timeframe: 1m\n  condition: sel | max(x) > 20\n",
        );
        assert!(set.rejected[0].reason.contains("max()"));
    }

    #[test]
    fn empty_files_and_dangling_correlations_are_reported() {
        let set = load("# nothing here\n");
        assert_eq!(set.rejected[0].reason, "no Sigma document in this file");
        let set = load("title: A\nid: a1\nlogsource: {product: x}\ndetection:\n  s:\n    f: 1\n  condition: s\n---\n");
        assert!(set.rejected.is_empty(), "a trailing --- is not a rule: {:?}", set.rejected);
        let set = load(
            "title: C\nid: c1\ncorrelation:\n  type: event_count\n  rules: [nope]\n  timespan: 5m\n  condition: {gte: 2}\n",
        );
        assert!(set.correlations.is_empty());
        assert!(set.rejected[0].reason.contains("`nope`"), "{:?}", set.rejected);
    }

    #[test]
    fn filters_join_named_rules() {
        let set = load(
            "title: A\nid: a1\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    Image|endswith: x.exe\n  condition: sel\n---\ntitle: F\nlogsource: {product: windows}\nfilter:\n  rules: [a1]\n  sel:\n    User: admin\n  condition: not sel\n",
        );
        assert_eq!(set.filters.len(), 1);
        assert_eq!(set.filters[0].2, 1);
        assert!(matches!(set.rules[0].expr, Expr::And(_)));
    }
}
