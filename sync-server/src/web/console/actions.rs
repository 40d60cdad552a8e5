//! The console's actions: a form for each workflow step the user may take on a case, and the
//! handler that turns a submitted form into the same commands a phone pushes.
//!
//! A step taken in the console goes through [`crate::domain::apply`] exactly like one pushed from the
//! app: as the signed-in user, from the console's session (its own device row, so the audit
//! trail names it), checked against role, scope, stage and evidence. Evidence photos (the
//! minutes of the democratic review, the public notice) are uploaded with the form, stored as
//! blobs and recorded before the step that names them, in the same push.

use axum::extract::{Multipart, Path, State};
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{NaiveDate, Utc};
use maud::{Markup, html};
use sha2::{Digest, Sha256};
use yijian_core::case::{Case, MonitoringCategory};
use yijian_core::hlc::HlcClock;
use yijian_core::ids::{AppealId, CommandId, MeasureId, PhotoId, PlanId};
use yijian_core::protocol::{Command, CommandBody, Outcome, Wire};
use yijian_core::support::{
    AllowanceTier, Measure, MeasureKind, PhotoMeta, PhotoMime, PhotoOwner, Plan, Sha256Hex,
};
use yijian_core::workflow::{NoticeMethod, Step, StepKind};

use super::authz::CaseStaff;
use super::session::{ConsoleUser, urlencode};
use crate::AppState;
use crate::blobstore::ChunkSpan;
use crate::domain::procedure::Procedure;
use crate::error::ApiError;

/// Largest photo accepted from a console form.
const MAX_UPLOAD: usize = 10 * 1024 * 1024;

/// Rows of measures the plan form offers.
const PLAN_ROWS: usize = 3;

fn kind_key(k: StepKind) -> String {
    yijian_core::codec::enum_text(&k).unwrap_or_default()
}

/// Steps taken on a phone at the household (they need a visit made there).
fn needs_the_app(k: StepKind) -> bool {
    matches!(
        k,
        StepKind::StartVerification
            | StepKind::RecordVerification
            | StepKind::RecordFollowUp
            | StepKind::ProposeRiskElimination
    )
}

const MEASURES: [(&str, &str); 10] = [
    ("medical_assistance", "医疗救助"),
    ("temporary_assistance", "临时救助"),
    ("subsistence_allowance", "低保"),
    ("employment", "就业帮扶"),
    ("industry", "产业帮扶"),
    ("education_aid", "教育资助"),
    ("housing_renovation", "住房改造"),
    ("drinking_water", "饮水工程"),
    ("insurance", "保险"),
    ("public_welfare_post", "公益岗位"),
];

/// The form for one step.
pub fn step_form(case: &Case, kind: StepKind, user: &ConsoleUser, p: &Procedure) -> Markup {
    let action = format!("/console/cases/{}/step", case.id());
    let today = yijian_core::time::china_date(Utc::now()).to_string();
    if needs_the_app(kind) {
        return html! {
            div.step.app data-step=(kind_key(kind)) {
                h3 { (kind.name_zh()) }
                p.muted { "此事项由村网格员在手机应用中入户办理。" }
            }
        };
    }
    let confirm = match kind {
        StepKind::CountyReject => Some("确定不予纳入？申请人将收到结果并可申诉。"),
        StepKind::Close => Some("确定办结此案件？"),
        StepKind::SwitchToGreenChannel => {
            Some("确定转入绿色通道？转入后可先行帮扶、先制定帮扶计划，认定程序继续办理。")
        }
        StepKind::DecideRiskElimination => Some("确定提交风险消除审定意见？"),
        _ => None,
    };
    let notice_rule = p.rules.public_notice_min_days;
    // The earliest end of a notice posted today, counted by the same rule the step is judged by.
    let notice_example =
        notice_rule.due_date(yijian_core::time::china_date(Utc::now()), &p.calendar);
    html! {
        form.step method="post" action=(action) enctype="multipart/form-data" data-step=(kind_key(kind)) data-confirm=[confirm] {
            h3 { (kind.name_zh()) }
            input type="hidden" name="csrf" value=(user.form_token());
            input type="hidden" name="step" value=(kind_key(kind));
            @match kind {
                StepKind::NotifyNotQualified => {
                    label { "告知日期" input type="date" name="on" value=(today) required; }
                    label { "告知方式" select name="method" { option value="in_person" { "当面告知" } option value="phone" { "电话告知" } option value="sms" { "短信告知" } option value="letter" { "书面告知" } } }
                    label.check { input type="checkbox" name="routine_attention" value="1"; "虽不纳入，但需常态化关注（按期回访）" }
                }
                StepKind::RecordCrossCheck => {
                    label { "比对日期" input type="date" name="on" value=(today) required; }
                    label { "比对结果" textarea name="findings" required placeholder="与民政、医保、教育、住建等部门数据比对的结果" {} }
                    label.check { input type="checkbox" name="discrepancy" value="1"; "发现不一致" }
                }
                StepKind::RecordDemocraticReview => {
                    label { "评议日期" input type="date" name="held_on" value=(today) required; }
                    label { "参会人数" input type="number" name="participants" min="1" required; }
                    label.check { input type="checkbox" name="agreed" value="1" checked; "评议同意" }
                    label { "评议意见（不同意时必填，将告知申请人）" textarea name="opinion" {} }
                    label { "会议记录照片" input type="file" name="photo" accept="image/*" required; }
                }
                StepKind::RecordPublicNotice => {
                    label { "公示开始" input type="date" name="from" required; }
                    label { "公示结束" input type="date" name="to" required; }
                    p.muted id="notice-rule" { "公示自张贴次日起算不少于" (notice_rule.amount) (notice_rule.unit.name_zh()) "（如今天张贴，最早" (notice_example) "结束），结束后才能登记。" }
                    label { "公示照片" input type="file" name="photo" accept="image/*" required; }
                    label { "收到异议（件）" input type="number" name="objections" min="0" value="0"; }
                    label.check { input type="checkbox" name="objections_resolved" value="1" checked; "异议已处理" }
                }
                StepKind::TownshipReview | StepKind::ReviewRiskElimination => {
                    label.check { input type="radio" name="agree" value="1" checked; "同意，报县审批" }
                    label.check { input type="radio" name="agree" value="0"; "退回重新核查" }
                    label { "复核意见" textarea name="opinion" {} }
                }
                StepKind::CountyApprove => {
                    label { "监测对象类型" select name="category" {
                        option value="unstable_formerly_poor" { (MonitoringCategory::UnstableFormerlyPoor.name_zh()) }
                        option value="marginal_at_risk" selected[case.state.category == Some(MonitoringCategory::MarginalAtRisk)] { (MonitoringCategory::MarginalAtRisk.name_zh()) }
                        option value="sudden_severe_hardship" selected[case.state.category == Some(MonitoringCategory::SuddenSevereHardship)] { (MonitoringCategory::SuddenSevereHardship.name_zh()) }
                    } }
                }
                StepKind::CountyReject => {
                    label { "不予纳入的理由（将告知申请人）" textarea name="reason" required {} }
                }
                StepKind::FileAppeal => {
                    label { "申诉理由（代申请人提出）" textarea name="reason" required {} }
                }
                StepKind::DecideAppeal => {
                    label.check { input type="radio" name="upheld" value="1"; "申诉成立，纳入监测" }
                    label.check { input type="radio" name="upheld" value="0" checked; "维持原决定" }
                    label { "申诉成立时纳入的监测对象类型" select name="category" {
                        option value="" { "按核查结论" }
                        option value="unstable_formerly_poor" { (MonitoringCategory::UnstableFormerlyPoor.name_zh()) }
                        option value="marginal_at_risk" { (MonitoringCategory::MarginalAtRisk.name_zh()) }
                        option value="sudden_severe_hardship" { (MonitoringCategory::SuddenSevereHardship.name_zh()) }
                    } }
                    label { "决定理由" textarea name="reason" required {} }
                }
                StepKind::MakePlan => {
                    p.muted { "至少填写一项帮扶措施。" }
                    table.data.plan {
                        tr { th { "措施" } th { "内容" } th { "金额（元）" } th { "责任单位" } th { "责任人" } th { "期限" } th { "已落实日期" } }
                        @for i in 0..PLAN_ROWS {
                            tr {
                                td { select name={"m" (i) "_kind"} { option value="" { "—" } @for (v, l) in MEASURES { option value=(v) { (l) } } } }
                                td { input type="text" name={"m" (i) "_description"}; }
                                td { input type="number" name={"m" (i) "_amount"} min="0" step="0.01"; }
                                td { input type="text" name={"m" (i) "_unit"}; }
                                td { input type="text" name={"m" (i) "_person"}; }
                                td { input type="date" name={"m" (i) "_due"}; }
                                td { input type="date" name={"m" (i) "_done"}; }
                            }
                        }
                    }
                }
                StepKind::RecordAppealExplanation => {
                    label { "上门解释日期" input type="date" name="on" value=(today) required; }
                }
                StepKind::SwitchToGreenChannel => {
                    label { "转入绿色通道的理由" textarea name="reason" required placeholder="如：户主突发重病，急需先行救助" {} }
                }
                StepKind::DecideRiskElimination => {
                    label.check { input type="radio" name="approve" value="1" checked; "同意风险消除" }
                    label.check { input type="radio" name="approve" value="0"; "不同意，继续帮扶" }
                    label { "审定意见" textarea name="reason" {} }
                }
                StepKind::RecordEmergencyAssistance => {
                    label { "帮扶日期" input type="date" name="on" value=(today) required; }
                    label { "帮扶措施" input type="text" name="measure" required placeholder="如：临时救助、医疗救助"; }
                    label { "金额（元）" input type="number" name="amount" min="0" step="0.01"; }
                }
                _ => {}
            }
            button type="submit" { "提交：" (kind.name_zh()) }
        }
    }
}

/// A posted form: its text fields and its photo.
#[derive(Debug, Default)]
struct Posted {
    fields: std::collections::HashMap<String, String>,
    photo: Option<Vec<u8>>,
}

impl Posted {
    fn text(&self, k: &str) -> &str {
        self.fields.get(k).map_or("", |v| v.trim())
    }

    fn date(&self, k: &str, what: &str) -> Result<NaiveDate, String> {
        NaiveDate::parse_from_str(self.text(k), "%Y-%m-%d").map_err(|_| format!("请填写{what}"))
    }

    fn opt_date(&self, k: &str) -> Option<NaiveDate> {
        NaiveDate::parse_from_str(self.text(k), "%Y-%m-%d").ok()
    }

    fn flag(&self, k: &str) -> bool {
        self.text(k) == "1"
    }

    fn fen(&self, k: &str) -> Result<Option<i64>, String> {
        let t = self.text(k);
        if t.is_empty() {
            return Ok(None);
        }
        let yuan: f64 = t.parse().map_err(|_| format!("金额“{t}”不是数字"))?;
        if !(0.0..=1e9).contains(&yuan) {
            return Err(format!("金额“{t}”超出范围"));
        }
        Ok(Some((yuan * 100.0).round() as i64))
    }
}

async fn posted(mut form: Multipart) -> Result<Posted, ApiError> {
    let mut p = Posted::default();
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::bad_request("表单读取失败，请重试", e.to_string()))?
    {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "photo" {
            let bytes = field
                .bytes()
                .await
                .map_err(|e| ApiError::bad_request("照片上传失败，请重试", e.to_string()))?;
            if bytes.len() > MAX_UPLOAD {
                return Err(ApiError::TooLarge {
                    zh: "照片不能超过10MB".into(),
                    en: "photo over 10 MB".into(),
                });
            }
            if !bytes.is_empty() {
                p.photo = Some(bytes.to_vec());
            }
        } else if let Ok(text) = field.text().await {
            p.fields.insert(name, text.chars().take(2000).collect());
        }
    }
    Ok(p)
}

/// Longest side of a stored photo, as the phones store theirs.
const PHOTO_MAX_SIDE: u32 = 1600;

/// An upload as stored: JPEG, at most [`PHOTO_MAX_SIDE`] pixels, without the camera's
/// metadata (a scan's or phone photo's GPS position has no business in the record).
fn normalised_photo(bytes: &[u8]) -> Result<(Vec<u8>, u32, u32), String> {
    let format = image::guess_format(bytes).map_err(|_| "上传的文件不是图片".to_owned())?;
    if !matches!(format, image::ImageFormat::Jpeg | image::ImageFormat::Png) {
        return Err("请上传JPEG或PNG格式的照片".into());
    }
    let img = image::load_from_memory_with_format(bytes, format)
        .map_err(|_| "照片已损坏，无法读取".to_owned())?;
    let img = if img.width().max(img.height()) > PHOTO_MAX_SIDE {
        img.thumbnail(PHOTO_MAX_SIDE, PHOTO_MAX_SIDE)
    } else {
        img
    };
    let rgb = img.to_rgb8();
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&rgb)
        .map_err(|e| format!("照片无法保存：{e}"))?;
    Ok((out, rgb.width(), rgb.height()))
}

/// Store an uploaded photo's bytes and make its metadata command.
async fn stored_photo(
    state: &AppState,
    bytes: &[u8],
    owner: PhotoOwner,
) -> Result<Result<(PhotoId, CommandBody), String>, ApiError> {
    let upload = bytes.to_vec();
    let (bytes, width, height) =
        match tokio::task::spawn_blocking(move || normalised_photo(&upload))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?
        {
            Ok(done) => done,
            Err(why) => return Ok(Err(why)),
        };
    let sha = Sha256Hex::parse(&hex::encode(Sha256::digest(&bytes)))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let len = bytes.len() as u64;
    let span =
        ChunkSpan::new(0, len, len).ok_or_else(|| ApiError::Internal("empty photo".into()))?;
    let mut src: &[u8] = &bytes;
    state.blobs.append(&sha, span, &mut src).await?;
    let id = PhotoId::new();
    let meta = PhotoMeta {
        id,
        sha256: sha,
        bytes: len,
        width,
        height,
        mime: PhotoMime::Jpeg,
        taken_at: None,
        owner,
        thumb_sha256: None,
    };
    Ok(Ok((id, CommandBody::RecordPhoto(meta))))
}

fn measure_kind(key: &str) -> Option<MeasureKind> {
    Some(match key {
        "medical_assistance" => MeasureKind::MedicalAssistance,
        "temporary_assistance" => MeasureKind::TemporaryAssistance,
        "subsistence_allowance" => MeasureKind::SubsistenceAllowance {
            tier: AllowanceTier::ClassTwo,
        },
        "employment" => MeasureKind::Employment {
            job_found: false,
            monthly_wage_fen: None,
        },
        "industry" => MeasureKind::Industry {
            project: String::new(),
        },
        "education_aid" => MeasureKind::EducationAid,
        "housing_renovation" => MeasureKind::HousingRenovation,
        "drinking_water" => MeasureKind::DrinkingWater,
        "insurance" => MeasureKind::Insurance,
        "public_welfare_post" => MeasureKind::PublicWelfarePost,
        _ => return None,
    })
}

/// The commands a posted step form stands for, or what is wrong with it.
async fn commands_for(
    state: &AppState,
    user: &ConsoleUser,
    case: &Case,
    kind: StepKind,
    f: &Posted,
) -> Result<Result<Vec<CommandBody>, String>, ApiError> {
    let case_id = case.id();
    let mut out = Vec::new();
    let photo_for = |owner: PhotoOwner| async move {
        match &f.photo {
            Some(bytes) => stored_photo(state, bytes, owner).await,
            None => Ok(Err("请选择要上传的照片".to_owned())),
        }
    };
    let step = match kind {
        StepKind::Accept => Step::Accept,
        StepKind::NotifyNotQualified => {
            let on = match f.date("on", "告知日期") {
                Ok(d) => d,
                Err(e) => return Ok(Err(e)),
            };
            let method = match f.text("method") {
                "phone" => NoticeMethod::Phone,
                "sms" => NoticeMethod::Sms,
                "letter" => NoticeMethod::Letter,
                _ => NoticeMethod::InPerson,
            };
            Step::NotifyNotQualified {
                on,
                method,
                routine_attention: f.flag("routine_attention"),
            }
        }
        StepKind::RecordCrossCheck => match f.date("on", "比对日期") {
            Ok(on) => Step::RecordCrossCheck {
                on,
                findings: f.text("findings").to_owned(),
                discrepancy: f.flag("discrepancy"),
            },
            Err(e) => return Ok(Err(e)),
        },
        StepKind::RecordDemocraticReview => {
            let held_on = match f.date("held_on", "评议日期") {
                Ok(d) => d,
                Err(e) => return Ok(Err(e)),
            };
            let participants: u32 = f.text("participants").parse().unwrap_or(0);
            let (photo, cmd) = match photo_for(PhotoOwner::PublicNotice { case_id }).await? {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            out.push(cmd);
            Step::RecordDemocraticReview {
                held_on,
                participants,
                agreed: f.flag("agreed"),
                minutes_photo: Some(photo),
                opinion: f.text("opinion").trim().to_owned(),
            }
        }
        StepKind::RecordPublicNotice => {
            let (from, to) = match (f.date("from", "公示开始日期"), f.date("to", "公示结束日期"))
            {
                (Ok(a), Ok(b)) => (a, b),
                (Err(e), _) | (_, Err(e)) => return Ok(Err(e)),
            };
            let (photo, cmd) = match photo_for(PhotoOwner::PublicNotice { case_id }).await? {
                Ok(p) => p,
                Err(e) => return Ok(Err(e)),
            };
            out.push(cmd);
            Step::RecordPublicNotice {
                from,
                to,
                photo: Some(photo),
                objections: f.text("objections").parse().unwrap_or(0),
                objections_resolved: f.flag("objections_resolved"),
            }
        }
        StepKind::TownshipReview => Step::TownshipReview {
            agree: f.flag("agree"),
            opinion: f.text("opinion").to_owned(),
        },
        StepKind::ReviewRiskElimination => Step::ReviewRiskElimination {
            agree: f.flag("agree"),
            opinion: f.text("opinion").to_owned(),
        },
        StepKind::CountyApprove => Step::CountyApprove {
            category: match f.text("category") {
                "unstable_formerly_poor" => MonitoringCategory::UnstableFormerlyPoor,
                "sudden_severe_hardship" => MonitoringCategory::SuddenSevereHardship,
                _ => MonitoringCategory::MarginalAtRisk,
            },
        },
        StepKind::CountyReject => Step::CountyReject {
            reason: f.text("reason").to_owned(),
        },
        StepKind::FileAppeal => Step::FileAppeal {
            appeal_id: AppealId::new(),
            reason: f.text("reason").to_owned(),
        },
        StepKind::DecideAppeal => Step::DecideAppeal {
            upheld: f.flag("upheld"),
            reason: f.text("reason").to_owned(),
            category: yijian_core::codec::enum_parse::<MonitoringCategory>(f.text("category")).ok(),
        },
        StepKind::DecideRiskElimination => Step::DecideRiskElimination {
            approve: f.flag("approve"),
            reason: f.text("reason").to_owned(),
        },
        StepKind::RecordEmergencyAssistance => {
            let on = match f.date("on", "帮扶日期") {
                Ok(d) => d,
                Err(e) => return Ok(Err(e)),
            };
            let amount_fen = match f.fen("amount") {
                Ok(a) => a,
                Err(e) => return Ok(Err(e)),
            };
            Step::RecordEmergencyAssistance {
                on,
                measure: f.text("measure").to_owned(),
                amount_fen,
            }
        }
        StepKind::MakePlan => {
            let Some(household_id) = case.declaration.household_id else {
                return Ok(Err("该案件尚未关联农户档案，不能制定帮扶计划".into()));
            };
            let mut measures = Vec::new();
            for i in 0..PLAN_ROWS {
                let Some(kind) = measure_kind(f.text(&format!("m{i}_kind"))) else {
                    continue;
                };
                let description = f.text(&format!("m{i}_description")).to_owned();
                let kind = match kind {
                    MeasureKind::Industry { .. } => MeasureKind::Industry {
                        project: description.clone(),
                    },
                    other => other,
                };
                let amount_fen = match f.fen(&format!("m{i}_amount")) {
                    Ok(a) => a,
                    Err(e) => return Ok(Err(e)),
                };
                measures.push(Measure {
                    id: MeasureId::new(),
                    kind,
                    description,
                    amount_fen,
                    responsible_unit: f.text(&format!("m{i}_unit")).to_owned(),
                    responsible_person: f.text(&format!("m{i}_person")).to_owned(),
                    due_on: f.opt_date(&format!("m{i}_due")),
                    done_on: f.opt_date(&format!("m{i}_done")),
                });
            }
            let plan = Plan {
                id: PlanId::new(),
                case_id,
                household_id,
                made_on: yijian_core::time::china_date(Utc::now()),
                made_by: user.user().id,
                measures,
            };
            if let Err(e) = plan.validate() {
                return Ok(Err(e.to_string()));
            }
            let step = Step::MakePlan {
                plan_id: plan.id,
                measures: u32::try_from(plan.measures.len()).unwrap_or(u32::MAX),
            };
            out.push(CommandBody::SavePlan(plan));
            step
        }
        StepKind::RecordAppealExplanation => match f.date("on", "上门解释日期") {
            Ok(on) => Step::RecordAppealExplanation { on },
            Err(e) => return Ok(Err(e)),
        },
        StepKind::SwitchToGreenChannel => Step::SwitchToGreenChannel {
            reason: f.text("reason").trim().to_owned(),
        },
        StepKind::Close => Step::Close,
        other => return Ok(Err(format!("“{}”请在手机应用中办理", other.name_zh()))),
    };
    out.push(CommandBody::CaseStep { case_id, step });
    Ok(Ok(out))
}

/// `POST /console/cases/{id}/step`: take a step; back to the case page with the outcome.
pub async fn step(
    State(state): State<AppState>,
    CaseStaff(user): CaseStaff,
    Path(id): Path<String>,
    form: Multipart,
) -> Result<Response, ApiError> {
    let f = posted(form).await?;
    user.check_form(f.text("csrf"))?;
    let back = |ok: bool, text: &str| {
        Redirect::to(&format!(
            "/console/cases/{id}?{}={}",
            if ok { "ok" } else { "err" },
            urlencode(text)
        ))
        .into_response()
    };
    // A case that does not exist is answered like one outside the user's scope.
    let Some(rec) = state.storage.record("case", &id).await? else {
        return Err(ApiError::Forbidden("case outside the user's scope"));
    };
    let Some(body) = rec.body else {
        return Err(ApiError::Forbidden("case outside the user's scope"));
    };
    let case: Case = serde_json::from_str(&body).map_err(|e| ApiError::Internal(e.to_string()))?;
    let village = yijian_core::division::DivisionCode::parse(&rec.village)
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    if !user.covers(&village) {
        return Err(ApiError::Forbidden("case outside the user's scope"));
    }
    let Ok(kind) = yijian_core::codec::enum_parse::<StepKind>(f.text("step")) else {
        return Ok(back(false, "未知的办理事项"));
    };
    let bodies = match commands_for(&state, &user, &case, kind, &f).await? {
        Ok(b) => b,
        Err(message) => return Ok(back(false, &message)),
    };
    let now = Utc::now();
    let mut clock = HlcClock::new(1);
    let commands: Vec<Command> = bodies
        .into_iter()
        .map(|b| Command {
            id: CommandId::new(),
            hlc: clock.tick(u64::try_from(now.timestamp_millis()).unwrap_or(0)),
            body: Wire::Known(b),
        })
        .collect();
    let results =
        crate::domain::apply::push_in_force(&*state.storage, &user.session, commands, now, false)
            .await?;
    let refused = results.iter().find_map(|r| match &r.outcome {
        Wire::Known(Outcome::Refused { message_zh, .. }) => Some(message_zh.clone()),
        _ => None,
    });
    Ok(match refused {
        Some(why) => back(false, &format!("未能办理：{why}")),
        None => back(true, &format!("已办理：{}", kind.name_zh())),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uploads_become_bounded_jpegs_without_metadata() {
        let big = image::RgbImage::from_pixel(3200, 1000, image::Rgb([200, 30, 30]));
        let mut png = Vec::new();
        image::DynamicImage::ImageRgb8(big)
            .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .expect("png");
        let (jpeg, w, h) = normalised_photo(&png).expect("normalised");
        assert_eq!((w, h), (1600, 500));
        assert_eq!(
            image::guess_format(&jpeg).expect("format"),
            image::ImageFormat::Jpeg
        );
        assert!(!jpeg.windows(4).any(|w| w == b"Exif"), "no EXIF block");
        assert_eq!(
            normalised_photo(b"not a picture").expect_err("not an image"),
            "上传的文件不是图片"
        );
    }
}
