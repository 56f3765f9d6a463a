// Offline first (DESIGN decision 12): the service worker (/shelter/sw.js) keeps the app
// shell and every page of the manager's shelters with the figures they last showed, so any
// tablet page opens with no connection. Here: registering it, asking it to keep the pages
// fresh, and saying plainly when what is shown is the last known state, and of when.
import { gettext, interpolate } from "../maps/i18n.js";
import { refreshFigures } from "./figures.js";
import { flush } from "./queue.js";

const $ = (selector) => document.querySelector(selector);
const WARM_EVERY_MS = 5 * 60 * 1000; // pages are read again at most this often without a write
const WARMED_AT = "sonae.pagesWarmedAt";
const root = $("#tablet");

function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return "—";
  return date.toLocaleString(document.documentElement.lang || "ja", {
    month: "numeric", day: "numeric", hour: "2-digit", minute: "2-digit",
  });
}

/** The banner that says the page shows the last known figures, and of when. */
export function showConnection() {
  const banner = $("#offline-banner");
  if (!root || !banner) return;
  const fromCache = root.dataset.served === "cache";
  const offline = fromCache || !navigator.onLine;
  banner.hidden = !offline;
  document.documentElement.dataset.offline = String(offline);
  if (!offline) return;
  const time = when(root.dataset.renderedAt);
  banner.textContent = navigator.onLine
    ? interpolate(gettext("サーバーに接続できません。%(time)s 時点の情報を表示しています。"), { time })
    : interpolate(gettext("オフラインです。%(time)s 時点の情報を表示しています。"), { time });
}

async function worker() {
  if (!("serviceWorker" in navigator)) return null;
  const registration = await navigator.serviceWorker.ready;
  return registration.active;
}

/** Ask the service worker to read every page of the manager's shelters again, so that
 * each opens offline with recent figures. `force` after a write changed them. */
export async function warm(force = false) {
  const pages = JSON.parse($("#tablet-pages")?.textContent || "[]");
  const last = Number(localStorage.getItem(WARMED_AT) || 0);
  const active = await worker();
  if (!active || root?.dataset.served === "cache" || !navigator.onLine) return;
  if (force || Date.now() - last > WARM_EVERY_MS) {
    const channel = new MessageChannel();
    const done = new Promise((resolve) => { channel.port1.onmessage = ({ data }) => resolve(data); });
    active.postMessage({ type: "warm", urls: pages }, [channel.port2]);
    await done;
    localStorage.setItem(WARMED_AT, String(Date.now()));
  }
  document.documentElement.dataset.warmed = "true";
}

const RETRY_MS = 3000;
let retry = null;

/** The connection is back (or seems to be): what is queued goes first (the server's time
 * is theirs; a drain reads the figures again itself), then the figures are read again; until
 * the server answers, again every few seconds while the browser thinks it is online. */
async function backOnline() {
  clearTimeout(retry);
  await flush();
  if (root?.dataset.served !== "cache") return showConnection();
  if (await refreshFigures()) {
    showConnection();
    warm();
  } else if (navigator.onLine) {
    retry = setTimeout(backOnline, RETRY_MS);
  }
}

function register() {
  if (!("serviceWorker" in navigator) || !root?.dataset.worker) return;
  navigator.serviceWorker.register(root.dataset.worker, { scope: root.dataset.scope }).catch(() => {
    // No service worker (plain http on a LAN): pages need the network; writes still queue.
  });
}

/** Signing out forgets the pages kept for offline use: they are the manager's, not the
 * next user's. Writes still waiting stay, and go once someone signs in again. */
function forgetPagesOnLogout() {
  const form = document.querySelector('form[action$="/logout/"]');
  form?.addEventListener("submit", async (event) => {
    if (!("caches" in globalThis) || form.dataset.forgotten) return;
    event.preventDefault();
    await caches.delete("sonae-pages").catch(() => {});
    localStorage.removeItem(WARMED_AT);
    form.dataset.forgotten = "true";
    form.submit();
  });
}

export function start() {
  register();
  forgetPagesOnLogout();
  showConnection();
  window.addEventListener("online", backOnline);
  window.addEventListener("offline", showConnection);
  document.addEventListener("sonae:figures", showConnection);
  if (root?.dataset.served === "cache" && navigator.onLine) backOnline();
  else warm();
}
