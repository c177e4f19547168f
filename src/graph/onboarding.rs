//! The partner onboarding chain around register: the code exchange
//! (`GET /oauth/access_token`), `GET /debug_token`, the WABA node, `/{WABA_ID}/subscribed_apps`,
//! the phone-number `webhook_configuration` and display-name change, and the WABA-level call
//! budget of the WhatsApp Business Management API.

use std::sync::Arc;

use axum::http::Method;
use chrono::TimeDelta;
use compact_str::CompactString;
use serde_json::{Map, Value, json};

use super::call::{Call, MANAGEMENT, Reply, authorize};
use super::error::GraphError;
use crate::domain::{
    self, App, AppWebhook, CallbackOverride, OVERRIDE_URI_MAX_CHARS, PERMISSION_MANAGEMENT,
    PERMISSION_MESSAGING, ParamValue, Params, ScopesShape, Token, Waba, WabaScope,
    is_parseable_token,
};
use crate::state::AppState;
use crate::webhooks::WABA_OBJECT;

/// Graph's node type for a WABA (named in field errors).
const WABA_NODE_TYPE: &str = "WhatsAppBusinessAccount";

/// Fields of the WABA node the emulator knows (Meta's reference and OpenAPI file); the ones
/// it has no value for are left out, as Graph leaves out fields without a value.
const WABA_FIELDS: [&str; 16] = [
    "id",
    "name",
    "currency",
    "timezone_id",
    "message_template_namespace",
    "account_review_status",
    "business_verification_status",
    "country",
    "ownership_type",
    "on_behalf_of_business_info",
    "owner_business_info",
    "is_enabled_for_insights",
    "purchase_order_number",
    "primary_funding_id",
    "health_status",
    "status",
];

/// What `GET /{WABA_ID}` answers without `fields` (the shape of Meta's WABA samples).
const WABA_DEFAULT_FIELDS: [&str; 5] = [
    "id",
    "name",
    "currency",
    "timezone_id",
    "message_template_namespace",
];

/// `GET /oauth/access_token`: `client_credentials` gives the app token; a code from Embedded
/// Signup gives a business integration system-user token scoped to the signup's WABA. Checks
/// in Graph's order: `client_id` (101), the app (101), the secret (1), then the code.
pub(crate) fn exchange_code(app: &AppState, params: &Params) -> Result<Reply, GraphError> {
    let client_id = params.text("client_id")?.filter(|id| !id.is_empty());
    let Some(client_id) = client_id else {
        return Err(GraphError::missing_client_id());
    };
    let partner = app
        .world()
        .app(&client_id)
        .ok_or_else(GraphError::unknown_application)?;
    let secret = params.text("client_secret")?.unwrap_or_default();
    if !partner.secret_matches(&secret) {
        return Err(GraphError::wrong_client_secret());
    }
    if params.text("grant_type")?.as_deref() == Some("client_credentials") {
        return Ok(Reply::json(&json!({
            "access_token": partner.access_token(),
            "token_type": "bearer",
        })));
    }
    let code = params
        .text("code")?
        .filter(|code| !code.is_empty())
        .ok_or_else(GraphError::missing_auth_code)?;
    let world = app.world();
    // A code issued to another app is as unknown to this one as a made-up code.
    let issued = world
        .auth_code(&code)
        .filter(|issued| issued.app_id == partner.id)
        .ok_or_else(GraphError::unknown_auth_code)?;
    // The code lives on the clock of the WABA the signup made (a namespace's, when set apart).
    let (now, _) = app.now_for_waba(&issued.waba_id);
    world
        .update_auth_code(&code, |code| domain::redeem_code(code, now))
        .unwrap_or(Err(domain::DomainError::AuthCodeUsed))?;
    let value = business_token_value(app);
    world.insert_token(Token {
        value: value.clone(),
        permissions: Arc::new(vec![
            PERMISSION_MANAGEMENT.to_owned(),
            PERMISSION_MESSAGING.to_owned(),
        ]),
        scope: Arc::new(WabaScope::Only([issued.waba_id.clone()].into())),
        expires_at: None,
        app_id: Some(Arc::from(partner.id.as_str())),
        system_user: true,
        user_id: Some(app.fresh_control_id()),
        scopes_shape: Some(issued.scopes_shape),
    });
    let mut body = json!({"access_token": value, "token_type": "bearer"});
    if app.settings().exchange_expires_in {
        // System-user tokens of a business integration do not expire; Graph's generic
        // exchange answer carries `expires_in`, which some client libraries require.
        body["expires_in"] = json!(5_183_944);
    }
    Ok(Reply::json(&body))
}

/// A fresh business token: `EAA` and base62 characters, like Meta's.
fn business_token_value(app: &AppState) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let mut value = String::from("EAA");
    while value.len() < 180 {
        let mut draw = app.draw_lifecycle_id();
        for _ in 0..10 {
            value.push(char::from(ALPHABET[(draw % 62) as usize]));
            draw /= 62;
        }
    }
    value
}

impl Call<'_> {
    /// The app the request's token belongs to: its own, or the first app for tokens that
    /// name none.
    fn calling_app(&self) -> Result<App, GraphError> {
        let app = match &self.principal.app_id {
            Some(id) => self.world.app(id),
            None => self.world.default_app(),
        };
        app.ok_or_else(|| {
            GraphError::invalid_parameter(
                "The access token belongs to no app the emulator knows: declare the app under apps in the fixtures.",
            )
        })
    }

    /// Counts the call against the WABA's hourly budget for the calling app, and keeps the
    /// usage for the `x-business-use-case-usage` header. Past the budget: 80008.
    pub(crate) fn spend_budget(&self, waba_id: &str) -> Result<(), GraphError> {
        let policy = self.app.policy().waba_budget;
        if policy.per_hour == 0 {
            return Ok(());
        }
        let app = self.calling_app()?;
        let limit = policy.limit(self.world.has_registered_number(waba_id));
        let outcome = self.world.spend_budget(&app.id, waba_id, self.now, limit);
        let usage = match outcome {
            Ok(usage) | Err(usage) => usage,
        };
        self.usage.set(Some(usage));
        outcome
            .map(|_| ())
            .map_err(|_| GraphError::waba_budget_spent())
    }

    /// `GET /{WABA_ID}` with `fields`.
    pub(crate) fn get_waba_node(
        &self,
        waba: &Waba,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        self.admit_to(&waba.id, &MANAGEMENT, waba_id)?;
        let fields = self.waba_fields()?;
        self.spend_budget(&waba.id)?;
        let entries: Vec<(&str, Value)> = fields
            .iter()
            .filter_map(|name| waba_field(waba, name).map(|value| (name.as_str(), value)))
            .collect();
        Ok(Reply::Json(
            super::read::node_object(&waba.id, &fields, entries).into(),
        ))
    }

    fn waba_fields(&self) -> Result<Vec<String>, GraphError> {
        let raw = self.params.text("fields")?.unwrap_or_default();
        let mut fields: Vec<String> = Vec::new();
        for name in raw
            .split(',')
            .map(str::trim)
            .filter(|name| !name.is_empty())
        {
            let name = name.split(['{', '.']).next().unwrap_or(name).trim();
            if !WABA_FIELDS.contains(&name) {
                return Err(GraphError::nonexisting_field(name, WABA_NODE_TYPE));
            }
            if !fields.iter().any(|known| known == name) {
                fields.push(name.to_owned());
            }
        }
        if fields.is_empty() {
            fields = WABA_DEFAULT_FIELDS.map(str::to_owned).to_vec();
        }
        Ok(fields)
    }

    /// `/{WABA_ID}/subscribed_apps`: `GET` lists the subscribed apps, `POST` subscribes the
    /// calling app (or sets / removes its WABA override), `DELETE` unsubscribes it. Every call
    /// counts against the WABA's budget.
    pub(crate) fn subscribed_apps(
        &self,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        let waba = self
            .world
            .waba(self.node)
            .ok_or_else(|| GraphError::unknown_object(self.method.as_str(), self.node))?;
        self.admit_to(&waba.id, &MANAGEMENT, waba_id)?;
        if *self.method == Method::GET {
            self.spend_budget(&waba.id)?;
            return Ok(Reply::json(&DataList {
                data: self.subscription_list(&waba),
            }));
        }
        let callback = if *self.method == Method::POST {
            self.override_params("override_callback_uri", "verify_token", self.params)?
        } else {
            None
        };
        let app = self.calling_app()?;
        self.spend_budget(&waba.id)?;
        let changed = self.world.update_waba(&waba.id, |waba| {
            let subscriptions = &mut waba.subscribed_apps;
            if *self.method == Method::DELETE {
                domain::unsubscribe(subscriptions, &app.id);
                return Ok(());
            }
            match callback {
                Some(callback) => domain::set_waba_override(subscriptions, &app.id, callback),
                None => {
                    domain::subscribe(subscriptions, &app.id);
                    Ok(())
                }
            }
        });
        changed.unwrap_or(Err(domain::DomainError::OverrideBeforeSubscription))?;
        Ok(Reply::Success)
    }

    /// Reads an override's URI and verify token: both or neither (Meta: "both required"); the
    /// URI an http(s) URL of at most 200 characters. `None` when neither is given.
    fn override_params(
        &self,
        uri_name: &str,
        token_name: &str,
        params: &Params,
    ) -> Result<Option<CallbackOverride>, GraphError> {
        let uri = params.text(uri_name)?.filter(|uri| !uri.is_empty());
        let token = params.text(token_name)?.filter(|token| !token.is_empty());
        match (uri, token) {
            (None, None) => Ok(None),
            (Some(_), None) => Err(GraphError::missing_parameter(token_name)),
            (None, Some(_)) => Err(GraphError::missing_parameter(uri_name)),
            (Some(uri), Some(token)) => {
                check_callback_uri(uri_name, &uri)?;
                Ok(Some(CallbackOverride {
                    uri: uri.into_owned(),
                    verify_token: token.into_owned(),
                }))
            }
        }
    }

    fn subscription_list(&self, waba: &Waba) -> Vec<SubscribedApp> {
        waba.subscribed_apps
            .iter()
            .map(|subscription| {
                let name = self
                    .world
                    .app(&subscription.app_id)
                    .map(|app| app.name)
                    .unwrap_or_default();
                SubscribedApp {
                    whatsapp_business_api_data: SubscribedAppData {
                        link: format!(
                            "https://www.facebook.com/games/?app_id={}",
                            subscription.app_id
                        ),
                        id: subscription.app_id.clone(),
                        name,
                        category: "Business",
                    },
                    override_callback_uri: subscription
                        .callback_override
                        .as_ref()
                        .map(|callback| callback.uri.clone()),
                }
            })
            .collect()
    }

    /// `POST /{PHONE_NUMBER_ID}`: `webhook_configuration` (the phone-number override),
    /// `new_display_name` (a name change, reviewed through the control API), else the
    /// two-step PIN.
    pub(crate) fn post_number_node(
        &self,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        if self.params.get("webhook_configuration").is_some() {
            return self.set_webhook_configuration(waba_id);
        }
        if self.params.get("new_display_name").is_some() {
            return self.update_number(&MANAGEMENT, waba_id, |number| {
                let name = self.params.required_text("new_display_name")?;
                domain::request_name_change(number, name.trim())?;
                Ok(Reply::Success)
            });
        }
        self.set_pin(waba_id)
    }

    fn set_webhook_configuration(
        &self,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        let callback = self.phone_override_params()?;
        let app = self.calling_app()?;
        self.update_number(&MANAGEMENT, waba_id, |number| {
            let subscribed = self.world.waba(&number.waba_id).is_some_and(|waba| {
                waba.subscribed_apps
                    .iter()
                    .any(|subscription| subscription.app_id == app.id)
            });
            if callback.is_some() && !subscribed {
                return Err(domain::DomainError::OverrideBeforeSubscription.into());
            }
            number.set_webhook_override(callback);
            Ok(Reply::Success)
        })
    }

    /// The `webhook_configuration` field of a number: where its webhooks go for the calling
    /// app, most specific first (phone override, WABA override, app callback), each only when
    /// set (Meta's webhook-overrides page).
    pub(crate) fn webhook_configuration(&self, number: &domain::PhoneNumber) -> Value {
        let mut out = Map::new();
        if let Some(callback) = number.webhook_override() {
            out.insert("phone_number".into(), Value::String(callback.uri.clone()));
        }
        let app = self.calling_app().ok();
        if let (Some(app), Some(waba)) = (&app, self.world.waba(&number.waba_id))
            && let Some(callback) = waba
                .subscribed_apps
                .iter()
                .find(|subscription| subscription.app_id == app.id)
                .and_then(|subscription| subscription.callback_override.as_ref())
        {
            out.insert(
                "whatsapp_business_account".into(),
                Value::String(callback.uri.clone()),
            );
        }
        if let Some(webhook) = app.and_then(|app| app.webhook) {
            out.insert("application".into(), Value::String(webhook.callback_url));
        }
        Value::Object(out)
    }

    /// `GET /debug_token?input_token=`: only with an app token (captured 100 otherwise). An
    /// unknown or expired input token answers 200 with `is_valid: false` and the 190 inside.
    pub(crate) fn debug_token(&self) -> Result<Reply, GraphError> {
        if !self.principal.app_token {
            return Err(GraphError::app_token_required());
        }
        let caller_app = self.calling_app()?;
        let input = self.params.required_text("input_token")?;
        let input = input.trim();
        if let Some(principal) = self.world.find_app_token(input) {
            let id = principal.app_id.as_deref().unwrap_or_default();
            let name = self.world.app(id).map(|app| app.name).unwrap_or_default();
            return Ok(Reply::json(&json!({"data": {
                "app_id": id,
                "type": "APP",
                "application": name,
                "is_valid": true,
                "scopes": [],
            }})));
        }
        let token = is_parseable_token(input)
            .then(|| self.world.token(input))
            .flatten();
        let Some(token) = token else {
            let error = if is_parseable_token(input) {
                GraphError::unknown_token()
            } else {
                GraphError::unparseable_token()
            };
            return Ok(Reply::json(&json!({"data": {
                "app_id": caller_app.id,
                "error": inner_error(&error),
                "is_valid": false,
                "scopes": [],
            }})));
        };
        let token_app = match &token.app_id {
            Some(id) => self.world.app(id),
            None => self.world.default_app(),
        }
        .unwrap_or(caller_app);
        let mut scopes: Vec<Value> = token
            .permissions
            .iter()
            .map(|permission| Value::String(permission.clone()))
            .collect();
        scopes.push(Value::String("public_profile".into()));
        let shape = token
            .scopes_shape
            .unwrap_or(self.app.settings().granular_scopes);
        let mut data = Map::new();
        data.insert("app_id".into(), Value::String(token_app.id.clone()));
        data.insert(
            "type".into(),
            Value::String(
                if token.system_user {
                    "SYSTEM_USER"
                } else {
                    "USER"
                }
                .into(),
            ),
        );
        data.insert("application".into(), Value::String(token_app.name.clone()));
        let expires_at = token.expires_at.map_or(0, |at| at.timestamp());
        data.insert(
            "data_access_expires_at".into(),
            json!(if token.system_user {
                0
            } else {
                (self.now + TimeDelta::days(90)).timestamp()
            }),
        );
        data.insert("expires_at".into(), json!(expires_at));
        let expired = token.expires_at.filter(|at| *at <= self.now);
        data.insert("is_valid".into(), Value::Bool(expired.is_none()));
        if let Some(expired_at) = expired {
            data.insert(
                "error".into(),
                inner_error(&GraphError::expired_token(expired_at, self.now)),
            );
        }
        data.insert("scopes".into(), Value::Array(scopes));
        data.insert(
            "granular_scopes".into(),
            granular_scopes(&token, shape, &self.world.wabas()),
        );
        data.insert(
            "user_id".into(),
            Value::String(
                token
                    .user_id
                    .clone()
                    .unwrap_or_else(|| stable_user_id(&token.value)),
            ),
        );
        Ok(Reply::json(&json!({ "data": Value::Object(data) })))
    }
}

/// `{"data": [...]}` with the entries' own key order (a `json!` map would sort them).
#[derive(Debug, serde::Serialize)]
struct DataList<T> {
    data: Vec<T>,
}

/// One entry of `GET /{WABA_ID}/subscribed_apps`, keys in Meta's order.
#[derive(Debug, serde::Serialize)]
struct SubscribedApp {
    whatsapp_business_api_data: SubscribedAppData,
    #[serde(skip_serializing_if = "Option::is_none")]
    override_callback_uri: Option<String>,
}

/// `whatsapp_business_api_data`: Meta's documented `id`, `link`, `name`, then the `category`
/// seen live.
#[derive(Debug, serde::Serialize)]
struct SubscribedAppData {
    id: String,
    link: String,
    name: String,
    category: &'static str,
}

/// `granular_scopes` in the chosen shape. Classic: one entry per WhatsApp permission with the
/// token's WABAs in `target_ids` (newest first, as Meta says the most recently onboarded come
/// first; left out for a token that reaches every WABA). June 2026: `business_management`,
/// `whatsapp_business_manage_events` and the messaging permission, none with `target_ids`.
fn granular_scopes(token: &Token, shape: ScopesShape, wabas: &[Waba]) -> Value {
    let has = |permission: &str| token.permissions.iter().any(|p| p == permission);
    match shape {
        ScopesShape::Classic => {
            let targets: Option<Vec<String>> = match token.scope.as_ref() {
                WabaScope::All => None,
                WabaScope::Only(ids) => {
                    let mut ids: Vec<String> = wabas
                        .iter()
                        .filter(|waba| ids.contains(&waba.id))
                        .map(|waba| waba.id.clone())
                        .collect();
                    ids.reverse();
                    Some(ids)
                }
            };
            let entries = [PERMISSION_MANAGEMENT, PERMISSION_MESSAGING]
                .into_iter()
                .filter(|permission| has(permission))
                .map(|permission| match &targets {
                    Some(ids) => json!({"scope": permission, "target_ids": ids}),
                    None => json!({"scope": permission}),
                })
                .collect();
            Value::Array(entries)
        }
        ScopesShape::June2026 => {
            let mut entries = vec![
                json!({"scope": "business_management"}),
                json!({"scope": "whatsapp_business_manage_events"}),
            ];
            if has(PERMISSION_MESSAGING) {
                entries.push(json!({"scope": PERMISSION_MESSAGING}));
            }
            Value::Array(entries)
        }
    }
}

/// The `error` object inside `debug_token`'s data: code, message and subcode only.
fn inner_error(error: &GraphError) -> Value {
    let mut out = json!({"code": error.code, "message": error.message});
    if let Some(subcode) = error.subcode {
        out["subcode"] = json!(subcode);
    }
    out
}

/// A user id for a fixture token that names none: stable for the token, 16 digits.
fn stable_user_id(token: &str) -> String {
    use sha2::Digest;
    let digest = sha2::Sha256::digest(token.as_bytes());
    let mut value = u64::from_be_bytes(digest[..8].try_into().unwrap_or_default());
    value = 1_000_000_000_000_000 + value % 9_000_000_000_000_000;
    value.to_string()
}

/// An override URI: http(s), at most 200 characters (Meta's limit).
fn check_callback_uri(name: &str, uri: &str) -> Result<(), GraphError> {
    let chars = uri.chars().count();
    let scheme_ok = uri.starts_with("https://") || uri.starts_with("http://");
    if chars > OVERRIDE_URI_MAX_CHARS || !scheme_ok || uri.parse::<axum::http::Uri>().is_err() {
        return Err(GraphError::invalid_parameter(format!(
            "{name} must be an http or https URL of at most {OVERRIDE_URI_MAX_CHARS} characters."
        )));
    }
    Ok(())
}

/// One field of the WABA node, `None` for fields without a value.
fn waba_field(waba: &Waba, name: &str) -> Option<Value> {
    Some(match name {
        "id" => Value::String(waba.id.clone()),
        "name" => Value::String(waba.name.clone()),
        "currency" => Value::String(waba.currency.clone()),
        "timezone_id" => Value::String(waba.timezone_id.clone()),
        "message_template_namespace" => Value::String(waba.message_template_namespace.clone()),
        "account_review_status" => Value::String("APPROVED".into()),
        "business_verification_status" => Value::String("verified".into()),
        "ownership_type" => Value::String("CLIENT_OWNED".into()),
        "is_enabled_for_insights" => Value::Bool(false),
        "status" => Value::String("ACTIVE".into()),
        "owner_business_info" => {
            let id = waba.owner_business_id.clone()?;
            json!({"name": waba.name, "id": id})
        }
        "on_behalf_of_business_info" => {
            let id = waba.owner_business_id.clone()?;
            json!({"name": waba.name, "id": id, "status": "APPROVED", "type": "SELF"})
        }
        "health_status" => json!({
            "can_send_message": "AVAILABLE",
            "entities": [{"entity_type": "WABA", "id": waba.id, "can_send_message": "AVAILABLE"}],
        }),
        _ => return None,
    })
}

impl Call<'_> {
    /// The callback and verify token `POST /{APP_ID}/subscriptions` would store, if it passes
    /// the call's own checks (a request refused anyway never reaches the callback).
    pub(crate) fn subscription_to_verify(&self) -> Option<(String, String)> {
        self.app_token_of_node().ok()?;
        let (_, url, token, _) = self.subscription_params().ok()?;
        Some((url, token))
    }

    /// The WABA override `POST /{WABA_ID}/subscribed_apps` would store, if it passes the
    /// call's own checks.
    pub(crate) fn waba_override_to_verify(&self) -> Option<(String, String)> {
        let waba = self.world.waba(self.node)?;
        self.admit_to(&waba.id, &MANAGEMENT, &mut None).ok()?;
        let callback = self
            .override_params("override_callback_uri", "verify_token", self.params)
            .ok()??;
        let app = self.calling_app().ok()?;
        waba.subscribed_apps
            .iter()
            .any(|subscription| subscription.app_id == app.id)
            .then_some((callback.uri, callback.verify_token))
    }

    /// The phone-number override `POST /{PHONE_NUMBER_ID}` would store, if it passes the
    /// call's own checks.
    pub(crate) fn phone_override_to_verify(&self) -> Option<(String, String)> {
        let callback = self.phone_override_params().ok()??;
        let app = self.calling_app().ok()?;
        self.world
            .read_number(self.node, |number| {
                let visible = authorize(
                    self.principal,
                    self.method.as_str(),
                    self.node,
                    &number.waba_id,
                    &MANAGEMENT,
                    &mut None,
                )
                .is_ok();
                let subscribed = self.world.waba(&number.waba_id).is_some_and(|waba| {
                    waba.subscribed_apps
                        .iter()
                        .any(|subscription| subscription.app_id == app.id)
                });
                visible && subscribed
            })
            .filter(|ok| *ok)
            .map(|_| (callback.uri, callback.verify_token))
    }

    /// `webhook_configuration` of `POST /{PHONE_NUMBER_ID}`: `None` when it removes the
    /// override (`override_callback_uri` empty).
    fn phone_override_params(&self) -> Result<Option<CallbackOverride>, GraphError> {
        let object = self
            .params
            .object("webhook_configuration")?
            .unwrap_or_default();
        let mut nested = Params::default();
        for (name, value) in object {
            nested.insert(name, value);
        }
        let removing = nested
            .text("override_callback_uri")?
            .is_some_and(|uri| uri.is_empty());
        if removing {
            return Ok(None);
        }
        let callback = self.override_params("override_callback_uri", "verify_token", &nested)?;
        callback.map(Some).ok_or_else(|| {
            GraphError::missing_parameter("webhook_configuration.override_callback_uri")
        })
    }

    /// The app `/{APP_ID}/subscriptions` is about, when the request carries its app token.
    fn app_token_of_node(&self) -> Result<App, GraphError> {
        let app = self
            .world
            .app(self.node)
            .ok_or_else(|| GraphError::unknown_object(self.method.as_str(), self.node))?;
        if !self.principal.app_token || self.principal.app_id.as_deref() != Some(app.id.as_str()) {
            return Err(GraphError::app_token_call_only());
        }
        Ok(app)
    }

    /// `object`, `callback_url`, `verify_token` and `fields` of a subscription.
    fn subscription_params(&self) -> Result<(String, String, String, Vec<String>), GraphError> {
        let object = self.params.required_text("object")?.into_owned();
        if object != WABA_OBJECT {
            return Err(GraphError::not_one_of("object", &[WABA_OBJECT], &object));
        }
        let url = self.params.required_text("callback_url")?.into_owned();
        check_callback_uri("callback_url", &url)?;
        let token = self.params.required_text("verify_token")?.into_owned();
        let fields = self.field_list()?;
        if fields.is_empty() {
            return Err(GraphError::missing_parameter("fields"));
        }
        Ok((object, url, token, fields))
    }

    /// `fields` as a comma-separated list or a JSON array.
    fn field_list(&self) -> Result<Vec<String>, GraphError> {
        let fields: Vec<String> = match self.params.get("fields") {
            Some(ParamValue::Json(Value::Array(items))) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect(),
            _ => self
                .params
                .text("fields")?
                .map(|text| match serde_json::from_str::<Vec<String>>(&text) {
                    Ok(items) => items,
                    Err(_) => text.split(',').map(|f| f.trim().to_owned()).collect(),
                })
                .unwrap_or_default(),
        };
        let mut unique: Vec<String> = Vec::new();
        for field in fields.into_iter().filter(|field| !field.is_empty()) {
            if !unique.contains(&field) {
                unique.push(field);
            }
        }
        Ok(unique)
    }

    /// `/{APP_ID}/subscriptions`: the app's `whatsapp_business_account` callback. `POST` sets
    /// it (after the handshake), `GET` lists it, `DELETE` removes it (or only the `fields`
    /// given). Only with that app's token (`(#15)` otherwise).
    pub(crate) fn app_subscriptions(&self) -> Result<Reply, GraphError> {
        let app = self.app_token_of_node()?;
        self.body_outcome.clone()?;
        if *self.method == Method::GET {
            let data: Vec<Value> = app
                .webhook
                .iter()
                .map(|webhook| {
                    json!({
                        "object": WABA_OBJECT,
                        "callback_url": webhook.callback_url,
                        "active": true,
                        "fields": webhook.fields.iter().map(|name| json!({"name": name, "version": self.version.name})).collect::<Vec<_>>(),
                    })
                })
                .collect();
            return Ok(Reply::json(&json!({ "data": data })));
        }
        if *self.method == Method::DELETE {
            let fields = self.field_list()?;
            self.world.update_app(&app.id, |app| {
                if fields.is_empty() {
                    app.webhook = None;
                } else if let Some(webhook) = &mut app.webhook {
                    webhook.fields.retain(|field| !fields.contains(field));
                }
            });
            return Ok(Reply::Success);
        }
        let (_, url, token, fields) = self.subscription_params()?;
        self.world.update_app(&app.id, |app| {
            app.webhook = Some(AppWebhook {
                callback_url: url,
                verify_token: token,
                fields,
            });
        });
        Ok(Reply::Success)
    }
}
