//! A proxy's access revoked while their booking is on its way: the
//! revocation that commits first wins. Either the booking is refused
//! (`ProxyRevoked`), or it was committed before the revocation; never a
//! booking committed after it. On a real SQLite file, with real threads.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use gp_access::{
    AccessFacts, AccessRecord, AccessStore, ApplicationVerdict, By, Competency,
    IdentityVerification, LegalBasis, ListedPatient, PatientList, ProxyApplicationInput,
    Registration, RegistrationKind, SeenAlone, Service, StaffProfile, VerificationMethod,
};
use gp_booking::{
    BookDecider, BookRequest, Booking, BookingStore, CancelFacts, PolicyFacts, Precondition,
    Schedule, SearchQuery, SlotState, StaffMember,
};
use gp_core::{
    local_date, AccountId, Actor, AuditEvent, BookingId, Channel, FixedClock, NhsNumber, OdsCode,
    PatientId, ProxyId, SequentialIds, SlotId, StaffId, StaffRole, StoreError,
};
use gp_online::{Practice, Refused};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, nhs_number, small_schedule};

mod common;
use common::race;

fn temp_db(name: &str) -> PathBuf {
    common::temp_db("gp-online-revocation", name)
}

/// The staff who revokes, the patient and the proxy of one round.
struct Round {
    manager: By,
    desk: By,
    patient: PatientId,
    proxy: ProxyId,
    slots: Vec<SlotId>,
}

fn practice_on(path: &Path) -> Practice<SqliteStore, FixedClock> {
    Practice::new(
        Arc::new(SqliteStore::open(path).unwrap()),
        Arc::new(FixedClock::new(monday_morning())),
    )
}

/// A practice on `path` with one patient and a proxy for them with every service.
async fn set_up(path: &Path, slots: usize) -> Round {
    let ids = SequentialIds::new(0x5EED);
    let store = Arc::new(SqliteStore::open(path).unwrap());
    let (gp, schedule) = small_schedule(&ids, monday_morning(), slots);
    store.put_staff(&gp).await.unwrap();
    store.add_schedule(&schedule).await.unwrap();
    let p = Practice::new(store.clone(), Arc::new(FixedClock::new(monday_morning())));
    let manager = StaffProfile::new(StaffId::new(&ids), "Manager", StaffRole::PracticeManager);
    let desk = StaffProfile::new(StaffId::new(&ids), "Desk", StaffRole::Receptionist)
        .with_competencies([Competency::VerifyIdentity, Competency::ProxyApplications]);
    p.first_manager(&manager).await.unwrap();
    p.put_staff(&By::staff(&manager, Channel::Reception), &desk)
        .await
        .unwrap();
    let desk = By::staff(&desk, Channel::Reception);
    let patient = PatientId::new(&ids);
    let today = local_date(monday_morning());
    let dob = NaiveDate::from_ymd_opt(1950, 1, 1).unwrap();
    let nhs: NhsNumber = nhs_number(7);
    store
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
    p.register(&desk, patient, &reg).await.unwrap();
    p.verify_identity(&desk, patient, VerificationMethod::DocumentsSeen)
        .await
        .unwrap();
    p.set_services(&desk, patient, &Service::ALL.into_iter().collect())
        .await
        .unwrap();
    let proxy = ProxyId::new(&ids);
    let input = ProxyApplicationInput {
        applicant: proxy,
        applicant_name: "Carer".into(),
        applicant_identity: Some(IdentityVerification {
            method: VerificationMethod::DocumentsSeen,
            verified_by: None,
            at: monday_morning(),
        }),
        patient_identity_checked: true,
        basis: LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        scopes: Service::ALL.into_iter().collect(),
        care_home: None,
    };
    let verdict = ApplicationVerdict::Grant {
        start: today,
        end: None,
        review: None,
    };
    assert!(p
        .proxy_application(&desk, patient, &input, &verdict)
        .await
        .unwrap()
        .refusal()
        .is_none());
    Round {
        manager: By::staff(&manager, Channel::Reception),
        desk,
        patient,
        proxy,
        slots: schedule.slots.iter().map(|s| s.id).collect(),
    }
}

fn booking_by(proxy: ProxyId, patient: PatientId, slot: SlotId) -> BookRequest {
    BookRequest {
        actor: Actor::Proxy {
            proxy,
            for_patient: patient,
        },
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

/// Where in the trail the proxy's booking (if any) and the revocation stand.
fn positions(events: &[AuditEvent]) -> (Option<usize>, usize) {
    let booked = events
        .iter()
        .position(|e| e.action.as_str() == "appointment.book" && e.outcome.is_allowed());
    let revoked = events
        .iter()
        .position(|e| e.action.as_str() == "proxy.revoke" && e.outcome.is_allowed())
        .expect("the revocation is recorded");
    (booked, revoked)
}

#[test]
fn a_revocation_racing_a_booking_is_never_overtaken() {
    let (mut refused, mut booked_first) = (0, 0);
    for round in 0..24 {
        let path = temp_db(&format!("race-{round}"));
        let r = common::rt().block_on(set_up(&path, 1));
        let (shared, desk, patient, proxy, slot) =
            (path.clone(), r.desk, r.patient, r.proxy, r.slots[0]);
        let answers = race(2, move |i, runtime| {
            let p = practice_on(&shared);
            runtime.block_on(async {
                if i == 0 {
                    p.book(&booking_by(proxy, patient, slot))
                        .await
                        .unwrap()
                        .map_refusal(|r| r.code())
                        .done()
                        .map(|_| ())
                        .ok_or("refused")
                } else {
                    p.revoke_proxy(&desk, patient, proxy, "Patient asked")
                        .await
                        .unwrap()
                        .done()
                        .map(|_| ())
                        .ok_or("revocation refused")
                }
            })
        });
        assert!(answers[1].is_ok(), "the revocation always goes through");
        let check = SqliteStore::open(&path).unwrap();
        let events = common::rt()
            .block_on(BookingStore::audit_events(&check))
            .unwrap();
        let (booked, revoked) = positions(&events);
        let bookings = common::rt()
            .block_on(check.bookings_for_patient(patient))
            .unwrap();
        match answers[0] {
            Ok(()) => {
                booked_first += 1;
                assert_eq!(bookings.len(), 1);
                assert!(
                    booked.is_some_and(|b| b < revoked),
                    "round {round}: a booking was committed after the revocation"
                );
            }
            Err(_) => {
                refused += 1;
                assert!(
                    bookings.is_empty(),
                    "round {round}: a refused booking was stored"
                );
                assert!(booked.is_none());
            }
        }
    }
    assert_eq!(refused + booked_first, 24);
}

/// A store that runs `hook` once, just before the next booking is
/// committed: the moment between the authorization and the commit.
struct Hooked {
    inner: SqliteStore,
    hook: Mutex<Option<Box<dyn FnOnce() + Send>>>,
}

#[async_trait]
impl BookingStore for Hooked {
    async fn put_staff(&self, staff: &StaffMember) -> Result<(), StoreError> {
        self.inner.put_staff(staff).await
    }
    async fn add_schedule(&self, schedule: &Schedule) -> Result<(), StoreError> {
        self.inner.add_schedule(schedule).await
    }
    async fn find_slots(&self, query: &SearchQuery) -> Result<Vec<SlotState>, StoreError> {
        self.inner.find_slots(query).await
    }
    async fn policy(&self) -> Result<PolicyFacts, StoreError> {
        BookingStore::policy(&self.inner).await
    }
    async fn slot(&self, slot: SlotId) -> Result<Option<SlotState>, StoreError> {
        self.inner.slot(slot).await
    }
    async fn booking(&self, booking: BookingId) -> Result<Option<Booking>, StoreError> {
        self.inner.booking(booking).await
    }
    async fn bookings_for_patient(&self, patient: PatientId) -> Result<Vec<Booking>, StoreError> {
        self.inner.bookings_for_patient(patient).await
    }
    async fn load_book(
        &self,
        slot: SlotId,
        patient: PatientId,
        since: DateTime<Utc>,
    ) -> Result<gp_booking::BookSnapshot, StoreError> {
        self.inner.load_book(slot, patient, since).await
    }
    async fn staff_member(
        &self,
        id: gp_core::StaffId,
    ) -> Result<Option<gp_booking::StaffMember>, StoreError> {
        self.inner.staff_member(id).await
    }
    async fn organisation_holdings(
        &self,
        organisation: gp_core::OdsCode,
        since: chrono::DateTime<chrono::Utc>,
    ) -> Result<std::collections::BTreeSet<BookingId>, StoreError> {
        self.inner.organisation_holdings(organisation, since).await
    }
    async fn load_cancel(&self, booking: BookingId) -> Result<CancelFacts, StoreError> {
        self.inner.load_cancel(booking).await
    }
    async fn commit(&self, d: &gp_booking::Committable) -> Result<(), gp_booking::CommitError> {
        BookingStore::commit(&self.inner, d).await
    }
    async fn book_in_one_step(
        &self,
        slot: SlotId,
        patient: PatientId,
        since: DateTime<Utc>,
        earlier: Vec<AuditEvent>,
        guards: Vec<Precondition>,
        decide: BookDecider,
    ) -> Result<gp_booking::Decision, gp_booking::CommitError> {
        let hook = self.hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        self.inner
            .book_in_one_step(slot, patient, since, earlier, guards, decide)
            .await
    }
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        BookingStore::record_refusal(&self.inner, events).await
    }
    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        BookingStore::audit_events(&self.inner).await
    }
}

#[async_trait]
impl AccessStore for Hooked {
    async fn load(
        &self,
        patient: PatientId,
        staff: Option<StaffId>,
    ) -> Result<AccessFacts, StoreError> {
        AccessStore::load(&self.inner, patient, staff).await
    }
    async fn patient_for_account(
        &self,
        account: AccountId,
    ) -> Result<Option<PatientId>, StoreError> {
        self.inner.patient_for_account(account).await
    }
    async fn staff(&self, staff: StaffId) -> Result<Option<StaffProfile>, StoreError> {
        self.inner.staff(staff).await
    }
    async fn all_staff(&self) -> Result<Vec<StaffProfile>, StoreError> {
        self.inner.all_staff().await
    }
    async fn settings(&self) -> Result<gp_access::SettingsFacts, StoreError> {
        AccessStore::settings(&self.inner).await
    }
    async fn records(&self) -> Result<Vec<AccessRecord>, StoreError> {
        self.inner.records().await
    }
    async fn commit(&self, d: &gp_access::Committable) -> Result<(), gp_access::CommitError> {
        AccessStore::commit(&self.inner, d).await
    }
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        AccessStore::record_refusal(&self.inner, events).await
    }
    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        AccessStore::audit_events(&self.inner).await
    }
}

#[async_trait]
impl gp_prescribing::PrescribingStore for Hooked {
    async fn load(
        &self,
        patient: PatientId,
    ) -> Result<gp_prescribing::PrescribingFacts, StoreError> {
        gp_prescribing::PrescribingStore::load(&self.inner, patient).await
    }
    async fn settings(&self) -> Result<gp_prescribing::SettingsFacts, StoreError> {
        gp_prescribing::PrescribingStore::settings(&self.inner).await
    }
    async fn request_patient(
        &self,
        request: gp_core::RequestId,
    ) -> Result<Option<PatientId>, StoreError> {
        self.inner.request_patient(request).await
    }
    async fn queue(&self) -> Result<Vec<gp_prescribing::RepeatRequest>, StoreError> {
        self.inner.queue().await
    }
    async fn review_list(&self) -> Result<Vec<gp_prescribing::RepeatItem>, StoreError> {
        self.inner.review_list().await
    }
    async fn commit(
        &self,
        d: &gp_prescribing::Committable,
    ) -> Result<(), gp_prescribing::CommitError> {
        let hook = self.hook.lock().unwrap().take();
        if let Some(hook) = hook {
            hook();
        }
        gp_prescribing::PrescribingStore::commit(&self.inner, d).await
    }
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        gp_prescribing::PrescribingStore::record_refusal(&self.inner, events).await
    }
    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        gp_prescribing::PrescribingStore::audit_events(&self.inner).await
    }
}

#[async_trait]
impl gp_messaging::MessageStore for Hooked {
    async fn settings(&self) -> Result<gp_messaging::SettingsFacts, StoreError> {
        gp_messaging::MessageStore::settings(&self.inner).await
    }
    async fn message(
        &self,
        id: gp_core::MessageId,
    ) -> Result<Option<gp_messaging::Message>, StoreError> {
        self.inner.message(id).await
    }
    async fn messages_for_patient(
        &self,
        patient: PatientId,
    ) -> Result<Vec<gp_messaging::Message>, StoreError> {
        self.inner.messages_for_patient(patient).await
    }
    async fn inbox(&self) -> Result<Vec<gp_messaging::Message>, StoreError> {
        self.inner.inbox().await
    }
    async fn commit(&self, d: &gp_messaging::Committable) -> Result<(), gp_messaging::CommitError> {
        gp_messaging::MessageStore::commit(&self.inner, d).await
    }
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        gp_messaging::MessageStore::record_refusal(&self.inner, events).await
    }
    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        gp_messaging::MessageStore::audit_events(&self.inner).await
    }
}

#[async_trait]
impl gp_monitoring::ProblemStore for Hooked {
    async fn problem(
        &self,
        id: gp_core::ProblemId,
    ) -> Result<Option<gp_monitoring::Problem>, StoreError> {
        self.inner.problem(id).await
    }
    async fn problems(
        &self,
        filter: &gp_monitoring::ProblemFilter,
    ) -> Result<Vec<gp_monitoring::Problem>, StoreError> {
        self.inner.problems(filter).await
    }
    async fn commit(
        &self,
        d: &gp_monitoring::problems::Committable,
    ) -> Result<(), gp_monitoring::problems::CommitError> {
        gp_monitoring::ProblemStore::commit(&self.inner, d).await
    }
    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        gp_monitoring::ProblemStore::record_refusal(&self.inner, events).await
    }
}

#[async_trait]
impl PatientList for Hooked {
    async fn listed_patient(
        &self,
        patient: PatientId,
    ) -> Result<Option<ListedPatient>, StoreError> {
        self.inner.listed_patient(patient).await
    }
    async fn listed_by_nhs_number(
        &self,
        nhs_number: &NhsNumber,
    ) -> Result<Option<ListedPatient>, StoreError> {
        self.inner.listed_by_nhs_number(nhs_number).await
    }
    async fn put_listed_patient(&self, entry: &ListedPatient) -> Result<(), StoreError> {
        self.inner.put_listed_patient(entry).await
    }
    async fn remove_listed_patient(&self, patient: PatientId) -> Result<bool, StoreError> {
        self.inner.remove_listed_patient(patient).await
    }
    async fn list_size(&self) -> Result<u64, StoreError> {
        self.inner.list_size().await
    }
}

#[tokio::test]
async fn a_revocation_between_the_authorization_and_the_commit_wins() {
    let path = temp_db("between");
    let r = set_up(&path, 2).await;
    // The revocation lands, through another connection, after the proxy
    // was authorized and before the booking commits.
    let (other, desk, patient, proxy) = (path.clone(), r.desk, r.patient, r.proxy);
    let hooked = Arc::new(Hooked {
        inner: SqliteStore::open(&path).unwrap(),
        hook: Mutex::new(Some(Box::new(move || {
            std::thread::spawn(move || {
                let p = practice_on(&other);
                let answer = common::rt()
                    .block_on(p.revoke_proxy(&desk, patient, proxy, "Patient asked"))
                    .unwrap();
                assert!(answer.refusal().is_none(), "{answer:?}");
            })
            .join()
            .unwrap();
        }))),
    });
    let p = Practice::new(hooked.clone(), Arc::new(FixedClock::new(monday_morning())));
    let answer = p
        .book(&booking_by(proxy, patient, r.slots[0]))
        .await
        .unwrap();
    assert_eq!(
        answer.refusal(),
        Some(&Refused::Access(gp_access::AccessRefusal::ProxyRevoked)),
        "authorized again after the revocation, and refused"
    );
    assert!(hooked
        .bookings_for_patient(patient)
        .await
        .unwrap()
        .is_empty());
    // The trail: the revocation, then the denial; no allowed booking.
    let events = BookingStore::audit_events(hooked.as_ref()).await.unwrap();
    let (booked, revoked) = positions(&events);
    assert_eq!(booked, None);
    let last = events.last().unwrap();
    assert!(revoked < events.len() - 1);
    assert_eq!(last.action.as_str(), "access.authorize");
    assert!(!last.outcome.is_allowed());
}

#[tokio::test]
async fn a_prescriber_demoted_between_the_authorization_and_the_commit_approves_nothing() {
    let path = temp_db("demoted");
    let r = set_up(&path, 1).await;
    let ids = SequentialIds::new(0xDE);
    let p = practice_on(&path);
    let gp = StaffProfile::new(StaffId::new(&ids), "Dr Lee", StaffRole::Gp)
        .with_competencies([Competency::Prescribing]);
    assert!(p
        .put_staff(&r.manager, &gp)
        .await
        .unwrap()
        .refusal()
        .is_none());
    // A medicine on the list, ordered by the patient.
    let item =
        gp_testkit::fixtures::repeat_item(&ids, r.patient, 0, None, local_date(monday_morning()));
    let system = By {
        actor: Actor::System,
        channel: Channel::Internal,
    };
    assert!(p
        .put_item(&system, &item)
        .await
        .unwrap()
        .refusal()
        .is_none());
    let order = gp_prescribing::OrderRequest::new(
        Actor::Patient { patient: r.patient },
        gp_prescribing::RequestChannel::Online,
        r.patient,
        vec![item.id],
        None,
    )
    .unwrap();
    let request = p.order(&order).await.unwrap().done().unwrap().request;
    // The manager takes the GP's prescribing away through another
    // connection, after the approval was authorized and before it commits.
    let (other, manager, gp_id) = (path.clone(), r.manager, gp.staff);
    let hooked = Arc::new(Hooked {
        inner: SqliteStore::open(&path).unwrap(),
        hook: Mutex::new(Some(Box::new(move || {
            std::thread::spawn(move || {
                let p = practice_on(&other);
                let demoted = StaffProfile::new(gp_id, "Dr Lee", StaffRole::Receptionist);
                let answer = common::rt()
                    .block_on(p.put_staff(&manager, &demoted))
                    .unwrap();
                assert!(answer.refusal().is_none(), "{answer:?}");
            })
            .join()
            .unwrap();
        }))),
    });
    let door = Practice::new(hooked.clone(), Arc::new(FixedClock::new(monday_morning())));
    let line = gp_prescribing::LineAction {
        actor: By::staff(&gp, Channel::Reception).actor,
        channel: Channel::Reception,
        patient: r.patient,
        request: request.id,
        item: item.id,
    };
    let answer = door
        .prescriber_move(&line, &gp_online::PrescriberMove::Approve)
        .await
        .unwrap();
    assert_eq!(
        answer.refusal().map(Refused::code),
        Some("RoleNotPermitted"),
        "authorized again, as the receptionist the records now say"
    );
    let record = gp_prescribing::PrescribingStore::load(hooked.as_ref(), r.patient)
        .await
        .unwrap()
        .record;
    assert_eq!(
        record.requests[0].lines[0].state.status(),
        gp_prescribing::LineStatus::Requested,
        "nothing was approved"
    );
}
