//! Case lists: overdue and due soon (with whose job each is), and the case search.

use crate::AppState;
use crate::domain::procedure::Procedure;
use crate::error::ApiError;
use crate::store::read;
use crate::store::rows::CaseRow;
use crate::web::console::stats::{self, division_name};
use crate::web::console::{ListParams, Nav, breadcrumb, page, shell};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use maud::{Markup, html};
use std::collections::HashMap;
use yijian_core::deadline::DeadlineStatus;
use yijian_core::division::{DivisionCode, Level};
use yijian_core::role::Role;
use yijian_core::workflow::Stage;

use super::*;
use crate::web::console::authz::CasesInScope;

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
    CasesInScope(user, scope): CasesInScope,
    params: ListParams,
) -> Result<Response, ApiError> {
    let procedure = Procedure::current(&*state.storage).await?;
    if matches!(scope.level(), Level::Province | Level::City) {
        return overdue_by_division(&state, &user, &scope, &procedure).await;
    }
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

/// A province's or a city's overdue list: tens of thousands of cases are no list to act on,
/// and reading them on every request is what the rollup exists to avoid. The counts of each
/// unit below come from the figures kept with the case index (the dashboard's); a county's
/// list, and those below it, name the cases.
async fn overdue_by_division(
    state: &AppState,
    user: &crate::web::console::ConsoleUser,
    scope: &DivisionCode,
    procedure: &Procedure,
) -> Result<Response, ApiError> {
    let groups = {
        let scope = scope.clone();
        read(&*state.storage, move |tx| tx.figures_in(&scope)).await?
    };
    let d = stats::from_figures(scope, &groups, today(), &procedure.calendar);
    let units: Vec<&stats::ChildFigures> = d
        .children
        .iter()
        .filter(|c| c.overdue + c.due_soon > 0)
        .collect();
    let content = html! {
        (breadcrumb(user, scope, "/console/overdue"))
        h1 { "逾期督办与即将到期" }
        p.muted id="overdue-total" { (d.scope_name) "：已逾期" (d.overdue) "件，2个工作日内到期" (d.due_soon) "件。点单位名称查看案件清单。" }
        table id="overdue-by-division" class="data" {
            thead { tr { th { "单位" } th { "已逾期" } th { "2个工作日内到期" } } }
            tbody {
                @for c in &units {
                    tr data-code=(c.code) data-overdue=(c.overdue) data-due-soon=(c.due_soon) class=(if c.overdue > 0 { "overdue" } else { "due-soon" }) {
                        td { a href={"/console/overdue?scope=" (c.code)} { (c.name) } }
                        td { (c.overdue) }
                        td { (c.due_soon) }
                    }
                }
            }
        }
        @if units.is_empty() { p.ok { "✓ 没有逾期或即将到期的案件。" } }
    };
    Ok(page(
        StatusCode::OK,
        shell(user, Nav::Overdue, "逾期督办", None, content),
    ))
}

// ---------------------------------------------------------------------------------------------
// Case search
// ---------------------------------------------------------------------------------------------

pub async fn cases(
    State(state): State<AppState>,
    CasesInScope(user, scope): CasesInScope,
    params: ListParams,
) -> Result<Response, ApiError> {
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
