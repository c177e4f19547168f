use chrono::{DateTime, Utc};

use super::{
    AccountMode, MessagingLimitTier, NameStatus, PendingVerification, Pin, QualityRating, Region,
    SlidingWindow,
};

/// Ownership verification state (`code_verification_status` on the Graph node).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CodeVerificationStatus {
    /// Ownership verified: the number may register.
    Verified,
    /// Never verified (the value the live API returns for new numbers).
    NotVerified,
    /// A previous verification expired.
    Expired,
}

impl CodeVerificationStatus {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Verified => "VERIFIED",
            Self::NotVerified => "NOT_VERIFIED",
            Self::Expired => "EXPIRED",
        }
    }
}

/// Consecutive two-step PIN mismatches and the lock they may have triggered.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PinLockout {
    /// Mismatches since the last success, PIN change or lock expiry.
    pub consecutive_failures: u32,
    /// While set and in the future, every register answers "too many guesses".
    pub locked_until: Option<DateTime<Utc>>,
}

/// Everything the emulator knows about one business phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    /// Graph id of the number (digits).
    pub id: String,
    /// The WhatsApp Business Account the number belongs to.
    pub waba_id: String,
    /// Human-readable number, e.g. `+1 555-0100`.
    pub display_phone_number: String,
    /// The approved display name.
    pub verified_name: String,
    /// Ownership verification state.
    pub verification: CodeVerificationStatus,
    /// The two-step verification PIN, when two-step verification is on.
    pub pin: Option<Pin>,
    /// PIN-guess lockout state.
    pub pin_lockout: PinLockout,
    /// Registered on the Cloud API.
    pub registered: bool,
    /// Local-storage region; `None` means default storage.
    pub region: Option<Region>,
    /// Shared with the WhatsApp Business app (coexistence): deregister is refused.
    pub coexistence: bool,
    /// Sliding-window log of register requests.
    pub register_window: SlidingWindow,
    /// Sliding-window log of deregister requests.
    pub deregister_window: SlidingWindow,
    /// The code `request_code` sent and `verify_code` expects, if any.
    pub pending_verification: Option<PendingVerification>,
    /// Added with `migrate_phone_number`: still on On-Premises, register needs `backup`.
    pub migration_pending: bool,
    /// `quality_rating`.
    pub quality_rating: QualityRating,
    /// `name_status`.
    pub name_status: NameStatus,
    /// `account_mode`.
    pub account_mode: AccountMode,
    /// `messaging_limit_tier`.
    pub messaging_limit_tier: MessagingLimitTier,
    /// When the number last went from unregistered to registered.
    pub last_onboarded_time: Option<DateTime<Utc>>,
    /// When the number was added (`None` for fixture numbers that do not say).
    pub creation_time: Option<DateTime<Utc>>,
}

impl PhoneNumber {
    /// A new, unverified, unregistered number without a PIN (quality `GREEN`, name
    /// `APPROVED`, `LIVE`, `TIER_250`).
    pub fn new(id: impl Into<String>, waba_id: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            waba_id: waba_id.into(),
            display_phone_number: String::new(),
            verified_name: String::new(),
            verification: CodeVerificationStatus::NotVerified,
            pin: None,
            pin_lockout: PinLockout::default(),
            registered: false,
            region: None,
            coexistence: false,
            register_window: SlidingWindow::default(),
            deregister_window: SlidingWindow::default(),
            pending_verification: None,
            migration_pending: false,
            quality_rating: QualityRating::Green,
            name_status: NameStatus::Approved,
            account_mode: AccountMode::Live,
            messaging_limit_tier: MessagingLimitTier::Tier250,
            last_onboarded_time: None,
            creation_time: None,
        }
    }

    /// Sets or replaces the two-step PIN and clears any guess lockout.
    pub fn set_pin(&mut self, pin: Pin) {
        self.pin = Some(pin);
        self.pin_lockout = PinLockout::default();
    }
}
