//! GP Connect over HTTP against `Practice` directly, in the same run: one
//! booking at a time over loopback (a connection per request) against the
//! same booking made in process, the adapter's overhead as a ratio; then
//! 500 patients booking 60 slots over HTTP at once, asserting no slot is
//! booked twice.
//!
//! Run with `cargo bench --bench http`.

use std::sync::Arc;
use std::time::{Duration, Instant};

use gp_access::By;
use gp_booking::BookRequest;
use gp_http::{router, DevelopmentTokens};
use gp_testkit::fixtures::{monday_morning, small_schedule};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

mod common;
use common::{practice_with, temp_db};

async fn post(addr: std::net::SocketAddr, token: &str, body: &str) -> u16 {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let head = format!(
        "POST /Appointment HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nAuthorization: Bearer {token}\r\nContent-Type: application/fhir+json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(head.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    String::from_utf8_lossy(&raw)
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0)
}

fn appointment(slot: gp_core::SlotId, patient: gp_core::PatientId) -> String {
    format!(
        r#"{{"resourceType":"Appointment","status":"booked","slot":[{{"reference":"Slot/{slot}"}}],"participant":[{{"actor":{{"reference":"Patient/{patient}"}},"status":"accepted"}}]}}"#
    )
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    println!();
    // One at a time: N bookings over HTTP and N in process, alternating.
    const N: usize = 300;
    let ids = gp_core::SequentialIds::new(21);
    let (gp, schedule) = small_schedule(&ids, monday_morning(), 2 * N);
    let (practice, patients) = practice_with(&temp_db("http"), 2 * N, &schedule, &[gp]);
    let mut tokens = DevelopmentTokens::new();
    for (i, p) in patients.iter().enumerate() {
        tokens = tokens.with(&format!("t{i}"), By::patient_online(*p));
    }
    let app = router(practice.clone(), Arc::new(tokens));
    let (mut http, mut direct) = (Duration::ZERO, Duration::ZERO);
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        for i in 0..N {
            let (a, b) = (2 * i, 2 * i + 1);
            let body = appointment(schedule.slots[a].id, patients[a]);
            let t = Instant::now();
            assert_eq!(post(addr, &format!("t{a}"), &body).await, 201);
            http += t.elapsed();
            let t = Instant::now();
            let answer = practice
                .book(&BookRequest::patient_online(
                    patients[b],
                    schedule.slots[b].id,
                ))
                .await
                .expect("book");
            assert!(answer.refusal().is_none());
            direct += t.elapsed();
        }
    });
    println!(
        "booking over HTTP (a connection each, JSON in and out): {:?} / through Practice directly {:?} per booking = {:.2}x",
        http / N as u32,
        direct / N as u32,
        http.as_secs_f64() / direct.as_secs_f64()
    );

    // The rush over HTTP: 500 patients, 60 slots, all at once.
    let ids = gp_core::SequentialIds::new(22);
    let (gp, schedule) = small_schedule(&ids, monday_morning(), 60);
    let path = temp_db("http-rush");
    let (practice, patients) = practice_with(&path, 500, &schedule, &[gp]);
    let mut tokens = DevelopmentTokens::new();
    for (i, p) in patients.iter().enumerate() {
        tokens = tokens.with(&format!("r{i}"), By::patient_online(*p));
    }
    let app = router(practice, Arc::new(tokens));
    let (created, elapsed) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a port");
        let addr = listener.local_addr().expect("an address");
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        let start = Instant::now();
        let tasks: Vec<_> = patients
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let body = appointment(schedule.slots[i % 60].id, *p);
                tokio::spawn(async move { post(addr, &format!("r{i}"), &body).await })
            })
            .collect();
        let mut created = 0;
        for t in tasks {
            match t.await.expect("a task") {
                201 => created += 1,
                409 => {}
                other => panic!("unexpected status {other}"),
            }
        }
        (created, start.elapsed())
    });
    let conn = rusqlite::Connection::open(&path).expect("open");
    let doubled: i64 = conn
        .query_row(
            "SELECT count(*) FROM (SELECT slot FROM bookings WHERE cancelled = 0 GROUP BY slot HAVING count(*) > 1)",
            [],
            |r| r.get(0),
        )
        .expect("count");
    assert_eq!(doubled, 0, "no slot booked twice");
    assert_eq!(created, 60, "every slot booked once");
    println!(
        "the rush over HTTP: 500 patients at 60 slots at once in {elapsed:?} ({:.0} requests a second); 60 booked, none twice, 440 told 409",
        500.0 / elapsed.as_secs_f64()
    );
}
