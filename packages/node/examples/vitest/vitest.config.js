// One emulator for the run (started by the package's global setup, options from WA_EMULATOR_*);
// its URL reaches the workers as $WA_EMULATOR_URL and through inject("waEmulatorUrl").
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    globalSetup: ["wa-cloud-emulator/vitest-global-setup"],
    include: ["**/*.vitest.js"],
  },
});
