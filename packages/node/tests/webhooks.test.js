// Webhooks from the package: the control helpers, the receiver, and the acceptance test:
// a receiver written with whatsapp-api-js (its WhatsAppAPI get() for the handshake and post(data,
// raw_body, signature), which checks X-Hub-Signature-256 with the app secret) accepts the
// emulator's deliveries unchanged.
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, test } from "node:test";

import { WhatsAppAPI } from "whatsapp-api-js";
import {
  ControlError,
  signWebhook,
  startEmulator,
  startWebhookReceiver,
  verifyWebhookSignature,
} from "wa-cloud-emulator";

import { graph } from "./helpers.js";

const APP_ID = "880000000000001";
const APP_SECRET = "0e1d2c3b4a5968778695a4b3c2d1e0f0";
const TOKEN = "EAAEmulatorDevToken";
const WABA = "102290129340398";
const REGISTERED = "106540352242924"; // registered in the default fixtures
const CUSTOMER = "15550001111";
// Non-ASCII (two- and three-byte, an astral emoji) and a "/": Meta writes \uXXXX and "\/".
const TEXT = "¿Café / té? ✓ 👋";

async function subscribeWaba(baseUrl, waba, token) {
  assert.deepEqual(await graph(baseUrl, "POST", `${waba}/subscribed_apps`, token), { status: 200, body: { success: true } });
}

// The log once every listed delivery is ready (the receiver sees the bytes before the emulator
// logs the attempt's outcome).
async function loggedWhen(control, ready, filter) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const logged = await control.deliveries(filter);
    if (logged.every(ready) || Date.now() > deadline) return logged;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe("webhooks", () => {
  let emulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(async () => {
    await emulator?.stop();
  });

  test("the helpers drive callbacks, events, the log and faults", async () => {
    const control = emulator.control;
    const receiver = await startWebhookReceiver({ appSecret: APP_SECRET });
    try {
      await assert.rejects(
        control.setAppWebhook(APP_ID, { callbackUrl: receiver.url, verifyToken: "wrong" }),
        (error) => error instanceof ControlError && error.kind === "conflict" && error.detail.includes("(#2200)"),
      );
      assert.equal(receiver.handshakes.at(-1).status, 403);
      const app = await control.setAppWebhook(APP_ID, { callbackUrl: receiver.url, verifyToken: "verify-me", fields: ["messages", "account_update"] });
      assert.equal(app.webhook.callback_url, receiver.url);
      assert.deepEqual(receiver.handshakes.at(-1).mode, "subscribe");

      assert.deepEqual((await control.inboundMessage(REGISTERED, { from: CUSTOMER, text: "hola" })).deliveries, []);
      await subscribeWaba(emulator.baseUrl, WABA, TOKEN);
      const emitted = await control.inboundMessage(REGISTERED, { from: CUSTOMER, text: TEXT, name: "Zoë" });
      const [first] = emitted.deliveries;
      const [received] = await receiver.waitFor(1);
      assert.ok(received.signatureValid);
      assert.equal(received.headers["content-type"], "application/json");
      assert.ok(received.text.includes("\\/") && /^[\x00-\x7f]*$/.test(received.text));
      assert.equal(received.json().entry[0].changes[0].value.messages[0].text.body, TEXT);

      const [logged] = await loggedWhen(control, (log) => log.state === "delivered", { field: "messages", numberId: REGISTERED });
      assert.equal(logged.id, first);
      assert.equal(logged.body, received.text);
      assert.equal(logged.signature, received.signature);
      assert.equal(logged.signature, signWebhook(APP_SECRET, received.body));
      assert.deepEqual(await control.deliveries({ since: first }), []);

      assert.equal((await control.redeliver(first)).id, first);
      assert.equal((await receiver.waitFor(2))[1].text, received.text);

      const fault = await control.armDeliveryFault({ kind: "duplicate", field: "account_update", count: 1 });
      assert.deepEqual([fault.kind, fault.remaining], ["duplicate", 1]);
      assert.deepEqual(await control.deliveryFaults(), [fault]);
      const value = { event: "VERIFIED_ACCOUNT", phone_number: "15550100003" };
      const [emittedId] = (await control.emitWebhook({ field: "account_update", wabaId: WABA, numberId: REGISTERED, value })).deliveries;
      const [one, two] = (await receiver.waitFor(4)).slice(2);
      assert.equal(one.text, two.text);
      assert.deepEqual(one.json().entry[0].changes[0], { value, field: "account_update" });
      const [emittedLog] = await loggedWhen(control, (log) => log.attempts.length === 2, { since: first });
      assert.equal(emittedLog.id, emittedId);

      const delayed = await control.armDeliveryFault({ kind: "delay", delayMs: 10 });
      await control.removeDeliveryFault(delayed.id);
      await control.armDeliveryFault({ kind: "drop", appId: APP_ID });
      await control.clearDeliveryFaults();
      assert.deepEqual(await control.deliveryFaults(), []);
      await assert.rejects(control.armDeliveryFault({ kind: "delay" }), (error) => error.kind === "invalid");

      receiver.answerNextPostsWith(500, 500);
      const [failing] = (await control.inboundMessage(REGISTERED, { from: CUSTOMER, text: "again" })).deliveries;
      await receiver.waitFor(6);
      const [retrying] = await loggedWhen(control, (log) => log.attempts.length === 2, { since: emittedId });
      assert.deepEqual([retrying.id, retrying.state], [failing, "retrying"]);
      await assert.rejects(control.redeliver(failing), (error) => error.kind === "conflict");

      await assert.rejects(control.businessAppEvent(REGISTERED, "ACCOUNT_OFFBOARDED"), (error) => error.kind === "conflict");
      const [partner] = (await control.partnerEvent(WABA, "PARTNER_APP_UNINSTALLED", { appId: APP_ID })).deliveries;
      const [partnerLog] = await control.deliveries({ field: "account_update", since: emittedId });
      assert.equal(partnerLog.id, partner);
      assert.deepEqual((await control.inboundMessage(REGISTERED, { from: CUSTOMER, text: "anyone?" })).deliveries, []);

      await control.clearDeliveries();
      assert.deepEqual(await control.deliveries(), []);
      await control.removeAppWebhook(APP_ID);
      assert.equal((await control.apps())[0].webhook, undefined);
    } finally {
      await receiver.close();
    }
  });

  test("signatures are checked over the raw bytes, and waitFor times out", async () => {
    assert.ok(verifyWebhookSignature("secret", "{}", signWebhook("secret", "{}")));
    assert.ok(!verifyWebhookSignature("secret", "{} ", signWebhook("secret", "{}")));
    assert.ok(!verifyWebhookSignature("secret", "{}", null));
    const receiver = await startWebhookReceiver({ appSecret: "secret" });
    try {
      await assert.rejects(receiver.waitFor(1, 100), /0 of 1 webhook deliveries/);
      assert.match(receiver.url, /^http:\/\/127\.0\.0\.1:\d+\/webhook$/);
    } finally {
      await receiver.close();
    }
  });

  test("a whatsapp-api-js receiver accepts the emulator's deliveries unchanged", async () => {
    const api = new WhatsAppAPI({ token: TOKEN, appSecret: APP_SECRET, webhookVerifyToken: "wa-api-verify", v: "v23.0" });
    const messages = [];
    const rejected = [];
    api.on.message = (args) => {
      messages.push(args);
    };
    // A callback as whatsapp-api-js's docs write one for a bare node:http server.
    const server = createServer((request, response) => {
      const url = new URL(request.url, "http://callback");
      if (request.method === "GET") {
        try {
          const challenge = api.get(Object.fromEntries(url.searchParams));
          response.writeHead(200).end(challenge);
        } catch (error) {
          response.writeHead(error.httpStatus ?? 403).end();
        }
        return;
      }
      const chunks = [];
      request.on("data", (chunk) => chunks.push(chunk));
      request.on("end", async () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        try {
          await api.post(JSON.parse(raw), raw, request.headers["x-hub-signature-256"]);
          response.writeHead(200).end();
        } catch (error) {
          rejected.push(error);
          response.writeHead(error.httpStatus ?? 500).end();
        }
      });
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const url = `http://127.0.0.1:${server.address().port}/whatsapp-api-js`;
      await emulator.control.setAppWebhook(APP_ID, { callbackUrl: url, verifyToken: "wa-api-verify", fields: ["messages"] });
      await subscribeWaba(emulator.baseUrl, WABA, TOKEN);
      const emitted = await emulator.control.inboundMessage(REGISTERED, { from: CUSTOMER, text: TEXT, name: "Zoë" });
      const [logged] = await loggedWhen(emulator.control, (log) => log.state !== "pending", { since: emitted.deliveries[0] - 1, field: "messages" });
      assert.deepEqual(rejected, []);
      assert.equal(logged.state, "delivered", JSON.stringify(logged.attempts));
      assert.ok(logged.body.includes("\\/"));
      assert.equal(messages.length, 1);
      const [{ phoneID, from, message, name }] = messages;
      assert.deepEqual([phoneID, from, name], [REGISTERED, CUSTOMER, "Zoë"]);
      assert.equal(message.text.body, TEXT);
      assert.equal(message.id, emitted.message_id);
      // The same check refuses bytes that are not the signed ones.
      const tampered = logged.body.replace(/\\\//g, "/");
      assert.equal(await api.verifyRequestSignature(tampered, logged.signature), false);
      assert.equal(await api.verifyRequestSignature(logged.body, logged.signature), true);
    } finally {
      await emulator.control.removeAppWebhook(APP_ID);
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
