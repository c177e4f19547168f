"""Testcontainers support: run the emulator's container image and control it.

Needs the ``testcontainers`` package (``pip install 'wa-cloud-emulator[testcontainers]'``) and
a Docker-compatible engine (Docker, or podman's socket through ``DOCKER_HOST``).

>>> from wa_cloud_emulator.testcontainers import WaCloudEmulatorContainer
>>> with WaCloudEmulatorContainer("wa-cloud-emulator:latest") as emulator:   # doctest: +SKIP
...     emulator.base_url, emulator.token, emulator.phone_number_id
...     emulator.control.advance_clock("72h")

The container listens on ``0.0.0.0``, where the control API is off unless an admin token is
set: a random one is generated (``WA_EMU_ADMIN_TOKEN``) and :attr:`control` sends it.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path
from typing import Any, Mapping, Optional, Union

from testcontainers.core.container import DockerContainer

from ._control import ControlClient
from ._emulator import Defaults, Namespace, _DefaultsAccess, _parse_instant, defaults_from_state
from ._errors import ControlError, EmulatorError, EmulatorStartError
from ._types import FixtureDocument

try:  # testcontainers >= 4.13 has a real HTTP wait strategy
    from testcontainers.core.wait_strategies import HttpWaitStrategy
except ImportError:  # pragma: no cover - older testcontainers: the readiness poll below waits
    HttpWaitStrategy = None  # type: ignore[assignment,misc]

__all__ = ["DEFAULT_IMAGE", "IMAGE_ENV", "WaCloudEmulatorContainer"]

#: The image when none is given (``WA_CLOUD_EMULATOR_IMAGE`` overrides it).
DEFAULT_IMAGE = "wa-cloud-emulator:latest"
IMAGE_ENV = "WA_CLOUD_EMULATOR_IMAGE"
PORT = 8080
HEALTH_PATH = "/__emulator/health"


class WaCloudEmulatorContainer(_DefaultsAccess, DockerContainer):
    """The emulator image as a Testcontainers container.

    Args:
        image: image name (default ``$WA_CLOUD_EMULATOR_IMAGE`` or ``wa-cloud-emulator:latest``).
        settings: ``WA_EMU_*`` settings by name, e.g. ``{"rate_limit": 3}`` sets
            ``WA_EMU_RATE_LIMIT=3`` (``True``/``False`` become ``true``/``false``).
        fixtures: a fixture document (``dict``) or a JSON file imported through
            ``PUT /__emulator/state`` once the container is up. A control ``reset`` goes back
            to the image's fixtures, not to this document (re-import it, or mount a file and set
            ``settings={"fixtures": "/path/in/container"}``).
        admin_token: the control API's token (default: a random one).
        startup_timeout: how long to wait for the health check.
        **kwargs: passed to :class:`~testcontainers.core.container.DockerContainer`.
    """

    def __init__(
        self,
        image: Optional[str] = None,
        *,
        settings: Optional[Mapping[str, Union[str, int, float, bool]]] = None,
        fixtures: Union[FixtureDocument, Mapping[str, Any], str, "os.PathLike[str]", None] = None,
        admin_token: Optional[str] = None,
        startup_timeout: float = 60.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(image or os.environ.get(IMAGE_ENV) or DEFAULT_IMAGE, **kwargs)
        self._admin_token = admin_token or secrets.token_urlsafe(24)
        self._fixtures = fixtures
        self._startup_timeout = startup_timeout
        self._control: Optional[ControlClient] = None
        self._defaults: Optional[Defaults] = None
        self.with_exposed_ports(PORT)
        self.with_env("WA_EMU_ADMIN_TOKEN", self._admin_token)
        for name, value in (settings or {}).items():
            if isinstance(value, bool):
                value = "true" if value else "false"
            self.with_env("WA_EMU_" + name.upper().replace("-", "_"), str(value))
        if HttpWaitStrategy is not None:
            strategy = HttpWaitStrategy(PORT, HEALTH_PATH).for_status_code(200)
            strategy = strategy.with_startup_timeout(int(startup_timeout))
            self.waiting_for(strategy)

    def __repr__(self) -> str:
        return f"WaCloudEmulatorContainer({self.image!r})"

    def start(self) -> "WaCloudEmulatorContainer":
        """Starts the container, waits for its health check and readiness, imports the fixtures."""
        super().start()
        try:
            self._wait_ready()
            if self._fixtures is not None:
                self.control.import_state(self._load_fixtures())
            self.refresh_defaults()
        except BaseException:
            self.stop()
            raise
        return self

    def _load_fixtures(self) -> Mapping[str, Any]:
        if isinstance(self._fixtures, Mapping):
            return self._fixtures
        assert self._fixtures is not None
        document: Mapping[str, Any] = json.loads(Path(os.fspath(self._fixtures)).read_text(encoding="utf-8"))
        return document

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self._startup_timeout
        last: Optional[ControlError] = None
        while True:
            try:
                if self.control.ready().get("status") == "ready":
                    return
            except ControlError as error:
                if error.kind != "unreachable":
                    raise
                last = error
            if time.monotonic() > deadline:
                raise EmulatorStartError(f"{self.base_url} did not become ready: {last}")
            time.sleep(0.1)

    # ---- what tests use ------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        """``http://HOST:PORT`` of the container's published port."""
        return f"http://{self.get_container_host_ip()}:{self.get_exposed_port(PORT)}"

    def get_base_url(self) -> str:
        """Same as :attr:`base_url` (Testcontainers' naming)."""
        return self.base_url

    @property
    def control(self) -> ControlClient:
        """The control client (with the admin token)."""
        if self._control is None:
            self._control = ControlClient(self.base_url, admin_token=self._admin_token)
        return self._control

    @property
    def app_token(self) -> str:
        """The app access token ``APP_ID|APP_SECRET`` of the first partner app, read from the
        container at each call."""
        return self.control.app_token()

    def refresh_defaults(self) -> None:
        """Reads the state export again for :attr:`token`, :attr:`phone_number_id`, ..."""
        now = _parse_instant(self.control.clock()["now"])
        self._defaults = defaults_from_state(self.control.export_state(), now)

    def namespace(self, *, template_waba: Optional[str] = None) -> Namespace:
        """A fresh :class:`~wa_cloud_emulator.Namespace` in this container."""
        return Namespace.create(self.control, self.base_url, template_waba=template_waba)
