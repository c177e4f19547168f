//! Spawning emulators and calling them like a partner app would.

use reqwest::{Client, Response};
use serde_json::{Value, json};
use wa_cloud_emulator::{Emulator, EmulatorBuilder, RunningEmulator};

pub use crate::common::*;

/// A running emulator plus a client.
pub struct TestEmulator {
    pub emulator: RunningEmulator,
    pub client: Client,
}

impl TestEmulator {
    /// Default fixtures on a manual clock.
    pub async fn spawn() -> Self {
        Self::spawn_with(|builder| builder).await
    }

    /// Customised builder (manual clock already set).
    pub async fn spawn_with(configure: impl FnOnce(EmulatorBuilder) -> EmulatorBuilder) -> Self {
        let builder = configure(Emulator::builder().manual_clock(start_instant()));
        let emulator = builder.start().await.expect("emulator starts");
        Self {
            emulator,
            client: Client::new(),
        }
    }

    /// Absolute URL for a path.
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.emulator.uri())
    }

    /// POST JSON with the default bearer token.
    pub async fn post_json(&self, path: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// `POST /v23.0/{id}/register` with a JSON body.
    pub async fn register(&self, id: &str, body: Value) -> Response {
        self.post_json(&format!("/v23.0/{id}/register"), body).await
    }

    /// Register with `messaging_product` and `pin`.
    pub async fn register_pin(&self, id: &str, pin: &str) -> Response {
        self.register(id, json!({"messaging_product": "whatsapp", "pin": pin}))
            .await
    }

    /// Register `id` with PIN 123456 using another token than the default one.
    pub async fn register_as(&self, token: &str, id: &str) -> Response {
        self.client
            .post(self.url(&format!("/v23.0/{id}/register")))
            .bearer_auth(token)
            .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
            .send()
            .await
            .unwrap()
    }

    /// `POST /v23.0/{id}/deregister` without a body.
    pub async fn deregister(&self, id: &str) -> Response {
        self.client
            .post(self.url(&format!("/v23.0/{id}/deregister")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    }

    /// Registers `id` (PIN 123456) until its limit of ten is spent, checking each answer, and
    /// checks that the next register is refused with 133016.
    pub async fn exhaust_register_limit(&self, id: &str) {
        for attempt in 1..=10 {
            let response = self.register_pin(id, "123456").await;
            assert_eq!(response.status(), 200, "register {attempt} of 10 on {id}");
        }
        assert_bad_request(self.register_pin(id, "123456").await, 133016).await;
    }

    /// A control-API call (`/__emulator` + `path`): status and JSON body.
    pub async fn control_json(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self
            .client
            .request(method, self.url(&format!("/__emulator{path}")));
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text)
            .unwrap_or_else(|_| panic!("JSON from /__emulator{path}: {text}"));
        (status, body)
    }

    /// Creates a namespace (a copy of the first fixture WABA's numbers) and returns it.
    pub async fn create_namespace(&self) -> Value {
        let (status, namespace) = self
            .control_json(reqwest::Method::POST, "/namespaces", Some(json!({})))
            .await;
        assert_eq!(status, 201, "{namespace}");
        namespace
    }

    /// Whether a number is registered, read in-process.
    pub fn is_registered(&self, id: &str) -> bool {
        self.emulator.state().number(id).unwrap().registered
    }
}

/// Asserts a `{"success":true}` answer.
pub async fn assert_success(response: Response) {
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "body: {body}");
    assert_eq!(body, r#"{"success":true}"#);
}

/// Asserts a Graph error: status, code, type; returns the `error` object.
pub async fn assert_error(response: Response, status: u16, code: u64, kind: &str) -> Value {
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=UTF-8"
    );
    let actual = response.status().as_u16();
    let body: Value = response.json().await.expect("a JSON body");
    assert_eq!(actual, status, "body: {body}");
    let error = body["error"].clone();
    assert_eq!(error["code"], code, "body: {body}");
    assert_eq!(error["type"], kind, "body: {body}");
    let trace = error["fbtrace_id"].as_str().expect("fbtrace_id");
    assert_eq!(trace.len(), 23);
    error
}

/// A 400 Graph error (`OAuthException`, as Meta types the WhatsApp and parameter errors) with
/// `code`; returns the `error` object.
pub async fn assert_bad_request(response: Response, code: u64) -> Value {
    assert_error(response, 400, code, "OAuthException").await
}

impl TestEmulator {
    /// Default fixtures plus [`MESSAGING_ONLY_TOKEN`].
    pub async fn spawn_with_messaging_only_token() -> Self {
        let mut document = wa_cloud_emulator::FixtureDocument::embedded_default();
        document
            .tokens
            .push(wa_cloud_emulator::fixtures::TokenFixture {
                value: MESSAGING_ONLY_TOKEN.to_owned(),
                permissions: vec!["whatsapp_business_messaging".to_owned()],
                wabas: vec!["*".to_owned()],
                ..Default::default()
            });
        Self::spawn_with(|builder| builder.fixtures(document)).await
    }

    /// GET with the default token.
    pub async fn get(&self, path: &str) -> Response {
        self.get_with(path, TOKEN).await
    }

    /// GET with another token.
    pub async fn get_with(&self, path: &str, token: &str) -> Response {
        self.client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
    }

    /// POST JSON with another token.
    pub async fn post_json_with(&self, path: &str, token: &str, body: Value) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(token)
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    /// POST a form-urlencoded body with the default token.
    pub async fn post_form(&self, path: &str, fields: &[(&str, &str)]) -> Response {
        self.client
            .post(self.url(path))
            .bearer_auth(TOKEN)
            .form(fields)
            .send()
            .await
            .unwrap()
    }

    /// A copy of a number's state, read in-process.
    pub fn number(&self, id: &str) -> wa_cloud_emulator::domain::PhoneNumber {
        self.emulator.state().number(id).unwrap()
    }

    /// The pending verification code of a number, read in-process.
    pub fn pending_code(&self, id: &str) -> String {
        self.number(id)
            .pending_verification()
            .expect("a pending verification code")
            .code
            .expose()
            .to_owned()
    }

    /// `POST /v23.0/{id}/request_code` with SMS and `en_US`.
    pub async fn request_code(&self, id: &str) -> Response {
        self.post_json(
            &format!("/v23.0/{id}/request_code"),
            json!({"code_method": "SMS", "language": "en_US"}),
        )
        .await
    }

    /// `POST /v23.0/{id}/verify_code` with a code.
    pub async fn verify_code(&self, id: &str, code: &str) -> Response {
        self.post_json(&format!("/v23.0/{id}/verify_code"), json!({"code": code}))
            .await
    }

    /// `GET /v23.0/{id}` with `fields`, expecting 200; the JSON body.
    pub async fn read_fields(&self, id: &str, fields: &str) -> Value {
        assert_json(self.get(&format!("/v23.0/{id}?fields={fields}")).await).await
    }
}

/// Asserts a 200 JSON answer with Meta's content type; returns the body.
pub async fn assert_json(response: Response) -> Value {
    assert_eq!(
        response.headers()["content-type"],
        "application/json; charset=UTF-8"
    );
    let status = response.status();
    let body = response.text().await.unwrap();
    assert_eq!(status, 200, "body: {body}");
    serde_json::from_str(&body).expect("a JSON body")
}

/// Asserts a `(#100) Invalid parameter` answer and returns its `error_data.details`.
pub async fn assert_invalid_parameter(response: Response) -> String {
    let error = assert_error(response, 400, 100, "OAuthException").await;
    assert_eq!(error["message"], "(#100) Invalid parameter");
    assert_eq!(error["error_data"]["messaging_product"], "whatsapp");
    error["error_data"]["details"].as_str().unwrap().to_owned()
}

/// Asserts `(#100) The parameter NAME is required.`
pub async fn assert_missing_parameter(response: Response, name: &str) {
    let error = assert_error(response, 400, 100, "OAuthException").await;
    assert_eq!(
        error["message"],
        format!("(#100) The parameter {name} is required.")
    );
}

/// Asserts the 100/33 unknown-object error for `method` (`get`/`post`) on `id`.
pub async fn assert_unknown_object(response: Response, method: &str, id: &str) {
    let error = assert_error(response, 400, 100, "GraphMethodException").await;
    assert_eq!(error["error_subcode"], 33);
    assert_eq!(
        error["message"],
        format!(
            "Unsupported {method} request. Object with ID '{id}' does not exist, cannot be loaded due to missing permissions, or does not support this operation. Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api"
        )
    );
}
