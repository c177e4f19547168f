//! A minimal HTTP/1.1 client (hyper's connection API over a tokio socket, optionally wrapped in
//! TLS by tokio-rustls): the emulator's one outbound HTTP stack. The binary's own client
//! subcommands use it (the container health check and the demo registration flow), and so do
//! webhook handshakes and deliveries (`webhooks`), which need its exact bytes, extra headers
//! and a failure for each stage (resolve, connect, TLS, HTTP, timeout).
//!
//! It sends one request per connection, caps the response body, and bounds every exchange by a
//! timeout, so a probe can never hang. `https://` needs a [`Transport`] that trusts a CA bundle
//! (a PEM file, as named by `SSL_CERT_FILE`): those certificates are the only roots, and the
//! server's certificate is always verified against them and the URL's host name. There is no
//! way to turn verification off. A transport can also pin a host name to an address (like
//! curl's `--resolve`), for tests that cannot change name resolution.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST, HeaderName, HeaderValue};
use hyper::{Method, Request, StatusCode, Uri};
use hyper_util::rt::TokioIo;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// Largest response body read, in bytes (the emulator's answers are a few hundred bytes).
const MAX_RESPONSE_BYTES: usize = 1 << 20;

/// Why an exchange produced no response.
#[derive(Debug, thiserror::Error)]
pub enum ProbeError {
    /// The URL is not an absolute `http(s)://host[:port][/path]` URL.
    #[error("invalid URL {url:?}: {reason} (expected http(s)://HOST[:PORT][/PATH])")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The host name does not resolve to any address.
    #[error("cannot resolve {host}: {source}")]
    Resolve {
        /// The host name.
        host: String,
        /// The resolver's error.
        source: std::io::Error,
    },
    /// The TCP connection failed (to every address the host resolved to).
    #[error("cannot connect to {authority}: {source}")]
    Connect {
        /// `host:port`.
        authority: String,
        /// The host name or IP literal (without IPv6 brackets).
        host: String,
        /// The port connected to.
        port: u16,
        /// The socket error (of the last address tried).
        source: std::io::Error,
    },
    /// An `https://` URL, but the transport trusts no CA.
    #[error(
        "{url}: https:// needs the CA certificates to trust: set SSL_CERT_FILE or pass --ca-file"
    )]
    NoTrustedCa {
        /// The URL requested.
        url: String,
    },
    /// The TLS handshake failed, e.g. the certificate is not signed by a trusted CA or does not
    /// name the host.
    #[error("TLS with {authority} failed: {message}")]
    Tls {
        /// `host:port`.
        authority: String,
        /// The cause (rustls' description, e.g. `invalid peer certificate: UnknownIssuer`).
        message: String,
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

/// Why a CA bundle cannot be trusted.
#[derive(Debug, thiserror::Error)]
pub enum CaBundleError {
    /// The file cannot be read (e.g. it does not exist yet).
    #[error("cannot read the CA bundle {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// The file holds no usable PEM `CERTIFICATE` (e.g. it is still being written).
    #[error("the CA bundle {path} holds no usable certificate: {reason}")]
    Unusable {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
}

/// How requests reach their server: the CAs trusted for `https://`, and host names pinned to an
/// address. The default transport speaks plain `http://` only and resolves names normally.
#[derive(Clone, Default)]
pub struct Transport {
    tls: Option<Arc<ClientConfig>>,
    roots: usize,
    pinned: Vec<(String, SocketAddr)>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("trusted_cas", &self.roots)
            .field("pinned", &self.pinned)
            .finish()
    }
}

impl Transport {
    /// A transport trusting exactly the certificates of a PEM bundle file (what an app given
    /// `SSL_CERT_FILE` does), and no system store.
    pub fn trusting_pem_file(path: &Path) -> Result<Self, CaBundleError> {
        let pem = std::fs::read(path).map_err(|source| CaBundleError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::trusting_pem(&pem).map_err(|reason| CaBundleError::Unusable {
            path: path.to_path_buf(),
            reason,
        })
    }

    /// A transport trusting exactly the certificates of a PEM bundle; `Err` says why none is
    /// usable.
    pub fn trusting_pem(pem: &[u8]) -> Result<Self, String> {
        let mut roots = RootCertStore::empty();
        for certificate in CertificateDer::pem_slice_iter(pem) {
            let certificate = certificate.map_err(|error| error.to_string())?;
            roots.add(certificate).map_err(|error| error.to_string())?;
        }
        if roots.is_empty() {
            return Err("no CERTIFICATE block".to_owned());
        }
        let count = roots.len();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| error.to_string())?
            .with_root_certificates(roots)
            .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Self {
            tls: Some(Arc::new(config)),
            roots: count,
            pinned: Vec::new(),
        })
    }

    /// Connects to `addr` whenever a URL names `host` (any port in the URL is ignored); the
    /// TLS server name and the `Host` header stay `host`. Like curl's `--resolve`.
    pub fn pin(mut self, host: &str, addr: SocketAddr) -> Self {
        self.pinned.push((host.to_ascii_lowercase(), addr));
        self
    }

    /// How many CA certificates are trusted for `https://` (0: plain `http://` only).
    pub fn trusted_cas(&self) -> usize {
        self.roots
    }

    fn pinned_addr(&self, host: &str) -> Option<SocketAddr> {
        self.pinned
            .iter()
            .find(|(name, _)| name.eq_ignore_ascii_case(host))
            .map(|(_, addr)| *addr)
    }
}

/// The transport of requests that name none: plain `http://`, normal name resolution.
static PLAIN: Transport = Transport {
    tls: None,
    roots: 0,
    pinned: Vec::new(),
};

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
    /// Absolute `http://` or `https://` URL.
    pub url: &'a str,
    /// Sent as `Authorization: Bearer ...` when present.
    pub bearer: Option<&'a str>,
    /// Sent byte for byte as an `application/json` body when present.
    pub body: Option<Bytes>,
    /// Further headers, sent after `Host`, `Authorization` and `Content-Type`.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// How to reach the server; `None`: plain `http://` with normal name resolution.
    pub transport: Option<&'a Transport>,
}

impl<'a> HttpRequest<'a> {
    /// A `GET` without credentials.
    pub fn get(url: &'a str) -> Self {
        Self {
            method: Method::GET,
            url,
            bearer: None,
            body: None,
            headers: Vec::new(),
            transport: None,
        }
    }

    /// A `POST` with a JSON body (serde_json's compact form).
    pub fn post_json(url: &'a str, json: &serde_json::Value) -> Self {
        Self::post_json_bytes(url, Bytes::from(json.to_string()))
    }

    /// A `POST` of JSON already written, sent exactly as given (e.g. a signed webhook body).
    pub fn post_json_bytes(url: &'a str, body: Bytes) -> Self {
        Self {
            method: Method::POST,
            url,
            bearer: None,
            body: Some(body),
            headers: Vec::new(),
            transport: None,
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: HeaderName, value: HeaderValue) -> Self {
        self.headers.push((name, value));
        self
    }

    /// Adds a bearer token.
    pub fn bearer(mut self, token: &'a str) -> Self {
        self.bearer = Some(token);
        self
    }

    /// Sends the request through `transport` (trusted CAs, pinned addresses).
    pub fn via(mut self, transport: &'a Transport) -> Self {
        self.transport = Some(transport);
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
        let transport = self.transport.unwrap_or(&PLAIN);
        let tls = match target.scheme {
            Scheme::Http => None,
            Scheme::Https => {
                let config = transport
                    .tls
                    .clone()
                    .ok_or_else(|| ProbeError::NoTrustedCa {
                        url: self.url.to_owned(),
                    })?;
                let name = ServerName::try_from(target.host.clone()).map_err(|_| {
                    ProbeError::InvalidUrl {
                        url: self.url.to_owned(),
                        reason: "the host is not a valid TLS server name",
                    }
                })?;
                Some((TlsConnector::from(config), name))
            }
        };
        let connect_error = |source| ProbeError::Connect {
            authority: target.authority.clone(),
            host: target.host.clone(),
            port: target.port,
            source,
        };
        let stream = match transport.pinned_addr(&target.host) {
            Some(addr) => TcpStream::connect(addr).await.map_err(connect_error)?,
            None => {
                // Resolved apart from connecting, so a name that does not resolve and an
                // address that refuses are told apart (webhooks report them as curl does).
                let resolve_error = |source| ProbeError::Resolve {
                    host: target.host.clone(),
                    source,
                };
                let addrs: Vec<SocketAddr> =
                    tokio::net::lookup_host((target.host.as_str(), target.port))
                        .await
                        .map_err(resolve_error)?
                        .collect();
                if addrs.is_empty() {
                    return Err(resolve_error(std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no address",
                    )));
                }
                connect_any(&addrs).await.map_err(connect_error)?
            }
        };
        match tls {
            None => self.exchange_over(TokioIo::new(stream), &target).await,
            Some((connector, name)) => {
                let stream =
                    connector
                        .connect(name, stream)
                        .await
                        .map_err(|error| ProbeError::Tls {
                            authority: target.authority.clone(),
                            message: error.to_string(),
                        })?;
                self.exchange_over(TokioIo::new(stream), &target).await
            }
        }
    }

    /// The HTTP/1.1 exchange over an established (plain or TLS) connection.
    async fn exchange_over<I>(&self, io: I, target: &Target) -> Result<HttpResponse, ProbeError>
    where
        I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    {
        let http_error = |message: String| ProbeError::Http {
            authority: target.authority.clone(),
            message,
        };
        let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
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
        let body = match &self.body {
            Some(body) => {
                request = request.header(CONTENT_TYPE, "application/json");
                body.clone()
            }
            None => Bytes::new(),
        };
        for (name, value) in &self.headers {
            request = request.header(name, value);
        }
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

/// Connects to the first address that accepts, in order (as `TcpStream::connect` does with a
/// host name); the error is the last address's.
async fn connect_any(addrs: &[SocketAddr]) -> std::io::Result<TcpStream> {
    let mut last = None;
    for addr in addrs {
        match TcpStream::connect(addr).await {
            Ok(stream) => return Ok(stream),
            Err(error) => last = Some(error),
        }
    }
    Err(last.unwrap_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "no address")))
}

/// The URL schemes spoken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Scheme {
    Http,
    Https,
}

/// Where an `http://` or `https://` URL points.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    scheme: Scheme,
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
        let (scheme, default_port) = match uri.scheme_str() {
            Some("http") => (Scheme::Http, 80),
            Some("https") => (Scheme::Https, 443),
            Some(_) => return Err(invalid("only http:// and https:// are supported")),
            None => return Err(invalid("the scheme is missing")),
        };
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
            scheme,
            host: host.to_owned(),
            port: authority.port_u16().unwrap_or(default_port),
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
                scheme: Scheme::Http,
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
        let target = Target::parse("https://graph.facebook.com/v21.0/1/register").unwrap();
        assert_eq!(
            (target.scheme, target.port, target.authority.as_str()),
            (Scheme::Https, 443, "graph.facebook.com")
        );
    }

    #[test]
    fn unusable_urls_are_refused_with_a_reason() {
        for (url, reason) in [
            (
                "ftp://example.com/",
                "only http:// and https:// are supported",
            ),
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

    #[test]
    fn a_ca_bundle_must_hold_a_certificate() {
        assert!(Transport::trusting_pem(b"").is_err());
        assert!(Transport::trusting_pem(b"-----BEGIN CERTIFICATE-----\nAAAA").is_err());
        let ca = crate::tls::prepare(None, &[]).unwrap();
        let transport = Transport::trusting_pem(ca.ca_pem.as_bytes()).unwrap();
        assert_eq!(transport.trusted_cas(), 1);
        let pinned = transport.pin("Graph.Facebook.com", "127.0.0.1:8443".parse().unwrap());
        assert_eq!(
            pinned.pinned_addr("graph.facebook.com"),
            Some("127.0.0.1:8443".parse().unwrap())
        );
        assert_eq!(pinned.pinned_addr("example.com"), None);
    }

    #[tokio::test]
    async fn https_without_a_trusted_ca_is_refused_before_connecting() {
        match HttpRequest::get("https://127.0.0.1:1/")
            .send(Duration::from_secs(2))
            .await
        {
            Err(ProbeError::NoTrustedCa { .. }) => {}
            other => panic!("expected NoTrustedCa, got {other:?}"),
        }
    }
}
