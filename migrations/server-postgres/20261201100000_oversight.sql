-- PostgreSQL dialect. What the resident pages, the SMS sender, the deadline job and the console
-- read and write beside the record store: the case index, completed clocks, follow-up
-- schedules, the SMS outbox, rate limits, settings, deadline notices, notifications and unit
-- contacts. Never edit once released: add a migration.

-- One row per case, derived from the case record in the same transaction as every write of
-- the case (see sync-server/src/cases.rs).
CREATE TABLE case_index (
    case_id        TEXT PRIMARY KEY,
    village        TEXT NOT NULL,
    household_id   TEXT,
    stage          TEXT NOT NULL,
    open           BOOLEAN NOT NULL,
    source         TEXT NOT NULL,
    green_channel  BOOLEAN NOT NULL,
    risk_types     TEXT NOT NULL,             -- JSON array of RiskType keys
    applicant_name TEXT NOT NULL,
    id_number      TEXT NOT NULL,
    phone          TEXT,
    receipt_no     TEXT,
    declared_at    TIMESTAMPTZ NOT NULL,
    declared_on    DATE NOT NULL,             -- Beijing dates, like every *_on
    first_visit_on DATE,
    verified_on    DATE,
    approved_on    DATE,
    closed_on      DATE,
    plan_made_on   DATE,
    clock_step     TEXT,
    clock_owner    TEXT,
    clock_due_on   DATE,
    updated_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX case_index_village ON case_index (village text_pattern_ops);
CREATE UNIQUE INDEX case_index_receipt ON case_index (receipt_no) WHERE receipt_no IS NOT NULL;
CREATE INDEX case_index_open_id_number ON case_index (id_number) WHERE open;
CREATE INDEX case_index_due ON case_index (clock_due_on) WHERE clock_due_on IS NOT NULL;

CREATE TABLE steps_done (
    case_id TEXT NOT NULL,
    village TEXT NOT NULL,
    step    TEXT NOT NULL,
    due_on  DATE NOT NULL,
    done_on DATE NOT NULL,
    PRIMARY KEY (case_id, step, due_on)
);
CREATE INDEX steps_done_village ON steps_done (village text_pattern_ops, done_on);

CREATE TABLE follow_up_index (
    follow_up_id TEXT PRIMARY KEY,
    case_id      TEXT NOT NULL,
    due_on       DATE NOT NULL,
    done_on      DATE
);
CREATE INDEX follow_up_index_case ON follow_up_index (case_id);

-- Texts to send. Senders claim rows with FOR UPDATE SKIP LOCKED and a lease, so several
-- processes never send one text twice at the same time.
CREATE TABLE sms_outbox (
    id              BIGSERIAL PRIMARY KEY,
    out_id          TEXT NOT NULL UNIQUE,
    phone           TEXT NOT NULL,
    template        TEXT NOT NULL,
    params          TEXT NOT NULL,
    text_zh         TEXT NOT NULL,
    case_id         TEXT,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'sending', 'unknown', 'sent', 'failed')),
    claimed_from    TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TIMESTAMPTZ NOT NULL,
    lease_until     TIMESTAMPTZ,
    last_error      TEXT,
    provider_id     TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    sent_at         TIMESTAMPTZ
);
CREATE INDEX sms_outbox_due ON sms_outbox (next_attempt_at) WHERE status IN ('pending', 'sending', 'unknown');

CREATE TABLE rate_hits (
    key          TEXT NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    hits         INTEGER NOT NULL,
    PRIMARY KEY (key, window_start)
);

CREATE TABLE settings (
    key        TEXT PRIMARY KEY,
    value      TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    updated_by TEXT
);

CREATE TABLE deadline_notices (
    case_id      TEXT NOT NULL,
    village      TEXT NOT NULL,
    step         TEXT NOT NULL,
    due_on       DATE NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('due_soon', 'overdue')),
    owner        TEXT NOT NULL,
    escalated_to TEXT,
    at           TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (case_id, step, due_on, kind)
);

CREATE TABLE notifications (
    id      BIGSERIAL PRIMARY KEY,
    role    TEXT NOT NULL,
    scope   TEXT NOT NULL,
    case_id TEXT,
    kind    TEXT NOT NULL,
    text_zh TEXT NOT NULL,
    at      TIMESTAMPTZ NOT NULL
);
CREATE INDEX notifications_to ON notifications (role, scope, id);

CREATE TABLE unit_contacts (
    division TEXT PRIMARY KEY,
    name     TEXT NOT NULL,
    phone    TEXT NOT NULL
);
