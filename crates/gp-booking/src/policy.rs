//! The practice's booking policy: every option a setting with a default.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveTime, Utc};
use gp_core::{local_date, local_to_utc_lenient, OdsCode, OrganisationType, StaffId, StaffRole};
use serde::{Deserialize, Serialize};

use crate::error::PolicyError;
use crate::schedule::{Slot, SlotType};

/// When slots are released: at a UK local time of day, a number of days before
/// the appointment's date.
///
/// `ReleaseSchedule { days_ahead: 2, at: 07:00 }` releases Thursday's slots at
/// 07:00 on Tuesday. `days_ahead: 0` releases on the day itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReleaseSchedule {
    /// Days before the appointment's local date.
    pub days_ahead: u32,
    /// UK local time of day.
    pub at: NaiveTime,
}

impl ReleaseSchedule {
    /// Whether this schedule releases a slot before `other` does (more days
    /// ahead, or the same day at an earlier time).
    pub fn is_earlier_than(&self, other: &ReleaseSchedule) -> bool {
        (self.days_ahead, std::cmp::Reverse(self.at))
            > (other.days_ahead, std::cmp::Reverse(other.at))
    }

    /// The instant `slot` is released under this schedule.
    pub fn release_at(&self, slot: &Slot) -> DateTime<Utc> {
        let date = local_date(slot.start())
            .checked_sub_days(chrono::Days::new(u64::from(self.days_ahead)))
            .unwrap_or(chrono::NaiveDate::MIN);
        local_to_utc_lenient(date, self.at)
    }
}

/// Whether urgent (on-the-day) slots may be booked online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UrgentSlots {
    /// Urgent slots are booked by staff only (refusal `UrgentSlotNotOnline`).
    StaffOnly,
    /// Urgent slots follow the same online rules as any other.
    AlsoOnline,
}

/// Which patients may book online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum OnlinePatients {
    /// Only regular (fully registered) patients (refusal `NotRegularPatient`).
    RegularOnly,
    /// Regular and temporary patients.
    RegularAndTemporary,
}

/// How online release relates to telephone release.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum ReleaseEquity {
    /// A slot is never released online before it is released for telephone
    /// booking, so patients who cannot go online are not at a disadvantage.
    OnlineNotBeforeTelephone,
    /// Online and telephone release are independent.
    Independent,
}

/// Whether a patient not yet registered for online services may book online.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BeforeRegistration {
    /// No online booking before registration (refusal `NotRegisteredForOnline`).
    Refuse,
    /// One live online booking before registration; a second is refused
    /// (`PreRegistrationBookingUsed`).
    AllowOne,
}

/// Over what period the holding limit counts appointments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HoldingPeriod {
    /// Every future appointment counts.
    AllFuture,
    /// No span of this many days may hold more than the limit.
    RollingDays(u32),
}

/// The most appointments a patient may hold at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HoldingLimit {
    /// The most live appointments.
    pub max: u32,
    /// Over what period.
    pub period: HoldingPeriod,
}

/// Slots of one type opened to booking by other NHS organisations through
/// GP Connect (NHS 111, other practices, hubs): GP Connect's "bookable by
/// organisation type and ODS code". An empty list of types or codes puts no
/// restriction of that kind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrganisationSlots {
    /// The slot type opened.
    pub slot_type: SlotType,
    /// The organisation types that may book it (`urgent-care`,
    /// `gp-practice`, ...); empty: any type.
    #[serde(default)]
    pub organisation_types: BTreeSet<OrganisationType>,
    /// The organisations (ODS codes) that may book it; empty: any organisation.
    #[serde(default)]
    pub ods_codes: BTreeSet<OdsCode>,
}

impl OrganisationSlots {
    /// Whether an organisation of type `kind` with code `ods` may book
    /// these slots.
    pub fn admits(&self, ods: OdsCode, kind: OrganisationType) -> bool {
        self.open_to(Some(ods), Some(kind))
    }

    /// Whether these slots are open to an organisation named only as far as
    /// `ods` and `kind` go (GP Connect's search filter): a restriction of a
    /// kind needs a matching value of that kind.
    pub fn open_to(&self, ods: Option<OdsCode>, kind: Option<OrganisationType>) -> bool {
        fn meets<T: Ord>(allowed: &BTreeSet<T>, given: Option<T>) -> bool {
            allowed.is_empty() || given.is_some_and(|g| allowed.contains(&g))
        }
        meets(&self.organisation_types, kind) && meets(&self.ods_codes, ods)
    }
}

/// The settings of a practice's booking policy, each with a documented default.
///
/// Build a [`BookingPolicy`] from them with [`BookingPolicy::new`], which checks
/// their ranges. The reason code named against each setting is the refusal it
/// produces. The defaults are cautious: a practice widens them as it gains
/// experience, as the RCGP guidance suggests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct BookingSettings {
    /// Roles whose slots may be booked online. Default: GP and nurse.
    /// Refusal: `RoleNotOnline`.
    pub online_roles: BTreeSet<StaffRole>,
    /// Slot types that may be booked online. Default: routine GP, cervical
    /// smear, diabetes review, flu vaccination. Refusal: `SlotTypeNotOnline`.
    pub online_slot_types: BTreeSet<SlotType>,
    /// Clinicians whose slots are never offered online. Default: none.
    /// Refusal: `ClinicianNotOnline`.
    pub clinicians_not_online: BTreeSet<StaffId>,
    /// Whether urgent slots may be booked online. Default: staff only.
    /// Refusal: `UrgentSlotNotOnline`.
    pub urgent_slots: UrgentSlots,
    /// Which patients may book online. Default: regular patients only.
    /// Refusal: `NotRegularPatient`.
    pub online_patients: OnlinePatients,
    /// The youngest a patient may be to book online for themselves (a proxy
    /// may book for a younger patient). Default: 16. Refusal: `BelowMinimumAge`.
    pub minimum_online_age: Option<u32>,
    /// When ringfenced slots are released for online booking. Default: 2 days
    /// ahead at 07:00. Before then they are invisible online but staff may book
    /// them. Refusal: `NotReleasedYet`.
    pub ringfence_release: ReleaseSchedule,
    /// When slots open for booking by telephone and at reception, if the
    /// practice releases them on a schedule. Default: none (bookable by staff
    /// as soon as they exist). Refusal: `NotReleasedYet`.
    pub telephone_release: Option<ReleaseSchedule>,
    /// Whether online release waits for telephone release. Default: online
    /// never before telephone. Refusal: `NotReleasedYet`.
    pub equity: ReleaseEquity,
    /// The most appointments a patient may hold (1 to 50, over every future
    /// appointment or a rolling 1 to 366 days). Default: 2 future
    /// appointments. Staff may book beyond it with a recorded reason.
    /// Refusal: `HoldingLimitReached`.
    pub holding_limit: Option<HoldingLimit>,
    /// Online booking before registering for online services. Default: refused.
    /// Refusals: `NotRegisteredForOnline`, `PreRegistrationBookingUsed`.
    pub before_registration: BeforeRegistration,
    /// Minutes before the start after which an appointment can no longer be
    /// cancelled online (staff may still cancel until the start), 0 to
    /// 10,080 (a week). Default: 60.
    /// Refusal: `CancellationCutoffPassed`.
    pub online_cancellation_cutoff_minutes: u32,
    /// The longest span one online search may cover, 1 to 14 days (as GP
    /// Connect allows). Default: 14. Refusal: `SearchWindowTooWide`.
    pub online_search_window_days: u32,
    /// How far ahead patients and proxies may see and book online at all,
    /// in days after today (practice-local dates), 1 to 365: a slot whose
    /// local date is later than today plus this many days is neither
    /// offered nor bookable online, whatever span a search asks for. Staff
    /// are not bound by it. Default: 28. Refusal: `BeyondBookingHorizon`.
    pub online_booking_horizon_days: u32,
    /// The slot types other NHS organisations may book through GP Connect,
    /// each with the organisation types and ODS codes it is open to (one
    /// entry per slot type, at most 1,000 codes each). Default: none (no
    /// slot is bookable by another organisation). Refusal:
    /// `NotBookableByOrganisation`.
    pub organisation_slots: Vec<OrganisationSlots>,
    /// The most live future appointments one organisation may hold at the
    /// practice at once (1 to 1,000), or no cap. Default: 10. Refusal:
    /// `OrganisationCapReached`.
    pub organisation_cap: Option<u32>,
    /// How far ahead other organisations may book, in days after today
    /// (1 to 365). Default: 14. Refusal: `BeyondBookingHorizon`.
    pub organisation_booking_horizon_days: u32,
    /// How near the start other organisations may still book, in minutes
    /// (0 to 10,080; GP Connect's embargo). Default: 0. Refusal:
    /// `InsideOrganisationEmbargo`.
    pub organisation_embargo_minutes: u32,
}

/// The longest span one search by another organisation may cover, in
/// days (GP Connect's two weeks).
pub const ORGANISATION_SEARCH_DAYS: u32 = 14;

/// The most slots one appointment may take (a day of ten-minute slots);
/// more are refused as `SlotsNotAdjacent`.
pub const MAX_APPOINTMENT_SLOTS: usize = 48;

/// The most ODS codes one slot type may name.
pub const MAX_ORGANISATION_CODES: usize = 1000;
/// The largest organisation cap.
pub const MAX_ORGANISATION_CAP: u32 = 1000;

impl Default for BookingSettings {
    fn default() -> Self {
        Self {
            online_roles: [StaffRole::Gp, StaffRole::Nurse].into_iter().collect(),
            online_slot_types: [
                SlotType::RoutineGp,
                SlotType::CervicalSmear,
                SlotType::DiabetesReview,
                SlotType::FluVaccination,
            ]
            .into_iter()
            .collect(),
            clinicians_not_online: BTreeSet::new(),
            urgent_slots: UrgentSlots::StaffOnly,
            online_patients: OnlinePatients::RegularOnly,
            minimum_online_age: Some(16),
            ringfence_release: ReleaseSchedule {
                days_ahead: 2,
                at: NaiveTime::from_hms_opt(7, 0, 0).unwrap_or(NaiveTime::MIN),
            },
            telephone_release: None,
            equity: ReleaseEquity::OnlineNotBeforeTelephone,
            holding_limit: Some(HoldingLimit {
                max: 2,
                period: HoldingPeriod::AllFuture,
            }),
            before_registration: BeforeRegistration::Refuse,
            online_cancellation_cutoff_minutes: 60,
            online_search_window_days: 14,
            online_booking_horizon_days: 28,
            organisation_slots: Vec::new(),
            organisation_cap: Some(10),
            organisation_booking_horizon_days: 14,
            organisation_embargo_minutes: 0,
        }
    }
}

/// The most appointments a holding limit may allow.
pub const MAX_HOLDING: u32 = 50;
/// The longest rolling period a holding limit may count over, in days.
pub const MAX_ROLLING_DAYS: u32 = 366;
/// The latest online cancellation cut-off, in minutes before the start (a week).
pub const MAX_CUTOFF_MINUTES: u32 = 7 * 24 * 60;

/// A practice's booking policy, its settings checked.
///
/// ```
/// use gp_booking::{BookingPolicy, BookingSettings};
/// let policy = BookingPolicy::new(BookingSettings { online_search_window_days: 7, ..Default::default() })?;
/// assert_eq!(policy.settings().online_search_window_days, 7);
/// assert!(BookingPolicy::new(BookingSettings { online_search_window_days: 28, ..Default::default() }).is_err());
/// # Ok::<(), gp_booking::PolicyError>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "BookingSettings", into = "BookingSettings")]
pub struct BookingPolicy(BookingSettings);

impl BookingPolicy {
    /// Checks `settings` and makes a policy of them.
    pub fn new(settings: BookingSettings) -> Result<Self, PolicyError> {
        if !(1..=14).contains(&settings.online_search_window_days) {
            return Err(PolicyError::SearchWindow(
                settings.online_search_window_days,
            ));
        }
        if let Some(limit) = settings.holding_limit {
            let days_ok = match limit.period {
                HoldingPeriod::AllFuture => true,
                HoldingPeriod::RollingDays(days) => (1..=MAX_ROLLING_DAYS).contains(&days),
            };
            if !(1..=MAX_HOLDING).contains(&limit.max) || !days_ok {
                return Err(PolicyError::HoldingLimit);
            }
        }
        if settings.online_cancellation_cutoff_minutes > MAX_CUTOFF_MINUTES {
            return Err(PolicyError::CancellationCutoff(
                settings.online_cancellation_cutoff_minutes,
            ));
        }
        if let Some(age) = settings.minimum_online_age.filter(|a| *a > 120) {
            return Err(PolicyError::MinimumAge(age));
        }
        for schedule in
            std::iter::once(&settings.ringfence_release).chain(settings.telephone_release.as_ref())
        {
            if schedule.days_ahead > 365 {
                return Err(PolicyError::ReleaseDaysAhead(schedule.days_ahead));
            }
        }
        if !(1..=365).contains(&settings.online_booking_horizon_days) {
            return Err(PolicyError::BookingHorizon(
                settings.online_booking_horizon_days,
            ));
        }
        let mut opened = BTreeSet::new();
        for o in &settings.organisation_slots {
            if !opened.insert(&o.slot_type) {
                return Err(PolicyError::OrganisationSlotsRepeated(o.slot_type.clone()));
            }
            if o.ods_codes.len() > MAX_ORGANISATION_CODES {
                return Err(PolicyError::OrganisationCodes(o.ods_codes.len()));
            }
        }
        if let Some(cap) = settings
            .organisation_cap
            .filter(|c| !(1..=MAX_ORGANISATION_CAP).contains(c))
        {
            return Err(PolicyError::OrganisationCap(cap));
        }
        if !(1..=365).contains(&settings.organisation_booking_horizon_days) {
            return Err(PolicyError::BookingHorizon(
                settings.organisation_booking_horizon_days,
            ));
        }
        if settings.organisation_embargo_minutes > MAX_CUTOFF_MINUTES {
            return Err(PolicyError::OrganisationEmbargo(
                settings.organisation_embargo_minutes,
            ));
        }
        if let (ReleaseEquity::OnlineNotBeforeTelephone, Some(telephone)) =
            (settings.equity, settings.telephone_release)
        {
            // A ringfence release before the telephone release could never
            // take effect under the equity rule: say so, rather than accept
            // a setting that is silently moved later.
            if settings.ringfence_release.is_earlier_than(&telephone) {
                return Err(PolicyError::EquityBreached {
                    online: settings.ringfence_release,
                    telephone,
                });
            }
        }
        Ok(Self(settings))
    }

    /// The settings.
    pub fn settings(&self) -> &BookingSettings {
        &self.0
    }

    /// The organisation slots entry for `slot`'s type, if its type is open
    /// to other organisations.
    pub fn organisation_slots(&self, slot: &Slot) -> Option<&OrganisationSlots> {
        self.0
            .organisation_slots
            .iter()
            .find(|o| o.slot_type == slot.slot_type)
    }

    /// The instant `slot` may first be booked online, if it is held back at all.
    pub fn online_release_at(&self, slot: &Slot) -> Option<DateTime<Utc>> {
        let s = &self.0;
        let ringfence = match slot.availability {
            crate::schedule::SlotAvailability::Ringfenced => {
                Some(s.ringfence_release.release_at(slot))
            }
            crate::schedule::SlotAvailability::Open => None,
        };
        let telephone = match s.equity {
            ReleaseEquity::OnlineNotBeforeTelephone => self.telephone_release_at(slot),
            ReleaseEquity::Independent => None,
        };
        ringfence.max(telephone)
    }

    /// The instant `slot` may first be booked by telephone or at reception, if
    /// the practice releases slots on a schedule.
    pub fn telephone_release_at(&self, slot: &Slot) -> Option<DateTime<Utc>> {
        self.0.telephone_release.map(|r| r.release_at(slot))
    }
}

impl TryFrom<BookingSettings> for BookingPolicy {
    type Error = PolicyError;
    fn try_from(settings: BookingSettings) -> Result<Self, Self::Error> {
        Self::new(settings)
    }
}

impl From<BookingPolicy> for BookingSettings {
    fn from(policy: BookingPolicy) -> Self {
        policy.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_settings_are_refused() {
        let bad = |s: BookingSettings| BookingPolicy::new(s).unwrap_err();
        assert_eq!(
            bad(BookingSettings {
                online_search_window_days: 0,
                ..Default::default()
            }),
            PolicyError::SearchWindow(0)
        );
        assert_eq!(
            bad(BookingSettings {
                online_search_window_days: 15,
                ..Default::default()
            }),
            PolicyError::SearchWindow(15)
        );
        assert_eq!(
            bad(BookingSettings {
                holding_limit: Some(HoldingLimit {
                    max: 0,
                    period: HoldingPeriod::AllFuture
                }),
                ..Default::default()
            }),
            PolicyError::HoldingLimit
        );
        assert_eq!(
            bad(BookingSettings {
                holding_limit: Some(HoldingLimit {
                    max: 2,
                    period: HoldingPeriod::RollingDays(0)
                }),
                ..Default::default()
            }),
            PolicyError::HoldingLimit
        );
        assert_eq!(
            bad(BookingSettings {
                minimum_online_age: Some(121),
                ..Default::default()
            }),
            PolicyError::MinimumAge(121)
        );
        for period in [
            HoldingPeriod::RollingDays(367),
            HoldingPeriod::RollingDays(u32::MAX),
        ] {
            assert_eq!(
                bad(BookingSettings {
                    holding_limit: Some(HoldingLimit { max: 2, period }),
                    ..Default::default()
                }),
                PolicyError::HoldingLimit
            );
        }
        assert_eq!(
            bad(BookingSettings {
                holding_limit: Some(HoldingLimit {
                    max: 51,
                    period: HoldingPeriod::AllFuture
                }),
                ..Default::default()
            }),
            PolicyError::HoldingLimit
        );
        assert_eq!(
            bad(BookingSettings {
                online_cancellation_cutoff_minutes: 10_081,
                ..Default::default()
            }),
            PolicyError::CancellationCutoff(10_081)
        );
        let far = ReleaseSchedule {
            days_ahead: 400,
            at: NaiveTime::MIN,
        };
        assert_eq!(
            bad(BookingSettings {
                telephone_release: Some(far),
                ..Default::default()
            }),
            PolicyError::ReleaseDaysAhead(400)
        );
    }

    #[test]
    fn policies_round_trip_through_json_and_check_on_the_way_in() {
        let policy = BookingPolicy::default();
        let json = serde_json::to_string(&policy).unwrap();
        assert_eq!(
            serde_json::from_str::<BookingPolicy>(&json).unwrap(),
            policy
        );
        let bad = json.replace(
            "\"online_search_window_days\":14",
            "\"online_search_window_days\":30",
        );
        assert!(serde_json::from_str::<BookingPolicy>(&bad).is_err());
        // Missing settings take their defaults.
        assert_eq!(serde_json::from_str::<BookingPolicy>("{}").unwrap(), policy);
    }
}
