//! The real app, built and driven through WebDriver (tauri-driver + WebKitWebDriver under a
//! virtual display), against a real server on a real port.
//!
//! One worker's day, end to end: first login and PIN; the inbox shows the synced cases; the
//! server goes down; a full home visit with photos is made offline and saved as a draft; the
//! app is closed and opened again with the PIN and the draft is intact; the visit is
//! finalised; a proxy declaration is made offline with the applicant's confirmation photo; the
//! door plate is scanned; the server comes back, the sync screen shows progress and completes;
//! and the server then holds the visit, its result, the declaration with who filled it and the
//! confirmation, and every photo byte for byte as the app's pipeline produced it.
//!
//! Every screen is saved at 360×740 under `target/screenshots/app-*.png`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, ensure};
use serde_json::Value;
use yijian_core::case::{Applicant, CaseSource, Declaration, RiskType};
use yijian_core::division::DivisionCode;
use yijian_core::household::{Household, Member, Relation};
use yijian_core::ids::{CaseId, HouseholdId, MemberId};
use yijian_core::protocol::CommandBody;
use yijian_core::role::Role;
use yijian_core::workflow::Step;
use yijian_server::ServerSettings;
use yijian_server::config::DatabaseLocation;
use yijian_tests::api::ApiDevice;
use yijian_tests::device::{PASSWORD, server_records};
use yijian_tests::server::TestServer;
use yijian_tests::webdriver::{Driver, Session, app_binary};

const VILLAGE: &str = "621102105201";
const TOWNSHIP: &str = "621102105";
const WORKER: &str = "13800000001";
const TOWNSHIP_USER: &str = "13800000002";
const PIN: &str = "246813";
const REMINDER: &str = "南川村张**的入户核查还剩5个工作日，请按时办理。";

/// The households of the village: head, door plate.
const HOUSEHOLDS: [(&str, &str); 3] = [
    ("王建国", "621102105201-001"),
    ("李秀英", "621102105201-002"),
    ("张志强", "621102105201-003"),
];

fn photo(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../client/tests/data/photos")
        .join(name)
}

/// How the test answers each checklist item through the screen, in template order.
enum Act {
    Yes,
    No,
    Type(&'static str),
    Pick(&'static str),
    Photo(&'static str),
}

/// The full checklist for a 4-person household below the line with safe water: every item
/// the form shows, and the three photos it needs (house, water source, signed authorisation).
const ANSWERS: &[(&str, Act)] = &[
    ("household_size", Act::Type("4")),
    ("labour_count", Act::Type("2")),
    ("seriously_ill_count", Act::Type("1")),
    ("disabled_count", Act::Type("0")),
    ("migrant_worker_count", Act::Type("1")),
    ("income_wages", Act::Type("12000")),
    ("income_crops", Act::Type("3000")),
    ("income_livestock", Act::Type("0")),
    ("income_other_business", Act::Type("0")),
    ("income_dibao", Act::Type("0")),
    ("income_tekun", Act::Type("0")),
    ("income_disability_allowance", Act::Type("0")),
    ("income_pension", Act::Type("1200")),
    ("income_other_transfers", Act::Type("0")),
    ("income_property", Act::Type("0")),
    ("cost_production", Act::Type("1500")),
    ("spending_medical_out_of_pocket", Act::Type("0")),
    ("spending_education", Act::Type("0")),
    ("food_sufficient", Act::Yes),
    ("clothing_sufficient", Act::Yes),
    ("has_school_age_children", Act::No),
    ("medical_insurance_all", Act::Yes),
    ("critical_illness_insurance", Act::Yes),
    ("has_chronic_patient", Act::No),
    ("housing_rating", Act::Pick("b")),
    ("housing_rating", Act::Photo("orientation/Landscape_6.jpg")),
    ("housing_cracks", Act::No),
    ("housing_leaks", Act::No),
    ("water_source_type", Act::Pick("piped")),
    ("water_litres_per_person_day", Act::Type("40")),
    ("water_quality_method", Act::Pick("sensory")),
    ("water_quality_ok", Act::Yes),
    ("water_piped_in", Act::Yes),
    ("water_outage_days", Act::Type("3")),
    (
        "water_source_photo",
        Act::Photo("orientation/Portrait_1.jpg"),
    ),
    ("risk_types", Act::Pick("illness")),
    (
        "hardship_description",
        Act::Type("户主患病住院，家中收入减少"),
    ),
    ("needs", Act::Pick("medical_assistance")),
    ("conclusion", Act::Pick("qualifies")),
    ("monitoring_category", Act::Pick("marginal_at_risk")),
    (
        "authorisation_signature",
        Act::Photo("nikon_p6000_gps_small.jpg"),
    ),
];

/// Server-side setup: a worker and a township user; three households with one accepted case
/// each, filed through the sync API by the township.
async fn village(server: &TestServer) -> Result<Vec<(HouseholdId, CaseId)>> {
    server
        .create_user(WORKER, Role::VillageWorker, VILLAGE, PASSWORD)
        .await?;
    server
        .create_user(TOWNSHIP_USER, Role::Township, TOWNSHIP, PASSWORD)
        .await?;
    let township = ApiDevice::login(&server.url(), TOWNSHIP_USER, PASSWORD).await?;
    let village = DivisionCode::parse(VILLAGE)?;
    let mut commands = Vec::new();
    let mut ids = Vec::new();
    for (i, (head, plate)) in HOUSEHOLDS.iter().enumerate() {
        let mut h = Household::new(
            HouseholdId::new(),
            village.clone(),
            format!("{}社{}号", i + 1, i + 3),
        )?;
        h.door_plate = Some((*plate).to_owned());
        h.add_member(Member::new(MemberId::new(), *head, Relation::Head))?;
        let case_id = CaseId::new();
        commands.push(CommandBody::CreateHousehold(h.clone()));
        commands.push(CommandBody::Declare(Declaration {
            case_id,
            household_id: Some(h.id),
            village: village.clone(),
            source: CaseSource::WorkerDiscovery,
            risk_types: vec![RiskType::Illness],
            description: "户主突发重病，医疗支出大".into(),
            applicant: Applicant {
                name: (*head).to_owned(),
                id_number: [
                    "11010519491231002X",
                    "11010519510101001X",
                    "620102198001010017",
                ][i]
                    .into(),
                phone: None,
                address: h.address.clone(),
                household_size: Some(4),
            },
            proxy: None,
            declared_at: chrono::Utc::now(),
        }));
        commands.push(CommandBody::CaseStep {
            case_id,
            step: Step::Accept,
        });
        ids.push((h.id, case_id));
    }
    let results = township.push_bodies(commands).await?;
    ensure!(
        results.iter().all(|o| o == "applied"),
        "seeding refused: {results:?}"
    );
    // A reminder for the worker, as the deadline job writes it.
    let (_, reminded) = ids[0];
    yijian_server::store::write(&*server.storage, move |tx| {
        tx.notify(&yijian_server::store::rows::Notification {
            id: 0,
            role: Role::VillageWorker,
            scope: VILLAGE.into(),
            case_id: Some(reminded.to_string()),
            kind: "due_soon".into(),
            text_zh: REMINDER.into(),
            at: chrono::Utc::now(),
        })
    })
    .await?;
    Ok(ids)
}

async fn answer(s: &Session, key: &str, act: &Act) -> Result<()> {
    // The item may be on a later section: page forward until it shows.
    s.wait_for(&format!("checklist item {key}"), || async {
        if s.try_find(&format!("[data-item-key=\"{key}\"]"))
            .await?
            .is_some()
        {
            return Ok(Some(()));
        }
        s.click_css("#section-next").await?;
        s.idle().await?;
        Ok(None)
    })
    .await?;
    let item = format!("[data-item-key=\"{key}\"]");
    match act {
        Act::Yes => {
            s.click_css(&format!("{item} button[data-answer=\"true\"]"))
                .await?
        }
        Act::No => {
            s.click_css(&format!("{item} button[data-answer=\"false\"]"))
                .await?
        }
        Act::Pick(v) => {
            s.click_css(&format!("{item} button[data-answer=\"{v}\"]"))
                .await?
        }
        Act::Type(text) => {
            s.type_into(&format!("[data-input=\"{key}\"]"), text)
                .await?;
        }
        Act::Photo(name) => {
            let before = photo_count(s, key).await?;
            s.upload(
                &format!("input[type=file][data-photo-input=\"{key}\"]"),
                &photo(name),
            )
            .await?;
            s.wait_for(&format!("the photo of {key}"), || async {
                Ok((photo_count(s, key).await? > before).then_some(()))
            })
            .await?;
        }
    }
    s.idle().await
}

async fn photo_count(s: &Session, key: &str) -> Result<u64> {
    let n = s
        .execute(
            "return document.querySelectorAll(`[data-item-key=\"${arguments[0]}\"] [data-photo-id]`).length;",
            vec![Value::String(key.to_owned())],
        )
        .await?;
    Ok(n.as_u64().unwrap_or(0))
}

async fn login_and_set_pin(s: &Session, server_url: &str, large_text: &LargeText) -> Result<()> {
    s.set_size(360, 740).await?;
    s.screen("login").await?;
    large_text.check(s, "login").await?;
    s.screenshot("app-01-login").await?;
    s.type_into("#login-server", server_url).await?;
    s.type_into("#login-phone", WORKER).await?;
    s.type_into("#login-password", "wrong password").await?;
    s.click_css("#login-submit").await?;
    s.idle().await?;
    s.wait_for("the wrong password message", || async {
        Ok(s.page_text()
            .await?
            .contains("手机号或密码不正确")
            .then_some(()))
    })
    .await?;
    s.screenshot("app-02-login-error").await?;
    s.type_into("#login-password", PASSWORD).await?;
    s.click_css("#login-submit").await?;
    s.screen("set-pin").await?;
    large_text.check(s, "set-pin").await?;
    s.screenshot("app-03-set-pin").await?;
    s.type_into("#pin-new", PIN).await?;
    s.type_into("#pin-repeat", PIN).await?;
    s.click_css("#pin-submit").await?;
    s.screen("inbox").await?;
    Ok(())
}

async fn inbox_rows(s: &Session) -> Result<u64> {
    let n = s
        .execute(
            "return document.querySelectorAll('[data-case-id]').length;",
            vec![],
        )
        .await?;
    Ok(n.as_u64().unwrap_or(0))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_worker_day_offline_from_login_to_sync() -> Result<()> {
    let app = app_binary()?;
    let home = tempfile::tempdir()?;
    let server_dir = home.path().join("server");
    let database = DatabaseLocation::Sqlite {
        data_dir: server_dir.clone(),
    };
    let server = TestServer::start_with(database.clone(), ServerSettings::default()).await?;
    let addr = server.addr;
    let url = server.url();
    let seeded = village(&server).await?;
    let phone_dir = home.path().join("phone");
    let driver = Driver::start(&[("YIJIAN_APP_DATA_DIR", phone_dir.as_path())]).await?;

    // First run: login (a wrong password first), PIN, the inbox fills from the server.
    step("first run");
    let s = driver.session(&app).await?;
    let large_text = LargeText::new()?;
    login_and_set_pin(&s, &url, &large_text).await?;
    s.wait_for("three synced cases in the inbox", || async {
        Ok((inbox_rows(&s).await? == 3).then_some(()))
    })
    .await?;
    for (head, _) in HOUSEHOLDS {
        ensure!(
            s.text("#inbox-list").await?.contains(head),
            "{head} missing"
        );
    }
    s.screenshot("app-04-inbox").await?;

    // The reminder came with the sync: the inbox says so, the list shows it and opens its
    // household, and once read the inbox goes quiet.
    s.wait_for("the unread reminder on the inbox", || async {
        Ok(s.text("#notices-link")
            .await?
            .contains("1条新消息")
            .then_some(()))
    })
    .await?;
    s.click_css("#notices-link").await?;
    s.screen("notices").await?;
    ensure!(s.text("#notice-list").await?.contains(REMINDER));
    s.screenshot("app-04b-notices").await?;
    s.click_css("#notice-list .notice-row").await?;
    s.screen("household").await?;
    s.find(&format!("[data-household-id=\"{}\"]", seeded[0].0))
        .await?;
    s.execute("location.hash = '#/inbox';", vec![]).await?;
    s.screen("inbox").await?;
    s.wait_for("the reminder read", || async {
        Ok(s.text("#notices-link")
            .await?
            .contains("查看消息")
            .then_some(()))
    })
    .await?;
    s.type_into("#inbox-search", "-002").await?;
    s.wait_for("the search to narrow the list", || async {
        Ok((inbox_rows(&s).await? == 1).then_some(()))
    })
    .await?;
    ensure!(s.text("#inbox-list").await?.contains("李秀英"));
    s.screenshot("app-05-inbox-search").await?;
    s.type_into("#inbox-search", "").await?;

    // The signal goes: from here on the server is down.
    step("server down");
    server.stop().await?;

    let (household, case) = seeded[0];
    s.wait_for("all rows again", || async {
        Ok((inbox_rows(&s).await? == 3).then_some(()))
    })
    .await?;
    s.click_css(&format!("[data-case-id=\"{case}\"]")).await?;
    s.screen("household").await?;
    s.find(&format!("[data-household-id=\"{household}\"]"))
        .await?;
    s.screenshot("app-06-household").await?;
    s.click_css("#start-visit").await?;
    s.screen("visit").await?;
    // Where and before whom: a desktop has no position and the visit says so plainly; the
    // head of household is ticked present and a cadre added.
    step("place and people present");
    s.wait_for("the place to be noted", || async {
        Ok(s.text("#visit-place")
            .await?
            .contains("电脑版")
            .then_some(()))
    })
    .await?;
    s.click_css("#visit-present-members [data-member]").await?;
    s.wait_for("the head to be ticked", || async {
        s.try_find("#visit-present-members [data-member][aria-pressed=\"true\"]")
            .await
    })
    .await?;
    s.type_into("#visit-cadre-name", "马永成").await?;
    s.click_css("#visit-cadre-add").await?;
    s.wait_for("the cadre to be listed", || async {
        Ok(s.text("#visit-present-cadres")
            .await?
            .contains("马永成（村干部）")
            .then_some(()))
    })
    .await?;
    s.screenshot("app-07-visit-first-section").await?;
    let visit_id = s
        .execute(
            "return document.querySelector('[data-screen=visit]').dataset.visitId;",
            vec![],
        )
        .await?
        .as_str()
        .context("visit id")?
        .to_owned();
    let mut shot = 8;
    let mut last_section = String::new();
    for (key, act) in ANSWERS {
        step(&format!("answer {key}"));
        answer(&s, key, act).await?;
        let section = s.text("#section-title").await?;
        if section != last_section {
            s.screenshot(&format!("app-{shot:02}-visit-{key}")).await?;
            shot += 1;
            last_section = section;
        }
    }
    let results = s.text("#visit-results").await?;
    ensure!(
        results.contains("3675") || results.contains("3,675"),
        "per-person income: {results}"
    );
    s.click_css("#visit-save").await?;
    s.idle().await?;
    s.wait_for("the saved-draft time", || async {
        Ok((!s.text("#visit-saved-at").await?.trim().is_empty()).then_some(()))
    })
    .await?;
    s.screenshot(&format!("app-{shot:02}-visit-saved")).await?;
    shot += 1;

    // The app is closed and opened again: locked, then the PIN, and the draft is intact.
    step("reopen");
    s.quit().await?;
    let s = driver.session(&app).await?;
    s.set_size(360, 740).await?;
    s.screen("locked").await?;
    large_text.check(&s, "locked").await?;
    s.screenshot(&format!("app-{shot:02}-locked")).await?;
    shot += 1;
    s.type_into("#pin-unlock", "135791").await?;
    s.click_css("#unlock-submit").await?;
    s.idle().await?;
    s.wait_for("the wrong PIN message", || async {
        Ok(s.page_text().await?.contains("PIN不正确").then_some(()))
    })
    .await?;
    s.type_into("#pin-unlock", PIN).await?;
    s.click_css("#unlock-submit").await?;
    s.screen("inbox").await?;
    s.click_css(&format!("[data-case-id=\"{case}\"]")).await?;
    s.screen("household").await?;
    s.click_css("#continue-visit").await?;
    s.screen("visit").await?;
    s.find(&format!("[data-visit-id=\"{visit_id}\"]")).await?;
    // Page to the household-size item on the first section and check what was typed.
    while s.try_find("#section-prev").await?.is_some()
        && s.try_find("[data-input=\"household_size\"]")
            .await?
            .is_none()
    {
        s.click_css("#section-prev").await?;
        s.idle().await?;
    }
    ensure!(
        s.value("[data-input=\"household_size\"]").await? == "4",
        "draft lost"
    );
    // Finalise from the last section.
    s.wait_for("the last section", || async {
        if s.try_find("#visit-finalise").await?.is_some() {
            return Ok(Some(()));
        }
        s.click_css("#section-next").await?;
        s.idle().await?;
        Ok(None)
    })
    .await?;
    ensure!(
        photo_count(&s, "authorisation_signature").await? == 1,
        "photo lost"
    );
    s.screenshot(&format!("app-{shot:02}-visit-reopened"))
        .await?;
    shot += 1;
    s.click_css("#visit-finalise").await?;
    s.idle().await?;
    s.wait_for("the visit to be locked", || async {
        Ok(s.page_text().await?.contains("已定稿").then_some(()))
    })
    .await?;
    s.screenshot(&format!("app-{shot:02}-visit-final")).await?;
    shot += 1;

    // A proxy declaration, offline, for a new household.
    step("proxy declaration");
    s.click_css("#nav-proxy").await?;
    s.screen("proxy-form").await?;
    s.type_into("#pf-name", "马桂兰").await?;
    s.type_into("#pf-id", "110105195101010011").await?; // a wrong check digit first
    s.type_into("#pf-address", "5社2号").await?;
    s.type_into("#pf-size", "2").await?;
    s.click_css("[data-risk=\"illness\"]").await?;
    s.click_css("[data-risk=\"housing_safety\"]").await?;
    s.type_into("#pf-description", "老伴瘫痪在床，房子漏雨")
        .await?;
    s.type_into("#pf-relation", "驻村干部").await?;
    s.click_css("#pf-confirmation-thumbprint").await?;
    s.click_css("#pf-next").await?;
    s.idle().await?;
    s.find("[data-error-for=\"id_number\"]").await?;
    ensure!(
        s.value("#pf-name").await? == "马桂兰",
        "typed name lost on error"
    );
    s.screenshot(&format!("app-{shot:02}-proxy-error")).await?;
    shot += 1;
    s.type_into("#pf-id", "620102198001010017").await?;
    s.click_css("#pf-next").await?;
    s.screen("proxy-readback").await?;
    large_text.check(&s, "proxy-readback").await?;
    let readback = s.text("#readback").await?;
    ensure!(
        readback.contains("马桂兰") && readback.contains("驻村干部"),
        "{readback}"
    );
    s.screenshot(&format!("app-{shot:02}-proxy-readback"))
        .await?;
    shot += 1;
    s.click_css("#readback-ok").await?;
    s.screen("proxy-confirm").await?;
    large_text.check(&s, "proxy-confirm").await?;
    s.upload("#pf-photo-input", &photo("orientation/Portrait_3.jpg"))
        .await?;
    s.find("#pf-photo-preview img").await?;
    s.screenshot(&format!("app-{shot:02}-proxy-confirm"))
        .await?;
    shot += 1;
    s.click_css("#pf-submit").await?;
    s.screen("proxy-done").await?;
    large_text.check(&s, "proxy-done").await?;
    let proxy_case = s
        .execute(
            "return document.querySelector('#pf-done-case').dataset.caseId;",
            vec![],
        )
        .await?
        .as_str()
        .context("proxy case id")?
        .to_owned();
    s.screenshot(&format!("app-{shot:02}-proxy-done")).await?;
    shot += 1;

    // The door-plate scan: a printed code opens the household; an unknown one says so.
    step("door-plate scan");
    let codes = home.path().join("codes");
    std::fs::create_dir_all(&codes)?;
    let known = codes.join("known.png");
    qr_png(&yijian_core::qrcodes::door_plate_text(seeded[1].0), &known)?;
    let unknown = codes.join("unknown.png");
    qr_png(
        &yijian_core::qrcodes::door_plate_text(HouseholdId::new()),
        &unknown,
    )?;
    s.click_css("#nav-scan").await?;
    s.screen("scan").await?;
    large_text.check(&s, "scan").await?;
    s.screenshot(&format!("app-{shot:02}-scan")).await?;
    shot += 1;
    s.upload("#scan-file", &unknown).await?;
    s.wait_for("the unknown-code message", || async {
        Ok(s.text("#scan-result")
            .await?
            .contains("未找到")
            .then_some(()))
    })
    .await?;
    s.screenshot(&format!("app-{shot:02}-scan-unknown")).await?;
    shot += 1;
    s.upload("#scan-file", &known).await?;
    s.screen("household").await?;
    s.find(&format!("[data-household-id=\"{}\"]", seeded[1].0))
        .await?;

    // The signal returns: the server comes back on its old port; sync shows progress.
    step("server back");
    let server = TestServer::start_at(database, ServerSettings::default(), addr).await?;
    s.click_css("#nav-sync").await?;
    s.screen("sync").await?;
    let waiting: u64 = digits(&s.text("#sync-outbox").await?);
    ensure!(waiting > 0, "nothing waiting to be sent?");
    s.screenshot(&format!("app-{shot:02}-sync-waiting")).await?;
    shot += 1;
    s.execute(
        "window.__progress = []; \
         document.querySelectorAll('progress').forEach(p => new MutationObserver(() => \
           window.__progress.push([p.id, p.value, p.max])).observe(p, {attributes: true}));",
        vec![],
    )
    .await?;
    s.click_css("#sync-now").await?;
    s.wait_for("the outbox and the photos to empty", || async {
        let outbox = digits(&s.text("#sync-outbox").await?);
        let photos = digits(&s.text("#sync-photos-waiting").await?);
        Ok((outbox == 0 && photos == 0).then_some(()))
    })
    .await?;
    let progress = s.execute("return window.__progress;", vec![]).await?;
    ensure!(
        progress.as_array().is_some_and(|p| !p.is_empty()),
        "no progress was shown"
    );
    s.screenshot(&format!("app-{shot:02}-sync-done")).await?;

    // Old eyes: every screen at the phone's 200 % text setting holds (nothing runs off the
    // screen, no control covers another); at the normal size, text contrast is at least 4.5:1
    // (axe-core, measured on the rendered screen) and every control is at least 48 px.
    step("200 % text");
    let screens = [
        ("inbox", "inbox".to_owned()),
        ("household", format!("household/{household}")),
        ("visit", format!("visit/{visit_id}/1")),
        ("proxy-form", "proxy".to_owned()),
        ("sync", "sync".to_owned()),
        ("notices", "notices".to_owned()),
        ("settings", "settings".to_owned()),
    ];
    for (screen, route) in &screens {
        s.execute(
            "location.hash = '#/' + arguments[0];",
            vec![Value::String(route.clone())],
        )
        .await?;
        s.screen(screen).await?;
        s.idle().await?;
        large_text.check(&s, screen).await?;
    }
    // Tibetan beside Chinese (设置 → 语言): the screens' texts as Tibetan with their Chinese,
    // drawn in WebKit with the app's own Tibetan font, holding at 200 % as well; then back.
    step("Tibetan");
    s.click_css("#lang-bo").await?;
    ensure!(
        s.execute("return document.documentElement.lang;", vec![])
            .await?
            == "bo",
        "the app did not switch to Tibetan"
    );
    for (screen, route) in [
        ("inbox", "inbox"),
        ("sync", "sync"),
        ("settings", "settings"),
    ] {
        s.execute(
            "location.hash = '#/' + arguments[0];",
            vec![Value::String(route.to_owned())],
        )
        .await?;
        s.screen(screen).await?;
        s.idle().await?;
        let found = s.execute(TIBETAN_CHECK, vec![]).await?;
        ensure!(
            found["pairs"].as_u64().unwrap_or(0) >= 3
                && found["font"] == true
                && found["alone"].as_array().is_some_and(Vec::is_empty)
                && found["digits"] == false,
            "{screen} in Tibetan: {found}"
        );
        s.screenshot(&format!("app-bo-{screen}")).await?;
        large_text.check(&s, &format!("bo-{screen}")).await?;
    }
    s.click_css("#lang-zh").await?;
    let left = s
        .execute(
            "return [document.documentElement.lang, document.querySelectorAll('.bi').length];",
            vec![],
        )
        .await?;
    ensure!(
        left == serde_json::json!(["zh-CN", 0]),
        "back to Chinese: {left}"
    );
    let problems = large_text
        .problems
        .lock()
        .map(|p| p.clone())
        .unwrap_or_default();
    ensure!(problems.is_empty(), "large text: {problems:#?}");
    s.quit().await?;
    drop(driver);

    // The day was done on an encrypted store: nothing the worker typed or photographed can be
    // read from the phone's data directory.
    step("checking the phone's files");
    let mut seen = 0;
    let mut stack = vec![phone_dir.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let path = entry?.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let bytes = std::fs::read(&path)?;
            seen += 1;
            for secret in ["马桂兰", "620102198001010017", "驻村干部"] {
                ensure!(
                    !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
                    "{} contains {secret}",
                    path.display()
                );
            }
            ensure!(
                !bytes.starts_with(b"SQLite format 3") && !bytes.starts_with(&[0xFF, 0xD8, 0xFF]),
                "{} is a plain database or photo",
                path.display()
            );
        }
    }
    ensure!(
        seen >= 3,
        "the phone's store, keys and photos were checked ({seen} files)"
    );

    // The server holds the visit, its result, both declarations' records and every photo.
    step("checking the server");
    let township = ApiDevice::login(&server.url(), TOWNSHIP_USER, PASSWORD).await?;
    let records = server_records(&server, VILLAGE).await?;
    let visit = &records
        .get(&("visit".to_owned(), visit_id.clone()))
        .context("the visit reached the server")?
        .3;
    ensure!(visit["status"]["state"] == "final", "{visit}");
    ensure!(visit["answers"]["household_size"]["value"] == 4, "{visit}");
    ensure!(
        visit["location"]["state"] == "unavailable"
            && visit["location"]["reason"] == "no_location_service",
        "the desktop's missing position is on record: {visit}"
    );
    ensure!(
        visit["present"].as_array().map(Vec::len) == Some(2)
            && visit["present"][1]["name"] == "马永成",
        "{visit}"
    );
    let case_body = &records[&("case".to_owned(), case.to_string())].3;
    ensure!(
        case_body["state"]["stage"] == "verified_qualifies",
        "the result reached the server: {case_body}"
    );
    let mut checked = 0;
    for ((kind, _), (_, _, _, body)) in &records {
        if kind != "photo" {
            continue;
        }
        let source = match (&body["owner"]["kind"], body["owner"]["item_key"].as_str()) {
            (k, Some(item)) if k == "visit_item" => ANSWERS
                .iter()
                .find_map(|(key, act)| match act {
                    Act::Photo(file) if *key == item => Some(*file),
                    _ => None,
                })
                .context("photo of an item the test filled")?,
            (k, None) if k == "proxy_confirmation" => "orientation/Portrait_3.jpg",
            other => anyhow::bail!("unexpected photo owner {other:?}"),
        };
        let expected = yijian_client::photo::process_photo(&std::fs::read(photo(source))?)?;
        let stored = township
            .blob(body["sha256"].as_str().context("sha")?)
            .await?;
        ensure!(
            stored == expected.jpeg,
            "{source}: stored bytes differ from the pipeline's"
        );
        let thumb = township
            .blob(body["thumb_sha256"].as_str().context("thumb")?)
            .await?;
        ensure!(thumb == expected.thumb, "{source}: thumbnail differs");
        checked += 1;
    }
    ensure!(
        checked == 4,
        "3 visit photos + 1 confirmation, found {checked}"
    );
    let proxy = &records[&("case".to_owned(), proxy_case.clone())].3;
    ensure!(proxy["declaration"]["source"] == "proxy_filed", "{proxy}");
    ensure!(
        proxy["declaration"]["proxy"]["relation_to_applicant"] == "驻村干部"
            && proxy["declaration"]["proxy"]["read_back_done"] == true
            && proxy["declaration"]["proxy"]["confirmation"] == "thumbprint",
        "{proxy}"
    );
    ensure!(
        proxy["receipt_no"].is_string(),
        "the server numbered it: {proxy}"
    );
    server.stop().await
}

/// The large-text checks of one screen as shown now (see [`LARGE_TEXT_CHECKS`]): targets and
/// contrast at the normal size, then layout at the phone's 200 % with a screenshot. Problems are
/// collected, so one run names them all.
struct LargeText {
    axe: String,
    problems: std::sync::Mutex<Vec<String>>,
}

impl LargeText {
    fn new() -> Result<LargeText> {
        let axe = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("browser/node_modules/axe-core/axe.min.js"),
        )
        .context("axe-core (make test installs it into tests/browser first)")?;
        Ok(LargeText {
            axe,
            problems: std::sync::Mutex::new(Vec::new()),
        })
    }

    fn note(&self, problem: String) {
        if let Ok(mut p) = self.problems.lock() {
            p.push(problem);
        }
    }

    async fn check(&self, s: &Session, screen: &str) -> Result<()> {
        let found = s.execute(LARGE_TEXT_CHECKS, vec![]).await?;
        let small = found["small"].as_array().cloned().unwrap_or_default();
        if !small.is_empty() {
            self.note(format!("{screen}: targets under 48 px: {small:?}"));
        }
        let axe = &self.axe;
        let contrast = s
            .execute(
                &format!(
                    "{axe}\n;return axe.run(document, {{runOnly: {{type: 'rule', values: ['color-contrast']}}}})\
                     .then(r => r.violations.flatMap(v => v.nodes.map(n => n.target.join(' ') + ': ' + n.failureSummary)));"
                ),
                vec![],
            )
            .await?;
        if contrast.as_array().is_some_and(|a| !a.is_empty()) {
            self.note(format!("{screen}: contrast under 4.5:1: {contrast}"));
        }
        s.execute(
            // The phone's 200 % doubles the webview's base size; the app's own rule
            // (ui/src/prefs.ts) then turns on its big-text layout from 28 px up.
            "const root = document.documentElement; root.dataset.normalSize = root.style.fontSize; \
             const px = parseFloat(getComputedStyle(root).fontSize) * 2; \
             root.style.fontSize = px + 'px'; root.classList.toggle('big-text', px >= 28);",
            vec![],
        )
        .await?;
        s.screenshot(&format!("app-200-{screen}")).await?;
        let found = s.execute(LARGE_TEXT_CHECKS, vec![]).await?;
        let layout = found["layout"].as_array().cloned().unwrap_or_default();
        if !layout.is_empty() {
            self.note(format!("{screen} at 200 %: {layout:?}"));
        }
        s.execute(
            "const root = document.documentElement; root.style.fontSize = root.dataset.normalSize; \
             root.classList.toggle('big-text', parseFloat(getComputedStyle(root).fontSize) >= 28);",
            vec![],
        )
        .await?;
        Ok(())
    }
}

/// Run in the webview on a Tibetan screen: how many Tibetan-and-Chinese pairs it shows, whether
/// the app's Tibetan font loaded and matches Tibetan letters, Tibetan shown without its Chinese,
/// and whether Tibetan digits appear (numbers stay Arabic).
const TIBETAN_CHECK: &str = r#"
return document.fonts.load('20px "Yijian Tibetan"', 'ཀ').then((faces) => ({
  pairs: document.querySelectorAll('.bi').length,
  font: faces.length > 0 && document.fonts.check('20px "Yijian Tibetan"', 'ཀ'),
  alone: [...document.querySelectorAll('.bi')].filter((b) => !(b.querySelector('.zh') || {}).textContent).map((b) => b.textContent),
  digits: /[\u0f20-\u0f33]/.test(document.body.innerText),
}));
"#;

/// Run in the webview: `small` lists controls under 48×48 CSS px; `layout` lists what runs off
/// the screen's right edge and controls that overlap another (not their own child).
const LARGE_TEXT_CHECKS: &str = r#"
const doc = document.scrollingElement;
const width = document.documentElement.clientWidth;
const visible = (e) => e.getClientRects().length && getComputedStyle(e).visibility !== 'hidden';
const name = (e) => e.tagName.toLowerCase() + (e.id ? '#' + e.id : '') + '.' + e.className + ' "' + (e.innerText || e.value || e.getAttribute('aria-label') || '').trim().slice(0, 12) + '"';
// Inside a row that scrolls sideways (the stage chips), an element past the edge is reached by
// scrolling the row.
const inScroller = (e) => { for (let p = e.parentElement; p; p = p.parentElement) { const o = getComputedStyle(p).overflowX; if (o === 'auto' || o === 'scroll') return true; } return false; };
// A bar fixed to the screen (top bar, footer, tabs) covers content the content scrolls out from under.
const inBar = (e) => { for (let p = e; p; p = p.parentElement) { const pos = getComputedStyle(p).position; if (pos === 'fixed' || pos === 'sticky') return true; } return false; };
const barOf = (e) => e.closest('header, footer, nav, .visit-foot, .action-bar, .bottomnav');
const controls = [...document.querySelectorAll('button, a[href], input:not([type=hidden]), select, textarea')].filter(visible);
const small = [];
for (const e of controls) {
  const target = (e.type === 'checkbox' || e.type === 'radio') && e.closest('label') ? e.closest('label') : e;
  const r = target.getBoundingClientRect();
  if (r.width < 47.5 || r.height < 47.5) small.push(name(e) + ' ' + Math.round(r.width) + 'x' + Math.round(r.height));
}
const layout = [];
if (doc.scrollWidth > doc.clientWidth + 1) layout.push('scrolls sideways: ' + doc.scrollWidth);
for (const e of [...document.querySelectorAll('button, a[href], input, select, textarea, label, h1, h2, h3, p, li')].filter(visible)) {
  const r = e.getBoundingClientRect();
  if (r.right > width + 1 && !inScroller(e)) layout.push(name(e) + ' runs off the right edge (' + Math.round(r.right) + ')');
}
for (let i = 0; i < controls.length; i++) {
  for (let j = i + 1; j < controls.length; j++) {
    const a = controls[i].getBoundingClientRect(), b = controls[j].getBoundingClientRect();
    const ix = Math.min(a.right, b.right) - Math.max(a.left, b.left);
    const iy = Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top);
    const sameLayer = (barOf(controls[i]) === barOf(controls[j])) && (inBar(controls[i]) === inBar(controls[j]));
    if (ix > 2 && iy > 2 && sameLayer && !controls[i].contains(controls[j]) && !controls[j].contains(controls[i]))
      layout.push(name(controls[i]) + ' overlaps ' + name(controls[j]));
  }
}
return { small, layout };
"#;

/// Progress on stderr: a test of minutes says where it is.
fn step(what: &str) {
    eprintln!("app_e2e: {what}");
}

fn digits(text: &str) -> u64 {
    text.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .unwrap_or(0)
}

/// A door-plate label as a PNG: the QR code, 8 px modules, a quiet zone.
fn qr_png(text: &str, path: &Path) -> Result<()> {
    let code = qrcode::QrCode::new(text.as_bytes())?;
    let img = code
        .render::<image::Luma<u8>>()
        .module_dimensions(8, 8)
        .quiet_zone(true)
        .build();
    img.save(path)?;
    Ok(())
}
