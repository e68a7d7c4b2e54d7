//! Booking by other NHS organisations (GP Connect Appointment Management):
//! which slots an organisation sees and may book, its cap (also under real
//! threads on a real SQLite file), the embargo and horizon, amending, and
//! everything an organisation may not do, as whom and in what state.

use std::sync::Arc;

use chrono::{Duration, NaiveDate};
use gp_access::{
    AccessRefusal, By, Competency, ListedPatient, PatientList, Registration, RegistrationKind,
    Service, StaffProfile, SuspensionReason, VerificationMethod,
};
use gp_booking::{
    AmendRequest, BookRequest, BookingComment, BookingDescription, BookingPolicy, BookingRefusal,
    BookingSettings, BookingStore, CancelRequest, CancellationReason, OrganisationFilter,
    OrganisationSlots, RescheduleRequest, SearchQuery, Slot, SlotType,
};
use gp_core::{
    local_date, Actor, BookingId, Channel, Clock, FixedClock, OdsCode, OrganisationType, PatientId,
    ProxyId, SequentialIds, StaffId, StaffRole,
};
use gp_online::{Answer, Practice, Refused, RejectedRequest, RequestFault};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, nhs_number, practice as practice_fixture};

type Door = Practice<SqliteStore, FixedClock>;

fn ods(code: &str) -> OdsCode {
    OdsCode::parse(code).expect("an ODS code")
}

/// NHS 111 (urgent care, X09).
fn nhs111() -> Actor {
    Actor::Organisation {
        ods: ods("X09"),
        kind: OrganisationType::URGENT_CARE,
        requester: None,
    }
}

/// A neighbouring practice (B82005).
fn neighbour() -> Actor {
    Actor::Organisation {
        ods: ods("B82005"),
        kind: OrganisationType::GP_PRACTICE,
        requester: None,
    }
}

fn patient(p: PatientId) -> By {
    By {
        actor: Actor::Patient { patient: p },
        channel: Channel::Online,
    }
}

fn by(actor: Actor) -> By {
    By {
        actor,
        channel: Channel::Organisation,
    }
}

fn filter_of(actor: Actor) -> OrganisationFilter {
    match actor {
        Actor::Organisation { ods, kind, .. } => OrganisationFilter {
            ods: Some(ods),
            kind: Some(kind),
        },
        _ => OrganisationFilter::default(),
    }
}

/// Urgent slots open to urgent care; routine GP slots open to B82005 only;
/// a cap of 2; no booking in the last 30 minutes.
fn organisation_policy() -> BookingPolicy {
    BookingPolicy::new(BookingSettings {
        organisation_slots: vec![
            OrganisationSlots {
                slot_type: SlotType::Urgent,
                organisation_types: [OrganisationType::URGENT_CARE].into_iter().collect(),
                ods_codes: Default::default(),
            },
            OrganisationSlots {
                slot_type: SlotType::RoutineGp,
                organisation_types: Default::default(),
                ods_codes: [ods("B82005")].into_iter().collect(),
            },
        ],
        organisation_cap: Some(2),
        organisation_embargo_minutes: 30,
        ..Default::default()
    })
    .expect("a valid policy")
}

struct World {
    door: Door,
    clock: Arc<FixedClock>,
    slots: Vec<Slot>,
    desk: By,
    manager: By,
    /// Registered online, identity verified, appointments on.
    alice: PatientId,
    /// On the list, never registered online.
    carol: PatientId,
    /// Registered online and suspended.
    sid: PatientId,
    /// Alice's proxy.
    proxy: ProxyId,
}

async fn world_on(store: Arc<SqliteStore>) -> World {
    let ids = SequentialIds::new(501);
    let clock = Arc::new(FixedClock::new(monday_morning()));
    let door = Practice::new(store.clone(), clock.clone());
    let fixture = practice_fixture(&ids, local_date(clock.now()));
    for member in fixture.staff() {
        store.put_staff(&member).await.expect("staff");
    }
    store
        .add_schedule(&fixture.schedule)
        .await
        .expect("schedule");
    let manager_profile =
        StaffProfile::new(StaffId::new(&ids), "Manager", StaffRole::PracticeManager);
    door.first_manager(&manager_profile).await.expect("manager");
    let manager = By::staff(&manager_profile, Channel::Reception);
    let desk_profile = StaffProfile::new(StaffId::new(&ids), "Desk", StaffRole::Receptionist)
        .with_competencies([Competency::VerifyIdentity, Competency::ProxyApplications]);
    door.put_staff(&manager, &desk_profile).await.expect("desk");
    let desk = By::staff(&desk_profile, Channel::Reception);
    let set = door
        .set_booking_policy(&manager, &organisation_policy())
        .await
        .expect("policy");
    assert!(set.refusal().is_none(), "{:?}", set.refusal());
    let mut patients = Vec::new();
    for n in 0..3u64 {
        let patient = PatientId::new(&ids);
        let born = NaiveDate::from_ymd_opt(1970, 3, 1).expect("a date");
        store
            .put_listed_patient(
                &ListedPatient::new(
                    patient,
                    nhs_number(300 + n),
                    born,
                    RegistrationKind::Regular,
                    born,
                )
                .expect("an entry"),
            )
            .await
            .expect("listed");
        patients.push(patient);
    }
    let (alice, carol, sid) = (patients[0], patients[1], patients[2]);
    for (n, p) in [(0u64, alice), (2, sid)] {
        let registration = Registration {
            nhs_number: nhs_number(300 + n),
            date_of_birth: NaiveDate::from_ymd_opt(1970, 3, 1).expect("a date"),
            registration: RegistrationKind::Regular,
            practice: ods("A81001"),
        };
        door.register(&desk, p, &registration)
            .await
            .expect("register");
        door.verify_identity(&desk, p, VerificationMethod::DocumentsSeen)
            .await
            .expect("verify");
        door.set_services(&desk, p, &[Service::Appointments].into_iter().collect())
            .await
            .expect("services");
    }
    door.suspend_access(&desk, sid, Some(SuspensionReason::SuspectedCompromise))
        .await
        .expect("suspend");
    let proxy = ProxyId::new(&ids);
    World {
        door,
        clock,
        slots: fixture.schedule.slots.clone(),
        desk,
        manager,
        alice,
        carol,
        sid,
        proxy,
    }
}

async fn world() -> World {
    world_on(Arc::new(SqliteStore::open_in_memory().expect("a store"))).await
}

impl World {
    fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// The desk (a receptionist) as a request claiming `role`.
    fn desk_claiming(&self, role: StaffRole) -> By {
        let Actor::Staff { staff, .. } = self.desk.actor else {
            panic!("the desk is staff");
        };
        By {
            actor: Actor::Staff { staff, role },
            channel: Channel::Reception,
        }
    }

    /// The `nth` future slot of a type, at least an hour away.
    fn slot(&self, slot_type: SlotType, nth: usize) -> Slot {
        self.slots
            .iter()
            .filter(|s| s.slot_type == slot_type && s.reserved_for.is_none())
            .filter(|s| s.start() > self.now() + Duration::hours(1))
            .nth(nth)
            .cloned()
            .expect("a slot")
    }

    async fn search(
        &self,
        actor: Actor,
        patient: PatientId,
        filter: OrganisationFilter,
    ) -> Vec<Slot> {
        let mut query = SearchQuery::between(self.now(), self.now() + Duration::days(7));
        query.organisation_filter = filter;
        self.door
            .search(&by(actor), patient, query)
            .await
            .expect("no error")
            .done()
            .expect("a search")
    }

    async fn book(
        &self,
        actor: Actor,
        patient: PatientId,
        slot: &Slot,
    ) -> Answer<gp_booking::Booking, Refused> {
        self.door
            .book(&BookRequest {
                actor,
                channel: Channel::Organisation,
                patient,
                slot: slot.id,
                description: Some(
                    BookingDescription::parse("Chest pain, seen by 111").expect("text"),
                ),
                comment: None,
                holding_limit_override: None,
                organisation_contact: None,
                adjacent: Vec::new(),
            })
            .await
            .expect("no error")
    }

    async fn amend(
        &self,
        by: By,
        booking: BookingId,
        words: &str,
    ) -> Answer<gp_booking::Booking, Refused> {
        self.door
            .amend(&AmendRequest {
                actor: by.actor,
                channel: by.channel,
                booking,
                description: Some(BookingDescription::parse(words).expect("text")),
                comment: Some(BookingComment::parse("Amended").expect("text")),
                version: None,
            })
            .await
            .expect("no error")
    }
}

fn booking_refusal<T: std::fmt::Debug>(a: &Answer<T, Refused>) -> BookingRefusal {
    match a.refusal() {
        Some(Refused::Booking(r)) => r.clone(),
        other => panic!("not a booking refusal: {other:?} ({a:?})"),
    }
}

fn access_refusal<T: std::fmt::Debug>(a: &Answer<T, Refused>) -> AccessRefusal {
    match a.refusal() {
        Some(Refused::Access(r)) => r.clone(),
        other => panic!("not an access refusal: {other:?} ({a:?})"),
    }
}

#[tokio::test]
async fn an_organisation_sees_only_the_slots_opened_to_it_as_gp_connect_filters_them() {
    let w = world().await;
    // 111 (urgent care) saying who it is: the urgent slots only.
    let seen = w.search(nhs111(), w.carol, filter_of(nhs111())).await;
    assert!(!seen.is_empty());
    assert!(
        seen.iter().all(|s| s.slot_type == SlotType::Urgent),
        "{seen:?}"
    );
    // Nor any slot inside the 30-minute embargo or the triage hour.
    assert!(seen
        .iter()
        .all(|s| s.start() > w.now() + Duration::minutes(30) && s.reserved_for.is_none()));
    // Without a search filter, only unrestricted slots: here none.
    assert!(w
        .search(nhs111(), w.carol, OrganisationFilter::default())
        .await
        .is_empty());
    // The neighbouring practice sees the routine slots opened to its code,
    // whether or not it sends its type, and not the urgent ones.
    for filter in [
        filter_of(neighbour()),
        OrganisationFilter {
            ods: Some(ods("B82005")),
            kind: None,
        },
    ] {
        let seen = w.search(neighbour(), w.carol, filter).await;
        assert!(!seen.is_empty());
        assert!(seen.iter().all(|s| s.slot_type == SlotType::RoutineGp));
    }
    // Another practice claiming B82005's code in its filter sees nothing of
    // B82005's: the code it acts as is its own.
    let impostor = Actor::Organisation {
        ods: ods("C99999"),
        kind: OrganisationType::GP_PRACTICE,
        requester: None,
    };
    let stolen = OrganisationFilter {
        ods: Some(ods("B82005")),
        kind: Some(OrganisationType::GP_PRACTICE),
    };
    assert!(w.search(impostor, w.carol, stolen).await.is_empty());
    // And a type not opened to anything sees nothing.
    let pharmacy = Actor::Organisation {
        ods: ods("FA123"),
        kind: OrganisationType::parse("pharmacy").expect("a type"),
        requester: None,
    };
    assert!(w
        .search(pharmacy, w.carol, filter_of(pharmacy))
        .await
        .is_empty());
}

#[tokio::test]
async fn an_organisation_searches_before_choosing_a_patient_and_others_cannot() {
    let w = world().await;
    let mut query = SearchQuery::between(w.now(), w.now() + Duration::days(7));
    query.organisation_filter = filter_of(nhs111());
    let free = w
        .door
        .search_slots(&by(nhs111()), query.clone())
        .await
        .expect("no error")
        .done()
        .expect("slots");
    assert_eq!(free, w.search(nhs111(), w.carol, filter_of(nhs111())).await);
    assert!(!free.is_empty());
    // GP Connect's two weeks bound an organisation's search, whatever the
    // practice's online setting.
    let mut wide = SearchQuery::between(w.now(), w.now() + Duration::days(15));
    wide.organisation_filter = filter_of(nhs111());
    assert_eq!(
        booking_refusal(
            &w.door
                .search_slots(&by(nhs111()), wide)
                .await
                .expect("no error")
        ),
        BookingRefusal::SearchWindowTooWide { max_days: 14 }
    );
    // A patient searches for the patient they are, with `search`.
    let patient_asks = w
        .door
        .search_slots(&patient(w.alice), query.clone())
        .await
        .expect("no error");
    assert_eq!(
        booking_refusal(&patient_asks),
        BookingRefusal::ActorNotForPatient
    );
    // A proxy holding no grant, and unknown staff, are refused by the access rules.
    let stranger = By {
        actor: Actor::Proxy {
            proxy: w.proxy,
            for_patient: w.alice,
        },
        channel: Channel::Online,
    };
    assert_eq!(
        access_refusal(
            &w.door
                .search_slots(&stranger, query.clone())
                .await
                .expect("no error")
        ),
        AccessRefusal::NoProxyAccess
    );
    let ghost = By {
        actor: Actor::Staff {
            staff: StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(9)),
            role: StaffRole::Gp,
        },
        channel: Channel::Reception,
    };
    assert_eq!(
        access_refusal(
            &w.door
                .search_slots(&ghost, query.clone())
                .await
                .expect("no error")
        ),
        AccessRefusal::UnknownStaff
    );
    // Staff see every free slot they may book, the organisation filter aside.
    let staff = w
        .door
        .search_slots(&w.desk, query)
        .await
        .expect("no error")
        .done()
        .expect("slots");
    assert!(staff.len() > free.len());
}

#[tokio::test]
async fn an_organisation_books_for_any_patient_on_the_list_and_is_recorded() {
    let w = world().await;
    let slot = w.slot(SlotType::Urgent, 0);
    // Carol never registered online; Sid's online access is suspended:
    // neither matters to an organisation booking for their care.
    for (patient, slot) in [
        (w.carol, slot.clone()),
        (w.sid, w.slot(SlotType::Urgent, 1)),
    ] {
        let booked = w.book(nhs111(), patient, &slot).await;
        let booking = booked.done().expect("booked");
        assert_eq!(booking.booked_by, nhs111());
        assert_eq!(booking.channel, Channel::Organisation);
        assert_eq!(booking.version(), 1);
    }
    let events = BookingStore::audit_events(w.door.store().as_ref())
        .await
        .expect("events");
    let by_111: Vec<_> = events.iter().filter(|e| e.actor == nhs111()).collect();
    assert!(by_111
        .iter()
        .any(|e| e.action.as_str() == "appointment.book"));
    assert!(by_111
        .iter()
        .any(|e| e.action.as_str().starts_with("access.")));
    // Someone not on the list is nobody the organisation may book for.
    let stranger = PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(42));
    let refused = w
        .book(nhs111(), stranger, &w.slot(SlotType::Urgent, 2))
        .await;
    assert_eq!(access_refusal(&refused), AccessRefusal::PatientNotListed);
}

#[tokio::test]
async fn an_organisation_is_held_to_the_slots_the_embargo_the_horizon_and_its_cap() {
    let w = world().await;
    // Not opened to 111: routine slots (B82005's), nurse clinics, triage.
    let routine = w.slot(SlotType::RoutineGp, 0);
    assert_eq!(
        booking_refusal(&w.book(nhs111(), w.carol, &routine).await),
        BookingRefusal::NotBookableByOrganisation
    );
    let triage = w
        .slots
        .iter()
        .find(|s| s.reserved_for.is_some() && s.start() > w.now())
        .expect("a triage slot")
        .clone();
    assert_eq!(
        booking_refusal(&w.book(nhs111(), w.carol, &triage).await),
        BookingRefusal::NotBookableByOrganisation
    );
    // Inside the 30-minute embargo.
    let urgent = w.slot(SlotType::Urgent, 0);
    w.clock.set(urgent.start() - Duration::minutes(20));
    assert_eq!(
        booking_refusal(&w.book(nhs111(), w.carol, &urgent).await),
        BookingRefusal::InsideOrganisationEmbargo { minutes: 30 }
    );
    // Started.
    w.clock.set(urgent.start() + Duration::minutes(1));
    assert_eq!(
        booking_refusal(&w.book(nhs111(), w.carol, &urgent).await),
        BookingRefusal::SlotInPast
    );
    w.clock.set(monday_morning());
    // Beyond the 14-day organisation horizon.
    let far = w
        .slots
        .iter()
        .find(|s| s.slot_type == SlotType::Urgent && s.start() > w.now() + Duration::days(16))
        .expect("a far slot")
        .clone();
    assert_eq!(
        booking_refusal(&w.book(nhs111(), w.carol, &far).await),
        BookingRefusal::BeyondBookingHorizon { horizon_days: 14 }
    );
    // The cap: two live appointments, a third refused, one freed by a
    // cancellation makes room. Another organisation has its own count.
    let a = w
        .book(nhs111(), w.carol, &w.slot(SlotType::Urgent, 0))
        .await;
    let b = w
        .book(nhs111(), w.alice, &w.slot(SlotType::Urgent, 1))
        .await;
    let first = a.done().expect("first").id;
    assert!(b.done().is_some());
    let third = w.book(nhs111(), w.sid, &w.slot(SlotType::Urgent, 2)).await;
    assert_eq!(
        booking_refusal(&third),
        BookingRefusal::OrganisationCapReached { cap: 2 }
    );
    let other_111 = Actor::Organisation {
        ods: ods("X10"),
        kind: OrganisationType::URGENT_CARE,
        requester: None,
    };
    assert!(w
        .book(other_111, w.sid, &w.slot(SlotType::Urgent, 2))
        .await
        .done()
        .is_some());
    let cancelled = w
        .door
        .cancel(&CancelRequest {
            actor: nhs111(),
            channel: Channel::Organisation,
            booking: first,
            reason: CancellationReason::parse("Patient feels better").expect("reason"),
            version: None,
        })
        .await
        .expect("no error");
    assert!(cancelled.refusal().is_none(), "{cancelled:?}");
    assert!(w
        .book(nhs111(), w.sid, &w.slot(SlotType::Urgent, 3))
        .await
        .done()
        .is_some());
}

#[tokio::test]
async fn an_organisation_may_not_do_what_gp_connect_does_not_let_it() {
    let w = world().await;
    let booked = w
        .book(nhs111(), w.alice, &w.slot(SlotType::Urgent, 0))
        .await
        .done()
        .expect("booked");
    // No reschedule (cancel and book instead).
    let moved = w
        .door
        .reschedule(&RescheduleRequest {
            actor: nhs111(),
            channel: Channel::Organisation,
            booking: booked.id,
            new_slot: w.slot(SlotType::Urgent, 1).id,
            reason: CancellationReason::parse("Later").expect("reason"),
            holding_limit_override: None,
        })
        .await
        .expect("no error");
    assert_eq!(access_refusal(&moved), AccessRefusal::RoleNotPermitted);
    // No repeats, messages, work lists or settings.
    let org = by(nhs111());
    assert_eq!(
        access_refusal(&w.door.repeats(&org, w.alice).await.expect("no error")),
        AccessRefusal::RoleNotPermitted
    );
    assert_eq!(
        access_refusal(&w.door.messages(&org, w.alice).await.expect("no error")),
        AccessRefusal::RoleNotPermitted
    );
    assert_eq!(
        access_refusal(&w.door.inbox(&org).await.expect("no error")),
        AccessRefusal::RoleNotPermitted
    );
    assert_eq!(
        access_refusal(
            &w.door
                .set_booking_policy(&org, &BookingPolicy::default())
                .await
                .expect("no error")
        ),
        AccessRefusal::RoleNotPermitted
    );
    // Through another channel than its own, an organisation is refused.
    let phoned = w
        .door
        .book(&BookRequest {
            actor: nhs111(),
            channel: Channel::Telephone,
            patient: w.carol,
            slot: w.slot(SlotType::Urgent, 2).id,
            description: None,
            comment: None,
            holding_limit_override: None,
            organisation_contact: None,
            adjacent: Vec::new(),
        })
        .await
        .expect("no error");
    assert!(phoned.refusal().is_some(), "{phoned:?}");
    // Nor may it book beyond its cap with a staff override reason.
    let overridden = w
        .door
        .book(&BookRequest {
            actor: nhs111(),
            channel: Channel::Organisation,
            patient: w.carol,
            slot: w.slot(SlotType::Urgent, 3).id,
            description: None,
            comment: None,
            holding_limit_override: Some(
                gp_booking::OverrideReason::parse("Urgent").expect("reason"),
            ),
            organisation_contact: None,
            adjacent: Vec::new(),
        })
        .await
        .expect("no error");
    assert_eq!(
        booking_refusal(&overridden),
        BookingRefusal::OverrideNotPermitted
    );
    // Patients see the organisation's booking as theirs.
    let seen = w
        .door
        .appointments(&patient(w.alice), w.alice)
        .await
        .expect("no error")
        .done()
        .expect("appointments");
    assert!(seen.iter().any(|b| b.id == booked.id));
}

#[tokio::test]
async fn description_and_comment_are_amended_by_staff_and_organisations_only() {
    let w = world().await;
    // Alice booked online herself; 111 amends it (any booking, whoever made it).
    let slot = w.slot(SlotType::RoutineGp, 0);
    let mine = w
        .door
        .book(&BookRequest::patient_online(w.alice, slot.id))
        .await
        .expect("no error")
        .done()
        .expect("booked");
    let amended = w
        .amend(by(nhs111()), mine.id, "Breathless, seen by 111")
        .await
        .done()
        .expect("amended");
    assert_eq!(amended.version(), 2);
    assert_eq!(
        amended.description.as_ref().map(|d| d.as_str()),
        Some("Breathless, seen by 111")
    );
    assert_eq!((amended.slot, amended.patient), (mine.slot, mine.patient));
    let stored = BookingStore::booking(w.door.store().as_ref(), mine.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(stored, amended);
    // Written against an older version: refused, nothing changed.
    let stale = w
        .door
        .amend(&AmendRequest {
            actor: nhs111(),
            channel: Channel::Organisation,
            booking: mine.id,
            description: None,
            comment: None,
            version: Some(1),
        })
        .await
        .expect("no error");
    assert_eq!(
        booking_refusal(&stale),
        BookingRefusal::BookingChanged {
            expected: 1,
            current: 2
        }
    );
    // Staff too, against the version they read.
    let again = w
        .door
        .amend(&AmendRequest {
            actor: w.desk.actor,
            channel: w.desk.channel,
            booking: mine.id,
            description: Some(BookingDescription::parse("Seen at the desk").expect("text")),
            comment: None,
            version: Some(2),
        })
        .await
        .expect("no error");
    assert_eq!(again.done().map(|b| b.version()), Some(3));
    // Patients and proxies cancel and book again instead.
    let by_patient = w.amend(patient(w.alice), mine.id, "Mine").await;
    assert_eq!(access_refusal(&by_patient), AccessRefusal::RoleNotPermitted);
    let proxy = w
        .amend(
            By {
                actor: Actor::Proxy {
                    proxy: w.proxy,
                    for_patient: w.alice,
                },
                channel: Channel::Online,
            },
            mine.id,
            "Proxy",
        )
        .await;
    assert!(
        matches!(proxy.refusal(), Some(Refused::Access(_))),
        "{proxy:?}"
    );
    // Unknown staff.
    let ghost = By {
        actor: Actor::Staff {
            staff: StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(9)),
            role: StaffRole::PracticeManager,
        },
        channel: Channel::Reception,
    };
    assert_eq!(
        access_refusal(&w.amend(ghost, mine.id, "Ghost").await),
        AccessRefusal::UnknownStaff
    );
    // An unknown booking: not found for an organisation, refused for a patient.
    let nothing = BookingId::from_uuid(gp_core::uuid::Uuid::from_u128(77));
    assert_eq!(
        booking_refusal(&w.amend(by(nhs111()), nothing, "None").await),
        BookingRefusal::BookingNotFound
    );
    assert!(matches!(
        w.amend(patient(w.alice), nothing, "None").await.refusal(),
        Some(Refused::Access(_))
    ));
    // Past and cancelled appointments are not amended; nothing changes.
    w.clock.set(slot.start() + Duration::minutes(1));
    assert_eq!(
        booking_refusal(&w.amend(by(nhs111()), mine.id, "Late").await),
        BookingRefusal::SlotInPast
    );
    w.clock.set(monday_morning());
    w.door
        .cancel(&CancelRequest {
            actor: w.desk.actor,
            channel: w.desk.channel,
            booking: mine.id,
            reason: CancellationReason::parse("Patient rang").expect("reason"),
            version: None,
        })
        .await
        .expect("no error")
        .done()
        .expect("cancelled");
    assert_eq!(
        booking_refusal(&w.amend(by(nhs111()), mine.id, "After").await),
        BookingRefusal::AlreadyCancelled
    );
    let last = BookingStore::booking(w.door.store().as_ref(), mine.id)
        .await
        .expect("read")
        .expect("there");
    assert_eq!(
        last.description.as_ref().map(|d| d.as_str()),
        Some("Seen at the desk")
    );
    assert_eq!(last.version(), 4, "amended twice, then cancelled");
    let _ = w.manager;
}

#[test]
fn an_organisations_cap_holds_when_it_books_from_many_threads_at_once() {
    let dir = std::env::temp_dir().join(format!("gp-online-org-cap-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let path = dir.join("cap.db");
    let _ = std::fs::remove_file(&path);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let store = Arc::new(SqliteStore::open(&path).expect("a store"));
    let w = rt.block_on(world_on(store));
    let slots: Vec<Slot> = (0..12).map(|n| w.slot(SlotType::Urgent, n)).collect();
    let patients = [w.alice, w.carol, w.sid];
    // Four doors on the file, as four processes of a supplier would have.
    let doors: Vec<Arc<Door>> = (0..4)
        .map(|_| {
            Arc::new(Practice::new(
                Arc::new(SqliteStore::open(&path).expect("a store")),
                w.clock.clone(),
            ))
        })
        .collect();
    let handles: Vec<_> = slots
        .iter()
        .enumerate()
        .map(|(i, slot)| {
            let door = doors[i % doors.len()].clone();
            let slot = slot.id;
            let patient = patients[i % patients.len()];
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("a runtime");
                rt.block_on(door.book(&BookRequest {
                    actor: nhs111(),
                    channel: Channel::Organisation,
                    patient,
                    slot,
                    description: None,
                    comment: None,
                    holding_limit_override: None,
                    organisation_contact: None,
                    adjacent: Vec::new(),
                }))
                .expect("no error")
            })
        })
        .collect();
    let answers: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("a thread"))
        .collect();
    let booked = answers.iter().filter(|a| a.refusal().is_none()).count();
    assert_eq!(booked, 2, "{answers:?}");
    assert!(answers
        .iter()
        .filter_map(|a| a.refusal())
        .all(|r| *r == Refused::Booking(BookingRefusal::OrganisationCapReached { cap: 2 })));
    let live: i64 = rusqlite::Connection::open(&path)
        .expect("open")
        .query_row(
            "SELECT count(*) FROM bookings WHERE cancelled = 0 AND organisation = 'X09'",
            [],
            |r| r.get(0),
        )
        .expect("a count");
    assert_eq!(live, 2);
    drop(doors);
    drop(w);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn fourteen_days_across_the_clock_change_are_fourteen_days() {
    let w = world().await;
    // 25 October 2026 the clocks go back: 14 local days are 14 days and an
    // hour of elapsed time.
    let from = gp_core::local_to_utc(
        NaiveDate::from_ymd_opt(2026, 10, 25).expect("a date"),
        chrono::NaiveTime::MIN,
    )
    .expect("a time");
    let to = gp_core::local_to_utc(
        NaiveDate::from_ymd_opt(2026, 11, 8).expect("a date"),
        chrono::NaiveTime::MIN,
    )
    .expect("a time");
    assert_eq!(to - from, Duration::days(14) + Duration::hours(1));
    let mut query = SearchQuery::between(from, to);
    query.organisation_filter = filter_of(nhs111());
    let org = w
        .door
        .search_slots(&by(nhs111()), query.clone())
        .await
        .expect("no error");
    assert!(org.refusal().is_none(), "{org:?}");
    let own = w
        .door
        .search(&patient(w.alice), w.alice, query.clone())
        .await
        .expect("no error");
    assert!(own.refusal().is_none(), "{own:?}");
    // A day more is too wide.
    let mut wider = query;
    wider.to += Duration::days(1);
    assert_eq!(
        booking_refusal(
            &w.door
                .search_slots(&by(nhs111()), wider)
                .await
                .expect("no error")
        ),
        BookingRefusal::SearchWindowTooWide { max_days: 14 }
    );
}

#[tokio::test]
async fn ringfenced_slots_wait_for_their_release_for_organisations_too() {
    let w = world().await;
    // Dr Okafor's Friday routine slots are ringfenced (released two days
    // ahead at 07:00); routine slots are open to B82005.
    let friday = w
        .slots
        .iter()
        .find(|s| {
            s.availability == gp_booking::SlotAvailability::Ringfenced
                && s.slot_type == SlotType::RoutineGp
                && s.start() > w.now()
        })
        .expect("a ringfenced slot")
        .clone();
    let refused = w.book(neighbour(), w.carol, &friday).await;
    assert!(matches!(
        booking_refusal(&refused),
        BookingRefusal::NotReleasedYet { .. }
    ));
    let BookingRefusal::NotReleasedYet { release_at } = booking_refusal(&refused) else {
        unreachable!("matched above");
    };
    w.clock.set(release_at);
    assert!(w
        .book(neighbour(), w.carol, &friday)
        .await
        .refusal()
        .is_none());
}

#[tokio::test]
async fn what_an_organisation_may_not_do_is_refused_and_recorded_even_for_nothing() {
    let w = world().await;
    let store = w.door.store().clone();
    let count = || async {
        BookingStore::audit_events(store.as_ref())
            .await
            .expect("events")
            .len()
    };
    let before = count().await;
    let nothing = BookingId::from_uuid(gp_core::uuid::Uuid::from_u128(99));
    let moved = w
        .door
        .reschedule(&RescheduleRequest {
            actor: nhs111(),
            channel: Channel::Organisation,
            booking: nothing,
            new_slot: w.slot(SlotType::Urgent, 0).id,
            reason: CancellationReason::parse("Later").expect("reason"),
            holding_limit_override: None,
        })
        .await
        .expect("no error");
    assert_eq!(access_refusal(&moved), AccessRefusal::RoleNotPermitted);
    assert_eq!(count().await, before + 1, "the denial is recorded");
}

#[tokio::test]
async fn a_cancellation_written_against_an_older_version_is_refused() {
    let w = world().await;
    let booked = w
        .book(nhs111(), w.carol, &w.slot(SlotType::Urgent, 0))
        .await
        .done()
        .expect("booked");
    assert!(w
        .amend(by(nhs111()), booked.id, "Amended")
        .await
        .refusal()
        .is_none());
    let cancel = |version| CancelRequest {
        actor: nhs111(),
        channel: Channel::Organisation,
        booking: booked.id,
        reason: CancellationReason::parse("Not needed").expect("reason"),
        version,
    };
    let stale = w.door.cancel(&cancel(Some(1))).await.expect("no error");
    assert_eq!(
        booking_refusal(&stale),
        BookingRefusal::BookingChanged {
            expected: 1,
            current: 2
        }
    );
    let cancelled = w.door.cancel(&cancel(Some(2))).await.expect("no error");
    assert_eq!(cancelled.done().map(|b| b.version()), Some(3));
}

#[tokio::test]
async fn an_organisations_every_look_at_a_patients_appointments_is_recorded() {
    let w = world().await;
    let store = w.door.store().clone();
    let events = || async {
        BookingStore::audit_events(store.as_ref())
            .await
            .expect("events")
    };
    let before = events().await.len();
    let seen = w
        .door
        .appointments(&by(nhs111()), w.carol)
        .await
        .expect("no error");
    assert!(seen.refusal().is_none());
    let after = events().await;
    assert_eq!(
        after.len(),
        before + 1,
        "the organisation's look is recorded"
    );
    let last = after.last().expect("an event");
    assert_eq!(last.actor, nhs111());
    assert_eq!(last.patient, Some(w.carol));
    // A patient's own look is not (only denials are, as for every read).
    let own = w
        .door
        .appointments(&patient(w.alice), w.alice)
        .await
        .expect("no error");
    assert!(own.refusal().is_none());
    assert_eq!(events().await.len(), before + 1);
}

#[tokio::test]
async fn a_practice_recording_every_read_records_each_allowed_read_once_and_only_once_answered() {
    let w = world().await;
    let store = w.door.store().clone();
    let events = || async {
        BookingStore::audit_events(store.as_ref())
            .await
            .expect("events")
    };
    // The same records, through a door that records every read.
    let door = Practice::new(store.clone(), w.clock.clone()).recording_every_read();
    assert!(door.records_every_read());
    assert!(!w.door.records_every_read());
    let before = events().await.len();
    let week = SearchQuery::between(w.now(), w.now() + Duration::days(7));
    // A patient's look at their appointments, their search, their repeats
    // and messages; the desk's inbox; an organisation's search for slots.
    let alice = patient(w.alice);
    assert!(door
        .appointments(&alice, w.alice)
        .await
        .expect("no error")
        .refusal()
        .is_none());
    assert!(door
        .search(&alice, w.alice, week.clone())
        .await
        .expect("no error")
        .refusal()
        .is_none());
    assert!(door
        .inbox(&w.desk)
        .await
        .expect("no error")
        .refusal()
        .is_none());
    assert!(door
        .search_slots(&by(nhs111()), week.clone())
        .await
        .expect("no error")
        .refusal()
        .is_none());
    let after = events().await;
    let new: Vec<_> = after[before..].to_vec();
    assert_eq!(new.len(), 4, "one event per read: {new:?}");
    assert!(new.iter().all(|e| e.outcome.is_allowed()));
    assert!(new.iter().all(|e| e.action.as_str() == "access.authorize"));
    assert_eq!(new[0].actor, alice.actor);
    assert_eq!(new[0].patient, Some(w.alice));
    assert_eq!(
        new[0].details.get("action").map(String::as_str),
        Some("view_appointments")
    );
    assert_eq!(
        new[1].details.get("action").map(String::as_str),
        Some("book_appointment")
    );
    assert_eq!(new[2].actor, w.desk.actor);
    // A look at the practice's own lists names no patient.
    assert_eq!(new[2].patient, None);
    assert!(new[2].subjects.is_empty(), "{:?}", new[2]);
    assert_eq!(new[3].actor, nhs111());
    assert_eq!(new[3].patient, None);
    // A member of staff claiming another role is recorded in their stored
    // role.
    let claiming = w.desk_claiming(StaffRole::PracticeManager);
    let before_claim = events().await.len();
    let found = door
        .search_slots(
            &claiming,
            SearchQuery::between(w.now(), w.now() + Duration::days(7)),
        )
        .await
        .expect("no error");
    assert!(found.refusal().is_none());
    let recorded = events().await[before_claim..].to_vec();
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].actor, w.desk.actor);
    // A search refused is recorded as the refusal it is, never as a read:
    // an organisation's or the desk's empty range, a patient using the
    // organisations' search.
    let empty = SearchQuery::between(w.now(), w.now());
    for asker in [by(nhs111()), w.desk, alice] {
        let before = events().await.len();
        let r = door
            .search_slots(&asker, empty.clone())
            .await
            .expect("no error");
        assert!(r.refusal().is_some(), "{asker:?}");
        let new = events().await[before..].to_vec();
        assert!(!new.is_empty(), "{asker:?}");
        assert!(new.iter().all(|e| !e.outcome.is_allowed()), "{new:?}");
    }
    // The door that does not record reads leaves nothing for the same reads.
    let before = events().await.len();
    assert!(w
        .door
        .appointments(&alice, w.alice)
        .await
        .expect("no error")
        .refusal()
        .is_none());
    assert!(w
        .door
        .search_slots(&by(nhs111()), week)
        .await
        .expect("no error")
        .refusal()
        .is_none());
    assert_eq!(events().await.len(), before);
    // A suspended patient's read is refused and recorded once, as a
    // denial: no allowed read beside it.
    let before = events().await.len();
    let sid = door
        .appointments(&patient(w.sid), w.sid)
        .await
        .expect("no error");
    assert!(sid.refusal().is_some());
    let after = events().await;
    assert_eq!(after.len(), before + 1);
    assert!(!after[before].outcome.is_allowed());
    // Unknown staff: refused, one denial.
    let ghost = By {
        actor: Actor::Staff {
            staff: StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(7)),
            role: StaffRole::PracticeManager,
        },
        channel: Channel::Reception,
    };
    let before = events().await.len();
    assert_eq!(
        access_refusal(&door.inbox(&ghost).await.expect("no error")),
        AccessRefusal::UnknownStaff
    );
    let after = events().await;
    assert_eq!(after.len(), before + 1);
    assert!(!after[before].outcome.is_allowed());
}

#[tokio::test]
async fn a_request_refused_before_its_decision_is_recorded_as_such_and_changes_nothing() {
    let w = world().await;
    let store = w.door.store().clone();
    let events = || async {
        BookingStore::audit_events(store.as_ref())
            .await
            .expect("events")
    };
    let alice = patient(w.alice);
    let slot = w.slot(SlotType::RoutineGp, 0);
    // A known member of staff is recorded in their stored role, whatever
    // role the request claimed.
    let claiming = w.desk_claiming(StaffRole::Gp);
    let before_claim = events().await.len();
    w.door
        .record_fault(&claiming, &RejectedRequest::new(RequestFault::Invalid))
        .await
        .expect("recorded");
    let claimed = events().await[before_claim].clone();
    assert_eq!(claimed.actor, w.desk.actor);
    assert!(matches!(
        w.desk.actor,
        Actor::Staff {
            role: StaffRole::Receptionist,
            ..
        }
    ));
    // A suspended patient and a proxy with no grant (never given or
    // revoked): their fault is recorded once, against their own patient,
    // and grants them nothing.
    let before_denied = events().await.len();
    let outsiders = [
        patient(w.sid),
        By {
            actor: Actor::Proxy {
                proxy: w.proxy,
                for_patient: w.alice,
            },
            channel: Channel::Online,
        },
    ];
    for asker in &outsiders {
        w.door
            .record_fault(
                asker,
                &RejectedRequest::new(RequestFault::Malformed)
                    .of(gp_access::Action::BookAppointment)
                    .about(w.carol),
            )
            .await
            .expect("recorded");
    }
    let denied = events().await[before_denied..].to_vec();
    assert_eq!(denied.len(), 2, "{denied:?}");
    assert_eq!(denied[0].patient, Some(w.sid));
    assert_eq!(denied[1].patient, Some(w.alice));
    assert!(denied.iter().all(|e| !e.outcome.is_allowed()));
    for asker in &outsiders {
        let speaks_for = asker.actor.speaks_for().expect("a patient");
        let still = w
            .door
            .appointments(asker, speaks_for)
            .await
            .expect("no error");
        assert!(still.refusal().is_some(), "{asker:?} is still refused");
    }
    let before = events().await.len();
    w.door
        .record_fault(
            &alice,
            // A patient's fault is recorded against her own record, whatever
            // patient the adapter names.
            &RejectedRequest::new(RequestFault::VersionMismatch)
                .of(gp_access::Action::CancelAppointment)
                .about(w.carol),
        )
        .await
        .expect("recorded");
    // Unknown staff are recorded as the request named them.
    let ghost = By {
        actor: Actor::Staff {
            staff: StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(7)),
            role: StaffRole::Gp,
        },
        channel: Channel::Reception,
    };
    w.door
        .record_fault(
            &ghost,
            &RejectedRequest::new(RequestFault::Malformed).of(gp_access::Action::BookAppointment),
        )
        .await
        .expect("recorded");
    // Another organisation's fault names the patient and booking it concerned.
    let booking = BookingId::from_uuid(gp_core::uuid::Uuid::from_u128(99));
    w.door
        .record_fault(
            &by(nhs111()),
            &RejectedRequest::new(RequestFault::VersionMismatch)
                .of(gp_access::Action::AmendAppointment)
                .about(w.carol)
                .booking(booking),
        )
        .await
        .expect("recorded");
    let after = events().await;
    assert_eq!(after.len(), before + 3);
    let (first, second, third) = (&after[before], &after[before + 1], &after[before + 2]);
    assert_eq!(third.actor, nhs111());
    assert_eq!(third.patient, Some(w.carol));
    assert!(third
        .subjects
        .iter()
        .any(|s| s.kind == gp_core::SubjectKind::Booking && s.id == booking.as_uuid()));
    assert_eq!(first.action.as_str(), "request.rejected");
    assert_eq!(first.actor, alice.actor);
    assert_eq!(first.patient, Some(w.alice));
    assert_eq!(
        first.outcome,
        gp_core::Outcome::Refused(gp_core::ReasonCode::parse("VersionMismatch").expect("a code"))
    );
    assert_eq!(
        first.details.get("action").map(String::as_str),
        Some("cancel_appointment")
    );
    assert_eq!(second.actor, ghost.actor);
    assert_eq!(second.patient, None);
    assert_eq!(
        second.outcome,
        gp_core::Outcome::Refused(gp_core::ReasonCode::parse("MalformedRequest").expect("a code"))
    );
    // Nothing else changed: Alice has no appointment, and the slot is free.
    let mine = w
        .door
        .appointments(&alice, w.alice)
        .await
        .expect("no error");
    assert_eq!(mine.done().expect("her appointments").len(), 0);
    let week = SearchQuery::between(w.now(), w.now() + Duration::days(7));
    let free = w
        .door
        .search(&alice, w.alice, week)
        .await
        .expect("no error");
    assert!(free
        .done()
        .expect("a search")
        .iter()
        .any(|s| s.id == slot.id));
}

#[tokio::test]
async fn an_appointment_of_several_slots_goes_whole_and_is_recorded_whole() {
    let w = world().await;
    let (a, b) = (w.slot(SlotType::Urgent, 0), w.slot(SlotType::Urgent, 1));
    let lead = w
        .door
        .book(&BookRequest {
            actor: nhs111(),
            channel: Channel::Organisation,
            patient: w.carol,
            slot: a.id,
            description: None,
            comment: None,
            holding_limit_override: None,
            organisation_contact: None,
            adjacent: vec![b.id],
        })
        .await
        .expect("no error")
        .done()
        .expect("booked");
    let all = BookingStore::bookings_for_patient(w.door.store().as_ref(), w.carol)
        .await
        .expect("read");
    let joined = all
        .iter()
        .find(|x| x.joined_to == Some(lead.id))
        .expect("a joined booking")
        .clone();
    let store = w.door.store().clone();
    let events = || async {
        BookingStore::audit_events(store.as_ref())
            .await
            .expect("events")
    };
    let named =
        |e: &gp_core::AuditEvent, id: gp_core::uuid::Uuid| e.subjects.iter().any(|s| s.id == id);
    let booked_event = events()
        .await
        .into_iter()
        .rev()
        .find(|e| e.action.as_str() == "appointment.book")
        .expect("an event");
    assert!(named(&booked_event, joined.id.as_uuid()) && named(&booked_event, b.id.as_uuid()));
    // Its further slot is not cancelled, amended or moved on its own, nor
    // the appointment moved.
    let reason = || CancellationReason::parse("Not needed").expect("reason");
    let alone = w
        .door
        .cancel(&CancelRequest {
            actor: w.desk.actor,
            channel: w.desk.channel,
            booking: joined.id,
            reason: reason(),
            version: None,
        })
        .await
        .expect("no error");
    assert_eq!(
        booking_refusal(&alone),
        BookingRefusal::AppointmentOfSeveralSlots
    );
    assert_eq!(
        booking_refusal(&w.amend(by(nhs111()), joined.id, "Alone").await),
        BookingRefusal::AppointmentOfSeveralSlots
    );
    for booking in [lead.id, joined.id] {
        let moved = w
            .door
            .reschedule(&RescheduleRequest {
                actor: w.desk.actor,
                channel: w.desk.channel,
                booking,
                new_slot: w.slot(SlotType::Urgent, 3).id,
                reason: reason(),
                holding_limit_override: None,
            })
            .await
            .expect("no error");
        assert_eq!(
            booking_refusal(&moved),
            BookingRefusal::AppointmentOfSeveralSlots
        );
    }
    // Cancelled whole, the event naming both bookings.
    let cancelled = w
        .door
        .cancel(&CancelRequest {
            actor: nhs111(),
            channel: Channel::Organisation,
            booking: lead.id,
            reason: reason(),
            version: None,
        })
        .await
        .expect("no error");
    assert!(cancelled.refusal().is_none(), "{cancelled:?}");
    let cancel_event = events()
        .await
        .into_iter()
        .rev()
        .find(|e| e.action.as_str() == "appointment.cancel")
        .expect("an event");
    assert!(named(&cancel_event, joined.id.as_uuid()) && named(&cancel_event, b.id.as_uuid()));
    // A search from the beginning of time is refused, not a panic.
    let ancient = SearchQuery::between(chrono::DateTime::<chrono::Utc>::MIN_UTC, w.now());
    // Refused for an organisation (over 14 days); a typed error for staff
    // (the store holds no such years).
    let org = w
        .door
        .search_slots(&by(nhs111()), ancient.clone())
        .await
        .expect("no error");
    assert!(matches!(
        booking_refusal(&org),
        BookingRefusal::SearchWindowTooWide { .. }
    ));
    assert!(matches!(
        w.door.search_slots(&w.desk, ancient).await,
        Err(gp_online::OnlineError::Store(
            gp_core::StoreError::OutOfRange(_)
        ))
    ));
}
