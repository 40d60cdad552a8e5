//! What happens around and after identification: the one-household-one-plan (一户一策) and its
//! measures, return visits (回访), appeals (申诉), photo metadata, departments' risk alerts
//! (部门预警) and the record of a proxy filing (代申报).
//!
//! Money is always an integer number of fen (分); a yuan amount from a department's data is
//! converted once at the edge.

use chrono::NaiveDate;

use crate::division::Level;
use crate::ids::MeasureId;

mod alert;
mod alert_rules;
mod appeal;
mod follow_up;
mod photo;
mod plan;
mod proxy;
#[cfg(test)]
mod tests;

pub use alert::*;
pub use alert_rules::*;
pub use appeal::*;
pub use follow_up::*;
pub use photo::*;
pub use plan::*;
pub use proxy::*;

/// Fen in one yuan.
pub const FEN_PER_YUAN: i64 = 100;

/// Why a plan, follow-up, appeal, alert or proxy filing is not acceptable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SupportError {
    #[error("一户一策至少要有一项帮扶措施")]
    NoMeasures,
    #[error("帮扶措施编号重复：{0}")]
    DuplicateMeasure(MeasureId),
    #[error("第{position}项帮扶措施（{kind}）的金额不能为负数")]
    NegativeAmount { position: usize, kind: &'static str },
    #[error("第{position}项帮扶措施是临时救助，须填写救助金额")]
    MissingAmount { position: usize },
    #[error("第{position}项帮扶措施是就业帮扶，月工资不能为负数")]
    NegativeWage { position: usize },
    #[error("第{position}项帮扶措施是就业帮扶，尚未落实工作时不应填写月工资")]
    WageWithoutJob { position: usize },
    #[error("第{position}项帮扶措施（{kind}）须写明具体内容")]
    MissingDetail { position: usize, kind: &'static str },
    #[error("第{position}项帮扶措施须填写责任单位")]
    MissingResponsibleUnit { position: usize },
    #[error("第{position}项帮扶措施须填写责任人")]
    MissingResponsiblePerson { position: usize },
    #[error("回访间隔应至少为1天")]
    ZeroInterval,
    #[error("回访日期超出了可计算的范围")]
    DateOutOfRange,
    #[error("上一次回访尚未完成，不能按完成日期安排下一次")]
    FollowUpNotDone,
    #[error("这次回访已于{0}完成")]
    FollowUpAlreadyDone(NaiveDate),
    #[error("{}级作出的决定没有上一级可以提级办理", .0.name_zh())]
    NoLevelAbove(Level),
    #[error("申诉应由{}级办理，记录的是{}级", .expected.name_zh(), .found.name_zh())]
    WrongAppealLevel { expected: Level, found: Level },
    #[error("申诉理由不能为空")]
    EmptyAppealReason,
    #[error("申诉人姓名不能为空")]
    EmptyAppellantName,
    #[error("申诉已经办结，不能重复作出决定")]
    AppealAlreadyDecided,
    #[error("申诉处理意见不能为空")]
    EmptyDecisionReason,
    #[error("申诉的处理时间不能早于申诉时间")]
    DecisionBeforeFiling,
    #[error("申诉尚未作出决定，不能登记入户解释")]
    ExplainedBeforeDecision,
    #[error("预警对象姓名不能为空")]
    EmptySubjectName,
    #[error("医疗自付金额不能为负数")]
    NegativeOutOfPocket,
    #[error("预警说明不能为空")]
    EmptyAlertText,
    #[error("代申报填写后须向申请人逐项读回核对，并经申请人确认")]
    NotReadBack,
    #[error("代申报须上传申请人按手印或签字确认的照片")]
    MissingConfirmationPhoto,
    #[error("代申报须填写代填人姓名")]
    EmptyFillerName,
    #[error("代申报须填写代填人与申请人的关系")]
    EmptyFillerRelation,
    #[error("照片的{0}不能为0")]
    EmptyPhoto(&'static str),
    #[error("照片所属核查项不能为空")]
    EmptyItemKey,
}
