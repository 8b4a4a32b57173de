//! vigie-correlate: the stateful half of detection.
//!
//! Sigma detection rules judge one event; correlation rules judge what many
//! matches add up to within a time span, per group (per user, per source).
//! This crate evaluates all seven Sigma v2.1 correlation types in *event*
//! time, so that a replay of last week's logs and the live stream reach the
//! same verdicts, and keeps its state bounded and serialisable, so that an
//! engine restart resumes windows instead of forgetting them.
//!
//! It knows nothing of event formats: the caller hands it rule matches with
//! a timestamp and a way to read fields ([`Signal`]).

mod engine;
mod spec;
mod window;

pub use engine::{Correlator, Firing, Limits, Signal, Snapshot, Stats};
pub use spec::{Mode, Spec};
pub use window::{Input, Window};
