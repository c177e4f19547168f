//! A local emulator of the WhatsApp Business Cloud API phone-number registration endpoints
//! (`POST /{version}/{PHONE_NUMBER_ID}/register` and `/deregister`) and the lifecycle around
//! them (adding and listing numbers, `request_code`/`verify_code`, the two-step PIN, reading a
//! number, local storage through `/settings`, On-Premises migration), faithful to Meta's Graph
//! API wire contract: paths and versions, tokens, parameters, error envelopes and codes,
//! headers, the two-step PIN, local storage and the 10-per-72-hours limit.
//!
//! Use the binary (`wa-cloud-emulator`, see the README), or start one per test in-process.
//! A complete test: register, exhaust the 10-per-72-hours limit, travel 72 hours, register
//! again.
//!
//! ```
//! use serde_json::json;
//! use wa_cloud_emulator::{Emulator, control::ClockChange};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let emulator = Emulator::builder()
//!     .manual_clock("2026-11-25T12:00:00Z".parse().unwrap())
//!     .start() // binds 127.0.0.1 on a free port before returning
//!     .await
//!     .unwrap();
//! let register_url = format!("{}/v23.0/106540352242922/register", emulator.uri());
//! let client = reqwest::Client::new();
//! let register = || {
//!     client
//!         .post(&register_url)
//!         .bearer_auth("EAAEmulatorDevToken")
//!         .json(&json!({"messaging_product": "whatsapp", "pin": "123456"}))
//!         .send()
//! };
//!
//! for _ in 0..10 {
//!     assert_eq!(register().await.unwrap().status(), 200);
//! }
//! let blocked: serde_json::Value = register().await.unwrap().json().await.unwrap();
//! assert_eq!(blocked["error"]["code"], 133016);
//!
//! // The same control operations as the HTTP control API, as plain calls.
//! let control = emulator.control();
//! assert_eq!(control.limits("106540352242922").unwrap().register.used, 10);
//! control
//!     .change_clock(ClockChange { advance: Some(json!("72h")), ..Default::default() })
//!     .unwrap();
//! assert_eq!(register().await.unwrap().status(), 200);
//!
//! drop(emulator); // stops the server
//! # }
//! ```
//!
//! Layout (`docs/ARCHITECTURE.md` has the map and the layer rules): [`domain`] holds the pure
//! rules (no HTTP, `now` is an argument); [`state`] owns the live state behind one boundary;
//! [`graph`] is the wire layer (versions, auth, parameters, the error table, headers);
//! [`control`] the control API; [`store`] the opt-in persistence (`--data-dir`); [`server`] the
//! builder and the one door every request goes through; [`clock`] the only place that reads
//! the system time.

pub mod armed;
pub mod cli;
pub mod clock;
pub mod config;
pub mod control;
pub mod domain;
pub mod fixtures;
pub mod graph;
pub mod probe;
pub mod server;
pub mod state;
pub mod store;
pub mod telemetry;
pub mod tls;
pub mod webhooks;

pub use cli::Cli;
pub use clock::Clock;
pub use config::Config;
pub use fixtures::FixtureDocument;
pub use server::{Emulator, EmulatorBuilder, RunningEmulator, StartError};
