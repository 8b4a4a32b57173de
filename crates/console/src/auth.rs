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
    /// The session may only enrol a second factor (see [`ENROL_ROUTES`]).
    pub enrol_only: bool,
}

/// What a session that must first enrol a second factor may call.
pub const ENROL_ROUTES: &[&str] = &["/api/session", "/api/logout", "/api/mfa/enrol", "/api/mfa/confirm"];

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
                Some((user, role)) => Ok(Principal { user, role, cookie: None, csrf: None, enrol_only: false }),
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
        // Decided again at each request: sessions opened before
        // `require_mfa` was turned on, or before the user became an admin,
        // are held to it too.
        let enrol_only =
            s.enrol_only || (c.settings.require_mfa && !s.mfa && matches!(s.role.as_str(), "admin" | "dpo"));
        if enrol_only && !ENROL_ROUTES.contains(&parts.uri.path()) {
            return Err(ApiError::Forbidden(
                "your role requires a second factor: enrol one first (POST /api/mfa/enrol, then /api/mfa/confirm)"
                    .into(),
            ));
        }
        Ok(Principal { user: s.user, role: s.role, cookie: Some(cookie), csrf: Some(s.csrf), enrol_only })
    }
}

/// The most failed logins an account may have before it is locked: NIST
/// SP 800-63B allows at most 100, the CNIL's password recommendation at
/// most 10 before a block or a delay. A configured limit above is lowered.
pub const MAX_FAILURES_CAP: u32 = 10;
/// Failures after which each further attempt on the account waits, twice as
/// long each time (1 s, 2 s, 4 s, ...).
const BACKOFF_AFTER: u32 = 2;
/// Accounts or addresses remembered at most (entries whose window is over
/// are forgotten first; beyond, new ones are refused: fail closed).
const MAX_TRACKED: usize = 100_000;

/// Why a login attempt is refused before its password is checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// The account is locked, or must wait after its last failure.
    Account { wait_s: i64 },
    /// Too many failures from this address.
    Address { wait_s: i64 },
}

impl Refusal {
    pub fn wait_s(&self) -> i64 {
        match self {
            Refusal::Account { wait_s } | Refusal::Address { wait_s } => *wait_s,
        }
    }
}

/// What is known of one account's or one address's recent failures.
#[derive(Debug, Clone, Copy, Default)]
struct Tally {
    /// Failures (and attempts in flight) since `since`.
    failures: u32,
    since: i64,
    /// No attempt before this time (backoff, or a lock).
    until: i64,
}

#[derive(Default)]
struct Tallies {
    accounts: HashMap<String, Tally>,
    addresses: HashMap<IpAddr, Tally>,
}

/// Failed logins per account and per address. An attempt is admitted and
/// counted as a failure in one step, under one lock, before its password
/// is checked: parallel attempts cannot all pass one check. A success then
/// takes its own attempt back and clears that account's failures only.
///
/// Per account: after [`BACKOFF_AFTER`] failures each attempt waits twice
/// as long as the one before; after `max_failures` (at most
/// [`MAX_FAILURES_CAP`]) the account is locked for `lock_ms`, whatever the
/// address. Per address: after `max_failures` × 4 failures within
/// `window_ms` (guesses spread over many accounts), the address waits for
/// the rest of the window.
pub struct LoginLimiter {
    pub max_failures: u32,
    pub max_address_failures: u32,
    pub window_ms: i64,
    pub lock_ms: i64,
    seen: Mutex<Tallies>,
}

/// A login attempt admitted by the limiter: say how it ended.
#[derive(Debug, PartialEq)]
pub struct Attempt {
    account: String,
    ip: IpAddr,
}

fn key(account: &str) -> String {
    account.trim().to_lowercase()
}

impl LoginLimiter {
    pub fn new(max_failures: u32) -> LoginLimiter {
        let max_failures = max_failures.clamp(1, MAX_FAILURES_CAP);
        LoginLimiter {
            max_failures,
            max_address_failures: max_failures * 4,
            window_ms: 15 * 60_000,
            lock_ms: 15 * 60_000,
            seen: Mutex::new(Tallies::default()),
        }
    }

    /// Admit an attempt on `account` from `ip` at `now` (counting it as a
    /// failure until [`LoginLimiter::succeeded`] says otherwise), or refuse.
    pub fn begin(&self, account: &str, ip: IpAddr, now: i64) -> Result<Attempt, Refusal> {
        let mut t = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        let (w, acct) = (self.window_ms, key(account));
        let fresh = |x: &Tally| now - x.since < w || now < x.until;
        // Bounded: forget what is over; if still full, refuse (fail closed).
        if t.accounts.len() >= MAX_TRACKED {
            t.accounts.retain(|_, x| fresh(x));
        }
        if t.addresses.len() >= MAX_TRACKED {
            t.addresses.retain(|_, x| fresh(x));
        }
        let wait = |until: i64| (until - now + 999) / 1000;
        let mut a =
            t.accounts.get(&acct).copied().filter(|x| fresh(x)).unwrap_or(Tally { since: now, ..Tally::default() });
        let mut i =
            t.addresses.get(&ip).copied().filter(|x| fresh(x)).unwrap_or(Tally { since: now, ..Tally::default() });
        if now < a.until {
            return Err(Refusal::Account { wait_s: wait(a.until) });
        }
        if now < i.until {
            return Err(Refusal::Address { wait_s: wait(i.until) });
        }
        if (!t.accounts.contains_key(&acct) && t.accounts.len() >= MAX_TRACKED)
            || (!t.addresses.contains_key(&ip) && t.addresses.len() >= MAX_TRACKED)
        {
            return Err(Refusal::Address { wait_s: w / 1000 });
        }
        a.failures += 1;
        // An account's failures are forgotten only after a quiet window.
        a.since = now;
        i.failures += 1;
        a.until = if a.failures >= self.max_failures {
            now + self.lock_ms
        } else if a.failures >= BACKOFF_AFTER {
            now + 1000 * (1i64 << (a.failures - BACKOFF_AFTER).min(20))
        } else {
            now
        };
        if i.failures >= self.max_address_failures {
            i.until = i.since + w;
        }
        t.accounts.insert(acct.clone(), a);
        t.addresses.insert(ip, i);
        Ok(Attempt { account: acct, ip })
    }

    /// The attempt's password was right: take the attempt back from its
    /// address, and clear its account's failures (only that account's).
    pub fn succeeded(&self, at: Attempt) {
        let mut t = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        t.accounts.remove(&at.account);
        if let Some(i) = t.addresses.get_mut(&at.ip) {
            i.failures = i.failures.saturating_sub(1);
        }
    }

    /// The password was right but the second factor's code is still to
    /// come: take the attempt back from the account and the address without
    /// clearing their earlier failures (a wrong code, later, counts).
    pub fn release(&self, at: Attempt) {
        let mut t = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(a) = t.accounts.get_mut(&at.account) {
            a.failures = a.failures.saturating_sub(1);
            if a.failures < BACKOFF_AFTER {
                a.until = a.until.min(a.since);
            }
        }
        if let Some(i) = t.addresses.get_mut(&at.ip) {
            i.failures = i.failures.saturating_sub(1);
        }
    }

    /// Is the account locked (not just waiting) at `now`?
    pub fn locked(&self, account: &str, now: i64) -> bool {
        let t = self.seen.lock().unwrap_or_else(|p| p.into_inner());
        t.accounts.get(&key(account)).is_some_and(|a| a.failures >= self.max_failures && now < a.until)
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

    fn ip(n: u8) -> IpAddr {
        IpAddr::from([127, 0, 0, n])
    }

    #[test]
    fn an_account_is_locked_after_its_limit_whatever_the_address() {
        let l = LoginLimiter::new(5);
        // 100 guesses from 20 addresses, 5 s apart (past every backoff
        // before the lock, all within the lock).
        let checked = (0..100i64).filter(|n| l.begin("admin", ip(*n as u8 % 20 + 1), n * 5000).is_ok()).count();
        assert_eq!(checked, 5);
        assert!(l.locked("admin", 499_000));
        assert!(l.begin("admin", ip(99), 20_000 + 15 * 60_000).is_ok(), "the lock lapses");
    }

    #[test]
    fn failures_back_off_exponentially_then_lock() {
        let l = LoginLimiter::new(10);
        let (mut now, mut waits, mut failures) = (0, Vec::new(), 0);
        while failures < 10 {
            match l.begin("bob", ip(failures as u8 % 2 + 1), now) {
                Ok(_) => failures += 1,
                Err(Refusal::Account { wait_s }) => {
                    waits.push(wait_s);
                    now += wait_s * 1000;
                }
                Err(r) => panic!("{r:?}"),
            }
        }
        assert_eq!(waits, [1, 2, 4, 8, 16, 32, 64, 128]);
        assert!(l.locked("bob", now));
        assert_eq!(l.begin("bob", ip(3), now), Err(Refusal::Account { wait_s: 15 * 60 }));
    }

    #[test]
    fn a_success_clears_only_its_own_account() {
        let l = LoginLimiter::new(3);
        let mut checked = 0;
        for k in 0..6 {
            let now = k * 5000;
            checked += l.begin("admin", ip(1), now).is_ok() as u32;
            let ok = l.begin("analyst1", ip(1), now).unwrap();
            l.succeeded(ok);
        }
        assert_eq!(checked, 3, "the analyst's logins must not reset the admin's failures");
        assert!(l.locked("admin", 30_000));
        assert!(l.begin("ADMIN", ip(2), 30_000).is_err(), "names are compared without case");
    }

    /// A right password awaiting its code is not a failure, but does not
    /// wipe the failures before it either.
    #[test]
    fn an_attempt_awaiting_its_code_is_released_not_cleared() {
        let l = LoginLimiter::new(2);
        for k in 0..5 {
            let a = l.begin("ann", ip(1), k * 10).expect("released attempts never add up");
            l.release(a);
        }
        assert!(l.begin("ann", ip(1), 100).is_ok(), "one real failure");
        let a = l.begin("ann", ip(1), 200).unwrap();
        l.release(a);
        assert!(l.begin("ann", ip(1), 300).is_ok());
        assert!(l.locked("ann", 300), "the two real failures still lock");
    }

    #[test]
    fn parallel_attempts_cannot_pass_one_check_together() {
        let l = std::sync::Arc::new(LoginLimiter::new(5));
        let admitted: usize = std::thread::scope(|s| {
            let hs: Vec<_> = (0..40)
                .map(|_| {
                    let l = l.clone();
                    s.spawn(move || l.begin("root", ip(1), 0).is_ok() as usize)
                })
                .collect();
            hs.into_iter().map(|h| h.join().unwrap()).sum()
        });
        assert!(admitted <= 5, "{admitted}");
    }

    #[test]
    fn an_address_guessing_many_accounts_is_limited() {
        let l = LoginLimiter::new(3);
        let admitted = (0..100).filter(|n| l.begin(&format!("user{n}"), ip(1), 0).is_ok()).count();
        assert_eq!(admitted, 12);
        assert!(matches!(l.begin("other", ip(1), 1), Err(Refusal::Address { .. })));
        assert!(l.begin("other", ip(2), 1).is_ok());
        assert!(same("abc", "abc") && !same("abc", "abd") && !same("abc", "ab"));
    }
}
