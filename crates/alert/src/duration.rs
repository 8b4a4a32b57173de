//! Durations as people write them in configuration (`30s`, `5m`, `1h`,
//! `7d`), shared by every crate that reads one.

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum DurationError {
    #[error("`{0}` is not a duration such as 30s, 5m or 1h")]
    Number(String),
    #[error("`{0}`: unknown unit `{1}` (use ms, s, m, h or d)")]
    Unit(String, String),
}

/// Milliseconds in a duration; a bare number is seconds.
pub fn duration_ms(s: &str) -> Result<i64, DurationError> {
    let s = s.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: i64 = n.parse().map_err(|_| DurationError::Number(s.into()))?;
    let mult = match unit.trim() {
        "ms" => 1,
        "s" | "" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        u => return Err(DurationError::Unit(s.into(), u.into())),
    };
    n.checked_mul(mult).ok_or_else(|| DurationError::Number(s.into()))
}

/// A duration as configuration writes it, in the largest whole unit:
/// `1d`, `6h`, `10m`, `45s` (the inverse of [`duration_ms`]).
pub fn duration_text(ms: i64) -> String {
    let s = ms / 1000;
    match s {
        s if s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_ms("250ms").unwrap(), 250);
        assert_eq!(duration_ms("5m").unwrap(), 300_000);
        assert_eq!(duration_ms("7d").unwrap(), 604_800_000);
        assert!(matches!(duration_ms("5 weeks"), Err(DurationError::Unit(..))));
        assert!(matches!(duration_ms("soon"), Err(DurationError::Number(_))));
        assert!(duration_ms("99999999999999999d").is_err());
        for t in ["1d", "6h", "10m", "45s"] {
            assert_eq!(duration_text(duration_ms(t).unwrap()), t);
        }
    }
}
