//! Placeholders for the `expand` modifier (`%Admins_Workstations%`).
//!
//! Values come from a YAML file mapping each name to a list of Sigma strings.
//! A rule whose placeholder has no value is rejected, naming the placeholder,
//! because matching the literal `%name%` would silently never fire.

use crate::yaml::{Node, parse_documents};
use std::collections::HashMap;

#[derive(Debug, Clone, Default)]
pub struct Placeholders {
    values: HashMap<String, Vec<String>>,
}

impl Placeholders {
    /// Parse `name: [values...]` (a single value is allowed too).
    pub fn from_yaml(src: &str) -> Result<Self, String> {
        let docs = parse_documents(src).map_err(|e| e.to_string())?;
        let mut values = HashMap::new();
        for doc in docs {
            let Node::Map { entries, .. } = doc else {
                return Err("a placeholder file must be a mapping of name to values".into());
            };
            for (name, v) in entries {
                let list = match &v {
                    Node::Seq { items, .. } => items.iter().filter_map(|n| n.as_str().map(str::to_string)).collect(),
                    n => n.as_str().map(|s| vec![s.to_string()]).unwrap_or_default(),
                };
                values.insert(name.trim_matches('%').to_string(), list);
            }
        }
        Ok(Placeholders { values })
    }

    pub fn insert(&mut self, name: &str, values: Vec<String>) {
        self.values.insert(name.to_string(), values);
    }

    /// Expand every `%name%` in `value`; each placeholder may stand for several
    /// values, so the result is every combination.
    pub fn expand(&self, value: &str) -> Result<Vec<String>, String> {
        let mut out = vec![String::new()];
        let mut rest = value;
        while let Some(start) = rest.find('%') {
            let Some(len) = rest[start + 1..].find('%') else {
                break;
            };
            let name = &rest[start + 1..start + 1 + len];
            if name.is_empty() || name.contains(char::is_whitespace) {
                for o in &mut out {
                    o.push_str(&rest[..start + 1]);
                }
                rest = &rest[start + 1..];
                continue;
            }
            let Some(vals) = self.values.get(name) else {
                return Err(format!("unresolved placeholder %{name}%"));
            };
            if vals.is_empty() {
                return Err(format!("placeholder %{name}% has no values"));
            }
            let prefix = &rest[..start];
            out = out.iter().flat_map(|o| vals.iter().map(move |v| format!("{o}{prefix}{v}"))).collect();
            rest = &rest[start + len + 2..];
        }
        for o in &mut out {
            o.push_str(rest);
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_and_rejects() {
        let p = Placeholders::from_yaml("Admins: [alice, bob]\n'%dom%': corp\n").unwrap();
        assert_eq!(p.expand("%Admins%").unwrap(), vec!["alice", "bob"]);
        assert_eq!(p.expand("x\\%Admins%@%dom%").unwrap(), vec!["x\\alice@corp", "x\\bob@corp"]);
        assert_eq!(p.expand("100%").unwrap(), vec!["100%"]);
        assert_eq!(p.expand("%missing%").unwrap_err(), "unresolved placeholder %missing%");
    }
}
