//! The procedure as the server runs it, on both databases: the demonstration cases walked
//! through every path by the people whose job each step is (qualifies → approved → plan →
//! follow-ups → risk eliminated; not qualified → told; rejected → appeal decided one level up;
//! green channel), steps by the wrong people refused, the deadline job across a month with a
//! holiday and a make-up Saturday, and the SMS sender against a stand-in of Aliyun's API with
//! its faults.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context, Result};
use chrono::{DateTime, NaiveDate, TimeZone, Utc};
use yijian_core::case::{Case, CaseEventKind, MonitoringCategory};
use yijian_core::deadline::Step as ClockStep;
use yijian_core::division::{DivisionCode, Level};
use yijian_core::hlc::HlcClock;
use yijian_core::household::{Household, MonitoringStatus};
use yijian_core::ids::{CommandId, DeviceId};
use yijian_core::protocol::auth::Account;
use yijian_core::protocol::{Command, CommandBody, Outcome, Wire};
use yijian_core::role::Role;
use yijian_core::support::{Appeal, FollowUp};
use yijian_core::workflow::{Stage, Step};
use yijian_server::blobstore::DiskBlobStore;
use yijian_server::config::DatabaseLocation;
use yijian_server::domain::accounts::{new_device_token, token_hash};
use yijian_server::domain::apply::{self, ApplySettings};
use yijian_server::domain::procedure::Procedure;
use yijian_server::ops::demo::{DemoData, seed};
use yijian_server::store::rows::DeviceSession;
use yijian_server::store::rows::{NoticeKind, SmsStatus};
use yijian_server::store::{self, Storage, read, write};
use yijian_tests::pg::PgCluster;
use yijian_tests::province;

/// The demonstration's "now": a Tuesday, 12:00 in Beijing.
fn demo_now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 4, 0, 0)
        .single()
        .expect("time")
}

async fn seeded(
    location: &DatabaseLocation,
    blobs: &std::path::Path,
) -> Result<(Arc<dyn Storage>, DemoData)> {
    let storage = store::open(location).await?;
    let blobs = Arc::new(DiskBlobStore::open(blobs.to_path_buf()).await?);
    let data = seed(Arc::clone(&storage), blobs, demo_now()).await?;
    Ok((storage, data))
}

fn stages(data: &DemoData) -> BTreeMap<String, String> {
    data.cases
        .iter()
        .map(|c| (c.applicant.clone(), c.stage.clone()))
        .collect()
}

async fn case_of(storage: &Arc<dyn Storage>, data: &DemoData, applicant: &str) -> Result<Case> {
    let id = &data
        .cases
        .iter()
        .find(|c| c.applicant == applicant)
        .with_context(|| format!("no demo case of {applicant}"))?
        .case_id;
    let body = storage
        .record("case", id)
        .await?
        .and_then(|r| r.body)
        .context("case record")?;
    Ok(serde_json::from_str(&body)?)
}

async fn household_of(storage: &Arc<dyn Storage>, case: &Case) -> Result<Household> {
    let id = case
        .declaration
        .household_id
        .context("case has a household")?;
    let body = storage
        .record("household", &id.to_string())
        .await?
        .and_then(|r| r.body)
        .context("household record")?;
    Ok(serde_json::from_str(&body)?)
}

async fn records<T: serde::de::DeserializeOwned>(
    storage: &Arc<dyn Storage>,
    kind: &'static str,
    village: &str,
) -> Result<Vec<T>> {
    let village = village.to_owned();
    let rows = read(&**storage, move |tx| tx.records_in_village(kind, &village)).await?;
    Ok(rows
        .iter()
        .filter_map(|r| r.body.as_deref())
        .map(serde_json::from_str)
        .collect::<Result<Vec<T>, _>>()?)
}

/// Everything the demonstration's paths must have left behind.
async fn check_demo(storage: &Arc<dyn Storage>, data: &DemoData) -> Result<()> {
    let expected: BTreeMap<&str, &str> = [
        ("王秀兰", "declared"),
        ("马福祥", "declared"),
        ("李桂英", "accepted"),
        ("张有财", "verifying"),
        ("杨建军", "verified_qualifies"),
        ("刘玉梅", "publicly_noticed"),
        ("赵永红", "township_reviewed"),
        ("孙德明", "township_reviewed"),
        ("周志刚", "rejected"),
        ("吴春花", "appealed"),
        ("何淑珍", "approved"),
        ("郑国庆", "not_qualified_notified"),
        ("冯丽娟", "verified_not_qualified"),
        ("陈永福", "approved"),
        ("褚建国", "assisting"),
        ("卫小红", "risk_elimination_proposed"),
        ("蒋学文", "risk_eliminated"),
        ("沈桂芝", "declared"),
        ("韩振华", "accepted"),
        ("朱红霞", "plan_made"),
        ("秦大勇", "accepted"),
        ("贾志明", "risk_elimination_reviewed"),
        ("龚秀云", "assisting"),
        ("曹丽萍", "cross_checked"),
        ("邓海涛", "democratic_reviewed"),
        ("许文静", "rejection_upheld"),
        ("彭建平", "closed"),
        ("马兰花", "democratic_reviewed"),
        ("张占林", "verified_qualifies"),
        ("吕春梅", "risk_elimination_assessed"),
        ("施永强", "risk_elimination_noticed"),
    ]
    .into_iter()
    .collect();
    let got = stages(data);
    for (name, stage) in &expected {
        assert_eq!(got.get(*name).map(String::as_str), Some(*stage), "{name}");
    }
    // Every stage of the procedure has a case.
    let present: std::collections::BTreeSet<&str> = got.values().map(String::as_str).collect();
    assert_eq!(present.len(), Stage::ALL.len(), "{present:?}");
    // The two townships' registers: several hundred households.
    let mut households = 0;
    for township in ["621102105", "621102102"] {
        for v in yijian_core::regions::Regions::gansu().villages_in(&DivisionCode::parse(township)?)
        {
            households += records::<Household>(storage, "household", v.code.as_str())
                .await?
                .len();
        }
    }
    assert!(households > 500, "{households}");

    // Qualifies → approved: the household is monitored under the county's category.
    let approved = case_of(storage, data, "陈永福").await?;
    let h = household_of(storage, &approved).await?;
    assert!(
        matches!(h.monitoring, MonitoringStatus::Monitoring { .. }),
        "{:?}",
        h.monitoring
    );
    assert_eq!(h.category, Some(MonitoringCategory::MarginalAtRisk));

    // … → plan → seven follow-ups → risk eliminated: the household says so.
    // Not yet (回头帮): the county sends a proposal back to assistance.
    let again = case_of(storage, data, "龚秀云").await?;
    assert!(again.history.iter().any(|e| e.kind
        == CaseEventKind::Step {
            step: yijian_core::workflow::StepKind::DecideRiskElimination
        }));
    let eliminated = case_of(storage, data, "蒋学文").await?;
    assert_eq!(eliminated.state.follow_ups, 7);
    let h = household_of(storage, &eliminated).await?;
    assert!(
        matches!(h.monitoring, MonitoringStatus::RiskEliminated { .. }),
        "{:?}",
        h.monitoring
    );
    let kinds: Vec<CaseEventKind> = eliminated.history.iter().map(|e| e.kind).collect();
    assert_eq!(kinds.first(), Some(&CaseEventKind::Declared));
    assert!(kinds.len() >= 20, "the history keeps every step: {kinds:?}");

    // Assisting: one follow-up done, the next scheduled 30 days after it.
    let assisting = case_of(storage, data, "褚建国").await?;
    let follow_ups: Vec<FollowUp> = records(storage, "follow_up", assisting.village().as_str())
        .await?
        .into_iter()
        .filter(|f: &FollowUp| f.case_id == assisting.id())
        .collect();
    assert_eq!(follow_ups.len(), 2, "{follow_ups:?}");
    let done = follow_ups
        .iter()
        .find(|f| f.done_on.is_some())
        .context("done follow-up")?;
    let next = follow_ups
        .iter()
        .find(|f| f.done_on.is_none())
        .context("next follow-up")?;
    assert_eq!(
        next.due_on,
        done.done_on.context("done")? + chrono::Duration::days(30)
    );
    assert!(done.visit_id.is_some());

    // Not qualified → told: never monitored.
    let told = case_of(storage, data, "郑国庆").await?;
    assert_eq!(
        household_of(storage, &told).await?.monitoring,
        MonitoringStatus::NotMonitored
    );

    // Rejected by the county → appeal decided by the city, one level up.
    let pending = case_of(storage, data, "吴春花").await?;
    let upheld = case_of(storage, data, "何淑珍").await?;
    let appeals: Vec<Appeal> = records(storage, "appeal", pending.village().as_str()).await?;
    let pending_appeal = appeals
        .iter()
        .find(|a| Some(a.id) == pending.state.appeal)
        .context("pending appeal record")?;
    assert_eq!(pending_appeal.against_level, Level::County);
    assert_eq!(pending_appeal.decided_by_level, Level::City);
    assert!(pending_appeal.decision.is_none());
    let appeals: Vec<Appeal> = records(storage, "appeal", upheld.village().as_str()).await?;
    let upheld_appeal = appeals
        .iter()
        .find(|a| Some(a.id) == upheld.state.appeal)
        .context("upheld appeal record")?;
    assert!(upheld_appeal.decision.as_ref().is_some_and(|d| d.upheld));
    assert_eq!(
        upheld.state.category,
        Some(MonitoringCategory::MarginalAtRisk)
    );
    assert!(
        household_of(storage, &upheld)
            .await?
            .monitoring
            .is_monitored()
    );
    // The city's office heard of the appeal in its console.
    let city = DivisionCode::parse("6211")?;
    let notes = read(&**storage, move |tx| {
        tx.notifications(Role::City, city.as_str(), 50)
    })
    .await?;
    assert!(notes.iter().any(|n| n.kind == "appeal_filed"), "{notes:?}");

    // Green channel: help recorded before identification.
    let green = case_of(storage, data, "秦大勇").await?;
    assert!(green.state.green_channel);
    assert!(green.state.emergency_assistance_on.is_some());

    // A QR declaration switched to the green channel: helped, planned and watched before the
    // identification is done.
    let switched = case_of(storage, data, "张占林").await?;
    assert!(switched.state.green_channel);
    assert!(switched.state.plan.is_some());
    assert!(switched.state.approved_on.is_none());
    assert!(
        household_of(storage, &switched)
            .await?
            .monitoring
            .is_monitored(),
        "监测中 from the first help, not 未纳入"
    );

    // The village found 马兰花 不符合; her appeal went to the township, which upheld it.
    let village_refused = case_of(storage, data, "马兰花").await?;
    let appeals: Vec<Appeal> =
        records(storage, "appeal", village_refused.village().as_str()).await?;
    let appeal = appeals
        .iter()
        .find(|a| Some(a.id) == village_refused.state.appeal)
        .context("village appeal")?;
    assert_eq!(
        (appeal.against_level, appeal.decided_by_level),
        (Level::Village, Level::Township)
    );
    assert!(appeal.decision.as_ref().is_some_and(|d| d.upheld));

    // A failed appeal is explained at the household before the case may close.
    let explained = case_of(storage, data, "许文静").await?;
    let appeals: Vec<Appeal> = records(storage, "appeal", explained.village().as_str()).await?;
    assert!(
        appeals
            .iter()
            .find(|a| Some(a.id) == explained.state.appeal)
            .is_some_and(|a| a.explained_to_household_on.is_some())
    );

    // Risk elimination: the server's own evidence names the line and its year, and the
    // village's 民主评议 and 公示 come before the township's review.
    let steps: Vec<(yijian_core::workflow::StepKind, Option<String>)> = eliminated
        .history
        .iter()
        .filter_map(|e| match e.kind {
            CaseEventKind::Step { step } => Some((step, e.note.clone())),
            _ => None,
        })
        .collect();
    use yijian_core::workflow::StepKind as K;
    let at = |k: K| steps.iter().position(|(s, _)| *s == k);
    let proposed = steps
        .iter()
        .rposition(|(s, _)| *s == K::ProposeRiskElimination)
        .context("proposal")?;
    assert!(
        steps[proposed]
            .1
            .as_deref()
            .is_some_and(|n| n.contains("暂按2024年标准") && n.contains("扣除刚性支出后")),
        "{:?}",
        steps[proposed]
    );
    let review = steps
        .iter()
        .rposition(|(s, _)| *s == K::RecordDemocraticReview)
        .context("review")?;
    let notice = steps
        .iter()
        .rposition(|(s, _)| *s == K::RecordPublicNotice)
        .context("notice")?;
    let township = at(K::ReviewRiskElimination).context("township")?;
    assert!(proposed < review && review < notice && notice < township);

    // Every self-declaration sent its receipt by text.
    let sms = read(&**storage, |tx| tx.recent_sms(&province(), None, 500)).await?;
    let receipts = sms.iter().filter(|s| s.sms.template == "receipt").count();
    // Leads from departments' lists have no resident to send a receipt to.
    let department_leads = read(&**storage, |tx| {
        tx.case_rows(&yijian_server::store::rows::CaseQuery {
            scope: "62".into(),
            open_only: false,
            due_by: None,
            limit: None,
        })
    })
    .await?
    .iter()
    .filter(|r| r.source == yijian_core::case::CaseSource::DepartmentAlert)
    .count();
    assert_eq!(department_leads, 2, "the demo's lists make two leads");
    assert_eq!(
        receipts,
        data.cases.len() - 1 - department_leads,
        "all but the green-channel case and the departments' leads"
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_cases_walk_every_path_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (storage, data) = seeded(
        &DatabaseLocation::Sqlite {
            data_dir: dir.path().join("data"),
        },
        &dir.path().join("blobs"),
    )
    .await?;
    check_demo(&storage, &data).await?;
    // A second seed would duplicate everything: it is refused.
    let blobs = Arc::new(DiskBlobStore::open(dir.path().join("blobs")).await?);
    assert!(matches!(
        seed(Arc::clone(&storage), blobs, demo_now()).await,
        Err(yijian_server::ops::demo::DemoError::NotEmpty)
    ));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_cases_walk_every_path_on_postgres() -> Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_demo").await?;
    let dir = tempfile::tempdir()?;
    let (storage, data) = seeded(
        &DatabaseLocation::Postgres { url },
        &dir.path().join("blobs"),
    )
    .await?;
    check_demo(&storage, &data).await?;
    Ok(())
}

/// A session of a seeded user, as if they had signed in on a new phone.
async fn session_of(storage: &Arc<dyn Storage>, login: &str) -> Result<DeviceSession> {
    let creds = storage.credentials(login).await?.context("demo user")?;
    let (token, hash) = new_device_token().map_err(|e| anyhow::anyhow!("{e}"))?;
    storage
        .create_device(
            DeviceId::new(),
            creds.user.id,
            "测试",
            &hash,
            demo_now(),
            demo_now() + chrono::Duration::days(1),
        )
        .await?;
    storage
        .session(&token_hash(&token), demo_now())
        .await?
        .context("session")
}

async fn push_step(
    storage: &Arc<dyn Storage>,
    session: &DeviceSession,
    command: &Command,
) -> Result<Outcome> {
    let settings = ApplySettings::with(demo_now(), &Procedure::current(&**storage).await?);
    let results = apply::push(&**storage, session, vec![command.clone()], &settings).await?;
    match results.into_iter().next().map(|r| r.outcome) {
        Some(Wire::Known(o)) => Ok(o),
        other => anyhow::bail!("unexpected {other:?}"),
    }
}

fn step_command(case: &Case, step: Step) -> Command {
    let mut clock = HlcClock::new(99);
    Command {
        id: CommandId::new(),
        hlc: clock.tick(u64::try_from(demo_now().timestamp_millis()).unwrap_or(0)),
        body: Wire::Known(CommandBody::CaseStep {
            case_id: case.id(),
            step,
        }),
    }
}

fn refused_with(o: &Outcome) -> &str {
    match o {
        Outcome::Refused { code, .. } => code,
        _ => "",
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn steps_by_the_wrong_people_are_refused_and_change_nothing() -> Result<()> {
    let dir = tempfile::tempdir()?;
    let (storage, data) = seeded(
        &DatabaseLocation::Sqlite {
            data_dir: dir.path().join("data"),
        },
        &dir.path().join("blobs"),
    )
    .await?;
    let village_worker = session_of(&storage, "13800000001").await?;
    let other_township = session_of(&storage, "13800000012").await?;
    let township = session_of(&storage, "13800000011").await?;
    let county = session_of(&storage, "13800000021").await?;
    let other_county = session_of(&storage, "13800000022").await?;
    let city = session_of(&storage, "13800000031").await?;
    let province = session_of(&storage, "13800000041").await?;

    let reviewed = case_of(&storage, &data, "孙德明").await?;
    let approve = Step::CountyApprove {
        category: MonitoringCategory::MarginalAtRisk,
    };
    for (who, code) in [
        (&village_worker, "role_not_allowed"),
        (&township, "role_not_allowed"),
        (&other_county, "out_of_scope"),
    ] {
        let o = push_step(&storage, who, &step_command(&reviewed, approve.clone())).await?;
        assert_eq!(refused_with(&o), code, "{} {o:?}", who.user.name);
    }
    assert_eq!(
        case_of(&storage, &data, "孙德明").await?.state.stage,
        Stage::TownshipReviewed,
        "refusals change nothing"
    );
    let cmd = step_command(&reviewed, approve);
    assert_eq!(push_step(&storage, &county, &cmd).await?, Outcome::Applied);
    assert_eq!(
        push_step(&storage, &county, &cmd).await?,
        Outcome::AlreadyApplied
    );
    assert_eq!(
        case_of(&storage, &data, "孙德明").await?.state.stage,
        Stage::Approved
    );

    // The county that rejected may not decide the appeal against itself; nor may the province
    // (提级办理 is one level up, not any level up).
    let appealed = case_of(&storage, &data, "吴春花").await?;
    let decide = Step::DecideAppeal {
        upheld: false,
        reason: "维持原决定".into(),
        category: None,
    };
    for who in [&county, &province, &township] {
        let o = push_step(&storage, who, &step_command(&appealed, decide.clone())).await?;
        assert_eq!(
            refused_with(&o),
            "role_not_allowed",
            "{} {o:?}",
            who.user.name
        );
    }
    let o = push_step(&storage, &city, &step_command(&appealed, decide)).await?;
    assert_eq!(o, Outcome::Applied);
    assert_eq!(
        case_of(&storage, &data, "吴春花").await?.state.stage,
        Stage::RejectionUpheld
    );

    // Acceptance is the township's, and only its own township's.
    let fresh = case_of(&storage, &data, "王秀兰").await?;
    let o = push_step(
        &storage,
        &village_worker,
        &step_command(&fresh, Step::Accept),
    )
    .await?;
    assert_eq!(refused_with(&o), "role_not_allowed");
    let o = push_step(
        &storage,
        &other_township,
        &step_command(&fresh, Step::Accept),
    )
    .await?;
    assert_eq!(refused_with(&o), "out_of_scope");

    // Risk elimination before six months of monitoring is refused.
    let recent = case_of(&storage, &data, "褚建国").await?;
    let visit = recent.state.verification_visit.context("visit")?;
    let o = push_step(
        &storage,
        &session_of(&storage, "13800000002").await?,
        &step_command(
            &recent,
            Step::ProposeRiskElimination {
                visit_id: visit,
                income_above_line: true,
                guarantees_kept: true,
            },
        ),
    )
    .await?;
    assert_eq!(refused_with(&o), "monitored_too_short", "{o:?}");
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// The deadline job across a month
// ---------------------------------------------------------------------------------------------

fn beijing(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
        .single()
        .expect("time")
        - chrono::Duration::hours(8)
}

fn day(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("date")
}

async fn month_of_deadlines(location: DatabaseLocation) -> Result<()> {
    let storage = store::open(&location).await?;
    let staff = |login: &str, name: &str, role: Role, scope: &str| -> Result<(Account, String)> {
        Ok((
            Account {
                id: yijian_core::ids::UserId::new(),
                login: login.into(),
                name: name.into(),
                role,
                scope: DivisionCode::parse(scope)?,
            },
            "x".into(),
        ))
    };
    storage
        .create_users(vec![
            staff("13800000001", "李建华", Role::VillageWorker, "621102105201")?,
            staff("13800000011", "陈国平", Role::Township, "621102105")?,
            staff("13800000021", "张文斌", Role::County, "621102")?,
        ])
        .await?;
    // Declared on Tuesday 29 September 2026, just before the National Day holiday (1–7
    // October) and its make-up working Saturday (10 October).
    let declared_at = beijing(2026, 9, 29, 10);
    let declared = yijian_tests::resident::resident_declares(
        &storage,
        "621102105201",
        "王秀兰",
        "620102198001010017",
        declared_at,
    )
    .await?;
    let yijian_server::domain::resident::Declared::New { case_id, .. } = declared else {
        anyhow::bail!("not new");
    };
    let township = session_of(&storage, "13800000011").await?;
    let accepted_at = beijing(2026, 10, 9, 14);
    let mut accepted = false;
    let mut t = beijing(2026, 9, 29, 11);
    let end = beijing(2026, 10, 29, 0);
    let mut runs = 0;
    while t < end {
        if !accepted && t >= accepted_at {
            let settings = ApplySettings::with(t, &Procedure::current(&*storage).await?);
            let cmd = Command {
                id: CommandId::new(),
                hlc: HlcClock::new(5).tick(u64::try_from(t.timestamp_millis()).unwrap_or(0)),
                body: Wire::Known(CommandBody::CaseStep {
                    case_id: case_id.parse()?,
                    step: Step::Accept,
                }),
            };
            let r = apply::push(&*storage, &township, vec![cmd], &settings).await?;
            assert_eq!(r[0].outcome, Wire::Known(Outcome::Applied));
            accepted = true;
        }
        // Two server processes running the job at the same moment.
        let (a, b) = tokio::join!(
            yijian_server::domain::deadlines::run_once(&*storage, t),
            yijian_server::domain::deadlines::run_once(&*storage, t)
        );
        a?;
        b?;
        runs += 2;
        t += chrono::Duration::hours(1);
    }
    assert!(runs > 1400);
    let id = case_id.clone();
    let notices = read(&*storage, move |tx| tx.notices_of(&id)).await?;
    let got: Vec<(ClockStep, NaiveDate, NoticeKind, NaiveDate)> = notices
        .iter()
        .map(|n| {
            (
                n.step,
                n.due_on,
                n.kind,
                yijian_core::time::china_date(n.at),
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            // Acceptance: 2 working days, the holiday skipped → due Thursday 8 October;
            // reminded when one working day is left (30 September), escalated on the 9th.
            (
                ClockStep::Accept,
                day(2026, 10, 8),
                NoticeKind::DueSoon,
                day(2026, 9, 30)
            ),
            (
                ClockStep::Accept,
                day(2026, 10, 8),
                NoticeKind::Overdue,
                day(2026, 10, 9)
            ),
            // Home verification: 5 working days from the declaration, counting the make-up
            // Saturday → due Monday 12 October; reminded on that Saturday, escalated on the 13th.
            (
                ClockStep::HomeVerification,
                day(2026, 10, 12),
                NoticeKind::DueSoon,
                day(2026, 10, 10)
            ),
            (
                ClockStep::HomeVerification,
                day(2026, 10, 12),
                NoticeKind::Overdue,
                day(2026, 10, 13)
            ),
        ]
    );
    assert_eq!(notices[1].escalated_to, Some(Level::County));
    assert_eq!(notices[3].escalated_to, Some(Level::Township));

    // Each text once: (template, phone) → count.
    let sms = read(&*storage, |tx| tx.recent_sms(&province(), None, 500)).await?;
    let mut texts: HashMap<(String, String), u32> = HashMap::new();
    for s in &sms {
        *texts
            .entry((s.sms.template.clone(), s.sms.phone.clone()))
            .or_default() += 1;
    }
    let count = |t: &str, p: &str| {
        texts
            .get(&(t.to_owned(), p.to_owned()))
            .copied()
            .unwrap_or(0)
    };
    assert_eq!(count("due_soon", "13800000011"), 1, "{texts:?}");
    assert_eq!(count("overdue", "13800000011"), 1);
    assert_eq!(count("escalated", "13800000021"), 1);
    assert_eq!(count("due_soon", "13800000001"), 1);
    assert_eq!(count("overdue", "13800000001"), 1);
    assert_eq!(count("escalated", "13800000011"), 1);
    assert_eq!(count("receipt", "13900000101"), 1);

    // The case's history shows both escalations, for the phones and the resident.
    let body = storage
        .record("case", &case_id)
        .await?
        .and_then(|r| r.body)
        .context("case")?;
    let case: Case = serde_json::from_str(&body)?;
    let escalations: Vec<CaseEventKind> = case
        .history
        .iter()
        .map(|e| e.kind)
        .filter(|k| matches!(k, CaseEventKind::Escalated { .. }))
        .collect();
    assert_eq!(
        escalations,
        vec![
            CaseEventKind::Escalated { to: Level::County },
            CaseEventKind::Escalated {
                to: Level::Township
            },
        ]
    );
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_job_over_a_month_with_holidays_notices_each_clock_once_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    month_of_deadlines(DatabaseLocation::Sqlite {
        data_dir: dir.path().join("data"),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadline_job_over_a_month_with_holidays_notices_each_clock_once_on_postgres() -> Result<()>
{
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_deadlines").await?;
    month_of_deadlines(DatabaseLocation::Postgres { url }).await
}

// ---------------------------------------------------------------------------------------------
// The SMS sender against a stand-in of Aliyun's API
// ---------------------------------------------------------------------------------------------

/// What the stand-in does with the next SendSms for a phone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    /// HTTP 500 without sending.
    ServerError,
    /// Aliyun's throttling code, without sending.
    Throttled,
    /// Takes longer than the client waits, and does not send (lost before processing).
    SlowUnsent,
    /// Sends, then takes longer than the client waits to answer (lost after processing).
    SlowSent,
    /// A number Aliyun refuses for good.
    BadNumber,
}

#[derive(Default)]
struct StandIn {
    /// Faults to apply to the next sends, per phone, in order.
    faults: HashMap<String, Vec<Fault>>,
    /// Texts actually sent: (phone, out_id, send date).
    sent: Vec<(String, String, String)>,
    nonces: std::collections::HashSet<String>,
    bad_signatures: u32,
    queries: u32,
}

const SECRET: &str = "stand-in-secret";

async fn aliyun_stand_in(
    axum::extract::State(state): axum::extract::State<Arc<Mutex<StandIn>>>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let query = query.unwrap_or_default();
    let mut params: std::collections::BTreeMap<String, String> = std::collections::BTreeMap::new();
    let mut signature = String::new();
    for pair in query.split('&') {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let v = percent_decode(v);
        if k == "Signature" {
            signature = v;
        } else {
            params.insert(percent_decode(k), v);
        }
    }
    let json = |v: serde_json::Value| axum::Json(v).into_response();
    let expected = yijian_server::sms::aliyun::sign(&params, SECRET);
    let nonce = params.get("SignatureNonce").cloned().unwrap_or_default();
    let fault = {
        let mut s = state.lock().expect("lock");
        if signature != expected
            || params.get("AccessKeyId").map(String::as_str) != Some("stand-in-id")
        {
            s.bad_signatures += 1;
            return json(
                serde_json::json!({"Code": "SignatureDoesNotMatch", "Message": "bad signature"}),
            );
        }
        if !s.nonces.insert(nonce) {
            return json(serde_json::json!({"Code": "SignatureNonceUsed", "Message": "replay"}));
        }
        match params.get("Action").map(String::as_str) {
            Some("QuerySendDetails") => {
                s.queries += 1;
                let phone = params.get("PhoneNumber").cloned().unwrap_or_default();
                let date = params.get("SendDate").cloned().unwrap_or_default();
                let list: Vec<serde_json::Value> = s
                    .sent
                    .iter()
                    .filter(|(p, _, d)| *p == phone && *d == date)
                    .map(|(_, out, _)| serde_json::json!({"OutId": out, "SendStatus": 3, "PhoneNum": phone}))
                    .collect();
                return json(serde_json::json!({
                    "Code": "OK", "Message": "OK", "TotalCount": list.len(),
                    "SmsSendDetailDTOs": {"SmsSendDetailDTO": list}
                }));
            }
            Some("SendSms") => {}
            _ => return json(serde_json::json!({"Code": "InvalidAction", "Message": "?"})),
        }
        let phone = params.get("PhoneNumbers").cloned().unwrap_or_default();
        let fault = s
            .faults
            .get_mut(&phone)
            .and_then(|f| (!f.is_empty()).then(|| f.remove(0)));
        let sent = (
            phone,
            params.get("OutId").cloned().unwrap_or_default(),
            yijian_core::time::china_date(Utc::now())
                .format("%Y%m%d")
                .to_string(),
        );
        match fault {
            None | Some(Fault::SlowSent) => s.sent.push(sent),
            _ => {}
        }
        fault
    };
    match fault {
        None => json(
            serde_json::json!({"Code": "OK", "Message": "OK", "BizId": "biz-1", "RequestId": "r"}),
        ),
        Some(Fault::ServerError) => {
            (axum::http::StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response()
        }
        Some(Fault::Throttled) => {
            json(serde_json::json!({"Code": "isv.BUSINESS_LIMIT_CONTROL", "Message": "触发流控"}))
        }
        Some(Fault::SlowUnsent) | Some(Fault::SlowSent) => {
            tokio::time::sleep(Duration::from_millis(1500)).await;
            json(serde_json::json!({"Code": "OK", "Message": "OK", "BizId": "biz-late"}))
        }
        Some(Fault::BadNumber) => {
            json(serde_json::json!({"Code": "isv.MOBILE_NUMBER_ILLEGAL", "Message": "非法手机号"}))
        }
    }
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && i + 3 <= b.len()
            && let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16)
        {
            out.push(v);
            i += 3;
            continue;
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn sms_against_stand_in(location: DatabaseLocation) -> Result<()> {
    use yijian_server::sms::aliyun::{AliyunConfig, AliyunSms};
    let state = Arc::new(Mutex::new(StandIn::default()));
    {
        let mut s = state.lock().expect("lock");
        s.faults.insert(
            "13900000001".into(),
            vec![Fault::ServerError, Fault::Throttled],
        );
        s.faults
            .insert("13900000002".into(), vec![Fault::SlowUnsent]);
        s.faults.insert("13900000003".into(), vec![Fault::SlowSent]);
        s.faults
            .insert("13900000004".into(), vec![Fault::BadNumber]);
    }
    let app = axum::Router::new()
        .route("/", axum::routing::get(aliyun_stand_in))
        .with_state(Arc::clone(&state));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    tokio::spawn(async move { axum::serve(listener, app).await });

    let templates = [
        "receipt",
        "new_declaration",
        "due_soon",
        "overdue",
        "escalated",
        "appeal_filed",
    ]
    .into_iter()
    .map(|k| (k.to_owned(), format!("SMS_{k}")))
    .collect();
    let provider = AliyunSms::new(AliyunConfig {
        endpoint: format!("http://{addr}"),
        access_key_id: "stand-in-id".into(),
        access_key_secret: SECRET.into(),
        sign_name: "一键申报".into(),
        region_id: "cn-hangzhou".into(),
        templates,
        timeout: Duration::from_millis(400),
    })
    .map_err(anyhow::Error::msg)?;

    let storage = store::open(&location).await?;
    let now = Utc::now();
    let phones = [
        "13900000001",
        "13900000002",
        "13900000003",
        "13900000004",
        "13900000005",
    ];
    for (n, phone) in phones.iter().enumerate() {
        let msg = yijian_server::sms::message(
            format!("receipt:case-{n}"),
            phone,
            yijian_server::sms::Template::Receipt,
            &[
                ("receipt", &format!("621102-105-201-000{n}")),
                ("days", "5"),
            ],
            None,
            now,
        );
        write(&*storage, move |tx| {
            tx.enqueue_sms(&msg, now)?;
            // Enqueuing the same text again (a retried transaction) adds nothing.
            tx.enqueue_sms(&msg, now)
        })
        .await?;
    }
    let config = yijian_server::sms::worker::SenderConfig {
        base_backoff: Duration::from_secs(1),
        ..Default::default()
    };
    // Rounds an hour apart, so every retry is due at the next one.
    let mut t = now;
    let mut confirmed = 0;
    for _ in 0..6 {
        let r = yijian_server::sms::worker::run_round(&*storage, &provider, &config, t).await?;
        confirmed += r.confirmed;
        t += chrono::Duration::hours(1);
    }
    let rows = read(&*storage, |tx| tx.recent_sms(&province(), None, 50)).await?;
    let status: HashMap<String, SmsStatus> = rows
        .iter()
        .map(|r| (r.sms.phone.clone(), r.status))
        .collect();
    assert_eq!(rows.len(), phones.len(), "one row per text");
    for phone in ["13900000001", "13900000002", "13900000003", "13900000005"] {
        assert_eq!(status[phone], SmsStatus::Sent, "{phone}: {rows:#?}");
    }
    assert_eq!(status["13900000004"], SmsStatus::Failed);
    let s = state.lock().expect("lock");
    assert_eq!(
        s.bad_signatures, 0,
        "every request is signed as Aliyun checks it"
    );
    let mut per_text: HashMap<&str, u32> = HashMap::new();
    for (_, out_id, _) in &s.sent {
        *per_text.entry(out_id.as_str()).or_default() += 1;
    }
    assert_eq!(per_text.len(), 4, "{:?}", s.sent);
    assert!(
        per_text.values().all(|n| *n == 1),
        "never twice: {:?}",
        s.sent
    );
    // The text whose answer was lost after sending was looked up, not resent; the one lost
    // before sending was looked up, not found, and sent.
    assert_eq!(confirmed, 1);
    assert!(s.queries >= 2, "{}", s.queries);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_sender_survives_aliyun_faults_without_loss_or_duplicates_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    sms_against_stand_in(DatabaseLocation::Sqlite {
        data_dir: dir.path().join("data"),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sms_sender_survives_aliyun_faults_without_loss_or_duplicates_on_postgres() -> Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_sms").await?;
    sms_against_stand_in(DatabaseLocation::Postgres { url }).await
}

// ---------------------------------------------------------------------------------------------
// The procedure's rules as the server applies them (issue 17)
// ---------------------------------------------------------------------------------------------

fn command(body: CommandBody) -> Command {
    let mut clock = HlcClock::new(98);
    Command {
        id: CommandId::new(),
        hlc: clock.tick(u64::try_from(demo_now().timestamp_millis()).unwrap_or(0)),
        body: Wire::Known(body),
    }
}

/// A finalised verification visit of `case`, filled with the example answers, finalised on
/// the phone at `finalised`.
fn offline_visit(
    case: &Case,
    visitor: yijian_core::ids::UserId,
    finalised: DateTime<Utc>,
) -> Result<yijian_core::visit::Visit> {
    use yijian_core::checklist::{EXAMPLE_PHOTO_ITEMS, default_template, example_filling};
    use yijian_core::visit::{Visit, VisitPurpose};
    let template = default_template();
    let mut v = Visit::new(
        yijian_core::ids::VisitId::new(),
        case.declaration.household_id.context("household")?,
        Some(case.id()),
        VisitPurpose::Verification,
        &template,
        visitor,
        finalised - chrono::Duration::hours(1),
    );
    for (key, answer) in example_filling() {
        v.set_answer(key, answer, &template)?;
    }
    for key in EXAMPLE_PHOTO_ITEMS {
        v.attach_photo(key, yijian_core::ids::PhotoId::new(), &template)?;
    }
    v.finalize(finalised, &template)?;
    Ok(v)
}

async fn procedure_rules_hold(location: DatabaseLocation, dir: &std::path::Path) -> Result<()> {
    use yijian_core::workflow::{VerificationOutcome, VisitEvidence};
    let (storage, data) = seeded(&location, &dir.join("blobs")).await?;
    let ziyun_worker = session_of(&storage, "13800000002").await?;
    let nanchuan_worker = session_of(&storage, "13800000001").await?;
    let township = session_of(&storage, "13800000011").await?;
    let county = session_of(&storage, "13800000021").await?;

    // 民主评议 that disagrees refuses the inclusion (no 公示), with its opinion.
    let case = case_of(&storage, &data, "曹丽萍").await?;
    assert_eq!(case.state.stage, Stage::CrossChecked);
    let review = |agreed: bool, opinion: &str| Step::RecordDemocraticReview {
        held_on: day(2026, 11, 30),
        participants: 17,
        agreed,
        minutes_photo: Some(yijian_core::ids::PhotoId::new()),
        opinion: opinion.into(),
    };
    let o = push_step(
        &storage,
        &ziyun_worker,
        &step_command(&case, review(false, "")),
    )
    .await?;
    assert_eq!(refused_with(&o), "reason_required", "{o:?}");
    let o = push_step(
        &storage,
        &ziyun_worker,
        &step_command(&case, review(false, "评议认为子女有赡养能力")),
    )
    .await?;
    assert_eq!(o, Outcome::Applied);
    let refused = case_of(&storage, &data, "曹丽萍").await?;
    assert_eq!(refused.state.stage, Stage::Rejected);
    assert_eq!(refused.state.rejected_by, Some(Level::Village));
    // No closing inside the appeal window.
    let o = push_step(&storage, &township, &step_command(&refused, Step::Close)).await?;
    assert_eq!(refused_with(&o), "appeal_window_open", "{o:?}");
    // Appealed on the household's behalf; the county may not decide it, the township does.
    let o = push_step(
        &storage,
        &ziyun_worker,
        &step_command(
            &refused,
            Step::FileAppeal {
                appeal_id: yijian_core::ids::AppealId::new(),
                reason: "女儿远嫁外省，无力赡养".into(),
            },
        ),
    )
    .await?;
    assert_eq!(o, Outcome::Applied);
    let appealed = case_of(&storage, &data, "曹丽萍").await?;
    let decide = Step::DecideAppeal {
        upheld: true,
        reason: "核实女儿无赡养能力，申诉成立".into(),
        category: Some(MonitoringCategory::MarginalAtRisk),
    };
    let o = push_step(&storage, &county, &step_command(&appealed, decide.clone())).await?;
    assert_eq!(refused_with(&o), "role_not_allowed", "{o:?}");
    let o = push_step(&storage, &township, &step_command(&appealed, decide)).await?;
    assert_eq!(o, Outcome::Applied);
    assert_eq!(
        case_of(&storage, &data, "曹丽萍").await?.state.stage,
        Stage::VerifiedQualifies
    );

    // The county's category must fit the household's own 脱贫户 mark.
    let reviewed = case_of(&storage, &data, "孙德明").await?;
    let h = household_of(&storage, &reviewed).await?;
    let (wrong, right) = if h.formerly_poor {
        (
            MonitoringCategory::MarginalAtRisk,
            MonitoringCategory::UnstableFormerlyPoor,
        )
    } else {
        (
            MonitoringCategory::UnstableFormerlyPoor,
            MonitoringCategory::MarginalAtRisk,
        )
    };
    let o = push_step(
        &storage,
        &county,
        &step_command(&reviewed, Step::CountyApprove { category: wrong }),
    )
    .await?;
    assert_eq!(refused_with(&o), "category_mismatch", "{o:?}");
    let o = push_step(
        &storage,
        &county,
        &step_command(&reviewed, Step::CountyApprove { category: right }),
    )
    .await?;
    assert_eq!(o, Outcome::Applied);
    assert_eq!(
        household_of(&storage, &reviewed).await?.category,
        Some(right)
    );

    // A visit finalised offline three days ago and synced now is judged by the day it was done.
    let verifying = case_of(&storage, &data, "张有财").await?;
    let done_at = demo_now() - chrono::Duration::days(3);
    let visit = offline_visit(&verifying, nanchuan_worker.user.id, done_at)?;
    let visit_id = visit.id();
    let o = push_step(
        &storage,
        &nanchuan_worker,
        &command(CommandBody::SaveVisit(visit)),
    )
    .await?;
    assert_eq!(o, Outcome::Applied, "{o:?}");
    let o = push_step(
        &storage,
        &nanchuan_worker,
        &step_command(
            &verifying,
            Step::RecordVerification {
                visit: VisitEvidence {
                    visit_id,
                    finalised: true,
                    authorisation_photo: None,
                    // The device's word is not read: the server takes the visit's own time.
                    finalised_on: Some(day(2026, 12, 1)),
                },
                outcome: VerificationOutcome::Qualifies {
                    category: MonitoringCategory::MarginalAtRisk,
                    risk_types: vec![],
                },
            },
        ),
    )
    .await?;
    assert_eq!(o, Outcome::Applied, "{o:?}");
    let verified = case_of(&storage, &data, "张有财").await?;
    let done_on = yijian_core::time::china_date(done_at);
    assert_eq!(verified.state.verified_on, Some(done_on));
    let note = verified
        .history
        .last()
        .and_then(|e| e.note.clone())
        .unwrap_or_default();
    assert!(note.contains(&format!("入户核查于{done_on}定稿")), "{note}");
    let scope = verified.village().to_string();
    let logged = read(&*storage, move |tx| tx.steps_done(&scope, day(2026, 1, 1))).await?;
    assert!(
        logged.iter().any(|d| d.case_id == verified.id().to_string()
            && d.step == ClockStep::HomeVerification
            && d.done_on == done_on),
        "{logged:?}"
    );

    // 常态化关注: a household told 不符合 but watched gets return visits every 90 days
    // (policy), and so does a household after 风险消除.
    let told = case_of(&storage, &data, "冯丽娟").await?;
    let o = push_step(
        &storage,
        &nanchuan_worker,
        &step_command(
            &told,
            Step::NotifyNotQualified {
                on: day(2026, 12, 1),
                method: yijian_core::workflow::NoticeMethod::InPerson,
                routine_attention: true,
            },
        ),
    )
    .await?;
    assert_eq!(o, Outcome::Applied, "{o:?}");
    let of_case = |all: Vec<FollowUp>, case: &Case| -> Vec<FollowUp> {
        all.into_iter().filter(|f| f.case_id == case.id()).collect()
    };
    let watched = of_case(
        records(&storage, "follow_up", told.village().as_str()).await?,
        &told,
    );
    assert_eq!(watched.len(), 1, "{watched:?}");
    assert_eq!(
        watched[0].due_on,
        day(2026, 12, 1) + chrono::Duration::days(90)
    );
    let eliminated = case_of(&storage, &data, "蒋学文").await?;
    assert_eq!(eliminated.state.stage, Stage::RiskEliminated);
    let before = of_case(
        records(&storage, "follow_up", eliminated.village().as_str()).await?,
        &eliminated,
    );
    let mut open = before
        .iter()
        .find(|f| f.done_on.is_none())
        .cloned()
        .context("open follow-up")?;
    open.done_on = Some(day(2026, 12, 1));
    open.note = "风险消除后回访，收入稳定".into();
    let o = push_step(
        &storage,
        &nanchuan_worker,
        &command(CommandBody::SaveFollowUp(open)),
    )
    .await?;
    assert_eq!(o, Outcome::Applied, "{o:?}");
    let after = of_case(
        records(&storage, "follow_up", eliminated.village().as_str()).await?,
        &eliminated,
    );
    assert_eq!(after.len(), before.len() + 1);
    assert!(
        after
            .iter()
            .any(|f| f.done_on.is_none()
                && f.due_on == day(2026, 12, 1) + chrono::Duration::days(90)),
        "{after:?}"
    );

    // 风险消除 on the server's evidence: with the year's line raised above the household's
    // income, the phone's "income above the line" is not believed.
    let mut policy = yijian_core::policy::Policy::gansu();
    policy.income_lines.push(yijian_core::policy::IncomeLine {
        year: 2026,
        yuan: 20_000,
        source: "测试".into(),
    });
    yijian_server::domain::procedure::set_policy(
        &*storage,
        &serde_json::to_string(&policy)?,
        "test",
        demo_now(),
    )
    .await?;
    let doc = Procedure::current(&*storage).await?.document(demo_now());
    assert!(
        doc.policy
            .income_lines
            .iter()
            .any(|l| l.year == 2026 && l.yuan == 20_000)
    );
    let again = case_of(&storage, &data, "龚秀云").await?;
    assert_eq!(again.state.stage, Stage::Assisting);
    let visits: Vec<yijian_core::visit::Visit> =
        records(&storage, "visit", again.village().as_str()).await?;
    let check = visits
        .iter()
        .find(|v| {
            v.case_id() == Some(again.id())
                && v.purpose() == yijian_core::visit::VisitPurpose::RiskEliminationCheck
        })
        .context("risk-elimination visit")?;
    let o = push_step(
        &storage,
        &ziyun_worker,
        &step_command(
            &again,
            Step::ProposeRiskElimination {
                visit_id: check.id(),
                income_above_line: true,
                guarantees_kept: true,
            },
        ),
    )
    .await?;
    assert_eq!(refused_with(&o), "risk_not_gone", "{o:?}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn procedure_rules_hold_on_sqlite() -> Result<()> {
    let dir = tempfile::tempdir()?;
    procedure_rules_hold(
        DatabaseLocation::Sqlite {
            data_dir: dir.path().join("data"),
        },
        dir.path(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn procedure_rules_hold_on_postgres() -> Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_rules").await?;
    let dir = tempfile::tempdir()?;
    procedure_rules_hold(DatabaseLocation::Postgres { url }, dir.path()).await
}
