import { afterEach, beforeEach, expect, test } from "@jest/globals";
import { newNamespace, sharedEmulator } from "wa-cloud-emulator/setup";

let ns;
beforeEach(async () => {
  ns = await newNamespace();
});
afterEach(() => ns.delete());

test("registers the namespace's number, then sends", async () => {
  const emulator = await sharedEmulator();
  const call = (path, body) =>
    fetch(emulator.graphUrl(`${ns.phoneNumberId}/${path}`), {
      method: "POST",
      headers: { authorization: `Bearer ${ns.token}`, "content-type": "application/json" },
      body: JSON.stringify({ messaging_product: "whatsapp", ...body }),
    }).then(async (response) => ({ status: response.status, body: await response.json() }));
  const text = { to: "16505076520", type: "text", text: { body: "hi" } };
  expect((await call("messages", text)).body.error.code).toBe(133010);
  expect(await call("register", { pin: ns.pin })).toEqual({ status: 200, body: { success: true } });
  expect((await call("messages", text)).body.messages[0].id).toMatch(/^wamid\./);
});

test("namespaces are isolated: another test's registration is not visible", async () => {
  const emulator = await sharedEmulator();
  expect((await emulator.control.number(ns.phoneNumberId)).registered).toBe(false);
});
