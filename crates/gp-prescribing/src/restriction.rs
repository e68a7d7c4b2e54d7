//! Turning a patient's ordering off, or back on.

use chrono::{DateTime, Utc};
use gp_core::{bounded_text, Actor, Channel, IdSource, Outcome};

use crate::error::RequestError;
use crate::refusal::PrescribingRefusal;
use crate::request::{OrderingRestriction, RestrictionScope};

use crate::decision::*;
use crate::rules::*;

/// Decides turning ordering off for one patient (`Some((scope, reason))`) or
/// back on (`None`), by a prescriber or the practice manager. The reason
/// (1 to 500 characters) and the deciding staff member are recorded.
pub fn decide_restriction(
    facts: &PrescribingFacts,
    actor: Actor,
    channel: Channel,
    restriction: Option<(RestrictionScope, &str)>,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, RequestError> {
    let checked = match restriction {
        Some((scope, reason)) => Some((
            scope,
            bounded_text(reason, "restriction reason", MAX_REASON, true)?,
        )),
        None => None,
    };
    let record = &facts.record;
    let ctx = Ctx {
        ids,
        now,
        actor,
        channel,
        patient: Some(record.patient),
        action: if checked.is_some() {
            "prescription.restrict"
        } else {
            "prescription.unrestrict"
        },
    };
    let Actor::Staff { staff, role } = actor else {
        return Ok(ctx.refuse(PrescribingRefusal::RoleNotPermitted));
    };
    if !may_restrict(role) {
        return Ok(ctx.refuse(PrescribingRefusal::RoleNotPermitted));
    }
    if !actor.may_use(channel) {
        return Ok(ctx.refuse(PrescribingRefusal::ChannelNotAllowed));
    }
    let (change, event) = match checked {
        Some((scope, reason)) => (
            RestrictionChange::Set(OrderingRestriction {
                scope,
                reason: reason.clone(),
                decided_by: staff,
                at: now,
            }),
            ctx.event(Outcome::Allowed)
                .with_detail(
                    "scope",
                    match scope {
                        RestrictionScope::Online => "online",
                        RestrictionScope::AllChannels => "all channels",
                    },
                )
                .with_detail("reason", reason),
        ),
        None => (RestrictionChange::Lift, ctx.event(Outcome::Allowed)),
    };
    Ok(ctx.allow(
        PrescribingChange {
            patient: Some(record.patient),
            restriction: Some(change),
            ..PrescribingChange::default()
        },
        event,
        record,
    ))
}
