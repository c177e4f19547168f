//! Rule 7 and rule 10: the sliding 72-hour window, the block, and the clock.

use chrono::TimeDelta;
use serde_json::json;
use wa_cloud_emulator::domain::RateLimitPolicy;

use crate::helpers::*;

async fn exhaust_register(emu: &TestEmulator, id: &str, pin: &str) {
    for i in 0..10 {
        let response = emu.register_pin(id, pin).await;
        assert_eq!(response.status(), 200, "request {i}");
    }
}

#[tokio::test]
async fn the_eleventh_register_in_72_hours_is_133016_and_blocks_for_72_hours() {
    let emu = TestEmulator::spawn().await;
    exhaust_register(&emu, REGISTERED, "123456").await;
    let error = assert_bad_request(emu.register_pin(REGISTERED, "123456").await, 133016).await;
    assert_eq!(
        error["message"],
        "(#133016) Account register deregister rate limit exceeded"
    );
    assert!(
        error["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("blocked until 2026-11-28T12:00:00Z")
    );
    // Requests during the block are refused and not counted.
    emu.emulator.clock().advance(TimeDelta::hours(71));
    assert_bad_request(emu.register_pin(REGISTERED, "123456").await, 133016).await;
    let number = emu.emulator.state().number(REGISTERED).unwrap();
    assert_eq!(
        number
            .window(wa_cloud_emulator::domain::Operation::Register)
            .requests()
            .len(),
        10
    );
    // One second before the end: still blocked. At 72 hours: free again.
    emu.emulator
        .clock()
        .advance(TimeDelta::hours(1) - TimeDelta::seconds(1));
    assert_bad_request(emu.register_pin(REGISTERED, "123456").await, 133016).await;
    emu.emulator.clock().advance(TimeDelta::seconds(1));
    assert_success(emu.register_pin(REGISTERED, "123456").await).await;
}

fn register_window_len(emu: &TestEmulator, id: &str) -> usize {
    emu.emulator
        .state()
        .number(id)
        .unwrap()
        .window(wa_cloud_emulator::domain::Operation::Register)
        .requests()
        .len()
}

#[tokio::test]
async fn requests_refused_for_their_body_or_parameters_do_not_count() {
    let emu = TestEmulator::spawn().await;
    // Graph reads and checks parameters before the endpoint runs: none of these reaches the
    // limiter, however many are sent.
    for i in 0..15 {
        // The v21+ refusal of the region is parameter validation too (code 12).
        let expected = if i % 5 == 4 { 12 } else { 100 };
        let response = match i % 5 {
            0 => {
                emu.register(WITH_PIN, json!({"messaging_product": "whatsapp"}))
                    .await
            }
            1 => emu
                .client
                .post(emu.url(&format!("/v23.0/{WITH_PIN}/register")))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body("{not json")
                .send()
                .await
                .unwrap(),
            2 => {
                emu.register(
                    WITH_PIN,
                    json!({"messaging_product": "whatsapp", "pin": "12"}),
                )
                .await
            }
            3 => emu
                .client
                .post(emu.url(&format!("/v23.0/{WITH_PIN}/register")))
                .bearer_auth(TOKEN)
                .header("content-type", "application/json")
                .body("null")
                .send()
                .await
                .unwrap(),
            _ => {
                emu.register(
                    WITH_PIN,
                    json!({"messaging_product": "whatsapp", "pin": "111111", "data_localization_region": "XX"}),
                )
                .await
            }
        };
        assert_bad_request(response, expected).await;
    }
    // Ten `null` bodies on deregister (a Go client encoding nil) do not block the number.
    for _ in 0..10 {
        let response = emu
            .client
            .post(emu.url(&format!("/v23.0/{REGISTERED}/deregister")))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body("null")
            .send()
            .await
            .unwrap();
        assert_bad_request(response, 100).await;
    }
    assert_eq!(register_window_len(&emu, WITH_PIN), 0);
    assert_success(emu.register_pin(WITH_PIN, "111111").await).await;
    assert_success(emu.deregister(REGISTERED).await).await;
}

#[tokio::test]
async fn requests_that_reach_the_rules_count_even_when_they_fail() {
    let emu = TestEmulator::spawn().await;
    // Wrong PIN (133005) and unverified number (133006) reach the rules: counted.
    for _ in 0..5 {
        assert_bad_request(emu.register_pin(WITH_PIN, "000000").await, 133005).await;
        assert_bad_request(emu.register_pin(UNVERIFIED, "123456").await, 133006).await;
    }
    assert_eq!(register_window_len(&emu, WITH_PIN), 5);
    assert_eq!(register_window_len(&emu, UNVERIFIED), 5);
    for _ in 0..5 {
        let _ = emu.register_pin(UNVERIFIED, "123456").await;
    }
    assert_bad_request(emu.register_pin(UNVERIFIED, "123456").await, 133016).await;
}

#[tokio::test]
async fn requests_failing_auth_or_lookup_do_not_count() {
    let emu = TestEmulator::spawn().await;
    for _ in 0..12 {
        let response = emu.register_as("EAAunknown", READY).await;
        assert_eq!(response.status(), 401);
        let response = emu.register_as(OTHER_WABA_TOKEN, READY).await;
        assert_eq!(response.status(), 400);
        let response = emu.register_as(MANAGEMENT_ONLY_TOKEN, READY).await;
        assert_eq!(response.status(), 403);
    }
    let number = emu.emulator.state().number(READY).unwrap();
    assert_eq!(
        number
            .window(wa_cloud_emulator::domain::Operation::Register)
            .requests()
            .len(),
        0
    );
    assert_success(emu.register_pin(READY, "123456").await).await;
}

#[tokio::test]
async fn register_and_deregister_have_separate_windows() {
    let emu = TestEmulator::spawn().await;
    exhaust_register(&emu, REGISTERED, "123456").await;
    assert_bad_request(emu.register_pin(REGISTERED, "123456").await, 133016).await;
    // Deregister still has its own ten.
    for i in 0..10 {
        let response = emu.deregister(REGISTERED).await;
        let status = response.status();
        // First succeeds, the rest fail "not registered" but still count.
        assert_eq!(status, if i == 0 { 200 } else { 400 }, "request {i}");
    }
    assert_bad_request(emu.deregister(REGISTERED).await, 133016).await;
}

#[tokio::test]
async fn the_window_slides() {
    let emu = TestEmulator::spawn().await;
    for _ in 0..10 {
        assert_success(emu.register_pin(REGISTERED, "123456").await).await;
        emu.emulator.clock().advance(TimeDelta::hours(1));
    }
    // Now t0 + 10h; the first request (t0) leaves the window at t0 + 72h.
    emu.emulator.clock().advance(TimeDelta::hours(62));
    assert_success(emu.register_pin(REGISTERED, "123456").await).await;
    // The second one (t0 + 1h) is still in the window: the next request is over the limit.
    assert_bad_request(emu.register_pin(REGISTERED, "123456").await, 133016).await;
}

#[tokio::test]
async fn limits_are_configurable() {
    let emu = TestEmulator::spawn_with(|b| {
        b.rate_limit(RateLimitPolicy {
            limit: 2,
            window: TimeDelta::minutes(10),
            block: TimeDelta::minutes(5),
        })
    })
    .await;
    assert_success(emu.register_pin(REGISTERED, "123456").await).await;
    assert_success(emu.register_pin(REGISTERED, "123456").await).await;
    let error = assert_bad_request(emu.register_pin(REGISTERED, "123456").await, 133016).await;
    assert!(
        error["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("2026-11-25T12:05:00Z")
    );
    emu.emulator.clock().advance(TimeDelta::minutes(5));
    // The block is over but both requests are still in the 10-minute window.
    assert_bad_request(emu.register_pin(REGISTERED, "123456").await, 133016).await;
    emu.emulator.clock().advance(TimeDelta::minutes(10));
    assert_success(emu.register_pin(REGISTERED, "123456").await).await;
}
