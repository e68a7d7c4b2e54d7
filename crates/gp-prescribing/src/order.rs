//! Ordering repeat medicines: online, by telephone, on paper or from a pharmacy.

use chrono::{DateTime, Utc};
use gp_core::{local_date, Actor, AuditEvent, IdSource, Outcome, Reason, RequestId, SubjectKind};

use crate::error::RequestError;
use crate::refusal::PrescribingRefusal;
use crate::request::{LineState, RepeatRequest, RequestChannel, RequestLine, RestrictionScope};

use crate::decision::*;
use crate::rules::*;

/// Decides a repeat request.
///
/// Request-wide rules come first (channel, actor, restrictions, online
/// ordering, number of items, message), and refuse the whole request. Then
/// each item is checked on its own: an item not on the list, ended, or with an
/// open request is refused on every channel; online, an item past its review
/// date, with no issues left, or ordered too early is refused too, while a
/// request entered by staff keeps it with a [`Concern`](crate::Concern) for the prescriber.
/// The request goes through with the items that pass; each refused item has
/// its own audit event. If every item is refused, the request is refused.
///
/// The online-only settings (number of items, messages) do not bind staff
/// entering a telephone, paper or pharmacy request.
pub fn decide_request(
    facts: &PrescribingFacts,
    request: &OrderRequest,
    now: DateTime<Utc>,
    ids: &dyn IdSource,
) -> Result<Decision<OrderRefused>, RequestError> {
    request.check()?;
    let record = &facts.record;
    let settings = &facts.settings.settings;
    let online = request.channel == RequestChannel::Online;
    let ctx = Ctx {
        ids,
        now,
        actor: request.actor,
        channel: request.channel.audit_channel(),
        patient: Some(request.patient),
        action: "prescription.request",
    };
    let with_items = |mut e: AuditEvent| {
        for item in &request.items {
            e = e.with_subject(SubjectKind::Medication, *item);
        }
        e.with_detail("request_channel", request.channel.to_string())
    };
    let refuse = |reason| {
        Ok(ctx
            .refuse_with(reason, with_items)
            .map_refusal(OrderRefused::whole))
    };
    let actor_online = matches!(request.actor, Actor::Patient { .. } | Actor::Proxy { .. });
    let channel_ok = if online {
        actor_online
    } else {
        request.actor.is_staff()
    };
    if !channel_ok {
        return refuse(PrescribingRefusal::ChannelNotAllowed);
    }
    if !acts_for(&request.actor, request.patient) || record.patient != request.patient {
        return refuse(PrescribingRefusal::ActorNotForPatient);
    }
    match record.restriction.as_ref().map(|r| r.scope) {
        Some(RestrictionScope::AllChannels) => {
            return refuse(PrescribingRefusal::OrderingDisabledForPatient)
        }
        Some(RestrictionScope::Online) if online => {
            return refuse(PrescribingRefusal::OnlineOrderingDisabledForPatient)
        }
        _ => {}
    }
    if online {
        if !settings.online_ordering {
            return refuse(PrescribingRefusal::OnlineOrderingOff);
        }
        let max = settings.max_items_per_request;
        if request.items.len() > max as usize {
            return refuse(PrescribingRefusal::TooManyItems { max });
        }
        if let Some(m) = &request.message {
            if !settings.messages_allowed {
                return refuse(PrescribingRefusal::MessagesNotAllowed);
            }
            let max = settings.max_message_chars;
            if m.chars().count() > max as usize {
                return refuse(PrescribingRefusal::MessageTooLong { max });
            }
        }
    }

    let today = local_date(now);
    let mut lines = Vec::new();
    let mut refused = Vec::new();
    for &id in &request.items {
        if let Some(reason) = item_refusal(record, id) {
            refused.push(LineRefusal { item: id, reason });
            continue;
        }
        let Some(item) = record.item(id) else {
            continue;
        };
        let concerns = online_item_concerns(item, settings, today);
        match concerns.first() {
            Some(first) if online => refused.push(LineRefusal {
                item: id,
                reason: concern_refusal(first),
            }),
            _ => lines.push(RequestLine {
                item: id,
                state: LineState::Requested,
                concerns,
            }),
        }
    }
    let line_events: Vec<AuditEvent> = refused
        .iter()
        .map(|r| {
            let mut e = ctx
                .event(Outcome::Refused(r.reason.reason_code()))
                .with_subject(SubjectKind::Medication, r.item)
                .with_detail("request_channel", request.channel.to_string());
            if let PrescribingRefusal::TooEarlyToReorder { earliest } = &r.reason {
                e = e.with_detail("earliest", earliest.to_string());
            }
            e
        })
        .collect();
    if lines.is_empty() {
        let reason = refused
            .first()
            .map(|r| r.reason.clone())
            .unwrap_or(PrescribingRefusal::ItemNotOnList);
        return Ok(Decision::Refused(Refusal {
            reason: OrderRefused {
                reason,
                lines: refused,
            },
            events: line_events,
        }));
    }
    let new = RepeatRequest {
        id: RequestId::new(ids),
        patient: request.patient,
        channel: request.channel,
        made_by: request.actor,
        at: now,
        message: request.message.clone(),
        lines,
    };
    let mut event = ctx
        .event(Outcome::Allowed)
        .with_subject(SubjectKind::Request, new.id)
        .with_detail("request_channel", request.channel.to_string())
        .with_detail("items", new.lines.len().to_string());
    for line in &new.lines {
        event = event.with_subject(SubjectKind::Medication, line.item);
    }
    if new.message.is_some() {
        event = event.with_detail("message", "yes");
    }
    let mut preconditions = vec![
        Precondition::PatientUnchanged {
            patient: record.patient,
            version: record.version,
        },
        Precondition::SettingsUnchanged {
            version: facts.settings.version,
        },
    ];
    preconditions.extend(
        new.lines
            .iter()
            .map(|l| Precondition::NoOpenRequest(l.item)),
    );
    let mut events = vec![event];
    events.extend(line_events);
    Ok(Decision::Allowed(Committable {
        change: PrescribingChange {
            patient: Some(request.patient),
            requests: vec![new],
            refused_lines: refused,
            ..PrescribingChange::default()
        },
        events,
        preconditions,
    }))
}
