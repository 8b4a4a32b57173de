//! The compiled engine (prefilter, automata, specialised matchers) must agree
//! with a deliberately naive evaluator written straight from the Sigma
//! specification, on generated rules and events.

mod common;
use proptest::prelude::*;
use serde_json::Value as J;
use vigie_sigma::Placeholders;
use vigie_sigma::condition::{self, Cond};
use vigie_sigma::modifier::Modifier;
use vigie_sigma::rule::{Document, Search, Value};

// ---------- the naive reference ----------

/// pySigma unescaping, then a regex built by hand: `*` is `.*`, `?` is `.`.
fn naive_glob(pattern: &str, text: &str, cased: bool) -> bool {
    let mut re = String::from("(?s)^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if matches!(chars.peek(), Some('*' | '?' | '\\')) => {
                re.push_str(&regex::escape(&chars.next().unwrap().to_string()));
            }
            '*' => re.push_str(".*"),
            '?' => re.push('.'),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    let (re, text) = if cased { (re, text.to_string()) } else { (re.to_lowercase(), text.to_lowercase()) };
    regex::Regex::new(&re).unwrap().is_match(&text)
}

fn scalar_text(v: &J) -> Option<String> {
    match v {
        J::String(s) => Some(s.clone()),
        J::Number(n) => Some(n.to_string()),
        J::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

fn values_of(ev: &J, field: &str) -> Option<Vec<J>> {
    let v = ev.get(field)?;
    Some(match v {
        J::Array(a) => a.clone(),
        x => vec![x.clone()],
    })
}

fn naive_value(mods: &[Modifier], value: &Value, v: &J) -> bool {
    let has = |m| mods.contains(&m);
    let Value::Str(s) = value else {
        return v.is_null();
    };
    if let Some(op) = [Modifier::Gt, Modifier::Gte, Modifier::Lt, Modifier::Lte].into_iter().find(|m| has(*m)) {
        let rhs: f64 = s.parse().unwrap();
        let lhs = match v {
            J::Number(n) => n.as_f64(),
            J::String(x) => x.trim().parse().ok(),
            _ => None,
        };
        return lhs.is_some_and(|l| match op {
            Modifier::Gt => l > rhs,
            Modifier::Gte => l >= rhs,
            Modifier::Lt => l < rhs,
            _ => l <= rhs,
        });
    }
    let Some(text) = scalar_text(v) else {
        return false;
    };
    if has(Modifier::Re) {
        return regex::Regex::new(s).unwrap().is_match(&text);
    }
    let pat = if has(Modifier::Contains) {
        format!("*{s}*")
    } else if has(Modifier::StartsWith) {
        format!("{s}*")
    } else if has(Modifier::EndsWith) {
        format!("*{s}")
    } else {
        s.clone()
    };
    // A value ending in a lone backslash keeps it literal even when a star
    // follows in our anchoring: escape it so the hand-built pattern agrees.
    let pat = if (has(Modifier::Contains) || has(Modifier::StartsWith)) && ends_with_lone_backslash(s) {
        format!("{}\\\\*", &pat[..pat.len() - 2])
    } else {
        pat
    };
    naive_glob(&pat, &text, has(Modifier::Cased))
}

fn ends_with_lone_backslash(s: &str) -> bool {
    let n = s.chars().rev().take_while(|&c| c == '\\').count();
    n % 2 == 1
}

fn naive_item(item: &vigie_sigma::rule::Item, ev: &J) -> bool {
    let field = item.field.as_deref().unwrap();
    let vals = values_of(ev, field);
    if item.modifiers.contains(&Modifier::Exists) {
        let want = matches!(&item.values[0], Value::Str(s) if s == "true");
        let present = vals.is_some_and(|v| v.iter().any(|x| !x.is_null()));
        return present == want;
    }
    let one = |value: &Value| -> bool {
        match (&vals, value) {
            (None, Value::Null) => true,
            (None, _) => false,
            (Some(vs), Value::Null) => vs.iter().any(J::is_null),
            (Some(vs), _) => {
                vs.iter().any(|v| !v.is_null() && !v.is_object() && naive_value(&item.modifiers, value, v))
            }
        }
    };
    if item.modifiers.contains(&Modifier::All) { item.values.iter().all(one) } else { item.values.iter().any(one) }
}

fn naive_search(s: &Search, ev: &J) -> bool {
    match s {
        Search::AllOf(items) => items.iter().all(|i| naive_item(i, ev)),
        Search::AnyOf(maps) => maps.iter().any(|m| m.iter().all(|i| naive_item(i, ev))),
        Search::Keywords(_) => unreachable!("not generated"),
    }
}

fn naive_cond(c: &Cond, searches: &[(String, Search)], ev: &J) -> bool {
    match c {
        Cond::Ident(n) => naive_search(&searches.iter().find(|(k, _)| k == n).unwrap().1, ev),
        Cond::Not(x) => !naive_cond(x, searches, ev),
        Cond::And(v) => v.iter().all(|x| naive_cond(x, searches, ev)),
        Cond::Or(v) => v.iter().any(|x| naive_cond(x, searches, ev)),
        Cond::Of { all, pattern } => {
            let mut picked = searches.iter().filter(|(n, _)| condition::pattern_matches(pattern.as_deref(), n));
            if *all { picked.all(|(_, s)| naive_search(s, ev)) } else { picked.any(|(_, s)| naive_search(s, ev)) }
        }
    }
}

fn naive(rule_yaml: &str, ev: &J) -> bool {
    let doc = &vigie_sigma::yaml::parse_documents(rule_yaml).unwrap()[0];
    let Document::Rule(r) = vigie_sigma::parse::document(doc).unwrap() else { panic!() };
    let (cond, _) = condition::parse(&r.detection.conditions[0]).unwrap();
    naive_cond(&cond, &r.detection.searches, ev)
}

// ---------- generators ----------

const FIELDS: [&str; 4] = ["a", "b", "c", "d"];

fn atom() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(vec!["x", "Y", "é", "É", "\\", "*", "?", "\\*", "-", "1", "ab"]), 0..4)
        .prop_map(|v| v.concat())
}

fn item() -> impl Strategy<Value = String> {
    let field = prop::sample::select(FIELDS.to_vec());
    let kind = 0..9u8;
    (field, kind, prop::collection::vec(atom(), 1..3), 0..20i32).prop_map(|(f, k, vals, n)| {
        let q = |s: &str| format!("'{}'", s.replace('\'', "''"));
        let list = |mods: &str| format!("{f}{mods}: [{}]", vals.iter().map(|v| q(v)).collect::<Vec<_>>().join(", "));
        match k {
            0 => list(""),
            1 => list("|contains"),
            2 => list("|startswith"),
            3 => list("|endswith|cased"),
            4 => list("|contains|all"),
            5 => format!("{f}|gte: {n}"),
            6 => format!("{f}: null"),
            7 => format!(
                "{f}|re: '{}'",
                ["(?i)xab", "ab+c?", "^x", "é.", "(ab|xy)1", "Y{2}", "(?i)éé|abab", "1$"]
                    [n.unsigned_abs() as usize % 8]
            ),
            _ => format!("{f}|exists: {}", n % 2 == 0),
        }
    })
}

fn search() -> impl Strategy<Value = String> {
    prop::collection::vec(item(), 1..3).prop_map(|items| {
        // One item per field: YAML keys must be unique.
        let mut seen = std::collections::HashSet::new();
        let items: Vec<String> =
            items.into_iter().filter(|i| seen.insert(i.split(['|', ':']).next().unwrap().to_string())).collect();
        items.iter().map(|i| format!("    {i}\n")).collect()
    })
}

fn cond_expr(n: usize) -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        (0..n).prop_map(|i| format!("s{i}")),
        Just("1 of s*".to_string()),
        Just("all of them".to_string()),
    ];
    leaf.prop_recursive(3, 8, 2, |inner| {
        prop_oneof![
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} and {b})")),
            (inner.clone(), inner.clone()).prop_map(|(a, b)| format!("({a} or {b})")),
            inner.prop_map(|a| format!("not {a}")),
        ]
    })
}

fn rule_text() -> impl Strategy<Value = String> {
    (1..4usize).prop_flat_map(|n| (prop::collection::vec(search(), n), cond_expr(n))).prop_map(|(searches, cond)| {
        let mut d = String::new();
        for (i, s) in searches.iter().enumerate() {
            d.push_str(&format!("  s{i}:\n{s}"));
        }
        format!("title: t\nid: r\nlogsource: {{product: test}}\ndetection:\n{d}  condition: {cond}\n")
    })
}

fn json_value() -> impl Strategy<Value = J> {
    prop_oneof![
        atom().prop_map(|s| J::String(s.replace('*', "s").replace('?', "q"))),
        atom().prop_map(J::String),
        (-5i64..25).prop_map(J::from),
        Just(J::Null),
        prop::collection::vec(atom().prop_map(J::String), 0..3).prop_map(J::Array),
    ]
}

fn event() -> impl Strategy<Value = J> {
    prop::collection::vec(prop::option::of(json_value()), 4).prop_map(|vals| {
        let mut m = serde_json::Map::new();
        for (f, v) in FIELDS.iter().zip(vals) {
            if let Some(v) = v {
                m.insert(f.to_string(), v);
            }
        }
        J::Object(m)
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn compiled_engine_agrees_with_naive_reference(rule in rule_text(), events in prop::collection::vec(event(), 1..6)) {
        let engine = common::engine_with(&rule, &Placeholders::default());
        for ev in &events {
            let expected = naive(&rule, ev);
            let got = common::fires_on(&engine, &ev.to_string());
            prop_assert_eq!(got, expected, "rule:\n{}\nevent: {}", rule, ev);
        }
    }
}

#[test]
fn naive_reference_self_check() {
    assert!(naive_glob("a\\*b", "a*b", false));
    assert!(!naive_glob("a\\*b", "axb", false));
    assert!(naive_glob("A?c", "abC", false));
}
