//! On-Premises to Cloud migration: register with `backup` for a number added with
//! `migrate_phone_number`.

use serde_json::json;

use crate::helpers::*;

/// Adds a migrating number and verifies it; returns its id.
async fn migrating_number(emu: &TestEmulator) -> String {
    let body = assert_json(
        emu.post_json(
            &format!("/v23.0/{WABA}/phone_numbers"),
            json!({"cc": "49", "phone_number": "3055501234", "verified_name": "Migrating GmbH", "migrate_phone_number": true}),
        )
        .await,
    )
    .await;
    let id = body["id"].as_str().unwrap().to_owned();
    assert!(emu.number(&id).migration_pending);
    assert_success(emu.request_code(&id).await).await;
    let code = emu.pending_code(&id);
    assert_success(emu.verify_code(&id, &code).await).await;
    id
}

fn register_body(backup: serde_json::Value) -> serde_json::Value {
    json!({"messaging_product": "whatsapp", "pin": "123456", "backup": backup})
}

#[tokio::test]
async fn a_migration_register_with_a_backup_moves_the_number_to_the_cloud_api() {
    let emu = TestEmulator::spawn().await;
    let id = migrating_number(&emu).await;
    assert_eq!(
        emu.read_fields(&id, "status,platform_type").await,
        json!({"status": "PENDING", "platform_type": "ON_PREMISE", "id": id})
    );
    assert_success(
        emu.register(
            &id,
            register_body(json!({"data": "BACKUP_BLOB", "password": "backup-password"})),
        )
        .await,
    )
    .await;
    assert!(!emu.number(&id).migration_pending);
    assert_eq!(
        emu.read_fields(&id, "status,platform_type").await,
        json!({"status": "CONNECTED", "platform_type": "CLOUD_API", "id": id})
    );
}

#[tokio::test]
async fn the_backup_is_required_for_a_migrating_number() {
    let emu = TestEmulator::spawn().await;
    let id = migrating_number(&emu).await;
    assert_missing_parameter(emu.register_pin(&id, "123456").await, "backup").await;
    assert_missing_parameter(
        emu.register(&id, register_body(json!(null))).await,
        "backup",
    )
    .await;
    assert_missing_parameter(
        emu.register(&id, register_body(json!({}))).await,
        "backup.data",
    )
    .await;
    assert_missing_parameter(
        emu.register(&id, register_body(json!({"password": "p"})))
            .await,
        "backup.data",
    )
    .await;
    assert_missing_parameter(
        emu.register(&id, register_body(json!({"data": "blob"})))
            .await,
        "backup.password",
    )
    .await;
    assert_missing_parameter(
        emu.register(&id, register_body(json!({"data": "", "password": "p"})))
            .await,
        "backup.data",
    )
    .await;
    let details =
        assert_invalid_parameter(emu.register(&id, register_body(json!("not json"))).await).await;
    assert_eq!(details, "Param backup must be a JSON object.");
    assert!(!emu.is_registered(&id));
    assert!(emu.number(&id).migration_pending);
}

#[tokio::test]
async fn form_bodies_send_the_backup_as_json_or_bracketed_fields() {
    let emu = TestEmulator::spawn().await;
    let id = migrating_number(&emu).await;
    let path = format!("/v23.0/{id}/register");
    assert_success(
        emu.post_form(
            &path,
            &[
                ("messaging_product", "whatsapp"),
                ("pin", "123456"),
                ("backup[data]", "blob"),
                ("backup[password]", "secret"),
            ],
        )
        .await,
    )
    .await;
    assert!(emu.is_registered(&id));
    let other = TestEmulator::spawn().await;
    let id = migrating_number(&other).await;
    assert_success(
        other
            .post_form(
                &format!("/v23.0/{id}/register"),
                &[
                    ("messaging_product", "whatsapp"),
                    ("pin", "123456"),
                    ("backup", r#"{"data":"blob","password":"secret"}"#),
                ],
            )
            .await,
    )
    .await;
}

#[tokio::test]
async fn other_register_rules_still_apply_to_a_migration() {
    let emu = TestEmulator::spawn().await;
    let backup = json!({"data": "blob", "password": "secret"});
    // Parameters come first: an unverified migrating number still gets the parameter error.
    let body = assert_json(
        emu.post_json(
            &format!("/v23.0/{WABA}/phone_numbers"),
            json!({"cc": "1", "phone_number": "5550104444", "verified_name": "Acme", "migrate_phone_number": "true"}),
        )
        .await,
    )
    .await;
    let id = body["id"].as_str().unwrap().to_owned();
    assert_missing_parameter(emu.register_pin(&id, "123456").await, "backup").await;
    assert_bad_request(
        emu.register(&id, register_body(backup.clone())).await,
        133006,
    )
    .await;
    assert_missing_parameter(
        emu.register(&id, json!({"pin": "123456", "backup": backup}))
            .await,
        "messaging_product",
    )
    .await;
}

#[tokio::test]
async fn a_backup_on_a_normal_number_is_ignored() {
    let emu = TestEmulator::spawn().await;
    assert_success(emu.register(READY, register_body(json!("anything"))).await).await;
    assert!(emu.is_registered(READY));
}

#[tokio::test]
async fn fixtures_can_declare_a_migration_in_progress() {
    let text = r#"{"tokens":[{"value":"EAAEmulatorDevToken"}],"wabas":[{"id":"1","phone_numbers":[
        {"id":"2","code_verification_status":"VERIFIED","migration_pending":true,"pin":"121212"}]}]}"#;
    let document = wa_cloud_emulator::FixtureDocument::parse(text, "t").unwrap();
    let emu = TestEmulator::spawn_with(|b| b.fixtures(document)).await;
    assert_missing_parameter(emu.register_pin("2", "121212").await, "backup").await;
    // The On-Premises PIN must match.
    assert_bad_request(emu.register(
            "2",
            json!({"messaging_product": "whatsapp", "pin": "999999", "backup": {"data": "d", "password": "p"}}),
        )
        .await, 133005)
    .await;
    assert_success(
        emu.register(
            "2",
            json!({"messaging_product": "whatsapp", "pin": "121212", "backup": {"data": "d", "password": "p"}}),
        )
        .await,
    )
    .await;
}
