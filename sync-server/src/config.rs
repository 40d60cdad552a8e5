//! Server settings, in layers: built-in defaults → a TOML file → `YIJIAN_*` environment
//! variables → command-line flags (each layer overrides the ones before it).
//!
//! Why layers: a county installs one machine with a file next to the binary; a province runs
//! several processes under systemd or a container where the environment is the natural place
//! for the database URL; and an operator trying something out types a flag. All three must
//! agree on one set of names, so every key is listed once in [`ENV_VARS`] (key ↔ variable)
//! and documented once in `yijian-server.example.toml` (printed by
//! `yijian-server default-config`); tests keep the two in step with the code.
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

use serde::{Deserialize, Serialize};

use crate::ServerSettings;

/// The documented example configuration; every key at its default value.
pub const EXAMPLE_CONFIG: &str = include_str!("../yijian-server.example.toml");

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
    pub log: LogConfig,
    pub sync: SyncConfig,
    pub blobs: BlobConfig,
    pub public: PublicConfig,
    pub sms: SmsConfig,
    pub deadlines: DeadlinesConfig,
}

/// `[public]`: the pages residents use without an account (declaration form, status).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PublicConfig {
    /// The address residents reach the server at, e.g. `https://yjsb.example.gov.cn`: printed
    /// in the QR codes of the village sheets. `None`: taken from each request's Host header.
    pub base_url: Option<String>,
    /// Take the client's address from `X-Forwarded-For` (only behind a proxy that sets it).
    pub trust_forwarded_for: bool,
    /// Declarations accepted from one address per hour.
    pub declarations_per_ip_per_hour: u32,
    /// Declarations accepted for one phone number per day.
    pub declarations_per_phone_per_day: u32,
    /// Status lookups from one address per hour.
    pub lookups_per_ip_per_hour: u32,
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
    pub timeout_secs: u64,
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
    pub interval_secs: u64,
}

impl Default for PublicConfig {
    fn default() -> Self {
        PublicConfig {
            base_url: None,
            trust_forwarded_for: false,
            declarations_per_ip_per_hour: 60,
            declarations_per_phone_per_day: 5,
            lookups_per_ip_per_hour: 60,
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
            timeout_secs: 10,
        }
    }
}

impl Default for DeadlinesConfig {
    fn default() -> Self {
        DeadlinesConfig { interval_secs: 300 }
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
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// For people reading a terminal or `journalctl`.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// `[sync]`: limits of the sync API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct SyncConfig {
    /// Most commands one push may carry.
    pub max_push_commands: usize,
    /// Most records in one pull or snapshot page.
    pub max_pull_limit: u32,
    /// Largest request body in bytes, after decompression.
    pub max_body_bytes: usize,
    /// Accept `PutDocument` commands (free-form documents of the sync benchmark).
    pub accept_raw_documents: bool,
}

/// `[blobs]`: stored files (photos of documents, signatures).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct BlobConfig {
    /// `None`: `blobs` inside `data_dir` (so moving `data_dir` moves the files with it).
    pub dir: Option<PathBuf>,
    /// Largest single file in bytes.
    pub max_bytes: u64,
    /// Seconds an upload may send nothing before the server keeps what arrived and lets the
    /// device resume.
    pub idle_timeout_secs: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from(Config::DEFAULT_DATA_DIR),
            database_url: None,
            log: LogConfig::default(),
            sync: SyncConfig::default(),
            blobs: BlobConfig::default(),
            public: PublicConfig::default(),
            sms: SmsConfig::default(),
            deadlines: DeadlinesConfig::default(),
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
            max_push_commands: s.max_push_commands,
            max_pull_limit: s.max_pull_limit,
            max_body_bytes: s.max_body_bytes,
            accept_raw_documents: s.accept_raw_documents,
        }
    }
}

impl Default for BlobConfig {
    fn default() -> Self {
        let s = ServerSettings::default();
        BlobConfig {
            dir: None,
            max_bytes: s.max_blob_bytes,
            idle_timeout_secs: s.blob_idle_timeout.as_secs(),
        }
    }
}

/// The `YIJIAN_*` variables the environment layer reads: `(variable, key)`.
pub const ENV_VARS: &[(&str, &str)] = &[
    ("YIJIAN_LISTEN", "listen"),
    ("YIJIAN_DATA_DIR", "data_dir"),
    ("YIJIAN_DATABASE_URL", "database_url"),
    ("YIJIAN_LOG", "log.level"),
    ("YIJIAN_LOG_FORMAT", "log.format"),
    ("YIJIAN_SYNC__MAX_PUSH_COMMANDS", "sync.max_push_commands"),
    ("YIJIAN_SYNC__MAX_PULL_LIMIT", "sync.max_pull_limit"),
    ("YIJIAN_SYNC__MAX_BODY_BYTES", "sync.max_body_bytes"),
    (
        "YIJIAN_SYNC__ACCEPT_RAW_DOCUMENTS",
        "sync.accept_raw_documents",
    ),
    ("YIJIAN_BLOBS__DIR", "blobs.dir"),
    ("YIJIAN_BLOBS__MAX_BYTES", "blobs.max_bytes"),
    ("YIJIAN_BLOBS__IDLE_TIMEOUT_SECS", "blobs.idle_timeout_secs"),
    ("YIJIAN_PUBLIC__BASE_URL", "public.base_url"),
    (
        "YIJIAN_PUBLIC__TRUST_FORWARDED_FOR",
        "public.trust_forwarded_for",
    ),
    (
        "YIJIAN_PUBLIC__DECLARATIONS_PER_IP_PER_HOUR",
        "public.declarations_per_ip_per_hour",
    ),
    (
        "YIJIAN_PUBLIC__DECLARATIONS_PER_PHONE_PER_DAY",
        "public.declarations_per_phone_per_day",
    ),
    (
        "YIJIAN_PUBLIC__LOOKUPS_PER_IP_PER_HOUR",
        "public.lookups_per_ip_per_hour",
    ),
    ("YIJIAN_SMS__PROVIDER", "sms.provider"),
    ("YIJIAN_SMS__LOG_FILE", "sms.log_file"),
    ("YIJIAN_SMS__SIGN_NAME", "sms.sign_name"),
    ("YIJIAN_SMS__ALIYUN_ENDPOINT", "sms.aliyun_endpoint"),
    (
        "YIJIAN_SMS__ALIYUN_ACCESS_KEY_ID",
        "sms.aliyun_access_key_id",
    ),
    (
        "YIJIAN_SMS__ALIYUN_ACCESS_KEY_SECRET",
        "sms.aliyun_access_key_secret",
    ),
    ("YIJIAN_SMS__ALIYUN_REGION", "sms.aliyun_region"),
    ("YIJIAN_SMS__TEMPLATE_RECEIPT", "sms.template_receipt"),
    (
        "YIJIAN_SMS__TEMPLATE_NEW_DECLARATION",
        "sms.template_new_declaration",
    ),
    ("YIJIAN_SMS__TEMPLATE_DUE_SOON", "sms.template_due_soon"),
    ("YIJIAN_SMS__TEMPLATE_OVERDUE", "sms.template_overdue"),
    ("YIJIAN_SMS__TEMPLATE_ESCALATED", "sms.template_escalated"),
    (
        "YIJIAN_SMS__TEMPLATE_APPEAL_FILED",
        "sms.template_appeal_filed",
    ),
    ("YIJIAN_SMS__TIMEOUT_SECS", "sms.timeout_secs"),
    ("YIJIAN_DEADLINES__INTERVAL_SECS", "deadlines.interval_secs"),
];

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
        key: &'static str,
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

    /// The environment layer: every variable of [`ENV_VARS`] that is set and not empty.
    pub fn apply_env(&mut self, env: &Env) -> Result<(), ConfigError> {
        for &(var, key) in ENV_VARS {
            if let Some(value) = env_value(env, var) {
                self.set(key, value).map_err(|message| ConfigError::Env {
                    var: var.to_owned(),
                    key,
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

    /// Set one key from its text form (as an environment variable gives it).
    fn set(&mut self, key: &str, value: &str) -> Result<(), String> {
        match key {
            "listen" => self.listen = parse(value, "an address such as 127.0.0.1:8080")?,
            "data_dir" => self.data_dir = PathBuf::from(value),
            "database_url" => self.database_url = Some(DatabaseUrl::new(value)),
            "log.level" => self.log.level = value.to_owned(),
            "log.format" => {
                self.log.format = match value {
                    "text" => LogFormat::Text,
                    "json" => LogFormat::Json,
                    _ => return Err(format!("expected text or json, got {value:?}")),
                }
            }
            "sync.max_push_commands" => {
                self.sync.max_push_commands = parse(value, "a whole number")?;
            }
            "sync.max_pull_limit" => self.sync.max_pull_limit = parse(value, "a whole number")?,
            "sync.max_body_bytes" => {
                self.sync.max_body_bytes = parse(value, "a number of bytes")?;
            }
            "sync.accept_raw_documents" => self.sync.accept_raw_documents = parse_bool(value)?,
            "blobs.dir" => self.blobs.dir = Some(PathBuf::from(value)),
            "blobs.max_bytes" => self.blobs.max_bytes = parse(value, "a number of bytes")?,
            "blobs.idle_timeout_secs" => {
                self.blobs.idle_timeout_secs = parse(value, "a number of seconds")?;
            }
            "public.base_url" => {
                self.public.base_url = Some(value.trim_end_matches('/').to_owned())
            }
            "public.trust_forwarded_for" => self.public.trust_forwarded_for = parse_bool(value)?,
            "public.declarations_per_ip_per_hour" => {
                self.public.declarations_per_ip_per_hour = parse(value, "a whole number")?;
            }
            "public.declarations_per_phone_per_day" => {
                self.public.declarations_per_phone_per_day = parse(value, "a whole number")?;
            }
            "public.lookups_per_ip_per_hour" => {
                self.public.lookups_per_ip_per_hour = parse(value, "a whole number")?;
            }
            "sms.provider" => self.sms.provider = value.trim().to_owned(),
            "sms.log_file" => self.sms.log_file = Some(PathBuf::from(value)),
            "sms.sign_name" => self.sms.sign_name = value.to_owned(),
            "sms.aliyun_endpoint" => self.sms.aliyun_endpoint = value.to_owned(),
            "sms.aliyun_access_key_id" => self.sms.aliyun_access_key_id = value.to_owned(),
            "sms.aliyun_access_key_secret" => {
                self.sms.aliyun_access_key_secret = Some(value.to_owned());
            }
            "sms.aliyun_region" => self.sms.aliyun_region = value.to_owned(),
            "sms.template_receipt" => self.sms.template_receipt = value.to_owned(),
            "sms.template_new_declaration" => self.sms.template_new_declaration = value.to_owned(),
            "sms.template_due_soon" => self.sms.template_due_soon = value.to_owned(),
            "sms.template_overdue" => self.sms.template_overdue = value.to_owned(),
            "sms.template_escalated" => self.sms.template_escalated = value.to_owned(),
            "sms.template_appeal_filed" => self.sms.template_appeal_filed = value.to_owned(),
            "sms.timeout_secs" => self.sms.timeout_secs = parse(value, "a number of seconds")?,
            "deadlines.interval_secs" => {
                self.deadlines.interval_secs = parse(value, "a number of seconds")?;
            }
            // ENV_VARS and this match are kept in step by a test.
            _ => return Err(format!("no such key {key}")),
        }
        Ok(())
    }

    /// Check what serde cannot: the database URL's scheme, limits that must not be zero, and
    /// the log filter's syntax.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.database()?;
        let positive: [(&'static str, u64); 10] = [
            ("sync.max_push_commands", self.sync.max_push_commands as u64),
            ("sync.max_pull_limit", u64::from(self.sync.max_pull_limit)),
            ("sync.max_body_bytes", self.sync.max_body_bytes as u64),
            ("blobs.max_bytes", self.blobs.max_bytes),
            ("blobs.idle_timeout_secs", self.blobs.idle_timeout_secs),
            (
                "public.declarations_per_ip_per_hour",
                u64::from(self.public.declarations_per_ip_per_hour),
            ),
            (
                "public.declarations_per_phone_per_day",
                u64::from(self.public.declarations_per_phone_per_day),
            ),
            (
                "public.lookups_per_ip_per_hour",
                u64::from(self.public.lookups_per_ip_per_hour),
            ),
            ("sms.timeout_secs", self.sms.timeout_secs),
            ("deadlines.interval_secs", self.deadlines.interval_secs),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(ConfigError::Invalid {
                    key,
                    message: "must be at least 1".into(),
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
            "aliyun" => {
                let missing: Vec<&str> = [
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
                ]
                .into_iter()
                .filter(|(_, v)| v.trim().is_empty())
                .map(|(k, _)| k)
                .collect();
                if !missing.is_empty() {
                    return Err(ConfigError::Invalid {
                        key: "sms.provider",
                        message: format!("aliyun needs {}", missing.join(", ")),
                    });
                }
            }
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
                    timeout: std::time::Duration::from_secs(s.timeout_secs),
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
            max_push_commands: self.sync.max_push_commands,
            max_pull_limit: self.sync.max_pull_limit,
            max_body_bytes: self.sync.max_body_bytes,
            max_blob_bytes: self.blobs.max_bytes,
            blob_idle_timeout: std::time::Duration::from_secs(self.blobs.idle_timeout_secs),
            public: crate::PublicSettings {
                base_url: self.public.base_url.clone(),
                trust_forwarded_for: self.public.trust_forwarded_for,
                declarations_per_ip_per_hour: self.public.declarations_per_ip_per_hour,
                declarations_per_phone_per_day: self.public.declarations_per_phone_per_day,
                lookups_per_ip_per_hour: self.public.lookups_per_ip_per_hour,
            },
            deadline_interval: std::time::Duration::from_secs(self.deadlines.interval_secs),
        }
    }
}

/// Section-style variables (`YIJIAN_X__Y`) that configure nothing: most likely typos, worth a
/// warning (other `YIJIAN_*` variables belong to other tools and are left alone).
pub fn unknown_env_vars(env: &Env) -> Vec<&str> {
    env.keys()
        .map(String::as_str)
        .filter(|name| name.starts_with("YIJIAN_") && name.contains("__"))
        .filter(|name| !ENV_VARS.iter().any(|(var, _)| var == name))
        .collect()
}

/// A set, non-empty variable.
fn env_value<'a>(env: &'a Env, var: &str) -> Option<&'a str> {
    env.get(var).map(String::as_str).filter(|v| !v.is_empty())
}

fn parse_bool(value: &str) -> Result<bool, String> {
    match value {
        "true" | "1" => Ok(true),
        "false" | "0" => Ok(false),
        _ => Err(format!("expected true or false, got {value:?}")),
    }
}

fn parse<T: std::str::FromStr>(value: &str, expected: &str) -> Result<T, String> {
    value
        .trim()
        .parse()
        .map_err(|_| format!("expected {expected}, got {value:?}"))
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
mod tests {
    use std::collections::BTreeSet;

    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Env {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn addr(s: &str) -> SocketAddr {
        s.parse().expect("addr")
    }

    #[test]
    fn postgres_url_selects_postgres_and_is_redacted() {
        let c = Config::new(
            addr("127.0.0.1:0"),
            "d".into(),
            Some("postgres://yijian:s3cret@127.0.0.1:5432/yijian".into()),
        )
        .expect("valid");
        assert_eq!(
            c.database().expect("postgres"),
            DatabaseLocation::Postgres {
                url: "postgres://yijian:s3cret@127.0.0.1:5432/yijian".into()
            }
        );
        let shown = format!("{c:?} {:?}", c.database().expect("postgres"));
        assert!(shown.contains("postgres://yijian:***@127.0.0.1:5432/yijian"));
        assert!(!shown.contains("s3cret"), "{shown}");
        let pgsql = Config::new(
            addr("127.0.0.1:0"),
            "d".into(),
            Some("postgresql://u@h/db".into()),
        )
        .expect("postgresql:// is accepted too");
        assert!(matches!(
            pgsql.database(),
            Ok(DatabaseLocation::Postgres { .. })
        ));
    }

    #[test]
    fn redaction_covers_awkward_passwords() {
        assert_eq!(
            redact_url("postgres://u:p@ss@h:5432/db"),
            "postgres://u:***@h:5432/db"
        );
        assert_eq!(
            redact_url("postgres://u@h/db?sslmode=require&password=hunter2"),
            "postgres://u:***@h/db?sslmode=require&password=***"
        );
        assert_eq!(redact_url("host=h password=x"), "***");
        assert_eq!(redact_url("postgres://h/db"), "postgres://h/db");
    }

    #[test]
    fn other_urls_are_refused_clearly() {
        let e = Config::new(
            addr("127.0.0.1:0"),
            "d".into(),
            Some("mysql://root:pw@x/db".into()),
        )
        .expect_err("refused");
        assert!(e.to_string().contains("use postgres://"));
        assert!(!e.to_string().contains("pw"));
    }

    #[test]
    fn default_is_sqlite_in_data_dir() {
        let c = Config::new(addr("127.0.0.1:0"), "x".into(), None).expect("ok");
        assert_eq!(
            c.database().expect("sqlite"),
            DatabaseLocation::Sqlite {
                data_dir: "x".into()
            }
        );
        assert_eq!(c.blob_dir(), PathBuf::from("x").join("blobs"));
    }

    #[test]
    fn defaults_match_the_handlers_defaults() {
        let d = Config::default();
        assert_eq!(d.listen, addr(Config::DEFAULT_LISTEN));
        assert_eq!(d.sync.max_body_bytes, 32 * 1024 * 1024);
        assert_eq!(d.blobs.max_bytes, 10 * 1024 * 1024);
        let s = d.server_settings();
        let base = ServerSettings::default();
        assert_eq!(s.max_push_commands, base.max_push_commands);
        assert_eq!(s.max_pull_limit, base.max_pull_limit);
        assert_eq!(s.max_body_bytes, base.max_body_bytes);
        assert_eq!(s.accept_raw_documents, base.accept_raw_documents);
        assert_eq!(s.max_blob_bytes, base.max_blob_bytes);
        assert_eq!(s.blob_idle_timeout, base.blob_idle_timeout);
    }

    /// Each layer wins over the ones below it, key by key: what a higher layer leaves out
    /// still comes from below.
    #[test]
    fn layers_override_in_order_default_file_env_flag() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("server.toml");
        std::fs::write(
            &file,
            r#"
listen = "127.0.0.1:1001"
data_dir = "/from/file"
[sync]
max_pull_limit = 111
max_push_commands = 222
[log]
format = "json"
"#,
        )
        .expect("write");
        let env = env(&[
            ("YIJIAN_CONFIG", file.to_str().expect("utf-8 path")),
            ("YIJIAN_LISTEN", "127.0.0.1:2002"),
            ("YIJIAN_DATA_DIR", "/from/env"),
            ("YIJIAN_SYNC__MAX_PULL_LIMIT", "333"),
            ("YIJIAN_LOG", "debug"),
        ]);
        let flags = Overrides {
            listen: Some(addr("127.0.0.1:3003")),
            ..Overrides::default()
        };
        let c = Config::load(&flags, &env).expect("load");
        assert_eq!(c.listen, addr("127.0.0.1:3003"), "flag beats env and file");
        assert_eq!(c.data_dir, PathBuf::from("/from/env"), "env beats file");
        assert_eq!(c.sync.max_pull_limit, 333, "env beats file");
        assert_eq!(c.sync.max_push_commands, 222, "file beats default");
        assert_eq!(c.log.format, LogFormat::Json, "file beats default");
        assert_eq!(c.log.level, "debug", "env beats default");
        assert_eq!(
            c.sync.max_body_bytes,
            Config::default().sync.max_body_bytes,
            "default where no layer speaks"
        );

        // Without the env layer the file shows through; without the file, the defaults.
        let only_file = Config::load(
            &Overrides {
                config_file: Some(file.clone()),
                ..Overrides::default()
            },
            &Env::new(),
        )
        .expect("load");
        assert_eq!(only_file.listen, addr("127.0.0.1:1001"));
        assert_eq!(only_file.data_dir, PathBuf::from("/from/file"));
        assert_eq!(
            Config::load(&Overrides::default(), &Env::new()).expect("load"),
            Config::default()
        );
    }

    #[test]
    fn config_flag_wins_over_config_variable() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = dir.path().join("a.toml");
        let b = dir.path().join("b.toml");
        std::fs::write(&a, "data_dir = \"/a\"\n").expect("write");
        std::fs::write(&b, "data_dir = \"/b\"\n").expect("write");
        let env = env(&[("YIJIAN_CONFIG", a.to_str().expect("utf-8"))]);
        let flags = Overrides {
            config_file: Some(b),
            ..Overrides::default()
        };
        let c = Config::load(&flags, &env).expect("load");
        assert_eq!(c.data_dir, PathBuf::from("/b"));
    }

    #[test]
    fn database_url_layers_and_empty_variable_counts_as_unset() {
        let env_pg = env(&[("YIJIAN_DATABASE_URL", "postgres://u:envpw@h/db")]);
        let c = Config::load(&Overrides::default(), &env_pg).expect("load");
        assert!(matches!(
            c.database(),
            Ok(DatabaseLocation::Postgres { url }) if url == "postgres://u:envpw@h/db"
        ));
        assert!(!format!("{c:?}").contains("envpw"));

        let flag = Overrides {
            database_url: Some(DatabaseUrl::new("postgres://u:flagpw@h/db")),
            ..Overrides::default()
        };
        let c = Config::load(&flag, &env_pg).expect("load");
        assert!(matches!(
            c.database(),
            Ok(DatabaseLocation::Postgres { url }) if url.contains("flagpw")
        ));
        assert!(!format!("{flag:?}").contains("flagpw"));

        let empty = env(&[("YIJIAN_DATABASE_URL", "")]);
        let c = Config::load(&Overrides::default(), &empty).expect("load");
        assert!(matches!(c.database(), Ok(DatabaseLocation::Sqlite { .. })));
    }

    #[test]
    fn unknown_key_in_file_is_an_error_naming_it() {
        let text = "listen = \"127.0.0.1:8080\"\n\n[sync]\nmax_pul_limit = 10\n";
        let e = Config::from_toml(text, Path::new("s.toml")).expect_err("typo refused");
        let shown = e.to_string();
        assert!(shown.contains("max_pul_limit"), "{shown}");
        assert!(shown.contains("s.toml, line 4"), "{shown}");

        let e = Config::from_toml("[smtp]\nkey = 1\n", Path::new("s.toml")).expect_err("no [smtp]");
        assert!(e.to_string().contains("smtp"), "{e}");
        let e = Config::from_toml("[sms]\nkey = 1\n", Path::new("s.toml")).expect_err("no sms.key");
        assert!(e.to_string().contains("key"), "{e}");
    }

    #[test]
    fn parse_errors_do_not_quote_the_password_line() {
        let text = "database_url = \"postgres://u:hunter2@h/db\" oops\n";
        let e = Config::from_toml(text, Path::new("s.toml")).expect_err("bad syntax");
        assert!(!e.to_string().contains("hunter2"), "{e}");
        let e = Config::from_toml("database_url = \"mysql://u:hunter2@h/db\"", Path::new("s"))
            .expect("parses")
            .validate()
            .expect_err("refused");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn bad_values_name_their_variable_or_key() {
        let e = Config::load(
            &Overrides::default(),
            &env(&[("YIJIAN_SYNC__MAX_PULL_LIMIT", "lots")]),
        )
        .expect_err("not a number");
        assert!(e.to_string().contains("YIJIAN_SYNC__MAX_PULL_LIMIT"), "{e}");
        let e = Config::load(&Overrides::default(), &env(&[("YIJIAN_LOG_FORMAT", "xml")]))
            .expect_err("no such format");
        assert!(e.to_string().contains("text or json"), "{e}");
        let e = Config::load(
            &Overrides::default(),
            &env(&[("YIJIAN_SYNC__MAX_PUSH_COMMANDS", "0")]),
        )
        .expect_err("zero refused");
        assert!(e.to_string().contains("sync.max_push_commands"), "{e}");
        let e = Config::from_toml("[log]\nformat = \"xml\"\n", Path::new("s"))
            .expect_err("no such format");
        assert!(e.to_string().contains("xml"), "{e}");
    }

    #[test]
    fn section_style_typos_in_the_environment_are_reported() {
        let e = env(&[
            ("YIJIAN_SYNC__MAX_PUL_LIMIT", "1"),
            ("YIJIAN_SYNC__MAX_PULL_LIMIT", "1"),
            ("YIJIAN_PG_BINDIR", "/usr/lib/postgresql/16/bin"),
        ]);
        assert_eq!(unknown_env_vars(&e), vec!["YIJIAN_SYNC__MAX_PUL_LIMIT"]);
    }

    /// Every key, as a dotted path, of a configuration with every optional key set.
    fn all_keys() -> BTreeSet<String> {
        fn walk(prefix: &str, table: &toml::Table, out: &mut BTreeSet<String>) {
            for (k, v) in table {
                let key = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                match v {
                    toml::Value::Table(t) => walk(&key, t, out),
                    _ => {
                        out.insert(key);
                    }
                }
            }
        }
        let full = Config {
            database_url: Some(DatabaseUrl::new("postgres://h/db")),
            blobs: BlobConfig {
                dir: Some("b".into()),
                ..BlobConfig::default()
            },
            public: PublicConfig {
                base_url: Some("https://x".into()),
                ..PublicConfig::default()
            },
            sms: SmsConfig {
                log_file: Some("s.log".into()),
                aliyun_access_key_secret: Some("s".into()),
                ..SmsConfig::default()
            },
            ..Config::default()
        };
        let toml::Value::Table(table) = toml::Value::try_from(&full).expect("serializes") else {
            panic!("a configuration serializes to a table");
        };
        let mut out = BTreeSet::new();
        walk("", &table, &mut out);
        out
    }

    #[test]
    fn every_key_has_one_environment_variable() {
        let from_table: BTreeSet<String> = ENV_VARS.iter().map(|(_, k)| (*k).to_owned()).collect();
        assert_eq!(from_table, all_keys());
        assert_eq!(from_table.len(), ENV_VARS.len(), "a key listed twice");
        // And `set` understands each of them.
        for &(var, key) in ENV_VARS {
            let value = match key {
                "listen" => "127.0.0.1:1",
                "log.format" => "json",
                "sync.accept_raw_documents" | "public.trust_forwarded_for" => "true",
                "sms.provider" => "aliyun",
                "public.base_url" => "https://yjsb.example.cn",
                "database_url" => "postgres://h/db",
                "log.level" => "debug",
                _ => "7",
            };
            let mut c = Config::default();
            c.set(key, value)
                .unwrap_or_else(|e| panic!("{var} → {key}: {e}"));
            assert_ne!(c, Config::default(), "{var} changed nothing");
        }
    }

    #[test]
    fn example_file_is_the_defaults() {
        let parsed = Config::from_toml(EXAMPLE_CONFIG, Path::new("yijian-server.example.toml"))
            .expect("example parses");
        assert_eq!(parsed, Config::default());
        parsed.validate().expect("example is valid");
    }

    /// Every key appears in the example, set or (for keys without a fixed default) commented
    /// out, in its section, next to its environment variable.
    #[test]
    fn example_file_documents_every_key_and_variable() {
        let mut documented = BTreeSet::new();
        let mut section = String::new();
        for line in EXAMPLE_CONFIG.lines() {
            let line = line.trim();
            if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
                section = name.trim().to_owned();
                continue;
            }
            let body = line.strip_prefix('#').map_or(line, str::trim_start);
            if let Some((key, _)) = body.split_once('=') {
                let key = key.trim();
                if !key.is_empty()
                    && key
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
                {
                    documented.insert(if section.is_empty() {
                        key.to_owned()
                    } else {
                        format!("{section}.{key}")
                    });
                }
            }
        }
        let missing: Vec<_> = all_keys().difference(&documented).cloned().collect();
        assert!(
            missing.is_empty(),
            "keys missing from the example: {missing:?}"
        );
        for (var, key) in ENV_VARS {
            assert!(
                EXAMPLE_CONFIG.contains(var),
                "{var} ({key}) not mentioned in the example"
            );
        }
        assert!(EXAMPLE_CONFIG.contains(CONFIG_FILE_VAR));
    }
}
