//! The one door a GP clinical system calls: [`Practice`].
//!
//! Every action a patient, a proxy, a member of staff or the system can
//! take (appointments, repeat prescriptions, messages, online access,
//! staff, settings and the review lists) is a method of [`Practice`], and
//! each runs the same way:
//!
//! 1. **Authorize from the stored records.** The access rules of
//!    `gp-access` are asked with the patient's access record, their entry
//!    on the practice's list and the acting staff member's stored profile
//!    (the role in a caller's `Actor` is never trusted). A denial is
//!    recorded in the audit trail and answered as [`Refused::Access`].
//! 2. **Decide** with the domain's pure rules (`gp-booking`,
//!    `gp-prescribing`, `gp-messaging`, `gp-access`) under the settings
//!    stored for the practice.
//! 3. **Commit** the change, the authorization's event and the decision's
//!    events in one transaction, under the decision's preconditions and the
//!    access record's version: a revocation that commits first wins, and
//!    the action is authorized again. A refusal and the authorization
//!    before it are one write too. On a conflict the action is decided
//!    again (bounded), so the caller gets a policy answer such as
//!    `SlotTaken`, never an internal conflict.
//!
//! The service facades that skip step 1 live in [`unchecked`], for tests
//! and benchmarks. Everything is generic over the store and the clock and
//! starts no runtime: await it from any executor.
//!
//! ```
//! use std::sync::Arc;
//! use gp_access::{By, ListedPatient, PatientList, RegistrationKind, StaffProfile};
//! use gp_booking::{BookRequest, BookingStore, SearchQuery};
//! use gp_core::{Actor, Channel, FixedClock, NhsNumber, PatientId, StaffId, StaffRole};
//! use gp_online::{Answer, Practice, Refused};
//! use gp_sqlite::SqliteStore;
//! use gp_testkit::fixtures::{monday_morning, practice};
//!
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let ids = gp_core::SequentialIds::new(1);
//! let today = monday_morning().date_naive();
//! let store = Arc::new(SqliteStore::open_in_memory()?);
//! let fixture = practice(&ids, today);
//! for s in fixture.staff() { store.put_staff(&s).await?; }
//! store.add_schedule(&fixture.schedule).await?;
//! let practice = Practice::new(store.clone(), Arc::new(FixedClock::new(monday_morning())));
//!
//! // The practice manager is the first member of staff; a receptionist follows.
//! let manager = StaffProfile::new(StaffId::new(&ids), "Pat Morgan", StaffRole::PracticeManager);
//! practice.first_manager(&manager).await?;
//! let desk = StaffProfile::new(StaffId::new(&ids), "Sam Reed", StaffRole::Receptionist);
//! practice.put_staff(&By::staff(&manager, Channel::Reception), &desk).await?;
//!
//! // A patient on the practice's list, with no online account, telephones.
//! let patient = PatientId::new(&ids);
//! let nhs = NhsNumber::parse("943 476 5919")?;
//! let dob = chrono::NaiveDate::from_ymd_opt(1980, 5, 17).unwrap();
//! store.put_listed_patient(&ListedPatient::new(patient, nhs, dob, RegistrationKind::Regular, today)?).await?;
//! let phone = By::staff(&desk, Channel::Telephone);
//! let query = SearchQuery::between(monday_morning(), monday_morning() + chrono::Duration::days(7));
//! let Answer::Done(free) = practice.search(&phone, patient, query).await? else { panic!("refused") };
//! let request = BookRequest {
//!     actor: phone.actor, channel: phone.channel, patient, slot: free[0].id,
//!     description: None, comment: None, holding_limit_override: None,
//!     organisation_contact: None,
//!     adjacent: Vec::new(),
//! };
//! let Answer::Done(booking) = practice.book(&request).await? else { panic!("refused") };
//! assert_eq!(booking.patient, patient);
//!
//! // The patient has no online account, so online they are turned away, with the reason.
//! let online = By { actor: Actor::Patient { patient }, channel: Channel::Online };
//! let again = BookRequest { actor: online.actor, channel: online.channel, ..request };
//! assert_eq!(
//!     practice.book(&again).await?.refusal().map(Refused::code),
//!     Some("NotRegisteredForOnline")
//! );
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # }).unwrap();
//! ```

use thiserror::Error;

mod commit;
mod practice;
pub mod unchecked;

pub use gp_prescribing::OrderRefused;
pub use practice::{Practice, PracticeStore, Refused, RejectedRequest, RequestFault};
pub use unchecked::{patient_facts, Ordered, PrescriberMove};

/// The answer to a request: done, or refused by the practice's rules with a
/// reason (a `gp_booking::BookingRefusal` unless said otherwise).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer<T, R = gp_booking::BookingRefusal> {
    /// Done; here is the result.
    Done(T),
    /// Refused, for this reason (already recorded in the audit trail).
    Refused(R),
}

impl<T, R> Answer<T, R> {
    /// The refusal reason, if refused.
    pub fn refusal(&self) -> Option<&R> {
        match self {
            Answer::Done(_) => None,
            Answer::Refused(r) => Some(r),
        }
    }

    /// The result, if done.
    pub fn done(self) -> Option<T> {
        match self {
            Answer::Done(t) => Some(t),
            Answer::Refused(_) => None,
        }
    }

    /// The same answer with the refusal made into another type.
    pub fn map_refusal<S>(self, f: impl FnOnce(R) -> S) -> Answer<T, S> {
        match self {
            Answer::Done(t) => Answer::Done(t),
            Answer::Refused(r) => Answer::Refused(f(r)),
        }
    }
}

/// Something went wrong (as opposed to a refusal by the practice's rules).
/// Whatever it is, nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum OnlineError {
    /// The store failed (its kind says whether trying again may help).
    #[error(transparent)]
    Store(#[from] gp_core::StoreError),
    /// A repeat request, reason or note was not valid.
    #[error(transparent)]
    Request(#[from] gp_prescribing::RequestError),
    /// A repeat item was not valid.
    #[error(transparent)]
    Item(#[from] gp_prescribing::ItemError),
    /// Prescribing settings were out of range.
    #[error(transparent)]
    Settings(#[from] gp_prescribing::SettingsError),
    /// A message or reply was not valid.
    #[error(transparent)]
    Message(#[from] gp_messaging::MessageError),
    /// Access input (a name, reason, note, date or setting) was not valid.
    #[error(transparent)]
    AccessInput(#[from] gp_access::AccessError),
    /// A monitoring request that cannot be answered as asked (a period
    /// that ends before it starts).
    #[error(transparent)]
    Monitoring(#[from] gp_monitoring::MonitoringError),
    /// A problem report or action with a description or note that is
    /// empty, too long or holds control characters.
    #[error(transparent)]
    Problem(#[from] gp_monitoring::ProblemError),
    /// The facts kept changing under the request, more times than allowed.
    #[error("the practice's records were too busy to complete the request after {attempts} attempts; please try again")]
    Contention {
        /// How many times the request was decided.
        attempts: u32,
    },
    /// The patient's access record changed between the authorization and
    /// the commit. [`Practice`] authorizes again when this happens and never
    /// answers with it; the [`unchecked`] facades, which authorize nothing,
    /// never meet it.
    #[error("the patient's access changed while the request was made; please try again")]
    AccessChanged,
}
