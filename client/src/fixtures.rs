//! Test fixtures: a phone with a signed-in worker and records as the server sends them.
//!
//! Records arrive through [`LocalStore::apply_changes`], exactly as a pull writes them, so the
//! screens' views are tested against what a real sync leaves on the phone.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Duration, TimeZone, Utc};
use serde::Serialize;
use serde_json::value::RawValue;
use yijian_core::case::{Applicant, Case, CaseSource, Declaration, RiskType};
use yijian_core::division::DivisionCode;
use yijian_core::hlc::Hlc;
use yijian_core::household::{Household, Member, Relation};
use yijian_core::ids::{CaseId, DeviceId, HouseholdId, MemberId, UserId};
use yijian_core::protocol::{Change, Cursor};
use yijian_core::role::Role;
use yijian_core::workflow::Stage;

use crate::store::{Account, FeedPosition, LocalStore, Session};

pub const VILLAGE: &str = "621102105201";

/// Valid ID numbers (GB 11643 check digits), for applicants.
pub const IDS: [&str; 3] = [
    "11010519491231002X",
    "11010519510101001X",
    "620102198001010017",
];

/// A phone in a temp directory whose clock the test sets.
pub struct Phone {
    /// Keeps the phone's directory alive as long as the phone.
    _dir: tempfile::TempDir,
    pub store: LocalStore,
    pub user: Account,
    now: Arc<Mutex<DateTime<Utc>>>,
    version: i64,
}

impl Phone {
    /// A village worker of [`VILLAGE`], signed in, on 2026-12-01 10:00 Beijing time.
    pub fn new() -> Phone {
        Phone::with_role(Role::VillageWorker, VILLAGE)
    }

    pub fn with_role(role: Role, scope: &str) -> Phone {
        let dir = tempfile::tempdir().expect("tempdir");
        let now = Arc::new(Mutex::new(
            Utc.with_ymd_and_hms(2026, 12, 1, 2, 0, 0)
                .single()
                .expect("time"),
        ));
        let clock = Arc::clone(&now);
        let mut store =
            LocalStore::open(&dir.path().join("yijian.db"), &crate::fixtures::test_key())
                .expect("open")
                .with_clock(move || *clock.lock().expect("clock"));
        let user = Account {
            id: UserId::from_parts(1_700_000_000_000, 77),
            login: "13800000001".into(),
            name: "李网格".into(),
            role,
            scope: DivisionCode::parse(scope).expect("scope"),
        };
        store
            .save_session(&Session {
                server: "http://127.0.0.1:9".into(),
                token: "t".into(),
                device_id: DeviceId::from_parts(1_700_000_000_000, 5),
                user: user.clone(),
                token_rejected: false,
            })
            .expect("session");
        Phone {
            _dir: dir,
            store,
            user,
            now,
            version: 0,
        }
    }

    pub fn now(&self) -> DateTime<Utc> {
        *self.now.lock().expect("clock")
    }

    /// Write a record as the server's feed would deliver it.
    pub fn receive(&mut self, kind: &str, id: impl ToString, village: &str, body: &impl Serialize) {
        self.version += 1;
        let change = Change {
            kind: kind.into(),
            id: id.to_string(),
            village: village.into(),
            hlc: Hlc {
                wall_ms: 1_700_000_000_000 + self.version as u64,
                counter: 0,
                node: 1,
            },
            version: 1,
            data: Some(
                RawValue::from_string(serde_json::to_string(body).expect("json")).expect("raw"),
            ),
        };
        self.store
            .apply_changes(
                &[change],
                &FeedPosition::Pull {
                    next_cursor: Cursor(format!("s{}", self.version)),
                },
            )
            .expect("apply");
    }

    /// A household with a head member, received from the server.
    pub fn household(&mut self, n: u128, head: &str, door_plate: Option<&str>) -> Household {
        let mut h = Household::new(
            HouseholdId::from_parts(1_760_000_000_000, n),
            DivisionCode::parse(VILLAGE).expect("village"),
            format!("{}社{}号", n % 7 + 1, n),
        )
        .expect("household");
        h.door_plate = door_plate.map(str::to_owned);
        h.add_member(Member::new(
            MemberId::from_parts(1_760_000_000_000, n),
            head,
            Relation::Head,
        ))
        .expect("member");
        self.receive("household", h.id, VILLAGE, &h);
        h
    }

    /// A case of `household` in `stage`, declared `days_ago` days before now, received.
    pub fn case(
        &mut self,
        n: u128,
        household: Option<&Household>,
        applicant: &str,
        stage: Stage,
        days_ago: i64,
    ) -> Case {
        let declaration = Declaration {
            case_id: CaseId::from_parts(1_760_000_000_000, n),
            household_id: household.map(|h| h.id),
            village: DivisionCode::parse(VILLAGE).expect("village"),
            source: CaseSource::SelfDeclaredQr,
            risk_types: vec![RiskType::Illness],
            description: "看病花钱多".into(),
            applicant: Applicant {
                name: applicant.into(),
                id_number: IDS[(n % 3) as usize].into(),
                phone: Some("13800138000".into()),
                address: household.map_or_else(|| "2社".into(), |h| h.address.clone()),
                household_size: Some(3),
            },
            proxy: None,
            declared_at: self.now() - Duration::days(days_ago),
        };
        let mut case = Case::declared(declaration);
        case.state.stage = stage;
        case.receipt_no = Some(format!("621102-105-201-{n:04}"));
        self.receive("case", case.id(), VILLAGE, &case);
        case
    }
}

/// A real camera photo from the test data (EXIF orientation 6, GPS).
pub fn camera_photo(name: &str) -> Vec<u8> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "data", "photos", name]
        .iter()
        .collect();
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Answers for every item of the default checklist a household like this shows (see
/// [`yijian_core::checklist::example_filling`]). Photo items are not here (see
/// [`PHOTO_ITEMS`]).
pub fn full_answers() -> Vec<(&'static str, yijian_core::checklist::Answer)> {
    yijian_core::checklist::example_filling()
}

/// The items of the default checklist that need a photo with [`full_answers`], and the test
/// photo each gets (three different pictures, so three different files).
pub const PHOTO_ITEMS: [(&str, &str); 3] = [
    ("housing_rating", "orientation/Landscape_6.jpg"),
    ("water_source_photo", "orientation/Portrait_1.jpg"),
    ("authorisation_signature", "nikon_p6000_gps_small.jpg"),
];

impl Phone {
    /// Run the capture pipeline on a test photo and stage it, as the camera button does.
    pub fn stage(&self, name: &str) -> crate::media::StagedPhoto {
        let staged = crate::media::process_to_files(&self.store.photo_files(), &camera_photo(name))
            .expect("pipeline");
        self.store.stage_photo(&staged).expect("stage");
        staged
    }
}

/// The data key of test stores: fixed, so a test can reopen its store.
pub(crate) fn test_key() -> crate::vault::DataKey {
    crate::vault::DataKey::from_bytes([7; 32])
}
