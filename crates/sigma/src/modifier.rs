//! Value modifiers (`field|contains|all`) and the value transforms they imply.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

/// Every modifier of Sigma v2.1.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Modifier {
    Contains,
    StartsWith,
    EndsWith,
    All,
    Exists,
    Cased,
    Neq,
    Windash,
    Re,
    /// Regex flags, valid only after `re`.
    ReI,
    ReM,
    ReS,
    Base64,
    Base64Offset,
    Utf16Le,
    Utf16Be,
    Utf16,
    Lt,
    Lte,
    Gt,
    Gte,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
    Cidr,
    Expand,
    FieldRef,
}

impl Modifier {
    pub fn parse(s: &str) -> Option<Self> {
        use Modifier::*;
        Some(match s {
            "contains" => Contains,
            "startswith" => StartsWith,
            "endswith" => EndsWith,
            "all" => All,
            "exists" => Exists,
            "cased" => Cased,
            "neq" => Neq,
            "windash" => Windash,
            "re" => Re,
            "i" => ReI,
            "m" => ReM,
            "s" => ReS,
            "base64" => Base64,
            "base64offset" => Base64Offset,
            "utf16le" | "wide" => Utf16Le,
            "utf16be" => Utf16Be,
            "utf16" => Utf16,
            "lt" => Lt,
            "lte" => Lte,
            "gt" => Gt,
            "gte" => Gte,
            "minute" => Minute,
            "hour" => Hour,
            "day" => Day,
            "week" => Week,
            "month" => Month,
            "year" => Year,
            "cidr" => Cidr,
            "expand" => Expand,
            "fieldref" => FieldRef,
            _ => return None,
        })
    }
}

/// Characters `windash` substitutes for a leading `-` or `/`.
pub const WINDASH_VARIANTS: [char; 5] = ['-', '/', '–', '—', '―'];

/// Above this many dash positions, variants are applied uniformly (all
/// positions get the same dash) instead of in every combination, to bound the
/// number of generated values (5^n).
const WINDASH_MAX_COMBINATORIAL: usize = 3;

fn is_word(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// pySigma's `windash`: each `-` or `/` at the start of a word (`\B[-/]\b`) may
/// be written with any of the five dash variants. Returns all variants.
pub fn windash(value: &str) -> Vec<String> {
    let chars: Vec<char> = value.chars().collect();
    let positions: Vec<usize> = (0..chars.len())
        .filter(|&i| {
            matches!(chars[i], '-' | '/')
                && (i == 0 || !is_word(chars[i - 1]))
                && chars.get(i + 1).is_some_and(|&c| is_word(c))
        })
        .collect();
    if positions.is_empty() {
        return vec![value.to_string()];
    }
    let mut out = Vec::new();
    if positions.len() <= WINDASH_MAX_COMBINATORIAL {
        let n = positions.len() as u32;
        for combo in 0..WINDASH_VARIANTS.len().pow(n) {
            let mut c = chars.clone();
            let mut k = combo;
            for &p in &positions {
                c[p] = WINDASH_VARIANTS[k % WINDASH_VARIANTS.len()];
                k /= WINDASH_VARIANTS.len();
            }
            out.push(c.into_iter().collect());
        }
    } else {
        for v in WINDASH_VARIANTS {
            let mut c = chars.clone();
            for &p in &positions {
                c[p] = v;
            }
            out.push(c.into_iter().collect());
        }
    }
    out
}

/// Text encodings applied before base64.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Utf8,
    Utf16Le,
    Utf16Be,
    /// UTF-16 little endian with a byte-order mark, as Python's `utf-16` codec.
    Utf16Bom,
}

pub fn encode(value: &str, enc: Encoding) -> Vec<u8> {
    match enc {
        Encoding::Utf8 => value.as_bytes().to_vec(),
        Encoding::Utf16Le => value.encode_utf16().flat_map(u16::to_le_bytes).collect(),
        Encoding::Utf16Be => value.encode_utf16().flat_map(u16::to_be_bytes).collect(),
        Encoding::Utf16Bom => {
            let mut v = vec![0xFF, 0xFE];
            v.extend(value.encode_utf16().flat_map(u16::to_le_bytes));
            v
        }
    }
}

/// Bytes that are not followed by base64 are matched as text: each byte
/// becomes the character of the same code (so UTF-16 of ASCII keeps its NULs).
pub fn bytes_as_text(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

pub fn base64(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// The three stable fragments of `bytes` as it appears at any offset inside a
/// larger base64 text (pySigma's algorithm).
pub fn base64offset(bytes: &[u8]) -> Vec<String> {
    const START: [usize; 3] = [0, 2, 3];
    const END_TRIM: [usize; 3] = [0, 3, 2];
    (0..3)
        .map(|shift| {
            let mut shifted = vec![b' '; shift];
            shifted.extend_from_slice(bytes);
            let enc = STANDARD.encode(&shifted);
            let trim = END_TRIM[(bytes.len() + shift) % 3];
            let end = enc.len().saturating_sub(trim);
            enc.get(START[shift]..end).unwrap_or("").to_string()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windash_only_word_starts() {
        let v = windash("cmd /c -enc a-b");
        assert_eq!(v.len(), 25);
        assert!(v.contains(&"cmd –c —enc a-b".to_string()));
        assert!(v.iter().all(|s| s.ends_with("a-b")));
        assert_eq!(windash("-x"), vec!["-x", "/x", "–x", "—x", "―x"]);
        assert_eq!(windash("a-b"), vec!["a-b"]);
    }

    #[test]
    fn base64offset_matches_pysigma() {
        // Known pySigma outputs for `/bin/bash`.
        assert_eq!(base64offset(b"/bin/bash"), vec!["L2Jpbi9iYXNo", "9iaW4vYmFza", "vYmluL2Jhc2"]);
        // And for `http://`, whose length is not a multiple of three.
        assert_eq!(base64offset(b"http://"), vec!["aHR0cDovL", "h0dHA6Ly", "odHRwOi8v"]);
    }

    #[test]
    fn utf16_encodings() {
        assert_eq!(encode("A", Encoding::Utf16Le), vec![0x41, 0]);
        assert_eq!(encode("A", Encoding::Utf16Be), vec![0, 0x41]);
        assert_eq!(encode("A", Encoding::Utf16Bom), vec![0xFF, 0xFE, 0x41, 0]);
        assert_eq!(base64(&encode("ping", Encoding::Utf16Le)), "cABpAG4AZwA=");
    }
}
