//! Connection-level limits: slow clients, idle connections, header size and count, the
//! connection cap, body time, and a graceful stop. Beyond each limit the client gets an answer
//! or a clean close, and everyone else keeps being served.

use std::time::Duration;

use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use wa_cloud_emulator::server::ConnectionLimits;

use crate::helpers::*;

fn tight() -> ConnectionLimits {
    ConnectionLimits {
        max_connections: 3,
        idle_timeout: Duration::from_millis(800),
        max_header_bytes: 8192,
        max_headers: 20,
        shutdown_grace: Duration::from_secs(5),
    }
}

async fn spawn_tight() -> TestEmulator {
    TestEmulator::spawn_with(|b| {
        b.connection_limits(tight())
            .body_timeout(Duration::from_millis(500))
    })
    .await
}

/// Reads until the peer closes; `None` if it is still open after `wait`.
async fn closed_within(stream: &mut TcpStream, wait: Duration) -> Option<Vec<u8>> {
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(deadline, stream.read(&mut buffer)).await {
            Err(_) => return None,
            Ok(Ok(0)) | Ok(Err(_)) => return Some(seen),
            Ok(Ok(n)) => seen.extend_from_slice(&buffer[..n]),
        }
    }
}

#[tokio::test]
async fn a_client_sending_headers_slowly_is_cut_off_and_others_are_served() {
    let emu = spawn_tight().await;
    let mut slow = TcpStream::connect(emu.emulator.addr()).await.unwrap();
    let head = format!("POST /v23.0/{READY}/register HTTP/1.1\r\nHost: x\r\n");
    for byte in head.bytes().take(20) {
        if slow.write_all(&[byte]).await.is_err() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_success(emu.register_pin(READY, "123456").await).await;
    assert!(
        closed_within(&mut slow, Duration::from_secs(3))
            .await
            .is_some(),
        "the slow client was not cut off"
    );
}

#[tokio::test]
async fn idle_keep_alive_connections_are_closed() {
    let emu = spawn_tight().await;
    let mut stream = TcpStream::connect(emu.emulator.addr()).await.unwrap();
    stream
        .write_all(b"GET /__emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = [0u8; 1024];
    let n = stream.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..n]).starts_with("HTTP/1.1 200"));
    let closed = closed_within(&mut stream, Duration::from_secs(3)).await;
    assert_eq!(closed, Some(Vec::new()), "idle connection still open");
}

/// Sends one request on a kept-alive connection and reads its whole answer.
async fn exchange(stream: &mut TcpStream, request: &str) -> String {
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut seen = Vec::new();
    let mut buffer = [0u8; 4096];
    loop {
        let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buffer))
            .await
            .expect("an answer in time")
            .unwrap();
        assert!(n > 0, "closed while a request was answered");
        seen.extend_from_slice(&buffer[..n]);
        let text = String::from_utf8_lossy(&seen).into_owned();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length = head
                .lines()
                .find_map(|line| line.strip_prefix("content-length: "))
                .and_then(|value| value.trim().parse::<usize>().ok())
                .expect("a content-length");
            if body.len() >= length {
                return text;
            }
        }
    }
}

#[tokio::test]
async fn a_connection_in_use_outlives_the_idle_timeout_then_closes_when_idle() {
    let emu = spawn_tight().await;
    let mut stream = TcpStream::connect(emu.emulator.addr()).await.unwrap();
    let body = r#"{"messaging_product":"whatsapp","pin":"123456"}"#;
    let graph = format!(
        "POST /v23.0/{READY}/register HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let control = "GET /__emulator/health HTTP/1.1\r\nHost: x\r\n\r\n";
    // 2.4 s of requests 300 ms apart, three times the 800 ms idle timeout: Graph answers and
    // control answers both count as the connection being used.
    for round in 0..8 {
        let request = if round % 2 == 0 {
            graph.as_str()
        } else {
            control
        };
        let answer = exchange(&mut stream, request).await;
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    assert!(emu.is_registered(READY));
    let started = std::time::Instant::now();
    let closed = closed_within(&mut stream, Duration::from_secs(3)).await;
    assert_eq!(closed, Some(Vec::new()), "idle connection still open");
    // Not before the timeout: 800 ms counted from the last request, which started 300 ms ago.
    assert!(
        started.elapsed() >= Duration::from_millis(400),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn too_many_or_too_large_headers_get_431() {
    let emu = spawn_tight().await;
    let many: String = (0..50).map(|i| format!("X-H{i}: v\r\n")).collect();
    let large = format!("X-Big: {}\r\n", "b".repeat(20_000));
    for extra in [many, large] {
        let mut stream = TcpStream::connect(emu.emulator.addr()).await.unwrap();
        let request = format!("POST /v23.0/{READY}/register HTTP/1.1\r\nHost: x\r\n{extra}\r\n");
        let _ = stream.write_all(request.as_bytes()).await;
        let answer = closed_within(&mut stream, Duration::from_secs(3))
            .await
            .unwrap_or_default();
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.starts_with("HTTP/1.1 431") || text.is_empty(),
            "{text}"
        );
    }
    assert_success(emu.register_pin(READY, "123456").await).await;
}

#[tokio::test]
async fn connections_beyond_the_cap_are_closed_and_service_resumes() {
    let emu = spawn_tight().await;
    let mut held = Vec::new();
    for _ in 0..3 {
        held.push(TcpStream::connect(emu.emulator.addr()).await.unwrap());
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    let mut extra = TcpStream::connect(emu.emulator.addr()).await.unwrap();
    let _ = extra
        .write_all(b"GET /__emulator/health HTTP/1.1\r\nHost: x\r\n\r\n")
        .await;
    let answer = closed_within(&mut extra, Duration::from_millis(500)).await;
    assert_eq!(answer, Some(Vec::new()), "the fourth connection was served");
    drop(held);
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_success(emu.register_pin(READY, "123456").await).await;
}

#[tokio::test]
async fn a_body_that_never_arrives_is_a_graph_error() {
    let emu = spawn_tight().await;
    let mut stream = TcpStream::connect(emu.emulator.addr()).await.unwrap();
    let request = format!(
        "POST /v23.0/{READY}/register HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{{\"pin\":"
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut buffer = vec![0u8; 4096];
    let n = tokio::time::timeout(Duration::from_secs(3), stream.read(&mut buffer))
        .await
        .expect("an answer in time")
        .unwrap();
    let text = String::from_utf8_lossy(&buffer[..n]);
    assert!(text.starts_with("HTTP/1.1 400"), "{text}");
    assert!(
        text.contains("\"code\":100") && text.contains("not received within"),
        "{text}"
    );
    assert!(!emu.is_registered(READY));
}

#[tokio::test]
async fn a_graceful_stop_finishes_in_flight_requests() {
    let emu = TestEmulator::spawn().await;
    emu.emulator
        .control()
        .arm_fault(serde_json::from_value(json!({"latency_ms": 500})).unwrap())
        .unwrap();
    let url = emu.url(&format!("/v23.0/{READY}/register"));
    let client = emu.client.clone();
    let in_flight = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(TOKEN)
            .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
            .send()
            .await
    });
    tokio::time::sleep(Duration::from_millis(150)).await;
    let state = emu.emulator.state().clone();
    let addr = emu.emulator.addr();
    emu.emulator.shutdown().await.unwrap();
    let response = in_flight
        .await
        .unwrap()
        .expect("the in-flight request was answered");
    assert_success(response).await;
    assert!(
        state.number(READY).unwrap().registered,
        "the acknowledged change is kept"
    );
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "still accepting after the stop"
    );
}
