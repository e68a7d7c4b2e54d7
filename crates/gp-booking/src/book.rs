//! Booking a slot.

use chrono::{DateTime, Utc};
use gp_core::{IdSource, Outcome, SubjectKind};

use crate::booking::Booking;
use crate::policy::BookingPolicy;
use crate::refusal::BookingRefusal;

use crate::decision::*;
use crate::rules::*;

/// Decides whether `request` may book its slot at `now`.
///
/// Online actors (a patient or proxy) meet every online rule of the policy;
/// staff meet only the rules for every channel (the slot exists, has not
/// started, is released for telephone booking, is free) and the holding limit,
/// which they may override with a reason that is recorded and audited.
/// Other organisations meet the organisation rules and their cap.
///
/// With `request.adjacent`, one appointment takes several slots (GP
/// Connect's multiple adjacent slots): every slot meets the same rules, and
/// they must run one after another in one session with one delivery mode
/// and one slot type (`SlotsNotAdjacent`). The change is then
/// `BookAdjacent`: the earliest slot's booking, and one booking joined to
/// it per further slot; each slot counts toward the holding limit or cap.
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
    let checked = checked.and_then(|used| {
        if request.adjacent.is_empty() {
            return Ok((Vec::new(), used));
        }
        let first = facts
            .slot
            .as_ref()
            .map(|s| &s.slot)
            .ok_or(BookingRefusal::SlotNotFound)?;
        let (slots, more) = check_adjacent(policy, &request.actor, facts, request, first, now)?;
        Ok((slots, used.or(more)))
    });
    let (slots, used_override) = match checked {
        Ok(checked) => checked,
        Err(reason) => return Decision::Refused(ctx.refuse(reason, &slot_subject)),
    };
    // The appointment is its earliest slot's booking; each further slot's
    // booking is joined to it.
    let lead_slot = slots.first().map_or(request.slot, |s| s.id);
    let mut booking = new_booking(
        ids,
        request.actor,
        request.channel,
        request.patient,
        lead_slot,
        now,
    );
    booking.description = request.description.clone();
    booking.comment = request.comment.clone();
    if let gp_core::Actor::Organisation { .. } = request.actor {
        booking.organisation_contact = request.organisation_contact.clone();
    }
    // One booking joined to the first for each further slot.
    let joined: Vec<Booking> = slots
        .iter()
        .skip(1)
        .map(|s| {
            let mut j = new_booking(
                ids,
                request.actor,
                request.channel,
                request.patient,
                s.id,
                now,
            );
            j.joined_to = Some(booking.id);
            j
        })
        .collect();
    // The event names every slot and every booking made.
    let mut event = ctx
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Slot, lead_slot);
    for j in &joined {
        event = event.with_subject(SubjectKind::Slot, j.slot);
    }
    let mut event = event.with_subject(SubjectKind::Booking, booking.id);
    for j in &joined {
        event = event.with_subject(SubjectKind::Booking, j.id);
    }
    let mut event = record_override(&mut booking, event, used_override);
    if is_online_actor(&request.actor) && !facts.patient.online.is_registered() {
        event = event.with_detail("before_online_registration", "true");
    }
    let mut preconditions = booking_preconditions(&request.actor, request.slot, facts);
    preconditions.extend(request.adjacent.iter().map(|s| Precondition::SlotFree(*s)));
    let change = if joined.is_empty() {
        BookingChange::Book(booking)
    } else {
        let mut all = vec![booking.clone()];
        all.extend(joined.into_iter().map(|mut j| {
            j.holding_limit_override = booking.holding_limit_override.clone();
            j
        }));
        BookingChange::BookAdjacent(all)
    };
    Decision::Allowed(Committable {
        change,
        events: vec![event],
        preconditions,
    })
}
