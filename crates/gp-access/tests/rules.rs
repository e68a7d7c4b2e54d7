//! The access rules, case by case: every reason code, the permission matrix,
//! linkage keys, proxy age rules and coercion safeguards.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, NaiveDate, TimeZone, Utc};
use gp_access::*;
use gp_core::{
    Actor, Channel, NhsNumber, OdsCode, Outcome, PatientId, ProxyId, Reason, SeededRandom,
    SequentialIds, StaffId, StaffRole,
};

fn at(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(y, m, d, h, min, 0).unwrap()
}

fn date(y: i32, m: u32, d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, d).unwrap()
}

fn profile(
    ids: &SequentialIds,
    role: StaffRole,
    competencies: &[Competency],
    designations: &[Designation],
) -> StaffProfile {
    StaffProfile {
        staff: StaffId::new(ids),
        name: format!("{role}"),
        role,
        competencies: competencies.iter().copied().collect(),
        designations: designations.iter().copied().collect(),
        version: 0,
    }
}

struct T {
    ids: SequentialIds,
    random: SeededRandom,
    now: DateTime<Utc>,
    settings: SettingsFacts,
    record: AccessRecord,
    manager: StaffProfile,
    gp: StaffProfile,
    desk: StaffProfile,
    untrained: StaffProfile,
    hca: StaffProfile,
}

const ALL: [Competency; 4] = [
    Competency::VerifyIdentity,
    Competency::ProxyApplications,
    Competency::RecogniseCoercion,
    Competency::Prescribing,
];

impl T {
    fn new() -> Self {
        let ids = SequentialIds::new(40);
        let patient = PatientId::new(&ids);
        Self {
            manager: profile(&ids, StaffRole::PracticeManager, &[], &[]),
            gp: profile(&ids, StaffRole::Gp, &ALL, &[Designation::LeadGp]),
            desk: profile(
                &ids,
                StaffRole::Receptionist,
                &[
                    Competency::VerifyIdentity,
                    Competency::ProxyApplications,
                    Competency::RecogniseCoercion,
                ],
                &[],
            ),
            untrained: profile(&ids, StaffRole::Receptionist, &[], &[]),
            hca: profile(
                &ids,
                StaffRole::HealthcareAssistant,
                &[Competency::RecogniseCoercion],
                &[],
            ),
            random: SeededRandom::new(9),
            now: at(2026, 6, 1, 9, 0),
            settings: SettingsFacts::default(),
            record: AccessRecord::empty(patient),
            ids,
        }
    }

    fn patient(&self) -> PatientId {
        self.record.patient
    }

    fn facts(&self, staff: &StaffProfile) -> AccessFacts {
        AccessFacts {
            settings: self.settings.clone(),
            record: self.record.clone(),
            staff: Some(staff.clone()),
            listed: None,
            one_booking_before_registration: false,
        }
    }

    fn plain(&self) -> AccessFacts {
        AccessFacts {
            settings: self.settings.clone(),
            record: self.record.clone(),
            staff: None,
            listed: None,
            one_booking_before_registration: false,
        }
    }

    fn by(staff: &StaffProfile) -> By {
        By {
            actor: Actor::Staff {
                staff: staff.staff,
                role: staff.role,
            },
            channel: Channel::Reception,
        }
    }

    fn me(&self) -> Actor {
        Actor::Patient {
            patient: self.patient(),
        }
    }

    fn apply(&mut self, d: Result<Decision, AccessError>) -> Committable {
        match d.unwrap() {
            Decision::Allowed(c) => {
                if let Some(mut r) = c.change.record.clone() {
                    r.version = self.record.version + 1;
                    self.record = r;
                }
                if let Some(s) = &c.change.settings {
                    self.settings = SettingsFacts {
                        settings: s.clone(),
                        version: self.settings.version + 1,
                    };
                }
                c
            }
            Decision::Refused(r) => panic!("expected allowed, got {}", r.reason.code()),
        }
    }

    fn refused(&self, d: Result<Decision, AccessError>) -> AccessRefusal {
        match d.unwrap() {
            Decision::Refused(r) => {
                assert_eq!(r.events.len(), 1, "one event records the refusal");
                assert_eq!(
                    r.events[0].outcome,
                    Outcome::Refused(r.reason.reason_code())
                );
                r.reason
            }
            Decision::Allowed(c) => match c.change.refused {
                Some(r) => r,
                None => panic!("expected a refusal"),
            },
        }
    }

    /// Registered (born `dob`), identity verified, every service on.
    fn ready(&mut self, dob: NaiveDate) {
        let reg = Registration {
            nhs_number: NhsNumber::parse("9434765919").unwrap(),
            date_of_birth: dob,
            registration: RegistrationKind::Regular,
            practice: OdsCode::parse("A81001").unwrap(),
        };
        let desk = self.desk.clone();
        self.apply(decide_register(
            &self.facts(&desk),
            &T::by(&desk),
            &reg,
            self.now,
            &self.ids,
        ));
        self.apply(decide_verify_identity(
            &self.facts(&desk),
            &T::by(&desk),
            VerificationMethod::DocumentsSeen,
            self.now,
            &self.ids,
        ));
        let all: BTreeSet<Service> = Service::ALL.into_iter().collect();
        self.apply(decide_services(
            &self.facts(&desk),
            &T::by(&desk),
            &all,
            self.now,
            &self.ids,
        ));
    }

    fn allow(&self, actor: Actor, action: Action) -> Authorization {
        authorize(&self.plain(), &actor, action, self.now)
    }

    fn staff_allow(&self, staff: &StaffProfile, action: Action) -> Authorization {
        authorize(
            &self.facts(staff),
            &Actor::Staff {
                staff: staff.staff,
                role: staff.role,
            },
            action,
            self.now,
        )
    }

    /// Grants `proxy` access on `basis` for every service, from today.
    fn grant(&mut self, basis: LegalBasis, end: Option<NaiveDate>) -> ProxyId {
        let proxy = ProxyId::new(&self.ids);
        let input = ProxyApplicationInput {
            applicant: proxy,
            applicant_name: "Sam Carer".into(),
            applicant_identity: Some(IdentityVerification {
                method: VerificationMethod::DocumentsSeen,
                verified_by: Some(self.desk.staff),
                at: self.now,
            }),
            patient_identity_checked: true,
            basis,
            scopes: Service::ALL.into_iter().collect(),
            care_home: None,
        };
        let verdict = ApplicationVerdict::Grant {
            start: gp_core::local_date(self.now),
            end,
            review: None,
        };
        let gp = self.gp.clone();
        self.apply(decide_proxy_application(
            &self.facts(&gp),
            &T::by(&gp),
            &input,
            &verdict,
            self.now,
            &self.ids,
        ));
        proxy
    }

    fn as_proxy(&self, proxy: ProxyId) -> Actor {
        Actor::Proxy {
            proxy,
            for_patient: self.patient(),
        }
    }
}

fn denied(a: Authorization) -> AccessRefusal {
    match a {
        Authorization::Denied(r) => r,
        Authorization::Allowed => panic!("expected a denial"),
    }
}

#[test]
fn a_patient_needs_registration_identity_services_and_no_suspension() {
    let mut t = T::new();
    let me = t.me();
    assert_eq!(
        denied(t.allow(me, Action::BookAppointment)),
        AccessRefusal::NotRegisteredForOnline
    );
    let reg = Registration {
        nhs_number: NhsNumber::parse("9434765919").unwrap(),
        date_of_birth: date(1980, 1, 1),
        registration: RegistrationKind::Temporary,
        practice: OdsCode::parse("A81001").unwrap(),
    };
    let desk = t.desk.clone();
    t.apply(decide_register(
        &t.facts(&desk),
        &T::by(&desk),
        &reg,
        t.now,
        &t.ids,
    ));
    assert_eq!(
        t.refused(decide_register(
            &t.facts(&desk),
            &T::by(&desk),
            &reg,
            t.now,
            &t.ids
        )),
        AccessRefusal::AlreadyRegistered
    );
    assert_eq!(
        denied(t.allow(me, Action::BookAppointment)),
        AccessRefusal::IdentityNotVerified
    );
    // NHS login at P9, reported by the system.
    let system = By {
        actor: Actor::System,
        channel: Channel::Internal,
    };
    t.apply(decide_verify_identity(
        &t.plain(),
        &system,
        VerificationMethod::NhsLoginP9,
        t.now,
        &t.ids,
    ));
    assert_eq!(
        t.record
            .account
            .as_ref()
            .unwrap()
            .identity
            .unwrap()
            .verified_by,
        None
    );
    assert_eq!(
        denied(t.allow(me, Action::OrderRepeats)),
        AccessRefusal::ServiceNotEnabled {
            service: Service::RepeatPrescriptions
        }
    );
    let some: BTreeSet<Service> = [Service::RepeatPrescriptions].into_iter().collect();
    t.apply(decide_services(
        &t.facts(&desk),
        &T::by(&desk),
        &some,
        t.now,
        &t.ids,
    ));
    assert!(t.allow(me, Action::OrderRepeats).is_allowed());
    assert_eq!(
        denied(t.allow(me, Action::BookAppointment)),
        AccessRefusal::ServiceNotEnabled {
            service: Service::Appointments
        }
    );
    t.apply(decide_suspension(
        &t.facts(&desk),
        &T::by(&desk),
        Some(SuspensionReason::LostDevice),
        t.now,
        &t.ids,
    ));
    assert_eq!(
        denied(t.allow(me, Action::OrderRepeats)),
        AccessRefusal::OnlineAccessSuspended
    );
    t.apply(decide_suspension(
        &t.facts(&desk),
        &T::by(&desk),
        None,
        t.now,
        &t.ids,
    ));
    assert!(t.allow(me, Action::OrderRepeats).is_allowed());
    // Words given as the reason are kept beside the audit event, not in it,
    // and Debug shows their length only.
    let words = "Disclosed domestic abuse by husband";
    let suspended = t.apply(decide_suspension(
        &t.facts(&desk),
        &T::by(&desk),
        Some(SuspensionReason::Other(words.into())),
        t.now,
        &t.ids,
    ));
    let event = suspended.events.last().unwrap();
    assert_eq!(event.details["reason"], "Other");
    assert_eq!(event.personal_text("note"), Some(words));
    assert!(event.details.values().all(|v| !v.contains("abuse")));
    let shown = format!("{:?}", SuspensionReason::Other(words.into()));
    assert!(!shown.contains("abuse"), "{shown}");
    assert_eq!(format!("{:?}", SuspensionReason::LostDevice), "LostDevice");
    t.apply(decide_suspension(
        &t.facts(&desk),
        &T::by(&desk),
        None,
        t.now,
        &t.ids,
    ));
    assert_eq!(
        t.refused(decide_suspension(
            &t.facts(&desk),
            &T::by(&desk),
            None,
            t.now,
            &t.ids
        )),
        AccessRefusal::NotSuspended
    );
    // Not for someone else, and not staff work.
    let stranger = Actor::Patient {
        patient: PatientId::new(&t.ids),
    };
    assert_eq!(
        denied(t.allow(stranger, Action::OrderRepeats)),
        AccessRefusal::ActorNotForPatient
    );
    assert_eq!(
        denied(t.allow(me, Action::IssueLinkageKey)),
        AccessRefusal::RoleNotPermitted
    );
    assert_eq!(
        denied(t.allow(Actor::System, Action::BookAppointment)),
        AccessRefusal::RoleNotPermitted
    );
}

#[test]
fn identity_is_verified_only_by_trained_staff_or_an_nhs_login() {
    let mut t = T::new();
    t.ready(date(1980, 1, 1));
    let untrained = t.untrained.clone();
    assert_eq!(
        t.refused(decide_verify_identity(
            &t.facts(&untrained),
            &T::by(&untrained),
            VerificationMethod::VouchedByStaff,
            t.now,
            &t.ids
        )),
        AccessRefusal::CompetencyMissing {
            competency: Competency::VerifyIdentity
        }
    );
    let system = By {
        actor: Actor::System,
        channel: Channel::Internal,
    };
    assert_eq!(
        t.refused(decide_verify_identity(
            &t.plain(),
            &system,
            VerificationMethod::DocumentsSeen,
            t.now,
            &t.ids
        )),
        AccessRefusal::RoleNotPermitted
    );
    let desk = t.desk.clone();
    let c = t.apply(decide_verify_identity(
        &t.facts(&desk),
        &T::by(&desk),
        VerificationMethod::VouchedByStaff,
        t.now,
        &t.ids,
    ));
    assert_eq!(
        c.events[0].details.get("method").map(String::as_str),
        Some("vouched for by staff")
    );
    assert_eq!(
        t.record
            .account
            .as_ref()
            .unwrap()
            .identity
            .unwrap()
            .verified_by,
        Some(desk.staff)
    );
}

#[test]
fn linkage_keys_work_once_expire_and_lock_after_failures() {
    let mut t = T::new();
    let desk = t.desk.clone();
    let reg = Registration {
        nhs_number: NhsNumber::parse("9434765919").unwrap(),
        date_of_birth: date(1980, 1, 1),
        registration: RegistrationKind::Regular,
        practice: OdsCode::parse("A81001").unwrap(),
    };
    t.apply(decide_register(
        &t.facts(&desk),
        &T::by(&desk),
        &reg,
        t.now,
        &t.ids,
    ));
    assert_eq!(
        t.refused(decide_issue_linkage(
            &t.facts(&desk),
            &T::by(&desk),
            t.now,
            &t.ids,
            &t.random
        )),
        AccessRefusal::IdentityNotVerified
    );
    t.apply(decide_verify_identity(
        &t.facts(&desk),
        &T::by(&desk),
        VerificationMethod::DocumentsSeen,
        t.now,
        &t.ids,
    ));
    let c = t.apply(decide_issue_linkage(
        &t.facts(&desk),
        &T::by(&desk),
        t.now,
        &t.ids,
        &t.random,
    ));
    let details = c.change.linkage.clone().unwrap();
    assert_eq!(details.expires_at, t.now + Duration::days(14));
    assert_eq!(details.practice.as_str(), "A81001");
    let stored = serde_json::to_string(&t.record).unwrap();
    assert!(
        !stored.contains(&details.key) && !stored.contains(&details.key.replace('-', "")),
        "only a hash is stored"
    );
    assert!(
        !format!("{details:?}").contains(&details.key),
        "debug output hides the key"
    );
    let ods = details.practice;
    let redeem = |t: &T, key: &str, when: DateTime<Utc>| {
        decide_redeem_linkage(&t.plain(), details.account, &ods, key, when, &t.ids)
    };
    // A wrong practice is the same answer as a wrong key.
    let other = OdsCode::parse("B82002").unwrap();
    assert_eq!(
        t.refused(Ok(decide_redeem_linkage(
            &t.plain(),
            details.account,
            &other,
            &details.key,
            t.now,
            &t.ids
        ))),
        AccessRefusal::LinkageKeyInvalid
    );
    t.apply(Ok(decide_redeem_linkage(
        &t.plain(),
        details.account,
        &other,
        &details.key,
        t.now,
        &t.ids,
    )));
    // Typed in lower case with spaces: accepted, once.
    let typed = details.key.to_lowercase().replace('-', " ");
    t.apply(Ok(redeem(&t, &typed, t.now)));
    assert_eq!(
        t.record
            .account
            .as_ref()
            .unwrap()
            .linkage
            .as_ref()
            .unwrap()
            .failed_attempts,
        0
    );
    assert_eq!(
        t.refused(Ok(redeem(&t, &details.key, t.now))),
        AccessRefusal::LinkageKeyUsed
    );
    // A new key; the old one is replaced. It expires after 14 days.
    let c = t.apply(decide_issue_linkage(
        &t.facts(&desk),
        &T::by(&desk),
        t.now,
        &t.ids,
        &t.random,
    ));
    let second = c.change.linkage.unwrap();
    assert_eq!(second.account, details.account, "the account id stays");
    assert_eq!(
        t.refused(Ok(redeem(&t, &second.key, t.now + Duration::days(14)))),
        AccessRefusal::LinkageKeyExpired
    );
    let c = t.apply(decide_issue_linkage(
        &t.facts(&desk),
        &T::by(&desk),
        t.now,
        &t.ids,
        &t.random,
    ));
    let third = c.change.linkage.unwrap();
    assert_eq!(
        t.refused(Ok(redeem(&t, &second.key, t.now))),
        AccessRefusal::LinkageKeyExpired,
        "replaced keys stop working"
    );
    // Wrong keys count; the fifth failure locks, and then even the right key is refused.
    t.apply(Ok(redeem(&t, &third.key, t.now + Duration::days(13))));
    let c = t.apply(decide_issue_linkage(
        &t.facts(&desk),
        &T::by(&desk),
        t.now,
        &t.ids,
        &t.random,
    ));
    let fourth = c.change.linkage.unwrap();
    for n in 1..=5 {
        let d = redeem(&t, "0000-0000-0000-0000", t.now);
        let expected = if n < 5 {
            AccessRefusal::LinkageKeyInvalid
        } else {
            AccessRefusal::LinkageLocked
        };
        assert_eq!(t.refused(Ok(d.clone())), expected);
        t.apply(Ok(d));
    }
    assert_eq!(
        t.refused(Ok(redeem(&t, &fourth.key, t.now))),
        AccessRefusal::LinkageLocked
    );
    // A new key unlocks.
    let c = t.apply(decide_issue_linkage(
        &t.facts(&desk),
        &T::by(&desk),
        t.now,
        &t.ids,
        &t.random,
    ));
    t.apply(Ok(redeem(&t, &c.change.linkage.unwrap().key, t.now)));
}

#[test]
fn linkage_key_lifetime_and_lock_threshold_follow_the_settings() {
    let mut t = T::new();
    t.ready(date(1980, 1, 1));
    t.settings.settings.linkage_key_days = 3;
    t.settings.settings.max_failed_redemptions = 2;
    let desk = t.desk.clone();
    let c = t.apply(decide_issue_linkage(
        &t.facts(&desk),
        &T::by(&desk),
        t.now,
        &t.ids,
        &t.random,
    ));
    let d = c.change.linkage.unwrap();
    assert_eq!(d.expires_at, t.now + Duration::days(3));
    let wrong = decide_redeem_linkage(&t.plain(), d.account, &d.practice, "nope", t.now, &t.ids);
    assert_eq!(
        t.refused(Ok(wrong.clone())),
        AccessRefusal::LinkageKeyInvalid
    );
    t.apply(Ok(wrong));
    let wrong = decide_redeem_linkage(&t.plain(), d.account, &d.practice, "nope", t.now, &t.ids);
    assert_eq!(t.refused(Ok(wrong)), AccessRefusal::LinkageLocked);
}

#[test]
fn proxy_applications_are_recorded_granted_or_refused() {
    let mut t = T::new();
    t.ready(date(1950, 3, 3));
    let proxy = ProxyId::new(&t.ids);
    let input = ProxyApplicationInput {
        applicant: proxy,
        applicant_name: "Jo Daughter".into(),
        applicant_identity: None,
        patient_identity_checked: false,
        basis: LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        scopes: [Service::Appointments].into_iter().collect(),
        care_home: None,
    };
    let grant = ApplicationVerdict::Grant {
        start: date(2026, 6, 1),
        end: None,
        review: Some(date(2027, 6, 1)),
    };
    let (desk, untrained, hca) = (t.desk.clone(), t.untrained.clone(), t.hca.clone());
    assert_eq!(
        t.refused(decide_proxy_application(
            &t.facts(&untrained),
            &T::by(&untrained),
            &input,
            &grant,
            t.now,
            &t.ids
        )),
        AccessRefusal::CompetencyMissing {
            competency: Competency::ProxyApplications
        }
    );
    assert_eq!(
        t.refused(decide_proxy_application(
            &t.facts(&hca),
            &T::by(&hca),
            &input,
            &grant,
            t.now,
            &t.ids
        )),
        AccessRefusal::RoleNotPermitted
    );
    assert_eq!(
        t.refused(decide_proxy_application(
            &t.facts(&desk),
            &T::by(&desk),
            &input,
            &grant,
            t.now,
            &t.ids
        )),
        AccessRefusal::ApplicantIdentityNotVerified
    );
    // Refusing is recorded too.
    t.apply(decide_proxy_application(
        &t.facts(&desk),
        &T::by(&desk),
        &input,
        &ApplicationVerdict::Refuse("Identity documents not brought".into()),
        t.now,
        &t.ids,
    ));
    assert!(
        matches!(&t.record.applications[0].decision, ApplicationDecision::Refused { reason } if reason == "Identity documents not brought")
    );
    assert!(t.record.grants.is_empty());
    let verified = ProxyApplicationInput {
        applicant_identity: Some(IdentityVerification {
            method: VerificationMethod::DocumentsSeen,
            verified_by: Some(desk.staff),
            at: t.now,
        }),
        ..input.clone()
    };
    t.apply(decide_proxy_application(
        &t.facts(&desk),
        &T::by(&desk),
        &verified,
        &grant,
        t.now,
        &t.ids,
    ));
    assert_eq!(t.record.applications.len(), 2);
    assert_eq!(
        t.record.applications[1].decision,
        ApplicationDecision::Granted
    );
    let g = t.record.grant(proxy).unwrap().clone();
    assert_eq!(
        (g.decided_by, g.review),
        (desk.staff, Some(date(2027, 6, 1)))
    );
    assert!(t
        .allow(t.as_proxy(proxy), Action::BookAppointment)
        .is_allowed());
    assert_eq!(
        denied(t.allow(t.as_proxy(proxy), Action::OrderRepeats)),
        AccessRefusal::ProxyOutOfScope {
            service: Service::RepeatPrescriptions
        }
    );
    // Best interest: only a GP decides, and is recorded as the clinician.
    let best = ProxyApplicationInput {
        applicant: ProxyId::new(&t.ids),
        basis: LegalBasis::BestInterest {
            clinician: desk.staff,
        },
        ..verified.clone()
    };
    assert_eq!(
        t.refused(decide_proxy_application(
            &t.facts(&desk),
            &T::by(&desk),
            &best,
            &grant,
            t.now,
            &t.ids
        )),
        AccessRefusal::RoleNotPermitted
    );
    let gp = t.gp.clone();
    t.apply(decide_proxy_application(
        &t.facts(&gp),
        &T::by(&gp),
        &best,
        &grant,
        t.now,
        &t.ids,
    ));
    assert_eq!(
        t.record.grant(best.applicant).unwrap().basis,
        LegalBasis::BestInterest {
            clinician: gp.staff
        }
    );
    // Bad input is an error.
    let backwards = ApplicationVerdict::Grant {
        start: date(2026, 6, 2),
        end: Some(date(2026, 6, 1)),
        review: None,
    };
    assert_eq!(
        decide_proxy_application(
            &t.facts(&desk),
            &T::by(&desk),
            &verified,
            &backwards,
            t.now,
            &t.ids
        ),
        Err(AccessError::EndBeforeStart)
    );
    let no_scope = ProxyApplicationInput {
        scopes: BTreeSet::new(),
        ..verified.clone()
    };
    assert_eq!(
        decide_proxy_application(
            &t.facts(&desk),
            &T::by(&desk),
            &no_scope,
            &grant,
            t.now,
            &t.ids
        ),
        Err(AccessError::NoServices)
    );
    let alone_unexplained = ProxyApplicationInput {
        basis: LegalBasis::Consent {
            seen_alone: SeenAlone::No { why: " ".into() },
        },
        ..verified
    };
    assert!(decide_proxy_application(
        &t.facts(&desk),
        &T::by(&desk),
        &alone_unexplained,
        &grant,
        t.now,
        &t.ids
    )
    .is_err());
}

#[test]
fn a_patient_whose_identity_is_not_verified_needs_a_check_for_proxy_access() {
    let mut t = T::new();
    let desk = t.desk.clone();
    let reg = Registration {
        nhs_number: NhsNumber::parse("9434765919").unwrap(),
        date_of_birth: date(2015, 1, 1),
        registration: RegistrationKind::Regular,
        practice: OdsCode::parse("A81001").unwrap(),
    };
    t.apply(decide_register(
        &t.facts(&desk),
        &T::by(&desk),
        &reg,
        t.now,
        &t.ids,
    ));
    let input = ProxyApplicationInput {
        applicant: ProxyId::new(&t.ids),
        applicant_name: "Parent".into(),
        applicant_identity: Some(IdentityVerification {
            method: VerificationMethod::NhsLoginP9,
            verified_by: None,
            at: t.now,
        }),
        patient_identity_checked: false,
        basis: LegalBasis::ParentalResponsibility,
        scopes: Service::ALL.into_iter().collect(),
        care_home: None,
    };
    let grant = ApplicationVerdict::Grant {
        start: date(2026, 6, 1),
        end: None,
        review: None,
    };
    assert_eq!(
        t.refused(decide_proxy_application(
            &t.facts(&desk),
            &T::by(&desk),
            &input,
            &grant,
            t.now,
            &t.ids
        )),
        AccessRefusal::PatientIdentityNotVerified
    );
    let checked = ProxyApplicationInput {
        patient_identity_checked: true,
        ..input
    };
    t.apply(decide_proxy_application(
        &t.facts(&desk),
        &T::by(&desk),
        &checked,
        &grant,
        t.now,
        &t.ids,
    ));
}

#[test]
fn proxy_access_follows_its_dates_revocation_and_suspension() {
    let mut t = T::new();
    t.ready(date(1940, 1, 1));
    // Ends on 1 July: from 00:00 UK time that day (23:00 UTC on 30 June, BST).
    let proxy = t.grant(LegalBasis::LastingPowerOfAttorney, Some(date(2026, 7, 1)));
    assert!(t
        .allow(t.as_proxy(proxy), Action::OrderRepeats)
        .is_allowed());
    t.now = at(2026, 6, 30, 22, 59);
    assert!(t
        .allow(t.as_proxy(proxy), Action::OrderRepeats)
        .is_allowed());
    t.now = at(2026, 6, 30, 23, 0);
    assert_eq!(
        denied(t.allow(t.as_proxy(proxy), Action::OrderRepeats)),
        AccessRefusal::ProxyExpired
    );
    t.now = at(2026, 6, 1, 9, 0);
    // Not started: a grant from next week.
    let later = ProxyId::new(&t.ids);
    let input = ProxyApplicationInput {
        applicant: later,
        applicant_name: "Later".into(),
        applicant_identity: Some(IdentityVerification {
            method: VerificationMethod::DocumentsSeen,
            verified_by: None,
            at: t.now,
        }),
        patient_identity_checked: true,
        basis: LegalBasis::CourtAppointedDeputy,
        scopes: Service::ALL.into_iter().collect(),
        care_home: None,
    };
    let gp = t.gp.clone();
    t.apply(decide_proxy_application(
        &t.facts(&gp),
        &T::by(&gp),
        &input,
        &ApplicationVerdict::Grant {
            start: date(2026, 6, 8),
            end: None,
            review: None,
        },
        t.now,
        &t.ids,
    ));
    assert_eq!(
        denied(t.allow(t.as_proxy(later), Action::SendMessage)),
        AccessRefusal::ProxyNotStarted
    );
    // Suspended, then restored.
    let desk = t.desk.clone();
    t.apply(decide_proxy_suspension(
        &t.facts(&desk),
        &T::by(&desk),
        proxy,
        Some(SuspensionReason::SuspectedCompromise),
        t.now,
        &t.ids,
    ));
    assert_eq!(
        denied(t.allow(t.as_proxy(proxy), Action::OrderRepeats)),
        AccessRefusal::ProxySuspended
    );
    t.apply(decide_proxy_suspension(
        &t.facts(&desk),
        &T::by(&desk),
        proxy,
        None,
        t.now,
        &t.ids,
    ));
    assert!(t
        .allow(t.as_proxy(proxy), Action::OrderRepeats)
        .is_allowed());
    // The patient revokes it.
    let me = By {
        actor: t.me(),
        channel: Channel::Online,
    };
    let revoked = t.apply(decide_revoke_proxy(
        &t.plain(),
        &me,
        proxy,
        "I can manage myself now",
        t.now,
        &t.ids,
    ));
    // The patient's words are kept beside the audit event, not in it.
    let event = revoked.events.last().unwrap();
    assert_eq!(
        event.personal_text("reason"),
        Some("I can manage myself now")
    );
    assert!(event.details.values().all(|v| !v.contains("manage myself")));
    assert_eq!(
        denied(t.allow(t.as_proxy(proxy), Action::OrderRepeats)),
        AccessRefusal::ProxyRevoked
    );
    assert_eq!(
        t.refused(decide_revoke_proxy(
            &t.plain(),
            &me,
            proxy,
            "again",
            t.now,
            &t.ids
        )),
        AccessRefusal::NoProxyAccess
    );
    // Someone with no grant; a proxy for another patient.
    assert_eq!(
        denied(t.allow(t.as_proxy(ProxyId::new(&t.ids)), Action::OrderRepeats)),
        AccessRefusal::NoProxyAccess
    );
    let elsewhere = Actor::Proxy {
        proxy: later,
        for_patient: PatientId::new(&t.ids),
    };
    assert_eq!(
        denied(t.allow(elsewhere, Action::OrderRepeats)),
        AccessRefusal::ActorNotForPatient
    );
    // A proxy cannot do staff work.
    t.now = at(2026, 6, 9, 9, 0);
    assert_eq!(
        denied(t.allow(t.as_proxy(later), Action::IssueLinkageKey)),
        AccessRefusal::RoleNotPermitted
    );
}

#[test]
fn parental_access_is_reviewed_at_11_and_stops_on_the_16th_birthday() {
    let mut t = T::new();
    // Born 1 June 2010: 16 on 1 June 2026, from 00:00 UK time (23:00 UTC the day before).
    t.ready(date(2010, 6, 1));
    t.now = at(2026, 5, 1, 9, 0);
    let parent = t.grant(LegalBasis::ParentalResponsibility, None);
    let today = |t: &T| gp_core::local_date(t.now);
    let due = reviews_due(
        std::slice::from_ref(&t.record),
        &t.settings.settings,
        today(&t),
    );
    assert_eq!(
        due.iter().map(|(_, r)| *r).collect::<Vec<_>>(),
        vec![ReviewReason::ChildReachedReviewAge]
    );
    // Four weeks before the birthday it is listed, so the family can be told.
    let soon = reviews_due(
        std::slice::from_ref(&t.record),
        &t.settings.settings,
        date(2026, 5, 4),
    );
    assert_eq!(
        soon[0].1,
        ReviewReason::SixteenSoon {
            on: date(2026, 6, 1)
        }
    );
    let not_yet = reviews_due(
        std::slice::from_ref(&t.record),
        &t.settings.settings,
        date(2026, 5, 3),
    );
    assert_eq!(not_yet[0].1, ReviewReason::ChildReachedReviewAge);
    t.now = at(2026, 5, 31, 22, 59);
    assert!(t
        .allow(t.as_proxy(parent), Action::BookAppointment)
        .is_allowed());
    t.now = at(2026, 5, 31, 23, 0);
    assert_eq!(
        denied(t.allow(t.as_proxy(parent), Action::BookAppointment)),
        AccessRefusal::ParentalAccessEndedAt16
    );
    let due = reviews_due(
        std::slice::from_ref(&t.record),
        &t.settings.settings,
        today(&t),
    );
    assert_eq!(due[0].1, ReviewReason::ReachedSixteen);
    // Parental responsibility cannot be the new basis; the young person's consent can.
    let gp = t.gp.clone();
    assert_eq!(
        t.refused(decide_new_basis(
            &t.facts(&gp),
            &T::by(&gp),
            parent,
            &LegalBasis::ParentalResponsibility,
            t.now,
            &t.ids
        )),
        AccessRefusal::PatientIs16OrOver
    );
    t.apply(decide_new_basis(
        &t.facts(&gp),
        &T::by(&gp),
        parent,
        &LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        t.now,
        &t.ids,
    ));
    assert!(t
        .allow(t.as_proxy(parent), Action::BookAppointment)
        .is_allowed());
    assert_eq!(
        t.record.grant(parent).unwrap().basis_since,
        date(2026, 6, 1)
    );
}

#[test]
fn a_child_born_on_29_february_turns_16_on_29_february_and_is_reviewed_at_11_on_1_march() {
    let mut t = T::new();
    t.ready(date(2012, 2, 29));
    t.now = at(2023, 2, 1, 12, 0);
    let parent = t.grant(LegalBasis::ParentalResponsibility, None);
    let due = |t: &T, d| reviews_due(std::slice::from_ref(&t.record), &t.settings.settings, d);
    assert!(
        due(&t, date(2023, 2, 28)).is_empty(),
        "not yet 11 in a common year on 28 February"
    );
    assert_eq!(due(&t, date(2023, 3, 1)).len(), 1);
    // A child who has said no (judged competent) stops the parent's access.
    t.now = at(2023, 3, 2, 12, 0);
    let desk = t.desk.clone();
    t.apply(decide_child_view(
        &t.facts(&desk),
        &T::by(&desk),
        parent,
        false,
        t.now,
        &t.ids,
    ));
    assert_eq!(
        denied(t.allow(t.as_proxy(parent), Action::SendMessage)),
        AccessRefusal::ChildRefusedConsent
    );
    assert!(
        due(&t, date(2023, 3, 2)).is_empty(),
        "the child's view is recorded"
    );
    t.apply(decide_child_view(
        &t.facts(&desk),
        &T::by(&desk),
        parent,
        true,
        t.now,
        &t.ids,
    ));
    t.now = at(2028, 2, 28, 23, 59); // 28 February, GMT
    assert!(t
        .allow(t.as_proxy(parent), Action::SendMessage)
        .is_allowed());
    t.now = at(2028, 2, 29, 0, 0);
    assert_eq!(
        denied(t.allow(t.as_proxy(parent), Action::SendMessage)),
        AccessRefusal::ParentalAccessEndedAt16
    );
}

#[test]
fn parental_responsibility_cannot_be_granted_for_a_patient_of_16() {
    let mut t = T::new();
    t.ready(date(2010, 5, 31));
    let input = ProxyApplicationInput {
        applicant: ProxyId::new(&t.ids),
        applicant_name: "Parent".into(),
        applicant_identity: Some(IdentityVerification {
            method: VerificationMethod::DocumentsSeen,
            verified_by: None,
            at: t.now,
        }),
        patient_identity_checked: true,
        basis: LegalBasis::ParentalResponsibility,
        scopes: Service::ALL.into_iter().collect(),
        care_home: None,
    };
    let gp = t.gp.clone();
    let grant = ApplicationVerdict::Grant {
        start: date(2026, 6, 1),
        end: None,
        review: None,
    };
    assert_eq!(
        t.refused(decide_proxy_application(
            &t.facts(&gp),
            &T::by(&gp),
            &input,
            &grant,
            t.now,
            &t.ids
        )),
        AccessRefusal::PatientIs16OrOver
    );
}

#[test]
fn a_coercion_concern_suspends_the_affected_access_until_a_clinician_reviews_it() {
    let mut t = T::new();
    t.ready(date(1985, 4, 4));
    let partner = t.grant(
        LegalBasis::Consent {
            seen_alone: SeenAlone::No {
                why: "Partner insisted on staying".into(),
            },
        },
        None,
    );
    let sister = t.grant(
        LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        None,
    );
    let (untrained, hca, desk, gp) = (
        t.untrained.clone(),
        t.hca.clone(),
        t.desk.clone(),
        t.gp.clone(),
    );
    assert_eq!(
        t.refused(decide_coercion_concern(
            &t.facts(&untrained),
            &T::by(&untrained),
            Some(partner),
            "x",
            t.now,
            &t.ids
        )),
        AccessRefusal::CompetencyMissing {
            competency: Competency::RecogniseCoercion
        }
    );
    let c = t.apply(decide_coercion_concern(
        &t.facts(&hca),
        &T::by(&hca),
        Some(partner),
        "Patient seemed afraid to speak",
        t.now,
        &t.ids,
    ));
    let concern = t.record.concerns[0].id;
    assert!(c.events[0]
        .subjects
        .iter()
        .any(|s| s.id == partner.as_uuid()));
    assert_eq!(
        denied(t.allow(t.as_proxy(partner), Action::OrderRepeats)),
        AccessRefusal::CoercionReviewPending
    );
    assert!(t
        .allow(t.as_proxy(sister), Action::OrderRepeats)
        .is_allowed());
    assert!(t.allow(t.me(), Action::OrderRepeats).is_allowed());
    // No new proxy access while a concern is open.
    let input = ProxyApplicationInput {
        applicant: ProxyId::new(&t.ids),
        applicant_name: "Friend".into(),
        applicant_identity: Some(IdentityVerification {
            method: VerificationMethod::DocumentsSeen,
            verified_by: None,
            at: t.now,
        }),
        patient_identity_checked: true,
        basis: LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        scopes: Service::ALL.into_iter().collect(),
        care_home: None,
    };
    let grant = ApplicationVerdict::Grant {
        start: date(2026, 6, 1),
        end: None,
        review: None,
    };
    assert_eq!(
        t.refused(decide_proxy_application(
            &t.facts(&gp),
            &T::by(&gp),
            &input,
            &grant,
            t.now,
            &t.ids
        )),
        AccessRefusal::CoercionReviewPending
    );
    // Only a trained clinician reviews.
    for who in [&desk, &hca] {
        assert_eq!(
            t.refused(decide_coercion_review(
                &t.facts(who),
                &T::by(who),
                concern,
                ConcernOutcome::AccessRestored,
                "ok",
                t.now,
                &t.ids
            )),
            AccessRefusal::RoleNotPermitted
        );
    }
    t.apply(decide_coercion_review(
        &t.facts(&gp),
        &T::by(&gp),
        concern,
        ConcernOutcome::ProxyWithdrawn,
        "Seen alone; withdrawn",
        t.now,
        &t.ids,
    ));
    assert_eq!(
        denied(t.allow(t.as_proxy(partner), Action::OrderRepeats)),
        AccessRefusal::ProxyRevoked
    );
    assert!(t
        .allow(t.as_proxy(sister), Action::OrderRepeats)
        .is_allowed());
    assert_eq!(
        t.refused(decide_coercion_review(
            &t.facts(&gp),
            &T::by(&gp),
            concern,
            ConcernOutcome::AccessRestored,
            "again",
            t.now,
            &t.ids
        )),
        AccessRefusal::ConcernAlreadyReviewed
    );
    assert_eq!(
        t.refused(decide_coercion_review(
            &t.facts(&gp),
            &T::by(&gp),
            gp_core::ConcernId::new(&t.ids),
            ConcernOutcome::AccessRestored,
            "?",
            t.now,
            &t.ids
        )),
        AccessRefusal::ConcernNotFound
    );
    // A concern naming no one pauses the patient's own access and every proxy's.
    t.apply(decide_coercion_concern(
        &t.facts(&desk),
        &T::by(&desk),
        None,
        "Someone else answered the questions",
        t.now,
        &t.ids,
    ));
    let open = t.record.concerns[1].id;
    assert_eq!(
        denied(t.allow(t.me(), Action::BookAppointment)),
        AccessRefusal::CoercionReviewPending
    );
    assert_eq!(
        denied(t.allow(t.as_proxy(sister), Action::BookAppointment)),
        AccessRefusal::CoercionReviewPending
    );
    t.apply(decide_coercion_review(
        &t.facts(&gp),
        &T::by(&gp),
        open,
        ConcernOutcome::OnlineAccessWithdrawn,
        "Access withdrawn for now",
        t.now,
        &t.ids,
    ));
    assert_eq!(
        denied(t.allow(t.me(), Action::BookAppointment)),
        AccessRefusal::OnlineAccessSuspended
    );
    // Withdrawing the patient's access ends every proxy's too when the
    // concern named nobody: nobody keeps access the patient lost.
    assert_eq!(
        denied(t.allow(t.as_proxy(sister), Action::BookAppointment)),
        AccessRefusal::ProxyRevoked
    );
}

#[test]
fn withdrawing_access_after_a_concern_ends_the_named_proxys_access_and_pauses_the_rest() {
    let mut t = T::new();
    t.ready(date(1985, 4, 4));
    let (desk, gp) = (t.desk.clone(), t.gp.clone());
    let consent = || LegalBasis::Consent {
        seen_alone: SeenAlone::Yes,
    };
    let partner = t.grant(consent(), None);
    let carer = t.grant(consent(), None);
    t.apply(decide_coercion_concern(
        &t.facts(&desk),
        &T::by(&desk),
        Some(partner),
        "Partner answered every question",
        t.now,
        &t.ids,
    ));
    let concern = t.record.concerns[0].id;
    t.apply(decide_coercion_review(
        &t.facts(&gp),
        &T::by(&gp),
        concern,
        ConcernOutcome::OnlineAccessWithdrawn,
        "Seen alone; access withdrawn",
        t.now,
        &t.ids,
    ));
    // The suspected coercer's access is ended, not given back.
    assert_eq!(
        denied(t.allow(t.as_proxy(partner), Action::SendMessage)),
        AccessRefusal::ProxyRevoked
    );
    // The patient's own access is suspended, and so, while it is, is every
    // other proxy's.
    assert_eq!(
        denied(t.allow(t.me(), Action::SendMessage)),
        AccessRefusal::OnlineAccessSuspended
    );
    assert_eq!(
        denied(t.allow(t.as_proxy(carer), Action::SendMessage)),
        AccessRefusal::OnlineAccessSuspended
    );
    // Restored by staff: the carer acts again; the partner does not.
    t.apply(decide_suspension(
        &t.facts(&desk),
        &T::by(&desk),
        None,
        t.now,
        &t.ids,
    ));
    assert!(t.allow(t.as_proxy(carer), Action::SendMessage).is_allowed());
    assert_eq!(
        denied(t.allow(t.as_proxy(partner), Action::SendMessage)),
        AccessRefusal::ProxyRevoked
    );
}

#[test]
fn a_lost_device_suspends_the_patient_but_not_their_proxies() {
    let mut t = T::new();
    t.ready(date(1985, 4, 4));
    let desk = t.desk.clone();
    let carer = t.grant(
        LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        None,
    );
    for (reason, proxy_allowed) in [
        (SuspensionReason::LostDevice, true),
        (SuspensionReason::SuspectedCompromise, false),
        (SuspensionReason::CoercionConcern, false),
    ] {
        t.apply(decide_suspension(
            &t.facts(&desk),
            &T::by(&desk),
            Some(reason.clone()),
            t.now,
            &t.ids,
        ));
        assert_eq!(
            denied(t.allow(t.me(), Action::BookAppointment)),
            AccessRefusal::OnlineAccessSuspended
        );
        assert_eq!(
            t.allow(t.as_proxy(carer), Action::BookAppointment)
                .is_allowed(),
            proxy_allowed,
            "{reason:?}"
        );
        t.apply(decide_suspension(
            &t.facts(&desk),
            &T::by(&desk),
            None,
            t.now,
            &t.ids,
        ));
    }
}

#[test]
fn the_staff_matrix_needs_role_competency_and_leads() {
    let mut t = T::new();
    t.ready(date(1980, 1, 1));
    let (manager, gp, desk) = (t.manager.clone(), t.gp.clone(), t.desk.clone());
    assert_eq!(
        denied(t.staff_allow(&desk, Action::ApprovePrescription)),
        AccessRefusal::RoleNotPermitted
    );
    let gp_unqualified = StaffProfile {
        competencies: BTreeSet::new(),
        ..gp.clone()
    };
    assert_eq!(
        denied(t.staff_allow(&gp_unqualified, Action::ApprovePrescription)),
        AccessRefusal::CompetencyMissing {
            competency: Competency::Prescribing
        }
    );
    assert!(t.staff_allow(&gp, Action::ApprovePrescription).is_allowed());
    assert!(t.staff_allow(&desk, Action::RegisterPatient).is_allowed());
    assert!(t.staff_allow(&desk, Action::IssueLinkageKey).is_allowed());
    assert!(t.staff_allow(&desk, Action::BookAppointment).is_allowed());
    assert_eq!(
        denied(t.staff_allow(&desk, Action::DecideBestInterestProxy)),
        AccessRefusal::RoleNotPermitted
    );
    // Settings: the practice manager or a lead.
    assert_eq!(
        denied(t.staff_allow(&desk, Action::ChangeOnlineSettings)),
        AccessRefusal::LeadOrManagerOnly
    );
    assert!(t
        .staff_allow(&manager, Action::ChangeOnlineSettings)
        .is_allowed());
    assert!(
        t.staff_allow(&gp, Action::ChangeOnlineSettings)
            .is_allowed(),
        "the lead GP"
    );
    let lead_desk = StaffProfile {
        designations: [Designation::LeadStaff].into_iter().collect(),
        ..desk.clone()
    };
    assert!(t
        .staff_allow(&lead_desk, Action::ChangeOnlineSettings)
        .is_allowed());
    // Staff not in the records.
    let stranger = Actor::Staff {
        staff: StaffId::new(&t.ids),
        role: StaffRole::Gp,
    };
    assert_eq!(
        denied(authorize(
            &t.facts(&desk),
            &stranger,
            Action::BookAppointment,
            t.now
        )),
        AccessRefusal::UnknownStaff
    );
    // Settings changes are decided and audited.
    let s = AccessSettings {
        parental_review_age: 12,
        ..AccessSettings::default()
    };
    assert_eq!(
        t.refused(decide_settings(
            &t.facts(&desk),
            &T::by(&desk),
            &s,
            t.now,
            &t.ids
        )),
        AccessRefusal::LeadOrManagerOnly
    );
    let c = t.apply(decide_settings(
        &t.facts(&manager),
        &T::by(&manager),
        &s,
        t.now,
        &t.ids,
    ));
    assert_eq!(
        c.events[0]
            .details
            .get("parental_review_age")
            .map(String::as_str),
        Some("12")
    );
    let bad = AccessSettings {
        linkage_key_days: 0,
        ..AccessSettings::default()
    };
    assert_eq!(
        decide_settings(&t.facts(&manager), &T::by(&manager), &bad, t.now, &t.ids),
        Err(AccessError::Setting {
            name: "linkage_key_days",
            value: 0
        })
    );
    // Staff records: by the manager or a lead only.
    let newcomer = profile(&t.ids, StaffRole::Nurse, &[Competency::Prescribing], &[]);
    assert_eq!(
        t.refused(decide_put_staff(
            &t.facts(&desk),
            &T::by(&desk),
            None,
            &newcomer,
            &[],
            t.now,
            &t.ids
        )),
        AccessRefusal::LeadOrManagerOnly
    );
    t.apply(decide_put_staff(
        &t.facts(&manager),
        &T::by(&manager),
        None,
        &newcomer,
        &[],
        t.now,
        &t.ids,
    ));
    // Staff act by telephone or at reception, not online.
    let online = By {
        actor: Actor::Staff {
            staff: desk.staff,
            role: desk.role,
        },
        channel: Channel::Online,
    };
    assert_eq!(
        t.refused(decide_services(
            &t.facts(&desk),
            &online,
            &BTreeSet::new(),
            t.now,
            &t.ids
        )),
        AccessRefusal::ChannelNotAllowed
    );
}

#[test]
fn authorizations_are_audited_and_a_proxys_use_is_noted_once_a_day() {
    let mut t = T::new();
    t.ready(date(1940, 1, 1));
    let carer = t.grant(
        LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        None,
    );
    let by = By {
        actor: t.as_proxy(carer),
        channel: Channel::Online,
    };
    let c = t.apply(Ok(decide_authorization(
        &t.plain(),
        &by,
        Action::OrderRepeats,
        t.now,
        &t.ids,
    )));
    assert_eq!(
        c.events[0].details.get("action").map(String::as_str),
        Some("order_repeats")
    );
    assert_eq!(t.record.grant(carer).unwrap().last_used, Some(t.now));
    let later = t.now + Duration::hours(2);
    let Decision::Allowed(c) =
        decide_authorization(&t.plain(), &by, Action::OrderRepeats, later, &t.ids)
    else {
        panic!()
    };
    assert!(
        c.change.record.is_none() && c.preconditions.is_empty(),
        "the same day: only the event"
    );
    let Decision::Refused(r) =
        decide_authorization(&t.plain(), &by, Action::IssueLinkageKey, t.now, &t.ids)
    else {
        panic!()
    };
    assert_eq!(
        r.events[0].outcome,
        Outcome::Refused(r.reason.reason_code())
    );
    assert_eq!(
        r.events[0].details.get("action").map(String::as_str),
        Some("issue_linkage_key")
    );
    let phone = By {
        actor: t.as_proxy(carer),
        channel: Channel::Telephone,
    };
    assert_eq!(
        decide_authorization(&t.plain(), &phone, Action::OrderRepeats, t.now, &t.ids).refusal(),
        Some(&AccessRefusal::ChannelNotAllowed)
    );
}

#[test]
fn proxies_unused_for_five_years_are_listed_for_removal() {
    let mut t = T::new();
    t.ready(date(1940, 1, 1));
    t.now = at(2020, 6, 1, 9, 0);
    let idle = t.grant(
        LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        None,
    );
    let busy = t.grant(
        LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        None,
    );
    t.now = at(2023, 1, 1, 9, 0);
    let by = By {
        actor: t.as_proxy(busy),
        channel: Channel::Online,
    };
    t.apply(Ok(decide_authorization(
        &t.plain(),
        &by,
        Action::BookAppointment,
        t.now,
        &t.ids,
    )));
    let list = |t: &T, now| {
        unused_proxies(std::slice::from_ref(&t.record), &t.settings.settings, now)
            .into_iter()
            .map(|g| g.proxy)
            .collect::<Vec<_>>()
    };
    assert!(list(&t, at(2025, 5, 31, 12, 0)).is_empty());
    assert_eq!(list(&t, at(2025, 6, 1, 12, 0)), vec![idle]);
    assert_eq!(list(&t, at(2028, 1, 1, 12, 0)), vec![idle, busy]);
}

#[test]
fn care_home_staff_are_proxies_linked_to_their_care_home() {
    let mut t = T::new();
    t.ready(date(1935, 9, 9));
    let worker = ProxyId::new(&t.ids);
    let input = ProxyApplicationInput {
        applicant: worker,
        applicant_name: "Alex Shaw".into(),
        applicant_identity: Some(IdentityVerification {
            method: VerificationMethod::DocumentsSeen,
            verified_by: None,
            at: t.now,
        }),
        patient_identity_checked: true,
        basis: LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        scopes: [Service::RepeatPrescriptions].into_iter().collect(),
        care_home: Some(CareHome {
            name: "Elm Lodge".into(),
            ods: Some(OdsCode::parse("VM123").unwrap()),
        }),
    };
    let desk = t.desk.clone();
    t.apply(decide_proxy_application(
        &t.facts(&desk),
        &T::by(&desk),
        &input,
        &ApplicationVerdict::Grant {
            start: date(2026, 6, 1),
            end: None,
            review: Some(date(2027, 6, 1)),
        },
        t.now,
        &t.ids,
    ));
    assert_eq!(
        t.record
            .grant(worker)
            .unwrap()
            .care_home
            .as_ref()
            .map(|c| c.name.as_str()),
        Some("Elm Lodge")
    );
    assert!(t
        .allow(t.as_proxy(worker), Action::OrderRepeats)
        .is_allowed());
    assert_eq!(
        denied(t.allow(t.as_proxy(worker), Action::BookAppointment)),
        AccessRefusal::ProxyOutOfScope {
            service: Service::Appointments
        }
    );
}

#[test]
fn every_reason_code_is_distinct_and_readable() {
    use AccessRefusal::*;
    let s = Service::Messages;
    let all = [
        NotRegisteredForOnline,
        AlreadyRegistered,
        OnlineAccessSuspended,
        IdentityNotVerified,
        ServiceNotEnabled { service: s },
        ActorNotForPatient,
        NoProxyAccess,
        ProxyRevoked,
        ProxyNotStarted,
        ProxyExpired,
        ProxySuspended,
        ProxyOutOfScope { service: s },
        ParentalAccessEndedAt16,
        ChildRefusedConsent,
        CoercionReviewPending,
        RoleNotPermitted,
        CompetencyMissing {
            competency: Competency::Prescribing,
        },
        LeadOrManagerOnly,
        UnknownStaff,
        PatientNotListed,
        OwnProfile,
        GrantNeedsManagerOrLeadGp,
        LinkageKeyInvalid,
        LinkageKeyExpired,
        LinkageKeyUsed,
        LinkageLocked,
        LinkageRateLimited,
        RegistrationNotAsListed,
        LastPracticeManager,
        ApplicantIdentityNotVerified,
        PatientIdentityNotVerified,
        PatientIs16OrOver,
        ConcernNotFound,
        ConcernAlreadyReviewed,
        NotSuspended,
        ChannelNotAllowed,
    ];
    let codes: BTreeSet<_> = all.iter().map(|r| r.code()).collect();
    assert_eq!(codes.len(), all.len());
    for r in &all {
        assert!(gp_core::ReasonCode::parse(r.code()).is_ok());
        assert!(r.to_string().ends_with('.'), "{r}");
    }
}

#[test]
fn nobody_raises_themselves_and_only_the_manager_or_lead_gp_grants_clinical_power() {
    let t = T::new();
    let manager = t.manager.clone();
    let lead_gp = t.gp.clone();
    // A receptionist who is a lead for online services.
    let mut lead_desk = t.desk.clone();
    lead_desk.designations.insert(Designation::LeadStaff);
    // Raising their own profile to GP with prescribing: refused, whoever asks.
    let mut raised = lead_desk.clone();
    raised.role = StaffRole::Gp;
    raised.competencies.insert(Competency::Prescribing);
    for who in [&lead_desk, &manager] {
        let mut me = raised.clone();
        me.staff = who.staff;
        assert_eq!(
            t.refused(decide_put_staff(
                &t.facts(who),
                &T::by(who),
                Some(who),
                &me,
                &[],
                t.now,
                &t.ids
            )),
            AccessRefusal::OwnProfile,
            "{:?}",
            who.role
        );
    }
    // A lead for online services may record staff, but not grant a
    // clinical role, prescribing or a lead designation.
    let clerk = profile(&t.ids, StaffRole::Receptionist, &[], &[]);
    let grants = [
        StaffProfile {
            role: StaffRole::Gp,
            ..clerk.clone()
        },
        clerk.clone().with_competencies([Competency::Prescribing]),
        clerk.clone().with_designations([Designation::LeadStaff]),
    ];
    for grant in &grants {
        assert_eq!(
            t.refused(decide_put_staff(
                &t.facts(&lead_desk),
                &T::by(&lead_desk),
                Some(&clerk),
                grant,
                &[],
                t.now,
                &t.ids
            )),
            AccessRefusal::GrantNeedsManagerOrLeadGp,
            "{grant:?}"
        );
    }
    // ... but may record a clerk, or train one to verify identity.
    let trained = clerk
        .clone()
        .with_competencies([Competency::VerifyIdentity]);
    assert!(decide_put_staff(
        &t.facts(&lead_desk),
        &T::by(&lead_desk),
        Some(&clerk),
        &trained,
        &[],
        t.now,
        &t.ids
    )
    .unwrap()
    .refusal()
    .is_none());
    // The manager and the lead GP may grant each; the event holds before and after.
    for grantor in [&manager, &lead_gp] {
        for grant in &grants {
            let d = decide_put_staff(
                &t.facts(grantor),
                &T::by(grantor),
                Some(&clerk),
                grant,
                &[],
                t.now,
                &t.ids,
            )
            .unwrap();
            let Decision::Allowed(c) = d else {
                panic!("{:?} may grant {grant:?}", grantor.role)
            };
            let details = &c.events[0].details;
            assert!(details["before"].contains("Receptionist"), "{details:?}");
            assert!(details["after"].contains(&format!("{:?}", grant.role)));
            assert_eq!(
                c.preconditions,
                vec![Precondition::StaffAsStored {
                    staff: clerk.staff,
                    profile: Some(clerk.clone())
                }]
            );
        }
    }
}

#[test]
fn the_first_manager_commits_only_while_no_staff_are_recorded() {
    let t = T::new();
    let d = decide_first_manager(true, &t.manager, t.now, &t.ids).unwrap();
    let Decision::Allowed(c) = d else {
        panic!("the first manager is allowed")
    };
    assert_eq!(c.preconditions, vec![Precondition::NoStaffYet]);
}

#[test]
fn debug_output_carries_no_personal_data() {
    let mut t = T::new();
    t.ready(date(1987, 11, 23));
    let desk = t.desk.clone();
    let proxy = t.grant(
        LegalBasis::Consent {
            seen_alone: SeenAlone::Yes,
        },
        None,
    );
    t.apply(decide_coercion_concern(
        &t.facts(&desk),
        &T::by(&desk),
        Some(proxy),
        "Partner reads her texts aloud",
        t.now,
        &t.ids,
    ));
    let reg = Registration {
        nhs_number: NhsNumber::parse("9434765919").unwrap(),
        date_of_birth: date(1987, 11, 23),
        registration: RegistrationKind::Regular,
        practice: OdsCode::parse("A81001").unwrap(),
    };
    for shown in [format!("{:?}", t.record), format!("{reg:?}")] {
        for secret in ["9434765919", "1987-11-23", "Partner reads", "Sam Carer"] {
            assert!(!shown.contains(secret), "{secret:?} in {shown}");
        }
    }
    // What is shown still helps: ids and lengths.
    let shown = format!("{:?}", t.record);
    assert!(shown.contains(&t.record.patient.to_string()));
    assert!(shown.contains("<29 chars>"), "{shown}");
}

#[test]
fn the_practice_wide_linkage_limit_stops_attempts_at_the_setting() {
    let ids = SequentialIds::new(404);
    let at = at(2026, 6, 1, 9, 0);
    let account = gp_core::AccountId::from_uuid(gp_core::uuid::Uuid::from_u128(3));
    let settings = AccessSettings {
        practice_failed_redemptions_per_hour: 4,
        ..AccessSettings::default()
    };
    for failures in [0, 1, 3] {
        assert!(
            gp_access::decide_practice_linkage_limit(&settings, failures, account, at, &ids)
                .is_none()
        );
    }
    for failures in [4, 5, u64::MAX] {
        let d = gp_access::decide_practice_linkage_limit(&settings, failures, account, at, &ids)
            .expect("limited");
        let Decision::Refused(r) = d else {
            panic!("a refusal")
        };
        assert_eq!(r.reason, AccessRefusal::LinkageRateLimited);
        assert_eq!(r.events[0].patient, None);
        assert_eq!(r.events[0].action.as_str(), gp_access::LIMITED_ACTION);
    }
    for bad in [0, 1001] {
        let s = AccessSettings {
            practice_failed_redemptions_per_hour: bad,
            ..AccessSettings::default()
        };
        assert!(s.check().is_err());
    }
    assert_eq!(
        AccessSettings::default().practice_failed_redemptions_per_hour,
        30
    );
}
