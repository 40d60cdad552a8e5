//! The device's local database: one SQLite file under the app's data directory.
//!
//! Everything a grid worker records offline lives here until the server acknowledges it, so the
//! file is opened in WAL mode with durable commits and migrated on open (see `yijian-sqlite`).

use std::path::{Path, PathBuf};

use rusqlite::Connection;
use yijian_core::schema::Migration;

/// The device's migrations, in order. A test checks that every file is listed.
pub const MIGRATIONS: &[Migration] = &[Migration {
    version: 20261128190000,
    name: "20261128190000_init.sql",
    sql: include_str!("../../migrations/client/20261128190000_init.sql"),
}];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0}")]
    Open(#[from] yijian_sqlite::OpenError),
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// An open local database.
#[derive(Debug)]
pub struct LocalStore {
    path: PathBuf,
    conn: Connection,
}

impl LocalStore {
    /// Open (creating the file and its directory if needed) and migrate.
    pub fn open(path: &Path) -> Result<LocalStore, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let conn = yijian_sqlite::open(path, MIGRATIONS)?;
        Ok(LocalStore {
            path: path.to_path_buf(),
            conn,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Number of schema migrations applied.
    pub fn schema_version_count(&self) -> Result<i64, StoreError> {
        Ok(yijian_sqlite::applied_count(&self.conn)?)
    }

    /// A device-level setting (server address, device id, …).
    pub fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        use rusqlite::OptionalExtension;
        Ok(self
            .conn
            .query_row("SELECT value FROM device_meta WHERE key = ?1", [key], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub fn set_meta(&self, key: &str, value: &str) -> Result<(), StoreError> {
        self.conn.execute(
            "INSERT INTO device_meta (key, value) VALUES (?1, ?2)
             ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            (key, value),
        )?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_migration_file_is_embedded_in_order() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/client");
        yijian_sqlite::embedded_matches_dir(MIGRATIONS, &dir).expect("embedded = files");
    }

    #[test]
    fn open_creates_directory_migrates_and_keeps_settings_across_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("app/data/yijian.db");
        let store = LocalStore::open(&path).expect("open");
        assert_eq!(
            store.schema_version_count().expect("count"),
            MIGRATIONS.len() as i64
        );
        assert_eq!(store.meta("server").expect("meta"), None);
        store
            .set_meta("server", "http://127.0.0.1:8080")
            .expect("set");
        store
            .set_meta("server", "http://10.0.0.1:8080")
            .expect("overwrite");
        drop(store);
        let again = LocalStore::open(&path).expect("reopen");
        assert_eq!(
            again.meta("server").expect("meta").as_deref(),
            Some("http://10.0.0.1:8080")
        );
    }
}
