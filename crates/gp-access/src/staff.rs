//! The staff records: the first practice manager, and every profile after.

use chrono::{DateTime, Utc};
use gp_core::{Actor, Channel, IdSource, Outcome, SubjectKind};

use crate::authorize::Action;
use crate::error::AccessError;
use crate::model::*;
use crate::refusal::AccessRefusal;

use crate::decision::*;
use crate::rules::*;

/// Decides storing a staff profile (competencies, designations), by the
/// practice manager or a lead. `facts.record` is not used.
pub fn decide_put_staff(
    facts: &AccessFacts,
    by: &By,
    profile: &StaffProfile,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    text(&profile.name, "staff name")?;
    let mut c = ctx(facts, *by, "access.staff", at, ids);
    c.patient = None;
    permit!(c, facts, Action::ManageStaff);
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Staff, profile.staff)
        .with_detail("role", profile.role.to_string());
    Ok(Decision::Allowed(Committable {
        change: AccessChange {
            staff: Some(profile.clone()),
            ..AccessChange::default()
        },
        events: vec![event],
        preconditions: Vec::new(),
    }))
}

/// The first staff profile of a new practice: the practice manager records
/// themselves. Allowed only while no staff are recorded (`no_staff_yet`).
pub fn decide_first_manager(
    no_staff_yet: bool,
    profile: &StaffProfile,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    text(&profile.name, "staff name")?;
    let by = By {
        actor: Actor::Staff {
            staff: profile.staff,
            role: profile.role,
        },
        channel: Channel::Reception,
    };
    let c = Ctx {
        ids,
        at,
        by,
        patient: None,
        action: "access.staff",
    };
    if !no_staff_yet || profile.role != gp_core::StaffRole::PracticeManager {
        return Ok(c.refuse(AccessRefusal::LeadOrManagerOnly));
    }
    Ok(Decision::Allowed(Committable {
        change: AccessChange {
            staff: Some(profile.clone()),
            ..AccessChange::default()
        },
        events: vec![c
            .event(Outcome::Allowed)
            .with_subject(SubjectKind::Staff, profile.staff)],
        preconditions: Vec::new(),
    }))
}
