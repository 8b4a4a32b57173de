//! `--fix`: the repairs that cannot change what a rule means, done as exact
//! text edits so that every other byte of the file stays as it was (comments,
//! quoting, indentation, line endings).
//!
//! - `tag-not-lowercase`: the tag's text is lowercased where it is written
//!   (when it appears exactly once on its line, as written in the tree).
//! - `duplicate-tag`: a later copy of a tag (compared in lowercase) is removed
//!   when it sits alone on its line as a block list item (`    - attack.t1059`);
//!   a duplicate inside a flow list (`[a, b, a]`) is left for a person.
//!
//! Anything else is reported and left alone.

use super::Config;
use crate::yaml::{self, Node};

/// One repair made to a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fixed {
    /// 1-based line in the original text.
    pub line: usize,
    pub check: &'static str,
    pub what: String,
}

/// Apply the safe fixes that `config` leaves enabled. Returns the new text
/// (identical when nothing was fixed) and what was done.
pub fn fix(text: &str, config: &Config) -> (String, Vec<Fixed>) {
    let Ok(docs) = yaml::parse_documents(text) else {
        return (text.to_string(), Vec::new());
    };
    let lower_on = config.enabled("tag-not-lowercase");
    let dup_on = config.enabled("duplicate-tag");
    let mut lines: Vec<Option<String>> = text.split_inclusive('\n').map(|l| Some(l.to_string())).collect();
    let mut done = Vec::new();
    for doc in &docs {
        let Some(Node::Seq { items, .. }) = doc.get("tags") else { continue };
        let mut seen = std::collections::HashSet::new();
        for item in items {
            let Some(tag) = item.as_str() else { continue };
            let Some(idx) = item.line().checked_sub(1) else { continue };
            let lower = tag.to_lowercase();
            let duplicate = !seen.insert(lower.clone());
            let Some(Some(line)) = lines.get_mut(idx) else { continue };
            if duplicate {
                if dup_on && alone_in_block_item(line, tag) {
                    lines[idx] = None;
                    done.push(Fixed { line: idx + 1, check: "duplicate-tag", what: format!("removed `{tag}`") });
                }
                continue;
            }
            if lower_on && lower != tag && line.matches(tag).count() == 1 {
                *line = line.replacen(tag, &lower, 1);
                done.push(Fixed { line: idx + 1, check: "tag-not-lowercase", what: format!("`{tag}` -> `{lower}`") });
            }
        }
    }
    (lines.into_iter().flatten().collect(), done)
}

/// Is `line` exactly `- tag` (optionally quoted, optionally with a comment)?
fn alone_in_block_item(line: &str, tag: &str) -> bool {
    let body = line.trim_end_matches(['\n', '\r']).trim();
    let Some(rest) = body.strip_prefix('-') else { return false };
    let rest = rest.trim_start();
    let value = match rest.find(" #") {
        Some(i) => rest[..i].trim_end(),
        None => rest,
    };
    value == tag || value == format!("'{tag}'") || value == format!("\"{tag}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowercases_and_removes_duplicates_only() {
        let text = "title: T # keep me\ntags:\n  - attack.T1059.001\n  - attack.execution\n  - 'attack.execution'  # again\n  - Attack.t1059.001\nlogsource: {product: x}\r\n";
        let (out, done) = fix(text, &Config::default());
        assert_eq!(
            out,
            "title: T # keep me\ntags:\n  - attack.t1059.001\n  - attack.execution\nlogsource: {product: x}\r\n"
        );
        assert_eq!(done.len(), 3, "{done:?}");
        let (again, more) = fix(&out, &Config::default());
        assert_eq!(again, out);
        assert!(more.is_empty());
    }

    #[test]
    fn flow_duplicates_are_left_alone() {
        let text = "tags: [attack.T1001, a.b, a.b]\n";
        let (out, done) = fix(text, &Config::default());
        assert_eq!(out, "tags: [attack.t1001, a.b, a.b]\n");
        assert_eq!(done.len(), 1);
        let mut c = Config::default();
        c.disable("tag-not-lowercase").unwrap();
        assert_eq!(fix(text, &c).0, text);
    }
}
