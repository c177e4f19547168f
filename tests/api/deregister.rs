//! Rule 8: deregister.

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn deregister_keeps_the_number_its_verification_and_pin() {
    let emu = TestEmulator::spawn().await;
    assert_success(emu.deregister(REGISTERED).await).await;
    let number = emu.emulator.state().number(REGISTERED).unwrap();
    assert!(!number.registered);
    assert_eq!(number.verification.as_str(), "VERIFIED");
    assert_eq!(number.pin.unwrap().expose(), "123456");
    // The PIN outlives deregistration; no re-verification is needed.
    assert_bad_request(emu.register_pin(REGISTERED, "999999").await, 133005).await;
    assert_success(emu.register_pin(REGISTERED, "123456").await).await;
}

#[tokio::test]
async fn deregister_accepts_every_body_clients_send() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{REGISTERED}/deregister");
    let sends: Vec<reqwest::RequestBuilder> = vec![
        emu.client.post(emu.url(&path)).bearer_auth(TOKEN),
        emu.client
            .post(emu.url(&path))
            .bearer_auth(TOKEN)
            .json(&json!({})),
        emu.client
            .post(emu.url(&path))
            .bearer_auth(TOKEN)
            .json(&json!({"messaging_product": "whatsapp"})),
        emu.client
            .post(emu.url(&path))
            .bearer_auth(TOKEN)
            .form(&[("messaging_product", "whatsapp")]),
        emu.client
            .post(emu.url(&path))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(""),
    ];
    for send in sends {
        assert_success(send.send().await.unwrap()).await;
        assert!(!emu.is_registered(REGISTERED));
        assert_success(emu.register_pin(REGISTERED, "123456").await).await;
    }
}

#[tokio::test]
async fn deregister_on_an_unregistered_number_is_code_100() {
    let emu = TestEmulator::spawn().await;
    let error = assert_bad_request(emu.deregister(READY).await, 100).await;
    assert_eq!(
        error["message"],
        "Phone number not registered on the WhatsApp Business Platform."
    );
    assert!(error.get("error_subcode").is_none());
}

#[tokio::test]
async fn deregister_is_refused_for_coexistence_numbers() {
    let emu = TestEmulator::spawn().await;
    let error = assert_bad_request(emu.deregister(COEXISTENCE).await, 100).await;
    assert_eq!(
        error["message"],
        "Deregister endpoint is not available for API solution for SMB businesses."
    );
    assert!(emu.is_registered(COEXISTENCE));
}

#[tokio::test]
async fn deregister_needs_the_same_auth_as_register() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{REGISTERED}/deregister")))
        .send()
        .await
        .unwrap();
    assert_bad_request(response, 104).await;
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{REGISTERED}/deregister")))
        .bearer_auth("EAAEmulatorManagementOnlyToken")
        .send()
        .await
        .unwrap();
    assert_error(response, 403, 200, "OAuthException").await;
    assert!(emu.is_registered(REGISTERED));
}
