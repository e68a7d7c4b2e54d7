//! `Practice` is the one door, and it is shut to those the records shut
//! out: every public method that acts for somebody, called as a revoked
//! proxy, an expired proxy, a suspended patient, a patient under coercion
//! review and a member of staff nobody recorded, is refused with the right
//! reason code and exactly one audit event, on a real SQLite file.

use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use gp_access::{
    AccessSettings, AccessStore, Action, ApplicationVerdict, By, Competency, ConcernOutcome,
    Designation, IdentityVerification, LegalBasis, ListedPatient, PatientList,
    ProxyApplicationInput, Registration, RegistrationKind, SeenAlone, Service, StaffProfile,
    SuspensionReason, VerificationMethod,
};
use gp_booking::{
    AmendRequest, BookRequest, BookingPolicy, BookingStore, CancelRequest, CancellationReason,
    RescheduleRequest, SearchQuery, Slot, SlotAvailability, SlotType,
};
use gp_core::{
    local_date, Actor, Channel, Clock, ConcernId, FixedClock, OdsCode, Outcome, PatientId, ProxyId,
    SeededRandom, SequentialIds, StaffId, StaffRole,
};
use gp_messaging::{InboxMove, MessageAction, MessagingSettings, NewMessage};
use gp_online::{Answer, Practice, PrescriberMove, Refused};
use gp_prescribing::{
    ItemAction, LineAction, OrderRequest, PrescribingSettings, RepeatItem, RequestChannel,
    RestrictionScope, ReviewOutcome,
};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, nhs_number, practice as fixture, repeat_item};

mod common;

type P = Practice<SqliteStore, FixedClock>;

/// Who acts, and what of theirs the walk acts on.
struct Target {
    who: &'static str,
    by: By,
    patient: PatientId,
    booking: gp_core::BookingId,
    request: gp_core::RequestId,
    item: RepeatItem,
    message: gp_core::MessageId,
    proxy: ProxyId,
    concern: Option<ConcernId>,
    /// The refusal for the patient's own services.
    service_code: &'static str,
    /// The refusal for staff work.
    staff_code: &'static str,
}

struct World {
    ids: SequentialIds,
    clock: Arc<FixedClock>,
    store: Arc<SqliteStore>,
    p: P,
    desk: By,
    gp: By,
    slots: Vec<Slot>,
    next_slot: std::cell::Cell<usize>,
    next_nhs: std::cell::Cell<u64>,
}

impl World {
    async fn new() -> Self {
        let ids = SequentialIds::new(0xD00);
        let clock = Arc::new(FixedClock::new(monday_morning()));
        let store =
            Arc::new(SqliteStore::open(common::temp_db("gp-online-one-door", "walk")).unwrap());
        let f = fixture(&ids, monday_morning().date_naive());
        for s in f.staff() {
            store.put_staff(&s).await.unwrap();
        }
        store.add_schedule(&f.schedule).await.unwrap();
        let p = Practice::with_sources(
            store.clone(),
            clock.clone(),
            Box::new(SequentialIds::new(1 << 40)),
            Box::new(SeededRandom::new(9)),
        );
        let manager = StaffProfile::new(StaffId::new(&ids), "Manager", StaffRole::PracticeManager);
        let every = [
            Competency::VerifyIdentity,
            Competency::ProxyApplications,
            Competency::RecogniseCoercion,
            Competency::Prescribing,
        ];
        let desk = StaffProfile::new(StaffId::new(&ids), "Desk", StaffRole::Receptionist)
            .with_competencies(every);
        let gp = StaffProfile::new(StaffId::new(&ids), "GP", StaffRole::Gp)
            .with_competencies(every)
            .with_designations([Designation::LeadGp]);
        p.first_manager(&manager).await.unwrap();
        let m = By::staff(&manager, Channel::Reception);
        p.put_staff(&m, &desk).await.unwrap();
        p.put_staff(&m, &gp).await.unwrap();
        let now = clock.now();
        let slots = f
            .schedule
            .slots
            .iter()
            .filter(|s| {
                s.slot_type == SlotType::RoutineGp
                    && s.reserved_for.is_none()
                    && s.availability == SlotAvailability::Open
                    && s.start() > now + Duration::days(3)
            })
            .cloned()
            .collect();
        Self {
            ids,
            clock,
            store,
            p,
            desk: By::staff(&desk, Channel::Reception),
            gp: By::staff(&gp, Channel::Reception),
            slots,
            next_slot: std::cell::Cell::new(0),
            next_nhs: std::cell::Cell::new(0),
        }
    }

    fn slot(&self) -> gp_core::SlotId {
        let i = self.next_slot.replace(self.next_slot.get() + 1);
        self.slots[i].id
    }

    async fn events(&self) -> Vec<gp_core::AuditEvent> {
        AccessStore::audit_events(self.store.as_ref())
            .await
            .unwrap()
    }

    /// A patient on the list, registered online, with a booking, a repeat
    /// request, a message and a proxy (granted from today until `end`).
    async fn patient(&self, basis: LegalBasis, end: Option<NaiveDate>) -> Target {
        let patient = PatientId::new(&self.ids);
        let today = local_date(self.clock.now());
        let dob = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();
        let nhs = nhs_number(self.next_nhs.replace(self.next_nhs.get() + 1));
        self.store
            .put_listed_patient(
                &ListedPatient::new(patient, nhs, dob, RegistrationKind::Regular, today).unwrap(),
            )
            .await
            .unwrap();
        let reg = Registration {
            nhs_number: nhs,
            date_of_birth: dob,
            registration: RegistrationKind::Regular,
            practice: OdsCode::parse("A81001").unwrap(),
        };
        let d = &self.desk;
        done(self.p.register(d, patient, &reg).await.unwrap());
        done(
            self.p
                .verify_identity(d, patient, VerificationMethod::DocumentsSeen)
                .await
                .unwrap(),
        );
        done(
            self.p
                .set_services(d, patient, &Service::ALL.into_iter().collect())
                .await
                .unwrap(),
        );
        let proxy = ProxyId::new(&self.ids);
        let input = ProxyApplicationInput {
            applicant: proxy,
            applicant_name: "Proxy".into(),
            applicant_identity: Some(IdentityVerification {
                method: VerificationMethod::DocumentsSeen,
                verified_by: None,
                at: self.clock.now(),
            }),
            patient_identity_checked: true,
            basis,
            scopes: Service::ALL.into_iter().collect(),
            care_home: None,
        };
        let verdict = ApplicationVerdict::Grant {
            start: today,
            end,
            review: None,
        };
        done(
            self.p
                .proxy_application(d, patient, &input, &verdict)
                .await
                .unwrap(),
        );
        let phone = By {
            actor: d.actor,
            channel: Channel::Telephone,
        };
        let booking = done(
            self.p
                .book(&BookRequest {
                    actor: phone.actor,
                    channel: phone.channel,
                    patient,
                    slot: self.slot(),
                    description: None,
                    comment: None,
                    holding_limit_override: None,
                    organisation_contact: None,
                    adjacent: Vec::new(),
                })
                .await
                .unwrap(),
        );
        let item = repeat_item(&self.ids, patient, 0, None, today);
        let system = By {
            actor: Actor::System,
            channel: Channel::Internal,
        };
        done(self.p.put_item(&system, &item).await.unwrap());
        let me = Actor::Patient { patient };
        let order =
            OrderRequest::new(me, RequestChannel::Online, patient, vec![item.id], None).unwrap();
        let request = done(self.p.order(&order).await.unwrap()).request.id;
        let message =
            NewMessage::new(me, Channel::Online, patient, "Hello", "A question", None).unwrap();
        let message = done(self.p.send(&message).await.unwrap()).id;
        Target {
            who: "",
            by: By::patient_online(patient),
            patient,
            booking: booking.id,
            request,
            item,
            message,
            proxy,
            concern: None,
            service_code: "",
            staff_code: "RoleNotPermitted",
        }
    }
}

#[track_caller]
fn done<T, R: std::fmt::Debug>(a: Answer<T, R>) -> T {
    match a {
        Answer::Done(t) => t,
        Answer::Refused(r) => panic!("set-up refused: {r:?}"),
    }
}

/// One call of the walk: the method, what it answered, and the events it
/// added to the trail.
struct Seen {
    method: &'static str,
    code: Option<&'static str>,
    events: Vec<gp_core::AuditEvent>,
    staff_work: bool,
}

macro_rules! walk {
    ($w:expr, $seen:expr, $staff:expr, $name:literal, $call:expr) => {{
        let before = $w.events().await.len();
        let answer = $call.await.expect($name);
        let after = $w.events().await;
        $seen.push(Seen {
            method: $name,
            code: answer.refusal().map(Refused::code),
            events: after[before..].to_vec(),
            staff_work: $staff,
        });
    }};
}

/// Calls every public method of `Practice` that acts for somebody, as `t.by`.
async fn walk(w: &World, t: &Target) -> Vec<Seen> {
    let (by, patient) = (&t.by, t.patient);
    let (actor, channel) = (by.actor, by.channel);
    let mut seen = Vec::new();
    let now = w.clock.now();
    let query = SearchQuery::between(now, now + Duration::days(7));
    let reason = CancellationReason::parse("Not needed").unwrap();
    let line = LineAction {
        actor,
        channel,
        patient,
        request: t.request,
        item: t.item.id,
    };
    let item = ItemAction {
        actor,
        channel,
        patient,
        item: t.item.id,
    };
    let message = MessageAction {
        actor,
        channel,
        message: t.message,
    };
    let (s, p) = (false, true);
    // Appointments.
    walk!(
        w,
        seen,
        s,
        "authorize",
        w.p.authorize(by, patient, Action::BookAppointment)
    );
    walk!(w, seen, s, "search", w.p.search(by, patient, query.clone()));
    let book = BookRequest {
        actor,
        channel,
        patient,
        slot: w.slot(),
        description: None,
        comment: None,
        holding_limit_override: None,
        organisation_contact: None,
        adjacent: Vec::new(),
    };
    walk!(w, seen, s, "book", w.p.book(&book));
    let cancel = CancelRequest {
        actor,
        channel,
        booking: t.booking,
        reason: reason.clone(),
        version: None,
    };
    walk!(w, seen, s, "cancel", w.p.cancel(&cancel));
    let reschedule = RescheduleRequest {
        actor,
        channel,
        booking: t.booking,
        new_slot: w.slot(),
        reason,
        holding_limit_override: None,
    };
    walk!(w, seen, s, "reschedule", w.p.reschedule(&reschedule));
    walk!(w, seen, s, "appointments", w.p.appointments(by, patient));
    walk!(
        w,
        seen,
        s,
        "search_slots",
        w.p.search_slots(by, query.clone())
    );
    let amend = AmendRequest {
        actor,
        channel,
        booking: t.booking,
        description: None,
        comment: None,
        version: None,
    };
    walk!(w, seen, p, "amend", w.p.amend(&amend));
    walk!(w, seen, p, "booking_policy", w.p.booking_policy(by));
    walk!(
        w,
        seen,
        p,
        "set_booking_policy",
        w.p.set_booking_policy(by, &BookingPolicy::default())
    );
    // Repeat prescriptions.
    let request_channel = match actor {
        Actor::Staff { .. } => RequestChannel::Telephone,
        _ => RequestChannel::Online,
    };
    let order = OrderRequest::new(actor, request_channel, patient, vec![t.item.id], None).unwrap();
    walk!(w, seen, s, "order", w.p.order(&order));
    walk!(w, seen, s, "cancel_line", w.p.cancel_line(&line));
    walk!(
        w,
        seen,
        s,
        "flag_not_taken",
        w.p.flag_not_taken(&item, None)
    );
    walk!(w, seen, s, "repeats", w.p.repeats(by, patient));
    walk!(
        w,
        seen,
        p,
        "approve",
        w.p.prescriber_move(&line, &PrescriberMove::Approve)
    );
    walk!(
        w,
        seen,
        p,
        "reject",
        w.p.prescriber_move(&line, &PrescriberMove::Reject("No".into()))
    );
    walk!(
        w,
        seen,
        p,
        "issue",
        w.p.prescriber_move(&line, &PrescriberMove::Issue)
    );
    let new_item = repeat_item(&w.ids, patient, 1, None, local_date(now));
    walk!(w, seen, p, "put_item", w.p.put_item(by, &new_item));
    walk!(
        w,
        seen,
        p,
        "review_item",
        w.p.review_item(&item, &ReviewOutcome::Keep)
    );
    walk!(
        w,
        seen,
        p,
        "restrict_ordering",
        w.p.restrict_ordering(
            by,
            patient,
            Some((RestrictionScope::Online, "Over-ordering"))
        )
    );
    walk!(
        w,
        seen,
        p,
        "unrestrict_ordering",
        w.p.restrict_ordering(by, patient, None)
    );
    walk!(w, seen, p, "prescription_queue", w.p.prescription_queue(by));
    walk!(w, seen, p, "review_list", w.p.review_list(by));
    walk!(
        w,
        seen,
        p,
        "set_prescribing_settings",
        w.p.set_prescribing_settings(by, &PrescribingSettings::default())
    );
    // Messages.
    let new = NewMessage::new(actor, channel, patient, "Hello", "Another question", None).unwrap();
    walk!(w, seen, s, "send", w.p.send(&new));
    walk!(w, seen, s, "reply", w.p.reply(&message, "A reply"));
    walk!(w, seen, s, "messages", w.p.messages(by, patient));
    walk!(
        w,
        seen,
        p,
        "mark_read",
        w.p.mark_message(&message, InboxMove::Read)
    );
    walk!(
        w,
        seen,
        p,
        "mark_handled",
        w.p.mark_message(&message, InboxMove::Handled)
    );
    walk!(w, seen, p, "inbox", w.p.inbox(by));
    walk!(
        w,
        seen,
        p,
        "set_messaging_settings",
        w.p.set_messaging_settings(by, &MessagingSettings { enabled: false })
    );
    // Online access, staff and the review lists.
    let reg = Registration {
        nhs_number: nhs_number(999),
        date_of_birth: NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
        registration: RegistrationKind::Regular,
        practice: OdsCode::parse("A81001").unwrap(),
    };
    walk!(w, seen, p, "register", w.p.register(by, patient, &reg));
    walk!(
        w,
        seen,
        p,
        "verify_identity",
        w.p.verify_identity(by, patient, VerificationMethod::DocumentsSeen)
    );
    walk!(
        w,
        seen,
        p,
        "set_services",
        w.p.set_services(by, patient, &[Service::Messages].into_iter().collect())
    );
    walk!(
        w,
        seen,
        p,
        "suspend_access",
        w.p.suspend_access(by, patient, Some(SuspensionReason::LostDevice))
    );
    walk!(
        w,
        seen,
        p,
        "restore_access",
        w.p.suspend_access(by, patient, None)
    );
    walk!(w, seen, p, "issue_linkage", w.p.issue_linkage(by, patient));
    let input = ProxyApplicationInput {
        applicant: ProxyId::new(&w.ids),
        applicant_name: "Another".into(),
        applicant_identity: None,
        patient_identity_checked: true,
        basis: LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        scopes: [Service::Messages].into_iter().collect(),
        care_home: None,
    };
    let verdict = ApplicationVerdict::Grant {
        start: local_date(now),
        end: None,
        review: None,
    };
    walk!(
        w,
        seen,
        p,
        "proxy_application",
        w.p.proxy_application(by, patient, &input, &verdict)
    );
    walk!(
        w,
        seen,
        s,
        "revoke_proxy",
        w.p.revoke_proxy(by, patient, t.proxy, "Ended")
    );
    walk!(
        w,
        seen,
        p,
        "suspend_proxy",
        w.p.suspend_proxy(by, patient, t.proxy, Some(SuspensionReason::LostDevice))
    );
    walk!(
        w,
        seen,
        p,
        "restore_proxy",
        w.p.suspend_proxy(by, patient, t.proxy, None)
    );
    let consent = LegalBasis::Consent {
        seen_alone: SeenAlone::Yes,
    };
    walk!(
        w,
        seen,
        p,
        "new_basis",
        w.p.new_basis(by, patient, t.proxy, &consent)
    );
    walk!(
        w,
        seen,
        p,
        "child_view",
        w.p.child_view(by, patient, t.proxy, true)
    );
    walk!(
        w,
        seen,
        p,
        "coercion_concern",
        w.p.coercion_concern(by, patient, None, "A worry")
    );
    let concern = t.concern.unwrap_or(ConcernId::new(&w.ids));
    walk!(
        w,
        seen,
        p,
        "coercion_review",
        w.p.coercion_review(by, patient, concern, ConcernOutcome::AccessRestored, "Seen")
    );
    let someone = StaffProfile::new(StaffId::new(&w.ids), "Someone", StaffRole::Gp)
        .with_competencies([Competency::Prescribing]);
    walk!(w, seen, p, "put_staff", w.p.put_staff(by, &someone));
    walk!(
        w,
        seen,
        p,
        "set_access_settings",
        w.p.set_access_settings(by, &AccessSettings::default())
    );
    walk!(w, seen, p, "reviews_due", w.p.reviews_due(by));
    walk!(w, seen, p, "unused_proxies", w.p.unused_proxies(by));
    // Monitoring and the problem log.
    let problem = gp_monitoring::NewProblem::new(
        actor,
        channel,
        Some(patient),
        gp_monitoring::ProblemCategory::Other,
        "It would not load",
        None,
    )
    .unwrap();
    walk!(w, seen, s, "report_problem", w.p.report_problem(&problem));
    let some_problem = gp_core::ProblemId::from_uuid(gp_core::uuid::Uuid::from_u128(31));
    walk!(
        w,
        seen,
        p,
        "problem_action",
        w.p.problem_action(
            by,
            some_problem,
            gp_monitoring::ProblemStatus::Resolved,
            "Done"
        )
    );
    walk!(
        w,
        seen,
        p,
        "problems",
        w.p.problems(by, &gp_monitoring::ProblemFilter::default())
    );
    let month = gp_monitoring::Month::parse("2026-06").unwrap();
    walk!(
        w,
        seen,
        p,
        "pomi_return",
        w.p.pomi_return(by, month, &gp_monitoring::Practice::example())
    );
    walk!(
        w,
        seen,
        p,
        "uptake_audit",
        w.p.uptake_audit(
            by,
            gp_monitoring::UptakeService::Appointments,
            month.first_day(),
            month.last_day()
        )
    );
    seen
}

#[tokio::test]
async fn every_method_refuses_those_the_records_shut_out_with_one_audit_event() {
    let w = World::new().await;
    let today = local_date(w.clock.now());
    let consent = || LegalBasis::Consent {
        seen_alone: SeenAlone::Yes,
    };
    // A proxy whose access the patient ended.
    let mut revoked = w.patient(consent(), None).await;
    done(
        w.p.revoke_proxy(
            &By::patient_online(revoked.patient),
            revoked.patient,
            revoked.proxy,
            "Ended",
        )
        .await
        .unwrap(),
    );
    revoked.who = "revoked proxy";
    revoked.by = By::proxy_online(revoked.proxy, revoked.patient);
    revoked.service_code = "ProxyRevoked";
    // A proxy whose access ends tomorrow (the clock moves on below).
    let mut expired = w.patient(consent(), Some(today + Duration::days(1))).await;
    expired.who = "expired proxy";
    expired.by = By::proxy_online(expired.proxy, expired.patient);
    expired.service_code = "ProxyExpired";
    // A patient whose account is suspended.
    let mut suspended = w.patient(consent(), None).await;
    done(
        w.p.suspend_access(
            &w.desk,
            suspended.patient,
            Some(SuspensionReason::SuspectedCompromise),
        )
        .await
        .unwrap(),
    );
    suspended.who = "suspended patient";
    suspended.service_code = "OnlineAccessSuspended";
    // A patient whose own access is under coercion review.
    let mut coerced = w.patient(consent(), None).await;
    coerced.concern = Some(done(
        w.p.coercion_concern(&w.desk, coerced.patient, None, "Partner answers for her")
            .await
            .unwrap(),
    ));
    coerced.who = "patient under coercion review";
    coerced.service_code = "CoercionReviewPending";
    // A member of staff nobody recorded, claiming to be a GP.
    let mut unknown = w.patient(consent(), None).await;
    unknown.who = "unknown staff";
    unknown.by = By {
        actor: Actor::Staff {
            staff: StaffId::new(&w.ids),
            role: StaffRole::Gp,
        },
        channel: Channel::Reception,
    };
    unknown.service_code = "UnknownStaff";
    unknown.staff_code = "UnknownStaff";

    w.clock.advance(Duration::days(2));
    let mut walked = 0;
    for t in [&revoked, &expired, &suspended, &coerced, &unknown] {
        let before = w.store.bookings_for_patient(t.patient).await.unwrap();
        let record_before = AccessStore::load(w.store.as_ref(), t.patient, None)
            .await
            .unwrap()
            .record;
        for seen in walk(&w, t).await {
            let expected = if seen.staff_work {
                t.staff_code
            } else {
                t.service_code
            };
            // A patient ending a proxy is patient work; a proxy ending one is not.
            let expected = match (seen.method, t.by.actor) {
                ("revoke_proxy", Actor::Proxy { .. }) => "RoleNotPermitted",
                _ => expected,
            };
            assert_eq!(
                seen.code,
                Some(expected),
                "{} calling {}",
                t.who,
                seen.method
            );
            assert_eq!(
                seen.events.len(),
                1,
                "{} calling {}: exactly one audit event, not {:?}",
                t.who,
                seen.method,
                seen.events
            );
            let event = &seen.events[0];
            assert!(
                matches!(&event.outcome, Outcome::Refused(code) if code.as_str() == expected),
                "{} calling {}: the event records the refusal, not {:?}",
                t.who,
                seen.method,
                event.outcome
            );
            assert_eq!(
                event.actor, t.by.actor,
                "{}: the event names who asked",
                t.who
            );
            walked += 1;
        }
        // Nothing changed for the patient.
        assert_eq!(
            w.store.bookings_for_patient(t.patient).await.unwrap(),
            before
        );
        let record_after = AccessStore::load(w.store.as_ref(), t.patient, None)
            .await
            .unwrap()
            .record;
        assert_eq!(
            record_after, record_before,
            "{}: the access record is as it was",
            t.who
        );
    }
    assert_eq!(walked, 5 * 54, "every method, for each of the five");
    assert_eq!(
        gp_audit::AuditStore::verify_all(w.store.as_ref())
            .await
            .unwrap(),
        Ok(())
    );
}

#[tokio::test]
async fn the_role_a_caller_claims_is_not_the_role_the_records_give() {
    let w = World::new().await;
    let t = w
        .patient(
            LegalBasis::Consent {
                seen_alone: SeenAlone::Yes,
            },
            None,
        )
        .await;
    // The receptionist claims to be a GP: the records say receptionist.
    let Actor::Staff { staff, .. } = w.desk.actor else {
        unreachable!()
    };
    let claimed = By {
        actor: Actor::Staff {
            staff,
            role: StaffRole::Gp,
        },
        channel: Channel::Reception,
    };
    let line = LineAction {
        actor: claimed.actor,
        channel: claimed.channel,
        patient: t.patient,
        request: t.request,
        item: t.item.id,
    };
    assert_eq!(
        w.p.prescriber_move(&line, &PrescriberMove::Approve)
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("RoleNotPermitted")
    );
    let item = repeat_item(&w.ids, t.patient, 2, None, local_date(w.clock.now()));
    assert_eq!(
        w.p.put_item(&claimed, &item)
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("RoleNotPermitted")
    );
    // What the receptionist may do is recorded in the receptionist's role.
    let phone = By {
        actor: claimed.actor,
        channel: Channel::Telephone,
    };
    let booked = done(
        w.p.book(&BookRequest {
            actor: phone.actor,
            channel: phone.channel,
            patient: t.patient,
            slot: w.slot(),
            description: None,
            comment: None,
            holding_limit_override: None,
            organisation_contact: None,
            adjacent: Vec::new(),
        })
        .await
        .unwrap(),
    );
    assert_eq!(
        booked.booked_by,
        Actor::Staff {
            staff,
            role: StaffRole::Receptionist
        }
    );
    let events = w.events().await;
    let last = &events[events.len() - 2..];
    assert!(last.iter().all(|e| e.actor == booked.booked_by), "{last:?}");
    // The GP really is one.
    let line = LineAction {
        actor: w.gp.actor,
        channel: w.gp.channel,
        ..line
    };
    assert!(w
        .p
        .prescriber_move(&line, &PrescriberMove::Approve)
        .await
        .unwrap()
        .refusal()
        .is_none());
}

#[tokio::test]
async fn a_receptionist_books_cancels_and_reschedules_by_telephone_for_a_patient_with_no_online_account(
) {
    let w = World::new().await;
    let patient = PatientId::new(&w.ids);
    let today = local_date(w.clock.now());
    let dob = NaiveDate::from_ymd_opt(1940, 2, 29).unwrap();
    w.store
        .put_listed_patient(
            &ListedPatient::new(
                patient,
                nhs_number(500),
                dob,
                RegistrationKind::Temporary,
                today,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let phone = By {
        actor: w.desk.actor,
        channel: Channel::Telephone,
    };
    let before = w.events().await.len();
    let booking = done(
        w.p.book(&BookRequest {
            actor: phone.actor,
            channel: phone.channel,
            patient,
            slot: w.slot(),
            description: None,
            comment: None,
            holding_limit_override: None,
            organisation_contact: None,
            adjacent: Vec::new(),
        })
        .await
        .unwrap(),
    );
    let moved = done(
        w.p.reschedule(&RescheduleRequest {
            actor: phone.actor,
            channel: phone.channel,
            booking: booking.id,
            new_slot: w.slot(),
            reason: CancellationReason::parse("Clashes with work").unwrap(),
            holding_limit_override: None,
        })
        .await
        .unwrap(),
    );
    let cancelled = done(
        w.p.cancel(&CancelRequest {
            actor: phone.actor,
            channel: phone.channel,
            booking: moved.id,
            reason: CancellationReason::parse("Feeling better").unwrap(),
            version: None,
        })
        .await
        .unwrap(),
    );
    assert!(!cancelled.is_live());
    let events = w.events().await;
    let trail: Vec<_> = events[before..]
        .iter()
        .map(|e| (e.action.as_str(), e.outcome.is_allowed(), e.patient))
        .collect();
    assert_eq!(
        trail,
        vec![
            ("access.authorize", true, Some(patient)),
            ("appointment.book", true, Some(patient)),
            ("access.authorize", true, Some(patient)),
            ("appointment.reschedule", true, Some(patient)),
            ("access.authorize", true, Some(patient)),
            ("appointment.cancel", true, Some(patient)),
        ]
    );
    // Online, the same patient is turned away: they have no account.
    let online = BookRequest {
        actor: Actor::Patient { patient },
        channel: Channel::Online,
        patient,
        slot: w.slot(),
        description: None,
        comment: None,
        holding_limit_override: None,
        organisation_contact: None,
        adjacent: Vec::new(),
    };
    assert_eq!(
        w.p.book(&online)
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("NotRegisteredForOnline")
    );
    // Somebody on no list and with no account is nobody's patient here.
    let stranger = PatientId::new(&w.ids);
    let for_stranger = BookRequest {
        actor: phone.actor,
        channel: phone.channel,
        patient: stranger,
        ..online
    };
    assert_eq!(
        w.p.book(&for_stranger)
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("PatientNotListed")
    );
    assert!(w
        .store
        .bookings_for_patient(stranger)
        .await
        .unwrap()
        .is_empty());
}

#[tokio::test]
async fn settings_are_stored_seen_by_every_practice_on_the_file_and_bad_ones_change_nothing() {
    let path = common::temp_db("gp-online-one-door", "settings");
    let w = {
        let mut w = World::new().await;
        // Put the world on a file of our own, so it can be reopened.
        let store = Arc::new(SqliteStore::open(&path).unwrap());
        w.p = Practice::new(store.clone(), w.clock.clone());
        w.store = store;
        w
    };
    let manager = StaffProfile::new(StaffId::new(&w.ids), "Manager", StaffRole::PracticeManager);
    done(w.p.first_manager(&manager).await.unwrap());
    let m = By::staff(&manager, Channel::Reception);
    let second = Practice::new(Arc::new(SqliteStore::open(&path).unwrap()), w.clock.clone());
    let policy = BookingPolicy::new(gp_booking::BookingSettings {
        online_booking_horizon_days: 7,
        ..Default::default()
    })
    .unwrap();
    let stored = done(w.p.set_booking_policy(&m, &policy).await.unwrap());
    assert_eq!(stored.version, 1);
    // A second practice on the same file enforces it at once.
    assert_eq!(
        done(second.booking_policy(&m).await.unwrap()).policy,
        policy
    );
    // So does one opened after a restart.
    drop(second);
    let reopened = Practice::new(Arc::new(SqliteStore::open(&path).unwrap()), w.clock.clone());
    let seen = done(reopened.booking_policy(&m).await.unwrap());
    assert_eq!((seen.version, seen.policy), (1, policy));
    // Out-of-range prescribing settings: an input error, nothing stored,
    // nothing recorded (not even an allowed authorization).
    let before = w.events().await.len();
    let bad = PrescribingSettings {
        max_items_per_request: 0,
        ..Default::default()
    };
    assert!(matches!(
        w.p.set_prescribing_settings(&m, &bad).await,
        Err(gp_online::OnlineError::Settings(_))
    ));
    let bad_access = AccessSettings {
        linkage_key_days: 0,
        ..AccessSettings::default()
    };
    assert!(matches!(
        w.p.set_access_settings(&m, &bad_access).await,
        Err(gp_online::OnlineError::AccessInput(_))
    ));
    // A booking policy that could never take effect cannot even be made.
    let telephone = gp_booking::ReleaseSchedule {
        days_ahead: 0,
        at: chrono::NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
    };
    assert!(matches!(
        BookingPolicy::new(gp_booking::BookingSettings {
            telephone_release: Some(telephone),
            ..Default::default()
        }),
        Err(gp_booking::PolicyError::EquityBreached { .. })
    ));
    assert_eq!(w.events().await.len(), before, "nothing recorded");
    let prescribing = gp_prescribing::PrescribingStore::settings(w.store.as_ref())
        .await
        .unwrap();
    assert_eq!(prescribing.version, 0);
    // A valid change is stored with its authorization, in one write.
    let good = PrescribingSettings {
        too_early_days: 10,
        ..Default::default()
    };
    done(w.p.set_prescribing_settings(&m, &good).await.unwrap());
    let events = w.events().await;
    let last: Vec<_> = events[before..]
        .iter()
        .map(|e| (e.action.as_str(), e.details.get("area").map(String::as_str)))
        .collect();
    assert_eq!(
        last,
        vec![
            ("access.authorize", Some("prescribing")),
            ("prescription.settings", None)
        ]
    );
}

#[tokio::test]
async fn a_patient_on_the_list_books_once_online_before_registering_when_the_practice_allows_it() {
    let w = World::new().await;
    let manager = {
        let all = AccessStore::all_staff(w.store.as_ref()).await.unwrap();
        By::staff(&all[0], Channel::Reception)
    };
    let patient = PatientId::new(&w.ids);
    let today = local_date(w.clock.now());
    let dob = NaiveDate::from_ymd_opt(1985, 6, 1).unwrap();
    w.store
        .put_listed_patient(
            &ListedPatient::new(
                patient,
                nhs_number(700),
                dob,
                RegistrationKind::Regular,
                today,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let online = |slot| BookRequest {
        actor: Actor::Patient { patient },
        channel: Channel::Online,
        patient,
        slot,
        description: None,
        comment: None,
        holding_limit_override: None,
        organisation_contact: None,
        adjacent: Vec::new(),
    };
    // By default the practice refuses: register first.
    assert_eq!(
        w.p.book(&online(w.slot()))
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("NotRegisteredForOnline")
    );
    let allow_one = BookingPolicy::new(gp_booking::BookingSettings {
        before_registration: gp_booking::BeforeRegistration::AllowOne,
        ..Default::default()
    })
    .unwrap();
    done(w.p.set_booking_policy(&manager, &allow_one).await.unwrap());
    // Asked alone, the question gets the answer booking would.
    done(
        w.p.authorize(
            &By::patient_online(patient),
            patient,
            Action::BookAppointment,
        )
        .await
        .unwrap(),
    );
    // The search and the first booking go through; the booking is marked.
    let now = w.clock.now();
    let found = done(
        w.p.search(
            &By::patient_online(patient),
            patient,
            SearchQuery::between(now, now + Duration::days(7)),
        )
        .await
        .unwrap(),
    );
    assert!(!found.is_empty());
    let first = done(w.p.book(&online(w.slot())).await.unwrap());
    assert_eq!(first.patient, patient);
    let events = w.events().await;
    assert_eq!(
        events
            .last()
            .unwrap()
            .details
            .get("before_online_registration")
            .map(String::as_str),
        Some("true")
    );
    // The second is refused by the booking rules, with the reason.
    assert_eq!(
        w.p.book(&online(w.slot()))
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("PreRegistrationBookingUsed")
    );
    // Cancelled by the desk, or long past, the one booking is still used.
    let by_desk = CancelRequest {
        actor: w.desk.actor,
        channel: Channel::Telephone,
        booking: first.id,
        reason: CancellationReason::parse("Rang to cancel").unwrap(),
        version: None,
    };
    done(w.p.cancel(&by_desk).await.unwrap());
    assert_eq!(
        w.p.book(&online(w.slot()))
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("PreRegistrationBookingUsed")
    );
    w.clock.advance(Duration::days(6));
    assert_eq!(
        w.p.book(&online(w.slot()))
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("PreRegistrationBookingUsed")
    );
    // Nothing else online before registration.
    let cancel = CancelRequest {
        actor: Actor::Patient { patient },
        channel: Channel::Online,
        booking: first.id,
        reason: CancellationReason::parse("Not needed").unwrap(),
        version: None,
    };
    assert_eq!(
        w.p.cancel(&cancel)
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("NotRegisteredForOnline")
    );
    // Someone not on the list is still turned away.
    let stranger = PatientId::new(&w.ids);
    let for_stranger = BookRequest {
        actor: Actor::Patient { patient: stranger },
        patient: stranger,
        ..online(w.slot())
    };
    assert_eq!(
        w.p.book(&for_stranger)
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("NotRegisteredForOnline")
    );
}

#[test]
fn practice_futures_can_be_sent_between_threads() {
    fn send<T: Send>(_: &T) {}
    let store = Arc::new(SqliteStore::open_in_memory().unwrap());
    let p: P = Practice::new(store, Arc::new(FixedClock::new(monday_morning())));
    let ids = SequentialIds::new(1);
    let patient = PatientId::new(&ids);
    let request = BookRequest {
        actor: Actor::Patient { patient },
        channel: Channel::Online,
        patient,
        slot: gp_core::SlotId::new(&ids),
        description: None,
        comment: None,
        holding_limit_override: None,
        organisation_contact: None,
        adjacent: Vec::new(),
    };
    send(&p.book(&request));
    send(&p.search(
        &By::patient_online(patient),
        patient,
        SearchQuery::between(monday_morning(), monday_morning()),
    ));
}

#[tokio::test]
async fn bad_input_is_an_input_error_that_records_and_authorizes_nothing() {
    let w = World::new().await;
    let t = w
        .patient(
            LegalBasis::Consent {
                seen_alone: SeenAlone::Yes,
            },
            None,
        )
        .await;
    // The proxy's first use of the day would commit with an authorization:
    // bad input stops before it.
    let proxy = By::proxy_online(t.proxy, t.patient);
    let version = || async {
        AccessStore::load(w.store.as_ref(), t.patient, None)
            .await
            .unwrap()
            .record
            .version
    };
    let (events, record) = (w.events().await.len(), version().await);
    // A message built field by field, past the checks of `NewMessage::new`.
    let forged = NewMessage {
        actor: proxy.actor,
        channel: Channel::Online,
        patient: t.patient,
        subject: String::new(),
        body: "x".repeat(200_000),
        link: None,
    };
    assert!(matches!(
        w.p.send(&forged).await,
        Err(gp_online::OnlineError::Message(_))
    ));
    let message = MessageAction {
        actor: proxy.actor,
        channel: Channel::Online,
        message: t.message,
    };
    assert!(matches!(
        w.p.reply(&message, &"y".repeat(1_000_000)).await,
        Err(gp_online::OnlineError::Message(_))
    ));
    let line = LineAction {
        actor: w.gp.actor,
        channel: w.gp.channel,
        patient: t.patient,
        request: t.request,
        item: t.item.id,
    };
    assert!(matches!(
        w.p.prescriber_move(&line, &PrescriberMove::Reject(String::new()))
            .await,
        Err(gp_online::OnlineError::Request(_))
    ));
    let item = ItemAction {
        actor: proxy.actor,
        channel: Channel::Online,
        patient: t.patient,
        item: t.item.id,
    };
    assert!(w
        .p
        .flag_not_taken(&item, Some(&"z".repeat(10_000)))
        .await
        .is_err());
    assert!(w
        .p
        .restrict_ordering(&w.gp, t.patient, Some((RestrictionScope::Online, "")))
        .await
        .is_err());
    // Text that reads other than it is: a right-to-left override.
    let sneaky = NewMessage {
        subject: "Repeat \u{202E}tnegru".into(),
        body: "Please".into(),
        ..forged.clone()
    };
    assert!(matches!(
        w.p.send(&sneaky).await,
        Err(gp_online::OnlineError::Message(_))
    ));
    assert!(NewMessage::new(
        proxy.actor,
        Channel::Online,
        t.patient,
        "Hi",
        "call\u{200B}me",
        None
    )
    .is_err());
    assert_eq!(w.events().await.len(), events, "nothing recorded");
    assert_eq!(version().await, record, "no first use committed");
}

#[tokio::test]
async fn registrations_and_concerns_must_name_what_there_is() {
    let w = World::new().await;
    let t = w
        .patient(
            LegalBasis::Consent {
                seen_alone: SeenAlone::Yes,
            },
            None,
        )
        .await;
    let reg = |dob: NaiveDate| Registration {
        nhs_number: nhs_number(900),
        date_of_birth: dob,
        registration: RegistrationKind::Regular,
        practice: OdsCode::parse("A81001").unwrap(),
    };
    let before = w.events().await.len();
    let nobody = PatientId::from_uuid(gp_core::uuid::Uuid::nil());
    let ok_dob = NaiveDate::from_ymd_opt(1990, 1, 1).unwrap();
    assert!(matches!(
        w.p.register(&w.desk, nobody, &reg(ok_dob)).await,
        Err(gp_online::OnlineError::AccessInput(
            gp_access::AccessError::NoPatient
        ))
    ));
    let someone = PatientId::new(&w.ids);
    for dob in [
        NaiveDate::from_ymd_opt(9999, 12, 31).unwrap(),
        NaiveDate::MAX,
        NaiveDate::MIN,
        NaiveDate::from_ymd_opt(1800, 1, 1).unwrap(),
    ] {
        assert!(
            matches!(
                w.p.register(&w.desk, someone, &reg(dob)).await,
                Err(gp_online::OnlineError::AccessInput(
                    gp_access::AccessError::DateOfBirth(_)
                ))
            ),
            "{dob}"
        );
    }
    assert_eq!(
        w.events().await.len(),
        before,
        "input errors record nothing"
    );
    // A patient on the list is registered online only under the NHS number
    // and date of birth the list holds: anything else is someone else.
    let listed = PatientId::new(&w.ids);
    let today = local_date(w.clock.now());
    w.store
        .put_listed_patient(
            &ListedPatient::new(
                listed,
                nhs_number(901),
                ok_dob,
                RegistrationKind::Regular,
                today,
            )
            .unwrap(),
        )
        .await
        .unwrap();
    let other_dob = NaiveDate::from_ymd_opt(1991, 1, 1).unwrap();
    for wrong in [
        reg(ok_dob),
        Registration {
            nhs_number: nhs_number(901),
            ..reg(other_dob)
        },
    ] {
        assert_eq!(
            w.p.register(&w.desk, listed, &wrong)
                .await
                .unwrap()
                .refusal()
                .map(Refused::code),
            Some("RegistrationNotAsListed")
        );
    }
    let right = Registration {
        nhs_number: nhs_number(901),
        ..reg(ok_dob)
    };
    done(w.p.register(&w.desk, listed, &right).await.unwrap());
    // A concern naming a proxy the patient has not: refused, so the real
    // proxy's access is not left running unnoticed.
    assert_eq!(
        w.p.coercion_concern(&w.desk, t.patient, Some(ProxyId::new(&w.ids)), "Worried")
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("NoProxyAccess")
    );
    // Named rightly, it pauses that proxy.
    done(
        w.p.coercion_concern(&w.desk, t.patient, Some(t.proxy), "Worried")
            .await
            .unwrap(),
    );
    assert_eq!(
        w.p.messages(&By::proxy_online(t.proxy, t.patient), t.patient)
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("CoercionReviewPending")
    );
}

#[tokio::test]
async fn odd_searches_and_unknown_ids_are_refused_as_the_records_say() {
    let w = World::new().await;
    let t = w
        .patient(
            LegalBasis::Consent {
                seen_alone: SeenAlone::Yes,
            },
            None,
        )
        .await;
    let now = w.clock.now();
    let y9999 = chrono::TimeZone::with_ymd_and_hms(&chrono::Utc, 9999, 12, 31, 0, 0, 0).unwrap();
    let me = By::patient_online(t.patient);
    // Too wide, or backwards: refused by the rules before the store is asked.
    for (query, code) in [
        (SearchQuery::between(now, y9999), "SearchWindowTooWide"),
        (SearchQuery::between(y9999, now), "SearchRangeEmpty"),
    ] {
        let before = w.events().await.len();
        assert_eq!(
            w.p.search(&me, t.patient, query)
                .await
                .unwrap()
                .refusal()
                .map(Refused::code),
            Some(code)
        );
        assert_eq!(w.events().await.len(), before + 1);
    }
    // Beyond the years the store holds: a typed input error, not "try again".
    let far = SearchQuery::between(y9999 - Duration::days(7), y9999);
    assert!(matches!(
        w.p.search(&w.desk, t.patient, far).await,
        Err(gp_online::OnlineError::Store(
            gp_core::StoreError::OutOfRange(_)
        ))
    ));
    // A receptionist claiming to be a GP, cancelling an unknown booking: the
    // refusal records the receptionist the records know.
    let Actor::Staff { staff, .. } = w.desk.actor else {
        unreachable!()
    };
    let claimed = Actor::Staff {
        staff,
        role: StaffRole::Gp,
    };
    let cancel = CancelRequest {
        actor: claimed,
        channel: Channel::Reception,
        booking: gp_core::BookingId::new(&w.ids),
        reason: CancellationReason::parse("Not needed").unwrap(),
        version: None,
    };
    assert_eq!(
        w.p.cancel(&cancel)
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("BookingNotFound")
    );
    let events = w.events().await;
    assert_eq!(events.last().unwrap().actor, w.desk.actor);
}

#[tokio::test]
async fn a_message_links_only_to_the_patients_own_appointment_or_medicine() {
    let w = World::new().await;
    let consent = || LegalBasis::Consent {
        seen_alone: SeenAlone::Yes,
    };
    let a = w.patient(consent(), None).await;
    let b = w.patient(consent(), None).await;
    let me = Actor::Patient { patient: a.patient };
    let about = |link| {
        NewMessage::new(me, Channel::Online, a.patient, "About", "This", Some(link)).unwrap()
    };
    for (link, code) in [
        (
            gp_messaging::MessageLink::Appointment(b.booking),
            Some("LinkNotFound"),
        ),
        (
            gp_messaging::MessageLink::Medication(b.item.id),
            Some("LinkNotFound"),
        ),
        (
            gp_messaging::MessageLink::Appointment(gp_core::BookingId::new(&w.ids)),
            Some("LinkNotFound"),
        ),
        (gp_messaging::MessageLink::Appointment(a.booking), None),
        (gp_messaging::MessageLink::Medication(a.item.id), None),
    ] {
        let answer = w.p.send(&about(link)).await.unwrap();
        assert_eq!(answer.refusal().map(Refused::code), code, "{link:?}");
    }
}
