// Jest: globalSetup: "wa-cloud-emulator/jest-global-setup" (options from WA_EMULATOR_*).
import { jestGlobalSetup } from "./index.js";

export default jestGlobalSetup();
