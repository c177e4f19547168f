"""The partner onboarding helpers: a signup, the code exchange and debug_token with the app
token, presets and name reviews, as a partner app's test would drive them."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Tuple

import pytest

from conftest import error_code, register
from wa_cloud_emulator import ControlError, Emulator

APP_ID = "880000000000001"
APP_SECRET = "0e1d2c3b4a5968778695a4b3c2d1e0f0"
_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


@pytest.fixture(scope="module")
def emulator():
    with Emulator() as started:
        yield started


def get(url: str, query: Dict[str, str], token: str = "") -> Tuple[int, Dict[str, Any]]:
    """A GET as the app's server makes it (no token for the code exchange)."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(f"{url}?{urllib.parse.urlencode(query)}", headers=headers)
    try:
        with _OPENER.open(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        with error:
            return error.code, json.loads(error.read())


def test_the_default_app_and_its_token(emulator: Emulator) -> None:
    apps = emulator.control.apps()
    assert apps[0]["id"] == APP_ID
    assert apps[0]["name"] == "Emulator Partner App"
    assert emulator.app_token == f"{APP_ID}|{APP_SECRET}"
    assert emulator.control.app_token(APP_ID) == emulator.app_token
    with pytest.raises(ControlError) as raised:
        emulator.control.app_token("1")
    assert raised.value.kind == "not_found"


def test_a_signup_code_becomes_a_token_scoped_to_the_new_waba(emulator: Emulator) -> None:
    signup = emulator.control.embedded_signup(granular_scopes="classic")
    assert signup["event"] == "FINISH"
    assert json.loads(signup["message"])["data"]["waba_id"] == signup["waba_id"]
    status, exchanged = get(
        emulator.graph_url("oauth/access_token"),
        {"client_id": APP_ID, "client_secret": APP_SECRET, "code": signup["code"]},
    )
    assert status == 200, exchanged
    token = exchanged["access_token"]
    status, debug = get(emulator.graph_url("debug_token"), {"input_token": token}, emulator.app_token)
    assert status == 200, debug
    assert debug["data"]["type"] == "SYSTEM_USER"
    assert debug["data"]["granular_scopes"][0]["target_ids"] == [signup["waba_id"]]
    assert register(emulator.base_url, signup["phone_number_id"], token, "246810") == (200, {"success": True})
    # A code works once.
    status, again = get(
        emulator.graph_url("oauth/access_token"),
        {"client_id": APP_ID, "client_secret": APP_SECRET, "code": signup["code"]},
    )
    assert (status, again["error"]["error_subcode"]) == (400, 36009)


def test_a_cancelled_signup_creates_nothing(emulator: Emulator) -> None:
    cancelled = emulator.control.embedded_signup(finish="CANCEL", current_step="PERMISSIONS")
    assert cancelled["session_info"]["data"] == {"current_step": "PERMISSIONS"}
    assert "code" not in cancelled and "waba_id" not in cancelled
    with pytest.raises(ControlError) as raised:
        emulator.control.embedded_signup(preset="bogus")  # type: ignore[arg-type]
    assert raised.value.status == 400


def test_presets_and_name_reviews_decide_what_register_answers(emulator: Emulator) -> None:
    signup = emulator.control.embedded_signup(preset="name_pending")
    number = signup["phone_number_id"]
    status, exchanged = get(
        emulator.graph_url("oauth/access_token"),
        {"client_id": APP_ID, "client_secret": APP_SECRET, "code": signup["code"]},
    )
    token = exchanged["access_token"]
    status, body = register(emulator.base_url, number, token, "246810")
    assert (status, error_code(body), body["error"]["error_subcode"]) == (400, 100, 2388001)
    review = emulator.control.decide_name_review(number, "APPROVED")
    assert review["decision"] == "APPROVED"
    assert review["number"]["name_status"] == "APPROVED"
    with pytest.raises(ControlError) as raised:
        emulator.control.decide_name_review(number, "APPROVED")
    assert raised.value.kind == "conflict"
    held = emulator.control.apply_preset(number, "other_partner")
    assert held["hold"] == "other_partner"
    status, body = register(emulator.base_url, number, token, "246810")
    assert body["error"]["error_subcode"] == 3441030
    emulator.control.apply_preset(number, "ready")
    assert register(emulator.base_url, number, token, "246810") == (200, {"success": True})
