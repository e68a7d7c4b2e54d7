//! The staff records: the first practice manager, and every profile after.

use chrono::{DateTime, Utc};
use gp_core::{Actor, AuditEvent, Channel, IdSource, Outcome, Reason, StaffRole, SubjectKind};

use crate::authorize::Action;
use crate::error::AccessError;
use crate::model::*;
use crate::refusal::AccessRefusal;

use crate::decision::*;
use crate::rules::*;

/// Decides storing a staff profile (role, competencies, designations), by
/// the practice manager or a lead, given the profile stored now (`before`).
///
/// Nobody changes their own profile (`OwnProfile`). A clinical role given
/// or changed, the `Prescribing` competency added, or a lead designation
/// added needs the practice manager or the lead GP
/// (`GrantNeedsManagerOrLeadGp`): a lead for online services cannot raise
/// anyone, themselves included, to prescriber. A practice manager's role
/// changed away while no other practice manager is recorded (`managers`:
/// every recorded practice manager) is refused (`LastPracticeManager`):
/// the practice would have nobody to manage staff and settings. The event
/// records the profile before and after; the change commits only while the
/// stored profile is still `before` (and, when a manager is demoted, while
/// the other managers are as stored).
pub fn decide_put_staff(
    facts: &AccessFacts,
    by: &By,
    before: Option<&StaffProfile>,
    profile: &StaffProfile,
    managers: &[StaffProfile],
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    text(&profile.name, "staff name")?;
    let mut c = ctx(facts, *by, "access.staff", at, ids);
    c.patient = None;
    permit!(c, facts, Action::ManageStaff);
    let subject = |e: AuditEvent| e.with_subject(SubjectKind::Staff, profile.staff);
    let refuse = |reason: AccessRefusal| {
        let event = subject(c.event(Outcome::Refused(reason.reason_code())));
        Ok(Decision::Refused(Refusal::new(reason, event)))
    };
    if staff_id(by) == Some(profile.staff) {
        return refuse(AccessRefusal::OwnProfile);
    }
    let raises = {
        let role_given =
            profile.role.is_clinical() && before.is_none_or(|b| b.role != profile.role);
        let gained = |c: Competency| {
            profile.competencies.contains(&c) && before.is_none_or(|b| !b.competencies.contains(&c))
        };
        let lead_given = profile
            .designations
            .iter()
            .any(|d| before.is_none_or(|b| !b.designations.contains(d)));
        role_given || gained(Competency::Prescribing) || lead_given
    };
    let grantor = facts.staff.as_ref().is_some_and(|me| {
        me.role == StaffRole::PracticeManager || me.designations.contains(&Designation::LeadGp)
    });
    if raises && !grantor {
        return refuse(AccessRefusal::GrantNeedsManagerOrLeadGp);
    }
    let demotes_manager = before.is_some_and(|b| b.role == StaffRole::PracticeManager)
        && profile.role != StaffRole::PracticeManager;
    let other_managers: Vec<&StaffProfile> = managers
        .iter()
        .filter(|m| m.staff != profile.staff && m.role == StaffRole::PracticeManager)
        .collect();
    if demotes_manager && other_managers.is_empty() {
        return refuse(AccessRefusal::LastPracticeManager);
    }
    let event = subject(c.event(Outcome::Allowed))
        .with_detail("role", profile.role.to_string())
        .with_detail("before", describe(before))
        .with_detail("after", describe(Some(profile)));
    Ok(Decision::Allowed(Committable {
        change: AccessChange {
            staff: Some(profile.clone()),
            ..AccessChange::default()
        },
        events: vec![event],
        preconditions: std::iter::once(Precondition::StaffAsStored {
            staff: profile.staff,
            profile: before.cloned(),
        })
        .chain(
            other_managers
                .into_iter()
                .filter(|_| demotes_manager)
                .map(|m| Precondition::StaffAsStored {
                    staff: m.staff,
                    profile: Some(m.clone()),
                }),
        )
        .collect(),
    }))
}

/// A staff profile as the audit trail records it: role, competencies and
/// designations (`none` if not recorded).
fn describe(profile: Option<&StaffProfile>) -> String {
    match profile {
        None => "none".into(),
        Some(p) => format!(
            "role={:?}; competencies={:?}; designations={:?}",
            p.role, p.competencies, p.designations
        ),
    }
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
            .with_subject(SubjectKind::Staff, profile.staff)
            .with_detail("after", describe(Some(profile)))],
        // Two first managers at once: the one committed first wins.
        preconditions: vec![Precondition::NoStaffYet],
    }))
}
