//! vigie-events: the event model. A decoded event is a JSON tree
//! (`sonic_rs::Value`); before matching it is flattened ([`Flat`]) so that
//! every field is one probe of a small table, and fields are named by
//! dotted paths ([`FieldPath`]). This crate knows no file formats (that is
//! `vigie-decode`) and nothing about Sigma.

pub mod flat;
pub mod path;
pub mod text;

pub use flat::{Flat, Wanted};
pub use path::FieldPath;
pub use sonic_rs::{JsonContainerTrait, JsonValueTrait, Value};
