//! Console users, API tokens and sessions. Only hashes are stored: argon2
//! for passwords (computed by the console), SHA-256 for tokens and session
//! cookies, which are long random strings and need no slow hash.

use crate::backend::Sql;
use crate::{Store, StoreError, now_ms};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub const ROLES: &[&str] = &["analyst", "admin", "dpo"];

pub fn sha256_hex(s: &str) -> String {
    hex::encode(Sha256::digest(s.as_bytes()))
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct User {
    pub name: String,
    pub role: String,
    #[serde(skip)]
    pub password_hash: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Session {
    pub user: String,
    pub role: String,
    pub csrf: String,
    pub expires_ms: i64,
}

fn check_role(role: &str) -> Result<(), StoreError> {
    if ROLES.contains(&role) {
        Ok(())
    } else {
        Err(StoreError::Invalid { field: "role", message: format!("`{role}`: expected one of {}", ROLES.join(", ")) })
    }
}

impl Store {
    /// Create or replace a user.
    pub fn put_user(&self, name: &str, role: &str, password_hash: &str) -> Result<(), StoreError> {
        check_role(role)?;
        self.db.execute(
            "INSERT INTO users (name, role, password_hash, created_ms) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (name) DO UPDATE SET role = excluded.role, password_hash = excluded.password_hash",
            &[name.into(), role.into(), password_hash.into(), Sql::Int(now_ms())],
        )?;
        Ok(())
    }

    pub fn user(&self, name: &str) -> Result<Option<User>, StoreError> {
        let rows = self.db.query("SELECT name, role, password_hash FROM users WHERE name = $1", &[name.into()])?;
        Ok(rows.first().map(|r| User { name: r.text(0), role: r.text(1), password_hash: r.text(2) }))
    }

    pub fn users(&self) -> Result<Vec<User>, StoreError> {
        let rows = self.db.query("SELECT name, role, password_hash FROM users ORDER BY name", &[])?;
        Ok(rows.iter().map(|r| User { name: r.text(0), role: r.text(1), password_hash: r.text(2) }).collect())
    }

    /// Record an API token (its hash); the token itself is shown once.
    pub fn put_token(&self, name: &str, role: &str, token: &str) -> Result<String, StoreError> {
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

    pub fn put_session(&self, cookie: &str, s: &Session) -> Result<(), StoreError> {
        self.db.execute(
            "INSERT INTO sessions (id_hash, user_name, role, csrf, expires_ms) VALUES ($1, $2, $3, $4, $5)",
            &[
                sha256_hex(cookie).into(),
                s.user.as_str().into(),
                s.role.as_str().into(),
                s.csrf.as_str().into(),
                Sql::Int(s.expires_ms),
            ],
        )?;
        Ok(())
    }

    /// The live session a cookie opens, if any.
    pub fn session(&self, cookie: &str, now: i64) -> Result<Option<Session>, StoreError> {
        let rows = self.db.query(
            "SELECT user_name, role, csrf, expires_ms FROM sessions WHERE id_hash = $1 AND expires_ms > $2",
            &[sha256_hex(cookie).into(), Sql::Int(now)],
        )?;
        Ok(rows.first().map(|r| Session { user: r.text(0), role: r.text(1), csrf: r.text(2), expires_ms: r.int(3) }))
    }

    pub fn end_session(&self, cookie: &str) -> Result<(), StoreError> {
        self.db.execute("DELETE FROM sessions WHERE id_hash = $1", &[sha256_hex(cookie).into()])?;
        Ok(())
    }
}
