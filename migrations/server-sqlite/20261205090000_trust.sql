-- SQLite dialect. Trust: sessions and device tokens that expire, and sign-in throttling.

-- When a device token or console session stops working (the device signs in again with the
-- password and keeps its id and its outbox). Sessions made before this release expire on
-- 2027-01-05, a month after it.
ALTER TABLE devices ADD COLUMN expires_at TEXT;
UPDATE devices SET expires_at = '2027-01-05T00:00:00.000Z' WHERE expires_at IS NULL;

-- Failed sign-ins per key (`ip:<address>`, `account:<mobile>`): after a few free failures each
-- further one makes the key wait longer (`blocked_until`); a success clears the account's row;
-- a row untouched for a day starts over.
CREATE TABLE login_throttle (
    key           TEXT PRIMARY KEY NOT NULL,
    failures      INTEGER NOT NULL,
    blocked_until TEXT,
    updated_at    TEXT NOT NULL
) STRICT;
