//! The control API over HTTP, under `/__emulator/`. JSON in and out; errors are
//! `{"emulator_error": {"status", "kind", "message"}}`.
//!
//! Access: open on a loopback listener; when the emulator listens beyond loopback it is off
//! unless an admin token is configured; when a token is configured it is required (Bearer).
//! `/health` and `/ready` are always open, for container health checks.

use axum::body::Bytes;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::{StatusCode, Uri, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use subtle::ConstantTimeEq;

use super::{Control, ControlError};
use crate::domain::Operation;
use crate::fixtures::FixtureDocument;
use crate::state::{Fault, FaultSpec, JournalFilter};

/// The reserved prefix.
pub const PREFIX: &str = "/__emulator";

/// Every control route (method, path under the prefix), for the OpenAPI check.
pub const ROUTES: &[(&str, &str)] = &[
    ("get", "/health"),
    ("get", "/ready"),
    ("get", "/openapi.json"),
    ("get", "/ca.pem"),
    ("get", "/console"),
    ("get", "/console/app.js"),
    ("get", "/console/app.css"),
    ("post", "/reset"),
    ("get", "/state"),
    ("put", "/state"),
    ("get", "/numbers"),
    ("post", "/numbers"),
    ("get", "/numbers/{id}"),
    ("patch", "/numbers/{id}"),
    ("delete", "/numbers/{id}"),
    ("get", "/numbers/{id}/limits"),
    ("delete", "/numbers/{id}/limits"),
    ("get", "/wabas"),
    ("post", "/wabas"),
    ("patch", "/wabas/{id}"),
    ("delete", "/wabas/{id}"),
    ("get", "/tokens"),
    ("post", "/tokens"),
    ("patch", "/tokens/{value}"),
    ("delete", "/tokens/{value}"),
    ("get", "/clock"),
    ("post", "/clock"),
    ("get", "/journal"),
    ("delete", "/journal"),
    ("get", "/journal/counts"),
    ("get", "/connections"),
    ("get", "/faults"),
    ("post", "/faults"),
    ("delete", "/faults"),
    ("delete", "/faults/{id}"),
    ("get", "/apps"),
    ("post", "/apps"),
    ("post", "/embedded-signup"),
    ("post", "/numbers/{id}/preset"),
    ("post", "/numbers/{id}/name-review"),
    ("put", "/apps/{id}/webhook"),
    ("delete", "/apps/{id}/webhook"),
    ("post", "/numbers/{id}/inbound"),
    ("post", "/numbers/{id}/business-app"),
    ("post", "/wabas/{id}/partner-event"),
    ("post", "/webhooks/emit"),
    ("get", "/webhooks/deliveries"),
    ("delete", "/webhooks/deliveries"),
    ("post", "/webhooks/deliveries/{id}/redeliver"),
    ("get", "/webhooks/faults"),
    ("post", "/webhooks/faults"),
    ("delete", "/webhooks/faults"),
    ("delete", "/webhooks/faults/{id}"),
    ("post", "/namespaces"),
    ("post", "/namespaces/{id}/reset"),
    ("delete", "/namespaces/{id}"),
    ("get", "/namespaces/{id}/clock"),
    ("post", "/namespaces/{id}/clock"),
];

/// The OpenAPI document describing the Graph endpoints and this control API.
pub const OPENAPI: &str = include_str!("openapi.json");

/// The web console's page, served at `/__emulator/console` (embedded; no network needed).
pub const CONSOLE_HTML: &str = include_str!("console/index.html");
/// The web console's script: plain JavaScript that only calls the control API.
pub const CONSOLE_JS: &str = include_str!("console/app.js");
/// The web console's style sheet.
pub const CONSOLE_CSS: &str = include_str!("console/app.css");

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        let body = json!({"emulator_error": {
            "status": self.status.as_u16(),
            "kind": self.kind,
            "message": self.message,
        }});
        (self.status, Json(body)).into_response()
    }
}

/// A JSON body whose rejection is a control error, never axum's plain text.
#[derive(Debug)]
pub struct ControlJson<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for ControlJson<T> {
    type Rejection = ControlError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = Bytes::from_request(request, state)
            .await
            .map_err(|error| ControlError::invalid(format!("cannot read the body: {error}")))?;
        let text: &[u8] = if bytes.iter().all(u8::is_ascii_whitespace) {
            b"{}"
        } else {
            &bytes
        };
        // Every control body is an object. serde's derived structs also accept a JSON array
        // (fields by position), so `[null, null]` would otherwise read as `{}`.
        if text.iter().find(|byte| !byte.is_ascii_whitespace()) != Some(&b'{') {
            return Err(ControlError::invalid(
                "invalid JSON body: expected a JSON object",
            ));
        }
        serde_json::from_slice(text)
            .map(Self)
            .map_err(|error| ControlError::invalid(format!("invalid JSON body: {error}")))
    }
}

fn query<T: DeserializeOwned + Default>(uri: &Uri) -> Result<T, ControlError> {
    match uri.query() {
        None | Some("") => Ok(T::default()),
        Some(_) => axum::extract::Query::<T>::try_from_uri(uri)
            .map(|query| query.0)
            .map_err(|error| {
                ControlError::invalid(format!("invalid query: {}", error.body_text()))
            }),
    }
}

type Answer<T = Value> = Result<Json<T>, ControlError>;

/// The control router, to be nested under [`PREFIX`].
pub fn router(control: Control) -> Router {
    let guarded = Router::new()
        .route("/openapi.json", get(openapi))
        .route("/reset", post(reset))
        .route("/state", get(export).put(import))
        .route("/numbers", get(list_numbers).post(create_number))
        .route(
            "/numbers/{id}",
            get(get_number).patch(patch_number).delete(delete_number),
        )
        .route("/numbers/{id}/limits", get(get_limits).delete(clear_limits))
        .route("/wabas", get(list_wabas).post(create_waba))
        .route(
            "/wabas/{id}",
            axum::routing::patch(patch_waba).delete(delete_waba),
        )
        .route("/tokens", get(list_tokens).post(create_token))
        .route(
            "/tokens/{value}",
            axum::routing::patch(patch_token).delete(delete_token),
        )
        .route("/clock", get(get_clock).post(change_clock))
        .route("/journal", get(get_journal).delete(clear_journal))
        .route("/journal/counts", get(get_journal_counts))
        .route("/connections", get(get_connections))
        .route(
            "/faults",
            get(list_faults).post(arm_fault).delete(clear_faults),
        )
        .route("/faults/{id}", delete(remove_fault))
        .route("/apps", get(list_apps).post(create_app))
        .route("/embedded-signup", post(embedded_signup))
        .route(
            "/apps/{id}/webhook",
            axum::routing::put(set_app_webhook).delete(remove_app_webhook),
        )
        .route("/numbers/{id}/inbound", post(inbound_message))
        .route("/numbers/{id}/business-app", post(business_app_event))
        .route("/wabas/{id}/partner-event", post(partner_event))
        .route("/webhooks/emit", post(emit_event))
        .route(
            "/webhooks/deliveries",
            get(list_deliveries).delete(clear_deliveries),
        )
        .route("/webhooks/deliveries/{id}/redeliver", post(redeliver))
        .route(
            "/webhooks/faults",
            get(list_delivery_faults)
                .post(arm_delivery_fault)
                .delete(clear_delivery_faults),
        )
        .route("/webhooks/faults/{id}", delete(remove_delivery_fault))
        .route("/numbers/{id}/preset", post(apply_preset))
        .route("/numbers/{id}/name-review", post(decide_name_review))
        .route("/namespaces", post(create_namespace))
        .route("/namespaces/{id}/reset", post(reset_namespace))
        .route("/namespaces/{id}", delete(delete_namespace))
        .route(
            "/namespaces/{id}/clock",
            get(get_namespace_clock).post(change_namespace_clock),
        )
        .route_layer(middleware::from_fn_with_state(
            control.clone(),
            require_access,
        ));
    Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/ca.pem", get(ca_pem))
        .route("/console", get(console_page))
        .route("/console/app.js", get(console_js))
        .route("/console/app.css", get(console_css))
        .merge(guarded)
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(axum::extract::DefaultBodyLimit::max(512 << 20))
        .with_state(control)
}

async fn require_access(State(app): State<Control>, request: Request, next: Next) -> Response {
    match &app.state().settings().admin_token {
        Some(expected) => {
            let presented = request
                .headers()
                .get(header::AUTHORIZATION)
                .and_then(|value| value.to_str().ok())
                .and_then(|value| value.strip_prefix("Bearer "))
                .unwrap_or("");
            let ok: bool = presented.as_bytes().ct_eq(expected.as_bytes()).into();
            if !ok {
                return ControlError {
                    status: StatusCode::UNAUTHORIZED,
                    kind: "unauthorized",
                    message: "the control API needs the admin token: Authorization: Bearer <WA_EMU_ADMIN_TOKEN>".into(),
                }
                .into_response();
            }
        }
        None if app.state().settings().control_exposed => {
            return ControlError {
                status: StatusCode::FORBIDDEN,
                kind: "disabled",
                message: "the control API is off because the emulator listens beyond loopback; set --admin-token (WA_EMU_ADMIN_TOKEN) to enable it".into(),
            }
            .into_response();
        }
        None => {}
    }
    next.run(request).await
}

async fn not_found(uri: Uri) -> ControlError {
    ControlError::not_found(format!("no control route {}", uri.path()))
}

async fn method_not_allowed() -> ControlError {
    ControlError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        kind: "method_not_allowed",
        message: "this control route does not support that method".into(),
    }
}

/// The local CA certificate. Public (it is a certificate, not a key), so it is served
/// without the admin token, like `/health`.
async fn ca_pem(State(app): State<Control>) -> Response {
    match &app.state().settings().ca_pem {
        Some(pem) => (
            [(header::CONTENT_TYPE, "application/x-pem-file")],
            pem.clone(),
        )
            .into_response(),
        None => ControlError::not_found(
            "HTTPS is off, so there is no local CA: start with --https-listen (WA_EMU_HTTPS_LISTEN)",
        )
        .into_response(),
    }
}

async fn health() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

async fn ready(State(app): State<Control>) -> Json<Value> {
    Json(json!({"status": "ready", "numbers": app.number_count()}))
}

const CONSOLE_CSP: &str = "default-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/// The console's assets are always served (they hold no data); every call the page makes goes
/// through the guarded control API, so the page asks for the admin token on 401.
fn console_asset(content_type: &'static str, body: &'static str, csp: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::CONTENT_SECURITY_POLICY, csp),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

/// The page with its style sheet inlined, so the first paint needs no second request, and a
/// content-security policy that allows exactly that style block (by its SHA-256).
static CONSOLE_PAGE: std::sync::LazyLock<(&'static str, &'static str)> =
    std::sync::LazyLock::new(|| {
        use base64::Engine as _;
        use sha2::Digest as _;
        let link = r#"<link rel="stylesheet" href="/__emulator/console/app.css">"#;
        let page = CONSOLE_HTML.replacen(link, &format!("<style>{CONSOLE_CSS}</style>"), 1);
        let hash = base64::engine::general_purpose::STANDARD
            .encode(sha2::Sha256::digest(CONSOLE_CSS.as_bytes()));
        let csp = format!("{CONSOLE_CSP}; style-src 'self' 'sha256-{hash}'");
        (page.leak(), csp.leak())
    });

async fn console_page() -> Response {
    let (page, csp) = *CONSOLE_PAGE;
    console_asset("text/html; charset=utf-8", page, csp)
}

async fn console_js() -> Response {
    console_asset("text/javascript; charset=utf-8", CONSOLE_JS, CONSOLE_CSP)
}

async fn console_css() -> Response {
    console_asset("text/css; charset=utf-8", CONSOLE_CSS, CONSOLE_CSP)
}

async fn openapi() -> Response {
    ([(header::CONTENT_TYPE, "application/json")], OPENAPI).into_response()
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ResetQuery {
    namespace: Option<String>,
}

async fn reset(State(app): State<Control>, uri: Uri) -> Answer {
    let query: ResetQuery = query(&uri)?;
    match query.namespace {
        Some(namespace) => Ok(Json(
            serde_json::to_value(app.reset_namespace(&namespace)?).unwrap_or_default(),
        )),
        None => {
            off_runtime(&app, Control::reset).await?;
            Ok(Json(json!({"reset": true})))
        }
    }
}

/// Runs a control operation that may re-read and parse a large fixture file and rebuild the
/// whole world (about a second with a million numbers) on the blocking pool, so the runtime's
/// workers keep answering meanwhile. With `--data-dir` the answer still waits for the change
/// to be on disk: changes made outside the request's task are covered by waiting for
/// everything queued.
async fn off_runtime<T: Send + 'static>(
    app: &Control,
    operation: impl FnOnce(&Control) -> Result<T, ControlError> + Send + 'static,
) -> Result<T, ControlError> {
    let app = app.clone();
    tokio::task::spawn_blocking(move || operation(&app))
        .await
        .unwrap_or_else(|error| {
            Err(ControlError {
                status: StatusCode::INTERNAL_SERVER_ERROR,
                kind: "internal",
                message: format!("the operation failed: {error}"),
            })
        })
}

async fn export(State(app): State<Control>) -> Json<FixtureDocument> {
    Json(app.export())
}

async fn import(
    State(app): State<Control>,
    ControlJson(document): ControlJson<FixtureDocument>,
) -> Answer {
    app.import(&document)?;
    Ok(Json(
        json!({"imported": true, "numbers": app.number_count()}),
    ))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct NumbersQuery {
    waba_id: Option<String>,
}

async fn list_numbers(State(app): State<Control>, uri: Uri) -> Answer {
    let query: NumbersQuery = query(&uri)?;
    Ok(Json(
        json!({"data": app.list_numbers(query.waba_id.as_deref())}),
    ))
}

async fn create_number(
    State(app): State<Control>,
    ControlJson(request): ControlJson<super::NewNumber>,
) -> Result<(StatusCode, Json<super::NumberView>), ControlError> {
    Ok((StatusCode::CREATED, Json(app.create_number(request)?)))
}

async fn get_number(
    State(app): State<Control>,
    Path(id): Path<String>,
) -> Answer<super::NumberView> {
    Ok(Json(app.get_number(&id)?))
}

async fn patch_number(
    State(app): State<Control>,
    Path(id): Path<String>,
    ControlJson(patch): ControlJson<super::NumberPatch>,
) -> Answer<super::NumberView> {
    Ok(Json(app.patch_number(&id, patch)?))
}

async fn delete_number(State(app): State<Control>, Path(id): Path<String>) -> Answer {
    app.delete_number(&id)?;
    Ok(Json(json!({"deleted": id})))
}

#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsQuery {
    operation: Option<Operation>,
}

async fn get_limits(
    State(app): State<Control>,
    Path(id): Path<String>,
) -> Answer<super::LimitsView> {
    Ok(Json(app.limits(&id)?))
}

async fn clear_limits(
    State(app): State<Control>,
    Path(id): Path<String>,
    uri: Uri,
) -> Answer<super::LimitsView> {
    let query: LimitsQuery = query(&uri)?;
    Ok(Json(app.clear_limits(&id, query.operation)?))
}

async fn list_wabas(State(app): State<Control>) -> Json<Value> {
    Json(json!({"data": app.list_wabas()}))
}

async fn create_waba(
    State(app): State<Control>,
    ControlJson(waba): ControlJson<Value>,
) -> Result<(StatusCode, Json<crate::fixtures::WabaFixture>), ControlError> {
    let mut waba = waba;
    if let Some(object) = waba.as_object_mut() {
        object.entry("id").or_insert(Value::String(String::new()));
    }
    let waba = serde_json::from_value(waba)
        .map_err(|error| ControlError::invalid(format!("invalid WABA: {error}")))?;
    Ok((StatusCode::CREATED, Json(app.create_waba(waba)?)))
}

async fn patch_waba(
    State(app): State<Control>,
    Path(id): Path<String>,
    ControlJson(patch): ControlJson<super::WabaPatch>,
) -> Answer<crate::fixtures::WabaFixture> {
    Ok(Json(app.patch_waba(&id, patch)?))
}

async fn delete_waba(State(app): State<Control>, Path(id): Path<String>) -> Answer {
    app.delete_waba(&id)?;
    Ok(Json(json!({"deleted": id})))
}

async fn list_tokens(State(app): State<Control>) -> Json<Value> {
    Json(json!({"data": app.list_tokens()}))
}

async fn create_token(
    State(app): State<Control>,
    ControlJson(token): ControlJson<crate::fixtures::TokenFixture>,
) -> Result<(StatusCode, Json<crate::fixtures::TokenFixture>), ControlError> {
    Ok((StatusCode::CREATED, Json(app.create_token(token)?)))
}

async fn patch_token(
    State(app): State<Control>,
    Path(value): Path<String>,
    ControlJson(patch): ControlJson<super::TokenPatch>,
) -> Answer<crate::fixtures::TokenFixture> {
    Ok(Json(app.patch_token(&value, patch)?))
}

async fn delete_token(State(app): State<Control>, Path(value): Path<String>) -> Answer {
    app.delete_token(&value)?;
    Ok(Json(json!({"deleted": true})))
}

async fn get_clock(State(app): State<Control>) -> Json<super::ClockView> {
    Json(app.clock_view())
}

async fn change_clock(
    State(app): State<Control>,
    ControlJson(change): ControlJson<super::ClockChange>,
) -> Answer<super::ClockView> {
    Ok(Json(app.change_clock(change)?))
}

async fn get_journal(State(app): State<Control>, uri: Uri) -> Answer {
    let filter: JournalFilter = query(&uri)?;
    Ok(Json(json!({
        "capacity": app.state().journal().capacity(),
        "data": app.journal(&filter),
    })))
}

async fn get_journal_counts(
    State(app): State<Control>,
    uri: Uri,
) -> Answer<crate::state::JournalCounts> {
    let filter: JournalFilter = query(&uri)?;
    Ok(Json(app.journal_counts(&filter)))
}

async fn get_connections(State(app): State<Control>) -> Json<crate::state::GaugeView> {
    Json(app.connections())
}

async fn clear_journal(State(app): State<Control>) -> Json<Value> {
    app.clear_journal();
    Json(json!({"cleared": true}))
}

async fn list_faults(State(app): State<Control>) -> Json<Value> {
    Json(json!({"data": app.faults()}))
}

async fn arm_fault(
    State(app): State<Control>,
    ControlJson(spec): ControlJson<FaultSpec>,
) -> Result<(StatusCode, Json<Fault>), ControlError> {
    Ok((StatusCode::CREATED, Json(app.arm_fault(spec)?)))
}

async fn clear_faults(State(app): State<Control>) -> Json<Value> {
    app.clear_faults();
    Json(json!({"cleared": true}))
}

async fn remove_fault(State(app): State<Control>, Path(id): Path<String>) -> Answer {
    let id: u64 = id
        .parse()
        .map_err(|_| ControlError::invalid("fault ids are numbers"))?;
    app.remove_fault(id)?;
    Ok(Json(json!({"deleted": id})))
}

async fn list_apps(State(app): State<Control>) -> Json<Value> {
    Json(json!({"data": app.list_apps()}))
}

async fn create_app(
    State(app): State<Control>,
    ControlJson(request): ControlJson<crate::fixtures::AppFixture>,
) -> Result<(StatusCode, Json<crate::fixtures::AppFixture>), ControlError> {
    Ok((StatusCode::CREATED, Json(app.create_app(request)?)))
}

async fn embedded_signup(
    State(app): State<Control>,
    ControlJson(request): ControlJson<super::SignupRequest>,
) -> Result<(StatusCode, Json<super::SignupView>), ControlError> {
    let view = off_runtime(&app, move |app| app.embedded_signup(request)).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn apply_preset(
    State(app): State<Control>,
    Path(id): Path<String>,
    ControlJson(request): ControlJson<super::PresetRequest>,
) -> Answer<super::NumberView> {
    Ok(Json(app.apply_preset(&id, request)?))
}

async fn decide_name_review(
    State(app): State<Control>,
    Path(id): Path<String>,
    ControlJson(request): ControlJson<super::NameReviewRequest>,
) -> Answer<super::NameReviewView> {
    Ok(Json(app.decide_name_review(&id, request)?))
}

async fn set_app_webhook(
    State(app): State<Control>,
    Path(id): Path<String>,
    ControlJson(request): ControlJson<super::AppWebhookRequest>,
) -> Answer<crate::fixtures::AppFixture> {
    Ok(Json(app.set_app_webhook(&id, request).await?))
}

async fn remove_app_webhook(
    State(app): State<Control>,
    Path(id): Path<String>,
) -> Result<StatusCode, ControlError> {
    app.remove_app_webhook(&id)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn inbound_message(
    State(app): State<Control>,
    Path(id): Path<String>,
    ControlJson(request): ControlJson<super::InboundRequest>,
) -> Answer<super::EmittedView> {
    Ok(Json(app.inbound_message(&id, request)?))
}

async fn business_app_event(
    State(app): State<Control>,
    Path(id): Path<String>,
    ControlJson(request): ControlJson<super::BusinessAppRequest>,
) -> Answer<super::EmittedView> {
    Ok(Json(app.business_app_event(&id, request)?))
}

async fn partner_event(
    State(app): State<Control>,
    Path(id): Path<String>,
    ControlJson(request): ControlJson<super::PartnerEventRequest>,
) -> Answer<super::EmittedView> {
    Ok(Json(app.partner_event(&id, request)?))
}

async fn emit_event(
    State(app): State<Control>,
    ControlJson(request): ControlJson<super::EmitRequest>,
) -> Answer<super::EmittedView> {
    Ok(Json(app.emit_event(request)?))
}

async fn list_deliveries(State(app): State<Control>, uri: Uri) -> Answer {
    let filter: crate::webhooks::DeliveryFilter = query(&uri)?;
    Ok(Json(json!({"data": app.deliveries(&filter)})))
}

async fn clear_deliveries(State(app): State<Control>) -> StatusCode {
    app.clear_deliveries();
    StatusCode::NO_CONTENT
}

async fn redeliver(
    State(app): State<Control>,
    Path(id): Path<String>,
) -> Answer<crate::webhooks::DeliveryRecord> {
    let id = id
        .parse::<u64>()
        .map_err(|_| ControlError::not_found(format!("no delivery {id}")))?;
    Ok(Json(app.redeliver(id)?))
}

async fn list_delivery_faults(State(app): State<Control>) -> Json<Value> {
    Json(json!({"data": app.delivery_faults()}))
}

async fn arm_delivery_fault(
    State(app): State<Control>,
    ControlJson(spec): ControlJson<crate::webhooks::DeliveryFaultSpec>,
) -> Result<(StatusCode, Json<crate::webhooks::ArmedDeliveryFault>), ControlError> {
    Ok((StatusCode::CREATED, Json(app.arm_delivery_fault(spec)?)))
}

async fn clear_delivery_faults(State(app): State<Control>) -> StatusCode {
    app.clear_delivery_faults();
    StatusCode::NO_CONTENT
}

async fn remove_delivery_fault(
    State(app): State<Control>,
    Path(id): Path<String>,
) -> Result<StatusCode, ControlError> {
    let id = id
        .parse::<u64>()
        .map_err(|_| ControlError::not_found(format!("no delivery fault {id}")))?;
    app.remove_delivery_fault(id)?;
    Ok(StatusCode::NO_CONTENT)
}

async fn create_namespace(
    State(app): State<Control>,
    ControlJson(request): ControlJson<super::NamespaceRequest>,
) -> Result<(StatusCode, Json<super::NamespaceView>), ControlError> {
    let view = off_runtime(&app, move |app| app.create_namespace(request)).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

async fn reset_namespace(
    State(app): State<Control>,
    Path(id): Path<String>,
) -> Answer<super::NamespaceView> {
    Ok(Json(app.reset_namespace(&id)?))
}

async fn get_namespace_clock(
    State(app): State<Control>,
    Path(id): Path<String>,
) -> Answer<super::NamespaceClockView> {
    Ok(Json(app.namespace_clock(&id)?))
}

async fn change_namespace_clock(
    State(app): State<Control>,
    Path(id): Path<String>,
    ControlJson(change): ControlJson<super::ClockChange>,
) -> Answer<super::NamespaceClockView> {
    Ok(Json(app.change_namespace_clock(&id, change)?))
}

async fn delete_namespace(State(app): State<Control>, Path(id): Path<String>) -> Answer {
    app.delete_namespace(&id)?;
    Ok(Json(json!({"deleted": id})))
}
