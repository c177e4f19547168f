//! `GET /{id}` with `fields`.

use serde_json::json;

use crate::helpers::*;

/// Every field name API-FACTS §4.3 lists as asked for by real clients.
const REAL_CLIENT_FIELDS: &str = "verified_name,display_phone_number,conversational_automation,status,quality_rating,quality_score,webhook_configuration,name_status,new_name_status,code_verification_status,account_mode,is_on_biz_app,is_official_business_account,is_pin_enabled,is_preverified_number,search_visibility,platform_type,throughput,eligibility_for_api_business_global_search,health_status,certificate,new_certificate,last_onboarded_time,country_code,country_dial_code,whatsapp_business_manager_messaging_limit,messaging_limit_tier,host_platform,unified_cert_status,username";

#[tokio::test]
async fn without_fields_graph_answers_the_default_fields() {
    let emu = TestEmulator::spawn().await;
    let body = assert_json(emu.get(&format!("/v23.0/{READY}")).await).await;
    assert_eq!(
        body,
        json!({
            "id": READY,
            "display_phone_number": "+1 555-010-0001",
            "verified_name": "Ready To Register",
            "quality_rating": "GREEN",
            "code_verification_status": "VERIFIED"
        })
    );
}

#[tokio::test]
async fn id_is_always_echoed_and_comes_last_unless_asked_for() {
    let emu = TestEmulator::spawn().await;
    let response = emu.get(&format!("/v23.0/{READY}?fields=status")).await;
    assert_eq!(
        response.text().await.unwrap(),
        format!(r#"{{"status":"PENDING","id":"{READY}"}}"#)
    );
    let response = emu
        .get(&format!("/v23.0/{READY}?fields=id,status,%20status"))
        .await;
    assert_eq!(
        response.text().await.unwrap(),
        format!(r#"{{"id":"{READY}","status":"PENDING"}}"#)
    );
}

#[tokio::test]
async fn every_modelled_field_of_a_registered_number() {
    let emu = TestEmulator::spawn().await;
    let body = emu
        .read_fields(
            REGISTERED,
            "display_phone_number,verified_name,code_verification_status,quality_rating,status,platform_type,name_status,throughput{level},account_mode,is_pin_enabled,messaging_limit_tier,is_on_biz_app",
        )
        .await;
    assert_eq!(
        body,
        json!({
            "display_phone_number": "+1 555-010-0003",
            "verified_name": "Registered With PIN",
            "code_verification_status": "VERIFIED",
            "quality_rating": "GREEN",
            "status": "CONNECTED",
            "platform_type": "CLOUD_API",
            "name_status": "APPROVED",
            "throughput": {"level": "STANDARD"},
            "account_mode": "LIVE",
            "is_pin_enabled": true,
            "messaging_limit_tier": "TIER_250",
            "is_on_biz_app": false,
            "id": REGISTERED
        })
    );
}

#[tokio::test]
async fn every_real_client_field_is_known_and_unmodelled_ones_are_left_out() {
    let emu = TestEmulator::spawn().await;
    let body = emu.read_fields(READY, REAL_CLIENT_FIELDS).await;
    let mut keys: Vec<_> = body.as_object().unwrap().keys().cloned().collect();
    keys.sort();
    // Left out, as Graph leaves out fields without a value: last_onboarded_time (never
    // onboarded here), webhook_configuration (no override), new_certificate (no name change),
    // username (none set), conversational_automation (not configured).
    assert_eq!(
        keys,
        [
            "account_mode",
            "certificate",
            "code_verification_status",
            "country_code",
            "country_dial_code",
            "display_phone_number",
            "eligibility_for_api_business_global_search",
            "health_status",
            "host_platform",
            "id",
            "is_official_business_account",
            "is_on_biz_app",
            "is_pin_enabled",
            "is_preverified_number",
            "messaging_limit_tier",
            "name_status",
            "new_name_status",
            "platform_type",
            "quality_rating",
            "quality_score",
            "search_visibility",
            "status",
            "throughput",
            "unified_cert_status",
            "verified_name",
            "whatsapp_business_manager_messaging_limit"
        ]
    );
}

#[tokio::test]
async fn an_unknown_field_is_a_nonexisting_field_error() {
    let emu = TestEmulator::spawn().await;
    for (fields, name) in [
        ("status,colour", "colour"),
        ("phone_numbers", "phone_numbers"),
    ] {
        let error = assert_bad_request(
            emu.get(&format!("/v23.0/{READY}?fields={fields}")).await,
            100,
        )
        .await;
        assert_eq!(
            error["message"],
            format!(
                "(#100) Tried accessing nonexisting field ({name}) on node type (WhatsAppBusinessPhoneNumber)"
            )
        );
    }
}

#[tokio::test]
async fn status_and_platform_follow_register_and_deregister() {
    let emu = TestEmulator::spawn().await;
    let fields = "status,platform_type,last_onboarded_time";
    assert_eq!(
        emu.read_fields(READY, fields).await,
        json!({"status": "PENDING", "platform_type": "NOT_APPLICABLE", "id": READY})
    );
    assert_success(emu.register_pin(READY, "123456").await).await;
    assert_eq!(
        emu.read_fields(READY, fields).await,
        json!({
            "status": "CONNECTED",
            "platform_type": "CLOUD_API",
            "last_onboarded_time": "2026-11-25T12:00:00+0000",
            "id": READY
        })
    );
    assert_success(emu.deregister(READY).await).await;
    assert_eq!(
        emu.read_fields(READY, fields).await,
        json!({
            "status": "PENDING",
            "platform_type": "NOT_APPLICABLE",
            "last_onboarded_time": "2026-11-25T12:00:00+0000",
            "id": READY
        })
    );
}

#[tokio::test]
async fn reading_needs_only_the_management_permission_on_the_waba() {
    let emu = TestEmulator::spawn_with_messaging_only_token().await;
    assert_json(
        emu.get_with(&format!("/v23.0/{READY}"), MANAGEMENT_ONLY_TOKEN)
            .await,
    )
    .await;
    let error = assert_error(
        emu.get_with(&format!("/v23.0/{READY}"), MESSAGING_ONLY_TOKEN)
            .await,
        403,
        200,
        "OAuthException",
    )
    .await;
    assert_eq!(error["message"], "(#200) Permissions error");
    assert_unknown_object(
        emu.get_with(&format!("/v23.0/{READY}"), OTHER_WABA_TOKEN)
            .await,
        "get",
        READY,
    )
    .await;
    assert_unknown_object(emu.get("/v23.0/999999999").await, "get", "999999999").await;
    // The object check comes before the fields check.
    assert_unknown_object(
        emu.get("/v23.0/999999999?fields=colour").await,
        "get",
        "999999999",
    )
    .await;
    let response = emu
        .client
        .get(emu.url(&format!("/v23.0/{READY}")))
        .send()
        .await
        .unwrap();
    assert_bad_request(response, 104).await;
}

#[tokio::test]
async fn fixture_values_are_read_back() {
    let text = r#"{"tokens":[{"value":"EAAEmulatorDevToken"}],"wabas":[{"id":"1","phone_numbers":[
        {"id":"2","quality_rating":"YELLOW","name_status":"DECLINED","account_mode":"SANDBOX",
         "messaging_limit_tier":"TIER_UNLIMITED","last_onboarded_time":"2026-01-02T03:04:05Z"}]}]}"#;
    let document = wa_cloud_emulator::FixtureDocument::parse(text, "t").unwrap();
    let emu = TestEmulator::spawn_with(|b| b.fixtures(document)).await;
    assert_eq!(
        emu.read_fields(
            "2",
            "quality_rating,name_status,account_mode,messaging_limit_tier,last_onboarded_time"
        )
        .await,
        json!({
            "quality_rating": "YELLOW",
            "name_status": "DECLINED",
            "account_mode": "SANDBOX",
            "messaging_limit_tier": "TIER_UNLIMITED",
            "last_onboarded_time": "2026-01-02T03:04:05+0000",
            "id": "2"
        })
    );
}

#[tokio::test]
async fn every_documented_field_is_served_in_one_call() {
    let emu = TestEmulator::spawn().await;
    // pywa asks for all of these at once; the OpenAPI file adds the last ones.
    let fields = "verified_name,display_phone_number,conversational_automation,status,quality_rating,quality_score,webhook_configuration,name_status,new_name_status,code_verification_status,account_mode,is_on_biz_app,is_official_business_account,is_pin_enabled,is_preverified_number,search_visibility,platform_type,throughput,eligibility_for_api_business_global_search,health_status,certificate,new_certificate,last_onboarded_time,country_code,country_dial_code,whatsapp_business_manager_messaging_limit,messaging_limit_tier,host_platform,unified_cert_status,username,official_business_account";
    let number = emu.read_fields(REGISTERED, fields).await;
    assert_eq!(
        number["official_business_account"],
        json!({"oba_status": "NOT_STARTED"})
    );
    assert_eq!(number["is_official_business_account"], false);
    assert_eq!(
        number["whatsapp_business_manager_messaging_limit"],
        number["messaging_limit_tier"]
    );
    assert_eq!(number["country_dial_code"], "1");
    assert_eq!(number["country_code"], "US");
    assert_eq!(number["host_platform"], "CLOUD_API");
    assert_eq!(number["health_status"]["can_send_message"], "AVAILABLE");
    assert!(number["certificate"].is_string());
    assert_eq!(number["id"], REGISTERED);
}
