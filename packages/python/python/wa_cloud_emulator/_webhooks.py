"""A webhook callback for tests: a small HTTP server (standard library only) in a thread that
answers Meta's ``hub.challenge`` handshake, records every delivery byte for byte with its
headers, and checks ``X-Hub-Signature-256`` over the raw body with the app secret.

>>> with WebhookReceiver(app_secret, verify_token="verify-me") as receiver:   # doctest: +SKIP
...     emulator.control.set_app_webhook(app_id, receiver.url, "verify-me")
...     emulator.control.inbound_message(number_id, "15550001111", "hola")
...     [delivery] = receiver.wait_for(1)
...     assert delivery.signature_valid
"""

from __future__ import annotations

import hashlib
import hmac
import http.server
import json
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any, Dict, List, Optional, Type

__all__ = [
    "SIGNATURE_HEADER",
    "ReceivedDelivery",
    "ReceivedHandshake",
    "WebhookReceiver",
    "sign",
    "verify_signature",
]

#: The header Meta signs deliveries in.
SIGNATURE_HEADER = "X-Hub-Signature-256"
#: The path the receiver's :attr:`WebhookReceiver.url` points at (any path is answered).
RECEIVER_PATH = "/webhook"


def sign(app_secret: str, body: bytes) -> str:
    """``sha256=<hex>``: HMAC-SHA256 of the raw ``body`` with the app secret, as Meta sends it."""
    return "sha256=" + hmac.new(app_secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def verify_signature(app_secret: str, body: bytes, signature: Optional[str]) -> bool:
    """Whether ``signature`` (an ``X-Hub-Signature-256`` value) signs the raw ``body`` with the
    app secret; compared in constant time. Hash the bytes received, never a re-serialised body."""
    if not signature:
        return False
    return hmac.compare_digest(sign(app_secret, body).encode("ascii"), signature.strip().encode("utf-8", "replace"))


@dataclass(frozen=True)
class ReceivedDelivery:
    """One ``POST`` the receiver got: the raw ``body``, the headers (names lower-cased), the
    signature sent and whether it checked out."""

    body: bytes
    headers: Dict[str, str] = field(repr=False)
    path: str
    signature: Optional[str]
    signature_valid: bool
    status: int
    """What the receiver answered."""

    def json(self) -> Any:
        """The body, decoded."""
        return json.loads(self.body)

    def text(self) -> str:
        """The body as text (always ASCII from the emulator: Meta's ``\\uXXXX`` escaping)."""
        return self.body.decode("utf-8", "replace")


@dataclass(frozen=True)
class ReceivedHandshake:
    """One verification ``GET``: its ``hub.*`` parameters and what the receiver answered."""

    mode: Optional[str]
    verify_token: Optional[str]
    challenge: Optional[str]
    status: int


class WebhookReceiver:
    """A callback URL for tests, on ``127.0.0.1`` and a free port (or ``port``).

    It answers the handshake as an app should: the challenge with 200 when ``hub.verify_token``
    is ``verify_token``, 403 otherwise. Each delivery is recorded (raw bytes, headers,
    signature checked with ``app_secret``) and answered with ``status`` (200 by default; see
    :meth:`answer_posts_with` to exercise retries). Use it as a context manager, or call
    :meth:`close`.
    """

    def __init__(
        self,
        app_secret: str,
        verify_token: str = "verify-me",
        *,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        self.app_secret = app_secret
        self.verify_token = verify_token
        self._lock = threading.Condition()
        self._deliveries: List[ReceivedDelivery] = []
        self._handshakes: List[ReceivedHandshake] = []
        self._post_status = 200
        self._next_statuses: List[int] = []
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)

                def first(name: str) -> Optional[str]:
                    values = query.get(name)
                    return values[0] if values else None

                token, challenge = first("hub.verify_token"), first("hub.challenge")
                ok = token is not None and hmac.compare_digest(
                    token.encode("utf-8"), receiver.verify_token.encode("utf-8")
                ) and challenge is not None
                status = 200 if ok else 403
                with receiver._lock:
                    receiver._handshakes.append(ReceivedHandshake(first("hub.mode"), token, challenge, status))
                    receiver._lock.notify_all()
                self._answer(status, (challenge or "").encode("utf-8") if ok else b"Forbidden")

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length > 0 else b""
                headers = {name.lower(): value for name, value in self.headers.items()}
                signature = headers.get(SIGNATURE_HEADER.lower())
                with receiver._lock:
                    status = receiver._next_statuses.pop(0) if receiver._next_statuses else receiver._post_status
                    receiver._deliveries.append(
                        ReceivedDelivery(
                            body=body,
                            headers=headers,
                            path=self.path,
                            signature=signature,
                            signature_valid=verify_signature(receiver.app_secret, body, signature),
                            status=status,
                        )
                    )
                    receiver._lock.notify_all()
                self._answer(status, b"")

            def _answer(self, status: int, body: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass

        self._server = http.server.ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="wa-webhook-receiver", daemon=True)
        self._thread.start()
        self._closed = False

    def __repr__(self) -> str:
        return f"WebhookReceiver({self.url!r}, deliveries={len(self._deliveries)})"

    @property
    def port(self) -> int:
        """The port listened on."""
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        """The callback URL: ``http://127.0.0.1:<port>/webhook``."""
        host = str(self._server.server_address[0])
        return f"http://{host}:{self.port}{RECEIVER_PATH}"

    @property
    def deliveries(self) -> List[ReceivedDelivery]:
        """Every delivery received so far, in arrival order."""
        with self._lock:
            return list(self._deliveries)

    @property
    def handshakes(self) -> List[ReceivedHandshake]:
        """Every handshake received so far."""
        with self._lock:
            return list(self._handshakes)

    def wait_for(self, count: int, timeout: float = 10.0) -> List[ReceivedDelivery]:
        """Waits (real time, at most ``timeout`` seconds) until at least ``count`` deliveries
        arrived and returns them all; raises :class:`TimeoutError` naming what did arrive."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while len(self._deliveries) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    got = [delivery.text()[:200] for delivery in self._deliveries]
                    raise TimeoutError(
                        f"{len(self._deliveries)} of {count} webhook deliveries arrived at {self.url} "
                        f"within {timeout}s: {got}"
                    )
                self._lock.wait(left)
            return list(self._deliveries)

    def answer_posts_with(self, status: int) -> None:
        """Answers later deliveries with ``status`` (anything but 200 is a failure the emulator
        retries), after the statuses queued by :meth:`answer_next_posts_with`."""
        with self._lock:
            self._post_status = status

    def answer_next_posts_with(self, *statuses: int) -> None:
        """Answers the next deliveries with these statuses, one each, then as before."""
        with self._lock:
            self._next_statuses.extend(statuses)

    def clear(self) -> None:
        """Forgets the deliveries and handshakes received."""
        with self._lock:
            self._deliveries.clear()
            self._handshakes.clear()

    def close(self) -> None:
        """Stops listening (a second call does nothing)."""
        if self._closed:
            return
        self._closed = True
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> "WebhookReceiver":
        return self

    def __exit__(
        self,
        exc_type: Optional[Type[BaseException]],
        exc: Optional[BaseException],
        traceback: Optional[TracebackType],
    ) -> None:
        self.close()
