//! The Sigma document model, as the author wrote it, before compilation.

use crate::condition::CmpOp;
use crate::modifier::Modifier;

/// Which logs a rule applies to. Values are lowercased at load time.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct LogSource {
    pub category: Option<String>,
    pub product: Option<String>,
    pub service: Option<String>,
}

impl LogSource {
    /// True when every attribute `self` names is named identically by `other`:
    /// a rule for `{product: windows}` applies wherever `other` is Windows.
    pub fn within(&self, other: &LogSource) -> bool {
        fn ok(a: &Option<String>, b: &Option<String>) -> bool {
            a.is_none() || a == b
        }
        ok(&self.category, &other.category) && ok(&self.product, &other.product) && ok(&self.service, &other.service)
    }
}

impl std::fmt::Display for LogSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = [("product", &self.product), ("category", &self.category), ("service", &self.service)]
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}:{v}")))
            .collect();
        if parts.is_empty() { write!(f, "(any)") } else { write!(f, "{}", parts.join(" ")) }
    }
}

/// Descriptive fields shared by every document kind. Alerts copy these; DRL 1.1
/// requires that each alert carries `author`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Meta {
    pub id: Option<String>,
    pub name: Option<String>,
    pub title: String,
    pub status: Option<String>,
    pub level: Option<String>,
    pub author: Option<String>,
    pub description: Option<String>,
    pub tags: Vec<String>,
    pub references: Vec<String>,
    pub falsepositives: Vec<String>,
    pub fields: Vec<String>,
    pub date: Option<String>,
    pub modified: Option<String>,
}

impl Meta {
    /// What a correlation's `rules:` may call this rule (or correlation) by:
    /// its `id` and its `name`.
    pub fn refs(&self) -> Vec<&str> {
        self.id.iter().chain(self.name.iter()).map(String::as_str).collect()
    }
}

/// One value of a detection item: a Sigma string (still escaped) or YAML null.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Str(String),
    Null,
}

/// `field|modifiers: values`. A `None` field is a keyword (field-less) search.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub field: Option<String>,
    pub modifiers: Vec<Modifier>,
    pub values: Vec<Value>,
    pub line: usize,
}

/// A named search under `detection`.
#[derive(Debug, Clone, PartialEq)]
pub enum Search {
    /// A mapping: every item must match.
    AllOf(Vec<Item>),
    /// A list of mappings: any one must match.
    AnyOf(Vec<Vec<Item>>),
    /// A list of keywords: any one must appear.
    Keywords(Item),
}

/// The `detection` section.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    pub searches: Vec<(String, Search)>,
    /// One or more conditions; several are OR-ed (the v1 list form).
    pub conditions: Vec<String>,
    /// Legacy v1 `timeframe`, used only by aggregations.
    pub timeframe: Option<String>,
}

/// A detection rule.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    pub meta: Meta,
    pub logsource: LogSource,
    pub detection: Detection,
}

/// The seven correlation types of Sigma v2.1, and pySigma's `value_median`.
/// (pySigma's `temporal_extended` and `temporal_ordered_extended` are not
/// types in a rule's YAML: they are `temporal` and `temporal_ordered` with a
/// boolean [`RuleExpr`] as their condition.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationType {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
    ValueMedian,
}

impl CorrelationType {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "event_count" => Self::EventCount,
            "value_count" => Self::ValueCount,
            "temporal" => Self::Temporal,
            "temporal_ordered" => Self::TemporalOrdered,
            "value_sum" => Self::ValueSum,
            "value_avg" => Self::ValueAvg,
            "value_percentile" => Self::ValuePercentile,
            "value_median" => Self::ValueMedian,
            _ => return None,
        })
    }
}

/// The most rules a `temporal_ordered` expression may name positively: the
/// engine tries every subset of them in order (2^8 at most per evaluation).
pub const MAX_ORDERED_RULES: usize = 8;

/// The longest extended condition, in words.
pub const MAX_EXPRESSION_WORDS: usize = 200;

/// A boolean condition over the rules of a temporal correlation (pySigma's
/// extended temporal conditions): `rule_a and (rule_b or rule_c) and not
/// rule_d`. A rule is true when it matched in the group's window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleExpr {
    /// The position of the rule in the correlation's `rules`.
    Rule(usize),
    Not(Box<RuleExpr>),
    And(Vec<RuleExpr>),
    Or(Vec<RuleExpr>),
}

impl RuleExpr {
    pub fn eval(&self, present: &dyn Fn(usize) -> bool) -> bool {
        match self {
            RuleExpr::Rule(i) => present(*i),
            RuleExpr::Not(e) => !e.eval(present),
            RuleExpr::And(v) => v.iter().all(|e| e.eval(present)),
            RuleExpr::Or(v) => v.iter().any(|e| e.eval(present)),
        }
    }

    /// Whether some rule is negated: absence can only be judged once the
    /// window has closed.
    pub fn has_not(&self) -> bool {
        match self {
            RuleExpr::Rule(_) => false,
            RuleExpr::Not(_) => true,
            RuleExpr::And(v) | RuleExpr::Or(v) => v.iter().any(RuleExpr::has_not),
        }
    }

    /// The positions of the rules named without a negation above them,
    /// ascending, each once.
    pub fn positive(&self) -> Vec<usize> {
        fn walk(e: &RuleExpr, out: &mut Vec<usize>) {
            match e {
                RuleExpr::Rule(i) => out.push(*i),
                RuleExpr::Not(_) => {}
                RuleExpr::And(v) | RuleExpr::Or(v) => v.iter().for_each(|e| walk(e, out)),
            }
        }
        let mut out = Vec::new();
        walk(self, &mut out);
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The condition as text, naming each rule as `rules` does.
    pub fn render(&self, rules: &[String]) -> String {
        let inner = |e: &RuleExpr| match e {
            RuleExpr::And(_) | RuleExpr::Or(_) => format!("({})", e.render(rules)),
            _ => e.render(rules),
        };
        match self {
            RuleExpr::Rule(i) => rules.get(*i).cloned().unwrap_or_default(),
            RuleExpr::Not(e) => format!("not {}", inner(e)),
            RuleExpr::And(v) => v.iter().map(inner).collect::<Vec<_>>().join(" and "),
            RuleExpr::Or(v) => v.iter().map(inner).collect::<Vec<_>>().join(" or "),
        }
    }

    /// Parse `a and (b or c) and not d`, where each name is one of `rules`
    /// (`not` binds tighter than `and`, `and` than `or`).
    pub fn parse(text: &str, rules: &[String]) -> Result<RuleExpr, String> {
        let spaced = text.replace('(', " ( ").replace(')', " ) ");
        let tokens: Vec<&str> = spaced.split_whitespace().collect();
        if tokens.len() > MAX_EXPRESSION_WORDS {
            return Err(format!("condition longer than {MAX_EXPRESSION_WORDS} words"));
        }
        let mut p = ExprParser { tokens, at: 0, rules, depth: 0 };
        let e = p.or()?;
        match p.tokens.get(p.at) {
            None => Ok(e),
            Some(t) => Err(format!("unexpected `{t}` in the condition")),
        }
    }
}

struct ExprParser<'a> {
    tokens: Vec<&'a str>,
    at: usize,
    rules: &'a [String],
    depth: usize,
}

impl ExprParser<'_> {
    fn or(&mut self) -> Result<RuleExpr, String> {
        let mut v = vec![self.and()?];
        while self.tokens.get(self.at).is_some_and(|t| t.eq_ignore_ascii_case("or")) {
            self.at += 1;
            v.push(self.and()?);
        }
        Ok(if v.len() == 1 { v.pop().expect("one") } else { RuleExpr::Or(v) })
    }

    fn and(&mut self) -> Result<RuleExpr, String> {
        let mut v = vec![self.not()?];
        while self.tokens.get(self.at).is_some_and(|t| t.eq_ignore_ascii_case("and")) {
            self.at += 1;
            v.push(self.not()?);
        }
        Ok(if v.len() == 1 { v.pop().expect("one") } else { RuleExpr::And(v) })
    }

    fn not(&mut self) -> Result<RuleExpr, String> {
        match self.tokens.get(self.at).copied() {
            Some(t) if t.eq_ignore_ascii_case("not") => {
                self.depth += 1;
                if self.depth > 64 {
                    return Err("condition nested deeper than 64 levels".into());
                }
                self.at += 1;
                let e = RuleExpr::Not(Box::new(self.not()?));
                self.depth -= 1;
                Ok(e)
            }
            Some("(") => {
                self.depth += 1;
                if self.depth > 64 {
                    return Err("condition nested deeper than 64 levels".into());
                }
                self.at += 1;
                let e = self.or()?;
                if self.tokens.get(self.at).copied() != Some(")") {
                    return Err("a `(` is not closed in the condition".into());
                }
                self.at += 1;
                self.depth -= 1;
                Ok(e)
            }
            Some(name) => match self.rules.iter().position(|r| r == name) {
                Some(i) => {
                    self.at += 1;
                    Ok(RuleExpr::Rule(i))
                }
                None => Err(format!("`{name}` in the condition is not one of the correlation's `rules`")),
            },
            None => Err("the condition ends where a rule name is expected".into()),
        }
    }
}

/// A correlation's threshold: `op value`, on `field` for the value_* types.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationCondition {
    /// For temporal types, a boolean condition over the rules instead of
    /// a count (then `checks` is empty).
    pub expression: Option<RuleExpr>,
    pub checks: Vec<(CmpOp, f64)>,
    pub field: Option<String>,
    /// For value_percentile: which percentile (e.g. 95).
    pub percentile: Option<f64>,
}

/// A correlation rule (evaluated by the streaming engine).
#[derive(Debug, Clone, PartialEq)]
pub struct Correlation {
    pub meta: Meta,
    pub kind: CorrelationType,
    /// Ids or names of the rules (or correlations) it correlates.
    pub rules: Vec<String>,
    pub group_by: Vec<String>,
    pub timespan_secs: u64,
    pub condition: CorrelationCondition,
    /// alias -> (rule id or name -> field)
    pub aliases: Vec<(String, Vec<(String, String)>)>,
    pub generate: bool,
}

/// A meta filter: joined to the named rules as `(rule) and (filter)`.
#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    pub meta: Meta,
    pub logsource: LogSource,
    pub rules: Vec<String>,
    pub detection: Detection,
}

/// Any Sigma document.
#[derive(Debug, Clone, PartialEq)]
pub enum Document {
    Rule(Rule),
    Correlation(Correlation),
    Filter(Filter),
}

impl Document {
    pub fn meta(&self) -> &Meta {
        match self {
            Document::Rule(r) => &r.meta,
            Document::Correlation(c) => &c.meta,
            Document::Filter(f) => &f.meta,
        }
    }
}
