//! SigmaHQ's conventions, the checks of pySigma-validators-sigmahq that the
//! core checks do not already make: file names, metadata style, tags,
//! false positives, references and a few detection habits. All of them are
//! warnings or info: they are house style, or very likely mistakes that do
//! not make a rule unreadable.

use super::{ATTRIBUTES, Doc, Kind, file_name, near_attribute, parse_date};
use crate::yaml::Node;
use regex::Regex;
use std::sync::LazyLock;

/// Short words SigmaHQ's titles keep in lowercase.
const TITLE_SMALL_WORDS: [&str; 20] = [
    "a", "an", "and", "as", "at", "by", "for", "from", "in", "new", "of", "on", "or", "over", "the", "through", "to",
    "via", "with", "without",
];

/// Words a false positive may not be (SigmaHQ's banned list).
const BANNED_FALSEPOSITIVES: [&str; 3] = ["none", "pentest", "penetration"];

/// Misspellings SigmaHQ's reviewers keep finding in false positives.
const FALSEPOSITIVE_TYPOS: [&str; 4] = ["unkown", "ligitimate", "legitim", "legitimeate"];

/// Custom attributes SigmaHQ's rules may carry.
const SIGMAHQ_ATTRIBUTES: [&str; 2] = ["regression_tests_path", "simulation"];

/// The folders of SigmaHQ's repository whose rules carry a `detection.` tag.
const DETECTION_FOLDERS: [&str; 3] = ["emerging-threats", "threat-hunting", "dfir"];

/// Windows categories that already select their event, so that a rule on
/// them needs no `EventID` (the facts of SigmaHQ's validator data,
/// `category_no_eventid`, version 20240809).
pub(super) const CATEGORIES_WITHOUT_EVENTID: [&str; 28] = [
    "clipboard_capture",
    "create_remote_thread",
    "create_stream_hash",
    "dns_query",
    "driver_load",
    "file_access",
    "file_change",
    "file_delete",
    "file_event",
    "image_load",
    "network_connection",
    "pipe_created",
    "process_access",
    "process_creation",
    "process_tampering",
    "process_termination",
    "ps_classic_provider_start",
    "ps_classic_script",
    "ps_classic_start",
    "ps_module",
    "ps_script",
    "raw_access_thread",
    "registry_add",
    "registry_delete",
    "registry_rename",
    "registry_set",
    "sysmon_error",
    "sysmon_status",
];

/// The event providers a Windows category already implies (the facts of
/// SigmaHQ's validator data, `category_provider_name`, version 20240809):
/// a `Provider_Name` test for one of them adds nothing.
fn implied_providers(category: &str) -> &'static [&'static str] {
    const SYSMON: &[&str] = &["Microsoft-Windows-Sysmon"];
    match category {
        "clipboard_capture"
        | "create_remote_thread"
        | "create_stream_hash"
        | "dns_query"
        | "driver_load"
        | "file_access"
        | "file_change"
        | "file_delete"
        | "file_event"
        | "image_load"
        | "pipe_created"
        | "process_tampering"
        | "process_termination"
        | "raw_access_thread"
        | "registry_add"
        | "registry_delete"
        | "registry_event"
        | "registry_rename"
        | "registry_set"
        | "sysmon_error"
        | "sysmon_status"
        | "wmi_event" => SYSMON,
        "network_connection" => &["Microsoft-Windows-Sysmon", "Microsoft-Windows-TCPIP"],
        "process_access" => &["Microsoft-Windows-Sysmon", "Microsoft-Windows-Kernel-Audit-API-Calls"],
        "process_creation" => &[
            "Microsoft-Windows-Sysmon",
            "Microsoft-Windows-Security-Auditing",
            "Microsoft-Windows-Kernel-Process",
            "SystemTraceProvider-Process",
        ],
        "ps_classic_provider_start" | "ps_classic_script" | "ps_classic_start" => &["PowerShell"],
        "ps_module" | "ps_script" => &["Microsoft-Windows-PowerShell"],
        _ => &[],
    }
}

/// SigmaHQ's file-name prefix per log source, (product, category, service,
/// prefix) with "" for a key the log source leaves out (the facts of
/// SigmaHQ's validator data, `sigmahq_filename.json`, version 20240809).
const FILENAME_PREFIXES: [(&str, &str, &str, &str); 108] = [
    ("aws", "", "", "aws"),
    ("azure", "", "", "azure_"),
    ("bitbucket", "", "audit", "bitbucket_audit_"),
    ("cisco", "", "", "cisco_"),
    ("django", "application", "", "appframework_django_"),
    ("fortios", "", "", "fortios_"),
    ("gcp", "", "", "gcp_"),
    ("github", "", "", "github_"),
    ("huawei", "", "", "huawei_"),
    ("juniper", "", "", "juniper_"),
    ("jvm", "application", "", "java_"),
    ("kubernetes", "application", "audit", "kubernetes_audit_"),
    ("kubernetes", "", "audit", "kubernetes_audit_"),
    ("linux", "", "", "lnx_"),
    ("linux", "file_event", "", "file_event_lnx_"),
    ("linux", "network_connection", "", "net_connection_lnx_"),
    ("linux", "", "auditd", "lnx_auditd_"),
    ("linux", "", "auth", "lnx_auth_"),
    ("linux", "", "clamav", "lnx_clamav"),
    ("linux", "", "cron", "lnx_cron_"),
    ("linux", "", "guacamole", "lnx_guacamole_"),
    ("linux", "", "sshd", "lnx_sshd_"),
    ("linux", "", "sudo", "lnx_sudo"),
    ("linux", "", "syslog", "lnx_syslog_"),
    ("linux", "", "vsftpd", "lnx_vsftpd_"),
    ("linux", "process_creation", "", "proc_creation_lnx_"),
    ("m365", "", "", "microsoft365_"),
    ("macos", "", "", "macos_"),
    ("macos", "file_event", "", "file_event_macos_"),
    ("macos", "process_creation", "", "proc_creation_macos_"),
    ("nodejs", "application", "", "nodejs_"),
    ("", "antivirus", "", "av_"),
    ("", "database", "", "db_"),
    ("", "dns", "", "net_dns_"),
    ("", "firewall", "", "net_firewall_"),
    ("", "", "apache", "web_apache_"),
    ("", "", "nginx", "web_nginx_"),
    ("", "proxy", "", "proxy_"),
    ("", "webserver", "", "web_"),
    ("okta", "", "", "okta_"),
    ("onelogin", "", "", "onelogin_"),
    ("opencanary", "application", "", "opencanary_"),
    ("paloalto", "appliance", "globalprotect", "paloalto_globalprotect_"),
    ("paloalto", "file_event", "globalprotect", "file_event_paloalto_globalprotect_"),
    ("python", "application", "", "app_python_"),
    ("rpc_firewall", "application", "", "rpc_firewall_"),
    ("ruby_on_rails", "application", "", "appframework_ruby_"),
    ("spring", "application", "", "spring_"),
    ("velocity", "application", "", "velocity_"),
    ("windows", "create_remote_thread", "", "create_remote_thread_win_"),
    ("windows", "create_stream_hash", "", "create_stream_hash_"),
    ("windows", "dns_query", "", "dns_query_win_"),
    ("windows", "driver_load", "", "driver_load_win_"),
    ("windows", "file_access", "", "file_access_win_"),
    ("windows", "file_change", "", "file_change_win_"),
    ("windows", "file_delete", "", "file_delete_win_"),
    ("windows", "file_event", "", "file_event_win_"),
    ("windows", "file_executable_detected", "", "file_executable_detected_win_"),
    ("windows", "file_rename", "", "file_rename_win_"),
    ("windows", "image_load", "", "image_load_"),
    ("windows", "network_connection", "", "net_connection_win_"),
    ("windows", "", "applocker", "win_applocker_"),
    ("windows", "", "appmodel-runtime", "win_appmodel_runtime_"),
    ("windows", "", "appxdeployment-server", "win_appxdeployment_server_"),
    ("windows", "", "appxpackaging-om", "win_appxpackaging_om_"),
    ("windows", "", "bits-client", "win_bits_client_"),
    ("windows", "", "capi2", "win_capi2_"),
    ("windows", "", "certificateservicesclient-lifecycle-system", "win_certificateservicesclient_lifecycle_system_"),
    ("windows", "", "codeintegrity-operational", "win_codeintegrity_"),
    ("windows", "", "diagnosis-scripted", "win_diagnosis_scripted"),
    ("windows", "", "dns-client", "win_dns_client"),
    ("windows", "", "dns-server", "win_dns_server"),
    ("windows", "", "dns-server-analytic", "win_dns_analytic_"),
    ("windows", "", "firewall-as", "win_firewall_as_"),
    ("windows", "", "ldap", "win_ldap_"),
    ("windows", "", "lsa-server", "win_lsa_server_"),
    ("windows", "", "msexchange-management", "win_exchange_"),
    ("windows", "", "", "win_"),
    ("windows", "", "openssh", "win_sshd_openssh_"),
    ("windows", "", "powershell-classic", "posh_pc_"),
    ("windows", "", "security", "win_security_"),
    ("windows", "", "security-mitigations", "win_security_mitigations_"),
    ("windows", "", "shell-core", "win_shell_core"),
    ("windows", "", "smbclient-connectivity", "win_smbclient_connectivity_"),
    ("windows", "", "smbclient-security", "win_smbclient_security_"),
    ("windows", "", "sysmon", "sysmon_"),
    ("windows", "", "system", "win_system_"),
    ("windows", "", "taskscheduler", "win_taskscheduler_"),
    ("windows", "", "terminalservices-localsessionmanager", "win_terminalservices_"),
    ("windows", "", "windefend", "win_defender_"),
    ("windows", "", "wmi", "win_wmi_"),
    ("windows", "pipe_created", "", "pipe_created_"),
    ("windows", "process_access", "", "proc_access_win_"),
    ("windows", "process_creation", "", "proc_creation_win_"),
    ("windows", "process_tampering", "", "proc_tampering_"),
    ("windows", "ps_classic_provider_start", "", "posh_pc_"),
    ("windows", "ps_classic_start", "", "posh_pc_"),
    ("windows", "ps_module", "", "posh_pm_"),
    ("windows", "ps_script", "", "posh_ps_"),
    ("windows", "raw_access_thread", "", "raw_access_thread_"),
    ("windows", "registry_add", "", "registry_add_"),
    ("windows", "registry_delete", "", "registry_delete_"),
    ("windows", "registry_event", "", "registry_event_"),
    ("windows", "registry_set", "", "registry_set_"),
    ("windows", "sysmon_error", "", "sysmon_"),
    ("windows", "sysmon_status", "", "sysmon_"),
    ("windows", "wmi_event", "", "sysmon_wmi_"),
    ("zeek", "", "", "zeek_"),
];

static FILENAME: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[a-z0-9_]+\.yml$").unwrap());
static GITHUB_REF: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"^https?://github\.com/[^/]+/[^/]+/(?:blob|tree|raw)/([^/?#]+)").unwrap());
static COMMIT: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9a-f]{40}$").unwrap());
static HEX: LazyLock<Regex> = LazyLock::new(|| Regex::new(r"^[0-9a-fA-F]+$").unwrap());

/// The file-name convention, once per file.
pub(super) fn file(d: &mut Doc, name: &str) {
    let has_underscore = name.strip_suffix(".yml").is_some_and(|s| s.contains('_'));
    if !FILENAME.is_match(name) || !has_underscore {
        d.emit("filename-convention", 0, format!("`{name}`"));
    }
}

/// The file-name prefix SigmaHQ gives a rule on this log source: the one
/// of the exact log source, else the one of its product alone.
pub(super) fn filename_prefix_of(product: &str, category: &str, service: &str) -> Option<&'static str> {
    let find = |c: &str, s: &str| {
        FILENAME_PREFIXES.iter().find(|(p, c2, s2, _)| *p == product && *c2 == c && *s2 == s).map(|e| e.3)
    };
    find(category, service).or_else(|| if product.is_empty() { None } else { find("", "") })
}

/// The file-name prefix of a rule alone in its file (a file that also holds
/// a correlation may mix log sources, as SigmaHQ's validator allows).
pub(super) fn filename_prefix(d: &mut Doc, node: &Node) {
    if node.get("detection").is_none() || node.get("correlation").is_some() || node.get("filter").is_some() {
        return;
    }
    let Some(ls) = node.get("logsource") else { return };
    let key = |k: &str| ls.get(k).and_then(Node::as_str).unwrap_or("");
    let name = file_name(d.path);
    if let Some(prefix) = filename_prefix_of(key("product"), key("category"), key("service"))
        && !name.starts_with(prefix)
    {
        d.emit("filename-prefix", 0, format!("`{name}`: SigmaHQ starts it `{prefix}`"));
    }
}

/// The conventions of one document's metadata and tags.
pub(super) fn document(d: &mut Doc, node: &Node, kind: Kind) {
    let line = node.line();
    if kind == Kind::Correlation {
        let name = file_name(d.path);
        if !name.starts_with("correlation_") {
            d.emit("correlation-filename-prefix", line, format!("`{name}`"));
        }
    }
    if let Node::Map { entries, .. } = node {
        for (key, value) in entries {
            if !ATTRIBUTES.contains(&key.as_str())
                && !SIGMAHQ_ATTRIBUTES.contains(&key.as_str())
                && near_attribute(key).is_none()
            {
                d.emit("custom-attribute", value.line(), format!("`{key}`"));
            }
        }
    }
    // Dates: `modified` alone, or on the day of `date`.
    if let Some(m) = node.get("modified") {
        match node.get("date") {
            None => d.emit("modified-without-date", m.line(), ""),
            Some(date) => {
                let (a, b) = (date.as_str().and_then(parse_date), m.as_str().and_then(parse_date));
                if let (Some(a), Some(b)) = (a, b)
                    && a == b
                {
                    d.emit("redundant-modified", m.line(), format!("both {a}"));
                }
            }
        }
    }
    // A new rule's status (SigmaHQ's `status_to_high`): above experimental
    // only once 60 days old, or at once up to test with regression data.
    // Judged against today's date, the one check that is.
    if let (Some(status), Some(date)) =
        (node.get("status").and_then(Node::as_str), node.get("date").and_then(Node::as_str).and_then(parse_date))
    {
        let rank = |s: &str| match s {
            "experimental" => 1,
            "test" => 2,
            "stable" => 3,
            _ => 0,
        };
        let (max, min_days) = if node.get("regression_tests_path").is_some() { (2, 0) } else { (1, 60) };
        let epoch = jiff::civil::date(1970, 1, 1);
        let today = jiff::Timestamp::now().as_second().div_euclid(86_400);
        let age = today - epoch.until(date).map_or(today, |span| i64::from(span.get_days()));
        if rank(status) > max && age <= min_days {
            let line = node.get("status").map_or(node.line(), Node::line);
            d.emit("status-too-high", line, format!("`{status}` at {age} days old"));
        }
    }
    let references = match node.get("references") {
        Some(Node::Seq { items, .. }) => items.iter().filter_map(|i| i.as_str().map(|s| (s, i.line()))).collect(),
        _ => Vec::new(),
    };
    if let Some(n) = node.get("description")
        && let Some(text) = n.as_str()
        && !text.trim().is_empty()
    {
        let chars = text.trim().chars().count();
        if chars < 16 {
            d.emit("short-description", n.line(), format!("{chars} characters"));
        }
        let lower = text.to_lowercase();
        if references.is_empty()
            && let Some(w) = ["http://", "https://", "internal research"].into_iter().find(|w| lower.contains(w))
        {
            d.emit("link-in-description", n.line(), format!("`{w}`"));
        }
    }
    for (r, l) in &references {
        if let Some(c) = GITHUB_REF.captures(r)
            && !COMMIT.is_match(&c[1])
        {
            d.emit("github-branch-link", *l, format!("`{r}`"));
        }
        if r.starts_with("https://attack.mitre.org/") || r.starts_with("http://attack.mitre.org/") {
            d.emit("mitre-link-in-references", *l, format!("`{r}`"));
        }
    }
    if let Some(Node::Seq { items, .. }) = node.get("fields")
        && !items.is_empty()
    {
        d.emit("fields-attribute", node.get("fields").map_or(line, Node::line), "");
    }
    if let Some(n) = node.get("status")
        && let Some(s) = n.as_str().filter(|s| matches!(*s, "deprecated" | "unsupported"))
        && !d.path.split(['/', '\\']).any(|c| c == "deprecated" || c == "unsupported")
    {
        d.emit("deprecated-outside-folder", n.line(), format!("status `{s}`"));
    }
    if let Some(n) = node.get("title")
        && let Some(t) = n.as_str()
    {
        let words: Vec<&str> = t.split(' ').filter(|w| lowercase_word(w)).collect();
        if !words.is_empty() {
            d.emit("title-case", n.line(), format!("`{}`", words.join("`, `")));
        }
    }
    if let Some(Node::Seq { items, .. }) = node.get("falsepositives") {
        for i in items {
            let Some(fp) = i.as_str() else { continue };
            if fp.chars().next().is_some_and(char::is_lowercase) {
                d.emit("falsepositive-not-capitalised", i.line(), format!("`{fp}`"));
            }
            for w in fp.split(' ') {
                let lower = w.trim().to_lowercase();
                if BANNED_FALSEPOSITIVES.contains(&lower.as_str()) {
                    d.emit("banned-falsepositive", i.line(), format!("`{w}` in `{fp}`"));
                }
                if FALSEPOSITIVE_TYPOS.contains(&lower.as_str()) {
                    d.emit("falsepositive-typo", i.line(), format!("`{w}` in `{fp}`"));
                }
            }
        }
    }
    tags(d, node);
}

/// A title word SigmaHQ would capitalise: all in lowercase, not a short
/// word, and not a name, path or number (`.`, `/`, `_`, a leading digit).
fn lowercase_word(w: &str) -> bool {
    w.chars().any(char::is_lowercase)
        && !w.chars().any(char::is_uppercase)
        && !TITLE_SMALL_WORDS.contains(&w)
        && !w.contains(['.', '/', '_'])
        && !w.starts_with(|c: char| c.is_ascii_digit())
}

fn tags(d: &mut Doc, node: &Node) {
    let line = node.get("tags").map_or(node.line(), Node::line);
    let tags: Vec<(String, usize)> = match node.get("tags") {
        Some(Node::Seq { items, .. }) => {
            items.iter().filter_map(|i| i.as_str().map(|s| (s.to_lowercase(), i.line()))).collect()
        }
        _ => Vec::new(),
    };
    let in_ns = |ns: &str| -> Vec<(&str, usize)> {
        tags.iter().filter_map(|(t, l)| t.strip_prefix(ns).map(|n| (n, *l))).collect()
    };
    let detection = in_ns("detection.");
    if detection.len() > 1 {
        d.emit("multiple-detection-tags", detection[1].1, format!("{} of them", detection.len()));
    }
    let tlp = in_ns("tlp.");
    if tlp.len() > 1 {
        d.emit("multiple-tlp-tags", tlp[1].1, format!("{} of them", tlp.len()));
    }
    // Only valid TLP names (others are `invalid-tlp-tag`), and only one
    // (several are `multiple-tlp-tags`).
    for (name, l) in tlp.iter().filter(|_| tlp.len() == 1) {
        if matches!(*name, "white" | "green" | "amber" | "amber-strict" | "red") {
            d.emit("non-clear-tlp", *l, format!("`tlp.{name}`"));
        }
    }
    let attack = in_ns("attack.");
    let technique = |n: &str| n.starts_with('t') && n.chars().any(|c| c.is_ascii_digit());
    let techniques: Vec<&str> = attack.iter().map(|(n, _)| *n).filter(|n| technique(n)).collect();
    // Any other `attack.` tag counts as a tactic: a misspelt one is
    // `invalid-attack-tag`'s.
    let id = |n: &str| technique(n) || ((n.starts_with('g') || n.starts_with('s')) && n[1..].parse::<u32>().is_ok());
    if !techniques.is_empty() && attack.iter().all(|(n, _)| id(n)) {
        d.emit("technique-without-tactic", line, format!("`attack.{}`", techniques.join("`, `attack.")));
    }
    let folders: Vec<&str> = d.path.split(['/', '\\']).collect();
    for f in DETECTION_FOLDERS {
        if folders.contains(&format!("rules-{f}").as_str()) && !detection.iter().any(|(n, _)| *n == f) {
            d.emit("missing-folder-detection-tag", line, format!("under `rules-{f}`: `detection.{f}`"));
        }
    }
}

/// The field-value items of every search of a detection: (field, modifiers, value).
pub(super) fn items(det: &Node) -> Vec<(&str, &Node)> {
    let mut out = Vec::new();
    let Node::Map { entries, .. } = det else { return out };
    for (key, search) in entries {
        if key == "condition" || key == "timeframe" {
            continue;
        }
        let maps: Vec<&Node> = match search {
            Node::Map { .. } => vec![search],
            Node::Seq { items, .. } => items.iter().filter(|i| matches!(i, Node::Map { .. })).collect(),
            _ => Vec::new(),
        };
        for m in maps {
            if let Node::Map { entries, .. } = m {
                out.extend(entries.iter().map(|(k, v)| (k.as_str(), v)));
            }
        }
    }
    out
}

/// The conventions of a rule's detection against its log source.
pub(super) fn detection(d: &mut Doc, node: &Node) {
    let Some(det) = node.get("detection") else { return };
    let ls = node.get("logsource");
    let ls_of = |k: &str| ls.and_then(|l| l.get(k)).and_then(Node::as_str);
    let items = items(det);
    let field = |k: &str| k.split('|').next().unwrap_or_default().to_string();
    let event_ids: Vec<&Node> = items.iter().filter(|(k, _)| field(k) == "EventID").map(|(_, v)| *v).collect();
    if ls_of("service") == Some("sysmon") && event_ids.is_empty() {
        d.emit("sysmon-without-eventid", det.line(), "");
    }
    if ls_of("product") == Some("windows")
        && let Some(cat) = ls_of("category")
    {
        if CATEGORIES_WITHOUT_EVENTID.contains(&cat) {
            for v in &event_ids {
                d.emit("category-with-eventid", v.line(), format!("`category: {cat}`"));
            }
        }
        let implied = implied_providers(cat);
        for (key, value) in items.iter().filter(|(k, _)| field(k) == "Provider_Name") {
            let values: Vec<&Node> = match value {
                Node::Seq { items, .. } => items.iter().collect(),
                n => vec![*n],
            };
            if let Some(p) = values.iter().filter_map(|v| v.as_str()).find(|p| implied.contains(p)) {
                d.emit("category-with-provider-name", value.line(), format!("`{key}: {p}` with `category: {cat}`"));
            }
        }
    }
    for (key, value) in &items {
        let mut parts = key.split('|');
        let f = parts.next().unwrap_or_default();
        let mods: Vec<&str> = parts.collect();
        let values: Vec<&Node> = match value {
            Node::Seq { items, .. } => items.iter().collect(),
            n => vec![*n],
        };
        if f.to_lowercase().contains("user")
            && values.len() == 1
            && let Some(v) = values[0].as_str()
            && (v.contains("AUTORI") || v.contains("AUTHORI"))
        {
            d.emit("localized-user-field", value.line(), format!("`{key}: {v}`"));
        }
        if matches!(f, "Hashes" | "Hash") && !mods.iter().any(|m| *m == "re" || *m == "exists") {
            for v in &values {
                if let Some(why) = v.as_str().and_then(hash_problem) {
                    d.emit("invalid-hash", v.line(), format!("`{}`: {why}", v.as_str().unwrap_or_default()));
                }
            }
        }
    }
}

/// What is wrong with a Sysmon `Hashes` search value, if anything: each
/// piece between wildcards must be TYPE=hash.
fn hash_problem(v: &str) -> Option<String> {
    for piece in v.split(['*', '?']).filter(|p| !p.is_empty()) {
        let Some((kind, hash)) = piece.split_once('=') else {
            return Some(format!("`{piece}` is not TYPE=hash"));
        };
        let len = match kind {
            "MD5" | "IMPHASH" => 32,
            "SHA1" => 40,
            "SHA256" => 64,
            _ => return Some(format!("unknown hash type `{kind}`")),
        };
        if hash.len() != len || !HEX.is_match(hash) {
            return Some(format!("{kind} needs {len} hexadecimal digits"));
        }
    }
    None
}

/// The conventions of a correlation.
pub(super) fn correlation(d: &mut Doc, c: &Node) {
    let Some(ty) = c.get("type").and_then(Node::as_str) else { return };
    let rules = match c.get("rules") {
        Some(Node::Seq { items, .. }) => items.len(),
        Some(n) if n.as_str().is_some() => 1,
        _ => 0,
    };
    if matches!(ty, "temporal" | "temporal_ordered") && rules < 2 {
        d.emit("temporal-with-one-rule", c.get("rules").map_or(c.line(), Node::line), format!("`{ty}` over {rules}"));
    }
    let grouped = match c.get("group-by") {
        Some(Node::Seq { items, .. }) => !items.is_empty(),
        Some(n) => !n.is_null(),
        None => false,
    };
    if matches!(ty, "event_count" | "value_count" | "temporal" | "temporal_ordered") && !grouped {
        d.emit("missing-group-by", c.line(), format!("`{ty}`"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn title_words_and_hashes() {
        let low: Vec<&str> =
            "Run of whoami.exe via cmd and 7zip From a share".split(' ').filter(|w| lowercase_word(w)).collect();
        assert_eq!(low, ["cmd", "share"]);
        assert_eq!(hash_problem("SHA256=ABCDEF"), Some("SHA256 needs 64 hexadecimal digits".into()));
        assert_eq!(hash_problem(&format!("*MD5={}*", "a".repeat(32))), None);
        assert_eq!(hash_problem(&format!("IMPHASH={}", "0".repeat(32))), None);
        assert!(hash_problem("CRC32=1234").is_some());
        assert!(hash_problem("abcdef").is_some());
    }
}
