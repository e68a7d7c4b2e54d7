//! GP Connect Appointment Management over real HTTP on loopback, as other
//! NHS organisations use it (NHS 111, another practice), each test named
//! after the GP Connect provider-testing feature and scenario it follows
//! (SearchForFreeSlots, AppointmentBook, AppointmentRead,
//! AppointmentRetrieve, AppointmentAmend, AppointmentCancel), as far as
//! they apply without Spine. Consumers sign in with GP Connect's unsigned
//! bearer tokens (`GpConnectConsumers`); every answer is parsed with an
//! independent FHIR model.

use std::sync::Arc;

use base64::Engine;
use chrono::{Duration, NaiveDate};
use gp_access::{
    By, ListedPatient, PatientList, Registration, RegistrationKind, Service, StaffProfile,
    VerificationMethod,
};
use gp_booking::{BookingPolicy, BookingSettings, BookingStore, OrganisationSlots, Slot, SlotType};
use gp_core::{
    Actor, Channel, Clock, FixedClock, OdsCode, OrganisationType, PatientId, SequentialIds,
    StaffId, StaffRole,
};
use gp_http::{router_at, AnyOf, DevelopmentTokens, GpConnectConsumers};
use gp_online::Practice;
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, nhs_number, practice as practice_fixture};
use serde_json::{json, Value};

mod common;
use common::{call, serve, spine_code, Reply};

const ODS: &str = "https://fhir.nhs.uk/Id/ods-organization-code";
const ORG_TYPE: &str = "https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1";

struct World {
    addr: std::net::SocketAddr,
    clock: Arc<FixedClock>,
    store: Arc<SqliteStore>,
    slots: Vec<Slot>,
    /// On the list, never registered online.
    carol: PatientId,
    /// Registered online (token "alice").
    alice: PatientId,
}

/// An unsigned token carrying `claims`.
fn unsigned(claims: &Value) -> String {
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string().as_bytes())
    };
    let header = json!({"alg": "none", "typ": "JWT"});
    format!("{}.{}.", b64(&header), b64(claims))
}

/// GP Connect's consumer token for `ods`: unsigned, five minutes long.
fn token_at(ods: &str, iat: i64, reason: &str) -> String {
    unsigned(&claims_at(ods, iat, reason))
}

fn claims_at(ods: &str, iat: i64, reason: &str) -> Value {
    json!({
        "iss": "https://consumer.example",
        "sub": "1",
        "aud": "https://provider.example/fhir",
        "iat": iat,
        "exp": iat + 300,
        "reason_for_request": reason,
        "requested_scope": "patient/*.write",
        "requesting_organization": {
            "resourceType": "Organization",
            "identifier": [{"system": ODS, "value": ods}],
            "name": "Consumer"
        },
        "requesting_device": {"resourceType": "Device"},
        "requesting_practitioner": {
            "resourceType": "Practitioner",
            "id": "1",
            "identifier": [
                {"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "111222333444"},
                {"system": "https://fhir.nhs.uk/Id/sds-role-profile-id", "value": "444555666777"},
                {"system": "https://consumer.example/Id/user-guid", "value": "98ed4f78-814d-4266-8d5b-cde742f3093c"}
            ]
        }
    })
}

impl World {
    /// A token to change a patient's appointments (`patient/*.write`).
    fn token(&self, ods: &str) -> String {
        token_at(ods, self.clock.now().timestamp(), "directcare")
    }

    /// A token for `scope`.
    fn token_for(&self, ods: &str, scope: &str) -> String {
        let mut c = claims_at(ods, self.clock.now().timestamp(), "directcare");
        c["requested_scope"] = json!(scope);
        unsigned(&c)
    }

    /// A read, with the scope GP Connect gives it: `organization/*.read`
    /// to search for free slots, `patient/*.read` for a patient's records.
    async fn get(&self, path: &str, ods: &str) -> Reply {
        let scope = if path.starts_with("/Slot") {
            "organization/*.read"
        } else {
            "patient/*.read"
        };
        call(
            self.addr,
            "GET",
            path,
            Some(&self.token_for(ods, scope)),
            &[],
            b"",
        )
        .await
    }

    /// The `nth` free slot of a type more than an hour away.
    fn slot(&self, slot_type: SlotType, nth: usize) -> Slot {
        self.slots
            .iter()
            .filter(|s| s.slot_type == slot_type && s.reserved_for.is_none())
            .filter(|s| s.start() > self.clock.now() + Duration::hours(1))
            .nth(nth)
            .cloned()
            .expect("a slot")
    }

    fn appointment(&self, patient: PatientId, slots: &[&Slot], ods: &str, kind: &str) -> Value {
        json!({
            "resourceType": "Appointment",
            "meta": {"profile": ["https://fhir.nhs.uk/STU3/StructureDefinition/GPConnect-Appointment-1"]},
            "contained": [{
                "resourceType": "Organization",
                "id": "1",
                "identifier": [{"system": ODS, "value": ods}],
                "type": [{"coding": [{"system": ORG_TYPE, "code": kind}]}],
                "name": "NHS 111 North",
                "telecom": [{"system": "phone", "value": "0300 303 5678"}]
            }],
            "extension": [{
                "url": "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-BookingOrganisation-1",
                "valueReference": {"reference": "#1"}
            }],
            "status": "booked",
            "description": "Chest pain, triaged by 111",
            "start": slots.iter().map(|s| s.start()).min().map(|t| gp_core::to_local(t).to_rfc3339()),
            "end": slots.iter().map(|s| s.period.end()).max().map(|t| gp_core::to_local(t).to_rfc3339()),
            "slot": slots.iter().map(|s| json!({"reference": format!("Slot/{}", s.id)})).collect::<Vec<_>>(),
            "participant": [{"actor": {"reference": format!("Patient/{patient}")}, "status": "accepted"}]
        })
    }

    async fn book(&self, patient: PatientId, slot: &Slot, ods: &str, kind: &str) -> Reply {
        let body = self.appointment(patient, &[slot], ods, kind).to_string();
        call(
            self.addr,
            "POST",
            "/Appointment",
            Some(&self.token(ods)),
            &[],
            body.as_bytes(),
        )
        .await
    }

    async fn put(&self, id: &str, body: &Value, if_match: Option<&str>, ods: &str) -> Reply {
        let headers: Vec<(&str, &str)> = if_match.map(|v| ("If-Match", v)).into_iter().collect();
        call(
            self.addr,
            "PUT",
            &format!("/Appointment/{id}"),
            Some(&self.token(ods)),
            &headers,
            body.to_string().as_bytes(),
        )
        .await
    }
}

/// Urgent slots open to urgent care; routine GP slots open to B82005 only;
/// a cap of 3 per organisation.
async fn world() -> World {
    let ids = SequentialIds::new(4242);
    let clock = Arc::new(FixedClock::new(monday_morning()));
    let store = Arc::new(SqliteStore::open_in_memory().expect("a store"));
    let practice = Arc::new(Practice::new(store.clone(), clock.clone()));
    let fixture = practice_fixture(&ids, monday_morning().date_naive());
    for m in fixture.staff() {
        store.put_staff(&m).await.expect("staff");
    }
    store
        .add_schedule(&fixture.schedule)
        .await
        .expect("schedule");
    let manager = StaffProfile::new(StaffId::new(&ids), "Manager", StaffRole::PracticeManager);
    practice.first_manager(&manager).await.expect("manager");
    let manager = By::staff(&manager, Channel::Reception);
    let desk = StaffProfile::new(StaffId::new(&ids), "Desk", StaffRole::Receptionist)
        .with_competencies([gp_access::Competency::VerifyIdentity]);
    practice.put_staff(&manager, &desk).await.expect("desk");
    let desk = By::staff(&desk, Channel::Reception);
    let policy = BookingPolicy::new(BookingSettings {
        organisation_slots: vec![
            OrganisationSlots {
                slot_type: SlotType::Urgent,
                organisation_types: [OrganisationType::URGENT_CARE].into_iter().collect(),
                ods_codes: Default::default(),
            },
            OrganisationSlots {
                slot_type: SlotType::RoutineGp,
                organisation_types: Default::default(),
                ods_codes: [OdsCode::parse("B82005").expect("a code")]
                    .into_iter()
                    .collect(),
            },
        ],
        organisation_cap: Some(3),
        ..Default::default()
    })
    .expect("a policy");
    let set = practice
        .set_booking_policy(&manager, &policy)
        .await
        .expect("policy");
    assert!(set.refusal().is_none());
    let mut patients = Vec::new();
    for n in 0..2u64 {
        let p = PatientId::new(&ids);
        let born = NaiveDate::from_ymd_opt(1975, 5, 5).expect("a date");
        store
            .put_listed_patient(
                &ListedPatient::new(
                    p,
                    nhs_number(700 + n),
                    born,
                    RegistrationKind::Regular,
                    born,
                )
                .expect("an entry"),
            )
            .await
            .expect("listed");
        patients.push(p);
    }
    let (carol, alice) = (patients[0], patients[1]);
    let reg = Registration {
        nhs_number: nhs_number(701),
        date_of_birth: NaiveDate::from_ymd_opt(1975, 5, 5).expect("a date"),
        registration: RegistrationKind::Regular,
        practice: OdsCode::parse("A81001").expect("a code"),
    };
    practice
        .register(&desk, alice, &reg)
        .await
        .expect("register");
    practice
        .verify_identity(&desk, alice, VerificationMethod::DocumentsSeen)
        .await
        .expect("verify");
    practice
        .set_services(&desk, alice, &Service::ALL.into_iter().collect())
        .await
        .expect("services");
    let consumers = GpConnectConsumers::new(
        [
            (
                OdsCode::parse("X09").expect("a code"),
                OrganisationType::URGENT_CARE,
            ),
            (
                OdsCode::parse("B82005").expect("a code"),
                OrganisationType::GP_PRACTICE,
            ),
        ],
        clock.clone(),
    )
    .with_audience("https://provider.example/fhir");
    // In production the organisations' router is served apart, behind
    // Spine's mutual TLS; one router here keeps the suite short.
    let auth = AnyOf::new().or(Arc::new(consumers)).or(Arc::new(
        DevelopmentTokens::new().with("alice", By::patient_online(alice)),
    ));
    let site = gp_http::PracticeSite::new(
        OdsCode::parse("A81001").expect("a code"),
        gp_booking::OrganisationName::parse("Riverside Surgery").expect("a name"),
    )
    .with_branch(
        OdsCode::parse("Y02911").expect("a site code"),
        gp_booking::OrganisationName::parse("Riverside Surgery, Hillside branch").expect("a name"),
    );
    let addr = serve(router_at(practice, Arc::new(auth), site)).await;
    World {
        addr,
        clock,
        store,
        slots: fixture.schedule.slots.clone(),
        carol,
        alice,
    }
}

fn resources<'a>(r: &'a Reply, kind: &str) -> Vec<&'a Value> {
    r.body["entry"]
        .as_array()
        .map(|e| {
            e.iter()
                .map(|e| &e["resource"])
                .filter(|x| x["resourceType"] == kind)
                .collect()
        })
        .unwrap_or_default()
}

/// `/Slot?...` over `days` from Monday with 111's filters.
fn search_path(days: i64, filters: &str) -> String {
    let start = NaiveDate::from_ymd_opt(2026, 6, 1).expect("a date");
    let end = start + Duration::days(days);
    format!("/Slot?start=ge{start}&end=le{end}&status=free&_include=Slot:schedule{filters}")
}

fn filter(system: &str, code: &str) -> String {
    format!("&searchFilter={system}%7C{code}")
}

#[tokio::test]
async fn search_for_free_slots_searching_with_valid_parameters_should_return_success() {
    let w = world().await;
    let filters = filter(ODS, "X09") + &filter(ORG_TYPE, "urgent-care");
    for days in [0, 8, 13] {
        let r = w.get(&search_path(days, &filters), "X09").await;
        assert_eq!(r.status, 200, "{days}: {}", r.body);
        assert_eq!(r.body["type"], "searchset");
        let slots = resources(&r, "Slot");
        assert!(!slots.is_empty());
        assert!(slots.iter().all(|s| s["status"] == "free"));
        assert!(
            slots
                .iter()
                .all(|s| s["serviceType"][0]["text"] == "urgent"),
            "only the urgent slots opened to urgent care"
        );
        // Each slot's schedule is in the bundle.
        let schedules: Vec<String> = resources(&r, "Schedule")
            .iter()
            .map(|s| format!("Schedule/{}", s["id"].as_str().unwrap_or("")))
            .collect();
        assert!(slots
            .iter()
            .all(|s| schedules
                .contains(&s["schedule"]["reference"].as_str().unwrap_or("").to_owned())));
    }
}

#[tokio::test]
async fn search_for_free_slots_searching_with_invalid_date_range_should_return_error() {
    let w = world().await;
    for days in [15, 31, -1] {
        let r = w.get(&search_path(days, ""), "X09").await;
        assert_eq!(
            (r.status, spine_code(&r)),
            (422, "INVALID_PARAMETER"),
            "{days}"
        );
    }
}

#[tokio::test]
async fn search_for_free_slots_should_fail_due_to_missing_parameters() {
    let w = world().await;
    for path in [
        "/Slot?status=free&_include=Slot:schedule",
        "/Slot?end=le2026-06-03&status=free&_include=Slot:schedule",
        "/Slot?start=ge2026-06-01&end=le2026-06-03&_include=Slot:schedule",
    ] {
        let r = w.get(path, "X09").await;
        assert_eq!((r.status, spine_code(&r)), (400, "BAD_REQUEST"), "{path}");
    }
}

#[tokio::test]
async fn search_for_free_slots_with_invalid_or_unknown_prefixes_and_values() {
    let w = world().await;
    for (start, end) in [
        ("lt", "gt"),
        ("gt", "gt"),
        ("le", "ge"),
        ("eq", "eq"),
        ("ne", "ne"),
        ("ge", "ne"),
    ] {
        let path = format!(
            "/Slot?start={start}2026-06-01&end={end}2026-06-03&status=free&_include=Slot:schedule"
        );
        let r = w.get(&path, "X09").await;
        assert_eq!(
            (r.status, spine_code(&r)),
            (422, "INVALID_PARAMETER"),
            "{path}"
        );
    }
    for (key, value) in [
        ("start", "geinvalidStartDate"),
        ("start", "ge"),
        ("end", "leinvalidEnddate"),
        ("status", "busy"),
        ("start", "ge2026-06-01T08:00:00"),
        ("start", "ge2026-06-01T08:00:00Z"),
        ("start", "ge2026"),
        ("start", "ge2026-06"),
    ] {
        let mut pairs = [
            ("start", "ge2026-06-01".to_owned()),
            ("end", "le2026-06-03".to_owned()),
            ("status", "free".to_owned()),
            ("_include", "Slot:schedule".to_owned()),
        ];
        for p in pairs.iter_mut().filter(|p| p.0 == key) {
            p.1 = value.to_owned();
        }
        let query: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let r = w.get(&format!("/Slot?{}", query.join("&")), "X09").await;
        assert_eq!(
            (r.status, spine_code(&r)),
            (422, "INVALID_PARAMETER"),
            "{key}={value}"
        );
    }
    // Valid dateTimes with their offsets, and dates, mixed.
    let r = w
        .get(
            "/Slot?start=ge2026-06-01T08:00:00%2B01:00&end=le2026-06-03&status=free&_include=Slot:schedule",
            "X09",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
}

#[tokio::test]
async fn search_for_free_slots_with_other_search_filter_system_and_org_type_and_code() {
    let w = world().await;
    let other = filter("https://example.org/disposition", "Dx05");
    let urgent = filter(ORG_TYPE, "urgent-care");
    // Another system is ignored, as GP Connect requires.
    let r = w
        .get(&search_path(3, &(other.clone() + &urgent)), "X09")
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!resources(&r, "Slot").is_empty());
    // No filter: only slots open to any organisation (none here).
    let r = w.get(&search_path(3, &other), "X09").await;
    assert_eq!(r.status, 200);
    assert!(resources(&r, "Slot").is_empty());
    // The neighbour names its code: routine slots only.
    let r = w
        .get(&search_path(3, &filter(ODS, "B82005")), "B82005")
        .await;
    assert!(!resources(&r, "Slot").is_empty());
    assert!(resources(&r, "Slot")
        .iter()
        .all(|s| s["serviceType"][0]["text"] == "routine GP"));
    // 111 naming the neighbour's code sees nothing of the neighbour's.
    let r = w.get(&search_path(3, &filter(ODS, "B82005")), "X09").await;
    assert_eq!(r.status, 200);
    assert!(resources(&r, "Slot").is_empty());
    // Codes that are not codes, or two different ones, are refused.
    for bad in [
        filter(ODS, "NOT%20A%20CODE"),
        filter(ORG_TYPE, "Urgent%20Care"),
        filter(ODS, "X09") + &filter(ODS, "X10"),
        "&searchFilter=no-bar".to_owned(),
    ] {
        let r = w.get(&search_path(3, &bad), "X09").await;
        assert_eq!(
            (r.status, spine_code(&r)),
            (422, "INVALID_PARAMETER"),
            "{bad}"
        );
    }
}

#[tokio::test]
async fn appointment_book_successfully_book_a_single_slot_for_a_patient() {
    let w = world().await;
    let slot = w.slot(SlotType::Urgent, 0);
    let r = w.book(w.carol, &slot, "X09", "urgent-care").await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert!(r.headers.contains("location: appointment/"));
    assert!(r.headers.contains("etag: w/\"1\""));
    assert_eq!(r.body["status"], "booked");
    assert_eq!(r.body["meta"]["versionId"], "1");
    assert_eq!(r.body["contained"][0]["identifier"][0]["value"], "X09");
    assert_eq!(r.body["contained"][0]["name"], "NHS 111 North");
    assert_eq!(
        r.body["contained"][0]["telecom"][0]["value"],
        "0300 303 5678"
    );
    assert_eq!(r.body["slot"][0]["reference"], format!("Slot/{}", slot.id));
    assert!(r.body["start"].as_str().unwrap_or("").ends_with("+01:00"));
    // Booked by the organisation, for the patient, on its own channel.
    let id: gp_core::BookingId = r.body["id"]
        .as_str()
        .expect("an id")
        .parse()
        .expect("an id");
    let stored = BookingStore::booking(w.store.as_ref(), id)
        .await
        .expect("read")
        .expect("stored");
    assert_eq!(stored.channel, Channel::Organisation);
    assert_eq!(stored.patient, w.carol);
    // The slot is no longer offered.
    let again = w
        .get(&search_path(1, &filter(ORG_TYPE, "urgent-care")), "X09")
        .await;
    assert!(resources(&again, "Slot")
        .iter()
        .all(|s| s["id"] != slot.id.to_string()));
}

#[tokio::test]
async fn appointment_book_refusals() {
    let w = world().await;
    let slot = w.slot(SlotType::Urgent, 0);
    assert_eq!(
        w.book(w.carol, &slot, "X09", "urgent-care").await.status,
        201
    );
    // The same slot again: 409 DUPLICATE_REJECTED.
    let taken = w.book(w.alice, &slot, "X09", "urgent-care").await;
    assert_eq!(
        (taken.status, spine_code(&taken)),
        (409, "DUPLICATE_REJECTED")
    );
    // A slot not opened to urgent care.
    let routine = w
        .book(
            w.carol,
            &w.slot(SlotType::RoutineGp, 0),
            "X09",
            "urgent-care",
        )
        .await;
    assert_eq!(
        (routine.status, spine_code(&routine)),
        (422, "INVALID_RESOURCE")
    );
    // Booking as another organisation than the one signed in, or with
    // another type, or naming none.
    let other = w
        .book(w.carol, &w.slot(SlotType::Urgent, 1), "Z100", "urgent-care")
        .await;
    assert_eq!(other.status, 403, "Z100 is not a consumer here");
    let body = w
        .appointment(
            w.carol,
            &[&w.slot(SlotType::Urgent, 1)],
            "B82005",
            "gp-practice",
        )
        .to_string();
    let pretend = call(
        w.addr,
        "POST",
        "/Appointment",
        Some(&w.token("X09")),
        &[],
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (pretend.status, spine_code(&pretend)),
        (422, "INVALID_RESOURCE")
    );
    let wrong_type = w
        .book(w.carol, &w.slot(SlotType::Urgent, 1), "X09", "gp-practice")
        .await;
    assert_eq!(
        (wrong_type.status, spine_code(&wrong_type)),
        (422, "INVALID_RESOURCE")
    );
    let mut unnamed = w.appointment(
        w.carol,
        &[&w.slot(SlotType::Urgent, 1)],
        "X09",
        "urgent-care",
    );
    unnamed["extension"] = json!([]);
    let r = call(
        w.addr,
        "POST",
        "/Appointment",
        Some(&w.token("X09")),
        &[],
        unnamed.to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, spine_code(&r)), (422, "INVALID_RESOURCE"));
    // A slot that does not exist; a patient who is not the practice's.
    let mut nowhere = w.appointment(
        w.carol,
        &[&w.slot(SlotType::Urgent, 1)],
        "X09",
        "urgent-care",
    );
    nowhere["slot"] = json!([{"reference": format!("Slot/{}", gp_core::uuid::Uuid::from_u128(1))}]);
    let r = call(
        w.addr,
        "POST",
        "/Appointment",
        Some(&w.token("X09")),
        &[],
        nowhere.to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, spine_code(&r)), (422, "REFERENCE_NOT_FOUND"));
    let stranger = PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(2));
    let r = w
        .book(stranger, &w.slot(SlotType::Urgent, 1), "X09", "urgent-care")
        .await;
    assert_eq!((r.status, spine_code(&r)), (404, "PATIENT_NOT_FOUND"));
    // The cap: three live appointments, a fourth refused.
    for n in 1..3 {
        let r = w
            .book(w.carol, &w.slot(SlotType::Urgent, n), "X09", "urgent-care")
            .await;
        assert_eq!(r.status, 201, "{}", r.body);
    }
    let capped = w
        .book(w.alice, &w.slot(SlotType::Urgent, 3), "X09", "urgent-care")
        .await;
    assert_eq!(
        (capped.status, spine_code(&capped)),
        (422, "INVALID_RESOURCE")
    );
    assert!(capped.body["issue"][0]["diagnostics"]
        .as_str()
        .unwrap_or("")
        .contains("at most 3"));
}

#[tokio::test]
async fn appointment_book_tokens_that_are_not_gp_connects_are_refused() {
    let w = world().await;
    let now = w.clock.now().timestamp();
    let slot = w.slot(SlotType::Urgent, 0);
    let body = w
        .appointment(w.carol, &[&slot], "X09", "urgent-care")
        .to_string();
    for (why, token) in [
        ("expired", token_at("X09", now - 600, "directcare")),
        (
            "issued in the future",
            token_at("X09", now + 60, "directcare"),
        ),
        ("not for direct care", token_at("X09", now, "secondaryuses")),
        ("not a token", "not.a.token".to_owned()),
        ("lives longer than five minutes", {
            let mut c = claims_at("X09", now, "directcare");
            c["exp"] = json!(now + 301);
            unsigned(&c)
        }),
        ("with no scope", {
            let mut c = claims_at("X09", now, "directcare");
            c.as_object_mut().map(|o| o.remove("requested_scope"));
            unsigned(&c)
        }),
        ("with a scope GP Connect does not define", {
            let mut c = claims_at("X09", now, "directcare");
            c["requested_scope"] = json!("encounter/*.read");
            unsigned(&c)
        }),
        ("without a requesting device", {
            let mut c = claims_at("X09", now, "directcare");
            c.as_object_mut().map(|o| o.remove("requesting_device"));
            unsigned(&c)
        }),
        ("with a device that is not a Device", {
            let mut c = claims_at("X09", now, "directcare");
            c["requesting_device"] = json!({"resourceType": "InvalidResourceType"});
            unsigned(&c)
        }),
        ("for a scope that is not booking's", {
            let mut c = claims_at("X09", now, "directcare");
            c["requested_scope"] = json!("organization/*.read");
            unsigned(&c)
        }),
        ("for reading, not booking", {
            let mut c = claims_at("X09", now, "directcare");
            c["requested_scope"] = json!("patient/*.read");
            unsigned(&c)
        }),
        ("whose practitioner has no id", {
            let mut c = claims_at("X09", now, "directcare");
            c["requesting_practitioner"]
                .as_object_mut()
                .map(|o| o.remove("id"));
            unsigned(&c)
        }),
        ("without sub", {
            let mut c = claims_at("X09", now, "directcare");
            c.as_object_mut().map(|o| o.remove("sub"));
            unsigned(&c)
        }),
        ("whose sub is not the practitioner", {
            let mut c = claims_at("X09", now, "directcare");
            c["sub"] = json!("2");
            unsigned(&c)
        }),
        ("for another provider", {
            let mut c = claims_at("X09", now, "directcare");
            c["aud"] = json!("https://elsewhere.example/fhir");
            unsigned(&c)
        }),
        ("naming no person", {
            let mut c = claims_at("X09", now, "directcare");
            c["requesting_practitioner"] = json!({"resourceType": "Practitioner", "id": "1"});
            unsigned(&c)
        }),
        ("naming a person only as unknown", {
            let mut c = claims_at("X09", now, "directcare");
            c["requesting_practitioner"]["identifier"] = json!([
                {"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "UNK"},
                {"system": "https://fhir.nhs.uk/Id/sds-role-profile-id", "value": "UNK"}
            ]);
            unsigned(&c)
        }),
        ("naming a person in words", {
            let mut c = claims_at("X09", now, "directcare");
            c["requesting_practitioner"]["identifier"] = json!([
                {"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "Dr\nEvil"}
            ]);
            unsigned(&c)
        }),
        ("naming two people", {
            let mut c = claims_at("X09", now, "directcare");
            c["requesting_practitioner"]["identifier"] = json!([
                {"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "111222333444"},
                {"system": "https://fhir.nhs.uk/Id/sds-user-id", "value": "999888777666"}
            ]);
            unsigned(&c)
        }),
        ("without a requesting practitioner", {
            let mut c = claims_at("X09", now, "directcare");
            c.as_object_mut()
                .map(|o| o.remove("requesting_practitioner"));
            unsigned(&c)
        }),
        ("naming two organisations", {
            let mut c = claims_at("X09", now, "directcare");
            c["requesting_organization"]["identifier"] = json!([
                {"system": ODS, "value": "X09"},
                {"system": ODS, "value": "B82005"}
            ]);
            unsigned(&c)
        }),
    ] {
        let r = call(
            w.addr,
            "POST",
            "/Appointment",
            Some(&token),
            &[],
            body.as_bytes(),
        )
        .await;
        // A token that breaks GP Connect's rules is 400 BAD_REQUEST, as
        // GP Connect's provider tests (JWT.feature) expect.
        assert_eq!((r.status, spine_code(&r)), (400, "BAD_REQUEST"), "{why}");
    }
    // A valid token from an organisation that is not one of the
    // practice's consumers, or no token at all: 403.
    let stranger = call(
        w.addr,
        "POST",
        "/Appointment",
        Some(&token_at("Q99", now, "directcare")),
        &[],
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (stranger.status, spine_code(&stranger)),
        (403, "ACCESS_DENIED")
    );
    let none = call(w.addr, "POST", "/Appointment", None, &[], body.as_bytes()).await;
    assert_eq!((none.status, spine_code(&none)), (403, "ACCESS_DENIED"));
    // Nothing was booked.
    let r = w
        .get(&search_path(1, &filter(ORG_TYPE, "urgent-care")), "X09")
        .await;
    assert!(resources(&r, "Slot")
        .iter()
        .any(|s| s["id"] == slot.id.to_string()));
}

#[tokio::test]
async fn the_person_at_the_consumer_is_in_the_audit_trail() {
    let w = world().await;
    let now = w.clock.now().timestamp();
    let events = || async {
        BookingStore::audit_events(w.store.as_ref())
            .await
            .expect("events")
    };
    let requester = |e: &gp_core::AuditEvent| match e.actor {
        Actor::Organisation { requester, .. } => requester.map(|r| r.as_str().to_owned()),
        _ => None,
    };
    // By their SDS user id.
    let before = events().await.len();
    let booked = w
        .book(w.carol, &w.slot(SlotType::Urgent, 0), "X09", "urgent-care")
        .await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let new = events().await[before..].to_vec();
    assert!(!new.is_empty());
    for e in &new {
        assert_eq!(requester(e).as_deref(), Some("111222333444"), "{e:?}");
    }
    // With no SDS user id (UNK), by their id in the consumer's system.
    let mut c = claims_at("X09", now, "directcare");
    c["requesting_practitioner"]["identifier"][0]["value"] = json!("UNK");
    let body = w
        .appointment(
            w.carol,
            &[&w.slot(SlotType::Urgent, 1)],
            "X09",
            "urgent-care",
        )
        .to_string();
    let before = events().await.len();
    let r = call(
        w.addr,
        "POST",
        "/Appointment",
        Some(&unsigned(&c)),
        &[],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let new = events().await[before..].to_vec();
    assert!(!new.is_empty());
    for e in &new {
        assert_eq!(
            requester(e).as_deref(),
            Some("local:98ed4f78-814d-4266-8d5b-cde742f3093c"),
            "{e:?}"
        );
    }
    // Who it was never changes what the organisation may do: its cap and
    // its bookings are the organisation's, whoever made them.
    let first = booked.body["id"].as_str().expect("an id");
    let mut other = claims_at("X09", now, "directcare");
    other["requesting_practitioner"]["identifier"][0]["value"] = json!("999888777666");
    other["requested_scope"] = json!("patient/*.read");
    let read = call(
        w.addr,
        "GET",
        &format!("/Appointment/{first}"),
        Some(&unsigned(&other)),
        &[],
        b"",
    )
    .await;
    assert_eq!(read.status, 200, "{}", read.body);
}

#[tokio::test]
async fn appointment_read_and_retrieve_by_an_organisation() {
    let w = world().await;
    // Alice booked online herself; 111 reads and retrieves it too.
    let mine = w.slot(SlotType::RoutineGp, 0);
    let body = json!({
        "resourceType": "Appointment",
        "status": "booked",
        "slot": [{"reference": format!("Slot/{}", mine.id)}],
        "participant": [{"actor": {"reference": format!("Patient/{}", w.alice)}, "status": "accepted"}]
    });
    let booked = call(
        w.addr,
        "POST",
        "/Appointment",
        Some("alice"),
        &[],
        body.to_string().as_bytes(),
    )
    .await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    let id = booked.body["id"].as_str().expect("an id").to_owned();
    let read = w.get(&format!("/Appointment/{id}"), "X09").await;
    assert_eq!(read.status, 200, "{}", read.body);
    assert!(read.headers.contains("etag: w/\"1\""));
    assert!(
        read.body.get("contained").is_none(),
        "booked by the patient, not an organisation"
    );
    let list = w
        .get(&format!("/Patient/{}/Appointment", w.alice), "X09")
        .await;
    assert_eq!(list.status, 200);
    assert_eq!(resources(&list, "Appointment").len(), 1);
    // Unknown ids and patients.
    let unknown = w
        .get(
            &format!("/Appointment/{}", gp_core::uuid::Uuid::from_u128(5)),
            "X09",
        )
        .await;
    assert_eq!(
        (unknown.status, spine_code(&unknown)),
        (404, "NO_RECORD_FOUND")
    );
    let stranger = w
        .get(
            &format!("/Patient/{}/Appointment", gp_core::uuid::Uuid::from_u128(6)),
            "X09",
        )
        .await;
    assert_eq!(
        (stranger.status, spine_code(&stranger)),
        (404, "PATIENT_NOT_FOUND")
    );
    // An organisation sees appointments, not medicines, and asks for no renewals.
    let meds = w
        .get(&format!("/Patient/{}/MedicationRequest", w.alice), "X09")
        .await;
    assert_eq!((meds.status, spine_code(&meds)), (403, "ACCESS_DENIED"));
    let task = call(w.addr, "POST", "/Task", Some(&w.token("X09")), &[], b"{}").await;
    assert_eq!((task.status, spine_code(&task)), (403, "ACCESS_DENIED"));
}

#[tokio::test]
async fn appointment_amend_description_and_comment_only_against_the_current_version() {
    let w = world().await;
    let slot = w.slot(SlotType::Urgent, 0);
    let booked = w.book(w.carol, &slot, "X09", "urgent-care").await;
    let id = booked.body["id"].as_str().expect("an id").to_owned();
    let mut amended = booked.body.clone();
    amended["description"] = json!("Chest pain, call first");
    amended["comment"] = json!("Carer will attend");
    // If-Match must be the current version: another, or no version at
    // all ("invalidEtag", as GP Connect's provider tests send), is 409
    // FHIR_CONSTRAINT_VIOLATION and changes nothing.
    for stale in [
        "W/\"7\"",
        "invalidEtag",
        "W/\"+1\"",
        "\"\"",
        "W/\"18446744073709551616\"",
    ] {
        let r = w.put(&id, &amended, Some(stale), "X09").await;
        assert_eq!(
            (r.status, spine_code(&r)),
            (409, "FHIR_CONSTRAINT_VIOLATION"),
            "{stale}"
        );
    }
    // Each refused change is recorded against the patient and the booking.
    let events = BookingStore::audit_events(w.store.as_ref())
        .await
        .expect("events");
    let rejected: Vec<_> = events
        .iter()
        .filter(|e| e.action.as_str() == "request.rejected")
        .collect();
    assert_eq!(rejected.len(), 5);
    for e in rejected {
        assert_eq!(e.patient, Some(w.carol), "{e:?}");
        assert!(e
            .subjects
            .iter()
            .any(|s| s.kind == gp_core::SubjectKind::Booking && s.id.to_string() == id));
        assert_eq!(
            e.details.get("action").map(String::as_str),
            Some("amend_appointment")
        );
    }
    let r = w.put(&id, &amended, Some("W/\"1\""), "X09").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.headers.contains("etag: w/\"2\""));
    assert_eq!(r.body["meta"]["versionId"], "2");
    assert_eq!(r.body["description"], "Chest pain, call first");
    assert_eq!(r.body["comment"], "Carer will attend");
    // Amending from the old version again is a conflict; nothing changes.
    let again = w.put(&id, &amended, Some("W/\"1\""), "X09").await;
    assert_eq!(
        (again.status, spine_code(&again)),
        (409, "FHIR_CONSTRAINT_VIOLATION")
    );
    // Without If-Match (GP Connect's consumers are asked to send it; its
    // provider tests cancel without it), the change is made against the
    // version just read.
    let mut third = r.body.clone();
    third["comment"] = json!("Carer will attend, ring first");
    let unconditional = w.put(&id, &third, None, "X09").await;
    assert_eq!(unconditional.status, 200, "{}", unconditional.body);
    assert!(unconditional.headers.contains("etag: w/\"3\""));
    // But a copy older than that (its meta.versionId), sent without
    // If-Match, never overwrites the newer change; nor does a request
    // sending two If-Match headers.
    let mut old_copy = third.clone();
    old_copy["comment"] = json!("From an old copy");
    let lost = w.put(&id, &old_copy, None, "X09").await;
    assert_eq!(
        (lost.status, spine_code(&lost)),
        (409, "FHIR_CONSTRAINT_VIOLATION")
    );
    let twice = call(
        w.addr,
        "PUT",
        &format!("/Appointment/{id}"),
        Some(&w.token("X09")),
        &[("If-Match", "*"), ("If-Match", "W/\"1\"")],
        amended.to_string().as_bytes(),
    )
    .await;
    assert_eq!(
        (twice.status, spine_code(&twice)),
        (409, "FHIR_CONSTRAINT_VIOLATION")
    );
    let r = w.put(&id, &amended, Some("W/\"3\""), "X09").await;
    // Nothing but the description and comment may change.
    let current = r.body.clone();
    for (field, value) in [
        ("start", json!("2026-06-01T15:00:00+01:00")),
        (
            "slot",
            json!([{"reference": format!("Slot/{}", w.slot(SlotType::Urgent, 1).id)}]),
        ),
        (
            "participant",
            json!([{"actor": {"reference": format!("Patient/{}", w.alice)}, "status": "accepted"}]),
        ),
        ("description", json!("d".repeat(101))),
        ("comment", json!("c".repeat(501))),
        ("colour", json!("blue")),
        ("reason", json!([{"text": "pain"}])),
        ("contained", {
            let mut c = current["contained"].clone();
            c[0]["identifier"][0]["value"] = json!("B82005");
            c
        }),
        ("contained", {
            let mut c = current["contained"].clone();
            c[0]["name"] = json!("Somebody else");
            c
        }),
        ("extension", {
            let mut x = current["extension"].clone();
            if let Some(list) = x.as_array_mut() {
                list.push(json!({"url": "https://example.org/smuggled", "valueString": "x"}));
            }
            x
        }),
    ] {
        let mut sly = current.clone();
        sly[field] = value;
        let r = w.put(&id, &sly, Some("W/\"4\""), "X09").await;
        assert_eq!(
            (r.status, spine_code(&r)),
            (422, "INVALID_RESOURCE"),
            "{field}"
        );
    }
    // Another id in the body than in the path.
    let mut elsewhere = current.clone();
    elsewhere["id"] = json!(gp_core::uuid::Uuid::from_u128(9).to_string());
    let r = w.put(&id, &elsewhere, Some("W/\"4\""), "X09").await;
    assert_eq!((r.status, spine_code(&r)), (422, "INVALID_RESOURCE"));
    // A patient may not amend (they cancel and book again).
    let alices = w
        .book(w.alice, &w.slot(SlotType::Urgent, 1), "X09", "urgent-care")
        .await;
    let alices_id = alices.body["id"].as_str().expect("an id").to_owned();
    let mut hers = alices.body.clone();
    hers["description"] = json!("Mine");
    let r = call(
        w.addr,
        "PUT",
        &format!("/Appointment/{alices_id}"),
        Some("alice"),
        &[("If-Match", "W/\"1\"")],
        hers.to_string().as_bytes(),
    )
    .await;
    assert_eq!((r.status, spine_code(&r)), (403, "ACCESS_DENIED"));
    // Past appointments are not amended.
    w.clock.set(slot.start() + Duration::minutes(5));
    let mut late = current.clone();
    late["description"] = json!("Late");
    let r = w.put(&id, &late, Some("W/\"4\""), "X09").await;
    assert_eq!((r.status, spine_code(&r)), (422, "INVALID_RESOURCE"));
}

#[tokio::test]
async fn appointment_cancel_by_an_organisation_and_not_after() {
    let w = world().await;
    let booked = w
        .book(w.carol, &w.slot(SlotType::Urgent, 0), "X09", "urgent-care")
        .await;
    let id = booked.body["id"].as_str().expect("an id").to_owned();
    let mut cancel = booked.body.clone();
    cancel["status"] = json!("cancelled");
    // No reason: refused.
    let r = w.put(&id, &cancel, Some("W/\"1\""), "X09").await;
    assert_eq!((r.status, spine_code(&r)), (422, "INVALID_RESOURCE"));
    let mut extensions = cancel["extension"].as_array().cloned().unwrap_or_default();
    extensions.push(json!({
        "url": "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-AppointmentCancellationReason-1",
        "valueString": "Seen elsewhere"
    }));
    cancel["extension"] = Value::Array(extensions);
    let r = w.put(&id, &cancel, Some("W/\"1\""), "X09").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["status"], "cancelled");
    assert!(r.headers.contains("etag: w/\"2\""));
    // Cancelled already; amending a cancelled appointment too.
    let again = w.put(&id, &cancel, Some("W/\"2\""), "X09").await;
    assert_eq!(
        (again.status, spine_code(&again)),
        (422, "INVALID_RESOURCE")
    );
    let mut amend = booked.body.clone();
    amend["description"] = json!("After");
    let r = w.put(&id, &amend, Some("W/\"2\""), "X09").await;
    assert_eq!((r.status, spine_code(&r)), (422, "INVALID_RESOURCE"));
    // The cancelled slot is offered again.
    let r = w
        .get(&search_path(1, &filter(ORG_TYPE, "urgent-care")), "X09")
        .await;
    assert!(resources(&r, "Slot").iter().any(|s| s["id"]
        == booked.body["slot"][0]["reference"]
            .as_str()
            .unwrap_or("")
            .trim_start_matches("Slot/")));
}

#[tokio::test]
async fn appointment_book_multiple_adjacent_slots_as_one_appointment() {
    let w = world().await;
    let (a, b, c) = (
        w.slot(SlotType::Urgent, 0),
        w.slot(SlotType::Urgent, 1),
        w.slot(SlotType::Urgent, 2),
    );
    assert_eq!(
        a.period.end(),
        b.start(),
        "the fixture's slots follow one another"
    );
    // Not adjacent (a gap), or the same slot twice: refused, nothing booked.
    for slots in [vec![&a, &c], vec![&a, &a]] {
        let body = w
            .appointment(w.carol, &slots, "X09", "urgent-care")
            .to_string();
        let r = call(
            w.addr,
            "POST",
            "/Appointment",
            Some(&w.token("X09")),
            &[],
            body.as_bytes(),
        )
        .await;
        assert_eq!(
            (r.status, spine_code(&r)),
            (422, "INVALID_RESOURCE"),
            "{}",
            r.body
        );
    }
    // Two adjacent slots, named in any order: one appointment.
    let body = w
        .appointment(w.carol, &[&b, &a], "X09", "urgent-care")
        .to_string();
    let r = call(
        w.addr,
        "POST",
        "/Appointment",
        Some(&w.token("X09")),
        &[],
        body.as_bytes(),
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let refs: Vec<&str> = r.body["slot"]
        .as_array()
        .map(|s| s.iter().filter_map(|x| x["reference"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(refs, [format!("Slot/{}", a.id), format!("Slot/{}", b.id)]);
    let whole =
        |x: &Slot| gp_core::to_local(x.start()).to_rfc3339_opts(chrono::SecondsFormat::Secs, false);
    assert_eq!(r.body["start"], whole(&a));
    assert_eq!(
        r.body["end"],
        gp_core::to_local(b.period.end()).to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
    );
    let id = r.body["id"].as_str().expect("an id").to_owned();
    // Retrieved as one appointment; both slots gone from the search.
    let list = w
        .get(&format!("/Patient/{}/Appointment", w.carol), "X09")
        .await;
    assert_eq!(resources(&list, "Appointment").len(), 1);
    let free = w
        .get(&search_path(1, &filter(ORG_TYPE, "urgent-care")), "X09")
        .await;
    let ids: Vec<String> = resources(&free, "Slot")
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    assert!(!ids.contains(&a.id.to_string()) && !ids.contains(&b.id.to_string()));
    // Each slot counts toward the organisation's cap of 3: two more are refused.
    let body = w
        .appointment(
            w.alice,
            &[&c, &w.slot(SlotType::Urgent, 3)],
            "X09",
            "urgent-care",
        )
        .to_string();
    let r = call(
        w.addr,
        "POST",
        "/Appointment",
        Some(&w.token("X09")),
        &[],
        body.as_bytes(),
    )
    .await;
    assert_eq!(
        (r.status, spine_code(&r)),
        (422, "INVALID_RESOURCE"),
        "{}",
        r.body
    );
    // Cancelling the appointment frees both slots.
    let read = w.get(&format!("/Appointment/{id}"), "X09").await;
    let mut cancel = read.body.clone();
    cancel["status"] = json!("cancelled");
    let mut extensions = cancel["extension"].as_array().cloned().unwrap_or_default();
    extensions.push(json!({
        "url": "https://fhir.nhs.uk/STU3/StructureDefinition/Extension-GPConnect-AppointmentCancellationReason-1",
        "valueString": "No longer needed"
    }));
    cancel["extension"] = Value::Array(extensions);
    let r = w.put(&id, &cancel, Some("W/\"1\""), "X09").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["slot"].as_array().map(Vec::len), Some(2));
    let free = w
        .get(&search_path(1, &filter(ORG_TYPE, "urgent-care")), "X09")
        .await;
    let ids: Vec<String> = resources(&free, "Slot")
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    assert!(ids.contains(&a.id.to_string()) && ids.contains(&b.id.to_string()));
}

/// The `PractitionerRole` extension's coding on a resource, if any.
fn practitioner_role(resource: &Value) -> Option<(String, String)> {
    resource["extension"].as_array()?.iter().find_map(|e| {
        (e["url"] == gp_fhir::appointments::PRACTITIONER_ROLE).then(|| {
            let coding = &e["valueCodeableConcept"]["coding"][0];
            assert_eq!(coding["system"], gp_fhir::appointments::SDS_JOB_ROLE_SYSTEM);
            (
                coding["code"].as_str().unwrap_or("").to_owned(),
                coding["display"].as_str().unwrap_or("").to_owned(),
            )
        })
    })
}

#[tokio::test]
async fn clinicians_carry_the_sds_job_role_and_user_id_the_practice_recorded() {
    let w = world().await;
    let slot = w.slot(SlotType::Urgent, 0);
    // The practice records the clinician's SDS user id (their job role,
    // R0260, is already recorded for the GPs).
    let mut member = BookingStore::staff_member(w.store.as_ref(), slot.clinician)
        .await
        .expect("no error")
        .expect("the clinician");
    member.sds_user_id = Some(gp_booking::SdsUserId::parse("555123456789").expect("an id"));
    member.gender = Some(gp_booking::Gender::Female);
    w.store.put_staff(&member).await.expect("stored");
    let r = w
        .get(
            &(search_path(3, &filter(ORG_TYPE, "urgent-care"))
                + "&_include:recurse=Schedule:actor:Practitioner"),
            "X09",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    // Every schedule carries its clinician's job role exactly when the
    // practice recorded one.
    let schedules = resources(&r, "Schedule");
    assert!(!schedules.is_empty());
    for s in &schedules {
        let clinician: gp_core::StaffId = s["actor"][0]["reference"]
            .as_str()
            .and_then(|r| r.strip_prefix("Practitioner/"))
            .and_then(|id| id.parse().ok())
            .expect("a clinician");
        let recorded = BookingStore::staff_member(w.store.as_ref(), clinician)
            .await
            .expect("no error")
            .and_then(|m| m.job_role)
            .map(|j| (j.code.as_str().to_owned(), j.name.as_str().to_owned()));
        assert_eq!(practitioner_role(s), recorded, "{s}");
    }
    let ours = schedules
        .iter()
        .find(|s| s["id"] == slot.session.to_string())
        .expect("the slot's schedule");
    assert_eq!(
        practitioner_role(ours),
        Some((
            "R0260".to_owned(),
            "General Medical Practitioner".to_owned()
        ))
    );
    // The practitioner is identified by their SDS user id.
    let practitioner = resources(&r, "Practitioner")
        .into_iter()
        .find(|p| p["id"] == slot.clinician.to_string())
        .expect("the clinician");
    assert_eq!(
        practitioner["identifier"][0]["system"],
        "https://fhir.nhs.uk/Id/sds-user-id"
    );
    assert_eq!(practitioner["identifier"][0]["value"], "555123456789");
    assert_eq!(practitioner["gender"], "female");
    // One the practice recorded nothing for shows no gender.
    assert!(resources(&r, "Practitioner")
        .iter()
        .filter(|p| p["id"] != slot.clinician.to_string())
        .all(|p| p.get("gender").is_none()));
    // The appointment booked in that slot carries the role too.
    let booked = w.book(w.carol, &slot, "X09", "urgent-care").await;
    assert_eq!(booked.status, 201, "{}", booked.body);
    assert_eq!(
        practitioner_role(&booked.body).map(|r| r.0),
        Some("R0260".to_owned())
    );
    // And a cancellation sent back with it, as read, is taken.
    let mut cancel = booked.body.clone();
    cancel["status"] = json!("cancelled");
    cancel["extension"]
        .as_array_mut()
        .expect("extensions")
        .push(json!({"url": gp_fhir::appointments::CANCELLATION_REASON, "valueString": "Sorted"}));
    let id = booked.body["id"].as_str().expect("an id");
    let done = w.put(id, &cancel, Some("W/\"1\""), "X09").await;
    assert_eq!(done.status, 200, "{}", done.body);
}

#[tokio::test]
async fn sessions_at_a_branch_surgery_name_its_location() {
    let w = world().await;
    let clinician = w.slot(SlotType::Urgent, 0).clinician;
    let tomorrow = gp_core::local_date(w.clock.now()) + Duration::days(1);
    let at = |site: &str| gp_booking::SessionTemplate {
        clinician,
        role: StaffRole::Gp,
        weekday: chrono::Datelike::weekday(&tomorrow),
        start: chrono::NaiveTime::from_hms_opt(18, 0, 0).expect("a time"),
        end: chrono::NaiveTime::from_hms_opt(18, 20, 0).expect("a time"),
        slot_minutes: 10,
        slot_type: SlotType::Urgent,
        delivery: gp_booking::DeliveryMode::InPerson,
        availability: gp_booking::SlotAvailability::Open,
        reserved_for: None,
        site: Some(OdsCode::parse(site).expect("a site code")),
    };
    let ids = SequentialIds::new(0xB4A);
    // One evening session at the branch, one at a site the router was not
    // told of.
    let schedule = gp_booking::Schedule::from_templates(
        &[at("Y02911"), at("Y09999")],
        tomorrow,
        tomorrow,
        &ids,
    )
    .expect("a schedule");
    w.store.add_schedule(&schedule).await.expect("stored");
    let r = w
        .get(
            &(search_path(3, &filter(ORG_TYPE, "urgent-care"))
                + "&_include:recurse=Schedule:actor:Location"),
            "X09",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let location_of = |session: gp_core::SessionId| -> Option<String> {
        resources(&r, "Schedule")
            .into_iter()
            .find(|s| s["id"] == session.to_string())
            .and_then(|s| {
                s["actor"].as_array().and_then(|a| {
                    a.iter()
                        .filter_map(|x| x["reference"].as_str())
                        .find(|x| x.starts_with("Location/"))
                        .map(str::to_owned)
                })
            })
    };
    let branch = schedule.sessions[0].id;
    let elsewhere = schedule.sessions[1].id;
    assert_eq!(location_of(branch).as_deref(), Some("Location/Y02911"));
    assert_eq!(
        location_of(elsewhere),
        None,
        "no Location is claimed for it"
    );
    let main_session = w.slot(SlotType::Urgent, 0).session;
    assert_eq!(
        location_of(main_session).as_deref(),
        Some("Location/A81001")
    );
    // Each surgery once, the branch by its ODS site code, managed by the
    // practice.
    let locations = resources(&r, "Location");
    assert_eq!(locations.len(), 2, "{locations:?}");
    let hillside = locations
        .iter()
        .find(|l| l["id"] == "Y02911")
        .expect("the branch");
    assert_eq!(hillside["name"], "Riverside Surgery, Hillside branch");
    assert_eq!(
        hillside["identifier"][0]["system"],
        "https://fhir.nhs.uk/Id/ods-site-code"
    );
    assert_eq!(
        hillside["managingOrganization"]["reference"],
        "Organization/A81001"
    );
    let main = locations
        .iter()
        .find(|l| l["id"] == "A81001")
        .expect("the main surgery");
    assert!(
        main.get("identifier").is_none(),
        "an organisation code is no site code"
    );
    // Its slots are stored with their surgery.
    let stored = BookingStore::slot(w.store.as_ref(), schedule.slots[0].id)
        .await
        .expect("no error")
        .expect("the slot");
    assert_eq!(
        stored.slot.site,
        Some(OdsCode::parse("Y02911").expect("a code"))
    );
}

#[tokio::test]
async fn search_for_free_slots_returns_the_organization_and_the_included_practitioners_and_location(
) {
    let w = world().await;
    let urgent = filter(ORG_TYPE, "urgent-care");
    // The practice's Organization comes whatever the parameters.
    let r = w.get(&search_path(3, &urgent), "X09").await;
    assert_eq!(r.status, 200);
    let orgs = resources(&r, "Organization");
    assert_eq!(orgs.len(), 1);
    assert_eq!(orgs[0]["identifier"][0]["value"], "A81001");
    assert!(resources(&r, "Practitioner").is_empty() && resources(&r, "Location").is_empty());
    // Each schedule names its clinician and the surgery.
    for s in resources(&r, "Schedule") {
        let actors: Vec<&str> = s["actor"]
            .as_array()
            .map(|a| a.iter().filter_map(|x| x["reference"].as_str()).collect())
            .unwrap_or_default();
        assert!(actors.iter().any(|a| a.starts_with("Practitioner/")));
        assert!(actors.contains(&"Location/A81001"));
    }
    // Asked for, the clinicians and the surgery, managed by the practice.
    let with = w
        .get(
            &(search_path(3, &urgent)
                + "&_include:recurse=Schedule:actor:Practitioner&_include:recurse=Schedule:actor:Location&_include:recurse=Location:managingOrganization"),
            "X09",
        )
        .await;
    assert_eq!(with.status, 200, "{}", with.body);
    let practitioners = resources(&with, "Practitioner");
    assert!(!practitioners.is_empty());
    assert!(practitioners
        .iter()
        .all(|p| p["name"][0]["text"].as_str().is_some_and(|n| !n.is_empty())));
    let slot_clinicians: std::collections::BTreeSet<String> = resources(&with, "Schedule")
        .iter()
        .flat_map(|s| s["actor"].as_array().cloned().unwrap_or_default())
        .filter_map(|a| {
            a["reference"]
                .as_str()
                .and_then(|r| r.strip_prefix("Practitioner/"))
                .map(str::to_owned)
        })
        .collect();
    let returned: std::collections::BTreeSet<String> = practitioners
        .iter()
        .filter_map(|p| p["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(slot_clinicians, returned);
    let locations = resources(&with, "Location");
    assert_eq!(locations.len(), 1);
    assert_eq!(
        locations[0]["managingOrganization"]["reference"],
        "Organization/A81001"
    );
    // No slots: no Organization either.
    let none = w.get(&search_path(3, ""), "X09").await;
    assert!(resources(&none, "Slot").is_empty() && resources(&none, "Organization").is_empty());
}
