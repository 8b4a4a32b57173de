//! The detection `condition` language.
//!
//! Precedence, loosest first: `or`, `and`, `not`, then `1 of` / `any of` /
//! `all of`. Operators are lowercase, as in the specification and pySigma;
//! an uppercase `AND` is an unknown search identifier, reported as such. An
//! optional legacy aggregation (`| count(field) by group > n`) may follow.

use thiserror::Error;

/// A parsed condition.
#[derive(Debug, Clone, PartialEq)]
pub enum Cond {
    Ident(String),
    Not(Box<Cond>),
    And(Vec<Cond>),
    Or(Vec<Cond>),
    /// `1 of x*` / `any of x*` (all = false) or `all of x*` (all = true);
    /// `pattern` None means `them`.
    Of {
        all: bool,
        pattern: Option<String>,
    },
}

/// The legacy v1 aggregation after a pipe.
#[derive(Debug, Clone, PartialEq)]
pub struct Aggregation {
    pub function: String,
    pub field: Option<String>,
    pub group_by: Vec<String>,
    pub op: CmpOp,
    pub value: f64,
}

/// A numeric comparison operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Lt,
    Lte,
    Gt,
    Gte,
    Eq,
    Neq,
}

impl CmpOp {
    pub fn apply(self, a: f64, b: f64) -> bool {
        match self {
            CmpOp::Lt => a < b,
            CmpOp::Lte => a <= b,
            CmpOp::Gt => a > b,
            CmpOp::Gte => a >= b,
            CmpOp::Eq => a == b,
            CmpOp::Neq => a != b,
        }
    }
}

/// A condition that could not be parsed.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("condition `{condition}`: {message}")]
pub struct ConditionError {
    pub condition: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Token {
    LParen,
    RParen,
    Pipe,
    Comma,
    Op(CmpOp),
    Word(String),
}

fn tokenize(s: &str) -> Result<Vec<Token>, String> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' => {
                out.push(Token::LParen);
                i += 1
            }
            b')' => {
                out.push(Token::RParen);
                i += 1
            }
            b'|' => {
                out.push(Token::Pipe);
                i += 1
            }
            b',' => {
                out.push(Token::Comma);
                i += 1
            }
            b'<' | b'>' | b'=' | b'!' => {
                let two = b.get(i + 1) == Some(&b'=');
                let op = match (c, two) {
                    (b'<', true) => CmpOp::Lte,
                    (b'<', false) => CmpOp::Lt,
                    (b'>', true) => CmpOp::Gte,
                    (b'>', false) => CmpOp::Gt,
                    (b'=', _) => CmpOp::Eq,
                    (b'!', true) => CmpOp::Neq,
                    _ => return Err(format!("unexpected character `{}`", c as char)),
                };
                out.push(Token::Op(op));
                i += if two { 2 } else { 1 };
            }
            _ => {
                let start = i;
                while i < b.len() && !b" \t\n\r()|,<>=!".contains(&b[i]) {
                    i += 1;
                }
                out.push(Token::Word(s[start..i].to_string()));
            }
        }
    }
    Ok(out)
}

struct P<'a> {
    toks: &'a [Token],
    pos: usize,
}

impl P<'_> {
    fn peek(&self) -> Option<&Token> {
        self.toks.get(self.pos)
    }
    fn word_is(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Token::Word(x)) if x == w)
    }
    fn next(&mut self) -> Option<Token> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }

    fn or(&mut self) -> Result<Cond, String> {
        let mut items = vec![self.and()?];
        while self.word_is("or") {
            self.pos += 1;
            items.push(self.and()?);
        }
        Ok(if items.len() == 1 { items.pop().expect("one") } else { Cond::Or(items) })
    }

    fn and(&mut self) -> Result<Cond, String> {
        let mut items = vec![self.not()?];
        while self.word_is("and") {
            self.pos += 1;
            items.push(self.not()?);
        }
        Ok(if items.len() == 1 { items.pop().expect("one") } else { Cond::And(items) })
    }

    fn not(&mut self) -> Result<Cond, String> {
        if self.word_is("not") {
            self.pos += 1;
            return Ok(Cond::Not(Box::new(self.not()?)));
        }
        self.primary()
    }

    fn primary(&mut self) -> Result<Cond, String> {
        match self.next() {
            Some(Token::LParen) => {
                let inner = self.or()?;
                match self.next() {
                    Some(Token::RParen) => Ok(inner),
                    _ => Err("missing `)`".into()),
                }
            }
            Some(Token::Word(w)) => {
                if matches!(w.as_str(), "1" | "any" | "all") && self.word_is("of") {
                    self.pos += 1;
                    let all = w == "all";
                    match self.next() {
                        Some(Token::Word(t)) if t == "them" => Ok(Cond::Of { all, pattern: None }),
                        Some(Token::Word(t)) if !is_keyword(&t) => Ok(Cond::Of { all, pattern: Some(t) }),
                        _ => Err(format!("`{w} of` must be followed by `them` or a search name pattern")),
                    }
                } else if w.chars().all(|c| c.is_ascii_digit()) && self.word_is("of") {
                    Err(format!("`{w} of` is not Sigma: only `1 of`, `any of` and `all of` exist"))
                } else if is_keyword(&w) {
                    Err(format!("unexpected `{w}`"))
                } else if w == "near" {
                    Err("the legacy `near` operator is not supported; write a temporal correlation".into())
                } else {
                    Ok(Cond::Ident(w))
                }
            }
            Some(Token::RParen) => Err("unexpected `)`".into()),
            Some(t) => Err(format!("unexpected {t:?}")),
            None => Err("unexpected end of condition".into()),
        }
    }

    fn aggregation(&mut self) -> Result<Aggregation, String> {
        let function = match self.next() {
            Some(Token::Word(f)) => f,
            _ => return Err("expected an aggregation function after `|`".into()),
        };
        if !matches!(function.as_str(), "count" | "min" | "max" | "avg" | "sum") {
            if function == "near" {
                return Err("the legacy `near` aggregation is not supported; write a temporal correlation".into());
            }
            return Err(format!("unknown aggregation function `{function}`"));
        }
        if self.next() != Some(Token::LParen) {
            return Err(format!("expected `(` after `{function}`"));
        }
        let field = match self.next() {
            Some(Token::RParen) => None,
            Some(Token::Word(f)) => {
                if self.next() != Some(Token::RParen) {
                    return Err("expected `)`".into());
                }
                Some(f)
            }
            _ => return Err("expected a field name or `)`".into()),
        };
        let mut group_by = Vec::new();
        if self.word_is("by") {
            self.pos += 1;
            loop {
                match self.next() {
                    Some(Token::Word(g)) => group_by.push(g),
                    _ => return Err("expected a field name after `by`".into()),
                }
                if self.peek() == Some(&Token::Comma) {
                    self.pos += 1;
                } else {
                    break;
                }
            }
        }
        let op = match self.next() {
            Some(Token::Op(op)) => op,
            _ => {
                return Err("expected a comparison (`>`, `>=`, `<`, `<=`, `=`) after the aggregation".into());
            }
        };
        let value = match self.next() {
            Some(Token::Word(v)) => v.parse::<f64>().map_err(|_| format!("`{v}` is not a number"))?,
            _ => return Err("expected a number after the comparison".into()),
        };
        Ok(Aggregation { function, field, group_by, op, value })
    }
}

fn is_keyword(w: &str) -> bool {
    matches!(w, "and" | "or" | "not" | "of" | "them")
}

/// Parse a condition, with its optional legacy aggregation.
pub fn parse(condition: &str) -> Result<(Cond, Option<Aggregation>), ConditionError> {
    let err = |message: String| ConditionError { condition: condition.to_string(), message };
    let toks = tokenize(condition).map_err(err)?;
    let mut p = P { toks: &toks, pos: 0 };
    let cond = p.or().map_err(err)?;
    let agg = match p.next() {
        None => None,
        Some(Token::Pipe) => Some(p.aggregation().map_err(err)?),
        Some(t) => return Err(err(format!("unexpected {t:?} after a complete expression"))),
    };
    if let Some(t) = p.peek() {
        return Err(err(format!("unexpected {t:?} at the end")));
    }
    Ok((cond, agg))
}

/// Does an `x*` style pattern name this search? `_`-prefixed searches are
/// only reached by patterns that themselves start with `_`.
pub fn pattern_matches(pattern: Option<&str>, name: &str) -> bool {
    match pattern {
        None => !name.starts_with('_'),
        Some(p) => {
            if name.starts_with('_') && !p.starts_with('_') {
                return false;
            }
            let toks = crate::pattern::tokenize(p);
            crate::pattern::StrMatcher::new(&toks, false).is_match(name)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(s: &str) -> Cond {
        Cond::Ident(s.into())
    }

    #[test]
    fn precedence() {
        let (c, _) = parse("a or b and not c").unwrap();
        assert_eq!(c, Cond::Or(vec![id("a"), Cond::And(vec![id("b"), Cond::Not(Box::new(id("c")))])]));
        let (c, _) = parse("not 1 of sel* and all of them").unwrap();
        assert_eq!(
            c,
            Cond::And(vec![
                Cond::Not(Box::new(Cond::Of { all: false, pattern: Some("sel*".into()) })),
                Cond::Of { all: true, pattern: None }
            ])
        );
        let (c, _) = parse("(a or b) and c").unwrap();
        assert_eq!(c, Cond::And(vec![Cond::Or(vec![id("a"), id("b")]), id("c")]));
    }

    #[test]
    fn aggregation() {
        let (_, a) = parse("selection | count(TargetUserName) by IpAddress, WorkstationName >= 10").unwrap();
        let a = a.unwrap();
        assert_eq!(a.function, "count");
        assert_eq!(a.field.as_deref(), Some("TargetUserName"));
        assert_eq!(a.group_by, vec!["IpAddress", "WorkstationName"]);
        assert_eq!(a.op, CmpOp::Gte);
        assert_eq!(a.value, 10.0);
        assert!(parse("sel | count() > 5").unwrap().1.unwrap().field.is_none());
    }

    #[test]
    fn errors() {
        assert!(parse("a and").is_err());
        assert!(parse("(a or b").is_err());
        assert!(parse("2 of sel*").unwrap_err().message.contains("1 of"));
        assert!(parse("a | near b").is_err());
        assert!(parse("a b").is_err());
    }

    #[test]
    fn underscore_rule() {
        assert!(pattern_matches(None, "selection"));
        assert!(!pattern_matches(None, "_internal"));
        assert!(!pattern_matches(Some("*"), "_internal"));
        assert!(pattern_matches(Some("_*"), "_internal"));
        assert!(pattern_matches(Some("sel*"), "selection_img"));
        assert!(!pattern_matches(Some("sel*"), "filter"));
    }
}
