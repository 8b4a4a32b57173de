//! Conditions used by `detect` and `when`: a field has one of several values
//! (Sigma string syntax, case-insensitive, wildcards allowed) or exists.

use vigie_events::FieldPath;
use vigie_events::flat::{Flat, Kind};
use vigie_sigma::fold::fold;
use vigie_sigma::pattern::{StrMatcher, has_wildcards, plain_text, tokenize};

/// What a condition checks on a field.
#[derive(Debug, Clone)]
pub enum Check {
    Exists(bool),
    /// `exact` holds the folded values when none has a wildcard, so routing can
    /// use a hash lookup instead of trying each matcher.
    AnyOf {
        matchers: Vec<StrMatcher>,
        exact: Option<Vec<String>>,
    },
}

impl Check {
    pub fn any_of(values: &[String]) -> Check {
        let toks: Vec<_> = values.iter().map(|v| tokenize(v)).collect();
        let exact = toks
            .iter()
            .all(|t| !has_wildcards(t))
            .then(|| toks.iter().map(|t| fold(&plain_text(t)).into_owned()).collect());
        Check::AnyOf { matchers: toks.iter().map(|t| StrMatcher::new(t, true)).collect(), exact }
    }
}

/// One condition on one field, whose value may sit at any of several paths.
#[derive(Debug, Clone)]
pub struct Cond {
    pub paths: Vec<FieldPath>,
    pub check: Check,
}

impl Cond {
    /// Does the event satisfy this condition?
    pub fn holds(&self, ev: &Flat) -> bool {
        match &self.check {
            Check::Exists(want) => {
                let present = self.paths.iter().any(|p| ev.visit(p, &mut |v, _| v.kind != Kind::Null).1);
                present == *want
            }
            Check::AnyOf { matchers, .. } => self.paths.iter().any(|p| {
                ev.visit(p, &mut |v, text| {
                    v.kind.is_scalar() && {
                        let t = fold(text);
                        matchers.iter().any(|m| m.is_match(&t))
                    }
                })
                .1
            }),
        }
    }
}

/// The folded scalar texts an event has for a condition's field.
pub fn values(paths: &[FieldPath], ev: &Flat, out: &mut Vec<String>) {
    out.clear();
    for p in paths {
        ev.visit(p, &mut |v, text| {
            if v.kind.is_scalar() {
                out.push(fold(text).into_owned());
            }
            false
        });
        if !out.is_empty() {
            return;
        }
    }
}
