"""WaCloudEmulatorContainer against a locally built image.

Runs when ``WA_CLOUD_EMULATOR_IMAGE`` names the image (``.ci/packages.sh`` builds
``localhost/wa-cloud-emulator:packages-ci`` and points ``DOCKER_HOST`` at podman's socket);
skipped otherwise, unless ``WA_CLOUD_EMULATOR_REQUIRE_IMAGE=1`` turns the skip into a failure.
"""

from __future__ import annotations

import os

import pytest

from conftest import error_code, register

IMAGE = os.environ.get("WA_CLOUD_EMULATOR_IMAGE")
if not IMAGE:
    if os.environ.get("WA_CLOUD_EMULATOR_REQUIRE_IMAGE") == "1":
        raise RuntimeError("WA_CLOUD_EMULATOR_REQUIRE_IMAGE=1 but WA_CLOUD_EMULATOR_IMAGE is not set")
    pytest.skip("set WA_CLOUD_EMULATOR_IMAGE to a local image of the emulator", allow_module_level=True)

from wa_cloud_emulator import ControlClient, ControlError  # noqa: E402
from wa_cloud_emulator.testcontainers import WaCloudEmulatorContainer  # noqa: E402


@pytest.fixture(scope="module")
def container():
    with WaCloudEmulatorContainer(IMAGE, settings={"rate_limit": 2, "clock": "manual"}) as started:
        yield started


def test_container_serves_graph_and_control(container: WaCloudEmulatorContainer) -> None:
    assert container.control.health() == {"status": "ok"}
    assert (container.token, container.phone_number_id, container.pin) == (
        "EAAEmulatorDevToken",
        "106540352242922",
        "123456",
    )
    base = container.base_url
    assert register(base, container.phone_number_id, container.token, container.pin) == (200, {"success": True})
    assert register(base, container.phone_number_id, container.token, container.pin)[0] == 200
    # WA_EMU_RATE_LIMIT=2 reached the container.
    assert error_code(register(base, container.phone_number_id, container.token, container.pin)[1]) == 133016
    assert container.control.clock()["mode"] == "manual"
    container.control.advance_clock("72h")
    container.control.advance_clock(1)
    assert register(base, container.phone_number_id, container.token, container.pin)[0] == 200


def test_control_needs_the_generated_admin_token(container: WaCloudEmulatorContainer) -> None:
    anonymous = ControlClient(container.base_url)
    assert anonymous.health() == {"status": "ok"}  # always open
    with pytest.raises(ControlError) as raised:
        anonymous.numbers()
    assert (raised.value.status, raised.value.kind) == (401, "unauthorized")


def test_namespaces_in_the_container(container: WaCloudEmulatorContainer) -> None:
    with container.namespace() as namespace:
        assert register(container.base_url, namespace.phone_number_id, namespace.token, namespace.pin)[0] == 200
        assert container.control.number(namespace.phone_number_id)["registered"] is True
    with pytest.raises(ControlError):
        container.control.number(namespace.phone_number_id)


def test_fixtures_imported_at_start() -> None:
    document = {
        "tokens": [{"value": "EAAContainer"}],
        "wabas": [{"id": "7001", "phone_numbers": [{"id": "8001", "code_verification_status": "VERIFIED"}]}],
    }
    with WaCloudEmulatorContainer(IMAGE, fixtures=document) as container:
        assert (container.token, container.phone_number_id, container.waba_id) == ("EAAContainer", "8001", "7001")
        assert container.control.ready()["numbers"] == 1
        assert register(container.base_url, "8001", "EAAContainer", container.pin) == (200, {"success": True})
