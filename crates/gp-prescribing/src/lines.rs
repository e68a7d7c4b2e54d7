//! Moving one line of a request: the patient's cancellation, a
//! prescriber's approval, rejection and issue.

use chrono::{DateTime, Utc};
use gp_core::{bounded_text, local_date, Actor, IdSource};

use crate::error::RequestError;
use crate::item::RepeatItem;
use crate::refusal::PrescribingRefusal;
use crate::request::{LineState, LineStatus};

use crate::decision::*;
use crate::rules::*;

/// Decides a cancellation of one line by the patient, a proxy, or staff for
/// them: allowed only while the line is requested.
pub fn decide_cancel_line(
    facts: &PrescribingFacts,
    action: &LineAction,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let ctx = action_ctx(action, "prescription.cancel", now, ids);
    let record = &facts.record;
    if matches!(action.actor, Actor::System) {
        return ctx.refuse(PrescribingRefusal::ChannelNotAllowed);
    }
    let (request, index) = match line_checks(&ctx, record, action) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let status = request.lines[index].state.status();
    if status != LineStatus::Requested {
        return ctx.refuse(PrescribingRefusal::LineNotRequested { status });
    }
    move_line(
        &ctx,
        record,
        request,
        index,
        LineState::Cancelled {
            by: action.actor,
            at: now,
        },
        None,
        None,
    )
}

/// Decides an approval by a prescriber: allowed only while the line is
/// requested and the item is still active.
pub fn decide_approve(
    facts: &PrescribingFacts,
    action: &LineAction,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let ctx = action_ctx(action, "prescription.approve", now, ids);
    let record = &facts.record;
    let Actor::Staff { staff, role } = action.actor else {
        return ctx.refuse(PrescribingRefusal::PrescriberOnly);
    };
    if !is_prescriber(role) {
        return ctx.refuse(PrescribingRefusal::PrescriberOnly);
    }
    let (request, index) = match line_checks(&ctx, record, action) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let status = request.lines[index].state.status();
    if status != LineStatus::Requested {
        return ctx.refuse(PrescribingRefusal::LineNotRequested { status });
    }
    if !record.item(action.item).is_some_and(RepeatItem::is_active) {
        return ctx.refuse(PrescribingRefusal::ItemEnded);
    }
    move_line(
        &ctx,
        record,
        request,
        index,
        LineState::Approved { by: staff, at: now },
        None,
        None,
    )
}

/// Decides a rejection by a prescriber, with a reason the patient will read
/// (1 to 500 characters): allowed only while the line is requested.
pub fn decide_reject(
    facts: &PrescribingFacts,
    action: &LineAction,
    reason: &str,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision, RequestError> {
    let reason = bounded_text(reason, "rejection reason", MAX_REASON, true)?;
    let ctx = action_ctx(action, "prescription.reject", now, ids);
    let record = &facts.record;
    let Actor::Staff { staff, role } = action.actor else {
        return Ok(ctx.refuse(PrescribingRefusal::PrescriberOnly));
    };
    if !is_prescriber(role) {
        return Ok(ctx.refuse(PrescribingRefusal::PrescriberOnly));
    }
    let (request, index) = match line_checks(&ctx, record, action) {
        Ok(found) => found,
        Err(refused) => return Ok(*refused),
    };
    let status = request.lines[index].state.status();
    if status != LineStatus::Requested {
        return Ok(ctx.refuse(PrescribingRefusal::LineNotRequested { status }));
    }
    Ok(move_line(
        &ctx,
        record,
        request,
        index,
        LineState::Rejected {
            by: staff,
            at: now,
            reason: reason.clone(),
        },
        None,
        Some(("reason", reason)),
    ))
}

/// Decides the issue of an approved line, by a prescriber or by the system
/// confirming an electronic issue. The item's issues left go down by one and
/// its last issue date becomes today (practice-local).
pub fn decide_issue(
    facts: &PrescribingFacts,
    action: &LineAction,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Decision {
    let ctx = action_ctx(action, "prescription.issue", now, ids);
    let record = &facts.record;
    if !(prescriber(&action.actor) || matches!(action.actor, Actor::System)) {
        return ctx.refuse(PrescribingRefusal::PrescriberOnly);
    }
    let (request, index) = match line_checks(&ctx, record, action) {
        Ok(found) => found,
        Err(refused) => return *refused,
    };
    let LineState::Approved {
        by: approved_by, ..
    } = request.lines[index].state
    else {
        return ctx.refuse(PrescribingRefusal::LineNotApproved {
            status: request.lines[index].state.status(),
        });
    };
    let Some(item) = record.item(action.item) else {
        return ctx.refuse(PrescribingRefusal::ItemNotOnList);
    };
    if item.issues_remaining == 0 {
        return ctx.refuse(PrescribingRefusal::NoIssuesLeft);
    }
    let mut item = item.clone();
    item.issues_remaining -= 1;
    item.last_issued = Some(local_date(now));
    let left = item.issues_remaining.to_string();
    move_line(
        &ctx,
        record,
        request,
        index,
        LineState::Issued {
            approved_by,
            by: action.actor,
            at: now,
        },
        Some(item),
        Some(("issues_remaining", left)),
    )
}
