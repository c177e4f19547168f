// Type-checks the package's declarations as a TypeScript user sees them
// (.ci/packages.sh: tsc --noEmit -p . in a project where the tarball is installed).
import {
  ControlClient,
  ControlError,
  attachEmulator,
  emulatorFetch,
  startEmulator,
  startWebhookReceiver,
  verifyWebhookSignature,
  type DeliveryFault,
  type EmittedView,
  type ReceivedDelivery,
  type WebhookDelivery,
  type WebhookReceiver,
  type ClockView,
  type Emulator,
  type Namespace,
  type NumberView,
  type AppView,
  type NameReviewView,
  type Preset,
  type SignupView,
} from "wa-cloud-emulator";
import { newNamespace, sharedEmulator, vitestGlobalSetup } from "wa-cloud-emulator/setup";
import { WaCloudEmulatorContainer, type StartedWaCloudEmulatorContainer } from "wa-cloud-emulator/testcontainers";

export async function usage(): Promise<void> {
  const emulator: Emulator = await startEmulator({ clockStart: new Date(), settings: { rateLimit: 3 }, args: ["--id-seed=1"] });
  const id: string = emulator.phoneNumberId;
  const number: NumberView = await emulator.control.number(id);
  const registered: boolean = number.registered;
  const clock: ClockView = await emulator.control.advanceClock("72h");
  const mode: "system" | "manual" = clock.mode;
  const ns: Namespace = await emulator.namespace();
  const token: string = ns.token;
  await ns.delete();
  try {
    await new ControlClient(emulator.baseUrl).faults();
  } catch (error) {
    if (error instanceof ControlError) {
      const kind: string = error.kind;
      const status: number = error.status;
      void [kind, status];
    }
  }
  // Partner onboarding: a signup's code, presets and name reviews, the app token.
  const signup: SignupView = await emulator.control.embeddedSignup({ preset: "name_pending", granularScopes: "2026-06" });
  const authCode: string | undefined = signup.code;
  const appToken: string = emulator.appToken;
  const apps: AppView[] = await emulator.control.apps();
  const held: NumberView = await emulator.control.applyPreset(signup.phone_number_id ?? id, "other_partner");
  const review: NameReviewView = await emulator.control.decideNameReview(held.id, "APPROVED");
  const preset: Preset = "ready";
  void [authCode, appToken, apps, review.number.name_status, preset, await emulator.control.appToken()];
  // Webhooks: a callback for the test, events, the delivery log and faults.
  const receiver: WebhookReceiver = await startWebhookReceiver({ appSecret: apps[0].secret });
  await emulator.control.setAppWebhook(apps[0].id, { callbackUrl: receiver.url, verifyToken: "verify-me", fields: ["messages"] });
  const inbound: EmittedView = await emulator.control.inboundMessage(id, { from: "15550001111", text: "hola", name: "Zoë" });
  const [received]: ReceivedDelivery[] = await receiver.waitFor(1, 5_000);
  const valid: boolean = received.signatureValid && verifyWebhookSignature(apps[0].secret, received.body, received.signature);
  const logged: WebhookDelivery[] = await emulator.control.deliveries({ field: "messages", state: "delivered", since: 0 });
  const fault: DeliveryFault = await emulator.control.armDeliveryFault({ kind: "delay", delayMs: 100, count: 1 });
  await emulator.control.emitWebhook({ field: "account_update", wabaId: "1", value: { event: "VERIFIED_ACCOUNT" } });
  await emulator.control.partnerEvent("1", "PARTNER_REMOVED", { appId: apps[0].id });
  await emulator.control.businessAppEvent(id, "ACCOUNT_OFFBOARDED");
  await emulator.control.redeliver(logged[0].id);
  await emulator.control.removeDeliveryFault(fault.id);
  await receiver.close();
  void [inbound.deliveries, valid, logged[0].attempts[0].status, await emulator.control.deliveryFaults()];
  const fetcher: typeof fetch = emulatorFetch(emulator.baseUrl);
  const code: number | null = await emulator.stop();
  const attached: Emulator = await attachEmulator("http://127.0.0.1:8080", { adminToken: "x" });
  const shared: Emulator = await sharedEmulator();
  const other: Namespace = await newNamespace({ templateWaba: "102290129340398" });
  const setup = vitestGlobalSetup({ fixtures: "f.json" });
  const container: StartedWaCloudEmulatorContainer = await new WaCloudEmulatorContainer("img")
    .withSettings({ rateLimit: 2 })
    .withFixtures({ tokens: [], wabas: [] })
    .start();
  const base: string = container.baseUrl;
  await container.control.reset();
  await container.stop();
  void [registered, mode, token, fetcher, code, attached, shared, other, setup, base];
}
