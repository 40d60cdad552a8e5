//! Users and their devices: list, create, the device-setup QR code, revoke.

use crate::AppState;
use crate::domain::accounts::{NewUser, role_key};
use crate::error::ApiError;
use crate::store::{DeviceInfo, StorageError};
use crate::web::console::session::ConsoleUser;
use crate::web::console::{Flash, FlashQuery, Nav, page, scope_path, shell};
use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use std::collections::HashMap;
use yijian_core::division::DivisionCode;
use yijian_core::ids::{DeviceId, UserId};
use yijian_core::protocol::auth::Account;
use yijian_core::qrcodes::DeviceSetup;
use yijian_core::role::Role;

use super::*;
use crate::web::console::authz::Admin;

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
        (admin_links(user, "/console/admin"))
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
                                                @match d.wiped_at {
                                                    Some(at) => { " " span.badge.wiped { "本机数据已清除 " (beijing(at)) } }
                                                    None => { " " span.muted { "（设备尚未联网确认清除）" } }
                                                }
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
    Admin(user): Admin,
    Query(q): Query<UsersQuery>,
) -> Result<Response, ApiError> {
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
    Admin(user): Admin,
    Form(f): Form<NewUserForm>,
) -> Result<Response, ApiError> {
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
    Admin(user): Admin,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
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
    Admin(user): Admin,
    Path(device): Path<String>,
    Form(f): Form<RevokeForm>,
) -> Result<Response, ApiError> {
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
