// wa-cloud-emulator console: plain JavaScript, no dependencies. It only calls the documented
// control API under /__emulator/, so anything done here can be done by a test with the same call.
"use strict";

const API = "/__emulator";
const TOKEN_KEY = "wa-emulator-admin-token";
const FAULT_CODES = [1, 2, 3, 4, 10, 100, 190, 200, 368, 80007, 80008, 130429, 131000, 131005, 131031,
  133000, 133004, 133005, 133006, 133008, 133009, 133010, 133015, 133016];

// The onboarding presets of POST /__emulator/numbers/{id}/preset, with what register then says.
const PRESETS = [
  ["ready", "ready: register works"],
  ["name_pending", "name_pending: name in review (2388001)"],
  ["consumer_account", "consumer_account: on a consumer account (2388001)"],
  ["smb", "smb: coexistence, register not available"],
  ["test_number", "test_number: Meta test number"],
  ["verification_expired", "verification_expired: 133006"],
  ["other_partner", "other_partner: held by another partner (3441030)"],
];

const $ = (id) => document.getElementById(id);
const state = {
  numbers: [], wabas: [], apps: [], clock: null, clockFetchedAt: 0, selected: null,
  journal: [], since: 0, faults: [], blocked: false, revealed: new Set(),
  deliveries: [], deliveriesSeen: 0, delivery: null, deliveryFaults: [],
};
const DELIVERIES_KEPT = 200;

// ---------------------------------------------------------------- API access

class ApiError extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(method, path, body) {
  const headers = {};
  const token = sessionStorage.getItem(TOKEN_KEY);
  if (token) headers.Authorization = "Bearer " + token;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(API + path, {
    method, headers, cache: "no-store",
    body: body === undefined ? undefined : (typeof body === "string" ? body : JSON.stringify(body)),
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch (_) { data = text; }
  if (response.status === 401) {
    needToken(data);
    throw new ApiError(401, "admin token needed");
  }
  if (response.status === 403) {
    showBanner((data && data.emulator_error && data.emulator_error.message) ||
      "The control API is disabled beyond loopback: start the emulator with --admin-token.");
    throw new ApiError(403, "control API disabled");
  }
  if (!response.ok) {
    const message = data && data.emulator_error ? data.emulator_error.message : String(text);
    throw new ApiError(response.status, message);
  }
  hideBanner();
  return { data, text };
}

function needToken(data) {
  state.blocked = true;
  const form = $("token-form");
  if (form.hidden) {
    form.hidden = false;
    $("token-input").focus();
  }
  if (sessionStorage.getItem(TOKEN_KEY)) {
    say("That admin token was refused; enter the right one.", true);
  } else if (data && data.emulator_error) {
    say(data.emulator_error.message, true);
  }
}

function showBanner(message) {
  state.blocked = true;
  const banner = $("banner");
  banner.textContent = message;
  banner.hidden = false;
}

function hideBanner() {
  state.blocked = false;
  $("banner").hidden = true;
}

function say(message, isError) {
  const status = $("status");
  status.textContent = message;
  status.className = "status" + (isError ? " error" : "");
}

async function action(label, work) {
  try {
    const result = await work();
    say(label);
    await refresh();
    return result;
  } catch (error) {
    if (error.status !== 401 && error.status !== 403) say(label + " failed: " + error.message, true);
    return null;
  }
}

// ---------------------------------------------------------------- time helpers

function emulatorNow() {
  if (!state.clock) return Date.now();
  const now = Date.parse(state.clock.now);
  return state.clock.mode === "manual" ? now : now + (Date.now() - state.clockFetchedAt);
}

function fmt(instant) {
  if (!instant) return "";
  return new Date(instant).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function duration(ms) {
  if (ms <= 0) return "0s";
  let s = Math.ceil(ms / 1000);
  const h = Math.floor(s / 3600); s -= h * 3600;
  const m = Math.floor(s / 60); s -= m * 60;
  return (h ? h + "h " : "") + (h || m ? m + "m " : "") + s + "s";
}

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "style") node.style.cssText = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

// ---------------------------------------------------------------- refresh

async function refresh() {
  try {
    const [clock, numbers, wabas, faults, apps, deliveryFaults] = await Promise.all([
      api("GET", "/clock"), api("GET", "/numbers"), api("GET", "/wabas"), api("GET", "/faults"),
      api("GET", "/apps"), api("GET", "/webhooks/faults"),
    ]);
    state.clock = clock.data;
    state.clockFetchedAt = Date.now();
    state.numbers = numbers.data.data;
    state.wabas = wabas.data.data;
    state.faults = faults.data.data;
    state.apps = apps.data.data;
    state.deliveryFaults = deliveryFaults.data.data;
    renderClock();
    renderNumbers();
    renderLimits();
    renderFaults();
    renderWabaChoices();
    renderOnboarding();
    renderCallbacks();
    renderDeliveryFaults();
  } catch (error) {
    if (!(error instanceof ApiError)) say("Cannot reach the emulator: " + error.message, true);
  }
}

async function pollJournal() {
  try {
    const { data } = await api("GET", "/journal?since=" + state.since + "&limit=200");
    if (data.data.length) {
      state.journal = state.journal.concat(data.data).slice(-200);
      state.since = data.data[data.data.length - 1].seq;
      renderJournal();
    }
  } catch (_) { /* shown by api() */ }
}

// ---------------------------------------------------------------- clock

function renderClock() {
  $("clock-now").textContent = fmt(emulatorNow());
  $("clock-mode").textContent = state.clock ? "(" + state.clock.mode + " clock)" : "";
}

function changeClock(change, label) {
  return action(label, () => api("POST", "/clock", change));
}

// ---------------------------------------------------------------- numbers

function wabaName(id) {
  const waba = state.wabas.find((w) => w.id === id);
  return waba && waba.name ? waba.name + " (" + id + ")" : id;
}

function limitCell(window) {
  if (window.blocked_until) return "blocked";
  return window.used + "/" + window.limit;
}

function matches(number) {
  const text = $("filter-text").value.trim().toLowerCase();
  const show = $("filter-state").value;
  const limits = number.rate_limits;
  if (show === "registered" && !number.registered) return false;
  if (show === "unregistered" && number.registered) return false;
  if (show === "blocked" && !(limits.register.blocked_until || limits.deregister.blocked_until)) return false;
  if (show === "locked" && !number.pin_lockout.locked_until) return false;
  if (!text) return true;
  const haystack = [number.id, number.display_phone_number, number.verified_name, number.waba_id,
    wabaName(number.waba_id), number.data_localization_region || ""].join(" ").toLowerCase();
  return haystack.includes(text);
}

function select(id) {
  state.selected = id;
  $("preset-number").value = id;
  renderNumbers();
  renderLimits();
}

function renderNumbers() {
  // Redraw only on change, so focus, hover and a pending click are not disturbed every second.
  const key = JSON.stringify([state.numbers, state.wabas, state.selected,
    $("filter-text").value, $("filter-state").value]);
  if (key === state.numbersKey) return;
  state.numbersKey = key;
  const body = $("numbers-body");
  const focused = document.activeElement && document.activeElement.dataset
    ? document.activeElement.dataset.number : null;
  body.replaceChildren();
  const shown = state.numbers.filter(matches);
  let waba = null;
  for (const n of shown) {
    if (n.waba_id !== waba) {
      waba = n.waba_id;
      // A namespace with a clock of its own shows it beside its numbers.
      const own = n.clock && n.clock !== "emulator" ? " · its own clock: " + fmt(n.clock_now) : "";
      body.append(el("tr", { class: "group" }, el("th", { colspan: "8", scope: "colgroup" }, "WABA " + wabaName(waba) + own)));
    }
    const lock = n.pin_lockout.locked_until
      ? "locked until " + fmt(n.pin_lockout.locked_until)
      : (n.pin_lockout.consecutive_failures ? n.pin_lockout.consecutive_failures + " failed" : "—");
    const selected = n.id === state.selected;
    const row = el("tr", {
      tabindex: "0", "data-number": n.id, "aria-selected": selected ? "true" : "false",
      class: selected ? "selected" : null,
      onclick: () => select(n.id),
      onkeydown: (event) => {
        if (event.key === "Enter" || event.key === " ") { event.preventDefault(); select(n.id); }
      },
    },
    el("td", { class: "mono nowrap" }, n.id),
    el("td", {}, el("span", { class: "nowrap" }, n.display_phone_number),
      n.verified_name ? el("div", { class: "muted small" }, n.verified_name) : null,
      onboardingNote(n) ? el("div", { class: "small bad" }, onboardingNote(n)) : null),
    el("td", { title: n.code_verification_status }, n.code_verification_status.toLowerCase().replace("_", " ")),
    el("td", {}, n.registered ? "yes" : "no", n.coexistence ? el("div", { class: "muted" }, "coexistence") : null),
    el("td", {}, n.data_localization_region || "—"),
    el("td", {}, n.pin_set ? "set" : "none"),
    el("td", { class: n.pin_lockout.locked_until ? "bad" : null }, lock),
    el("td", { class: n.rate_limits.register.blocked_until || n.rate_limits.deregister.blocked_until ? "bad nowrap" : "nowrap" },
      el("div", {}, "reg " + limitCell(n.rate_limits.register)),
      el("div", {}, "dereg " + limitCell(n.rate_limits.deregister))));
    body.append(row);
  }
  if (!shown.length) body.append(el("tr", {}, el("td", { colspan: "8", class: "muted" }, "No number matches.")));
  if (focused) {
    const again = body.querySelector('tr[data-number="' + focused + '"]');
    if (again) again.focus();
  }
  $("number-ids").replaceChildren(...state.numbers.map((n) => el("option", { value: n.id })));
}

// What stands between a number and register, from the onboarding (none for most numbers).
function onboardingNote(n) {
  const notes = [];
  if (n.name_status && n.name_status !== "APPROVED" && n.name_status !== "AVAILABLE_WITHOUT_REVIEW") {
    notes.push("name " + n.name_status.toLowerCase().replace("_", " "));
  }
  if (n.hold) notes.push("held: " + n.hold.replace("_", " "));
  if (n.test_number) notes.push("test number");
  return notes.join(", ");
}

// ---------------------------------------------------------------- rate limits

function renderLimits() {
  const box = $("limits");
  const number = state.numbers.find((n) => n.id === state.selected);
  if (!number) {
    $("limits-number").textContent = "(no number selected)";
    box.replaceChildren(el("p", { class: "muted" }, "Select a number."));
    return;
  }
  const key = JSON.stringify([number, state.clock]);
  if (key === state.limitsKey && box.firstChild && box.firstChild.id) { tick(); return; }
  state.limitsKey = key;
  $("limits-number").textContent = number.id + " " + number.display_phone_number;
  const open = [...box.querySelectorAll("details[open]")].map((d) => d.parentElement.id);
  box.replaceChildren(
    timeline("register", number.rate_limits.register),
    timeline("deregister", number.rate_limits.deregister));
  for (const id of open) {
    const details = document.querySelector("#" + id + " details");
    if (details) details.open = true;
  }
  tick();
}

// One operation's window on the emulator's clock: from (now - window) to (now + window, or the
// block's end when later). Each counted request is a mark with a bar to the instant it expires.
function timeline(operation, w) {
  const now = emulatorNow();
  const span = w.window_seconds * 1000;
  const start = now - span;
  const blockEnd = w.blocked_until ? Date.parse(w.blocked_until) : 0;
  // A little room after the last instant, so marks at the very end stay visible.
  const end = Math.max(now + span, blockEnd, Date.parse(w.next_slot_at)) + span / 24;
  const pct = (t) => (Math.min(Math.max(t, start), end) - start) / (end - start) * 100;
  const track = el("div", { class: "track", role: "img",
    "aria-label": operation + ": " + w.used + " requests in the window" + (w.blocked_until ? ", blocked" : "") });
  if (blockEnd) {
    track.append(el("div", { class: "block", style: "left:" + pct(now) + "%;width:" + (pct(blockEnd) - pct(now)) + "%",
      title: "blocked until " + fmt(blockEnd) }));
  }
  w.requests.forEach((r, i) => {
    const at = Date.parse(r.at), expires = Date.parse(r.expires_at);
    const top = 8 + (i % 10) * 5;
    track.append(el("div", { class: "life", style: "left:" + pct(at) + "%;width:" + (pct(expires) - pct(at)) + "%;top:" + top + "px",
      title: "counted " + fmt(at) + ", expires " + fmt(expires) }));
    track.append(el("div", { class: "expiry", style: "left:" + pct(expires) + "%;top:" + (top - 2) + "px",
      title: "expires " + fmt(expires) }));
    track.append(el("div", { class: "mark", style: "left:" + pct(at) + "%", title: "counted " + fmt(at) }));
  });
  track.append(el("div", { class: "now", style: "left:" + pct(now) + "%" }, el("span", {}, "now")));
  const slot = Date.parse(w.next_slot_at);
  track.append(el("div", { class: "slot", style: "left:" + pct(slot) + "%", title: "next free slot " + fmt(slot) }));
  const summary = w.blocked_until
    ? el("p", { class: "state bad" }, "Blocked until " + fmt(w.blocked_until) + " — ends in ",
      el("span", { class: "countdown", "data-until": w.blocked_until }, ""))
    : el("p", { class: "state ok" }, "Not blocked — " + w.remaining + " of " + w.limit + " left");
  const list = el("ol", { class: "requests" }, w.requests.map((r) =>
    el("li", {}, "counted " + fmt(r.at) + " → expires " + fmt(r.expires_at))));
  return el("div", { class: "window", id: "limit-" + operation },
    el("h3", {}, operation + " ", el("span", { class: "muted" }, w.used + " used of " + w.limit + " per " + (w.window_seconds / 3600) + " h")),
    summary,
    slot <= now
      ? el("p", { class: "slot-text" }, "Next free slot: now")
      : el("p", { class: "slot-text" }, "Next free slot: " + fmt(slot) + " (in ",
        el("span", { class: "countdown", "data-until": w.next_slot_at }, ""), ")"),
    track,
    el("div", { class: "axis" }, el("span", {}, fmt(start)), el("span", {}, fmt(end))),
    el("p", { class: "legend" }, el("span", { class: "key key-mark" }), " counted request ",
      el("span", { class: "key key-life" }), " until it expires ",
      el("span", { class: "key key-block" }), " block ",
      el("span", { class: "key key-slot" }), " next free slot"),
    w.requests.length ? el("details", {}, el("summary", {}, w.requests.length + " counted request(s)"), list) : null);
}

// The live countdowns and the clock line, every second between refreshes.
function tick() {
  for (const node of document.querySelectorAll(".countdown")) {
    node.textContent = duration(Date.parse(node.dataset.until) - emulatorNow());
  }
  if (state.clock) renderClock();
}

// ---------------------------------------------------------------- journal

function tokenOf(entry) {
  const auth = entry.headers && (entry.headers.authorization || entry.headers.Authorization);
  if (auth) return String(auth).replace(/^(Bearer|OAuth)\s+/i, "");
  if (entry.params && entry.params.access_token) return entry.params.access_token;
  return "—";
}

function renderJournal() {
  const body = $("journal-body");
  body.replaceChildren();
  $("journal-empty").hidden = state.journal.length > 0;
  for (const entry of state.journal.slice().reverse()) {
    const show = () => {
      $("details").hidden = false;
      $("details-title").textContent = "#" + entry.seq + " " + entry.method + " " + entry.path;
      $("details-json").textContent = JSON.stringify({
        request: { at: entry.at, method: entry.method, path: entry.path, version: entry.version,
          served_version: entry.served_version, number: entry.number, operation: entry.operation,
          headers: entry.headers, params: entry.params },
        response: { status: entry.status, fbtrace_id: entry.fbtrace_id, body: entry.response },
        fault: { fault_id: entry.fault_id, applied: entry.applied, outcome: entry.outcome, delivery: entry.delivery },
      }, null, 2);
      for (const row of body.children) row.classList.toggle("selected", row.dataset.seq === String(entry.seq));
    };
    body.append(el("tr", {
      tabindex: "0", "data-seq": entry.seq, class: entry.status >= 400 || entry.delivery !== "answered" ? "failed" : null,
      onclick: show,
      onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); show(); } },
    },
    el("td", {}, entry.seq),
    el("td", { class: "mono nowrap", title: fmt(entry.at) }, fmt(entry.at).slice(11)),
    el("td", { title: entry.method + " " + entry.path },
      el("span", { class: "nowrap" }, entry.method + " " + (entry.operation || entry.path)),
      entry.number ? el("div", { class: "muted small mono" }, entry.number) : null),
    el("td", { class: entry.status >= 400 || entry.delivery !== "answered" ? "bad" : "ok" }, entry.status || "—",
      entry.delivery && entry.delivery !== "answered" ? el("div", { class: "small" }, entry.delivery) : null,
      entry.fault_id ? el("div", { class: "muted small" }, "fault #" + entry.fault_id + (entry.applied ? ", applied" : "")) : null),
    el("td", {}, entry.error_code ? el("strong", {}, entry.error_code) : "",
      entry.error_message ? el("div", { class: "small" }, entry.error_message.replace(/^\(#\d+\)\s*/, "")) : ""),
    el("td", { class: "mono nowrap" }, tokenOf(entry)),
    el("td", { class: "mono" }, entry.params && entry.params.pin !== undefined ? entry.params.pin : "—")));
  }
}

// ---------------------------------------------------------------- faults, namespaces

function renderFaults() {
  const list = $("faults");
  list.replaceChildren(...state.faults.map((f) => el("li", {},
    "#" + f.id + " " + (f.error_code ? "error " + f.error_code : (f.answer && f.answer !== "normal" ? f.answer : "no error")) +
    (f.http_status ? " (HTTP " + f.http_status + ")" : "") +
    (f.apply ? ", applied" : ", not applied") +
    (f.latency_ms ? ", +" + f.latency_ms + " ms before" : "") +
    (f.delay_ms ? ", +" + f.delay_ms + " ms after" : "") +
    (f.probability !== undefined && f.probability !== null ? ", p=" + f.probability + " seed " + f.seed : "") +
    (f.from ? ", from " + f.from : "") + (f.until ? ", until " + f.until : "") +
    (f.number ? ", number " + f.number : "") + (f.operation ? ", " + f.operation : "") +
    ", " + (f.remaining === null || f.remaining === undefined ? "until cleared" : f.remaining + " left") + " ",
    el("button", { type: "button", onclick: () => action("Fault #" + f.id + " cleared", () => api("DELETE", "/faults/" + f.id)) },
      "Clear #" + f.id))));
  if (!state.faults.length) list.append(el("li", { class: "muted" }, "No fault armed."));
}

function renderWabaChoices() {
  const select = $("namespace-template");
  const current = select.value;
  select.replaceChildren(el("option", { value: "" }, "default (first WABA)"),
    ...state.wabas.map((w) => el("option", { value: w.id }, w.name ? w.name + " (" + w.id + ")" : w.id)));
  select.value = state.wabas.some((w) => w.id === current) ? current : "";
}

// ---------------------------------------------------------------- onboarding

// A secret shown as its first six characters and its length, like the journal's tokens, until
// the user asks to see it (screenshots and shared screens stay clean).
function masked(secret) {
  return secret.slice(0, 6) + "\u2026 (" + secret.length + " chars)";
}

function renderOnboarding() {
  const key = JSON.stringify([state.apps, state.wabas.map((w) => [w.id, w.name, w.subscribed_apps]),
    [...state.revealed]]);
  if (key === state.onboardingKey) return;
  state.onboardingKey = key;
  const body = $("apps-body");
  body.replaceChildren(...state.apps.map((app) => {
    const shown = state.revealed.has(app.id);
    return el("tr", { "data-app": app.id },
      el("td", { class: "mono nowrap" }, app.id),
      el("td", {}, app.name || "—"),
      el("td", { class: "mono" }, shown ? app.secret : masked(app.secret), " ",
        el("button", { type: "button", class: "small", onclick: () => {
          if (shown) state.revealed.delete(app.id); else state.revealed.add(app.id);
          renderOnboarding();
        } }, shown ? "Hide" : "Show")));
  }));
  if (!state.apps.length) body.append(el("tr", {}, el("td", { colspan: "3", class: "muted" }, "No app: declare one under apps in the fixtures.")));
  const appName = (id) => (state.apps.find((a) => a.id === id) || {}).name || id;
  const subscribed = state.wabas.filter((w) => w.subscribed_apps && w.subscribed_apps.length);
  $("subscriptions").replaceChildren(...subscribed.map((w) => el("li", {},
    "WABA " + (w.name ? w.name + " (" + w.id + ")" : w.id) + ": ",
    w.subscribed_apps.map((s, i) => [i ? ", " : "", appName(s.app_id),
      s.override_callback_uri ? el("span", { class: "muted" }, " → " + s.override_callback_uri) : null]))));
  if (!subscribed.length) $("subscriptions").append(el("li", { class: "muted" }, "No WABA has a subscribed app."));
  const choice = $("signup-app");
  const current = choice.value;
  choice.replaceChildren(...state.apps.map((a) => el("option", { value: a.id }, (a.name || "app") + " (" + a.id + ")")));
  if (state.apps.some((a) => a.id === current)) choice.value = current;
}

function showSignup(data) {
  const out = $("signup-out");
  out.hidden = false;
  const lines = ["event:           " + data.event, "app_id:          " + data.app_id];
  if (data.code) {
    lines.push("code:            " + data.code, "code_expires_at: " + data.code_expires_at);
  }
  for (const name of ["business_id", "waba_id", "phone_number_id"]) {
    if (data[name]) lines.push((name + ":").padEnd(17) + data[name]);
  }
  lines.push("session info (the popup's message):", JSON.stringify(data.session_info, null, 2));
  out.textContent = lines.join("\n");
}

function wireOnboarding() {
  for (const select of document.querySelectorAll(".preset-choice")) {
    select.replaceChildren(...PRESETS.map(([value, text]) => el("option", { value }, text)));
  }
  $("signup-finish").addEventListener("change", () => {
    const finish = $("signup-finish").value;
    $("signup-step").disabled = finish !== "CANCEL";
    // A coexistence signup onboards a WhatsApp Business app number: its preset is smb.
    $("signup-preset").disabled = finish !== "FINISH";
  });
  $("signup-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const finish = $("signup-finish").value;
    const request = { finish };
    if ($("signup-app").value) request.app_id = $("signup-app").value;
    if (finish === "FINISH") request.preset = $("signup-preset").value;
    if (finish === "CANCEL") request.current_step = $("signup-step").value;
    if ($("signup-scopes").value) request.granular_scopes = $("signup-scopes").value;
    action("Embedded Signup finished with " + finish, async () => {
      const { data } = await api("POST", "/embedded-signup", request);
      showSignup(data);
      if (data.phone_number_id) $("preset-number").value = data.phone_number_id;
    });
  });
  $("preset-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("preset-number").value.trim();
    const preset = $("preset-choice").value;
    action("Number " + id + " put in preset " + preset, () =>
      api("POST", "/numbers/" + encodeURIComponent(id) + "/preset", { preset }));
  });
  for (const button of [$("name-approve"), $("name-reject")]) {
    button.addEventListener("click", () => {
      const id = $("preset-number").value.trim();
      if (!id) { say("Choose a number first (select a row, or type its id).", true); return; }
      const decision = button.dataset.decision;
      action("Display-name review of " + id + ": " + decision, () =>
        api("POST", "/numbers/" + encodeURIComponent(id) + "/name-review", { decision }));
    });
  }
}

// ---------------------------------------------------------------- webhooks

// New deliveries come with ?since=<last id>; deliveries still pending or retrying are asked for
// again until they settle (the query starts below the oldest open one).
async function pollDeliveries() {
  try {
    const open = state.deliveries.filter((d) => d.state === "pending" || d.state === "retrying");
    const since = open.length ? Math.min(...open.map((d) => d.id)) - 1 : state.deliveriesSeen;
    const { data } = await api("GET", "/webhooks/deliveries?since=" + since + "&limit=" + DELIVERIES_KEPT);
    let fresh = data.data;
    if (!fresh.length && state.deliveriesSeen) {
      // A log cleared or reset elsewhere starts its ids again: follow it.
      const newest = (await api("GET", "/webhooks/deliveries?limit=1")).data.data;
      if (!newest.length || newest[0].id < state.deliveriesSeen) {
        state.deliveries = [];
        state.deliveriesSeen = 0;
        fresh = newest.length ? (await api("GET", "/webhooks/deliveries?limit=" + DELIVERIES_KEPT)).data.data : [];
        renderDeliveries();
      }
    }
    // Open deliveries no longer listed were cleared elsewhere.
    const listed = new Set(fresh.map((d) => d.id));
    const gone = open.filter((d) => !listed.has(d.id)).map((d) => d.id);
    if (gone.length) state.deliveries = state.deliveries.filter((d) => !gone.includes(d.id));
    if (!fresh.length) { if (gone.length) renderDeliveries(); return; }
    const byId = new Map(state.deliveries.map((d) => [d.id, d]));
    for (const d of fresh) byId.set(d.id, d);
    state.deliveries = [...byId.values()].sort((a, b) => a.id - b.id).slice(-DELIVERIES_KEPT);
    state.deliveriesSeen = Math.max(state.deliveriesSeen, fresh[fresh.length - 1].id);
    renderDeliveries();
  } catch (_) { /* shown by api() */ }
}

function lastAttempt(d) {
  return d.attempts.length ? d.attempts[d.attempts.length - 1] : null;
}

function renderDeliveries() {
  const key = JSON.stringify([state.deliveries.map((d) => [d.id, d.state, d.attempt_count]), state.delivery]);
  if (key === state.deliveriesKey) return;
  state.deliveriesKey = key;
  const body = $("deliveries-body");
  body.replaceChildren();
  $("deliveries-empty").hidden = state.deliveries.length > 0;
  for (const d of state.deliveries.slice().reverse()) {
    const last = lastAttempt(d);
    const failed = d.state === "failed" || d.state === "dropped" || d.state === "retrying";
    const show = () => { state.delivery = d.id; renderDelivery(); renderDeliveries(); };
    body.append(el("tr", {
      tabindex: "0", "data-delivery": d.id, class: [d.id === state.delivery ? "selected" : "", failed ? "failed" : ""].join(" ").trim() || null,
      onclick: show,
      onkeydown: (event) => { if (event.key === "Enter" || event.key === " ") { event.preventDefault(); show(); } },
    },
    el("td", {}, d.id),
    el("td", { class: "mono nowrap", title: fmt(d.enqueued_at) }, fmt(last ? last.at : d.enqueued_at).slice(11)),
    el("td", {}, d.field, d.number_id ? el("div", { class: "muted small mono" }, d.number_id) : null),
    el("td", { class: "mono" }, d.app_id),
    el("td", { class: "mono url", title: d.url }, d.url),
    el("td", { class: "nowrap delivery-state " + (d.state === "delivered" ? "ok" : failed ? "bad" : "") }, d.state,
      d.dropped_reason ? el("div", { class: "small" }, d.dropped_reason) : null,
      d.next_attempt_at ? el("div", { class: "muted small" }, "next " + fmt(d.next_attempt_at).slice(11)) : null),
    el("td", { class: "last-status" }, last ? (last.status || last.error || "—") : "—",
      last && last.fault ? el("div", { class: "muted small" }, last.fault) : null),
    el("td", { class: "attempts" }, d.attempt_count)));
  }
  renderDelivery();
}

function renderDelivery() {
  const d = state.deliveries.find((x) => x.id === state.delivery);
  $("delivery").hidden = !d;
  if (!d) return;
  $("delivery-title").textContent = "Delivery #" + d.id + " · " + d.field + " → " + d.url + " · " + d.state;
  $("delivery-signature").textContent = d.signature;
  // The exact bytes sent (ASCII: Meta's escaping), not re-formatted.
  $("delivery-body").textContent = d.body;
  $("delivery-attempts").replaceChildren(...d.attempts.map((a) => el("li", {},
    fmt(a.at) + ": " + (a.status ? "HTTP " + a.status : a.error || "no answer") + ", " + a.latency_ms + " ms" +
    (a.fault ? " (fault " + a.fault + ")" : ""))));
  $("delivery-redeliver").disabled = d.state === "pending" || d.state === "retrying";
}

function renderCallbacks() {
  const key = JSON.stringify(state.apps.map((a) => [a.id, a.name, a.webhook]));
  if (key === state.callbacksKey) return;
  state.callbacksKey = key;
  $("callbacks-body").replaceChildren(...state.apps.map((app) => el("tr", { "data-callback-app": app.id },
    el("td", {}, app.name || app.id, el("div", { class: "muted small mono" }, app.id)),
    el("td", { class: "mono small" }, app.webhook ? app.webhook.callback_url : el("span", { class: "muted" }, "none"),
      app.webhook && app.webhook.fields ? el("div", { class: "muted" }, app.webhook.fields.join(", ")) : null),
    el("td", {}, app.webhook ? el("button", { type: "button", class: "small", onclick: () =>
      action("Callback of app " + app.id + " removed", () => api("DELETE", "/apps/" + encodeURIComponent(app.id) + "/webhook")) },
    "Remove") : null))));
  const choice = $("callback-app");
  const current = choice.value;
  choice.replaceChildren(...state.apps.map((a) => el("option", { value: a.id }, (a.name || "app") + " (" + a.id + ")")));
  if (state.apps.some((a) => a.id === current)) choice.value = current;
}

function renderDeliveryFaults() {
  const list = $("delivery-faults");
  list.replaceChildren(...state.deliveryFaults.map((f) => el("li", {},
    "#" + f.id + " " + f.kind + (f.delay_ms ? " " + f.delay_ms + " ms" : "") +
    (f.field ? ", " + f.field : "") + (f.app_id ? ", app " + f.app_id : "") + (f.number_id ? ", number " + f.number_id : "") +
    ", " + (f.remaining === null || f.remaining === undefined ? "until removed" : f.remaining + " left") + " ",
    el("button", { type: "button", onclick: () => action("Delivery fault #" + f.id + " removed", () => api("DELETE", "/webhooks/faults/" + f.id)) },
      "Remove #" + f.id))));
  if (!state.deliveryFaults.length) list.append(el("li", { class: "muted" }, "No delivery fault armed."));
}

function wireWebhooks() {
  $("deliveries-clear").addEventListener("click", () => action("Deliveries cleared", async () => {
    await api("DELETE", "/webhooks/deliveries");
    state.deliveries = [];
    state.delivery = null;
    renderDeliveries();
  }));
  $("delivery-close").addEventListener("click", () => { state.delivery = null; renderDeliveries(); });
  $("delivery-redeliver").addEventListener("click", () => {
    const id = state.delivery;
    action("Delivery #" + id + " sent again", async () => {
      const { data } = await api("POST", "/webhooks/deliveries/" + id + "/redeliver");
      state.deliveries = state.deliveries.map((d) => (d.id === id ? data : d));
      renderDeliveries();
    });
  });
  $("callback-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const app = $("callback-app").value;
    const body = { callback_url: $("callback-url").value.trim(), verify_token: $("callback-token").value };
    const fields = $("callback-fields").value.split(",").map((f) => f.trim()).filter(Boolean);
    if (fields.length) body.fields = fields;
    action("Callback of app " + app + " set", () => api("PUT", "/apps/" + encodeURIComponent(app) + "/webhook", body));
  });
  $("inbound-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const id = $("inbound-number").value.trim();
    action("Inbound message sent to " + id, async () => {
      const { data } = await api("POST", "/numbers/" + encodeURIComponent(id) + "/inbound",
        { from: $("inbound-from").value.trim(), text: $("inbound-text").value });
      if (!data.deliveries.length) say("No delivery: the number is unregistered, or no app is subscribed to its WABA.", true);
      await pollDeliveries();
    });
  });
  $("delivery-fault-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const spec = { kind: $("delivery-fault-kind").value };
    if ($("delivery-fault-delay").value) spec.delay_ms = Number($("delivery-fault-delay").value);
    for (const [id, name] of [["delivery-fault-field", "field"], ["delivery-fault-app", "app_id"], ["delivery-fault-number", "number_id"]]) {
      if ($(id).value.trim()) spec[name] = $(id).value.trim();
    }
    if ($("delivery-fault-count").value) spec.count = Number($("delivery-fault-count").value);
    action("Delivery fault armed", () => api("POST", "/webhooks/faults", spec));
  });
  $("delivery-faults-clear").addEventListener("click", () =>
    action("Delivery faults cleared", () => api("DELETE", "/webhooks/faults")));
}

// ---------------------------------------------------------------- wiring

function wire() {
  wireOnboarding();
  wireWebhooks();
  const code = $("fault-code");
  for (const c of FAULT_CODES) code.append(el("option", { value: String(c) }, String(c)));
  code.value = "133000";

  $("token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token-input").value.trim());
    $("token-input").value = "";
    $("token-form").hidden = true;
    say("Admin token saved for this tab.");
    refresh();
    pollJournal();
    pollDeliveries();
  });

  $("reset").addEventListener("click", () => action("Emulator reset to its fixtures", async () => {
    await api("POST", "/reset");
    state.journal = [];
    state.deliveries = [];
    state.delivery = null;
    renderDeliveries();
    $("details").hidden = true;
    renderJournal();
  }));

  for (const button of document.querySelectorAll("[data-advance]")) {
    button.addEventListener("click", () =>
      changeClock({ advance: button.dataset.advance }, "Clock advanced by " + button.dataset.advance));
  }
  $("advance-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = $("advance-input").value.trim();
    changeClock({ advance: /^\d+$/.test(raw) ? Number(raw) : raw }, "Clock advanced by " + raw);
  });
  $("set-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const raw = $("set-input").value.trim();
    changeClock({ set: raw }, "Clock set to " + raw);
  });

  $("fault-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const spec = {};
    const answer = $("fault-answer").value;
    // The code only goes with an error answer (the default answer when a code is chosen).
    if ($("fault-code").value && (answer === "" || answer === "error")) spec.error_code = Number($("fault-code").value);
    if ($("fault-count").value) spec.count = Number($("fault-count").value);
    if ($("fault-number").value.trim()) spec.number = $("fault-number").value.trim();
    if ($("fault-operation").value) spec.operation = $("fault-operation").value;
    if ($("fault-latency").value) spec.latency_ms = Number($("fault-latency").value);
    if (answer) spec.answer = answer;
    if ($("fault-apply").value) spec.apply = $("fault-apply").value === "true";
    if ($("fault-delay").value) spec.delay_ms = Number($("fault-delay").value);
    if ($("fault-probability").value) spec.probability = Number($("fault-probability").value);
    if ($("fault-seed").value) spec.seed = Number($("fault-seed").value);
    if ($("fault-from").value.trim()) spec.from = $("fault-from").value.trim();
    if ($("fault-until").value.trim()) spec.until = $("fault-until").value.trim();
    action("Fault armed", () => api("POST", "/faults", spec));
  });
  $("faults-clear").addEventListener("click", () => action("Faults cleared", () => api("DELETE", "/faults")));

  $("export").addEventListener("click", () => action("State exported", async () => {
    const { text } = await api("GET", "/state");
    const stamp = fmt(emulatorNow()).replace(/[: ]/g, "-");
    const link = el("a", { href: URL.createObjectURL(new Blob([text], { type: "application/json" })),
      download: "emulator-state-" + stamp + ".json" });
    document.body.append(link);
    link.click();
    link.remove();
    setTimeout(() => URL.revokeObjectURL(link.href), 10000);
  }));
  $("import-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const file = $("import-file").files[0];
    if (!file) return;
    action("State imported from " + file.name, async () => api("PUT", "/state", await file.text()));
  });

  $("namespace-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const template = $("namespace-template").value;
    action("Namespace created", async () => {
      const { data } = await api("POST", "/namespaces", template ? { template_waba: template } : {});
      const out = $("namespace-out");
      out.hidden = false;
      out.textContent = "namespace: " + data.namespace + "\nwaba_id:   " + data.waba_id +
        "\ntoken:     " + data.token + "\nnumbers:   " + data.numbers.map((n) => n.id).join(", ");
    });
  });

  $("filter-text").addEventListener("input", renderNumbers);
  $("filter-state").addEventListener("change", renderNumbers);
  $("details-close").addEventListener("click", () => { $("details").hidden = true; });
}

async function loop() {
  if ($("token-form").hidden) {
    await Promise.all([refresh(), pollJournal(), pollDeliveries()]);
  }
  setTimeout(loop, 1000);
}

wire();
setInterval(tick, 1000);
// Load data after the first frame is on screen: the static page paints first, the tables fill
// in one frame later. The panels below the fold (controls, onboarding, webhooks) are laid out
// only then too: left out of the first frame, they keep its cost near a static page's
// (bench/console_paint.py).
requestAnimationFrame(() => setTimeout(() => {
  for (const panel of document.querySelectorAll("[data-deferred]")) panel.hidden = false;
  loop();
}, 0));
