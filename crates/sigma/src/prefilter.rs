//! Required literals: which substrings an event must contain for a rule to
//! have any chance of matching.
//!
//! The engine scans each indexed field once with one Aho-Corasick automaton
//! and evaluates only the rules whose required literal appeared, so the cost
//! per event grows with the number of *fields*, not the number of rules.
//! The analysis is conservative: whenever a rule could match without any of
//! its literals (a `not`, a regex, a numeric test), it says `Any` and the rule
//! is always evaluated. It prunes; it never decides.

use crate::compile::{Expr, Test};
use crate::event::FieldId;
use crate::fold::fold;

/// What an event must contain for an expression to be true.
#[derive(Debug, Clone, PartialEq)]
pub enum Need {
    /// No cheap necessary condition: always evaluate.
    Any,
    /// At least one of these (field, folded literal) must occur; `None` as
    /// the field means "in any text of the event" (keyword searches). An empty
    /// list means the expression can never be true.
    OneOf(Vec<(Option<FieldId>, String)>),
}

impl Need {
    fn score(&self) -> (usize, usize) {
        match self {
            Need::Any => (0, 0),
            Need::OneOf(v) if v.is_empty() => (usize::MAX, usize::MAX),
            Need::OneOf(v) => {
                let min = v.iter().map(|(_, l)| l.len()).min().unwrap_or(0);
                (min.min(8), usize::MAX - v.len())
            }
        }
    }
}

/// Shortest literal worth indexing for a regex; shorter ones would make the
/// rule a candidate for almost every event anyway.
const MIN_REGEX_LITERAL: usize = 3;

/// Literals one of which every match of the regex contains (the prefixes or
/// the suffixes of its matches, whichever set is more selective), folded for
/// the case-insensitive prefilter. Folding is per character, so a literal in
/// the raw text is still found, folded, in the folded text. `None` when the
/// regex has no useful finite literal set.
pub fn regex_literals(pattern: &str) -> Option<Vec<String>> {
    use regex_syntax::hir::literal::{ExtractKind, Extractor};
    let hir = regex_syntax::Parser::new().parse(pattern).ok()?;
    let best = [ExtractKind::Prefix, ExtractKind::Suffix]
        .into_iter()
        .filter_map(|kind| {
            let seq = Extractor::new().kind(kind).extract(&hir);
            let lits = seq.literals()?;
            let mut out: Vec<String> = Vec::with_capacity(lits.len());
            for l in lits {
                let text = std::str::from_utf8(l.as_bytes()).ok()?;
                if text.chars().count() < MIN_REGEX_LITERAL {
                    return None;
                }
                let f = fold(text).into_owned();
                if !out.contains(&f) {
                    out.push(f);
                }
            }
            (!out.is_empty()).then_some(out)
        })
        .max_by_key(|v| (v.iter().map(String::len).min().unwrap_or(0).min(8), usize::MAX - v.len()))?;
    Some(best)
}

/// A group of literals of which at least one must occur.
pub type Group = Vec<(Option<FieldId>, String)>;

/// Several independent requirements, all of which must hold: the branches of
/// a top-level `and` each contribute their own group, so a rule such as
/// `Image|endswith: \\rundll32.exe and CommandLine|contains: MiniDump` is a
/// candidate only when both literals occur, not whenever `rundll32.exe` runs.
/// At most `max` groups are kept, the most selective first. No group means
/// no requirement (always evaluate); an empty group means never true.
pub fn needs(e: &Expr, max: usize) -> Vec<Group> {
    match e {
        Expr::And(v) => {
            let mut groups: Vec<Group> = v.iter().flat_map(|x| needs(x, max)).collect();
            groups.sort_by_key(|g| std::cmp::Reverse(Need::OneOf(g.clone()).score()));
            groups.dedup();
            groups.truncate(max);
            groups
        }
        _ => match need(e) {
            Need::Any => Vec::new(),
            Need::OneOf(l) => vec![l],
        },
    }
}

/// Compute the necessary literals of an expression.
pub fn need(e: &Expr) -> Need {
    match e {
        Expr::Const(false) => Need::OneOf(Vec::new()),
        Expr::Const(true) | Expr::Not(_) => Need::Any,
        Expr::Leaf(l) => match &l.test {
            Test::Str { m, .. } if !l.negate => {
                let lit = fold(m.required_literal()).into_owned();
                if lit.is_empty() { Need::Any } else { Need::OneOf(vec![(l.field, lit)]) }
            }
            Test::Re(re) if !l.negate => match regex_literals(re.as_str()) {
                Some(lits) => Need::OneOf(lits.into_iter().map(|lit| (l.field, lit)).collect()),
                None => Need::Any,
            },
            _ => Need::Any,
        },
        Expr::Or(v) => {
            let mut all = Vec::new();
            for x in v {
                match need(x) {
                    Need::Any => return Need::Any,
                    Need::OneOf(mut l) => all.append(&mut l),
                }
            }
            Need::OneOf(all)
        }
        Expr::And(v) => v.iter().map(need).max_by_key(Need::score).unwrap_or(Need::Any),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compile::Leaf;
    use crate::pattern::{StrMatcher, tokenize};

    fn s(field: u32, pat: &str) -> Expr {
        Expr::Leaf(Box::new(Leaf {
            field: Some(FieldId(field)),
            test: Test::Str { m: StrMatcher::new(&tokenize(pat), true), cased: false },
            negate: false,
        }))
    }

    #[test]
    fn and_branches_each_give_a_group() {
        let e = Expr::And(vec![s(0, "*\\rundll32.exe"), s(1, "*minidump*"), Expr::Not(Box::new(s(2, "x")))]);
        let g = needs(&e, 3);
        assert_eq!(g.len(), 2);
        assert!(g.contains(&vec![(Some(FieldId(1)), "minidump".to_string())]));
        assert!(needs(&Expr::Not(Box::new(s(0, "abc"))), 3).is_empty());
        let deep = Expr::And(vec![s(0, "aaaa"), Expr::And(vec![s(1, "bbbbb"), s(2, "cc"), s(3, "dddddd")])]);
        assert_eq!(needs(&deep, 3).len(), 3, "the three most selective");
    }

    #[test]
    fn regex_literals_are_required_substrings() {
        // Case-insensitive literals come out in every case variant, folded to one.
        let lits = regex_literals(r"(?i)invoke-expression\s+\$").unwrap();
        assert_eq!(lits.len(), 1);
        assert!(lits[0].len() >= 3 && "invoke-expression".starts_with(lits[0].as_str()), "{lits:?}");
        let lits = regex_literals(r"(foo|barbaz)\d+").unwrap();
        assert_eq!(lits, vec!["foo", "barbaz"]);
        assert_eq!(regex_literals(r"\w+\.exe$").unwrap(), vec![".exe"]);
        assert!(regex_literals(r"a.*b").is_none(), "one-character literals are not worth indexing");
        assert!(regex_literals(r"[a-z]+").is_none());
    }

    #[test]
    fn and_picks_the_most_selective_or_unions() {
        let e = Expr::And(vec![s(0, "*\\cmd.exe"), s(1, "*a*")]);
        assert_eq!(need(&e), Need::OneOf(vec![(Some(FieldId(0)), "\\cmd.exe".into())]));
        let e = Expr::Or(vec![s(0, "abc"), s(1, "*DEF")]);
        assert_eq!(need(&e), Need::OneOf(vec![(Some(FieldId(0)), "abc".into()), (Some(FieldId(1)), "def".into())]));
        let e = Expr::Or(vec![s(0, "abc"), Expr::Not(Box::new(s(1, "x")))]);
        assert_eq!(need(&e), Need::Any);
        let e = Expr::And(vec![s(0, "abcd"), Expr::Not(Box::new(s(1, "x")))]);
        assert_eq!(need(&e), Need::OneOf(vec![(Some(FieldId(0)), "abcd".into())]));
    }
}
