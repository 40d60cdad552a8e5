//! Who may open a console page, as extractors: a handler that takes [`Admin`] runs only for an
//! administrator, [`ProvinceAdmin`] only for the province's administrators (the holiday
//! calendar and the deadline rules are the whole province's), and [`InScope`] only for a
//! division within the user's own scope. The refusal page is made here, once, before the
//! handler runs; handlers do not repeat the check.

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use yijian_core::division::{DivisionCode, Level};
use yijian_core::role::Role;

use super::session::{ConsoleUser, NotSignedIn};
use super::{Nav, out_of_scope, page, shell};
use crate::AppState;

/// Why a page is not shown: not signed in (to the login page) or not for this user.
#[derive(Debug)]
pub enum Refused {
    NotSignedIn(NotSignedIn),
    Forbidden(Box<Response>),
}

impl IntoResponse for Refused {
    fn into_response(self) -> Response {
        match self {
            Refused::NotSignedIn(n) => n.into_response(),
            Refused::Forbidden(r) => *r,
        }
    }
}

fn forbidden(user: &ConsoleUser, text: &str) -> Refused {
    Refused::Forbidden(Box::new(page(
        StatusCode::FORBIDDEN,
        shell(
            user,
            Nav::Dashboard,
            "无权访问",
            None,
            html! {
                h1 { "无权访问" }
                p.alert id="forbidden" { (text) }
            },
        ),
    )))
}

async fn signed_in(parts: &mut Parts, state: &AppState) -> Result<ConsoleUser, Refused> {
    ConsoleUser::from_request_parts(parts, state)
        .await
        .map_err(Refused::NotSignedIn)
}

/// A signed-in administrator; what they manage is limited to their scope by each page.
#[derive(Debug, Clone)]
pub struct Admin(pub ConsoleUser);

impl FromRequestParts<AppState> for Admin {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let user = signed_in(parts, state).await?;
        if user.role() == Role::Admin {
            Ok(Admin(user))
        } else {
            Err(forbidden(&user, "系统管理仅限系统管理员使用。"))
        }
    }
}

/// An administrator of the whole province: what applies province-wide (the holiday calendar,
/// the deadline rules) is theirs alone.
#[derive(Debug, Clone)]
pub struct ProvinceAdmin(pub ConsoleUser);

impl FromRequestParts<AppState> for ProvinceAdmin {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let Admin(user) = Admin::from_request_parts(parts, state).await?;
        if user.scope().level() == Level::Province {
            Ok(ProvinceAdmin(user))
        } else {
            Err(forbidden(
                &user,
                "节假日日历和办理期限适用于全省，只有省级系统管理员可以修改。",
            ))
        }
    }
}

#[derive(Debug, Deserialize)]
struct ScopeQuery {
    scope: Option<String>,
}

/// A signed-in user and the division a page is about: `?scope=` when given (it must be within
/// the user's own scope), else the user's scope.
#[derive(Debug, Clone)]
pub struct InScope(pub ConsoleUser, pub DivisionCode);

impl FromRequestParts<AppState> for InScope {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let user = signed_in(parts, state).await?;
        let asked = axum::extract::Query::<ScopeQuery>::from_request_parts(parts, state)
            .await
            .ok()
            .and_then(|q| q.0.scope)
            .filter(|s| !s.is_empty());
        let Some(asked) = asked else {
            let scope = user.scope().clone();
            return Ok(InScope(user, scope));
        };
        match DivisionCode::parse(&asked) {
            Ok(code) if user.covers(&code) => Ok(InScope(user, code)),
            Ok(_) => Err(Refused::Forbidden(Box::new(out_of_scope(&user)))),
            Err(_) => Err(Refused::Forbidden(Box::new(page(
                StatusCode::BAD_REQUEST,
                shell(
                    &user,
                    Nav::Dashboard,
                    "参数错误",
                    None,
                    html! { p.alert { "区划代码“" (asked) "”不正确。" } },
                ),
            )))),
        }
    }
}

/// A signed-in user who works on cases (the five levels of the chain): the only ones shown
/// case files, lists of cases and photos. An administrator manages accounts and a
/// department liaison sends warnings; neither reads a household's file.
#[derive(Debug, Clone)]
pub struct CaseStaff(pub ConsoleUser);

fn reads_case_files(user: &ConsoleUser) -> Result<(), Refused> {
    if user.role().reads_case_files() {
        Ok(())
    } else {
        Err(forbidden(
            user,
            "案件和农户档案只向办理案件的工作人员显示。",
        ))
    }
}

impl FromRequestParts<AppState> for CaseStaff {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let user = signed_in(parts, state).await?;
        reads_case_files(&user)?;
        Ok(CaseStaff(user))
    }
}

/// [`InScope`] for a user who works on cases ([`CaseStaff`]): the case lists of a division.
#[derive(Debug, Clone)]
pub struct CasesInScope(pub ConsoleUser, pub DivisionCode);

impl FromRequestParts<AppState> for CasesInScope {
    type Rejection = Refused;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Refused> {
        let InScope(user, scope) = InScope::from_request_parts(parts, state).await?;
        reads_case_files(&user)?;
        Ok(CasesInScope(user, scope))
    }
}
