//! Validated personal identifiers: resident ID numbers, mobile numbers, and name masking.
//!
//! Input comes from village workers' phones and from residents themselves, many of them
//! elderly, so parsing is forgiving about form (spaces, full-width digits, a lowercase `x`, a
//! `+86` prefix) and strict about substance (length, region, birth date, check digit). Every
//! error says in plain Chinese what is wrong and what to do.
//!
//! Both identifiers are newtypes over their canonical string. Serialising writes that string;
//! deserialising runs the same validation, so an invalid number cannot enter through JSON.

use std::fmt;

use chrono::{Datelike, NaiveDate};
use serde::{Deserialize, Serialize};

/// Weights of the 17 body digits in ISO 7064 MOD 11-2 as used by GB 11643-1999.
const ID_WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
/// Check character for each remainder of the weighted sum modulo 11.
const ID_CHECK_CHARS: [u8; 11] = *b"10X98765432";

/// Province-level codes (GB/T 2260) that may open a resident ID number, plus 83, which the
/// residence permits of Taiwan residents (台湾居民居住证, numbers `830000…`) use.
const ID_PROVINCES: [u32; 35] = [
    11, 12, 13, 14, 15, 21, 22, 23, 31, 32, 33, 34, 35, 36, 37, 41, 42, 43, 44, 45, 46, 50, 51, 52,
    53, 54, 61, 62, 63, 64, 65, 71, 81, 82, 83,
];

/// Codes with no city or county subdivision in GB/T 2260: Taiwan (71), Hong Kong (81), Macao
/// (82) and Taiwan residents' permits (83). Their numbers carry `0000` after the province.
const ID_UNDIVIDED_PROVINCES: [u32; 4] = [71, 81, 82, 83];

/// The earliest birth date accepted in an ID number.
const EARLIEST_BIRTH: (i32, u32, u32) = (1900, 1, 1);

/// Sex as encoded in the 17th digit of a resident ID number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sex {
    Male,
    Female,
}

impl Sex {
    /// "男" or "女", as shown to users.
    pub const fn name_zh(self) -> &'static str {
        match self {
            Sex::Male => "男",
            Sex::Female => "女",
        }
    }
}

/// Why a string is not a valid 18-digit resident ID number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum IdNumberError {
    #[error("请填写身份证号")]
    Empty,
    #[error("15位旧身份证号已停止使用，请填写18位身份证号")]
    OldFifteenDigit,
    #[error("身份证号应为18位，您填了{0}位，请核对后重新输入")]
    WrongLength(usize),
    #[error("身份证号只能是数字，最后一位可以是X；第{position}位“{found}”不对，请核对后重新输入")]
    NotDigits { position: usize, found: char },
    #[error("身份证号前两位“{0}”不是有效的省份代码，请核对后重新输入")]
    BadProvince(String),
    #[error("身份证号前六位“{0}”不是有效的地区代码，请核对后重新输入")]
    BadRegion(String),
    #[error(
        "身份证号第7到14位是出生日期，{year}年{month}月{day}日这个日期不存在，请核对后重新输入"
    )]
    ImpossibleBirthDate { year: u32, month: u32, day: u32 },
    #[error("身份证号里的出生日期{}晚于今天，请核对后重新输入", zh_date(.0))]
    BirthDateInFuture(NaiveDate),
    #[error("身份证号里的出生日期{}早于1900年，请核对后重新输入", zh_date(.0))]
    BirthDateTooEarly(NaiveDate),
    #[error("身份证号校验位不正确，请核对后重新输入")]
    BadCheckDigit,
}

/// A date as Chinese users write it: `1956年3月8日`.
fn zh_date(d: &NaiveDate) -> String {
    format!("{}年{}月{}日", d.year(), d.month(), d.day())
}

/// A validated 18-digit resident ID number (居民身份证号码, GB 11643-1999) in canonical form:
/// ASCII digits with an uppercase `X` check character where it applies.
///
/// `Display` and `as_str` give the full number; use [`ResidentIdNumber::masked`] wherever the
/// person looking is not entitled to see it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ResidentIdNumber(String);

impl ResidentIdNumber {
    /// Parse and fully validate an ID number typed by a user. `today` is the current date in
    /// Beijing time (see [`crate::time::china_date`]); the birth date may not lie after it.
    ///
    /// Accepted forms: spaces anywhere (including the full-width space), full-width digits
    /// `０-９`, a lowercase or full-width `x`. Checks, in order: empty, 15-digit old numbers,
    /// length, characters, region prefix, birth date, check digit.
    ///
    /// Region prefix rule: the first two digits must be a province-level code; for mainland
    /// provinces the city part (digits 3–4) must not be `00` (no number is issued to a province
    /// as such). The county part (digits 5–6) may be `00`: prefecture-level cities without
    /// counties or districts (不设区的地级市: 东莞 441900, 中山 442000, 儋州 460400, 嘉峪关
    /// 620200) issue numbers under the city's own code. The six digits are not looked up
    /// in the current division list, because counties renamed or merged since a number was
    /// issued keep their old codes in people's numbers. For Taiwan, Hong Kong, Macao and
    /// Taiwan residents' permits (71, 81, 82, 83) the remaining four digits are `0000`.
    pub fn parse(s: &str, today: NaiveDate) -> Result<Self, IdNumberError> {
        Self::parse_inner(s, Some(today))
    }

    /// Validate everything `parse` does except "birth date not after today": used for stored
    /// data (deserialisation), where no trustworthy "today" is at hand and a number that was
    /// valid when it was written must stay readable.
    fn parse_inner(s: &str, today: Option<NaiveDate>) -> Result<Self, IdNumberError> {
        let chars: Vec<char> = s
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(normalise_char)
            .map(|c| if c == 'x' { 'X' } else { c })
            .collect();
        if chars.is_empty() {
            return Err(IdNumberError::Empty);
        }
        if chars.len() == 15 && chars.iter().all(char::is_ascii_digit) {
            return Err(IdNumberError::OldFifteenDigit);
        }
        if chars.len() != 18 {
            return Err(IdNumberError::WrongLength(chars.len()));
        }
        for (i, c) in chars.iter().enumerate() {
            let ok = c.is_ascii_digit() || (i == 17 && *c == 'X');
            if !ok {
                return Err(IdNumberError::NotDigits {
                    position: i + 1,
                    found: *c,
                });
            }
        }
        let number: String = chars.into_iter().collect();

        check_region(&number[..6])?;
        let birth = birth_date_of(&number[6..14])?;
        if let Some(earliest) =
            NaiveDate::from_ymd_opt(EARLIEST_BIRTH.0, EARLIEST_BIRTH.1, EARLIEST_BIRTH.2)
            && birth < earliest
        {
            return Err(IdNumberError::BirthDateTooEarly(birth));
        }
        if let Some(today) = today
            && birth > today
        {
            return Err(IdNumberError::BirthDateInFuture(birth));
        }
        if Some(number.as_bytes()[17]) != check_char(&number[..17]) {
            return Err(IdNumberError::BadCheckDigit);
        }
        Ok(ResidentIdNumber(number))
    }

    /// The canonical number (18 characters, uppercase `X`).
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The birth date encoded in digits 7–14.
    pub fn birth_date(&self) -> NaiveDate {
        // Validated on construction; the fallback is unreachable.
        birth_date_of(&self.0[6..14]).unwrap_or(NaiveDate::MIN)
    }

    /// Sex from the 17th digit: odd is male, even is female.
    pub fn sex(&self) -> Sex {
        if (self.0.as_bytes()[16] - b'0') % 2 == 1 {
            Sex::Male
        } else {
            Sex::Female
        }
    }

    /// Age in full years (周岁) on `date`; 0 if `date` is before the birth date. A person born
    /// on 29 February turns a year older on 1 March in common years.
    pub fn age_on(&self, date: NaiveDate) -> u32 {
        date.years_since(self.birth_date()).unwrap_or(0)
    }

    /// The six-digit region code where the number was issued (not necessarily a code in the
    /// current division list).
    pub fn region_prefix(&self) -> &str {
        &self.0[..6]
    }

    /// The last four characters, as used for confirmation over the phone.
    pub fn last4(&self) -> &str {
        &self.0[14..]
    }

    /// The first four and last four characters with ten asterisks between, e.g.
    /// `6201**********123X`.
    pub fn masked(&self) -> String {
        format!("{}{}{}", &self.0[..4], "*".repeat(10), self.last4())
    }
}

/// The GB 11643 check character for 17 ASCII digits; `None` if the input is not that.
pub fn id_check_char(body: &str) -> Option<char> {
    check_char(body).map(char::from)
}

fn check_char(body: &str) -> Option<u8> {
    if body.len() != 17 || !body.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = body
        .bytes()
        .zip(ID_WEIGHTS)
        .map(|(b, w)| u32::from(b - b'0') * w)
        .sum();
    ID_CHECK_CHARS.get((sum % 11) as usize).copied()
}

fn check_region(prefix: &str) -> Result<(), IdNumberError> {
    let province: u32 = prefix[..2].parse().unwrap_or(0);
    if !ID_PROVINCES.contains(&province) {
        return Err(IdNumberError::BadProvince(prefix[..2].to_owned()));
    }
    let rest = &prefix[2..];
    let ok = if ID_UNDIVIDED_PROVINCES.contains(&province) {
        rest == "0000"
    } else {
        // County digits `00` are allowed: cities without counties (嘉峪关 620200, 东莞 441900)
        // issue numbers under the city code itself.
        &rest[..2] != "00"
    };
    if ok {
        Ok(())
    } else {
        Err(IdNumberError::BadRegion(prefix.to_owned()))
    }
}

/// Parse the eight digits `YYYYMMDD` as a real calendar date.
fn birth_date_of(digits: &str) -> Result<NaiveDate, IdNumberError> {
    let year: u32 = digits[..4].parse().unwrap_or(0);
    let month: u32 = digits[4..6].parse().unwrap_or(0);
    let day: u32 = digits[6..8].parse().unwrap_or(0);
    i32::try_from(year)
        .ok()
        .and_then(|y| NaiveDate::from_ymd_opt(y, month, day))
        .ok_or(IdNumberError::ImpossibleBirthDate { year, month, day })
}

impl fmt::Display for ResidentIdNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Deserialisation and other stored data: everything is checked except that the birth date
/// is not in the future (no clock is read here). User input goes through
/// [`ResidentIdNumber::parse`].
impl TryFrom<String> for ResidentIdNumber {
    type Error = IdNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        ResidentIdNumber::parse_inner(&s, None)
    }
}

impl From<ResidentIdNumber> for String {
    fn from(n: ResidentIdNumber) -> String {
        n.0
    }
}

/// Why a string is not a mainland mobile number.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MobileNumberError {
    #[error("请填写手机号")]
    Empty,
    #[error("手机号只能填数字，“{0}”不是数字，请核对后重新输入")]
    NotDigits(char),
    #[error("手机号应为11位数字，您填了{0}位")]
    WrongLength(usize),
    #[error("手机号应以1开头，请核对后重新输入")]
    BadFirstDigit,
    #[error("手机号第二位应为3到9之间的数字，请核对后重新输入")]
    BadSecondDigit,
    /// An international number with a country code other than 86 (`+852…`, `00886…`): the
    /// SMS gateway and the procedure reach mainland numbers only.
    #[error("只支持中国大陆手机号码（11位，以1开头），请填写大陆手机号")]
    NotMainland,
}

/// A validated mainland China mobile number, canonically 11 ASCII digits without prefix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct MobileNumber(String);

impl MobileNumber {
    /// Parse a mobile number typed by a user.
    ///
    /// Spaces (also full-width), dashes (`-`, `－`) and full-width digits are accepted and
    /// normalised. A leading `+86` is always removed; `86` only when 13 digits were given and
    /// `0086` only when 15 were given, so that an 11-digit number is never cut. Any other
    /// international prefix (`+852`, `+1`, `00886`) is refused as [`MobileNumberError::NotMainland`]
    /// rather than as a stray `+`: the person typed a real number, just not one we can use.
    pub fn parse(s: &str) -> Result<Self, MobileNumberError> {
        let chars: Vec<char> = s
            .chars()
            .filter(|c| !c.is_whitespace() && !matches!(c, '-' | '－' | '‐' | '–' | '—'))
            .map(normalise_char)
            .collect();
        if chars.is_empty() {
            return Err(MobileNumberError::Empty);
        }
        let body: &[char] = match chars.as_slice() {
            ['+', '8', '6', rest @ ..] => rest,
            ['+', c, ..] if c.is_ascii_digit() => return Err(MobileNumberError::NotMainland),
            rest => rest,
        };
        if let Some(c) = body.iter().find(|c| !c.is_ascii_digit()) {
            return Err(MobileNumberError::NotDigits(*c));
        }
        // `00` is the international call prefix; mainland mobiles start with 1.
        if matches!(body, ['0', '0', ..]) && !matches!(body, ['0', '0', '8', '6', ..]) {
            return Err(MobileNumberError::NotMainland);
        }
        let body: &[char] = match body {
            ['8', '6', rest @ ..] if body.len() == 13 => rest,
            ['0', '0', '8', '6', rest @ ..] if body.len() == 15 => rest,
            _ => body,
        };
        if body.len() != 11 {
            return Err(MobileNumberError::WrongLength(body.len()));
        }
        if body[0] != '1' {
            return Err(MobileNumberError::BadFirstDigit);
        }
        if !('3'..='9').contains(&body[1]) {
            return Err(MobileNumberError::BadSecondDigit);
        }
        Ok(MobileNumber(body.iter().collect()))
    }

    /// The canonical 11 digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The last four digits.
    pub fn last4(&self) -> &str {
        &self.0[7..]
    }

    /// First three and last four digits, e.g. `138****5678`.
    pub fn masked(&self) -> String {
        format!("{}****{}", &self.0[..3], self.last4())
    }
}

impl fmt::Display for MobileNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for MobileNumber {
    type Error = MobileNumberError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        MobileNumber::parse(&s)
    }
}

impl From<MobileNumber> for String {
    fn from(n: MobileNumber) -> String {
        n.0
    }
}

/// Full-width digits, `Ｘ`/`ｘ` and `＋` to their ASCII forms; anything else unchanged.
fn normalise_char(c: char) -> char {
    match c {
        '０'..='９' | 'Ｘ' | 'ｘ' | '＋' => char::from_u32(u32::from(c) - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Two-character surnames (复姓) kept whole by [`mask_name`].
const COMPOUND_SURNAMES: [&str; 40] = [
    "欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "尉迟", "公孙", "慕容", "长孙", "宇文", "司徒",
    "夏侯", "令狐", "端木", "西门", "南宫", "独孤", "轩辕", "澹台", "公冶", "太叔", "申屠", "闻人",
    "万俟", "呼延", "赫连", "钟离", "宗政", "濮阳", "淳于", "单于", "拓跋", "百里", "东郭", "司空",
    "司寇", "第五", "公羊", "左丘",
];

/// A name for people who may not see it in full: the surname kept, every further character
/// replaced by `*`, one per character ("张三" → "张*", "王小明" → "王**").
///
/// The surname is the first character, or the first two when the name has three or more
/// characters and begins with a common compound surname ("欧阳娜娜" → "欧阳**"; but "欧阳" as
/// a two-character name is 欧 + 阳 → "欧*"). Surrounding whitespace is dropped; a
/// one-character name is returned unchanged and an empty one as "".
pub fn mask_name(name: &str) -> String {
    let name = name.trim();
    let total = name.chars().count();
    let keep = if total >= 3 && COMPOUND_SURNAMES.iter().any(|s| name.starts_with(s)) {
        2
    } else {
        1
    };
    name.chars()
        .enumerate()
        .map(|(i, c)| if i < keep { c } else { '*' })
        .collect()
}

#[cfg(test)]
mod tests;
