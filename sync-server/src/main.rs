//! `yijian-server` command line.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;
use yijian_server::config::{Config, DatabaseLocation};
use yijian_server::{AppState, db, serve};

#[derive(Debug, Parser)]
#[command(
    name = "yijian-server",
    version,
    about = "Yijian (一键申报) sync server"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Serve the sync API, the public declaration form and the console.
    Serve {
        /// Address to listen on. Port 0 picks a free port (printed on start).
        #[arg(long, default_value = Config::DEFAULT_LISTEN, env = "YIJIAN_LISTEN")]
        listen: SocketAddr,
        /// Directory for the embedded SQLite database and stored files.
        #[arg(long, default_value = Config::DEFAULT_DATA_DIR, env = "YIJIAN_DATA_DIR")]
        data_dir: PathBuf,
        /// postgres://user:password@host:port/database to use PostgreSQL instead of SQLite.
        #[arg(long, env = "YIJIAN_DATABASE_URL")]
        database_url: Option<String>,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_env("YIJIAN_LOG").unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match Cli::parse().command {
        Command::Serve {
            listen,
            data_dir,
            database_url,
        } => {
            let config = Config::new(listen, data_dir, database_url)?;
            if let DatabaseLocation::Sqlite { data_dir } = &config.database {
                tracing::info!(data_dir = %data_dir.display(), "using embedded SQLite");
            }
            let storage = db::open(&config.database).await?;
            let listener = TcpListener::bind(config.listen).await?;
            // The one line on stdout: scripts and tests read the bound address from it.
            println!("listening on http://{}", listener.local_addr()?);
            serve(
                listener,
                AppState::new(storage, yijian_server::ServerSettings::default()),
                shutdown_signal(),
            )
            .await?;
            tracing::info!("stopped");
        }
    }
    Ok(())
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
