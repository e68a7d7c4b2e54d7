//! Amending a booking: its description and comment, nothing else (GP
//! Connect's amend).

use chrono::{DateTime, Utc};
use gp_core::{IdSource, Outcome, SubjectKind};

use crate::booking::Booking;
use crate::policy::BookingPolicy;
use crate::refusal::BookingRefusal;

use crate::decision::*;
use crate::rules::*;

/// Decides whether `request` may replace its booking's description and
/// comment at `now`.
///
/// Staff and other organisations (through GP Connect) may amend any live
/// booking that has not started, whoever made it; patients and proxies may
/// not (`AmendNotOnline`: they cancel and book again). Allowed, the change
/// is the booking with the new texts and one more amendment, committed
/// while the booking is as read (`BookingUnchanged`).
pub fn decide_amend(
    _policy: &BookingPolicy,
    facts: &CancelFacts,
    request: &AmendRequest,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let ctx = Ctx {
        ids,
        now,
        actor: request.actor,
        channel: request.channel,
        patient: facts.booking.as_ref().map(|b| b.patient),
        action: ACTION_AMEND,
    };
    let subject = [(SubjectKind::Booking, request.booking.as_uuid())];
    let checked = (|| -> Result<&Booking, BookingRefusal> {
        check_actor(&request.actor, request.channel, None, false)?;
        if is_online_actor(&request.actor) {
            return Err(BookingRefusal::AmendNotOnline);
        }
        let booking = facts
            .booking
            .as_ref()
            .filter(|b| b.id == request.booking)
            .ok_or(BookingRefusal::BookingNotFound)?;
        if !booking.is_live() {
            return Err(BookingRefusal::AlreadyCancelled);
        }
        if booking.joined_to.is_some() {
            return Err(BookingRefusal::AppointmentOfSeveralSlots);
        }
        if let Some(expected) = request.version.filter(|v| *v != booking.version()) {
            return Err(BookingRefusal::BookingChanged {
                expected,
                current: booking.version(),
            });
        }
        let slot = facts.slot.as_ref().ok_or(BookingRefusal::SlotNotFound)?;
        if slot.start() <= now {
            return Err(BookingRefusal::SlotInPast);
        }
        Ok(booking)
    })();
    let booking = match checked {
        Ok(b) => b,
        Err(reason) => return Decision::Refused(ctx.refuse(reason, &subject)),
    };
    let amended = Booking {
        description: request.description.clone(),
        comment: request.comment.clone(),
        amendments: booking.amendments.saturating_add(1),
        ..booking.clone()
    };
    let event = ctx
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Booking, booking.id)
        .with_subject(SubjectKind::Slot, booking.slot)
        .with_detail("version", amended.version().to_string());
    Decision::Allowed(Committable {
        change: BookingChange::Amend(amended),
        events: vec![event],
        preconditions: vec![Precondition::BookingUnchanged {
            booking: booking.id,
            amendments: booking.amendments,
        }],
    })
}
