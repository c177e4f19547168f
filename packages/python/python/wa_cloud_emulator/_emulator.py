"""Start the emulator binary shipped in the wheel, and what a test needs from it."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import TracebackType
from typing import IO, Any, Dict, List, Mapping, Optional, Sequence, Tuple, Type, Union

from ._control import ControlClient, format_instant
from ._errors import ControlError, EmulatorError, EmulatorStartError
from ._types import FixtureDocument, NamespaceClockView, NamespaceView, NumberView

__all__ = [
    "BINARY_NAME",
    "DEFAULT_PIN",
    "Defaults",
    "Emulator",
    "Namespace",
    "defaults_from_state",
    "find_binary",
]

BINARY_NAME = "wa-cloud-emulator"
#: The PIN used for a number that has none yet (registering sets it).
DEFAULT_PIN = "123456"
#: Overrides where :func:`find_binary` looks.
BINARY_ENV = "WA_CLOUD_EMULATOR_BINARY"
_MESSAGING = "whatsapp_business_messaging"
_MANAGEMENT = "whatsapp_business_management"
_BANNER = re.compile(r"listening on (http://\S+)")

SettingValue = Union[str, int, float, bool]
PathLike = Union[str, "os.PathLike[str]"]


def find_binary() -> str:
    """The path of the ``wa-cloud-emulator`` binary.

    Looked up in this order: the ``WA_CLOUD_EMULATOR_BINARY`` environment variable; the file
    the installed wheel put in its scripts directory (read from the distribution's record, so
    ``--user`` and ``--target`` installs work too); the interpreter's scripts directories;
    ``PATH``. Raises :class:`EmulatorStartError` when none has it.
    """
    explicit = os.environ.get(BINARY_ENV)
    if explicit:
        if os.access(explicit, os.X_OK):
            return explicit
        raise EmulatorStartError(f"{BINARY_ENV}={explicit} is not an executable file")
    candidates: List[Path] = []
    try:
        from importlib import metadata

        distribution = metadata.distribution("wa-cloud-emulator")
        for file in distribution.files or ():
            if file.name == BINARY_NAME:
                candidates.append(Path(str(distribution.locate_file(file))))
    except Exception:  # not installed as a distribution (source checkout): keep looking
        pass
    for scheme in (None, f"{os.name}_user"):
        try:
            scripts = sysconfig.get_path("scripts", scheme) if scheme else sysconfig.get_path("scripts")
        except KeyError:
            continue
        if scripts:
            candidates.append(Path(scripts) / BINARY_NAME)
    candidates.append(Path(sys.executable).parent / BINARY_NAME)
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return str(candidate.resolve())
    on_path = shutil.which(BINARY_NAME)
    if on_path:
        return on_path
    raise EmulatorStartError(
        f"cannot find the {BINARY_NAME} binary: install the wa-cloud-emulator wheel, put the binary "
        f"on PATH, or set {BINARY_ENV}"
    )


@dataclass(frozen=True)
class Defaults:
    """A ready-to-register number of a state, with a token that may register it."""

    token: str = field(repr=False)
    phone_number_id: str
    pin: str
    waba_id: str


def defaults_from_state(state: FixtureDocument, now: Optional[datetime] = None) -> Optional[Defaults]:
    """Picks, as the emulator's start-up banner does, the lowest verified number that is not a
    coexistence number nor awaiting a migration, preferring unregistered numbers without a PIN,
    and a token with both WhatsApp permissions, unexpired, allowed on its WABA (tokens allowed on
    every WABA first). The PIN is the number's own, or ``123456`` when it has none."""
    numbers: List[Tuple[Tuple[bool, bool, int, str], Dict[str, Any], str]] = []
    for waba in state.get("wabas", []):
        for number in waba.get("phone_numbers", []):
            if number.get("code_verification_status") != "VERIFIED":
                continue
            if number.get("coexistence") or number.get("migration_pending"):
                continue
            number_id = str(number["id"])
            key = (bool(number.get("registered")), number.get("pin") is not None, len(number_id), number_id)
            numbers.append((key, number, str(waba["id"])))
    numbers.sort(key=lambda item: item[0])
    instant = now or datetime.now(timezone.utc)
    tokens = sorted(
        state.get("tokens", []),
        key=lambda token: "*" not in token.get("wabas", ["*"]),
    )
    for _, number, waba_id in numbers:
        for token in tokens:
            permissions = token.get("permissions", [_MANAGEMENT, _MESSAGING])
            wabas = token.get("wabas", ["*"])
            expires = token.get("expires_at")
            if _MESSAGING not in permissions or _MANAGEMENT not in permissions:
                continue
            if "*" not in wabas and waba_id not in wabas:
                continue
            if expires is not None and _parse_instant(expires) <= instant:
                continue
            return Defaults(
                token=str(token["value"]),
                phone_number_id=str(number["id"]),
                pin=str(number.get("pin") or DEFAULT_PIN),
                waba_id=waba_id,
            )
    return None


def _parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def _pick_number(numbers: Sequence[NumberView]) -> Optional[NumberView]:
    ready = [
        number
        for number in numbers
        if number["code_verification_status"] == "VERIFIED"
        and not number["coexistence"]
        and not number["migration_pending"]
    ]
    ready.sort(key=lambda number: (number["registered"], number["pin_set"], len(number["id"]), number["id"]))
    return ready[0] if ready else None


@dataclass
class Namespace:
    """An isolated slice of one emulator: a WABA of its own with copies of a template's numbers
    and a token allowed on that WABA only. Nothing done here is visible to other namespaces.

    ``phone_number_id`` is its first verified, unregistered number (``pin`` registers it);
    ``numbers`` lists them all. Use as a context manager, or call :meth:`delete`.
    """

    id: str
    waba_id: str
    token: str = field(repr=False)
    numbers: List[NumberView] = field(repr=False)
    base_url: str
    control: ControlClient = field(repr=False)
    phone_number_id: str = ""
    pin: str = DEFAULT_PIN
    deleted: bool = field(default=False, repr=False)

    @classmethod
    def create(
        cls,
        control: ControlClient,
        base_url: str,
        *,
        template_waba: Optional[str] = None,
        numbers: Optional[Sequence[Mapping[str, Any]]] = None,
    ) -> "Namespace":
        """``POST /__emulator/namespaces`` and the namespace it made."""
        view = control.create_namespace(template_waba=template_waba, numbers=numbers)
        namespace = cls(
            id=view["namespace"],
            waba_id=view["waba_id"],
            token=view["token"],
            numbers=list(view["numbers"]),
            base_url=base_url,
            control=control,
        )
        namespace._pick(view)
        return namespace

    def _pick(self, view: NamespaceView) -> None:
        chosen = _pick_number(view["numbers"])
        if chosen is None:
            self.phone_number_id, self.pin = "", DEFAULT_PIN
            return
        self.phone_number_id = chosen["id"]
        self.pin = DEFAULT_PIN
        if chosen["pin_set"]:
            # The view tells only that a PIN is set; its value is in the state export.
            for waba in self.control.export_state().get("wabas", []):
                if str(waba["id"]) != self.waba_id:
                    continue
                for number in waba.get("phone_numbers", []):
                    if str(number["id"]) == chosen["id"] and number.get("pin"):
                        self.pin = str(number["pin"])

    def number_ids(self) -> List[str]:
        """The ids of the namespace's numbers, in template order."""
        return [number["id"] for number in self.numbers]

    def clock(self) -> NamespaceClockView:
        """Its clock (it follows the emulator's until :meth:`advance` or :meth:`set_clock`)."""
        return self.control.namespace_clock(self.id)

    def advance(self, by: Union[str, float, timedelta]) -> NamespaceClockView:
        """Moves this namespace's clock only (``"72h"``, seconds or a timedelta): its limiter
        windows, blocks, lockouts and codes travel; no other test's do."""
        return self.control.advance_namespace_clock(self.id, by)

    def set_clock(self, instant: Union[datetime, str]) -> NamespaceClockView:
        """Sets this namespace's clock only."""
        return self.control.set_namespace_clock(self.id, instant)

    def reset(self) -> None:
        """``POST /__emulator/namespaces/{id}/reset``: its numbers and token as created (and its
        clock follows the emulator's again)."""
        view = self.control.reset_namespace(self.id)
        self.numbers = list(view["numbers"])

    def delete(self) -> None:
        """``DELETE /__emulator/namespaces/{id}``; does nothing the second time."""
        if self.deleted:
            return
        try:
            self.control.delete_namespace(self.id)
        except ControlError as error:
            if error.kind != "not_found":
                raise
        self.deleted = True

    def __enter__(self) -> "Namespace":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.delete()


class _Process:
    """The child process and its output files; stopping it is idempotent."""

    def __init__(self, process: "subprocess.Popen[bytes]", directory: str, stdout: IO[bytes], stderr: IO[bytes]) -> None:
        self.process = process
        self.directory = directory
        self.stdout = stdout
        self.stderr = stderr

    def stop(self, timeout: float = 10.0) -> Optional[int]:
        process = self.process
        if process.poll() is None:
            process.terminate()  # SIGTERM: the emulator stops gracefully
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (self.stdout, self.stderr):
            try:
                stream.close()
            except OSError:
                pass
        shutil.rmtree(self.directory, ignore_errors=True)
        return process.returncode


def _settings_args(settings: Mapping[str, SettingValue]) -> List[str]:
    args: List[str] = []
    for name, value in settings.items():
        flag = "--" + name.replace("_", "-").lstrip("-")
        if isinstance(value, bool):
            value = "true" if value else "false"
        args.append(f"{flag}={value}")
    return args


class _DefaultsAccess:
    """What a started emulator offers a test, read from its state export: a token, a verified
    number ready to register, its PIN and its WABA (shared by :class:`Emulator` and the
    Testcontainers class)."""

    _defaults: Optional[Defaults]

    def _default(self) -> Defaults:
        if self._defaults is None:
            raise EmulatorError(
                "the loaded state has no verified number (not coexistence, no pending migration) "
                "with a token that may register it; read numbers through .control instead"
            )
        return self._defaults

    @property
    def token(self) -> str:
        """An access token with both WhatsApp permissions on :attr:`phone_number_id`'s WABA
        (``EAAEmulatorDevToken`` with the default fixtures)."""
        return self._default().token

    @property
    def phone_number_id(self) -> str:
        """A verified number ready to register (``106540352242922`` by default)."""
        return self._default().phone_number_id

    @property
    def pin(self) -> str:
        """The PIN that registers :attr:`phone_number_id` (``123456`` by default)."""
        return self._default().pin

    @property
    def waba_id(self) -> str:
        """The WABA of :attr:`phone_number_id` (``102290129340398`` by default)."""
        return self._default().waba_id


class Emulator(_DefaultsAccess):
    """One emulator for a test session.

    ``Emulator(...)`` starts the binary on a free loopback port (``--listen 127.0.0.1:0``; the
    bound address is read from its start-up line), waits until ``/__emulator/ready`` answers and
    reads the state export for the defaults. Stop it with :meth:`close` or a ``with`` block
    (SIGTERM, then SIGKILL after ``stop_timeout``); it is also stopped when garbage-collected or
    at interpreter exit.

    Options:
        fixtures: a fixture file to load instead of the embedded default.
        clock: ``"system"`` or ``"manual"``; ``clock_start`` alone implies ``"manual"``.
        clock_start: start instant of the clock (aware datetime or RFC 3339 text).
        settings: more flags by name, e.g. ``{"rate_limit": 3, "pin_lockout": "10m"}`` gives
            ``--rate-limit=3 --pin-lockout=10m`` (see ``wa-cloud-emulator --help``).
        args: extra command-line arguments, passed last.
        binary: the binary to run (default: :func:`find_binary`).
        env: extra environment variables for the child. ``WA_EMU_*`` variables of this process
            are *not* passed on, so that a test session does not depend on the shell it runs in.
        admin_token: passed as ``--admin-token`` and used by :attr:`control`.
    """

    def __init__(
        self,
        *,
        fixtures: Optional[PathLike] = None,
        clock: Optional[str] = None,
        clock_start: Union[datetime, str, None] = None,
        settings: Optional[Mapping[str, SettingValue]] = None,
        args: Sequence[str] = (),
        binary: Optional[PathLike] = None,
        env: Optional[Mapping[str, str]] = None,
        admin_token: Optional[str] = None,
        startup_timeout: float = 30.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self._process: Optional[_Process] = None
        self._finalizer: Optional["weakref.finalize[Any, Any]"] = None
        self.stop_timeout = stop_timeout
        command = [str(binary) if binary else find_binary(), "--listen", "127.0.0.1:0"]
        if fixtures is not None:
            command.append(f"--fixtures={os.fspath(fixtures)}")
        if clock is None and clock_start is not None:
            clock = "manual"
        if clock is not None:
            command.append(f"--clock={clock}")
        if clock_start is not None:
            command.append(f"--clock-start={format_instant(clock_start)}")
        command += _settings_args(settings or {})
        command += [str(arg) for arg in args]
        child_env = {key: value for key, value in os.environ.items() if not key.startswith("WA_EMU_")}
        child_env.update(env or {})
        if admin_token:
            # Through the environment, not argv: other users can read a process's arguments.
            child_env["WA_EMU_ADMIN_TOKEN"] = admin_token
        self.command: List[str] = command
        self.base_url = self._spawn(command, child_env, startup_timeout)
        self.control = ControlClient(self.base_url, admin_token=admin_token)
        self._defaults: Optional[Defaults] = None
        try:
            self._wait_ready(startup_timeout)
            self._load_defaults()
        except BaseException:
            self.close()
            raise

    @classmethod
    def attach(cls, base_url: str, *, admin_token: Optional[str] = None, timeout: float = 30.0) -> "Emulator":
        """An :class:`Emulator` for one that already runs (a container, a CI service): same
        attributes; :meth:`close` leaves it running."""
        emulator = cls.__new__(cls)
        emulator._process = None
        emulator._finalizer = None
        emulator.stop_timeout = 0.0
        emulator.command = []
        emulator.base_url = base_url.rstrip("/")
        emulator.control = ControlClient(emulator.base_url, admin_token=admin_token)
        emulator._defaults = None
        emulator._wait_ready(timeout)
        emulator._load_defaults()
        return emulator

    # ---- start ---------------------------------------------------------------------------

    def _spawn(self, command: List[str], env: Dict[str, str], timeout: float) -> str:
        directory = tempfile.mkdtemp(prefix="wa-cloud-emulator-")
        stdout = open(os.path.join(directory, "stdout.log"), "w+b")
        stderr = open(os.path.join(directory, "stderr.log"), "w+b")
        try:
            # Output goes to files, never to a pipe nobody reads (a full pipe would block the
            # emulator). The start-up banner holds a curl line with a token: it stays there.
            process = subprocess.Popen(
                command, stdin=subprocess.DEVNULL, stdout=stdout, stderr=stderr, env=env, close_fds=True
            )
        except OSError as error:
            stdout.close()
            stderr.close()
            shutil.rmtree(directory, ignore_errors=True)
            raise EmulatorStartError(f"cannot run {command[0]}: {error}") from error
        self._process = _Process(process, directory, stdout, stderr)
        self._finalizer = weakref.finalize(self, self._process.stop, self.stop_timeout)
        deadline = time.monotonic() + timeout
        while True:
            with open(os.path.join(directory, "stdout.log"), "rb") as reader:
                match = _BANNER.search(reader.read().decode("utf-8", "replace"))
            if match:
                return match.group(1)
            code = process.poll()
            if code is not None:
                message = self._stderr_tail()
                self.close()
                raise EmulatorStartError(f"{command[0]} exited with code {code} before listening: {message}")
            if time.monotonic() > deadline:
                message = self._stderr_tail()
                self.close()
                raise EmulatorStartError(f"{command[0]} did not report its address within {timeout}s: {message}")
            time.sleep(0.01)

    def _stderr_tail(self, limit: int = 2000) -> str:
        if self._process is None:
            return ""
        try:
            with open(os.path.join(self._process.directory, "stderr.log"), "rb") as reader:
                text = reader.read().decode("utf-8", "replace").strip()
        except OSError:
            return ""
        return text[-limit:] or "(no output on stderr)"

    def _wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if self.control.ready().get("status") == "ready":
                    return
            except ControlError as error:
                if error.kind != "unreachable" or time.monotonic() > deadline:
                    raise EmulatorStartError(f"{self.base_url} is not ready: {error}") from error
            if self._process is not None and self._process.process.poll() is not None:
                raise EmulatorStartError(f"the emulator exited while starting: {self._stderr_tail()}")
            if time.monotonic() > deadline:
                raise EmulatorStartError(f"{self.base_url} did not become ready within {timeout}s")
            time.sleep(0.05)

    def _load_defaults(self) -> None:
        now = _parse_instant(self.control.clock()["now"])
        self._defaults = defaults_from_state(self.control.export_state(), now)

    # ---- what tests use ------------------------------------------------------------------

    def refresh_defaults(self) -> None:
        """Reads the defaults again, e.g. after :meth:`ControlClient.import_state`."""
        self._load_defaults()

    @property
    def app_token(self) -> str:
        """The app access token ``APP_ID|APP_SECRET`` of the first partner app
        (``880000000000001|0e1d2c3b4a5968778695a4b3c2d1e0f0`` with the default fixtures), read
        from the emulator at each call."""
        return self.control.app_token()

    def graph_url(self, path: str = "", version: str = "v23.0") -> str:
        """``base_url`` + ``/{version}/`` + ``path``: where a Graph call goes."""
        return f"{self.base_url}/{version}/{path.lstrip('/')}"

    def namespace(
        self,
        *,
        template_waba: Optional[str] = None,
        numbers: Optional[Sequence[Mapping[str, Any]]] = None,
    ) -> Namespace:
        """A fresh :class:`Namespace` (use it in a ``with`` block to delete it afterwards)."""
        return Namespace.create(self.control, self.base_url, template_waba=template_waba, numbers=numbers)

    def reset(self) -> None:
        """Back to the loaded fixtures (see :meth:`ControlClient.reset`)."""
        self.control.reset()

    # ---- stop ----------------------------------------------------------------------------

    @property
    def pid(self) -> Optional[int]:
        """The child's process id (``None`` when attached to a running emulator)."""
        return self._process.process.pid if self._process else None

    @property
    def returncode(self) -> Optional[int]:
        """The child's exit code once it stopped, else ``None``."""
        return self._process.process.poll() if self._process else None

    def close(self) -> None:
        """Stops the emulator (SIGTERM, then SIGKILL) and removes its temporary files; a second
        call does nothing. An attached emulator is left running."""
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if self._process is not None:
            self._process.stop(self.stop_timeout)

    def __enter__(self) -> "Emulator":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "attached" if self._process is None else ("running" if self.returncode is None else "stopped")
        return f"Emulator({self.base_url!r}, {state})"
