//! `GET` and `POST /{WABA_ID}/phone_numbers`.

use chrono::TimeDelta;
use serde_json::{Value, json};

use crate::helpers::*;

/// The WABA's numbers in the default order: none onboarded, so by id, newest first.
const ALL_DESCENDING: [&str; 6] = [
    COEXISTENCE,
    WITH_PIN,
    REGISTERED_DE,
    REGISTERED,
    UNVERIFIED,
    READY,
];

fn ids(body: &Value) -> Vec<String> {
    body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

fn add_body(phone_number: &str) -> Value {
    json!({"cc": "1", "phone_number": phone_number, "verified_name": "Acme Support"})
}

#[tokio::test]
async fn the_list_has_default_fields_cursors_and_no_page_links_when_it_fits() {
    let emu = TestEmulator::spawn().await;
    let body = assert_json(emu.get(&format!("/v23.0/{WABA}/phone_numbers")).await).await;
    assert_eq!(ids(&body), ALL_DESCENDING);
    assert_eq!(
        body["data"][5],
        json!({
            "id": READY,
            "display_phone_number": "+1 555-010-0001",
            "verified_name": "Ready To Register",
            "quality_rating": "GREEN",
            "code_verification_status": "VERIFIED"
        })
    );
    let paging = body["paging"].as_object().unwrap();
    assert_eq!(paging.keys().collect::<Vec<_>>(), ["cursors"]);
    assert!(paging["cursors"]["before"].is_string() && paging["cursors"]["after"].is_string());
}

#[tokio::test]
async fn the_newest_onboarding_comes_first_and_sort_reverses_it() {
    let emu = TestEmulator::spawn().await;
    assert_success(emu.register_pin(WITH_PIN, "111111").await).await;
    emu.emulator.clock().advance(TimeDelta::minutes(1));
    assert_success(emu.register_pin(READY, "123456").await).await;
    let body = assert_json(emu.get(&format!("/v23.0/{WABA}/phone_numbers")).await).await;
    assert_eq!(ids(&body)[..2], [READY, WITH_PIN]);
    for sort in [
        "%5B%22last_onboarded_time_ascending%22%5D",
        "last_onboarded_time.asc",
    ] {
        let body = assert_json(
            emu.get(&format!("/v23.0/{WABA}/phone_numbers?sort={sort}"))
                .await,
        )
        .await;
        assert_eq!(
            ids(&body),
            [
                UNVERIFIED,
                REGISTERED,
                REGISTERED_DE,
                COEXISTENCE,
                WITH_PIN,
                READY
            ],
            "{sort}"
        );
    }
}

#[tokio::test]
async fn creation_time_sorts_added_numbers_after_fixture_numbers() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{WABA}/phone_numbers");
    let first = assert_json(emu.post_json(&path, add_body("5550109001")).await).await;
    emu.emulator.clock().advance(TimeDelta::seconds(1));
    let second = assert_json(emu.post_json(&path, add_body("5550109002")).await).await;
    let body = assert_json(emu.get(&format!("{path}?sort=creation_time.desc")).await).await;
    assert_eq!(
        ids(&body)[..2],
        [
            second["id"].as_str().unwrap(),
            first["id"].as_str().unwrap()
        ]
    );
    let body = assert_json(emu.get(&format!("{path}?sort=creation_time.asc")).await).await;
    assert_eq!(
        ids(&body)[6..],
        [
            first["id"].as_str().unwrap(),
            second["id"].as_str().unwrap()
        ]
    );
}

#[tokio::test]
async fn an_unknown_sort_is_a_param_error() {
    let emu = TestEmulator::spawn().await;
    let error = assert_bad_request(
        emu.get(&format!("/v23.0/{WABA}/phone_numbers?sort=name"))
            .await,
        100,
    )
    .await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("(#100) Param sort must be one of {last_onboarded_time_descending, "),
        "{error}"
    );
}

#[tokio::test]
async fn sort_and_fields_may_come_as_json_arrays_in_a_body() {
    let emu = TestEmulator::spawn().await;
    let get = |body: Value| {
        emu.client
            .get(emu.url(&format!("/v23.0/{WABA}/phone_numbers")))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
    };
    let body = assert_json(
        get(json!({"sort": ["last_onboarded_time_ascending"], "fields": ["status"]}))
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(body["data"][0], json!({"status": "PENDING", "id": READY}));
    let error = assert_bad_request(get(json!({"sort": [1]})).await.unwrap(), 100).await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .ends_with(" - got \"1\"."),
        "{error}"
    );
    let error = assert_bad_request(get(json!({"fields": [7]})).await.unwrap(), 100).await;
    assert_eq!(
        error["message"],
        "(#100) Tried accessing nonexisting field (7) on node type (WhatsAppBusinessPhoneNumber)"
    );
}

#[tokio::test]
async fn cursor_paging_walks_forward_and_back_with_full_urls() {
    let emu = TestEmulator::spawn().await;
    let first = assert_json(
        emu.get(&format!(
            "/v23.0/{WABA}/phone_numbers?limit=4&fields=status"
        ))
        .await,
    )
    .await;
    assert_eq!(ids(&first), ALL_DESCENDING[..4]);
    assert_eq!(
        first["data"][0],
        json!({"status": "CONNECTED", "id": COEXISTENCE})
    );
    assert!(first["paging"].get("previous").is_none());
    let next = first["paging"]["next"].as_str().unwrap();
    assert!(
        next.starts_with(&format!(
            "{}/v23.0/{WABA}/phone_numbers?",
            emu.emulator.uri()
        )),
        "{next}"
    );
    assert!(
        next.contains("fields=status") && next.contains("limit=4"),
        "{next}"
    );
    let second = assert_json(
        emu.client
            .get(next)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&second), ALL_DESCENDING[4..]);
    assert!(second["paging"].get("next").is_none());
    let previous = second["paging"]["previous"].as_str().unwrap();
    let back = assert_json(
        emu.client
            .get(previous)
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap(),
    )
    .await;
    assert_eq!(ids(&back), ALL_DESCENDING[..4]);
    // After the last item: an empty page.
    let after = second["paging"]["cursors"]["after"].as_str().unwrap();
    let empty = assert_json(
        emu.get(&format!("/v23.0/{WABA}/phone_numbers?after={after}"))
            .await,
    )
    .await;
    assert_eq!(empty, json!({"data": []}));
}

#[tokio::test]
async fn the_access_token_in_the_query_stays_in_page_links() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .get(emu.url(&format!(
            "/v23.0/{WABA}/phone_numbers?limit=5&access_token={TOKEN}"
        )))
        .send()
        .await
        .unwrap();
    let body = assert_json(response).await;
    let next = body["paging"]["next"].as_str().unwrap();
    let page = assert_json(emu.client.get(next).send().await.unwrap()).await;
    assert_eq!(ids(&page), [READY]);
}

#[tokio::test]
async fn limit_defaults_to_25_and_caps_at_100() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{WABA}/phone_numbers");
    for n in 0..30 {
        assert_json(
            emu.post_json(&path, add_body(&format!("55502{n:05}")))
                .await,
        )
        .await;
    }
    let body = assert_json(emu.get(&path).await).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 25);
    assert!(
        body["paging"]["next"]
            .as_str()
            .unwrap()
            .contains("limit=25")
    );
    let body = assert_json(emu.get(&format!("{path}?limit=1000")).await).await;
    assert_eq!(body["data"].as_array().unwrap().len(), 36);
    assert!(body["paging"].get("next").is_none());
}

#[tokio::test]
async fn paging_parameter_errors() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{WABA}/phone_numbers");
    for limit in ["0", "-1", "ten"] {
        let details =
            assert_invalid_parameter(emu.get(&format!("{path}?limit={limit}")).await).await;
        assert!(
            details.starts_with("limit must be a positive integer"),
            "{details}"
        );
    }
    for cursor in ["garbage!", "MTIz"] {
        let details =
            assert_invalid_parameter(emu.get(&format!("{path}?after={cursor}")).await).await;
        assert_eq!(
            details,
            "The after cursor is not a cursor of this list: use paging.cursors from an earlier response."
        );
    }
    let details =
        assert_invalid_parameter(emu.get(&format!("{path}?after=MTIz&before=MTIz")).await).await;
    assert_eq!(details, "Send either after or before, not both.");
    let error =
        assert_bad_request(emu.get(&format!("{path}?fields=status,colour")).await, 100).await;
    assert_eq!(
        error["message"],
        "(#100) Tried accessing nonexisting field (colour) on node type (WhatsAppBusinessPhoneNumber)"
    );
}

#[tokio::test]
async fn the_list_is_scoped_to_the_tokens_wabas() {
    let emu = TestEmulator::spawn_with_messaging_only_token().await;
    assert_unknown_object(
        emu.get_with(&format!("/v23.0/{WABA}/phone_numbers"), OTHER_WABA_TOKEN)
            .await,
        "get",
        WABA,
    )
    .await;
    let body = assert_json(
        emu.get_with(
            &format!("/v23.0/{OTHER_WABA}/phone_numbers"),
            OTHER_WABA_TOKEN,
        )
        .await,
    )
    .await;
    assert_eq!(ids(&body), [OTHER_WABA_NUMBER]);
    assert_error(
        emu.get_with(
            &format!("/v23.0/{WABA}/phone_numbers"),
            MESSAGING_ONLY_TOKEN,
        )
        .await,
        403,
        200,
        "OAuthException",
    )
    .await;
    assert_unknown_object(
        emu.get("/v23.0/999999999/phone_numbers").await,
        "get",
        "999999999",
    )
    .await;
    // phone_numbers hangs off a WABA, not a number; number edges do not hang off a WABA.
    assert_unknown_object(
        emu.get(&format!("/v23.0/{READY}/phone_numbers")).await,
        "get",
        READY,
    )
    .await;
    assert_unknown_object(emu.register_pin(WABA, "123456").await, "post", WABA).await;
    let response = emu
        .client
        .delete(emu.url(&format!("/v23.0/{WABA}/phone_numbers")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_error(response, 400, 100, "GraphMethodException").await;
}

#[tokio::test]
async fn adding_a_number_answers_a_fresh_id_and_the_number_starts_unverified() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{WABA}/phone_numbers");
    let body = assert_json(emu.post_json(&path, add_body("5550109999")).await).await;
    let id = body["id"].as_str().unwrap().to_owned();
    assert_eq!(body.as_object().unwrap().len(), 1);
    assert_eq!(id.len(), 15);
    assert!(id.bytes().all(|b| b.is_ascii_digit()));
    assert_eq!(
        emu.read_fields(
            &id,
            "display_phone_number,verified_name,code_verification_status,status,platform_type,quality_rating,name_status,is_pin_enabled"
        )
        .await,
        json!({
            "display_phone_number": "+1 5550109999",
            "verified_name": "Acme Support",
            "code_verification_status": "NOT_VERIFIED",
            "status": "PENDING",
            "platform_type": "NOT_APPLICABLE",
            "quality_rating": "UNKNOWN",
            "name_status": "AVAILABLE_WITHOUT_REVIEW",
            "is_pin_enabled": false,
            "id": id
        })
    );
    let list = assert_json(emu.get(&path).await).await;
    assert!(ids(&list).contains(&id));
    assert_bad_request(emu.register_pin(&id, "123456").await, 133006).await;
}

#[tokio::test]
async fn new_ids_are_unique_and_deterministic() {
    let a = TestEmulator::spawn_with(|builder| builder.id_seed(7)).await;
    let b = TestEmulator::spawn_with(|builder| builder.id_seed(7)).await;
    let mut seen = Vec::new();
    for emu in [&a, &b] {
        let path = format!("/v23.0/{WABA}/phone_numbers");
        let mut ids = Vec::new();
        for number in ["5550108001", "5550108002"] {
            let form = emu
                .post_form(
                    &path,
                    &[
                        ("cc", "+1"),
                        ("phone_number", number),
                        ("verified_name", "Acme"),
                    ],
                )
                .await;
            ids.push(assert_json(form).await["id"].as_str().unwrap().to_owned());
        }
        assert_ne!(ids[0], ids[1]);
        seen.push(ids);
    }
    assert_eq!(seen[0], seen[1]);
}

#[tokio::test]
async fn a_number_already_in_the_world_cannot_be_added_again() {
    let emu = TestEmulator::spawn().await;
    // READY is +1 555-010-0001 in the first WABA; adding it to the second is still a duplicate.
    let details = assert_invalid_parameter(
        emu.post_json(
            &format!("/v23.0/{OTHER_WABA}/phone_numbers"),
            json!({"cc": "1", "phone_number": "555-010-0001", "verified_name": "Copy"}),
        )
        .await,
    )
    .await;
    assert_eq!(
        details,
        "The phone number +1 5550100001 already exists in a WhatsApp Business Account."
    );
    let path = format!("/v23.0/{WABA}/phone_numbers");
    assert_json(emu.post_json(&path, add_body("5550107777")).await).await;
    assert_invalid_parameter(emu.post_json(&path, add_body("5550107777")).await).await;
    assert_eq!(emu.emulator.state().numbers_of_waba(WABA).len(), 7);
}

#[tokio::test]
async fn add_parameter_errors() {
    let emu = TestEmulator::spawn().await;
    let path = format!("/v23.0/{WABA}/phone_numbers");
    let full = json!({"cc": "1", "phone_number": "5550106666", "verified_name": "Acme"});
    for name in ["cc", "phone_number", "verified_name"] {
        let mut body = full.clone();
        body.as_object_mut().unwrap().remove(name);
        assert_missing_parameter(emu.post_json(&path, body).await, name).await;
    }
    let cases = [
        (
            json!({"cc": "1234"}),
            "cc \"1234\" is not a country calling code: send 1 to 3 digits, e.g. \"1\" or \"49\".",
        ),
        (
            json!({"cc": "x"}),
            "cc \"x\" is not a country calling code: send 1 to 3 digits, e.g. \"1\" or \"49\".",
        ),
        (
            json!({"phone_number": "555-CALL-NOW"}),
            "phone_number \"555-CALL-NOW\" is not a phone number: send the national number as digits (at most 15 digits with cc).",
        ),
        (
            json!({"phone_number": "1234567890123456"}),
            "phone_number \"1234567890123456\" is not a phone number: send the national number as digits (at most 15 digits with cc).",
        ),
        (
            json!({"verified_name": "A"}),
            "verified_name must be 2 to 75 characters (got 1).",
        ),
        (
            json!({"verified_name": "x".repeat(76)}),
            "verified_name must be 2 to 75 characters (got 76).",
        ),
    ];
    for (change, expected) in cases {
        let mut body = full.clone();
        for (name, value) in change.as_object().unwrap() {
            body[name] = value.clone();
        }
        let details = assert_invalid_parameter(emu.post_json(&path, body).await).await;
        assert_eq!(details, expected);
    }
    let mut body = full.clone();
    body["migrate_phone_number"] = json!("maybe");
    let error = assert_bad_request(emu.post_json(&path, body).await, 100).await;
    assert_eq!(
        error["message"],
        "(#100) Param migrate_phone_number must be one of {true, false} - got \"maybe\"."
    );
    assert_eq!(emu.emulator.state().numbers_of_waba(WABA).len(), 6);
}

#[tokio::test]
async fn adding_obeys_auth_and_scope() {
    let emu = TestEmulator::spawn_with_messaging_only_token().await;
    let body = add_body("5550105555");
    assert_unknown_object(
        emu.post_json_with(
            &format!("/v23.0/{WABA}/phone_numbers"),
            OTHER_WABA_TOKEN,
            body.clone(),
        )
        .await,
        "post",
        WABA,
    )
    .await;
    assert_error(
        emu.post_json_with(
            &format!("/v23.0/{WABA}/phone_numbers"),
            MESSAGING_ONLY_TOKEN,
            body.clone(),
        )
        .await,
        403,
        200,
        "OAuthException",
    )
    .await;
    assert_unknown_object(
        emu.post_json("/v23.0/999999999/phone_numbers", body.clone())
            .await,
        "post",
        "999999999",
    )
    .await;
    assert_unknown_object(
        emu.post_json(&format!("/v23.0/{READY}/phone_numbers"), body)
            .await,
        "post",
        READY,
    )
    .await;
}
