//! The hazard log (`docs/safety/hazard-log.md`) names its evidence exactly:
//! every named test must exist, and every hazard must name at least one.

use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every `` `crates/<path>.rs::<test>` `` (or `` `tests/<file>.rs::<test>` ``)
/// reference in `text`.
fn references(text: &str) -> Vec<(String, String)> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("crates/") || s.starts_with("tests/"))
        .filter_map(|s| {
            let (file, test) = s.split_once("::")?;
            Some((file.to_owned(), test.to_owned()))
        })
        .collect()
}

/// Problems with one reference: a file that is not there, or no test
/// function of that name in it.
fn check(file: &str, test: &str) -> Option<String> {
    let Ok(source) = std::fs::read_to_string(root().join(file)) else {
        return Some(format!("{file} does not exist"));
    };
    let declared = [format!("fn {test}("), format!("fn {test}<")]
        .iter()
        .any(|d| source.contains(d.as_str()));
    (!declared).then(|| format!("{file} has no test `{test}`"))
}

/// Every `` `examples/scenarios/<script>.jsonl#<Code>` `` reference in `text`.
fn scenarios(text: &str) -> Vec<(String, String)> {
    text.split('`')
        .skip(1)
        .step_by(2)
        .filter(|s| s.starts_with("examples/scenarios/") && !s.contains('<'))
        .filter_map(|s| {
            let (file, code) = s.split_once('#')?;
            Some((file.to_owned(), code.to_owned()))
        })
        .collect()
}

/// Problems with one scenario reference: no such script, or no line in it
/// expecting that code.
fn check_scenario(file: &str, code: &str) -> Option<String> {
    let Ok(script) = std::fs::read_to_string(root().join(file)) else {
        return Some(format!("{file} does not exist"));
    };
    let expects = script.lines().any(|l| {
        l.contains(&format!("\"expect\": \"{code}\""))
            || (l.contains("\"expect_lines\"") && l.contains(&format!("\"{code}\"")))
    });
    (!expects).then(|| format!("{file} has no line expecting `{code}`"))
}

#[test]
fn every_named_scenario_line_exists() {
    let log = std::fs::read_to_string(root().join("docs/safety/hazard-log.md"))
        .expect("docs/safety/hazard-log.md");
    let named = scenarios(&log);
    assert!(named.len() >= 20, "the log cites scenario lines");
    let problems: Vec<String> = named
        .iter()
        .filter_map(|(file, code)| check_scenario(file, code))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert!(check_scenario("examples/scenarios/booking.jsonl", "SlotTaken").is_none());
    assert!(check_scenario("examples/scenarios/booking.jsonl", "NoSuchCode").is_some());
    assert!(check_scenario("examples/scenarios/none.jsonl", "SlotTaken").is_some());
}

#[test]
fn every_named_test_exists_and_every_hazard_names_one() {
    let log = std::fs::read_to_string(root().join("docs/safety/hazard-log.md"))
        .expect("docs/safety/hazard-log.md");
    let hazards: Vec<&str> = log.split("\n### ").skip(1).collect();
    assert!(hazards.len() >= 10, "the log lists its hazards");
    let mut problems = Vec::new();
    for hazard in &hazards {
        let title = hazard.lines().next().unwrap_or_default();
        let named = references(hazard);
        if named.is_empty() {
            problems.push(format!("{title}: names no test"));
        }
        for (file, test) in named {
            if let Some(p) = check(&file, &test) {
                problems.push(format!("{title}: {p}"));
            }
        }
    }
    // Every hazard in the summary table has its section.
    for line in log.lines().filter(|l| l.starts_with("| H")) {
        let id = line.split('|').nth(1).unwrap_or_default().trim();
        if !hazards.iter().any(|h| h.starts_with(&format!("{id} "))) {
            problems.push(format!("{id} is in the table but has no section"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn a_misnamed_test_or_file_is_caught() {
    assert!(check(
        "crates/gp-sqlite/tests/tamper.rs",
        "an_edited_row_is_reported_at_its_sequence"
    )
    .is_none());
    assert!(check("crates/gp-sqlite/tests/tamper.rs", "no_such_test").is_some());
    assert!(check("crates/gp-sqlite/tests/no_such_file.rs", "x").is_some());
    assert_eq!(
        references("see `crates/a.rs::b` and `other` and `crates/c.rs::d`"),
        vec![
            ("crates/a.rs".to_owned(), "b".to_owned()),
            ("crates/c.rs".to_owned(), "d".to_owned())
        ]
    );
}
