//! Events as lines of the canonical schema (docs/event-schema.md).

use crate::org::{BROWSERS, CITIES, FOREIGN, JOB_CLIENTS, OLDER_BROWSERS, ip_text};
use crate::sim::{Ev, What};
use std::fmt::Write;

/// User agents of attack tooling (indices from 100).
pub const TOOLS: &[&str] = &[
    "python-requests/2.31.0",
    "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0",
    "curl/8.5.0",
    "Go-http-client/1.1",
];

pub fn agent(i: u16) -> &'static str {
    match i {
        200.. => JOB_CLIENTS[(i - 200) as usize % JOB_CLIENTS.len()],
        100.. => TOOLS[(i - 100) as usize % TOOLS.len()],
        50.. => OLDER_BROWSERS[(i - 50) as usize % OLDER_BROWSERS.len()],
        _ => BROWSERS[i as usize % BROWSERS.len()],
    }
}

fn city(i: u8) -> (&'static str, f64, f64) {
    let c = if i >= 100 { FOREIGN[(i - 100) as usize % FOREIGN.len()] } else { CITIES[i as usize % CITIES.len()] };
    (c.1, c.2, c.3)
}

/// Append one event as a JSON line. `user`, `group` and `role` are the
/// acting account's; `target` the account acted upon.
pub fn line(out: &mut String, e: &Ev, user: &str, group: &str, role: &str, target: &str) {
    let ts = jiff::Timestamp::from_millisecond(e.ts).unwrap_or(jiff::Timestamp::UNIX_EPOCH);
    let (category, kind, action, outcome, dataset) = match e.what {
        What::Login { ok } => {
            ("authentication", "\"start\"", "user_login", if ok { "success" } else { "failure" }, "portal.auth")
        }
        What::Token { ok } => (
            "authentication",
            "\"start\"",
            "api_token.authenticate",
            if ok { "success" } else { "failure" },
            "portal.auth",
        ),
        What::Read { .. } => ("database", "\"access\"", "beneficiary.view", "success", "portal.audit"),
        What::Export { .. } => ("database", "\"access\"", "beneficiary.export", "success", "portal.audit"),
        What::Reset { .. } => ("iam", "\"user\",\"change\"", "user.password_reset", "success", "portal.audit"),
        What::Create { .. } => ("iam", "\"user\",\"creation\"", "user.create", "success", "portal.audit"),
        What::Grant { .. } => ("iam", "\"user\",\"change\"", "user.role_grant", "success", "portal.audit"),
    };
    let (cc, lat, lon) = city(e.geo);
    let _ = write!(
        out,
        r#"{{"@timestamp":"{ts:.3}","event":{{"category":["{category}"],"type":[{kind}],"action":"{action}","outcome":"{outcome}","dataset":"{dataset}"}},"user":{{"name":"{user}","roles":["{role}"],"group":{{"name":"{group}"}}"#
    );
    if !target.is_empty() {
        let _ = write!(out, r#","target":{{"name":"{target}"}}"#);
    }
    let _ = write!(
        out,
        r#"}},"source":{{"ip":"{}","geo":{{"country_iso_code":"{cc}","location":{{"lat":{lat},"lon":{lon}}}}}}},"user_agent":{{"original":"{}"}}"#,
        ip_text(e.ip),
        agent(e.agent)
    );
    match e.what {
        What::Read { subject: id } => {
            let _ = write!(
                out,
                r#","url":{{"path":"/api/v2/beneficiaries/{id}"}},"data_subject":{{"ids":["{id}"],"count":1,"categories":["identity","nir","birth_date","contact","address"]}}"#
            );
        }
        What::Export { count } => {
            let _ = write!(
                out,
                r#","url":{{"path":"/api/v2/exports"}},"data_subject":{{"count":{count},"categories":["identity","contact","address"]}}"#
            );
        }
        _ => {}
    }
    out.push_str("}\n");
}
