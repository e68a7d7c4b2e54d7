//! Embedded, versioned schema migrations.

use rusqlite::Connection;

use crate::error::OpenError;

/// The migrations, in order; version N is `MIGRATIONS[N - 1]`.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_booking.sql"),
    include_str!("migrations/0002_prescribing_messaging.sql"),
    include_str!("migrations/0003_access.sql"),
    include_str!("migrations/0004_booking_policy_patient_list.sql"),
    include_str!("migrations/0005_audit_index.sql"),
    include_str!("migrations/0006_audit_texts.sql"),
    include_str!("migrations/0007_problems.sql"),
    include_str!("migrations/0008_organisation_bookings.sql"),
    include_str!("migrations/0009_branch_surgeries.sql"),
];

/// The newest schema version this crate writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// `PRAGMA application_id` of a practice database ("GPOS"), written with the
/// first migration and checked on every open.
pub const APPLICATION_ID: i32 = 0x4750_4F53;

/// Every table any version of the schema creates (with the migrations' own).
const OUR_TABLES: &[&str] = &[
    "schema_migrations",
    "staff",
    "sessions",
    "slots",
    "bookings",
    "audit_events",
    "audit_head",
    "prescribing_settings",
    "prescribing_patients",
    "repeat_items",
    "repeat_requests",
    "request_lines",
    "messaging_settings",
    "messages",
    "access_settings",
    "access_records",
    "staff_profiles",
    "booking_settings",
    "patient_list",
    "audit_index",
    "audit_texts",
    "problems",
];

/// Why a database is not a practice database of ours, if it is not:
/// checked before anything is written. An empty database is ours to make;
/// one marked with our application id is ours; one from before the mark
/// (application id 0) is ours only if every table in it is one of ours and
/// it records its migrations.
pub(crate) fn not_ours(conn: &Connection) -> rusqlite::Result<Option<String>> {
    let id: i32 = conn.query_row("PRAGMA application_id", [], |r| r.get(0))?;
    let mut stmt = conn.prepare(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
    )?;
    let tables: Vec<String> = stmt
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    if tables.is_empty() || id == APPLICATION_ID {
        return Ok(None);
    }
    if id != 0 {
        return Ok(Some(format!(
            "it belongs to another application (application id {id:#x})"
        )));
    }
    if let Some(other) = tables.iter().find(|t| !OUR_TABLES.contains(&t.as_str())) {
        return Ok(Some(format!(
            "it holds a table of another application ({other})"
        )));
    }
    if !tables.iter().any(|t| t == "schema_migrations") {
        return Ok(Some(
            "it holds tables but no record of our migrations".into(),
        ));
    }
    Ok(None)
}

/// The version recorded in the database (0 for a new, empty database).
pub(crate) fn current_version(conn: &Connection) -> rusqlite::Result<i64> {
    let has_table: bool = conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations')",
        [],
        |r| r.get(0),
    )?;
    if !has_table {
        return Ok(0);
    }
    conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )
}

/// Applies every migration after `from`, each in its own transaction with its record.
pub(crate) fn migrate(conn: &mut Connection, from: i64) -> Result<(), OpenError> {
    let err = |e: rusqlite::Error| OpenError::Migration(e.to_string());
    for (i, sql) in MIGRATIONS
        .iter()
        .enumerate()
        .skip(usize::try_from(from).unwrap_or(0))
    {
        let version = i as i64 + 1;
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        // Another process may have migrated while we waited for the lock.
        if current_version(&tx).map_err(err)? >= version {
            continue;
        }
        tx.execute_batch(
            "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)",
        )
        .map_err(err)?;
        tx.execute_batch(sql).map_err(err)?;
        tx.execute(
            "INSERT INTO schema_migrations (version) VALUES (?1)",
            [version],
        )
        .map_err(err)?;
        mark(&tx, version).map_err(err)?;
        tx.commit().map_err(err)?;
    }
    // A database from before the mark, already up to date: mark it now.
    let id: i32 = conn
        .query_row("PRAGMA application_id", [], |r| r.get(0))
        .map_err(err)?;
    if id != APPLICATION_ID {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(err)?;
        mark(&tx, current_version(&tx).map_err(err)?).map_err(err)?;
        tx.commit().map_err(err)?;
    }
    Ok(())
}

/// Marks the database as a practice database at schema `version`.
fn mark(conn: &Connection, version: i64) -> rusqlite::Result<()> {
    conn.execute_batch(&format!(
        "PRAGMA application_id = {APPLICATION_ID}; PRAGMA user_version = {version};"
    ))
}
