//! The write endpoints around registration: `request_code`, `verify_code`, the two-step PIN
//! (`POST /{PHONE_NUMBER_ID}`), local storage (`POST /{PHONE_NUMBER_ID}/settings`) and adding a
//! number (`POST /{WABA_ID}/phone_numbers`).
//!
//! Each runs the same steps as register: object and WABA scope (100/33) → permission (200) →
//! body (100) → parameters (100) → the rules in `domain`, all under the number's lock.

use compact_str::CompactString;
use serde_json::Value;

use super::call::{Call, MANAGEMENT, MANAGEMENT_AND_MESSAGING, Reply};
use super::error::GraphError;
use crate::domain::{
    self, CodeMethod, NewNumber, Params, Pin, Region, StorageChange, VerificationCode,
};

/// The two `storage_configuration.status` values.
const STORAGE_STATUSES: [&str; 2] = ["IN_COUNTRY_STORAGE_ENABLED", "IN_COUNTRY_STORAGE_DISABLED"];

impl Call<'_> {
    /// `POST /{PHONE_NUMBER_ID}/request_code`: `code_method` (SMS/VOICE, any case) and
    /// `language` (`en` or `en_US`), both required. Stores a fresh six-digit code.
    pub(crate) fn request_code(
        &self,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        self.update_number(&MANAGEMENT, waba_id, |number| {
            let method_text = self.params.required_text("code_method")?;
            let method = CodeMethod::parse_any_case(&method_text).ok_or_else(|| {
                GraphError::not_one_of("code_method", &["SMS", "VOICE"], &method_text)
            })?;
            let language = self.params.required_text("language")?;
            if !domain::valid_language(&language) {
                return Err(domain::DomainError::InvalidLanguage(language.into_owned()).into());
            }
            let code = VerificationCode::from_draw(self.app.draw_lifecycle_id());
            domain::request_code(
                number,
                code,
                method,
                &language,
                self.now,
                self.app.policy().verification_code_ttl,
            );
            Ok(Reply::Success)
        })
    }

    /// `POST /{PHONE_NUMBER_ID}/verify_code`: `code` required.
    pub(crate) fn verify_code(
        &self,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        self.update_number(&MANAGEMENT, waba_id, |number| {
            let code = self.params.required_text("code")?;
            domain::verify_code(number, &code, self.now)?;
            Ok(Reply::Success)
        })
    }

    /// `POST /{PHONE_NUMBER_ID}` with `pin` (or SPEC's `whatsapp_business_api_data.pin`):
    /// sets or changes the two-step PIN in any state, clearing any guess lockout. Needs both
    /// WhatsApp permissions (Meta's two-step verification page).
    pub(crate) fn set_pin(&self, waba_id: &mut Option<CompactString>) -> Result<Reply, GraphError> {
        self.update_number(&MANAGEMENT_AND_MESSAGING, waba_id, |number| {
            let flat = self.params.text("pin")?.map(|text| text.into_owned());
            let text = match flat {
                Some(text) => text,
                None => match self.params.object("whatsapp_business_api_data")? {
                    Some(object) => nested(object)
                        .text("pin")?
                        .map(|text| text.into_owned())
                        .unwrap_or_default(),
                    None => String::new(),
                },
            };
            if text.is_empty() {
                return Err(GraphError::missing_parameter("pin"));
            }
            number.set_pin(Pin::parse(&text)?);
            Ok(Reply::Success)
        })
    }

    /// `POST /{PHONE_NUMBER_ID}/settings`: `storage_configuration` (local storage, Meta's
    /// local-storage page) or `user_identity_change` with `enable_identity_key_check` (Meta's
    /// phone-numbers page). One feature per request, as Meta's OpenAPI file says.
    pub(crate) fn write_settings(
        &self,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        self.update_number(&MANAGEMENT, waba_id, |number| {
            let identity = self.params.object("user_identity_change")?;
            let storage = self.params.object("storage_configuration")?;
            let config = match (storage, identity) {
                (Some(_), Some(_)) => {
                    return Err(GraphError::invalid_parameter(
                        "Only one feature setting can be specified per request: send storage_configuration and user_identity_change separately.",
                    ));
                }
                (None, Some(identity)) => {
                    let identity = nested(identity);
                    let enable = identity
                        .text("enable_identity_key_check")?
                        .ok_or_else(|| {
                            GraphError::missing_parameter(
                                "user_identity_change.enable_identity_key_check",
                            )
                        })?;
                    let on = match enable.as_ref() {
                        "true" | "1" => true,
                        "false" | "0" => false,
                        other => {
                            return Err(GraphError::not_one_of(
                                "user_identity_change.enable_identity_key_check",
                                &["true", "false"],
                                other,
                            ));
                        }
                    };
                    number.set_identity_key_check(on);
                    return Ok(Reply::Success);
                }
                (Some(config), None) => config,
                (None, None) => return Err(GraphError::missing_parameter("storage_configuration")),
            };
            let config = nested(config);
            let status = config
                .text("status")?
                .filter(|text| !text.is_empty())
                .ok_or_else(|| GraphError::missing_parameter("storage_configuration.status"))?;
            let change = if status.eq_ignore_ascii_case(STORAGE_STATUSES[0]) {
                let code = config
                    .text("data_localization_region")?
                    .filter(|text| !text.is_empty())
                    .ok_or_else(|| {
                        GraphError::missing_parameter(
                            "storage_configuration.data_localization_region",
                        )
                    })?;
                StorageChange::Enable(Region::parse(&code)?)
            } else if status.eq_ignore_ascii_case(STORAGE_STATUSES[1]) {
                StorageChange::Disable
            } else {
                return Err(GraphError::not_one_of(
                    "storage_configuration.status",
                    &STORAGE_STATUSES,
                    &status,
                ));
            };
            domain::change_local_storage(number, change)?;
            Ok(Reply::Success)
        })
    }

    /// `POST /{WABA_ID}/phone_numbers`: `cc`, `phone_number`, `verified_name`, optional
    /// `migrate_phone_number`. Answers `{"id":"..."}` with a fresh id.
    pub(crate) fn add_number(
        &self,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        let waba = self.waba(waba_id)?;
        let params = self.params;
        let cc = params.required_text("cc")?;
        let phone_number = params.required_text("phone_number")?;
        let verified_name = params.required_text("verified_name")?;
        let migrate = match params.text("migrate_phone_number")?.as_deref() {
            None | Some("false" | "0" | "") => false,
            Some("true" | "1") => true,
            Some(other) => {
                return Err(GraphError::not_one_of(
                    "migrate_phone_number",
                    &["true", "false"],
                    other,
                ));
            }
        };
        let new = NewNumber::parse(&cc, &phone_number, &verified_name, migrate)?;
        let id = self.fresh_id();
        let number = new.into_number(id.clone(), waba.id, self.now);
        self.world.insert_number(number)?;
        Ok(Reply::json(&serde_json::json!({ "id": id })))
    }

    /// A 15-digit id no WABA or number uses, from the deterministic sequence.
    fn fresh_id(&self) -> String {
        loop {
            let id = (100_000_000_000_000 + self.app.draw_lifecycle_id() % 900_000_000_000_000)
                .to_string();
            if !self.world.id_taken(&id) {
                return id;
            }
        }
    }
}

/// An object parameter read with the same scalar rules as top-level ones.
fn nested(object: serde_json::Map<String, Value>) -> Params {
    let mut params = Params::default();
    for (name, value) in object {
        params.insert(name, value);
    }
    params
}
