//! Control operations for webhooks: an app's callback (as the App Dashboard sets it), events
//! the state produces on demand (inbound messages, partner and coexistence changes) or any
//! documented event by hand, the delivery log, redelivery, and delivery faults.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Control, ControlError};
use crate::domain::{AppWebhook, digits_of};
use crate::state::{
    AccountEvent, DEFAULT_APP_FIELDS, Event, InboundContact, InboundMessage, InboundMessages,
    Metadata, PartnerEvent, Profile, TextBody, WEBHOOK_FIELDS, WabaInfo,
};
use crate::webhooks::{
    ArmedDeliveryFault, DeliveryFaultSpec, DeliveryFilter, DeliveryRecord, RedeliverError,
};

/// `PUT /__emulator/apps/{app_id}/webhook`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppWebhookRequest {
    /// Where deliveries go (verified with the handshake first).
    pub callback_url: String,
    /// Sent as `hub.verify_token` in the handshake.
    pub verify_token: String,
    /// Subscribed `whatsapp_business_account` fields (default: the common ones).
    #[serde(default)]
    pub fields: Option<Vec<String>>,
}

/// `POST /__emulator/numbers/{id}/inbound`: a customer writes to the number.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundRequest {
    /// The customer's number (digits, `+` and separators allowed).
    pub from: String,
    /// The text.
    pub text: String,
    /// The customer's profile name (default `Customer <last four digits>`).
    #[serde(default)]
    pub name: Option<String>,
}

/// What an event produced.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EmittedView {
    /// The deliveries queued (none when no app is subscribed or routed).
    pub deliveries: Vec<u64>,
    /// The inbound message's id, for inbound messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_id: Option<String>,
}

/// `POST /__emulator/webhooks/emit`: any documented event with a given value.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmitRequest {
    /// The webhook field (`account_update`, `phone_number_quality_update`, ...).
    pub field: String,
    /// The WABA it is about.
    pub waba_id: String,
    /// The number it is about (routing uses its override for `messages`).
    #[serde(default)]
    pub number_id: Option<String>,
    /// `entry.id` (default: the WABA id).
    #[serde(default)]
    pub entry_id: Option<String>,
    /// The `value` as it should be delivered.
    pub value: Value,
}

/// `POST /__emulator/wabas/{id}/partner-event`: the partner or its app leaves the WABA.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartnerEventRequest {
    /// `PARTNER_REMOVED` or `PARTNER_APP_UNINSTALLED`.
    pub event: String,
    /// The partner app (default: the first app).
    #[serde(default)]
    pub app_id: Option<String>,
}

/// `POST /__emulator/numbers/{id}/business-app`: a coexistence number's WhatsApp Business app
/// goes away or comes back.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BusinessAppRequest {
    /// `ACCOUNT_OFFBOARDED` or `ACCOUNT_RECONNECTED`.
    pub event: String,
}

impl Control {
    /// Sets an app's callback, as the App Dashboard does: the handshake first (a failure is a
    /// conflict naming Meta's `#2200` detail), then stored.
    pub async fn set_app_webhook(
        &self,
        app_id: &str,
        request: AppWebhookRequest,
    ) -> Result<crate::fixtures::AppFixture, ControlError> {
        if self.0.world().app(app_id).is_none() {
            return Err(ControlError::not_found(format!("no app with id {app_id}")));
        }
        let url = request.callback_url.trim().to_owned();
        if !(url.starts_with("http://") || url.starts_with("https://"))
            || url.parse::<axum::http::Uri>().is_err()
        {
            return Err(ControlError::invalid(
                "callback_url must be an http or https URL",
            ));
        }
        let fields = request
            .fields
            .unwrap_or_else(|| DEFAULT_APP_FIELDS.map(str::to_owned).to_vec());
        if fields.iter().any(|field| field.trim().is_empty()) {
            return Err(ControlError::invalid("fields must be non-empty names"));
        }
        let challenge = self.0.draw_lifecycle_id() % 10_000_000_000;
        self.0
            .webhooks()
            .handshake(&url, &request.verify_token, challenge)
            .await
            .map_err(|failure| {
                ControlError::conflict(format!(
                    "(#2200) Callback verification failed with the following errors: {}",
                    failure.detail
                ))
            })?;
        let webhook = AppWebhook {
            callback_url: url,
            verify_token: request.verify_token,
            fields,
        };
        self.0
            .world()
            .update_app(app_id, |app| app.webhook = Some(webhook))
            .ok_or_else(|| ControlError::not_found(format!("no app with id {app_id}")))?;
        self.list_apps()
            .into_iter()
            .find(|app| app.id == app_id)
            .ok_or_else(|| ControlError::not_found(format!("no app with id {app_id}")))
    }

    /// Removes an app's callback: nothing is delivered to it any more.
    pub fn remove_app_webhook(&self, app_id: &str) -> Result<(), ControlError> {
        self.0
            .world()
            .update_app(app_id, |app| app.webhook = None)
            .ok_or_else(|| ControlError::not_found(format!("no app with id {app_id}")))
    }

    /// A customer writes `text` to the number: a `messages` webhook, delivered only when the
    /// number is registered and routing finds a callback (an unregistered number receives
    /// nothing).
    pub fn inbound_message(
        &self,
        id: &str,
        request: InboundRequest,
    ) -> Result<EmittedView, ControlError> {
        let number = self
            .0
            .number(id)
            .ok_or_else(|| ControlError::not_found(format!("no phone number with id {id}")))?;
        let from = digits_of(&request.from);
        if from.is_empty() || from.len() > 15 {
            return Err(ControlError::invalid(
                "from must be a phone number (1 to 15 digits)",
            ));
        }
        if request.text.is_empty() {
            return Err(ControlError::invalid("text must not be empty"));
        }
        let message_id = format!("wamid.HBgL{}{:016X}", from, self.0.draw_lifecycle_id());
        if !number.registered {
            return Ok(EmittedView {
                deliveries: Vec::new(),
                message_id: Some(message_id),
            });
        }
        let (now, _) = self.0.now_for_waba(&number.waba_id);
        let business = self
            .0
            .world()
            .waba(&number.waba_id)
            .and_then(|waba| waba.owner_business_id.clone())
            .unwrap_or_else(|| number.waba_id.to_string());
        let user_id = business_scoped_user_id(&business, &from);
        let name = request
            .name
            .unwrap_or_else(|| format!("Customer {}", &from[from.len().saturating_sub(4)..]));
        let deliveries = self.0.emit(Event {
            field: "messages",
            waba_id: number.waba_id.to_string(),
            number_id: Some(number.id.to_string()),
            entry_id: number.waba_id.to_string(),
            value: InboundMessages {
                messaging_product: "whatsapp",
                metadata: Metadata::of(&number),
                contacts: vec![InboundContact {
                    profile: Profile { name },
                    wa_id: from.clone(),
                    user_id: user_id.clone(),
                }],
                messages: vec![InboundMessage {
                    from,
                    from_user_id: user_id,
                    id: message_id.clone(),
                    timestamp: now.timestamp().to_string(),
                    kind: "text",
                    text: TextBody { body: request.text },
                }],
            },
            only_app: None,
            due: None,
        });
        Ok(EmittedView {
            deliveries,
            message_id: Some(message_id),
        })
    }

    /// Emits any documented event with the given value (for cases the state does not
    /// produce), routed like the state's own.
    pub fn emit_event(&self, request: EmitRequest) -> Result<EmittedView, ControlError> {
        let field = known_field(&request.field)?;
        if self.0.world().waba(&request.waba_id).is_none() {
            return Err(ControlError::not_found(format!(
                "no WABA with id {}",
                request.waba_id
            )));
        }
        if !request.value.is_object() {
            return Err(ControlError::invalid("value must be a JSON object"));
        }
        let deliveries = self.0.emit(Event {
            field,
            entry_id: request.entry_id.unwrap_or_else(|| request.waba_id.clone()),
            waba_id: request.waba_id,
            number_id: request.number_id,
            value: request.value,
            only_app: None,
            due: None,
        });
        Ok(EmittedView {
            deliveries,
            message_id: None,
        })
    }

    /// The partner (`PARTNER_REMOVED`) or its app (`PARTNER_APP_UNINSTALLED`) leaves the WABA:
    /// the app is unsubscribed from it and told so at its callback.
    pub fn partner_event(
        &self,
        waba_id: &str,
        request: PartnerEventRequest,
    ) -> Result<EmittedView, ControlError> {
        let event = match request.event.as_str() {
            "PARTNER_REMOVED" => "PARTNER_REMOVED",
            "PARTNER_APP_UNINSTALLED" => "PARTNER_APP_UNINSTALLED",
            other => {
                return Err(ControlError::invalid(format!(
                    "event must be PARTNER_REMOVED or PARTNER_APP_UNINSTALLED, not {other:?}"
                )));
            }
        };
        let world = self.0.world();
        let waba = world
            .waba(waba_id)
            .ok_or_else(|| ControlError::not_found(format!("no WABA with id {waba_id}")))?;
        let app = match &request.app_id {
            Some(id) => world.app(id),
            None => world.default_app(),
        }
        .ok_or_else(|| ControlError::not_found("no such app"))?;
        drop(world);
        let deliveries = self.0.emit(partner_event(event, &waba, &app));
        self.0.world().update_waba(waba_id, |waba| {
            crate::domain::unsubscribe(&mut waba.subscribed_apps, &app.id);
        });
        Ok(EmittedView {
            deliveries,
            message_id: None,
        })
    }

    /// A coexistence number's WhatsApp Business app is offboarded (the number leaves the
    /// Cloud API) or reconnected (it is back): `account_update` to the subscribed apps.
    pub fn business_app_event(
        &self,
        id: &str,
        request: BusinessAppRequest,
    ) -> Result<EmittedView, ControlError> {
        let (event, registered) = match request.event.as_str() {
            "ACCOUNT_OFFBOARDED" => ("ACCOUNT_OFFBOARDED", false),
            "ACCOUNT_RECONNECTED" => ("ACCOUNT_RECONNECTED", true),
            other => {
                return Err(ControlError::invalid(format!(
                    "event must be ACCOUNT_OFFBOARDED or ACCOUNT_RECONNECTED, not {other:?}"
                )));
            }
        };
        let waba_id = self
            .0
            .world()
            .update_number(id, |number| {
                if !number.coexistence {
                    return Err(ControlError::conflict(
                        "only a coexistence number (shared with the WhatsApp Business app) can be offboarded or reconnected",
                    ));
                }
                if number.registered != registered {
                    number.registered = registered;
                }
                Ok(number.waba_id.to_string())
            })
            .ok_or_else(|| ControlError::not_found(format!("no phone number with id {id}")))??;
        let deliveries = self.0.emit(Event {
            field: "account_update",
            entry_id: waba_id.clone(),
            waba_id,
            number_id: Some(id.to_owned()),
            value: AccountEvent { event },
            only_app: None,
            due: None,
        });
        Ok(EmittedView {
            deliveries,
            message_id: None,
        })
    }

    /// The delivery log, filtered.
    pub fn deliveries(&self, filter: &DeliveryFilter) -> Vec<DeliveryRecord> {
        self.0.webhooks().deliveries(filter)
    }

    /// Sends a logged delivery again (same bytes, a new attempt).
    pub fn redeliver(&self, id: u64) -> Result<DeliveryRecord, ControlError> {
        self.0
            .webhooks()
            .redeliver(id)
            .map_err(|error| match error {
                RedeliverError::Unknown(_) => ControlError::not_found(error.to_string()),
                RedeliverError::StillPending(_) => ControlError::conflict(error.to_string()),
            })?;
        self.0
            .webhooks()
            .delivery(id)
            .ok_or_else(|| ControlError::not_found(format!("no delivery {id}")))
    }

    /// Forgets every delivery (queued ones are cancelled).
    pub fn clear_deliveries(&self) {
        self.0.webhooks().clear();
    }

    /// Arms a delivery fault.
    pub fn arm_delivery_fault(
        &self,
        spec: DeliveryFaultSpec,
    ) -> Result<ArmedDeliveryFault, ControlError> {
        self.0
            .webhooks()
            .arm_fault(spec)
            .map_err(|error| ControlError::invalid(error.to_string()))
    }

    /// The armed delivery faults.
    pub fn delivery_faults(&self) -> Vec<ArmedDeliveryFault> {
        self.0.webhooks().faults()
    }

    /// Removes one delivery fault.
    pub fn remove_delivery_fault(&self, id: u64) -> Result<(), ControlError> {
        if self.0.webhooks().disarm_fault(id) {
            Ok(())
        } else {
            Err(ControlError::not_found(format!("no delivery fault {id}")))
        }
    }

    /// Removes every delivery fault.
    pub fn clear_delivery_faults(&self) {
        self.0.webhooks().clear_faults();
    }
}

/// A `PARTNER_*` `account_update` for the partner app, with the partner's business as
/// `entry.id` (Meta's examples; the WABA when the app names no business).
pub(crate) fn partner_event(
    event: &'static str,
    waba: &crate::domain::Waba,
    app: &crate::domain::App,
) -> Event<PartnerEvent> {
    Event {
        field: "account_update",
        waba_id: waba.id.clone(),
        number_id: None,
        entry_id: app.business_id.clone().unwrap_or_else(|| waba.id.clone()),
        value: PartnerEvent {
            event,
            waba_info: WabaInfo {
                waba_id: waba.id.clone(),
                owner_business_id: waba
                    .owner_business_id
                    .clone()
                    .unwrap_or_else(|| waba.id.clone()),
                partner_app_id: (event == "PARTNER_APP_UNINSTALLED").then(|| app.id.clone()),
            },
        },
        only_app: Some(app.id.clone()),
        due: None,
    }
}

/// A customer's business-scoped user id (BSUID) as Meta writes it since 2026: the ISO country
/// of the number's calling code, a dot, then digits; stable for one business and one customer,
/// different for another business (`ZZ` when the calling code is not in the emulator's table).
fn business_scoped_user_id(business: &str, customer: &str) -> String {
    use sha2::{Digest, Sha256};
    let country = crate::domain::country_of_digits(customer).unwrap_or("ZZ");
    let digest = Sha256::new()
        .chain_update(business.as_bytes())
        .chain_update(b"/")
        .chain_update(customer.as_bytes())
        .finalize();
    let mut bytes = [0_u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    // 15 digits, as in Meta's samples.
    let number = 100_000_000_000_000 + u64::from_be_bytes(bytes) % 900_000_000_000_000;
    format!("{country}.{number}")
}

fn known_field(field: &str) -> Result<&'static str, ControlError> {
    WEBHOOK_FIELDS
        .iter()
        .find(|known| **known == field)
        .copied()
        .ok_or_else(|| {
            ControlError::invalid(format!(
                "unknown field {field:?}; known: {}",
                WEBHOOK_FIELDS.join(", ")
            ))
        })
}
