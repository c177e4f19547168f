"""The Emulator class and its control client, used directly (no fixtures)."""

from __future__ import annotations

import os
import re
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import error_code, graph, register
from wa_cloud_emulator import ControlError, Emulator, EmulatorStartError, find_binary
from wa_cloud_emulator._emulator import _parse_instant


@pytest.fixture(scope="module")
def emulator():
    with Emulator() as started:
        yield started


def test_defaults_come_from_the_state_export(emulator: Emulator) -> None:
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+", emulator.base_url)
    assert emulator.token == "EAAEmulatorDevToken"
    assert emulator.phone_number_id == "106540352242922"
    assert emulator.pin == "123456"
    assert emulator.waba_id == "102290129340398"
    assert emulator.control.ready() == {"status": "ready", "numbers": 7}
    assert emulator.token not in repr(emulator)
    assert "106540352242922" in {number["id"] for number in emulator.control.numbers()}


def test_register_with_the_defaults_then_send(emulator: Emulator) -> None:
    with emulator.namespace() as namespace:
        status, body = graph(
            emulator.base_url,
            "POST",
            f"{namespace.phone_number_id}/messages",
            namespace.token,
            {"messaging_product": "whatsapp", "to": "16505076520", "type": "text", "text": {"body": "hi"}},
        )
        assert (status, error_code(body)) == (400, 133010)
        assert register(emulator.base_url, namespace.phone_number_id, namespace.token, namespace.pin) == (
            200,
            {"success": True},
        )
        assert emulator.control.number(namespace.phone_number_id)["status"] == "CONNECTED"


def test_eleventh_register_is_133016_until_the_clock_moves_72_hours(emulator: Emulator) -> None:
    with emulator.namespace() as namespace:
        number, token, pin = namespace.phone_number_id, namespace.token, namespace.pin
        for attempt in range(10):
            assert register(emulator.base_url, number, token, pin) == (200, {"success": True}), attempt
        status, body = register(emulator.base_url, number, token, pin)
        assert status == 400
        assert error_code(body) == 133016
        assert body["error"]["message"] == "(#133016) Account register deregister rate limit exceeded"
        window = emulator.control.limits(number)["register"]
        assert window["used"] == 10 and window["remaining"] == 0
        assert window["blocked_until"] is not None
        # Still blocked just before the 72 hours are over, free after them.
        emulator.control.advance_clock("71h")
        assert error_code(register(emulator.base_url, number, token, pin)[1]) == 133016
        emulator.control.advance_clock(timedelta(hours=1, seconds=1))
        assert register(emulator.base_url, number, token, pin) == (200, {"success": True})


def test_namespaces_are_isolated(emulator: Emulator) -> None:
    with emulator.namespace() as first, emulator.namespace() as second:
        assert first.id != second.id and first.token != second.token
        assert first.token not in repr(first)
        assert first.number_ids() != second.number_ids()
        assert len(first.numbers) == 6  # copies of the first fixture WABA
        assert register(emulator.base_url, first.phone_number_id, first.token, first.pin)[0] == 200
        assert emulator.control.number(first.phone_number_id)["registered"] is True
        assert emulator.control.number(second.phone_number_id)["registered"] is False
        # A namespace's token may not act on another namespace's numbers.
        status, body = register(emulator.base_url, second.phone_number_id, first.token, second.pin)
        assert (status, error_code(body), body["error"].get("error_subcode")) == (400, 100, 33)
        first.reset()
        assert emulator.control.number(first.phone_number_id)["registered"] is False
        token = second.token
    # Deleted on leaving the block: its token is unknown now.
    status, body = register(emulator.base_url, second.phone_number_id, token, second.pin)
    assert (status, error_code(body)) == (401, 190)
    with pytest.raises(ControlError) as raised:
        emulator.control.delete_namespace(second.id)
    assert (raised.value.status, raised.value.kind) == (404, "not_found")


def test_each_namespace_travels_in_time_alone(emulator: Emulator) -> None:
    with emulator.namespace() as first, emulator.namespace() as second:
        for ns in (first, second):
            for _ in range(10):
                assert register(emulator.base_url, ns.phone_number_id, ns.token, ns.pin)[0] == 200
            status, body = register(emulator.base_url, ns.phone_number_id, ns.token, ns.pin)
            assert (status, error_code(body)) == (400, 133016)
        # The emulator runs on the system clock: its offset says whether anyone moved it.
        before = emulator.control.clock()["offset_ms"]
        clock = first.advance("72h")
        assert clock["follows_emulator"] is False
        assert register(emulator.base_url, first.phone_number_id, first.token, first.pin)[0] == 200
        # The other namespace and the emulator's clock did not move.
        status, body = register(emulator.base_url, second.phone_number_id, second.token, second.pin)
        assert (status, error_code(body)) == (400, 133016)
        assert second.clock()["follows_emulator"] is True
        assert emulator.control.clock()["offset_ms"] == before
        first.reset()
        assert first.clock()["follows_emulator"] is True


def test_control_errors_are_typed(emulator: Emulator) -> None:
    with pytest.raises(ControlError) as raised:
        emulator.control.number("999999999999999")
    assert raised.value.status == 404
    assert raised.value.kind == "not_found"
    assert "999999999999999" in raised.value.message
    with pytest.raises(ControlError) as raised:
        emulator.control.arm_fault(error_code=42)
    assert raised.value.status == 400
    assert "unknown error_code 42" in raised.value.message
    with pytest.raises(ControlError) as raised:
        emulator.control.advance_clock("soon")
    assert raised.value.status == 400
    with pytest.raises(ValueError):
        emulator.control.set_clock(datetime(2030, 1, 1))  # naive: refused before any request


def test_faults_journal_and_state(emulator: Emulator) -> None:
    control = emulator.control
    with emulator.namespace() as namespace:
        number, token, pin = namespace.phone_number_id, namespace.token, namespace.pin
        fault = control.arm_fault(error_code=133004, count=1, number=number, operation="register")
        assert fault["remaining"] == 1 and control.faults()[0]["id"] == fault["id"]
        status, body = register(emulator.base_url, number, token, pin)
        assert (status, error_code(body)) == (503, 133004)
        assert control.faults() == []
        latency = control.arm_fault(latency_ms=1, number=number)
        control.remove_fault(latency["id"])
        assert control.faults() == []
        assert register(emulator.base_url, number, token, pin)[0] == 200

        entries = control.journal(number=number, operation="register")
        assert [entry["status"] for entry in entries] == [503, 200]
        assert entries[0]["error_code"] == 133004
        assert pin not in str(entries[-1]["params"]) and token not in str(entries[-1]["headers"])
        control.clear_journal()
        assert control.journal(number=number) == []

        state = control.export_state()
        waba = next(waba for waba in state["wabas"] if waba["id"] == namespace.waba_id)
        assert next(n for n in waba["phone_numbers"] if n["id"] == number)["registered"] is True
        control.patch_number(number, registered=False)
        assert control.number(number)["registered"] is False
        control.import_state(state)
        assert control.number(number)["registered"] is True
        emulator.refresh_defaults()


def test_manual_clock_settings_and_a_hermetic_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WA_EMU_RATE_LIMIT", "1")  # not passed on: settings= is the way
    with Emulator(clock_start="2030-01-01T00:00:00Z", settings={"rate_limit": 2}) as emulator:
        clock = emulator.control.clock()
        assert clock["mode"] == "manual"
        assert clock["now"].startswith("2030-01-01T00:00:00")
        registered = "106540352242924"  # registered with PIN 123456 in the default fixtures
        codes = [error_code(register(emulator.base_url, registered, emulator.token, "123456")[1]) for _ in range(3)]
        assert codes == [None, None, 133016]
        later = emulator.control.set_clock(datetime(2030, 1, 4, 0, 0, 1, tzinfo=timezone.utc))
        assert later["now"].startswith("2030-01-04T00:00:01")
        assert register(emulator.base_url, registered, emulator.token, "123456")[0] == 200
        emulator.reset()
        assert emulator.control.limits(registered)["register"]["used"] == 0


def test_own_fixtures_and_extra_args(tmp_path: Path) -> None:
    fixtures = tmp_path / "fixtures.json"
    fixtures.write_text(
        '{"tokens": [{"value": "EAAMine"}], "wabas": [{"id": "1001", "phone_numbers": ['
        '{"id": "2001", "code_verification_status": "VERIFIED", "pin": "777777"}]}]}'
    )
    with Emulator(fixtures=fixtures, args=["--journal-capacity=0"]) as emulator:
        assert (emulator.token, emulator.phone_number_id, emulator.pin, emulator.waba_id) == (
            "EAAMine",
            "2001",
            "777777",
            "1001",
        )
        assert register(emulator.base_url, "2001", "EAAMine", "777777")[0] == 200
        assert emulator.control.journal() == []


def test_close_stops_the_process_and_leaves_no_zombie() -> None:
    emulator = Emulator()
    pid = emulator.pid
    assert pid is not None and emulator.returncode is None
    base_url = emulator.base_url
    emulator.close()
    emulator.close()  # idempotent
    assert emulator.returncode == 0  # SIGTERM: a graceful stop
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # already reaped
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    with pytest.raises(EmulatorStartError, match="unreachable"):
        Emulator.attach(base_url, timeout=0.2)


def test_a_bad_fixture_file_fails_the_start_with_the_emulators_message(tmp_path: Path) -> None:
    broken = tmp_path / "broken.json"
    broken.write_text('{"tokens": [], "wabas": [], "surprise": 1}')
    with pytest.raises(EmulatorStartError) as raised:
        Emulator(fixtures=broken)
    assert "broken.json" in str(raised.value)
    assert "surprise" in str(raised.value)


def test_the_binary_comes_from_the_installed_package() -> None:
    path = Path(find_binary())
    assert path.name == "wa-cloud-emulator"
    assert os.access(path, os.X_OK)
    if "WA_CLOUD_EMULATOR_BINARY" not in os.environ:
        # The wheel put it next to the interpreter of this environment (a venv's bin/).
        assert path.parent == Path(sys.prefix).resolve() / "bin"


def test_a_binary_that_cannot_start_or_exits_at_once() -> None:
    with pytest.raises(EmulatorStartError, match="cannot run /nonexistent"):
        Emulator(binary="/nonexistent/wa-cloud-emulator")
    with pytest.raises(EmulatorStartError, match="exited with code 0 before listening"):
        Emulator(binary="/bin/true")


def test_faults_the_client_cannot_see_through(emulator: Emulator) -> None:
    control = emulator.control
    with emulator.namespace() as namespace:
        number, token, pin = namespace.phone_number_id, namespace.token, namespace.pin
        # Applied, then the connection dropped: the app sees an error, the change is made.
        fault = control.arm_fault(number=number, operation="register", apply=True, answer="drop", count=1)
        assert (fault["apply"], fault["answer"]) == (True, "drop")
        with pytest.raises(OSError):  # urllib: the server closed without an answer
            register(emulator.base_url, number, token, pin)
        assert control.number(number)["registered"] is True
        counts = control.journal_counts(number=number, operation="register")
        assert (counts["applied"], counts["succeeded"], counts["dropped"], counts["answered"]) == (1, 1, 1, 0)
        entry = control.journal(number=number)[-1]
        assert (entry["delivery"], entry["fault_id"], entry["applied"]) == ("dropped", fault["id"], True)

        # Applied, answered code 2 with HTTP 500.
        control.arm_fault(number=number, apply=True, error_code=2, http_status=500, count=1)
        status, body = register(emulator.base_url, number, token, pin)
        assert (status, error_code(body)) == (500, 2)
        assert control.journal(number=number)[-1]["outcome"] == {"status": 200, "error_code": None}

        # A seeded flaky fault replays; the window is given as aware datetimes.
        now = _parse_instant(control.clock()["now"])
        flaky = control.arm_fault(
            number=number,
            operation="node",
            error_code=1,
            probability=0.5,
            seed=11,
            from_=now - timedelta(hours=1),
            until=now + timedelta(hours=1),
        )
        assert flaky["seed"] == 11 and flaky["probability"] == 0.5

        def run() -> list:
            return [graph(emulator.base_url, "GET", f"{number}?fields=id", token)[0] for _ in range(20)]

        first = run()
        control.clear_faults()
        control.arm_fault(number=number, operation="node", error_code=1, probability=0.5, seed=11)
        assert run() == first and 200 in first and 400 in first
        control.clear_faults()
        assert control.connections()["hung"] == 0
        with pytest.raises(ControlError) as raised:
            control.arm_fault(answer="hang")
        assert raised.value.status == 400 and "apply" in raised.value.message
