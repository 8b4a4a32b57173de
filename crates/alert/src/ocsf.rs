//! Alerts as OCSF Detection Findings (class 2004 of the Open Cybersecurity
//! Schema Framework, version [`OCSF_VERSION`]), for SIEMs and data lakes
//! that read OCSF (AWS Security Lake, Splunk, ...). A sink with
//! `format = "ocsf"` writes this instead of vigie's own alert object.
//!
//! What goes where:
//!
//! | vigie | OCSF |
//! |---|---|
//! | `alert.id` | `finding_info.uid`, `metadata.uid` |
//! | `alert.status` new / updated | `activity_id` 1 Create / 2 Update |
//! | `alert.kind` | `finding_info.types`, `finding_info.analytic.type_id` (Sigma and correlations: 1 Rule; analytics: 2 Behavioral; incidents: 99 Other) |
//! | `alert.count`, `first_seen`, `last_seen` | `count`, `start_time`, `end_time`, `finding_info.first_seen_time`, `last_seen_time` |
//! | `@timestamp` | `time` (epoch milliseconds), `metadata.original_time` |
//! | `rule.id`, `rule.name` | `finding_info.analytic.uid`, `.name`, `finding_info.title` |
//! | `rule.level` | `severity_id` (informational 1 to critical 5), `severity` |
//! | `rule.tags` `attack.tNNNN[.NNN]`, `attack.<tactic>` | `finding_info.attacks` (technique, sub-technique, tactic with its TA id) |
//! | `rule.author` (DRL 1.1), `rule.tags`, `evidence`, `events` | `unmapped` |
//! | `reason` | `message`, `finding_info.desc` |
//! | `user.name`, `source.ip` | `evidences[0].user.name`, `evidences[0].src_endpoint.ip`, `observables` (User Name, IP Address) |
//! | `evidence` | `evidences[0].data` |
//! | `events` | `finding_info.related_events[].uid` |
//! | `event` (already pseudonymised) | `raw_data` (its JSON text) |

use crate::attack::{Attack, attacks};
use crate::{Alert, AlertKind, Severity, Status};
use serde::Serialize;
use serde_json::{Map, Value};

/// The OCSF schema version the output follows.
pub const OCSF_VERSION: &str = "1.5.0";

const CLASS_UID: u32 = 2004;

/// One alert as an OCSF Detection Finding, ready to serialise.
#[derive(Debug, Serialize)]
pub struct DetectionFinding<'a> {
    activity_id: u8,
    activity_name: &'static str,
    category_uid: u8,
    category_name: &'static str,
    class_uid: u32,
    class_name: &'static str,
    type_uid: u32,
    type_name: &'static str,
    severity_id: u8,
    severity: &'static str,
    status_id: u8,
    status: &'static str,
    time: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    start_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_time: Option<i64>,
    count: u64,
    message: &'a str,
    is_alert: bool,
    finding_info: FindingInfo<'a>,
    metadata: Metadata<'a>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    evidences: Vec<Evidence<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    observables: Vec<Observable<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    raw_data: Option<String>,
    unmapped: Unmapped<'a>,
}

#[derive(Debug, Serialize)]
struct FindingInfo<'a> {
    uid: &'a str,
    title: &'a str,
    desc: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    created_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    first_seen_time: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    last_seen_time: Option<i64>,
    analytic: Analytic<'a>,
    types: [&'static str; 1],
    #[serde(skip_serializing_if = "Vec::is_empty")]
    attacks: Vec<Attack>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_events: Vec<RelatedEvent<'a>>,
}

#[derive(Debug, Serialize)]
struct Analytic<'a> {
    uid: &'a str,
    name: &'a str,
    type_id: u8,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Debug, Serialize)]
struct RelatedEvent<'a> {
    uid: &'a str,
}

#[derive(Debug, Serialize)]
struct Metadata<'a> {
    product: Product,
    version: &'static str,
    uid: &'a str,
    original_time: &'a str,
    labels: [&'static str; 2],
}

#[derive(Debug, Serialize)]
struct Product {
    name: &'static str,
    vendor_name: &'static str,
    version: &'static str,
}

#[derive(Debug, Serialize)]
struct Evidence<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    user: Option<Named<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    src_endpoint: Option<Endpoint<'a>>,
    data: &'a Map<String, Value>,
}

#[derive(Debug, Serialize)]
struct Named<'a> {
    name: &'a str,
}

#[derive(Debug, Serialize)]
struct Endpoint<'a> {
    ip: &'a str,
}

#[derive(Debug, Serialize)]
struct Observable<'a> {
    name: &'static str,
    type_id: u8,
    #[serde(rename = "type")]
    kind: &'static str,
    value: &'a str,
}

/// What OCSF has no attribute for, kept so that nothing is lost: the rule's
/// author (DRL 1.1 requires it on everything a Sigma rule produces), its
/// tags, the evidence and the triggering events' places.
#[derive(Debug, Serialize)]
struct Unmapped<'a> {
    rule_author: &'a str,
    rule_level: Severity,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    rule_tags: &'a [String],
    #[serde(skip_serializing_if = "Map::is_empty")]
    evidence: &'a Map<String, Value>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    events: &'a [String],
}

/// Epoch milliseconds of an RFC 3339 time (vigie writes every alert time so).
fn millis(t: &str) -> Option<i64> {
    t.parse::<jiff::Timestamp>().ok().map(|t| t.as_millisecond())
}

/// OCSF's severity for a Sigma level.
pub fn severity(level: Severity) -> (u8, &'static str) {
    match level {
        Severity::Informational => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

impl<'a> DetectionFinding<'a> {
    pub fn new(a: &'a Alert) -> DetectionFinding<'a> {
        let (activity_id, activity_name, type_name) = match a.alert.status {
            Status::New => (1, "Create", "Detection Finding: Create"),
            Status::Updated => (2, "Update", "Detection Finding: Update"),
        };
        let (severity_id, severity) = severity(a.rule.level);
        let (kind, analytic_type_id, analytic_type) = match a.alert.kind {
            AlertKind::Sigma => ("sigma", 1, "Rule"),
            AlertKind::Correlation => ("correlation", 1, "Rule"),
            AlertKind::Analytic => ("analytic", 2, "Behavioral"),
            AlertKind::Incident => ("incident", 99, "Incident"),
        };
        let first = millis(&a.alert.first_seen);
        let last = millis(&a.alert.last_seen);
        let user = a.user.as_ref().map(|u| u.name.as_str());
        // OCSF's `ip` is an address: a log's "-" is not one.
        let ip = a.source.as_ref().map(|s| s.ip.as_str()).filter(|ip| ip.parse::<std::net::IpAddr>().is_ok());
        let mut observables = Vec::new();
        if let Some(name) = user {
            observables.push(Observable { name: "evidences[0].user.name", type_id: 4, kind: "User Name", value: name });
        }
        if let Some(ip) = ip {
            observables.push(Observable {
                name: "evidences[0].src_endpoint.ip",
                type_id: 2,
                kind: "IP Address",
                value: ip,
            });
        }
        DetectionFinding {
            activity_id,
            activity_name,
            category_uid: 2,
            category_name: "Findings",
            class_uid: CLASS_UID,
            class_name: "Detection Finding",
            type_uid: CLASS_UID * 100 + activity_id as u32,
            type_name,
            severity_id,
            severity,
            status_id: 1,
            status: "New",
            time: millis(&a.timestamp).or(last).unwrap_or_default(),
            start_time: first,
            end_time: last,
            count: a.alert.count,
            message: &a.reason,
            is_alert: true,
            finding_info: FindingInfo {
                uid: &a.alert.id,
                title: &a.rule.name,
                desc: &a.reason,
                created_time: first,
                first_seen_time: first,
                last_seen_time: last,
                analytic: Analytic {
                    uid: &a.rule.id,
                    name: &a.rule.name,
                    type_id: analytic_type_id,
                    kind: analytic_type,
                },
                types: [kind],
                attacks: attacks(&a.rule.tags),
                related_events: a.events.iter().map(|e| RelatedEvent { uid: e }).collect(),
            },
            metadata: Metadata {
                product: Product { name: "vigie", vendor_name: "vigie", version: env!("CARGO_PKG_VERSION") },
                version: OCSF_VERSION,
                uid: &a.alert.id,
                original_time: &a.timestamp,
                labels: [kind, a.rule.level.as_str()],
            },
            evidences: vec![Evidence {
                user: user.map(|name| Named { name }),
                src_endpoint: ip.map(|ip| Endpoint { ip }),
                data: &a.evidence,
            }],
            observables,
            raw_data: a.event.as_ref().map(Value::to_string),
            unmapped: Unmapped {
                rule_author: &a.rule.author,
                rule_level: a.rule.level,
                rule_tags: &a.rule.tags,
                evidence: &a.evidence,
                events: &a.events,
            },
        }
    }
}

/// The alert as one OCSF Detection Finding in JSON.
pub fn to_vec(a: &Alert) -> Vec<u8> {
    // String keys only: serialising cannot fail.
    serde_json::to_vec(&DetectionFinding::new(a)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AlertHeader, RuleRef, SourceRef, UserRef};

    fn alert(kind: AlertKind, status: Status, tags: &[&str], user: bool, event: bool) -> Alert {
        let mut evidence = Map::new();
        evidence.insert("distinct_subjects".into(), Value::from(412));
        evidence.insert("baseline".into(), serde_json::json!({"learned": true, "p99": 35}));
        Alert {
            timestamp: "2026-02-12T03:14:07.250Z".into(),
            alert: AlertHeader {
                id: "a1b2c3".into(),
                kind,
                status,
                count: 3,
                first_seen: "2026-02-12T03:10:00Z".into(),
                last_seen: "2026-02-12T03:14:07.250Z".into(),
            },
            rule: RuleRef {
                id: "5f0e-rule".into(),
                name: "Account reads far more people than its habit".into(),
                level: Severity::High,
                author: "vigie".into(),
                tags: tags.iter().map(|t| t.to_string()).collect(),
            },
            user: user.then(|| UserRef { name: "adv-0042".into() }),
            source: user.then(|| SourceRef { ip: "203.0.113.9".into() }),
            reason: "adv-0042 read 412 people in 20 minutes, 12 times its usual".into(),
            evidence,
            events: vec!["http:1041".into(), "http:1042".into()],
            event: event.then(|| serde_json::json!({"user": {"name": "adv-0042"}, "data_subject": {"ids": ["9f2c"]}})),
        }
    }

    fn validator() -> jsonschema::Validator {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/ocsf/detection_finding-1.5.0.schema.json");
        let schema: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        jsonschema::options().should_validate_formats(true).build(&schema).unwrap()
    }

    #[test]
    fn every_kind_of_alert_is_a_valid_detection_finding() {
        let v = validator();
        let tags = ["attack.execution", "attack.t1059.001", "attack.t1047", "attack.g0016", "cve.2021-44228"];
        for kind in [AlertKind::Sigma, AlertKind::Correlation, AlertKind::Analytic, AlertKind::Incident] {
            for status in [Status::New, Status::Updated] {
                for (tags, user, event) in [(&tags[..], true, true), (&[][..], false, false)] {
                    let a = alert(kind, status, tags, user, event);
                    let out: Value = serde_json::from_slice(&to_vec(&a)).unwrap();
                    let errors: Vec<String> =
                        v.iter_errors(&out).map(|e| format!("{e} at {}", e.instance_path())).collect();
                    assert!(errors.is_empty(), "{kind:?} {status:?}: {errors:#?}\n{out:#}");
                }
            }
        }
    }

    #[test]
    fn the_schema_check_catches_what_ocsf_does_not_allow() {
        // The validation above can fail: a finding without its class, or
        // with an attribute OCSF does not define, is refused.
        let v = validator();
        let mut out: Value =
            serde_json::from_slice(&to_vec(&alert(AlertKind::Sigma, Status::New, &[], true, false))).unwrap();
        assert!(v.is_valid(&out));
        out["rule"] = Value::from("not an OCSF attribute");
        assert!(!v.is_valid(&out));
        out.as_object_mut().unwrap().remove("rule");
        out.as_object_mut().unwrap().remove("class_uid");
        assert!(!v.is_valid(&out));
    }

    #[test]
    fn the_finding_carries_the_rule_the_evidence_the_entities_and_attack() {
        let a = alert(AlertKind::Sigma, Status::Updated, &["attack.execution", "attack.t1059.001"], true, true);
        let out: Value = serde_json::from_slice(&to_vec(&a)).unwrap();
        assert_eq!(out["class_uid"], 2004);
        assert_eq!(out["type_uid"], 200402);
        assert_eq!(out["activity_name"], "Update");
        assert_eq!(out["severity_id"], 4);
        assert_eq!(out["time"], 1_770_866_047_250i64);
        assert_eq!(out["count"], 3);
        assert_eq!(out["finding_info"]["uid"], "a1b2c3");
        assert_eq!(out["finding_info"]["analytic"]["uid"], "5f0e-rule");
        assert_eq!(out["finding_info"]["related_events"][1]["uid"], "http:1042");
        assert_eq!(out["evidences"][0]["user"]["name"], "adv-0042");
        assert_eq!(out["evidences"][0]["src_endpoint"]["ip"], "203.0.113.9");
        assert_eq!(out["evidences"][0]["data"]["distinct_subjects"], 412);
        assert_eq!(out["observables"][1]["type_id"], 2);
        assert_eq!(out["unmapped"]["rule_author"], "vigie");
        assert_eq!(out["metadata"]["version"], OCSF_VERSION);
        let attack = &out["finding_info"]["attacks"][0];
        assert_eq!(attack["tactic"]["uid"], "TA0002");
        assert_eq!(attack["technique"]["uid"], "T1059");
        assert_eq!(attack["sub_technique"]["uid"], "T1059.001");
        assert_eq!(attack["sub_technique"]["src_url"], "https://attack.mitre.org/techniques/T1059/001/");
        let raw: Value = serde_json::from_str(out["raw_data"].as_str().unwrap()).unwrap();
        assert_eq!(raw["data_subject"]["ids"][0], "9f2c");
    }
}
