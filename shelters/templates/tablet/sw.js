// The tablet app's service worker (DESIGN decision 12), served from /shelter/sw.js so that
// its scope is the app. It keeps:
// - the app shell (styles, scripts, page strings, icons) in a cache named by the version of
//   those files, taken from the cache first;
// - every tablet page with the figures it last showed, from the network first and from the
//   cache when there is no network (or no answer within NETWORK_TIMEOUT_MS), marked so the
//   page says it shows the last known figures and of when.
// Writes are not its business: the pages queue them in IndexedDB (static/tablet/queue.js).
const CONFIG = {{ config|safe }};
const SHELL = `sonae-shell-${CONFIG.version}`;
const PAGES = "sonae-pages"; // not versioned: the last known figures outlive an update
const NETWORK_TIMEOUT_MS = 4000;
// Pages and the page strings vary by cookie and language; a kept one is for this tablet's
// user and language, whatever headers the request that asks for it again carries.
const MATCH = { ignoreVary: true };

self.addEventListener("install", (event) => {
  // Writes and the API go straight to the network, without waking this worker for each
  // (the static routing API, where the browser has it; else the fetch handler passes them).
  try {
    event.addRoutes?.([
      { condition: { requestMethod: "post" }, source: "network" },
      { condition: { urlPattern: { pathname: "/api/*" } }, source: "network" },
    ])?.catch(() => {});
  } catch {
    // An older browser: the fetch handler below lets them through.
  }
  event.waitUntil(
    caches.open(SHELL)
      .then((cache) => cache.addAll(CONFIG.shell.map((url) => new Request(url, { cache: "reload" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(
        names.filter((name) => name.startsWith("sonae-shell-") && name !== SHELL).map((name) => caches.delete(name)),
      ))
      .then(() => self.clients.claim()),
  );
});

function inScope(url) {
  return url.origin === self.location.origin && url.pathname.startsWith(CONFIG.scope)
    && !CONFIG.never.includes(url.pathname);
}

function isShell(url) {
  return url.origin === self.location.origin && CONFIG.shell.includes(url.pathname + url.search);
}

/** The network's answer, or a rejection after NETWORK_TIMEOUT_MS: on a weak connection the
 * kept page is better than a blank screen. */
function fromNetwork(request) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), NETWORK_TIMEOUT_MS);
    fetch(request).then(
      (response) => { clearTimeout(timer); resolve(response); },
      (error) => { clearTimeout(timer); reject(error); },
    );
  });
}

/** Keep a page the network gave: only a real page of the app (not a login page a lapsed
 * session was sent to, not an error). A redirect inside the app (/shelter/ → the manager's
 * only shelter) is kept as a redirect. */
async function keep(request, response) {
  const url = new URL(request.url);
  const final = new URL(response.url || request.url);
  const html = (response.headers.get("Content-Type") || "").includes("text/html");
  if (!response.ok || !html || !inScope(final)) return;
  const cache = await caches.open(PAGES);
  if (response.redirected && final.pathname !== url.pathname) {
    await cache.put(url.pathname, Response.redirect(final.pathname, 302));
  }
  await cache.put(final.pathname, response.clone());
}

async function fromCache(request) {
  const cache = await caches.open(PAGES);
  const kept = await cache.match(new URL(request.url).pathname, MATCH);
  if (!kept) return null;
  if (kept.status !== 200) return kept; // a kept redirect
  const body = (await kept.text()).replace('data-served="network"', 'data-served="cache"');
  return new Response(body, { status: 200, headers: kept.headers });
}

function notKept() {
  const body = `<!doctype html><html lang="ja"><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${CONFIG.text.title}</title>
<body style="font-family: sans-serif; padding: 1rem">
<p>${CONFIG.text.body}</p><p><a href="${CONFIG.scope}">${CONFIG.text.back}</a></p></body></html>`;
  return new Response(body, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
}

async function page(request) {
  try {
    const response = await fromNetwork(request);
    await keep(request, response);
    return response;
  } catch {
    return (await fromCache(request)) || notKept();
  }
}

async function shell(request) {
  const cache = await caches.open(SHELL);
  const url = new URL(request.url);
  if (url.pathname === CONFIG.catalogue) {
    // The page strings follow the language chosen: from the network while there is one.
    try {
      const response = await fromNetwork(request);
      if (response.ok) await cache.put(request, response.clone());
      return response;
    } catch {
      return (await cache.match(request, MATCH)) || Response.error();
    }
  }
  return (await cache.match(request, MATCH)) || fetch(request);
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (isShell(url)) event.respondWith(shell(request));
  else if (inScope(url)) event.respondWith(page(request));
});

/** {type: "warm", urls}: read these pages again and keep them (the manager's shelters,
 * after a write changed their figures); answers on the port given when done. */
self.addEventListener("message", (event) => {
  if (event.data?.type !== "warm") return;
  const port = event.ports[0];
  const urls = (event.data.urls || []).filter((url) => inScope(new URL(url, self.location.origin)));
  event.waitUntil(warm(urls).then((kept) => port?.postMessage({ kept })));
});

const WARM_AT_ONCE = 2; // a tablet on a weak link, a server busy with the city's writes

/** Read the pages again, a couple at a time; how many were kept. */
async function warm(urls) {
  let kept = 0;
  const next = [...urls];
  async function one() {
    for (let url = next.shift(); url; url = next.shift()) {
      try {
        const request = new Request(url, { credentials: "same-origin", cache: "no-store" });
        await keep(request, await fetch(request));
        kept += 1;
      } catch {
        // Offline again, or the server did not answer: the page kept before stays.
      }
    }
  }
  await Promise.all(Array.from({ length: WARM_AT_ONCE }, one));
  return kept;
}
