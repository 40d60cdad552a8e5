//! The checklist's promises: the default template, skip logic, income, water, completeness.

use std::collections::BTreeSet;

use chrono::NaiveDate;

use super::keys::*;
use super::*;
use crate::case::{MonitoringCategory, RiskType};
use proptest::prelude::*;
use rstest::rstest;

fn t() -> ChecklistTemplate {
    default_template()
}

fn photo(n: u128) -> PhotoId {
    PhotoId::from_parts(1_750_000_000_000, n)
}

fn answers(pairs: &[(&str, Answer)]) -> Answers {
    pairs
        .iter()
        .map(|(k, a)| ((*k).to_owned(), a.clone()))
        .collect()
}

fn yes() -> Answer {
    Answer::Bool(true)
}

fn no() -> Answer {
    Answer::Bool(false)
}

fn ch(v: &str) -> Answer {
    Answer::Choice(v.to_owned())
}

/// A complete, valid filling of the default template: 3 people, ¥15,000 of wages, every
/// guarantee kept, water safe (piped in), qualifies; plus the house photo.
pub(crate) fn filled() -> (Answers, ItemPhotos) {
    let mut a = answers(&[
        (HOUSEHOLD_SIZE, Answer::Integer(3)),
        (LABOUR_COUNT, Answer::Integer(1)),
        (SERIOUSLY_ILL_COUNT, Answer::Integer(1)),
        (DISABLED_COUNT, Answer::Integer(0)),
        (MIGRANT_WORKER_COUNT, Answer::Integer(1)),
        (INCOME_WAGES, Answer::yuan(15_000)),
        (SPENDING_MEDICAL, Answer::yuan(0)),
        (SPENDING_EDUCATION, Answer::yuan(0)),
        (FOOD_SUFFICIENT, yes()),
        (CLOTHING_SUFFICIENT, yes()),
        (HAS_SCHOOL_AGE_CHILDREN, no()),
        (MEDICAL_INSURANCE_ALL, yes()),
        (CRITICAL_ILLNESS_INSURANCE, yes()),
        (HAS_CHRONIC_PATIENT, no()),
        (HOUSING_RATING, ch("b")),
        (HOUSING_CRACKS, no()),
        (HOUSING_LEAKS, no()),
        (WATER_SOURCE_TYPE, ch("piped")),
        (WATER_LITRES_PER_PERSON_DAY, Answer::Integer(40)),
        (WATER_QUALITY_METHOD, ch("sensory")),
        (WATER_QUALITY_OK, yes()),
        (WATER_PIPED_IN, yes()),
        (WATER_OUTAGE_DAYS, Answer::Integer(3)),
        (WATER_SOURCE_PHOTO, Answer::Photos(vec![photo(1)])),
        (RISK_TYPES, Answer::Choices(vec!["illness".into()])),
        (
            HARDSHIP_DESCRIPTION,
            Answer::Text("户主患病，收入减少".into()),
        ),
        (NEEDS, Answer::Choices(vec!["medical_assistance".into()])),
        (CONCLUSION, ch("qualifies")),
        (MONITORING_CATEGORY, ch("marginal_at_risk")),
        (AUTHORISATION_SIGNATURE, Answer::Photos(vec![photo(2)])),
    ]);
    for k in [
        INCOME_CROPS,
        INCOME_LIVESTOCK,
        INCOME_OTHER_BUSINESS,
        INCOME_DIBAO,
        INCOME_TEKUN,
        INCOME_DISABILITY_ALLOWANCE,
        INCOME_PENSION,
        INCOME_OTHER_TRANSFERS,
        INCOME_PROPERTY,
        COST_PRODUCTION,
    ] {
        a.insert(k.to_owned(), Answer::yuan(0));
    }
    let photos = ItemPhotos::from([(HOUSING_RATING.to_owned(), vec![photo(3)])]);
    (a, photos)
}

fn with(mut a: Answers, pairs: &[(&str, Answer)]) -> Answers {
    for (k, v) in pairs {
        a.insert((*k).to_owned(), v.clone());
    }
    a
}

// ---- template ----------------------------------------------------------------------

#[test]
fn default_template_is_valid() {
    assert_eq!(t().validate(), Ok(()));
}

#[test]
fn default_template_keys_unique_and_references_exist() {
    let t = t();
    let keys: Vec<&str> = t.items().map(|i| i.key.as_str()).collect();
    let unique: BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(keys.len(), unique.len(), "duplicate item keys");
    for item in t.items() {
        for r in item.show_if.iter().flat_map(Condition::referenced_items) {
            let pos_ref = keys
                .iter()
                .position(|k| *k == r)
                .expect("show_if refers to an item");
            let pos = keys.iter().position(|k| *k == item.key).expect("own key");
            assert!(pos_ref < pos, "{} refers to later item {r}", item.key);
        }
    }
    let d = &t.derivation;
    let named = d
        .household_size
        .iter()
        .chain(&d.income)
        .chain(&d.deductions)
        .chain(&d.rigid_spending)
        .chain(&d.risk_types)
        .chain(&d.category)
        .chain(&d.conclusion);
    for k in named {
        assert!(
            unique.contains(k.as_str()),
            "derivation names unknown item {k}"
        );
    }
    for c in &d.checks {
        for r in c.pass_if.referenced_items() {
            assert!(unique.contains(r), "check {} names unknown item {r}", c.key);
        }
    }
    assert_eq!(t.version, 1);
    assert_eq!(t.monitoring_line_yuan, 6000);
    assert_eq!(t.code, "gansu-home-verification");
}

#[test]
fn default_template_covers_the_minimum_content() {
    let t = t();
    let d = &t.derivation;
    for a in Aspect::WATER_TESTS.into_iter().chain([
        Aspect::Food,
        Aspect::Clothing,
        Aspect::CompulsoryEducation,
        Aspect::BasicMedical,
        Aspect::SafeHousing,
    ]) {
        assert!(d.checks.iter().any(|c| c.aspect == a), "no check for {a:?}");
    }
    let sig = t.item(AUTHORISATION_SIGNATURE).expect("signature item");
    assert_eq!(sig.kind, ItemKind::Signature);
    assert!(sig.is_required());
    let house = t.item(HOUSING_RATING).expect("housing item");
    assert_eq!(house.photo, PhotoRequirement::Required { min: 1 });
    let water = t.item(WATER_SOURCE_PHOTO).expect("water photo");
    assert_eq!(water.kind, ItemKind::Photo);
    let Some(ItemKind::MultiChoice { options }) = t.item(RISK_TYPES).map(|i| &i.kind) else {
        panic!("risk types is a multi-choice");
    };
    assert_eq!(options.len(), RiskType::ALL.len());
    assert!(
        options
            .iter()
            .any(|o| o.value == "illness" && o.label_zh == "因病")
    );
}

fn bad_template(edit: impl FnOnce(&mut ChecklistTemplate)) -> Vec<TemplateProblem> {
    let mut t = t();
    edit(&mut t);
    t.validate().expect_err("template should be refused")
}

#[test]
fn validate_refuses_duplicate_keys_and_bad_references() {
    let p = bad_template(|t| {
        let copy = t.sections[0].items[0].clone();
        t.sections[1].items.push(copy);
    });
    assert!(p.contains(&TemplateProblem::DuplicateItem(HOUSEHOLD_SIZE.into())));

    let p = bad_template(|t| {
        t.sections[0].items[0].show_if = Some(Condition::yes("no_such_item"));
    });
    assert!(
        matches!(&p[..], [TemplateProblem::UnknownReference { refers_to, .. }]
        if refers_to == "no_such_item")
    );

    let p = bad_template(|t| {
        t.sections[0].items[0].show_if = Some(Condition::yes(WATER_PIPED_IN));
    });
    assert_eq!(
        p,
        vec![TemplateProblem::ForwardReference {
            item: HOUSEHOLD_SIZE.into(),
            refers_to: WATER_PIPED_IN.into()
        }]
    );

    let p = bad_template(|t| t.derivation.income.push(FOOD_SUFFICIENT.into()));
    assert!(matches!(&p[..], [TemplateProblem::WrongKind { item, .. }] if item == FOOD_SUFFICIENT));

    let p = bad_template(|t| t.monitoring_line_yuan = 0);
    assert_eq!(p, vec![TemplateProblem::BadMonitoringLine(0)]);
    assert_eq!(p[0].to_string(), "监测线应大于0元，现为0元");
}

// ---- skip logic --------------------------------------------------------------------

#[rstest]
#[case::reason_hidden_at_start(OUT_OF_SCHOOL_REASON, vec![], false)]
#[case::reason_hidden_without_children(OUT_OF_SCHOOL_REASON, vec![(HAS_SCHOOL_AGE_CHILDREN, no()), (CHILD_OUT_OF_SCHOOL, yes())], false)]
#[case::reason_hidden_all_in_school(OUT_OF_SCHOOL_REASON, vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, no())], false)]
#[case::reason_shown(OUT_OF_SCHOOL_REASON, vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, yes())], true)]
#[case::dropout_question_shown(CHILD_OUT_OF_SCHOOL, vec![(HAS_SCHOOL_AGE_CHILDREN, yes())], true)]
#[case::fetch_time_hidden_unanswered(WATER_FETCH_MINUTES, vec![], false)]
#[case::fetch_time_hidden_piped(WATER_FETCH_MINUTES, vec![(WATER_PIPED_IN, yes())], false)]
#[case::fetch_time_shown(WATER_FETCH_MINUTES, vec![(WATER_PIPED_IN, no())], true)]
#[case::fetch_distance_shown(WATER_FETCH_VERTICAL_M, vec![(WATER_PIPED_IN, no())], true)]
#[case::report_photo_shown(WATER_QUALITY_REPORT_PHOTO, vec![(WATER_QUALITY_METHOD, ch("lab_report"))], true)]
#[case::report_photo_hidden(WATER_QUALITY_REPORT_PHOTO, vec![(WATER_QUALITY_METHOD, ch("sensory"))], false)]
#[case::reason_not_qualified_shown(NOT_QUALIFIED_REASON, vec![(CONCLUSION, ch("does_not_qualify"))], true)]
#[case::reason_not_qualified_hidden(NOT_QUALIFIED_REASON, vec![(CONCLUSION, ch("qualifies"))], false)]
#[case::category_shown(MONITORING_CATEGORY, vec![(CONCLUSION, ch("qualifies"))], true)]
#[case::category_hidden(MONITORING_CATEGORY, vec![(CONCLUSION, ch("does_not_qualify"))], false)]
#[case::bills_shown(MEDICAL_BILLS_PHOTO, vec![(SPENDING_MEDICAL, Answer::Money { fen: 1 })], true)]
#[case::bills_hidden(MEDICAL_BILLS_PHOTO, vec![(SPENDING_MEDICAL, Answer::yuan(0))], false)]
#[case::other_risk_shown(RISK_OTHER_DETAIL, vec![(RISK_TYPES, Answer::Choices(vec!["illness".into(), "other".into()]))], true)]
#[case::other_risk_hidden(RISK_OTHER_DETAIL, vec![(RISK_TYPES, Answer::Choices(vec!["illness".into()]))], false)]
#[case::renovation_shown(HOUSING_RENOVATION, vec![(HOUSING_RATING, ch("d"))], true)]
#[case::wrong_type_does_not_show(WATER_FETCH_MINUTES, vec![(WATER_PIPED_IN, ch("no"))], false)]
#[case::always_shown(HOUSEHOLD_SIZE, vec![], true)]
fn skip_logic(#[case] key: &str, #[case] given: Vec<(&str, Answer)>, #[case] shown: bool) {
    let a = answers(&given);
    let visible = visible_items(&t(), &a);
    assert_eq!(visible.iter().any(|k| k == key), shown, "{key}");
    assert_eq!(evaluate(&t(), &a).visible, visible);
}

#[test]
fn three_valued_conditions() {
    let a = answers(&[
        (WATER_PIPED_IN, no()),
        (WATER_FETCH_MINUTES, Answer::Integer(30)),
    ]);
    let c = Condition::any(vec![
        Condition::yes(WATER_PIPED_IN),
        Condition::at_most(WATER_FETCH_MINUTES, 20),
        Condition::at_most(WATER_FETCH_HORIZONTAL_M, 800),
    ]);
    assert_eq!(c.eval(&a), None);
    assert_eq!(Condition::not(Condition::yes("x")).eval(&a), None);
    assert_eq!(Condition::answered("x").eval(&a), Some(false));
    assert_eq!(Condition::all(vec![]).eval(&a), Some(true));
    assert_eq!(Condition::any(vec![]).eval(&a), Some(false));
    assert_eq!(
        Condition::all(vec![Condition::no(WATER_PIPED_IN), Condition::yes("x")]).eval(&a),
        None
    );
    assert_eq!(
        Condition::all(vec![Condition::yes(WATER_PIPED_IN), Condition::yes("x")]).eval(&a),
        Some(false)
    );
}

// ---- income ------------------------------------------------------------------------

#[rstest]
#[case::example_below(3, 1_500_000, 0, 5000, LineStatus::Below, 1000)]
#[case::exactly_on_line(3, 1_800_000, 0, 6000, LineStatus::AtOrAbove, 0)]
#[case::one_fen_short(3, 1_799_999, 0, 5999, LineStatus::Below, 1)]
#[case::costs_deducted(4, 3_000_000, 600_000, 6000, LineStatus::AtOrAbove, 0)]
#[case::above(2, 2_000_000, 0, 10_000, LineStatus::AtOrAbove, -4000)]
#[case::loss_rounds_down(2, 0, 100_001, -501, LineStatus::Below, 6501)]
fn income_per_person_against_line(
    #[case] size: i64,
    #[case] wages_fen: i64,
    #[case] cost_fen: i64,
    #[case] per_person_yuan: i64,
    #[case] status: LineStatus,
    #[case] gap_yuan: i64,
) {
    let (a, _) = filled();
    let a = with(
        a,
        &[
            (HOUSEHOLD_SIZE, Answer::Integer(size)),
            (INCOME_WAGES, Answer::Money { fen: wages_fen }),
            (COST_PRODUCTION, Answer::Money { fen: cost_fen }),
        ],
    );
    let e = evaluate(&t(), &a);
    let inc = e.income.expect("income known");
    assert_eq!(e.household_size, Some(u32::try_from(size).expect("small")));
    assert_eq!(inc.net_income_fen, wages_fen - cost_fen);
    assert_eq!(inc.per_person_yuan, per_person_yuan);
    assert_eq!(inc.line_status, status);
    assert_eq!(inc.gap_yuan, gap_yuan);
    assert!(inc.complete);
    let listed = e.problems.iter().any(|p| p.contains("低于监测线"));
    assert_eq!(listed, status == LineStatus::Below);
}

#[test]
fn income_example_in_words_and_configurable_line() {
    let (a, _) = filled();
    let e = evaluate(&t(), &a);
    assert_eq!(
        e.problems[0],
        "家庭年人均纯收入5000元，低于监测线6000元（差1000元）"
    );

    let mut other_province = t();
    other_province.monitoring_line_yuan = 4500;
    let e = evaluate(&other_province, &a);
    let inc = e.income.expect("income");
    assert_eq!(
        (inc.line_status, inc.gap_yuan),
        (LineStatus::AtOrAbove, -500)
    );
    assert!(!e.problems.iter().any(|p| p.contains("监测线")));
}

#[test]
fn rigid_spending_is_reported_beside_net_income() {
    let (a, photos) = filled();
    let a = with(
        a,
        &[
            (INCOME_WAGES, Answer::yuan(30_000)),
            (SPENDING_MEDICAL, Answer::yuan(24_000)),
            (MEDICAL_BILLS_PHOTO, Answer::Photos(vec![photo(9)])),
        ],
    );
    let e = evaluate(&t(), &a);
    let inc = e.income.expect("income");
    assert_eq!(inc.per_person_yuan, 10_000);
    assert_eq!(inc.rigid_spending_fen, 2_400_000);
    assert_eq!(inc.per_person_after_rigid_yuan, 2000);
    assert!(
        e.problems
            .contains(&"扣除刚性支出后家庭年人均收入2000元，低于监测线6000元".to_owned())
    );
    assert!(
        e.problems
            .contains(&"报销后医疗自付费用超过2万元".to_owned())
    );
    assert_eq!(check_complete(&t(), &a, &photos), Ok(()));
}

#[test]
fn income_incomplete_or_unknown_size() {
    let a = answers(&[
        (HOUSEHOLD_SIZE, Answer::Integer(2)),
        (INCOME_WAGES, Answer::yuan(1000)),
    ]);
    let e = evaluate(&t(), &a);
    let inc = e.income.expect("running total");
    assert!(!inc.complete);
    assert_eq!(inc.gross_income_fen, 100_000);
    assert!(
        e.problems.is_empty(),
        "no verdict on a running total: {:?}",
        e.problems
    );

    let e = evaluate(&t(), &answers(&[(INCOME_WAGES, Answer::yuan(1000))]));
    assert_eq!((e.household_size, e.income), (None, None));
}

proptest! {
    #[test]
    fn below_line_iff_net_below_line_times_size(
        size in 1i64..=30,
        wages in 0i64..=MAX_MONEY_FEN,
        cost in 0i64..=MAX_MONEY_FEN,
        line in 1i64..=50_000,
    ) {
        let (a, _) = filled();
        let a = with(a, &[
            (HOUSEHOLD_SIZE, Answer::Integer(size)),
            (INCOME_WAGES, Answer::Money { fen: wages }),
            (COST_PRODUCTION, Answer::Money { fen: cost }),
        ]);
        let mut tpl = t();
        tpl.monitoring_line_yuan = line;
        let inc = evaluate(&tpl, &a).income.expect("income");
        let net = wages - cost;
        prop_assert_eq!(inc.line_status == LineStatus::Below, net < line * 100 * size);
        prop_assert!(inc.per_person_fen * size <= net && net < (inc.per_person_fen + 1) * size);
        prop_assert_eq!(inc.gap_yuan > 0, inc.line_status == LineStatus::Below);
    }
}

// ---- water -------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq)]
enum T {
    Pass,
    Fail,
    Unanswered,
}

fn water_answers(q: T, quality: T, conv: T, rel: T) -> Answers {
    let mut a = Answers::new();
    let mut put = |k: &str, v: Answer| {
        a.insert(k.to_owned(), v);
    };
    match q {
        T::Pass => put(WATER_LITRES_PER_PERSON_DAY, Answer::Integer(20)),
        T::Fail => put(WATER_LITRES_PER_PERSON_DAY, Answer::Integer(19)),
        T::Unanswered => {}
    }
    match quality {
        T::Pass => put(WATER_QUALITY_OK, yes()),
        T::Fail => put(WATER_QUALITY_OK, no()),
        T::Unanswered => {}
    }
    match conv {
        T::Pass => put(WATER_PIPED_IN, yes()),
        T::Fail => {
            put(WATER_PIPED_IN, no());
            put(WATER_FETCH_MINUTES, Answer::Integer(21));
            put(WATER_FETCH_HORIZONTAL_M, Answer::Integer(801));
            put(WATER_FETCH_VERTICAL_M, Answer::Integer(10));
        }
        T::Unanswered => {}
    }
    match rel {
        T::Pass => put(WATER_OUTAGE_DAYS, Answer::Integer(36)),
        T::Fail => put(WATER_OUTAGE_DAYS, Answer::Integer(37)),
        T::Unanswered => {}
    }
    a
}

#[test]
fn water_unsafe_iff_any_test_fails_all_combinations() {
    let states = [T::Pass, T::Fail, T::Unanswered];
    let mut seen = 0;
    for q in states {
        for quality in states {
            for conv in states {
                for rel in states {
                    let tests = [q, quality, conv, rel];
                    let e = evaluate(&t(), &water_answers(q, quality, conv, rel));
                    let expected = if tests.contains(&T::Fail) {
                        WaterSafety::Unsafe
                    } else if tests.contains(&T::Unanswered) {
                        WaterSafety::Unknown
                    } else {
                        WaterSafety::Safe
                    };
                    assert_eq!(e.water, expected, "{tests:?}");
                    let verdicts = tests.map(|s| match s {
                        T::Pass => Verdict::Pass,
                        T::Fail => Verdict::Fail,
                        T::Unanswered => Verdict::Unknown,
                    });
                    assert_eq!(e.water_tests, verdicts, "{tests:?}");
                    let failures = e
                        .problems
                        .iter()
                        .filter(|p| p.starts_with("饮水不安全"))
                        .count();
                    assert_eq!(failures, tests.iter().filter(|s| **s == T::Fail).count());
                    seen += 1;
                }
            }
        }
    }
    assert_eq!(seen, 81);
}

#[rstest]
#[case::piped_in(Some(true), None, None, None, Verdict::Pass)]
#[case::piped_in_ignores_stale_distances(
    Some(true),
    Some(99),
    Some(9999),
    Some(999),
    Verdict::Pass
)]
#[case::close_in_time(Some(false), Some(20), None, None, Verdict::Pass)]
#[case::near_enough(Some(false), Some(30), Some(800), Some(80), Verdict::Pass)]
#[case::too_high(Some(false), Some(30), Some(800), Some(81), Verdict::Fail)]
#[case::too_far(Some(false), Some(21), Some(801), Some(0), Verdict::Fail)]
#[case::distance_unknown(Some(false), Some(30), None, Some(10), Verdict::Unknown)]
#[case::nothing(None, None, None, None, Verdict::Unknown)]
fn water_convenience(
    #[case] piped: Option<bool>,
    #[case] minutes: Option<i64>,
    #[case] horizontal: Option<i64>,
    #[case] vertical: Option<i64>,
    #[case] verdict: Verdict,
) {
    let mut a = Answers::new();
    let ints = [
        (WATER_FETCH_MINUTES, minutes),
        (WATER_FETCH_HORIZONTAL_M, horizontal),
        (WATER_FETCH_VERTICAL_M, vertical),
    ];
    for (k, v) in ints {
        if let Some(v) = v {
            a.insert(k.to_owned(), Answer::Integer(v));
        }
    }
    if let Some(p) = piped {
        a.insert(WATER_PIPED_IN.to_owned(), Answer::Bool(p));
    }
    let e = evaluate(&t(), &a);
    assert_eq!(e.water_tests[2], verdict);
    assert_eq!(e.aspect(Aspect::WaterConvenience), verdict);
}

proptest! {
    #[test]
    fn water_matches_the_four_rules(
        litres in 0i64..=60,
        quality in any::<bool>(),
        piped in any::<bool>(),
        minutes in 0i64..=60,
        horizontal in 0i64..=2000,
        vertical in 0i64..=200,
        outage in 0i64..=366,
    ) {
        let a = answers(&[
            (WATER_LITRES_PER_PERSON_DAY, Answer::Integer(litres)),
            (WATER_QUALITY_OK, Answer::Bool(quality)),
            (WATER_PIPED_IN, Answer::Bool(piped)),
            (WATER_FETCH_MINUTES, Answer::Integer(minutes)),
            (WATER_FETCH_HORIZONTAL_M, Answer::Integer(horizontal)),
            (WATER_FETCH_VERTICAL_M, Answer::Integer(vertical)),
            (WATER_OUTAGE_DAYS, Answer::Integer(outage)),
        ]);
        let convenient = piped || minutes <= 20 || (horizontal <= 800 && vertical <= 80);
        let safe = litres >= 20 && quality && convenient && outage <= 36;
        let expected = if safe { WaterSafety::Safe } else { WaterSafety::Unsafe };
        prop_assert_eq!(evaluate(&t(), &a).water, expected);
    }
}

// ---- 两不愁 and 三保障 ----------------------------------------------------------------

#[test]
fn complete_filling_has_everything_guaranteed() {
    let (a, _) = filled();
    let e = evaluate(&t(), &a);
    assert_eq!(e.two_no_worries, Verdict::Pass);
    assert_eq!(e.three_guarantees(), Verdict::Pass);
    assert_eq!(e.water, WaterSafety::Safe);
    assert_eq!(e.risk_types, vec![RiskType::Illness]);
    assert_eq!(e.category, Some(MonitoringCategory::MarginalAtRisk));
    assert_eq!(e.conclusion, Some(Conclusion::Qualifies));
    assert!(
        e.unanswered_required.is_empty(),
        "{:?}",
        e.unanswered_required
    );
    // Only the income problem of the 3 × ¥5,000 household.
    assert_eq!(e.problems.len(), 1);
}

/// 义务教育有保障 as the national standard words it (国开发〔2019〕15号): "除身体原因不具备学习
///条件外，义务教育阶段适龄儿童少年不失学辍学". Any dropout fails it unless the reason is the
/// child's health (因病因残, taught at home instead); a dropout for work, weariness or any other
/// reason fails as surely as one for money. `no_dropout` (控辍保学 follow-up) fails every dropout.
#[rstest]
#[case::no_children(vec![(HAS_SCHOOL_AGE_CHILDREN, no())], Verdict::Pass, Verdict::Pass)]
#[case::in_school(vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, no())], Verdict::Pass, Verdict::Pass)]
#[case::dropout_reason_unknown(vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, yes())], Verdict::Unknown, Verdict::Fail)]
#[case::dropout_for_money(vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, yes()), (OUT_OF_SCHOOL_REASON, ch("economic"))], Verdict::Fail, Verdict::Fail)]
#[case::dropout_for_work(vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, yes()), (OUT_OF_SCHOOL_REASON, ch("other")), (OUT_OF_SCHOOL_DETAIL, Answer::Text("外出打工".into()))], Verdict::Fail, Verdict::Fail)]
#[case::dropout_from_weariness(vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, yes()), (OUT_OF_SCHOOL_REASON, ch("weariness"))], Verdict::Fail, Verdict::Fail)]
#[case::dropout_for_illness(vec![(HAS_SCHOOL_AGE_CHILDREN, yes()), (CHILD_OUT_OF_SCHOOL, yes()), (OUT_OF_SCHOOL_REASON, ch("illness_disability"))], Verdict::Pass, Verdict::Fail)]
#[case::stale_dropout_ignored(vec![(HAS_SCHOOL_AGE_CHILDREN, no()), (CHILD_OUT_OF_SCHOOL, yes()), (OUT_OF_SCHOOL_REASON, ch("economic"))], Verdict::Pass, Verdict::Pass)]
fn compulsory_education(
    #[case] given: Vec<(&str, Answer)>,
    #[case] guaranteed: Verdict,
    #[case] no_dropout: Verdict,
) {
    let e = evaluate(&t(), &answers(&given));
    assert_eq!(e.compulsory_education, guaranteed);
    let verdict_of = |key: &str| {
        e.checks
            .iter()
            .find(|c| c.key == key)
            .map(|c| c.verdict)
            .expect("check")
    };
    assert_eq!(verdict_of("no_dropout_except_health"), guaranteed);
    assert_eq!(verdict_of("no_dropout"), no_dropout);
    let problem = "义务教育无保障：有义务教育阶段适龄儿童少年非因身体原因失学辍学";
    assert_eq!(
        e.problems.iter().any(|p| p == problem),
        guaranteed == Verdict::Fail,
        "{:?}",
        e.problems
    );
}

#[test]
fn the_health_exception_names_the_illness_option() {
    // The check passes on the option value, so the option must exist and mean 因病因残.
    let t = t();
    let Some(ItemKind::Choice { options }) = t.item(OUT_OF_SCHOOL_REASON).map(|i| &i.kind) else {
        panic!("out-of-school reason is a choice");
    };
    let health = options
        .iter()
        .find(|o| o.value == "illness_disability")
        .expect("option");
    assert!(health.label_zh.contains("因病因残"), "{}", health.label_zh);
    let check = t
        .derivation
        .checks
        .iter()
        .find(|c| c.key == "no_dropout_except_health")
        .cloned()
        .expect("check");
    assert_eq!(check.aspect, Aspect::CompulsoryEducation);
    assert_eq!(check.label_zh, "除身体原因外无适龄儿童失学辍学");
}

#[rstest]
#[case::no_food(FOOD_SUFFICIENT, no(), "吃饭有困难：口粮或买粮的钱不够")]
#[case::no_clothes(CLOTHING_SUFFICIENT, no(), "穿衣有困难：四季衣物或被褥不齐")]
#[case::uninsured(
    MEDICAL_INSURANCE_ALL,
    no(),
    "基本医疗无保障：有家庭成员未参加城乡居民医保或大病保险"
)]
#[case::c_rated(HOUSING_RATING, ch("c"), "住房不安全：住房鉴定为C级或D级")]
#[case::leaking(HOUSING_LEAKS, yes(), "住房不安全：屋顶漏雨")]
#[case::no_labour(LABOUR_COUNT, Answer::Integer(0), "家中无劳动力")]
fn failures_are_listed_in_words(#[case] key: &str, #[case] answer: Answer, #[case] words: &str) {
    let (a, _) = filled();
    let e = evaluate(&t(), &with(a, &[(key, answer)]));
    assert!(e.problems.iter().any(|p| p == words), "{:?}", e.problems);
}

#[test]
fn housing_and_two_no_worries_verdicts() {
    let (a, _) = filled();
    let e = evaluate(&t(), &with(a.clone(), &[(HOUSING_RATING, ch("d"))]));
    assert_eq!(e.safe_housing, Verdict::Fail);
    assert_eq!(e.three_guarantees(), Verdict::Fail);
    let e = evaluate(&t(), &with(a, &[(CLOTHING_SUFFICIENT, no())]));
    assert_eq!(
        (e.food, e.clothing, e.two_no_worries),
        (Verdict::Pass, Verdict::Fail, Verdict::Fail)
    );
    let e = evaluate(&t(), &Answers::new());
    assert_eq!(e.two_no_worries, Verdict::Unknown);
    assert_eq!(e.water, WaterSafety::Unknown);
}

// ---- validation and completeness -----------------------------------------------------

#[rstest]
#[case::wrong_type(HOUSEHOLD_SIZE, Answer::Text("三".into()), AnswerProblemKind::WrongType, "“共同生活家庭人口数”的答案应为整数")]
#[case::too_small(
    HOUSEHOLD_SIZE,
    Answer::Integer(0),
    AnswerProblemKind::OutOfRange,
    "“共同生活家庭人口数”应在1到30人之间"
)]
#[case::too_big(
    WATER_OUTAGE_DAYS,
    Answer::Integer(367),
    AnswerProblemKind::OutOfRange,
    "“一年中停水或缺水天数”应在0到366天之间"
)]
#[case::negative_money(INCOME_WAGES, Answer::Money { fen: -1 }, AnswerProblemKind::OutOfRange, "“务工收入（元）”金额不能为负数")]
#[case::huge_money(INCOME_WAGES, Answer::Money { fen: MAX_MONEY_FEN + 1 }, AnswerProblemKind::OutOfRange, "“务工收入（元）”金额过大，请核对")]
#[case::unknown_choice(
    HOUSING_RATING,
    ch("e"),
    AnswerProblemKind::UnknownChoice,
    "“住房安全等级”没有“e”这个选项"
)]
#[case::unknown_multi(RISK_TYPES, Answer::Choices(vec!["poverty".into()]), AnswerProblemKind::UnknownChoice, "“风险类型（可多选）”没有“poverty”这个选项")]
#[case::duplicate_multi(RISK_TYPES, Answer::Choices(vec!["illness".into(), "illness".into()]), AnswerProblemKind::DuplicateChoice, "“风险类型（可多选）”的选项“illness”选了两次")]
#[case::too_long(HARDSHIP_DESCRIPTION, Answer::Text("难".repeat(501)), AnswerProblemKind::TooLong, "“家庭困难情况描述”最多500个字，现在有501个字")]
#[case::money_as_integer(
    INCOME_WAGES,
    Answer::Integer(100),
    AnswerProblemKind::WrongType,
    "“务工收入（元）”的答案应为金额"
)]
#[case::unknown_item(
    "no_such_item",
    yes(),
    AnswerProblemKind::UnknownItem,
    "核查表中没有“no_such_item”这一项"
)]
fn typing_errors(
    #[case] key: &str,
    #[case] answer: Answer,
    #[case] kind: AnswerProblemKind,
    #[case] message: &str,
) {
    let a = answers(&[(key, answer)]);
    let problems = validate_answers(&t(), &a).expect_err("invalid");
    assert_eq!(
        problems,
        vec![AnswerProblem {
            item: key.to_owned(),
            kind,
            message_zh: message.to_owned()
        }]
    );
}

#[test]
fn answers_to_hidden_items_are_ignored_not_errors() {
    let a = answers(&[
        (HAS_SCHOOL_AGE_CHILDREN, no()),
        (OUT_OF_SCHOOL_REASON, Answer::Bool(true)),
        (WATER_PIPED_IN, yes()),
        (WATER_FETCH_MINUTES, Answer::Integer(-5)),
    ]);
    assert_eq!(validate_answers(&t(), &a), Ok(()));
    let (mut full, photos) = filled();
    full.extend(a);
    assert_eq!(check_complete(&t(), &full, &photos), Ok(()));
}

#[test]
fn complete_filling_passes() {
    let (a, photos) = filled();
    assert_eq!(validate_answers(&t(), &a), Ok(()));
    assert_eq!(check_complete(&t(), &a, &photos), Ok(()));
}

fn missing(a: &Answers, photos: &ItemPhotos) -> Vec<(String, AnswerProblemKind, String)> {
    check_complete(&t(), a, photos)
        .expect_err("incomplete")
        .into_iter()
        .map(|p| (p.item, p.kind, p.message_zh))
        .collect()
}

#[test]
fn missing_signature_is_named() {
    let (mut a, photos) = filled();
    a.remove(AUTHORISATION_SIGNATURE);
    assert_eq!(
        missing(&a, &photos),
        vec![(
            AUTHORISATION_SIGNATURE.to_owned(),
            AnswerProblemKind::MissingSignature,
            "请拍照：承诺授权书（户主签字并按手印）".to_owned()
        )]
    );
    // An empty list of photos is no signature either.
    a.insert(AUTHORISATION_SIGNATURE.to_owned(), Answer::Photos(vec![]));
    assert_eq!(
        missing(&a, &photos)[0].1,
        AnswerProblemKind::MissingSignature
    );
}

#[rstest]
#[case::water_quantity(WATER_LITRES_PER_PERSON_DAY, "请填写：人均每天可用水量")]
#[case::conclusion(CONCLUSION, "请填写：核查结论")]
#[case::water_photo(WATER_SOURCE_PHOTO, "请拍照：水源照片")]
fn missing_required_items(#[case] key: &str, #[case] message: &str) {
    let (mut a, photos) = filled();
    a.remove(key);
    let m = missing(&a, &photos);
    assert_eq!(m[0].0, key);
    assert_eq!(m[0].2, message);
    assert!(
        evaluate(&t(), &a)
            .unanswered_required
            .contains(&key.to_owned())
    );
}

#[test]
fn skip_logic_drives_completeness() {
    let (a, photos) = filled();
    let a = with(a, &[(CONCLUSION, ch("does_not_qualify"))]);
    assert_eq!(
        missing(&a, &photos),
        vec![(
            NOT_QUALIFIED_REASON.to_owned(),
            AnswerProblemKind::Missing,
            "请填写：不符合的理由".to_owned()
        )]
    );
    let a = with(
        a,
        &[(NOT_QUALIFIED_REASON, Answer::Text("收入高于监测线".into()))],
    );
    assert_eq!(check_complete(&t(), &a, &photos), Ok(()));
    let a = with(
        a,
        &[
            (WATER_PIPED_IN, no()),
            (WATER_FETCH_MINUTES, Answer::Integer(10)),
        ],
    );
    let keys: Vec<String> = missing(&a, &photos).into_iter().map(|m| m.0).collect();
    assert_eq!(
        keys,
        vec![
            WATER_FETCH_HORIZONTAL_M.to_owned(),
            WATER_FETCH_VERTICAL_M.to_owned()
        ]
    );
}

#[test]
fn required_photos_on_ordinary_items() {
    let (a, _) = filled();
    assert_eq!(
        missing(&a, &ItemPhotos::new()),
        vec![(
            HOUSING_RATING.to_owned(),
            AnswerProblemKind::MissingPhotos,
            "请拍照：住房安全等级（至少1张，现有0张）".to_owned()
        )]
    );
    let a = with(a, &[(SPENDING_MEDICAL, Answer::yuan(800))]);
    let (_, photos) = filled();
    assert_eq!(missing(&a, &photos)[0].0, MEDICAL_BILLS_PHOTO);
}

#[test]
fn blank_text_is_not_an_answer() {
    let (a, photos) = filled();
    let a = with(a, &[(HARDSHIP_DESCRIPTION, Answer::Text("   ".into()))]);
    assert_eq!(missing(&a, &photos)[0].0, HARDSHIP_DESCRIPTION);
}

// ---- JSON ----------------------------------------------------------------------------

#[test]
fn template_json_round_trip_and_shape() {
    let t = t();
    let json = serde_json::to_string(&t).expect("ser");
    let back: ChecklistTemplate = serde_json::from_str(&json).expect("de");
    assert_eq!(back, t);
    for snippet in [
        "\"code\":\"gansu-home-verification\"",
        "\"monitoring_line_yuan\":6000",
        "\"kind\":{\"type\":\"yes_no\"}",
        "\"kind\":{\"type\":\"integer\",\"min\":1,\"max\":30,\"unit_zh\":\"人\"}",
        "\"kind\":{\"type\":\"money\"}",
        "\"kind\":{\"type\":\"signature\"}",
        "\"show_if\":{\"op\":\"equals\",\"item\":\"water_piped_in\",\"value\":false}",
        "\"photo\":{\"type\":\"required\",\"min\":1}",
        "\"aspect\":\"water_convenience\"",
        "{\"value\":\"illness\",\"label_zh\":\"因病\"}",
    ] {
        assert!(json.contains(snippet), "missing {snippet}");
    }
    // Serialising is deterministic.
    assert_eq!(serde_json::to_string(&back).expect("ser"), json);
}

#[test]
fn minimal_template_json_uses_defaults() {
    let json = format!(
        r#"{{"id":"{}","code":"x","version":2,"title_zh":"测试","sections":[
            {{"key":"s","title_zh":"一","items":[
                {{"key":"a","label_zh":"是否","kind":{{"type":"yes_no"}}}},
                {{"key":"b","label_zh":"原因","kind":{{"type":"text","max_chars":20}},"required":true,
                  "show_if":{{"op":"not","condition":{{"op":"equals","item":"a","value":true}}}}}}
            ]}}]}}"#,
        default_template_id()
    );
    let t: ChecklistTemplate = serde_json::from_str(&json).expect("de");
    assert_eq!(t.monitoring_line_yuan, DEFAULT_MONITORING_LINE_YUAN);
    assert_eq!(t.derivation, Derivation::default());
    assert_eq!(t.validate(), Ok(()));
    let a = t.item("a").expect("a");
    assert!(!a.required);
    assert_eq!(a.photo, PhotoRequirement::None);
    assert_eq!(visible_items(&t, &Answers::new()), vec!["a".to_owned()]);
    let shown = visible_items(&t, &answers(&[("a", no())]));
    assert_eq!(shown, vec!["a".to_owned(), "b".to_owned()]);
}

#[test]
fn answers_json_round_trip_and_shape() {
    let a = answers(&[
        ("b", yes()),
        ("c", ch("a")),
        (
            "d",
            Answer::Date(NaiveDate::from_ymd_opt(2026, 3, 1).expect("date")),
        ),
        ("i", Answer::Integer(3)),
        ("m", Answer::yuan(15_000)),
        ("p", Answer::Photos(vec![photo(7)])),
        ("t", Answer::Text("好".into())),
        ("x", Answer::Choices(vec!["illness".into()])),
    ]);
    let json = serde_json::to_string(&a).expect("ser");
    assert_eq!(
        json,
        format!(
            concat!(
                r#"{{"b":{{"type":"bool","value":true}},"c":{{"type":"choice","value":"a"}},"#,
                r#""d":{{"type":"date","value":"2026-03-01"}},"i":{{"type":"integer","value":3}},"#,
                r#""m":{{"type":"money","value":{{"fen":1500000}}}},"p":{{"type":"photos","value":["{}"]}},"#,
                r#""t":{{"type":"text","value":"好"}},"x":{{"type":"choices","value":["illness"]}}}}"#
            ),
            photo(7)
        )
    );
    let back: Answers = serde_json::from_str(&json).expect("de");
    assert_eq!(back, a);
}

#[test]
fn evaluation_serialises() {
    let (a, _) = filled();
    let e = evaluate(&t(), &a);
    let json = serde_json::to_string(&e).expect("ser");
    assert!(json.contains("\"water\":\"safe\""));
    assert!(json.contains("\"line_status\":\"below\""));
    let back: Evaluation = serde_json::from_str(&json).expect("de");
    assert_eq!(back, e);
}

#[test]
fn the_template_asset_is_canonical_json_of_the_template() {
    // The asset is data a person may edit; it must read back to exactly what it says, so a
    // field misspelt in it is not silently dropped.
    let text = include_str!("../../../assets/checklist/gansu-home-verification.v1.json");
    let written = serde_json::to_string_pretty(&t()).expect("json") + "\n";
    assert_eq!(
        written, text,
        "re-serialised template differs from the asset"
    );
    assert_eq!(t().id, default_template_id());
    assert_eq!(t().code, DEFAULT_TEMPLATE_CODE);
}

#[test]
fn the_province_line_of_the_year_replaces_the_template_figure_and_is_named() {
    use crate::policy::Policy;
    let (a, _) = filled();
    // ¥7,000 per person: above the ¥6,000 floor, below Gansu's 2024 line of ¥7,800.
    let a = with(a, &[(INCOME_WAGES, Answer::yuan(21_000))]);
    assert_eq!(
        evaluate(&t(), &a).income.expect("income").line_status,
        LineStatus::AtOrAbove
    );
    let policy = Policy::gansu();
    let line = policy.income_line_on("2024-09-01".parse().expect("date"));
    let e = evaluate_against(&t(), &a, Some(line));
    let inc = e.income.clone().expect("income");
    assert_eq!(
        (
            inc.monitoring_line_yuan,
            inc.line_year,
            inc.line_provisional
        ),
        (7800, Some(2024), false)
    );
    assert_eq!(
        e.problems[0],
        "家庭年人均纯收入7000元，低于2024年监测线7800元（差800元）"
    );
    let later = policy.income_line_on("2026-09-01".parse().expect("date"));
    let e = evaluate_against(&t(), &a, Some(later));
    assert_eq!(
        e.problems[0],
        "家庭年人均纯收入7000元，低于监测线7800元（暂按2024年标准）（差800元）"
    );
}

#[test]
fn the_risk_check_counts_rigid_spending_and_every_guarantee() {
    let (a, _) = filled();
    // ¥10,000 per person before rigid spending, ¥2,000 after: the risk is not gone.
    let a = with(
        a,
        &[
            (INCOME_WAGES, Answer::yuan(30_000)),
            (SPENDING_MEDICAL, Answer::yuan(24_000)),
            (MEDICAL_BILLS_PHOTO, Answer::Photos(vec![photo(9)])),
        ],
    );
    let check = evaluate(&t(), &a).risk_check();
    assert!(!check.income_above_line, "{check:?}");
    assert!(
        check.summary_zh.contains("扣除刚性支出后2000元"),
        "{check:?}"
    );
    let without_medical = with(a, &[(SPENDING_MEDICAL, Answer::yuan(0))]);
    let e = evaluate(&t(), &without_medical);
    let check = e.risk_check();
    assert!(check.income_above_line, "{check:?}");
    assert_eq!(
        check.guarantees_kept,
        e.two_no_worries == Verdict::Pass
            && e.three_guarantees() == Verdict::Pass
            && e.water == WaterSafety::Safe
    );
}
