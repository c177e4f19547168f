//! Control operations of the onboarding chain: Embedded Signup as a call, the onboarding
//! presets a number can be put in, display-name review decisions, and the partner apps.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{Control, ControlError, NumberView};
use crate::domain::{
    self, AUTH_CODE_LIFETIME, AuthCode, DomainError, NameDecision, PhoneNumber, Preset,
    ScopesShape, Waba,
};
use crate::fixtures::{AppFixture, FixtureDocument, app_fixture};

/// How the signup popup ends (`event` of the session-info message).
pub const FINISH_TYPES: [&str; 5] = [
    "FINISH",
    "FINISH_ONLY_WABA",
    "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
    "CANCEL",
    "ERROR",
];

/// The screens a user can leave the popup on (`current_step` of a `CANCEL`).
pub const SIGNUP_STEPS: [&str; 6] = [
    "BUSINESS_ACCOUNT_SELECTION",
    "WABA_PHONE_PROFILE_PICKER",
    "WHATSAPP_BUSINESS_PROFILE_SETUP",
    "PHONE_NUMBER_SETUP",
    "PHONE_NUMBER_VERIFICATION",
    "PERMISSIONS",
];

/// `POST /__emulator/embedded-signup`: what the customer does in the popup.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignupRequest {
    /// The partner app running the signup (default: the first app).
    #[serde(default)]
    pub app_id: Option<String>,
    /// The state the new number is in (default `ready`; see [`Preset`]).
    #[serde(default)]
    pub preset: Option<String>,
    /// How the popup ends: one of [`FINISH_TYPES`] (default `FINISH`).
    #[serde(default)]
    pub finish: Option<String>,
    /// For `CANCEL`: the screen the user left (default `PHONE_NUMBER_VERIFICATION`).
    #[serde(default)]
    pub current_step: Option<String>,
    /// For `ERROR`: `error_code` and `error_message` of the popup's error.
    #[serde(default)]
    pub error_code: Option<String>,
    /// For `ERROR`.
    #[serde(default)]
    pub error_message: Option<String>,
    /// The new number (default: a fresh `+1 555` number).
    #[serde(default)]
    pub display_phone_number: Option<String>,
    /// Its display name (default `Signup Business <n>`).
    #[serde(default)]
    pub verified_name: Option<String>,
    /// The new WABA's name.
    #[serde(default)]
    pub waba_name: Option<String>,
    /// `classic` or `2026-06`: the `granular_scopes` shape of the token the code makes
    /// (default: the emulator's `--granular-scopes`).
    #[serde(default)]
    pub granular_scopes: Option<String>,
}

/// What a signup produced.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct SignupView {
    /// The `event` the popup posts.
    pub event: String,
    /// The app the code is for.
    pub app_id: String,
    /// The authorization code (`authResponse.code`), to exchange within 30 seconds; absent
    /// when the popup was cancelled or failed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// When the code stops working (on the WABA's clock).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code_expires_at: Option<DateTime<Utc>>,
    /// The customer's business portfolio.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub business_id: Option<String>,
    /// The new WABA.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub waba_id: Option<String>,
    /// The new number.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone_number_id: Option<String>,
    /// The session-info message as the popup posts it (`event.data`, parsed).
    pub session_info: Value,
    /// The same message as the JSON string the popup sends to `window.postMessage`.
    pub message: String,
}

/// `POST /__emulator/numbers/{id}/preset`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PresetRequest {
    /// One of the preset names.
    pub preset: String,
}

/// `POST /__emulator/numbers/{id}/name-review`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NameReviewRequest {
    /// `APPROVED` or `REJECTED`.
    pub decision: String,
}

/// The outcome of a name review.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct NameReviewView {
    /// `APPROVED` or `REJECTED`.
    pub decision: &'static str,
    /// The name that was reviewed.
    pub requested_verified_name: String,
    /// The number after the decision.
    pub number: NumberView,
}

fn parse_preset(name: &str) -> Result<Preset, ControlError> {
    Preset::parse(name).ok_or_else(|| {
        ControlError::invalid(format!(
            "unknown preset {name:?}; known: {}",
            Preset::names().join(", ")
        ))
    })
}

impl Control {
    /// Every app (secrets included: the control API is for the test author).
    pub fn list_apps(&self) -> Vec<AppFixture> {
        self.0.world().apps().iter().map(app_fixture).collect()
    }

    /// Adds a partner app (a second partner, for instance); its id must be new.
    pub fn create_app(&self, app: AppFixture) -> Result<AppFixture, ControlError> {
        let world = self.0.world();
        if world.app(&app.id).is_some() {
            return Err(ControlError::conflict(format!(
                "app {} already exists",
                app.id
            )));
        }
        let document = FixtureDocument {
            apps: vec![app.clone()],
            ..FixtureDocument::default()
        };
        document.validate().map_err(ControlError::invalid)?;
        for record in document.apps() {
            world.put_app(record);
        }
        Ok(app)
    }

    /// Embedded Signup, as the popup would run it: a business, a WABA and (for `FINISH`) a
    /// number in the preset's state, and an authorization code for the app. `CANCEL` and
    /// `ERROR` create nothing and issue no code.
    pub fn embedded_signup(&self, request: SignupRequest) -> Result<SignupView, ControlError> {
        let finish = request.finish.as_deref().unwrap_or("FINISH");
        if !FINISH_TYPES.contains(&finish) {
            return Err(ControlError::invalid(format!(
                "unknown finish {finish:?}; known: {}",
                FINISH_TYPES.join(", ")
            )));
        }
        let world = self.0.world();
        let app = match &request.app_id {
            Some(id) => world
                .app(id)
                .ok_or_else(|| ControlError::not_found(format!("no app with id {id}")))?,
            None => world.default_app().ok_or_else(|| {
                ControlError::invalid("the emulator has no app: add one under apps first")
            })?,
        };
        if let Some(step) = request.current_step.as_deref()
            && !SIGNUP_STEPS.contains(&step)
        {
            return Err(ControlError::invalid(format!(
                "unknown current_step {step:?}; known: {}",
                SIGNUP_STEPS.join(", ")
            )));
        }
        let coexistence = finish == "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING";
        let preset = match request.preset.as_deref() {
            None if coexistence => Preset::Smb,
            None => Preset::Ready,
            Some(name) => parse_preset(name)?,
        };
        if coexistence && preset != Preset::Smb {
            return Err(ControlError::invalid(
                "a FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING signup onboards a WhatsApp Business app number: its preset is smb",
            ));
        }
        let scopes_shape = match request.granular_scopes.as_deref() {
            None => self.0.settings().granular_scopes,
            Some(name) => ScopesShape::parse(name).ok_or_else(|| {
                ControlError::invalid(format!(
                    "granular_scopes must be one of {:?}",
                    ScopesShape::NAMES
                ))
            })?,
        };
        match finish {
            "CANCEL" => {
                let step = request
                    .current_step
                    .as_deref()
                    .unwrap_or("PHONE_NUMBER_VERIFICATION");
                let info = SessionInfo::new("CANCEL", json!({"current_step": step}));
                return Ok(without_objects("CANCEL", &app.id, &info));
            }
            "ERROR" => {
                let now = self.0.now();
                // Meta's documented example of a popup error.
                let info = SessionInfo::new(
                    "CANCEL",
                    PopupError {
                        error_message: request.error_message.clone().unwrap_or_else(|| "Your verified name violates WhatsApp guidelines. Please edit your verified name and try again.".to_owned()),
                        error_code: request.error_code.clone().unwrap_or_else(|| "524126".to_owned()),
                        session_id: format!("{:015x}", self.0.draw_lifecycle_id() & 0x0fff_ffff_ffff_ffff),
                        timestamp: now.timestamp().to_string(),
                    },
                );
                return Ok(without_objects("CANCEL", &app.id, &info));
            }
            _ => {}
        }
        let business_id = self.0.fresh_control_id();
        let waba_id = self.0.fresh_control_id();
        let mut waba = crate::fixtures::WabaFixture {
            id: waba_id.clone(),
            name: request
                .waba_name
                .clone()
                .unwrap_or_else(|| format!("Signup WABA {waba_id}")),
            ..Default::default()
        }
        .to_waba();
        waba.owner_business_id = Some(business_id.clone());
        let number = (finish != "FINISH_ONLY_WABA")
            .then(|| self.signup_number(&waba, &request, preset))
            .transpose()?;
        world.insert_waba(waba);
        if let Some(number) = &number
            && let Err(error) = world.insert_number(number.clone())
        {
            world.remove_waba(&waba_id);
            return Err(ControlError::conflict(error.to_string()));
        }
        let (now, _) = self.0.now_for_waba(&waba_id);
        let code = signup_code(self);
        world.insert_auth_code(AuthCode {
            code: code.clone(),
            app_id: app.id.clone(),
            waba_id: waba_id.clone(),
            business_id: business_id.clone(),
            issued_at: now,
            used: false,
            scopes_shape,
        });
        // The partner app hears of its new customer (`PARTNER_ADDED`), subscribed or not.
        if let Some(waba) = world.waba(&waba_id) {
            self.0
                .emit(super::webhooks::partner_event("PARTNER_ADDED", &waba, &app));
        }
        let phone_number_id = number.map(|number| number.id.to_string());
        // Meta's samples: FINISH carries the three ids; FINISH_ONLY_WABA and the coexistence
        // finish carry only the WABA.
        let data = match (&phone_number_id, coexistence) {
            (Some(id), false) => FinishData {
                phone_number_id: Some(id.clone()),
                waba_id: waba_id.clone(),
                business_id: Some(business_id.clone()),
            },
            _ => FinishData {
                phone_number_id: None,
                waba_id: waba_id.clone(),
                business_id: None,
            },
        };
        let info = SessionInfo::new(finish, data);
        Ok(SignupView {
            event: finish.to_owned(),
            app_id: app.id,
            code: Some(code),
            code_expires_at: Some(now + AUTH_CODE_LIFETIME),
            business_id: Some(business_id),
            waba_id: Some(waba_id),
            phone_number_id,
            message: info.message(),
            session_info: info.value(),
        })
    }

    fn signup_number(
        &self,
        waba: &Waba,
        request: &SignupRequest,
        preset: Preset,
    ) -> Result<PhoneNumber, ControlError> {
        let id = self.0.fresh_control_id();
        let serial = self.0.next_control_serial();
        let display = match &request.display_phone_number {
            Some(display) => display.clone(),
            None => format!("+1 555-{:03}-{:04}", 100 + serial % 900, serial % 10_000),
        };
        if domain::digits_of(&display).len() < 5 {
            return Err(ControlError::invalid(format!(
                "display_phone_number {display:?} is not a phone number"
            )));
        }
        let name = request
            .verified_name
            .clone()
            .unwrap_or_else(|| format!("Signup Business {}", serial % 100_000));
        let chars = name.chars().count();
        if !(2..=75).contains(&chars) {
            return Err(ControlError::invalid(format!(
                "verified_name must be 2 to 75 characters (got {chars})"
            )));
        }
        let mut number = PhoneNumber::new(id, waba.id.as_str());
        number.display_phone_number = display.into();
        number.verified_name = name.into();
        number.creation_time = Some(self.0.now_for_waba(&waba.id).0);
        preset.apply(&mut number);
        Ok(number)
    }

    /// Puts a number in one of the onboarding presets (see [`Preset`]).
    pub fn apply_preset(
        &self,
        id: &str,
        request: PresetRequest,
    ) -> Result<NumberView, ControlError> {
        let preset = parse_preset(&request.preset)?;
        let world = self.0.world();
        let number = world
            .update_number(id, |number| {
                preset.apply(number);
                (**number).clone()
            })
            .ok_or_else(|| ControlError::not_found(format!("no phone number with id {id}")))?;
        Ok(self.number_view(&number))
    }

    /// Decides a number's display-name review: a requested new name, else its own name while
    /// `PENDING_REVIEW` (a signup's).
    pub fn decide_name_review(
        &self,
        id: &str,
        request: NameReviewRequest,
    ) -> Result<NameReviewView, ControlError> {
        let (decision, word) = match request.decision.as_str() {
            "APPROVED" => (NameDecision::Approved, "APPROVED"),
            "REJECTED" => (NameDecision::Rejected, "REJECTED"),
            other => {
                return Err(ControlError::invalid(format!(
                    "decision must be APPROVED or REJECTED, not {other:?}"
                )));
            }
        };
        let world = self.0.world();
        let outcome = world
            .update_number(id, |number| {
                let mut copy = (**number).clone();
                let reviewed = domain::decide_name_review(&mut copy, decision)?;
                **number = copy.clone();
                Ok::<_, DomainError>((reviewed, copy))
            })
            .ok_or_else(|| ControlError::not_found(format!("no phone number with id {id}")))?;
        let (reviewed, number) =
            outcome.map_err(|error| ControlError::conflict(error.to_string()))?;
        drop(world);
        self.0.emit(crate::state::Event {
            field: "phone_number_name_update",
            waba_id: number.waba_id.to_string(),
            number_id: Some(number.id.to_string()),
            entry_id: number.waba_id.to_string(),
            value: crate::state::NameUpdate {
                display_phone_number: crate::domain::digits_of(&number.display_phone_number),
                decision: word,
                requested_verified_name: reviewed.to_string(),
                rejection_reason: (decision == NameDecision::Rejected).then_some("UNKNOWN"),
            },
            only_app: None,
            due: None,
        });
        Ok(NameReviewView {
            decision: word,
            requested_verified_name: reviewed.to_string(),
            number: self.number_view(&number),
        })
    }
}

/// The message the popup posts, with its keys in the order of Meta's samples (`data`, `type`,
/// `event`).
#[derive(Debug, Serialize)]
struct SessionInfo<'a, D> {
    data: D,
    #[serde(rename = "type")]
    kind: &'static str,
    event: &'a str,
}

impl<'a, D: Serialize> SessionInfo<'a, D> {
    fn new(event: &'a str, data: D) -> Self {
        Self {
            data,
            kind: "WA_EMBEDDED_SIGNUP",
            event,
        }
    }

    /// The JSON string `window.postMessage` carries.
    fn message(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The same, parsed (for the control answer).
    fn value(&self) -> Value {
        serde_json::to_value(self).unwrap_or_default()
    }
}

/// `data` of a finish, in the order of Meta's sample.
#[derive(Debug, Serialize)]
struct FinishData {
    #[serde(skip_serializing_if = "Option::is_none")]
    phone_number_id: Option<String>,
    waba_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    business_id: Option<String>,
}

/// `data` of a popup error, in the order of Meta's sample.
#[derive(Debug, Serialize)]
struct PopupError {
    error_message: String,
    error_code: String,
    session_id: String,
    timestamp: String,
}

/// A signup that created nothing (cancelled, or failed in the popup).
fn without_objects<D: Serialize>(
    event: &str,
    app_id: &str,
    info: &SessionInfo<'_, D>,
) -> SignupView {
    SignupView {
        event: event.to_owned(),
        app_id: app_id.to_owned(),
        code: None,
        code_expires_at: None,
        business_id: None,
        waba_id: None,
        phone_number_id: None,
        message: info.message(),
        session_info: info.value(),
    }
}

/// A fresh authorization code: `AQ` and URL-safe characters, like Meta's.
fn signup_code(control: &Control) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut code = String::from("AQ");
    while code.len() < 120 {
        let mut draw = control.0.draw_lifecycle_id();
        for _ in 0..10 {
            code.push(char::from(ALPHABET[(draw % 64) as usize]));
            draw /= 64;
        }
    }
    code
}
