#![no_main]
use libfuzzer_sys::fuzz_target;

// The re-identification inputs (an exported pseudonym list, then a NUL,
// then the organisation's subject list): any bytes give matches, never a
// panic, and every well-formed pseudonym is either matched or reported.
fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (p, s) = text.split_once('\0').unwrap_or((&text, ""));
    let key = vigie_analytics::Pseudonymiser::new(b"fuzz");
    let m = vigie_investigate::reidentify::reidentify(&key, p, s);
    assert_eq!(m.people.len() + m.unmatched.len(), vigie_investigate::reidentify::wanted(p).len());
});
