//! Reading and writing column values: errors, times, JSON bodies,
//! enums, versioned settings rows.

use chrono::{DateTime, Utc};
use gp_booking::StoreError;
use rusqlite::{Connection, OptionalExtension};

pub(crate) fn storage(e: rusqlite::Error) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

pub(crate) fn corrupt(e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(e.to_string())
}

pub(crate) fn nanos(at: DateTime<Utc>) -> Result<i64, StoreError> {
    at.timestamp_nanos_opt().ok_or_else(|| {
        StoreError::OutOfRange(format!("{at} (this store holds the years 1678 to 2261)"))
    })
}

pub(crate) fn json<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(corrupt)
}

pub(crate) fn from_json<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(corrupt)
}

/// The JSON bodies a query returns (one text column), decoded.
pub(crate) fn json_rows<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql).map_err(storage)?;
    let rows = stmt
        .query_map(params, |r| r.get::<_, String>(0))
        .map_err(storage)?;
    rows.map(|r| from_json(&r.map_err(storage)?)).collect()
}

/// A settings row (`one`, `version`, `body`) of `table`: its version and
/// value, or `None` if never stored.
pub(crate) fn versioned<T: serde::de::DeserializeOwned>(
    conn: &Connection,
    table: &str,
) -> Result<Option<(u64, T)>, StoreError> {
    let row: Option<(i64, String)> = conn
        .prepare_cached(&format!("SELECT version, body FROM {table} WHERE one = 1"))
        .and_then(|mut s| s.query_row([], |r| Ok((r.get(0)?, r.get(1)?))).optional())
        .map_err(storage)?;
    row.map(|(v, body)| Ok((u64::try_from(v).map_err(corrupt)?, from_json(&body)?)))
        .transpose()
}

/// Stores a settings row of `table`, moving its version on by one.
pub(crate) fn put_versioned<T: serde::Serialize>(
    conn: &Connection,
    table: &str,
    value: &T,
) -> Result<(), StoreError> {
    let body = json(value)?;
    conn.prepare_cached(&format!(
        "INSERT INTO {table} (one, version, body) VALUES (1, 1, ?1) \
         ON CONFLICT (one) DO UPDATE SET version = version + 1, body = excluded.body"
    ))
    .and_then(|mut st| st.execute([body]))
    .map_err(storage)?;
    Ok(())
}

/// Answers a `SELECT EXISTS (...)` query with one parameter.
pub(crate) fn exists(conn: &Connection, sql: &str, param: &str) -> Result<bool, StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut stmt| stmt.query_row([param], |r| r.get(0)))
        .map_err(storage)
}

/// An enum as stored in a column: a unit variant as its bare name (`Gp`),
/// any other variant as JSON (`{"Practice":"Blood test"}`).
pub(crate) fn enum_text<T: serde::Serialize>(value: &T) -> Result<String, StoreError> {
    let text = json(value)?;
    Ok(
        match text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) {
            Some(name) if !name.contains('\\') => name.to_owned(),
            _ => text,
        },
    )
}

/// Reads what [`enum_text`] wrote.
pub(crate) fn enum_from_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, StoreError> {
    use serde::de::IntoDeserializer;
    if text.starts_with('{') {
        from_json(text)
    } else {
        T::deserialize(IntoDeserializer::<serde::de::value::Error>::into_deserializer(text))
            .map_err(corrupt)
    }
}
