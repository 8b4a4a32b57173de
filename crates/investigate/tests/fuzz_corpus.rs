//! Replays fuzz/corpus/reidentify through the fuzz target's entry point on
//! stable: any input gives matches, never a panic, and every well-formed
//! pseudonym is either matched or reported unmatched.

use std::path::Path;
use vigie_investigate::reidentify::{reidentify, wanted};

#[test]
fn the_reidentify_corpus_never_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/reidentify");
    let key = vigie_analytics::Pseudonymiser::new(b"fuzz");
    let (mut n, mut matched) = (0, 0);
    for e in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&data);
        let (p, s) = text.split_once('\0').unwrap_or((&text, ""));
        let m = reidentify(&key, p, s);
        assert_eq!(m.people.len() + m.unmatched.len(), wanted(p).len());
        matched += m.people.len();
        n += 1;
    }
    assert!(n >= 3 && matched >= 1, "{n} inputs, {matched} people matched");
}
