//! One scrubber for every identifier of a person that an alert may carry,
//! applied before an alert is kept (merging state, checkpoints), stored,
//! logged or sent to any sink. It replaces, with the organisation's keyed
//! pseudonym (the same one the data-access trail uses, so that an alert
//! and the trail still name the same person):
//!
//! - every value under `data_subject.ids`, in every shape a log may give it
//!   (a string, a number, an array, objects, nested or as a dotted key);
//! - every value under a field configured as personal;
//! - the identifier segments of configured URL path patterns
//!   (`/beneficiaries/{id}`), wherever such a path appears in a string;
//! - and then any other appearance of an identifier found so far in the
//!   alert's text (its reason, its evidence), such as a matched value
//!   quoted in the reason.
//!
//! It is idempotent: a pseudonym (64 lowercase hex digits) is never
//! pseudonymised again, so scrubbing twice gives the same alert.

use crate::trail::Pseudonymiser;
use serde_json::Value;
use std::collections::BTreeSet;
use vigie_alert::Alert;

/// The field holding subject identifiers in the application schema.
pub const SUBJECT_IDS: &str = "data_subject.ids";

/// At most this many URL patterns and personal fields (each is tried on
/// every string of every alert).
pub const MAX_RULES: usize = 256;

/// Identifiers shorter than this are replaced only where they stand as a
/// field's whole value, never inside free text (where `42` would also hit
/// timestamps and counts).
const MIN_TEXT_ID: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum ScrubError {
    #[error("URL pattern `{pattern}`: {message}")]
    Pattern { pattern: String, message: String },
    #[error("at most {MAX_RULES} URL patterns and personal fields")]
    TooMany,
}

#[derive(Clone)]
pub struct Scrubber {
    key: Pseudonymiser,
    fields: Vec<String>,
    urls: Option<regex::Regex>,
}

impl std::fmt::Debug for Scrubber {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Scrubber").field("fields", &self.fields).finish_non_exhaustive()
    }
}

fn is_pseudonym(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// `/beneficiaries/{id}/files/{file}` as a regex whose groups are the
/// identifier segments.
fn pattern_regex(p: &str) -> Result<String, ScrubError> {
    let bad = |m: &str| ScrubError::Pattern { pattern: p.to_string(), message: m.to_string() };
    if !p.starts_with('/') {
        return Err(bad("must start with `/`"));
    }
    if p.len() > 512 {
        return Err(bad("longer than 512 characters"));
    }
    let mut out = String::new();
    let mut ids = 0;
    for seg in p.split('/').skip(1) {
        out.push('/');
        if seg.starts_with('{') && seg.ends_with('}') && seg.len() > 2 {
            out.push_str(r#"([^/?#&\s"'<>]+)"#);
            ids += 1;
        } else if seg.contains(['{', '}']) {
            return Err(bad("`{name}` must be a whole segment"));
        } else {
            out.push_str(&regex::escape(seg));
        }
    }
    if ids == 0 {
        return Err(bad("names no `{id}` segment"));
    }
    Ok(out)
}

/// `s` with every occurrence of `word` that stands on its own (no letter or
/// digit either side: inside a pseudonym's hex, or a longer number, it is
/// something else) replaced by `by`.
fn replace_words(s: &str, word: &str, by: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    let mut from = 0;
    while let Some(i) = s[from..].find(word).map(|i| i + from) {
        let end = i + word.len();
        let before = i == 0 || !b[i - 1].is_ascii_alphanumeric();
        let after = end == b.len() || !b[end].is_ascii_alphanumeric();
        if before && after {
            out.push_str(&s[last..i]);
            out.push_str(by);
            last = end;
        }
        from = end;
    }
    out.push_str(&s[last..]);
    out
}

impl Scrubber {
    /// A scrubber of `data_subject.ids` only.
    pub fn new(key: Pseudonymiser) -> Scrubber {
        Scrubber { key, fields: vec![SUBJECT_IDS.into()], urls: None }
    }

    /// Also pseudonymise every value under these fields (dotted paths).
    pub fn with_personal_fields(mut self, fields: &[String]) -> Result<Scrubber, ScrubError> {
        if fields.len() > MAX_RULES {
            return Err(ScrubError::TooMany);
        }
        for f in fields {
            let f = f.trim();
            if !f.is_empty() && !self.fields.iter().any(|x| x == f) {
                self.fields.push(f.to_string());
            }
        }
        Ok(self)
    }

    /// Also pseudonymise the `{id}` segments of these URL path patterns.
    pub fn with_url_patterns(mut self, patterns: &[String]) -> Result<Scrubber, ScrubError> {
        if patterns.len() > MAX_RULES {
            return Err(ScrubError::TooMany);
        }
        if patterns.is_empty() {
            return Ok(self);
        }
        let alternatives = patterns.iter().map(|p| pattern_regex(p)).collect::<Result<Vec<_>, _>>()?;
        let re = regex::RegexBuilder::new(&alternatives.join("|"))
            .size_limit(1 << 22)
            .build()
            .map_err(|e| ScrubError::Pattern { pattern: patterns.join(", "), message: e.to_string() })?;
        self.urls = Some(re);
        Ok(self)
    }

    pub fn pseudonym(&self, raw: &str) -> String {
        self.key.pseudonym(raw)
    }

    /// Scrub an alert in place: its event, evidence and reason.
    pub fn scrub_alert(&self, a: &mut Alert) {
        let mut raw = BTreeSet::new();
        if let Some(ev) = a.event.as_mut() {
            self.walk(ev, "", &mut raw);
        }
        let mut evidence = Value::Object(std::mem::take(&mut a.evidence));
        self.walk(&mut evidence, "", &mut raw);
        let raw: Vec<String> = raw.into_iter().filter(|r| r.len() >= MIN_TEXT_ID).collect();
        if let Some(ev) = a.event.as_mut() {
            self.text_everywhere(ev, &raw);
        }
        self.text_everywhere(&mut evidence, &raw);
        if let Value::Object(m) = evidence {
            a.evidence = m;
        }
        a.reason = self.text(&a.reason, &raw);
    }

    /// Scrub any JSON value in place (an event, an action record).
    pub fn scrub_value(&self, v: &mut Value) {
        let mut raw = BTreeSet::new();
        self.walk(v, "", &mut raw);
        let raw: Vec<String> = raw.into_iter().filter(|r| r.len() >= MIN_TEXT_ID).collect();
        self.text_everywhere(v, &raw);
    }

    fn personal(&self, path: &str) -> bool {
        self.fields.iter().any(|f| {
            path == f
                || (path.len() > f.len()
                    && path.ends_with(f.as_str())
                    && path.as_bytes()[path.len() - f.len() - 1] == b'.')
        })
    }

    /// Structural pass: personal subtrees wholly, URL patterns in strings.
    fn walk(&self, v: &mut Value, path: &str, raw: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => {
                for (k, child) in m.iter_mut() {
                    let p = if path.is_empty() { k.clone() } else { format!("{path}.{k}") };
                    if self.personal(&p) {
                        self.all(child, raw);
                    } else {
                        self.walk(child, &p, raw);
                    }
                }
            }
            Value::Array(items) => {
                for i in items {
                    self.walk(i, path, raw);
                }
            }
            Value::String(s) => {
                if let Some(t) = self.urls_in(s, raw) {
                    *s = t;
                }
            }
            _ => {}
        }
    }

    /// Every scalar under a personal field.
    fn all(&self, v: &mut Value, raw: &mut BTreeSet<String>) {
        match v {
            Value::Object(m) => m.values_mut().for_each(|c| self.all(c, raw)),
            Value::Array(items) => items.iter_mut().for_each(|c| self.all(c, raw)),
            Value::String(s) if !is_pseudonym(s) && !s.is_empty() => {
                raw.insert(s.clone());
                *s = self.key.pseudonym(s);
            }
            Value::Number(n) => {
                let s = n.to_string();
                *v = Value::String(self.key.pseudonym(&s));
                raw.insert(s);
            }
            _ => {}
        }
    }

    /// The string with the identifier segments of URL patterns replaced
    /// (`None`: nothing to replace).
    fn urls_in(&self, s: &str, raw: &mut BTreeSet<String>) -> Option<String> {
        let re = self.urls.as_ref()?;
        let mut out = String::new();
        let mut last = 0;
        for caps in re.captures_iter(s) {
            for g in caps.iter().skip(1).flatten() {
                if is_pseudonym(g.as_str()) {
                    continue;
                }
                out.push_str(&s[last..g.start()]);
                out.push_str(&self.key.pseudonym(g.as_str()));
                raw.insert(g.as_str().to_string());
                last = g.end();
            }
        }
        if last == 0 {
            return None;
        }
        out.push_str(&s[last..]);
        Some(out)
    }

    /// Text pass: URL patterns and identifiers already found, in free text.
    fn text(&self, s: &str, raw: &[String]) -> String {
        let mut sink = BTreeSet::new();
        let mut t = self.urls_in(s, &mut sink).unwrap_or_else(|| s.to_string());
        for r in raw {
            if t.contains(r.as_str()) {
                t = replace_words(&t, r, &self.key.pseudonym(r));
            }
        }
        t
    }

    fn text_everywhere(&self, v: &mut Value, raw: &[String]) {
        match v {
            Value::Object(m) => m.values_mut().for_each(|c| self.text_everywhere(c, raw)),
            Value::Array(items) => items.iter_mut().for_each(|c| self.text_everywhere(c, raw)),
            Value::String(s) if !is_pseudonym(s) => {
                let t = self.text(s, raw);
                if t != *s {
                    *s = t;
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const RAW: &str = "267035512349876";

    fn scrubber() -> Scrubber {
        Scrubber::new(Pseudonymiser::new(b"k"))
            .with_url_patterns(&["/beneficiaries/{id}".into(), "/people/{p}/files/{f}".into()])
            .unwrap()
            .with_personal_fields(&["beneficiary.nir".into()])
            .unwrap()
    }

    fn alert(event: Value, reason: &str, evidence: Value) -> Alert {
        serde_json::from_value(json!({
            "@timestamp": "2026-03-02T20:00:00.000Z",
            "alert": {"id": "a", "kind": "sigma", "status": "new", "count": 1,
                      "first_seen": "2026-03-02T20:00:00.000Z", "last_seen": "2026-03-02T20:00:00.000Z"},
            "rule": {"id": "r", "name": "r", "level": "high", "author": "x"},
            "reason": reason, "evidence": evidence, "events": [], "event": event
        }))
        .unwrap()
    }

    /// A live reload scrubs open alerts again with the new fields: a second
    /// pass must leave pseudonyms as they are (never a pseudonym of one).
    #[test]
    fn scrubbing_twice_is_scrubbing_once() {
        let s = scrubber();
        let n: u64 = RAW.parse().unwrap();
        let event = json!({"data_subject": {"ids": [RAW, n]}, "beneficiary": {"nir": RAW},
                           "url": {"path": format!("/beneficiaries/{RAW}")}, "message": format!("read {RAW}")});
        let mut once = alert(event, &format!("read {RAW}"), json!({"subject": RAW}));
        s.scrub_alert(&mut once);
        let mut twice = once.clone();
        s.scrub_alert(&mut twice);
        assert_eq!(serde_json::to_value(&once).unwrap(), serde_json::to_value(&twice).unwrap());
        assert!(!serde_json::to_string(&twice).unwrap().contains(RAW));
    }

    #[test]
    fn every_shape_of_subject_ids_is_pseudonymised() {
        let s = scrubber();
        let p = s.pseudonym(RAW);
        let n: u64 = RAW.parse().unwrap();
        let shapes = [
            json!({"data_subject": {"ids": RAW, "count": 1200}}),
            json!({"data_subject": {"ids": n}}),
            json!({"data_subject": {"ids": [RAW, n]}}),
            json!({"data_subject": {"ids": [{"nir": RAW}, {"id": {"value": n}}]}}),
            json!({"data_subject": {"ids": {"primary": RAW}}}),
            json!({"data_subject.ids": RAW}),
            json!({"url": {"path": format!("/beneficiaries/{RAW}")}}),
            json!({"url": {"original": format!("https://app/people/{RAW}/files/{RAW}?x=1")}}),
            json!({"message": format!("GET /beneficiaries/{RAW} HTTP/1.1")}),
            json!({"beneficiary": {"nir": RAW}}),
        ];
        for ev in shapes {
            let mut a = alert(
                ev.clone(),
                &format!("matched data_subject.ids={RAW} on /beneficiaries/{RAW}"),
                json!({"matched": {"data_subject.ids": RAW, "url.path": format!("/beneficiaries/{RAW}")}}),
            );
            s.scrub_alert(&mut a);
            let text = serde_json::to_string(&a).unwrap();
            assert!(!text.contains(RAW), "{ev}: {text}");
            assert!(text.contains(&p), "{ev}: {text}");
            // Idempotent: a second pass changes nothing.
            let mut again = a.clone();
            s.scrub_alert(&mut again);
            assert_eq!(again, a);
        }
        // The count is not an identifier.
        let mut a = alert(json!({"data_subject": {"ids": RAW, "count": 1200}}), "r", json!({}));
        s.scrub_alert(&mut a);
        assert_eq!(a.event.unwrap()["data_subject"]["count"], 1200);
    }

    #[test]
    fn identifiers_are_replaced_as_words_only() {
        assert_eq!(replace_words("id=1234, x1234 12345 1234", "1234", "P"), "id=P, x1234 12345 P");
    }

    #[test]
    fn bad_patterns_are_refused() {
        let s = || Scrubber::new(Pseudonymiser::new(b"k"));
        for p in ["beneficiaries/{id}", "/beneficiaries", "/b/x{id}"] {
            assert!(s().with_url_patterns(&[p.into()]).is_err(), "{p}");
        }
    }
}
