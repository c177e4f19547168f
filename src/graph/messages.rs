//! `POST /{PHONE_NUMBER_ID}/messages`: just enough of the send endpoint to show what
//! registration changes. A registered number gets Meta's documented send receipt; an
//! unregistered one gets the captured `(#133010) Account not registered`. Nothing is
//! delivered to anyone, but an accepted send queues its `sent`, `delivered` and `read` status
//! webhooks for the apps subscribed to the WABA. Sends do not count toward the
//! register/deregister limit.
//!
//! Order of checks after the shared pipeline (path, version, token, fault injection): object
//! and WABA scope (100/33) → permission `whatsapp_business_messaging` (200) → body (100) →
//! parameters (100) → registration (133010). Graph validates parameters before the WhatsApp
//! backend looks at the number, so a malformed send on an unregistered number is a 100.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use compact_str::CompactString;
use serde::Serialize;
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::call::{Call, Reply};
use super::error::GraphError;
use crate::domain::{PERMISSION_MESSAGING, Params};

/// Message types the Cloud API accepts in `type`.
pub const MESSAGE_TYPES: [&str; 11] = [
    "text",
    "template",
    "image",
    "audio",
    "video",
    "document",
    "sticker",
    "location",
    "contacts",
    "interactive",
    "reaction",
];

/// Longest `text.body` Meta accepts.
const TEXT_BODY_LIMIT: usize = 4096;

/// The documented send response:
/// `{"messaging_product":"whatsapp","contacts":[{"input":…,"wa_id":…}],"messages":[{"id":"wamid.…"}]}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SendReceipt {
    /// Always `whatsapp`.
    pub messaging_product: &'static str,
    /// The recipient as given and as a WhatsApp id.
    pub contacts: Vec<Contact>,
    /// The accepted message.
    pub messages: Vec<MessageId>,
}

/// One entry of `contacts` in a send receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Contact {
    /// `to` exactly as sent.
    pub input: String,
    /// The digits of `to`.
    pub wa_id: String,
}

/// One entry of `messages` in a send receipt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MessageId {
    /// `wamid.` followed by base64, shaped like Meta's ids.
    pub id: String,
}

/// What a valid send asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SendRequest {
    /// `to` as sent.
    pub to: String,
    /// `to` reduced to its digits.
    pub wa_id: String,
    /// `type` (default `text`).
    pub kind: String,
}

impl Call<'_> {
    /// `POST /{PHONE_NUMBER_ID}/messages`: runs the send under the number's lock (a read: a
    /// send changes nothing the emulator keeps); sets `waba_id` once the number is in scope.
    pub(crate) fn send(&self, waba_id: &mut Option<CompactString>) -> Result<Reply, GraphError> {
        let (receipt, request, number) =
            self.read_number(&[PERMISSION_MESSAGING], waba_id, |number| {
                let request = parse(self.params)?;
                if !number.registered {
                    return Err(GraphError::account_not_registered());
                }
                let ids = self.app.next_request_ids();
                Ok((receipt(&request, ids.request_id()), request, number.clone()))
            })?;
        // Out of the number's lock: routing reads other numbers.
        self.app.emit_send_statuses(
            &number,
            &receipt.messages[0].id,
            &request.wa_id,
            request.kind == "template",
        );
        Ok(Reply::json(&receipt))
    }
}

/// Validates a send in Graph's order: `messaging_product`, `to`, `type`, then the object
/// named by `type`.
pub fn parse(params: &Params) -> Result<SendRequest, GraphError> {
    params.require_whatsapp_product()?;
    let to = params.required_text("to")?.into_owned();
    let wa_id: String = to.chars().filter(char::is_ascii_digit).collect();
    if wa_id.is_empty() {
        return Err(GraphError::invalid_parameter(
            "Param to must be a phone number in international format (digits, optionally with + and separators).",
        ));
    }
    let kind = params
        .text("type")?
        .map_or_else(|| "text".to_owned(), |kind| kind.to_ascii_lowercase());
    if !MESSAGE_TYPES.contains(&kind.as_str()) {
        return Err(GraphError::not_one_of("type", &MESSAGE_TYPES, &kind));
    }
    let Some(object) = params.object(&kind)? else {
        return Err(GraphError::missing_parameter(&kind));
    };
    if kind == "text" {
        check_text(&object)?;
    }
    Ok(SendRequest { to, wa_id, kind })
}

fn check_text(text: &Map<String, Value>) -> Result<(), GraphError> {
    match text.get("body") {
        None | Some(Value::Null) => Err(GraphError::missing_parameter("text['body']")),
        Some(Value::String(body)) if body.trim().is_empty() => {
            Err(GraphError::missing_parameter("text['body']"))
        }
        Some(Value::String(body)) if body.chars().count() > TEXT_BODY_LIMIT => {
            Err(GraphError::invalid_parameter(format!(
                "Param text['body'] must be at most {TEXT_BODY_LIMIT} characters long."
            )))
        }
        Some(Value::String(_)) => Ok(()),
        Some(_) => Err(GraphError::invalid_parameter(
            "Param text['body'] must be a string.",
        )),
    }
}

/// The receipt for a valid send; `seed` makes the message id unique and reproducible.
pub fn receipt(request: &SendRequest, seed: &str) -> SendReceipt {
    SendReceipt {
        messaging_product: "whatsapp",
        contacts: vec![Contact {
            input: request.to.clone(),
            wa_id: request.wa_id.clone(),
        }],
        messages: vec![MessageId {
            id: wamid(&request.wa_id, seed),
        }],
    }
}

/// A message id laid out like Meta's: base64 of a small record holding the recipient and an
/// 18-hex-digit message key (`wamid.HBgL…`).
fn wamid(wa_id: &str, seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    let key: String = digest
        .iter()
        .take(9)
        .map(|byte| format!("{byte:02X}"))
        .collect();
    let recipient = &wa_id.as_bytes()[..wa_id.len().min(32)];
    let mut record = vec![0x1c, 0x18, recipient.len() as u8];
    record.extend_from_slice(recipient);
    record.extend_from_slice(&[0x15, 0x02, 0x00, 0x11, 0x18, 0x12]);
    record.extend_from_slice(key.as_bytes());
    record.push(0x00);
    format!("wamid.{}", STANDARD.encode(&record))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(value: Value) -> Params {
        let mut params = Params::default();
        if let Value::Object(map) = value {
            for (name, value) in map {
                params.insert(name, value);
            }
        }
        params
    }

    #[test]
    fn message_ids_look_like_meta_ids() {
        // Meta's own example id decodes to the same layout.
        let id = wamid("16505076520", "seed");
        assert!(id.starts_with("wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI"), "{id}");
        assert_eq!(id.len(), "wamid.".len() + 52);
        assert_ne!(id, wamid("16505076520", "other"));
    }

    #[test]
    fn type_defaults_to_text_and_needs_its_object() {
        let request = parse(&params(serde_json::json!({
            "messaging_product": "whatsapp", "to": "+1 650-507-6520", "text": {"body": "hi"}
        })))
        .unwrap();
        assert_eq!(
            (request.wa_id.as_str(), request.kind.as_str()),
            ("16505076520", "text")
        );
        let error = parse(&params(serde_json::json!({
            "messaging_product": "whatsapp", "to": "1", "type": "image"
        })))
        .unwrap_err();
        assert_eq!(error.message, "(#100) The parameter image is required.");
        let error = parse(&params(serde_json::json!({
            "messaging_product": "whatsapp", "to": "1", "text": {"body": "x".repeat(4097)}
        })))
        .unwrap_err();
        assert_eq!(error.message, "(#100) Invalid parameter");
    }
}
