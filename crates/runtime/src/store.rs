//! The embedded state store: one redb file holding the latest checkpoint.
//! redb commits are atomic and durable (fsync), so a checkpoint is either
//! wholly there or not at all, even after a kill -9 mid-write.

use redb::{Database, ReadableDatabase, TableDefinition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vigie_pipeline::StageState;

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("checkpoint");
const KEY: &str = "engine";

/// Everything restored at start: detection state, where each input had got
/// to, and how far each sink had written.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub stage: StageState,
    pub inputs: BTreeMap<String, serde_json::Value>,
    pub sinks: BTreeMap<String, serde_json::Value>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("state store {path}: {message}")]
    Db { path: String, message: String },
    #[error("state store {path}: checkpoint unreadable ({message}); move the file away to start afresh")]
    Corrupt { path: String, message: String },
}

pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join("state.redb");
        let fail = |m: String| StoreError::Db { path: path.display().to_string(), message: m };
        std::fs::create_dir_all(dir).map_err(|e| fail(e.to_string()))?;
        let db = Database::create(&path).map_err(|e| fail(e.to_string()))?;
        Ok(Store { db, path })
    }

    pub fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
        let fail = |m: String| StoreError::Db { path: self.path.display().to_string(), message: m };
        let tx = self.db.begin_read().map_err(|e| fail(e.to_string()))?;
        let table = match tx.open_table(TABLE) {
            Ok(t) => t,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(fail(e.to_string())),
        };
        let Some(v) = table.get(KEY).map_err(|e| fail(e.to_string()))? else {
            return Ok(None);
        };
        serde_json::from_slice(v.value())
            .map(Some)
            .map_err(|e| StoreError::Corrupt { path: self.path.display().to_string(), message: e.to_string() })
    }

    pub fn save(&self, c: &Checkpoint) -> Result<usize, StoreError> {
        let fail = |m: String| StoreError::Db { path: self.path.display().to_string(), message: m };
        let bytes = serde_json::to_vec(c).map_err(|e| fail(e.to_string()))?;
        let tx = self.db.begin_write().map_err(|e| fail(e.to_string()))?;
        {
            let mut t = tx.open_table(TABLE).map_err(|e| fail(e.to_string()))?;
            t.insert(KEY, bytes.as_slice()).map_err(|e| fail(e.to_string()))?;
        }
        tx.commit().map_err(|e| fail(e.to_string()))?;
        Ok(bytes.len())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_checkpoint_round_trips_across_opens() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = Checkpoint::default();
        c.inputs.insert("file#0".into(), serde_json::json!({"offset": 42}));
        c.stage.stats.events = 7;
        {
            let s = Store::open(dir.path()).unwrap();
            assert_eq!(s.load().unwrap(), None);
            s.save(&c).unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.load().unwrap(), Some(c));
    }
}
