//! Shared vocabulary of the GP online services workspace.
//!
//! `gp-core` holds what every other crate speaks of: identifiers parsed at the
//! edge ([`NhsNumber`], [`OdsCode`], typed uuids such as [`PatientId`]), who acts
//! ([`Actor`], [`StaffRole`]) and through which [`Channel`], the [`Clock`] port,
//! practice-local time in Europe/London, ages on a date, and the [`AuditEvent`]
//! every decision returns.
//!
//! It holds no rules of its own and depends on no other crate of the workspace.
//! It is not a place for shared helpers that belong to one domain.
//!
//! ```
//! use chrono::{NaiveDate, TimeZone, Utc};
//! use gp_core::{age_on, local_date, Clock, FixedClock, NhsNumber};
//!
//! let nhs: NhsNumber = "943 476 5919".parse()?;
//! assert_eq!(nhs.digits(), "9434765919");
//!
//! // 23:30 UTC on 30 June is already 1 July in a practice in England.
//! let clock = FixedClock::new(Utc.with_ymd_and_hms(2026, 6, 30, 23, 30, 0).unwrap());
//! let today = local_date(clock.now());
//! assert_eq!(today, NaiveDate::from_ymd_opt(2026, 7, 1).unwrap());
//! assert_eq!(age_on(NaiveDate::from_ymd_opt(2010, 7, 1).unwrap(), today), 16);
//! # Ok::<(), gp_core::ParseError>(())
//! ```

mod actor;
mod audit;
mod clock;
mod commit;
mod error;
mod guard;
mod ids;
mod nhs;
mod random;
mod text;
mod time;

pub use actor::{Actor, Channel, StaffRole};
pub use audit::{
    AuditAction, AuditEvent, Outcome, PersonalText, Reason, ReasonCode, Subject, SubjectKind,
};
pub use clock::{Clock, FixedClock, SystemClock};
pub use commit::{CommitError, Committable, Decision, Refusal, StoreError};
pub use error::{LocalTimeError, ParseError};
pub use guard::AccessGuard;
pub use ids::{
    AccountId, ApplicationId, BookingId, ConcernId, EventId, IdSource, MedicationId, MessageId,
    PatientId, ProblemId, ProxyId, RandomIds, RequestId, SequentialIds, SessionId, SlotId, StaffId,
};
pub use nhs::{NhsNumber, OdsCode, OrganisationType, RequesterId, ORGANISATION_TYPE_SYSTEM};
pub use random::{OsRandom, RandomSource, RandomUnavailable, SeededRandom};
pub use text::{bounded_text, is_invisible, Redacted, RedactedShape};
pub use time::{
    age_on, birthday_in, date_of_age, local_date, local_span, local_to_utc, local_to_utc_lenient,
    start_of_local_day, to_local, typed_date, PRACTICE_TZ, TYPED_YEARS,
};

/// Re-exported so that users of the workspace name the same `chrono` and `uuid` versions.
pub use chrono;
/// Re-exported so that users of the workspace name the same `uuid` version.
pub use uuid;
