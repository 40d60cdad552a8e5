//! SQLite backend: the embedded default, one file `yijian.db` in the data directory.
//!
//! rusqlite is synchronous, so every call runs on tokio's blocking pool. WAL mode lets readers
//! proceed while a writer commits; `synchronous=NORMAL` under WAL keeps every committed
//! transaction across a process crash (a power cut may lose the last few, never corrupt).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use rusqlite::Connection;
use yijian_core::schema::Migration;

use super::{Storage, StorageError, StorageHealth};

/// The server's SQLite migrations, in order. A test checks that every file is listed.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 20261128190000,
    name: "20261128190000_init.sql",
    sql: include_str!("../../../migrations/server-sqlite/20261128190000_init.sql"),
}];

/// Name of the database file inside the data directory.
pub const DB_FILE: &str = "yijian.db";

#[derive(Debug, Clone)]
pub struct SqliteStorage {
    path: PathBuf,
    conn: Arc<Mutex<Connection>>,
}

impl SqliteStorage {
    /// Create the data directory if needed, open `yijian.db` and migrate it.
    pub async fn open_in(data_dir: &Path) -> Result<SqliteStorage, StorageError> {
        let data_dir = data_dir.to_path_buf();
        tokio::task::spawn_blocking(move || {
            std::fs::create_dir_all(&data_dir)?;
            let path = data_dir.join(DB_FILE);
            let conn = yijian_sqlite::open(&path, MIGRATIONS)?;
            Ok(SqliteStorage {
                path,
                conn: Arc::new(Mutex::new(conn)),
            })
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Run `f` with the connection on the blocking pool.
    async fn with_conn<T, F>(&self, f: F) -> Result<T, StorageError>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T, StorageError> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            let mut guard = conn
                .lock()
                .map_err(|_| StorageError::Task("sqlite connection lock poisoned".into()))?;
            f(&mut guard)
        })
        .await
        .map_err(|e| StorageError::Task(e.to_string()))?
    }
}

#[async_trait::async_trait]
impl Storage for SqliteStorage {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    async fn health(&self) -> Result<StorageHealth, StorageError> {
        self.with_conn(|c| {
            let migrations = yijian_sqlite::applied_count(c)?;
            Ok(StorageHealth {
                backend: "sqlite",
                migrations,
            })
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/server-sqlite");
        yijian_sqlite::embedded_matches_dir(MIGRATIONS, &dir).expect("embedded = files");
    }

    #[tokio::test]
    async fn opens_migrates_once_and_reopens() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("nested/data");
        let s = SqliteStorage::open_in(&data).await.expect("open");
        assert!(s.path().exists());
        assert_eq!(
            s.health().await.expect("health").migrations,
            MIGRATIONS.len() as i64
        );
        drop(s);
        let again = SqliteStorage::open_in(&data).await.expect("reopen");
        assert_eq!(
            again.health().await.expect("health").migrations,
            MIGRATIONS.len() as i64
        );
        let mode: String = again
            .with_conn(|c| Ok(c.query_row("PRAGMA journal_mode", [], |r| r.get(0))?))
            .await
            .expect("pragma");
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn refuses_a_database_from_a_newer_server() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = SqliteStorage::open_in(dir.path()).await.expect("open");
        s.with_conn(|c| {
            c.execute(
                "INSERT INTO schema_migrations (version, name, checksum) VALUES (99991231000000, 'future.sql', 'x')",
                [],
            )?;
            Ok(())
        })
        .await
        .expect("insert");
        drop(s);
        let err = SqliteStorage::open_in(dir.path())
            .await
            .expect_err("newer db");
        assert!(err.to_string().contains("newer version"), "{err}");
    }
}
