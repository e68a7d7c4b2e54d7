//! Why the booking policy says no: stable reason codes with readable messages.

use std::fmt;

use chrono::{DateTime, Utc};
use gp_core::{to_local, Reason};
use serde::{Deserialize, Serialize};

/// A refusal by the booking policy. Each variant has a stable code
/// ([`Reason::code`], the variant's name) and a message for the person refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum BookingRefusal {
    /// No slot with that identifier exists.
    SlotNotFound,
    /// The slot already has a live booking.
    SlotTaken,
    /// The appointment has already started (or finished).
    SlotInPast,
    /// The slot is held back and not yet released for this channel.
    NotReleasedYet {
        /// When it will be released.
        release_at: DateTime<Utc>,
    },
    /// Urgent slots are booked by staff only.
    UrgentSlotNotOnline,
    /// The slot is kept for telephone triage or digital-consultation follow-up.
    ReservedForTriage,
    /// This role's appointments are not offered online.
    RoleNotOnline,
    /// This type of appointment is not offered online.
    SlotTypeNotOnline,
    /// This clinician's appointments are not offered online.
    ClinicianNotOnline,
    /// Only regular patients may book online.
    NotRegularPatient,
    /// The patient is younger than the practice's minimum age for online booking.
    BelowMinimumAge {
        /// The minimum age.
        minimum: u32,
    },
    /// The patient has not registered for online services.
    NotRegisteredForOnline,
    /// The one booking allowed before registering for online services is in use.
    PreRegistrationBookingUsed,
    /// The patient already holds as many appointments as the practice allows.
    HoldingLimitReached {
        /// The limit.
        limit: u32,
    },
    /// Only staff may book beyond the holding limit.
    OverrideNotPermitted,
    /// The actor may not act for this patient.
    ActorNotForPatient,
    /// This actor may not act through this channel (for example a patient on a
    /// staff channel, or the system booking).
    ChannelNotAllowed,
    /// An online search asked for a longer span than the practice allows.
    SearchWindowTooWide {
        /// The most days allowed.
        max_days: u32,
    },
    /// A search's end was not after its start.
    SearchRangeEmpty,
    /// No booking with that identifier exists.
    BookingNotFound,
    /// The booking was already cancelled.
    AlreadyCancelled,
    /// The booking belongs to another patient.
    NotYourBooking,
    /// It is too close to the start to cancel online.
    CancellationCutoffPassed {
        /// Minutes before the start at which online cancellation closes.
        cutoff_minutes: u32,
    },
    /// A reschedule named the slot already booked.
    SameSlot,
    /// The slot is further ahead than the practice lets patients book online.
    BeyondBookingHorizon {
        /// How many days ahead patients may book online.
        horizon_days: u32,
    },
    /// Only staff may do this (change the booking policy).
    StaffOnly,
    /// The slot is not open to booking by this organisation (its type is
    /// not opened to organisations, or not to this one's type or code, or
    /// it is kept for triage).
    NotBookableByOrganisation,
    /// The organisation already holds as many of the practice's
    /// appointments as the practice allows one organisation.
    OrganisationCapReached {
        /// The cap.
        cap: u32,
    },
    /// The slot starts too soon for another organisation to book it.
    InsideOrganisationEmbargo {
        /// Minutes before the start at which organisation booking closes.
        minutes: u32,
    },
    /// Patients and proxies cannot amend an appointment (they cancel and
    /// book again).
    AmendNotOnline,
    /// The slots of one appointment are not adjacent: they must run one
    /// after another, without a gap, in one session, with one delivery mode
    /// and one slot type (GP Connect's rule), each named once.
    SlotsNotAdjacent,
    /// The booking is part of an appointment of several slots: it is
    /// cancelled or changed as a whole (cancel it and book again), not a
    /// slot at a time, and not moved.
    AppointmentOfSeveralSlots,
    /// The booking changed since the version the request was written
    /// against.
    BookingChanged {
        /// The version the request named.
        expected: u64,
        /// The booking's version now.
        current: u64,
    },
}

impl Reason for BookingRefusal {
    fn code(&self) -> &'static str {
        match self {
            BookingRefusal::SlotNotFound => "SlotNotFound",
            BookingRefusal::SlotTaken => "SlotTaken",
            BookingRefusal::SlotInPast => "SlotInPast",
            BookingRefusal::NotReleasedYet { .. } => "NotReleasedYet",
            BookingRefusal::UrgentSlotNotOnline => "UrgentSlotNotOnline",
            BookingRefusal::ReservedForTriage => "ReservedForTriage",
            BookingRefusal::RoleNotOnline => "RoleNotOnline",
            BookingRefusal::SlotTypeNotOnline => "SlotTypeNotOnline",
            BookingRefusal::ClinicianNotOnline => "ClinicianNotOnline",
            BookingRefusal::NotRegularPatient => "NotRegularPatient",
            BookingRefusal::BelowMinimumAge { .. } => "BelowMinimumAge",
            BookingRefusal::NotRegisteredForOnline => "NotRegisteredForOnline",
            BookingRefusal::PreRegistrationBookingUsed => "PreRegistrationBookingUsed",
            BookingRefusal::HoldingLimitReached { .. } => "HoldingLimitReached",
            BookingRefusal::OverrideNotPermitted => "OverrideNotPermitted",
            BookingRefusal::ActorNotForPatient => "ActorNotForPatient",
            BookingRefusal::ChannelNotAllowed => "ChannelNotAllowed",
            BookingRefusal::SearchWindowTooWide { .. } => "SearchWindowTooWide",
            BookingRefusal::SearchRangeEmpty => "SearchRangeEmpty",
            BookingRefusal::BookingNotFound => "BookingNotFound",
            BookingRefusal::AlreadyCancelled => "AlreadyCancelled",
            BookingRefusal::NotYourBooking => "NotYourBooking",
            BookingRefusal::CancellationCutoffPassed { .. } => "CancellationCutoffPassed",
            BookingRefusal::SameSlot => "SameSlot",
            BookingRefusal::BeyondBookingHorizon { .. } => "BeyondBookingHorizon",
            BookingRefusal::StaffOnly => "StaffOnly",
            BookingRefusal::NotBookableByOrganisation => "NotBookableByOrganisation",
            BookingRefusal::OrganisationCapReached { .. } => "OrganisationCapReached",
            BookingRefusal::InsideOrganisationEmbargo { .. } => "InsideOrganisationEmbargo",
            BookingRefusal::AmendNotOnline => "AmendNotOnline",
            BookingRefusal::BookingChanged { .. } => "BookingChanged",
            BookingRefusal::SlotsNotAdjacent => "SlotsNotAdjacent",
            BookingRefusal::AppointmentOfSeveralSlots => "AppointmentOfSeveralSlots",
        }
    }
}

impl fmt::Display for BookingRefusal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BookingRefusal::SlotNotFound => f.write_str("that appointment slot does not exist"),
            BookingRefusal::SlotTaken => f.write_str("that appointment has just been booked by someone else"),
            BookingRefusal::SlotInPast => f.write_str("that appointment has already started"),
            BookingRefusal::NotReleasedYet { release_at } => write!(
                f,
                "that appointment is not available to book yet; it opens at {}",
                to_local(*release_at).format("%H:%M on %A %-d %B %Y")
            ),
            BookingRefusal::UrgentSlotNotOnline => {
                f.write_str("urgent appointments are booked by the practice; please telephone")
            }
            BookingRefusal::ReservedForTriage => {
                f.write_str("that appointment is kept for patients the practice calls back after triage")
            }
            BookingRefusal::RoleNotOnline => f.write_str("the practice does not offer this kind of clinician's appointments online"),
            BookingRefusal::SlotTypeNotOnline => f.write_str("the practice does not offer this type of appointment online"),
            BookingRefusal::ClinicianNotOnline => f.write_str("this clinician's appointments are not offered online"),
            BookingRefusal::NotRegularPatient => {
                f.write_str("online booking is for patients registered at the practice as regular patients")
            }
            BookingRefusal::BelowMinimumAge { minimum } => {
                write!(f, "patients must be {minimum} or over to book online at this practice")
            }
            BookingRefusal::NotRegisteredForOnline => f.write_str("please register for online services to book online"),
            BookingRefusal::PreRegistrationBookingUsed => f.write_str(
                "you already have the one appointment allowed before registering for online services",
            ),
            BookingRefusal::HoldingLimitReached { limit } => {
                write!(f, "the practice allows at most {limit} booked appointments at a time")
            }
            BookingRefusal::OverrideNotPermitted => f.write_str("only practice staff may book beyond the appointment limit"),
            BookingRefusal::ActorNotForPatient => f.write_str("you cannot book or cancel for this patient"),
            BookingRefusal::ChannelNotAllowed => f.write_str("this action cannot be taken through this channel"),
            BookingRefusal::SearchWindowTooWide { max_days } => {
                write!(f, "a search may cover at most {max_days} days")
            }
            BookingRefusal::SearchRangeEmpty => f.write_str("a search must end after it starts"),
            BookingRefusal::BookingNotFound => f.write_str("that booking does not exist"),
            BookingRefusal::AlreadyCancelled => f.write_str("that appointment is already cancelled"),
            BookingRefusal::NotYourBooking => f.write_str("that appointment is not one of yours"),
            BookingRefusal::CancellationCutoffPassed { cutoff_minutes } => write!(
                f,
                "appointments cannot be cancelled online in the last {cutoff_minutes} minutes; please telephone the practice"
            ),
            BookingRefusal::SameSlot => f.write_str("that is the appointment already booked"),
            BookingRefusal::BeyondBookingHorizon { horizon_days } => write!(
                f,
                "appointments can be booked online up to {horizon_days} days ahead; please telephone the practice for a later one"
            ),
            BookingRefusal::StaffOnly => f.write_str("only practice staff may do this"),
            BookingRefusal::NotBookableByOrganisation => {
                f.write_str("the practice has not opened that appointment to booking by your organisation")
            }
            BookingRefusal::OrganisationCapReached { cap } => write!(
                f,
                "the practice allows one organisation at most {cap} booked appointments at a time"
            ),
            BookingRefusal::InsideOrganisationEmbargo { minutes } => write!(
                f,
                "other organisations cannot book an appointment in the last {minutes} minutes before it starts"
            ),
            BookingRefusal::AmendNotOnline => f.write_str(
                "appointments cannot be changed online; cancel it and book another",
            ),
            BookingRefusal::SlotsNotAdjacent => f.write_str(
                "the slots of one appointment must follow one another in one session, with the same type and delivery",
            ),
            BookingRefusal::AppointmentOfSeveralSlots => f.write_str(
                "that is part of an appointment of several slots: cancel the whole appointment, and book again to change it",
            ),
            BookingRefusal::BookingChanged { expected, current } => write!(
                f,
                "the appointment changed since it was read (version {expected}; it is now version {current}); read it again"
            ),
        }
    }
}
