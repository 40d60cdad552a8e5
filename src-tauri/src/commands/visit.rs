//! The home visit (入户核查): every call returns the visit as the screen shows it.

use tauri::State;
use yijian_client::visits::VisitView;
use yijian_core::checklist::Answer;
use yijian_core::ids::{CaseId, HouseholdId, PhotoId, VisitId};
use yijian_core::visit::{Attendee, VisitPurpose};

use crate::error::{CommandError, ErrorKind};
use crate::state::App;

fn parse_visit(id: &str) -> Result<VisitId, CommandError> {
    VisitId::parse(id).map_err(|_| CommandError::new(ErrorKind::Invalid, "核查记录编号格式不正确"))
}

/// Run `change` on the store as the signed-in user, then return the visit's view.
async fn change_then_view(
    app: &App,
    id: VisitId,
    wrote_outbox: bool,
    change: impl FnOnce(
        &mut yijian_client::LocalStore,
        yijian_core::ids::UserId,
    ) -> yijian_client::Result<()>
    + Send
    + 'static,
) -> Result<VisitView, CommandError> {
    let user = app.account().await?.id;
    let urls = app.urls.clone();
    let view = app
        .store(move |s| {
            change(s, user)?;
            s.visit_view(id, user, &urls)
        })
        .await?;
    if wrote_outbox {
        app.wrote();
    }
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn visit_start(
    app: State<'_, App>,
    household_id: String,
    case_id: Option<String>,
    purpose: VisitPurpose,
) -> Result<VisitView, CommandError> {
    let user = app.account().await?.id;
    let household = HouseholdId::parse(&household_id)
        .map_err(|_| CommandError::new(ErrorKind::Invalid, "农户编号格式不正确"))?;
    let case = case_id
        .filter(|c| !c.is_empty())
        .map(|c| CaseId::parse(&c))
        .transpose()
        .map_err(|_| CommandError::new(ErrorKind::Invalid, "案件编号格式不正确"))?;
    let urls = app.urls.clone();
    let view = app
        .store(move |s| {
            let id = s.start_visit(household, case, purpose, user)?;
            s.visit_view(id, user, &urls)
        })
        .await?;
    app.wrote();
    Ok(view)
}

#[tauri::command(rename_all = "snake_case")]
pub async fn visit_open(app: State<'_, App>, visit_id: String) -> Result<VisitView, CommandError> {
    let id = parse_visit(&visit_id)?;
    change_then_view(&app, id, false, |_, _| Ok(())).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn visit_answer(
    app: State<'_, App>,
    visit_id: String,
    key: String,
    answer: Option<Answer>,
) -> Result<VisitView, CommandError> {
    let id = parse_visit(&visit_id)?;
    change_then_view(&app, id, false, move |s, user| {
        s.visit_answer(id, user, &key, answer)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn visit_attach_photo(
    app: State<'_, App>,
    visit_id: String,
    key: String,
    sha256: String,
) -> Result<VisitView, CommandError> {
    let id = parse_visit(&visit_id)?;
    change_then_view(&app, id, true, move |s, user| {
        s.visit_attach_photo(id, user, &key, &sha256).map(|_| ())
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn visit_detach_photo(
    app: State<'_, App>,
    visit_id: String,
    key: String,
    photo_id: String,
) -> Result<VisitView, CommandError> {
    let id = parse_visit(&visit_id)?;
    let photo = PhotoId::parse(&photo_id)
        .map_err(|_| CommandError::new(ErrorKind::Invalid, "照片编号格式不正确"))?;
    change_then_view(&app, id, false, move |s, user| {
        s.visit_detach_photo(id, user, &key, photo)
    })
    .await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn visit_save_draft(
    app: State<'_, App>,
    visit_id: String,
) -> Result<VisitView, CommandError> {
    let id = parse_visit(&visit_id)?;
    change_then_view(&app, id, true, move |s, user| s.visit_save_draft(id, user)).await
}

#[tauri::command(rename_all = "snake_case")]
pub async fn visit_finalise(
    app: State<'_, App>,
    visit_id: String,
) -> Result<VisitView, CommandError> {
    let id = parse_visit(&visit_id)?;
    change_then_view(&app, id, true, move |s, user| s.visit_finalise(id, user)).await
}

/// A correction of a finalised visit: returns the new draft.
#[tauri::command(rename_all = "snake_case")]
pub async fn visit_correct(
    app: State<'_, App>,
    visit_id: String,
) -> Result<VisitView, CommandError> {
    let old = parse_visit(&visit_id)?;
    let user = app.account().await?.id;
    let urls = app.urls.clone();
    let view = app
        .store(move |s| {
            let new = s.visit_correct(old, user)?;
            s.visit_view(new, user, &urls)
        })
        .await?;
    app.wrote();
    Ok(view)
}

/// Record where the visit is being made: the phone's position (asking for the permission the
/// first time), or — on a device without one, or when none comes — why not, said plainly.
#[tauri::command(rename_all = "snake_case")]
pub async fn visit_locate<R: tauri::Runtime>(
    handle: tauri::AppHandle<R>,
    app: State<'_, App>,
    visit_id: String,
) -> Result<VisitView, CommandError> {
    let id = parse_visit(&visit_id)?;
    let reading = position::read(&handle).await;
    change_then_view(&app, id, false, move |s, user| {
        s.visit_record_place(id, user, reading)
    })
    .await
}

/// Record who is present at the visit (the whole list).
#[tauri::command(rename_all = "snake_case")]
pub async fn visit_set_present(
    app: State<'_, App>,
    visit_id: String,
    present: Vec<Attendee>,
) -> Result<VisitView, CommandError> {
    let id = parse_visit(&visit_id)?;
    change_then_view(&app, id, false, move |s, user| {
        s.visit_set_present(id, user, present)
    })
    .await
}

/// The device's position, through Tauri's geolocation plugin on phones.
mod position {
    use chrono::{DateTime, Utc};
    use yijian_core::visit::{GeoPoint, NoFix};

    pub type Reading = Result<(GeoPoint, DateTime<Utc>), NoFix>;

    /// A desktop has no location service: the visit records that, rather than a made-up place.
    #[cfg(desktop)]
    pub async fn read<R: tauri::Runtime>(_handle: &tauri::AppHandle<R>) -> Reading {
        Err(NoFix::NoLocationService)
    }

    #[cfg(mobile)]
    pub async fn read<R: tauri::Runtime>(handle: &tauri::AppHandle<R>) -> Reading {
        let handle = handle.clone();
        // The plugin's calls block until the phone answers (up to the timeout).
        tauri::async_runtime::spawn_blocking(move || read_blocking(&handle))
            .await
            .unwrap_or(Err(NoFix::NoSignal))
    }

    #[cfg(mobile)]
    fn read_blocking<R: tauri::Runtime>(handle: &tauri::AppHandle<R>) -> Reading {
        use tauri::plugin::PermissionState;
        use tauri_plugin_geolocation::{GeolocationExt, PermissionType, PositionOptions};
        let geo = handle.geolocation();
        let granted = |s: PermissionState| s == PermissionState::Granted;
        let status = geo.check_permissions().map_err(|e| {
            tracing::warn!(error = %e, "location permission check failed");
            NoFix::NoLocationService
        })?;
        if !granted(status.location) && !granted(status.coarse_location) {
            let asked = geo
                .request_permissions(Some(vec![PermissionType::Location]))
                .map_err(|_| NoFix::PermissionDenied)?;
            if !granted(asked.location) && !granted(asked.coarse_location) {
                return Err(NoFix::PermissionDenied);
            }
        }
        let position = geo
            .get_current_position(Some(PositionOptions {
                enable_high_accuracy: true,
                timeout: 20_000,
                // A fix from the last minute is as good as a new one at the door.
                maximum_age: 60_000,
            }))
            .map_err(|e| {
                tracing::warn!(error = %e, "no position");
                NoFix::NoSignal
            })?;
        let c = position.coords;
        let point = GeoPoint::new(c.latitude, c.longitude, c.accuracy).map_err(|e| {
            tracing::warn!(error = %e, "the phone gave an invalid position");
            NoFix::NoSignal
        })?;
        let at = i64::try_from(position.timestamp)
            .ok()
            .and_then(DateTime::from_timestamp_millis)
            .unwrap_or_else(Utc::now);
        Ok((point, at))
    }
}
