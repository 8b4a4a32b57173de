//! vigie-sigma: the Sigma rule language, from YAML text to compiled matchers.
//!
//! Pure functions only: no file system, no clock, no threads. Callers hand in
//! text and get back documents, compiled rules or precise errors. That keeps
//! the rule semantics testable in isolation and reusable by every input path
//! (retro-hunts, streaming, the console's rule editor).

pub mod compile;
pub mod condition;
pub mod event;
pub mod fold;
pub mod lint;
pub mod modifier;
pub mod parse;
pub mod pattern;
pub mod placeholder;
pub mod prefilter;
pub mod rule;
pub mod ruleset;
pub mod yaml;

pub use compile::{Expr, Leaf, Test};
pub use event::{Event, FieldId, FieldTable, Kind, Val};
pub use placeholder::Placeholders;
pub use rule::{Correlation, Document, LogSource, Meta, Rule};
pub use ruleset::{Changed, Changes, CompiledRule, Rejection, RuleSet, Source};
