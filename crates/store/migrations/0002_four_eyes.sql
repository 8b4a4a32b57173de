-- vigie store, version 2: suppressions that wait for a second person.
-- `pending` = 1 until someone other than the author (and other than the
-- account it covers) approves it; the engine applies only pending = 0.
ALTER TABLE suppressions ADD COLUMN pending BIGINT NOT NULL DEFAULT 0;
ALTER TABLE suppressions ADD COLUMN approved_by TEXT;
CREATE INDEX sessions_user ON sessions (user_name);
