//! A throwaway PostgreSQL cluster for tests, from Debian's `postgresql` binaries.
//!
//! `initdb` refuses to run as root, and CI runs as root, so as root the cluster is created and
//! started as the `postgres` user in a directory that user owns. The cluster listens only on
//! 127.0.0.1 on a free port, with `fsync=off` (a test database need not survive a power cut),
//! and is stopped and deleted when the guard drops, also when a test panics.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;

use anyhow::{Context, Result, bail};

/// A running cluster; stopped and removed on drop.
#[derive(Debug)]
pub struct PgCluster {
    dir: tempfile::TempDir,
    bindir: PathBuf,
    as_postgres_user: bool,
    pub port: u16,
}

/// Where Debian keeps the server binaries, newest major version first; `YIJIAN_PG_BINDIR`
/// overrides.
fn find_bindir() -> Result<PathBuf> {
    if let Some(dir) = std::env::var_os("YIJIAN_PG_BINDIR") {
        return Ok(PathBuf::from(dir));
    }
    let mut candidates: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .context("PostgreSQL server binaries not found under /usr/lib/postgresql: install Debian's `postgresql` package (`make test` does)")?
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    candidates.sort();
    candidates
        .pop()
        .context("no initdb under /usr/lib/postgresql/*/bin: install Debian's `postgresql` package")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl PgCluster {
    /// Create and start a fresh cluster with a trusted superuser `yijian`.
    pub fn start() -> Result<PgCluster> {
        let bindir = find_bindir()?;
        let as_postgres_user = is_root();
        let dir = tempfile::Builder::new().prefix("yijian-pg-").tempdir()?;
        if as_postgres_user {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()))?;
        }
        let data = dir.path().join("data");
        let cluster = PgCluster {
            port: free_port()?,
            dir,
            bindir,
            as_postgres_user,
        };
        run(cluster
            .pg_command("initdb")
            .args([
                "-A",
                "trust",
                "-U",
                "yijian",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
                "-D",
            ])
            .arg(&data))?;
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off",
            cluster.port,
            cluster.dir.path().display()
        );
        run(cluster
            .pg_command("pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(&data)
            .args(["-o", &opts, "-l"])
            .arg(cluster.dir.path().join("server.log"))
            .arg("start"))?;
        Ok(cluster)
    }

    fn pg_command(&self, program: &str) -> Command {
        let exe = self.bindir.join(program);
        if self.as_postgres_user {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    /// Connection URL for `database` (created with [`PgCluster::create_database`]).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://yijian@127.0.0.1:{}/{database}", self.port)
    }

    /// Create an empty database and return its URL.
    pub async fn create_database(&self, name: &str) -> Result<String> {
        let (client, conn) = tokio_postgres::connect(&self.url("postgres"), tokio_postgres::NoTls)
            .await
            .context("connect to test cluster")?;
        let task = tokio::spawn(conn);
        client
            .batch_execute(&format!("CREATE DATABASE \"{name}\""))
            .await?;
        drop(client);
        let _ = task.await;
        Ok(self.url(name))
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("server.log")
    }
}

impl Drop for PgCluster {
    fn drop(&mut self) {
        let data = self.data_dir();
        let _ = self
            .pg_command("pg_ctl")
            .args(["-w", "-D"])
            .arg(&data)
            .args(["-m", "immediate", "stop"])
            .output();
    }
}

fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}
