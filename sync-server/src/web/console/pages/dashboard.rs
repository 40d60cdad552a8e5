//! The dashboard: figures and charts of a division, drilled down from the user's scope.

use crate::AppState;
use crate::domain::procedure::Procedure;
use crate::error::ApiError;
use crate::store::read;
use crate::store::rows::CaseQuery;
use crate::store::rows::CaseRow;
use crate::web::console::stats::{self};
use crate::web::console::{FlashQuery, ListParams, Nav, breadcrumb, data_script, page, shell_with};
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::NaiveDate;
use maud::html;
use yijian_core::division::DivisionCode;
use yijian_core::workflow::Stage;

use super::*;
use crate::web::console::authz::InScope;

pub(crate) async fn rows_of(
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
    InScope(user, scope): InScope,
    params: ListParams,
) -> Result<Response, ApiError> {
    let procedure = Procedure::current(&*state.storage).await?;
    let (groups, take_up) = {
        let scope = scope.clone();
        // One snapshot for both, so the figures agree with each other.
        read(&*state.storage, move |tx| {
            Ok((tx.figures_in(&scope)?, tx.alert_take_up_in(&scope)?))
        })
        .await?
    };
    let mut d = stats::from_figures(&scope, &groups, today(), &procedure.calendar);
    let names: Vec<(String, String)> = procedure
        .policy
        .departments
        .iter()
        .map(|dep| (dep.code.clone(), dep.name_zh.clone()))
        .collect();
    d.by_department = stats::department_figures(&take_up, &names);
    let content = html! {
        (breadcrumb(&user, &scope, "/console"))
        h1 { (d.scope_name) " 工作概览" }
        div.kpis {
            div.kpi id="kpi-open" { span.label { "在办案件" } span.value { (d.open) } span.sub { "共" (d.total) "件" } }
            div.kpi.bad id="kpi-overdue" { span.label { "已逾期" } span.value { (d.overdue) } a.sub href={"/console/overdue?scope=" (d.scope)} { "查看督办清单 ›" } }
            div.kpi.warn id="kpi-due-soon" { span.label { "2个工作日内到期" } span.value { (d.due_soon) } }
            div.kpi id="kpi-self-share" { span.label { "自主申报占全部申报" } span.value { (pct(d.self_share)) } span.sub { "本月新申报" (d.declared_this_month) "件" } }
            div.kpi id="kpi-included-self-share" { span.label { "新纳入监测对象中自主申报占比" } span.value { (pct(d.included_self_share)) } span.sub { "审批纳入共" (d.included) "户" } }
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
            @if !d.by_department.is_empty() {
                section.panel.wide {
                    h2 { "部门预警（按部门）" }
                    table id="by-department" class="data" {
                        thead { tr { th { "部门" } th { "匹配到农户" } th { "达到预警" } th { "生成线索" } th { "并入在办" } th { "涉及案件" } th { "纳入监测" } th { "转化率" } } }
                        tbody {
                            @for f in &d.by_department {
                                tr data-department=(f.department) {
                                    td { (f.label) } td { (f.matched) } td { (f.warnings) } td { (f.leads) }
                                    td { (f.attached) } td { (f.cases) } td { (f.included) } td { (pct(f.conversion)) }
                                }
                            }
                        }
                    }
                    p.muted { "转化率＝审批纳入监测的户数÷预警涉及的案件数；明细见" a href="/console/alerts" { "部门预警" } "。" }
                }
            }
            section.panel {
                h2 { "风险类型" }
                div.chart id="chart-risk" {}
                table.fallback.data { tr { th { "类型" } th { "件数" } } @for r in &d.by_risk { tr { td { (r.label) } td { (r.count) } } } }
            }
            section.panel {
                h2 { "各环节按时办结率（近12个月）" }
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
                        thead { tr { th { "名称" } th { "案件" } th { "在办" } th { "逾期" } th { "即将到期" } th { "自主申报占全部申报" } th { "新纳入中自主申报占比" } th { "按时率" } } }
                        tbody {
                            @for c in &d.children {
                                tr data-code=(c.code) {
                                    td { a.drill href={"/console?scope=" (c.code)} { (c.name) } }
                                    td { (c.total) } td { (c.open) }
                                    td.num.bad[c.overdue > 0] { (c.overdue) }
                                    td { (c.due_soon) } td { (pct(c.self_share)) } td { (pct(c.included_self_share)) } td { (pct(c.on_time_rate)) }
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

pub(crate) fn stage_key(s: Stage) -> String {
    yijian_core::codec::enum_text(&s).unwrap_or_default()
}

// ---------------------------------------------------------------------------------------------
// Overdue and due-soon list
// ---------------------------------------------------------------------------------------------
