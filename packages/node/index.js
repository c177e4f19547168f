// wa-cloud-emulator for Node: start the emulator binary shipped in this package, control it,
// and give each test an isolated namespace, and a webhook callback for tests. No dependencies:
// node:child_process, node:http, node:crypto and fetch.
import { spawn } from "node:child_process";
import { createHmac, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import { accessSync, constants as fsConstants } from "node:fs";
import { fileURLToPath } from "node:url";

export const BINARY_NAME = "wa-cloud-emulator";
/** The PIN used for a number that has none yet (registering sets it). */
export const DEFAULT_PIN = "123456";
/** Overrides the binary {@link findBinary} returns. */
export const BINARY_ENV = "WA_CLOUD_EMULATOR_BINARY";
/** Where the global setup files publish the emulator's address (and read it back). */
export const URL_ENV = "WA_EMULATOR_URL";
/** The control API's admin token of an emulator that needs one (never printed). */
export const ADMIN_TOKEN_ENV = "WA_EMULATOR_ADMIN_TOKEN";

const PREFIX = "/__emulator";
const MESSAGING = "whatsapp_business_messaging";
const MANAGEMENT = "whatsapp_business_management";
const BANNER = /listening on (http:\/\/\S+)/;

/** Base class of every error this package throws. */
export class EmulatorError extends Error {
  constructor(message, options) {
    super(message, options);
    this.name = "EmulatorError";
  }
}

/** The binary could not be found, did not start, or did not become ready. */
export class EmulatorStartError extends EmulatorError {
  constructor(message, options) {
    super(message, options);
    this.name = "EmulatorStartError";
  }
}

/**
 * A control API call failed: `status`, `kind` and `message` come from the emulator's
 * `{"emulator_error": {...}}` answer. A transport failure has status 0 and kind "unreachable";
 * an answer that is not a control error has kind "unexpected_response".
 */
export class ControlError extends EmulatorError {
  constructor(status, kind, message, { method = "", path = "", cause } = {}) {
    super(`${method ? `${method} ${path}: ` : ""}${kind} (${status}): ${message}`, cause ? { cause } : undefined);
    this.name = "ControlError";
    this.status = status;
    this.kind = kind;
    this.detail = message;
    this.method = method;
    this.path = path;
  }
}

/** The path of the emulator binary: $WA_CLOUD_EMULATOR_BINARY, else the one in this package. */
export function findBinary() {
  const explicit = process.env[BINARY_ENV];
  const candidate = explicit || fileURLToPath(new URL(`./bin/${BINARY_NAME}`, import.meta.url));
  try {
    accessSync(candidate, fsConstants.X_OK);
  } catch {
    throw new EmulatorStartError(
      explicit
        ? `${BINARY_ENV}=${explicit} is not an executable file`
        : `the package has no binary at ${candidate} (a package built without its prepack step?); set ${BINARY_ENV}`,
    );
  }
  return candidate;
}

function formatInstant(instant) {
  if (instant instanceof Date) return instant.toISOString();
  return String(instant);
}

function duration(by) {
  if (typeof by === "number" || typeof by === "string") return by;
  throw new TypeError('a duration is a string such as "72h" or a number of seconds');
}

function excerpt(text) {
  const trimmed = text.trim();
  return trimmed.length <= 300 ? trimmed : `${trimmed.slice(0, 300)}...`;
}

/** The control API (`/__emulator/`) of one emulator. Every method returns the decoded JSON. */
export class ControlClient {
  #adminToken;

  constructor(baseUrl, { adminToken, timeoutMs = 30_000 } = {}) {
    this.baseUrl = String(baseUrl).replace(/\/+$/, "");
    this.#adminToken = adminToken || undefined;
    this.timeoutMs = timeoutMs;
  }

  /** Sends one control request (`path` below `/__emulator`) and decodes the answer. */
  async request(method, path, { query, body } = {}) {
    let url = `${this.baseUrl}${PREFIX}${path}`;
    if (query) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) {
        if (value !== undefined && value !== null) params.set(key, value instanceof Date ? value.toISOString() : String(value));
      }
      const text = params.toString();
      if (text) url += `?${text}`;
    }
    const headers = { accept: "application/json" };
    if (body !== undefined) headers["content-type"] = "application/json";
    if (this.#adminToken) headers.authorization = `Bearer ${this.#adminToken}`;
    let response;
    try {
      response = await fetch(url, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new ControlError(0, "unreachable", `${this.baseUrl}: ${error?.cause?.code ?? error?.message ?? error}`, {
        method,
        path,
        cause: error,
      });
    }
    const text = await response.text();
    let document;
    try {
      document = text ? JSON.parse(text) : null;
    } catch {
      throw new ControlError(response.status, "unexpected_response", excerpt(text), { method, path });
    }
    if (!response.ok) {
      const error = document?.emulator_error;
      if (error && typeof error === "object") {
        throw new ControlError(Number(error.status ?? response.status), String(error.kind ?? "unknown"), String(error.message ?? ""), {
          method,
          path,
        });
      }
      throw new ControlError(response.status, "unexpected_response", excerpt(text), { method, path });
    }
    return document;
  }

  health() { return this.request("GET", "/health"); }
  ready() { return this.request("GET", "/ready"); }
  openapi() { return this.request("GET", "/openapi.json"); }

  async reset() { await this.request("POST", "/reset"); }
  exportState() { return this.request("GET", "/state"); }
  importState(document) { return this.request("PUT", "/state", { body: document }); }

  async numbers({ wabaId } = {}) { return (await this.request("GET", "/numbers", { query: { waba_id: wabaId } })).data; }
  number(id) { return this.request("GET", `/numbers/${encodeURIComponent(id)}`); }
  createNumber(wabaId, fields = {}) { return this.request("POST", "/numbers", { body: { waba_id: wabaId, ...fields } }); }
  patchNumber(id, changes) { return this.request("PATCH", `/numbers/${encodeURIComponent(id)}`, { body: changes }); }
  async deleteNumber(id) { await this.request("DELETE", `/numbers/${encodeURIComponent(id)}`); }
  limits(id) { return this.request("GET", `/numbers/${encodeURIComponent(id)}/limits`); }
  clearLimits(id, operation) {
    return this.request("DELETE", `/numbers/${encodeURIComponent(id)}/limits`, { query: { operation } });
  }
  async wabas() { return (await this.request("GET", "/wabas")).data; }
  async tokens() { return (await this.request("GET", "/tokens")).data; }

  clock() { return this.request("GET", "/clock"); }
  setClock(instant) { return this.request("POST", "/clock", { body: { set: formatInstant(instant) } }); }
  advanceClock(by) { return this.request("POST", "/clock", { body: { advance: duration(by) } }); }

  async journal({ number, operation, since, limit } = {}) {
    return (await this.request("GET", "/journal", { query: { number, operation, since, limit } })).data;
  }
  journalCounts({ number, operation, since, limit } = {}) {
    return this.request("GET", "/journal/counts", { query: { number, operation, since, limit } });
  }
  connections() { return this.request("GET", "/connections"); }
  async clearJournal() { await this.request("DELETE", "/journal"); }

  armFault({
    errorCode, latencyMs, count, number, operation,
    apply, answer, delayMs, httpStatus, probability, seed, from, until,
  } = {}) {
    const spec = {
      error_code: errorCode, latency_ms: latencyMs, count, number, operation,
      apply, answer, delay_ms: delayMs, http_status: httpStatus, probability, seed,
      from: from === undefined || from === null ? from : formatInstant(from),
      until: until === undefined || until === null ? until : formatInstant(until),
    };
    const body = Object.fromEntries(Object.entries(spec).filter(([, value]) => value !== undefined && value !== null));
    return this.request("POST", "/faults", { body });
  }
  async faults() { return (await this.request("GET", "/faults")).data; }
  async removeFault(id) { await this.request("DELETE", `/faults/${encodeURIComponent(id)}`); }
  async clearFaults() { await this.request("DELETE", "/faults"); }

  createNamespace({ templateWaba, numbers } = {}) {
    const body = {};
    if (templateWaba !== undefined) body.template_waba = templateWaba;
    if (numbers !== undefined) body.numbers = numbers;
    return this.request("POST", "/namespaces", { body });
  }
  resetNamespace(id) { return this.request("POST", `/namespaces/${encodeURIComponent(id)}/reset`); }
  async deleteNamespace(id) { await this.request("DELETE", `/namespaces/${encodeURIComponent(id)}`); }
  namespaceClock(id) { return this.request("GET", `/namespaces/${encodeURIComponent(id)}/clock`); }
  setNamespaceClock(id, instant) {
    return this.request("POST", `/namespaces/${encodeURIComponent(id)}/clock`, { body: { set: formatInstant(instant) } });
  }
  advanceNamespaceClock(id, by) {
    return this.request("POST", `/namespaces/${encodeURIComponent(id)}/clock`, { body: { advance: duration(by) } });
  }

  /** The partner apps, secrets included (the first is the app of tokens that name none). */
  async apps() { return (await this.request("GET", "/apps")).data; }
  /** Adds a partner app (a second partner, for instance); its id must be new. */
  createApp({ id, secret, name = "", webhook } = {}) {
    const body = { id, secret, name };
    if (webhook !== undefined) body.webhook = webhook;
    return this.request("POST", "/apps", { body });
  }
  /** `APP_ID|APP_SECRET` of `appId` (default: the first app), as debug_token takes it. */
  async appToken(appId) {
    const app = (await this.apps()).find((candidate) => appId === undefined || candidate.id === appId);
    if (!app) {
      const wanted = appId === undefined ? "a partner app" : `app ${appId}`;
      throw new ControlError(404, "not_found", `the emulator has no ${wanted}: declare it under apps in the fixtures`, {
        method: "GET",
        path: "/apps",
      });
    }
    return `${app.id}|${app.secret}`;
  }
  /**
   * What a customer's Embedded Signup creates (a business, a WABA and, for FINISH, a number in
   * `preset`) and what the popup hands the page: an authorization code (exchange it within 30
   * seconds) and the session-info message. CANCEL and ERROR create nothing.
   */
  embeddedSignup({
    appId, preset, finish, currentStep, errorCode, errorMessage,
    displayPhoneNumber, verifiedName, wabaName, granularScopes,
  } = {}) {
    const fields = {
      app_id: appId, preset, finish, current_step: currentStep, error_code: errorCode,
      error_message: errorMessage, display_phone_number: displayPhoneNumber,
      verified_name: verifiedName, waba_name: wabaName, granular_scopes: granularScopes,
    };
    const body = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== null));
    return this.request("POST", "/embedded-signup", { body });
  }
  /** Puts a number in an onboarding preset (`ready` releases it from any other). */
  applyPreset(id, preset) {
    return this.request("POST", `/numbers/${encodeURIComponent(id)}/preset`, { body: { preset } });
  }
  /** Approves or rejects the number's pending display-name review (a `conflict` when none). */
  decideNameReview(id, decision) {
    return this.request("POST", `/numbers/${encodeURIComponent(id)}/name-review`, { body: { decision } });
  }

  // ---- webhooks ----
  /**
   * Sets the app's callback as the App Dashboard does: the emulator runs the `hub.challenge`
   * handshake first (a callback that does not echo it is a `conflict` naming Meta's #2200
   * detail). `fields` defaults to the common `whatsapp_business_account` fields.
   */
  setAppWebhook(appId, { callbackUrl, verifyToken, fields } = {}) {
    const body = { callback_url: callbackUrl, verify_token: verifyToken };
    if (fields !== undefined) body.fields = fields;
    return this.request("PUT", `/apps/${encodeURIComponent(appId)}/webhook`, { body });
  }
  /** Removes the app's callback: nothing is delivered to it any more. */
  async removeAppWebhook(appId) { await this.request("DELETE", `/apps/${encodeURIComponent(appId)}/webhook`); }
  /** A customer writes `text` to the number: a `messages` webhook (none for an unregistered number). */
  inboundMessage(numberId, { from, text, name } = {}) {
    const body = { from, text };
    if (name !== undefined) body.name = name;
    return this.request("POST", `/numbers/${encodeURIComponent(numberId)}/inbound`, { body });
  }
  /** A coexistence number's WhatsApp Business app is offboarded or reconnected. */
  businessAppEvent(numberId, event) {
    return this.request("POST", `/numbers/${encodeURIComponent(numberId)}/business-app`, { body: { event } });
  }
  /** The partner or its app leaves the WABA; the app (default: the first) is told, then unsubscribed. */
  partnerEvent(wabaId, event, { appId } = {}) {
    const body = { event };
    if (appId !== undefined) body.app_id = appId;
    return this.request("POST", `/wabas/${encodeURIComponent(wabaId)}/partner-event`, { body });
  }
  /** Any documented field with this `value`, routed like the state's own events. */
  emitWebhook({ field, wabaId, value, numberId, entryId } = {}) {
    const body = { field, waba_id: wabaId, value };
    if (numberId !== undefined) body.number_id = numberId;
    if (entryId !== undefined) body.entry_id = entryId;
    return this.request("POST", "/webhooks/emit", { body });
  }
  /** The delivery log, oldest first, with attempts, the exact body and the signature. */
  async deliveries({ appId, field, numberId, wabaId, state, since, limit } = {}) {
    const query = { app_id: appId, field, number_id: numberId, waba_id: wabaId, state, since, limit };
    return (await this.request("GET", "/webhooks/deliveries", { query })).data;
  }
  /** Forgets the delivery log (queued deliveries are cancelled). */
  async clearDeliveries() { await this.request("DELETE", "/webhooks/deliveries"); }
  /** Sends a logged delivery's bytes again (a `conflict` while it is still pending or retrying). */
  redeliver(id) { return this.request("POST", `/webhooks/deliveries/${encodeURIComponent(id)}/redeliver`); }
  /** Makes the next matching deliveries misbehave: duplicate, reorder, delay, drop, retry_after_ack. */
  armDeliveryFault({ kind, delayMs, field, appId, numberId, count } = {}) {
    const fields = { kind, delay_ms: delayMs, field, app_id: appId, number_id: numberId, count };
    const body = Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined && value !== null));
    return this.request("POST", "/webhooks/faults", { body });
  }
  async deliveryFaults() { return (await this.request("GET", "/webhooks/faults")).data; }
  async removeDeliveryFault(id) { await this.request("DELETE", `/webhooks/faults/${encodeURIComponent(id)}`); }
  async clearDeliveryFaults() { await this.request("DELETE", "/webhooks/faults"); }

  // The admin token stays out of console.log / util.inspect.
  toJSON() { return { baseUrl: this.baseUrl }; }
  [Symbol.for("nodejs.util.inspect.custom")]() { return `ControlClient(${this.baseUrl}${this.#adminToken ? ", adminToken=<hidden>" : ""})`; }
}

function parseInstant(text) {
  return new Date(text).getTime();
}

/**
 * Picks, as the emulator's start-up banner does, the lowest verified number that is neither a
 * coexistence number nor awaiting a migration (unregistered numbers without a PIN first) and a
 * token with both WhatsApp permissions, unexpired, allowed on its WABA.
 */
export function defaultsFromState(state, now = Date.now()) {
  const numbers = [];
  for (const waba of state.wabas ?? []) {
    for (const number of waba.phone_numbers ?? []) {
      if (number.code_verification_status !== "VERIFIED" || number.coexistence || number.migration_pending) continue;
      numbers.push({ number, wabaId: String(waba.id) });
    }
  }
  const key = ({ number }) => [number.registered ? 1 : 0, number.pin == null ? 0 : 1, String(number.id).length, String(number.id)];
  numbers.sort((a, b) => {
    const [x, y] = [key(a), key(b)];
    for (let i = 0; i < x.length; i += 1) if (x[i] !== y[i]) return x[i] < y[i] ? -1 : 1;
    return 0;
  });
  const tokens = [...(state.tokens ?? [])].sort(
    (a, b) => Number(!(a.wabas ?? ["*"]).includes("*")) - Number(!(b.wabas ?? ["*"]).includes("*")),
  );
  for (const { number, wabaId } of numbers) {
    for (const token of tokens) {
      const permissions = token.permissions ?? [MANAGEMENT, MESSAGING];
      const wabas = token.wabas ?? ["*"];
      if (!permissions.includes(MESSAGING) || !permissions.includes(MANAGEMENT)) continue;
      if (!wabas.includes("*") && !wabas.includes(wabaId)) continue;
      if (token.expires_at != null && parseInstant(token.expires_at) <= now) continue;
      return { token: String(token.value), phoneNumberId: String(number.id), pin: String(number.pin ?? DEFAULT_PIN), wabaId };
    }
  }
  return null;
}

function pickNumber(numbers) {
  const ready = numbers.filter((n) => n.code_verification_status === "VERIFIED" && !n.coexistence && !n.migration_pending);
  ready.sort((a, b) => Number(a.registered) - Number(b.registered) || Number(a.pin_set) - Number(b.pin_set) || a.id.length - b.id.length || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return ready[0] ?? null;
}

/**
 * Creates a namespace (`POST /__emulator/namespaces`): its own WABA with copies of a fixture
 * WABA's numbers and a token allowed there only. `phoneNumberId` is its first verified,
 * unregistered number and `pin` registers it. Call `delete()` when done.
 */
export async function createNamespace(control, { templateWaba, numbers } = {}) {
  const view = await control.createNamespace({ templateWaba, numbers });
  const chosen = pickNumber(view.numbers);
  let pin = DEFAULT_PIN;
  if (chosen?.pin_set) {
    const state = await control.exportState();
    const waba = (state.wabas ?? []).find((w) => String(w.id) === view.waba_id);
    const stored = waba?.phone_numbers?.find((n) => String(n.id) === chosen.id)?.pin;
    if (stored) pin = String(stored);
  }
  let deleted = false;
  const namespace = {
    id: view.namespace,
    wabaId: view.waba_id,
    numbers: view.numbers,
    phoneNumberId: chosen?.id ?? null,
    pin,
    baseUrl: control.baseUrl,
    control,
    /** Its clock: it follows the emulator's until `advance` or `setClock`. */
    clock() { return control.namespaceClock(namespace.id); },
    /** Moves this namespace's clock only: its windows, blocks, lockouts and codes travel. */
    advance(by) { return control.advanceNamespaceClock(namespace.id, by); },
    /** Sets this namespace's clock only. */
    setClock(instant) { return control.setNamespaceClock(namespace.id, instant); },
    async reset() {
      const again = await control.resetNamespace(namespace.id);
      namespace.numbers = again.numbers;
    },
    async delete() {
      if (deleted) return;
      try {
        await control.deleteNamespace(namespace.id);
      } catch (error) {
        if (!(error instanceof ControlError && error.kind === "not_found")) throw error;
      }
      deleted = true;
    },
  };
  // The token is there for the test, but not enumerable: console.log(namespace) and
  // JSON.stringify(namespace) do not show it.
  Object.defineProperty(namespace, "token", { value: view.token, enumerable: false });
  if (Symbol.asyncDispose) namespace[Symbol.asyncDispose] = () => namespace.delete();
  return namespace;
}

async function waitReady(control, timeoutMs, child) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const ready = await control.ready();
      if (ready?.status === "ready") return;
    } catch (error) {
      if (!(error instanceof ControlError && error.kind === "unreachable") || Date.now() > deadline) {
        throw new EmulatorStartError(`${control.baseUrl} is not ready: ${error.message}`, { cause: error });
      }
    }
    if (child && child.exitCode !== null) throw new EmulatorStartError("the emulator exited while starting");
    if (Date.now() > deadline) throw new EmulatorStartError(`${control.baseUrl} did not become ready within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function handle(baseUrl, control, stop, extra = {}) {
  const clock = await control.clock();
  const state = await control.exportState();
  const defaults = defaultsFromState(state, parseInstant(clock.now));
  const firstApp = (state.apps ?? [])[0];
  const missing = () => {
    throw new EmulatorError("the loaded state has no verified number with a token that may register it");
  };
  const emulator = {
    baseUrl,
    control,
    get phoneNumberId() { return defaults ? defaults.phoneNumberId : missing(); },
    get pin() { return defaults ? defaults.pin : missing(); },
    get wabaId() { return defaults ? defaults.wabaId : missing(); },
    namespace: (options) => createNamespace(control, options),
    graphUrl: (path = "", version = "v23.0") => `${baseUrl}/${version}/${String(path).replace(/^\/+/, "")}`,
    stop,
  };
  Object.defineProperties(emulator, Object.getOwnPropertyDescriptors(extra));
  Object.defineProperty(emulator, "token", { get: () => (defaults ? defaults.token : missing()), enumerable: false });
  // The default app's token, read at start; like the token, not enumerable (not printed).
  Object.defineProperty(emulator, "appToken", {
    get: () => {
      if (!firstApp) throw new EmulatorError("the loaded state has no partner app: declare one under apps in the fixtures");
      return `${firstApp.id}|${firstApp.secret}`;
    },
    enumerable: false,
  });
  if (Symbol.asyncDispose) emulator[Symbol.asyncDispose] = stop;
  return emulator;
}

function settingsArgs(settings = {}) {
  return Object.entries(settings).map(([name, value]) => {
    const flag = `--${name.replace(/^-+/, "").replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`).replace(/_/g, "-")}`;
    return `${flag}=${typeof value === "boolean" ? String(value) : value}`;
  });
}

const running = new Set();
let exitHookInstalled = false;
function installExitHook() {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test process that ends without stop() (a crash, process.exit) takes its emulators along.
  process.on("exit", () => {
    for (const child of running) child.kill("SIGKILL");
  });
}

/**
 * Starts the emulator on a free loopback port and waits until it is ready.
 *
 * @param {import("./index.js").StartOptions} [options]
 * @returns {Promise<import("./index.js").Emulator>}
 */
export async function startEmulator(options = {}) {
  const {
    fixtures,
    clockStart,
    settings,
    args = [],
    binary,
    env,
    adminToken,
    startupTimeoutMs = 30_000,
    stopTimeoutMs = 10_000,
  } = options;
  let { clock } = options;
  const command = binary ?? findBinary();
  const argv = ["--listen", "127.0.0.1:0"];
  if (fixtures != null) argv.push(`--fixtures=${fixtures}`);
  if (clock == null && clockStart != null) clock = "manual";
  if (clock != null) argv.push(`--clock=${clock}`);
  if (clockStart != null) argv.push(`--clock-start=${formatInstant(clockStart)}`);
  argv.push(...settingsArgs(settings), ...args.map(String));
  // WA_EMU_* variables of this process are not passed on: a test run should not depend on the
  // shell it started in. Settings go through `settings`/`args`, or explicitly through `env`.
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith("WA_EMU_")));
  Object.assign(childEnv, env ?? {});
  if (adminToken) childEnv.WA_EMU_ADMIN_TOKEN = adminToken;

  const child = spawn(command, argv, { stdio: ["ignore", "pipe", "pipe"], env: childEnv });
  running.add(child);
  installExitHook();
  let stderr = "";
  child.stderr.setEncoding("utf8");
  child.stderr.on("data", (chunk) => {
    stderr = (stderr + chunk).slice(-4000);
  });
  // A forgotten emulator does not keep Node alive; the exit hook kills it.
  child.unref();
  child.stdout.unref?.();
  child.stderr.unref?.();
  const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
  exited.then(() => running.delete(child));

  const stop = async () => {
    if (child.pid === undefined) return null; // never started (spawn failed): nothing to stop
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), stopTimeoutMs);
    const { code } = await exited;
    clearTimeout(timer);
    return code;
  };

  const baseUrl = await new Promise((resolve, reject) => {
    let stdout = "";
    let settled = false;
    const timer = setTimeout(() => fail(new EmulatorStartError(`${command} did not report its address within ${startupTimeoutMs} ms: ${stderr.trim()}`)), startupTimeoutMs);
    function fail(error) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      stop().finally(() => reject(error));
    }
    child.once("error", (error) => fail(new EmulatorStartError(`cannot run ${command}: ${error.message}`, { cause: error })));
    child.stdout.setEncoding("utf8");
    // The banner holds a curl line with a token: it is parsed here and never printed.
    child.stdout.on("data", (chunk) => {
      stdout += chunk;
      const match = BANNER.exec(stdout);
      if (match && !settled) {
        settled = true;
        clearTimeout(timer);
        stdout = "";
        child.stdout.removeAllListeners("data");
        child.stdout.resume(); // keep draining whatever else comes
        resolve(match[1]);
      }
    });
    exited.then(({ code, signal }) => {
      // Give the stderr stream a moment to deliver the emulator's message.
      setTimeout(() => fail(new EmulatorStartError(`${command} exited (${signal ?? `code ${code}`}) before listening: ${stderr.trim() || "(no output on stderr)"}`)), 20);
    });
  });

  const control = new ControlClient(baseUrl, { adminToken });
  try {
    await waitReady(control, startupTimeoutMs, child);
    return await handle(baseUrl, control, stop, {
      pid: child.pid,
      get exitCode() { return child.exitCode; },
    });
  } catch (error) {
    await stop();
    throw error;
  }
}

/**
 * An emulator that already runs (a container, a CI service, the one a global setup started):
 * same shape as {@link startEmulator}'s result; `stop()` leaves it running. Without arguments
 * it reads $WA_EMULATOR_URL and $WA_EMULATOR_ADMIN_TOKEN.
 */
export async function attachEmulator(baseUrl = process.env[URL_ENV], { adminToken = process.env[ADMIN_TOKEN_ENV], timeoutMs = 30_000 } = {}) {
  if (!baseUrl) throw new EmulatorError(`no emulator URL given and ${URL_ENV} is not set (is the global setup configured?)`);
  const url = String(baseUrl).replace(/\/+$/, "");
  const control = new ControlClient(url, { adminToken });
  await waitReady(control, timeoutMs, null);
  return handle(url, control, async () => null, { pid: null, exitCode: null });
}

/**
 * A `fetch` that sends requests for https://graph.facebook.com to the emulator (path and query
 * unchanged) and every other request to `inner`: for Graph clients that take a custom fetch,
 * such as whatsapp-api-js (`ponyfill: { fetch }`).
 */
export function emulatorFetch(baseUrl, { hosts = ["graph.facebook.com"], fetch: inner = globalThis.fetch } = {}) {
  const target = new URL(baseUrl);
  return (input, init) => {
    const original = input instanceof Request ? input.url : String(input);
    const url = new URL(original);
    if (!hosts.includes(url.hostname)) return inner(input, init);
    url.protocol = target.protocol;
    url.host = target.host;
    return input instanceof Request ? inner(new Request(url, input), init) : inner(url, init);
  };
}

// ---- a webhook callback for tests ----

/** The header Meta signs deliveries in. */
export const SIGNATURE_HEADER = "x-hub-signature-256";

/** `sha256=<hex>`: HMAC-SHA256 of the raw body with the app secret, as Meta sends it. */
export function signWebhook(appSecret, body) {
  return `sha256=${createHmac("sha256", appSecret).update(body).digest("hex")}`;
}

/**
 * Whether `signature` (an `X-Hub-Signature-256` value) signs the raw `body` (a Buffer or string
 * of the bytes received, never a re-serialised object) with the app secret; constant-time.
 */
export function verifyWebhookSignature(appSecret, body, signature) {
  if (typeof signature !== "string" || !signature) return false;
  const expected = Buffer.from(signWebhook(appSecret, body));
  const given = Buffer.from(signature.trim());
  return expected.length === given.length && timingSafeEqual(expected, given);
}

/**
 * Starts a webhook callback on 127.0.0.1 and a free port: it answers the handshake (the
 * challenge with 200 when `hub.verify_token` is `verifyToken`, 403 otherwise), records every
 * delivery's raw bytes and headers, checks its signature with `appSecret`, and answers 200 (see
 * `answerPostsWith` to exercise retries).
 */
export async function startWebhookReceiver({ appSecret, verifyToken = "verify-me", host = "127.0.0.1", port = 0 } = {}) {
  if (!appSecret) throw new EmulatorError("startWebhookReceiver needs the app secret that signs the deliveries");
  const deliveries = [];
  const handshakes = [];
  const waiters = new Set();
  const nextStatuses = [];
  let postStatus = 200;
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? "/", "http://receiver");
    const answer = (status, body = "") => {
      response.writeHead(status, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) });
      response.end(body);
    };
    if (request.method === "GET") {
      const token = url.searchParams.get("hub.verify_token");
      const challenge = url.searchParams.get("hub.challenge");
      const ok = token !== null && challenge !== null
        && Buffer.byteLength(token) === Buffer.byteLength(verifyToken)
        && timingSafeEqual(Buffer.from(token), Buffer.from(verifyToken));
      const status = ok ? 200 : 403;
      handshakes.push({ mode: url.searchParams.get("hub.mode"), verifyToken: token, challenge, status });
      notify();
      answer(status, ok ? challenge : "Forbidden");
      return;
    }
    const chunks = [];
    request.on("data", (chunk) => chunks.push(chunk));
    request.on("end", () => {
      const body = Buffer.concat(chunks);
      const signature = request.headers[SIGNATURE_HEADER] ?? null;
      const status = nextStatuses.length ? nextStatuses.shift() : postStatus;
      deliveries.push({
        body,
        text: body.toString("utf8"),
        json() { return JSON.parse(body.toString("utf8")); },
        headers: { ...request.headers },
        path: request.url ?? "/",
        signature,
        signatureValid: verifyWebhookSignature(appSecret, body, signature),
        status,
      });
      notify();
      answer(status);
    });
  });
  await new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  const address = server.address();
  const receiver = {
    url: `http://${host}:${address.port}/webhook`,
    port: address.port,
    get deliveries() { return [...deliveries]; },
    get handshakes() { return [...handshakes]; },
    waitFor(count, timeoutMs = 10_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (deliveries.length < count) return false;
          waiters.delete(check);
          clearTimeout(timer);
          resolve([...deliveries]);
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          const got = deliveries.map((delivery) => delivery.text.slice(0, 200));
          reject(new EmulatorError(`${deliveries.length} of ${count} webhook deliveries arrived at ${receiver.url} within ${timeoutMs} ms: ${JSON.stringify(got)}`));
        }, timeoutMs);
        waiters.add(check);
        check();
      });
    },
    answerPostsWith(status) { postStatus = status; },
    answerNextPostsWith(...statuses) { nextStatuses.push(...statuses); },
    clear() {
      deliveries.length = 0;
      handshakes.length = 0;
    },
    close() {
      return new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      });
    },
  };
  if (Symbol.asyncDispose) receiver[Symbol.asyncDispose] = () => receiver.close();
  return receiver;
}
