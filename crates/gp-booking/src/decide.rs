//! Pure booking decisions: facts and `now` in, a decision value out. No I/O.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use gp_core::{
    age_on, local_date, Actor, AuditAction, AuditEvent, BookingId, Channel, IdSource, Outcome,
    PatientId, Reason, SlotId, StaffId, StaffRole, SubjectKind,
};
use serde::{Deserialize, Serialize};

use crate::booking::{
    Booking, BookingComment, BookingDescription, Cancellation, CancellationReason, Holding,
    OverrideReason,
};
use crate::policy::{
    BeforeRegistration, BookingPolicy, HoldingPeriod, OnlinePatients, UrgentSlots,
};
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
}

/// The facts a cancellation needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CancelFacts {
    /// The booking, if it exists.
    pub booking: Option<Booking>,
    /// Its slot.
    pub slot: Option<Slot>,
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
}

/// An allowed booking decision: the change, its audit events and the
/// preconditions under which it may be committed.
pub type Committable = gp_core::Committable<BookingChange, Precondition>;

/// A refused booking decision: the reason and the event recording it.
pub type Refusal = gp_core::Refusal<BookingRefusal>;

/// What a booking, cancellation, reschedule or policy decision came to.
pub type Decision = gp_core::Decision<BookingChange, Precondition, BookingRefusal>;

struct Ctx<'a> {
    ids: &'a dyn IdSource,
    now: DateTime<Utc>,
    actor: Actor,
    channel: Channel,
    patient: Option<PatientId>,
    action: &'static str,
}

impl Ctx<'_> {
    fn event(&self, outcome: Outcome) -> AuditEvent {
        let mut e = AuditEvent::new(
            self.ids,
            self.now,
            self.actor,
            self.channel,
            self.patient,
            AuditAction::known(self.action),
            outcome,
        );
        if let Some(p) = self.patient {
            e = e.with_subject(SubjectKind::Patient, p);
        }
        e
    }

    fn refuse(&self, reason: BookingRefusal, subjects: &[(SubjectKind, uuid::Uuid)]) -> Refusal {
        let mut event = self.event(Outcome::Refused(reason.reason_code()));
        for (kind, id) in subjects {
            event = event.with_subject(*kind, *id);
        }
        Refusal::new(reason, event)
    }
}

/// Whether the online rules apply: a patient or proxy acting online. Staff and
/// the system follow the staff rules.
fn is_online_actor(actor: &Actor) -> bool {
    matches!(actor, Actor::Patient { .. } | Actor::Proxy { .. })
}

/// Checks that the actor may use the channel and act for the patient.
fn check_actor(
    actor: &Actor,
    channel: Channel,
    patient: Option<PatientId>,
    system_allowed: bool,
) -> Result<(), BookingRefusal> {
    if !actor.may_use(channel) || (*actor == Actor::System && !system_allowed) {
        return Err(BookingRefusal::ChannelNotAllowed);
    }
    if actor.speaks_for().is_some() && patient.is_some() && actor.speaks_for() != patient {
        return Err(BookingRefusal::ActorNotForPatient);
    }
    Ok(())
}

/// The patient-level online rules (regular patients, minimum age, registration).
fn check_online_patient(
    policy: &BookingPolicy,
    actor: &Actor,
    patient: &PatientFacts,
    holdings: Option<&[Holding]>,
    today: NaiveDate,
) -> Result<(), BookingRefusal> {
    let s = policy.settings();
    if s.online_patients == OnlinePatients::RegularOnly
        && patient.registration != crate::Registration::Regular
    {
        return Err(BookingRefusal::NotRegularPatient);
    }
    // Age and registration are about the patient acting for themselves; a
    // proxy's own standing is checked by the access rules.
    if let Actor::Patient { .. } = actor {
        if let Some(minimum) = s.minimum_online_age {
            if age_on(patient.date_of_birth, today) < minimum {
                return Err(BookingRefusal::BelowMinimumAge { minimum });
            }
        }
        if patient.online == OnlineRegistration::NotRegistered {
            match s.before_registration {
                BeforeRegistration::Refuse => return Err(BookingRefusal::NotRegisteredForOnline),
                BeforeRegistration::AllowOne => {
                    if holdings.is_some_and(|h| h.iter().any(|h| h.channel == Channel::Online)) {
                        return Err(BookingRefusal::PreRegistrationBookingUsed);
                    }
                }
            }
        }
    }
    Ok(())
}

/// Why `slot` is not offered to online actors at `now`, if it is not.
pub fn online_slot_refusal(
    policy: &BookingPolicy,
    slot: &Slot,
    now: DateTime<Utc>,
) -> Option<BookingRefusal> {
    let s = policy.settings();
    if slot.start() <= now {
        return Some(BookingRefusal::SlotInPast);
    }
    let horizon_days = s.online_booking_horizon_days;
    let last_day = local_date(now).checked_add_days(chrono::Days::new(u64::from(horizon_days)));
    if last_day.is_none_or(|last| local_date(slot.start()) > last) {
        return Some(BookingRefusal::BeyondBookingHorizon { horizon_days });
    }
    if slot.reserved_for.is_some() {
        return Some(BookingRefusal::ReservedForTriage);
    }
    if slot.slot_type == SlotType::Urgent && s.urgent_slots == UrgentSlots::StaffOnly {
        return Some(BookingRefusal::UrgentSlotNotOnline);
    }
    if !s.online_roles.contains(&slot.role) {
        return Some(BookingRefusal::RoleNotOnline);
    }
    if s.clinicians_not_online.contains(&slot.clinician) {
        return Some(BookingRefusal::ClinicianNotOnline);
    }
    if slot.slot_type != SlotType::Urgent && !s.online_slot_types.contains(&slot.slot_type) {
        return Some(BookingRefusal::SlotTypeNotOnline);
    }
    if let Some(release_at) = policy.online_release_at(slot).filter(|r| *r > now) {
        return Some(BookingRefusal::NotReleasedYet { release_at });
    }
    None
}

/// Why `slot` may not be booked by staff at `now`, if it may not.
pub fn staff_slot_refusal(
    policy: &BookingPolicy,
    slot: &Slot,
    now: DateTime<Utc>,
) -> Option<BookingRefusal> {
    if slot.start() <= now {
        return Some(BookingRefusal::SlotInPast);
    }
    if let Some(release_at) = policy.telephone_release_at(slot).filter(|r| *r > now) {
        return Some(BookingRefusal::NotReleasedYet { release_at });
    }
    None
}

fn slot_refusal(
    policy: &BookingPolicy,
    actor: &Actor,
    slot: &Slot,
    now: DateTime<Utc>,
) -> Option<BookingRefusal> {
    if is_online_actor(actor) {
        online_slot_refusal(policy, slot, now)
    } else {
        staff_slot_refusal(policy, slot, now)
    }
}

/// Whether booking a slot starting at `start` keeps the patient within the limit,
/// given the live bookings `others` (not including the one being replaced).
fn within_holding_limit(
    policy: &BookingPolicy,
    start: DateTime<Utc>,
    others: &[DateTime<Utc>],
) -> Result<(), BookingRefusal> {
    let Some(limit) = policy.settings().holding_limit else {
        return Ok(());
    };
    let refused = BookingRefusal::HoldingLimitReached { limit: limit.max };
    let count_with_new = |from: DateTime<Utc>, to: DateTime<Utc>| -> u64 {
        1 + others.iter().filter(|s| **s >= from && **s < to).count() as u64
    };
    let over = match limit.period {
        HoldingPeriod::AllFuture => others.len() as u64 + 1 > u64::from(limit.max),
        HoldingPeriod::RollingDays(days) => {
            let span = Duration::days(i64::from(days));
            // The busiest window of `span` containing `start` begins at `start`
            // or at one of the other bookings just before it.
            std::iter::once(start)
                .chain(
                    others
                        .iter()
                        .copied()
                        .filter(|s| *s <= start && *s > start - span),
                )
                .any(|from| count_with_new(from, from + span) > u64::from(limit.max))
        }
    };
    if over {
        Err(refused)
    } else {
        Ok(())
    }
}

/// Decides what `request` may see: the free slots meeting its query that this
/// actor may book through this channel at `now`, in order of start.
///
/// `candidates` are the slots a store found for the query; the decision
/// filters them again, so a store that returns too much cannot widen what an
/// actor sees. A refusal (for example a search window wider than the practice
/// allows online) comes with its audit event.
pub fn search(
    policy: &BookingPolicy,
    request: &SearchRequest,
    candidates: &[SlotState],
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Vec<Slot>, Box<Refusal>> {
    let patient = request.patient.map(|p| p.patient);
    let ctx = Ctx {
        ids,
        now,
        actor: request.actor,
        channel: request.channel,
        patient,
        action: ACTION_SEARCH,
    };
    let online = is_online_actor(&request.actor);
    let check = || -> Result<(), BookingRefusal> {
        check_actor(&request.actor, request.channel, patient, false)?;
        if request.query.to <= request.query.from {
            return Err(BookingRefusal::SearchRangeEmpty);
        }
        if online {
            let facts = request
                .patient
                .as_ref()
                .ok_or(BookingRefusal::ActorNotForPatient)?;
            let max_days = policy.settings().online_search_window_days;
            if request.query.to - request.query.from > Duration::days(i64::from(max_days)) {
                return Err(BookingRefusal::SearchWindowTooWide { max_days });
            }
            check_online_patient(policy, &request.actor, facts, None, local_date(now))?;
        }
        Ok(())
    };
    check().map_err(|reason| Box::new(ctx.refuse(reason, &[])))?;
    let mut hits: Vec<Slot> = candidates
        .iter()
        .filter(|c| c.live_booking.is_none() && request.query.matches(&c.slot))
        .filter(|c| slot_refusal(policy, &request.actor, &c.slot, now).is_none())
        .map(|c| c.slot.clone())
        .collect();
    hits.sort_by_key(|s| (s.start(), s.id));
    Ok(hits)
}

/// The checks a new booking must pass, shared by book and reschedule.
/// `holdings` excludes any booking being replaced. Allowed, it answers with
/// the staff override reason if the booking needed it to pass the holding limit.
fn check_new_booking<'r>(
    policy: &BookingPolicy,
    actor: &Actor,
    facts: &BookFacts,
    holdings: &[Holding],
    override_reason: Option<&'r OverrideReason>,
    now: DateTime<Utc>,
) -> Result<Option<&'r OverrideReason>, BookingRefusal> {
    let online = is_online_actor(actor);
    if online {
        if override_reason.is_some() {
            return Err(BookingRefusal::OverrideNotPermitted);
        }
        check_online_patient(
            policy,
            actor,
            &facts.patient,
            Some(holdings),
            local_date(now),
        )?;
    }
    let state = facts.slot.as_ref().ok_or(BookingRefusal::SlotNotFound)?;
    if let Some(reason) = slot_refusal(policy, actor, &state.slot, now) {
        return Err(reason);
    }
    if state.live_booking.is_some() {
        return Err(BookingRefusal::SlotTaken);
    }
    let starts: Vec<DateTime<Utc>> = holdings.iter().map(|h| h.start).collect();
    match within_holding_limit(policy, state.slot.start(), &starts) {
        Ok(()) => Ok(None),
        Err(_) if !online && override_reason.is_some() => Ok(override_reason),
        Err(refused) => Err(refused),
    }
}

/// Records a holding-limit override on the booking and in its event.
fn record_override(
    booking: &mut Booking,
    event: AuditEvent,
    used: Option<&OverrideReason>,
) -> AuditEvent {
    match used {
        Some(reason) => {
            booking.holding_limit_override = Some(reason.clone());
            event.with_detail("holding_limit_override", reason.as_str())
        }
        None => event,
    }
}

fn new_booking(
    ids: &dyn IdSource,
    actor: Actor,
    channel: Channel,
    patient: PatientId,
    slot: SlotId,
    now: DateTime<Utc>,
) -> Booking {
    Booking {
        id: BookingId::new(ids),
        slot,
        patient,
        booked_by: actor,
        channel,
        booked_at: now,
        description: None,
        comment: None,
        holding_limit_override: None,
        cancellation: None,
    }
}

fn holdings_precondition(facts: &BookFacts) -> Precondition {
    Precondition::HoldingsUnchanged {
        patient: facts.patient.patient,
        since: facts.holdings_since,
        bookings: facts.holdings.iter().map(|h| h.booking).collect(),
    }
}

/// Decides whether `request` may book its slot at `now`.
///
/// Online actors (a patient or proxy) meet every online rule of the policy;
/// staff meet only the rules for every channel (the slot exists, has not
/// started, is released for telephone booking, is free) and the holding limit,
/// which they may override with a reason that is recorded and audited.
pub fn decide_book(
    policy: &BookingPolicy,
    facts: &BookFacts,
    request: &BookRequest,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let ctx = Ctx {
        ids,
        now,
        actor: request.actor,
        channel: request.channel,
        patient: Some(request.patient),
        action: ACTION_BOOK,
    };
    let slot_subject = [(SubjectKind::Slot, request.slot.as_uuid())];
    let checked = check_actor(
        &request.actor,
        request.channel,
        Some(request.patient),
        false,
    )
    .and_then(|()| {
        if facts.patient.patient == request.patient {
            Ok(())
        } else {
            Err(BookingRefusal::ActorNotForPatient)
        }
    })
    .and_then(|()| {
        check_new_booking(
            policy,
            &request.actor,
            facts,
            &facts.holdings,
            request.holding_limit_override.as_ref(),
            now,
        )
    });
    let used_override = match checked {
        Ok(used) => used,
        Err(reason) => return Decision::Refused(ctx.refuse(reason, &slot_subject)),
    };
    let mut booking = new_booking(
        ids,
        request.actor,
        request.channel,
        request.patient,
        request.slot,
        now,
    );
    booking.description = request.description.clone();
    booking.comment = request.comment.clone();
    let event = ctx
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Slot, request.slot)
        .with_subject(SubjectKind::Booking, booking.id);
    let mut event = record_override(&mut booking, event, used_override);
    if is_online_actor(&request.actor) && facts.patient.online == OnlineRegistration::NotRegistered
    {
        event = event.with_detail("before_online_registration", "true");
    }
    Decision::Allowed(Committable {
        change: BookingChange::Book(booking),
        events: vec![event],
        preconditions: vec![
            Precondition::SlotFree(request.slot),
            holdings_precondition(facts),
        ],
    })
}

/// The checks a cancellation must pass, shared by cancel and reschedule.
fn check_cancel<'f>(
    policy: &BookingPolicy,
    actor: &Actor,
    channel: Channel,
    facts: &'f CancelFacts,
    now: DateTime<Utc>,
    system_allowed: bool,
) -> Result<&'f Booking, BookingRefusal> {
    check_actor(actor, channel, None, system_allowed)?;
    let booking = facts
        .booking
        .as_ref()
        .ok_or(BookingRefusal::BookingNotFound)?;
    if is_online_actor(actor) && actor.speaks_for() != Some(booking.patient) {
        return Err(BookingRefusal::NotYourBooking);
    }
    if !booking.is_live() {
        return Err(BookingRefusal::AlreadyCancelled);
    }
    let slot = facts.slot.as_ref().ok_or(BookingRefusal::SlotNotFound)?;
    if slot.start() <= now {
        return Err(BookingRefusal::SlotInPast);
    }
    if is_online_actor(actor) {
        let cutoff_minutes = policy.settings().online_cancellation_cutoff_minutes;
        if now > slot.start() - Duration::minutes(i64::from(cutoff_minutes)) {
            return Err(BookingRefusal::CancellationCutoffPassed { cutoff_minutes });
        }
    }
    Ok(booking)
}

/// Decides whether `request` may cancel its booking at `now`.
///
/// Patients and proxies may cancel only their own (or their patient's)
/// bookings, online, before the practice's online cut-off; staff (and the
/// system, on the internal channel) until the appointment starts.
pub fn decide_cancel(
    policy: &BookingPolicy,
    facts: &CancelFacts,
    request: &CancelRequest,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let patient = facts.booking.as_ref().map(|b| b.patient);
    let ctx = Ctx {
        ids,
        now,
        actor: request.actor,
        channel: request.channel,
        patient,
        action: ACTION_CANCEL,
    };
    let booking_subject = [(SubjectKind::Booking, request.booking.as_uuid())];
    let booking = match check_cancel(policy, &request.actor, request.channel, facts, now, true) {
        Ok(b) => b,
        Err(reason) => return Decision::Refused(ctx.refuse(reason, &booking_subject)),
    };
    let event = ctx
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Booking, booking.id)
        .with_subject(SubjectKind::Slot, booking.slot)
        .with_detail("reason", request.reason.as_str());
    Decision::Allowed(Committable {
        change: BookingChange::Cancel {
            booking: booking.id,
            cancellation: Cancellation {
                by: request.actor,
                channel: request.channel,
                at: now,
                reason: request.reason.clone(),
            },
        },
        events: vec![event],
        preconditions: vec![Precondition::BookingLive(booking.id)],
    })
}

/// Decides whether `request` may move its booking to another slot at `now`:
/// the old booking must be cancellable and the new slot bookable by this actor
/// (the old booking does not count against the holding limit). Allowed, the
/// change cancels and books together.
pub fn decide_reschedule(
    policy: &BookingPolicy,
    facts: &RescheduleFacts,
    request: &RescheduleRequest,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let patient = facts.current.booking.as_ref().map(|b| b.patient);
    let ctx = Ctx {
        ids,
        now,
        actor: request.actor,
        channel: request.channel,
        patient,
        action: ACTION_RESCHEDULE,
    };
    let subjects = [
        (SubjectKind::Booking, request.booking.as_uuid()),
        (SubjectKind::Slot, request.new_slot.as_uuid()),
    ];
    let old = match check_cancel(
        policy,
        &request.actor,
        request.channel,
        &facts.current,
        now,
        false,
    ) {
        Ok(b) => b,
        Err(reason) => return Decision::Refused(ctx.refuse(reason, &subjects)),
    };
    let others: Vec<Holding> = facts
        .new
        .holdings
        .iter()
        .filter(|h| h.booking != old.id)
        .copied()
        .collect();
    let checked = if old.slot == request.new_slot {
        Err(BookingRefusal::SameSlot)
    } else if facts.new.patient.patient != old.patient {
        Err(BookingRefusal::ActorNotForPatient)
    } else {
        check_new_booking(
            policy,
            &request.actor,
            &facts.new,
            &others,
            request.holding_limit_override.as_ref(),
            now,
        )
    };
    let used_override = match checked {
        Ok(used) => used,
        Err(reason) => return Decision::Refused(ctx.refuse(reason, &subjects)),
    };
    let mut booking = new_booking(
        ids,
        request.actor,
        request.channel,
        old.patient,
        request.new_slot,
        now,
    );
    booking.description = old.description.clone();
    booking.comment = old.comment.clone();
    let event = ctx
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Booking, old.id)
        .with_subject(SubjectKind::Slot, old.slot)
        .with_subject(SubjectKind::Booking, booking.id)
        .with_subject(SubjectKind::Slot, request.new_slot)
        .with_detail("reason", request.reason.as_str());
    let event = record_override(&mut booking, event, used_override);
    Decision::Allowed(Committable {
        change: BookingChange::Reschedule {
            cancel: old.id,
            cancellation: Cancellation {
                by: request.actor,
                channel: request.channel,
                at: now,
                reason: request.reason.clone(),
            },
            book: booking,
        },
        events: vec![event],
        preconditions: vec![
            Precondition::BookingLive(old.id),
            Precondition::SlotFree(request.new_slot),
            holdings_precondition(&facts.new),
        ],
    })
}

/// Audit action of a booking policy change.
pub const ACTION_POLICY: &str = "appointment.policy";

/// Decides a new booking policy, by a member of staff. Which members of
/// staff may is the practice's access rule (in `gp-access`: the practice
/// manager or a lead); this crate's floor is staff only. The event records
/// the new settings; the change commits only while the stored policy is
/// still the one the decision saw.
pub fn decide_policy(
    current: &PolicyFacts,
    actor: Actor,
    channel: Channel,
    policy: &BookingPolicy,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let ctx = Ctx {
        ids,
        now,
        actor,
        channel,
        patient: None,
        action: ACTION_POLICY,
    };
    if !actor.may_use(channel) {
        return Decision::Refused(ctx.refuse(BookingRefusal::ChannelNotAllowed, &[]));
    }
    if !matches!(actor, Actor::Staff { .. }) {
        return Decision::Refused(ctx.refuse(BookingRefusal::StaffOnly, &[]));
    }
    let event = ctx
        .event(Outcome::Allowed)
        .with_detail("previous_version", current.version.to_string())
        .with_detail("settings", format!("{:?}", policy.settings()));
    Decision::Allowed(Committable {
        change: BookingChange::Policy(policy.clone()),
        events: vec![event],
        preconditions: vec![Precondition::PolicyUnchanged {
            version: current.version,
        }],
    })
}
