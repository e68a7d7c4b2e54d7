//! The repeat list itself: a medicine put on it, flagged as no longer
//! taken, and reviewed.

use chrono::{DateTime, Utc};
use gp_core::{
    bounded_text, local_date, Actor, AuditEvent, Channel, IdSource, Outcome, SubjectKind,
};

use crate::error::{ItemError, RequestError};
use crate::item::{ItemStatus, NotTakenFlag, RepeatItem};
use crate::refusal::PrescribingRefusal;

use crate::decision::*;
use crate::rules::*;

/// Decides a flag that the patient no longer takes an item, from the patient,
/// a proxy, or staff taking a call. The item goes on the review list.
pub fn decide_flag_not_taken(
    facts: &PrescribingFacts,
    action: &ItemAction,
    note: Option<&str>,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, RequestError> {
    let note = match note {
        Some(n) => Some(bounded_text(n, "note", MAX_REASON, false)?).filter(|n| !n.is_empty()),
        None => None,
    };
    let ctx = action_ctx(action, "prescription.flag_not_taken", now, ids);
    let record = &facts.record;
    let subject = |e: AuditEvent| e.with_subject(SubjectKind::Medication, action.item);
    if matches!(action.actor, Actor::System) {
        return Ok(ctx.refuse_with(PrescribingRefusal::ChannelNotAllowed, subject));
    }
    let item = match item_checks(&ctx, record, action) {
        Ok(item) => item,
        Err(refused) => return Ok(*refused),
    };
    if !item.is_active() {
        return Ok(ctx.refuse_with(PrescribingRefusal::ItemEnded, subject));
    }
    let mut item = item.clone();
    item.not_taken = Some(NotTakenFlag {
        at: now,
        by: action.actor,
        note,
    });
    let event = subject(ctx.event(Outcome::Allowed));
    Ok(ctx.allow(
        PrescribingChange {
            patient: Some(record.patient),
            items: vec![item],
            ..PrescribingChange::default()
        },
        event,
        record,
    ))
}

/// Decides a prescriber's review of an item flagged as no longer taken: keep
/// it, or end it with a reason. Either way the flag is cleared.
pub fn decide_review(
    facts: &PrescribingFacts,
    action: &ItemAction,
    outcome: &ReviewOutcome,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, RequestError> {
    let end_reason = match outcome {
        ReviewOutcome::Keep => None,
        ReviewOutcome::End(r) => Some(bounded_text(r, "reason", MAX_REASON, true)?),
    };
    let ctx = action_ctx(action, "prescription.review", now, ids);
    let record = &facts.record;
    let subject = |e: AuditEvent| e.with_subject(SubjectKind::Medication, action.item);
    if !prescriber(&action.actor) {
        return Ok(ctx.refuse_with(PrescribingRefusal::PrescriberOnly, subject));
    }
    let item = match item_checks(&ctx, record, action) {
        Ok(item) => item,
        Err(refused) => return Ok(*refused),
    };
    if item.not_taken.is_none() {
        return Ok(ctx.refuse_with(PrescribingRefusal::NotFlaggedForReview, subject));
    }
    let mut item = item.clone();
    item.not_taken = None;
    let mut event = subject(ctx.event(Outcome::Allowed));
    match end_reason {
        Some(reason) => {
            event = event
                .with_detail("outcome", "ended")
                .with_detail("reason", reason.clone());
            item.status = ItemStatus::Ended {
                on: local_date(now),
                reason,
            };
        }
        None => event = event.with_detail("outcome", "kept"),
    }
    Ok(ctx.allow(
        PrescribingChange {
            patient: Some(record.patient),
            items: vec![item],
            ..PrescribingChange::default()
        },
        event,
        record,
    ))
}

/// Decides storing an item on a patient's list (new or changed), by a
/// prescriber or by the system copying the clinical record. The item is
/// checked first: a bad item is an error and nothing is decided.
pub fn decide_put_item(
    facts: &PrescribingFacts,
    actor: Actor,
    channel: Channel,
    item: &RepeatItem,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, ItemError> {
    item.check()?;
    let ctx = Ctx {
        ids,
        now,
        actor,
        channel,
        patient: Some(item.patient),
        action: "prescription.item_put",
    };
    let subject = |e: AuditEvent| e.with_subject(SubjectKind::Medication, item.id);
    if !(prescriber(&actor) || matches!(actor, Actor::System)) {
        return Ok(ctx.refuse_with(PrescribingRefusal::PrescriberOnly, subject));
    }
    if !actor.may_use(channel) {
        return Ok(ctx.refuse_with(PrescribingRefusal::ChannelNotAllowed, subject));
    }
    if facts.record.patient != item.patient {
        return Ok(ctx.refuse_with(PrescribingRefusal::ActorNotForPatient, subject));
    }
    let event = subject(ctx.event(Outcome::Allowed))
        .with_detail("drug", item.drug.clone())
        .with_detail("concept", item.concept.to_string())
        .with_detail("issues_remaining", item.issues_remaining.to_string());
    Ok(ctx.allow(
        PrescribingChange {
            patient: Some(item.patient),
            items: vec![item.clone()],
            ..PrescribingChange::default()
        },
        event,
        &facts.record,
    ))
}
