//! The partner onboarding chain around register: partner apps, the authorization codes
//! Embedded Signup hands out, WABA subscriptions with their callback overrides, the
//! WABA-level call budget, and the onboarding states (presets) that make register refuse.
//!
//! Pure rules, like the rest of `domain`: every function takes the object and `now` and
//! either changes it or returns a [`DomainError`]; the Graph layer words the errors.

use chrono::{DateTime, TimeDelta, Utc};
use compact_str::CompactString;
use subtle::ConstantTimeEq;

use super::{CodeVerificationStatus, DomainError, NameStatus, PhoneNumber};

/// How long an Embedded Signup authorization code can be exchanged (Meta: "The code lives
/// 30 seconds").
pub const AUTH_CODE_LIFETIME: TimeDelta = TimeDelta::seconds(30);

/// The longest `override_callback_uri` Meta accepts.
pub const OVERRIDE_URI_MAX_CHARS: usize = 200;

/// A partner (Tech Provider or Solution Partner) app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct App {
    /// The app id (digits).
    pub id: String,
    /// The app secret: signs webhooks, makes the app token `APP_ID|APP_SECRET`. Never logged.
    pub secret: String,
    /// The app's name (`application` in `debug_token`, `name` in `subscribed_apps`).
    pub name: String,
    /// The partner's business portfolio (the `entry.id` of `PARTNER_*` webhooks), if known.
    pub business_id: Option<String>,
    /// The app-level webhook callback, as the App Dashboard or `/{APP_ID}/subscriptions` set it.
    pub webhook: Option<AppWebhook>,
}

/// An app's webhook subscription for `whatsapp_business_account`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppWebhook {
    /// Where deliveries go.
    pub callback_url: String,
    /// What the handshake sends as `hub.verify_token`.
    pub verify_token: String,
    /// Subscribed fields (`messages`, `account_update`, ...).
    pub fields: Vec<String>,
}

impl App {
    /// The app access token, `APP_ID|APP_SECRET`.
    pub fn access_token(&self) -> String {
        format!("{}|{}", self.id, self.secret)
    }

    /// Whether `presented` is this app's secret, compared in constant time.
    pub fn secret_matches(&self, presented: &str) -> bool {
        self.secret.as_bytes().ct_eq(presented.as_bytes()).into()
    }
}

/// Splits an app access token `APP_ID|APP_SECRET` into its parts; `None` for anything else.
pub fn split_app_token(token: &str) -> Option<(&str, &str)> {
    let (id, secret) = token.split_once('|')?;
    (!id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !secret.is_empty())
        .then_some((id, secret))
}

/// The two shapes of `granular_scopes` that `debug_token` has answered for Embedded Signup
/// tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ScopesShape {
    /// Meta's documented shape: one entry per WhatsApp permission with the WABA ids in
    /// `target_ids`.
    #[default]
    Classic,
    /// Since about 2026-06-10: no `whatsapp_business_management` entry and no `target_ids`
    /// (`business_management`, `whatsapp_business_manage_events`, ...).
    June2026,
}

impl ScopesShape {
    /// Accepted spellings, as the command line and the control API take them.
    pub const NAMES: [&'static str; 2] = ["classic", "2026-06"];

    /// The spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Classic => "classic",
            Self::June2026 => "2026-06",
        }
    }

    /// Parses `classic` or `2026-06`.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "classic" => Some(Self::Classic),
            "2026-06" => Some(Self::June2026),
            _ => None,
        }
    }
}

/// An authorization code Embedded Signup handed to the app (the popup's `authResponse.code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthCode {
    /// The code itself (never logged).
    pub code: String,
    /// The app it was issued to.
    pub app_id: String,
    /// The WABA the signup shared.
    pub waba_id: String,
    /// The customer's business portfolio.
    pub business_id: String,
    /// When it was issued (judged by the WABA's clock).
    pub issued_at: DateTime<Utc>,
    /// Exchanged already.
    pub used: bool,
    /// The `granular_scopes` shape of the token the exchange makes.
    pub scopes_shape: ScopesShape,
}

/// Exchanges a code once, within [`AUTH_CODE_LIFETIME`] of its issue: used → 36009, expired →
/// 36007 (Meta's captured subcodes). An expired code stays unused.
pub fn redeem_code(code: &mut AuthCode, now: DateTime<Utc>) -> Result<(), DomainError> {
    if code.used {
        return Err(DomainError::AuthCodeUsed);
    }
    if now >= code.issued_at + AUTH_CODE_LIFETIME {
        return Err(DomainError::AuthCodeExpired);
    }
    code.used = true;
    Ok(())
}

/// An app subscribed to a WABA (`/{WABA_ID}/subscribed_apps`), with the WABA's alternate
/// callback when the app set one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The subscribed app.
    pub app_id: String,
    /// The WABA alternate callback (`override_callback_uri` with its `verify_token`).
    pub callback_override: Option<CallbackOverride>,
}

/// An alternate callback for a WABA or a phone number.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallbackOverride {
    /// `override_callback_uri`.
    pub uri: String,
    /// `verify_token`.
    pub verify_token: String,
}

/// The bare `POST /{WABA_ID}/subscribed_apps`: subscribes the app, or, when it is subscribed
/// already, removes its WABA override (Meta: "Delete WABA alternate callback").
pub fn subscribe(subscriptions: &mut Vec<Subscription>, app_id: &str) {
    match subscriptions.iter_mut().find(|s| s.app_id == app_id) {
        Some(existing) => existing.callback_override = None,
        None => subscriptions.push(Subscription {
            app_id: app_id.to_owned(),
            callback_override: None,
        }),
    }
}

/// `POST /{WABA_ID}/subscribed_apps` with `override_callback_uri` and `verify_token`: only
/// for an app subscribed already (Meta's `(#100) Before override the current callback uri,
/// your app must be subscribed ...`).
pub fn set_waba_override(
    subscriptions: &mut [Subscription],
    app_id: &str,
    callback: CallbackOverride,
) -> Result<(), DomainError> {
    let subscription = subscriptions
        .iter_mut()
        .find(|s| s.app_id == app_id)
        .ok_or(DomainError::OverrideBeforeSubscription)?;
    subscription.callback_override = Some(callback);
    Ok(())
}

/// `DELETE /{WABA_ID}/subscribed_apps`: the app stops receiving the WABA's webhooks.
/// Whether it was subscribed does not matter (Meta answers success either way).
pub fn unsubscribe(subscriptions: &mut Vec<Subscription>, app_id: &str) {
    subscriptions.retain(|s| s.app_id != app_id);
}

/// Calls of one app on one WABA's management endpoints over the last hour, counted per minute
/// (Meta's budget is a rolling hour; a minute is fine enough for a test and keeps 5 000 calls
/// in 60 slots).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HourlyBudget {
    /// `(minute since the epoch, calls in it)`, oldest first, only minutes of the last hour.
    minutes: Vec<(i64, u32)>,
}

/// What a budgeted call learned: the calls in the hour (including this one when admitted)
/// and the limit, for the usage header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BudgetUsage {
    /// Calls counted in the rolling hour.
    pub calls: u32,
    /// The limit that applied.
    pub limit: u32,
    /// Minutes until a call would be admitted again (0 while under the limit).
    pub minutes_to_regain: u32,
}

impl BudgetUsage {
    /// `call_count` as Meta reports it: a percentage of the limit.
    pub fn percent(&self) -> u32 {
        if self.limit == 0 {
            return 100;
        }
        u32::try_from(u64::from(self.calls) * 100 / u64::from(self.limit)).unwrap_or(u32::MAX)
    }
}

impl HourlyBudget {
    fn forget_before(&mut self, now: DateTime<Utc>) {
        let minute = now.timestamp().div_euclid(60);
        self.minutes.retain(|(at, _)| minute - at < 60);
    }

    /// Calls counted in the hour ending at `now`.
    pub fn calls(&self, now: DateTime<Utc>) -> u32 {
        let minute = now.timestamp().div_euclid(60);
        self.minutes
            .iter()
            .filter(|(at, _)| minute - at < 60)
            .map(|(_, calls)| calls)
            .sum()
    }

    /// Counts a call if the hour has room under `limit`; past it, refuses with 80008 and
    /// counts nothing (Graph refuses before it runs the call).
    pub fn admit(&mut self, now: DateTime<Utc>, limit: u32) -> Result<BudgetUsage, BudgetUsage> {
        self.forget_before(now);
        let calls = self.calls(now);
        if calls >= limit {
            let minute = now.timestamp().div_euclid(60);
            // The oldest minute leaves the window 60 minutes after it began.
            let regain = self
                .minutes
                .first()
                .map_or(1, |(oldest, _)| (oldest + 60 - minute).max(1));
            return Err(BudgetUsage {
                calls,
                limit,
                minutes_to_regain: u32::try_from(regain).unwrap_or(60),
            });
        }
        let minute = now.timestamp().div_euclid(60);
        match self.minutes.last_mut() {
            Some((at, count)) if *at == minute => *count += 1,
            _ => self.minutes.push((minute, 1)),
        }
        Ok(BudgetUsage {
            calls: calls + 1,
            limit,
            minutes_to_regain: 0,
        })
    }
}

/// The per-app, per-WABA budget of the WhatsApp Business Management API: 200 calls an hour,
/// 5 000 once the WABA has a registered number (Meta's rate-limiting page).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WabaBudgetPolicy {
    /// Calls per rolling hour for a WABA without a registered number (0: no budget).
    pub per_hour: u32,
    /// Calls per rolling hour once the WABA has a registered number.
    pub per_hour_registered: u32,
}

impl Default for WabaBudgetPolicy {
    fn default() -> Self {
        Self {
            per_hour: 200,
            per_hour_registered: 5_000,
        }
    }
}

impl WabaBudgetPolicy {
    /// The limit for a WABA, given whether it has a registered number.
    pub fn limit(&self, has_registered_number: bool) -> u32 {
        if has_registered_number {
            self.per_hour_registered
        } else {
            self.per_hour
        }
    }
}

/// Why a number cannot register yet although it is verified: the onboarding holds Meta
/// answers with its own errors.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize,
)]
#[serde(rename_all = "snake_case")]
pub enum NumberHold {
    /// Nothing holds it.
    #[default]
    None,
    /// Still live on a consumer WhatsApp account (100/2388001, "This number is registered to
    /// an existing WhatsApp account...").
    ConsumerAccount,
    /// Registered through another partner's app, until that app deregisters it.
    OtherPartner,
}

impl NumberHold {
    /// Whether nothing holds the number (for `skip_serializing_if`).
    pub fn is_none(&self) -> bool {
        *self == Self::None
    }
}

/// The onboarding states a test can put a number in (at signup or later).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Preset {
    /// Verified, display name approved, not registered, no PIN: register works.
    Ready,
    /// Display name still in review: register answers 100/2388001 until a decision.
    NamePending,
    /// Still on a consumer WhatsApp account: register answers 100/2388001.
    ConsumerAccount,
    /// Coexistence with the WhatsApp Business app: register is not available for SMB
    /// businesses.
    Smb,
    /// A Meta test number: pre-registered, no PIN, `NOT_VERIFIED`, "Test Number".
    TestNumber,
    /// Code verification expired on a registered number.
    VerificationExpired,
    /// Held by another partner's app.
    OtherPartner,
}

impl Preset {
    /// Every preset, in the order the documentation lists them.
    pub const ALL: [Self; 7] = [
        Self::Ready,
        Self::NamePending,
        Self::ConsumerAccount,
        Self::Smb,
        Self::TestNumber,
        Self::VerificationExpired,
        Self::OtherPartner,
    ];

    /// The name the control API takes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Ready => "ready",
            Self::NamePending => "name_pending",
            Self::ConsumerAccount => "consumer_account",
            Self::Smb => "smb",
            Self::TestNumber => "test_number",
            Self::VerificationExpired => "verification_expired",
            Self::OtherPartner => "other_partner",
        }
    }

    /// Every name, for error messages.
    pub fn names() -> Vec<&'static str> {
        Self::ALL.iter().map(|preset| preset.as_str()).collect()
    }

    /// Parses a name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|preset| preset.as_str() == text)
    }

    /// Puts `number` in this state. The limiter's log, the pending code and the number's
    /// identity (id, WABA, display number) are kept; everything the preset speaks about is set.
    pub fn apply(self, number: &mut PhoneNumber) {
        number.verification = CodeVerificationStatus::Verified;
        number.registered = false;
        number.pin = None;
        number.coexistence = false;
        number.migration_pending = false;
        number.set_hold(NumberHold::None);
        number.set_test_number(false);
        number.name_status = NameStatus::Approved;
        number.set_name_change(None);
        match self {
            Self::Ready => {}
            Self::NamePending => number.name_status = NameStatus::PendingReview,
            Self::ConsumerAccount => number.set_hold(NumberHold::ConsumerAccount),
            Self::Smb => {
                number.coexistence = true;
                number.registered = true;
            }
            Self::TestNumber => {
                number.set_test_number(true);
                number.registered = true;
                number.verification = CodeVerificationStatus::NotVerified;
                number.verified_name = CompactString::const_new("Test Number");
            }
            Self::VerificationExpired => {
                number.verification = CodeVerificationStatus::Expired;
                number.registered = true;
            }
            Self::OtherPartner => number.set_hold(NumberHold::OtherPartner),
        }
    }
}

/// A display-name change waiting for review (`new_display_name`, `new_name_status`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NameChange {
    /// The requested name.
    pub new_display_name: CompactString,
    /// `PENDING_REVIEW` until decided, then `APPROVED` or `DECLINED`.
    pub status: NameStatus,
}

/// How a display-name review ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameDecision {
    /// Approved: the name becomes the verified name.
    Approved,
    /// Rejected.
    Rejected,
}

/// `POST /{PHONE_NUMBER_ID}` with `new_display_name`: starts a review of the new name (the
/// verified name stays until it is approved). 2 to 75 characters, as when adding a number.
pub fn request_name_change(number: &mut PhoneNumber, name: &str) -> Result<(), DomainError> {
    let chars = name.chars().count();
    if !(2..=75).contains(&chars) {
        return Err(DomainError::InvalidVerifiedName { chars });
    }
    number.set_name_change(Some(NameChange {
        new_display_name: name.into(),
        status: NameStatus::PendingReview,
    }));
    Ok(())
}

/// Decides the pending review: a requested new name first, else the number's own name while it
/// is `PENDING_REVIEW` (a signup's name). Approval sets `name_status` `APPROVED` (and the new
/// name becomes the verified name); rejection sets `DECLINED` (Meta's display-names page).
/// Returns the name that was reviewed; [`DomainError::NoNameReview`] when nothing waits.
pub fn decide_name_review(
    number: &mut PhoneNumber,
    decision: NameDecision,
) -> Result<CompactString, DomainError> {
    let status = match decision {
        NameDecision::Approved => NameStatus::Approved,
        NameDecision::Rejected => NameStatus::Declined,
    };
    if let Some(change) = number
        .name_change()
        .filter(|change| change.status == NameStatus::PendingReview)
        .cloned()
    {
        if decision == NameDecision::Approved {
            number.verified_name = change.new_display_name.clone();
            number.name_status = NameStatus::Approved;
        }
        number.set_name_change(Some(NameChange {
            new_display_name: change.new_display_name.clone(),
            status,
        }));
        return Ok(change.new_display_name);
    }
    if number.name_status == NameStatus::PendingReview {
        number.name_status = status;
        return Ok(number.verified_name.clone());
    }
    Err(DomainError::NoNameReview)
}

/// The onboarding checks register makes before the PIN (see `register`): coexistence numbers
/// cannot use the endpoint at all, held numbers and names without a certificate are refused.
pub fn onboarding_refusal(number: &PhoneNumber) -> Option<DomainError> {
    match number.hold() {
        NumberHold::ConsumerAccount => return Some(DomainError::OnConsumerAccount),
        NumberHold::OtherPartner => return Some(DomainError::HeldByOtherPartner),
        NumberHold::None => {}
    }
    matches!(
        number.name_status,
        NameStatus::PendingReview | NameStatus::Declined
    )
    .then_some(DomainError::DisplayNameNotProcessed)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_790_000_000 + seconds, 0).unwrap()
    }

    fn code() -> AuthCode {
        AuthCode {
            code: "c".into(),
            app_id: "1".into(),
            waba_id: "2".into(),
            business_id: "3".into(),
            issued_at: at(0),
            used: false,
            scopes_shape: ScopesShape::Classic,
        }
    }

    #[test]
    fn a_code_is_single_use_and_lives_thirty_seconds() {
        let mut fresh = code();
        assert_eq!(redeem_code(&mut fresh, at(29)), Ok(()));
        assert_eq!(
            redeem_code(&mut fresh, at(29)),
            Err(DomainError::AuthCodeUsed)
        );
        let mut late = code();
        assert_eq!(
            redeem_code(&mut late, at(30)),
            Err(DomainError::AuthCodeExpired)
        );
        assert!(!late.used);
    }

    #[test]
    fn app_tokens_split_on_the_bar() {
        assert_eq!(split_app_token("123|abc"), Some(("123", "abc")));
        assert_eq!(split_app_token("123|"), None);
        assert_eq!(split_app_token("|abc"), None);
        assert_eq!(split_app_token("EAA123"), None);
        assert_eq!(split_app_token("12a|abc"), None);
        let app = App {
            id: "1".into(),
            secret: "s3cret".into(),
            name: "n".into(),
            business_id: None,
            webhook: None,
        };
        assert!(app.secret_matches("s3cret"));
        assert!(!app.secret_matches("s3cre"));
        assert_eq!(app.access_token(), "1|s3cret");
    }

    #[test]
    fn overrides_need_a_subscription_and_a_bare_post_removes_them() {
        let mut subscriptions = Vec::new();
        let callback = CallbackOverride {
            uri: "https://example.test/hook".into(),
            verify_token: "t".into(),
        };
        assert_eq!(
            set_waba_override(&mut subscriptions, "1", callback.clone()),
            Err(DomainError::OverrideBeforeSubscription)
        );
        subscribe(&mut subscriptions, "1");
        subscribe(&mut subscriptions, "1");
        assert_eq!(subscriptions.len(), 1);
        set_waba_override(&mut subscriptions, "1", callback.clone()).unwrap();
        assert_eq!(subscriptions[0].callback_override, Some(callback));
        subscribe(&mut subscriptions, "1");
        assert_eq!(subscriptions[0].callback_override, None);
        unsubscribe(&mut subscriptions, "1");
        unsubscribe(&mut subscriptions, "1");
        assert!(subscriptions.is_empty());
    }

    #[test]
    fn the_budget_refuses_past_the_limit_and_frees_up_an_hour_later() {
        let mut budget = HourlyBudget::default();
        for i in 0..3 {
            assert_eq!(budget.admit(at(i * 20), 3).unwrap().calls, i as u32 + 1);
        }
        let refused = budget.admit(at(61), 3).unwrap_err();
        assert_eq!((refused.calls, refused.percent()), (3, 100));
        assert!(refused.minutes_to_regain >= 58);
        // A refused call is not counted.
        assert_eq!(budget.calls(at(61)), 3);
        // An hour after the first minute, its calls leave the window.
        let later = budget.admit(at(3_660), 3).unwrap();
        assert!(later.calls <= 2, "{later:?}");
        assert_eq!(
            BudgetUsage {
                calls: 50,
                limit: 200,
                minutes_to_regain: 0
            }
            .percent(),
            25
        );
    }

    #[test]
    fn presets_put_a_number_in_each_onboarding_state() {
        let mut number = PhoneNumber::new("1", "2");
        number.verified_name = "Shop".into();
        Preset::NamePending.apply(&mut number);
        assert_eq!(
            onboarding_refusal(&number),
            Some(DomainError::DisplayNameNotProcessed)
        );
        Preset::ConsumerAccount.apply(&mut number);
        assert_eq!(
            onboarding_refusal(&number),
            Some(DomainError::OnConsumerAccount)
        );
        Preset::OtherPartner.apply(&mut number);
        assert_eq!(
            onboarding_refusal(&number),
            Some(DomainError::HeldByOtherPartner)
        );
        Preset::Smb.apply(&mut number);
        assert!(number.coexistence && number.registered);
        Preset::TestNumber.apply(&mut number);
        assert!(number.is_test_number() && number.registered && number.pin.is_none());
        assert_eq!(number.verified_name, "Test Number");
        Preset::VerificationExpired.apply(&mut number);
        assert_eq!(number.verification, CodeVerificationStatus::Expired);
        Preset::Ready.apply(&mut number);
        assert_eq!(onboarding_refusal(&number), None);
        assert!(!number.registered && number.pin.is_none());
        for preset in Preset::ALL {
            assert_eq!(Preset::parse(preset.as_str()), Some(preset));
        }
    }

    #[test]
    fn a_name_review_decides_the_new_name_or_the_pending_one() {
        let mut number = PhoneNumber::new("1", "2");
        number.verified_name = "Old".into();
        assert_eq!(
            decide_name_review(&mut number, NameDecision::Approved),
            Err(DomainError::NoNameReview)
        );
        assert!(request_name_change(&mut number, "N").is_err());
        request_name_change(&mut number, "New Name").unwrap();
        assert_eq!(number.verified_name, "Old");
        assert_eq!(
            decide_name_review(&mut number, NameDecision::Approved).unwrap(),
            "New Name"
        );
        assert_eq!(number.verified_name, "New Name");
        assert_eq!(number.name_change().unwrap().status, NameStatus::Approved);
        Preset::NamePending.apply(&mut number);
        decide_name_review(&mut number, NameDecision::Rejected).unwrap();
        assert_eq!(number.name_status, NameStatus::Declined);
        assert_eq!(
            onboarding_refusal(&number),
            Some(DomainError::DisplayNameNotProcessed)
        );
    }
}
