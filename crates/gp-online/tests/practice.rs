//! The practice facade on a real SQLite file: each request is authorized by
//! the access records (audited) before the service decides.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use gp_access::{
    AccessRefusal, AccessStore, ApplicationVerdict, By, Competency, IdentityVerification,
    LegalBasis, ProxyApplicationInput, Registration, RegistrationKind, SeenAlone, Service,
    StaffProfile, VerificationMethod,
};
use gp_booking::{BookRequest, BookingPolicy, BookingStore, SearchQuery};
use gp_core::{
    Actor, Channel, Clock, FixedClock, NhsNumber, OdsCode, Outcome, PatientId, ProxyId,
    SequentialIds, StaffId, StaffRole,
};
use gp_messaging::NewMessage;
use gp_online::{Answer, Practice, Refused};
use gp_prescribing::{OrderRequest, RequestChannel};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, practice, repeat_item};

mod common;

fn temp_db(name: &str) -> PathBuf {
    common::temp_db("gp-online-practice", name)
}

struct World {
    ids: SequentialIds,
    clock: Arc<FixedClock>,
    p: Practice<SqliteStore, FixedClock>,
    desk: StaffProfile,
}

fn by(s: &StaffProfile) -> By {
    By {
        actor: Actor::Staff {
            staff: s.staff,
            role: s.role,
        },
        channel: Channel::Reception,
    }
}

impl World {
    async fn new() -> Self {
        let ids = SequentialIds::new(8);
        let clock = Arc::new(FixedClock::new(monday_morning()));
        let store = Arc::new(SqliteStore::open(temp_db("practice")).unwrap());
        let fixture = practice(&ids, monday_morning().date_naive());
        for s in fixture.staff() {
            store.put_staff(&s).await.unwrap();
        }
        store.add_schedule(&fixture.schedule).await.unwrap();
        let p = Practice::new(store, clock.clone());
        let manager = StaffProfile {
            staff: StaffId::new(&ids),
            name: "Manager".into(),
            role: StaffRole::PracticeManager,
            competencies: Default::default(),
            designations: Default::default(),
            version: 0,
        };
        let desk = StaffProfile {
            staff: StaffId::new(&ids),
            name: "Desk".into(),
            role: StaffRole::Receptionist,
            competencies: [
                Competency::VerifyIdentity,
                Competency::ProxyApplications,
                Competency::RecogniseCoercion,
            ]
            .into_iter()
            .collect(),
            designations: Default::default(),
            version: 0,
        };
        p.first_manager(&manager).await.unwrap();
        p.put_staff(&by(&manager), &desk).await.unwrap();
        Self {
            ids,
            clock,
            p,
            desk,
        }
    }

    async fn patient(&self, dob: NaiveDate, services: &[Service]) -> PatientId {
        let patient = PatientId::new(&self.ids);
        let reg = Registration {
            nhs_number: NhsNumber::parse("9434765919").unwrap(),
            date_of_birth: dob,
            registration: RegistrationKind::Regular,
            practice: OdsCode::parse("A81001").unwrap(),
        };
        let a = &self.p;
        a.register(&by(&self.desk), patient, &reg).await.unwrap();
        a.verify_identity(&by(&self.desk), patient, VerificationMethod::DocumentsSeen)
            .await
            .unwrap();
        a.set_services(
            &by(&self.desk),
            patient,
            &services.iter().copied().collect(),
        )
        .await
        .unwrap();
        patient
    }

    async fn proxy(&self, patient: PatientId, basis: LegalBasis, scopes: &[Service]) -> Actor {
        let proxy = ProxyId::new(&self.ids);
        let input = ProxyApplicationInput {
            applicant: proxy,
            applicant_name: "Proxy".into(),
            applicant_identity: Some(IdentityVerification {
                method: VerificationMethod::DocumentsSeen,
                verified_by: Some(self.desk.staff),
                at: self.clock.now(),
            }),
            patient_identity_checked: true,
            basis,
            scopes: scopes.iter().copied().collect(),
            care_home: None,
        };
        let verdict = ApplicationVerdict::Grant {
            start: monday_morning().date_naive(),
            end: None,
            review: None,
        };
        let answer = self
            .p
            .proxy_application(&by(&self.desk), patient, &input, &verdict)
            .await
            .unwrap();
        assert!(answer.refusal().is_none(), "{answer:?}");
        Actor::Proxy {
            proxy,
            for_patient: patient,
        }
    }

    async fn free_slot(&self, actor: Actor, patient: PatientId) -> gp_core::SlotId {
        let query = SearchQuery::between(self.clock.now(), self.clock.now() + Duration::days(7));
        let by = By {
            actor,
            channel: Channel::Online,
        };
        match self.p.search(&by, patient, query).await.unwrap() {
            Answer::Done(slots) => slots[0].id,
            Answer::Refused(r) => panic!("search refused: {r}"),
        }
    }
}

fn system() -> By {
    By {
        actor: Actor::System,
        channel: Channel::Internal,
    }
}

fn booking(actor: Actor, patient: PatientId, slot: gp_core::SlotId) -> BookRequest {
    BookRequest {
        actor,
        channel: Channel::Online,
        patient,
        slot,
        description: None,
        comment: None,
        holding_limit_override: None,
        organisation_contact: None,
        adjacent: Vec::new(),
    }
}

#[tokio::test]
async fn a_parent_books_for_a_child_and_refusals_come_from_the_access_rules_first() {
    let w = World::new().await;
    let child = w
        .patient(NaiveDate::from_ymd_opt(2014, 3, 10).unwrap(), &Service::ALL)
        .await;
    let parent = w
        .proxy(child, LegalBasis::ParentalResponsibility, &Service::ALL)
        .await;
    let slot = w.free_slot(parent, child).await;
    let Answer::Done(b) = w.p.book(&booking(parent, child, slot)).await.unwrap() else {
        panic!("refused")
    };
    assert_eq!((b.patient, b.slot), (child, slot));
    // The same slot again: the booking rules answer.
    assert_eq!(
        w.p.book(&booking(parent, child, slot))
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Booking(gp_booking::BookingRefusal::SlotTaken))
    );
    // A proxy for messages only cannot book; nothing is booked and the denial is audited.
    let aunt = w
        .proxy(
            child,
            LegalBasis::ParentalResponsibility,
            &[Service::Messages],
        )
        .await;
    let other = w.free_slot(parent, child).await;
    assert_eq!(
        w.p.book(&booking(aunt, child, other))
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::ProxyOutOfScope {
            service: Service::Appointments
        }))
    );
    let store = w.p.store();
    assert_eq!(
        BookingStore::bookings_for_patient(store.as_ref(), child)
            .await
            .unwrap()
            .len(),
        1
    );
    let events = AccessStore::audit_events(store.as_ref()).await.unwrap();
    let last = events.last().unwrap();
    assert_eq!(
        (last.action.as_str(), &last.outcome),
        (
            "access.authorize",
            &Outcome::Refused(gp_core::ReasonCode::parse("ProxyOutOfScope").unwrap())
        )
    );
    // A coercion concern about the parent pauses their access.
    let Actor::Proxy { proxy, .. } = parent else {
        unreachable!()
    };
    w.p.coercion_concern(&by(&w.desk), child, Some(proxy), "Child seemed frightened")
        .await
        .unwrap();
    assert_eq!(
        w.p.book(&booking(parent, child, other))
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::CoercionReviewPending))
    );
}

#[tokio::test]
async fn patients_need_an_account_and_the_service_switched_on() {
    let w = World::new().await;
    let stranger = PatientId::new(&w.ids);
    let me = Actor::Patient { patient: stranger };
    let slot = gp_core::SlotId::new(&w.ids);
    assert_eq!(
        w.p.book(&booking(me, stranger, slot))
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::NotRegisteredForOnline))
    );
    let patient = w
        .patient(
            NaiveDate::from_ymd_opt(1980, 1, 1).unwrap(),
            &[Service::Messages],
        )
        .await;
    let me = Actor::Patient { patient };
    assert_eq!(
        w.p.book(&booking(me, patient, slot))
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::ServiceNotEnabled {
            service: Service::Appointments
        }))
    );
    let message = NewMessage::new(
        me,
        Channel::Online,
        patient,
        "Hello",
        "A question about my results",
        None,
    )
    .unwrap();
    assert!(matches!(w.p.send(&message).await.unwrap(), Answer::Done(_)));
    // Repeats are off for this patient: refused before the prescribing rules.
    let order = OrderRequest::new(
        me,
        RequestChannel::Online,
        patient,
        vec![gp_core::MedicationId::new(&w.ids)],
        None,
    )
    .unwrap();
    assert_eq!(
        w.p.order(&order)
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("ServiceNotEnabled")
    );
}

#[tokio::test]
async fn a_care_home_worker_orders_repeats_through_the_practice() {
    let w = World::new().await;
    let resident = w
        .patient(NaiveDate::from_ymd_opt(1938, 9, 9).unwrap(), &Service::ALL)
        .await;
    let worker = w
        .proxy(
            resident,
            LegalBasis::Consent {
                seen_alone: SeenAlone::Yes,
            },
            &[Service::RepeatPrescriptions],
        )
        .await;
    let item = repeat_item(&w.ids, resident, 0, None, monday_morning().date_naive());
    w.p.put_item(&system(), &item).await.unwrap();
    let order = OrderRequest::new(
        worker,
        RequestChannel::Online,
        resident,
        vec![item.id],
        None,
    )
    .unwrap();
    let Answer::Done(ordered) = w.p.order(&order).await.unwrap() else {
        panic!("refused")
    };
    assert_eq!(ordered.request.made_by, worker);
    assert_eq!(
        w.p.order(&order)
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("DuplicateRequest")
    );
    let msg = NewMessage::new(
        worker,
        Channel::Online,
        resident,
        "Hello",
        "Can we talk?",
        None,
    )
    .unwrap();
    assert_eq!(
        w.p.send(&msg).await.unwrap().refusal(),
        Some(&Refused::Access(AccessRefusal::ProxyOutOfScope {
            service: Service::Messages
        }))
    );
}

#[tokio::test]
async fn settings_are_changed_by_the_manager_or_a_lead_and_audited() {
    let w = World::new().await;
    let gp = StaffProfile {
        staff: StaffId::new(&w.ids),
        name: "Dr A".into(),
        role: StaffRole::Gp,
        competencies: Default::default(),
        designations: Default::default(),
        version: 0,
    };
    let lead = StaffProfile {
        staff: StaffId::new(&w.ids),
        name: "Lead".into(),
        role: StaffRole::Receptionist,
        competencies: Default::default(),
        designations: [gp_access::Designation::LeadStaff].into_iter().collect(),
        version: 0,
    };
    let manager_id = {
        let all = AccessStore::all_staff(w.p.store().as_ref()).await.unwrap();
        all[0].clone()
    };
    w.p.put_staff(&by(&manager_id), &gp).await.unwrap();
    w.p.put_staff(&by(&manager_id), &lead).await.unwrap();
    let s = gp_prescribing::PrescribingSettings {
        too_early_days: 10,
        ..Default::default()
    };
    // A GP who is not a lead, and the receptionist: refused by the access matrix.
    for who in [&gp, &w.desk] {
        assert_eq!(
            w.p.set_prescribing_settings(&by(who), &s)
                .await
                .unwrap()
                .refusal(),
            Some(&Refused::Access(AccessRefusal::LeadOrManagerOnly))
        );
    }
    assert_eq!(
        gp_prescribing::PrescribingStore::settings(w.p.store().as_ref())
            .await
            .unwrap()
            .version,
        0
    );
    // The lead (a receptionist) may, and the change is audited twice: the authorization with the values, and the change.
    assert!(w
        .p
        .set_prescribing_settings(&by(&lead), &s)
        .await
        .unwrap()
        .refusal()
        .is_none());
    let stored = gp_prescribing::PrescribingStore::settings(w.p.store().as_ref())
        .await
        .unwrap();
    assert_eq!((stored.version, stored.settings.too_early_days), (1, 10));
    let events = AccessStore::audit_events(w.p.store().as_ref())
        .await
        .unwrap();
    let n = events.len();
    assert_eq!(
        events[n - 2].details.get("area").map(String::as_str),
        Some("prescribing")
    );
    assert_eq!(events[n - 1].action.as_str(), "prescription.settings");
    assert!(w
        .p
        .set_messaging_settings(
            &by(&manager_id),
            &gp_messaging::MessagingSettings { enabled: false }
        )
        .await
        .unwrap()
        .refusal()
        .is_none());
    assert_eq!(
        w.p.set_booking_policy(&by(&gp), &BookingPolicy::default())
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::LeadOrManagerOnly))
    );
    assert!(w
        .p
        .set_booking_policy(&by(&lead), &BookingPolicy::default())
        .await
        .unwrap()
        .refusal()
        .is_none());
}

#[tokio::test]
async fn an_allowed_authorization_is_committed_with_the_change_it_allowed() {
    let w = World::new().await;
    let patient = w
        .patient(NaiveDate::from_ymd_opt(1975, 5, 5).unwrap(), &Service::ALL)
        .await;
    let me = Actor::Patient { patient };
    let slot = w.free_slot(me, patient).await;
    let store = w.p.store().clone();
    let before = AccessStore::audit_events(store.as_ref())
        .await
        .unwrap()
        .len();
    assert!(matches!(
        w.p.book(&booking(me, patient, slot)).await.unwrap(),
        Answer::Done(_)
    ));
    let events = AccessStore::audit_events(store.as_ref()).await.unwrap();
    let new: Vec<_> = events[before..]
        .iter()
        .map(|e| (e.action.as_str(), e.outcome.is_allowed()))
        .collect();
    assert_eq!(
        new,
        vec![("access.authorize", true), ("appointment.book", true)]
    );
    // Refused by the booking rules: the authorization and the refusal are both recorded.
    assert!(w
        .p
        .book(&booking(me, patient, slot))
        .await
        .unwrap()
        .refusal()
        .is_some());
    let events = AccessStore::audit_events(store.as_ref()).await.unwrap();
    let last: Vec<_> = events[events.len() - 2..]
        .iter()
        .map(|e| (e.action.as_str(), e.outcome.is_allowed()))
        .collect();
    assert_eq!(
        last,
        vec![("access.authorize", true), ("appointment.book", false)]
    );
    assert_eq!(
        gp_audit::AuditStore::verify_all(store.as_ref())
            .await
            .unwrap(),
        Ok(())
    );
}

#[tokio::test]
async fn only_prescribers_recorded_as_trained_approve_through_the_practice() {
    let w = World::new().await;
    let patient = w
        .patient(NaiveDate::from_ymd_opt(1960, 6, 6).unwrap(), &Service::ALL)
        .await;
    let me = Actor::Patient { patient };
    let item = repeat_item(&w.ids, patient, 0, None, monday_morning().date_naive());
    w.p.put_item(&system(), &item).await.unwrap();
    let order =
        OrderRequest::new(me, RequestChannel::Online, patient, vec![item.id], None).unwrap();
    let Answer::Done(ordered) = w.p.order(&order).await.unwrap() else {
        panic!("refused")
    };
    let manager = AccessStore::all_staff(w.p.store().as_ref()).await.unwrap()[0].clone();
    let untrained = StaffProfile {
        staff: StaffId::new(&w.ids),
        name: "Dr B".into(),
        role: StaffRole::Gp,
        competencies: Default::default(),
        designations: Default::default(),
        version: 0,
    };
    let trained = StaffProfile {
        staff: StaffId::new(&w.ids),
        name: "Dr C".into(),
        role: StaffRole::Gp,
        competencies: [Competency::Prescribing].into_iter().collect(),
        designations: Default::default(),
        version: 0,
    };
    w.p.put_staff(&by(&manager), &untrained).await.unwrap();
    w.p.put_staff(&by(&manager), &trained).await.unwrap();
    let line = |s: &StaffProfile| gp_prescribing::LineAction {
        actor: by(s).actor,
        channel: Channel::Reception,
        patient,
        request: ordered.request.id,
        item: item.id,
    };
    let approve = gp_online::PrescriberMove::Approve;
    assert_eq!(
        w.p.prescriber_move(&line(&untrained), &approve)
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::CompetencyMissing {
            competency: Competency::Prescribing
        }))
    );
    assert_eq!(
        w.p.prescriber_move(&line(&w.desk), &approve)
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::RoleNotPermitted))
    );
    let Answer::Done(approved) =
        w.p.prescriber_move(&line(&trained), &approve)
            .await
            .unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(
        approved.lines[0].state.status(),
        gp_prescribing::LineStatus::Approved
    );
    // Approving again: the prescribing rules answer.
    assert_eq!(
        w.p.prescriber_move(&line(&trained), &approve)
            .await
            .unwrap()
            .refusal()
            .map(Refused::code),
        Some("LineNotRequested")
    );
    let Answer::Done(issued) =
        w.p.prescriber_move(&line(&trained), &gp_online::PrescriberMove::Issue)
            .await
            .unwrap()
    else {
        panic!("refused")
    };
    assert_eq!(
        issued.lines[0].state.status(),
        gp_prescribing::LineStatus::Issued
    );
}

#[tokio::test]
async fn a_cancellation_reason_is_kept_beside_the_trail_and_can_be_erased_without_breaking_it() {
    use gp_audit::AuditStore;
    use gp_booking::{CancelRequest, CancellationReason};
    let w = World::new().await;
    let patient = w
        .patient(
            NaiveDate::from_ymd_opt(1980, 2, 3).unwrap(),
            &[Service::Appointments],
        )
        .await;
    let me = Actor::Patient { patient };
    let slot = w.free_slot(me, patient).await;
    let Answer::Done(b) = w.p.book(&booking(me, patient, slot)).await.unwrap() else {
        panic!("booking refused");
    };
    let words = "My son has chickenpox \"again\"";
    let cancelled =
        w.p.cancel(&CancelRequest {
            actor: me,
            channel: Channel::Online,
            booking: b.id,
            reason: CancellationReason::parse(words).unwrap(),
            version: None,
        })
        .await
        .unwrap();
    assert!(cancelled.refusal().is_none());
    let store = w.p.store().clone();
    // The chained encoding holds a reference and a salted hash, not the words.
    let head = store.head().await.unwrap().unwrap().0;
    let export = store.export(1, head).await.unwrap();
    assert!(!export.contains("chickenpox"), "{export}");
    let events = AccessStore::audit_events(&store).await.unwrap();
    let cancel = events
        .iter()
        .find(|e| e.action.as_str() == "appointment.cancel" && e.outcome == Outcome::Allowed)
        .expect("the cancellation is recorded");
    assert_eq!(cancel.personal_text("reason"), Some(words));
    let text = cancel.texts[0].clone();
    assert_eq!(cancel.details["reason_text"], text.id.to_string());
    assert_eq!(cancel.details["reason_sha256"], text.digest());
    assert!(export.contains(&text.digest()));
    // Unknown staff, or no reason: an error, and nothing erased or recorded.
    let stranger = StaffId::new(&w.ids);
    assert!(store
        .erase_personal_text(text.id, stranger, "Patient asked", w.clock.now())
        .await
        .is_err());
    assert!(store
        .erase_personal_text(text.id, w.desk.staff, "  ", w.clock.now())
        .await
        .is_err());
    assert_eq!(
        AccessStore::audit_events(&store).await.unwrap().len(),
        events.len()
    );
    // Erasing: the words go, the chain verifies, the erasure is recorded.
    assert!(store
        .erase_personal_text(text.id, w.desk.staff, "Patient asked", w.clock.now())
        .await
        .unwrap());
    assert_eq!(store.verify_all().await.unwrap(), Ok(()));
    let after = AccessStore::audit_events(&store).await.unwrap();
    assert_eq!(after.len(), events.len() + 1, "the erasure is recorded");
    let erasure = after.last().unwrap();
    assert_eq!(erasure.action.as_str(), gp_sqlite::ACTION_TEXT_ERASE);
    assert_eq!(
        erasure.actor,
        Actor::Staff {
            staff: w.desk.staff,
            role: w.desk.role
        }
    );
    assert_eq!(erasure.patient, Some(patient));
    assert_eq!(erasure.details["reason"], "Patient asked");
    let cancel = after.iter().find(|e| e.id == cancel.id).unwrap();
    assert_eq!(cancel.personal_text("reason"), None);
    assert_eq!(
        cancel.details["reason_sha256"],
        text.digest(),
        "the chain is as it was"
    );
    assert_eq!(store.export(1, head).await.unwrap(), export);
    // Erasing again, or an id never stored, changes and records nothing.
    for id in [text.id, gp_core::uuid::Uuid::from_u128(12345)] {
        assert!(!store
            .erase_personal_text(id, w.desk.staff, "Patient asked", w.clock.now())
            .await
            .unwrap());
    }
    assert_eq!(
        AccessStore::audit_events(&store).await.unwrap().len(),
        after.len()
    );
}
