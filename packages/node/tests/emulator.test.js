import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { inspect } from "node:util";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { ControlClient, ControlError, EmulatorStartError, attachEmulator, startEmulator } from "wa-cloud-emulator";

import { errorCode, graph, register } from "./helpers.js";

describe("startEmulator", () => {
  let emulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(async () => {
    await emulator?.stop();
  });

  test("defaults come from the state export", async () => {
    assert.match(emulator.baseUrl, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(emulator.token, "EAAEmulatorDevToken");
    assert.equal(emulator.phoneNumberId, "106540352242922");
    assert.equal(emulator.pin, "123456");
    assert.equal(emulator.wabaId, "102290129340398");
    assert.deepEqual(await emulator.control.ready(), { status: "ready", numbers: 7 });
    assert.ok(!inspect(emulator).includes(emulator.token), "the token is not printed");
    assert.ok(!JSON.stringify(emulator).includes(emulator.token));
  });

  test("the 11th register is 133016 until the clock moves 72 hours", async () => {
    const ns = await emulator.namespace();
    try {
      for (let i = 0; i < 10; i += 1) {
        assert.deepEqual(await register(emulator.baseUrl, ns.phoneNumberId, ns.token, ns.pin), { status: 200, body: { success: true } });
      }
      const blocked = await register(emulator.baseUrl, ns.phoneNumberId, ns.token, ns.pin);
      assert.equal(blocked.status, 400);
      assert.equal(errorCode(blocked.body), 133016);
      assert.equal(blocked.body.error.message, "(#133016) Account register deregister rate limit exceeded");
      const window = (await emulator.control.limits(ns.phoneNumberId)).register;
      assert.equal(window.used, 10);
      assert.notEqual(window.blocked_until, null);
      await emulator.control.advanceClock("71h");
      assert.equal(errorCode((await register(emulator.baseUrl, ns.phoneNumberId, ns.token, ns.pin)).body), 133016);
      await emulator.control.advanceClock(3601);
      assert.equal((await register(emulator.baseUrl, ns.phoneNumberId, ns.token, ns.pin)).status, 200);
    } finally {
      await ns.delete();
    }
  });

  test("namespaces are isolated and deleted", async () => {
    const first = await emulator.namespace();
    const second = await emulator.namespace();
    assert.notEqual(first.id, second.id);
    assert.notEqual(first.token, second.token);
    assert.equal(first.numbers.length, 6);
    assert.equal((await register(emulator.baseUrl, first.phoneNumberId, first.token, first.pin)).status, 200);
    assert.equal((await emulator.control.number(first.phoneNumberId)).registered, true);
    assert.equal((await emulator.control.number(second.phoneNumberId)).registered, false);
    const foreign = await register(emulator.baseUrl, second.phoneNumberId, first.token, second.pin);
    assert.equal(foreign.status, 400);
    assert.equal(errorCode(foreign.body), 100);
    assert.equal(foreign.body.error.error_subcode, 33);
    await first.reset();
    assert.equal((await emulator.control.number(first.phoneNumberId)).registered, false);
    await first.delete();
    await first.delete(); // a second delete is a no-op
    await second.delete();
    const gone = await register(emulator.baseUrl, second.phoneNumberId, second.token, second.pin);
    assert.equal(gone.status, 401);
    assert.equal(errorCode(gone.body), 190);
  });

  test("each namespace travels in time alone", async () => {
    const first = await emulator.namespace();
    const second = await emulator.namespace();
    try {
      for (const ns of [first, second]) {
        for (let i = 0; i < 10; i += 1) {
          assert.equal((await register(emulator.baseUrl, ns.phoneNumberId, ns.token, ns.pin)).status, 200);
        }
        assert.equal(errorCode((await register(emulator.baseUrl, ns.phoneNumberId, ns.token, ns.pin)).body), 133016);
      }
      // The emulator runs on the system clock: its offset says whether anyone moved it.
      const before = (await emulator.control.clock()).offset_ms;
      assert.equal((await first.advance("72h")).follows_emulator, false);
      assert.equal((await register(emulator.baseUrl, first.phoneNumberId, first.token, first.pin)).status, 200);
      assert.equal(errorCode((await register(emulator.baseUrl, second.phoneNumberId, second.token, second.pin)).body), 133016);
      assert.equal((await second.clock()).follows_emulator, true);
      assert.equal((await emulator.control.clock()).offset_ms, before);
      await first.reset();
      assert.equal((await first.clock()).follows_emulator, true);
    } finally {
      await first.delete();
      await second.delete();
    }
  });

  test("control errors are typed", async () => {
    await assert.rejects(emulator.control.number("999999999999999"), (error) => {
      assert.ok(error instanceof ControlError);
      assert.equal(error.status, 404);
      assert.equal(error.kind, "not_found");
      assert.match(error.detail, /999999999999999/);
      return true;
    });
    await assert.rejects(emulator.control.armFault({ errorCode: 42 }), (error) => {
      assert.equal(error.status, 400);
      assert.match(error.detail, /unknown error_code 42/);
      return true;
    });
    await assert.rejects(emulator.control.advanceClock("soon"), { name: "ControlError", status: 400 });
  });

  test("faults, journal and state", async () => {
    const { control } = emulator;
    const ns = await emulator.namespace();
    try {
      const fault = await control.armFault({ errorCode: 133004, count: 1, number: ns.phoneNumberId, operation: "register" });
      assert.equal(fault.remaining, 1);
      assert.equal((await control.faults())[0].id, fault.id);
      const faulted = await register(emulator.baseUrl, ns.phoneNumberId, ns.token, ns.pin);
      assert.equal(faulted.status, 503);
      assert.equal(errorCode(faulted.body), 133004);
      assert.deepEqual(await control.faults(), []);
      const latency = await control.armFault({ latencyMs: 1, number: ns.phoneNumberId });
      await control.removeFault(latency.id);
      assert.deepEqual(await control.faults(), []);
      assert.equal((await register(emulator.baseUrl, ns.phoneNumberId, ns.token, ns.pin)).status, 200);

      const entries = await control.journal({ number: ns.phoneNumberId, operation: "register" });
      assert.deepEqual(entries.map((entry) => entry.status), [503, 200]);
      assert.ok(!JSON.stringify(entries).includes(ns.token), "the journal masks the token");
      await control.clearJournal();
      assert.deepEqual(await control.journal({ number: ns.phoneNumberId }), []);

      const state = await control.exportState();
      await control.patchNumber(ns.phoneNumberId, { registered: false });
      assert.equal((await control.number(ns.phoneNumberId)).registered, false);
      await control.importState(state);
      assert.equal((await control.number(ns.phoneNumberId)).registered, true);
    } finally {
      await ns.delete();
    }
  });

  test("faults the client cannot see through", async () => {
    const { control } = emulator;
    const ns = await emulator.namespace();
    try {
      // Applied, then the connection dropped: fetch fails, the number is registered.
      const fault = await control.armFault({ number: ns.phoneNumberId, operation: "register", apply: true, answer: "drop", count: 1 });
      assert.equal(fault.apply, true);
      assert.equal(fault.answer, "drop");
      await assert.rejects(register(emulator.baseUrl, ns.phoneNumberId, ns.token, ns.pin), TypeError);
      assert.equal((await control.number(ns.phoneNumberId)).registered, true);
      const counts = await control.journalCounts({ number: ns.phoneNumberId, operation: "register" });
      assert.deepEqual([counts.applied, counts.succeeded, counts.dropped, counts.answered], [1, 1, 1, 0]);
      const [entry] = await control.journal({ number: ns.phoneNumberId });
      assert.deepEqual([entry.delivery, entry.fault_id, entry.applied], ["dropped", fault.id, true]);

      // Applied, answered code 2 with HTTP 500.
      await control.armFault({ number: ns.phoneNumberId, apply: true, errorCode: 2, httpStatus: 500, count: 1 });
      const faulted = await register(emulator.baseUrl, ns.phoneNumberId, ns.token, ns.pin);
      assert.deepEqual([faulted.status, errorCode(faulted.body)], [500, 2]);
      assert.deepEqual((await control.journal({ number: ns.phoneNumberId })).at(-1).outcome, { status: 200, error_code: null });

      // A seeded flaky fault replays, inside a window given as Dates on the emulator's clock.
      const now = new Date((await control.clock()).now);
      const run = async () => {
        const statuses = [];
        for (let i = 0; i < 20; i += 1) {
          statuses.push((await graph(emulator.baseUrl, "GET", `${ns.phoneNumberId}?fields=id`, ns.token)).status);
        }
        return statuses;
      };
      const flaky = await control.armFault({
        number: ns.phoneNumberId, operation: "node", errorCode: 1, probability: 0.5, seed: 11,
        from: new Date(now.getTime() - 3_600_000), until: new Date(now.getTime() + 3_600_000),
      });
      assert.equal(flaky.seed, 11);
      const first = await run();
      await control.clearFaults();
      await control.armFault({ number: ns.phoneNumberId, operation: "node", errorCode: 1, probability: 0.5, seed: 11 });
      assert.deepEqual(await run(), first);
      assert.ok(first.includes(200) && first.includes(400), first.join());
      await control.clearFaults();
      assert.equal((await control.connections()).hung, 0);
      await assert.rejects(control.armFault({ answer: "hang" }), (error) => {
        assert.equal(error.status, 400);
        assert.match(error.detail, /apply/);
        return true;
      });
    } finally {
      await ns.delete();
    }
  });

  test("a message to an unregistered number is 133010", async () => {
    const ns = await emulator.namespace();
    const message = { messaging_product: "whatsapp", to: "16505076520", type: "text", text: { body: "hi" } };
    const refused = await graph(emulator.baseUrl, "POST", `${ns.phoneNumberId}/messages`, ns.token, message);
    assert.equal(refused.status, 400);
    assert.equal(errorCode(refused.body), 133010);
    await ns.delete();
  });
});

test("manual clock, settings, and WA_EMU_* of this process are not inherited", async () => {
  process.env.WA_EMU_RATE_LIMIT = "1";
  const emulator = await startEmulator({ clockStart: "2030-01-01T00:00:00Z", settings: { rateLimit: 2 } });
  delete process.env.WA_EMU_RATE_LIMIT;
  try {
    const clock = await emulator.control.clock();
    assert.equal(clock.mode, "manual");
    assert.ok(clock.now.startsWith("2030-01-01T00:00:00"));
    const registered = "106540352242924";
    const codes = [];
    for (let i = 0; i < 3; i += 1) codes.push(errorCode((await register(emulator.baseUrl, registered, emulator.token, "123456")).body));
    assert.deepEqual(codes, [null, null, 133016]);
    await emulator.control.setClock(new Date("2030-01-04T00:00:01Z"));
    assert.equal((await register(emulator.baseUrl, registered, emulator.token, "123456")).status, 200);
    await emulator.control.reset();
    assert.equal((await emulator.control.limits(registered)).register.used, 0);
  } finally {
    await emulator.stop();
  }
});

test("adminToken guards the control API; attachEmulator sends it", async () => {
  const emulator = await startEmulator({ adminToken: "node-secret" });
  try {
    await assert.rejects(new ControlClient(emulator.baseUrl).numbers(), { kind: "unauthorized", status: 401 });
    assert.equal((await emulator.control.numbers()).length, 7);
    const attached = await attachEmulator(emulator.baseUrl, { adminToken: "node-secret" });
    assert.equal(attached.phoneNumberId, "106540352242922");
    assert.equal(await attached.stop(), null, "stop() on an attached emulator leaves it running");
    assert.deepEqual(await emulator.control.health(), { status: "ok" });
    assert.ok(!inspect(emulator.control).includes("node-secret"));
  } finally {
    await emulator.stop();
  }
});

test("own fixtures and extra args", async () => {
  const dir = await mkdtemp(join(tmpdir(), "wa-emu-node-"));
  const fixtures = join(dir, "fixtures.json");
  await writeFile(
    fixtures,
    JSON.stringify({ tokens: [{ value: "EAAMine" }], wabas: [{ id: "1001", phone_numbers: [{ id: "2001", code_verification_status: "VERIFIED", pin: "777777" }] }] }),
  );
  const emulator = await startEmulator({ fixtures, args: ["--journal-capacity=0"] });
  try {
    assert.deepEqual([emulator.token, emulator.phoneNumberId, emulator.pin, emulator.wabaId], ["EAAMine", "2001", "777777", "1001"]);
    assert.equal((await register(emulator.baseUrl, "2001", "EAAMine", "777777")).status, 200);
    assert.deepEqual(await emulator.control.journal(), []);
  } finally {
    await emulator.stop();
    await rm(dir, { recursive: true, force: true });
  }
});

test("stop() ends the process", async () => {
  const emulator = await startEmulator();
  const { pid, baseUrl } = emulator;
  assert.equal(emulator.exitCode, null);
  assert.equal(await emulator.stop(), 0, "SIGTERM: a graceful stop");
  assert.equal(emulator.exitCode, 0);
  assert.throws(() => process.kill(pid, 0), { code: "ESRCH" });
  await assert.rejects(attachEmulator(baseUrl, { timeoutMs: 200 }), EmulatorStartError);
});

test("a bad fixture file fails the start with the emulator's message", async () => {
  const dir = await mkdtemp(join(tmpdir(), "wa-emu-node-"));
  const broken = join(dir, "broken.json");
  await writeFile(broken, '{"tokens": [], "wabas": [], "surprise": 1}');
  try {
    await assert.rejects(startEmulator({ fixtures: broken }), (error) => {
      assert.ok(error instanceof EmulatorStartError);
      assert.match(error.message, /broken\.json/);
      assert.match(error.message, /surprise/);
      return true;
    });
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("a binary that cannot start or exits at once is an EmulatorStartError", async () => {
  await assert.rejects(startEmulator({ binary: "/nonexistent/wa-cloud-emulator" }), (error) => {
    assert.ok(error instanceof EmulatorStartError);
    assert.match(error.message, /ENOENT/);
    return true;
  });
  await assert.rejects(startEmulator({ binary: "/bin/true" }), /exited \(code 0\) before listening/);
});
