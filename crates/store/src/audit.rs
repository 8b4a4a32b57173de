//! The audit log of analyst actions (logins, triage, suppressions, exports,
//! re-identification). Each entry's hash covers its fields and the hash of
//! the entry before it, so that changing, deleting or reordering any entry
//! breaks every hash after it; `vigie audit verify` walks the chain.

use crate::backend::{Row, Sql};
use crate::{Store, StoreError, now_ms};
use serde::Serialize;
use sha2::{Digest, Sha256};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditEntry {
    pub seq: i64,
    pub at_ms: i64,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub detail: String,
    pub prev_hash: String,
    pub hash: String,
}

/// What a verification found.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AuditReport {
    pub entries: u64,
    pub ok: bool,
    /// The first entry that does not verify, and why.
    pub broken_at: Option<i64>,
    pub problem: Option<String>,
    pub head: String,
}

fn digest(prev: &str, seq: i64, at: i64, actor: &str, action: &str, target: &str, detail: &str) -> String {
    let mut h = Sha256::new();
    for part in [prev, &seq.to_string(), &at.to_string(), actor, action, target, detail] {
        h.update(part.as_bytes());
        h.update([0x1f]);
    }
    hex::encode(h.finalize())
}

fn entry(r: &Row) -> AuditEntry {
    AuditEntry {
        seq: r.int(0),
        at_ms: r.int(1),
        actor: r.text(2),
        action: r.text(3),
        target: r.text(4),
        detail: r.text(5),
        prev_hash: r.text(6),
        hash: r.text(7),
    }
}

impl Store {
    /// Append one entry to the chain.
    pub fn audit(&self, actor: &str, action: &str, target: &str, detail: &str) -> Result<AuditEntry, StoreError> {
        self.db.transaction(|c| {
            let last = c.query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])?;
            let (seq, prev) = last.first().map_or((1, GENESIS.to_string()), |r| (r.int(0) + 1, r.text(1)));
            let at = now_ms();
            let hash = digest(&prev, seq, at, actor, action, target, detail);
            c.execute(
                "INSERT INTO audit (seq, at_ms, actor, action, target, detail, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    Sql::Int(seq),
                    Sql::Int(at),
                    actor.into(),
                    action.into(),
                    target.into(),
                    detail.into(),
                    prev.as_str().into(),
                    hash.as_str().into(),
                ],
            )?;
            Ok(AuditEntry {
                seq,
                at_ms: at,
                actor: actor.into(),
                action: action.into(),
                target: target.into(),
                detail: detail.into(),
                prev_hash: prev,
                hash,
            })
        })
    }

    pub fn audit_entries(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self.db.query(
            "SELECT seq, at_ms, actor, action, target, detail, prev_hash, hash FROM audit ORDER BY seq DESC LIMIT $1",
            &[Sql::Int(limit)],
        )?;
        Ok(rows.iter().map(entry).collect())
    }

    /// Walk the whole chain from the first entry.
    pub fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        let rows = self
            .db
            .query("SELECT seq, at_ms, actor, action, target, detail, prev_hash, hash FROM audit ORDER BY seq", &[])?;
        let mut prev = GENESIS.to_string();
        let mut report =
            AuditReport { entries: rows.len() as u64, ok: true, broken_at: None, problem: None, head: prev.clone() };
        for (expected_seq, r) in (1..).zip(rows.iter().map(entry)) {
            let problem = if r.seq != expected_seq {
                Some(format!("entry {expected_seq} is missing (found {} next)", r.seq))
            } else if r.prev_hash != prev {
                Some("its link to the entry before does not match (an entry was changed, removed or inserted)".into())
            } else if digest(&prev, r.seq, r.at_ms, &r.actor, &r.action, &r.target, &r.detail) != r.hash {
                Some("its content does not match its hash (it was changed)".into())
            } else {
                None
            };
            if let Some(p) = problem {
                report.ok = false;
                report.broken_at = Some(r.seq);
                report.problem = Some(p);
                return Ok(report);
            }
            prev = r.hash.clone();
        }
        report.head = prev;
        Ok(report)
    }
}
