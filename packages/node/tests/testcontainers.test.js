// WaCloudEmulatorContainer against a locally built image: runs when WA_CLOUD_EMULATOR_IMAGE names
// it (.ci/packages.sh builds one and points DOCKER_HOST at podman's socket); skipped otherwise,
// unless WA_CLOUD_EMULATOR_REQUIRE_IMAGE=1 turns the skip into a failure.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";

import { ControlClient, ControlError } from "wa-cloud-emulator";

import { errorCode, register } from "./helpers.js";

const image = process.env.WA_CLOUD_EMULATOR_IMAGE;
const required = process.env.WA_CLOUD_EMULATOR_REQUIRE_IMAGE === "1";
if (!image && required) throw new Error("WA_CLOUD_EMULATOR_REQUIRE_IMAGE=1 but WA_CLOUD_EMULATOR_IMAGE is not set");

describe("WaCloudEmulatorContainer", { skip: image ? false : "set WA_CLOUD_EMULATOR_IMAGE to a local image" }, () => {
  let container;
  before(async () => {
    const { WaCloudEmulatorContainer } = await import("wa-cloud-emulator/testcontainers");
    container = await new WaCloudEmulatorContainer(image).withSettings({ rateLimit: 2, clock: "manual" }).start();
  });
  after(async () => {
    await container?.stop();
  });

  test("serves Graph and control with the settings", async () => {
    assert.deepEqual(await container.control.health(), { status: "ok" });
    assert.deepEqual([container.token, container.phoneNumberId, container.pin], ["EAAEmulatorDevToken", "106540352242922", "123456"]);
    const { baseUrl } = container;
    assert.deepEqual(await register(baseUrl, container.phoneNumberId, container.token, container.pin), { status: 200, body: { success: true } });
    assert.equal((await register(baseUrl, container.phoneNumberId, container.token, container.pin)).status, 200);
    assert.equal(errorCode((await register(baseUrl, container.phoneNumberId, container.token, container.pin)).body), 133016);
    assert.equal((await container.control.clock()).mode, "manual");
    await container.control.advanceClock("72h");
    await container.control.advanceClock(1);
    assert.equal((await register(baseUrl, container.phoneNumberId, container.token, container.pin)).status, 200);
  });

  test("the control API needs the generated admin token", async () => {
    const anonymous = new ControlClient(container.baseUrl);
    assert.deepEqual(await anonymous.health(), { status: "ok" });
    await assert.rejects(anonymous.numbers(), (error) => error instanceof ControlError && error.status === 401 && error.kind === "unauthorized");
  });

  test("namespaces in the container", async () => {
    const ns = await container.namespace();
    assert.equal((await register(container.baseUrl, ns.phoneNumberId, ns.token, ns.pin)).status, 200);
    assert.equal((await container.control.number(ns.phoneNumberId)).registered, true);
    await ns.delete();
    await assert.rejects(container.control.number(ns.phoneNumberId), { kind: "not_found" });
  });

  test("fixtures imported at start", async () => {
    const { WaCloudEmulatorContainer } = await import("wa-cloud-emulator/testcontainers");
    const document = {
      tokens: [{ value: "EAAContainer" }],
      wabas: [{ id: "7001", phone_numbers: [{ id: "8001", code_verification_status: "VERIFIED" }] }],
    };
    const other = await new WaCloudEmulatorContainer(image).withFixtures(document).start();
    try {
      assert.deepEqual([other.token, other.phoneNumberId, other.wabaId], ["EAAContainer", "8001", "7001"]);
      assert.equal((await other.control.ready()).numbers, 1);
      assert.equal((await register(other.baseUrl, "8001", "EAAContainer", other.pin)).status, 200);
    } finally {
      await other.stop();
    }
  });
});
