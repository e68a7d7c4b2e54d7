//! The MessageStore port on SQLite.

use async_trait::async_trait;
use gp_core::{AuditEvent, MessageId, PatientId};
use gp_messaging::{
    check_revision, CommitError, Committable, InboxState, Message, MessageStore, MessagingSettings,
    Precondition, SettingsFacts, StoreError,
};
use rusqlite::{params, Connection, OptionalExtension};

use crate::store::{append_events, corrupt, from_json, json, nanos, storage, SqliteStore};

type DbError = gp_booking::StoreError;

fn rx(e: DbError) -> StoreError {
    match e {
        DbError::Corrupt(s) => StoreError::Corrupt(s),
        DbError::Unavailable(s) => StoreError::Unavailable(s),
        other => StoreError::Unavailable(other.to_string()),
    }
}

enum Fail {
    Db(DbError),
    Commit(CommitError),
}

impl From<DbError> for Fail {
    fn from(e: DbError) -> Self {
        Fail::Db(e)
    }
}

fn settings(conn: &Connection) -> Result<SettingsFacts, DbError> {
    let row: Option<(i64, String)> = conn
        .prepare_cached("SELECT version, body FROM messaging_settings WHERE one = 1")
        .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(storage)?;
    match row {
        None => Ok(SettingsFacts::default()),
        Some((version, body)) => Ok(SettingsFacts {
            settings: from_json::<MessagingSettings>(&body)?,
            version: u64::try_from(version).map_err(corrupt)?,
        }),
    }
}

fn message(conn: &Connection, id: MessageId) -> Result<Option<Message>, DbError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM messages WHERE id = ?1")
        .and_then(|mut s| s.query_row([id.to_string()], |r| r.get(0)).optional())
        .map_err(storage)?;
    body.map(|b| from_json(&b)).transpose()
}

fn messages(conn: &Connection, sql: &str, param: Option<String>) -> Result<Vec<Message>, DbError> {
    let mut stmt = conn.prepare_cached(sql).map_err(storage)?;
    let rows = stmt
        .query_map(rusqlite::params_from_iter(param.iter()), |r| {
            r.get::<_, String>(0)
        })
        .map_err(storage)?;
    rows.map(|r| from_json(&r.map_err(storage)?)).collect()
}

fn holds(conn: &Connection, p: &Precondition) -> Result<bool, DbError> {
    Ok(match p {
        Precondition::MessageNew(id) => message(conn, *id)?.is_none(),
        Precondition::MessageAt {
            message: id,
            revision,
        } => message(conn, *id)?.is_some_and(|m| m.revision == *revision),
        Precondition::SettingsUnchanged { version } => settings(conn)?.version == *version,
    })
}

fn apply(conn: &Connection, decision: &Committable) -> Result<(), Fail> {
    if let Some(m) = &decision.change.message {
        let stored = message(conn, m.id)?;
        check_revision(stored.as_ref(), m).map_err(|e| Fail::Commit(CommitError::Store(e)))?;
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
    if let Some(s) = &decision.change.settings {
        conn.prepare_cached(
            "INSERT INTO messaging_settings (one, version, body) VALUES (1, 1, ?1) \
             ON CONFLICT (one) DO UPDATE SET version = version + 1, body = excluded.body",
        )
        .map_err(storage)?
        .execute([json(s)?])
        .map_err(storage)?;
    }
    Ok(())
}

#[async_trait]
impl MessageStore for SqliteStore {
    async fn settings(&self) -> Result<SettingsFacts, StoreError> {
        self.call(|conn| settings(conn)).await.map_err(rx)
    }

    async fn message(&self, id: MessageId) -> Result<Option<Message>, StoreError> {
        self.call(move |conn| message(conn, id)).await.map_err(rx)
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
        .map_err(rx)
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
        .map_err(rx)
    }

    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        let decision = decision.clone();
        self.write(move |t| {
            for p in &decision.preconditions {
                if !holds(t, p)? {
                    return Err(Fail::Commit(CommitError::Conflict(p.clone())));
                }
            }
            apply(t, &decision)?;
            append_events(t, &decision.events)?;
            Ok(())
        })
        .await
        .map_err(|f| match f {
            Fail::Db(e) => CommitError::Store(rx(e)),
            Fail::Commit(e) => e,
        })
    }

    async fn record_refusal(&self, event: &AuditEvent) -> Result<(), StoreError> {
        let event = event.clone();
        self.write(move |t| append_events(t, std::slice::from_ref(&event)))
            .await
            .map_err(rx)
    }

    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        self.call(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT body FROM audit_events ORDER BY seq")
                .map_err(storage)?;
            let rows = stmt
                .query_map([], |r| r.get::<_, String>(0))
                .map_err(storage)?;
            rows.map(|r| from_json(&r.map_err(storage)?)).collect()
        })
        .await
        .map_err(rx)
    }
}
