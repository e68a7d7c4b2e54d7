//! Booking a slot.

use chrono::{DateTime, Utc};
use gp_core::{IdSource, Outcome, SubjectKind};

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
    if let gp_core::Actor::Organisation { .. } = request.actor {
        booking.organisation_contact = request.organisation_contact.clone();
    }
    let event = ctx
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Slot, request.slot)
        .with_subject(SubjectKind::Booking, booking.id);
    let mut event = record_override(&mut booking, event, used_override);
    if is_online_actor(&request.actor) && !facts.patient.online.is_registered() {
        event = event.with_detail("before_online_registration", "true");
    }
    Decision::Allowed(Committable {
        change: BookingChange::Book(booking),
        events: vec![event],
        preconditions: booking_preconditions(&request.actor, request.slot, facts),
    })
}
