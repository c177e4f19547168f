//! The pure rules of phone-number registration.
//!
//! Nothing here knows about HTTP, JSON wire shapes, locks or the system clock: every
//! operation takes the number's state, the already-parsed request and `now`, and either
//! changes the state or returns a [`DomainError`]. The Graph layer maps those errors to
//! Meta's error codes in one table (`crate::graph::error`).

mod access;
mod error;
mod lifecycle;
mod limiter;
mod number;
mod onboarding;
mod params;
mod pin;
mod region;
mod register;

pub use access::{
    PERMISSION_MANAGEMENT, PERMISSION_MESSAGING, Principal, Token, Waba, WabaScope,
    is_parseable_token,
};
pub use error::{CATALOG_CODES, DomainError};
pub use lifecycle::{
    AccountMode, CodeMethod, ListOrder, MessagingLimitTier, NameStatus, NewNumber,
    PendingVerification, QualityRating, StorageChange, VerificationCode, change_local_storage,
    country_of_dial_code, country_of_digits, digits_of, request_code, valid_language, verify_code,
};
pub use limiter::{RateLimitPolicy, RateLimited, SlidingWindow};
pub use number::{CodeVerificationStatus, PhoneNumber, PinLockout};
pub use onboarding::{
    AUTH_CODE_LIFETIME, App, AppWebhook, AuthCode, BudgetUsage, CallbackOverride, HourlyBudget,
    NameChange, NameDecision, NumberHold, OVERRIDE_URI_MAX_CHARS, Preset, ScopesShape,
    Subscription, WabaBudgetPolicy, decide_name_review, onboarding_refusal, redeem_code,
    request_name_change, set_waba_override, split_app_token, subscribe, unsubscribe,
};
pub use params::{ParamValue, Params};
pub use pin::Pin;
pub use region::Region;
pub use register::{
    Backup, Operation, PinLockoutPolicy, Policy, RegisterRequest, admit, deregister,
    refuse_while_blocked, register,
};
