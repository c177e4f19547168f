// Types of wa-cloud-emulator (hand-written; the package has no build step).

export declare const BINARY_NAME: "wa-cloud-emulator";
/** The PIN used for a number that has none yet (registering sets it). */
export declare const DEFAULT_PIN: "123456";
export declare const BINARY_ENV: "WA_CLOUD_EMULATOR_BINARY";
export declare const URL_ENV: "WA_EMULATOR_URL";
export declare const ADMIN_TOKEN_ENV: "WA_EMULATOR_ADMIN_TOKEN";

/** Base class of every error this package throws. */
export declare class EmulatorError extends Error {}
/** The binary could not be found, did not start, or did not become ready. */
export declare class EmulatorStartError extends EmulatorError {}
/** A control API call failed; the fields of the emulator's `emulator_error` answer. */
export declare class ControlError extends EmulatorError {
  /** HTTP status (0 when the emulator could not be reached). */
  readonly status: number;
  /** `not_found`, `invalid`, `unauthorized`, ... or `unreachable` / `unexpected_response`. */
  readonly kind: string;
  /** The emulator's message. */
  readonly detail: string;
  readonly method: string;
  readonly path: string;
}

export type Setting = string | number | boolean;
export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

export interface StartOptions {
  /** Fixture file to load instead of the embedded default. */
  fixtures?: string;
  /** `system` (default) or `manual`; `clockStart` alone implies `manual`. */
  clock?: "system" | "manual";
  /** Start instant of the clock. */
  clockStart?: Date | string;
  /** More flags by name: `{ rateLimit: 3 }` or `{ rate_limit: 3 }` gives `--rate-limit=3`. */
  settings?: Record<string, Setting>;
  /** Extra command-line arguments, passed last. */
  args?: string[];
  /** Another binary than the one in the package ($WA_CLOUD_EMULATOR_BINARY also works). */
  binary?: string;
  /** Extra environment variables for the child (this process's WA_EMU_* are not passed on). */
  env?: Record<string, string>;
  /** `--admin-token`, passed through the environment and used by `control`. */
  adminToken?: string;
  startupTimeoutMs?: number;
  /** How long `stop()` waits after SIGTERM before SIGKILL. */
  stopTimeoutMs?: number;
}

export interface WindowView {
  limit: number;
  window_seconds: number;
  used: number;
  remaining: number;
  requests: { at: string; expires_at: string }[];
  blocked_until: string | null;
  next_slot_at: string;
}
export interface LimitsView {
  register: WindowView;
  deregister: WindowView;
}
export interface NumberView {
  id: string;
  waba_id: string;
  display_phone_number: string;
  verified_name: string;
  code_verification_status: "VERIFIED" | "NOT_VERIFIED" | "EXPIRED";
  registered: boolean;
  status: "CONNECTED" | "PENDING";
  pin_set: boolean;
  pin_lockout: { consecutive_failures: number; locked_until: string | null };
  data_localization_region: string | null;
  coexistence: boolean;
  rate_limits: LimitsView;
  pending_verification: { code: string; method: string; language: string; expires_at: string; expired: boolean } | null;
  migration_pending: boolean;
  name_status: string;
  test_number: boolean;
  /** Present only when an onboarding hold keeps register refusing. */
  hold?: "consumer_account" | "other_partner";
  /** Present only after a display-name change was requested. */
  new_display_name?: string;
  new_name_status?: string;
}

/** A partner app, secret included: the app token is `${id}|${secret}`. */
export interface AppView {
  id: string;
  secret: string;
  name: string;
  webhook?: { callback_url: string; verify_token?: string; fields?: string[] };
}
/**
 * The onboarding states of a number and what register then answers: `ready` (success),
 * `name_pending` (100/2388001 until a name review), `consumer_account` (100/2388001), `smb`
 * (register not available), `test_number` (success), `verification_expired` (133006),
 * `other_partner` (100/3441030).
 */
export type Preset =
  | "ready" | "name_pending" | "consumer_account" | "smb" | "test_number" | "verification_expired" | "other_partner";
/** How the Embedded Signup popup ends (`CANCEL` and `ERROR` create nothing). */
export type SignupFinish = "FINISH" | "FINISH_ONLY_WABA" | "FINISH_WHATSAPP_BUSINESS_APP_ONBOARDING" | "CANCEL" | "ERROR";
/** The popup screen a `CANCEL` left on. */
export type SignupStep =
  | "BUSINESS_ACCOUNT_SELECTION" | "WABA_PHONE_PROFILE_PICKER" | "WHATSAPP_BUSINESS_PROFILE_SETUP"
  | "PHONE_NUMBER_SETUP" | "PHONE_NUMBER_VERIFICATION" | "PERMISSIONS";
/** The `granular_scopes` shape debug_token answers: Meta's documented one, or June 2026's (no `target_ids`). */
export type GranularScopes = "classic" | "2026-06";
export type NameDecision = "APPROVED" | "REJECTED";
export interface SignupOptions {
  appId?: string;
  preset?: Preset;
  finish?: SignupFinish;
  currentStep?: SignupStep;
  errorCode?: string;
  errorMessage?: string;
  displayPhoneNumber?: string;
  verifiedName?: string;
  wabaName?: string;
  granularScopes?: GranularScopes;
}
/** What `POST /__emulator/embedded-signup` answers (no code nor ids for CANCEL and ERROR). */
export interface SignupView {
  event: SignupFinish | "CANCEL";
  app_id: string;
  /** The authorization code: exchange it within 30 seconds at `GET /{version}/oauth/access_token`. */
  code?: string;
  code_expires_at?: string;
  business_id?: string;
  waba_id?: string;
  phone_number_id?: string;
  /** The popup's session-info message, parsed. */
  session_info: { data: Record<string, Json>; type: "WA_EMBEDDED_SIGNUP"; event: string };
  /** The same message as the JSON string the popup posts. */
  message: string;
}
export interface NameReviewView {
  decision: NameDecision;
  requested_verified_name: string;
  number: NumberView;
}
export interface NamespaceView {
  namespace: string;
  waba_id: string;
  token: string;
  numbers: NumberView[];
}
export interface ClockView {
  now: string;
  mode: "system" | "manual";
  offset_ms: number;
}
/** A namespace's clock: it follows the emulator's until it is set or advanced. */
export interface NamespaceClockView {
  namespace: string;
  now: string;
  mode: "system" | "manual";
  offset_ms: number;
  follows_emulator: boolean;
}
export interface JournalEntry {
  seq: number;
  at: string;
  method: string;
  path: string;
  version: string | null;
  served_version: string;
  number: string | null;
  operation: string | null;
  headers: Record<string, Json>;
  params: Record<string, Json>;
  status: number;
  error_code: number | null;
  error_message: string | null;
  fbtrace_id: string;
  response: Json;
  clock: string;
  /** Whether the request ran against the state, whatever the client got. */
  applied: boolean;
  /** What the run itself answered (`null` when it did not run); a fault's error may hide it. */
  outcome: { status: number; error_code: number | null } | null;
  /** The fault that shaped the answer. */
  fault_id: number | null;
  delivery: Delivery;
}
/** What a faulted request's client gets. */
export type FaultAnswer = "normal" | "error" | "drop" | "reset" | "hang";
/** What a journaled request's client got (`abandoned`: it left before a delayed answer). */
export type Delivery = "answered" | "dropped" | "reset" | "hung" | "abandoned";
/** An armed fault: what it was armed with, `apply` and `answer` resolved, a `seed` chosen for a probability. */
export interface Fault {
  id: number;
  error_code?: number;
  latency_ms?: number;
  count?: number;
  number?: string;
  operation?: string;
  apply: boolean;
  answer: FaultAnswer;
  delay_ms?: number;
  http_status?: number;
  probability?: number;
  seed?: number;
  from?: string;
  until?: string;
  remaining: number | null;
}
/**
 * A fault: wait `latencyMs`, run the request when `apply`, wait `delayMs`, then give the
 * client `answer`. `apply` defaults to true for `normal`, false for `error`; `drop`, `reset`
 * and `hang` need it.
 */
export interface FaultSpec {
  /** A Graph error code from the table; implies `answer: "error"`. */
  errorCode?: number;
  /** Wait before the request is handled (a client that gives up meanwhile leaves nothing applied). */
  latencyMs?: number;
  count?: number;
  number?: string;
  /** `register`, `deregister`, `request_code`, `verify_code`, `settings`, `phone_numbers`, `messages`, `node`. */
  operation?: string;
  apply?: boolean;
  answer?: FaultAnswer;
  /** Wait between the request's effect and the answer (not with `hang`). */
  delayMs?: number;
  /** Status of the error answer instead of the table's (400–599, `answer: "error"` only). */
  httpStatus?: number;
  /** Chance (0–1) that a matching request is shaped. */
  probability?: number;
  /** Seed of the probability's draws: the same seed replays the same decisions. */
  seed?: number;
  /** Only requests judged at or after this instant (the clock of the request's number). */
  from?: Date | string;
  /** Only requests judged before this instant. */
  until?: Date | string;
}
/** `GET /journal/counts`: journaled requests by what happened to them. */
export interface JournalCounts {
  requests: number;
  applied: number;
  succeeded: number;
  faulted: number;
  answered: number;
  dropped: number;
  reset: number;
  hung: number;
  abandoned: number;
}
export interface FixtureDocument {
  apps?: AppView[];
  tokens?: Record<string, Json>[];
  wabas?: { id: string; name?: string; phone_numbers?: Record<string, Json>[] }[];
}
export interface JournalFilter {
  number?: string;
  operation?: string;
  since?: number;
  limit?: number;
}

/** The control API (`/__emulator/`) of one emulator. Failures throw {@link ControlError}. */
export declare class ControlClient {
  constructor(baseUrl: string, options?: { adminToken?: string; timeoutMs?: number });
  readonly baseUrl: string;
  timeoutMs: number;
  request(method: string, path: string, options?: { query?: Record<string, unknown>; body?: unknown }): Promise<any>;
  health(): Promise<{ status: "ok" }>;
  ready(): Promise<{ status: "ready"; numbers: number }>;
  openapi(): Promise<Record<string, Json>>;
  reset(): Promise<void>;
  exportState(): Promise<FixtureDocument>;
  importState(document: FixtureDocument): Promise<{ imported: true; numbers: number }>;
  numbers(filter?: { wabaId?: string }): Promise<NumberView[]>;
  number(id: string): Promise<NumberView>;
  createNumber(wabaId: string, fields?: Record<string, Json>): Promise<NumberView>;
  patchNumber(id: string, changes: Record<string, Json>): Promise<NumberView>;
  deleteNumber(id: string): Promise<void>;
  limits(id: string): Promise<LimitsView>;
  clearLimits(id: string, operation?: "register" | "deregister"): Promise<LimitsView>;
  wabas(): Promise<Record<string, Json>[]>;
  tokens(): Promise<Record<string, Json>[]>;
  clock(): Promise<ClockView>;
  setClock(instant: Date | string): Promise<ClockView>;
  /** `"72h"`, `"90m"`, `"1h30m"` or a number of seconds. */
  advanceClock(by: string | number): Promise<ClockView>;
  journal(filter?: JournalFilter): Promise<JournalEntry[]>;
  clearJournal(): Promise<void>;
  journalCounts(filter?: JournalFilter): Promise<JournalCounts>;
  /** Open connections and requests held by `hang` faults. */
  connections(): Promise<{ open_connections: number; hung: number }>;
  armFault(spec: FaultSpec): Promise<Fault>;
  faults(): Promise<Fault[]>;
  removeFault(id: number): Promise<void>;
  clearFaults(): Promise<void>;
  createNamespace(options?: { templateWaba?: string; numbers?: Record<string, Json>[] }): Promise<NamespaceView>;
  resetNamespace(id: string): Promise<NamespaceView>;
  deleteNamespace(id: string): Promise<void>;
  namespaceClock(id: string): Promise<NamespaceClockView>;
  setNamespaceClock(id: string, instant: Date | string): Promise<NamespaceClockView>;
  /** Moves one namespace's clock (`"72h"` or seconds) without moving anyone else's. */
  advanceNamespaceClock(id: string, by: string | number): Promise<NamespaceClockView>;
  apps(): Promise<AppView[]>;
  createApp(app: { id: string; secret: string; name?: string; webhook?: AppView["webhook"] }): Promise<AppView>;
  /** `APP_ID|APP_SECRET` of `appId` (default: the first app). */
  appToken(appId?: string): Promise<string>;
  embeddedSignup(options?: SignupOptions): Promise<SignupView>;
  applyPreset(id: string, preset: Preset): Promise<NumberView>;
  decideNameReview(id: string, decision: NameDecision): Promise<NameReviewView>;
  // webhooks
  /** Sets the app's callback after the `hub.challenge` handshake (a `conflict` naming #2200 when it fails). */
  setAppWebhook(appId: string, webhook: { callbackUrl: string; verifyToken: string; fields?: string[] }): Promise<AppView>;
  removeAppWebhook(appId: string): Promise<void>;
  /** A customer writes `text` to the number (a `messages` webhook; none for an unregistered number). */
  inboundMessage(numberId: string, message: { from: string; text: string; name?: string }): Promise<EmittedView & { message_id: string }>;
  businessAppEvent(numberId: string, event: BusinessAppEvent): Promise<EmittedView>;
  partnerEvent(wabaId: string, event: PartnerEventName, options?: { appId?: string }): Promise<EmittedView>;
  /** Any documented field with this `value`, routed like the state's own events. */
  emitWebhook(event: { field: string; wabaId: string; value: Record<string, Json>; numberId?: string; entryId?: string }): Promise<EmittedView>;
  deliveries(filter?: DeliveryFilter): Promise<WebhookDelivery[]>;
  clearDeliveries(): Promise<void>;
  /** Sends the same bytes again (a `conflict` while the delivery is pending or retrying). */
  redeliver(id: number): Promise<WebhookDelivery>;
  armDeliveryFault(spec: DeliveryFaultSpec): Promise<DeliveryFault>;
  deliveryFaults(): Promise<DeliveryFault[]>;
  removeDeliveryFault(id: number): Promise<void>;
  clearDeliveryFaults(): Promise<void>;
}

/** An isolated slice of an emulator: its own WABA, copies of a template's numbers, its own token. */
export interface Namespace {
  readonly id: string;
  readonly wabaId: string;
  /** Allowed on this namespace's WABA only (not enumerable: not shown by console.log). */
  readonly token: string;
  numbers: NumberView[];
  /** Its first verified, unregistered number. */
  readonly phoneNumberId: string | null;
  /** The PIN that registers `phoneNumberId`. */
  readonly pin: string;
  readonly baseUrl: string;
  readonly control: ControlClient;
  /** Its clock: it follows the emulator's until `advance` or `setClock`. */
  clock(): Promise<NamespaceClockView>;
  /** Moves this namespace's clock only (`"72h"` or seconds): parallel tests each travel in time. */
  advance(by: string | number): Promise<NamespaceClockView>;
  /** Sets this namespace's clock only. */
  setClock(instant: Date | string): Promise<NamespaceClockView>;
  /** Its numbers and token as created; its clock follows the emulator's again. */
  reset(): Promise<void>;
  /** Deletes it (its WABA, numbers and token); a second call does nothing. */
  delete(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

export interface Emulator {
  /** `http://127.0.0.1:PORT`: the Graph base URL to give your client. */
  readonly baseUrl: string;
  /** A token that may register `phoneNumberId` (`EAAEmulatorDevToken` by default). */
  readonly token: string;
  /** A verified number ready to register (`106540352242922` by default). */
  readonly phoneNumberId: string;
  /** The PIN that registers it (`123456` by default). */
  readonly pin: string;
  /** Its WABA (`102290129340398` by default). */
  readonly wabaId: string;
  /** The first partner app's `APP_ID|APP_SECRET`, read at start (not enumerable). */
  readonly appToken: string;
  readonly control: ControlClient;
  /** The child's process id (`null` when attached). */
  readonly pid: number | null;
  /** Its exit code once stopped (`null` while running or when attached). */
  readonly exitCode: number | null;
  namespace(options?: { templateWaba?: string; numbers?: Record<string, Json>[] }): Promise<Namespace>;
  /** `${baseUrl}/${version}/${path}`. */
  graphUrl(path?: string, version?: string): string;
  /** SIGTERM, then SIGKILL after `stopTimeoutMs`; resolves to the exit code. No-op when attached. */
  stop(): Promise<number | null>;
  [Symbol.asyncDispose](): Promise<unknown>;
}

/** Starts the emulator on a free loopback port and waits until it is ready. */
export declare function startEmulator(options?: StartOptions): Promise<Emulator>;
/** An emulator that already runs; defaults to $WA_EMULATOR_URL and $WA_EMULATOR_ADMIN_TOKEN. */
export declare function attachEmulator(baseUrl?: string, options?: { adminToken?: string; timeoutMs?: number }): Promise<Emulator>;
export declare function createNamespace(control: ControlClient, options?: { templateWaba?: string; numbers?: Record<string, Json>[] }): Promise<Namespace>;
export declare function findBinary(): string;
export declare function defaultsFromState(
  state: FixtureDocument,
  now?: number,
): { token: string; phoneNumberId: string; pin: string; wabaId: string } | null;
/** A fetch that sends https://graph.facebook.com requests to the emulator. */
export declare function emulatorFetch(
  baseUrl: string,
  options?: { hosts?: string[]; fetch?: typeof globalThis.fetch },
): typeof globalThis.fetch;

// ---- webhooks ----

/** Where a webhook delivery stands. */
export type DeliveryState = "pending" | "retrying" | "delivered" | "failed" | "dropped";
/** What a delivery fault does to the deliveries it matches. */
export type DeliveryFaultKind = "duplicate" | "reorder" | "delay" | "drop" | "retry_after_ack";
export type BusinessAppEvent = "ACCOUNT_OFFBOARDED" | "ACCOUNT_RECONNECTED";
export type PartnerEventName = "PARTNER_REMOVED" | "PARTNER_APP_UNINSTALLED";
/** What an event produced: the deliveries queued (none when no app is subscribed or routed). */
export interface EmittedView {
  deliveries: number[];
  /** The inbound message's id (inbound messages only). */
  message_id?: string;
}
export interface DeliveryAttempt {
  attempt: number;
  at: string;
  status: number | null;
  error: string | null;
  latency_ms: number;
  fault: DeliveryFaultKind | null;
}
/** A delivery in the log: the exact `body` sent (ASCII: Meta's escaping) and its `X-Hub-Signature-256`. */
export interface WebhookDelivery {
  id: number;
  state: DeliveryState;
  dropped_reason: "queue_full" | "cleared" | "fault" | null;
  app_id: string;
  url: string;
  field: string;
  number_id: string | null;
  waba_id: string | null;
  enqueued_at: string;
  next_attempt_at: string | null;
  body: string;
  signature: string;
  attempts: DeliveryAttempt[];
  attempt_count: number;
}
export interface DeliveryFilter {
  appId?: string;
  field?: string;
  numberId?: string;
  wabaId?: string;
  state?: DeliveryState;
  /** Only ids above this (for polling). */
  since?: number;
  /** At most this many, the newest. */
  limit?: number;
}
export interface DeliveryFaultSpec {
  kind: DeliveryFaultKind;
  /** For `delay` (required there): milliseconds. */
  delayMs?: number;
  field?: string;
  appId?: string;
  numberId?: string;
  /** How many matching attempts; absent: until removed. */
  count?: number;
}
export interface DeliveryFault {
  id: number;
  kind: DeliveryFaultKind;
  delay_ms?: number;
  field?: string;
  app_id?: string;
  number_id?: string;
  count?: number;
  remaining: number | null;
}


/** The header Meta signs deliveries in (lower-cased, as node:http gives it). */
export declare const SIGNATURE_HEADER: "x-hub-signature-256";
/** `sha256=<hex>`: HMAC-SHA256 of the raw body with the app secret. */
export declare function signWebhook(appSecret: string, body: string | Uint8Array): string;
/** Whether `signature` signs the raw `body` with the app secret (constant-time). */
export declare function verifyWebhookSignature(appSecret: string, body: string | Uint8Array, signature: string | null | undefined): boolean;

/** One POST the receiver got. */
export interface ReceivedDelivery {
  /** The raw bytes. */
  body: Buffer;
  /** The body as text (ASCII from the emulator: Meta's escaping). */
  text: string;
  json(): any;
  /** Lower-cased names, as node:http gives them. */
  headers: Record<string, string | string[] | undefined>;
  path: string;
  signature: string | null;
  signatureValid: boolean;
  /** What the receiver answered. */
  status: number;
}
export interface ReceivedHandshake {
  mode: string | null;
  verifyToken: string | null;
  challenge: string | null;
  status: number;
}
/** A webhook callback for tests. */
export interface WebhookReceiver {
  /** `http://127.0.0.1:PORT/webhook`. */
  readonly url: string;
  readonly port: number;
  readonly deliveries: ReceivedDelivery[];
  readonly handshakes: ReceivedHandshake[];
  /** Resolves with every delivery once at least `count` arrived; rejects after `timeoutMs` (10 s). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedDelivery[]>;
  /** Answers later deliveries with `status` (anything but 200 is retried by the emulator). */
  answerPostsWith(status: number): void;
  /** Answers the next deliveries with these statuses, one each. */
  answerNextPostsWith(...statuses: number[]): void;
  clear(): void;
  close(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}
/** Starts a webhook callback on 127.0.0.1 (a free port by default). */
export declare function startWebhookReceiver(options: {
  appSecret: string;
  /** The `hub.verify_token` it accepts (default `verify-me`). */
  verifyToken?: string;
  host?: string;
  port?: number;
}): Promise<WebhookReceiver>;
