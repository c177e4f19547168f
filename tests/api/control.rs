//! The control API under /__emulator/: every operation over HTTP, plus library mode.

use std::net::SocketAddr;

use serde_json::{Value, json};

use crate::helpers::*;

impl TestEmulator {
    async fn control(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        self.control_json(method, path, body).await
    }

    async fn control_get(&self, path: &str) -> Value {
        let (status, body) = self.control(reqwest::Method::GET, path, None).await;
        assert_eq!(status, 200, "{path}: {body}");
        body
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        self.control(reqwest::Method::POST, path, Some(body)).await
    }
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let emu = TestEmulator::spawn().await;
    assert_eq!(emu.control_get("/health").await, json!({"status": "ok"}));
    assert_eq!(emu.control_get("/ready").await["status"], "ready");
}

#[tokio::test]
async fn reset_returns_to_the_fixtures() {
    let emu = TestEmulator::spawn().await;
    assert_success(emu.register_pin(READY, "123456").await).await;
    assert_success(emu.deregister(REGISTERED).await).await;
    let (status, _) = emu.post("/faults", json!({"error_code": 133004})).await;
    assert_eq!(status, 201);
    let (status, body) = emu.post("/reset", json!({})).await;
    assert_eq!((status, body), (200, json!({"reset": true})));
    let ready = emu.control_get(&format!("/numbers/{READY}")).await;
    assert_eq!(ready["registered"], false);
    assert_eq!(ready["pin_set"], false);
    assert_eq!(ready["rate_limits"]["register"]["used"], 0);
    assert_eq!(
        emu.control_get(&format!("/numbers/{REGISTERED}")).await["registered"],
        true
    );
    assert_eq!(emu.control_get("/journal").await["data"], json!([]));
    assert_eq!(emu.control_get("/faults").await["data"], json!([]));
}

#[tokio::test]
async fn numbers_show_every_internal_field() {
    let emu = TestEmulator::spawn().await;
    for _ in 0..2 {
        assert_bad_request(emu.register_pin(WITH_PIN, "000000").await, 133005).await;
    }
    let number = emu.control_get(&format!("/numbers/{WITH_PIN}")).await;
    assert_eq!(number["code_verification_status"], "VERIFIED");
    assert_eq!(number["pin_set"], true);
    assert_eq!(number["status"], "PENDING");
    assert_eq!(number["pin_lockout"]["consecutive_failures"], 2);
    let window = &number["rate_limits"]["register"];
    assert_eq!(window["used"], 2);
    assert_eq!(window["remaining"], 8);
    assert_eq!(window["requests"][0]["at"], "2026-11-25T12:00:00Z");
    assert_eq!(window["requests"][0]["expires_at"], "2026-11-28T12:00:00Z");
    assert!(number.get("pin").is_none(), "the PIN itself is never shown");
    let de = emu.control_get(&format!("/numbers/{REGISTERED_DE}")).await;
    assert_eq!(de["data_localization_region"], "DE");
    let all = emu.control_get("/numbers").await;
    assert_eq!(all["data"].as_array().unwrap().len(), 7);
    let second = emu.control_get("/numbers?waba_id=102290129340399").await;
    assert_eq!(second["data"].as_array().unwrap().len(), 1);
    let (status, error) = emu.control(reqwest::Method::GET, "/numbers/42", None).await;
    assert_eq!(status, 404);
    assert_eq!(error["emulator_error"]["kind"], "not_found");
}

#[tokio::test]
async fn numbers_can_be_created_patched_and_deleted() {
    let emu = TestEmulator::spawn().await;
    let (status, created) = emu
        .post(
            "/numbers",
            json!({"waba_id": "102290129340398", "id": "555000111", "code_verification_status": "VERIFIED", "verified_name": "New"}),
        )
        .await;
    assert_eq!(status, 201, "{created}");
    assert_success(emu.register_pin("555000111", "123456").await).await;
    let (status, fresh) = emu
        .post("/numbers", json!({"waba_id": "102290129340398"}))
        .await;
    assert_eq!(status, 201);
    assert!(
        fresh["id"]
            .as_str()
            .unwrap()
            .chars()
            .all(|c| c.is_ascii_digit())
    );
    let (status, _) = emu
        .post(
            "/numbers",
            json!({"waba_id": "102290129340398", "id": "555000111"}),
        )
        .await;
    assert_eq!(status, 409);
    let (status, _) = emu.post("/numbers", json!({"waba_id": "1"})).await;
    assert_eq!(status, 404);

    let (status, patched) = emu
        .control(
            reqwest::Method::PATCH,
            &format!("/numbers/{UNVERIFIED}"),
            Some(json!({"code_verification_status": "VERIFIED", "pin": "777777"})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["pin_set"], true);
    assert_bad_request(emu.register_pin(UNVERIFIED, "123456").await, 133005).await;
    assert_success(emu.register_pin(UNVERIFIED, "777777").await).await;
    let (status, _) = emu
        .control(
            reqwest::Method::PATCH,
            &format!("/numbers/{UNVERIFIED}"),
            Some(json!({"pin": null})),
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        emu.control_get(&format!("/numbers/{UNVERIFIED}")).await["pin_set"],
        false
    );
    let (status, error) = emu
        .control(
            reqwest::Method::PATCH,
            &format!("/numbers/{READY}"),
            Some(json!({"pin": "12"})),
        )
        .await;
    assert_eq!(
        (status, error["emulator_error"]["kind"].as_str()),
        (400, Some("invalid"))
    );
    let (status, _) = emu
        .control(
            reqwest::Method::PATCH,
            &format!("/numbers/{READY}"),
            Some(json!({"colour": "red"})),
        )
        .await;
    assert_eq!(status, 400);

    let (status, _) = emu
        .control(reqwest::Method::DELETE, &format!("/numbers/{READY}"), None)
        .await;
    assert_eq!(status, 200);
    assert_error(
        emu.register_pin(READY, "123456").await,
        400,
        100,
        "GraphMethodException",
    )
    .await;
}

#[tokio::test]
async fn wabas_and_tokens_can_be_managed() {
    let emu = TestEmulator::spawn().await;
    let (status, waba) = emu
        .post(
            "/wabas",
            json!({"name": "Runtime", "phone_numbers": [{"id": "777000001", "code_verification_status": "VERIFIED"}]}),
        )
        .await;
    assert_eq!(status, 201, "{waba}");
    let waba_id = waba["id"].as_str().unwrap().to_owned();
    let (status, token) = emu
        .post(
            "/tokens",
            json!({"value": "EAAruntime", "wabas": [waba_id]}),
        )
        .await;
    assert_eq!(status, 201, "{token}");
    let register = |token: &'static str, id: &'static str| {
        emu.client
            .post(emu.url(&format!("/v23.0/{id}/register")))
            .bearer_auth(token)
            .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
            .send()
    };
    assert_success(register("EAAruntime", "777000001").await.unwrap()).await;
    assert_error(
        register("EAAruntime", READY).await.unwrap(),
        400,
        100,
        "GraphMethodException",
    )
    .await;

    let (status, patched) = emu
        .control(
            reqwest::Method::PATCH,
            "/tokens/EAAruntime",
            Some(json!({"expires_at": "2026-01-01T00:00:00Z"})),
        )
        .await;
    assert_eq!(status, 200, "{patched}");
    let error = assert_error(
        register("EAAruntime", "777000001").await.unwrap(),
        401,
        190,
        "OAuthException",
    )
    .await;
    assert_eq!(error["error_subcode"], 463);
    let (status, _) = emu
        .control(reqwest::Method::DELETE, "/tokens/EAAruntime", None)
        .await;
    assert_eq!(status, 200);
    let error = assert_error(
        register("EAAruntime", "777000001").await.unwrap(),
        401,
        190,
        "OAuthException",
    )
    .await;
    assert_eq!(error["error_subcode"], 467);
    assert!(
        emu.control_get("/tokens").await["data"]
            .as_array()
            .unwrap()
            .len()
            >= 4
    );

    let (status, renamed) = emu
        .control(
            reqwest::Method::PATCH,
            &format!("/wabas/{waba_id}"),
            Some(json!({"name": "Renamed"})),
        )
        .await;
    assert_eq!((status, renamed["name"].as_str()), (200, Some("Renamed")));
    let (status, _) = emu
        .control(reqwest::Method::DELETE, &format!("/wabas/{waba_id}"), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = emu
        .control(reqwest::Method::GET, "/numbers/777000001", None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn state_export_and_import_round_trip() {
    let emu = TestEmulator::spawn().await;
    for _ in 0..10 {
        let _ = emu.register_pin(REGISTERED, "123456").await;
    }
    assert_bad_request(emu.register_pin(REGISTERED, "123456").await, 133016).await;
    assert_bad_request(emu.register_pin(WITH_PIN, "000000").await, 133005).await;
    let exported = emu.control_get("/state").await;
    let before = emu.control_get("/numbers").await;

    let other = TestEmulator::spawn().await;
    let (status, body) = other
        .control(reqwest::Method::PUT, "/state", Some(exported.clone()))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(other.control_get("/numbers").await, before);
    assert_eq!(other.control_get("/state").await, exported);
    // The imported block is live.
    assert_bad_request(other.register_pin(REGISTERED, "123456").await, 133016).await;
    // Invalid documents are refused and change nothing.
    let (status, error) = other
        .control(
            reqwest::Method::PUT,
            "/state",
            Some(json!({"wabas": [{"id": "x"}]})),
        )
        .await;
    assert_eq!(
        (status, error["emulator_error"]["kind"].as_str()),
        (400, Some("invalid"))
    );
    assert_eq!(other.control_get("/state").await, exported);
}

#[tokio::test]
async fn the_clock_can_be_read_set_and_advanced() {
    let emu = TestEmulator::spawn().await;
    let clock = emu.control_get("/clock").await;
    assert_eq!(clock["now"], "2026-11-25T12:00:00Z");
    assert_eq!(clock["mode"], "manual");
    for (advance, expected) in [
        (json!("72h"), "2026-11-28T12:00:00Z"),
        (json!("90m"), "2026-11-28T13:30:00Z"),
        (json!(30), "2026-11-28T13:30:30Z"),
    ] {
        let (status, clock) = emu.post("/clock", json!({"advance": advance})).await;
        assert_eq!((status, clock["now"].as_str()), (200, Some(expected)));
    }
    let (status, clock) = emu
        .post("/clock", json!({"set": "2027-01-01T00:00:00Z"}))
        .await;
    assert_eq!(
        (status, clock["now"].as_str()),
        (200, Some("2027-01-01T00:00:00Z"))
    );
    for bad in [
        json!({}),
        json!({"advance": "5y"}),
        json!({"advance": true}),
        json!({"set": "yesterday"}),
    ] {
        let (status, error) = emu.post("/clock", bad.clone()).await;
        assert_eq!(status, 400, "{bad}");
        assert!(error["emulator_error"]["message"].is_string());
    }
}

#[tokio::test]
async fn the_system_clock_is_shifted_by_an_offset() {
    let emulator = wa_cloud_emulator::Emulator::builder()
        .start()
        .await
        .unwrap();
    let emu = TestEmulator {
        emulator,
        client: reqwest::Client::new(),
    };
    let (status, clock) = emu.post("/clock", json!({"advance": "72h"})).await;
    assert_eq!(status, 200);
    assert_eq!(clock["mode"], "system");
    let offset = clock["offset_ms"].as_i64().unwrap();
    assert!(
        (72 * 3_600_000 - 1_000..=72 * 3_600_000 + 1_000).contains(&offset),
        "{offset}"
    );
}

#[tokio::test]
async fn the_journal_records_requests_with_secrets_masked() {
    let emu = TestEmulator::spawn().await;
    assert_success(emu.register_pin(READY, "123456").await).await;
    assert_bad_request(emu.register_pin(WITH_PIN, "000000").await, 133005).await;
    assert_success(emu.deregister(REGISTERED).await).await;
    let journal = emu.control_get("/journal").await;
    let entries = journal["data"].as_array().unwrap();
    assert_eq!(entries.len(), 3);
    let first = &entries[0];
    assert_eq!(first["method"], "POST");
    assert_eq!(first["path"], format!("/v23.0/{READY}/register"));
    assert_eq!(first["version"], "v23.0");
    assert_eq!(first["number"], READY);
    assert_eq!(first["operation"], "register");
    assert_eq!(first["status"], 200);
    assert_eq!(first["at"], "2026-11-25T12:00:00Z");
    assert_eq!(first["params"]["pin"], "******");
    assert_eq!(first["params"]["messaging_product"], "whatsapp");
    assert_eq!(
        first["headers"]["authorization"],
        "Bearer EAAEmu… (19 chars)"
    );
    assert_eq!(first["response"], json!({"success": true}));
    let text = journal.to_string();
    assert!(!text.contains(TOKEN) && !text.contains("123456"), "{text}");
    assert_eq!(entries[1]["error_code"], 133005);
    assert_eq!(entries[1]["response"]["error"]["code"], 133005);

    let by_number = emu
        .control_get(&format!("/journal?number={WITH_PIN}"))
        .await;
    assert_eq!(by_number["data"].as_array().unwrap().len(), 1);
    let by_operation = emu.control_get("/journal?operation=deregister").await;
    assert_eq!(by_operation["data"].as_array().unwrap().len(), 1);
    let (status, _) = emu.control(reqwest::Method::DELETE, "/journal", None).await;
    assert_eq!(status, 200);
    assert_eq!(emu.control_get("/journal").await["data"], json!([]));
}

#[tokio::test]
async fn faults_answer_the_chosen_error_for_the_next_requests() {
    let emu = TestEmulator::spawn().await;
    let (status, fault) = emu
        .post(
            "/faults",
            json!({"error_code": 133000, "count": 2, "number": READY, "operation": "register"}),
        )
        .await;
    assert_eq!(status, 201, "{fault}");
    // Other numbers and operations are untouched.
    assert_success(emu.deregister(REGISTERED).await).await;
    for _ in 0..2 {
        let error = assert_error(
            emu.register_pin(READY, "123456").await,
            500,
            133000,
            "OAuthException",
        )
        .await;
        assert_eq!(error["message"], "(#133000) Incomplete Deregistration");
    }
    assert_success(emu.register_pin(READY, "123456").await).await;
    // Faulted requests do not count toward the limit.
    assert_eq!(
        emu.control_get(&format!("/numbers/{READY}")).await["rate_limits"]["register"]["used"],
        1
    );

    for (code, status) in [
        (133004, 503),
        (131000, 500),
        (133015, 400),
        (4, 400),
        (80007, 400),
    ] {
        emu.post("/faults", json!({"error_code": code, "count": 1}))
            .await;
        let error = assert_error(
            emu.register_pin(REGISTERED, "123456").await,
            status,
            code,
            "OAuthException",
        )
        .await;
        if code == 131000 || code == 4 {
            assert_eq!(error["is_transient"], true);
        }
    }
    let (status, error) = emu.post("/faults", json!({"error_code": 999})).await;
    assert_eq!(
        (status, error["emulator_error"]["kind"].as_str()),
        (400, Some("invalid"))
    );
    emu.post("/faults", json!({"error_code": 133004})).await;
    assert_eq!(
        emu.control_get("/faults").await["data"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let (status, _) = emu.control(reqwest::Method::DELETE, "/faults", None).await;
    assert_eq!(status, 200);
    assert_success(emu.register_pin(REGISTERED, "123456").await).await;
}

#[tokio::test]
async fn faults_can_add_latency_and_be_removed_one_by_one() {
    let emu = TestEmulator::spawn().await;
    let (_, fault) = emu.post("/faults", json!({"latency_ms": 300})).await;
    let started = std::time::Instant::now();
    assert_success(emu.register_pin(READY, "123456").await).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
    let id = fault["id"].as_u64().unwrap();
    let (status, _) = emu
        .control(reqwest::Method::DELETE, &format!("/faults/{id}"), None)
        .await;
    assert_eq!(status, 200);
    let (status, _) = emu
        .control(reqwest::Method::DELETE, &format!("/faults/{id}"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn one_numbers_limits_can_be_read_and_cleared() {
    let emu = TestEmulator::spawn().await;
    for _ in 0..11 {
        let _ = emu.register_pin(REGISTERED, "123456").await;
    }
    let limits = emu
        .control_get(&format!("/numbers/{REGISTERED}/limits"))
        .await;
    assert_eq!(limits["register"]["used"], 10);
    assert_eq!(limits["register"]["blocked_until"], "2026-11-28T12:00:00Z");
    assert_eq!(limits["register"]["next_slot_at"], "2026-11-28T12:00:00Z");
    assert_eq!(limits["deregister"]["used"], 0);
    let (status, cleared) = emu
        .control(
            reqwest::Method::DELETE,
            &format!("/numbers/{REGISTERED}/limits?operation=register"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    assert_eq!(cleared["register"]["used"], 0);
    assert_eq!(cleared["register"]["blocked_until"], Value::Null);
    assert_success(emu.register_pin(REGISTERED, "123456").await).await;
}

#[tokio::test]
async fn exhaust_the_limit_advance_72_hours_through_the_control_api_and_register_again() {
    let emu = TestEmulator::spawn().await;
    emu.exhaust_register_limit(REGISTERED).await;
    let (status, _) = emu.post("/clock", json!({"advance": "72h"})).await;
    assert_eq!(status, 200);
    assert_success(emu.register_pin(REGISTERED, "123456").await).await;
}

#[tokio::test]
async fn namespaces_isolate_parallel_tests() {
    let emu = TestEmulator::spawn().await;
    let (status, first) = emu.post("/namespaces", json!({})).await;
    assert_eq!(status, 201, "{first}");
    let (_, second) = emu.post("/namespaces", json!({})).await;
    assert_ne!(first["waba_id"], second["waba_id"]);
    let numbers = first["numbers"].as_array().unwrap();
    assert_eq!(numbers.len(), 6, "copies the first fixture WABA's numbers");
    let ready = numbers
        .iter()
        .find(|n| n["verified_name"] == "Ready To Register")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let token = first["token"].as_str().unwrap().to_owned();
    let register = |token: String, id: String| {
        emu.client
            .post(emu.url(&format!("/v23.0/{id}/register")))
            .bearer_auth(token)
            .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
            .send()
    };
    assert_success(register(token.clone(), ready.clone()).await.unwrap()).await;
    // The other namespace's token cannot see it; the fixtures are untouched.
    let other_token = second["token"].as_str().unwrap().to_owned();
    assert_error(
        register(other_token, ready.clone()).await.unwrap(),
        400,
        100,
        "GraphMethodException",
    )
    .await;
    assert_error(
        register(token.clone(), READY.to_owned()).await.unwrap(),
        400,
        100,
        "GraphMethodException",
    )
    .await;
    assert!(!emu.is_registered(READY));

    // A scoped reset puts only this namespace back.
    assert_success(emu.register_pin(READY, "123456").await).await;
    let namespace = first["namespace"].as_str().unwrap();
    let (status, reset) = emu
        .post(&format!("/reset?namespace={namespace}"), json!({}))
        .await;
    assert_eq!(status, 200, "{reset}");
    assert_eq!(
        emu.control_get(&format!("/numbers/{ready}")).await["registered"],
        false
    );
    assert!(emu.is_registered(READY));
    let (status, _) = emu
        .post(&format!("/namespaces/{namespace}/reset"), json!({}))
        .await;
    assert_eq!(status, 200);
    let (status, _) = emu
        .control(
            reqwest::Method::DELETE,
            &format!("/namespaces/{namespace}"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (status, _) = emu
        .control(reqwest::Method::GET, &format!("/numbers/{ready}"), None)
        .await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn control_errors_have_their_own_json_shape() {
    let emu = TestEmulator::spawn().await;
    let (status, body) = emu.control(reqwest::Method::GET, "/nope", None).await;
    assert_eq!(status, 404);
    assert_eq!(body["emulator_error"]["kind"], "not_found");
    assert!(body.get("error").is_none(), "never a Graph envelope");
    let response = emu
        .client
        .post(emu.url("/__emulator/clock"))
        .header("content-type", "application/json")
        .body("{broken")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["emulator_error"]["kind"], "invalid");
    let (status, body) = emu
        .control(reqwest::Method::PUT, "/clock", Some(json!({})))
        .await;
    assert_eq!(
        (status, body["emulator_error"]["kind"].as_str()),
        (405, Some("method_not_allowed"))
    );
}

#[tokio::test]
async fn a_control_body_must_be_a_json_object() {
    // Found by schemathesis: serde reads a JSON array as a struct (fields by position), so
    // `[null, null]` created a namespace.
    let emu = TestEmulator::spawn().await;
    for path in [
        "/namespaces",
        "/faults",
        "/clock",
        "/tokens",
        "/wabas",
        "/state",
    ] {
        let method = if path == "/state" {
            reqwest::Method::PUT
        } else {
            reqwest::Method::POST
        };
        let (status, body) = emu.control(method, path, Some(json!([null, null]))).await;
        assert_eq!(status, 400, "{path}: {body}");
        assert_eq!(body["emulator_error"]["kind"], "invalid", "{path}");
    }
    let (status, _) = emu
        .control(reqwest::Method::POST, "/namespaces", Some(json!({})))
        .await;
    assert_eq!(status, 201);
}

#[tokio::test]
async fn beyond_loopback_the_control_api_is_off_without_an_admin_token() {
    let emulator = wa_cloud_emulator::Emulator::builder()
        .listen(SocketAddr::from(([0, 0, 0, 0], 0)))
        .start()
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", emulator.addr().port());
    let client = reqwest::Client::new();
    let response = client
        .get(format!("{base}/__emulator/numbers"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 403);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["emulator_error"]["kind"], "disabled");
    // Health stays open for container checks.
    let response = client
        .get(format!("{base}/__emulator/health"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn a_configured_admin_token_is_required() {
    let emulator = wa_cloud_emulator::Emulator::builder()
        .listen(SocketAddr::from(([0, 0, 0, 0], 0)))
        .admin_token("s3cret")
        .start()
        .await
        .unwrap();
    let base = format!("http://127.0.0.1:{}", emulator.addr().port());
    let client = reqwest::Client::new();
    for token in [None, Some("wrong")] {
        let mut request = client.get(format!("{base}/__emulator/clock"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401);
    }
    let response = client
        .get(format!("{base}/__emulator/clock"))
        .bearer_auth("s3cret")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
}

#[tokio::test]
async fn the_openapi_document_describes_every_route() {
    let emu = TestEmulator::spawn().await;
    let document = emu.control_get("/openapi.json").await;
    let paths = document["paths"].as_object().unwrap();
    for (method, path) in wa_cloud_emulator::control::http::ROUTES {
        let full = format!("/__emulator{path}");
        assert!(
            paths
                .get(&full)
                .and_then(|item| item.get(*method))
                .is_some(),
            "{method} {full} is missing from the OpenAPI document"
        );
    }
    for (method, path) in wa_cloud_emulator::graph::handler::ROUTES {
        assert!(
            paths
                .get(*path)
                .and_then(|item| item.get(*method))
                .is_some(),
            "{method} {path} is missing from the OpenAPI document"
        );
    }
}

#[tokio::test]
async fn library_mode_offers_the_same_operations_without_http() {
    let emu = TestEmulator::spawn().await;
    let control = emu.emulator.control();
    assert_success(emu.register_pin(READY, "123456").await).await;
    assert!(control.get_number(READY).unwrap().registered);
    assert_eq!(control.journal(&Default::default()).len(), 1);
    control.reset().unwrap();
    assert!(!control.get_number(READY).unwrap().registered);
    control
        .change_clock(wa_cloud_emulator::control::ClockChange {
            advance: Some(json!("1h")),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        control.clock_view().now.to_rfc3339(),
        "2026-11-25T13:00:00+00:00"
    );
    let namespace = control.create_namespace(Default::default()).unwrap();
    assert_eq!(namespace.numbers.len(), 6);
}

#[tokio::test]
async fn a_pending_verification_code_can_be_read_and_used() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .post_json(
            &format!("/v23.0/{UNVERIFIED}/request_code"),
            json!({"code_method": "SMS", "language": "en_US"}),
        )
        .await;
    assert_success(response).await;
    let number = emu.control_get(&format!("/numbers/{UNVERIFIED}")).await;
    let pending = &number["pending_verification"];
    assert_eq!(pending["method"], "SMS");
    assert_eq!(pending["expired"], false);
    let code = pending["code"].as_str().unwrap().to_owned();
    assert_eq!(code.len(), 6);
    let response = emu
        .post_json(
            &format!("/v23.0/{UNVERIFIED}/verify_code"),
            json!({"code": code}),
        )
        .await;
    assert_success(response).await;
    let number = emu.control_get(&format!("/numbers/{UNVERIFIED}")).await;
    assert_eq!(number["code_verification_status"], "VERIFIED");
    // The journal never shows the code.
    let journal = emu
        .control_get("/journal?operation=verify_code")
        .await
        .to_string();
    assert!(!journal.contains(&code), "{journal}");
}

/// A copy of the default fixture in a file of its own, removed on drop.
struct FixtureFile(std::path::PathBuf);

impl FixtureFile {
    fn new(name: &str) -> Self {
        let path =
            std::env::temp_dir().join(format!("wa-emu-fixture-{name}-{}.json", std::process::id()));
        std::fs::write(&path, wa_cloud_emulator::fixtures::DEFAULT_FIXTURE).unwrap();
        Self(path)
    }
}

impl Drop for FixtureFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

#[tokio::test]
async fn a_large_fixture_file_is_read_again_on_reset() {
    // Arrange: every file counts as large, so only its path and digest are kept.
    let file = FixtureFile::new("reread");
    let emu = TestEmulator::spawn_with(|builder| {
        builder.fixtures_path(&file.0).keep_parsed_fixtures_up_to(0)
    })
    .await;
    assert!(matches!(
        emu.emulator.control().reset_target(),
        wa_cloud_emulator::fixtures::ResetTarget::File { .. }
    ));
    assert_success(emu.register_pin(READY, "123456").await).await;

    // Act
    let (status, body) = emu.control(reqwest::Method::POST, "/reset", None).await;

    // Assert: back to the file's state, and namespaces still copy its WABAs.
    assert_eq!((status, &body), (200, &json!({"reset": true})));
    assert!(!emu.is_registered(READY));
    let namespace = emu
        .emulator
        .control()
        .create_namespace(Default::default())
        .unwrap();
    assert_eq!(namespace.numbers.len(), 6);
}

#[tokio::test]
async fn reset_refuses_a_large_fixture_file_that_changed_or_vanished_and_changes_nothing() {
    let file = FixtureFile::new("changed");
    let emu = TestEmulator::spawn_with(|builder| {
        builder.fixtures_path(&file.0).keep_parsed_fixtures_up_to(0)
    })
    .await;
    assert_success(emu.register_pin(READY, "123456").await).await;
    // Same JSON meaning, different bytes: still refused (the digest is of the bytes).
    let edited = format!("{}\n", wa_cloud_emulator::fixtures::DEFAULT_FIXTURE);
    std::fs::write(&file.0, edited).unwrap();

    let (status, body) = emu.control(reqwest::Method::POST, "/reset", None).await;

    assert_eq!(status, 409, "{body}");
    assert_eq!(body["emulator_error"]["kind"], "fixtures_unavailable");
    let message = body["emulator_error"]["message"].as_str().unwrap();
    assert!(
        message.contains("changed since the emulator loaded it") && message.contains("restart"),
        "{message}"
    );
    assert!(emu.is_registered(READY), "the state is left as it was");
    let error = emu
        .emulator
        .control()
        .create_namespace(Default::default())
        .unwrap_err();
    assert_eq!(error.kind, "fixtures_unavailable");

    std::fs::remove_file(&file.0).unwrap();
    let error = emu.emulator.control().reset().unwrap_err();
    assert_eq!(error.kind, "fixtures_unavailable");
    assert!(
        error.message.contains("cannot read fixture file"),
        "{}",
        error.message
    );
    assert!(emu.is_registered(READY));
}

#[tokio::test]
async fn a_small_fixture_file_is_kept_parsed_so_reset_ignores_later_edits() {
    let file = FixtureFile::new("small");
    let emu = TestEmulator::spawn_with(|builder| builder.fixtures_path(&file.0)).await;
    assert!(matches!(
        emu.emulator.control().reset_target(),
        wa_cloud_emulator::fixtures::ResetTarget::Document(_)
    ));
    assert_success(emu.register_pin(READY, "123456").await).await;
    std::fs::remove_file(&file.0).unwrap();

    emu.emulator.control().reset().unwrap();

    assert!(!emu.is_registered(READY));
}
