//! A small YAML tree that keeps every scalar as the text the author wrote.
//!
//! Sigma values are strings by specification, but YAML 1.2 resolvers turn an
//! unquoted `00000429` into the integer 429 and `0x10` into 16, silently changing
//! what a rule matches. Building our own tree from the parser's events keeps the
//! original text, remembers whether a scalar was quoted (so `null` and `'null'`
//! differ), and carries line numbers into every error message.

use saphyr_parser::{Event, Parser, ScalarStyle};
use std::collections::HashMap;

/// One YAML node with the 1-based line it starts on.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Scalar { text: String, plain: bool, line: usize },
    Seq { items: Vec<Node>, line: usize },
    Map { entries: Vec<(String, Node)>, line: usize },
}

/// A YAML syntax error with its position.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("YAML syntax error at line {line}, column {col}: {message}")]
pub struct YamlError {
    pub line: usize,
    pub col: usize,
    pub message: String,
}

impl Node {
    pub fn line(&self) -> usize {
        match self {
            Node::Scalar { line, .. } | Node::Seq { line, .. } | Node::Map { line, .. } => *line,
        }
    }

    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        match self {
            Node::Map { entries, .. } => entries.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The scalar text, if this is a scalar that is not YAML null.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            Node::Scalar { text, .. } if !self.is_null() => Some(text),
            _ => None,
        }
    }

    /// True for a plain `null`, `~`, `Null`, `NULL` or an empty plain scalar.
    pub fn is_null(&self) -> bool {
        matches!(self, Node::Scalar { text, plain: true, .. }
            if matches!(text.as_str(), "" | "~" | "null" | "Null" | "NULL"))
    }

    /// A short name of the node's kind, for error messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Node::Scalar { .. } => "a scalar",
            Node::Seq { .. } => "a list",
            Node::Map { .. } => "a mapping",
        }
    }
}

enum Frame {
    Seq(Vec<Node>, usize, usize),
    Map(Vec<(String, Node)>, Option<String>, usize, usize),
}

/// Parse every document of a (possibly multi-document) YAML text.
pub fn parse_documents(src: &str) -> Result<Vec<Node>, YamlError> {
    let mut docs = Vec::new();
    let mut stack: Vec<Frame> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    for item in Parser::new_from_str(src) {
        let (event, span) = item.map_err(|e| YamlError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let line = span.start.line();
        let done: Option<(Node, usize)> = match event {
            Event::Scalar(text, style, anchor, _) => {
                Some((Node::Scalar { text: text.into_owned(), plain: style == ScalarStyle::Plain, line }, anchor))
            }
            Event::SequenceStart(anchor, _) => {
                stack.push(Frame::Seq(Vec::new(), anchor, line));
                None
            }
            Event::MappingStart(anchor, _) => {
                stack.push(Frame::Map(Vec::new(), None, anchor, line));
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Frame::Seq(items, anchor, l)) => Some((Node::Seq { items, line: l }, anchor)),
                _ => return Err(internal(line)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Frame::Map(entries, _, anchor, l)) => Some((Node::Map { entries, line: l }, anchor)),
                _ => return Err(internal(line)),
            },
            Event::Alias(id) => match anchors.get(&id) {
                Some(node) => Some((node.clone(), 0)),
                None => {
                    return Err(YamlError { line, col: 1, message: "alias to an unknown anchor".into() });
                }
            },
            _ => None,
        };
        let Some((node, anchor)) = done else { continue };
        if anchor != 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => docs.push(node),
            Some(Frame::Seq(items, ..)) => items.push(node),
            Some(Frame::Map(entries, key, ..)) => match key.take() {
                None => match node {
                    Node::Scalar { text, .. } => *key = Some(text),
                    other => {
                        return Err(YamlError {
                            line: other.line(),
                            col: 1,
                            message: format!("mapping keys must be scalars, found {}", other.kind()),
                        });
                    }
                },
                Some(k) => entries.push((k, node)),
            },
        }
    }
    Ok(docs)
}

fn internal(line: usize) -> YamlError {
    YamlError { line, col: 1, message: "unbalanced YAML structure".into() }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_scalar_text_and_quoting() {
        let docs = parse_documents("a: 00000429\nb: 'null'\nc: null\nd:\n").unwrap();
        let d = &docs[0];
        assert_eq!(d.get("a").unwrap().as_str(), Some("00000429"));
        assert_eq!(d.get("b").unwrap().as_str(), Some("null"));
        assert!(d.get("c").unwrap().is_null());
        assert!(d.get("d").unwrap().is_null());
    }

    #[test]
    fn multi_document_and_lines() {
        let docs = parse_documents("a: 1\n---\nb:\n  - x\n  - y\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1].get("b").unwrap().line(), 4);
    }

    #[test]
    fn syntax_error_has_position() {
        let err = parse_documents("a: [1, 2\nb: c").unwrap_err();
        assert!(err.line >= 1, "{err}");
    }

    #[test]
    fn aliases_resolve() {
        let docs = parse_documents("a: &x [1, 2]\nb: *x\n").unwrap();
        assert_eq!(
            docs[0].get("a"),
            docs[0]
                .get("b")
                .map(|n| match n {
                    Node::Seq { items, .. } => Node::Seq { items: items.clone(), line: 1 },
                    o => o.clone(),
                })
                .as_ref()
        );
    }
}
