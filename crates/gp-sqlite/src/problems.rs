//! The problem log's port on SQLite.

use async_trait::async_trait;
use gp_core::{AuditEvent, ProblemId, StoreError};
use gp_monitoring::problems::{check_version, CommitError, Committable, Precondition};
use gp_monitoring::{Problem, ProblemFilter, ProblemStore};
use rusqlite::{params, Connection, OptionalExtension};

use crate::chain::append_events;
use crate::rows::{corrupt, from_json, json, json_rows, nanos, storage};
use crate::store::SqliteStore;

fn problem(conn: &Connection, id: ProblemId) -> Result<Option<Problem>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM problems WHERE id = ?1")
        .and_then(|mut s| s.query_row([id.to_string()], |r| r.get(0)).optional())
        .map_err(storage)?;
    body.map(|b| from_json(&b)).transpose()
}

fn holds(conn: &Connection, p: &Precondition) -> Result<bool, StoreError> {
    Ok(match p {
        Precondition::ProblemNew(id) => problem(conn, *id)?.is_none(),
        Precondition::ProblemAt {
            problem: id,
            version,
        } => problem(conn, *id)?.is_some_and(|x| x.version == *version),
        Precondition::Authorized(guard) => crate::guard::guard_holds(conn, guard)?,
    })
}

fn apply(conn: &Connection, next: &Problem) -> Result<(), StoreError> {
    check_version(problem(conn, next.id)?.as_ref(), next)?;
    conn.prepare_cached(
        "INSERT INTO problems (id, at, status, category, patient, version, body) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) \
         ON CONFLICT (id) DO UPDATE SET status = excluded.status, version = excluded.version, body = excluded.body",
    )
    .map_err(storage)?
    .execute(params![
        next.id.to_string(),
        nanos(next.at)?,
        format!("{:?}", next.status),
        format!("{:?}", next.category),
        next.patient.map(|p| p.to_string()),
        i64::try_from(next.version).map_err(corrupt)?,
        json(next)?
    ])
    .map_err(storage)?;
    Ok(())
}

#[async_trait]
impl ProblemStore for SqliteStore {
    async fn problem(&self, id: ProblemId) -> Result<Option<Problem>, StoreError> {
        self.call(move |conn| problem(conn, id)).await
    }

    async fn problems(&self, filter: &ProblemFilter) -> Result<Vec<Problem>, StoreError> {
        let filter = filter.clone();
        self.call(move |conn| {
            let all: Vec<Problem> = json_rows(
                conn,
                "SELECT body FROM problems ORDER BY at, id",
                rusqlite::params![],
            )?;
            Ok(all.into_iter().filter(|p| filter.matches(p)).collect())
        })
        .await
    }

    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        self.commit_checked(decision, holds, |t, change| Ok(apply(t, &change.problem)?))
            .await
    }

    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let events = events.to_vec();
        self.write(move |t| append_events(t, &events)).await
    }
}
