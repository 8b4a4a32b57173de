//! vigie-alert: the *alert* stage. Turns rule matches, correlation firings
//! and analytics into one alert contract, merges repeats so an analyst sees
//! one alert with a count rather than a flood, and applies suppressions that
//! are explicit, expiring and counted.

pub mod attack;
mod duration;
pub mod ecs;
mod merge;
mod model;
pub mod ocsf;
mod severity;

pub use duration::{DurationError, duration_ms, duration_text};
pub use merge::{Merger, MergerState, Open, Suppression, SuppressionError};
pub use model::{
    Alert, AlertHeader, AlertKind, IdBuilder, Origin, RuleRef, SourceRef, Status, UserRef, alert_id, event_id, rfc3339,
};
pub use severity::{Severity, UnknownSeverity};
