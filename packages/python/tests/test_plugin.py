"""The pytest plugin as a user's suite sees it, run through pytester (a real inner session)."""

from __future__ import annotations

import pytest

USER_SUITE = '''
import json, urllib.request, urllib.error
import pytest
from wa_cloud_emulator import ControlError

SEEN = {}

def register(base_url, number, token, pin):
    request = urllib.request.Request(
        f"{base_url}/v23.0/{number}/register",
        data=json.dumps({"messaging_product": "whatsapp", "pin": pin}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())

def test_session_emulator(wa_emulator):
    assert wa_emulator.token == "EAAEmulatorDevToken"
    SEEN["base_url"] = wa_emulator.base_url

def test_first_namespace(wa_namespace, wa_emulator):
    assert wa_namespace.base_url == wa_emulator.base_url == SEEN["base_url"]
    assert register(wa_namespace.base_url, wa_namespace.phone_number_id, wa_namespace.token, wa_namespace.pin) == (200, {"success": True})
    SEEN["namespace"] = wa_namespace.id

def test_second_namespace_is_fresh_and_the_first_is_gone(wa_namespace, wa_emulator):
    assert wa_namespace.id != SEEN["namespace"]
    assert wa_emulator.control.number(wa_namespace.phone_number_id)["registered"] is False
    with pytest.raises(ControlError) as raised:
        wa_emulator.control.reset_namespace(SEEN["namespace"])
    assert raised.value.kind == "not_found"

def test_options_reached_the_binary(wa_emulator, wa_namespace):
    clock = wa_emulator.control.clock()
    assert clock["mode"] == "manual"
    assert clock["now"].startswith("2031-05-01T00:00:00")
    limit = wa_emulator.control.limits(wa_namespace.phone_number_id)["register"]["limit"]
    assert limit == 3
'''


def test_fixtures_and_command_line_options(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_user=USER_SUITE)
    result = pytester.runpytest(
        "-p",
        "no:cacheprovider",
        "--wa-emulator-clock-start=2031-05-01T00:00:00Z",
        "--wa-emulator-arg=--rate-limit=3",
        "--wa-emulator-arg=--journal-capacity=10",
    )
    result.assert_outcomes(passed=4)


def test_ini_options_and_a_fixture_file(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".json",
        **{
            "fixtures/mine": '{"tokens": [{"value": "EAAIni"}], "wabas": [{"id": "5001", "phone_numbers": ['
            '{"id": "6001", "code_verification_status": "VERIFIED"}]}]}'
        },
    )
    pytester.makeini(
        """
        [pytest]
        wa_emulator_fixtures = fixtures/mine.json
        wa_emulator_clock = manual
        wa_emulator_args = --rate-limit=1 --id-seed=7
        """
    )
    pytester.makepyfile(
        test_ini='''
        def test_ini(wa_emulator, wa_namespace):
            assert (wa_emulator.token, wa_emulator.phone_number_id, wa_emulator.waba_id) == ("EAAIni", "6001", "5001")
            assert wa_emulator.control.clock()["mode"] == "manual"
            assert [n["id"] for n in wa_emulator.control.numbers(waba_id="5001")] == ["6001"]
            assert len(wa_namespace.numbers) == 1 and wa_namespace.phone_number_id != "6001"
            assert wa_emulator.control.limits("6001")["register"]["limit"] == 1
        '''
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_a_failing_user_test_fails(pytester: pytest.Pytester) -> None:
    """The fixtures do not hide failures: a wrong expectation about the emulator fails."""
    pytester.makepyfile(
        test_wrong='''
        def test_wrong(wa_emulator):
            assert wa_emulator.pin == "000000"
        '''
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*assert '123456' == '000000'*"])


def test_help_lists_the_options(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "*--wa-emulator-fixtures=PATH*",
            "*--wa-emulator-clock-start=RFC3339*",
            "*--wa-emulator-arg=ARG*",
            "*--wa-emulator-url=URL*",
        ]
    )


def test_wa_emulator_url_attaches_to_a_running_emulator(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The CI-service path: --wa-emulator-url plus WA_EMULATOR_ADMIN_TOKEN; nothing is started
    and the running emulator outlives the session."""
    from wa_cloud_emulator import ControlClient, ControlError, Emulator

    with Emulator(admin_token="outer-secret") as outer:
        with pytest.raises(ControlError) as raised:
            ControlClient(outer.base_url).numbers()
        assert (raised.value.status, raised.value.kind) == (401, "unauthorized")
        monkeypatch.setenv("WA_EMULATOR_ADMIN_TOKEN", "outer-secret")
        pytester.makepyfile(
            test_attached=f'''
            def test_attached(wa_emulator, wa_namespace):
                assert wa_emulator.pid is None
                assert wa_emulator.base_url == "{outer.base_url}"
                assert wa_namespace.base_url == "{outer.base_url}"
                assert len(wa_emulator.control.numbers()) >= 7
            '''
        )
        result = pytester.runpytest("-p", "no:cacheprovider", f"--wa-emulator-url={outer.base_url}")
        result.assert_outcomes(passed=1)
        assert outer.returncode is None
        assert outer.control.ready()["status"] == "ready"
        assert "outer-secret" not in repr(outer.control)
