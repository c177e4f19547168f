//! Rendering a Graph answer: the status, the body and Meta's response headers in Meta's
//! order (`facebook-api-version`, the `x-fb-*` ids, caching headers, the usage header once a
//! WABA is known, and `WWW-Authenticate` on OAuth errors).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use compact_str::CompactString;

use super::call::{Exchange, Reply};
use super::error::AuthChallenge;
use crate::domain::BudgetUsage;
use crate::state::RequestIds;

const SUCCESS_BODY: &[u8] = br#"{"success":true}"#;
/// `SUCCESS_BODY.len()` as a header value.
const SUCCESS_LENGTH: &str = "16";

static X_FB_REQUEST_ID: HeaderName = HeaderName::from_static("x-fb-request-id");
static X_FB_TRACE_ID: HeaderName = HeaderName::from_static("x-fb-trace-id");
static X_FB_DEBUG: HeaderName = HeaderName::from_static("x-fb-debug");
static X_FB_REV: HeaderName = HeaderName::from_static("x-fb-rev");
static FACEBOOK_API_VERSION: HeaderName = HeaderName::from_static("facebook-api-version");
static X_BUSINESS_USE_CASE_USAGE: HeaderName = HeaderName::from_static("x-business-use-case-usage");

/// What a template header holds: a fixed value, or a slot filled per response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Slot {
    Fixed,
    ContentLength,
    Version,
    RequestId,
    TraceId,
    Debug,
    Usage,
    Challenge,
}

/// Every Graph response's headers in Meta's order, built once, with the slot each value fills.
/// A response starts from a copy and overwrites the slots in place, walking the values in
/// order: no hashing, no name comparisons and no growth, which inserting a dozen headers one
/// by one costs on every request.
struct HeaderTemplate {
    headers: HeaderMap,
    slots: Vec<Slot>,
}

impl HeaderTemplate {
    /// The template for a response with or without the usage header (a WABA was resolved) and
    /// the `WWW-Authenticate` challenge (an OAuth error).
    fn new(usage: bool, challenge: bool) -> Self {
        let fixed = |value: &'static str| (Slot::Fixed, HeaderValue::from_static(value));
        let slot = |slot: Slot| (slot, HeaderValue::from_static("-"));
        let mut entries = vec![
            (
                header::CONTENT_TYPE,
                fixed("application/json; charset=UTF-8"),
            ),
            // Set here rather than by the framework, which would insert it and grow the map.
            (header::CONTENT_LENGTH, slot(Slot::ContentLength)),
            (FACEBOOK_API_VERSION.clone(), slot(Slot::Version)),
            (X_FB_REQUEST_ID.clone(), slot(Slot::RequestId)),
            (X_FB_TRACE_ID.clone(), slot(Slot::TraceId)),
            (X_FB_DEBUG.clone(), slot(Slot::Debug)),
            (X_FB_REV.clone(), fixed("1019544279")),
            (header::ACCESS_CONTROL_ALLOW_ORIGIN, fixed("*")),
            (
                header::CACHE_CONTROL,
                fixed("private, no-cache, no-store, must-revalidate"),
            ),
            (header::PRAGMA, fixed("no-cache")),
            (header::EXPIRES, fixed("Sat, 01 Jan 2000 00:00:00 GMT")),
        ];
        if usage {
            entries.push((X_BUSINESS_USE_CASE_USAGE.clone(), slot(Slot::Usage)));
        }
        if challenge {
            entries.push((header::WWW_AUTHENTICATE, slot(Slot::Challenge)));
        }
        let mut headers = HeaderMap::with_capacity(entries.len());
        let mut slots = Vec::with_capacity(entries.len());
        for (name, (slot, value)) in entries {
            headers.insert(name, value);
            slots.push(slot);
        }
        Self { headers, slots }
    }
}

/// The four templates, indexed by [`template_index`].
static HEADER_TEMPLATES: std::sync::LazyLock<[HeaderTemplate; 4]> =
    std::sync::LazyLock::new(|| {
        [
            HeaderTemplate::new(false, false),
            HeaderTemplate::new(true, false),
            HeaderTemplate::new(false, true),
            HeaderTemplate::new(true, true),
        ]
    });

fn template_index(usage: bool, challenge: bool) -> usize {
    usize::from(usage) | usize::from(challenge) << 1
}

/// What a response says, before the headers are filled in: also what the journal keeps.
#[derive(Debug)]
pub(crate) struct Answer {
    /// The status.
    pub(crate) status: StatusCode,
    /// The body, exactly as sent (shared with the journal, not copied).
    pub(crate) body: Bytes,
    challenge: Option<HeaderValue>,
}

impl Answer {
    /// The status and body of an exchange's result, and the `WWW-Authenticate` challenge of
    /// an OAuth error.
    pub(crate) fn of(exchange: &Exchange, ids: &RequestIds) -> Self {
        match &exchange.result {
            Ok(Reply::Success) => Self {
                status: StatusCode::OK,
                body: Bytes::from_static(SUCCESS_BODY),
                challenge: None,
            },
            Ok(Reply::Json(bytes)) => Self {
                status: StatusCode::OK,
                body: bytes.clone(),
                challenge: None,
            },
            Err(error) => Self {
                status: if exchange.suppress_http_code {
                    StatusCode::OK
                } else {
                    error.status
                },
                body: Bytes::from(error.body(ids.request_id())),
                challenge: error
                    .challenge()
                    .and_then(|kind| challenge_header(kind, &error.message)),
            },
        }
    }

    /// The response with Meta's headers.
    pub(crate) fn response(&self, exchange: &Exchange, ids: &RequestIds) -> Response {
        let mut length = Some(content_length(self.body.len()));
        let mut challenge = self.challenge.clone();
        let mut usage = match (&exchange.waba_id, &exchange.usage) {
            (Some(waba_id), Some(spent)) => budget_usage_header(waba_id, spent),
            (Some(waba_id), None) => usage_header(waba_id),
            (None, _) => None,
        };
        let template = &HEADER_TEMPLATES[template_index(usage.is_some(), challenge.is_some())];
        let mut headers = template.headers.clone();
        for (value, slot) in headers.values_mut().zip(&template.slots) {
            let filled = match slot {
                Slot::Fixed => continue,
                Slot::ContentLength => length.take(),
                Slot::Version => Some(HeaderValue::from_static(exchange.version.name)),
                Slot::RequestId => shared_value(ids.request_id_bytes()),
                Slot::TraceId => shared_value(ids.trace_id_bytes()),
                Slot::Debug => shared_value(ids.debug_bytes()),
                Slot::Usage => usage.take(),
                Slot::Challenge => challenge.take(),
            };
            if let Some(filled) = filled {
                *value = filled;
            }
        }
        let mut response = Response::new(Body::from(self.body.clone()));
        *response.status_mut() = self.status;
        *response.headers_mut() = headers;
        response
    }
}

/// A header value over shared bytes, without a copy (the ids are base64, always valid).
fn shared_value(bytes: Bytes) -> Option<HeaderValue> {
    HeaderValue::from_maybe_shared(bytes).ok()
}

/// Bodies up to this many bytes (every error envelope) take their `content-length` from a
/// table built once.
const SHARED_LENGTHS: usize = 2048;

/// The `content-length` value for a body of `length` bytes. Cloning a shared value is a
/// reference-count increment; `HeaderValue::from(usize)` allocates, and every error answer
/// would pay it.
fn content_length(length: usize) -> HeaderValue {
    static LENGTHS: std::sync::LazyLock<Vec<HeaderValue>> =
        std::sync::LazyLock::new(|| (0..SHARED_LENGTHS).map(HeaderValue::from).collect());
    if length == SUCCESS_BODY.len() {
        HeaderValue::from_static(SUCCESS_LENGTH)
    } else if length < SHARED_LENGTHS {
        LENGTHS[length].clone()
    } else {
        HeaderValue::from(length)
    }
}

/// `WWW-Authenticate` for an OAuth error, as Graph writes it: the message as a quoted string,
/// `"` and `\` escaped with a backslash (as Graph does), anything else that is not printable
/// ASCII replaced (a header value cannot carry it).
fn challenge_header(kind: AuthChallenge, message: &str) -> Option<HeaderValue> {
    const PREFIX: &str = r#"OAuth "Facebook Platform" ""#;
    let kind = match kind {
        AuthChallenge::InvalidRequest => "invalid_request",
        AuthChallenge::InvalidToken => "invalid_token",
        AuthChallenge::InvalidCode => "invalid_code",
    };
    let mut text = Vec::with_capacity(PREFIX.len() + kind.len() + message.len() + 8);
    text.extend_from_slice(PREFIX.as_bytes());
    text.extend_from_slice(kind.as_bytes());
    text.extend_from_slice(br#"" ""#);
    for c in message.chars() {
        match c {
            '"' | '\\' => {
                text.push(b'\\');
                text.push(c as u8);
            }
            ' ' => text.push(b' '),
            c if c.is_ascii_graphic() => text.push(c as u8),
            _ => text.push(b'?'),
        }
    }
    text.push(b'"');
    HeaderValue::from_maybe_shared(Bytes::from(text)).ok()
}

/// `x-business-use-case-usage` for a WABA (the emulator reports no usage). The value for the
/// WABA this thread answered last is kept and shared: a test suite nearly always talks to one
/// WABA, so most answers clone it (a reference-count increment) instead of writing it again.
fn usage_header(waba_id: &str) -> Option<HeaderValue> {
    thread_local! {
        static LAST: std::cell::RefCell<Option<(CompactString, HeaderValue)>> =
            const { std::cell::RefCell::new(None) };
    }
    LAST.with_borrow_mut(|last| {
        if let Some((id, value)) = last
            && id == waba_id
        {
            return Some(value.clone());
        }
        let value = write_usage_header(waba_id)?;
        *last = Some((CompactString::from(waba_id), value.clone()));
        Some(value)
    })
}

/// `x-business-use-case-usage` for a call counted against a WABA's hourly budget: the share
/// of the budget used (`call_count`, a percentage as Meta reports it) and the minutes until a
/// call is admitted again. The emulator spends no CPU or time worth reporting.
fn budget_usage_header(waba_id: &str, spent: &BudgetUsage) -> Option<HeaderValue> {
    let value = serde_json::json!({
        waba_id: [{
            "type": "whatsapp_business_management",
            "call_count": spent.percent(),
            "total_cputime": 0,
            "total_time": 0,
            "estimated_time_to_regain_access": spent.minutes_to_regain,
        }]
    });
    HeaderValue::from_str(&value.to_string()).ok()
}

/// The `x-business-use-case-usage` value, written without the formatting machinery and
/// handed to the header without a copy.
fn write_usage_header(waba_id: &str) -> Option<HeaderValue> {
    const BEFORE: &str = r#"{""#;
    const AFTER: &str = r#"":[{"type":"whatsapp_business_management","call_count":0,"total_cputime":0,"total_time":0,"estimated_time_to_regain_access":0}]}"#;
    let mut text = String::with_capacity(BEFORE.len() + waba_id.len() + AFTER.len());
    text.push_str(BEFORE);
    text.push_str(waba_id);
    text.push_str(AFTER);
    HeaderValue::from_maybe_shared(Bytes::from(text)).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Params;
    use crate::graph::GraphError;
    use crate::graph::version;
    use chrono::{DateTime, Utc};

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .to_utc()
    }

    /// An exchange rendered as the request path renders it.
    fn render(exchange: &Exchange, ids: &RequestIds) -> Response {
        Answer::of(exchange, ids).response(exchange, ids)
    }

    fn exchange(result: Result<Reply, GraphError>, waba_id: Option<&str>) -> Exchange {
        Exchange {
            version: version::resolve("v23.0", now()).unwrap().effective,
            waba_id: waba_id.map(CompactString::from),
            result,
            requested_version: Some("v23.0"),
            node: Some("1".into()),
            operation: Some("register"),
            params: Params::default(),
            suppress_http_code: false,
            usage: None,
        }
    }

    #[test]
    fn render_fills_every_per_response_header() {
        let ids = crate::state::IdGenerator::new(3).next();
        let response = render(&exchange(Ok(Reply::Success), Some("42")), &ids);
        let headers = response.headers();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(headers.len(), 12);
        assert_eq!(headers["content-length"], "16");
        assert!(headers.values().all(|value| value != "-"), "{headers:?}");
        assert_eq!(headers["facebook-api-version"], "v23.0");
        assert_eq!(headers["x-fb-request-id"], ids.request_id());
        assert_eq!(headers["x-fb-trace-id"], &ids.trace_id_bytes()[..]);
        assert_eq!(headers["x-fb-debug"], &ids.debug_bytes()[..]);
        assert!(
            headers["x-business-use-case-usage"]
                .to_str()
                .unwrap()
                .starts_with(r#"{"42":[{"type":"whatsapp_business_management","#)
        );
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(
            names[..5],
            [
                "content-type",
                "content-length",
                "facebook-api-version",
                "x-fb-request-id",
                "x-fb-trace-id"
            ]
        );

        let error = GraphError::catalog(190).unwrap();
        let response = render(&exchange(Err(error), None), &ids);
        let headers = response.headers();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert!(!headers.contains_key("x-business-use-case-usage"));
        let length: usize = headers["content-length"].to_str().unwrap().parse().unwrap();
        let headers = headers.clone();
        let body = futures_util::FutureExt::now_or_never(axum::body::to_bytes(
            response.into_body(),
            usize::MAX,
        ))
        .unwrap()
        .unwrap();
        assert_eq!(length, body.len());
        assert!(headers.values().all(|value| value != "-"), "{headers:?}");
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with(r#"OAuth "Facebook Platform" "invalid_token""#)
        );
    }

    #[test]
    fn an_oauth_error_on_a_resolved_waba_gets_both_usage_and_challenge() {
        let ids = crate::state::IdGenerator::new(5).next();
        let error = GraphError::missing_permission("whatsapp_business_messaging");
        let response = render(&exchange(Err(error), Some("42")), &ids);
        let headers = response.headers();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(headers.len(), 13);
        assert!(headers.values().all(|value| value != "-"), "{headers:?}");
        let names: Vec<&str> = headers.keys().map(HeaderName::as_str).collect();
        assert_eq!(
            names[11..],
            ["x-business-use-case-usage", "www-authenticate"]
        );
        assert!(
            headers["www-authenticate"]
                .to_str()
                .unwrap()
                .starts_with(r#"OAuth "Facebook Platform" "invalid_request" "(#200)"#)
        );
    }

    /// The headers as the library would build them: one insert after another, in Meta's
    /// order. The templates must give exactly this, name for name and value for value.
    fn inserted_one_by_one(exchange: &Exchange, ids: &RequestIds, answer: &Answer) -> HeaderMap {
        let mut headers = HeaderMap::new();
        let text = |value: &str| HeaderValue::from_str(value).unwrap();
        headers.insert(
            header::CONTENT_TYPE,
            text("application/json; charset=UTF-8"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(answer.body.len()));
        headers.insert("facebook-api-version", text(exchange.version.name));
        headers.insert("x-fb-request-id", text(ids.request_id()));
        let bytes = |bytes: Bytes| HeaderValue::from_bytes(&bytes).unwrap();
        headers.insert("x-fb-trace-id", bytes(ids.trace_id_bytes()));
        headers.insert("x-fb-debug", bytes(ids.debug_bytes()));
        headers.insert("x-fb-rev", text("1019544279"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, text("*"));
        headers.insert(
            header::CACHE_CONTROL,
            text("private, no-cache, no-store, must-revalidate"),
        );
        headers.insert(header::PRAGMA, text("no-cache"));
        headers.insert(header::EXPIRES, text("Sat, 01 Jan 2000 00:00:00 GMT"));
        if let Some(waba) = &exchange.waba_id {
            headers.insert(
                "x-business-use-case-usage",
                write_usage_header(waba).unwrap(),
            );
        }
        if let Some(challenge) = &answer.challenge {
            headers.insert(header::WWW_AUTHENTICATE, challenge.clone());
        }
        headers
    }

    #[test]
    fn the_templates_give_what_inserting_each_header_gives() {
        let ids = crate::state::IdGenerator::new(9).next();
        for (result, waba) in [
            (Ok(Reply::Success), None),
            (
                Ok(Reply::Json(Bytes::from_static(b"{\"id\":\"1\"}"))),
                Some("42"),
            ),
            (Err(GraphError::catalog(190).unwrap()), None),
            (Err(GraphError::missing_permission("x")), Some("42")),
            (Err(GraphError::catalog(133016).unwrap()), Some("7")),
        ] {
            let exchange = exchange(result, waba);
            let answer = Answer::of(&exchange, &ids);
            let rendered = answer.response(&exchange, &ids);
            let expected = inserted_one_by_one(&exchange, &ids, &answer);
            let pairs = |headers: &HeaderMap| -> Vec<(String, Vec<u8>)> {
                headers
                    .iter()
                    .map(|(name, value)| (name.to_string(), value.as_bytes().to_vec()))
                    .collect()
            };
            assert_eq!(pairs(rendered.headers()), pairs(&expected));
        }
    }

    #[test]
    fn the_usage_header_names_the_wabas_in_turn() {
        for waba in ["42", "42", "7", "42"] {
            let value = usage_header(waba).unwrap();
            assert_eq!(value, write_usage_header(waba).unwrap());
            assert!(
                value
                    .to_str()
                    .unwrap()
                    .starts_with(&format!(r#"{{"{waba}":[{{"#))
            );
        }
    }

    #[test]
    fn content_length_is_the_decimal_length_on_both_sides_of_the_table() {
        for length in [0, 1, 16, 355, SHARED_LENGTHS - 1, SHARED_LENGTHS, 1 << 20] {
            assert_eq!(content_length(length), length.to_string().as_str());
        }
    }

    #[test]
    fn the_challenge_carries_only_printable_ascii() {
        let value = challenge_header(AuthChallenge::InvalidToken, "bad \"tök\"\n\\").unwrap();
        assert_eq!(
            value,
            r#"OAuth "Facebook Platform" "invalid_token" "bad \"t?k\"?\\""#
        );
    }
}
