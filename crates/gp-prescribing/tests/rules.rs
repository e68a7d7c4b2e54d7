//! One allowed and one refused case for every prescribing setting and reason code.

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use gp_core::{
    Actor, Channel, MedicationId, Outcome, PatientId, ProxyId, Reason, RequestId, SequentialIds,
    StaffId, StaffRole,
};
use gp_prescribing::*;

struct T {
    ids: SequentialIds,
    now: DateTime<Utc>,
    patient: PatientId,
    facts: PrescribingFacts,
}

fn today() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 6, 10).unwrap()
}

impl T {
    /// A patient with one item (index 0) last issued 25 days ago (28-day supply).
    fn new() -> Self {
        let ids = SequentialIds::new(77);
        let patient = PatientId::new(&ids);
        let mut t = Self {
            now: Utc.with_ymd_and_hms(2026, 6, 10, 9, 0, 0).unwrap(),
            patient,
            facts: PrescribingFacts {
                settings: SettingsFacts::default(),
                record: PatientRecord::empty(patient),
            },
            ids,
        };
        t.add_item(|_| {});
        t
    }

    fn add_item(&mut self, edit: impl FnOnce(&mut RepeatItem)) -> MedicationId {
        let mut item = RepeatItem::new(
            MedicationId::new(&self.ids),
            self.patient,
            &ItemSpec {
                drug: "Paracetamol 500mg tablets",
                concept: "322236009",
                dosage: "Two tablets four times a day",
                amount: 100,
                unit: "tablet",
                issue_duration_days: 28,
                issues_authorised: 6,
                issues_remaining: 3,
                last_issued: Some(today() - Duration::days(25)),
                review_date: today() + Duration::days(90),
            },
        )
        .unwrap();
        edit(&mut item);
        let id = item.id;
        self.facts.record.items.push(item);
        id
    }

    fn item(&self, i: usize) -> MedicationId {
        self.facts.record.items[i].id
    }

    fn me(&self) -> Actor {
        Actor::Patient {
            patient: self.patient,
        }
    }

    fn staff(&self, role: StaffRole) -> Actor {
        Actor::Staff {
            staff: StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(role as u128 + 1)),
            role,
        }
    }

    fn order_by(
        &self,
        actor: Actor,
        channel: RequestChannel,
        items: Vec<MedicationId>,
        message: Option<&str>,
    ) -> Decision<OrderRefused> {
        let request = OrderRequest::new(actor, channel, self.patient, items, message).unwrap();
        decide_request(&self.facts, &request, self.now, &self.ids).unwrap()
    }

    fn online(&self, items: Vec<MedicationId>) -> Decision<OrderRefused> {
        self.order_by(self.me(), RequestChannel::Online, items, None)
    }

    fn phone(&self, items: Vec<MedicationId>) -> Decision<OrderRefused> {
        self.order_by(
            self.staff(StaffRole::Receptionist),
            RequestChannel::Telephone,
            items,
            None,
        )
    }

    /// Applies an allowed decision to the facts, as a store would.
    fn apply<R: std::fmt::Debug>(&mut self, d: &Decision<R>) {
        let Decision::Allowed(c) = d else {
            panic!("expected allowed, got {:?}", d.refusal())
        };
        let record = &mut self.facts.record;
        for item in &c.change.items {
            match record.items.iter_mut().find(|i| i.id == item.id) {
                Some(stored) => *stored = item.clone(),
                None => record.items.push(item.clone()),
            }
        }
        for r in &c.change.requests {
            match record.requests.iter_mut().find(|q| q.id == r.id) {
                Some(stored) => *stored = r.clone(),
                None => record.requests.push(r.clone()),
            }
        }
        match &c.change.restriction {
            Some(RestrictionChange::Set(r)) => record.restriction = Some(r.clone()),
            Some(RestrictionChange::Lift) => record.restriction = None,
            None => {}
        }
        if c.change.patient.is_some() {
            record.version += 1;
        }
        if let Some(s) = &c.change.settings {
            self.facts.settings.settings = s.clone();
            self.facts.settings.version += 1;
        }
    }

    fn line(&self, actor: Actor, request: RequestId, item: MedicationId) -> LineAction {
        LineAction {
            actor,
            channel: match actor {
                Actor::Staff { .. } => Channel::Reception,
                Actor::System => Channel::Internal,
                _ => Channel::Online,
            },
            patient: self.patient,
            request,
            item,
        }
    }

    /// Places an online request for item 0 and returns its id.
    fn requested(&mut self) -> RequestId {
        let d = self.online(vec![self.item(0)]);
        self.apply(&d);
        self.facts.record.requests.last().unwrap().id
    }
}

/// The reason of a refusal, whether of a request (with its lines) or of
/// anything else.
trait AsReason {
    fn as_reason(&self) -> &PrescribingRefusal;
}

impl AsReason for PrescribingRefusal {
    fn as_reason(&self) -> &PrescribingRefusal {
        self
    }
}

impl AsReason for OrderRefused {
    fn as_reason(&self) -> &PrescribingRefusal {
        &self.reason
    }
}

fn refused<R: AsReason>(d: &Decision<R>) -> PrescribingRefusal {
    match d {
        Decision::Refused(r) => {
            let reason = r.reason.as_reason();
            assert!(!r.events.is_empty(), "a refusal is audited");
            assert!(r
                .events
                .iter()
                .all(|e| matches!(e.outcome, Outcome::Refused(_))));
            assert!(r
                .events
                .iter()
                .any(|e| e.outcome == Outcome::Refused(reason.reason_code())));
            reason.clone()
        }
        Decision::Allowed(_) => panic!("expected a refusal"),
    }
}

fn allowed<R: AsReason>(d: &Decision<R>) -> &Committable {
    match d {
        Decision::Allowed(c) => {
            assert!(c.events.iter().any(|e| e.outcome == Outcome::Allowed));
            c
        }
        Decision::Refused(r) => panic!("expected allowed, got {}", r.reason.as_reason().code()),
    }
}

#[test]
fn online_ordering_off_refuses_online_but_not_telephone() {
    let mut t = T::new();
    assert!(t.online(vec![t.item(0)]).refusal().is_none());
    t.facts.settings.settings.online_ordering = false;
    assert_eq!(
        refused(&t.online(vec![t.item(0)])),
        PrescribingRefusal::OnlineOrderingOff
    );
    allowed(&t.phone(vec![t.item(0)]));
}

#[test]
fn a_patient_restriction_stops_online_or_every_channel() {
    let mut t = T::new();
    let gp = t.staff(StaffRole::Gp);
    let d = decide_restriction(
        &t.facts,
        gp,
        Channel::Reception,
        Some((
            RestrictionScope::Online,
            "Cannot keep to allowed quantities",
        )),
        t.now,
        &t.ids,
    )
    .unwrap();
    t.apply(&d);
    let r = t.facts.record.restriction.clone().unwrap();
    assert_eq!(
        (r.decided_by, r.reason.as_str()),
        (
            StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(StaffRole::Gp as u128 + 1)),
            "Cannot keep to allowed quantities"
        )
    );
    assert_eq!(
        refused(&t.online(vec![t.item(0)])),
        PrescribingRefusal::OnlineOrderingDisabledForPatient
    );
    allowed(&t.phone(vec![t.item(0)]));

    let d = decide_restriction(
        &t.facts,
        gp,
        Channel::Reception,
        Some((
            RestrictionScope::AllChannels,
            "Prescribe in consultation only",
        )),
        t.now,
        &t.ids,
    )
    .unwrap();
    t.apply(&d);
    assert_eq!(
        refused(&t.phone(vec![t.item(0)])),
        PrescribingRefusal::OrderingDisabledForPatient
    );

    let d = decide_restriction(&t.facts, gp, Channel::Reception, None, t.now, &t.ids).unwrap();
    t.apply(&d);
    allowed(&t.online(vec![t.item(0)]));
}

#[test]
fn restrictions_need_a_reason_and_a_permitted_role() {
    let t = T::new();
    for role in [StaffRole::Receptionist, StaffRole::HealthcareAssistant] {
        let d = decide_restriction(
            &t.facts,
            t.staff(role),
            Channel::Reception,
            Some((RestrictionScope::Online, "x")),
            t.now,
            &t.ids,
        )
        .unwrap();
        assert_eq!(refused(&d), PrescribingRefusal::RoleNotPermitted);
    }
    for role in [
        StaffRole::Gp,
        StaffRole::Nurse,
        StaffRole::Pharmacist,
        StaffRole::PracticeManager,
    ] {
        let d = decide_restriction(
            &t.facts,
            t.staff(role),
            Channel::Reception,
            Some((RestrictionScope::Online, "x")),
            t.now,
            &t.ids,
        )
        .unwrap();
        allowed(&d);
    }
    assert!(decide_restriction(
        &t.facts,
        t.staff(StaffRole::Gp),
        Channel::Reception,
        Some((RestrictionScope::Online, "  ")),
        t.now,
        &t.ids
    )
    .is_err());
    let d = decide_restriction(&t.facts, t.me(), Channel::Online, None, t.now, &t.ids).unwrap();
    assert_eq!(refused(&d), PrescribingRefusal::RoleNotPermitted);
}

#[test]
fn items_not_on_the_list_or_ended_are_refused_on_every_channel() {
    let mut t = T::new();
    let stranger = MedicationId::new(&t.ids);
    assert_eq!(
        refused(&t.online(vec![stranger])),
        PrescribingRefusal::ItemNotOnList
    );
    assert_eq!(
        refused(&t.phone(vec![stranger])),
        PrescribingRefusal::ItemNotOnList
    );
    let ended = t.add_item(|i| {
        i.status = ItemStatus::Ended {
            on: today(),
            reason: "Stopped".into(),
        }
    });
    assert_eq!(
        refused(&t.online(vec![ended])),
        PrescribingRefusal::ItemEnded
    );
    assert_eq!(
        refused(&t.phone(vec![ended])),
        PrescribingRefusal::ItemEnded
    );
}

#[test]
fn review_overdue_refuses_online_and_warns_staff() {
    let mut t = T::new();
    let due_today = t.add_item(|i| i.review_date = today());
    allowed(&t.online(vec![due_today]));
    let overdue = t.add_item(|i| i.review_date = today() - Duration::days(1));
    assert_eq!(
        refused(&t.online(vec![overdue])),
        PrescribingRefusal::ReviewOverdue {
            review_date: today() - Duration::days(1)
        }
    );
    let c = allowed(&t.phone(vec![overdue])).clone();
    assert_eq!(
        c.change.requests[0].lines[0].concerns,
        vec![Concern::ReviewOverdue {
            review_date: today() - Duration::days(1)
        }]
    );
}

#[test]
fn no_issues_left_refuses_online_and_issuing() {
    let mut t = T::new();
    let one_left = t.add_item(|i| i.issues_remaining = 1);
    allowed(&t.online(vec![one_left]));
    let none_left = t.add_item(|i| i.issues_remaining = 0);
    assert_eq!(
        refused(&t.online(vec![none_left])),
        PrescribingRefusal::NoIssuesLeft
    );
    let d = t.phone(vec![none_left]);
    assert_eq!(
        allowed(&d).change.requests[0].lines[0].concerns,
        vec![Concern::NoIssuesLeft]
    );
    t.apply(&d);
    let request = t.facts.record.requests.last().unwrap().id;
    let gp = t.staff(StaffRole::Gp);
    let approve = decide_approve(&t.facts, &t.line(gp, request, none_left), t.now, &t.ids);
    t.apply(&approve);
    assert_eq!(
        refused(&decide_issue(
            &t.facts,
            &t.line(gp, request, none_left),
            t.now,
            &t.ids
        )),
        PrescribingRefusal::NoIssuesLeft
    );
}

#[test]
fn too_early_follows_the_setting_in_practice_local_dates() {
    let mut t = T::new();
    // Issued 1 June for 28 days: runs out 29 June; 7 days before is 22 June.
    let item = t.add_item(|i| i.last_issued = NaiveDate::from_ymd_opt(2026, 6, 1));
    // 21 June 23:30 UTC is already 22 June 00:30 in the practice (BST).
    t.now = Utc.with_ymd_and_hms(2026, 6, 21, 22, 59, 0).unwrap();
    assert_eq!(
        refused(&t.online(vec![item])),
        PrescribingRefusal::TooEarlyToReorder {
            earliest: NaiveDate::from_ymd_opt(2026, 6, 22).unwrap()
        }
    );
    t.now = Utc.with_ymd_and_hms(2026, 6, 21, 23, 0, 0).unwrap();
    allowed(&t.online(vec![item]));
    // A threshold of 10 days lets it through three days sooner.
    t.now = Utc.with_ymd_and_hms(2026, 6, 19, 9, 0, 0).unwrap();
    assert!(t.online(vec![item]).refusal().is_some());
    t.facts.settings.settings.too_early_days = 10;
    allowed(&t.online(vec![item]));
    // Staff may still enter it, with a concern for the prescriber.
    t.facts.settings.settings.too_early_days = 0;
    let c = allowed(&t.phone(vec![item])).clone();
    assert_eq!(
        c.change.requests[0].lines[0].concerns,
        vec![Concern::TooEarly {
            earliest: NaiveDate::from_ymd_opt(2026, 6, 29).unwrap()
        }]
    );
    // Never issued: never too early.
    let fresh = t.add_item(|i| i.last_issued = None);
    allowed(&t.online(vec![fresh]));
}

#[test]
fn an_open_request_makes_another_a_duplicate_until_it_closes() {
    let mut t = T::new();
    let request = t.requested();
    assert_eq!(
        refused(&t.online(vec![t.item(0)])),
        PrescribingRefusal::DuplicateRequest
    );
    assert_eq!(
        refused(&t.phone(vec![t.item(0)])),
        PrescribingRefusal::DuplicateRequest
    );
    let gp = t.staff(StaffRole::Gp);
    let d = decide_approve(&t.facts, &t.line(gp, request, t.item(0)), t.now, &t.ids);
    t.apply(&d);
    assert_eq!(
        refused(&t.online(vec![t.item(0)])),
        PrescribingRefusal::DuplicateRequest,
        "approved is still open"
    );
    let d = decide_issue(&t.facts, &t.line(gp, request, t.item(0)), t.now, &t.ids);
    t.apply(&d);
    allowed(&t.phone(vec![t.item(0)]));
}

#[test]
fn a_rejected_or_cancelled_line_frees_the_item() {
    let mut t = T::new();
    let request = t.requested();
    let gp = t.staff(StaffRole::Gp);
    let d = decide_reject(
        &t.facts,
        &t.line(gp, request, t.item(0)),
        "Please book a review first",
        t.now,
        &t.ids,
    )
    .unwrap();
    t.apply(&d);
    let line = &t.facts.record.requests[0].lines[0];
    assert!(
        matches!(&line.state, LineState::Rejected { reason, .. } if reason == "Please book a review first")
    );
    let request = t.requested();
    let d = decide_cancel_line(&t.facts, &t.line(t.me(), request, t.item(0)), t.now, &t.ids);
    t.apply(&d);
    assert_eq!(
        t.facts.record.requests[1].lines[0].state.status(),
        LineStatus::Cancelled
    );
    allowed(&t.online(vec![t.item(0)]));
}

#[test]
fn messages_follow_the_settings() {
    let mut t = T::new();
    let item = t.item(0);
    let me = t.me();
    let max = t.facts.settings.settings.max_message_chars as usize;
    let exact = "a".repeat(max);
    let c = allowed(&t.order_by(me, RequestChannel::Online, vec![item], Some(&exact))).clone();
    assert_eq!(
        c.change.requests[0].message.as_deref(),
        Some(exact.as_str())
    );
    let long = "a".repeat(max + 1);
    assert_eq!(
        refused(&t.order_by(me, RequestChannel::Online, vec![item], Some(&long))),
        PrescribingRefusal::MessageTooLong { max: max as u32 }
    );
    t.facts.settings.settings.messages_allowed = false;
    assert_eq!(
        refused(&t.order_by(me, RequestChannel::Online, vec![item], Some("Thanks"))),
        PrescribingRefusal::MessagesNotAllowed
    );
    allowed(&t.order_by(me, RequestChannel::Online, vec![item], Some("   ")));
    allowed(&t.order_by(
        t.staff(StaffRole::Receptionist),
        RequestChannel::Paper,
        vec![item],
        Some("Handed in at the desk"),
    ));
}

#[test]
fn too_many_items_follows_the_setting_online() {
    let mut t = T::new();
    t.facts.settings.settings.max_items_per_request = 2;
    t.add_item(|_| {});
    t.add_item(|_| {});
    assert_eq!(
        refused(&t.online(vec![t.item(0), t.item(1), t.item(2)])),
        PrescribingRefusal::TooManyItems { max: 2 }
    );
    allowed(&t.online(vec![t.item(0), t.item(1)]));
    assert_eq!(
        allowed(&t.phone(vec![t.item(0), t.item(1), t.item(2)]))
            .change
            .requests[0]
            .lines
            .len(),
        3
    );
}

#[test]
fn only_the_patient_or_their_proxy_orders_online_and_staff_on_other_channels() {
    let t = T::new();
    let other = PatientId::new(&t.ids);
    let item = t.item(0);
    assert_eq!(
        refused(&t.order_by(
            Actor::Patient { patient: other },
            RequestChannel::Online,
            vec![item],
            None
        )),
        PrescribingRefusal::ActorNotForPatient
    );
    let proxy = ProxyId::new(&t.ids);
    assert_eq!(
        refused(&t.order_by(
            Actor::Proxy {
                proxy,
                for_patient: other
            },
            RequestChannel::Online,
            vec![item],
            None
        )),
        PrescribingRefusal::ActorNotForPatient
    );
    allowed(&t.order_by(
        Actor::Proxy {
            proxy,
            for_patient: t.patient,
        },
        RequestChannel::Online,
        vec![item],
        None,
    ));
    assert_eq!(
        refused(&t.order_by(t.me(), RequestChannel::Telephone, vec![item], None)),
        PrescribingRefusal::ChannelNotAllowed
    );
    assert_eq!(
        refused(&t.order_by(
            t.staff(StaffRole::Receptionist),
            RequestChannel::Online,
            vec![item],
            None
        )),
        PrescribingRefusal::ChannelNotAllowed
    );
    assert_eq!(
        refused(&t.order_by(Actor::System, RequestChannel::Pharmacy, vec![item], None)),
        PrescribingRefusal::ChannelNotAllowed
    );
    let c = allowed(&t.order_by(
        t.staff(StaffRole::Receptionist),
        RequestChannel::Pharmacy,
        vec![item],
        None,
    ))
    .clone();
    assert_eq!(c.events[0].channel, Channel::Reception);
}

#[test]
fn only_prescribers_approve_reject_issue_review_and_change_items() {
    let mut t = T::new();
    let request = t.requested();
    let item = t.item(0);
    for role in [
        StaffRole::Receptionist,
        StaffRole::HealthcareAssistant,
        StaffRole::PracticeManager,
    ] {
        let a = t.line(t.staff(role), request, item);
        assert_eq!(
            refused(&decide_approve(&t.facts, &a, t.now, &t.ids)),
            PrescribingRefusal::PrescriberOnly
        );
        assert_eq!(
            refused(&decide_reject(&t.facts, &a, "No", t.now, &t.ids).unwrap()),
            PrescribingRefusal::PrescriberOnly
        );
        assert_eq!(
            refused(&decide_issue(&t.facts, &a, t.now, &t.ids)),
            PrescribingRefusal::PrescriberOnly
        );
        let i = ItemAction {
            actor: t.staff(role),
            channel: Channel::Reception,
            patient: t.patient,
            item,
        };
        assert_eq!(
            refused(&decide_review(&t.facts, &i, &ReviewOutcome::Keep, t.now, &t.ids).unwrap()),
            PrescribingRefusal::PrescriberOnly
        );
        let stored = t.facts.record.items[0].clone();
        assert_eq!(
            refused(
                &decide_put_item(
                    &t.facts,
                    t.staff(role),
                    Channel::Reception,
                    &stored,
                    t.now,
                    &t.ids
                )
                .unwrap()
            ),
            PrescribingRefusal::PrescriberOnly
        );
    }
    let a = t.line(t.me(), request, item);
    assert_eq!(
        refused(&decide_approve(&t.facts, &a, t.now, &t.ids)),
        PrescribingRefusal::PrescriberOnly
    );
    for role in [StaffRole::Gp, StaffRole::Nurse, StaffRole::Pharmacist] {
        allowed(&decide_approve(
            &t.facts,
            &t.line(t.staff(role), request, item),
            t.now,
            &t.ids,
        ));
    }
    let d = decide_approve(
        &t.facts,
        &t.line(t.staff(StaffRole::Pharmacist), request, item),
        t.now,
        &t.ids,
    );
    t.apply(&d);
    // The system confirms an electronic issue.
    let d = decide_issue(
        &t.facts,
        &t.line(Actor::System, request, item),
        t.now,
        &t.ids,
    );
    let c = allowed(&d).clone();
    assert_eq!(c.change.items[0].issues_remaining, 2);
    assert_eq!(c.change.items[0].last_issued, Some(today()));
    assert!(matches!(
        c.change.requests[0].lines[0].state,
        LineState::Issued {
            by: Actor::System,
            ..
        }
    ));
}

#[test]
fn settings_are_changed_by_staff_within_range() {
    let t = T::new();
    let s = PrescribingSettings {
        too_early_days: 5,
        ..PrescribingSettings::default()
    };
    // Which members of staff may is the access matrix's question (gp-access);
    // this crate's floor is staff only.
    for role in StaffRole::ALL {
        let c = allowed(
            &decide_settings(
                &t.facts.settings,
                t.staff(role),
                Channel::Reception,
                &s,
                t.now,
                &t.ids,
            )
            .unwrap(),
        )
        .clone();
        assert_eq!(c.change.settings, Some(s.clone()));
        assert_eq!(
            c.events[0]
                .details
                .get("too_early_days")
                .map(String::as_str),
            Some("5")
        );
    }
    for actor in [t.me(), Actor::System] {
        let channel = if actor == Actor::System {
            Channel::Internal
        } else {
            Channel::Online
        };
        assert_eq!(
            refused(
                &decide_settings(&t.facts.settings, actor, channel, &s, t.now, &t.ids).unwrap()
            ),
            PrescribingRefusal::RoleNotPermitted
        );
    }
    let bad = PrescribingSettings {
        max_items_per_request: 0,
        ..PrescribingSettings::default()
    };
    assert_eq!(
        decide_settings(
            &t.facts.settings,
            t.staff(StaffRole::Gp),
            Channel::Reception,
            &bad,
            t.now,
            &t.ids
        ),
        Err(SettingsError::MaxItems(0))
    );
}

#[test]
fn line_actions_need_the_request_the_line_and_the_right_state() {
    let mut t = T::new();
    let request = t.requested();
    let gp = t.staff(StaffRole::Gp);
    let item = t.item(0);
    assert_eq!(
        refused(&decide_approve(
            &t.facts,
            &t.line(gp, RequestId::new(&t.ids), item),
            t.now,
            &t.ids
        )),
        PrescribingRefusal::RequestNotFound
    );
    assert_eq!(
        refused(&decide_approve(
            &t.facts,
            &t.line(gp, request, MedicationId::new(&t.ids)),
            t.now,
            &t.ids
        )),
        PrescribingRefusal::LineNotFound
    );
    assert_eq!(
        refused(&decide_issue(
            &t.facts,
            &t.line(gp, request, item),
            t.now,
            &t.ids
        )),
        PrescribingRefusal::LineNotApproved {
            status: LineStatus::Requested
        }
    );
    let d = decide_approve(&t.facts, &t.line(gp, request, item), t.now, &t.ids);
    t.apply(&d);
    assert_eq!(
        refused(&decide_cancel_line(
            &t.facts,
            &t.line(t.me(), request, item),
            t.now,
            &t.ids
        )),
        PrescribingRefusal::LineNotRequested {
            status: LineStatus::Approved
        }
    );
    assert_eq!(
        refused(&decide_approve(
            &t.facts,
            &t.line(gp, request, item),
            t.now,
            &t.ids
        )),
        PrescribingRefusal::LineNotRequested {
            status: LineStatus::Approved
        }
    );
    // Another patient cannot cancel this patient's line.
    let stranger = Actor::Patient {
        patient: PatientId::new(&t.ids),
    };
    assert_eq!(
        refused(&decide_cancel_line(
            &t.facts,
            &t.line(stranger, request, item),
            t.now,
            &t.ids
        )),
        PrescribingRefusal::ActorNotForPatient
    );
}

#[test]
fn a_request_goes_through_with_the_items_that_pass() {
    let mut t = T::new();
    let early = t.add_item(|i| i.last_issued = Some(today() - Duration::days(2)));
    let d = t.online(vec![t.item(0), early]);
    let c = allowed(&d);
    assert_eq!(c.change.requests[0].lines.len(), 1);
    assert_eq!(c.change.refused_lines.len(), 1);
    assert_eq!(c.change.refused_lines[0].item, early);
    assert_eq!(c.change.refused_lines[0].reason.code(), "TooEarlyToReorder");
    assert_eq!(
        c.events.len(),
        2,
        "one event for the request, one for the refused item"
    );
    assert_eq!(
        c.events[1].outcome,
        Outcome::Refused(c.change.refused_lines[0].reason.reason_code())
    );
    assert!(c
        .preconditions
        .contains(&Precondition::NoOpenRequest(t.item(0))));
    // Every item refused: the request is refused, each item with its reason.
    let Decision::Refused(r) = t.online(vec![early, MedicationId::new(&t.ids)]) else {
        panic!("refused")
    };
    assert_eq!(r.reason.reason.code(), "TooEarlyToReorder");
    assert_eq!(
        r.reason
            .lines
            .iter()
            .map(|l| l.reason.code())
            .collect::<Vec<_>>(),
        vec!["TooEarlyToReorder", "ItemNotOnList"]
    );
    assert_eq!(r.events.len(), 2);
}

#[test]
fn flags_and_reviews_put_items_on_and_off_the_review_list() {
    let mut t = T::new();
    let item = t.item(0);
    let i = ItemAction {
        actor: t.me(),
        channel: Channel::Online,
        patient: t.patient,
        item,
    };
    let gp = ItemAction {
        actor: t.staff(StaffRole::Gp),
        channel: Channel::Reception,
        ..i
    };
    assert_eq!(
        refused(&decide_review(&t.facts, &gp, &ReviewOutcome::Keep, t.now, &t.ids).unwrap()),
        PrescribingRefusal::NotFlaggedForReview
    );
    let d =
        decide_flag_not_taken(&t.facts, &i, Some("Stopped in hospital"), t.now, &t.ids).unwrap();
    t.apply(&d);
    assert_eq!(
        t.facts.record.items[0].not_taken.as_ref().map(|f| f.by),
        Some(t.me())
    );
    let d = decide_review(
        &t.facts,
        &gp,
        &ReviewOutcome::End("Stopped by the hospital".into()),
        t.now,
        &t.ids,
    )
    .unwrap();
    t.apply(&d);
    assert!(t.facts.record.items[0].not_taken.is_none());
    assert!(!t.facts.record.items[0].is_active());
    assert_eq!(
        refused(&decide_flag_not_taken(&t.facts, &i, None, t.now, &t.ids).unwrap()),
        PrescribingRefusal::ItemEnded
    );
    let missing = ItemAction {
        item: MedicationId::new(&t.ids),
        ..i
    };
    assert_eq!(
        refused(&decide_flag_not_taken(&t.facts, &missing, None, t.now, &t.ids).unwrap()),
        PrescribingRefusal::ItemNotOnList
    );
}

#[test]
fn flags_and_reviews_refuse_the_wrong_channel_and_anyone_not_for_the_patient() {
    let t = T::new();
    let item = t.item(0);
    let other = PatientId::new(&t.ids);
    let mine = ItemAction {
        actor: t.me(),
        channel: Channel::Online,
        patient: t.patient,
        item,
    };
    let gp = ItemAction {
        actor: t.staff(StaffRole::Gp),
        channel: Channel::Reception,
        ..mine
    };
    let flag =
        |a: &ItemAction| refused(&decide_flag_not_taken(&t.facts, a, None, t.now, &t.ids).unwrap());
    let review = |a: &ItemAction| {
        refused(&decide_review(&t.facts, a, &ReviewOutcome::Keep, t.now, &t.ids).unwrap())
    };
    // Another patient on this patient's list, or this patient naming another's.
    let stranger = ItemAction {
        actor: Actor::Patient { patient: other },
        ..mine
    };
    assert_eq!(flag(&stranger), PrescribingRefusal::ActorNotForPatient);
    let elsewhere = ItemAction {
        actor: Actor::Patient { patient: other },
        patient: other,
        ..mine
    };
    assert_eq!(flag(&elsewhere), PrescribingRefusal::ActorNotForPatient);
    let gp_elsewhere = ItemAction {
        patient: other,
        ..gp
    };
    assert_eq!(
        review(&gp_elsewhere),
        PrescribingRefusal::ActorNotForPatient
    );
    // The wrong channel for who acts, and the system, which never flags.
    let by_phone = ItemAction {
        channel: Channel::Telephone,
        ..mine
    };
    assert_eq!(flag(&by_phone), PrescribingRefusal::ChannelNotAllowed);
    let system = ItemAction {
        actor: Actor::System,
        channel: Channel::Internal,
        ..mine
    };
    assert_eq!(flag(&system), PrescribingRefusal::ChannelNotAllowed);
    let gp_online = ItemAction {
        channel: Channel::Online,
        ..gp
    };
    assert_eq!(review(&gp_online), PrescribingRefusal::ChannelNotAllowed);
    // A review of an item not on the list.
    let missing = ItemAction {
        item: MedicationId::new(&t.ids),
        ..gp
    };
    assert_eq!(review(&missing), PrescribingRefusal::ItemNotOnList);
}

#[test]
fn bad_input_is_an_error_not_a_decision() {
    let t = T::new();
    let me = t.me();
    assert_eq!(
        OrderRequest::new(me, RequestChannel::Online, t.patient, vec![], None),
        Err(RequestError::NoItems)
    );
    assert_eq!(
        OrderRequest::new(
            me,
            RequestChannel::Online,
            t.patient,
            vec![t.item(0), t.item(0)],
            None
        ),
        Err(RequestError::RepeatedItem(t.item(0)))
    );
    assert!(OrderRequest::new(
        me,
        RequestChannel::Online,
        t.patient,
        vec![t.item(0)],
        Some("bell\u{7}")
    )
    .is_err());
    // A request built field by field is checked too.
    let raw = OrderRequest {
        actor: me,
        channel: RequestChannel::Online,
        patient: t.patient,
        items: vec![],
        message: None,
    };
    assert_eq!(
        decide_request(&t.facts, &raw, t.now, &t.ids),
        Err(RequestError::NoItems)
    );
    let mut item = t.facts.record.items[0].clone();
    item.issues_remaining = item.issues_authorised + 1;
    assert!(matches!(
        decide_put_item(
            &t.facts,
            Actor::System,
            Channel::Internal,
            &item,
            t.now,
            &t.ids
        ),
        Err(ItemError::MoreRemainingThanAuthorised { .. })
    ));
    assert!(decide_reject(
        &t.facts,
        &t.line(t.staff(StaffRole::Gp), RequestId::new(&t.ids), t.item(0)),
        "",
        t.now,
        &t.ids
    )
    .is_err());
    let spec = ItemSpec {
        drug: "X",
        concept: "322236008",
        dosage: "",
        amount: 1,
        unit: "tablet",
        issue_duration_days: 28,
        issues_authorised: 1,
        issues_remaining: 1,
        last_issued: None,
        review_date: today(),
    };
    assert!(matches!(
        RepeatItem::new(MedicationId::new(&t.ids), t.patient, &spec),
        Err(ItemError::Concept(ConceptIdError::CheckDigit(_)))
    ));
    let spec = ItemSpec {
        concept: "322236009",
        issue_duration_days: 0,
        ..spec
    };
    assert_eq!(
        RepeatItem::new(MedicationId::new(&t.ids), t.patient, &spec),
        Err(ItemError::IssueDuration(0))
    );
}

#[test]
fn every_reason_code_is_distinct_and_readable() {
    use PrescribingRefusal::*;
    let d = today();
    let all = [
        OnlineOrderingOff,
        OnlineOrderingDisabledForPatient,
        OrderingDisabledForPatient,
        ItemNotOnList,
        ItemEnded,
        ReviewOverdue { review_date: d },
        NoIssuesLeft,
        TooEarlyToReorder { earliest: d },
        DuplicateRequest,
        MessagesNotAllowed,
        MessageTooLong { max: 1 },
        TooManyItems { max: 1 },
        ActorNotForPatient,
        ChannelNotAllowed,
        PrescriberOnly,
        RoleNotPermitted,
        RequestNotFound,
        LineNotFound,
        LineNotRequested {
            status: LineStatus::Issued,
        },
        LineNotApproved {
            status: LineStatus::Requested,
        },
        NotFlaggedForReview,
    ];
    let codes: std::collections::BTreeSet<_> = all.iter().map(|r| r.code()).collect();
    assert_eq!(codes.len(), all.len());
    for r in &all {
        assert!(gp_core::ReasonCode::parse(r.code()).is_ok());
        assert!(r.to_string().ends_with('.'), "{r}");
    }
}
