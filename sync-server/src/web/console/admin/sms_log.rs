//! The SMS log: every text, its status and attempts.

use crate::AppState;
use crate::error::ApiError;
use crate::store::read;
use crate::store::rows::SmsStatus;
use crate::web::console::{Nav, page, shell};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use maud::html;
use serde::Deserialize;

use super::*;
use crate::web::console::authz::Admin;

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
pub(crate) fn masked_phone(p: &str) -> String {
    if p.len() == 11 && p.is_ascii() {
        format!("{}****{}", &p[..3], &p[7..])
    } else {
        p.to_owned()
    }
}

pub async fn sms_log(
    State(state): State<AppState>,
    Admin(user): Admin,
    Query(q): Query<SmsQuery>,
) -> Result<Response, ApiError> {
    let status = q.status.as_deref().and_then(SmsStatus::parse);
    // Texts name receipts and phones: only those about cases within the administrator's scope.
    let scope = user.scope().clone();
    let rows = read(&*state.storage, move |tx| {
        tx.recent_sms(&scope, status, 300)
    })
    .await?;
    let statuses = [
        SmsStatus::Pending,
        SmsStatus::Unknown,
        SmsStatus::Sent,
        SmsStatus::Failed,
    ];
    let content = html! {
        h1 { "短信记录" }
        (admin_links(&user, "/console/admin/sms"))
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
