-- vigie store, version 3: a second factor (TOTP, RFC 6238) for console
-- users. The secrets are sealed (ChaCha20-Poly1305, under a key derived
-- from the audit key, which is kept outside the database); `totp_pending`
-- holds a secret being enrolled until a first code confirms it, and
-- `totp_last_step` the last time step accepted, so that no code is
-- accepted twice (RFC 6238, section 5.2).
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_last_step BIGINT NOT NULL DEFAULT 0;
-- `full`, or `enrol`: a session that may only enrol a second factor
-- (an admin or dpo without one, when the console requires it).
ALTER TABLE sessions ADD COLUMN scope TEXT NOT NULL DEFAULT 'full';
