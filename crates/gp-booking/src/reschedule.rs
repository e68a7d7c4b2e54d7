//! Moving a booking to another slot: cancel and book together, or neither.

use chrono::{DateTime, Utc};
use gp_core::{IdSource, Outcome, SubjectKind};

use crate::booking::{Cancellation, Holding};
use crate::policy::BookingPolicy;
use crate::refusal::BookingRefusal;

use crate::decision::*;
use crate::rules::*;

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
    let checked = if !facts.current.joined.is_empty() {
        // An appointment of several slots is cancelled and booked again.
        Err(BookingRefusal::AppointmentOfSeveralSlots)
    } else if matches!(request.actor, gp_core::Actor::Organisation { .. }) {
        // GP Connect has no reschedule: an organisation cancels and books.
        Err(BookingRefusal::ChannelNotAllowed)
    } else if old.slot == request.new_slot {
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
        .with_personal_text(ids, "reason", request.reason.as_str());
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
