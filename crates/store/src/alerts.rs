//! Alerts, incidents and response actions as the engine writes them, and
//! the triage analysts add: status, assignee, resolution, notes and
//! suppressions. A merged repeat updates its alert's count and last sight
//! without touching the triage.

use crate::backend::{Row, Sql};
use crate::{Store, StoreError, now_ms};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use vigie_alert::Alert;
use vigie_alert::Severity;
use vigie_analytics::Pseudonymiser;
use vigie_respond::ActionRecord;

/// An alert as the console and the API show it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AlertRow {
    pub id: String,
    pub kind: String,
    pub rule_id: String,
    pub rule_name: String,
    pub rule_author: String,
    pub level: Severity,
    pub account: Option<String>,
    pub source_ip: Option<String>,
    pub first_seen_ms: i64,
    pub last_seen_ms: i64,
    pub count: i64,
    pub reason: String,
    /// `open`, `acknowledged` or `closed`.
    pub status: String,
    pub assignee: Option<String>,
    /// `true_positive` or `false_positive`, once closed.
    pub resolution: Option<String>,
    pub resolution_reason: Option<String>,
    /// The whole alert (evidence, events), as the engine wrote it.
    pub alert: Value,
}

const ALERT_COLUMNS: &str = "id, kind, rule_id, rule_name, rule_author, level, account, source_ip, first_seen_ms, \
     last_seen_ms, count, reason, status, assignee, resolution, resolution_reason, body";

fn alert_row(r: &Row) -> AlertRow {
    AlertRow {
        id: r.text(0),
        kind: r.text(1),
        rule_id: r.text(2),
        rule_name: r.text(3),
        rule_author: r.text(4),
        // Written from a Severity; an unreadable value reads as medium.
        level: r.text(5).parse().unwrap_or(Severity::Medium),
        account: r.opt(6),
        source_ip: r.opt(7),
        first_seen_ms: r.int(8),
        last_seen_ms: r.int(9),
        count: r.int(10),
        reason: r.text(11),
        status: r.text(12),
        assignee: r.opt(13),
        resolution: r.opt(14),
        resolution_reason: r.opt(15),
        alert: serde_json::from_str(&r.text(16)).unwrap_or(Value::Null),
    }
}

/// Which alerts to list.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct AlertFilter {
    pub status: Option<String>,
    pub kind: Option<String>,
    /// Only this level or above.
    pub min_level: Option<Severity>,
    pub account: Option<String>,
    pub limit: Option<i64>,
}

/// An analyst's decision on an alert.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Triage {
    Acknowledge,
    Assign { assignee: String },
    Close { resolution: String, reason: String },
    Reopen,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoteRow {
    pub id: String,
    pub alert_id: String,
    pub author: String,
    pub at_ms: i64,
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAction {
    pub id: String,
    pub alert_id: String,
    pub action: String,
    pub status: String,
    pub account: Option<String>,
    pub source_ip: Option<String>,
    pub at_ms: i64,
    pub record: Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SuppressionRow {
    pub id: String,
    pub rule_id: Option<String>,
    pub account: Option<String>,
    pub source_ip: Option<String>,
    pub reason: String,
    pub created_by: String,
    pub created_ms: i64,
    pub expires_ms: i64,
}

fn ms(rfc3339: &str) -> i64 {
    rfc3339.parse::<jiff::Timestamp>().map_or(0, |t| t.as_millisecond())
}

impl Store {
    /// Insert an alert, or update the tally of one already stored.
    pub fn write_alert(&self, a: &Alert, key: Option<&Pseudonymiser>) -> Result<(), StoreError> {
        // The engine's stage scrubbed it already (with the configured URL
        // patterns and personal fields); this second pass, idempotent, keeps
        // any subject id that another writer left in clear out of the store.
        let mut a = a.clone();
        if let Some(key) = key {
            vigie_analytics::Scrubber::new(key.clone()).scrub_alert(&mut a);
        }
        let body =
            serde_json::to_string(&a).map_err(|e| StoreError::Invalid { field: "alert", message: e.to_string() })?;
        let kind = serde_json::to_value(a.alert.kind).ok().and_then(|v| v.as_str().map(str::to_string));
        self.db.execute(
            "INSERT INTO alerts (id, kind, rule_id, rule_name, rule_author, level, level_rank, account, source_ip, \
             first_seen_ms, last_seen_ms, count, reason, body, status, updated_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'open', $15) \
             ON CONFLICT (id) DO UPDATE SET last_seen_ms = excluded.last_seen_ms, count = excluded.count, \
             reason = excluded.reason, body = excluded.body, updated_ms = excluded.updated_ms",
            &[
                a.alert.id.as_str().into(),
                kind.unwrap_or_default().into(),
                a.rule.id.as_str().into(),
                a.rule.name.as_str().into(),
                a.rule.author.as_str().into(),
                a.rule.level.as_str().into(),
                Sql::Int(a.rule.level.rank().into()),
                a.user.as_ref().map(|u| u.name.clone()).into(),
                a.source.as_ref().map(|s| s.ip.clone()).into(),
                Sql::Int(ms(&a.alert.first_seen)),
                Sql::Int(ms(&a.alert.last_seen)),
                Sql::Int(a.alert.count as i64),
                a.reason.as_str().into(),
                body.into(),
                Sql::Int(now_ms()),
            ],
        )?;
        Ok(())
    }

    pub fn write_action(&self, r: &ActionRecord) -> Result<(), StoreError> {
        let body =
            serde_json::to_string(r).map_err(|e| StoreError::Invalid { field: "action", message: e.to_string() })?;
        let kind = serde_json::to_value(r.action.kind).ok().and_then(|v| v.as_str().map(str::to_string));
        let status = serde_json::to_value(r.action.status).ok().and_then(|v| v.as_str().map(str::to_string));
        self.db.execute(
            "INSERT INTO actions (id, alert_id, action, status, account, source_ip, at_ms, body) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8) \
             ON CONFLICT (id) DO UPDATE SET status = excluded.status, body = excluded.body",
            &[
                r.action.id.as_str().into(),
                r.alert.id.as_str().into(),
                kind.unwrap_or_default().into(),
                status.unwrap_or_default().into(),
                r.user.as_ref().map(|u| u.name.clone()).into(),
                r.source.as_ref().map(|s| s.ip.clone()).into(),
                Sql::Int(ms(&r.timestamp)),
                body.into(),
            ],
        )?;
        Ok(())
    }

    pub fn alerts(&self, f: &AlertFilter) -> Result<Vec<AlertRow>, StoreError> {
        let mut sql = format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE 1 = 1");
        let mut params: Vec<Sql> = Vec::new();
        let mut add = |cond: &str, v: Sql, sql: &mut String| {
            params.push(v);
            sql.push_str(&format!(" AND {cond} ${}", params.len()));
        };
        if let Some(s) = &f.status {
            add("status =", s.into(), &mut sql);
        }
        if let Some(k) = &f.kind {
            add("kind =", k.into(), &mut sql);
        }
        if let Some(l) = &f.min_level {
            add("level_rank >=", Sql::Int(l.rank().into()), &mut sql);
        }
        if let Some(a) = &f.account {
            add("account =", a.into(), &mut sql);
        }
        sql.push_str(" ORDER BY first_seen_ms DESC, id");
        params.push(Sql::Int(f.limit.unwrap_or(200).clamp(1, 5000)));
        sql.push_str(&format!(" LIMIT ${}", params.len()));
        Ok(self.db.query(&sql, &params)?.iter().map(alert_row).collect())
    }

    pub fn alert(&self, id: &str) -> Result<AlertRow, StoreError> {
        let rows = self.db.query(&format!("SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"), &[id.into()])?;
        rows.first().map(alert_row).ok_or_else(|| StoreError::NotFound { what: "alert", id: id.into() })
    }

    /// Apply a triage decision; returns the alert as it now stands.
    pub fn triage(&self, id: &str, t: &Triage) -> Result<AlertRow, StoreError> {
        let now = Sql::Int(now_ms());
        match t {
            Triage::Acknowledge => self.db.execute(
                "UPDATE alerts SET status = 'acknowledged', updated_ms = $2 WHERE id = $1 AND status = 'open'",
                &[id.into(), now],
            )?,
            Triage::Assign { assignee } => self.db.execute(
                "UPDATE alerts SET assignee = $2, updated_ms = $3 WHERE id = $1",
                &[id.into(), assignee.into(), now],
            )?,
            Triage::Close { resolution, reason } => {
                if !matches!(resolution.as_str(), "true_positive" | "false_positive") {
                    return Err(StoreError::Invalid {
                        field: "resolution",
                        message: format!("`{resolution}`: expected true_positive or false_positive"),
                    });
                }
                if reason.trim().is_empty() {
                    return Err(StoreError::Invalid { field: "reason", message: "a closed alert must say why".into() });
                }
                self.db.execute(
                    "UPDATE alerts SET status = 'closed', resolution = $2, resolution_reason = $3, updated_ms = $4 WHERE id = $1",
                    &[id.into(), resolution.into(), reason.into(), now],
                )?
            }
            Triage::Reopen => self.db.execute(
                "UPDATE alerts SET status = 'open', resolution = NULL, resolution_reason = NULL, updated_ms = $2 WHERE id = $1",
                &[id.into(), now],
            )?,
        };
        // The alert as it now stands; an id that names none is NotFound
        // (acknowledging an alert that is not open changes nothing).
        self.alert(id)
    }

    pub fn add_note(&self, alert_id: &str, author: &str, body: &str) -> Result<NoteRow, StoreError> {
        self.alert(alert_id)?;
        let at = now_ms();
        let id = vigie_alert::alert_id(&["note", alert_id, author, &at.to_string(), body]);
        self.db.execute(
            "INSERT INTO notes (id, alert_id, author, at_ms, body) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
            &[id.as_str().into(), alert_id.into(), author.into(), Sql::Int(at), body.into()],
        )?;
        Ok(NoteRow { id, alert_id: alert_id.into(), author: author.into(), at_ms: at, body: body.into() })
    }

    pub fn notes(&self, alert_id: &str) -> Result<Vec<NoteRow>, StoreError> {
        let rows = self.db.query(
            "SELECT id, alert_id, author, at_ms, body FROM notes WHERE alert_id = $1 ORDER BY at_ms, id",
            &[alert_id.into()],
        )?;
        Ok(rows
            .iter()
            .map(|r| NoteRow {
                id: r.text(0),
                alert_id: r.text(1),
                author: r.text(2),
                at_ms: r.int(3),
                body: r.text(4),
            })
            .collect())
    }

    /// Actions taken for these alerts, or against this account.
    pub fn actions(&self, alert_ids: &[String], account: Option<&str>) -> Result<Vec<StoredAction>, StoreError> {
        let mut params: Vec<Sql> = vec![account.into()];
        let mut ids = Vec::new();
        for id in alert_ids {
            params.push(id.into());
            ids.push(format!("${}", params.len()));
        }
        let in_ids = if ids.is_empty() { String::new() } else { format!(" OR alert_id IN ({})", ids.join(", ")) };
        let rows = self.db.query(
            &format!(
                "SELECT id, alert_id, action, status, account, source_ip, at_ms, body FROM actions \
                 WHERE account = $1{in_ids} ORDER BY at_ms, id"
            ),
            &params,
        )?;
        Ok(rows
            .iter()
            .map(|r| StoredAction {
                id: r.text(0),
                alert_id: r.text(1),
                action: r.text(2),
                status: r.text(3),
                account: r.opt(4),
                source_ip: r.opt(5),
                at_ms: r.int(6),
                record: serde_json::from_str(&r.text(7)).unwrap_or(Value::Null),
            })
            .collect())
    }

    pub fn add_suppression(&self, s: &SuppressionRow) -> Result<(), StoreError> {
        if s.rule_id.is_none() && s.account.is_none() && s.source_ip.is_none() {
            return Err(StoreError::Invalid {
                field: "suppression",
                message: "names no rule, account or source; it would silence everything".into(),
            });
        }
        if s.reason.trim().is_empty() {
            return Err(StoreError::Invalid { field: "reason", message: "every suppression must say why".into() });
        }
        self.db.execute(
            "INSERT INTO suppressions (id, rule_id, account, source_ip, reason, created_by, created_ms, expires_ms) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
            &[
                s.id.as_str().into(),
                s.rule_id.clone().into(),
                s.account.clone().into(),
                s.source_ip.clone().into(),
                s.reason.as_str().into(),
                s.created_by.as_str().into(),
                Sql::Int(s.created_ms),
                Sql::Int(s.expires_ms),
            ],
        )?;
        Ok(())
    }

    /// Suppressions in force at `now`: not expired, and approved when they
    /// needed a second person (the engine applies these).
    pub fn suppressions(&self, now: i64) -> Result<Vec<SuppressionRow>, StoreError> {
        self.suppressions_where(now, 0)
    }

    /// Suppressions waiting for a second person's approval.
    pub fn pending_suppressions(&self, now: i64) -> Result<Vec<SuppressionRow>, StoreError> {
        self.suppressions_where(now, 1)
    }

    /// Record a suppression that applies only once someone other than its
    /// author (and other than the account it covers) approves it.
    pub fn add_pending_suppression(&self, s: &SuppressionRow) -> Result<(), StoreError> {
        self.add_suppression(s)?;
        self.db.execute("UPDATE suppressions SET pending = 1 WHERE id = $1", &[s.id.as_str().into()])?;
        Ok(())
    }

    /// Approve a pending suppression: refused to its author and to the
    /// person it covers. Returns it as it now stands.
    pub fn approve_suppression(&self, id: &str, approver: &str, now: i64) -> Result<SuppressionRow, StoreError> {
        let pending = self.pending_suppressions(now)?;
        let Some(s) = pending.into_iter().find(|s| s.id == id) else {
            return Err(StoreError::NotFound { what: "pending suppression", id: id.into() });
        };
        if s.created_by == approver {
            return Err(StoreError::Invalid {
                field: "approver",
                message: "a suppression must be approved by someone other than its author".into(),
            });
        }
        if s.account.as_deref() == Some(approver) {
            return Err(StoreError::Invalid {
                field: "approver",
                message: "nobody may approve a suppression of alerts about themselves".into(),
            });
        }
        let n = self.db.execute(
            "UPDATE suppressions SET pending = 0, approved_by = $2 WHERE id = $1 AND pending = 1",
            &[id.into(), approver.into()],
        )?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "pending suppression", id: id.into() });
        }
        Ok(s)
    }

    fn suppressions_where(&self, now: i64, pending: i64) -> Result<Vec<SuppressionRow>, StoreError> {
        let rows = self.db.query(
            "SELECT id, rule_id, account, source_ip, reason, created_by, created_ms, expires_ms FROM suppressions \
             WHERE expires_ms > $1 AND pending = $2 ORDER BY created_ms",
            &[Sql::Int(now), Sql::Int(pending)],
        )?;
        Ok(rows
            .iter()
            .map(|r| SuppressionRow {
                id: r.text(0),
                rule_id: r.opt(1),
                account: r.opt(2),
                source_ip: r.opt(3),
                reason: r.text(4),
                created_by: r.text(5),
                created_ms: r.int(6),
                expires_ms: r.int(7),
            })
            .collect())
    }

    /// Alerts by rule: how often each rule fired (the rules page).
    pub fn rule_hits(&self) -> Result<Vec<(String, String, i64, i64)>, StoreError> {
        let rows = self.db.query(
            "SELECT rule_id, MAX(rule_name), COUNT(*), CAST(SUM(count) AS BIGINT) FROM alerts GROUP BY rule_id ORDER BY COUNT(*) DESC",
            &[],
        )?;
        Ok(rows.iter().map(|r| (r.text(0), r.text(1), r.int(2), r.int(3))).collect())
    }

    /// Alerts per hour and level since `from` (the overview's chart).
    pub fn alerts_by_hour(&self, from: i64) -> Result<Vec<(i64, String, i64)>, StoreError> {
        let rows = self.db.query(
            "SELECT (first_seen_ms / 3600000) * 3600000 AS hour, level, COUNT(*) FROM alerts WHERE first_seen_ms >= $1 \
             GROUP BY hour, level ORDER BY hour",
            &[Sql::Int(from)],
        )?;
        Ok(rows.iter().map(|r| (r.int(0), r.text(1), r.int(2))).collect())
    }
}
