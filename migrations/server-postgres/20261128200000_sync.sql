-- PostgreSQL dialect. Accounts, devices, the record store with its change feed, applied
-- commands, field conflicts and the audit trail.

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    scope         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    disabled_at   TIMESTAMPTZ
);

CREATE TABLE devices (
    id           TEXT PRIMARY KEY,
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ,
    revoked_at   TIMESTAMPTZ
);
CREATE INDEX devices_user ON devices (user_id);

-- The change feed's position is (change_tx, change_seq): the writing transaction's id and a
-- sequence number. Several server processes commit concurrently, so a lower change_seq can
-- commit after a higher one was already read. A pull only returns rows whose change_tx is below
-- the oldest transaction still running (pg_snapshot_xmin), and orders by (change_tx,
-- change_seq): every row that becomes visible later has a change_tx at or above that horizon,
-- so it sorts after everything already returned and no cursor ever skips it.
CREATE SEQUENCE records_change_seq;
CREATE TABLE records (
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    village    TEXT NOT NULL,
    body       TEXT,
    hlc        TEXT NOT NULL,
    version    BIGINT NOT NULL,
    change_tx  XID8 NOT NULL DEFAULT pg_current_xact_id(),
    change_seq BIGINT NOT NULL DEFAULT nextval('records_change_seq'),
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX records_feed ON records (change_tx, change_seq);
CREATE INDEX records_scope_feed ON records (village text_pattern_ops, change_tx, change_seq);
CREATE INDEX records_live_village ON records (village text_pattern_ops) WHERE body IS NOT NULL;

CREATE TABLE applied_commands (
    device_id  TEXT NOT NULL,
    command_id TEXT NOT NULL,
    body_hash  TEXT NOT NULL,
    outcome    TEXT NOT NULL,
    applied_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (device_id, command_id)
);

-- Which village each stored photo (blob, by SHA-256) belongs to, from its photo record: a blob
-- is readable only by users whose scope covers one of its villages.
CREATE TABLE blob_owners (
    sha256  TEXT NOT NULL,
    village TEXT NOT NULL,
    PRIMARY KEY (sha256, village)
);

CREATE TABLE receipt_counters (
    village TEXT PRIMARY KEY,
    last    BIGINT NOT NULL
);

CREATE TABLE audit (
    seq        BIGSERIAL PRIMARY KEY,
    at         TIMESTAMPTZ NOT NULL,
    user_id    TEXT,
    device_id  TEXT,
    command_id TEXT,
    action     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    village    TEXT NOT NULL,
    detail     TEXT NOT NULL
);
CREATE INDEX audit_record ON audit (kind, record_id);
CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit is append-only';
END;
$$;
CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION audit_append_only();
