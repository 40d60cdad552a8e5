//! First run, PIN and lock.

use serde::Serialize;
use tauri::{AppHandle, Manager, State};
use yijian_client::DeviceStage;
use yijian_client::store::Account;
use yijian_client::vault::WipeNote;
use yijian_core::qrcodes::DeviceSetup;

use crate::error::{CommandError, ErrorKind};
use crate::state::App;

/// Which screen the app is at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum AppStage {
    FirstRun,
    /// The PIN cannot open the store any more (too many wrong PINs, or never chosen): sign in
    /// with the password; the phone's unsent work comes back with it.
    PasswordRequired,
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
    /// Why the phone was emptied (revoked by an administrator), shown on the first screen.
    pub wiped: Option<WipeNote>,
    /// Screens lock after this many seconds without use.
    pub idle_lock_s: u64,
    /// Wrong PINs so far (the lock screen says how many tries are left).
    pub pin_failures: u32,
    pub max_pin_failures: u32,
}

async fn state_of(app: &App) -> Result<AppState, CommandError> {
    let (stage, wiped, pin_failures) = {
        let device = app.device.lock().await;
        (device.stage(), device.wipe_note(), device.pin_failures())
    };
    let (session, server) = match app.engine() {
        Ok(_) => {
            app.store(|s| {
                let status = s.status()?;
                Ok((s.session()?, status.server))
            })
            .await?
        }
        Err(_) => (None, None),
    };
    let stage = match stage {
        DeviceStage::Empty => AppStage::FirstRun,
        DeviceStage::NeedsPassword => AppStage::PasswordRequired,
        DeviceStage::NeedsPin => AppStage::Locked,
        DeviceStage::NeedsNewPin => AppStage::SetPin,
        DeviceStage::Open if app.is_unlocked() => AppStage::Unlocked,
        DeviceStage::Open => AppStage::Locked,
    };
    Ok(AppState {
        stage,
        version: env!("CARGO_PKG_VERSION"),
        platform: std::env::consts::OS,
        server,
        user: session.as_ref().map(|s| AccountView::from(&s.user)),
        login_expired: session.as_ref().is_some_and(|s| s.token_rejected),
        wiped,
        idle_lock_s: app.idle_lock.as_secs(),
        pin_failures,
        max_pin_failures: yijian_client::pin::DEFAULT_MAX_FAILURES,
    })
}

#[tauri::command(rename_all = "snake_case")]
pub async fn app_state(app: State<'_, App>) -> Result<AppState, CommandError> {
    state_of(&app).await
}

/// Sign in online. Opens the store in every case: a new phone gets a new one, a phone whose PIN
/// was forgotten or locked out gets its own back (then a new PIN is chosen).
#[tauri::command(rename_all = "snake_case")]
pub async fn login(
    handle: AppHandle,
    app: State<'_, App>,
    server: String,
    login: String,
    password: String,
) -> Result<AppState, CommandError> {
    let device_name = format!("一键申报（{}）", std::env::consts::OS);
    let engine = {
        let mut device = app.device.lock().await;
        // The engine checks the form and names the field at fault.
        device
            .login(&server, &login, &password, &device_name)
            .await?;
        device.engine()
    };
    if let Some(engine) = engine {
        crate::engine_opened(&handle, &engine);
    }
    app.set_unlocked(true);
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
    {
        let mut device = app.device.lock().await;
        match device.stage() {
            DeviceStage::NeedsNewPin => {}
            // Replacing an existing PIN needs the app unlocked (the settings screen).
            DeviceStage::Open => app.require_unlocked()?,
            _ => return Err(CommandError::new(ErrorKind::Invalid, "请先登录")),
        }
        // Argon2id takes a moment: off the async threads.
        tokio::task::block_in_place(|| device.set_pin(&pin))?;
    }
    app.set_unlocked(true);
    state_of(&app).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn unlock(
    handle: AppHandle,
    app: State<'_, App>,
    pin: String,
) -> Result<AppState, CommandError> {
    let unlocked = {
        let mut device = app.device.lock().await;
        tokio::task::block_in_place(|| device.unlock(&pin))
    };
    let engine = match unlocked {
        Ok(engine) => engine,
        Err(e) => {
            if matches!(e, yijian_client::Error::LockedOut) {
                // The store left memory too: only the password opens it now.
                app.closed();
            }
            return Err(e.into());
        }
    };
    crate::engine_opened(&handle, &engine);
    app.set_unlocked(true);
    // A store upgraded from plain (or made offline) gets its escrow wrap when online.
    let background = handle.clone();
    tauri::async_runtime::spawn(async move {
        let app = background.state::<App>();
        if let Err(e) = app.device.lock().await.ensure_escrow().await {
            tracing::info!(error = %e, "escrow wrap not made yet");
        }
    });
    state_of(&app).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn lock(app: State<'_, App>) -> Result<AppState, CommandError> {
    app.set_unlocked(false);
    state_of(&app).await
}

/// Sign out: the server revokes the token (when reachable) and this phone's store is erased.
/// With unsent work, nothing is erased unless `erase_unsent` confirms it
/// (`unsent_work` error otherwise, which the screen turns into the question).
#[tauri::command(rename_all = "snake_case")]
pub async fn logout(
    app: State<'_, App>,
    erase_unsent: Option<bool>,
) -> Result<AppState, CommandError> {
    app.require_unlocked()?;
    app.device
        .lock()
        .await
        .logout(erase_unsent.unwrap_or(false))
        .await?;
    app.closed();
    state_of(&app).await
}
