//! The `gp-admin` program, run as a user would: on a practice database
//! made through `Practice`, each command's output and exit status, its
//! errors, and that the database is never changed.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

use chrono::NaiveDate;
use gp_access::{
    By, Competency, ListedPatient, PatientList, Registration, RegistrationKind, Service,
    StaffProfile, VerificationMethod,
};
use gp_audit::{AuditStore, HmacKey};
use gp_booking::{BookRequest, BookingStore};
use gp_core::{Channel, FixedClock, OdsCode, PatientId, SequentialIds, StaffId, StaffRole};
use gp_online::Practice;
use gp_sqlite::SqliteStore;
use gp_testkit::fixtures::{monday_morning, nhs_number, practice as practice_fixture};

const KEY: &[u8] = b"a key of at least thirty-two bytes, kept apart";

fn admin(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_gp-admin"))
        .args(args)
        .output()
        .expect("gp-admin runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).into_owned(),
        String::from_utf8_lossy(&o.stderr).into_owned(),
    )
}

/// A practice database: a manager, a receptionist, a patient registered
/// online who books; a checkpoint signed over the trail.
fn practice_db(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let db = dir.join("practice.db");
    let ids = SequentialIds::new(5);
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .expect("a runtime");
    let checkpoint = rt.block_on(async {
        let store = Arc::new(SqliteStore::open(&db).expect("a store"));
        let clock = Arc::new(FixedClock::new(monday_morning()));
        let door = Practice::new(store.clone(), clock);
        let today = monday_morning().date_naive();
        let fixture = practice_fixture(&ids, today);
        for member in fixture.staff() {
            store.put_staff(&member).await.expect("staff");
        }
        store
            .add_schedule(&fixture.schedule)
            .await
            .expect("schedule");
        let manager = StaffProfile::new(StaffId::new(&ids), "Manager", StaffRole::PracticeManager);
        door.first_manager(&manager).await.expect("manager");
        let desk = StaffProfile::new(StaffId::new(&ids), "Desk", StaffRole::Receptionist)
            .with_competencies([Competency::VerifyIdentity]);
        door.put_staff(&By::staff(&manager, Channel::Reception), &desk)
            .await
            .expect("desk");
        let desk = By::staff(&desk, Channel::Reception);
        let patient = PatientId::new(&ids);
        let born = NaiveDate::from_ymd_opt(1980, 1, 1).expect("a date");
        let listed = ListedPatient::new(
            patient,
            nhs_number(1),
            born,
            RegistrationKind::Regular,
            born,
        )
        .expect("an entry");
        store.put_listed_patient(&listed).await.expect("listed");
        let registration = Registration {
            nhs_number: nhs_number(1),
            date_of_birth: born,
            registration: RegistrationKind::Regular,
            practice: OdsCode::parse("A81001").expect("a code"),
        };
        door.register(&desk, patient, &registration)
            .await
            .expect("register");
        door.verify_identity(&desk, patient, VerificationMethod::DocumentsSeen)
            .await
            .expect("verify");
        door.set_services(&desk, patient, &Service::ALL.into_iter().collect())
            .await
            .expect("services");
        let slot = fixture
            .first_slot(|s| {
                s.slot_type == gp_booking::SlotType::RoutineGp
                    && s.start() > monday_morning() + chrono::Duration::days(1)
            })
            .expect("a slot")
            .id;
        let booked = door
            .book(&BookRequest::patient_online(patient, slot))
            .await
            .expect("book");
        assert!(booked.refusal().is_none());
        let report = gp_monitoring::NewProblem::new(
            gp_core::Actor::Patient { patient },
            Channel::Online,
            Some(patient),
            gp_monitoring::ProblemCategory::CannotBook,
            "The booking page froze",
            None,
        )
        .expect("a report");
        let reported = door.report_problem(&report).await.expect("reported");
        let problem = reported.done().expect("reported").id;
        let report = gp_monitoring::NewProblem::new(
            desk.actor,
            Channel::Reception,
            None,
            gp_monitoring::ProblemCategory::Accessibility,
            "Screen reader skips the time list",
            None,
        )
        .expect("a report");
        assert!(door
            .report_problem(&report)
            .await
            .expect("reported")
            .refusal()
            .is_none());
        let acted = door
            .problem_action(
                &desk,
                problem,
                gp_monitoring::ProblemStatus::Resolved,
                "Fixed by the supplier",
            )
            .await
            .expect("acted");
        assert!(acted.refusal().is_none());
        let key = HmacKey::new("practice-key-1", KEY).expect("a key");
        store
            .checkpoint(&key, monday_morning())
            .await
            .expect("a checkpoint")
            .expect("events to sign")
    });
    let cp = dir.join("checkpoint.txt");
    std::fs::write(&cp, checkpoint.to_line()).expect("the checkpoint");
    let key = dir.join("key.bin");
    std::fs::write(&key, KEY).expect("the key");
    (db, cp, key)
}

fn config(dir: &Path) -> PathBuf {
    let path = dir.join("practice.conf");
    std::fs::write(
        &path,
        "# the practice\nregion_code = Y56\nregion_name = LONDON\nsub_ICB_location_code = 93C\n\
         sub_ICB_location_name = NHS NORTH CENTRAL LONDON ICB - 93C\npractice_code = A81001\n\
         practice_name = THE DENSHAM SURGERY\nsystem_supplier = EXAMPLE SUPPLIER\n",
    )
    .expect("a config");
    path
}

#[test]
fn every_command_reads_and_none_changes_the_database() {
    let dir = std::env::temp_dir().join(format!("gp-admin-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a directory");
    let (db, cp, key) = practice_db(&dir);
    let conf = config(&dir);
    let before = std::fs::read(&db).expect("the database");
    let db_s = db.to_str().expect("a path");

    let o = admin(&["verify", db_s]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.starts_with("verified: "), "{out}");
    let o = admin(&[
        "verify",
        db_s,
        "--checkpoint",
        cp.to_str().expect("a path"),
        "--key",
        key.to_str().expect("a path"),
    ]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(text(&o).0.contains("verified against the checkpoint"));

    let o = admin(&[
        "pomi",
        db_s,
        "--month",
        "2026-06",
        "--config",
        conf.to_str().expect("a path"),
    ]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 14);
    assert_eq!(lines[0], "report_period_end,region_code,region_name,sub_ICB_location_code,sub_ICB_location_name,practice_code,practice_name,system_supplier,field,value");
    assert!(out.contains("2026-06-30,Y56,LONDON,93C,NHS NORTH CENTRAL LONDON ICB - 93C,A81001,THE DENSHAM SURGERY,EXAMPLE SUPPLIER,patient_list_size,1\n"));
    assert!(
        out.contains(",Pat_Appts_Enbld,1\n")
            && out.contains(",Pat_Appts_Use,1\n")
            && out.contains(",New_Pat_Enbld,1\n")
    );
    let csv = dir.join("june.csv");
    let o = admin(&[
        "pomi",
        db_s,
        "--month",
        "2026-06",
        "--config",
        conf.to_str().expect("a path"),
        "--out",
        csv.to_str().expect("a path"),
    ]);
    assert!(o.status.success());
    assert_eq!(std::fs::read_to_string(&csv).expect("the csv"), out);
    let again = admin(&[
        "pomi",
        db_s,
        "--month",
        "2026-06",
        "--config",
        conf.to_str().expect("a path"),
        "--out",
        csv.to_str().expect("a path"),
    ]);
    assert_eq!(
        again.status.code(),
        Some(2),
        "an existing --out file is not replaced"
    );

    let o = admin(&["uptake", db_s, "--from", "2026-05-01", "--to", "2026-05-31"]);
    assert!(o.status.success(), "{}", text(&o).1);
    assert!(text(&o)
        .0
        .contains("online appointment booking, 2026-05-01 to 2026-05-31"));

    let o = admin(&["export", db_s, "--from-seq", "1", "--to-seq", "3"]);
    let (out, _) = text(&o);
    assert!(o.status.success());
    assert_eq!(out.lines().count(), 3);
    for line in out.lines() {
        let v: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
        assert!(v["hash"].is_string() && v["event"].is_object());
    }

    let o = admin(&["problems", db_s]);
    let (out, err) = text(&o);
    assert!(o.status.success(), "{err}");
    assert!(out.starts_with("2 problems\n"), "{out}");
    assert!(
        out.contains("CannotBook Resolved") && out.contains("-> Resolved: Fixed by the supplier")
    );
    let o = admin(&["problems", db_s, "--open"]);
    let (out, _) = text(&o);
    assert!(out.starts_with("1 problems open or in progress\n"), "{out}");
    assert!(out.contains("Accessibility Open"));

    let o = admin(&["policy", db_s]);
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).expect("JSON");
    assert_eq!(v["booking"]["settings"]["online_search_window_days"], 14);
    assert!(v["access"]["settings"]["linkage_key_days"].is_number());

    assert_eq!(
        std::fs::read(&db).expect("the database"),
        before,
        "no command changed it"
    );

    // A broken trail: exit 1, naming the sequence.
    {
        let conn = rusqlite::Connection::open(&db).expect("opened to tamper");
        conn.execute(
            "UPDATE audit_events SET body = replace(body, 'access', 'acc3ss') WHERE seq = 2",
            [],
        )
        .expect("tampered");
    }
    let o = admin(&["verify", db_s]);
    assert_eq!(o.status.code(), Some(1));
    assert!(text(&o).1.contains("sequence 2"), "{}", text(&o).1);
    // No figures from a broken trail.
    for args in [
        vec![
            "pomi",
            db_s,
            "--month",
            "2026-06",
            "--config",
            conf.to_str().expect("a path"),
        ],
        vec!["uptake", db_s, "--from", "2026-06-01", "--to", "2026-06-30"],
    ] {
        let o = admin(&args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert!(
            text(&o).1.contains("broken at sequence 2"),
            "{}",
            text(&o).1
        );
        assert!(o.stdout.is_empty());
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn what_cannot_run_says_why_and_exits_non_zero() {
    let dir = std::env::temp_dir().join(format!("gp-admin-bad-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a directory");
    let conf = config(&dir);
    let conf_s = conf.to_str().expect("a path");
    let missing = dir.join("missing.db");
    let missing_s = missing.to_str().expect("a path");
    let notes = dir.join("notes.db");
    std::fs::write(&notes, b"these are my notes, not a database").expect("a file");
    let notes_s = notes.to_str().expect("a path");
    let theirs = dir.join("theirs.db");
    rusqlite::Connection::open(&theirs)
        .expect("a database")
        .execute_batch("CREATE TABLE invoices (id INTEGER PRIMARY KEY);")
        .expect("their table");
    let theirs_s = theirs.to_str().expect("a path");
    for (args, says) in [
        (vec!["verify", missing_s], "no such file"),
        (vec!["verify", notes_s], "not an SQLite file"),
        (vec!["policy", theirs_s], "not a practice database"),
        (
            vec!["pomi", missing_s, "--month", "2026-3", "--config", conf_s],
            "--month",
        ),
        (
            vec![
                "pomi", missing_s, "--month", "2026-03", "--config", missing_s,
            ],
            "cannot read",
        ),
        (
            vec![
                "uptake",
                missing_s,
                "--from",
                "2026-03-01",
                "--to",
                "yesterday",
            ],
            "--to",
        ),
        (
            vec![
                "uptake",
                missing_s,
                "--from",
                "2026-03-31",
                "--to",
                "2026-03-01",
            ],
            "before",
        ),
        (
            vec!["export", missing_s, "--from-seq", "5", "--to-seq", "1"],
            "reversed",
        ),
        (vec!["verify", missing_s, "--checkpoint", conf_s], "--key"),
        (vec!["frobnicate"], "unrecognized subcommand"),
    ] {
        let o = admin(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {:?}", text(&o));
        assert!(text(&o).1.contains(says), "{args:?} said {:?}", text(&o).1);
    }
    assert!(!missing.exists(), "nothing was created");
    let o = admin(&[
        "uptake",
        missing_s,
        "--from",
        "2026-3-1",
        "--to",
        "2026-03-31",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        std::fs::read(&notes).expect("kept"),
        b"these are my notes, not a database"
    );
    let twice = dir.join("twice.conf");
    std::fs::write(&twice, "region_code = Y56\nregion_code = Y58\n").expect("a config");
    let o = admin(&[
        "pomi",
        notes_s,
        "--month",
        "2026-03",
        "--config",
        twice.to_str().expect("a path"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("given twice"), "{}", text(&o).1);
    let bad_conf = dir.join("bad.conf");
    std::fs::write(&bad_conf, "region_code = Y56\ncolour = blue\n").expect("a config");
    let o = admin(&[
        "pomi",
        notes_s,
        "--month",
        "2026-03",
        "--config",
        bad_conf.to_str().expect("a path"),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(text(&o).1.contains("line 2: unknown key `colour`"));
    for sub in ["verify", "pomi", "uptake", "export", "problems", "policy"] {
        let o = admin(&[sub, "--help"]);
        assert!(o.status.success(), "{sub} --help");
        assert!(text(&o).0.contains("Usage: gp-admin"));
    }
    let _ = std::fs::remove_dir_all(&dir);
}
