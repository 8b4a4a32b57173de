//! The data-access trail: written in batches by the engine, read back by
//! principal (accounts), by source address and by time for breach impact
//! and for the account pages.

use crate::backend::{Row, Sql};
use crate::{Store, StoreError, segments};
use serde::{Deserialize, Serialize};
use vigie_analytics::Access;

/// Which part of the trail: the accounts' acts, those from the sources, or
/// both conditions together, within a window.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Scope {
    #[serde(default)]
    pub accounts: Vec<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    pub from_ms: i64,
    pub to_ms: i64,
}

/// A stored row, read back as the detection threads built it.
fn access_row(r: &Row) -> Access {
    let list =
        |s: String, sep: char| -> Vec<String> { s.split(sep).filter(|x| !x.is_empty()).map(str::to_string).collect() };
    Access {
        id: r.text(0),
        ts: r.int(1),
        account: r.text(2),
        source_ip: r.opt(3),
        user_agent: r.opt(4),
        kind: r.text(5),
        action: r.text(6),
        target: r.opt(7),
        categories: list(r.text(8), ','),
        subjects: list(r.text(9), ' '),
        records: r.int(10).max(0) as u64,
        bytes: r.opt_int(11).map(|b| b.max(0) as u64),
    }
}

const COLUMNS: &str =
    "id, ts_ms, account, source_ip, user_agent, kind, action, target, categories, subjects, records, bytes";

impl Store {
    /// Append rows in one transaction; a row already stored (the same
    /// event read again after a restart) is skipped. Returns rows added.
    pub fn write_accesses(&self, rows: &[Access]) -> Result<u64, StoreError> {
        if rows.is_empty() {
            return Ok(0);
        }
        if let Some(files) = &self.trail_files {
            files.append(rows.to_vec())?;
            files.flush()?;
            return Ok(rows.len() as u64);
        }
        // Many rows per statement: one round trip per 200 rows on
        // PostgreSQL, one parse per batch on SQLite.
        const PER: usize = 200;
        const COLS: usize = 13;
        self.db.transaction(|c| {
            let mut n = 0;
            for chunk in rows.chunks(PER) {
                let mut sql = String::from(
                    "INSERT INTO access (id, ts_ms, account, source_ip, user_agent, kind, action, target, categories, \
                     subjects, subject_count, records, bytes) VALUES ",
                );
                let mut params: Vec<Sql> = Vec::with_capacity(chunk.len() * COLS);
                for (i, a) in chunk.iter().enumerate() {
                    if i > 0 {
                        sql.push_str(", ");
                    }
                    let marks: Vec<String> = (1..=COLS).map(|k| format!("${}", i * COLS + k)).collect();
                    sql.push_str(&format!("({})", marks.join(", ")));
                    params.extend([
                        a.id.as_str().into(),
                        Sql::Int(a.ts),
                        a.account.as_str().into(),
                        a.source_ip.clone().into(),
                        a.user_agent.clone().into(),
                        a.kind.as_str().into(),
                        a.action.as_str().into(),
                        a.target.clone().into(),
                        a.categories.join(",").into(),
                        a.subjects.join(" ").into(),
                        Sql::Int(a.subjects.len() as i64),
                        Sql::from(a.records),
                        a.bytes.into(),
                    ]);
                }
                sql.push_str(" ON CONFLICT (ts_ms, id) DO NOTHING");
                n += c.execute(&sql, &params)?;
            }
            Ok(n)
        })
    }

    /// The rows in scope, in time order. An empty scope (no account, no
    /// source) selects nothing rather than everything.
    pub fn accesses(&self, s: &Scope) -> Result<Vec<Access>, StoreError> {
        if let Some(files) = &self.trail_files {
            return files.accesses(s);
        }
        if s.accounts.is_empty() && s.sources.is_empty() {
            return Ok(Vec::new());
        }
        let mut params: Vec<Sql> = vec![Sql::Int(s.from_ms), Sql::Int(s.to_ms)];
        let mut list = |items: &[String]| -> String {
            let mut out = Vec::new();
            for i in items {
                params.push(i.into());
                out.push(format!("${}", params.len()));
            }
            out.join(", ")
        };
        let mut sql = format!("SELECT {COLUMNS} FROM access WHERE ts_ms >= $1 AND ts_ms <= $2");
        if !s.accounts.is_empty() {
            sql.push_str(&format!(" AND account IN ({})", list(&s.accounts)));
        }
        if !s.sources.is_empty() {
            sql.push_str(&format!(" AND source_ip IN ({})", list(&s.sources)));
        }
        sql.push_str(" ORDER BY ts_ms, id");
        Ok(self.db.query(&sql, &params)?.iter().map(access_row).collect())
    }

    /// Queue rows for the next [`Store::flush_accesses`] (the engine's
    /// writer, between checkpoints); on PostgreSQL, written at once.
    pub fn queue_accesses(&self, rows: Vec<Access>) -> Result<u64, StoreError> {
        match &self.trail_files {
            Some(files) => {
                let n = rows.len() as u64;
                files.append(rows)?;
                Ok(n)
            }
            None => self.write_accesses(&rows),
        }
    }

    /// Make the queued rows durable (at each checkpoint).
    pub fn flush_accesses(&self) -> Result<u64, StoreError> {
        self.trail_files.as_ref().map_or(Ok(0), segments::Segments::flush)
    }

    /// The newest read by an account, if any.
    pub fn last_access(&self, account: &str) -> Result<Option<i64>, StoreError> {
        if let Some(files) = &self.trail_files {
            return files.last_access(account);
        }
        let rows = self.db.query("SELECT MAX(ts_ms) FROM access WHERE account = $1", &[account.into()])?;
        Ok(rows.first().and_then(|r| r.opt_int(0)))
    }

    /// Number of trail rows (for status and tests).
    pub fn access_count(&self) -> Result<i64, StoreError> {
        if let Some(files) = &self.trail_files {
            return files.count();
        }
        Ok(self.db.query("SELECT COUNT(*) FROM access", &[])?.first().map_or(0, |r| r.int(0)))
    }
}
