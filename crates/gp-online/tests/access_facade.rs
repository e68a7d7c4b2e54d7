//! Online access through `Practice` on a real SQLite file: linkage keys
//! redeemed once even under races, locking after failures, and settings
//! changes committed with their authorization.

use std::path::PathBuf;
use std::sync::Arc;

use chrono::NaiveDate;
use gp_access::{
    AccessRefusal, AccessStore, By, Competency, Designation, Registration, RegistrationKind,
    Service, StaffProfile, VerificationMethod,
};
use gp_core::{
    Actor, Channel, FixedClock, NhsNumber, OdsCode, Outcome, PatientId, SeededRandom,
    SequentialIds, StaffId, StaffRole,
};
use gp_online::{Answer, Practice as Door, Refused};
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::monday_morning;

mod common;
use common::{race, rt};

fn temp_db(name: &str) -> PathBuf {
    common::temp_db("gp-online-access", name)
}

type Facade = Door<SqliteStore, FixedClock>;

fn facade(path: &PathBuf, seed: u64) -> Facade {
    facade_on(path, seed, Arc::new(FixedClock::new(monday_morning())))
}

fn facade_on(path: &PathBuf, seed: u64, clock: Arc<FixedClock>) -> Facade {
    Door::with_sources(
        Arc::new(SqliteStore::open(path).unwrap()),
        clock,
        Box::new(SequentialIds::new(seed << 32)),
        Box::new(SeededRandom::new(seed)),
    )
}

struct Practice {
    manager: StaffProfile,
    desk: StaffProfile,
    lead: StaffProfile,
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

async fn practice(a: &Facade) -> Practice {
    let ids = SequentialIds::new(5);
    let profile = |role, c: &[Competency], d: &[Designation]| StaffProfile {
        staff: StaffId::new(&ids),
        name: "Staff".into(),
        role,
        competencies: c.iter().copied().collect(),
        designations: d.iter().copied().collect(),
        version: 0,
    };
    let p = Practice {
        manager: profile(StaffRole::PracticeManager, &[], &[]),
        desk: profile(StaffRole::Receptionist, &[Competency::VerifyIdentity], &[]),
        lead: profile(StaffRole::Nurse, &[], &[Designation::LeadStaff]),
    };
    assert!(a
        .first_manager(&p.manager)
        .await
        .unwrap()
        .refusal()
        .is_none());
    assert_eq!(
        a.first_manager(&p.desk).await.unwrap().refusal(),
        Some(&Refused::Access(AccessRefusal::LeadOrManagerOnly))
    );
    a.put_staff(&by(&p.manager), &p.desk).await.unwrap();
    a.put_staff(&by(&p.manager), &p.lead).await.unwrap();
    p
}

async fn ready_patient(a: &Facade, p: &Practice, patient: PatientId) {
    let reg = Registration {
        nhs_number: NhsNumber::parse("9434765919").unwrap(),
        date_of_birth: NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
        registration: RegistrationKind::Regular,
        practice: OdsCode::parse("A81001").unwrap(),
    };
    assert!(a
        .register(&by(&p.desk), patient, &reg)
        .await
        .unwrap()
        .refusal()
        .is_none());
    a.verify_identity(&by(&p.desk), patient, VerificationMethod::DocumentsSeen)
        .await
        .unwrap();
    a.set_services(&by(&p.desk), patient, &Service::ALL.into_iter().collect())
        .await
        .unwrap();
}

/// A ready patient with linkage details just issued.
async fn issued(a: &Facade, p: &Practice, n: u128) -> (PatientId, gp_access::LinkageDetails) {
    let patient = PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(n));
    ready_patient(a, p, patient).await;
    let d = a
        .issue_linkage(&by(&p.desk), patient)
        .await
        .unwrap()
        .done()
        .unwrap();
    (patient, d)
}

#[test]
fn a_linkage_key_redeemed_by_eight_threads_at_once_works_once() {
    let path = temp_db("linkage-race");
    let patient = PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(77));
    let details = rt().block_on(async {
        let a = facade(&path, 1);
        let p = practice(&a).await;
        ready_patient(&a, &p, patient).await;
        a.issue_linkage(&by(&p.desk), patient)
            .await
            .unwrap()
            .done()
            .unwrap()
    });
    let facades: Arc<Vec<_>> = Arc::new((0..4).map(|i| facade(&path, 10 + i)).collect());
    let details = Arc::new(details);
    let answers = race(8, {
        let (facades, details) = (facades.clone(), details.clone());
        move |t, runtime| {
            runtime
                .block_on(facades[t % 4].redeem_linkage(
                    details.account,
                    &details.practice,
                    &details.key,
                ))
                .unwrap()
        }
    });
    let linked = answers
        .iter()
        .filter(|a| matches!(a, Answer::Done(p) if *p == patient))
        .count();
    // The others are told the key was used; replaying a used key counts as a
    // failed attempt, so after five the keys lock.
    let refused = answers
        .iter()
        .filter(|a| {
            matches!(
                a.refusal(),
                Some(Refused::Access(
                    AccessRefusal::LinkageKeyUsed | AccessRefusal::LinkageLocked
                ))
            )
        })
        .count();
    assert_eq!((linked, refused), (1, 7), "{answers:?}");
}

#[tokio::test]
async fn failed_redemptions_lock_the_keys_and_a_new_key_unlocks() {
    let path = temp_db("linkage-lock");
    let a = facade(&path, 2);
    let p = practice(&a).await;
    let (patient, d) = issued(&a, &p, 78).await;
    for n in 1..=5 {
        let answer = a
            .redeem_linkage(d.account, &d.practice, "AAAA-BBBB-CCCC-DDDD")
            .await
            .unwrap();
        let expected = if n < 5 {
            AccessRefusal::LinkageKeyInvalid
        } else {
            AccessRefusal::LinkageLocked
        };
        assert_eq!(answer.refusal(), Some(&Refused::Access(expected)));
    }
    assert_eq!(
        a.redeem_linkage(d.account, &d.practice, &d.key)
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::LinkageLocked))
    );
    let unknown = gp_core::AccountId::from_uuid(gp_core::uuid::Uuid::from_u128(1));
    assert_eq!(
        a.redeem_linkage(unknown, &d.practice, &d.key)
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::LinkageKeyInvalid))
    );
    let fresh = a
        .issue_linkage(&by(&p.desk), patient)
        .await
        .unwrap()
        .done()
        .unwrap();
    assert_eq!(
        a.redeem_linkage(fresh.account, &fresh.practice, &fresh.key)
            .await
            .unwrap(),
        Answer::Done(patient)
    );
    // Every attempt is in the chained trail, the one naming an unknown
    // account too (with no patient).
    let events = AccessStore::audit_events(a.store()).await.unwrap();
    let attempts: Vec<_> = events
        .iter()
        .filter(|e| {
            [gp_access::REDEEM_ACTION, gp_access::UNKNOWN_ACCOUNT_ACTION]
                .contains(&e.action.as_str())
        })
        .collect();
    assert_eq!(attempts.len(), 8);
    assert_eq!(
        attempts
            .iter()
            .filter(|e| e.patient.is_none() && !e.outcome.is_allowed())
            .count(),
        1,
        "the unknown account's attempt"
    );
    assert_eq!(
        gp_audit::AuditStore::verify_all(a.store().as_ref())
            .await
            .unwrap(),
        Ok(())
    );
}

/// A practice whose limit on failed linkage attempts is `limit` an hour.
async fn limited_practice(a: &Facade, limit: u32) -> Practice {
    let p = practice(a).await;
    // The setting is bounded: 0 and 1001 are input errors that change nothing.
    for bad in [0, 1001] {
        let settings = gp_access::AccessSettings {
            practice_failed_redemptions_per_hour: bad,
            ..Default::default()
        };
        assert!(a
            .set_access_settings(&by(&p.manager), &settings)
            .await
            .is_err());
    }
    let settings = gp_access::AccessSettings {
        practice_failed_redemptions_per_hour: limit,
        ..Default::default()
    };
    assert!(a
        .set_access_settings(&by(&p.manager), &settings)
        .await
        .unwrap()
        .refusal()
        .is_none());
    p
}

fn guessed(n: u128) -> gp_core::AccountId {
    gp_core::AccountId::from_uuid(gp_core::uuid::Uuid::from_u128(5000 + n))
}

#[tokio::test]
async fn failed_attempts_across_the_practice_stop_linking_for_an_hour() {
    let path = temp_db("linkage-practice-limit");
    let clock = Arc::new(FixedClock::new(monday_morning()));
    let door = |seed: u64| facade_on(&path, seed, clock.clone());
    let a = door(9);
    let p = limited_practice(&a, 3).await;
    let (patient, d) = issued(&a, &p, 91).await;
    let (_, other) = issued(&a, &p, 92).await;
    let invalid = Some(Refused::Access(AccessRefusal::LinkageKeyInvalid));
    let limited = Some(Refused::Access(AccessRefusal::LinkageRateLimited));
    // Guessed accounts are recorded but do not count: anyone could send them.
    for n in 1..=10 {
        let answer = a
            .redeem_linkage(guessed(n), &d.practice, &d.key)
            .await
            .unwrap();
        assert_eq!(answer.refusal().cloned(), invalid);
    }
    // Three wrong keys for accounts patients hold reach the limit.
    for account in [d.account, other.account, other.account] {
        let answer = a
            .redeem_linkage(account, &d.practice, "AAAA-BBBB-CCCC-DDDD")
            .await
            .unwrap();
        assert_eq!(answer.refusal().cloned(), invalid);
    }
    // Now even the right key is not tried, from any door on the file, and a
    // guessed account gets the same answer.
    let b = door(10);
    for facade in [&a, &b] {
        let answer = facade
            .redeem_linkage(d.account, &d.practice, &d.key)
            .await
            .unwrap();
        assert_eq!(answer.refusal().cloned(), limited);
    }
    let answer = b
        .redeem_linkage(guessed(99), &d.practice, &d.key)
        .await
        .unwrap();
    assert_eq!(answer.refusal().cloned(), limited);
    let events = AccessStore::audit_events(a.store()).await.unwrap();
    let of = |action: &str| {
        events
            .iter()
            .filter(|e| e.action.as_str() == action)
            .count()
    };
    assert_eq!(of(gp_access::UNKNOWN_ACCOUNT_ACTION), 10);
    assert_eq!(
        of(gp_access::LIMITED_ACTION),
        3,
        "each limited attempt is recorded"
    );
    assert!(events
        .iter()
        .filter(|e| e.action.as_str() == gp_access::LIMITED_ACTION)
        .all(|e| e.patient.is_none()));
    // A patient retrying while the limit holds does not keep it on: an
    // hour after the failures (not after the retries) the key works, and
    // the limit did not count against the patient's own account.
    clock.advance(chrono::Duration::minutes(40));
    let answer = a
        .redeem_linkage(d.account, &d.practice, &d.key)
        .await
        .unwrap();
    assert_eq!(answer.refusal().cloned(), limited);
    clock.advance(chrono::Duration::minutes(21));
    assert_eq!(
        a.redeem_linkage(d.account, &d.practice, &d.key)
            .await
            .unwrap(),
        Answer::Done(patient)
    );
    assert_eq!(
        gp_audit::AuditStore::verify_all(a.store().as_ref())
            .await
            .unwrap(),
        Ok(())
    );
}

#[test]
fn concurrent_wrong_keys_cannot_pass_the_practice_limit() {
    let path = temp_db("linkage-limit-race");
    let accounts = rt().block_on(async {
        let a = facade(&path, 11);
        let p = limited_practice(&a, 3).await;
        let mut accounts = Vec::new();
        for n in 0..8 {
            accounts.push(issued(&a, &p, 200 + n).await.1);
        }
        accounts
    });
    let accounts = Arc::new(accounts);
    let facades: Arc<Vec<_>> = Arc::new((0..4).map(|i| facade(&path, 20 + i)).collect());
    let answers = race(4, {
        let (facades, accounts) = (facades.clone(), accounts.clone());
        move |t, runtime| {
            runtime.block_on(async {
                let mut seen = Vec::new();
                for n in 0..10 {
                    let d = &accounts[(t * 10 + n) % 8];
                    let answer = facades[t]
                        .redeem_linkage(d.account, &d.practice, "AAAA-BBBB-CCCC-DDDD")
                        .await
                        .unwrap();
                    seen.push(answer.refusal().cloned());
                }
                seen
            })
        }
    });
    let answers: Vec<_> = answers.into_iter().flatten().collect();
    let tried = answers
        .iter()
        .filter(|r| **r != Some(Refused::Access(AccessRefusal::LinkageRateLimited)))
        .count();
    assert_eq!(
        tried, 3,
        "only the limit's worth of keys is tried: {answers:?}"
    );
    let events = rt()
        .block_on(AccessStore::audit_events(facades[0].store()))
        .unwrap();
    let failed = events
        .iter()
        .filter(|e| e.action.as_str() == gp_access::REDEEM_ACTION && !e.outcome.is_allowed())
        .count();
    assert_eq!(failed, 3);
}

#[tokio::test]
async fn settings_changes_are_for_the_manager_and_leads_and_commit_with_their_authorization() {
    let path = temp_db("settings");
    let a = facade(&path, 3);
    let p = practice(&a).await;
    let policy = gp_booking::BookingPolicy::new(gp_booking::BookingSettings {
        holding_limit: Some(gp_booking::HoldingLimit {
            max: 3,
            period: gp_booking::HoldingPeriod::AllFuture,
        }),
        ..Default::default()
    })
    .unwrap();
    assert_eq!(
        a.set_booking_policy(&by(&p.desk), &policy)
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::LeadOrManagerOnly))
    );
    let stored = a
        .set_booking_policy(&by(&p.lead), &policy)
        .await
        .unwrap()
        .done()
        .unwrap();
    assert_eq!((stored.version, &stored.policy), (1, &policy));
    let events = AccessStore::audit_events(a.store()).await.unwrap();
    let changes: Vec<_> = events
        .iter()
        .filter(|e| e.details.contains_key("area"))
        .collect();
    assert_eq!(changes.len(), 2);
    assert!(!changes[0].outcome.is_allowed() && changes[1].outcome == Outcome::Allowed);
    assert_eq!(changes[1].patient, None);
    // The allowed authorization and the change are committed together, in order.
    let last = &events[events.len() - 2..];
    assert_eq!(&last[0], changes[1]);
    assert_eq!(last[1].action.as_str(), gp_booking::ACTION_POLICY);
    assert!(
        last[1].details["settings"].contains("max: 3"),
        "{:?}",
        last[1]
    );
}

#[tokio::test]
async fn a_suspended_account_or_one_under_review_links_no_app_and_suspension_ends_its_keys() {
    let path = temp_db("linkage-suspended");
    let a = facade(&path, 4);
    let p = practice(&a).await;
    let patient = PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(79));
    ready_patient(&a, &p, patient).await;
    // A key handed out, then the account suspended (suspected compromise).
    let d = a
        .issue_linkage(&by(&p.desk), patient)
        .await
        .unwrap()
        .done()
        .unwrap();
    a.suspend_access(
        &by(&p.desk),
        patient,
        Some(gp_access::SuspensionReason::SuspectedCompromise),
    )
    .await
    .unwrap();
    assert_eq!(
        a.redeem_linkage(d.account, &d.practice, &d.key)
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::OnlineAccessSuspended))
    );
    // Restored: the key handed out before the suspension no longer works.
    a.suspend_access(&by(&p.desk), patient, None).await.unwrap();
    assert_eq!(
        a.redeem_linkage(d.account, &d.practice, &d.key)
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::LinkageKeyExpired))
    );
    // Under coercion review: no linking either, even with a fresh key.
    let fresh = a
        .issue_linkage(&by(&p.desk), patient)
        .await
        .unwrap()
        .done()
        .unwrap();
    a.put_staff(
        &by(&p.manager),
        &StaffProfile::new(p.desk.staff, "Staff", StaffRole::Receptionist)
            .with_competencies([Competency::VerifyIdentity, Competency::RecogniseCoercion]),
    )
    .await
    .unwrap();
    assert!(a
        .coercion_concern(&by(&p.desk), patient, None, "Someone else holds the phone")
        .await
        .unwrap()
        .refusal()
        .is_none());
    assert_eq!(
        a.redeem_linkage(fresh.account, &fresh.practice, &fresh.key)
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::CoercionReviewPending))
    );
}

#[test]
fn two_first_managers_at_once_give_one_manager() {
    for round in 0..10 {
        let path = temp_db(&format!("first-manager-{round}"));
        // Open once, so both racers find the schema in place.
        drop(facade(&path, 5));
        let answers = race(2, {
            let path = path.clone();
            move |i, runtime| {
                let a = facade(&path, 20 + i as u64);
                let me = StaffProfile::new(
                    StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(500 + i as u128)),
                    "Manager",
                    StaffRole::PracticeManager,
                );
                runtime.block_on(a.first_manager(&me)).unwrap()
            }
        });
        let won = answers.iter().filter(|a| a.refusal().is_none()).count();
        assert_eq!(won, 1, "round {round}: {answers:?}");
        let store = SqliteStore::open(&path).unwrap();
        let staff = rt().block_on(AccessStore::all_staff(&store)).unwrap();
        assert_eq!(staff.len(), 1);
    }
}

#[tokio::test]
async fn the_practice_keeps_a_practice_manager() {
    let path = temp_db("last-manager");
    let a = facade(&path, 12);
    let p = practice(&a).await;
    let demoted = StaffProfile {
        role: StaffRole::Receptionist,
        ..p.manager.clone()
    };
    let before = AccessStore::audit_events(a.store()).await.unwrap().len();
    assert_eq!(
        a.put_staff(&by(&p.lead), &demoted).await.unwrap().refusal(),
        Some(&Refused::Access(AccessRefusal::LastPracticeManager))
    );
    assert_eq!(
        AccessStore::staff(a.store(), p.manager.staff)
            .await
            .unwrap()
            .map(|s| s.role),
        Some(StaffRole::PracticeManager),
        "nothing changed"
    );
    assert!(AccessStore::audit_events(a.store()).await.unwrap().len() > before);
    // With a second manager recorded, the first can be moved to another role.
    let ids = SequentialIds::new(77);
    let second = StaffProfile::new(StaffId::new(&ids), "Second", StaffRole::PracticeManager);
    assert!(a
        .put_staff(&by(&p.manager), &second)
        .await
        .unwrap()
        .refusal()
        .is_none());
    assert!(a
        .put_staff(&by(&p.lead), &demoted)
        .await
        .unwrap()
        .refusal()
        .is_none());
    // And the second, now the only one, cannot be.
    let second_demoted = StaffProfile {
        role: StaffRole::Receptionist,
        ..AccessStore::staff(a.store(), second.staff)
            .await
            .unwrap()
            .unwrap()
    };
    assert_eq!(
        a.put_staff(&by(&p.lead), &second_demoted)
            .await
            .unwrap()
            .refusal(),
        Some(&Refused::Access(AccessRefusal::LastPracticeManager))
    );
}
