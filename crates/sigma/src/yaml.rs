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

/// At most this many nodes may come from aliases in one document: each use
/// of an alias counts every node of the anchored value it copies. Real
/// rules reuse a list or a mapping a few times (tens of nodes); nine levels
/// of nine aliases to one another ("billion laughs", 1.3 KB of text) would
/// expand to 9^9 nodes and exhaust the memory. A document over the budget is
/// an error at the alias that crossed it.
pub const MAX_ALIAS_NODES: usize = 10_000;

/// Lists and mappings nested deeper than this are an error: the tree is
/// walked (and dropped) recursively, and a rule needs a handful of levels.
pub const MAX_DEPTH: usize = 128;

/// The number of nodes in a tree (itself included).
fn size(node: &Node) -> usize {
    match node {
        Node::Scalar { .. } => 1,
        Node::Seq { items, .. } => 1 + items.iter().map(size).sum::<usize>(),
        Node::Map { entries, .. } => 1 + entries.iter().map(|(_, v)| 1 + size(v)).sum::<usize>(),
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
    // An anchored value and its size in nodes.
    let mut anchors: HashMap<usize, (Node, usize)> = HashMap::new();
    // Nodes copied from aliases in the current document.
    let mut expanded = 0usize;
    for item in Parser::new_from_str(src) {
        let (event, span) = item.map_err(|e| YamlError {
            line: e.marker().line(),
            col: e.marker().col() + 1,
            message: e.info().to_string(),
        })?;
        let line = span.start.line();
        if matches!(event, Event::SequenceStart(..) | Event::MappingStart(..)) && stack.len() >= MAX_DEPTH {
            return Err(YamlError {
                line,
                col: span.start.col() + 1,
                message: format!("lists and mappings nested deeper than {MAX_DEPTH} levels"),
            });
        }
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
            Event::DocumentStart(_) => {
                expanded = 0;
                None
            }
            Event::Alias(id) => match anchors.get(&id) {
                Some((node, n)) => {
                    expanded = expanded.saturating_add(*n);
                    if expanded > MAX_ALIAS_NODES {
                        return Err(YamlError {
                            line,
                            col: span.start.col() + 1,
                            message: format!(
                                "aliases expand to more than {MAX_ALIAS_NODES} nodes in this document \
                                 (nested aliases, as in a \"billion laughs\" attack)"
                            ),
                        });
                    }
                    Some((node.clone(), 0))
                }
                None => {
                    return Err(YamlError { line, col: 1, message: "alias to an unknown anchor".into() });
                }
            },
            _ => None,
        };
        let Some((node, anchor)) = done else { continue };
        if anchor != 0 {
            let n = size(&node);
            anchors.insert(anchor, (node.clone(), n));
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
pub(crate) mod tests {
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

    /// Issue 16: nine levels of nine aliases ("billion laughs", 1.3 KB)
    /// grew `rules check` to 23 GB. The expansion budget stops it at the
    /// alias that crosses it, with its line.
    #[test]
    fn nested_aliases_are_held_to_a_budget() {
        let text = laughs();
        assert!(text.len() < 1500, "{} bytes", text.len());
        let err = parse_documents(&text).unwrap_err();
        assert!(err.message.contains("aliases expand to more than 10000 nodes"), "{err}");
        assert!((4..=10).contains(&err.line), "{err}");
        // Within the budget, aliases still expand; the budget is per document.
        let ok = "a: &a [1, 2, 3]\nb: [*a, *a, *a]\n---\nc: &c [x]\nd: *c\n";
        assert_eq!(parse_documents(ok).unwrap().len(), 2);
    }

    #[test]
    fn nesting_is_limited() {
        // The parser limits flow nesting itself; block nesting is ours to limit.
        let deep = format!("a: {}{}\n", "[".repeat(10_000), "]".repeat(10_000));
        assert!(parse_documents(&deep).is_err());
        let block: String = (0..200).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        let err = parse_documents(&block).unwrap_err();
        assert!(err.message.contains("deeper than 128"), "{err}");
        assert_eq!(err.line, 129, "{err}");
        let ok = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        assert!(parse_documents(&ok).is_ok());
    }

    /// Nine levels of nine aliases to the level below.
    pub(crate) fn laughs() -> String {
        let mut text = String::from(
            "title: lol\na: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        let names = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
        for w in names.windows(2) {
            let refs = vec![format!("*{}", w[0]); 9].join(",");
            text.push_str(&format!("{}: &{} [{refs}]\n", w[1], w[1]));
        }
        text
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
