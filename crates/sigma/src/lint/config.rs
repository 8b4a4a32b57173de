//! The lint configuration file:
//!
//! ```yaml
//! disable: [wildcard-instead-of-modifier, missing-status]
//! severity:
//!   missing-author: error
//!   title-too-long: info
//! ```

use super::{CHECKS, Severity, check};
use crate::yaml::{self, Node};
use std::collections::HashMap;

/// Which checks run, and at which severity.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Config {
    disabled: Vec<&'static str>,
    severity: HashMap<&'static str, Severity>,
}

impl Config {
    /// Read a configuration; unknown keys, unknown check ids and unknown
    /// severities are errors, so that a typo does not silently keep a check.
    pub fn from_yaml(text: &str) -> Result<Config, String> {
        let docs = yaml::parse_documents(text).map_err(|e| e.to_string())?;
        let mut config = Config::default();
        let Some(doc) = docs.into_iter().find(|d| !d.is_null()) else {
            return Ok(config);
        };
        let Node::Map { entries, .. } = &doc else {
            return Err(format!("line {}: the lint configuration must be a mapping", doc.line()));
        };
        for (key, value) in entries {
            match key.as_str() {
                "disable" => {
                    let items = match value {
                        Node::Seq { items, .. } => items.clone(),
                        n if n.is_null() => Vec::new(),
                        n => vec![n.clone()],
                    };
                    for item in &items {
                        let id = item.as_str().unwrap_or_default();
                        config.disabled.push(known(id, item.line())?);
                    }
                }
                "severity" => match value {
                    Node::Map { entries, .. } => {
                        for (id, s) in entries {
                            let id = known(id, s.line())?;
                            let Some(sev) = s.as_str().and_then(Severity::parse) else {
                                return Err(format!(
                                    "line {}: severity of `{id}` must be error, warning or info",
                                    s.line()
                                ));
                            };
                            config.severity.insert(id, sev);
                        }
                    }
                    n if n.is_null() => {}
                    n => return Err(format!("line {}: `severity` must map check ids to severities", n.line())),
                },
                other => {
                    return Err(format!(
                        "line {}: unknown key `{other}` (expected `disable` or `severity`)",
                        value.line()
                    ));
                }
            }
        }
        Ok(config)
    }

    /// Turn a check off.
    pub fn disable(&mut self, id: &str) -> Result<(), String> {
        self.disabled.push(known(id, 0)?);
        Ok(())
    }

    /// The severity a check reports at, or None when it is disabled.
    pub fn severity_of(&self, id: &str) -> Option<Severity> {
        if self.disabled.contains(&id) {
            return None;
        }
        let c = check(id)?;
        Some(self.severity.get(c.id).copied().unwrap_or(c.severity))
    }

    /// True unless the check is disabled.
    pub fn enabled(&self, id: &str) -> bool {
        self.severity_of(id).is_some()
    }
}

fn known(id: &str, line: usize) -> Result<&'static str, String> {
    match CHECKS.iter().find(|c| c.id == id) {
        Some(c) => Ok(c.id),
        None => {
            let at = if line > 0 { format!("line {line}: ") } else { String::new() };
            Err(format!("{at}unknown check `{id}` (see docs/lint.md for the list)"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_disable_and_severity() {
        let c = Config::from_yaml("disable: [missing-author]\nseverity:\n  title-too-long: error\n").unwrap();
        assert_eq!(c.severity_of("missing-author"), None);
        assert_eq!(c.severity_of("title-too-long"), Some(Severity::Error));
        assert_eq!(c.severity_of("duplicate-id"), Some(Severity::Error));
        let e = Config::from_yaml("disable: [no-such-check]\n").unwrap_err();
        assert!(e.contains("no-such-check"), "{e}");
        assert!(Config::from_yaml("severity: {duplicate-id: fatal}\n").is_err());
        assert!(Config::from_yaml("disabled: []\n").is_err());
        assert_eq!(Config::from_yaml("").unwrap(), Config::default());
    }
}
