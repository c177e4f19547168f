//! Hostile input never panics, never answers 5xx or plain text, and never changes state beyond
//! the counters the contract says a request spends. Requests are generated with proptest and
//! written as raw bytes over a socket, so nothing a client library would refuse is out of reach.

use std::time::Duration;

use proptest::prelude::*;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// Sends raw bytes and reads the whole answer (the request says `Connection: close`).
async fn raw(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), stream.read_to_end(&mut answer)).await;
    answer
}

/// Status and body of a raw HTTP/1.1 answer.
fn split(answer: &[u8]) -> (u16, String, Vec<u8>) {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let cut = answer
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map_or(answer.len(), |at| at + 4);
    let head = String::from_utf8_lossy(&answer[..cut]).to_ascii_lowercase();
    (status, head, answer[cut..].to_vec())
}

/// The state with the counters a request may legitimately spend taken out.
fn comparable_state(emu: &TestEmulator) -> Value {
    let mut state = serde_json::to_value(emu.emulator.control().export()).unwrap();
    for waba in state["wabas"].as_array_mut().unwrap() {
        for number in waba["phone_numbers"].as_array_mut().unwrap() {
            let number = number.as_object_mut().unwrap();
            number.remove("rate_limits");
            number.remove("pin_lockout");
        }
    }
    state
}

fn path_strategy() -> impl Strategy<Value = String> {
    let version = prop_oneof![
        Just("v23.0".to_owned()),
        Just("v18.0".to_owned()),
        Just("v99.0".to_owned()),
        Just(String::new()),
        "[a-z0-9.%]{0,8}",
    ];
    // No empty edge: `POST /{id}` with a valid `pin` legitimately sets the PIN.
    let edge = || {
        prop_oneof![
            Just("register".to_owned()),
            Just("deregister".to_owned()),
            Just("verify_code".to_owned()),
            "[a-z_%]{1,12}",
        ]
    };
    // Only targets where no request can succeed: an unverified number (register is always
    // 133006, deregister always "not registered"), deregister of an unregistered number, and
    // ids that do not exist.
    let node_and_edge = prop_oneof![
        (Just(UNVERIFIED.to_owned()), edge()),
        (Just(READY.to_owned()), Just("deregister".to_owned())),
        (
            "[0-9]{1,30}".prop_filter("not a fixture id", |id| !id.starts_with("10654035224292")),
            edge()
        ),
        ("[a-zA-Z%._~-][a-zA-Z0-9%._~-]{0,40}", edge()),
        ("%[0-9A-F]{2}[a-z]{0,4}", edge()),
    ];
    let query = prop_oneof![
        Just(String::new()),
        Just(format!("?access_token={TOKEN}")),
        Just(format!("?access_token={TOKEN}&access_token=x&pin=1&pin=2")),
        "\\?[a-z_=&%0-9]{0,60}",
    ];
    (version, node_and_edge, query).prop_map(|(version, (node, edge), query)| {
        let mut path = String::new();
        for segment in [version, node, edge] {
            if !segment.is_empty() {
                path.push('/');
                path.push_str(&segment);
            }
        }
        if path.is_empty() {
            path.push('/');
        }
        path + &query
    })
}

fn body_strategy() -> impl Strategy<Value = Vec<u8>> {
    let pin = prop_oneof![
        Just(Value::from("123456")),
        Just(Value::from(123456)),
        Just(Value::from(-1)),
        Just(Value::from(1e300)),
        Just(Value::Null),
        Just(serde_json::json!({"nested": ["x"]})),
        any::<String>().prop_map(Value::from),
    ];
    let json_body =
        (pin, any::<Option<String>>(), any::<bool>()).prop_map(|(pin, region, product)| {
            let mut body = serde_json::json!({"pin": pin});
            if product {
                body["messaging_product"] = Value::from("whatsapp");
            }
            if let Some(region) = region {
                body["data_localization_region"] = Value::from(region);
            }
            serde_json::to_vec(&body).unwrap()
        });
    prop_oneof![
        json_body.clone(),
        json_body.prop_flat_map(|bytes| {
            let len = bytes.len();
            (Just(bytes), 0..=len).prop_map(|(bytes, cut)| bytes[..cut].to_vec())
        }),
        prop::collection::vec(any::<u8>(), 0..300),
        "[a-z_=&%0-9]{0,100}".prop_map(String::into_bytes),
        Just(b"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[".to_vec()),
        Just(format!("{{\"pin\":\"{}\"}}", "9".repeat(100_000)).into_bytes()),
    ]
}

fn content_type_strategy() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        Just(None),
        Just(Some("application/json".to_owned())),
        Just(Some("application/x-www-form-urlencoded".to_owned())),
        Just(Some("multipart/form-data; boundary=b".to_owned())),
        Just(Some("multipart/form-data".to_owned())),
        Just(Some("text/plain".to_owned())),
        "[ -~]{0,40}".prop_map(Some),
    ]
}

fn auth_strategy() -> impl Strategy<Value = Option<Vec<u8>>> {
    prop_oneof![
        Just(None),
        Just(Some(format!("Bearer {TOKEN}").into_bytes())),
        Just(Some(b"Bearer ".to_vec())),
        Just(Some(format!("Bearer {}", "A".repeat(5000)).into_bytes())),
        prop::collection::vec(any::<u8>(), 0..60).prop_map(|mut bytes| {
            bytes.retain(|b| *b != b'\r' && *b != b'\n');
            Some(bytes)
        }),
    ]
}

fn method_strategy() -> impl Strategy<Value = &'static str> {
    prop_oneof![
        Just("POST"),
        Just("GET"),
        Just("PUT"),
        Just("DELETE"),
        Just("PATCH"),
        Just("OPTIONS")
    ]
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: 300,
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn hostile_requests_get_graph_errors_and_change_nothing(
        method in method_strategy(),
        path in path_strategy(),
        content_type in content_type_strategy(),
        auth in auth_strategy(),
        body in body_strategy(),
        duplicate_content_type in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let emu = TestEmulator::spawn().await;
            let before = comparable_state(&emu);
            let mut request = format!("{method} {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n").into_bytes();
            if let Some(content_type) = &content_type {
                request.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
                if duplicate_content_type {
                    request.extend_from_slice(b"Content-Type: application/json\r\n");
                }
            }
            if let Some(auth) = &auth {
                request.extend_from_slice(b"Authorization: ");
                request.extend_from_slice(auth);
                request.extend_from_slice(b"\r\n");
            }
            request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
            request.extend_from_slice(&body);
            let answer = raw(emu.emulator.addr(), &request).await;
            let (status, head, response_body) = split(&answer);
            prop_assert!(status < 500, "5xx for {method} {path}: {}", String::from_utf8_lossy(&answer));
            // No limit here requires closing the connection, so silence is a failure too.
            prop_assert!(status != 0, "no answer for {method} {path}");
            if !(status == 400 && response_body.is_empty()) {
                // Anything the emulator (not the HTTP parser) answered is a Graph envelope.
                prop_assert!(head.contains("content-type: application/json; charset=utf-8"), "{head}");
                let json: Value = serde_json::from_slice(&response_body).map_err(|e| TestCaseError::fail(format!("not JSON ({e}): {}", String::from_utf8_lossy(&response_body))))?;
                if status != 200 {
                    prop_assert!(json["error"]["code"].is_u64(), "{json}");
                    prop_assert!(json["error"]["message"].is_string(), "{json}");
                    prop_assert!(json["error"]["fbtrace_id"].is_string(), "{json}");
                }
            }
            let after = comparable_state(&emu);
            prop_assert_eq!(before, after);
            Ok(())
        })?;
    }
}

#[tokio::test]
async fn oversized_headers_and_bodies_are_refused_cleanly_and_the_server_keeps_serving() {
    let emu = TestEmulator::spawn().await;
    let huge_header = format!(
        "POST /v23.0/{READY}/register HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    // The header limit is the one place where the server may refuse: it must say so (431).
    let (status, _, _) = split(&raw(emu.emulator.addr(), huge_header.as_bytes()).await);
    assert_eq!(status, 431);
    let big_body = format!(
        "POST /v23.0/{READY}/register HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: Bearer {TOKEN}\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n{{"
    );
    let (status, _, body) = split(&raw(emu.emulator.addr(), big_body.as_bytes()).await);
    assert_eq!(status, 400);
    let json: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["error"]["code"], 100);
    assert_success(emu.register_pin(READY, "123456").await).await;
}
