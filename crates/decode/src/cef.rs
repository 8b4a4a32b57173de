//! ArcSight Common Event Format:
//! `CEF:Version|Vendor|Product|DeviceVersion|SignatureID|Name|Severity|Extension`.
//! Header fields escape `|` and `\`; extension values escape `=`, `\` and
//! newlines, and run until the next ` key=`. Well-known extension keys are
//! also written under their ECS names.

use crate::tree::{Event, stamp};
use crate::{DecodeError, err};
use sonic_rs::Value;

const F: &str = "cef";

const HEADER: [&str; 7] =
    ["version", "device.vendor", "device.product", "device.version", "signature_id", "name", "severity"];

/// Extension keys and the ECS field each also fills.
const ECS: &[(&str, &str)] = &[
    ("src", "source.ip"),
    ("spt", "source.port"),
    ("shost", "source.domain"),
    ("suser", "user.name"),
    ("dst", "destination.ip"),
    ("dpt", "destination.port"),
    ("dhost", "destination.domain"),
    ("duser", "user.target.name"),
    ("act", "event.action"),
    ("outcome", "event.outcome"),
    ("request", "url.original"),
    ("requestMethod", "http.request.method"),
    ("requestClientApplication", "user_agent.original"),
    ("msg", "message"),
    ("app", "network.protocol"),
    ("proto", "network.transport"),
];

pub fn decode(line: &str) -> Result<Value, DecodeError> {
    let Some(body) = line.trim_start().strip_prefix("CEF:") else {
        return Err(err(F, "header", "a CEF line starts with `CEF:`"));
    };
    let mut ev = Event::new();
    let mut fields = Vec::with_capacity(7);
    let mut cur = String::new();
    let mut chars = body.char_indices();
    let mut ext_start = None;
    while let Some((i, c)) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some((_, n)) => cur.push(n),
                None => cur.push('\\'),
            },
            '|' => {
                fields.push(std::mem::take(&mut cur));
                if fields.len() == 7 {
                    ext_start = Some(i + 1);
                    break;
                }
            }
            c => cur.push(c),
        }
    }
    let Some(ext_start) = ext_start else {
        return Err(err(F, "header", format!("{} of the 7 header fields before the extension", fields.len())));
    };
    for (name, v) in HEADER.iter().zip(&fields) {
        ev.text(&format!("cef.{name}"), v);
    }
    ev.text("event.code", &fields[4]);
    ev.text("rule.name", &fields[5]);
    ev.text("observer.vendor", &fields[1]);
    ev.text("observer.product", &fields[2]);
    for (k, v) in extension(&body[ext_start..]) {
        if let Some((_, ecs)) = ECS.iter().find(|(key, _)| *key == k) {
            match (ecs.ends_with(".port"), v.parse::<u64>()) {
                (true, Ok(n)) => ev.set(ecs, n),
                _ => ev.text(ecs, &v),
            }
        }
        if k == "rt"
            && let Some(t) = receipt_time(&v)
        {
            ev.set("@timestamp", stamp(t).as_str());
        }
        ev.text(&format!("cef.extensions.{}", k.replace('.', "_")), &v);
    }
    Ok(ev.finish())
}

/// `key=value key2=value with spaces` into pairs.
fn extension(s: &str) -> Vec<(String, String)> {
    // Find each unescaped `=`; its key is the word before it.
    let b = s.as_bytes();
    let mut eqs = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 1,
            b'=' => eqs.push(i),
            _ => {}
        }
        i += 1;
    }
    let mut out = Vec::new();
    let key_start = |eq: usize| s[..eq].rfind(' ').map_or(0, |p| p + 1);
    for (n, &eq) in eqs.iter().enumerate() {
        let key = s[key_start(eq)..eq].trim();
        let end = eqs.get(n + 1).map_or(s.len(), |&next| key_start(next).saturating_sub(1).max(eq + 1));
        let raw = &s[eq + 1..end.max(eq + 1)];
        if !key.is_empty() {
            out.push((key.to_string(), unescape(raw.trim_end())));
        }
    }
    out
}

fn unescape(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let mut chars = v.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(o) => out.push(o),
            None => out.push('\\'),
        }
    }
    out
}

/// `rt` is epoch milliseconds or a date such as `Oct 12 2004 22:14:15`.
fn receipt_time(v: &str) -> Option<jiff::Timestamp> {
    if let Ok(ms) = v.parse::<i64>() {
        return jiff::Timestamp::from_millisecond(ms).ok();
    }
    jiff::fmt::strtime::parse("%b %d %Y %H:%M:%S", v)
        .ok()?
        .to_datetime()
        .ok()?
        .to_zoned_datetime(jiff::tz::TimeZone::UTC)
        .ok()
        .map(|z| z.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonic_rs::JsonValueTrait;

    #[test]
    fn header_extension_and_ecs() {
        let v = decode(r"CEF:0|Security|threatmanager|1.0|100|worm\|stopped|10|src=10.0.0.1 dst=2.1.2.2 spt=1232 msg=a b\=c suser=alice rt=1700000000000").unwrap();
        let get = |a: &str, b: &str| v.get(a).and_then(|x| x.get(b)).map(|x| x.to_string());
        assert_eq!(v.get("cef").and_then(|c| c.get("name")).and_then(|x| x.as_str()), Some("worm|stopped"));
        assert_eq!(get("source", "ip").as_deref(), Some("\"10.0.0.1\""));
        assert_eq!(get("source", "port").as_deref(), Some("1232"));
        assert_eq!(v.get("message").and_then(|x| x.as_str()), Some("a b=c"));
        assert_eq!(get("user", "name").as_deref(), Some("\"alice\""));
        assert_eq!(v.get("@timestamp").and_then(|x| x.as_str()), Some("2023-11-14T22:13:20.000Z"));
    }

    #[test]
    fn a_short_header_is_an_error() {
        assert_eq!(decode("CEF:0|a|b").unwrap_err().field, "header");
        assert_eq!(decode("LEEF:1|a").unwrap_err().field, "header");
    }
}
