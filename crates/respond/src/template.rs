//! Payload templates: a JSON value whose strings may name alert fields as
//! `{{path}}`. Substituting inside the parsed JSON (never in the text)
//! means a value can never break the body's syntax, whatever it holds.

use serde_json::Value;

/// Fill `template` from `alert` (the alert as JSON). A string that is
/// exactly one `{{path}}` takes the field's JSON value (an object stays an
/// object); elsewhere the field's text is spliced in. Unknown fields give
/// an empty string (or `null` for a whole-string reference).
pub fn render(template: &Value, alert: &Value) -> Value {
    match template {
        Value::String(s) => render_str(s, alert),
        Value::Array(items) => Value::Array(items.iter().map(|v| render(v, alert)).collect()),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| (k.clone(), render(v, alert))).collect()),
        other => other.clone(),
    }
}

fn lookup<'a>(alert: &'a Value, path: &str) -> Option<&'a Value> {
    let path = path.trim();
    if path == "." {
        return Some(alert);
    }
    // Top-level keys may themselves hold dots (`@timestamp` does not, but a
    // flattened field might): try the whole path first.
    if let Some(v) = alert.get(path) {
        return Some(v);
    }
    path.split('.').try_fold(alert, |v, part| v.get(part))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn render_str(s: &str, alert: &Value) -> Value {
    let trimmed = s.trim();
    if let Some(inner) = trimmed.strip_prefix("{{").and_then(|r| r.strip_suffix("}}"))
        && !inner.contains("{{")
    {
        return lookup(alert, inner).cloned().unwrap_or(Value::Null);
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        match after.find("}}") {
            Some(end) => {
                out.push_str(&lookup(alert, &after[..end]).map(text).unwrap_or_default());
                rest = &after[end + 2..];
            }
            None => {
                out.push_str(&rest[start..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn fields_are_spliced_into_strings_and_whole_values_keep_their_type() {
        let alert = json!({"user": {"name": "adv\"42"}, "alert": {"id": "a1", "count": 3}, "evidence": {"n": 1}});
        let t = json!({"text": "suspend {{user.name}} ({{alert.id}}, {{ alert.count }} times)",
                       "evidence": "{{evidence}}", "count": "{{alert.count}}", "missing": "{{nope}}",
                       "list": ["{{user.name}}", 7], "open": "{{unclosed"});
        let out = render(&t, &alert);
        assert_eq!(out["text"], "suspend adv\"42 (a1, 3 times)");
        assert_eq!(out["evidence"], json!({"n": 1}));
        assert_eq!(out["count"], 3);
        assert_eq!(out["missing"], Value::Null);
        assert_eq!(out["list"], json!(["adv\"42", 7]));
        assert_eq!(out["open"], "{{unclosed");
        // The quote in the account name cannot break the body.
        let body = serde_json::to_string(&out).unwrap();
        assert_eq!(serde_json::from_str::<Value>(&body).unwrap(), out);
    }
}
