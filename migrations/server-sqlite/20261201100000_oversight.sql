-- SQLite dialect. What the resident pages, the SMS sender, the deadline job and the console
-- read and write beside the record store: the case index, completed clocks, follow-up
-- schedules, the SMS outbox, rate limits, settings, deadline notices, notifications and unit
-- contacts. Never edit once released: add a migration.

-- One row per case, derived from the case record in the same transaction as every write of
-- the case (see sync-server/src/cases.rs): what lists, counts, the duplicate check and the
-- deadline job read without decoding case bodies.
CREATE TABLE case_index (
    case_id        TEXT PRIMARY KEY NOT NULL,
    village        TEXT NOT NULL,
    household_id   TEXT,
    stage          TEXT NOT NULL,
    open           INTEGER NOT NULL,          -- 1 while the case is in the procedure
    source         TEXT NOT NULL,
    green_channel  INTEGER NOT NULL,
    risk_types     TEXT NOT NULL,             -- JSON array of RiskType keys
    applicant_name TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    phone          TEXT,
    receipt_no     TEXT,
    declared_at    TEXT NOT NULL,             -- RFC 3339 UTC
    declared_on    TEXT NOT NULL,             -- YYYY-MM-DD (Beijing), like every *_on
    first_visit_on TEXT,
    verified_on    TEXT,
    approved_on    TEXT,
    closed_on      TEXT,
    plan_made_on   TEXT,
    clock_step     TEXT,                      -- the most urgent running clock
    clock_owner    TEXT,                      -- the level that must act
    clock_due_on   TEXT,
    updated_at     TEXT NOT NULL
) STRICT;
CREATE INDEX case_index_village ON case_index (village);
CREATE UNIQUE INDEX case_index_receipt ON case_index (receipt_no) WHERE receipt_no IS NOT NULL;
CREATE INDEX case_index_open_id_number ON case_index (id_number) WHERE open = 1;
CREATE INDEX case_index_due ON case_index (clock_due_on) WHERE clock_due_on IS NOT NULL;

-- Every clock a step completed, with its due date: on-time rates per step.
CREATE TABLE steps_done (
    case_id TEXT NOT NULL,
    village TEXT NOT NULL,
    step    TEXT NOT NULL,
    due_on  TEXT NOT NULL,
    done_on TEXT NOT NULL,
    PRIMARY KEY (case_id, step, due_on)
) STRICT, WITHOUT ROWID;
CREATE INDEX steps_done_village ON steps_done (village, done_on);

-- The follow-up schedule of each case (from its follow-up records): the follow-up clock.
CREATE TABLE follow_up_index (
    follow_up_id TEXT PRIMARY KEY NOT NULL,
    case_id      TEXT NOT NULL,
    due_on       TEXT NOT NULL,
    done_on      TEXT
) STRICT;
CREATE INDEX follow_up_index_case ON follow_up_index (case_id);

-- Texts to send, sent, or given up on. A sender claims rows with a lease, so several server
-- processes never send one text twice at the same time; `out_id` is our id of the message,
-- given to the provider, so a send whose answer was lost can be looked up instead of resent.
CREATE TABLE sms_outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    out_id          TEXT NOT NULL UNIQUE,
    phone           TEXT NOT NULL,
    template        TEXT NOT NULL,
    params          TEXT NOT NULL,            -- JSON object
    text_zh         TEXT NOT NULL,
    case_id         TEXT,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'unknown', 'sent', 'failed')),
    claimed_from    TEXT,                     -- the status a sender claimed it from
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT NOT NULL,
    lease_until     TEXT,
    last_error      TEXT,
    provider_id     TEXT,
    created_at      TEXT NOT NULL,
    sent_at         TEXT
) STRICT;
CREATE INDEX sms_outbox_due ON sms_outbox (next_attempt_at) WHERE status IN ('pending', 'sending', 'unknown');

-- Hits per key (ip:…, phone:…) per fixed window, shared by every server process.
CREATE TABLE rate_hits (
    key          TEXT NOT NULL,
    window_start TEXT NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
) STRICT, WITHOUT ROWID;

-- What an administrator edits (holiday calendar, deadline rules) and secrets the server
-- processes share (the key of the public form's anti-forgery tokens).
CREATE TABLE settings (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    updated_by TEXT
) STRICT;

-- Each reminder and escalation the deadline job made: at most one per case, clock, due date
-- and kind, whichever process or run got there first.
CREATE TABLE deadline_notices (
    case_id      TEXT NOT NULL,
    village      TEXT NOT NULL,
    step         TEXT NOT NULL,
    due_on       TEXT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('due_soon', 'overdue')),
    owner        TEXT NOT NULL,
    escalated_to TEXT,
    at           TEXT NOT NULL,
    PRIMARY KEY (case_id, step, due_on, kind)
) STRICT, WITHOUT ROWID;

-- Messages in an office's console, addressed to a role at a division.
CREATE TABLE notifications (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    role    TEXT NOT NULL,
    scope   TEXT NOT NULL,
    case_id TEXT,
    kind    TEXT NOT NULL,
    text_zh TEXT NOT NULL,
    at      TEXT NOT NULL
) STRICT;
CREATE INDEX notifications_to ON notifications (role, scope, id);

-- Contacts printed on the village sheets (the township's hotline).
CREATE TABLE unit_contacts (
    division TEXT PRIMARY KEY NOT NULL,
    name     TEXT NOT NULL,
    phone    TEXT NOT NULL
) STRICT;
