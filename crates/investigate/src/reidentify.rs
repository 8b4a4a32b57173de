//! Re-identification, for individual notification (GDPR Art. 34): the
//! organisation's own subject list, pseudonymised with its key, joined
//! with the exported pseudonyms. It runs where the key is; vigie's store
//! never holds the ids.

use std::collections::{BTreeMap, BTreeSet};
use vigie_analytics::Pseudonymiser;

/// What matched: (subject id, the line of the organisation's list), and
/// the pseudonyms that matched nobody in it.
#[derive(Debug, Default, PartialEq)]
pub struct Matched {
    pub people: Vec<(String, String)>,
    pub unmatched: Vec<String>,
}

/// The well-formed pseudonyms (64 hex digits, first column) of an export;
/// the header and anything else are skipped.
pub fn wanted(pseudonyms_csv: &str) -> BTreeSet<&str> {
    pseudonyms_csv
        .lines()
        .filter_map(|l| l.split(',').next())
        .map(str::trim)
        .filter(|p| (p.len() == 64 || p.len() == TRAIL_PSEUDONYM) && p.bytes().all(|b| b.is_ascii_hexdigit()))
        .collect()
}

/// Hex digits of a pseudonym as the embedded store's trail keeps it (its
/// first 128 bits; see `vigie_store::segments`); alerts carry all 64.
const TRAIL_PSEUDONYM: usize = 2 * 16;

/// `pseudonyms_csv` is the impact export (`subject_pseudonym,...`);
/// `subjects_csv` is the organisation's list, whose first column is the
/// subject id (the rest, such as name and address, is carried through).
pub fn reidentify(key: &Pseudonymiser, pseudonyms_csv: &str, subjects_csv: &str) -> Matched {
    let wanted = wanted(pseudonyms_csv);
    let mut found: BTreeMap<&str, (String, String)> = BTreeMap::new();
    for line in subjects_csv.lines() {
        let Some(id) = line.split(',').next().map(str::trim) else { continue };
        if id.is_empty() {
            continue;
        }
        let p = key.pseudonym(id);
        if let Some(w) = wanted.get(p.as_str()).or_else(|| wanted.get(&p[..TRAIL_PSEUDONYM])) {
            found.entry(w).or_insert_with(|| (id.to_string(), line.to_string()));
        }
    }
    Matched {
        unmatched: wanted.iter().filter(|w| !found.contains_key(*w)).map(|w| w.to_string()).collect(),
        people: found.into_values().collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_holder_links_pseudonyms_back_to_people() {
        let key = Pseudonymiser::new(b"org");
        let export =
            format!("subject_pseudonym,categories\n{},nir\n{},nir\n", key.pseudonym("17"), key.pseudonym("99"));
        let list = "subject_id,name\n17,Alice Martin\n18,Bob Durand\n";
        let m = reidentify(&key, &export, list);
        assert_eq!(m.people, [("17".to_string(), "17,Alice Martin".to_string())]);
        assert_eq!(m.unmatched, [key.pseudonym("99")]);
        // With another key nothing links.
        assert!(reidentify(&Pseudonymiser::new(b"guess"), &export, list).people.is_empty());
        // The trail's shorter pseudonyms (128 bits) resolve too.
        let short = format!("subject_pseudonym\n{}\n", &key.pseudonym("18")[..32]);
        assert_eq!(reidentify(&key, &short, list).people, [("18".to_string(), "18,Bob Durand".to_string())]);
    }
}
