//! An in-memory chained audit trail.

use std::collections::HashSet;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;
use gp_core::{AuditEvent, EventId};

use crate::{chain, AuditError, AuditStore, ChainRecord, Hash, GENESIS};

#[derive(Debug, Default)]
struct State {
    records: Vec<ChainRecord>,
    ids: HashSet<EventId>,
}

/// An [`AuditStore`] held in memory behind one lock, for tests and trials.
#[derive(Debug, Default)]
pub struct MemoryAuditStore {
    state: Mutex<State>,
}

impl MemoryAuditStore {
    /// An empty trail.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Appends check everything before changing anything, so a poisoned
        // lock still guards a whole chain.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[async_trait]
impl AuditStore for MemoryAuditStore {
    async fn append(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        let mut state = self.lock();
        let mut batch = HashSet::new();
        if let Some(e) = events
            .iter()
            .find(|e| state.ids.contains(&e.id) || !batch.insert(e.id))
        {
            return Err(AuditError::Duplicate(e.id.to_string()));
        }
        let (seq, prev): (u64, Hash) = state
            .records
            .last()
            .map_or((0, GENESIS), |r| (r.seq, r.hash));
        let records = chain(prev, seq + 1, events);
        state.ids.extend(events.iter().map(|e| e.id));
        state.records.extend(records);
        Ok(())
    }

    async fn head(&self) -> Result<Option<(u64, Hash)>, AuditError> {
        Ok(self.lock().records.last().map(|r| (r.seq, r.hash)))
    }

    async fn read(&self, from: u64, to: u64) -> Result<Vec<ChainRecord>, AuditError> {
        Ok(self
            .lock()
            .records
            .iter()
            .filter(|r| r.seq >= from && r.seq <= to)
            .cloned()
            .collect())
    }
}
