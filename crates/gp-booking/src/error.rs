//! Errors of the booking crate: what went wrong, as opposed to what the policy refused.

use chrono::{DateTime, NaiveDate, NaiveDateTime, NaiveTime, Utc};
use thiserror::Error;

/// A schedule or slot could not be made from what was given.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ScheduleError {
    /// A period's start was not before its end.
    #[error("a period must start before it ends ({start} is not before {end})")]
    EmptyPeriod {
        /// The start given.
        start: DateTime<Utc>,
        /// The end given.
        end: DateTime<Utc>,
    },
    /// A template's slot length was zero.
    #[error("a slot must be at least one minute long")]
    ZeroSlotLength,
    /// A template's session was too short to hold one slot.
    #[error("a session from {start} to {end} holds no slot of {slot_minutes} minutes")]
    NoSlotsInSession {
        /// Local start.
        start: NaiveTime,
        /// Local end.
        end: NaiveTime,
        /// Slot length asked for.
        slot_minutes: u32,
    },
    /// The last date came before the first.
    #[error("the date range ends ({to}) before it starts ({from})")]
    DateRangeReversed {
        /// First date.
        from: NaiveDate,
        /// Last date.
        to: NaiveDate,
    },
    /// A session time does not exist on a date because the clocks go forward over it.
    #[error("{0} does not exist in UK time (the clocks go forward over it)")]
    SkippedTime(NaiveDateTime),
}

/// A booking policy setting was out of its allowed range.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The online search window was zero or more than 14 days.
    #[error("the online search window must be 1 to 14 days, not {0}")]
    SearchWindow(u32),
    /// The holding limit allowed no appointments, or more than 50, or its
    /// rolling period was not 1 to 366 days.
    #[error("a holding limit must allow 1 to 50 appointments, over every future appointment or a rolling 1 to 366 days")]
    HoldingLimit,
    /// The online cancellation cut-off was more than a week (10,080 minutes).
    #[error("the online cancellation cut-off must be at most 10080 minutes (a week), not {0}")]
    CancellationCutoff(u32),
    /// The minimum age for online booking was over 120.
    #[error("a minimum age of {0} for online booking is not a real age")]
    MinimumAge(u32),
    /// A release schedule reached more than 365 days ahead.
    #[error("slots can be released at most 365 days ahead, not {0}")]
    ReleaseDaysAhead(u32),
    /// The online booking horizon was zero or more than 365 days.
    #[error("the online booking horizon must be 1 to 365 days, not {0}")]
    BookingHorizon(u32),
    /// A slot type was opened to organisations more than once.
    #[error("the slot type {0} is opened to organisations twice; give it one entry")]
    OrganisationSlotsRepeated(crate::SlotType),
    /// A slot type named more ODS codes than allowed.
    #[error("a slot type may name at most 1000 organisations, not {0}")]
    OrganisationCodes(usize),
    /// The organisation cap was zero or over 1,000.
    #[error("the organisation cap must be 1 to 1000 appointments, not {0}")]
    OrganisationCap(u32),
    /// The organisation embargo was more than a week.
    #[error("the organisation embargo must be at most 10080 minutes (a week), not {0}")]
    OrganisationEmbargo(u32),
    /// Under the equity rule (online never before telephone) the online
    /// release of ringfenced slots was set earlier than the telephone
    /// release, so it could never take effect.
    #[error("with online release no earlier than telephone release, ringfenced slots cannot be released online {} days ahead at {} when telephone booking opens {} days ahead at {}", online.days_ahead, online.at, telephone.days_ahead, telephone.at)]
    EquityBreached {
        /// The online (ringfence) release asked for.
        online: crate::ReleaseSchedule,
        /// The telephone release.
        telephone: crate::ReleaseSchedule,
    },
}

pub use gp_core::StoreError;

/// A booking commit did not happen; nothing was written.
pub type CommitError = gp_core::CommitError<crate::Precondition>;
