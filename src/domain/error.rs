use chrono::{DateTime, TimeDelta, Utc};

use super::Region;

/// A business-rule failure. Carries what the client needs to know and nothing about HTTP;
/// `crate::graph::error` turns each variant into Meta's code, status and message.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DomainError {
    /// The PIN is not exactly six ASCII digits.
    #[error("the PIN must be exactly 6 digits")]
    InvalidPin,
    /// `data_localization_region` is not one of the supported codes.
    #[error("unsupported data localization region {0:?}")]
    InvalidRegion(String),
    /// Ownership of the number was never verified (or the verification expired).
    #[error("the phone number must be verified before it can be registered")]
    NotVerified,
    /// Two-step verification is on and the PIN does not match.
    #[error("two-step verification PIN mismatch")]
    PinMismatch,
    /// Too many consecutive PIN mismatches: locked until `until`.
    #[error("too many two-step verification PIN guesses; retry after {until}")]
    PinLocked {
        /// When the lock ends.
        until: DateTime<Utc>,
        /// How long is left at the moment of the request.
        remaining: TimeDelta,
    },
    /// A registered number's local-storage region cannot change.
    #[error("data localization region cannot change while the number is registered")]
    RegionChangeWhileRegistered {
        /// The region the number uses now (`None`: default storage).
        current: Option<Region>,
        /// The region the request asked for.
        requested: Region,
    },
    /// Deregister on a number that is not registered.
    #[error("phone number not registered on the WhatsApp Business Platform")]
    NotRegistered,
    /// Deregister on a number shared with the WhatsApp Business app (coexistence).
    #[error(
        "deregister is not available for numbers in coexistence with the WhatsApp Business app"
    )]
    CoexistenceDeregister,
    /// The per-number, per-operation limit was hit; blocked until `until`.
    #[error("register/deregister rate limit exceeded; blocked until {until}")]
    RateLimited {
        /// When the block ends.
        until: DateTime<Utc>,
    },
}
