"""A real client library, pywa, pointed at the emulator.

pywa builds every URL on ``https://graph.facebook.com/v{api_version}`` (it sets the base URL of
the ``httpx.Client`` it is given), but it takes the client through its documented ``session``
argument: :class:`wa_cloud_emulator.httpx_transport.EmulatorTransport` sends those requests to
the emulator. Nothing of pywa is patched.
"""

from __future__ import annotations

import httpx
import pytest
from pywa import WhatsApp
from pywa.errors import RegistrationOrDeregistrationFailed, WhatsAppError

from wa_cloud_emulator import Emulator, Namespace
from wa_cloud_emulator.httpx_transport import EmulatorTransport


@pytest.fixture
def wa(wa_namespace: Namespace):
    session = httpx.Client(transport=EmulatorTransport(wa_namespace.base_url))
    with session:
        yield WhatsApp(
            phone_id=wa_namespace.phone_number_id,
            token=wa_namespace.token,
            session=session,
            api_version="23.0",
        )


def test_pywa_registers_sends_and_hits_the_rate_limit(
    wa: WhatsApp, wa_namespace: Namespace, wa_emulator: Emulator
) -> None:
    # Not registered yet: sending fails with 133010.
    with pytest.raises(WhatsAppError) as raised:
        wa.send_message(to="16505076520", text="hello")
    assert raised.value.code == 133010
    assert raised.value.status_code == 400

    assert wa.register_phone_number(pin=wa_namespace.pin).success is True
    sent = wa.send_message(to="16505076520", text="hello")
    assert sent.id.startswith("wamid.")
    assert wa_emulator.control.number(wa_namespace.phone_number_id)["status"] == "CONNECTED"

    # 9 more registers fill the window of 10; the 11th is pywa's typed 133016 error.
    for _ in range(9):
        assert wa.register_phone_number(pin=wa_namespace.pin).success is True
    with pytest.raises(RegistrationOrDeregistrationFailed) as blocked:
        wa.register_phone_number(pin=wa_namespace.pin)
    assert blocked.value.code == 133016

    wa_emulator.control.advance_clock("72h")
    wa_emulator.control.advance_clock(1)
    assert wa.register_phone_number(pin=wa_namespace.pin).success is True

    journal = wa_emulator.control.journal(number=wa_namespace.phone_number_id, operation="register")
    assert len(journal) == 12
    assert journal[0]["path"] == f"/v23.0/{wa_namespace.phone_number_id}/register"
    assert journal[0]["headers"].get("user-agent", "").startswith("PyWa/")

    assert wa.deregister_phone_number().success is True
    with pytest.raises(WhatsAppError) as again:
        wa.send_message(to="16505076520", text="hello")
    assert again.value.code == 133010


def test_pywa_sees_a_wrong_pin(wa: WhatsApp, wa_namespace: Namespace, wa_emulator: Emulator) -> None:
    assert wa.register_phone_number(pin="135790").success is True  # no PIN yet: this sets it
    wa.deregister_phone_number()
    with pytest.raises(WhatsAppError) as raised:
        wa.register_phone_number(pin="000000")
    assert raised.value.code == 133005
    assert wa_emulator.control.number(wa_namespace.phone_number_id)["pin_lockout"]["consecutive_failures"] == 1
