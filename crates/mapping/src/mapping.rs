//! The mapping file format and its built-in instances.

use crate::cond::{Check, Cond};
use crate::route::{RouteScratch, Router};
use std::path::Path;
use vigie_events::path::scalar_text;
use vigie_events::{FieldPath, Flat, Value, Wanted};
use vigie_sigma::LogSource;
use vigie_sigma::yaml::{Node, parse_documents};

/// A mapping that could not be loaded.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{origin}: line {line}: {message}")]
pub struct MappingError {
    pub origin: String,
    pub line: usize,
    pub message: String,
}

/// Conditions before Sigma names are resolved to paths: (name, check).
type RawConds = Vec<(String, Check)>;

/// One log source a mapping can route events to.
#[derive(Debug, Clone)]
pub struct Entry {
    pub logsource: LogSource,
    /// Sigma field renames that apply only to this log source (Security
    /// 4688's `NewProcessName` for Sigma's `Image`, ...): Sigma name to the
    /// field names tried in order, each placed by the mapping's `fields`.
    pub fields: Vec<(String, Vec<String>)>,
    raw_when: Vec<RawConds>,
    /// Any one set must hold entirely; no set means every event qualifies.
    pub(crate) when: Vec<Vec<Cond>>,
}

/// A loaded mapping.
#[derive(Debug, Clone)]
pub struct Mapping {
    pub name: String,
    pub description: String,
    detect: Vec<Vec<Cond>>,
    pub timestamp: Vec<FieldPath>,
    fields: Vec<(String, Vec<String>)>,
    default: Vec<String>,
    pub entries: Vec<Entry>,
    router: Router,
    /// Fields holding personal data (`personal:`, dotted paths): every
    /// alert's copy of them is pseudonymised, like `data_subject.ids`.
    pub personal: Vec<String>,
}

const BUILTIN: &[(&str, &str)] = &[
    ("windows", include_str!("../builtin/windows.yml")),
    ("windows-evtx", include_str!("../builtin/windows-evtx.yml")),
    ("windows-flat", include_str!("../builtin/windows-flat.yml")),
    ("ecs", include_str!("../builtin/ecs.yml")),
    ("app", include_str!("../builtin/app.yml")),
];

/// Auto-detection precedence: the most specific shapes first.
const DETECT_ORDER: &[&str] = &["windows-evtx", "windows-flat", "app", "ecs"];

/// A built-in mapping by name.
pub fn builtin(name: &str) -> Option<Mapping> {
    let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
    Some(Mapping::from_yaml(text, &format!("<builtin {name}>"), None).expect("built-in mappings are valid"))
}

/// The built-in mappings used for auto-detection, in precedence order.
pub fn builtins() -> Vec<Mapping> {
    DETECT_ORDER.iter().filter_map(|n| builtin(n)).collect()
}

/// The first mapping whose `detect` conditions recognise this event.
pub fn detect_shape(mappings: &[Mapping], ev: &Flat) -> Option<usize> {
    mappings.iter().position(|m| m.detects(ev))
}

fn err(origin: &str, node: &Node, message: impl Into<String>) -> MappingError {
    MappingError { origin: origin.to_string(), line: node.line(), message: message.into() }
}

fn strings(node: &Node) -> Vec<String> {
    match node {
        Node::Seq { items, .. } => items.iter().filter_map(|n| n.as_str().map(str::to_string)).collect(),
        n => n.as_str().map(|s| vec![s.to_string()]).unwrap_or_default(),
    }
}

fn field_map(origin: &str, node: Option<&Node>) -> Result<Vec<(String, Vec<String>)>, MappingError> {
    match node {
        None => Ok(Vec::new()),
        Some(Node::Map { entries, .. }) => Ok(entries.iter().map(|(k, v)| (k.clone(), strings(v))).collect()),
        Some(n) => Err(err(origin, n, "`fields` must map Sigma field names to event paths")),
    }
}

fn conds(origin: &str, node: Option<&Node>) -> Result<Vec<RawConds>, MappingError> {
    let one = |n: &Node| -> Result<RawConds, MappingError> {
        let Node::Map { entries, .. } = n else {
            return Err(err(origin, n, "a condition set must map field names to values or {exists: bool}"));
        };
        entries
            .iter()
            .map(|(k, v)| {
                let check = match v.get("exists") {
                    Some(b) => Check::Exists(b.as_str().is_some_and(|s| s == "true")),
                    None => Check::any_of(&strings(v)),
                };
                Ok((k.clone(), check))
            })
            .collect()
    };
    match node {
        None => Ok(Vec::new()),
        Some(Node::Seq { items, .. }) => items.iter().map(one).collect(),
        Some(n) => Ok(vec![one(n)?]),
    }
}

impl Mapping {
    /// Load a mapping file; `extends` names a built-in mapping or a file
    /// relative to this one.
    pub fn from_file(path: &Path) -> Result<Mapping, MappingError> {
        let origin = path.display().to_string();
        let text = vigie_events::text::read_capped(path).map_err(|message| MappingError {
            origin: origin.clone(),
            line: 0,
            message,
        })?;
        Mapping::from_yaml(&text, &origin, path.parent())
    }

    pub fn from_yaml(text: &str, origin: &str, dir: Option<&Path>) -> Result<Mapping, MappingError> {
        let docs = parse_documents(text).map_err(|e| MappingError {
            origin: origin.into(),
            line: e.line,
            message: e.message,
        })?;
        let Some(doc) = docs.first() else {
            return Err(MappingError { origin: origin.into(), line: 1, message: "empty mapping file".into() });
        };
        let base = match doc.get("extends").and_then(Node::as_str) {
            None => None,
            Some(name) => Some(match builtin(name) {
                Some(m) => m,
                None => {
                    let p = dir.map_or_else(|| Path::new(name).to_path_buf(), |d| d.join(name));
                    Mapping::from_file(&p).map_err(|e| MappingError {
                        origin: origin.into(),
                        line: doc.get("extends").map_or(1, Node::line),
                        message: format!("cannot load `extends: {name}`: {e}"),
                    })?
                }
            }),
        };
        let mut entries = Vec::new();
        if let Some(Node::Seq { items, .. }) = doc.get("logsources") {
            for it in items {
                let Some(ls) = it.get("logsource") else {
                    return Err(err(origin, it, "each entry of `logsources` needs a `logsource`"));
                };
                let get = |k: &str| ls.get(k).and_then(Node::as_str).map(str::to_lowercase);
                entries.push(Entry {
                    logsource: LogSource {
                        category: get("category"),
                        product: get("product"),
                        service: get("service"),
                    },
                    fields: field_map(origin, it.get("fields"))?,
                    raw_when: conds(origin, it.get("when"))?,
                    when: Vec::new(),
                });
            }
        }
        let mut fields = field_map(origin, doc.get("fields"))?;
        let raw_detect = conds(origin, doc.get("detect"))?;
        let own_default = doc.get("default").map(strings);
        let own_ts = doc.get("timestamp").map(strings);
        let mut m = Mapping {
            name: doc.get("name").and_then(Node::as_str).unwrap_or(origin).to_string(),
            description: doc.get("description").and_then(Node::as_str).unwrap_or_default().to_string(),
            detect: Vec::new(),
            timestamp: Vec::new(),
            fields: Vec::new(),
            default: vec!["{field}".to_string()],
            entries: Vec::new(),
            router: Router::default(),
            personal: doc.get("personal").map(strings).unwrap_or_default(),
        };
        let mut ts: Vec<String> = Vec::new();
        if let Some(b) = base {
            // Own settings win; log sources accumulate.
            let own: Vec<String> = fields.iter().map(|(k, _)| k.clone()).collect();
            fields.extend(b.fields.into_iter().filter(|(k, _)| !own.contains(k)));
            m.default = b.default;
            m.detect = b.detect;
            ts = b.timestamp.iter().map(|p| p.as_str().to_string()).collect();
            entries.splice(0..0, b.entries);
            for f in b.personal {
                if !m.personal.contains(&f) {
                    m.personal.push(f);
                }
            }
        }
        m.fields = fields;
        if let Some(d) = own_default {
            m.default = d;
        }
        if let Some(t) = own_ts {
            ts = t;
        }
        if ts.is_empty() {
            ts.push("@timestamp".into());
        }
        m.timestamp = ts.iter().map(|s| FieldPath::new(s)).collect();
        if !raw_detect.is_empty() {
            // Detection looks at raw event paths, not Sigma names.
            m.detect = raw_detect
                .into_iter()
                .map(|set| set.into_iter().map(|(k, check)| Cond { paths: vec![FieldPath::new(&k)], check }).collect())
                .collect();
        }
        // `when` names Sigma fields: resolve them with this mapping's paths.
        for entry in &mut entries {
            let resolved: Vec<Vec<Cond>> = entry
                .raw_when
                .iter()
                .map(|set| {
                    set.iter().map(|(k, check)| Cond { paths: m.paths_in(entry, k), check: check.clone() }).collect()
                })
                .collect();
            entry.when = resolved;
        }
        m.router = Router::new(&entries);
        m.entries = entries;
        Ok(m)
    }

    fn paths_in(&self, entry: &Entry, field: &str) -> Vec<FieldPath> {
        // A log source may rename a Sigma field to the name its events use
        // (Security 4688 calls `Image` `NewProcessName`); names are then
        // placed by the mapping's own `fields` and `default`.
        let names: Vec<&str> = match entry.fields.iter().find(|(k, _)| k == field) {
            Some((_, renamed)) => renamed.iter().map(String::as_str).collect(),
            None => vec![field],
        };
        let mut out = Vec::new();
        for name in names {
            match self.fields.iter().find(|(k, _)| k == name) {
                Some((_, paths)) => out.extend(paths.iter().map(|p| FieldPath::new(p))),
                None => out.extend(self.default.iter().map(|t| FieldPath::new(&t.replace("{field}", name)))),
            }
        }
        out
    }

    /// Where a Sigma field lives in events routed to `entry`; the first path
    /// present in an event is used.
    pub fn field_paths(&self, entry: usize, field: &str) -> Vec<FieldPath> {
        self.paths_in(&self.entries[entry], field)
    }

    /// Does this mapping recognise the event's shape?
    pub fn detects(&self, ev: &Flat) -> bool {
        self.detect.iter().any(|set| set.iter().all(|c| c.holds(ev)))
    }

    /// The log-source entries this event belongs to.
    pub fn route(&self, ev: &Flat, out: &mut Vec<usize>, scratch: &mut RouteScratch) {
        self.router.route(&self.entries, ev, out, scratch);
    }

    /// Ask `wanted` for every path this mapping's shape recognition and
    /// routing read.
    pub fn want(&self, wanted: &mut Wanted) {
        let conds = self.detect.iter().chain(self.entries.iter().flat_map(|e| e.when.iter()));
        for c in conds.flatten() {
            c.paths.iter().for_each(|p| wanted.add(p));
        }
    }

    /// The event's own time, as written in the first timestamp field present.
    pub fn timestamp<'v>(&self, ev: &'v Value) -> Option<std::borrow::Cow<'v, str>> {
        self.timestamp.iter().find_map(|p| p.first(ev).and_then(scalar_text))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mapping_file_larger_than_the_cap_is_refused_unread() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("huge.yml");
        std::fs::File::create(&p).unwrap().set_len(vigie_events::text::MAX_FILE_BYTES + 1).unwrap();
        let e = Mapping::from_file(&p).unwrap_err();
        assert!(e.message.contains("MiB"), "{}", e.message);
    }

    /// An event flattened with everything kept (and the starred paths the
    /// built-in mappings use).
    fn ev(s: &str) -> Flat {
        let v: Value = sonic_rs::from_str(s).unwrap();
        let mut w = Wanted::all();
        builtins().iter().for_each(|m| m.want(&mut w));
        let mut f = Flat::default();
        f.fill(&v, &w);
        f
    }

    #[test]
    fn builtins_load_and_route_sysmon() {
        let ms = builtins();
        let e = ev(
            r#"{"Event":{"System":{"EventID":1,"Channel":"Microsoft-Windows-Sysmon/Operational"},"EventData":{"Image":"C:\\x.exe"}}}"#,
        );
        let i = detect_shape(&ms, &e).unwrap();
        assert_eq!(ms[i].name, "windows-evtx");
        let mut out = Vec::new();
        ms[i].route(&e, &mut out, &mut RouteScratch::default());
        let ls: Vec<String> = out.iter().map(|&k| ms[i].entries[k].logsource.to_string()).collect();
        assert!(ls.contains(&"product:windows category:process_creation".to_string()), "{ls:?}");
        assert!(ls.contains(&"product:windows service:sysmon".to_string()), "{ls:?}");
        assert_eq!(ls.len(), 2, "{ls:?}");
        let paths = ms[i].field_paths(out[0], "Image");
        assert_eq!(paths[0].as_str(), "Event.EventData.Image");
        // The 4688 rename is placed by the EVTX mapping's own paths.
        let sec = ev(
            r#"{"Event":{"System":{"EventID":4688,"Channel":"Security"},"EventData":{"NewProcessName":"C:\\a.exe"}}}"#,
        );
        ms[i].route(&sec, &mut out, &mut RouteScratch::default());
        let pc =
            out.iter().find(|&&k| ms[i].entries[k].logsource.category.as_deref() == Some("process_creation")).unwrap();
        assert_eq!(ms[i].field_paths(*pc, "Image")[0].as_str(), "Event.EventData.NewProcessName");
    }

    #[test]
    fn windows_routing_is_fully_indexed() {
        for name in ["windows-evtx", "windows-flat"] {
            let m = builtin(name).unwrap();
            let (groups, fields, scan) = m.router.shape();
            assert_eq!(scan, 0, "{name}: every Windows entry is an exact lookup");
            assert!(groups <= 3, "{name}: {groups} groups {fields:?}");
        }
    }

    #[test]
    fn security_4688_renames_image() {
        let m = builtin("windows-flat").unwrap();
        let e = ev(r#"{"EventID":"4688","Channel":"Security","NewProcessName":"C:\\a.exe"}"#);
        assert!(m.detects(&e));
        let mut out = Vec::new();
        m.route(&e, &mut out, &mut RouteScratch::default());
        let pc = out.iter().find(|&&k| m.entries[k].logsource.category.as_deref() == Some("process_creation")).unwrap();
        assert_eq!(m.field_paths(*pc, "Image")[0].as_str(), "NewProcessName");
    }

    #[test]
    fn ecs_and_app_shapes() {
        let ms = builtins();
        let web = ev(
            r#"{"@timestamp":"2024-01-01T00:00:00Z","event":{"category":["web"],"dataset":"nginx.access"},"url":{"query":"a=1"}}"#,
        );
        let i = detect_shape(&ms, &web).unwrap();
        assert_eq!(ms[i].name, "ecs");
        let mut out = Vec::new();
        ms[i].route(&web, &mut out, &mut RouteScratch::default());
        assert_eq!(ms[i].entries[out[0]].logsource.category.as_deref(), Some("webserver"));
        assert_eq!(ms[i].field_paths(out[0], "cs-uri-query")[0].as_str(), "url.query");
        let read = ev(r#"{"event":{"category":["database"]},"user":{"name":"a"},"data_subject":{"ids":["1"]}}"#);
        let i = detect_shape(&ms, &read).unwrap();
        assert_eq!(ms[i].name, "app");
        ms[i].route(&read, &mut out, &mut RouteScratch::default());
        assert_eq!(ms[i].entries[out[0]].logsource.category.as_deref(), Some("data_access"));
        let web: Value = sonic_rs::from_str(r#"{"@timestamp":"2024-01-01T00:00:00Z"}"#).unwrap();
        assert_eq!(ms[i].timestamp(&web).as_deref(), Some("2024-01-01T00:00:00Z"));
    }

    #[test]
    fn remembered_routes_are_the_routes() {
        // One scratch for every mapping and event, as a detection thread
        // keeps it, against a fresh one per event: routing values that
        // differ only in a kind, a later routing field, a value's position
        // in an array or a wildcard entry's field must not share an answer.
        let mut ms = builtins();
        ms.push(
            Mapping::from_yaml(
                "name: mine\nextends: ecs\nlogsources:\n  - logsource: {product: myapp}\n    when:\n      service.name: [billing*]\n  - logsource: {product: myapp, service: tagged}\n    when:\n      service.id: {exists: true}\n",
                "mine.yml",
                None,
            )
            .unwrap(),
        );
        let channels = [r#""Microsoft-Windows-Sysmon/Operational""#, r#""Security""#, r#""security""#, "null", "[]"];
        let ids = ["1", r#""1""#, "12", "[1,12]", "[12,1]", "4688", "{}", "null"];
        let types = [None, Some(r#""CreateKey""#), Some(r#""DeleteKey""#), Some("7")];
        let mut docs = Vec::new();
        for c in channels {
            for id in ids {
                for t in types {
                    let data = t.map_or(String::new(), |t| format!(r#","EventData":{{"EventType":{t}}}"#));
                    docs.push(format!(r#"{{"Event":{{"System":{{"Channel":{c},"EventID":{id}}}{data}}}}}"#));
                    let flat_type = t.map_or(String::new(), |t| format!(r#","EventType":{t}"#));
                    docs.push(format!(r#"{{"Channel":{c},"EventID":{id}{flat_type}}}"#));
                }
            }
        }
        for svc in [r#""billing-api""#, r#""Billing""#, r#""other""#, r#"["x","billing"]"#, "3"] {
            for id in ["null", r#""""#, "0", "[]"] {
                docs.push(format!(r#"{{"event":{{"dataset":"a"}},"service":{{"name":{svc},"id":{id}}}}}"#));
            }
        }
        let mut shared = RouteScratch::default();
        let (mut kept, mut fresh) = (Vec::new(), Vec::new());
        for round in 0..2 {
            for d in &docs {
                let e = ev(d);
                for m in &ms {
                    m.route(&e, &mut kept, &mut shared);
                    m.route(&e, &mut fresh, &mut RouteScratch::default());
                    assert_eq!(kept, fresh, "{} round {round}: {d}", m.name);
                }
            }
        }
        assert!(!shared.routes.is_empty(), "routes are remembered");
    }

    #[test]
    fn personal_fields_are_read_and_inherited() {
        let dir = std::env::temp_dir().join(format!("vigie-mapping-personal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("base.yml"), "name: base\npersonal: customer.iban\nlogsources: []\n").unwrap();
        let m =
            Mapping::from_yaml("name: mine\nextends: base.yml\npersonal: [customer.email]\n", "mine.yml", Some(&dir))
                .unwrap();
        assert_eq!(m.personal, ["customer.email", "customer.iban"]);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn user_mapping_extends_a_builtin() {
        let m = Mapping::from_yaml(
            "name: mine\nextends: ecs\nfields:\n  cs-uri-query: request.query\nlogsources:\n  - logsource: {product: myapp}\n    when:\n      service.name: [billing*]\n",
            "mine.yml",
            None,
        )
        .unwrap();
        assert_eq!(m.field_paths(0, "cs-uri-query")[0].as_str(), "request.query");
        let mut out = Vec::new();
        m.route(&ev(r#"{"service":{"name":"Billing-API"}}"#), &mut out, &mut RouteScratch::default());
        assert_eq!(out.len(), 1);
        assert_eq!(m.entries[out[0]].logsource.product.as_deref(), Some("myapp"));
        let bad = Mapping::from_yaml("logsources:\n  - when: {}\n", "bad.yml", None).unwrap_err();
        assert!(bad.to_string().contains("bad.yml: line 2"), "{bad}");
    }
}
