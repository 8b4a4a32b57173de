//! vigie-store: the *store* step of the data flow, and vigie's memory.
//!
//! One schema, two databases: SQLite (one file, the embedded default, no
//! server) and PostgreSQL (several instances sharing one store). Both run
//! the same versioned migrations (`migrations/`) and the same SQL.
//!
//! - `alerts`: alerts, incidents, response actions, triage, notes and
//!   suppressions;
//! - `trail`: the data-access trail, pseudonymised, that breach impact is
//!   computed from: day files of column blocks beside SQLite (`segments`),
//!   the `access` table on PostgreSQL;
//! - `auth`: console users, API tokens and sessions (hashes only);
//! - `mfa`: their second factors (TOTP secrets, sealed);
//! - `audit`: the HMAC-chained log of analyst actions, its head kept
//!   outside the database;
//! - `files`: owner-only files and folders;
//! - `retention`: what is deleted, and when.

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod backend;
pub mod files;
pub mod mfa;
pub mod migrate;
pub mod retention;
pub mod segments;
pub mod testing;
pub mod trail;

pub use alerts::{AlertFilter, AlertRow, NoteRow, StoredAction, SuppressionRow, Triage};
pub use audit::{AuditEntry, AuditReport, AuditSeal};
pub use backend::{Backend, Row, Sql};
pub use retention::Retention;
pub use trail::Scope;
pub use vigie_analytics::Access;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("SQLite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("PostgreSQL: {0}")]
    Postgres(#[from] postgres::Error),
    #[error("{0}")]
    Io(String),
    #[error("the store's schema is version {found}, newer than this vigie knows ({known}); upgrade vigie")]
    TooNew { found: i64, known: i64 },
    #[error("a store lock was poisoned by a panic")]
    Poisoned,
    #[error("{what} `{id}` not found")]
    NotFound { what: &'static str, id: String },
    #[error("invalid {field}: {message}")]
    Invalid { field: &'static str, message: String },
}

/// The store: open it with a URL (`postgres://...`) or a file path
/// (`sqlite://path` or a bare path).
pub struct Store {
    pub db: Backend,
    /// What the URL named, with any password removed (for logs).
    pub location: String,
    /// The audit chain's key and head file (see `audit`); without one the
    /// chain is plain SHA-256, which only detects accidents.
    pub seal: Option<AuditSeal>,
    /// The data-access trail's day files, beside a SQLite database (in its
    /// folder's `trail/`); `None` on PostgreSQL, where the trail is the
    /// `access` table (see `segments` and `trail`).
    pub trail_files: Option<segments::Segments>,
    /// PostgreSQL: the days whose trail partition this process has made or
    /// found.
    partitions: std::sync::Mutex<std::collections::HashSet<i64>>,
}

impl Store {
    /// Open and migrate.
    pub fn open(url: &str) -> Result<Store, StoreError> {
        let db = Backend::open(url)?;
        migrate::migrate(&db)?;
        let trail_files = match &db {
            Backend::Sqlite(_) => {
                let path = url.strip_prefix("sqlite://").unwrap_or(url);
                let dir = std::path::Path::new(path).parent().filter(|d| !d.as_os_str().is_empty());
                let dir = dir.map_or_else(|| std::path::PathBuf::from("."), std::path::Path::to_path_buf);
                if path == ":memory:" { None } else { Some(segments::Segments::open(&dir.join("trail"))?) }
            }
            Backend::Postgres(_) => None,
        };
        Ok(Store { db, location: redact(url), seal: None, trail_files, partitions: Default::default() })
    }

    /// The newest schema version applied.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        Ok(self.db.query("SELECT MAX(version) FROM schema_migrations", &[])?.first().map_or(0, |r| r.int(0)))
    }
}

/// A URL without its password (for logs and error messages).
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:***{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// A write the console hears of, for live updates.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Live {
    /// `alert` or `action`.
    pub stream: &'static str,
    pub id: String,
    pub level: vigie_alert::Severity,
    pub account: Option<String>,
}

pub fn now_ms() -> i64 {
    jiff::Timestamp::now().as_millisecond()
}

#[cfg(test)]
mod tests {
    #[test]
    fn passwords_never_reach_the_logs() {
        assert_eq!(super::redact("postgres://u:secret@h/db"), "postgres://u:***@h/db");
        assert_eq!(super::redact("postgres://u@h/db"), "postgres://u@h/db");
        assert_eq!(super::redact("/var/lib/vigie/store.db"), "/var/lib/vigie/store.db");
    }
}
