//! Every reason code in the README's tables has its GP Connect answer, and
//! the README's GP Connect table is the mapping.

use std::collections::BTreeSet;

fn readme() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"))
        .expect("the README")
}

/// The backticked codes in the README's "reason code" columns, from the
/// booking settings to the development section.
fn readme_codes(readme: &str) -> BTreeSet<String> {
    let start = readme
        .find("## Booking policy settings")
        .expect("the booking section");
    let end = readme
        .find("## Development")
        .expect("the development section");
    let mut codes = BTreeSet::new();
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
        for (h, cell) in header.iter().zip(&cells) {
            if h.contains("reason code") {
                codes.extend(cell.split('`').skip(1).step_by(2).map(str::to_owned));
            }
        }
    }
    codes
}

#[test]
fn every_reason_code_in_the_readme_has_its_gp_connect_answer() {
    let readme = readme();
    let codes = readme_codes(&readme);
    assert!(codes.len() >= 80, "{codes:?}");
    let mapped: BTreeSet<&str> = gp_fhir::MAPPING.iter().map(|(c, _)| *c).collect();
    let missing: Vec<&String> = codes
        .iter()
        .filter(|c| !mapped.contains(c.as_str()))
        .collect();
    assert!(
        missing.is_empty(),
        "reason codes with no GP Connect answer: {missing:?}"
    );
}

#[test]
fn the_readme_shows_the_mapping_as_it_is() {
    assert!(
        readme().contains(&gp_fhir::mapping_table()),
        "README's GP Connect table differs from gp_fhir::mapping_table():\n{}",
        gp_fhir::mapping_table()
    );
}
