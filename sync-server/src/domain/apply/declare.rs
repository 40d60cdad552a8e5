//! `declare`: a case filed by staff (proxy filing, a worker's discovery, a department's
//! warning, the green channel), with its receipt number.

use crate::domain::cases::save_case;
use crate::store::tx::RecordTx;
use yijian_core::case::{Case, CaseEventKind, CaseSource, Declaration};
use yijian_core::division::{DivisionCode, Level};
use yijian_core::protocol::kinds;
use yijian_core::regions::Regions;
use yijian_core::role::Role;
use yijian_core::validation::{MobileNumber, ResidentIdNumber};

use super::*;

/// `county(6)-township(3)-village(3)-sequence(4+)`, e.g. `621102-105-201-0007`.
pub fn receipt_number(village: &DivisionCode, seq: i64) -> String {
    let c = village.as_str();
    format!("{}-{}-{}-{seq:04}", &c[..6], &c[6..9], &c[9..])
}

pub(super) fn declare(
    tx: &mut dyn RecordTx,
    ctx: &Ctx<'_>,
    auth: &Authorized,
    d: &Declaration,
) -> Result<(), Fail> {
    let staff = auth.staff.clone();
    match d.source {
        CaseSource::SelfDeclaredQr => {
            return refuse(
                "wrong_source",
                "群众自主申报只能通过扫码申报页提交",
                "self-declarations come only through the public form",
            );
        }
        CaseSource::DepartmentAlert => ctx.require_role(
            &staff,
            &[Role::DepartmentLiaison, Role::County],
            "提交部门预警",
        )?,
        CaseSource::ProxyFiled | CaseSource::WorkerDiscovery | CaseSource::GreenChannel => ctx
            .require_role(
                &staff,
                &[Role::VillageWorker, Role::Township, Role::County],
                "代为申报或登记线索",
            )?,
    }
    if d.village.level() != Level::Village || Regions::gansu().get(&d.village).is_none() {
        return refuse(
            "unknown_village",
            format!("村代码“{}”不存在", d.village),
            format!("unknown village {}", d.village),
        );
    }
    if d.applicant.name.trim().is_empty() {
        return refuse("invalid", "请填写申请人姓名", "applicant name is empty");
    }
    if let Err(e) = ResidentIdNumber::parse(&d.applicant.id_number, ctx.settings.today) {
        return refuse("invalid", e.to_string(), "invalid resident ID number");
    }
    if let Some(phone) = &d.applicant.phone
        && let Err(e) = MobileNumber::parse(phone)
    {
        return refuse("invalid", e.to_string(), "invalid mobile number");
    }
    if d.source == CaseSource::ProxyFiled {
        match &d.proxy {
            None => {
                return refuse(
                    "missing_evidence",
                    "代申报须记录代填人、与申请人关系和申请人确认（手印或签字照片）",
                    "a proxy filing needs the filler and the applicant's confirmation",
                );
            }
            Some(p) => {
                if let Err(e) = p.validate() {
                    return refuse("missing_evidence", e.to_string(), "invalid proxy filing");
                }
            }
        }
    }
    let id = d.case_id.to_string();
    if tx.get(kinds::CASE, &id)?.is_some() {
        return refuse(
            "already_exists",
            "该案件编号已存在",
            "a case with this id already exists",
        );
    }
    let mut case = Case::declared(d.clone());
    let seq = tx.next_receipt(d.village.as_str())?;
    case.receipt_no = Some(receipt_number(&d.village, seq));
    save_case(
        tx,
        &mut case,
        &ctx.case_write(&d.village, Some((CaseEventKind::Declared, None))),
    )?;
    ctx.audit(
        tx,
        "declare",
        kinds::CASE,
        &id,
        &d.village,
        serde_json::json!({"source": d.source, "receipt_no": case.receipt_no}),
    )
}
