//! MITRE ATT&CK from a Sigma rule's tags (`attack.execution`,
//! `attack.t1059.001`): the techniques, sub-techniques and tactics, with
//! their ids and pages, for the output formats that carry them (OCSF's
//! `finding_info.attacks`, ECS's `threat`).

use serde::Serialize;

/// One MITRE ATT&CK technique (and sub-technique) or tactic.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attack {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tactic: Option<Mitre>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub technique: Option<Mitre>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sub_technique: Option<Mitre>,
}

/// A tactic, technique or sub-technique: its ATT&CK id, name where the tag
/// gives one, and page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Mitre {
    pub uid: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<&'static str>,
    pub src_url: String,
}

/// ATT&CK's enterprise tactics as Sigma tags name them, with their ids.
///
/// ATT&CK v19 (April 28, 2026) split Defense Evasion in two: Stealth kept
/// its id, TA0005, and Defense Impairment is the new TA0112 (MITRE's release
/// notes, "Updates - April 2026", `modules/resources/static_pages/updates-april-2026.md`
/// in mitre-attack/attack-website). Rules written before the split keep
/// `attack.defense-evasion`, which stays TA0005 under its old name.
const TACTICS: [(&str, &str, &str); 16] = [
    ("reconnaissance", "TA0043", "Reconnaissance"),
    ("resource-development", "TA0042", "Resource Development"),
    ("initial-access", "TA0001", "Initial Access"),
    ("execution", "TA0002", "Execution"),
    ("persistence", "TA0003", "Persistence"),
    ("privilege-escalation", "TA0004", "Privilege Escalation"),
    ("defense-evasion", "TA0005", "Defense Evasion"),
    ("stealth", "TA0005", "Stealth"),
    ("defense-impairment", "TA0112", "Defense Impairment"),
    ("credential-access", "TA0006", "Credential Access"),
    ("discovery", "TA0007", "Discovery"),
    ("lateral-movement", "TA0008", "Lateral Movement"),
    ("collection", "TA0009", "Collection"),
    ("exfiltration", "TA0010", "Exfiltration"),
    ("command-and-control", "TA0011", "Command and Control"),
    ("impact", "TA0040", "Impact"),
];

/// A technique id from a tag's name: `t1059` or `t1059.001`, digits only.
fn technique(name: &str) -> Option<(String, Option<String>)> {
    let rest = name.strip_prefix('t')?;
    let (main, sub) = match rest.split_once('.') {
        Some((m, s)) => (m, Some(s)),
        None => (rest, None),
    };
    let digits = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(main, 4) || sub.is_some_and(|s| !digits(s, 3)) {
        return None;
    }
    Some((format!("T{main}"), sub.map(|s| format!("T{main}.{s}"))))
}

/// The ATT&CK techniques and tactics a rule's tags name. Each technique is
/// one entry; the tactic goes with it when the rule names exactly one
/// (a technique can serve several tactics, and the tags do not pair them);
/// otherwise each tactic is an entry of its own.
pub fn attacks(tags: &[String]) -> Vec<Attack> {
    let mut tactics = Vec::new();
    let mut techniques = Vec::new();
    for tag in tags {
        let Some(name) = tag.strip_prefix("attack.") else { continue };
        // Older rules write `credential_access` for `credential-access`.
        let name = name.to_ascii_lowercase().replace('_', "-");
        if let Some((_, uid, title)) = TACTICS.iter().find(|(n, _, _)| *n == name) {
            let t = Mitre {
                uid: (*uid).to_string(),
                name: Some(title),
                src_url: format!("https://attack.mitre.org/tactics/{uid}/"),
            };
            if !tactics.contains(&t) {
                tactics.push(t);
            }
        } else if let Some((main, sub)) = technique(&name) {
            let page = |id: &str| format!("https://attack.mitre.org/techniques/{}/", id.replace('.', "/"));
            let entry = (
                Mitre { src_url: page(&main), uid: main, name: None },
                sub.map(|s| Mitre { src_url: page(&s), uid: s, name: None }),
            );
            if !techniques.contains(&entry) {
                techniques.push(entry);
            }
        }
    }
    let paired = tactics.len() == 1 && !techniques.is_empty();
    let mut out: Vec<Attack> = techniques
        .into_iter()
        .map(|(technique, sub_technique)| Attack {
            tactic: if paired { tactics.first().cloned() } else { None },
            technique: Some(technique),
            sub_technique,
        })
        .collect();
    if !paired {
        out.extend(tactics.into_iter().map(|t| Attack { tactic: Some(t), technique: None, sub_technique: None }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_pair_a_technique_with_a_tactic_only_when_there_is_one() {
        let t = |v: &[&str]| attacks(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let two = t(&["attack.persistence", "attack.privilege-escalation", "attack.t1543.003"]);
        assert_eq!(two.len(), 3);
        assert!(two[0].tactic.is_none() && two[0].sub_technique.as_ref().unwrap().uid == "T1543.003");
        assert_eq!(two[1].tactic.as_ref().unwrap().uid, "TA0003");
        assert_eq!(two[2].tactic.as_ref().unwrap().uid, "TA0004");
        // Not techniques: groups, software, malformed ids; repeats once.
        assert!(t(&["attack.g0016", "attack.s0002", "attack.t10", "attack.t1059.1", "attack.tx059"]).is_empty());
        assert_eq!(t(&["attack.T1059", "attack.t1059"]).len(), 1);
    }

    /// The two tactics ATT&CK v19 split Defense Evasion into, with their ids
    /// and pages; the old name keeps TA0005.
    #[test]
    fn stealth_and_defense_impairment() {
        let t = |v: &[&str]| attacks(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        let one = |tag: &str| t(&[tag])[0].tactic.clone().unwrap();
        let s = one("attack.stealth");
        assert_eq!((s.uid.as_str(), s.name), ("TA0005", Some("Stealth")));
        assert_eq!(s.src_url, "https://attack.mitre.org/tactics/TA0005/");
        let d = one("attack.defense-impairment");
        assert_eq!((d.uid.as_str(), d.name), ("TA0112", Some("Defense Impairment")));
        assert_eq!(d.src_url, "https://attack.mitre.org/tactics/TA0112/");
        assert_eq!(one("attack.defense_impairment").uid, "TA0112");
        assert_eq!(one("attack.defense-evasion").name, Some("Defense Evasion"));
        let paired = t(&["attack.defense-impairment", "attack.t1685.005"]);
        assert_eq!(paired.len(), 1);
        assert_eq!(paired[0].tactic.as_ref().unwrap().uid, "TA0112");
    }
}
