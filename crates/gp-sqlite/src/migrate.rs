//! Embedded, versioned schema migrations.

use rusqlite::Connection;

use crate::error::OpenError;

/// The migrations, in order; version N is `MIGRATIONS[N - 1]`.
pub(crate) const MIGRATIONS: &[&str] = &[
    include_str!("migrations/0001_booking.sql"),
    include_str!("migrations/0002_prescribing_messaging.sql"),
    include_str!("migrations/0003_access.sql"),
    include_str!("migrations/0004_booking_policy_patient_list.sql"),
];

/// The newest schema version this crate writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

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
        tx.commit().map_err(err)?;
    }
    Ok(())
}
