// Type-checks the package's declarations as a TypeScript user sees them
// (.ci/packages.sh: tsc --noEmit -p . in a project where the tarball is installed).
import {
  ControlClient,
  ControlError,
  attachEmulator,
  emulatorFetch,
  startEmulator,
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
