//! Every booking policy setting: one case it allows and one it refuses with its reason code.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use gp_booking::*;
use gp_core::{
    local_to_utc, Actor, BookingId, Channel, Outcome, PatientId, ProxyId, Reason, SequentialIds,
    SessionId, SlotId, StaffId, StaffRole,
};
use proptest::prelude::*;

/// Monday 1 June 2026, 06:00 UTC (07:00 BST).
fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 6, 0, 0).unwrap()
}

fn local(y: i32, m: u32, d: u32, h: u32, min: u32) -> DateTime<Utc> {
    local_to_utc(
        NaiveDate::from_ymd_opt(y, m, d).unwrap(),
        NaiveTime::from_hms_opt(h, min, 0).unwrap(),
    )
    .unwrap()
}

struct Case {
    ids: SequentialIds,
    settings: BookingSettings,
    slot: Slot,
    taken: bool,
    patient: PatientFacts,
    holdings: Vec<Holding>,
    now: DateTime<Utc>,
}

impl Case {
    /// A routine GP slot at 10:00 on Thursday 4 June, a regular adult registered online.
    fn new() -> Self {
        let ids = SequentialIds::new(42);
        let start = local(2026, 6, 4, 10, 0);
        let slot = Slot {
            site: None,
            id: SlotId::new(&ids),
            session: SessionId::new(&ids),
            clinician: StaffId::new(&ids),
            role: StaffRole::Gp,
            period: Period::new(start, start + Duration::minutes(10)).unwrap(),
            slot_type: SlotType::RoutineGp,
            delivery: DeliveryMode::InPerson,
            availability: SlotAvailability::Open,
            reserved_for: None,
        };
        let patient = PatientFacts {
            patient: PatientId::new(&ids),
            date_of_birth: NaiveDate::from_ymd_opt(1990, 1, 1).unwrap(),
            registration: Registration::Regular,
            online: OnlineRegistration::Registered,
        };
        Self {
            ids,
            settings: BookingSettings::default(),
            slot,
            taken: false,
            patient,
            holdings: Vec::new(),
            now: now(),
        }
    }

    fn policy(&self) -> BookingPolicy {
        BookingPolicy::new(self.settings.clone()).unwrap()
    }

    fn me(&self) -> Actor {
        Actor::Patient {
            patient: self.patient.patient,
        }
    }

    fn staff(&self) -> Actor {
        Actor::Staff {
            staff: StaffId::from_uuid(uuid::Uuid::from_u128(7)),
            role: StaffRole::Receptionist,
        }
    }

    fn proxy(&self) -> Actor {
        Actor::Proxy {
            proxy: ProxyId::from_uuid(uuid::Uuid::from_u128(8)),
            for_patient: self.patient.patient,
        }
    }

    fn hold(&mut self, days_from_now: i64, channel: Channel) {
        self.holdings.push(Holding {
            booking: BookingId::new(&self.ids),
            slot: SlotId::new(&self.ids),
            start: self.now + Duration::days(days_from_now),
            channel,
        });
    }

    fn facts(&self) -> BookFacts {
        BookFacts {
            slot: Some(SlotState {
                slot: self.slot.clone(),
                live_booking: self
                    .taken
                    .then(|| BookingId::from_uuid(uuid::Uuid::from_u128(99))),
            }),
            patient: self.patient,
            holdings: self.holdings.clone(),
            holdings_since: self.now,
            organisation_holdings: None,
            adjacent: Vec::new(),
        }
    }

    fn book_by(&self, actor: Actor, channel: Channel, override_reason: Option<&str>) -> Decision {
        let request = BookRequest {
            actor,
            channel,
            patient: self.patient.patient,
            slot: self.slot.id,
            description: Some(BookingDescription::parse("Sore knee").unwrap()),
            comment: None,
            holding_limit_override: override_reason.map(|r| OverrideReason::parse(r).unwrap()),
            organisation_contact: None,
            adjacent: Vec::new(),
        };
        decide_book(&self.policy(), &self.facts(), &request, self.now, &self.ids)
    }

    fn online(&self) -> Decision {
        self.book_by(self.me(), Channel::Online, None)
    }

    fn by_phone(&self) -> Decision {
        self.book_by(self.staff(), Channel::Telephone, None)
    }
}

#[track_caller]
fn allowed(d: Decision) -> Committable {
    match d {
        Decision::Allowed(c) => {
            assert_eq!(c.events.len(), 1);
            assert_eq!(c.events[0].outcome, Outcome::Allowed);
            c
        }
        Decision::Refused(r) => panic!(
            "expected allowed, refused {} ({})",
            r.reason.code(),
            r.reason
        ),
    }
}

#[track_caller]
fn refused(d: Decision, code: &str) -> BookingRefusal {
    match d {
        Decision::Refused(r) => {
            assert_eq!(r.reason.code(), code, "{}", r.reason);
            assert_eq!(r.events.len(), 1, "one event records the refusal");
            assert_eq!(
                r.events[0].outcome,
                Outcome::Refused(r.reason.reason_code()),
                "the refusal is audited"
            );
            assert!(!r.reason.to_string().is_empty(), "every refusal says why");
            r.reason
        }
        Decision::Allowed(_) => panic!("expected {code}, was allowed"),
    }
}

#[test]
fn a_plain_routine_booking_is_allowed_with_its_preconditions_and_event() {
    let case = Case::new();
    let c = allowed(case.online());
    let BookingChange::Book(b) = &c.change else {
        panic!()
    };
    assert_eq!(b.slot, case.slot.id);
    assert_eq!(b.patient, case.patient.patient);
    assert_eq!(b.channel, Channel::Online);
    assert!(c
        .preconditions
        .contains(&Precondition::SlotFree(case.slot.id)));
    assert!(c
        .preconditions
        .iter()
        .any(|p| matches!(p, Precondition::HoldingsUnchanged { .. })));
    let e = &c.events[0];
    assert_eq!(e.action.as_str(), ACTION_BOOK);
    assert_eq!(e.patient, Some(case.patient.patient));
    assert_eq!(e.actor, case.me());
    assert_eq!(e.at, case.now);
}

#[test]
fn one_live_booking_per_slot_for_every_channel() {
    let mut case = Case::new();
    case.taken = true;
    refused(case.online(), "SlotTaken");
    refused(case.by_phone(), "SlotTaken");
    refused(
        case.book_by(case.staff(), Channel::Reception, Some("clinical need")),
        "SlotTaken",
    );
}

#[test]
fn setting_online_roles() {
    let mut case = Case::new();
    case.slot.role = StaffRole::HealthcareAssistant;
    case.slot.slot_type = SlotType::RoutineGp;
    refused(case.online(), "RoleNotOnline");
    allowed(case.by_phone());
    case.settings
        .online_roles
        .insert(StaffRole::HealthcareAssistant);
    allowed(case.online());
}

#[test]
fn setting_online_slot_types() {
    let mut case = Case::new();
    let bloods = SlotType::Practice(PracticeSlotType::parse("Blood test").unwrap());
    case.slot.slot_type = bloods.clone();
    refused(case.online(), "SlotTypeNotOnline");
    case.settings.online_slot_types.insert(bloods);
    allowed(case.online());
}

#[test]
fn setting_clinicians_not_online() {
    let mut case = Case::new();
    allowed(case.online());
    case.settings
        .clinicians_not_online
        .insert(case.slot.clinician);
    refused(case.online(), "ClinicianNotOnline");
    allowed(case.by_phone());
}

#[test]
fn setting_urgent_slots() {
    let mut case = Case::new();
    case.slot.slot_type = SlotType::Urgent;
    refused(case.online(), "UrgentSlotNotOnline");
    allowed(case.by_phone());
    case.settings.urgent_slots = UrgentSlots::AlsoOnline;
    allowed(case.online());
}

#[test]
fn reserved_slots_are_never_offered_online() {
    for reservation in [
        Reservation::TelephoneTriage,
        Reservation::DigitalConsultationFollowUp,
    ] {
        let mut case = Case::new();
        case.slot.reserved_for = Some(reservation);
        refused(case.online(), "ReservedForTriage");
        refused(
            case.book_by(case.proxy(), Channel::Online, None),
            "ReservedForTriage",
        );
        allowed(case.by_phone());
    }
}

#[test]
fn setting_online_patients() {
    let mut case = Case::new();
    case.patient.registration = Registration::Temporary;
    refused(case.online(), "NotRegularPatient");
    allowed(case.by_phone());
    case.settings.online_patients = OnlinePatients::RegularAndTemporary;
    allowed(case.online());
}

#[test]
fn setting_minimum_online_age() {
    let mut case = Case::new();
    // 16th birthday is 2 June 2026: on 1 June the patient is 15.
    case.patient.date_of_birth = NaiveDate::from_ymd_opt(2010, 6, 2).unwrap();
    assert_eq!(
        refused(case.online(), "BelowMinimumAge"),
        BookingRefusal::BelowMinimumAge { minimum: 16 }
    );
    // A parent acting as proxy may book for the child.
    allowed(case.book_by(case.proxy(), Channel::Online, None));
    allowed(case.by_phone());
    // On the birthday itself (local date) the patient may book.
    case.now = local(2026, 6, 2, 0, 5);
    allowed(case.online());
    case.now = now();
    case.settings.minimum_online_age = None;
    allowed(case.online());
}

#[test]
fn minimum_age_uses_the_uk_date_not_the_utc_date() {
    let mut case = Case::new();
    case.patient.date_of_birth = NaiveDate::from_ymd_opt(2010, 6, 2).unwrap();
    // 23:30 UTC on 1 June is 00:30 BST on 2 June: the birthday.
    case.now = Utc.with_ymd_and_hms(2026, 6, 1, 23, 30, 0).unwrap();
    allowed(case.online());
    case.now = Utc.with_ymd_and_hms(2026, 6, 1, 22, 30, 0).unwrap();
    refused(case.online(), "BelowMinimumAge");
}

#[test]
fn setting_ringfence_release() {
    let mut case = Case::new();
    case.slot.availability = SlotAvailability::Ringfenced;
    // Released 2 days ahead at 07:00: 07:00 BST on Tuesday 2 June.
    let release_at = local(2026, 6, 2, 7, 0);
    case.now = release_at - Duration::minutes(1);
    assert_eq!(
        refused(case.online(), "NotReleasedYet"),
        BookingRefusal::NotReleasedYet { release_at }
    );
    assert!(refused(case.online(), "NotReleasedYet")
        .to_string()
        .contains("07:00 on Tuesday 2 June 2026"));
    allowed(case.by_phone());
    case.now = release_at;
    allowed(case.online());
    case.settings.ringfence_release.days_ahead = 1;
    refused(case.online(), "NotReleasedYet");
}

#[test]
fn setting_telephone_release() {
    let mut case = Case::new();
    let telephone = ReleaseSchedule {
        days_ahead: 0,
        at: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
    };
    case.settings.telephone_release = Some(telephone);
    // Under the default equity rule, online release may not come first.
    case.settings.ringfence_release = telephone;
    case.now = local(2026, 6, 4, 7, 59);
    refused(case.by_phone(), "NotReleasedYet");
    case.now = local(2026, 6, 4, 8, 0);
    allowed(case.by_phone());
}

#[test]
fn setting_equity() {
    let mut case = Case::new();
    case.slot.availability = SlotAvailability::Ringfenced;
    // Telephone opens at 08:00 on the day; a ringfence release two days
    // before could never take effect under the equity rule, so the policy
    // is refused rather than silently moved later.
    let telephone = ReleaseSchedule {
        days_ahead: 0,
        at: NaiveTime::from_hms_opt(8, 0, 0).unwrap(),
    };
    case.settings.telephone_release = Some(telephone);
    let two_days = case.settings.ringfence_release;
    assert_eq!(
        BookingPolicy::new(case.settings.clone()).unwrap_err(),
        PolicyError::EquityBreached {
            online: two_days,
            telephone
        }
    );
    // One minute earlier on the same day is refused too; the same time is not.
    case.settings.ringfence_release = ReleaseSchedule {
        days_ahead: 0,
        at: NaiveTime::from_hms_opt(7, 59, 0).unwrap(),
    };
    assert!(BookingPolicy::new(case.settings.clone()).is_err());
    case.settings.ringfence_release = telephone;
    case.now = local(2026, 6, 3, 9, 0);
    let r = refused(case.online(), "NotReleasedYet");
    assert_eq!(
        r,
        BookingRefusal::NotReleasedYet {
            release_at: local(2026, 6, 4, 8, 0)
        }
    );
    // Open slots wait for the telephone release too.
    case.slot.availability = SlotAvailability::Open;
    refused(case.online(), "NotReleasedYet");
    case.settings.equity = ReleaseEquity::Independent;
    allowed(case.online());
    // Independent release may run ahead of the telephone.
    case.settings.ringfence_release = two_days;
    case.slot.availability = SlotAvailability::Ringfenced;
    allowed(case.online());
}

#[test]
fn setting_online_booking_horizon() {
    // The slot is on Thursday 4 June; today is Monday 1 June (3 days before).
    let mut case = Case::new();
    case.settings.online_booking_horizon_days = 3;
    allowed(case.online());
    case.settings.online_booking_horizon_days = 2;
    assert_eq!(
        refused(case.online(), "BeyondBookingHorizon"),
        BookingRefusal::BeyondBookingHorizon { horizon_days: 2 }
    );
    refused(
        case.book_by(case.proxy(), Channel::Online, None),
        "BeyondBookingHorizon",
    );
    // Staff are not bound by it.
    allowed(case.by_phone());
    // The horizon counts practice-local days: at 23:30 BST on Monday it is
    // still Monday, at 00:30 BST on Tuesday the slot is two days ahead.
    case.now = local(2026, 6, 1, 23, 30);
    refused(case.online(), "BeyondBookingHorizon");
    case.now = local(2026, 6, 2, 0, 30);
    allowed(case.online());
    // A search never shows a slot beyond the horizon, whatever its span.
    case.now = now();
    let request = SearchRequest {
        actor: case.me(),
        channel: Channel::Online,
        patient: Some(case.patient),
        query: SearchQuery::between(case.now + Duration::days(1), case.now + Duration::days(8)),
    };
    let state = SlotState {
        slot: case.slot.clone(),
        live_booking: None,
    };
    let found = search(
        &case.policy(),
        &request,
        std::slice::from_ref(&state),
        case.now,
        &case.ids,
    )
    .unwrap();
    assert!(found.is_empty(), "a slot beyond the horizon was offered");
    case.settings.online_booking_horizon_days = 3;
    let found = search(&case.policy(), &request, &[state], case.now, &case.ids).unwrap();
    assert_eq!(found.len(), 1);
    // Out of range: refused as a setting.
    for days in [0, 366] {
        case.settings.online_booking_horizon_days = days;
        assert_eq!(
            BookingPolicy::new(case.settings.clone()).unwrap_err(),
            PolicyError::BookingHorizon(days)
        );
    }
}

#[test]
fn policy_changes_are_staff_only_and_audited_with_the_new_settings() {
    let case = Case::new();
    let current = PolicyFacts::default();
    let policy = case.policy();
    let d = decide_policy(
        &current,
        case.me(),
        Channel::Online,
        &policy,
        case.now,
        &case.ids,
    );
    refused(d, "StaffOnly");
    let d = decide_policy(
        &current,
        case.staff(),
        Channel::Online,
        &policy,
        case.now,
        &case.ids,
    );
    refused(d, "ChannelNotAllowed");
    let c = allowed(decide_policy(
        &current,
        case.staff(),
        Channel::Reception,
        &policy,
        case.now,
        &case.ids,
    ));
    assert_eq!(c.change, BookingChange::Policy(policy.clone()));
    assert_eq!(
        c.preconditions,
        vec![Precondition::PolicyUnchanged { version: 0 }]
    );
    assert!(c.events[0].details.contains_key("settings"));
}

#[test]
fn setting_holding_limit_all_future() {
    let mut case = Case::new();
    case.hold(1, Channel::Online);
    allowed(case.online());
    case.hold(10, Channel::Telephone);
    assert_eq!(
        refused(case.online(), "HoldingLimitReached"),
        BookingRefusal::HoldingLimitReached { limit: 2 }
    );
    case.settings.holding_limit = Some(HoldingLimit {
        max: 3,
        period: HoldingPeriod::AllFuture,
    });
    allowed(case.online());
    case.settings.holding_limit = None;
    case.hold(11, Channel::Online);
    case.hold(12, Channel::Online);
    allowed(case.online());
}

#[test]
fn setting_holding_limit_rolling_days() {
    let mut case = Case::new();
    case.settings.holding_limit = Some(HoldingLimit {
        max: 2,
        period: HoldingPeriod::RollingDays(7),
    });
    // The slot is 3 days ahead; holdings 12 and 13 days ahead are in another week.
    case.hold(12, Channel::Online);
    case.hold(13, Channel::Online);
    allowed(case.online());
    // One within 7 days of the slot still leaves two in any week...
    case.hold(1, Channel::Online);
    allowed(case.online());
    // ...a second makes three in one week.
    case.hold(2, Channel::Online);
    refused(case.online(), "HoldingLimitReached");
}

#[test]
fn staff_may_override_the_holding_limit_with_a_recorded_reason() {
    let mut case = Case::new();
    case.hold(1, Channel::Online);
    case.hold(2, Channel::Online);
    refused(case.by_phone(), "HoldingLimitReached");
    let c = allowed(case.book_by(
        case.staff(),
        Channel::Telephone,
        Some("Carer books for both parents"),
    ));
    let BookingChange::Book(b) = &c.change else {
        panic!()
    };
    assert_eq!(
        b.holding_limit_override.as_ref().map(|r| r.as_str()),
        Some("Carer books for both parents")
    );
    assert_eq!(
        c.events[0]
            .details
            .get("holding_limit_override")
            .map(String::as_str),
        Some("Carer books for both parents")
    );
    refused(
        case.book_by(case.me(), Channel::Online, Some("I want it")),
        "OverrideNotPermitted",
    );
}

#[test]
fn an_override_within_the_limit_is_not_recorded_as_used() {
    let case = Case::new();
    let c = allowed(case.book_by(case.staff(), Channel::Telephone, Some("just in case")));
    let BookingChange::Book(b) = &c.change else {
        panic!()
    };
    assert_eq!(b.holding_limit_override, None);
    assert!(!c.events[0].details.contains_key("holding_limit_override"));
}

#[test]
fn setting_before_registration() {
    let mut case = Case::new();
    case.patient.online = OnlineRegistration::NotRegistered;
    refused(case.online(), "NotRegisteredForOnline");
    allowed(case.by_phone());
    case.settings.before_registration = BeforeRegistration::AllowOne;
    let c = allowed(case.online());
    assert_eq!(
        c.events[0]
            .details
            .get("before_online_registration")
            .map(String::as_str),
        Some("true")
    );
    case.hold(5, Channel::Online);
    refused(case.online(), "PreRegistrationBookingUsed");
    // A booking made by telephone does not use up the one online booking.
    case.holdings.clear();
    case.hold(5, Channel::Telephone);
    allowed(case.online());
    // A cancelled or past online booking (not among the live holdings)
    // used it too, and so does one whatever the holdings.
    case.patient.online = OnlineRegistration::NotRegisteredBookedOnline;
    refused(case.online(), "PreRegistrationBookingUsed");
    case.settings.before_registration = BeforeRegistration::Refuse;
    refused(case.online(), "NotRegisteredForOnline");
}

fn booked_case() -> (Case, Booking) {
    let case = Case::new();
    let c = allowed(case.online());
    let BookingChange::Book(b) = c.change else {
        panic!()
    };
    (case, b)
}

fn cancel(case: &Case, booking: &Booking, actor: Actor, channel: Channel) -> Decision {
    let facts = CancelFacts {
        booking: Some(booking.clone()),
        slot: Some(case.slot.clone()),
        joined: Vec::new(),
    };
    let request = CancelRequest {
        actor,
        channel,
        booking: booking.id,
        reason: CancellationReason::parse("Feeling better").unwrap(),
        version: None,
    };
    decide_cancel(&case.policy(), &facts, &request, case.now, &case.ids)
}

#[test]
fn setting_online_cancellation_cutoff() {
    let (mut case, b) = booked_case();
    case.now = case.slot.start() - Duration::minutes(61);
    let c = allowed(cancel(&case, &b, case.me(), Channel::Online));
    assert_eq!(c.preconditions, vec![Precondition::BookingLive(b.id)]);
    // The patient's words travel beside the event, not in its chained details.
    assert_eq!(c.events[0].personal_text("reason"), Some("Feeling better"));
    assert!(c.events[0]
        .details
        .values()
        .all(|v| !v.contains("Feeling better")));
    assert_eq!(
        c.events[0].details.get("reason_sha256"),
        Some(&c.events[0].texts[0].digest())
    );
    case.now = case.slot.start() - Duration::minutes(30);
    assert_eq!(
        refused(
            cancel(&case, &b, case.me(), Channel::Online),
            "CancellationCutoffPassed"
        ),
        BookingRefusal::CancellationCutoffPassed { cutoff_minutes: 60 }
    );
    allowed(cancel(&case, &b, case.staff(), Channel::Telephone));
    case.settings.online_cancellation_cutoff_minutes = 15;
    allowed(cancel(&case, &b, case.me(), Channel::Online));
    case.now = case.slot.start();
    refused(
        cancel(&case, &b, case.staff(), Channel::Reception),
        "SlotInPast",
    );
}

#[test]
fn cancellation_refusals() {
    let (case, mut b) = booked_case();
    let stranger = Actor::Patient {
        patient: PatientId::from_uuid(uuid::Uuid::from_u128(5)),
    };
    refused(
        cancel(&case, &b, stranger, Channel::Online),
        "NotYourBooking",
    );
    refused(
        cancel(&case, &b, case.me(), Channel::Telephone),
        "ChannelNotAllowed",
    );
    allowed(cancel(&case, &b, case.proxy(), Channel::Online));
    allowed(cancel(&case, &b, Actor::System, Channel::Internal));
    b.cancellation = Some(Cancellation {
        by: case.me(),
        channel: Channel::Online,
        at: case.now,
        reason: CancellationReason::parse("x").unwrap(),
    });
    refused(
        cancel(&case, &b, case.me(), Channel::Online),
        "AlreadyCancelled",
    );
    let facts = CancelFacts {
        booking: None,
        slot: None,
        joined: Vec::new(),
    };
    let request = CancelRequest {
        actor: case.me(),
        channel: Channel::Online,
        booking: b.id,
        reason: CancellationReason::parse("x").unwrap(),
        version: None,
    };
    refused(
        decide_cancel(&case.policy(), &facts, &request, case.now, &case.ids),
        "BookingNotFound",
    );
}

#[test]
fn actors_and_channels() {
    let case = Case::new();
    refused(
        case.book_by(case.me(), Channel::Telephone, None),
        "ChannelNotAllowed",
    );
    refused(
        case.book_by(case.staff(), Channel::Online, None),
        "ChannelNotAllowed",
    );
    refused(
        case.book_by(Actor::System, Channel::Internal, None),
        "ChannelNotAllowed",
    );
    let other = Actor::Proxy {
        proxy: ProxyId::from_uuid(uuid::Uuid::from_u128(3)),
        for_patient: PatientId::from_uuid(uuid::Uuid::from_u128(4)),
    };
    refused(
        case.book_by(other, Channel::Online, None),
        "ActorNotForPatient",
    );
    allowed(case.book_by(case.staff(), Channel::Reception, None));
}

#[test]
fn slots_that_do_not_exist_or_have_started() {
    let mut case = Case::new();
    let mut facts = case.facts();
    facts.slot = None;
    let request = BookRequest {
        actor: case.me(),
        channel: Channel::Online,
        patient: case.patient.patient,
        slot: case.slot.id,
        description: None,
        comment: None,
        holding_limit_override: None,
        organisation_contact: None,
        adjacent: Vec::new(),
    };
    refused(
        decide_book(&case.policy(), &facts, &request, case.now, &case.ids),
        "SlotNotFound",
    );
    case.now = case.slot.start();
    refused(case.online(), "SlotInPast");
    refused(case.by_phone(), "SlotInPast");
}

fn reschedule(case: &Case, old: &Booking, old_slot: &Slot, actor: Actor) -> Decision {
    let facts = RescheduleFacts {
        current: CancelFacts {
            booking: Some(old.clone()),
            slot: Some(old_slot.clone()),
            joined: Vec::new(),
        },
        new: case.facts(),
    };
    let request = RescheduleRequest {
        actor,
        channel: if actor.is_staff() {
            Channel::Telephone
        } else {
            Channel::Online
        },
        booking: old.id,
        new_slot: case.slot.id,
        reason: CancellationReason::parse("Clash with work").unwrap(),
        holding_limit_override: None,
    };
    decide_reschedule(&case.policy(), &facts, &request, case.now, &case.ids)
}

#[test]
fn reschedule_at_the_holding_limit_does_not_count_the_booking_it_replaces() {
    let (mut case, old) = booked_case();
    let old_slot = case.slot.clone();
    case.holdings.push(Holding {
        booking: old.id,
        slot: old.slot,
        start: old_slot.start(),
        channel: Channel::Online,
    });
    case.hold(8, Channel::Online);
    // At the limit of 2: a new booking is refused, but moving one is allowed.
    case.slot.id = SlotId::new(&case.ids);
    case.slot.period = Period::new(
        old_slot.start() + Duration::hours(1),
        old_slot.start() + Duration::minutes(70),
    )
    .unwrap();
    refused(case.online(), "HoldingLimitReached");
    let c = allowed(reschedule(&case, &old, &old_slot, case.me()));
    let BookingChange::Reschedule { cancel, book, .. } = &c.change else {
        panic!()
    };
    assert_eq!(*cancel, old.id);
    assert_eq!(book.slot, case.slot.id);
    assert_eq!(book.description, old.description);
    assert_eq!(c.events[0].action.as_str(), ACTION_RESCHEDULE);
    assert!(c.preconditions.contains(&Precondition::BookingLive(old.id)));
    assert!(c
        .preconditions
        .contains(&Precondition::SlotFree(case.slot.id)));
}

#[test]
fn reschedule_refusals() {
    let (mut case, old) = booked_case();
    let old_slot = case.slot.clone();
    refused(reschedule(&case, &old, &old_slot, case.me()), "SameSlot");
    case.slot.id = SlotId::new(&case.ids);
    case.slot.slot_type = SlotType::Urgent;
    refused(
        reschedule(&case, &old, &old_slot, case.me()),
        "UrgentSlotNotOnline",
    );
    allowed(reschedule(&case, &old, &old_slot, case.staff()));
    case.taken = true;
    refused(
        reschedule(&case, &old, &old_slot, case.staff()),
        "SlotTaken",
    );
    case.taken = false;
    case.now = old_slot.start() - Duration::minutes(5);
    refused(
        reschedule(&case, &old, &old_slot, case.me()),
        "CancellationCutoffPassed",
    );
}

fn search_as(
    case: &Case,
    actor: Actor,
    channel: Channel,
    slots: &[SlotState],
    days: i64,
) -> Result<Vec<Slot>, Box<Refusal>> {
    let request = SearchRequest {
        actor,
        channel,
        patient: Some(case.patient),
        query: SearchQuery::between(case.now, case.now + Duration::days(days)),
    };
    search(&case.policy(), &request, slots, case.now, &case.ids)
}

#[test]
fn setting_online_search_window_days() {
    let mut case = Case::new();
    let slots = vec![SlotState {
        slot: case.slot.clone(),
        live_booking: None,
    }];
    assert_eq!(
        search_as(&case, case.me(), Channel::Online, &slots, 14)
            .unwrap()
            .len(),
        1
    );
    let r = search_as(&case, case.me(), Channel::Online, &slots, 15).unwrap_err();
    assert_eq!(
        r.reason,
        BookingRefusal::SearchWindowTooWide { max_days: 14 }
    );
    assert_eq!(r.events[0].action.as_str(), ACTION_SEARCH);
    assert!(
        search_as(&case, case.staff(), Channel::Reception, &slots, 42).is_ok(),
        "staff search any span"
    );
    case.settings.online_search_window_days = 7;
    assert!(search_as(&case, case.me(), Channel::Online, &slots, 8).is_err());
    assert!(search_as(&case, case.me(), Channel::Online, &slots, 7).is_ok());
}

#[test]
fn online_search_shows_only_what_may_be_booked_online_and_staff_see_every_free_slot() {
    let case = Case::new();
    let mut slots = Vec::new();
    let mut add = |f: &dyn Fn(&mut Slot), taken: bool| {
        let mut s = case.slot.clone();
        s.id = SlotId::new(&case.ids);
        f(&mut s);
        slots.push(SlotState {
            slot: s,
            live_booking: taken.then(|| BookingId::from_uuid(uuid::Uuid::from_u128(1))),
        });
    };
    add(&|_| {}, false);
    add(&|_| {}, true);
    add(&|s| s.slot_type = SlotType::Urgent, false);
    add(
        &|s| s.reserved_for = Some(Reservation::TelephoneTriage),
        false,
    );
    add(
        &|s| {
            s.availability = SlotAvailability::Ringfenced;
            s.period = Period::new(
                s.start() + Duration::days(5),
                s.start() + Duration::days(5) + Duration::minutes(10),
            )
            .unwrap();
        },
        false,
    );
    add(&|s| s.role = StaffRole::HealthcareAssistant, false);
    let online = search_as(&case, case.me(), Channel::Online, &slots, 14).unwrap();
    assert_eq!(
        online.iter().map(|s| s.id).collect::<Vec<_>>(),
        vec![slots[0].slot.id]
    );
    let staff = search_as(&case, case.staff(), Channel::Telephone, &slots, 14).unwrap();
    assert_eq!(staff.len(), 5, "every free slot except the taken one");
    assert!(staff.iter().all(|s| s.id != slots[1].slot.id));
}

#[test]
fn online_search_refuses_patients_the_policy_refuses() {
    let mut case = Case::new();
    case.patient.registration = Registration::Temporary;
    let r = search_as(&case, case.me(), Channel::Online, &[], 7).unwrap_err();
    assert_eq!(r.reason, BookingRefusal::NotRegularPatient);
    let request = SearchRequest {
        actor: case.me(),
        channel: Channel::Online,
        patient: None,
        query: SearchQuery::between(case.now, case.now + Duration::days(1)),
    };
    assert_eq!(
        search(&case.policy(), &request, &[], case.now, &case.ids)
            .unwrap_err()
            .reason,
        BookingRefusal::ActorNotForPatient
    );
    let backwards = SearchRequest {
        query: SearchQuery::between(case.now, case.now - Duration::days(1)),
        patient: Some(case.patient),
        ..request
    };
    assert_eq!(
        search(&case.policy(), &backwards, &[], case.now, &case.ids)
            .unwrap_err()
            .reason,
        BookingRefusal::SearchRangeEmpty
    );
}

#[test]
fn every_reason_code_is_a_stable_camel_case_word() {
    let reasons = [
        BookingRefusal::SlotNotFound,
        BookingRefusal::SlotTaken,
        BookingRefusal::NotReleasedYet { release_at: now() },
        BookingRefusal::HoldingLimitReached { limit: 2 },
        BookingRefusal::CancellationCutoffPassed { cutoff_minutes: 60 },
    ];
    for r in reasons {
        assert!(gp_core::ReasonCode::parse(r.code()).is_ok(), "{}", r.code());
    }
}

proptest! {
    #[test]
    fn the_same_facts_and_time_always_give_the_same_decision(
        offset_minutes in -600i64..10_000,
        holdings in 0usize..4,
        urgent in any::<bool>(),
        ringfenced in any::<bool>(),
        staff in any::<bool>(),
        age in 0i32..90,
    ) {
        let decide = || {
            let mut case = Case::new();
            case.now = now() + Duration::minutes(offset_minutes);
            for i in 0..holdings {
                case.hold(i as i64 + 1, Channel::Online);
            }
            if urgent { case.slot.slot_type = SlotType::Urgent; }
            if ringfenced { case.slot.availability = SlotAvailability::Ringfenced; }
            case.patient.date_of_birth = NaiveDate::from_ymd_opt(2026 - age, 6, 1).unwrap();
            if staff { case.by_phone() } else { case.online() }
        };
        prop_assert_eq!(decide(), decide());
    }
}

#[test]
fn booking_text_shows_its_length_not_its_words_in_debug() {
    let reason = CancellationReason::parse("My son has chickenpox").unwrap();
    let description = gp_booking::BookingDescription::parse("Rash on both arms").unwrap();
    let shown = format!("{reason:?} {description:?}");
    assert!(
        !shown.contains("chickenpox") && !shown.contains("Rash"),
        "{shown}"
    );
    assert!(shown.contains("CancellationReason"), "{shown}");
}

#[test]
fn amendments_are_for_staff_and_organisations_and_never_for_patients() {
    let (case, b) = booked_case();
    let facts = CancelFacts {
        booking: Some(b.clone()),
        slot: Some(case.slot.clone()),
        joined: Vec::new(),
    };
    let amend = |actor: Actor, channel: Channel| AmendRequest {
        actor,
        channel,
        booking: b.id,
        description: Some(BookingDescription::parse("New words").unwrap()),
        comment: None,
        version: None,
    };
    let decide = |r: &AmendRequest| decide_amend(&case.policy(), &facts, r, case.now, &case.ids);
    // A patient (or proxy) online: refused as such, audited.
    refused(decide(&amend(case.me(), Channel::Online)), "AmendNotOnline");
    // Staff: the texts change, nothing else, and the version moves on.
    let c = allowed(decide(&amend(case.staff(), Channel::Reception)));
    let BookingChange::Amend(after) = c.change else {
        panic!("an amendment")
    };
    assert_eq!(after.version(), b.version() + 1);
    assert_eq!(
        (after.slot, after.patient, after.booked_by),
        (b.slot, b.patient, b.booked_by)
    );
    // Against another version: refused.
    let mut stale = amend(case.staff(), Channel::Reception);
    stale.version = Some(7);
    refused(decide(&stale), "BookingChanged");
}
