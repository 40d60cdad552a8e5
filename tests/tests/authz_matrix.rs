//! The authorisation matrix, generated and exhaustive over what it lists: every kind of sync
//! command, every console POST and every GET route that shows or prints records, tried by a
//! user of each role at each level against a target in their own village and targets in
//! another village, another township, another county and another city. Whatever lies outside
//! the user's scope is refused and changes nothing (no change in the feed, no blob made
//! readable, no user or device touched); the same commands within scope go through, so the
//! matrix cannot pass by refusing everything. Run on SQLite and on PostgreSQL.
//!
//! The targets are real records made through the production commands in five villages: a
//! household, a case (a worker's discovery of that household), a home visit, a plan, a
//! follow-up and a photo record with its stored photo.

use std::collections::BTreeMap;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use yijian_core::case::{Applicant, CaseSource, Declaration, RiskType};
use yijian_core::checklist::default_template;
use yijian_core::division::DivisionCode;
use yijian_core::household::Household;
use yijian_core::ids::{
    AppealId, CaseId, FollowUpId, HouseholdId, MeasureId, PhotoId, PlanId, VisitId,
};
use yijian_core::protocol::{Command, CommandBody, Cursor, FieldEdit, Outcome, PushResponse, Wire};
use yijian_core::regions::Regions;
use yijian_core::role::Role;
use yijian_core::support::{
    FollowUp, Measure, MeasureKind, PhotoMeta, PhotoMime, PhotoOwner, Plan, Sha256Hex,
};
use yijian_core::visit::{Visit, VisitPurpose};
use yijian_core::workflow::Step;
use yijian_server::ServerSettings;
use yijian_server::blobstore::ChunkSpan;
use yijian_server::config::DatabaseLocation;
use yijian_tests::api::ApiDevice;
use yijian_tests::pg::PgCluster;
use yijian_tests::province;
use yijian_tests::server::TestServer;
use yijian_tests::web::{Browser, input_value};

const PASSWORD: &str = "matrix-pass-2026";

/// Where the targets are, relative to the acting users of 南川村 (鲁家沟镇, 安定区, 定西市).
const PLACES: [(&str, &str); 5] = [
    ("own village", "621102105201"),    // 南川村
    ("other village", "621102105202"),  // 紫云村, same township
    ("other township", "621102102201"), // 内官村, 内官营镇, same county
    ("other county", "621121"),         // a village of 通渭县, same city
    ("other city", "620102"),           // a village of 兰州市城关区
];

/// The records of one target village.
#[derive(Debug, Clone)]
struct Target {
    place: &'static str,
    village: DivisionCode,
    household: HouseholdId,
    case: CaseId,
    visit: VisitId,
    plan: PlanId,
    follow_up: FollowUpId,
    /// The village's photos: one for each acting user to try to claim (a photo once linked
    /// to a village within one user's scope is rightly visible to the next), the first also
    /// the one read over HTTP.
    photo_shas: Vec<String>,
    applicant: String,
}

/// How many acting users there are (one target photo each).
const ACTORS: usize = 8;

/// An acting user.
struct Actor {
    label: &'static str,
    role: Role,
    scope: DivisionCode,
    api: ApiDevice,
}

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).expect("division code")
}

/// The first village under `scope` (a township, county or city code), or `scope` itself when
/// it is a village.
fn village_in(scope: &str) -> DivisionCode {
    let c = code(scope);
    if c.level() == yijian_core::division::Level::Village {
        return c;
    }
    Regions::gansu()
        .villages_in(&c)
        .find(|r| r.name.ends_with("村民委员会"))
        .map(|r| r.code.clone())
        .expect("a village")
}

fn id_number(n: u32) -> String {
    let base = format!("62110219700101{n:03}");
    format!(
        "{base}{}",
        yijian_core::validation::id_check_char(&base).expect("check")
    )
}

fn measure() -> Measure {
    Measure {
        id: MeasureId::new(),
        kind: MeasureKind::MedicalAssistance,
        description: "大病医疗救助".into(),
        amount_fen: Some(300_000),
        responsible_unit: "县医保局".into(),
        responsible_person: "王主任".into(),
        due_on: None,
        done_on: None,
    }
}

fn photo(sha: &str, owner: PhotoOwner) -> PhotoMeta {
    PhotoMeta {
        id: PhotoId::new(),
        sha256: Sha256Hex::parse(sha).expect("sha"),
        bytes: 1234,
        width: 800,
        height: 600,
        mime: PhotoMime::Jpeg,
        taken_at: Some(Utc::now()),
        owner,
        thumb_sha256: None,
    }
}

/// A JPEG-looking photo unique to `seed`.
fn jpeg(seed: &str) -> Vec<u8> {
    let mut b = vec![0xff, 0xd8, 0xff, 0xe0];
    b.extend_from_slice(seed.as_bytes());
    b.resize(2048, 0x55);
    b
}

fn sha_of(bytes: &[u8]) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha256::digest(bytes))
}

async fn push(api: &ApiDevice, bodies: Vec<CommandBody>) -> Result<Vec<Outcome>> {
    let mut clock = yijian_core::hlc::HlcClock::new(3);
    let now = u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0);
    let commands: Vec<Command> = bodies
        .into_iter()
        .map(|body| Command {
            id: yijian_core::ids::CommandId::new(),
            hlc: clock.tick(now),
            body: Wire::Known(body),
        })
        .collect();
    let PushResponse { results, .. } = api.push(&commands).await?;
    results
        .into_iter()
        .map(|r| match r.outcome {
            Wire::Known(o) => Ok(o),
            Wire::Unknown { kind, .. } => bail!("unknown outcome {kind}"),
        })
        .collect()
}

/// Make the records of one target village through the production commands, as its county's
/// staff (who may make every kind).
async fn make_target(
    server: &TestServer,
    place: &'static str,
    village: DivisionCode,
    n: u32,
) -> Result<Target> {
    let county = village
        .at_level(yijian_core::division::Level::County)
        .context("county")?;
    let login = format!("1370000{n:04}");
    server
        .create_user(&login, Role::County, county.as_str(), PASSWORD)
        .await?;
    let maker = ApiDevice::login(&server.url(), &login, PASSWORD).await?;
    let user_id = serde_json::from_value(maker.user["id"].clone())?;
    let household = Household::new(HouseholdId::new(), village.clone(), "一社")?;
    let case = CaseId::new();
    let applicant = format!("靶户{n}");
    let declaration = Declaration {
        case_id: case,
        household_id: Some(household.id),
        village: village.clone(),
        source: CaseSource::WorkerDiscovery,
        risk_types: vec![RiskType::Illness],
        description: "户主患病".into(),
        applicant: Applicant {
            name: applicant.clone(),
            id_number: id_number(n),
            phone: Some(format!("1390000{n:04}")),
            address: "一社".into(),
            household_size: Some(3),
        },
        proxy: None,
        declared_at: Utc::now(),
    };
    let template = default_template();
    let visit = Visit::new(
        VisitId::new(),
        household.id,
        Some(case),
        VisitPurpose::Verification,
        &template,
        user_id,
        Utc::now(),
    );
    let plan = Plan {
        id: PlanId::new(),
        case_id: case,
        household_id: household.id,
        made_on: yijian_core::time::china_date(Utc::now()),
        made_by: user_id,
        measures: vec![measure()],
    };
    let follow_up = FollowUp::first_after(FollowUpId::new(), case, household.id, plan.made_on, 30)?;
    let photos: Vec<Vec<u8>> = (0..ACTORS)
        .map(|i| jpeg(&format!("target photo {village} {i}")))
        .collect();
    let shas: Vec<String> = photos.iter().map(|b| sha_of(b)).collect();
    let mut bodies = vec![
        CommandBody::CreateHousehold(household.clone()),
        CommandBody::Declare(declaration),
        CommandBody::SaveVisit(visit.clone()),
        CommandBody::SavePlan(plan.clone()),
        CommandBody::SaveFollowUp(follow_up.clone()),
    ];
    for sha in &shas {
        bodies.push(CommandBody::RecordPhoto(photo(
            sha,
            PhotoOwner::Household {
                household_id: household.id,
            },
        )));
    }
    let outcomes = push(&maker, bodies).await?;
    for o in &outcomes {
        if !matches!(o, Outcome::Applied) {
            bail!("making the target in {village}: {o:?}");
        }
    }
    for (bytes, sha) in photos.iter().zip(&shas) {
        let name = Sha256Hex::parse(sha)?;
        let len = bytes.len() as u64;
        let mut src: &[u8] = bytes;
        server
            .blobs
            .append(
                &name,
                ChunkSpan::new(0, len, len).context("span")?,
                &mut src,
            )
            .await?;
    }
    Ok(Target {
        place,
        village,
        household: household.id,
        case,
        visit: visit.id(),
        plan: plan.id,
        follow_up: follow_up.id,
        photo_shas: shas,
        applicant,
    })
}

/// The commands tried against a target, by name: each names records of the target, or moves
/// a record of the target into the actor's own village (`own`).
fn commands(
    t: &Target,
    own: &Target,
    me: yijian_core::ids::UserId,
    actor: usize,
) -> Vec<(&'static str, CommandBody)> {
    let template = default_template();
    let today = yijian_core::time::china_date(Utc::now());
    vec![
        (
            "declare",
            CommandBody::Declare(Declaration {
                case_id: CaseId::new(),
                household_id: None,
                village: t.village.clone(),
                source: CaseSource::WorkerDiscovery,
                risk_types: vec![RiskType::Disaster],
                description: "冰雹".into(),
                applicant: Applicant {
                    name: "新线索".into(),
                    id_number: id_number(900),
                    phone: None,
                    address: "二社".into(),
                    household_size: Some(2),
                },
                proxy: None,
                declared_at: Utc::now(),
            }),
        ),
        (
            "case_step:accept",
            CommandBody::CaseStep {
                case_id: t.case,
                step: Step::Accept,
            },
        ),
        (
            "case_step:county_reject",
            CommandBody::CaseStep {
                case_id: t.case,
                step: Step::CountyReject {
                    reason: "不符合".into(),
                },
            },
        ),
        (
            "case_step:file_appeal",
            CommandBody::CaseStep {
                case_id: t.case,
                step: Step::FileAppeal {
                    appeal_id: AppealId::new(),
                    reason: "不服".into(),
                },
            },
        ),
        (
            "own case, start_verification with the target's visit",
            CommandBody::CaseStep {
                case_id: own.case,
                step: Step::StartVerification { visit_id: t.visit },
            },
        ),
        (
            "own case, make_plan with the target's plan",
            CommandBody::CaseStep {
                case_id: own.case,
                step: Step::MakePlan {
                    plan_id: t.plan,
                    measures: 1,
                },
            },
        ),
        (
            "create_household",
            CommandBody::CreateHousehold(
                Household::new(HouseholdId::new(), t.village.clone(), "三社").expect("household"),
            ),
        ),
        (
            "create_household in own village reusing the target's id",
            CommandBody::CreateHousehold({
                let mut h =
                    Household::new(HouseholdId::new(), own.village.clone(), "四社").expect("h");
                h.id = t.household;
                h
            }),
        ),
        (
            "edit_household",
            CommandBody::EditHousehold {
                household_id: t.household,
                edits: vec![FieldEdit {
                    field: "address".into(),
                    base: serde_json::json!("一社"),
                    value: serde_json::json!("改过的地址"),
                }],
            },
        ),
        (
            "resolve_conflict",
            CommandBody::ResolveConflict {
                household_id: t.household,
                field: "address".into(),
                chosen: serde_json::json!("改过的地址"),
            },
        ),
        (
            "save_visit for the target's household",
            CommandBody::SaveVisit(Visit::new(
                VisitId::new(),
                t.household,
                None,
                VisitPurpose::FollowUp,
                &template,
                me,
                Utc::now(),
            )),
        ),
        (
            "save_visit moving the target's visit to the own household",
            CommandBody::SaveVisit(Visit::new(
                t.visit,
                own.household,
                None,
                VisitPurpose::FollowUp,
                &template,
                me,
                Utc::now(),
            )),
        ),
        (
            "record_photo on the target's household",
            CommandBody::RecordPhoto(photo(
                &sha_of(&jpeg(&format!("new {}", t.village))),
                PhotoOwner::Household {
                    household_id: t.household,
                },
            )),
        ),
        (
            "record_photo on the own household naming the target's photo",
            CommandBody::RecordPhoto(photo(
                &t.photo_shas[actor],
                PhotoOwner::Household {
                    household_id: own.household,
                },
            )),
        ),
        (
            "save_plan of the target's case",
            CommandBody::SavePlan(Plan {
                id: t.plan,
                case_id: t.case,
                household_id: t.household,
                made_on: today,
                made_by: me,
                measures: vec![measure()],
            }),
        ),
        (
            "save_plan moving the target's plan to the own case",
            CommandBody::SavePlan(Plan {
                id: t.plan,
                case_id: own.case,
                household_id: own.household,
                made_on: today,
                made_by: me,
                measures: vec![measure()],
            }),
        ),
        (
            "save_follow_up of the target's case",
            CommandBody::SaveFollowUp(FollowUp {
                note: "改过".into(),
                ..FollowUp::first_after(t.follow_up, t.case, t.household, today, 30)
                    .expect("follow-up")
            }),
        ),
        (
            "save_follow_up moving the target's follow-up to the own case",
            CommandBody::SaveFollowUp(
                FollowUp::first_after(t.follow_up, own.case, own.household, today, 30)
                    .expect("follow-up"),
            ),
        ),
        (
            "put_document",
            CommandBody::PutDocument {
                kind: "note".into(),
                id: "n1".into(),
                village: t.village.clone(),
                data: serde_json::json!({"x": 1}),
            },
        ),
    ]
}

/// Whether a command of this name touches only the target (so it is allowed exactly when the
/// target is in scope), or also moves a record between the target and the own village (always
/// refused unless they are the same village).
fn moves_between(name: &str) -> bool {
    name.starts_with("own ") || name.contains("moving") || name.contains("reusing")
}

/// The feed of the whole province after `cursor`: empty when nothing changed.
async fn changes_after(server: &TestServer, cursor: &Cursor) -> Result<(usize, Cursor)> {
    let page = server.storage.pull(&province(), Some(cursor), 5000).await?;
    Ok((page.changes.len(), page.next_cursor))
}

async fn feed_head(server: &TestServer) -> Result<Cursor> {
    let mut cursor: Option<Cursor> = None;
    loop {
        let page = server
            .storage
            .pull(&province(), cursor.as_ref(), 5000)
            .await?;
        let more = page.has_more;
        cursor = Some(page.next_cursor);
        if !more {
            return cursor.context("cursor");
        }
    }
}

/// Tallies for the closing line of each run.
#[derive(Debug, Default)]
struct Tally {
    tried: usize,
    refused_out_of_scope: usize,
    in_scope: usize,
    routes: usize,
}

async fn matrix(database: DatabaseLocation) -> Result<Tally> {
    let server = TestServer::start_with(database, ServerSettings::default()).await?;
    let mut targets = Vec::new();
    for (n, (place, scope)) in PLACES.iter().enumerate() {
        let village = village_in(scope);
        targets.push(make_target(&server, place, village, u32::try_from(n)?).await?);
    }
    let own = targets[0].clone();
    // Users of every role at each level above 南川村, an administrator of the county and one of
    // the province, and a department liaison.
    let specs: [(&str, Role, &str); 8] = [
        ("village worker", Role::VillageWorker, "621102105201"),
        ("township", Role::Township, "621102105"),
        ("county", Role::County, "621102"),
        ("city", Role::City, "6211"),
        ("province", Role::Province, "62"),
        ("county admin", Role::Admin, "621102"),
        ("province admin", Role::Admin, "62"),
        ("department liaison", Role::DepartmentLiaison, "621102"),
    ];
    let mut actors = Vec::new();
    for (i, (label, role, scope)) in specs.iter().enumerate() {
        let login = format!("1360000{i:04}");
        server.create_user(&login, *role, scope, PASSWORD).await?;
        actors.push(Actor {
            label,
            role: *role,
            scope: code(scope),
            api: ApiDevice::login(&server.url(), &login, PASSWORD).await?,
        });
    }
    let mut tally = Tally::default();
    let mut cursor = feed_head(&server).await?;

    // -- Sync commands -----------------------------------------------------------------------
    for (index, actor) in actors.iter().enumerate() {
        let me = serde_json::from_value(actor.api.user["id"].clone())?;
        for t in &targets {
            let in_scope = t.village.is_within(&actor.scope);
            for (name, body) in commands(t, &own, me, index) {
                tally.tried += 1;
                let outcome = push(&actor.api, vec![body]).await?.remove(0);
                let (changed, next) = changes_after(&server, &cursor).await?;
                cursor = next;
                let allowed_here = in_scope && (!moves_between(name) || t.village == own.village);
                match &outcome {
                    Outcome::Refused {
                        code, message_en, ..
                    } if !allowed_here => {
                        tally.refused_out_of_scope += 1;
                        if changed != 0 {
                            bail!(
                                "{} / {name} / {}: refused ({code}) but {changed} records changed",
                                actor.label,
                                t.place
                            );
                        }
                        if !in_scope && code != "out_of_scope" && code != "not_found" {
                            bail!(
                                "{} / {name} / {}: refused with {code} ({message_en}): scope must be checked first",
                                actor.label,
                                t.place
                            );
                        }
                    }
                    other if !allowed_here => {
                        bail!(
                            "{} / {name} / {}: out of scope, yet {other:?}",
                            actor.label,
                            t.place
                        )
                    }
                    Outcome::Refused { code, .. } if code == "out_of_scope" => {
                        bail!(
                            "{} / {name} / {}: in scope, yet refused as out of scope",
                            actor.label,
                            t.place
                        )
                    }
                    _ => tally.in_scope += 1,
                }
            }
        }
    }
    // Positive controls: within scope the same kinds go through.
    let worker = &actors[0];
    let me = serde_json::from_value(worker.api.user["id"].clone())?;
    let own_cmds = commands(&own, &own, me, 0);
    for wanted in [
        "create_household",
        "edit_household",
        "save_visit for the target's household",
        "record_photo on the target's household",
    ] {
        let body = own_cmds
            .iter()
            .find(|(n, _)| *n == wanted)
            .map(|(_, b)| b.clone())
            .context("command")?;
        let outcome = push(&worker.api, vec![body]).await?.remove(0);
        if !matches!(outcome, Outcome::Applied) {
            bail!("control: the village worker's own {wanted}: {outcome:?}");
        }
    }
    // The foreign photo named by a refused record is still unreadable to the worker.
    for t in &targets[1..] {
        if server
            .storage
            .blob_visible(&t.photo_shas[0], &worker.scope)
            .await?
        {
            bail!("the {} photo became readable in 南川村", t.place);
        }
    }

    // -- GET routes and blobs over HTTP ------------------------------------------------------
    let http = reqwest::Client::new();
    for actor in &actors {
        for t in &targets {
            let in_scope = t.village.is_within(&actor.scope);
            // Only the roles that work on cases read photos, and only within their scope.
            let readable = in_scope && actor.role.reads_case_files();
            let url = format!("{}/v1/blobs/{}", server.url(), t.photo_shas[ACTORS - 1]);
            for method in ["GET", "HEAD"] {
                tally.routes += 1;
                let resp = http
                    .request(method.parse()?, &url)
                    .bearer_auth(&actor.api.token)
                    .send()
                    .await?;
                let ok = resp.status().is_success();
                if ok != readable {
                    bail!(
                        "{method} blob of {} by {}: {}",
                        t.place,
                        actor.label,
                        resp.status()
                    );
                }
                if !in_scope
                    && resp
                        .headers()
                        .get("content-length")
                        .is_some_and(|v| v != "0")
                {
                    bail!("HEAD of a foreign blob tells its size to {}", actor.label);
                }
            }
            tally.routes += 1;
            let put = http
                .put(&url)
                .bearer_auth(&actor.api.token)
                .body(jpeg(&format!("target photo {} {}", t.village, ACTORS - 1)))
                .send()
                .await?;
            if !readable && put.status().is_success() {
                bail!("PUT of a foreign blob by {}: {}", actor.label, put.status());
            }
        }
        // The sync feed of the actor holds nothing of the villages outside its scope (and is
        // closed to the roles that do not work on cases).
        tally.routes += 1;
        if !actor.role.reads_case_files() {
            let (status, _) = actor.api.pull_raw(None, 10).await?;
            if status != 403 {
                bail!("{} pulled the feed: {status}", actor.label);
            }
            continue;
        }
        let snapshot = actor.api.snapshot(None, 5000).await?;
        for c in &snapshot.records {
            let v = code(&c.village);
            if !v.is_within(&actor.scope) {
                bail!("{}'s snapshot holds a record of {v}", actor.label);
            }
        }
    }

    // -- Department warnings ---------------------------------------------------------------------
    // A batch of 医保 for the county (sent by the liaison's department) and one for the other
    // city, each with a line naming someone not in the register.
    {
        let liaison_id = actors[7].api.user["id"]
            .as_str()
            .context("liaison id")?
            .to_owned();
        yijian_server::store::write(&*server.storage, move |tx| {
            tx.set_liaison_department(&liaison_id, Some("medical_security"))
        })
        .await?;
    }
    let mut warning_batches = Vec::new();
    for (scope, who) in [("621102", "本县预警人"), ("620102", "外市预警人")] {
        let sender = yijian_server::domain::alerts::Sender {
            department: "medical_security".into(),
            scope: code(scope),
            channel: "cli",
            by: "matrix".into(),
        };
        let csv = format!(
            "身份证号,姓名,预警事项,金额（元）,发生日期,备注\n{},{who},医疗自付费用高,30000,2026-11-30,\n",
            id_number(900)
        );
        let done = yijian_server::domain::alerts::import_file(
            &*server.storage,
            &sender,
            "matrix.csv",
            csv.as_bytes(),
            Utc::now(),
        )
        .await?;
        warning_batches.push((code(scope), who, done.summary.batch));
    }

    // -- Console pages and forms ---------------------------------------------------------------
    let mut browsers = BTreeMap::new();
    for (i, actor) in actors.iter().enumerate() {
        let mut b = Browser::new(&server.url())?;
        b.sign_in_with(&format!("1360000{i:04}"), PASSWORD).await?;
        browsers.insert(actor.label, b);
    }
    let foreign_user = server
        .create_user(
            "13511112222",
            Role::VillageWorker,
            targets[4].village.as_str(),
            PASSWORD,
        )
        .await?;
    let foreign_device = ApiDevice::login(&server.url(), "13511112222", PASSWORD).await?;
    for actor in &actors {
        let b = browsers.get_mut(actor.label).context("browser")?;
        let page = b.get("/console").await?;
        let csrf = input_value(&page.body, "csrf").unwrap_or_default();
        for t in &targets {
            let in_scope = t.village.is_within(&actor.scope);
            let gets = [
                format!("/console?scope={}", t.village),
                format!("/console/overdue?scope={}", t.village),
                // A city's overdue page counts the units below it (refused to anyone whose
                // scope is not the whole city, and out of scope whenever the village is).
                format!("/console/overdue?scope={}", &t.village.as_str()[..4]),
                format!("/console/cases?scope={}", t.village),
                format!("/console/cases/{}", t.case),
                format!("/console/photos/{}", t.photo_shas[ACTORS - 1]),
                format!("/print/village/{}", t.village),
                format!("/print/village/{}/sheet.png", t.village),
                format!("/print/village/{}/labels", t.village),
                format!("/console/admin/print?village={}", t.village),
            ];
            for path in &gets {
                tally.routes += 1;
                let p = b.get(path).await?;
                let shown = p.status == 200;
                if !in_scope && shown {
                    bail!("{} sees {path} ({}) out of scope", actor.label, t.place);
                }
                if !in_scope && p.body.contains(&t.applicant) {
                    bail!("{}'s refusal of {path} names {}", actor.label, t.applicant);
                }
            }
            // A step on the target's case from the console.
            tally.routes += 1;
            let before = feed_head(&server).await?;
            let p = b
                .post_multipart(
                    &format!("/console/cases/{}/step", t.case),
                    &[("csrf", &csrf), ("step", "accept")],
                )
                .await?;
            let (changed, _) = changes_after(&server, &before).await?;
            if !in_scope
                && (changed != 0
                    || p.status == 303 && p.location.as_deref().is_some_and(|l| l.contains("ok=")))
            {
                bail!(
                    "{}'s console step on the {} case: {} (changed {changed})",
                    actor.label,
                    t.place,
                    p.status
                );
            }
            // Contacts of the target's village.
            tally.routes += 1;
            let p = b
                .post(
                    "/console/admin/contacts",
                    &[
                        ("csrf", &csrf),
                        ("division", t.village.as_str()),
                        ("name", "乡镇办公室"),
                        ("phone", "09321234567"),
                    ],
                )
                .await?;
            if !in_scope
                && p.status == 303
                && p.location.as_deref().is_some_and(|l| l.contains("ok="))
            {
                bail!(
                    "{} set the contacts of {} out of scope",
                    actor.label,
                    t.place
                );
            }
            // A user created with the target's village as scope.
            tally.routes += 1;
            let login = format!("1350000{:04}", tally.routes % 10_000);
            let p = b
                .post(
                    "/console/admin/users",
                    &[
                        ("csrf", &csrf),
                        ("login", &login),
                        ("name", "新用户"),
                        ("role", "village_worker"),
                        ("scope", t.village.as_str()),
                        ("password", "a-long-password-1"),
                    ],
                )
                .await?;
            let created = server.storage.credentials(&login).await?.is_some();
            if created && (!in_scope || actor.role != Role::Admin) {
                bail!(
                    "{} created a user in {} ({})",
                    actor.label,
                    t.place,
                    p.status
                );
            }
        }
        // Warning batches: only within the user's scope, and for a liaison only its own
        // department's; uploads only by an administrator or the department's liaison.
        for (scope, who, batch) in &warning_batches {
            let may_see = scope.is_within(&actor.scope);
            tally.routes += 2;
            let list = b.get("/console/alerts").await?;
            if list.status != 200 || list.body.contains(batch.as_str()) != may_see {
                bail!(
                    "{} /console/alerts and the batch of {scope}: {} (expected shown: {may_see})",
                    actor.label,
                    list.status
                );
            }
            let report = b
                .get(&format!("/console/alerts/{batch}/report.csv"))
                .await?;
            if (report.status == 200) != may_see || (!may_see && report.body.contains(who)) {
                bail!(
                    "{} report of the batch of {scope}: {}",
                    actor.label,
                    report.status
                );
            }
        }
        // People the register lacks: listed to the chain's staff of the county where they are
        // registered, turned into a lead only by the township or the county, only in a
        // village of their own.
        tally.routes += 2;
        let list = b.get("/console/alerts/unmatched").await?;
        let reads = actor.role.reads_case_files();
        if (list.status == 200) != reads || list.body.contains("本县预警人") != reads {
            bail!("{} /console/alerts/unmatched: {}", actor.label, list.status);
        }
        let foreign = b.get("/console/alerts/unmatched?scope=620102").await?;
        if foreign.status == 200 && !code("620102").is_within(&actor.scope) {
            bail!("{} lists another city's unmatched people", actor.label);
        }
        let county_line = format!("{}:2", warning_batches[0].2);
        for t in &targets {
            tally.routes += 1;
            let row_of = || {
                let key = county_line.clone();
                yijian_server::store::read(&*server.storage, move |tx| {
                    tx.alert_row("medical_security", &key)
                })
            };
            let before = row_of().await?.context("the county's unmatched line")?;
            b.post(
                "/console/alerts/unmatched/lead",
                &[
                    ("csrf", &csrf),
                    ("department", "medical_security"),
                    ("row_key", &county_line),
                    ("village", t.village.as_str()),
                ],
            )
            .await?;
            let after = row_of().await?.context("the line")?;
            let made = before.case_id.is_none() && after.case_id.is_some();
            let may = matches!(actor.role, Role::Township | Role::County)
                && t.village.is_within(&actor.scope);
            if made && !may {
                bail!(
                    "{} made a lead in {} from an unmatched line",
                    actor.label,
                    t.place
                );
            }
            if may && after.case_id.is_none() {
                bail!("{} could not make the lead in {}", actor.label, t.place);
            }
        }
        // The spot checks: only the staff of the chain, only within their scope.
        tally.routes += 1;
        let sc = b.get("/console/spot-checks").await?;
        if (sc.status == 200) != actor.role.reads_case_files() {
            bail!("{} /console/spot-checks: {}", actor.label, sc.status);
        }
        let sc_foreign = b.get("/console/spot-checks?scope=620102").await?;
        if sc_foreign.status == 200 && !code("620102").is_within(&actor.scope) {
            bail!("{} sees another city's spot checks", actor.label);
        }
        tally.routes += 2;
        let t = b.get("/console/alerts/template/medical_security").await?;
        if t.status != 200
            || !t
                .body
                .contains("身份证号,姓名,预警事项,金额（元）,发生日期,备注")
        {
            bail!("{} template: {}", actor.label, t.status);
        }
        let before = yijian_server::store::read(&*server.storage, |tx| tx.alert_batches(1000))
            .await?
            .len();
        let upload_csv = format!(
            "身份证号,姓名,预警事项,金额（元）,发生日期,备注\n{},上传人{},医疗自付费用高,30000,2026-11-30,\n",
            id_number(901),
            actor.label
        );
        let p = b
            .post_file(
                "/console/alerts",
                &[("csrf", &csrf), ("department", "medical_security")],
                ("file", "matrix-upload.csv", upload_csv.as_bytes()),
            )
            .await?;
        let after = yijian_server::store::read(&*server.storage, |tx| tx.alert_batches(1000))
            .await?
            .len();
        let may_upload = actor.role == Role::Admin || actor.role == Role::DepartmentLiaison;
        if (after > before) != may_upload {
            bail!(
                "{} uploading a 医保 list: {} (batches {before} → {after})",
                actor.label,
                p.status
            );
        }

        // Department API keys: only administrators issue, and revoke only within their scope.
        tally.routes += 3;
        let keys = b.get("/console/admin/keys").await?;
        if (keys.status == 200) != (actor.role == Role::Admin) {
            bail!("{} /console/admin/keys: {}", actor.label, keys.status);
        }
        let count = || async {
            Ok::<usize, anyhow::Error>(
                yijian_server::store::read(&*server.storage, |tx| tx.department_keys())
                    .await?
                    .len(),
            )
        };
        let before = count().await?;
        let p = b
            .post(
                "/console/admin/keys",
                &[
                    ("csrf", &csrf),
                    ("department", "medical_security"),
                    ("label", "医保局系统"),
                ],
            )
            .await?;
        if (count().await? > before) != (actor.role == Role::Admin) {
            bail!("{} issuing a department key: {}", actor.label, p.status);
        }
        let (foreign_key, _) = yijian_server::domain::alerts::issue_key(
            &*server.storage,
            "medical_security",
            &code("620102"),
            "外市系统",
            "matrix",
            Utc::now(),
        )
        .await?;
        b.post(
            &format!("/console/admin/keys/{}/revoke", foreign_key.id),
            &[("csrf", &csrf)],
        )
        .await?;
        let revoked = yijian_server::store::read(&*server.storage, |tx| tx.department_keys())
            .await?
            .iter()
            .any(|k| k.id == foreign_key.id && k.revoked_at.is_some());
        let may_revoke = actor.role == Role::Admin && code("620102").is_within(&actor.scope);
        if revoked != may_revoke {
            bail!("{} revoking a key of another city: {revoked}", actor.label);
        }

        // The SMS log names no case outside the administrator's scope.
        tally.routes += 1;
        let p = b.get("/console/admin/sms").await?;
        for t in targets
            .iter()
            .filter(|t| !t.village.is_within(&actor.scope))
        {
            if p.status == 200 && p.body.contains(&t.applicant) {
                bail!("{}'s SMS log shows {}", actor.label, t.place);
            }
        }
        // Province-wide documents: only the province's administrators.
        for doc in ["calendar", "rules", "policy", "alert-rules"] {
            tally.routes += 2;
            let page = b.get(&format!("/console/admin/{doc}")).await?;
            let allowed = actor.role == Role::Admin && actor.scope == province();
            if (page.status == 200) != allowed {
                bail!("{} /console/admin/{doc}: {}", actor.label, page.status);
            }
            let json = input_textarea(&page.body).unwrap_or_else(|| "{}".into());
            let p = b
                .post(
                    &format!("/console/admin/{doc}"),
                    &[("csrf", &csrf), ("json", &json)],
                )
                .await?;
            let saved = p.status == 303 && p.location.as_deref().is_some_and(|l| l.contains("ok="));
            if saved != allowed {
                bail!("{} saving {doc}: {}", actor.label, p.status);
            }
        }
        // The setup code of a user in another city, and revoking that user's device.
        tally.routes += 2;
        let p = b
            .get(&format!(
                "/console/admin/users/{}/setup.png",
                foreign_user.id
            ))
            .await?;
        let foreign_in_scope = targets[4].village.is_within(&actor.scope);
        if p.status == 200 && !(foreign_in_scope && actor.role == Role::Admin) {
            bail!(
                "{} got the setup code of a user outside its scope",
                actor.label
            );
        }
        let p = b
            .post(
                &format!("/console/admin/devices/{}/revoke", foreign_device.device_id),
                &[("csrf", &csrf), ("user", &foreign_user.id.to_string())],
            )
            .await?;
        let live = server
            .storage
            .list_devices(foreign_user.id)
            .await?
            .iter()
            .any(|d| !d.revoked);
        if !live {
            if foreign_in_scope && actor.role == Role::Admin {
                // Allowed (the province's administrator); make a new device for the next actor.
                let _ = ApiDevice::login_as(
                    &server.url(),
                    "13511112222",
                    PASSWORD,
                    Some(foreign_device.device_id),
                )
                .await?;
            } else {
                bail!(
                    "{} revoked a device outside its scope ({})",
                    actor.label,
                    p.status
                );
            }
        }
    }
    // -- A device's escrow key and its wipe ---------------------------------------------------
    // The key is bound to the calling device's token (no parameter can name another device):
    // every role's device gets its own, the same on every call; nobody without a live token
    // gets one; a revoked device is told so, gets no key, and only its revoked token can
    // confirm its wipe.
    let http = reqwest::Client::new();
    let key_url = format!("{}/v1/device/key", server.url());
    let wiped_url = format!("{}/v1/device/wiped", server.url());
    let mut keys = std::collections::BTreeSet::new();
    tally.routes += 1;
    let anonymous = http.get(&key_url).send().await?;
    if anonymous.status() != 401 {
        bail!("an escrow key without a token: {}", anonymous.status());
    }
    for actor in &actors {
        let get = || http.get(&key_url).bearer_auth(&actor.api.token).send();
        tally.routes += 1;
        let first: serde_json::Value = get().await?.error_for_status()?.json().await?;
        let again: serde_json::Value = get().await?.error_for_status()?.json().await?;
        let key = first["escrow_key"]
            .as_str()
            .context("escrow_key")?
            .to_owned();
        if again["escrow_key"] != first["escrow_key"] || !keys.insert(key) {
            bail!("{}: the escrow key is not its device's own", actor.label);
        }
        tally.routes += 1;
        let live_wipe = http
            .post(&wiped_url)
            .bearer_auth(&actor.api.token)
            .send()
            .await?;
        if live_wipe.status() != 401 {
            bail!(
                "{}: a live device confirmed a wipe: {}",
                actor.label,
                live_wipe.status()
            );
        }
    }
    for actor in &actors {
        server.storage.revoke_device(actor.api.device_id).await?;
        tally.routes += 2;
        let refused = http
            .get(&key_url)
            .bearer_auth(&actor.api.token)
            .send()
            .await?;
        let body: serde_json::Value = refused.json().await?;
        if body["code"] != "device_revoked" {
            bail!("{}: a revoked device was not told so: {body}", actor.label);
        }
        let wiped = http
            .post(&wiped_url)
            .bearer_auth(&actor.api.token)
            .send()
            .await?;
        if wiped.status() != 204 {
            bail!(
                "{}: the wipe confirmation was refused: {}",
                actor.label,
                wiped.status()
            );
        }
        let user = serde_json::from_value(actor.api.user["id"].clone())?;
        let confirmed = server
            .storage
            .list_devices(user)
            .await?
            .iter()
            .any(|d| d.id == actor.api.device_id && d.wiped_at.is_some());
        if !confirmed {
            bail!("{}: the wipe is not on record", actor.label);
        }
    }
    server.stop().await?;
    Ok(tally)
}

/// The text of the page's JSON editor.
fn input_textarea(body: &str) -> Option<String> {
    let at = body.find("<textarea name=\"json\"")?;
    let rest = &body[at..];
    let start = rest.find('>')? + 1;
    let end = rest.find("</textarea>")?;
    Some(
        rest[start..end]
            .replace("&quot;", "\"")
            .replace("&lt;", "<")
            .replace("&gt;", ">")
            .replace("&amp;", "&"),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_scope_is_refused_and_changes_nothing_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let t = matrix(DatabaseLocation::Sqlite {
        data_dir: dir.path().join("data"),
    })
    .await?;
    eprintln!("authorisation matrix (sqlite): {t:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread")]
async fn out_of_scope_is_refused_and_changes_nothing_on_postgres() -> Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("matrix").await?;
    let t = matrix(DatabaseLocation::Postgres { url }).await?;
    eprintln!("authorisation matrix (postgres): {t:?}");
    Ok(())
}
