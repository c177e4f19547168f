import { afterEach, beforeEach, expect, test } from "vitest";
import { newNamespace, sharedEmulator } from "wa-cloud-emulator/setup";

let ns;
beforeEach(async () => {
  ns = await newNamespace();
});
afterEach(() => ns.delete());

test("the 11th register in 72 hours is 133016, and the clock is the run's manual one", async () => {
  const emulator = await sharedEmulator();
  const clock = await emulator.control.clock();
  expect(clock.mode).toBe(process.env.WA_EMULATOR_CLOCK_START ? "manual" : "system");
  const codes = [];
  for (let i = 0; i < 11; i += 1) {
    const response = await fetch(emulator.graphUrl(`${ns.phoneNumberId}/register`), {
      method: "POST",
      headers: { authorization: `Bearer ${ns.token}`, "content-type": "application/json" },
      body: JSON.stringify({ messaging_product: "whatsapp", pin: ns.pin }),
    });
    codes.push((await response.json()).error?.code ?? response.status);
  }
  expect(codes).toEqual([...Array(10).fill(200), 133016]);
});
