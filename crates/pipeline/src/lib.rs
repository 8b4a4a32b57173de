//! vigie-pipeline: one event's way through vigie after decoding.
//!
//! ```text
//!   event ──▶ Detector (stateless, every core) ──▶ Detected ──▶ Stage (stateful, in order) ──▶ alerts
//!             event time, Sigma match,                          correlations, merging,
//!             entity and correlation fields,                    suppressions, behaviour
//!             the account's act (analytics)                     analytics, risk, incidents
//! ```
//!
//! `vigie replay` and `vigie run` both drive exactly these two types, which
//! is what makes a replay a faithful test of the live engine.

mod detector;
mod stage;
pub mod time;

pub use detector::{Detected, Detector, Match, Origin, RulePlan, Work};
pub use stage::{RowChanges, Rows, Stage, StageConfig, StageError, StageState, StageStats};
