//! The `yijian` CLI as a person or script runs it.

use std::process::Command;

/// Run `yijian` with the PIN in `YIJIAN_PIN`, as scripts do.
fn yijian(args: &[&str]) -> (bool, serde_json::Value, String) {
    yijian_with_pin(args, Some("240517"))
}

fn yijian_with_pin(args: &[&str], pin: Option<&str>) -> (bool, serde_json::Value, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_yijian"));
    cmd.args(args)
        .env_remove("YIJIAN_PIN")
        .stdin(std::process::Stdio::null());
    if let Some(pin) = pin {
        cmd.env("YIJIAN_PIN", pin);
    }
    let out = cmd.output().expect("run yijian");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let v = serde_json::from_str(stdout.trim()).unwrap_or(serde_json::Value::Null);
    (
        out.status.success(),
        v,
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn check_id_accepts_the_standards_example_and_explains_a_wrong_check_digit() {
    let (ok, v, _) = yijian(&["check-id", "11010519491231002X", "--today", "2026-11-28"]);
    assert!(ok);
    assert_eq!(v["masked"], "1101**********002X");
    assert_eq!(v["birth_date"], "1949-12-31");
    assert_eq!(v["sex"], "female");
    let (ok, _, err) = yijian(&["check-id", "110105194912310021", "--today", "2026-11-28"]);
    assert!(!ok);
    assert!(err.contains("校验位"), "{err}");
    let (ok, _, err) = yijian(&["check-id", "110105491231002"]);
    assert!(!ok);
    assert!(err.contains("15位"), "{err}");
}

#[test]
fn division_by_code_and_by_path() {
    let (ok, v, _) = yijian(&["division", "甘肃省/定西市/安定区/鲁家沟镇"]);
    assert!(ok);
    assert_eq!(v["code"], "621102105");
    let (ok, v, _) = yijian(&["division", "6211"]);
    assert!(ok);
    assert_eq!(v["name"], "定西市");
    let (ok, _, err) = yijian(&["division", "甘肃省/不存在市"]);
    assert!(!ok);
    assert!(err.contains("找不到"), "{err}");
}

#[test]
fn due_dates_across_the_2026_spring_festival() {
    // Declared Thursday 12 Feb 2026. Working days after it: Fri 13, Sat 14 (make-up day),
    // then the holiday 15–23 Feb, then Tue 24, Wed 25, Thu 26 → the 5th is 26 Feb.
    let (ok, v, _) = yijian(&["due", "--declared", "2026-02-12", "--today", "2026-02-27"]);
    assert!(ok);
    let home = &v["steps"][1];
    assert_eq!(home["step"], "home_verification");
    assert_eq!(home["due"], "2026-02-26");
    assert_eq!(home["overdue"], true);
}

#[test]
fn due_dates_in_an_unpublished_year_are_provisional_by_the_due_date() {
    // Declared Mon 2026-12-28, run on the same day: the acceptance is due Wed 30 (2026, exact),
    // home verification 5 working days later in 2027, whose notice is not in the calendar.
    let (ok, v, err) = yijian(&["due", "--declared", "2026-12-28", "--today", "2026-12-28"]);
    assert!(ok, "{err}");
    let accept = &v["steps"][0];
    assert_eq!(accept["due"], "2026-12-30");
    assert_eq!(accept["provisional"], false);
    let home = &v["steps"][1];
    // 29, 30, 31, (元旦 Fri 1 January, weekend), Mon 4, Tue 5.
    assert_eq!(home["due"], "2027-01-05");
    assert_eq!(home["provisional"], true);
    assert_eq!(v["calendar_provisional_years"], serde_json::json!([2027]));
    // Declared and due inside published 2026, run in 2027: nothing is provisional.
    let (ok, v, err) = yijian(&["due", "--declared", "2026-02-12", "--today", "2027-03-01"]);
    assert!(ok, "{err}");
    assert_eq!(v["calendar_provisional_years"], serde_json::json!([]));
    assert_eq!(v["steps"][2]["provisional"], false);
}

#[test]
fn init_creates_an_encrypted_store_that_needs_the_pin() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("device");
    let data = data.to_str().expect("utf8 path");
    let (ok, _, err) = yijian_with_pin(&["init", "--data-dir", data], None);
    assert!(!ok);
    assert!(err.contains("YIJIAN_PIN"), "{err}");
    let (ok, v, err) = yijian(&["init", "--data-dir", data]);
    assert!(ok, "{err}");
    assert_eq!(v["migrations"], yijian_client::store::MIGRATIONS.len());
    let db = dir.path().join("device/yijian.db");
    let head = std::fs::read(&db).expect("db");
    assert!(
        !head.starts_with(b"SQLite format 3"),
        "the store is encrypted"
    );
    let (ok, _, err) = yijian_with_pin(&["status", "--data-dir", data], Some("135790"));
    assert!(!ok);
    assert!(err.contains("PIN不正确"), "{err}");
    let (ok, _, err) = yijian(&["status", "--data-dir", data]);
    assert!(ok, "{err}");
}

#[test]
fn seed_works_offline_and_status_counts_the_outbox() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().join("phone-1");
    let data = data.to_str().expect("utf8 path");
    let (ok, v, err) = yijian(&[
        "--data-dir",
        data,
        "seed",
        "--village",
        "621102105201",
        "--households",
        "3",
    ]);
    assert!(ok, "{err}");
    assert_eq!(v["households"], 3);
    // Not signed in: no visitor to name, so no visit drafts.
    assert_eq!(v["visits"], 0);
    assert_eq!(v["outbox"], 3);
    let (ok, v, err) = yijian(&["status", "--data-dir", data]);
    assert!(ok, "{err}");
    assert_eq!(v["outbox"], 3);
    assert_eq!(v["records"], 3);
    assert_eq!(v["logged_in"], false);
    let (ok, v, _) = yijian(&["quarantine", "--data-dir", data]);
    assert!(ok);
    assert_eq!(v, serde_json::json!([]));

    let (ok, _, err) = yijian(&["seed", "--data-dir", data, "--village", "621102105"]);
    assert!(!ok);
    assert!(err.contains("村级"), "{err}");
}

#[test]
fn sync_and_login_explain_failures_in_chinese() {
    let dir = tempfile::tempdir().expect("tempdir");
    let data = dir.path().to_str().expect("utf8 path");
    let (ok, _, err) = yijian(&["sync", "--data-dir", data]);
    assert!(!ok);
    assert!(err.contains("尚未登录"), "{err}");
    // A port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let server = format!("http://127.0.0.1:{port}");
    let (ok, _, err) = yijian(&[
        "login",
        "--data-dir",
        data,
        "--server",
        &server,
        "--login",
        "13800000001",
        "--password",
        "password1",
    ]);
    assert!(!ok);
    assert!(err.contains("登录失败") && err.contains("网络"), "{err}");
}

#[test]
fn decode_qr_prints_one_line_per_file() {
    let data = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let qr = data.join("qr-blackbox/qrcode-2/1.png");
    let no_qr = data.join("photos/nikon_p6000_gps_small.jpg");
    let out = Command::new(env!("CARGO_BIN_EXE_yijian"))
        .arg("decode-qr")
        .arg(&qr)
        .arg(&no_qr)
        .output()
        .expect("run yijian");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let lines: Vec<serde_json::Value> = stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect();
    assert_eq!(lines.len(), 2);
    let expected = std::fs::read_to_string(qr.with_extension("txt")).expect("expected text");
    assert_eq!(lines[0]["file"], qr.display().to_string());
    assert_eq!(lines[0]["text"], expected.as_str());
    assert_eq!(lines[1]["text"], serde_json::Value::Null);
}

#[test]
fn photo_writes_files_named_by_sha256() {
    let dir = tempfile::tempdir().expect("temp dir");
    let input = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/photos/orientation/Portrait_6.jpg");
    let out_dir = dir.path().join("out");
    let (ok, v, stderr) = yijian(&[
        "photo",
        input.to_str().expect("utf-8 path"),
        out_dir.to_str().expect("utf-8 path"),
    ]);
    assert!(ok, "{stderr}");
    let sha = v["sha256"].as_str().expect("sha256");
    assert_eq!(
        (v["width"].as_u64(), v["height"].as_u64()),
        (Some(1067), Some(1600))
    );
    assert_eq!(v["taken_at"], serde_json::Value::Null);
    let main = std::fs::read(out_dir.join(format!("{sha}.jpg"))).expect("main written");
    let thumb = std::fs::read(out_dir.join(format!("{sha}.thumb.jpg"))).expect("thumb written");
    assert_eq!(v["bytes"].as_u64(), Some(main.len() as u64));
    assert_eq!(v["thumb_bytes"].as_u64(), Some(thumb.len() as u64));

    let (ok, _, stderr) = yijian(&[
        "photo",
        "/nonexistent.jpg",
        out_dir.to_str().expect("utf-8"),
    ]);
    assert!(!ok);
    assert!(!stderr.is_empty());
}
