"""Shapes of the control API's JSON documents (see ``/__emulator/openapi.json``).

These are :class:`typing.TypedDict` views of the plain ``dict`` values the client returns, so
type checkers know the keys while the values stay ordinary JSON.
"""

from __future__ import annotations

from typing import Any, Dict, List, Literal, Optional, TypedDict

__all__ = [
    "AppView",
    "AppWebhookView",
    "BusinessAppEvent",
    "DeliveryAttempt",
    "DeliveryFault",
    "DeliveryFaultKind",
    "DeliveryState",
    "EmittedView",
    "PartnerEventName",
    "WebhookDelivery",
    "ClockView",
    "ConnectionsView",
    "Delivery",
    "Fault",
    "FaultAnswer",
    "FixtureDocument",
    "GranularScopes",
    "JournalCounts",
    "JournalEntry",
    "LimitsView",
    "LockoutView",
    "NameDecision",
    "NameReviewView",
    "Outcome",
    "NamespaceView",
    "NumberOnboardingView",
    "NumberView",
    "Preset",
    "SignupFinish",
    "SignupStep",
    "SignupView",
    "WindowRequest",
    "WindowView",
]


class WindowRequest(TypedDict):
    """One counted register or deregister request."""

    at: str
    expires_at: str


class WindowView(TypedDict):
    """One limiter window of a number."""

    limit: int
    window_seconds: int
    used: int
    remaining: int
    requests: List[WindowRequest]
    blocked_until: Optional[str]
    next_slot_at: str


class LimitsView(TypedDict):
    """Both limiter windows of a number."""

    register: WindowView
    deregister: WindowView


class LockoutView(TypedDict):
    """The PIN-guess lockout of a number."""

    consecutive_failures: int
    locked_until: Optional[str]


class NumberView(TypedDict):
    """A number with every internal field (``GET /__emulator/numbers/{id}``)."""

    id: str
    waba_id: str
    display_phone_number: str
    verified_name: str
    code_verification_status: str
    registered: bool
    status: str
    pin_set: bool
    pin_lockout: LockoutView
    data_localization_region: Optional[str]
    coexistence: bool
    rate_limits: LimitsView
    pending_verification: Optional[Dict[str, Any]]
    migration_pending: bool
    name_status: str
    test_number: bool


class NumberOnboardingView(NumberView, total=False):
    """The keys of a number that appear only in some onboarding states."""

    hold: Literal["consumer_account", "other_partner"]
    new_display_name: str
    new_name_status: str


class NamespaceView(TypedDict):
    """A namespace as ``POST /__emulator/namespaces`` answers it."""

    namespace: str
    waba_id: str
    token: str
    numbers: List[NumberView]


class ClockView(TypedDict):
    """The emulator's clock."""

    now: str
    mode: str
    offset_ms: int


class NamespaceClockView(TypedDict):
    """A namespace's clock: it follows the emulator's until it is set or advanced."""

    namespace: str
    now: str
    mode: str
    offset_ms: int
    follows_emulator: bool


FaultAnswer = Literal["normal", "error", "drop", "reset", "hang"]
"""What a faulted request's client gets: its own answer, a Graph error, the connection closed
(HTTP/2: the stream reset), the connection reset (TCP RST), or nothing until it gives up."""

Delivery = Literal["answered", "dropped", "reset", "hung", "abandoned"]
"""What a journaled request's client got (``abandoned``: it left before a delayed answer)."""


class Outcome(TypedDict):
    """What a request's run answered (when it ran), which a fault may have hidden."""

    status: int
    error_code: Optional[int]


class JournalEntry(TypedDict):
    """One Graph request in the journal (token, PINs and codes masked)."""

    seq: int
    at: str
    method: str
    path: str
    version: Optional[str]
    served_version: str
    number: Optional[str]
    operation: Optional[str]
    headers: Dict[str, Any]
    params: Dict[str, Any]
    status: int
    error_code: Optional[int]
    error_message: Optional[str]
    fbtrace_id: str
    response: Any
    clock: str
    applied: bool
    outcome: Optional[Outcome]
    fault_id: Optional[int]
    delivery: Delivery


class JournalCounts(TypedDict):
    """``GET /journal/counts``: journaled requests by what happened to them."""

    requests: int
    applied: int
    succeeded: int
    faulted: int
    answered: int
    dropped: int
    reset: int
    hung: int
    abandoned: int


class ConnectionsView(TypedDict):
    """``GET /connections``: open connections and requests held by ``hang`` faults."""

    open_connections: int
    hung: int


class Fault(TypedDict, total=False):
    """An armed fault: the fields it was armed with, ``apply`` and ``answer`` resolved, a
    ``seed`` chosen when a probability came without one, plus id and remaining."""

    id: int
    error_code: int
    latency_ms: int
    count: int
    number: str
    operation: str
    apply: bool
    answer: FaultAnswer
    delay_ms: int
    http_status: int
    probability: float
    seed: int
    # ``from`` is a Python keyword: read it as ``fault["from"]``.
    until: str
    remaining: Optional[int]


class FixtureDocument(TypedDict, total=False):
    """A fixture document: what ``GET /__emulator/state`` exports and ``PUT`` imports."""

    apps: List[AppView]
    tokens: List[Dict[str, Any]]
    wabas: List[Dict[str, Any]]
    auth_codes: List[Dict[str, Any]]


class _AppRequired(TypedDict):
    id: str
    secret: str
    name: str


class AppView(_AppRequired, total=False):
    """A partner app (``GET /__emulator/apps``), secret included: the app token is
    ``f"{id}|{secret}"``."""

    webhook: "AppWebhookView"


Preset = Literal[
    "ready",
    "name_pending",
    "consumer_account",
    "smb",
    "test_number",
    "verification_expired",
    "other_partner",
]
"""The onboarding states a number can be put in, and what register then answers: ``ready``
(success), ``name_pending`` (100/2388001 until a name review), ``consumer_account``
(100/2388001), ``smb`` (coexistence: register not available), ``test_number`` (success),
``verification_expired`` (133006), ``other_partner`` (100/3441030)."""

SignupFinish = Literal[
    "FINISH",
    "FINISH_ONLY_WABA",
    "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING",
    "CANCEL",
    "ERROR",
]
"""How the Embedded Signup popup ends (``CANCEL`` and ``ERROR`` create nothing)."""

SignupStep = Literal[
    "BUSINESS_ACCOUNT_SELECTION",
    "WABA_PHONE_PROFILE_PICKER",
    "WHATSAPP_BUSINESS_PROFILE_SETUP",
    "PHONE_NUMBER_SETUP",
    "PHONE_NUMBER_VERIFICATION",
    "PERMISSIONS",
]
"""The popup screen a ``CANCEL`` left on."""

GranularScopes = Literal["classic", "2026-06"]
"""The ``granular_scopes`` shape ``debug_token`` answers for a token: Meta's documented one
(with ``target_ids``) or the one seen since June 2026 (no ``target_ids``)."""

NameDecision = Literal["APPROVED", "REJECTED"]
"""A display-name review's outcome."""


class _SignupRequired(TypedDict):
    event: str
    app_id: str
    session_info: Dict[str, Any]
    message: str


class SignupView(_SignupRequired, total=False):
    """What ``POST /__emulator/embedded-signup`` answers: the authorization code (to exchange
    within 30 seconds at ``GET /{version}/oauth/access_token``), the new objects' ids, and the
    popup's session-info message (``message`` is the JSON string it posts). ``CANCEL`` and
    ``ERROR`` carry neither code nor ids; ``FINISH_ONLY_WABA`` has no number."""

    code: str
    code_expires_at: str
    business_id: str
    waba_id: str
    phone_number_id: str


class NameReviewView(TypedDict):
    """The outcome of ``POST /__emulator/numbers/{id}/name-review``."""

    decision: NameDecision
    requested_verified_name: str
    number: NumberOnboardingView



class AppWebhookView(TypedDict, total=False):
    """An app's callback as ``GET /__emulator/apps`` shows it."""

    callback_url: str
    verify_token: str
    fields: List[str]


class EmittedView(TypedDict, total=False):
    """What an event produced: the ids of the deliveries queued (none when no app is
    subscribed or routed) and, for an inbound message, its id."""

    deliveries: List[int]
    message_id: str


DeliveryState = Literal["pending", "retrying", "delivered", "failed", "dropped"]
"""Where a webhook delivery stands."""

DeliveryFaultKind = Literal["duplicate", "reorder", "delay", "drop", "retry_after_ack"]
"""What a delivery fault does: the same bytes twice, held until the next delivery to the same
callback went out, sent ``delay_ms`` late, never sent, or a 200 treated as a failure."""

BusinessAppEvent = Literal["ACCOUNT_OFFBOARDED", "ACCOUNT_RECONNECTED"]
"""A coexistence number's WhatsApp Business app goes away or comes back."""

PartnerEventName = Literal["PARTNER_REMOVED", "PARTNER_APP_UNINSTALLED"]
"""The partner or its app leaves a WABA."""


class DeliveryAttempt(TypedDict):
    """One attempt of a webhook delivery."""

    attempt: int
    at: str
    status: Optional[int]
    error: Optional[str]
    latency_ms: int
    fault: Optional[DeliveryFaultKind]


class WebhookDelivery(TypedDict):
    """A webhook delivery in the log (``GET /__emulator/webhooks/deliveries``): the exact
    ``body`` sent (ASCII: Meta's escaping) and its ``X-Hub-Signature-256`` value."""

    id: int
    state: DeliveryState
    dropped_reason: Optional[str]
    app_id: str
    url: str
    field: str
    number_id: Optional[str]
    waba_id: Optional[str]
    enqueued_at: str
    next_attempt_at: Optional[str]
    body: str
    signature: str
    attempts: List[DeliveryAttempt]
    attempt_count: int


class _DeliveryFaultRequired(TypedDict):
    id: int
    kind: DeliveryFaultKind
    remaining: Optional[int]


class DeliveryFault(_DeliveryFaultRequired, total=False):
    """An armed delivery fault: its spec, id and the matching attempts left (``None``:
    until removed)."""

    delay_ms: int
    field: str
    app_id: str
    number_id: str
    count: int
