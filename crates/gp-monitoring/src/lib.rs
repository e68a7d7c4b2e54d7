//! Monitoring for GP online services, as section 6 of the RCGP guidance
//! asks: the practice's problem log ([`problems`]: reports by staff,
//! patients and proxies, each action on them recorded), the monthly
//! figures in NHS England's POMI shape, and the uptake audit (patients
//! registered for online booking or ordering who do not use it).
//!
//! Pure computation over what the ports already hold: the access records
//! (who is registered, their date of birth and registration type) and the
//! audit trail (every registration, verification, change of services,
//! suspension, booking, cancellation and repeat request, with its time,
//! channel and outcome). Who was enabled at an instant is replayed from the
//! trail, so a return for a past month counts the patients enabled at that
//! month's end, not today.
//!
//! ```
//! use gp_monitoring::{Month, Practice, PomiInput, pomi_return};
//!
//! let month = Month::parse("2026-03").unwrap();
//! let practice = Practice::example();
//! let figures = pomi_return(&PomiInput {
//!     month,
//!     practice: &practice,
//!     list_size: 0,
//!     events: &[],
//! });
//! assert!(figures.csv().starts_with("report_period_end,region_code"));
//! ```

mod pomi;
pub mod problems;
mod state;
mod uptake;

pub use pomi::{offered_at, pomi_return, PomiField, PomiInput, PomiReturn, Practice, FIELDS};
pub use problems::{
    decide_action, decide_report, Concerning, MemoryProblemStore, NewProblem, Problem,
    ProblemAction, ProblemCategory, ProblemChange, ProblemError, ProblemFilter, ProblemRefusal,
    ProblemStatus, ProblemStore,
};
pub use state::{AccessState, PatientState};
pub use uptake::{uptake, AgeBand, UptakeEntry, UptakeGroup, UptakeReport, UptakeService};

use chrono::{DateTime, Datelike, NaiveDate, NaiveTime, Utc};
use thiserror::Error;

/// A problem with what the caller asked for.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum MonitoringError {
    /// A month that is not written `YYYY-MM` (years 1900 to 2200).
    #[error("{0:?} is not a month like 2026-03 (years 1900 to 2200)")]
    Month(String),
    /// A period that ends before it starts.
    #[error("the period from {from} to {to} ends before it starts")]
    PeriodReversed {
        /// First day.
        from: NaiveDate,
        /// Last day.
        to: NaiveDate,
    },
}

/// A calendar month at the practice (UK local time).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    first: NaiveDate,
}

impl Month {
    /// Parses `YYYY-MM` (years 1900 to 2200).
    pub fn parse(text: &str) -> Result<Self, MonitoringError> {
        let bad = || MonitoringError::Month(text.to_owned());
        let (y, m) = text.trim().split_once('-').ok_or_else(bad)?;
        let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
        if y.len() != 4 || m.len() != 2 || !digits(y) || !digits(m) {
            return Err(bad());
        }
        let year: i32 = y.parse().map_err(|_| bad())?;
        let month: u32 = m.parse().map_err(|_| bad())?;
        if !(1900..=2200).contains(&year) {
            return Err(bad());
        }
        let first = NaiveDate::from_ymd_opt(year, month, 1).ok_or_else(bad)?;
        Ok(Self { first })
    }

    /// The month holding `date`.
    pub fn of(date: NaiveDate) -> Self {
        Self {
            first: date.with_day(1).unwrap_or(date),
        }
    }

    /// Its first day.
    pub fn first_day(&self) -> NaiveDate {
        self.first
    }

    /// Its last day (the POMI `report_period_end`).
    pub fn last_day(&self) -> NaiveDate {
        self.next().first.pred_opt().unwrap_or(self.first)
    }

    /// The month after.
    pub fn next(&self) -> Self {
        let (y, m) = if self.first.month() == 12 {
            (self.first.year() + 1, 1)
        } else {
            (self.first.year(), self.first.month() + 1)
        };
        Self {
            first: NaiveDate::from_ymd_opt(y, m, 1).unwrap_or(self.first),
        }
    }

    /// The instant it starts: 00:00 UK time on its first day.
    pub fn start(&self) -> DateTime<Utc> {
        midnight(self.first)
    }

    /// The instant it ends (exclusive): 00:00 UK time on the next month's first day.
    pub fn end(&self) -> DateTime<Utc> {
        self.next().start()
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.first.format("%Y-%m"))
    }
}

/// 00:00 UK time on `date` (midnight always exists in the UK: the clocks
/// change at 01:00 and 02:00).
pub(crate) fn midnight(date: NaiveDate) -> DateTime<Utc> {
    gp_core::local_to_utc_lenient(date, NaiveTime::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_bound_in_uk_time() {
        let march = Month::parse("2026-03").expect("a month");
        assert_eq!(march.last_day().to_string(), "2026-03-31");
        // March starts in GMT, April in BST.
        assert_eq!(march.start().to_rfc3339(), "2026-03-01T00:00:00+00:00");
        assert_eq!(march.end().to_rfc3339(), "2026-03-31T23:00:00+00:00");
        assert_eq!(
            Month::parse("2026-12").expect("a month").next().to_string(),
            "2027-01"
        );
        for bad in [
            "2026-13", "2026-3", "26-03", "2026/03", "", "2026-00", "1800-01", "abcd-ef",
            "2026-+6", "+026-06", "2026-+6", "+026-06",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }
}
