"""wa-cloud-emulator for Python: the emulator binary, a typed control client, a pytest plugin.

>>> from wa_cloud_emulator import Emulator
>>> with Emulator() as emulator:                      # doctest: +SKIP
...     emulator.base_url, emulator.token, emulator.phone_number_id, emulator.pin
...     emulator.control.advance_clock("72h")

The pytest plugin (fixtures ``wa_emulator`` and ``wa_namespace``) is registered through the
``pytest11`` entry point; :mod:`wa_cloud_emulator.testcontainers` runs the container image.
"""

from __future__ import annotations

from ._control import ControlClient
from ._emulator import BINARY_NAME, DEFAULT_PIN, Defaults, Emulator, Namespace, defaults_from_state, find_binary
from ._errors import ControlError, EmulatorError, EmulatorStartError
from ._types import (
    AppView,
    ClockView,
    ConnectionsView,
    Delivery,
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
    Preset,
    SignupFinish,
    SignupStep,
    SignupView,
    WindowRequest,
    WindowView,
)

__all__ = [
    "AppView",
    "BINARY_NAME",
    "DEFAULT_PIN",
    "ClockView",
    "ConnectionsView",
    "ControlClient",
    "ControlError",
    "Defaults",
    "Delivery",
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
    "Preset",
    "SignupFinish",
    "SignupStep",
    "SignupView",
    "WindowRequest",
    "WindowView",
    "__version__",
    "defaults_from_state",
    "find_binary",
]


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("wa-cloud-emulator")
    except Exception:  # a source checkout that is not installed
        return "0+unknown"


__version__ = _version()
