-- SQLite dialect. Accounts, devices, the record store with its change feed, applied commands,
-- field conflicts and the audit trail.

-- People who sign in. `login` is the mobile number; `scope` a division code (see core::role).
CREATE TABLE users (
    id            TEXT PRIMARY KEY NOT NULL,
    login         TEXT NOT NULL UNIQUE,
    name          TEXT NOT NULL,
    role          TEXT NOT NULL,
    scope         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    disabled_at   TEXT
) STRICT;

-- One row per login from a device. The bearer token is random; only its SHA-256 is stored.
CREATE TABLE devices (
    id           TEXT PRIMARY KEY NOT NULL,
    user_id      TEXT NOT NULL REFERENCES users (id),
    name         TEXT NOT NULL,
    token_hash   TEXT NOT NULL UNIQUE,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT,
    revoked_at   TEXT
) STRICT;
CREATE INDEX devices_user ON devices (user_id);

-- Every synced record: one row per (kind, id) holding its current body. `village` decides who
-- may see it (scope = code prefix). `change_seq` is the record's position in the change feed:
-- it moves forward on every write, so the feed from a cursor lists each changed record once,
-- and a first sync (the feed from the start) is a snapshot, not a replay of history.
-- SQLite has one writer at a time, so commit order is `change_seq` order. Making it the rowid
-- keeps the records in feed order on disk, so a page of the feed is one sequential read.
CREATE TABLE records (
    change_seq INTEGER PRIMARY KEY,  -- the rowid: the feed is read in storage order
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    village    TEXT NOT NULL,
    body       TEXT,              -- JSON; NULL = deleted
    hlc        TEXT NOT NULL,
    version    INTEGER NOT NULL,  -- per record, +1 on every write
    updated_at TEXT NOT NULL,
    UNIQUE (kind, id)
) STRICT;
-- A village's feed reads (village = ?, change_seq > ?) from this index; wider scopes walk
-- the change_seq index and filter by village prefix (see db/sqlite.rs).
CREATE INDEX records_scope_feed ON records (village, change_seq);
-- Deleted records, so that "live records in a scope" (first-sync progress) is a count over the
-- covering feed index minus a count over this small one.
CREATE INDEX records_deleted_village ON records (village) WHERE body IS NULL;

-- Commands already handled, per device: a retried push is answered from here.
CREATE TABLE applied_commands (
    device_id  TEXT NOT NULL,
    command_id TEXT NOT NULL,
    body_hash  TEXT NOT NULL,
    outcome    TEXT NOT NULL,     -- JSON protocol::Outcome
    applied_at TEXT NOT NULL,
    PRIMARY KEY (device_id, command_id)
) STRICT, WITHOUT ROWID;

-- Which village each stored photo (blob, by SHA-256) belongs to, from its photo record: a blob
-- is readable only by users whose scope covers one of its villages.
CREATE TABLE blob_owners (
    sha256  TEXT NOT NULL,
    village TEXT NOT NULL,
    PRIMARY KEY (sha256, village)
) STRICT, WITHOUT ROWID;

-- Receipt numbers: a sequence per village.
CREATE TABLE receipt_counters (
    village TEXT PRIMARY KEY NOT NULL,
    last    INTEGER NOT NULL
) STRICT;

-- Append-only audit trail: who did what, when, from which device.
CREATE TABLE audit (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    at         TEXT NOT NULL,
    user_id    TEXT,
    device_id  TEXT,
    command_id TEXT,
    action     TEXT NOT NULL,
    kind       TEXT NOT NULL,
    record_id  TEXT NOT NULL,
    village    TEXT NOT NULL,
    detail     TEXT NOT NULL      -- JSON
) STRICT;
CREATE INDEX audit_record ON audit (kind, record_id);
CREATE TRIGGER audit_append_only_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
CREATE TRIGGER audit_append_only_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
