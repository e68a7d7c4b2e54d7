//! A practice sets its online booking policy; patients, a parent and a
//! receptionist search, book and cancel through `Practice`, and every
//! refusal says why.
//!
//! Run with `cargo run --example booking_policy`.

use std::cell::Cell;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, NaiveTime};
use gp_access::{
    ApplicationVerdict, By, Competency, IdentityVerification, LegalBasis, ListedPatient,
    PatientList, ProxyApplicationInput, Registration, RegistrationKind, Service, StaffProfile,
    VerificationMethod,
};
use gp_booking::{
    BookRequest, Booking, BookingPolicy, BookingSettings, BookingStore, CancelRequest,
    CancellationReason, OverrideReason, ReleaseSchedule, SearchQuery, Slot, SlotAvailability,
    SlotType,
};
use gp_core::{
    local_date, to_local, Actor, Channel, Clock, FixedClock, OdsCode, PatientId, ProxyId,
    SequentialIds, StaffId, StaffRole,
};
use gp_online::{Answer, Practice, Refused};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, nhs_number, practice as practice_fixture};

type Error = Box<dyn std::error::Error>;

fn when(slot: &Slot) -> String {
    to_local(slot.start()).format("%a %-d %b %H:%M").to_string()
}

fn show(what: &str, answer: &Answer<Booking, Refused>, slots: &[Slot]) {
    match answer {
        Answer::Done(b) => {
            let slot = slots
                .iter()
                .find(|s| s.id == b.slot)
                .map(when)
                .unwrap_or_default();
            println!("  BOOKED   {what}: {slot}");
        }
        Answer::Refused(r) => println!("  REFUSED  {what}: {r} ({})", r.code()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let ids = SequentialIds::new(2026);
    let clock = Arc::new(FixedClock::new(monday_morning()));
    let today = local_date(clock.now());

    // The practice: two GPs, a nurse, an HCA, six weeks of sessions, in an
    // embedded SQLite database (in memory here; `SqliteStore::open(path)`
    // for a file). Every request goes through `practice`.
    let fixture = practice_fixture(&ids, today);
    let store = Arc::new(SqliteStore::open_in_memory()?);
    for member in fixture.staff() {
        store.put_staff(&member).await?;
    }
    store.add_schedule(&fixture.schedule).await?;
    let slots = fixture.schedule.slots.clone();
    let practice = Practice::new(store.clone(), clock.clone());

    // The staff records: the practice manager, and a receptionist trained
    // to check identity and decide proxy applications.
    let manager = StaffProfile::new(StaffId::new(&ids), "Pat Morgan", StaffRole::PracticeManager);
    let desk_profile =
        StaffProfile::new(fixture.receptionist.id, "Jo Reid", StaffRole::Receptionist)
            .with_competencies([Competency::VerifyIdentity, Competency::ProxyApplications]);
    practice.first_manager(&manager).await?;
    let as_manager = By::staff(&manager, Channel::Reception);
    practice.put_staff(&as_manager, &desk_profile).await?;
    let desk = By::staff(&desk_profile, Channel::Reception);

    // The practice's rules: the defaults, with ringfenced slots released at
    // 07:00 one day ahead. Only the manager or a lead may change them, and
    // the change is stored and audited with the authorization.
    let policy = BookingPolicy::new(BookingSettings {
        ringfence_release: ReleaseSchedule {
            days_ahead: 1,
            at: NaiveTime::from_hms_opt(7, 0, 0).unwrap_or_default(),
        },
        ..BookingSettings::default()
    })?;
    if let Answer::Refused(r) = practice.set_booking_policy(&desk, &policy).await? {
        println!(
            "The receptionist tries to change the policy: {r} ({})\n",
            r.code()
        );
    }
    let stored = practice
        .set_booking_policy(&as_manager, &policy)
        .await?
        .done()
        .ok_or("the manager may change the policy")?;
    println!(
        "Practice policy, version {} (every setting has a default; see README):",
        stored.version
    );
    let s = stored.policy.settings();
    println!("  online roles: {:?}", s.online_roles);
    println!(
        "  minimum age online: {:?}; holding limit: {:?}",
        s.minimum_online_age, s.holding_limit
    );
    println!(
        "  search window: {} days; booking horizon: {} days; online cancellation cut-off: {} minutes\n",
        s.online_search_window_days, s.online_booking_horizon_days, s.online_cancellation_cutoff_minutes
    );

    // Patients on the practice's list; some registered for online services.
    let nth = Cell::new(0);
    let list = |dob: NaiveDate, kind: RegistrationKind| {
        let (store, patient, n) = (&store, PatientId::new(&ids), nth.replace(nth.get() + 1));
        async move {
            let entry = ListedPatient::new(patient, nhs_number(n), dob, kind, today)?;
            store.put_listed_patient(&entry).await?;
            Ok::<_, Error>((patient, entry))
        }
    };
    let online = |dob: NaiveDate, kind: RegistrationKind| {
        let (practice, desk) = (&practice, &desk);
        let listed = list(dob, kind);
        async move {
            let (patient, entry) = listed.await?;
            let registration = Registration {
                nhs_number: entry.nhs_number(),
                date_of_birth: dob,
                registration: kind,
                practice: OdsCode::parse("A81001")?,
            };
            practice.register(desk, patient, &registration).await?;
            practice
                .verify_identity(desk, patient, VerificationMethod::DocumentsSeen)
                .await?;
            practice
                .set_services(desk, patient, &Service::ALL.into_iter().collect())
                .await?;
            Ok::<_, Error>(patient)
        }
    };
    let adult = NaiveDate::from_ymd_opt(1984, 3, 9).ok_or("date")?;
    let alice = online(adult, RegistrationKind::Regular).await?;
    let bob = online(adult, RegistrationKind::Regular).await?;
    let teen = online(today - Duration::days(15 * 365), RegistrationKind::Regular).await?;
    let visitor = online(adult, RegistrationKind::Temporary).await?;
    let (carol, _) = list(adult, RegistrationKind::Regular).await?;

    let now = clock.now();
    println!(
        "It is {} at the practice.\n",
        to_local(now).format("%H:%M on %A %-d %B %Y")
    );

    // 1. Alice searches the next 7 days for GP appointments.
    let as_alice = By::patient_online(alice);
    let mut query = SearchQuery::between(now, now + Duration::days(7));
    query.role = Some(StaffRole::Gp);
    let found = practice
        .search(&as_alice, alice, query)
        .await?
        .done()
        .unwrap_or_default();
    let hidden = slots
        .iter()
        .filter(|s| s.start() < now + Duration::days(7) && s.role == StaffRole::Gp)
        .count()
        - found.len();
    println!(
        "Alice searches 7 days of GP appointments online: {} offered, {hidden} kept back",
        found.len()
    );
    println!("  (urgent, triage call-back and unreleased ringfenced slots are never shown online)");
    for slot in found.iter().take(3) {
        println!("  e.g. {} {}", when(slot), slot.slot_type);
    }

    // 2. She books the first two and tries a third.
    println!("\nAlice books:");
    let book = |patient: PatientId, by: &By, slot: &Slot| BookRequest {
        actor: by.actor,
        channel: by.channel,
        patient,
        slot: slot.id,
        description: None,
        comment: None,
        holding_limit_override: None,
        organisation_contact: None,
        adjacent: Vec::new(),
    };
    for slot in found.iter().take(3) {
        show(
            "online",
            &practice.book(&book(alice, &as_alice, slot)).await?,
            &slots,
        );
    }

    // 3. Refusals, each with its reason.
    println!("\nRefusals:");
    let as_bob = By::patient_online(bob);
    show(
        "Bob takes Alice's slot",
        &practice.book(&book(bob, &as_bob, &found[0])).await?,
        &slots,
    );
    let urgent = fixture
        .first_slot(|s| s.slot_type == SlotType::Urgent && s.start() > now)
        .ok_or("no urgent slot")?;
    show(
        "Bob picks an urgent slot online",
        &practice.book(&book(bob, &as_bob, urgent)).await?,
        &slots,
    );
    let triage = fixture
        .first_slot(|s| s.reserved_for.is_some() && s.start() > now)
        .ok_or("no triage slot")?;
    show(
        "Bob picks a triage call-back slot",
        &practice.book(&book(bob, &as_bob, triage)).await?,
        &slots,
    );
    let ringfenced = fixture
        .first_slot(|s| s.availability == SlotAvailability::Ringfenced && s.start() > now)
        .ok_or("no ringfenced slot")?;
    show(
        "Bob picks a ringfenced Friday slot",
        &practice.book(&book(bob, &as_bob, ringfenced)).await?,
        &slots,
    );
    let far = fixture
        .first_slot(|s| {
            s.slot_type == SlotType::RoutineGp
                && s.availability == SlotAvailability::Open
                && s.start() > now + Duration::days(35)
        })
        .ok_or("no slot five weeks ahead")?;
    show(
        "Bob picks a slot five weeks ahead",
        &practice.book(&book(bob, &as_bob, far)).await?,
        &slots,
    );
    show(
        "A 14-year-old books for themselves",
        &practice
            .book(&book(teen, &By::patient_online(teen), &found[5]))
            .await?,
        &slots,
    );
    // A parent applies for proxy access at the desk, then books for the teenager.
    let parent = ProxyId::new(&ids);
    let application = ProxyApplicationInput {
        applicant: parent,
        applicant_name: "Alex (parent)".into(),
        applicant_identity: Some(IdentityVerification {
            method: VerificationMethod::DocumentsSeen,
            verified_by: Some(desk_profile.staff),
            at: now,
        }),
        patient_identity_checked: true,
        basis: LegalBasis::ParentalResponsibility,
        scopes: [Service::Appointments].into_iter().collect(),
        care_home: None,
    };
    let grant = ApplicationVerdict::Grant {
        start: today,
        end: None,
        review: None,
    };
    practice
        .proxy_application(&desk, teen, &application, &grant)
        .await?;
    show(
        "Their parent books for them as proxy",
        &practice
            .book(&book(teen, &By::proxy_online(parent, teen), &found[5]))
            .await?,
        &slots,
    );
    show(
        "A temporary resident books online",
        &practice
            .book(&book(visitor, &By::patient_online(visitor), &found[6]))
            .await?,
        &slots,
    );
    show(
        "Carol (no online account) books online",
        &practice
            .book(&book(carol, &By::patient_online(carol), &found[7]))
            .await?,
        &slots,
    );

    // 4. The receptionist books by telephone, for patients with or without
    //    an online account: urgent slots are open to staff, and the holding
    //    limit can be overridden with a recorded reason.
    println!("\nReception (telephone):");
    let phone = By {
        actor: desk.actor,
        channel: Channel::Telephone,
    };
    show(
        "urgent slot for Bob",
        &practice.book(&book(bob, &phone, urgent)).await?,
        &slots,
    );
    show(
        "routine slot for Carol, who has no online account",
        &practice.book(&book(carol, &phone, &found[7])).await?,
        &slots,
    );
    show(
        "a third appointment for Alice",
        &practice.book(&book(alice, &phone, &found[8])).await?,
        &slots,
    );
    let mut with_reason = book(alice, &phone, &found[8]);
    with_reason.holding_limit_override = Some(OverrideReason::parse(
        "Needs a dressing change and a review",
    )?);
    show(
        "the same, with an override reason",
        &practice.book(&with_reason).await?,
        &slots,
    );
    let stranger = PatientId::new(&ids);
    show(
        "someone not on the practice's list",
        &practice.book(&book(stranger, &phone, &found[9])).await?,
        &slots,
    );

    // 5. Alice cancels one online; the slot is free again for everyone.
    println!("\nCancellation:");
    let mine = practice
        .appointments(&as_alice, alice)
        .await?
        .done()
        .unwrap_or_default();
    let cancel = CancelRequest {
        actor: as_alice.actor,
        channel: Channel::Online,
        booking: mine[0].id,
        reason: CancellationReason::parse("Feeling better")?,
        version: None,
    };
    match practice.cancel(&cancel).await? {
        Answer::Done(b) => println!(
            "  CANCELLED online: slot {} is free again",
            slots
                .iter()
                .find(|s| s.id == b.slot)
                .map(when)
                .unwrap_or_default()
        ),
        Answer::Refused(r) => println!("  REFUSED  {r} ({})", r.code()),
    }
    show(
        "Bob books the freed slot",
        &practice.book(&book(bob, &as_bob, &found[0])).await?,
        &slots,
    );

    // 6. The audit trail holds every decision, allowed or refused.
    let events = BookingStore::audit_events(store.as_ref()).await?;
    let refused = events.iter().filter(|e| !e.outcome.is_allowed()).count();
    println!(
        "\nAudit trail: {} events ({} allowed, {refused} refused), for example:",
        events.len(),
        events.len() - refused
    );
    for e in events.iter().filter(|e| !e.outcome.is_allowed()).take(3) {
        let who = match e.actor {
            Actor::Patient { .. } => "a patient".to_owned(),
            Actor::Staff { role, .. } => format!("a {role}"),
            other => other.to_string(),
        };
        println!(
            "  {} {} by {who} via {}: {}",
            to_local(e.at).format("%H:%M:%S"),
            e.action,
            e.channel,
            e.outcome
        );
    }
    Ok(())
}
