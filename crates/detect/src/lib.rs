//! vigie-detect: the *detect* stage for Sigma detection rules.
//!
//! An [`Engine`] is built once from a [`vigie_sigma::RuleSet`] and the
//! mappings; it is immutable and shared by all worker threads, each of which
//! owns a [`Scratch`]. For every event: pick the mapping by the event's shape,
//! route it to its log-source buckets, scan each indexed field once with that
//! bucket's Aho-Corasick automaton to find candidate rules, and evaluate only
//! those (plus the few rules that have no required literal).

mod engine;
#[doc(hidden)]
pub mod harness;
mod literals;
pub mod loader;
mod memo;
mod view;

pub use engine::{Engine, EngineStats, Hit, Scratch};
pub use view::{EventView, FieldCache};
