import { AbstractStartedContainer, GenericContainer, StartedTestContainer } from "testcontainers";

import type { ControlClient, FixtureDocument, Json, Namespace, Setting } from "./index.js";

export declare const DEFAULT_IMAGE: "wa-cloud-emulator:latest";
export declare const IMAGE_ENV: "WA_CLOUD_EMULATOR_IMAGE";
export declare const PORT: 8080;
export declare const HEALTH_PATH: "/__emulator/health";

/** The emulator image as a Testcontainers container (health-checked start, admin token set). */
export declare class WaCloudEmulatorContainer extends GenericContainer {
  /** Default image: $WA_CLOUD_EMULATOR_IMAGE or `wa-cloud-emulator:latest`. */
  constructor(image?: string);
  /** `WA_EMU_*` settings by name: `{ rateLimit: 3 }` sets WA_EMU_RATE_LIMIT=3. */
  withSettings(settings: Record<string, Setting>): this;
  withAdminToken(token: string): this;
  /** Imported through PUT /__emulator/state after the start. */
  withFixtures(documentOrPath: FixtureDocument | string): this;
  start(): Promise<StartedWaCloudEmulatorContainer>;
}

export declare class StartedWaCloudEmulatorContainer extends AbstractStartedContainer {
  constructor(started: StartedTestContainer, baseUrl: string, control: ControlClient);
  readonly baseUrl: string;
  readonly control: ControlClient;
  getBaseUrl(): string;
  refreshDefaults(): Promise<void>;
  readonly token: string;
  readonly phoneNumberId: string;
  readonly pin: string;
  readonly wabaId: string;
  namespace(options?: { templateWaba?: string; numbers?: Record<string, Json>[] }): Promise<Namespace>;
}
