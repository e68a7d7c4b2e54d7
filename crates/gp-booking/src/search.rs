//! Searching for free slots.

use chrono::{DateTime, Duration, Utc};
use gp_core::{local_date, IdSource};

use crate::policy::{BookingPolicy, ORGANISATION_SEARCH_DAYS};
use crate::refusal::BookingRefusal;
use crate::schedule::Slot;

use crate::decision::*;
use crate::rules::*;

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
        // A span is measured on the practice's clock (UK local time), so
        // 14 days that cross a clock change are still 14 days.
        let span = gp_core::local_span(request.query.from, request.query.to);
        // GP Connect: one search spans at most 14 days, for every consumer.
        if matches!(request.actor, gp_core::Actor::Organisation { .. })
            && span > Duration::days(ORGANISATION_SEARCH_DAYS.into())
        {
            return Err(BookingRefusal::SearchWindowTooWide {
                max_days: ORGANISATION_SEARCH_DAYS,
            });
        }
        if online {
            let facts = request
                .patient
                .as_ref()
                .ok_or(BookingRefusal::ActorNotForPatient)?;
            let max_days = policy.settings().online_search_window_days;
            if span > Duration::days(i64::from(max_days)) {
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
        .filter(|c| match request.actor {
            gp_core::Actor::Organisation { .. } => {
                matches_filter(policy, &c.slot, &request.query.organisation_filter)
            }
            _ => true,
        })
        .map(|c| c.slot.clone())
        .collect();
    hits.sort_by_key(|s| (s.start(), s.id));
    Ok(hits)
}
