//! One error type for everything decoding reports: which input, where in
//! it, which format, which field, and why. Never the raw bytes: a place and
//! a reason are enough to find the record, and the record may hold
//! personal data.

use std::fmt;

/// Where in an input a record that could not be decoded is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// Not known to the decoder (a line decoded on its own): the caller
    /// says, with [`DecodeError::at`].
    Unknown,
    /// A line (1-based).
    Line(u64),
    /// A JSON document spread over lines `first` to `last`.
    Lines(u64, u64),
    /// An EVTX record, by its record id.
    Record(u64),
    /// An EVTX chunk, and its byte offset in the file.
    Chunk { chunk: u64, byte: u64 },
    /// A file that holds one JSON array.
    Array,
    /// A byte of a decompressed (gzip) stream.
    Decompressed(u64),
    /// A byte offset (a followed file, a stream).
    Offset(u64),
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Place::Unknown => Ok(()),
            Place::Line(n) => write!(f, "line {n}"),
            Place::Lines(a, b) => write!(f, "lines {a}-{b}"),
            Place::Record(id) => write!(f, "record {id}"),
            Place::Chunk { chunk, byte } => write!(f, "chunk {chunk} at byte {byte:#x}"),
            Place::Array => f.write_str("JSON array"),
            Place::Decompressed(n) => write!(f, "byte {n} of the decompressed stream"),
            Place::Offset(n) => write!(f, "offset {n}"),
        }
    }
}

/// A record that could not be decoded. The input goes on.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct DecodeError {
    /// The input: a file path, `http#0`, `stdin#1`; empty until the caller
    /// says ([`DecodeError::at`]).
    pub input: String,
    pub place: Place,
    /// The format being read: `json`, `syslog`, `cef`, `access`, `evtx`, `gzip`.
    pub format: &'static str,
    /// The part of the record that was wrong (`PRI`, `timestamp`, `status`);
    /// empty when it is the record as a whole.
    pub field: &'static str,
    pub message: String,
}

impl DecodeError {
    pub fn new(format: &'static str, field: &'static str, message: impl Into<String>) -> DecodeError {
        DecodeError { input: String::new(), place: Place::Unknown, format, field, message: message.into() }
    }

    /// The same error, placed in its input.
    pub fn at(mut self, input: &str, place: Place) -> DecodeError {
        self.input = input.to_string();
        self.place = place;
        self
    }
}

impl fmt::Display for DecodeError {
    /// `input: place: format: field: message`, leaving out what is not known.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let place = self.place.to_string();
        for part in [self.input.as_str(), place.as_str(), self.format, self.field] {
            if !part.is_empty() {
                write!(f, "{part}: ")?;
            }
        }
        f.write_str(&self.message)
    }
}
