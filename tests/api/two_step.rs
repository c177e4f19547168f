//! `POST /{id}` with `pin`: set or change the two-step PIN.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_pin_set_before_register_is_the_pin_register_must_match() {
    let emu = TestEmulator::spawn().await;
    assert_eq!(
        emu.read_fields(READY, "is_pin_enabled").await,
        json!({"is_pin_enabled": false, "id": READY})
    );
    assert_success(
        emu.post_json(&format!("/v23.0/{READY}"), json!({"pin": "246810"}))
            .await,
    )
    .await;
    assert_eq!(
        emu.read_fields(READY, "is_pin_enabled").await,
        json!({"is_pin_enabled": true, "id": READY})
    );
    assert_bad_request(emu.register_pin(READY, "123456").await, 133005).await;
    assert_success(emu.register_pin(READY, "246810").await).await;
}

#[tokio::test]
async fn the_pin_changes_without_the_old_one_even_while_registered() {
    let emu = TestEmulator::spawn().await;
    assert_success(
        emu.post_json(&format!("/v23.0/{REGISTERED}"), json!({"pin": 999999}))
            .await,
    )
    .await;
    assert_eq!(emu.number(REGISTERED).pin.unwrap().expose(), "999999");
    assert!(emu.is_registered(REGISTERED));
    assert_bad_request(emu.register_pin(REGISTERED, "123456").await, 133005).await;
    assert_success(emu.register_pin(REGISTERED, "999999").await).await;
}

#[tokio::test]
async fn setting_the_pin_clears_a_guess_lockout() {
    let emu = TestEmulator::spawn().await;
    for _ in 0..5 {
        assert_bad_request(emu.register_pin(WITH_PIN, "000000").await, 133005).await;
    }
    assert_bad_request(emu.register_pin(WITH_PIN, "111111").await, 133008).await;
    assert_success(
        emu.post_form(&format!("/v23.0/{WITH_PIN}"), &[("pin", "111111")])
            .await,
    )
    .await;
    assert_eq!(emu.number(WITH_PIN).pin_lockout(), Default::default());
    assert_success(emu.register_pin(WITH_PIN, "111111").await).await;
}

#[tokio::test]
async fn setting_the_pin_does_not_count_toward_the_register_limit() {
    let emu = TestEmulator::spawn().await;
    for _ in 0..12 {
        assert_success(
            emu.post_json(&format!("/v23.0/{READY}"), json!({"pin": "123456"}))
                .await,
        )
        .await;
    }
    assert_eq!(
        emu.number(READY)
            .window(wa_cloud_emulator::domain::Operation::Register)
            .requests()
            .len(),
        0
    );
    for _ in 0..10 {
        assert_success(emu.register_pin(READY, "123456").await).await;
    }
}

#[tokio::test]
async fn the_nested_form_from_meta_openapi_is_accepted() {
    let emu = TestEmulator::spawn().await;
    assert_success(
        emu.post_json(
            &format!("/v23.0/{READY}"),
            json!({"whatsapp_business_api_data": {"pin": "135790"}}),
        )
        .await,
    )
    .await;
    assert_eq!(emu.number(READY).pin.unwrap().expose(), "135790");
    assert_success(
        emu.post_form(
            &format!("/v23.0/{READY}"),
            &[("whatsapp_business_api_data", r#"{"pin":"112233"}"#)],
        )
        .await,
    )
    .await;
    assert_eq!(emu.number(READY).pin.unwrap().expose(), "112233");
}

#[tokio::test]
async fn pin_parameter_errors() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{WITH_PIN}");
    assert_missing_parameter(emu.post_json(&path, json!({})).await, "pin").await;
    assert_missing_parameter(
        emu.post_json(&path, json!({"whatsapp_business_api_data": {}}))
            .await,
        "pin",
    )
    .await;
    for bad in [
        json!("12345"),
        json!("12a456"),
        json!(12345),
        json!("1234567"),
    ] {
        let details =
            assert_invalid_parameter(emu.post_json(&path, json!({"pin": bad})).await).await;
        assert_eq!(
            details,
            "PIN must be exactly 6 digits (a string such as \"123456\")."
        );
    }
    let details = assert_invalid_parameter(
        emu.post_json(&path, json!({"whatsapp_business_api_data": "not json"}))
            .await,
    )
    .await;
    assert_eq!(
        details,
        "Param whatsapp_business_api_data must be a JSON object."
    );
    assert_eq!(emu.number(WITH_PIN).pin.unwrap().expose(), "111111");
}

#[tokio::test]
async fn pin_auth_scope_and_method_errors() {
    let emu = TestEmulator::spawn_with_messaging_only_token().await;
    let body = json!({"pin": "123456"});
    assert_unknown_object(
        emu.post_json("/v23.0/999999999", body.clone()).await,
        "post",
        "999999999",
    )
    .await;
    assert_unknown_object(
        emu.post_json_with(&format!("/v23.0/{READY}"), OTHER_WABA_TOKEN, body.clone())
            .await,
        "post",
        READY,
    )
    .await;
    assert_error(
        emu.post_json_with(
            &format!("/v23.0/{READY}"),
            MESSAGING_ONLY_TOKEN,
            body.clone(),
        )
        .await,
        403,
        200,
        "OAuthException",
    )
    .await;
    // Meta's two-step verification page: both WhatsApp permissions, so a management-only
    // token is refused too.
    assert_error(
        emu.post_json_with(
            &format!("/v23.0/{READY}"),
            MANAGEMENT_ONLY_TOKEN,
            body.clone(),
        )
        .await,
        403,
        200,
        "OAuthException",
    )
    .await;
    let response = emu
        .client
        .delete(emu.url(&format!("/v23.0/{READY}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let error = assert_error(response, 400, 100, "GraphMethodException").await;
    assert!(error["message"].as_str().unwrap().starts_with(&format!(
        "Unsupported delete request. Object with ID '{READY}'"
    )));
    assert!(emu.number(READY).pin.is_none());
}
