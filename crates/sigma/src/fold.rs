//! Case folding for case-insensitive matching.
//!
//! Sigma values are case-insensitive. Folding only ASCII (as most engines do)
//! lets an attacker write `PОWERSHELL` with a Cyrillic `О`... no, worse: it lets
//! `ÉVÉNEMENT` differ from `événement`. We apply Unicode *simple* case folding
//! (one character to one character), so the byte length of a folded string can
//! change but its character count cannot; that keeps `?` (exactly one character)
//! meaningful on both sides.

use std::borrow::Cow;

/// Fold one character: its single-character lowercase mapping, plus the few
/// simple-folding entries that lowercase mapping alone misses.
pub fn fold_char(c: char) -> char {
    match c {
        'ς' => 'σ',
        'ϐ' => 'β',
        'ϑ' => 'θ',
        'ϕ' => 'φ',
        'ϖ' => 'π',
        'ϰ' => 'κ',
        'ϱ' => 'ρ',
        'ϵ' => 'ε',
        'ſ' => 's',
        '\u{1FBE}' => 'ι',
        _ => {
            let mut lower = c.to_lowercase();
            match (lower.next(), lower.next()) {
                (Some(l), None) => l,
                _ => c,
            }
        }
    }
}

/// Fold a string, borrowing it when it is already folded (the common case for
/// lowercase ASCII log values).
pub fn fold(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        if s.bytes().any(|b| b.is_ascii_uppercase()) { Cow::Owned(s.to_ascii_lowercase()) } else { Cow::Borrowed(s) }
    } else if s.chars().all(|c| fold_char(c) == c) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(s.chars().map(fold_char).collect())
    }
}

/// Fold `s` into `out`, appending; used by event adapters that keep one
/// buffer per event instead of one allocation per field.
/// Text that is mostly ASCII with a few other characters (`Microsoft®
/// Windows®`) is folded run by run: ASCII runs are copied and lowercased in
/// bulk, and only the other characters go through [`fold_char`]. Folding is
/// per character, so folding a concatenation equals concatenating the folds.
pub fn fold_into(s: &str, out: &mut String) {
    let mut rest = s;
    while let Some(i) = first_non_ascii(rest.as_bytes()) {
        let (ascii, tail) = rest.split_at(i);
        push_lower(ascii, out);
        let mut chars = tail.chars();
        if let Some(c) = chars.next() {
            out.push(fold_char(c));
        }
        rest = chars.as_str();
    }
    push_lower(rest, out);
}

fn push_lower(ascii: &str, out: &mut String) {
    let at = out.len();
    out.push_str(ascii);
    out[at..].make_ascii_lowercase();
}

/// Where the first byte of a non-ASCII character is, eight bytes at a time.
fn first_non_ascii(b: &[u8]) -> Option<usize> {
    let mut chunks = b.chunks_exact(8);
    let mut at = 0;
    for c in &mut chunks {
        let word = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        let high = word & 0x8080_8080_8080_8080;
        if high != 0 {
            return Some(at + (high.trailing_zeros() / 8) as usize);
        }
        at += 8;
    }
    chunks.remainder().iter().position(|&c| !c.is_ascii()).map(|i| at + i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_and_unicode() {
        assert_eq!(fold("PowerShell.EXE"), "powershell.exe");
        assert_eq!(fold("ÉVÉNEMENT"), "événement");
        assert_eq!(fold("ΟΔΟΣ"), "οδοσ");
        assert_eq!(fold("οδος"), "οδοσ");
        // İ has no simple folding to one character: kept, never expanded.
        assert_eq!(fold("İ").chars().count(), 1);
        assert!(matches!(fold("already"), Cow::Borrowed(_)));
    }

    #[test]
    fn fold_into_matches_fold() {
        let mut out = String::new();
        fold_into("AbÇ", &mut out);
        assert_eq!(out, fold("AbÇ"));
        for s in
            ["", "ÉCOLE", "Microsoft® Windows® OS", "a\u{130}B\u{3a3}c", "ΟΔΟΣ x ς", "ABCDEFGHÉ", "abcdefghijklmnopQ®"]
        {
            out.clear();
            fold_into(s, &mut out);
            assert_eq!(out, fold(s), "{s}");
        }
    }
}
