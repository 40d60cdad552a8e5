//! Cases with their whole history in one township, for measuring a real township's first sync
//! (`bench-scale`): declarations through the public form's code, then every step a command of
//! the staff member whose job it is — home visits with the full checklist and their photos,
//! review, approval, plans and return visits — as [`super::seed`] does for the demonstration.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use yijian_core::division::{DivisionCode, Level};
use yijian_core::protocol::auth::Account;
use yijian_core::regions::Regions;
use yijian_core::role::Role;

use crate::blobstore::BlobStore;
use crate::store::Storage;

use super::*;

/// What [`walk_township`] made.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct TownshipWalk {
    pub cases: usize,
    /// Steps after the declarations (each one or more commands).
    pub acts: usize,
}

/// `cases` cases over the villages of `township`, each walked as far as its script goes, by
/// staff created for it (a village worker per village, the township, the county: logins from
/// `first_login` on). `salt` keeps the applicants of two runs on one database apart.
pub async fn walk_township(
    storage: Arc<dyn Storage>,
    blobs: &dyn BlobStore,
    township: &DivisionCode,
    cases: usize,
    first_login: u64,
    salt: u32,
    now: DateTime<Utc>,
) -> Result<TownshipWalk, DemoError> {
    // Case n is declared at 10:00 plus n minutes, Beijing time: past 600 it would reach the
    // next day (and the ID numbers' sequence ends at 899).
    if cases > 600 {
        return Err(DemoError::Invalid("at most 600 cases a run".into()));
    }
    let villages: Vec<DivisionCode> = Regions::gansu()
        .villages_in(township)
        .map(|r| r.code.clone())
        .collect();
    let county = township
        .at_level(Level::County)
        .ok_or_else(|| DemoError::Invalid(format!("{township} is not in a county")))?;
    let mut staff: Vec<(Role, DivisionCode)> = villages
        .iter()
        .map(|v| (Role::VillageWorker, v.clone()))
        .collect();
    staff.push((Role::Township, township.clone()));
    staff.push((Role::County, county));
    let password_hash = demo_password_hash().await?;
    let users: Vec<(Account, String)> = staff
        .into_iter()
        .zip(first_login..)
        .map(|((role, scope), login)| {
            (
                Account {
                    id: yijian_core::ids::UserId::new(),
                    login: login.to_string(),
                    name: format!("{}{}", role.name_zh(), login % 1000),
                    role,
                    scope,
                },
                password_hash.clone(),
            )
        })
        .collect();
    let villages_named: Vec<&DivisionCode> = villages.iter().collect();
    let mut seeder = Seeder::start(storage, blobs, &users, &villages_named, 11, now).await?;
    let scripts = township_scripts(&villages, cases, salt);
    let mut acts = 0;
    for (n, script) in scripts.iter().enumerate() {
        let mut c = seeder
            .declare(script, u32::try_from(n).unwrap_or(0))
            .await?;
        for (day, act) in script.acts.clone() {
            seeder.act(&mut c, script, day, act).await?;
            acts += 1;
        }
    }
    Ok(TownshipWalk {
        cases: scripts.len(),
        acts,
    })
}
