//! Time as the statutes count it: dates in Asia/Shanghai.
//!
//! Deadlines are counted in calendar dates of Beijing time, on the phone and on the server
//! alike. China has kept UTC+8 without daylight saving since 1991, so a fixed offset is exact
//! for every date this system will ever see and avoids shipping a time-zone database to phones.

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone, Utc};

/// UTC+8, the offset of Asia/Shanghai for all dates since 1991.
pub fn shanghai() -> FixedOffset {
    #[allow(clippy::expect_used)]
    FixedOffset::east_opt(8 * 3600).expect("UTC+8 is within ±24 h")
}

/// The calendar date in Asia/Shanghai at the instant `at`.
pub fn china_date(at: DateTime<Utc>) -> NaiveDate {
    at.with_timezone(&shanghai()).date_naive()
}

/// The last instant of `date` in Asia/Shanghai (23:59:59.999), as UTC: a deadline "within N
/// days" ends when that day ends, not at the hour the case happened to be declared.
pub fn end_of_china_day(date: NaiveDate) -> DateTime<Utc> {
    let next = date.succ_opt().unwrap_or(date);
    let start_next = shanghai()
        .from_local_datetime(&next.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .map(|d| d.with_timezone(&Utc))
        .unwrap_or_default();
    start_next - chrono::Duration::milliseconds(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn late_evening_utc_is_next_day_in_china() {
        let at = Utc
            .with_ymd_and_hms(2026, 2, 13, 17, 30, 0)
            .single()
            .expect("valid");
        assert_eq!(
            china_date(at),
            NaiveDate::from_ymd_opt(2026, 2, 14).expect("valid")
        );
    }

    #[test]
    fn end_of_day_is_15_59_59_utc() {
        let d = NaiveDate::from_ymd_opt(2026, 10, 9).expect("valid");
        let end = end_of_china_day(d);
        assert_eq!(end.to_rfc3339(), "2026-10-09T15:59:59.999+00:00");
        assert_eq!(china_date(end), d);
        assert_eq!(
            china_date(end + chrono::Duration::milliseconds(1)),
            d.succ_opt().expect("valid")
        );
    }
}
