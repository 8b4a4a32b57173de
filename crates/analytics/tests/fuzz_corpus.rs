//! Replays fuzz/corpus/caseload through the fuzz target's entry point on
//! stable: every input gives a caseload or a named error, never a panic.

use std::path::Path;
use vigie_analytics::caseload::Caseload;

#[test]
fn the_caseload_corpus_never_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/caseload");
    let mut n = 0;
    let mut ok = 0;
    for e in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(e.unwrap().path()).unwrap();
        let text = String::from_utf8_lossy(&data);
        let (a, s) = text.split_once('\0').unwrap_or((&text, ""));
        match Caseload::parse(Some((a, "accounts")), Some((s, "subjects"))) {
            Ok(c) => {
                ok += 1;
                let _ = c.outside("adv1", Some("agence-1"), 1);
            }
            Err(e) => assert!(e.to_string().contains(":"), "{e}"),
        }
        n += 1;
    }
    assert!(n >= 3 && ok >= 1, "{n} inputs, {ok} parsed");
}
