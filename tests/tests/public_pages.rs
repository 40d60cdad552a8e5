//! The server's web pages over real HTTP: the resident's declaration form, receipt, status
//! lookup and appeal; the console's scope rules, its step forms and its admin edits; the
//! printed sheets, whose QR codes are read back. (The same pages in a real browser, at a
//! phone's and an office PC's size, are in `tests/browser`.)

use std::sync::Arc;

use anyhow::{Context, Result};
use yijian_core::case::Case;
use yijian_core::role::Role;
use yijian_core::workflow::Stage;
use yijian_server::ServerSettings;
use yijian_server::config::DatabaseLocation;
use yijian_server::ops::demo::{DemoData, seed};
use yijian_server::store::read;
use yijian_server::store::rows::CaseQuery;
use yijian_tests::province;
use yijian_tests::server::TestServer;
use yijian_tests::web::{Browser, input_value};

async fn server(settings: ServerSettings) -> Result<(TestServer, tempfile::TempDir)> {
    let dir = tempfile::tempdir()?;
    let server = TestServer::start_with(
        DatabaseLocation::Sqlite {
            data_dir: dir.path().join("data"),
        },
        settings,
    )
    .await?;
    Ok((server, dir))
}

async fn seeded() -> Result<(TestServer, tempfile::TempDir, DemoData)> {
    let (server, dir) = server(ServerSettings::default()).await?;
    let data = seed(
        Arc::clone(&server.storage),
        Arc::clone(&server.blobs),
        chrono::Utc::now(),
    )
    .await?;
    Ok((server, dir, data))
}

async fn case_count(server: &TestServer) -> Result<usize> {
    Ok(read(&*server.storage, |tx| {
        tx.case_rows(&CaseQuery {
            scope: "62".into(),
            ..CaseQuery::default()
        })
    })
    .await?
    .len())
}

const VILLAGE: &str = "621102105201";

fn declaration<'a>(
    name: &'a str,
    id: &'a str,
    phone: &'a str,
    token: &'a str,
) -> Vec<(&'a str, &'a str)> {
    vec![
        ("t", token),
        ("applicant_name", name),
        ("phone", phone),
        ("id_number", id),
        ("address", "3社12号"),
        ("household_size", "3"),
        ("risk_types", "illness"),
        ("risk_types", "disability"),
        ("description", "老伴住院，花了很多钱"),
        ("consent", "1"),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resident_declares_gets_a_receipt_and_a_second_try_finds_the_same_case() -> Result<()> {
    let (server, _dir) = server(ServerSettings::default()).await?;
    let mut b = Browser::new(&server.url())?;
    let form = b.get(&format!("/d/{VILLAGE}")).await?;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("鲁家沟镇南川村"), "the village is named");
    let token = input_value(&form.body, "t").context("form token")?;
    assert!(b.cookies.contains_key("yj_t"), "the form's cookie is set");

    // Mistakes: the page comes back with every value typed and a message per field.
    let mut bad = declaration("王秀兰", "62010219800101001X", "1390000010", &token);
    bad.retain(|(k, _)| *k != "consent");
    let p = b.post(&format!("/d/{VILLAGE}"), &bad).await?;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("value=\"王秀兰\""), "typed name kept");
    assert!(p.body.contains("value=\"1390000010\""), "typed phone kept");
    assert!(p.body.contains("老伴住院，花了很多钱"), "typed text kept");
    assert!(p.body.contains("请勾选同意上门核实"));
    assert!(p.body.contains("身份证"), "{}", p.body);
    assert_eq!(case_count(&server).await?, 0, "nothing half-stored");

    let token = input_value(&p.body, "t").context("fresh token")?;
    let good = declaration("王秀兰", "620102198001010017", "13900000101", &token);
    let p = b.post(&format!("/d/{VILLAGE}"), &good).await?;
    assert_eq!(p.status, 303, "{}", p.body);
    let receipt_url = p.location.context("redirect")?;
    assert!(receipt_url.starts_with(&format!("/d/{VILLAGE}/receipt/621102-105-201-0001?s=")));
    let receipt = b.get(&receipt_url).await?;
    assert_eq!(receipt.status, 200);
    assert!(
        receipt
            .body
            .replace("<wbr>", "")
            .contains("621102-105-201-0001")
    );
    assert_eq!(case_count(&server).await?, 1);
    // The receipt text and the grid workers' alerts are queued with the case.
    let sms = read(&*server.storage, |tx| tx.recent_sms(&province(), None, 20)).await?;
    assert!(
        sms.iter()
            .any(|s| s.sms.template == "receipt" && s.sms.phone == "13900000101")
    );
    // A tampered receipt link shows nothing.
    let forged = b
        .get(&format!("/d/{VILLAGE}/receipt/621102-105-201-0001?s=AAAA"))
        .await?;
    assert_ne!(forged.status, 200);

    // The same person again (a grandson, or a stranger who knows the ID number): no second
    // case, and neither the receipt nor the phone's digits on the page — the receipt is texted
    // again to the phone on file, once a day however often this is tried.
    for _ in 0..2 {
        let form = b.get(&format!("/d/{VILLAGE}")).await?;
        let token = input_value(&form.body, "t").context("token")?;
        let again = declaration("王秀兰", "620102198001010017", "13900000199", &token);
        let p = b.post(&format!("/d/{VILLAGE}"), &again).await?;
        assert_eq!(p.status, 200, "{}", p.body);
        assert!(p.body.contains("id=\"already-declared\""), "{}", p.body);
        assert!(p.body.contains("已重新用短信发到"), "{}", p.body);
        for leak in ["621102-105-201-0001", "0101", "13900000101"] {
            assert!(
                !p.body.replace("<wbr>", "").contains(leak),
                "the page shows {leak}"
            );
        }
    }
    assert_eq!(case_count(&server).await?, 1, "no second case");
    let sms = read(&*server.storage, |tx| tx.recent_sms(&province(), None, 50)).await?;
    let receipts = sms
        .iter()
        .filter(|s| s.sms.template == "receipt" && s.sms.phone == "13900000101")
        .count();
    assert_eq!(
        receipts, 2,
        "the first receipt, and one re-sent today to the phone on file"
    );
    assert!(
        !sms.iter().any(|s| s.sms.phone == "13900000199"),
        "nothing to the phone typed the second time"
    );

    // Status lookup with the receipt and the phone's last four digits.
    let s = b.get("/s").await?;
    let token = input_value(&s.body, "t").context("status token")?;
    let found = b
        .post(
            "/s",
            &[
                ("t", &token),
                ("receipt", "621102-105-201-0001"),
                ("last4", "0101"),
            ],
        )
        .await?;
    assert_eq!(found.status, 200);
    assert!(
        found.body.contains("等待乡镇受理") && found.body.contains("王**"),
        "{}",
        found.body
    );
    let token = input_value(&found.body, "t").unwrap_or(token);
    let wrong = b
        .post(
            "/s",
            &[
                ("t", &token),
                ("receipt", "621102-105-201-0001"),
                ("last4", "9999"),
            ],
        )
        .await?;
    assert!(
        !wrong.body.contains("王**") && !wrong.body.contains("等待乡镇受理"),
        "a wrong phone shows nothing"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forms_without_their_token_or_over_the_limits_store_nothing_and_keep_the_text() -> Result<()>
{
    let settings = ServerSettings {
        public: yijian_server::PublicSettings {
            declarations_per_phone_per_day: 2,
            ..Default::default()
        },
        ..ServerSettings::default()
    };
    let (server, _dir) = server(settings).await?;
    let mut b = Browser::new(&server.url())?;

    // No token (another site posting, or cookies off): refused, the text shown again.
    let p = b
        .post(
            &format!("/d/{VILLAGE}"),
            &declaration("王秀兰", "620102198001010017", "13900000101", "forged"),
        )
        .await?;
    assert_eq!(p.status, 403);
    assert!(p.body.contains("value=\"王秀兰\"") && p.body.contains("您填写的内容都还在"));
    assert_eq!(case_count(&server).await?, 0);

    // One phone, three different people in a day: the third is refused.
    let ids = [
        "620102198001010017",
        "621102196503020022",
        "621102197008150035",
    ];
    for (n, id) in ids.iter().enumerate() {
        let form = b.get(&format!("/d/{VILLAGE}")).await?;
        let token = input_value(&form.body, "t").context("token")?;
        let p = b
            .post(
                &format!("/d/{VILLAGE}"),
                &declaration("马福祥", id, "13900000102", &token),
            )
            .await?;
        if n < 2 {
            assert_eq!(p.status, 303, "{n}: {}", p.body);
        } else {
            assert_eq!(p.status, 429);
            assert!(p.body.contains("这个手机号今天已经提交过多次"));
            assert!(p.body.contains(&format!("value=\"{id}\"")), "kept");
        }
    }
    assert_eq!(case_count(&server).await?, 2);

    // A QR code of a village that does not exist.
    let p = b.get("/d/621102105999").await?;
    assert_eq!(p.status, 404);
    assert!(p.body.contains("找不到这个村"));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_resident_appeals_and_it_goes_to_the_city() -> Result<()> {
    let (server, _dir, data) = seeded().await?;
    let case = data
        .cases
        .iter()
        .find(|c| c.stage == "rejected")
        .context("a rejected demo case")?;
    let last4 = &case.phone[case.phone.len() - 4..];
    let mut b = Browser::new(&server.url())?;
    let s = b.get("/s").await?;
    let token = input_value(&s.body, "t").context("token")?;
    let status = b
        .post(
            "/s",
            &[
                ("t", &token),
                ("receipt", &case.receipt_no),
                ("last4", last4),
            ],
        )
        .await?;
    assert_eq!(status.status, 200);
    assert!(
        status.body.contains("appeal-reason"),
        "the appeal form is offered"
    );
    let token = input_value(&status.body, "t").context("appeal token")?;
    let p = b
        .post(
            "/s/appeal",
            &[
                ("t", &token),
                ("receipt", &case.receipt_no),
                ("last4", last4),
                ("reason", "家里的车是借来的，不是我家的"),
            ],
        )
        .await?;
    assert!(
        p.status == 200 || p.status == 303,
        "{} {}",
        p.status,
        p.body
    );
    let body = server
        .storage
        .record("case", &case.case_id)
        .await?
        .and_then(|r| r.body)
        .context("case")?;
    let c: Case = serde_json::from_str(&body)?;
    assert_eq!(c.state.stage, Stage::Appealed);
    let notes = read(&*server.storage, |tx| {
        tx.notifications(Role::City, "6211", 50)
    })
    .await?;
    assert!(
        notes
            .iter()
            .any(|n| n.case_id.as_deref() == Some(case.case_id.as_str()))
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_console_shows_only_the_users_scope_and_steps_need_the_form_token() -> Result<()> {
    let (server, _dir, data) = seeded().await?;
    let nanchuan = data
        .cases
        .iter()
        .find(|c| c.applicant == "赵永红")
        .context("demo case")?;
    let neiguan = data
        .cases
        .iter()
        .find(|c| c.applicant == "沈桂芝")
        .context("demo case")?;

    let mut anonymous = Browser::new(&server.url())?;
    let p = anonymous.get("/console/overdue").await?;
    assert_eq!(p.status, 303);
    assert!(
        p.location
            .unwrap_or_default()
            .starts_with("/console/login?next=")
    );
    // A login posted from elsewhere (no token from our form) is refused.
    let p = anonymous
        .post(
            "/console/login",
            &[("login", "13800000021"), ("password", "yijian2026")],
        )
        .await?;
    assert_eq!(p.status, 403);
    // A wrong password says so and keeps the login typed.
    let form = anonymous.get("/console/login").await?;
    let t = input_value(&form.body, "t").context("token")?;
    let p = anonymous
        .post(
            "/console/login",
            &[
                ("login", "13800000021"),
                ("password", "wrong-one"),
                ("t", &t),
            ],
        )
        .await?;
    assert_eq!(p.status, 401);
    assert!(p.body.contains("手机号或密码不正确") && p.body.contains("value=\"13800000021\""));

    // 内官营镇's reviewer sees its own township only.
    let mut other = Browser::new(&server.url())?;
    other.sign_in("13800000012").await?;
    let cases = other.get("/console/cases").await?;
    assert_eq!(cases.status, 200);
    assert!(cases.body.contains("沈桂芝") && !cases.body.contains("赵永红"));
    let p = other
        .get(&format!("/console/cases/{}", nanchuan.case_id))
        .await?;
    assert_eq!(p.status, 403);
    assert!(p.body.contains("id=\"forbidden\""));
    let p = other.get("/console?scope=621102105").await?;
    assert_eq!(p.status, 403);
    let p = other.get("/console/admin").await?;
    assert_eq!(p.status, 403, "admin pages are for administrators");
    let p = other
        .get(&format!("/console/cases/{}", neiguan.case_id))
        .await?;
    assert_eq!(p.status, 200);

    // The county rejects a case: without the form token nothing happens; with it, done.
    let mut county = Browser::new(&server.url())?;
    county.sign_in("13800000021").await?;
    let page = county
        .get(&format!("/console/cases/{}", nanchuan.case_id))
        .await?;
    assert!(page.body.contains("data-step=\"county_reject\""));
    let csrf = input_value(&page.body, "csrf").context("csrf")?;
    let path = format!("/console/cases/{}/step", nanchuan.case_id);
    let reason = [("step", "county_reject"), ("reason", "家庭有商品房")];
    let p = county.post_multipart(&path, &reason).await?;
    assert_eq!(p.status, 403);
    let mut with_token = reason.to_vec();
    with_token.push(("csrf", &csrf));
    let p = county.post_multipart(&path, &with_token).await?;
    assert_eq!(p.status, 303);
    assert!(p.location.unwrap_or_default().contains("?ok="));
    let row = read(&*server.storage, {
        let id = nanchuan.case_id.clone();
        move |tx| tx.case_row(&id)
    })
    .await?
    .context("row")?;
    assert_eq!(row.stage, Stage::Rejected);
    // A refused step comes back with the reason (rejecting twice is not a step from here).
    let p = county.post_multipart(&path, &with_token).await?;
    assert!(p.location.unwrap_or_default().contains("?err="));

    // Signing out ends the session.
    let page = county.get("/console").await?;
    let csrf = input_value(&page.body, "csrf").context("csrf")?;
    let p = county.post("/console/logout", &[("csrf", &csrf)]).await?;
    assert_eq!(p.status, 303);
    let p = county.get("/console").await?;
    assert_eq!(p.status, 303, "signed out");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn printed_sheets_carry_qr_codes_that_read_back() -> Result<()> {
    let (server, _dir, _data) = seeded().await?;
    let mut b = Browser::new(&server.url())?;
    b.sign_in("13800000011").await?;
    let sheet = b.get(&format!("/print/village/{VILLAGE}")).await?;
    assert_eq!(sheet.status, 200);
    assert!(sheet.body.contains("<svg") && sheet.body.contains("鲁家沟镇南川村"));
    assert!(
        sheet.body.contains("鲁家沟镇人民政府 0932-8123456"),
        "the township's hotline"
    );
    let png = b
        .get(&format!("/print/village/{VILLAGE}/sheet.png"))
        .await?;
    assert_eq!(png.content_type, "image/png");
    let decoded = yijian_client::qr::decode_qr(&png.bytes)?.context("QR on the sheet")?;
    assert_eq!(decoded, format!("{}/d/{VILLAGE}", server.url()));

    let labels = b.get(&format!("/print/village/{VILLAGE}/labels")).await?;
    assert_eq!(labels.status, 200);
    assert!(labels.body.contains("户主 "), "names masked on door labels");
    assert!(!labels.body.contains("王秀兰"), "never in full");
    let households = read(&*server.storage, |tx| {
        tx.records_in_village("household", VILLAGE)
    })
    .await?;
    assert_eq!(labels.body.matches("<svg").count(), households.len());
    let one = &households[0].id;
    let png = b.get(&format!("/print/household/{one}/label.png")).await?;
    let decoded = yijian_client::qr::decode_qr(&png.bytes)?.context("QR on the label")?;
    assert_eq!(decoded, format!("YJHH1:{one}"));

    // Another township's villages are not this user's to print.
    let p = b.get("/print/village/621102102201").await?;
    assert_eq!(p.status, 403);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_edits_the_calendar_and_due_dates_move() -> Result<()> {
    let (server, _dir, data) = seeded().await?;
    let mut admin = Browser::new(&server.url())?;
    admin.sign_in("13800000000").await?;
    let users = admin.get("/console/admin").await?;
    assert_eq!(users.status, 200);
    assert!(users.body.contains("id=\"users\"") && users.body.contains("13800000001"));

    // A bad calendar is refused with the text kept.
    let page = admin.get("/console/admin/calendar").await?;
    let csrf = input_value(&page.body, "csrf").context("csrf")?;
    let broken = "{\"years\": [ {\"year\": 2026, ";
    let p = admin
        .post(
            "/console/admin/calendar",
            &[("csrf", &csrf), ("json", broken)],
        )
        .await?;
    assert_eq!(p.status, 422);
    assert!(
        p.body.contains("calendar-error")
            && p.body
                .contains("{&quot;years&quot;: [ {&quot;year&quot;: 2026,")
    );

    // A new holiday over the next working days moves the due dates of open cases.
    let case = data
        .cases
        .iter()
        .find(|c| c.applicant == "王秀兰")
        .context("case")?;
    let id = case.case_id.clone();
    let before = read(&*server.storage, move |tx| tx.case_row(&id))
        .await?
        .context("row")?;
    let due = before.clock_due_on.context("a clock")?;
    let mut calendar: serde_json::Value =
        serde_json::to_value(yijian_core::calendar::HolidayCalendar::builtin())?;
    use chrono::Datelike;
    let today = yijian_core::time::china_date(chrono::Utc::now());
    // Within this year (a calendar year's notice only names its own days).
    let until = due.min(chrono::NaiveDate::from_ymd_opt(today.year(), 12, 31).context("date")?);
    let years = calendar["years"].as_array_mut().context("years")?;
    if !years.iter().any(|y| y["year"] == today.year()) {
        years.push(serde_json::json!({
            "year": today.year(), "published": true,
            "notice": {"title": "测试用放假安排"}, "holidays": [], "makeup_workdays": []
        }));
    }
    let year = years
        .iter_mut()
        .find(|y| y["year"] == today.year())
        .context("this year")?;
    year["holidays"]
        .as_array_mut()
        .context("holidays")?
        .push(serde_json::json!({
            "name": "测试假期", "from": today.to_string(), "to": until.to_string()
        }));
    let text = serde_json::to_string(&calendar)?;
    let p = admin
        .post(
            "/console/admin/calendar",
            &[("csrf", &csrf), ("json", &text)],
        )
        .await?;
    assert_eq!(p.status, 303, "{}", p.body);
    let id = case.case_id.clone();
    let after = read(&*server.storage, move |tx| tx.case_row(&id))
        .await?
        .context("row")?;
    assert!(
        after.clock_due_on.context("clock")? > due,
        "{before:?} → {after:?}"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_province_administrator_sets_the_years_income_line_and_cases_show_it() -> Result<()> {
    let (server, _dir, data) = seeded().await?;
    let mut admin = Browser::new(&server.url())?;
    admin.sign_in("13800000000").await?;
    let page = admin.get("/console/admin/policy").await?;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"income-lines\"") && page.body.contains("7800元"));
    assert!(
        page.body.contains("旺苍县"),
        "the department list names its source"
    );
    let csrf = input_value(&page.body, "csrf").context("csrf")?;

    // A line without its source is refused in words, the text kept.
    let mut policy = serde_json::to_value(yijian_core::policy::Policy::gansu())?;
    let lines = policy["income_lines"].as_array_mut().context("lines")?;
    lines.push(serde_json::json!({"year": 2026, "yuan": 8300, "source": ""}));
    let p = admin
        .post(
            "/console/admin/policy",
            &[("csrf", &csrf), ("json", &policy.to_string())],
        )
        .await?;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("policy-error") && p.body.contains("2026年的监测收入标准没有写明出处"));

    let lines = policy["income_lines"].as_array_mut().context("lines")?;
    lines.pop();
    lines.push(serde_json::json!({"year": 2026, "yuan": 8300, "source": "测试：2026年标准"}));
    let p = admin
        .post(
            "/console/admin/policy",
            &[("csrf", &csrf), ("json", &policy.to_string())],
        )
        .await?;
    assert_eq!(p.status, 303, "{}", p.body);
    let page = admin.get("/console/admin/policy").await?;
    assert!(page.body.contains("data-year=\"2026\""));

    // The case page's verdict names the line and year it used.
    let case = data
        .cases
        .iter()
        .find(|c| c.applicant == "杨建军")
        .context("case")?;
    let mut county = Browser::new(&server.url())?;
    county.sign_in("13800000021").await?;
    let page = county
        .get(&format!("/console/cases/{}", case.case_id))
        .await?;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("2026年监测线8300元"), "{}", page.body);
    Ok(())
}

/// The case page shows where and before whom the verification visit was made, and warns when
/// the fix is far from the village's other visits; a list of people present that the app
/// would refuse is refused by the server too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_case_page_weighs_the_visits_place_and_people_present() -> Result<()> {
    use yijian_core::protocol::CommandBody;
    use yijian_core::visit::{Attendee, CadreRole, GeoPoint, Visit, VisitPlace};
    use yijian_tests::api::ApiDevice;

    let (server, _dir, data) = seeded().await?;
    let case_id = |name: &str| -> Result<String> {
        Ok(data
            .cases
            .iter()
            .find(|c| c.applicant == name)
            .with_context(|| format!("demo case {name}"))?
            .case_id
            .clone())
    };
    let mut county = Browser::new(&server.url())?;
    county.sign_in("13800000021").await?;

    // A finished demonstration visit: fixed in the village, the head and a cadre present.
    let verified = county
        .get(&format!("/console/cases/{}", case_id("赵永红")?))
        .await?;
    assert_eq!(verified.status, 200);
    let place = section(&verified.body, "id=\"visit-place\"");
    assert!(
        place.contains("北纬") && place.contains("精度约"),
        "{place}"
    );
    assert!(
        place.contains("距本村其他"),
        "compared with the village: {place}"
    );
    let present = section(&verified.body, "id=\"visit-present\"");
    assert!(present.contains("赵永红（户主）"), "{present}");
    assert!(present.contains("马永成（村干部）"), "{present}");
    assert!(
        !verified.body.contains("id=\"evidence-warnings\""),
        "nothing to warn about"
    );

    // 张有财's visit has started (a draft). The worker records a fix ~30 km away and only a
    // cadre present.
    let zhang = case_id("张有财")?;
    let case: Case = serde_json::from_str(
        &server
            .storage
            .record("case", &zhang)
            .await?
            .and_then(|r| r.body)
            .context("case")?,
    )?;
    let visit_id = case.state.verification_visit.context("visit started")?;
    let mut visit: Visit = serde_json::from_str(
        &server
            .storage
            .record("visit", &visit_id.to_string())
            .await?
            .and_then(|r| r.body)
            .context("visit")?,
    )?;
    let worker = ApiDevice::login(&server.url(), "13800000001", "yijian2026").await?;
    let cadre = |name: &str| Attendee::Cadre {
        name: name.into(),
        role: CadreRole::WorkTeam,
    };
    // The server refuses a blank name (a client that skipped the app's check).
    let mut blank = visit.clone();
    blank.set_present(vec![cadre("王队长")])?;
    let mut json = serde_json::to_value(&blank)?;
    json["present"][0]["name"] = serde_json::Value::String("  ".into());
    let blank: Visit = serde_json::from_value(json)?;
    let out = worker
        .push_bodies(vec![CommandBody::SaveVisit(blank)])
        .await?;
    assert!(
        out[0].starts_with("refused") && out[0].contains("present"),
        "{out:?}"
    );

    let far = GeoPoint::new(35.95, 104.95, 15.0)?;
    visit.set_location(VisitPlace::Fixed {
        point: far,
        fixed_at: visit.started_at() + chrono::Duration::minutes(1),
    })?;
    visit.set_present(vec![cadre("王队长")])?;
    let out = worker
        .push_bodies(vec![CommandBody::SaveVisit(visit)])
        .await?;
    assert_eq!(out, vec!["applied"]);
    let page = county.get(&format!("/console/cases/{zhang}")).await?;
    assert_eq!(page.status, 200);
    let warnings = section(&page.body, "id=\"evidence-warnings\"");
    assert!(
        warnings.contains("data-code=\"far_from_village\"") && warnings.contains("公里"),
        "{warnings}"
    );
    // A draft is not blamed for people it may still record.
    assert!(!warnings.contains("no_member_present"), "{warnings}");
    let present = section(&page.body, "id=\"visit-present\"");
    assert!(present.contains("王队长（驻村工作队员）"), "{present}");
    Ok(())
}

/// The element that starts at `marker` up to its closing tag's line (enough for a check).
fn section<'a>(body: &'a str, marker: &str) -> &'a str {
    let from = body.find(marker).unwrap_or(body.len());
    let rest = &body[from..];
    let to = ["</p>", "</ul>"]
        .iter()
        .filter_map(|end| rest.find(end))
        .min()
        .unwrap_or(rest.len());
    &rest[..to]
}

/// 贡玛村, 玛曲县, 甘南藏族自治州: a village whose pages open in Tibetan.
const GANNAN_VILLAGE: &str = "623025100200";

/// Tibetan letters (U+0F00–0FFF) in a text.
fn tibetan_letters(s: &str) -> usize {
    s.chars()
        .filter(|c| ('\u{0F00}'..='\u{0FFF}').contains(c))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gannan_pages_speak_tibetan_beside_chinese_and_the_choice_keeps_what_was_typed()
-> Result<()> {
    let (server, _dir) = server(ServerSettings::default()).await?;
    let mut b = Browser::new(&server.url())?;

    // A 甘南 village opens in Tibetan, the Chinese beside every text, with the note that the
    // translation awaits review and the page's own font.
    let form = b.get(&format!("/d/{GANNAN_VILLAGE}")).await?;
    assert_eq!(form.status, 200);
    assert!(form.body.contains("<html lang=\"bo\">"), "{}", form.body);
    assert!(form.body.contains("贡玛村"), "the village is named");
    for (bo, zh) in [
        ("དཀའ་ངལ་ཅན་གྱི་མང་ཚོགས་ཀྱི་མཐེབ་གཅིག་ཞུ་འབུལ།", "困难群众一键申报"),
        ("ཞུ་འབུལ་སྤྲོད་པ།", "提交申报"),
        ("ངོ་སྤྲོད་ལག་ཁྱེར་ཨང་།", "身份证号"),
    ] {
        let pair = format!(
            "<span class=\"bi\"><span class=\"bo\" lang=\"bo\">{bo}</span><span class=\"zh\" lang=\"zh-CN\">{zh}</span></span>"
        );
        assert!(
            form.body.contains(&pair),
            "{zh} is not shown beside its Tibetan"
        );
    }
    assert!(
        form.body.contains("id=\"review-note\""),
        "unreviewed text is said to be so"
    );
    // Numbers stay in Arabic digits.
    assert!(
        !form
            .body
            .chars()
            .any(|c| ('\u{0F20}'..='\u{0F33}').contains(&c)),
        "Tibetan digits on the page"
    );
    let font_url = form
        .body
        .split("src:url(\"")
        .nth(1)
        .and_then(|r| r.split('"').next())
        .context("the page names its font")?
        .to_owned();
    let font = b.get(&font_url).await?;
    assert_eq!(font.status, 200);
    assert_eq!(font.content_type, "font/woff2");
    assert_eq!(&font.bytes[..4], b"wOF2");
    let total = form.bytes.len() + font.bytes.len();
    println!(
        "Tibetan form {} bytes + font {} bytes = {total} bytes (uncompressed)",
        form.bytes.len(),
        font.bytes.len()
    );
    assert!(
        total <= 60 * 1024,
        "the Tibetan form and its font are {total} bytes"
    );
    assert_eq!(b.get("/assets/tibetan-form-0000.woff2").await?.status, 404);

    // A village elsewhere opens in Chinese, with the switch to Tibetan.
    let mut zh = Browser::new(&server.url())?;
    let other = zh.get(&format!("/d/{VILLAGE}")).await?;
    assert!(other.body.contains("<html lang=\"zh-CN\">"));
    assert_eq!(tibetan_letters(&other.body), "བོད་ཡིག".chars().count());
    assert!(other.body.contains("id=\"lang-switch\""));
    assert!(
        !other.body.contains("@font-face"),
        "no font on Chinese pages"
    );

    // Mistakes in Tibetan: the check's words in Tibetan beside the Chinese, everything kept.
    let token = input_value(&form.body, "t").context("token")?;
    let mut bad = declaration("才让卓玛", "", "13900000102", &token);
    bad.retain(|(k, _)| *k != "consent");
    let p = b.post(&format!("/d/{GANNAN_VILLAGE}"), &bad).await?;
    assert_eq!(p.status, 422);
    assert!(p.body.contains("value=\"才让卓玛\""));
    assert!(
        p.body.contains("ངོ་སྤྲོད་ལག་ཁྱེར་ཨང་འབྲི་རོགས།") && p.body.contains("请填写身份证号"),
        "{}",
        p.body
    );
    assert!(
        p.body.contains("བཟོ་བཅོས་བྱ་དགོས་པ་2ཡོད།"),
        "the count of mistakes"
    );

    // Switching language posts the form: what was typed comes back, in Chinese, nothing is
    // stored, and the choice is remembered.
    let token = input_value(&p.body, "t").context("token")?;
    let mut switch = declaration("才让卓玛", "", "13900000102", &token);
    switch.push(("lang", "zh"));
    let p = b.post(&format!("/d/{GANNAN_VILLAGE}"), &switch).await?;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("<html lang=\"zh-CN\">"));
    assert!(p.body.contains("value=\"才让卓玛\"") && p.body.contains("老伴住院"));
    assert!(
        !p.body.contains("请填写身份证号"),
        "switching checks nothing"
    );
    assert_eq!(b.cookies.get("yj_lang").map(String::as_str), Some("zh"));
    assert_eq!(case_count(&server).await?, 0);
    let again = b.get(&format!("/d/{GANNAN_VILLAGE}")).await?;
    assert!(
        again.body.contains("<html lang=\"zh-CN\">"),
        "the choice is kept"
    );
    let back = b.get(&format!("/d/{GANNAN_VILLAGE}?lang=bo")).await?;
    assert!(back.body.contains("<html lang=\"bo\">"));
    assert_eq!(b.cookies.get("yj_lang").map(String::as_str), Some("bo"));

    // Declared in Tibetan: receipt and status in Tibetan, the receipt number in Arabic digits.
    let token = input_value(&back.body, "t").context("token")?;
    let good = declaration("才让卓玛", "620102198001010017", "13900000102", &token);
    let p = b.post(&format!("/d/{GANNAN_VILLAGE}"), &good).await?;
    assert_eq!(p.status, 303, "{}", p.body);
    let receipt_url = p.location.context("redirect")?;
    let receipt = b.get(&receipt_url).await?;
    assert!(receipt.body.contains("<html lang=\"bo\">"));
    assert!(receipt.body.contains("ཞུ་འབུལ་ལེགས་པར་སྤྲོད་ཟིན།"));
    assert!(receipt.body.contains("ལས་ཀའི་ཉིན་"), "the days to the visit");
    let receipt_no = receipt_url
        .split("/receipt/")
        .nth(1)
        .and_then(|r| r.split('?').next())
        .context("receipt number")?
        .to_owned();
    assert!(receipt.body.replace("<wbr>", "").contains(&receipt_no));

    // A fresh phone (no cookie) looks the case up: the page follows the case's village.
    let mut fresh = Browser::new(&server.url())?;
    let s = fresh.get("/s").await?;
    assert!(
        s.body.contains("<html lang=\"zh-CN\">"),
        "no village yet: Chinese"
    );
    let token = input_value(&s.body, "t").context("status token")?;
    let found = fresh
        .post(
            "/s",
            &[("t", &token), ("receipt", &receipt_no), ("last4", "0102")],
        )
        .await?;
    assert_eq!(found.status, 200, "{}", found.body);
    assert!(found.body.contains("<html lang=\"bo\">"));
    assert!(
        found.body.contains("ཞུ་འབུལ་འབྱོར་ཟིན།") && found.body.contains("等待乡镇受理"),
        "the stage in both"
    );
    assert!(
        found.body.contains("སྤྱི་ལོ་"),
        "dates in Tibetan words, Arabic digits"
    );
    // Its switch brings the lookup back in Chinese, the receipt number kept, nothing looked up.
    let back = fresh
        .post(
            "/s",
            &[("receipt", &receipt_no), ("last4", "0102"), ("lang", "zh")],
        )
        .await?;
    assert_eq!(back.status, 200);
    assert!(back.body.contains("<html lang=\"zh-CN\">"));
    assert_eq!(
        input_value(&back.body, "receipt").as_deref(),
        Some(receipt_no.as_str())
    );
    Ok(())
}
