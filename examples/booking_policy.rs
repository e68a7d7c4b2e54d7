//! A practice sets its online booking policy; patients, a parent and a
//! receptionist search, book and cancel, and every refusal says why.
//!
//! Run with `cargo run --example booking_policy`.

use chrono::{Duration, NaiveTime};
use gp_booking::{
    BookRequest, Booking, BookingPolicy, BookingSettings, BookingStore, CancelRequest,
    CancellationReason, OnlineRegistration, OverrideReason, PatientFacts, Registration,
    ReleaseSchedule, SearchQuery, SearchRequest, Slot, SlotAvailability, SlotType,
};
use gp_core::{
    local_date, to_local, Actor, Channel, Clock, FixedClock, ProxyId, Reason, SequentialIds,
    StaffRole,
};
use gp_online::{Answer, Online};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{adult, monday_morning, patient, practice};

fn when(slot: &Slot) -> String {
    to_local(slot.start()).format("%a %-d %b %H:%M").to_string()
}

fn show(what: &str, answer: &Answer<Booking>, slots: &[Slot]) {
    match answer {
        Answer::Done(b) => {
            let slot = slots
                .iter()
                .find(|s| s.id == b.slot)
                .map(when)
                .unwrap_or_default();
            println!("  BOOKED   {what}: {slot}");
        }
        Answer::Refused(r) => println!("  REFUSED  {what}: {} ({})", r, r.code()),
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ids = SequentialIds::new(2026);
    let clock = FixedClock::new(monday_morning());
    let today = local_date(clock.now());

    // The practice: two GPs, a nurse, an HCA, six weeks of sessions.
    let fixture = practice(&ids, today);
    // An embedded SQLite database (in memory here; `SqliteStore::open(path)` for a file).
    let store = SqliteStore::open_in_memory()?;
    for member in fixture.staff() {
        store.put_staff(&member).await?;
    }
    store.add_schedule(&fixture.schedule).await?;
    let slots = fixture.schedule.slots.clone();

    // The practice's rules: the defaults, with ringfenced slots released at
    // 07:00 one day ahead and a limit of two appointments at a time.
    let policy = BookingPolicy::new(BookingSettings {
        ringfence_release: ReleaseSchedule {
            days_ahead: 1,
            at: NaiveTime::from_hms_opt(7, 0, 0).unwrap_or_default(),
        },
        ..BookingSettings::default()
    })?;
    println!("Practice policy (every setting has a default; see README):");
    let s = policy.settings();
    println!("  online roles: {:?}", s.online_roles);
    println!(
        "  minimum age online: {:?}; holding limit: {:?}",
        s.minimum_online_age, s.holding_limit
    );
    println!(
        "  search window: {} days; online cancellation cut-off: {} minutes\n",
        s.online_search_window_days, s.online_cancellation_cutoff_minutes
    );
    let online = Online::with_ids(store, clock, policy, Box::new(SequentialIds::new(7)));

    let alice = adult(&ids);
    let me = Actor::Patient {
        patient: alice.patient,
    };
    let now = online.clock().now();
    println!(
        "It is {} at the practice.\n",
        to_local(now).format("%H:%M on %A %-d %B %Y")
    );

    // 1. Alice searches the next 7 days for GP appointments.
    let mut query = SearchQuery::between(now, now + Duration::days(7));
    query.role = Some(StaffRole::Gp);
    let search = SearchRequest {
        actor: me,
        channel: Channel::Online,
        patient: Some(alice),
        query,
    };
    let found = online.search(&search).await?.done().unwrap_or_default();
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
    let book = |p: &PatientFacts, actor: Actor, channel: Channel, slot: &Slot| BookRequest {
        actor,
        channel,
        patient: p.patient,
        slot: slot.id,
        description: None,
        comment: None,
        holding_limit_override: None,
    };
    for slot in found.iter().take(3) {
        show(
            "online",
            &online
                .book(&book(&alice, me, Channel::Online, slot), &alice)
                .await?,
            &slots,
        );
    }

    // 3. Refusals, each with its reason.
    println!("\nRefusals:");
    let bob = adult(&ids);
    let bob_actor = Actor::Patient {
        patient: bob.patient,
    };
    show(
        "Bob takes Alice's slot",
        &online
            .book(&book(&bob, bob_actor, Channel::Online, &found[0]), &bob)
            .await?,
        &slots,
    );
    let urgent = fixture
        .first_slot(|s| s.slot_type == SlotType::Urgent && s.start() > now)
        .ok_or("no urgent slot")?;
    show(
        "Bob picks an urgent slot online",
        &online
            .book(&book(&bob, bob_actor, Channel::Online, urgent), &bob)
            .await?,
        &slots,
    );
    let triage = fixture
        .first_slot(|s| s.reserved_for.is_some() && s.start() > now)
        .ok_or("no triage slot")?;
    show(
        "Bob picks a triage call-back slot",
        &online
            .book(&book(&bob, bob_actor, Channel::Online, triage), &bob)
            .await?,
        &slots,
    );
    let ringfenced = fixture
        .first_slot(|s| s.availability == SlotAvailability::Ringfenced && s.start() > now)
        .ok_or("no ringfenced slot")?;
    show(
        "Bob picks a ringfenced Friday slot",
        &online
            .book(&book(&bob, bob_actor, Channel::Online, ringfenced), &bob)
            .await?,
        &slots,
    );
    let teen = patient(
        &ids,
        today - Duration::days(15 * 365),
        Registration::Regular,
        OnlineRegistration::Registered,
    );
    let teen_actor = Actor::Patient {
        patient: teen.patient,
    };
    show(
        "A 14-year-old books for themselves",
        &online
            .book(&book(&teen, teen_actor, Channel::Online, &found[5]), &teen)
            .await?,
        &slots,
    );
    let parent = Actor::Proxy {
        proxy: ProxyId::new(&ids),
        for_patient: teen.patient,
    };
    show(
        "Their parent books for them as proxy",
        &online
            .book(&book(&teen, parent, Channel::Online, &found[5]), &teen)
            .await?,
        &slots,
    );
    let visitor = patient(
        &ids,
        today - Duration::days(40 * 365),
        Registration::Temporary,
        OnlineRegistration::Registered,
    );
    let visitor_actor = Actor::Patient {
        patient: visitor.patient,
    };
    show(
        "A temporary resident books online",
        &online
            .book(
                &book(&visitor, visitor_actor, Channel::Online, &found[6]),
                &visitor,
            )
            .await?,
        &slots,
    );

    // 4. The receptionist books by telephone: urgent slots are open to staff,
    //    and the holding limit can be overridden with a recorded reason.
    println!("\nReception (telephone):");
    let reception = Actor::Staff {
        staff: fixture.receptionist.id,
        role: StaffRole::Receptionist,
    };
    show(
        "urgent slot for Bob",
        &online
            .book(&book(&bob, reception, Channel::Telephone, urgent), &bob)
            .await?,
        &slots,
    );
    show(
        "a third appointment for Alice",
        &online
            .book(
                &book(&alice, reception, Channel::Telephone, &found[8]),
                &alice,
            )
            .await?,
        &slots,
    );
    let mut with_reason = book(&alice, reception, Channel::Telephone, &found[8]);
    with_reason.holding_limit_override = Some(OverrideReason::parse(
        "Needs a dressing change and a review",
    )?);
    show(
        "the same, with an override reason",
        &online.book(&with_reason, &alice).await?,
        &slots,
    );

    // 5. Alice cancels one online; the slot is free again for everyone.
    println!("\nCancellation:");
    let mine = online.store().bookings_for_patient(alice.patient).await?;
    let cancel = CancelRequest {
        actor: me,
        channel: Channel::Online,
        booking: mine[0].id,
        reason: CancellationReason::parse("Feeling better")?,
    };
    match online.cancel(&cancel).await? {
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
        &online
            .book(&book(&bob, bob_actor, Channel::Online, &found[0]), &bob)
            .await?,
        &slots,
    );

    // 6. The audit trail holds every decision, allowed or refused.
    let events = online.store().audit_events().await?;
    let refused = events.iter().filter(|e| !e.outcome.is_allowed()).count();
    println!(
        "\nAudit trail: {} events ({} allowed, {refused} refused), for example:",
        events.len(),
        events.len() - refused
    );
    for e in events.iter().filter(|e| !e.outcome.is_allowed()).take(2) {
        println!(
            "  {} {} by {} via {}: {}",
            to_local(e.at).format("%H:%M:%S"),
            e.action,
            e.actor,
            e.channel,
            e.outcome
        );
    }
    Ok(())
}
