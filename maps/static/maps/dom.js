// Small DOM helpers shared by the map pages. Text always goes in as textContent, never as
// markup: names, descriptions and addresses come from the public and must not run.

/** el("li", {class: "x", "data-id": 3}, "text", childNode, ...) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    node.setAttribute(name, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function csrfToken() {
  return document.querySelector("meta[name=csrf-token]")?.content ?? "";
}

/** JSON from our API, with the session and CSRF token a browser page must send. A write
 * carries an Idempotency-Key: pass the same `key` to send the same write again. */
export async function api(method, url, body, key = crypto.randomUUID()) {
  const headers = { Accept: "application/json" };
  const init = { method, headers, credentials: "same-origin" };
  if (body instanceof FormData) {
    init.body = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  if (method !== "GET") {
    headers["X-CSRFToken"] = csrfToken();
    headers["Idempotency-Key"] = key;
  }
  const response = await fetch(url, init);
  const data = response.headers.get("Content-Type")?.includes("json") ? await response.json() : null;
  if (!response.ok) {
    const error = new Error(data?.detail ?? data?.message ?? `HTTP ${response.status}`);
    error.status = response.status;
    error.data = data;
    throw error;
  }
  return data;
}

/** A small line chart as SVG: points are [Date, number]. */
export function lineChart(svg, points, label) {
  const NS = "http://www.w3.org/2000/svg";
  const width = 300, height = 80, pad = 4;
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  const last = points.length ? points[points.length - 1][1] : 0;
  svg.setAttribute("aria-label", `${label}: ${last}`);
  if (points.length < 1) return;
  const t0 = points[0][0].getTime();
  const t1 = Math.max(points[points.length - 1][0].getTime(), Date.now());
  const max = Math.max(1, ...points.map((p) => p[1]));
  const x = (t) => pad + ((t - t0) / Math.max(1, t1 - t0)) * (width - 2 * pad);
  const y = (v) => height - pad - (v / max) * (height - 2 * pad);
  let d = "";
  let previous = null;
  for (const [at, value] of points) {
    // A step line: a figure holds until the next one replaces it.
    if (previous !== null) d += ` L${x(at.getTime()).toFixed(1)},${y(previous).toFixed(1)}`;
    d += `${d ? " L" : "M"}${x(at.getTime()).toFixed(1)},${y(value).toFixed(1)}`;
    previous = value;
  }
  d += ` L${x(t1).toFixed(1)},${y(previous).toFixed(1)}`;
  const path = document.createElementNS(NS, "path");
  path.setAttribute("d", d);
  path.setAttribute("class", "line");
  const text = document.createElementNS(NS, "text");
  text.setAttribute("x", String(width - pad));
  text.setAttribute("y", "14");
  text.setAttribute("text-anchor", "end");
  text.textContent = String(last);
  svg.append(path, text);
}

/** A moment as the operations room reads it: month, day, hours and minutes, in Japan's time. */
export function localTime(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(document.documentElement.lang, {
    month: "numeric",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "Asia/Tokyo",
  });
}
