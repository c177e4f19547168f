"""pytest plugin: ``wa_emulator`` (one emulator per session), ``wa_namespace`` (a fresh,
isolated namespace per test) and ``wa_webhook_receiver`` (a webhook callback per test, checking
signatures with the first app's secret). Registered through the ``pytest11`` entry point.

Command-line options (each also an ini option, ``wa_emulator_*``):

``--wa-emulator-fixtures PATH``
    fixture file to load (ini paths are relative to the ini file).
``--wa-emulator-clock {system,manual}`` and ``--wa-emulator-clock-start RFC3339``
    the clock; a start instant alone gives a manual clock.
``--wa-emulator-arg ARG``
    one extra argument for the binary, repeatable: ``--wa-emulator-arg=--rate-limit=3``
    (ini ``wa_emulator_args``: split like a shell line).
``--wa-emulator-binary PATH``
    another binary than the one in the wheel.
``--wa-emulator-url URL``
    use an emulator that already runs (a container, a CI service) instead of starting one; its
    admin token, if any, comes from the ``WA_EMULATOR_ADMIN_TOKEN`` environment variable.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator, List, Optional

import pytest

from ._emulator import Emulator, Namespace
from ._webhooks import WebhookReceiver

ADMIN_TOKEN_ENV = "WA_EMULATOR_ADMIN_TOKEN"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("wa-cloud-emulator", "WhatsApp Cloud API emulator")
    group.addoption("--wa-emulator-fixtures", metavar="PATH", help="fixture file the emulator loads")
    group.addoption(
        "--wa-emulator-clock", choices=["system", "manual"], help="clock of the emulator (default: system)"
    )
    group.addoption(
        "--wa-emulator-clock-start", metavar="RFC3339", help="start instant of the clock (implies manual)"
    )
    group.addoption(
        "--wa-emulator-arg",
        action="append",
        default=[],
        metavar="ARG",
        help="extra argument for the emulator binary (repeatable), e.g. --wa-emulator-arg=--rate-limit=3",
    )
    group.addoption("--wa-emulator-binary", metavar="PATH", help="emulator binary to run")
    group.addoption("--wa-emulator-url", metavar="URL", help="use a running emulator instead of starting one")
    parser.addini("wa_emulator_fixtures", "fixture file the emulator loads (relative to the ini file)")
    parser.addini("wa_emulator_clock", "clock of the emulator: system or manual")
    parser.addini("wa_emulator_clock_start", "start instant of the emulator's clock (RFC 3339)")
    parser.addini("wa_emulator_args", "extra arguments for the emulator binary", type="args")
    parser.addini("wa_emulator_binary", "emulator binary to run (relative to the ini file)")
    parser.addini("wa_emulator_url", "use a running emulator instead of starting one")


def _option(config: pytest.Config, name: str) -> Optional[str]:
    value = config.getoption(f"wa_emulator_{name}")
    if value:
        return str(value)
    from_ini = config.getini(f"wa_emulator_{name}")
    return str(from_ini) if from_ini else None


def _ini_path(config: pytest.Config, name: str) -> Optional[str]:
    value = config.getoption(f"wa_emulator_{name}")
    if value:
        return str(value)
    from_ini = config.getini(f"wa_emulator_{name}")
    if not from_ini:
        return None
    base = Path(config.inipath).parent if config.inipath else Path(config.rootpath)
    return str(base / str(from_ini))


def _args(config: pytest.Config) -> List[str]:
    from_ini = [str(arg) for arg in config.getini("wa_emulator_args")]
    from_cli = [str(arg) for arg in config.getoption("wa_emulator_arg") or []]
    return from_ini + from_cli


@pytest.fixture(scope="session")
def wa_emulator(pytestconfig: pytest.Config) -> Iterator[Emulator]:
    """One emulator for the whole session (per xdist worker), stopped at the end."""
    url = _option(pytestconfig, "url")
    if url:
        emulator = Emulator.attach(url, admin_token=os.environ.get(ADMIN_TOKEN_ENV) or None)
    else:
        emulator = Emulator(
            fixtures=_ini_path(pytestconfig, "fixtures"),
            clock=_option(pytestconfig, "clock"),
            clock_start=_option(pytestconfig, "clock_start"),
            args=_args(pytestconfig),
            binary=_ini_path(pytestconfig, "binary"),
        )
    with emulator:
        yield emulator


@pytest.fixture
def wa_namespace(wa_emulator: Emulator) -> Iterator[Namespace]:
    """A fresh namespace for one test: its own WABA, copies of the first fixture WABA's
    numbers, and a token allowed there only; deleted after the test."""
    with wa_emulator.namespace() as namespace:
        yield namespace


#: The verify token :func:`wa_webhook_receiver` expects in the handshake.
RECEIVER_VERIFY_TOKEN = "verify-me"


@pytest.fixture
def wa_webhook_receiver(wa_emulator: Emulator) -> Iterator[WebhookReceiver]:
    """A webhook callback for one test, on a free loopback port: it answers the handshake for
    the verify token ``"verify-me"``, records every delivery and checks its signature with the
    emulator's first app's secret. Point a callback at it, e.g.
    ``wa_emulator.control.set_app_webhook(app_id, wa_webhook_receiver.url, "verify-me")``;
    closed after the test (the callback is left as it is)."""
    secret = wa_emulator.control.apps()[0]["secret"]
    with WebhookReceiver(secret, RECEIVER_VERIFY_TOKEN) as receiver:
        yield receiver
