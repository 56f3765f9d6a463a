// Damage reports on the operations map, at any count, none left out silently:
//
// - every open report is drawn from vector tiles (one ST_AsMVT query per tile, canvas), on
//   by default, with the count of what the tiles hold shown beside the map;
// - the newest thousand (and every report an event brings) are also markers, clustered,
//   for triage: their popups show the report and the actions its state allows.
//
// Events carry what a marker needs (place, category, severity, status, time), so a burst of
// new reports costs no request per report; a popup fetches the report's details (words,
// photos, the reporter's contact for staff) only when someone opens it.
import { api, el, localTime } from "../dom.js";
import { gettext, interpolate } from "../i18n.js";
import { renderPanel } from "./panel.js";
import { snapshot, state, urls } from "./state.js";

const SEVERITY_COLOURS = ["#1a7f37", "#7a8b00", "#b26b00", "#c4461b", "#a0001c"];
export const UNCLUSTERED_ZOOM = 17;
// As many as the page's head asked for at once (maps/views.py), so the first load is that answer.
export const MARKERS_LOADED = Number(document.getElementById("ops-map-panel").dataset.markersLimit);
const OPEN = ["new", "verified", "assigned"];

function reportFilters() {
  const form = document.getElementById("report-filters");
  const data = new FormData(form);
  return {
    category: data.get("category") || "",
    severity: Number(data.get("severity") || 1),
    status: data.get("status") || "",
    hours: Number(data.get("hours") || 0),
  };
}

function reportVisible(report, f = reportFilters()) {
  if (f.category && report.category !== f.category) return false;
  if (report.severity < f.severity) return false;
  if (f.status === "open" && !isUnresolved(report)) return false;
  if (f.status && f.status !== "open" && report.status !== f.status) return false;
  if (f.hours && new Date(report.created_at) < new Date(Date.now() - f.hours * 3600e3)) return false;
  return true;
}

function isUnresolved(report) {
  return OPEN.includes(report.status);
}

const SOURCES = {
  staff: gettext("職員"),
  web: gettext("ウェブの報告フォーム"),
  line: "LINE",
  sms: "SMS",
};

// The actions each state allows (disaster/reports/services.py TRANSITIONS, and merge).
const ACTIONS = {
  new: ["verify", "assign", "merge", "resolve", "reject"],
  verified: ["assign", "merge", "resolve", "reject"],
  assigned: ["assign", "merge", "resolve", "reject"],
};

/** A refusal shown where it belongs: a field's message under that field, anything else
 * under the popup's buttons; announced either way. */
function showRefusal(popup, error) {
  for (const node of popup.querySelectorAll(".field-error")) node.replaceChildren();
  for (const input of popup.querySelectorAll("[aria-invalid]")) input.removeAttribute("aria-invalid");
  const fields = error.data?.errors ?? [];
  let placed = false;
  for (const { field, message } of fields) {
    const name = String(field ?? "").split(".").pop();
    const box = popup.querySelector(`.field-error[data-for="${CSS.escape(name)}"]`);
    if (!box) continue;
    box.textContent = message;
    popup.querySelector(`[name="${CSS.escape(name)}"]`)?.setAttribute("aria-invalid", "true");
    placed = true;
  }
  if (!placed) popup.querySelector(".field-error[data-for=action]").textContent = error.message;
}

async function triage(report, action, body, popup, button) {
  button.setAttribute("aria-busy", "true");
  button.classList.add("busy");
  for (const b of popup.querySelectorAll("button")) b.disabled = true;
  try {
    const updated = await api("POST", `${urls.reports}/${report.id}/${action}`, body);
    if (updated?.id) {
      state.reportDetails.set(updated.id, updated);
      upsertReport(updated);
    }
    document.getElementById("triage-result").textContent = `${gettext("更新しました")} #${report.id}`;
    // Closed only if it still shows this report as it was when the button was pressed.
    if (popup.isConnected) state.reportMarkers.get(report.id)?.closePopup();
  } catch (error) {
    showRefusal(popup, error);
  } finally {
    for (const b of popup.querySelectorAll("button")) b.disabled = false;
    button.removeAttribute("aria-busy");
    button.classList.remove("busy");
  }
}

/** The open reports near in place and time that this one probably repeats (the API's
 * near-duplicate hint): each a button that puts its number in the merge field. */
function duplicateHints(report, into) {
  const box = el("p", { class: "duplicates", hidden: true });
  if (!isUnresolved(report) || !into) return box;
  api("GET", `${urls.reports}/${report.id}/duplicates`)
    .then((found) => {
      if (!found.length) return;
      const buttons = found.map((other) => {
        const b = el("button", { type: "button", class: "link", "data-duplicate": other.id }, `#${other.id}`);
        b.addEventListener("click", () => {
          into.value = String(other.id);
          into.focus();
        });
        return b;
      });
      box.replaceChildren(`${gettext("重複の可能性")}: `, ...buttons);
      box.hidden = false;
    })
    .catch(() => {
      // Only a hint: the merge field still takes a number typed in.
    });
  return box;
}

/** Where a photo link may point: a path of our own site only. Resolved as the browser
 * will resolve it, since "/\host" and "/<tab>/host" start with one slash yet are another
 * site; the path as resolved is what the page then uses. */
function ownPath(url) {
  if (typeof url !== "string" || !url.startsWith("/")) return null;
  try {
    const resolved = new URL(url, window.location.origin);
    return resolved.origin === window.location.origin ? resolved.pathname + resolved.search : null;
  } catch {
    return null;
  }
}

/** The report's photos as thumbnails of the copy without EXIF; each opens the photo as it
 * was sent (operations staff get its URL) or, failing that, the stripped copy. */
function reportPhotos(report) {
  const photos = (report.photos ?? []).filter((photo) => ownPath(photo.url));
  if (!photos.length) return null;
  return el(
    "div",
    { class: "photos" },
    ...photos.map((photo, i) => {
      const label = `${gettext("写真")} ${i + 1}`;
      const image = el("img", {
        src: ownPath(photo.url),
        alt: label,
        loading: "lazy",
        width: 96,
        height: photo.width && photo.height ? Math.round((96 * photo.height) / photo.width) : 72,
        "data-photo": photo.id,
      });
      const link = el(
        "a",
        { href: ownPath(photo.original_url) ?? ownPath(photo.url), target: "_blank", rel: "noopener" },
        image,
      );
      link.setAttribute("aria-label", `${gettext("元の写真を開く")}: ${label}`);
      return link;
    }),
  );
}

/** The reports merged into this one, each with its own words and place: a merge keeps
 * what every reporter said. */
function mergedSources(report) {
  const others = (report.sources ?? []).filter((s) => s.id !== report.id);
  if (!others.length) return null;
  return el(
    "details",
    { class: "merged" },
    el("summary", {}, interpolate(gettext("統合された報告 %(n)s 件"), { n: others.length })),
    el(
      "ul",
      {},
      ...others.map((s) =>
        el(
          "li",
          { "data-source": s.id },
          `#${s.id} · ${localTime(s.created_at)} · ${SOURCES[s.source] ?? s.source}`,
          s.description ? el("p", { class: "description" }, s.description) : null,
          s.address ? el("p", {}, s.address) : null,
        ),
      ),
    ),
  );
}

function field(label, input, name) {
  return el(
    "div",
    { class: "triage-field" },
    el("label", { for: input.id }, label),
    input,
    el("span", { class: "field-error", "data-for": name, role: "alert" }),
  );
}

function triageControls(report, popup) {
  const allowed = ACTIONS[report.status] ?? [];
  if (!allowed.length) {
    return { node: el("p", { class: "settled" }, gettext("対応は終わっています（操作はありません）")), into: null };
  }
  const team = el("input", { type: "text", id: `team-${report.id}`, name: "team", maxlength: 100, value: report.team ?? "" });
  const into = el("input", { type: "number", id: `into-${report.id}`, name: "into", min: 1, inputmode: "numeric" });
  const button = (label, action, body, kind = "") => {
    const b = el("button", { type: "button", "data-action": action, class: kind }, label);
    b.addEventListener("click", () => triage(report, action, body?.(), popup, b));
    return b;
  };
  const rows = [];
  if (allowed.includes("verify")) rows.push(el("div", { class: "triage-row" }, button(gettext("確認済みにする"), "verify")));
  if (allowed.includes("assign")) {
    rows.push(
      el(
        "div",
        { class: "triage-row" },
        field(gettext("担当班"), team, "team"),
        button(report.status === "assigned" ? gettext("担当を変える") : gettext("割り当て"), "assign", () => ({ team: team.value })),
      ),
    );
  }
  if (allowed.includes("merge")) {
    rows.push(
      el(
        "div",
        { class: "triage-row" },
        field(gettext("統合先の報告番号"), into, "into"),
        button(gettext("統合"), "merge", () => ({ into: Number(into.value) })),
      ),
    );
  }
  rows.push(
    el(
      "div",
      { class: "triage-row" },
      allowed.includes("resolve") ? button(gettext("解決済みにする"), "resolve", null, "primary") : null,
      allowed.includes("reject") ? button(gettext("誤報として却下"), "reject", null, "danger") : null,
    ),
  );
  rows.push(el("p", { class: "field-error", "data-for": "action", role: "alert" }));
  return { node: el("div", { class: "triage" }, ...rows), into };
}

/** What the popup says of the report: the facts known at once, its words, place, contact,
 * photos and merged reports once the details arrive. */
function reportInfo(id) {
  const report = { ...state.reports.get(id), ...state.reportDetails.get(id) };
  const details = state.reportDetails.get(id);
  const category = report.category_label ?? snapshot.report_categories[report.category] ?? report.category;
  const status = report.status_label ?? snapshot.report_statuses[report.status] ?? report.status;
  const facts = [
    `${gettext("深刻度")} ${report.severity}`,
    status,
    report.created_at ? localTime(report.created_at) : null,
    report.source ? (SOURCES[report.source] ?? report.source) : null,
  ].filter(Boolean);
  const contact = report.reporter_contact;
  return el(
    "div",
    { class: "report-info" },
    el("strong", {}, `#${id} ${category}`),
    el("p", { class: "facts" }, facts.join(" · ")),
    report.reporters > 1 ? el("p", {}, `${gettext("報告者数")} ${report.reporters}`) : null,
    report.team ? el("p", {}, `${gettext("担当班")}: ${report.team}`) : null,
    details
      ? el("p", { class: "description" }, report.description || gettext("（説明なし）"))
      : el("p", { class: "loading" }, gettext("読み込んでいます…")),
    report.address ? el("p", {}, report.address) : null,
    contact
      ? el(
          "p",
          { class: "contact" },
          `${gettext("報告者の連絡先（職員のみ）")}: `,
          el("a", { href: `tel:${contact.replace(/[^\d+]/g, "")}` }, contact),
        )
      : null,
    reportPhotos(report),
    mergedSources(report),
  );
}

/** The popup: what is known of the report, and the actions its state allows. */
function reportPopup(id) {
  const report = { ...state.reports.get(id), ...state.reportDetails.get(id) };
  const popup = el("div", { class: "popup report-popup", "data-report": id, "data-status": report.status });
  const controls = triageControls(report, popup);
  popup.append(reportInfo(id), duplicateHints(report, controls.into), controls.node);
  return popup;
}

async function loadDetails(id) {
  try {
    const report = await api("GET", `${urls.reports}/${id}`);
    const before = state.reports.get(id)?.status;
    state.reportDetails.set(id, report);
    upsertReport(report, { render: false });
    const marker = state.reportMarkers.get(id);
    if (!marker?.isPopupOpen()) return;
    // Only the words change in place: what someone is typing into the controls stays,
    // unless the report's state changed (then the actions it allows did too).
    const open = marker.getPopup().getElement()?.querySelector(`[data-report="${id}"]`);
    if (open && before === report.status) open.querySelector(".report-info")?.replaceWith(reportInfo(id));
    else refreshPopup(marker, id);
  } catch (error) {
    const marker = state.reportMarkers.get(id);
    marker?.getPopup()?.getElement()?.querySelector(".loading")?.replaceChildren(
      `${gettext("詳細を読み込めませんでした")}: ${error.message}`,
    );
  }
}

/** What the map keeps of a report (the fields of its events). */
function pick(r) {
  return {
    id: r.id,
    category: r.category,
    severity: r.severity,
    status: r.status,
    latitude: r.latitude,
    longitude: r.longitude,
    reporters: r.reporters,
    source: r.source,
    team: r.team,
    created_at: r.created_at,
  };
}

function reportStyle(report) {
  return {
    radius: 6 + report.severity * 2,
    color: "#222",
    weight: 1,
    fillColor: SEVERITY_COLOURS[report.severity - 1] ?? "#555",
    fillOpacity: isUnresolved(report) ? 0.9 : 0.3,
  };
}

function makeMarker(report) {
  const marker = L.circleMarker([report.latitude, report.longitude], reportStyle(report));
  const id = report.id;
  // Built when opened, from the report as it is then; scrolls inside when taller than
  // the map allows, and pans the map once so it is never cut off.
  marker.bindPopup(() => reportPopup(id), {
    autoPan: true,
    autoPanPadding: [24, 24],
    maxWidth: 340,
    minWidth: 260,
    maxHeight: Math.max(240, state.map.getSize().y - 120),
  });
  marker.on("popupopen", () => loadDetails(id));
  // Made when shown, from the report as it is then. A node, not a string: Leaflet puts a
  // string into the page as markup.
  marker.bindTooltip(() => {
    const report = state.reports.get(id);
    return el("span", {}, `#${id} ${snapshot.report_categories[report.category] ?? report.category}`);
  });
  return marker;
}

/** Apply what the map knows of a report (an event's payload, a loaded row): the marker
 * follows, the popup's details are fetched again only if it is open. */
export function upsertReport(report, { render = true, batch = null, filters = reportFilters() } = {}) {
  const { layers, reports, reportMarkers } = state;
  const known = reports.get(report.id) ?? {};
  const merged = { ...known, ...Object.fromEntries(Object.entries(pick(report)).filter(([, v]) => v !== undefined)) };
  reports.set(report.id, merged);
  let marker = reportMarkers.get(report.id);
  if (!marker) {
    marker = makeMarker(merged);
    reportMarkers.set(report.id, marker);
  } else {
    const at = marker.getLatLng();
    if (at.lat !== merged.latitude || at.lng !== merged.longitude) marker.setLatLng([merged.latitude, merged.longitude]);
    marker.setStyle(reportStyle(merged));
    marker.setRadius(reportStyle(merged).radius);
  }
  // Its label is made when shown (makeMarker): one shown now is made again.
  if (marker.isTooltipOpen()) marker.getTooltip().update();
  const shown = layers.reports.hasLayer(marker);
  const visible = reportVisible(merged, filters);
  if (visible && !shown) {
    // Loading a thousand: added to the clusters at once (one by one takes seconds).
    if (batch) batch.push(marker);
    else layers.reports.addLayer(marker);
  }
  if (!visible && shown) layers.reports.removeLayer(marker);
  if (render) renderPanel();
}

/** Rebuild an open popup from what is known now. The content stays a function, so the
 * popup is built afresh at every opening too: a popup rebuilt by an event and closed by a
 * triage answer arriving after it is never shown again as it was. */
function refreshPopup(marker, id) {
  marker.setPopupContent(() => reportPopup(id));
}

/** A report event: the marker moves with it at once; an open popup shows the change. */
export function applyReportEvent(payload) {
  const before = state.reports.get(payload.id)?.status;
  upsertReport(payload, { render: false });
  const marker = state.reportMarkers.get(payload.id);
  if (!marker?.isPopupOpen()) return;
  if (before !== payload.status) refreshPopup(marker, payload.id);
  loadDetails(payload.id);
}

/** Bring a report into view (out of its cluster) and open its popup. */
export function openReport(id) {
  const { map, layers } = state;
  const marker = state.reportMarkers.get(id);
  if (!marker) {
    showReport(id);
    return;
  }
  if (!layers.reports.hasLayer(marker)) layers.reports.addLayer(marker);
  if (!map.hasLayer(layers.reports)) layers.reports.addTo(map);
  const zoom = map.hasLayer(marker) ? map.getZoom() : Math.max(map.getZoom(), UNCLUSTERED_ZOOM);
  map.setView(marker.getLatLng(), zoom, { animate: false });
  const started = performance.now();
  const open = () => {
    if (map.hasLayer(marker)) marker.openPopup();
    else if (performance.now() - started < 3000) requestAnimationFrame(open);
  };
  open();
}

async function showReport(id) {
  try {
    const report = await api("GET", `${urls.reports}/${id}`);
    state.reportDetails.set(id, report);
    upsertReport(report);
    openReport(id);
  } catch (error) {
    document.getElementById("triage-result").textContent =
      `${interpolate(gettext("#%(id)s を開けませんでした"), { id })}: ${error.message}`;
  }
}

export function reportTilesLayer() {
  const style = (p) => ({
    radius: 3 + p.severity,
    fill: true,
    fillColor: SEVERITY_COLOURS[p.severity - 1] ?? "#555",
    fillOpacity: 0.8,
    color: "#222",
    weight: 0.5,
  });
  // Drawn only (VectorGrid 1.3's own click handling breaks on Leaflet 1.9): a click on the
  // tiles asks the API which open report lies under the pointer.
  // Tiles of 512 px, each the 256 px tile of the zoom above: a quarter of the requests (a
  // big screen needs some 25, not 100), the same dots. VectorGrid 1.3 has no zoomOffset.
  const layer = L.vectorGrid.protobuf(tilesUrl(), {
    rendererFactory: L.canvas.tile,
    interactive: false,
    tileSize: 512,
    maxNativeZoom: 18,
    pane: "reportTiles",
    fetchOptions: { credentials: "same-origin" },
    vectorTileLayerStyles: { reports: style },
  });
  const fetchTile = layer._getVectorTilePromise;
  layer._getVectorTilePromise = function (coords, ...rest) {
    return fetchTile.call(this, L.extend(L.point(coords.x, coords.y), { z: coords.z - 1 }), ...rest);
  };
  layer.on("loading", () => setTilesState("loading"));
  layer.on("load", () => setTilesState("loaded"));
  return layer;
}

function setTilesState(value) {
  const panel = document.getElementById("ops-map-panel");
  panel.dataset.tiles = value;
  // When the page got there (ms since it started), for the benchmark and the curious.
  panel.dataset[`tiles${value === "loaded" ? "Loaded" : "Asked"}At`] = String(Math.round(performance.now()));
  renderReportCount();
}

export async function reportUnder(event) {
  const { map } = state;
  if (!map.hasLayer(state.layers.reportTiles)) return;
  // A click on a marker or a shape is theirs; only a click on the bare map (where the
  // tiles are drawn, tiles take no events) looks for a report underneath.
  if (event.originalEvent?.target?.closest?.(".leaflet-interactive, .leaflet-marker-icon")) return;
  const near = (dx, dy) => map.containerPointToLatLng(event.containerPoint.add([dx, dy]));
  const [sw, ne] = [near(-8, 8), near(8, -8)];
  const query = new URLSearchParams({ bbox: [sw.lng, sw.lat, ne.lng, ne.lat].join(","), limit: "1" });
  for (const status of OPEN) query.append("status", status);
  const found = await api("GET", `${urls.geojson}?${query}`);
  const id = found.features[0]?.id;
  if (id) openReport(id);
}

/** The filter form's choices as the report endpoints take them. The tiles hold the open
 * reports without a status; the GeoJSON holds every status unless told. */
function filterQuery({ openByDefault = false } = {}) {
  const f = reportFilters();
  const query = new URLSearchParams();
  if (f.category) query.append("category", f.category);
  if (f.severity > 1) query.append("severity_min", String(f.severity));
  if (f.status === "") for (const status of Object.keys(snapshot.report_statuses)) query.append("status", status);
  else if (f.status === "open") {
    if (!openByDefault) for (const status of OPEN) query.append("status", status);
  } else query.append("status", f.status);
  if (f.hours) query.append("since", new Date(Date.now() - f.hours * 3600e3).toISOString());
  return query;
}

function tilesUrl() {
  const text = filterQuery({ openByDefault: true }).toString();
  return text ? `${urls.tiles}?${text}` : urls.tiles;
}

export function refilterReports() {
  const { layers } = state;
  layers.reports.clearLayers();
  layers.reports.addLayers(
    [...state.reports].filter(([, report]) => reportVisible(report)).map(([id]) => state.reportMarkers.get(id)),
  );
  layers.reportTiles?.setUrl(tilesUrl());
  loadReports();
}

// Made once: toLocaleString() makes a formatter at every call.
const NUMBER = new Intl.NumberFormat();

/** What the map shows, in words beside it: every open report is drawn as a dot; the
 * newest of them are also markers to triage. Never a silent limit. */
export function renderReportCount() {
  const out = document.getElementById("report-count");
  if (!out) return;
  const total = Object.values(state.reportFigures.open_by_severity ?? {}).reduce((n, v) => n + v, 0);
  const markers = state.layers.reports?.getLayers().length ?? 0;
  const tilesOn = Boolean(state.layers.reportTiles && state.map?.hasLayer(state.layers.reportTiles));
  const parts = [
    interpolate(gettext("未解決の被害報告 %(n)s 件"), { n: NUMBER.format(total) }),
    tilesOn ? gettext("すべて点で表示") : gettext("点の表示は切っています"),
    interpolate(gettext("うち操作できる印 %(n)s 件（新しい順）"), { n: NUMBER.format(markers) }),
  ];
  out.textContent = parts.join(" · ");
  out.dataset.total = String(total);
  out.dataset.markers = String(markers);
}

const loading = { request: 0 };

/** The newest reports the filters select, as markers: one GeoJSON request built by
 * PostgreSQL (no description or contact; the popup fetches those when opened). */
export async function loadReports() {
  if (!urls.geojson) return;
  const request = ++loading.request;
  const query = filterQuery();
  query.set("limit", String(MARKERS_LOADED));
  try {
    const found = await api("GET", `${urls.geojson}?${query}`);
    if (request !== loading.request) return;
    const batch = [];
    const filters = reportFilters();
    for (const f of found.features) {
      const [longitude, latitude] = f.geometry.coordinates;
      upsertReport({ id: f.id, latitude, longitude, ...f.properties }, { render: false, batch, filters });
    }
    state.layers.reports.addLayers(batch);
    renderReportCount();
    const panel = document.getElementById("ops-map-panel");
    panel.dataset.markers = "loaded";
    panel.dataset.markersAt = String(Math.round(performance.now()));
  } catch (error) {
    document.getElementById("triage-result").textContent =
      `${gettext("被害報告を読み込めませんでした")}: ${error.message}`;
  }
}
