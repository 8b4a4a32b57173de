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
    while !rest.is_empty() {
        let ascii = rest.bytes().position(|b| !b.is_ascii()).unwrap_or(rest.len());
        let start = out.len();
        out.push_str(&rest[..ascii]);
        out[start..].make_ascii_lowercase();
        rest = &rest[ascii..];
        let other = rest.char_indices().find(|(_, c)| c.is_ascii()).map_or(rest.len(), |(i, _)| i);
        out.extend(rest[..other].chars().map(fold_char));
        rest = &rest[other..];
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
        for s in ["", "ÉCOLE", "Microsoft® Windows® OS", "a\u{130}B\u{3a3}c", "ΟΔΟΣ x ς"] {
            out.clear();
            fold_into(s, &mut out);
            assert_eq!(out, fold(s), "{s}");
        }
    }
}
