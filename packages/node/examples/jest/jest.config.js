// One emulator for the run (options from WA_EMULATOR_*); tests attach through $WA_EMULATOR_URL.
// The package is ESM: run with NODE_OPTIONS=--experimental-vm-modules.
export default {
  globalSetup: "wa-cloud-emulator/jest-global-setup",
  globalTeardown: "wa-cloud-emulator/jest-global-teardown",
  testMatch: ["**/*.jest.js"],
  transform: {},
};
