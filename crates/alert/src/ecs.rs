//! Alerts as Elastic Common Schema documents, for the Elasticsearch or
//! OpenSearch cluster where a SOC keeps its alerts (the `elasticsearch`
//! sink). ECS fields where ECS has them; the rest under `vigie.*`.
//!
//! | vigie | ECS |
//! |---|---|
//! | `@timestamp` | `@timestamp` |
//! | `alert.id` | `event.id` (and the document's `_id`) |
//! | `alert.kind` | `event.kind` = `alert`, `event.module` = `vigie`, `event.dataset` = `vigie.alerts`, `rule.ruleset` (`sigma`, `correlation`, `analytic`, `incident`) |
//! | `alert.first_seen`, `last_seen` | `event.start`, `event.end` |
//! | `rule.level` | `event.severity` and `event.risk_score` (21 low, 47 medium, 73 high, 99 critical, 0 informational), `vigie.level` |
//! | `rule.id`, `name`, `author` | `rule.id`, `rule.uuid`, `rule.name`, `rule.author` |
//! | `rule.tags` | `tags`; ATT&CK tags as `threat.*` |
//! | `reason` | `message`, `event.reason` |
//! | `user.name`, `source.ip` | `user.name`, `source.ip` (when it is an address; always `source.address`), `related.user`, `related.ip` |
//! | `alert.status`, `count`, `evidence`, `events` | `vigie.alert.*`, `vigie.evidence`, `vigie.events` |
//! | `event` (already pseudonymised) | `vigie.event` (its JSON text) |

use crate::attack::attacks;
use crate::{Alert, AlertKind, Severity};
use serde_json::{Map, Value, json};

/// Elastic's usual risk score for a level (its detection rules use the same
/// four steps).
pub fn risk_score(level: Severity) -> u8 {
    match level {
        Severity::Informational => 0,
        Severity::Low => 21,
        Severity::Medium => 47,
        Severity::High => 73,
        Severity::Critical => 99,
    }
}

/// The alert as one ECS document.
pub fn document(a: &Alert) -> Value {
    let ruleset = match a.alert.kind {
        AlertKind::Sigma => "sigma",
        AlertKind::Correlation => "correlation",
        AlertKind::Analytic => "analytic",
        AlertKind::Incident => "incident",
    };
    let score = risk_score(a.rule.level);
    let mut doc = json!({
        "@timestamp": a.timestamp,
        "message": a.reason,
        "event": {
            "kind": "alert",
            "module": "vigie",
            "dataset": "vigie.alerts",
            "id": a.alert.id,
            "start": a.alert.first_seen,
            "end": a.alert.last_seen,
            "severity": score,
            "risk_score": score,
            "reason": a.reason,
        },
        "rule": {
            "id": a.rule.id,
            "uuid": a.rule.id,
            "name": a.rule.name,
            "author": [a.rule.author],
            "ruleset": ruleset,
        },
        "vigie": {
            "level": a.rule.level,
            "alert": { "kind": a.alert.kind, "status": a.alert.status, "count": a.alert.count },
            "evidence": a.evidence,
            "events": a.events,
        },
    });
    let m = doc.as_object_mut().expect("an object");
    if !a.rule.tags.is_empty() {
        m.insert("tags".into(), json!(a.rule.tags));
    }
    let mut related = Map::new();
    if let Some(u) = &a.user {
        m.insert("user".into(), json!({ "name": u.name }));
        related.insert("user".into(), json!([u.name]));
    }
    // An `ip` field takes only an address: a log's "-" or a host name
    // would have the whole document refused, so it goes as `source.address`.
    if let Some(s) = &a.source {
        if s.ip.parse::<std::net::IpAddr>().is_ok() {
            m.insert("source".into(), json!({ "ip": s.ip, "address": s.ip }));
            related.insert("ip".into(), json!([s.ip]));
        } else {
            m.insert("source".into(), json!({ "address": s.ip }));
        }
    }
    if !related.is_empty() {
        m.insert("related".into(), Value::Object(related));
    }
    if let Some(threat) = threat(&a.rule.tags) {
        m.insert("threat".into(), threat);
    }
    // The event as text: events of every shape under one index would
    // otherwise fight over the mapping of their fields.
    if let Some(e) = &a.event {
        m["vigie"]["event"] = Value::String(e.to_string());
    }
    doc
}

/// ECS `threat`: the framework, the tactics, and the techniques with their
/// sub-techniques (ECS lists each as parallel arrays of ids and pages).
fn threat(tags: &[String]) -> Option<Value> {
    let found = attacks(tags);
    if found.is_empty() {
        return None;
    }
    let (mut tactic_ids, mut tactic_names, mut tactic_refs) = (Vec::new(), Vec::new(), Vec::new());
    let (mut tech_ids, mut tech_refs, mut sub_ids, mut sub_refs) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for a in &found {
        if let Some(t) = &a.tactic
            && !tactic_ids.contains(&t.uid)
        {
            tactic_ids.push(t.uid.clone());
            tactic_names.push(t.name.unwrap_or_default());
            tactic_refs.push(t.src_url.clone());
        }
        if let Some(t) = &a.technique {
            tech_ids.push(t.uid.clone());
            tech_refs.push(t.src_url.clone());
        }
        if let Some(t) = &a.sub_technique {
            sub_ids.push(t.uid.clone());
            sub_refs.push(t.src_url.clone());
        }
    }
    let mut out = json!({ "framework": "MITRE ATT&CK" });
    if !tactic_ids.is_empty() {
        out["tactic"] = json!({ "id": tactic_ids, "name": tactic_names, "reference": tactic_refs });
    }
    if !tech_ids.is_empty() {
        out["technique"] = json!({ "id": tech_ids, "reference": tech_refs });
        if !sub_ids.is_empty() {
            out["technique"]["subtechnique"] = json!({ "id": sub_ids, "reference": sub_refs });
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{AlertHeader, RuleRef, SourceRef, Status, UserRef};

    #[test]
    fn an_alert_becomes_an_ecs_alert_document() {
        let a = Alert {
            timestamp: "2026-02-12T03:14:07Z".into(),
            alert: AlertHeader {
                id: "a1".into(),
                kind: AlertKind::Correlation,
                status: Status::New,
                count: 2,
                first_seen: "2026-02-12T03:10:00Z".into(),
                last_seen: "2026-02-12T03:14:07Z".into(),
            },
            rule: RuleRef {
                id: "r1".into(),
                name: "Password spraying".into(),
                level: Severity::High,
                author: "vigie".into(),
                tags: vec!["attack.credential-access".into(), "attack.t1110.003".into()],
            },
            user: Some(UserRef { name: "adv-7".into() }),
            source: Some(SourceRef { ip: "203.0.113.9".into() }),
            reason: "one address failed against 140 accounts".into(),
            evidence: Map::new(),
            events: vec!["http:9".into()],
            event: None,
        };
        let d = document(&a);
        assert_eq!(d["event"]["kind"], "alert");
        assert_eq!(d["event"]["id"], "a1");
        assert_eq!(d["event"]["severity"], 73);
        assert_eq!(d["rule"]["author"][0], "vigie");
        assert_eq!(d["rule"]["ruleset"], "correlation");
        assert_eq!(d["user"]["name"], "adv-7");
        assert_eq!(d["related"]["ip"][0], "203.0.113.9");
        assert_eq!(d["threat"]["tactic"]["id"][0], "TA0006");
        assert_eq!(d["threat"]["technique"]["id"][0], "T1110");
        assert_eq!(d["threat"]["technique"]["subtechnique"]["id"][0], "T1110.003");
        assert_eq!(d["vigie"]["alert"]["count"], 2);
        assert_eq!(d["vigie"]["level"], "high");
        assert!(d.get("vigie").unwrap().get("event").is_none());
        // A source that is not an address is not an `ip`.
        let mut b = a.clone();
        b.source = Some(SourceRef { ip: "-".into() });
        b.rule.tags = vec!["attack.credential_access".into()];
        b.event = Some(json!({"user": {"name": "adv-7"}}));
        let d = document(&b);
        assert_eq!(d["source"], json!({"address": "-"}));
        assert!(d["related"].get("ip").is_none());
        assert_eq!(d["threat"]["tactic"]["id"][0], "TA0006", "the older underscore form");
        assert_eq!(d["vigie"]["event"], r#"{"user":{"name":"adv-7"}}"#);
    }
}
