//! Real HTTP on loopback, shared by the gp-http suites: one request per
//! connection, and every answer parsed with an independent FHIR model.
#![allow(dead_code)] // reason: each suite uses a different part

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `app` on a free loopback port; answers its address.
pub async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: Value,
}

pub async fn call(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    call_as(
        addr,
        method,
        path,
        token,
        "application/fhir+json",
        extra,
        body,
    )
    .await
}

/// Like [`call`], with the body sent as `content_type`.
#[allow(dead_code)]
pub async fn call_as(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n", body.len());
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if !body.is_null() {
        conforms(path, &body);
    }
    Reply {
        status,
        headers: headers.to_ascii_lowercase(),
        body,
    }
}

/// Every answer parses as a FHIR resource with an independent model: R4
/// (read with the R4B model, which keeps `MedicationRequest` and `Task` as
/// R4 has them) for the prescription endpoints, STU3 for the rest.
pub fn conforms(path: &str, body: &Value) {
    let r4 = ["/MedicationRequest", "/Task"]
        .iter()
        .any(|p| path.split('?').next().unwrap_or("").contains(p));
    let parsed = if r4 {
        serde_json::from_value::<fhir_model::r4b::resources::Resource>(body.clone()).map(|_| ())
    } else {
        serde_json::from_value::<fhir_model::stu3::resources::Resource>(body.clone()).map(|_| ())
    };
    if let Err(e) = parsed {
        let text = body.to_string();
        let head: String = text.chars().take(300).collect();
        panic!("{path}: not a FHIR resource ({e}): {head}");
    }
}

pub fn spine_code(r: &Reply) -> &str {
    assert_eq!(r.body["resourceType"], "OperationOutcome", "{}", r.body);
    r.body["issue"][0]["details"]["coding"][0]["code"]
        .as_str()
        .unwrap_or("")
}

/// A practice on an in-memory store with the fixture practice's staff and
/// schedule, a practice manager, a desk (identity checks and proxy
/// applications) and two patients (on the list, registered online,
/// identity verified, every service on), for the patient-facing suites.
pub struct Registered {
    /// The identifiers used, to make more.
    pub ids: gp_core::SequentialIds,
    /// The store.
    pub store: std::sync::Arc<gp_sqlite::SqliteStore>,
    /// The practice over it.
    pub practice: std::sync::Arc<gp_online::Practice<gp_sqlite::SqliteStore, gp_core::FixedClock>>,
    /// The practice manager.
    pub manager: gp_access::StaffProfile,
    /// The desk, acting at reception.
    pub desk: gp_access::By,
    /// The two patients.
    pub patients: [gp_core::PatientId; 2],
}

/// [`Registered`], the practice recording every read when `every_read`.
pub async fn registered(every_read: bool) -> Registered {
    use gp_access::{
        By, Competency, ListedPatient, PatientList, Registration, RegistrationKind, Service,
        StaffProfile, VerificationMethod,
    };
    use gp_booking::BookingStore;
    use gp_core::{Channel, FixedClock, OdsCode, PatientId, StaffId, StaffRole};
    use gp_testkit::fixtures::{monday_morning, nhs_number, practice as practice_fixture};
    use std::sync::Arc;

    let ids = gp_core::SequentialIds::new(9);
    let store = Arc::new(gp_sqlite::SqliteStore::open_in_memory().expect("a store"));
    let practice =
        gp_online::Practice::new(store.clone(), Arc::new(FixedClock::new(monday_morning())));
    let practice = Arc::new(if every_read {
        practice.recording_every_read()
    } else {
        practice
    });
    let today = monday_morning().date_naive();
    let fixture = practice_fixture(&ids, today);
    for m in fixture.staff() {
        store.put_staff(&m).await.expect("staff");
    }
    store
        .add_schedule(&fixture.schedule)
        .await
        .expect("schedule");
    let manager = StaffProfile::new(StaffId::new(&ids), "Manager", StaffRole::PracticeManager);
    practice.first_manager(&manager).await.expect("manager");
    let desk = StaffProfile::new(StaffId::new(&ids), "Desk", StaffRole::Receptionist)
        .with_competencies([Competency::VerifyIdentity, Competency::ProxyApplications]);
    practice
        .put_staff(&By::staff(&manager, Channel::Reception), &desk)
        .await
        .expect("desk");
    let desk = By::staff(&desk, Channel::Reception);
    let mut patients = [PatientId::from_uuid(gp_core::uuid::Uuid::nil()); 2];
    for (n, slot) in patients.iter_mut().enumerate() {
        let p = PatientId::new(&ids);
        let born = chrono::NaiveDate::from_ymd_opt(1980, 1, 1).expect("a date");
        let number = nhs_number(n as u64);
        store
            .put_listed_patient(
                &ListedPatient::new(p, number, born, RegistrationKind::Regular, born)
                    .expect("entry"),
            )
            .await
            .expect("listed");
        let reg = Registration {
            nhs_number: number,
            date_of_birth: born,
            registration: RegistrationKind::Regular,
            practice: OdsCode::parse("A81001").expect("code"),
        };
        practice.register(&desk, p, &reg).await.expect("register");
        practice
            .verify_identity(&desk, p, VerificationMethod::DocumentsSeen)
            .await
            .expect("verify");
        practice
            .set_services(&desk, p, &Service::ALL.into_iter().collect())
            .await
            .expect("services");
        *slot = p;
    }
    Registered {
        ids,
        store,
        practice,
        manager,
        desk,
        patients,
    }
}
