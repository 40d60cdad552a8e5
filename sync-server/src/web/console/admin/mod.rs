//! The administrator's pages: users and their devices, the QR code that sets up a worker's
//! phone, the holiday calendar and deadline rules, the units' contact numbers on the printed
//! sheets, and the SMS log.
//!
//! Only users with the `admin` role see these pages, and only for the users, devices and units
//! within their own scope (a county's administrator manages that county's staff). A refused
//! form comes back with everything that was typed in it and the reason next to it.

use std::collections::HashMap;

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use maud::{Markup, html};
use serde::Deserialize;
use yijian_core::division::DivisionCode;
use yijian_core::ids::{DeviceId, UserId};
use yijian_core::qrcodes::DeviceSetup;
use yijian_core::role::Role;

use crate::AppState;
use crate::domain::accounts::{NewUser, role_key};
use crate::domain::procedure::{self, Procedure, ProcedureError};
use crate::error::ApiError;
use crate::store::rows::{SmsStatus, UnitContact};
use crate::store::{DeviceInfo, StorageError, read, write};
use crate::web::console::session::{ConsoleUser, urlencode};
use crate::web::console::{Flash, FlashQuery, Nav, page, scope_path, shell};
use yijian_core::protocol::auth::Account;

/// Users listed on one page at most (a province has tens of thousands: search narrows it).
const USERS_SHOWN: usize = 200;

fn beijing(t: DateTime<Utc>) -> String {
    t.with_timezone(&yijian_core::time::shanghai())
        .format("%Y-%m-%d %H:%M")
        .to_string()
}

/// The administrator, or the page saying this is not for them.
fn admin_only(user: &ConsoleUser) -> Result<(), Box<Response>> {
    if user.role() == Role::Admin {
        Ok(())
    } else {
        Err(Box::new(page(
            StatusCode::FORBIDDEN,
            shell(
                user,
                Nav::Dashboard,
                "无权访问",
                None,
                html! {
                    h1 { "无权访问" }
                    p.alert id="forbidden" { "系统管理仅限系统管理员使用。" }
                },
            ),
        )))
    }
}

fn back(path: &str, ok: bool, text: &str) -> Response {
    Redirect::to(&format!(
        "{path}?{}={}",
        if ok { "ok" } else { "err" },
        urlencode(text)
    ))
    .into_response()
}

fn admin_links(current: &str) -> Markup {
    let links = [
        ("/console/admin", "用户与设备"),
        ("/console/admin/calendar", "节假日日历"),
        ("/console/admin/rules", "办理期限"),
        ("/console/admin/sms", "短信记录"),
    ];
    html! {
        nav.subnav id="admin-nav" {
            @for (href, label) in links {
                a.active[href == current] href=(href) aria-current=[(href == current).then_some("page")] { (label) }
            }
        }
    }
}

/// How a device reads in the list: a browser session as what it is.
fn device_name(d: &DeviceInfo) -> String {
    match d
        .name
        .strip_prefix("控制台（")
        .and_then(|n| n.strip_suffix('）'))
    {
        Some(browser) => format!("网页登录（{browser}）"),
        None => d.name.clone(),
    }
}

// ---------------------------------------------------------------------------------------------
// Users and devices
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize, Default)]
pub struct UsersQuery {
    q: Option<String>,
    ok: Option<String>,
    err: Option<String>,
}

/// What was typed into the new-user form (kept when it is refused).
#[derive(Debug, Deserialize, Default, Clone)]
pub struct NewUserForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    login: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    scope: String,
    #[serde(default)]
    password: String,
}

async fn users_in_scope(
    state: &AppState,
    user: &ConsoleUser,
    q: &str,
) -> Result<(Vec<Account>, usize), ApiError> {
    let q = q.trim();
    let mut all: Vec<Account> = state
        .storage
        .list_users()
        .await?
        .into_iter()
        .filter(|u| user.covers(&u.scope))
        .filter(|u| {
            q.is_empty()
                || u.login.contains(q)
                || u.name.contains(q)
                || u.scope.as_str().starts_with(q)
                || scope_path(&u.scope).contains(q)
        })
        .collect();
    all.sort_by(|a, b| a.scope.cmp(&b.scope).then_with(|| a.name.cmp(&b.name)));
    let total = all.len();
    all.truncate(USERS_SHOWN);
    Ok((all, total))
}

#[allow(clippy::too_many_arguments)]
fn users_page(
    user: &ConsoleUser,
    users: &[Account],
    total: usize,
    devices: &HashMap<UserId, Vec<DeviceInfo>>,
    q: &str,
    form: &NewUserForm,
    flash: Option<&Flash>,
    form_error: Option<&str>,
) -> Markup {
    let content = html! {
        h1 { "用户与设备" }
        (admin_links("/console/admin"))
        section.card {
            h2 { "新增用户" }
            p.muted { "登录名为本人手机号。网格员的辖区为村（12位区划代码），乡镇人员为乡镇（9位），县级为县（6位）。" }
            @if let Some(e) = form_error { p.alert id="new-user-error" role="alert" { (e) } }
            form id="new-user" method="post" action="/console/admin/users" {
                input type="hidden" name="csrf" value=(user.form_token());
                div.grid {
                    label { "手机号" input type="text" name="login" value=(form.login) inputmode="numeric" required; }
                    label { "姓名" input type="text" name="name" value=(form.name) required; }
                    label { "角色"
                        select name="role" required {
                            @for r in Role::ALL {
                                option value=(role_key(r)) selected[form.role == role_key(r)] { (r.name_zh()) }
                            }
                        }
                    }
                    label { "辖区代码" input type="text" name="scope" value=(form.scope) inputmode="numeric" placeholder=(user.scope().as_str()) required; }
                    label { "初始密码（至少8位）" input type="text" name="password" value=(form.password) autocomplete="new-password" required; }
                }
                button type="submit" id="create-user" { "创建用户" }
            }
        }
        section.card {
            h2 { "用户列表" }
            form.inline method="get" action="/console/admin" {
                input type="search" name="q" value=(q) placeholder="手机号、姓名或辖区";
                button type="submit" { "查找" }
            }
            p.muted id="users-count" {
                "共" (total) "个用户"
                @if total > users.len() { "，仅显示前" (users.len()) "个，请用查找缩小范围" }
                "。"
            }
            table id="users" class="sortable" {
                thead { tr { th { "姓名" } th { "手机号" } th { "角色" } th { "辖区" } th { "设备" } th { "手机设置码" } } }
                tbody {
                    @for u in users {
                        tr data-login=(u.login) {
                            td { (u.name) }
                            td { (u.login) }
                            td { (u.role.name_zh()) }
                            td { (scope_path(&u.scope)) }
                            td {
                                // Ended browser sessions are not devices anyone needs to see.
                                @let list: Vec<&DeviceInfo> = devices.get(&u.id).map_or(&[][..], |v| v.as_slice()).iter().filter(|d| !(d.revoked && d.name.starts_with("控制台（"))).collect();
                                @if list.is_empty() { span.muted { "未登录过" } }
                                ul.devices {
                                    @for d in list {
                                        li data-device=(d.id) {
                                            (device_name(d))
                                            span.muted {
                                                " · 最近同步 "
                                                (d.last_seen_at.map_or_else(|| "—".to_owned(), beijing))
                                            }
                                            @if d.revoked {
                                                " " span.badge.muted { "已停用" }
                                            } @else {
                                                form.inline method="post" action={"/console/admin/devices/" (d.id) "/revoke"}
                                                    data-confirm={"停用设备“" (device_name(d)) "”？该设备需重新登录才能同步。"} {
                                                    input type="hidden" name="csrf" value=(user.form_token());
                                                    input type="hidden" name="user" value=(u.id);
                                                    button.danger type="submit" { "停用" }
                                                }
                                            }
                                        }
                                    }
                                }
                            }
                            td {
                                @if u.role == Role::VillageWorker || u.role == Role::Township {
                                    a.setup-qr href={"/console/admin/users/" (u.id) "/setup.png"} target="_blank" { "显示二维码" }
                                } @else { span.muted { "—" } }
                            }
                        }
                    }
                }
            }
        }
        section.card {
            h2 { "单位咨询电话" }
            p.muted { "印在村里张贴的明白纸上。乡镇未填写时用县里的。" }
            form id="contact" method="post" action="/console/admin/contacts" {
                input type="hidden" name="csrf" value=(user.form_token());
                div.grid {
                    label { "乡镇或县区划代码" input type="text" name="division" inputmode="numeric" required; }
                    label { "单位名称" input type="text" name="name" placeholder="鲁家沟镇人民政府" required; }
                    label { "电话" input type="text" name="phone" placeholder="0932-1234567" required; }
                }
                button type="submit" { "保存" }
            }
            form.inline id="print-village" method="get" action="/console/admin/print" {
                label { "打印明白纸和户码：村区划代码 " input type="text" name="village" inputmode="numeric" required; }
                button type="submit" { "打开" }
            }
        }
    };
    shell(user, Nav::Admin, "用户与设备", flash, content)
}

async fn devices_of(
    state: &AppState,
    users: &[Account],
) -> Result<HashMap<UserId, Vec<DeviceInfo>>, ApiError> {
    let mut out = HashMap::new();
    for u in users {
        out.insert(u.id, state.storage.list_devices(u.id).await?);
    }
    Ok(out)
}

pub async fn users(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<UsersQuery>,
) -> Result<Response, ApiError> {
    if let Err(r) = admin_only(&user) {
        return Ok(*r);
    }
    let search = q.q.clone().unwrap_or_default();
    let (list, total) = users_in_scope(&state, &user, &search).await?;
    let devices = devices_of(&state, &list).await?;
    let flash = FlashQuery {
        ok: q.ok,
        err: q.err,
    }
    .flash();
    let form = NewUserForm {
        role: role_key(Role::VillageWorker).to_owned(),
        ..NewUserForm::default()
    };
    Ok(page(
        StatusCode::OK,
        users_page(
            &user,
            &list,
            total,
            &devices,
            &search,
            &form,
            flash.as_ref(),
            None,
        ),
    ))
}

/// Why the new-user form is refused, in the administrator's words.
async fn create(state: &AppState, user: &ConsoleUser, f: &NewUserForm) -> Result<Account, String> {
    let Some(role) = crate::ops::accounts_cli::parse_role(f.role.trim()) else {
        return Err("请选择角色".into());
    };
    let scope = DivisionCode::parse(f.scope.trim())
        .map_err(|e| format!("辖区代码“{}”不正确：{e}", f.scope.trim()))?;
    if !user.covers(&scope) {
        return Err(format!(
            "辖区“{}”不在您的管辖范围（{}）内",
            scope_path(&scope),
            scope_path(user.scope())
        ));
    }
    let new = NewUser {
        login: f.login.trim().to_owned(),
        name: f.name.trim().to_owned(),
        role,
        scope,
        password: f.password.clone(),
    };
    // Cheap checks first; the slow hash only for a good form.
    new.check().map_err(|e| e.to_string())?;
    let (created, hash) = tokio::task::spawn_blocking(move || new.prepare())
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| e.to_string())?;
    match state.storage.create_user(&created, &hash).await {
        Ok(()) => Ok(created),
        Err(StorageError::Duplicate(_)) => Err(format!("手机号{}已有账号", created.login)),
        Err(e) => {
            tracing::error!(error = %e, "creating a user failed");
            Err("保存失败，请稍后再试".into())
        }
    }
}

pub async fn create_user(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(f): Form<NewUserForm>,
) -> Result<Response, ApiError> {
    if let Err(r) = admin_only(&user) {
        return Ok(*r);
    }
    user.check_form(&f.csrf)?;
    match create(&state, &user, &f).await {
        Ok(u) => {
            tracing::info!(login = %u.login, role = role_key(u.role), scope = %u.scope, by = %user.user().login, "user created in the console");
            Ok(back(
                "/console/admin",
                true,
                &format!(
                    "已创建用户：{}（{}，{}）",
                    u.name,
                    u.login,
                    u.role.name_zh()
                ),
            ))
        }
        Err(why) => {
            let (list, total) = users_in_scope(&state, &user, "").await?;
            let devices = devices_of(&state, &list).await?;
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                users_page(&user, &list, total, &devices, "", &f, None, Some(&why)),
            ))
        }
    }
}

/// The QR code a worker scans on first start of the app: this server and their login.
pub async fn setup_qr(
    State(state): State<AppState>,
    user: ConsoleUser,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    if let Err(r) = admin_only(&user) {
        return Ok(*r);
    }
    let Ok(id) = id.parse::<UserId>() else {
        return Err(ApiError::NotFound);
    };
    let Some(target) = state
        .storage
        .list_users()
        .await?
        .into_iter()
        .find(|u| u.id == id)
    else {
        return Err(ApiError::NotFound);
    };
    if !user.covers(&target.scope) {
        return Ok(crate::web::console::out_of_scope(&user));
    }
    let text = DeviceSetup {
        server: crate::web::guard::public_base(&state, &headers),
        login: target.login.clone(),
    }
    .to_text();
    let bytes = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, String> {
        let img = crate::web::print::sheet::qr_image(&text, 8).map_err(|e| e.to_string())?;
        let mut out = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
            .map_err(|e| e.to_string())?;
        Ok(out)
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))?
    .map_err(ApiError::Internal)?;
    let mut r = bytes.into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/png"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Debug, Deserialize)]
pub struct RevokeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    user: String,
}

pub async fn revoke(
    State(state): State<AppState>,
    user: ConsoleUser,
    Path(device): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Result<Response, ApiError> {
    if let Err(r) = admin_only(&user) {
        return Ok(*r);
    }
    user.check_form(&f.csrf)?;
    let (Ok(device), Ok(owner)) = (device.parse::<DeviceId>(), f.user.parse::<UserId>()) else {
        return Ok(back("/console/admin", false, "设备不存在"));
    };
    let Some(owner) = state
        .storage
        .list_users()
        .await?
        .into_iter()
        .find(|u| u.id == owner)
    else {
        return Ok(back("/console/admin", false, "用户不存在"));
    };
    if !user.covers(&owner.scope) {
        return Ok(crate::web::console::out_of_scope(&user));
    }
    let Some(info) = state
        .storage
        .list_devices(owner.id)
        .await?
        .into_iter()
        .find(|d| d.id == device)
    else {
        return Ok(back("/console/admin", false, "设备不存在"));
    };
    state.storage.revoke_device(device).await?;
    tracing::info!(device = %device, user = %owner.login, by = %user.user().login, "device revoked in the console");
    Ok(back(
        "/console/admin",
        true,
        &format!("已停用{}的设备“{}”", owner.name, info.name),
    ))
}

#[derive(Debug, Deserialize)]
pub struct ContactForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    division: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    phone: String,
}

pub async fn save_contact(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(f): Form<ContactForm>,
) -> Result<Response, ApiError> {
    if let Err(r) = admin_only(&user) {
        return Ok(*r);
    }
    user.check_form(&f.csrf)?;
    let fail = |why: String| Ok(back("/console/admin", false, &why));
    let Ok(division) = DivisionCode::parse(f.division.trim()) else {
        return fail(format!("区划代码“{}”不正确", f.division.trim()));
    };
    use yijian_core::division::Level;
    if !matches!(division.level(), Level::Township | Level::County) {
        return fail("咨询电话按乡镇或县填写（9位或6位区划代码）".into());
    }
    if !user.covers(&division) {
        return fail(format!("“{}”不在您的管辖范围内", scope_path(&division)));
    }
    let name = f.name.trim().to_owned();
    let phone = f.phone.trim().to_owned();
    if name.is_empty() || name.chars().count() > 40 {
        return fail("请填写单位名称（40字以内）".into());
    }
    let phone_ok = (5..=20).contains(&phone.len())
        && phone
            .chars()
            .all(|c| c.is_ascii_digit() || c == '-' || c == ' ');
    if !phone_ok {
        return fail(format!("电话“{phone}”不正确，应为数字，可带区号和“-”"));
    }
    let contact = UnitContact {
        division: division.as_str().to_owned(),
        name: name.clone(),
        phone: phone.clone(),
    };
    write(&*state.storage, move |tx| tx.put_unit_contact(&contact)).await?;
    Ok(back(
        "/console/admin",
        true,
        &format!("已保存{}的咨询电话：{name} {phone}", scope_path(&division)),
    ))
}

#[derive(Debug, Deserialize)]
pub struct PrintQuery {
    #[serde(default)]
    village: String,
}

/// The admin page's "print for a village" box.
pub async fn print_village(user: ConsoleUser, Query(q): Query<PrintQuery>) -> Response {
    let code = q.village.trim();
    match DivisionCode::parse(code) {
        Ok(v) if v.level() == yijian_core::division::Level::Village && user.covers(&v) => {
            let html_page = html! {
                h1 { "打印：" (crate::domain::resident::village_name(&v)) }
                ul.links {
                    li { a id="print-sheet" href={"/print/village/" (v) } target="_blank" { "明白纸（A4，扫码申报）" } }
                    li { a id="print-sheet-png" href={"/print/village/" (v) "/sheet.png"} target="_blank" { "明白纸图片（发到工作群）" } }
                    li { a id="print-labels" href={"/print/village/" (v) "/labels"} target="_blank" { "本村户码（不干胶标签）" } }
                }
            };
            page(
                StatusCode::OK,
                shell(&user, Nav::Admin, "打印", None, html_page),
            )
        }
        Ok(v) if !user.covers(&v) => crate::web::console::out_of_scope(&user),
        _ => back(
            "/console/admin",
            false,
            &format!("“{code}”不是村（社区）的12位区划代码"),
        ),
    }
}

// ---------------------------------------------------------------------------------------------
// Calendar and rules
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct JsonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    json: String,
}

fn calendar_view(
    user: &ConsoleUser,
    p: &Procedure,
    text: &str,
    flash: Option<&Flash>,
    error: Option<&str>,
) -> Markup {
    let content = html! {
        h1 { "节假日日历" }
        (admin_links("/console/admin/calendar"))
        p.muted { "办理期限按工作日计算，以国务院办公厅每年发布的放假安排为准。每年年底发布次年安排后，在此更新。保存后所有在办案件的期限立即按新日历重新计算，手机端下次同步时更新。" }
        table id="calendar-years" {
            thead { tr { th { "年份" } th { "状态" } th { "放假" } th { "调休上班" } } }
            tbody {
                @for y in p.calendar.years() {
                    tr data-year=(y.year) {
                        td { (y.year) "年" }
                        td {
                            @if y.published {
                                (y.notice.as_ref().map_or("已发布", |n| n.title.as_str()))
                            } @else { span.badge.warn { "未发布：只按周末计算" } }
                        }
                        td { @for h in &y.holidays { div { (h.name) " " (h.from.format("%m-%d")) "至" (h.to.format("%m-%d")) } } }
                        td { @for m in &y.makeup_workdays { div { (m.date.format("%m-%d")) "（" (m.for_holiday) "）" } } }
                    }
                }
            }
        }
        section.card {
            h2 { "编辑（JSON）" }
            @if let Some(e) = error { p.alert id="calendar-error" role="alert" { (e) } }
            form id="calendar" method="post" action="/console/admin/calendar" {
                input type="hidden" name="csrf" value=(user.form_token());
                textarea name="json" rows="24" spellcheck="false" { (text) }
                button type="submit" id="save-calendar" { "保存日历" }
            }
        }
    };
    shell(user, Nav::Admin, "节假日日历", flash, content)
}

pub async fn calendar_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<FlashQuery>,
) -> Result<Response, ApiError> {
    if let Err(r) = admin_only(&user) {
        return Ok(*r);
    }
    let p = Procedure::current(&*state.storage).await?;
    let text = serde_json::to_string_pretty(&*p.calendar).unwrap_or_default();
    Ok(page(
        StatusCode::OK,
        calendar_view(&user, &p, &text, q.flash().as_ref(), None),
    ))
}

pub async fn save_calendar(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(f): Form<JsonForm>,
) -> Result<Response, ApiError> {
    if let Err(r) = admin_only(&user) {
        return Ok(*r);
    }
    user.check_form(&f.csrf)?;
    match procedure::set_calendar(&*state.storage, &f.json, &user.user().login, Utc::now()).await {
        Ok(()) => Ok(back(
            "/console/admin/calendar",
            true,
            "节假日日历已保存，在办案件期限已重新计算",
        )),
        Err(ProcedureError::Calendar(why)) => {
            let p = Procedure::current(&*state.storage).await?;
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                calendar_view(&user, &p, &f.json, None, Some(&format!("未保存：{why}"))),
            ))
        }
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}

fn rules_view(
    user: &ConsoleUser,
    p: &Procedure,
    text: &str,
    flash: Option<&Flash>,
    error: Option<&str>,
) -> Markup {
    use yijian_core::deadline::Step;
    let content = html! {
        h1 { "办理期限" }
        (admin_links("/console/admin/rules"))
        p.muted { "各环节的办理时限。修改后所有在办案件的期限立即重新计算。" }
        table id="rules-table" {
            thead { tr { th { "环节" } th { "时限" } } }
            tbody {
                @for s in Step::ALL {
                    tr data-step=(yijian_core::codec::enum_text(&s).unwrap_or_default()) { td { (s.name_zh()) } td { (p.rules.rule(s).describe_zh()) } }
                }
            }
        }
        section.card {
            h2 { "编辑（JSON）" }
            @if let Some(e) = error { p.alert id="rules-error" role="alert" { (e) } }
            form id="rules" method="post" action="/console/admin/rules" {
                input type="hidden" name="csrf" value=(user.form_token());
                textarea name="json" rows="24" spellcheck="false" { (text) }
                button type="submit" id="save-rules" { "保存期限" }
            }
        }
    };
    shell(user, Nav::Admin, "办理期限", flash, content)
}

pub async fn rules_page(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<FlashQuery>,
) -> Result<Response, ApiError> {
    if let Err(r) = admin_only(&user) {
        return Ok(*r);
    }
    let p = Procedure::current(&*state.storage).await?;
    let text = serde_json::to_string_pretty(&p.rules).unwrap_or_default();
    Ok(page(
        StatusCode::OK,
        rules_view(&user, &p, &text, q.flash().as_ref(), None),
    ))
}

pub async fn save_rules(
    State(state): State<AppState>,
    user: ConsoleUser,
    Form(f): Form<JsonForm>,
) -> Result<Response, ApiError> {
    if let Err(r) = admin_only(&user) {
        return Ok(*r);
    }
    user.check_form(&f.csrf)?;
    match procedure::set_rules(&*state.storage, &f.json, &user.user().login, Utc::now()).await {
        Ok(()) => Ok(back(
            "/console/admin/rules",
            true,
            "办理期限已保存，在办案件期限已重新计算",
        )),
        Err(ProcedureError::Rules(why)) => {
            let p = Procedure::current(&*state.storage).await?;
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                rules_view(&user, &p, &f.json, None, Some(&format!("未保存：{why}"))),
            ))
        }
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}

// ---------------------------------------------------------------------------------------------
// SMS log
// ---------------------------------------------------------------------------------------------

#[derive(Debug, Deserialize)]
pub struct SmsQuery {
    status: Option<String>,
}

fn status_zh(s: SmsStatus) -> &'static str {
    match s {
        SmsStatus::Pending => "待发送",
        SmsStatus::Sending => "发送中",
        SmsStatus::Unknown => "待核实",
        SmsStatus::Sent => "已发送",
        SmsStatus::Failed => "发送失败",
    }
}

/// `138****5678`: the log shows whose phone without spelling it out.
fn masked_phone(p: &str) -> String {
    if p.len() == 11 && p.is_ascii() {
        format!("{}****{}", &p[..3], &p[7..])
    } else {
        p.to_owned()
    }
}

pub async fn sms_log(
    State(state): State<AppState>,
    user: ConsoleUser,
    Query(q): Query<SmsQuery>,
) -> Result<Response, ApiError> {
    if let Err(r) = admin_only(&user) {
        return Ok(*r);
    }
    let status = q.status.as_deref().and_then(SmsStatus::parse);
    let rows = read(&*state.storage, move |tx| tx.recent_sms(status, 300)).await?;
    let statuses = [
        SmsStatus::Pending,
        SmsStatus::Unknown,
        SmsStatus::Sent,
        SmsStatus::Failed,
    ];
    let content = html! {
        h1 { "短信记录" }
        (admin_links("/console/admin/sms"))
        p.muted { "短信通道：" (state.sms.name()) "。最新300条。" }
        nav.filters {
            a.active[status.is_none()] href="/console/admin/sms" { "全部" }
            @for s in statuses {
                a.active[status == Some(s)] href={"/console/admin/sms?status=" (s.as_str())} { (status_zh(s)) }
            }
        }
        table id="sms" class="sortable" {
            thead { tr { th { "时间" } th { "手机号" } th { "内容" } th { "状态" } th { "次数" } th { "说明" } } }
            tbody {
                @for r in &rows {
                    tr data-status=(r.status.as_str()) data-template=(r.sms.template) {
                        td { (beijing(r.sms.created_at)) }
                        td { (masked_phone(&r.sms.phone)) }
                        td {
                            @if let Some(c) = &r.sms.case_id { a href={"/console/cases/" (c)} { (r.sms.text_zh) } } @else { (r.sms.text_zh) }
                        }
                        td { (status_zh(r.status)) }
                        td { (r.attempts) }
                        td.muted { (r.last_error.as_deref().unwrap_or("")) }
                    }
                }
            }
        }
        @if rows.is_empty() { p { "暂无短信。" } }
    };
    Ok(page(
        StatusCode::OK,
        shell(&user, Nav::Admin, "短信记录", None, content),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phones_in_the_log_are_masked() {
        assert_eq!(masked_phone("13812345678"), "138****5678");
        assert_eq!(masked_phone("0932-1234567"), "0932-1234567");
    }
}
