// Temporary: lint folders as one set, print counts per check and findings of chosen checks.
use std::path::{Path, PathBuf};
use vigie_sigma::Source;
use vigie_sigma::lint::{self, Config, Severity};
fn walk(d: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(d).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            walk(&p, out)
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(p)
        }
    }
}
fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (show, dirs): (Vec<&String>, Vec<&String>) = args.iter().partition(|a| a.starts_with('+'));
    let mut files = Vec::new();
    for d in dirs {
        walk(Path::new(d), &mut files)
    }
    files.sort();
    let src: Vec<Source> = files
        .iter()
        .map(|p| Source { path: p.display().to_string(), text: std::fs::read_to_string(p).unwrap() })
        .collect();
    let r = lint::lint(&src, &Config::default());
    for (c, n) in r.per_check() {
        println!("{c}: {n}")
    }
    println!(
        "{} errors, {} warnings, {} info in {} files",
        r.count(Severity::Error),
        r.count(Severity::Warning),
        r.count(Severity::Info),
        files.len()
    );
    for f in &r.findings {
        if show.iter().any(|s| &s[1..] == f.check) {
            println!("  {}:{} {} {}", f.path, f.line.unwrap_or(0), f.check, f.detail)
        }
    }
}
