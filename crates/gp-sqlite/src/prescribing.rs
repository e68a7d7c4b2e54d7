//! The PrescribingStore port on SQLite.

use async_trait::async_trait;
use gp_core::{AuditEvent, PatientId, RequestId};
use gp_prescribing::{
    CommitError, Committable, OrderingRestriction, PatientRecord, Precondition, PrescribingChange,
    PrescribingFacts, PrescribingSettings, PrescribingStore, RepeatItem, RepeatRequest,
    RestrictionChange, SettingsFacts, StoreError,
};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use crate::chain::{all_audit_events, append_events};
use crate::rows::{
    corrupt, exists, from_json, json, json_rows, nanos, put_versioned, storage, versioned,
};
use crate::store::SqliteStore;

fn settings(conn: &Connection) -> Result<SettingsFacts, StoreError> {
    Ok(
        versioned::<PrescribingSettings>(conn, "prescribing_settings")?
            .map(|(version, settings)| SettingsFacts { settings, version })
            .unwrap_or_default(),
    )
}

fn bodies<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    param: Option<&str>,
) -> Result<Vec<T>, StoreError> {
    json_rows(conn, sql, rusqlite::params_from_iter(param.iter()))
}

fn record(conn: &Connection, patient: PatientId) -> Result<PatientRecord, StoreError> {
    let key = patient.to_string();
    let row: Option<(i64, Option<String>)> = conn
        .prepare_cached("SELECT version, restriction FROM prescribing_patients WHERE patient = ?1")
        .and_then(|mut s| {
            s.query_row([&key], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(storage)?;
    let Some((version, restriction)) = row else {
        return Ok(PatientRecord::empty(patient));
    };
    Ok(PatientRecord {
        patient,
        version: u64::try_from(version).map_err(corrupt)?,
        items: bodies(
            conn,
            "SELECT body FROM repeat_items WHERE patient = ?1 ORDER BY seq",
            Some(&key),
        )?,
        restriction: restriction
            .map(|r| from_json::<OrderingRestriction>(&r))
            .transpose()?,
        requests: bodies(
            conn,
            "SELECT body FROM repeat_requests WHERE patient = ?1 ORDER BY seq",
            Some(&key),
        )?,
    })
}

fn version(conn: &Connection, patient: PatientId) -> Result<u64, StoreError> {
    let v: Option<i64> = conn
        .prepare_cached("SELECT version FROM prescribing_patients WHERE patient = ?1")
        .and_then(|mut s| s.query_row([patient.to_string()], |r| r.get(0)).optional())
        .map_err(storage)?;
    u64::try_from(v.unwrap_or(0)).map_err(corrupt)
}

fn holds(conn: &Connection, p: &Precondition) -> Result<bool, StoreError> {
    Ok(match p {
        Precondition::PatientUnchanged {
            patient,
            version: v,
        } => version(conn, *patient)? == *v,
        Precondition::SettingsUnchanged { version } => settings(conn)?.version == *version,
        Precondition::NoOpenRequest(item) => !exists(
            conn,
            "SELECT EXISTS (SELECT 1 FROM request_lines WHERE item = ?1 AND open = 1)",
            &item.to_string(),
        )?,
        Precondition::Authorized(guard) => crate::guard::guard_holds(conn, guard)?,
    })
}

/// The patient a stored row belongs to, if the row is stored.
fn owner(conn: &Connection, table: &str, id: &str) -> Result<Option<String>, StoreError> {
    conn.prepare_cached(&format!("SELECT patient FROM {table} WHERE id = ?1"))
        .and_then(|mut s| s.query_row([id], |r| r.get(0)).optional())
        .map_err(storage)
}

fn check_owner(
    conn: &Connection,
    table: &str,
    what: &str,
    id: &str,
    belongs_to: PatientId,
    patient: PatientId,
) -> Result<(), CommitError> {
    if belongs_to != patient {
        return Err(StoreError::Invalid(format!(
            "{what} {id} belongs to patient {belongs_to}, not {patient}"
        ))
        .into());
    }
    match owner(conn, table, id)? {
        Some(o) if o != patient.to_string() => {
            Err(StoreError::Invalid(format!("{what} {id} is stored for another patient")).into())
        }
        _ => Ok(()),
    }
}

fn put_item(conn: &Connection, item: &RepeatItem) -> Result<(), CommitError> {
    let flagged = match (&item.not_taken, item.is_active()) {
        (Some(flag), true) => Some(nanos(flag.at)?),
        _ => None,
    };
    conn.prepare_cached(
        "INSERT INTO repeat_items (id, patient, active, flagged_at, body) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (id) DO UPDATE SET active = excluded.active, flagged_at = excluded.flagged_at, body = excluded.body",
    )
    .and_then(|mut s| {
        s.execute(params![
            item.id.to_string(),
            item.patient.to_string(),
            i64::from(item.is_active()),
            flagged,
            json(item).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
        ])
    })
    .map_err(storage)?;
    Ok(())
}

fn put_request(conn: &Connection, request: &RepeatRequest) -> Result<(), CommitError> {
    let id = request.id.to_string();
    conn.prepare_cached(
        "INSERT INTO repeat_requests (id, patient, at, open, body) VALUES (?1, ?2, ?3, ?4, ?5) \
         ON CONFLICT (id) DO UPDATE SET open = excluded.open, body = excluded.body",
    )
    .and_then(|mut s| {
        s.execute(params![
            id,
            request.patient.to_string(),
            nanos(request.at).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?,
            i64::from(request.is_open()),
            json(request).map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?
        ])
    })
    .map_err(storage)?;
    let mut line = conn
        .prepare_cached(
            "INSERT INTO request_lines (request, item, open) VALUES (?1, ?2, ?3) \
             ON CONFLICT (request, item) DO UPDATE SET open = excluded.open",
        )
        .map_err(storage)?;
    let patient = request.patient.to_string();
    for l in &request.lines {
        if owner(conn, "repeat_items", &l.item.to_string())?.as_deref() != Some(patient.as_str()) {
            return Err(StoreError::Invalid(format!(
                "request {id} names item {}, which is not on the patient's list",
                l.item
            ))
            .into());
        }
        let open = i64::from(l.state.status().is_open());
        match line.execute(params![id, l.item.to_string(), open]) {
            Ok(_) => {}
            Err(rusqlite::Error::SqliteFailure(e, _))
                if e.extended_code == rusqlite::ffi::SQLITE_CONSTRAINT_FOREIGNKEY =>
            {
                return Err(StoreError::Invalid(format!(
                    "request {id} names item {}, which is not stored",
                    l.item
                ))
                .into())
            }
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                return Err(CommitError::Conflict(Precondition::NoOpenRequest(l.item)))
            }
            Err(e) => return Err(storage(e).into()),
        }
    }
    Ok(())
}

fn apply(conn: &Connection, change: &PrescribingChange) -> Result<(), CommitError> {
    if let Some(s) = &change.settings {
        put_versioned(conn, "prescribing_settings", s)?;
    }
    let Some(patient) = change.patient else {
        if change.items.is_empty() && change.requests.is_empty() && change.restriction.is_none() {
            return Ok(());
        }
        return Err(StoreError::Invalid("a change to a record names no patient".into()).into());
    };
    let key = patient.to_string();
    conn.prepare_cached(
        "INSERT INTO prescribing_patients (patient, version) VALUES (?1, 1) \
         ON CONFLICT (patient) DO UPDATE SET version = version + 1",
    )
    .and_then(|mut s| s.execute([&key]))
    .map_err(storage)?;
    for item in &change.items {
        check_owner(
            conn,
            "repeat_items",
            "item",
            &item.id.to_string(),
            item.patient,
            patient,
        )?;
        put_item(conn, item)?;
    }
    for request in &change.requests {
        check_owner(
            conn,
            "repeat_requests",
            "request",
            &request.id.to_string(),
            request.patient,
            patient,
        )?;
        put_request(conn, request)?;
    }
    if let Some(r) = &change.restriction {
        let value = match r {
            RestrictionChange::Set(r) => Some(json(r)?),
            RestrictionChange::Lift => None,
        };
        conn.prepare_cached("UPDATE prescribing_patients SET restriction = ?2 WHERE patient = ?1")
            .and_then(|mut s| s.execute(params![key, value]))
            .map_err(storage)?;
    }
    Ok(())
}

#[async_trait]
impl PrescribingStore for SqliteStore {
    async fn load(&self, patient: PatientId) -> Result<PrescribingFacts, StoreError> {
        self.call(move |conn| {
            // One read transaction: the settings and the record as of one instant.
            let t = conn.transaction().map_err(storage)?;
            let facts = PrescribingFacts {
                settings: settings(&t)?,
                record: record(&t, patient)?,
            };
            t.finish().map_err(storage)?;
            Ok(facts)
        })
        .await
    }

    async fn settings(&self) -> Result<SettingsFacts, StoreError> {
        self.call(|conn| settings(conn)).await
    }

    async fn request_patient(&self, request: RequestId) -> Result<Option<PatientId>, StoreError> {
        self.call(move |conn| {
            owner(conn, "repeat_requests", &request.to_string())?
                .map(|p| p.parse::<PatientId>().map_err(corrupt))
                .transpose()
        })
        .await
    }

    async fn queue(&self) -> Result<Vec<RepeatRequest>, StoreError> {
        self.call(|conn| {
            bodies(
                conn,
                "SELECT body FROM repeat_requests WHERE open = 1 ORDER BY at, id",
                None,
            )
        })
        .await
    }

    async fn review_list(&self) -> Result<Vec<RepeatItem>, StoreError> {
        self.call(|conn| {
            bodies(
                conn,
                "SELECT body FROM repeat_items WHERE flagged_at IS NOT NULL AND active = 1 ORDER BY flagged_at, id",
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
