//! A real S3-compatible server for the tests: moto's server mode (PyPI `moto[server]`, which
//! `make test` installs into `target/s3-venv`), on a free port, killed on drop. Not a mock in
//! code: the S3 blob store talks to it over HTTP with signed requests, as to a province's bucket.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::pg::free_port;

/// Access keys moto accepts (it checks the signature's form, not the key).
pub const ACCESS_KEY_ID: &str = "yijian-test-key";
pub const SECRET_ACCESS_KEY: &str = "yijian-test-secret";

/// A running moto server.
pub struct S3Server {
    pub port: u16,
    child: Child,
}

impl std::fmt::Debug for S3Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("S3Server")
            .field("port", &self.port)
            .finish()
    }
}

/// `moto_server`: `YIJIAN_MOTO_SERVER`, else the venv `make test` made.
fn moto_binary() -> Result<PathBuf> {
    if let Ok(p) = std::env::var("YIJIAN_MOTO_SERVER") {
        return Ok(PathBuf::from(p));
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .context("workspace root")?
        .to_owned();
    let bin = root.join("target/s3-venv/bin/moto_server");
    if !bin.exists() {
        bail!(
            "{} missing: run `make s3-deps` (python3 -m venv target/s3-venv && \
             target/s3-venv/bin/pip install 'moto[server]')",
            bin.display()
        );
    }
    Ok(bin)
}

impl S3Server {
    /// Start a server and wait until it answers.
    pub async fn start() -> Result<S3Server> {
        let port = free_port()?;
        let child = Command::new(moto_binary()?)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .context("starting moto_server")?;
        let server = S3Server { port, child };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http
                .get(format!("{}/moto-api/", server.endpoint()))
                .send()
                .await
                && r.status().is_success()
            {
                break;
            }
            if Instant::now() > deadline {
                bail!("moto_server did not answer on port {port} within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Ok(server)
    }

    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Create a bucket (moto takes an unsigned request for it).
    pub async fn create_bucket(&self, name: &str) -> Result<()> {
        let r = reqwest::Client::new()
            .put(format!("{}/{name}", self.endpoint()))
            .send()
            .await?;
        if !r.status().is_success() {
            bail!("creating bucket {name}: {}", r.status());
        }
        Ok(())
    }

    /// Every key in `bucket` (for tests that look at what the store left behind).
    pub async fn keys(&self, bucket: &str) -> Result<Vec<String>> {
        let text = reqwest::Client::new()
            .get(format!("{}/{bucket}?list-type=2", self.endpoint()))
            .send()
            .await?
            .text()
            .await?;
        Ok(text
            .split("<Key>")
            .skip(1)
            .filter_map(|s| s.split("</Key>").next())
            .map(str::to_owned)
            .collect())
    }

    /// The `[blobs]` section of a server configuration that stores in `bucket`.
    pub fn config_section(&self, bucket: &str) -> String {
        format!(
            "[blobs]\nbackend = \"s3\"\ns3_endpoint = \"{}\"\ns3_bucket = \"{bucket}\"\n\
             s3_access_key_id = \"{ACCESS_KEY_ID}\"\ns3_secret_access_key = \"{SECRET_ACCESS_KEY}\"\n",
            self.endpoint()
        )
    }

    /// Settings for an [`yijian_server::blobstore::S3BlobStore`] on `bucket`.
    pub fn settings(&self, bucket: &str) -> yijian_server::blobstore::S3Settings {
        yijian_server::blobstore::S3Settings {
            endpoint: self.endpoint(),
            bucket: bucket.to_owned(),
            region: "us-east-1".to_owned(),
            access_key_id: ACCESS_KEY_ID.to_owned(),
            secret_access_key: SECRET_ACCESS_KEY.to_owned(),
            prefix: String::new(),
        }
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
