//! Versioned migrations, shared by both databases. Each is applied once,
//! in order, in its own transaction, and recorded in `schema_migrations`;
//! a store newer than this binary is refused rather than misread.

use crate::StoreError;
use crate::backend::{Backend, Sql};

/// (version, name, SQL). Append only: a released migration never changes.
pub const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "initial", include_str!("../migrations/0001_initial.sql")),
    (2, "four_eyes", include_str!("../migrations/0002_four_eyes.sql")),
    (3, "mfa", include_str!("../migrations/0003_mfa.sql")),
    (4, "trail_partitions", include_str!("../migrations/0004_trail_partitions.sql")),
];

/// The first line of a migration that PostgreSQL alone runs (SQLite records
/// it as applied: its trail is in day files).
const POSTGRES_ONLY: &str = "-- postgres only";

/// Statements of a migration file (comments dropped, split on `;`).
fn statements(sql: &str) -> Vec<String> {
    let text: String = sql.lines().filter(|l| !l.trim_start().starts_with("--")).map(|l| format!("{l}\n")).collect();
    text.split(';').map(str::trim).filter(|s| !s.is_empty()).map(str::to_string).collect()
}

/// Bring the schema to the newest version; returns the versions applied.
pub fn migrate(db: &Backend) -> Result<Vec<i64>, StoreError> {
    db.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations (version BIGINT PRIMARY KEY, name TEXT NOT NULL, applied_ms BIGINT NOT NULL)",
        &[],
    )?;
    let mut applied = Vec::new();
    for (version, name, sql) in MIGRATIONS {
        let done = db.transaction(|c| {
            // Several instances may start at once on PostgreSQL: one
            // migrates, the others wait for it and then find it done.
            if db.is_postgres() {
                c.query("SELECT pg_advisory_xact_lock(7175806965)", &[])?;
            }
            if !c.query("SELECT version FROM schema_migrations WHERE version = $1", &[Sql::Int(*version)])?.is_empty() {
                return Ok(false);
            }
            if db.is_postgres() || !sql.starts_with(POSTGRES_ONLY) {
                for st in statements(sql) {
                    c.execute(&st, &[])?;
                }
            }
            c.execute(
                "INSERT INTO schema_migrations (version, name, applied_ms) VALUES ($1, $2, $3)",
                &[Sql::Int(*version), (*name).into(), Sql::Int(crate::now_ms())],
            )?;
            Ok(true)
        })?;
        if done {
            applied.push(*version);
        }
    }
    let newest = db.query("SELECT MAX(version) FROM schema_migrations", &[])?;
    let newest = newest.first().map_or(0, |r| r.int(0));
    let known = MIGRATIONS.last().map_or(0, |m| m.0);
    if newest > known {
        return Err(StoreError::TooNew { found: newest, known });
    }
    Ok(applied)
}

#[cfg(test)]
mod tests {
    #[test]
    fn statements_are_split_and_comments_dropped() {
        let s = super::statements(
            "-- a comment; with a semicolon\nCREATE TABLE a (x BIGINT);\n\nCREATE INDEX b ON a (x);\n",
        );
        assert_eq!(s, ["CREATE TABLE a (x BIGINT)", "CREATE INDEX b ON a (x)"]);
    }
}
