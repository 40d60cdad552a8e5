-- SQLite dialect. What the app's screens keep on the phone besides synced records: working
-- copies of visits being filled, drafts of forms being typed, photos taken but not yet
-- attached, the PIN, and indexes the household file and the door-plate scan read.
-- Never edit once released: add a migration.

-- The visit a worker is filling, saved on every answer (not synced): "save draft" and
-- "finalise" turn it into an outbox command. `saved_body` is what the last such command sent,
-- so the screen can say whether there are unsaved changes.
CREATE TABLE visit_drafts (
    visit_id   TEXT PRIMARY KEY NOT NULL,
    body       TEXT NOT NULL,              -- JSON core::visit::Visit
    saved_body TEXT,                       -- JSON of the last SaveVisit queued, NULL = never
    -- 1: the case step "start verification" for this visit is already queued or sent.
    case_started INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT NOT NULL,
    saved_at   TEXT
) STRICT;

-- Whatever is typed into a form (the proxy declaration …), kept on every change so that
-- nothing typed is lost when the app is closed or killed. Not synced.
CREATE TABLE form_drafts (
    key        TEXT PRIMARY KEY NOT NULL,
    value      TEXT NOT NULL,              -- JSON, as the screen gave it
    updated_at TEXT NOT NULL
) STRICT;

-- Photos the capture pipeline produced (files photos/<sha256>.jpg), until they are attached
-- to a record (then they travel through the `photos` upload queue).
CREATE TABLE staged_photos (
    sha256       TEXT PRIMARY KEY NOT NULL,
    thumb_sha256 TEXT NOT NULL,
    width        INTEGER NOT NULL,
    height       INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,
    thumb_bytes  INTEGER NOT NULL,
    taken_at     TEXT,                     -- RFC 3339 UTC, from EXIF; NULL = unknown
    created_at   TEXT NOT NULL
) STRICT;

-- The household file reads a household's cases, visits, plans, follow-ups and photos; the
-- door-plate scan finds a household by its plate. Expression indexes over the JSON bodies,
-- one per record kind, so each lookup is an index probe instead of a scan of every record.
CREATE INDEX records_case_household ON records (json_extract(body, '$.declaration.household_id')) WHERE kind = 'case';
CREATE INDEX records_visit_household ON records (json_extract(body, '$.household_id')) WHERE kind = 'visit';
CREATE INDEX records_plan_case ON records (json_extract(body, '$.case_id')) WHERE kind = 'plan';
CREATE INDEX records_follow_up_case ON records (json_extract(body, '$.case_id')) WHERE kind = 'follow_up';
CREATE INDEX records_photo_visit ON records (json_extract(body, '$.owner.visit_id')) WHERE kind = 'photo';
CREATE INDEX records_photo_case ON records (json_extract(body, '$.owner.case_id')) WHERE kind = 'photo';
CREATE INDEX records_photo_household ON records (json_extract(body, '$.owner.household_id')) WHERE kind = 'photo';
CREATE INDEX records_household_door_plate ON records (json_extract(body, '$.door_plate')) WHERE kind = 'household';
