//! The console's reading pages: login, dashboard, overdue list, case search, case page,
//! photos, notifications.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, NaiveDate, Utc};
use maud::{DOCTYPE, Markup, PreEscaped, html};
use serde::Deserialize;
use tokio::io::AsyncReadExt;
use yijian_core::case::{Case, CaseEventKind};
use yijian_core::checklist::{Answer, ChecklistTemplate, ItemKind, default_template};
use yijian_core::deadline::DeadlineStatus;
use yijian_core::division::DivisionCode;
use yijian_core::role::{Actor, Role};
use yijian_core::support::{Appeal, FollowUp, PhotoMeta, PhotoOwner, Plan, Sha256Hex};
use yijian_core::visit::Visit;
use yijian_core::workflow::{Stage, available_steps};

use super::session::{ConsoleUser, sign_in, sign_out};
use super::stats::{self, division_name};
use super::{
    Flash, FlashQuery, ListParams, Nav, breadcrumb, data_script, out_of_scope, page, scope_path,
    shell, shell_with,
};
use crate::AppState;
use crate::domain::procedure::Procedure;
use crate::error::ApiError;
use crate::store::read;
use crate::store::rows::CaseRow;
use crate::store::rows::{CaseQuery, DeadlineNotice};
use crate::store::tx::AuditEntry;

fn beijing(t: DateTime<Utc>) -> String {
    t.with_timezone(&yijian_core::time::shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

fn pct(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{:.0}%", x * 100.0))
}

fn days(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_owned(), |x| format!("{x:.1}天"))
}

fn today() -> NaiveDate {
    yijian_core::time::china_date(Utc::now())
}

// ---------------------------------------------------------------------------------------------
// Login
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    err: Option<String>,
}

fn login_page(next: &str, error: Option<&str>, login: &str, token: &str) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            head {
                meta charset="utf-8";
                title { "登录 · 一键申报工作台" }
                link rel="icon" href="data:,";
                link rel="stylesheet" href="/console/assets/console.css";
            }
            body.console.login {
                main.login-box {
                    h1 { "一键申报 · 监测帮扶工作台" }
                    p.muted { "乡镇、县、市、省工作人员登录" }
                    @if let Some(e) = error { div id="flash" class="flash error" role="alert" { (e) } }
                    form method="post" action="/console/login" {
                        input type="hidden" name="next" value=(next);
                        input type="hidden" name="t" value=(token);
                        label for="login" { "手机号" }
                        input type="text" id="login" name="login" value=(login) autocomplete="username" required;
                        label for="password" { "密码" }
                        input type="password" id="password" name="password" autocomplete="current-password" required;
                        button type="submit" id="signin" { "登录" }
                    }
                }
            }
        }
    }
}

/// Only same-site paths under /console are followed after login.
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with("/console") && !n.starts_with("//") && !n.contains("://") => {
            n.to_owned()
        }
        _ => "/console".to_owned(),
    }
}

/// The login form's anti-forgery token (another site cannot sign a browser in to its own
/// account), bound to a cookie like the resident forms'.
async fn login_token(
    state: &AppState,
    headers: &HeaderMap,
) -> Result<crate::web::guard::FormToken, ApiError> {
    let key = crate::web::guard::form_key(state).await?;
    Ok(crate::web::guard::issue(
        &key,
        "console-login",
        crate::web::guard::cookie(headers, crate::web::guard::COOKIE),
        Utc::now(),
    ))
}

fn with_login_cookie(mut r: Response, t: &crate::web::guard::FormToken) -> Response {
    if let Ok(v) = axum::http::HeaderValue::from_str(&crate::web::guard::set_cookie(&t.cookie)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

pub async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(q): Query<NextQuery>,
) -> Result<Response, ApiError> {
    let t = login_token(&state, &headers).await?;
    Ok(with_login_cookie(
        page(
            StatusCode::OK,
            login_page(
                &safe_next(q.next.as_deref()),
                q.err.as_deref(),
                "",
                &t.token,
            ),
        ),
        &t,
    ))
}

#[derive(Debug, Deserialize)]
pub struct LoginForm {
    #[serde(default)]
    login: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: String,
    #[serde(default)]
    t: String,
}

pub async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    Form(f): Form<LoginForm>,
) -> Result<Response, ApiError> {
    let agent = headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .map(|a| {
            if a.contains("Firefox") {
                "Firefox"
            } else if a.contains("Edg") {
                "Edge"
            } else if a.contains("Chrome") {
                "Chrome"
            } else {
                "浏览器"
            }
        })
        .unwrap_or("浏览器");
    let next = safe_next(Some(&f.next));
    let key = crate::web::guard::form_key(&state).await?;
    let cookie = crate::web::guard::cookie(&headers, crate::web::guard::COOKIE);
    if !crate::web::guard::verify(&key, "console-login", &f.t, cookie, Utc::now()) {
        let t = login_token(&state, &headers).await?;
        return Ok(with_login_cookie(
            page(
                StatusCode::FORBIDDEN,
                login_page(
                    &next,
                    Some("页面已过期，请再点一次“登录”"),
                    &f.login,
                    &t.token,
                ),
            ),
            &t,
        ));
    }
    // Guessing passwords: a login is tried at most 20 times an hour.
    let attempts_key = format!("console-login:{}", f.login.trim());
    if !crate::web::guard::allow(&state, &attempts_key, 3600, 20, Utc::now()).await? {
        let t = login_token(&state, &headers).await?;
        return Ok(with_login_cookie(
            page(
                StatusCode::TOO_MANY_REQUESTS,
                login_page(
                    &next,
                    Some("这个账号尝试登录的次数过多，请一小时后再试，或联系系统管理员"),
                    &f.login,
                    &t.token,
                ),
            ),
            &t,
        ));
    }
    match sign_in(&state, &f.login, &f.password, agent).await {
        Ok(cookie) => {
            let mut r = Redirect::to(&next).into_response();
            r.headers_mut().insert(header::SET_COOKIE, cookie);
            Ok(r)
        }
        Err(ApiError::BadCredentials) => {
            let t = login_token(&state, &headers).await?;
            Ok(with_login_cookie(
                page(
                    StatusCode::UNAUTHORIZED,
                    login_page(&next, Some("手机号或密码不正确"), &f.login, &t.token),
                ),
                &t,
            ))
        }
        Err(e) => Err(e),
    }
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

pub async fn logout(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(f): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    user.check_form(&f.csrf)?;
    let cookie = sign_out(&state, &user).await?;
    let mut r = Redirect::to("/console/login").into_response();
    r.headers_mut().insert(header::SET_COOKIE, cookie);
    Ok(r)
}

// ---------------------------------------------------------------------------------------------
// Dashboard
// ---------------------------------------------------------------------------------------------

async fn rows_of(
    state: &AppState,
    scope: &DivisionCode,
    open_only: bool,
    due_by: Option<NaiveDate>,
) -> Result<Vec<CaseRow>, ApiError> {
    let q = CaseQuery {
        scope: scope.to_string(),
        open_only,
        due_by,
        limit: None,
    };
    Ok(read(&*state.storage, move |tx| tx.case_rows(&q)).await?)
}

pub async fn dashboard(
    State(state): State<AppState>,
    user: ConsoleUser,
    params: ListParams,
) -> Result<Response, ApiError> {
    let scope = match super::scope_param(&user, params.scope.as_deref()) {
        Ok(s) => s,
        Err(r) => return Ok(*r),
    };
    let procedure = Procedure::current(&*state.storage).await?;
    let rows = rows_of(&state, &scope, false, None).await?;
    let since = today() - chrono::Duration::days(365);
    let s2 = scope.to_string();
    let done = read(&*state.storage, move |tx| tx.steps_done(&s2, since)).await?;
    let d = stats::dashboard(&scope, &rows, &done, today(), &procedure.calendar);
    let content = html! {
        (breadcrumb(&user, &scope, "/console"))
        h1 { (d.scope_name) " 工作概览" }
        div.kpis {
            div.kpi id="kpi-open" { span.label { "在办案件" } span.value { (d.open) } span.sub { "共" (d.total) "件" } }
            div.kpi.bad id="kpi-overdue" { span.label { "已逾期" } span.value { (d.overdue) } a.sub href={"/console/overdue?scope=" (d.scope)} { "查看督办清单 ›" } }
            div.kpi.warn id="kpi-due-soon" { span.label { "2个工作日内到期" } span.value { (d.due_soon) } }
            div.kpi id="kpi-self-share" { span.label { "群众自主申报占比" } span.value { (pct(d.self_share)) } span.sub { "本月新申报" (d.declared_this_month) "件" } }
            div.kpi id="kpi-median-visit" { span.label { "申报到入户（中位数）" } span.value { (days(d.median_days_to_visit)) } }
            div.kpi id="kpi-median-approval" { span.label { "申报到审批（中位数）" } span.value { (days(d.median_days_to_approval)) } }
        }
        div.grid {
            section.panel {
                h2 { "各阶段案件" }
                div.chart id="chart-stage" {}
                table.fallback.data { tr { th { "阶段" } th { "件数" } } @for s in &d.by_stage { tr { td { a href={"/console/cases?scope=" (d.scope) "&stage=" (stage_key(s.stage))} { (s.label) } } td { (s.count) } } } }
            }
            section.panel {
                h2 { "案件来源" }
                div.chart id="chart-source" {}
                table.fallback.data { tr { th { "来源" } th { "件数" } } @for s in &d.by_source { tr { td { (s.label) } td { (s.count) } } } }
            }
            section.panel {
                h2 { "风险类型" }
                div.chart id="chart-risk" {}
                table.fallback.data { tr { th { "类型" } th { "件数" } } @for r in &d.by_risk { tr { td { (r.label) } td { (r.count) } } } }
            }
            section.panel {
                h2 { "各环节按时办结率（近一年）" }
                div.chart id="chart-ontime" {}
                table.fallback.data { tr { th { "环节" } th { "办结" } th { "按时" } th { "按时率" } } @for o in &d.on_time { tr { td { (o.label) } td { (o.done) } td { (o.on_time) } td { (pct(o.rate)) } } } }
            }
            section.panel.wide {
                h2 { "近12周趋势" }
                div.chart id="chart-weekly" {}
                table.fallback.data { tr { th { "周（周一）" } th { "新申报" } th { "审批纳入" } } @for w in &d.weekly { tr { td { (w.week) } td { (w.declared) } td { (w.approved) } } } }
            }
            @if !d.children.is_empty() {
                section.panel.wide {
                    h2 { "下辖各地" }
                    div.chart id="chart-children" {}
                    table id="children" class="sortable data" {
                        thead { tr { th { "名称" } th { "案件" } th { "在办" } th { "逾期" } th { "即将到期" } th { "自主申报占比" } th { "按时率" } } }
                        tbody {
                            @for c in &d.children {
                                tr data-code=(c.code) {
                                    td { a.drill href={"/console?scope=" (c.code)} { (c.name) } }
                                    td { (c.total) } td { (c.open) }
                                    td.num.bad[c.overdue > 0] { (c.overdue) }
                                    td { (c.due_soon) } td { (pct(c.self_share)) } td { (pct(c.on_time_rate)) }
                                }
                            }
                        }
                    }
                }
            }
        }
        (data_script("dashboard-data", &d))
    };
    let flash = FlashQuery {
        ok: params.ok.clone(),
        err: params.err.clone(),
    }
    .flash();
    Ok(page(
        StatusCode::OK,
        shell_with(
            &user,
            Nav::Dashboard,
            "工作概览",
            flash.as_ref(),
            content,
            true,
        ),
    ))
}

fn stage_key(s: Stage) -> String {
    yijian_core::codec::enum_text(&s).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Overdue and due-soon list
// ---------------------------------------------------------------------------------------------

/// Names of the people who own a clock (the role of the owner level at the case's division).
async fn owners(state: &AppState, rows: &[CaseRow]) -> Result<HashMap<String, String>, ApiError> {
    let mut wanted: Vec<(Role, DivisionCode)> = Vec::new();
    for r in rows {
        if let (Some(level), Ok(v)) = (r.clock_owner, DivisionCode::parse(&r.village))
            && let Some(scope) = v.at_level(level)
        {
            let key = (Role::for_level(level), scope);
            if !wanted.contains(&key) {
                wanted.push(key);
            }
        }
    }
    let found = read(&*state.storage, move |tx| {
        let mut out = HashMap::new();
        for (role, scope) in &wanted {
            let names: Vec<String> = tx
                .users_with(*role, scope)?
                .into_iter()
                .map(|u| u.name)
                .collect();
            out.insert(
                format!("{}:{}", crate::store::codec::enum_text(role)?, scope),
                names.join("、"),
            );
        }
        Ok(out)
    })
    .await?;
    Ok(found)
}

fn owner_of(r: &CaseRow, owners: &HashMap<String, String>) -> String {
    let Some(level) = r.clock_owner else {
        return "—".into();
    };
    let Ok(v) = DivisionCode::parse(&r.village) else {
        return "—".into();
    };
    let Some(scope) = v.at_level(level) else {
        return "—".into();
    };
    let role = Role::for_level(level);
    let key = format!(
        "{}:{}",
        yijian_core::codec::enum_text(&role).unwrap_or_default(),
        scope
    );
    let names = owners.get(&key).cloned().unwrap_or_default();
    let unit = division_name(&scope);
    if names.is_empty() {
        format!("{unit}（{}，未设账号）", role.name_zh())
    } else {
        format!("{unit} {names}")
    }
}

fn status_label(s: &DeadlineStatus) -> String {
    s.label_zh()
}

pub async fn overdue(
    State(state): State<AppState>,
    user: ConsoleUser,
    params: ListParams,
) -> Result<Response, ApiError> {
    let scope = match super::scope_param(&user, params.scope.as_deref()) {
        Ok(s) => s,
        Err(r) => return Ok(*r),
    };
    let procedure = Procedure::current(&*state.storage).await?;
    let horizon = procedure.calendar.add_working_days(today(), 2);
    let mut rows = rows_of(&state, &scope, true, Some(horizon)).await?;
    rows.retain(|r| {
        stats::urgency(r, today(), &procedure.calendar).is_some_and(|u| u.needs_attention())
    });
    let owners = owners(&state, &rows).await?;
    let sort = params.sort.as_deref().unwrap_or("due");
    match sort {
        "village" => rows.sort_by(|a, b| {
            a.village
                .cmp(&b.village)
                .then(a.clock_due_on.cmp(&b.clock_due_on))
        }),
        "stage" => rows.sort_by_key(|r| {
            (
                Stage::ALL.iter().position(|s| *s == r.stage),
                r.clock_due_on,
            )
        }),
        "owner" => rows.sort_by_key(|a| owner_of(a, &owners)),
        "declared" => rows.sort_by_key(|r| r.declared_at),
        _ => rows.sort_by_key(|r| r.clock_due_on),
    }
    let sort_link = |key: &str, label: &str| -> Markup {
        html! { a data-sort=(key) class={"sort" (if key == sort { " on" } else { "" })} href={"/console/overdue?scope=" (scope) "&sort=" (key)} { (label) } }
    };
    let content = html! {
        (breadcrumb(&user, &scope, "/console/overdue"))
        h1 { "逾期督办与即将到期" }
        p.muted { "共" (rows.len()) "件：已逾期的按截止日期排在最前；“即将到期”为2个工作日内到期。" }
        table id="overdue" class="data" {
            thead { tr {
                th { "申请人" } th { (sort_link("village", "所在村")) } th { (sort_link("stage", "阶段")) }
                th { "时限事项" } th { (sort_link("due", "截止日期")) } th { "状态" } th { (sort_link("owner", "责任单位/责任人")) } th { (sort_link("declared", "申报时间")) }
            } }
            tbody {
                @for r in &rows {
                    @let status = stats::urgency(r, today(), &procedure.calendar);
                    @let overdue = status.as_ref().is_some_and(DeadlineStatus::is_overdue);
                    tr data-case-id=(r.case_id) class=(if overdue { "overdue" } else { "due-soon" }) {
                        td { a href={"/console/cases/" (r.case_id)} { (r.applicant_name) } }
                        td { (DivisionCode::parse(&r.village).map(|v| crate::domain::resident::village_name(&v)).unwrap_or_default()) }
                        td { (r.stage.name_zh()) }
                        td { (r.clock_step.map(|s| s.name_zh()).unwrap_or("—")) }
                        td { (r.clock_due_on.map(|d| d.to_string()).unwrap_or_default()) }
                        td.status { @if let Some(s) = &status { strong { (status_label(s)) } } }
                        td { (owner_of(r, &owners)) }
                        td { (beijing(r.declared_at)) }
                    }
                }
            }
        }
        @if rows.is_empty() { p.ok { "✓ 没有逾期或即将到期的案件。" } }
    };
    Ok(page(
        StatusCode::OK,
        shell(&user, Nav::Overdue, "逾期督办", None, content),
    ))
}

// ---------------------------------------------------------------------------------------------
// Case search
// ---------------------------------------------------------------------------------------------

pub async fn cases(
    State(state): State<AppState>,
    user: ConsoleUser,
    params: ListParams,
) -> Result<Response, ApiError> {
    let scope = match super::scope_param(&user, params.scope.as_deref()) {
        Ok(s) => s,
        Err(r) => return Ok(*r),
    };
    let procedure = Procedure::current(&*state.storage).await?;
    let mut rows = rows_of(&state, &scope, false, None).await?;
    let stage: Option<Stage> = params
        .stage
        .as_deref()
        .filter(|s| !s.is_empty())
        .and_then(|s| yijian_core::codec::enum_parse(s).ok());
    if let Some(st) = stage {
        rows.retain(|r| r.stage == st);
    }
    let q = params.q.as_deref().map(str::trim).unwrap_or("");
    if !q.is_empty() {
        rows.retain(|r| {
            r.applicant_name.contains(q)
                || r.receipt_no.as_deref().is_some_and(|n| n.contains(q))
                || r.id_number.ends_with(&q.to_uppercase())
        });
    }
    rows.sort_by_key(|r| std::cmp::Reverse(r.declared_at));
    let total = rows.len();
    rows.truncate(500);
    let content = html! {
        (breadcrumb(&user, &scope, "/console/cases"))
        h1 { "案件查询" }
        form.filters method="get" action="/console/cases" {
            input type="hidden" name="scope" value=(scope);
            input type="search" name="q" value=(q) placeholder="姓名、回执号或身份证后4位";
            select name="stage" {
                option value="" { "全部阶段" }
                @for s in Stage::ALL { option value=(stage_key(s)) selected[stage == Some(s)] { (s.name_zh()) } }
            }
            button type="submit" { "查询" }
        }
        p.muted { "共" (total) "件" @if total > 500 { "，显示最近500件" } }
        table id="cases" class="sortable data" {
            thead { tr { th { "申请人" } th { "回执号" } th { "所在村" } th { "来源" } th { "阶段" } th { "时限" } th { "申报时间" } } }
            tbody {
                @for r in &rows {
                    @let urgency = stats::urgency(r, today(), &procedure.calendar);
                    @let class = match &urgency {
                        Some(s) if s.is_overdue() => "overdue",
                        Some(s) if s.needs_attention() => "due-soon",
                        _ => "",
                    };
                    tr data-case-id=(r.case_id) class=(class) {
                        td { a href={"/console/cases/" (r.case_id)} { (r.applicant_name) } }
                        td { (r.receipt_no.as_deref().unwrap_or("—")) }
                        td { (DivisionCode::parse(&r.village).map(|v| crate::domain::resident::village_name(&v)).unwrap_or_default()) }
                        td { (r.source.name_zh()) }
                        td { (r.stage.name_zh()) }
                        td { @if let Some(s) = &urgency { (s.label_zh()) } @else { "—" } }
                        td { (beijing(r.declared_at)) }
                    }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell(&user, Nav::Cases, "案件查询", None, content),
    ))
}

// ---------------------------------------------------------------------------------------------
// The case page
// ---------------------------------------------------------------------------------------------

/// Everything the case page shows, read in one transaction.
struct CaseFile {
    case: Case,
    village: DivisionCode,
    row: Option<CaseRow>,
    audit: Vec<AuditEntry>,
    visit: Option<(Visit, ChecklistTemplate)>,
    photos: Vec<PhotoMeta>,
    plan: Option<Plan>,
    follow_ups: Vec<FollowUp>,
    appeal: Option<Appeal>,
    notices: Vec<DeadlineNotice>,
    users: HashMap<String, String>,
}

fn read_case_file(
    tx: &mut dyn crate::store::tx::RecordTx,
    id: &str,
) -> Result<Option<CaseFile>, crate::store::StorageError> {
    use crate::store::StorageError;
    let Some(rec) = tx.get("case", id)? else {
        return Ok(None);
    };
    let Some(body) = rec.body else {
        return Ok(None);
    };
    let case: Case = serde_json::from_str(&body)?;
    let village =
        DivisionCode::parse(&rec.village).map_err(|e| StorageError::Corrupt(e.to_string()))?;
    let row = tx.case_row(id)?;
    let mut audit = tx.audit_of("case", id)?;
    let mut visit = None;
    if let Some(vid) = case.state.verification_visit
        && let Some(v) = tx.get("visit", &vid.to_string())?.and_then(|r| r.body)
    {
        let v: Visit = serde_json::from_str(&v)?;
        audit.extend(tx.audit_of("visit", &vid.to_string())?);
        let t = default_template();
        if v.uses(&t) {
            visit = Some((v, t));
        }
    }
    let case_id = case.id();
    let visit_id = case.state.verification_visit;
    let photos: Vec<PhotoMeta> = tx
        .records_in_village("photo", village.as_str())?
        .into_iter()
        .filter_map(|r| {
            r.body
                .and_then(|b| serde_json::from_str::<PhotoMeta>(&b).ok())
        })
        .filter(|p| match &p.owner {
            PhotoOwner::VisitItem { visit_id: v, .. } => Some(*v) == visit_id,
            PhotoOwner::Case { case_id: c }
            | PhotoOwner::ProxyConfirmation { case_id: c }
            | PhotoOwner::PublicNotice { case_id: c } => *c == case_id,
            PhotoOwner::Household { household_id } => {
                Some(*household_id) == case.declaration.household_id
            }
        })
        .collect();
    let plan = match case.state.plan {
        Some(p) => {
            audit.extend(tx.audit_of("plan", &p.to_string())?);
            tx.get("plan", &p.to_string())?
                .and_then(|r| r.body)
                .and_then(|b| serde_json::from_str(&b).ok())
        }
        None => None,
    };
    let mut follow_ups: Vec<FollowUp> = tx
        .records_in_village("follow_up", village.as_str())?
        .into_iter()
        .filter_map(|r| {
            r.body
                .and_then(|b| serde_json::from_str::<FollowUp>(&b).ok())
        })
        .filter(|f| f.case_id == case_id)
        .collect();
    follow_ups.sort_by_key(|f| f.due_on);
    let appeal = match case.state.appeal {
        Some(a) => tx
            .get("appeal", &a.to_string())?
            .and_then(|r| r.body)
            .and_then(|b| serde_json::from_str(&b).ok()),
        None => None,
    };
    let notices = tx.notices_of(id)?;
    audit.sort_by_key(|a| a.at);
    let mut users = HashMap::new();
    for a in &audit {
        if let Some(u) = &a.user_id
            && !users.contains_key(u)
        {
            users.insert(u.clone(), String::new());
        }
    }
    Ok(Some(CaseFile {
        case,
        village,
        row,
        audit,
        visit,
        photos,
        plan,
        follow_ups,
        appeal,
        notices,
        users,
    }))
}

fn answer_text(item_kind: &ItemKind, a: &Answer) -> String {
    let label = |v: &str| match item_kind {
        ItemKind::Choice { options } | ItemKind::MultiChoice { options } => options
            .iter()
            .find(|o| o.value == v)
            .map_or_else(|| v.to_owned(), |o| o.label_zh.clone()),
        _ => v.to_owned(),
    };
    match a {
        Answer::Bool(b) => if *b { "是" } else { "否" }.to_owned(),
        Answer::Integer(n) => match item_kind {
            ItemKind::Integer { unit_zh, .. } => format!("{n}{unit_zh}"),
            _ => n.to_string(),
        },
        Answer::Money { fen } => format!("¥{}.{:02}", fen / 100, fen % 100),
        Answer::Choice(c) => label(c),
        Answer::Choices(cs) => cs.iter().map(|c| label(c)).collect::<Vec<_>>().join("、"),
        Answer::Text(t) => t.clone(),
        Answer::Date(d) => d.to_string(),
        Answer::Photos(p) => format!("{}张照片", p.len()),
    }
}

fn action_label(a: &AuditEntry) -> String {
    if let Some(step) = a.action.strip_prefix("case_step:") {
        return yijian_core::codec::enum_parse::<yijian_core::workflow::StepKind>(step)
            .map(|s| s.name_zh().to_owned())
            .unwrap_or_else(|_| step.to_owned());
    }
    match a.action.as_str() {
        "declare" => "登记申报".into(),
        "declare_public" => "群众扫码申报".into(),
        "appeal_public" => "群众提出申诉".into(),
        "escalate" => "逾期督办（报上级）".into(),
        "save_visit" => "保存入户核查草稿".into(),
        "finalise_visit" => "入户核查表定稿".into(),
        "save_plan" => "保存帮扶计划".into(),
        other => other.to_owned(),
    }
}

fn detail_text(a: &AuditEntry) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&a.detail) else {
        return String::new();
    };
    let stage = |k: &str| {
        v.get(k)
            .and_then(|s| s.as_str())
            .and_then(|s| yijian_core::codec::enum_parse::<Stage>(s).ok())
            .map(|s| s.name_zh())
    };
    // The opinion, reason or finding the step carried, as its author wrote it.
    let note = v.get("step").and_then(|s| {
        ["opinion", "reason", "findings", "measure"]
            .iter()
            .find_map(|k| s.get(*k).and_then(|t| t.as_str()))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
    });
    let moved = match (stage("from"), stage("to")) {
        (Some(f), Some(t)) => format!("{f} → {t}"),
        _ => v
            .get("receipt_no")
            .and_then(|r| r.as_str())
            .map(|r| format!("回执号 {r}"))
            .unwrap_or_default(),
    };
    match note {
        Some(n) if moved.is_empty() => format!("“{n}”"),
        Some(n) => format!("{moved}：“{n}”"),
        None => moved,
    }
}

pub async fn case_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(id): Path<String>,
    Query(fq): Query<FlashQuery>,
) -> Result<Response, ApiError> {
    let id2 = id.clone();
    let file = read(&*state.storage, move |tx| read_case_file(tx, &id2)).await?;
    let Some(mut file) = file else {
        return Ok(page(
            StatusCode::NOT_FOUND,
            shell(
                &user,
                Nav::Cases,
                "找不到案件",
                None,
                html! { p.alert { "找不到这个案件。" } },
            ),
        ));
    };
    if !user.covers(&file.village) {
        return Ok(out_of_scope(&user));
    }
    let all_users = state.storage.list_users().await?;
    for (uid, name) in file.users.iter_mut() {
        if let Some(u) = all_users.iter().find(|u| u.id.to_string() == *uid) {
            *name = format!("{} {}", u.role.name_zh(), u.name);
        }
    }
    let procedure = Procedure::current(&*state.storage).await?;
    let c = &file.case;
    let d = &c.declaration;
    let actor = user.staff().map(Actor::Staff);
    let steps = actor
        .as_ref()
        .map(|a| available_steps(&c.state, a, &file.village))
        .unwrap_or_default();
    let status = file
        .row
        .as_ref()
        .and_then(|r| stats::urgency(r, today(), &procedure.calendar));
    let content = html! {
        (breadcrumb(&user, &file.village, "/console/cases"))
        section id="summary" class="panel" {
            h1 { (d.applicant.name) " " span.muted { (c.receipt_no.as_deref().unwrap_or("")) } }
            div.facts {
                div { span.label { "阶段" } strong id="stage" { (c.state.stage.name_zh()) } }
                div { span.label { "来源" } (d.source.name_zh()) @if c.state.green_channel { " " span.tag.bad { "绿色通道" } } }
                div { span.label { "所在村" } (crate::domain::resident::village_name(&file.village)) " " (d.applicant.address) }
                div { span.label { "困难类型" } (d.risk_types.iter().map(|r| r.name_zh()).collect::<Vec<_>>().join("、")) }
                div { span.label { "身份证号" } (yijian_core::validation::ResidentIdNumber::parse(&d.applicant.id_number, today()).map(|n| n.masked()).unwrap_or_else(|_| d.applicant.id_number.clone())) }
                div { span.label { "联系电话" } (d.applicant.phone.as_deref().unwrap_or("—")) }
                div { span.label { "申报时间" } (beijing(d.declared_at)) }
                @if let (Some(r), Some(s)) = (&file.row, &status) {
                    div { span.label { "当前时限" } strong.due.bad[s.is_overdue()] id="clock" { (r.clock_step.map(|x| x.name_zh()).unwrap_or("")) " " (s.label_zh()) "（" (r.clock_due_on.map(|d| d.to_string()).unwrap_or_default()) "）" } }
                }
                @if let Some(cat) = c.state.category { div { span.label { "监测对象类型" } (cat.name_zh()) } }
                @if let Some(reason) = &c.state.rejection_reason { div { span.label { "不予纳入理由" } (reason) } }
            }
            @if !d.description.is_empty() { p { "申请人陈述：" (d.description) } }
            @if let Some(p) = &d.proxy { p.muted { "代申报：" (p.filler_name) "（" (p.relation_to_applicant) "），申请人" (p.confirmation.name_zh()) "确认" } }
        }
        section id="actions" class="panel" {
            h2 { "可办理事项" }
            @if steps.is_empty() { p.muted { "当前阶段没有需要您办理的事项。" } }
            @for step in &steps { (super::actions::step_form(&file.case, *step, &user, &procedure)) }
        }
        section id="timeline" class="panel" {
            h2 { "办理过程" }
            ol {
                @for a in &file.audit {
                    li {
                        time { (beijing(a.at)) }
                        span.who { (a.user_id.as_ref().and_then(|u| file.users.get(u)).cloned().unwrap_or_else(|| if a.action.ends_with("_public") { "群众".into() } else { "系统".into() })) }
                        span.what { (action_label(a)) }
                        @let detail = detail_text(a);
                        span.detail {
                            (detail)
                            // A UUIDv7's first digits are its time: the last ones tell devices apart.
                            @if let Some(dev) = &a.device_id {
                                @if !detail.is_empty() { " · " }
                                "设备 " (dev.chars().rev().take(6).collect::<String>().chars().rev().collect::<String>())
                            }
                        }
                    }
                }
                @for e in c.history.iter().filter(|e| matches!(e.kind, CaseEventKind::Escalated { .. })) {
                    li.bad { time { (beijing(e.at)) } span.who { "系统" } span.what { (e.label_zh()) } span.detail { (e.note.as_deref().unwrap_or("")) } }
                }
            }
        }
        @if let Some((v, t)) = &file.visit {
            section class="panel" {
                h2 { "入户核查表" @if v.is_final() { " " span.tag { "已定稿" } } }
                @let eval = yijian_core::checklist::evaluate(t, v.answers());
                @if let Some(inc) = &eval.income {
                    p id="income" { "家庭年人均纯收入 " strong { (inc.per_person_yuan) "元" } "，监测线 " (inc.monitoring_line_yuan) "元（" (if matches!(inc.line_status, yijian_core::checklist::LineStatus::Below) { "低于监测线" } else { "不低于监测线" }) "）；饮水安全：" (match eval.water { yijian_core::checklist::WaterSafety::Safe => "安全", yijian_core::checklist::WaterSafety::Unsafe => "不安全", yijian_core::checklist::WaterSafety::Unknown => "待核" }) }
                }
                details id="checklist-details" {
                summary { "查看全部核查项目（" (v.answers().len()) "项）" }
                table id="checklist" class="data" {
                    @for section in &t.sections {
                        tr.section { th colspan="2" { (section.title_zh) } }
                        @for item in &section.items {
                            @if let Some(a) = v.answers().get(&item.key) {
                                tr { td { (item.label_zh) } td { (answer_text(&item.kind, a)) } }
                            }
                        }
                    }
                }
                }
            }
        }
        section id="photos" class="panel" {
            h2 { "照片（" (file.photos.len()) "张）" }
            div.photos {
                @for p in &file.photos {
                    @let thumb = p.thumb_sha256.as_ref().unwrap_or(&p.sha256);
                    a href={"/console/photos/" (p.sha256)} { img src={"/console/photos/" (thumb)} alt=(photo_caption(&p.owner)) loading="lazy"; span { (photo_caption(&p.owner)) } }
                }
            }
        }
        @if let Some(plan) = &file.plan {
            section id="plan" class="panel" {
                h2 { "一户一策（" (plan.made_on) "）" }
                table.data {
                    tr { th { "措施" } th { "内容" } th { "金额" } th { "责任单位/责任人" } th { "期限" } th { "落实" } }
                    @for m in &plan.measures {
                        tr { td { (m.kind.name_zh()) } td { (m.description) } td { (m.amount_fen.map(|f| format!("¥{}.{:02}", f / 100, f % 100)).unwrap_or_default()) } td { (m.responsible_unit) " " (m.responsible_person) } td { (m.due_on.map(|d| d.to_string()).unwrap_or_default()) } td { (m.done_on.map(|d| d.to_string()).unwrap_or_else(|| "未落实".into())) } }
                    }
                }
            }
        }
        @if !file.follow_ups.is_empty() {
            section id="follow-ups" class="panel" {
                h2 { "回访" }
                ul { @for f in &file.follow_ups { li { "应于" (f.due_on) "回访 · " @match f.done_on { Some(d) => { "已于" (d) "完成 " (f.note) } None => { @if f.is_overdue(today()) { strong.bad { "已逾期" } } @else { "待回访" } } } } } }
            }
        }
        @if let Some(a) = &file.appeal {
            section id="appeal" class="panel" {
                h2 { "申诉" }
                p { "申诉理由：" (a.reason) }
                p { "由" (a.decided_by_level.name_zh()) "级办理" @if let Some(dec) = &a.decision { "：" (if dec.upheld { "申诉成立" } else { "维持原决定" }) "，" (dec.reason) } }
            }
        }
        @if !file.notices.is_empty() {
            section id="notices" class="panel" {
                h2 { "提醒与督办记录" }
                ul { @for n in &file.notices { li { (beijing(n.at)) " · " (n.step.name_zh()) "（应于" (n.due_on) "）" (if n.kind == crate::store::rows::NoticeKind::Overdue { "逾期，已报上级督办" } else { "即将到期，已提醒" }) } } }
            }
        }
    };
    let flash: Option<Flash> = fq.flash();
    let mut r = page(
        StatusCode::OK,
        shell(
            &user,
            Nav::Cases,
            &d.applicant.name,
            flash.as_ref(),
            content,
        ),
    );
    let _ = &mut r;
    Ok(r)
}

fn photo_caption(owner: &PhotoOwner) -> String {
    match owner {
        PhotoOwner::VisitItem { item_key, .. } => default_template()
            .item(item_key)
            .map_or_else(|| "核查照片".to_owned(), |i| i.label_zh.clone()),
        PhotoOwner::Case { .. } => "案件材料".into(),
        PhotoOwner::Household { .. } => "农户照片".into(),
        PhotoOwner::ProxyConfirmation { .. } => "代申报确认".into(),
        PhotoOwner::PublicNotice { .. } => "公示/评议照片".into(),
    }
}

/// A stored photo, for users whose scope covers a village whose photo record names it.
pub async fn photo(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(sha): Path<String>,
) -> Result<Response, ApiError> {
    let sha = Sha256Hex::parse(&sha).map_err(|_| ApiError::NotFound)?;
    if !state
        .storage
        .blob_visible(sha.as_str(), user.scope())
        .await?
    {
        return Err(ApiError::NotFound);
    }
    let mut blob = state.blobs.read(&sha, None).await?;
    let mut bytes = Vec::with_capacity(usize::try_from(blob.size).unwrap_or(0));
    blob.body
        .read_to_end(&mut bytes)
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((
        [
            (header::CONTENT_TYPE, blob.content_type),
            (header::CACHE_CONTROL, "private, max-age=86400"),
        ],
        bytes,
    )
        .into_response())
}

pub async fn notifications(
    State(state): State<AppState>,
    user: ConsoleUser,
) -> Result<Response, ApiError> {
    let (role, scope) = (user.role(), user.scope().to_string());
    let list = read(&*state.storage, move |tx| {
        tx.notifications(role, &scope, 200)
    })
    .await?;
    let content = html! {
        h1 { "消息通知" }
        p.muted { "发给" (scope_path(user.scope())) (user.role().name_zh()) "的最新200条。" }
        ul id="notifications" class="notices" {
            @for n in &list {
                li {
                    time { (beijing(n.at)) } " "
                    @if let Some(c) = &n.case_id { a href={"/console/cases/" (c)} { (n.text_zh) } } @else { (n.text_zh) }
                }
            }
        }
        @if list.is_empty() { p { "暂无消息。" } }
    };
    let _ = PreEscaped("");
    Ok(page(
        StatusCode::OK,
        shell(&user, Nav::Notifications, "消息通知", None, content),
    ))
}
