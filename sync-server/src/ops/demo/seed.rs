//! `demo-seed`: the whole demonstration, made in order.

use crate::blobstore::{BlobStore, ChunkSpan};
use crate::domain::accounts::{NewUser, new_device_token, role_key};
use crate::domain::procedure::Procedure;
use crate::domain::resident::{self};
use crate::store::{Storage, read, write};
use chrono::{DateTime, Duration, Utc};
use std::collections::HashMap;
use std::sync::Arc;
use yijian_core::checklist::default_template;
use yijian_core::division::DivisionCode;
use yijian_core::hlc::HlcClock;
use yijian_core::ids::DeviceId;
use yijian_core::protocol::CommandBody;
use yijian_core::protocol::auth::Account;
use yijian_core::regions::Regions;
use yijian_core::role::Role;
use yijian_core::support::Sha256Hex;

use super::*;

/// Add the demonstration users and cases to an empty database.
pub async fn seed(
    storage: Arc<dyn Storage>,
    blobs: Arc<dyn BlobStore>,
    now: DateTime<Utc>,
) -> Result<DemoData, DemoError> {
    if !storage.list_users().await?.is_empty() {
        return Err(DemoError::NotEmpty);
    }
    let places = Places::new()?;
    let staff = staff_list(&places)?;
    // Hashing is deliberately slow; all passwords are the same, so hash once.
    let password_hash =
        tokio::task::spawn_blocking(|| crate::domain::accounts::hash_password(DEMO_PASSWORD))
            .await
            .map_err(|e| DemoError::Invalid(e.to_string()))?
            .map_err(|e| DemoError::Invalid(e.to_string()))?;
    let mut users = Vec::new();
    let mut demo_users = Vec::new();
    for (login, name, role, scope) in &staff {
        let new = NewUser {
            login: (*login).to_owned(),
            name: (*name).to_owned(),
            role: *role,
            scope: scope.clone(),
            password: DEMO_PASSWORD.to_owned(),
        };
        new.check().map_err(|e| DemoError::Invalid(e.to_string()))?;
        let user = Account {
            id: yijian_core::ids::UserId::new(),
            login: (*login).to_owned(),
            name: (*name).to_owned(),
            role: *role,
            scope: scope.clone(),
        };
        demo_users.push(DemoUser {
            login: user.login.clone(),
            password: DEMO_PASSWORD.to_owned(),
            role: role_key(*role),
            role_zh: role.name_zh(),
            scope: scope.to_string(),
            scope_name: crate::web::console::scope_path(scope),
            name: user.name.clone(),
        });
        users.push((user, password_hash.clone()));
    }
    storage.create_users(users.clone()).await?;
    let mut sessions = HashMap::new();
    for (user, _) in &users {
        let (token, hash) = new_device_token().map_err(|e| DemoError::Invalid(e.to_string()))?;
        storage
            // Used while seeding only; its token is dropped at once.
            .create_device(
                DeviceId::new(),
                user.id,
                "演示数据",
                &hash,
                now,
                now + chrono::Duration::hours(1),
            )
            .await?;
        let session = storage
            .session(&crate::domain::accounts::token_hash(&token), now)
            .await?
            .ok_or_else(|| DemoError::Invalid("demo session missing".into()))?;
        sessions.insert((user.role, user.scope.to_string()), session);
    }
    let mut photos: HashMap<String, Vec<(Sha256Hex, u64)>> = HashMap::new();
    for village in [
        &places.nanchuan,
        &places.ziyun,
        &places.neiguan,
        &places.tongwei,
    ] {
        let place = crate::domain::resident::village_name(village);
        for (caption, tint) in [
            ("房屋照片", [196, 214, 176]),
            ("水源照片", [176, 204, 224]),
            ("授权书签字", [232, 214, 180]),
        ] {
            let bytes = crate::web::print::sheet::demo_photo(&format!("{caption} {place}"), tint)
                .map_err(|e| DemoError::Invalid(e.to_string()))?;
            let sha =
                Sha256Hex::parse(&hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes)))
                    .map_err(|e| DemoError::Invalid(e.to_string()))?;
            let len = bytes.len() as u64;
            let span = ChunkSpan::new(0, len, len)
                .ok_or_else(|| DemoError::Invalid("empty demo photo".into()))?;
            let mut src: &[u8] = &bytes;
            blobs
                .append(&sha, span, &mut src)
                .await
                .map_err(|e| DemoError::Invalid(e.to_string()))?;
            photos
                .entry(village.to_string())
                .or_default()
                .push((sha, len));
        }
    }
    let mut seeder = Seeder {
        storage: Arc::clone(&storage),
        procedure: Procedure::current(&*storage).await?,
        template: default_template(),
        clock: HlcClock::new(7),
        sessions,
        photos,
        now,
    };
    // The registers of the two townships.
    let today = yijian_core::time::china_date(now);
    let mut households = 0;
    for township in [places.nanchuan.parent(), places.neiguan.parent()]
        .into_iter()
        .flatten()
    {
        let villages: Vec<DivisionCode> = Regions::gansu()
            .villages_in(&township)
            .map(|r| r.code.clone())
            .collect();
        let staff = seeder.who(Role::Township, &township)?;
        for village in &villages {
            let list = register_households(village, 11, today)?;
            households += list.len();
            let bodies = list.into_iter().map(CommandBody::CreateHousehold).collect();
            let at = now - Duration::days(400);
            seeder.push(&staff, at, "register", bodies).await?;
        }
    }
    tracing::info!(households, "demo registers entered");
    let mut all = scripts(&places)?;
    all.extend(more_declarations(&places));
    let mut cases = Vec::new();
    for (n, script) in all.iter().enumerate() {
        let n = u32::try_from(n).unwrap_or(0);
        let mut c = seeder.declare(script, n).await?;
        for (day, act) in script.acts.clone() {
            seeder.act(&mut c, script, day, act).await?;
        }
        let id = c.case_id.to_string();
        let row = read(&*storage, move |tx| tx.case_row(&id))
            .await?
            .ok_or_else(|| DemoError::Invalid("demo case not indexed".into()))?;
        cases.push(DemoCase {
            case_id: c.case_id.to_string(),
            receipt_no: c.receipt_no.clone(),
            applicant: script.name.to_owned(),
            phone: c.phone.clone(),
            stage: crate::store::codec::enum_text(&row.stage)?,
            village: c.village.to_string(),
            village_name: resident::village_name(&c.village),
        });
    }
    // The township's hotline for the printed sheets.
    let contact = crate::store::rows::UnitContact {
        division: "621102105".into(),
        name: "鲁家沟镇人民政府".into(),
        phone: "0932-8123456".into(),
    };
    write(&*storage, move |tx| tx.put_unit_contact(&contact)).await?;
    Ok(DemoData {
        users: demo_users,
        cases,
    })
}
