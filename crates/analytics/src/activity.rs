//! What the analytics need from one event of the canonical schema
//! (docs/event-schema.md), read on the detection threads so that the
//! stateful stage handles a few small fields instead of the event.

use serde::{Deserialize, Serialize};
use sonic_rs::JsonValueTrait;
use vigie_events::Value;
use vigie_events::path::{FieldPath, any_string, scalar_text};

/// What kind of act the event is.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Act {
    /// An authentication (`event.category: authentication`, type `start`).
    Login { success: bool },
    /// A read of personal data: hashed subject ids, and the records returned.
    Read { subjects: Vec<u64>, records: u64 },
    /// A password reset of `user.target.name`.
    Reset { target: String },
    /// An account created (`iam`, type `creation`).
    Create { target: String },
    /// A role or privilege granted (`iam`, a change whose action names a
    /// role, group, privilege or grant).
    Grant { target: String },
    /// Anything else by a named account (it still counts for schedules and
    /// sources).
    Other,
}

/// One account's act, with where it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub ts: i64,
    pub user: String,
    pub group: Option<String>,
    /// The first role (the peer group is group and role).
    pub role: Option<String>,
    /// A role marks a service account (`service`, `batch`, `api`, ...).
    pub service_role: bool,
    /// A login by token, API key or client credentials (`event.action`):
    /// how service accounts authenticate, whatever their name.
    #[serde(default)]
    pub token_auth: bool,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    /// `source.geo`: country and location, when the log or an enrichment
    /// carries them.
    pub country: Option<String>,
    pub location: Option<(f64, f64)>,
    /// The autonomous system of the address (`source.as.number`, or the
    /// GeoIP database): a new network owner is a stronger sign than a new
    /// address within a known one.
    pub asn: Option<u32>,
    pub act: Act,
    /// Where the event was read, for the alert's evidence (not serialised).
    #[serde(skip)]
    pub origin: vigie_alert::Origin,
}

/// A GeoIP database (MaxMind DB format: GeoLite2-City, DB-IP City,
/// ip-location-db), for events that carry no `source.geo`.
pub struct GeoIp {
    reader: maxminddb::Reader<Vec<u8>>,
}

#[derive(serde::Deserialize)]
struct GeoRecord {
    country: Option<GeoCountry>,
    location: Option<GeoLocation>,
    autonomous_system_number: Option<u32>,
}

#[derive(serde::Deserialize)]
struct GeoCountry {
    iso_code: Option<String>,
}

#[derive(serde::Deserialize)]
struct GeoLocation {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

impl GeoIp {
    pub fn open(path: &std::path::Path) -> Result<GeoIp, crate::ConfigError> {
        let reader = maxminddb::Reader::open_readfile(path)
            .map_err(|e| crate::ConfigError::Invalid { field: "geoip", message: format!("{}: {e}", path.display()) })?;
        Ok(GeoIp { reader })
    }

    /// Country code, (latitude, longitude) and autonomous system of an
    /// address, where the database knows them.
    pub fn locate(&self, ip: &str) -> Located {
        let Ok(addr) = ip.parse::<std::net::IpAddr>() else { return Located::default() };
        let rec = self.reader.lookup(addr).ok().and_then(|r| r.decode::<GeoRecord>().ok().flatten());
        let Some(rec) = rec else { return Located::default() };
        Located {
            country: rec.country.and_then(|c| c.iso_code),
            location: rec.location.and_then(|l| l.latitude.zip(l.longitude)),
            asn: rec.autonomous_system_number,
        }
    }
}

/// What a GeoIP database says of an address.
#[derive(Debug, Default, PartialEq)]
pub struct Located {
    pub country: Option<String>,
    pub location: Option<(f64, f64)>,
    pub asn: Option<u32>,
}

/// Compiled field paths of the canonical schema.
pub struct Extractor {
    /// Locates addresses when the event does not say where they are.
    pub geoip: Option<GeoIp>,
    user: FieldPath,
    group: FieldPath,
    roles: FieldPath,
    target: FieldPath,
    ip: FieldPath,
    ua: FieldPath,
    category: FieldPath,
    kind: FieldPath,
    action: FieldPath,
    outcome: FieldPath,
    ids: FieldPath,
    count: FieldPath,
    country: FieldPath,
    lat: FieldPath,
    lon: FieldPath,
    asn: FieldPath,
}

impl Default for Extractor {
    fn default() -> Self {
        let p = FieldPath::new;
        Extractor {
            geoip: None,
            user: p("user.name"),
            group: p("user.group.name"),
            roles: p("user.roles"),
            target: p("user.target.name"),
            ip: p("source.ip"),
            ua: p("user_agent.original"),
            category: p("event.category"),
            kind: p("event.type"),
            action: p("event.action"),
            outcome: p("event.outcome"),
            ids: p("data_subject.ids"),
            count: p("data_subject.count"),
            country: p("source.geo.country_iso_code"),
            lat: p("source.geo.location.lat"),
            lon: p("source.geo.location.lon"),
            asn: p("source.as.number"),
        }
    }
}

const SERVICE_ROLES: &[&str] = &["service", "batch", "api", "system", "technical", "robot"];

/// Words of a login's `event.action` that say a machine authenticated
/// (a token, an API key, OAuth client credentials), not a person.
const TOKEN_ACTIONS: &[&str] = &["token", "api_key", "apikey", "api-key", "client_credentials", "service_auth"];

/// A subject id as the analytics keep it: 64 bits of xxh3, never the id.
pub fn subject_hash(id: &str) -> u64 {
    xxhash_rust::xxh3::xxh3_64(id.as_bytes())
}

impl Extractor {
    fn text(&self, p: &FieldPath, ev: &Value) -> Option<String> {
        p.first(ev).and_then(scalar_text).map(|c| c.into_owned()).filter(|s| !s.is_empty())
    }

    fn has(&self, p: &FieldPath, ev: &Value, word: &str) -> bool {
        let mut found = false;
        p.visit(ev, &mut |v| {
            any_string(v, &mut |s| {
                found |= s.eq_ignore_ascii_case(word);
                found
            })
        });
        found
    }

    /// The activity in `ev`, if it is an act of a named account that the
    /// analytics can use; `None` otherwise (Windows events, web logs, ...).
    /// Its `origin` is left for the caller to fill, only when there is one.
    pub fn extract(&self, ev: &Value, ts: i64) -> Option<Activity> {
        let user = self.text(&self.user, ev)?;
        let mut subjects = Vec::new();
        self.ids.visit(ev, &mut |v| {
            any_string(v, &mut |s| {
                subjects.push(subject_hash(s));
                false
            });
            if let Some(n) = v.as_u64() {
                subjects.push(subject_hash(&n.to_string()));
            }
            false
        });
        let count = self.count.first(ev).and_then(|v| v.as_u64().or_else(|| v.as_str().and_then(|s| s.parse().ok())));
        let action = self.text(&self.action, ev).unwrap_or_default().to_ascii_lowercase();
        let target = self.text(&self.target, ev);
        let act = if !subjects.is_empty() || count.is_some() {
            let records = count.unwrap_or(subjects.len() as u64).max(subjects.len() as u64);
            Act::Read { subjects, records }
        } else if self.has(&self.category, ev, "authentication") && self.has(&self.kind, ev, "start") {
            let outcome = self.text(&self.outcome, ev).unwrap_or_default();
            Act::Login { success: outcome.eq_ignore_ascii_case("success") }
        } else if self.has(&self.category, ev, "iam") {
            let failed = self.text(&self.outcome, ev).is_some_and(|o| o.eq_ignore_ascii_case("failure"));
            match target {
                Some(target) if !failed => {
                    if action.contains("password") && action.contains("reset") {
                        Act::Reset { target }
                    } else if self.has(&self.kind, ev, "creation") {
                        Act::Create { target }
                    } else if ["role", "grant", "privilege", "group", "permission"].iter().any(|w| action.contains(w)) {
                        Act::Grant { target }
                    } else {
                        Act::Other
                    }
                }
                _ => Act::Other,
            }
        } else {
            Act::Other
        };
        let token_auth = matches!(act, Act::Login { .. }) && TOKEN_ACTIONS.iter().any(|w| action.contains(w));
        let mut role = None;
        let mut service_role = false;
        self.roles.visit(ev, &mut |v| {
            any_string(v, &mut |s| {
                if role.is_none() {
                    role = Some(s.to_string());
                }
                let l = s.to_ascii_lowercase();
                // Whole words only: `batch-export` and `svc_api` are service
                // roles, `servicedesk` and `customer_services` are people.
                service_role |= l.split(|c: char| !c.is_ascii_alphanumeric()).any(|w| SERVICE_ROLES.contains(&w));
                false
            })
        });
        let num = |p: &FieldPath| p.first(ev).and_then(|v| v.as_f64());
        let ip = self.text(&self.ip, ev);
        let mut country = self.text(&self.country, ev);
        let mut location = num(&self.lat).zip(num(&self.lon));
        let mut asn = self.asn.first(ev).and_then(|v| v.as_u64()).map(|n| n as u32);
        if let (Some(g), Some(ip)) = (&self.geoip, &ip)
            && (location.is_none() || asn.is_none())
        {
            let found = g.locate(ip);
            country = country.or(found.country);
            location = location.or(found.location);
            asn = asn.or(found.asn);
        }
        Some(Activity {
            ts,
            user,
            group: self.text(&self.group, ev),
            role,
            service_role,
            token_auth,
            ip,
            user_agent: self.text(&self.ua, ev),
            country,
            location,
            asn,
            act,
            origin: vigie_alert::Origin::default(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(s: &str) -> Value {
        sonic_rs::from_str(s).unwrap()
    }

    #[test]
    fn the_schema_examples_are_read() {
        let x = Extractor::default();
        let read = ev(
            r#"{"event":{"category":["database"],"type":["access"],"action":"beneficiary.view"},"user":{"name":"adv00042","roles":["advisor"],"group":{"name":"agence-013"}},"source":{"ip":"217.108.13.44"},"data_subject":{"ids":["1234567"],"count":1}}"#,
        );
        let a = x.extract(&read, 5).unwrap();
        assert_eq!(a.act, Act::Read { subjects: vec![subject_hash("1234567")], records: 1 });
        assert_eq!(
            (a.group.as_deref(), a.role.as_deref(), a.service_role),
            (Some("agence-013"), Some("advisor"), false)
        );
        let export = ev(r#"{"user.name":"mgr1","data_subject.count":"25000","user.roles":["batch-export"]}"#);
        let a = x.extract(&export, 5).unwrap();
        assert_eq!(a.act, Act::Read { subjects: vec![], records: 25000 });
        assert!(a.service_role);
        let desk = ev(
            r#"{"user.name":"n.rofa","user.roles":["servicedesk"],"event.category":"authentication","event.type":"start"}"#,
        );
        assert!(!x.extract(&desk, 5).unwrap().service_role, "a help-desk person is not a service account");
        let reset = ev(
            r#"{"event":{"category":["iam"],"type":["user","change"],"action":"user.password_reset","outcome":"success"},"user":{"name":"sup00095","target":{"name":"adv00223"}}}"#,
        );
        assert_eq!(x.extract(&reset, 5).unwrap().act, Act::Reset { target: "adv00223".into() });
        let create = ev(
            r#"{"event":{"category":["iam"],"type":["user","creation"]},"user":{"name":"a","target":{"name":"new1"}}}"#,
        );
        assert_eq!(x.extract(&create, 5).unwrap().act, Act::Create { target: "new1".into() });
        let grant = ev(
            r#"{"event":{"category":["iam"],"type":["user","change"],"action":"role.grant"},"user":{"name":"a","target":{"name":"b"}}}"#,
        );
        assert_eq!(x.extract(&grant, 5).unwrap().act, Act::Grant { target: "b".into() });
        let login = ev(
            r#"{"event":{"category":"authentication","type":"start","outcome":"failure"},"user":{"name":"a"},"source":{"geo":{"country_iso_code":"FR","location":{"lat":48.8,"lon":2.3}}}}"#,
        );
        let a = x.extract(&login, 5).unwrap();
        assert_eq!(a.act, Act::Login { success: false });
        assert_eq!((a.country.as_deref(), a.location), (Some("FR"), Some((48.8, 2.3))));
        assert!(!a.token_auth);
        let token = ev(
            r#"{"event":{"category":["authentication"],"type":["start"],"action":"api_token.authenticate","outcome":"success"},"user":{"name":"etl-nightly"}}"#,
        );
        let a = x.extract(&token, 5).unwrap();
        assert_eq!((a.act.clone(), a.token_auth, a.service_role), (Act::Login { success: true }, true, false));
        assert!(x.extract(&ev(r#"{"EventID":4625}"#), 5).is_none());
    }

    #[test]
    fn a_geoip_database_locates_addresses_the_event_does_not() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/geo-test.mmdb");
        let x = Extractor { geoip: Some(GeoIp::open(&path).unwrap()), ..Extractor::default() };
        let a = x.extract(&ev(r#"{"user":{"name":"a"},"source":{"ip":"198.51.100.7"}}"#), 5).unwrap();
        assert_eq!(a.country.as_deref(), Some("SG"));
        assert!(a.location.unwrap().1 > 100.0);
        assert_eq!(a.asn, Some(64500));
        // What the event says wins; unknown addresses stay unknown.
        let own =
            ev(r#"{"user":{"name":"a"},"source":{"ip":"198.51.100.7","geo":{"location":{"lat":1.0,"lon":2.0}}}}"#);
        assert_eq!(x.extract(&own, 5).unwrap().location, Some((1.0, 2.0)));
        let none = x.extract(&ev(r#"{"user":{"name":"a"},"source":{"ip":"203.0.113.1"}}"#), 5).unwrap();
        assert_eq!((none.country, none.location), (None, None));
        assert!(GeoIp::open(std::path::Path::new("/nonexistent.mmdb")).is_err());
    }
}
