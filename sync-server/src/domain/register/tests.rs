use super::*;
use yijian_core::household::Health;
use yijian_core::validation::id_check_char;

const VILLAGE: &str = "621102105201";

fn id(body: &str) -> String {
    format!("{body}{}", id_check_char(body).expect("17 digits"))
}

fn wrong_check_digit(body: &str) -> String {
    let right = id_check_char(body).expect("17 digits");
    format!("{body}{}", if right == '1' { '2' } else { '1' })
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 12, 6).expect("date")
}

fn scope() -> DivisionCode {
    DivisionCode::parse("62").expect("province")
}

fn file(rows: &[String]) -> Vec<u8> {
    let mut text = header_line();
    for r in rows {
        text.push('\n');
        text.push_str(r);
    }
    text.into_bytes()
}

fn row(no: &str, name: &str, id_number: &str, relation: &str) -> String {
    format!(
        "{no},{VILLAGE},3社12号,,{name},{id_number},{relation},13700001234,是,监测中,2024-03-15,脱贫不稳定户"
    )
}

#[test]
fn a_good_file_gives_its_households_with_their_members() {
    let bytes = file(&[
        row("6211020001", "张大山", &id("62110219600101001"), "户主"),
        row("6211020001", "王秀英", &id("62110219620202002"), "配偶"),
        row("6211020001", "张小军", &id("62110220050303003"), "之子"),
        row("6211020002", "李小河", &id("62110219700303005"), "本人"),
    ]);
    let checked = check(&bytes, &scope(), today()).expect("checked");
    assert!(checked.errors.is_empty(), "{:?}", checked.errors);
    assert_eq!(checked.rows, 4);
    assert_eq!(checked.households.len(), 2);
    let h = checked.households[0].to_household(None).expect("household");
    assert_eq!(h.id, household_id_for("6211020001"));
    assert_eq!(h.members.len(), 3);
    assert_eq!(h.head, Some(h.members[0].id));
    assert_eq!(h.members[2].relation, Relation::Son);
    assert!(h.formerly_poor);
    assert_eq!(h.category, Some(MonitoringCategory::UnstableFormerlyPoor));
    assert_eq!(
        h.monitoring,
        MonitoringStatus::Monitoring {
            since: NaiveDate::from_ymd_opt(2024, 3, 15).expect("date")
        }
    );
    assert_eq!(h.door_plate.as_deref(), Some("3社12号"));
    assert!(h.address.contains("南川村"), "{}", h.address);
    // The same file gives the same ids: a second run finds what the first wrote.
    let again = check(&bytes, &scope(), today()).expect("checked");
    assert_eq!(again.households[0].to_household(None).expect("h"), h);
}

#[test]
fn every_bad_row_is_reported_with_its_line_and_column_and_its_household_left_out() {
    let bytes = file(&[
        row("6211020001", "张大山", &id("62110219600101001"), "户主"),
        row(
            "6211020001",
            "王秀英",
            &wrong_check_digit("62110219620202002"),
            "配偶",
        ),
        row("6211020002", "李小河", &id("62110219700303005"), "户主"),
        row("6211020003", "", &id("62110219700303013"), "户主"),
        row("6211020004", "赵四", &id("62110219700303005"), "户主"), // same person as line 4
        row("6211020005", "钱五", &id("62110219700303021"), "表哥"),
        format!(
            "6211020006,621102105,,,孙六,{},户主,,,,,",
            id("62110219700303048")
        ),
        row("6211020007", "周七", &id("62110219700303056"), "配偶"), // no head
    ]);
    let checked = check(&bytes, &scope(), today()).expect("checked");
    let got: Vec<(i64, &str)> = checked
        .errors
        .iter()
        .map(|e| (e.line, e.column.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (3, ID_NUMBER),
            (5, NAME),
            (6, ID_NUMBER),
            (7, RELATION),
            (8, VILLAGE_CODE),
            (9, RELATION),
        ]
    );
    assert!(
        checked.errors[0].reason.contains("校验位"),
        "{}",
        checked.errors[0]
    );
    assert!(
        checked.errors[2].reason.contains("第4行"),
        "{}",
        checked.errors[2]
    );
    assert!(
        checked.errors[5].reason.contains("没有户主"),
        "{}",
        checked.errors[5]
    );
    // Only 李小河's household is whole; 张大山's has a bad row and is left out entirely.
    let kept: Vec<&str> = checked
        .households
        .iter()
        .map(|h| h.household_no.as_str())
        .collect();
    assert_eq!(kept, vec!["6211020002"]);
    assert_eq!(checked.bad_rows(), 6);
    assert!((checked.error_share() - 6.0 / 8.0).abs() < 1e-9);
}

#[test]
fn gbk_files_export_headers_and_title_rows_are_read() {
    let text = format!(
        "甘肃省防止返贫监测对象名单,,,,\n户编号,行政区划代码,姓名,证件号码,户主关系\n6211020001,{VILLAGE},张大山,{},户主\n",
        id("62110219600101001")
    );
    let (gbk, _, _) = encoding_rs::GBK.encode(&text);
    let checked = check(&gbk, &scope(), today()).expect("checked");
    assert!(checked.errors.is_empty(), "{:?}", checked.errors);
    assert_eq!(checked.households.len(), 1);
    assert_eq!(checked.households[0].people[0].name, "张大山");
    assert_eq!(checked.households[0].people[0].line, 3);
}

#[test]
fn a_file_without_a_required_column_is_refused_whole() {
    let err = check("户编号,姓名\n1,张三\n".as_bytes(), &scope(), today()).expect_err("refused");
    assert!(
        matches!(err, RegisterError::MissingColumn(ref c, _) if c == VILLAGE_CODE),
        "{err}"
    );
    assert!(err.to_string().contains("缺少“村代码”列"), "{err}");
}

#[test]
fn households_outside_the_scope_are_refused() {
    let bytes = file(&[row(
        "6211020001",
        "张大山",
        &id("62110219600101001"),
        "户主",
    )]);
    let county = DivisionCode::parse("620102").expect("county"); // 城关区, not 安定区
    let checked = check(&bytes, &county, today()).expect("checked");
    assert_eq!(checked.households.len(), 0);
    assert!(
        checked.errors[0].reason.contains("不在本次导入的范围"),
        "{}",
        checked.errors[0]
    );
}

#[test]
fn reimport_keeps_member_ids_and_what_the_worker_recorded_and_the_procedures_status() {
    let first = file(&[
        row("6211020001", "张大山", &id("62110219600101001"), "户主"),
        row("6211020001", "王秀英", &id("62110219620202002"), "配偶"),
    ]);
    let checked = check(&first, &scope(), today()).expect("checked");
    let mut stored = checked.households[0].to_household(None).expect("h");
    // At home, the worker recorded the wife's illness; the county then eliminated the risk.
    stored.members[1].health = Health::SeriousIllness;
    stored.monitoring = MonitoringStatus::RiskEliminated { on: today() };
    // The next export: the wife renamed, a grandson added, the phone changed.
    let second = file(&[
        row("6211020001", "张大山", &id("62110219600101001"), "户主"),
        row("6211020001", "王秀兰", &id("62110219620202002"), "配偶"),
        row("6211020001", "张小宝", &id("62110220200101007"), "之孙子")
            .replace("13700001234", "13900009876"),
    ]);
    let checked = check(&second, &scope(), today()).expect("checked");
    assert!(checked.errors.is_empty(), "{:?}", checked.errors);
    let updated = checked.households[0]
        .to_household(Some(&stored))
        .expect("h");
    assert_eq!(updated.id, stored.id);
    assert_eq!(updated.members.len(), 3);
    assert_eq!(updated.members[1].id, stored.members[1].id);
    assert_eq!(updated.members[1].name, "王秀兰");
    assert_eq!(updated.members[1].health, Health::SeriousIllness);
    assert_eq!(updated.members[2].relation, Relation::Grandchild);
    assert_eq!(
        updated.monitoring,
        MonitoringStatus::RiskEliminated { on: today() }
    );
    assert_eq!(
        updated.phone.as_ref().map(MobileNumber::as_str),
        Some("13700001234"),
        "the household's columns come from its first row"
    );
    // The same export again changes nothing.
    assert_eq!(
        checked.households[0]
            .to_household(Some(&updated))
            .expect("h"),
        updated
    );
}
