//! The AccessStore port on SQLite.

use async_trait::async_trait;
use gp_access::{
    AccessFacts, AccessRecord, AccessSettings, AccessStore, CommitError, Committable, Precondition,
    SettingsFacts, StaffProfile, StoreError,
};
use gp_core::{AccountId, AuditEvent, PatientId, StaffId};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use crate::chain::{all_audit_events, append_events};
use crate::rows::{corrupt, from_json, json, json_rows, put_versioned, storage, versioned};
use crate::store::SqliteStore;

fn settings(conn: &Connection) -> Result<SettingsFacts, StoreError> {
    Ok(versioned::<AccessSettings>(conn, "access_settings")?
        .map(|(version, settings)| SettingsFacts { settings, version })
        .unwrap_or_default())
}

fn record(conn: &Connection, patient: PatientId) -> Result<AccessRecord, StoreError> {
    let row: Option<(i64, String)> = conn
        .prepare_cached("SELECT version, body FROM access_records WHERE patient = ?1")
        .and_then(|mut s| {
            s.query_row([patient.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(storage)?;
    match row {
        None => Ok(AccessRecord::empty(patient)),
        Some((version, body)) => {
            let mut r: AccessRecord = from_json(&body)?;
            r.version = u64::try_from(version).map_err(corrupt)?;
            Ok(r)
        }
    }
}

pub(crate) fn staff(conn: &Connection, staff: StaffId) -> Result<Option<StaffProfile>, StoreError> {
    let body: Option<String> = conn
        .prepare_cached("SELECT body FROM staff_profiles WHERE staff = ?1")
        .and_then(|mut s| s.query_row([staff.to_string()], |r| r.get(0)).optional())
        .map_err(storage)?;
    body.map(|b| from_json(&b)).transpose()
}

/// The practice-wide count of failed linkage attempts, from the trail's
/// index, by the rule of `gp_access::failed_redemption` (whole seconds).
fn failed_redemptions(
    conn: &Connection,
    from: chrono::DateTime<chrono::Utc>,
    to: chrono::DateTime<chrono::Utc>,
) -> Result<u64, StoreError> {
    conn.prepare_cached(
        "SELECT count(*) FROM audit_index \
         WHERE action = ?1 AND refused = 1 AND at_secs >= ?2 AND at_secs <= ?3",
    )
    .and_then(|mut stmt| {
        stmt.query_row(
            rusqlite::params![gp_access::REDEEM_ACTION, from.timestamp(), to.timestamp()],
            |r| r.get::<_, i64>(0),
        )
    })
    .map_err(storage)
    .map(|n| u64::try_from(n).unwrap_or(0))
}

fn apply(conn: &Connection, decision: &Committable) -> Result<(), CommitError> {
    for p in &decision.preconditions {
        let holds = match p {
            Precondition::RecordUnchanged { patient, version } => {
                record(conn, *patient)?.version == *version
            }
            Precondition::SettingsUnchanged { version } => settings(conn)?.version == *version,
            Precondition::NoStaffYet => conn
                .query_row(
                    "SELECT NOT EXISTS (SELECT 1 FROM staff_profiles)",
                    [],
                    |r| r.get(0),
                )
                .map_err(storage)?,
            Precondition::StaffAsStored { staff: id, profile } => {
                staff(conn, *id)?.as_ref() == profile.as_ref()
            }
            Precondition::FailedRedemptionsBelow { from, to, limit } => {
                failed_redemptions(conn, *from, *to)? < *limit
            }
        };
        if !holds {
            return Err(CommitError::Conflict(p.clone()));
        }
    }
    let change = &decision.change;
    if let Some(r) = &change.record {
        let version = record(conn, r.patient)?.version + 1;
        let account = r
            .account
            .as_ref()
            .and_then(|a| a.linkage.as_ref())
            .map(|l| l.account.to_string());
        let result = conn
            .prepare_cached(
                "INSERT INTO access_records (patient, version, account, body) VALUES (?1, ?2, ?3, ?4) \
                 ON CONFLICT (patient) DO UPDATE SET version = excluded.version, account = excluded.account, body = excluded.body",
            )
            .map_err(storage)?
            .execute(params![
                r.patient.to_string(),
                i64::try_from(version).map_err(corrupt)?,
                account,
                json(r)?
            ]);
        match result {
            Ok(_) => {}
            Err(e) if e.sqlite_error_code() == Some(ErrorCode::ConstraintViolation) => {
                return Err(CommitError::Store(StoreError::Invalid(format!(
                    "account {} belongs to another patient",
                    account.unwrap_or_default()
                ))))
            }
            Err(e) => return Err(storage(e).into()),
        }
    }
    if let Some(profile) = &change.staff {
        let mut profile = profile.clone();
        profile.version = staff(conn, profile.staff)?.map_or(0, |p| p.version) + 1;
        conn.prepare_cached(
            "INSERT INTO staff_profiles (staff, body) VALUES (?1, ?2) \
             ON CONFLICT (staff) DO UPDATE SET body = excluded.body",
        )
        .map_err(storage)?
        .execute(params![profile.staff.to_string(), json(&profile)?])
        .map_err(storage)?;
    }
    if let Some(s) = &change.settings {
        put_versioned(conn, "access_settings", s)?;
    }
    append_events(conn, &decision.events)?;
    Ok(())
}

#[async_trait]
impl AccessStore for SqliteStore {
    async fn load(
        &self,
        patient: PatientId,
        staff_id: Option<StaffId>,
    ) -> Result<AccessFacts, StoreError> {
        self.call(move |conn| {
            let t = conn.transaction().map_err(storage)?;
            let facts = AccessFacts {
                settings: settings(&t)?,
                record: record(&t, patient)?,
                staff: match staff_id {
                    Some(s) => staff(&t, s)?,
                    None => None,
                },
                listed: crate::patient_list::listed(&t, patient)?,
                one_booking_before_registration: false,
            };
            t.finish().map_err(storage)?;
            Ok(facts)
        })
        .await
    }

    fn loads_listing(&self) -> bool {
        true
    }

    async fn patient_for_account(
        &self,
        account: AccountId,
    ) -> Result<Option<PatientId>, StoreError> {
        self.call(move |conn| {
            let p: Option<String> = conn
                .prepare_cached("SELECT patient FROM access_records WHERE account = ?1")
                .and_then(|mut s| s.query_row([account.to_string()], |r| r.get(0)).optional())
                .map_err(storage)?;
            p.map(|p| p.parse::<PatientId>().map_err(corrupt))
                .transpose()
        })
        .await
    }

    async fn staff(&self, id: StaffId) -> Result<Option<StaffProfile>, StoreError> {
        self.call(move |conn| staff(conn, id)).await
    }

    async fn all_staff(&self) -> Result<Vec<StaffProfile>, StoreError> {
        self.call(|conn| json_rows(conn, "SELECT body FROM staff_profiles ORDER BY seq", []))
            .await
    }

    async fn settings(&self) -> Result<SettingsFacts, StoreError> {
        self.call(|conn| settings(conn)).await
    }

    async fn records(&self) -> Result<Vec<AccessRecord>, StoreError> {
        self.call(|conn| {
            let mut stmt = conn
                .prepare_cached("SELECT version, body FROM access_records ORDER BY seq")
                .map_err(storage)?;
            let rows = stmt
                .query_map([], |r| Ok((r.get::<_, i64>(0)?, r.get::<_, String>(1)?)))
                .map_err(storage)?;
            rows.map(|row| {
                let (version, body) = row.map_err(storage)?;
                let mut r: AccessRecord = from_json(&body)?;
                r.version = u64::try_from(version).map_err(corrupt)?;
                Ok(r)
            })
            .collect()
        })
        .await
    }

    async fn commit(&self, decision: &Committable) -> Result<(), CommitError> {
        let decision = decision.clone();
        self.write(move |t| apply(t, &decision)).await
    }

    async fn record_refusal(&self, events: &[AuditEvent]) -> Result<(), StoreError> {
        let events = events.to_vec();
        self.write(move |t| append_events(t, &events)).await
    }

    async fn failed_redemptions_in(
        &self,
        from: chrono::DateTime<chrono::Utc>,
        to: chrono::DateTime<chrono::Utc>,
    ) -> Result<u64, StoreError> {
        self.call(move |conn| failed_redemptions(conn, from, to))
            .await
    }

    async fn audit_events(&self) -> Result<Vec<AuditEvent>, StoreError> {
        self.call(|conn| all_audit_events(conn)).await
    }
}
