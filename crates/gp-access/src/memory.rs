//! An in-memory AccessStore that honours the whole contract.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use gp_core::{AccountId, AuditEvent, PatientId, StaffId};

use crate::decision::{AccessFacts, Committable, Precondition, SettingsFacts};
use crate::error::{CommitError, StoreError};
use crate::model::{AccessRecord, StaffProfile};
use crate::store::AccessStore;

#[derive(Debug, Default)]
struct State {
    settings: SettingsFacts,
    records: HashMap<PatientId, AccessRecord>,
    order: Vec<PatientId>,
    accounts: HashMap<AccountId, PatientId>,
    staff: HashMap<StaffId, StaffProfile>,
    staff_order: Vec<StaffId>,
    events: Vec<AuditEvent>,
}

impl State {
    fn record(&self, patient: PatientId) -> AccessRecord {
        self.records
            .get(&patient)
            .cloned()
            .unwrap_or_else(|| AccessRecord::empty(patient))
    }
}

/// An [`AccessStore`] held in memory, behind one lock. For tests, examples and
/// trials; data is lost when it is dropped.
#[derive(Debug, Default)]
pub struct MemoryAccessStore {
    state: Mutex<State>,
}

impl MemoryAccessStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every change is checked in full before any part is applied.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl AccessStore for MemoryAccessStore {
    async fn load(
        &self,
        patient: PatientId,
        staff: Option<StaffId>,
    ) -> Result<AccessFacts, StoreError> {
        let state = self.lock();
        Ok(AccessFacts {
            settings: state.settings.clone(),
            record: state.record(patient),
            staff: staff.and_then(|s| state.staff.get(&s).cloned()),
            listed: None,
            one_booking_before_registration: false,
        })
    }

    async fn patient_for_account(
        &self,
        account: AccountId,
    ) -> Result<Option<PatientId>, StoreError> {
        Ok(self.lock().accounts.get(&account).copied())
    }

    async fn staff(&self, staff: StaffId) -> Result<Option<StaffProfile>, StoreError> {
        Ok(self.lock().staff.get(&staff).cloned())
    }

    async fn all_staff(&self) -> Result<Vec<StaffProfile>, StoreError> {
        let state = self.lock();
        Ok(state
            .staff_order
            .iter()
            .filter_map(|s| state.staff.get(s).cloned())
            .collect())
    }

    async fn settings(&self) -> Result<SettingsFacts, StoreError> {
        Ok(self.lock().settings.clone())
    }

    async fn records(&self) -> Result<Vec<AccessRecord>, StoreError> {
        let state = self.lock();
        Ok(state.order.iter().map(|p| state.record(*p)).collect())
    }

    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        let mut state = self.lock();
        for p in &decision.preconditions {
            let holds = match p {
                Precondition::RecordUnchanged { patient, version } => {
                    state.record(*patient).version == *version
                }
                Precondition::SettingsUnchanged { version } => state.settings.version == *version,
                Precondition::NoStaffYet => state.staff.is_empty(),
                Precondition::StaffAsStored { staff, profile } => {
                    state.staff.get(staff) == profile.as_ref()
                }
                Precondition::FailedRedemptionsBelow { from, to, limit } => {
                    let failed = state
                        .events
                        .iter()
                        .filter(|e| crate::failed_redemption(e, *from, *to))
                        .count();
                    u64::try_from(failed).unwrap_or(u64::MAX) < *limit
                }
            };
            if !holds {
                return Err(CommitError::Conflict(p.clone()));
            }
        }
        let change = &decision.change;
        let account = change.record.as_ref().and_then(|r| {
            r.account
                .as_ref()?
                .linkage
                .as_ref()
                .map(|l| (l.account, r.patient))
        });
        if let Some((account, patient)) = account {
            if state.accounts.get(&account).is_some_and(|p| *p != patient) {
                return Err(StoreError::Invalid(format!(
                    "account {account} belongs to another patient"
                ))
                .into());
            }
        }
        if let Some(record) = &change.record {
            let mut record = record.clone();
            record.version = state.record(record.patient).version + 1;
            if let Some((account, patient)) = account {
                state.accounts.insert(account, patient);
            }
            if !state.records.contains_key(&record.patient) {
                state.order.push(record.patient);
            }
            state.records.insert(record.patient, record);
        }
        if let Some(profile) = &change.staff {
            let mut profile = profile.clone();
            profile.version = state.staff.get(&profile.staff).map_or(0, |p| p.version) + 1;
            if state.staff.insert(profile.staff, profile.clone()).is_none() {
                state.staff_order.push(profile.staff);
            }
        }
        if let Some(settings) = &change.settings {
            state.settings = SettingsFacts {
                settings: settings.clone(),
                version: state.settings.version + 1,
            };
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
