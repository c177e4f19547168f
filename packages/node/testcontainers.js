// Testcontainers support: the emulator's container image with the same control client.
// Needs the optional peer dependency `testcontainers` and a Docker-compatible engine (Docker,
// or podman's socket through DOCKER_HOST).
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { AbstractStartedContainer, GenericContainer, Wait } from "testcontainers";

import { ControlClient, EmulatorError, createNamespace, defaultsFromState } from "./index.js";

/** The image when none is given ($WA_CLOUD_EMULATOR_IMAGE overrides it). */
export const DEFAULT_IMAGE = "wa-cloud-emulator:latest";
export const IMAGE_ENV = "WA_CLOUD_EMULATOR_IMAGE";
export const PORT = 8080;
export const HEALTH_PATH = "/__emulator/health";

function envName(name) {
  return `WA_EMU_${name.replace(/^-+/, "").replace(/([a-z0-9])([A-Z])/g, "$1_$2").replace(/-/g, "_").toUpperCase()}`;
}

/**
 * The emulator image as a Testcontainers container. It listens on 0.0.0.0, where the control
 * API is off unless an admin token is set: a random one is generated (WA_EMU_ADMIN_TOKEN) and
 * the started container's `control` sends it. The health check gates the start.
 */
export class WaCloudEmulatorContainer extends GenericContainer {
  #adminToken;
  #fixtures;

  constructor(image = process.env[IMAGE_ENV] || DEFAULT_IMAGE) {
    super(image);
    this.#adminToken = randomBytes(24).toString("base64url");
    this.withExposedPorts(PORT)
      .withEnvironment({ WA_EMU_ADMIN_TOKEN: this.#adminToken })
      .withWaitStrategy(Wait.forHttp(HEALTH_PATH, PORT).forStatusCode(200));
  }

  /** `WA_EMU_*` settings by name: `{ rateLimit: 3 }` or `{ rate_limit: 3 }` sets WA_EMU_RATE_LIMIT=3. */
  withSettings(settings) {
    const environment = {};
    for (const [name, value] of Object.entries(settings)) environment[envName(name)] = String(value);
    return this.withEnvironment(environment);
  }

  /** The control API's token (default: random). */
  withAdminToken(token) {
    this.#adminToken = token;
    return this.withEnvironment({ WA_EMU_ADMIN_TOKEN: token });
  }

  /**
   * A fixture document (object) or JSON file imported through PUT /__emulator/state once the
   * container is up. A control reset goes back to the image's fixtures, not to this document.
   */
  withFixtures(documentOrPath) {
    this.#fixtures = documentOrPath;
    return this;
  }

  async start() {
    const started = await super.start();
    try {
      const baseUrl = `http://${started.getHost()}:${started.getMappedPort(PORT)}`;
      const control = new ControlClient(baseUrl, { adminToken: this.#adminToken });
      if (this.#fixtures !== undefined) {
        const document = typeof this.#fixtures === "string" ? JSON.parse(await readFile(this.#fixtures, "utf8")) : this.#fixtures;
        await control.importState(document);
      }
      const container = new StartedWaCloudEmulatorContainer(started, baseUrl, control);
      await container.refreshDefaults();
      return container;
    } catch (error) {
      await started.stop();
      throw error;
    }
  }
}

export class StartedWaCloudEmulatorContainer extends AbstractStartedContainer {
  #defaults = null;

  constructor(started, baseUrl, control) {
    super(started);
    /** `http://HOST:PORT` of the published port. */
    this.baseUrl = baseUrl;
    /** The control client (with the admin token). */
    this.control = control;
  }

  getBaseUrl() {
    return this.baseUrl;
  }

  /** Reads the state export again for token, phoneNumberId, pin, wabaId. */
  async refreshDefaults() {
    const clock = await this.control.clock();
    this.#defaults = defaultsFromState(await this.control.exportState(), new Date(clock.now).getTime());
  }

  #default() {
    if (!this.#defaults) throw new EmulatorError("no verified number with a token that may register it in the state");
    return this.#defaults;
  }

  get token() { return this.#default().token; }
  get phoneNumberId() { return this.#default().phoneNumberId; }
  get pin() { return this.#default().pin; }
  get wabaId() { return this.#default().wabaId; }

  /** A fresh namespace in this container (see createNamespace). */
  namespace(options) {
    return createNamespace(this.control, options);
  }
}
