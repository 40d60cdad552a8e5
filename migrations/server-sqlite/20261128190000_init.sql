-- SQLite dialect. The server's first schema: facts about this installation.
-- Later migrations add the sync, account and case tables; never edit this file once released.
CREATE TABLE server_meta (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

INSERT INTO server_meta (key, value) VALUES ('schema_created_at', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
