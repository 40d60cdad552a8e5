use super::*;
use chrono::NaiveDate;
use proptest::prelude::*;
use rstest::rstest;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("valid test date")
}

/// The day the tests pretend it is.
fn today() -> NaiveDate {
    date(2026, 3, 1)
}

/// Check character computed independently of the code under test: the weight of the
/// digit at position i (0-based, of 17) is 2^(17 - i) mod 11.
fn reference_check(body: &str) -> char {
    let sum: u64 = body
        .bytes()
        .enumerate()
        .map(|(i, b)| u64::from(b - b'0') * ((1u64 << (17 - i)) % 11))
        .sum();
    let value = (12 - sum % 11) % 11;
    if value == 10 {
        'X'
    } else {
        char::from_digit(u32::try_from(value).expect("small"), 10).expect("digit")
    }
}

/// A valid number from a region prefix, a birth date `YYYYMMDD` and a sequence number.
fn make_id(prefix: &str, birth: &str, seq: u32) -> String {
    let body = format!("{prefix}{birth}{seq:03}");
    assert_eq!(body.len(), 17, "test body {body}");
    format!("{body}{}", reference_check(&body))
}

/// A valid number ending in `check`, searching the sequence numbers.
fn make_id_ending(prefix: &str, birth: &str, check: char) -> String {
    (0..1000)
        .map(|seq| make_id(prefix, birth, seq))
        .find(|n| n.ends_with(check))
        .expect("some sequence number gives every check character")
}

fn parse(s: &str) -> Result<ResidentIdNumber, IdNumberError> {
    ResidentIdNumber::parse(s, today())
}

fn valid_ids() -> Vec<String> {
    vec![
        "11010519491231002X".to_owned(),
        make_id("620102", "19560308", 123),
        make_id("621102", "19470115", 52),
        make_id("622901", "20000229", 7),
        make_id("620523", "20260301", 1),
        make_id_ending("621102", "19380605", 'X'),
        make_id_ending("620102", "19851231", 'X'),
        make_id_ending("621121", "19900101", '0'),
    ]
}

#[test]
fn reference_check_matches_the_standard_example() {
    // GB 11643-1999's own example, verified by hand: weighted sum 167, 167 mod 11 = 2 → X.
    assert_eq!(reference_check("11010519491231002"), 'X');
    assert_eq!(id_check_char("11010519491231002"), Some('X'));
    assert_eq!(id_check_char("1101051949123100"), None);
    assert_eq!(id_check_char("1101051949123100a"), None);
}

#[test]
fn the_hand_verified_literal_parses() {
    let id = parse("11010519491231002X").expect("valid");
    assert_eq!(id.birth_date(), date(1949, 12, 31));
    assert_eq!(id.sex(), Sex::Female);
    assert_eq!(id.region_prefix(), "110105");
    assert_eq!(id.last4(), "002X");
    assert_eq!(id.masked(), "1101**********002X");
    assert_eq!(id.to_string(), "11010519491231002X");
    assert_eq!(id.age_on(date(2026, 12, 30)), 76);
    assert_eq!(id.age_on(date(2026, 12, 31)), 77);
}

#[test]
fn test_ids_are_valid_and_some_end_in_x() {
    let ids = valid_ids();
    assert!(ids.iter().filter(|n| n.ends_with('X')).count() >= 3);
    for n in ids {
        let id = parse(&n).expect("valid test number");
        assert_eq!(id.as_str(), n);
    }
}

#[rstest]
#[case::lowercase_x("11010519491231002x")]
#[case::spaces(" 110105 19491231 002X ")]
#[case::full_width_space("110105\u{3000}19491231002X")]
#[case::full_width_digits("１１０１０５１９４９１２３１００２Ｘ")]
#[case::full_width_lowercase_x("１１０１０５１９４９１２３１００２ｘ")]
fn normalises_input(#[case] input: &str) {
    assert_eq!(parse(input).expect("valid").as_str(), "11010519491231002X");
}

#[rstest]
#[case::empty("", IdNumberError::Empty)]
#[case::blank("   ", IdNumberError::Empty)]
#[case::old_15("620102560308123", IdNumberError::OldFifteenDigit)]
#[case::too_short("6201021956030812", IdNumberError::WrongLength(16))]
#[case::too_long("11010519491231002X1", IdNumberError::WrongLength(19))]
#[case::fifteen_with_letter("62010256030812X", IdNumberError::WrongLength(15))]
#[case::letter("1101051949123100AX", IdNumberError::NotDigits { position: 17, found: 'A' })]
#[case::x_not_last("X10105194912310021", IdNumberError::NotDigits { position: 1, found: 'X' })]
#[case::bad_province("99010519491231002X", IdNumberError::BadProvince("99".into()))]
#[case::zero_province("00010519491231002X", IdNumberError::BadProvince("00".into()))]
#[case::city_00("62000519491231002X", IdNumberError::BadRegion("620005".into()))]
#[case::hong_kong_divided("81010119491231002X", IdNumberError::BadRegion("810101".into()))]
fn rejects_malformed(#[case] input: &str, #[case] err: IdNumberError) {
    assert_eq!(parse(input), Err(err));
}

#[rstest]
#[case::hong_kong("810000")]
#[case::macao("820000")]
#[case::taiwan_permit("830000")]
#[case::province_direct_county("419001")]
#[case::renamed_old_county("622421")]
#[case::dongguan_no_counties("441900")]
#[case::zhongshan_no_counties("442000")]
#[case::danzhou_no_counties("460400")]
#[case::jiayuguan_no_counties("620200")]
fn accepts_special_region_prefixes(#[case] prefix: &str) {
    let n = make_id(prefix, "19800101", 11);
    assert_eq!(parse(&n).expect("valid").region_prefix(), prefix);
}

#[test]
fn cities_without_counties_issue_numbers_under_the_city_code() {
    // 东莞 (441900) has no counties, so its numbers end the region part in `00`. Check digit
    // worked by hand: weighted sum of 44190019900307123 is 268, 268 mod 11 = 4 → 8.
    assert_eq!(reference_check("44190019900307123"), '8');
    let id = parse("441900199003071238").expect("东莞 number is valid");
    assert_eq!(id.region_prefix(), "441900");
    assert_eq!(id.birth_date(), date(1990, 3, 7));
    // The other checks still apply to such numbers.
    assert_eq!(
        parse("441900199003071239"),
        Err(IdNumberError::BadCheckDigit)
    );
    assert_eq!(
        parse(&make_id("441900", "19900230", 1)),
        Err(IdNumberError::ImpossibleBirthDate {
            year: 1990,
            month: 2,
            day: 30
        })
    );
    assert_eq!(
        parse(&make_id("991900", "19900307", 1)),
        Err(IdNumberError::BadProvince("99".into()))
    );
}

#[rstest]
#[case::feb_30("19900230", 1990, 2, 30)]
#[case::feb_29_common_year("20230229", 2023, 2, 29)]
#[case::feb_29_1900("19000229", 1900, 2, 29)]
#[case::month_13("19901301", 1990, 13, 1)]
#[case::month_00("19900001", 1990, 0, 1)]
#[case::day_00("19900100", 1990, 1, 0)]
#[case::april_31("19900431", 1990, 4, 31)]
fn rejects_impossible_birth_dates(
    #[case] birth: &str,
    #[case] year: u32,
    #[case] month: u32,
    #[case] day: u32,
) {
    let n = make_id("620102", birth, 1);
    assert_eq!(
        parse(&n),
        Err(IdNumberError::ImpossibleBirthDate { year, month, day })
    );
}

#[test]
fn leap_day_births_are_fine() {
    let id = parse(&make_id("620102", "20000229", 2)).expect("2000 is a leap year");
    assert_eq!(id.birth_date(), date(2000, 2, 29));
    assert_eq!(id.age_on(date(2001, 2, 28)), 0);
    assert_eq!(id.age_on(date(2001, 3, 1)), 1);
    assert_eq!(id.age_on(date(1999, 1, 1)), 0);
}

#[test]
fn rejects_births_after_today_but_not_today() {
    assert!(parse(&make_id("620102", "20260301", 3)).is_ok());
    let tomorrow = make_id("620102", "20260302", 3);
    assert_eq!(
        parse(&tomorrow),
        Err(IdNumberError::BirthDateInFuture(date(2026, 3, 2)))
    );
    assert_eq!(
        parse(&make_id("620102", "20991231", 3))
            .expect_err("future")
            .to_string(),
        "身份证号里的出生日期2099年12月31日晚于今天，请核对后重新输入"
    );
}

#[test]
fn rejects_births_before_1900() {
    // The standard's second example, 1880-01-01, has a correct check digit.
    assert_eq!(reference_check("44052418800101001"), '4');
    assert_eq!(
        parse("440524188001010014"),
        Err(IdNumberError::BirthDateTooEarly(date(1880, 1, 1)))
    );
    assert!(parse(&make_id("620102", "19000101", 5)).is_ok());
    assert!(parse(&make_id("620102", "18991231", 5)).is_err());
}

#[test]
fn every_single_character_corruption_is_rejected() {
    let alphabet = "0123456789X";
    for valid in valid_ids() {
        for pos in 0..18 {
            for replacement in alphabet.chars() {
                let mut chars: Vec<char> = valid.chars().collect();
                if chars[pos] == replacement {
                    continue;
                }
                chars[pos] = replacement;
                let corrupted: String = chars.into_iter().collect();
                let result = parse(&corrupted);
                assert!(result.is_err(), "{corrupted} (from {valid}) was accepted");
                // Region and date are intact past position 14: only the check can catch it.
                if pos >= 14 && (pos == 17 || replacement != 'X') {
                    assert_eq!(result, Err(IdNumberError::BadCheckDigit), "{corrupted}");
                }
            }
        }
    }
}

#[test]
fn messages_are_plain_chinese() {
    let msg = |s: &str| parse(s).expect_err("invalid").to_string();
    assert_eq!(
        msg("620102560308123"),
        "15位旧身份证号已停止使用，请填写18位身份证号"
    );
    assert_eq!(
        msg("11010519491231002"),
        "身份证号应为18位，您填了17位，请核对后重新输入"
    );
    assert_eq!(
        msg("110105194912310021"),
        "身份证号校验位不正确，请核对后重新输入"
    );
    assert_eq!(
        msg(&make_id("620102", "19900230", 1)),
        "身份证号第7到14位是出生日期，1990年2月30日这个日期不存在，请核对后重新输入"
    );
    assert_eq!(
        msg("11010519491231O02X"),
        "身份证号只能是数字，最后一位可以是X；第15位“O”不对，请核对后重新输入"
    );
    assert_eq!(msg(""), "请填写身份证号");
}

#[test]
fn sex_follows_the_17th_digit() {
    let male = parse(&make_id("621102", "19470115", 51)).expect("valid");
    assert_eq!(male.sex(), Sex::Male);
    assert_eq!(male.sex().name_zh(), "男");
    let female = parse(&make_id("621102", "19470115", 52)).expect("valid");
    assert_eq!(female.sex(), Sex::Female);
}

#[test]
fn id_serde_validates_but_ignores_today() {
    let json = "\"11010519491231002x\"";
    let id: ResidentIdNumber = serde_json::from_str(json).expect("valid");
    assert_eq!(
        serde_json::to_string(&id).expect("ser"),
        "\"11010519491231002X\""
    );
    assert!(serde_json::from_str::<ResidentIdNumber>("\"110105194912310021\"").is_err());
    assert!(serde_json::from_str::<ResidentIdNumber>("\"620102560308123\"").is_err());
    let future = make_id("620102", "20991231", 3);
    let id: ResidentIdNumber =
        serde_json::from_str(&format!("\"{future}\"")).expect("future date passes serde");
    assert_eq!(id.as_str(), future);
}

#[rstest]
#[case::plain("13812345678")]
#[case::spaces("138 1234 5678")]
#[case::dashes("138-1234-5678")]
#[case::plus86("+86 138 1234 5678")]
#[case::plus86_tight("+8613812345678")]
#[case::prefix86("8613812345678")]
#[case::prefix0086("0086 13812345678")]
#[case::full_width("１３８１２３４５６７８")]
#[case::full_width_plus("＋８６　１３８－１２３４－５６７８")]
fn accepts_mobile_numbers(#[case] input: &str) {
    let m = MobileNumber::parse(input).expect("valid");
    assert_eq!(m.as_str(), "13812345678");
    assert_eq!(m.to_string(), "13812345678");
    assert_eq!(m.masked(), "138****5678");
    assert_eq!(m.last4(), "5678");
}

#[rstest]
#[case::empty("", MobileNumberError::Empty, "请填写手机号")]
#[case::ten(
    "1381234567",
    MobileNumberError::WrongLength(10),
    "手机号应为11位数字，您填了10位"
)]
#[case::twelve(
    "138123456789",
    MobileNumberError::WrongLength(12),
    "手机号应为11位数字，您填了12位"
)]
#[case::eighty_six_12(
    "861381234567",
    MobileNumberError::WrongLength(12),
    "手机号应为11位数字，您填了12位"
)]
#[case::plus86_short(
    "+86138123456",
    MobileNumberError::WrongLength(9),
    "手机号应为11位数字，您填了9位"
)]
#[case::letter(
    "138a2345678",
    MobileNumberError::NotDigits('a'),
    "手机号只能填数字，“a”不是数字，请核对后重新输入"
)]
#[case::plus_inside(
    "138+12345678",
    MobileNumberError::NotDigits('+'),
    "手机号只能填数字，“+”不是数字，请核对后重新输入"
)]
#[case::landline(
    "09318123456",
    MobileNumberError::BadFirstDigit,
    "手机号应以1开头，请核对后重新输入"
)]
#[case::second_digit(
    "12812345678",
    MobileNumberError::BadSecondDigit,
    "手机号第二位应为3到9之间的数字，请核对后重新输入"
)]
#[case::hong_kong(
    "+852 9123 4567",
    MobileNumberError::NotMainland,
    "只支持中国大陆手机号码（11位，以1开头），请填写大陆手机号"
)]
#[case::macao(
    "+853 6612 3456",
    MobileNumberError::NotMainland,
    "只支持中国大陆手机号码（11位，以1开头），请填写大陆手机号"
)]
#[case::taiwan(
    "+886 912 345 678",
    MobileNumberError::NotMainland,
    "只支持中国大陆手机号码（11位，以1开头），请填写大陆手机号"
)]
#[case::north_america(
    "+1 415 555 0100",
    MobileNumberError::NotMainland,
    "只支持中国大陆手机号码（11位，以1开头），请填写大陆手机号"
)]
#[case::full_width_plus_852(
    "＋８５２９１２３４５６７",
    MobileNumberError::NotMainland,
    "只支持中国大陆手机号码（11位，以1开头），请填写大陆手机号"
)]
#[case::double_zero_852(
    "00852 9123 4567",
    MobileNumberError::NotMainland,
    "只支持中国大陆手机号码（11位，以1开头），请填写大陆手机号"
)]
#[case::double_zero_86_short(
    "0086138123456",
    MobileNumberError::WrongLength(13),
    "手机号应为11位数字，您填了13位"
)]
#[case::plus_alone(
    "+",
    MobileNumberError::NotDigits('+'),
    "手机号只能填数字，“+”不是数字，请核对后重新输入"
)]
fn rejects_mobile_numbers(
    #[case] input: &str,
    #[case] err: MobileNumberError,
    #[case] message: &str,
) {
    let got = MobileNumber::parse(input).expect_err("invalid");
    assert_eq!(got, err);
    assert_eq!(got.to_string(), message);
}

#[test]
fn mobile_serde_validates() {
    let m: MobileNumber = serde_json::from_str("\"+86 139-0931-0000\"").expect("valid");
    assert_eq!(serde_json::to_string(&m).expect("ser"), "\"13909310000\"");
    assert!(serde_json::from_str::<MobileNumber>("\"1390931000\"").is_err());
}

#[rstest]
#[case("张三", "张*")]
#[case("王小明", "王**")]
#[case("欧阳娜娜", "欧阳**")]
#[case("欧阳修", "欧阳*")]
#[case("欧阳", "欧*")]
#[case("扎西才让", "扎***")]
#[case(" 李四 ", "李*")]
#[case("马", "马")]
#[case("", "")]
fn masks_names(#[case] name: &str, #[case] masked: &str) {
    assert_eq!(mask_name(name), masked);
}

fn prefixes() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "620102", "620321", "621102", "621121", "622901", "623027", "110105", "650104",
    ])
}

fn births() -> impl Strategy<Value = NaiveDate> {
    // Every birth date from the earliest accepted up to `today()` itself.
    let span = (today() - date(1900, 1, 1)).num_days();
    (0i64..=span).prop_map(|days| date(1900, 1, 1) + chrono::Duration::days(days))
}

proptest! {
    #[test]
    fn generated_numbers_round_trip(
        prefix in prefixes(),
        birth in births(),
        seq in 0u32..1000,
    ) {
        let n = make_id(prefix, &birth.format("%Y%m%d").to_string(), seq);
        let id = parse(&n).expect("generated numbers are valid");
        prop_assert_eq!(id.birth_date(), birth);
        prop_assert_eq!(id.region_prefix(), prefix);
        prop_assert_eq!(id.sex() == Sex::Male, (seq % 10) % 2 == 1);
        prop_assert_eq!(id.masked().chars().count(), 18);
        prop_assert!(id.masked().starts_with(&n[..4]) && id.masked().ends_with(&n[14..]));
        let json = serde_json::to_string(&id).expect("ser");
        prop_assert_eq!(serde_json::from_str::<ResidentIdNumber>(&json).expect("de"), id);
    }

    #[test]
    fn single_corruptions_are_rejected(
        prefix in prefixes(),
        birth in births(),
        seq in 0u32..1000,
        pos in 0usize..18,
        shift in 1u32..11,
    ) {
        let n = make_id(prefix, &birth.format("%Y%m%d").to_string(), seq);
        let mut chars: Vec<char> = n.chars().collect();
        let alphabet: Vec<char> = "0123456789X".chars().collect();
        let at = alphabet.iter().position(|c| *c == chars[pos]).expect("in alphabet");
        chars[pos] = alphabet[(at + shift as usize) % 11];
        let corrupted: String = chars.into_iter().collect();
        prop_assert!(parse(&corrupted).is_err(), "{} accepted", corrupted);
    }

    #[test]
    fn adjacent_transpositions_are_rejected(
        prefix in prefixes(),
        birth in births(),
        seq in 0u32..1000,
        pos in 0usize..16,
    ) {
        let n = make_id(prefix, &birth.format("%Y%m%d").to_string(), seq);
        let mut chars: Vec<char> = n.chars().collect();
        prop_assume!(chars[pos] != chars[pos + 1]);
        chars.swap(pos, pos + 1);
        let swapped: String = chars.into_iter().collect();
        prop_assert!(parse(&swapped).is_err(), "{} accepted", swapped);
    }

    #[test]
    fn arbitrary_input_never_panics(s in "\\PC{0,24}") {
        let _ = parse(&s);
        let _ = MobileNumber::parse(&s);
        let _ = mask_name(&s);
    }

    #[test]
    fn arbitrary_digit_strings_never_panic(s in "[0-9xX０-９ +-]{0,20}") {
        if let Ok(id) = parse(&s) {
            prop_assert_eq!(id.as_str().len(), 18);
        }
        if let Ok(m) = MobileNumber::parse(&s) {
            prop_assert_eq!(m.as_str().len(), 11);
        }
    }

    #[test]
    fn formatted_mobiles_parse(
        second in 3u32..=9,
        rest in "[0-9]{9}",
        prefix in prop::sample::select(vec!["", "+86", "+86 ", "86", "0086"]),
        sep in prop::sample::select(vec!["", " ", "-"]),
    ) {
        let digits = format!("1{second}{rest}");
        let input = format!("{prefix}{}{sep}{}{sep}{}", &digits[..3], &digits[3..7], &digits[7..]);
        let m = MobileNumber::parse(&input).expect("valid");
        prop_assert_eq!(m.as_str(), digits.as_str());
    }
}
