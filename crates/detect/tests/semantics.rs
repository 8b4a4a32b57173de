//! Each decision of docs/sigma-semantics.md, pinned by a test of the whole
//! engine (parser, compiler, prefilter, evaluation).

mod common;
use common::{engine_with, fires, fires_on, rule};
use vigie_sigma::Placeholders;

#[test]
fn missing_field_under_not_is_true() {
    let d = "sel:\n  Image|endswith: '\\cmd.exe'\nfilter:\n  User: admin\ncondition: sel and not filter";
    assert!(fires(d, r#"{"Image":"C:\\cmd.exe"}"#), "absent filter field: `not filter` holds");
    assert!(!fires(d, r#"{"Image":"C:\\cmd.exe","User":"ADMIN"}"#));
    assert!(fires(d, r#"{"Image":"C:\\cmd.exe","User":"bob"}"#));
}

#[test]
fn unicode_case_folding_and_cased() {
    let d = "sel:\n  Name: 'ÉVÉNEMENT'\ncondition: sel";
    assert!(fires(d, r#"{"Name":"événement"}"#));
    assert!(fires(d, r#"{"Name":"Événement"}"#));
    let d = "sel:\n  Name|cased: 'Secret'\ncondition: sel";
    assert!(fires(d, r#"{"Name":"Secret"}"#));
    assert!(!fires(d, r#"{"Name":"secret"}"#));
}

#[test]
fn wildcards_and_literal_question_marks() {
    let d = "sel:\n  Url: '*/index.php?id=*'\ncondition: sel";
    assert!(fires(d, r#"{"Url":"http://x/index.php?id=1"}"#));
    assert!(fires(d, r#"{"Url":"http://x/index.phpXid=1"}"#), "? is a wildcard");
    let d = "sel:\n  Name: 'a?c'\ncondition: sel";
    assert!(fires(d, r#"{"Name":"abc"}"#));
    assert!(!fires(d, r#"{"Name":"ac"}"#));
    let d = "sel:\n  Name: 'abc'\ncondition: sel";
    assert!(!fires(d, r#"{"Name":"xabcx"}"#), "no wildcard: the whole value");
}

#[test]
fn escaping_follows_pysigma() {
    let d = "sel:\n  Name: 'a\\*b'\ncondition: sel";
    assert!(fires(d, r#"{"Name":"a*b"}"#));
    assert!(!fires(d, r#"{"Name":"axxb"}"#));
    let d = "sel:\n  Name: 'dir\\\\*'\ncondition: sel";
    assert!(fires(d, r#"{"Name":"dir\\anything"}"#), "\\\\* is a backslash then a wildcard");
    let d = "sel:\n  Path|contains: ':\\Users\\Public\\'\ncondition: sel";
    assert!(fires(d, r#"{"Path":"C:\\Users\\Public\\a.bat"}"#), "trailing backslash stays literal under contains");
}

#[test]
fn regex_is_unanchored_with_flags() {
    let d = "sel:\n  Cmd|re: 'e[a-z]c'\ncondition: sel";
    assert!(fires(d, r#"{"Cmd":"powershell -enc"}"#));
    assert!(!fires(d, r#"{"Cmd":"POWERSHELL -ENC"}"#), "regexes are case-sensitive");
    let d = "sel:\n  Cmd|re|i: 'E[A-Z]C'\ncondition: sel";
    assert!(fires(d, r#"{"Cmd":"powershell -enc"}"#));
    let d = "sel:\n  Cmd|re|s: 'a.b'\ncondition: sel";
    assert!(fires(d, r#"{"Cmd":"a\nb"}"#));
    let d = "sel:\n  Cmd|re|m: '^b$'\ncondition: sel";
    assert!(fires(d, r#"{"Cmd":"a\nb\nc"}"#));
    // PCRE classes: \w, \d, \s and \b are ASCII, as in PCRE without UCP.
    let d = "sel:\n  Name|re: '^\\w+$'\ncondition: sel";
    assert!(fires(d, r#"{"Name":"abc_9"}"#));
    assert!(!fires(d, r#"{"Name":"été"}"#));
    let d = "sel:\n  Name|re: '^[\\w]+$'\ncondition: sel";
    assert!(fires(d, r#"{"Name":"été"}"#), "inside brackets the class is left as written");
}

#[test]
fn windash_only_at_word_starts() {
    let d = "sel:\n  Cmd|contains|windash: ' -enc '\ncondition: sel";
    assert!(fires(d, r#"{"Cmd":"powershell /enc x"}"#));
    assert!(fires(d, r#"{"Cmd":"powershell —enc x"}"#));
    let d = "sel:\n  Cmd|contains|windash: 'a-b'\ncondition: sel";
    assert!(!fires(d, r#"{"Cmd":"a/b"}"#), "a dash inside a word is not replaced");
}

#[test]
fn base64_and_utf16() {
    let d = "sel:\n  Cmd|base64offset|contains: '/bin/bash'\ncondition: sel";
    for shift in ["", "x", "xy"] {
        let enc = base64_of(&format!("{shift}/bin/bash -c id"));
        assert!(fires(d, &format!(r#"{{"Cmd":"echo {enc} | base64 -d"}}"#)), "shift {shift:?}");
    }
    let d = "sel:\n  Cmd|base64: 'abc'\ncondition: sel";
    assert!(fires(d, r#"{"Cmd":"YWJj"}"#));
    let d = "sel:\n  Cmd|wide|base64offset|contains: 'ping'\ncondition: sel";
    assert!(fires(d, r#"{"Cmd":"powershell -enc cABpAG4AZwA="}"#));
    let d = "sel:\n  Cmd|utf16be|base64: 'A'\ncondition: sel";
    assert!(fires(d, r#"{"Cmd":"AEE="}"#));
    let d = "sel:\n  Cmd|utf16|base64: 'A'\ncondition: sel";
    assert!(fires(d, r#"{"Cmd":"//5BAA=="}"#));
}

fn base64_of(s: &str) -> String {
    const T: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let b = s.as_bytes();
    let mut out = String::new();
    for c in b.chunks(3) {
        let n = (c[0] as u32) << 16 | (*c.get(1).unwrap_or(&0) as u32) << 8 | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..4 {
            if i <= c.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[test]
fn null_empty_absent_and_exists() {
    let null = "sel:\n  A: null\ncondition: sel";
    assert!(fires(null, r#"{"B":1}"#), "null = absent");
    assert!(fires(null, r#"{"A":null}"#), "null = null");
    assert!(!fires(null, r#"{"A":""}"#));
    let empty = "sel:\n  A: ''\ncondition: sel";
    assert!(fires(empty, r#"{"A":""}"#));
    assert!(!fires(empty, r#"{"B":1}"#), "'' needs the field present");
    let ex = "sel:\n  A|exists: true\ncondition: sel";
    assert!(fires(ex, r#"{"A":"x"}"#));
    assert!(fires(ex, r#"{"A":{"b":1}}"#), "an object is present");
    assert!(!fires(ex, r#"{"A":null}"#));
    let nex = "sel:\n  A|exists: false\ncondition: sel";
    assert!(fires(nex, r#"{"B":1}"#));
    assert!(!fires(nex, r#"{"A":0}"#));
}

#[test]
fn numbers_compare_leniently() {
    let d = "sel:\n  EventID: 4624\ncondition: sel";
    assert!(fires(d, r#"{"EventID":4624}"#));
    assert!(fires(d, r#"{"EventID":"4624"}"#));
    let d = "sel:\n  Code: 00000429\ncondition: sel";
    assert!(fires(d, r#"{"Code":"00000429"}"#), "the rule's text is kept, never read as 429");
    let d = "sel:\n  Size|gte: 1000\ncondition: sel";
    assert!(fires(d, r#"{"Size":1000}"#));
    assert!(fires(d, r#"{"Size":"2000"}"#));
    assert!(!fires(d, r#"{"Size":999.5}"#));
    let d = "sel:\n  Size|lt: 10\ncondition: sel";
    assert!(!fires(d, r#"{"Size":"ten"}"#));
    let d = "sel:\n  Size|neq: 5\ncondition: sel";
    assert!(fires(d, r#"{"Size":6}"#));
    assert!(!fires(d, r#"{"Size":5}"#));
    assert!(!fires(d, r#"{"Other":1}"#), "neq needs the field");
}

#[test]
fn time_parts() {
    let d = "sel:\n  '@timestamp|hour|gte': 20\ncondition: sel";
    assert!(fires(d, r#"{"@timestamp":"2024-02-10T22:15:00Z"}"#));
    assert!(!fires(d, r#"{"@timestamp":"2024-02-10T08:15:00Z"}"#));
    let d = "sel:\n  t|day: 10\n  t|month: 2\n  t|year: 2024\n  t|minute: 15\n  t|week: 6\ncondition: sel";
    assert!(fires(d, r#"{"t":"2024-02-10T22:15:00Z"}"#));
}

#[test]
fn cidr_v4_and_v6() {
    let d = "sel:\n  ip|cidr:\n    - 10.0.0.0/8\n    - 'fd00::/8'\ncondition: sel";
    assert!(fires(d, r#"{"ip":"10.1.2.3"}"#));
    assert!(fires(d, r#"{"ip":"fd12::1"}"#));
    assert!(!fires(d, r#"{"ip":"192.168.1.1"}"#));
    assert!(!fires(d, r#"{"ip":"not an ip"}"#));
}

#[test]
fn fieldref() {
    let d = "sel:\n  a|fieldref: b\ncondition: sel";
    assert!(fires(d, r#"{"a":"X","b":"x"}"#));
    assert!(!fires(d, r#"{"a":"x","b":"y"}"#));
    assert!(!fires(d, r#"{"a":"x"}"#));
    let d = "sel:\n  a|fieldref|startswith: b\ncondition: sel";
    assert!(fires(d, r#"{"a":"abc","b":"ab"}"#));
}

#[test]
fn all_and_lists() {
    let d = "sel:\n  Cmd|contains|all: [a, b]\ncondition: sel";
    assert!(fires(d, r#"{"Cmd":"xaxbx"}"#));
    assert!(!fires(d, r#"{"Cmd":"xax"}"#));
    let d = "sel:\n  Cmd|contains: [a, b]\ncondition: sel";
    assert!(fires(d, r#"{"Cmd":"xbx"}"#));
    let d = "sel:\n  - A: 1\n  - B: 2\ncondition: sel";
    assert!(fires(d, r#"{"B":2}"#), "a list of maps is OR");
    let d = "sel:\n  tags: x\ncondition: sel";
    assert!(fires(d, r#"{"tags":["a","x"]}"#), "an array matches if any element does");
}

#[test]
fn keywords_search_every_string_leaf() {
    let d = "keywords:\n  - mimikatz\n  - 'sekurlsa::'\ncondition: keywords";
    assert!(fires(d, r#"{"a":{"b":"run MIMIKATZ.exe"}}"#));
    assert!(fires(d, r#"{"x":["y","sekurlsa::logonpasswords"]}"#));
    assert!(!fires(d, r#"{"a":"nothing"}"#));
    let d = "keywords:\n  '|all':\n    - foo\n    - bar\ncondition: keywords";
    assert!(fires(d, r#"{"a":"foo","b":"bar"}"#));
    assert!(!fires(d, r#"{"a":"foo"}"#));
}

#[test]
fn conditions_precedence_patterns_and_underscore() {
    let d = "a:\n  x: 1\nb:\n  y: 1\nc:\n  z: 1\ncondition: a or b and c";
    assert!(fires(d, r#"{"x":1}"#));
    assert!(!fires(d, r#"{"y":1}"#));
    let d = "sel_a:\n  x: 1\nsel_b:\n  y: 1\n_hidden:\n  w: 1\ncondition: all of them";
    assert!(fires(d, r#"{"x":1,"y":1}"#), "`them` skips _hidden");
    let d = "sel_a:\n  x: 1\nsel_b:\n  y: 1\ncondition: 1 of sel_* and not all of sel_*";
    assert!(fires(d, r#"{"x":1}"#));
    assert!(!fires(d, r#"{"x":1,"y":1}"#));
    let set = vigie_sigma::RuleSet::load(
        &[vigie_sigma::Source { path: "p.yml".into(), text: rule("sel:\n  x: 1\ncondition: 1 of nope*") }],
        &Placeholders::default(),
    );
    assert!(set.rejected[0].reason.contains("matches no search"), "{:?}", set.rejected);
}

#[test]
fn placeholders_expand_or_reject() {
    let mut ph = Placeholders::default();
    ph.insert("Admins", vec!["alice".into(), "bob*".into()]);
    let e = engine_with(&rule("sel:\n  User|expand: '%Admins%'\ncondition: sel"), &ph);
    assert!(fires_on(&e, r#"{"User":"bobby"}"#));
    assert!(!fires_on(&e, r#"{"User":"carol"}"#));
    let set = vigie_sigma::RuleSet::load(
        &[vigie_sigma::Source { path: "p.yml".into(), text: rule("sel:\n  User|expand: '%Nope%'\ncondition: sel") }],
        &ph,
    );
    assert_eq!(set.rejected.len(), 1);
    assert!(set.rejected[0].reason.contains("%Nope%"));
}

#[test]
fn meta_filters_are_anded() {
    let text = format!(
        "{}---\ntitle: f\nlogsource: {{product: test}}\nfilter:\n  rules: [r1]\n  sel:\n    User: admin\n  condition: not sel\n",
        rule("sel:\n  Image: x\ncondition: sel")
    );
    let e = engine_with(&text, &Placeholders::default());
    assert!(fires_on(&e, r#"{"Image":"x","User":"bob"}"#));
    assert!(!fires_on(&e, r#"{"Image":"x","User":"admin"}"#));
}

#[test]
fn detections_carry_the_rule_author() {
    let e = engine_with(&rule("sel:\n  a: 1\ncondition: sel"), &Placeholders::default());
    assert_eq!(e.set.rules[0].meta.author.as_deref(), Some("tester"));
}

#[test]
fn logsource_routing_keeps_rules_apart() {
    use vigie_mapping::builtins;
    let text = "title: sysmon\nid: s\nlogsource: {product: windows, category: process_creation}\ndetection:\n  sel:\n    Image|endswith: '\\x.exe'\n  condition: sel\n";
    let set = vigie_sigma::RuleSet::load(
        &[vigie_sigma::Source { path: "r.yml".into(), text: text.into() }],
        &Placeholders::default(),
    );
    let e = vigie_detect::Engine::new(set, builtins(), false);
    let pc = r#"{"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Image":"C:\\x.exe"}}}"#;
    let file = r#"{"Event":{"System":{"EventID":11,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Image":"C:\\x.exe"}}}"#;
    assert!(fires_on(&e, pc));
    assert!(!fires_on(&e, file), "a file_event never meets a process_creation rule");
}
