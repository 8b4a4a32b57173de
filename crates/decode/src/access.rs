//! nginx and Apache access logs, "combined" and "common":
//! `host ident user [10/Oct/2000:13:55:36 -0700] "GET /a?b HTTP/1.0" 200 2326 "referer" "agent"`.
//! Fields are written under ECS names (`source.ip`, `url.*`, `http.*`,
//! `user_agent.original`) with `event.category: web` and
//! `event.dataset: http.access`, which is what routes them to SigmaHQ's
//! webserver rules through the built-in ECS mapping.

use crate::tree::{Event, stamp};
use crate::{DecodeError, err};
use sonic_rs::Value;

const F: &str = "access";

pub fn decode(line: &str) -> Result<Value, DecodeError> {
    let mut p = Parser { s: line.trim() };
    let host = p.word("client address")?;
    let _ident = p.word("ident")?;
    let user = p.word("user")?;
    let time = p.bracketed("time")?;
    let request = p.quoted("request")?;
    let status = p.word("status")?;
    let bytes = p.word("bytes")?;
    let referrer = p.quoted("referrer").ok();
    let agent = p.quoted("user agent").ok();

    let mut ev = Event::new();
    let t = jiff::fmt::strtime::parse("%d/%b/%Y:%H:%M:%S %z", &time)
        .and_then(|t| t.to_timestamp())
        .map_err(|_| err(F, "time", "not `dd/Mon/yyyy:hh:mm:ss +zzzz`"))?;
    ev.set("@timestamp", stamp(t).as_str());
    ev.set("event.category", Value::from(vec![Value::from("web")]));
    ev.set("event.dataset", "http.access");
    ev.text("source.ip", host);
    ev.text("user.name", user);
    let mut parts = request.splitn(3, ' ');
    let method = parts.next().unwrap_or_default();
    let target = parts.next().unwrap_or_default();
    let version = parts.next().unwrap_or_default();
    ev.text("http.request.method", method);
    ev.text("url.original", target);
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    ev.text("url.path", path);
    ev.text("url.query", query);
    if let Some((_, ext)) = path.rsplit('/').next().unwrap_or_default().rsplit_once('.') {
        ev.text("url.extension", ext);
    }
    ev.text("http.version", version.strip_prefix("HTTP/").unwrap_or(version));
    let code: u64 = status.parse().map_err(|_| err(F, "status", "not a number"))?;
    ev.set("http.response.status_code", code);
    if let Ok(n) = bytes.parse::<u64>() {
        ev.set("http.response.body.bytes", n);
    }
    if let Some(r) = referrer {
        ev.text("http.request.referrer", &r);
    }
    if let Some(a) = agent {
        ev.text("user_agent.original", &a);
    }
    Ok(ev.finish())
}

struct Parser<'a> {
    s: &'a str,
}

impl<'a> Parser<'a> {
    fn word(&mut self, field: &'static str) -> Result<&'a str, DecodeError> {
        let s = self.s.trim_start();
        if s.is_empty() {
            return Err(err(F, field, "missing (the line ends early)"));
        }
        let end = s.find(' ').unwrap_or(s.len());
        self.s = &s[end..];
        Ok(&s[..end])
    }

    fn bracketed(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let s = self.s.trim_start();
        let Some(body) = s.strip_prefix('[') else {
            return Err(err(F, field, "expected `[`"));
        };
        let end = body.find(']').ok_or_else(|| err(F, field, "unterminated `[`"))?;
        self.s = &body[end + 1..];
        Ok(body[..end].to_string())
    }

    /// A double-quoted string in which `\"` and `\\` are escapes.
    fn quoted(&mut self, field: &'static str) -> Result<String, DecodeError> {
        let s = self.s.trim_start();
        let Some(body) = s.strip_prefix('"') else {
            return Err(err(F, field, "expected `\"`"));
        };
        let mut out = String::new();
        let mut chars = body.char_indices();
        while let Some((i, c)) = chars.next() {
            match c {
                '\\' => {
                    if let Some((_, n)) = chars.next() {
                        out.push(n);
                    }
                }
                '"' => {
                    self.s = &body[i + 1..];
                    return Ok(out);
                }
                c => out.push(c),
            }
        }
        Err(err(F, field, "unterminated quote"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sonic_rs::JsonValueTrait;

    #[test]
    fn combined_log_to_ecs() {
        let v = decode(r#"203.0.113.9 - bob [10/Oct/2000:13:55:36 -0700] "GET /admin/../etc/passwd?x=1 HTTP/1.1" 404 209 "http://a/" "sqlmap/1.7""#).unwrap();
        let g = |a: &str, b: &str| v.get(a).and_then(|x| x.get(b)).cloned();
        assert_eq!(v.get("@timestamp").and_then(|x| x.as_str()), Some("2000-10-10T20:55:36.000Z"));
        assert_eq!(g("source", "ip").and_then(|x| x.as_str().map(String::from)).as_deref(), Some("203.0.113.9"));
        assert_eq!(g("url", "query").and_then(|x| x.as_str().map(String::from)).as_deref(), Some("x=1"));
        assert_eq!(g("user", "name").and_then(|x| x.as_str().map(String::from)).as_deref(), Some("bob"));
        let status = v.get("http").and_then(|h| h.get("response")).and_then(|r| r.get("status_code"));
        assert_eq!(status.and_then(|s| s.as_u64()), Some(404));
        let ua = g("user_agent", "original");
        assert_eq!(ua.and_then(|x| x.as_str().map(String::from)).as_deref(), Some("sqlmap/1.7"));
    }

    #[test]
    fn common_log_without_referrer_and_agent() {
        assert!(decode(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.0" 200 -"#).is_ok());
    }

    #[test]
    fn errors_name_the_field() {
        assert_eq!(decode("1.2.3.4 - -").unwrap_err().field, "time");
        assert_eq!(decode(r#"1.2.3.4 - - [bad] "GET / HTTP/1.0" 200 1"#).unwrap_err().field, "time");
        assert_eq!(decode(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET /"#).unwrap_err().field, "request");
        assert_eq!(
            decode(r#"1.2.3.4 - - [10/Oct/2000:13:55:36 +0000] "GET / HTTP/1.0" abc 1"#).unwrap_err().field,
            "status"
        );
    }
}
