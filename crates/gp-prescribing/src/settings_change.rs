//! Changing the practice's prescribing settings.

use chrono::{DateTime, Utc};
use gp_core::{Actor, Channel, IdSource, Outcome};

use crate::error::SettingsError;
use crate::refusal::PrescribingRefusal;
use crate::settings::PrescribingSettings;

use crate::decision::*;
use crate::rules::*;

/// Decides new practice settings, by a member of staff. Which members of
/// staff may is the practice's access rule (in `gp-access`: the practice
/// manager or a lead for online services), asked first by
/// `gp_online::Practice`. Settings out of range are an error and nothing is
/// decided.
pub fn decide_settings(
    current: &SettingsFacts,
    actor: Actor,
    channel: Channel,
    settings: &PrescribingSettings,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, SettingsError> {
    settings.check()?;
    let ctx = Ctx {
        ids,
        now,
        actor,
        channel,
        patient: None,
        action: "prescription.settings",
    };
    if !actor.is_staff() {
        return Ok(ctx.refuse(PrescribingRefusal::RoleNotPermitted));
    }
    if !actor.may_use(channel) {
        return Ok(ctx.refuse(PrescribingRefusal::ChannelNotAllowed));
    }
    let event = ctx
        .event(Outcome::Allowed)
        .with_detail("online_ordering", settings.online_ordering.to_string())
        .with_detail("too_early_days", settings.too_early_days.to_string())
        .with_detail(
            "max_items_per_request",
            settings.max_items_per_request.to_string(),
        )
        .with_detail("messages_allowed", settings.messages_allowed.to_string())
        .with_detail("max_message_chars", settings.max_message_chars.to_string());
    Ok(Decision::Allowed(Committable {
        change: PrescribingChange {
            settings: Some(settings.clone()),
            ..PrescribingChange::default()
        },
        events: vec![event],
        preconditions: vec![Precondition::SettingsUnchanged {
            version: current.version,
        }],
    }))
}
