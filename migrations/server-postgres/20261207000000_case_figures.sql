-- The dashboard's rollup (sync-server/src/store/figures.rs): counts of the case index per
-- division, figure and key, kept up to date in the transaction that changes the index. Kept at
-- the county (code_len 6), township (9) and village (12) levels; a province's or city's
-- dashboard adds up its counties. Filled from an existing case index when the server starts.
CREATE TABLE case_figures (
    code_len  SMALLINT NOT NULL,
    division  TEXT COLLATE "C" NOT NULL,
    figure    TEXT NOT NULL,
    key       TEXT NOT NULL,
    n         BIGINT NOT NULL,
    PRIMARY KEY (code_len, division, figure, key)
);
