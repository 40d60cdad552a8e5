//! Who is acting: roles, their level, and the scope they may touch.
//!
//! Every workflow step and every sync command is checked against an [`Actor`]: a role that
//! belongs to one administrative level, plus the division code of the unit the person works
//! for. The resident who declares by QR code has no account and acts as [`Actor::Resident`].

use serde::{Deserialize, Serialize};

use crate::division::{DivisionCode, Level};

/// A user's role. Each role works at exactly one level (except the department liaison, who is
/// attached to a county or city department, and the administrator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// 村级网格员 / 防贫监测信息员, also the resident cadre (驻村干部) filing for villagers.
    VillageWorker,
    /// 乡镇 staff: accept, review (复核), forward.
    Township,
    /// 县级乡村振兴部门: approve or reject.
    County,
    /// 市级: oversight; decides appeals against a county's rejection.
    City,
    /// 省级: oversight; decides appeals against a city's decision.
    Province,
    /// 行业部门信息联络员: pushes risk leads from a department's data.
    DepartmentLiaison,
    /// System administrator: users, devices, calendar and rules; takes no case decisions.
    Admin,
}

impl Role {
    /// The level whose scope code this role's users carry. `None`: any level.
    pub const fn level(self) -> Option<Level> {
        match self {
            Role::VillageWorker => Some(Level::Village),
            Role::Township => Some(Level::Township),
            Role::County => Some(Level::County),
            Role::City => Some(Level::City),
            Role::Province => Some(Level::Province),
            Role::DepartmentLiaison | Role::Admin => None,
        }
    }

    /// The role that acts at `level` in the five-level chain.
    pub const fn for_level(level: Level) -> Role {
        match level {
            Level::Province => Role::Province,
            Level::City => Role::City,
            Level::County => Role::County,
            Level::Township => Role::Township,
            Level::Village => Role::VillageWorker,
        }
    }

    /// Whether the role works on cases, and so may read what a household's file holds
    /// (names, ID numbers, photos): the five levels of the chain. An administrator manages
    /// accounts and a department liaison sends warnings; neither reads case files.
    pub const fn reads_case_files(self) -> bool {
        self.level().is_some()
    }

    pub const fn name_zh(self) -> &'static str {
        match self {
            Role::VillageWorker => "村级网格员",
            Role::Township => "乡镇审核人员",
            Role::County => "县级审批人员",
            Role::City => "市级人员",
            Role::Province => "省级人员",
            Role::DepartmentLiaison => "行业部门联络员",
            Role::Admin => "系统管理员",
        }
    }

    pub const ALL: [Role; 7] = [
        Role::VillageWorker,
        Role::Township,
        Role::County,
        Role::City,
        Role::Province,
        Role::DepartmentLiaison,
        Role::Admin,
    ];
}

/// Why a user record's role and scope do not fit together.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{role}的管辖范围应为{expected}级区划，“{scope}”是{actual}级", role = .role.name_zh(), expected = .expected.name_zh(), actual = .actual.name_zh())]
pub struct ScopeLevelMismatch {
    pub role: Role,
    pub scope: DivisionCode,
    pub expected: Level,
    pub actual: Level,
}

/// A signed-in user as the rules see them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Staff {
    pub role: Role,
    pub scope: DivisionCode,
}

impl Staff {
    /// A staff member whose scope matches the role's level.
    pub fn new(role: Role, scope: DivisionCode) -> Result<Staff, ScopeLevelMismatch> {
        if let Some(expected) = role.level()
            && scope.level() != expected
        {
            return Err(ScopeLevelMismatch {
                role,
                actual: scope.level(),
                scope,
                expected,
            });
        }
        Ok(Staff { role, scope })
    }

    /// Whether this person may see or act on something located in `division`.
    pub fn covers(&self, division: &DivisionCode) -> bool {
        division.is_within(&self.scope)
    }
}

/// Whoever takes a step.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Actor {
    /// A resident without an account (the public declaration form, the status page).
    Resident,
    /// A signed-in user.
    Staff(Staff),
    /// The server itself (deadline jobs, escalations).
    System,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(s: &str) -> DivisionCode {
        DivisionCode::parse(s).expect("valid")
    }

    #[test]
    fn scope_must_match_level() {
        assert!(Staff::new(Role::Township, code("621102105")).is_ok());
        let e = Staff::new(Role::Township, code("6211")).expect_err("wrong level");
        assert_eq!(
            e.to_string(),
            "乡镇审核人员的管辖范围应为乡镇级区划，“6211”是市级"
        );
        assert!(Staff::new(Role::Admin, code("62")).is_ok());
        assert!(Staff::new(Role::DepartmentLiaison, code("621102")).is_ok());
    }

    #[test]
    fn covers_below_only() {
        let t = Staff::new(Role::Township, code("621102105")).expect("valid");
        assert!(t.covers(&code("621102105201")));
        assert!(!t.covers(&code("621102106201")));
        assert!(!t.covers(&code("621102")));
    }

    #[test]
    fn every_role_has_a_level_mapping_back() {
        for level in Level::ALL {
            assert_eq!(Role::for_level(level).level(), Some(level));
        }
    }
}
