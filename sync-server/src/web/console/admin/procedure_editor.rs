//! The procedure documents an administrator edits: the holiday calendar, the deadline
//! rules and the policy figures (income lines, appeal window, departments, thresholds). Both are one JSON document with a summary table above an editor, saved through
//! [`crate::domain::procedure`] (validated, stored, open cases re-indexed), so one page and one
//! save handler serve every document; [`Document`] says what differs.

use axum::Form;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::Utc;
use maud::{Markup, html};
use serde::Deserialize;

use super::{admin_links, back};
use crate::AppState;
use crate::domain::procedure::{self, Procedure, ProcedureError};
use crate::error::ApiError;
use crate::web::console::authz::ProvinceAdmin;
use crate::web::console::session::ConsoleUser;
use crate::web::console::{Flash, FlashQuery, Nav, page, shell};
use yijian_core::deadline::DeadlineRules;

/// Where the default acceptance limit (受理, 2 working days) comes from. Gansu has published no
/// figure for this step; the default is a county rule of another province.
pub const ACCEPT_DEFAULT_SOURCE_ZH: &str = "“受理”时限（申报之日起2个工作日）为系统默认值，可修改。来源：安徽省枞阳县2024年规定；甘肃省未公布该环节时限。";

/// A document of the procedure, named by the last segment of its page's path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// 节假日日历: the State Council's holidays and make-up working days, per year.
    Calendar,
    /// 办理期限: the time limit of each step.
    Rules,
    /// 政策参数: the yearly income line, the appeal window, the departments, the thresholds.
    Policy,
    /// 预警规则: which lines of each department's list are warnings, the duplicate window and
    /// the spot-check share.
    AlertRules,
}

impl Document {
    fn from_path(segment: &str) -> Option<Document> {
        match segment {
            "calendar" => Some(Document::Calendar),
            "rules" => Some(Document::Rules),
            "policy" => Some(Document::Policy),
            "alert-rules" => Some(Document::AlertRules),
            _ => None,
        }
    }

    /// Page path; also the stem of the form's element ids (`calendar`, `save-calendar`, …).
    fn key(self) -> &'static str {
        match self {
            Document::Calendar => "calendar",
            Document::Rules => "rules",
            Document::Policy => "policy",
            Document::AlertRules => "alert-rules",
        }
    }

    fn title(self) -> &'static str {
        match self {
            Document::Calendar => "节假日日历",
            Document::Rules => "办理期限",
            Document::Policy => "政策参数",
            Document::AlertRules => "预警规则",
        }
    }

    fn save_label(self) -> &'static str {
        match self {
            Document::Calendar => "保存日历",
            Document::Rules => "保存期限",
            Document::Policy => "保存政策参数",
            Document::AlertRules => "保存预警规则",
        }
    }

    fn saved(self) -> &'static str {
        match self {
            Document::Calendar => "节假日日历已保存，在办案件期限已重新计算",
            Document::Rules => "办理期限已保存，在办案件期限已重新计算",
            Document::Policy => "政策参数已保存，此后的核查结论按新标准计算，手机端下次同步时更新",
            Document::AlertRules => "预警规则已保存，此后导入的部门预警按新规则判定",
        }
    }

    fn text(self, p: &Procedure) -> String {
        match self {
            Document::Calendar => serde_json::to_string_pretty(&*p.calendar),
            Document::Rules => serde_json::to_string_pretty(&p.rules),
            Document::Policy => serde_json::to_string_pretty(&*p.policy),
            Document::AlertRules => serde_json::to_string_pretty(&p.alert_rules),
        }
        .unwrap_or_default()
    }

    /// What the document says, in a table above its editor.
    fn summary(self, p: &Procedure) -> Markup {
        match self {
            Document::Calendar => html! {
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
                                    } @else { span.badge.warn { "未发布：只按周末及元旦、劳动节、国庆节的法定日期计算" } }
                                }
                                td { @for h in &y.holidays { div { (h.name) " " (h.from.format("%m-%d")) "至" (h.to.format("%m-%d")) } } }
                                td { @for m in &y.makeup_workdays { div { (m.date.format("%m-%d")) "（" (m.for_holiday) "）" } } }
                            }
                        }
                    }
                }
            },
            Document::Rules => html! {
                p.muted { "各环节的办理时限。修改后所有在办案件的期限立即重新计算。" }
                table id="rules-table" {
                    thead { tr { th { "环节" } th { "时限" } } }
                    tbody {
                        @for s in yijian_core::deadline::Step::ALL {
                            tr data-step=(yijian_core::codec::enum_text(&s).unwrap_or_default()) { td { (s.name_zh()) } td { (p.rules.rule(s).describe_zh()) } }
                        }
                    }
                }
                // The shipped acceptance limit is not Gansu's: say where it comes from while it
                // is in force, so nobody cites it as a provincial rule.
                @if p.rules.accept == DeadlineRules::gansu().accept {
                    p.muted id="rules-accept-source" { (ACCEPT_DEFAULT_SOURCE_ZH) }
                }
            },
            Document::AlertRules => Document::alert_rules_summary(p),
            Document::Policy => html! {
                p.muted { "监测收入标准每年由省里公布；某年尚未公布时，暂按最近一年的标准计算，核查结论会注明“暂按某年标准”。每项数字都应写明出处。" }
                table id="income-lines" {
                    thead { tr { th { "年份" } th { "监测收入标准（年人均纯收入）" } th { "出处" } } }
                    tbody {
                        @for l in &p.policy.income_lines {
                            tr data-year=(l.year) { td { (l.year) "年" } td { (l.yuan) "元" } td { (l.source) } }
                        }
                    }
                }
                table id="policy-other" {
                    tbody {
                        tr { th { "申诉期限" } td { "告知不予纳入之日起" (p.policy.appeal_window_days) "天" } td { (p.policy.appeal_window_source) } }
                        tr { th { "常态化关注回访" } td { "每" (p.policy.routine_attention_interval_days) "天" } td { (p.policy.routine_attention_source) } }
                        tr { th { "预警部门" } td { (p.policy.departments.iter().map(|d| d.name_zh.as_str()).collect::<Vec<_>>().join("、")) } td { (p.policy.departments_source) } }
                        tr { th { "医疗自付预警" } td { @for t in &p.policy.medical_out_of_pocket_yuan { div { (t.population.name_zh()) "超（含）" (t.yuan) "元" } } } td { (p.policy.medical_source) } }
                    }
                }
            },
        }
    }

    fn alert_rules_summary(p: &Procedure) -> Markup {
        html! {
            p.muted { "各部门推送名单中，哪些行属于预警由此规则判定；每项标准都应写明出处。模板表头为“身份证号,姓名,预警事项,金额（元）,发生日期,备注”加各部门的附加列。" }
            table id="alert-rules" {
                thead { tr { th { "部门" } th { "预警事项" } th { "判定标准" } th { "出处" } } }
                tbody {
                    @for d in &p.alert_rules.departments {
                        @for m in &d.matters {
                            tr data-department=(d.department) {
                                td { (p.policy.department_name(&d.department)) }
                                td { (m.matter) }
                                td { (criterion_zh(&m.criterion)) }
                                td { (m.source) }
                            }
                        }
                    }
                }
            }
            table id="alert-other" {
                tbody {
                    tr { th { "重复预警" } td { (p.alert_rules.duplicate_window_days) "天内同一人同一事项" } td { (p.alert_rules.duplicate_window_source) } }
                    tr { th { "常态抽查比例" } td { (p.alert_rules.spot_check_percent) "%" } td { (p.alert_rules.spot_check_source) } }
                }
            }
        }
    }

    async fn save(self, state: &AppState, json: &str, by: &str) -> Result<(), ProcedureError> {
        let now = Utc::now();
        match self {
            Document::Calendar => procedure::set_calendar(&*state.storage, json, by, now).await,
            Document::Rules => procedure::set_rules(&*state.storage, json, by, now).await,
            Document::Policy => procedure::set_policy(&*state.storage, json, by, now).await,
            Document::AlertRules => {
                procedure::set_alert_rules(&*state.storage, json, by, now).await
            }
        }
    }
}

/// A rule's criterion in words.
fn criterion_zh(c: &yijian_core::support::Criterion) -> String {
    use yijian_core::support::Criterion;
    match c {
        Criterion::Always => "每条均为预警".to_owned(),
        Criterion::AmountAtLeast { yuan } => format!("金额超（含）{yuan}元"),
        Criterion::MedicalThreshold => "按政策参数中的医疗自付预警标准（分人群）".to_owned(),
        Criterion::ColumnIn { column, values } => format!("“{column}”为{}", values.join("、")),
        Criterion::ShareOfIncome {
            percent,
            income_column,
        } => format!("金额达到“{income_column}”的{percent}%（该列为空时不按此项）"),
        Criterion::AnyOf { any_of } => any_of
            .iter()
            .map(criterion_zh)
            .collect::<Vec<_>>()
            .join("；或"),
    }
}

#[derive(Debug, Deserialize)]
pub struct JsonForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    json: String,
}

fn view(
    doc: Document,
    user: &ConsoleUser,
    p: &Procedure,
    text: &str,
    flash: Option<&Flash>,
    error: Option<&str>,
) -> Markup {
    let key = doc.key();
    let path = format!("/console/admin/{key}");
    let content = html! {
        h1 { (doc.title()) }
        (admin_links(user, &path))
        (doc.summary(p))
        section.card {
            h2 { "编辑（JSON）" }
            @if let Some(e) = error { p.alert id={(key) "-error"} role="alert" { (e) } }
            form id=(key) method="post" action=(path) {
                input type="hidden" name="csrf" value=(user.form_token());
                textarea name="json" rows="24" spellcheck="false" { (text) }
                button type="submit" id={"save-" (key)} { (doc.save_label()) }
            }
        }
    };
    shell(user, Nav::Admin, doc.title(), flash, content)
}

/// `GET /console/admin/{calendar|rules|policy}`.
pub async fn procedure_page(
    State(state): State<AppState>,
    ProvinceAdmin(user): ProvinceAdmin,
    Path(segment): Path<String>,
    Query(q): Query<FlashQuery>,
) -> Result<Response, ApiError> {
    let Some(doc) = Document::from_path(&segment) else {
        return Err(ApiError::NotFound);
    };
    let p = Procedure::current(&*state.storage).await?;
    Ok(page(
        StatusCode::OK,
        view(doc, &user, &p, &doc.text(&p), q.flash().as_ref(), None),
    ))
}

/// `POST /console/admin/{calendar|rules|policy}`: a refused document comes back as typed, with why.
pub async fn save_procedure(
    State(state): State<AppState>,
    ProvinceAdmin(user): ProvinceAdmin,
    Path(segment): Path<String>,
    Form(f): Form<JsonForm>,
) -> Result<Response, ApiError> {
    let Some(doc) = Document::from_path(&segment) else {
        return Err(ApiError::NotFound);
    };
    user.check_form(&f.csrf)?;
    match doc.save(&state, &f.json, &user.user().login).await {
        Ok(()) => Ok(back(
            &format!("/console/admin/{}", doc.key()),
            true,
            doc.saved(),
        )),
        Err(
            ProcedureError::Calendar(why)
            | ProcedureError::Rules(why)
            | ProcedureError::Policy(why),
        ) => {
            let p = Procedure::current(&*state.storage).await?;
            Ok(page(
                StatusCode::UNPROCESSABLE_ENTITY,
                view(
                    doc,
                    &user,
                    &p,
                    &f.json,
                    None,
                    Some(&format!("未保存：{why}")),
                ),
            ))
        }
        Err(e) => Err(ApiError::Internal(e.to_string())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yijian_core::deadline::{Anchor, DeadlineRule};

    #[test]
    fn the_default_acceptance_limit_names_its_real_source() {
        let p = Procedure::default();
        let page = Document::Rules.summary(&p).into_string();
        assert!(page.contains("申报之日起2个工作日"), "{page}");
        assert!(page.contains("安徽省枞阳县2024年"), "{page}");
        assert!(page.contains("甘肃省未公布"), "{page}");
        // Once an administrator sets the province's own figure, the note goes.
        let calendar = Document::Calendar.summary(&p).into_string();
        assert!(
            calendar.contains("未发布：只按周末及元旦、劳动节、国庆节的法定日期计算"),
            "{calendar}"
        );
        let mut own = Procedure::default();
        own.rules.accept = DeadlineRule::working_days(3, Anchor::Declaration);
        let page = Document::Rules.summary(&own).into_string();
        assert!(!page.contains("枞阳县"), "{page}");
    }
}
