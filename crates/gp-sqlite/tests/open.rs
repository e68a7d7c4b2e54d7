//! Opening databases: migrations, newer schemas, foreign files, bad paths.

mod common;

use gp_booking::BookingStore;
use gp_sqlite::{OpenError, SqliteConfig, SqliteStore, Synchronous, SCHEMA_VERSION};
use rusqlite::Connection;

#[tokio::test]
async fn a_new_file_is_migrated_in_wal_mode_and_reopens_with_its_data() {
    let path = common::temp_db("reopen");
    {
        let store = SqliteStore::open(&path).unwrap();
        let ids = gp_core::SequentialIds::new(1);
        let (gp, schedule) =
            gp_testkit::fixtures::small_schedule(&ids, gp_testkit::fixtures::monday_morning(), 3);
        store.put_staff(&gp).await.unwrap();
        store.add_schedule(&schedule).await.unwrap();
    }
    let raw = Connection::open(&path).unwrap();
    let mode: String = raw
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
    let version: i64 = raw
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    drop(raw);
    let store = SqliteStore::open(&path).unwrap();
    let q = gp_booking::SearchQuery::between(
        gp_testkit::fixtures::monday_morning(),
        gp_testkit::fixtures::monday_morning() + chrono::Duration::days(3),
    );
    assert_eq!(
        store.find_slots(&q).await.unwrap().len(),
        3,
        "data survives reopening"
    );
}

#[test]
fn synchronous_normal_can_be_chosen() {
    let config = SqliteConfig {
        synchronous: Synchronous::Normal,
        ..SqliteConfig::default()
    };
    assert!(SqliteStore::open_with(common::temp_db("normal"), config).is_ok());
    assert_eq!(SqliteConfig::default().synchronous, Synchronous::Full);
}

#[test]
fn a_newer_schema_is_refused_and_the_file_left_unchanged() {
    let path = common::temp_db("newer");
    drop(SqliteStore::open(&path).unwrap());
    {
        let raw = Connection::open(&path).unwrap();
        raw.execute(
            "INSERT INTO schema_migrations (version) VALUES (?1)",
            [SCHEMA_VERSION + 5],
        )
        .unwrap();
        raw.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")
            .unwrap();
    }
    let before = std::fs::read(&path).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert_eq!(
        err,
        OpenError::NewerSchema {
            found: SCHEMA_VERSION + 5,
            supported: SCHEMA_VERSION
        }
    );
    assert!(err.to_string().contains("upgrade"));
    assert_eq!(std::fs::read(&path).unwrap(), before, "file unchanged");
}

#[test]
fn a_file_that_is_not_sqlite_is_refused_and_left_unchanged() {
    let path = common::temp_db("foreign");
    let text = b"Appointments list exported from another system\n".repeat(200);
    std::fs::write(&path, &text).unwrap();
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, OpenError::NotADatabase { .. }), "{err:?}");
    assert_eq!(std::fs::read(&path).unwrap(), text, "file unchanged");
}

#[test]
fn an_unopenable_path_is_a_typed_error() {
    let path = common::temp_db("missing-folder")
        .with_file_name("no-such-folder")
        .join("practice.db");
    let err = SqliteStore::open(&path).unwrap_err();
    assert!(matches!(err, OpenError::CannotOpen { .. }), "{err:?}");
    assert!(!path.exists());
}

#[tokio::test]
async fn a_version_1_database_is_upgraded_without_losing_its_bookings() {
    use gp_booking::{decide_book, BookFacts, BookRequest, BookingPolicy, Decision};
    use gp_prescribing::PrescribingStore;
    use gp_testkit::fixtures::{adult, monday_morning, repeat_item, small_schedule};

    // A database as version 1 of this crate left it: the booking schema only,
    // with a booking and its audit event in it.
    let path = common::temp_db("upgrade");
    let ids = gp_core::SequentialIds::new(31);
    let (gp, schedule) = small_schedule(&ids, monday_morning(), 2);
    let patient = adult(&ids);
    {
        let mut raw = Connection::open(&path).unwrap();
        let t = raw.transaction().unwrap();
        t.execute_batch(include_str!("../src/migrations/0001_booking.sql"))
            .unwrap();
        t.execute_batch(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY); \
             INSERT INTO schema_migrations (version) VALUES (1);",
        )
        .unwrap();
        t.commit().unwrap();
    }
    let slot = schedule.slots[0].id;
    let booked = {
        // Write the version-1 data through the booking port, then remove
        // what version 2 added, so the file is a true version-1 file.
        let store = SqliteStore::open(&path).unwrap();
        store.put_staff(&gp).await.unwrap();
        store.add_schedule(&schedule).await.unwrap();
        let snap = store
            .load_book(slot, patient.patient, monday_morning())
            .await
            .unwrap();
        let facts = BookFacts {
            slot: snap.slot,
            patient,
            holdings: snap.holdings,
            holdings_since: monday_morning(),
            organisation_holdings: None,
            adjacent: Vec::new(),
        };
        let request = BookRequest::patient_online(patient.patient, slot);
        let Decision::Allowed(c) = decide_book(
            &BookingPolicy::default(),
            &facts,
            &request,
            monday_morning(),
            &ids,
        ) else {
            panic!("the fixture booking was refused");
        };
        BookingStore::commit(&store, &c).await.unwrap();
        c
    };
    {
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch(
            "DROP INDEX live_bookings_by_organisation; DROP INDEX bookings_joined; ALTER TABLE bookings DROP COLUMN organisation; ALTER TABLE bookings DROP COLUMN joined_to; ALTER TABLE slots DROP COLUMN site; DROP TABLE problems; DROP TABLE audit_index; DROP TABLE audit_texts; DROP TABLE booking_settings; DROP TABLE patient_list; \
             DROP TABLE access_settings; DROP TABLE access_records; DROP TABLE staff_profiles; \
             DROP TABLE messages; DROP TABLE messaging_settings; DROP TABLE request_lines; \
             DROP TABLE repeat_requests; DROP TABLE repeat_items; DROP TABLE prescribing_patients; \
             DROP TABLE prescribing_settings; DELETE FROM schema_migrations WHERE version > 1; \
             PRAGMA application_id = 0; PRAGMA user_version = 0;",
        )
        .unwrap();
        let version: i64 = raw
            .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(version, 1);
    }
    // Opening it with this version migrates it, and everything is still there.
    let store = SqliteStore::open(&path).unwrap();
    let raw = Connection::open(&path).unwrap();
    let version: i64 = raw
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    let gp_booking::BookingChange::Book(booking) = &booked.change else {
        panic!("a booking");
    };
    assert_eq!(
        store.booking(booking.id).await.unwrap().as_ref(),
        Some(booking)
    );
    assert_eq!(
        BookingStore::audit_events(&store).await.unwrap(),
        booked.events
    );
    assert_eq!(
        gp_audit::AuditStore::verify_all(&store).await.unwrap(),
        Ok(())
    );
    // And the new tables work.
    let item = repeat_item(
        &ids,
        patient.patient,
        0,
        None,
        monday_morning().date_naive(),
    );
    let facts = store.load(patient.patient).await.unwrap();
    let gp_prescribing::Decision::Allowed(c) = gp_prescribing::decide_put_item(
        &facts,
        gp_core::Actor::System,
        gp_core::Channel::Internal,
        &item,
        monday_morning(),
        &ids,
    )
    .unwrap() else {
        panic!("refused");
    };
    PrescribingStore::commit(&store, &c).await.unwrap();
    assert_eq!(
        store.load(patient.patient).await.unwrap().record.items,
        vec![item]
    );
    assert_eq!(
        gp_audit::AuditStore::verify_all(&store).await.unwrap(),
        Ok(())
    );
}

#[tokio::test]
async fn a_version_3_database_is_upgraded_with_its_access_records_and_settings_intact() {
    use gp_access::{AccessStore, PatientList};
    use gp_core::{Actor, Channel, SequentialIds, StaffId, StaffRole};
    let path = common::temp_db("from-v3");
    let ids = SequentialIds::new(3);
    let now = gp_testkit::fixtures::monday_morning();
    let manager =
        gp_access::StaffProfile::new(StaffId::new(&ids), "Manager", StaffRole::PracticeManager);
    let patient = gp_core::PatientId::new(&ids);
    let (record, events) = {
        let store = SqliteStore::open(&path).unwrap();
        let first = gp_access::decide_first_manager(true, &manager, now, &ids).unwrap();
        let gp_access::Decision::Allowed(c) = first else {
            panic!("refused")
        };
        AccessStore::commit(&store, &c).await.unwrap();
        let by = gp_access::By {
            actor: Actor::Staff {
                staff: manager.staff,
                role: manager.role,
            },
            channel: Channel::Reception,
        };
        let facts = AccessStore::load(&store, patient, Some(manager.staff))
            .await
            .unwrap();
        let reg = gp_access::Registration {
            nhs_number: gp_testkit::fixtures::nhs_number(1),
            date_of_birth: chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap(),
            registration: gp_access::RegistrationKind::Regular,
            practice: gp_core::OdsCode::parse("A81001").unwrap(),
        };
        let gp_access::Decision::Allowed(c) =
            gp_access::decide_register(&facts, &by, &reg, now, &ids).unwrap()
        else {
            panic!("refused")
        };
        AccessStore::commit(&store, &c).await.unwrap();
        let settings = gp_prescribing::PrescribingSettings {
            too_early_days: 3,
            ..Default::default()
        };
        let current = gp_prescribing::PrescribingStore::settings(&store)
            .await
            .unwrap();
        let gp_prescribing::Decision::Allowed(c) =
            gp_prescribing::decide_settings(&current, by.actor, by.channel, &settings, now, &ids)
                .unwrap()
        else {
            panic!("refused")
        };
        gp_prescribing::PrescribingStore::commit(&store, &c)
            .await
            .unwrap();
        // A refusal, for version 5's index to find.
        let guessed = gp_access::decide_unknown_account_redemption(
            gp_core::AccountId::from_uuid(gp_core::uuid::Uuid::from_u128(9)),
            now,
            &ids,
        );
        AccessStore::record_refusal(&store, guessed.events())
            .await
            .unwrap();
        let record = AccessStore::load(&store, patient, None)
            .await
            .unwrap()
            .record;
        (record, AccessStore::audit_events(&store).await.unwrap())
    };
    {
        // Make it a true version-3 file: without what version 4 added (and
        // staff profiles as version 3 wrote them, with no version).
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch(
            "DROP INDEX live_bookings_by_organisation; DROP INDEX bookings_joined; ALTER TABLE bookings DROP COLUMN organisation; ALTER TABLE bookings DROP COLUMN joined_to; ALTER TABLE slots DROP COLUMN site; DROP TABLE problems; DROP TABLE audit_index; DROP TABLE audit_texts; DROP TABLE booking_settings; DROP TABLE patient_list; \
             UPDATE staff_profiles SET body = json_remove(body, '$.version'); \
             PRAGMA application_id = 0; PRAGMA user_version = 0; \
             DELETE FROM schema_migrations WHERE version > 3;",
        )
        .unwrap();
    }
    // Reading only, an older file is refused (upgrading it would write), untouched.
    let before = std::fs::read(&path).unwrap();
    assert!(matches!(
        SqliteStore::open_read_only(&path),
        Err(gp_sqlite::OpenError::OlderSchema { found: 3, .. })
    ));
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let store = SqliteStore::open(&path).unwrap();
    let raw = Connection::open(&path).unwrap();
    let version: i64 = raw
        .query_row("SELECT MAX(version) FROM schema_migrations", [], |r| {
            r.get(0)
        })
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    const { assert!(SCHEMA_VERSION >= 4) };
    // Everything from version 3 is still there, and the chain verifies.
    assert_eq!(
        AccessStore::load(&store, patient, None)
            .await
            .unwrap()
            .record,
        record
    );
    assert_eq!(
        AccessStore::staff(&store, manager.staff).await.unwrap(),
        Some(manager)
    );
    assert_eq!(
        gp_prescribing::PrescribingStore::settings(&store)
            .await
            .unwrap()
            .settings
            .too_early_days,
        3
    );
    assert_eq!(AccessStore::audit_events(&store).await.unwrap(), events);
    assert_eq!(
        gp_audit::AuditStore::verify_all(&store).await.unwrap(),
        Ok(())
    );
    // Version 5's index of the trail is derived from the events already there.
    let indexed: i64 = raw
        .query_row(
            "SELECT count(*) FROM audit_index i JOIN audit_events e USING (seq) \
             WHERE i.action = json_extract(e.body, '$.action')",
            [],
            |r| r.get(0),
        )
        .unwrap();
    let refused = events.iter().filter(|e| !e.outcome.is_allowed()).count();
    assert_eq!(indexed, refused as i64);
    assert!(refused > 0, "the fixture has refusals to index");
    // The new tables work: the default policy at version 0, an empty list.
    let policy = store.policy().await.unwrap();
    assert_eq!(
        (policy.version, policy.policy),
        (0, gp_booking::BookingPolicy::default())
    );
    assert_eq!(store.list_size().await.unwrap(), 0);
}

#[tokio::test]
async fn a_request_that_fails_inside_the_store_is_rolled_back_and_the_store_goes_on() {
    use gp_booking::{BookingStore, Decision};
    let store = SqliteStore::open(common::temp_db("panic")).unwrap();
    let ids = gp_core::SequentialIds::new(1);
    let (gp, schedule) =
        gp_testkit::fixtures::small_schedule(&ids, gp_testkit::fixtures::monday_morning(), 2);
    store.put_staff(&gp).await.unwrap();
    store.add_schedule(&schedule).await.unwrap();
    let patient = gp_core::PatientId::new(&ids);
    let now = gp_testkit::fixtures::monday_morning();
    // A decision that panics inside the write transaction.
    let boom: gp_booking::BookDecider = Box::new(|_| panic!("a defect in a decision"));
    let err = store
        .book_in_one_step(
            schedule.slots[0].id,
            patient,
            now,
            Vec::new(),
            Vec::new(),
            boom,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            gp_booking::CommitError::Store(gp_core::StoreError::Internal(_))
        ),
        "{err:?}"
    );
    // Nothing was written, and the store still serves.
    assert!(store.audit_events().await.unwrap().is_empty());
    let adult = gp_testkit::fixtures::adult(&ids);
    let slot = schedule.slots[1].id;
    let decide: gp_booking::BookDecider = Box::new(move |snap| {
        let facts = gp_booking::BookFacts {
            slot: snap.slot,
            patient: adult,
            holdings: snap.holdings,
            holdings_since: now,
            organisation_holdings: None,
            adjacent: Vec::new(),
        };
        gp_booking::decide_book(
            &snap.policy.policy,
            &facts,
            &gp_booking::BookRequest::patient_online(adult.patient, slot),
            now,
            &gp_core::SequentialIds::new(99),
        )
    });
    let answer = store
        .book_in_one_step(slot, adult.patient, now, Vec::new(), Vec::new(), decide)
        .await
        .unwrap();
    assert!(
        matches!(answer, Decision::Allowed(_)),
        "the store serves again: {answer:?}"
    );
    assert_eq!(store.audit_events().await.unwrap().len(), 1);
}

#[test]
fn another_applications_database_is_refused_before_anything_changes() {
    // A rota application's database, with a table whose name clashes with ours.
    let clashing = common::temp_db("foreign-clash");
    {
        let raw = Connection::open(&clashing).unwrap();
        raw.execute_batch(
            "CREATE TABLE slots (rota TEXT, shift TEXT); INSERT INTO slots VALUES ('A', 'early');",
        )
        .unwrap();
    }
    // One that marks itself with an application id of its own.
    let marked = common::temp_db("foreign-marked");
    {
        let raw = Connection::open(&marked).unwrap();
        raw.execute_batch("PRAGMA application_id = 1234; CREATE TABLE notes (body TEXT);")
            .unwrap();
    }
    // One with a table of its own and nothing of ours.
    let unrelated = common::temp_db("foreign-unrelated");
    {
        let raw = Connection::open(&unrelated).unwrap();
        raw.execute_batch("CREATE TABLE invoices (n INTEGER);")
            .unwrap();
    }
    for path in [&clashing, &marked, &unrelated] {
        let before = std::fs::read(path).unwrap();
        let err = SqliteStore::open(path).unwrap_err();
        assert!(matches!(err, OpenError::NotOurs { .. }), "{err:?}");
        assert_eq!(
            std::fs::read(path).unwrap(),
            before,
            "the refused file is byte-for-byte unchanged"
        );
        let wal = format!("{}-wal", path.display());
        assert!(
            !std::path::Path::new(&wal).exists(),
            "not switched to write-ahead logging"
        );
    }
}

#[test]
fn a_practice_database_is_marked_as_ours() {
    let path = common::temp_db("marked");
    drop(SqliteStore::open(&path).unwrap());
    let raw = Connection::open(&path).unwrap();
    let (id, version): (i32, i64) = raw
        .query_row(
            "SELECT * FROM pragma_application_id, pragma_user_version",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!((id, version), (gp_sqlite::APPLICATION_ID, SCHEMA_VERSION));
    drop(raw);
    // And it opens again.
    drop(SqliteStore::open(&path).unwrap());
}

#[tokio::test]
async fn a_schema_8_database_gains_slot_sites_and_keeps_its_slots() {
    let path = common::temp_db("schema-8");
    let ids = gp_core::SequentialIds::new(8);
    let (gp, schedule) =
        gp_testkit::fixtures::small_schedule(&ids, gp_testkit::fixtures::monday_morning(), 3);
    {
        let store = SqliteStore::open(&path).unwrap();
        store.put_staff(&gp).await.unwrap();
        store.add_schedule(&schedule).await.unwrap();
    }
    // Back to schema version 8, as a database written before branch
    // surgeries were kept.
    {
        let raw = Connection::open(&path).unwrap();
        raw.execute_batch(
            "ALTER TABLE slots DROP COLUMN site;
             DELETE FROM schema_migrations WHERE version = 9;
             PRAGMA user_version = 8;",
        )
        .unwrap();
    }
    let store = SqliteStore::open(&path).unwrap();
    let raw = Connection::open(&path).unwrap();
    let version: i64 = raw
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, SCHEMA_VERSION);
    assert_eq!(SCHEMA_VERSION, 9);
    let q = gp_booking::SearchQuery::between(
        gp_testkit::fixtures::monday_morning(),
        gp_testkit::fixtures::monday_morning() + chrono::Duration::days(3),
    );
    let found = store.find_slots(&q).await.unwrap();
    assert_eq!(found.len(), 3, "every slot kept");
    assert!(
        found.iter().all(|s| s.slot.site.is_none()),
        "at the main surgery"
    );
    assert_eq!(
        found.iter().map(|s| s.slot.clone()).collect::<Vec<_>>(),
        schedule.slots,
        "each slot as it was"
    );
}
