//! From an incident to its scope: the account, the sources the incident
//! found new for it (the attacker's, likely), the accounts it created, and
//! the moment of awareness (the first high alert) that starts the
//! regulators' clocks.

use crate::impact::{self, Impact};
use serde::Serialize;
use vigie_alert::Severity;
use vigie_alert::rfc3339;
use vigie_store::{AlertRow, Scope, Store, StoreError, StoredAction};

#[derive(Debug, Clone, Serialize)]
pub struct IncidentReport {
    pub incident: AlertRow,
    pub account: String,
    /// When the organisation became aware: the first high or critical
    /// signal behind the incident.
    pub awareness_ms: i64,
    pub awareness: String,
    pub impact: Impact,
    pub actions: Vec<StoredAction>,
}

/// (at, level) of each signal behind the incident.
fn signals(row: &AlertRow) -> Vec<(i64, Severity)> {
    row.alert
        .pointer("/evidence/signals")
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| {
                    let at = s.get("at")?.as_str()?.parse::<jiff::Timestamp>().ok()?.as_millisecond();
                    Some((at, s.get("level")?.as_str()?.parse().ok()?))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The first high alert behind the incident (or the incident itself).
pub fn awareness(row: &AlertRow) -> i64 {
    signals(row)
        .into_iter()
        .filter(|(_, l)| *l >= Severity::High)
        .map(|(at, _)| at)
        .min()
        .unwrap_or(row.first_seen_ms)
        .min(row.first_seen_ms)
}

/// The scope of an incident and the impact within it.
pub fn report(store: &Store, id: &str) -> Result<IncidentReport, StoreError> {
    let row = store.alert(id)?;
    if row.kind != "incident" {
        return Err(StoreError::Invalid {
            field: "incident",
            message: format!("alert {id} is a {}, not an incident", row.kind),
        });
    }
    let account = row.account.clone().unwrap_or_default();
    let sources: Vec<String> = row
        .alert
        .pointer("/evidence/new_sources")
        .and_then(|v| v.as_array())
        .map(|a| a.iter().filter_map(|s| s.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let first_signal = signals(&row).iter().map(|s| s.0).min().unwrap_or(row.first_seen_ms);
    let (mut scopes, mut basis) = if sources.is_empty() {
        (
            vec![Scope {
                accounts: vec![account.clone()],
                sources: vec![],
                from_ms: first_signal - 3_600_000,
                to_ms: i64::MAX,
            }],
            format!(
                "every read by {account} from an hour before its first signal ({}) on: the incident found no new source, \
                 so the attacker's reads cannot be told from the owner's",
                rfc3339(first_signal)
            ),
        )
    } else {
        (
            vec![Scope { accounts: vec![account.clone()], sources: sources.clone(), from_ms: 0, to_ms: i64::MAX }],
            format!(
                "every read by {account} from the source(s) the incident found new for it ({})",
                sources.join(", ")
            ),
        )
    };
    // Accounts the attacker created read on its behalf, from wherever.
    let first = impact::rows_in(store, &scopes)?;
    let created: Vec<(String, i64)> =
        first.iter().filter(|r| r.kind == "create").filter_map(|r| r.target.clone().map(|t| (t, r.ts))).collect();
    for (acct, at) in &created {
        scopes.push(Scope { accounts: vec![acct.clone()], sources: vec![], from_ms: *at, to_ms: i64::MAX });
    }
    if !created.is_empty() {
        let names: Vec<&str> = created.iter().map(|c| c.0.as_str()).collect();
        basis.push_str(&format!(", and every read by the account(s) it created ({})", names.join(", ")));
    }
    let rows = impact::rows_in(store, &scopes)?;
    let mut imp = impact::compute(&rows, &basis, scopes);
    if !sources.is_empty()
        && let (Some(f), Some(l)) = (imp.first_ms, imp.last_ms)
    {
        let all = store.accesses(&Scope { accounts: vec![account.clone()], sources: vec![], from_ms: f, to_ms: l })?;
        let mut people = std::collections::BTreeSet::new();
        for r in &all {
            people.extend(r.subjects.iter().cloned());
        }
        people.extend(imp.pseudonyms.keys().cloned());
        imp.upper_bound_subjects = Some(people.len() as u64);
    }
    let alert_ids: Vec<String> = std::iter::once(row.id.clone())
        .chain(
            row.alert
                .pointer("/evidence/signals")
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
                .filter_map(|s| s.get("alert_id").and_then(|v| v.as_str()).map(str::to_string)),
        )
        .collect();
    let actions = store.actions(&alert_ids, Some(&account))?;
    let aware = awareness(&row);
    Ok(IncidentReport { account, awareness_ms: aware, awareness: rfc3339(aware), impact: imp, actions, incident: row })
}
