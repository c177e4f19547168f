// A real client library from npm, whatsapp-api-js, pointed at the emulator. It builds its URLs on
// https://graph.facebook.com but takes a custom fetch (its documented `ponyfill.fetch` option):
// emulatorFetch(baseUrl) sends those requests to the emulator. Nothing of the library is patched.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";

import { WhatsAppAPI } from "whatsapp-api-js";
import { Text } from "whatsapp-api-js/messages";
import { emulatorFetch, startEmulator } from "wa-cloud-emulator";

import { register } from "./helpers.js";

let emulator;
before(async () => {
  emulator = await startEmulator();
});
after(async () => {
  await emulator?.stop();
});

test("whatsapp-api-js sends through the emulator: 133010 before register, a wamid after", async () => {
  const ns = await emulator.namespace();
  try {
    const api = new WhatsAppAPI({ token: ns.token, v: "v23.0", secure: false, ponyfill: { fetch: emulatorFetch(emulator.baseUrl) } });
    const refused = await api.sendMessage(ns.phoneNumberId, "16505076520", new Text("hello"));
    assert.equal(refused.error?.code, 133010);
    assert.equal(refused.error?.message, "(#133010) Account not registered");

    assert.equal((await register(emulator.baseUrl, ns.phoneNumberId, ns.token, ns.pin)).status, 200);
    const sent = await api.sendMessage(ns.phoneNumberId, "16505076520", new Text("hello"));
    assert.equal(sent.error, undefined);
    assert.match(sent.messages[0].id, /^wamid\./);
    assert.equal(sent.contacts[0].wa_id, "16505076520");

    const sends = await emulator.control.journal({ number: ns.phoneNumberId, operation: "messages" });
    assert.deepEqual(sends.map((entry) => entry.status), [400, 200]);
    assert.equal(sends[1].path, `/v23.0/${ns.phoneNumberId}/messages`);
  } finally {
    await ns.delete();
  }
});

test("emulatorFetch leaves other hosts alone", async () => {
  const seen = [];
  const fake = async (url) => {
    seen.push(String(url));
    return new Response("{}");
  };
  const redirected = emulatorFetch("http://127.0.0.1:9", { fetch: fake });
  await redirected("https://graph.facebook.com/v23.0/1/register?x=1");
  await redirected("https://example.org/a");
  assert.deepEqual(seen, ["http://127.0.0.1:9/v23.0/1/register?x=1", "https://example.org/a"]);
});
