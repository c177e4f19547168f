//! The verification handshake: `GET <callback>?hub.mode=subscribe&hub.challenge=…&hub.verify_token=…`.
//!
//! Only an HTTP 200 whose body is exactly the challenge verifies the callback. Anything else
//! fails with the detail Graph puts in its `#2200` error ("Callback verification failed with
//! the following errors: <detail>"), written the way Meta's curl-based fetcher words it:
//!
//! | What happened | Detail |
//! | --- | --- |
//! | a status other than 200 | `HTTP Status Code = 404; HTTP Message = Not Found` (the status's reason phrase; captured) |
//! | no complete answer in time | `curl_errno = 28; curl_error = Operation timed out after 6000 milliseconds with 0 bytes received` (the configured timeout; captured) |
//! | connection refused | `curl_errno = 7; curl_error = Failed to connect to <host> port <port>: Connection refused` (curl's text; inferred) |
//! | 200 with another body | `Response does not match challenge, expected value="<challenge>", received="<body, at most 100 characters>"` (the wording of Meta's dashboard; inferred) |
//!
//! and curl's texts for the rest ([`curl_error_text`]).

use std::time::Duration;

use hyper::StatusCode;
use hyper::header::{HeaderValue, USER_AGENT};

use crate::probe::{HttpRequest, ProbeError, Transport};

/// The handshake's default timeout: about 6 s, as field reports measured Meta's.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(6);

/// The `User-Agent` of Meta's webhook requests (captured on delivery POSTs; the handshake
/// GET sends the same here, inferred).
pub const WEBHOOK_USER_AGENT: &str = "facebookexternalua";

/// How much of a wrong handshake body the failure quotes.
const QUOTED_BODY_CHARS: usize = 100;

/// Why a callback did not verify: the detail of Graph's `#2200` error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}")]
pub struct HandshakeFailure {
    /// E.g. `HTTP Status Code = 404; HTTP Message = Not Found` (see the module docs).
    pub detail: String,
}

/// The handshake URL: the callback with `hub.mode`, `hub.challenge` and `hub.verify_token`
/// appended to its query (percent-encoded as a form: `+`, `/` and `=` in a token survive).
pub fn handshake_url(callback_url: &str, verify_token: &str, challenge: u64) -> String {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("hub.mode", "subscribe")
        .append_pair("hub.challenge", &challenge.to_string())
        .append_pair("hub.verify_token", verify_token)
        .finish();
    let separator = match callback_url.split_once('?') {
        None => '?',
        Some((_, "")) => return format!("{callback_url}{query}"),
        Some(_) => '&',
    };
    format!("{callback_url}{separator}{query}")
}

/// Runs the handshake against `callback_url` with `verify_token` and `challenge` (take the
/// challenge from the emulator's seeded ids, so runs are reproducible). The whole exchange is
/// bounded by `timeout`; `transport` says which CAs an `https://` callback may present.
pub async fn verify_callback(
    callback_url: &str,
    verify_token: &str,
    challenge: u64,
    timeout: Duration,
    transport: Option<&Transport>,
) -> Result<(), HandshakeFailure> {
    let url = handshake_url(callback_url, verify_token, challenge);
    let mut request =
        HttpRequest::get(&url).header(USER_AGENT, HeaderValue::from_static(WEBHOOK_USER_AGENT));
    if let Some(transport) = transport {
        request = request.via(transport);
    }
    let failure = |detail| Err(HandshakeFailure { detail });
    let response = match request.send(timeout).await {
        Ok(response) => response,
        Err(error) => return failure(curl_error_text(&error)),
    };
    if response.status != StatusCode::OK {
        return failure(status_text(response.status));
    }
    let expected = challenge.to_string();
    if response.body.as_ref() == expected.as_bytes() {
        return Ok(());
    }
    let received: String = response.text().chars().take(QUOTED_BODY_CHARS).collect();
    failure(format!(
        "Response does not match challenge, expected value=\"{expected}\", received=\"{received}\""
    ))
}

/// `HTTP Status Code = 403; HTTP Message = Forbidden`: a status and its reason phrase.
pub fn status_text(status: StatusCode) -> String {
    format!(
        "HTTP Status Code = {}; HTTP Message = {}",
        status.as_u16(),
        status.canonical_reason().unwrap_or("Unknown")
    )
}

/// A failed exchange as curl reports it (`curl_errno = N; curl_error = …`), which is how
/// Meta's fetcher words it. Only the timeout text is captured from Meta; the others are
/// curl's own messages for the same failure.
pub fn curl_error_text(error: &ProbeError) -> String {
    let (errno, text) = match error {
        ProbeError::Timeout { timeout, .. } => (
            28,
            format!(
                "Operation timed out after {} milliseconds with 0 bytes received",
                timeout.as_millis()
            ),
        ),
        ProbeError::Connect {
            host, port, source, ..
        } => {
            let reason = match source.kind() {
                std::io::ErrorKind::ConnectionRefused => "Connection refused",
                std::io::ErrorKind::NetworkUnreachable => "Network is unreachable",
                std::io::ErrorKind::HostUnreachable => "No route to host",
                _ => "Couldn't connect to server",
            };
            (
                7,
                format!("Failed to connect to {host} port {port}: {reason}"),
            )
        }
        ProbeError::Resolve { host, .. } => (6, format!("Could not resolve host: {host}")),
        ProbeError::InvalidUrl { .. } => (3, "URL using bad/illegal format or missing URL".into()),
        ProbeError::NoTrustedCa { .. } => (
            60,
            "SSL certificate problem: unable to get local issuer certificate".into(),
        ),
        ProbeError::Tls { message, .. } if message.contains("certificate") => {
            (60, format!("SSL certificate problem: {message}"))
        }
        ProbeError::Tls { message, .. } => (35, format!("SSL connect error: {message}")),
        ProbeError::Http { message, .. } if message.contains("closed before message completed") => {
            (52, "Empty reply from server".into())
        }
        ProbeError::Http { .. } => (56, "Failure when receiving data from the peer".into()),
    };
    format!("curl_errno = {errno}; curl_error = {text}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_query_is_appended_and_the_token_percent_encoded() {
        assert_eq!(
            handshake_url("https://example.com/webhook", "a+b/c=d e", 1_158_201_444),
            "https://example.com/webhook?hub.mode=subscribe&hub.challenge=1158201444&hub.verify_token=a%2Bb%2Fc%3Dd+e"
        );
        assert_eq!(
            handshake_url("http://h/w?tenant=1", "t", 7),
            "http://h/w?tenant=1&hub.mode=subscribe&hub.challenge=7&hub.verify_token=t"
        );
        assert_eq!(
            handshake_url("http://h/w?", "t", 7),
            "http://h/w?hub.mode=subscribe&hub.challenge=7&hub.verify_token=t"
        );
    }

    #[test]
    fn failures_read_as_metas_captures() {
        assert_eq!(
            status_text(StatusCode::NOT_FOUND),
            "HTTP Status Code = 404; HTTP Message = Not Found"
        );
        assert_eq!(
            status_text(StatusCode::FORBIDDEN),
            "HTTP Status Code = 403; HTTP Message = Forbidden"
        );
        assert_eq!(
            curl_error_text(&ProbeError::Timeout {
                url: "http://h/".into(),
                timeout: Duration::from_secs(6),
            }),
            "curl_errno = 28; curl_error = Operation timed out after 6000 milliseconds with 0 bytes received"
        );
        assert_eq!(
            curl_error_text(&ProbeError::Connect {
                authority: "127.0.0.1:9".into(),
                host: "127.0.0.1".into(),
                port: 9,
                source: std::io::ErrorKind::ConnectionRefused.into(),
            }),
            "curl_errno = 7; curl_error = Failed to connect to 127.0.0.1 port 9: Connection refused"
        );
    }
}
