import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { inspect } from "node:util";

import { ControlError, startEmulator } from "wa-cloud-emulator";

import { register } from "./helpers.js";

const APP_ID = "880000000000001";
const APP_SECRET = "0e1d2c3b4a5968778695a4b3c2d1e0f0";

// A GET as the app's server makes it (no token for the code exchange).
async function get(url, query, token) {
  const response = await fetch(`${url}?${new URLSearchParams(query)}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
  });
  return { status: response.status, body: await response.json() };
}

describe("partner onboarding", () => {
  let emulator;
  before(async () => {
    emulator = await startEmulator();
  });
  after(async () => {
    await emulator?.stop();
  });

  test("the default app and its token", async () => {
    const [app] = await emulator.control.apps();
    assert.equal(app.id, APP_ID);
    assert.equal(app.name, "Emulator Partner App");
    assert.equal(emulator.appToken, `${APP_ID}|${APP_SECRET}`);
    assert.equal(await emulator.control.appToken(APP_ID), emulator.appToken);
    assert.ok(!inspect(emulator).includes(APP_SECRET), "the app token is not printed");
    await assert.rejects(emulator.control.appToken("1"), (error) => error instanceof ControlError && error.kind === "not_found");
  });

  test("a signup's code becomes a token scoped to the new WABA", async () => {
    const signup = await emulator.control.embeddedSignup({ granularScopes: "2026-06" });
    assert.equal(signup.event, "FINISH");
    assert.equal(JSON.parse(signup.message).data.waba_id, signup.waba_id);
    const exchange = { client_id: APP_ID, client_secret: APP_SECRET, code: signup.code };
    const exchanged = await get(emulator.graphUrl("oauth/access_token"), exchange);
    assert.equal(exchanged.status, 200, JSON.stringify(exchanged.body));
    const token = exchanged.body.access_token;
    const debug = await get(emulator.graphUrl("debug_token"), { input_token: token }, emulator.appToken);
    assert.equal(debug.body.data.type, "SYSTEM_USER");
    assert.deepEqual(debug.body.data.granular_scopes.map((entry) => entry.scope), [
      "business_management", "whatsapp_business_manage_events", "whatsapp_business_messaging",
    ]);
    assert.deepEqual(await register(emulator.baseUrl, signup.phone_number_id, token, "246810"), { status: 200, body: { success: true } });
    const again = await get(emulator.graphUrl("oauth/access_token"), exchange);
    assert.equal(again.body.error.error_subcode, 36009);
  });

  test("a cancelled signup creates nothing", async () => {
    const cancelled = await emulator.control.embeddedSignup({ finish: "CANCEL", currentStep: "PERMISSIONS" });
    assert.deepEqual(cancelled.session_info.data, { current_step: "PERMISSIONS" });
    assert.equal(cancelled.code, undefined);
    await assert.rejects(emulator.control.embeddedSignup({ preset: "bogus" }), (error) => error.status === 400);
  });

  test("presets and name reviews decide what register answers", async () => {
    const signup = await emulator.control.embeddedSignup({ preset: "name_pending" });
    const number = signup.phone_number_id;
    const { body } = await get(emulator.graphUrl("oauth/access_token"), { client_id: APP_ID, client_secret: APP_SECRET, code: signup.code });
    const token = body.access_token;
    const refused = await register(emulator.baseUrl, number, token, "246810");
    assert.equal(refused.body.error.error_subcode, 2388001);
    const review = await emulator.control.decideNameReview(number, "APPROVED");
    assert.equal(review.number.name_status, "APPROVED");
    await assert.rejects(emulator.control.decideNameReview(number, "APPROVED"), (error) => error.kind === "conflict");
    const held = await emulator.control.applyPreset(number, "other_partner");
    assert.equal(held.hold, "other_partner");
    assert.equal((await register(emulator.baseUrl, number, token, "246810")).body.error.error_subcode, 3441030);
    await emulator.control.applyPreset(number, "ready");
    assert.deepEqual(await register(emulator.baseUrl, number, token, "246810"), { status: 200, body: { success: true } });
  });
});
