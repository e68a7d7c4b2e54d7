//! An in-memory PrescribingStore that honours the whole contract.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use gp_core::{AuditEvent, MedicationId, PatientId, RequestId};

use crate::decision::{
    Committable, PatientRecord, Precondition, PrescribingChange, PrescribingFacts,
    RestrictionChange, SettingsFacts,
};
use crate::error::{CommitError, StoreError};
use crate::item::RepeatItem;
use crate::request::RepeatRequest;
use crate::store::PrescribingStore;

#[derive(Debug, Default)]
struct State {
    settings: SettingsFacts,
    records: HashMap<PatientId, PatientRecord>,
    item_owner: HashMap<MedicationId, PatientId>,
    request_owner: HashMap<RequestId, PatientId>,
    events: Vec<AuditEvent>,
}

/// A [`PrescribingStore`] held in memory, behind one lock: every method sees
/// and changes the state as one step. For tests, examples and trials; data is
/// lost when it is dropped.
#[derive(Debug, Default)]
pub struct MemoryPrescribingStore {
    state: Mutex<State>,
}

impl MemoryPrescribingStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A change is applied to a copy and swapped in whole, so a poisoned
        // lock still guards a consistent state.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl State {
    fn record(&self, patient: PatientId) -> PatientRecord {
        self.records
            .get(&patient)
            .cloned()
            .unwrap_or_else(|| PatientRecord::empty(patient))
    }

    fn holds(&self, p: &Precondition) -> bool {
        match p {
            Precondition::PatientUnchanged { patient, version } => {
                self.record(*patient).version == *version
            }
            Precondition::SettingsUnchanged { version } => self.settings.version == *version,
            Precondition::NoOpenRequest(item) => self
                .item_owner
                .get(item)
                .is_none_or(|owner| !self.record(*owner).has_open_request(*item)),
            // Refused before this is asked (see `commit`).
            Precondition::Authorized(_) => false,
        }
    }

    /// Works out the settings and record a change leaves, checking it hangs
    /// together, without touching the state.
    fn prepare(
        &self,
        change: &PrescribingChange,
    ) -> Result<(Option<SettingsFacts>, Option<PatientRecord>), CommitError> {
        let settings = change.settings.as_ref().map(|s| SettingsFacts {
            settings: s.clone(),
            version: self.settings.version + 1,
        });
        let Some(patient) = change.patient else {
            if change.items.is_empty() && change.requests.is_empty() && change.restriction.is_none()
            {
                return Ok((settings, None));
            }
            return Err(StoreError::Invalid("a change to a record names no patient".into()).into());
        };
        let mut record = self.record(patient);
        for item in &change.items {
            check_owner(&self.item_owner, item.id, item.patient, patient, "item")?;
            match record.items.iter_mut().find(|i| i.id == item.id) {
                Some(stored) => *stored = item.clone(),
                None => record.items.push(item.clone()),
            }
        }
        for request in &change.requests {
            check_owner(
                &self.request_owner,
                request.id,
                request.patient,
                patient,
                "request",
            )?;
            if let Some(line) = request.lines.iter().find(|l| record.item(l.item).is_none()) {
                return Err(StoreError::Invalid(format!(
                    "request {} names item {}, which is not on the patient's list",
                    request.id, line.item
                ))
                .into());
            }
            match record.requests.iter_mut().find(|r| r.id == request.id) {
                Some(stored) => *stored = request.clone(),
                None => record.requests.push(request.clone()),
            }
        }
        match &change.restriction {
            Some(RestrictionChange::Set(r)) => record.restriction = Some(r.clone()),
            Some(RestrictionChange::Lift) => record.restriction = None,
            None => {}
        }
        // One open line per item across the record's requests.
        let mut open = HashMap::new();
        for r in &record.requests {
            for l in r.lines.iter().filter(|l| l.state.status().is_open()) {
                if open.insert(l.item, r.id).is_some() {
                    return Err(CommitError::Conflict(Precondition::NoOpenRequest(l.item)));
                }
            }
        }
        record.version += 1;
        Ok((settings, Some(record)))
    }
}

/// Refuses an identifier stored for another patient, or a value of another patient.
fn check_owner<K: std::hash::Hash + Eq + std::fmt::Display>(
    owners: &HashMap<K, PatientId>,
    id: K,
    belongs_to: PatientId,
    patient: PatientId,
    what: &str,
) -> Result<(), StoreError> {
    if belongs_to != patient {
        return Err(StoreError::Invalid(format!(
            "{what} {id} belongs to patient {belongs_to}, not {patient}"
        )));
    }
    match owners.get(&id) {
        Some(owner) if *owner != patient => Err(StoreError::Invalid(format!(
            "{what} {id} is stored for another patient"
        ))),
        _ => Ok(()),
    }
}

#[async_trait]
impl PrescribingStore for MemoryPrescribingStore {
    async fn load(&self, patient: PatientId) -> Result<PrescribingFacts, StoreError> {
        let state = self.lock();
        Ok(PrescribingFacts {
            settings: state.settings.clone(),
            record: state.record(patient),
        })
    }

    async fn settings(&self) -> Result<SettingsFacts, StoreError> {
        Ok(self.lock().settings.clone())
    }

    async fn request_patient(&self, request: RequestId) -> Result<Option<PatientId>, StoreError> {
        Ok(self.lock().request_owner.get(&request).copied())
    }

    async fn queue(&self) -> Result<Vec<RepeatRequest>, StoreError> {
        let state = self.lock();
        let mut out: Vec<RepeatRequest> = state
            .records
            .values()
            .flat_map(|r| r.requests.iter().filter(|q| q.is_open()).cloned())
            .collect();
        out.sort_by_key(|r| (r.at, r.id));
        Ok(out)
    }

    async fn review_list(&self) -> Result<Vec<RepeatItem>, StoreError> {
        let state = self.lock();
        let mut out: Vec<RepeatItem> = state
            .records
            .values()
            .flat_map(|r| {
                r.items
                    .iter()
                    .filter(|i| i.is_active() && i.not_taken.is_some())
                    .cloned()
            })
            .collect();
        out.sort_by_key(|i| (i.not_taken.as_ref().map(|f| f.at), i.id));
        Ok(out)
    }

    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        let mut state = self.lock();
        for p in &decision.preconditions {
            if let Precondition::Authorized(guard) = p {
                return Err(StoreError::Invalid(format!(
                    "the access record of patient {} cannot be checked: this store keeps none",
                    guard.patient
                ))
                .into());
            }
        }
        if let Some(p) = decision.preconditions.iter().find(|p| !state.holds(p)) {
            return Err(CommitError::Conflict(p.clone()));
        }
        let (settings, record) = state.prepare(&decision.change)?;
        if let Some(settings) = settings {
            state.settings = settings;
        }
        if let Some(record) = record {
            for item in &record.items {
                state.item_owner.insert(item.id, record.patient);
            }
            for request in &record.requests {
                state.request_owner.insert(request.id, record.patient);
            }
            state.records.insert(record.patient, record);
        }
        state.events.extend(decision.events.iter().cloned());
        Ok(())
    }

    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        self.lock().events.extend(events.iter().cloned());
        Ok(())
    }

    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        Ok(self.lock().events.clone())
    }
}
