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

#[tokio::test]
async fn failed_requests_count_once_auth_and_lookup_pass() {
    let emu = TestEmulator::spawn().await;
    // Malformed bodies, wrong PINs, missing params: all counted.
    for i in 0..10 {
        let response = match i % 3 {
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
            _ => {
                emu.register(
                    WITH_PIN,
                    json!({"messaging_product": "whatsapp", "pin": "12"}),
                )
                .await
            }
        };
        assert_eq!(response.status(), 400);
    }
    assert_bad_request(emu.register_pin(WITH_PIN, "111111").await, 133016).await;
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
