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

const DAY_MS: i64 = 86_400_000;
/// Days older than this, or more than [`PARTITION_AHEAD`] days ahead of
/// now, get no partition of their own: their rows go to the default
/// partition, so that hostile dates cannot make thousands of tables (at
/// most about 400 partitions, a retro-hunt's year of old logs included).
const PARTITION_BACK: i64 = 400;
const PARTITION_AHEAD: i64 = 2;

/// A day's partition of the trail on PostgreSQL.
fn partition_name(day: i64) -> Option<String> {
    let t = jiff::Timestamp::from_millisecond(day.checked_mul(DAY_MS)?).ok()?;
    Some(format!("access_d{}", t.strftime("%Y%m%d")))
}

/// The day of a partition's name (`access_dYYYYMMDD`).
fn partition_day(name: &str) -> Option<i64> {
    let d = name.strip_prefix("access_d")?;
    if d.len() != 8 || !d.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let ts: jiff::Timestamp = format!("{}-{}-{}T00:00:00Z", &d[..4], &d[4..6], &d[6..]).parse().ok()?;
    Some(ts.as_millisecond().div_euclid(DAY_MS))
}

/// A value for COPY's text format: backslash, tab and line ends escaped;
/// NUL, which PostgreSQL text cannot hold, replaced.
fn copy_text(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

fn copy_opt(out: &mut String, v: Option<&str>) {
    match v {
        Some(v) => copy_text(out, v),
        None => out.push_str("\\N"),
    }
}

/// PostgreSQL: the rows' day partitions made where missing, the rows sent
/// by COPY to a staging table of the transaction, then inserted from it,
/// skipping rows already stored (the same event read again after a
/// restart). Returns rows added, and the days whose partition was tried
/// (made, or refused), which the caller remembers once the transaction is
/// committed.
fn copy_accesses(
    tx: &mut postgres::Transaction<'_>,
    rows: &[Access],
    known: &std::collections::HashSet<i64>,
) -> Result<(u64, Vec<i64>), StoreError> {
    use std::io::Write;
    // "already exists, skipping" is not news.
    tx.batch_execute("SET LOCAL client_min_messages = warning")?;
    let today = crate::now_ms().div_euclid(DAY_MS);
    let mut days: Vec<i64> = rows.iter().map(|r| r.ts.div_euclid(DAY_MS)).collect();
    days.sort_unstable();
    days.dedup();
    days.retain(|d| (today - PARTITION_BACK..=today + PARTITION_AHEAD).contains(d) && !known.contains(d));
    for &day in &days {
        let Some(name) = partition_name(day) else { continue };
        let sql = format!(
            "CREATE TABLE IF NOT EXISTS {name} PARTITION OF access FOR VALUES FROM ({}) TO ({})",
            day * DAY_MS,
            (day + 1) * DAY_MS
        );
        // Another node making it at the same moment, or rows of that day
        // already in the default partition (a store that kept the trail in
        // one table before): the rows go where they can, and the day is
        // not tried again by this process (each try locks the table and
        // scans the default partition).
        let mut sp = tx.savepoint("partition")?;
        match sp.batch_execute(&sql) {
            Ok(()) => sp.commit()?,
            Err(e) => {
                tracing::debug!("trail: partition {name} not made: {e}");
                sp.rollback()?;
            }
        }
    }
    tx.batch_execute("CREATE TEMP TABLE IF NOT EXISTS access_stage (LIKE access) ON COMMIT DELETE ROWS")?;
    let mut buf = String::with_capacity(rows.len() * 160);
    for a in rows {
        copy_text(&mut buf, &a.id);
        buf.push_str(&format!("\t{}\t", a.ts));
        copy_text(&mut buf, &a.account);
        buf.push('\t');
        copy_opt(&mut buf, a.source_ip.as_deref());
        buf.push('\t');
        copy_opt(&mut buf, a.user_agent.as_deref());
        buf.push('\t');
        copy_text(&mut buf, &a.kind);
        buf.push('\t');
        copy_text(&mut buf, &a.action);
        buf.push('\t');
        copy_opt(&mut buf, a.target.as_deref());
        buf.push('\t');
        copy_text(&mut buf, &a.categories.join(","));
        buf.push('\t');
        copy_text(&mut buf, &a.subjects.join(" "));
        buf.push_str(&format!("\t{}\t{}\t", a.subjects.len(), a.records.min(i64::MAX as u64)));
        match a.bytes {
            Some(b) => buf.push_str(&b.min(i64::MAX as u64).to_string()),
            None => buf.push_str("\\N"),
        }
        buf.push('\n');
    }
    let mut w = tx.copy_in(&format!("COPY access_stage ({COLUMNS_COPY}) FROM STDIN"))?;
    w.write_all(buf.as_bytes()).map_err(|e| StoreError::Io(format!("COPY of the trail: {e}")))?;
    w.finish()?;
    let added = tx.execute(
        &format!("INSERT INTO access ({COLUMNS_COPY}) SELECT {COLUMNS_COPY} FROM access_stage ON CONFLICT (ts_ms, id) DO NOTHING"),
        &[],
    )?;
    Ok((added, days))
}

const COLUMNS_COPY: &str = "id, ts_ms, account, source_ip, user_agent, kind, action, target, categories, subjects, subject_count, records, bytes";

impl Store {
    /// Drop the trail's day partitions wholly older than `before_ms`
    /// (PostgreSQL), and delete the older rows of its default partition;
    /// returns the rows they held.
    pub(crate) fn drop_partitions_before(&self, before_ms: i64) -> Result<u64, StoreError> {
        let dropped = self.db.postgres(|tx| {
            let parts = tx.query(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
                 WHERE i.inhparent = 'access'::regclass",
                &[],
            )?;
            let mut n = 0u64;
            for r in parts {
                let name: String = r.get(0);
                if let Some(day) = partition_day(&name).filter(|d| (d + 1) * DAY_MS <= before_ms) {
                    let rows: i64 = tx.query_one(&format!("SELECT COUNT(*) FROM {name}"), &[])?.get(0);
                    tx.batch_execute(&format!("DROP TABLE {name}"))?;
                    self.partitions.lock().map_err(|_| StoreError::Poisoned)?.remove(&day);
                    n += rows.max(0) as u64;
                }
            }
            Ok(n + tx.execute("DELETE FROM access_default WHERE ts_ms < $1", &[&before_ms])?)
        });
        dropped.unwrap_or(Ok(0))
    }

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
        let known = self.partitions.lock().map_err(|_| StoreError::Poisoned)?.clone();
        if let Some(written) = self.db.postgres(|tx| copy_accesses(tx, rows, &known)) {
            // Committed: the days tried are known from now on (a
            // transaction rolled back made no partition, and is tried again).
            let (added, tried) = written?;
            self.partitions.lock().map_err(|_| StoreError::Poisoned)?.extend(tried);
            return Ok(added);
        }
        // SQLite without day files (a store in memory): many rows per
        // statement, one parse per batch.
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
