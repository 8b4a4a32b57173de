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

/// The seven correlation types of Sigma v2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CorrelationType {
    EventCount,
    ValueCount,
    Temporal,
    TemporalOrdered,
    ValueSum,
    ValueAvg,
    ValuePercentile,
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
            _ => return None,
        })
    }
}

/// A correlation's threshold: `op value`, on `field` for the value_* types.
#[derive(Debug, Clone, PartialEq)]
pub struct CorrelationCondition {
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
