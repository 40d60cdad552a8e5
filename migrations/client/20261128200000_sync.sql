-- SQLite dialect. The device's sync engine: its view of the records, the outbox of commands the
-- server has not acknowledged, the quarantine of refused commands, the sync position, and the
-- photo upload queue. Never edit once released: add a migration.

-- The device's view of every record of its scope, as the screens show it. `body` is what the
-- device shows: the server's body, or the device's own change while that change is pending in
-- the outbox. While a record is pending, a pulled server version is kept aside in `server_*`
-- (never overwriting the worker's change); `restore_on_release` says the server's copy must
-- replace `body` once the last pending command on the record is acknowledged or refused.
CREATE TABLE records (
    kind               TEXT NOT NULL CHECK (length(kind) > 0),
    id                 TEXT NOT NULL CHECK (length(id) > 0),
    village            TEXT NOT NULL,
    body               TEXT NOT NULL,               -- JSON
    hlc                TEXT NOT NULL,
    version            INTEGER NOT NULL DEFAULT 0,  -- server version the body is based on; 0 = only on this device
    server_body        TEXT,                        -- JSON; NULL with server_version set = deleted on the server
    server_hlc         TEXT,
    server_version     INTEGER,                     -- NOT NULL = a server copy is kept aside
    restore_on_release INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (kind, id)
) STRICT;  -- a rowid table: bodies are ~1 KB, too large for WITHOUT ROWID's b-tree pages
CREATE INDEX records_village_kind ON records (village, kind);

-- Commands made on this device and not yet acknowledged, pushed in `seq` order.
-- AUTOINCREMENT: a command retried from the quarantine goes to the end, never into a reused slot.
CREATE TABLE outbox (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    command_id  TEXT NOT NULL UNIQUE,
    command     TEXT NOT NULL,                      -- JSON protocol::Command
    record_kind TEXT,                               -- the main record it touches, for lists
    record_id   TEXT,
    created_at  TEXT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    last_error  TEXT
) STRICT;

-- Every record a pending command touches: a pull never overwrites these.
CREATE TABLE outbox_touches (
    command_id TEXT NOT NULL REFERENCES outbox (command_id) ON DELETE CASCADE,
    kind       TEXT NOT NULL,
    id         TEXT NOT NULL,
    PRIMARY KEY (command_id, kind, id)
) STRICT, WITHOUT ROWID;
CREATE INDEX outbox_touches_record ON outbox_touches (kind, id);

-- Commands the server refused, with its reason, until the worker retries or discards them.
CREATE TABLE quarantine (
    command_id     TEXT PRIMARY KEY NOT NULL,
    command        TEXT NOT NULL,                   -- JSON protocol::Command
    record_kind    TEXT,
    record_id      TEXT,
    touches        TEXT NOT NULL,                   -- JSON [[kind, id], ...]
    code           TEXT NOT NULL,
    message_zh     TEXT NOT NULL,
    message_en     TEXT NOT NULL,
    created_at     TEXT NOT NULL,
    quarantined_at TEXT NOT NULL
) STRICT;

-- Where sync stands: cursor, snapshot page, token, device id, signed-in user, last HLC, ...
CREATE TABLE sync_state (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

-- Photo bytes waiting to travel, named by SHA-256. Uploaded one by one once the photo's
-- metadata record (`owner_kind`/`owner_id`) is acknowledged; each has its own attempts and
-- backoff so one bad file never blocks the others.
CREATE TABLE photos (
    sha256          TEXT PRIMARY KEY NOT NULL,
    path            TEXT NOT NULL,
    bytes           INTEGER NOT NULL,
    owner_kind      TEXT NOT NULL,
    owner_id        TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'waiting'
                    CHECK (status IN ('waiting', 'uploading', 'done', 'failed')),
    uploaded_bytes  INTEGER NOT NULL DEFAULT 0,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    next_attempt_at TEXT,                           -- RFC 3339 UTC; NULL = as soon as possible
    created_at      TEXT NOT NULL
) STRICT;
CREATE INDEX photos_status ON photos (status, created_at);
