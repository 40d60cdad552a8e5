//! Rows found by a list of keys, one descent of the primary key per key.
//!
//! The plain form, `WHERE kind = $1 AND id = ANY($2)`, lets the planner walk every row with
//! the first column's value and filter the list whenever its statistics hold that value to be
//! rare — and they do, for every kind but households, after a province's register is imported
//! and analysed: the cases come months later, far fewer than the tenth of the table that
//! triggers the next automatic `ANALYZE`. Looking one case up during a push then read all
//! 17,669 cases of the province's test database (16 ms instead of 0.03 ms). A lateral
//! subquery per key can only be an index lookup on both columns; `FOR UPDATE` (or `OFFSET 0`
//! where nothing is locked) keeps the planner from merging it back into a join.
//!
//! The statements are public so that a test can ask PostgreSQL for their plans on a table
//! whose statistics are skewed the same way.

/// Records of kind `$1` with the ids `$2`, locked; rows come in the order of `$2`.
pub const RECORDS_LOCKED: &str = "SELECT r.id, r.village, r.body, r.hlc, r.version
       FROM unnest($2::text[]) AS k(id)
       CROSS JOIN LATERAL (SELECT id, village, body, hlc, version FROM records
                            WHERE kind = $1 AND id = k.id FOR UPDATE) AS r";

/// [`RECORDS_LOCKED`] without the locks.
pub const RECORDS: &str = "SELECT r.id, r.village, r.body, r.hlc, r.version
       FROM unnest($2::text[]) AS k(id)
       CROSS JOIN LATERAL (SELECT id, village, body, hlc, version FROM records
                            WHERE kind = $1 AND id = k.id OFFSET 0) AS r";

/// The outcomes device `$1` was given for the commands `$2`.
pub const APPLIED_COMMANDS: &str = "SELECT a.command_id, a.body_hash, a.outcome
       FROM unnest($2::text[]) AS k(id)
       CROSS JOIN LATERAL (SELECT command_id, body_hash, outcome FROM applied_commands
                            WHERE device_id = $1 AND command_id = k.id OFFSET 0) AS a";

/// Department `$1`'s warning rows with the keys `$2`.
pub const ALERT_ROWS: &str = "SELECT a.body
       FROM unnest($2::text[]) AS k(id)
       CROSS JOIN LATERAL (SELECT body FROM alert_rows
                            WHERE department = $1 AND row_key = k.id OFFSET 0) AS a";
