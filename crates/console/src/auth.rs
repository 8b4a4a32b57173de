//! Who is asking, and may they. A request carries either a session cookie
//! (the console, after a login) or an API token (`Authorization: Bearer`,
//! scripts). Cookie-borne requests that change anything must also carry
//! the session's CSRF token in `X-CSRF-Token`: a page of another site can
//! make the browser send the cookie, but it cannot read the token.

use crate::{ApiError, Console};
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{Method, header};
use rand::Rng;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;

pub const COOKIE: &str = "vigie_session";

/// An authenticated caller.
#[derive(Debug, Clone)]
pub struct Principal {
    pub user: String,
    pub role: String,
    /// The session's cookie value (to log out), when it came by cookie.
    pub cookie: Option<String>,
    pub csrf: Option<String>,
}

impl Principal {
    /// Refuse unless the caller has one of `roles` (admin always may).
    pub fn require(&self, roles: &[&str]) -> Result<(), ApiError> {
        if self.role == "admin" || roles.contains(&self.role.as_str()) {
            Ok(())
        } else {
            Err(ApiError::Forbidden(format!("role `{}` may not do this (needs {})", self.role, roles.join(" or "))))
        }
    }
}

pub fn hash_password(password: &str) -> Result<String, ApiError> {
    let salt =
        SaltString::encode_b64(&rand::rng().random::<[u8; 16]>()).map_err(|e| ApiError::Internal(e.to_string()))?;
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::Internal(e.to_string()))
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| argon2::Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A random secret: session cookies, CSRF tokens, API tokens, one-time
/// passwords.
pub fn random_token() -> String {
    hex::encode(rand::rng().random::<[u8; 24]>())
}

fn cookie_value(parts: &Parts, name: &str) -> Option<String> {
    parts.headers.get_all(header::COOKIE).iter().filter_map(|v| v.to_str().ok()).find_map(|h| {
        h.split(';').map(str::trim).find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=').map(str::to_string))
    })
}

/// Constant-time comparison of two secrets.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl FromRequestParts<Console> for Principal {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, c: &Console) -> Result<Self, Self::Rejection> {
        let bearer = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| h.strip_prefix("Bearer "))
            .map(|t| t.trim().to_string());
        if let Some(token) = bearer {
            let store = c.store.clone();
            let found = c.blocking(move || store.token(&token)).await?;
            return match found {
                Some((user, role)) => Ok(Principal { user, role, cookie: None, csrf: None }),
                None => Err(ApiError::Unauthorized("unknown API token".into())),
            };
        }
        let Some(cookie) = cookie_value(parts, COOKIE) else {
            return Err(ApiError::Unauthorized("log in first (or send an API token)".into()));
        };
        let store = c.store.clone();
        let lookup = cookie.clone();
        let session = c.blocking(move || store.session(&lookup, vigie_store::now_ms())).await?;
        let Some(s) = session else {
            return Err(ApiError::Unauthorized("the session has expired; log in again".into()));
        };
        if !matches!(parts.method, Method::GET | Method::HEAD) {
            let given = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok()).unwrap_or("");
            if !same(given, &s.csrf) {
                return Err(ApiError::Forbidden("missing or wrong X-CSRF-Token".into()));
            }
        }
        Ok(Principal { user: s.user, role: s.role, cookie: Some(cookie), csrf: Some(s.csrf) })
    }
}

/// Failed logins per address in a fixed window.
pub struct LoginLimiter {
    pub max_failures: u32,
    pub window_ms: i64,
    seen: Mutex<HashMap<IpAddr, (i64, u32)>>,
}

impl LoginLimiter {
    pub fn new(max_failures: u32) -> LoginLimiter {
        LoginLimiter { max_failures, window_ms: 15 * 60_000, seen: Mutex::new(HashMap::new()) }
    }

    /// May this address try now? (`Err`: seconds until it may.)
    pub fn check(&self, ip: IpAddr, now: i64) -> Result<(), i64> {
        let Ok(seen) = self.seen.lock() else { return Ok(()) };
        match seen.get(&ip) {
            Some((start, n)) if now - start < self.window_ms && *n >= self.max_failures => {
                Err((self.window_ms - (now - start)) / 1000 + 1)
            }
            _ => Ok(()),
        }
    }

    pub fn failed(&self, ip: IpAddr, now: i64) {
        if let Ok(mut seen) = self.seen.lock() {
            let e = seen.entry(ip).or_insert((now, 0));
            if now - e.0 >= self.window_ms {
                *e = (now, 0);
            }
            e.1 += 1;
            // Bounded: forget windows that are over.
            if seen.len() > 100_000 {
                let w = self.window_ms;
                seen.retain(|_, (s, _)| now - *s < w);
            }
        }
    }

    pub fn succeeded(&self, ip: IpAddr) {
        if let Ok(mut seen) = self.seen.lock() {
            seen.remove(&ip);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_argon2_and_verify() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }

    #[test]
    fn the_limiter_blocks_after_too_many_failures_then_forgets() {
        let l = LoginLimiter::new(3);
        let ip: IpAddr = "127.0.0.1".parse().unwrap();
        for _ in 0..3 {
            assert!(l.check(ip, 0).is_ok());
            l.failed(ip, 0);
        }
        assert!(l.check(ip, 1000).is_err());
        assert!(l.check(ip, 15 * 60_000 + 1).is_ok());
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
