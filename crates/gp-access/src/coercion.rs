//! Coercion safeguards: a concern recorded, and a clinician's review of it.

use chrono::{DateTime, Utc};
use gp_core::{ConcernId, IdSource, Outcome, ProxyId, SubjectKind};

use crate::authorize::Action;
use crate::error::AccessError;
use crate::model::*;
use crate::refusal::AccessRefusal;

use crate::decision::*;
use crate::rules::*;

/// Decides recording a coercion concern (optionally naming a proxy, who
/// must have access to the patient: `NoProxyAccess` otherwise, so that a
/// mistyped proxy never leaves the real one's access running). Until
/// a clinician reviews it, the named proxy's access (or, if none is named,
/// the patient's own online access and every proxy's) is refused with
/// `CoercionReviewPending`.
pub fn decide_coercion_concern(
    facts: &AccessFacts,
    by: &By,
    proxy: Option<ProxyId>,
    note: &str,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let note = text(note, "note")?;
    let c = ctx(facts, *by, "coercion.concern", at, ids);
    permit!(c, facts, Action::RecordCoercionConcern);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    // A concern pauses access: it must name access there is.
    if facts.record.account.is_none() {
        return Ok(c.refuse(AccessRefusal::NotRegisteredForOnline));
    }
    if proxy.is_some_and(|p| facts.record.grant(p).is_none()) {
        return Ok(c.refuse(AccessRefusal::NoProxyAccess));
    }
    let mut record = facts.record.clone();
    let concern = CoercionConcern {
        id: ConcernId::new(ids),
        patient: record.patient,
        proxy,
        raised_by: staff,
        at,
        note,
        review: None,
    };
    let mut event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Concern, concern.id);
    if let Some(p) = proxy {
        event = event.with_subject(SubjectKind::Proxy, p);
    }
    record.concerns.push(concern);
    Ok(c.commit(facts, record, event))
}

/// Decides a clinician's review of a coercion concern, with its outcome:
/// `AccessRestored` lifts the pause; `ProxyWithdrawn` ends the named proxy's
/// access (every proxy's, if the concern named nobody);
/// `OnlineAccessWithdrawn` does that too and suspends the patient's own
/// online access until staff restore it.
pub fn decide_coercion_review(
    facts: &AccessFacts,
    by: &By,
    concern: ConcernId,
    outcome: ConcernOutcome,
    note: &str,
    at: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, AccessError> {
    let note = text(note, "note")?;
    let c = ctx(facts, *by, "coercion.review", at, ids);
    permit!(c, facts, Action::ReviewCoercionConcern);
    let Some(staff) = staff_id(by) else {
        return Ok(c.refuse(AccessRefusal::RoleNotPermitted));
    };
    let mut record = facts.record.clone();
    let Some(found) = record.concerns.iter_mut().find(|k| k.id == concern) else {
        return Ok(c.refuse(AccessRefusal::ConcernNotFound));
    };
    if found.review.is_some() {
        return Ok(c.refuse(AccessRefusal::ConcernAlreadyReviewed));
    }
    found.review = Some(ConcernReview {
        by: staff,
        at,
        outcome,
        note: note.clone(),
    });
    let named = found.proxy;
    // Whatever withdraws access ends the named proxy's (or, if the concern
    // named nobody, every proxy's): the suspected coercer never keeps
    // access that the patient loses.
    let end_proxies = |record: &mut AccessRecord| {
        for g in record
            .grants
            .iter_mut()
            .filter(|g| g.revoked.is_none() && named.is_none_or(|p| p == g.proxy))
        {
            g.revoked = Some(Revocation {
                by: by.actor,
                at,
                reason: "Withdrawn after a coercion review".into(),
            });
        }
    };
    match outcome {
        ConcernOutcome::AccessRestored => {}
        ConcernOutcome::ProxyWithdrawn => end_proxies(&mut record),
        ConcernOutcome::OnlineAccessWithdrawn => {
            end_proxies(&mut record);
            if let Some(account) = record.account.as_mut() {
                account.suspended = Some(Suspension {
                    reason: SuspensionReason::CoercionConcern,
                    by: by.actor,
                    at,
                });
            }
        }
    }
    let event = c
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Concern, concern)
        .with_detail("outcome", format!("{outcome:?}"));
    Ok(c.commit(facts, record, event))
}
