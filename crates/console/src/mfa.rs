//! The second factor: TOTP (RFC 6238: HMAC-SHA1, 6 digits, 30-second
//! steps, one step of clock drift either way), the format every
//! authenticator app reads from an `otpauth://` URI.
//!
//! - `POST /api/mfa/enrol`: a new secret for the caller, pending until
//!   `POST /api/mfa/confirm` receives a first valid code. Confirming ends
//!   the user's sessions: the next login asks for a code.
//! - `DELETE /api/users/{name}/mfa` (admin) or `vigie users reset-mfa`: a
//!   lost device. The user's sessions end.
//!
//! A code is accepted once: the store keeps the last time step accepted
//! per user and refuses that step and older ones. The secrets are sealed in
//! the store (`vigie_store::mfa`). API tokens are machine credentials and
//! take no second factor; give them the narrowest role.

use crate::auth::Principal;
use crate::{ApiError, Console};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use rand::Rng;
use serde::Deserialize;
use serde_json::{Value, json};
use totp_rs::{Algorithm, Builder, Secret, Totp};

/// Seconds per code.
pub const STEP_S: u64 = 30;
/// The name authenticator apps show beside the account.
const ISSUER: &str = "vigie";

/// 160 random bits (RFC 4226 recommends 160).
pub fn new_secret() -> Vec<u8> {
    rand::rng().random::<[u8; 20]>().to_vec()
}

fn totp(secret: &[u8], account: &str) -> Result<Totp, ApiError> {
    Builder::new()
        .with_algorithm(Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(STEP_S)
        .with_secret(Secret::from(secret.to_vec()))
        .with_account_name(account)
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| ApiError::Internal(format!("second factor: {e}")))
}

/// The time step `code` is valid for at `now_s` (within one step of
/// drift), if it is valid.
pub fn check(secret: &[u8], code: &str, now_s: u64) -> Option<i64> {
    let code: String = code.chars().filter(|c| !c.is_whitespace()).collect();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    totp(secret, "check").ok()?.check(&code, now_s).map(|s| s as i64)
}

/// The code for `now_s` (what the authenticator app shows).
pub fn code(secret: &[u8], now_s: u64) -> Result<String, ApiError> {
    Ok(totp(secret, "code")?.generate(now_s).to_string())
}

/// The secret as the user types it into an app (RFC 4648 base32).
pub fn base32(secret: &[u8]) -> String {
    Secret::from(secret.to_vec()).to_base32()
}

/// The secret from its base32 form.
pub fn from_base32(text: &str) -> Option<Vec<u8>> {
    Secret::try_from_base32(text.trim()).ok().map(|s| s.as_bytes().to_vec())
}

/// `otpauth://totp/vigie:NAME?secret=...&issuer=vigie` (a QR code of it
/// is what apps scan).
pub fn uri(secret: &[u8], account: &str) -> Result<String, ApiError> {
    totp(secret, account)?.to_url().map_err(|e| ApiError::Internal(format!("second factor: {e}")))
}

pub fn now_s() -> u64 {
    (vigie_store::now_ms() / 1000).max(0) as u64
}

/// Console sessions only: an API token belongs to a script, not a person.
fn person(p: &Principal) -> Result<(), ApiError> {
    if p.cookie.is_none() {
        return Err(ApiError::Forbidden("a second factor is enrolled from a console session, not with a token".into()));
    }
    Ok(())
}

/// `POST /api/mfa/enrol`: a new pending secret for the caller.
pub async fn enrol(State(c): State<Console>, p: Principal) -> Result<Json<Value>, ApiError> {
    person(&p)?;
    let (s, name) = (c.store.clone(), p.user.clone());
    let now = c.blocking(move || s.mfa(&name)).await?.unwrap_or_default();
    if now.secret.is_some() {
        return Err(ApiError::BadRequest(
            "a second factor is already enrolled; an admin resets it if the device is lost".into(),
        ));
    }
    let secret = new_secret();
    let (s, name, sec) = (c.store.clone(), p.user.clone(), secret.clone());
    c.blocking(move || s.begin_mfa(&name, &sec)).await?;
    crate::api::audit_log(&c, &p.user, "mfa.enrol", &p.user, json!({})).await?;
    Ok(Json(json!({
        "secret": base32(&secret),
        "uri": uri(&secret, &p.user)?,
        "digits": 6,
        "period": STEP_S,
    })))
}

#[derive(Deserialize)]
pub struct CodeIn {
    code: String,
}

/// `POST /api/mfa/confirm`: a first valid code turns the pending secret
/// into the user's second factor; the user's sessions end.
pub async fn confirm(State(c): State<Console>, p: Principal, Json(i): Json<CodeIn>) -> Result<Response, ApiError> {
    person(&p)?;
    let (s, name) = (c.store.clone(), p.user.clone());
    let m = c.blocking(move || s.mfa(&name)).await?.unwrap_or_default();
    let Some(pending) = m.pending else {
        return Err(ApiError::BadRequest("no enrolment in progress: POST /api/mfa/enrol first".into()));
    };
    let Some(step) = check(&pending, &i.code, now_s()) else {
        crate::api::audit_log(&c, &p.user, "mfa.confirm.failed", &p.user, json!({})).await?;
        return Err(ApiError::BadRequest("wrong code: type the 6 digits the app shows now".into()));
    };
    let (s, name) = (c.store.clone(), p.user.clone());
    c.blocking(move || s.confirm_mfa(&name, step, &pending)).await?;
    crate::api::audit_log(&c, &p.user, "mfa.enable", &p.user, json!({})).await?;
    let clear = format!("{}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0", crate::auth::COOKIE);
    Ok(([(header::SET_COOKIE, clear)], Json(json!({"ok": true, "login_again": true}))).into_response())
}

/// `DELETE /api/users/{name}/mfa` (admin): remove a user's second factor.
pub async fn reset(State(c): State<Console>, p: Principal, Path(name): Path<String>) -> Result<Json<Value>, ApiError> {
    p.require(&["admin"])?;
    let (s, n) = (c.store.clone(), name.clone());
    c.blocking(move || s.reset_mfa(&n)).await?;
    crate::api::audit_log(&c, &p.user, "mfa.reset", &name, json!({})).await?;
    Ok(Json(json!({"ok": true})))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6238, appendix B: the SHA-1 secret "12345678901234567890" at
    /// 59 s gives 94287082 on 8 digits; on 6 digits, its last six.
    #[test]
    fn codes_follow_rfc_6238() {
        let secret = b"12345678901234567890";
        assert_eq!(code(secret, 59).unwrap(), "287082");
        assert_eq!(code(secret, 1_111_111_109).unwrap(), "081804");
        assert_eq!(check(secret, "287082", 59), Some(1));
        assert_eq!(check(secret, "287 082", 59 + 30), Some(1), "one step of drift, spaces ignored");
        assert_eq!(check(secret, "287082", 59 + 90), None, "too old");
        assert_eq!(check(secret, "28708", 59), None);
        assert_eq!(check(secret, "２８７０８２", 59), None, "ASCII digits only");
        assert_eq!(from_base32(&base32(secret)).as_deref(), Some(&secret[..]));
        let u = uri(secret, "ann").unwrap();
        assert!(
            u.starts_with("otpauth://totp/vigie:ann?") && u.contains("secret=") && u.contains("issuer=vigie"),
            "{u}"
        );
    }
}
