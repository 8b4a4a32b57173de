//! The optional caseload: who may read whom. Where the organisation can
//! say it (the France Travail regulator faulted access rights "far wider
//! than an adviser's caseload"), a read outside it needs no baseline to be
//! suspicious.
//!
//! Two CSV files, either or both, one pair per line, `#` for comments, an
//! optional header:
//! - accounts: `account,subject_id`, the people each account follows
//!   (delegations included);
//! - subjects: `subject_id,group`, the group each person belongs to (an
//!   agency, a partner organisation), compared with the account's
//!   `user.group.name`.
//!
//! Subject ids are hashed as they are read; the files themselves are not
//! kept.

use crate::activity::subject_hash;
use crate::config::ConfigError;
use rustc_hash::{FxHashMap, FxHashSet};
use std::path::Path;

#[derive(Debug, Default)]
pub struct Caseload {
    by_account: FxHashMap<String, FxHashSet<u64>>,
    subject_group: FxHashMap<u64, u32>,
    groups: FxHashMap<String, u32>,
}

fn read(path: &Path) -> Result<String, ConfigError> {
    std::fs::read_to_string(path)
        .map_err(|e| ConfigError::Invalid { field: "caseload", message: format!("{}: {e}", path.display()) })
}

/// Call `f` on each pair of `text`; errors name `name` and the line.
fn pairs(text: &str, name: &str, header: &str, mut f: impl FnMut(&str, &str)) -> Result<usize, ConfigError> {
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some((a, b)) = line.split_once(',') else {
            return Err(ConfigError::Invalid {
                field: "caseload",
                // The line is not quoted: it may hold a person's identifier,
                // and the error goes to logs and to a reload's audit entry.
                message: format!("{name}:{}: expected two fields `{header}` separated by a comma", i + 1),
            });
        };
        let (a, b) = (a.trim(), b.trim());
        if a.is_empty() || b.is_empty() || b.contains(',') {
            return Err(ConfigError::Invalid {
                field: "caseload",
                message: format!("{name}:{}: expected two non-empty fields `{header}`", i + 1),
            });
        }
        if n == 0 && i == 0 && header.split(',').next() == Some(a) {
            continue;
        }
        f(a, b);
        n += 1;
    }
    Ok(n)
}

impl Caseload {
    pub fn load(accounts: Option<&Path>, subjects: Option<&Path>) -> Result<Caseload, ConfigError> {
        let a = accounts.map(|p| read(p).map(|t| (t, p.display().to_string()))).transpose()?;
        let s = subjects.map(|p| read(p).map(|t| (t, p.display().to_string()))).transpose()?;
        Caseload::parse(
            a.as_ref().map(|(t, n)| (t.as_str(), n.as_str())),
            s.as_ref().map(|(t, n)| (t.as_str(), n.as_str())),
        )
    }

    /// Build from the files' texts, each with the name errors give it.
    pub fn parse(accounts: Option<(&str, &str)>, subjects: Option<(&str, &str)>) -> Result<Caseload, ConfigError> {
        let mut c = Caseload::default();
        if let Some((text, name)) = accounts {
            pairs(text, name, "account,subject_id", |a, s| {
                c.by_account.entry(a.to_string()).or_default().insert(subject_hash(s));
            })?;
        }
        if let Some((text, name)) = subjects {
            let Caseload { subject_group, groups, .. } = &mut c;
            pairs(text, name, "subject_id,group", |s, g| {
                let n = groups.len() as u32;
                let gi = *groups.entry(g.to_string()).or_insert(n);
                subject_group.insert(subject_hash(s), gi);
            })?;
        }
        Ok(c)
    }

    pub fn is_empty(&self) -> bool {
        self.by_account.is_empty() && self.subject_group.is_empty()
    }

    /// Whether reading `subject` is outside `user`'s caseload: `None` when
    /// the files say nothing of this account or person.
    pub fn outside(&self, user: &str, group: Option<&str>, subject: u64) -> Option<bool> {
        if let Some(set) = self.by_account.get(user) {
            if set.contains(&subject) {
                return Some(false);
            }
            // Not listed for the account: still inside if it is of the
            // account's group (the agency's shared caseload).
            return match (group.and_then(|g| self.groups.get(g)), self.subject_group.get(&subject)) {
                (Some(a), Some(b)) => Some(a != b),
                _ => Some(true),
            };
        }
        match (group.and_then(|g| self.groups.get(g)), self.subject_group.get(&subject)) {
            (Some(a), Some(b)) => Some(a != b),
            (None, Some(_)) if group.is_some() => Some(true),
            _ => None,
        }
    }

    pub fn accounts(&self) -> usize {
        self.by_account.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(name: &str, text: &str) -> std::path::PathBuf {
        let p = std::env::temp_dir().join(format!("vigie-caseload-{}-{name}", std::process::id()));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn accounts_and_subject_groups_say_who_may_read_whom() {
        let acc = file("acc.csv", "account,subject_id\n# advisers\nadv1,100\nadv1, 101\n");
        let sub = file("sub.csv", "subject_id,group\n100,agence-1\n200,agence-1\n300,agence-2\n");
        let c = Caseload::load(Some(&acc), Some(&sub)).unwrap();
        let h = |s: &str| subject_hash(s);
        assert_eq!(c.outside("adv1", Some("agence-1"), h("101")), Some(false), "listed");
        assert_eq!(c.outside("adv1", Some("agence-1"), h("200")), Some(false), "the agency's own");
        assert_eq!(c.outside("adv1", Some("agence-1"), h("300")), Some(true), "another agency's");
        assert_eq!(c.outside("adv1", Some("agence-1"), h("999")), Some(true), "unknown to the files, not listed");
        assert_eq!(c.outside("adv2", Some("agence-2"), h("300")), Some(false));
        assert_eq!(c.outside("adv2", Some("agence-2"), h("100")), Some(true));
        assert_eq!(c.outside("adv2", Some("agence-2"), h("999")), None, "nothing known");
        assert_eq!(c.outside("adv3", None, h("100")), None);
    }

    #[test]
    fn a_bad_line_is_named_with_its_file_and_number() {
        let bad = file("bad.csv", "adv1,100\nadv.martin 1850775123456\n");
        let e = Caseload::load(Some(&bad), None).unwrap_err().to_string();
        assert!(e.contains("bad.csv:2") && e.contains("account,subject_id"), "{e}");
        assert!(!e.contains("1850775123456"), "a person's identifier quoted: {e}");
        let missing = Caseload::load(Some(Path::new("/nonexistent/caseload.csv")), None).unwrap_err().to_string();
        assert!(missing.contains("/nonexistent/caseload.csv"), "{missing}");
    }
}
