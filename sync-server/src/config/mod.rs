//! Server settings, in layers: built-in defaults → a TOML file → `YIJIAN_*` environment
//! variables → command-line flags (each layer overrides the ones before it).
//!
//! Why layers: a county installs one machine with a file next to the binary; a province runs
//! several processes under systemd or a container where the environment is the natural place
//! for the database URL; and an operator trying something out types a flag. All three must
//! agree on one set of names. A key is declared once, as a field of [`Config`] (its type says
//! what it accepts: a `NonZero…` limit refuses 0); its environment variable and the way a
//! variable's text becomes its value are derived from that declaration ([`keys`]), and it is
//! documented in `yijian-server.example.toml` (printed by `yijian-server default-config`),
//! which a test keeps in step with the code.
//!
//! Terms: a *key* is a dotted path into the file (`sync.max_pull_limit` is `max_pull_limit`
//! in the `[sync]` table). The environment variable of a top-level key is `YIJIAN_` plus the
//! key in upper case (`YIJIAN_DATA_DIR`); a key in a section joins section and key with a
//! double underscore (`YIJIAN_SYNC__MAX_PULL_LIMIT`), because keys themselves contain single
//! underscores. The two log keys keep their short historical names `YIJIAN_LOG` and
//! `YIJIAN_LOG_FORMAT`. An empty variable counts as unset.
//!
//! Unknown keys in the file are an error that names the key: a misspelt limit that silently
//! does nothing is worse than a server that refuses to start. The database URL may carry a
//! password, so it never appears in `Debug` output or error messages ([`redact_url`]).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use std::num::{NonZeroU32, NonZeroU64, NonZeroUsize};

use serde::{Deserialize, Serialize};

use crate::ServerSettings;

pub mod keys;

pub use keys::{env_vars, unknown_env_vars};

/// The documented example configuration; every key at its default value.
pub const EXAMPLE_CONFIG: &str = include_str!("../../yijian-server.example.toml");

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

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`; a `password=` query
/// parameter is masked too. Anything that is not a `scheme://` URL is masked entirely, since
/// there is no telling where a secret could be in it.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "***".into();
    };
    // The *last* `@` ends the credentials: a password with an unescaped `@` must not leak
    // its tail into the host part.
    let rest = match rest.rsplit_once('@') {
        Some((cred, host)) => {
            let user = cred.split(':').next().unwrap_or_default();
            format!("{user}:***@{host}")
        }
        None => rest.to_owned(),
    };
    let rest = match rest.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|pair| match pair.split_once('=') {
                    Some((k, _)) if k.eq_ignore_ascii_case("password") => format!("{k}=***"),
                    _ => pair.to_owned(),
                })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => rest,
    };
    format!("{scheme}://{rest}")
}

/// A database URL as configured. Its `Debug` is redacted; the full text is only handed out
/// through [`DatabaseUrl::expose`], for the code that connects.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> DatabaseUrl {
        DatabaseUrl(url.into())
    }

    /// The URL with its password (to connect with; never to log).
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password masked, safe to show.
    pub fn redacted(&self) -> String {
        redact_url(&self.0)
    }
}

impl std::fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.redacted(), f)
    }
}

/// Everything the server and its admin subcommands run with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address `serve` binds (`IP:port`; port 0 picks a free port).
    pub listen: SocketAddr,
    /// Directory of the embedded SQLite database and, by default, of stored files.
    pub data_dir: PathBuf,
    /// `None`: embedded SQLite (`yijian.db` in `data_dir`); `postgres://…`: PostgreSQL.
    pub database_url: Option<DatabaseUrl>,
    pub postgres: PostgresConfig,
    pub log: LogConfig,
    pub sync: SyncConfig,
    pub blobs: BlobConfig,
    pub public: PublicConfig,
    pub sms: SmsConfig,
    pub deadlines: DeadlinesConfig,
    pub security: SecurityConfig,
}

/// `[public]`: the pages residents use without an account (declaration form, status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicConfig {
    /// The address residents reach the server at, e.g. `https://yjsb.example.gov.cn`: printed
    /// in the QR codes of the village sheets. `None`: taken from each request's Host header.
    pub base_url: Option<String>,
    /// Take the client's address from the last `X-Forwarded-For` hop (only behind a proxy that
    /// sets it; nginx: `proxy_set_header X-Forwarded-For $remote_addr`).
    pub trust_forwarded_for: bool,
    /// Declarations accepted from one address per hour.
    pub declarations_per_ip_per_hour: NonZeroU32,
    /// Declarations accepted for one phone number per day.
    pub declarations_per_phone_per_day: NonZeroU32,
    /// Status lookups from one address per hour.
    pub lookups_per_ip_per_hour: NonZeroU32,
}

/// `[sms]`: how texts are sent.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SmsConfig {
    /// `log` (texts go to a file the console shows) or `aliyun` (Aliyun SMS).
    pub provider: String,
    /// The log provider's file. `None`: `sms.log` in `data_dir`.
    pub log_file: Option<PathBuf>,
    /// 短信签名 registered with the provider.
    pub sign_name: String,
    pub aliyun_endpoint: String,
    pub aliyun_access_key_id: String,
    pub aliyun_access_key_secret: Option<String>,
    pub aliyun_region: String,
    /// Aliyun TemplateCode per text.
    pub template_receipt: String,
    pub template_new_declaration: String,
    pub template_due_soon: String,
    pub template_overdue: String,
    pub template_escalated: String,
    pub template_appeal_filed: String,
    /// Seconds a provider call may take.
    pub timeout_secs: NonZeroU64,
}

impl std::fmt::Debug for SmsConfig {
    /// The access key secret never appears in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmsConfig")
            .field("provider", &self.provider)
            .field("log_file", &self.log_file)
            .field("sign_name", &self.sign_name)
            .field("aliyun_endpoint", &self.aliyun_endpoint)
            .field("aliyun_access_key_id", &self.aliyun_access_key_id)
            .field(
                "aliyun_access_key_secret",
                &self.aliyun_access_key_secret.as_ref().map(|_| "***"),
            )
            .field("aliyun_region", &self.aliyun_region)
            .field("timeout_secs", &self.timeout_secs)
            .finish_non_exhaustive()
    }
}

/// `[deadlines]`: the job that reminds owners and escalates overdue cases.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct DeadlinesConfig {
    /// Seconds between runs of the job (each run is idempotent; every process may run it).
    pub interval_secs: NonZeroU64,
}

impl Default for PublicConfig {
    fn default() -> Self {
        PublicConfig {
            base_url: None,
            trust_forwarded_for: false,
            declarations_per_ip_per_hour: nz32(60),
            declarations_per_phone_per_day: nz32(5),
            lookups_per_ip_per_hour: nz32(60),
        }
    }
}

impl Default for SmsConfig {
    fn default() -> Self {
        SmsConfig {
            provider: "log".into(),
            log_file: None,
            sign_name: "一键申报".into(),
            aliyun_endpoint: crate::sms::aliyun::DEFAULT_ENDPOINT.into(),
            aliyun_access_key_id: String::new(),
            aliyun_access_key_secret: None,
            aliyun_region: "cn-hangzhou".into(),
            template_receipt: String::new(),
            template_new_declaration: String::new(),
            template_due_soon: String::new(),
            template_overdue: String::new(),
            template_escalated: String::new(),
            template_appeal_filed: String::new(),
            timeout_secs: nz64(10),
        }
    }
}

impl Default for DeadlinesConfig {
    fn default() -> Self {
        DeadlinesConfig {
            interval_secs: nz64(300),
        }
    }
}

/// `[security]`: cookies and how long sign-ins last.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SecurityConfig {
    /// Mark cookies `Secure` (only over HTTPS): on behind an HTTPS proxy.
    pub secure_cookies: bool,
    /// Days a phone's sign-in lasts before the password is asked again.
    pub device_token_days: NonZeroU64,
    /// Hours a console sign-in lasts.
    pub console_session_hours: NonZeroU64,
}

impl Default for SecurityConfig {
    fn default() -> Self {
        let s = crate::SecuritySettings::default();
        SecurityConfig {
            secure_cookies: s.secure_cookies,
            device_token_days: nz64(s.device_token_ttl.as_secs() / 86_400),
            console_session_hours: nz64(s.console_session_ttl.as_secs() / 3600),
        }
    }
}

/// `[log]`: what the server writes to stderr.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// A `tracing` filter: `info`, `debug`, or per module (`info,yijian_server::store=debug`).
    pub level: String,
    pub format: LogFormat,
}

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase", try_from = "String")]
pub enum LogFormat {
    /// For people reading a terminal or `journalctl`.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

impl TryFrom<String> for LogFormat {
    type Error = String;

    fn try_from(value: String) -> Result<LogFormat, String> {
        match value.as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            _ => Err(format!("expected text or json, got {value:?}")),
        }
    }
}

/// `[sync]`: limits of the sync API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Most commands one push may carry.
    pub max_push_commands: NonZeroUsize,
    /// Most records in one pull or snapshot page.
    pub max_pull_limit: NonZeroU32,
    /// Largest request body in bytes, after decompression.
    pub max_body_bytes: NonZeroUsize,
    /// Accept `PutDocument` commands (free-form documents of the sync benchmark).
    pub accept_raw_documents: bool,
}

/// `[postgres]`: the connections one server process keeps to PostgreSQL (unused on SQLite).
///
/// Bounded so that several processes behind a proxy stay under the database's
/// `max_connections` however many requests arrive: a request finding every connection busy
/// waits its turn, and after `acquire_timeout_secs` is answered 503 so the device retries later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PostgresConfig {
    /// Most connections this process holds open.
    pub max_connections: NonZeroU32,
    /// Seconds a request waits for a free connection.
    pub acquire_timeout_secs: NonZeroU64,
    /// Seconds one SQL statement may run before PostgreSQL cancels it (migrations are exempt).
    pub statement_timeout_secs: NonZeroU64,
}

impl Default for PostgresConfig {
    fn default() -> Self {
        PostgresConfig {
            max_connections: nz32(16),
            acquire_timeout_secs: nz64(10),
            statement_timeout_secs: nz64(30),
        }
    }
}

/// `[blobs]`: stored files (photos of documents, signatures).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobConfig {
    /// `disk` (the default: files under `dir`) or `s3` (an S3-compatible object store, which
    /// several server processes share).
    pub backend: String,
    /// `None`: `blobs` inside `data_dir` (so moving `data_dir` moves the files with it).
    pub dir: Option<PathBuf>,
    /// The object store's address (`https://oss-cn-lanzhou.example.com`, MinIO's
    /// `http://10.0.0.5:9000`); empty: Amazon S3 itself.
    pub s3_endpoint: String,
    pub s3_bucket: String,
    pub s3_region: String,
    pub s3_access_key_id: String,
    /// Never printed; prefer the environment variable to the file.
    pub s3_secret_access_key: Option<String>,
    /// Key prefix inside the bucket (a bucket may hold several deployments).
    pub s3_prefix: String,
    /// Largest single file in bytes.
    pub max_bytes: NonZeroU64,
    /// Seconds an upload may send nothing before the server keeps what arrived and lets the
    /// device resume.
    pub idle_timeout_secs: NonZeroU64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from(Config::DEFAULT_DATA_DIR),
            database_url: None,
            postgres: PostgresConfig::default(),
            log: LogConfig::default(),
            sync: SyncConfig::default(),
            blobs: BlobConfig::default(),
            public: PublicConfig::default(),
            sms: SmsConfig::default(),
            deadlines: DeadlinesConfig::default(),
            security: SecurityConfig::default(),
        }
    }
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            level: "info".into(),
            format: LogFormat::Text,
        }
    }
}

impl Default for SyncConfig {
    fn default() -> Self {
        // One source of truth for the limits: what the handlers default to.
        let s = ServerSettings::default();
        SyncConfig {
            max_push_commands: nzusize(s.max_push_commands),
            max_pull_limit: nz32(s.max_pull_limit),
            max_body_bytes: nzusize(s.max_body_bytes),
            accept_raw_documents: s.accept_raw_documents,
        }
    }
}

/// `Invalid` at `key` unless every `(setting, value)` is filled in: what `what` needs.
fn require_filled(
    key: &'static str,
    what: &str,
    settings: &[(&str, &str)],
) -> Result<(), ConfigError> {
    let missing: Vec<&str> = settings
        .iter()
        .filter(|(_, v)| v.trim().is_empty())
        .map(|(k, _)| *k)
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(ConfigError::Invalid {
        key,
        message: format!("{what} needs {}", missing.join(", ")),
    })
}

impl std::fmt::Debug for BlobConfig {
    /// The secret key never appears in logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BlobConfig")
            .field("backend", &self.backend)
            .field("dir", &self.dir)
            .field("s3_endpoint", &self.s3_endpoint)
            .field("s3_bucket", &self.s3_bucket)
            .field("s3_region", &self.s3_region)
            .field("s3_access_key_id", &self.s3_access_key_id)
            .field(
                "s3_secret_access_key",
                &self.s3_secret_access_key.as_ref().map(|_| "***"),
            )
            .field("s3_prefix", &self.s3_prefix)
            .field("max_bytes", &self.max_bytes)
            .field("idle_timeout_secs", &self.idle_timeout_secs)
            .finish()
    }
}

impl Default for BlobConfig {
    fn default() -> Self {
        let s = ServerSettings::default();
        BlobConfig {
            backend: "disk".to_owned(),
            dir: None,
            s3_endpoint: String::new(),
            s3_bucket: String::new(),
            s3_region: "us-east-1".to_owned(),
            s3_access_key_id: String::new(),
            s3_secret_access_key: None,
            s3_prefix: String::new(),
            max_bytes: nz64(s.max_blob_bytes),
            idle_timeout_secs: nz64(s.blob_idle_timeout.as_secs()),
        }
    }
}

fn nz32(n: u32) -> NonZeroU32 {
    NonZeroU32::new(n).unwrap_or(NonZeroU32::MIN)
}

fn nz64(n: u64) -> NonZeroU64 {
    NonZeroU64::new(n).unwrap_or(NonZeroU64::MIN)
}

fn nzusize(n: usize) -> NonZeroUsize {
    NonZeroUsize::new(n).unwrap_or(NonZeroUsize::MIN)
}

/// The variable naming the configuration file when `--config` is not given.
pub const CONFIG_FILE_VAR: &str = "YIJIAN_CONFIG";

/// The environment as the configuration sees it: variable → value.
pub type Env = BTreeMap<String, String>;

/// The top layer: values given on the command line (`None`: not given).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Overrides {
    /// `--config`: the TOML file to read (wins over `YIJIAN_CONFIG`).
    pub config_file: Option<PathBuf>,
    pub listen: Option<SocketAddr>,
    pub data_dir: Option<PathBuf>,
    pub database_url: Option<DatabaseUrl>,
}

/// Why the configuration cannot be used. Messages name the file, key or variable at fault and
/// never contain a database password.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(
        "unsupported database URL {0}: use postgres://… for PostgreSQL, or leave it out for the embedded SQLite in --data-dir"
    )]
    UnsupportedDatabaseUrl(String),
    #[error("cannot read config file {path}: {source}")]
    ReadFile {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The location is given as line and column and the offending text is not quoted back,
    /// because that line could be the one holding the database password.
    #[error("config file {path}, line {line}, column {column}: {message}")]
    ParseFile {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("environment variable {var} (sets {key}): {message}")]
    Env {
        var: String,
        key: String,
        message: String,
    },
    #[error("{key}: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Config {
    pub const DEFAULT_LISTEN: &'static str = "127.0.0.1:8080";
    pub const DEFAULT_DATA_DIR: &'static str = "./data";

    /// Build from the command line's values alone (defaults underneath); a `postgres://` or
    /// `postgresql://` URL selects PostgreSQL, anything else is refused.
    pub fn new(
        listen: SocketAddr,
        data_dir: PathBuf,
        database_url: Option<String>,
    ) -> Result<Config, ConfigError> {
        let mut config = Config::default();
        config.apply_overrides(&Overrides {
            config_file: None,
            listen: Some(listen),
            data_dir: Some(data_dir),
            database_url: database_url.map(DatabaseUrl::new),
        });
        config.validate()?;
        Ok(config)
    }

    /// All four layers: defaults, the file named by `--config` or `YIJIAN_CONFIG` (if any),
    /// the `YIJIAN_*` variables of `env`, then `flags`. The result is validated.
    pub fn load(flags: &Overrides, env: &Env) -> Result<Config, ConfigError> {
        let file = flags
            .config_file
            .clone()
            .or_else(|| env_value(env, CONFIG_FILE_VAR).map(PathBuf::from));
        let mut config = match file {
            Some(path) => Config::from_file(&path)?,
            None => Config::default(),
        };
        config.apply_env(env)?;
        config.apply_overrides(flags);
        config.validate()?;
        Ok(config)
    }

    /// Defaults overridden by the file at `path` (not validated yet).
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::ReadFile {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text, path)
    }

    /// Defaults overridden by TOML `text`; `path` is only for messages.
    pub fn from_toml(text: &str, path: &Path) -> Result<Config, ConfigError> {
        toml::from_str(text).map_err(|e| {
            let (line, column) = e
                .span()
                .map(|span| line_and_column(text, span.start))
                .unwrap_or((0, 0));
            ConfigError::ParseFile {
                path: path.to_owned(),
                line,
                column,
                message: e.message().to_owned(),
            }
        })
    }

    /// The environment layer: the variable of every key ([`keys::env_vars`]) that is set and
    /// not empty.
    pub fn apply_env(&mut self, env: &Env) -> Result<(), ConfigError> {
        for (var, key) in keys::env_vars() {
            if let Some(value) = env_value(env, &var) {
                *self = keys::set(self, &key, value).map_err(|message| ConfigError::Env {
                    var: var.clone(),
                    key: key.clone(),
                    message,
                })?;
            }
        }
        Ok(())
    }

    /// The command-line layer.
    pub fn apply_overrides(&mut self, flags: &Overrides) {
        if let Some(listen) = flags.listen {
            self.listen = listen;
        }
        if let Some(dir) = &flags.data_dir {
            self.data_dir.clone_from(dir);
        }
        if let Some(url) = &flags.database_url {
            self.database_url = Some(url.clone());
        }
    }

    /// Check what serde cannot: the database URL's scheme, limits that must not be zero, and
    /// the log filter's syntax.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.database()?;
        match self.blobs.backend.as_str() {
            "disk" => {}
            "s3" => require_filled(
                "blobs.backend",
                "backend \"s3\"",
                &[
                    ("blobs.s3_bucket", self.blobs.s3_bucket.as_str()),
                    (
                        "blobs.s3_access_key_id",
                        self.blobs.s3_access_key_id.as_str(),
                    ),
                    (
                        "blobs.s3_secret_access_key",
                        self.blobs.s3_secret_access_key.as_deref().unwrap_or(""),
                    ),
                ],
            )?,
            other => {
                return Err(ConfigError::Invalid {
                    key: "blobs.backend",
                    message: format!("expected \"disk\" or \"s3\", got {other:?}"),
                });
            }
        }
        if let Some(url) = &self.public.base_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return Err(ConfigError::Invalid {
                key: "public.base_url",
                message: format!("expected an http:// or https:// address, got {url:?}"),
            });
        }
        match self.sms.provider.as_str() {
            "log" => {}
            "aliyun" => require_filled(
                "sms.provider",
                "aliyun",
                &[
                    (
                        "sms.aliyun_access_key_id",
                        self.sms.aliyun_access_key_id.as_str(),
                    ),
                    (
                        "sms.aliyun_access_key_secret",
                        self.sms.aliyun_access_key_secret.as_deref().unwrap_or(""),
                    ),
                    ("sms.sign_name", self.sms.sign_name.as_str()),
                    ("sms.template_receipt", self.sms.template_receipt.as_str()),
                    (
                        "sms.template_new_declaration",
                        self.sms.template_new_declaration.as_str(),
                    ),
                    ("sms.template_due_soon", self.sms.template_due_soon.as_str()),
                    ("sms.template_overdue", self.sms.template_overdue.as_str()),
                    (
                        "sms.template_escalated",
                        self.sms.template_escalated.as_str(),
                    ),
                    (
                        "sms.template_appeal_filed",
                        self.sms.template_appeal_filed.as_str(),
                    ),
                ],
            )?,
            other => {
                return Err(ConfigError::Invalid {
                    key: "sms.provider",
                    message: format!("expected log or aliyun, got {other:?}"),
                });
            }
        }
        tracing_subscriber::EnvFilter::builder()
            .parse(&self.log.level)
            .map_err(|e| ConfigError::Invalid {
                key: "log.level",
                message: format!(
                    "{e} (expected a filter such as \"info\" or \"info,yijian_server=debug\")"
                ),
            })?;
        Ok(())
    }

    /// The storage the URL (or its absence) selects.
    pub fn database(&self) -> Result<DatabaseLocation, ConfigError> {
        match &self.database_url {
            None => Ok(DatabaseLocation::Sqlite {
                data_dir: self.data_dir.clone(),
            }),
            Some(url)
                if url.expose().starts_with("postgres://")
                    || url.expose().starts_with("postgresql://") =>
            {
                Ok(DatabaseLocation::Postgres {
                    url: url.expose().to_owned(),
                })
            }
            Some(url) => Err(ConfigError::UnsupportedDatabaseUrl(url.redacted())),
        }
    }

    /// Where stored files go (`blobs.dir`, else `blobs` inside `data_dir`).
    pub fn blob_dir(&self) -> PathBuf {
        self.blobs
            .dir
            .clone()
            .unwrap_or_else(|| self.data_dir.join("blobs"))
    }

    /// Where the log SMS provider writes (`sms.log_file`, else `sms.log` in `data_dir`).
    pub fn sms_log_file(&self) -> PathBuf {
        self.sms
            .log_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("sms.log"))
    }

    /// The SMS provider the configuration selects.
    pub fn sms_provider(&self) -> Result<std::sync::Arc<dyn crate::sms::SmsProvider>, ConfigError> {
        use crate::sms::aliyun::{AliyunConfig, AliyunSms};
        match self.sms.provider.as_str() {
            "aliyun" => {
                let s = &self.sms;
                let templates = [
                    ("receipt", &s.template_receipt),
                    ("new_declaration", &s.template_new_declaration),
                    ("due_soon", &s.template_due_soon),
                    ("overdue", &s.template_overdue),
                    ("escalated", &s.template_escalated),
                    ("appeal_filed", &s.template_appeal_filed),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_owned(), v.clone()))
                .collect();
                let sms = AliyunSms::new(AliyunConfig {
                    endpoint: s.aliyun_endpoint.clone(),
                    access_key_id: s.aliyun_access_key_id.clone(),
                    access_key_secret: s.aliyun_access_key_secret.clone().unwrap_or_default(),
                    sign_name: s.sign_name.clone(),
                    region_id: s.aliyun_region.clone(),
                    templates,
                    timeout: std::time::Duration::from_secs(s.timeout_secs.get()),
                })
                .map_err(|message| ConfigError::Invalid {
                    key: "sms.provider",
                    message,
                })?;
                Ok(std::sync::Arc::new(sms))
            }
            _ => Ok(std::sync::Arc::new(crate::sms::log::LogProvider::new(
                self.sms_log_file(),
            ))),
        }
    }

    /// The limits and switches request handlers read. (The blob store itself is opened in
    /// [`Config::blob_dir`].)
    pub fn server_settings(&self) -> ServerSettings {
        ServerSettings {
            accept_raw_documents: self.sync.accept_raw_documents,
            max_push_commands: self.sync.max_push_commands.get(),
            max_pull_limit: self.sync.max_pull_limit.get(),
            max_body_bytes: self.sync.max_body_bytes.get(),
            max_blob_bytes: self.blobs.max_bytes.get(),
            blob_idle_timeout: std::time::Duration::from_secs(self.blobs.idle_timeout_secs.get()),
            public: crate::PublicSettings {
                base_url: self.public.base_url.clone(),
                trust_forwarded_for: self.public.trust_forwarded_for,
                declarations_per_ip_per_hour: self.public.declarations_per_ip_per_hour.get(),
                declarations_per_phone_per_day: self.public.declarations_per_phone_per_day.get(),
                lookups_per_ip_per_hour: self.public.lookups_per_ip_per_hour.get(),
            },
            deadline_interval: std::time::Duration::from_secs(self.deadlines.interval_secs.get()),
            security: crate::SecuritySettings {
                secure_cookies: self.security.secure_cookies,
                device_token_ttl: std::time::Duration::from_secs(
                    self.security.device_token_days.get().saturating_mul(86_400),
                ),
                console_session_ttl: std::time::Duration::from_secs(
                    self.security
                        .console_session_hours
                        .get()
                        .saturating_mul(3600),
                ),
            },
        }
    }
}

/// A set, non-empty variable.
pub(crate) fn env_value<'a>(env: &'a Env, var: &str) -> Option<&'a str> {
    env.get(var).map(String::as_str).filter(|v| !v.is_empty())
}

/// 1-based line and column (in characters) of byte `offset`.
fn line_and_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let column = before[line_start..].chars().count() + 1;
    (line, column)
}

#[cfg(test)]
mod tests;
