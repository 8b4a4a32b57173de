//! Second factors of console users: TOTP secrets (RFC 6238), sealed.
//!
//! A TOTP secret must be read back to check a code, so it cannot be hashed
//! like a password. It is sealed with ChaCha20-Poly1305 under a key
//! derived from the audit key (which is kept outside the database), with
//! the user's name as associated data: a copy of the database alone gives
//! no second factor, and a sealed secret moved to another user's row does
//! not open. The TOTP arithmetic itself is the console's (`totp-rs`); the
//! store keeps the secrets, the enrolment in progress and the last time
//! step accepted, so that a code is never accepted twice.

use crate::backend::Sql;
use crate::{Store, StoreError};
use ring::aead::{Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

/// The label the sealing key is derived under.
const LABEL: &[u8] = b"vigie totp secret v1";

/// A user's second factor as stored.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Mfa {
    /// The confirmed secret, opened.
    pub secret: Option<Vec<u8>>,
    /// A secret being enrolled, opened.
    pub pending: Option<Vec<u8>>,
    /// The last time step a code was accepted for.
    pub last_step: i64,
}

fn no_key() -> StoreError {
    StoreError::Invalid {
        field: "second factor",
        message: "the store has no key to seal secrets with (vigie opens it with the audit key of its state folder)"
            .into(),
    }
}

impl Store {
    fn sealing_key(&self) -> Result<LessSafeKey, StoreError> {
        let seal = self.seal.as_ref().ok_or_else(no_key)?;
        let key = seal.derive_key(LABEL);
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key).map_err(|_| no_key())?;
        Ok(LessSafeKey::new(unbound))
    }

    /// `hex(nonce || ciphertext || tag)`, bound to `user`.
    fn seal_secret(&self, user: &str, secret: &[u8]) -> Result<String, StoreError> {
        use rand::Rng;
        let key = self.sealing_key()?;
        let nonce: [u8; NONCE_LEN] = rand::rng().random();
        let mut buf = secret.to_vec();
        key.seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(user.as_bytes()), &mut buf)
            .map_err(|_| StoreError::Io("sealing a secret failed".into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buf);
        Ok(hex::encode(out))
    }

    fn open_secret(&self, user: &str, sealed: &str) -> Result<Vec<u8>, StoreError> {
        let corrupt = || StoreError::Invalid {
            field: "second factor",
            message: format!("the secret of `{user}` does not open with this key (moved, edited, or another key)"),
        };
        let key = self.sealing_key()?;
        let bytes = hex::decode(sealed).map_err(|_| corrupt())?;
        if bytes.len() < NONCE_LEN {
            return Err(corrupt());
        }
        let (nonce, body) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| corrupt())?;
        let mut body = body.to_vec();
        let plain = key.open_in_place(nonce, Aad::from(user.as_bytes()), &mut body).map_err(|_| corrupt())?;
        Ok(plain.to_vec())
    }

    /// The user's second factor (`None`: no such user).
    pub fn mfa(&self, user: &str) -> Result<Option<Mfa>, StoreError> {
        let rows = self
            .db
            .query("SELECT totp_secret, totp_pending, totp_last_step FROM users WHERE name = $1", &[user.into()])?;
        let Some(r) = rows.first() else { return Ok(None) };
        let open = |i: usize| -> Result<Option<Vec<u8>>, StoreError> {
            let s = r.text(i);
            if s.is_empty() { Ok(None) } else { self.open_secret(user, &s).map(Some) }
        };
        Ok(Some(Mfa { secret: open(0)?, pending: open(1)?, last_step: r.int(2) }))
    }

    /// Start enrolling `secret` for `user` (it counts once confirmed).
    pub fn begin_mfa(&self, user: &str, secret: &[u8]) -> Result<(), StoreError> {
        let sealed = self.seal_secret(user, secret)?;
        let n = self.db.execute("UPDATE users SET totp_pending = $2 WHERE name = $1", &[user.into(), sealed.into()])?;
        if n == 0 {
            return Err(StoreError::NotFound { what: "user", id: user.into() });
        }
        Ok(())
    }

    /// The pending secret becomes the user's second factor, `step` (the
    /// code that confirmed it) is spent, and the user's sessions end: the
    /// next login asks for a code.
    ///
    /// `checked` is the pending secret the code was checked against: if
    /// another enrolment replaced it meanwhile, nothing is confirmed (the
    /// user would otherwise hold a code for a key that is not theirs).
    pub fn confirm_mfa(&self, user: &str, step: i64, checked: &[u8]) -> Result<(), StoreError> {
        let changed = || StoreError::Invalid {
            field: "second factor",
            message: format!("the enrolment of `{user}` changed or ended meanwhile: start again"),
        };
        self.db.transaction(|c| {
            let rows = c.query("SELECT totp_pending FROM users WHERE name = $1", &[user.into()])?;
            let sealed = rows.first().map(|r| r.text(0)).filter(|s| !s.is_empty()).ok_or_else(changed)?;
            if self.open_secret(user, &sealed)? != checked {
                return Err(changed());
            }
            let n = c.execute(
                "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $2 \
                 WHERE name = $1 AND totp_pending = $3",
                &[user.into(), Sql::Int(step), sealed.as_str().into()],
            )?;
            if n == 0 {
                return Err(changed());
            }
            c.execute("DELETE FROM sessions WHERE user_name = $1", &[user.into()])?;
            Ok(())
        })
    }

    /// Spend `step` for `user`: true once, false if that step or a later
    /// one was already accepted (a replayed or older code).
    pub fn spend_mfa_step(&self, user: &str, step: i64) -> Result<bool, StoreError> {
        let n = self.db.execute(
            "UPDATE users SET totp_last_step = $2 WHERE name = $1 AND totp_last_step < $2",
            &[user.into(), Sql::Int(step)],
        )?;
        Ok(n == 1)
    }

    /// Remove the user's second factor (a lost device) and end its sessions.
    pub fn reset_mfa(&self, user: &str) -> Result<(), StoreError> {
        self.db.transaction(|c| {
            let n =
                c.execute("UPDATE users SET totp_secret = NULL, totp_pending = NULL WHERE name = $1", &[user.into()])?;
            if n == 0 {
                return Err(StoreError::NotFound { what: "user", id: user.into() });
            }
            c.execute("DELETE FROM sessions WHERE user_name = $1", &[user.into()])?;
            Ok(())
        })
    }
}
