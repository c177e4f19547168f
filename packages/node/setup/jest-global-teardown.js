// Jest: globalTeardown: "wa-cloud-emulator/jest-global-teardown".
import { jestGlobalTeardown } from "./index.js";

export default jestGlobalTeardown();
