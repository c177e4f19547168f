//! The read endpoints: `GET /{PHONE_NUMBER_ID}` with `fields`, `GET /{PHONE_NUMBER_ID}/settings`
//! and `GET /{WABA_ID}/phone_numbers` with Graph cursor paging.

use axum::http::header;
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use compact_str::CompactString;
use serde_json::{Value, json};

use super::call::{Call, MANAGEMENT, Reply};
use super::error::GraphError;
use crate::domain::{ListOrder, ParamValue, PhoneNumber, country_of_dial_code, digits_of};

/// Graph's node type for a business phone number (named in field errors).
const NODE_TYPE: &str = "WhatsAppBusinessPhoneNumber";

/// Every field of the node that real clients ask for (API-FACTS §4.3) or Meta's reference and
/// OpenAPI file document. [`field_value`] answers each one the number has a value for; the
/// rest are left out, as Graph leaves out fields without a value.
const KNOWN_FIELDS: [&str; 33] = [
    "id",
    "verified_name",
    "display_phone_number",
    "conversational_automation",
    "status",
    "quality_rating",
    "quality_score",
    "webhook_configuration",
    "name_status",
    "new_name_status",
    "new_display_name",
    "code_verification_status",
    "account_mode",
    "is_on_biz_app",
    "is_official_business_account",
    "is_pin_enabled",
    "is_preverified_number",
    "search_visibility",
    "platform_type",
    "throughput",
    "eligibility_for_api_business_global_search",
    "health_status",
    "certificate",
    "new_certificate",
    "last_onboarded_time",
    "country_code",
    "country_dial_code",
    "whatsapp_business_manager_messaging_limit",
    "messaging_limit_tier",
    "host_platform",
    "unified_cert_status",
    "username",
    "official_business_account",
];

/// What Graph answers without `fields`.
const DEFAULT_FIELDS: [&str; 5] = [
    "id",
    "display_phone_number",
    "verified_name",
    "quality_rating",
    "code_verification_status",
];

/// `limit` when none is given, and the largest honoured.
const DEFAULT_LIMIT: usize = 25;
const MAX_LIMIT: usize = 100;

impl Call<'_> {
    /// `GET /{PHONE_NUMBER_ID}`.
    pub(crate) fn get_number_node(
        &self,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        self.read_number(&MANAGEMENT, waba_id, |number| {
            let fields = self.fields()?;
            Ok(Reply::Json(self.render_number(number, &fields).into()))
        })
    }

    /// `GET /{PHONE_NUMBER_ID}/settings`: the storage configuration.
    pub(crate) fn get_settings(
        &self,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        self.read_number(&MANAGEMENT, waba_id, |number| {
            let storage = match number.region {
                Some(region) => json!({
                    "status": "IN_COUNTRY_STORAGE_ENABLED",
                    "data_localization_region": region.code(),
                }),
                None => json!({"status": "IN_COUNTRY_STORAGE_DISABLED"}),
            };
            // Meta's example answer has only the storage block; other setting blocks appear
            // once set, so the identity check shows while it is on.
            let body = if number.identity_key_check() {
                json!({
                    "storage_configuration": storage,
                    "user_identity_change": {"enable_identity_key_check": true},
                })
            } else {
                json!({ "storage_configuration": storage })
            };
            Ok(Reply::Json(
                serde_json::to_vec(&body).unwrap_or_default().into(),
            ))
        })
    }

    /// `GET /{WABA_ID}/phone_numbers`: `fields`, `sort`, `limit`, `after`/`before`.
    pub(crate) fn list_numbers(
        &self,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        let waba = self.waba(waba_id)?;
        let fields = self.fields()?;
        let order = self.sort()?;
        let limit = self.limit()?;
        let after = self.params.text("after")?.filter(|text| !text.is_empty());
        let before = self.params.text("before")?.filter(|text| !text.is_empty());
        self.spend_budget(&waba.id)?;
        let mut numbers = self.world.numbers_of_waba(&waba.id);
        order.sort(&mut numbers);
        let position = |name: &str, cursor: &str| {
            decode_cursor(cursor)
                .and_then(|id| numbers.iter().position(|number| number.id == id))
                .ok_or_else(|| {
                    GraphError::invalid_parameter(format!(
                        "The {name} cursor is not a cursor of this list: use paging.cursors from an earlier response."
                    ))
                })
        };
        let (start, end) = match (after, before) {
            (Some(_), Some(_)) => {
                return Err(GraphError::invalid_parameter(
                    "Send either after or before, not both.",
                ));
            }
            (Some(cursor), None) => {
                let start = position("after", &cursor)? + 1;
                (start, (start + limit).min(numbers.len()))
            }
            (None, Some(cursor)) => {
                let end = position("before", &cursor)?;
                (end.saturating_sub(limit), end)
            }
            (None, None) => (0, limit.min(numbers.len())),
        };
        let page = &numbers[start..end];
        let mut body = b"{\"data\":[".to_vec();
        for (index, number) in page.iter().enumerate() {
            if index > 0 {
                body.push(b',');
            }
            body.extend(self.render_number(number, &fields));
        }
        body.push(b']');
        if let (Some(first), Some(last)) = (page.first(), page.last()) {
            let (before, after) = (encode_cursor(&first.id), encode_cursor(&last.id));
            // Written by hand so the keys keep Graph's order.
            let mut paging =
                format!(r#","paging":{{"cursors":{{"before":"{before}","after":"{after}"}}"#);
            let links = [
                (end < numbers.len(), "next", "after", &after),
                (start > 0, "previous", "before", &before),
            ];
            for (present, key, direction, cursor) in links {
                if let Some(url) = present
                    .then(|| self.page_url(direction, cursor, limit))
                    .flatten()
                {
                    let url = serde_json::to_string(&url).unwrap_or_default();
                    paging.push_str(&format!(r#","{key}":{url}"#));
                }
            }
            paging.push('}');
            body.extend(paging.into_bytes());
        }
        body.push(b'}');
        Ok(Reply::Json(body.into()))
    }

    /// The `fields` parameter: a comma-separated list (nested selections such as
    /// `throughput{level}` name the field before the brace). `None` means the defaults.
    fn fields(&self) -> Result<Vec<String>, GraphError> {
        let raw = match self.params.get("fields") {
            Some(ParamValue::Json(Value::Array(items))) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect::<Vec<_>>()
                .join(","),
            _ => self
                .params
                .text("fields")?
                .map(|text| text.into_owned())
                .unwrap_or_default(),
        };
        let mut fields: Vec<String> = Vec::new();
        for name in split_top_level(&raw) {
            if !KNOWN_FIELDS.contains(&name.as_str()) {
                return Err(GraphError::nonexisting_field(&name, NODE_TYPE));
            }
            if !fields.contains(&name) {
                fields.push(name);
            }
        }
        if fields.is_empty() {
            fields = DEFAULT_FIELDS
                .iter()
                .map(|name| (*name).to_owned())
                .collect();
        }
        Ok(fields)
    }

    /// `sort`: one of [`ListOrder::NAMES`], alone or as a JSON array (`["..."]`).
    fn sort(&self) -> Result<ListOrder, GraphError> {
        let names: Vec<String> = match self.params.get("sort") {
            None | Some(ParamValue::Json(Value::Null)) => return Ok(ListOrder::default()),
            Some(ParamValue::Json(Value::Array(items))) => items
                .iter()
                .map(|item| {
                    item.as_str()
                        .map_or_else(|| item.to_string(), str::to_owned)
                })
                .collect(),
            Some(ParamValue::Text(text)) => match serde_json::from_str::<Vec<String>>(text) {
                Ok(items) => items,
                Err(_) => text.split(',').map(|part| part.trim().to_owned()).collect(),
            },
            Some(other) => vec![other.to_json().to_string()],
        };
        let mut order = None;
        for name in names.iter().filter(|name| !name.is_empty()) {
            let parsed = ListOrder::parse(name)
                .ok_or_else(|| GraphError::not_one_of("sort", &ListOrder::NAMES, name))?;
            order.get_or_insert(parsed);
        }
        Ok(order.unwrap_or_default())
    }

    /// `limit`: a positive integer; above 100 reads as 100.
    fn limit(&self) -> Result<usize, GraphError> {
        match self.params.text("limit")? {
            None => Ok(DEFAULT_LIMIT),
            Some(text) => match text.parse::<u64>() {
                Ok(0) | Err(_) => Err(GraphError::invalid_parameter(format!(
                    "limit must be a positive integer (at most {MAX_LIMIT}); got \"{}\".",
                    text.chars().take(40).collect::<String>()
                ))),
                Ok(value) => Ok(usize::try_from(value).unwrap_or(MAX_LIMIT).min(MAX_LIMIT)),
            },
        }
    }

    /// A full URL on this server for the neighbouring page: the request's path and query with
    /// `after`/`before` replaced and `limit` made explicit. `None` without a `Host`.
    fn page_url(&self, direction: &str, cursor: &str, limit: usize) -> Option<String> {
        let host = self
            .headers
            .get(header::HOST)
            .and_then(|value| value.to_str().ok())
            .map(str::to_owned)
            .or_else(|| self.uri.authority().map(|authority| authority.to_string()))
            .filter(|host| !host.is_empty() && host.bytes().all(|b| b.is_ascii_graphic()))?;
        let mut query = form_urlencoded::Serializer::new(String::new());
        for (name, value) in form_urlencoded::parse(self.uri.query().unwrap_or("").as_bytes()) {
            if !matches!(name.as_ref(), "after" | "before" | "limit") {
                query.append_pair(&name, &value);
            }
        }
        query.append_pair("limit", &limit.to_string());
        query.append_pair(direction, cursor);
        Some(format!(
            "http://{host}{}?{}",
            self.uri.path(),
            query.finish()
        ))
    }
}

/// Splits `a,b{c,d},e` into `a`, `b`, `e` (names only, trimmed, empty entries dropped).
fn split_top_level(raw: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut depth = 0usize;
    let mut current = String::new();
    let mut push = |current: &mut String| {
        let name: String = current
            .trim()
            .split(['{', '.'])
            .next()
            .unwrap_or("")
            .trim()
            .to_owned();
        if !name.is_empty() {
            names.push(name);
        }
        current.clear();
    };
    for c in raw.chars() {
        match c {
            '{' => {
                depth += 1;
                current.push(c);
            }
            '}' => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            ',' if depth == 0 => push(&mut current),
            _ => current.push(c),
        }
    }
    push(&mut current);
    names
}

impl Call<'_> {
    /// One number as a JSON object with the requested fields in the requested order and `id`
    /// always present (last unless asked for earlier). Unmodelled fields are left out.
    fn render_number(&self, number: &PhoneNumber, fields: &[String]) -> Vec<u8> {
        let mut entries: Vec<(&str, Value)> = Vec::new();
        for name in fields {
            // Where the number's webhooks go depends on the calling app and the WABA.
            let value = if name == "webhook_configuration" {
                // Left out when nothing is configured, as Graph leaves out empty fields.
                Some(self.webhook_configuration(number))
                    .filter(|value| value.as_object().is_some_and(|map| !map.is_empty()))
            } else {
                field_value(number, name)
            };
            if let Some(value) = value {
                entries.push((name, value));
            }
        }
        node_object(&number.id, fields, entries)
    }
}

/// A Graph node as one JSON object: the entries in the order the fields were asked for, `id`
/// appended unless asked for (serde_json's map would sort the keys).
pub(crate) fn node_object(id: &str, fields: &[String], mut entries: Vec<(&str, Value)>) -> Vec<u8> {
    if !fields.iter().any(|name| name == "id") {
        entries.push(("id", Value::String(id.to_owned())));
    }
    let mut out = b"{".to_vec();
    for (index, (name, value)) in entries.iter().enumerate() {
        if index > 0 {
            out.push(b',');
        }
        out.extend(serde_json::to_vec(name).unwrap_or_default());
        out.push(b':');
        out.extend(serde_json::to_vec(value).unwrap_or_default());
    }
    out.push(b'}');
    out
}

/// The modelled fields. Where Meta documents a field's shape but no real value for the
/// emulator's states, the value is a plausible one (README, known differences):
/// `official_business_account` (`NOT_STARTED`), `whatsapp_business_manager_messaging_limit`
/// (the tier), `health_status` (available), `quality_score`, `unified_cert_status`,
/// `search_visibility`, `eligibility_for_api_business_global_search`, `certificate`.
fn field_value(number: &PhoneNumber, name: &str) -> Option<Value> {
    Some(match name {
        "id" => Value::String(number.id.to_string()),
        "display_phone_number" => Value::String(number.display_phone_number.to_string()),
        "verified_name" => Value::String(number.verified_name.to_string()),
        "code_verification_status" => Value::String(number.verification.as_str().into()),
        "quality_rating" => Value::String(number.quality_rating.as_str().into()),
        "quality_score" => json!({"score": number.quality_rating.as_str()}),
        "status" => Value::String(number.status().into()),
        "platform_type" | "host_platform" => Value::String(number.platform_type().into()),
        "name_status" => Value::String(number.name_status.as_str().into()),
        // `NONE` until a change is requested (POST /{id} new_display_name).
        "new_name_status" => Value::String(
            number
                .name_change()
                .map_or("NONE", |change| change.status.as_str())
                .into(),
        ),
        "new_display_name" => Value::String(number.name_change()?.new_display_name.to_string()),
        "unified_cert_status" => Value::String(
            match number.name_status.as_str() {
                "APPROVED" | "AVAILABLE_WITHOUT_REVIEW" => "APPROVED",
                "PENDING_REVIEW" => "NAME_PENDING_REVIEW",
                "DECLINED" => "NAME_DECLINED",
                _ => "NONE",
            }
            .into(),
        ),
        "certificate" => Value::String(certificate(number)),
        "throughput" => json!({"level": "STANDARD"}),
        "account_mode" => Value::String(number.account_mode.as_str().into()),
        "is_pin_enabled" => Value::Bool(number.pin.is_some()),
        "is_on_biz_app" => Value::Bool(number.coexistence),
        "is_official_business_account" => Value::Bool(false),
        "official_business_account" => json!({"oba_status": "NOT_STARTED"}),
        "is_preverified_number" => Value::Bool(false),
        "search_visibility" => Value::String("VISIBLE".into()),
        "eligibility_for_api_business_global_search" => Value::String("NOT_ELIGIBLE".into()),
        "health_status" => json!({
            "can_send_message": "AVAILABLE",
            "entities": [
                {"entity_type": "PHONE_NUMBER", "id": number.id.as_str(), "can_send_message": "AVAILABLE"},
                {"entity_type": "WABA", "id": &*number.waba_id, "can_send_message": "AVAILABLE"},
            ],
        }),
        "messaging_limit_tier" | "whatsapp_business_manager_messaging_limit" => {
            Value::String(number.messaging_limit_tier.as_str().into())
        }
        "country_dial_code" => Value::String(dial_code(number)?.into()),
        "country_code" => Value::String(country_of_dial_code(dial_code(number)?)?.into()),
        "last_onboarded_time" => Value::String(
            number
                .last_onboarded_time?
                .format("%Y-%m-%dT%H:%M:%S%z")
                .to_string(),
        ),
        _ => return None,
    })
}

/// The country calling code of a display number written `+CC rest` (as Graph and the
/// fixtures write them); `None` when the number is not written that way.
fn dial_code(number: &PhoneNumber) -> Option<&str> {
    let rest = number.display_phone_number.strip_prefix('+')?;
    let code = rest.split([' ', '-']).next()?;
    (!code.is_empty() && code.len() <= 3 && code.bytes().all(|b| b.is_ascii_digit()))
        .then_some(code)
}

/// A certificate-like blob (base64 of a small record naming the number and its display name),
/// stable for a number: Meta's is an opaque base64 string used by On-Premises clients.
fn certificate(number: &PhoneNumber) -> String {
    let record = format!(
        "\n{}\u{12}{}",
        digits_of(&number.display_phone_number),
        number.verified_name
    );
    STANDARD.encode(record)
}

/// A cursor: the number id in unpadded base64url (opaque to clients, like Graph's).
fn encode_cursor(id: &str) -> String {
    URL_SAFE_NO_PAD.encode(id)
}

/// The id inside a cursor, if it is one.
fn decode_cursor(cursor: &str) -> Option<String> {
    String::from_utf8(URL_SAFE_NO_PAD.decode(cursor).ok()?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_reject_garbage() {
        for id in ["1", "12", "123", "106540352242922"] {
            assert_eq!(decode_cursor(&encode_cursor(id)).as_deref(), Some(id));
        }
        assert_eq!(encode_cursor("106540352242922"), "MTA2NTQwMzUyMjQyOTIy");
        assert_eq!(decode_cursor("M"), None);
        assert_eq!(decode_cursor("!!!!"), None);
    }

    #[test]
    fn fields_split_at_the_top_level() {
        assert_eq!(
            split_top_level(" status, throughput{level,x} ,,name_status.limit(2)"),
            ["status", "throughput", "name_status"]
        );
        assert!(split_top_level("").is_empty());
    }

    #[test]
    fn every_known_field_is_distinct() {
        let mut names = KNOWN_FIELDS.to_vec();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), KNOWN_FIELDS.len());
        for name in DEFAULT_FIELDS {
            assert!(KNOWN_FIELDS.contains(&name));
        }
    }
}
