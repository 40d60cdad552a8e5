//! The real `yijian-server` binary as a child process: for tests that kill it with SIGKILL
//! mid-push and start it again on the same data, or run two of them on one PostgreSQL.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// A running server process; killed on drop.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

/// `yijian-server` beside a benchmark binary (the `make bench-*` target builds both in release).
pub fn bench_server_binary(make_target: &str) -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.parent().context("no directory")?.join("yijian-server");
    if !bin.exists() {
        bail!("{} missing: run `make {make_target}`", bin.display());
    }
    Ok(bin)
}

/// Path of the `yijian-server` binary next to this test executable, built if missing.
pub fn server_binary() -> Result<PathBuf> {
    let exe = std::env::current_exe()?;
    // target/<profile>/deps/<test> → target/<profile>/yijian-server
    let profile_dir = exe
        .parent()
        .and_then(|d| d.parent())
        .context("test executable has no target directory")?;
    let bin = profile_dir.join("yijian-server");
    if !bin.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "yijian-server", "--bin", "yijian-server"])
            .status()
            .context("building yijian-server")?;
        if !status.success() {
            bail!("cargo build of yijian-server failed");
        }
    }
    Ok(bin)
}

impl ServerProcess {
    /// Start `yijian-server serve <args>` and wait for its `listening on` line.
    pub fn spawn(args: &[String], log: PathBuf) -> Result<ServerProcess> {
        ServerProcess::spawn_binary(&server_binary()?, args, log)
    }

    /// [`ServerProcess::spawn`] of a given binary (a benchmark's release build).
    pub fn spawn_binary(binary: &Path, args: &[String], log: PathBuf) -> Result<ServerProcess> {
        let log_file = std::fs::File::create(&log)?;
        let mut child = Command::new(binary)
            .arg("serve")
            .args(args)
            .env("YIJIAN_LOG", "info")
            .stdout(Stdio::piped())
            .stderr(Stdio::from(log_file))
            .spawn()
            .context("spawning yijian-server")?;
        let stdout = child.stdout.take().context("no stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut lines = BufReader::new(stdout).lines();
            if let Some(Ok(first)) = lines.next() {
                let _ = tx.send(first);
            }
            // Keep draining so the child never blocks on a full pipe.
            for _ in lines {}
        });
        let line = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(l) => l,
            Err(_) => {
                let _ = child.kill();
                let log_text = std::fs::read_to_string(&log).unwrap_or_default();
                bail!("server did not start; log:\n{log_text}");
            }
        };
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .with_context(|| format!("unexpected first line {line:?}"))?
            .parse()?;
        Ok(ServerProcess { child, addr, log })
    }

    /// Write a configuration file into `dir` (`database_url`, a data directory inside `dir`, a
    /// free port, then `sections`, TOML) and start a server from it, logging to `dir/<log>`.
    /// Several processes may be started from the same `dir` with different logs.
    pub fn spawn_configured(
        dir: &Path,
        database_url: &str,
        sections: &str,
        log: &str,
    ) -> Result<ServerProcess> {
        ServerProcess::spawn_configured_binary(&server_binary()?, dir, database_url, sections, log)
    }

    /// [`ServerProcess::spawn_configured`] of a given binary.
    pub fn spawn_configured_binary(
        binary: &Path,
        dir: &Path,
        database_url: &str,
        sections: &str,
        log: &str,
    ) -> Result<ServerProcess> {
        let config = dir.join("yijian-server.toml");
        std::fs::write(
            &config,
            format!(
                "database_url = \"{database_url}\"\ndata_dir = \"{}\"\n\
                 listen = \"127.0.0.1:0\"\n\n{sections}",
                dir.join("data").display()
            ),
        )?;
        ServerProcess::spawn_binary(
            binary,
            &["--config".to_owned(), config.display().to_string()],
            dir.join(log),
        )
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// SIGKILL: no graceful shutdown, no flushing — as a power cut or an OOM kill.
    pub fn kill9(&mut self) -> Result<()> {
        self.child.kill()?;
        self.child.wait()?;
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
