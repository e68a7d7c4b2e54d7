//! A small practice's March 2026, built by hand through `Practice` on
//! SQLite: registrations, a verification missing, a suspension, a proxy,
//! bookings, a cancellation, a reschedule after the clocks go forward,
//! repeat requests, and transactions either side of the month's ends in UK
//! time. Every figure of the POMI return and the uptake audit is checked
//! against the count worked out by hand below.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveTime, Utc, Weekday};
use gp_access::{
    AccessStore, ApplicationVerdict, By, Competency, IdentityVerification, LegalBasis,
    ListedPatient, PatientList, ProxyApplicationInput, Registration, RegistrationKind, Service,
    StaffProfile, SuspensionReason, VerificationMethod,
};
use gp_booking::{
    BookRequest, BookingStore, CancelRequest, CancellationReason, DeliveryMode, RescheduleRequest,
    Schedule, SessionTemplate, SlotAvailability, SlotType, StaffMember,
};
use gp_core::{
    local_to_utc, Actor, BookingId, Channel, Clock, FixedClock, OdsCode, PatientId, ProxyId,
    SequentialIds, SlotId, StaffId, StaffRole,
};
use gp_monitoring::{pomi_return, uptake, AgeBand, Month, PomiInput, Practice, UptakeService};
use gp_online::{Answer, Practice as Door};
use gp_prescribing::{OrderRequest, RequestChannel};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{nhs_number, repeat_item};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    local_to_utc(
        NaiveDate::from_ymd_opt(y, m, d).expect("a date"),
        NaiveTime::from_hms_opt(h, min, 0).expect("a time"),
    )
    .expect("a UK local time that exists")
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).expect("a date")
}

struct Month2026 {
    door: Door<SqliteStore, FixedClock>,
    store: Arc<SqliteStore>,
    clock: Arc<FixedClock>,
    schedule: Schedule,
    desk: By,
    manager: By,
    ids: SequentialIds,
    n: u64,
}

impl Month2026 {
    async fn new() -> Self {
        let ids = SequentialIds::new(42);
        let clock = Arc::new(FixedClock::new(at(2026, 1, 5, 9, 0)));
        let store = Arc::new(SqliteStore::open_in_memory().expect("a store"));
        let door = Door::new(store.clone(), clock.clone());
        let manager = StaffProfile::new(StaffId::new(&ids), "Manager", StaffRole::PracticeManager);
        door.first_manager(&manager).await.expect("manager");
        let desk_profile = StaffProfile::new(StaffId::new(&ids), "Desk", StaffRole::Receptionist)
            .with_competencies([Competency::VerifyIdentity, Competency::ProxyApplications]);
        door.put_staff(&By::staff(&manager, Channel::Reception), &desk_profile)
            .await
            .expect("desk");
        let gp = StaffMember::new(StaffId::new(&ids), "Dr Patel", StaffRole::Gp);
        store.put_staff(&gp).await.expect("gp");
        let templates: Vec<SessionTemplate> = [
            Weekday::Mon,
            Weekday::Tue,
            Weekday::Wed,
            Weekday::Thu,
            Weekday::Fri,
        ]
        .into_iter()
        .map(|weekday| SessionTemplate {
            site: None,
            clinician: gp.id,
            role: gp.role,
            weekday,
            start: NaiveTime::from_hms_opt(9, 0, 0).expect("09:00"),
            end: NaiveTime::from_hms_opt(12, 0, 0).expect("12:00"),
            slot_minutes: 10,
            slot_type: SlotType::RoutineGp,
            delivery: DeliveryMode::InPerson,
            availability: SlotAvailability::Open,
            reserved_for: None,
        })
        .collect();
        let schedule =
            Schedule::from_templates(&templates, date(2026, 2, 2), date(2026, 4, 30), &ids)
                .expect("a schedule");
        store.add_schedule(&schedule).await.expect("schedule");
        Self {
            door,
            store,
            clock,
            schedule,
            desk: By::staff(&desk_profile, Channel::Reception),
            manager: By::staff(&manager, Channel::Reception),
            ids,
            n: 0,
        }
    }

    fn slot(&self, when: DateTime<Utc>) -> SlotId {
        self.schedule
            .slots
            .iter()
            .find(|s| s.start() == when)
            .map(|s| s.id)
            .expect("a slot then")
    }

    /// A patient on the list (from `listed`), registered online at `when` unless `None`.
    async fn patient(
        &mut self,
        born: NaiveDate,
        registered: Option<DateTime<Utc>>,
        verified: bool,
        services: &[Service],
    ) -> PatientId {
        let patient = PatientId::new(&self.ids);
        let nhs = nhs_number(self.n);
        self.n += 1;
        let listed = ListedPatient::new(
            patient,
            nhs,
            born,
            RegistrationKind::Regular,
            date(2025, 1, 1).max(born),
        )
        .expect("a list entry");
        self.store
            .put_listed_patient(&listed)
            .await
            .expect("listed");
        if let Some(when) = registered {
            self.clock.set(when);
            let registration = Registration {
                nhs_number: nhs,
                date_of_birth: born,
                registration: RegistrationKind::Regular,
                practice: OdsCode::parse("A81001").expect("a code"),
            };
            let done = |a: Answer<gp_access::AccessRecord, gp_online::Refused>| {
                assert!(a.refusal().is_none(), "{:?}", a.refusal());
            };
            done(
                self.door
                    .register(&self.desk, patient, &registration)
                    .await
                    .expect("register"),
            );
            if verified {
                done(
                    self.door
                        .verify_identity(&self.desk, patient, VerificationMethod::DocumentsSeen)
                        .await
                        .expect("verify"),
                );
            }
            let services: BTreeSet<Service> = services.iter().copied().collect();
            done(
                self.door
                    .set_services(&self.desk, patient, &services)
                    .await
                    .expect("services"),
            );
        }
        patient
    }

    async fn book(
        &self,
        actor: Actor,
        patient: PatientId,
        when: DateTime<Utc>,
        slot: DateTime<Utc>,
    ) -> Option<BookingId> {
        self.clock.set(when);
        let channel = match actor {
            Actor::Staff { .. } => Channel::Telephone,
            _ => Channel::Online,
        };
        let request = BookRequest {
            actor,
            channel,
            patient,
            slot: self.slot(slot),
            description: None,
            comment: None,
            holding_limit_override: None,
            organisation_contact: None,
            adjacent: Vec::new(),
        };
        self.door
            .book(&request)
            .await
            .expect("book")
            .done()
            .map(|b| b.id)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_month_by_hand_gives_every_pomi_figure_and_the_uptake_audit() {
    let mut m = Month2026::new().await;
    let all = Service::ALL;
    // A: enabled since February. B: new in March, appointments only.
    // C: registered 23:30 on 31 March (BST), still March. D: never verified.
    // E: enabled in February, suspended in March. F: registered 00:30 on
    // 1 April (BST), which is still 31 March in UTC: April's.
    // G: on the list only. H: a child of 5, enabled, with a parent as proxy.
    let a = m
        .patient(date(1980, 5, 5), Some(at(2026, 2, 20, 10, 0)), true, &all)
        .await;
    let b = m
        .patient(
            date(1990, 6, 1),
            Some(at(2026, 3, 10, 10, 0)),
            true,
            &[Service::Appointments],
        )
        .await;
    let c = m
        .patient(date(1950, 1, 1), Some(at(2026, 3, 31, 23, 30)), true, &all)
        .await;
    let _d = m
        .patient(date(1985, 2, 2), Some(at(2026, 3, 15, 10, 0)), false, &all)
        .await;
    let e = m
        .patient(date(1975, 3, 3), Some(at(2026, 2, 10, 10, 0)), true, &all)
        .await;
    let f = m
        .patient(date(1995, 4, 4), Some(at(2026, 4, 1, 0, 30)), true, &all)
        .await;
    let g = m.patient(date(1960, 7, 7), None, false, &[]).await;
    let h = m
        .patient(date(2021, 1, 15), Some(at(2026, 2, 1, 10, 0)), true, &all)
        .await;
    assert_eq!(
        at(2026, 4, 1, 0, 30).to_rfc3339(),
        "2026-03-31T23:30:00+00:00"
    );

    // H's parent, granted in February.
    m.clock.set(at(2026, 2, 2, 10, 0));
    let parent = ProxyId::new(&m.ids);
    let staff = match m.desk.actor {
        Actor::Staff { staff, .. } => Some(staff),
        _ => None,
    };
    let input = ProxyApplicationInput {
        applicant: parent,
        applicant_name: "Parent".into(),
        applicant_identity: Some(IdentityVerification {
            method: VerificationMethod::DocumentsSeen,
            verified_by: staff,
            at: m.clock.now(),
        }),
        patient_identity_checked: true,
        basis: LegalBasis::ParentalResponsibility,
        scopes: all.into_iter().collect(),
        care_home: None,
    };
    let verdict = ApplicationVerdict::Grant {
        start: date(2026, 2, 2),
        end: None,
        review: None,
    };
    let granted = m
        .door
        .proxy_application(&m.desk, h, &input, &verdict)
        .await
        .expect("proxy");
    assert!(granted.refusal().is_none());
    let as_a = Actor::Patient { patient: a };
    let as_parent = Actor::Proxy {
        proxy: parent,
        for_patient: h,
    };

    // Repeat items, copied by the system in February.
    let system = By {
        actor: Actor::System,
        channel: Channel::Internal,
    };
    let a_items = [
        repeat_item(&m.ids, a, 0, Some(date(2026, 2, 21)), date(2026, 2, 15)),
        repeat_item(&m.ids, a, 1, Some(date(2026, 2, 21)), date(2026, 2, 15)),
    ];
    let h_item = repeat_item(&m.ids, h, 2, Some(date(2026, 2, 21)), date(2026, 2, 15));
    let e_item = repeat_item(&m.ids, e, 3, Some(date(2026, 2, 21)), date(2026, 2, 15));
    for item in a_items.iter().chain([&h_item, &e_item]) {
        m.door.put_item(&system, item).await.expect("item");
    }

    // 28 February: A books online (February's).
    assert!(m
        .book(as_a, a, at(2026, 2, 28, 10, 0), at(2026, 3, 2, 9, 0))
        .await
        .is_some());
    // March: A books (1) and cancels (1) online.
    let x = m
        .book(as_a, a, at(2026, 3, 5, 10, 0), at(2026, 3, 10, 9, 0))
        .await
        .expect("booked");
    m.clock.set(at(2026, 3, 6, 10, 0));
    let cancel = CancelRequest {
        actor: as_a,
        channel: Channel::Online,
        booking: x,
        reason: CancellationReason::parse("Better now").expect("a reason"),
        version: None,
    };
    assert!(m
        .door
        .cancel(&cancel)
        .await
        .expect("cancel")
        .refusal()
        .is_none());
    // A books again (1), and at 02:30 on 29 March, after the clocks went
    // forward, moves it (a cancellation and a booking: 2).
    let y = m
        .book(as_a, a, at(2026, 3, 7, 10, 0), at(2026, 4, 2, 9, 0))
        .await
        .expect("booked");
    m.clock.set(at(2026, 3, 29, 2, 30));
    let reschedule = RescheduleRequest {
        actor: as_a,
        channel: Channel::Online,
        booking: y,
        new_slot: m.slot(at(2026, 4, 3, 9, 0)),
        reason: CancellationReason::parse("Clashes").expect("a reason"),
        holding_limit_override: None,
    };
    assert!(m
        .door
        .reschedule(&reschedule)
        .await
        .expect("reschedule")
        .refusal()
        .is_none());
    // H's parent books online for H (1); a receptionist books for G by
    // telephone (staff: 0); B then tries H's slot and is refused (0).
    assert!(m
        .book(as_parent, h, at(2026, 3, 12, 10, 0), at(2026, 3, 16, 9, 0))
        .await
        .is_some());
    let desk_actor = m.desk.actor;
    assert!(m
        .book(
            desk_actor,
            g,
            at(2026, 3, 12, 10, 5),
            at(2026, 3, 16, 9, 10)
        )
        .await
        .is_some());
    assert!(m
        .book(
            Actor::Patient { patient: b },
            b,
            at(2026, 3, 12, 10, 10),
            at(2026, 3, 16, 9, 0)
        )
        .await
        .is_none());
    // E is suspended on 20 March.
    m.clock.set(at(2026, 3, 20, 10, 0));
    let suspended = m
        .door
        .suspend_access(&m.desk, e, Some(SuspensionReason::LostDevice))
        .await
        .expect("suspend");
    assert!(suspended.refusal().is_none());
    // Repeats on 18 March: A online, two items in one request (1); H's
    // parent online (1); a receptionist by telephone for E (0).
    m.clock.set(at(2026, 3, 18, 10, 0));
    let order = |actor, channel, patient, items: Vec<_>| {
        OrderRequest::new(actor, channel, patient, items, None).expect("an order")
    };
    for request in [
        order(
            as_a,
            RequestChannel::Online,
            a,
            a_items.iter().map(|i| i.id).collect(),
        ),
        order(as_parent, RequestChannel::Online, h, vec![h_item.id]),
        order(desk_actor, RequestChannel::Telephone, e, vec![e_item.id]),
    ] {
        match m.door.order(&request).await.expect("order") {
            Answer::Done(o) => assert!(o.refused.is_empty(), "{:?}", o.refused),
            Answer::Refused(r) => panic!("{r}"),
        }
    }
    // 00:15 on 1 April (BST; 23:15 on 31 March UTC): A books online, April's.
    assert!(m
        .book(as_a, a, at(2026, 4, 1, 0, 15), at(2026, 4, 6, 9, 0))
        .await
        .is_some());
    // On 10 April the practice switches online booking and ordering off:
    // March's return still says they were offered at its end; April's does not.
    m.clock.set(at(2026, 4, 10, 9, 0));
    let off = gp_booking::BookingPolicy::new(gp_booking::BookingSettings {
        online_roles: BTreeSet::new(),
        ..gp_booking::BookingSettings::default()
    })
    .expect("a policy");
    let stored = m
        .door
        .set_booking_policy(&m.manager, &off)
        .await
        .expect("policy");
    assert!(stored.refusal().is_none());
    let ordering_off = gp_prescribing::PrescribingSettings {
        online_ordering: false,
        ..gp_prescribing::PrescribingSettings::default()
    };
    let stored = m
        .door
        .set_prescribing_settings(&m.manager, &ordering_off)
        .await
        .expect("settings");
    assert!(stored.refusal().is_none());

    let events = AccessStore::audit_events(m.store.as_ref())
        .await
        .expect("events");
    let practice = Practice::example();
    let figures = |month: &str| {
        pomi_return(&PomiInput {
            month: Month::parse(month).expect("a month"),
            practice: &practice,
            list_size: 8,
            events: &events,
        })
    };
    let march = figures("2026-03");
    let want = [
        ("patient_list_size", 8),
        ("Sys_Appts_Enbld", 2),
        ("Sys_Presc_Enbld", 2),
        ("Sys_DetCodeRec_Enbld", 0),
        ("Pat_Appts_Enbld", 4), // A, B, C, H (D unverified, E suspended, F April's)
        ("Pat_Appts_Use", 6),   // A: book, cancel, book, reschedule (2); H's parent: book
        ("Pat_Presc_Enbld", 3), // A, C, H
        ("Pat_Presc_Use", 2),   // A's request (two items), H's parent's
        ("Pat_DetCodeRec_Enbld", 0),
        ("Pat_DetCodeRec_Use", 0),
        ("Total_Pat_Enbld", 4), // A, B, C, H
        ("New_Pat_Enbld", 2),   // B, C
        ("Total_Use", 8),
    ];
    for (field, value) in want {
        assert_eq!(march.get(field), Some(value), "{field}");
    }
    let csv = march.csv();
    assert_eq!(csv.lines().count(), 14);
    assert!(csv
        .lines()
        .nth(1)
        .is_some_and(|l| l.starts_with("2026-03-31,Y56,LONDON,93C,")));
    assert!(csv.contains(",A81001,THE DENSHAM SURGERY,EXAMPLE SUPPLIER,Pat_Appts_Use,6\n"));

    let april = figures("2026-04");
    assert_eq!(
        (april.get("Sys_Appts_Enbld"), april.get("Sys_Presc_Enbld")),
        (Some(1), Some(1))
    );
    assert_eq!(april.get("New_Pat_Enbld"), Some(1), "F");
    assert_eq!(
        april.get("Pat_Appts_Use"),
        Some(1),
        "A's booking at 00:15 on 1 April"
    );
    assert_eq!(april.get("Total_Pat_Enbld"), Some(5), "A, B, C, F, H");
    let february = figures("2026-02");
    assert_eq!(
        february.get("Pat_Appts_Use"),
        Some(1),
        "A's booking on 28 February"
    );
    assert_eq!(february.get("Total_Pat_Enbld"), Some(3), "A, E, H");
    assert_eq!(february.get("New_Pat_Enbld"), Some(3));

    // The uptake audit for March: enabled for appointments at its end A,
    // B, C, H; A and H (by the parent) booked; B and C did not.
    let records = m.store.records().await.expect("records");
    let appts = uptake(
        UptakeService::Appointments,
        &records,
        &events,
        date(2026, 3, 1),
        date(2026, 3, 31),
    )
    .expect("an audit");
    assert_eq!(appts.enabled, 4);
    let mut unused: Vec<PatientId> = appts.follow_up.iter().map(|e| e.patient).collect();
    unused.sort();
    let mut want = vec![b, c];
    want.sort();
    assert_eq!(unused, want);
    assert_eq!(
        appts.unused.by_age.get(&AgeBand::From25To44),
        Some(&1),
        "B is 35"
    );
    assert_eq!(
        appts.unused.by_age.get(&AgeBand::From75),
        Some(&1),
        "C is 76"
    );
    assert_eq!(appts.unused.by_registration_month.get("2026-03"), Some(&2));
    assert_eq!((appts.unused.regular, appts.unused.temporary), (2, 0));
    let repeats = uptake(
        UptakeService::RepeatPrescriptions,
        &records,
        &events,
        date(2026, 3, 1),
        date(2026, 3, 31),
    )
    .expect("an audit");
    assert_eq!(repeats.enabled, 3);
    assert_eq!(
        repeats
            .follow_up
            .iter()
            .map(|e| e.patient)
            .collect::<Vec<_>>(),
        vec![c]
    );
    assert!(uptake(
        UptakeService::Appointments,
        &records,
        &events,
        date(2026, 3, 31),
        date(2026, 3, 1)
    )
    .is_err());
    let _ = f;

    // Through the door: staff get the same figures (the list size from the
    // practice's list); a patient and unknown staff are refused, recorded.
    let month = Month::parse("2026-03").expect("a month");
    let through = m
        .door
        .pomi_return(&m.desk, month, &practice)
        .await
        .expect("a return");
    assert_eq!(through.done().map(|r| r.fields), Some(march.fields.clone()));
    let before = AccessStore::audit_events(m.store.as_ref())
        .await
        .expect("events")
        .len();
    let patient = By::patient_online(a);
    let refused = m
        .door
        .pomi_return(&patient, month, &practice)
        .await
        .expect("an answer");
    assert!(refused.refusal().is_some());
    let stranger = By {
        actor: Actor::Staff {
            staff: StaffId::new(&m.ids),
            role: StaffRole::PracticeManager,
        },
        channel: Channel::Reception,
    };
    let refused = m
        .door
        .uptake_audit(
            &stranger,
            UptakeService::Appointments,
            date(2026, 3, 1),
            date(2026, 3, 31),
        )
        .await
        .expect("an answer");
    assert_eq!(refused.refusal().map(|r| r.code()), Some("UnknownStaff"));
    let after = AccessStore::audit_events(m.store.as_ref())
        .await
        .expect("events")
        .len();
    assert_eq!(after, before + 2, "each denial recorded once");
    let reversed = m
        .door
        .uptake_audit(
            &m.desk,
            UptakeService::Appointments,
            date(2026, 3, 31),
            date(2026, 3, 1),
        )
        .await;
    assert!(reversed.is_err(), "a reversed period is an input error");
}
