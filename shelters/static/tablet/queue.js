// The tablet's write queue: every write goes into localStorage first, then is sent in order
// with its own Idempotency-Key. Offline (or on a timeout) it stays queued and is sent again
// when the connection returns; the server answers a repeat of the same key with the first
// answer, so nothing is ever counted twice.

const QUEUE = "sonae.queue.v1";
const FAILED = "sonae.failed.v1";
const TIMEOUT_MS = 15000;
const RETRY_MS = 10000;

const load = (name) => JSON.parse(localStorage.getItem(name) || "[]");
const store = (name, list) => localStorage.setItem(name, JSON.stringify(list));

export const pending = () => load(QUEUE);
export const failed = () => load(FAILED);

function newKey() {
  // crypto.randomUUID needs a secure context; tablets on a LAN may use plain http.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "tablet-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

function changed() {
  document.dispatchEvent(new CustomEvent("sonae:queue"));
}

/** Queue a write; returns the entry. `label` says in words what it is, for the queue list. */
export function enqueue({ url, method = "POST", body, label }) {
  const entry = { key: newKey(), url, method, body, label, queuedAt: new Date().toISOString() };
  store(QUEUE, [...pending(), entry]);
  changed();
  flush();
  return entry;
}

function settle(entry, outcome) {
  store(QUEUE, pending().filter((e) => e.key !== entry.key));
  if (outcome.error) {
    store(FAILED, [...failed(), { ...entry, error: outcome.error, status: outcome.status }]);
  }
  document.dispatchEvent(new CustomEvent("sonae:settled", { detail: { entry, ...outcome } }));
  changed();
}

export function dismiss(key) {
  store(FAILED, failed().filter((e) => e.key !== key));
  changed();
}

async function send(entry) {
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), TIMEOUT_MS);
  try {
    return await fetch(entry.url, {
      method: entry.method,
      credentials: "same-origin",
      signal: abort.signal,
      headers: {
        "Content-Type": "application/json",
        "Idempotency-Key": entry.key,
        "X-CSRFToken": csrfToken(),
      },
      body: JSON.stringify(entry.body ?? {}),
    });
  } finally {
    clearTimeout(timer);
  }
}

function describe(status, data) {
  if (!data) return `HTTP ${status}`;
  const fields = (data.errors || []).map((e) => `${e.field}: ${e.message}`);
  return [data.message, ...fields].filter(Boolean).join(" / ");
}

let running = null;
let paused = "";

export function state() {
  return { sending: Boolean(running), paused };
}

/** Send what is queued, oldest first. Stops at the first entry that cannot get through. */
export function flush() {
  if (!running) running = drain().finally(() => { running = null; changed(); });
  return running;
}

async function drain() {
  paused = "";
  changed();
  for (const entry of pending()) {
    let response;
    try {
      response = await send(entry);
    } catch {
      paused = "offline"; // no connection, or no answer in time: keep it, try again later
      return;
    }
    let data = null;
    try { data = await response.json(); } catch { /* not JSON */ }
    if (response.ok) {
      settle(entry, { data, status: response.status });
    } else if (response.status === 401 || (response.status === 403 && data?.reason === "csrf")) {
      paused = "login"; // signed out: the entry waits for the user to sign in again
      return;
    } else if (response.status >= 500 || response.status === 429 || response.status === 408) {
      paused = "server";
      return;
    } else {
      // Refused (not enough stock, bad input, no permission): retrying cannot help, so it
      // leaves the queue and is shown until the user dismisses it.
      settle(entry, { data, status: response.status, error: describe(response.status, data) });
    }
  }
}

window.addEventListener("online", () => flush());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") flush();
});
setInterval(() => { if (pending().length && !running) flush(); }, RETRY_MS);
