//! Practice-local time (Europe/London, British Summer Time included) and ages.
//!
//! Practice rules speak of local clock times ("released daily at 07:00") and
//! local dates ("on the 16th birthday"); storage and audit speak UTC. These
//! helpers are the one bridge between the two.

use chrono::{DateTime, Datelike, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Utc};
use chrono_tz::Europe::London;
use chrono_tz::Tz;

use crate::error::LocalTimeError;

/// The time zone every practice in England keeps.
pub const PRACTICE_TZ: Tz = London;

/// The instant shown in UK local time.
pub fn to_local(at: DateTime<Utc>) -> DateTime<Tz> {
    at.with_timezone(&PRACTICE_TZ)
}

/// How long from `from` to `to` on UK clocks: the elapsed time, with the
/// hour the clocks go back or forward in between taken out or put in, so
/// that 14 local days across a clock change are 14 days. Never panics,
/// whatever the instants.
///
/// ```
/// use chrono::{Duration, TimeZone, Utc};
/// // 25 October 2026 00:00 BST to 8 November 2026 00:00 GMT.
/// let from = Utc.with_ymd_and_hms(2026, 10, 24, 23, 0, 0).unwrap();
/// let to = Utc.with_ymd_and_hms(2026, 11, 8, 0, 0, 0).unwrap();
/// assert_eq!(gp_core::local_span(from, to), Duration::days(14));
/// ```
pub fn local_span(from: DateTime<Utc>, to: DateTime<Utc>) -> chrono::Duration {
    use chrono::Offset;
    let offset = |t: DateTime<Utc>| {
        i64::from(
            PRACTICE_TZ
                .offset_from_utc_datetime(&t.naive_utc())
                .fix()
                .local_minus_utc(),
        )
    };
    let elapsed = to.signed_duration_since(from);
    elapsed
        .checked_add(&chrono::Duration::seconds(offset(to) - offset(from)))
        .unwrap_or(elapsed)
}

/// The UK local calendar date of an instant.
pub fn local_date(at: DateTime<Utc>) -> NaiveDate {
    to_local(at).date_naive()
}

/// The instant at which UK clocks show `time` on `date`.
///
/// When the clocks go back (the hour from 01:00 to 02:00 happens twice) the
/// first occurrence is taken. When they go forward (01:00 to 02:00 never
/// happens) the time is refused with [`LocalTimeError::Skipped`].
///
/// ```
/// use chrono::{NaiveDate, NaiveTime, TimeZone, Utc};
/// use gp_core::local_to_utc;
/// let summer = NaiveDate::from_ymd_opt(2026, 7, 1).unwrap();
/// let seven = NaiveTime::from_hms_opt(7, 0, 0).unwrap();
/// assert_eq!(local_to_utc(summer, seven).unwrap(), Utc.with_ymd_and_hms(2026, 7, 1, 6, 0, 0).unwrap());
/// ```
pub fn local_to_utc(date: NaiveDate, time: NaiveTime) -> Result<DateTime<Utc>, LocalTimeError> {
    let local = NaiveDateTime::new(date, time);
    match PRACTICE_TZ.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::Ambiguous(first, _) => Ok(first.with_timezone(&Utc)),
        LocalResult::None => Err(LocalTimeError::Skipped(local)),
    }
}

/// The years a date typed at a command line or in a query may fall in.
pub const TYPED_YEARS: std::ops::RangeInclusive<i32> = 1900..=2200;

/// A date typed as `YYYY-MM-DD` exactly (no signs, no missing zeros),
/// in [`TYPED_YEARS`]; `None` for anything else.
pub fn typed_date(text: &str) -> Option<NaiveDate> {
    let shape = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| match i {
            4 | 7 => b == b'-',
            _ => b.is_ascii_digit(),
        });
    let date = NaiveDate::parse_from_str(text, "%Y-%m-%d").ok()?;
    (shape && TYPED_YEARS.contains(&date.year())).then_some(date)
}

/// Like [`local_to_utc`], but a time skipped when the clocks go forward is
/// moved on to the first instant that exists after it (01:30 becomes 02:00).
/// Use it for schedule rules that must always name an instant.
pub fn local_to_utc_lenient(date: NaiveDate, time: NaiveTime) -> DateTime<Utc> {
    let mut local = NaiveDateTime::new(date, time);
    // A gap in UK time is one hour at most; step a minute at a time past it.
    for _ in 0..=120 {
        match PRACTICE_TZ.from_local_datetime(&local) {
            LocalResult::Single(t) => return t.with_timezone(&Utc),
            LocalResult::Ambiguous(first, _) => return first.with_timezone(&Utc),
            LocalResult::None => {
                local += chrono::Duration::minutes(1);
            }
        }
    }
    // Unreachable for Europe/London; treat the local time as UTC rather than panic.
    Utc.from_utc_datetime(&local)
}

/// The instant a UK local day starts (its midnight).
pub fn start_of_local_day(date: NaiveDate) -> DateTime<Utc> {
    local_to_utc_lenient(date, NaiveTime::MIN)
}

/// The date in `year` on which someone born on `born` has their birthday.
///
/// Someone born on 29 February has their birthday on 1 March in a year that is
/// not a leap year, as the law in England reckons a person's age.
pub fn birthday_in(born: NaiveDate, year: i32) -> NaiveDate {
    NaiveDate::from_ymd_opt(year, born.month(), born.day())
        .or_else(|| NaiveDate::from_ymd_opt(year, 3, 1))
        .unwrap_or(born)
}

/// Age in whole years on `on` of someone born on `born` (0 before the first birthday,
/// and 0 for a date before birth).
///
/// ```
/// use chrono::NaiveDate;
/// use gp_core::age_on;
/// let born = NaiveDate::from_ymd_opt(2008, 2, 29).unwrap();
/// assert_eq!(age_on(born, NaiveDate::from_ymd_opt(2024, 2, 28).unwrap()), 15);
/// assert_eq!(age_on(born, NaiveDate::from_ymd_opt(2024, 2, 29).unwrap()), 16);
/// assert_eq!(age_on(born, NaiveDate::from_ymd_opt(2025, 2, 28).unwrap()), 16);
/// ```
pub fn age_on(born: NaiveDate, on: NaiveDate) -> u32 {
    if on <= born {
        return 0;
    }
    let years = on.year() - born.year();
    let had_birthday = on >= birthday_in(born, on.year());
    let age = if had_birthday { years } else { years - 1 };
    u32::try_from(age).unwrap_or(0)
}

/// The date on which someone born on `born` reaches `age` years.
pub fn date_of_age(born: NaiveDate, age: u32) -> NaiveDate {
    let year = born
        .year()
        .saturating_add(i32::try_from(age).unwrap_or(i32::MAX - born.year()));
    birthday_in(born, year)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    fn t(h: u32, m: u32) -> NaiveTime {
        NaiveTime::from_hms_opt(h, m, 0).unwrap()
    }

    #[test]
    fn winter_is_gmt_and_summer_is_bst() {
        assert_eq!(
            local_to_utc(d(2026, 1, 15), t(7, 0)).unwrap(),
            Utc.with_ymd_and_hms(2026, 1, 15, 7, 0, 0).unwrap()
        );
        assert_eq!(
            local_to_utc(d(2026, 6, 15), t(7, 0)).unwrap(),
            Utc.with_ymd_and_hms(2026, 6, 15, 6, 0, 0).unwrap()
        );
    }

    #[test]
    fn spring_forward_skips_an_hour() {
        // 2026-03-29: clocks go from 01:00 GMT to 02:00 BST.
        let day = d(2026, 3, 29);
        assert_eq!(
            local_to_utc(day, t(1, 30)),
            Err(LocalTimeError::Skipped(NaiveDateTime::new(day, t(1, 30))))
        );
        assert_eq!(
            local_to_utc_lenient(day, t(1, 30)),
            Utc.with_ymd_and_hms(2026, 3, 29, 1, 0, 0).unwrap()
        );
        assert_eq!(
            local_to_utc(day, t(0, 30)).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 29, 0, 30, 0).unwrap()
        );
        assert_eq!(
            local_to_utc(day, t(7, 0)).unwrap(),
            Utc.with_ymd_and_hms(2026, 3, 29, 6, 0, 0).unwrap()
        );
        // That local day is 23 hours long.
        assert_eq!(
            (start_of_local_day(d(2026, 3, 30)) - start_of_local_day(day)).num_hours(),
            23
        );
    }

    #[test]
    fn autumn_back_takes_the_first_of_the_repeated_hour() {
        // 2026-10-25: clocks go from 02:00 BST back to 01:00 GMT.
        let day = d(2026, 10, 25);
        assert_eq!(
            local_to_utc(day, t(1, 30)).unwrap(),
            Utc.with_ymd_and_hms(2026, 10, 25, 0, 30, 0).unwrap()
        );
        assert_eq!(
            local_to_utc(day, t(7, 0)).unwrap(),
            Utc.with_ymd_and_hms(2026, 10, 25, 7, 0, 0).unwrap()
        );
        assert_eq!(
            (start_of_local_day(d(2026, 10, 26)) - start_of_local_day(day)).num_hours(),
            25
        );
    }

    #[test]
    fn local_date_changes_at_local_midnight() {
        // 23:30 UTC on 30 June is 00:30 on 1 July in BST.
        assert_eq!(
            local_date(Utc.with_ymd_and_hms(2026, 6, 30, 23, 30, 0).unwrap()),
            d(2026, 7, 1)
        );
        assert_eq!(
            local_date(Utc.with_ymd_and_hms(2026, 12, 31, 23, 30, 0).unwrap()),
            d(2026, 12, 31)
        );
    }

    #[test]
    fn leap_day_birthdays() {
        let born = d(2012, 2, 29);
        assert_eq!(birthday_in(born, 2028), d(2028, 2, 29));
        assert_eq!(birthday_in(born, 2027), d(2027, 3, 1));
        assert_eq!(age_on(born, d(2028, 2, 28)), 15);
        assert_eq!(age_on(born, d(2028, 2, 29)), 16);
        assert_eq!(age_on(born, d(2027, 2, 28)), 14);
        assert_eq!(age_on(born, d(2027, 3, 1)), 15);
        assert_eq!(date_of_age(born, 16), d(2028, 2, 29));
        assert_eq!(date_of_age(born, 15), d(2027, 3, 1));
    }

    #[test]
    fn ages_before_and_on_birthdays() {
        let born = d(2010, 11, 24);
        assert_eq!(age_on(born, d(2026, 11, 23)), 15);
        assert_eq!(age_on(born, d(2026, 11, 24)), 16);
        assert_eq!(age_on(born, d(2009, 1, 1)), 0);
        assert_eq!(age_on(born, born), 0);
    }

    proptest! {
        #[test]
        fn age_steps_up_exactly_on_date_of_age(days in 0i64..40_000, age in 1u32..100) {
            let born = d(1920, 1, 1) + chrono::Duration::days(days);
            let birthday = date_of_age(born, age);
            prop_assert_eq!(age_on(born, birthday), age);
            prop_assert_eq!(age_on(born, birthday.pred_opt().unwrap()), age - 1);
        }

        #[test]
        fn every_instant_maps_to_a_local_time_that_maps_back(secs in 1_600_000_000i64..1_900_000_000) {
            let at = DateTime::<Utc>::from_timestamp(secs, 0).unwrap();
            let local = to_local(at);
            let back = local_to_utc(local.date_naive(), local.time()).unwrap();
            // In the repeated autumn hour the first occurrence is chosen.
            prop_assert!(back == at || back == at - chrono::Duration::hours(1));
        }
    }
}

#[cfg(test)]
mod typed_date_tests {
    #[test]
    fn only_yyyy_mm_dd_in_the_years_served() {
        assert!(super::typed_date("2026-03-01").is_some());
        for bad in [
            "2026-3-1",
            "+2026-03-01",
            "-0001-01-01",
            "1899-12-31",
            "2201-01-01",
            "2026-02-30",
            "",
            "2026-03-01 ",
        ] {
            assert!(super::typed_date(bad).is_none(), "{bad}");
        }
    }
}
