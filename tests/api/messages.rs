//! `POST /{id}/messages`: sending depends on registration, and nothing else about it changes.

use chrono::TimeDelta;
use serde_json::{Value, json};
use wa_cloud_emulator::domain::RateLimitPolicy;

use crate::helpers::*;

fn text_to(to: &str) -> Value {
    json!({"messaging_product": "whatsapp", "to": to, "type": "text", "text": {"body": "hello"}})
}

impl TestEmulator {
    /// `POST /v23.0/{id}/messages` with a JSON body.
    pub async fn send(&self, id: &str, body: Value) -> reqwest::Response {
        self.post_json(&format!("/v23.0/{id}/messages"), body).await
    }
}

/// Asserts a send receipt for `to` and returns the message id.
pub async fn assert_sent(response: reqwest::Response, to: &str, wa_id: &str) -> String {
    let status = response.status();
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=UTF-8"
    );
    let text = response.text().await.unwrap();
    assert_eq!(status, 200, "body: {text}");
    let keys: Vec<&str> = text
        .trim_start_matches('{')
        .split(',')
        .filter_map(|part| part.strip_prefix('"')?.split('"').next())
        .take(1)
        .collect();
    assert_eq!(keys, ["messaging_product"], "documented key order: {text}");
    let body: Value = serde_json::from_str(&text).unwrap();
    let id = body["messages"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(
        body,
        json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": to, "wa_id": wa_id}],
            "messages": [{"id": id}]
        })
    );
    assert!(id.starts_with("wamid.HBg"), "{id}");
    id
}

/// Asserts the captured 133010 body, field for field.
pub async fn assert_not_registered(response: reqwest::Response) {
    let error = assert_bad_request(response, 133010).await;
    let trace = error["fbtrace_id"].clone();
    assert_eq!(
        error,
        json!({
            "message": "(#133010) Account not registered",
            "type": "OAuthException",
            "code": 133010,
            "fbtrace_id": trace
        })
    );
}

#[tokio::test]
async fn a_registered_number_gets_the_documented_receipt() {
    let emu = TestEmulator::spawn().await;
    let first = assert_sent(
        emu.send(REGISTERED, text_to("+1 (650) 507-6520")).await,
        "+1 (650) 507-6520",
        "16505076520",
    )
    .await;
    let second = assert_sent(
        emu.send(REGISTERED, text_to("16505076520")).await,
        "16505076520",
        "16505076520",
    )
    .await;
    assert_ne!(first, second, "every message gets its own id");
}

#[tokio::test]
async fn an_unregistered_number_gets_the_captured_133010() {
    let emu = TestEmulator::spawn().await;
    assert_not_registered(emu.send(READY, text_to("16505076520")).await).await;
    assert_not_registered(emu.send(WITH_PIN, text_to("16505076520")).await).await;
}

#[tokio::test]
async fn sending_follows_register_and_deregister() {
    let emu = TestEmulator::spawn().await;
    assert_not_registered(emu.send(READY, text_to("15550001111")).await).await;
    assert_success(emu.register_pin(READY, "123456").await).await;
    assert_sent(
        emu.send(READY, text_to("15550001111")).await,
        "15550001111",
        "15550001111",
    )
    .await;
    assert_success(emu.deregister(READY).await).await;
    assert_not_registered(emu.send(READY, text_to("15550001111")).await).await;
}

#[tokio::test]
async fn sends_do_not_count_toward_the_register_limit() {
    let emu = TestEmulator::spawn_with(|builder| {
        builder.rate_limit(RateLimitPolicy {
            limit: 1,
            window: TimeDelta::hours(72),
            block: TimeDelta::hours(72),
        })
    })
    .await;
    for _ in 0..3 {
        assert_not_registered(emu.send(READY, text_to("15550001111")).await).await;
    }
    assert_success(emu.register_pin(READY, "123456").await).await;
    for _ in 0..3 {
        assert_sent(
            emu.send(READY, text_to("15550001111")).await,
            "15550001111",
            "15550001111",
        )
        .await;
    }
    assert_success(emu.deregister(READY).await).await;
    let number = emu.emulator.state().number(READY).unwrap();
    assert!(!number.registered);
}

#[tokio::test]
async fn required_fields_are_graph_errors() {
    let emu = TestEmulator::spawn().await;
    let cases = [
        (
            json!({"to": "1", "text": {"body": "x"}}),
            "(#100) The parameter messaging_product is required.",
        ),
        (
            json!({"messaging_product": "sms", "to": "1", "text": {"body": "x"}}),
            "(#100) Param messaging_product must be one of {WHATSAPP} - got \"sms\".",
        ),
        (
            json!({"messaging_product": "whatsapp", "text": {"body": "x"}}),
            "(#100) The parameter to is required.",
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "1", "type": "fax", "fax": {}}),
            "(#100) Param type must be one of {text, template, image, audio, video, document, sticker, location, contacts, interactive, reaction} - got \"fax\".",
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "1"}),
            "(#100) The parameter text is required.",
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "1", "text": {}}),
            "(#100) The parameter text['body'] is required.",
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "1", "type": "template"}),
            "(#100) The parameter template is required.",
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "1", "type": "image", "image": "not json"}),
            "(#100) Invalid parameter",
        ),
        (
            json!({"messaging_product": "whatsapp", "to": "no digits", "text": {"body": "x"}}),
            "(#100) Invalid parameter",
        ),
    ];
    // Parameters are checked before registration, on registered and unregistered numbers.
    for number in [REGISTERED, READY] {
        for (body, message) in &cases {
            let error = assert_bad_request(emu.send(number, body.clone()).await, 100).await;
            assert_eq!(error["message"], *message, "{body}");
            assert!(error["error_data"]["details"].is_string(), "{error}");
        }
    }
}

#[tokio::test]
async fn other_types_need_only_their_object() {
    let emu = TestEmulator::spawn().await;
    let template = json!({"messaging_product": "whatsapp", "to": "15550001111", "type": "template",
        "template": {"name": "hello_world", "language": {"code": "en_US"}}});
    assert_sent(
        emu.send(REGISTERED, template).await,
        "15550001111",
        "15550001111",
    )
    .await;
    // Form bodies carry objects as JSON text.
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{REGISTERED}/messages")))
        .bearer_auth(TOKEN)
        .form(&[
            ("messaging_product", "whatsapp"),
            ("to", "15550001111"),
            ("type", "image"),
            ("image", r#"{"link":"https://example.com/a.png"}"#),
        ])
        .send()
        .await
        .unwrap();
    assert_sent(response, "15550001111", "15550001111").await;
}

#[tokio::test]
async fn sending_needs_the_messaging_permission_and_scope() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{REGISTERED}/messages")))
        .bearer_auth("EAAEmulatorManagementOnlyToken")
        .json(&text_to("1"))
        .send()
        .await
        .unwrap();
    let error = assert_error(response, 403, 200, "OAuthException").await;
    assert_eq!(error["message"], "(#200) Permissions error");
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{REGISTERED}/messages")))
        .bearer_auth("EAAEmulatorOtherWabaToken")
        .json(&text_to("1"))
        .send()
        .await
        .unwrap();
    let error = assert_error(response, 400, 100, "GraphMethodException").await;
    assert_eq!(error["error_subcode"], 33);
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{REGISTERED}/messages")))
        .json(&text_to("1"))
        .send()
        .await
        .unwrap();
    assert_bad_request(response, 104).await;
}

#[tokio::test]
async fn only_post_and_known_versions_are_served() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .get(emu.url(&format!("/v23.0/{REGISTERED}/messages")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let error = assert_error(response, 400, 100, "GraphMethodException").await;
    assert_eq!(error["error_subcode"], 33);
    let response = emu
        .post_json(&format!("/v99.0/{REGISTERED}/messages"), text_to("1"))
        .await;
    let error = assert_bad_request(response, 2500).await;
    assert_eq!(
        error["message"],
        format!("Unknown path components: /v99.0/{REGISTERED}/messages")
    );
    let unversioned = emu
        .post_json(&format!("/{REGISTERED}/messages"), text_to("15550001111"))
        .await;
    assert_eq!(unversioned.headers()["facebook-api-version"], "v26.0");
    assert_sent(unversioned, "15550001111", "15550001111").await;
}

#[tokio::test]
async fn sends_appear_in_the_journal() {
    let emu = TestEmulator::spawn().await;
    assert_not_registered(emu.send(READY, text_to("15550001111")).await).await;
    assert_sent(
        emu.send(REGISTERED, text_to("15550002222")).await,
        "15550002222",
        "15550002222",
    )
    .await;
    assert_success(emu.register_pin(READY, "123456").await).await;
    let journal: Value = emu
        .client
        .get(emu.url("/__emulator/journal?operation=messages"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let entries = journal["data"].as_array().unwrap();
    assert_eq!(entries.len(), 2, "{journal}");
    let failed = entries.iter().find(|e| e["number"] == READY).unwrap();
    assert_eq!(failed["operation"], "messages");
    assert_eq!(failed["status"], 400);
    assert_eq!(failed["error_code"], 133010);
    assert_eq!(failed["error_message"], "(#133010) Account not registered");
    let sent = entries.iter().find(|e| e["number"] == REGISTERED).unwrap();
    assert_eq!(sent["status"], 200);
    assert_eq!(sent["response"]["contacts"][0]["wa_id"], "15550002222");
    assert_eq!(sent["params"]["to"], "15550002222");
}

#[tokio::test]
async fn the_openapi_document_describes_the_send() {
    let emu = TestEmulator::spawn().await;
    let document: Value = emu
        .client
        .get(emu.url("/__emulator/openapi.json"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let send = &document["paths"]["/{version}/{phone_number_id}/messages"]["post"];
    assert_eq!(send["operationId"], "sendMessage");
}
