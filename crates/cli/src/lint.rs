//! `vigie rules lint`: the Sigma linter's outputs (text, JSON, JUnit XML) and `--fix`.

use anyhow::{Context, Result};
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use vigie_detect::loader;
use vigie_sigma::Source;
use vigie_sigma::lint::{self, Config, Finding, Report, Severity};

/// What `vigie rules lint` was asked to do.
pub struct Args<'a> {
    pub paths: &'a [PathBuf],
    pub config: Option<&'a Path>,
    pub json: bool,
    pub junit: Option<&'a Path>,
    pub fix: bool,
}

#[derive(Serialize)]
struct JsonFinding<'a> {
    path: &'a str,
    line: Option<usize>,
    rule_id: Option<&'a str>,
    check: &'a str,
    severity: &'a str,
    reason: &'a str,
    detail: &'a str,
}

#[derive(Serialize)]
struct JsonFixed<'a> {
    path: &'a str,
    line: usize,
    check: &'a str,
    what: &'a str,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    files: usize,
    documents: usize,
    errors: usize,
    warnings: usize,
    infos: usize,
    counts: BTreeMap<&'a str, usize>,
    findings: Vec<JsonFinding<'a>>,
    fixed: Vec<JsonFixed<'a>>,
}

pub fn run(args: Args) -> Result<ExitCode> {
    let config = match args.config {
        Some(p) => {
            let text = std::fs::read_to_string(p).with_context(|| format!("{}: cannot read", p.display()))?;
            Config::from_yaml(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
        }
        None => Config::default(),
    };
    let files = loader::rule_files(args.paths)?;
    let mut sources = Vec::with_capacity(files.len());
    let mut fixed: Vec<(String, lint::Fixed)> = Vec::new();
    for f in &files {
        let path = f.display().to_string();
        let text = std::fs::read_to_string(f).with_context(|| format!("{path}: cannot read as UTF-8 text"))?;
        let text = if args.fix {
            let (new, done) = lint::fix(&text, &config);
            if new != text {
                std::fs::write(f, &new).with_context(|| format!("{path}: cannot write the fixed file"))?;
            }
            fixed.extend(done.into_iter().map(|d| (path.clone(), d)));
            new
        } else {
            text
        };
        sources.push(Source { path, text });
    }
    let report = lint::lint(&sources, &config);
    if let Some(junit) = args.junit {
        std::fs::write(junit, junit_xml(&report))
            .with_context(|| format!("{}: cannot write the JUnit report", junit.display()))?;
    }
    if args.json {
        let out = JsonReport {
            files: sources.len(),
            documents: report.documents.len(),
            errors: report.count(Severity::Error),
            warnings: report.count(Severity::Warning),
            infos: report.count(Severity::Info),
            counts: report.per_check().into_iter().collect(),
            findings: report
                .findings
                .iter()
                .map(|f| JsonFinding {
                    path: &f.path,
                    line: f.line,
                    rule_id: f.rule_id.as_deref(),
                    check: f.check,
                    severity: f.severity.as_str(),
                    reason: f.reason,
                    detail: &f.detail,
                })
                .collect(),
            fixed: fixed
                .iter()
                .map(|(p, d)| JsonFixed { path: p, line: d.line, check: d.check, what: &d.what })
                .collect(),
        };
        println!("{}", serde_json::to_string(&out)?);
    } else {
        print!("{}", text(&report, &fixed, sources.len()));
    }
    Ok(if report.count(Severity::Error) > 0 { ExitCode::from(1) } else { ExitCode::SUCCESS })
}

fn location(f: &Finding) -> String {
    match f.line {
        Some(l) => format!("{}:{l}", f.path),
        None => f.path.clone(),
    }
}

/// Findings grouped by file, a blank line between files, then a summary.
fn text(report: &Report, fixed: &[(String, lint::Fixed)], files: usize) -> String {
    let mut out = String::new();
    for (path, d) in fixed {
        let _ = writeln!(out, "fixed {path}:{}: {}: {}", d.line, d.check, d.what);
    }
    if !fixed.is_empty() {
        out.push('\n');
    }
    let mut last: Option<&str> = None;
    for f in &report.findings {
        if last.is_some_and(|p| p != f.path) {
            out.push('\n');
        }
        last = Some(&f.path);
        let _ = writeln!(out, "{}: {} {}: {}", location(f), f.severity, f.check, f.message());
    }
    if !report.findings.is_empty() {
        out.push('\n');
    }
    let _ = writeln!(
        out,
        "{} errors, {} warnings, {} info in {files} files ({} documents){}",
        report.count(Severity::Error),
        report.count(Severity::Warning),
        report.count(Severity::Info),
        report.documents.len(),
        if fixed.is_empty() { String::new() } else { format!("; {} fixes applied", fixed.len()) }
    );
    out
}

/// Escape text for XML content and attribute values.
pub fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\n' => out.push_str("&#10;"),
            '\t' => out.push_str("&#9;"),
            '\r' => out.push_str("&#13;"),
            // Characters XML 1.0 cannot carry at all.
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// JUnit XML: one testsuite per file, one testcase per document (rule,
/// correlation or filter), one `<failure>` per finding.
fn junit_xml(report: &Report) -> String {
    let mut by_file: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, d) in report.documents.iter().enumerate() {
        by_file.entry(&d.path).or_default().push(i);
    }
    let mut per_doc: Vec<Vec<&Finding>> = vec![Vec::new(); report.documents.len()];
    for f in &report.findings {
        if let Some(v) = per_doc.get_mut(f.document) {
            v.push(f);
        }
    }
    let failed = |docs: &[usize]| docs.iter().filter(|&&i| !per_doc[i].is_empty()).count();
    let all: Vec<usize> = (0..report.documents.len()).collect();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ =
        writeln!(out, "<testsuites name=\"vigie rules lint\" tests=\"{}\" failures=\"{}\">", all.len(), failed(&all));
    for (path, docs) in &by_file {
        let _ = writeln!(
            out,
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{}\">",
            xml_escape(path),
            docs.len(),
            failed(docs)
        );
        for &i in docs {
            let d = &report.documents[i];
            let name = match (&d.id, &d.title) {
                (Some(id), Some(t)) => format!("{id} {t}"),
                (Some(id), None) => id.clone(),
                (None, Some(t)) => t.clone(),
                (None, None) => format!("document at line {}", d.line),
            };
            let _ = write!(out, "    <testcase classname=\"{}\" name=\"{}\"", xml_escape(path), xml_escape(&name));
            if per_doc[i].is_empty() {
                out.push_str("/>\n");
                continue;
            }
            out.push_str(">\n");
            for f in &per_doc[i] {
                let _ = writeln!(
                    out,
                    "      <failure type=\"{}\" message=\"{}\">{}: {} {}: {}</failure>",
                    f.check,
                    xml_escape(&format!("{} {}: {}", f.severity, f.check, f.message())),
                    xml_escape(&location(f)),
                    f.severity,
                    f.check,
                    xml_escape(&f.message())
                );
            }
            out.push_str("    </testcase>\n");
        }
        out.push_str("  </testsuite>\n");
    }
    out.push_str("</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(xml_escape("a<b>&\"c'\u{1}"), "a&lt;b&gt;&amp;&quot;c&apos;\u{FFFD}");
    }
}
