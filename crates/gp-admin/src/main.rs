//! `gp-admin`: a command-line program for practice staff and suppliers.
//! It opens a practice database to read only (it never changes one) and
//! verifies the audit trail, makes the POMI monthly return, runs the uptake
//! audit, exports part of the trail, or shows the stored settings.
//!
//! ```text
//! gp-admin verify practice.db [--checkpoint FILE --key FILE]
//! gp-admin pomi practice.db --month 2026-03 --config practice.conf [--out FILE]
//! gp-admin uptake practice.db --from 2026-03-01 --to 2026-03-31
//! gp-admin export practice.db --from-seq 1 --to-seq 100
//! gp-admin problems practice.db [--open]
//! gp-admin policy practice.db
//! ```
//!
//! Exit status: 0 done; 1 the trail is broken (or the store failed while
//! reading); 2 the command cannot run as given (a missing file, a file that
//! is not a practice database, a wrong month or date, a bad configuration).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use chrono::NaiveDate;
use clap::{Parser, Subcommand};
use gp_access::AccessStore;
use gp_audit::{AuditStore, Checkpoint, HmacKey};
use gp_booking::BookingStore;
use gp_messaging::MessageStore;
use gp_monitoring::{Month, UptakeReport, UptakeService};
use gp_online::unchecked::monitoring;
use gp_prescribing::PrescribingStore;
use gp_sqlite::SqliteStore;

/// Reads a practice database and never changes it.
#[derive(Debug, Parser)]
#[command(name = "gp-admin", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Verify the hash-chained audit trail from the first event to the head
    /// (and against a signed checkpoint kept outside the database). Exit 1,
    /// naming the sequence, on a break.
    Verify {
        /// The practice database.
        db: PathBuf,
        /// A checkpoint line written earlier (`AuditStore::checkpoint`).
        #[arg(long, requires = "key")]
        checkpoint: Option<PathBuf>,
        /// The file holding the HMAC key the checkpoint was signed with (at least 32 bytes).
        #[arg(long, requires = "checkpoint")]
        key: Option<PathBuf>,
    },
    /// The POMI monthly return as NHS England's long CSV.
    Pomi {
        /// The practice database.
        db: PathBuf,
        /// The month, `YYYY-MM`.
        #[arg(long)]
        month: String,
        /// The practice's codes and names: `key = value` lines for
        /// region_code, region_name, sub_ICB_location_code,
        /// sub_ICB_location_name, practice_code, practice_name, system_supplier.
        #[arg(long)]
        config: PathBuf,
        /// Write the CSV here (a new file) instead of to standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// The uptake audit: patients enabled for online booking (and for
    /// online repeat ordering) who did not use it from one date to another,
    /// and proxies unused for the configured years.
    Uptake {
        /// The practice database.
        db: PathBuf,
        /// First day, `YYYY-MM-DD` (UK).
        #[arg(long)]
        from: String,
        /// Last day, `YYYY-MM-DD` (UK), inclusive.
        #[arg(long)]
        to: String,
    },
    /// Export audit events from one sequence to another as JSON lines
    /// (`docs/audit-format.md`).
    Export {
        /// The practice database.
        db: PathBuf,
        /// The first sequence (from 1).
        #[arg(long)]
        from_seq: u64,
        /// The last sequence, inclusive.
        #[arg(long)]
        to_seq: u64,
    },
    /// The problem log: each problem reported, its status and the actions on it.
    Problems {
        /// The practice database.
        db: PathBuf,
        /// Only problems still open or in progress.
        #[arg(long)]
        open: bool,
    },
    /// The stored settings: booking policy, repeat prescribing, messaging
    /// and online access, with their versions, as JSON.
    Policy {
        /// The practice database.
        db: PathBuf,
    },
}

/// What went wrong: the exit status and the words.
struct Failure(u8, String);

fn usage(e: impl std::fmt::Display) -> Failure {
    Failure(2, e.to_string())
}

fn failed(e: impl std::fmt::Display) -> Failure {
    Failure(1, e.to_string())
}

fn open(db: &Path) -> Result<SqliteStore, Failure> {
    SqliteStore::open_read_only(db).map_err(usage)
}

fn date(field: &str, text: &str) -> Result<NaiveDate, Failure> {
    gp_core::typed_date(text).ok_or_else(|| {
        usage(format!(
            "--{field} {text:?} is not a date like 2026-03-01 (years 1900 to 2200)"
        ))
    })
}

/// Text fit for a terminal: control and direction-changing characters
/// shown as `?`, so nothing a reporter typed can move the cursor or
/// reorder what follows.
fn printable(text: &str) -> String {
    text.chars()
        .map(|c| {
            let bidi =
                ('\u{202a}'..='\u{202e}').contains(&c) || ('\u{2066}'..='\u{2069}').contains(&c);
            if c.is_control() || bidi {
                '?'
            } else {
                c
            }
        })
        .collect()
}

/// Verifies the trail first: figures are only made from a trail that holds.
async fn trail_holds(store: &SqliteStore) -> Result<(), Failure> {
    match store.verify_all().await.map_err(failed)? {
        Ok(()) => Ok(()),
        Err(broken) => Err(Failure(
            1,
            format!(
                "the audit trail is broken at sequence {}: {broken}; no figures are made from it (run gp-admin verify)",
                broken.seq
            ),
        )),
    }
}

/// Writes `text` to standard output; a closed pipe is not an error.
fn out(text: &str) {
    let _ = std::io::stdout().write_all(text.as_bytes());
}

/// The practice's codes and names from a `key = value` file.
fn practice(config: &Path) -> Result<gp_monitoring::Practice, Failure> {
    let text = std::fs::read_to_string(config)
        .map_err(|e| usage(format!("cannot read {}: {e}", config.display())))?;
    let mut p = gp_monitoring::Practice {
        region_code: String::new(),
        region_name: String::new(),
        sub_icb_location_code: String::new(),
        sub_icb_location_name: String::new(),
        practice_code: String::new(),
        practice_name: String::new(),
        system_supplier: String::new(),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let mut seen = std::collections::BTreeSet::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.len() > 1_000 || line.chars().any(|c| c.is_control()) {
            return Err(usage(format!(
                "{} line {}: a line of at most 1,000 characters, no control characters",
                config.display(),
                n + 1
            )));
        }
        let Some((key, value)) = line.split_once('=') else {
            return Err(usage(format!(
                "{} line {}: expected `key = value`",
                config.display(),
                n + 1
            )));
        };
        let value = value.trim().to_owned();
        if !seen.insert(key.trim().to_owned()) {
            return Err(usage(format!(
                "{} line {}: `{}` is given twice",
                config.display(),
                n + 1,
                key.trim()
            )));
        }
        let slot = match key.trim() {
            "region_code" => &mut p.region_code,
            "region_name" => &mut p.region_name,
            "sub_ICB_location_code" => &mut p.sub_icb_location_code,
            "sub_ICB_location_name" => &mut p.sub_icb_location_name,
            "practice_code" => &mut p.practice_code,
            "practice_name" => &mut p.practice_name,
            "system_supplier" => &mut p.system_supplier,
            other => {
                return Err(usage(format!(
                    "{} line {}: unknown key `{other}`",
                    config.display(),
                    n + 1
                )))
            }
        };
        *slot = value;
    }
    let missing: Vec<&str> = [
        ("region_code", &p.region_code),
        ("region_name", &p.region_name),
        ("sub_ICB_location_code", &p.sub_icb_location_code),
        ("sub_ICB_location_name", &p.sub_icb_location_name),
        ("practice_code", &p.practice_code),
        ("practice_name", &p.practice_name),
        ("system_supplier", &p.system_supplier),
    ]
    .into_iter()
    .filter(|(_, v)| v.is_empty())
    .map(|(k, _)| k)
    .collect();
    if !missing.is_empty() {
        return Err(usage(format!(
            "{} does not give {}",
            config.display(),
            missing.join(", ")
        )));
    }
    Ok(p)
}

fn uptake_text(report: &UptakeReport) -> String {
    let what = match report.service {
        UptakeService::Appointments => "online appointment booking",
        UptakeService::RepeatPrescriptions => "online repeat ordering",
    };
    let mut s = format!(
        "{what}, {} to {}: {} patients enabled, {} did not use it\n",
        report.from,
        report.to,
        report.enabled,
        report.follow_up.len()
    );
    let g = &report.unused;
    let ages: Vec<String> = g
        .by_age
        .iter()
        .map(|(band, n)| format!("{} {n}", band.label()))
        .collect();
    s.push_str(&format!("  by age: {}\n", ages.join(", ")));
    let months: Vec<String> = g
        .by_registration_month
        .iter()
        .map(|(m, n)| format!("{m} {n}"))
        .collect();
    s.push_str(&format!("  by month registered: {}\n", months.join(", ")));
    s.push_str(&format!(
        "  regular {}, temporary {}\n  to follow up (NHS number, age, registered, type):\n",
        g.regular, g.temporary
    ));
    for e in &report.follow_up {
        s.push_str(&format!(
            "    {} {:>3} {} {:?}\n",
            e.nhs_number, e.age, e.registered, e.registration
        ));
    }
    s
}

async fn run(command: Command) -> Result<(), Failure> {
    match command {
        Command::Verify {
            db,
            checkpoint,
            key,
        } => {
            // The checkpoint and key are read before anything is said.
            let against = match (checkpoint, key) {
                (Some(checkpoint), Some(key)) => {
                    let line = std::fs::read_to_string(&checkpoint)
                        .map_err(|e| usage(format!("cannot read {}: {e}", checkpoint.display())))?;
                    let checkpoint = Checkpoint::from_line(line.trim()).map_err(usage)?;
                    let secret = std::fs::read(&key)
                        .map_err(|e| usage(format!("cannot read {}: {e}", key.display())))?;
                    let key = HmacKey::new(&checkpoint.key_id, &secret).map_err(usage)?;
                    Some((checkpoint, key))
                }
                _ => None,
            };
            let store = open(&db)?;
            let head = store.head().await.map_err(failed)?;
            if let Err(broken) = store.verify_all().await.map_err(failed)? {
                return Err(Failure(
                    1,
                    format!(
                        "the audit trail is broken at sequence {}: {broken}",
                        broken.seq
                    ),
                ));
            }
            if let Some((checkpoint, key)) = &against {
                if let Err(broken) = store
                    .verify_against(checkpoint, key)
                    .await
                    .map_err(failed)?
                {
                    return Err(Failure(
                        1,
                        format!("the audit trail does not match the checkpoint: {broken}"),
                    ));
                }
            }
            let (seq, hash) = match head {
                Some((seq, hash)) => (seq, hex(&hash)),
                None => (0, "none".into()),
            };
            out(&format!(
                "verified: {seq} audit events chained from the first to the head (sequence {seq}, hash {hash})\n"
            ));
            if let Some((checkpoint, _)) = against {
                out(&format!(
                    "verified against the checkpoint at sequence {} signed with key {}\n",
                    checkpoint.seq, checkpoint.key_id
                ));
            }
            Ok(())
        }
        Command::Pomi {
            db,
            month,
            config,
            out: to,
        } => {
            let month = Month::parse(&month).map_err(|e| usage(format!("--month: {e}")))?;
            let practice = practice(&config)?;
            if let Some(to) = &to {
                if std::fs::symlink_metadata(to).is_ok() {
                    return Err(usage(format!("{} exists; name a new file", to.display())));
                }
            }
            let store = open(&db)?;
            trail_holds(&store).await?;
            let figures = monitoring::pomi(&store, month, &practice)
                .await
                .map_err(failed)?;
            match to {
                Some(path) => {
                    // A new file only, even if one appeared meanwhile.
                    let mut file = std::fs::OpenOptions::new()
                        .write(true)
                        .create_new(true)
                        .open(&path)
                        .map_err(|e| usage(format!("cannot write {}: {e}", path.display())))?;
                    file.write_all(figures.csv().as_bytes())
                        .map_err(|e| failed(format!("cannot write {}: {e}", path.display())))?;
                }
                None => out(&figures.csv()),
            }
            Ok(())
        }
        Command::Uptake { db, from, to } => {
            let (from, to) = (date("from", &from)?, date("to", &to)?);
            if to < from {
                return Err(usage(format!("--to {to} is before --from {from}")));
            }
            let store = open(&db)?;
            trail_holds(&store).await?;
            // The records and the trail, read once for both audits.
            let records = store.records().await.map_err(failed)?;
            let events = AccessStore::audit_events(&store).await.map_err(failed)?;
            for service in [
                UptakeService::Appointments,
                UptakeService::RepeatPrescriptions,
            ] {
                let report =
                    gp_monitoring::uptake(service, &records, &events, from, to).map_err(failed)?;
                out(&uptake_text(&report));
            }
            let settings = AccessStore::settings(&store)
                .await
                .map_err(failed)?
                .settings;
            let end = gp_core::local_to_utc_lenient(to, chrono::NaiveTime::MIN);
            let unused = gp_access::unused_proxies(&records, &settings, end);
            out(&format!(
                "proxies unused for {} years or more on {to}: {}\n",
                settings.unused_proxy_years,
                unused.len()
            ));
            for g in unused {
                out(&format!(
                    "    {} (for patient {})\n",
                    g.proxy_name, g.patient
                ));
            }
            Ok(())
        }
        Command::Export {
            db,
            from_seq,
            to_seq,
        } => {
            if from_seq == 0 || to_seq < from_seq {
                return Err(usage(format!(
                    "--from-seq {from_seq} --to-seq {to_seq}: sequences start at 1 and the range must not be reversed"
                )));
            }
            let store = open(&db)?;
            out(&store.export(from_seq, to_seq).await.map_err(failed)?);
            Ok(())
        }
        Command::Problems {
            db,
            open: open_only,
        } => {
            let store = open(&db)?;
            let filter = gp_monitoring::ProblemFilter {
                open_only,
                ..gp_monitoring::ProblemFilter::default()
            };
            let problems = gp_monitoring::ProblemStore::problems(&store, &filter)
                .await
                .map_err(failed)?;
            out(&format!(
                "{} problems{}\n",
                problems.len(),
                if open_only {
                    " open or in progress"
                } else {
                    ""
                }
            ));
            for p in problems {
                let about = match p.patient {
                    Some(patient) => format!(" about patient {patient}"),
                    None => String::new(),
                };
                let concerning = match p.concerning {
                    Some(gp_monitoring::Concerning::Appointment(b)) => {
                        format!(" (appointment {b})")
                    }
                    Some(gp_monitoring::Concerning::Request(r)) => format!(" (request {r})"),
                    Some(gp_monitoring::Concerning::Message(m)) => format!(" (message {m})"),
                    None => String::new(),
                };
                out(&format!(
                    "{} {} {:?} {:?} reported by {} via {}{about}{concerning}: {}\n",
                    p.id,
                    gp_core::to_local(p.at).format("%Y-%m-%d %H:%M"),
                    p.category,
                    p.status,
                    p.reported_by,
                    p.channel,
                    printable(&p.description)
                ));
                for a in &p.actions {
                    out(&format!(
                        "    {} staff {} -> {:?}: {}\n",
                        gp_core::to_local(a.at).format("%Y-%m-%d %H:%M"),
                        a.by,
                        a.status,
                        printable(&a.note)
                    ));
                }
            }
            Ok(())
        }
        Command::Policy { db } => {
            let store = open(&db)?;
            let booking = BookingStore::policy(&store).await.map_err(failed)?;
            let prescribing = PrescribingStore::settings(&store).await.map_err(failed)?;
            let messaging = MessageStore::settings(&store).await.map_err(failed)?;
            let access = AccessStore::settings(&store).await.map_err(failed)?;
            let json = serde_json::json!({
                "booking": {"version": booking.version, "settings": booking.policy.settings()},
                "prescribing": {"version": prescribing.version, "settings": prescribing.settings},
                "messaging": {"version": messaging.version, "settings": messaging.settings},
                "access": {"version": access.version, "settings": access.settings},
            });
            let text = serde_json::to_string_pretty(&json).map_err(failed)?;
            out(&format!("{text}\n"));
            Ok(())
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_current_thread().build() {
        Ok(r) => r,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "gp-admin: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure(code, message)) => {
            let _ = writeln!(std::io::stderr(), "gp-admin: {message}");
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_one_way_within_the_years_served() {
        assert!(date("from", "2026-03-01").is_ok());
        for bad in [
            "2026-3-1",
            "+2026-03-01",
            "-0001-01-01",
            "1899-12-31",
            "2201-01-01",
            "2026-02-30",
            "yesterday",
            "",
        ] {
            assert!(date("from", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn what_people_typed_cannot_drive_the_terminal() {
        assert_eq!(printable("ok \u{1b}[2J\u{7}"), "ok ?[2J?");
        assert_eq!(printable("abc\u{202e}fed\u{2066}"), "abc?fed?");
        assert_eq!(printable("line\nbreak"), "line?break");
    }
}
