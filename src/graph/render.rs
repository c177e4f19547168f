//! Rendering a Graph answer: the status, the body and Meta's response headers in Meta's
//! order (`facebook-api-version`, the `x-fb-*` ids, caching headers, the usage header once a
//! WABA is known, and `WWW-Authenticate` on OAuth errors).

use axum::body::Body;
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;

use super::call::{Exchange, Reply};
use super::error::AuthChallenge;
use crate::state::RequestIds;

const SUCCESS_BODY: &[u8] = br#"{"success":true}"#;

const X_FB_REQUEST_ID: HeaderName = HeaderName::from_static("x-fb-request-id");
const X_FB_TRACE_ID: HeaderName = HeaderName::from_static("x-fb-trace-id");
const X_FB_DEBUG: HeaderName = HeaderName::from_static("x-fb-debug");
const X_FB_REV: HeaderName = HeaderName::from_static("x-fb-rev");
const FACEBOOK_API_VERSION: HeaderName = HeaderName::from_static("facebook-api-version");
const X_BUSINESS_USE_CASE_USAGE: HeaderName = HeaderName::from_static("x-business-use-case-usage");

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

    /// The response with Meta's headers, in Meta's order. Built with plain inserts: prebuilt
    /// header templates were measured (`bench/instructions.sh`) to save under 1 % of a
    /// request's instructions, below the 3 % that would justify a hand-written form.
    pub(crate) fn response(&self, exchange: &Exchange, ids: &RequestIds) -> Response {
        let mut headers = HeaderMap::with_capacity(16);
        let fixed = HeaderValue::from_static;
        headers.insert(
            header::CONTENT_TYPE,
            fixed("application/json; charset=UTF-8"),
        );
        headers.insert(header::CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        headers.insert(FACEBOOK_API_VERSION, fixed(exchange.version.name));
        for (name, value) in [
            (X_FB_REQUEST_ID, ids.request_id_bytes()),
            (X_FB_TRACE_ID, ids.trace_id_bytes()),
            (X_FB_DEBUG, ids.debug_bytes()),
        ] {
            if let Some(value) = shared_value(value) {
                headers.insert(name, value);
            }
        }
        headers.insert(X_FB_REV, fixed("1019544279"));
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, fixed("*"));
        headers.insert(
            header::CACHE_CONTROL,
            fixed("private, no-cache, no-store, must-revalidate"),
        );
        headers.insert(header::PRAGMA, fixed("no-cache"));
        headers.insert(header::EXPIRES, fixed("Sat, 01 Jan 2000 00:00:00 GMT"));
        if let Some(usage) = exchange.waba_id.as_deref().and_then(usage_header) {
            headers.insert(X_BUSINESS_USE_CASE_USAGE, usage);
        }
        if let Some(challenge) = &self.challenge {
            headers.insert(header::WWW_AUTHENTICATE, challenge.clone());
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

/// Renders an exchange with Meta's headers.
pub fn render(exchange: &Exchange, ids: &RequestIds) -> Response {
    Answer::of(exchange, ids).response(exchange, ids)
}

/// `WWW-Authenticate` for an OAuth error, as Graph writes it: the message as a quoted string,
/// `"` and `\` escaped with a backslash (as Graph does), anything else that is not printable
/// ASCII replaced (a header value cannot carry it).
fn challenge_header(kind: AuthChallenge, message: &str) -> Option<HeaderValue> {
    const PREFIX: &str = r#"OAuth "Facebook Platform" ""#;
    let kind = match kind {
        AuthChallenge::InvalidRequest => "invalid_request",
        AuthChallenge::InvalidToken => "invalid_token",
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

/// `x-business-use-case-usage` for a WABA: keyed by the WABA id, with zero usage (the emulator
/// keeps no per-app call counts).
fn usage_header(waba_id: &str) -> Option<HeaderValue> {
    HeaderValue::try_from(format!(
        r#"{{"{waba_id}":[{{"type":"whatsapp_business_management","call_count":0,"total_cputime":0,"total_time":0,"estimated_time_to_regain_access":0}}]}}"#
    ))
    .ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::Params;
    use crate::graph::GraphError;
    use crate::graph::version;
    use chrono::{DateTime, Utc};
    use compact_str::CompactString;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .to_utc()
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

    #[test]
    fn the_usage_header_is_keyed_by_the_waba() {
        let value = usage_header("42").unwrap();
        let usage: serde_json::Value = serde_json::from_slice(value.as_bytes()).unwrap();
        assert_eq!(usage["42"][0]["type"], "whatsapp_business_management");
        assert_eq!(usage["42"][0]["call_count"], 0);
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
