//! The scenario scripts in `examples/scenarios/` replay as they expect, and
//! together they cover every setting and every reason code in the README's
//! booking, repeat prescribing, messaging and access tables. A bad script is
//! refused whole, naming the line and the field, and nothing runs.

#[allow(dead_code)]
#[path = "../examples/replay/main.rs"]
mod replay;

use std::collections::BTreeSet;
use std::sync::Arc;

use gp_sqlite::SqliteStore;

/// Reason codes the domain crates give but `Practice` never lets through:
/// the door's authorization refuses first, and the scenario line whose
/// note names the code shows what the door answers instead.
const REFUSED_AT_THE_DOOR: [&str; 4] = [
    "StaffOnly",
    "NotYourBooking",
    "PrescriberOnly",
    "AmendNotOnline",
];

fn scripts() -> Vec<(String, String)> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/scenarios");
    let mut out: Vec<(String, String)> = std::fs::read_dir(dir)
        .expect("the scenarios directory")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "jsonl"))
        .map(|p| {
            let text = std::fs::read_to_string(&p).expect("a script");
            (p.display().to_string(), text)
        })
        .collect();
    out.sort();
    out
}

fn run(text: &str) -> Result<Vec<replay::Outcome>, String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let store = Arc::new(SqliteStore::open_in_memory().expect("a store"));
    runtime
        .block_on(replay::replay(text, store))
        .map_err(|e| e.to_string())
}

#[test]
fn every_scenario_replays_as_it_expects() {
    let scripts = scripts();
    assert!(scripts.len() >= 3, "the scenarios are there");
    for (path, text) in scripts {
        let outcomes = run(&text).unwrap_or_else(|e| panic!("{path}: {e}"));
        let wrong: Vec<String> = outcomes
            .iter()
            .filter(|o| !o.as_expected)
            .map(|o| o.json.to_string())
            .collect();
        assert!(wrong.is_empty(), "{path}:\n{}", wrong.join("\n"));
        assert!(
            outcomes.iter().any(|o| o.result != "done"),
            "{path} shows refusals"
        );
    }
}

/// Backticked words in a table cell.
fn ticked(cell: &str) -> Vec<String> {
    cell.split('`')
        .skip(1)
        .step_by(2)
        .map(|s| s.trim_end_matches("(n)").to_owned())
        .collect()
}

/// The settings and reason codes the README's tables name, section by section.
fn readme_names() -> (BTreeSet<String>, BTreeSet<String>) {
    let readme = include_str!("../README.md");
    let start = readme
        .find("## Booking policy settings")
        .expect("the booking section");
    let end = readme
        .find("## Access, proxies")
        .expect("the access section");
    let (mut settings, mut codes) = (BTreeSet::new(), BTreeSet::new());
    let mut header: Vec<String> = Vec::new();
    for line in readme[start..end].lines() {
        if !line.starts_with('|') {
            header.clear();
            continue;
        }
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        if header.is_empty() {
            header = cells.iter().map(|c| (*c).to_owned()).collect();
            continue;
        }
        if cells.iter().all(|c| c.chars().all(|ch| ch == '-')) {
            continue;
        }
        for (h, cell) in header.iter().zip(&cells) {
            if h.starts_with("setting") {
                settings.extend(ticked(cell));
            }
            if h.contains("reason code") {
                codes.extend(ticked(cell));
            }
        }
    }
    (settings, codes)
}

#[test]
fn the_scenarios_cover_every_setting_and_reason_code_in_the_readme() {
    let (settings, codes) = readme_names();
    assert!(
        settings.len() >= 20 && codes.len() >= 50,
        "{settings:?} {codes:?}"
    );
    let mut covered = BTreeSet::new();
    let mut notes = String::new();
    for (_, text) in scripts() {
        covered.extend(replay::covered(&text));
        notes.push_str(&text);
    }
    let missing_settings: Vec<_> = settings.iter().filter(|s| !covered.contains(*s)).collect();
    assert!(
        missing_settings.is_empty(),
        "settings no scenario sets: {missing_settings:?}"
    );
    let missing_codes: Vec<_> = codes
        .iter()
        .filter(|c| !covered.contains(*c) && !REFUSED_AT_THE_DOOR.contains(&c.as_str()))
        .collect();
    assert!(
        missing_codes.is_empty(),
        "reason codes no scenario expects: {missing_codes:?}"
    );
    for code in REFUSED_AT_THE_DOOR {
        assert!(codes.contains(code), "{code} is still in the README");
        assert!(
            notes.contains(&format!("({code} in the domain; the door refuses")),
            "a scenario shows what the door answers instead of {code}"
        );
    }
}

#[test]
fn a_bad_script_names_the_line_and_field_and_runs_nothing() {
    let good =
        r#"{"at": "2026-06-01T09:00", "do": "patient", "name": "alice", "born": "1984-03-09"}"#;
    let cases = [
        ("{not json", "line 2: not JSON"),
        (
            r#"{"do": "book", "by": "alice", "patient": "alice"}"#,
            "line 2: missing field `slot`",
        ),
        (
            r#"{"do": "book", "by": "alice", "patient": "alice", "slot": "s", "colour": 1}"#,
            "unknown field `colour`",
        ),
        (
            r#"{"do": "fly", "by": "alice"}"#,
            "line 2: unknown variant `fly`",
        ),
        (r#"{"by": "alice"}"#, "line 2: missing field `do`"),
        (
            r#"{"at": "tomorrow", "do": "cancel", "by": "alice", "booking": "b"}"#,
            "line 2: field `at`",
        ),
        (
            r#"{"do": "cancel", "by": "alice", "booking": "b", "expect": 3}"#,
            "line 2: field `expect`",
        ),
        (
            r#"{"do": "cancel", "by": "alice", "booking": "b"}"#,
            "line 2: field `booking`: \"b\" is not defined",
        ),
        (
            r#"{"do": "cancel", "by": "mallory", "booking": "unknown-b"}"#,
            "line 2: field `by`: \"mallory\" is not defined",
        ),
        (
            r#"{"do": "book", "by": "alice", "patient": "alice", "slot": "alice"}"#,
            "line 2: field `slot`",
        ),
        (
            r#"{"do": "patient", "name": "alice", "born": "1990-01-01"}"#,
            "line 2: \"alice\" is defined twice",
        ),
        (
            r#"{"do": "booking_policy", "by": "manager", "settings": {"clinicians_not_online": ["nobody"]}}"#,
            "line 2: field `settings.clinicians_not_online`",
        ),
        (
            r#"{"do": "booking_policy", "by": "manager", "settings": {"holding_limit": 3}}"#,
            "line 2: field `settings`",
        ),
        (
            r#"{"do": "session", "name": "s", "clinician": "manager", "date": "2026-06-02", "start": "09:00", "end": "10:00", "minutes": 10}"#,
            "line 2: field `clinician`",
        ),
        (
            r#"{"do": "booking_policy", "by": "manager", "settings": {"zzz": 1}}"#,
            "line 2: field `settings`: unknown booking setting `zzz`",
        ),
        (
            r#"{"do": "item", "name": "i", "patient": "alice", "last_issued_days_ago": 100000000}"#,
            "line 2: field `last_issued_days_ago`",
        ),
        (
            r#"{"do": "item", "name": "i", "patient": "alice", "review_in_days": -9223372036854775807}"#,
            "line 2: field `review_in_days`",
        ),
        (
            r#"{"at": "+262142-12-31T23:59", "do": "item", "name": "i", "patient": "alice"}"#,
            "line 2: field `at`",
        ),
        (
            r#"{"at": "1066-10-14T09:00", "do": "patient", "name": "b", "born": "1040-01-01"}"#,
            "line 2: field `at`",
        ),
        (
            r#"{"at": "2026-05-31T09:00", "do": "patient", "name": "b", "born": "1980-01-01"}"#,
            "line 2: field `at`: 2026-05-31T09:00 is before",
        ),
        (
            r#"{"do": "patient", "name": "b", "born": "1980-13-01"}"#,
            "line 2: field `born`",
        ),
        (
            r#"{"do": "item", "name": "i", "patient": "alice", "medicine": -1}"#,
            "line 2: field `medicine`",
        ),
        (
            r#"{"do": "search", "by": "alice", "patient": "alice", "from": "2026-03-29T01:30", "to": "2026-03-30T09:00"}"#,
            "line 2: field `from`",
        ),
        (
            r#"{"do": "proxy", "name": "mum", "patient": "alice", "basis": "ParentalResponsibility"}
{"do": "cancel", "by": "mum", "booking": "unknown-b"}"#,
            "line 3: field `patient`",
        ),
    ];
    let with_a_gp = format!(
        "{good}\n{}",
        r#"{"do": "staff", "name": "drp", "role": "Gp"}"#
    );
    let sessions = [
        (
            r#"{"do": "session", "name": "s", "clinician": "drp", "date": "2026-06-02", "start": "10:00", "end": "09:00", "minutes": 10}"#,
            "line 3: field `end`",
        ),
        (
            r#"{"do": "session", "name": "s", "clinician": "drp", "date": "2026-06-02", "start": "09:00", "end": "09:05", "minutes": 10}"#,
            "line 3: field `end`",
        ),
        (
            r#"{"do": "session", "name": "s", "clinician": "drp", "date": "2026-06-02", "start": "09:00", "end": "10:00", "minutes": 4294967295}"#,
            "line 3: field `minutes`",
        ),
        (
            r#"{"do": "session", "name": "s", "clinician": "drp", "date": "2026-06-02", "start": "09:00", "end": "10:00", "minutes": -5}"#,
            "line 3: field `minutes`",
        ),
        (
            r#"{"do": "session", "name": "s", "clinician": "drp", "date": "2026-06-02", "start": "09:00", "end": "10:00", "minutes": 0}"#,
            "line 3: field `minutes`",
        ),
        (
            r#"{"do": "session", "name": "s", "clinician": "drp", "date": "2026-03-29", "start": "01:00", "end": "02:00", "minutes": 10}"#,
            "line 3: field `start`",
        ),
        (
            r#"{"do": "session", "name": "s", "clinician": "drp", "date": "9999-12-31", "start": "09:00", "end": "10:00", "minutes": 10}"#,
            "line 3: field `date`",
        ),
        (
            r#"{"do": "session", "name": "s", "clinician": "drp", "date": "2026-02-30", "start": "09:00", "end": "10:00", "minutes": 10}"#,
            "line 3: field `date`",
        ),
        (
            r#"{"do": "session", "name": "s", "clinician": "drp", "date": "2026-06-02", "start": "23:00", "end": "23:59:60", "minutes": 10}"#,
            "line 3: field `end`",
        ),
    ];
    for (bad, said) in sessions {
        let text = format!("{with_a_gp}\n{bad}\n");
        let err = replay::script::parse(&text).expect_err(bad).to_string();
        assert!(err.starts_with(said), "{bad}: said {err:?}, not {said:?}");
        assert!(run(&text).is_err(), "{bad} ran");
    }
    for (bad, said) in cases {
        let text = format!("{good}\n{bad}\n");
        let err = replay::script::parse(&text).expect_err(bad).to_string();
        assert!(
            err.starts_with(said) || err.contains(said),
            "{bad}: said {err:?}, not {said:?}"
        );
        // Nothing runs: `replay` refuses the script before the practice exists.
        let ran = run(&text);
        assert!(ran.is_err(), "{bad} ran");
    }
    assert!(replay::script::parse("").is_err());
}

#[test]
fn a_count_that_disagrees_is_reported_even_without_expect() {
    let text = r#"{"at": "2026-06-01T09:00", "do": "staff", "name": "drp", "role": "Gp"}
{"do": "session", "name": "s", "clinician": "drp", "date": "2026-06-02", "start": "09:00", "end": "09:40", "minutes": 10}
{"do": "patient", "name": "alice", "born": "1984-03-09"}
{"do": "search", "by": "alice", "patient": "alice", "from": "2026-06-01T10:00", "to": "2026-06-03T10:00", "expect_slots": 99}
{"do": "search", "by": "alice", "patient": "alice", "from": "2026-06-01T10:00", "to": "2026-06-03T10:00", "expect_slots": 4}"#;
    let outcomes = run(text).expect("runs");
    assert!(!outcomes[3].as_expected, "{}", outcomes[3].json);
    assert_eq!(outcomes[3].json["outcome"], "done");
    assert!(outcomes[4].as_expected, "{}", outcomes[4].json);
}

#[test]
fn a_disagreeing_expectation_is_reported() {
    let text = r#"{"at": "2026-06-01T09:00", "do": "patient", "name": "alice", "born": "1984-03-09"}
{"do": "search", "by": "alice", "patient": "alice", "from": "2026-06-01T10:00", "to": "2026-06-01T09:00", "expect": "done"}"#;
    let outcomes = run(text).expect("runs");
    assert!(outcomes[0].as_expected);
    assert!(!outcomes[1].as_expected);
    assert_eq!(outcomes[1].result, "SearchRangeEmpty");
    assert_eq!(outcomes[1].json["as_expected"], false);
}
