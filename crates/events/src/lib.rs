//! vigie-events: turning files into events.
//!
//! Decoding is the first stage of the data flow (decode, normalise, enrich,
//! detect, ...). This crate knows file formats and JSON trees; it knows nothing
//! about Sigma. A bad record is reported with its file and line (or EVTX
//! record offset) and skipped: it never stops the file, and never the run.

pub mod flat;
pub mod input;
pub mod limits;
pub mod path;

pub use flat::{Flat, Wanted};
pub use input::{
    DecodeError, InputError, LineHook, Part, Record, discover, discover_with, read_evtx_bytes, read_file,
    read_file_with, read_json_bytes, read_part, read_part_with, split_json_lines,
};
pub use limits::{Limits, MAX_EXPANDED_BYTES, MAX_JSON_DEPTH, MAX_LINE_BYTES, TooDeep, check_json_depth, json_error};
pub use path::FieldPath;
pub use sonic_rs::{JsonContainerTrait, JsonValueTrait, Value};
