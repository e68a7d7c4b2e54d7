//! The README's first command, run small: the practice day finishes, its
//! figures hang together, the same seed gives the same figures, and the
//! report is a self-contained page.

#[allow(dead_code)]
#[path = "../examples/practice_day/main.rs"]
mod practice_day;

use practice_day::{run, Args};

fn day(seed: u64, dir: &std::path::Path) -> practice_day::report::Tally {
    let args = Args {
        db: Some(dir.join(format!("day-{seed}.db"))),
        default_db: false,
        patients: 600,
        seed,
        html: Some(dir.join(format!("day-{seed}.html"))),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(run(args)).expect("the day runs")
}

/// The figures without the parts that depend on timing or commit order.
fn figures(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.contains("rush:") && !l.starts_with("Audit trail"))
        .collect()
}

#[test]
fn a_small_practice_day_runs_hangs_together_and_repeats_by_seed() {
    let dir = std::env::temp_dir().join(format!("practice-day-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a directory");
    let first = day(7, &dir);
    assert!(first.chain_verified, "the audit chain verifies");
    assert!(first.audit_events > 1_000);
    assert_eq!(first.patients, 600);
    assert!(
        first.released > 0,
        "ringfenced slots were released at 07:00"
    );
    let booked: usize = first.booked.values().sum();
    assert!(booked > 50, "{booked} bookings");
    // The rush: every collision gave exactly one `SlotTaken`, and every
    // requester ended with one booking, so 08:00 bookings equal requests.
    let at_eight: usize = first
        .booked
        .iter()
        .filter(|((h, _), _)| *h == 8)
        .map(|(_, n)| n)
        .sum();
    assert_eq!(at_eight, first.rush_requests);
    assert!(first.refused.get("SlotTaken").copied().unwrap_or(0) > 0);
    assert!(first.repeats.get("issued").copied().unwrap_or(0) > 0);
    assert_eq!((first.problems_reported, first.problems_resolved), (2, 1));
    for code in [
        "CoercionReviewPending",
        "ProxyRevoked",
        "LinkageKeyInvalid",
        "NotReleasedYet",
    ] {
        assert!(first.refused.contains_key(code), "{code} was shown");
    }
    let again = day(7, &dir.join("again").tap_mkdir());
    assert_eq!(figures(&first.text()), figures(&again.text()));
    let other = day(8, &dir);
    assert_ne!(figures(&first.text()), figures(&other.text()));
    let html = std::fs::read_to_string(dir.join("day-7.html")).expect("the report");
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg") && html.contains("SlotTaken"));
    assert!(!html.contains("<script"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_database_the_user_named_is_never_replaced() {
    let dir = std::env::temp_dir().join(format!("practice-day-keep-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let path = dir.join("theirs.db");
    std::fs::write(&path, b"somebody's file").expect("a file");
    let args = Args {
        db: Some(path.clone()),
        default_db: false,
        patients: 200,
        seed: 1,
        html: Some(dir.join("theirs.html")),
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let err = runtime.block_on(run(args)).expect_err("refused");
    assert!(err.to_string().contains("exists"), "{err}");
    assert_eq!(
        std::fs::read(&path).expect("still there"),
        b"somebody's file"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_report_never_replaces_a_file_the_user_has() {
    let dir = std::env::temp_dir().join(format!("practice-day-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a directory");
    let notes = dir.join("p.db.html");
    std::fs::write(&notes, b"my notes").expect("a file");
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    // The report beside `--db p.db` would be `p.db.html`, which exists.
    let beside = Args {
        db: Some(dir.join("p.db")),
        default_db: false,
        patients: 200,
        seed: 1,
        html: None,
    };
    let err = runtime.block_on(run(beside)).expect_err("refused");
    assert!(err.to_string().contains("exists"), "{err}");
    assert!(!dir.join("p.db").exists(), "nothing was made");
    // A report named as the database itself.
    let same = Args {
        db: Some(dir.join("q.db")),
        default_db: false,
        patients: 200,
        seed: 1,
        html: Some(dir.join("q.db")),
    };
    assert!(runtime.block_on(run(same)).is_err());
    assert!(!dir.join("q.db").exists(), "nothing was made");
    assert_eq!(std::fs::read(&notes).expect("still there"), b"my notes");
    let _ = std::fs::remove_dir_all(&dir);
}

trait TapMkdir {
    fn tap_mkdir(self) -> Self;
}

impl TapMkdir for std::path::PathBuf {
    fn tap_mkdir(self) -> Self {
        std::fs::create_dir_all(&self).expect("a directory");
        self
    }
}
