//! Helpers shared by the SQLite tests.
#![allow(dead_code)] // reason: each test file uses a different part

use std::path::PathBuf;

/// A fresh database path under Cargo's temporary folder for integration tests.
pub fn temp_db(name: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("gp-sqlite-tests");
    std::fs::create_dir_all(&dir).expect("temporary folder");
    let path = dir.join(format!("{name}-{}.db", gp_core::uuid::Uuid::new_v4()));
    let _ = std::fs::remove_file(&path);
    path
}

/// A store on a fresh file.
pub fn file_store(name: &str) -> gp_sqlite::SqliteStore {
    gp_sqlite::SqliteStore::open(temp_db(name)).expect("open a fresh database")
}
