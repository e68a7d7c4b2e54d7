//! Proxy access under the practice's rules: a parent books for their
//! 12-year-old, a care-home worker orders repeats for a resident, a coercion
//! concern pauses a partner's access until a GP reviews it, and the child's
//! access changes at 16. Every answer is audited in one SQLite database.
//!
//! Run with `cargo run --example proxy_access`.

use std::collections::BTreeSet;
use std::sync::Arc;

use chrono::{Duration, NaiveDate, TimeZone, Utc};
use gp_access::{
    AccessStore, Action, ApplicationVerdict, By, CareHome, Competency, ConcernOutcome, Designation,
    IdentityVerification, LegalBasis, ListedPatient, PatientList, ProxyApplicationInput,
    Registration, RegistrationKind, SeenAlone, Service, StaffProfile, VerificationMethod,
};
use gp_audit::AuditStore;
use gp_booking::{BookRequest, BookingStore, SearchQuery};
use gp_core::{
    local_date, to_local, Actor, Channel, Clock, FixedClock, OdsCode, PatientId, ProxyId,
    SequentialIds, StaffId, StaffRole,
};
use gp_online::{Answer, Practice, Refused};
use gp_prescribing::{OrderRequest, RequestChannel};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, nhs_number, practice as practice_fixture, repeat_item};

fn say<T>(what: &str, answer: &Answer<T, Refused>) {
    match answer {
        Answer::Done(_) => println!("  ALLOWED  {what}"),
        Answer::Refused(r) => println!("  DENIED   {what}: {r} ({})", r.code()),
    }
}

fn staff(
    ids: &SequentialIds,
    name: &str,
    role: StaffRole,
    c: &[Competency],
    d: &[Designation],
) -> StaffProfile {
    StaffProfile {
        staff: StaffId::new(ids),
        name: name.into(),
        role,
        competencies: c.iter().copied().collect(),
        designations: d.iter().copied().collect(),
        version: 0,
    }
}

fn by(p: &StaffProfile) -> By {
    By {
        actor: Actor::Staff {
            staff: p.staff,
            role: p.role,
        },
        channel: Channel::Reception,
    }
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let ids = SequentialIds::new(2026);
    let clock = Arc::new(FixedClock::new(monday_morning()));
    let store = Arc::new(SqliteStore::open_in_memory()?);
    // Every request through `practice` is first authorized by the access
    // records (and audited), then decided by the service's rules.
    let practice = Practice::new(store.clone(), clock.clone());
    let access = &practice;
    let practice_code = OdsCode::parse("A81001")?;

    // The practice: its manager records the staff, their training and the leads.
    let manager = staff(&ids, "Pat Morgan", StaffRole::PracticeManager, &[], &[]);
    let all = [
        Competency::VerifyIdentity,
        Competency::ProxyApplications,
        Competency::RecogniseCoercion,
        Competency::Prescribing,
    ];
    let gp = staff(
        &ids,
        "Dr Patel",
        StaffRole::Gp,
        &all,
        &[Designation::LeadGp],
    );
    let desk = staff(
        &ids,
        "Jo Reid",
        StaffRole::Receptionist,
        &[
            Competency::VerifyIdentity,
            Competency::ProxyApplications,
            Competency::RecogniseCoercion,
        ],
        &[],
    );
    access.first_manager(&manager).await?;
    access.put_staff(&by(&manager), &gp).await?;
    access.put_staff(&by(&manager), &desk).await?;
    let fixture = practice_fixture(&ids, local_date(clock.now()));
    for s in fixture.staff() {
        store.put_staff(&s).await?;
    }
    store.add_schedule(&fixture.schedule).await?;

    // A patient on the practice's list (the supplier's own register),
    // registered for online services, verified, with everything switched on.
    let next_nhs = std::cell::Cell::new(0);
    let register = |dob: NaiveDate| {
        let (access, desk, code, store) = (&access, &desk, practice_code, &store);
        let patient = PatientId::new(&ids);
        let nhs = nhs_number(next_nhs.replace(next_nhs.get() + 1));
        let today = local_date(clock.now());
        async move {
            let listed = ListedPatient::new(patient, nhs, dob, RegistrationKind::Regular, today)?;
            store.put_listed_patient(&listed).await?;
            let reg = Registration {
                nhs_number: nhs,
                date_of_birth: dob,
                registration: RegistrationKind::Regular,
                practice: code,
            };
            access.register(&by(desk), patient, &reg).await?;
            access
                .verify_identity(&by(desk), patient, VerificationMethod::DocumentsSeen)
                .await?;
            access
                .set_services(&by(desk), patient, &Service::ALL.into_iter().collect())
                .await?;
            Ok::<_, Box<dyn std::error::Error>>(patient)
        }
    };
    let application = |applicant: ProxyId,
                       name: &str,
                       basis: LegalBasis,
                       scopes: &[Service],
                       care_home: Option<CareHome>| ProxyApplicationInput {
        applicant,
        applicant_name: name.into(),
        applicant_identity: Some(IdentityVerification {
            method: VerificationMethod::DocumentsSeen,
            verified_by: Some(desk.staff),
            at: clock.now(),
        }),
        patient_identity_checked: true,
        basis,
        scopes: scopes.iter().copied().collect::<BTreeSet<_>>(),
        care_home,
    };
    let from_today = ApplicationVerdict::Grant {
        start: local_date(clock.now()),
        end: None,
        review: None,
    };

    // 1. A parent books for their 12-year-old.
    println!("1. A parent books an appointment for their 12-year-old:");
    let mia = register(NaiveDate::from_ymd_opt(2014, 3, 10).ok_or("date")?).await?;
    let parent = ProxyId::new(&ids);
    let input = application(
        parent,
        "Alex (parent)",
        LegalBasis::ParentalResponsibility,
        &Service::ALL,
        None,
    );
    say(
        "parental access granted by the receptionist",
        &access
            .proxy_application(&by(&desk), mia, &input, &from_today)
            .await?,
    );
    let as_parent = By {
        actor: Actor::Proxy {
            proxy: parent,
            for_patient: mia,
        },
        channel: Channel::Online,
    };
    let query = SearchQuery::between(clock.now(), clock.now() + Duration::days(7));
    if let Answer::Done(free) = practice.search(&as_parent, mia, query).await? {
        let slot = free.first().ok_or("no free slot")?;
        let request = BookRequest {
            actor: as_parent.actor,
            channel: Channel::Online,
            patient: mia,
            slot: slot.id,
            description: Some(gp_booking::BookingDescription::parse("Ear ache")?),
            comment: None,
            holding_limit_override: None,
            organisation_contact: None,
            adjacent: Vec::new(),
        };
        match practice.book(&request).await? {
            Answer::Done(_) => println!(
                "  BOOKED   {} for Mia, by her parent (authorized, then booked)",
                to_local(slot.start()).format("%a %-d %b %H:%M")
            ),
            Answer::Refused(r) => println!("  REFUSED  {r} ({})", r.code()),
        }
    }
    if let Answer::Done(due) = access.reviews_due(&by(&desk)).await? {
        for (grant, why) in due {
            println!("  REVIEW   {}'s access to Mia: {why:?}", grant.proxy_name);
        }
    }

    // 2. A care-home worker orders repeats for a resident.
    println!("\n2. A care-home worker orders repeats for a resident:");
    let edith = register(NaiveDate::from_ymd_opt(1938, 9, 9).ok_or("date")?).await?;
    let worker = ProxyId::new(&ids);
    let home = CareHome {
        name: "Elm Lodge".into(),
        ods: Some(OdsCode::parse("VM123")?),
    };
    let input = application(
        worker,
        "Sam Shaw (Elm Lodge)",
        LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        &[Service::RepeatPrescriptions],
        Some(home),
    );
    say(
        "care-home access granted, repeats only",
        &access
            .proxy_application(&by(&desk), edith, &input, &from_today)
            .await?,
    );
    let item = repeat_item(&ids, edith, 1, None, local_date(clock.now()));
    // The supplier's system copies the medicine from the clinical record.
    let system = By {
        actor: Actor::System,
        channel: Channel::Internal,
    };
    practice.put_item(&system, &item).await?;
    let as_worker = By {
        actor: Actor::Proxy {
            proxy: worker,
            for_patient: edith,
        },
        channel: Channel::Online,
    };
    let order = OrderRequest::new(
        as_worker.actor,
        RequestChannel::Online,
        edith,
        vec![item.id],
        None,
    )?;
    match practice.order(&order).await? {
        Answer::Done(_) => println!(
            "  ORDERED  {} for Edith, by the care home (authorized, then ordered)",
            item.drug
        ),
        Answer::Refused(r) => println!("  REFUSED  {r} ({})", r.code()),
    }
    say(
        "worker asks to book for Edith",
        &access
            .authorize(&as_worker, edith, Action::BookAppointment)
            .await?,
    );

    // 3. A coercion concern pauses a partner's access.
    println!("\n3. A coercion concern about a partner:");
    let sam = register(NaiveDate::from_ymd_opt(1990, 7, 1).ok_or("date")?).await?;
    let partner = ProxyId::new(&ids);
    let input = application(
        partner,
        "Chris (partner)",
        LegalBasis::Consent {
            seen_alone: SeenAlone::No {
                why: "Partner insisted on staying in the room".into(),
            },
        },
        &Service::ALL,
        None,
    );
    access
        .proxy_application(&by(&desk), sam, &input, &from_today)
        .await?;
    let as_partner = By {
        actor: Actor::Proxy {
            proxy: partner,
            for_patient: sam,
        },
        channel: Channel::Online,
    };
    say(
        "partner reads Sam's messages",
        &access
            .authorize(&as_partner, sam, Action::SendMessage)
            .await?,
    );
    let concern = access
        .coercion_concern(
            &by(&desk),
            sam,
            Some(partner),
            "Sam seemed afraid to speak while Chris was present",
        )
        .await?;
    say(
        "receptionist records a coercion concern naming the partner",
        &concern,
    );
    say(
        "partner tries again",
        &access
            .authorize(&as_partner, sam, Action::SendMessage)
            .await?,
    );
    let as_sam = By {
        actor: Actor::Patient { patient: sam },
        channel: Channel::Online,
    };
    say(
        "Sam uses her own access",
        &access.authorize(&as_sam, sam, Action::SendMessage).await?,
    );
    if let Answer::Done(id) = concern {
        say(
            "receptionist reviews the concern",
            &access
                .coercion_review(&by(&desk), sam, id, ConcernOutcome::AccessRestored, "-")
                .await?,
        );
        say(
            "GP reviews it, seeing Sam alone: partner's access withdrawn",
            &access
                .coercion_review(
                    &by(&gp),
                    sam,
                    id,
                    ConcernOutcome::ProxyWithdrawn,
                    "Seen alone; Sam asked for it to end",
                )
                .await?,
        );
    }
    say(
        "partner tries again",
        &access
            .authorize(&as_partner, sam, Action::SendMessage)
            .await?,
    );

    // 4. Mia turns 16 on 10 March 2030.
    println!("\n4. Mia turns 16:");
    clock.set(
        Utc.with_ymd_and_hms(2030, 3, 9, 23, 59, 0)
            .single()
            .ok_or("time")?,
    );
    say(
        "23:59 on 9 March 2030: parent asks to book",
        &access
            .authorize(&as_parent, mia, Action::BookAppointment)
            .await?,
    );
    clock.advance(Duration::minutes(1));
    say(
        "00:00 on 10 March 2030: parent asks to book",
        &access
            .authorize(&as_parent, mia, Action::BookAppointment)
            .await?,
    );
    if let Answer::Done(due) = access.reviews_due(&by(&desk)).await? {
        for (grant, why) in due {
            println!("  REVIEW   {}'s access: {why:?}", grant.proxy_name);
        }
    }
    say(
        "Mia agrees; the GP records her consent as the new basis",
        &access
            .new_basis(
                &by(&gp),
                mia,
                parent,
                &LegalBasis::Consent {
                    seen_alone: SeenAlone::Yes,
                },
            )
            .await?,
    );
    say(
        "parent asks to book",
        &access
            .authorize(&as_parent, mia, Action::BookAppointment)
            .await?,
    );

    // The audit trail: every decision, allowed or denied, chained.
    let events = AccessStore::audit_events(store.as_ref()).await?;
    let denied = events.iter().filter(|e| !e.outcome.is_allowed()).count();
    println!(
        "\nAudit trail: {} events ({denied} denied or refused); chain verified: {}",
        events.len(),
        store.verify_all().await?.is_ok()
    );
    Ok(())
}
