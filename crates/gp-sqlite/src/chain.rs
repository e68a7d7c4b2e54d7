//! The hash-chained audit trail: appended inside each write transaction,
//! read back for verification; the AuditStore port.

use async_trait::async_trait;
use gp_audit::{AuditError, AuditStore, ChainRecord, Hash};
use gp_booking::StoreError;
use gp_core::{AuditEvent, PersonalText};
use rusqlite::{params, Connection, ErrorCode, OptionalExtension};

use crate::rows::*;
use crate::store::SqliteStore;

/// Every audit event, oldest first, with the free text still kept attached.
pub(crate) fn all_audit_events(conn: &Connection) -> Result<Vec<AuditEvent>, StoreError> {
    let mut events: Vec<AuditEvent> =
        json_rows(conn, "SELECT body FROM audit_events ORDER BY seq", [])?;
    let mut stmt = conn
        .prepare_cached(
            "SELECT event_id, id, key, salt, text FROM audit_texts \
             WHERE text IS NOT NULL AND salt IS NOT NULL",
        )
        .map_err(storage)?;
    let mut texts: std::collections::HashMap<String, Vec<PersonalText>> =
        std::collections::HashMap::new();
    let rows = stmt
        .query_map([], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, String>(1)?,
                r.get::<_, String>(2)?,
                r.get::<_, String>(3)?,
                r.get::<_, String>(4)?,
            ))
        })
        .map_err(storage)?;
    for row in rows {
        let (event, id, key, salt, text) = row.map_err(storage)?;
        let uuid = |s: &str| {
            gp_core::uuid::Uuid::parse_str(s)
                .map_err(|_| StoreError::Corrupt(format!("audit text id {s:?}")))
        };
        texts.entry(event).or_default().push(PersonalText {
            id: uuid(&id)?,
            key,
            salt: uuid(&salt)?,
            text,
        });
    }
    if !texts.is_empty() {
        for e in &mut events {
            if let Some(t) = texts.remove(&e.id.to_string()) {
                e.texts = t;
            }
        }
    }
    Ok(events)
}

/// Erases the free text `id` (and its salt), keeping the row as a record
/// that it was erased and when.
fn erase_text(conn: &Connection, id: gp_core::uuid::Uuid, at_nanos: i64) -> Result<(), StoreError> {
    conn.prepare_cached(
        "UPDATE audit_texts SET text = NULL, salt = NULL, erased_at = ?2 \
             WHERE id = ?1 AND text IS NOT NULL",
    )
    .and_then(|mut stmt| stmt.execute(params![id.to_string(), at_nanos]))
    .map_err(storage)?;
    Ok(())
}

pub(crate) fn audit_head(conn: &Connection) -> Result<Option<(u64, Hash)>, StoreError> {
    let row: Option<(i64, Vec<u8>)> = conn
        .prepare_cached("SELECT seq, hash FROM audit_head WHERE one = 1")
        .and_then(|mut stmt| {
            stmt.query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
                .optional()
        })
        .map_err(storage)?;
    row.map(|(seq, hash)| Ok((u64::try_from(seq).map_err(corrupt)?, to_hash(hash)?)))
        .transpose()
}

pub(crate) fn to_hash(bytes: Vec<u8>) -> Result<Hash, StoreError> {
    Hash::try_from(bytes.as_slice())
        .map_err(|_| StoreError::Corrupt("an audit hash is not 32 bytes".into()))
}

/// A unique-constraint failure as `Duplicate(what)`; anything else as a storage failure.
fn duplicate_or_storage(
    what: impl FnOnce() -> String,
) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |err| match err.sqlite_error_code() {
        Some(ErrorCode::ConstraintViolation) => StoreError::Duplicate(what()),
        _ => storage(err),
    }
}

/// Appends `events` to the chain after the current head, and moves the head.
pub(crate) fn append_events(conn: &Connection, events: &[AuditEvent]) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let (last_seq, last_hash) = audit_head(conn)?.unwrap_or((0, gp_audit::GENESIS));
    let records = gp_audit::chain(last_hash, last_seq + 1, events);
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO audit_events (seq, id, prev_hash, hash, body) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(storage)?;
    let mut index = conn
        .prepare_cached(
            "INSERT OR REPLACE INTO audit_index (seq, action, refused, at_secs) VALUES (?1, ?2, ?3, ?4)",
        )
        .map_err(storage)?;
    let mut texts = conn
        .prepare_cached(
            "INSERT INTO audit_texts (id, event_id, key, salt, text) VALUES (?1, ?2, ?3, ?4, ?5)",
        )
        .map_err(storage)?;
    for (r, e) in records.iter().zip(events) {
        let seq = i64::try_from(r.seq).map_err(corrupt)?;
        for t in &e.texts {
            texts
                .execute(params![
                    t.id.to_string(),
                    e.id.to_string(),
                    t.key,
                    t.salt.to_string(),
                    t.text
                ])
                .map_err(duplicate_or_storage(|| format!("audit text {}", t.id)))?;
        }
        if !e.outcome.is_allowed() {
            index
                .execute(params![seq, e.action.as_str(), true, e.at.timestamp()])
                .map_err(storage)?;
        }
        stmt.execute(params![
            seq,
            e.id.to_string(),
            &r.prev_hash[..],
            &r.hash[..],
            r.body
        ])
        .map_err(duplicate_or_storage(|| format!("audit event {}", e.id)))?;
    }
    if let Some(last) = records.last() {
        let seq = i64::try_from(last.seq).map_err(corrupt)?;
        conn.prepare_cached(
            "INSERT INTO audit_head (one, seq, hash) VALUES (1, ?1, ?2) \
             ON CONFLICT (one) DO UPDATE SET seq = excluded.seq, hash = excluded.hash",
        )
        .and_then(|mut stmt| stmt.execute(params![seq, &last.hash[..]]))
        .map_err(storage)?;
    }
    Ok(())
}

pub(crate) fn read_chain(
    conn: &Connection,
    from: u64,
    to: u64,
) -> Result<Vec<ChainRecord>, StoreError> {
    let clamp = |v: u64| i64::try_from(v).unwrap_or(i64::MAX);
    let mut stmt = conn
        .prepare_cached("SELECT seq, prev_hash, hash, body FROM audit_events WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq")
        .map_err(storage)?;
    let rows = stmt
        .query_map(params![clamp(from), clamp(to)], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, Vec<u8>>(2)?,
                r.get::<_, String>(3)?,
            ))
        })
        .map_err(storage)?;
    rows.map(|row| {
        let (seq, prev, hash, body) = row.map_err(storage)?;
        Ok(ChainRecord {
            seq: u64::try_from(seq).map_err(corrupt)?,
            prev_hash: to_hash(prev)?,
            hash: to_hash(hash)?,
            body,
        })
    })
    .collect()
}

/// The audit action of erasing free text kept beside the trail.
pub const ACTION_TEXT_ERASE: &str = "audit.text_erase";

impl SqliteStore {
    /// Erases the free text `id` (a [`PersonalText`] an event refers to)
    /// at `at`, for a recorded member of staff, `by`, who gives `reason`
    /// (1 to 200 characters, in the trail: a professional decision): the
    /// words and their salt are removed, the chain is untouched, and an
    /// `audit.text_erase` event (the staff member in their recorded role,
    /// the original event's patient, the text's id as subject, the key and
    /// the reason) is appended in the same transaction.
    ///
    /// `Ok(false)`, and nothing written, if no kept text has that id (never
    /// stored, or already erased). An unknown member of staff or a bad
    /// reason is `StoreError::Invalid`, and nothing is written.
    ///
    /// This is the practice's data-protection tool (a correction or an
    /// erasure request): which staff may use it is the supplier's to
    /// decide. Only the audit copy is erased: the booking's cancellation
    /// and the access record keep their own copy of the words, corrected
    /// through those records.
    pub async fn erase_personal_text(
        &self,
        id: gp_core::uuid::Uuid,
        by: gp_core::StaffId,
        reason: &str,
        at: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, StoreError> {
        let reason = gp_core::bounded_text(reason, "erasure reason", 200, true)
            .map_err(|e| StoreError::Invalid(e.to_string()))?;
        let at_nanos = nanos(at)?;
        self.write(move |t| {
            let profile = crate::access::staff(t, by)?
                .ok_or_else(|| StoreError::Invalid(format!("staff member {by} is not recorded")))?;
            let kept: Option<(String, Option<String>)> = t
                .prepare_cached(
                    "SELECT x.key, json_extract(e.body, '$.patient') \
                     FROM audit_texts x LEFT JOIN audit_events e ON e.id = x.event_id \
                     WHERE x.id = ?1 AND x.text IS NOT NULL",
                )
                .and_then(|mut stmt| {
                    stmt.query_row([id.to_string()], |r| Ok((r.get(0)?, r.get(1)?)))
                        .optional()
                })
                .map_err(storage)?;
            let Some((key, patient)) = kept else {
                return Ok(false);
            };
            let patient = patient
                .and_then(|p| gp_core::uuid::Uuid::parse_str(&p).ok())
                .map(gp_core::PatientId::from_uuid);
            erase_text(t, id, at_nanos)?;
            let record = AuditEvent::decided(
                &gp_core::RandomIds,
                at,
                gp_core::Actor::Staff {
                    staff: by,
                    role: profile.role,
                },
                gp_core::Channel::Internal,
                patient,
                ACTION_TEXT_ERASE,
                gp_core::Outcome::Allowed,
            )
            .with_subject(gp_core::SubjectKind::Other, id)
            .with_detail("key", key)
            .with_detail("reason", reason);
            append_events(t, std::slice::from_ref(&record))?;
            Ok(true)
        })
        .await
    }
}

#[async_trait]
impl AuditStore for SqliteStore {
    async fn append(&self, events: &[AuditEvent]) -> Result<(), AuditError> {
        let events = events.to_vec();
        self.write(move |t| append_events(t, &events))
            .await
            .map_err(|e| match e {
                StoreError::Duplicate(what) => AuditError::Duplicate(what),
                other => AuditError::Unavailable(other.to_string()),
            })
    }

    async fn head(&self) -> Result<Option<(u64, Hash)>, AuditError> {
        self.call(|conn| audit_head(conn))
            .await
            .map_err(|e| AuditError::Unavailable(e.to_string()))
    }

    async fn read(&self, from: u64, to: u64) -> Result<Vec<ChainRecord>, AuditError> {
        self.call(move |conn| read_chain(conn, from, to))
            .await
            .map_err(|e| AuditError::Unavailable(e.to_string()))
    }
}
