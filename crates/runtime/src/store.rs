//! The embedded state store: one redb file holding the latest checkpoint.
//! redb commits are atomic and durable (fsync), so a checkpoint is either
//! wholly there or not at all, even after a kill -9 mid-write.

use redb::{Database, ReadableDatabase, ReadableTable, TableDefinition};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use vigie_pipeline::{RowChanges, Rows, StageState};

const TABLE: TableDefinition<&str, &[u8]> = TableDefinition::new("checkpoint");
/// Open (merging) alerts, one row each, written as they change.
const OPEN: TableDefinition<&str, &[u8]> = TableDefinition::new("open_alerts");
/// Accounts' behaviour state, one row each, written as they change.
const ACCOUNTS: TableDefinition<&str, &[u8]> = TableDefinition::new("accounts");
/// Accounts' risk scores.
const RISK: TableDefinition<&str, &[u8]> = TableDefinition::new("risk");
const KEY: &str = "engine";

/// Everything restored at start: detection state, where each input had got
/// to, and how far each sink had written.
#[derive(Debug, Default, Serialize, Deserialize)]
pub struct Checkpoint {
    pub stage: StageState,
    /// Open alerts, accounts and risk scores (stored in their own tables,
    /// a row each; filled in by `load`).
    #[serde(skip)]
    pub rows: Rows,
    /// Account rows that could not be read (saved by an older vigie whose
    /// account layout differed): those accounts learn again from scratch.
    #[serde(skip)]
    pub accounts_unreadable: usize,
    pub inputs: BTreeMap<String, serde_json::Value>,
    pub sinks: BTreeMap<String, serde_json::Value>,
    /// The response policy's memory (rate limits, cooldowns).
    #[serde(default)]
    pub response: vigie_respond::PolicyState,
    /// Response calls in flight when the checkpoint was written: recorded
    /// `unknown` at the next start.
    #[serde(default)]
    pub actions_in_flight: Vec<vigie_respond::ActionRecord>,
    /// Idempotency keys of the batches processed lately.
    #[serde(default)]
    pub idempotency: crate::idempotency::KeysState,
    /// The audit chain's head when the checkpoint was written (a copy
    /// outside the database, for `vigie audit verify`).
    #[serde(default)]
    pub audit_head: Option<vigie_store::audit::Head>,
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
        let Some(mut c) = engine_row::<Checkpoint>(&tx, &self.path)? else {
            return Ok(None);
        };
        let corrupt = |e: serde_json::Error| StoreError::Corrupt {
            path: self.path.display().to_string(),
            message: e.to_string(),
        };
        let rows = |def: TableDefinition<&str, &[u8]>, f: &mut RowFn| match tx.open_table(def) {
            Ok(t) => {
                for row in t.iter().map_err(|e| fail(e.to_string()))? {
                    let (k, v) = row.map_err(|e| fail(e.to_string()))?;
                    f(k.value(), v.value())?;
                }
                Ok(())
            }
            Err(redb::TableError::TableDoesNotExist(_)) => Ok(()),
            Err(e) => Err(fail(e.to_string())),
        };
        rows(OPEN, &mut |_, v| {
            c.rows.open.push(serde_json::from_slice(v).map_err(corrupt)?);
            Ok(())
        })?;
        // An account row is a cache of what vigie learned of the account:
        // one that no longer reads (a layout from an older version) is
        // counted and relearned, never a reason not to start.
        let mut unreadable = 0;
        rows(ACCOUNTS, &mut |k, v| {
            match vigie_analytics::Account::decode(v) {
                Ok(a) => c.rows.accounts.push((k.to_string(), a)),
                Err(_) => {
                    unreadable += 1;
                    c.rows.relearn.push(k.to_string());
                }
            }
            Ok(())
        })?;
        c.accounts_unreadable = unreadable;
        rows(RISK, &mut |k, v| {
            c.rows.scores.push((k.to_string(), serde_json::from_slice(v).map_err(corrupt)?));
            Ok(())
        })?;
        Ok(Some(c))
    }

    /// The audit head of the last checkpoint in `dir`, read through a
    /// read-only handle (a running engine is not disturbed; if it holds the
    /// file, this fails and says so).
    pub fn read_audit_head(dir: &Path) -> Result<Option<vigie_store::audit::Head>, StoreError> {
        let path = dir.join("state.redb");
        let fail = |m: String| StoreError::Db { path: path.display().to_string(), message: m };
        let db = redb::ReadOnlyDatabase::open(&path).map_err(|e| fail(e.to_string()))?;
        let tx = db.begin_read().map_err(|e| fail(e.to_string()))?;
        head_of(&tx, &path)
    }

    /// The audit head recorded in the last checkpoint (only that is read).
    pub fn audit_head(&self) -> Result<Option<vigie_store::audit::Head>, StoreError> {
        let tx = self
            .db
            .begin_read()
            .map_err(|e| StoreError::Db { path: self.path.display().to_string(), message: e.to_string() })?;
        head_of(&tx, &self.path)
    }

    /// Write a checkpoint and the rows that changed since the last one
    /// (open alerts, accounts, risk scores), in one atomic transaction.
    /// Returns the bytes written.
    pub fn save(&self, c: &Checkpoint, changes: &RowChanges) -> Result<usize, StoreError> {
        let fail = |m: String| StoreError::Db { path: self.path.display().to_string(), message: m };
        let json = serde_json::to_vec(c).map_err(|e| fail(e.to_string()))?;
        let mut bytes = json.len();
        let tx = self.db.begin_write().map_err(|e| fail(e.to_string()))?;
        {
            let mut t = tx.open_table(TABLE).map_err(|e| fail(e.to_string()))?;
            t.insert(KEY, json.as_slice()).map_err(|e| fail(e.to_string()))?;
            bytes += write_rows(&tx, OPEN, &changes.open).map_err(fail)?;
            bytes += write_raw_rows(&tx, ACCOUNTS, &changes.accounts).map_err(fail)?;
            bytes += write_rows(&tx, RISK, &changes.scores).map_err(fail)?;
        }
        tx.commit().map_err(|e| fail(e.to_string()))?;
        Ok(bytes)
    }
}

/// The audit head in a checkpoint (only that field is read).
fn head_of(tx: &redb::ReadTransaction, path: &Path) -> Result<Option<vigie_store::audit::Head>, StoreError> {
    #[derive(Deserialize)]
    struct Only {
        #[serde(default)]
        audit_head: Option<vigie_store::audit::Head>,
    }
    Ok(engine_row::<Only>(tx, path)?.and_then(|o| o.audit_head))
}

/// The checkpoint's own row, read as `T` (the whole checkpoint, or the
/// fields a caller needs).
fn engine_row<T: serde::de::DeserializeOwned>(
    tx: &redb::ReadTransaction,
    path: &Path,
) -> Result<Option<T>, StoreError> {
    let fail = |m: String| StoreError::Db { path: path.display().to_string(), message: m };
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
        .map_err(|e| StoreError::Corrupt { path: path.display().to_string(), message: e.to_string() })
}

/// Called on each stored row (key, value) while loading.
type RowFn<'a> = dyn FnMut(&str, &[u8]) -> Result<(), StoreError> + 'a;

/// Upsert or delete (`None`) rows already encoded; returns the bytes written.
fn write_raw_rows(
    tx: &redb::WriteTransaction,
    def: TableDefinition<&str, &[u8]>,
    changes: &[(String, Option<Vec<u8>>)],
) -> Result<usize, String> {
    if changes.is_empty() {
        return Ok(0);
    }
    let mut t = tx.open_table(def).map_err(|e| e.to_string())?;
    let mut bytes = 0;
    for (key, row) in changes {
        match row {
            Some(v) => {
                bytes += v.len();
                t.insert(key.as_str(), v.as_slice()).map_err(|e| e.to_string())?;
            }
            None => {
                t.remove(key.as_str()).map_err(|e| e.to_string())?;
            }
        }
    }
    Ok(bytes)
}

/// Upsert or delete (`None`) rows, as JSON; returns the bytes written.
fn write_rows<T: Serialize>(
    tx: &redb::WriteTransaction,
    def: TableDefinition<&str, &[u8]>,
    changes: &[(String, Option<T>)],
) -> Result<usize, String> {
    let encoded = changes
        .iter()
        .map(|(k, r)| Ok((k.clone(), r.as_ref().map(serde_json::to_vec).transpose().map_err(|e| e.to_string())?)))
        .collect::<Result<Vec<_>, String>>()?;
    write_raw_rows(tx, def, &encoded)
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
            assert!(s.load().unwrap().is_none());
            s.save(&c, &RowChanges::default()).unwrap();
        }
        let s = Store::open(dir.path()).unwrap();
        let back = s.load().unwrap().unwrap();
        assert_eq!((back.stage, back.inputs), (c.stage, c.inputs));
    }

    #[test]
    fn open_alerts_are_written_as_they_change() {
        use vigie_alert::*;
        let open = |open| RowChanges { open, ..Default::default() };
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
            rule: RuleRef {
                id: "r".into(),
                name: "R".into(),
                level: vigie_alert::Severity::High,
                author: "a".into(),
                tags: vec![],
            },
            user: Some(UserRef { name: user.into() }),
            source: None,
            reason: "r".into(),
            evidence: Default::default(),
            events: vec![],
            event: None,
        };
        m.offer(a("u1", 0), 0, None);
        m.offer(a("u2", 0), 0, None);
        s.save(&Checkpoint::default(), &open(m.take_changes())).unwrap();
        assert_eq!(s.load().unwrap().unwrap().rows.open.len(), 2);
        // A repeat of u1 and the close of both: only the changes are written.
        m.offer(a("u1", 10), 10, None);
        let changes = m.take_changes();
        assert_eq!(changes.len(), 1);
        s.save(&Checkpoint::default(), &open(changes)).unwrap();
        let restored = s.load().unwrap().unwrap().rows.open;
        let mut m2 = Merger::new(60_000, &[]).unwrap();
        m2.restore(MergerState::default(), restored);
        assert_eq!(m2.open(), 2);
        let tally = m2.close(100_000);
        assert_eq!(tally.len(), 1, "the restored merge window still knows u1 repeated");
        assert_eq!(tally[0].alert.count, 2);
        s.save(&Checkpoint::default(), &open(m2.take_changes())).unwrap();
        assert!(s.load().unwrap().unwrap().rows.open.is_empty());
    }

    #[test]
    fn accounts_and_risk_scores_round_trip_as_rows() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let acct = vigie_analytics::Account { first_seen: 42, active_days: 3, ..Default::default() };
        let score = vigie_analytics::Score { value: 55.0, at: 7, ..Default::default() };
        let changes = RowChanges {
            accounts: vec![("adv1".into(), Some(acct.encode())), ("gone".into(), None)],
            scores: vec![("adv1".into(), Some(score.clone()))],
            ..Default::default()
        };
        s.save(&Checkpoint::default(), &changes).unwrap();
        let back = s.load().unwrap().unwrap();
        assert_eq!(back.rows.accounts.len(), 1);
        assert_eq!((back.rows.accounts[0].1.first_seen, back.rows.accounts[0].1.active_days), (42, 3));
        assert_eq!(back.accounts_unreadable, 0);
        assert_eq!(back.rows.scores, vec![("adv1".to_string(), score)]);
        // A forgotten account's row goes.
        s.save(&Checkpoint::default(), &RowChanges { accounts: vec![("adv1".into(), None)], ..Default::default() })
            .unwrap();
        assert!(s.load().unwrap().unwrap().rows.accounts.is_empty());
    }

    #[test]
    fn an_account_row_of_an_older_layout_is_relearned_not_fatal() {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path()).unwrap();
        let good = vigie_analytics::Account { first_seen: 42, ..Default::default() }.encode();
        // An older vigie wrote fewer fields: the row ends early.
        let old = good[..good.len() - 3].to_vec();
        let changes = RowChanges {
            accounts: vec![("adv1".into(), Some(good)), ("adv2".into(), Some(old))],
            ..Default::default()
        };
        s.save(&Checkpoint::default(), &changes).unwrap();
        let back = s.load().unwrap().unwrap();
        assert_eq!(back.rows.accounts.len(), 1);
        assert_eq!(back.rows.accounts[0].0, "adv1");
        assert_eq!(back.accounts_unreadable, 1);
        assert_eq!(back.rows.relearn, ["adv2"], "named, so that it is not taken for a new account");
    }
}
