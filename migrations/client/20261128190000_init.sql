-- SQLite dialect. The device's first schema: facts about this installation.
-- Later migrations add households, cases, visits, the outbox and photos; never edit once released.
CREATE TABLE device_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;
