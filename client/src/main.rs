//! `yijian`: the device engine on the command line.
//!
//! Every command reuses exactly the code the app runs. Output is one JSON object per line on
//! stdout; problems are explained in Chinese on stderr with a non-zero exit code.

use std::path::PathBuf;
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use serde_json::json;
use yijian_client::store::LocalStore;
use yijian_core::calendar::HolidayCalendar;
use yijian_core::deadline::{self, DeadlineRules, Step};
use yijian_core::division::DivisionCode;
use yijian_core::regions::Regions;
use yijian_core::validation::{MobileNumber, ResidentIdNumber};

#[derive(Debug, Parser)]
#[command(name = "yijian", version, about = "一键申报 设备端命令行")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
    /// Create (or migrate) the local database at PATH.
    Init {
        #[arg(long)]
        db: PathBuf,
    },
}

fn today_in_china() -> NaiveDate {
    yijian_core::time::china_date(chrono::Utc::now())
}

fn run(cli: Cli) -> Result<serde_json::Value, String> {
    match cli.command {
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
            let steps: Vec<_> = [Step::Accept, Step::HomeVerification, Step::CountyApproval]
                .into_iter()
                .map(|step| {
                    let due = rules.due_date(step, declared, calendar);
                    let status = deadline::assess(due, today, calendar);
                    json!({
                        "step": step,
                        "name": step.name_zh(),
                        "rule": rules.rule(step).describe_zh(),
                        "due": due,
                        "status": status.label_zh(),
                        "overdue": status.is_overdue(),
                    })
                })
                .collect();
            let provisional = calendar.provisional_years(declared, today);
            Ok(json!({
                "declared": declared,
                "today": today,
                "steps": steps,
                "calendar_provisional_years": provisional,
            }))
        }
        Command::Init { db } => {
            let store = LocalStore::open(&db).map_err(|e| format!("无法打开本机数据库：{e}"))?;
            Ok(json!({
                "db": store.path(),
                "migrations": store.schema_version_count().map_err(|e| e.to_string())?,
            }))
        }
    }
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
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
