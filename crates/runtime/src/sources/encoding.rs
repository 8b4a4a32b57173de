//! `Content-Encoding` of HTTP ingest bodies: shippers that compress
//! (Filebeat, Vector, Fluent Bit with `compress gzip`) send gzip. The body is
//! expanded as a stream and never beyond a cap, so a small bomb cannot
//! exhaust memory. zstd is not supported (no zstd crate in the workspace):
//! it is answered 415 like any other unknown encoding.

use std::io::Read;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EncodingError {
    #[error("Content-Encoding `{0}` is not supported (send gzip or identity)")]
    Unsupported(String),
    #[error("the body expands beyond {0} bytes")]
    TooLarge(usize),
    #[error("the gzip body is corrupt: {0}")]
    Corrupt(String),
}

/// The body as sent, expanded per `encoding` (the header's value) to at
/// most `cap` bytes.
pub fn decode(encoding: Option<&str>, body: &[u8], cap: usize) -> Result<Option<Vec<u8>>, EncodingError> {
    let Some(enc) = encoding.map(|e| e.trim().to_ascii_lowercase()).filter(|e| !e.is_empty()) else {
        return Ok(None);
    };
    match enc.as_str() {
        "identity" => Ok(None),
        "gzip" | "x-gzip" => {
            let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(cap));
            let mut reader = flate2::read::MultiGzDecoder::new(body).take(cap as u64 + 1);
            reader.read_to_end(&mut out).map_err(|e| EncodingError::Corrupt(e.to_string()))?;
            if out.len() > cap {
                return Err(EncodingError::TooLarge(cap));
            }
            Ok(Some(out))
        }
        other => Err(EncodingError::Unsupported(other.chars().take(40).collect())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gz(data: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        e.write_all(data).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn gzip_is_expanded_within_the_cap() {
        assert_eq!(decode(Some("gzip"), &gz(b"abc\n"), 10).unwrap().unwrap(), b"abc\n");
        assert_eq!(decode(Some("gzip"), &gz(&[0u8; 100_000]), 1000), Err(EncodingError::TooLarge(1000)));
        assert_eq!(decode(None, b"x", 10).unwrap(), None);
        assert!(matches!(decode(Some("zstd"), b"x", 10), Err(EncodingError::Unsupported(_))));
        assert!(matches!(decode(Some("gzip"), b"not gzip", 10), Err(EncodingError::Corrupt(_))));
    }
}
