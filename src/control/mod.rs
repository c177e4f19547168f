//! The control API: everything a test needs to steer the emulator (reset, state, clock,
//! journal, faults, limiter, namespaces).
//!
//! Each operation is a plain method on [`Control`], so Rust tests call them in-process
//! (through `RunningEmulator::control()`), and [`http`] exposes the very same methods under
//! `/__emulator/` for every other language and for containers. Control errors have their own
//! small JSON shape (`{"emulator_error": {...}}`) and never pretend to be Graph errors. This
//! layer reaches the state only through [`AppState`]'s methods and never imports the Graph
//! layer.

pub mod http;
mod onboarding;
mod webhooks;

pub use onboarding::{
    FINISH_TYPES, NameReviewRequest, NameReviewView, PresetRequest, SIGNUP_STEPS, SignupRequest,
    SignupView,
};
pub use webhooks::{
    AppWebhookRequest, BusinessAppRequest, EmitRequest, EmittedView, InboundRequest,
    PartnerEventRequest,
};

use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::clock::ClockMode;
use crate::domain::{
    CodeVerificationStatus, Operation, PERMISSION_MANAGEMENT, PERMISSION_MESSAGING, PhoneNumber,
    Pin, RateLimitPolicy, Region, SlidingWindow,
};
use crate::fixtures::{
    FixtureDocument, NumberFixture, PendingVerificationFixture, TokenFixture, WabaFixture,
    app_fixture, auth_code_fixture, number_fixture, pending_fixture, token_fixture, waba_fixture,
};
use crate::state::{
    AppState, Fault, FaultSpec, GaugeView, JournalCounts, JournalEntry, JournalFilter, Namespace,
};

/// A control-API failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ControlError {
    /// HTTP status.
    pub status: StatusCode,
    /// Short machine-readable kind (`not_found`, `invalid`, `conflict`, …).
    pub kind: &'static str,
    /// What went wrong and how to fix it.
    pub message: String,
}

impl ControlError {
    /// 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::NOT_FOUND,
            kind: "not_found",
            message: message.into(),
        }
    }

    /// 400.
    pub fn invalid(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::BAD_REQUEST,
            kind: "invalid",
            message: message.into(),
        }
    }

    /// 409.
    pub fn conflict(message: impl Into<String>) -> Self {
        Self {
            status: StatusCode::CONFLICT,
            kind: "conflict",
            message: message.into(),
        }
    }
}

/// What `POST /__emulator/namespaces` accepts.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NamespaceRequest {
    /// Copy the numbers of this fixture WABA (default: the first fixture WABA).
    #[serde(default)]
    pub template_waba: Option<String>,
    /// Or give the numbers explicitly (ids are replaced by fresh ones).
    #[serde(default)]
    pub numbers: Option<Vec<NumberFixture>>,
}

/// What a new namespace is.
#[derive(Debug, Clone, Serialize)]
pub struct NamespaceView {
    /// The namespace id (= its WABA id).
    pub namespace: String,
    /// The WABA id.
    pub waba_id: String,
    /// A token allowed on this WABA only, with both WhatsApp permissions.
    pub token: String,
    /// Its numbers.
    pub numbers: Vec<NumberView>,
}

/// One limiter window as the control API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WindowView {
    /// Requests allowed in the window.
    pub limit: u32,
    /// Window length in seconds.
    pub window_seconds: i64,
    /// Counted requests still in the window.
    pub used: usize,
    /// Requests left before the limit.
    pub remaining: usize,
    /// Each counted request with the instant it leaves the window.
    pub requests: Vec<WindowRequest>,
    /// End of an active block.
    pub blocked_until: Option<DateTime<Utc>>,
    /// When the next request would be admitted (now, if it would be now).
    pub next_slot_at: DateTime<Utc>,
}

/// One counted request.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WindowRequest {
    /// When it was counted.
    pub at: DateTime<Utc>,
    /// When it leaves the window.
    pub expires_at: DateTime<Utc>,
}

/// Both windows of a number.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LimitsView {
    /// The register window.
    pub register: WindowView,
    /// The deregister window.
    pub deregister: WindowView,
}

/// A PIN lockout as the control API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct LockoutView {
    /// Consecutive mismatches.
    pub consecutive_failures: u32,
    /// End of an active lock.
    pub locked_until: Option<DateTime<Utc>>,
}

/// Every internal field of a number.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NumberView {
    /// Graph id.
    pub id: String,
    /// Its WABA.
    pub waba_id: String,
    /// Human-readable number.
    pub display_phone_number: String,
    /// Display name.
    pub verified_name: String,
    /// `VERIFIED`, `NOT_VERIFIED`, `EXPIRED`.
    pub code_verification_status: CodeVerificationStatus,
    /// Registered on the Cloud API.
    pub registered: bool,
    /// `CONNECTED` when registered, else `PENDING`.
    pub status: &'static str,
    /// Two-step verification is on.
    pub pin_set: bool,
    /// PIN-guess lockout.
    pub pin_lockout: LockoutView,
    /// Local-storage region.
    pub data_localization_region: Option<&'static str>,
    /// Coexistence with the WhatsApp Business app.
    pub coexistence: bool,
    /// Limiter windows.
    pub rate_limits: LimitsView,
    /// The code `request_code` "sent", while one is pending (tests read it here).
    pub pending_verification: Option<PendingVerificationView>,
    /// Added with `migrate_phone_number` and not yet registered with a backup.
    pub migration_pending: bool,
    /// `name_status` (a signup with the `name_pending` preset starts in `PENDING_REVIEW`).
    pub name_status: crate::domain::NameStatus,
    /// A requested display-name change and its review status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_display_name: Option<String>,
    /// Its review status (`PENDING_REVIEW`, `APPROVED`, `DECLINED`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new_name_status: Option<crate::domain::NameStatus>,
    /// An onboarding hold (`consumer_account`, `other_partner`), if any.
    #[serde(skip_serializing_if = "crate::domain::NumberHold::is_none")]
    pub hold: crate::domain::NumberHold,
    /// One of Meta's test numbers.
    pub test_number: bool,
    /// The clock the number is judged by: `emulator`, or `namespace:<id>` when its namespace
    /// has a clock of its own.
    pub clock: String,
    /// That clock's now (what the windows, lockouts and codes above were judged at).
    pub clock_now: DateTime<Utc>,
}

/// A pending verification code: its fixture form plus whether it has expired.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct PendingVerificationView {
    /// Code, method, language and expiry, as in a fixture.
    #[serde(flatten)]
    pub pending: PendingVerificationFixture,
    /// Whether it has already expired at the emulator's now.
    pub expired: bool,
}

/// Changes to a number; absent fields stay as they are, `null` clears optional ones.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NumberPatch {
    /// New display number.
    pub display_phone_number: Option<String>,
    /// New display name.
    pub verified_name: Option<String>,
    /// New verification status.
    pub code_verification_status: Option<CodeVerificationStatus>,
    /// New PIN (`null` turns two-step verification off).
    #[serde(default, deserialize_with = "present")]
    pub pin: Option<Option<String>>,
    /// Registered or not.
    pub registered: Option<bool>,
    /// New region (`null`: default storage).
    #[serde(default, deserialize_with = "present")]
    pub data_localization_region: Option<Option<String>>,
    /// Coexistence flag.
    pub coexistence: Option<bool>,
}

/// A new number: the fixture fields plus its WABA.
#[derive(Debug, Clone, Deserialize)]
pub struct NewNumber {
    /// The WABA it joins.
    pub waba_id: String,
    /// Its fields, as in a fixture (the id may be left out for a fresh one).
    #[serde(flatten)]
    pub number: NewNumberFields,
}

/// Fixture fields with an optional id.
#[derive(Debug, Clone, Deserialize)]
pub struct NewNumberFields {
    /// Id; fresh when absent.
    #[serde(default)]
    pub id: Option<String>,
    /// The rest.
    #[serde(flatten)]
    pub rest: serde_json::Map<String, serde_json::Value>,
}

/// Changes to a WABA.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WabaPatch {
    /// New name.
    pub name: Option<String>,
}

/// Changes to a token.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenPatch {
    /// New permission list.
    pub permissions: Option<Vec<String>>,
    /// New WABA list (`["*"]`: all).
    pub wabas: Option<Vec<String>>,
    /// New expiry (`null`: never).
    #[serde(default, deserialize_with = "present")]
    pub expires_at: Option<Option<DateTime<Utc>>>,
}

/// A clock change.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClockChange {
    /// Set the clock to this instant.
    pub set: Option<DateTime<Utc>>,
    /// Move the clock by this much: `"72h"`, `"90m"`, `"1h30m"` or a number of seconds.
    pub advance: Option<serde_json::Value>,
}

/// The clock as the control API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct ClockView {
    /// The emulator's now.
    pub now: DateTime<Utc>,
    /// `system` or `manual`.
    pub mode: &'static str,
    /// Offset from the system clock in milliseconds.
    pub offset_ms: i64,
}

/// A namespace's clock as the control API shows it.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NamespaceClockView {
    /// The namespace.
    pub namespace: String,
    /// Its now.
    pub now: DateTime<Utc>,
    /// `system` or `manual` (as the emulator's clock).
    pub mode: &'static str,
    /// Its offset from the system clock in milliseconds.
    pub offset_ms: i64,
    /// `true` while it follows the emulator's clock (until it is set or advanced, and again
    /// after a reset of the namespace).
    pub follows_emulator: bool,
}

fn present<'de, D, T>(deserializer: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(deserializer).map(Some)
}

fn window_view(window: &SlidingWindow, policy: &RateLimitPolicy, now: DateTime<Utc>) -> WindowView {
    let requests: Vec<WindowRequest> = window
        .requests()
        .filter(|at| *at + policy.window > now)
        .map(|at| WindowRequest {
            at,
            expires_at: at + policy.window,
        })
        .collect();
    let blocked_until = window.active_block(now);
    let limit = policy.limit as usize;
    let full_until = if requests.len() >= limit {
        requests
            .get(requests.len() - limit)
            .map(|oldest| oldest.expires_at)
    } else {
        None
    };
    let next_slot_at = [Some(now), blocked_until, full_until]
        .into_iter()
        .flatten()
        .max()
        .unwrap_or(now);
    WindowView {
        limit: policy.limit,
        window_seconds: policy.window.num_seconds(),
        used: requests.len(),
        remaining: limit.saturating_sub(requests.len()),
        requests,
        blocked_until,
        next_slot_at,
    }
}

/// The control operations as plain method calls: what `/__emulator/` serves over HTTP and
/// what a Rust test calls in-process (`RunningEmulator::control()`). Every operation, and
/// every check of its input, lives here once; the HTTP layer only decodes and encodes.
#[derive(Debug, Clone)]
pub struct Control(AppState);

impl Control {
    /// The control operations on `state`.
    pub fn new(state: AppState) -> Self {
        Self(state)
    }

    /// The state they act on.
    pub fn state(&self) -> &AppState {
        &self.0
    }

    /// The control-API view of a number at the emulator's now.
    pub fn number_view(&self, number: &PhoneNumber) -> NumberView {
        let (now, judged_by) = self.0.now_for_waba(&number.waba_id);
        let policy = &self.0.policy().rate_limit;
        NumberView {
            id: number.id.to_string(),
            waba_id: number.waba_id.to_string(),
            display_phone_number: number.display_phone_number.to_string(),
            verified_name: number.verified_name.to_string(),
            code_verification_status: number.verification,
            registered: number.registered,
            status: if number.registered {
                "CONNECTED"
            } else {
                "PENDING"
            },
            pin_set: number.pin.is_some(),
            pin_lockout: LockoutView {
                consecutive_failures: number.pin_lockout().consecutive_failures,
                locked_until: number
                    .pin_lockout()
                    .locked_until
                    .filter(|until| *until > now),
            },
            data_localization_region: number.region.map(Region::code),
            coexistence: number.coexistence,
            rate_limits: LimitsView {
                register: window_view(number.window(Operation::Register), policy, now),
                deregister: window_view(number.window(Operation::Deregister), policy, now),
            },
            pending_verification: number.pending_verification().map(|pending| {
                PendingVerificationView {
                    pending: pending_fixture(pending),
                    expired: pending.expires_at <= now,
                }
            }),
            migration_pending: number.migration_pending,
            name_status: number.name_status,
            new_display_name: number
                .name_change()
                .map(|change| change.new_display_name.to_string()),
            new_name_status: number.name_change().map(|change| change.status),
            hold: number.hold(),
            test_number: number.is_test_number(),
            clock: judged_by.label(),
            clock_now: now,
        }
    }

    /// Every number (optionally of one WABA), sorted by id.
    pub fn list_numbers(&self, waba_id: Option<&str>) -> Vec<NumberView> {
        let numbers = self.0.world().numbers();
        numbers
            .iter()
            .filter(|number| waba_id.is_none_or(|waba| *number.waba_id == *waba))
            .map(|number| self.number_view(number))
            .collect()
    }

    /// One number.
    pub fn get_number(&self, id: &str) -> Result<NumberView, ControlError> {
        self.0
            .number(id)
            .map(|number| self.number_view(&number))
            .ok_or_else(|| no_number(id))
    }

    /// How many numbers the emulator holds.
    pub fn number_count(&self) -> usize {
        self.0.number_count()
    }

    /// Back to the loaded fixtures: numbers, PINs, tokens, limiter logs, journal, faults and
    /// namespaces. The clock is left alone.
    ///
    /// A large fixture file is read again (see [`crate::fixtures::ResetTarget`]); if it
    /// changed since start or cannot be read, nothing is reset and the error says why.
    pub fn reset(&self) -> Result<(), ControlError> {
        let document = self.fixture_document()?;
        self.0.reset_to(&document);
        Ok(())
    }

    /// The document a reset returns to.
    fn fixture_document(&self) -> Result<std::sync::Arc<FixtureDocument>, ControlError> {
        self.0.fixture_document().map_err(|error| ControlError {
            status: StatusCode::CONFLICT,
            kind: "fixtures_unavailable",
            message: format!(
                "{error}; nothing was changed (fixture files over the keep-parsed limit are \
                     read again on reset: restart the emulator to load a new file, or import \
                     a document with PUT /__emulator/state)"
            ),
        })
    }

    /// What a reset returns to.
    pub fn reset_target(&self) -> &crate::fixtures::ResetTarget {
        self.0.reset_target()
    }

    /// The whole state as a fixture document (importable, and loadable with `--fixtures`).
    pub fn export(&self) -> FixtureDocument {
        let world = self.0.world();
        let numbers = world.numbers();
        let wabas = world
            .wabas()
            .into_iter()
            .map(|waba| WabaFixture {
                phone_numbers: numbers
                    .iter()
                    .filter(|number| *number.waba_id == *waba.id)
                    .map(number_fixture)
                    .collect(),
                ..waba_fixture(&waba)
            })
            .collect();
        let tokens = world.tokens().into_iter().map(token_fixture).collect();
        FixtureDocument {
            apps: world.apps().iter().map(app_fixture).collect(),
            tokens,
            wabas,
            auth_codes: world.auth_codes().iter().map(auth_code_fixture).collect(),
        }
    }

    /// Replaces the whole state with a fixture document (journal and faults are kept).
    pub fn import(&self, document: &FixtureDocument) -> Result<(), ControlError> {
        document.validate().map_err(ControlError::invalid)?;
        self.0.replace(document);
        Ok(())
    }

    /// Adds a number to an existing WABA.
    pub fn create_number(&self, request: NewNumber) -> Result<NumberView, ControlError> {
        let world = self.0.world();
        if world.waba(&request.waba_id).is_none() {
            return Err(ControlError::not_found(format!(
                "no WABA with id {}",
                request.waba_id
            )));
        }
        let id = match request.number.id {
            Some(id) => {
                if world.id_taken(&id) {
                    return Err(ControlError::conflict(format!("id {id} is already in use")));
                }
                id
            }
            None => self.0.fresh_control_id(),
        };
        let mut fields = request.number.rest;
        fields.insert("id".into(), serde_json::Value::String(id.clone()));
        let fixture: NumberFixture = serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|error| ControlError::invalid(format!("invalid number: {error}")))?;
        let number = self.validated_number(&request.waba_id, fixture)?;
        let view = self.number_view(&number);
        world.put_number(number);
        Ok(view)
    }

    fn validated_number(
        &self,
        waba_id: &str,
        fixture: NumberFixture,
    ) -> Result<PhoneNumber, ControlError> {
        let document = FixtureDocument {
            wabas: vec![WabaFixture {
                id: waba_id.to_owned(),
                phone_numbers: vec![fixture],
                ..WabaFixture::default()
            }],
            ..FixtureDocument::default()
        };
        document.validate().map_err(ControlError::invalid)?;
        let mut wabas = document.wabas(self.0.policy());
        wabas
            .pop()
            .and_then(|(_, mut numbers)| numbers.pop())
            .ok_or_else(|| ControlError::invalid("no number given"))
    }

    /// Changes fields of a number.
    pub fn patch_number(&self, id: &str, patch: NumberPatch) -> Result<NumberView, ControlError> {
        let pin = match &patch.pin {
            Some(Some(text)) => {
                Some(Some(Pin::parse(text).map_err(|_| {
                    ControlError::invalid("pin must be exactly 6 digits")
                })?))
            }
            Some(None) => Some(None),
            None => None,
        };
        let region = match &patch.data_localization_region {
            Some(Some(code)) => Some(Some(Region::parse(code).map_err(|_| {
                ControlError::invalid(format!(
                    "data_localization_region {code:?} is not one of {}",
                    Region::ALL.join(", ")
                ))
            })?)),
            Some(None) => Some(None),
            None => None,
        };
        let updated = self
            .0
            .world()
            .update_number(id, |number| {
                let mut next = number.clone();
                if let Some(value) = &patch.display_phone_number {
                    next.display_phone_number = value.into();
                }
                if let Some(value) = &patch.verified_name {
                    next.verified_name = value.into();
                }
                if let Some(value) = patch.code_verification_status {
                    next.verification = value;
                }
                if let Some(value) = pin {
                    next.pin = value;
                    next.clear_pin_lockout();
                }
                if let Some(value) = patch.registered {
                    next.registered = value;
                }
                if let Some(value) = region {
                    next.region = value;
                }
                if let Some(value) = patch.coexistence {
                    next.coexistence = value;
                }
                if next.registered && next.verification != CodeVerificationStatus::Verified {
                    return Err(ControlError::invalid(
                        "a registered number must have code_verification_status VERIFIED",
                    ));
                }
                **number = next.clone();
                Ok(next)
            })
            .ok_or_else(|| no_number(id))??;
        Ok(self.number_view(&updated))
    }

    /// Removes a number.
    pub fn delete_number(&self, id: &str) -> Result<(), ControlError> {
        self.0
            .world()
            .remove_number(id)
            .map(|_| ())
            .ok_or_else(|| no_number(id))
    }

    /// A number's limiter windows.
    pub fn limits(&self, id: &str) -> Result<LimitsView, ControlError> {
        self.get_number(id).map(|view| view.rate_limits)
    }

    /// Clears a number's limiter windows and blocks (one operation, or both).
    pub fn clear_limits(
        &self,
        id: &str,
        operation: Option<Operation>,
    ) -> Result<LimitsView, ControlError> {
        self.0
            .world()
            .update_number(id, |number| match operation {
                Some(operation) => operation.window(number).clear(),
                None => number.clear_windows(),
            })
            .ok_or_else(|| no_number(id))?;
        self.limits(id)
    }

    /// Every WABA.
    pub fn list_wabas(&self) -> Vec<WabaFixture> {
        self.0
            .world()
            .wabas()
            .into_iter()
            .map(|waba| waba_fixture(&waba))
            .collect()
    }

    /// Adds a WABA (with numbers, as in a fixture); a fresh id when `id` is empty.
    pub fn create_waba(&self, mut waba: WabaFixture) -> Result<WabaFixture, ControlError> {
        let world = self.0.world();
        if waba.id.is_empty() {
            waba.id = self.0.fresh_control_id();
        } else if world.id_taken(&waba.id) {
            return Err(ControlError::conflict(format!(
                "id {} is already in use",
                waba.id
            )));
        }
        for number in &waba.phone_numbers {
            if world.id_taken(&number.id) {
                return Err(ControlError::conflict(format!(
                    "id {} is already in use",
                    number.id
                )));
            }
        }
        let document = FixtureDocument {
            apps: self.list_apps(),
            wabas: vec![waba.clone()],
            ..FixtureDocument::default()
        };
        document.validate().map_err(ControlError::invalid)?;
        for (record, numbers) in document.wabas(self.0.policy()) {
            world.insert_waba(record);
            for number in numbers {
                world.put_number(number);
            }
        }
        Ok(waba)
    }

    /// Renames a WABA.
    pub fn patch_waba(&self, id: &str, patch: WabaPatch) -> Result<WabaFixture, ControlError> {
        let world = self.0.world();
        let mut waba = world.waba(id).ok_or_else(|| no_waba(id))?;
        if let Some(name) = patch.name {
            waba.name = name;
        }
        world.insert_waba(waba.clone());
        Ok(waba_fixture(&waba))
    }

    /// Removes a WABA with its numbers (and the namespace it was, if any).
    pub fn delete_waba(&self, id: &str) -> Result<(), ControlError> {
        self.0
            .remove_waba(id)
            .map(|_| ())
            .ok_or_else(|| no_waba(id))
    }

    /// Every token (values included: the control API is for the test author).
    pub fn list_tokens(&self) -> Vec<TokenFixture> {
        self.0
            .world()
            .tokens()
            .into_iter()
            .map(token_fixture)
            .collect()
    }

    /// Adds a token.
    pub fn create_token(&self, token: TokenFixture) -> Result<TokenFixture, ControlError> {
        if self.0.world().token(&token.value).is_some() {
            return Err(ControlError::conflict("that token value already exists"));
        }
        self.validate_token(&token)?;
        self.insert_token_fixture(&token);
        Ok(token)
    }

    fn validate_token(&self, token: &TokenFixture) -> Result<(), ControlError> {
        let document = FixtureDocument {
            apps: self.list_apps(),
            tokens: vec![token.clone()],
            wabas: self.list_wabas(),
            ..FixtureDocument::default()
        };
        document.validate().map_err(ControlError::invalid)
    }

    fn insert_token_fixture(&self, token: &TokenFixture) {
        let document = FixtureDocument {
            tokens: vec![token.clone()],
            ..FixtureDocument::default()
        };
        let world = self.0.world();
        for record in document.tokens() {
            world.insert_token(record);
        }
    }

    /// Changes a token's permissions, WABAs or expiry.
    pub fn patch_token(
        &self,
        value: &str,
        patch: TokenPatch,
    ) -> Result<TokenFixture, ControlError> {
        let current = self
            .0
            .world()
            .token(value)
            .ok_or_else(|| ControlError::not_found("no such token"))?;
        let mut token = token_fixture(current);
        if let Some(permissions) = patch.permissions {
            token.permissions = permissions;
        }
        if let Some(wabas) = patch.wabas {
            token.wabas = wabas;
        }
        if let Some(expires_at) = patch.expires_at {
            token.expires_at = expires_at;
        }
        self.validate_token(&token)?;
        self.insert_token_fixture(&token);
        Ok(token)
    }

    /// Removes a token.
    pub fn delete_token(&self, value: &str) -> Result<(), ControlError> {
        if self.0.world().remove_token(value) {
            Ok(())
        } else {
            Err(ControlError::not_found("no such token"))
        }
    }

    /// The clock.
    pub fn clock_view(&self) -> ClockView {
        let clock = self.0.clock();
        ClockView {
            now: clock.now(),
            mode: mode_name(clock.mode()),
            offset_ms: clock.offset().num_milliseconds(),
        }
    }

    /// Sets or advances the clock (persisted with `--data-dir`).
    pub fn change_clock(&self, change: ClockChange) -> Result<ClockView, ControlError> {
        match ClockMove::of(change)? {
            ClockMove::Set(instant) => self.0.set_clock(instant),
            ClockMove::Advance(delta) => self.0.advance_clock(delta),
        }
        Ok(self.clock_view())
    }

    /// A namespace's clock: its own once set apart, else the emulator's.
    pub fn namespace_clock(&self, id: &str) -> Result<NamespaceClockView, ControlError> {
        if self.0.namespace(id).is_none() {
            return Err(no_namespace(id));
        }
        let own = self.0.namespace_clock(id);
        let clock = own.as_deref().unwrap_or(self.0.clock());
        Ok(NamespaceClockView {
            namespace: id.to_owned(),
            now: clock.now(),
            mode: mode_name(clock.mode()),
            offset_ms: clock.offset().num_milliseconds(),
            follows_emulator: own.is_none(),
        })
    }

    /// Sets or advances one namespace's clock (the same body as [`change_clock`](Self::change_clock))
    /// without moving the emulator's or any other namespace's. From then on the namespace's
    /// objects are judged by it; a reset of the namespace makes it follow the emulator's again.
    pub fn change_namespace_clock(
        &self,
        id: &str,
        change: ClockChange,
    ) -> Result<NamespaceClockView, ControlError> {
        let change = ClockMove::of(change)?;
        self.0
            .change_namespace_clock(id, |clock| change.apply(clock))
            .ok_or_else(|| no_namespace(id))?;
        self.namespace_clock(id)
    }

    /// Journal entries matching `filter`, oldest first.
    pub fn journal(&self, filter: &JournalFilter) -> Vec<JournalEntry> {
        self.0.journal().entries(filter)
    }

    /// How many journaled requests match `filter`, by what happened to them: how many ran
    /// against the state (`applied`), succeeded, were shaped by a fault, and what their
    /// clients got (answered, dropped, reset, hung, abandoned). Counts what the journal still
    /// holds (see its capacity).
    pub fn journal_counts(&self, filter: &JournalFilter) -> JournalCounts {
        self.0.journal().counts(filter)
    }

    /// Open connections and requests held by `hang` faults, on every listener.
    pub fn connections(&self) -> GaugeView {
        self.0.gauges().view()
    }

    /// Forgets every journal entry.
    pub fn clear_journal(&self) {
        self.0.journal().clear();
    }

    /// The armed faults.
    pub fn faults(&self) -> Vec<Fault> {
        self.0.faults().list()
    }

    /// Arms a fault; an invalid spec arms nothing and says why.
    pub fn arm_fault(&self, spec: FaultSpec) -> Result<Fault, ControlError> {
        self.0
            .faults()
            .arm(spec)
            .map_err(|error| ControlError::invalid(error.to_string()))
    }

    /// Removes one fault.
    pub fn remove_fault(&self, id: u64) -> Result<(), ControlError> {
        if self.0.faults().remove(id) {
            Ok(())
        } else {
            Err(ControlError::not_found(format!("no fault {id}")))
        }
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.0.faults().clear();
    }

    /// Creates a namespace: a fresh WABA with copies of a template's numbers (fresh ids) and a
    /// token of its own.
    pub fn create_namespace(
        &self,
        request: NamespaceRequest,
    ) -> Result<NamespaceView, ControlError> {
        // The template comes first: for a large fixture file it is read and parsed again.
        let templates: Vec<NumberFixture> = match (request.numbers, request.template_waba) {
            (Some(_), Some(_)) => {
                return Err(ControlError::invalid(
                    "give either \"numbers\" or \"template_waba\", not both",
                ));
            }
            (Some(numbers), None) => numbers,
            (None, template) => {
                let fixtures = self.fixture_document()?;
                let waba = match &template {
                    Some(id) => fixtures.wabas.iter().find(|waba| &waba.id == id),
                    None => fixtures.wabas.first(),
                };
                let waba = waba.ok_or_else(|| {
                    ControlError::not_found(format!(
                        "no fixture WABA {} to copy",
                        template.as_deref().unwrap_or("(the fixtures have none)")
                    ))
                })?;
                waba.phone_numbers.clone()
            }
        };
        let waba_id = self.0.fresh_control_id();
        let phone_numbers = templates
            .into_iter()
            .map(|mut number| {
                number.id = self.0.fresh_control_id().into();
                number
            })
            .collect();
        let waba = WabaFixture {
            id: waba_id.clone(),
            name: format!("Namespace {waba_id}"),
            phone_numbers,
            ..WabaFixture::default()
        };
        let token = TokenFixture {
            value: format!("EAANamespace{waba_id}x{}", self.0.next_control_serial()),
            permissions: vec![
                PERMISSION_MANAGEMENT.to_owned(),
                PERMISSION_MESSAGING.to_owned(),
            ],
            wabas: vec![waba_id.clone()],
            ..TokenFixture::default()
        };
        let document = FixtureDocument {
            tokens: vec![token.clone()],
            wabas: vec![waba.clone()],
            ..FixtureDocument::default()
        };
        document.validate().map_err(ControlError::invalid)?;
        let namespace = Namespace::from_fixtures(&waba, &token, self.0.policy())
            .ok_or_else(|| ControlError::invalid("empty namespace"))?;
        let view = self.namespace_view(&namespace);
        self.0.insert_namespace(namespace);
        Ok(view)
    }

    fn namespace_view(&self, namespace: &Namespace) -> NamespaceView {
        NamespaceView {
            namespace: namespace.waba.id.clone(),
            waba_id: namespace.waba.id.clone(),
            token: namespace.token.value.clone(),
            numbers: namespace
                .numbers
                .iter()
                .map(|number| self.number_view(number))
                .collect(),
        }
    }

    /// Returns one namespace's numbers to how they were created (its token too).
    pub fn reset_namespace(&self, id: &str) -> Result<NamespaceView, ControlError> {
        let namespace = self.0.reset_namespace(id).ok_or_else(|| no_namespace(id))?;
        Ok(self.namespace_view(&namespace))
    }

    /// Removes a namespace with its WABA, numbers and token.
    pub fn delete_namespace(&self, id: &str) -> Result<(), ControlError> {
        self.0
            .remove_namespace(id)
            .map(|_| ())
            .ok_or_else(|| no_namespace(id))
    }
}

/// A checked clock change: exactly one of `set` and `advance`.
enum ClockMove {
    Set(DateTime<Utc>),
    Advance(TimeDelta),
}

impl ClockMove {
    fn of(change: ClockChange) -> Result<Self, ControlError> {
        match (change.set, change.advance) {
            (Some(_), Some(_)) => Err(ControlError::invalid(
                "give either \"set\" or \"advance\", not both",
            )),
            (Some(instant), None) => Ok(Self::Set(instant)),
            (None, Some(advance)) => Ok(Self::Advance(parse_advance(&advance)?)),
            (None, None) => Err(ControlError::invalid(
                "give \"set\" (RFC 3339 instant) or \"advance\" (e.g. \"72h\", \"90m\", or seconds)",
            )),
        }
    }

    fn apply(&self, clock: &crate::clock::Clock) {
        match self {
            Self::Set(instant) => clock.set(*instant),
            Self::Advance(delta) => clock.advance(*delta),
        }
    }
}

fn mode_name(mode: ClockMode) -> &'static str {
    match mode {
        ClockMode::System => "system",
        ClockMode::Manual => "manual",
    }
}

fn no_namespace(id: &str) -> ControlError {
    ControlError::not_found(format!("no namespace {id}"))
}

fn no_number(id: &str) -> ControlError {
    ControlError::not_found(format!("no phone number with id {id}"))
}

fn no_waba(id: &str) -> ControlError {
    ControlError::not_found(format!("no WABA with id {id}"))
}

fn parse_advance(value: &serde_json::Value) -> Result<TimeDelta, ControlError> {
    match value {
        serde_json::Value::Number(number) => number
            .as_f64()
            .filter(|secs| secs.is_finite() && secs.abs() < 1e11)
            .map(|secs| TimeDelta::milliseconds((secs * 1000.0).round() as i64))
            .ok_or_else(|| ControlError::invalid("advance must be a reasonable number of seconds")),
        serde_json::Value::String(text) => {
            crate::clock::parse_duration(text).map_err(ControlError::invalid)
        }
        _ => Err(ControlError::invalid(
            "advance must be a duration string (\"72h\", \"90m\") or a number of seconds",
        )),
    }
}
