//! `vigie impact`, `vigie notify`, `vigie reidentify`: after an incident,
//! whose data was exposed, and what to tell the regulator and the people.

use anyhow::{Context, Result, bail};
use clap::Args;
use std::path::PathBuf;
use std::process::ExitCode;
use vigie_runtime::config::Config;
use vigie_store::Scope;

/// Where the store is: a configuration file's `[store]`, or a URL.
#[derive(Args, Clone)]
pub struct StoreArgs {
    /// The configuration file whose [store] (and state folder) to use.
    #[arg(long, short, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The store itself: a SQLite file, or postgres://user@host/db (overrides the configuration).
    #[arg(long, value_name = "URL")]
    pub store: Option<String>,
}

impl StoreArgs {
    pub fn config(&self) -> Result<Config> {
        let mut cfg = match &self.config {
            Some(p) => Config::from_file(p)?,
            None => Config::default(),
        };
        if let Some(u) = &self.store {
            cfg.store.url = Some(u.clone());
        }
        Ok(cfg)
    }

    /// The state folder, where the audit chain's key and head live (and
    /// the engine's checkpoints): the configuration's, else the folder of a
    /// SQLite file given alone.
    pub fn state_dir(&self) -> Result<PathBuf> {
        let cfg = self.config()?;
        let url = cfg.store.url.clone().unwrap_or_default();
        if self.config.is_none() && !url.is_empty() && !url.contains("://") {
            let dir = std::path::Path::new(&url).parent().filter(|d| !d.as_os_str().is_empty());
            return Ok(dir.map_or_else(|| PathBuf::from("."), PathBuf::from));
        }
        Ok(cfg.engine.state_dir)
    }

    pub fn open(&self) -> Result<vigie_store::Store> {
        let cfg = self.config()?;
        let url = cfg.store.url.clone().unwrap_or_else(|| cfg.engine.state_dir.join("vigie.db").display().to_string());
        if !url.contains("://") && !std::path::Path::new(&url).exists() {
            bail!("no store at {url}: give --store, or --config with the [store] of a `vigie run`");
        }
        let mut seal_cfg = cfg.clone();
        seal_cfg.engine.state_dir = self.state_dir()?;
        let seal = vigie_runtime::audit_seal(&seal_cfg)?;
        Ok(vigie_store::Store::open(&url).with_context(|| format!("opening the store {url}"))?.with_audit_seal(seal))
    }
}

#[derive(Args)]
pub struct ImpactArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// An incident's id (the alert id of kind `incident`): its account, the sources it found new, the accounts it created.
    #[arg(long, value_name = "ID", conflicts_with_all = ["account", "source"])]
    pub incident: Option<String>,
    /// An account whose reads to count (repeatable).
    #[arg(long, value_name = "NAME")]
    pub account: Vec<String>,
    /// A source address whose reads to count (repeatable; with --account, both must match).
    #[arg(long, value_name = "IP")]
    pub source: Vec<String>,
    /// Start of the window (RFC 3339); default: the beginning of the trail.
    #[arg(long)]
    pub from: Option<String>,
    /// End of the window (RFC 3339); default: now.
    #[arg(long)]
    pub to: Option<String>,
    /// Print one JSON object.
    #[arg(long)]
    pub json: bool,
    /// Write the pseudonymised subject list (subject_pseudonym,categories) to this CSV file.
    #[arg(long, value_name = "FILE")]
    pub subjects_csv: Option<PathBuf>,
}

fn time(s: &Option<String>, default: i64, what: &str) -> Result<i64> {
    match s {
        None => Ok(default),
        Some(t) => Ok(t
            .parse::<jiff::Timestamp>()
            .with_context(|| format!("--{what}: `{t}` is not RFC 3339"))?
            .as_millisecond()),
    }
}

pub fn impact(a: ImpactArgs) -> Result<ExitCode> {
    let store = a.store.open()?;
    let imp = match &a.incident {
        Some(id) => vigie_investigate::incident::report(&store, id)?.impact,
        None => {
            if a.account.is_empty() && a.source.is_empty() {
                bail!("give --incident, or --account and/or --source");
            }
            let scope = Scope {
                accounts: a.account.clone(),
                sources: a.source.clone(),
                from_ms: time(&a.from, 0, "from")?,
                to_ms: time(&a.to, vigie_store::now_ms(), "to")?,
            };
            vigie_investigate::impact::of_scope(&store, scope)?
        }
    };
    store.audit(&whoami(), "impact.cli", a.incident.as_deref().unwrap_or(""), &serde_json::to_string(&imp.scopes)?)?;
    if let Some(p) = &a.subjects_csv {
        std::fs::write(p, vigie_investigate::impact::subjects_csv(&imp)).with_context(|| p.display().to_string())?;
        store.audit(&whoami(), "impact.export_subjects", &p.display().to_string(), &imp.subjects.to_string())?;
    }
    if a.json {
        println!("{}", serde_json::to_string_pretty(&imp)?);
        return Ok(ExitCode::SUCCESS);
    }
    println!("Scope: {}", imp.basis);
    println!("People identified:   {}", imp.subjects);
    for (c, n) in &imp.subjects_by_category {
        println!("  {c:<18} {n}");
    }
    println!("Reads:               {}", imp.reads);
    println!("Person-records:      {} ({} without ids)", imp.records, imp.records_without_ids);
    println!("Estimate:            {}", imp.estimate_basis);
    if let Some(u) = imp.upper_bound_subjects {
        println!("Upper bound:         {u} people (same accounts and window, any source)");
    }
    println!(
        "First / last access: {} / {}",
        imp.first_access.as_deref().unwrap_or("-"),
        imp.last_access.as_deref().unwrap_or("-")
    );
    if imp.bytes_known > 0 {
        println!("Bytes returned:      {} (known for {} reads)", imp.bytes, imp.bytes_known);
    }
    for (ip, n) in &imp.iocs.source_ips {
        println!("IoC address:         {ip} ({n} acts)");
    }
    for (ua, n) in &imp.iocs.user_agents {
        println!("IoC user agent:      {ua} ({n} acts)");
    }
    for acct in &imp.iocs.created_accounts {
        println!("IoC account created: {acct}");
    }
    if let Some(p) = &a.subjects_csv {
        println!("Subject list (pseudonymised): {}", p.display());
    }
    Ok(ExitCode::SUCCESS)
}

/// Who runs the command, for the audit log.
pub fn whoami() -> String {
    format!("cli:{}", std::env::var("USER").unwrap_or_else(|_| "unknown".into()))
}

#[derive(Args)]
pub struct NotifyArgs {
    #[command(flatten)]
    pub store: StoreArgs,
    /// The incident (alert id of kind `incident`).
    #[arg(long, value_name = "ID")]
    pub incident: String,
    /// Write gdpr-art33.md, gdpr-art34.md, nis2.md and notifications.json into this folder; without it, print Art. 33.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Print the drafts as one JSON object.
    #[arg(long)]
    pub json: bool,
}

pub fn notify(a: NotifyArgs) -> Result<ExitCode> {
    let cfg = a.store.config()?;
    let store = a.store.open()?;
    let report = vigie_investigate::incident::report(&store, &a.incident)?;
    let d = vigie_investigate::notify::drafts(&report, &cfg.organisation, vigie_store::now_ms());
    store.audit(&whoami(), "incident.notifications", &a.incident, "{}")?;
    if a.json {
        println!("{}", serde_json::to_string_pretty(&d)?);
    } else if let Some(dir) = &a.out {
        std::fs::create_dir_all(dir)?;
        std::fs::write(dir.join("gdpr-art33.md"), &d.markdown.gdpr_art33)?;
        std::fs::write(dir.join("gdpr-art34.md"), &d.markdown.gdpr_art34)?;
        std::fs::write(dir.join("nis2.md"), &d.markdown.nis2)?;
        std::fs::write(dir.join("notifications.json"), serde_json::to_vec_pretty(&d)?)?;
        println!(
            "Drafts written to {} (Art. 33 due {}: {})",
            dir.display(),
            d.deadlines.gdpr_art33.due,
            d.deadlines.gdpr_art33.remaining
        );
    } else {
        println!("{}", d.markdown.gdpr_art33);
    }
    Ok(ExitCode::SUCCESS)
}

#[derive(Args)]
pub struct ReidentifyArgs {
    /// The pseudonymisation key's file (`<state_dir>/pseudonym.key` by default for `vigie run`).
    #[arg(long, value_name = "FILE")]
    pub key_file: PathBuf,
    /// The pseudonymised subject list (from `vigie impact --subjects-csv` or the console).
    #[arg(long, value_name = "CSV")]
    pub pseudonyms: PathBuf,
    /// The organisation's own subject list: first column the subject id, then anything (name, address).
    #[arg(long, value_name = "CSV")]
    pub subjects: PathBuf,
    /// Where to write the matched lines of the organisation's list.
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
}

pub fn reidentify(a: ReidentifyArgs) -> Result<ExitCode> {
    let key = std::fs::read_to_string(&a.key_file).with_context(|| a.key_file.display().to_string())?;
    let key = vigie_analytics::Pseudonymiser::new(key.trim().as_bytes());
    let p = std::fs::read_to_string(&a.pseudonyms).with_context(|| a.pseudonyms.display().to_string())?;
    let s = std::fs::read_to_string(&a.subjects).with_context(|| a.subjects.display().to_string())?;
    let m = vigie_investigate::reidentify::reidentify(&key, &p, &s);
    let mut out = String::new();
    for (_, line) in &m.people {
        out.push_str(line);
        out.push('\n');
    }
    std::fs::write(&a.out, out).with_context(|| a.out.display().to_string())?;
    eprintln!(
        "{} people matched, {} pseudonyms not in the list; written to {}",
        m.people.len(),
        m.unmatched.len(),
        a.out.display()
    );
    Ok(if m.unmatched.is_empty() { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
