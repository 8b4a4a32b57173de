//! Syslog: RFC 5424 (`<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG`) and
//! the older BSD format of RFC 3164 (`<PRI>Mmm dd hh:mm:ss HOST TAG[PID]: MSG`).
//! A message that is a JSON object (what most applications log now) is
//! decoded and merged into the event; a CEF message is decoded as CEF.

use crate::tree::{Event, stamp};
use crate::{DecodeError, err};
use sonic_rs::Value;

const F: &str = "syslog";

pub fn decode(line: &str) -> Result<Value, DecodeError> {
    let rest = line.trim_start();
    let Some(rest) = rest.strip_prefix('<') else {
        return Err(err(F, "PRI", "a syslog line starts with `<PRI>`"));
    };
    let Some(close) = rest.find('>') else {
        return Err(err(F, "PRI", "unterminated `<PRI>`"));
    };
    let pri: u16 = rest[..close].parse().map_err(|_| err(F, "PRI", format!("not a number ({} bytes)", close)))?;
    if pri > 191 {
        return Err(err(F, "PRI", format!("{pri} is out of range (0-191)")));
    }
    let rest = &rest[close + 1..];
    let mut ev = Event::new();
    ev.set("log.syslog.priority", pri as u64);
    ev.set("log.syslog.facility.code", (pri / 8) as u64);
    ev.set("log.syslog.severity.code", (pri % 8) as u64);
    let msg = match rest.strip_prefix("1 ") {
        Some(r) => rfc5424(r, &mut ev)?,
        None => rfc3164(rest, &mut ev)?,
    };
    payload(msg, &mut ev);
    Ok(ev.finish())
}

/// Split off the next space-separated token.
fn token<'a>(s: &'a str, field: &'static str) -> Result<(&'a str, &'a str), DecodeError> {
    if s.is_empty() {
        return Err(err(F, field, "missing (the line ends early)"));
    }
    Ok(s.split_once(' ').unwrap_or((s, "")))
}

fn rfc5424<'a>(s: &'a str, ev: &mut Event) -> Result<&'a str, DecodeError> {
    let (ts, s) = token(s, "TIMESTAMP")?;
    if ts != "-" {
        let t: jiff::Timestamp = ts.parse().map_err(|_| err(F, "TIMESTAMP", "not RFC 3339"))?;
        ev.set("@timestamp", stamp(t).as_str());
    }
    let (host, s) = token(s, "HOSTNAME")?;
    ev.text("host.hostname", host);
    let (app, s) = token(s, "APP-NAME")?;
    ev.text("process.name", app);
    let (pid, s) = token(s, "PROCID")?;
    match pid.parse::<u64>() {
        Ok(n) => ev.set("process.pid", n),
        Err(_) => ev.text("process.entity_id", pid),
    }
    let (msgid, s) = token(s, "MSGID")?;
    ev.text("event.code", msgid);
    let s = structured_data(s, ev)?;
    Ok(s.strip_prefix('\u{feff}').unwrap_or(s))
}

/// `-` or one or more `[id key="value" ...]` elements; values escape `"`, `\` and `]`.
fn structured_data<'a>(s: &'a str, ev: &mut Event) -> Result<&'a str, DecodeError> {
    if let Some(rest) = s.strip_prefix('-') {
        return Ok(rest.strip_prefix(' ').unwrap_or(rest));
    }
    if !s.starts_with('[') {
        return Err(err(F, "STRUCTURED-DATA", "expected `-` or `[`"));
    }
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() && b[i] == b'[' {
        let start = i + 1;
        let mut j = start;
        let mut in_quotes = false;
        let mut escaped = false;
        while j < b.len() {
            match b[j] {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_quotes = !in_quotes,
                b']' if !in_quotes => break,
                _ => {}
            }
            j += 1;
        }
        if j >= b.len() {
            return Err(err(F, "STRUCTURED-DATA", "unterminated `[`"));
        }
        sd_element(&s[start..j], ev);
        i = j + 1;
    }
    let rest = &s[i..];
    Ok(rest.strip_prefix(' ').unwrap_or(rest))
}

fn sd_element(elem: &str, ev: &mut Event) {
    let (id, mut params) = elem.split_once(' ').unwrap_or((elem, ""));
    let id = id.replace('.', "_");
    while let Some(eq) = params.find("=\"") {
        let name = params[..eq].trim();
        let body = &params[eq + 2..];
        let mut value = String::new();
        let mut end = body.len();
        let mut chars = body.char_indices();
        while let Some((k, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        value.push(n);
                    }
                }
                '"' => {
                    end = k + 1;
                    break;
                }
                c => value.push(c),
            }
        }
        ev.set(&format!("log.syslog.structured_data.{id}.{}", name.replace('.', "_")), value.as_str());
        params = &body[end.min(body.len())..];
    }
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

fn rfc3164<'a>(s: &'a str, ev: &mut Event) -> Result<&'a str, DecodeError> {
    // "Mmm dd hh:mm:ss" (15 bytes; the day is space-padded). The year is not
    // written: the current year is assumed, or last year for a date that
    // would otherwise be more than a day in the future (late December logs
    // read in January).
    let ts = s.get(..15).ok_or_else(|| err(F, "TIMESTAMP", "the line ends before `Mmm dd hh:mm:ss`"))?;
    // Sliced by byte below: a non-ASCII character would be cut in two.
    if !ts.is_ascii() {
        return Err(err(F, "TIMESTAMP", "`Mmm dd hh:mm:ss` holds a non-ASCII character"));
    }
    let month = MONTHS.iter().position(|m| *m == &ts[..3]).ok_or_else(|| err(F, "TIMESTAMP", "not a month name"))?;
    let day: i8 = ts[4..6].trim().parse().map_err(|_| err(F, "TIMESTAMP", "bad day"))?;
    let time: jiff::civil::Time = ts[7..].parse().map_err(|_| err(F, "TIMESTAMP", "bad time"))?;
    let now = jiff::Timestamp::now();
    let year = now.to_zoned_datetime(jiff::tz::TimeZone::UTC).year();
    let at = |y: i16| {
        jiff::civil::Date::new(y, month as i8 + 1, day)
            .ok()
            .and_then(|d| d.to_datetime(time).to_zoned_datetime(jiff::tz::TimeZone::UTC).ok())
            .map(|z| z.timestamp())
    };
    let t = match at(year) {
        Some(t) if t.as_second() > now.as_second() + 86_400 => at(year - 1),
        other => other,
    }
    .ok_or_else(|| err(F, "TIMESTAMP", "not a date"))?;
    ev.set("@timestamp", stamp(t).as_str());
    let rest = s[15..].trim_start();
    let (host, rest) = token(rest, "HOSTNAME")?;
    ev.text("host.hostname", host);
    // TAG[PID]: MSG; a message without a tag is kept whole.
    let tag_end = rest.find([':', '[', ' ']).unwrap_or(rest.len());
    let tag = &rest[..tag_end];
    let mut after = &rest[tag_end..];
    if tag.is_empty() || tag.len() > 48 {
        return Ok(rest);
    }
    if let Some(p) = after.strip_prefix('[')
        && let Some(close) = p.find(']')
    {
        if let Ok(pid) = p[..close].parse::<u64>() {
            ev.set("process.pid", pid);
        }
        after = &p[close + 1..];
    }
    match after.strip_prefix(':') {
        Some(msg) => {
            ev.text("process.name", tag);
            Ok(msg.strip_prefix(' ').unwrap_or(msg))
        }
        None => Ok(rest),
    }
}

/// The message: decoded when it is JSON or CEF, kept as `message` always.
fn payload(msg: &str, ev: &mut Event) {
    let trimmed = msg.trim();
    if trimmed.starts_with('{')
        && let Ok(v) = crate::parse_json(trimmed.as_bytes())
    {
        ev.merge(v);
        return;
    }
    if trimmed.starts_with("CEF:")
        && let Ok(v) = crate::cef::decode(trimmed)
    {
        ev.merge(v);
        return;
    }
    ev.set("message", msg);
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonic_rs::JsonValueTrait;

    fn s(v: &Value, p: &[&str]) -> Option<String> {
        let mut cur = v;
        for k in p {
            cur = cur.get(*k)?;
        }
        cur.as_str().map(str::to_string).or_else(|| cur.as_u64().map(|n| n.to_string()))
    }

    #[test]
    fn rfc5424_with_structured_data_and_json_payload() {
        let line = r#"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 1234 ID47 [exampleSDID@32473 iut="3" eventSource="Appli\"cation"] {"user":{"name":"adv1"},"event":{"action":"login"}}"#;
        let v = decode(line).unwrap();
        assert_eq!(s(&v, &["@timestamp"]).as_deref(), Some("2003-10-11T22:14:15.003Z"));
        assert_eq!(s(&v, &["host", "hostname"]).as_deref(), Some("mymachine.example.com"));
        assert_eq!(s(&v, &["process", "pid"]).as_deref(), Some("1234"));
        assert_eq!(s(&v, &["log", "syslog", "facility", "code"]).as_deref(), Some("20"));
        assert_eq!(
            s(&v, &["log", "syslog", "structured_data", "exampleSDID@32473", "eventSource"]).as_deref(),
            Some("Appli\"cation")
        );
        assert_eq!(s(&v, &["user", "name"]).as_deref(), Some("adv1"), "JSON payload merged");
    }

    #[test]
    fn rfc3164_with_tag_and_pid() {
        let v = decode("<34>Oct  1 22:14:15 mymachine sshd[812]: Failed password for root").unwrap();
        assert_eq!(s(&v, &["process", "name"]).as_deref(), Some("sshd"));
        assert_eq!(s(&v, &["process", "pid"]).as_deref(), Some("812"));
        assert_eq!(s(&v, &["message"]).as_deref(), Some("Failed password for root"));
        assert!(s(&v, &["@timestamp"]).unwrap().contains("-10-01T22:14:15"));
    }

    #[test]
    fn truncated_and_bad_frames_name_the_field() {
        assert_eq!(decode("<34").unwrap_err().field, "PRI");
        assert_eq!(decode("<999>1 x").unwrap_err().field, "PRI");
        assert_eq!(decode("<34>1 2003-10-11T22:14:15Z host").unwrap_err().field, "APP-NAME");
        assert_eq!(decode("<34>1 nope h a p m -").unwrap_err().field, "TIMESTAMP");
        assert_eq!(decode("<34>Oct 11 2").unwrap_err().field, "TIMESTAMP");
        assert_eq!(decode("<34>1 - h a p m [x a=\"1\"").unwrap_err().field, "STRUCTURED-DATA");
    }
}
