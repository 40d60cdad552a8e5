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
    let password_hash = demo_password_hash().await?;
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
    let villages = [
        &places.nanchuan,
        &places.ziyun,
        &places.neiguan,
        &places.tongwei,
    ];
    let mut seeder =
        Seeder::start(Arc::clone(&storage), &*blobs, &users, &villages, 7, now).await?;
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
    // The leads the departments' lists made are cases of the demo like the others.
    for case_id in warning_batches(&storage, &users, &places, now).await? {
        let id = case_id.clone();
        let row = read(&*storage, move |tx| tx.case_row(&id))
            .await?
            .ok_or_else(|| DemoError::Invalid("warning lead not indexed".into()))?;
        let village =
            DivisionCode::parse(&row.village).map_err(|e| DemoError::Invalid(e.to_string()))?;
        cases.push(DemoCase {
            case_id,
            receipt_no: row.receipt_no.clone().unwrap_or_default(),
            applicant: row.applicant_name.clone(),
            phone: row.phone.clone().unwrap_or_default(),
            stage: crate::store::codec::enum_text(&row.stage)?,
            village_name: resident::village_name(&village),
            village: row.village.clone(),
        });
    }
    // A spot-check month: the cases closed this month and last, drawn as the job would.
    let today = yijian_core::time::china_date(now);
    for month in [crate::domain::spot_checks::previous_month(today), today] {
        crate::domain::spot_checks::run_month(&*storage, month, now).await?;
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

/// Lists of 医保, 住建 and 教育 for the county, sent by their liaisons, with every outcome: a
/// lead, a warning added to that open case, a duplicate, one below the threshold, one for
/// somebody not in the register and a malformed line.
async fn warning_batches(
    storage: &Arc<dyn Storage>,
    users: &[(Account, String)],
    places: &Places,
    now: DateTime<Utc>,
) -> Result<Vec<String>, DemoError> {
    use crate::domain::alerts::{self, Sender};
    let county = places
        .nanchuan
        .at_level(yijian_core::division::Level::County)
        .ok_or_else(|| DemoError::Invalid("no county".into()))?;
    // Register households of 紫云村 with no case yet, and their heads' ID numbers.
    let village = places.ziyun.to_string();
    let heads: Vec<(String, String)> = read(&**storage, move |tx| {
        let mut out = Vec::new();
        for r in tx.records_in_village(yijian_core::protocol::kinds::HOUSEHOLD, &village)? {
            let Some(body) = r.body else { continue };
            let h: yijian_core::household::Household = serde_json::from_str(&body)?;
            let open = tx
                .case_rows(&crate::store::rows::CaseQuery {
                    scope: village.clone(),
                    open_only: false,
                    due_by: None,
                    limit: None,
                })?
                .iter()
                .any(|c| c.household_id.as_deref() == Some(&h.id.to_string()));
            if let Some(m) = h.head_member()
                && let Some(n) = &m.id_number
                && !open
            {
                out.push((m.name.clone(), n.as_str().to_owned()));
            }
        }
        Ok(out)
    })
    .await?;
    let [a, b, c, d, ..] = heads.as_slice() else {
        return Err(DemoError::Invalid("too few register households".into()));
    };
    let stranger = super::staff::id_number("621102", "19750505", 77)?;
    let date = yijian_core::time::china_date(now) - Duration::days(5);
    // 医保: a lead for a (over every population's threshold), the same line again, b below the
    // threshold of his population, someone not in the register, a malformed line.
    let yibao = format!(
        "身份证号,姓名,预警事项,金额（元）,发生日期,备注,医疗总费用（元）\n\
         {},{},医疗自付费用高,\"25,151.81元\",{date},住院,\"70,447.56\"\n\
         {},{},医疗自付费用高,\"25,151.81元\",{date},住院,\"70,447.56\"\n\
         {},{},医疗自付费用高,1200,{date},门诊,3000\n\
         {stranger},钱多多,医疗自付费用高,26000,{date},,52000\n\
         6211021980,孙某,医疗自付费用高,很多,昨天,,\n",
        a.1, a.0, a.1, a.0, b.1, b.0
    );
    // 住建: a's house rated C (added to the 医保 lead), c's rated B (below), a bad rating line.
    let zhujian = format!(
        "身份证号,姓名,预警事项,金额（元）,发生日期,备注,房屋等级\n\
         {},{},房屋安全鉴定,,{date},墙体开裂,C级\n\
         {},{},房屋安全鉴定,,{date},,B级\n\
         {},{},危房,,{date},,D级\n",
        a.1, a.0, c.1, c.0, d.1, d.0
    );
    // 教育: d's child out of school (a lead), c's spending below the figure, an old 15-digit
    // number of someone not in the register.
    let jiaoyu = format!(
        "身份证号,姓名,预警事项,金额（元）,发生日期,备注,学段\n\
         {},{},辍学,,{date},子女初二辍学,初中\n\
         {},{},教育支出高,3000,{date},,高中\n\
         621102750505077,钱多多,辍学,,{date},,初中\n",
        d.1, d.0, c.1, c.0
    );
    let mut leads = Vec::new();
    for (department, login, file, text) in [
        (
            "medical_security",
            "13800000051",
            "医保局2026年11月预警名单.csv",
            yibao,
        ),
        (
            "housing_construction",
            "13800000052",
            "住建局危房排查.csv",
            zhujian,
        ),
        ("education", "13800000053", "教育局控辍保学.csv", jiaoyu),
    ] {
        let user = users
            .iter()
            .find(|(u, _)| u.login == login)
            .map(|(u, _)| u.id.to_string())
            .ok_or_else(|| DemoError::Invalid(format!("no liaison {login}")))?;
        let dept = department.to_owned();
        write(&**storage, move |tx| {
            tx.set_liaison_department(&user, Some(&dept))
        })
        .await?;
        let sender = Sender {
            department: department.to_owned(),
            scope: county.clone(),
            channel: "console",
            by: login.to_owned(),
        };
        let batch = alerts::import_file(&**storage, &sender, file, text.as_bytes(), now)
            .await
            .map_err(|e| DemoError::Invalid(e.to_string()))?
            .summary
            .batch;
        let rows = read(&**storage, move |tx| tx.alert_rows_of(&batch)).await?;
        leads.extend(
            rows.into_iter()
                .filter(|r| r.outcome == crate::store::rows::AlertOutcome::LeadCreated)
                .filter_map(|r| r.case_id),
        );
    }
    Ok(leads)
}

/// The demonstration password's hash. Hashing is deliberately slow; all passwords are the
/// same, so it is hashed once.
pub(super) async fn demo_password_hash() -> Result<String, DemoError> {
    tokio::task::spawn_blocking(|| crate::domain::accounts::hash_password(DEMO_PASSWORD))
        .await
        .map_err(|e| DemoError::Invalid(e.to_string()))?
        .map_err(|e| DemoError::Invalid(e.to_string()))
}

impl Seeder {
    /// A seeder for `users` (stored here), pushing as a device of each, with the stand-in
    /// photos of `villages` and the procedure in force; its clock is HLC node `node`.
    pub(super) async fn start(
        storage: Arc<dyn Storage>,
        blobs: &dyn BlobStore,
        users: &[(Account, String)],
        villages: &[&DivisionCode],
        node: u32,
        now: DateTime<Utc>,
    ) -> Result<Seeder, DemoError> {
        storage.create_users(users.to_vec()).await?;
        let sessions = sessions_of(&storage, users, now).await?;
        let photos = village_photos(blobs, villages).await?;
        Ok(Seeder {
            procedure: Procedure::current(&*storage).await?,
            storage,
            template: default_template(),
            clock: HlcClock::new(node),
            sessions,
            photos,
            now,
        })
    }
}

/// A session of a device of each of `users`, by role and scope: whom the seeder pushes as.
async fn sessions_of(
    storage: &Arc<dyn Storage>,
    users: &[(Account, String)],
    now: DateTime<Utc>,
) -> Result<HashMap<(Role, String), crate::store::rows::DeviceSession>, DemoError> {
    let mut sessions = HashMap::new();
    for (user, _) in users {
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
    Ok(sessions)
}

/// The three stand-in photos of each of `villages` (house, water source, signature), stored in
/// `blobs`: each village its own bytes, as real photos would be.
async fn village_photos(
    blobs: &dyn BlobStore,
    villages: &[&DivisionCode],
) -> Result<HashMap<String, Vec<(Sha256Hex, u64)>>, DemoError> {
    let mut photos: HashMap<String, Vec<(Sha256Hex, u64)>> = HashMap::new();
    for village in villages {
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
    Ok(photos)
}
