// Global setup for test runners: one emulator for the whole run, its address shared with the
// test workers through $WA_EMULATOR_URL, and a fresh namespace per test.
import { ADMIN_TOKEN_ENV, URL_ENV, attachEmulator, startEmulator } from "../index.js";

const HANDLE = Symbol.for("wa-cloud-emulator.global");

/**
 * Options from the environment, for the zero-configuration setup files:
 * WA_EMULATOR_FIXTURES (file), WA_EMULATOR_CLOCK_START (RFC 3339; implies a manual clock),
 * WA_EMULATOR_CLOCK (system|manual), WA_EMULATOR_ARGS (extra arguments: a JSON array, or
 * separated by spaces).
 */
export function optionsFromEnv(env = process.env) {
  const options = {};
  if (env.WA_EMULATOR_FIXTURES) options.fixtures = env.WA_EMULATOR_FIXTURES;
  if (env.WA_EMULATOR_CLOCK) options.clock = env.WA_EMULATOR_CLOCK;
  if (env.WA_EMULATOR_CLOCK_START) options.clockStart = env.WA_EMULATOR_CLOCK_START;
  const args = env.WA_EMULATOR_ARGS?.trim();
  if (args) options.args = args.startsWith("[") ? JSON.parse(args) : args.split(/\s+/);
  return options;
}

async function startShared(options) {
  const emulator = await startEmulator(options);
  globalThis[HANDLE] = emulator;
  // Workers start after the global setup and inherit the environment.
  process.env[URL_ENV] = emulator.baseUrl;
  if (options?.adminToken) process.env[ADMIN_TOKEN_ENV] = options.adminToken;
  return emulator;
}

async function stopShared() {
  const emulator = globalThis[HANDLE];
  delete globalThis[HANDLE];
  if (process.env[URL_ENV] === emulator?.baseUrl) delete process.env[URL_ENV];
  await emulator?.stop();
}

/**
 * Vitest `globalSetup`: `export default vitestGlobalSetup({ ...startOptions })`. Starts the
 * emulator, sets $WA_EMULATOR_URL (and `provide("waEmulatorUrl", ...)`), and returns the
 * teardown that stops it.
 */
export function vitestGlobalSetup(options = optionsFromEnv()) {
  return async function setup(project) {
    const emulator = await startShared(options);
    project?.provide?.("waEmulatorUrl", emulator.baseUrl);
    return stopShared;
  };
}

/** Jest `globalSetup`: `export default jestGlobalSetup({ ...startOptions })`. */
export function jestGlobalSetup(options = optionsFromEnv()) {
  return async function globalSetup() {
    await startShared(options);
  };
}

/** Jest `globalTeardown`: `export default jestGlobalTeardown()`. */
export function jestGlobalTeardown() {
  return async function globalTeardown() {
    await stopShared();
  };
}

let shared;
/**
 * In a test file or worker: the emulator the global setup started (attached through
 * $WA_EMULATOR_URL, once per worker). `stop()` on it does nothing.
 */
export function sharedEmulator() {
  shared ??= attachEmulator().catch((error) => {
    shared = undefined;
    throw error;
  });
  return shared;
}

/** A fresh namespace on the shared emulator; delete it in afterEach. */
export async function newNamespace(options) {
  return (await sharedEmulator()).namespace(options);
}
