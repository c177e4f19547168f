//! Local storage the v21+ way: `POST` and `GET /{id}/settings`.

use serde_json::json;

use crate::helpers::*;

fn enable(region: &str) -> serde_json::Value {
    json!({"storage_configuration": {"status": "IN_COUNTRY_STORAGE_ENABLED", "data_localization_region": region}})
}

#[tokio::test]
async fn enable_read_back_disable() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{READY}/settings");
    assert_eq!(
        assert_json(emu.get(&path).await).await,
        json!({"storage_configuration": {"status": "IN_COUNTRY_STORAGE_DISABLED"}})
    );
    assert_success(emu.post_json(&path, enable("BR")).await).await;
    assert_eq!(
        assert_json(emu.get(&path).await).await,
        json!({"storage_configuration": {"status": "IN_COUNTRY_STORAGE_ENABLED", "data_localization_region": "BR"}})
    );
    assert_success(
        emu.post_json(
            &path,
            json!({"storage_configuration": {"status": "in_country_storage_disabled"}}),
        )
        .await,
    )
    .await;
    assert_eq!(emu.number(READY).region, None);
}

#[tokio::test]
async fn register_without_a_region_keeps_the_one_set_through_settings() {
    let emu = TestEmulator::spawn().await;
    assert_success(
        emu.post_json(&format!("/v23.0/{READY}/settings"), enable("IN"))
            .await,
    )
    .await;
    assert_success(emu.register_pin(READY, "123456").await).await;
    assert_eq!(emu.number(READY).region.map(|r| r.code()), Some("IN"));
    assert_eq!(
        assert_json(emu.get(&format!("/v23.0/{READY}/settings")).await).await,
        json!({"storage_configuration": {"status": "IN_COUNTRY_STORAGE_ENABLED", "data_localization_region": "IN"}})
    );
}

#[tokio::test]
async fn a_form_body_sends_the_configuration_as_a_json_string() {
    let emu = TestEmulator::spawn().await;
    assert_success(
        emu.post_form(
            &format!("/v23.0/{READY}/settings"),
            &[(
                "storage_configuration",
                r#"{"status":"IN_COUNTRY_STORAGE_ENABLED","data_localization_region":"DE"}"#,
            )],
        )
        .await,
    )
    .await;
    assert_eq!(emu.number(READY).region.map(|r| r.code()), Some("DE"));
}

#[tokio::test]
async fn a_registered_number_cannot_change_local_storage() {
    let emu = TestEmulator::spawn().await;
    let details = assert_invalid_parameter(
        emu.post_json(&format!("/v23.0/{REGISTERED_DE}/settings"), enable("BR"))
            .await,
    )
    .await;
    assert_eq!(
        details,
        "Local storage can only be changed on an unregistered phone number"
    );
    assert_eq!(
        emu.number(REGISTERED_DE).region.map(|r| r.code()),
        Some("DE")
    );
    // Deregister (which switches local storage off), change, re-register.
    assert_success(emu.deregister(REGISTERED_DE).await).await;
    assert_success(
        emu.post_json(&format!("/v23.0/{REGISTERED_DE}/settings"), enable("BR"))
            .await,
    )
    .await;
    assert_success(emu.register_pin(REGISTERED_DE, "654321").await).await;
    assert_eq!(
        emu.number(REGISTERED_DE).region.map(|r| r.code()),
        Some("BR")
    );
}

#[tokio::test]
async fn coexistence_numbers_refuse_local_storage() {
    let emu = TestEmulator::spawn().await;
    let details = assert_invalid_parameter(
        emu.post_json(&format!("/v23.0/{COEXISTENCE}/settings"), enable("DE"))
            .await,
    )
    .await;
    assert_eq!(
        details,
        "Local storage is not available for phone numbers shared with the WhatsApp Business app (coexistence)."
    );
}

#[tokio::test]
async fn settings_parameter_errors() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{READY}/settings");
    assert_missing_parameter(
        emu.post_json(&path, json!({})).await,
        "storage_configuration",
    )
    .await;
    assert_missing_parameter(
        emu.post_json(&path, json!({"storage_configuration": {}}))
            .await,
        "storage_configuration.status",
    )
    .await;
    assert_missing_parameter(
        emu.post_json(
            &path,
            json!({"storage_configuration": {"status": "IN_COUNTRY_STORAGE_ENABLED"}}),
        )
        .await,
        "storage_configuration.data_localization_region",
    )
    .await;
    let error = assert_bad_request(
        emu.post_json(&path, json!({"storage_configuration": {"status": "ON"}}))
            .await,
        100,
    )
    .await;
    assert_eq!(
        error["message"],
        "(#100) Param storage_configuration.status must be one of {IN_COUNTRY_STORAGE_ENABLED, IN_COUNTRY_STORAGE_DISABLED} - got \"ON\"."
    );
    let details = assert_invalid_parameter(emu.post_json(&path, enable("US")).await).await;
    assert!(
        details.starts_with("data_localization_region \"US\" is not supported"),
        "{details}"
    );
    let details = assert_invalid_parameter(
        emu.post_json(&path, json!({"storage_configuration": "on"}))
            .await,
    )
    .await;
    assert_eq!(
        details,
        "Param storage_configuration must be a JSON object."
    );
    assert_eq!(emu.number(READY).region, None);
}

#[tokio::test]
async fn settings_auth_scope_and_method_errors() {
    let emu = TestEmulator::spawn_with_messaging_only_token().await;
    let path = format!("/v23.0/{READY}/settings");
    assert_unknown_object(emu.get_with(&path, OTHER_WABA_TOKEN).await, "get", READY).await;
    assert_unknown_object(
        emu.post_json_with(&path, OTHER_WABA_TOKEN, enable("DE"))
            .await,
        "post",
        READY,
    )
    .await;
    assert_unknown_object(
        emu.get("/v23.0/999999999/settings").await,
        "get",
        "999999999",
    )
    .await;
    assert_error(
        emu.get_with(&path, MESSAGING_ONLY_TOKEN).await,
        403,
        200,
        "OAuthException",
    )
    .await;
    let response = emu
        .client
        .delete(emu.url(&path))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let error = assert_error(response, 400, 100, "GraphMethodException").await;
    assert_eq!(error["error_subcode"], 33);
    assert_json(emu.get_with(&path, MANAGEMENT_ONLY_TOKEN).await).await;
}

#[tokio::test]
async fn user_identity_change_is_kept_and_read_back() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{REGISTERED}/settings");
    // Meta's phone-numbers page: allowed on any number, registered or not.
    assert_success(
        emu.post_json(
            &path,
            json!({"user_identity_change": {"enable_identity_key_check": true}}),
        )
        .await,
    )
    .await;
    let settings = assert_json(emu.get(&path).await).await;
    assert_eq!(
        settings["user_identity_change"],
        json!({"enable_identity_key_check": true})
    );
    assert_eq!(
        settings["storage_configuration"]["status"],
        "IN_COUNTRY_STORAGE_DISABLED"
    );
    // Form bodies send the object as JSON text.
    let response = emu
        .client
        .post(emu.url(&path))
        .bearer_auth(TOKEN)
        .form(&[(
            "user_identity_change",
            r#"{"enable_identity_key_check":false}"#,
        )])
        .send()
        .await
        .unwrap();
    assert_success(response).await;
    // Off again: the block is left out, as in Meta's example answer.
    let settings = assert_json(emu.get(&path).await).await;
    assert!(settings.get("user_identity_change").is_none(), "{settings}");
    // Bad values change nothing.
    let error = assert_bad_request(
        emu.post_json(
            &path,
            json!({"user_identity_change": {"enable_identity_key_check": "maybe"}}),
        )
        .await,
        100,
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("enable_identity_key_check")
    );
    assert_bad_request(
        emu.post_json(
            &path,
            json!({"user_identity_change": {"enable_identity_key_check": true},
                   "storage_configuration": {"status": "IN_COUNTRY_STORAGE_DISABLED"}}),
        )
        .await,
        100,
    )
    .await;
    let settings = assert_json(emu.get(&path).await).await;
    assert!(settings.get("user_identity_change").is_none(), "{settings}");
    // It is part of the number's state (exported, persisted).
    assert!(
        !emu.emulator
            .state()
            .number(REGISTERED)
            .unwrap()
            .identity_key_check()
    );
}
