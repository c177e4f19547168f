//! Faults whose outcome the client cannot see (issue #21): the request applied or not, then
//! the answer delayed, replaced by an error, dropped, reset or withheld; matched by number,
//! operation, a window on the request's clock and a seeded probability; and the journal's
//! evidence of what was applied and what the client got. Every scenario runs over a real
//! socket with a real client and its timeout.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::*;

/// A client timeout far below every delay these tests arm: the client gives up first.
const GIVE_UP: Duration = Duration::from_millis(300);

/// How long a test waits for the server to notice something (a client gone, a gauge back to
/// zero) before failing: generous, as the machine may be busy.
const PATIENCE: Duration = Duration::from_secs(20);

impl TestEmulator {
    /// Arms a fault; expects it armed and returns it.
    async fn arm(&self, spec: Value) -> Value {
        let (status, fault) = self
            .control_json(Method::POST, "/faults", Some(spec.clone()))
            .await;
        assert_eq!(status, 201, "{spec}: {fault}");
        fault
    }

    /// `GET /__emulator/journal/counts` with a query.
    async fn counts(&self, query: &str) -> Value {
        let (status, counts) = self
            .control_json(Method::GET, &format!("/journal/counts?{query}"), None)
            .await;
        assert_eq!(status, 200, "{counts}");
        counts
    }

    /// How many registers of `id` the limiter counted.
    async fn registers_counted(&self, id: &str) -> u64 {
        let (_, number) = self
            .control_json(Method::GET, &format!("/numbers/{id}"), None)
            .await;
        number["rate_limits"]["register"]["used"].as_u64().unwrap()
    }

    /// `GET /__emulator/connections`.
    async fn gauges(&self) -> Value {
        let (status, gauges) = self.control_json(Method::GET, "/connections", None).await;
        assert_eq!(status, 200, "{gauges}");
        gauges
    }

    /// Waits until `check` holds for the JSON at `path` (or fails after [`PATIENCE`]).
    async fn eventually(&self, path: &str, what: &str, check: impl Fn(&Value) -> bool) -> Value {
        let deadline = tokio::time::Instant::now() + PATIENCE;
        loop {
            let (_, value) = self.control_json(Method::GET, path, None).await;
            if check(&value) {
                return value;
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "{what}: still {value}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Registers `id` with PIN 123456 through a client that gives up after `timeout`.
    async fn register_within(
        &self,
        id: &str,
        timeout: Duration,
    ) -> reqwest::Result<reqwest::Response> {
        self.client
            .post(self.url(&format!("/v23.0/{id}/register")))
            .bearer_auth(TOKEN)
            .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
            .timeout(timeout)
            .send()
            .await
    }
}

/// A raw HTTP/1.1 register of `id`, and what came back: the bytes read until the server
/// closed, or the read error (a reset).
async fn raw_register(emu: &TestEmulator, id: &str) -> std::io::Result<Vec<u8>> {
    let body = r#"{"messaging_product":"whatsapp","pin":"123456"}"#;
    let mut stream = TcpStream::connect(emu.emulator.addr()).await.unwrap();
    let request = format!(
        "POST /v23.0/{id}/register HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {TOKEN}\r\n\
         content-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await.unwrap();
    let mut received = Vec::new();
    tokio::time::timeout(PATIENCE, stream.read_to_end(&mut received))
        .await
        .expect("the server ends the connection")?;
    Ok(received)
}

#[tokio::test]
async fn applied_then_dropped_the_change_is_made_and_the_budget_spent() {
    let emu = TestEmulator::spawn().await;
    let fault = emu
        .arm(json!({"number": READY, "operation": "register", "apply": true, "answer": "drop", "count": 1}))
        .await;
    assert_eq!(
        (fault["apply"].as_bool(), fault["answer"].as_str()),
        (Some(true), Some("drop"))
    );
    let error = emu
        .register_within(READY, PATIENCE)
        .await
        .expect_err("no answer");
    assert!(!error.is_timeout(), "closed, not timed out: {error}");
    // The app cannot know, but the number is registered and the attempt counted.
    let node = emu.read_fields(READY, "platform_type,status").await;
    assert_eq!(node["platform_type"], "CLOUD_API", "{node}");
    assert_eq!(emu.registers_counted(READY).await, 1);
    // The retry a cautious app makes spends a second attempt of the ten.
    assert_success(emu.register_pin(READY, "123456").await).await;
    assert_eq!(emu.registers_counted(READY).await, 2);
    let counts = emu
        .counts(&format!("number={READY}&operation=register"))
        .await;
    assert_eq!(
        counts,
        json!({"requests": 2, "applied": 2, "succeeded": 2, "faulted": 1, "answered": 1,
               "dropped": 1, "reset": 0, "hung": 0, "abandoned": 0})
    );
    let (_, journal) = emu
        .control_json(Method::GET, &format!("/journal?number={READY}"), None)
        .await;
    let dropped = &journal["data"][0];
    assert_eq!(dropped["delivery"], "dropped");
    assert_eq!(dropped["fault_id"], fault["id"]);
    assert_eq!(dropped["applied"], true);
    assert_eq!(
        dropped["outcome"],
        json!({"status": 200, "error_code": null})
    );
    assert_eq!(journal["data"][1]["delivery"], "answered");
    assert_eq!(journal["data"][1]["fault_id"], Value::Null);
}

#[tokio::test]
async fn drop_closes_and_reset_resets_the_connection() {
    let emu = TestEmulator::spawn().await;
    emu.arm(json!({"number": READY, "apply": false, "answer": "drop", "count": 1}))
        .await;
    let received = raw_register(&emu, READY).await.expect("an orderly close");
    assert!(
        received.is_empty(),
        "no answer: {:?}",
        String::from_utf8_lossy(&received)
    );
    assert!(!emu.is_registered(READY), "not applied");

    emu.arm(json!({"number": READY, "apply": true, "answer": "reset", "count": 1}))
        .await;
    let error = raw_register(&emu, READY).await.expect_err("a reset");
    assert_eq!(error.kind(), std::io::ErrorKind::ConnectionReset, "{error}");
    assert!(emu.is_registered(READY), "applied");
    let counts = emu.counts(&format!("number={READY}")).await;
    assert_eq!(
        (counts["dropped"].as_u64(), counts["reset"].as_u64()),
        (Some(1), Some(1))
    );
    assert_eq!(counts["applied"], 1);
    // The next request is served as usual.
    assert_success(emu.register_pin(READY, "123456").await).await;
}

#[tokio::test]
async fn not_applied_and_answered_late_leaves_nothing_behind() {
    let emu = TestEmulator::spawn().await;
    emu.arm(json!({"number": READY, "apply": false, "error_code": 2, "delay_ms": 30_000}))
        .await;
    let error = emu
        .register_within(READY, GIVE_UP)
        .await
        .expect_err("too late");
    assert!(error.is_timeout(), "{error}");
    assert!(!emu.is_registered(READY));
    assert_eq!(emu.registers_counted(READY).await, 0);
    // Journaled before the delay; marked abandoned once the server sees the client gone.
    emu.eventually(
        &format!("/journal/counts?number={READY}"),
        "the client left during the delay",
        |counts| counts["abandoned"] == 1,
    )
    .await;
    let counts = emu.counts(&format!("number={READY}")).await;
    assert_eq!(
        (counts["applied"].as_u64(), counts["answered"].as_u64()),
        (Some(0), Some(0))
    );

    // Today's latency_ms: the request waits before it runs, so a client that gives up
    // meanwhile leaves it unapplied too.
    emu.control_json(Method::DELETE, "/faults", None).await;
    emu.arm(json!({"number": READY, "latency_ms": 30_000}))
        .await;
    let error = emu
        .register_within(READY, GIVE_UP)
        .await
        .expect_err("too late");
    assert!(error.is_timeout(), "{error}");
    tokio::time::sleep(GIVE_UP).await;
    assert!(!emu.is_registered(READY));
    assert_eq!(emu.registers_counted(READY).await, 0);
}

#[tokio::test]
async fn applied_and_answered_late_the_client_times_out_on_a_made_change() {
    let emu = TestEmulator::spawn().await;
    emu.arm(json!({"number": READY, "operation": "register", "apply": true, "delay_ms": 30_000}))
        .await;
    let error = emu
        .register_within(READY, GIVE_UP)
        .await
        .expect_err("too late");
    assert!(error.is_timeout(), "{error}");
    assert!(emu.is_registered(READY));
    assert_eq!(emu.registers_counted(READY).await, 1);
    let counts = emu
        .eventually(
            &format!("/journal/counts?number={READY}"),
            "the client left during the delay",
            |counts| counts["abandoned"] == 1,
        )
        .await;
    assert_eq!(
        (counts["applied"].as_u64(), counts["succeeded"].as_u64()),
        (Some(1), Some(1))
    );
    // A short delay is answered normally.
    emu.control_json(Method::DELETE, "/faults", None).await;
    emu.arm(json!({"number": READY, "apply": true, "delay_ms": 50}))
        .await;
    assert_success(emu.register_within(READY, PATIENCE).await.unwrap()).await;
}

#[tokio::test]
async fn transient_errors_with_and_without_effect() {
    let emu = TestEmulator::spawn().await;
    // Each transient code, not applied: Meta's status, texts and headers.
    for (code, status, transient) in [
        (1, 400, true),
        (2, 503, true),
        (4, 400, true),
        (80008, 400, false),
        (131000, 500, true),
        (133004, 503, false),
    ] {
        emu.arm(json!({"number": READY, "error_code": code, "count": 1}))
            .await;
        let response = emu.register_pin(READY, "123456").await;
        assert!(response.headers().contains_key("x-fb-trace-id"));
        assert!(response.headers().contains_key("x-fb-request-id"));
        let error = assert_error(response, status, code, "OAuthException").await;
        assert_eq!(
            error["is_transient"].as_bool().unwrap_or(false),
            transient,
            "{code}"
        );
        assert_eq!(error["error_data"]["messaging_product"], "whatsapp");
        if code == 80008 {
            assert_eq!(
                error["message"],
                "(#80008) There have been too many calls to this WhatsApp Business account. \
                 Wait a bit and try again. For more info, please refer to \
                 https://developers.facebook.com/docs/graph-api/overview/rate-limiting."
            );
        }
        assert!(!emu.is_registered(READY), "{code} without effect");
    }
    assert_eq!(emu.registers_counted(READY).await, 0);

    // Applied, answered code 2 with HTTP 500: the change is made all the same.
    emu.arm(
        json!({"number": READY, "apply": true, "error_code": 2, "http_status": 500, "count": 1}),
    )
    .await;
    let error = assert_error(
        emu.register_pin(READY, "123456").await,
        500,
        2,
        "OAuthException",
    )
    .await;
    assert_eq!(error["message"], "(#2) Service temporarily unavailable");
    assert!(emu.is_registered(READY));
    assert_eq!(emu.registers_counted(READY).await, 1);
    let (_, journal) = emu
        .control_json(
            Method::GET,
            &format!("/journal?number={READY}&limit=1"),
            None,
        )
        .await;
    let entry = &journal["data"][0];
    assert_eq!(
        (entry["status"].as_u64(), entry["error_code"].as_u64()),
        (Some(500), Some(2))
    );
    assert_eq!(entry["outcome"], json!({"status": 200, "error_code": null}));
    assert_eq!(entry["applied"], true);
    // A rule's own refusal under an applied error shows in the outcome (wrong PIN: 133005).
    emu.arm(json!({"number": READY, "apply": true, "error_code": 131000, "count": 1}))
        .await;
    assert_error(
        emu.register_pin(READY, "654321").await,
        500,
        131000,
        "OAuthException",
    )
    .await;
    let (_, journal) = emu
        .control_json(
            Method::GET,
            &format!("/journal?number={READY}&limit=1"),
            None,
        )
        .await;
    assert_eq!(
        journal["data"][0]["outcome"],
        json!({"status": 400, "error_code": 133005})
    );
    let counts = emu.counts(&format!("number={READY}")).await;
    assert_eq!(
        (
            counts["requests"].as_u64(),
            counts["applied"].as_u64(),
            counts["succeeded"].as_u64()
        ),
        (Some(8), Some(2), Some(1))
    );
}

/// The decisions of a flaky fault over `n` reads of a number: true where it answered an error.
async fn flaky_decisions(emu: &TestEmulator, seed: u64, n: usize) -> Vec<bool> {
    emu.control_json(Method::DELETE, "/faults", None).await;
    let fault = emu
        .arm(json!({"number": READY, "operation": "node", "error_code": 1, "probability": 0.5, "seed": seed}))
        .await;
    assert_eq!(fault["seed"], seed);
    let mut decisions = Vec::with_capacity(n);
    for _ in 0..n {
        let response = emu.get(&format!("/v23.0/{READY}?fields=id")).await;
        decisions.push(response.status() != 200);
        // Other operations and numbers never draw: they must not shift the sequence.
        assert_eq!(
            emu.get(&format!("/v23.0/{REGISTERED}?fields=id"))
                .await
                .status(),
            200
        );
    }
    decisions
}

#[tokio::test]
async fn a_seeded_flaky_run_is_reproducible() {
    let emu = TestEmulator::spawn().await;
    let first = flaky_decisions(&emu, 7, 40).await;
    assert_eq!(
        first,
        flaky_decisions(&emu, 7, 40).await,
        "same seed, same run"
    );
    assert_ne!(
        first,
        flaky_decisions(&emu, 8, 40).await,
        "another seed, another run"
    );
    let failures = first.iter().filter(|failed| **failed).count();
    assert!((5..=35).contains(&failures), "about half of 40: {failures}");
    // Without a seed one is chosen and shown, so a run can be replayed.
    let fault = emu.arm(json!({"error_code": 1, "probability": 0.1})).await;
    assert!(fault["seed"].as_u64().is_some(), "{fault}");
}

#[tokio::test]
async fn the_window_is_judged_by_the_clock_of_the_request() {
    let emu = TestEmulator::spawn().await;
    let namespace = emu.create_namespace().await;
    let id = namespace["namespace"].as_str().unwrap().to_owned();
    let token = namespace["token"].as_str().unwrap().to_owned();
    let number = namespace["numbers"][0]["id"].as_str().unwrap().to_owned();
    // The emulator's clock reads 12:00; the window opens at 13:00.
    emu.arm(json!({"error_code": 131000, "from": "2026-11-25T13:00:00Z", "until": "2026-11-25T14:00:00Z"}))
        .await;
    let read = |token: String, id: String| {
        let request = emu
            .client
            .get(emu.url(&format!("/v23.0/{id}?fields=id")))
            .bearer_auth(token);
        async move { request.send().await.unwrap().status().as_u16() }
    };
    assert_eq!(read(token.clone(), number.clone()).await, 200);
    // The namespace's own clock moves to 13:30: its number is in the window, the others not.
    let (status, _) = emu
        .control_json(
            Method::POST,
            &format!("/namespaces/{id}/clock"),
            Some(json!({"advance": "90m"})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(read(token.clone(), number.clone()).await, 500);
    assert_eq!(read(TOKEN.to_owned(), READY.to_owned()).await, 200);
    // Past the window's end.
    emu.control_json(
        Method::POST,
        &format!("/namespaces/{id}/clock"),
        Some(json!({"advance": "1h"})),
    )
    .await;
    assert_eq!(read(token, number).await, 200);
}

#[tokio::test]
async fn hung_requests_are_released_when_their_clients_leave_and_never_slow_others() {
    const HUNG: usize = 40;
    let emu = TestEmulator::spawn().await;
    emu.arm(json!({"number": READY, "apply": true, "answer": "hang"}))
        .await;
    let mut clients = Vec::new();
    for _ in 0..HUNG {
        // A client of its own each: one connection each, as separate app instances.
        let client = reqwest::Client::new();
        let url = emu.url(&format!("/v23.0/{READY}/register"));
        clients.push(tokio::spawn(async move {
            client
                .post(url)
                .bearer_auth(TOKEN)
                .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
                .timeout(Duration::from_secs(4))
                .send()
                .await
        }));
    }
    emu.eventually("/connections", "every request held", |gauges| {
        gauges["hung"] == HUNG
    })
    .await;
    // Meanwhile other numbers answer at once (a generous bound: only a stall would miss it).
    for _ in 0..10 {
        let response = tokio::time::timeout(
            Duration::from_secs(3),
            emu.get(&format!("/v23.0/{REGISTERED}?fields=id")),
        )
        .await
        .expect("an unfaulted request is not held up");
        assert_eq!(response.status(), 200);
    }
    for client in clients {
        let error = client.await.unwrap().expect_err("no answer");
        assert!(error.is_timeout(), "{error}");
    }
    // Every held request and its connection is released once the clients gave up.
    let gauges = emu
        .eventually("/connections", "the held requests released", |gauges| {
            gauges["hung"] == 0 && gauges["open_connections"].as_u64() <= Some(2)
        })
        .await;
    assert_eq!(gauges["hung"], 0);
    assert!(emu.is_registered(READY), "applied before the hang");
    let counts = emu.counts(&format!("number={READY}")).await;
    assert_eq!(
        (counts["hung"].as_u64(), counts["answered"].as_u64()),
        (Some(HUNG as u64), Some(0))
    );
}

#[tokio::test]
async fn many_dropped_and_reset_connections_leave_nothing_open() {
    let emu = TestEmulator::spawn().await;
    emu.arm(json!({"number": READY, "operation": "register", "apply": false, "answer": "drop", "count": 50}))
        .await;
    emu.arm(json!({"number": READY, "operation": "register", "apply": false, "answer": "reset", "count": 50}))
        .await;
    for _ in 0..100 {
        // The result is an orderly close or a reset; either way no answer.
        if let Ok(received) = raw_register(&emu, READY).await {
            assert!(received.is_empty());
        }
    }
    emu.eventually("/connections", "every connection closed", |gauges| {
        gauges["open_connections"].as_u64() <= Some(2) && gauges["hung"] == 0
    })
    .await;
    let counts = emu.counts(&format!("number={READY}")).await;
    assert_eq!(
        (counts["dropped"].as_u64(), counts["reset"].as_u64()),
        (Some(50), Some(50))
    );
    assert_eq!(emu.gauges().await["hung"], 0);
}

#[tokio::test]
async fn a_graceful_stop_does_not_wait_on_a_hung_request() {
    let emu = TestEmulator::spawn_with(|builder| {
        builder.connection_limits(wa_cloud_emulator::server::ConnectionLimits {
            shutdown_grace: Duration::from_secs(120),
            ..Default::default()
        })
    })
    .await;
    emu.arm(json!({"apply": false, "answer": "hang"})).await;
    let client = emu.client.clone();
    let url = emu.url(&format!("/v23.0/{READY}/register"));
    // A client without a timeout: only the stop can end its wait.
    let held = tokio::spawn(async move {
        client
            .post(url)
            .bearer_auth(TOKEN)
            .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
            .send()
            .await
    });
    emu.eventually("/connections", "the request held", |gauges| {
        gauges["hung"] == 1
    })
    .await;
    let state = emu.emulator.state().clone();
    tokio::time::timeout(Duration::from_secs(60), emu.emulator.shutdown())
        .await
        .expect("the stop does not wait for the grace period")
        .unwrap();
    let error = held.await.unwrap().expect_err("closed without an answer");
    assert!(!error.is_timeout(), "{error}");
    assert_eq!(state.gauges().view().hung, 0);
    assert!(!state.number(READY).unwrap().registered);
}

#[tokio::test]
async fn over_http2_a_drop_resets_the_stream_and_a_reset_the_connection() {
    use http_body_util::{BodyExt, Full};
    let emu = TestEmulator::spawn().await;
    let stream = TcpStream::connect(emu.emulator.addr()).await.unwrap();
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    let connection = tokio::spawn(connection);
    let register = |id: &str| {
        hyper::Request::post(format!(
            "http://{}/v23.0/{id}/register",
            emu.emulator.addr()
        ))
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Full::new(bytes::Bytes::from_static(
            br#"{"messaging_product":"whatsapp","pin":"123456"}"#,
        )))
        .unwrap()
    };
    emu.arm(json!({"number": READY, "apply": true, "answer": "drop", "count": 1}))
        .await;
    let error = sender
        .clone()
        .send_request(register(READY))
        .await
        .expect_err("the stream is reset");
    // RST_STREAM with INTERNAL_ERROR, hyper's answer to a service that gives no response.
    assert!(format!("{error:?}").contains("INTERNAL_ERROR"), "{error:?}");
    assert!(emu.is_registered(READY));
    // The same connection serves the next stream.
    let response = sender
        .clone()
        .send_request(register(REGISTERED))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(&body[..], br#"{"success":true}"#);

    // A hung stream is released when the client cancels it.
    emu.arm(json!({"number": WITH_PIN, "apply": false, "answer": "hang", "count": 1}))
        .await;
    let held = tokio::time::timeout(GIVE_UP, sender.clone().send_request(register(WITH_PIN))).await;
    assert!(held.is_err(), "no answer");
    emu.eventually("/connections", "the cancelled stream released", |gauges| {
        gauges["hung"] == 0
    })
    .await;

    // A reset ends the whole connection.
    emu.arm(json!({"number": REGISTERED, "apply": true, "answer": "reset", "count": 1}))
        .await;
    assert!(
        sender
            .clone()
            .send_request(register(REGISTERED))
            .await
            .is_err()
    );
    let ended = tokio::time::timeout(PATIENCE, connection)
        .await
        .expect("the connection ends");
    assert!(
        ended.unwrap().is_err(),
        "ended by a reset, not a clean close"
    );
    assert_eq!(emu.registers_counted(REGISTERED).await, 2);
}

#[tokio::test]
async fn combinations_that_make_no_sense_are_refused_with_the_reason() {
    let emu = TestEmulator::spawn().await;
    for (spec, says) in [
        (json!({"answer": "error"}), "needs an error_code"),
        (json!({"answer": "drop"}), "needs \"apply\""),
        (json!({"apply": false}), "nothing to answer"),
        (
            json!({"apply": false, "answer": "normal", "delay_ms": 100}),
            "nothing to answer",
        ),
        (
            json!({"apply": true, "answer": "hang", "delay_ms": 100}),
            "no delay_ms",
        ),
        (
            json!({"error_code": 2, "answer": "reset", "apply": true}),
            "goes with answer",
        ),
        (
            json!({"error_code": 2, "http_status": 200}),
            "between 400 and 599",
        ),
        (
            json!({"error_code": 2, "probability": 2}),
            "between 0 and 1",
        ),
        (
            json!({"error_code": 2, "seed": 1}),
            "seed goes with probability",
        ),
        (
            json!({"error_code": 2, "from": "2026-11-25T13:00:00Z", "until": "2026-11-25T12:00:00Z"}),
            "before until",
        ),
        (json!({"answer": "sometimes"}), "unknown variant"),
        (json!({"error_code": 2, "from": "yesterday"}), "invalid"),
    ] {
        let (status, body) = emu
            .control_json(Method::POST, "/faults", Some(spec.clone()))
            .await;
        assert_eq!(status, 400, "{spec}: {body}");
        assert_eq!(body["emulator_error"]["kind"], "invalid", "{spec}");
        let message = body["emulator_error"]["message"].as_str().unwrap();
        assert!(message.contains(says), "{spec}: {message}");
    }
    let (_, faults) = emu.control_json(Method::GET, "/faults", None).await;
    assert_eq!(faults["data"], json!([]));
}

#[tokio::test]
async fn library_mode_arms_and_counts_the_same_way() {
    use wa_cloud_emulator::state::{FaultAnswer, FaultSpec};
    let emu = TestEmulator::spawn().await;
    let control = emu.emulator.control();
    let fault = control
        .arm_fault(FaultSpec {
            number: Some(READY.into()),
            apply: Some(true),
            answer: Some(FaultAnswer::Drop),
            count: Some(1),
            ..FaultSpec::default()
        })
        .unwrap();
    assert!(emu.register_within(READY, PATIENCE).await.is_err());
    let counts = control.journal_counts(&Default::default());
    assert_eq!(
        (
            counts.applied,
            counts.succeeded,
            counts.dropped,
            counts.answered
        ),
        (1, 1, 1, 0)
    );
    assert_eq!(
        control.journal(&Default::default())[0].fault_id,
        Some(fault.id)
    );
    assert!(control.faults().is_empty(), "its one use is spent");
    assert!(
        control
            .arm_fault(FaultSpec {
                answer: Some(FaultAnswer::Hang),
                ..FaultSpec::default()
            })
            .is_err()
    );
    assert_eq!(control.connections().hung, 0);
}
