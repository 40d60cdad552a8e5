//! `yijian-server` command line: `serve`, plus the few administrative actions an operator
//! needs before (or without) the web console.
//!
//! Settings come in layers (defaults → `--config` file → `YIJIAN_*` environment → flags; see
//! [`yijian_server::config`]). Every subcommand that touches the database takes `--config`,
//! `--data-dir` and `--database-url`, so it finds the same database `serve` uses. Results go
//! to stdout as JSON (one object, or one per line for lists) for scripts; logs and errors go
//! to stderr. Passwords are never taken from the command line, where `ps` and shell history
//! would show them.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use yijian_core::ids::DeviceId;
use yijian_server::blobstore::{BlobStore, DiskBlobStore, S3BlobStore, S3Settings};
use yijian_server::config::{
    self, Config, DatabaseLocation, DatabaseUrl, Env, LogConfig, LogFormat, Overrides,
};
use yijian_server::ops::accounts_cli::{self, ImportError};
use yijian_server::{AppState, serve, store};

#[derive(Debug, Parser)]
#[command(
    name = "yijian-server",
    version,
    about = "Yijian (一键申报) sync server"
)]
struct Cli {
    #[command(flatten)]
    config: ConfigArgs,
    #[command(subcommand)]
    command: Command,
}

/// Where the settings (and so the database) come from. Global, so they may be written before
/// or after the subcommand.
#[derive(Debug, Args)]
struct ConfigArgs {
    /// TOML configuration file (print an example with `default-config`) [env: YIJIAN_CONFIG]
    #[arg(long, global = true, value_name = "PATH")]
    config: Option<PathBuf>,
    /// Directory for the embedded SQLite database and stored files [env: YIJIAN_DATA_DIR]
    /// [default: ./data]
    #[arg(long, global = true, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// postgres://user:password@host:port/database to use PostgreSQL instead of SQLite
    /// [env: YIJIAN_DATABASE_URL]
    #[arg(long, global = true, value_name = "URL", value_parser = database_url)]
    database_url: Option<DatabaseUrl>,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync API, the public declaration form and the console.
    Serve {
        /// Address to listen on; port 0 picks a free port (printed on start)
        /// [env: YIJIAN_LISTEN] [default: 127.0.0.1:8080]
        #[arg(long, value_name = "ADDR")]
        listen: Option<SocketAddr>,
    },
    /// Print the example configuration file, every key documented at its default.
    DefaultConfig,
    /// Create an administrator (role admin, scope 62 = the whole province).
    ///
    /// The password is read from stdin with --password-stdin, else from the environment
    /// variable YIJIAN_ADMIN_PASSWORD; never from the command line.
    CreateAdmin {
        /// Mobile number the administrator signs in with.
        #[arg(long, value_name = "PHONE")]
        login: String,
        /// Name shown in the console and the audit trail.
        #[arg(long)]
        name: String,
        /// Read the password from stdin (one trailing newline is dropped).
        #[arg(long)]
        password_stdin: bool,
    },
    /// Create users from a CSV file with the header login,name,role,scope,password.
    ///
    /// Every row is checked first; if any row is bad, all bad rows are listed with their line
    /// numbers and nothing is imported. Roles: village_worker, township, county, city,
    /// province, department_liaison, admin. Prints a JSON summary.
    ImportUsers {
        /// The CSV file (UTF-8).
        file: PathBuf,
    },
    /// List users, one JSON object per line (password hashes are never shown).
    ListUsers,
    /// Bind a department liaison's account to the department it sends warnings for: the
    /// console then shows it that department's batches and lets it upload its lists.
    BindLiaison {
        /// Mobile number the liaison signs in with.
        #[arg(long, value_name = "PHONE")]
        login: String,
        /// The department, by name (医保) or code (medical_security).
        #[arg(long)]
        department: String,
    },
    /// Import a department's warning list (部门预警): CSV in UTF-8 or GBK with the template's
    /// header (身份证号,姓名,预警事项,金额（元）,发生日期,备注 + the department's columns).
    ///
    /// Prints one JSON summary on stdout and a Chinese report of every rejected or unmatched
    /// line on stderr. Running the same file again completes an interrupted run and counts
    /// nothing twice.
    ImportAlerts {
        /// The department, by name (医保) or code (medical_security).
        #[arg(long)]
        department: String,
        /// Division whose register the lines are matched against [default: 62, the province].
        #[arg(long, default_value = "62")]
        scope: String,
        /// The list: an Excel workbook (.xlsx/.xls, first sheet) or a CSV in UTF-8 or GBK.
        file: PathBuf,
    },
    /// Import the household register (建档立卡户 / 监测户) exported from the national system:
    /// CSV in UTF-8 or GBK, or an Excel workbook, one row per person (columns in the README).
    ///
    /// Every row is checked first. A household with a bad row is left out whole; if the bad
    /// rows exceed --max-error-share, nothing is imported. Importing again (the same or a newer
    /// export) updates households by their household number and never duplicates them.
    /// Progress and the report of bad rows (line, column, reason) go to stderr; one JSON summary
    /// to stdout.
    ImportRegister {
        /// Division the file's households must lie in [default: 62, the province].
        #[arg(long, default_value = "62")]
        scope: String,
        /// Largest share of bad rows (0–1) with which the good households are still imported.
        #[arg(long, default_value_t = 0.01, value_name = "SHARE")]
        max_error_share: f64,
        /// Households written per transaction.
        #[arg(long, default_value_t = 1000, value_name = "N")]
        batch_size: usize,
        /// The register file.
        file: PathBuf,
    },
    /// Fill an empty database with demonstration staff (every level, password yijian2026)
    /// and cases at every stage, made through the same checks as real use.
    DemoSeed {
        /// Print what was made as one JSON object (users and cases) instead of a summary.
        #[arg(long)]
        json: bool,
        /// Do nothing, successfully, when the database already has users (for `make run`).
        #[arg(long)]
        if_empty: bool,
    },
    /// Revoke a device's token at once (lost phone, worker left).
    RevokeDevice {
        /// The device's id, as shown in the console.
        device_id: DeviceId,
    },
}

/// Keeps a URL given on the command line inside the redacting type from the start.
fn database_url(s: &str) -> Result<DatabaseUrl, std::convert::Infallible> {
    Ok(DatabaseUrl::new(s))
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let Cli { config, command } = Cli::parse();
    if let Command::DefaultConfig = command {
        print!("{}", config::EXAMPLE_CONFIG);
        return Ok(());
    }
    let env = yijian_env()?;
    match command {
        Command::DefaultConfig => {}
        Command::Serve { listen } => {
            let config = load_config(config, listen, &env)?;
            run_serve(config).await?;
        }
        Command::CreateAdmin {
            login,
            name,
            password_stdin,
        } => {
            let password = if password_stdin {
                let text =
                    std::io::read_to_string(std::io::stdin()).context("reading the password")?;
                let text = text.strip_suffix('\n').unwrap_or(&text);
                text.strip_suffix('\r').unwrap_or(text).to_owned()
            } else if let Some(p) = env.get("YIJIAN_ADMIN_PASSWORD").filter(|p| !p.is_empty()) {
                p.clone()
            } else {
                anyhow::bail!(
                    "未提供密码：请用 --password-stdin 从标准输入传入，或设置环境变量 YIJIAN_ADMIN_PASSWORD / \
                     no password: pipe it with --password-stdin or set YIJIAN_ADMIN_PASSWORD \
                     (it is never taken from the command line)"
                );
            };
            let storage = open_storage(config, &env).await?;
            let user = accounts_cli::create_admin(&storage, &login, &name, password).await?;
            tracing::info!(user = %user.id, "administrator created");
            println!("{}", serde_json::to_string(&user)?);
        }
        Command::ImportUsers { file } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let text = String::from_utf8(bytes).map_err(|_| {
                anyhow::anyhow!(
                    "{} 不是UTF-8编码（在Excel中请另存为“CSV UTF-8”）/ is not UTF-8 \
                     (in Excel, save as \"CSV UTF-8\")",
                    file.display()
                )
            })?;
            let storage = open_storage(config, &env).await?;
            match accounts_cli::import_users(&storage, &text).await {
                Ok(users) => {
                    let summary = serde_json::json!({ "imported": users.len(), "users": users });
                    println!("{summary}");
                }
                Err(ImportError::BadRows(errors)) => {
                    for e in &errors {
                        eprintln!("{e}");
                    }
                    let summary = serde_json::json!({ "imported": 0, "errors": errors });
                    println!("{summary}");
                    anyhow::bail!(
                        "{}行有误，未导入任何用户 / {} bad row(s); nothing was imported",
                        errors.len(),
                        errors.len()
                    );
                }
                Err(ImportError::Storage(source)) => {
                    let summary = serde_json::json!({ "imported": 0, "error": source.to_string() });
                    println!("{summary}");
                    anyhow::bail!(
                        "写入数据库失败，未导入任何用户 / nothing was imported: {source}"
                    );
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::ImportAlerts {
            department,
            scope,
            file,
        } => {
            use yijian_server::domain::alerts;
            let scope = yijian_core::division::DivisionCode::parse(&scope)
                .map_err(|e| anyhow::anyhow!("区划代码“{scope}”不正确 / bad division code: {e}"))?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let storage = open_storage(config, &env).await?;
            let procedure = yijian_server::domain::procedure::Procedure::current(&*storage).await?;
            let Some(code) = alerts::department_of(&department, &procedure.policy) else {
                anyhow::bail!(
                    "没有“{department}”这个部门 / no department {department:?} in the policy's list"
                );
            };
            let sender = alerts::Sender {
                department: code,
                scope,
                channel: "cli",
                by: "command line".to_owned(),
            };
            let name = file
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            match alerts::import_file(&*storage, &sender, &name, &bytes, chrono::Utc::now()).await {
                Ok(done) => {
                    println!("{}", serde_json::to_string(&done.summary)?);
                    if !done.report.is_empty() {
                        eprintln!("{}", alerts::report_zh(&done.report));
                    }
                }
                Err(e) => anyhow::bail!("未导入 / nothing imported: {e}"),
            }
        }
        Command::ImportRegister {
            scope,
            max_error_share,
            batch_size,
            file,
        } => {
            import_register(config, &env, &scope, max_error_share, batch_size, &file).await?;
        }
        Command::BindLiaison { login, department } => {
            let storage = open_storage(config, &env).await?;
            let procedure = yijian_server::domain::procedure::Procedure::current(&*storage).await?;
            let Some(code) =
                yijian_server::domain::alerts::department_of(&department, &procedure.policy)
            else {
                anyhow::bail!(
                    "没有“{department}”这个部门 / no department {department:?} in the policy's list"
                );
            };
            let user = match storage.credentials(&login).await? {
                Some(c) if c.user.role == yijian_core::role::Role::DepartmentLiaison => c.user,
                Some(_) => anyhow::bail!(
                    "{login}不是行业部门联络员账号 / {login} is not a department liaison"
                ),
                None => anyhow::bail!("没有账号{login} / no user {login}"),
            };
            let (id, dept) = (user.id.to_string(), code.clone());
            yijian_server::store::write(&*storage, move |tx| {
                tx.set_liaison_department(&id, Some(&dept))
            })
            .await?;
            println!(
                "{}",
                serde_json::json!({ "login": login, "department": code })
            );
        }
        Command::ListUsers => {
            let storage = open_storage(config, &env).await?;
            for user in storage.list_users().await? {
                println!("{}", serde_json::to_string(&user)?);
            }
        }
        Command::DemoSeed { json, if_empty } => {
            let config = load_config(config, None, &env)?;
            let storage = store::open_with(&config.database()?, &config.postgres).await?;
            let blobs = open_blobs(&config).await?;
            match yijian_server::ops::demo::seed(storage, blobs, chrono::Utc::now()).await {
                Ok(data) if json => println!("{}", serde_json::to_string(&data)?),
                Ok(data) => {
                    println!(
                        "演示数据已生成：{}个账号，{}个案件（密码均为 {}）/ demo data: {} users, {} cases",
                        data.users.len(),
                        data.cases.len(),
                        yijian_server::ops::demo::DEMO_PASSWORD,
                        data.users.len(),
                        data.cases.len()
                    );
                    for u in &data.users {
                        println!("  {}  {}  {}  {}", u.login, u.role_zh, u.name, u.scope_name);
                    }
                }
                Err(yijian_server::ops::demo::DemoError::NotEmpty) if if_empty => {
                    tracing::info!("database already has users; no demo data added");
                }
                Err(e) => return Err(e.into()),
            }
        }
        Command::RevokeDevice { device_id } => {
            let storage = open_storage(config, &env).await?;
            if !storage.revoke_device(device_id).await? {
                anyhow::bail!(
                    "没有可吊销的设备{device_id}（不存在或已吊销）/ no live device {device_id} \
                     (unknown, or already revoked)"
                );
            }
            tracing::info!(device = %device_id, "device revoked");
            println!(
                "{}",
                serde_json::json!({ "device_id": device_id, "revoked": true })
            );
        }
    }
    Ok(())
}

async fn import_register(
    config: ConfigArgs,
    env: &Env,
    scope: &str,
    max_error_share: f64,
    batch_size: usize,
    file: &std::path::Path,
) -> anyhow::Result<()> {
    use sha2::Digest;
    use yijian_server::domain::register::{self, ImportOptions, RegisterError};
    let scope = yijian_core::division::DivisionCode::parse(scope)
        .map_err(|e| anyhow::anyhow!("区划代码“{scope}”不正确 / bad division code: {e}"))?;
    if !(0.0..=1.0).contains(&max_error_share) {
        anyhow::bail!("--max-error-share 应在0到1之间 / must be between 0 and 1");
    }
    let bytes = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let storage = open_storage(config, env).await?;
    let started = std::time::Instant::now();
    let now = chrono::Utc::now();
    let checked = register::check(&bytes, &scope, yijian_core::time::china_date(now))
        .map_err(|e| anyhow::anyhow!("未导入 / nothing imported: {e}"))?;
    eprintln!(
        "已检查{}行，{}户可导入，{}行有误 / checked {} rows: {} households to write, {} bad rows",
        checked.rows,
        checked.households.len(),
        checked.bad_rows(),
        checked.rows,
        checked.households.len(),
        checked.bad_rows()
    );
    let sha = hex::encode(sha2::Sha256::digest(&bytes));
    let options = ImportOptions {
        max_error_share,
        batch_size,
        by: "command line".to_owned(),
    };
    let step = (checked.households.len() / 20).max(batch_size);
    let progress = move |done: usize, total: usize| {
        if done == total || done % step < batch_size {
            eprintln!("已写入{done}/{total}户 / written {done}/{total} households");
        }
    };
    match register::import(&*storage, checked, &sha, &options, now, &progress).await {
        Ok((summary, errors)) => {
            if !errors.is_empty() {
                eprintln!("{}", register::report_zh(&errors));
            }
            let mut json = serde_json::to_value(&summary)?;
            json["seconds"] = serde_json::json!(started.elapsed().as_secs_f64());
            println!("{json}");
            Ok(())
        }
        Err(e) => {
            if let RegisterError::TooManyErrors { errors, .. } = &e {
                eprintln!("{}", register::report_zh(errors));
                println!("{}", serde_json::json!({ "imported": 0, "errors": errors }));
                anyhow::bail!("{e} / too many bad rows; nothing was imported")
            }
            anyhow::bail!("{e}")
        }
    }
}

async fn run_serve(config: Config) -> anyhow::Result<()> {
    let database = config.database()?;
    if let DatabaseLocation::Sqlite { data_dir } = &database {
        tracing::info!(data_dir = %data_dir.display(), "using embedded SQLite");
    }
    let storage = store::open_with(&database, &config.postgres).await?;
    let blobs = open_blobs(&config).await?;
    tracing::info!(backend = blobs.backend(), "blob store");
    let listener = TcpListener::bind(config.listen)
        .await
        .with_context(|| format!("cannot listen on {}", config.listen))?;
    let sms = config.sms_provider()?;
    tracing::info!(provider = sms.name(), "sms");
    let state = AppState::new(Arc::clone(&storage), blobs, config.server_settings())
        .with_sms(Arc::clone(&sms));
    // Background work every process does (each is safe to run in several processes at once).
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let sender = tokio::spawn(yijian_server::sms::worker::run(
        Arc::clone(&storage),
        sms,
        yijian_server::sms::worker::SenderConfig::default(),
        stopped.clone(),
    ));
    let deadlines = tokio::spawn(yijian_server::domain::deadlines::run(
        Arc::clone(&storage),
        config.server_settings().deadline_interval,
        stopped,
    ));
    // The one line on stdout: scripts and tests read the bound address from it.
    println!("listening on http://{}", listener.local_addr()?);
    serve(listener, state, shutdown_signal()).await?;
    let _ = stop.send(true);
    let _ = sender.await;
    let _ = deadlines.await;
    tracing::info!("stopped");
    Ok(())
}

/// The blob store `[blobs]` selects: files under the blob directory, or an S3-compatible bucket.
async fn open_blobs(config: &Config) -> anyhow::Result<Arc<dyn BlobStore>> {
    if config.blobs.backend == "s3" {
        let b = &config.blobs;
        let store = S3BlobStore::connect(&S3Settings {
            endpoint: b.s3_endpoint.clone(),
            bucket: b.s3_bucket.clone(),
            region: b.s3_region.clone(),
            access_key_id: b.s3_access_key_id.clone(),
            secret_access_key: b.s3_secret_access_key.clone().unwrap_or_default(),
            prefix: b.s3_prefix.clone(),
        })
        .context("cannot configure the S3 blob store")?;
        // Fail at start, not at the first photo: an absent blob is a normal answer, anything
        // else (wrong key, no such bucket, unreachable) stops the server with the reason.
        let probe = yijian_core::support::Sha256Hex::parse(&"0".repeat(64))?;
        store.status(&probe).await.with_context(|| {
            format!(
                "cannot reach the S3 bucket {:?} at {:?}",
                b.s3_bucket,
                if b.s3_endpoint.is_empty() {
                    "Amazon S3"
                } else {
                    b.s3_endpoint.as_str()
                }
            )
        })?;
        return Ok(Arc::new(store));
    }
    let blob_dir = config.blob_dir();
    let blobs = DiskBlobStore::open(blob_dir.clone())
        .await
        .with_context(|| format!("cannot open the blob directory {}", blob_dir.display()))?;
    Ok(Arc::new(blobs))
}

/// The layered configuration, then logging as it says (so even the first log line has the
/// configured level and format).
fn load_config(args: ConfigArgs, listen: Option<SocketAddr>, env: &Env) -> anyhow::Result<Config> {
    let flags = Overrides {
        config_file: args.config,
        listen,
        data_dir: args.data_dir,
        database_url: args.database_url,
    };
    let config = Config::load(&flags, env)?;
    init_logging(&config.log)?;
    for var in config::unknown_env_vars(env) {
        tracing::warn!(
            var,
            "environment variable configures nothing (misspelt?); ignored"
        );
    }
    // Debug output of the configuration redacts the database password.
    tracing::info!(?config, "configuration");
    Ok(config)
}

async fn open_storage(args: ConfigArgs, env: &Env) -> anyhow::Result<Arc<dyn store::Storage>> {
    let config = load_config(args, None, env)?;
    Ok(store::open_with(&config.database()?, &config.postgres).await?)
}

/// Logs go to stderr, so stdout stays clean for what scripts read.
fn init_logging(log: &LogConfig) -> anyhow::Result<()> {
    let filter = EnvFilter::builder().parse(&log.level)?;
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        // Colour codes only for a person at a terminal, not in journald or a log file.
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    match log.format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
    Ok(())
}

/// The `YIJIAN_*` part of the process environment, for the configuration's env layer.
fn yijian_env() -> anyhow::Result<Env> {
    let mut env = Env::new();
    for (name, value) in std::env::vars_os() {
        let Some(name) = name.to_str().filter(|n| n.starts_with("YIJIAN_")) else {
            continue;
        };
        let value = value
            .into_string()
            .map_err(|_| anyhow::anyhow!("environment variable {name} is not valid UTF-8"))?;
        env.insert(name.to_owned(), value);
    }
    Ok(env)
}

/// Ctrl-C or SIGTERM: stop accepting, finish in-flight requests, exit.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
