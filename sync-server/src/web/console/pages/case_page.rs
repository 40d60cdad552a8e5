//! One case: timeline from the audit trail, checklist answers, photos, plan, and a form for
//! each step this user may take now; photos served within scope; the notifications list.

use crate::AppState;
use crate::domain::procedure::Procedure;
use crate::error::ApiError;
use crate::store::read;
use crate::store::rows::CaseRow;
use crate::store::rows::DeadlineNotice;
use crate::store::tx::AuditEntry;
use crate::web::console::session::ConsoleUser;
use crate::web::console::stats::{self};
use crate::web::console::{
    Flash, FlashQuery, Nav, breadcrumb, out_of_scope, page, scope_path, shell,
};
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use maud::{PreEscaped, html};
use std::collections::HashMap;
use tokio::io::AsyncReadExt;
use yijian_core::case::{Case, CaseEventKind};
use yijian_core::checklist::{Answer, ChecklistTemplate, ItemKind, default_template};
use yijian_core::division::DivisionCode;
use yijian_core::role::Actor;
use yijian_core::support::{Appeal, FollowUp, PhotoMeta, PhotoOwner, Plan, Sha256Hex};
use yijian_core::visit::{EvidenceCheck, Visit, VisitPlace, check_evidence};
use yijian_core::workflow::{Stage, available_steps};

use super::*;
use crate::web::console::authz::CaseStaff;

/// Everything the case page shows, read in one transaction.
struct CaseFile {
    case: Case,
    village: DivisionCode,
    row: Option<CaseRow>,
    audit: Vec<AuditEntry>,
    visit: Option<(Visit, ChecklistTemplate)>,
    /// The visit's place and people weighed against the village's other visits.
    evidence: Option<EvidenceCheck>,
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
    // Only a visit of the case's own village is shown, whatever the case names.
    if let Some(vid) = case.state.verification_visit
        && let Some(v) = tx
            .get("visit", &vid.to_string())?
            .filter(|r| r.village == rec.village)
            .and_then(|r| r.body)
    {
        let v: Visit = serde_json::from_str(&v)?;
        audit.extend(tx.audit_of("visit", &vid.to_string())?);
        let t = default_template();
        if v.uses(&t) {
            visit = Some((v, t));
        }
    }
    let evidence = match &visit {
        Some((v, _)) => {
            let others: Vec<_> = tx
                .records_in_village("visit", village.as_str())?
                .into_iter()
                .filter_map(|r| r.body.and_then(|b| serde_json::from_str::<Visit>(&b).ok()))
                // The visit and the corrections of one visit are one place, not several.
                .filter(|o| o.id() != v.id() && o.supersedes().is_none())
                .filter_map(|o| o.location().and_then(|p| p.point()))
                .collect();
            Some(check_evidence(v, &others))
        }
        None => None,
    };
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
        evidence,
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
    CaseStaff(user): CaseStaff,
    Path(id): Path<String>,
    Query(fq): Query<FlashQuery>,
) -> Result<Response, ApiError> {
    let id2 = id.clone();
    let file = read(&*state.storage, move |tx| read_case_file(tx, &id2)).await?;
    // A case that does not exist reads exactly like one outside the user's scope: the page
    // confirms nothing about other divisions' ids.
    let Some(mut file) = file.filter(|f| user.covers(&f.village)) else {
        return Ok(out_of_scope(&user));
    };
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
                @if let Some(reason) = &c.state.rejection_reason { div { span.label { "不予纳入理由" } (reason) @if let Some(l) = c.state.rejected_by { "（" (l.name_zh()) "级）" } } }
                @if c.state.green_channel { div id="green-channel" { span.label { "绿色通道" } "先帮扶后认定" } }
                @if let Some(v) = c.state.verified_on { div id="verified-on" { span.label { "入户核查完成" } (v) } }
                @if matches!(c.state.stage, yijian_core::workflow::Stage::Rejected | yijian_core::workflow::Stage::NotQualifiedNotified) {
                    @if let Some(until) = c.state.appeal_open_until(procedure.policy.appeal_window_days) { div id="appeal-window" { span.label { "申诉期" } "至" (until) "，期满前不能办结" } }
                }
            }
            @if !d.description.is_empty() { p { "申请人陈述：" (d.description) } }
            @if let Some(p) = &d.proxy { p.muted { "代申报：" (p.filler_name) "（" (p.relation_to_applicant) "），申请人" (p.confirmation.name_zh()) "确认" } }
        }
        section id="actions" class="panel" {
            h2 { "可办理事项" }
            @if steps.is_empty() { p.muted { "当前阶段没有需要您办理的事项。" } }
            @for step in &steps { (crate::web::console::actions::step_form(&file.case, *step, &user, &procedure)) }
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
                @let eval = v.evaluate_under(t, &procedure.policy).unwrap_or_else(|_| yijian_core::checklist::evaluate(t, v.answers()));
                div id="visit-evidence" {
                    p id="visit-place" {
                        span.label { "核查地点" }
                        @match v.location() {
                            Some(VisitPlace::Fixed { point, fixed_at }) => {
                                (format!("北纬{:.5}°，东经{:.5}°", point.lat(), point.lng()))
                                "，精度约" (point.accuracy_m().round() as i64) "米，定位于" (beijing(*fixed_at))
                                @if let Some(d) = file.evidence.as_ref().and_then(|e| e.distance_to_village_m) {
                                    span.muted { "（距本村其他" (file.evidence.as_ref().map(|e| e.compared_with).unwrap_or(0)) "次核查地点的中心约" (format!("{:.1}", d / 1000.0)) "公里）" }
                                }
                            }
                            Some(VisitPlace::Unavailable { reason, noted_at }) => { "未定位：" (reason.name_zh()) "（" (beijing(*noted_at)) "）" }
                            None => { "未记录" }
                        }
                    }
                    p id="visit-present" {
                        span.label { "在场人员" }
                        @if v.present().is_empty() { "未记录" }
                        @else { (v.present().iter().map(|a| a.describe_zh()).collect::<Vec<_>>().join("、")) }
                    }
                    @if let Some(e) = &file.evidence {
                        @if !e.warnings.is_empty() {
                            ul.warnings id="evidence-warnings" {
                                @for w in &e.warnings { li.bad data-code=(w.code()) { (w.message_zh()) } }
                            }
                        }
                    }
                }
                @if let Some(inc) = &eval.income {
                    p id="income" { "家庭年人均纯收入 " strong { (inc.per_person_yuan) "元" } "，扣除刚性支出后 " (inc.per_person_after_rigid_yuan) "元，" (inc.line_zh()) "（" (if matches!(inc.line_status, yijian_core::checklist::LineStatus::Below) { "低于监测线" } else { "不低于监测线" }) "）；饮水安全：" (match eval.water { yijian_core::checklist::WaterSafety::Safe => "安全", yijian_core::checklist::WaterSafety::Unsafe => "不安全", yijian_core::checklist::WaterSafety::Unknown => "待核" }) }
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
                @if let Some(on) = a.explained_to_household_on { p id="appeal-explained" { "已于" (on) "上门解疑释惑" } }
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
    CaseStaff(user): CaseStaff,
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
