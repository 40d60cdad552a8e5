//! A resident's declaration as the public form stores it (`POST /d/{village}` without the HTTP
//! layer), for tests that need a self-declared case at a chosen moment.

use std::sync::Arc;

use anyhow::Result;
use chrono::{DateTime, Utc};
use yijian_server::domain::apply::ApplySettings;
use yijian_server::domain::procedure::Procedure;
use yijian_server::domain::resident::{Declared, declare};
use yijian_server::store::{Storage, write};

/// `name` (ID number `id_number`) declares hardship from illness in village `village` at `at`,
/// checked exactly as the form checks it.
pub async fn resident_declares(
    storage: &Arc<dyn Storage>,
    village: &str,
    name: &str,
    id_number: &str,
    at: DateTime<Utc>,
) -> Result<Declared> {
    let form = yijian_core::form::DeclarationForm {
        applicant_name: name.into(),
        id_number: id_number.into(),
        phone: "13900000101".into(),
        village: village.into(),
        address: "3社12号".into(),
        household_size: "3".into(),
        risk_types: vec!["illness".into()],
        description: "看病花钱多".into(),
    };
    let checked = yijian_core::form::check_declaration(
        &form,
        yijian_core::time::china_date(at),
        yijian_core::form::PhoneRule::Required,
        |_| true,
    )
    .map_err(|p| anyhow::anyhow!("{p:?}"))?;
    let settings = ApplySettings::with(at, &Procedure::current(&**storage).await?);
    Ok(write(&**storage, move |tx| declare(tx, &checked, &settings)).await?)
}
