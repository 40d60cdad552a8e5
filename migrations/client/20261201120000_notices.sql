-- SQLite dialect. Messages for the worker's office that the server sends with each sync (a new
-- declaration in the village, a deadline one working day away, a step escalated), kept so a
-- worker reads them offline. Never edit once released: add a migration.
CREATE TABLE notices (
    id      INTEGER PRIMARY KEY NOT NULL,  -- the server's id: increasing, fetched "after" it
    case_id TEXT,
    kind    TEXT NOT NULL,
    text_zh TEXT NOT NULL,
    at      TEXT NOT NULL,                 -- RFC 3339, UTC
    read    INTEGER NOT NULL DEFAULT 0     -- 1 once the worker opened the list
) STRICT;
