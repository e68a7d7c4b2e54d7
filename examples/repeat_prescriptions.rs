//! A patient orders repeat medicines online with a message; one item is too
//! early. A receptionist enters a telephone request, a GP approves and issues,
//! the patient flags a medicine they no longer take and the practice sees it
//! on its review list. Every decision, allowed or refused, is in the audit
//! trail, chained in the same SQLite database.
//!
//! Run with `cargo run --example repeat_prescriptions`.

use std::sync::Arc;

use chrono::Duration;
use gp_access::{
    By, Competency, ListedPatient, PatientList, Registration, RegistrationKind, Service,
    StaffProfile, VerificationMethod,
};
use gp_audit::AuditStore;
use gp_core::{
    local_date, to_local, Actor, Channel, Clock, FixedClock, OdsCode, PatientId, Reason,
    SequentialIds, StaffId, StaffRole,
};
use gp_messaging::{MessageLink, NewMessage};
use gp_online::{Answer, Practice, PrescriberMove};
use gp_prescribing::{
    ItemAction, LineAction, OrderRequest, PrescribingStore, RepeatItem, RequestChannel,
};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, nhs_number, repeat_item};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ids = SequentialIds::new(2026);
    let clock = Arc::new(FixedClock::new(monday_morning()));
    let today = local_date(clock.now());
    // One embedded SQLite database serves the whole practice and its audit
    // trail; every request goes through `practice`, authorized first.
    let store = Arc::new(SqliteStore::open_in_memory()?);
    let practice = Practice::new(store.clone(), clock.clone());

    // The staff: the practice manager records a GP prescriber and a receptionist.
    let manager = StaffProfile::new(StaffId::new(&ids), "Pat Morgan", StaffRole::PracticeManager);
    let gp_profile = StaffProfile::new(StaffId::new(&ids), "Dr Patel", StaffRole::Gp)
        .with_competencies([Competency::Prescribing]);
    let desk_profile = StaffProfile::new(StaffId::new(&ids), "Jo Reid", StaffRole::Receptionist)
        .with_competencies([Competency::VerifyIdentity]);
    practice.first_manager(&manager).await?;
    practice
        .put_staff(&By::staff(&manager, Channel::Reception), &gp_profile)
        .await?;
    practice
        .put_staff(&By::staff(&manager, Channel::Reception), &desk_profile)
        .await?;
    let gp_desk = By::staff(&gp_profile, Channel::Reception);
    let desk = By::staff(&desk_profile, Channel::Reception);
    let gp = gp_desk.actor;
    let receptionist = desk.actor;

    // The patient: on the practice's list, registered for online services.
    let patient = PatientId::new(&ids);
    let dob = chrono::NaiveDate::from_ymd_opt(1962, 4, 2).ok_or("date")?;
    let nhs = nhs_number(1);
    store
        .put_listed_patient(&ListedPatient::new(
            patient,
            nhs,
            dob,
            RegistrationKind::Regular,
            today,
        )?)
        .await?;
    let registration = Registration {
        nhs_number: nhs,
        date_of_birth: dob,
        registration: RegistrationKind::Regular,
        practice: OdsCode::parse("A81001")?,
    };
    practice.register(&desk, patient, &registration).await?;
    practice
        .verify_identity(&desk, patient, VerificationMethod::DocumentsSeen)
        .await?;
    practice
        .set_services(&desk, patient, &Service::ALL.into_iter().collect())
        .await?;
    let me = Actor::Patient { patient };
    let system = By {
        actor: Actor::System,
        channel: Channel::Internal,
    };

    // The clinical system copies the patient's repeat list. (The medicine
    // codes pass their check digit; only the paracetamol code is checked
    // against dm+d.)
    let issued = |days_ago: i64| Some(today - Duration::days(days_ago));
    let list: Vec<RepeatItem> = vec![
        repeat_item(&ids, patient, 1, issued(25), today), // amlodipine: runs out in 3 days
        repeat_item(&ids, patient, 2, issued(5), today),  // inhaler: issued 5 days ago
        repeat_item(&ids, patient, 0, issued(24), today), // paracetamol
        repeat_item(&ids, patient, 3, issued(27), today), // sertraline
    ];
    for item in &list {
        practice.put_item(&system, item).await?;
    }
    let name = |id| {
        list.iter()
            .find(|i| i.id == id)
            .map(|i| i.drug.clone())
            .unwrap_or_default()
    };
    println!("Repeat list for the patient:");
    for i in &list {
        println!(
            "  {:<40} {} {}, {} issues left, supply runs out {}",
            i.drug,
            i.quantity.amount,
            i.quantity.unit,
            i.issues_remaining,
            i.supply_runs_out()
                .map(|d| d.to_string())
                .unwrap_or_default()
        );
    }

    // 1. The patient orders two items online, with a message.
    println!("\n1. The patient orders two items online with a message:");
    let order = OrderRequest::new(
        me,
        RequestChannel::Online,
        patient,
        vec![list[0].id, list[1].id],
        Some("Please send to the pharmacy on the High Street."),
    )?;
    let online_request = match practice.order(&order).await? {
        Answer::Done(ordered) => {
            for line in &ordered.request.lines {
                println!("  ORDERED  {}", name(line.item));
            }
            for r in &ordered.refused {
                println!(
                    "  REFUSED  {}: {} ({})",
                    name(r.item),
                    r.reason,
                    r.reason.code()
                );
            }
            ordered.request
        }
        Answer::Refused(r) => return Err(format!("unexpected refusal: {r}").into()),
    };

    // The same item again, while the first order is open.
    let again = OrderRequest::new(me, RequestChannel::Online, patient, vec![list[0].id], None)?;
    if let Answer::Refused(r) = practice.order(&again).await? {
        println!("  REFUSED  {} again: {r} ({})", name(list[0].id), r.code());
    }

    // 2. Later that morning a receptionist takes a telephone request for paracetamol.
    clock.advance(Duration::minutes(95));
    println!("\n2. A receptionist enters a telephone request:");
    let phone = OrderRequest::new(
        receptionist,
        RequestChannel::Telephone,
        patient,
        vec![list[2].id],
        None,
    )?;
    let phone_request = practice
        .order(&phone)
        .await?
        .done()
        .ok_or("the telephone request was refused")?
        .request;
    println!("  QUEUED   {} (telephone)", name(list[2].id));

    let queue = practice
        .prescription_queue(&desk)
        .await?
        .done()
        .ok_or("the queue was refused")?;
    println!("\nThe practice's queue has {} requests:", queue.len());
    for r in &queue {
        let items: Vec<_> = r.lines.iter().map(|l| name(l.item)).collect();
        println!(
            "  {} {:<9} {}{}",
            to_local(r.at).format("%H:%M"),
            r.channel.to_string(),
            items.join(", "),
            r.message
                .as_ref()
                .map(|m| format!(" -- \"{m}\""))
                .unwrap_or_default()
        );
    }

    clock.advance(Duration::hours(3));
    // 3. The receptionist cannot approve; the GP approves and issues.
    println!("\n3. Approval:");
    let line = |actor, request: &gp_prescribing::RepeatRequest| LineAction {
        actor,
        channel: Channel::Reception,
        patient,
        request: request.id,
        item: request.lines[0].item,
    };
    if let Answer::Refused(r) = practice
        .prescriber_move(
            &line(receptionist, &online_request),
            &PrescriberMove::Approve,
        )
        .await?
    {
        println!("  REFUSED  receptionist approves: {r} ({})", r.code());
    }
    for request in [&online_request, &phone_request] {
        practice
            .prescriber_move(&line(gp, request), &PrescriberMove::Approve)
            .await?;
        let issued = practice
            .prescriber_move(&line(gp, request), &PrescriberMove::Issue)
            .await?;
        if let Answer::Done(r) = issued {
            println!(
                "  ISSUED   {} (approved and issued by the GP)",
                name(r.lines[0].item)
            );
        }
    }
    // The patient cannot cancel a line once it is issued.
    let cancel = LineAction {
        channel: Channel::Online,
        ..line(me, &online_request)
    };
    if let Answer::Refused(r) = practice.cancel_line(&cancel).await? {
        println!(
            "  REFUSED  patient cancels an issued item: {r} ({})",
            r.code()
        );
    }

    clock.advance(Duration::days(1));
    // 4. The next day the patient flags an item they no longer take, and writes to the practice.
    println!("\n4. The patient no longer takes sertraline:");
    let flag = ItemAction {
        actor: me,
        channel: Channel::Online,
        patient,
        item: list[3].id,
    };
    practice
        .flag_not_taken(&flag, Some("Stopped by the hospital in May."))
        .await?;
    let note = NewMessage::new(
        me,
        Channel::Online,
        patient,
        "Sertraline",
        "The hospital stopped my sertraline; I have flagged it on my list.",
        Some(MessageLink::Medication(list[3].id)),
    )?;
    practice.send(&note).await?;
    let review = practice
        .review_list(&gp_desk)
        .await?
        .done()
        .unwrap_or_default();
    for item in review {
        let flag = item.not_taken.clone().ok_or("flag missing")?;
        let by = if flag.by == me {
            "the patient".to_owned()
        } else {
            flag.by.to_string()
        };
        println!(
            "  REVIEW   {}: flagged by {by} on {} -- \"{}\"",
            item.drug,
            to_local(flag.at).format("%-d %b %H:%M"),
            flag.note.unwrap_or_default()
        );
    }
    for m in practice.inbox(&desk).await?.done().unwrap_or_default() {
        println!("  INBOX    [{}] {}: {}", m.state, m.subject, m.body);
    }

    // 5. The audit trail: every decision, chained and verified.
    let events = PrescribingStore::audit_events(store.as_ref()).await?;
    let refused = events.iter().filter(|e| !e.outcome.is_allowed()).count();
    println!(
        "\nAudit trail: {} events ({} allowed, {refused} refused); chain verified: {}",
        events.len(),
        events.len() - refused,
        store.verify_all().await?.is_ok()
    );
    for e in events.iter().filter(|e| !e.outcome.is_allowed()) {
        let who = match e.actor {
            Actor::Patient { .. } => "the patient".to_owned(),
            Actor::Staff { role, .. } => format!("a {role}"),
            other => other.to_string(),
        };
        println!(
            "  {:<22} by {who} via {}: {}",
            e.action.as_str(),
            e.channel,
            e.outcome
        );
    }
    Ok(())
}
