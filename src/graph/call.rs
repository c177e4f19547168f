//! One authenticated call on a node, and what it answers: the context every endpoint module
//! (`lifecycle`, `read`, `messages`, and registration in `handler`) adds its methods to.

use axum::http::{HeaderMap, Method, Uri};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use compact_str::CompactString;

use super::error::GraphError;
use super::version::GraphVersion;
use crate::domain::{
    BudgetUsage, PERMISSION_MANAGEMENT, PERMISSION_MESSAGING, Params, PhoneNumber, Principal, Waba,
};
use crate::state::{AppState, NumberMut, WorldGuard};

/// What the lifecycle and read endpoints need: Meta asks for `whatsapp_business_management`.
pub(crate) const MANAGEMENT: [&str; 1] = [PERMISSION_MANAGEMENT];

/// Both WhatsApp permissions: register and deregister (registration page) and setting the
/// two-step PIN (two-step verification page).
pub(crate) const MANAGEMENT_AND_MESSAGING: [&str; 2] =
    [PERMISSION_MANAGEMENT, PERMISSION_MESSAGING];

/// A successful answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `{"success":true}`.
    Success,
    /// Any other JSON body, already serialised (so the field order is the one written).
    Json(Bytes),
}

impl Reply {
    /// A body serialised from `value` (plain structs and `json!` values cannot fail).
    pub fn json(value: &impl serde::Serialize) -> Self {
        Self::Json(serde_json::to_vec(value).unwrap_or_default().into())
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
    /// `suppress_http_code=1`: an error is answered with HTTP 200.
    pub suppress_http_code: bool,
    /// The WABA budget this call counted against, for `x-business-use-case-usage`.
    pub usage: Option<BudgetUsage>,
}

/// One authenticated call on a node, with the world held for its whole run.
pub(crate) struct Call<'a> {
    pub(crate) app: &'a AppState,
    pub(crate) world: &'a WorldGuard<'a>,
    pub(crate) principal: &'a Principal,
    pub(crate) method: &'a Method,
    pub(crate) node: &'a str,
    pub(crate) version: &'static GraphVersion,
    pub(crate) params: &'a Params,
    pub(crate) body_outcome: &'a Result<(), GraphError>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) uri: &'a Uri,
    pub(crate) headers: &'a HeaderMap,
    /// Set by a call that counted against a WABA's budget.
    pub(crate) usage: std::cell::Cell<Option<BudgetUsage>>,
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

impl Call<'_> {
    fn unknown_object(&self) -> GraphError {
        GraphError::unknown_object(self.method.as_str(), self.node)
    }

    /// The scope, permission and body checks every endpoint shares, on an object of
    /// `object_waba` (a number's WABA, or the WABA itself).
    pub(crate) fn admit_to(
        &self,
        object_waba: &str,
        required: &[&str],
        waba_id: &mut Option<CompactString>,
    ) -> Result<(), GraphError> {
        authorize(
            self.principal,
            self.method.as_str(),
            self.node,
            object_waba,
            required,
            waba_id,
        )?;
        self.body_outcome.clone()
    }

    /// Runs `f` on the node's number under its lock after the shared checks; the number is
    /// queued for the store once `f` changes it (see [`NumberMut`]).
    pub(crate) fn update_number<R>(
        &self,
        required: &[&str],
        waba_id: &mut Option<CompactString>,
        f: impl FnOnce(&mut NumberMut<'_>) -> Result<R, GraphError>,
    ) -> Result<R, GraphError> {
        self.world
            .update_number(self.node, |number| {
                self.admit_to(&number.waba_id, required, waba_id)?;
                f(number)
            })
            .unwrap_or_else(|| Err(self.unknown_object()))
    }

    /// Runs `f` on the node's number under its lock after the shared checks, queuing nothing
    /// (a read).
    pub(crate) fn read_number<R>(
        &self,
        required: &[&str],
        waba_id: &mut Option<CompactString>,
        f: impl FnOnce(&PhoneNumber) -> Result<R, GraphError>,
    ) -> Result<R, GraphError> {
        self.world
            .read_number(self.node, |number| {
                self.admit_to(&number.waba_id, required, waba_id)?;
                f(number)
            })
            .unwrap_or_else(|| Err(self.unknown_object()))
    }

    /// The node's WABA after the scope, permission and body checks.
    pub(crate) fn waba(&self, waba_id: &mut Option<CompactString>) -> Result<Waba, GraphError> {
        let waba = self
            .world
            .waba(self.node)
            .ok_or_else(|| self.unknown_object())?;
        authorize(
            self.principal,
            self.method.as_str(),
            self.node,
            &waba.id,
            &MANAGEMENT,
            waba_id,
        )?;
        self.body_outcome.clone()?;
        Ok(waba)
    }
}
