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
pub fn fold_into(s: &str, out: &mut String) {
    if s.is_ascii() {
        let start = out.len();
        out.push_str(s);
        out[start..].make_ascii_lowercase();
    } else {
        out.extend(s.chars().map(fold_char));
    }
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
    }
}
