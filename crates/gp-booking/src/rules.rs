//! The checks every booking decision shares: who may act through which
//! channel, the patient-level online rules, which slots are offered to whom,
//! the holding limit, and how a booking or its refusal is recorded.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use gp_core::{
    age_on, local_date, Actor, AuditEvent, BookingId, Channel, IdSource, Outcome, PatientId,
    Reason, SlotId, SubjectKind,
};

use crate::booking::{Booking, Holding, OverrideReason};
use crate::policy::{
    BeforeRegistration, BookingPolicy, HoldingPeriod, OnlinePatients, UrgentSlots,
};
use crate::refusal::BookingRefusal;
use crate::schedule::{Slot, SlotType};

use crate::decision::*;

pub(crate) struct Ctx<'a> {
    pub(crate) ids: &'a dyn IdSource,
    pub(crate) now: DateTime<Utc>,
    pub(crate) actor: Actor,
    pub(crate) channel: Channel,
    pub(crate) patient: Option<PatientId>,
    pub(crate) action: &'static str,
}

impl Ctx<'_> {
    pub(crate) fn event(&self, outcome: Outcome) -> AuditEvent {
        AuditEvent::decided(
            self.ids,
            self.now,
            self.actor,
            self.channel,
            self.patient,
            self.action,
            outcome,
        )
    }

    pub(crate) fn refuse(
        &self,
        reason: BookingRefusal,
        subjects: &[(SubjectKind, uuid::Uuid)],
    ) -> Refusal {
        let mut event = self.event(Outcome::Refused(reason.reason_code()));
        for (kind, id) in subjects {
            event = event.with_subject(*kind, *id);
        }
        Refusal::new(reason, event)
    }
}

/// Whether the online rules apply: a patient or proxy acting online. Staff and
/// the system follow the staff rules.
pub(crate) fn is_online_actor(actor: &Actor) -> bool {
    matches!(actor, Actor::Patient { .. } | Actor::Proxy { .. })
}

/// Checks that the actor may use the channel and act for the patient.
pub(crate) fn check_actor(
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
pub(crate) fn check_online_patient(
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
        if !patient.online.is_registered() {
            match s.before_registration {
                BeforeRegistration::Refuse => return Err(BookingRefusal::NotRegisteredForOnline),
                BeforeRegistration::AllowOne => {
                    // One booking, ever: a cancelled or past one counts too
                    // (the facts say so), and a live one in the holdings
                    // counts even when the facts were read before it.
                    let booked_before = patient.online
                        == OnlineRegistration::NotRegisteredBookedOnline
                        || holdings.is_some_and(|h| h.iter().any(|h| h.channel == Channel::Online));
                    if booked_before {
                        return Err(BookingRefusal::PreRegistrationBookingUsed);
                    }
                }
            }
        }
    }
    Ok(())
}

/// `BeyondBookingHorizon` when `slot`'s local date is later than today
/// plus `horizon_days` (practice-local dates).
fn beyond_horizon(slot: &Slot, now: DateTime<Utc>, horizon_days: u32) -> Option<BookingRefusal> {
    let last_day = local_date(now).checked_add_days(chrono::Days::new(u64::from(horizon_days)));
    last_day
        .is_none_or(|last| local_date(slot.start()) > last)
        .then_some(BookingRefusal::BeyondBookingHorizon { horizon_days })
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
    if let Some(beyond) = beyond_horizon(slot, now, s.online_booking_horizon_days) {
        return Some(beyond);
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

/// Why `slot` is not offered to the organisation `ods` of type `kind` at
/// `now` (GP Connect booking), if it is not: it has started, is beyond the
/// organisation horizon, is kept for triage, its type is not opened to this
/// organisation, it starts inside the embargo, or it is not released yet
/// (for booking by staff, or, when ringfenced, for online booking).
pub fn organisation_slot_refusal(
    policy: &BookingPolicy,
    ods: gp_core::OdsCode,
    kind: gp_core::OrganisationType,
    slot: &Slot,
    now: DateTime<Utc>,
) -> Option<BookingRefusal> {
    let s = policy.settings();
    if slot.start() <= now {
        return Some(BookingRefusal::SlotInPast);
    }
    if let Some(beyond) = beyond_horizon(slot, now, s.organisation_booking_horizon_days) {
        return Some(beyond);
    }
    if slot.reserved_for.is_some()
        || !policy
            .organisation_slots(slot)
            .is_some_and(|o| o.admits(ods, kind))
    {
        return Some(BookingRefusal::NotBookableByOrganisation);
    }
    let minutes = s.organisation_embargo_minutes;
    let closes = slot
        .start()
        .checked_sub_signed(Duration::minutes(i64::from(minutes)))
        .unwrap_or(DateTime::<Utc>::MIN_UTC);
    if now > closes {
        return Some(BookingRefusal::InsideOrganisationEmbargo { minutes });
    }
    // A ringfenced slot is held back for the practice's own patients until
    // its online release; other organisations wait for it too.
    let ringfence = match slot.availability {
        crate::schedule::SlotAvailability::Ringfenced => Some(s.ringfence_release.release_at(slot)),
        crate::schedule::SlotAvailability::Open => None,
    };
    if let Some(release_at) = policy
        .telephone_release_at(slot)
        .max(ringfence)
        .filter(|r| *r > now)
    {
        return Some(BookingRefusal::NotReleasedYet { release_at });
    }
    None
}

/// Whether a slot an organisation may book also matches what its search
/// said of it (GP Connect's `searchFilter` table): a slot restricted to
/// organisation types needs a matching type in the filter, one restricted
/// to codes a matching code; an unrestricted slot needs neither.
pub(crate) fn matches_filter(
    policy: &BookingPolicy,
    slot: &Slot,
    filter: &crate::OrganisationFilter,
) -> bool {
    policy
        .organisation_slots(slot)
        .is_some_and(|open| open.open_to(filter.ods, filter.kind))
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

pub(crate) fn slot_refusal(
    policy: &BookingPolicy,
    actor: &Actor,
    slot: &Slot,
    now: DateTime<Utc>,
) -> Option<BookingRefusal> {
    match *actor {
        Actor::Patient { .. } | Actor::Proxy { .. } => online_slot_refusal(policy, slot, now),
        Actor::Organisation { ods, kind, .. } => {
            organisation_slot_refusal(policy, ods, kind, slot, now)
        }
        _ => staff_slot_refusal(policy, slot, now),
    }
}

/// Whether booking a slot starting at `start` keeps the patient within the limit,
/// given the live bookings `others` (not including the one being replaced).
pub(crate) fn within_holding_limit(
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
            // or at one of the other bookings just before it. (Checked
            // arithmetic: a window past the ends of time is cut there.)
            let earliest = start
                .checked_sub_signed(span)
                .unwrap_or(DateTime::<Utc>::MIN_UTC);
            std::iter::once(start)
                .chain(
                    others
                        .iter()
                        .copied()
                        .filter(|s| *s <= start && *s > earliest),
                )
                .any(|from| {
                    let to = from
                        .checked_add_signed(span)
                        .unwrap_or(DateTime::<Utc>::MAX_UTC);
                    count_with_new(from, to) > u64::from(limit.max)
                })
        }
    };
    if over {
        Err(refused)
    } else {
        Ok(())
    }
}

/// Whether `more` new bookings keep an organisation within the practice's
/// cap, counting the live bookings it holds (`facts.organisation_holdings`;
/// unread, it is refused while there is a cap).
fn within_organisation_cap(
    policy: &BookingPolicy,
    facts: &BookFacts,
    more: usize,
) -> Result<(), BookingRefusal> {
    let Some(cap) = policy.settings().organisation_cap else {
        return Ok(());
    };
    let held = facts.organisation_holdings.as_ref().map(|h| h.len());
    if held.is_none_or(|n| n.saturating_add(more) > cap as usize) {
        return Err(BookingRefusal::OrganisationCapReached { cap });
    }
    Ok(())
}

/// The checks a new booking must pass, shared by book and reschedule.
/// `holdings` excludes any booking being replaced. Allowed, it answers with
/// the staff override reason if the booking needed it to pass the holding limit.
pub(crate) fn check_new_booking<'r>(
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
    if let Actor::Organisation { .. } = actor {
        if override_reason.is_some() {
            return Err(BookingRefusal::OverrideNotPermitted);
        }
        // The patient's holding limit is the online rule; another
        // organisation books for the patient's care, like staff, and is
        // bound by its own cap instead.
        within_organisation_cap(policy, facts, 1)?;
        return Ok(None);
    }
    let starts: Vec<DateTime<Utc>> = holdings.iter().map(|h| h.start).collect();
    match within_holding_limit(policy, state.slot.start(), &starts) {
        Ok(()) => Ok(None),
        Err(_) if !online && override_reason.is_some() => Ok(override_reason),
        Err(refused) => Err(refused),
    }
}

/// The further slots of a booking (`facts.adjacent`, for
/// `request.adjacent`), checked: each exists, is free and may be booked by
/// this actor; with the first they run one after another in one session,
/// with one delivery mode and one slot type, each named once; and the
/// patient's holding limit (or the organisation's cap) holds with all of
/// them. Answers every slot of the appointment in order of start, and the
/// override reason if one was needed.
pub(crate) fn check_adjacent<'r>(
    policy: &BookingPolicy,
    actor: &Actor,
    facts: &BookFacts,
    request: &'r crate::BookRequest,
    first: &Slot,
    now: DateTime<Utc>,
) -> Result<(Vec<Slot>, Option<&'r OverrideReason>), BookingRefusal> {
    if request.adjacent.len() >= crate::MAX_APPOINTMENT_SLOTS {
        return Err(BookingRefusal::SlotsNotAdjacent);
    }
    if facts.adjacent.len() != request.adjacent.len() {
        return Err(BookingRefusal::SlotNotFound);
    }
    let mut slots = vec![first.clone()];
    for (id, state) in request.adjacent.iter().zip(&facts.adjacent) {
        let state = state
            .as_ref()
            .filter(|s| s.slot.id == *id)
            .ok_or(BookingRefusal::SlotNotFound)?;
        if let Some(reason) = slot_refusal(policy, actor, &state.slot, now) {
            return Err(reason);
        }
        if state.live_booking.is_some() {
            return Err(BookingRefusal::SlotTaken);
        }
        slots.push(state.slot.clone());
    }
    slots.sort_by_key(|s| (s.start(), s.id));
    let adjacent = slots.windows(2).all(|w| {
        w[0].period.end() == w[1].start()
            && w[0].session == w[1].session
            && w[0].delivery == w[1].delivery
            && w[0].slot_type == w[1].slot_type
    });
    if !adjacent {
        return Err(BookingRefusal::SlotsNotAdjacent);
    }
    let mut used = None;
    match *actor {
        Actor::Organisation { .. } => {
            within_organisation_cap(policy, facts, slots.len())?;
        }
        _ => {
            // Each slot counts toward the holding limit: an appointment of
            // two slots takes two slots of a clinician's time.
            let mut starts: Vec<DateTime<Utc>> = facts.holdings.iter().map(|h| h.start).collect();
            for s in &slots {
                match within_holding_limit(policy, s.start(), &starts) {
                    Ok(()) => {}
                    Err(_)
                        if !is_online_actor(actor) && request.holding_limit_override.is_some() =>
                    {
                        used = request.holding_limit_override.as_ref();
                    }
                    Err(refused) => return Err(refused),
                }
                starts.push(s.start());
            }
        }
    }
    Ok((slots, used))
}

/// Records a holding-limit override on the booking and in its event.
pub(crate) fn record_override(
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

pub(crate) fn new_booking(
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
        amendments: 0,
        organisation_contact: None,
        joined_to: None,
    }
}

/// The preconditions of a new booking: the patient's holdings, and an
/// organisation's own when one books.
pub(crate) fn booking_preconditions(
    actor: &Actor,
    slot: SlotId,
    facts: &BookFacts,
) -> Vec<Precondition> {
    let mut out = vec![Precondition::SlotFree(slot), holdings_precondition(facts)];
    if let (Actor::Organisation { ods, .. }, Some(held)) = (actor, &facts.organisation_holdings) {
        out.push(Precondition::OrganisationHoldingsUnchanged {
            organisation: *ods,
            since: facts.holdings_since,
            bookings: held.clone(),
        });
    }
    out
}

pub(crate) fn holdings_precondition(facts: &BookFacts) -> Precondition {
    Precondition::HoldingsUnchanged {
        patient: facts.patient.patient,
        since: facts.holdings_since,
        bookings: facts.holdings.iter().map(|h| h.booking).collect(),
    }
}

/// The checks a cancellation must pass, shared by cancel and reschedule.
pub(crate) fn check_cancel<'f>(
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
    // A further slot of an appointment goes only with the appointment.
    if booking.joined_to.is_some() {
        return Err(BookingRefusal::AppointmentOfSeveralSlots);
    }
    let slot = facts.slot.as_ref().ok_or(BookingRefusal::SlotNotFound)?;
    if slot.start() <= now {
        return Err(BookingRefusal::SlotInPast);
    }
    if is_online_actor(actor) {
        let cutoff_minutes = policy.settings().online_cancellation_cutoff_minutes;
        let closes = slot
            .start()
            .checked_sub_signed(Duration::minutes(i64::from(cutoff_minutes)))
            .unwrap_or(DateTime::<Utc>::MIN_UTC);
        if now > closes {
            return Err(BookingRefusal::CancellationCutoffPassed { cutoff_minutes });
        }
    }
    Ok(booking)
}
