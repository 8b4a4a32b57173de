-- vigie store, version 1. Written in the SQL that SQLite and PostgreSQL
-- both accept: BIGINT for every integer, TEXT for every string and JSON,
-- explicit text ids (no sequences), times as milliseconds since the epoch.

-- Every alert (Sigma, correlation, analytic, incident), with its triage.
CREATE TABLE alerts (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    rule_id TEXT NOT NULL,
    rule_name TEXT NOT NULL,
    rule_author TEXT NOT NULL,
    level TEXT NOT NULL,
    level_rank BIGINT NOT NULL,
    account TEXT,
    source_ip TEXT,
    first_seen_ms BIGINT NOT NULL,
    last_seen_ms BIGINT NOT NULL,
    count BIGINT NOT NULL,
    reason TEXT NOT NULL,
    body TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee TEXT,
    resolution TEXT,
    resolution_reason TEXT,
    updated_ms BIGINT NOT NULL
);
CREATE INDEX alerts_first_seen ON alerts (first_seen_ms);
CREATE INDEX alerts_account ON alerts (account, first_seen_ms);
CREATE INDEX alerts_kind ON alerts (kind, first_seen_ms);

-- Response actions: executed, dry run, failed, or waiting for approval.
CREATE TABLE actions (
    id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    action TEXT NOT NULL,
    status TEXT NOT NULL,
    account TEXT,
    source_ip TEXT,
    at_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX actions_alert ON actions (alert_id);
CREATE INDEX actions_account ON actions (account);

CREATE TABLE notes (
    id TEXT PRIMARY KEY,
    alert_id TEXT NOT NULL,
    author TEXT NOT NULL,
    at_ms BIGINT NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX notes_alert ON notes (alert_id);

CREATE TABLE suppressions (
    id TEXT PRIMARY KEY,
    rule_id TEXT,
    account TEXT,
    source_ip TEXT,
    reason TEXT NOT NULL,
    created_by TEXT NOT NULL,
    created_ms BIGINT NOT NULL,
    expires_ms BIGINT NOT NULL
);

-- The data-access trail: one row per read of personal data or IAM act.
-- `subjects` holds pseudonyms only (hex HMAC-SHA256, space-separated);
-- `categories` is comma-separated. The key leads with the time, so that
-- rows (which arrive nearly in time order) append to the index instead of
-- landing at random places in it; it also serves retention.
CREATE TABLE access (
    id TEXT NOT NULL,
    ts_ms BIGINT NOT NULL,
    account TEXT NOT NULL,
    source_ip TEXT,
    user_agent TEXT,
    kind TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT,
    categories TEXT NOT NULL,
    subjects TEXT NOT NULL,
    subject_count BIGINT NOT NULL,
    records BIGINT NOT NULL,
    bytes BIGINT,
    PRIMARY KEY (ts_ms, id)
);
CREATE INDEX access_account_ts ON access (account, ts_ms);
CREATE INDEX access_source_ts ON access (source_ip, ts_ms);

-- Console users (argon2 hashes), API tokens (SHA-256 of the token) and
-- sessions (SHA-256 of the cookie).
CREATE TABLE users (
    name TEXT PRIMARY KEY,
    role TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_ms BIGINT NOT NULL
);
CREATE TABLE tokens (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    created_ms BIGINT NOT NULL
);
CREATE TABLE sessions (
    id_hash TEXT PRIMARY KEY,
    user_name TEXT NOT NULL,
    role TEXT NOT NULL,
    csrf TEXT NOT NULL,
    expires_ms BIGINT NOT NULL
);

-- Analyst actions, each row chained to the one before by a SHA-256.
CREATE TABLE audit (
    seq BIGINT PRIMARY KEY,
    at_ms BIGINT NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    target TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    hash TEXT NOT NULL
);
