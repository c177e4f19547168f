//! The envelope every WhatsApp webhook body shares:
//! `{"object":"whatsapp_business_account","entry":[{"id":…,"time":…,"changes":[{"value":{…},"field":"…"}]}]}`.
//!
//! Keys are written in Meta's live order (`object`, `entry`; `id`, `time`, `changes`;
//! `value`, `field`) because these are structs (see [`super::json`]). `time` is a Unix time in
//! whole seconds and is **absent on `messages` entries**, as live traffic has it.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::json::to_meta_json;

/// The `object` of every WhatsApp Business Account webhook.
pub const WABA_OBJECT: &str = "whatsapp_business_account";

/// A whole webhook body: `object` and its entries.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Envelope<V> {
    /// Always [`WABA_OBJECT`] for WhatsApp.
    pub object: &'static str,
    /// Usually one entry; Meta may batch.
    pub entry: Vec<Entry<V>>,
}

/// One entry: the object the changes are about.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Entry<V> {
    /// The WABA id (the partner's business portfolio id for `PARTNER_*` `account_update`
    /// events).
    pub id: String,
    /// Unix seconds; `None` (the key left out) for `messages` entries.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<i64>,
    /// What changed.
    pub changes: Vec<Change<V>>,
}

/// One change: its payload and the webhook field it belongs to.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change<V> {
    /// The field's payload; build it as a struct to keep Meta's key order.
    pub value: V,
    /// The webhook field (`messages`, `account_update`, …).
    pub field: String,
}

/// The `time` of an entry for `field` at `now`: Unix seconds, except `None` for `messages`.
pub fn entry_time(field: &str, now: DateTime<Utc>) -> Option<i64> {
    (field != "messages").then(|| now.timestamp())
}

impl<V: Serialize> Envelope<V> {
    /// The usual body: one entry for `entry_id` with one change of `field`, stamped `now`
    /// (see [`entry_time`]).
    pub fn single(
        entry_id: impl Into<String>,
        field: impl Into<String>,
        value: V,
        now: DateTime<Utc>,
    ) -> Self {
        let field = field.into();
        Self {
            object: WABA_OBJECT,
            entry: vec![Entry {
                id: entry_id.into(),
                time: entry_time(&field, now),
                changes: vec![Change { value, field }],
            }],
        }
    }

    /// The body as Meta writes it (compact, `\uXXXX`, `\/`): the bytes to sign and send.
    pub fn to_body(&self) -> String {
        to_meta_json(self)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn now() -> DateTime<Utc> {
        "2025-04-16T17:18:52Z".parse().unwrap()
    }

    #[test]
    fn account_update_matches_metas_example_byte_for_byte() {
        // D-AU's PARTNER_ADDED example, with the value as an ordered struct.
        #[derive(Serialize)]
        struct WabaInfo<'a> {
            waba_id: &'a str,
            owner_business_id: &'a str,
            solution_id: &'a str,
            solution_partner_business_ids: [&'a str; 2],
        }
        #[derive(Serialize)]
        struct Value<'a> {
            event: &'a str,
            waba_info: WabaInfo<'a>,
        }
        let value = Value {
            event: "PARTNER_ADDED",
            waba_info: WabaInfo {
                waba_id: "980198427658004",
                owner_business_id: "2329417887457253",
                solution_id: "1715120619246906",
                solution_partner_business_ids: ["2949482758682047", "520744086200222"],
            },
        };
        let body = Envelope::single("2949482758682047", "account_update", value, now()).to_body();
        assert_eq!(
            body,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"2949482758682047","time":1744823932,"changes":[{"value":{"event":"PARTNER_ADDED","waba_info":{"waba_id":"980198427658004","owner_business_id":"2329417887457253","solution_id":"1715120619246906","solution_partner_business_ids":["2949482758682047","520744086200222"]}},"field":"account_update"}]}]}"#
        );
    }

    #[test]
    fn messages_entries_have_no_time() {
        let body =
            Envelope::single("102290129340398", "messages", json!({"a": "é/"}), now()).to_body();
        assert_eq!(
            body,
            r#"{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"value":{"a":"\u00e9\/"},"field":"messages"}]}]}"#
        );
        assert_eq!(entry_time("messages", now()), None);
        assert_eq!(entry_time("account_update", now()), Some(1_744_823_932));
    }
}
