//! Server settings: where to listen and where the data lives.
//!
//! Defaults suit one machine (`127.0.0.1:8080`, SQLite under `./data`); a `postgres://` URL
//! switches the storage to PostgreSQL. The sync issue layers a TOML file and the environment
//! on top of these defaults.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Where the server keeps its records.
#[derive(Clone, PartialEq, Eq)]
pub enum DatabaseLocation {
    /// `yijian.db` inside the data directory.
    Sqlite { data_dir: PathBuf },
    /// A PostgreSQL connection string (`postgres://user:pass@host:port/db`).
    Postgres { url: String },
}

impl std::fmt::Debug for DatabaseLocation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DatabaseLocation::Sqlite { data_dir } => f
                .debug_struct("Sqlite")
                .field("data_dir", data_dir)
                .finish(),
            // The URL may carry a password: never print it.
            DatabaseLocation::Postgres { url } => f
                .debug_struct("Postgres")
                .field("url", &redact_url(url))
                .finish(),
        }
    }
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".into();
    };
    match rest.split_once('@') {
        Some((cred, host)) => {
            let user = cred.split(':').next().unwrap_or_default();
            format!("{scheme}://{user}:***@{host}")
        }
        None => url.to_owned(),
    }
}

/// The settings `serve` runs with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    pub listen: SocketAddr,
    pub data_dir: PathBuf,
    pub database: DatabaseLocation,
}

impl Config {
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:8080";
    pub const DEFAULT_DATA_DIR: &'static str = "./data";

    /// Build from the command line's values; a `postgres://` or `postgresql://` URL selects
    /// PostgreSQL, anything else is refused with a message that says what is accepted.
    pub fn new(
        listen: SocketAddr,
        data_dir: PathBuf,
        database_url: Option<String>,
    ) -> Result<Config, ConfigError> {
        let database = match database_url {
            None => DatabaseLocation::Sqlite {
                data_dir: data_dir.clone(),
            },
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                DatabaseLocation::Postgres { url }
            }
            Some(url) => {
                return Err(ConfigError::UnsupportedDatabaseUrl(redact_url(&url)));
            }
        };
        Ok(Config {
            listen,
            data_dir,
            database,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "unsupported database URL {0}: use postgres://… for PostgreSQL, or leave it out for the embedded SQLite in --data-dir"
    )]
    UnsupportedDatabaseUrl(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_url_selects_postgres_and_is_redacted() {
        let c = Config::new(
            "127.0.0.1:0".parse().expect("addr"),
            "d".into(),
            Some("postgres://yijian:s3cret@127.0.0.1:5432/yijian".into()),
        )
        .expect("valid");
        let shown = format!("{c:?}");
        assert!(shown.contains("postgres://yijian:***@127.0.0.1:5432/yijian"));
        assert!(!shown.contains("s3cret"));
    }

    #[test]
    fn other_urls_are_refused_clearly() {
        let e = Config::new(
            "127.0.0.1:0".parse().expect("addr"),
            "d".into(),
            Some("mysql://root:pw@x/db".into()),
        )
        .expect_err("refused");
        assert!(e.to_string().contains("use postgres://"));
        assert!(!e.to_string().contains("pw"));
    }

    #[test]
    fn default_is_sqlite_in_data_dir() {
        let c = Config::new("127.0.0.1:0".parse().expect("addr"), "x".into(), None).expect("ok");
        assert_eq!(
            c.database,
            DatabaseLocation::Sqlite {
                data_dir: "x".into()
            }
        );
    }
}
