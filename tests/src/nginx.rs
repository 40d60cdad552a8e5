//! Debian's nginx in front of several `yijian-server` processes, over HTTPS, as a province
//! deploys it (docs/deploy.md): a certificate authority and a server certificate made for the
//! test with `openssl`, HTTP/1.1 keep-alive to the upstreams, `X-Forwarded-For` set. nginx runs
//! in the foreground as a child process with everything under a temporary directory, and is
//! killed on drop.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::pg::{free_port, is_root, run};

/// A running nginx; killed on drop.
#[derive(Debug)]
pub struct Nginx {
    child: Child,
    dir: tempfile::TempDir,
    pub port: u16,
    /// The test authority's certificate (PEM): what a client must trust.
    pub ca_pem: String,
}

/// A certificate authority and a certificate for 127.0.0.1/localhost signed by it.
fn make_certificates(dir: &Path) -> Result<()> {
    let p = |name: &str| dir.join(name);
    run(Command::new("openssl")
        .args(["req", "-x509", "-new", "-nodes", "-newkey", "ec"])
        .args(["-pkeyopt", "ec_paramgen_curve:prime256v1", "-days", "2"])
        .args(["-subj", "/CN=Yijian Test CA", "-keyout"])
        .arg(p("ca.key"))
        .arg("-out")
        .arg(p("ca.pem")))?;
    run(Command::new("openssl")
        .args(["req", "-new", "-nodes", "-newkey", "ec"])
        .args(["-pkeyopt", "ec_paramgen_curve:prime256v1"])
        .args(["-subj", "/CN=localhost", "-keyout"])
        .arg(p("server.key"))
        .arg("-out")
        .arg(p("server.csr")))?;
    std::fs::write(
        p("server.ext"),
        "subjectAltName = IP:127.0.0.1, DNS:localhost\nbasicConstraints = CA:FALSE\n\
         keyUsage = digitalSignature\nextendedKeyUsage = serverAuth\n",
    )?;
    run(Command::new("openssl")
        .args(["x509", "-req", "-days", "2", "-in"])
        .arg(p("server.csr"))
        .arg("-CA")
        .arg(p("ca.pem"))
        .arg("-CAkey")
        .arg(p("ca.key"))
        .arg("-CAcreateserial")
        .arg("-extfile")
        .arg(p("server.ext"))
        .arg("-out")
        .arg(p("server.pem")))?;
    Ok(())
}

impl Nginx {
    /// Start nginx on a free port, proxying to `upstreams` in turn.
    pub fn start(upstreams: &[SocketAddr]) -> Result<Nginx> {
        let dir = tempfile::Builder::new().prefix("yijian-nginx-").tempdir()?;
        make_certificates(dir.path())?;
        let port = free_port()?;
        let d = dir.path().display();
        let servers: String = upstreams
            .iter()
            .map(|a| format!("        server {a};\n"))
            .collect();
        // Workers of a root master switch to `nobody`, who cannot read this directory; the
        // test's nginx stays the same user throughout.
        let user = if is_root() { "user root;\n" } else { "" };
        let conf = format!(
            "{user}daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log warn;
events {{ worker_connections 1024; }}
http {{
    log_format upstream '$upstream_addr $status $request_method $uri';
    access_log {d}/access.log upstream;
    client_body_temp_path {d}/client_body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    upstream yijian {{
{servers}        keepalive 32;
    }}
    server {{
        listen 127.0.0.1:{port} ssl;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        client_max_body_size 64m;
        location / {{
            proxy_pass http://yijian;
            proxy_http_version 1.1;
            proxy_set_header Connection \"\";
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto https;
            proxy_request_buffering off;
            proxy_read_timeout 300s;
        }}
    }}
}}
"
        );
        let conf_path = dir.path().join("nginx.conf");
        std::fs::write(&conf_path, conf)?;
        let log = std::fs::File::create(dir.path().join("stderr.log"))?;
        let child = Command::new(nginx_binary())
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf_path)
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .spawn()
            .context("starting nginx (Debian's nginx package; `make test` installs it)")?;
        let ca_pem = std::fs::read_to_string(dir.path().join("ca.pem"))?;
        let mut nginx = Nginx {
            child,
            dir,
            port,
            ca_pem,
        };
        nginx.wait_listening()?;
        Ok(nginx)
    }

    fn wait_listening(&mut self) -> Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!("nginx exited ({status}): {}", self.errors());
            }
            if Instant::now() > deadline {
                bail!("nginx did not listen within 20 s: {}", self.errors());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn errors(&self) -> String {
        let read =
            |name: &str| std::fs::read_to_string(self.dir.path().join(name)).unwrap_or_default();
        format!("{}{}", read("stderr.log"), read("error.log"))
    }

    /// `https://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("https://127.0.0.1:{}", self.port)
    }

    /// The access log: one line per request, `<upstream address> <status> <method> <path>`.
    pub fn access_log(&self) -> Result<String> {
        Ok(std::fs::read_to_string(self.dir.path().join("access.log"))?)
    }

    pub fn dir(&self) -> PathBuf {
        self.dir.path().to_owned()
    }
}

fn nginx_binary() -> PathBuf {
    ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| PathBuf::from("nginx"))
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM, not SIGKILL: the master then stops its workers too.
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        if self.child.wait().is_err() {
            let _ = self.child.kill();
        }
    }
}
