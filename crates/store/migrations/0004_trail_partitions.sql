-- postgres only
-- The data-access trail by day (issue 18): one partition per UTC day of
-- ts_ms, created by the writer as days come (access_dYYYYMMDD), filled by
-- COPY and dropped whole by retention. The table of earlier versions
-- becomes the default partition, which also takes rows dated too far from
-- now to deserve a partition of their own.
ALTER TABLE access RENAME TO access_default;
ALTER INDEX access_pkey RENAME TO access_default_pkey;
ALTER INDEX access_account_ts RENAME TO access_default_account_ts;
ALTER INDEX access_source_ts RENAME TO access_default_source_ts;
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
) PARTITION BY RANGE (ts_ms);
CREATE INDEX access_account_ts ON access (account, ts_ms);
CREATE INDEX access_source_ts ON access (source_ip, ts_ms);
ALTER TABLE access ATTACH PARTITION access_default DEFAULT;
