-- PostgreSQL dialect. The second intake: departments' warning lists, their API keys and
-- liaisons, the index that matches an ID number to households, and the monthly spot checks.
-- Never edit once released: add a migration.

-- Every member's ID number of every household, kept by the record store on each write of a
-- household (see store/postgres/tx.rs `put`).
CREATE TABLE member_ids (
    id_number    TEXT NOT NULL,
    household_id TEXT NOT NULL,
    village      TEXT NOT NULL,
    PRIMARY KEY (id_number, household_id)
);
CREATE INDEX member_ids_household ON member_ids (household_id);
INSERT INTO member_ids (id_number, household_id, village)
SELECT DISTINCT m.value ->> 'id_number', r.id, r.village
  FROM records r, jsonb_array_elements((r.body::jsonb) -> 'members') m
 WHERE r.kind = 'household' AND r.body IS NOT NULL
   AND m.value ->> 'id_number' IS NOT NULL
ON CONFLICT DO NOTHING;

-- One file or API request of one department. `body` is the JSON of store::rows::AlertBatchRow.
CREATE TABLE alert_batches (
    id          TEXT PRIMARY KEY,
    department  TEXT NOT NULL,
    scope       TEXT NOT NULL,
    received_at TIMESTAMPTZ NOT NULL,
    body        TEXT NOT NULL
);
CREATE INDEX alert_batches_received ON alert_batches (received_at);

-- Every line received, with its outcome; (department, row_key) makes a resent line a no-op.
CREATE TABLE alert_rows (
    department  TEXT NOT NULL,
    row_key     TEXT NOT NULL,
    batch_id    TEXT NOT NULL,
    line        BIGINT NOT NULL,
    id_number   TEXT,
    matter      TEXT,
    occurred_on DATE,
    fingerprint TEXT,
    outcome     TEXT NOT NULL,
    case_id     TEXT,
    body        TEXT NOT NULL,
    PRIMARY KEY (department, row_key)
);
CREATE INDEX alert_rows_batch ON alert_rows (batch_id, line);
CREATE INDEX alert_rows_fingerprint ON alert_rows (batch_id, fingerprint);
CREATE INDEX alert_rows_person ON alert_rows (department, id_number, matter, occurred_on);

-- API keys of department systems, issued and revoked by an administrator; only the hash.
CREATE TABLE department_keys (
    id         TEXT PRIMARY KEY,
    key_hash   TEXT NOT NULL UNIQUE,
    revoked_at TIMESTAMPTZ,
    body       TEXT NOT NULL
);

-- Which department a liaison account speaks for.
CREATE TABLE department_liaisons (
    user_id    TEXT PRIMARY KEY,
    department TEXT NOT NULL
);

-- One draw per county and month, whichever process gets there first: the row is inserted in
-- the same transaction as the sample.
CREATE TABLE spot_check_months (
    county TEXT NOT NULL,
    month  TEXT NOT NULL,
    body   TEXT NOT NULL,
    PRIMARY KEY (county, month)
);

CREATE TABLE spot_checks (
    case_id      TEXT NOT NULL,
    month        TEXT NOT NULL,
    village      TEXT NOT NULL,
    follow_up_id TEXT NOT NULL UNIQUE,
    body         TEXT NOT NULL,
    PRIMARY KEY (case_id, month)
);
CREATE INDEX spot_checks_village ON spot_checks (village);
