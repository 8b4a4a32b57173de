//! vigie-mapping: which rules an event can meet, and where their fields live.
//!
//! This is the *normalise* stage. A mapping (YAML, see docs/mappings.md) says
//! how to recognise a shape of input, which Sigma log sources an event of that
//! shape belongs to (routing conditions on channel, EventID, dataset, ...),
//! and how Sigma field names translate to paths in the event. Built-in
//! mappings cover Windows (EVTX and JSON renderings), ECS and the personal-data
//! application schema; users add their own without recompiling.

mod cond;
pub mod entity;
mod mapping;
mod route;

pub use mapping::{Entry, Mapping, MappingError, builtin, builtins, detect_shape};
pub use route::RouteScratch;
