//! The control API: everything a test needs to steer the emulator (reset, state, clock,
//! journal, faults, limiter, namespaces).
//!
//! Each operation is a plain method on [`AppState`], so Rust tests call them in-process
//! (through `RunningEmulator::control()`), and [`http`] exposes the very same methods under
//! `/__emulator/` for every other language and for containers. Control errors have their own
//! small JSON shape (`{"emulator_error": {...}}`) and never pretend to be Graph errors.

pub mod faults;
pub mod http;
pub mod journal;

use std::sync::atomic::Ordering;

use axum::http::StatusCode;
use chrono::{DateTime, TimeDelta, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::clock::ClockMode;
use crate::domain::{
    CodeVerificationStatus, Operation, PhoneNumber, Pin, PinLockout, RateLimitPolicy, Region,
    SlidingWindow,
};
use crate::fixtures::{
    FixtureDocument, NumberFixture, PendingVerificationFixture, PinLockoutFixture,
    RateLimitsFixture, TokenFixture, WabaFixture, WindowFixture,
};
use crate::state::{AppState, Token, Waba, WabaScope};
use crate::store::ClockRecord;

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

/// A namespace: a WABA with its own numbers and token, created from a template.
#[derive(Debug, Clone)]
pub struct Namespace {
    /// The WABA.
    pub waba: Waba,
    /// Its numbers as created (what a scoped reset returns to).
    pub numbers: Vec<PhoneNumber>,
    /// Its token.
    pub token: Token,
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

impl AppState {
    /// The control-API view of a number at the emulator's now.
    pub fn number_view(&self, number: &PhoneNumber) -> NumberView {
        let now = self.clock.now();
        let policy = &self.policy.rate_limit;
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
        }
    }

    /// Every number (optionally of one WABA), sorted by id.
    pub fn list_numbers(&self, waba_id: Option<&str>) -> Vec<NumberView> {
        self.world
            .numbers()
            .iter()
            .filter(|number| waba_id.is_none_or(|waba| *number.waba_id == *waba))
            .map(|number| self.number_view(number))
            .collect()
    }

    /// One number.
    pub fn get_number(&self, id: &str) -> Result<NumberView, ControlError> {
        self.world
            .number(id)
            .map(|number| self.number_view(&number))
            .ok_or_else(|| ControlError::not_found(format!("no phone number with id {id}")))
    }

    /// Back to the loaded fixtures: numbers, PINs, tokens, limiter logs, journal, faults and
    /// namespaces. The clock is left alone.
    ///
    /// A large fixture file is read again (see [`crate::fixtures::ResetTarget`]); if it
    /// changed since start or cannot be read, nothing is reset and the error says why.
    pub fn reset(&self) -> Result<(), ControlError> {
        let document = self.fixture_document()?;
        let _exclusive = self.gate.write();
        self.world.load(&document, &self.policy);
        self.namespaces.lock().clear();
        self.journal.clear();
        self.faults.clear();
        Ok(())
    }

    /// The document a reset returns to.
    fn fixture_document(&self) -> Result<std::sync::Arc<FixtureDocument>, ControlError> {
        self.reset_target.document().map_err(|error| ControlError {
            status: StatusCode::CONFLICT,
            kind: "fixtures_unavailable",
            message: format!(
                "{error}; nothing was changed (fixture files over the keep-parsed limit are \
                     read again on reset: restart the emulator to load a new file, or import \
                     a document with PUT /__emulator/state)"
            ),
        })
    }

    /// The whole state as a fixture document (importable, and loadable with `--fixtures`).
    pub fn export(&self) -> FixtureDocument {
        let _shared = self.gate.read();
        let numbers = self.world.numbers();
        let wabas = self
            .world
            .wabas()
            .into_iter()
            .map(|waba| WabaFixture {
                phone_numbers: numbers
                    .iter()
                    .filter(|number| *number.waba_id == *waba.id)
                    .map(number_fixture)
                    .collect(),
                id: waba.id,
                name: waba.name,
            })
            .collect();
        let tokens = self.world.tokens().into_iter().map(token_fixture).collect();
        FixtureDocument { tokens, wabas }
    }

    /// Replaces the whole state with a fixture document (journal and faults are kept).
    pub fn import(&self, document: &FixtureDocument) -> Result<(), ControlError> {
        document.validate().map_err(ControlError::invalid)?;
        let _exclusive = self.gate.write();
        self.world.load(document, &self.policy);
        self.namespaces.lock().clear();
        Ok(())
    }

    fn fresh_id(&self) -> String {
        loop {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed).to_string();
            if !self.world.id_taken(&id) {
                return id;
            }
        }
    }

    /// Adds a number to an existing WABA.
    pub fn create_number(&self, request: NewNumber) -> Result<NumberView, ControlError> {
        let _shared = self.gate.read();
        if self.world.waba(&request.waba_id).is_none() {
            return Err(ControlError::not_found(format!(
                "no WABA with id {}",
                request.waba_id
            )));
        }
        let id = match request.number.id {
            Some(id) => {
                if self.world.id_taken(&id) {
                    return Err(ControlError::conflict(format!("id {id} is already in use")));
                }
                id
            }
            None => self.fresh_id(),
        };
        let mut fields = request.number.rest;
        fields.insert("id".into(), serde_json::Value::String(id.clone()));
        let fixture: NumberFixture = serde_json::from_value(serde_json::Value::Object(fields))
            .map_err(|error| ControlError::invalid(format!("invalid number: {error}")))?;
        let number = self.validated_number(&request.waba_id, fixture)?;
        let view = self.number_view(&number);
        self.world.put_number(number);
        Ok(view)
    }

    fn validated_number(
        &self,
        waba_id: &str,
        fixture: NumberFixture,
    ) -> Result<PhoneNumber, ControlError> {
        let document = FixtureDocument {
            tokens: Vec::new(),
            wabas: vec![WabaFixture {
                id: waba_id.to_owned(),
                name: String::new(),
                phone_numbers: vec![fixture],
            }],
        };
        document.validate().map_err(ControlError::invalid)?;
        let mut wabas = document.wabas(&self.policy);
        wabas
            .pop()
            .and_then(|(_, mut numbers)| numbers.pop())
            .ok_or_else(|| ControlError::invalid("no number given"))
    }

    /// Changes fields of a number.
    pub fn patch_number(&self, id: &str, patch: NumberPatch) -> Result<NumberView, ControlError> {
        let _shared = self.gate.read();
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
            .world
            .with_number(id, |number| {
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
                *number = next.clone();
                Ok(next)
            })
            .ok_or_else(|| ControlError::not_found(format!("no phone number with id {id}")))??;
        Ok(self.number_view(&updated))
    }

    /// Removes a number.
    pub fn delete_number(&self, id: &str) -> Result<(), ControlError> {
        let _shared = self.gate.read();
        self.world
            .remove_number(id)
            .map(|_| ())
            .ok_or_else(|| ControlError::not_found(format!("no phone number with id {id}")))
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
        let _shared = self.gate.read();
        self.world
            .with_number(id, |number| match operation {
                Some(operation) => operation.window(number).clear(),
                None => number.clear_windows(),
            })
            .ok_or_else(|| ControlError::not_found(format!("no phone number with id {id}")))?;
        self.limits(id)
    }

    /// Every WABA.
    pub fn list_wabas(&self) -> Vec<WabaFixture> {
        self.world
            .wabas()
            .into_iter()
            .map(|waba| WabaFixture {
                phone_numbers: Vec::new(),
                id: waba.id,
                name: waba.name,
            })
            .collect()
    }

    /// Adds a WABA (with numbers, as in a fixture); a fresh id when `id` is empty.
    pub fn create_waba(&self, mut waba: WabaFixture) -> Result<WabaFixture, ControlError> {
        let _shared = self.gate.read();
        if waba.id.is_empty() {
            waba.id = self.fresh_id();
        } else if self.world.id_taken(&waba.id) {
            return Err(ControlError::conflict(format!(
                "id {} is already in use",
                waba.id
            )));
        }
        for number in &waba.phone_numbers {
            if self.world.id_taken(&number.id) {
                return Err(ControlError::conflict(format!(
                    "id {} is already in use",
                    number.id
                )));
            }
        }
        let document = FixtureDocument {
            tokens: Vec::new(),
            wabas: vec![waba.clone()],
        };
        document.validate().map_err(ControlError::invalid)?;
        for (record, numbers) in document.wabas(&self.policy) {
            self.world.insert_waba(record);
            for number in numbers {
                self.world.put_number(number);
            }
        }
        Ok(waba)
    }

    /// Renames a WABA.
    pub fn patch_waba(&self, id: &str, patch: WabaPatch) -> Result<WabaFixture, ControlError> {
        let _shared = self.gate.read();
        let mut waba = self
            .world
            .waba(id)
            .ok_or_else(|| ControlError::not_found(format!("no WABA with id {id}")))?;
        if let Some(name) = patch.name {
            waba.name = name;
        }
        self.world.insert_waba(waba.clone());
        Ok(WabaFixture {
            id: waba.id,
            name: waba.name,
            phone_numbers: Vec::new(),
        })
    }

    /// Removes a WABA with its numbers.
    pub fn delete_waba(&self, id: &str) -> Result<(), ControlError> {
        let _shared = self.gate.read();
        {
            let mut namespaces = self.namespaces.lock();
            if namespaces.remove(id).is_some() {
                self.persist_namespace(id, None);
            }
        }
        self.world
            .remove_waba(id)
            .map(|_| ())
            .ok_or_else(|| ControlError::not_found(format!("no WABA with id {id}")))
    }

    /// Every token (values included: the control API is for the test author).
    pub fn list_tokens(&self) -> Vec<TokenFixture> {
        self.world.tokens().into_iter().map(token_fixture).collect()
    }

    /// Adds a token.
    pub fn create_token(&self, token: TokenFixture) -> Result<TokenFixture, ControlError> {
        let _shared = self.gate.read();
        if self.world.token(&token.value).is_some() {
            return Err(ControlError::conflict("that token value already exists"));
        }
        self.validate_token(&token)?;
        self.insert_token_fixture(&token);
        Ok(token)
    }

    fn validate_token(&self, token: &TokenFixture) -> Result<(), ControlError> {
        let document = FixtureDocument {
            tokens: vec![token.clone()],
            wabas: self.list_wabas(),
        };
        document.validate().map_err(ControlError::invalid)
    }

    fn insert_token_fixture(&self, token: &TokenFixture) {
        let document = FixtureDocument {
            tokens: vec![token.clone()],
            wabas: Vec::new(),
        };
        for record in document.tokens() {
            self.world.insert_token(record);
        }
    }

    /// Changes a token's permissions, WABAs or expiry.
    pub fn patch_token(
        &self,
        value: &str,
        patch: TokenPatch,
    ) -> Result<TokenFixture, ControlError> {
        let _shared = self.gate.read();
        let current = self
            .world
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
        let _shared = self.gate.read();
        if self.world.remove_token(value) {
            Ok(())
        } else {
            Err(ControlError::not_found("no such token"))
        }
    }

    /// The clock.
    pub fn clock_view(&self) -> ClockView {
        ClockView {
            now: self.clock.now(),
            mode: match self.clock.mode() {
                ClockMode::System => "system",
                ClockMode::Manual => "manual",
            },
            offset_ms: self.clock.offset().num_milliseconds(),
        }
    }

    /// Sets or advances the clock (persisted with `--data-dir`).
    pub fn change_clock(&self, change: ClockChange) -> Result<ClockView, ControlError> {
        let view = self.apply_clock_change(change)?;
        if let Some(store) = self.world.store() {
            store.enqueue_with(|| crate::store::Change::Clock(ClockRecord::of(&self.clock)));
        }
        Ok(view)
    }

    fn apply_clock_change(&self, change: ClockChange) -> Result<ClockView, ControlError> {
        match (change.set, change.advance) {
            (Some(_), Some(_)) => Err(ControlError::invalid(
                "give either \"set\" or \"advance\", not both",
            )),
            (Some(instant), None) => {
                self.clock.set(instant);
                Ok(self.clock_view())
            }
            (None, Some(advance)) => {
                let delta = parse_advance(&advance)?;
                self.clock.advance(delta);
                Ok(self.clock_view())
            }
            (None, None) => Err(ControlError::invalid(
                "give \"set\" (RFC 3339 instant) or \"advance\" (e.g. \"72h\", \"90m\", or seconds)",
            )),
        }
    }

    /// Creates a namespace: a fresh WABA with copies of a template's numbers (fresh ids) and a
    /// token of its own.
    pub fn create_namespace(
        &self,
        request: NamespaceRequest,
    ) -> Result<NamespaceView, ControlError> {
        // The template comes first, outside the gate: for a large fixture file it is read and
        // parsed again, and holding the gate meanwhile would stall every request behind a
        // waiting reset.
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
        let _shared = self.gate.read();
        let waba_id = self.fresh_id();
        let phone_numbers = templates
            .into_iter()
            .map(|mut number| {
                number.id = self.fresh_id().into();
                number
            })
            .collect();
        let waba = WabaFixture {
            id: waba_id.clone(),
            name: format!("Namespace {waba_id}"),
            phone_numbers,
        };
        let token_value = format!(
            "EAANamespace{waba_id}x{}",
            self.next_id.fetch_add(1, Ordering::Relaxed)
        );
        let token = TokenFixture {
            value: token_value.clone(),
            permissions: vec![
                crate::state::PERMISSION_MANAGEMENT.to_owned(),
                crate::state::PERMISSION_MESSAGING.to_owned(),
            ],
            wabas: vec![waba_id.clone()],
            expires_at: None,
        };
        let document = FixtureDocument {
            tokens: vec![token.clone()],
            wabas: vec![waba],
        };
        document.validate().map_err(ControlError::invalid)?;
        let (record, numbers) = document
            .wabas(&self.policy)
            .pop()
            .ok_or_else(|| ControlError::invalid("empty namespace"))?;
        let token_record = document
            .tokens()
            .next()
            .ok_or_else(|| ControlError::invalid("no token"))?;
        self.world.insert_waba(record.clone());
        for number in &numbers {
            self.world.put_number(number.clone());
        }
        self.world.insert_token(token_record.clone());
        let views = numbers
            .iter()
            .map(|number| self.number_view(number))
            .collect();
        let namespace = Namespace {
            waba: record,
            numbers,
            token: token_record,
        };
        let mut namespaces = self.namespaces.lock();
        self.persist_namespace(&waba_id, Some(&namespace));
        namespaces.insert(waba_id.clone(), namespace);
        drop(namespaces);
        Ok(NamespaceView {
            namespace: waba_id.clone(),
            waba_id,
            token: token_value,
            numbers: views,
        })
    }

    /// Returns one namespace's numbers to how they were created (its token too).
    pub fn reset_namespace(&self, id: &str) -> Result<NamespaceView, ControlError> {
        let namespace = self
            .namespaces
            .lock()
            .get(id)
            .cloned()
            .ok_or_else(|| ControlError::not_found(format!("no namespace {id}")))?;
        {
            let _exclusive = self.gate.write();
            for number in self.world.numbers().iter().filter(|n| *n.waba_id == *id) {
                self.world.remove_number(&number.id);
            }
            self.world.insert_waba(namespace.waba.clone());
            for number in &namespace.numbers {
                self.world.put_number(number.clone());
            }
            self.world.insert_token(namespace.token.clone());
        }
        Ok(NamespaceView {
            namespace: id.to_owned(),
            waba_id: id.to_owned(),
            token: namespace.token.value.clone(),
            numbers: namespace
                .numbers
                .iter()
                .map(|n| self.number_view(n))
                .collect(),
        })
    }

    /// Queues a namespace's reset target (or its removal) for the store, if any. Call it
    /// while holding the namespaces lock.
    fn persist_namespace(&self, id: &str, namespace: Option<&Namespace>) {
        if let Some(store) = self.world.store() {
            let record = namespace.map(|namespace| {
                Box::new((
                    WabaFixture {
                        id: namespace.waba.id.clone(),
                        name: namespace.waba.name.clone(),
                        phone_numbers: namespace.numbers.iter().map(number_fixture).collect(),
                    },
                    token_fixture(namespace.token.clone()),
                ))
            });
            store.enqueue(crate::store::Change::Namespace(id.to_owned(), record));
        }
    }

    /// Brings back the namespaces a store held (at start, before serving).
    pub fn restore_namespaces(&self, namespaces: &[(WabaFixture, TokenFixture)]) {
        let mut map = self.namespaces.lock();
        for (waba, token) in namespaces {
            let document = FixtureDocument {
                tokens: vec![token.clone()],
                wabas: vec![waba.clone()],
            };
            let (Some((record, numbers)), Some(token)) =
                (document.wabas(&self.policy).pop(), document.tokens().next())
            else {
                continue;
            };
            map.insert(
                waba.id.clone(),
                Namespace {
                    waba: record,
                    numbers,
                    token,
                },
            );
        }
    }

    /// Removes a namespace with its WABA, numbers and token.
    pub fn delete_namespace(&self, id: &str) -> Result<(), ControlError> {
        let _shared = self.gate.read();
        let namespace = {
            let mut namespaces = self.namespaces.lock();
            let namespace = namespaces
                .remove(id)
                .ok_or_else(|| ControlError::not_found(format!("no namespace {id}")))?;
            self.persist_namespace(id, None);
            namespace
        };
        self.world.remove_waba(id);
        self.world.remove_token(&namespace.token.value);
        Ok(())
    }
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
        pending_verification: number
            .pending_verification()
            .map(|pending| Box::new(pending_fixture(pending))),
    }
}

fn pending_fixture(pending: &crate::domain::PendingVerification) -> PendingVerificationFixture {
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
    }
}
