// The global-setup contract the Vitest and Jest setup files rely on, driven as the runners do:
// setup in the main process, workers (child processes) that inherit the environment and attach,
// then the teardown.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { test } from "node:test";
import { promisify } from "node:util";

import { URL_ENV } from "wa-cloud-emulator";
import { jestGlobalSetup, jestGlobalTeardown, optionsFromEnv, vitestGlobalSetup } from "wa-cloud-emulator/setup";

const run = promisify(execFile);

// What a test file does in a worker: a namespace of its own on the shared emulator.
const WORKER = `
import { newNamespace, sharedEmulator } from "wa-cloud-emulator/setup";
const emulator = await sharedEmulator();
const ns = await newNamespace();
const response = await fetch(emulator.graphUrl(ns.phoneNumberId + "/register"), {
  method: "POST",
  headers: { authorization: "Bearer " + ns.token, "content-type": "application/json" },
  body: JSON.stringify({ messaging_product: "whatsapp", pin: ns.pin }),
});
const clock = await emulator.control.clock();
await ns.delete();
console.log(JSON.stringify({ status: response.status, namespace: ns.id, baseUrl: emulator.baseUrl, mode: clock.mode, now: clock.now }));
`;

async function worker() {
  const { stdout } = await run(process.execPath, ["--input-type=module", "-e", WORKER], { env: process.env });
  return JSON.parse(stdout);
}

test("optionsFromEnv reads WA_EMULATOR_*", () => {
  assert.deepEqual(
    optionsFromEnv({ WA_EMULATOR_FIXTURES: "f.json", WA_EMULATOR_CLOCK_START: "2030-01-01T00:00:00Z", WA_EMULATOR_ARGS: "--rate-limit=3 --id-seed=9" }),
    { fixtures: "f.json", clockStart: "2030-01-01T00:00:00Z", args: ["--rate-limit=3", "--id-seed=9"] },
  );
  assert.deepEqual(optionsFromEnv({ WA_EMULATOR_ARGS: '["--tls-name", "a b"]' }), { args: ["--tls-name", "a b"] });
});

test("vitest global setup: shared emulator, per-worker namespaces, teardown", async () => {
  const provided = {};
  const teardown = await vitestGlobalSetup({ clockStart: "2031-01-01T00:00:00Z" })({ provide: (key, value) => (provided[key] = value) });
  const baseUrl = process.env[URL_ENV];
  assert.match(baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.equal(provided.waEmulatorUrl, baseUrl);
  const [a, b] = await Promise.all([worker(), worker()]);
  assert.equal(a.status, 200);
  assert.equal(b.status, 200);
  assert.equal(a.baseUrl, baseUrl);
  assert.notEqual(a.namespace, b.namespace, "each worker test got its own namespace");
  assert.equal(a.mode, "manual");
  assert.ok(a.now.startsWith("2031-01-01"));
  await teardown();
  assert.equal(process.env[URL_ENV], undefined);
  await assert.rejects(fetch(`${baseUrl}/__emulator/health`), "the emulator is stopped");
});

test("jest global setup and teardown", async () => {
  await jestGlobalSetup({})();
  const baseUrl = process.env[URL_ENV];
  try {
    const result = await worker();
    assert.equal(result.status, 200);
    assert.equal(result.mode, "system");
  } finally {
    await jestGlobalTeardown()();
  }
  await assert.rejects(fetch(`${baseUrl}/__emulator/health`));
});
