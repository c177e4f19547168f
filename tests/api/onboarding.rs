//! The partner onboarding chain around register, walked as a partner app walks it (only the
//! base URL changed), and every failure it must handle.

use reqwest::{Method, Response};
use serde_json::{Value, json};
use wa_cloud_emulator::domain::WabaBudgetPolicy;
use wa_cloud_emulator::webhooks::Receiver;

use crate::helpers::*;

impl TestEmulator {
    /// `POST /__emulator/embedded-signup` with `body`; asserts 201 and returns the answer.
    async fn signup(&self, body: Value) -> Value {
        let (status, signup) = self
            .control_json(Method::POST, "/embedded-signup", Some(body))
            .await;
        assert_eq!(status, 201, "{signup}");
        signup
    }

    /// `GET /v23.0/oauth/access_token` with the query pairs (no token).
    async fn oauth(&self, query: &[(&str, &str)]) -> Response {
        self.client
            .get(self.url("/v23.0/oauth/access_token"))
            .query(query)
            .send()
            .await
            .unwrap()
    }

    /// Exchanges a code as the default app; returns the business token.
    async fn exchange(&self, code: &str) -> String {
        let response = self
            .oauth(&[
                ("client_id", APP_ID),
                ("client_secret", APP_SECRET),
                ("code", code),
            ])
            .await;
        let body = assert_json(response).await;
        assert_eq!(body["token_type"], "bearer", "{body}");
        assert!(body.get("expires_in").is_none(), "{body}");
        body["access_token"].as_str().unwrap().to_owned()
    }

    /// `GET /v23.0/debug_token` with the app token in the header.
    async fn debug_token(&self, input: &str) -> Response {
        self.client
            .get(self.url("/v23.0/debug_token"))
            .query(&[("input_token", input)])
            .bearer_auth(format!("{APP_ID}|{APP_SECRET}"))
            .send()
            .await
            .unwrap()
    }

    async fn call(&self, method: Method, path: &str, token: &str, body: Option<Value>) -> Response {
        let mut request = self
            .client
            .request(method, self.url(path))
            .bearer_auth(token);
        if let Some(body) = body {
            request = request.json(&body);
        }
        request.send().await.unwrap()
    }

    async fn advance(&self, by: &str) {
        let (status, body) = self
            .control_json(Method::POST, "/clock", Some(json!({"advance": by})))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

/// The error a used or expired code gets, with its `WWW-Authenticate` challenge.
async fn assert_code_error(response: Response, subcode: u64, message: &str) {
    let challenge = response.headers()["www-authenticate"]
        .to_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        challenge,
        format!(r#"OAuth "Facebook Platform" "invalid_code" "{message}""#)
    );
    let error = assert_bad_request(response, 100).await;
    assert_eq!(error["error_subcode"], subcode);
    assert_eq!(error["message"], message);
}

#[tokio::test]
async fn a_partner_app_walks_the_whole_chain_from_signup_to_send() {
    let emu = TestEmulator::spawn().await;
    // 1. The customer finishes Embedded Signup; the popup posts the session info.
    let signup = emu.signup(json!({})).await;
    let (waba, number, business) = (
        signup["waba_id"].as_str().unwrap().to_owned(),
        signup["phone_number_id"].as_str().unwrap().to_owned(),
        signup["business_id"].as_str().unwrap().to_owned(),
    );
    assert_eq!(
        signup["session_info"],
        json!({
            "data": {"phone_number_id": number, "waba_id": waba, "business_id": business},
            "type": "WA_EMBEDDED_SIGNUP",
            "event": "FINISH",
        })
    );
    let posted: Value = serde_json::from_str(signup["message"].as_str().unwrap()).unwrap();
    assert_eq!(posted, signup["session_info"]);
    // 2. The app's server exchanges the code for a business token.
    let token = emu.exchange(signup["code"].as_str().unwrap()).await;
    assert!(token.starts_with("EAA"), "{token}");
    // 3. debug_token says which WABA the token was granted.
    let debug = assert_json(emu.debug_token(&token).await).await;
    let data = &debug["data"];
    assert_eq!(data["app_id"], APP_ID);
    assert_eq!(data["type"], "SYSTEM_USER");
    assert_eq!(data["application"], "Emulator Partner App");
    assert_eq!(data["is_valid"], true);
    assert_eq!(data["expires_at"], 0);
    assert_eq!(
        data["scopes"],
        json!([
            "whatsapp_business_management",
            "whatsapp_business_messaging",
            "public_profile"
        ])
    );
    assert_eq!(
        data["granular_scopes"],
        json!([
            {"scope": "whatsapp_business_management", "target_ids": [waba]},
            {"scope": "whatsapp_business_messaging", "target_ids": [waba]},
        ])
    );
    // Keys in the order of Meta's WhatsApp sample (alphabetical), read from the raw body.
    let raw = emu.debug_token(&token).await.text().await.unwrap();
    assert!(
        raw.starts_with(&format!(
            r#"{{"data":{{"app_id":"{APP_ID}","application":"Emulator Partner App","data_access_expires_at":0,"expires_at":0,"granular_scopes":["#
        )),
        "{raw}"
    );
    assert!(raw.contains(r#"],"is_valid":true,"scopes":["#), "{raw}");
    assert!(raw.contains(r#""type":"SYSTEM_USER","user_id":""#), "{raw}");
    // 4. The WABA and its numbers.
    let waba_node = assert_json(
        emu.call(Method::GET, &format!("/v23.0/{waba}"), &token, None)
            .await,
    )
    .await;
    assert_eq!(waba_node["id"], waba.as_str());
    assert_eq!(waba_node["currency"], "USD");
    assert_eq!(waba_node["timezone_id"], "1");
    assert_eq!(
        waba_node["message_template_namespace"]
            .as_str()
            .unwrap()
            .len(),
        36
    );
    let numbers = assert_json(
        emu.call(
            Method::GET,
            &format!("/v23.0/{waba}/phone_numbers"),
            &token,
            None,
        )
        .await,
    )
    .await;
    assert_eq!(numbers["data"][0]["id"], number.as_str());
    assert_eq!(numbers["data"][0]["code_verification_status"], "VERIFIED");
    // The token reaches only its WABA.
    assert_unknown_object(
        emu.call(Method::GET, &format!("/v23.0/{WABA}"), &token, None)
            .await,
        "get",
        WABA,
    )
    .await;
    // 5. Subscribe the app to the WABA's webhooks.
    let path = format!("/v23.0/{waba}/subscribed_apps");
    assert_json(emu.call(Method::GET, &path, &token, None).await)
        .await
        .get("data")
        .map(|data| assert_eq!(data, &json!([])))
        .unwrap();
    assert_success(emu.call(Method::POST, &path, &token, None).await).await;
    let subscribed = assert_json(emu.call(Method::GET, &path, &token, None).await).await;
    assert_eq!(
        subscribed,
        json!({"data": [{"whatsapp_business_api_data": {
            "id": APP_ID,
            "link": format!("https://www.facebook.com/games/?app_id={APP_ID}"),
            "name": "Emulator Partner App",
            "category": "Business",
        }}]})
    );
    // 6. Register, then send.
    let register = emu
        .call(
            Method::POST,
            &format!("/v23.0/{number}/register"),
            &token,
            Some(json!({"messaging_product": "whatsapp", "pin": "246810"})),
        )
        .await;
    assert_success(register).await;
    let sent = emu
        .call(
            Method::POST,
            &format!("/v23.0/{number}/messages"),
            &token,
            Some(json!({"messaging_product": "whatsapp", "to": "15550001111", "type": "text", "text": {"body": "hi"}})),
        )
        .await;
    assert_eq!(sent.status(), 200);
}

#[tokio::test]
async fn the_june_2026_granular_scopes_shape_can_be_chosen_per_signup_or_for_the_emulator() {
    let june = json!([
        {"scope": "business_management"},
        {"scope": "whatsapp_business_manage_events"},
        {"scope": "whatsapp_business_messaging"},
    ]);
    let emu = TestEmulator::spawn().await;
    let signup = emu.signup(json!({"granular_scopes": "2026-06"})).await;
    let token = emu.exchange(signup["code"].as_str().unwrap()).await;
    let debug = assert_json(emu.debug_token(&token).await).await;
    assert_eq!(debug["data"]["granular_scopes"], june);
    // `scopes` still lists the management permission (as captured).
    assert_eq!(debug["data"]["scopes"][0], "whatsapp_business_management");

    let emu = TestEmulator::spawn_with(|builder| {
        builder.granular_scopes(wa_cloud_emulator::domain::ScopesShape::June2026)
    })
    .await;
    let signup = emu.signup(json!({})).await;
    let token = emu.exchange(signup["code"].as_str().unwrap()).await;
    let debug = assert_json(emu.debug_token(&token).await).await;
    assert_eq!(debug["data"]["granular_scopes"], june);
}

#[tokio::test]
async fn a_code_is_single_use_and_lives_thirty_seconds_on_the_clock() {
    let emu = TestEmulator::spawn().await;
    let signup = emu.signup(json!({})).await;
    let code = signup["code"].as_str().unwrap();
    emu.exchange(code).await;
    let again = emu
        .oauth(&[
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
            ("code", code),
        ])
        .await;
    assert_code_error(again, 36009, "This authorization code has been used.").await;

    let late = emu.signup(json!({})).await;
    emu.advance("30s").await;
    let response = emu
        .oauth(&[
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
            ("code", late["code"].as_str().unwrap()),
        ])
        .await;
    assert_code_error(response, 36007, "This authorization code has expired.").await;

    // A code that lives on a namespace's clock? Signups make WABAs of their own, so the
    // emulator's clock judges them; 29 seconds are fine.
    let fresh = emu.signup(json!({})).await;
    emu.advance("29s").await;
    emu.exchange(fresh["code"].as_str().unwrap()).await;
}

#[tokio::test]
async fn the_code_exchange_checks_the_app_the_secret_and_the_code_in_order() {
    let emu = TestEmulator::spawn().await;
    let error = assert_bad_request(emu.oauth(&[("code", "x")]).await, 101).await;
    assert_eq!(error["message"], "Missing client_id parameter.");
    let error = assert_bad_request(
        emu.oauth(&[
            ("client_id", "123"),
            ("client_secret", APP_SECRET),
            ("code", "x"),
        ])
        .await,
        101,
    )
    .await;
    assert_eq!(
        error["message"],
        "Error validating application. Invalid application ID."
    );
    let error = assert_bad_request(
        emu.oauth(&[
            ("client_id", APP_ID),
            ("client_secret", "wrong"),
            ("code", "x"),
        ])
        .await,
        1,
    )
    .await;
    assert_eq!(error["message"], "Error validating client secret.");
    let error = assert_bad_request(
        emu.oauth(&[
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
            ("code", "nope"),
        ])
        .await,
        100,
    )
    .await;
    assert_eq!(error["message"], "Invalid verification code format.");
    assert!(error.get("error_subcode").is_none());
    // The app token, as client libraries request it.
    let body = assert_json(
        emu.oauth(&[
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
            ("grant_type", "client_credentials"),
        ])
        .await,
    )
    .await;
    assert_eq!(
        body,
        json!({"access_token": format!("{APP_ID}|{APP_SECRET}"), "token_type": "bearer"})
    );
    // A refused exchange changed nothing: no token was issued.
    assert_eq!(
        emu.control_json(Method::GET, "/tokens", None).await.1["data"]
            .as_array()
            .unwrap()
            .len(),
        4
    );
}

#[tokio::test]
async fn debug_token_needs_an_app_token_and_reports_bad_tokens_inside_a_200() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .get(&format!("/v23.0/debug_token?input_token={TOKEN}"))
        .await;
    let error = assert_bad_request(response, 100).await;
    assert_eq!(
        error["message"],
        "(#100) You must provide an app access token, or a user access token that is an owner or developer of the app"
    );
    let unknown = assert_json(emu.debug_token("EAAneverIssued").await).await;
    assert_eq!(
        unknown,
        json!({"data": {
            "app_id": APP_ID,
            "error": {
                "code": 190,
                "message": "Error validating access token: The session is invalid because the user logged out.",
                "subcode": 467,
            },
            "is_valid": false,
            "scopes": [],
        }})
    );
    let expired = assert_json(emu.debug_token("EAAEmulatorExpiredToken").await).await;
    assert_eq!(expired["data"]["is_valid"], false);
    assert_eq!(expired["data"]["error"]["code"], 190);
    assert_eq!(expired["data"]["error"]["subcode"], 463);
    // A fixture token with every WABA: no target_ids.
    let dev = assert_json(emu.debug_token(TOKEN).await).await;
    assert_eq!(dev["data"]["type"], "USER");
    assert_eq!(
        dev["data"]["granular_scopes"][0],
        json!({"scope": "whatsapp_business_management"})
    );
    let missing = emu
        .client
        .get(emu.url("/v23.0/debug_token"))
        .query(&[("access_token", &format!("{APP_ID}|{APP_SECRET}"))])
        .send()
        .await
        .unwrap();
    assert_missing_parameter(missing, "input_token").await;
    // A wrong app secret is an unknown token.
    let response = emu
        .client
        .get(emu.url(&format!("/v23.0/debug_token?input_token={TOKEN}")))
        .bearer_auth(format!("{APP_ID}|wrong"))
        .send()
        .await
        .unwrap();
    assert_error(response, 401, 190, "OAuthException").await;
}

#[tokio::test]
async fn the_waba_node_answers_fields_and_refuses_unknown_ones() {
    let emu = TestEmulator::spawn().await;
    let raw = emu
        .get(&format!("/v23.0/{WABA}?fields=name,currency"))
        .await
        .text()
        .await
        .unwrap();
    // In the order asked for, `id` last (as Graph writes nodes).
    assert_eq!(
        raw,
        format!(r#"{{"name":"Emulator Test WABA","currency":"USD","id":"{WABA}"}}"#)
    );
    let error =
        assert_bad_request(emu.get(&format!("/v23.0/{WABA}?fields=bogus")).await, 100).await;
    assert_eq!(
        error["message"],
        "(#100) Tried accessing nonexisting field (bogus) on node type (WhatsAppBusinessAccount)"
    );
}

#[tokio::test]
async fn overrides_need_a_subscription_and_read_back_on_the_number() {
    let emu = TestEmulator::spawn().await;
    // Overrides are verified with the handshake: a local receiver answers it.
    let waba_hook = Receiver::start(APP_SECRET, "t1").await.unwrap();
    let phone_hook = Receiver::start(APP_SECRET, "t2").await.unwrap();
    let path = format!("/v23.0/{WABA}/subscribed_apps");
    let callback = json!({"override_callback_uri": waba_hook.url(), "verify_token": "t1"});
    let error = assert_bad_request(
        emu.call(Method::POST, &path, TOKEN, Some(callback.clone()))
            .await,
        100,
    )
    .await;
    assert_eq!(
        error["message"],
        "(#100) Before override the current callback uri, your app must be subscribed to receive messages for WhatsApp Business Account"
    );
    let phone = json!({"webhook_configuration": {"override_callback_uri": phone_hook.url(), "verify_token": "t2"}});
    assert_bad_request(
        emu.call(
            Method::POST,
            &format!("/v23.0/{READY}"),
            TOKEN,
            Some(phone.clone()),
        )
        .await,
        100,
    )
    .await;
    // Both halves of an override are required.
    assert_missing_parameter(
        emu.call(
            Method::POST,
            &path,
            TOKEN,
            Some(json!({"override_callback_uri": "https://partner.example/x"})),
        )
        .await,
        "verify_token",
    )
    .await;
    assert_success(emu.call(Method::POST, &path, TOKEN, None).await).await;
    assert_success(emu.call(Method::POST, &path, TOKEN, Some(callback)).await).await;
    let listed = assert_json(emu.call(Method::GET, &path, TOKEN, None).await).await;
    assert_eq!(listed["data"][0]["override_callback_uri"], waba_hook.url());
    assert_success(
        emu.call(Method::POST, &format!("/v23.0/{READY}"), TOKEN, Some(phone))
            .await,
    )
    .await;
    let node = emu.read_fields(READY, "webhook_configuration").await;
    assert_eq!(
        node,
        json!({"webhook_configuration": {
            "phone_number": phone_hook.url(),
            "whatsapp_business_account": waba_hook.url(),
        }, "id": READY})
    );
    // An empty override_callback_uri removes the phone override; a bare POST the WABA's.
    let remove = json!({"webhook_configuration": {"override_callback_uri": ""}});
    assert_success(
        emu.call(
            Method::POST,
            &format!("/v23.0/{READY}"),
            TOKEN,
            Some(remove),
        )
        .await,
    )
    .await;
    assert_success(emu.call(Method::POST, &path, TOKEN, None).await).await;
    assert_eq!(
        emu.read_fields(READY, "webhook_configuration").await,
        json!({"id": READY})
    );
    assert_success(emu.call(Method::DELETE, &path, TOKEN, None).await).await;
    assert_eq!(
        assert_json(emu.call(Method::GET, &path, TOKEN, None).await).await,
        json!({"data": []})
    );
}

#[tokio::test]
async fn the_waba_budget_refuses_with_80008_and_reports_usage() {
    let emu = TestEmulator::spawn_with(|builder| {
        builder.waba_budget(WabaBudgetPolicy {
            per_hour: 4,
            per_hour_registered: 8,
        })
    })
    .await;
    // OTHER_WABA has a registered number? It has none registered in the default fixtures,
    // so its budget is the small one.
    let path = format!("/v23.0/{OTHER_WABA}");
    for expected in [25, 50, 75, 100] {
        let response = emu.get(&path).await;
        assert_eq!(response.status(), 200);
        let usage: Value = serde_json::from_str(
            response.headers()["x-business-use-case-usage"]
                .to_str()
                .unwrap(),
        )
        .unwrap();
        assert_eq!(usage[OTHER_WABA][0]["call_count"], expected, "{usage}");
        assert_eq!(usage[OTHER_WABA][0]["type"], "whatsapp_business_management");
    }
    let refused = emu
        .get(&format!("/v23.0/{OTHER_WABA}/subscribed_apps"))
        .await;
    let usage: Value = serde_json::from_str(
        refused.headers()["x-business-use-case-usage"]
            .to_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(usage[OTHER_WABA][0]["call_count"], 100);
    assert_eq!(usage[OTHER_WABA][0]["estimated_time_to_regain_access"], 60);
    let error = assert_bad_request(refused, 80008).await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("There have been too many calls to this WhatsApp Business account"),
        "{error}"
    );
    // Register is not a budgeted endpoint; the WABA with registered numbers has the larger
    // budget.
    for _ in 0..8 {
        assert_eq!(emu.get(&format!("/v23.0/{WABA}")).await.status(), 200);
    }
    assert_bad_request(
        emu.get(&format!("/v23.0/{WABA}/phone_numbers")).await,
        80008,
    )
    .await;
    // A rolling hour later the calls are back.
    emu.advance("1h").await;
    assert_eq!(emu.get(&path).await.status(), 200);
}

#[tokio::test]
async fn a_name_in_review_refuses_register_until_the_control_api_approves_it() {
    let emu = TestEmulator::spawn().await;
    let signup = emu.signup(json!({"preset": "name_pending"})).await;
    let number = signup["phone_number_id"].as_str().unwrap();
    let token = emu.exchange(signup["code"].as_str().unwrap()).await;
    let path = format!("/v23.0/{number}/register");
    let body = json!({"messaging_product": "whatsapp", "pin": "123456"});
    let register = || emu.call(Method::POST, &path, &token, Some(body.clone()));
    let response = register().await;
    let body = response.text().await.unwrap();
    let error: Value = serde_json::from_str::<Value>(&body).unwrap()["error"].clone();
    assert_eq!(
        error,
        json!({
            "message": "Invalid parameter",
            "type": "OAuthException",
            "code": 100,
            "error_subcode": 2388001,
            "is_transient": false,
            "error_user_title": "Cannot Create Certificate",
            "error_user_msg": "Your display name could not be processed. Please edit your display name and try again.",
            "fbtrace_id": error["fbtrace_id"],
        })
    );
    let read = emu.read_fields(number, "name_status").await;
    assert_eq!(read["name_status"], "PENDING_REVIEW");
    let (status, review) = emu
        .control_json(
            Method::POST,
            &format!("/numbers/{number}/name-review"),
            Some(json!({"decision": "APPROVED"})),
        )
        .await;
    assert_eq!(status, 200, "{review}");
    assert_eq!(review["number"]["name_status"], "APPROVED");
    assert_success(register().await).await;
}

#[tokio::test]
async fn each_preset_answers_register_as_meta_does() {
    let emu = TestEmulator::spawn().await;
    let mut numbers = std::collections::HashMap::new();
    for preset in [
        "consumer_account",
        "smb",
        "test_number",
        "verification_expired",
        "other_partner",
    ] {
        let signup = emu.signup(json!({"preset": preset})).await;
        numbers.insert(
            preset,
            signup["phone_number_id"].as_str().unwrap().to_owned(),
        );
    }
    let register = |preset: &str| emu.register_pin(&numbers[preset], "123456");
    let error = assert_bad_request(register("consumer_account").await, 100).await;
    assert_eq!(error["error_subcode"], 2388001);
    assert_eq!(
        error["error_user_msg"],
        "This number is registered to an existing WhatsApp account. To use this number, disconnect it from the existing account."
    );
    let error = assert_bad_request(register("smb").await, 100).await;
    assert_eq!(
        error["message"],
        "Register endpoint is not available for SMB businesses."
    );
    // A Meta test number comes registered, never verified, and registers like any number.
    let read = emu
        .read_fields(
            &numbers["test_number"],
            "verified_name,code_verification_status,status",
        )
        .await;
    assert_eq!(read["verified_name"], "Test Number");
    assert_eq!(read["code_verification_status"], "NOT_VERIFIED");
    assert_success(register("test_number").await).await;
    assert_bad_request(register("verification_expired").await, 133006).await;
    let error = assert_bad_request(register("other_partner").await, 100).await;
    assert_eq!(error["error_subcode"], 3441030);
    // The control API releases a number by putting it in another preset.
    let (status, view) = emu
        .control_json(
            Method::POST,
            &format!("/numbers/{}/preset", numbers["other_partner"]),
            Some(json!({"preset": "ready"})),
        )
        .await;
    assert_eq!(status, 200, "{view}");
    assert_success(register("other_partner").await).await;
}

#[tokio::test]
async fn a_display_name_change_is_reviewed_through_the_control_api() {
    let emu = TestEmulator::spawn().await;
    assert_success(
        emu.post_json(
            &format!("/v23.0/{REGISTERED}"),
            json!({"new_display_name": "Lucky Shrub"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        emu.read_fields(REGISTERED, "new_display_name,new_name_status")
            .await,
        json!({"new_display_name": "Lucky Shrub", "new_name_status": "PENDING_REVIEW", "id": REGISTERED})
    );
    let (status, review) = emu
        .control_json(
            Method::POST,
            &format!("/numbers/{REGISTERED}/name-review"),
            Some(json!({"decision": "REJECTED"})),
        )
        .await;
    assert_eq!(status, 200, "{review}");
    assert_eq!(review["requested_verified_name"], "Lucky Shrub");
    let read = emu
        .read_fields(REGISTERED, "verified_name,new_name_status")
        .await;
    assert_eq!(read["verified_name"], "Registered With PIN");
    assert_eq!(read["new_name_status"], "DECLINED");
    // Nothing left to decide.
    let (status, _) = emu
        .control_json(
            Method::POST,
            &format!("/numbers/{REGISTERED}/name-review"),
            Some(json!({"decision": "APPROVED"})),
        )
        .await;
    assert_eq!(status, 409);
    assert_invalid_parameter(
        emu.post_json(
            &format!("/v23.0/{REGISTERED}"),
            json!({"new_display_name": "x"}),
        )
        .await,
    )
    .await;
}

#[tokio::test]
async fn other_finishes_cancel_and_errors_take_the_popups_shapes() {
    let emu = TestEmulator::spawn().await;
    let only_waba = emu.signup(json!({"finish": "FINISH_ONLY_WABA"})).await;
    assert_eq!(
        only_waba["session_info"]["data"],
        json!({"waba_id": only_waba["waba_id"]})
    );
    assert!(only_waba.get("phone_number_id").is_none());
    let coexistence = emu
        .signup(json!({"finish": "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"}))
        .await;
    assert_eq!(
        coexistence["session_info"]["event"],
        "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING"
    );
    let number = coexistence["phone_number_id"].as_str().unwrap();
    assert_eq!(
        emu.read_fields(number, "is_on_biz_app").await["is_on_biz_app"],
        true
    );
    let cancel = emu
        .signup(json!({"finish": "CANCEL", "current_step": "PERMISSIONS"}))
        .await;
    assert_eq!(
        cancel["session_info"],
        json!({"data": {"current_step": "PERMISSIONS"}, "type": "WA_EMBEDDED_SIGNUP", "event": "CANCEL"})
    );
    assert!(cancel.get("code").is_none() && cancel.get("waba_id").is_none());
    let failed = emu.signup(json!({"finish": "ERROR"})).await;
    assert_eq!(failed["session_info"]["event"], "CANCEL");
    assert_eq!(failed["session_info"]["data"]["error_code"], "524126");
    // Bad input is refused and creates nothing.
    let wabas_before = emu.control_json(Method::GET, "/wabas", None).await.1;
    for body in [
        json!({"preset": "bogus"}),
        json!({"finish": "LATER"}),
        json!({"app_id": "999"}),
        json!({"finish": "CANCEL", "current_step": "NOWHERE"}),
        json!({"finish": "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING", "preset": "ready"}),
        json!({"unknown": 1}),
    ] {
        let (status, error) = emu
            .control_json(Method::POST, "/embedded-signup", Some(body.clone()))
            .await;
        assert!(status == 400 || status == 404, "{body}: {status} {error}");
        assert!(error["emulator_error"].is_object(), "{error}");
    }
    assert_eq!(
        emu.control_json(Method::GET, "/wabas", None).await.1,
        wabas_before
    );
}

#[tokio::test]
async fn signups_apps_and_codes_are_in_the_state_export_and_gone_after_a_reset() {
    let emu = TestEmulator::spawn().await;
    let (_, state) = emu.control_json(Method::GET, "/state", None).await;
    assert_eq!(
        state["apps"],
        json!([{"id": APP_ID, "secret": APP_SECRET, "name": "Emulator Partner App", "business_id": "770000000000001"}])
    );
    let signup = emu.signup(json!({})).await;
    let (_, state) = emu.control_json(Method::GET, "/state", None).await;
    assert_eq!(state["auth_codes"][0]["waba_id"], signup["waba_id"]);
    // The export imports back as it is.
    let (status, body) = emu
        .control_json(Method::PUT, "/state", Some(state.clone()))
        .await;
    assert_eq!(status, 200, "{body}");
    emu.exchange(signup["code"].as_str().unwrap()).await;
    let (status, _) = emu.control_json(Method::POST, "/reset", None).await;
    assert_eq!(status, 200);
    let (_, state) = emu.control_json(Method::GET, "/state", None).await;
    assert!(state.get("auth_codes").is_none(), "{state}");
    let error = assert_bad_request(
        emu.oauth(&[
            ("client_id", APP_ID),
            ("client_secret", APP_SECRET),
            ("code", signup["code"].as_str().unwrap()),
        ])
        .await,
        100,
    )
    .await;
    assert_eq!(error["message"], "Invalid verification code format.");
}

#[tokio::test]
async fn the_start_up_banner_names_the_partner_app_and_a_signup_call() {
    let emu = TestEmulator::spawn().await;
    let banner = emu.emulator.banner();
    assert!(
        banner.contains(&format!(
            "Partner app {APP_ID} (Emulator Partner App): secret {APP_SECRET}, app token {APP_ID}|{APP_SECRET}\n"
        )),
        "{banner}"
    );
    assert!(
        banner.contains("/__emulator/embedded-signup' -H 'Content-Type: application/json'"),
        "{banner}"
    );
    // With an admin token the signup line names the variable, never the token.
    let guarded = TestEmulator::spawn_with(|builder| builder.admin_token("s3cr3t-admin")).await;
    let banner = guarded.emulator.banner();
    assert!(
        banner.contains(r#"-H "Authorization: Bearer $WA_EMU_ADMIN_TOKEN""#),
        "{banner}"
    );
    assert!(!banner.contains("s3cr3t-admin"), "{banner}");
}

#[tokio::test]
async fn the_journal_masks_the_secrets_and_tokens_of_the_chain() {
    let emu = TestEmulator::spawn().await;
    let signup = emu.signup(json!({})).await;
    let token = emu.exchange(signup["code"].as_str().unwrap()).await;
    assert_json(emu.debug_token(&token).await).await;
    let waba = signup["waba_id"].as_str().unwrap();
    let path = format!("/v23.0/{waba}/subscribed_apps");
    assert_success(emu.call(Method::POST, &path, &token, None).await).await;
    let hook = Receiver::start(APP_SECRET, "hook-s3cret").await.unwrap();
    let callback = json!({"override_callback_uri": hook.url(), "verify_token": "hook-s3cret"});
    assert_success(emu.call(Method::POST, &path, &token, Some(callback)).await).await;
    let (_, journal) = emu
        .control_json(Method::GET, "/journal?limit=100", None)
        .await;
    let text = journal.to_string();
    for secret in [
        APP_SECRET,
        token.as_str(),
        signup["code"].as_str().unwrap(),
        "hook-s3cret",
    ] {
        assert!(!text.contains(secret), "the journal shows {secret}: {text}");
    }
    // Masked the way the Authorization header is: the start and the length.
    assert!(text.contains(&format!("{}… (", &token[..6])), "{text}");
}
