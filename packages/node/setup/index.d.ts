import type { Emulator, Json, Namespace, StartOptions } from "../index.js";

/** WA_EMULATOR_FIXTURES, WA_EMULATOR_CLOCK, WA_EMULATOR_CLOCK_START, WA_EMULATOR_ARGS. */
export declare function optionsFromEnv(env?: Record<string, string | undefined>): StartOptions;
/** Vitest globalSetup: starts the emulator, sets $WA_EMULATOR_URL, returns the teardown. */
export declare function vitestGlobalSetup(
  options?: StartOptions,
): (project?: { provide?(key: string, value: unknown): void }) => Promise<() => Promise<void>>;
/** Jest globalSetup. */
export declare function jestGlobalSetup(options?: StartOptions): () => Promise<void>;
/** Jest globalTeardown. */
export declare function jestGlobalTeardown(): () => Promise<void>;
/** The emulator of the global setup, attached through $WA_EMULATOR_URL (once per worker). */
export declare function sharedEmulator(): Promise<Emulator>;
/** A fresh namespace on the shared emulator. */
export declare function newNamespace(options?: { templateWaba?: string; numbers?: Record<string, Json>[] }): Promise<Namespace>;
