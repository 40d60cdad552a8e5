//! Department systems' API keys (`POST /v1/alerts`): an administrator issues one per department
//! for their own scope, sees it once, and revokes it. Only the key's hash is stored.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use maud::html;
use serde::Deserialize;
use yijian_core::division::DivisionCode;

use super::{admin_links, back, beijing};
use crate::AppState;
use crate::domain::alerts;
use crate::domain::procedure::Procedure;
use crate::error::ApiError;
use crate::store::{read, write};
use crate::web::console::authz::Admin;
use crate::web::console::session::ConsoleUser;
use crate::web::console::{FlashQuery, Nav, page, shell};

const PATH: &str = "/console/admin/keys";

async fn view(
    state: &AppState,
    user: &ConsoleUser,
    flash: Option<&crate::web::console::Flash>,
    issued: Option<(&str, &str)>,
) -> Result<Response, ApiError> {
    let procedure = Procedure::current(&*state.storage).await?;
    let keys: Vec<_> = read(&*state.storage, |tx| tx.department_keys())
        .await?
        .into_iter()
        .filter(|k| DivisionCode::parse(&k.scope).is_ok_and(|s| user.covers(&s)))
        .collect();
    let content = html! {
        h1 { "部门接口密钥" }
        (admin_links(user, PATH))
        @if let Some((label, secret)) = issued {
            section.card id="issued-key" {
                h2 { "已生成“" (label) "”的密钥" }
                p.alert { "密钥只显示这一次，请立即交给部门系统的管理员妥善保存：" }
                p { code id="new-key" { (secret) } }
            }
        }
        section.card {
            h2 { "生成密钥" }
            p.muted { "部门系统用此密钥调用 POST /v1/alerts 推送预警，匹配范围为您的管辖范围。" }
            form id="issue-key" method="post" action=(PATH) {
                input type="hidden" name="csrf" value=(user.form_token());
                label { "部门 " select name="department" {
                    @for d in &procedure.alert_rules.departments {
                        option value=(d.department) { (procedure.policy.department_name(&d.department)) }
                    }
                } }
                label { "用途说明 " input type="text" name="label" maxlength="50" required; }
                button type="submit" id="issue" { "生成密钥" }
            }
        }
        table id="department-keys" {
            thead { tr { th { "部门" } th { "用途" } th { "范围" } th { "生成" } th { "状态" } th {} } }
            tbody {
                @for k in &keys {
                    tr data-key=(k.id) {
                        td { (procedure.policy.department_name(&k.department)) }
                        td { (k.label) }
                        td { (k.scope) }
                        td { (beijing(k.created_at)) " " (k.created_by) }
                        td { @if let Some(r) = k.revoked_at { "已吊销（" (beijing(r)) "）" } @else { "有效" } }
                        td { @if k.revoked_at.is_none() {
                            form method="post" action={(PATH) "/" (k.id) "/revoke"} {
                                input type="hidden" name="csrf" value=(user.form_token());
                                button type="submit" { "吊销" }
                            }
                        } }
                    }
                }
            }
        }
    };
    Ok(page(
        StatusCode::OK,
        shell(user, Nav::Admin, "部门接口密钥", flash, content),
    ))
}

/// `GET /console/admin/keys`.
pub async fn keys_page(
    State(state): State<AppState>,
    Admin(user): Admin,
    Query(q): Query<FlashQuery>,
) -> Result<Response, ApiError> {
    view(&state, &user, q.flash().as_ref(), None).await
}

#[derive(Debug, Deserialize)]
pub struct IssueForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    department: String,
    #[serde(default)]
    label: String,
}

/// `POST /console/admin/keys`: a new key, shown once on the answer page.
pub async fn issue_key(
    State(state): State<AppState>,
    Admin(user): Admin,
    Form(f): Form<IssueForm>,
) -> Result<Response, ApiError> {
    user.check_form(&f.csrf)?;
    let procedure = Procedure::current(&*state.storage).await?;
    if procedure.alert_rules.department(&f.department).is_none() {
        return Ok(back(PATH, false, "请选择有预警规则的部门"));
    }
    let label = f.label.trim();
    if label.is_empty() || label.chars().count() > 50 {
        return Ok(back(PATH, false, "请填写用途说明（不超过50个字）"));
    }
    let (_, secret) = alerts::issue_key(
        &*state.storage,
        &f.department,
        user.scope(),
        label,
        &user.user().login,
        Utc::now(),
    )
    .await?;
    view(&state, &user, None, Some((label, &secret))).await
}

#[derive(Debug, Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/admin/keys/{id}/revoke`.
pub async fn revoke_key(
    State(state): State<AppState>,
    Admin(user): Admin,
    Path(id): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Result<Response, ApiError> {
    user.check_form(&f.csrf)?;
    let scope = user.scope().clone();
    let now = Utc::now();
    let done = write(&*state.storage, move |tx| {
        let Some(mut k) = tx.department_keys()?.into_iter().find(|k| k.id == id) else {
            return Ok(false);
        };
        if !DivisionCode::parse(&k.scope).is_ok_and(|s| s.is_within(&scope)) {
            return Ok(false);
        }
        if k.revoked_at.is_none() {
            k.revoked_at = Some(now);
            tx.put_department_key(&k)?;
        }
        Ok(true)
    })
    .await?;
    if done {
        Ok(back(PATH, true, "密钥已吊销，部门系统用它推送将被拒绝"))
    } else {
        Ok(back(PATH, false, "没有这个密钥，或不在您的管辖范围内"))
    }
}
