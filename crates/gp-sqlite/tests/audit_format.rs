//! `docs/audit-format.md` is the whole format: an encoder written from that
//! page alone (below, sharing no code with `gp-audit`) re-encodes every
//! exported event byte for byte and reproduces every hash of the chain.

use chrono::{DateTime, Datelike, TimeZone, Timelike, Utc};
use gp_audit::{AuditStore, GENESIS};
use gp_core::{
    Actor, AuditAction, AuditEvent, Channel, Outcome, PatientId, ProxyId, ReasonCode,
    SequentialIds, StaffId, StaffRole, SubjectKind,
};
use gp_sqlite::SqliteStore;
use proptest::prelude::*;
use sha2::{Digest, Sha256};

// ---- The encoder, from docs/audit-format.md section 1 ----

fn string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

fn time(at: DateTime<Utc>) -> String {
    // A leap second is second 60 (section 1, Times).
    let (nanos, second) = match at.nanosecond() {
        n if n >= 1_000_000_000 => (n - 1_000_000_000, 60),
        n => (n, at.second()),
    };
    let fraction = if nanos == 0 {
        String::new()
    } else if nanos.is_multiple_of(1_000_000) {
        format!(".{:03}", nanos / 1_000_000)
    } else if nanos.is_multiple_of(1_000) {
        format!(".{:06}", nanos / 1_000)
    } else {
        format!(".{nanos:09}")
    };
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}{fraction}Z",
        at.year(),
        at.month(),
        at.day(),
        at.hour(),
        at.minute(),
        second
    )
}

fn role(r: StaffRole) -> &'static str {
    match r {
        StaffRole::Gp => "Gp",
        StaffRole::Nurse => "Nurse",
        StaffRole::HealthcareAssistant => "HealthcareAssistant",
        StaffRole::Pharmacist => "Pharmacist",
        StaffRole::Receptionist => "Receptionist",
        StaffRole::PracticeManager => "PracticeManager",
        other => panic!("a role the format does not document: {other:?}"),
    }
}

fn kind(k: SubjectKind) -> &'static str {
    match k {
        SubjectKind::Patient => "Patient",
        SubjectKind::Staff => "Staff",
        SubjectKind::Proxy => "Proxy",
        SubjectKind::Session => "Session",
        SubjectKind::Slot => "Slot",
        SubjectKind::Booking => "Booking",
        SubjectKind::Medication => "Medication",
        SubjectKind::Request => "Request",
        SubjectKind::Message => "Message",
        SubjectKind::Account => "Account",
        SubjectKind::Application => "Application",
        SubjectKind::Concern => "Concern",
        SubjectKind::Other => "Other",
        SubjectKind::Problem => "Problem",
        other => panic!("a subject kind the format does not document: {other:?}"),
    }
}

fn encode(e: &AuditEvent) -> String {
    let mut o = String::from("{\"id\":");
    string(&mut o, &e.id.as_uuid().hyphenated().to_string());
    o.push_str(",\"at\":");
    string(&mut o, &time(e.at));
    o.push_str(",\"actor\":");
    match e.actor {
        Actor::Patient { patient } => {
            o.push_str("{\"Patient\":{\"patient\":");
            string(&mut o, &patient.as_uuid().to_string());
            o.push_str("}}");
        }
        Actor::Proxy { proxy, for_patient } => {
            o.push_str("{\"Proxy\":{\"proxy\":");
            string(&mut o, &proxy.as_uuid().to_string());
            o.push_str(",\"for_patient\":");
            string(&mut o, &for_patient.as_uuid().to_string());
            o.push_str("}}");
        }
        Actor::Staff { staff, role: r } => {
            o.push_str("{\"Staff\":{\"staff\":");
            string(&mut o, &staff.as_uuid().to_string());
            o.push_str(",\"role\":");
            string(&mut o, role(r));
            o.push_str("}}");
        }
        Actor::System => o.push_str("\"System\""),
        Actor::Organisation {
            ods,
            kind,
            requester,
        } => {
            o.push_str("{\"Organisation\":{\"ods\":");
            string(&mut o, ods.as_str());
            o.push_str(",\"kind\":");
            string(&mut o, kind.as_str());
            if let Some(r) = requester {
                o.push_str(",\"requester\":");
                string(&mut o, r.as_str());
            }
            o.push_str("}}");
        }
        other => panic!("an actor the format does not document: {other:?}"),
    }
    o.push_str(",\"channel\":");
    string(
        &mut o,
        match e.channel {
            Channel::Online => "Online",
            Channel::Telephone => "Telephone",
            Channel::Reception => "Reception",
            Channel::Internal => "Internal",
            Channel::Organisation => "Organisation",
            other => panic!("a channel the format does not document: {other:?}"),
        },
    );
    o.push_str(",\"patient\":");
    match e.patient {
        Some(p) => string(&mut o, &p.as_uuid().to_string()),
        None => o.push_str("null"),
    }
    o.push_str(",\"action\":");
    string(&mut o, e.action.as_str());
    o.push_str(",\"outcome\":");
    match &e.outcome {
        Outcome::Allowed => o.push_str("\"Allowed\""),
        Outcome::Refused(code) => {
            o.push_str("{\"Refused\":");
            string(&mut o, code.as_str());
            o.push('}');
        }
    }
    o.push_str(",\"subjects\":[");
    for (i, s) in e.subjects.iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        o.push_str("{\"kind\":");
        string(&mut o, kind(s.kind));
        o.push_str(",\"id\":");
        string(&mut o, &s.id.to_string());
        o.push('}');
    }
    o.push_str("],\"details\":{");
    let mut keys: Vec<&String> = e.details.keys().collect();
    keys.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    for (i, k) in keys.into_iter().enumerate() {
        if i > 0 {
            o.push(',');
        }
        string(&mut o, k);
        o.push(':');
        string(&mut o, &e.details[k]);
    }
    o.push_str("}}");
    o
}

// ---- The export, from docs/audit-format.md sections 2 and 4 ----

fn unhex(s: &str) -> Vec<u8> {
    assert_eq!(s.len(), 64, "a hash is 64 hex digits");
    assert!(
        s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)),
        "lower-case hex"
    );
    (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn field<'a>(line: &'a str, name: &str) -> &'a str {
    let start = line.find(&format!("\"{name}\":\"")).unwrap() + name.len() + 4;
    &line[start..start + 64]
}

/// Checks an export of a whole trail against `events` (what was appended,
/// in order) with the documented rules only.
fn check_export(export: &str, events: &[AuditEvent]) {
    let lines: Vec<&str> = export.split_inclusive('\n').collect();
    assert_eq!(lines.len(), events.len(), "one line per event");
    let mut prev: Vec<u8> = GENESIS.to_vec();
    for (n, (line, event)) in lines.iter().zip(events).enumerate() {
        let seq = n + 1;
        let line = line.strip_suffix('\n').expect("every line ends in \\n");
        let head = format!("{{\"seq\":{seq},\"prev_hash\":\"");
        assert!(line.starts_with(&head), "line {seq}: {line}");
        let marker = "\"event\":";
        let body = &line[line.find(marker).unwrap() + marker.len()..line.len() - 1];
        let mine = encode(event);
        assert_eq!(body, mine, "event {seq} is encoded as documented");
        assert_eq!(unhex(field(line, "prev_hash")), prev, "line {seq} links");
        let mut h = Sha256::new();
        h.update(&prev);
        h.update(mine.as_bytes());
        let hash = h.finalize().to_vec();
        assert_eq!(unhex(field(line, "hash")), hash, "line {seq}'s hash");
        prev = hash;
    }
}

async fn append_and_export(events: &[AuditEvent]) -> String {
    let store = SqliteStore::open_in_memory().unwrap();
    for e in events {
        store.append(std::slice::from_ref(e)).await.unwrap();
    }
    let head = store.head().await.unwrap().map_or(0, |h| h.0);
    store.export(1, head).await.unwrap()
}

fn at(nanos: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 3, 9, 8, 5, 7).unwrap() + chrono::Duration::nanoseconds(nanos.into())
}

#[tokio::test]
async fn every_documented_shape_re_encodes_and_rehashes() {
    let ids = SequentialIds::new(11);
    let patient = PatientId::new(&ids);
    let proxy = ProxyId::new(&ids);
    let staff = StaffId::new(&ids);
    let action = |a: &str| AuditAction::parse(a).unwrap();
    let refused = |c: &str| Outcome::Refused(ReasonCode::parse(c).unwrap());
    let mut events = vec![
        AuditEvent::new(
            &ids,
            at(0),
            Actor::Patient { patient },
            Channel::Online,
            Some(patient),
            action("appointment.book"),
            Outcome::Allowed,
        )
        .with_subject(SubjectKind::Slot, patient)
        .with_subject(SubjectKind::Booking, staff),
        AuditEvent::new(
            &ids,
            at(500_000_000),
            Actor::Proxy {
                proxy,
                for_patient: patient,
            },
            Channel::Online,
            Some(patient),
            action("prescription.order"),
            refused("ProxyRevoked"),
        ),
        AuditEvent::new(
            &ids,
            at(250_000),
            Actor::System,
            Channel::Internal,
            None,
            action("access.proxy_expiry"),
            Outcome::Allowed,
        )
        .with_detail(
            "reason",
            "quote \" backslash \\ slash / controls \u{8}\u{c}\n\r\t\u{1}\u{1b}\u{1f} del \u{7f}",
        )
        .with_detail("other", "line\u{2028}separator, é, 日本, 🩺"),
        AuditEvent::new(
            &ids,
            at(7),
            Actor::Staff {
                staff,
                role: StaffRole::Gp,
            },
            Channel::Telephone,
            Some(patient),
            action("message.reply"),
            Outcome::Allowed,
        )
        .with_detail("zeta", "last")
        .with_detail("Alpha", "capital first")
        .with_detail("alpha", "after the capital"),
    ];
    for (i, r) in [
        StaffRole::Nurse,
        StaffRole::HealthcareAssistant,
        StaffRole::Pharmacist,
        StaffRole::Receptionist,
        StaffRole::PracticeManager,
    ]
    .into_iter()
    .enumerate()
    {
        events.push(
            AuditEvent::new(
                &ids,
                at(123_456_789 * (i as u32 % 2)),
                Actor::Staff { staff, role: r },
                Channel::Reception,
                None,
                action("access.staff_change"),
                refused("OwnProfile"),
            )
            .with_subject(SubjectKind::Patient, patient)
            .with_subject(SubjectKind::Staff, staff)
            .with_subject(SubjectKind::Proxy, proxy)
            .with_subject(SubjectKind::Session, staff)
            .with_subject(SubjectKind::Medication, staff)
            .with_subject(SubjectKind::Request, staff)
            .with_subject(SubjectKind::Message, staff)
            .with_subject(SubjectKind::Account, staff)
            .with_subject(SubjectKind::Application, staff)
            .with_subject(SubjectKind::Concern, staff)
            .with_subject(SubjectKind::Other, staff),
        );
    }
    // Another organisation, with and without the person who asked.
    for requester in [
        None,
        Some(gp_core::RequesterId::parse("111222333444").unwrap()),
    ] {
        events.push(
            AuditEvent::new(
                &ids,
                at(9),
                Actor::Organisation {
                    ods: gp_core::OdsCode::parse("X09").unwrap(),
                    kind: gp_core::OrganisationType::URGENT_CARE,
                    requester,
                },
                Channel::Organisation,
                Some(patient),
                action("appointment.book"),
                Outcome::Allowed,
            )
            .with_subject(SubjectKind::Problem, staff),
        );
    }
    let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
        .unwrap()
        .and_hms_nano_opt(23, 59, 59, 1_500_000_000)
        .unwrap()
        .and_utc();
    events.push(AuditEvent::new(
        &ids,
        leap,
        Actor::System,
        Channel::Internal,
        None,
        action("audit.check"),
        Outcome::Allowed,
    ));
    let export = append_and_export(&events).await;
    check_export(&export, &events);
    assert!(export.contains(r#""at":"2016-12-31T23:59:60.500Z""#));
    // An organisation's actor as section 1 shows it; the person who asked
    // only when known, so events written before it encode as they did.
    assert!(export.contains(r#""actor":{"Organisation":{"ods":"X09","kind":"urgent-care"}}"#));
    assert!(export.contains(
        r#""actor":{"Organisation":{"ods":"X09","kind":"urgent-care","requester":"111222333444"}}"#
    ));
    // The four documented shapes of a time appear as written in section 1.
    assert!(export.contains(r#""at":"2026-03-09T08:05:07Z""#));
    assert!(export.contains(r#""at":"2026-03-09T08:05:07.500Z""#));
    assert!(export.contains(r#""at":"2026-03-09T08:05:07.000250Z""#));
    assert!(export.contains(r#""at":"2026-03-09T08:05:07.000000007Z""#));
}

fn any_text() -> impl Strategy<Value = String> {
    prop::collection::vec(any::<char>(), 0..24).prop_map(|c| c.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(48))]

    /// Any detail text, any key, any time of day to the nanosecond: the
    /// documented encoding is the stored one.
    #[test]
    fn any_details_and_times_re_encode(
        details in prop::collection::btree_map(any_text(), any_text(), 0..5),
        nanos in 0u32..1_000_000_000,
        seconds in 0i64..(86_400 * 365 * 50),
    ) {
        let ids = SequentialIds::new(5);
        let when = Utc.with_ymd_and_hms(2000, 1, 1, 0, 0, 0).unwrap()
            + chrono::Duration::seconds(seconds)
            + chrono::Duration::nanoseconds(nanos.into());
        let mut e = AuditEvent::new(
            &ids,
            when,
            Actor::System,
            Channel::Internal,
            None,
            AuditAction::parse("audit.check").unwrap(),
            Outcome::Allowed,
        );
        for (k, v) in &details {
            e = e.with_detail(k, v.clone());
        }
        let events = vec![e];
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        let export = rt.block_on(append_and_export(&events));
        check_export(&export, &events);
    }
}
