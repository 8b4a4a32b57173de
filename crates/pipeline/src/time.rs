//! Event time: what every window, watermark and alert timestamp is based
//! on. Logs write time in many ways; each is read here, once.

use vigie_events::{FieldPath, JsonValueTrait, Value};

/// Read an event time as milliseconds since the Unix epoch. Accepts RFC 3339
/// (any offset), `YYYY-MM-DD HH:MM:SS[.fff]` (taken as UTC, as Windows and
/// many exporters write it), and epoch seconds or milliseconds as numbers or
/// digit strings (a value above 10^11 is taken as milliseconds).
pub fn parse_time(text: &str) -> Option<i64> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    if t.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let n: f64 = t.parse().ok()?;
        return Some(epoch(n));
    }
    if let Ok(ts) = t.parse::<jiff::Timestamp>() {
        return Some(ts.as_millisecond());
    }
    // Civil time without an offset: UTC.
    let civil = t.replacen(' ', "T", 1);
    let dt: jiff::civil::DateTime = civil.trim_end_matches('Z').parse().ok()?;
    dt.to_zoned_datetime(jiff::tz::TimeZone::UTC).ok().map(|z| z.timestamp().as_millisecond())
}

fn epoch(n: f64) -> i64 {
    if n > 1e11 { n as i64 } else { (n * 1000.0) as i64 }
}

/// Where an event's time is read from, in order: the configured fields
/// (`@timestamp` first by default), then the field the event's mapping names.
#[derive(Debug, Clone)]
pub struct Clock {
    fields: Vec<FieldPath>,
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new(&["@timestamp".to_string()])
    }
}

impl Clock {
    pub fn new(fields: &[String]) -> Clock {
        Clock { fields: fields.iter().map(|f| FieldPath::new(f)).collect() }
    }

    /// The event's time from the configured fields, else from `mapped`
    /// (the mapping's own timestamp field), else `None`.
    pub fn read(&self, ev: &Value, mapped: Option<&str>) -> Option<i64> {
        for p in &self.fields {
            if let Some(v) = p.first(ev) {
                if let Some(n) = v.as_f64() {
                    return Some(epoch(n));
                }
                if let Some(t) = v.as_str().and_then(parse_time) {
                    return Some(t);
                }
            }
        }
        mapped.and_then(parse_time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        let want = 1_709_366_472_345;
        assert_eq!(parse_time("2024-03-02T08:01:12.345Z"), Some(want));
        assert_eq!(parse_time("2024-03-02T09:01:12.345+01:00"), Some(want));
        assert_eq!(parse_time("2024-03-02 08:01:12.345"), Some(want));
        assert_eq!(parse_time("2024-03-02T08:01:12.345000Z"), Some(want));
        assert_eq!(parse_time("1709366472.345"), Some(want));
        assert_eq!(parse_time("1709366472345"), Some(want));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn clock_prefers_configured_fields() {
        let ev: Value = sonic_rs::from_str(r#"{"@timestamp":"2024-03-02T08:01:12.345Z","t":1}"#).unwrap();
        assert_eq!(Clock::default().read(&ev, None), Some(1_709_366_472_345));
        assert_eq!(Clock::new(&["t".into()]).read(&ev, None), Some(1000));
        assert_eq!(Clock::new(&["missing".into()]).read(&ev, Some("1970-01-01T00:00:02Z")), Some(2000));
    }
}
