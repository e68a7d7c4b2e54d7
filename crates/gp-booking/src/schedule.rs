//! The schedule: staff, sessions, slots and the weekly templates that make them.

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use gp_core::{
    bounded_text, local_to_utc, IdSource, LocalTimeError, ParseError, SessionId, SlotId, StaffId,
    StaffRole,
};
use serde::{Deserialize, Serialize};

use crate::error::ScheduleError;

/// A member of staff who runs sessions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffMember {
    /// The staff member.
    pub id: StaffId,
    /// The name patients see when they choose a clinician.
    pub name: String,
    /// Their role.
    pub role: StaffRole,
    /// Their SDS user id, when the practice records it: GP Connect
    /// identifies a `Practitioner` by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sds_user_id: Option<crate::SdsUserId>,
    /// Their SDS job role, when the practice records it: GP Connect's
    /// `PractitionerRole` extension on their schedules and appointments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job_role: Option<crate::JobRole>,
    /// Their gender as they would have patients see it, when the practice
    /// records it (patients often choose a clinician by it; GP Connect's
    /// `Practitioner.gender`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gender: Option<Gender>,
}

/// A person's administrative gender, as FHIR codes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Gender {
    /// `male`.
    Male,
    /// `female`.
    Female,
    /// `other`.
    Other,
    /// `unknown`.
    Unknown,
}

impl Gender {
    /// The FHIR `AdministrativeGender` code.
    pub fn code(self) -> &'static str {
        match self {
            Gender::Male => "male",
            Gender::Female => "female",
            Gender::Other => "other",
            Gender::Unknown => "unknown",
        }
    }
}

impl StaffMember {
    /// A member of staff with no SDS details recorded.
    pub fn new(id: StaffId, name: impl Into<String>, role: StaffRole) -> Self {
        Self {
            id,
            name: name.into(),
            role,
            sds_user_id: None,
            job_role: None,
            gender: None,
        }
    }
}

/// How an appointment takes place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DeliveryMode {
    /// Face to face at the practice.
    InPerson,
    /// A telephone call.
    Telephone,
    /// A video call.
    Video,
}

/// A practice-defined kind of slot, named by a short code (for example `"B12_JAB"`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PracticeSlotType(String);

impl PracticeSlotType {
    /// Parses a practice slot type name: 1 to 40 characters, no control characters.
    pub fn parse(name: &str) -> Result<Self, ParseError> {
        bounded_text(name, "slot type name", 40, true).map(Self)
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl TryFrom<String> for PracticeSlotType {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl From<PracticeSlotType> for String {
    fn from(t: PracticeSlotType) -> Self {
        t.0
    }
}

/// What a slot is for.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum SlotType {
    /// A routine GP appointment.
    RoutineGp,
    /// An urgent or on-the-day appointment.
    Urgent,
    /// A nurse clinic for cervical screening.
    CervicalSmear,
    /// A nurse clinic for a diabetes review.
    DiabetesReview,
    /// A flu vaccination clinic.
    FluVaccination,
    /// A kind of slot the practice defines for itself.
    Practice(PracticeSlotType),
}

impl fmt::Display for SlotType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SlotType::RoutineGp => f.write_str("routine GP"),
            SlotType::Urgent => f.write_str("urgent"),
            SlotType::CervicalSmear => f.write_str("cervical smear"),
            SlotType::DiabetesReview => f.write_str("diabetes review"),
            SlotType::FluVaccination => f.write_str("flu vaccination"),
            SlotType::Practice(name) => f.write_str(name.as_str()),
        }
    }
}

/// Whether a slot is open for online booking as soon as it exists, or held
/// back and released on the practice's schedule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SlotAvailability {
    /// Offered online (subject to the rest of the policy) from the start.
    Open,
    /// Ringfenced: invisible online until the release time set in the policy;
    /// staff may book it at any time.
    Ringfenced,
}

/// Work a slot is set aside for, which keeps it out of online booking.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Reservation {
    /// Kept for patients a clinician calls back after telephone triage.
    TelephoneTriage,
    /// Kept for follow-up of an online (digital) consultation.
    DigitalConsultationFollowUp,
}

/// A start and an end, start strictly before end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "RawPeriod")]
pub struct Period {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

#[derive(Deserialize)]
struct RawPeriod {
    start: DateTime<Utc>,
    end: DateTime<Utc>,
}

impl TryFrom<RawPeriod> for Period {
    type Error = ScheduleError;
    fn try_from(raw: RawPeriod) -> Result<Self, Self::Error> {
        Period::new(raw.start, raw.end)
    }
}

impl Period {
    /// A period from `start` to `end`; refused unless `start < end`.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Self, ScheduleError> {
        if start < end {
            Ok(Self { start, end })
        } else {
            Err(ScheduleError::EmptyPeriod { start, end })
        }
    }

    /// When it starts.
    pub fn start(&self) -> DateTime<Utc> {
        self.start
    }

    /// When it ends.
    pub fn end(&self) -> DateTime<Utc> {
        self.end
    }

    /// How long it lasts.
    pub fn duration(&self) -> Duration {
        self.end - self.start
    }
}

/// A clinic session: one clinician, one local date, a start and an end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// The session.
    pub id: SessionId,
    /// Who runs it.
    pub clinician: StaffId,
    /// Their role in it.
    pub role: StaffRole,
    /// The UK local date it is held on.
    pub date: NaiveDate,
    /// When it runs.
    pub period: Period,
    /// How its appointments take place.
    pub delivery: DeliveryMode,
    /// The surgery it is held at, by its ODS site code, when the practice
    /// has more than one (a branch surgery); `None` is the practice's own
    /// (main) surgery.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<gp_core::OdsCode>,
}

/// One bookable appointment slot, carrying the facts of its session that the
/// booking policy looks at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slot {
    /// The slot.
    pub id: SlotId,
    /// The session it belongs to.
    pub session: SessionId,
    /// The clinician who sees the patient.
    pub clinician: StaffId,
    /// The clinician's role.
    pub role: StaffRole,
    /// When it runs.
    pub period: Period,
    /// What it is for.
    pub slot_type: SlotType,
    /// How it takes place.
    pub delivery: DeliveryMode,
    /// Open, or ringfenced until released.
    pub availability: SlotAvailability,
    /// Work it is set aside for, if any; such a slot is never offered online.
    pub reserved_for: Option<Reservation>,
    /// The surgery its session is held at ([`Session::site`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<gp_core::OdsCode>,
}

impl Slot {
    /// When the appointment starts.
    pub fn start(&self) -> DateTime<Utc> {
        self.period.start()
    }
}

/// A weekly pattern of sessions, from which a schedule over a date range is made.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionTemplate {
    /// Who runs the session.
    pub clinician: StaffId,
    /// Their role.
    pub role: StaffRole,
    /// The day of the week it is held.
    pub weekday: Weekday,
    /// UK local start time.
    pub start: NaiveTime,
    /// UK local end time.
    pub end: NaiveTime,
    /// Length of each slot in minutes (a last part shorter than this is not made a slot).
    pub slot_minutes: u32,
    /// What its slots are for.
    pub slot_type: SlotType,
    /// How its appointments take place.
    pub delivery: DeliveryMode,
    /// Whether its slots are open or ringfenced.
    pub availability: SlotAvailability,
    /// Work its slots are set aside for, if any.
    pub reserved_for: Option<Reservation>,
    /// The surgery its sessions are held at ([`Session::site`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<gp_core::OdsCode>,
}

/// Sessions and their slots, as made from templates.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Schedule {
    /// The sessions.
    pub sessions: Vec<Session>,
    /// The slots of those sessions, in order of start.
    pub slots: Vec<Slot>,
}

impl Schedule {
    /// Makes the sessions and slots that `templates` describe for every date from
    /// `from` to `to` inclusive, in UK local time.
    ///
    /// Refuses (and makes nothing) if a template has no slots, a slot length of
    /// zero, or a time that does not exist on one of the dates because the
    /// clocks go forward over it; or if `to` is before `from`.
    pub fn from_templates(
        templates: &[SessionTemplate],
        from: NaiveDate,
        to: NaiveDate,
        ids: &dyn IdSource,
    ) -> Result<Schedule, ScheduleError> {
        if to < from {
            return Err(ScheduleError::DateRangeReversed { from, to });
        }
        for t in templates {
            if t.slot_minutes == 0 {
                return Err(ScheduleError::ZeroSlotLength);
            }
            let minutes = (t.end - t.start).num_minutes();
            if minutes < i64::from(t.slot_minutes) {
                return Err(ScheduleError::NoSlotsInSession {
                    start: t.start,
                    end: t.end,
                    slot_minutes: t.slot_minutes,
                });
            }
        }
        let mut schedule = Schedule::default();
        let mut date = from;
        let weekdays: BTreeSet<u32> = templates
            .iter()
            .map(|t| t.weekday.num_days_from_monday())
            .collect();
        while date <= to {
            if weekdays.contains(&date.weekday().num_days_from_monday()) {
                for t in templates.iter().filter(|t| t.weekday == date.weekday()) {
                    schedule.add_session(t, date, ids)?;
                }
            }
            date = match date.succ_opt() {
                Some(next) => next,
                None => break,
            };
        }
        schedule.slots.sort_by_key(|s| (s.start(), s.id));
        Ok(schedule)
    }

    fn add_session(
        &mut self,
        t: &SessionTemplate,
        date: NaiveDate,
        ids: &dyn IdSource,
    ) -> Result<(), ScheduleError> {
        let at = |time: NaiveTime| {
            local_to_utc(date, time).map_err(|e| match e {
                LocalTimeError::Skipped(when) => ScheduleError::SkippedTime(when),
                _ => ScheduleError::SkippedTime(NaiveDateTime::new(date, time)),
            })
        };
        let session = Session {
            id: SessionId::new(ids),
            clinician: t.clinician,
            role: t.role,
            date,
            period: Period::new(at(t.start)?, at(t.end)?)?,
            delivery: t.delivery,
            site: t.site,
        };
        let step = Duration::minutes(i64::from(t.slot_minutes));
        let mut local_start = t.start;
        while local_start + step <= t.end && local_start + step > local_start {
            let local_end = local_start + step;
            self.slots.push(Slot {
                id: SlotId::new(ids),
                session: session.id,
                clinician: t.clinician,
                role: t.role,
                period: Period::new(at(local_start)?, at(local_end)?)?,
                slot_type: t.slot_type.clone(),
                delivery: t.delivery,
                availability: t.availability,
                reserved_for: t.reserved_for,
                site: t.site,
            });
            local_start = local_end;
        }
        self.sessions.push(session);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use gp_core::SequentialIds;

    fn template(
        weekday: Weekday,
        start: (u32, u32),
        end: (u32, u32),
        minutes: u32,
    ) -> SessionTemplate {
        SessionTemplate {
            site: None,
            clinician: StaffId::new(&SequentialIds::new(99)),
            role: StaffRole::Gp,
            weekday,
            start: NaiveTime::from_hms_opt(start.0, start.1, 0).unwrap(),
            end: NaiveTime::from_hms_opt(end.0, end.1, 0).unwrap(),
            slot_minutes: minutes,
            slot_type: SlotType::RoutineGp,
            delivery: DeliveryMode::InPerson,
            availability: SlotAvailability::Open,
            reserved_for: None,
        }
    }

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, m, day).unwrap()
    }

    #[test]
    fn makes_slots_on_the_template_weekdays_in_local_time() {
        let ids = SequentialIds::new(1);
        // Monday 08:00-12:00 in 10-minute slots, over two weeks in summer.
        let s = Schedule::from_templates(
            &[template(Weekday::Mon, (8, 0), (12, 0), 10)],
            d(6, 1),
            d(6, 14),
            &ids,
        )
        .unwrap();
        assert_eq!(s.sessions.len(), 2);
        assert_eq!(s.slots.len(), 48);
        let first = &s.slots[0];
        assert_eq!(
            first.start(),
            "2026-06-01T07:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(first.period.duration(), Duration::minutes(10));
        assert!(s.slots.windows(2).all(|w| w[0].start() <= w[1].start()));
    }

    #[test]
    fn a_short_tail_is_not_a_slot() {
        let ids = SequentialIds::new(1);
        let s = Schedule::from_templates(
            &[template(Weekday::Mon, (8, 0), (8, 25), 10)],
            d(6, 1),
            d(6, 1),
            &ids,
        )
        .unwrap();
        assert_eq!(s.slots.len(), 2);
    }

    #[test]
    fn slots_across_the_clock_change_keep_local_times() {
        let ids = SequentialIds::new(1);
        // Sundays 09:00: 22 March is GMT, 29 March is BST.
        let s = Schedule::from_templates(
            &[template(Weekday::Sun, (9, 0), (9, 10), 10)],
            d(3, 22),
            d(3, 29),
            &ids,
        )
        .unwrap();
        assert_eq!(
            s.slots[0].start(),
            "2026-03-22T09:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
        assert_eq!(
            s.slots[1].start(),
            "2026-03-29T08:00:00Z".parse::<DateTime<Utc>>().unwrap()
        );
    }

    #[test]
    fn bad_templates_are_refused() {
        let ids = SequentialIds::new(1);
        assert_eq!(
            Schedule::from_templates(
                &[template(Weekday::Mon, (8, 0), (9, 0), 0)],
                d(6, 1),
                d(6, 1),
                &ids
            ),
            Err(ScheduleError::ZeroSlotLength)
        );
        assert!(matches!(
            Schedule::from_templates(
                &[template(Weekday::Mon, (9, 0), (8, 0), 10)],
                d(6, 1),
                d(6, 1),
                &ids
            ),
            Err(ScheduleError::NoSlotsInSession { .. })
        ));
        assert!(matches!(
            Schedule::from_templates(
                &[template(Weekday::Mon, (8, 0), (9, 0), 10)],
                d(6, 2),
                d(6, 1),
                &ids
            ),
            Err(ScheduleError::DateRangeReversed { .. })
        ));
        // 01:00-02:00 on 29 March 2026 does not exist in UK time.
        assert!(matches!(
            Schedule::from_templates(
                &[template(Weekday::Sun, (1, 0), (2, 30), 30)],
                d(3, 29),
                d(3, 29),
                &ids
            ),
            Err(ScheduleError::SkippedTime(_))
        ));
    }

    #[test]
    fn periods_must_have_start_before_end() {
        let t = "2026-06-01T07:00:00Z".parse::<DateTime<Utc>>().unwrap();
        assert!(Period::new(t, t).is_err());
        let json = format!("{{\"start\":\"{t:?}\",\"end\":\"{t:?}\"}}");
        assert!(serde_json::from_str::<Period>(&json).is_err());
    }
}
