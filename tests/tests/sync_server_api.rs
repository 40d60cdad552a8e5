//! The sync API on the wire, against both databases: idempotent pushes, refusals that never
//! block the rest, scope, the change feed and the snapshot, per-field merge with conflicts,
//! and duplicated or concurrent requests.

use std::collections::BTreeSet;

use chrono::Utc;
use serde_json::json;
use yijian_core::case::{Applicant, CaseSource, Declaration, RiskType};
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::household::{Household, Member, Relation};
use yijian_core::ids::{CaseId, CommandId, HouseholdId, MemberId};
use yijian_core::protocol::{Command, CommandBody, FieldEdit, Outcome, Wire};
use yijian_core::role::Role;
use yijian_core::validation::ResidentIdNumber;
use yijian_core::workflow::Step;
use yijian_server::config::DatabaseLocation;
use yijian_tests::api::ApiDevice;
use yijian_tests::pg::PgCluster;
use yijian_tests::server::TestServer;

const V1: &str = "621102105201";
const V2: &str = "621102105202";
const PW: &str = "test-password";

fn code(s: &str) -> DivisionCode {
    DivisionCode::parse(s).expect("code")
}

fn hlc() -> Hlc {
    Hlc {
        wall_ms: u64::try_from(Utc::now().timestamp_millis()).unwrap_or(0),
        counter: 0,
        node: 1,
    }
}

fn cmd(body: CommandBody) -> Command {
    Command {
        id: CommandId::new(),
        hlc: hlc(),
        body: Wire::Known(body),
    }
}

fn household(village: &str) -> Household {
    Household::new(HouseholdId::new(), code(village), "东川村1社12号").expect("household")
}

fn discovery(village: &str, household: HouseholdId) -> Declaration {
    Declaration {
        case_id: CaseId::new(),
        household_id: Some(household),
        village: code(village),
        source: CaseSource::WorkerDiscovery,
        risk_types: vec![RiskType::Illness],
        description: "户主住院，自付医疗费较多".into(),
        applicant: Applicant {
            name: "王秀英".into(),
            id_number: "11010519491231002X".into(),
            phone: Some("13812345678".into()),
            address: "东川村1社12号".into(),
            household_size: Some(3),
        },
        proxy: None,
        declared_at: Utc::now(),
    }
}

fn outcome_type(o: &Wire<Outcome>) -> &'static str {
    match o {
        Wire::Known(Outcome::Applied) => "applied",
        Wire::Known(Outcome::AlreadyApplied) => "already_applied",
        Wire::Known(Outcome::Refused { .. }) => "refused",
        Wire::Unknown { .. } => "unknown",
    }
}

fn refusal_code(o: &Wire<Outcome>) -> Option<&str> {
    match o {
        Wire::Known(Outcome::Refused { code, .. }) => Some(code),
        _ => None,
    }
}

/// Everything a device can pull from the start: (kind, id) → version.
async fn pull_all(d: &ApiDevice) -> anyhow::Result<Vec<(String, String, i64, serde_json::Value)>> {
    let mut out = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page = d.pull(cursor.as_deref(), 2).await?;
        for c in &page.changes {
            let data: serde_json::Value = match &c.data {
                Some(raw) => serde_json::from_str(raw.get())?,
                None => serde_json::Value::Null,
            };
            out.retain(|(k, i, _, _): &(String, String, i64, serde_json::Value)| {
                !(k == &c.kind && i == &c.id)
            });
            out.push((c.kind.clone(), c.id.clone(), c.version, data));
        }
        cursor = Some(page.next_cursor.0.clone());
        if !page.has_more {
            return Ok(out);
        }
    }
}

async fn suite(location: DatabaseLocation) -> anyhow::Result<()> {
    let server = TestServer::start(location.clone()).await?;
    server
        .create_user("13800000001", Role::VillageWorker, V1, PW)
        .await?;
    server
        .create_user("13800000002", Role::VillageWorker, V2, PW)
        .await?;
    server
        .create_user("13800000003", Role::Township, "621102105", PW)
        .await?;
    let a = ApiDevice::login(&server.url(), "13800000001", PW).await?;
    let b = ApiDevice::login(&server.url(), "13800000002", PW).await?;
    let t = ApiDevice::login(&server.url(), "13800000003", PW).await?;

    // Bad credentials are refused in Chinese and English.
    assert!(
        ApiDevice::login(&server.url(), "13800000001", "wrong-password")
            .await
            .is_err()
    );

    let h1 = household(V1);
    let declare = discovery(V1, h1.id);
    let case_id = declare.case_id;
    let poison = cmd(CommandBody::CaseStep {
        case_id,
        step: Step::Accept,
    });
    let batch = vec![
        cmd(CommandBody::CreateHousehold(h1.clone())),
        cmd(CommandBody::Declare(declare)),
        poison.clone(),
    ];
    let r = a.push(&batch).await?;
    let kinds: Vec<_> = r.results.iter().map(|x| outcome_type(&x.outcome)).collect();
    assert_eq!(kinds, ["applied", "applied", "refused"]);
    assert_eq!(
        refusal_code(&r.results[2].outcome),
        Some("role_not_allowed")
    );
    let Wire::Known(Outcome::Refused {
        message_zh,
        message_en,
        ..
    }) = &r.results[2].outcome
    else {
        panic!("refused");
    };
    assert!(message_zh.contains("乡镇审核人员"), "{message_zh}");
    assert!(!message_en.is_empty());

    // The same push again (a retry after a lost answer): nothing applied twice; the refused
    // command is evaluated again and refused again.
    let r = a.push(&batch).await?;
    let kinds: Vec<_> = r.results.iter().map(|x| outcome_type(&x.outcome)).collect();
    assert_eq!(kinds, ["already_applied", "already_applied", "refused"]);

    // The same id with a different body is refused loudly.
    let mut forged = batch[0].clone();
    forged.body = Wire::Known(CommandBody::CreateHousehold(household(V1)));
    let r = a.push(&[forged]).await?;
    assert_eq!(
        refusal_code(&r.results[0].outcome),
        Some("command_id_reused")
    );

    // Another village's worker can neither write into nor read from village 1.
    let r = b
        .push(&[cmd(CommandBody::CreateHousehold(household(V1)))])
        .await?;
    assert_eq!(refusal_code(&r.results[0].outcome), Some("out_of_scope"));
    let r = b
        .push(&[cmd(CommandBody::EditHousehold {
            household_id: h1.id,
            edits: vec![FieldEdit {
                field: "address".into(),
                base: json!("东川村1社12号"),
                value: json!("x"),
            }],
        })])
        .await?;
    assert_eq!(refusal_code(&r.results[0].outcome), Some("out_of_scope"));
    let own = b
        .push(&[cmd(CommandBody::CreateHousehold(household(V2)))])
        .await?;
    assert_eq!(outcome_type(&own.results[0].outcome), "applied");
    let b_sees = pull_all(&b).await?;
    assert_eq!(b_sees.len(), 1);
    assert!(b_sees.iter().all(|(_, _, _, d)| d["village"] == V2));
    let a_sees = pull_all(&a).await?;
    let a_ids: BTreeSet<_> = a_sees
        .iter()
        .map(|(k, i, _, _)| (k.clone(), i.clone()))
        .collect();
    assert_eq!(
        a_ids,
        BTreeSet::from([
            ("case".to_owned(), case_id.to_string()),
            ("household".to_owned(), h1.id.to_string())
        ])
    );
    let case_body = &a_sees.iter().find(|(k, ..)| k == "case").expect("case").3;
    assert_eq!(case_body["receipt_no"], "621102-105-201-0001");
    assert_eq!(case_body["state"]["stage"], "declared");
    // The township sees both villages.
    assert_eq!(pull_all(&t).await?.len(), 3);

    // The township accepts; village 1's feed from its cursor brings just the changed case.
    let cursor = a.pull(None, 100).await?.next_cursor;
    let r = t
        .push(&[cmd(CommandBody::CaseStep {
            case_id,
            step: Step::Accept,
        })])
        .await?;
    assert_eq!(outcome_type(&r.results[0].outcome), "applied");
    let delta = a.pull(Some(&cursor.0), 100).await?;
    assert_eq!(delta.changes.len(), 1);
    assert_eq!(delta.changes[0].version, 2);
    let body: serde_json::Value =
        serde_json::from_str(delta.changes[0].data.as_ref().expect("body").get())?;
    assert_eq!(body["state"]["stage"], "accepted");
    let nothing = a.pull(Some(&delta.next_cursor.0), 100).await?;
    assert!(nothing.changes.is_empty() && !nothing.has_more);
    assert_eq!(nothing.next_cursor, delta.next_cursor);

    // Snapshot: paged, with the total, and a page can be asked for again (resume).
    let first = t.snapshot(None, 2).await?;
    assert_eq!(first.total_records, 3);
    assert_eq!(first.records.len(), 2);
    let page2_token = first.next_page.clone().expect("more pages");
    let p2 = t.snapshot(Some(&page2_token), 2).await?;
    let p2_again = t.snapshot(Some(&page2_token), 2).await?;
    assert_eq!(p2.records, p2_again.records);
    assert_eq!(p2.records.len(), 1);
    assert!(p2.next_page.is_none());
    assert!(
        t.pull(Some(&p2.resume_cursor.0), 10)
            .await?
            .changes
            .is_empty()
    );

    // Bad cursor and missing token.
    let (status, body) = a.pull_raw(Some("garbage"), 10).await?;
    assert_eq!(status, 400, "{body}");
    assert_eq!(body["code"], "bad_cursor");
    let mut anonymous = a.clone();
    anonymous.token = "0".repeat(64);
    let (status, body) = anonymous.pull_raw(None, 10).await?;
    assert_eq!(status, 401);
    assert_eq!(body["code"], "unauthenticated");
    assert!(body["message"].as_str().is_some_and(|m| m.contains("登录")));

    // Per-field merge: two devices change the same field from the same base.
    let a2 = ApiDevice::login(&server.url(), "13800000001", PW).await?;
    let edit = |value: &str| {
        cmd(CommandBody::EditHousehold {
            household_id: h1.id,
            edits: vec![FieldEdit {
                field: "phone".into(),
                base: serde_json::Value::Null,
                value: json!(value),
            }],
        })
    };
    let r1 = a.push(&[edit("13911112222")]).await?;
    let r2 = a2.push(&[edit("13933334444")]).await?;
    assert_eq!(outcome_type(&r1.results[0].outcome), "applied");
    assert_eq!(outcome_type(&r2.results[0].outcome), "applied");
    // An edit of a different field from the same base merges cleanly.
    let r3 = a2
        .push(&[cmd(CommandBody::EditHousehold {
            household_id: h1.id,
            edits: vec![FieldEdit {
                field: "door_plate".into(),
                base: serde_json::Value::Null,
                value: json!("东川-012"),
            }],
        })])
        .await?;
    assert_eq!(outcome_type(&r3.results[0].outcome), "applied");
    for dev in [&a, &a2] {
        let seen = pull_all(dev).await?;
        let conflict = &seen
            .iter()
            .find(|(k, ..)| k == "conflict")
            .expect("conflict visible")
            .3;
        assert_eq!(conflict["theirs"], "13911112222");
        assert_eq!(conflict["mine"], "13933334444");
        assert_eq!(conflict["base"], serde_json::Value::Null);
        assert_eq!(conflict["resolved"], false);
        let h = &seen
            .iter()
            .find(|(k, ..)| k == "household")
            .expect("household")
            .3;
        assert_eq!(h["phone"], "13911112222");
        assert_eq!(h["door_plate"], "东川-012");
    }
    let r = a2
        .push(&[cmd(CommandBody::ResolveConflict {
            household_id: h1.id,
            field: "phone".into(),
            chosen: json!("13933334444"),
        })])
        .await?;
    assert_eq!(outcome_type(&r.results[0].outcome), "applied");
    let seen = pull_all(&a).await?;
    assert_eq!(
        seen.iter().find(|(k, ..)| k == "household").expect("h").3["phone"],
        "13933334444"
    );
    assert_eq!(
        seen.iter().find(|(k, ..)| k == "conflict").expect("c").3["resolved"],
        true
    );

    // Duplicated and concurrent requests: the same 40 commands pushed 8 times at once.
    let many: Vec<Command> = (0..40)
        .map(|_| cmd(CommandBody::CreateHousehold(household(V1))))
        .collect();
    let pushes = (0..8).map(|_| {
        let (dev, batch) = (a.clone(), many.clone());
        async move { dev.push(&batch).await }
    });
    let responses = futures_all(pushes).await?;
    for i in 0..many.len() {
        let applied = responses
            .iter()
            .filter(|r| outcome_type(&r.results[i].outcome) == "applied")
            .count();
        let already = responses
            .iter()
            .filter(|r| outcome_type(&r.results[i].outcome) == "already_applied")
            .count();
        assert_eq!((applied, already), (1, 7), "command {i}");
    }
    // Re-ordered: the second half first, then everything: still exactly once.
    let more: Vec<Command> = (0..10)
        .map(|_| cmd(CommandBody::CreateHousehold(household(V1))))
        .collect();
    a.push(&more[5..]).await?;
    let r = a.push(&more).await?;
    let kinds: Vec<_> = r.results.iter().map(|x| outcome_type(&x.outcome)).collect();
    assert_eq!(&kinds[..5], ["applied"; 5]);
    assert_eq!(&kinds[5..], ["already_applied"; 5]);
    let households = pull_all(&a)
        .await?
        .into_iter()
        .filter(|(k, ..)| k == "household")
        .count();
    assert_eq!(households, 1 + 40 + 10);

    // One push naming a command twice: applied once, one line in the audit trail (PostgreSQL
    // writes a push's trail and outcomes together before the commit).
    let first = household(V1);
    let twice = cmd(CommandBody::CreateHousehold(household(V1)));
    let r = a
        .push(&[
            cmd(CommandBody::CreateHousehold(first.clone())),
            twice.clone(),
            twice.clone(),
        ])
        .await?;
    let kinds: Vec<_> = r.results.iter().map(|x| outcome_type(&x.outcome)).collect();
    assert_eq!(kinds, ["applied", "applied", "already_applied"]);
    let Wire::Known(CommandBody::CreateHousehold(h)) = &twice.body else {
        panic!("household");
    };
    let (created, trail) = (first.id.to_string(), h.id.to_string());
    let (before, lines) = yijian_server::store::read(&*server.storage, move |tx| {
        Ok((
            tx.audit_of(yijian_core::protocol::kinds::HOUSEHOLD, &created)?,
            tx.audit_of(yijian_core::protocol::kinds::HOUSEHOLD, &trail)?,
        ))
    })
    .await?;
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert_eq!(lines[0].action, "create_household");
    assert_eq!(lines[0].command_id, Some(twice.id.to_string()));
    assert_eq!(before.len(), 1);

    // Created and edited twice in one push: each command sees what the one before it wrote
    // (PostgreSQL reads a push's named records up front, and a write must replace that copy).
    let fresh = household(V1);
    let phone = |base: serde_json::Value, value: &str| {
        cmd(CommandBody::EditHousehold {
            household_id: fresh.id,
            edits: vec![FieldEdit {
                field: "phone".into(),
                base,
                value: json!(value),
            }],
        })
    };
    let r = a
        .push(&[
            cmd(CommandBody::CreateHousehold(fresh.clone())),
            phone(serde_json::Value::Null, "13955556666"),
            phone(json!("13955556666"), "13977778888"),
        ])
        .await?;
    let kinds: Vec<_> = r.results.iter().map(|x| outcome_type(&x.outcome)).collect();
    assert_eq!(kinds, ["applied", "applied", "applied"]);
    let stored = pull_all(&a)
        .await?
        .into_iter()
        .find(|(k, id, ..)| k == "household" && *id == fresh.id.to_string())
        .ok_or_else(|| anyhow::anyhow!("the household"))?;
    assert_eq!(stored.2, 3, "three versions");
    assert_eq!(stored.3["phone"], json!("13977778888"));
    assert!(
        pull_all(&a)
            .await?
            .iter()
            .all(|(k, _, v, _)| k != "household" || *v <= 4)
    );

    // A household pushed with a member keeps the member's ID number indexed (the department
    // warnings match on it): created and edited in one push, then edited in another.
    let number = "11010519491231002X";
    let mut kin = household(V1);
    kin.add_member(
        Member::new(MemberId::new(), "王秀英", Relation::Head).with_id_number(
            ResidentIdNumber::parse(number, Utc::now().date_naive())
                .map_err(|e| anyhow::anyhow!("{e}"))?,
        ),
    )?;
    let kin_phone = |base: serde_json::Value, value: &str| {
        cmd(CommandBody::EditHousehold {
            household_id: kin.id,
            edits: vec![FieldEdit {
                field: "phone".into(),
                base,
                value: json!(value),
            }],
        })
    };
    let indexed = || async {
        let number = number.to_owned();
        yijian_server::store::read(&*server.storage, move |tx| {
            tx.households_with_member(&number)
        })
        .await
    };
    let r = a
        .push(&[
            cmd(CommandBody::CreateHousehold(kin.clone())),
            kin_phone(serde_json::Value::Null, "13955550001"),
        ])
        .await?;
    assert!(
        r.results
            .iter()
            .all(|x| outcome_type(&x.outcome) == "applied")
    );
    assert_eq!(indexed().await?, vec![(kin.id.to_string(), V1.to_owned())]);
    let r = a
        .push(&[kin_phone(json!("13955550001"), "13955550002")])
        .await?;
    assert_eq!(outcome_type(&r.results[0].outcome), "applied");
    assert_eq!(indexed().await?, vec![(kin.id.to_string(), V1.to_owned())]);

    // A new login from a device that had an id keeps it — also after its token was revoked —
    // so its earlier commands stay its own; another user cannot take the id over.
    let again = ApiDevice::login_as(&server.url(), "13800000001", PW, Some(a.device_id)).await?;
    assert_eq!(again.device_id, a.device_id);
    assert_eq!(
        a.pull_raw(None, 1).await?.0,
        401,
        "the old token was replaced"
    );
    assert_eq!(again.logout().await?, 204);
    assert_eq!(again.pull_raw(None, 1).await?.0, 401, "revoked");
    let back = ApiDevice::login_as(&server.url(), "13800000001", PW, Some(a.device_id)).await?;
    assert_eq!(back.device_id, a.device_id);
    assert_eq!(back.pull_raw(None, 1).await?.0, 200);
    let r = back.push(&more).await?;
    assert!(
        r.results
            .iter()
            .all(|x| outcome_type(&x.outcome) == "already_applied")
    );
    let other = ApiDevice::login_as(&server.url(), "13800000002", PW, Some(a.device_id)).await?;
    assert_ne!(other.device_id, a.device_id);

    snapshot_while_others_write(&server, &location).await?;
    server.stop().await?;
    Ok(())
}

/// A phone's view built from pages of changes: the highest version of each record, a deletion
/// removing what it outdates (as the device store applies them).
#[derive(Default)]
struct View(std::collections::BTreeMap<(String, String), (i64, String)>);

impl View {
    fn apply(&mut self, changes: &[yijian_core::protocol::Change]) {
        for c in changes {
            let key = (c.kind.clone(), c.id.clone());
            let held = self.0.get(&key).map_or(i64::MIN, |(v, _)| *v);
            if c.version < held {
                continue;
            }
            match &c.data {
                Some(body) => {
                    self.0.insert(key, (c.version, body.get().to_owned()));
                }
                None => {
                    self.0.remove(&key);
                }
            }
        }
    }
}

/// A township's first sync walks its villages page by page while workers keep writing in
/// villages already sent and villages still to come: the pages plus the feed from the
/// snapshot's resume cursor end with exactly the server's live records (nothing missed, a record
/// sent twice kept once). A page token naming a village outside the asker's scope, or of
/// another form, is refused as a bad cursor.
async fn snapshot_while_others_write(
    server: &TestServer,
    location: &DatabaseLocation,
) -> anyhow::Result<()> {
    const V3: &str = "621102105203";
    server
        .create_user("13800000031", Role::Township, "621102105", PW)
        .await?;
    server
        .create_user("13800000032", Role::VillageWorker, V3, PW)
        .await?;
    let t = ApiDevice::login(&server.url(), "13800000031", PW).await?;
    if let DatabaseLocation::Postgres { url } = location {
        // The households below are written by transactions on both sides of a power of ten.
        PgCluster::spend_transaction_ids(url, 9).await?;
    }
    let workers = [
        (
            ApiDevice::login(&server.url(), "13800000001", PW).await?,
            V1,
        ),
        (
            ApiDevice::login(&server.url(), "13800000002", PW).await?,
            V2,
        ),
        (
            ApiDevice::login(&server.url(), "13800000032", PW).await?,
            V3,
        ),
    ];
    let mut households = Vec::new();
    for (worker, village) in &workers {
        for _ in 0..6 {
            let h = household(village);
            let r = worker
                .push(&[cmd(CommandBody::CreateHousehold(h.clone()))])
                .await?;
            assert_eq!(outcome_type(&r.results[0].outcome), "applied");
            households.push((worker.clone(), h));
        }
    }

    let mut view = View::default();
    let mut token: Option<String> = None;
    let mut pages = 0;
    let mut touched = BTreeSet::new();
    let resume = loop {
        let page = t.snapshot(token.as_deref(), 4).await?;
        assert!(page.records.len() <= 4);
        view.apply(&page.records);
        pages += 1;
        // Between pages: a new household in each village, and an edit of one from the start.
        for (i, (worker, village)) in workers.iter().enumerate() {
            let new = household(village);
            touched.insert(new.id.to_string());
            let r = worker
                .push(&[cmd(CommandBody::CreateHousehold(new))])
                .await?;
            assert_eq!(outcome_type(&r.results[0].outcome), "applied");
            let (editor, h) = &households[(pages * 3 + i) % households.len()];
            touched.insert(h.id.to_string());
            let r = editor
                .push(&[cmd(CommandBody::EditHousehold {
                    household_id: h.id,
                    edits: vec![FieldEdit {
                        field: "door_plate".into(),
                        base: serde_json::to_value(&h.door_plate)?,
                        value: json!(format!("改-{pages}-{i}")),
                    }],
                })])
                .await?;
            assert_ne!(outcome_type(&r.results[0].outcome), "refused");
        }
        match page.next_page {
            Some(next) => {
                if pages == 1 {
                    // Forged: the same position in a village of another township.
                    let forged = next.replace("621102105", "621102106");
                    let (status, body) = t.snapshot_raw(Some(&forged), 4).await?;
                    assert_eq!((status, body["code"].as_str()), (400, Some("bad_cursor")));
                    // The township's token, at the first village, sent by the second's phone.
                    assert!(next.contains(V1), "{next}");
                    let (status, body) = workers[1].0.snapshot_raw(Some(&next), 4).await?;
                    assert_eq!(
                        (status, body["code"].as_str()),
                        (400, Some("bad_cursor")),
                        "another village's phone sending the township's token: {body}"
                    );
                }
                token = Some(next);
            }
            None => break page.resume_cursor,
        }
    };
    assert!(pages > 5, "{pages} pages");
    let mut cursor = Some(resume.0);
    loop {
        let page = t.pull(cursor.as_deref(), 5).await?;
        // The feed from the resume cursor brings what changed during the snapshot, not again
        // what the pages already held (a conflict record's id starts with its household's).
        for c in &page.changes {
            assert!(
                touched.iter().any(|t| c.id.starts_with(t.as_str())),
                "{} {} sent again",
                c.kind,
                c.id
            );
        }
        view.apply(&page.changes);
        cursor = Some(page.next_cursor.0);
        if !page.has_more {
            break;
        }
    }
    let server_view: std::collections::BTreeMap<_, _> = pull_all(&t)
        .await?
        .into_iter()
        .filter(|(_, _, _, data)| !data.is_null())
        .map(|(kind, id, version, data)| ((kind, id), (version, data)))
        .collect();
    let phone_view: std::collections::BTreeMap<_, _> = view
        .0
        .into_iter()
        .map(|(key, (version, body))| Ok((key, (version, serde_json::from_str(&body)?))))
        .collect::<anyhow::Result<_>>()?;
    assert!(server_view.len() > 36, "{}", server_view.len());
    assert_eq!(phone_view, server_view);

    for old_form in ["p0.0", "s0", "w1~s0", "garbage"] {
        let (status, body) = t.snapshot_raw(Some(old_form), 4).await?;
        assert_eq!(
            (status, body["code"].as_str()),
            (400, Some("bad_cursor")),
            "{old_form}: {body}"
        );
    }
    Ok(())
}

async fn futures_all<F, T>(futs: impl Iterator<Item = F>) -> anyhow::Result<Vec<T>>
where
    F: std::future::Future<Output = anyhow::Result<T>> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futs.map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        out.push(h.await??);
    }
    Ok(out)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_api_on_sqlite() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    suite(DatabaseLocation::Sqlite {
        data_dir: dir.path().to_path_buf(),
    })
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_api_on_postgres() -> anyhow::Result<()> {
    let cluster = PgCluster::start()?;
    let url = cluster.create_database("yijian_api").await?;
    suite(DatabaseLocation::Postgres { url }).await
}
