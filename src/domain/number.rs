use std::sync::Arc;

use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::{
    AccountMode, CallbackOverride, MessagingLimitTier, NameChange, NameStatus, NumberHold,
    Operation, PendingVerification, Pin, QualityRating, Region, SlidingWindow,
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
///
/// Sized for a million of them: the strings are inline up to 24 bytes (ids, display numbers
/// and most names never touch the heap), the WABA id is shared by every number of the WABA,
/// and the state that only requests create (limiter windows, PIN lockout, a pending code)
/// lives in one allocation that an untouched number does not have. Read that state through
/// [`PhoneNumber::window`], [`PhoneNumber::pin_lockout`] and
/// [`PhoneNumber::pending_verification`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PhoneNumber {
    /// Graph id of the number (digits).
    pub id: CompactString,
    /// The WhatsApp Business Account the number belongs to (shared with its other numbers).
    pub waba_id: Arc<str>,
    /// Human-readable number, e.g. `+1 555-0100`.
    pub display_phone_number: CompactString,
    /// The approved display name.
    pub verified_name: CompactString,
    /// Ownership verification state.
    pub verification: CodeVerificationStatus,
    /// The two-step verification PIN, when two-step verification is on.
    pub pin: Option<Pin>,
    /// Registered on the Cloud API.
    pub registered: bool,
    /// Local-storage region; `None` means default storage.
    pub region: Option<Region>,
    /// Shared with the WhatsApp Business app (coexistence): deregister is refused.
    pub coexistence: bool,
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
    /// Limiter windows, PIN lockout and pending code.
    activity: Activity,
}

/// The state requests leave on a number. Most numbers of a large fixture never see a request,
/// so it is allocated on first use and an idle number pays one pointer for it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct ActivityState {
    pin_lockout: PinLockout,
    register_window: SlidingWindow,
    deregister_window: SlidingWindow,
    pending_verification: Option<PendingVerification>,
    /// `user_identity_change.enable_identity_key_check`, set through `/settings` (kept here,
    /// with the other state requests leave, so an idle number stays small).
    identity_key_check: bool,
    /// A display-name change and its review (`new_display_name`, `new_name_status`).
    name_change: Option<NameChange>,
    /// The phone-number alternate callback (`webhook_configuration`).
    webhook_override: Option<CallbackOverride>,
    /// An onboarding hold that makes register refuse (kept here: few numbers have one).
    hold: NumberHold,
    /// A Meta test number: pre-registered, no verification needed.
    test_number: bool,
}

static IDLE: ActivityState = ActivityState {
    pin_lockout: PinLockout {
        consecutive_failures: 0,
        locked_until: None,
    },
    register_window: SlidingWindow::new(),
    deregister_window: SlidingWindow::new(),
    pending_verification: None,
    identity_key_check: false,
    name_change: None,
    webhook_override: None,
    hold: NumberHold::None,
    test_number: false,
};

/// [`ActivityState`] allocated on first use. Absent and all-default compare equal, so whether
/// the allocation exists is never observable.
#[derive(Debug, Clone, Default)]
struct Activity(Option<Box<ActivityState>>);

impl Activity {
    fn get(&self) -> &ActivityState {
        self.0.as_deref().unwrap_or(&IDLE)
    }

    fn get_mut(&mut self) -> &mut ActivityState {
        self.0.get_or_insert_with(Box::default)
    }

    /// Frees the allocation when it holds nothing.
    fn settle(&mut self) {
        if self.0.as_deref().is_some_and(|state| *state == IDLE) {
            self.0 = None;
        }
    }
}

impl PartialEq for Activity {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Eq for Activity {}

impl PhoneNumber {
    /// A new, unverified, unregistered number without a PIN (quality `GREEN`, name
    /// `APPROVED`, `LIVE`, `TIER_250`).
    pub fn new(id: impl Into<CompactString>, waba_id: impl Into<Arc<str>>) -> Self {
        Self {
            id: id.into(),
            waba_id: waba_id.into(),
            display_phone_number: CompactString::default(),
            verified_name: CompactString::default(),
            verification: CodeVerificationStatus::NotVerified,
            pin: None,
            registered: false,
            region: None,
            coexistence: false,
            migration_pending: false,
            quality_rating: QualityRating::Green,
            name_status: NameStatus::Approved,
            account_mode: AccountMode::Live,
            messaging_limit_tier: MessagingLimitTier::Tier250,
            last_onboarded_time: None,
            creation_time: None,
            activity: Activity::default(),
        }
    }

    /// Sets or replaces the two-step PIN and clears any guess lockout.
    pub fn set_pin(&mut self, pin: Pin) {
        self.pin = Some(pin);
        self.clear_pin_lockout();
    }

    /// PIN-guess lockout state.
    pub fn pin_lockout(&self) -> PinLockout {
        self.activity.get().pin_lockout
    }

    /// PIN-guess lockout state, for changing it.
    pub fn pin_lockout_mut(&mut self) -> &mut PinLockout {
        &mut self.activity.get_mut().pin_lockout
    }

    /// Whether the identity-key check (`user_identity_change`) is on.
    pub fn identity_key_check(&self) -> bool {
        self.activity.get().identity_key_check
    }

    /// Turns the identity-key check on or off.
    pub fn set_identity_key_check(&mut self, on: bool) {
        self.activity.get_mut().identity_key_check = on;
        self.activity.settle();
    }

    /// The display-name change requested, with its review status, if any.
    pub fn name_change(&self) -> Option<&NameChange> {
        self.activity.get().name_change.as_ref()
    }

    /// Records or clears a display-name change.
    pub fn set_name_change(&mut self, change: Option<NameChange>) {
        if change.is_some() || self.activity.0.is_some() {
            self.activity.get_mut().name_change = change;
            self.activity.settle();
        }
    }

    /// The onboarding hold, if any.
    pub fn hold(&self) -> NumberHold {
        self.activity.get().hold
    }

    /// Sets or clears the onboarding hold.
    pub fn set_hold(&mut self, hold: NumberHold) {
        if hold != NumberHold::None || self.activity.0.is_some() {
            self.activity.get_mut().hold = hold;
            self.activity.settle();
        }
    }

    /// Whether this is one of Meta's test numbers.
    pub fn is_test_number(&self) -> bool {
        self.activity.get().test_number
    }

    /// Marks or unmarks the number as a Meta test number.
    pub fn set_test_number(&mut self, test_number: bool) {
        if test_number || self.activity.0.is_some() {
            self.activity.get_mut().test_number = test_number;
            self.activity.settle();
        }
    }

    /// The phone-number alternate callback, if set.
    pub fn webhook_override(&self) -> Option<&CallbackOverride> {
        self.activity.get().webhook_override.as_ref()
    }

    /// Sets or removes the phone-number alternate callback.
    pub fn set_webhook_override(&mut self, callback: Option<CallbackOverride>) {
        if callback.is_some() || self.activity.0.is_some() {
            self.activity.get_mut().webhook_override = callback;
            self.activity.settle();
        }
    }

    /// Forgets PIN mismatches and any lock.
    pub fn clear_pin_lockout(&mut self) {
        if self.activity.0.is_some() {
            self.activity.get_mut().pin_lockout = PinLockout::default();
            self.activity.settle();
        }
    }

    /// The sliding-window log of `operation`'s requests.
    pub fn window(&self, operation: Operation) -> &SlidingWindow {
        let state = self.activity.get();
        match operation {
            Operation::Register => &state.register_window,
            Operation::Deregister => &state.deregister_window,
        }
    }

    /// The sliding-window log of `operation`'s requests, for changing it.
    pub fn window_mut(&mut self, operation: Operation) -> &mut SlidingWindow {
        let state = self.activity.get_mut();
        match operation {
            Operation::Register => &mut state.register_window,
            Operation::Deregister => &mut state.deregister_window,
        }
    }

    /// Forgets every counted request and block of both operations.
    pub fn clear_windows(&mut self) {
        if self.activity.0.is_some() {
            let state = self.activity.get_mut();
            state.register_window.clear();
            state.deregister_window.clear();
            self.activity.settle();
        }
    }

    /// The code `request_code` sent and `verify_code` expects, if any.
    pub fn pending_verification(&self) -> Option<&PendingVerification> {
        self.activity.get().pending_verification.as_ref()
    }

    /// Stores or clears the pending code.
    pub fn set_pending_verification(&mut self, pending: Option<PendingVerification>) {
        if pending.is_some() || self.activity.0.is_some() {
            self.activity.get_mut().pending_verification = pending;
            self.activity.settle();
        }
    }

    /// Frees the request-state allocation when nothing in it is left (after windows were
    /// cleared through [`PhoneNumber::window_mut`], for instance).
    pub fn settle(&mut self) {
        self.activity.settle();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untouched_number_is_small_and_allocates_no_request_state() {
        let number = PhoneNumber::new("2000000000000000", "1000000000");
        assert!(number.activity.0.is_none());
        // Strings inline, the WABA id shared, request state behind one pointer.
        assert!(
            std::mem::size_of::<PhoneNumber>() <= 136,
            "PhoneNumber grew to {} bytes",
            std::mem::size_of::<PhoneNumber>()
        );
        assert!(!number.id.is_heap_allocated());
    }

    #[test]
    fn request_state_is_freed_again_once_cleared_and_equality_ignores_it() {
        let fresh = PhoneNumber::new("1", "2");
        let mut number = fresh.clone();
        number.pin_lockout_mut().consecutive_failures = 1;
        assert_ne!(number, fresh);
        number.clear_pin_lockout();
        assert!(number.activity.0.is_none());
        assert_eq!(number, fresh);
        // An allocated but empty state still equals an absent one.
        let _ = number.window_mut(Operation::Register);
        assert!(number.activity.0.is_some());
        assert_eq!(number, fresh);
        number.settle();
        assert!(number.activity.0.is_none());
    }
}
