//! Console users, API tokens and sessions. Only hashes are stored: argon2
//! for passwords (computed by the console), SHA-256 for tokens and session
//! cookies, which are long random strings and need no slow hash.
//!
//! A session is only as good as its user: it is read joined to the user's
//! current row, so that a removed user's cookie opens nothing and a demoted
//! user's cookie carries the new role; and any change to a user's role or
//! password, or its removal, deletes that user's sessions at once.

use crate::backend::{Conn, Sql};
use crate::{Store, StoreError, now_ms};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub const ROLES: &[&str] = &["analyst", "admin", "dpo"];

/// The longest user or token name.
pub const MAX_NAME: usize = 64;

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub name: String,
    pub role: String,
    #[serde(skip)]
    pub password_hash: String,
    /// Has a confirmed second factor (TOTP).
    pub mfa: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: String,
    pub role: String,
    pub csrf: String,
    pub expires_ms: i64,
    /// The session may only enrol a second factor (and log out): an admin
    /// or dpo without one, when `[console] require_mfa` is on.
    pub enrol_only: bool,
    /// The user has a second factor now (read with the session; not stored
    /// in it).
    pub mfa: bool,
}

/// An API token as listed (never the token itself, which is shown once).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TokenRow {
    pub id: String,
    pub name: String,
    pub role: String,
    pub created_ms: i64,
}

fn check_role(role: &str) -> Result<(), StoreError> {
    if ROLES.contains(&role) {
        Ok(())
    } else {
        Err(StoreError::Invalid { field: "role", message: format!("`{role}`: expected one of {}", ROLES.join(", ")) })
    }
}

/// A user or token name: 1 to 64 of letters, digits, `.`, `_`, `-` and
/// `@`, starting with a letter or digit (no spaces, no control or
/// look-alike characters that would make two names read the same in the
/// audit log).
pub fn check_name(field: &'static str, name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME
        && name.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@'));
    if ok {
        Ok(())
    } else {
        Err(StoreError::Invalid {
            field,
            message: format!(
                "`{}`: 1 to {MAX_NAME} letters, digits, `.`, `_`, `-` or `@`, starting with a letter or digit",
                name.escape_debug()
            ),
        })
    }
}

/// Serialise changes to the set of admins across instances sharing a
/// PostgreSQL store (SQLite has one writer already).
fn lock_users(c: &mut dyn Conn, postgres: bool) -> Result<(), StoreError> {
    if postgres {
        c.query("SELECT pg_advisory_xact_lock(7175806966)", &[])?;
    }
    Ok(())
}

fn other_admins(c: &mut dyn Conn, name: &str) -> Result<i64, StoreError> {
    let rows = c.query("SELECT COUNT(*) FROM users WHERE role = 'admin' AND name <> $1", &[name.into()])?;
    Ok(rows.first().map_or(0, |r| r.int(0)))
}

fn user_row(r: &crate::Row) -> User {
    User { name: r.text(0), role: r.text(1), password_hash: r.text(2), mfa: r.int(3) != 0 }
}

fn scope(enrol_only: bool) -> &'static str {
    if enrol_only { "enrol" } else { "full" }
}

impl Store {
    /// Create or replace a user. A change of role or password ends the
    /// user's sessions; the last admin cannot be demoted.
    pub fn put_user(&self, name: &str, role: &str, password_hash: &str) -> Result<(), StoreError> {
        check_name("name", name)?;
        check_role(role)?;
        let pg = self.db.is_postgres();
        self.db.transaction(|c| {
            lock_users(c, pg)?;
            let before = c.query("SELECT role, password_hash FROM users WHERE name = $1", &[name.into()])?;
            if let Some(b) = before.first() {
                if b.text(0) == "admin" && role != "admin" && other_admins(c, name)? == 0 {
                    return Err(StoreError::Invalid {
                        field: "role",
                        message: format!("`{name}` is the last admin; make another admin first"),
                    });
                }
                if b.text(0) != role || b.text(1) != password_hash {
                    c.execute("DELETE FROM sessions WHERE user_name = $1", &[name.into()])?;
                }
            }
            c.execute(
                "INSERT INTO users (name, role, password_hash, created_ms) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash",
                &[name.into(), role.into(), password_hash.into(), Sql::Int(now_ms())],
            )?;
            Ok(())
        })
    }

    /// Remove a user and end its sessions; the last admin cannot be removed.
    pub fn remove_user(&self, name: &str) -> Result<(), StoreError> {
        let pg = self.db.is_postgres();
        self.db.transaction(|c| {
            lock_users(c, pg)?;
            let before = c.query("SELECT role FROM users WHERE name = $1", &[name.into()])?;
            let Some(b) = before.first() else {
                return Err(StoreError::NotFound { what: "user", id: name.into() });
            };
            if b.text(0) == "admin" && other_admins(c, name)? == 0 {
                return Err(StoreError::Invalid {
                    field: "name",
                    message: format!("`{name}` is the last admin; make another admin first"),
                });
            }
            c.execute("DELETE FROM sessions WHERE user_name = $1", &[name.into()])?;
            c.execute("DELETE FROM users WHERE name = $1", &[name.into()])?;
            Ok(())
        })
    }

    pub fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        let rows = self.db.query(
            "SELECT name, role, password_hash, CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END FROM users WHERE name = $1",
            &[name.into()],
        )?;
        Ok(rows.first().map(user_row))
    }

    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = self
            .db
            .query("SELECT name, role, password_hash, CASE WHEN totp_secret IS NULL THEN 0 ELSE 1 END FROM users ORDER BY name", &[])?;
        Ok(rows.iter().map(user_row).collect())
    }

    /// Record an API token (its hash); the token itself is shown once.
    pub fn put_token(&self, name: &str, role: &str, token: &str) -> Result<String, StoreError> {
        check_name("name", name)?;
        check_role(role)?;
        let hash = sha256_hex(token);
        let id = hash[..16].to_string();
        self.db.execute(
            "INSERT INTO tokens (id, name, role, token_hash, created_ms) VALUES ($1, $2, $3, $4, $5)",
            &[id.as_str().into(), name.into(), role.into(), hash.into(), Sql::Int(now_ms())],
        )?;
        Ok(id)
    }

    /// The (name, role) a token stands for.
    pub fn token(&self, token: &str) -> Result<Option<(String, String)>, StoreError> {
        let rows = self.db.query("SELECT name, role FROM tokens WHERE token_hash = $1", &[sha256_hex(token).into()])?;
        Ok(rows.first().map(|r| (r.text(0), r.text(1))))
    }

    /// Every API token (id, name, role, creation), oldest first.
    pub fn tokens(&self) -> Result<Vec<TokenRow>, StoreError> {
        let rows = self.db.query("SELECT id, name, role, created_ms FROM tokens ORDER BY created_ms, id", &[])?;
        Ok(rows
            .iter()
            .map(|r| TokenRow { id: r.text(0), name: r.text(1), role: r.text(2), created_ms: r.int(3) })
            .collect())
    }

    /// Revoke a token by its id: it opens nothing from the next request on.
    pub fn revoke_token(&self, id: &str) -> Result<TokenRow, StoreError> {
        self.db.transaction(|c| {
            let rows = c.query("SELECT id, name, role, created_ms FROM tokens WHERE id = $1", &[id.into()])?;
            let Some(r) = rows.first() else {
                return Err(StoreError::NotFound { what: "token", id: id.into() });
            };
            c.execute("DELETE FROM tokens WHERE id = $1", &[id.into()])?;
            Ok(TokenRow { id: r.text(0), name: r.text(1), role: r.text(2), created_ms: r.int(3) })
        })
    }

    pub fn put_session(&self, cookie: &str, s: &Session) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO sessions (id_hash, user_name, role, csrf, expires_ms, scope) VALUES ($1, $2, $3, $4, $5, $6)",
            &[
                sha256_hex(cookie).into(),
                s.user.as_str().into(),
                s.role.as_str().into(),
                s.csrf.as_str().into(),
                Sql::Int(s.expires_ms),
                scope(s.enrol_only).into(),
            ],
        )?;
        Ok(())
    }

    /// The live session a cookie opens, if any, with the user's role as it
    /// stands now (a removed user's session opens nothing).
    pub fn session(&self, cookie: &str, now: i64) -> Result<Option<Session>, StoreError> {
        let rows = self.db.query(
            "SELECT s.user_name, u.role, s.csrf, s.expires_ms, s.scope, CASE WHEN u.totp_secret IS NULL THEN 0 ELSE 1 END \
             FROM sessions s JOIN users u ON u.name = s.user_name \
             WHERE s.id_hash = $1 AND s.expires_ms > $2 AND s.role = u.role",
            &[sha256_hex(cookie).into(), Sql::Int(now)],
        )?;
        Ok(rows.first().map(|r| Session {
            user: r.text(0),
            role: r.text(1),
            csrf: r.text(2),
            expires_ms: r.int(3),
            enrol_only: r.text(4) == scope(true),
            mfa: r.int(5) != 0,
        }))
    }

    /// How many live sessions a user has (for tests and the users list).
    pub fn session_count(&self, user: &str, now: i64) -> Result<i64, StoreError> {
        let rows = self.db.query(
            "SELECT COUNT(*) FROM sessions WHERE user_name = $1 AND expires_ms > $2",
            &[user.into(), Sql::Int(now)],
        )?;
        Ok(rows.first().map_or(0, |r| r.int(0)))
    }

    pub fn end_session(&self, cookie: &str) -> Result<(), StoreError> {
        self.db.execute("DELETE FROM sessions WHERE id_hash = $1", &[sha256_hex(cookie).into()])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn names_are_checked() {
        for bad in ["", " ", "a b", "-x", "é", "a\u{0}", &"a".repeat(65)] {
            assert!(super::check_name("name", bad).is_err(), "{bad:?}");
        }
        for good in ["alice", "a.b-c_d@org", "x1"] {
            super::check_name("name", good).unwrap();
        }
    }
}
