//! The `yijian-server` binary as an operator runs it: start, answer `/healthz`, stop on
//! SIGTERM; print its example configuration; create the first administrator and import users
//! from a CSV file, then sign in as them through `serve`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Child, ChildStdout, Command, Output, Stdio};

use yijian_server::config::{CONFIG_FILE_VAR, Config, env_vars};

fn http_get(addr: &str, path: &str) -> (u16, String) {
    http(addr, "GET", path, None, None)
}

#[test]
fn serve_answers_healthz_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let mut child = Command::new(env!("CARGO_BIN_EXE_yijian-server"))
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(&data)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn server");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("read first line");
    let addr = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();

    let (status, body) = http_get(&addr, "/healthz");
    assert_eq!(status, 200, "{body}");
    let v: serde_json::Value = serde_json::from_str(&body).expect("json");
    assert_eq!(v["backend"], "sqlite");
    assert!(
        data.join("yijian.db").exists(),
        "database created in --data-dir"
    );

    let (status, body) = http_get(&addr, "/no-such-page");
    assert_eq!(status, 404, "{body}");

    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(kill.success());
    let exit = child.wait().expect("wait");
    assert!(exit.success(), "graceful shutdown exits 0, got {exit:?}");
}

#[test]
fn unsupported_database_url_is_refused_with_a_clear_message() {
    let out = Command::new(env!("CARGO_BIN_EXE_yijian-server"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database-url",
            "mysql://root:pw@h/db",
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("use postgres://"), "{err}");
    assert!(!err.contains("pw@"), "password leaked: {err}");
}

/// The binary with no configuration inherited from the environment running the tests (a
/// developer's `YIJIAN_DATABASE_URL` must not send these tests to their PostgreSQL).
fn server_cmd() -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yijian-server"));
    for (var, _) in env_vars() {
        cmd.env_remove(var);
    }
    cmd.env_remove(CONFIG_FILE_VAR);
    cmd.env_remove("YIJIAN_ADMIN_PASSWORD");
    cmd
}

/// Run to completion with `stdin` as input.
fn run(mut cmd: Command, stdin: &str) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A running `serve`, stopped with SIGTERM when dropped (also when a test fails midway).
struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(mut cmd: Command) -> Server {
        let mut child = cmd.stdout(Stdio::piped()).spawn().expect("spawn server");
        let addr = read_listening_line(child.stdout.take().expect("stdout"));
        Server { child, addr }
    }

    /// Stop with SIGTERM and wait; whether it exited cleanly.
    fn stop(&mut self) -> bool {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        self.child.wait().is_ok_and(|s| s.success())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}

fn read_listening_line(stdout: ChildStdout) -> String {
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read first line");
    line.trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned()
}

/// One HTTP/1.0 request with an optional JSON body and bearer token: (status, body).
fn http(
    addr: &str,
    method: &str,
    path: &str,
    json: Option<&str>,
    token: Option<&str>,
) -> (u16, String) {
    let mut s = TcpStream::connect(addr).expect("connect");
    let mut req = format!("{method} {path} HTTP/1.0\r\nHost: {addr}\r\n");
    if let Some(token) = token {
        req.push_str(&format!("Authorization: Bearer {token}\r\n"));
    }
    let body = json.unwrap_or_default();
    if json.is_some() {
        req.push_str("Content-Type: application/json\r\n");
    }
    req.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
    s.write_all(req.as_bytes()).expect("write");
    let mut raw = String::new();
    s.read_to_string(&mut raw).expect("read");
    let status = raw
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status code");
    let body = raw
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

fn login(addr: &str, login: &str, password: &str) -> (u16, serde_json::Value) {
    let req = serde_json::json!({ "login": login, "password": password, "device_name": "测试机" });
    let (status, body) = http(addr, "POST", "/v1/auth/login", Some(&req.to_string()), None);
    let v = serde_json::from_str(&body).unwrap_or(serde_json::Value::String(body));
    (status, v)
}

fn with_data_dir(mut cmd: Command, data: &Path) -> Command {
    cmd.arg("--data-dir").arg(data);
    cmd
}

#[test]
fn default_config_prints_the_example_which_is_the_defaults() {
    let out = server_cmd().arg("default-config").output().expect("run");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let printed = text(&out.stdout);
    let parsed = Config::from_toml(&printed, Path::new("default-config")).expect("parses");
    assert_eq!(parsed, Config::default());
    assert!(printed.contains("max_pull_limit"));
}

#[test]
fn imported_users_are_listed_without_hashes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        "login,name,role,scope,password\n\
         13800000001,张网格,village_worker,621102105201,village-pass-1\n\
         13800000002,李乡镇,township,621102105,township-pass\n\
         13800000003,\"王, 县级\",county,621102,county-pass-3\n",
    )
    .expect("write csv");
    // Options after the subcommand, as an operator types them.
    let mut cmd = server_cmd();
    cmd.arg("import-users")
        .arg(&csv)
        .arg("--data-dir")
        .arg(&data);
    let out = run(cmd, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert_eq!(summary["imported"], 3, "{summary}");
    assert_eq!(summary["users"][2]["line"], 4);

    // The environment layer finds the same database.
    let mut cmd = server_cmd();
    cmd.arg("list-users").env("YIJIAN_DATA_DIR", &data);
    let out = run(cmd, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let listed = text(&out.stdout);
    let users: Vec<serde_json::Value> = listed
        .lines()
        .map(|l| serde_json::from_str(l).expect("one JSON object per line"))
        .collect();
    let mut logins: Vec<(&str, &str, &str)> = users
        .iter()
        .map(|u| {
            (
                u["login"].as_str().expect("login"),
                u["role"].as_str().expect("role"),
                u["scope"].as_str().expect("scope"),
            )
        })
        .collect();
    logins.sort_unstable();
    assert_eq!(
        logins,
        vec![
            ("13800000001", "village_worker", "621102105201"),
            ("13800000002", "township", "621102105"),
            ("13800000003", "county", "621102"),
        ]
    );
    assert!(users.iter().any(|u| u["name"] == "王, 县级"));
    assert!(
        !listed.contains("argon2") && !listed.contains("pass"),
        "{listed}"
    );

    // A second import of the same file is refused: the logins exist.
    let mut cmd = server_cmd();
    cmd.arg("import-users")
        .arg(&csv)
        .arg("--data-dir")
        .arg(&data);
    let out = run(cmd, "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("already exists"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn a_file_with_bad_rows_imports_nothing_and_names_every_bad_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let csv = dir.path().join("users.csv");
    std::fs::write(
        &csv,
        "login,name,role,scope,password\n\
         13800000001,张网格,village_worker,621102105201,village-pass-1\n\
         13800000002,李乡镇,township,6211,township-pass\n\
         13800000003,王县级,county,621102,county-pass-3\n\
         13800000004,赵,mayor,621102,tiny-pw\n",
    )
    .expect("write csv");
    let mut cmd = server_cmd();
    cmd.arg("import-users")
        .arg(&csv)
        .arg("--data-dir")
        .arg(&data);
    let out = run(cmd, "");
    assert!(!out.status.success());
    let err = text(&out.stderr);
    for line in [3, 5] {
        assert!(err.contains(&format!("第{line}行")), "{err}");
        assert!(err.contains(&format!("line {line}:")), "{err}");
    }
    assert!(
        !err.contains("line 2:") && !err.contains("line 4:"),
        "{err}"
    );
    assert!(!err.contains("tiny-pw"), "password echoed: {err}");
    let summary: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json summary");
    assert_eq!(summary["imported"], 0);
    let lines: Vec<u64> = summary["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| e["line"].as_u64().expect("line"))
        .collect();
    assert_eq!(lines, vec![3, 5, 5], "{summary}");

    let mut cmd = server_cmd();
    cmd.arg("list-users").arg("--data-dir").arg(&data);
    let out = run(cmd, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "", "nothing imported");
}

#[test]
fn created_admin_signs_in_through_serve_and_a_revoked_device_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");

    // No password anywhere: refused, and it says where a password may come from.
    let mut cmd = with_data_dir(server_cmd(), &data);
    cmd.args(["create-admin", "--login", "13900000001", "--name", "管理员"]);
    let out = run(cmd, "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("--password-stdin"),
        "{}",
        text(&out.stderr)
    );

    let mut cmd = with_data_dir(server_cmd(), &data);
    cmd.args([
        "create-admin",
        "--login",
        "139 0000 0001",
        "--name",
        "管理员",
        "--password-stdin",
    ]);
    let out = run(cmd, "admin-pass-123\n");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let admin: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json user");
    assert_eq!(admin["role"], "admin");
    assert_eq!(admin["scope"], "62");
    assert_eq!(admin["login"], "13900000001");

    let mut serve = server_cmd();
    serve
        .args(["serve", "--listen", "127.0.0.1:0"])
        .arg("--data-dir")
        .arg(&data)
        .stderr(Stdio::null());
    let mut server = Server::start(serve);

    let (status, wrong) = login(&server.addr, "13900000001", "admin-pass-12");
    assert_eq!(status, 401, "{wrong}");
    let (status, session) = login(&server.addr, "13900000001", "admin-pass-123");
    assert_eq!(status, 200, "{session}");
    let token = session["token"].as_str().expect("token").to_owned();
    assert_eq!(token.len(), 64);
    assert_eq!(session["user"]["role"], "admin");
    let device = session["device_id"].as_str().expect("device id").to_owned();

    // Revoked from the command line while the server runs: the token stops working at once.
    let mut cmd = with_data_dir(server_cmd(), &data);
    cmd.args(["revoke-device", &device]);
    let out = run(cmd, "");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let (status, body) = http(&server.addr, "POST", "/v1/auth/logout", None, Some(&token));
    assert_eq!(status, 401, "{body}");
    let mut cmd = with_data_dir(server_cmd(), &data);
    cmd.args(["revoke-device", &device]);
    assert!(!run(cmd, "").status.success(), "revoking twice is reported");

    assert!(server.stop(), "graceful shutdown");
}

#[test]
fn serve_reads_a_config_file_and_logs_json_to_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("data");
    let file = dir.path().join("server.toml");
    std::fs::write(
        &file,
        format!(
            "listen = \"127.0.0.1:0\"\ndata_dir = {:?}\n[log]\nformat = \"json\"\n",
            data.to_str().expect("utf-8 path")
        ),
    )
    .expect("write config");
    let mut cmd = server_cmd();
    cmd.arg("serve")
        .arg("--config")
        .arg(&file)
        .stderr(Stdio::piped());
    let mut server = Server::start(cmd);
    let (status, _) = http(&server.addr, "GET", "/healthz", None, None);
    assert_eq!(status, 200);
    assert!(data.join("yijian.db").exists(), "data_dir from the file");
    assert!(server.stop());
    let mut err = String::new();
    server
        .child
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut err)
        .expect("read stderr");
    let lines: Vec<&str> = err.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(!lines.is_empty());
    for line in lines {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not a JSON log line ({e}): {line}"));
    }

    // A misspelt key stops the server before it listens, naming the key.
    std::fs::write(&file, "[sync]\nmax_pul_limit = 10\n").expect("write config");
    let mut cmd = server_cmd();
    cmd.arg("serve").arg("--config").arg(&file);
    let out = run(cmd, "");
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("max_pul_limit"),
        "{}",
        text(&out.stderr)
    );
}
