//! The data-access trail: for every read of personal data (and every IAM
//! act), what the store keeps so that, after an incident, vigie can say
//! exactly whose records were exposed. Subject ids are pseudonymised here,
//! on the detection threads, with a keyed hash (HMAC-SHA256) whose key the
//! organisation holds: the store never sees a raw id, and only the key's
//! holder can link a pseudonym back to a person.

use crate::activity::{Act, Activity};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use sonic_rs::JsonValueTrait;
use std::fmt::Write;
use vigie_events::Value;
use vigie_events::path::{FieldPath, any_string};

/// What one row of the trail says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Access {
    /// Stable across replays and restarts (the same event gives the same
    /// id), so re-reading an input never counts a read twice.
    pub id: String,
    pub ts: i64,
    pub account: String,
    pub source_ip: Option<String>,
    pub user_agent: Option<String>,
    /// `read`, `reset`, `create` or `grant`.
    pub kind: String,
    /// The application's verb (`event.action`).
    pub action: String,
    /// The account acted upon (IAM acts).
    pub target: Option<String>,
    /// `data_subject.categories`.
    pub categories: Vec<String>,
    /// Pseudonyms of the people read (hex HMAC-SHA256 of each id).
    pub subjects: Vec<String>,
    /// Person-records returned (`data_subject.count`, at least the ids).
    pub records: u64,
    /// Bytes returned, when the log says (`http.response.bytes`).
    pub bytes: Option<u64>,
}

/// The organisation's pseudonymisation key.
#[derive(Clone)]
pub struct Pseudonymiser {
    mac: Hmac<Sha256>,
}

impl Pseudonymiser {
    pub fn new(key: &[u8]) -> Pseudonymiser {
        // HMAC takes a key of any length; this cannot fail.
        let mac = <Hmac<Sha256> as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC accepts any key"));
        Pseudonymiser { mac }
    }

    /// The pseudonym of one subject id.
    pub fn pseudonym(&self, id: &str) -> String {
        let mut m = self.mac.clone();
        m.update(id.as_bytes());
        hex::encode(m.finalize().into_bytes())
    }
}

/// Builds trail rows from events whose activity the extractor found.
pub struct Trail {
    pub key: Pseudonymiser,
    action: FieldPath,
    ids: FieldPath,
    categories: FieldPath,
    bytes: FieldPath,
}

impl Trail {
    pub fn new(key: Pseudonymiser) -> Trail {
        Trail {
            key,
            action: FieldPath::new("event.action"),
            ids: FieldPath::new("data_subject.ids"),
            categories: FieldPath::new("data_subject.categories"),
            bytes: FieldPath::new("http.response.bytes"),
        }
    }

    /// The row for `a` (read from `ev`), or `None` for acts the trail does
    /// not keep (logins and the rest).
    pub fn access(&self, ev: &Value, a: &Activity) -> Option<Access> {
        let (kind, target, records) = match &a.act {
            Act::Read { records, .. } => ("read", None, *records),
            Act::Reset { target } => ("reset", Some(target.clone()), 0),
            Act::Create { target } => ("create", Some(target.clone()), 0),
            Act::Grant { target } => ("grant", Some(target.clone()), 0),
            Act::Login { .. } | Act::Other => return None,
        };
        let mut subjects = Vec::new();
        let mut categories = Vec::new();
        if kind == "read" {
            self.ids.visit(ev, &mut |v| {
                any_string(v, &mut |s| {
                    subjects.push(self.key.pseudonym(s));
                    false
                });
                if let Some(n) = v.as_u64() {
                    subjects.push(self.key.pseudonym(&n.to_string()));
                }
                false
            });
            self.categories.visit(ev, &mut |v| {
                any_string(v, &mut |s| {
                    if !categories.iter().any(|c| c == s) {
                        categories.push(s.to_string());
                    }
                    false
                })
            });
        }
        let action = self.action.first(ev).and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let bytes = self.bytes.first(ev).and_then(|v| v.as_u64());
        // alert_id(["access", origin, ts, user, action, subjects joined
        // by ",", target]), streamed: this runs for every read.
        let mut b = vigie_alert::IdBuilder::default();
        b.part("access");
        // Writing into the hash cannot fail.
        let _ = write!(b, "{}", a.origin);
        b.end();
        let _ = write!(b, "{}", a.ts);
        b.end().part(&a.user).part(&action);
        for (i, s) in subjects.iter().enumerate() {
            if i > 0 {
                b.write_char(',').unwrap_or(());
            }
            b.write_str(s).unwrap_or(());
        }
        b.end().part(target.as_deref().unwrap_or(""));
        let id = b.finish();
        Some(Access {
            id,
            ts: a.ts,
            account: a.user.clone(),
            source_ip: a.ip.clone(),
            user_agent: a.user_agent.clone(),
            kind: kind.into(),
            action,
            target,
            categories,
            subjects,
            records,
            bytes,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Extractor;

    fn parse(s: &str) -> Value {
        sonic_rs::from_str(s).unwrap()
    }

    #[test]
    fn reads_are_kept_with_pseudonyms_never_raw_ids() {
        let ev = parse(
            r#"{"user":{"name":"adv1"},"source":{"ip":"10.0.0.1"},"event":{"action":"beneficiary.view"},
                "data_subject":{"ids":["1234567", 89],"categories":["nir","contact"]},"http":{"response":{"bytes":512}}}"#,
        );
        let x = Extractor::default();
        let mut a = x.extract(&ev, 1000).unwrap();
        a.origin = vigie_alert::Origin::new("f", 1);
        let t = Trail::new(Pseudonymiser::new(b"k"));
        let row = t.access(&ev, &a).unwrap();
        assert_eq!(row.kind, "read");
        assert_eq!(row.subjects.len(), 2);
        assert!(row.subjects.iter().all(|s| s.len() == 64 && !s.contains("1234567")));
        assert_eq!(row.subjects[0], t.key.pseudonym("1234567"));
        assert_eq!(row.subjects[1], t.key.pseudonym("89"));
        assert_eq!(row.categories, ["nir", "contact"]);
        assert_eq!((row.records, row.bytes), (2, Some(512)));
        // Another key, another pseudonym: only the key's holder can link.
        assert_ne!(Pseudonymiser::new(b"other").pseudonym("1234567"), row.subjects[0]);
        // The same event gives the same row id, and the id is the one
        // earlier versions gave (a replay into an older store counts once).
        assert_eq!(t.access(&ev, &a).unwrap().id, row.id);
        let joined = row.subjects.join(",");
        let earlier = vigie_alert::alert_id(&["access", "f:1", "1000", "adv1", "beneficiary.view", &joined, ""]);
        assert_eq!(row.id, earlier);
    }

    #[test]
    fn logins_are_not_kept_and_iam_acts_name_their_target() {
        let x = Extractor::default();
        let t = Trail::new(Pseudonymiser::new(b"k"));
        let login = parse(
            r#"{"user":{"name":"a"},"event":{"category":["authentication"],"type":["start"],"outcome":"success"}}"#,
        );
        assert!(t.access(&login, &x.extract(&login, 1).unwrap()).is_none());
        let create = parse(
            r#"{"user":{"name":"a","target":{"name":"new1"}},"event":{"category":["iam"],"type":["user","creation"],"action":"user.create"}}"#,
        );
        let row = t.access(&create, &x.extract(&create, 1).unwrap()).unwrap();
        assert_eq!((row.kind.as_str(), row.target.as_deref()), ("create", Some("new1")));
    }
}
