//! Limits on what comes from outside: how deep a JSON document may nest,
//! how long a line may be, and how far a compressed file may expand.
//!
//! Every reader of outside data holds to these (file readers here, line
//! decoders in `vigie-decode`, the runtime's inputs), so that no input can
//! exhaust the stack or the memory. See docs/streaming.md ("Limits").

/// JSON nested deeper than this (objects and arrays) is a decode error:
/// decoding and walking a tree recurse once per level, and a 20 KB line
/// nested 10,000 deep overflowed the stack.
pub const MAX_JSON_DEPTH: usize = 256;

/// The longest line a line reader keeps (16 MiB); a longer one is skipped
/// without being held in memory, counted and reported by its place.
pub const MAX_LINE_BYTES: usize = 16 << 20;

/// The most a compressed (gzip) file may expand to (4 GiB); the rest of a
/// file that expands further is not read, and the file is reported.
pub const MAX_EXPANDED_BYTES: u64 = 4 << 30;

/// The limits a file reader applies; [`Limits::default`] holds the
/// constants above.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// See [`MAX_LINE_BYTES`].
    pub max_line_bytes: usize,
    /// See [`MAX_EXPANDED_BYTES`].
    pub max_expanded_bytes: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_line_bytes: MAX_LINE_BYTES, max_expanded_bytes: MAX_EXPANDED_BYTES }
    }
}

/// A JSON text nested deeper than allowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("JSON nested deeper than {max} levels (at byte {offset})")]
pub struct TooDeep {
    /// The byte that opened the first level too many.
    pub offset: usize,
    pub max: usize,
}

/// Check that `json` nests at most `max` levels of objects and arrays,
/// without parsing it. Most texts hold fewer than `max` brackets in all and
/// are passed after one vectorised count; only the others are walked, byte by
/// byte, minding strings. The text need not be valid JSON: this only says
/// whether parsing it could recurse too deep.
pub fn check_json_depth(json: &[u8], max: usize) -> Result<(), TooDeep> {
    if memchr::memchr2_iter(b'{', b'[', json).nth(max).is_none() {
        return Ok(());
    }
    let mut depth = 0usize;
    let mut in_string = false;
    let mut escaped = false;
    for (i, &b) in json.iter().enumerate() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => {
                depth += 1;
                if depth > max {
                    return Err(TooDeep { offset: i, max });
                }
            }
            b'}' | b']' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// A JSON parse error as the place and the reason only: sonic-rs's own
/// message quotes the bytes around the error, which may be a person's
/// identifier, and must not reach the logs.
pub fn json_error(e: &sonic_rs::Error) -> String {
    let kind = match e.classify() {
        sonic_rs::error::Category::Eof => "the JSON ends early",
        sonic_rs::error::Category::Syntax => "invalid JSON syntax",
        sonic_rs::error::Category::Io => "a read failed",
        _ => "unexpected JSON",
    };
    format!("{kind} at line {} column {} (byte {})", e.line(), e.column(), e.offset())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nested(depth: usize) -> String {
        format!("{{\"a\":{}{}}}", "[".repeat(depth - 1), "]".repeat(depth - 1))
    }

    #[test]
    fn json_errors_name_the_place_not_the_bytes() {
        let e = sonic_rs::from_slice::<sonic_rs::Value>(b"{\"nir\": 2670355123x49876}").unwrap_err();
        let m = super::json_error(&e);
        assert!(!m.contains("2670") && !m.contains("49876"), "{m}");
        assert!(m.contains("line 1 column"), "{m}");
    }

    #[test]
    fn depth_is_counted_outside_strings_only() {
        assert_eq!(check_json_depth(nested(256).as_bytes(), 256), Ok(()));
        assert_eq!(check_json_depth(nested(257).as_bytes(), 256), Err(TooDeep { offset: 260, max: 256 }));
        // Brackets in strings (escaped quotes included) do not nest.
        let in_string = format!("{{\"a\":\"\\\"{}\"}}", "[".repeat(1000));
        assert_eq!(check_json_depth(in_string.as_bytes(), 256), Ok(()));
        // Many brackets side by side do not nest either.
        let wide = format!("[{}]", "[],".repeat(1000) + "[]");
        assert_eq!(check_json_depth(wide.as_bytes(), 2), Ok(()));
        // A document cut short is measured as far as it goes.
        assert!(check_json_depth("[".repeat(300).as_bytes(), 256).is_err());
    }
}
