//! The entities an alert names: the acting account and the client address.
//! Which Sigma field names carry them is knowledge of log vocabularies
//! (Windows, ECS, web servers, the application schema), so it is written
//! once, here with the mappings, for the detector (a match's account and
//! address) and for correlations (the account or address they group by).

/// Sigma field names that carry the acting account, in order of preference.
pub const USER: &[&str] = &[
    "user.name",
    "User",
    "TargetUserName",
    "SubjectUserName",
    "AccountName",
    "UserName",
    "cs-username",
    "account",
    "user",
];

/// Sigma field names that carry the client address, in order of preference.
pub const SOURCE: &[&str] =
    &["source.ip", "IpAddress", "SourceIp", "SourceAddress", "src_ip", "c-ip", "ClientIP", "client.ip", "source"];

/// The value of the first of `names` that has one.
pub fn first<'a>(names: &[&str], mut value: impl FnMut(&str) -> Option<&'a str>) -> Option<&'a str> {
    names.iter().find_map(|n| value(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preference_follows_the_list() {
        let fields = [("IpAddress", "10.0.0.1"), ("source.ip", "192.0.2.7"), ("User", "alice")];
        let get = |n: &str| fields.iter().find(|(k, _)| *k == n).map(|(_, v)| *v);
        assert_eq!(first(SOURCE, get), Some("192.0.2.7"));
        assert_eq!(first(USER, get), Some("alice"));
        assert_eq!(first(USER, |_| None), None);
    }
}
