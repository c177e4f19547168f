"""Shared helpers of the example suite: a bare Graph call over urllib, as an app would make."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any, Dict, Optional, Tuple

pytest_plugins = ["pytester"]

GRAPH_VERSION = "v23.0"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def graph(
    base_url: str,
    method: str,
    path: str,
    token: str,
    body: Optional[Dict[str, Any]] = None,
) -> Tuple[int, Dict[str, Any]]:
    """One Graph API call; returns the status and the decoded body (errors included)."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        f"{base_url}/{GRAPH_VERSION}/{path.lstrip('/')}",
        data=data,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def register(base_url: str, number: str, token: str, pin: str) -> Tuple[int, Dict[str, Any]]:
    """POST /{number}/register as Meta documents it."""
    return graph(base_url, "POST", f"{number}/register", token, {"messaging_product": "whatsapp", "pin": pin})


def error_code(body: Dict[str, Any]) -> Optional[int]:
    """The Graph error code of an answer, if it is an error."""
    error = body.get("error")
    return int(error["code"]) if isinstance(error, dict) else None
