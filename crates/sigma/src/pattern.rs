//! Sigma string values: escaping, wildcards, and a matcher that picks the
//! cheapest strategy (equality, prefix, suffix, substring or a general glob).
//!
//! Escaping follows pySigma, left to right: `\` before `*`, `?` or `\` yields that
//! character literally; `\` before anything else stays a backslash; a trailing
//! `\` is literal. `*` matches any run of characters (including none) and `?`
//! exactly one character.

use crate::fold::fold;
use memchr::memmem;

/// One token of an unescaped Sigma string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tok {
    Lit(String),
    Star,
    One,
}

/// Split a Sigma value into literal runs and wildcards.
pub fn tokenize(value: &str) -> Vec<Tok> {
    let mut toks = Vec::new();
    let mut lit = String::new();
    let mut chars = value.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.peek() {
                Some(&n @ ('*' | '?' | '\\')) => {
                    lit.push(n);
                    chars.next();
                }
                _ => lit.push('\\'),
            },
            '*' | '?' => {
                if !lit.is_empty() {
                    toks.push(Tok::Lit(std::mem::take(&mut lit)));
                }
                let t = if c == '*' { Tok::Star } else { Tok::One };
                // Collapse runs of stars: `**` is `*`.
                if !(t == Tok::Star && toks.last() == Some(&Tok::Star)) {
                    toks.push(t);
                }
            }
            _ => lit.push(c),
        }
    }
    if !lit.is_empty() {
        toks.push(Tok::Lit(lit));
    }
    toks
}

/// True if the tokens contain a wildcard.
pub fn has_wildcards(toks: &[Tok]) -> bool {
    toks.iter().any(|t| !matches!(t, Tok::Lit(_)))
}

/// The plain text of tokens without wildcards (wildcards rendered as written).
pub fn plain_text(toks: &[Tok]) -> String {
    toks.iter()
        .map(|t| match t {
            Tok::Lit(s) => s.as_str(),
            Tok::Star => "*",
            Tok::One => "?",
        })
        .collect()
}

/// Escape a literal so that it survives `tokenize` unchanged.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if matches!(c, '*' | '?' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A piece of a glob between two stars: literals and `?` in sequence.
#[derive(Debug, Clone)]
pub struct Chunk {
    parts: Vec<Tok>,
    /// Finder for the first literal, to jump to candidate positions.
    first_lit: Option<memmem::Finder<'static>>,
    lead_ones: usize,
}

impl Chunk {
    fn new(parts: Vec<Tok>) -> Self {
        let lead_ones = parts.iter().take_while(|t| **t == Tok::One).count();
        let first_lit = parts.iter().find_map(|t| match t {
            Tok::Lit(s) => Some(memmem::Finder::new(s.as_bytes()).into_owned()),
            _ => None,
        });
        Chunk { parts, first_lit, lead_ones }
    }

    /// If the chunk matches at byte offset `at`, the offset just after it.
    fn match_at(&self, s: &str, at: usize) -> Option<usize> {
        let mut p = at;
        for t in &self.parts {
            match t {
                Tok::Lit(l) => {
                    if !s[p..].starts_with(l.as_str()) {
                        return None;
                    }
                    p += l.len();
                }
                Tok::One => p += s[p..].chars().next()?.len_utf8(),
                Tok::Star => unreachable!("stars split chunks"),
            }
        }
        Some(p)
    }

    /// Leftmost match starting at or after `from`: (start, end).
    fn find_from(&self, s: &str, from: usize) -> Option<(usize, usize)> {
        match &self.first_lit {
            Some(finder) if self.lead_ones == 0 => {
                let mut from = from;
                while let Some(i) = finder.find(&s.as_bytes()[from..]) {
                    let start = from + i;
                    if let Some(end) = self.match_at(s, start) {
                        return Some((start, end));
                    }
                    from = start + s[start..].chars().next().map_or(1, char::len_utf8);
                }
                None
            }
            _ => {
                let mut start = from;
                loop {
                    if let Some(end) = self.match_at(s, start) {
                        return Some((start, end));
                    }
                    start += s[start..].chars().next()?.len_utf8();
                }
            }
        }
    }
}

/// A compiled Sigma string match.
#[derive(Debug, Clone)]
pub enum StrMatcher {
    Exact(String),
    Prefix(String),
    Suffix(String),
    Contains(Box<memmem::Finder<'static>>, String),
    /// Anything (a lone `*`): matches every string.
    Any,
    Glob(Box<Glob>),
}

/// A general pattern: an anchored head, floating middle pieces, an anchored tail.
#[derive(Debug, Clone)]
pub struct Glob {
    head: Option<Chunk>,
    middle: Vec<Chunk>,
    tail: Option<Chunk>,
    anchored_both: bool,
}

impl StrMatcher {
    /// Compile tokens; `fold_literals` folds them for case-insensitive use.
    pub fn new(toks: &[Tok], fold_literals: bool) -> Self {
        let toks: Vec<Tok> = if fold_literals {
            toks.iter()
                .map(|t| match t {
                    Tok::Lit(s) => Tok::Lit(fold(s).into_owned()),
                    o => o.clone(),
                })
                .collect()
        } else {
            toks.to_vec()
        };
        match toks.as_slice() {
            [] => return StrMatcher::Exact(String::new()),
            [Tok::Lit(s)] => return StrMatcher::Exact(s.clone()),
            [Tok::Star] => return StrMatcher::Any,
            [Tok::Lit(s), Tok::Star] => return StrMatcher::Prefix(s.clone()),
            [Tok::Star, Tok::Lit(s)] => return StrMatcher::Suffix(s.clone()),
            [Tok::Star, Tok::Lit(s), Tok::Star] => {
                return StrMatcher::Contains(Box::new(memmem::Finder::new(s.as_bytes()).into_owned()), s.clone());
            }
            _ => {}
        }
        let mut chunks: Vec<Vec<Tok>> = vec![Vec::new()];
        for t in &toks {
            if *t == Tok::Star {
                chunks.push(Vec::new());
            } else {
                chunks.last_mut().expect("non-empty").push(t.clone());
            }
        }
        let starts_star = toks.first() == Some(&Tok::Star);
        let ends_star = toks.last() == Some(&Tok::Star);
        let n = chunks.len();
        if n == 1 {
            // No star at all: a sequence of literals and `?`, anchored both ends.
            let c = Chunk::new(chunks.pop().expect("one chunk"));
            return StrMatcher::Glob(Box::new(Glob {
                head: Some(c),
                middle: Vec::new(),
                tail: None,
                anchored_both: true,
            }));
        }
        let tail_parts = chunks.pop().expect("n >= 2");
        let head_parts = chunks.remove(0);
        let head = (!starts_star).then(|| Chunk::new(head_parts));
        let tail = (!ends_star).then(|| Chunk::new(tail_parts));
        let middle = chunks.into_iter().filter(|c| !c.is_empty()).map(Chunk::new).collect();
        StrMatcher::Glob(Box::new(Glob { head, middle, tail, anchored_both: false }))
    }

    /// Match a (suitably folded) string.
    pub fn is_match(&self, s: &str) -> bool {
        match self {
            StrMatcher::Exact(l) => s == l,
            StrMatcher::Prefix(l) => s.starts_with(l.as_str()),
            StrMatcher::Suffix(l) => s.ends_with(l.as_str()),
            StrMatcher::Contains(f, _) => f.find(s.as_bytes()).is_some(),
            StrMatcher::Any => true,
            StrMatcher::Glob(g) => {
                let Glob { head, middle, tail, anchored_both } = &**g;
                let mut pos = 0;
                if let Some(h) = head {
                    match h.match_at(s, 0) {
                        Some(end) => pos = end,
                        None => return false,
                    }
                    if *anchored_both {
                        return pos == s.len();
                    }
                }
                for m in middle {
                    match m.find_from(s, pos) {
                        Some((_, end)) => pos = end,
                        None => return false,
                    }
                }
                match tail {
                    None => true,
                    Some(t) => {
                        // The tail must match at the very end, after `pos`; try each
                        // start from the end that keeps char boundaries.
                        let mut start = s.len();
                        loop {
                            if start < pos {
                                return false;
                            }
                            if s.is_char_boundary(start) && t.match_at(s, start) == Some(s.len()) {
                                return true;
                            }
                            if start == 0 {
                                return false;
                            }
                            start -= 1;
                        }
                    }
                }
            }
        }
    }

    /// The longest literal that any matching string must contain; used by the
    /// prefilter. Empty when there is none.
    pub fn required_literal(&self) -> &str {
        match self {
            StrMatcher::Exact(l) | StrMatcher::Prefix(l) | StrMatcher::Suffix(l) | StrMatcher::Contains(_, l) => l,
            StrMatcher::Any => "",
            StrMatcher::Glob(g) => g
                .head
                .iter()
                .chain(g.middle.iter())
                .chain(g.tail.iter())
                .flat_map(|c| c.parts.iter())
                .filter_map(|t| match t {
                    Tok::Lit(s) => Some(s.as_str()),
                    _ => None,
                })
                .max_by_key(|s| s.len())
                .unwrap_or(""),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(p: &str, s: &str) -> bool {
        StrMatcher::new(&tokenize(p), true).is_match(&fold(s))
    }

    #[test]
    fn escaping_follows_pysigma() {
        assert_eq!(tokenize(r"a\*b"), vec![Tok::Lit("a*b".into())]);
        assert_eq!(tokenize(r"a\\*"), vec![Tok::Lit(r"a\".into()), Tok::Star]);
        assert_eq!(tokenize(r"c:\windows"), vec![Tok::Lit(r"c:\windows".into())]);
        assert_eq!(tokenize(r"end\"), vec![Tok::Lit(r"end\".into())]);
        assert_eq!(tokenize(r"\?"), vec![Tok::Lit("?".into())]);
        assert_eq!(tokenize("a**b"), vec![Tok::Lit("a".into()), Tok::Star, Tok::Lit("b".into())]);
    }

    #[test]
    fn wildcard_semantics() {
        assert!(m("*\\cmd.exe", r"C:\Windows\System32\CMD.EXE"));
        assert!(m("abc", "ABC"));
        assert!(!m("abc", "abcd"));
        assert!(m("a?c", "abc"));
        assert!(m("a?c", "aéc"));
        assert!(!m("a?c", "ac"));
        assert!(m("a*c", "ac"));
        assert!(m("*a*b*c*", "xxaxxbxxcxx"));
        assert!(!m("*a*b*c*", "xxcxxbxxaxx"));
        assert!(m("a*b?d", "axxbcd"));
        assert!(m("?", "é"));
        assert!(!m("??", "é"));
        assert!(m("*", ""));
        assert!(m("", ""));
        assert!(!m("", "x"));
        // A literal `?` in a URL is a wildcard that still matches `?`.
        assert!(m("*/index.php?id=*", "/index.php?id=5"));
        assert!(!m("ab*ab", "ab"), "tail may not overlap head");
    }

    #[test]
    fn tail_never_overlaps_head() {
        assert!(!m("ab*ba", "aba"));
        assert!(m("ab*ba", "abba"));
    }

    #[test]
    fn required_literal_is_longest() {
        let s = StrMatcher::new(&tokenize("*ab*cdef?g*"), true);
        assert_eq!(s.required_literal(), "cdef");
    }
}
