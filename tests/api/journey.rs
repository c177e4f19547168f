//! The worked example of docs/guide/journey.md, request for request: add → request code →
//! verify → set PIN → register → read status → deregister → read status. (CI also runs the page
//! itself: .ci/docs-examples.sh.)

use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn the_whole_lifecycle_of_a_new_number() {
    // The page runs the emulator with --id-seed 24301 (0x5EED), so its ids are fixed.
    let emu = TestEmulator::spawn_with(|builder| builder.id_seed(0x5EED)).await;

    // Add the number to the WABA.
    let added = assert_json(
        emu.post_json(
            &format!("/v23.0/{WABA}/phone_numbers"),
            json!({"cc": "1", "phone_number": "5550100100", "verified_name": "Acme Support"}),
        )
        .await,
    )
    .await;
    let id = added["id"].as_str().unwrap().to_owned();
    // With that seed the sequence is fixed: these are the page's values.
    assert_eq!(id, "403639548835252");
    assert_eq!(
        emu.read_fields(&id, "code_verification_status,status,platform_type")
            .await,
        json!({"code_verification_status": "NOT_VERIFIED", "status": "PENDING", "platform_type": "NOT_APPLICABLE", "id": id})
    );

    // Request a code by SMS (multipart, as in Meta's examples) and read it in-process.
    let form = reqwest::multipart::Form::new()
        .text("code_method", "SMS")
        .text("language", "en_US");
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{id}/request_code")))
        .bearer_auth(TOKEN)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_success(response).await;
    let code = emu.pending_code(&id);
    assert_eq!(code, "829844");

    // Verify it.
    assert_success(emu.verify_code(&id, &code).await).await;

    // Set the two-step PIN.
    assert_success(
        emu.post_json(&format!("/v23.0/{id}"), json!({"pin": "246810"}))
            .await,
    )
    .await;

    // Register with that PIN.
    assert_success(emu.register_pin(&id, "246810").await).await;

    // Read the status.
    assert_eq!(
        emu.read_fields(
            &id,
            "status,platform_type,code_verification_status,is_pin_enabled"
        )
        .await,
        json!({"status": "CONNECTED", "platform_type": "CLOUD_API", "code_verification_status": "VERIFIED", "is_pin_enabled": true, "id": id})
    );

    // Deregister; the number keeps its verification and PIN.
    assert_success(emu.deregister(&id).await).await;
    assert_eq!(
        emu.read_fields(&id, "status,platform_type,code_verification_status")
            .await,
        json!({"status": "PENDING", "platform_type": "NOT_APPLICABLE", "code_verification_status": "VERIFIED", "id": id})
    );
    assert_bad_request(emu.register_pin(&id, "123456").await, 133005).await;
}
