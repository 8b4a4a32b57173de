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
