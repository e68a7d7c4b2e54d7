//! The practice's POMI monthly return (Patient Online Management
//! Information), in the long CSV shape NHS England publishes.

use std::fmt::Write as _;

use gp_access::Service;
use gp_core::{AuditEvent, Channel, Outcome};

use crate::state::AccessState;
use crate::Month;

/// The practice's identity in the return, from configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Practice {
    /// NHS England region code (e.g. `Y56`).
    pub region_code: String,
    /// NHS England region name.
    pub region_name: String,
    /// Sub-ICB location code (e.g. `93C`).
    pub sub_icb_location_code: String,
    /// Sub-ICB location name.
    pub sub_icb_location_name: String,
    /// The practice's ODS code.
    pub practice_code: String,
    /// The practice's name.
    pub practice_name: String,
    /// The clinical system supplier's name.
    pub system_supplier: String,
}

impl Practice {
    /// An example practice, for documentation and tests.
    pub fn example() -> Self {
        Self {
            region_code: "Y56".into(),
            region_name: "LONDON".into(),
            sub_icb_location_code: "93C".into(),
            sub_icb_location_name: "NHS NORTH CENTRAL LONDON ICB - 93C".into(),
            practice_code: "A81001".into(),
            practice_name: "THE DENSHAM SURGERY".into(),
            system_supplier: "EXAMPLE SUPPLIER".into(),
        }
    }
}

/// What the return is computed from.
#[derive(Debug, Clone, Copy)]
pub struct PomiInput<'a> {
    /// The month.
    pub month: Month,
    /// The practice's codes and names.
    pub practice: &'a Practice,
    /// Patients on the practice's list (the list as the return is made:
    /// the list port keeps no history).
    pub list_size: u64,
    /// The audit trail, in its order (at least up to the month's end).
    pub events: &'a [AuditEvent],
}

/// The fields of the return, in the order they are written.
pub const FIELDS: [&str; 13] = [
    "patient_list_size",
    "Sys_Appts_Enbld",
    "Sys_Presc_Enbld",
    "Sys_DetCodeRec_Enbld",
    "Pat_Appts_Enbld",
    "Pat_Appts_Use",
    "Pat_Presc_Enbld",
    "Pat_Presc_Use",
    "Pat_DetCodeRec_Enbld",
    "Pat_DetCodeRec_Use",
    "Total_Pat_Enbld",
    "New_Pat_Enbld",
    "Total_Use",
];

/// One figure of the return.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PomiField {
    /// Its name, as NHS England writes it (mixed case).
    pub field: &'static str,
    /// Its value.
    pub value: u64,
}

/// A practice's return for one month.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PomiReturn {
    /// The month.
    pub month: Month,
    /// The practice.
    pub practice: Practice,
    /// The figures, in [`FIELDS`] order.
    pub fields: Vec<PomiField>,
}

impl PomiReturn {
    /// The value of `field`, if it is one of [`FIELDS`].
    pub fn get(&self, field: &str) -> Option<u64> {
        self.fields
            .iter()
            .find(|f| f.field == field)
            .map(|f| f.value)
    }

    /// The long CSV: a header and one row per field.
    pub fn csv(&self) -> String {
        let mut out = String::from(
            "report_period_end,region_code,region_name,sub_ICB_location_code,sub_ICB_location_name,practice_code,practice_name,system_supplier,field,value\n",
        );
        let p = &self.practice;
        for f in &self.fields {
            let _ = writeln!(
                out,
                "{},{},{},{},{},{},{},{},{},{}",
                self.month.last_day().format("%Y-%m-%d"),
                csv_cell(&p.region_code),
                csv_cell(&p.region_name),
                csv_cell(&p.sub_icb_location_code),
                csv_cell(&p.sub_icb_location_name),
                csv_cell(&p.practice_code),
                csv_cell(&p.practice_name),
                csv_cell(&p.system_supplier),
                f.field,
                f.value
            );
        }
        out
    }
}

/// A CSV cell: quoted when it holds a comma, quote or line break; a cell
/// a spreadsheet would run as a formula gets a leading apostrophe.
fn csv_cell(text: &str) -> String {
    let text = if text.starts_with(['=', '+', '-', '@']) {
        format!("'{text}")
    } else {
        text.to_owned()
    };
    if text.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text
    }
}

/// How many online transactions an allowed event is for the appointments
/// figure: a booking or a cancellation is one; a reschedule, which cancels
/// one appointment and books another, is two.
fn appointment_transactions(e: &AuditEvent) -> u64 {
    match e.action.as_str() {
        "appointment.book" | "appointment.cancel" => 1,
        "appointment.reschedule" => 2,
        _ => 0,
    }
}

/// Whether an event is an online transaction by a patient or a proxy
/// (acting online for the patient), allowed, in the month.
fn online_in(e: &AuditEvent, month: &Month) -> bool {
    e.outcome == Outcome::Allowed
        && e.channel == Channel::Online
        && e.at >= month.start()
        && e.at < month.end()
}

/// Whether the practice offered online booking and online ordering at
/// `until`: the last allowed policy and prescribing-settings changes
/// before it (the defaults, which offer both, when there were none).
pub fn offered_at(events: &[AuditEvent], until: chrono::DateTime<chrono::Utc>) -> (bool, bool) {
    let (mut booking, mut ordering) = (true, true);
    for e in events
        .iter()
        .filter(|e| e.at < until && e.outcome == Outcome::Allowed)
    {
        match e.action.as_str() {
            "appointment.policy" => {
                booking = match e.details.get("online_booking") {
                    Some(v) => v == "true",
                    // Changes recorded before the flag was: the settings as written.
                    None => e.details.get("settings").is_none_or(|s| {
                        !s.contains("online_roles: {}") && !s.contains("online_slot_types: {}")
                    }),
                };
            }
            "prescription.settings" => {
                if let Some(v) = e.details.get("online_ordering") {
                    ordering = v == "true";
                }
            }
            _ => {}
        }
    }
    (booking, ordering)
}

/// Computes the return. Each field, as counted here:
///
/// - `patient_list_size`: patients on the practice's list when the return
///   is made ([`PomiInput::list_size`]).
/// - `Sys_Appts_Enbld`, `Sys_Presc_Enbld`: 2 when the practice offered the
///   service online at the month's end (the stored policy let at least one
///   role's slots of at least one type be booked online; online ordering
///   was on), 1 when it could but had switched it off (the product always
///   can), as NHS England's data dictionary codes them; replayed from the
///   settings changes in the trail ([`offered_at`]). `Sys_DetCodeRec_Enbld`: 0, this product does not offer access to
///   the detailed coded record.
/// - `Pat_Appts_Enbld`, `Pat_Presc_Enbld`: patients enabled for the service
///   at the month's end (00:00 UK time on the next month's first day):
///   registered for online services, identity verified, not suspended,
///   the service on. Replayed from the trail. Proxies are not counted;
///   patients are.
/// - `Pat_Appts_Use`: online bookings plus online cancellations made in
///   the month (UK time), by patients and by proxies acting online for
///   them; an online reschedule is a cancellation and a booking (two).
///   Refused attempts and staff bookings are not counted.
/// - `Pat_Presc_Use`: online repeat requests made in the month, by
///   patients and proxies, one per request whatever its number of items.
/// - `Pat_DetCodeRec_Enbld`, `Pat_DetCodeRec_Use`: 0 (not offered).
/// - `Total_Pat_Enbld`: patients enabled for at least one service
///   (appointments, repeat prescriptions or messages) at the month's end.
/// - `New_Pat_Enbld`: of those, patients first enabled for any service
///   during the month.
/// - `Total_Use`: `Pat_Appts_Use + Pat_Presc_Use + Pat_DetCodeRec_Use`.
pub fn pomi_return(input: &PomiInput<'_>) -> PomiReturn {
    let month = input.month;
    let at_end = AccessState::before(input.events, month.end());
    let enabled_for = |s: Service| {
        at_end
            .patients
            .values()
            .filter(|p| p.enabled_for(s))
            .count() as u64
    };
    let appts_use: u64 = input
        .events
        .iter()
        .filter(|e| online_in(e, &month))
        .map(appointment_transactions)
        .sum();
    let presc_use = input
        .events
        .iter()
        .filter(|e| online_in(e, &month) && e.action.as_str() == "prescription.request")
        .count() as u64;
    let total_enabled = at_end.patients.values().filter(|p| p.enabled()).count() as u64;
    let new_enabled = at_end
        .patients
        .values()
        .filter(|p| p.enabled())
        .filter(|p| p.first_enabled.is_some_and(|t| t >= month.start()))
        .count() as u64;
    let offered = |yes: bool| if yes { 2 } else { 1 };
    let (booking_offered, ordering_offered) = offered_at(input.events, month.end());
    let values = [
        input.list_size,
        offered(booking_offered),
        offered(ordering_offered),
        0,
        enabled_for(Service::Appointments),
        appts_use,
        enabled_for(Service::RepeatPrescriptions),
        presc_use,
        0,
        0,
        total_enabled,
        new_enabled,
        appts_use + presc_use,
    ];
    PomiReturn {
        month,
        practice: input.practice.clone(),
        fields: FIELDS
            .iter()
            .zip(values)
            .map(|(field, value)| PomiField { field, value })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_that_would_break_the_csv_or_run_as_formulas_are_escaped() {
        assert_eq!(csv_cell("PLAIN"), "PLAIN");
        assert_eq!(csv_cell("A, B"), "\"A, B\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=HYPERLINK(1)"), "'=HYPERLINK(1)");
        assert_eq!(csv_cell("-1"), "'-1");
    }
}
