//! The Graph endpoint: path and version resolution, authentication, object lookup and the
//! operations, rendered with Meta's headers.
//!
//! Order of checks (each failure answers at once): path and version (2500) → token (104/190)
//! → method (100/33) → object and WABA scope (100/33) → permission (200) → rate limit (133016,
//! counting the request; register and deregister only) → body and parameters (100, 12) → the
//! rules in `domain`. The lifecycle endpoints live in `lifecycle.rs` (writes) and `read.rs`;
//! `/messages` skips the rate limit and needs only the messaging permission (see `messages`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::auth::{self, PresentedToken};
use super::error::{AuthChallenge, GraphError};
use super::ids::RequestIds;
use super::messages::{SendCall, SendReceipt};
use super::params::{self, Params};
use super::version::{self, GraphVersion, ResolvedVersion};
use crate::admin::journal::{JournalRecord, RequestText};
use crate::domain::{self, Backup, Operation, PhoneNumber, Pin, Region, RegisterRequest};
use crate::state::{AppState, PERMISSION_MANAGEMENT, PERMISSION_MESSAGING, Principal};

/// Permissions register and deregister need (Meta: both WhatsApp permissions).
const REGISTRATION_PERMISSIONS: [&str; 2] = [PERMISSION_MANAGEMENT, PERMISSION_MESSAGING];

const SUCCESS_BODY: &[u8] = br#"{"success":true}"#;
/// `SUCCESS_BODY.len()` as a header value.
const SUCCESS_LENGTH: &str = "16";

/// Edges the emulator knows (all on a phone-number node except `phone_numbers`, which hangs
/// off a WABA).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Edge {
    /// `/register`.
    Register,
    /// `/deregister`.
    Deregister,
    /// `/request_code`.
    RequestCode,
    /// `/verify_code`.
    VerifyCode,
    /// `/settings`.
    Settings,
    /// `/{WABA_ID}/phone_numbers`.
    PhoneNumbers,
    /// `/messages` (send; answers only as far as registration matters).
    Messages,
}

impl Edge {
    /// The path segment (also the journal's and fault injection's operation name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Register => "register",
            Self::Deregister => "deregister",
            Self::RequestCode => "request_code",
            Self::VerifyCode => "verify_code",
            Self::Settings => "settings",
            Self::PhoneNumbers => "phone_numbers",
            Self::Messages => "messages",
        }
    }

    const ALL: [Self; 7] = [
        Self::Register,
        Self::Deregister,
        Self::RequestCode,
        Self::VerifyCode,
        Self::Settings,
        Self::PhoneNumbers,
        Self::Messages,
    ];

    fn parse(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|edge| edge.as_str() == segment)
    }
}

/// Every Graph route the emulator answers (method, OpenAPI path template), kept next to the
/// dispatch in [`dispatch`] so the served OpenAPI document can be checked against it.
pub const ROUTES: &[(&str, &str)] = &[
    ("post", "/{version}/{phone_number_id}/register"),
    ("post", "/{version}/{phone_number_id}/deregister"),
    ("post", "/{version}/{phone_number_id}/request_code"),
    ("post", "/{version}/{phone_number_id}/verify_code"),
    ("get", "/{version}/{phone_number_id}/settings"),
    ("post", "/{version}/{phone_number_id}/settings"),
    ("get", "/{version}/{phone_number_id}"),
    ("post", "/{version}/{phone_number_id}"),
    ("get", "/{version}/{waba_id}/phone_numbers"),
    ("post", "/{version}/{waba_id}/phone_numbers"),
    ("post", "/{version}/{phone_number_id}/messages"),
];

/// A resolved Graph path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Route<'a> {
    /// Requested and effective version.
    pub version: ResolvedVersion,
    /// The node id.
    pub node: &'a str,
    /// The edge, if any.
    pub edge: Option<Edge>,
}

/// Splits `/{version}/{node}/{edge}` (the version may be left out, as Graph allows).
pub fn route(path: &str, now: DateTime<Utc>) -> Result<Route<'_>, (ResolvedVersion, GraphError)> {
    let mut segments = Segments { rest: path };
    let first = segments.next();
    let (version, node) = match first {
        Some(segment) if version::is_version_like(segment) => {
            let Some(resolved) = version::resolve(segment, now) else {
                let rest = path_after(path, segment);
                return Err((
                    version::default_version(now),
                    GraphError::unknown_path(&rest),
                ));
            };
            (resolved, segments.next())
        }
        other => (version::default_version(now), other),
    };
    let Some(node) = node else {
        return Err((version, GraphError::unknown_path("/")));
    };
    let edge = match segments.next() {
        None => None,
        Some(segment) => match Edge::parse(segment) {
            Some(edge) => Some(edge),
            None => return Err((version, GraphError::unknown_path(&path_after(path, node)))),
        },
    };
    if segments.next().is_some() {
        let after_edge = path_after(path, node);
        let rest = after_edge
            .trim_start_matches('/')
            .split_once('/')
            .map_or(String::from("/"), |(_, rest)| format!("/{rest}"));
        return Err((version, GraphError::unknown_path(&rest)));
    }
    Ok(Route {
        version,
        node,
        edge,
    })
}

/// The non-empty segments of a path. Walks the bytes for `/`: on paths this short that is
/// cheaper than the generic character searcher behind `str::split`.
struct Segments<'a> {
    rest: &'a str,
}

impl<'a> Iterator for Segments<'a> {
    type Item = &'a str;

    fn next(&mut self) -> Option<&'a str> {
        while !self.rest.is_empty() {
            let end = self
                .rest
                .bytes()
                .position(|byte| byte == b'/')
                .unwrap_or(self.rest.len());
            let (segment, rest) = self.rest.split_at(end);
            self.rest = rest.get(1..).unwrap_or_default();
            if !segment.is_empty() {
                return Some(segment);
            }
        }
        None
    }
}

/// The path after the first occurrence of `segment`, starting with `/`.
fn path_after(path: &str, segment: &str) -> String {
    let rest = path
        .find(segment)
        .map_or("", |at| &path[at + segment.len()..])
        .trim_end_matches('/');
    if rest.is_empty() {
        "/".to_owned()
    } else {
        format!("/{}", rest.trim_start_matches('/'))
    }
}

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `{"success":true}`.
    Success,
    /// Any other JSON body, already serialised (so the field order is the one written).
    Json(Bytes),
    /// A send receipt (`/messages`).
    Sent(SendReceipt),
}

impl Reply {
    /// The body as JSON (for the journal).
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Self::Success => serde_json::json!({"success": true}),
            Self::Json(bytes) => serde_json::from_slice(bytes).unwrap_or_default(),
            Self::Sent(receipt) => serde_json::to_value(receipt).unwrap_or_default(),
        }
    }
}

/// What one request produced, before rendering.
#[derive(Debug)]
pub struct Exchange {
    /// The version that served the request.
    pub version: &'static GraphVersion,
    /// The WABA of the object, when one was resolved (for the usage header).
    pub waba_id: Option<CompactString>,
    /// The answer.
    pub result: Result<Reply, GraphError>,
    /// The version the path asked for.
    pub requested_version: Option<&'static str>,
    /// The node id, when the path had one.
    pub node: Option<CompactString>,
    /// The operation name (edge, or `node`).
    pub operation: Option<&'static str>,
    /// The parameters, without the access token.
    pub params: Params,
}

/// The axum handler for every Graph path.
pub async fn handle(State(app): State<AppState>, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    let now = app.clock.now();
    let ids = app.ids.next();
    let exchange = serve(&app, &parts.method, &parts.uri, &parts.headers, body, now).await;
    if let Err(error) = &exchange.result {
        tracing::debug!(
            method = %parts.method,
            path = parts.uri.path(),
            code = error.code,
            "graph error"
        );
    }
    let response = render(&exchange, &ids);
    if app.journal.enabled() {
        app.journal
            .record(journal_record(parts, exchange, &ids, now));
    }
    response
}

/// The journal's record of an answered request: the exchange moved, the request's path and
/// journaled headers copied.
fn journal_record(
    parts: axum::http::request::Parts,
    exchange: Exchange,
    ids: &RequestIds,
    now: DateTime<Utc>,
) -> JournalRecord {
    JournalRecord {
        at: now,
        request: RequestText::new(parts.uri.path(), &parts.headers),
        method: parts.method,
        version: exchange.requested_version,
        served_version: exchange.version.name,
        number: exchange.node,
        operation: exchange.operation,
        params: exchange.params,
        outcome: exchange.result,
        request_id: ids.request_id().into(),
    }
}

/// Runs one Graph request against the state.
pub async fn serve(
    app: &AppState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
    now: DateTime<Utc>,
) -> Exchange {
    let route = match route(uri.path(), now) {
        Ok(route) => route,
        Err((version, error)) => {
            return Exchange {
                version: version.effective,
                waba_id: None,
                result: Err(error),
                requested_version: version.requested.map(|v| v.name),
                node: None,
                operation: None,
                params: Params::default(),
            };
        }
    };
    let (mut params, body_outcome) = params::read(
        uri.query(),
        headers,
        body,
        app.settings.max_body_bytes,
        app.settings.body_timeout,
    )
    .await;
    let presented = auth::presented_token(headers, &mut params);
    let operation = route.edge.map_or("node", Edge::as_str);
    let mut exchange = Exchange {
        version: route.version.effective,
        waba_id: None,
        result: Ok(Reply::Success),
        requested_version: route.version.requested.map(|v| v.name),
        node: Some(CompactString::from(route.node)),
        operation: Some(operation),
        params: Params::default(),
    };
    let principal = match auth::authenticate(&app.world, &presented, now) {
        Ok(principal) => principal,
        // Without a token Graph cannot say more; but a body we could not read may have held
        // it, so that is the more useful error.
        Err(error) => {
            exchange.result = Err(match body_outcome {
                Err(body_error) if presented == PresentedToken::Missing => body_error,
                _ => error,
            });
            exchange.params = params;
            return exchange;
        }
    };
    if let Some(fault) = app.faults.take(route.node, operation) {
        if fault.latency_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(fault.latency_ms)).await;
        }
        if let Some(error) = fault.error_code.and_then(GraphError::catalog) {
            exchange.result = Err(error);
            exchange.params = params;
            return exchange;
        }
    }
    exchange.result = dispatch(
        app,
        &principal,
        method,
        uri,
        headers,
        &route,
        &params,
        &body_outcome,
        now,
        &mut exchange.waba_id,
    );
    exchange.params = params;
    exchange
}

/// The synchronous part of a request: runs under the shared side of the reset gate so a
/// reset or import never interleaves with it.
#[allow(clippy::too_many_arguments)]
fn dispatch(
    app: &AppState,
    principal: &Principal,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    route: &Route<'_>,
    params: &Params,
    body_outcome: &Result<(), GraphError>,
    now: DateTime<Utc>,
    waba_id: &mut Option<CompactString>,
) -> Result<Reply, GraphError> {
    let _shared = app.gate.read();
    let call = Call {
        app,
        principal,
        method,
        node: route.node,
        version: route.version.effective,
        params,
        body_outcome,
        now,
        uri,
        headers,
    };
    let (get, post) = (method == Method::GET, method == Method::POST);
    match route.edge {
        Some(Edge::Register) if post => call.registration(Operation::Register, waba_id),
        Some(Edge::Deregister) if post => call.registration(Operation::Deregister, waba_id),
        Some(Edge::RequestCode) if post => call.request_code(waba_id),
        Some(Edge::VerifyCode) if post => call.verify_code(waba_id),
        Some(Edge::Settings) if get => call.read_settings(waba_id),
        Some(Edge::Settings) if post => call.write_settings(waba_id),
        Some(Edge::PhoneNumbers) if get => call.list_numbers(waba_id),
        Some(Edge::PhoneNumbers) if post => call.add_number(waba_id),
        Some(Edge::Messages) if post => SendCall {
            app,
            principal,
            node: route.node,
            params,
            body_outcome,
        }
        .send(waba_id)
        .map(Reply::Sent),
        Some(_) => Err(GraphError::unsupported_method(method.as_str())),
        None if get => call.read_number(waba_id),
        None if post => call.set_pin(waba_id),
        None => Err(GraphError::unknown_object(method.as_str(), route.node)),
    }
}

/// Graph's access check on an object that belongs to `object_waba`: a token that may not act on
/// that WABA sees the object as unknown (100/33, Graph does not say which), one lacking a
/// permission gets 403/200. Once the object is visible its WABA is recorded for the usage header.
pub(crate) fn authorize(
    principal: &Principal,
    method: &str,
    node: &str,
    object_waba: &str,
    required: &[&str],
    waba_id: &mut Option<CompactString>,
) -> Result<(), GraphError> {
    if !principal.scope.allows(object_waba) {
        return Err(GraphError::unknown_object(method, node));
    }
    // Inline for any realistic id: no allocation.
    *waba_id = Some(CompactString::from(object_waba));
    match principal.missing_permission(required) {
        Some(missing) => Err(GraphError::missing_permission(missing)),
        None => Ok(()),
    }
}

/// One authenticated call on a node.
pub(crate) struct Call<'a> {
    pub(crate) app: &'a AppState,
    pub(crate) principal: &'a Principal,
    pub(crate) method: &'a Method,
    pub(crate) node: &'a str,
    pub(crate) version: &'static GraphVersion,
    pub(crate) params: &'a Params,
    pub(crate) body_outcome: &'a Result<(), GraphError>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) uri: &'a axum::http::Uri,
    pub(crate) headers: &'a HeaderMap,
}

impl Call<'_> {
    /// `POST /register` and `POST /deregister`: scope, permission, limiter, parameters, rules,
    /// all under the number's lock.
    fn registration(
        &self,
        operation: Operation,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        let policy = &self.app.policy;
        self.app
            .world
            .with_number(self.node, |number| {
                authorize(
                    self.principal,
                    self.method.as_str(),
                    self.node,
                    &number.waba_id,
                    &REGISTRATION_PERMISSIONS,
                    waba_id,
                )?;
                domain::admit(number, operation, self.now, &policy.rate_limit)?;
                self.body_outcome.clone()?;
                match operation {
                    Operation::Register => {
                        let request = self.register_request(number)?;
                        domain::register(number, &request, self.now, &policy.pin_lockout)?;
                    }
                    Operation::Deregister => domain::deregister(number)?,
                }
                Ok(Reply::Success)
            })
            .unwrap_or_else(|| Err(GraphError::unknown_object(self.method.as_str(), self.node)))
    }

    /// Validates register parameters in Graph's order: `messaging_product`, `pin`, `backup`
    /// (read only for a number awaiting migration; ignored otherwise), region.
    fn register_request(&self, number: &PhoneNumber) -> Result<RegisterRequest, GraphError> {
        let params = self.params;
        params.require_whatsapp_product()?;
        let pin = Pin::parse(&params.required_text("pin")?)?;
        let backup = if number.migration_pending {
            self.backup()?
        } else {
            None
        };
        let region = match params.text("data_localization_region")? {
            None => None,
            Some(code) => {
                if self.app.settings.reject_region_from_v21 && self.version.major() >= 21 {
                    return Err(GraphError::deprecated_region_parameter());
                }
                Some(Region::parse(&code)?)
            }
        };
        Ok(RegisterRequest {
            pin,
            region,
            backup,
        })
    }

    /// `backup` as an object (or a JSON string holding one), or as the form fields
    /// `backup[data]` and `backup[password]`. `None` when absent altogether.
    fn backup(&self) -> Result<Option<Backup>, GraphError> {
        let params = self.params;
        let object = params.object("backup")?;
        let present = object.is_some();
        let (data, password) = match object {
            Some(object) => {
                let mut nested = Params::default();
                for (name, value) in object {
                    nested.insert(name, value);
                }
                (
                    nested.text("data")?.map(|text| text.into_owned()),
                    nested.text("password")?.map(|text| text.into_owned()),
                )
            }
            None => (
                params.text("backup[data]")?.map(|text| text.into_owned()),
                params
                    .text("backup[password]")?
                    .map(|text| text.into_owned()),
            ),
        };
        if !present && data.is_none() && password.is_none() {
            return Ok(None);
        }
        let data = data
            .filter(|text| !text.is_empty())
            .ok_or_else(|| GraphError::missing_parameter("backup.data"))?;
        let password = password
            .filter(|text| !text.is_empty())
            .ok_or_else(|| GraphError::missing_parameter("backup.password"))?;
        Ok(Some(Backup { data, password }))
    }
}

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

/// Renders an exchange with Meta's headers.
pub fn render(exchange: &Exchange, ids: &RequestIds) -> Response {
    let (status, body, mut challenge) = match &exchange.result {
        Ok(Reply::Success) => (StatusCode::OK, Bytes::from_static(SUCCESS_BODY), None),
        Ok(Reply::Json(bytes)) => (StatusCode::OK, bytes.clone(), None),
        Ok(Reply::Sent(receipt)) => (
            StatusCode::OK,
            Bytes::from(serde_json::to_vec(receipt).unwrap_or_default()),
            None,
        ),
        Err(error) => (
            error.status,
            Bytes::from(error.body(ids.request_id())),
            error
                .challenge()
                .and_then(|kind| challenge_header(kind, &error.message)),
        ),
    };
    let mut length = Some(content_length(body.len()));
    let mut usage = exchange.waba_id.as_deref().and_then(usage_header);
    let template = &HEADER_TEMPLATES[template_index(usage.is_some(), challenge.is_some())];
    let mut headers = template.headers.clone();
    for (value, slot) in headers.values_mut().zip(&template.slots) {
        let filled = match slot {
            Slot::Fixed => continue,
            Slot::ContentLength => length.take(),
            Slot::Version => Some(HeaderValue::from_static(exchange.version.name)),
            Slot::RequestId => Some(ids.request_id_header()),
            Slot::TraceId => Some(ids.trace_id()),
            Slot::Debug => Some(ids.debug()),
            Slot::Usage => usage.take(),
            Slot::Challenge => challenge.take(),
        };
        if let Some(filled) = filled {
            *value = filled;
        }
    }
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    *response.headers_mut() = headers;
    response
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

/// `WWW-Authenticate` for an OAuth error, as Graph writes it: the message with anything that is
/// not printable ASCII replaced (a header value cannot carry it) and double quotes turned into
/// single ones (they would end the quoted string).
fn challenge_header(kind: AuthChallenge, message: &str) -> Option<HeaderValue> {
    const PREFIX: &str = r#"OAuth "Facebook Platform" ""#;
    let kind = match kind {
        AuthChallenge::InvalidRequest => "invalid_request",
        AuthChallenge::InvalidToken => "invalid_token",
    };
    let mut text = Vec::with_capacity(PREFIX.len() + kind.len() + message.len() + 4);
    text.extend_from_slice(PREFIX.as_bytes());
    text.extend_from_slice(kind.as_bytes());
    text.extend_from_slice(br#"" ""#);
    text.extend(message.chars().map(|c| match c {
        '"' => b'\'',
        ' ' => b' ',
        c if c.is_ascii_graphic() => c as u8,
        _ => b'?',
    }));
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
        }
    }

    #[test]
    fn render_fills_every_per_response_header() {
        let ids = crate::graph::ids::IdGenerator::new(3).next();
        let response = render(&exchange(Ok(Reply::Success), Some("42")), &ids);
        let headers = response.headers();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(headers.len(), 12);
        assert_eq!(headers["content-length"], "16");
        assert!(headers.values().all(|value| value != "-"), "{headers:?}");
        assert_eq!(headers["facebook-api-version"], "v23.0");
        assert_eq!(headers["x-fb-request-id"], ids.request_id());
        assert_eq!(headers["x-fb-trace-id"], ids.trace_id());
        assert_eq!(headers["x-fb-debug"], ids.debug());
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
        let ids = crate::graph::ids::IdGenerator::new(5).next();
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
        let value = challenge_header(AuthChallenge::InvalidToken, "bad \"tök\"\n").unwrap();
        assert_eq!(
            value,
            r#"OAuth "Facebook Platform" "invalid_token" "bad 't?k'?""#
        );
    }

    #[test]
    fn every_edge_is_in_the_route_table() {
        for edge in Edge::ALL {
            let suffix = format!("/{}", edge.as_str());
            assert!(
                ROUTES.iter().any(|(_, path)| path.ends_with(&suffix)),
                "{suffix} is missing from ROUTES"
            );
        }
    }

    #[test]
    fn routes_resolve_versioned_and_unversioned_paths() {
        let r = route("/v23.0/123/register", now()).unwrap();
        assert_eq!(
            (r.version.effective.name, r.node, r.edge),
            ("v23.0", "123", Some(Edge::Register))
        );
        let r = route("/123/deregister/", now()).unwrap();
        assert_eq!(
            (r.version.effective.name, r.edge),
            ("v26.0", Some(Edge::Deregister))
        );
        let r = route("/v18.0/123/register", now()).unwrap();
        assert_eq!(r.version.effective.name, "v21.0");
        // Empty segments are skipped, as Graph does.
        let r = route("//v23.0//123///register//", now()).unwrap();
        assert_eq!(
            (r.version.effective.name, r.node, r.edge),
            ("v23.0", "123", Some(Edge::Register))
        );
        let r = route("123", now()).unwrap();
        assert_eq!((r.node, r.edge), ("123", None));
        assert_eq!(Segments { rest: "/a//b/" }.collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(Segments { rest: "///" }.next(), None);
    }

    #[test]
    fn unknown_versions_and_edges_are_2500() {
        let (_, error) = route("/v99.0/123/register", now()).unwrap_err();
        assert_eq!(
            (error.code, error.message.as_ref()),
            (2500, "Unknown path components: /123/register")
        );
        let (_, error) = route("/v23.0/123/bogus", now()).unwrap_err();
        assert_eq!(error.message, "Unknown path components: /bogus");
        let (_, error) = route("/v23.0/123/register/extra", now()).unwrap_err();
        assert_eq!(error.message, "Unknown path components: /extra");
        let (_, error) = route("/", now()).unwrap_err();
        assert_eq!(error.code, 2500);
    }
}
