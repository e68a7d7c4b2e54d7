//! The MessageStore port on SQLite.

use async_trait::async_trait;
use gp_core::{AuditEvent, MessageId, PatientId};
use gp_messaging::{
    check_revision, CommitError, Committable, InboxState, Message, MessageChange, MessageStore,
    MessagingSettings, Precondition, SettingsFacts, StoreError,
};
use rusqlite::{params, Connection, OptionalExtension};

use crate::chain::{all_audit_events, append_events};
use crate::rows::{corrupt, from_json, json, json_rows, nanos, put_versioned, storage, versioned};
use crate::store::SqliteStore;

fn settings(conn: &Connection) -> Result<SettingsFacts, StoreError> {
    Ok(versioned::<MessagingSettings>(conn, "messaging_settings")?
        .map(|(version, settings)| SettingsFacts { settings, version })
        .unwrap_or_default())
}

fn message(conn: &Connection, id: MessageId) -> Result<Option<Message>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM messages WHERE id = ?1")
        .and_then(|mut s| s.query_row([id.to_string()], |r| r.get(0)).optional())
        .map_err(storage)?;
    body.map(|b| from_json(&b)).transpose()
}

fn messages(
    conn: &Connection,
    sql: &str,
    param: Option<String>,
) -> Result<Vec<Message>, StoreError> {
    json_rows(conn, sql, rusqlite::params_from_iter(param.iter()))
}

fn holds(conn: &Connection, p: &Precondition) -> Result<bool, StoreError> {
    Ok(match p {
        Precondition::MessageNew(id) => message(conn, *id)?.is_none(),
        Precondition::MessageAt {
            message: id,
            revision,
        } => message(conn, *id)?.is_some_and(|m| m.revision == *revision),
        Precondition::SettingsUnchanged { version } => settings(conn)?.version == *version,
        Precondition::Authorized(guard) => crate::guard::guard_holds(conn, guard)?,
    })
}

fn apply(conn: &Connection, change: &MessageChange) -> Result<(), CommitError> {
    if let Some(m) = &change.message {
        let stored = message(conn, m.id)?;
        check_revision(stored.as_ref(), m).map_err(CommitError::Store)?;
        conn.prepare_cached(
            "INSERT INTO messages (id, patient, at, handled, revision, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6) \
             ON CONFLICT (id) DO UPDATE SET handled = excluded.handled, revision = excluded.revision, body = excluded.body",
        )
        .map_err(storage)?
        .execute(params![
            m.id.to_string(),
            m.patient.to_string(),
            nanos(m.at)?,
            i64::from(matches!(m.state, InboxState::Handled { .. })),
            i64::try_from(m.revision).map_err(corrupt)?,
            json(m)?
        ])
        .map_err(storage)?;
    }
    if let Some(s) = &change.settings {
        put_versioned(conn, "messaging_settings", s)?;
    }
    Ok(())
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn settings(&self) -> Result<SettingsFacts, StoreError> {
        self.call(|conn| settings(conn)).await
    }

    async fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        self.call(move |conn| message(conn, id)).await
    }

    async fn messages_for_patient(&self, patient: PatientId) -> Result<Vec<Message>, StoreError> {
        self.call(move |conn| {
            messages(
                conn,
                "SELECT body FROM messages WHERE patient = ?1 ORDER BY seq",
                Some(patient.to_string()),
            )
        })
        .await
    }

    async fn inbox(&self) -> Result<Vec<Message>, StoreError> {
        self.call(|conn| {
            messages(
                conn,
                "SELECT body FROM messages WHERE handled = 0 ORDER BY at, id",
                None,
            )
        })
        .await
    }

    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        self.commit_checked(decision, holds, apply).await
    }

    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let events = events.to_vec();
        self.write(move |t| append_events(t, &events)).await
    }

    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        self.call(|conn| all_audit_events(conn)).await
    }
}
