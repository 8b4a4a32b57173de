//! Throw-away databases for tests (this crate's and the others'): a fresh
//! SQLite file, or a fresh PostgreSQL database on 127.0.0.1:5432 that is
//! dropped when the handle goes, so that runs never collide.

use std::sync::atomic::{AtomicU64, Ordering};

/// Where the tests' PostgreSQL is (`VIGIE_TEST_PG` overrides).
pub fn pg_admin_url() -> String {
    std::env::var("VIGIE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".into())
}

pub struct TestDb {
    pub url: String,
    pg_name: Option<String>,
    _dir: Option<TempDir>,
}

/// A temporary folder removed on drop (no dev-dependency needed by users
/// of this module).
struct TempDir(std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn unique() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let t = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_nanos());
    format!("{}_{}_{}", std::process::id(), t % 1_000_000_000_000, N.fetch_add(1, Ordering::Relaxed))
}

impl TestDb {
    pub fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(format!("vigie-store-{}", unique()));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        let url = dir.join("store.db").display().to_string();
        TestDb { url, pg_name: None, _dir: Some(TempDir(dir)) }
    }

    pub fn postgres() -> TestDb {
        let name = format!("vigie_t_{}", unique());
        let admin = pg_admin_url();
        crate::backend::off_runtime(|| {
            let mut c = postgres::Client::connect(&admin, postgres::NoTls)
                .unwrap_or_else(|e| panic!("PostgreSQL at {admin} (see README: services): {e}"));
            c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap_or_else(|e| panic!("CREATE DATABASE: {e}"));
        });
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        TestDb { url: format!("{base}/{name}"), pg_name: Some(name), _dir: None }
    }

    /// Both backends, for tests that must pass on each.
    pub fn both() -> Vec<TestDb> {
        vec![TestDb::sqlite(), TestDb::postgres()]
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some(name) = &self.pg_name {
            crate::backend::off_runtime(|| {
                if let Ok(mut c) = postgres::Client::connect(&pg_admin_url(), postgres::NoTls) {
                    let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                }
            });
        }
    }
}
