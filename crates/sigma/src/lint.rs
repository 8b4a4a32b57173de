//! `vigie rules lint`: checks that a Sigma rule set is well formed and follows
//! the conventions detection engineers expect (pySigma's validators and
//! SigmaHQ's rule conventions), beyond what the loader needs to compile it.
//!
//! Every check has a stable kebab-case id, a default severity and a one-line
//! reason. The checks read the YAML tree (so every finding can carry the line
//! it is about) and never change a rule; [`fix`] applies the few fixes that
//! are safe as exact text edits.
//!
//! Pure functions, like the rest of this crate: callers hand in the files'
//! text and get back findings.

mod checks;
mod config;
mod fix;

pub use config::Config;
pub use fix::{Fixed, fix};

use crate::ruleset::Source;

/// How serious a finding is. `Error` findings make `vigie rules lint` fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }

    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s {
            "info" => Severity::Info,
            "warning" => Severity::Warning,
            "error" => Severity::Error,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Severity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One check: its id, default severity and the reason shown with each finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Check {
    pub id: &'static str,
    pub severity: Severity,
    pub reason: &'static str,
    /// True when `--fix` can repair its findings safely.
    pub fixable: bool,
}

const fn c(id: &'static str, severity: Severity, reason: &'static str) -> Check {
    Check { id, severity, reason, fixable: false }
}

use Severity::{Error as E, Info as I, Warning as W};

/// Every check, in the order the documentation lists them.
pub const CHECKS: &[Check] = &[
    // The file and the document.
    c("yaml-syntax", E, "the file is not valid YAML"),
    c("invalid-document", E, "the document cannot be read as a Sigma rule, correlation or filter"),
    c("filename-length", I, "a rule file's name is shorter than 10 or longer than 90 characters"),
    c("duplicate-filename", W, "two files of the set in different folders have the same name"),
    // Metadata.
    c("missing-id", E, "every rule needs an `id` so that alerts, filters and correlations can name it"),
    c("invalid-id", E, "`id` must be a UUID such as 5f3c9b1a-2d4e-4f6a-8b7c-9d0e1f2a3b4c"),
    c("duplicate-id", E, "two documents of the set share one `id`"),
    c("missing-title", E, "every rule needs a `title`"),
    c("title-too-long", W, "`title` is longer than 110 characters (SigmaHQ's limit)"),
    c("title-style", I, "SigmaHQ titles do not start with \"Detects\" and do not end with a period"),
    c("duplicate-title", W, "two documents of the set share one `title`"),
    c("missing-author", W, "`author` is missing; alerts must credit the rule's author (DRL 1.1)"),
    c("missing-date", W, "`date` (creation date, YYYY-MM-DD) is missing"),
    c("invalid-date", E, "`date` and `modified` must be real dates written YYYY-MM-DD"),
    c("modified-before-date", E, "`modified` is earlier than `date`"),
    c("missing-status", I, "`status` is missing"),
    c("invalid-status", E, "`status` must be stable, test, experimental, deprecated or unsupported"),
    c("missing-level", W, "`level` is missing"),
    c("invalid-level", E, "`level` must be informational, low, medium, high or critical"),
    c("missing-description", W, "`description` is missing: say what the rule detects and why"),
    c("not-a-list", E, "`references`, `falsepositives`, `tags` and `fields` must be YAML lists"),
    c("duplicate-reference", W, "the same reference is listed twice"),
    c(
        "invalid-related",
        E,
        "each `related` entry needs an `id` (UUID) and a `type` (derived, obsolete, merged, renamed or similar)",
    ),
    c(
        "unknown-attribute",
        W,
        "a top-level key that Sigma does not define is one or two typos from one it does (`refrences`)",
    ),
    // Tags.
    Check { fixable: true, ..c("tag-not-lowercase", W, "tags are written in lowercase") },
    c("invalid-tag-format", E, "a tag must be `namespace.name` (lowercase letters, digits, `_`, `-`, `.`)"),
    Check { fixable: true, ..c("duplicate-tag", W, "the same tag is listed twice") },
    c(
        "invalid-attack-tag",
        E,
        "an `attack.` tag must be an enterprise tactic (e.g. attack.execution) or attack.tNNNN[.NNN], attack.gNNNN, attack.sNNNN",
    ),
    c("invalid-cve-tag", E, "a `cve.` tag must be cve.YYYY-NNNN"),
    c(
        "invalid-tlp-tag",
        E,
        "a `tlp.` tag must be tlp.clear, tlp.white, tlp.green, tlp.amber, tlp.amber-strict or tlp.red",
    ),
    c(
        "invalid-detection-tag",
        E,
        "a `detection.` tag must be detection.dfir, detection.emerging-threats or detection.threat-hunting",
    ),
    c("invalid-car-tag", E, "a `car.` tag must be car.YYYY-MM-NNN (an analytic of MITRE CAR)"),
    c("invalid-stp-tag", E, "an `stp.` tag must be stp.N with N from 1 to 5, optionally followed by a, k or u"),
    c(
        "invalid-d3fend-tag",
        E,
        "a `d3fend.` tag must name a D3FEND tactic (d3fend.detect), technique (d3fend.d3-psa) or artifact (d3fend.NetworkTraffic)",
    ),
    c("unknown-tag-namespace", W, "a tag namespace other than attack, car, cve, d3fend, detection, stp and tlp"),
    // Log source.
    c("missing-logsource", E, "`logsource` is missing or names no category, product or service"),
    c("unknown-logsource-key", W, "`logsource` takes only category, product, service and definition"),
    c(
        "specific-instead-of-generic-logsource",
        W,
        "a Sysmon or Security event ID that a generic category covers (EventID 1 is `category: process_creation`)",
    ),
    // Detection.
    c("missing-detection", E, "a rule needs a `detection` mapping"),
    c("missing-condition", E, "`detection` has no `condition`"),
    c("invalid-condition", E, "the condition cannot be parsed"),
    c(
        "unknown-search",
        E,
        "the condition names a search identifier (or a pattern matching none) that `detection` does not define",
    ),
    c("unused-search", E, "a search identifier is defined but the condition never uses it"),
    c("them-with-single-search", I, "`1 of them` or `all of them` with a single search: name the search"),
    c("all-of-them", I, "`all of them` silently changes meaning when a search is added; write `all of selection_*`"),
    c("legacy-aggregation", W, "`| count() ...` aggregations are Sigma v1; write a correlation rule instead"),
    c("field-with-space", W, "a field name with a space is almost always a mapping mistake"),
    c(
        "control-character",
        W,
        "a value holds a control character (tab, newline, ...), usually from a double-quoted escape",
    ),
    c("unknown-modifier", E, "a value modifier that Sigma does not define"),
    c("empty-value-list", E, "an empty list of values matches nothing"),
    c(
        "empty-value",
        E,
        "a null or empty value where a string is expected (with a modifier, or as a keyword) matches everything or nothing",
    ),
    c("wildcard-only-value", W, "a value of only `*` matches any value; write `|exists: true` if that is meant"),
    c("double-wildcard", W, "a value has `**`, which matches what a single `*` does"),
    c(
        "escaped-wildcard",
        I,
        "a value has an escaped wildcard (`\\*` or `\\?`), a literal star or question mark; make sure it is meant",
    ),
    c("number-as-string", I, "a number written as a quoted string (`'4624'`); write it unquoted"),
    c("all-single-value", W, "`|all` with a single value does nothing"),
    c("duplicate-value", W, "the same value is listed twice for one field"),
    c("invalid-regex", E, "the `|re` value is not a valid regular expression"),
    c("redundant-wildcard", W, "a leading or trailing `*` is redundant with `|contains`, `|startswith` or `|endswith`"),
    c(
        "wildcard-instead-of-modifier",
        I,
        "a value wrapped in `*` is clearer with `|contains`, `|startswith` or `|endswith`",
    ),
    c(
        "base64offset-without-contains",
        E,
        "`|base64offset` yields fragments of the encoded value: it needs `|contains`",
    ),
    c(
        "invalid-modifier-combination",
        E,
        "modifiers that cannot go together (`|contains|endswith`, `|re|contains`, `|i` without `|re`, `|exists|all`, ...)",
    ),
    // Correlations and filters (Sigma v2).
    c("dangling-reference", E, "a correlation or filter names a rule that is not in the set"),
    c("missing-timespan", E, "a correlation needs a `timespan`"),
    c("group-by-not-list", E, "a correlation's `group-by` must be a list of fields"),
    // SigmaHQ's conventions (pySigma-validators-sigmahq): warnings and info,
    // since SigmaHQ's own tree must keep exactly its two known errors.
    c(
        "filename-convention",
        I,
        "SigmaHQ names rule files in lowercase letters, digits and `_` (at least one), ending `.yml`",
    ),
    c(
        "filename-prefix",
        I,
        "SigmaHQ starts a rule file's name with the prefix of its log source (`proc_creation_win_`, `posh_ps_`, ...)",
    ),
    c("correlation-filename-prefix", I, "SigmaHQ names a file holding a correlation `correlation_...`"),
    c("modified-without-date", W, "`modified` without `date`: a new rule has only `date`"),
    c("redundant-modified", W, "`modified` is the same day as `date`: leave it out"),
    c("short-description", I, "`description` is shorter than 16 characters: say what the rule detects and why"),
    c(
        "link-in-description",
        I,
        "`description` holds a link (or \"internal research\") and there are no `references`: links go under `references`",
    ),
    c(
        "custom-attribute",
        I,
        "a top-level key Sigma does not define (SigmaHQ allows only `regression_tests_path` and `simulation`)",
    ),
    c("fields-attribute", I, "`fields` is deprecated in SigmaHQ's rules"),
    c(
        "deprecated-outside-folder",
        I,
        "a rule with status deprecated or unsupported belongs in a `deprecated` or `unsupported` folder",
    ),
    c(
        "status-too-high",
        I,
        "a rule less than 60 days old is experimental (test with `regression_tests_path`): judged against today's date",
    ),
    c("title-case", I, "SigmaHQ titles capitalise every word but short ones (a, and, of, the, via, with, ...)"),
    c("falsepositive-not-capitalised", I, "a `falsepositives` entry starts with a lowercase letter"),
    c(
        "banned-falsepositive",
        W,
        "a `falsepositives` entry says none, pentest or penetration; say what else can trigger the rule",
    ),
    c("falsepositive-typo", W, "a `falsepositives` entry has a common typo (unkown, ligitimate, legitim, legitimeate)"),
    c(
        "github-branch-link",
        I,
        "a GitHub reference names a branch (blob/master, tree/main); link a commit so that it does not move",
    ),
    c("mitre-link-in-references", I, "an attack.mitre.org link in `references`: write an `attack.` tag instead"),
    c("temporal-with-one-rule", W, "a temporal correlation over fewer than two rules"),
    c(
        "missing-group-by",
        W,
        "an event_count, value_count or temporal correlation without `group-by` counts across every host and user",
    ),
    c("multiple-detection-tags", W, "more than one `detection.` tag"),
    c("multiple-tlp-tags", W, "more than one `tlp.` tag"),
    c("non-clear-tlp", I, "SigmaHQ publishes only tlp.clear rules"),
    c("technique-without-tactic", I, "ATT&CK technique tags without any ATT&CK tactic tag"),
    c(
        "missing-folder-detection-tag",
        I,
        "a rule under rules-emerging-threats, rules-threat-hunting or rules-dfir lacks the matching `detection.` tag",
    ),
    c(
        "of-single-search",
        I,
        "`1 of x*` or `all of x*` matches a single search (`selection_*` and `filter_*` aside): name the search",
    ),
    c("of-without-wildcard", W, "`1 of x` or `all of x` without `*` names one search: write `x`, or mean `x*`"),
    c("sysmon-without-eventid", W, "a `service: sysmon` rule never tests `EventID`, so it matches every Sysmon event"),
    c(
        "category-with-eventid",
        W,
        "a Windows category that already selects its event (process_creation, file_event, ps_script, ...) needs no `EventID`",
    ),
    c(
        "category-with-provider-name",
        W,
        "a `Provider_Name` the Windows category already implies (Microsoft-Windows-Sysmon for file_event, ...)",
    ),
    c(
        "localized-user-field",
        W,
        "a user field matched against one spelling of NT AUTHORITY, which Windows localises: list `AUTHORI` and `AUTORI`",
    ),
    c(
        "invalid-hash",
        W,
        "a `Hashes`/`Hash` value must be MD5=, SHA1=, SHA256= or IMPHASH= followed by a hash of that length",
    ),
    // SigmaHQ's taxonomy of log sources and their fields.
    c("unknown-logsource", I, "a log source that SigmaHQ's taxonomy (and vigie's own mapping) does not know"),
    c("unknown-field", W, "a field name the taxonomy does not know for the rule's log source"),
    c(
        "field-name-case",
        W,
        "a field name the taxonomy knows for the log source, written in another case (`commandline`)",
    ),
    c(
        "redundant-field",
        W,
        "a field the log source already implies (`Channel`, `EventID`, `EventType` on a Sysmon category)",
    ),
];

/// The check with this id.
pub fn check(id: &str) -> Option<&'static Check> {
    CHECKS.iter().find(|c| c.id == id)
}

/// One problem found in one document.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub path: String,
    /// The document's `id`, when it has a readable one.
    pub rule_id: Option<String>,
    pub check: &'static str,
    pub severity: Severity,
    /// The check's one-line reason.
    pub reason: &'static str,
    /// What exactly is wrong here (the value, the tag, the other file).
    pub detail: String,
    /// 1-based line, when known.
    pub line: Option<usize>,
    /// Index of its document in [`Report::documents`].
    pub document: usize,
}

impl Finding {
    /// The reason with the detail, as printed.
    pub fn message(&self) -> String {
        if self.detail.is_empty() { self.reason.to_string() } else { format!("{}: {}", self.reason, self.detail) }
    }
}

/// A document that was linted (the unit a JUnit test case reports on).
#[derive(Debug, Clone, PartialEq)]
pub struct Linted {
    pub path: String,
    pub id: Option<String>,
    pub title: Option<String>,
    pub line: usize,
}

/// The result of linting a set of files.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Report {
    pub documents: Vec<Linted>,
    /// Sorted by path, then line.
    pub findings: Vec<Finding>,
}

impl Report {
    /// How many findings of this severity there are.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings.iter().filter(|f| f.severity == severity).count()
    }

    /// Findings per check id, in the order of [`CHECKS`], checks with none left out.
    pub fn per_check(&self) -> Vec<(&'static str, usize)> {
        CHECKS
            .iter()
            .map(|c| (c.id, self.findings.iter().filter(|f| f.check == c.id).count()))
            .filter(|(_, n)| *n > 0)
            .collect()
    }
}

/// Lint every document of every source as one set (ids must be unique across
/// it, and correlations and filters may only name rules within it).
pub fn lint(sources: &[Source], config: &Config) -> Report {
    let mut report = checks::run(sources);
    report.findings.retain_mut(|f| match config.severity_of(f.check) {
        Some(s) => {
            f.severity = s;
            true
        }
        None => false,
    });
    report.findings.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_kebab_case() {
        let mut seen = std::collections::HashSet::new();
        for c in CHECKS {
            assert!(seen.insert(c.id), "{} twice", c.id);
            assert!(c.id.chars().all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '-'), "{}", c.id);
            assert!(!c.reason.contains('\n'));
        }
        assert!(CHECKS.len() >= 30);
    }
}
