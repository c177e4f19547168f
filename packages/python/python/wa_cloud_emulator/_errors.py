"""Exceptions raised by the package."""

from __future__ import annotations

__all__ = ["ControlError", "EmulatorError", "EmulatorStartError"]


class EmulatorError(Exception):
    """Base class of every error this package raises."""


class EmulatorStartError(EmulatorError):
    """The emulator binary could not be found, did not start, or did not become ready."""


class ControlError(EmulatorError):
    """A control API call failed.

    The emulator answers control errors as ``{"emulator_error": {"status", "kind", "message"}}``;
    those three fields are kept here. A transport failure (connection refused, timeout) has
    ``status`` 0 and ``kind`` ``"unreachable"``; an answer that is not a control error document
    has ``kind`` ``"unexpected_response"``.
    """

    status: int
    kind: str
    message: str

    def __init__(self, status: int, kind: str, message: str, *, method: str = "", path: str = "") -> None:
        self.status = status
        self.kind = kind
        self.message = message
        self.method = method
        self.path = path
        where = f"{method} {path}: " if method else ""
        super().__init__(f"{where}{kind} ({status}): {message}")
