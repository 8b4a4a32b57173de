//! `vigie users`, `vigie token`, `vigie audit verify`: who may use the
//! console and API, and whether the record of what they did is intact.

use crate::aftermath::{StoreArgs, whoami};
use anyhow::{Context, Result, bail};
use clap::{Args, Subcommand};
use std::io::Read;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum UsersCommand {
    /// Create a console user, or replace its role and password.
    ///
    /// The password is read from standard input (one line), so that it never
    /// appears in the shell history or the process list.
    ///
    /// Example: printf '%s\n' "$PASSWORD" | vigie users add alice --role analyst --config vigie.toml
    Add {
        name: String,
        /// analyst (triage), dpo (impact, notifications, subject export, audit), or admin (everything).
        #[arg(long)]
        role: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// List users and their roles.
    List {
        #[command(flatten)]
        store: StoreArgs,
    },
}

#[derive(Args)]
pub struct TokenArgs {
    /// A name for the token (the script or system that uses it).
    pub name: String,
    /// The role the token acts with.
    #[arg(long)]
    pub role: String,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Subcommand)]
pub enum AuditCommand {
    /// Walk the audit log's hash chain; exit 1 if any entry was changed, removed or inserted.
    Verify {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        json: bool,
    },
}

pub fn users(c: UsersCommand) -> Result<ExitCode> {
    match c {
        UsersCommand::Add { name, role, store } => {
            let mut pw = String::new();
            std::io::stdin().read_to_string(&mut pw).context("reading the password from standard input")?;
            let pw = pw.trim_end_matches(['\r', '\n']);
            if pw.chars().count() < 12 {
                bail!("the password must have at least 12 characters");
            }
            let s = store.open()?;
            let hash = vigie_console::auth::hash_password(pw).map_err(|e| anyhow::anyhow!("{e}"))?;
            s.put_user(&name, &role, &hash)?;
            s.audit(&whoami(), "user.put", &name, &serde_json::json!({"role": role}).to_string())?;
            eprintln!("user {name} ({role}) saved");
        }
        UsersCommand::List { store } => {
            for u in store.open()?.users()? {
                println!("{}\t{}", u.name, u.role);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn token(a: TokenArgs) -> Result<ExitCode> {
    let s = a.store.open()?;
    let token = vigie_console::auth::random_token();
    let id = s.put_token(&a.name, &a.role, &token)?;
    s.audit(&whoami(), "token.create", &a.name, &serde_json::json!({"role": a.role, "id": id}).to_string())?;
    eprintln!("token {id} for {} ({}); it is shown once, keep it:", a.name, a.role);
    println!("{token}");
    Ok(ExitCode::SUCCESS)
}

pub fn audit(c: AuditCommand) -> Result<ExitCode> {
    let AuditCommand::Verify { store, json } = c;
    let r = store.open()?.verify_audit()?;
    if json {
        println!("{}", serde_json::to_string(&r)?);
    } else if r.ok {
        println!("audit log intact: {} entries, head {}", r.entries, &r.head[..16]);
    } else {
        println!(
            "audit log BROKEN at entry {}: {}",
            r.broken_at.unwrap_or(0),
            r.problem.as_deref().unwrap_or("unknown")
        );
    }
    Ok(if r.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
