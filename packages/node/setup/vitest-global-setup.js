// Vitest: globalSetup: ["wa-cloud-emulator/vitest-global-setup"] (options from WA_EMULATOR_*).
import { vitestGlobalSetup } from "./index.js";

export default vitestGlobalSetup();
