//! Changing the practice's booking policy.

use chrono::{DateTime, Utc};
use gp_core::{Actor, Channel, IdSource, Outcome};

use crate::policy::BookingPolicy;
use crate::refusal::BookingRefusal;

use crate::decision::*;
use crate::rules::*;

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
        .with_detail("settings", format!("{:?}", policy.settings()))
        .with_detail(
            "online_booking",
            (!policy.settings().online_roles.is_empty()
                && !policy.settings().online_slot_types.is_empty())
            .to_string(),
        );
    Decision::Allowed(Committable {
        change: BookingChange::Policy(policy.clone()),
        events: vec![event],
        preconditions: vec![Precondition::PolicyUnchanged {
            version: current.version,
        }],
    })
}
