"""Webhooks from the package: the control helpers, the receiver and its fixture, and the
issue's acceptance test: a receiver written with pywa's own webhook handling accepts the
emulator's deliveries unchanged (signature and parsing)."""

from __future__ import annotations

import http.server
import json
import threading
import time
import urllib.parse
from typing import Any, Callable, Iterator, List

import pytest
from pywa import WhatsApp, types, utils

from conftest import graph, register
from wa_cloud_emulator import (
    ControlClient,
    ControlError,
    Emulator,
    Namespace,
    WebhookDelivery,
    WebhookReceiver,
    sign,
    verify_signature,
)

APP_ID = "880000000000001"
APP_SECRET = "0e1d2c3b4a5968778695a4b3c2d1e0f0"
TOKEN = "EAAEmulatorDevToken"
WABA = "102290129340398"
REGISTERED = "106540352242924"  # registered in the default fixtures
CUSTOMER = "15550001111"
# Non-ASCII (two-byte, three-byte and an astral emoji) and a "/": Meta writes them as
# \uXXXX (a surrogate pair for the emoji) and "\/", and signs those exact bytes.
TEXT = "¿Café / té? ✓ 👋"


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    with Emulator() as started:
        yield started


def subscribe_waba(base_url: str, waba: str, token: str) -> None:
    assert graph(base_url, "POST", f"{waba}/subscribed_apps", token) == (200, {"success": True})


def logged_when(control: ControlClient, ready: Callable[[WebhookDelivery], bool], **filters: Any) -> List[WebhookDelivery]:
    """The log once every listed delivery is ``ready`` (the receiver sees the bytes before the
    emulator logs the attempt's outcome)."""
    deadline = time.monotonic() + 10
    while True:
        logged = control.deliveries(**filters)
        if all(ready(delivery) for delivery in logged) or time.monotonic() > deadline:
            return logged
        time.sleep(0.02)


def test_the_helpers_drive_callbacks_events_the_log_and_faults(emulator: Emulator) -> None:
    control = emulator.control
    with WebhookReceiver(APP_SECRET, "verify-me") as receiver:
        # A wrong verify token: the receiver answers 403, the emulator refuses with #2200.
        with pytest.raises(ControlError) as refused:
            control.set_app_webhook(APP_ID, receiver.url, "wrong")
        assert refused.value.kind == "conflict"
        assert "(#2200)" in refused.value.message
        assert receiver.handshakes[-1].status == 403

        app = control.set_app_webhook(APP_ID, receiver.url, "verify-me", fields=["messages", "account_update"])
        assert app["webhook"]["callback_url"] == receiver.url
        assert app["webhook"]["fields"] == ["messages", "account_update"]
        handshake = receiver.handshakes[-1]
        assert (handshake.mode, handshake.verify_token, handshake.status) == ("subscribe", "verify-me", 200)

        # Nothing is delivered until the WABA is subscribed, as in production.
        assert control.inbound_message(REGISTERED, CUSTOMER, "hola")["deliveries"] == []
        subscribe_waba(emulator.base_url, WABA, TOKEN)
        emitted = control.inbound_message(REGISTERED, CUSTOMER, TEXT, name="Zoë")
        assert emitted["message_id"].startswith("wamid.")
        [first] = emitted["deliveries"]
        [received] = receiver.wait_for(1)
        assert received.signature_valid, received
        assert received.headers["content-type"] == "application/json"
        assert b"\\/" in received.body and received.body.isascii()
        message = received.json()["entry"][0]["changes"][0]["value"]["messages"][0]
        assert (message["text"]["body"], message["id"]) == (TEXT, emitted["message_id"])

        # The log holds the exact bytes and signature the receiver got.
        [logged] = logged_when(control, lambda log: log["state"] == "delivered", field="messages", number_id=REGISTERED)
        assert logged["id"] == first and logged["state"] == "delivered"
        assert logged["body"].encode() == received.body
        assert logged["signature"] == received.signature == sign(APP_SECRET, received.body)
        assert [attempt["status"] for attempt in logged["attempts"]] == [200]
        assert control.deliveries(since=first) == []

        # Redelivery sends the same bytes again.
        again = control.redeliver(first)
        assert again["id"] == first
        assert receiver.wait_for(2)[1].body == received.body

        # Any documented event by hand, and a duplicate fault on it.
        fault = control.arm_delivery_fault("duplicate", field="account_update", count=1)
        assert (fault["kind"], fault["remaining"]) == ("duplicate", 1)
        assert control.delivery_faults() == [fault]
        value = {"event": "VERIFIED_ACCOUNT", "phone_number": "15550100003"}
        [emitted_id] = control.emit_webhook("account_update", WABA, value, number_id=REGISTERED)["deliveries"]
        duplicates = receiver.wait_for(4)[2:]
        assert duplicates[0].body == duplicates[1].body
        assert duplicates[0].json()["entry"][0]["changes"][0] == {"value": value, "field": "account_update"}
        assert control.delivery_faults() == []
        [emitted_log] = logged_when(control, lambda log: len(log["attempts"]) == 2, since=first)
        assert emitted_log["id"] == emitted_id
        assert [attempt["fault"] for attempt in emitted_log["attempts"]] == [None, "duplicate"]

        armed = control.arm_delivery_fault("delay", delay_ms=10)
        control.remove_delivery_fault(armed["id"])
        control.arm_delivery_fault("drop", app_id=APP_ID)
        control.clear_delivery_faults()
        assert control.delivery_faults() == []
        with pytest.raises(ControlError) as invalid:
            control.arm_delivery_fault("delay")  # delay_ms is required
        assert invalid.value.kind == "invalid"

        # A failing callback: the emulator retries (at once, then on its clock).
        receiver.answer_next_posts_with(500, 500)
        [failing] = control.inbound_message(REGISTERED, CUSTOMER, "again")["deliveries"]
        receiver.wait_for(6)
        [retrying] = logged_when(control, lambda log: len(log["attempts"]) == 2, since=emitted_id)
        assert retrying["id"] == failing and retrying["state"] == "retrying"
        with pytest.raises(ControlError) as pending:
            control.redeliver(failing)
        assert pending.value.kind == "conflict"

        # Business app and partner events; the partner leaving unsubscribes the app.
        with pytest.raises(ControlError) as not_coexistence:
            control.business_app_event(REGISTERED, "ACCOUNT_OFFBOARDED")
        assert not_coexistence.value.kind == "conflict"
        [partner] = control.partner_event(WABA, "PARTNER_APP_UNINSTALLED", app_id=APP_ID)["deliveries"]
        [partner_log] = control.deliveries(field="account_update", since=emitted_id)
        assert partner_log["id"] == partner
        assert json.loads(partner_log["body"])["entry"][0]["changes"][0]["value"]["event"] == "PARTNER_APP_UNINSTALLED"
        assert control.inbound_message(REGISTERED, CUSTOMER, "anyone?")["deliveries"] == []

        control.clear_deliveries()
        assert control.deliveries() == []
        control.remove_app_webhook(APP_ID)
        assert "webhook" not in control.apps()[0]


def test_the_receiver_checks_signatures_and_times_out() -> None:
    assert verify_signature("secret", b"{}", sign("secret", b"{}"))
    assert not verify_signature("secret", b"{} ", sign("secret", b"{}"))
    assert not verify_signature("secret", b"{}", None)
    with WebhookReceiver("secret") as receiver:
        with pytest.raises(TimeoutError):
            receiver.wait_for(1, timeout=0.2)
        assert receiver.url.startswith("http://127.0.0.1:") and receiver.url.endswith("/webhook")


def test_the_fixture_receives_a_namespace_number_s_messages(
    wa_emulator: Emulator, wa_namespace: Namespace, wa_webhook_receiver: WebhookReceiver
) -> None:
    control = wa_emulator.control
    app_id = control.apps()[0]["id"]
    control.set_app_webhook(app_id, wa_webhook_receiver.url, "verify-me")
    try:
        number = wa_namespace.phone_number_id
        assert register(wa_namespace.base_url, number, wa_namespace.token, wa_namespace.pin)[0] == 200
        subscribe_waba(wa_namespace.base_url, wa_namespace.waba_id, wa_namespace.token)
        control.inbound_message(number, CUSTOMER, "hello from the fixture")
        [received] = wa_webhook_receiver.wait_for(1)
        assert received.signature_valid
        assert received.json()["entry"][0]["id"] == wa_namespace.waba_id
    finally:
        control.remove_app_webhook(app_id)


def test_a_pywa_receiver_accepts_the_emulator_s_deliveries_unchanged(emulator: Emulator) -> None:
    """The issue's acceptance test: pywa, as a custom server uses it (its documented
    ``webhook_challenge_handler``, ``webhook_update_validator`` and ``webhook_update_handler``),
    answers the handshake, accepts the signature and parses the message."""
    wa = WhatsApp(
        phone_id=REGISTERED,
        token=TOKEN,
        verify_token="pywa-verify",
        app_secret=APP_SECRET,
        validate_updates=True,
    )
    got: List[types.Message] = []
    handled = threading.Event()
    rejected: List[Any] = []

    @wa.on_message()
    def on_message(_: WhatsApp, message: types.Message) -> None:
        got.append(message)
        handled.set()

    class PywaHook(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
            challenge, status = wa.webhook_challenge_handler(
                vt=query.get(utils.HUB_VT, [None])[0], ch=query.get(utils.HUB_CH, [None])[0]
            )
            self.answer(status, (challenge or "").encode())

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            error = wa.webhook_update_validator(body, self.headers.get(utils.HUB_SIG))
            if error is not None:
                rejected.append(error)
                self.answer(error[1], error[0].encode())
                return
            text, status = wa.webhook_update_handler(body)
            self.answer(status, text.encode())

        def answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), PywaHook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/pywa"
        emulator.control.set_app_webhook(APP_ID, url, "pywa-verify", fields=["messages"])
        subscribe_waba(emulator.base_url, WABA, TOKEN)
        emitted = emulator.control.inbound_message(REGISTERED, CUSTOMER, TEXT, name="Zoë")
        assert handled.wait(10), f"pywa handled nothing; rejected: {rejected}"
        assert rejected == []
        [message] = got
        assert message.text == TEXT
        assert message.id == emitted["message_id"]
        assert message.from_user.wa_id == CUSTOMER
        assert message.from_user.name == "Zoë"
        [logged] = logged_when(
            emulator.control, lambda log: log["state"] != "pending", since=emitted["deliveries"][0] - 1, field="messages"
        )
        assert logged["state"] == "delivered" and "\\/" in logged["body"]
        # The same check refuses a body that is not byte for byte the signed one.
        tampered = logged["body"].replace("\\/", "/").encode()
        assert wa.webhook_update_validator(tampered, logged["signature"]) == ("Forbidden", 403)
    finally:
        emulator.control.remove_app_webhook(APP_ID)
        server.shutdown()
        server.server_close()
