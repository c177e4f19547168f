//! The Graph endpoint: path and version resolution, authentication, object lookup and the
//! operations, rendered with Meta's headers.
//!
//! Order of checks (each failure answers at once): path and version (2500) → token (104/190)
//! → method (100/33) → object and WABA scope (100/33) → permission (200) → body and parameters
//! (100, 12) → rate limit (133016, counting the request; register and deregister only) → the
//! rules in `domain`. The lifecycle endpoints live in `lifecycle.rs` (writes) and `read.rs`;
//! `/messages` skips the rate limit and needs only the messaging permission (see `messages`).

use axum::body::Body;
use axum::extract::Request;
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use bytes::Bytes;
use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::auth::{self, PresentedToken};
use super::call::{Call, Exchange, MANAGEMENT_AND_MESSAGING, Reply, authorize};
use super::error::GraphError;
use super::params;
use super::render;
use super::version::{self, ResolvedVersion};
use crate::domain::{
    self, Backup, Operation, ParamValue, Params, PhoneNumber, Pin, Region, RegisterRequest,
};
use crate::state::{
    AppState, Delivery, FaultAnswer, FaultMark, JournalRecord, JudgedBy, RequestIds, RequestText,
    Triggered, Withhold,
};

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
    /// `/{WABA_ID}/subscribed_apps`.
    SubscribedApps,
    /// `/oauth/access_token` (the code exchange; only under `oauth`).
    AccessToken,
    /// `/{APP_ID}/subscriptions` (the app's webhook callback).
    Subscriptions,
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
            Self::SubscribedApps => "subscribed_apps",
            Self::AccessToken => "access_token",
            Self::Subscriptions => "subscriptions",
        }
    }

    const ALL: [Self; 10] = [
        Self::Register,
        Self::Deregister,
        Self::RequestCode,
        Self::VerifyCode,
        Self::Settings,
        Self::PhoneNumbers,
        Self::Messages,
        Self::SubscribedApps,
        Self::AccessToken,
        Self::Subscriptions,
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
    ("get", "/{version}/oauth/access_token"),
    ("get", "/{version}/debug_token"),
    ("get", "/{version}/{waba_id}/subscribed_apps"),
    ("post", "/{version}/{waba_id}/subscribed_apps"),
    ("delete", "/{version}/{waba_id}/subscribed_apps"),
    ("get", "/{version}/{app_id}/subscriptions"),
    ("post", "/{version}/{app_id}/subscriptions"),
    ("delete", "/{version}/{app_id}/subscriptions"),
];

/// The node of the code exchange, `/oauth/access_token`.
const OAUTH_NODE: &str = "oauth";

/// The node of `GET /debug_token`.
const DEBUG_TOKEN_NODE: &str = "debug_token";

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

/// The node of a Graph path (the segment after the version, or the first one), without
/// resolving anything: enough to find the clock the request is judged by.
fn node_of(path: &str) -> Option<&str> {
    let mut segments = Segments { rest: path };
    match segments.next()? {
        first if version::is_version_like(first) => segments.next(),
        first => Some(first),
    }
}

/// Splits `/{version}/{node}/{edge}` (the version may be left out, as Graph allows).
pub fn route(path: &str, now: DateTime<Utc>) -> Result<Route<'_>, (ResolvedVersion, GraphError)> {
    let mut segments = Segments { rest: path };
    let first = segments.next();
    let (version, node) = match first {
        Some(segment) if version::is_version_like(segment) => {
            let Some(resolved) = version::resolve(segment, now) else {
                // Graph names the unknown version too: `Unknown path components:
                // /v99.0/<id>/messages` (captured).
                let rest = format!(
                    "/{segment}{}",
                    path_after(path, segment).trim_end_matches('/')
                );
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

/// Answers one Graph request: runs it against the state, renders it with Meta's headers and
/// journals it. The one entry into the Graph layer (the server calls it for every path that is
/// not the control API's). A request a fault shapes goes through [`misbehave`]; a response
/// the server must not deliver carries a [`Withhold`] extension and no body.
pub async fn respond(app: &AppState, request: Request) -> Response {
    let (parts, body) = request.into_parts();
    // One reading of the clock the request's object is judged by (its namespace's, when set
    // apart), for everything the request does: version table, token expiry, rules, faults'
    // windows, journal.
    let (now, judged_by) = match node_of(parts.uri.path()) {
        Some(node) => app.now_for_node(node),
        None => (app.now(), JudgedBy::Emulator),
    };
    let ids = app.next_request_ids();
    let (mut exchange, ran) =
        serve(app, &parts.method, &parts.uri, &parts.headers, body, now).await;
    exchange.suppress_http_code = suppresses_http_code(parts.uri.query());
    if let Err(error) = &exchange.result {
        tracing::debug!(
            method = %parts.method,
            path = parts.uri.path(),
            code = error.code,
            "graph error"
        );
    }
    if let Some(fault) = ran.fault {
        let judged = (now, judged_by);
        return misbehave(app, parts, exchange, (ran.applied, fault), &ids, judged).await;
    }
    let answer = render::Answer::of(&exchange, &ids);
    let response = answer.response(&exchange, &ids);
    let journal = app.journal();
    if journal.enabled() {
        let judged = (now, judged_by);
        let mut record = journal_record(parts, exchange, answer.status, answer.body, &ids, judged);
        record.applied = ran.applied;
        journal.record(record);
    }
    response
}

/// What [`serve`] did besides producing the exchange.
struct Ran {
    /// The request reached its endpoint and ran against the state.
    applied: bool,
    /// The fault that shapes its answer.
    fault: Option<Triggered>,
}

/// The journal's record of an answered, unfaulted request (the caller adjusts the rest).
fn journal_record(
    parts: Parts,
    exchange: Exchange,
    status: StatusCode,
    body: Bytes,
    ids: &RequestIds,
    (now, judged_by): (DateTime<Utc>, JudgedBy),
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
        status,
        body,
        request_id: ids.request_id().into(),
        judged_by,
        applied: false,
        fault: None,
        delivery: Delivery::Answered,
    }
}

/// The rest of a faulted request, once it ran (or was kept from running): the answer the fault
/// chose, journaled with what the client gets, after `delay_ms`. Drop, reset and hang are
/// carried out by the server (see [`Withhold`]); with `apply` their answer is rendered for the
/// journal all the same, since that is what the client would have seen.
async fn misbehave(
    app: &AppState,
    parts: Parts,
    mut exchange: Exchange,
    (applied, fault): (bool, Triggered),
    ids: &RequestIds,
    judged: (DateTime<Utc>, JudgedBy),
) -> Response {
    tracing::debug!(
        fault = fault.fault_id,
        applied,
        answer = fault.answer.as_str(),
        "fault"
    );
    let mut outcome = None;
    if fault.answer == FaultAnswer::Error {
        if applied {
            let own = render::Answer::of(&exchange, ids);
            outcome = Some((own.status, exchange.result.as_ref().err().map(|e| e.code)));
        }
        // A spec is only armed with a code from the table, so there is always a row.
        if let Some(mut error) = fault.error_code.and_then(GraphError::catalog) {
            if let Some(status) = fault.http_status.and_then(|s| StatusCode::from_u16(s).ok()) {
                error.status = status;
            }
            exchange.result = Err(error);
        }
    }
    let (withhold, delivery) = match fault.answer {
        FaultAnswer::Normal | FaultAnswer::Error => (None, Delivery::Answered),
        FaultAnswer::Drop => (Some(Withhold::Drop), Delivery::Dropped),
        FaultAnswer::Reset => (Some(Withhold::Reset), Delivery::Reset),
        FaultAnswer::Hang => (Some(Withhold::Hang), Delivery::Hung),
    };
    // A request that did not run and gets no answer has nothing to render.
    let (status, body, response) = if withhold.is_some() && !applied {
        (StatusCode::OK, Bytes::new(), None)
    } else {
        let answer = render::Answer::of(&exchange, ids);
        let response = answer.response(&exchange, ids);
        (answer.status, answer.body, Some(response))
    };
    let journal = app.journal();
    let seq = if journal.enabled() {
        let mut record = journal_record(parts, exchange, status, body, ids, judged);
        record.applied = applied;
        record.fault = Some(FaultMark {
            id: fault.fault_id,
            outcome,
        });
        record.delivery = delivery;
        journal.record(record)
    } else {
        None
    };
    if fault.delay_ms > 0 {
        // Journaled first, so a client that gives up during the delay (and with it the
        // server's future) still leaves the evidence of what was applied.
        let mut pending = AbandonedUnlessDue {
            app,
            seq,
            due: false,
        };
        tokio::time::sleep(std::time::Duration::from_millis(fault.delay_ms)).await;
        pending.due = true;
    }
    match (withhold, response) {
        (None, Some(response)) => response,
        (withhold, _) => {
            let mut response = Response::new(Body::empty());
            response
                .extensions_mut()
                .insert(withhold.unwrap_or(Withhold::Drop));
            response
        }
    }
}

/// Marks a journaled request `abandoned` if dropped before its delayed answer was due (the
/// server drops a request's future when its client goes away).
struct AbandonedUnlessDue<'a> {
    app: &'a AppState,
    seq: Option<u64>,
    /// The delay ran out: the answer goes to the client.
    due: bool,
}

impl Drop for AbandonedUnlessDue<'_> {
    fn drop(&mut self) {
        if let (false, Some(seq)) = (self.due, self.seq) {
            self.app.journal().set_delivery(seq, Delivery::Abandoned);
        }
    }
}

/// Runs one Graph request against the state.
async fn serve(
    app: &AppState,
    method: &Method,
    uri: &axum::http::Uri,
    headers: &HeaderMap,
    body: Body,
    now: DateTime<Utc>,
) -> (Exchange, Ran) {
    let mut ran = Ran {
        applied: false,
        fault: None,
    };
    let route = match route(uri.path(), now) {
        Ok(route) => route,
        Err((version, error)) => {
            let exchange = Exchange {
                version: version.effective,
                waba_id: None,
                result: Err(error),
                requested_version: version.requested.map(|v| v.name),
                node: None,
                operation: None,
                params: Params::default(),
                suppress_http_code: false,
                usage: None,
            };
            return (exchange, ran);
        }
    };
    let settings = app.settings();
    let (mut params, body_outcome) = params::read(
        uri.query(),
        headers,
        body,
        settings.max_body_bytes,
        settings.body_timeout,
    )
    .await;
    let presented = auth::presented_token(headers, &mut params);
    // Graph's `method` parameter (the JavaScript SDK sends `method=post` on a GET): the call
    // runs as that method.
    let overridden = method_override(&mut params);
    let method = overridden.as_ref().unwrap_or(method);
    let operation = route.edge.map_or("node", Edge::as_str);
    let mut exchange = Exchange {
        version: route.version.effective,
        waba_id: None,
        result: Ok(Reply::Success),
        requested_version: route.version.requested.map(|v| v.name),
        node: Some(CompactString::from(route.node)),
        operation: Some(operation),
        params: Params::default(),
        suppress_http_code: false,
        usage: None,
    };
    // The code exchange authenticates with the app's id and secret, not a token.
    if route.node == OAUTH_NODE {
        exchange.result = match route.edge {
            Some(Edge::AccessToken) => body_outcome
                .clone()
                .and_then(|()| super::onboarding::exchange_code(app, &params)),
            _ => Err(GraphError::unknown_path(&path_after(
                uri.path(),
                OAUTH_NODE,
            ))),
        };
        // A successful exchange used the code and issued a token.
        ran.applied = exchange.result.is_ok();
        exchange.params = params;
        return (exchange, ran);
    }
    let principal = match auth::authenticate(app, &presented, now) {
        Ok(principal) => principal,
        // Without a token Graph cannot say more; but a body we could not read may have held
        // it, so that is the more useful error.
        Err(error) => {
            exchange.result = Err(match body_outcome {
                Err(body_error) if presented == PresentedToken::Missing => body_error,
                _ => error,
            });
            exchange.params = params;
            return (exchange, ran);
        }
    };
    ran.fault = app.faults().take(route.node, operation, now);
    if let Some(fault) = &ran.fault {
        // Before the request runs: a client that gives up meanwhile leaves nothing applied.
        if fault.latency_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(fault.latency_ms)).await;
        }
        if !fault.apply {
            exchange.params = params;
            return (exchange, ran);
        }
    }
    // The call on a world guard (a macro: the pre-check and the call hold different guards).
    macro_rules! call_with {
        ($world:expr) => {
            Call {
                app,
                world: $world,
                principal: &principal,
                method,
                node: route.node,
                version: route.version.effective,
                params: &params,
                body_outcome: &body_outcome,
                now,
                uri,
                headers,
                usage: std::cell::Cell::new(None),
            }
        };
    }
    // A callback (app, WABA override, phone override) is verified before it is stored, as
    // Meta does: checked first, then the handshake with no lock held, then the call runs.
    if may_need_handshake(method, route.edge, &params) {
        let callback = {
            let world = app.world();
            let call = call_with!(&world);
            match route.edge {
                Some(Edge::Subscriptions) => call.subscription_to_verify(),
                Some(Edge::SubscribedApps) => call.waba_override_to_verify(),
                _ => call.phone_override_to_verify(),
            }
        };
        if let Some((url, verify_token)) = callback {
            let challenge = app.draw_lifecycle_id() % 10_000_000_000;
            // Boxed: the HTTP client's future is large, and inline it would make every
            // request's future (moved on each poll setup) that much larger.
            let handshake = Box::pin(app.webhooks().handshake(&url, &verify_token, challenge));
            if let Err(failure) = handshake.await {
                exchange.result = Err(GraphError::callback_verification_failed(&failure.detail));
                exchange.params = params;
                return (exchange, ran);
            }
        }
    }
    let world = app.world();
    let call = call_with!(&world);
    exchange.result = dispatch(&call, route.edge, &mut exchange.waba_id);
    exchange.usage = call.usage.get();
    drop(world);
    ran.applied = true;
    exchange.params = params;
    (exchange, ran)
}

/// Whether a request may set a callback, which is verified with the handshake before it is
/// stored: POSTs on `subscribed_apps`, `/{APP_ID}/subscriptions` and the phone number's
/// `webhook_configuration`.
fn may_need_handshake(method: &Method, edge: Option<Edge>, params: &Params) -> bool {
    *method == Method::POST
        && match edge {
            Some(Edge::SubscribedApps | Edge::Subscriptions) => true,
            None => params.get("webhook_configuration").is_some(),
            Some(_) => false,
        }
}

/// The method a `method` parameter asks for (`get`, `post` or `delete`, any case), removed
/// from the parameters; `None` without one (or with another value, which is ignored).
fn method_override(params: &mut Params) -> Option<Method> {
    let ParamValue::Text(text) = params.get("method")? else {
        return None;
    };
    let method = [Method::GET, Method::POST, Method::DELETE]
        .into_iter()
        .find(|method| text.eq_ignore_ascii_case(method.as_str()))?;
    params.remove("method");
    Some(method)
}

/// Whether the query asks for `suppress_http_code=1`: Graph then answers an error with HTTP
/// 200 (the body still holds the error), as the JavaScript SDK asks for.
fn suppresses_http_code(query: Option<&str>) -> bool {
    query.is_some_and(|query| {
        query.contains("suppress_http_code")
            && form_urlencoded::parse(query.as_bytes())
                .any(|(name, value)| name == "suppress_http_code" && value == "1")
    })
}

/// The synchronous part of a request, run with the world held (so a reset or an import never
/// interleaves with it): the endpoint for the method and edge.
fn dispatch(
    call: &Call<'_>,
    edge: Option<Edge>,
    waba_id: &mut Option<CompactString>,
) -> Result<Reply, GraphError> {
    let (get, post) = (call.method == Method::GET, call.method == Method::POST);
    match edge {
        Some(Edge::Register) if post => call.registration(Operation::Register, waba_id),
        Some(Edge::Deregister) if post => call.registration(Operation::Deregister, waba_id),
        Some(Edge::RequestCode) if post => call.request_code(waba_id),
        Some(Edge::VerifyCode) if post => call.verify_code(waba_id),
        Some(Edge::Settings) if get => call.get_settings(waba_id),
        Some(Edge::Settings) if post => call.write_settings(waba_id),
        Some(Edge::PhoneNumbers) if get => call.list_numbers(waba_id),
        Some(Edge::PhoneNumbers) if post => call.add_number(waba_id),
        Some(Edge::Messages) if post => call.send(waba_id),
        Some(Edge::SubscribedApps) => call.subscribed_apps(waba_id),
        Some(Edge::Subscriptions) => call.app_subscriptions(),
        Some(Edge::AccessToken) => Err(GraphError::unknown_path("/access_token")),
        Some(_) => Err(GraphError::unsupported_method(call.method.as_str())),
        None if get && call.node == DEBUG_TOKEN_NODE => call.debug_token(),
        None if get => match call.world.waba(call.node) {
            Some(waba) => call.get_waba_node(&waba, waba_id),
            None => call.get_number_node(waba_id),
        },
        None if post => call.post_number_node(waba_id),
        None => Err(GraphError::unknown_object(call.method.as_str(), call.node)),
    }
}

impl Call<'_> {
    /// `POST /register` and `POST /deregister`: scope, permission, limiter, parameters, rules,
    /// all under the number's lock.
    fn registration(
        &self,
        operation: Operation,
        waba_id: &mut Option<CompactString>,
    ) -> Result<Reply, GraphError> {
        let policy = self.app.policy();
        self.world
            .update_number(self.node, |number| {
                authorize(
                    self.principal,
                    self.method.as_str(),
                    self.node,
                    &number.waba_id,
                    &MANAGEMENT_AND_MESSAGING,
                    waba_id,
                )?;
                // Graph reads and checks the parameters before the endpoint runs: a request
                // refused for its body or parameters never reaches the limiter, so it does
                // not count toward the 10 per 72 hours. Everything that reaches the rules
                // (success, 133005, 133006, 133008, a refused region change, ...) does.
                self.body_outcome.clone()?;
                let request = match operation {
                    Operation::Register => Some(self.register_request(number)?),
                    Operation::Deregister => None,
                };
                // Refused during a block without touching the number, so nothing is persisted
                // for it: a rate-limited client hammering costs no commit.
                domain::refuse_while_blocked(number, operation, self.now, &policy.rate_limit)?;
                domain::admit(number, operation, self.now, &policy.rate_limit)?;
                match request {
                    Some(request) => {
                        domain::register(number, &request, self.now, &policy.pin_lockout)?;
                    }
                    None => domain::deregister(number)?,
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
                // Live API (verified on v25.0) and Meta's local-storage page: v21.0+ sets the
                // region through /settings; register refuses the parameter.
                if self.version.major() >= 21
                    && !self.app.settings().allow_region_on_register_from_v21
                {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .to_utc()
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
            (2500, "Unknown path components: /v99.0/123/register")
        );
        let (_, error) = route("/v23.0/123/bogus", now()).unwrap_err();
        assert_eq!(error.message, "Unknown path components: /bogus");
        let (_, error) = route("/v23.0/123/register/extra", now()).unwrap_err();
        assert_eq!(error.message, "Unknown path components: /extra");
        let (_, error) = route("/", now()).unwrap_err();
        assert_eq!(error.code, 2500);
    }
}
