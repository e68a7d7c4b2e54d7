//! What booking decisions read and produce: facts, requests, the change,
//! the preconditions it commits under, and the decision itself. No rules.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use gp_core::{
    Actor, BookingId, Channel, OdsCode, OrganisationType, PatientId, SlotId, StaffId, StaffRole,
};
use serde::{Deserialize, Serialize};

use crate::booking::{
    Booking, BookingComment, BookingDescription, Cancellation, CancellationReason, Holding,
    OrganisationContact, OverrideReason,
};
use crate::policy::BookingPolicy;
use crate::refusal::BookingRefusal;
use crate::schedule::{DeliveryMode, Slot, SlotType};

/// Audit action of a slot search.
pub const ACTION_SEARCH: &str = "appointment.search";

/// Audit action of a booking.
pub const ACTION_BOOK: &str = "appointment.book";

/// Audit action of a cancellation.
pub const ACTION_CANCEL: &str = "appointment.cancel";

/// Audit action of a reschedule (cancel one booking and book another, together).
pub const ACTION_RESCHEDULE: &str = "appointment.reschedule";

/// The audit action of an amendment.
pub const ACTION_AMEND: &str = "appointment.amend";

/// A request to change a booking's description and comment (GP Connect's
/// amend: nothing else may change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AmendRequest {
    /// Who asks.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// The booking.
    pub booking: BookingId,
    /// The new description (`None`: none).
    pub description: Option<BookingDescription>,
    /// The new comment (`None`: none).
    pub comment: Option<BookingComment>,
    /// The booking's version the amendment was written against (GP
    /// Connect's `If-Match`), if the caller holds one: another version is
    /// refused (`BookingChanged`).
    pub version: Option<u64>,
}

/// How a patient is registered at the practice.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Registration {
    /// A regular (permanently registered) patient.
    Regular,
    /// A temporary resident.
    Temporary,
}

/// Whether a patient has registered for online services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnlineRegistration {
    /// Registered (identity verified, appointments enabled).
    Registered,
    /// Not registered.
    NotRegistered,
    /// Not registered, and an online booking was made for the patient
    /// already (live, cancelled or past): the one a practice may allow
    /// before registration is used.
    NotRegisteredBookedOnline,
}

impl OnlineRegistration {
    /// Whether the patient is registered for online services.
    pub fn is_registered(self) -> bool {
        self == OnlineRegistration::Registered
    }
}

/// What booking needs to know about a patient, passed in by the caller (the
/// facade gets it from the access records; this crate depends on no other domain).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PatientFacts {
    /// The patient.
    pub patient: PatientId,
    /// Date of birth, for the minimum age.
    pub date_of_birth: NaiveDate,
    /// Regular or temporary.
    pub registration: Registration,
    /// Registered for online services or not.
    pub online: OnlineRegistration,
}

/// A slot and whether it is taken.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SlotState {
    /// The slot.
    pub slot: Slot,
    /// Its live booking, if it has one.
    pub live_booking: Option<BookingId>,
}

/// GP Connect's `searchFilter`: the consumer organisation's ODS code and
/// type, as far as it sent them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct OrganisationFilter {
    /// The ODS code sent, if any.
    pub ods: Option<OdsCode>,
    /// The organisation type sent, if any.
    pub kind: Option<OrganisationType>,
}

/// What a search looks for. Times are instants; `from` is inclusive and `to` exclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SearchQuery {
    /// Slots starting at or after this instant.
    pub from: DateTime<Utc>,
    /// Slots starting before this instant.
    pub to: DateTime<Utc>,
    /// Only this clinician's slots.
    pub clinician: Option<StaffId>,
    /// Only slots with clinicians in this role.
    pub role: Option<StaffRole>,
    /// Only slots of this type.
    pub slot_type: Option<SlotType>,
    /// Only slots delivered this way.
    pub delivery: Option<DeliveryMode>,
    /// What a consumer organisation says of itself in its search (GP
    /// Connect's `searchFilter`): slots restricted to organisation types or
    /// codes are returned only when the filter names a matching type or
    /// code (and the organisation acting is of that type and code). Ignored
    /// for everyone else.
    #[serde(default)]
    pub organisation_filter: OrganisationFilter,
}

impl SearchQuery {
    /// A query for every slot starting in `[from, to)`.
    pub fn between(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self {
            from,
            to,
            clinician: None,
            role: None,
            slot_type: None,
            delivery: None,
            organisation_filter: OrganisationFilter::default(),
        }
    }

    /// Whether `slot` meets the query's range and filters.
    pub fn matches(&self, slot: &Slot) -> bool {
        slot.start() >= self.from
            && slot.start() < self.to
            && self.clinician.is_none_or(|c| c == slot.clinician)
            && self.role.is_none_or(|r| r == slot.role)
            && self.slot_type.as_ref().is_none_or(|t| *t == slot.slot_type)
            && self.delivery.is_none_or(|d| d == slot.delivery)
    }
}

/// A search by an actor through a channel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// Who is searching.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// The patient searched for (required when a patient or proxy searches).
    pub patient: Option<PatientFacts>,
    /// What to look for.
    pub query: SearchQuery,
}

/// A request to book a slot for a patient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookRequest {
    /// Who is booking.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// The patient the appointment is for.
    pub patient: PatientId,
    /// The slot.
    pub slot: SlotId,
    /// Why the patient wants the appointment.
    pub description: Option<BookingDescription>,
    /// A further comment.
    pub comment: Option<BookingComment>,
    /// Staff only: book beyond the holding limit, for this reason.
    pub holding_limit_override: Option<OverrideReason>,
    /// For a booking by another organisation: how the practice reaches it
    /// (GP Connect's booking organisation). Kept with an organisation's
    /// booking; ignored for anyone else's.
    pub organisation_contact: Option<OrganisationContact>,
    /// Further slots booked into the same appointment (GP Connect's
    /// multiple adjacent slots): with `slot`, in any order, they must run
    /// one after another in one session, with one delivery mode and one
    /// slot type. Empty for an appointment of one slot.
    pub adjacent: Vec<SlotId>,
}

impl BookRequest {
    /// A patient booking `slot` for themselves online, with no description,
    /// comment or override: the commonest request.
    pub fn patient_online(patient: PatientId, slot: SlotId) -> Self {
        Self {
            actor: Actor::Patient { patient },
            channel: Channel::Online,
            patient,
            slot,
            description: None,
            comment: None,
            holding_limit_override: None,
            organisation_contact: None,
            adjacent: Vec::new(),
        }
    }
}

/// The facts a booking decision needs, loaded together as one snapshot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BookFacts {
    /// The slot, if it exists.
    pub slot: Option<SlotState>,
    /// The patient.
    pub patient: PatientFacts,
    /// The patient's live bookings starting at or after `holdings_since`.
    pub holdings: Vec<Holding>,
    /// The instant from which holdings were loaded.
    pub holdings_since: DateTime<Utc>,
    /// For a booking by another organisation: the live bookings it holds
    /// starting at or after `holdings_since` (its cap counts them). `None`
    /// when nobody read them: an organisation's booking is then refused
    /// while the practice caps organisations.
    pub organisation_holdings: Option<std::collections::BTreeSet<BookingId>>,
    /// The request's `adjacent` slots as stored (`None`: no such slot), in
    /// the request's order.
    pub adjacent: Vec<Option<SlotState>>,
}

/// A request to cancel a booking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelRequest {
    /// Who is cancelling.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// The booking.
    pub booking: BookingId,
    /// Why.
    pub reason: CancellationReason,
    /// The booking's version the cancellation was written against (GP
    /// Connect's `If-Match`), if the caller holds one: another version is
    /// refused (`BookingChanged`), also when it changes before the commit.
    pub version: Option<u64>,
}

/// The facts a cancellation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelFacts {
    /// The booking, if it exists.
    pub booking: Option<Booking>,
    /// Its slot.
    pub slot: Option<Slot>,
    /// The live bookings joined to it (the further slots of its
    /// appointment), read with it.
    pub joined: Vec<Booking>,
}

/// A request to move a booking to another slot: the new booking and the
/// cancellation of the old happen together, or neither does.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RescheduleRequest {
    /// Who is rescheduling.
    pub actor: Actor,
    /// Through which channel.
    pub channel: Channel,
    /// The booking to move.
    pub booking: BookingId,
    /// The slot to move it to.
    pub new_slot: SlotId,
    /// Why the old appointment is cancelled.
    pub reason: CancellationReason,
    /// Staff only: book beyond the holding limit, for this reason.
    pub holding_limit_override: Option<OverrideReason>,
}

/// The facts a reschedule needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RescheduleFacts {
    /// The booking to move and its slot.
    pub current: CancelFacts,
    /// The new slot and the patient's holdings.
    pub new: BookFacts,
}

/// The practice's booking policy as stored, with its version.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PolicyFacts {
    /// The policy.
    pub policy: BookingPolicy,
    /// Its version: 0 until first stored, then one more for each change.
    pub version: u64,
}

/// A fact a decision relied on, which the store checks inside its write
/// transaction before applying the change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Precondition {
    /// The booking policy is still at this version.
    PolicyUnchanged {
        /// The version the decision saw.
        version: u64,
    },
    /// The patient's access record is still at the version the action was
    /// authorized on (checked by a store that keeps the access records too).
    Authorized(gp_core::AccessGuard),
    /// The slot exists and has no live booking.
    SlotFree(SlotId),
    /// The booking exists and is not cancelled.
    BookingLive(BookingId),
    /// The patient's live bookings starting at or after `since` are exactly these.
    HoldingsUnchanged {
        /// The patient.
        patient: PatientId,
        /// From when holdings count.
        since: DateTime<Utc>,
        /// The live bookings the decision saw.
        bookings: BTreeSet<BookingId>,
    },
    /// The live bookings made by this organisation starting at or after
    /// `since` are exactly `bookings` (its cap was counted on them).
    OrganisationHoldingsUnchanged {
        /// The organisation.
        organisation: OdsCode,
        /// From when its bookings count.
        since: DateTime<Utc>,
        /// Its live bookings then.
        bookings: BTreeSet<BookingId>,
    },
    /// The booking is live and amended exactly this many times (no one
    /// amended or cancelled it since it was read).
    BookingUnchanged {
        /// The booking.
        booking: BookingId,
        /// Its amendments when read.
        amendments: u32,
    },
}

impl fmt::Display for Precondition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Precondition::SlotFree(slot) => write!(f, "slot {slot} is no longer free"),
            Precondition::BookingLive(booking) => write!(f, "booking {booking} is no longer live"),
            Precondition::HoldingsUnchanged { patient, .. } => {
                write!(f, "patient {patient}'s appointments changed")
            }
            Precondition::PolicyUnchanged { .. } => f.write_str("the booking policy changed"),
            Precondition::OrganisationHoldingsUnchanged { organisation, .. } => {
                write!(f, "organisation {organisation}'s appointments changed")
            }
            Precondition::BookingUnchanged { booking, .. } => {
                write!(f, "booking {booking} changed")
            }
            Precondition::Authorized(guard) => guard.fmt(f),
        }
    }
}

/// The change a decision makes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum BookingChange {
    /// Store a new booking.
    Book(Booking),
    /// Cancel a booking.
    Cancel {
        /// The booking.
        booking: BookingId,
        /// The cancellation.
        cancellation: Cancellation,
    },
    /// Store a new booking policy.
    Policy(BookingPolicy),
    /// Cancel one booking and store another, together.
    Reschedule {
        /// The booking cancelled.
        cancel: BookingId,
        /// Its cancellation.
        cancellation: Cancellation,
        /// The new booking.
        book: Booking,
    },
    /// A booking's description and comment changed (its amendments one
    /// more); the booking as it now stands.
    Amend(Booking),
    /// One appointment of several adjacent slots: the first booking (the
    /// appointment), then one booking per further slot joined to it
    /// (`Booking::joined_to`), stored together or not at all.
    BookAdjacent(Vec<Booking>),
}

/// An allowed booking decision: the change, its audit events and the
/// preconditions under which it may be committed.
pub type Committable = gp_core::Committable<BookingChange, Precondition>;

/// A refused booking decision: the reason and the event recording it.
pub type Refusal = gp_core::Refusal<BookingRefusal>;

/// What a booking, cancellation, reschedule or policy decision came to.
pub type Decision = gp_core::Decision<BookingChange, Precondition, BookingRefusal>;

/// Audit action of a booking policy change.
pub const ACTION_POLICY: &str = "appointment.policy";
