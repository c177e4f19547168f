//! Fixture documents: the tokens, WABAs and numbers an emulator starts with (and returns to on
//! reset).
//!
//! The format is JSON with unknown fields rejected; errors name the file, line and column, or
//! the offending entry. `fixtures/default.json` is embedded in the binary and used when no file
//! is given.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use compact_str::CompactString;
use serde::{Deserialize, Serialize};

use crate::domain::{
    AccountMode, CodeMethod, CodeVerificationStatus, MessagingLimitTier, NameStatus, Operation,
    PendingVerification, PhoneNumber, Pin, PinLockout, Policy, QualityRating, Region,
    SlidingWindow, VerificationCode,
};
use crate::domain::{
    App, AppWebhook, AuthCode, CallbackOverride, NameChange, NumberHold, PERMISSION_MANAGEMENT,
    PERMISSION_MESSAGING, ScopesShape, Subscription, Token, Waba, WabaScope,
};

/// The fixture embedded in the binary.
pub const DEFAULT_FIXTURE: &str = include_str!("../fixtures/default.json");

/// A whole fixture document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FixtureDocument {
    /// Partner apps (id, secret, name, webhook callback).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub apps: Vec<AppFixture>,
    /// Access tokens.
    #[serde(default)]
    pub tokens: Vec<TokenFixture>,
    /// WABAs with their numbers.
    #[serde(default)]
    pub wabas: Vec<WabaFixture>,
    /// Embedded Signup authorization codes not yet exchanged (or exchanged: kept so a second
    /// exchange answers "used").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub auth_codes: Vec<AuthCodeFixture>,
}

/// A partner app.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppFixture {
    /// App id (digits).
    pub id: String,
    /// App secret (signs webhooks; the app token is `ID|SECRET`).
    pub secret: String,
    /// App name.
    #[serde(default)]
    pub name: String,
    /// The partner's business portfolio id (`entry.id` of `PARTNER_*` webhooks; default: the
    /// WABA id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_id: Option<String>,
    /// The app-level webhook callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<AppWebhookFixture>,
}

/// An app's webhook callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppWebhookFixture {
    /// Where deliveries go.
    pub callback_url: String,
    /// The handshake's `hub.verify_token`.
    #[serde(default)]
    pub verify_token: String,
    /// Subscribed fields.
    #[serde(default)]
    pub fields: Vec<String>,
}

/// An Embedded Signup authorization code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthCodeFixture {
    /// The code.
    pub code: String,
    /// The app it was issued to.
    pub app_id: String,
    /// The WABA the signup shared.
    pub waba_id: String,
    /// The customer's business portfolio.
    #[serde(default)]
    pub business_id: String,
    /// When it was issued.
    pub issued_at: DateTime<Utc>,
    /// Exchanged already.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub used: bool,
    /// `classic` (default) or `2026-06`: the `granular_scopes` shape of the token it makes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granular_scopes: Option<String>,
}

/// An app subscribed to a WABA.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SubscriptionFixture {
    /// The app.
    pub app_id: String,
    /// The WABA alternate callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub override_callback_uri: Option<String>,
    /// Its verify token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verify_token: Option<String>,
}

/// A phone-number alternate callback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfigurationFixture {
    /// `override_callback_uri`.
    pub override_callback_uri: String,
    /// `verify_token`.
    #[serde(default)]
    pub verify_token: String,
}

/// One access token.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenFixture {
    /// The token string clients send.
    pub value: String,
    /// Granted permissions; default: both WhatsApp permissions.
    #[serde(default = "default_permissions")]
    pub permissions: Vec<String>,
    /// WABA ids the token may act on; `["*"]` (the default) means all.
    #[serde(default = "all_wabas")]
    pub wabas: Vec<String>,
    /// When the token expires (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<DateTime<Utc>>,
    /// The app that issued it (default: the first app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app_id: Option<String>,
    /// `USER` (default) or `SYSTEM_USER`, as `debug_token` reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_type: Option<String>,
    /// The user (or system user) it belongs to, as `debug_token` reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
    /// `classic` or `2026-06`: the `granular_scopes` shape `debug_token` answers for it
    /// (default: the emulator's setting).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub granular_scopes: Option<String>,
}

fn default_permissions() -> Vec<String> {
    vec![
        PERMISSION_MANAGEMENT.to_owned(),
        PERMISSION_MESSAGING.to_owned(),
    ]
}

fn all_wabas() -> Vec<String> {
    vec!["*".to_owned()]
}

/// One WhatsApp Business Account.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WabaFixture {
    /// Graph id (digits).
    pub id: String,
    /// Display name.
    #[serde(default)]
    pub name: String,
    /// `currency` (default `USD`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub currency: Option<String>,
    /// `timezone_id` (default `1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timezone_id: Option<String>,
    /// `message_template_namespace` (default: derived from the id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message_template_namespace: Option<String>,
    /// The customer's business portfolio (`owner_business_info.id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub owner_business_id: Option<String>,
    /// Apps subscribed to the WABA's webhooks.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub subscribed_apps: Vec<SubscriptionFixture>,
    /// Its phone numbers.
    #[serde(default)]
    pub phone_numbers: Vec<NumberFixture>,
}

/// One business phone number.
///
/// The strings are inline up to 24 bytes, so a parsed million-number fixture is a few large
/// vectors rather than millions of small heap blocks (which the allocator could not give back
/// to the system once freed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberFixture {
    /// Graph id (digits).
    pub id: CompactString,
    /// Human-readable number.
    #[serde(default)]
    pub display_phone_number: CompactString,
    /// Approved display name.
    #[serde(default)]
    pub verified_name: CompactString,
    /// `VERIFIED`, `NOT_VERIFIED` (default) or `EXPIRED`.
    #[serde(default = "not_verified")]
    pub code_verification_status: CodeVerificationStatus,
    /// Two-step PIN (six digits) when two-step verification is on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin: Option<CompactString>,
    /// Registered on the Cloud API (requires `VERIFIED`).
    #[serde(default)]
    pub registered: bool,
    /// Local-storage region code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data_localization_region: Option<CompactString>,
    /// Shared with the WhatsApp Business app.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub coexistence: bool,
    /// PIN-guess lockout in progress (boxed, like the other rare parts, to keep the entry
    /// small).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_lockout: Option<Box<PinLockoutFixture>>,
    /// Limiter windows in progress.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limits: Option<Box<RateLimitsFixture>>,
    /// `GREEN` (default), `YELLOW`, `RED`, `NA` or `UNKNOWN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quality_rating: Option<QualityRating>,
    /// `APPROVED` (default), `AVAILABLE_WITHOUT_REVIEW`, `DECLINED`, `EXPIRED`,
    /// `PENDING_REVIEW` or `NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name_status: Option<NameStatus>,
    /// `LIVE` (default) or `SANDBOX`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_mode: Option<AccountMode>,
    /// `TIER_50`, `TIER_250` (default), `TIER_1K`, `TIER_10K`, `TIER_100K`, `TIER_UNLIMITED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messaging_limit_tier: Option<MessagingLimitTier>,
    /// When the number was last onboarded (RFC 3339); sorts the WABA's number list.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_onboarded_time: Option<DateTime<Utc>>,
    /// When the number was added (RFC 3339); for the `creation_time` sort.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_time: Option<DateTime<Utc>>,
    /// Added for an On-Premises migration: register needs `backup` (cannot be `registered`).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub migration_pending: bool,
    /// `user_identity_change.enable_identity_key_check`, as set through `/settings`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identity_key_check: bool,
    /// A code sent by `request_code` and not yet used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_verification: Option<Box<PendingVerificationFixture>>,
    /// An onboarding hold: `consumer_account` or `other_partner`.
    #[serde(default, skip_serializing_if = "NumberHold::is_none")]
    pub hold: NumberHold,
    /// A Meta test number (pre-registered, never verified).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub test_number: bool,
    /// A requested display-name change.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_display_name: Option<CompactString>,
    /// Its review: `PENDING_REVIEW` (default with a new name), `APPROVED` or `DECLINED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_name_status: Option<NameStatus>,
    /// The phone-number alternate callback.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook_configuration: Option<Box<WebhookConfigurationFixture>>,
}

/// A pending verification code in a fixture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PendingVerificationFixture {
    /// Six digits.
    pub code: String,
    /// `SMS` (default) or `VOICE`.
    #[serde(default = "sms")]
    pub method: CodeMethod,
    /// The language asked for (default `en_US`).
    #[serde(default = "en_us")]
    pub language: String,
    /// When the code stops working.
    pub expires_at: DateTime<Utc>,
}

fn sms() -> CodeMethod {
    CodeMethod::Sms
}

fn en_us() -> String {
    "en_US".to_owned()
}

fn not_verified() -> CodeVerificationStatus {
    CodeVerificationStatus::NotVerified
}

/// A PIN-guess lockout in a fixture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PinLockoutFixture {
    /// Mismatches so far.
    #[serde(default)]
    pub consecutive_failures: u32,
    /// End of an active lock.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub locked_until: Option<DateTime<Utc>>,
}

/// Both limiter windows of a number.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimitsFixture {
    /// The register window.
    #[serde(default)]
    pub register: WindowFixture,
    /// The deregister window.
    #[serde(default)]
    pub deregister: WindowFixture,
}

/// One limiter window.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WindowFixture {
    /// Instants of the counted requests.
    #[serde(default)]
    pub requests: Vec<DateTime<Utc>>,
    /// End of a block.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub blocked_until: Option<DateTime<Utc>>,
}

/// Why a fixture could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FixtureError {
    /// The file could not be read.
    #[error("cannot read fixture file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The JSON does not fit the format.
    #[error("{origin}:{line}:{column}: {message}")]
    Syntax {
        /// File path or `<embedded>`.
        origin: String,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What serde said.
        message: String,
    },
    /// The JSON is well formed but describes an impossible state.
    #[error("{origin}: {message}")]
    Invalid {
        /// File path or `<embedded>`.
        origin: String,
        /// What is wrong, naming the entry.
        message: String,
    },
    /// A large fixture file, re-read for a reset, no longer holds what was loaded at start.
    #[error(
        "fixture file {path} changed since the emulator loaded it (its SHA-256 differs), so it \
         no longer describes the state a reset returns to"
    )]
    Changed {
        /// The file.
        path: PathBuf,
    },
}

/// Fixture files up to this size are kept parsed in memory for resets; larger ones are read
/// again when needed (see [`ResetTarget`]).
pub const DEFAULT_KEEP_PARSED_BYTES: u64 = 16 * 1024 * 1024;

/// What a reset (and a namespace copied from a fixture WABA) goes back to.
///
/// Keeping a million-number document parsed for the rare reset would cost more memory than the
/// live state itself, so a large fixture file is remembered by path and SHA-256 and read again
/// when needed; a file that changed or disappeared since start is refused rather than loaded.
#[derive(Debug, Clone)]
pub enum ResetTarget {
    /// The document itself: the embedded default, a document given to the builder, or a file
    /// no larger than the keep-parsed limit.
    Document(Arc<FixtureDocument>),
    /// A large fixture file and the digest of the bytes loaded at start.
    File {
        /// The file (made absolute at start).
        path: PathBuf,
        /// SHA-256 of its content at start.
        sha256: [u8; 32],
    },
}

impl ResetTarget {
    /// Loads a fixture file for start-up: the document, and what a reset will go back to
    /// (the document itself when the file has at most `keep_parsed_bytes` bytes, else the
    /// file's path and digest).
    pub fn load_file(
        path: &Path,
        keep_parsed_bytes: u64,
    ) -> Result<(Arc<FixtureDocument>, Self), FixtureError> {
        let bytes = read_file(path)?;
        let large = bytes.len() as u64 > keep_parsed_bytes;
        let sha256 = large.then(|| sha256(&bytes));
        let document = Arc::new(FixtureDocument::parse_bytes(
            &bytes,
            &path.display().to_string(),
        )?);
        drop(bytes);
        let target = match sha256 {
            Some(sha256) => Self::File {
                path: std::path::absolute(path).unwrap_or_else(|_| path.to_owned()),
                sha256,
            },
            None => Self::Document(Arc::clone(&document)),
        };
        Ok((document, target))
    }

    /// The document to go back to: the kept one, or the file read again (refused with
    /// [`FixtureError::Changed`] or [`FixtureError::Read`] when it changed or is gone).
    pub fn document(&self) -> Result<Arc<FixtureDocument>, FixtureError> {
        match self {
            Self::Document(document) => Ok(Arc::clone(document)),
            Self::File {
                path,
                sha256: at_start,
            } => {
                let bytes = read_file(path)?;
                if sha256(&bytes) != *at_start {
                    return Err(FixtureError::Changed { path: path.clone() });
                }
                FixtureDocument::parse_bytes(&bytes, &path.display().to_string()).map(Arc::new)
            }
        }
    }
}

fn read_file(path: &Path) -> Result<Vec<u8>, FixtureError> {
    std::fs::read(path).map_err(|source| FixtureError::Read {
        path: path.to_owned(),
        source,
    })
}

fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

impl FixtureDocument {
    /// The embedded default fixture.
    pub fn embedded_default() -> Self {
        Self::parse(DEFAULT_FIXTURE, "<embedded default.json>")
            .expect("the embedded default fixture is valid (checked by a unit test)")
    }

    /// Reads and validates a fixture file (read whole, then parsed from memory: much faster
    /// than parsing from a reader).
    pub fn load(path: &Path) -> Result<Self, FixtureError> {
        let bytes = read_file(path)?;
        Self::parse_bytes(&bytes, &path.display().to_string())
    }

    /// Parses and validates fixture JSON given as bytes (invalid UTF-8 is a syntax error with
    /// its position); `origin` names it in errors.
    pub fn parse_bytes(bytes: &[u8], origin: &str) -> Result<Self, FixtureError> {
        // One UTF-8 check of the whole text is much cheaper than serde_json checking each of
        // millions of short strings on its own (what `from_slice` does).
        let text = std::str::from_utf8(bytes).map_err(|error| {
            let valid = &bytes[..error.valid_up_to()];
            let line_start = valid
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |at| at + 1);
            FixtureError::Syntax {
                origin: origin.to_owned(),
                line: valid.iter().filter(|b| **b == b'\n').count() + 1,
                column: valid.len() - line_start + 1,
                message: "invalid UTF-8".to_owned(),
            }
        })?;
        Self::parse(text, origin)
    }

    /// Parses and validates fixture JSON; `origin` names it in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Self, FixtureError> {
        let document: Self = serde_json::from_str(text).map_err(|error| FixtureError::Syntax {
            origin: origin.to_owned(),
            line: error.line(),
            column: error.column(),
            message: strip_position(&error.to_string()),
        })?;
        document
            .validate()
            .map_err(|message| FixtureError::Invalid {
                origin: origin.to_owned(),
                message,
            })?;
        Ok(document)
    }

    /// Checks everything serde cannot: id shapes, duplicates, PINs, regions, references.
    pub fn validate(&self) -> Result<(), String> {
        let count: usize = self.wabas.iter().map(|w| w.phone_numbers.len()).sum();
        // A set of a million ids is a million random memory accesses; sorting compact keys is
        // much cheaper. When that proves the ids distinct the set is skipped; otherwise (or for
        // small documents) the set finds the first repeat in document order, for the message.
        let track_number_ids = count < 10_000 || self.number_ids_may_repeat(count);
        let hasher = foldhash::fast::RandomState::default;
        let mut waba_ids = HashSet::with_capacity_and_hasher(self.wabas.len(), hasher());
        let mut number_ids =
            HashSet::with_capacity_and_hasher(if track_number_ids { count } else { 0 }, hasher());
        for waba in &self.wabas {
            check_id("WABA id", &waba.id)?;
            if !waba_ids.insert(waba.id.as_str()) {
                return Err(format!("WABA {} is declared twice", waba.id));
            }
            for number in &waba.phone_numbers {
                check_id("phone number id", &number.id)?;
                // Built only on error: a million numbers would otherwise mean a million
                // allocations.
                let at = || format!("phone number {}", number.id);
                if track_number_ids && !number_ids.insert(number.id.as_str()) {
                    return Err(format!("{} is declared twice", at()));
                }
                if waba_ids.contains(number.id.as_str()) {
                    return Err(format!("{} uses the id of a WABA", at()));
                }
                if let Some(pin) = &number.pin {
                    Pin::parse(pin)
                        .map_err(|_| format!("{}: pin must be exactly 6 digits", at()))?;
                }
                if let Some(region) = &number.data_localization_region {
                    Region::parse(region).map_err(|_| {
                        format!(
                            "{}: data_localization_region {region:?} is not one of {}",
                            at(),
                            Region::ALL.join(", ")
                        )
                    })?;
                }
                if let Some(pending) = &number.pending_verification {
                    VerificationCode::parse(&pending.code).map_err(|_| {
                        format!(
                            "{}: pending_verification.code must be exactly 6 digits",
                            at()
                        )
                    })?;
                }
                if number.registered && number.migration_pending {
                    return Err(format!(
                        "{}: a registered number cannot have migration_pending (it is already on the Cloud API)",
                        at()
                    ));
                }
                // Test numbers come registered unverified; a verification can expire after
                // the number registered (seen live).
                if number.registered
                    && number.code_verification_status == CodeVerificationStatus::NotVerified
                    && !number.test_number
                {
                    return Err(format!(
                        "{}: a registered number must have code_verification_status VERIFIED or EXPIRED (or be a test_number)",
                        at()
                    ));
                }
            }
        }
        for waba in &self.wabas {
            if let Some(clash) = waba
                .phone_numbers
                .iter()
                .find(|n| waba_ids.contains(n.id.as_str()))
            {
                return Err(format!("phone number {} uses the id of a WABA", clash.id));
            }
        }
        let mut app_ids = HashSet::new();
        for (index, app) in self.apps.iter().enumerate() {
            let at = format!("apps[{index}]");
            check_id(&format!("{at}: id"), &app.id)?;
            if !app_ids.insert(app.id.as_str()) {
                return Err(format!("{at}: app {} is declared twice", app.id));
            }
            if !crate::domain::is_parseable_token(&app.access_token_text()) {
                return Err(format!(
                    "{at}: secret must be letters, digits and ._~+/=- (it becomes part of the app token)"
                ));
            }
        }
        let known_app = |id: &str| app_ids.contains(id);
        for waba in &self.wabas {
            for subscription in &waba.subscribed_apps {
                if !known_app(&subscription.app_id) {
                    return Err(format!(
                        "WABA {}: subscribed app {} is not declared under apps",
                        waba.id, subscription.app_id
                    ));
                }
                if subscription.override_callback_uri.is_some()
                    != subscription.verify_token.is_some()
                {
                    return Err(format!(
                        "WABA {}: override_callback_uri and verify_token go together",
                        waba.id
                    ));
                }
            }
        }
        for (index, code) in self.auth_codes.iter().enumerate() {
            let at = format!("auth_codes[{index}]");
            if !known_app(&code.app_id) {
                return Err(format!(
                    "{at}: app {} is not declared under apps",
                    code.app_id
                ));
            }
            if !waba_ids.contains(code.waba_id.as_str()) {
                return Err(format!("{at}: unknown WABA {}", code.waba_id));
            }
            check_scopes_shape(&at, code.granular_scopes.as_deref())?;
        }
        let mut token_values = HashSet::new();
        for (index, token) in self.tokens.iter().enumerate() {
            let at = format!("tokens[{index}]");
            if let Some(app) = &token.app_id
                && !known_app(app)
            {
                return Err(format!("{at}: app {app} is not declared under apps"));
            }
            if let Some(kind) = &token.token_type
                && kind != "USER"
                && kind != "SYSTEM_USER"
            {
                return Err(format!("{at}: token_type must be USER or SYSTEM_USER"));
            }
            check_scopes_shape(&at, token.granular_scopes.as_deref())?;
            if !crate::domain::is_parseable_token(&token.value) {
                return Err(format!(
                    "{at}: value must be 1 to 512 characters of letters, digits and ._~+/=|-"
                ));
            }
            if !token_values.insert(token.value.as_str()) {
                return Err(format!("{at}: the same token value is declared twice"));
            }
            for waba in &token.wabas {
                if waba != "*" && !waba_ids.contains(waba.as_str()) {
                    return Err(format!(
                        "{at}: unknown WABA {waba:?} (declare it under wabas, or use \"*\")"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Whether two numbers may share an id: false only when every id is 1 to 32 digits and
    /// no two are equal. Each id becomes one `u128` (its length and value: 32 digits fit in
    /// 107 bits), and the sorted keys are compared with their neighbours.
    fn number_ids_may_repeat(&self, count: usize) -> bool {
        let mut keys = Vec::with_capacity(count);
        for number in self.wabas.iter().flat_map(|waba| &waba.phone_numbers) {
            let id = number.id.as_bytes();
            if id.is_empty() || id.len() > 32 || !id.iter().all(u8::is_ascii_digit) {
                return true;
            }
            let value = id
                .iter()
                .fold(0u128, |value, digit| value * 10 + u128::from(digit - b'0'));
            keys.push(value | (id.len() as u128) << 120);
        }
        keys.sort_unstable();
        keys.windows(2).any(|pair| pair[0] == pair[1])
    }

    /// The tokens as the emulator holds them.
    pub fn tokens(&self) -> impl Iterator<Item = Token> + '_ {
        self.tokens.iter().map(|token| Token {
            value: token.value.clone(),
            permissions: Arc::new(token.permissions.clone()),
            scope: Arc::new(if token.wabas.iter().any(|waba| waba == "*") {
                WabaScope::All
            } else {
                WabaScope::Only(token.wabas.iter().cloned().collect())
            }),
            expires_at: token.expires_at,
            app_id: token.app_id.as_deref().map(Arc::from),
            system_user: token.token_type.as_deref() == Some("SYSTEM_USER"),
            user_id: token.user_id.clone(),
            scopes_shape: token
                .granular_scopes
                .as_deref()
                .and_then(ScopesShape::parse),
        })
    }

    /// The apps as the emulator holds them.
    pub fn apps(&self) -> impl Iterator<Item = App> + '_ {
        self.apps.iter().map(|app| App {
            id: app.id.clone(),
            secret: app.secret.clone(),
            name: app.name.clone(),
            business_id: app.business_id.clone(),
            webhook: app.webhook.as_ref().map(|webhook| AppWebhook {
                callback_url: webhook.callback_url.clone(),
                verify_token: webhook.verify_token.clone(),
                fields: webhook.fields.clone(),
            }),
        })
    }

    /// The authorization codes as the emulator holds them.
    pub fn auth_codes(&self) -> impl Iterator<Item = AuthCode> + '_ {
        self.auth_codes.iter().map(|code| AuthCode {
            code: code.code.clone(),
            app_id: code.app_id.clone(),
            waba_id: code.waba_id.clone(),
            business_id: code.business_id.clone(),
            issued_at: code.issued_at,
            used: code.used,
            scopes_shape: code
                .granular_scopes
                .as_deref()
                .and_then(ScopesShape::parse)
                .unwrap_or_default(),
        })
    }

    /// Every number as the emulator holds it, WABA by WABA, built one at a time (no
    /// intermediate collection, which matters with a million numbers).
    pub fn numbers<'a>(&'a self, policy: &'a Policy) -> impl Iterator<Item = PhoneNumber> + 'a {
        self.wabas.iter().flat_map(move |waba| {
            let waba_id: Arc<str> = Arc::from(waba.id.as_str());
            waba.phone_numbers
                .iter()
                .map(move |fixture| fixture.to_number(&waba_id, policy))
        })
    }

    /// The WABAs and their numbers as the emulator holds them.
    pub fn wabas(&self, policy: &Policy) -> Vec<(Waba, Vec<PhoneNumber>)> {
        self.wabas
            .iter()
            .map(|waba| {
                let waba_id: Arc<str> = Arc::from(waba.id.as_str());
                let numbers = waba
                    .phone_numbers
                    .iter()
                    .map(|fixture| fixture.to_number(&waba_id, policy))
                    .collect();
                (waba.to_waba(), numbers)
            })
            .collect()
    }
}

impl AppFixture {
    /// The app token this app's id and secret make (`ID|SECRET`).
    fn access_token_text(&self) -> String {
        format!("{}|{}", self.id, self.secret)
    }
}

fn check_scopes_shape(at: &str, shape: Option<&str>) -> Result<(), String> {
    match shape {
        Some(shape) if ScopesShape::parse(shape).is_none() => Err(format!(
            "{at}: granular_scopes must be one of {:?}",
            ScopesShape::NAMES
        )),
        _ => Ok(()),
    }
}

impl WabaFixture {
    /// The WABA as the emulator holds it (without its numbers).
    pub fn to_waba(&self) -> Waba {
        Waba {
            id: self.id.clone(),
            name: self.name.clone(),
            currency: self.currency.clone().unwrap_or_else(|| "USD".to_owned()),
            timezone_id: self.timezone_id.clone().unwrap_or_else(|| "1".to_owned()),
            message_template_namespace: self
                .message_template_namespace
                .clone()
                .unwrap_or_else(|| template_namespace_of(&self.id)),
            owner_business_id: self.owner_business_id.clone(),
            subscribed_apps: self
                .subscribed_apps
                .iter()
                .map(|subscription| Subscription {
                    app_id: subscription.app_id.clone(),
                    callback_override: subscription.override_callback_uri.as_ref().map(|uri| {
                        CallbackOverride {
                            uri: uri.clone(),
                            verify_token: subscription.verify_token.clone().unwrap_or_default(),
                        }
                    }),
                })
                .collect(),
        }
    }
}

/// A stable, plausible `message_template_namespace` for a WABA without one: Meta's are
/// 36-character lowercase hex with underscores (`c7d6b9f1_0a3c_...`).
fn template_namespace_of(waba_id: &str) -> String {
    let hex: String = sha256(waba_id.as_bytes())
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    format!(
        "{}_{}_{}_{}_{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

/// A WABA as a fixture entry, without its numbers.
pub fn waba_fixture(waba: &Waba) -> WabaFixture {
    WabaFixture {
        id: waba.id.clone(),
        name: waba.name.clone(),
        currency: Some(waba.currency.clone()),
        timezone_id: Some(waba.timezone_id.clone()),
        message_template_namespace: Some(waba.message_template_namespace.clone()),
        owner_business_id: waba.owner_business_id.clone(),
        subscribed_apps: waba
            .subscribed_apps
            .iter()
            .map(|subscription| SubscriptionFixture {
                app_id: subscription.app_id.clone(),
                override_callback_uri: subscription
                    .callback_override
                    .as_ref()
                    .map(|callback| callback.uri.clone()),
                verify_token: subscription
                    .callback_override
                    .as_ref()
                    .map(|callback| callback.verify_token.clone()),
            })
            .collect(),
        phone_numbers: Vec::new(),
    }
}

/// An app as a fixture entry.
pub fn app_fixture(app: &App) -> AppFixture {
    AppFixture {
        id: app.id.clone(),
        secret: app.secret.clone(),
        name: app.name.clone(),
        business_id: app.business_id.clone(),
        webhook: app.webhook.as_ref().map(|webhook| AppWebhookFixture {
            callback_url: webhook.callback_url.clone(),
            verify_token: webhook.verify_token.clone(),
            fields: webhook.fields.clone(),
        }),
    }
}

/// An authorization code as a fixture entry.
pub fn auth_code_fixture(code: &AuthCode) -> AuthCodeFixture {
    AuthCodeFixture {
        code: code.code.clone(),
        app_id: code.app_id.clone(),
        waba_id: code.waba_id.clone(),
        business_id: code.business_id.clone(),
        issued_at: code.issued_at,
        used: code.used,
        granular_scopes: Some(code.scopes_shape.as_str().to_owned()),
    }
}

impl NumberFixture {
    fn to_number(&self, waba_id: &Arc<str>, policy: &Policy) -> PhoneNumber {
        let mut number = PhoneNumber::new(self.id.clone(), Arc::clone(waba_id));
        number.display_phone_number = self.display_phone_number.clone();
        number.verified_name = self.verified_name.clone();
        number.verification = self.code_verification_status;
        number.pin = self.pin.as_deref().and_then(|pin| Pin::parse(pin).ok());
        number.registered = self.registered;
        number.region = self
            .data_localization_region
            .as_deref()
            .and_then(|code| Region::parse(code).ok());
        number.coexistence = self.coexistence;
        number.quality_rating = self.quality_rating.unwrap_or(number.quality_rating);
        number.name_status = self.name_status.unwrap_or(number.name_status);
        number.account_mode = self.account_mode.unwrap_or(number.account_mode);
        number.messaging_limit_tier = self
            .messaging_limit_tier
            .unwrap_or(number.messaging_limit_tier);
        number.last_onboarded_time = self.last_onboarded_time;
        number.creation_time = self.creation_time;
        number.migration_pending = self.migration_pending;
        number.set_hold(self.hold);
        number.set_test_number(self.test_number);
        number.set_name_change(self.new_display_name.as_ref().map(|name| NameChange {
            new_display_name: name.clone(),
            status: self.new_name_status.unwrap_or(NameStatus::PendingReview),
        }));
        number.set_webhook_override(self.webhook_configuration.as_ref().map(|callback| {
            CallbackOverride {
                uri: callback.override_callback_uri.clone(),
                verify_token: callback.verify_token.clone(),
            }
        }));
        number.set_identity_key_check(self.identity_key_check);
        number.set_pending_verification(self.pending_verification.as_ref().and_then(|pending| {
            Some(PendingVerification {
                code: VerificationCode::parse(&pending.code).ok()?,
                method: pending.method,
                language: pending.language.clone(),
                expires_at: pending.expires_at,
            })
        }));
        if let Some(lockout) = &self.pin_lockout {
            *number.pin_lockout_mut() = PinLockout {
                consecutive_failures: lockout.consecutive_failures,
                locked_until: lockout.locked_until,
            };
        }
        if let Some(limits) = &self.rate_limits {
            let window = |fixture: &WindowFixture| {
                SlidingWindow::from_parts(
                    fixture.requests.clone(),
                    fixture.blocked_until,
                    &policy.rate_limit,
                )
            };
            *number.window_mut(Operation::Register) = window(&limits.register);
            *number.window_mut(Operation::Deregister) = window(&limits.deregister);
        }
        number.settle();
        number
    }
}

fn check_id(what: &str, id: &str) -> Result<(), String> {
    if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("{what} {id:?} must be 1 to 32 digits"));
    }
    Ok(())
}

/// serde_json appends " at line L column C"; the error already carries them separately.
fn strip_position(message: &str) -> String {
    match message.rfind(" at line ") {
        Some(cut) => message[..cut].to_owned(),
        None => message.to_owned(),
    }
}

// ---- From the live objects back to the fixture format (export, store, namespaces) ----

fn window_fixture(window: &SlidingWindow) -> WindowFixture {
    WindowFixture {
        requests: window.requests().collect(),
        blocked_until: window.blocked_until(),
    }
}

/// A number as a fixture entry, with its runtime state.
pub fn number_fixture(number: &PhoneNumber) -> NumberFixture {
    let lockout = number.pin_lockout();
    let limits = RateLimitsFixture {
        register: window_fixture(number.window(Operation::Register)),
        deregister: window_fixture(number.window(Operation::Deregister)),
    };
    NumberFixture {
        id: number.id.clone(),
        display_phone_number: number.display_phone_number.clone(),
        verified_name: number.verified_name.clone(),
        code_verification_status: number.verification,
        pin: number.pin.as_ref().map(|pin| pin.expose().into()),
        registered: number.registered,
        data_localization_region: number.region.map(|region| region.code().into()),
        coexistence: number.coexistence,
        pin_lockout: (lockout != PinLockout::default()).then(|| {
            Box::new(PinLockoutFixture {
                consecutive_failures: lockout.consecutive_failures,
                locked_until: lockout.locked_until,
            })
        }),
        rate_limits: (limits != RateLimitsFixture::default()).then(|| Box::new(limits)),
        quality_rating: Some(number.quality_rating),
        name_status: Some(number.name_status),
        account_mode: Some(number.account_mode),
        messaging_limit_tier: Some(number.messaging_limit_tier),
        last_onboarded_time: number.last_onboarded_time,
        creation_time: number.creation_time,
        migration_pending: number.migration_pending,
        identity_key_check: number.identity_key_check(),
        pending_verification: number
            .pending_verification()
            .map(|pending| Box::new(pending_fixture(pending))),
        hold: number.hold(),
        test_number: number.is_test_number(),
        new_display_name: number
            .name_change()
            .map(|change| change.new_display_name.clone()),
        new_name_status: number.name_change().map(|change| change.status),
        webhook_configuration: number.webhook_override().map(|callback| {
            Box::new(WebhookConfigurationFixture {
                override_callback_uri: callback.uri.clone(),
                verify_token: callback.verify_token.clone(),
            })
        }),
    }
}

/// A pending verification code as a fixture entry.
pub fn pending_fixture(pending: &PendingVerification) -> PendingVerificationFixture {
    PendingVerificationFixture {
        code: pending.code.expose().to_owned(),
        method: pending.method,
        language: pending.language.clone(),
        expires_at: pending.expires_at,
    }
}

/// A token as a fixture entry.
pub fn token_fixture(token: Token) -> TokenFixture {
    TokenFixture {
        wabas: match token.scope.as_ref() {
            WabaScope::All => vec!["*".to_owned()],
            WabaScope::Only(ids) => {
                let mut ids: Vec<_> = ids.iter().cloned().collect();
                ids.sort();
                ids
            }
        },
        value: token.value,
        permissions: token.permissions.as_ref().clone(),
        expires_at: token.expires_at,
        app_id: token.app_id.as_deref().map(str::to_owned),
        token_type: token.system_user.then(|| "SYSTEM_USER".to_owned()),
        user_id: token.user_id,
        granular_scopes: token.scopes_shape.map(|shape| shape.as_str().to_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeated_ids_are_found_in_large_documents_too() {
        let numbers = |from: usize| -> Vec<NumberFixture> {
            (from..from + 6_000)
                .map(|i| {
                    let mut number: NumberFixture =
                        serde_json::from_value(serde_json::json!({"id": i.to_string()})).unwrap();
                    number.display_phone_number = format!("+1 {i}").into();
                    number
                })
                .collect()
        };
        let waba = |id: &str, from| WabaFixture {
            id: id.to_owned(),
            phone_numbers: numbers(from),
            ..WabaFixture::default()
        };
        let mut document = FixtureDocument {
            wabas: vec![waba("1", 10), waba("2", 6_010)],
            ..FixtureDocument::default()
        };
        assert_eq!(document.validate(), Ok(()));
        // "10" and "010" are different ids.
        document.wabas[1].phone_numbers[0].id = "010".into();
        assert_eq!(document.validate(), Ok(()));
        document.wabas[1].phone_numbers[5].id = "17".into();
        assert_eq!(
            document.validate(),
            Err("phone number 17 is declared twice".to_owned())
        );
    }

    #[test]
    fn invalid_utf8_is_a_syntax_error_with_its_position() {
        let error =
            FixtureDocument::parse_bytes(b"{\"tokens\":[\n  {\"value\":\"\xff\"}]}", "f.json")
                .unwrap_err();
        assert!(
            matches!(
                error,
                FixtureError::Syntax {
                    line: 2,
                    column: 13,
                    ..
                }
            ),
            "{error}"
        );
        assert_eq!(error.to_string(), "f.json:2:13: invalid UTF-8");
    }

    #[test]
    fn the_embedded_default_is_valid_and_useful() {
        let document = FixtureDocument::embedded_default();
        let numbers: Vec<_> = document
            .wabas
            .iter()
            .flat_map(|w| &w.phone_numbers)
            .collect();
        assert!(numbers.iter().any(|n| n.code_verification_status
            == CodeVerificationStatus::Verified
            && !n.registered
            && n.pin.is_none()));
        assert!(
            numbers
                .iter()
                .any(|n| n.code_verification_status != CodeVerificationStatus::Verified)
        );
        assert!(numbers.iter().any(|n| n.registered && n.pin.is_some()));
        assert!(
            numbers
                .iter()
                .any(|n| n.registered && n.data_localization_region.is_some())
        );
        assert!(!document.tokens.is_empty());
    }

    #[test]
    fn unknown_fields_are_rejected_with_line_and_column() {
        let text = "{\n  \"tokens\": [],\n  \"wabas\": [{\"id\": \"1\", \"colour\": \"red\"}]\n}";
        let error = FixtureDocument::parse(text, "f.json")
            .unwrap_err()
            .to_string();
        assert!(error.starts_with("f.json:3:"), "{error}");
        assert!(error.contains("unknown field `colour`"), "{error}");
    }

    #[test]
    fn impossible_states_are_rejected_naming_the_entry() {
        let cases = [
            (
                r#"{"wabas":[{"id":"1","phone_numbers":[{"id":"2","pin":"12"}]}]}"#,
                "phone number 2: pin",
            ),
            (
                r#"{"wabas":[{"id":"1","phone_numbers":[{"id":"2","registered":true}]}]}"#,
                "VERIFIED",
            ),
            (
                r#"{"wabas":[{"id":"1","phone_numbers":[{"id":"2","code_verification_status":"VERIFIED","registered":true,"data_localization_region":"US"}]}]}"#,
                "not one of",
            ),
            (
                r#"{"wabas":[{"id":"1","phone_numbers":[{"id":"2"},{"id":"2"}]}]}"#,
                "declared twice",
            ),
            (r#"{"wabas":[{"id":"x1"}]}"#, "must be 1 to 32 digits"),
            (
                r#"{"tokens":[{"value":"t","wabas":["9"]}],"wabas":[{"id":"1"}]}"#,
                "unknown WABA",
            ),
            (r#"{"tokens":[{"value":"bad token"}]}"#, "tokens[0]"),
            (
                r#"{"wabas":[{"id":"1","phone_numbers":[{"id":"2","pending_verification":{"code":"12","expires_at":"2030-01-01T00:00:00Z"}}]}]}"#,
                "pending_verification.code",
            ),
            (
                r#"{"wabas":[{"id":"1","phone_numbers":[{"id":"2","code_verification_status":"VERIFIED","registered":true,"migration_pending":true}]}]}"#,
                "migration_pending",
            ),
            (
                r#"{"wabas":[{"id":"1","phone_numbers":[{"id":"2","quality_rating":"PURPLE"}]}]}"#,
                "unknown variant",
            ),
        ];
        for (text, expected) in cases {
            let error = FixtureDocument::parse(text, "f.json")
                .unwrap_err()
                .to_string();
            assert!(error.contains(expected), "{text}: {error}");
        }
    }

    #[test]
    fn lifecycle_fields_load_with_defaults() {
        let text = r#"{"wabas":[{"id":"1","phone_numbers":[
            {"id":"2"},
            {"id":"3","quality_rating":"RED","name_status":"PENDING_REVIEW","account_mode":"SANDBOX",
             "messaging_limit_tier":"TIER_1K","last_onboarded_time":"2026-01-01T00:00:00Z",
             "creation_time":"2025-01-01T00:00:00Z","migration_pending":true,
             "pending_verification":{"code":"123456","expires_at":"2030-01-01T00:00:00Z"}}
        ]}]}"#;
        let document = FixtureDocument::parse(text, "f.json").unwrap();
        let numbers = &document.wabas(&Policy::default())[0].1;
        assert_eq!(numbers[0].quality_rating, QualityRating::Green);
        assert_eq!(numbers[0].messaging_limit_tier, MessagingLimitTier::Tier250);
        assert!(!numbers[0].migration_pending);
        let n = &numbers[1];
        assert_eq!(
            (
                n.quality_rating,
                n.name_status,
                n.account_mode,
                n.messaging_limit_tier
            ),
            (
                QualityRating::Red,
                NameStatus::PendingReview,
                AccountMode::Sandbox,
                MessagingLimitTier::Tier1K
            )
        );
        assert!(
            n.migration_pending && n.last_onboarded_time.is_some() && n.creation_time.is_some()
        );
        let pending = n.pending_verification().unwrap();
        assert_eq!(
            (
                pending.code.expose(),
                pending.method,
                pending.language.as_str()
            ),
            ("123456", CodeMethod::Sms, "en_US")
        );
    }
}
