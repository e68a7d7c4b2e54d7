//! Serves a practice database over GP Connect on 127.0.0.1, for trying the
//! endpoints by hand, with a development token standing for one patient.
//!
//! Run `cargo run --release --example practice_day` first, then
//! `cargo run --example gp_connect_server -- [--db practice-day.db] [--port 8080]`.
//! It prints the token and example requests. The token is for local
//! development only: a real deployment verifies NHS login tokens in its
//! own `gp_http::Authenticate` and serves behind TLS.

use std::path::PathBuf;
use std::sync::Arc;

use gp_access::{AccessStore, By};
use gp_core::{FixedClock, SystemClock};
use gp_http::{router_at, DevelopmentTokens, PracticeSite};
use gp_online::Practice;
use gp_sqlite::SqliteStore;

/// The development token printed for the patient it stands for.
pub const DEV_TOKEN: &str = "dev-patient-token";
/// The development token for NHS 111 (X09, urgent care), an organisation.
pub const DEV_ORGANISATION_TOKEN: &str = "dev-organisation-token";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// Where to serve from, and how.
#[derive(Debug, Clone)]
pub struct Args {
    /// The practice database.
    pub db: PathBuf,
    /// The port on 127.0.0.1 (0 for any free port).
    pub port: u16,
    /// Pin the clock to the practice day's morning (the day the database
    /// was made for), so that its slots are still to come.
    pub practice_day_clock: bool,
}

fn args() -> Result<Args, String> {
    let mut out = Args {
        db: PathBuf::from("practice-day.db"),
        port: 8080,
        practice_day_clock: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "--db" => out.db = it.next().map(PathBuf::from).ok_or("--db needs a path")?,
            "--port" => {
                out.port = it
                    .next()
                    .and_then(|p| p.parse().ok())
                    .ok_or("--port needs a number from 0 to 65535")?
            }
            "--system-clock" => out.practice_day_clock = false,
            "--help" | "-h" => return Err(String::new()),
            other => return Err(format!("unknown option {other:?}")),
        }
    }
    Ok(out)
}

/// Opens the database, picks the first patient registered online, binds
/// the port and answers with the router, the listener and the patient.
pub async fn prepare(
    args: &Args,
) -> Result<(axum::Router, tokio::net::TcpListener, gp_core::PatientId), Error> {
    if !args.db.is_file() {
        return Err(format!(
            "{} does not exist: run `cargo run --release --example practice_day` first",
            args.db.display()
        )
        .into());
    }
    let store = Arc::new(SqliteStore::open(&args.db)?);
    let patient = store
        .records()
        .await?
        .into_iter()
        .filter(|r| {
            r.account
                .as_ref()
                .is_some_and(|a| a.identity.is_some() && a.suspended.is_none())
        })
        .map(|r| r.patient)
        .min()
        .ok_or("no patient in this database is registered online")?;
    let tokens = DevelopmentTokens::new()
        .with(DEV_TOKEN, By::patient_online(patient))
        .with(
            DEV_ORGANISATION_TOKEN,
            By {
                actor: gp_core::Actor::Organisation {
                    ods: gp_core::OdsCode::parse("X09")?,
                    kind: gp_core::OrganisationType::URGENT_CARE,
                    requester: None,
                },
                channel: gp_core::Channel::Organisation,
            },
        );
    // The practice day's practice: its ODS code and name, for the
    // Organization and Location a search returns.
    let site = PracticeSite::new(
        gp_core::OdsCode::parse("A81001")?,
        gp_booking::OrganisationName::parse("Practice Day Surgery")?,
    );
    let app = if args.practice_day_clock {
        let morning = chrono::DateTime::parse_from_rfc3339("2026-06-01T07:00:00+01:00")?.to_utc();
        router_at(
            Arc::new(
                Practice::new(store, Arc::new(FixedClock::new(morning))).recording_every_read(),
            ),
            Arc::new(tokens),
            site,
        )
    } else {
        router_at(
            Arc::new(Practice::new(store, Arc::new(SystemClock)).recording_every_read()),
            Arc::new(tokens),
            site,
        )
    };
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    Ok((app, listener, patient))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = match args() {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("gp_connect_server: {e}");
            }
            eprintln!("Usage: cargo run --example gp_connect_server -- [--db practice-day.db] [--port 8080] [--system-clock]");
            std::process::exit(if e.is_empty() { 0 } else { 2 });
        }
    };
    let (app, listener, patient) = match prepare(&args).await {
        Ok(p) => p,
        Err(e) => {
            eprintln!("gp_connect_server: {e}");
            std::process::exit(1);
        }
    };
    let addr = listener
        .local_addr()
        .map(|a| a.to_string())
        .unwrap_or_default();
    println!("GP Connect on http://{addr} (development only: no TLS, a fixed token)");
    println!("The token stands for patient {patient}. Try:");
    let auth = format!("-H 'Authorization: Bearer {DEV_TOKEN}'");
    println!("  curl -s {auth} 'http://{addr}/Slot?start=ge2026-06-02&end=le2026-06-05&status=free&_include=Slot:schedule'");
    println!("  curl -s {auth} 'http://{addr}/Patient/{patient}/Appointment'");
    println!("  curl -s {auth} 'http://{addr}/Patient/{patient}/MedicationRequest'");
    println!("  curl -s {auth} -X POST 'http://{addr}/Appointment' -H 'Content-Type: application/fhir+json' \\");
    println!("    -d '{{\"resourceType\":\"Appointment\",\"status\":\"booked\",\"slot\":[{{\"reference\":\"Slot/<a slot id from the search>\"}}],\"participant\":[{{\"actor\":{{\"reference\":\"Patient/{patient}\"}},\"status\":\"accepted\"}}]}}'");
    println!("The token {DEV_ORGANISATION_TOKEN} stands for NHS 111 (X09, urgent-care); the practice day opens no");
    println!(
        "slots to organisations, so set `organisation_slots` in the booking policy to see some:"
    );
    println!("  curl -s -H 'Authorization: Bearer {DEV_ORGANISATION_TOKEN}' 'http://{addr}/Slot?start=ge2026-06-02&end=le2026-06-05&status=free&_include=Slot:schedule&searchFilter=https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1%7Curgent-care'");
    if let Err(e) = axum::serve(listener, app).await {
        eprintln!("gp_connect_server: {e}");
        std::process::exit(1);
    }
}
