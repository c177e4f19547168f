use chrono::{DateTime, TimeDelta, Utc};

use super::Region;

/// The Graph error codes the emulator can answer on demand (fault injection), from Meta's
/// Cloud API error-codes table. The Graph layer holds each code's status and texts
/// (`GraphError::catalog`); a test there checks that it answers every code listed here.
pub const CATALOG_CODES: [u32; 24] = [
    1, 2, 3, 4, 10, 100, 190, 200, 368, 80007, 80008, 130429, 131000, 131005, 131031, 133000,
    133004, 133005, 133006, 133008, 133009, 133010, 133015, 133016,
];

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
        /// The configured window the requests were counted in (Meta: 72 hours).
        window: TimeDelta,
    },
    /// `verify_code` with something that is not six digits.
    #[error("the verification code must be 6 digits")]
    MalformedVerificationCode,
    /// `verify_code` without a pending code.
    #[error("no verification code is pending")]
    NoVerificationCodeRequested,
    /// `verify_code` after the pending code expired.
    #[error("the verification code expired at {expired_at}")]
    VerificationCodeExpired {
        /// When it expired.
        expired_at: DateTime<Utc>,
    },
    /// `verify_code` with another code than the pending one.
    #[error("the verification code is incorrect")]
    WrongVerificationCode,
    /// `/settings` storage change on a registered number.
    #[error("local storage can only be changed on an unregistered phone number")]
    LocalStorageWhileRegistered,
    /// `/settings` storage change on a coexistence number.
    #[error("local storage is not available for coexistence numbers")]
    LocalStorageCoexistence,
    /// `cc` is not a country calling code.
    #[error("invalid country code {0:?}")]
    InvalidCountryCode(String),
    /// `phone_number` is not a phone number.
    #[error("invalid phone number {0:?}")]
    InvalidPhoneNumber(String),
    /// `verified_name` is not 2 to 75 characters.
    #[error("verified_name has {chars} characters, not 2 to 75")]
    InvalidVerifiedName {
        /// Its length in characters.
        chars: usize,
    },
    /// The number is already in a WABA.
    #[error("phone number {display} already exists")]
    DuplicateNumber {
        /// The number as added, `+CC NUMBER`.
        display: String,
    },
    /// Register of a number awaiting migration without `backup`.
    #[error("a migrating number needs backup to register")]
    BackupRequired,
    /// `language` for `request_code` is not `xx` or `xx_XX`.
    #[error("invalid language {0:?}")]
    InvalidLanguage(String),
}
