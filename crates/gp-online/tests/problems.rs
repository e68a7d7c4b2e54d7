//! The problem log through `Practice`: who may report and act, as whom,
//! in what state, and with what input; every refusal recorded once.

use std::sync::Arc;

use chrono::NaiveDate;
use gp_access::{
    AccessStore, ApplicationVerdict, By, Competency, IdentityVerification, LegalBasis,
    ListedPatient, PatientList, ProxyApplicationInput, Registration, RegistrationKind, SeenAlone,
    Service, StaffProfile, SuspensionReason, VerificationMethod,
};
use gp_booking::{BookRequest, BookingStore};
use gp_core::{
    local_date, Actor, Channel, Clock, FixedClock, OdsCode, PatientId, ProxyId, SequentialIds,
    StaffId, StaffRole,
};
use gp_monitoring::{Concerning, NewProblem, ProblemCategory, ProblemFilter, ProblemStatus};
use gp_online::{Answer, Practice};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, nhs_number, practice as practice_fixture};

struct World {
    door: Practice<SqliteStore, FixedClock>,
    store: Arc<SqliteStore>,
    desk: By,
    alice: PatientId,
    bob: PatientId,
    proxy: ProxyId,
    bobs_booking: gp_core::BookingId,
}

async fn world() -> World {
    let ids = SequentialIds::new(77);
    let clock = Arc::new(FixedClock::new(monday_morning()));
    let store = Arc::new(SqliteStore::open_in_memory().expect("a store"));
    let door = Practice::new(store.clone(), clock.clone());
    let today = local_date(clock.now());
    let fixture = practice_fixture(&ids, today);
    for member in fixture.staff() {
        store.put_staff(&member).await.expect("staff");
    }
    store
        .add_schedule(&fixture.schedule)
        .await
        .expect("schedule");
    let manager = StaffProfile::new(StaffId::new(&ids), "Manager", StaffRole::PracticeManager);
    door.first_manager(&manager).await.expect("manager");
    let desk_profile = StaffProfile::new(StaffId::new(&ids), "Desk", StaffRole::Receptionist)
        .with_competencies([Competency::VerifyIdentity, Competency::ProxyApplications]);
    door.put_staff(&By::staff(&manager, Channel::Reception), &desk_profile)
        .await
        .expect("desk");
    let desk = By::staff(&desk_profile, Channel::Reception);
    let mut patients = Vec::new();
    for n in 0..2 {
        let patient = PatientId::new(&ids);
        let born = NaiveDate::from_ymd_opt(1980, 1, 1).expect("a date");
        store
            .put_listed_patient(
                &ListedPatient::new(
                    patient,
                    nhs_number(n),
                    born,
                    RegistrationKind::Regular,
                    born,
                )
                .expect("an entry"),
            )
            .await
            .expect("listed");
        let registration = Registration {
            nhs_number: nhs_number(n),
            date_of_birth: born,
            registration: RegistrationKind::Regular,
            practice: OdsCode::parse("A81001").expect("a code"),
        };
        door.register(&desk, patient, &registration)
            .await
            .expect("register");
        door.verify_identity(&desk, patient, VerificationMethod::DocumentsSeen)
            .await
            .expect("verify");
        // Messages off: reporting a problem needs no particular service.
        door.set_services(
            &desk,
            patient,
            &[Service::Appointments].into_iter().collect(),
        )
        .await
        .expect("services");
        patients.push(patient);
    }
    let (alice, bob) = (patients[0], patients[1]);
    let proxy = ProxyId::new(&ids);
    let input = ProxyApplicationInput {
        applicant: proxy,
        applicant_name: "Sam".into(),
        applicant_identity: Some(IdentityVerification {
            method: VerificationMethod::DocumentsSeen,
            verified_by: Some(desk_profile.staff),
            at: clock.now(),
        }),
        patient_identity_checked: true,
        basis: LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        scopes: [Service::RepeatPrescriptions].into_iter().collect(),
        care_home: None,
    };
    let grant = ApplicationVerdict::Grant {
        start: today,
        end: None,
        review: None,
    };
    let granted = door
        .proxy_application(&desk, alice, &input, &grant)
        .await
        .expect("proxy");
    assert!(granted.refusal().is_none());
    let slot = fixture
        .first_slot(|s| {
            s.slot_type == gp_booking::SlotType::RoutineGp
                && s.start() > clock.now() + chrono::Duration::days(1)
        })
        .expect("a slot")
        .id;
    let bobs_booking = door
        .book(&BookRequest::patient_online(bob, slot))
        .await
        .expect("book")
        .done()
        .expect("booked")
        .id;
    World {
        door,
        store,
        desk,
        alice,
        bob,
        proxy,
        bobs_booking,
    }
}

fn report(actor: Actor, patient: Option<PatientId>, concerning: Option<Concerning>) -> NewProblem {
    let channel = match actor {
        Actor::Staff { .. } => Channel::Reception,
        Actor::System => Channel::Internal,
        _ => Channel::Online,
    };
    NewProblem::new(
        actor,
        channel,
        patient,
        ProblemCategory::CannotBook,
        "The page said error 500 after choosing a time",
        concerning,
    )
    .expect("a report")
}

async fn events(w: &World) -> usize {
    AccessStore::audit_events(w.store.as_ref())
        .await
        .expect("events")
        .len()
}

fn code<T>(a: &Answer<T, gp_online::Refused>) -> Option<&'static str> {
    a.refusal().map(|r| r.code())
}

#[tokio::test]
async fn who_may_report_a_problem_and_about_whom() {
    let w = world().await;
    let as_alice = Actor::Patient { patient: w.alice };
    let mine = w
        .door
        .report_problem(&report(as_alice, Some(w.alice), None))
        .await
        .expect("an answer");
    let mine = mine.done().expect("alice reports about herself");
    assert_eq!(
        (mine.status, mine.version, mine.reported_by),
        (ProblemStatus::Open, 0, as_alice)
    );

    // Refusals, each recorded, nothing stored: an access denial is one
    // event; a refusal by the log's rules is one write of the allowed
    // authorization and the refusal (two).
    let stranger = Actor::Staff {
        staff: StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(404)),
        role: StaffRole::PracticeManager,
    };
    let cases = [
        (report(as_alice, Some(w.bob), None), "ActorNotForPatient", 1),
        (report(as_alice, None, None), "ActorNotForPatient", 1),
        (
            report(
                as_alice,
                Some(w.alice),
                Some(Concerning::Appointment(w.bobs_booking)),
            ),
            "LinkNotFound",
            2,
        ),
        (report(stranger, None, None), "UnknownStaff", 1),
        (report(Actor::System, None, None), "RoleNotPermitted", 1),
        (
            report(
                w.desk.actor,
                Some(PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(999))),
                None,
            ),
            "PatientNotListed",
            1,
        ),
        (
            report(
                Actor::Proxy {
                    proxy: w.proxy,
                    for_patient: w.bob,
                },
                Some(w.bob),
                None,
            ),
            "NoProxyAccess",
            1,
        ),
    ];
    let before_all = w
        .door
        .problems(&w.desk, &ProblemFilter::default())
        .await
        .expect("a list")
        .done()
        .map(|l| l.len());
    for (r, want, written) in cases {
        let before = events(&w).await;
        let answer = w.door.report_problem(&r).await.expect("an answer");
        assert_eq!(code(&answer), Some(want), "{r:?}");
        assert_eq!(events(&w).await, before + written, "events for {want}");
    }
    let after_all = w
        .door
        .problems(&w.desk, &ProblemFilter::default())
        .await
        .expect("a list")
        .done()
        .map(|l| l.len());
    assert_eq!(before_all, after_all, "nothing stored");
    // A patient or proxy on the wrong channel.
    let mut phone = report(as_alice, Some(w.alice), None);
    phone.channel = Channel::Telephone;
    assert_eq!(
        code(&w.door.report_problem(&phone).await.expect("an answer")),
        Some("ChannelNotAllowed")
    );

    // Staff report about no patient, or about the patient's own booking.
    let desk_report = w
        .door
        .report_problem(&report(w.desk.actor, None, None))
        .await
        .expect("an answer");
    assert!(desk_report.done().is_some());
    let about_booking = report(
        w.desk.actor,
        Some(w.bob),
        Some(Concerning::Appointment(w.bobs_booking)),
    );
    assert!(w
        .door
        .report_problem(&about_booking)
        .await
        .expect("an answer")
        .done()
        .is_some());

    // A proxy reports whatever their scope; revoked, they cannot.
    let as_proxy = Actor::Proxy {
        proxy: w.proxy,
        for_patient: w.alice,
    };
    assert!(w
        .door
        .report_problem(&report(as_proxy, Some(w.alice), None))
        .await
        .expect("an answer")
        .done()
        .is_some());
    w.door
        .revoke_proxy(&w.desk, w.alice, w.proxy, "Asked to end it")
        .await
        .expect("revoked");
    assert_eq!(
        code(
            &w.door
                .report_problem(&report(as_proxy, Some(w.alice), None))
                .await
                .expect("an answer")
        ),
        Some("ProxyRevoked")
    );
    // A suspended patient cannot (whoever holds the account may not be them).
    w.door
        .suspend_access(&w.desk, w.bob, Some(SuspensionReason::SuspectedCompromise))
        .await
        .expect("suspended");
    let as_bob = Actor::Patient { patient: w.bob };
    assert_eq!(
        code(
            &w.door
                .report_problem(&report(as_bob, Some(w.bob), None))
                .await
                .expect("an answer")
        ),
        Some("OnlineAccessSuspended")
    );

    let all = w
        .door
        .problems(&w.desk, &ProblemFilter::default())
        .await
        .expect("a list")
        .done()
        .expect("staff read");
    assert_eq!(all.len(), 4);
    // The description is kept in the log, never in the chained trail.
    let trail = serde_json::to_string(
        &AccessStore::audit_events(w.store.as_ref())
            .await
            .expect("events"),
    )
    .expect("json");
    assert!(!trail.contains("error 500"));
    // A report built by hand past `NewProblem::new` is checked all the same:
    // an input error, nothing recorded.
    let before = events(&w).await;
    for bad in ["", "   ", "\u{1b}[2J\u{1b}[31mFAKE\u{7}"] {
        let mut r = report(as_alice, Some(w.alice), None);
        r.description = bad.to_owned();
        assert!(w.door.report_problem(&r).await.is_err(), "{bad:?}");
    }
    let mut long = report(as_alice, Some(w.alice), None);
    long.description = "x".repeat(100_000);
    assert!(w.door.report_problem(&long).await.is_err());
    assert_eq!(events(&w).await, before);
    // A description that is empty or too long is an input error, nothing recorded.
    assert!(NewProblem::new(
        as_alice,
        Channel::Online,
        Some(w.alice),
        ProblemCategory::Other,
        "  ",
        None
    )
    .is_err());
    assert!(NewProblem::new(
        as_alice,
        Channel::Online,
        Some(w.alice),
        ProblemCategory::Other,
        &"x".repeat(2_001),
        None
    )
    .is_err());
}

#[tokio::test]
async fn staff_act_on_problems_and_a_closed_one_takes_only_reopening() {
    let w = world().await;
    let as_alice = Actor::Patient { patient: w.alice };
    let problem = w
        .door
        .report_problem(&report(as_alice, Some(w.alice), None))
        .await
        .expect("an answer")
        .done()
        .expect("reported");
    let as_alice_by = By::patient_online(w.alice);
    let before = events(&w).await;
    assert_eq!(
        code(
            &w.door
                .problem_action(
                    &as_alice_by,
                    problem.id,
                    ProblemStatus::Resolved,
                    "Fixed it myself"
                )
                .await
                .expect("an answer")
        ),
        Some("RoleNotPermitted")
    );
    assert_eq!(
        code(
            &w.door
                .problems(&as_alice_by, &ProblemFilter::default())
                .await
                .expect("an answer")
        ),
        Some("RoleNotPermitted")
    );
    assert_eq!(events(&w).await, before + 2);
    let taken = w
        .door
        .problem_action(
            &w.desk,
            problem.id,
            ProblemStatus::InProgress,
            "Rang the patient",
        )
        .await
        .expect("an answer");
    assert_eq!(taken.done().map(|p| p.version), Some(1));
    let resolved = w
        .door
        .problem_action(
            &w.desk,
            problem.id,
            ProblemStatus::Resolved,
            "Cleared the cache",
        )
        .await
        .expect("an answer");
    let resolved = resolved.done().expect("resolved");
    assert_eq!(resolved.actions.len(), 2);
    assert_eq!(
        code(
            &w.door
                .problem_action(&w.desk, problem.id, ProblemStatus::InProgress, "Again")
                .await
                .expect("an answer")
        ),
        Some("ProblemClosed")
    );
    let reopened = w
        .door
        .problem_action(
            &w.desk,
            problem.id,
            ProblemStatus::Open,
            "It happened again",
        )
        .await
        .expect("an answer");
    assert_eq!(
        reopened.done().map(|p| (p.status, p.version)),
        Some((ProblemStatus::Open, 3))
    );
    let unknown = gp_core::ProblemId::from_uuid(gp_core::uuid::Uuid::from_u128(12345));
    assert_eq!(
        code(
            &w.door
                .problem_action(&w.desk, unknown, ProblemStatus::Resolved, "?")
                .await
                .expect("an answer")
        ),
        Some("ProblemNotFound")
    );
    // An empty or over-long note is an input error and records nothing.
    let before = events(&w).await;
    assert!(w
        .door
        .problem_action(&w.desk, problem.id, ProblemStatus::Resolved, "")
        .await
        .is_err());
    assert!(w
        .door
        .problem_action(
            &w.desk,
            problem.id,
            ProblemStatus::Resolved,
            &"n".repeat(1_001)
        )
        .await
        .is_err());
    assert_eq!(events(&w).await, before);
    let open = ProblemFilter {
        open_only: true,
        ..ProblemFilter::default()
    };
    assert_eq!(
        w.door
            .problems(&w.desk, &open)
            .await
            .expect("a list")
            .done()
            .map(|l| l.len()),
        Some(1)
    );
}
