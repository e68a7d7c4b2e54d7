//! Registration for online services: the account, identity, services and suspension.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use gp_core::{Actor, Channel, IdSource, Outcome};

use crate::authorize::Action;
use crate::error::AccessError;
use crate::model::*;
use crate::refusal::AccessRefusal;

use crate::decision::*;
use crate::rules::*;

/// Decides registering the patient for online services (no service on yet,
/// identity not yet verified).
pub fn decide_register(
    facts: &AccessFacts,
    by: &By,
    registration: &Registration,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    if facts.record.patient.as_uuid().is_nil() {
        return Err(AccessError::NoPatient);
    }
    let today = gp_core::local_date(at);
    crate::patient_list::check_date_of_birth(registration.date_of_birth, today)?;
    let c = ctx(facts, *by, "access.register", at, ids);
    permit!(c, facts, Action::RegisterPatient);
    if facts.record.account.is_some() {
        return Ok(c.refuse(AccessRefusal::AlreadyRegistered));
    }
    // The account is for the patient the practice's list holds: the same
    // NHS number and date of birth, or it is someone else's.
    if let Some(listed) = &facts.listed {
        if listed.nhs_number() != registration.nhs_number
            || listed.date_of_birth() != registration.date_of_birth
        {
            return Ok(c.refuse(AccessRefusal::RegistrationNotAsListed));
        }
    }
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let mut record = facts.record.clone();
    record.account = Some(PatientAccount {
        patient: record.patient,
        nhs_number: registration.nhs_number,
        date_of_birth: registration.date_of_birth,
        registration: registration.registration,
        practice: registration.practice,
        registered_by: staff,
        registered_at: at,
        identity: None,
        services: BTreeSet::new(),
        suspended: None,
        linkage: None,
    });
    let event = c.event(Outcome::Allowed).with_detail(
        "registration",
        match registration.registration {
            RegistrationKind::Regular => "regular",
            RegistrationKind::Temporary => "temporary",
        },
    );
    Ok(c.commit(facts, record, event))
}

/// Decides recording the patient's identity verification: documents seen
/// or vouching by trained staff, or an NHS login at P9 reported by the system.
pub fn decide_verify_identity(
    facts: &AccessFacts,
    by: &By,
    method: VerificationMethod,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let c = ctx(facts, *by, "access.verify_identity", at, ids);
    let by_system = matches!(by.actor, Actor::System) && method == VerificationMethod::NhsLoginP9;
    if by_system {
        if by.channel != Channel::Internal {
            return Ok(c.refuse(AccessRefusal::ChannelNotAllowed));
        }
    } else {
        permit!(c, facts, Action::VerifyIdentity);
    }
    let mut record = facts.record.clone();
    let Some(account) = record.account.as_mut() else {
        return Ok(c.refuse(AccessRefusal::NotRegisteredForOnline));
    };
    account.identity = Some(IdentityVerification {
        method,
        verified_by: staff_id(by),
        at,
    });
    let event = c
        .event(Outcome::Allowed)
        .with_detail("method", method.to_string());
    Ok(c.commit(facts, record, event))
}

/// Decides which online services are on for the patient.
pub fn decide_services(
    facts: &AccessFacts,
    by: &By,
    services: &BTreeSet<Service>,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let c = ctx(facts, *by, "access.services", at, ids);
    permit!(c, facts, Action::ManageServices);
    let mut record = facts.record.clone();
    let Some(account) = record.account.as_mut() else {
        return Ok(c.refuse(AccessRefusal::NotRegisteredForOnline));
    };
    account.services = services.clone();
    let names: Vec<String> = services.iter().map(|s| s.to_string()).collect();
    let event = c
        .event(Outcome::Allowed)
        .with_detail("services", names.join(", "));
    Ok(c.commit(facts, record, event))
}

/// Decides suspending the patient's own online access (`Some(reason)`:
/// linkage keys handed out before it stop working) or restoring it (`None`).
pub fn decide_suspension(
    facts: &AccessFacts,
    by: &By,
    reason: Option<SuspensionReason>,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    if let Some(SuspensionReason::Other(why)) = &reason {
        text(why, "suspension reason")?;
    }
    let action = if reason.is_some() {
        "access.suspend"
    } else {
        "access.restore"
    };
    let c = ctx(facts, *by, action, at, ids);
    permit!(c, facts, Action::SuspendAccess);
    let mut record = facts.record.clone();
    let Some(account) = record.account.as_mut() else {
        return Ok(c.refuse(AccessRefusal::NotRegisteredForOnline));
    };
    let mut event = c.event(Outcome::Allowed);
    match reason {
        Some(reason) => {
            event = reason.recorded(event, ids);
            account.suspended = Some(Suspension {
                reason,
                by: by.actor,
                at,
            });
            // Keys handed out before the suspension stop working: the
            // practice issues a new one when it restores the account.
            if let Some(linkage) = account.linkage.as_mut() {
                for k in linkage.keys.iter_mut().filter(|k| k.used_at.is_none()) {
                    k.replaced = true;
                }
            }
        }
        None => {
            if account.suspended.is_none() {
                return Ok(c.refuse(AccessRefusal::NotSuspended));
            }
            account.suspended = None;
        }
    }
    Ok(c.commit(facts, record, event))
}
