//! Spawning emulators and calling them like a partner app would.

use chrono::{DateTime, Utc};
use reqwest::{Client, Response};
use serde_json::{Value, json};
use wa_cloud_emulator::{Emulator, EmulatorBuilder, RunningEmulator};

/// Token of the default fixture with every permission on every WABA.
pub const TOKEN: &str = "EAAEmulatorDevToken";
/// Verified, unregistered, no PIN.
pub const READY: &str = "106540352242922";
/// Not verified.
pub const UNVERIFIED: &str = "106540352242923";
/// Registered with PIN 123456.
pub const REGISTERED: &str = "106540352242924";
/// Registered with PIN 654321 and region DE.
pub const REGISTERED_DE: &str = "106540352242925";
/// Verified, unregistered, PIN 111111.
pub const WITH_PIN: &str = "106540352242926";
/// Registered coexistence number.
pub const COEXISTENCE: &str = "106540352242927";
/// The only number of the second WABA.
pub const OTHER_WABA_NUMBER: &str = "106540352242930";

/// The instant every test emulator's manual clock starts at.
pub fn start_instant() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
        .unwrap()
        .to_utc()
}

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

    /// `POST /v23.0/{id}/deregister` without a body.
    pub async fn deregister(&self, id: &str) -> Response {
        self.client
            .post(self.url(&format!("/v23.0/{id}/deregister")))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap()
    }

    /// Whether a number is registered, read in-process.
    pub fn is_registered(&self, id: &str) -> bool {
        self.emulator.state().world.number(id).unwrap().registered
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
