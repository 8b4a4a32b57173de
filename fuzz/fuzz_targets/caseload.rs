#![no_main]
use libfuzzer_sys::fuzz_target;

// The caseload files (accounts, then a NUL, then subjects): any bytes give a
// caseload or an error naming the line, never a panic.
fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let (a, s) = text.split_once('\0').unwrap_or((&text, ""));
    if let Ok(c) = vigie_analytics::caseload::Caseload::parse(Some((a, "accounts")), Some((s, "subjects"))) {
        let _ = c.outside("adv1", Some("agence-1"), 1);
    }
});
