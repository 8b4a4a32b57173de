//! Severity: Sigma's five levels, defined once for every stage. Rules,
//! analytics, incidents, the response policy, the store, the console and
//! every sink compare and name severities through this type; the JSON form
//! is the lowercase level name (`"high"`), as in a Sigma rule.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// A Sigma level, ordered: `Informational < Low < Medium < High < Critical`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    #[serde(alias = "info")]
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

/// A level name that is none of Sigma's five.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("level `{0}` is not one of informational, low, medium, high, critical")]
pub struct UnknownSeverity(pub String);

impl Severity {
    /// Lowest first.
    pub const ALL: [Severity; 5] =
        [Severity::Informational, Severity::Low, Severity::Medium, Severity::High, Severity::Critical];

    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "informational",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// 0 (informational) to 4 (critical), for stores that sort by number.
    pub fn rank(self) -> u8 {
        self as u8
    }

    /// One step up, at most critical (a service account's deviation is graver).
    pub fn raise(self) -> Severity {
        Severity::ALL[(self.rank() as usize + 1).min(4)]
    }

    /// A rule's `level:`, as Sigma writes it. A rule without one, or with a
    /// value that is not a Sigma level, is treated as medium (the linter
    /// reports the value).
    pub fn of_rule(level: Option<&str>) -> Severity {
        level.and_then(|l| l.parse().ok()).unwrap_or(Severity::Medium)
    }

    /// Syslog severity (RFC 5424): critical 2, high 3, medium 4, low 5,
    /// informational 6.
    pub fn syslog(self) -> u8 {
        6 - self.rank()
    }
}

impl FromStr for Severity {
    type Err = UnknownSeverity;

    /// Case-insensitive; `info` is accepted for informational.
    fn from_str(s: &str) -> Result<Severity, UnknownSeverity> {
        Ok(match s.trim().to_ascii_lowercase().as_str() {
            "informational" | "info" => Severity::Informational,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return Err(UnknownSeverity(s.to_string())),
        })
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_order_and_json_agree() {
        for (i, s) in Severity::ALL.iter().enumerate() {
            assert_eq!(s.rank() as usize, i);
            assert_eq!(s.as_str().parse::<Severity>().unwrap(), *s);
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{}\"", s.as_str()));
            assert_eq!(serde_json::from_str::<Severity>(&format!("\"{s}\"")).unwrap(), *s);
        }
        assert!(Severity::Critical > Severity::High && Severity::Low > Severity::Informational);
        assert_eq!("HIGH".parse::<Severity>().unwrap(), Severity::High);
        assert_eq!("info".parse::<Severity>().unwrap(), Severity::Informational);
        assert!("important".parse::<Severity>().is_err());
        assert_eq!(Severity::of_rule(None), Severity::Medium);
        assert_eq!(Severity::of_rule(Some("important")), Severity::Medium);
        assert_eq!(Severity::of_rule(Some("critical")), Severity::Critical);
        assert_eq!(Severity::High.raise(), Severity::Critical);
        assert_eq!(Severity::Critical.raise(), Severity::Critical);
        assert_eq!(
            Severity::ALL.map(Severity::syslog),
            [6, 5, 4, 3, 2],
            "RFC 5424: critical 2, error 3, warning 4, notice 5, informational 6"
        );
    }
}
