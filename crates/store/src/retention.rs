//! Retention: the trail holds pseudonymised personal data and may be kept
//! only as long as it serves its purpose; alerts and actions are kept
//! longer, as the record of what happened. The audit log is never pruned
//! here (deleting its rows would break the chain it exists to keep).

use crate::backend::Sql;
use crate::{Store, StoreError};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Retention {
    /// Data-access trail, in ms.
    pub trail_ms: i64,
    /// Alerts, actions, notes, in ms.
    pub alerts_ms: i64,
}

/// What one pass deleted.
#[derive(Debug, Default, Clone, PartialEq, Serialize)]
pub struct Purged {
    pub access: u64,
    pub alerts: u64,
    pub actions: u64,
    pub notes: u64,
    pub suppressions: u64,
    pub sessions: u64,
}

impl Store {
    /// Delete what is older than the retention at `now` (wall clock).
    pub fn enforce(&self, r: &Retention, now: i64) -> Result<Purged, StoreError> {
        let trail = Sql::Int(now - r.trail_ms);
        let alerts = Sql::Int(now - r.alerts_ms);
        // Day files and day partitions go whole, once the whole day is past
        // the retention; rows go one by one only from a store in memory and
        // from PostgreSQL's default partition (rows dated far from now).
        let dropped = match &self.trail_files {
            Some(files) => files.drop_before(now - r.trail_ms)?,
            None if self.db.is_postgres() => self.drop_partitions_before(now - r.trail_ms)?,
            None => 0,
        };
        let by_row = self.trail_files.is_none() && !self.db.is_postgres();
        self.db.transaction(|c| {
            Ok(Purged {
                access: dropped
                    + if by_row {
                        c.execute("DELETE FROM access WHERE ts_ms < $1", std::slice::from_ref(&trail))?
                    } else {
                        0
                    },
                notes: c.execute(
                    "DELETE FROM notes WHERE alert_id IN (SELECT id FROM alerts WHERE last_seen_ms < $1)",
                    std::slice::from_ref(&alerts),
                )?,
                actions: c.execute("DELETE FROM actions WHERE at_ms < $1", std::slice::from_ref(&alerts))?,
                alerts: c.execute("DELETE FROM alerts WHERE last_seen_ms < $1", std::slice::from_ref(&alerts))?,
                suppressions: c.execute("DELETE FROM suppressions WHERE expires_ms < $1", &[Sql::Int(now)])?,
                sessions: c.execute("DELETE FROM sessions WHERE expires_ms < $1", &[Sql::Int(now)])?,
            })
        })
    }
}
