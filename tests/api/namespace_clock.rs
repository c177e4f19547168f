//! A clock per namespace: parallel tests travel in time without moving each other.

use std::sync::Arc;

use reqwest::Method;
use serde_json::{Value, json};

use crate::helpers::*;

/// The first verified, unregistered number of a namespace (a copy of READY).
fn ready_number(namespace: &Value) -> String {
    namespace["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| {
            n["code_verification_status"] == "VERIFIED"
                && n["registered"] == false
                && !n["pin_set"].as_bool().unwrap()
        })
        .expect("a ready number")["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

async fn register_with(emu: &TestEmulator, token: &str, id: &str) -> reqwest::Response {
    register_pin_with(emu, token, id, "123456").await
}

async fn register_pin_with(
    emu: &TestEmulator,
    token: &str,
    id: &str,
    pin: &str,
) -> reqwest::Response {
    emu.client
        .post(emu.url(&format!("/v23.0/{id}/register")))
        .bearer_auth(token)
        .json(&json!({"messaging_product": "whatsapp", "pin": pin}))
        .send()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_parallel_namespaces_each_travel_in_time_alone() {
    let emu = Arc::new(TestEmulator::spawn().await);
    let global_before = emu.emulator.control().clock_view().now;
    let mut tasks = Vec::new();
    for _ in 0..100 {
        let emu = Arc::clone(&emu);
        tasks.push(tokio::spawn(async move {
            let namespace = emu.create_namespace().await;
            let id = namespace["namespace"].as_str().unwrap().to_owned();
            let token = namespace["token"].as_str().unwrap().to_owned();
            let number = ready_number(&namespace);
            for attempt in 1..=10 {
                let response = register_with(&emu, &token, &number).await;
                assert_eq!(response.status(), 200, "{id}: register {attempt}");
            }
            let blocked = register_with(&emu, &token, &number).await;
            assert_bad_request(blocked, 133016).await;
            let (status, clock) = emu
                .control_json(
                    Method::POST,
                    &format!("/namespaces/{id}/clock"),
                    Some(json!({"advance": "72h"})),
                )
                .await;
            assert_eq!(status, 200, "{clock}");
            assert_eq!(clock["follows_emulator"], false);
            assert_success(register_with(&emu, &token, &number).await).await;
            // Exactly one request counted after the travel: the other namespaces' travels
            // did not move this one's windows.
            let view = emu.emulator.control().get_number(&number).unwrap();
            assert_eq!(view.rate_limits.register.used, 1, "{id}");
            assert_eq!(view.clock, format!("namespace:{id}"));
        }));
    }
    for task in tasks {
        task.await.unwrap();
    }
    // The emulator's clock never moved.
    assert_eq!(emu.emulator.control().clock_view().now, global_before);
}

#[tokio::test]
async fn a_namespace_clock_judges_its_objects_and_no_others() {
    let emu = TestEmulator::spawn().await;
    let namespace = emu.create_namespace().await;
    let id = namespace["namespace"].as_str().unwrap().to_owned();
    let number = ready_number(&namespace);
    // Follows the emulator's clock until set apart.
    let (status, clock) = emu
        .control_json(Method::GET, &format!("/namespaces/{id}/clock"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(clock["follows_emulator"], true);
    assert_eq!(clock["now"], "2026-11-25T12:00:00Z");

    // A verification code lives 10 minutes on its namespace's clock.
    assert_success(emu.request_code(&number).await).await;
    assert_success(emu.request_code(READY).await).await;
    let (status, _) = emu
        .control_json(
            Method::POST,
            &format!("/namespaces/{id}/clock"),
            Some(json!({"advance": "11m"})),
        )
        .await;
    assert_eq!(status, 200);
    let code = emu.pending_code(&number);
    let details = assert_invalid_parameter(
        emu.post_json(
            &format!("/v23.0/{number}/verify_code"),
            json!({"code": code}),
        )
        .await,
    )
    .await;
    assert!(details.contains("expired"), "{details}");
    // The fixture number, on the emulator's clock, still has its code.
    let code = emu.pending_code(READY);
    assert_success(
        emu.post_json(
            &format!("/v23.0/{READY}/verify_code"),
            json!({"code": code}),
        )
        .await,
    )
    .await;

    // The version table follows it too: back in June 2026, v20.0 still serves itself.
    let (status, _) = emu
        .control_json(
            Method::POST,
            &format!("/namespaces/{id}/clock"),
            Some(json!({"set": "2026-06-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 200);
    let read = emu.get(&format!("/v20.0/{number}?fields=status")).await;
    assert_eq!(read.headers()["facebook-api-version"], "v20.0");
    let read = emu.get(&format!("/v20.0/{READY}?fields=status")).await;
    assert_eq!(read.headers()["facebook-api-version"], "v21.0");

    // The journal says which clock judged each request, and at which time.
    let journal = emu.emulator.control().journal(&Default::default());
    let last_two = &journal[journal.len() - 2..];
    assert_eq!(last_two[0].clock, format!("namespace:{id}"));
    assert_eq!(last_two[0].at.to_rfc3339(), "2026-06-01T00:00:00+00:00");
    assert_eq!(last_two[1].clock, "emulator");

    // A reset of the namespace makes it follow the emulator's clock again.
    let (status, _) = emu
        .control_json(Method::POST, &format!("/namespaces/{id}/reset"), None)
        .await;
    assert_eq!(status, 200);
    let (_, clock) = emu
        .control_json(Method::GET, &format!("/namespaces/{id}/clock"), None)
        .await;
    assert_eq!(clock["follows_emulator"], true);
    assert_eq!(clock["now"], "2026-11-25T12:00:00Z");
}

#[tokio::test]
async fn the_emulator_clock_moves_only_namespaces_that_follow_it() {
    let emu = TestEmulator::spawn().await;
    let apart = emu.create_namespace().await["namespace"]
        .as_str()
        .unwrap()
        .to_owned();
    let following = emu.create_namespace().await["namespace"]
        .as_str()
        .unwrap()
        .to_owned();
    let control = emu.emulator.control();
    control
        .change_namespace_clock(
            &apart,
            serde_json::from_value(json!({"advance": "1h"})).unwrap(),
        )
        .unwrap();
    control
        .change_clock(serde_json::from_value(json!({"advance": "2h"})).unwrap())
        .unwrap();
    assert_eq!(
        control.namespace_clock(&apart).unwrap().now.to_rfc3339(),
        "2026-11-25T13:00:00+00:00"
    );
    assert_eq!(
        control
            .namespace_clock(&following)
            .unwrap()
            .now
            .to_rfc3339(),
        "2026-11-25T14:00:00+00:00"
    );
}

#[tokio::test]
async fn bad_namespace_clock_calls_are_control_errors_and_change_nothing() {
    let emu = TestEmulator::spawn().await;
    let id = emu.create_namespace().await["namespace"]
        .as_str()
        .unwrap()
        .to_owned();
    let path = format!("/namespaces/{id}/clock");
    for (body, status) in [
        (json!({}), 400),
        (json!({"advance": "soon"}), 400),
        (json!({"set": "2026-01-01T00:00:00Z", "advance": "1h"}), 400),
        (json!({"rewind": "1h"}), 400),
    ] {
        let (got, error) = emu
            .control_json(Method::POST, &path, Some(body.clone()))
            .await;
        assert_eq!(got, status, "{body}: {error}");
        assert!(error["emulator_error"]["message"].is_string(), "{error}");
    }
    let (_, clock) = emu.control_json(Method::GET, &path, None).await;
    assert_eq!(clock["follows_emulator"], true);
    let (status, _) = emu
        .control_json(
            Method::POST,
            "/namespaces/123/clock",
            Some(json!({"advance": "1h"})),
        )
        .await;
    assert_eq!(status, 404);
    let (status, _) = emu
        .control_json(Method::GET, &format!("/namespaces/{WABA}/clock"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn a_namespace_clock_survives_a_restart_with_a_data_dir() {
    let dir = std::env::temp_dir().join(format!(
        "wa-emu-ns-clock-{}-{}",
        std::process::id(),
        wa_cloud_emulator::state::random_seed()
    ));
    let start = || {
        wa_cloud_emulator::Emulator::builder()
            .manual_clock(start_instant())
            .data_dir(dir.clone())
            .start()
    };
    let emulator = start().await.unwrap();
    let control = emulator.control();
    let namespace = control.create_namespace(Default::default()).unwrap();
    control
        .change_namespace_clock(
            &namespace.namespace,
            serde_json::from_value(json!({"advance": "72h"})).unwrap(),
        )
        .unwrap();
    emulator.shutdown().await.unwrap();

    let emulator = start().await.unwrap();
    let clock = emulator
        .control()
        .namespace_clock(&namespace.namespace)
        .unwrap();
    assert!(!clock.follows_emulator);
    assert_eq!(clock.now.to_rfc3339(), "2026-11-28T12:00:00+00:00");
    emulator.shutdown().await.unwrap();
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn pin_lockouts_and_token_expiry_follow_the_namespace_clock() {
    let emu = TestEmulator::spawn().await;
    let namespace = emu.create_namespace().await;
    let id = namespace["namespace"].as_str().unwrap().to_owned();
    let token = namespace["token"].as_str().unwrap().to_owned();
    // The copy of WITH_PIN (PIN 111111): five wrong PINs lock it for an hour.
    let with_pin = namespace["numbers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["verified_name"] == "Verified With PIN")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for _ in 0..5 {
        let _ = register_pin_with(&emu, &token, &with_pin, "000000").await;
    }
    let locked = register_pin_with(&emu, &token, &with_pin, "111111").await;
    assert_bad_request(locked, 133008).await;
    // An hour on the emulator's clock does not unlock it: the namespace has its own.
    let control = emu.emulator.control();
    control
        .change_namespace_clock(
            &id,
            serde_json::from_value(json!({"advance": "1s"})).unwrap(),
        )
        .unwrap();
    control
        .change_clock(serde_json::from_value(json!({"advance": "2h"})).unwrap())
        .unwrap();
    let still = register_pin_with(&emu, &token, &with_pin, "111111").await;
    assert_bad_request(still, 133008).await;
    control
        .change_namespace_clock(
            &id,
            serde_json::from_value(json!({"advance": "1h"})).unwrap(),
        )
        .unwrap();
    let unlocked = register_pin_with(&emu, &token, &with_pin, "111111").await;
    assert_success(unlocked).await;

    // The namespace token expires on the namespace's clock.
    let (status, _) = emu
        .control_json(
            Method::PATCH,
            &format!("/tokens/{token}"),
            Some(json!({"expires_at": "2026-11-25T14:00:01Z"})),
        )
        .await;
    assert_eq!(status, 200);
    let ready = ready_number(&namespace);
    let read = emu
        .get_with(&format!("/v23.0/{ready}?fields=status"), &token)
        .await;
    assert_eq!(read.status(), 200);
    control
        .change_namespace_clock(
            &id,
            serde_json::from_value(json!({"advance": "1h"})).unwrap(),
        )
        .unwrap();
    let expired = emu
        .get_with(&format!("/v23.0/{ready}?fields=status"), &token)
        .await;
    assert_error(expired, 401, 190, "OAuthException").await;
}
