//! A minimal plain-HTTP/1.1 client (hyper's connection API over a tokio socket) for the
//! binary's own client subcommands: the container health check and the demo registration flow.
//!
//! It speaks `http://` only (the emulator serves no TLS), sends one request per connection,
//! caps the response body, and bounds every exchange by a timeout, so a probe can never hang.

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;

/// Largest response body read, in bytes (the emulator's answers are a few hundred bytes).
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Why an exchange produced no response.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The URL is not an absolute `http://host[:port][/path]` URL.
    #[error("invalid URL {url:?}: {reason} (expected http://HOST[:PORT][/PATH])")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// Name resolution or the TCP connection failed.
    #[error("cannot connect to {authority}: {source}")]
    Connect {
        /// `host:port`.
        authority: String,
        /// The socket error.
        source: std::io::Error,
    },
    /// The HTTP exchange failed (connection reset, malformed answer, oversized body).
    #[error("HTTP exchange with {authority} failed: {message}")]
    Http {
        /// `host:port`.
        authority: String,
        /// The cause.
        message: String,
    },
    /// No complete answer within the timeout.
    #[error("no answer from {url} within {timeout:?}")]
    Timeout {
        /// The URL requested.
        url: String,
        /// The limit.
        timeout: Duration,
    },
}

/// A received response: status and the whole body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// The status code.
    pub status: StatusCode,
    /// The body bytes.
    pub body: Bytes,
}

impl HttpResponse {
    /// The body parsed as JSON, or `None` when it is not JSON.
    pub fn json(&self) -> Option<serde_json::Value> {
        serde_json::from_slice(&self.body).ok()
    }

    /// The body as text (invalid UTF-8 replaced), for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// One request to send.
#[derive(Debug, Clone)]
pub struct HttpRequest<'a> {
    /// The method.
    pub method: Method,
    /// Absolute `http://` URL.
    pub url: &'a str,
    /// Sent as `Authorization: Bearer ...` when present.
    pub bearer: Option<&'a str>,
    /// Sent as an `application/json` body when present.
    pub json: Option<&'a serde_json::Value>,
}

impl<'a> HttpRequest<'a> {
    /// A `GET` without credentials.
    pub fn get(url: &'a str) -> Self {
        Self {
            method: Method::GET,
            url,
            bearer: None,
            json: None,
        }
    }

    /// A `POST` with a JSON body.
    pub fn post_json(url: &'a str, json: &'a serde_json::Value) -> Self {
        Self {
            method: Method::POST,
            url,
            bearer: None,
            json: Some(json),
        }
    }

    /// Adds a bearer token.
    pub fn bearer(mut self, token: &'a str) -> Self {
        self.bearer = Some(token);
        self
    }

    /// Sends the request on a fresh connection and reads the whole answer, all within `timeout`.
    pub async fn send(&self, timeout: Duration) -> Result<HttpResponse, ProbeError> {
        match tokio::time::timeout(timeout, self.exchange()).await {
            Ok(result) => result,
            Err(_) => Err(ProbeError::Timeout {
                url: self.url.to_owned(),
                timeout,
            }),
        }
    }

    async fn exchange(&self) -> Result<HttpResponse, ProbeError> {
        let target = Target::parse(self.url)?;
        let http_error = |message: String| ProbeError::Http {
            authority: target.authority.clone(),
            message,
        };
        let stream = TcpStream::connect((target.host.as_str(), target.port))
            .await
            .map_err(|source| ProbeError::Connect {
                authority: target.authority.clone(),
                source,
            })?;
        let (mut sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|error| http_error(error.to_string()))?;
        let driver = tokio::spawn(connection);

        let mut request = Request::builder()
            .method(self.method.clone())
            .uri(target.path_and_query.as_str())
            .header(HOST, target.authority.as_str());
        if let Some(token) = self.bearer {
            request = request.header(AUTHORIZATION, format!("Bearer {token}"));
        }
        let body = match self.json {
            Some(json) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Bytes::from(json.to_string())
            }
            None => Bytes::new(),
        };
        let request = request
            .body(Full::new(body))
            .map_err(|error| http_error(error.to_string()))?;
        let response = sender
            .send_request(request)
            .await
            .map_err(|error| http_error(error.to_string()))?;
        let status = response.status();
        let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
            .collect()
            .await
            .map_err(|error| http_error(error.to_string()))?
            .to_bytes();
        driver.abort();
        Ok(HttpResponse { status, body })
    }
}

/// Where an `http://` URL points.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// Host name or IP literal, without IPv6 brackets.
    host: String,
    port: u16,
    /// `host[:port]` as written, for the `Host` header and messages.
    authority: String,
    /// Path and query, at least `/`.
    path_and_query: String,
}

impl Target {
    fn parse(url: &str) -> Result<Self, ProbeError> {
        let invalid = |reason| ProbeError::InvalidUrl {
            url: url.to_owned(),
            reason,
        };
        let uri: Uri = url.parse().map_err(|_| invalid("not a URL"))?;
        match uri.scheme_str() {
            Some("http") => {}
            Some(_) => return Err(invalid("only http:// is supported")),
            None => return Err(invalid("the scheme is missing")),
        }
        let authority = uri
            .authority()
            .ok_or_else(|| invalid("the host is missing"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(invalid("the host is missing"));
        }
        Ok(Self {
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(80),
            authority: authority.as_str().to_owned(),
            path_and_query: uri
                .path_and_query()
                .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_split_into_host_port_and_path() {
        let target = Target::parse("http://emulator:8080/__emulator/health?x=1").unwrap();
        assert_eq!(
            target,
            Target {
                host: "emulator".into(),
                port: 8080,
                authority: "emulator:8080".into(),
                path_and_query: "/__emulator/health?x=1".into(),
            }
        );
        let target = Target::parse("http://[::1]:9000").unwrap();
        assert_eq!((target.host.as_str(), target.port), ("::1", 9000));
        assert_eq!(target.path_and_query, "/");
        assert_eq!(Target::parse("http://localhost").unwrap().port, 80);
    }

    #[test]
    fn unusable_urls_are_refused_with_a_reason() {
        for (url, reason) in [
            ("https://example.com/", "only http:// is supported"),
            ("emulator:8080", "the scheme is missing"),
            ("/just/a/path", "the scheme is missing"),
            ("http://", "not a URL"),
            ("not a url", "not a URL"),
        ] {
            match Target::parse(url) {
                Err(ProbeError::InvalidUrl { reason: got, .. }) => {
                    assert_eq!(got, reason, "{url}");
                }
                other => panic!("{url}: expected InvalidUrl, got {other:?}"),
            }
        }
    }
}
