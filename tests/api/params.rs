//! Rule 3: parameters in every encoding, validation messages, and bad bodies.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn form_multipart_and_query_parameters_are_accepted() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{READY}/register")))
        .bearer_auth(TOKEN)
        .form(&[("messaging_product", "whatsapp"), ("pin", "123456")])
        .send()
        .await
        .unwrap();
    assert_success(response).await;

    let form = reqwest::multipart::Form::new()
        .text("messaging_product", "whatsapp")
        .text("pin", "123456");
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{REGISTERED}/register")))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_success(response).await;

    let response = emu
        .client
        .post(emu.url(&format!(
            "/v23.0/{WITH_PIN}/register?messaging_product=whatsapp&pin=111111"
        )))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_success(response).await;
    assert!(emu.is_registered(WITH_PIN));
}

#[tokio::test]
async fn body_parameters_win_over_the_query() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{WITH_PIN}/register?pin=999999")))
        .bearer_auth(TOKEN)
        .json(&json!({"messaging_product": "whatsapp", "pin": "111111"}))
        .send()
        .await
        .unwrap();
    assert_success(response).await;
}

#[tokio::test]
async fn a_json_number_pin_counts_as_its_digits() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .register(
            READY,
            json!({"messaging_product": "whatsapp", "pin": 123456}),
        )
        .await;
    assert_success(response).await;
    let response = emu
        .register(
            READY,
            json!({"messaging_product": "whatsapp", "pin": "123456"}),
        )
        .await;
    assert_success(response).await;
}

#[tokio::test]
async fn messaging_product_is_required_and_must_be_whatsapp() {
    let emu = TestEmulator::spawn().await;
    let error = assert_bad_request(emu.register(READY, json!({"pin": "123456"})).await, 100).await;
    assert_eq!(
        error["message"],
        "(#100) The parameter messaging_product is required."
    );
    assert_eq!(error["error_data"]["messaging_product"], "whatsapp");
    let error = assert_bad_request(
        emu.register(READY, json!({"messaging_product": "sms", "pin": "123456"}))
            .await,
        100,
    )
    .await;
    assert_eq!(
        error["message"],
        "(#100) Param messaging_product must be one of {WHATSAPP} - got \"sms\"."
    );
    assert!(!emu.is_registered(READY));
    let response = emu
        .register(
            READY,
            json!({"messaging_product": "WhatsApp", "pin": "123456"}),
        )
        .await;
    assert_success(response).await;
}

#[tokio::test]
async fn pin_is_required_and_must_be_six_digits() {
    let emu = TestEmulator::spawn().await;
    let error = assert_bad_request(
        emu.register(READY, json!({"messaging_product": "whatsapp"}))
            .await,
        100,
    )
    .await;
    assert_eq!(error["message"], "(#100) The parameter pin is required.");
    for pin in [
        json!("12345"),
        json!("1234567"),
        json!("12345a"),
        json!(12345),
        json!(123456.5),
        json!({"pin": "123456"}),
        json!(["123456"]),
    ] {
        let error = assert_bad_request(
            emu.register(READY, json!({"messaging_product": "whatsapp", "pin": pin}))
                .await,
            100,
        )
        .await;
        assert_eq!(error["message"], "(#100) Invalid parameter", "{pin}");
    }
    let number = emu.emulator.state().number(READY).unwrap();
    assert!(!number.registered);
    assert!(number.pin.is_none(), "a rejected PIN is never stored");
}

#[tokio::test]
async fn malformed_bodies_are_code_100_and_change_nothing() {
    let emu = TestEmulator::spawn().await;
    let cases: [(&str, Vec<u8>); 5] = [
        (
            "application/json",
            b"{\"messaging_product\": \"whatsapp\", \"pin\": ".to_vec(),
        ),
        ("application/json", b"[\"whatsapp\"]".to_vec()),
        ("application/json", b"\xff\xfe{}".to_vec()),
        (
            "text/plain",
            b"messaging_product=whatsapp&pin=123456".to_vec(),
        ),
        (
            "multipart/form-data; boundary=zzz",
            b"not multipart at all".to_vec(),
        ),
    ];
    for (content_type, body) in cases {
        let response = emu
            .client
            .post(emu.url(&format!("/v23.0/{READY}/register")))
            .bearer_auth(TOKEN)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        let error = assert_bad_request(response, 100).await;
        assert_eq!(
            error["message"], "(#100) Invalid parameter",
            "{content_type}"
        );
        assert!(error["error_data"]["details"].is_string());
    }
    let number = emu.emulator.state().number(READY).unwrap();
    assert!(!number.registered);
    assert!(number.pin.is_none());
}

#[tokio::test]
async fn bodies_over_the_limit_are_refused() {
    let emu = TestEmulator::spawn().await;
    let big =
        json!({"messaging_product": "whatsapp", "pin": "123456", "filler": "x".repeat(70_000)});
    let error = assert_bad_request(emu.register(READY, big).await, 100).await;
    assert!(
        error["error_data"]["details"]
            .as_str()
            .unwrap()
            .contains("65536-byte limit")
    );
    assert!(!emu.is_registered(READY));
    // The limit is configurable.
    let emu = TestEmulator::spawn_with(|b| b.max_body_bytes(128 * 1024)).await;
    let big =
        json!({"messaging_product": "whatsapp", "pin": "123456", "filler": "x".repeat(70_000)});
    assert_success(emu.register(READY, big).await).await;
}

#[tokio::test]
async fn a_body_without_content_type_is_read_by_its_shape() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{READY}/register")))
        .bearer_auth(TOKEN)
        .body(r#"{"messaging_product":"whatsapp","pin":"123456"}"#)
        .send()
        .await
        .unwrap();
    assert_success(response).await;
}
