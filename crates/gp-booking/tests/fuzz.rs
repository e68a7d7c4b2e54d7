//! No input makes a booking decision panic: arbitrary settings (every one
//! `BookingPolicy::new` accepts), instants and dates of birth across the
//! years 1 to 9999, any actor, channel and identifiers.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, TimeZone, Utc};
use gp_booking::*;
use gp_core::{
    Actor, BookingId, Channel, PatientId, ProxyId, SequentialIds, SessionId, SlotId, StaffId,
    StaffRole,
};
use proptest::prelude::*;

fn instant() -> impl Strategy<Value = DateTime<Utc>> {
    // Years 1 to 9999, to the second.
    let min = Utc.with_ymd_and_hms(1, 1, 1, 0, 0, 0).unwrap().timestamp();
    let max = Utc
        .with_ymd_and_hms(9999, 12, 31, 23, 59, 59)
        .unwrap()
        .timestamp();
    prop_oneof![
        (min..=max).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
        // Near now, where the practice lives, too.
        (1_700_000_000i64..1_900_000_000).prop_map(|s| DateTime::from_timestamp(s, 0).unwrap()),
    ]
}

fn date() -> impl Strategy<Value = NaiveDate> {
    instant().prop_map(|t| t.date_naive())
}

fn settings() -> impl Strategy<Value = BookingSettings> {
    let schedule = (0u32..=370, 0u32..24).prop_map(|(days_ahead, h)| ReleaseSchedule {
        days_ahead,
        at: NaiveTime::from_hms_opt(h, 0, 0).unwrap(),
    });
    // Mostly in range, sometimes at or past the edges (those policies are
    // refused by `BookingPolicy::new`, and the case ends there).
    let period = prop_oneof![
        Just(HoldingPeriod::AllFuture),
        (0u32..=370).prop_map(HoldingPeriod::RollingDays),
        Just(HoldingPeriod::RollingDays(u32::MAX)),
    ];
    (
        (schedule.clone(), proptest::option::of(schedule)),
        proptest::option::of((0u32..=52, period)),
        proptest::option::of(0u32..=125),
        (0u32..=10_100, 0u32..=15, 0u32..=370),
        (any::<bool>(), any::<bool>(), any::<bool>(), any::<bool>()),
    )
        .prop_map(
            |(
                (ringfence, telephone),
                limit,
                minimum_age,
                (cutoff, window, horizon),
                (urgent, temporary, equity, allow_one),
            )| BookingSettings {
                ringfence_release: ringfence,
                telephone_release: telephone,
                holding_limit: limit.map(|(max, period)| HoldingLimit { max, period }),
                minimum_online_age: minimum_age,
                online_cancellation_cutoff_minutes: cutoff,
                online_search_window_days: window,
                online_booking_horizon_days: horizon,
                urgent_slots: if urgent {
                    UrgentSlots::AlsoOnline
                } else {
                    UrgentSlots::StaffOnly
                },
                online_patients: if temporary {
                    OnlinePatients::RegularAndTemporary
                } else {
                    OnlinePatients::RegularOnly
                },
                equity: if equity {
                    ReleaseEquity::Independent
                } else {
                    ReleaseEquity::OnlineNotBeforeTelephone
                },
                before_registration: if allow_one {
                    BeforeRegistration::AllowOne
                } else {
                    BeforeRegistration::Refuse
                },
                ..BookingSettings::default()
            },
        )
}

fn actor(patient: PatientId) -> impl Strategy<Value = (Actor, Channel)> {
    let channel = prop_oneof![
        Just(Channel::Online),
        Just(Channel::Telephone),
        Just(Channel::Reception),
        Just(Channel::Internal),
    ];
    let who = prop_oneof![
        Just(Actor::Patient { patient }),
        Just(Actor::Proxy {
            proxy: ProxyId::from_uuid(gp_core::uuid::Uuid::from_u128(7)),
            for_patient: patient,
        }),
        Just(Actor::Patient {
            patient: PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(8)),
        }),
        Just(Actor::Staff {
            staff: StaffId::from_uuid(gp_core::uuid::Uuid::from_u128(9)),
            role: StaffRole::Receptionist,
        }),
        Just(Actor::System),
    ];
    (who, channel)
}

#[derive(Debug)]
struct World {
    policy: BookingPolicy,
    slot: Slot,
    patient: PatientFacts,
    holdings: Vec<Holding>,
    now: DateTime<Utc>,
}

fn world() -> impl Strategy<Value = Option<World>> {
    (
        settings(),
        instant(),
        1i64..=600,
        date(),
        instant(),
        proptest::collection::vec(instant(), 0..4),
        any::<bool>(),
    )
        .prop_map(|(settings, start, minutes, dob, now, held, ringfenced)| {
            let policy = BookingPolicy::new(settings).ok()?;
            let ids = SequentialIds::new(5);
            let end = start.checked_add_signed(Duration::minutes(minutes))?;
            let slot = Slot {
                site: None,
                id: SlotId::new(&ids),
                session: SessionId::new(&ids),
                clinician: StaffId::new(&ids),
                role: StaffRole::Gp,
                period: Period::new(start, end).ok()?,
                slot_type: SlotType::RoutineGp,
                delivery: DeliveryMode::InPerson,
                availability: if ringfenced {
                    SlotAvailability::Ringfenced
                } else {
                    SlotAvailability::Open
                },
                reserved_for: None,
            };
            let patient = PatientFacts {
                patient: PatientId::new(&ids),
                date_of_birth: dob,
                registration: Registration::Regular,
                online: OnlineRegistration::NotRegistered,
            };
            let holdings = held
                .into_iter()
                .map(|start| Holding {
                    booking: BookingId::new(&ids),
                    slot: SlotId::new(&ids),
                    start,
                    channel: Channel::Online,
                })
                .collect();
            Some(World {
                policy,
                slot,
                patient,
                holdings,
                now,
            })
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn no_booking_decision_panics(w in world(), who in actor(PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(1))), window in -400i64..400) {
        let Some(mut w) = w else { return Ok(()) };
        let ids = SequentialIds::new(77);
        w.patient.patient = PatientId::from_uuid(gp_core::uuid::Uuid::from_u128(1));
        let (actor, channel) = who;
        let facts = BookFacts {
            slot: Some(SlotState { slot: w.slot.clone(), live_booking: None }),
            patient: w.patient,
            holdings: w.holdings.clone(),
            holdings_since: w.now,
            organisation_holdings: None,
            adjacent: Vec::new(),
        };
        let request = BookRequest {
            actor,
            channel,
            patient: w.patient.patient,
            slot: w.slot.id,
            description: None,
            comment: None,
            holding_limit_override: Some(OverrideReason::parse("Clinical need").unwrap()),
            organisation_contact: None,
            adjacent: Vec::new(),
        };
        let booked = decide_book(&w.policy, &facts, &request, w.now, &ids);
        let from = w.now;
        let to = w.now.checked_add_signed(Duration::days(window)).unwrap_or(w.now);
        let search_request = SearchRequest {
            actor,
            channel,
            patient: Some(w.patient),
            query: SearchQuery::between(from, to),
        };
        let state = [SlotState { slot: w.slot.clone(), live_booking: None }];
        let _ = search(&w.policy, &search_request, &state, w.now, &ids);
        let _ = w.policy.online_release_at(&w.slot);
        let _ = w.policy.telephone_release_at(&w.slot);
        if let gp_core::Decision::Allowed(c) = booked {
            let BookingChange::Book(booking) = c.change else { unreachable!() };
            let cancel = CancelFacts { booking: Some(booking.clone()), slot: Some(w.slot.clone()), joined: Vec::new() };
            let request = CancelRequest {
                actor,
                channel,
                booking: booking.id,
                reason: CancellationReason::parse("No longer needed").unwrap(),
                version: None,
            };
            let _ = decide_cancel(&w.policy, &cancel, &request, w.now, &ids);
            let reschedule = RescheduleRequest {
                actor,
                channel,
                booking: booking.id,
                new_slot: SlotId::new(&ids),
                reason: CancellationReason::parse("Clash").unwrap(),
                holding_limit_override: None,
            };
            let facts = RescheduleFacts { current: cancel, new: facts };
            let _ = decide_reschedule(&w.policy, &facts, &reschedule, w.now, &ids);
        }
        let staff = Actor::Staff { staff: StaffId::new(&ids), role: StaffRole::PracticeManager };
        let _ = decide_policy(&PolicyFacts::default(), staff, Channel::Reception, &w.policy, w.now, &ids);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2048, ..ProptestConfig::default() })]

    /// Any settings at all: a policy or a typed error, never a panic.
    #[test]
    fn any_settings_give_a_policy_or_an_error(
        max in any::<u32>(), days in any::<u32>(), cutoff in any::<u32>(),
        window in any::<u32>(), horizon in any::<u32>(), ahead in any::<u32>(), age in any::<u32>(),
    ) {
        let settings = BookingSettings {
            holding_limit: Some(HoldingLimit { max, period: HoldingPeriod::RollingDays(days) }),
            online_cancellation_cutoff_minutes: cutoff,
            online_search_window_days: window,
            online_booking_horizon_days: horizon,
            minimum_online_age: Some(age),
            ringfence_release: ReleaseSchedule { days_ahead: ahead, at: NaiveTime::MIN },
            ..BookingSettings::default()
        };
        let _ = BookingPolicy::new(settings);
    }
}

#[test]
fn the_generated_worlds_are_mostly_valid_policies() {
    use proptest::strategy::ValueTree;
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let valid = (0..400)
        .filter(|_| world().new_tree(&mut runner).unwrap().current().is_some())
        .count();
    assert!(
        valid > 100,
        "only {valid} of 400 generated worlds were valid"
    );
}
