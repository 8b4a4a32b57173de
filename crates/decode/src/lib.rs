//! vigie-decode: the decode stage. Bytes from outside in, JSON events out,
//! with one error type ([`DecodeError`]: input, place, format, field,
//! reason; never the raw bytes) and one set of limits ([`limits`]).
//!
//! `files` reads whole inputs: EVTX, JSON lines, arrays and documents,
//! gzip, folders (`vigie hunt`, `vigie replay`). The line decoders below
//! read the lines live inputs carry. The event model (flat events, field
//! paths) is `vigie-events`, which knows no file formats.
//!
//! Live inputs carry lines in the formats organisations actually ship:
//! JSON, syslog (RFC 5424 and RFC 3164, often with a JSON or CEF payload),
//! ArcSight CEF, and web server access logs. Each decoder turns a line into
//! the event tree the rest of vigie reads, using ECS field names so that the
//! built-in ECS mapping (and SigmaHQ's webserver rules) apply unchanged.
//! Decoders are pure and never panic: a bad line is an error that names the
//! field that could not be read.

mod access;
mod cef;
mod error;
pub mod files;
pub mod limits;
mod syslog;
mod tree;

pub use error::{DecodeError, Place};
pub use files::{
    FileStats, InputError, LineHook, Part, PartKind, Record, discover, discover_with, read_evtx_bytes, read_file,
    read_file_with, read_json_bytes, read_part, read_part_with, split_file, split_json_lines,
};
pub use limits::{Limits, MAX_EXPANDED_BYTES, MAX_JSON_DEPTH, MAX_LINE_BYTES, TooDeep, check_json_depth, json_error};

pub use sonic_rs::Value;

/// The formats a line can be read as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// Recognise each line: JSON, syslog, CEF, else an access log.
    Auto,
    Json,
    Syslog,
    Cef,
    /// nginx or Apache "combined" (or "common") access log.
    Access,
}

pub(crate) fn err(format: &'static str, field: &'static str, message: impl Into<String>) -> DecodeError {
    DecodeError::new(format, field, message)
}

/// Decode one line (without its line terminator).
pub fn decode(format: Format, line: &[u8]) -> Result<Value, DecodeError> {
    let line = trim_end(line);
    match format {
        Format::Json => json(line),
        Format::Syslog => syslog::decode(text(line, "syslog")?),
        Format::Cef => cef::decode(text(line, "cef")?),
        Format::Access => access::decode(text(line, "access")?),
        Format::Auto => match line.iter().find(|b| !b.is_ascii_whitespace()) {
            Some(b'{') | Some(b'[') => json(line),
            Some(b'<') => syslog::decode(text(line, "syslog")?),
            _ if line.starts_with(b"CEF:") => cef::decode(text(line, "cef")?),
            None => Err(err("auto", "line", "empty line")),
            _ => access::decode(text(line, "access")?),
        },
    }
}

/// Parse JSON from outside, no deeper than [`MAX_JSON_DEPTH`]: decoding
/// (and every walk of the tree after) recurses once per level.
pub(crate) fn parse_json(text: &[u8]) -> Result<Value, String> {
    check_json_depth(text, MAX_JSON_DEPTH).map_err(|e| e.to_string())?;
    sonic_rs::from_slice(text).map_err(|e| json_error(&e))
}

fn json(line: &[u8]) -> Result<Value, DecodeError> {
    let v: Value = parse_json(line).map_err(|e| err("json", "line", e))?;
    if sonic_rs::JsonValueTrait::is_object(&v) {
        Ok(v)
    } else {
        Err(err("json", "line", "an event must be a JSON object"))
    }
}

fn text<'a>(line: &'a [u8], format: &'static str) -> Result<&'a str, DecodeError> {
    std::str::from_utf8(line).map_err(|e| err(format, "line", format!("invalid UTF-8 at byte {}", e.valid_up_to())))
}

fn trim_end(mut line: &[u8]) -> &[u8] {
    while let [rest @ .., b'\n' | b'\r' | 0] = line {
        line = rest;
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonic_rs::JsonValueTrait;

    #[test]
    fn auto_recognises_each_format() {
        let j = decode(Format::Auto, b"{\"a\":1}\n").unwrap();
        assert_eq!(j.get("a").and_then(|v| v.as_u64()), Some(1));
        let s = decode(Format::Auto, b"<34>Oct 11 22:14:15 mymachine su: 'su root' failed").unwrap();
        assert_eq!(s.get("message").and_then(|v| v.as_str()), Some("'su root' failed"));
        let c = decode(Format::Auto, b"CEF:0|V|P|1|100|Name|5|src=10.0.0.1").unwrap();
        assert!(c.get("cef").is_some());
        let a = decode(Format::Auto, br#"1.2.3.4 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.0" 200 2326 "-" "x""#)
            .unwrap();
        assert!(a.get("http").is_some());
        assert_eq!(decode(Format::Auto, b"").unwrap_err().field, "line");
        assert_eq!(decode(Format::Json, b"[1]").unwrap_err().message, "an event must be a JSON object");
        assert!(decode(Format::Syslog, b"<13>\xff\xfe").unwrap_err().message.contains("UTF-8"));
    }

    /// Issue 16: a non-ASCII character inside the RFC 3164 timestamp was
    /// cut in two by a byte slice (a panic that took the worker down).
    #[test]
    fn non_ascii_in_a_syslog_header_is_an_error() {
        for f in [Format::Auto, Format::Syslog] {
            let e = decode(f, "<13>Jaé45678901234 host tag: msg".as_bytes()).unwrap_err();
            assert_eq!(e.field, "TIMESTAMP", "{e}");
        }
        // Non-ASCII where text is free (host, tag, message) still decodes.
        let v = decode(Format::Syslog, "<13>Oct 11 22:14:15 hôte tâche: méssage".as_bytes()).unwrap();
        assert_eq!(v.get("message").and_then(|m| m.as_str()), Some("méssage"));
    }

    /// Issue 16: one line nested 10,000 deep overflowed the stack of the
    /// engine that decoded it. Deeper than the limit is a decode error, in a
    /// JSON line as in a syslog message's JSON payload (kept as text).
    #[test]
    fn json_deeper_than_the_limit_is_an_error() {
        let deep = format!("{{\"a\":{}{}}}", "[".repeat(10_000), "]".repeat(10_000));
        for f in [Format::Auto, Format::Json] {
            let e = decode(f, deep.as_bytes()).unwrap_err();
            assert!(e.message.contains("deeper than 256"), "{e}");
        }
        let line = format!("<13>1 - h app - - - {deep}");
        let v = decode(Format::Syslog, line.as_bytes()).unwrap();
        assert_eq!(v.get("message").and_then(|m| m.as_str()).map(str::len), Some(deep.len()));
        let ok = format!("{{\"a\":{}{}}}", "[".repeat(255), "]".repeat(255));
        assert!(decode(Format::Json, ok.as_bytes()).is_ok());
    }

    const FORMATS: [Format; 5] = [Format::Auto, Format::Json, Format::Syslog, Format::Cef, Format::Access];

    /// Issue 17: a decode error names the place and the reason, never the
    /// bytes around it: an identifier in a bad line must not reach the logs.
    #[test]
    fn errors_never_quote_the_line() {
        let id = "267035512349876";
        let lines = [
            format!("<{id}>1 - h a - - - m"),
            format!("<13>1 {id} h a - - - m"),
            format!("<13>Ja{id} host tag: msg"),
            format!("<13>Oct 1x {id} host: m"),
            format!("<13>Xyz 11 22:14:15 {id}: m"),
            format!("1.2.3.4 - - [{id}] \"GET / HTTP/1.0\" 200 1"),
            format!("1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] \"GET / HTTP/1.0\" {id}x 1"),
            format!("{{\"a\": {id}x}}"),
            format!("{{\"ssn\":\"{id}\", bad}}"),
            format!("[\"{id}\" 1]"),
            format!("CEF:0|{id}|x"),
        ];
        let mut refused = 0;
        for line in &lines {
            for f in FORMATS {
                if let Err(e) = decode(f, line.as_bytes()) {
                    refused += 1;
                    assert!(!e.to_string().contains(id) && !format!("{e:?}").contains(id), "{f:?}: {e}");
                }
            }
        }
        assert!(refused >= lines.len(), "each line is refused by some decoder");
        let mut errors = Vec::new();
        read_json_bytes(format!("{{\"ok\":1}}\n{{\"ssn\":\"{id}\" x}}\n").as_bytes(), &mut |_| {}, &mut |e| {
            errors.push(e.to_string())
        });
        assert_eq!(errors.len(), 1);
        assert!(errors[0].starts_with("line 2: json: invalid JSON") && !errors[0].contains(id), "{}", errors[0]);
    }

    proptest::proptest! {
        /// Arbitrary bytes through every line decoder: an error or an event, never a panic.
        #[test]
        fn arbitrary_bytes_never_panic(line in proptest::collection::vec(proptest::num::u8::ANY, 0..200)) {
            for f in FORMATS {
                let _ = decode(f, &line);
            }
        }

        /// Arbitrary UTF-8 (non-ASCII included) after each format's opening,
        /// so that the decoders get past their first check and into their fields.
        #[test]
        fn arbitrary_text_after_each_opening_never_panics(
            prefix in proptest::sample::select(vec![
                "", "<13>", "<13>1 ", "<34>Oct 11 22:14:15 ", "<13>1 - h a p m [x ", "CEF:0|", "CEF:0|a|b|c|d|e|f|",
                "1.2.3.4 - - [", "1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] \"", "{\"a\":", "<13>Ja",
            ]),
            body in "\\PC{0,80}",
            tail in proptest::sample::select(vec!["", " x=é", "]", "\"", "|", "=", " ", "\\"]),
        ) {
            let line = format!("{prefix}{body}{tail}");
            for f in FORMATS {
                let _ = decode(f, line.as_bytes());
            }
        }
    }
}
