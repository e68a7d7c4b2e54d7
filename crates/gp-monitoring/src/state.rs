//! Who was enabled for which service at an instant, replayed from the audit trail.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use gp_access::Service;
use gp_core::{AuditEvent, Outcome, PatientId};

/// One patient's online access as the trail tells it at an instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PatientState {
    /// When they registered for online services (the last registration).
    pub registered_at: Option<DateTime<Utc>>,
    /// Whether their identity has been verified since.
    pub verified: bool,
    /// The services switched on.
    pub services: BTreeSet<Service>,
    /// Whether their own access is suspended.
    pub suspended: bool,
    /// When they were first enabled for any service.
    pub first_enabled: Option<DateTime<Utc>>,
}

impl PatientState {
    /// Whether they could use `service` online: registered, identity
    /// verified, not suspended, the service on.
    pub fn enabled_for(&self, service: Service) -> bool {
        self.registered_at.is_some()
            && self.verified
            && !self.suspended
            && self.services.contains(&service)
    }

    /// Whether they could use any service online.
    pub fn enabled(&self) -> bool {
        Service::ALL.into_iter().any(|s| self.enabled_for(s))
    }
}

/// Every patient's online access at an instant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AccessState {
    /// By patient.
    pub patients: BTreeMap<PatientId, PatientState>,
}

fn service_named(name: &str) -> Option<Service> {
    Service::ALL
        .into_iter()
        .find(|s| s.to_string() == name.trim())
}

impl AccessState {
    /// The state just before `until`: every allowed access event before it,
    /// in the trail's order.
    pub fn before(events: &[AuditEvent], until: DateTime<Utc>) -> Self {
        let mut state = Self::default();
        for e in events.iter().filter(|e| e.at < until) {
            state.apply(e);
        }
        state
    }

    /// Applies one event (anything but an allowed access change for a
    /// patient changes nothing).
    pub fn apply(&mut self, e: &AuditEvent) {
        if e.outcome != Outcome::Allowed {
            return;
        }
        let Some(patient) = e.patient else {
            return;
        };
        let action = e.action.as_str();
        if !matches!(
            action,
            "access.register"
                | "access.verify_identity"
                | "access.services"
                | "access.suspend"
                | "access.restore"
                | "coercion.review"
        ) {
            return;
        }
        let p = self.patients.entry(patient).or_default();
        match action {
            "access.register" => {
                p.registered_at = Some(e.at);
                p.verified = false;
                p.services.clear();
                p.suspended = false;
            }
            "access.verify_identity" => p.verified = true,
            "access.services" => {
                p.services = e
                    .details
                    .get("services")
                    .map(|list| list.split(',').filter_map(service_named).collect())
                    .unwrap_or_default();
            }
            "access.suspend" => p.suspended = true,
            "access.restore" => p.suspended = false,
            _ => {
                if e.details.get("outcome").map(String::as_str) == Some("OnlineAccessWithdrawn") {
                    p.suspended = true;
                }
            }
        }
        if p.first_enabled.is_none() && p.enabled() {
            p.first_enabled = Some(e.at);
        }
    }
}
