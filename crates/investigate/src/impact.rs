//! Breach impact from the data-access trail: the exact set of people whose
//! records the attacker's principals read, by data category; what was
//! returned without ids, estimated with its basis; first and last access;
//! records and bytes; and the indicators of compromise.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};
use vigie_alert::rfc3339;
use vigie_store::{Access, Scope, Store, StoreError};

/// The computed impact. Subject pseudonyms are kept apart (`subjects`) and
/// serialised only by the export, never in a summary.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Impact {
    /// How the scope was chosen, in words.
    pub basis: String,
    pub scopes: Vec<Scope>,
    /// Distinct people identified in the records read.
    pub subjects: u64,
    /// Distinct people per data category.
    pub subjects_by_category: BTreeMap<String, u64>,
    /// Reads (trail rows) in scope.
    pub reads: u64,
    /// Person-records returned in all.
    pub records: u64,
    /// Person-records returned without ids (exports, searches).
    pub records_without_ids: u64,
    /// People those records may add, and why that number.
    pub estimated_subjects_without_ids: u64,
    pub estimate_basis: String,
    pub first_access: Option<String>,
    pub last_access: Option<String>,
    pub first_ms: Option<i64>,
    pub last_ms: Option<i64>,
    /// Bytes returned, where the logs say (`bytes_known` of `reads`).
    pub bytes: u64,
    pub bytes_known: u64,
    pub iocs: Iocs,
    /// Distinct people read by the same accounts in the same window from
    /// any source: the most the breach can be, if the attacker's sources
    /// were not all identified.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub upper_bound_subjects: Option<u64>,
    #[serde(skip)]
    pub pseudonyms: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Iocs {
    /// Source addresses with the number of reads from each.
    pub source_ips: Vec<(String, u64)>,
    pub user_agents: Vec<(String, u64)>,
    /// Accounts the principals created (IAM `creation`).
    pub created_accounts: Vec<String>,
    /// Accounts whose password the principals reset, or whom they granted roles.
    pub touched_accounts: Vec<String>,
}

fn count(map: BTreeMap<String, u64>) -> Vec<(String, u64)> {
    let mut v: Vec<_> = map.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v
}

/// The impact of these trail rows (already deduplicated).
pub fn compute(rows: &[Access], basis: &str, scopes: Vec<Scope>) -> Impact {
    let mut imp = Impact { basis: basis.into(), scopes, ..Impact::default() };
    let mut all: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut ips = BTreeMap::new();
    let mut agents = BTreeMap::new();
    let (mut created, mut touched) = (BTreeSet::new(), BTreeSet::new());
    for r in rows {
        imp.first_ms = Some(imp.first_ms.map_or(r.ts, |f| f.min(r.ts)));
        imp.last_ms = Some(imp.last_ms.map_or(r.ts, |l| l.max(r.ts)));
        if let Some(ip) = &r.source_ip {
            *ips.entry(ip.clone()).or_insert(0) += 1;
        }
        if let Some(ua) = &r.user_agent {
            *agents.entry(ua.clone()).or_insert(0) += 1;
        }
        match r.kind.as_str() {
            "read" => {}
            "create" => {
                created.extend(r.target.clone());
                continue;
            }
            _ => {
                touched.extend(r.target.clone());
                continue;
            }
        }
        imp.reads += 1;
        let records = r.records;
        imp.records += records;
        let with_ids = r.subjects.len() as u64;
        imp.records_without_ids += records.saturating_sub(with_ids);
        if let Some(b) = r.bytes {
            imp.bytes += b;
            imp.bytes_known += 1;
        }
        for s in &r.subjects {
            all.entry(s.clone()).or_default().extend(r.categories.iter().cloned());
        }
    }
    imp.subjects = all.len() as u64;
    for cats in all.values() {
        for c in cats {
            *imp.subjects_by_category.entry(c.clone()).or_insert(0) += 1;
        }
    }
    // Records returned without ids name nobody in the logs. Each is one
    // person-record, so there are at most that many more people; some may
    // be people already identified, which the logs cannot tell.
    imp.estimated_subjects_without_ids = imp.records_without_ids;
    imp.estimate_basis = if imp.records_without_ids == 0 {
        "Every record read carried its subject's id: the count is exact.".into()
    } else {
        format!(
            "{} person-record(s) were returned without ids (exports or searches); each is at most one person, so up to {} more people, \
             some of whom may already be among the {} identified. Ask the application owner for the export's contents to make this exact.",
            imp.records_without_ids, imp.records_without_ids, imp.subjects
        )
    };
    imp.first_access = imp.first_ms.map(rfc3339);
    imp.last_access = imp.last_ms.map(rfc3339);
    imp.iocs = Iocs {
        source_ips: count(ips),
        user_agents: count(agents),
        created_accounts: created.into_iter().collect(),
        touched_accounts: touched.into_iter().collect(),
    };
    imp.pseudonyms = all;
    imp
}

/// Rows of several scopes, each row once.
pub fn rows_in(store: &Store, scopes: &[Scope]) -> Result<Vec<Access>, StoreError> {
    let mut seen = BTreeSet::new();
    let mut rows = Vec::new();
    for s in scopes {
        for r in store.accesses(s)? {
            if seen.insert(r.id.clone()) {
                rows.push(r);
            }
        }
    }
    rows.sort_by(|a, b| a.ts.cmp(&b.ts).then_with(|| a.id.cmp(&b.id)));
    Ok(rows)
}

/// Impact of an explicit scope (accounts and/or sources, and a window).
pub fn of_scope(store: &Store, scope: Scope) -> Result<Impact, StoreError> {
    let mut words = Vec::new();
    if !scope.accounts.is_empty() {
        words.push(format!("reads by {}", scope.accounts.join(", ")));
    }
    if !scope.sources.is_empty() {
        words.push(format!("from {}", scope.sources.join(", ")));
    }
    let basis = format!("{} between {} and {}", words.join(" "), rfc3339(scope.from_ms), rfc3339(scope.to_ms));
    let rows = rows_in(store, std::slice::from_ref(&scope))?;
    Ok(compute(&rows, &basis, vec![scope]))
}

/// The pseudonymised subject list, one person per line with the
/// categories of data read about them.
pub fn subjects_csv(imp: &Impact) -> String {
    let mut out = String::from("subject_pseudonym,categories\n");
    for (s, cats) in &imp.pseudonyms {
        out.push_str(&format!("{s},{}\n", cats.iter().cloned().collect::<Vec<_>>().join(";")));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, ts: i64, kind: &str, subjects: &[&str], records: u64, cats: &[&str]) -> Access {
        Access {
            id: id.into(),
            ts,
            account: "a".into(),
            source_ip: Some("203.0.113.9".into()),
            user_agent: Some("curl/8".into()),
            kind: kind.into(),
            action: "x".into(),
            target: (kind != "read").then(|| "new1".into()),
            categories: cats.iter().map(|c| c.to_string()).collect(),
            subjects: subjects.iter().map(|c| c.to_string()).collect(),
            records,
            bytes: Some(10),
        }
    }

    #[test]
    fn people_are_counted_once_per_category_and_exports_are_estimated() {
        let rows = vec![
            row("1", 10, "read", &["p1", "p2"], 2, &["nir", "contact"]),
            row("2", 20, "read", &["p1"], 1, &["banking"]),
            row("3", 30, "read", &[], 500, &["contact"]),
            row("4", 40, "create", &[], 0, &[]),
        ];
        let imp = compute(&rows, "test", vec![]);
        assert_eq!(imp.subjects, 2);
        assert_eq!(imp.subjects_by_category["nir"], 2);
        assert_eq!(imp.subjects_by_category["banking"], 1);
        assert!(!imp.subjects_by_category.contains_key("contact") || imp.subjects_by_category["contact"] == 2);
        assert_eq!((imp.reads, imp.records, imp.records_without_ids), (3, 503, 500));
        assert_eq!(imp.estimated_subjects_without_ids, 500);
        assert!(imp.estimate_basis.contains("without ids"));
        assert_eq!((imp.first_ms, imp.last_ms), (Some(10), Some(40)));
        assert_eq!(imp.iocs.created_accounts, ["new1"]);
        assert_eq!(imp.iocs.source_ips, [("203.0.113.9".to_string(), 4)]);
        assert_eq!((imp.bytes, imp.bytes_known), (30, 3));
        let csv = subjects_csv(&imp);
        assert_eq!(csv.lines().count(), 3);
        assert!(csv.contains("p1,banking;contact;nir"));
    }
}
