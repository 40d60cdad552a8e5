//! The demonstration's places and staff: two townships of 安定区 and a village of 通渭县, and
//! an account of every role and level.

use yijian_core::division::{DivisionCode, Level};
use yijian_core::regions::Regions;
use yijian_core::role::Role;
use yijian_core::validation::id_check_char;

use super::*;

/// The places the demonstration happens in.
pub(super) struct Places {
    pub(super) nanchuan: DivisionCode,
    pub(super) ziyun: DivisionCode,
    pub(super) neiguan: DivisionCode,
    pub(super) tongwei: DivisionCode,
}

pub(super) fn code(s: &str) -> Result<DivisionCode, DemoError> {
    DivisionCode::parse(s).map_err(|e| DemoError::Invalid(format!("{s}: {e}")))
}

impl Places {
    /// The village a script names by key.
    pub(super) fn by_key(&self, key: &str) -> Option<DivisionCode> {
        match key {
            "nanchuan" => Some(self.nanchuan.clone()),
            "ziyun" => Some(self.ziyun.clone()),
            "neiguan" => Some(self.neiguan.clone()),
            "tongwei" => Some(self.tongwei.clone()),
            _ => None,
        }
    }

    pub(super) fn new() -> Result<Places, DemoError> {
        let first_village = |scope: &str| -> Result<DivisionCode, DemoError> {
            Regions::gansu()
                .villages_in(&code(scope)?)
                .find(|r| r.name.ends_with("村民委员会"))
                .map(|r| r.code.clone())
                .ok_or_else(|| DemoError::Invalid(format!("no village in {scope}")))
        };
        Ok(Places {
            nanchuan: code("621102105201")?,
            ziyun: code("621102105202")?,
            neiguan: code("621102102201")?,
            tongwei: first_village("621121")?,
        })
    }
}

/// Who does what in the demonstration (login, name, role, scope).
pub(super) fn staff_list(
    p: &Places,
) -> Result<Vec<(&'static str, &'static str, Role, DivisionCode)>, DemoError> {
    let up = |c: &DivisionCode, l: Level| {
        c.at_level(l)
            .ok_or_else(|| DemoError::Invalid(format!("{c} has no {l:?}")))
    };
    Ok(vec![
        ("13800000000", "系统管理员", Role::Admin, code("62")?),
        (
            "13800000001",
            "李建华",
            Role::VillageWorker,
            p.nanchuan.clone(),
        ),
        (
            "13800000002",
            "马晓燕",
            Role::VillageWorker,
            p.ziyun.clone(),
        ),
        (
            "13800000003",
            "王志强",
            Role::VillageWorker,
            p.neiguan.clone(),
        ),
        (
            "13800000004",
            "何军",
            Role::VillageWorker,
            p.tongwei.clone(),
        ),
        (
            "13800000011",
            "陈国平",
            Role::Township,
            up(&p.nanchuan, Level::Township)?,
        ),
        (
            "13800000012",
            "杨丽",
            Role::Township,
            up(&p.neiguan, Level::Township)?,
        ),
        (
            "13800000013",
            "赵磊",
            Role::Township,
            up(&p.tongwei, Level::Township)?,
        ),
        (
            "13800000021",
            "张文斌",
            Role::County,
            up(&p.nanchuan, Level::County)?,
        ),
        (
            "13800000022",
            "刘海",
            Role::County,
            up(&p.tongwei, Level::County)?,
        ),
        (
            "13800000031",
            "赵明",
            Role::City,
            up(&p.nanchuan, Level::City)?,
        ),
        ("13800000041", "孙立新", Role::Province, code("62")?),
        // The county's liaisons of the three departments whose lists the demo imports.
        (
            "13800000051",
            "医保局联络员",
            Role::DepartmentLiaison,
            up(&p.nanchuan, Level::County)?,
        ),
        (
            "13800000052",
            "住建局联络员",
            Role::DepartmentLiaison,
            up(&p.nanchuan, Level::County)?,
        ),
        (
            "13800000053",
            "教育局联络员",
            Role::DepartmentLiaison,
            up(&p.nanchuan, Level::County)?,
        ),
    ])
}

/// An invented resident ID number: region, birth date, sequence, check digit.
pub(super) fn id_number(region: &str, birth: &str, seq: u32) -> Result<String, DemoError> {
    let body = format!("{region}{birth}{seq:03}");
    let check = id_check_char(&body)
        .ok_or_else(|| DemoError::Invalid(format!("no check digit for {body}")))?;
    Ok(format!("{body}{check}"))
}
