//! `vigie users`, `vigie token`, `vigie audit verify`: who may use the
//! console and API, and whether the record of what they did is intact.
//! Every change is written to the audit log; a change of a user's role or
//! password, or its removal, ends that user's console sessions at once.

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
        /// Print one JSON object: {"users": [{"name", "role", "mfa"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Remove a console user: its sessions end at once.
    ///
    /// The last admin cannot be removed (make another admin first).
    ///
    /// Example: vigie users remove alice --config vigie.toml
    Remove {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
    /// Remove a user's second factor (a lost or replaced device): its
    /// sessions end, and it enrols a new one at its next login (the console
    /// asks for it when [console] require_mfa is on and the user is an
    /// admin or dpo; anyone can enrol one from the console's "2FA" page).
    ///
    /// Example: vigie users reset-mfa alice --config vigie.toml
    ResetMfa {
        name: String,
        #[command(flatten)]
        store: StoreArgs,
    },
}

/// `vigie token NAME --role ROLE` creates a token; `list` and `revoke`
/// manage them.
#[derive(Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct TokenCommand {
    #[command(subcommand)]
    pub command: Option<TokenSub>,
    /// A name for a new token (the script or system that uses it).
    pub name: Option<String>,
    /// The role the new token acts with: analyst, dpo or admin.
    #[arg(long)]
    pub role: Option<String>,
    #[command(flatten)]
    pub store: StoreArgs,
}

#[derive(Subcommand)]
pub enum TokenSub {
    /// List API tokens: id, name, role and creation time (never the token, which is shown once).
    List {
        #[command(flatten)]
        store: StoreArgs,
        /// Print one JSON object: {"tokens": [{"id", "name", "role", "created_ms"}]}.
        #[arg(long)]
        json: bool,
    },
    /// Revoke a token by its id (from `vigie token list`): it opens nothing from the next request on.
    ///
    /// Example: vigie token revoke 3f9a0c1d2e4b5a69 --config vigie.toml
    Revoke {
        id: String,
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
    /// Walk the audit log's HMAC chain and hold its end against the head kept in the state folder.
    ///
    /// Exit status 1 if any entry was changed, removed (the newest included)
    /// or inserted, or the chain was recomputed: the chain's key is in
    /// <state_dir>/audit.key ([store] audit_key_file), never in the database,
    /// and the newest entry's sequence and MAC in <state_dir>/audit.head.
    ///
    /// The chain is also held against the head recorded in the engine's last
    /// checkpoint (<state_dir>/state.redb; not readable while `vigie run`
    /// holds it), and against any head given with --head, as kept by a
    /// receiver of the [store] audit_sinks.
    ///
    /// Example: vigie audit verify --config vigie.toml --json
    /// Example: vigie audit verify --config vigie.toml --head 1532:hmac-sha256:9f2c...
    Verify {
        #[command(flatten)]
        store: StoreArgs,
        #[arg(long)]
        json: bool,
        /// A head kept elsewhere (the "seq" and "mac" of an audit_head record), as SEQ:MAC; repeatable.
        #[arg(long = "head", value_name = "SEQ:MAC")]
        heads: Vec<String>,
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
        UsersCommand::List { store, json } => {
            let users = store.open()?.users()?;
            if json {
                println!("{}", serde_json::json!({ "users": users }));
            } else {
                for u in users {
                    println!("{}\t{}\t{}", u.name, u.role, if u.mfa { "2fa" } else { "password only" });
                }
            }
        }
        UsersCommand::Remove { name, store } => {
            let s = store.open()?;
            s.remove_user(&name)?;
            s.audit(&whoami(), "user.remove", &name, "{}")?;
            eprintln!("user {name} removed; its sessions are ended");
        }
        UsersCommand::ResetMfa { name, store } => {
            let s = store.open()?;
            s.reset_mfa(&name)?;
            s.audit(&whoami(), "mfa.reset", &name, "{}")?;
            eprintln!("second factor of {name} removed; its sessions are ended");
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub fn token_command(t: TokenCommand) -> Result<ExitCode> {
    let create = match (t.name, t.role) {
        (Some(name), Some(role)) => Some(TokenArgs { name, role, store: t.store }),
        (Some(_), None) => bail!("give the new token's --role (analyst, dpo or admin)"),
        _ => None,
    };
    match (t.command, create) {
        (Some(TokenSub::List { store, json }), _) => {
            let tokens = store.open()?.tokens()?;
            if json {
                println!("{}", serde_json::json!({ "tokens": tokens }));
            } else {
                for t in tokens {
                    println!("{}\t{}\t{}\t{}", t.id, t.name, t.role, vigie_alert::rfc3339(t.created_ms));
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        (Some(TokenSub::Revoke { id, store }), _) => {
            let s = store.open()?;
            let row = s.revoke_token(&id)?;
            s.audit(
                &whoami(),
                "token.revoke",
                &row.name,
                &serde_json::json!({"id": row.id, "role": row.role}).to_string(),
            )?;
            eprintln!("token {} ({}, {}) revoked", row.id, row.name, row.role);
            Ok(ExitCode::SUCCESS)
        }
        (None, Some(a)) => token(a),
        (None, None) => {
            bail!("give a token name and --role to create one, or `list` or `revoke` (see vigie token --help)")
        }
    }
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
    let AuditCommand::Verify { store, json, heads } = c;
    let mut elsewhere = Vec::new();
    for h in &heads {
        let (seq, mac) = h.split_once(':').context("--head: expected SEQ:MAC")?;
        let seq = seq.trim().parse().with_context(|| format!("--head: `{seq}` is not a sequence number"))?;
        elsewhere.push((format!("--head {seq}"), vigie_store::audit::Head { seq, mac: mac.trim().to_string() }));
    }
    // The last checkpoint's copy, unless the engine holds the state store.
    let mut notes = Vec::new();
    let state = store.state_dir()?;
    if state.join("state.redb").exists() {
        match vigie_runtime::store::Store::read_audit_head(&state) {
            Ok(Some(h)) => elsewhere.push(("the last checkpoint".to_string(), h)),
            Ok(None) => notes.push("the last checkpoint records no audit head".to_string()),
            Err(e) => notes.push(format!("the last checkpoint was not checked ({e}): is `vigie run` running?")),
        }
    }
    let r = store.open()?.verify_audit_with(&elsewhere)?;
    if json {
        let mut v = serde_json::to_value(&r)?;
        v["notes"] = serde_json::json!(notes);
        println!("{v}");
    } else if r.ok {
        let sealed = if r.sealed { "keyed, head file matches" } else { "NOT keyed: no audit key given" };
        println!(
            "audit log intact: {} entries ({sealed}), head {}",
            r.entries,
            r.head.chars().take(28).collect::<String>()
        );
        for label in &r.checked_against {
            println!("  matches the head recorded in {label}");
        }
        for n in &notes {
            println!("  note: {n}");
        }
    } else {
        println!(
            "audit log BROKEN at entry {}: {}",
            r.broken_at.unwrap_or(0),
            r.problem.as_deref().unwrap_or("unknown")
        );
    }
    Ok(if r.ok { ExitCode::SUCCESS } else { ExitCode::from(1) })
}
