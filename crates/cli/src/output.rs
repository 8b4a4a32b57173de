//! How detections are written: one JSON object per line, or a table.

use serde::Serialize;
use std::collections::BTreeMap;
use vigie_sigma::Meta;

/// One detection, as written with `--jsonl`. DRL 1.1 requires `rule.author`.
#[derive(Serialize)]
pub struct Detection<'a> {
    #[serde(rename = "@timestamp")]
    pub timestamp: Option<String>,
    pub rule: RuleRef<'a>,
    pub log: Log,
    /// Sigma field name -> the event value that satisfied the rule.
    pub matched: BTreeMap<String, String>,
    /// The event, serialised once however many rules it fired.
    pub event: &'a serde_json::value::RawValue,
}

#[derive(Serialize)]
pub struct RuleRef<'a> {
    pub id: Option<&'a str>,
    pub name: &'a str,
    pub level: Option<&'a str>,
    pub author: Option<&'a str>,
    pub tags: &'a [String],
    pub path: &'a str,
}

#[derive(Serialize)]
pub struct Log {
    pub file: File,
    /// Line (JSON), element (JSON array) or record id (EVTX) in the file.
    pub offset: u64,
}

#[derive(Serialize)]
pub struct File {
    pub path: String,
}

impl<'a> RuleRef<'a> {
    pub fn new(meta: &'a Meta, path: &'a str) -> Self {
        RuleRef {
            id: meta.id.as_deref(),
            name: &meta.title,
            level: meta.level.as_deref(),
            author: meta.author.as_deref(),
            tags: &meta.tags,
            path,
        }
    }
}

/// A detection kept for the table.
pub struct Row {
    pub timestamp: String,
    pub level: vigie_alert::Severity,
    pub rule: String,
    pub author: String,
    pub location: String,
    pub matched: String,
}

pub fn table(rows: &[Row]) -> String {
    use comfy_table::{ContentArrangement, Table, presets::UTF8_FULL_CONDENSED};
    let mut t = Table::new();
    t.load_preset(UTF8_FULL_CONDENSED).set_content_arrangement(ContentArrangement::Dynamic).set_header(vec![
        "time",
        "level",
        "rule (author)",
        "where",
        "matched",
    ]);
    for r in rows {
        t.add_row(vec![
            r.timestamp.clone(),
            r.level.to_string(),
            format!("{}\n({})", r.rule, r.author),
            r.location.clone(),
            r.matched.clone(),
        ]);
    }
    t.to_string()
}
