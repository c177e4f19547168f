//! Rule 1 (routing and versions) and rule 9 (envelope and headers).

use chrono::DateTime;
use serde_json::json;

use crate::helpers::*;

#[tokio::test]
async fn a_live_version_is_served_and_named_in_the_header() {
    let emu = TestEmulator::spawn().await;
    let response = emu.register_pin(READY, "123456").await;
    assert_eq!(response.headers()["facebook-api-version"], "v23.0");
    assert_success(response).await;
}

#[tokio::test]
async fn an_expired_version_is_served_by_the_oldest_usable_one() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .post_json(
            &format!("/v18.0/{READY}/register"),
            json!({"messaging_product": "whatsapp", "pin": "123456"}),
        )
        .await;
    assert_eq!(response.headers()["facebook-api-version"], "v21.0");
    assert_success(response).await;
    assert!(emu.is_registered(READY));
}

#[tokio::test]
async fn an_unversioned_path_uses_the_newest_version() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .post_json(
            &format!("/{READY}/register"),
            json!({"messaging_product": "whatsapp", "pin": "123456"}),
        )
        .await;
    assert_eq!(response.headers()["facebook-api-version"], "v26.0");
    assert_success(response).await;
}

#[tokio::test]
async fn every_real_version_back_to_v2_is_served_by_the_oldest_usable_one() {
    let emu = TestEmulator::spawn().await;
    for version in ["v2.0", "v3.3", "v15.0", "v20.0"] {
        let response = emu
            .client
            .get(emu.url(&format!("/{version}/{READY}?fields=status")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{version}");
        assert_eq!(
            response.headers()["facebook-api-version"],
            "v21.0",
            "{version}"
        );
    }
}

#[tokio::test]
async fn unknown_versions_are_unknown_path_components() {
    let emu = TestEmulator::spawn().await;
    // Captured: `Unknown path components: /v99.0/<id>/messages` names the version too.
    for version in ["v99.0", "v1.0", "v15.1", "v23", "v23.1"] {
        let response = emu
            .post_json(&format!("/{version}/{READY}/register"), json!({}))
            .await;
        let error = assert_bad_request(response, 2500).await;
        assert_eq!(
            error["message"],
            format!("Unknown path components: /{version}/{READY}/register")
        );
        assert!(error.get("error_data").is_none());
    }
    assert!(!emu.is_registered(READY));
}

#[tokio::test]
async fn a_version_is_unknown_before_its_release_date() {
    let before_v26 = DateTime::parse_from_rfc3339("2026-07-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let emu = TestEmulator::spawn_with(|b| b.manual_clock(before_v26)).await;
    let response = emu
        .post_json(&format!("/v26.0/{READY}/register"), json!({}))
        .await;
    assert_bad_request(response, 2500).await;
    let response = emu
        .post_json(
            &format!("/v25.0/{READY}/register"),
            json!({"messaging_product": "whatsapp", "pin": "123456"}),
        )
        .await;
    assert_success(response).await;
}

#[tokio::test]
async fn unknown_edges_and_paths_are_graph_errors_not_plain_text() {
    let emu = TestEmulator::spawn().await;
    let cases = [
        (
            format!("/v23.0/{READY}/registr"),
            "Unknown path components: /registr",
        ),
        (
            format!("/v23.0/{READY}/register/more"),
            "Unknown path components: /more",
        ),
        ("/".to_owned(), "Unknown path components: /"),
        ("/v23.0".to_owned(), "Unknown path components: /"),
        // Only `/__emulator` and below is the control API; a look-alike is a Graph path.
        (
            "/__emulatorx/health".to_owned(),
            "Unknown path components: /health",
        ),
    ];
    for (path, message) in cases {
        let response = emu.post_json(&path, json!({})).await;
        let error = assert_bad_request(response, 2500).await;
        assert_eq!(error["message"], message, "{path}");
    }
}

#[tokio::test]
async fn wrong_methods_are_unsupported_requests() {
    let emu = TestEmulator::spawn().await;
    for (method, word) in [
        (reqwest::Method::GET, "get"),
        (reqwest::Method::PUT, "put"),
        (reqwest::Method::DELETE, "delete"),
    ] {
        let response = emu
            .client
            .request(method, emu.url(&format!("/v23.0/{READY}/register")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        let error = assert_error(response, 400, 100, "GraphMethodException").await;
        assert_eq!(error["error_subcode"], 33);
        assert_eq!(
            error["message"],
            format!(
                "Unsupported {word} request. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
            )
        );
    }
}

#[tokio::test]
async fn an_unknown_number_is_an_unsupported_post_request() {
    let emu = TestEmulator::spawn().await;
    let response = emu.register_pin("999999999", "123456").await;
    let error = assert_error(response, 400, 100, "GraphMethodException").await;
    assert_eq!(error["error_subcode"], 33);
    assert_eq!(
        error["message"],
        "Unsupported post request. Object with ID '999999999' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
    );
}

#[tokio::test]
async fn every_response_carries_meta_headers_and_the_trace_id_matches() {
    let emu = TestEmulator::spawn().await;
    let ok = emu.register_pin(READY, "123456").await;
    let failed = emu.register_pin(READY, "000000").await;
    for response in [ok, failed] {
        let headers = response.headers().clone();
        assert_eq!(headers["content-type"], "application/json; charset=UTF-8");
        assert_eq!(headers["facebook-api-version"], "v23.0");
        assert_eq!(headers["x-fb-trace-id"].len(), 11);
        assert_eq!(headers["access-control-allow-origin"], "*");
        assert!(
            headers["x-business-use-case-usage"]
                .to_str()
                .unwrap()
                .starts_with("{\"102290129340398\":")
        );
        let request_id = headers["x-fb-request-id"].to_str().unwrap().to_owned();
        assert_eq!(request_id.len(), 23);
        let status = response.status();
        let body = response.text().await.unwrap();
        if status == 200 {
            assert_eq!(body, r#"{"success":true}"#);
        } else {
            let value: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(value["error"]["fbtrace_id"], request_id);
            assert_eq!(
                headers["www-authenticate"],
                "OAuth \"Facebook Platform\" \"invalid_request\" \"(#133005) Two step verification PIN Mismatch\""
            );
        }
    }
}

#[tokio::test]
async fn head_answers_headers_without_a_body() {
    // Graph answers GET and POST on a node; HEAD gets the same error a DELETE would, but as
    // HEAD demands, without the body.
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .head(emu.url(&format!("/v23.0/{READY}")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["facebook-api-version"], "v23.0");
    assert_ne!(response.headers()["content-length"], "0");
    assert!(response.headers().contains_key("x-fb-request-id"));
    assert!(response.bytes().await.unwrap().is_empty());
}

#[tokio::test]
async fn head_over_http2_answers_headers_without_a_body() {
    // HTTP/1 drops a HEAD answer's body by itself; over HTTP/2 the server must send none, or
    // clients reset the stream.
    use http_body_util::{BodyExt, Empty};
    let emu = TestEmulator::spawn().await;
    let stream = tokio::net::TcpStream::connect(emu.emulator.addr())
        .await
        .unwrap();
    let (mut sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    tokio::spawn(connection);
    let request = hyper::Request::head(format!("http://{}/v23.0/{READY}", emu.emulator.addr()))
        .header("authorization", format!("Bearer {TOKEN}"))
        .body(Empty::<bytes::Bytes>::new())
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.version(), hyper::Version::HTTP_2);
    assert_eq!(response.status(), 400);
    assert_eq!(response.headers()["facebook-api-version"], "v23.0");
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert!(body.is_empty(), "{body:?}");
}

#[tokio::test]
async fn the_method_parameter_runs_the_call_as_that_method() {
    let emu = TestEmulator::spawn().await;
    // The JavaScript SDK's form: a GET carrying method=post and every parameter in the query.
    let response = emu
        .client
        .get(emu.url(&format!(
            "/v23.0/{READY}/register?method=post&messaging_product=whatsapp&pin=123456"
        )))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    assert_success(response).await;
    assert!(emu.is_registered(READY));
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{READY}?method=DELETE")))
        .bearer_auth(TOKEN)
        .send()
        .await
        .unwrap();
    let error = assert_error(response, 400, 100, "GraphMethodException").await;
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .starts_with("Unsupported delete request.")
    );
}

#[tokio::test]
async fn suppress_http_code_answers_errors_with_200() {
    let emu = TestEmulator::spawn().await;
    let response = emu
        .client
        .post(emu.url(&format!("/v23.0/{READY}/register?suppress_http_code=1")))
        .bearer_auth("EAAunknown")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers().contains_key("www-authenticate"));
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], 190);
    // Unknown paths too; and without the parameter, the usual status.
    let response = emu
        .post_json("/v99.0/1/register?suppress_http_code=1", json!({}))
        .await;
    assert_eq!(response.status(), 200);
    let response = emu
        .post_json("/v99.0/1/register?suppress_http_code=0", json!({}))
        .await;
    assert_eq!(response.status(), 400);
}
