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

pub(crate) fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

pub(crate) fn free_port() -> Result<u16> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl PgCluster {
    /// Create and start a fresh cluster with a trusted superuser `yijian`.
    pub fn start() -> Result<PgCluster> {
        let cluster = PgCluster::init()?;
        cluster.launch("-c fsync=off -c synchronous_commit=off -c full_page_writes=off")?;
        Ok(cluster)
    }

    /// A cluster on PostgreSQL's own durability defaults (fsync, full-page writes, synchronous
    /// commit), with `shared_buffers` a deployment would give it, for benchmarks.
    pub fn start_durable() -> Result<PgCluster> {
        let cluster = PgCluster::init()?;
        cluster.launch("-c shared_buffers=1GB -c max_wal_size=4GB")?;
        Ok(cluster)
    }

    /// A primary for a hot standby: WAL for streaming replication, and every commit waits
    /// until a standby has it (`synchronous_standby_names = '*'`), as a province is run.
    /// Until [`PgCluster::start_standby_of`] connects, commits wait.
    pub fn start_primary() -> Result<PgCluster> {
        let cluster = PgCluster::init()?;
        cluster.append_conf(
            "wal_level = replica\nmax_wal_senders = 5\nsynchronous_commit = on\n\
             synchronous_standby_names = '*'\n",
        )?;
        cluster.launch("-c fsync=off -c full_page_writes=off")?;
        Ok(cluster)
    }

    /// A hot standby of `primary` by streaming replication (`pg_basebackup -R`), started and
    /// connected. It waits for no standby of its own, so once promoted it commits alone.
    pub fn start_standby_of(primary: &PgCluster) -> Result<PgCluster> {
        let standby = PgCluster::empty()?;
        run(standby
            .pg_command("pg_basebackup")
            .args(["-h", "127.0.0.1", "-p", &primary.port.to_string()])
            .args(["-U", "yijian", "-R", "-X", "stream", "--no-sync", "-D"])
            .arg(standby.data_dir()))?;
        standby.append_conf("synchronous_standby_names = ''\nhot_standby = on\n")?;
        standby.launch("-c fsync=off")?;
        Ok(standby)
    }

    /// Stop at once, as a crash or a pulled cable would (`pg_ctl stop -m immediate`): no
    /// checkpoint, every session cut.
    pub fn crash(&self) -> Result<()> {
        run(self
            .pg_command("pg_ctl")
            .args(["-w", "-D"])
            .arg(self.data_dir())
            .args(["-m", "immediate", "stop"]))
    }

    /// Turn a standby into a primary that takes writes.
    pub fn promote(&self) -> Result<()> {
        run(self
            .pg_command("pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(self.data_dir())
            .arg("promote"))
    }

    /// A directory the server user owns and a free port; nothing in it yet.
    fn empty() -> Result<PgCluster> {
        let bindir = find_bindir()?;
        let as_postgres_user = is_root();
        let dir = tempfile::Builder::new().prefix("yijian-pg-").tempdir()?;
        if as_postgres_user {
            run(Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(dir.path()))?;
        }
        Ok(PgCluster {
            port: free_port()?,
            dir,
            bindir,
            as_postgres_user,
        })
    }

    /// [`PgCluster::empty`] with a fresh cluster in it (not started).
    fn init() -> Result<PgCluster> {
        let cluster = PgCluster::empty()?;
        let data = cluster.data_dir();
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
        Ok(cluster)
    }

    /// Start the cluster in `data`, on 127.0.0.1 only, with `settings` (`-c` options).
    fn launch(&self, settings: &str) -> Result<()> {
        let opts = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 {settings}",
            self.port,
            self.dir.path().display()
        );
        run(self
            .pg_command("pg_ctl")
            .args(["-w", "-t", "60", "-D"])
            .arg(self.data_dir())
            .args(["-o", &opts, "-l"])
            .arg(self.log_path())
            .arg("start"))
    }

    /// Add lines to `postgresql.conf` (the last setting of a name wins).
    fn append_conf(&self, lines: &str) -> Result<()> {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new()
            .append(true)
            .open(self.data_dir().join("postgresql.conf"))
            .context("postgresql.conf")?;
        f.write_all(lines.as_bytes())?;
        Ok(())
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

    /// Use up transaction ids until the next one is `margin` below a power of ten, so that the
    /// writes that follow carry ids of two widths (…998, …999, 1000, …): where text order and
    /// number order of ids differ, a query that sorts the text form shows it. Returns the id
    /// the next transaction gets.
    pub async fn spend_transaction_ids(url: &str, margin: u64) -> Result<u64> {
        let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
            .await
            .context("connect to test cluster")?;
        let task = tokio::spawn(conn);
        let next = || async {
            let row = client
                .query_one("SELECT pg_current_xact_id()::text::bigint", &[])
                .await?;
            anyhow::Ok(u64::try_from(row.get::<_, i64>(0))? + 1)
        };
        let mut at = next().await?;
        let mut power = 10;
        while power <= at + margin {
            power *= 10;
        }
        while at < power - margin {
            at = next().await?;
        }
        drop(client);
        let _ = task.await;
        Ok(at)
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

pub(crate) fn run(cmd: &mut Command) -> Result<()> {
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
