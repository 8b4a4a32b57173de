//! The audit log of analyst actions (logins, triage, suppressions, exports,
//! re-identification). Each entry's MAC covers its fields and the MAC of
//! the entry before it, so that changing, deleting or reordering any entry
//! breaks every MAC after it; `vigie audit verify` walks the chain.
//!
//! The chain is keyed: each MAC is an HMAC-SHA256 under a key kept in a
//! file beside the pseudonymisation key, never in the database, so that
//! someone who can write to the database cannot recompute a chain over
//! entries they changed. The head (the newest sequence number and its MAC)
//! is also written, atomically on every append, to a file in the state
//! folder: a tail cut from the database no longer matches it.
//!
//! Entries written before the chain was keyed (plain SHA-256, marked by the
//! absence of the `hmac-sha256:` prefix) still verify as a legacy prefix,
//! but no plain entry may follow a keyed one.

use crate::backend::{Row, Sql};
use crate::{Store, StoreError, now_ms};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";
const KEYED: &str = "hmac-sha256:";

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
    /// Was the chain checked with its key and against the head file?
    pub sealed: bool,
    /// The head file's sequence number, when there is one.
    pub head_seq: Option<i64>,
    /// Entries from before the chain was keyed (plain SHA-256).
    pub legacy: u64,
    /// The heads recorded elsewhere that the chain was held against
    /// (besides the head file), by label.
    pub checked_against: Vec<String>,
}

/// The newest entry, as recorded outside the database.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Head {
    pub seq: i64,
    pub mac: String,
}

/// The audit chain's key and where its head is recorded.
#[derive(Clone)]
pub struct AuditSeal {
    mac: Hmac<Sha256>,
    pub head_file: PathBuf,
}

impl std::fmt::Debug for AuditSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditSeal").field("head_file", &self.head_file).finish_non_exhaustive()
    }
}

fn io(path: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io(format!("{}: {e}", path.display()))
}

/// Write `bytes` to `path` atomically (a temporary file beside it, synced,
/// then renamed over it), owner-only.
pub fn write_private_atomic(path: &Path, bytes: &[u8]) -> Result<(), StoreError> {
    use std::io::Write;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    crate::files::private_dir(dir)?;
    // Unique per write: two threads of one process recording a head at
    // once must not write, and rename, the same temporary file.
    static WRITES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = WRITES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = dir.join(format!(
        ".{}.{}.{n}.tmp",
        path.file_name().and_then(|n| n.to_str()).unwrap_or("file"),
        std::process::id()
    ));
    let mut f = crate::files::private_file(&tmp)?;
    f.write_all(bytes).and_then(|()| f.sync_all()).map_err(|e| io(&tmp, e))?;
    std::fs::rename(&tmp, path).map_err(|e| io(path, e))
}

impl AuditSeal {
    pub fn new(key: &[u8], head_file: PathBuf) -> AuditSeal {
        // HMAC takes a key of any length; this cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key"));
        AuditSeal { mac, head_file }
    }

    /// The key from `key_file` (created once, owner-only, with 32 random
    /// bytes), and the head in `head_file`.
    pub fn open(key_file: &Path, head_file: PathBuf) -> Result<AuditSeal, StoreError> {
        let key = match std::fs::read_to_string(key_file) {
            Ok(k) => k.trim().to_string(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                use rand::Rng;
                let k = hex::encode(rand::rng().random::<[u8; 32]>());
                write_private_atomic(key_file, k.as_bytes())?;
                k
            }
            Err(e) => return Err(io(key_file, e)),
        };
        if key.len() < 32 {
            return Err(StoreError::Invalid {
                field: "audit key",
                message: format!("{}: shorter than 32 characters", key_file.display()),
            });
        }
        Ok(AuditSeal::new(key.as_bytes(), head_file))
    }

    /// A 32-byte key for another purpose, derived from the audit key under
    /// `label` (an HMAC of the label, as HKDF-Expand does for one block),
    /// so that vigie keeps one secret file apart from the database.
    pub fn derive_key(&self, label: &[u8]) -> [u8; 32] {
        let mut m = self.mac.clone();
        m.update(b"vigie key derivation\x1f");
        m.update(label);
        m.finalize().into_bytes().into()
    }

    /// `text`: actor, action, target, detail.
    fn mac(&self, prev: &str, seq: i64, at: i64, text: [&str; 4]) -> String {
        let mut m = self.mac.clone();
        for part in [prev, &seq.to_string(), &at.to_string()].into_iter().chain(text) {
            m.update(part.as_bytes());
            m.update(&[0x1f]);
        }
        format!("{KEYED}{}", hex::encode(m.finalize().into_bytes()))
    }

    /// The head file, if there is one.
    pub fn head(&self) -> Result<Option<Head>, StoreError> {
        match std::fs::read(&self.head_file) {
            Ok(b) => serde_json::from_slice(&b).map(Some).map_err(|e| StoreError::Invalid {
                field: "audit head",
                message: format!("{}: {e}", self.head_file.display()),
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(io(&self.head_file, e)),
        }
    }

    /// Record a new head, unless the file already records a later one
    /// (another process appended after this one).
    fn advance(&self, head: &Head) -> Result<(), StoreError> {
        // Check and write as one step within this process, so that two
        // appends finishing together never leave the older head last.
        static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());
        let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
        if self.head()?.is_some_and(|h| h.seq >= head.seq) {
            return Ok(());
        }
        let bytes = serde_json::to_vec(head).map_err(|e| StoreError::Io(e.to_string()))?;
        write_private_atomic(&self.head_file, &bytes)
    }
}

fn digest(prev: &str, seq: i64, at: i64, text: [&str; 4]) -> String {
    let mut h = Sha256::new();
    for part in [prev, &seq.to_string(), &at.to_string()].into_iter().chain(text) {
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

/// Constant-time comparison of two MACs.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl Store {
    /// Key the audit chain and record its head (see the module's doc).
    pub fn with_audit_seal(mut self, seal: AuditSeal) -> Store {
        self.seal = Some(seal);
        self
    }

    /// Append one entry to the chain.
    pub fn audit(&self, actor: &str, action: &str, target: &str, detail: &str) -> Result<AuditEntry, StoreError> {
        let pg = self.db.is_postgres();
        let seal = self.seal.as_ref();
        let e = self.db.transaction(|c| {
            // Two instances appending at once must not both take seq N.
            if pg {
                c.query("SELECT pg_advisory_xact_lock(7175806967)", &[])?;
            }
            let last = c.query("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1", &[])?;
            let (seq, prev) = last.first().map_or((1, GENESIS.to_string()), |r| (r.int(0) + 1, r.text(1)));
            let at = now_ms();
            let hash = match seal {
                Some(s) => s.mac(&prev, seq, at, [actor, action, target, detail]),
                None => digest(&prev, seq, at, [actor, action, target, detail]),
            };
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
        })?;
        if let Some(s) = seal {
            s.advance(&Head { seq: e.seq, mac: e.hash.clone() })?;
        }
        Ok(e)
    }

    pub fn audit_entries(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self.db.query(
            "SELECT seq, at_ms, actor, action, target, detail, prev_hash, hash FROM audit ORDER BY seq DESC LIMIT $1",
            &[Sql::Int(limit)],
        )?;
        Ok(rows.iter().map(entry).collect())
    }

    /// The newest live reloads of the rules and their refusals, newest
    /// first (`rules.reload`, `rules.reload_refused`).
    pub fn rule_reloads(&self, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = self.db.query(
            "SELECT seq, at_ms, actor, action, target, detail, prev_hash, hash FROM audit WHERE action IN ('rules.reload', 'rules.reload_refused') ORDER BY seq DESC LIMIT $1",
            &[Sql::Int(limit)],
        )?;
        Ok(rows.iter().map(entry).collect())
    }

    /// Walk the whole chain from the first entry, then hold its end
    /// against the head recorded outside the database.
    pub fn verify_audit(&self) -> Result<AuditReport, StoreError> {
        self.verify_audit_with(&[])
    }

    /// The same, also holding the chain against heads recorded elsewhere
    /// (a checkpoint, a syslog or webhook receiver): each, named by its
    /// label, must be an entry of the chain with the same MAC. A head older
    /// than the newest entry is fine (entries were appended since).
    pub fn verify_audit_with(&self, elsewhere: &[(String, Head)]) -> Result<AuditReport, StoreError> {
        let rows = self
            .db
            .query("SELECT seq, at_ms, actor, action, target, detail, prev_hash, hash FROM audit ORDER BY seq", &[])?;
        let seal = self.seal.as_ref();
        let head = match seal {
            Some(s) => s.head()?,
            None => None,
        };
        let mut report = self.walk(&rows, seal, head)?;
        if !report.ok {
            return Ok(report);
        }
        for (label, h) in elsewhere {
            let found = rows.iter().map(entry).find(|e| e.seq == h.seq);
            let problem = match found {
                None => Some(format!(
                    "the head recorded in {label} is entry {}, but the log ends at {} (its tail was cut)",
                    h.seq,
                    rows.len()
                )),
                Some(e) if !same(&e.hash, &h.mac) => Some(format!(
                    "entry {} does not match the head recorded in {label} (the chain was rewritten)",
                    h.seq
                )),
                Some(_) => None,
            };
            if let Some(p) = problem {
                report.ok = false;
                report.broken_at = Some(h.seq);
                report.problem = Some(p);
                return Ok(report);
            }
            report.checked_against.push(label.clone());
        }
        Ok(report)
    }

    fn walk(&self, rows: &[Row], seal: Option<&AuditSeal>, head: Option<Head>) -> Result<AuditReport, StoreError> {
        let mut prev = GENESIS.to_string();
        let mut report = AuditReport {
            entries: rows.len() as u64,
            ok: true,
            broken_at: None,
            problem: None,
            head: prev.clone(),
            sealed: seal.is_some(),
            head_seq: head.as_ref().map(|h| h.seq),
            legacy: 0,
            checked_against: Vec::new(),
        };
        let broken = |mut report: AuditReport, at: i64, p: String| {
            report.ok = false;
            report.broken_at = Some(at);
            report.problem = Some(p);
            Ok(report)
        };
        let mut keyed_seen = false;
        let mut at_head = false;
        for (expected_seq, r) in (1..).zip(rows.iter().map(entry)) {
            let keyed = r.hash.starts_with(KEYED);
            let problem = if r.seq != expected_seq {
                Some(format!("entry {expected_seq} is missing (found {} next)", r.seq))
            } else if r.prev_hash != prev {
                Some("its link to the entry before does not match (an entry was changed, removed or inserted)".into())
            } else if !keyed && keyed_seen {
                Some("an unkeyed entry after keyed ones (the chain was recomputed without the key)".into())
            } else if keyed {
                match seal {
                    Some(s)
                        if same(
                            &s.mac(&prev, r.seq, r.at_ms, [&r.actor, &r.action, &r.target, &r.detail]),
                            &r.hash,
                        ) =>
                    {
                        None
                    }
                    Some(_) => {
                        Some("its content does not match its MAC (it was changed, or the chain recomputed)".into())
                    }
                    None => Some("the chain is keyed but no audit key was given (see [store] audit_key_file)".into()),
                }
            } else if digest(&prev, r.seq, r.at_ms, [&r.actor, &r.action, &r.target, &r.detail]) != r.hash {
                Some("its content does not match its hash (it was changed)".into())
            } else {
                None
            };
            if let Some(p) = problem {
                return broken(report, r.seq, p);
            }
            if let Some(h) = &head
                && h.seq == r.seq
            {
                if !same(&h.mac, &r.hash) {
                    return broken(
                        report,
                        r.seq,
                        "it does not match the head recorded outside the database (the chain was rewritten)".into(),
                    );
                }
                at_head = true;
            }
            keyed_seen |= keyed;
            report.legacy += u64::from(!keyed);
            prev = r.hash.clone();
        }
        let last = rows.len() as i64;
        if let Some(h) = &head
            && !at_head
        {
            return broken(
                report,
                last + 1,
                format!(
                    "the head recorded outside the database is entry {}, but the log ends at {last} (its tail was cut)",
                    h.seq
                ),
            );
        }
        if seal.is_some() && head.is_none() && keyed_seen {
            return broken(report, last, "the chain is keyed but its head file is missing".into());
        }
        report.head = prev;
        Ok(report)
    }
}
