//! Rules 4 to 6: verification, the two-step PIN and data localization.

use chrono::{DateTime, TimeDelta};
use serde_json::json;
use wa_cloud_emulator::domain::PinLockoutPolicy;

use crate::helpers::*;

#[tokio::test]
async fn an_unverified_number_cannot_register() {
    let emu = TestEmulator::spawn().await;
    let error = assert_bad_request(emu.register_pin(UNVERIFIED, "123456").await, 133006).await;
    assert_eq!(
        error["message"],
        "(#133006) Phone number re-verification needed"
    );
    assert_eq!(error["error_data"]["messaging_product"], "whatsapp");
    assert!(error.get("error_subcode").is_none());
    assert!(!emu.is_registered(UNVERIFIED));
}

#[tokio::test]
async fn the_first_register_sets_the_pin() {
    let emu = TestEmulator::spawn().await;
    assert_success(emu.register_pin(READY, "123456").await).await;
    let number = emu.emulator.state().number(READY).unwrap();
    assert_eq!(number.pin.unwrap().expose(), "123456");
    // From now on another PIN is a mismatch.
    assert_bad_request(emu.register_pin(READY, "654321").await, 133005).await;
}

#[tokio::test]
async fn a_different_pin_is_a_mismatch() {
    let emu = TestEmulator::spawn().await;
    let error = assert_bad_request(emu.register_pin(WITH_PIN, "222222").await, 133005).await;
    assert_eq!(
        error["message"],
        "(#133005) Two step verification PIN Mismatch"
    );
    assert!(!emu.is_registered(WITH_PIN));
    assert_success(emu.register_pin(WITH_PIN, "111111").await).await;
}

#[tokio::test]
async fn five_mismatches_lock_the_pin_for_an_hour() {
    let emu = TestEmulator::spawn().await;
    for _ in 0..5 {
        assert_bad_request(emu.register_pin(WITH_PIN, "000000").await, 133005).await;
    }
    let error = assert_bad_request(emu.register_pin(WITH_PIN, "111111").await, 133008).await;
    assert_eq!(
        error["message"],
        "(#133008) Too Many two step verification PIN Guesses"
    );
    let details = error["error_data"]["details"].as_str().unwrap();
    assert!(details.contains("Try again in 1 hour"), "{details}");
    emu.emulator.clock().advance(TimeDelta::minutes(59));
    let error = assert_bad_request(emu.register_pin(WITH_PIN, "111111").await, 133008).await;
    assert!(
        error["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("Try again in 1 minute")
    );
    emu.emulator.clock().advance(TimeDelta::minutes(1));
    assert_success(emu.register_pin(WITH_PIN, "111111").await).await;
}

#[tokio::test]
async fn the_lockout_is_configurable() {
    let emu = TestEmulator::spawn_with(|b| {
        b.pin_lockout(PinLockoutPolicy {
            max_failures: 2,
            lock_for: TimeDelta::minutes(10),
        })
    })
    .await;
    for _ in 0..2 {
        assert_bad_request(emu.register_pin(WITH_PIN, "000000").await, 133005).await;
    }
    let error = assert_bad_request(emu.register_pin(WITH_PIN, "111111").await, 133008).await;
    assert!(
        error["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("10 minutes")
    );
}

#[tokio::test]
async fn re_registering_with_the_right_pin_succeeds_and_changes_nothing() {
    let emu = TestEmulator::spawn().await;
    let before = emu.emulator.state().number(REGISTERED_DE).unwrap();
    assert_success(emu.register_pin(REGISTERED_DE, "654321").await).await;
    let mut after = emu.emulator.state().number(REGISTERED_DE).unwrap();
    // Only the limiter log moved.
    let register = wa_cloud_emulator::domain::Operation::Register;
    *after.window_mut(register) = before.window(register).clone();
    assert_eq!(after, before);
    assert_eq!(after.region.unwrap().code(), "DE");
}

#[tokio::test]
async fn a_supported_region_is_stored() {
    // The register-with-region flow of the older registration page (v20 and older, or v21+
    // with the opt-in), exercised on today's versions.
    let emu = TestEmulator::spawn_with(|b| b.allow_region_on_register_from_v21(true)).await;
    let response = emu
        .register(
            READY,
            json!({"messaging_product": "whatsapp", "pin": "123456", "data_localization_region": "BR"}),
        )
        .await;
    assert_success(response).await;
    let number = emu.emulator.state().number(READY).unwrap();
    assert_eq!(number.region.unwrap().code(), "BR");
}

#[tokio::test]
async fn an_unsupported_region_lists_the_valid_codes() {
    // The register-with-region flow of the older registration page (v20 and older, or v21+
    // with the opt-in), exercised on today's versions.
    let emu = TestEmulator::spawn_with(|b| b.allow_region_on_register_from_v21(true)).await;
    for region in ["US", "de", "EU", ""] {
        let error = assert_bad_request(emu.register(
                READY,
                json!({"messaging_product": "whatsapp", "pin": "123456", "data_localization_region": region}),
            )
            .await, 100)
        .await;
        assert_eq!(error["message"], "(#100) Invalid parameter");
        let details = error["error_data"]["details"].as_str().unwrap();
        assert!(
            details.contains("AU, ID, IN, JP, SG, KR, DE, CH, GB, BR, BH, ZA, AE, CA"),
            "{details}"
        );
    }
    assert!(!emu.is_registered(READY));
}

#[tokio::test]
async fn the_region_cannot_change_while_registered() {
    // The register-with-region flow of the older registration page (v20 and older, or v21+
    // with the opt-in), exercised on today's versions.
    let emu = TestEmulator::spawn_with(|b| b.allow_region_on_register_from_v21(true)).await;
    let error = assert_bad_request(emu.register(
            REGISTERED_DE,
            json!({"messaging_product": "whatsapp", "pin": "654321", "data_localization_region": "BR"}),
        )
        .await, 100)
    .await;
    assert!(
        error["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("Deregister the phone number first")
    );
    // Same region again, or none: fine and unchanged.
    assert_success(
        emu.register(
            REGISTERED_DE,
            json!({"messaging_product": "whatsapp", "pin": "654321", "data_localization_region": "DE"}),
        )
        .await,
    )
    .await;
    assert_success(emu.register_pin(REGISTERED_DE, "654321").await).await;
    let number = emu.emulator.state().number(REGISTERED_DE).unwrap();
    assert_eq!(number.region.unwrap().code(), "DE");
}

#[tokio::test]
async fn deregister_clears_the_region_and_the_next_register_may_set_another() {
    // The register-with-region flow of the older registration page (v20 and older, or v21+
    // with the opt-in), exercised on today's versions.
    let emu = TestEmulator::spawn_with(|b| b.allow_region_on_register_from_v21(true)).await;
    assert_success(emu.deregister(REGISTERED_DE).await).await;
    assert!(
        emu.emulator
            .state()
            .number(REGISTERED_DE)
            .unwrap()
            .region
            .is_none()
    );
    assert_success(
        emu.register(
            REGISTERED_DE,
            json!({"messaging_product": "whatsapp", "pin": "654321", "data_localization_region": "GB"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        emu.emulator
            .state()
            .number(REGISTERED_DE)
            .unwrap()
            .region
            .unwrap()
            .code(),
        "GB"
    );
}

#[tokio::test]
async fn the_region_on_register_is_refused_from_v21_by_default() {
    // v20.0 is still live on 2026-06-01.
    let june = DateTime::parse_from_rfc3339("2026-06-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let emu = TestEmulator::spawn_with(|b| b.manual_clock(june)).await;
    let body =
        json!({"messaging_product": "whatsapp", "pin": "123456", "data_localization_region": "DE"});
    let error = assert_bad_request(
        emu.post_json(&format!("/v21.0/{READY}/register"), body.clone())
            .await,
        12,
    )
    .await;
    assert_eq!(
        error["message"],
        "(#12) Deprecated for versions v21.0 or higher"
    );
    assert!(!emu.is_registered(READY));
    assert_success(
        emu.post_json(&format!("/v20.0/{READY}/register"), body)
            .await,
    )
    .await;
    // Without the parameter v21.0+ registers normally.
    assert_success(
        emu.post_json(
            &format!("/v23.0/{READY}/register"),
            json!({"messaging_product": "whatsapp", "pin": "123456"}),
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn with_the_opt_in_every_version_accepts_the_region() {
    // The register-with-region flow of the older registration page (v20 and older, or v21+
    // with the opt-in), exercised on today's versions.
    let emu = TestEmulator::spawn_with(|b| b.allow_region_on_register_from_v21(true)).await;
    let body =
        json!({"messaging_product": "whatsapp", "pin": "123456", "data_localization_region": "DE"});
    assert_success(
        emu.post_json(&format!("/v25.0/{READY}/register"), body)
            .await,
    )
    .await;
}

#[tokio::test]
async fn an_expired_v20_is_served_by_v21_and_refuses_the_region_too() {
    // In late 2026 v20.0 has expired: Graph serves it as v21.0, whose rules apply.
    let emu = TestEmulator::spawn().await;
    let body =
        json!({"messaging_product": "whatsapp", "pin": "123456", "data_localization_region": "DE"});
    let response = emu
        .post_json(&format!("/v20.0/{READY}/register"), body)
        .await;
    assert_eq!(response.headers()["facebook-api-version"], "v21.0");
    assert_bad_request(response, 12).await;
    assert!(!emu.is_registered(READY));
}
