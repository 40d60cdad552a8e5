-- PostgreSQL dialect. The server's first schema: facts about this installation.
-- Later migrations add the sync, account and case tables; never edit this file once released.
CREATE TABLE server_meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

INSERT INTO server_meta (key, value) VALUES ('schema_created_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"'));
