//! Fixture builders: a practice with six weeks of sessions, and patients of all ages.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use gp_booking::{
    DeliveryMode, OnlineRegistration, PatientFacts, Period, Registration, Reservation, Schedule,
    Session, SessionTemplate, Slot, SlotAvailability, SlotType, StaffMember,
};
use gp_core::{IdSource, PatientId, SessionId, SlotId, StaffId, StaffRole};

/// Monday 1 June 2026, 06:00 UTC (07:00 in the practice): the instant the
/// fixtures' clocks start at unless a test says otherwise.
pub fn monday_morning() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 6, 1, 6, 0, 0)
        .single()
        .expect("a valid instant")
}

fn time(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).expect("a valid time of day")
}

/// A practice: its staff and six weeks of sessions.
#[derive(Debug, Clone)]
pub struct PracticeFixture {
    /// Dr Patel, GP.
    pub gp: StaffMember,
    /// Dr Okafor, GP, whose Friday session is ringfenced.
    pub second_gp: StaffMember,
    /// Nurse Evans.
    pub nurse: StaffMember,
    /// Sam Hughes, healthcare assistant.
    pub hca: StaffMember,
    /// Jo Reid, receptionist (runs no sessions).
    pub receptionist: StaffMember,
    /// The sessions and slots.
    pub schedule: Schedule,
}

impl PracticeFixture {
    /// Every staff member.
    pub fn staff(&self) -> Vec<StaffMember> {
        vec![
            self.gp.clone(),
            self.second_gp.clone(),
            self.nurse.clone(),
            self.hca.clone(),
            self.receptionist.clone(),
        ]
    }

    /// The weekly templates the schedule is made from.
    pub fn templates(&self) -> Vec<SessionTemplate> {
        weekly_templates(&self.gp, &self.second_gp, &self.nurse, &self.hca)
    }

    /// The first slot meeting `pred`, in order of start.
    pub fn first_slot(&self, pred: impl Fn(&Slot) -> bool) -> Option<&Slot> {
        self.schedule.slots.iter().find(|s| pred(s))
    }
}

fn staff(ids: &dyn IdSource, name: &str, role: StaffRole) -> StaffMember {
    let mut member = StaffMember::new(StaffId::new(ids), name, role);
    if role == StaffRole::Gp {
        // As the practice records it from SDS (GP Connect's example role).
        member.job_role = Some(gp_booking::JobRole {
            code: gp_booking::JobRoleCode::parse("R0260").expect("a job role code"),
            name: gp_booking::JobRoleName::parse("General Medical Practitioner")
                .expect("a job role name"),
        });
    }
    member
}

fn weekly_templates(
    gp: &StaffMember,
    gp2: &StaffMember,
    nurse: &StaffMember,
    hca: &StaffMember,
) -> Vec<SessionTemplate> {
    let t =
        |who: &StaffMember, weekday, start, end, minutes, slot_type, availability, reserved_for| {
            SessionTemplate {
                site: None,
                clinician: who.id,
                role: who.role,
                weekday,
                start,
                end,
                slot_minutes: minutes,
                slot_type,
                delivery: DeliveryMode::InPerson,
                availability,
                reserved_for,
            }
        };
    let weekdays = [
        Weekday::Mon,
        Weekday::Tue,
        Weekday::Wed,
        Weekday::Thu,
        Weekday::Fri,
    ];
    let mut out = Vec::new();
    for day in weekdays {
        // Routine GP mornings, urgent on-the-day afternoons, a triage call-back hour.
        out.push(t(
            gp,
            day,
            time(8, 30),
            time(12, 0),
            10,
            SlotType::RoutineGp,
            SlotAvailability::Open,
            None,
        ));
        out.push(t(
            gp,
            day,
            time(14, 0),
            time(15, 0),
            10,
            SlotType::Urgent,
            SlotAvailability::Open,
            None,
        ));
        out.push(t(
            gp,
            day,
            time(15, 0),
            time(16, 0),
            10,
            SlotType::RoutineGp,
            SlotAvailability::Open,
            Some(Reservation::TelephoneTriage),
        ));
        let availability = if day == Weekday::Fri {
            SlotAvailability::Ringfenced
        } else {
            SlotAvailability::Open
        };
        out.push(t(
            gp2,
            day,
            time(9, 0),
            time(12, 0),
            15,
            SlotType::RoutineGp,
            availability,
            None,
        ));
        out.push(t(
            hca,
            day,
            time(8, 0),
            time(10, 0),
            10,
            blood_test(),
            SlotAvailability::Open,
            None,
        ));
    }
    out.push(t(
        nurse,
        Weekday::Tue,
        time(9, 0),
        time(12, 0),
        15,
        SlotType::CervicalSmear,
        SlotAvailability::Open,
        None,
    ));
    out.push(t(
        nurse,
        Weekday::Wed,
        time(9, 0),
        time(12, 0),
        20,
        SlotType::DiabetesReview,
        SlotAvailability::Open,
        None,
    ));
    out.push(t(
        nurse,
        Weekday::Thu,
        time(13, 0),
        time(17, 0),
        5,
        SlotType::FluVaccination,
        SlotAvailability::Open,
        None,
    ));
    out
}

fn blood_test() -> SlotType {
    SlotType::Practice(
        gp_booking::PracticeSlotType::parse("Blood test").expect("a valid constant slot type name"),
    )
}

/// A practice with two GPs, a nurse, a healthcare assistant and a
/// receptionist, and six weeks of sessions from the Monday on or before `from`:
///
/// - GP 1, weekdays: routine 08:30-12:00 (10 min), urgent 14:00-15:00, and
///   15:00-16:00 reserved for telephone-triage call-backs;
/// - GP 2, weekdays: routine 09:00-12:00 (15 min), ringfenced on Fridays;
/// - Nurse: cervical smears Tuesday, diabetes reviews Wednesday, flu
///   vaccinations Thursday afternoon;
/// - HCA: practice-defined "Blood test" slots 08:00-10:00 weekdays.
pub fn practice(ids: &dyn IdSource, from: NaiveDate) -> PracticeFixture {
    let gp = staff(ids, "Dr Asha Patel", StaffRole::Gp);
    let second_gp = staff(ids, "Dr Tunde Okafor", StaffRole::Gp);
    let nurse = staff(ids, "Nurse Carys Evans", StaffRole::Nurse);
    let hca = staff(ids, "Sam Hughes", StaffRole::HealthcareAssistant);
    let receptionist = staff(ids, "Jo Reid", StaffRole::Receptionist);
    let monday = from - Duration::days(i64::from(from.weekday().num_days_from_monday()));
    let templates = weekly_templates(&gp, &second_gp, &nurse, &hca);
    let schedule = Schedule::from_templates(&templates, monday, monday + Duration::days(41), ids)
        .expect("daytime templates never meet a skipped local time");
    PracticeFixture {
        gp,
        second_gp,
        nurse,
        hca,
        receptionist,
        schedule,
    }
}

/// A small schedule for contract checks: one GP with `count` consecutive
/// 10-minute routine slots starting one day after `now`.
pub fn small_schedule(
    ids: &dyn IdSource,
    now: DateTime<Utc>,
    count: usize,
) -> (StaffMember, Schedule) {
    let gp = staff(ids, "Dr Contract", StaffRole::Gp);
    let start = now + Duration::days(1);
    let step = Duration::minutes(10);
    let count_i32 = i32::try_from(count).unwrap_or(i32::MAX);
    let session = Session {
        site: None,
        id: SessionId::new(ids),
        clinician: gp.id,
        role: gp.role,
        date: gp_core::local_date(start),
        period: Period::new(start, start + step * count_i32.max(1))
            .expect("slots are ten minutes long"),
        delivery: DeliveryMode::InPerson,
    };
    let slots = (0..count_i32)
        .map(|i| Slot {
            site: None,
            id: SlotId::new(ids),
            session: session.id,
            clinician: gp.id,
            role: gp.role,
            period: Period::new(start + step * i, start + step * (i + 1))
                .expect("slots are ten minutes long"),
            slot_type: SlotType::RoutineGp,
            delivery: DeliveryMode::InPerson,
            availability: SlotAvailability::Open,
            reserved_for: None,
        })
        .collect();
    (
        gp,
        Schedule {
            sessions: vec![session],
            slots,
        },
    )
}

/// The `n`th valid NHS number of a test series: distinct for distinct `n`
/// (below 100 million), each with a correct Modulus 11 check digit, all
/// starting with 9 as test numbers do.
pub fn nhs_number(n: u64) -> gp_core::NhsNumber {
    // Walk from 900,000,000 + 2n; a stem whose check digit would be 10 is
    // skipped by trying the next one (two stems a number keep them distinct).
    let mut stem = 900_000_000 + 2 * (n % 50_000_000);
    loop {
        let digits: Vec<u64> = format!("{stem:09}")
            .bytes()
            .map(|b| u64::from(b - b'0'))
            .collect();
        let sum: u64 = digits.iter().zip((2..=10).rev()).map(|(d, w)| d * w).sum();
        let check = (11 - sum % 11) % 11;
        if check < 10 {
            if let Ok(nhs) = gp_core::NhsNumber::parse(&format!("{stem:09}{check}")) {
                return nhs;
            }
        }
        stem += 1;
    }
}

/// A regular adult patient registered for online services.
pub fn adult(ids: &dyn IdSource) -> PatientFacts {
    patient(
        ids,
        NaiveDate::from_ymd_opt(1984, 3, 9).unwrap_or_default(),
        Registration::Regular,
        OnlineRegistration::Registered,
    )
}

/// A patient with the given facts.
pub fn patient(
    ids: &dyn IdSource,
    date_of_birth: NaiveDate,
    registration: Registration,
    online: OnlineRegistration,
) -> PatientFacts {
    PatientFacts {
        patient: PatientId::new(ids),
        date_of_birth,
        registration,
        online,
    }
}

/// Patients of all ages on `today` (0, 5, 11, 12, 15, 16, 17, 30, 65, 90), one
/// born on 29 February, one temporary resident and one not registered for
/// online services.
pub fn patients_of_all_ages(ids: &dyn IdSource, today: NaiveDate) -> Vec<PatientFacts> {
    let born_years_ago = |years: i32| {
        today
            .with_year(today.year() - years)
            .unwrap_or_else(|| NaiveDate::from_ymd_opt(today.year() - years, 3, 1).unwrap_or(today))
    };
    let mut out: Vec<PatientFacts> = [0, 5, 11, 12, 15, 16, 17, 30, 65, 90]
        .into_iter()
        .map(|y| {
            patient(
                ids,
                born_years_ago(y),
                Registration::Regular,
                OnlineRegistration::Registered,
            )
        })
        .collect();
    out.push(patient(
        ids,
        NaiveDate::from_ymd_opt(2008, 2, 29).unwrap_or(today),
        Registration::Regular,
        OnlineRegistration::Registered,
    ));
    out.push(patient(
        ids,
        born_years_ago(40),
        Registration::Temporary,
        OnlineRegistration::Registered,
    ));
    out.push(patient(
        ids,
        born_years_ago(52),
        Registration::Regular,
        OnlineRegistration::NotRegistered,
    ));
    out
}

/// Medicines for repeat-list fixtures: a name, a concept identifier that
/// passes its check digit, and the amount and unit of one issue. Only the
/// first is checked against dm+d (`322236009`, Paracetamol 500mg tablets);
/// the other codes are illustrations.
pub const MEDICINES: [(&str, &str, u32, &str); 4] = [
    ("Paracetamol 500mg tablets", "322236009", 100, "tablet"),
    ("Amlodipine 5mg tablets", "319773006", 28, "tablet"),
    (
        "Salbutamol 100micrograms/dose inhaler",
        "39732311000001104",
        1,
        "inhaler",
    ),
    ("Sertraline 50mg tablets", "404684003", 28, "tablet"),
];

/// A repeat item for `patient`: medicine `which` (modulo [`MEDICINES`]), 28
/// days per issue, 6 issues authorised and 5 left, last issued `last_issued`,
/// review due a year after `today`.
pub fn repeat_item(
    ids: &dyn IdSource,
    patient: PatientId,
    which: usize,
    last_issued: Option<NaiveDate>,
    today: NaiveDate,
) -> gp_prescribing::RepeatItem {
    repeat_item_with(
        ids,
        patient,
        which,
        last_issued,
        5,
        today + Duration::days(365),
    )
    .expect("a valid fixture item")
}

/// Like [`repeat_item`], with `issues_remaining` issues left (at least 6
/// authorised) and the review due on `review_date`.
pub fn repeat_item_with(
    ids: &dyn IdSource,
    patient: PatientId,
    which: usize,
    last_issued: Option<NaiveDate>,
    issues_remaining: u32,
    review_date: NaiveDate,
) -> Result<gp_prescribing::RepeatItem, gp_prescribing::ItemError> {
    let (drug, concept, amount, unit) = MEDICINES[which % MEDICINES.len()];
    gp_prescribing::RepeatItem::new(
        gp_core::MedicationId::new(ids),
        patient,
        &gp_prescribing::ItemSpec {
            drug,
            concept,
            dosage: "As directed",
            amount,
            unit,
            issue_duration_days: 28,
            issues_authorised: issues_remaining.max(6),
            issues_remaining,
            last_issued,
            review_date,
        },
    )
}

#[cfg(test)]
mod nhs_tests {
    #[test]
    fn test_nhs_numbers_are_valid_and_distinct() {
        let numbers: std::collections::BTreeSet<_> = (0..2_000).map(super::nhs_number).collect();
        assert_eq!(numbers.len(), 2_000);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gp_core::SequentialIds;

    #[test]
    fn the_practice_has_six_weeks_of_every_kind_of_slot() {
        let p = practice(&SequentialIds::new(1), monday_morning().date_naive());
        let first = p
            .schedule
            .slots
            .first()
            .map(|s| gp_core::local_date(s.start()))
            .unwrap();
        let last = p
            .schedule
            .slots
            .last()
            .map(|s| gp_core::local_date(s.start()))
            .unwrap();
        assert_eq!(
            (last - first).num_days(),
            5 * 7 + 4,
            "Monday of week 1 to Friday of week 6"
        );
        for kind in [
            SlotType::RoutineGp,
            SlotType::Urgent,
            SlotType::CervicalSmear,
            SlotType::DiabetesReview,
            SlotType::FluVaccination,
        ] {
            assert!(p.first_slot(|s| s.slot_type == kind).is_some(), "{kind}");
        }
        assert!(p
            .first_slot(|s| s.availability == SlotAvailability::Ringfenced)
            .is_some());
        assert!(p.first_slot(|s| s.reserved_for.is_some()).is_some());
        assert!(p.schedule.slots.len() > 1_000);
    }

    #[test]
    fn patients_cover_the_ages_that_matter() {
        let today = monday_morning().date_naive();
        let ages: Vec<u32> = patients_of_all_ages(&SequentialIds::new(1), today)
            .iter()
            .map(|p| gp_core::age_on(p.date_of_birth, today))
            .collect();
        for age in [0, 11, 15, 16, 17, 90] {
            assert!(ages.contains(&age), "{age}");
        }
    }
}
