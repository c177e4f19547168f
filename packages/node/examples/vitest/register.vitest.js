// A fresh namespace per test: tests in different files (workers) do not see each other.
import { afterEach, beforeEach, expect, inject, test } from "vitest";
import { newNamespace, sharedEmulator } from "wa-cloud-emulator/setup";

let ns;
beforeEach(async () => {
  ns = await newNamespace();
});
afterEach(() => ns.delete());

async function register(pin) {
  const response = await fetch(`${ns.baseUrl}/v23.0/${ns.phoneNumberId}/register`, {
    method: "POST",
    headers: { authorization: `Bearer ${ns.token}`, "content-type": "application/json" },
    body: JSON.stringify({ messaging_product: "whatsapp", pin }),
  });
  return { status: response.status, body: await response.json() };
}

test("registers the namespace's number", async () => {
  expect(inject("waEmulatorUrl")).toBe(ns.baseUrl);
  expect(await register(ns.pin)).toEqual({ status: 200, body: { success: true } });
  const emulator = await sharedEmulator();
  expect((await emulator.control.number(ns.phoneNumberId)).status).toBe("CONNECTED");
});

test("a wrong PIN is 133005 once a PIN is set", async () => {
  expect((await register(ns.pin)).status).toBe(200);
  const wrong = await register("000000");
  expect(wrong.status).toBe(400);
  expect(wrong.body.error.code).toBe(133005);
});
