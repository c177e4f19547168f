//! Webhooks as Meta sends them: the handshake, signed deliveries with retries on the
//! emulator's clock, a delivery log, delivery faults, and a receiver for Rust tests.
//!
//! This module knows nothing of apps, subscriptions or routing: the caller decides which
//! callback gets which event and with which secret, writes the body, and hands it over.
//!
//! - [`to_meta_json`] writes JSON as Meta does (compact, `\uXXXX` for non-ASCII, `\/`);
//!   [`Envelope`] is the `{"object":…,"entry":[…]}` around every payload.
//! - [`sign`] / [`verify`]: `X-Hub-Signature-256`.
//! - [`verify_callback`] (or [`WebhookEngine::handshake`]): the `hub.challenge` handshake,
//!   failing with the detail of Graph's `#2200` error.
//! - [`WebhookEngine`]: `enqueue` a [`Delivery`] (never waits), retries on the
//!   [schedule](attempt_due) judged by the emulator's [`Clock`](crate::clock::Clock), the log
//!   (`deliveries`, `redeliver`, `clear`), delivery faults (`arm_fault`), `shutdown`.
//! - [`Receiver`]: a callback server for tests.
//!
//! ```
//! use std::sync::Arc;
//! use std::time::Duration;
//! use serde_json::json;
//! use wa_cloud_emulator::Clock;
//! use wa_cloud_emulator::webhooks::{
//!     Delivery, DeliveryFilter, Envelope, Receiver, WebhookConfig, WebhookEngine,
//! };
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() {
//! let clock = Arc::new(Clock::manual("2026-01-01T00:00:00Z".parse().unwrap()));
//! let engine = WebhookEngine::new(Arc::clone(&clock), WebhookConfig::default());
//! let receiver = Receiver::start("app-secret", "verify-me").await.unwrap();
//! engine.handshake(&receiver.url(), "verify-me", 1_158_201_444).await.unwrap();
//!
//! let body = Envelope::single("102290129340398", "account_update",
//!     json!({"event": "ACCOUNT_RECONNECTED"}), clock.now()).to_body();
//! let id = engine.enqueue(Delivery {
//!     app_id: "1".into(), url: receiver.url(), secret: "app-secret".into(),
//!     field: "account_update".into(), number_id: None,
//!     waba_id: Some("102290129340398".into()), body,
//! });
//! let received = receiver.wait_for(1, Duration::from_secs(10)).await.unwrap();
//! assert!(received[0].signature_valid);
//! engine.settled().await;
//! assert_eq!(engine.deliveries(&DeliveryFilter::default())[0].id, id);
//! engine.shutdown().await;
//! # }
//! ```

mod engine;
mod envelope;
mod faults;
mod handshake;
mod json;
mod log;
mod receiver;
mod schedule;
mod signature;

pub use engine::{
    DEFAULT_DELIVERY_TIMEOUT, DEFAULT_LOG_CAPACITY, DEFAULT_MAX_CONCURRENT_CALLBACKS,
    DEFAULT_QUEUE_CAPACITY_PER_CALLBACK, Delivery, RedeliverError, WebhookConfig, WebhookEngine,
};
pub use envelope::{Change, Entry, Envelope, WABA_OBJECT, entry_time};
pub use faults::{
    ArmedDeliveryFault, DELIVERY_FAULT_MAX_DELAY_MS, DeliveryFaultError, DeliveryFaultKind,
    DeliveryFaultSpec, DeliveryFaults, FaultTarget, TriggeredDeliveryFault,
};
pub use handshake::{
    DEFAULT_HANDSHAKE_TIMEOUT, HandshakeFailure, WEBHOOK_USER_AGENT, curl_error_text,
    handshake_url, status_text, verify_callback,
};
pub use json::{to_meta_json, try_to_meta_json};
pub use log::{AttemptRecord, DeliveryFilter, DeliveryRecord, DeliveryState, MAX_ATTEMPTS_KEPT};
pub use receiver::{
    HandshakeAnswer, RECEIVER_PATH, ReceivedDelivery, ReceivedHandshake, Receiver, WaitTimedOut,
};
pub use schedule::{RETRY_WINDOW, attempt_due, catch_up, next_attempt};
pub use signature::{SIGNATURE_HEADER, sign, verify};
