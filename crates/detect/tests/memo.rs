//! The scan memo carries results from one event to the next: a scratch kept
//! for a whole stream must answer exactly as a fresh one would for each event.

mod common;

use common::engine_with;
use vigie_detect::Hit;
use vigie_sigma::Placeholders;

const RULES: &str = "\
title: contains
id: r1
author: tester
logsource: {product: test}
detection:
  sel:
    Image|endswith: ['\\evil.exe', '\\bad.exe']
    CommandLine|contains: ['-enc', 'payload']
  condition: sel
---
title: keywords
id: r2
author: tester
logsource: {product: test}
detection:
  keywords: ['mimikatz', 'sekurlsa::']
  condition: keywords
---
title: exact or regex
id: r3
author: tester
logsource: {product: test}
detection:
  a:
    User: 'CORP\\admin'
  b:
    CommandLine|re: 'x{3}[0-9]+'
  condition: a or b
---
title: another regex on the same field
id: r4
author: tester
logsource: {product: test}
detection:
  sel:
    CommandLine|re: 'payload [0-9]+ now'
  condition: sel
---
title: two fields and no literal, always evaluated
id: r5
author: tester
logsource: {product: test}
detection:
  exe:
    Image|endswith: '.exe'
  svc:
    User: 'svc'
  condition: not exe and not svc
---
title: a field compared with another
id: r6
author: tester
logsource: {product: test}
detection:
  sel:
    User|fieldref: Owner
  condition: sel
---
title: numbers, nulls and absent fields
id: r7
author: tester
logsource: {product: test}
detection:
  img:
    Image|endswith: '.exe'
  big:
    Count|gt: 5
  empty:
    Owner: ''
  condition: img and (big or empty)
---
title: present or absent
id: r8
author: tester
logsource: {product: test}
detection:
  img:
    Image|endswith: '.exe'
  has:
    Owner|exists: true
  none:
    Owner: null
  condition: img and (has or none)
";

/// Mid-sized vocabularies, so that values repeat (memo hits), collide in
/// the memo's slots, and change between events.
fn event(n: u64) -> String {
    // splitmix64: each field varies on its own from event to event.
    let mix = |k: u64| {
        let mut x = n.wrapping_mul(31).wrapping_add(k).wrapping_add(0x9e37_79b9_7f4a_7c15);
        x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        x ^ (x >> 31)
    };
    let image = ["C:\\Windows\\evil.exe", "C:\\Windows\\cmd.exe", "C:\\x\\BAD.EXE", "C:\\Windows\\notepad.exe"]
        [(mix(1) % 4) as usize];
    let v = mix(2) % 300;
    // Short and long values: the memo only keeps texts of 12 bytes or more.
    let cmd = match mix(3) % 7 {
        0 => format!("run -ENC {v}"),
        1 => format!("run payload {v} now"),
        2 => format!("xxx{v}"),
        3 => format!("MIMIKATZ {v}"),
        4 => format!("a longer xxx{v} line"),
        5 => format!("payload {v} xxx{v} both"),
        _ => format!("harmless {v}"),
    };
    let user = ["CORP\\admin", "corp\\ADMIN", "CORP\\user", "svc"][(mix(4) % 4) as usize];
    // Many strings per event from a pool larger than the memo: they keep
    // evicting the vocabulary's entries, so that look-ups often land on a
    // slot that holds another text, yet repeat often enough for the memo to
    // stay in use.
    let unique: Vec<String> = (0..64).map(|k| format!("pool value {}", mix(100 + k) % 2500)).collect();
    let mut ev = serde_json::json!({"Image": image, "CommandLine": cmd, "User": user, "Other": unique, "Id": n});
    // Fields that a rule's verdict depends on together with others: the
    // same Image or User must not bring back a verdict given for another
    // Owner or Count (present or not, a number or a string).
    let owner = match mix(5) % 6 {
        0 => serde_json::json!(user),
        1 => serde_json::json!("CORP\\admin"),
        2 => serde_json::json!(7),
        3 => serde_json::Value::Null,
        4 => serde_json::json!(""),
        _ => serde_json::json!([]),
    };
    if mix(6) % 6 != 0 {
        ev["Owner"] = owner;
    }
    match mix(7) % 4 {
        0 => ev["Count"] = serde_json::json!(9),
        1 => ev["Count"] = serde_json::json!("9"),
        2 => ev["Count"] = serde_json::json!(3),
        _ => {}
    }
    ev.to_string()
}

fn run(e: &vigie_detect::Engine, s: &mut vigie_detect::Scratch, ev: &str) -> Vec<Hit> {
    let mut hits = Vec::new();
    e.detect_json(ev.as_bytes(), s, &mut hits).expect("valid JSON");
    hits.sort_by_key(|h| h.rule);
    hits
}

#[test]
fn a_long_lived_scratch_answers_as_a_fresh_one() {
    let e = engine_with(RULES, &Placeholders::default());
    let mut kept = e.scratch();
    let mut fired = 0;
    for n in 0..6_000u64 {
        let ev = event(n);
        let fresh = run(&e, &mut e.scratch(), &ev);
        assert_eq!(run(&e, &mut kept, &ev), fresh, "event {n}: {ev}");
        fired += fresh.len();
    }
    assert!(fired > 3000, "the events must exercise the rules ({fired} hits)");
}

#[test]
fn a_scratch_from_another_engine_is_not_trusted() {
    let foo = engine_with(&common::rule("sel:\n  CommandLine|contains: foo\ncondition: sel"), &Placeholders::default());
    let bar = engine_with(&common::rule("sel:\n  CommandLine|contains: bar\ncondition: sel"), &Placeholders::default());
    let mut s = foo.scratch();
    let with_foo = r#"{"CommandLine": "a foo b"}"#;
    let with_bar = r#"{"CommandLine": "a bar b"}"#;
    assert_eq!(run(&foo, &mut s, with_foo).len(), 1);
    assert_eq!(run(&foo, &mut s, with_bar).len(), 0);
    // The same automaton number means another literal set in `bar`.
    assert_eq!(run(&bar, &mut s, with_foo).len(), 0);
    assert_eq!(run(&bar, &mut s, with_bar).len(), 1);
    assert_eq!(run(&foo, &mut s, with_foo).len(), 1);
}
