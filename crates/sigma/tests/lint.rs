//! The linter against files: one known-bad rule per check under tests/lint/
//! (a folder of files for the checks about file names), a clean rule set,
//! vigie's own rules, the configuration and `fix`.

use std::path::{Path, PathBuf};
use vigie_sigma::Source;
use vigie_sigma::lint::{self, CHECKS, Config, Report, Severity};

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/lint")
}

fn source(path: &Path) -> Source {
    Source { path: path.display().to_string(), text: std::fs::read_to_string(path).unwrap() }
}

fn lint_text(text: &str, config: &Config) -> Report {
    lint::lint(&[Source { path: "proc_creation_win_rule_under_test.yml".into(), text: text.into() }], config)
}

fn checks_of(report: &Report) -> Vec<&'static str> {
    let mut v: Vec<_> = report.findings.iter().map(|f| f.check).collect();
    v.dedup();
    v
}

/// The fixtures are named after their checks (`missing-id.yml`), against
/// SigmaHQ's file-name conventions: those are checked only in their own.
fn fixture_config(id: &str) -> Config {
    let names: Vec<&str> = ["filename-convention", "filename-prefix", "correlation-filename-prefix"]
        .into_iter()
        .filter(|c| *c != id)
        .collect();
    Config::from_yaml(&format!("disable: [{}]\n", names.join(", "))).unwrap()
}

#[test]
fn each_bad_file_triggers_its_own_check_and_only_it() {
    let mut problems = Vec::new();
    for c in CHECKS {
        // A file, or for the checks about file names, a folder linted as one set.
        let path = dir().join(format!("{}.yml", c.id));
        let folder = dir().join(c.id);
        let sources = if path.exists() {
            vec![source(&path)]
        } else {
            assert!(folder.is_dir(), "no known-bad file for `{}`: {}", c.id, path.display());
            let mut files = Vec::new();
            rule_files(&folder, &mut files);
            files.sort();
            files.iter().map(|p| source(p)).collect()
        };
        let report = lint::lint(&sources, &fixture_config(c.id));
        let found = checks_of(&report);
        if !found.contains(&c.id) {
            problems.push(format!("{}: does not trigger its check; found {found:?}", c.id));
        }
        let others: Vec<_> = found.iter().filter(|f| **f != c.id).collect();
        if !others.is_empty() {
            problems.push(format!("{}: also triggers {others:?}", c.id));
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn every_file_in_the_folder_is_a_check_or_the_clean_set() {
    for entry in std::fs::read_dir(dir()).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let stem = name.strip_suffix(".yml").unwrap_or(&name);
        assert!(stem == "clean-set" || lint::check(stem).is_some(), "{name} names no check");
    }
}

#[test]
fn a_clean_rule_correlation_and_filter_trigger_nothing() {
    let report = lint::lint(&[source(&dir().join("clean-set.yml"))], &fixture_config(""));
    assert_eq!(report.documents.len(), 3);
    assert!(report.findings.is_empty(), "{:#?}", report.findings);
}

fn rule_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            rule_files(&p, out);
        } else if p.extension().is_some_and(|e| e == "yml" || e == "yaml") {
            out.push(p);
        }
    }
}

/// vigie's own rule trees (rules/vigie, and the SigmaHQ copy under
/// rules/sigma) lint as one set with no error-severity finding.
#[test]
fn vigies_own_rules_have_no_errors() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../rules");
    let mut files = Vec::new();
    rule_files(&root.join("vigie"), &mut files);
    rule_files(&root.join("sigma"), &mut files);
    files.sort();
    assert!(files.len() > 1000, "{} rule files", files.len());
    let sources: Vec<Source> = files.iter().map(|p| source(p)).collect();
    let report = lint::lint(&sources, &Config::default());
    let errors: Vec<String> = report
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .map(|f| format!("{}:{}: {} {}", f.path, f.line.unwrap_or(0), f.check, f.message()))
        .collect();
    // SigmaHQ's copy is kept as published; it has exactly these two errors
    // (docs/lint.md), so that anything new fails here.
    let known = ["proc_creation_win_powershell_susp_child_processes.yml:", "posh_ps_create_volume_shadow_copy.yml:"];
    let (upstream, ours): (Vec<&String>, Vec<&String>) =
        errors.iter().partition(|e| known.iter().any(|k| e.contains(k)) && e.contains("/sigma/"));
    assert!(ours.is_empty(), "{} errors:\n{}", ours.len(), errors.join("\n"));
    assert_eq!(upstream.len(), 2, "{upstream:?}");
}

#[test]
fn config_disables_escalates_and_rejects_unknown_ids() {
    let text = std::fs::read_to_string(dir().join("missing-author.yml")).unwrap();
    let report = lint_text(&text, &Config::default());
    assert_eq!(report.findings.len(), 1);
    assert_eq!(report.findings[0].severity, Severity::Warning);
    assert_eq!(report.findings[0].line, Some(1));
    let up = Config::from_yaml("severity:\n  missing-author: error\n").unwrap();
    assert_eq!(lint_text(&text, &up).findings[0].severity, Severity::Error);
    let off = Config::from_yaml("disable:\n  - missing-author\n").unwrap();
    assert!(lint_text(&text, &off).findings.is_empty());
    let err = Config::from_yaml("disable: [missing-autor]\n").unwrap_err();
    assert!(err.contains("unknown check `missing-autor`"), "{err}");
    let err = Config::from_yaml("severity: {missing-autor: info}\n").unwrap_err();
    assert!(err.contains("missing-autor"), "{err}");
}

#[test]
fn findings_carry_lines_and_rule_ids() {
    let text = std::fs::read_to_string(dir().join("invalid-attack-tag.yml")).unwrap();
    let f = &lint_text(&text, &Config::default()).findings[0];
    assert_eq!((f.check, f.line), ("invalid-attack-tag", Some(9)));
    assert_eq!(f.rule_id.as_deref(), Some("0b5c6e1e-6a3c-4d2b-9f1e-2a7c8d9e0f11"));
    assert!(f.message().contains("`attack.defense_evasion`"), "{}", f.message());
}

/// `fix` repairs tag case and duplicate tags, the result lints clean for
/// those checks, and every other line is byte-for-byte what it was.
#[test]
fn fix_leaves_a_file_clean_for_its_checks_and_other_bytes_alone() {
    let mut text = std::fs::read_to_string(dir().join("clean-set.yml")).unwrap();
    text = text.replacen(
        "    - attack.execution\n    - attack.t1059.001\n",
        "    - Attack.Execution   # the tactic\n    - attack.T1059.001\n    - 'attack.execution'\n    - attack.t1059.001\n",
        1,
    );
    let before = lint_text(&text, &fixture_config(""));
    assert_eq!(checks_of(&before), ["tag-not-lowercase", "duplicate-tag"], "{:#?}", before.findings);
    let (fixed, done) = lint::fix(&text, &Config::default());
    assert_eq!(done.len(), 4, "{done:?}");
    let after = lint_text(&fixed, &fixture_config(""));
    assert!(after.findings.is_empty(), "{:#?}", after.findings);
    // Only the tag lines changed: two rewritten in place, two removed.
    let old: Vec<&str> = text.split_inclusive('\n').collect();
    let new: Vec<&str> = fixed.split_inclusive('\n').collect();
    assert_eq!(old.len(), new.len() + 2);
    let tag_line = old.iter().position(|l| l.contains("Attack.Execution")).unwrap();
    assert_eq!(old[..tag_line], new[..tag_line]);
    assert_eq!(new[tag_line], "    - attack.execution   # the tactic\n");
    assert_eq!(new[tag_line + 1], "    - attack.t1059.001\n");
    assert_eq!(old[tag_line + 4..], new[tag_line + 2..]);
}

/// D3FEND tags as pySigma compares them, as written: an artifact in the
/// ontology's CamelCase is a D3FEND tag (only not lowercase), the same name
/// lowercased is not, nor is a tactic or technique id in capitals.
#[test]
fn d3fend_artifacts_are_known_as_the_ontology_writes_them() {
    let rule = |tags: &str| {
        let text = std::fs::read_to_string(dir().join("clean-set.yml")).unwrap();
        let first = text.split("\n---").next().unwrap().to_string();
        let text = first.replace("    - attack.t1059.001\n", &format!("    - attack.t1059.001\n{tags}"));
        assert_ne!(text, first);
        let report = lint_text(&text, &fixture_config(""));
        report.findings.iter().map(|f| (f.check, f.detail.clone())).collect::<Vec<_>>()
    };
    // Known good: artifacts, a tactic and a technique id.
    let good = "    - d3fend.NetworkTraffic\n    - d3fend.ProcessSegment\n    - d3fend.detect\n    - d3fend.d3-psa\n";
    let found = rule(good);
    assert!(found.iter().all(|(c, _)| *c == "tag-not-lowercase"), "{found:?}");
    assert_eq!(found.len(), 2, "{found:?}");
    // Known bad: the artifact lowercased, a physical artifact, capitals where
    // pySigma lowercases, and the `d3f-` keys of pySigma's old static data.
    let bad = "    - d3fend.networktraffic\n    - d3fend.PhysicalLock\n    - d3fend.Detect\n    - d3fend.D3-PSA\n    \
               - d3fend.d3f-NetworkTraffic\n";
    let invalid: Vec<String> =
        rule(bad).into_iter().filter(|(c, _)| *c == "invalid-d3fend-tag").map(|(_, d)| d).collect();
    assert_eq!(
        invalid,
        [
            "`d3fend.networktraffic`",
            "`d3fend.PhysicalLock`",
            "`d3fend.Detect`",
            "`d3fend.D3-PSA`",
            "`d3fend.d3f-NetworkTraffic`"
        ]
    );
}

/// docs/lint.md lists every check with its default severity.
#[test]
fn the_docs_list_every_check() {
    let doc = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/lint.md")).unwrap();
    for c in CHECKS {
        let row = format!("| `{}` | {}", c.id, c.severity);
        assert!(doc.contains(&row), "docs/lint.md has no row `{row}`");
    }
}
