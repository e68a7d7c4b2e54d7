//! Proxy access: applications, revocation, suspension, a new legal basis
//! and a competent child's view.

use chrono::{DateTime, Utc};
use gp_core::{
    age_on, local_date, ApplicationId, AuditEvent, IdSource, Outcome, ProxyId, Reason, SubjectKind,
};

use crate::authorize::Action;
use crate::error::AccessError;
use crate::model::*;
use crate::refusal::AccessRefusal;

use crate::decision::*;
use crate::rules::*;

/// Decides a proxy application. The application is recorded whether granted
/// or refused. Granting needs trained staff (a GP for a best-interest
/// decision), the patient registered, both identities verified, no coercion
/// review pending for the patient, and, on parental responsibility, a
/// patient under 16.
pub fn decide_proxy_application(
    facts: &AccessFacts,
    by: &By,
    input: &ProxyApplicationInput,
    verdict: &ApplicationVerdict,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let applicant_name = text(&input.applicant_name, "applicant name")?;
    if input.scopes.is_empty() {
        return Err(AccessError::NoServices);
    }
    if let LegalBasis::Consent {
        seen_alone: SeenAlone::No { why },
    } = &input.basis
    {
        text(why, "why the patient was not seen alone")?;
    }
    let refused_reason = match verdict {
        ApplicationVerdict::Grant { start, end, .. } => {
            if end.is_some_and(|e| e <= *start) {
                return Err(AccessError::EndBeforeStart);
            }
            None
        }
        ApplicationVerdict::Refuse(why) => Some(text(why, "refusal reason")?),
    };
    let c = ctx(facts, *by, "proxy.application", at, ids);
    let needed = if matches!(input.basis, LegalBasis::BestInterest { .. }) {
        Action::DecideBestInterestProxy
    } else {
        Action::DecideProxyApplication
    };
    permit!(c, facts, needed);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let Some(account) = facts.record.account.as_ref() else {
        return Ok(c.refuse(AccessRefusal::NotRegisteredForOnline));
    };
    let today = local_date(at);
    let mut basis = input.basis.clone();
    if let LegalBasis::BestInterest { clinician } = &mut basis {
        *clinician = staff;
    }
    let application = ProxyApplication {
        id: ApplicationId::new(ids),
        applicant: input.applicant,
        applicant_name: applicant_name.clone(),
        patient: facts.record.patient,
        basis: basis.clone(),
        scopes: input.scopes.clone(),
        applicant_identity: input.applicant_identity,
        patient_identity_checked: input.patient_identity_checked || account.identity.is_some(),
        decision: match &refused_reason {
            Some(reason) => ApplicationDecision::Refused {
                reason: reason.clone(),
            },
            None => ApplicationDecision::Granted,
        },
        decided_by: staff,
        at,
    };
    let mut record = facts.record.clone();
    let subject = |e: AuditEvent| {
        e.with_subject(SubjectKind::Proxy, input.applicant)
            .with_subject(SubjectKind::Application, application.id)
            .with_detail("basis", basis.name())
    };
    if let ApplicationVerdict::Grant { start, end, review } = verdict {
        let refusal = if input.applicant_identity.is_none() {
            Some(AccessRefusal::ApplicantIdentityNotVerified)
        } else if !application.patient_identity_checked {
            Some(AccessRefusal::PatientIdentityNotVerified)
        } else if record.open_concerns().next().is_some() {
            Some(AccessRefusal::CoercionReviewPending)
        } else if basis == LegalBasis::ParentalResponsibility
            && age_on(account.date_of_birth, (*start).max(today)) >= 16
        {
            Some(AccessRefusal::PatientIs16OrOver)
        } else {
            None
        };
        if let Some(reason) = refusal {
            let event = subject(c.event(Outcome::Refused(reason.reason_code())));
            return Ok(Decision::Refused(Refusal::new(reason, event)));
        }
        let grant = ProxyGrant {
            proxy: input.applicant,
            patient: record.patient,
            proxy_name: applicant_name,
            proxy_identity: input.applicant_identity.unwrap_or(IdentityVerification {
                method: VerificationMethod::DocumentsSeen,
                verified_by: Some(staff),
                at,
            }),
            care_home: input.care_home.clone(),
            basis: basis.clone(),
            basis_since: today,
            scopes: input.scopes.clone(),
            start: *start,
            end: *end,
            review: *review,
            decided_by: staff,
            decided_at: at,
            revoked: None,
            suspended: None,
            child_view: None,
            last_used: None,
        };
        record.grants.retain(|g| g.proxy != input.applicant);
        record.grants.push(grant);
    }
    record.applications.push(application.clone());
    let event = subject(c.event(Outcome::Allowed)).with_detail(
        "decision",
        if refused_reason.is_some() {
            "refused"
        } else {
            "granted"
        },
    );
    Ok(c.commit(facts, record, event))
}

/// Decides ending a proxy's access: by the patient acting for themselves, or
/// by staff.
pub fn decide_revoke_proxy(
    facts: &AccessFacts,
    by: &By,
    proxy: ProxyId,
    reason: &str,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let reason = text(reason, "reason")?;
    let c = ctx(facts, *by, "proxy.revoke", at, ids);
    permit!(c, facts, Action::RevokeProxy);
    let mut record = facts.record.clone();
    let Some(grant) = record.active_grant_mut(proxy) else {
        return Ok(c.refuse(AccessRefusal::NoProxyAccess));
    };
    grant.revoked = Some(Revocation {
        by: by.actor,
        at,
        reason: reason.clone(),
    });
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Proxy, proxy)
        .with_personal_text(ids, "reason", &reason);
    Ok(c.commit(facts, record, event))
}

/// Decides suspending one proxy's access (`Some(reason)`) or restoring it (`None`).
pub fn decide_proxy_suspension(
    facts: &AccessFacts,
    by: &By,
    proxy: ProxyId,
    reason: Option<SuspensionReason>,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    if let Some(SuspensionReason::Other(why)) = &reason {
        text(why, "suspension reason")?;
    }
    let c = ctx(
        facts,
        *by,
        if reason.is_some() {
            "proxy.suspend"
        } else {
            "proxy.restore"
        },
        at,
        ids,
    );
    permit!(c, facts, Action::SuspendAccess);
    let mut record = facts.record.clone();
    let Some(grant) = record.active_grant_mut(proxy) else {
        return Ok(c.refuse(AccessRefusal::NoProxyAccess));
    };
    let mut event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Proxy, proxy);
    match reason {
        Some(reason) => {
            event = reason.recorded(event, ids);
            grant.suspended = Some(Suspension {
                reason,
                by: by.actor,
                at,
            });
        }
        None => {
            if grant.suspended.take().is_none() {
                return Ok(c.refuse(AccessRefusal::NotSuspended));
            }
        }
    }
    Ok(c.commit(facts, record, event))
}

/// Decides recording a new legal basis for a proxy (for example a young
/// person's consent at 16, replacing parental responsibility).
pub fn decide_new_basis(
    facts: &AccessFacts,
    by: &By,
    proxy: ProxyId,
    basis: &LegalBasis,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    if let LegalBasis::Consent {
        seen_alone: SeenAlone::No { why },
    } = basis
    {
        text(why, "why the patient was not seen alone")?;
    }
    let c = ctx(facts, *by, "proxy.basis", at, ids);
    let needed = if matches!(basis, LegalBasis::BestInterest { .. }) {
        Action::DecideBestInterestProxy
    } else {
        Action::DecideProxyApplication
    };
    permit!(c, facts, needed);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let today = local_date(at);
    let mut record = facts.record.clone();
    let dob = record.account.as_ref().map(|a| a.date_of_birth);
    let Some(grant) = record.active_grant_mut(proxy) else {
        return Ok(c.refuse(AccessRefusal::NoProxyAccess));
    };
    if *basis == LegalBasis::ParentalResponsibility && dob.is_some_and(|d| age_on(d, today) >= 16) {
        return Ok(c.refuse(AccessRefusal::PatientIs16OrOver));
    }
    let mut basis = basis.clone();
    if let LegalBasis::BestInterest { clinician } = &mut basis {
        *clinician = staff;
    }
    grant.basis = basis.clone();
    grant.basis_since = today;
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Proxy, proxy)
        .with_detail("basis", basis.name());
    Ok(c.commit(facts, record, event))
}

/// Decides recording a competent child's consent to (or refusal of) a
/// parent's access.
pub fn decide_child_view(
    facts: &AccessFacts,
    by: &By,
    proxy: ProxyId,
    consents: bool,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let c = ctx(facts, *by, "proxy.child_view", at, ids);
    permit!(c, facts, Action::DecideProxyApplication);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let mut record = facts.record.clone();
    let Some(grant) = record.active_grant_mut(proxy) else {
        return Ok(c.refuse(AccessRefusal::NoProxyAccess));
    };
    grant.child_view = Some(ChildView {
        consents,
        recorded_by: staff,
        at,
    });
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Proxy, proxy)
        .with_detail("consents", consents.to_string());
    Ok(c.commit(facts, record, event))
}
