//! Real HTTP on loopback, shared by the gp-http suites: one request per
//! connection, and every answer parsed with an independent FHIR model.
#![allow(dead_code)] // reason: each suite uses a different part

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Serves `app` on a free loopback port; answers its address.
pub async fn serve(app: axum::Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let addr = listener.local_addr().expect("an address");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    addr
}

pub struct Reply {
    pub status: u16,
    pub headers: String,
    pub body: Value,
}

pub async fn call(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    call_as(
        addr,
        method,
        path,
        token,
        "application/fhir+json",
        extra,
        body,
    )
    .await
}

/// Like [`call`], with the body sent as `content_type`.
#[allow(dead_code)]
pub async fn call_as(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    content_type: &str,
    extra: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    let mut head = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\n", body.len());
    if let Some(t) = token {
        head.push_str(&format!("Authorization: Bearer {t}\r\n"));
    }
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    s.write_all(head.as_bytes()).await.expect("write");
    s.write_all(body).await.expect("write");
    let mut raw = Vec::new();
    s.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (headers, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = headers
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let body: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    if !body.is_null() {
        conforms(path, &body);
    }
    Reply {
        status,
        headers: headers.to_ascii_lowercase(),
        body,
    }
}

/// Every answer parses as a FHIR resource with an independent model: R4
/// (read with the R4B model, which keeps `MedicationRequest` and `Task` as
/// R4 has them) for the prescription endpoints, STU3 for the rest.
pub fn conforms(path: &str, body: &Value) {
    let r4 = ["/MedicationRequest", "/Task"]
        .iter()
        .any(|p| path.split('?').next().unwrap_or("").contains(p));
    let parsed = if r4 {
        serde_json::from_value::<fhir_model::r4b::resources::Resource>(body.clone()).map(|_| ())
    } else {
        serde_json::from_value::<fhir_model::stu3::resources::Resource>(body.clone()).map(|_| ())
    };
    if let Err(e) = parsed {
        let text = body.to_string();
        let head: String = text.chars().take(300).collect();
        panic!("{path}: not a FHIR resource ({e}): {head}");
    }
}

pub fn spine_code(r: &Reply) -> &str {
    assert_eq!(r.body["resourceType"], "OperationOutcome", "{}", r.body);
    r.body["issue"][0]["details"]["coding"][0]["code"]
        .as_str()
        .unwrap_or("")
}
