//! What every test crate shares: the default fixture's objects and the clock's start.
//!
//! Included with `mod common;` (or `#[path]` from a subfolder); each crate uses a part of it.
#![allow(dead_code)]

use chrono::{DateTime, Utc};

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

/// The first WABA of the default fixture (six numbers).
pub const WABA: &str = "102290129340398";
/// The second WABA of the default fixture.
pub const OTHER_WABA: &str = "102290129340399";
/// Token with only `whatsapp_business_management`.
pub const MANAGEMENT_ONLY_TOKEN: &str = "EAAEmulatorManagementOnlyToken";
/// Token limited to the second WABA.
pub const OTHER_WABA_TOKEN: &str = "EAAEmulatorOtherWabaToken";
/// Token with only `whatsapp_business_messaging` (added by `spawn_with_messaging_only_token`).
pub const MESSAGING_ONLY_TOKEN: &str = "EAAEmulatorMessagingOnlyToken";

/// The instant every test emulator's manual clock starts at.
pub fn start_instant() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
        .unwrap()
        .to_utc()
}

/// The default fixtures' partner app.
pub const APP_ID: &str = "880000000000001";
/// Its secret.
pub const APP_SECRET: &str = "0e1d2c3b4a5968778695a4b3c2d1e0f0";
