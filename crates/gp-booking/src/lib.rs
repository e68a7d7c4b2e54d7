//! Appointment booking under the practice's own rules.
//!
//! `gp-booking` models the schedule (staff, sessions, slots made from weekly
//! templates), the practice's [`BookingPolicy`] (every option a setting with a
//! default and a refusal reason), and pure decisions: [`search`],
//! [`decide_book`], [`decide_cancel`] and [`decide_reschedule`] take facts and
//! `now` and return a [`Decision`]: a change with its audit event and the
//! preconditions to commit it under, or a [`BookingRefusal`] with its event.
//! The [`BookingStore`] port says what storage must do; [`MemoryBookingStore`]
//! honours it in memory.
//!
//! It does no I/O, reads no clock and depends on no other domain crate: the
//! facts it needs about a patient come in as [`PatientFacts`]. The load,
//! decide, commit and retry loop lives in `gp-online`.
//!
//! ```
//! use chrono::{Duration, NaiveDate, TimeZone, Utc};
//! use gp_booking::*;
//! use gp_core::{Actor, Channel, PatientId, SequentialIds, StaffId, StaffRole};
//!
//! let ids = SequentialIds::new(1);
//! let now = Utc.with_ymd_and_hms(2026, 6, 1, 9, 0, 0).unwrap();
//! let gp = StaffId::new(&ids);
//! let slot = Slot {
//!     id: gp_core::SlotId::new(&ids),
//!     session: gp_core::SessionId::new(&ids),
//!     clinician: gp,
//!     role: StaffRole::Gp,
//!     period: Period::new(now + Duration::days(1), now + Duration::days(1) + Duration::minutes(10))?,
//!     slot_type: SlotType::Urgent,
//!     delivery: DeliveryMode::InPerson,
//!     availability: SlotAvailability::Open,
//!     reserved_for: None,
//!     site: None,
//! };
//! let patient = PatientFacts {
//!     patient: PatientId::new(&ids),
//!     date_of_birth: NaiveDate::from_ymd_opt(1980, 5, 17).unwrap(),
//!     registration: Registration::Regular,
//!     online: OnlineRegistration::Registered,
//! };
//! let facts = BookFacts {
//!     slot: Some(SlotState { slot: slot.clone(), live_booking: None }),
//!     patient,
//!     holdings: vec![],
//!     holdings_since: now,
//!     organisation_holdings: None,
//!     adjacent: Vec::new(),
//! };
//! let request = BookRequest {
//!     actor: Actor::Patient { patient: patient.patient },
//!     channel: Channel::Online,
//!     patient: patient.patient,
//!     slot: slot.id,
//!     description: None,
//!     comment: None,
//!     holding_limit_override: None,
//!     organisation_contact: None,
//!     adjacent: Vec::new(),
//! };
//! // By default urgent slots are kept for staff to book.
//! let decision = decide_book(&BookingPolicy::default(), &facts, &request, now, &ids);
//! assert_eq!(decision.refusal(), Some(&BookingRefusal::UrgentSlotNotOnline));
//! # Ok::<(), ScheduleError>(())
//! ```

mod amend;
mod book;
mod booking;
mod cancel;
mod decision;
mod error;
mod memory;
mod policy;
mod policy_change;
mod refusal;
mod reschedule;
mod rules;
mod schedule;
mod search;
mod store;

pub use amend::decide_amend;
pub use book::decide_book;
pub use booking::{
    Booking, BookingComment, BookingDescription, Cancellation, CancellationReason, Holding,
    JobRole, JobRoleCode, JobRoleName, OrganisationContact, OrganisationName,
    OrganisationTelephone, OverrideReason, SdsUserId,
};
pub use cancel::decide_cancel;
pub use decision::{
    AmendRequest, BookFacts, BookRequest, BookingChange, CancelFacts, CancelRequest, Committable,
    Decision, OnlineRegistration, OrganisationFilter, PatientFacts, PolicyFacts, Precondition,
    Refusal, Registration, RescheduleFacts, RescheduleRequest, SearchQuery, SearchRequest,
    SlotState, ACTION_AMEND, ACTION_BOOK, ACTION_CANCEL, ACTION_POLICY, ACTION_RESCHEDULE,
    ACTION_SEARCH,
};
pub use error::{CommitError, PolicyError, ScheduleError, StoreError};
pub use memory::MemoryBookingStore;
pub use policy::{
    BeforeRegistration, BookingPolicy, BookingSettings, HoldingLimit, HoldingPeriod,
    OnlinePatients, OrganisationSlots, ReleaseEquity, ReleaseSchedule, UrgentSlots,
    MAX_APPOINTMENT_SLOTS, MAX_CUTOFF_MINUTES, MAX_HOLDING, MAX_ORGANISATION_CAP,
    MAX_ORGANISATION_CODES, MAX_ROLLING_DAYS, ORGANISATION_SEARCH_DAYS,
};
pub use policy_change::decide_policy;
pub use refusal::BookingRefusal;
pub use reschedule::decide_reschedule;
pub use rules::{online_slot_refusal, organisation_slot_refusal, staff_slot_refusal};
pub use schedule::{
    DeliveryMode, Gender, Period, PracticeSlotType, Reservation, Schedule, Session,
    SessionTemplate, Slot, SlotAvailability, SlotType, StaffMember,
};
pub use search::search;
pub use store::{BookDecider, BookSnapshot, BookingStore};
