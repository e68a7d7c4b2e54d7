//! Random proxies, dates of birth and instants: authorization is never
//! allowed for an expired, revoked, suspended, not yet started or
//! out-of-scope proxy, nor for parental responsibility on or after the 16th
//! birthday (practice-local date) without a new basis, and is allowed when
//! none of that applies. Dates of birth cluster around 29 February and
//! instants around local midnight, across the clock changes.

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveDate, Utc};
use gp_access::*;
use gp_core::{
    age_on, local_date, start_of_local_day, Actor, NhsNumber, OdsCode, PatientId, ProxyId, StaffId,
};
use proptest::prelude::*;

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn birth() -> impl Strategy<Value = NaiveDate> {
    prop_oneof![
        // Leap-day births and their neighbours.
        (prop::sample::select(vec![2004, 2008, 2012, 2016]), 0i64..3)
            .prop_map(|(y, k)| date(y, 2, 28) + Duration::days(k)),
        // Births on the clock-change Sundays (late March and October).
        (2005i32..2020, prop::bool::ANY).prop_map(|(y, spring)| {
            let m = if spring { 3 } else { 10 };
            let last = date(y, m, 31);
            last - Duration::days(i64::from(last.weekday().num_days_from_sunday()))
        }),
        // Any date.
        (0i64..6000).prop_map(|d| date(2004, 1, 1) + Duration::days(d)),
    ]
}

#[derive(Debug, Clone)]
struct Case {
    dob: NaiveDate,
    parental: bool,
    start_offset: i64,
    end_offset: Option<i64>,
    revoked: bool,
    suspended: bool,
    scopes: BTreeSet<Service>,
    child_refused: bool,
    /// Days from the 16th birthday, and minutes from that local midnight.
    day: i64,
    minutes: i64,
    action: Action,
}

fn case() -> impl Strategy<Value = Case> {
    (
        birth(),
        any::<bool>(),
        -400i64..30,
        proptest::option::of(-30i64..400),
        prop::bool::weighted(0.2),
        prop::bool::weighted(0.2),
        prop::sample::subsequence(Service::ALL.to_vec(), 0..=3),
        prop::bool::weighted(0.1),
        -3i64..3,
        -90i64..90,
        prop::sample::select(vec![
            Action::BookAppointment,
            Action::CancelAppointment,
            Action::OrderRepeats,
            Action::SendMessage,
        ]),
    )
        .prop_map(
            |(
                dob,
                parental,
                start_offset,
                end_offset,
                revoked,
                suspended,
                scopes,
                child_refused,
                day,
                minutes,
                action,
            )| Case {
                dob,
                parental,
                start_offset,
                end_offset,
                revoked,
                suspended,
                scopes: scopes.into_iter().collect(),
                child_refused,
                day,
                minutes,
                action,
            },
        )
}

fn build(c: &Case) -> (AccessFacts, ProxyId, DateTime<Utc>) {
    let patient = PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(1));
    let proxy = ProxyId::from_uuid(gp_core::uuid::Uuid::from_u128(2));
    let staff = StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(3));
    let sixteenth = gp_core::birthday_in(c.dob, c.dob.year() + 16);
    let day = sixteenth + Duration::days(c.day);
    let now = start_of_local_day(day) + Duration::minutes(c.minutes);
    let today = local_date(now);
    let then = now - Duration::days(500);
    let verification = IdentityVerification {
        method: VerificationMethod::DocumentsSeen,
        verified_by: Some(staff),
        at: then,
    };
    let grant = ProxyGrant {
        proxy,
        patient,
        proxy_name: "Proxy".into(),
        proxy_identity: verification,
        care_home: None,
        basis: if c.parental {
            LegalBasis::ParentalResponsibility
        } else {
            LegalBasis::LastingPowerOfAttorney
        },
        basis_since: today - Duration::days(500),
        scopes: c.scopes.clone(),
        start: today + Duration::days(c.start_offset),
        end: c.end_offset.map(|e| today + Duration::days(e)),
        review: None,
        decided_by: staff,
        decided_at: then,
        revoked: c.revoked.then(|| Revocation {
            by: Actor::Patient { patient },
            at: then,
            reason: "No longer needed".into(),
        }),
        suspended: c.suspended.then_some(Suspension {
            reason: SuspensionReason::LostDevice,
            by: Actor::System,
            at: then,
        }),
        child_view: c.child_refused.then_some(ChildView {
            consents: false,
            recorded_by: staff,
            at: then,
        }),
        last_used: None,
    };
    let account = PatientAccount {
        patient,
        nhs_number: NhsNumber::parse("9434765919").unwrap(),
        date_of_birth: c.dob,
        registration: RegistrationKind::Regular,
        practice: OdsCode::parse("A81001").unwrap(),
        registered_by: staff,
        registered_at: then,
        identity: Some(verification),
        services: Service::ALL.into_iter().collect(),
        suspended: None,
        linkage: None,
    };
    let record = AccessRecord {
        patient,
        version: 3,
        account: Some(account),
        grants: vec![grant],
        applications: Vec::new(),
        concerns: Vec::new(),
    };
    (
        AccessFacts {
            settings: SettingsFacts::default(),
            record,
            staff: None,
            listed: None,
            one_booking_before_registration: false,
        },
        proxy,
        now,
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    #[test]
    fn a_proxy_is_allowed_exactly_when_nothing_stops_it(c in case()) {
        let (facts, proxy, now) = build(&c);
        let grant = &facts.record.grants[0];
        let today = local_date(now);
        let service = c.action.service().unwrap();
        let sixteen = age_on(c.dob, today) >= 16;
        let blocked = grant.revoked.is_some()
            || grant.suspended.is_some()
            || today < grant.start
            || grant.end.is_some_and(|e| today >= e)
            || !grant.scopes.contains(&service)
            || (c.parental && (sixteen || c.child_refused));
        let actor = Actor::Proxy { proxy, for_patient: facts.record.patient };
        let answer = authorize(&facts, &actor, c.action, now);
        prop_assert_eq!(answer.is_allowed(), !blocked, "{:?} at {} (local {}): {:?}", c, now, today, answer);
        if c.parental && sixteen && grant.revoked.is_none() && grant.suspended.is_none() && today >= grant.start && grant.end.is_none_or(|e| today < e) {
            prop_assert_eq!(answer, Authorization::Denied(AccessRefusal::ParentalAccessEndedAt16));
        }
    }

    #[test]
    fn a_new_basis_after_16_lets_access_continue(c in case()) {
        let (mut facts, proxy, now) = build(&c);
        facts.record.grants[0].basis = LegalBasis::Consent { seen_alone: SeenAlone::Yes };
        let actor = Actor::Proxy { proxy, for_patient: facts.record.patient };
        let answer = authorize(&facts, &actor, c.action, now);
        prop_assert_ne!(&answer, &Authorization::Denied(AccessRefusal::ParentalAccessEndedAt16));
        prop_assert_ne!(&answer, &Authorization::Denied(AccessRefusal::ChildRefusedConsent));
    }
}
