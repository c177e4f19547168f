"""wa-cloud-emulator for Python: the emulator binary, a typed control client, a pytest plugin.

>>> from wa_cloud_emulator import Emulator
>>> with Emulator() as emulator:                      # doctest: +SKIP
...     emulator.base_url, emulator.token, emulator.phone_number_id, emulator.pin
...     emulator.control.advance_clock("72h")

The pytest plugin (fixtures ``wa_emulator``, ``wa_namespace`` and ``wa_webhook_receiver``) is
registered through the ``pytest11`` entry point; :class:`WebhookReceiver` is a webhook callback
for tests; :mod:`wa_cloud_emulator.testcontainers` runs the container image.
"""

from __future__ import annotations

from ._control import ControlClient
from ._emulator import BINARY_NAME, DEFAULT_PIN, Defaults, Emulator, Namespace, defaults_from_state, find_binary
from ._errors import ControlError, EmulatorError, EmulatorStartError
from ._types import (
    AppView,
    AppWebhookView,
    BusinessAppEvent,
    ClockView,
    ConnectionsView,
    Delivery,
    DeliveryAttempt,
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
    LockoutView,
    NameDecision,
    NameReviewView,
    NamespaceClockView,
    NamespaceView,
    NumberOnboardingView,
    NumberView,
    PartnerEventName,
    Preset,
    SignupFinish,
    SignupStep,
    SignupView,
    WebhookDelivery,
    WindowRequest,
    WindowView,
)
from ._webhooks import (
    SIGNATURE_HEADER,
    ReceivedDelivery,
    ReceivedHandshake,
    WebhookReceiver,
    sign,
    verify_signature,
)

__all__ = [
    "AppView",
    "AppWebhookView",
    "BINARY_NAME",
    "BusinessAppEvent",
    "DEFAULT_PIN",
    "ClockView",
    "ConnectionsView",
    "ControlClient",
    "ControlError",
    "Defaults",
    "Delivery",
    "DeliveryAttempt",
    "DeliveryFault",
    "DeliveryFaultKind",
    "DeliveryState",
    "EmittedView",
    "Emulator",
    "EmulatorError",
    "EmulatorStartError",
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
    "Namespace",
    "NamespaceClockView",
    "NamespaceView",
    "NumberOnboardingView",
    "NumberView",
    "PartnerEventName",
    "Preset",
    "ReceivedDelivery",
    "ReceivedHandshake",
    "SIGNATURE_HEADER",
    "SignupFinish",
    "SignupStep",
    "SignupView",
    "WebhookDelivery",
    "WebhookReceiver",
    "WindowRequest",
    "WindowView",
    "__version__",
    "defaults_from_state",
    "find_binary",
    "sign",
    "verify_signature",
]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("wa-cloud-emulator")
    except Exception:  # a source checkout that is not installed
        return "0+unknown"


__version__ = _version()
