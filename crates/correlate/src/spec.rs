//! A correlation rule made ready to evaluate: references resolved to
//! positions, aliases indexed, and the firing mode decided once.

use crate::window::Window;
use std::sync::Arc;
use vigie_sigma::Meta;
use vigie_sigma::condition::CmpOp;
use vigie_sigma::rule::{Correlation, CorrelationType, RuleExpr};

/// When a correlation may fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Only lower bounds (`gt`, `gte`): the condition can become true on an
    /// event, so it is checked on every event and fires at once. This is what
    /// makes a brute force visible within seconds instead of at the end of
    /// the window.
    Eager,
    /// An upper bound (`lt`, `lte`, `eq`, `neq`) can only be judged once no
    /// further event can enter the window: the window opens at its group's
    /// first event and is evaluated when the watermark passes its end.
    AtClose,
}

/// One loaded correlation.
#[derive(Debug, Clone)]
pub struct Spec {
    pub meta: Arc<Meta>,
    pub path: String,
    pub kind: CorrelationType,
    /// The `rules` references, in order (order matters for temporal_ordered).
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan_ms: i64,
    pub checks: Vec<(CmpOp, f64)>,
    /// A boolean condition over the rules (temporal types), instead of `checks`.
    pub expression: Option<RuleExpr>,
    /// The rules `expression` names without negation, in `rules` order: for
    /// temporal_ordered, these must have occurred in that order.
    pub positive: Vec<usize>,
    /// Per rule of `rules`: whether its match may open a group's window
    /// (every rule, except the negated ones of an expression with `not`:
    /// the window of `a and not b` opens on `a`).
    pub opens: Vec<bool>,
    pub field: Option<String>,
    pub percentile: f64,
    /// alias -> [(rule reference, field)]
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    pub generate: bool,
    pub mode: Mode,
}

impl Spec {
    pub fn new(path: &str, c: &Correlation) -> Spec {
        // Absence (`not rule`) can only be judged once the window closed.
        let negated = c.condition.expression.as_ref().is_some_and(RuleExpr::has_not);
        let upper = negated || c.condition.checks.iter().any(|(op, _)| !matches!(op, CmpOp::Gt | CmpOp::Gte));
        let positive = c.condition.expression.as_ref().map(RuleExpr::positive).unwrap_or_default();
        let opens = (0..c.rules.len()).map(|i| !negated || positive.contains(&i)).collect();
        Spec {
            meta: Arc::new(c.meta.clone()),
            path: path.to_string(),
            kind: c.kind,
            rules: c.rules.clone(),
            group_by: c.group_by.clone(),
            timespan_ms: (c.timespan_secs as i64).saturating_mul(1000),
            checks: c.condition.checks.clone(),
            expression: c.condition.expression.clone(),
            positive,
            opens,
            field: c.condition.field.clone(),
            percentile: c.condition.percentile.unwrap_or(95.0),
            aliases: c.aliases.clone(),
            generate: c.generate,
            mode: if upper { Mode::AtClose } else { Mode::Eager },
        }
    }

    /// A hash of what the correlation means (type, rules, grouping, span,
    /// condition, field, aliases), stable across processes: state is
    /// carried across a reload or restart only to the same definition.
    pub fn fingerprint(&self) -> u64 {
        use std::hash::Hasher;
        let mut h = rustc_hash::FxHasher::default();
        let text = format!(
            "{:?}\u{1f}{:?}\u{1f}{:?}\u{1f}{}\u{1f}{:?}\u{1f}{:?}\u{1f}{:?}\u{1f}{}\u{1f}{:?}",
            self.kind,
            self.rules,
            self.group_by,
            self.timespan_ms,
            self.checks,
            self.expression,
            self.field,
            self.percentile,
            self.aliases
        );
        h.write(text.as_bytes());
        h.finish()
    }

    /// The id alerts and state are keyed by: the rule's id, else its name,
    /// else its title (a correlation need not have an id).
    pub fn key(&self) -> &str {
        self.meta.id.as_deref().or(self.meta.name.as_deref()).unwrap_or(&self.meta.title)
    }

    /// Does the window satisfy the condition? A count is compared with every
    /// check; an expression is evaluated on which rules matched. For
    /// temporal_ordered, the rules the expression names positively count
    /// only as a chain in the order of `rules`: it holds when some set of
    /// them that occurred in that order (each after an occurrence of the one
    /// before) makes it true, negated rules being judged on presence alone.
    pub fn holds(&self, window: &Window, metric: f64) -> bool {
        let Some(e) = &self.expression else {
            return self.checks.iter().all(|&(op, v)| op.apply(metric, v));
        };
        if self.kind != CorrelationType::TemporalOrdered {
            return e.eval(&|i| window.present(i));
        }
        let present: Vec<usize> = self.positive.iter().copied().filter(|&i| window.present(i)).collect();
        // Every subset of the present rules, largest first: at most 2^8, as
        // the parser refuses an ordered expression naming more than
        // `MAX_ORDERED_RULES` rules.
        let n = present.len().min(vigie_sigma::rule::MAX_ORDERED_RULES);
        for mask in (0..1u32 << n).rev() {
            let chain: Vec<usize> =
                present.iter().take(n).enumerate().filter(|(k, _)| (mask >> k) & 1 == 1).map(|(_, &i)| i).collect();
            if !window.in_order(&chain) {
                continue;
            }
            let truth = |i: usize| if self.positive.contains(&i) { chain.contains(&i) } else { window.present(i) };
            if e.eval(&truth) {
                return true;
            }
        }
        false
    }

    /// The event field that `name` (a group-by entry or the value field)
    /// stands for in events of the rule referenced as `by`: an alias resolves
    /// per rule; anything else is a field name as is.
    pub fn resolve<'a>(&'a self, name: &'a str, by: &[&str]) -> Option<&'a str> {
        match self.aliases.iter().find(|(a, _)| a == name) {
            Some((_, per_rule)) => per_rule.iter().find(|(r, _)| by.contains(&r.as_str())).map(|(_, f)| f.as_str()),
            None => Some(name),
        }
    }

    /// What the metric is called in alerts.
    pub fn metric_name(&self) -> String {
        match self.kind {
            CorrelationType::EventCount => "event_count".into(),
            CorrelationType::ValueCount => "distinct_values".into(),
            CorrelationType::Temporal | CorrelationType::TemporalOrdered => "rules_matched".into(),
            CorrelationType::ValueSum => "sum".into(),
            CorrelationType::ValueAvg => "average".into(),
            CorrelationType::ValuePercentile => format!("p{}", self.percentile),
            CorrelationType::ValueMedian => "median".into(),
        }
    }
}
