"""A small typed client of the emulator's control API (``/__emulator/``), on urllib only."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from datetime import datetime, timedelta
from typing import Any, Dict, List, Mapping, Optional, Sequence, Union, cast

from ._errors import ControlError
from ._types import (
    AppView,
    BusinessAppEvent,
    ClockView,
    ConnectionsView,
    DeliveryFault,
    DeliveryFaultKind,
    DeliveryState,
    EmittedView,
    Fault,
    FaultAnswer,
    FixtureDocument,
    GranularScopes,
    JournalCounts,
    JournalEntry,
    LimitsView,
    NameDecision,
    NameReviewView,
    NamespaceClockView,
    NamespaceView,
    NumberOnboardingView,
    NumberView,
    Preset,
    SignupFinish,
    SignupStep,
    SignupView,
    WebhookDelivery,
    PartnerEventName,
)

__all__ = ["PREFIX", "ControlClient", "format_instant"]

PREFIX = "/__emulator"

# Requests go to the emulator directly: proxies from the environment (http_proxy, ...) would
# only get in the way of a loopback or container address.
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def format_instant(instant: Union[datetime, str]) -> str:
    """An RFC 3339 text for ``instant``; a naive datetime is refused (its zone is unknown)."""
    if isinstance(instant, str):
        return instant
    if instant.tzinfo is None or instant.utcoffset() is None:
        raise ValueError("use a timezone-aware datetime (e.g. datetime(..., tzinfo=timezone.utc))")
    return instant.isoformat()


def _duration(by: Union[str, float, timedelta]) -> Union[str, float]:
    if isinstance(by, timedelta):
        return by.total_seconds()
    if isinstance(by, bool):
        raise TypeError("a duration is a string such as '72h' or a number of seconds")
    return by


class ControlClient:
    """The control API of one emulator.

    Every method maps to one route of ``/__emulator/`` (see the emulator's OpenAPI document) and
    returns the decoded JSON answer. A failure raises :class:`ControlError` with the
    ``emulator_error`` fields (``status``, ``kind``, ``message``).

    ``admin_token`` is needed when the emulator was started with ``--admin-token`` (always the
    case for a container listening on ``0.0.0.0``); it is sent as a bearer token and never shown
    in ``repr``.
    """

    def __init__(self, base_url: str, *, admin_token: Optional[str] = None, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._admin_token = admin_token
        self.timeout = timeout

    def __repr__(self) -> str:
        auth = ", admin_token=<hidden>" if self._admin_token else ""
        return f"ControlClient({self.base_url!r}{auth})"

    # ---- transport -------------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        body: Optional[Any] = None,
    ) -> Any:
        """Sends one control request (``path`` below ``/__emulator``) and decodes the answer."""
        url = f"{self.base_url}{PREFIX}{path}"
        if query:
            pairs = {key: _query_value(value) for key, value in query.items() if value is not None}
            if pairs:
                url = f"{url}?{urllib.parse.urlencode(pairs)}"
        headers = {"Accept": "application/json"}
        data: Optional[bytes] = None
        if body is not None:
            data = json.dumps(body).encode("utf-8")
            headers["Content-Type"] = "application/json"
        if self._admin_token:
            headers["Authorization"] = f"Bearer {self._admin_token}"
        request = urllib.request.Request(url, data=data, headers=headers, method=method)
        try:
            with _OPENER.open(request, timeout=self.timeout) as response:
                raw = response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            raw = error.read()
            status = error.code
            error.close()
            raise _control_error(status, raw, method, path) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise ControlError(0, "unreachable", f"{self.base_url}: {reason}", method=method, path=path) from error
        if not raw:
            return None
        try:
            return json.loads(raw)
        except ValueError:
            raise ControlError(status, "unexpected_response", _excerpt(raw), method=method, path=path) from None

    # ---- health ----------------------------------------------------------------------------

    def health(self) -> Dict[str, Any]:
        """``GET /health``: ``{"status": "ok"}`` (always open, no admin token needed)."""
        return cast(Dict[str, Any], self.request("GET", "/health"))

    def ready(self) -> Dict[str, Any]:
        """``GET /ready``: ``{"status": "ready", "numbers": N}``."""
        return cast(Dict[str, Any], self.request("GET", "/ready"))

    def openapi(self) -> Dict[str, Any]:
        """``GET /openapi.json``: the OpenAPI document of the Graph endpoints and this API."""
        return cast(Dict[str, Any], self.request("GET", "/openapi.json"))

    # ---- whole state -----------------------------------------------------------------------

    def reset(self) -> None:
        """``POST /reset``: back to the loaded fixtures (numbers, tokens, limiter logs,
        journal, faults, namespaces; not the clock)."""
        self.request("POST", "/reset")

    def export_state(self) -> FixtureDocument:
        """``GET /state``: the whole state as a fixture document (PINs included)."""
        return cast(FixtureDocument, self.request("GET", "/state"))

    def import_state(self, document: Mapping[str, Any]) -> Dict[str, Any]:
        """``PUT /state``: replaces the whole state with a fixture document."""
        return cast(Dict[str, Any], self.request("PUT", "/state", body=dict(document)))

    # ---- numbers ---------------------------------------------------------------------------

    def numbers(self, waba_id: Optional[str] = None) -> List[NumberView]:
        """``GET /numbers``: every number (of one WABA) with its internal fields."""
        answer = self.request("GET", "/numbers", query={"waba_id": waba_id})
        return cast(List[NumberView], answer["data"])

    def number(self, number_id: str) -> NumberView:
        """``GET /numbers/{id}``."""
        return cast(NumberView, self.request("GET", f"/numbers/{_segment(number_id)}"))

    def create_number(self, waba_id: str, **fields: Any) -> NumberView:
        """``POST /numbers``: adds a number (fixture fields; a fresh id unless ``id=`` is given)."""
        return cast(NumberView, self.request("POST", "/numbers", body={"waba_id": waba_id, **fields}))

    def patch_number(self, number_id: str, **changes: Any) -> NumberView:
        """``PATCH /numbers/{id}``: ``registered=``, ``pin=`` (``None`` turns two-step off),
        ``code_verification_status=``, ``data_localization_region=``, ``coexistence=``,
        ``verified_name=``, ``display_phone_number=``."""
        return cast(NumberView, self.request("PATCH", f"/numbers/{_segment(number_id)}", body=changes))

    def delete_number(self, number_id: str) -> None:
        """``DELETE /numbers/{id}``."""
        self.request("DELETE", f"/numbers/{_segment(number_id)}")

    def limits(self, number_id: str) -> LimitsView:
        """``GET /numbers/{id}/limits``: the register and deregister windows."""
        return cast(LimitsView, self.request("GET", f"/numbers/{_segment(number_id)}/limits"))

    def clear_limits(self, number_id: str, operation: Optional[str] = None) -> LimitsView:
        """``DELETE /numbers/{id}/limits``: forgets the counted requests and blocks
        (of ``operation`` only: ``"register"`` or ``"deregister"``)."""
        path = f"/numbers/{_segment(number_id)}/limits"
        return cast(LimitsView, self.request("DELETE", path, query={"operation": operation}))

    def wabas(self) -> List[Dict[str, Any]]:
        """``GET /wabas``."""
        return cast(List[Dict[str, Any]], self.request("GET", "/wabas")["data"])

    def tokens(self) -> List[Dict[str, Any]]:
        """``GET /tokens``."""
        return cast(List[Dict[str, Any]], self.request("GET", "/tokens")["data"])

    # ---- partner onboarding ----------------------------------------------------------------

    def apps(self) -> List[AppView]:
        """``GET /apps``: the partner apps, secrets included (the first one is the app of
        tokens that name none)."""
        return cast(List[AppView], self.request("GET", "/apps")["data"])

    def create_app(
        self, app_id: str, secret: str, *, name: str = "", webhook: Optional[Mapping[str, Any]] = None
    ) -> AppView:
        """``POST /apps``: adds a partner app (a second partner, for instance); its id must be new."""
        body: Dict[str, Any] = {"id": app_id, "secret": secret, "name": name}
        if webhook is not None:
            body["webhook"] = dict(webhook)
        return cast(AppView, self.request("POST", "/apps", body=body))

    def app_token(self, app_id: Optional[str] = None) -> str:
        """The app access token ``APP_ID|APP_SECRET`` of ``app_id`` (default: the first app),
        as ``debug_token`` and ``oauth/access_token?grant_type=client_credentials`` take it."""
        apps = self.apps()
        app = next((a for a in apps if app_id is None or a["id"] == app_id), None)
        if app is None:
            wanted = f"app {app_id}" if app_id is not None else "a partner app"
            raise ControlError(404, "not_found", f"the emulator has no {wanted}: declare it under apps in the fixtures")
        return f"{app['id']}|{app['secret']}"

    def embedded_signup(
        self,
        *,
        app_id: Optional[str] = None,
        preset: Optional[Preset] = None,
        finish: Optional[SignupFinish] = None,
        current_step: Optional[SignupStep] = None,
        error_code: Optional[str] = None,
        error_message: Optional[str] = None,
        display_phone_number: Optional[str] = None,
        verified_name: Optional[str] = None,
        waba_name: Optional[str] = None,
        granular_scopes: Optional[GranularScopes] = None,
    ) -> SignupView:
        """``POST /embedded-signup``: what a customer's Embedded Signup creates (a business, a
        WABA and, for ``FINISH``, a number in ``preset``) and what the popup hands the page: an
        authorization code for ``app_id`` (exchange it within 30 seconds) and the session-info
        message. ``CANCEL`` (with ``current_step``) and ``ERROR`` create nothing."""
        fields: Dict[str, Any] = {
            "app_id": app_id,
            "preset": preset,
            "finish": finish,
            "current_step": current_step,
            "error_code": error_code,
            "error_message": error_message,
            "display_phone_number": display_phone_number,
            "verified_name": verified_name,
            "waba_name": waba_name,
            "granular_scopes": granular_scopes,
        }
        body = {key: value for key, value in fields.items() if value is not None}
        return cast(SignupView, self.request("POST", "/embedded-signup", body=body))

    def apply_preset(self, number_id: str, preset: Preset) -> NumberOnboardingView:
        """``POST /numbers/{id}/preset``: puts a number in an onboarding state (``ready``
        releases it from any other)."""
        path = f"/numbers/{_segment(number_id)}/preset"
        return cast(NumberOnboardingView, self.request("POST", path, body={"preset": preset}))

    def decide_name_review(self, number_id: str, decision: NameDecision) -> NameReviewView:
        """``POST /numbers/{id}/name-review``: approves or rejects the pending display-name
        review (a requested ``new_display_name``, else a name in ``PENDING_REVIEW``); a
        :class:`ControlError` of kind ``conflict`` when none is pending."""
        path = f"/numbers/{_segment(number_id)}/name-review"
        return cast(NameReviewView, self.request("POST", path, body={"decision": decision}))

    # ---- webhooks --------------------------------------------------------------------------

    def set_app_webhook(
        self,
        app_id: str,
        callback_url: str,
        verify_token: str,
        *,
        fields: Optional[Sequence[str]] = None,
    ) -> AppView:
        """``PUT /apps/{id}/webhook``: sets the app's callback as the App Dashboard does. The
        emulator runs the ``hub.challenge`` handshake first; a callback that does not echo the
        challenge is a :class:`ControlError` of kind ``conflict`` naming Meta's ``#2200``
        detail. ``fields`` defaults to the common ``whatsapp_business_account`` fields."""
        body: Dict[str, Any] = {"callback_url": callback_url, "verify_token": verify_token}
        if fields is not None:
            body["fields"] = list(fields)
        return cast(AppView, self.request("PUT", f"/apps/{_segment(app_id)}/webhook", body=body))

    def remove_app_webhook(self, app_id: str) -> None:
        """``DELETE /apps/{id}/webhook``: nothing is delivered to the app's callback any more."""
        self.request("DELETE", f"/apps/{_segment(app_id)}/webhook")

    def inbound_message(
        self, number_id: str, from_: str, text: str, *, name: Optional[str] = None
    ) -> EmittedView:
        """``POST /numbers/{id}/inbound``: the customer ``from_`` writes ``text`` to the number
        (profile ``name``, default ``Customer <last four digits>``): a ``messages`` webhook to
        the subscribed apps. An unregistered number receives nothing (no deliveries)."""
        body: Dict[str, Any] = {"from": from_, "text": text}
        if name is not None:
            body["name"] = name
        return cast(EmittedView, self.request("POST", f"/numbers/{_segment(number_id)}/inbound", body=body))

    def business_app_event(self, number_id: str, event: BusinessAppEvent) -> EmittedView:
        """``POST /numbers/{id}/business-app``: a coexistence number's WhatsApp Business app is
        offboarded or reconnected (``account_update`` to the subscribed apps)."""
        path = f"/numbers/{_segment(number_id)}/business-app"
        return cast(EmittedView, self.request("POST", path, body={"event": event}))

    def partner_event(
        self, waba_id: str, event: PartnerEventName, *, app_id: Optional[str] = None
    ) -> EmittedView:
        """``POST /wabas/{id}/partner-event``: the partner (``PARTNER_REMOVED``) or its app
        (``PARTNER_APP_UNINSTALLED``) leaves the WABA; the app (default: the first) is told at
        its callback, then unsubscribed."""
        body: Dict[str, Any] = {"event": event}
        if app_id is not None:
            body["app_id"] = app_id
        return cast(EmittedView, self.request("POST", f"/wabas/{_segment(waba_id)}/partner-event", body=body))

    def emit_webhook(
        self,
        field: str,
        waba_id: str,
        value: Mapping[str, Any],
        *,
        number_id: Optional[str] = None,
        entry_id: Optional[str] = None,
    ) -> EmittedView:
        """``POST /webhooks/emit``: any documented ``whatsapp_business_account`` field with
        this ``value``, routed like the state's own events (``number_id`` picks the number's
        override; ``entry_id`` defaults to the WABA)."""
        body: Dict[str, Any] = {"field": field, "waba_id": waba_id, "value": dict(value)}
        if number_id is not None:
            body["number_id"] = number_id
        if entry_id is not None:
            body["entry_id"] = entry_id
        return cast(EmittedView, self.request("POST", "/webhooks/emit", body=body))

    def deliveries(
        self,
        *,
        app_id: Optional[str] = None,
        field: Optional[str] = None,
        number_id: Optional[str] = None,
        waba_id: Optional[str] = None,
        state: Optional[DeliveryState] = None,
        since: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> List[WebhookDelivery]:
        """``GET /webhooks/deliveries``: the delivery log, oldest first, with each attempt, the
        exact body and the signature (``since``: ids above it; ``limit``: the newest)."""
        query = {
            "app_id": app_id,
            "field": field,
            "number_id": number_id,
            "waba_id": waba_id,
            "state": state,
            "since": since,
            "limit": limit,
        }
        return cast(List[WebhookDelivery], self.request("GET", "/webhooks/deliveries", query=query)["data"])

    def clear_deliveries(self) -> None:
        """``DELETE /webhooks/deliveries``: forgets the log (queued deliveries are cancelled)."""
        self.request("DELETE", "/webhooks/deliveries")

    def redeliver(self, delivery_id: int) -> WebhookDelivery:
        """``POST /webhooks/deliveries/{id}/redeliver``: sends the same bytes again (a
        ``conflict`` while the delivery is still pending or retrying)."""
        path = f"/webhooks/deliveries/{int(delivery_id)}/redeliver"
        return cast(WebhookDelivery, self.request("POST", path))

    def arm_delivery_fault(
        self,
        kind: DeliveryFaultKind,
        *,
        delay_ms: Optional[int] = None,
        field: Optional[str] = None,
        app_id: Optional[str] = None,
        number_id: Optional[str] = None,
        count: Optional[int] = None,
    ) -> DeliveryFault:
        """``POST /webhooks/faults``: the next ``count`` matching deliveries (all, without
        ``count``) misbehave: ``duplicate``, ``reorder``, ``delay`` (``delay_ms``), ``drop`` or
        ``retry_after_ack``."""
        spec: Dict[str, Any] = {
            "kind": kind,
            "delay_ms": delay_ms,
            "field": field,
            "app_id": app_id,
            "number_id": number_id,
            "count": count,
        }
        body = {key: value for key, value in spec.items() if value is not None}
        return cast(DeliveryFault, self.request("POST", "/webhooks/faults", body=body))

    def delivery_faults(self) -> List[DeliveryFault]:
        """``GET /webhooks/faults``: the armed delivery faults."""
        return cast(List[DeliveryFault], self.request("GET", "/webhooks/faults")["data"])

    def remove_delivery_fault(self, fault_id: int) -> None:
        """``DELETE /webhooks/faults/{id}``."""
        self.request("DELETE", f"/webhooks/faults/{int(fault_id)}")

    def clear_delivery_faults(self) -> None:
        """``DELETE /webhooks/faults``."""
        self.request("DELETE", "/webhooks/faults")

    # ---- clock -----------------------------------------------------------------------------

    def clock(self) -> ClockView:
        """``GET /clock``: ``now``, ``mode`` (``system`` or ``manual``) and ``offset_ms``."""
        return cast(ClockView, self.request("GET", "/clock"))

    def set_clock(self, instant: Union[datetime, str]) -> ClockView:
        """``POST /clock {"set": ...}``: moves the clock to ``instant`` (aware datetime or
        RFC 3339 text)."""
        return cast(ClockView, self.request("POST", "/clock", body={"set": format_instant(instant)}))

    def advance_clock(self, by: Union[str, float, timedelta]) -> ClockView:
        """``POST /clock {"advance": ...}``: ``"72h"``, ``"90m"``, ``"1h30m"``, seconds or a
        :class:`~datetime.timedelta`."""
        return cast(ClockView, self.request("POST", "/clock", body={"advance": _duration(by)}))

    # ---- journal ---------------------------------------------------------------------------

    def journal(
        self,
        *,
        number: Optional[str] = None,
        operation: Optional[str] = None,
        since: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> List[JournalEntry]:
        """``GET /journal``: the Graph requests received, oldest first (token and PINs masked)."""
        query = {"number": number, "operation": operation, "since": since, "limit": limit}
        return cast(List[JournalEntry], self.request("GET", "/journal", query=query)["data"])

    def journal_counts(
        self,
        *,
        number: Optional[str] = None,
        operation: Optional[str] = None,
        since: Optional[int] = None,
        limit: Optional[int] = None,
    ) -> JournalCounts:
        """``GET /journal/counts``: how many journaled requests ran against the state
        (``applied``), succeeded, were faulted, and what their clients got (``answered``,
        ``dropped``, ``reset``, ``hung``, ``abandoned``)."""
        query = {"number": number, "operation": operation, "since": since, "limit": limit}
        return cast(JournalCounts, self.request("GET", "/journal/counts", query=query))

    def connections(self) -> ConnectionsView:
        """``GET /connections``: open connections and requests held by ``hang`` faults."""
        return cast(ConnectionsView, self.request("GET", "/connections"))

    def clear_journal(self) -> None:
        """``DELETE /journal``."""
        self.request("DELETE", "/journal")

    # ---- faults ----------------------------------------------------------------------------

    def arm_fault(
        self,
        *,
        error_code: Optional[int] = None,
        latency_ms: Optional[int] = None,
        count: Optional[int] = None,
        number: Optional[str] = None,
        operation: Optional[str] = None,
        apply: Optional[bool] = None,
        answer: Optional[FaultAnswer] = None,
        delay_ms: Optional[int] = None,
        http_status: Optional[int] = None,
        probability: Optional[float] = None,
        seed: Optional[int] = None,
        from_: Optional[Union[datetime, str]] = None,
        until: Optional[Union[datetime, str]] = None,
    ) -> Fault:
        """``POST /faults``: the next ``count`` matching Graph requests (all, without
        ``count``) wait ``latency_ms``, run against the state when ``apply`` is true, wait
        ``delay_ms``, then give the client ``answer``: ``"normal"``, ``"error"`` (Graph error
        ``error_code``, optionally with ``http_status``), ``"drop"``, ``"reset"`` or ``"hang"``.
        ``probability`` (with ``seed`` to replay a run) and the window ``from_``/``until`` (on
        the clock of the request's number) choose which requests."""
        spec: Dict[str, Any] = {
            "error_code": error_code,
            "latency_ms": latency_ms,
            "count": count,
            "number": number,
            "operation": operation,
            "apply": apply,
            "answer": answer,
            "delay_ms": delay_ms,
            "http_status": http_status,
            "probability": probability,
            "seed": seed,
            "from": format_instant(from_) if from_ is not None else None,
            "until": format_instant(until) if until is not None else None,
        }
        body = {key: value for key, value in spec.items() if value is not None}
        return cast(Fault, self.request("POST", "/faults", body=body))

    def faults(self) -> List[Fault]:
        """``GET /faults``: the armed faults."""
        return cast(List[Fault], self.request("GET", "/faults")["data"])

    def remove_fault(self, fault_id: int) -> None:
        """``DELETE /faults/{id}``."""
        self.request("DELETE", f"/faults/{int(fault_id)}")

    def clear_faults(self) -> None:
        """``DELETE /faults``."""
        self.request("DELETE", "/faults")

    # ---- namespaces ------------------------------------------------------------------------

    def create_namespace(
        self,
        *,
        template_waba: Optional[str] = None,
        numbers: Optional[Sequence[Mapping[str, Any]]] = None,
    ) -> NamespaceView:
        """``POST /namespaces``: a fresh WABA with copies of a fixture WABA's numbers (the first
        one by default) or of ``numbers``, and a token allowed on it only."""
        body: Dict[str, Any] = {}
        if template_waba is not None:
            body["template_waba"] = template_waba
        if numbers is not None:
            body["numbers"] = [dict(number) for number in numbers]
        return cast(NamespaceView, self.request("POST", "/namespaces", body=body))

    def reset_namespace(self, namespace_id: str) -> NamespaceView:
        """``POST /namespaces/{id}/reset``: the namespace's numbers as they were created."""
        return cast(NamespaceView, self.request("POST", f"/namespaces/{_segment(namespace_id)}/reset"))

    def delete_namespace(self, namespace_id: str) -> None:
        """``DELETE /namespaces/{id}``: removes its WABA, numbers and token."""
        self.request("DELETE", f"/namespaces/{_segment(namespace_id)}")

    def namespace_clock(self, namespace_id: str) -> NamespaceClockView:
        """``GET /namespaces/{id}/clock``: the namespace's clock (``follows_emulator`` until it
        is set or advanced)."""
        return cast(NamespaceClockView, self.request("GET", f"/namespaces/{_segment(namespace_id)}/clock"))

    def set_namespace_clock(self, namespace_id: str, instant: Union[datetime, str]) -> NamespaceClockView:
        """``POST /namespaces/{id}/clock {"set": ...}``: moves only this namespace's clock."""
        return cast(
            NamespaceClockView,
            self.request(
                "POST", f"/namespaces/{_segment(namespace_id)}/clock", body={"set": format_instant(instant)}
            ),
        )

    def advance_namespace_clock(
        self, namespace_id: str, by: Union[str, float, timedelta]
    ) -> NamespaceClockView:
        """``POST /namespaces/{id}/clock {"advance": ...}``: moves only this namespace's clock,
        so parallel tests can each travel in time."""
        return cast(
            NamespaceClockView,
            self.request(
                "POST", f"/namespaces/{_segment(namespace_id)}/clock", body={"advance": _duration(by)}
            ),
        )


def _segment(value: str) -> str:
    return urllib.parse.quote(str(value), safe="")


def _query_value(value: Any) -> str:
    if isinstance(value, datetime):
        return format_instant(value)
    return str(value)


def _excerpt(raw: bytes) -> str:
    text = raw.decode("utf-8", "replace").strip()
    return text if len(text) <= 300 else f"{text[:300]}..."


def _control_error(status: int, raw: bytes, method: str, path: str) -> ControlError:
    try:
        document = json.loads(raw)
    except ValueError:
        document = None
    if isinstance(document, dict) and isinstance(document.get("emulator_error"), dict):
        error = document["emulator_error"]
        return ControlError(
            int(error.get("status", status)),
            str(error.get("kind", "unknown")),
            str(error.get("message", "")),
            method=method,
            path=path,
        )
    return ControlError(status, "unexpected_response", _excerpt(raw), method=method, path=path)
