//! Webhooks as Meta sends them: the handshake, signed deliveries with retries on the
//! emulator's clock, a delivery log, delivery faults, and a receiver for Rust tests.
//!
//! This module knows nothing of apps, subscriptions or routing: the caller decides which
//! callback gets which event and with which secret, writes the body, and hands it over.
//!
//! - [`to_meta_json`] writes JSON as Meta does (compact, `\uXXXX` for non-ASCII, `\/`);
//!   [`Envelope`] is the `{"object":…,"entry":[…]}` around every payload.
//! - [`sign`] / [`verify`]: `X-Hub-Signature-256`.
//! - [`verify_callback`]: the `hub.challenge` handshake,
//!   failing with the detail of Graph's `#2200` error.
//! - [`attempt_due`]: the retry schedule; [`DeliveryFaults`]: the delivery faults.

mod envelope;
mod faults;
mod handshake;
mod json;
mod schedule;
mod signature;

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
pub use schedule::{RETRY_WINDOW, attempt_due, next_attempt};
pub use signature::{SIGNATURE_HEADER, sign, verify};
