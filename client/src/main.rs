//! `yijian`: the device engine on the command line.
//!
//! Every command reuses exactly the code the app runs. Output is one JSON object per line on
//! stdout; problems are explained in Chinese on stderr with a non-zero exit code. Commands that
//! work on a device (`login`, `seed`, `sync`, `status`, …) keep its database in `--data-dir`, so
//! a script can simulate several phones side by side.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use serde_json::json;
use yijian_client::sync::Phase;
use yijian_client::{Device, DeviceConfig, DeviceStage, SyncEngine, SyncProgress};
use yijian_core::calendar::HolidayCalendar;
use yijian_core::deadline::{self, DeadlineRules, Step};
use yijian_core::division::DivisionCode;
use yijian_core::ids::CommandId;
use yijian_core::regions::Regions;
use yijian_core::validation::{MobileNumber, ResidentIdNumber};

#[derive(Debug, Parser)]
#[command(name = "yijian", version, about = "一键申报 设备端命令行")]
struct Cli {
    /// Directory holding this device's database (one directory per simulated phone).
    #[arg(
        long,
        global = true,
        env = "YIJIAN_DATA_DIR",
        default_value = "./yijian-device"
    )]
    data_dir: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Read the QR code in each image; prints one JSON line per file (`text` null if none).
    DecodeQr {
        #[arg(required = true)]
        files: Vec<PathBuf>,
    },
    /// Run the capture pipeline on a photo: writes OUT_DIR/<sha256>.jpg and <sha256>.thumb.jpg.
    Photo { input: PathBuf, out_dir: PathBuf },
    /// Check an 18-digit resident ID number (GB 11643).
    CheckId {
        number: String,
        /// Date to check "birth date not in the future" against (default: today in Beijing).
        #[arg(long)]
        today: Option<NaiveDate>,
    },
    /// Check a mainland mobile number.
    CheckPhone { number: String },
    /// Look up a division by code (621102105) or name path (甘肃省/定西市/安定区/鲁家沟镇).
    Division { query: String },
    /// Due dates of each step for a case declared on DATE, and their status on --today.
    Due {
        #[arg(long)]
        declared: NaiveDate,
        #[arg(long)]
        today: Option<NaiveDate>,
        /// Province whose rules apply (2-digit code).
        #[arg(long, default_value = "62")]
        province: String,
    },
    /// Create (or open and migrate) the encrypted local store in --data-dir, with the PIN from
    /// YIJIAN_PIN.
    Init,
    /// Sign this device in to a sync server.
    Login {
        /// e.g. http://127.0.0.1:8080
        #[arg(long)]
        server: String,
        /// The account's mobile number.
        #[arg(long)]
        login: String,
        #[arg(long, env = "YIJIAN_PASSWORD", hide_env_values = true)]
        password: String,
        #[arg(long, default_value = "yijian 命令行")]
        device_name: String,
    },
    /// Revoke this device's token and erase its store. Refused while work is unsent, unless
    /// --erase-unsent confirms that it is to be thrown away.
    Logout {
        #[arg(long)]
        erase_unsent: bool,
    },
    /// Create test data offline: households with a head each and a draft visit each.
    Seed {
        /// 12-digit village code.
        #[arg(long)]
        village: String,
        #[arg(long, default_value_t = 10)]
        households: u64,
    },
    /// Push the outbox, pull changes, upload photos; progress on stderr, summary on stdout.
    Sync,
    /// What is waiting to be sent or received.
    Status,
    /// Commands the server refused, with its reasons.
    Quarantine,
    /// Put quarantined commands back in the outbox (all, or the one with ID).
    Retry { id: Option<String> },
}

fn today_in_china() -> NaiveDate {
    yijian_core::time::china_date(chrono::Utc::now())
}

/// The PIN: `YIJIAN_PIN`, else asked on the terminal without echo.
fn pin() -> Result<String, String> {
    if let Ok(pin) = std::env::var("YIJIAN_PIN") {
        return Ok(pin);
    }
    if std::io::stdin().is_terminal() {
        return rpassword::prompt_password("请输入PIN（6位数字）：").map_err(|e| e.to_string());
    }
    Err("本机数据已加密：请用环境变量 YIJIAN_PIN 提供PIN，或在终端中运行以输入PIN".into())
}

fn device(data_dir: &Path) -> Result<Device, String> {
    Device::at(data_dir, DeviceConfig::default()).map_err(|e| e.to_string())
}

/// The device's store, opened with the PIN. A device that has nothing yet gets a new store
/// (scripts that seed offline before signing in).
fn unlocked(data_dir: &Path) -> Result<(Device, Arc<SyncEngine>), String> {
    let mut device = device(data_dir)?;
    let engine = match device.stage() {
        DeviceStage::Empty => device.create_offline(&pin()?),
        DeviceStage::NeedsPassword => {
            return Err(
                "PIN已不能打开本机数据（错误次数过多或尚未设置）：请用 yijian login 以密码登录"
                    .into(),
            );
        }
        _ => device.unlock(&pin()?),
    }
    .map_err(|e| e.to_string())?;
    Ok((device, engine))
}

fn runtime() -> Result<tokio::runtime::Runtime, String> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("无法启动：{e}"))
}

fn to_json(v: &impl serde::Serialize) -> Result<serde_json::Value, String> {
    serde_json::to_value(v).map_err(|e| e.to_string())
}

/// A one-line progress bar on stderr: redrawn in place on a terminal, a line per phase
/// otherwise (logs stay readable).
struct ProgressBar {
    tty: bool,
    last_phase: Mutex<Option<Phase>>,
}

impl ProgressBar {
    fn phase_zh(p: Phase) -> &'static str {
        match p {
            Phase::Push => "上传记录",
            Phase::Pull => "下载更新",
            Phase::Snapshot => "首次同步",
            Phase::Photos => "上传照片",
        }
    }

    fn draw(&self, p: &SyncProgress) {
        let kib = |b: u64| b.div_ceil(1024);
        const WIDTH: u64 = 24;
        let filled = (p.records_done.min(p.records_total) * WIDTH).checked_div(p.records_total);
        let records = match filled {
            Some(filled) => format!(
                "[{}{}] {}/{}",
                "#".repeat(filled as usize),
                "-".repeat((WIDTH - filled) as usize),
                p.records_done,
                p.records_total
            ),
            None => format!("{} 条", p.records_done),
        };
        let bytes = if p.bytes_total > 0 {
            format!("{}/{} KiB", kib(p.bytes_done), kib(p.bytes_total))
        } else {
            format!("{} KiB", kib(p.bytes_done))
        };
        let line = format!("{} {records} {bytes}", Self::phase_zh(p.phase));
        let mut err = std::io::stderr().lock();
        if self.tty {
            let _ = write!(err, "\r\x1b[2K{line}");
        } else if let Ok(mut last) = self.last_phase.lock()
            && *last != Some(p.phase)
        {
            *last = Some(p.phase);
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }

    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

/// `decode-qr`: one JSON line per file, so a long list streams; fails if any file is unreadable.
fn decode_qr_files(files: &[PathBuf]) -> ExitCode {
    let mut failed = false;
    for file in files {
        let result = std::fs::read(file)
            .map_err(|e| e.to_string())
            .and_then(|bytes| yijian_client::qr::decode_qr(&bytes).map_err(|e| e.to_string()));
        match result {
            Ok(text) => println!("{}", json!({"file": file, "text": text})),
            Err(message) => {
                failed = true;
                println!("{}", json!({"file": file, "text": null, "error": message}));
            }
        }
    }
    if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

fn process_photo_file(input: &Path, out_dir: &Path) -> Result<serde_json::Value, String> {
    let bytes = std::fs::read(input).map_err(|e| format!("{}: {e}", input.display()))?;
    let p = yijian_client::photo::process_photo(&bytes).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(out_dir).map_err(|e| format!("{}: {e}", out_dir.display()))?;
    for (name, data) in [
        (format!("{}.jpg", p.sha256), &p.jpeg),
        (format!("{}.thumb.jpg", p.sha256), &p.thumb),
    ] {
        let path = out_dir.join(name);
        std::fs::write(&path, data).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    Ok(json!({
        "sha256": p.sha256,
        "width": p.width,
        "height": p.height,
        "bytes": p.jpeg.len(),
        "thumb_bytes": p.thumb.len(),
        "taken_at": p.taken_at,
    }))
}

fn run(cli: Cli) -> Result<serde_json::Value, String> {
    let data_dir = cli.data_dir;
    match cli.command {
        Command::DecodeQr { files } => {
            // Handled in `main` (several lines of output); kept here so the match is total.
            Ok(json!({"files": files.len()}))
        }
        Command::Photo { input, out_dir } => process_photo_file(&input, &out_dir),
        Command::CheckId { number, today } => {
            let id = ResidentIdNumber::parse(&number, today.unwrap_or_else(today_in_china))
                .map_err(|e| e.to_string())?;
            Ok(json!({
                "valid": true,
                "number": id.as_str(),
                "masked": id.masked(),
                "birth_date": id.birth_date(),
                "sex": id.sex(),
                "region_prefix": id.region_prefix(),
            }))
        }
        Command::CheckPhone { number } => {
            let m = MobileNumber::parse(&number).map_err(|e| e.to_string())?;
            Ok(json!({"valid": true, "number": m.as_str(), "masked": m.masked()}))
        }
        Command::Division { query } => {
            let regions = Regions::gansu();
            let region = match DivisionCode::parse(&query) {
                Ok(code) => regions.get(&code),
                Err(_) => regions.find_by_path(&query),
            }
            .ok_or_else(|| format!("找不到区划“{query}”"))?;
            Ok(json!({
                "code": region.code,
                "name": region.name,
                "level": region.level,
                "path": regions.name_path(&region.code),
                "parent": region.parent,
                "children": regions.children(&region.code).count(),
                "villages": regions.villages_in(&region.code).count(),
            }))
        }
        Command::Due {
            declared,
            today,
            province,
        } => {
            let province = DivisionCode::parse(&province).map_err(|e| e.to_string())?;
            let rules = DeadlineRules::for_province(&province);
            let calendar = HolidayCalendar::builtin();
            let today = today.unwrap_or_else(today_in_china);
            // A due date is provisional when the count from the declaration to it crosses a
            // year without a published notice — decided by the due date, not by the day the
            // case was declared or the day the command runs (declared 2026-12-28, due in 2027:
            // provisional while 2027's notice is missing).
            let mut provisional: Vec<i32> = Vec::new();
            let steps: Vec<_> = [Step::Accept, Step::HomeVerification, Step::CountyApproval]
                .into_iter()
                .map(|step| {
                    let due = rules.due_date(step, declared, calendar);
                    let status = deadline::assess(due, today, calendar);
                    let years = calendar.provisional_years(declared, due);
                    provisional.extend(&years);
                    json!({
                        "step": step,
                        "name": step.name_zh(),
                        "rule": rules.rule(step).describe_zh(),
                        "due": due,
                        "status": status.label_zh(),
                        "overdue": status.is_overdue(),
                        "provisional": !years.is_empty(),
                    })
                })
                .collect();
            provisional.sort_unstable();
            provisional.dedup();
            Ok(json!({
                "declared": declared,
                "today": today,
                "steps": steps,
                "calendar_provisional_years": provisional,
            }))
        }
        Command::Init => {
            let (_device, engine) = unlocked(&data_dir)?;
            engine
                .with_store(|store| {
                    Ok(json!({
                        "db": store.path(),
                        "migrations": store.schema_version_count()?,
                    }))
                })
                .map_err(|e| format!("无法打开本机数据库：{e}"))
        }
        Command::Login {
            server,
            login,
            password,
            device_name,
        } => {
            let mut device = device(&data_dir)?;
            // The store (if any) comes back through the server's escrow; the PIN is chosen
            // anew from YIJIAN_PIN.
            let session = runtime()?
                .block_on(device.login(&server, &login, &password, &device_name))
                .map_err(|e| format!("登录失败：{e}"))?;
            if device.stage() == DeviceStage::NeedsNewPin {
                device.set_pin(&pin()?).map_err(|e| e.to_string())?;
            }
            Ok(json!({
                "server": session.server,
                "device_id": session.device_id,
                "user": session.user,
            }))
        }
        Command::Logout { erase_unsent } => {
            let (mut device, _engine) = unlocked(&data_dir)?;
            runtime()?
                .block_on(device.logout(erase_unsent))
                .map_err(|e| e.to_string())?;
            Ok(json!({"logged_out": true, "erased": true}))
        }
        Command::Seed {
            village,
            households,
        } => {
            let village = DivisionCode::parse(&village).map_err(|e| e.to_string())?;
            if Regions::gansu().get(&village).is_none()
                || village.level() != yijian_core::division::Level::Village
            {
                return Err(format!("“{village}”不是已知的村级区划代码"));
            }
            let (_device, engine) = unlocked(&data_dir)?;
            engine
                .with_store(|store| {
                    let visitor = store.session()?.map(|s| s.user.id);
                    let report = store.seed_households(&village, households, visitor)?;
                    let mut out = serde_json::to_value(report)?;
                    out["outbox"] = json!(store.outbox_len()?);
                    if visitor.is_none() {
                        out["note"] =
                            json!("未登录，只生成了农户档案；登录后再生成可附带入户核查草稿");
                    }
                    Ok(out)
                })
                .map_err(|e| e.to_string())
        }
        Command::Sync => {
            let (mut device, engine) = unlocked(&data_dir)?;
            let bar = std::sync::Arc::new(ProgressBar {
                tty: std::io::stderr().is_terminal(),
                last_phase: Mutex::new(None),
            });
            let sink = std::sync::Arc::clone(&bar);
            engine.set_progress(move |p| sink.draw(p));
            let rt = runtime()?;
            let result = rt.block_on(engine.sync_once());
            bar.finish();
            match &result {
                // A revoked device erases its store before saying so.
                Err(e) => rt.block_on(device.on_error(e)).map_err(|e| e.to_string())?,
                Ok(_) => {
                    let _ = rt.block_on(device.ensure_escrow());
                }
            }
            let report = result.map_err(|e| format!("同步失败：{e}"))?;
            to_json(&report)
        }
        Command::Status => {
            let (_device, engine) = unlocked(&data_dir)?;
            to_json(
                &engine
                    .with_store(|s| s.status())
                    .map_err(|e| e.to_string())?,
            )
        }
        Command::Quarantine => {
            let (_device, engine) = unlocked(&data_dir)?;
            to_json(
                &engine
                    .with_store(|s| s.quarantine())
                    .map_err(|e| e.to_string())?,
            )
        }
        Command::Retry { id } => {
            let (_device, engine) = unlocked(&data_dir)?;
            let id = id
                .map(|id| CommandId::parse(&id).map_err(|e| e.to_string()))
                .transpose()?;
            engine
                .with_store(|store| {
                    let retried = match id {
                        Some(id) => {
                            store.retry_quarantined(id)?;
                            1
                        }
                        None => store.retry_all_quarantined()?,
                    };
                    Ok(json!({"retried": retried, "outbox": store.outbox_len()?}))
                })
                .map_err(|e| e.to_string())
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Command::DecodeQr { files } = &cli.command {
        return decode_qr_files(files);
    }
    match run(cli) {
        Ok(v) => {
            println!("{v}");
            ExitCode::SUCCESS
        }
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}
