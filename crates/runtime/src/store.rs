//! The embedded state store: one redb file holding the latest checkpoint.
//! redb commits are atomic and durable (fsync), so a checkpoint is either
//! wholly there or not at all, even after a kill -9 mid-write.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vigie_pipeline::StageState;

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("checkpoint");
/// Open (merging) alerts, one row each, written as they change.
const OPEN: TableDefinition<&str, &[u8]> = TableDefinition::new("open_alerts");
const KEY: &str = "engine";

/// Everything restored at start: detection state, where each input had got
/// to, and how far each sink had written.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Checkpoint {
    pub stage: StageState,
    /// Open alerts (stored in their own table; filled in by `load`).
    #[serde(skip)]
    pub open_alerts: Vec<vigie_alert::Open>,
    pub inputs: BTreeMap<String, serde_json::Value>,
    pub sinks: BTreeMap<String, serde_json::Value>,
    /// The response policy's memory (rate limits, cooldowns).
    #[serde(default)]
    pub response: vigie_respond::PolicyState,
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
        let corrupt = |e: serde_json::Error| StoreError::Corrupt {
            path: self.path.display().to_string(),
            message: e.to_string(),
        };
        let mut c: Checkpoint = serde_json::from_slice(v.value()).map_err(corrupt)?;
        match tx.open_table(OPEN) {
            Ok(t) => {
                for row in t.iter().map_err(|e| fail(e.to_string()))? {
                    let (_, v) = row.map_err(|e| fail(e.to_string()))?;
                    c.open_alerts.push(serde_json::from_slice(v.value()).map_err(corrupt)?);
                }
            }
            Err(redb::TableError::TableDoesNotExist(_)) => {}
            Err(e) => return Err(fail(e.to_string())),
        }
        Ok(Some(c))
    }

    /// Write a checkpoint and the open alerts that changed since the last
    /// one, in one atomic transaction. Returns the bytes written.
    pub fn save(
        &self,
        c: &Checkpoint,
        open_changes: &[(String, Option<vigie_alert::Open>)],
    ) -> Result<usize, StoreError> {
        let fail = |m: String| StoreError::Db { path: self.path.display().to_string(), message: m };
        let json = serde_json::to_vec(c).map_err(|e| fail(e.to_string()))?;
        let mut bytes = json.len();
        let tx = self.db.begin_write().map_err(|e| fail(e.to_string()))?;
        {
            let mut t = tx.open_table(TABLE).map_err(|e| fail(e.to_string()))?;
            t.insert(KEY, json.as_slice()).map_err(|e| fail(e.to_string()))?;
            let mut o = tx.open_table(OPEN).map_err(|e| fail(e.to_string()))?;
            for (id, alert) in open_changes {
                match alert {
                    Some(a) => {
                        let row = serde_json::to_vec(a).map_err(|e| fail(e.to_string()))?;
                        bytes += row.len();
                        o.insert(id.as_str(), row.as_slice()).map_err(|e| fail(e.to_string()))?;
                    }
                    None => {
                        o.remove(id.as_str()).map_err(|e| fail(e.to_string()))?;
                    }
                }
            }
        }
        tx.commit().map_err(|e| fail(e.to_string()))?;
        Ok(bytes)
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
            s.save(&c, &[]).unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        assert_eq!(s.load().unwrap(), Some(c));
    }

    #[test]
    fn open_alerts_are_written_as_they_change() {
        use vigie_alert::*;
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let mut m = Merger::new(60_000, &[]).unwrap();
        let a = |user: &str, ts: i64| Alert {
            timestamp: rfc3339(ts),
            alert: AlertHeader {
                id: alert_id(&[user]),
                kind: AlertKind::Sigma,
                status: Status::New,
                count: 1,
                first_seen: rfc3339(ts),
                last_seen: rfc3339(ts),
            },
            rule: RuleRef { id: "r".into(), name: "R".into(), level: "high".into(), author: "a".into(), tags: vec![] },
            user: Some(UserRef { name: user.into() }),
            source: None,
            reason: "r".into(),
            evidence: Default::default(),
            events: vec![],
            event: None,
        };
        m.offer(a("u1", 0), 0, None);
        m.offer(a("u2", 0), 0, None);
        s.save(&Checkpoint::default(), &m.take_changes()).unwrap();
        assert_eq!(s.load().unwrap().unwrap().open_alerts.len(), 2);
        // A repeat of u1 and the close of both: only the changes are written.
        m.offer(a("u1", 10), 10, None);
        let changes = m.take_changes();
        assert_eq!(changes.len(), 1);
        s.save(&Checkpoint::default(), &changes).unwrap();
        let restored = s.load().unwrap().unwrap().open_alerts;
        let mut m2 = Merger::new(60_000, &[]).unwrap();
        m2.restore(MergerState::default(), restored);
        assert_eq!(m2.open(), 2);
        let tally = m2.close(100_000);
        assert_eq!(tally.len(), 1, "the restored merge window still knows u1 repeated");
        assert_eq!(tally[0].alert.count, 2);
        s.save(&Checkpoint::default(), &m2.take_changes()).unwrap();
        assert!(s.load().unwrap().unwrap().open_alerts.is_empty());
    }
}
