//! Webhook events from the state: who gets an event (routing) and the payloads the state's
//! changes produce, in Meta's key order.
//!
//! Routing (Meta's webhook-overrides page): the fields Meta lets an override catch (`messages`
//! and the other conversation fields) go to the phone number's override, else the WABA's
//! override of that app, else the app's callback; every other field (`account_update`,
//! `phone_number_name_update`, templates, ...) goes to the app's callback. Only apps
//! subscribed to the WABA (`subscribed_apps`) get its events — an unsubscribed WABA delivers
//! nothing, as in production — and only for fields the app subscribed to with its callback
//! (`/{APP_ID}/subscriptions` or the control API). `PARTNER_*` events go to the partner app
//! that ran the signup, subscribed or not.

use chrono::{DateTime, TimeDelta, Utc};
use serde::Serialize;

use super::AppState;
use crate::domain::{App, PhoneNumber, digits_of};
use crate::webhooks::{Delivery, Envelope};

/// The fields an override catches (Meta's webhook-overrides page); the rest always go to the
/// app's callback.
pub const OVERRIDABLE_FIELDS: [&str; 13] = [
    "messages",
    "message_echoes",
    "calls",
    "consumer_profile",
    "messaging_handovers",
    "group_lifecycle_update",
    "group_participants_update",
    "group_settings_update",
    "group_status_update",
    "smb_message_echoes",
    "smb_app_state_sync",
    "history",
    "account_settings_update",
];

/// The `whatsapp_business_account` fields an event may be emitted on (Meta's webhook
/// reference).
pub const WEBHOOK_FIELDS: [&str; 16] = [
    "messages",
    "account_update",
    "account_review_update",
    "account_alerts",
    "phone_number_name_update",
    "phone_number_quality_update",
    "message_template_status_update",
    "message_template_quality_update",
    "template_category_update",
    "business_capability_update",
    "security",
    "message_echoes",
    "calls",
    "history",
    "smb_message_echoes",
    "smb_app_state_sync",
];

/// The `whatsapp_business_account` fields an app subscribes to when it names none.
pub const DEFAULT_APP_FIELDS: [&str; 8] = [
    "messages",
    "account_update",
    "account_review_update",
    "account_alerts",
    "phone_number_name_update",
    "phone_number_quality_update",
    "message_template_status_update",
    "business_capability_update",
];

/// After a send is accepted: `delivered` this long after `sent`, `read` this long after that
/// (on the emulator's clock, so a manual clock decides when they come).
pub const DELIVERED_AFTER: TimeDelta = TimeDelta::seconds(2);
/// See [`DELIVERED_AFTER`].
pub const READ_AFTER: TimeDelta = TimeDelta::seconds(5);

/// One event to route and deliver.
#[derive(Debug, Clone)]
pub struct Event<V> {
    /// The webhook field.
    pub field: &'static str,
    /// The WABA it is about.
    pub waba_id: String,
    /// The number it is about, if any.
    pub number_id: Option<String>,
    /// `entry.id` (the WABA id, or the partner's business for `PARTNER_*`).
    pub entry_id: String,
    /// The payload, a struct so the keys keep Meta's order.
    pub value: V,
    /// Only this app (`PARTNER_*`), subscribed or not; `None`: the WABA's subscribed apps.
    pub only_app: Option<String>,
    /// First attempted once the emulator's clock reaches this (`None`: at once).
    pub due: Option<DateTime<Utc>>,
}

/// Where one app gets an event.
#[derive(Debug, Clone)]
pub struct Target {
    /// The app (its secret signs the delivery).
    pub app: App,
    /// The callback chosen by routing.
    pub url: String,
}

/// `account_update` for the `PARTNER_*` events.
#[derive(Debug, Clone, Serialize)]
pub struct PartnerEvent {
    /// `PARTNER_ADDED`, `PARTNER_REMOVED`, `PARTNER_APP_UNINSTALLED`, ...
    pub event: &'static str,
    /// The WABA and its owner.
    pub waba_info: WabaInfo,
}

/// `waba_info` of a partner event.
#[derive(Debug, Clone, Serialize)]
pub struct WabaInfo {
    /// The WABA.
    pub waba_id: String,
    /// The customer's business portfolio.
    pub owner_business_id: String,
    /// The app (`PARTNER_APP_INSTALLED` / `PARTNER_APP_UNINSTALLED` only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub partner_app_id: Option<String>,
}

/// `account_update` events without more data (`ACCOUNT_OFFBOARDED`, `ACCOUNT_RECONNECTED`).
#[derive(Debug, Clone, Serialize)]
pub struct AccountEvent {
    /// The event.
    pub event: &'static str,
}

/// `phone_number_name_update`.
#[derive(Debug, Clone, Serialize)]
pub struct NameUpdate {
    /// The number, digits only.
    pub display_phone_number: String,
    /// `APPROVED` or `REJECTED`.
    pub decision: &'static str,
    /// The name reviewed.
    pub requested_verified_name: String,
    /// Why it was rejected (`null` when approved).
    pub rejection_reason: Option<&'static str>,
}

/// `metadata` of a `messages` value.
#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    /// The business number, digits only.
    pub display_phone_number: String,
    /// Its id.
    pub phone_number_id: String,
}

impl Metadata {
    /// The metadata of `number`.
    pub fn of(number: &PhoneNumber) -> Self {
        Self {
            display_phone_number: digits_of(&number.display_phone_number),
            phone_number_id: number.id.to_string(),
        }
    }
}

/// An inbound text message (`messages` field).
#[derive(Debug, Clone, Serialize)]
pub struct InboundMessages {
    /// Always `whatsapp`.
    pub messaging_product: &'static str,
    /// The business number.
    pub metadata: Metadata,
    /// The sender's profile.
    pub contacts: Vec<InboundContact>,
    /// The message.
    pub messages: Vec<InboundMessage>,
}

/// `contacts[]` of an inbound message.
#[derive(Debug, Clone, Serialize)]
pub struct InboundContact {
    /// `{"name": …}`.
    pub profile: Profile,
    /// The sender's WhatsApp id.
    pub wa_id: String,
    /// The sender's business-scoped user id (BSUID, `CC.digits`), as 2026 deliveries carry it.
    pub user_id: String,
}

/// A contact's profile.
#[derive(Debug, Clone, Serialize)]
pub struct Profile {
    /// Display name.
    pub name: String,
}

/// `messages[]` of an inbound text message.
#[derive(Debug, Clone, Serialize)]
pub struct InboundMessage {
    /// The sender's WhatsApp id.
    pub from: String,
    /// The sender's BSUID (the contact's `user_id`).
    pub from_user_id: String,
    /// `wamid.…`.
    pub id: String,
    /// Unix seconds, as a string (as Meta sends it).
    pub timestamp: String,
    /// `text`.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `{"body": …}`.
    pub text: TextBody,
}

/// A text body.
#[derive(Debug, Clone, Serialize)]
pub struct TextBody {
    /// The text.
    pub body: String,
}

/// Status updates of a sent message (`messages` field).
#[derive(Debug, Clone, Serialize)]
pub struct StatusUpdates {
    /// Always `whatsapp`.
    pub messaging_product: &'static str,
    /// The business number.
    pub metadata: Metadata,
    /// One status.
    pub statuses: Vec<Status>,
}

/// One status of a sent message.
#[derive(Debug, Clone, Serialize)]
pub struct Status {
    /// The message's `wamid.…`.
    pub id: String,
    /// `sent`, `delivered` or `read`.
    pub status: &'static str,
    /// Unix seconds, as a string.
    pub timestamp: String,
    /// The recipient's WhatsApp id.
    pub recipient_id: String,
    /// On `sent` and `delivered` only (Meta: on `sent` and one of `delivered`/`read`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pricing: Option<Pricing>,
}

/// `pricing` of a status.
#[derive(Debug, Clone, Serialize)]
pub struct Pricing {
    /// Whether the message is charged.
    pub billable: bool,
    /// `PMP` (per-message pricing, since 2025-07-01).
    pub pricing_model: &'static str,
    /// `regular`, `free_customer_service`, ...
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// `marketing`, `utility`, `authentication`, `service`.
    pub category: &'static str,
}

impl AppState {
    /// Who gets `field` about `waba_id` (and `number_id`), and at which callback.
    pub fn webhook_targets(
        &self,
        field: &str,
        waba_id: &str,
        number_id: Option<&str>,
        only_app: Option<&str>,
    ) -> Vec<Target> {
        // Map reads without the reset gate (like token lookups): callers may hold the world
        // already, and a reset racing with it can only make the event miss.
        let world = &self.0.world;
        let Some(waba) = world.waba(waba_id) else {
            return Vec::new();
        };
        let number_override = number_id
            .and_then(|id| world.number(id))
            .and_then(|number| {
                number
                    .webhook_override()
                    .map(|callback| callback.uri.clone())
            });
        let overridable = OVERRIDABLE_FIELDS.contains(&field);
        let candidates: Vec<(String, Option<String>)> = match only_app {
            Some(app) => vec![(
                app.to_owned(),
                waba.subscribed_apps
                    .iter()
                    .find(|subscription| subscription.app_id == app)
                    .and_then(|subscription| subscription.callback_override.clone())
                    .map(|callback| callback.uri),
            )],
            None => waba
                .subscribed_apps
                .iter()
                .map(|subscription| {
                    (
                        subscription.app_id.clone(),
                        subscription
                            .callback_override
                            .as_ref()
                            .map(|callback| callback.uri.clone()),
                    )
                })
                .collect(),
        };
        candidates
            .into_iter()
            .filter_map(|(app_id, waba_override)| {
                let app = world.app(&app_id)?;
                let webhook = app.webhook.as_ref()?;
                if !webhook.fields.iter().any(|subscribed| subscribed == field) {
                    return None;
                }
                let url = if overridable {
                    number_override
                        .clone()
                        .or(waba_override)
                        .unwrap_or_else(|| webhook.callback_url.clone())
                } else {
                    webhook.callback_url.clone()
                };
                Some(Target { app, url })
            })
            .collect()
    }

    /// Routes `event` and queues one delivery per target; returns the delivery ids (none when
    /// nobody is subscribed). Never waits.
    pub fn emit<V: Serialize>(&self, event: Event<V>) -> Vec<u64> {
        let targets = self.webhook_targets(
            event.field,
            &event.waba_id,
            event.number_id.as_deref(),
            event.only_app.as_deref(),
        );
        if targets.is_empty() {
            return Vec::new();
        }
        let (now, _) = self.now_for_waba(&event.waba_id);
        let body = Envelope::single(event.entry_id, event.field, event.value, now).to_body();
        targets
            .into_iter()
            .map(|target| {
                self.webhooks().enqueue_at(
                    Delivery {
                        app_id: target.app.id,
                        url: target.url,
                        secret: target.app.secret,
                        field: event.field.to_owned(),
                        number_id: event.number_id.clone(),
                        waba_id: Some(event.waba_id.clone()),
                        body: body.clone(),
                    },
                    event.due,
                )
            })
            .collect()
    }

    /// The statuses of an accepted send: `sent` at once, `delivered` and `read` paced on the
    /// emulator's clock ([`DELIVERED_AFTER`], [`READ_AFTER`]).
    pub fn emit_send_statuses(
        &self,
        number: &PhoneNumber,
        message_id: &str,
        recipient: &str,
        template: bool,
    ) -> Vec<u64> {
        let waba_id = number.waba_id.to_string();
        if self
            .webhook_targets("messages", &waba_id, Some(&number.id), None)
            .is_empty()
        {
            return Vec::new();
        }
        let (waba_now, _) = self.now_for_waba(&waba_id);
        let now = self.now();
        // A text answers a customer inside the service window (free); a template is charged
        // as utility. The emulator does not model conversation windows further.
        let pricing = if template {
            Pricing {
                billable: true,
                pricing_model: "PMP",
                kind: "regular",
                category: "utility",
            }
        } else {
            Pricing {
                billable: false,
                pricing_model: "PMP",
                kind: "free_customer_service",
                category: "service",
            }
        };
        let steps = [
            ("sent", TimeDelta::zero(), Some(pricing.clone())),
            ("delivered", DELIVERED_AFTER, Some(pricing)),
            ("read", DELIVERED_AFTER + READ_AFTER, None),
        ];
        steps
            .into_iter()
            .flat_map(|(status, after, pricing)| {
                self.emit(Event {
                    field: "messages",
                    waba_id: waba_id.clone(),
                    number_id: Some(number.id.to_string()),
                    entry_id: waba_id.clone(),
                    value: StatusUpdates {
                        messaging_product: "whatsapp",
                        metadata: Metadata::of(number),
                        statuses: vec![Status {
                            id: message_id.to_owned(),
                            status,
                            timestamp: (waba_now + after).timestamp().to_string(),
                            recipient_id: recipient.to_owned(),
                            pricing,
                        }],
                    },
                    only_app: None,
                    due: (after > TimeDelta::zero()).then(|| now + after),
                })
            })
            .collect()
    }
}
