//! The GP Connect example serves a practice day's database: a search over
//! loopback with the development token finds the day's free slots.

#[allow(dead_code)]
#[path = "../examples/practice_day/main.rs"]
mod practice_day;

#[allow(dead_code)]
#[path = "../examples/gp_connect_server.rs"]
mod server;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[test]
fn the_example_serves_the_practice_days_slots() {
    let dir = std::env::temp_dir().join(format!("gp-connect-example-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("a directory");
    let db = dir.join("day.db");
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    runtime.block_on(async {
        practice_day::run(practice_day::Args {
            db: Some(db.clone()),
            default_db: false,
            patients: 200,
            seed: 3,
            html: Some(dir.join("day.html")),
        })
        .await
        .expect("a practice day");
        let missing = server::Args {
            db: dir.join("none.db"),
            port: 0,
            practice_day_clock: true,
        };
        assert!(server::prepare(&missing).await.is_err(), "a missing database is refused");
        let args = server::Args {
            db: db.clone(),
            port: 0,
            practice_day_clock: true,
        };
        let (app, listener, _) = server::prepare(&args).await.expect("ready");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
        let request = format!(
            "GET /Slot?start=ge2026-06-02&end=le2026-06-05&status=free&_include=Slot:schedule HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
            server::DEV_TOKEN
        );
        s.write_all(request.as_bytes()).await.expect("write");
        let mut raw = Vec::new();
        s.read_to_end(&mut raw).await.expect("read");
        let text = String::from_utf8_lossy(&raw);
        assert!(text.starts_with("HTTP/1.1 200"), "{text}");
        assert!(text.contains("\"resourceType\":\"Bundle\"") && text.contains("\"resourceType\":\"Slot\""));
        assert!(text.contains("\"resourceType\":\"Organization\""), "the practice's Organization");
        // The organisation's token: a search it may make, finding no slot
        // the practice day opens to organisations; its repeats are refused.
        for (path, want) in [
            (
                "/Slot?start=ge2026-06-02&end=le2026-06-05&status=free&_include=Slot:schedule&searchFilter=https://fhir.nhs.uk/STU3/CodeSystem/GPConnect-OrganisationType-1%7Curgent-care",
                "HTTP/1.1 200",
            ),
            ("/Patient/00000000-0000-0000-0000-000000000001/MedicationRequest", "HTTP/1.1 403"),
        ] {
            let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
            let request = format!(
                "GET {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {}\r\nConnection: close\r\n\r\n",
                server::DEV_ORGANISATION_TOKEN
            );
            s.write_all(request.as_bytes()).await.expect("write");
            let mut raw = Vec::new();
            s.read_to_end(&mut raw).await.expect("read");
            let text = String::from_utf8_lossy(&raw);
            assert!(text.starts_with(want), "{path}: {text}");
            assert!(!text.contains("\"resourceType\":\"Slot\""), "{text}");
        }
    });
    let _ = std::fs::remove_dir_all(&dir);
}
