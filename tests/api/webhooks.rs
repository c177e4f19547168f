//! Webhooks driven by the state: the handshake on every callback an app sets, signed
//! deliveries routed by subscriptions and overrides, events from signups, name reviews,
//! inbound messages, sends and partner changes, retries on the emulator's clock, and the
//! delivery log.

use std::time::Duration;

use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;
use wa_cloud_emulator::webhooks::{HandshakeAnswer, Receiver};

use crate::helpers::*;

const WAIT: Duration = Duration::from_secs(10);

impl TestEmulator {
    /// Points the default app's callback at `receiver` (every default field).
    async fn subscribe_app_to(&self, receiver: &Receiver) {
        let (status, body) = self
            .control_json(
                Method::PUT,
                &format!("/apps/{APP_ID}/webhook"),
                Some(json!({"callback_url": receiver.url(), "verify_token": "verify-me"})),
            )
            .await;
        assert_eq!(status, 200, "{body}");
    }

    /// Subscribes the default app to `waba` with `token`.
    async fn subscribe_waba(&self, waba: &str, token: &str) {
        let response = self
            .client
            .post(self.url(&format!("/v23.0/{waba}/subscribed_apps")))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_success(response).await;
    }

    async fn deliveries(&self, query: &str) -> Vec<Value> {
        let (status, body) = self
            .control_json(Method::GET, &format!("/webhooks/deliveries{query}"), None)
            .await;
        assert_eq!(status, 200, "{body}");
        body["data"].as_array().unwrap().clone()
    }

    async fn advance_clock(&self, by: &str) {
        let (status, body) = self
            .control_json(Method::POST, "/clock", Some(json!({"advance": by})))
            .await;
        assert_eq!(status, 200, "{body}");
    }
}

async fn receiver() -> Receiver {
    Receiver::start(APP_SECRET, "verify-me").await.unwrap()
}

/// An independent HMAC-SHA256 over the received bytes.
fn independent_signature(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).unwrap();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[tokio::test]
async fn setting_a_callback_runs_the_handshake_and_each_failure_is_2200() {
    let emu = TestEmulator::spawn_with(|builder| {
        builder.webhook_timeouts(Duration::from_millis(300), Duration::from_secs(5))
    })
    .await;
    let hook = receiver().await;
    emu.subscribe_app_to(&hook).await;
    let handshake = &hook.handshakes()[0];
    assert_eq!(handshake.mode.as_deref(), Some("subscribe"));
    assert_eq!(handshake.verify_token.as_deref(), Some("verify-me"));
    assert!(handshake.challenge.as_ref().unwrap().parse::<u64>().is_ok());

    // The WABA override through Graph verifies too, and fails with Meta's details.
    emu.subscribe_waba(WABA, TOKEN).await;
    let path = format!("/v23.0/{WABA}/subscribed_apps");
    let override_to =
        |token: &str| json!({"override_callback_uri": hook.url(), "verify_token": token});
    let failing = [
        (HandshakeAnswer::Status(404), "HTTP Status Code = 404; HTTP Message = Not Found".to_owned()),
        (HandshakeAnswer::Status(403), "HTTP Status Code = 403; HTTP Message = Forbidden".to_owned()),
        (
            HandshakeAnswer::Stall(Duration::from_secs(2)),
            "curl_errno = 28; curl_error = Operation timed out after 300 milliseconds with 0 bytes received".to_owned(),
        ),
    ];
    for (answer, detail) in failing {
        hook.answer_handshakes_with(answer);
        let error =
            assert_bad_request(emu.post_json(&path, override_to("verify-me")).await, 2200).await;
        assert_eq!(
            error["message"],
            format!("(#2200) Callback verification failed with the following errors: {detail}")
        );
    }
    hook.answer_handshakes_with(HandshakeAnswer::Echo);
    // A wrong verify token: the receiver answers 403, as an app should.
    assert_bad_request(emu.post_json(&path, override_to("wrong")).await, 2200).await;
    // Nothing was stored by the failures.
    let listed = assert_json(emu.get(&path).await).await;
    assert!(
        listed["data"][0].get("override_callback_uri").is_none(),
        "{listed}"
    );
    assert_success(emu.post_json(&path, override_to("verify-me")).await).await;
    // A refused callback through the control API is a conflict naming the detail.
    hook.answer_handshakes_with(HandshakeAnswer::Body("nope".into()));
    let (status, body) = emu
        .control_json(
            Method::PUT,
            &format!("/apps/{APP_ID}/webhook"),
            Some(json!({"callback_url": hook.url(), "verify_token": "verify-me"})),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body.to_string().contains("#2200"), "{body}");
}

#[tokio::test]
async fn app_subscriptions_through_graph_need_the_app_token_and_verify_the_callback() {
    let emu = TestEmulator::spawn().await;
    let hook = receiver().await;
    let path = format!("/v23.0/{APP_ID}/subscriptions");
    let app_token = format!("{APP_ID}|{APP_SECRET}");
    let form = [
        ("object", "whatsapp_business_account"),
        ("callback_url", &hook.url()),
        ("verify_token", "verify-me"),
        ("fields", "messages,account_update"),
    ];
    // A user token is refused with (#15).
    let response = emu
        .client
        .post(emu.url(&path))
        .bearer_auth(TOKEN)
        .form(&form)
        .send()
        .await
        .unwrap();
    let error = assert_bad_request(response, 15).await;
    assert_eq!(
        error["message"],
        "(#15) This method must be called with an app access_token."
    );
    // pywa's way: its client token in the header, the app token as access_token.
    let response = emu
        .client
        .post(emu.url(&path))
        .bearer_auth(TOKEN)
        .query(&[("access_token", &app_token)])
        .form(&form)
        .send()
        .await
        .unwrap();
    assert_success(response).await;
    assert_eq!(hook.handshakes().len(), 1);
    let listed = emu
        .client
        .get(emu.url(&path))
        .bearer_auth(&app_token)
        .send()
        .await
        .unwrap();
    assert_eq!(
        assert_json(listed).await,
        json!({"data": [{
            "object": "whatsapp_business_account",
            "callback_url": hook.url(),
            "active": true,
            "fields": [{"name": "messages", "version": "v23.0"}, {"name": "account_update", "version": "v23.0"}],
        }]})
    );
    let removed = emu
        .client
        .delete(emu.url(&path))
        .bearer_auth(&app_token)
        .send()
        .await
        .unwrap();
    assert_success(removed).await;
    let listed = emu
        .client
        .get(emu.url(&path))
        .bearer_auth(&app_token)
        .send()
        .await
        .unwrap();
    assert_eq!(assert_json(listed).await, json!({"data": []}));
}

#[tokio::test]
async fn deliveries_are_signed_over_the_exact_bytes_meta_writes() {
    let emu = TestEmulator::spawn().await;
    let hook = receiver().await;
    emu.subscribe_app_to(&hook).await;
    emu.subscribe_waba(WABA, TOKEN).await;
    let (status, inbound) = emu
        .control_json(
            Method::POST,
            &format!("/numbers/{REGISTERED}/inbound"),
            Some(json!({"from": "+49 151 2345678", "text": "Hola quiero un café 😀 https://x.example/a", "name": "Zoë"})),
        )
        .await;
    assert_eq!(status, 200, "{inbound}");
    let received = hook.wait_for(1, WAIT).await.unwrap();
    let delivery = &received[0];
    let text = delivery.text();
    assert_eq!(
        delivery.signature.as_deref(),
        Some(independent_signature(&delivery.body).as_str())
    );
    assert!(delivery.signature_valid);
    assert_eq!(delivery.user_agent.as_deref(), Some("facebookexternalua"));
    assert_eq!(delivery.content_type.as_deref(), Some("application/json"));
    // Meta's escaping: non-ASCII as \uXXXX (surrogate pairs), `/` as `\/`, compact.
    assert!(
        text.contains(r#"caf\u00e9 \ud83d\ude00 https:\/\/x.example\/a"#),
        "{text}"
    );
    assert!(text.contains(r#""profile":{"name":"Zo\u00eb"}"#), "{text}");
    assert!(
        !text.contains(' ') || text.contains("Hola quiero"),
        "{text}"
    );
    // A re-serialised body no longer matches: the reason to hash raw bytes.
    let reserialised = serde_json::to_vec(delivery.json.as_ref().unwrap()).unwrap();
    assert_ne!(
        independent_signature(&reserialised),
        independent_signature(&delivery.body)
    );
    let body = delivery.json.clone().unwrap();
    assert_eq!(body["object"], "whatsapp_business_account");
    let entry = &body["entry"][0];
    assert_eq!(entry["id"], WABA);
    assert!(
        entry.get("time").is_none(),
        "messages entries have no time: {body}"
    );
    let value = &entry["changes"][0]["value"];
    assert_eq!(entry["changes"][0]["field"], "messages");
    assert_eq!(value["metadata"]["phone_number_id"], REGISTERED);
    assert_eq!(value["messages"][0]["from"], "491512345678");
    assert_eq!(value["messages"][0]["id"], inbound["message_id"]);
    // 2026 deliveries name the sender by a business-scoped user id too (what pywa 4.5 needs),
    // in Meta's key order: after wa_id, and after from.
    let bsuid = value["contacts"][0]["user_id"].as_str().unwrap();
    assert!(
        bsuid.starts_with("DE.") && bsuid[3..].bytes().all(|b| b.is_ascii_digit()),
        "{bsuid}"
    );
    assert_eq!(value["messages"][0]["from_user_id"], bsuid);
    assert!(
        text.contains(&format!(r#""wa_id":"491512345678","user_id":"{bsuid}"}}"#)),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            r#""from":"491512345678","from_user_id":"{bsuid}","id":"#
        )),
        "{text}"
    );
    assert!(value["messages"][0]["timestamp"].is_string());
    assert!(
        text.starts_with(r#"{"object":"whatsapp_business_account","entry":[{"id":"#),
        "{text}"
    );
}

#[tokio::test]
async fn routing_follows_subscriptions_and_overrides() {
    let emu = TestEmulator::spawn().await;
    let app_hook = receiver().await;
    let waba_hook = receiver().await;
    let phone_hook = receiver().await;
    emu.subscribe_app_to(&app_hook).await;
    let inbound_path = format!("/numbers/{REGISTERED}/inbound");
    let inbound = || {
        emu.control_json(
            Method::POST,
            &inbound_path,
            Some(json!({"from": "15550001111", "text": "hi"})),
        )
    };
    // Not subscribed to the WABA: nothing is delivered, as in production.
    let (_, nothing) = inbound().await;
    assert_eq!(nothing["deliveries"], json!([]));
    emu.subscribe_waba(WABA, TOKEN).await;
    inbound().await;
    app_hook.wait_for(1, WAIT).await.unwrap();
    // The WABA override catches messages...
    let path = format!("/v23.0/{WABA}/subscribed_apps");
    assert_success(
        emu.post_json(
            &path,
            json!({"override_callback_uri": waba_hook.url(), "verify_token": "verify-me"}),
        )
        .await,
    )
    .await;
    inbound().await;
    waba_hook.wait_for(1, WAIT).await.unwrap();
    // ...the phone override wins over it...
    assert_success(
        emu.post_json(
            &format!("/v23.0/{REGISTERED}"),
            json!({"webhook_configuration": {"override_callback_uri": phone_hook.url(), "verify_token": "verify-me"}}),
        )
        .await,
    )
    .await;
    inbound().await;
    phone_hook.wait_for(1, WAIT).await.unwrap();
    assert_eq!(
        emu.read_fields(REGISTERED, "webhook_configuration").await["webhook_configuration"],
        json!({"phone_number": phone_hook.url(), "whatsapp_business_account": waba_hook.url(), "application": app_hook.url()})
    );
    // ...while account fields always go to the app's callback.
    assert_success(
        emu.post_json(
            &format!("/v23.0/{REGISTERED}"),
            json!({"new_display_name": "Lucky Shrub"}),
        )
        .await,
    )
    .await;
    emu.control_json(
        Method::POST,
        &format!("/numbers/{REGISTERED}/name-review"),
        Some(json!({"decision": "APPROVED"})),
    )
    .await;
    let received = app_hook.wait_for(2, WAIT).await.unwrap();
    let name_update = received[1].json.clone().unwrap();
    assert_eq!(
        name_update["entry"][0]["changes"][0]["field"],
        "phone_number_name_update"
    );
    assert_eq!(
        name_update["entry"][0]["changes"][0]["value"],
        json!({"display_phone_number": "15550100003", "decision": "APPROVED", "requested_verified_name": "Lucky Shrub", "rejection_reason": null})
    );
    assert!(name_update["entry"][0]["time"].is_i64());
    assert_eq!(waba_hook.deliveries().len(), 1);
    assert_eq!(phone_hook.deliveries().len(), 1);
    // An unregistered number receives nothing.
    let (_, unregistered) = emu
        .control_json(
            Method::POST,
            &format!("/numbers/{READY}/inbound"),
            Some(json!({"from": "15550001111", "text": "hi"})),
        )
        .await;
    assert_eq!(unregistered["deliveries"], json!([]));
}

#[tokio::test]
async fn state_changes_emit_partner_coexistence_and_status_events() {
    let emu = TestEmulator::spawn().await;
    let hook = receiver().await;
    emu.subscribe_app_to(&hook).await;
    // A signup tells the partner app at once (it is not subscribed to the new WABA yet).
    let (_, signup) = emu
        .control_json(Method::POST, "/embedded-signup", Some(json!({})))
        .await;
    let waba = signup["waba_id"].as_str().unwrap();
    let added = hook.wait_for(1, WAIT).await.unwrap()[0]
        .json
        .clone()
        .unwrap();
    assert_eq!(
        added["entry"][0],
        json!({
            "id": "770000000000001",
            "time": added["entry"][0]["time"],
            "changes": [{"value": {"event": "PARTNER_ADDED", "waba_info": {"waba_id": waba, "owner_business_id": signup["business_id"]}}, "field": "account_update"}],
        })
    );
    // Statuses of a send: sent at once, delivered and read as the clock moves.
    emu.subscribe_waba(WABA, TOKEN).await;
    let sent = emu
        .post_json(
            &format!("/v23.0/{REGISTERED}/messages"),
            json!({"messaging_product": "whatsapp", "to": "15550001111", "type": "text", "text": {"body": "hi"}}),
        )
        .await;
    let message_id = assert_json(sent).await["messages"][0]["id"].clone();
    let received = hook.wait_for(2, WAIT).await.unwrap();
    let status = |index: usize| {
        received[index].json.clone().unwrap()["entry"][0]["changes"][0]["value"]["statuses"][0]
            .clone()
    };
    assert_eq!(status(1)["status"], "sent");
    assert_eq!(status(1)["id"], message_id);
    assert_eq!(status(1)["recipient_id"], "15550001111");
    assert_eq!(status(1)["pricing"]["pricing_model"], "PMP");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hook.deliveries().len(), 2, "delivered waits for the clock");
    emu.advance_clock("2s").await;
    let received = hook.wait_for(3, WAIT).await.unwrap();
    assert_eq!(
        received[2].json.clone().unwrap()["entry"][0]["changes"][0]["value"]["statuses"][0]["status"],
        "delivered"
    );
    emu.advance_clock("5s").await;
    let received = hook.wait_for(4, WAIT).await.unwrap();
    let read =
        received[3].json.clone().unwrap()["entry"][0]["changes"][0]["value"]["statuses"][0].clone();
    assert_eq!(read["status"], "read");
    assert!(read.get("pricing").is_none());
    // The coexistence number's Business app goes away and comes back.
    let (status_code, body) = emu
        .control_json(
            Method::POST,
            &format!("/numbers/{COEXISTENCE}/business-app"),
            Some(json!({"event": "ACCOUNT_OFFBOARDED"})),
        )
        .await;
    assert_eq!(status_code, 200, "{body}");
    let received = hook.wait_for(5, WAIT).await.unwrap();
    assert_eq!(
        received[4].json.clone().unwrap()["entry"][0]["changes"][0]["value"],
        json!({"event": "ACCOUNT_OFFBOARDED"})
    );
    assert!(!emu.is_registered(COEXISTENCE));
    // The partner leaves the WABA: told, then unsubscribed (nothing more arrives).
    let (status_code, body) = emu
        .control_json(
            Method::POST,
            &format!("/wabas/{WABA}/partner-event"),
            Some(json!({"event": "PARTNER_REMOVED"})),
        )
        .await;
    assert_eq!(status_code, 200, "{body}");
    let received = hook.wait_for(6, WAIT).await.unwrap();
    assert_eq!(
        received[5].json.clone().unwrap()["entry"][0]["changes"][0]["value"]["event"],
        "PARTNER_REMOVED"
    );
    let (_, after) = emu
        .control_json(
            Method::POST,
            &format!("/numbers/{REGISTERED}/inbound"),
            Some(json!({"from": "15550001111", "text": "anyone?"})),
        )
        .await;
    assert_eq!(after["deliveries"], json!([]));
    // Any documented event by hand.
    emu.subscribe_waba(WABA, TOKEN).await;
    let (status_code, body) = emu
        .control_json(
            Method::POST,
            "/webhooks/emit",
            Some(json!({"field": "phone_number_quality_update", "waba_id": WABA, "value": {"display_phone_number": "15550100003", "event": "ONBOARDING", "current_limit": "TIER_1K"}})),
        )
        .await;
    assert_eq!(status_code, 200, "{body}");
    hook.wait_for(7, WAIT).await.unwrap();
}

#[tokio::test]
async fn failures_are_retried_on_the_emulators_clock_and_logged() {
    let emu = TestEmulator::spawn().await;
    let hook = receiver().await;
    emu.subscribe_app_to(&hook).await;
    emu.subscribe_waba(WABA, TOKEN).await;
    hook.answer_next_posts_with([500, 503]);
    emu.control_json(
        Method::POST,
        &format!("/numbers/{REGISTERED}/inbound"),
        Some(json!({"from": "15550001111", "text": "retry me"})),
    )
    .await;
    // The first attempt and the immediate retry fail.
    hook.wait_for(2, WAIT).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(hook.deliveries().len(), 2);
    let logged = emu.deliveries("?field=messages").await;
    assert_eq!(logged[0]["state"], "retrying", "{logged:?}");
    assert_eq!(logged[0]["attempts"][0]["status"], 500);
    // Advancing the clock runs the schedule.
    emu.advance_clock("1m").await;
    let received = hook.wait_for(3, WAIT).await.unwrap();
    assert_eq!(received[2].answered, 200);
    assert_eq!(
        received[2].body, received[0].body,
        "every attempt sends the same bytes"
    );
    for _ in 0..50 {
        if emu.deliveries("?state=delivered").await.len() == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let delivered = emu.deliveries("?state=delivered").await;
    assert_eq!(delivered.len(), 1);
    let id = delivered[0]["id"].as_u64().unwrap();
    // Redeliver sends the same bytes again.
    let (status, body) = emu
        .control_json(
            Method::POST,
            &format!("/webhooks/deliveries/{id}/redeliver"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let received = hook.wait_for(4, WAIT).await.unwrap();
    assert_eq!(received[3].body, received[0].body);
    // Delivery faults: a duplicate.
    let (status, fault) = emu
        .control_json(
            Method::POST,
            "/webhooks/faults",
            Some(json!({"kind": "duplicate", "count": 1})),
        )
        .await;
    assert_eq!(status, 201, "{fault}");
    emu.control_json(
        Method::POST,
        &format!("/numbers/{REGISTERED}/inbound"),
        Some(json!({"from": "15550001111", "text": "twice"})),
    )
    .await;
    let received = hook.wait_for(6, WAIT).await.unwrap();
    assert_eq!(received[4].body, received[5].body);
    let (status, _) = emu
        .control_json(
            Method::POST,
            "/webhooks/faults",
            Some(json!({"kind": "explode"})),
        )
        .await;
    assert_eq!(status, 400);
    // A reset forgets the log.
    emu.control_json(Method::POST, "/reset", None).await;
    assert!(emu.deliveries("").await.is_empty());
}
