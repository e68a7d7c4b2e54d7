//! Changing the practice's access settings.

use chrono::{DateTime, Utc};
use gp_core::{IdSource, Outcome};

use crate::authorize::Action;
use crate::error::AccessError;
use crate::settings::AccessSettings;

use crate::decision::*;
use crate::rules::*;

/// Decides new access settings, by the practice manager or a lead.
pub fn decide_settings(
    facts: &AccessFacts,
    by: &By,
    settings: &AccessSettings,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    settings.check()?;
    let mut c = ctx(facts, *by, "access.settings", at, ids);
    c.patient = None;
    permit!(c, facts, Action::ChangeOnlineSettings);
    let event = c
        .event(Outcome::Allowed)
        .with_detail("linkage_key_days", settings.linkage_key_days.to_string())
        .with_detail(
            "max_failed_redemptions",
            settings.max_failed_redemptions.to_string(),
        )
        .with_detail(
            "parental_review_age",
            settings.parental_review_age.to_string(),
        )
        .with_detail(
            "unused_proxy_years",
            settings.unused_proxy_years.to_string(),
        )
        .with_detail(
            "sixteen_notice_days",
            settings.sixteen_notice_days.to_string(),
        )
        .with_detail(
            "practice_failed_redemptions_per_hour",
            settings.practice_failed_redemptions_per_hour.to_string(),
        );
    Ok(Decision::Allowed(Committable {
        change: AccessChange {
            settings: Some(settings.clone()),
            ..AccessChange::default()
        },
        events: vec![event],
        preconditions: vec![Precondition::SettingsUnchanged {
            version: facts.settings.version,
        }],
    }))
}
