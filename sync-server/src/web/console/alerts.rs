//! 部门预警 in the console: a department's batches and what became of their lines, its template
//! to download, and the upload of a list.
//!
//! A department liaison sees the batches of the department the administrator bound the account
//! to, and only what was sent and what became of each line — never a case. An administrator
//! and the staff of the chain see the batches within their scope. Uploading is for the
//! liaison (their department) and for administrators (any department), matched against the
//! sender's own scope. A batch is shown to those whose scope covers the batch's.

use axum::extract::{Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use maud::html;
use yijian_core::division::DivisionCode;
use yijian_core::role::Role;

use super::session::ConsoleUser;
use super::{FlashQuery, Nav, page, shell};
use crate::AppState;
use crate::domain::alerts::{self, Sender};
use crate::domain::procedure::Procedure;
use crate::error::ApiError;
use crate::store::read;
use crate::store::rows::{AlertBatchRow, AlertOutcome};

/// Largest list accepted from the console (100,000 lines of a wide template fit easily).
const MAX_FILE: usize = 32 * 1024 * 1024;

/// The department a liaison speaks for (`None` for everyone else, or an unbound liaison).
async fn liaison_department(
    state: &AppState,
    user: &ConsoleUser,
) -> Result<Option<String>, ApiError> {
    if user.role() != Role::DepartmentLiaison {
        return Ok(None);
    }
    let id = user.user().id.to_string();
    Ok(read(&*state.storage, move |tx| tx.liaison_department(&id)).await?)
}

/// Whether `user` may see `batch`.
fn sees(user: &ConsoleUser, own_department: Option<&str>, batch: &AlertBatchRow) -> bool {
    let Ok(scope) = DivisionCode::parse(&batch.scope) else {
        return false;
    };
    // A batch's unmatched lines name people anywhere in its scope: only those whose scope
    // covers all of it see them.
    let covers = user.covers(&scope);
    match user.role() {
        Role::DepartmentLiaison => covers && own_department == Some(batch.department.as_str()),
        _ => covers,
    }
}

/// `GET /console/alerts`: the batches this user may see, and the upload form.
pub async fn batches(
    State(state): State<AppState>,
    user: ConsoleUser,
    axum::extract::Query(q): axum::extract::Query<FlashQuery>,
) -> Result<Response, ApiError> {
    let own = liaison_department(&state, &user).await?;
    let procedure = Procedure::current(&*state.storage).await?;
    let all = read(&*state.storage, |tx| tx.alert_batches(500)).await?;
    let shown: Vec<&AlertBatchRow> = all
        .iter()
        .filter(|b| sees(&user, own.as_deref(), b))
        .collect();
    let may_upload = user.role() == Role::Admin || own.is_some();
    let departments: Vec<(String, String)> = procedure
        .alert_rules
        .departments
        .iter()
        .filter(|d| own.as_deref().is_none_or(|o| o == d.department))
        .map(|d| {
            (
                d.department.clone(),
                procedure.policy.department_name(&d.department).to_owned(),
            )
        })
        .collect();
    let count = |b: &AlertBatchRow, o: AlertOutcome| b.counts.get(o.as_str()).copied().unwrap_or(0);
    let content = html! {
        h1 { "部门预警" }
        @if user.role().reads_case_files() {
            p {
                a href="/console/spot-checks" id="spot-checks-link" { "常态抽查复核" }
                " · "
                a href="/console/alerts/unmatched" id="unmatched-link" { "未匹配到农户的预警人员（可转为线索）" }
            }
        }
        @if user.role() == Role::DepartmentLiaison && own.is_none() {
            p.alert id="unbound" { "您的账号尚未绑定部门，请联系系统管理员。" }
        }
        @if may_upload {
            section.card {
                h2 { "导入预警名单" }
                p.muted { "Excel文件（xlsx、xls，读第一个工作表）或CSV文件（UTF-8或GBK编码），表头须与模板一致。每一行的处理结果见下表；格式有误或未匹配的行可下载后修改重报。" }
                form id="alert-upload" method="post" action="/console/alerts" enctype="multipart/form-data" {
                    input type="hidden" name="csrf" value=(user.form_token());
                    label { "部门 "
                        select name="department" {
                            @for (code, name) in &departments { option value=(code) { (name) } }
                        }
                    }
                    input type="file" name="file" accept=".csv,.xlsx,.xls,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet,application/vnd.ms-excel";
                    button type="submit" id="upload-alerts" { "导入" }
                }
                p { "下载模板："
                    @for (code, name) in &departments {
                        a href={"/console/alerts/template/" (code)} { (name) } " "
                    }
                }
            }
        }
        table id="alert-batches" {
            thead { tr {
                th { "接收时间" } th { "部门" } th { "文件" } th { "行数" }
                @for o in AlertOutcome::ALL { th { (o.name_zh()) } }
                th { "退回与未匹配" }
            } }
            tbody {
                @for b in &shown {
                    tr data-batch=(b.id) {
                        // Beijing time, as the department's staff read it.
                        td { ((b.received_at + chrono::Duration::hours(8)).format("%Y-%m-%d %H:%M")) }
                        td { (procedure.policy.department_name(&b.department)) }
                        td { (b.file_name) @if b.completed_at.is_none() { " " span.badge.warn { "未处理完，请重新导入同一文件" } } }
                        td { (b.rows) }
                        @for o in AlertOutcome::ALL { td data-outcome=(o.as_str()) { (count(b, o)) } }
                        td { a href={"/console/alerts/" (b.id) "/report.csv"} { "下载" } }
                    }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell(&user, Nav::Alerts, "部门预警", q.flash().as_ref(), content),
    ))
}

fn csv_response(name: &str, bytes: Vec<u8>) -> Response {
    let mut r = bytes.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/csv; charset=utf-8"),
    );
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        r.headers_mut().insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// `GET /console/alerts/template/{department}`.
pub async fn template(
    State(state): State<AppState>,
    _user: ConsoleUser,
    Path(department): Path<String>,
) -> Result<Response, ApiError> {
    let procedure = Procedure::current(&*state.storage).await?;
    let rules = procedure
        .alert_rules
        .department(&department)
        .ok_or(ApiError::NotFound)?;
    Ok(csv_response(
        &format!("{department}-template.csv"),
        alerts::template_csv(rules),
    ))
}

/// `GET /console/alerts/{batch}/report.csv`: the rejected and unmatched lines as sent, with why.
pub async fn report(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(batch): Path<String>,
) -> Result<Response, ApiError> {
    let own = liaison_department(&state, &user).await?;
    let id = batch.clone();
    let (found, rows) = read(&*state.storage, move |tx| {
        Ok((tx.alert_batch(&id)?, tx.alert_rows_of(&id)?))
    })
    .await?;
    let Some(b) = found.filter(|b| sees(&user, own.as_deref(), b)) else {
        return Err(ApiError::NotFound);
    };
    let procedure = Procedure::current(&*state.storage).await?;
    let headers = procedure
        .alert_rules
        .department(&b.department)
        .map(|d| d.headers())
        .unwrap_or_default();
    let mut w = csv::Writer::from_writer(b"\xEF\xBB\xBF".to_vec());
    let mut head = vec!["行号".to_owned(), "处理结果".to_owned(), "原因".to_owned()];
    head.extend(headers.iter().cloned());
    let fail = |e: csv::Error| ApiError::Internal(e.to_string());
    w.write_record(&head).map_err(fail)?;
    for r in rows
        .iter()
        .filter(|r| matches!(r.outcome, AlertOutcome::Rejected | AlertOutcome::Unmatched))
    {
        let mut rec = vec![
            r.line.to_string(),
            r.outcome.name_zh().to_owned(),
            r.reason_zh.clone(),
            r.raw.id_number.clone(),
            r.raw.name.clone(),
            r.raw.matter.clone(),
            r.raw.amount.clone(),
            r.raw.occurred_on.clone(),
            r.raw.note.clone(),
        ];
        for extra in headers
            .iter()
            .skip(yijian_core::support::BASE_HEADERS.len())
        {
            rec.push(r.raw.extras.get(extra).cloned().unwrap_or_default());
        }
        w.write_record(&rec).map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok(csv_response(&format!("{batch}-report.csv"), bytes))
}

/// `POST /console/alerts`: a list uploaded by a liaison (their department) or an administrator.
pub async fn upload(
    State(state): State<AppState>,
    user: ConsoleUser,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    let mut csrf = String::new();
    let mut department = String::new();
    let mut file: Option<(String, Vec<u8>)> = None;
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request("表单读取失败，请重试", e.to_string()))?
    {
        match field.name().unwrap_or_default() {
            "file" => {
                let name = field.file_name().unwrap_or("名单.csv").to_owned();
                let bytes = field
                    .bytes()
                    .await
                    .map_err(|e| ApiError::bad_request("文件上传失败，请重试", e.to_string()))?;
                if bytes.len() > MAX_FILE {
                    return Err(ApiError::TooLarge {
                        zh: "文件不能超过32MB，请分批导入".into(),
                        en: "file over 32 MB".into(),
                    });
                }
                file = Some((name, bytes.to_vec()));
            }
            "csrf" => csrf = field.text().await.unwrap_or_default(),
            "department" => department = field.text().await.unwrap_or_default(),
            _ => {}
        }
    }
    user.check_form(&csrf)?;
    let own = liaison_department(&state, &user).await?;
    let allowed = match user.role() {
        Role::Admin => true,
        Role::DepartmentLiaison => own.as_deref() == Some(department.as_str()),
        _ => false,
    };
    if !allowed {
        return Ok(back(
            false,
            "只有本部门的联络员或系统管理员可以导入该部门的预警名单",
        ));
    }
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Ok(back(false, "请选择要导入的文件"));
    };
    let sender = Sender {
        department,
        scope: user.scope().clone(),
        channel: "console",
        by: user.user().login.clone(),
    };
    match alerts::import_file(&*state.storage, &sender, &name, &bytes, Utc::now()).await {
        Ok(done) => {
            let s = &done.summary;
            Ok(back(
                true,
                &format!(
                    "已导入{}行：生成线索{}，并入在办案件{}，重复{}，未达标准{}，未匹配{}，格式有误{}",
                    s.rows,
                    s.leads_created,
                    s.attached_to_open_cases,
                    s.duplicates,
                    s.below_threshold,
                    s.unmatched,
                    s.rejected
                ),
            ))
        }
        Err(alerts::ImportError::Storage(e)) => Err(e.into()),
        Err(e) => Ok(back(false, &format!("未导入：{e}"))),
    }
}

fn back(ok: bool, text: &str) -> Response {
    let key = if ok { "ok" } else { "err" };
    let mut r = StatusCode::SEE_OTHER.into_response();
    let location = format!("/console/alerts?{key}={}", urlencode(text));
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `GET /console/spot-checks`: the monthly samples within the user's scope, their results and
/// the share whose re-check differed.
pub async fn spot_checks(
    State(state): State<AppState>,
    super::authz::CasesInScope(user, scope): super::authz::CasesInScope,
) -> Result<Response, ApiError> {
    let s = scope.to_string();
    let (months, checks) = read(&*state.storage, move |tx| {
        Ok((tx.spot_check_months()?, tx.spot_checks_in(&s)?))
    })
    .await?;
    let months: Vec<_> = months
        .into_iter()
        .filter(|m| {
            DivisionCode::parse(&m.county).is_ok_and(|c| c.is_within(&scope) || scope.is_within(&c))
        })
        .collect();
    let done = checks.iter().filter(|c| c.result != "pending").count();
    let differs = checks.iter().filter(|c| c.result == "differs").count();
    let share = if done == 0 {
        "—".to_owned()
    } else {
        format!("{:.1}%", differs as f64 * 100.0 / done as f64)
    };
    let content = html! {
        h1 { "常态抽查复核" }
        p.muted { "每月按“预警规则”中的比例，从上月核实不符合、未获批准和风险消除的案件中随机抽取，由未参与办理的网格员回访复核；复核发现风险仍在的，重新作为线索办理。" }
        p id="spot-check-share" { "已复核" (done) "户，结论不一致" (differs) "户，占" (share) }
        table id="spot-check-months" {
            thead { tr { th { "月份" } th { "县（区）" } th { "可抽案件" } th { "抽取" } th { "比例" } } }
            tbody { @for m in &months {
                tr { td { (m.month) } td { (super::scope_path(&DivisionCode::parse(&m.county).unwrap_or_else(|_| scope.clone()))) } td { (m.eligible) } td { (m.drawn) } td { (m.percent) "%" } }
            } }
        }
        table id="spot-checks" {
            thead { tr { th { "月份" } th { "案件" } th { "村" } th { "原结论" } th { "复核人" } th { "结果" } th { "发现" } } }
            tbody { @for c in &checks {
                tr data-result=(c.result) {
                    td { (c.month) }
                    td { a href={"/console/cases/" (c.case_id)} { "查看" } }
                    td { (DivisionCode::parse(&c.village).map(|v| crate::domain::resident::village_name(&v)).unwrap_or_default()) }
                    td { (c.closed_stage.name_zh()) }
                    td { (c.assigned_name.as_deref().unwrap_or("未分配（本村无其他网格员）")) }
                    td { (match c.result.as_str() { "same" => "结论一致", "differs" => "结论不一致，已重新立案", _ => "待复核" }) }
                    td { (c.finding.as_deref().unwrap_or("")) @if let Some(n) = &c.new_case_id { " " a href={"/console/cases/" (n)} { "新线索" } } }
                }
            } }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell(&user, Nav::Alerts, "常态抽查复核", None, content),
    ))
}

/// The part of the register a user answers for, as the leading digits of ID numbers: people
/// are listed where they are registered (户籍), and a township or village answers for its
/// county's people as the county does.
fn id_prefix(scope: &DivisionCode) -> DivisionCode {
    scope
        .at_level(yijian_core::division::Level::County)
        .unwrap_or_else(|| scope.clone())
}

/// Whether the role turns unmatched lines into leads (the township and the county, as the
/// procedure has them verify people the register lacks).
fn makes_leads(role: Role) -> bool {
    matches!(role, Role::Township | Role::County)
}

/// `GET /console/alerts/unmatched`: warnings about people the register lacks, registered
/// within the user's county, each with the form that makes it a lead in one of the user's
/// villages (应纳未纳: they still need a home check).
pub async fn unmatched(
    State(state): State<AppState>,
    super::authz::CasesInScope(user, scope): super::authz::CasesInScope,
    axum::extract::Query(q): axum::extract::Query<FlashQuery>,
) -> Result<Response, ApiError> {
    let prefix = id_prefix(&scope);
    let (lo, hi) = (prefix.to_string(), format!("{prefix}:"));
    let rows = read(&*state.storage, move |tx| {
        tx.unmatched_alert_rows(&lo, &hi, 500)
    })
    .await?;
    let procedure = Procedure::current(&*state.storage).await?;
    let may_lead = makes_leads(user.role());
    let villages: Vec<(String, String)> = if may_lead {
        yijian_core::regions::Regions::gansu()
            .iter()
            .filter(|r| {
                r.level == yijian_core::division::Level::Village && r.code.is_within(&scope)
            })
            .map(|r| (r.code.to_string(), super::scope_path(&r.code)))
            .collect()
    } else {
        Vec::new()
    };
    let content = html! {
        h1 { "未匹配到农户的预警人员" }
        p.muted { "以下人员的户籍在" (super::scope_path(&prefix)) "，部门推送了预警，但不在农户档案中。监测对象应以户籍为依据、统筹实际居住，确需核查的请转为线索，由网格员入户核查并建档。" }
        @if may_lead {
            // One list of the user's villages for every line (a county has hundreds).
            datalist id="villages" {
                @for (code, name) in &villages { option value=(code) label=(name) { (name) } }
            }
        }
        @if rows.is_empty() {
            p id="no-unmatched" { "暂无未匹配的预警人员。" }
        } @else {
            table id="unmatched" class="data" {
                thead { tr { th { "部门" } th { "姓名" } th { "身份证号" } th { "预警事项" } th { "金额" } th { "发生日期" } th { "处理" } } }
                tbody {
                    @for r in &rows {
                        tr data-row=(r.row_key) {
                            td { (procedure.policy.department_name(&r.department)) }
                            td { (r.raw.name) }
                            td { (r.id_number.as_deref().unwrap_or(&r.raw.id_number)) }
                            td { (r.raw.matter) }
                            td { (r.raw.amount) }
                            td { (r.raw.occurred_on) }
                            td {
                                @if let Some(case_id) = &r.case_id {
                                    a href={"/console/cases/" (case_id)} { "已转为线索" }
                                } @else if may_lead {
                                    form.inline method="post" action="/console/alerts/unmatched/lead" {
                                        input type="hidden" name="csrf" value=(user.form_token());
                                        input type="hidden" name="department" value=(r.department);
                                        input type="hidden" name="row_key" value=(r.row_key);
                                        label { "实际居住村 "
                                            input name="village" list="villages" required placeholder="输入村名或代码后选择";
                                        }
                                        button type="submit" { "转为线索" }
                                    }
                                } @else {
                                    "由乡镇或县级转为线索"
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell(
            &user,
            Nav::Alerts,
            "未匹配的预警人员",
            q.flash().as_ref(),
            content,
        ),
    ))
}

#[derive(Debug, serde::Deserialize)]
pub struct UnmatchedLeadForm {
    csrf: String,
    department: String,
    row_key: String,
    village: String,
}

/// `POST /console/alerts/unmatched/lead`: an unmatched line becomes a lead in a village of the
/// user's scope.
pub async fn unmatched_lead(
    State(state): State<AppState>,
    user: ConsoleUser,
    axum::extract::Form(form): axum::extract::Form<UnmatchedLeadForm>,
) -> Result<Response, ApiError> {
    user.check_form(&form.csrf)?;
    let back_to = |ok: bool, text: &str| {
        let key = if ok { "ok" } else { "err" };
        let mut r = StatusCode::SEE_OTHER.into_response();
        let location = format!("/console/alerts/unmatched?{key}={}", urlencode(text));
        if let Ok(v) = HeaderValue::from_str(&location) {
            r.headers_mut().insert(header::LOCATION, v);
        }
        r
    };
    if !makes_leads(user.role()) {
        return Ok(back_to(
            false,
            "只有乡镇和县级工作人员可以把未匹配的人员转为线索",
        ));
    }
    let Ok(village) = DivisionCode::parse(form.village.trim()) else {
        return Ok(back_to(false, "请选择实际居住的村"));
    };
    let staff = alerts::Staff {
        user_id: user.user().id.to_string(),
        name: user.user().login.clone(),
        scope: user.scope().clone(),
    };
    match alerts::lead_from_unmatched(
        &*state.storage,
        &form.department,
        &form.row_key,
        &village,
        &staff,
        Utc::now(),
    )
    .await
    {
        Ok(_) => Ok(back_to(
            true,
            "已转为线索，进入该村待办，并已短信通知网格员",
        )),
        Err(alerts::UnmatchedLeadError::Storage(e)) => Err(e.into()),
        Err(e) => Ok(back_to(false, &e.to_string())),
    }
}
