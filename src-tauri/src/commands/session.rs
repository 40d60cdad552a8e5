//! First run, PIN and lock.

use serde::Serialize;
use tauri::State;
use yijian_client::store::Account;
use yijian_core::qrcodes::DeviceSetup;

use crate::error::{CommandError, ErrorKind};
use crate::state::App;

/// Which screen the app is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum AppStage {
    FirstRun,
    SetPin,
    Locked,
    Unlocked,
}

/// The signed-in user, as the screens show them.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AccountView {
    pub id: String,
    pub login: String,
    pub name: String,
    pub role: yijian_core::role::Role,
    pub role_zh: &'static str,
    pub scope: String,
    pub scope_name: String,
}

impl From<&Account> for AccountView {
    fn from(a: &Account) -> AccountView {
        AccountView {
            id: a.id.to_string(),
            login: a.login.clone(),
            name: a.name.clone(),
            role: a.role,
            role_zh: a.role.name_zh(),
            scope: a.scope.to_string(),
            scope_name: yijian_client::views::scope_name(&a.scope),
        }
    }
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AppState {
    pub stage: AppStage,
    pub version: &'static str,
    pub platform: &'static str,
    pub server: Option<String>,
    pub user: Option<AccountView>,
    pub login_expired: bool,
}

async fn state_of(app: &App) -> Result<AppState, CommandError> {
    let (session, has_pin, server) = app
        .store(|s| {
            let status = s.status()?;
            Ok((s.session()?, s.has_pin()?, status.server))
        })
        .await?;
    let stage = match (&session, has_pin, app.is_unlocked()) {
        (None, _, _) => AppStage::FirstRun,
        (Some(_), false, _) => AppStage::SetPin,
        (Some(_), true, false) => AppStage::Locked,
        (Some(_), true, true) => AppStage::Unlocked,
    };
    Ok(AppState {
        stage,
        version: env!("CARGO_PKG_VERSION"),
        platform: std::env::consts::OS,
        server,
        user: session.as_ref().map(|s| AccountView::from(&s.user)),
        login_expired: session.as_ref().is_some_and(|s| s.token_rejected),
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn app_state(app: State<'_, App>) -> Result<AppState, CommandError> {
    state_of(&app).await
}

/// Sign in online. A different user than before starts with a new PIN.
#[tauri::command(rename_all = "snake_case")]
pub async fn login(
    app: State<'_, App>,
    server: String,
    login: String,
    password: String,
) -> Result<AppState, CommandError> {
    let previous = app.store(|s| Ok(s.session()?.map(|s| s.user.id))).await?;
    let device = format!("一键申报（{}）", std::env::consts::OS);
    // The engine checks the form and names the field at fault.
    let session = app
        .engine
        .login(&server, &login, &password, &device)
        .await?;
    if previous != Some(session.user.id) {
        app.set_unlocked(false);
        app.store(|s| s.clear_pin()).await?;
    }
    app.wrote();
    state_of(&app).await
}

/// Read a device-setup QR code's text.
#[tauri::command(rename_all = "snake_case")]
pub async fn parse_setup_qr(text: String) -> Result<DeviceSetup, CommandError> {
    DeviceSetup::parse(&text).map_err(|e| CommandError::new(ErrorKind::Invalid, e.to_string()))
}

/// Choose the PIN (right after a login) and unlock.
#[tauri::command(rename_all = "snake_case")]
pub async fn set_pin(app: State<'_, App>, pin: String) -> Result<AppState, CommandError> {
    let (logged_in, has_pin) = app
        .store(|s| Ok((s.session()?.is_some(), s.has_pin()?)))
        .await?;
    if !logged_in {
        return Err(CommandError::new(ErrorKind::Invalid, "请先登录"));
    }
    // Replacing an existing PIN needs the app unlocked (the settings screen).
    if has_pin {
        app.require_unlocked()?;
    }
    app.store(move |s| s.set_pin(&pin)).await?;
    app.set_unlocked(true);
    state_of(&app).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn unlock(app: State<'_, App>, pin: String) -> Result<AppState, CommandError> {
    app.store(move |s| s.verify_pin(&pin)).await?;
    app.set_unlocked(true);
    state_of(&app).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn lock(app: State<'_, App>) -> Result<AppState, CommandError> {
    app.set_unlocked(false);
    state_of(&app).await
}

/// Sign out: the server revokes the token (when reachable); unsent work stays on the phone and
/// goes out after the next login.
#[tauri::command(rename_all = "snake_case")]
pub async fn logout(app: State<'_, App>) -> Result<AppState, CommandError> {
    app.require_unlocked()?;
    app.engine.logout().await?;
    app.store(|s| s.clear_pin()).await?;
    app.set_unlocked(false);
    state_of(&app).await
}
