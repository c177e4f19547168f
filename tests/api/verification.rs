//! `POST /{id}/request_code` and `POST /{id}/verify_code`.

use chrono::TimeDelta;
use serde_json::json;
use wa_cloud_emulator::domain::{CodeMethod, CodeVerificationStatus};

use crate::helpers::*;

#[tokio::test]
async fn request_code_stores_a_six_digit_code_that_expires_after_ten_minutes() {
    let emu = TestEmulator::spawn().await;
    assert_success(emu.request_code(UNVERIFIED).await).await;
    let pending = emu
        .number(UNVERIFIED)
        .pending_verification()
        .unwrap()
        .clone();
    assert_eq!(pending.code.expose().len(), 6);
    assert!(pending.code.expose().bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(pending.method, CodeMethod::Sms);
    assert_eq!(pending.language, "en_US");
    assert_eq!(pending.expires_at, start_instant() + TimeDelta::minutes(10));
    // Requesting a code does not change the verification status.
    assert_eq!(
        emu.number(UNVERIFIED).verification,
        CodeVerificationStatus::NotVerified
    );
}

#[tokio::test]
async fn codes_are_deterministic_for_a_seed() {
    let a = TestEmulator::spawn_with(|builder| builder.id_seed(7)).await;
    let b = TestEmulator::spawn_with(|builder| builder.id_seed(7)).await;
    for emu in [&a, &b] {
        assert_success(emu.request_code(UNVERIFIED).await).await;
        assert_success(emu.request_code(READY).await).await;
    }
    assert_eq!(a.pending_code(UNVERIFIED), b.pending_code(UNVERIFIED));
    assert_eq!(a.pending_code(READY), b.pending_code(READY));
    assert_ne!(a.pending_code(UNVERIFIED), a.pending_code(READY));
}

#[tokio::test]
async fn without_a_seed_two_emulators_emit_different_ids() {
    // Log correlation: two emulators, or one restarted, never repeat each other's ids.
    let a = TestEmulator::spawn().await;
    let b = TestEmulator::spawn().await;
    let trace = |response: reqwest::Response| {
        response.headers()["x-fb-request-id"]
            .to_str()
            .unwrap()
            .to_owned()
    };
    assert_ne!(
        trace(a.register_pin(READY, "123456").await),
        trace(b.register_pin(READY, "123456").await)
    );
    assert_success(a.request_code(UNVERIFIED).await).await;
    assert_success(b.request_code(UNVERIFIED).await).await;
    assert_ne!(a.pending_code(UNVERIFIED), b.pending_code(UNVERIFIED));
}

#[tokio::test]
async fn request_code_accepts_form_multipart_query_and_any_case() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{UNVERIFIED}/request_code");
    assert_success(
        emu.post_form(&path, &[("code_method", "voice"), ("language", "en")])
            .await,
    )
    .await;
    assert_eq!(
        emu.number(UNVERIFIED)
            .pending_verification()
            .unwrap()
            .clone()
            .method,
        CodeMethod::Voice
    );
    let form = reqwest::multipart::Form::new()
        .text("code_method", "Sms")
        .text("language", "pt_BR");
    let response = emu
        .client
        .post(emu.url(&path))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_success(response).await;
    assert_eq!(
        emu.number(UNVERIFIED)
            .pending_verification()
            .unwrap()
            .language,
        "pt_BR"
    );
    let response = emu
        .client
        .post(emu.url(&format!("{path}?code_method=SMS&language=en_US")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_success(response).await;
}

#[tokio::test]
async fn request_code_parameter_errors() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{UNVERIFIED}/request_code");
    assert_missing_parameter(
        emu.post_json(&path, json!({"language": "en_US"})).await,
        "code_method",
    )
    .await;
    assert_missing_parameter(
        emu.post_json(&path, json!({"code_method": "SMS"})).await,
        "language",
    )
    .await;
    let error = assert_bad_request(
        emu.post_json(&path, json!({"code_method": "EMAIL", "language": "en"}))
            .await,
        100,
    )
    .await;
    assert_eq!(
        error["message"],
        "(#100) Param code_method must be one of {SMS, VOICE} - got \"EMAIL\"."
    );
    for bad in ["english", "EN", "en-US", "e"] {
        let details = assert_invalid_parameter(
            emu.post_json(&path, json!({"code_method": "SMS", "language": bad}))
                .await,
        )
        .await;
        assert!(
            details.starts_with(&format!("language \"{bad}\" is not a language code")),
            "{details}"
        );
    }
    let response = emu
        .client
        .post(emu.url(&path))
        .bearer_auth(TOKEN)
        .header("content-type", "application/json")
        .body("{\"code_method\":")
        .send()
        .await
        .unwrap();
    let details = assert_invalid_parameter(response).await;
    assert!(details.starts_with("Invalid JSON"), "{details}");
    assert!(emu.number(UNVERIFIED).pending_verification().is_none());
}

#[tokio::test]
async fn request_code_obeys_auth_scope_method_and_permission() {
    let emu = TestEmulator::spawn_with_messaging_only_token().await;
    let path = format!("/v23.0/{UNVERIFIED}/request_code");
    let body = json!({"code_method": "SMS", "language": "en_US"});
    assert_unknown_object(emu.request_code("999999999").await, "post", "999999999").await;
    assert_unknown_object(
        emu.post_json_with(&path, OTHER_WABA_TOKEN, body.clone())
            .await,
        "post",
        UNVERIFIED,
    )
    .await;
    let error = assert_error(
        emu.post_json_with(&path, MESSAGING_ONLY_TOKEN, body.clone())
            .await,
        403,
        200,
        "OAuthException",
    )
    .await;
    assert_eq!(error["message"], "(#200) Permissions error");
    let response = emu
        .client
        .post(emu.url(&path))
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_bad_request(response, 104).await;
    let error = assert_error(emu.get(&path).await, 400, 100, "GraphMethodException").await;
    assert_eq!(error["error_subcode"], 33);
    // Management alone is enough.
    assert_success(emu.post_json_with(&path, MANAGEMENT_ONLY_TOKEN, body).await).await;
}

#[tokio::test]
async fn the_right_code_verifies_the_number_and_lets_it_register() {
    let emu = TestEmulator::spawn().await;
    assert_bad_request(emu.register_pin(UNVERIFIED, "123456").await, 133006).await;
    assert_success(emu.request_code(UNVERIFIED).await).await;
    let code = emu.pending_code(UNVERIFIED);
    assert_success(emu.verify_code(UNVERIFIED, &code).await).await;
    let number = emu.number(UNVERIFIED);
    assert_eq!(number.verification, CodeVerificationStatus::Verified);
    assert!(number.pending_verification().is_none());
    assert_eq!(
        emu.read_fields(UNVERIFIED, "code_verification_status")
            .await,
        json!({"code_verification_status": "VERIFIED", "id": UNVERIFIED})
    );
    assert_success(emu.register_pin(UNVERIFIED, "123456").await).await;
}

#[tokio::test]
async fn verify_code_accepts_the_query_string_like_meta_examples() {
    let emu = TestEmulator::spawn().await;
    assert_success(emu.request_code(UNVERIFIED).await).await;
    let code = emu.pending_code(UNVERIFIED);
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{UNVERIFIED}/verify_code?code={code}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_success(response).await;
}

#[tokio::test]
async fn a_wrong_code_is_an_invalid_parameter_and_keeps_the_pending_code() {
    let emu = TestEmulator::spawn().await;
    assert_success(emu.request_code(UNVERIFIED).await).await;
    let code = emu.pending_code(UNVERIFIED);
    let wrong = if code == "000000" { "111111" } else { "000000" };
    let details = assert_invalid_parameter(emu.verify_code(UNVERIFIED, wrong).await).await;
    assert_eq!(
        details,
        "The verification code is incorrect: send the code from the latest request_code."
    );
    assert_eq!(
        emu.number(UNVERIFIED).verification,
        CodeVerificationStatus::NotVerified
    );
    assert_success(emu.verify_code(UNVERIFIED, &code).await).await;
}

#[tokio::test]
async fn verify_code_without_a_pending_code_is_an_invalid_parameter() {
    let emu = TestEmulator::spawn().await;
    let details = assert_invalid_parameter(emu.verify_code(UNVERIFIED, "123456").await).await;
    assert_eq!(
        details,
        "No verification code is pending for this phone number: request one with POST /{PHONE_NUMBER_ID}/request_code."
    );
    // A used code is gone too.
    assert_success(emu.request_code(UNVERIFIED).await).await;
    let code = emu.pending_code(UNVERIFIED);
    assert_success(emu.verify_code(UNVERIFIED, &code).await).await;
    let details = assert_invalid_parameter(emu.verify_code(UNVERIFIED, &code).await).await;
    assert!(
        details.starts_with("No verification code is pending"),
        "{details}"
    );
}

#[tokio::test]
async fn an_expired_code_is_an_invalid_parameter() {
    let emu = TestEmulator::spawn().await;
    assert_success(emu.request_code(UNVERIFIED).await).await;
    let code = emu.pending_code(UNVERIFIED);
    emu.emulator.clock().advance(TimeDelta::minutes(10));
    let details = assert_invalid_parameter(emu.verify_code(UNVERIFIED, &code).await).await;
    assert_eq!(
        details,
        "The verification code expired at 2026-11-25T12:10:00Z: request a new one with POST /{PHONE_NUMBER_ID}/request_code."
    );
    // A fresh code works.
    assert_success(emu.request_code(UNVERIFIED).await).await;
    let code = emu.pending_code(UNVERIFIED);
    assert_success(emu.verify_code(UNVERIFIED, &code).await).await;
}

#[tokio::test]
async fn the_code_lifetime_is_configurable() {
    let emu = TestEmulator::spawn_with(|b| b.verification_code_ttl(TimeDelta::seconds(30))).await;
    assert_success(emu.request_code(UNVERIFIED).await).await;
    let code = emu.pending_code(UNVERIFIED);
    emu.emulator.clock().advance(TimeDelta::seconds(29));
    assert_success(emu.verify_code(UNVERIFIED, &code).await).await;
    assert_success(emu.request_code(READY).await).await;
    let code = emu.pending_code(READY);
    emu.emulator.clock().advance(TimeDelta::seconds(30));
    let details = assert_invalid_parameter(emu.verify_code(READY, &code).await).await;
    assert!(
        details.starts_with("The verification code expired"),
        "{details}"
    );
}

#[tokio::test]
async fn verify_code_parameter_and_auth_errors() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{UNVERIFIED}/verify_code");
    assert_missing_parameter(emu.post_json(&path, json!({})).await, "code").await;
    assert_success(emu.request_code(UNVERIFIED).await).await;
    for bad in ["12345", "1234567", "abcdef"] {
        let details = assert_invalid_parameter(emu.verify_code(UNVERIFIED, bad).await).await;
        assert_eq!(
            details, "code must be the 6-digit verification code (a string such as \"123456\").",
            "{bad}"
        );
    }
    assert_unknown_object(
        emu.verify_code("999999999", "123456").await,
        "post",
        "999999999",
    )
    .await;
    assert_unknown_object(
        emu.post_json_with(&path, OTHER_WABA_TOKEN, json!({"code": "123456"}))
            .await,
        "post",
        UNVERIFIED,
    )
    .await;
    let error = assert_error(emu.get(&path).await, 400, 100, "GraphMethodException").await;
    assert_eq!(
        error["message"],
        "Unsupported get request. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
    );
}

#[tokio::test]
async fn request_code_accepts_whatsapps_language_codes() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{UNVERIFIED}/request_code");
    for language in ["fil", "es_419", "zh_HK", "en"] {
        assert_success(
            emu.post_form(&path, &[("code_method", "SMS"), ("language", language)])
                .await,
        )
        .await;
    }
    let details = assert_invalid_parameter(
        emu.post_form(&path, &[("code_method", "SMS"), ("language", "english")])
            .await,
    )
    .await;
    assert!(details.contains("english"), "{details}");
}
