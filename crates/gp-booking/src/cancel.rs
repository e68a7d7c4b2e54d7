//! Cancelling a booking.

use chrono::{DateTime, Utc};
use gp_core::{IdSource, Outcome, SubjectKind};

use crate::booking::Cancellation;
use crate::policy::BookingPolicy;

use crate::decision::*;
use crate::rules::*;

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
    let checked =
        check_cancel(policy, &request.actor, request.channel, facts, now, true).and_then(|b| {
            match request.version.filter(|v| *v != b.version()) {
                Some(expected) => Err(crate::BookingRefusal::BookingChanged {
                    expected,
                    current: b.version(),
                }),
                None => Ok(b),
            }
        });
    let booking = match checked {
        Ok(b) => b,
        Err(reason) => return Decision::Refused(ctx.refuse(reason, &booking_subject)),
    };
    // The event names every booking and slot the cancellation ends: the
    // further slots of an appointment go with it.
    let mut event = ctx
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Booking, booking.id)
        .with_subject(SubjectKind::Slot, booking.slot);
    for j in &facts.joined {
        event = event
            .with_subject(SubjectKind::Booking, j.id)
            .with_subject(SubjectKind::Slot, j.slot);
    }
    let event = event.with_personal_text(ids, "reason", request.reason.as_str());
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
        preconditions: match request.version {
            // Written against a version: committed only while it is that one.
            Some(_) => vec![Precondition::BookingUnchanged {
                booking: booking.id,
                amendments: booking.amendments,
            }],
            None => vec![Precondition::BookingLive(booking.id)],
        },
    })
}
