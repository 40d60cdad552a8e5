//! SQLite plumbing that the phone and the server must do the same way.
//!
//! Both sides keep their records in SQLite (the server by default), and both must never lose a
//! committed change: WAL journal with `synchronous=FULL`, foreign keys on, a busy timeout
//! instead of immediate "database is locked" errors. FULL syncs the WAL to disk at every
//! commit, so a commit survives a power cut, not only a killed process (`NORMAL` may lose the
//! last transactions when the power goes). Both sides need that: the server answers "applied"
//! and the device then deletes the command from its outbox, and a phone's battery dies in the
//! field while the worker's last visit is the one thing that must not be lost. Migrations are planned by
//! [`yijian_core::schema`] and applied here, each in its own transaction together with its
//! bookkeeping row, so a crash mid-migration leaves the previous schema intact.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use yijian_core::schema::{self, AppliedMigration, Migration, SchemaError};

#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("schema: {0}")]
    Schema(#[from] SchemaError),
}

/// Open `path` (creating it), set the pragmas and apply pending `migrations`.
pub fn open(path: &Path, migrations: &[Migration]) -> Result<Connection, OpenError> {
    let mut conn = Connection::open(path)?;
    configure(&conn)?;
    migrate(&mut conn, migrations)?;
    Ok(conn)
}

/// The pragmas every Yijian SQLite connection runs with.
pub fn configure(conn: &Connection) -> Result<(), rusqlite::Error> {
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    conn.pragma_update(None, "foreign_keys", "ON")?;
    conn.busy_timeout(Duration::from_secs(5))?;
    Ok(())
}

/// Apply the pending migrations; returns how many were applied.
pub fn migrate(conn: &mut Connection, all: &[Migration]) -> Result<usize, OpenError> {
    conn.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version    INTEGER PRIMARY KEY NOT NULL,
            name       TEXT NOT NULL,
            checksum   TEXT NOT NULL,
            applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
        ) STRICT;",
    )?;
    let applied: Vec<AppliedMigration> = conn
        .prepare("SELECT version, checksum FROM schema_migrations ORDER BY version")?
        .query_map([], |r| {
            Ok(AppliedMigration {
                version: r.get(0)?,
                checksum: r.get(1)?,
            })
        })?
        .collect::<Result<_, _>>()?;
    let todo = schema::pending(all, &applied)?;
    for m in &todo {
        let tx = conn.transaction()?;
        tx.execute_batch(m.sql)?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, checksum) VALUES (?1, ?2, ?3)",
            (m.version, m.name, m.checksum()),
        )?;
        tx.commit()?;
        tracing::info!(migration = m.name, "applied sqlite migration");
    }
    Ok(todo.len())
}

/// Number of migrations a database records as applied.
pub fn applied_count(conn: &Connection) -> Result<i64, rusqlite::Error> {
    conn.query_row("SELECT count(*) FROM schema_migrations", [], |r| r.get(0))
}

/// Check that `embedded` lists exactly the `.sql` files of `dir`, in order: a migration file
/// that was added but not embedded would silently never run.
pub fn embedded_matches_dir(embedded: &[Migration], dir: &Path) -> Result<(), String> {
    let mut files: Vec<String> = std::fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .filter(|n| n.ends_with(".sql"))
        .collect();
    files.sort();
    let names: Vec<&str> = embedded.iter().map(|m| m.name).collect();
    if files != names {
        return Err(format!("files {files:?} but embedded {names:?}"));
    }
    for m in embedded {
        if !m.name.starts_with(&m.version.to_string()) {
            return Err(format!(
                "{} does not start with its version {}",
                m.name, m.version
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIGRATIONS: &[Migration] = &[
        Migration {
            version: 1,
            name: "1_a.sql",
            sql: "CREATE TABLE a (x INTEGER) STRICT;",
        },
        Migration {
            version: 2,
            name: "2_b.sql",
            sql: "CREATE TABLE b (x INTEGER) STRICT;",
        },
    ];

    #[test]
    fn migrates_once_in_wal_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let conn = open(&path, &MIGRATIONS[..1]).expect("open");
        assert_eq!(applied_count(&conn).expect("count"), 1);
        let mode: String = conn
            .query_row("PRAGMA journal_mode", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(mode, "wal");
        // FULL (2): a commit is on disk before it is acknowledged, power cut or not.
        let sync: i64 = conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .expect("pragma");
        assert_eq!(sync, 2);
        drop(conn);
        // A newer program adds a migration; reopening applies only that one.
        let mut conn = open(&path, MIGRATIONS).expect("reopen");
        assert_eq!(applied_count(&conn).expect("count"), 2);
        assert_eq!(migrate(&mut conn, MIGRATIONS).expect("again"), 0);
    }

    #[test]
    fn an_older_program_refuses_a_newer_database() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        drop(open(&path, MIGRATIONS).expect("open"));
        let err = open(&path, &MIGRATIONS[..1]).expect_err("newer db");
        assert!(matches!(
            err,
            OpenError::Schema(SchemaError::UnknownApplied { version: 2 })
        ));
    }

    #[test]
    fn a_failing_migration_leaves_nothing_half_applied() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("t.db");
        let bad = [
            MIGRATIONS[0],
            Migration {
                version: 2,
                name: "2_bad.sql",
                sql: "CREATE TABLE c (x INTEGER) STRICT; THIS IS NOT SQL;",
            },
        ];
        assert!(open(&path, &bad).is_err());
        let conn = Connection::open(&path).expect("open raw");
        assert_eq!(applied_count(&conn).expect("count"), 1);
        let c_exists: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'c'",
                [],
                |r| r.get(0),
            )
            .expect("query");
        assert_eq!(c_exists, 0);
    }
}
