// The tablet's write queue (DESIGN decision 12). Every write is stored in IndexedDB first
// with its own Idempotency-Key, then sent, oldest first. Offline, or when no answer comes,
// it stays queued — across reloads and browser restarts — and goes by itself when the
// connection returns; the server answers a repeat of the same key with its first answer, so
// nothing is counted twice. Each write keeps its fate: landed (with the answer) or refused
// (with the reason, and what was typed so its form can be filled in again).
import * as store from "./store.js";

const TIMEOUT_MS = 15000;
const RETRY_MS = 10000;
const FIRST_RETRY_MS = 250;
const LANDED_KEPT = 30; // landed writes shown in the panel; older ones are forgotten
const LEGACY = ["sonae.queue.v1", "sonae.failed.v1"]; // the localStorage queue before this one

const channel = "BroadcastChannel" in globalThis ? new BroadcastChannel("sonae-queue") : null;
let sequence = 0;
let running = null;
let paused = "";

function newKey() {
  // crypto.randomUUID needs a secure context; tablets on a LAN may use plain http.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return "tablet-" + Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function csrfToken() {
  // The cookie is the current one even on a page served from the cache after a new login.
  const cookie = document.cookie.split("; ").find((c) => c.startsWith("csrftoken="));
  if (cookie) return decodeURIComponent(cookie.slice("csrftoken=".length));
  return document.querySelector('meta[name="csrf-token"]')?.content ?? "";
}

function changed(kind = "changed", detail = {}) {
  document.dispatchEvent(new CustomEvent("sonae:queue", { detail: { kind, ...detail } }));
}

channel?.addEventListener("message", ({ data }) => changed(data.kind, data));

function announce(kind, detail = {}) {
  changed(kind, detail);
  channel?.postMessage({ kind, ...detail });
}

/** Every write this tablet knows of, oldest first: pending, landed and refused. */
export const entries = () => store.all();

/** Queue a write. `label` says in words what it is; `form` is what was typed, kept so that
 * a refused write can be put back into its form. Resolves once it is on disk. */
export async function enqueue({ url, method = "POST", body, label, form = null }) {
  const entry = {
    key: newKey(),
    seq: Date.now() * 1000 + (sequence++ % 1000),
    url,
    method,
    body,
    label,
    form,
    queuedAt: new Date().toISOString(),
    state: "pending",
  };
  await store.put(entry);
  announce("queued", { key: entry.key });
  flush();
  return entry;
}

/** Forget a settled write (the manager has seen its fate). */
export async function dismiss(key) {
  await store.remove(key);
  announce("dismissed", { key });
}

export async function markRestored(key) {
  const entry = await store.get(key);
  if (entry) await store.put({ ...entry, restored: true });
}

export function state() {
  return { sending: Boolean(running), paused };
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

async function settle(entry, outcome) {
  const settled = { ...entry, ...outcome, settledAt: new Date().toISOString() };
  await store.put(settled, "relaxed");
  document.dispatchEvent(new CustomEvent("sonae:settled", { detail: settled }));
  announce("settled", { key: entry.key, state: settled.state });
}

async function forgetOldLanded() {
  const landed = (await store.all()).filter((e) => e.state === "landed");
  for (const entry of landed.slice(0, Math.max(0, landed.length - LANDED_KEPT))) {
    await store.remove(entry.key);
  }
}

let soon = null;
let backoff = FIRST_RETRY_MS;

/** Send what is queued, oldest first; stops at the first write that cannot get through.
 * One tab sends at a time (a Web Lock); the others leave it to that one. When the browser
 * says it is online but nothing got through (the link comes back in stages), it tries
 * again soon, then less often, up to every RETRY_MS. */
export function flush() {
  if (!running) {
    clearTimeout(soon);
    running = (navigator.locks
      ? navigator.locks.request("sonae-queue", { ifAvailable: true }, (lock) => (lock ? drain() : null))
      : drain()
    ).finally(() => {
      running = null;
      changed();
      if (paused && navigator.onLine) {
        soon = setTimeout(flush, backoff);
        backoff = Math.min(2 * backoff, RETRY_MS);
      } else {
        backoff = FIRST_RETRY_MS;
      }
    });
  }
  return running;
}

async function drain() {
  paused = "";
  changed();
  let landed = 0;
  // The answer to one write is stored while the next is on its way: the next is sent only
  // once the server has answered this one (writes reach it in the order they were made),
  // and if the tab dies before a landed write is marked so, it is sent again with the same
  // key and the server replays its first answer.
  let storing = Promise.resolve();
  const later = (entry, outcome) => { storing = storing.then(() => settle(entry, outcome)); };
  try {
    for (;;) {
      const waiting = (await store.all()).filter((e) => e.state === "pending");
      if (!waiting.length) break;
      for (const entry of waiting) {
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
          later(entry, { state: "landed", status: response.status, data });
          landed += 1;
        } else if (response.status === 401 || (response.status === 403 && data?.reason === "csrf")) {
          paused = "login"; // signed out: the write waits for the user to sign in again
          return;
        } else if (response.status >= 500 || response.status === 429 || response.status === 408) {
          paused = "server";
          return;
        } else {
          // Refused (not enough stock, bad input, no permission): sending again cannot help.
          later(entry, {
            state: "refused",
            status: response.status,
            error: describe(response.status, data),
            fields: data?.errors || [],
          });
        }
      }
      await storing; // before reading the queue again
    }
  } finally {
    await storing;
    if (landed) {
      await forgetOldLanded();
      announce("drained", { landed });
    }
  }
}

/** Writes queued by the localStorage queue of earlier versions move here, once. */
async function migrateLegacy() {
  for (const name of LEGACY) {
    let rows = [];
    try { rows = JSON.parse(localStorage.getItem(name) || "[]"); } catch { rows = []; }
    for (const row of rows) {
      const refused = name === "sonae.failed.v1";
      await store.put({
        ...row,
        seq: Date.parse(row.queuedAt) * 1000 + (sequence++ % 1000),
        state: refused ? "refused" : "pending",
        ...(refused ? { settledAt: row.queuedAt } : {}),
      });
    }
    localStorage.removeItem(name);
  }
}

export const ready = migrateLegacy().catch(() => {}).then(() => changed());

window.addEventListener("online", () => flush());
document.addEventListener("visibilitychange", () => {
  if (document.visibilityState === "visible") flush();
});
setInterval(async () => {
  if (running) return;
  if ((await store.all()).some((e) => e.state === "pending")) flush();
}, RETRY_MS);
