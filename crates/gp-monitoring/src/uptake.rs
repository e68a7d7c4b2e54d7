//! The uptake audit: patients registered for an online service who did not
//! use it in a period, counted and listed for follow-up.

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use gp_access::{AccessRecord, RegistrationKind, Service};
use gp_core::{age_on, to_local, AuditEvent, Channel, NhsNumber, Outcome, PatientId};

use crate::state::AccessState;
use crate::{midnight, MonitoringError};

/// An age band of the audit (age on the period's last day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AgeBand {
    /// Under 16.
    Under16,
    /// 16 to 24.
    From16To24,
    /// 25 to 44.
    From25To44,
    /// 45 to 64.
    From45To64,
    /// 65 to 74.
    From65To74,
    /// 75 and over.
    From75,
}

impl AgeBand {
    /// The band holding `age`.
    pub fn of(age: u32) -> Self {
        match age {
            0..=15 => Self::Under16,
            16..=24 => Self::From16To24,
            25..=44 => Self::From25To44,
            45..=64 => Self::From45To64,
            65..=74 => Self::From65To74,
            _ => Self::From75,
        }
    }

    /// How it is written: `0-15`, `16-24`, ..., `75+`.
    pub fn label(&self) -> &'static str {
        match self {
            Self::Under16 => "0-15",
            Self::From16To24 => "16-24",
            Self::From25To44 => "25-44",
            Self::From45To64 => "45-64",
            Self::From65To74 => "65-74",
            Self::From75 => "75+",
        }
    }
}

/// The service an audit looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UptakeService {
    /// Online appointment booking: enabled for appointments, no online
    /// booking (or reschedule) made for them in the period.
    Appointments,
    /// Online repeat ordering: enabled for repeat prescriptions, no online
    /// repeat request made for them in the period.
    RepeatPrescriptions,
}

/// A patient to follow up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UptakeEntry {
    /// The patient.
    pub patient: PatientId,
    /// Their NHS number.
    pub nhs_number: NhsNumber,
    /// Their age on the period's last day.
    pub age: u32,
    /// The month they registered for online services, `YYYY-MM`.
    pub registered: String,
    /// Regular or temporary.
    pub registration: RegistrationKind,
}

/// Counts of one group of patients who did not use the service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UptakeGroup {
    /// By age band.
    pub by_age: BTreeMap<AgeBand, u64>,
    /// By month of online registration, `YYYY-MM`.
    pub by_registration_month: BTreeMap<String, u64>,
    /// Regular patients.
    pub regular: u64,
    /// Temporary residents.
    pub temporary: u64,
}

/// The audit for one service over a period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UptakeReport {
    /// The service.
    pub service: UptakeService,
    /// First day (UK).
    pub from: NaiveDate,
    /// Last day (UK), inclusive.
    pub to: NaiveDate,
    /// Patients enabled for the service at the period's end.
    pub enabled: u64,
    /// Of those, patients with no online use in the period, counted.
    pub unused: UptakeGroup,
    /// And listed for follow-up, oldest registration first.
    pub follow_up: Vec<UptakeEntry>,
}

/// Whether `e` is an online use of `service` for a patient.
fn used(e: &AuditEvent, service: UptakeService) -> bool {
    e.outcome == Outcome::Allowed
        && e.channel == Channel::Online
        && match service {
            UptakeService::Appointments => {
                matches!(
                    e.action.as_str(),
                    "appointment.book" | "appointment.reschedule"
                )
            }
            UptakeService::RepeatPrescriptions => e.action.as_str() == "prescription.request",
        }
}

/// The uptake audit for `service` from `from` to `to` (UK dates,
/// inclusive): patients enabled for it at the period's end (registered,
/// verified, not suspended, the service on) for whom no online booking
/// (or repeat request), by themselves or a proxy, was made in the period.
/// Ages are on `to`; `records` give dates of birth, NHS numbers and
/// registration types.
pub fn uptake(
    service: UptakeService,
    records: &[AccessRecord],
    events: &[AuditEvent],
    from: NaiveDate,
    to: NaiveDate,
) -> Result<UptakeReport, MonitoringError> {
    if to < from {
        return Err(MonitoringError::PeriodReversed { from, to });
    }
    let (start, end) = (midnight(from), midnight(to.succ_opt().unwrap_or(to)));
    let state = AccessState::before(events, end);
    let wanted = match service {
        UptakeService::Appointments => Service::Appointments,
        UptakeService::RepeatPrescriptions => Service::RepeatPrescriptions,
    };
    let users: BTreeSet<PatientId> = events
        .iter()
        .filter(|e| e.at >= start && e.at < end && used(e, service))
        .filter_map(|e| e.patient)
        .collect();
    let mut report = UptakeReport {
        service,
        from,
        to,
        enabled: 0,
        unused: UptakeGroup::default(),
        follow_up: Vec::new(),
    };
    for record in records {
        let Some(account) = record.account.as_ref() else {
            continue;
        };
        let Some(p) = state.patients.get(&record.patient) else {
            continue;
        };
        if !p.enabled_for(wanted) {
            continue;
        }
        report.enabled += 1;
        if users.contains(&record.patient) {
            continue;
        }
        let age = age_on(account.date_of_birth, to);
        let registered = p
            .registered_at
            .map(|t| to_local(t).format("%Y-%m").to_string())
            .unwrap_or_default();
        let g = &mut report.unused;
        *g.by_age.entry(AgeBand::of(age)).or_default() += 1;
        *g.by_registration_month
            .entry(registered.clone())
            .or_default() += 1;
        match account.registration {
            RegistrationKind::Regular => g.regular += 1,
            RegistrationKind::Temporary => g.temporary += 1,
        }
        report.follow_up.push(UptakeEntry {
            patient: record.patient,
            nhs_number: account.nhs_number,
            age,
            registered,
            registration: account.registration,
        });
    }
    report.follow_up.sort_by(|a, b| {
        a.registered
            .cmp(&b.registered)
            .then(a.patient.cmp(&b.patient))
    });
    Ok(report)
}
