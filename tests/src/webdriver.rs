//! Driving the real app through WebDriver: `tauri-driver` (which starts WebKitWebDriver) under
//! a virtual X display, and a small client for the W3C WebDriver protocol.
//!
//! The protocol is JSON over HTTP, so the client is a few calls on reqwest rather than a
//! dependency. Waits poll the page (every 50 ms, with a deadline and the page's own words in the
//! error) instead of sleeping: the app answers in milliseconds on a fast machine and in seconds
//! on a loaded CI runner, and a test should take whichever it is.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

/// The element reference key of the W3C protocol.
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// `tauri-driver` running under `xvfb-run`, killed (with its display) on drop.
#[derive(Debug)]
pub struct Driver {
    child: Child,
    pub port: u16,
    http: reqwest::Client,
}

/// The app binary the tests drive: `YIJIAN_APP_BIN`, else the workspace's debug build.
pub fn app_binary() -> Result<PathBuf> {
    let path = match std::env::var_os("YIJIAN_APP_BIN") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/yijian-app"),
    };
    if !path.exists() {
        bail!(
            "the app binary {} is missing: build it first with `cargo build -p yijian-app` \
             (make test does this)",
            path.display()
        );
    }
    Ok(std::fs::canonicalize(path)?)
}

fn tauri_driver() -> Result<PathBuf> {
    if let Some(p) = std::env::var_os("TAURI_DRIVER") {
        return Ok(PathBuf::from(p));
    }
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    if let Some(p) = home
        .map(|h| h.join("bin/tauri-driver"))
        .filter(|p| p.exists())
    {
        return Ok(p);
    }
    Ok(PathBuf::from("tauri-driver"))
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Driver {
    /// Start `tauri-driver` on a virtual display; the app it launches gets `env`.
    pub async fn start(env: &[(&str, &Path)]) -> Result<Driver> {
        let port = free_port()?;
        let native = free_port()?;
        let mut cmd = Command::new("xvfb-run");
        cmd.args(["-a", "-s", "-screen 0 1280x1024x24"])
            .arg(tauri_driver()?)
            .args([
                "--port",
                &port.to_string(),
                "--native-port",
                &native.to_string(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        // Its own process group, so dropping the driver also ends Xvfb and the app.
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        let child = cmd
            .spawn()
            .context("starting xvfb-run tauri-driver (apt: xvfb; cargo install tauri-driver)")?;
        let driver = Driver {
            child,
            port,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(120))
                .build()?,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = driver
                .http
                .get(format!("http://127.0.0.1:{port}/status"))
                .send()
                .await
                && r.status().is_success()
            {
                return Ok(driver);
            }
            if Instant::now() > deadline {
                bail!("tauri-driver did not answer on port {port} within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Launch the app and open a WebDriver session on it.
    pub async fn session(&self, app: &Path) -> Result<Session> {
        let body = json!({"capabilities": {"alwaysMatch": {
            "tauri:options": {"application": app}
        }}});
        let r: Value = self
            .http
            .post(format!("http://127.0.0.1:{}/session", self.port))
            .json(&body)
            .send()
            .await?
            .json()
            .await?;
        let id = r["value"]["sessionId"]
            .as_str()
            .ok_or_else(|| anyhow!("no session: {r}"))?
            .to_owned();
        Ok(Session {
            base: format!("http://127.0.0.1:{}/session/{id}", self.port),
            http: self.http.clone(),
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        #[cfg(unix)]
        {
            // The whole group: xvfb-run, Xvfb, tauri-driver, WebKitWebDriver, the app. The `--`
            // matters: procps `kill -TERM -PGID` reads the group as an option and kills nothing.
            let pgid = self.child.id();
            let _ = Command::new("kill")
                .args(["-s", "TERM", "--", &format!("-{pgid}")])
                .status();
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One WebDriver session: one running app.
#[derive(Debug, Clone)]
pub struct Session {
    base: String,
    http: reqwest::Client,
}

/// An element of the page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element(pub String);

impl Session {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<Value> {
        let url = format!("{}{path}", self.base);
        let mut req = self.http.request(method.clone(), &url);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r: Value = req
            .send()
            .await
            .with_context(|| format!("{method} {path}"))?
            .json()
            .await?;
        if let Some(err) = r["value"]["error"].as_str() {
            bail!("{method} {path}: {err}: {}", r["value"]["message"]);
        }
        Ok(r["value"].clone())
    }

    /// Run a script in the page; its `return` value comes back.
    pub async fn execute(&self, script: &str, args: Vec<Value>) -> Result<Value> {
        self.call(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": script, "args": args})),
        )
        .await
    }

    /// The first element matching `css`, if any (no waiting).
    pub async fn try_find(&self, css: &str) -> Result<Option<Element>> {
        let found = self
            .execute(
                "return document.querySelector(arguments[0]);",
                vec![json!(css)],
            )
            .await?;
        Ok(found
            .get(ELEMENT_KEY)
            .and_then(|v| v.as_str())
            .map(|id| Element(id.to_owned())))
    }

    /// Wait until `css` matches an element.
    pub async fn find(&self, css: &str) -> Result<Element> {
        self.wait_for(&format!("“{css}”"), || async {
            self.try_find(css).await
        })
        .await
    }

    /// Poll `probe` until it gives `Some`, at most 30 s.
    pub async fn wait_for<T, F, Fut>(&self, what: &str, mut probe: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<Option<T>>>,
    {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(v) = probe().await? {
                return Ok(v);
            }
            if Instant::now() > deadline {
                let text = self.page_text().await.unwrap_or_default();
                bail!("waited 30 s for {what}; the page says: {text}");
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Wait until the app is idle (no command in flight).
    pub async fn idle(&self) -> Result<()> {
        self.wait_for("the app to be idle", || async {
            let busy = self
                .execute(
                    "return document.body && document.body.dataset.busy;",
                    vec![],
                )
                .await?;
            Ok((busy.as_str() != Some("1")).then_some(()))
        })
        .await
    }

    /// Wait for the screen `name` (`[data-screen=name]`).
    pub async fn screen(&self, name: &str) -> Result<Element> {
        let el = self.find(&format!("[data-screen=\"{name}\"]")).await?;
        self.idle().await?;
        Ok(el)
    }

    pub async fn click(&self, el: &Element) -> Result<()> {
        // A scripted click: the element may be below the fold of a 360 px screen, and what is
        // tested is the app's handler, not the window manager's scrolling.
        self.execute(
            "arguments[0].scrollIntoView({block: 'center'}); arguments[0].click();",
            vec![json!({ELEMENT_KEY: el.0})],
        )
        .await?;
        Ok(())
    }

    pub async fn click_css(&self, css: &str) -> Result<()> {
        let el = self.find(css).await?;
        self.click(&el).await
    }

    /// Type into an input (after clearing it), as the keyboard does: input events fire.
    pub async fn type_into(&self, css: &str, text: &str) -> Result<()> {
        let el = self.find(css).await?;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/clear", el.0),
            Some(json!({})),
        )
        .await?;
        if text.is_empty() {
            // Nothing to type (WebKitWebDriver refuses empty keys): tell the page it changed.
            self.execute(
                "arguments[0].dispatchEvent(new Event('input', {bubbles: true})); \
                 arguments[0].dispatchEvent(new Event('change', {bubbles: true}));",
                vec![json!({ELEMENT_KEY: el.0})],
            )
            .await?;
            return Ok(());
        }
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", el.0),
            Some(json!({"text": text})),
        )
        .await?;
        Ok(())
    }

    /// Put a file into an `<input type=file>` (the WebDriver way: its path as keys).
    pub async fn upload(&self, css: &str, file: &Path) -> Result<()> {
        let el = self.find(css).await?;
        let path = std::fs::canonicalize(file)?;
        self.call(
            reqwest::Method::POST,
            &format!("/element/{}/value", el.0),
            Some(json!({"text": path.to_string_lossy()})),
        )
        .await?;
        Ok(())
    }

    pub async fn text(&self, css: &str) -> Result<String> {
        let el = self.find(css).await?;
        let v = self
            .execute(
                "return arguments[0].innerText;",
                vec![json!({ELEMENT_KEY: el.0})],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    pub async fn value(&self, css: &str) -> Result<String> {
        let el = self.find(css).await?;
        let v = self
            .execute(
                "return arguments[0].value;",
                vec![json!({ELEMENT_KEY: el.0})],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// The visible text of the whole page (for failure messages).
    pub async fn page_text(&self) -> Result<String> {
        let v = self
            .execute(
                "return document.body ? document.body.innerText : '';",
                vec![],
            )
            .await?;
        Ok(v.as_str().unwrap_or_default().chars().take(2000).collect())
    }

    pub async fn set_size(&self, width: u32, height: u32) -> Result<()> {
        self.call(
            reqwest::Method::POST,
            "/window/rect",
            Some(json!({"width": width, "height": height})),
        )
        .await?;
        Ok(())
    }

    /// Save a PNG of the window to `target/screenshots/<name>.png`, after two animation frames
    /// (a screenshot taken right after a change can show the frame before it).
    pub async fn screenshot(&self, name: &str) -> Result<PathBuf> {
        self.call(
            reqwest::Method::POST,
            "/execute/async",
            Some(json!({
                "script": "const done = arguments[arguments.length - 1]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));",
                "args": []
            })),
        )
        .await?;
        let v = self.call(reqwest::Method::GET, "/screenshot", None).await?;
        let b64 = v.as_str().ok_or_else(|| anyhow!("no screenshot"))?;
        use base64::Engine as _;
        let png = base64::engine::general_purpose::STANDARD.decode(b64)?;
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/screenshots");
        std::fs::create_dir_all(&dir)?;
        let path = dir.join(format!("{name}.png"));
        std::fs::write(&path, png)?;
        Ok(path)
    }

    /// End the session: the app is closed.
    pub async fn quit(self) -> Result<()> {
        self.call(reqwest::Method::DELETE, "", None).await?;
        Ok(())
    }
}
