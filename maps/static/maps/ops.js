// The operations map (/ops/): shelters, damage reports, districts and alert areas on one
// Leaflet map, a side panel of figures, and every event applied live from /ws/ops/.
//
// The page starts from the snapshot the server rendered (#ops-state) and applies each event
// after its `last_event_id`. Events set values (a status, a head-count, the shortage list,
// a report's state), so one applied twice changes nothing. After a dropped connection the
// socket reconnects with `?after=<last id seen>` and the server replays what was missed.
import { api, el, lineChart, messages } from "./dom.js";

const state = JSON.parse(document.getElementById("ops-state").textContent);
const t = messages("ops-messages");
const REPORTS_URL = document.getElementById("ops-map-panel").dataset.reportsUrl || "";
// Every open report, however many, as vector tiles drawn on canvas (the marker layer holds
// the newest thousand, live, for triage).
const TILES_URL = document.getElementById("ops-map-panel").dataset.tilesUrl || "";
const GEOJSON_URL = document.getElementById("ops-map-panel").dataset.geojsonUrl || "";
// The report figures of the side panel, counted by the server over every report.
const FIGURES_URL = document.getElementById("ops-map-panel").dataset.figuresUrl || "";
const FEED_MAX = 50;

let map = null;
const layers = {};
const shelters = new Map(state.shelters.map((s) => [s.id, s]));
const shelterMarkers = new Map();
const reports = new Map();
const reportMarkers = new Map();
let shortages = state.shortages;
let evacueeSeries = state.evacuees.map(([at, n]) => [new Date(at), n]);
let reportFigures = state.report_figures;
let lastEventId = state.last_event_id;

// Shelters --------------------------------------------------------------------------------

function percent(shelter) {
  return shelter.capacity ? Math.round((100 * shelter.occupancy) / shelter.capacity) : null;
}

function worstShortage(shelterId) {
  // `shortages` is sorted soonest-empty first, so the first one of a shelter is its worst.
  return shortages.find((s) => s.shelter_id === shelterId) ?? null;
}

function shortageText(s) {
  const item = state.items[s.item_id] ?? `#${s.item_id}`;
  const days = s.days_of_supply === null ? "—" : s.days_of_supply.toFixed(1);
  return `${item} ${days}${t.days}`;
}

function shelterIcon(shelter) {
  const p = percent(shelter);
  const short = worstShortage(shelter.id);
  const badge = el(
    "span",
    { class: `shelter-pin status-${shelter.status}${short ? " short" : ""}` },
    p === null ? "—" : `${p}%`,
  );
  return L.divIcon({ html: badge, className: "shelter-icon", iconSize: [44, 24] });
}

function shelterPopup(shelter) {
  const short = worstShortage(shelter.id);
  return el(
    "div",
    { class: "popup" },
    el("strong", {}, shelter.name),
    el("p", {}, `${t.status}: ${state.statuses[shelter.status] ?? shelter.status}`),
    el("p", {}, `${t.evacuees}: ${shelter.occupancy} / ${shelter.capacity} (${percent(shelter) ?? "—"}%)`),
    el("p", {}, `${t.careNeeds}: ${shelter.care_needs}`),
    short ? el("p", { class: "warn" }, `${t.worstShortage}: ${shortageText(short)}`) : null,
  );
}

function drawShelter(shelter) {
  let marker = shelterMarkers.get(shelter.id);
  if (!marker) {
    marker = L.marker([shelter.lat, shelter.lon], { title: shelter.name, keyboard: true });
    marker.addTo(layers.shelters);
    shelterMarkers.set(shelter.id, marker);
  }
  marker.setIcon(shelterIcon(shelter));
  marker.bindPopup(() => shelterPopup(shelter));
  marker.getElement()?.setAttribute("data-shelter", shelter.id);
}

// Reports ---------------------------------------------------------------------------------

const SEVERITY_COLOURS = ["#1a7f37", "#7a8b00", "#b26b00", "#c4461b", "#a0001c"];

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

function reportVisible(report) {
  const f = reportFilters();
  if (f.category && report.category !== f.category) return false;
  if (report.severity < f.severity) return false;
  if (f.status === "open" && !isUnresolved(report)) return false;
  if (f.status && f.status !== "open" && report.status !== f.status) return false;
  if (f.hours && new Date(report.created_at) < new Date(Date.now() - f.hours * 3600e3)) return false;
  return true;
}

function isUnresolved(report) {
  return ["new", "verified", "assigned"].includes(report.status);
}

async function triage(report, action, body) {
  const out = document.getElementById("triage-result");
  try {
    const updated = await api("POST", `${REPORTS_URL}/${report.id}/${action}`, body);
    out.textContent = `${t.triageDone} #${report.id}`;
    reportMarkers.get(report.id)?.closePopup();
    if (updated?.id) upsertReport(updated);
  } catch (error) {
    out.textContent = `${t.triageFailed} #${report.id}: ${error.message}`;
  }
}

/** The open reports near in place and time that this one probably repeats (the API's
 * near-duplicate hint): each a button that puts its number in the merge field. */
function duplicateHints(report, into) {
  const box = el("p", { class: "duplicates", hidden: true });
  if (!isUnresolved(report)) return box;
  api("GET", `${REPORTS_URL}/${report.id}/duplicates`)
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
      box.replaceChildren(`${t.possibleDuplicates}: `, ...buttons);
      // Shown in place: popup.update() would rebuild the popup from its function.
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
    return resolved.origin === window.location.origin
      ? resolved.pathname + resolved.search
      : null;
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
      const label = `${t.photo} ${i + 1}`;
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
      link.setAttribute("aria-label", `${t.openOriginal}: ${label}`);
      return link;
    }),
  );
}

function reportPopup(report) {
  const team = el("input", { type: "text", id: `team-${report.id}`, maxlength: 100 });
  const into = el("input", { type: "number", id: `into-${report.id}`, min: 1 });
  const button = (label, action, body) => {
    const b = el("button", { type: "button", "data-action": action }, label);
    b.addEventListener("click", () => triage(report, action, body?.()));
    return b;
  };
  return el(
    "div",
    { class: "popup", "data-report": report.id },
    el("strong", {}, `#${report.id} ${report.category_label ?? report.category}`),
    el("p", {}, `${t.severity} ${report.severity} · ${report.status_label ?? report.status}`),
    report.reporters > 1 ? el("p", {}, `${t.reportedBy} ${report.reporters}`) : null,
    el("p", { class: "description" }, report.description ?? ""),
    report.address ? el("p", {}, report.address) : null,
    reportPhotos(report),
    duplicateHints(report, into),
    el(
      "div",
      { class: "triage" },
      button(t.verify, "verify"),
      el("label", { for: `team-${report.id}` }, t.team),
      team,
      button(t.assign, "assign", () => ({ team: team.value })),
      el("label", { for: `into-${report.id}` }, t.mergeInto),
      into,
      button(t.merge, "merge", () => ({ into: Number(into.value) })),
      button(t.resolve, "resolve"),
    ),
  );
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

function upsertReport(report, { render = true } = {}) {
  reports.set(report.id, report);
  let marker = reportMarkers.get(report.id);
  if (!marker) {
    marker = L.circleMarker([report.latitude, report.longitude], reportStyle(report));
    // The popup is built when opened, from the report as it is then; openReport places
    // the map so it fits, instead of the popup panning the map while it is being used.
    marker.bindPopup(() => reportPopup(reports.get(report.id)), { autoPan: false, maxWidth: 320 });
    marker.on("click", () => openReport(report.id));
    reportMarkers.set(report.id, marker);
  } else {
    // Moving a clustered marker re-adds it, which would rebuild an open popup (and lose
    // what staff are typing into it): move it only when the report really moved.
    const at = marker.getLatLng();
    if (at.lat !== report.latitude || at.lng !== report.longitude) {
      marker.setLatLng([report.latitude, report.longitude]);
    }
    marker.setStyle(reportStyle(report));
    marker.setRadius(reportStyle(report).radius);
  }
  const category = state.report_categories[report.category] ?? report.category;
  // A node, not a string: Leaflet puts a string into the page as markup.
  marker.unbindTooltip().bindTooltip(el("span", {}, `#${report.id} ${category}`));
  const shown = layers.reports.hasLayer(marker);
  if (reportVisible(report) && !shown) layers.reports.addLayer(marker);
  if (!reportVisible(report) && shown) layers.reports.removeLayer(marker);
  if (render) renderPanel();
}

const UNCLUSTERED_ZOOM = 17;

/** Bring a report into view (out of its cluster, low on the map so its popup with the
 * triage controls fits above it) and open its popup. */
function openReport(id) {
  const marker = reportMarkers.get(id);
  if (!marker) return;
  if (!layers.reports.hasLayer(marker)) layers.reports.addLayer(marker);
  // markercluster's zoomToShowLayer expects icon markers, not circles: zoom in to where
  // clusters break up ourselves. No animation, so nothing moves under the pointer.
  const zoom = map.hasLayer(marker) ? map.getZoom() : Math.max(map.getZoom(), UNCLUSTERED_ZOOM);
  map.setView(marker.getLatLng(), zoom, { animate: false });
  map.panBy([0, -map.getSize().y * 0.3], { animate: false });
  const started = performance.now();
  const open = () => {
    if (map.hasLayer(marker)) marker.openPopup();
    else if (performance.now() - started < 3000) requestAnimationFrame(open);
  };
  open();
}

async function showReport(id) {
  if (!reportMarkers.has(id)) await refreshReport(id);
  openReport(id);
}

function reportTilesLayer() {
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
  return L.vectorGrid.protobuf(tilesUrl(), {
    rendererFactory: L.canvas.tile,
    interactive: false,
    maxNativeZoom: 18,
    fetchOptions: { credentials: "same-origin" },
    vectorTileLayerStyles: { reports: style },
  });
}

async function reportUnder(event) {
  if (!map.hasLayer(layers.reportTiles)) return;
  // A click on a marker or a shape is theirs; only a click on the bare map (where the
  // tiles are drawn, tiles take no events) looks for a report underneath.
  if (event.originalEvent?.target?.closest?.(".leaflet-interactive, .leaflet-marker-icon")) return;
  const near = (dx, dy) => map.containerPointToLatLng(event.containerPoint.add([dx, dy]));
  const [sw, ne] = [near(-8, 8), near(8, -8)];
  const query = new URLSearchParams({ bbox: [sw.lng, sw.lat, ne.lng, ne.lat].join(","), limit: "1" });
  for (const status of ["new", "verified", "assigned"]) query.append("status", status);
  const found = await api("GET", `${GEOJSON_URL}?${query}`);
  const id = found.features[0]?.id;
  if (id) await showReport(id);
}

/** The tile URL with the filter form's choices, as the tile endpoint takes them (the same
 * report filters as the list): without a status, the tiles hold the open reports. */
function tilesUrl() {
  const f = reportFilters();
  const query = new URLSearchParams();
  if (f.category) query.append("category", f.category);
  if (f.severity > 1) query.append("severity_min", String(f.severity));
  if (f.status === "") for (const status of Object.keys(state.report_statuses)) query.append("status", status);
  else if (f.status !== "open") query.append("status", f.status);
  if (f.hours) query.append("since", new Date(Date.now() - f.hours * 3600e3).toISOString());
  const text = query.toString();
  return text ? `${TILES_URL}?${text}` : TILES_URL;
}

function refilterReports() {
  layers.reports.clearLayers();
  for (const [id, report] of reports) {
    if (reportVisible(report)) layers.reports.addLayer(reportMarkers.get(id));
  }
  layers.reportTiles?.setUrl(tilesUrl());
}

async function loadReports() {
  if (!REPORTS_URL) return;
  try {
    // The newest 1000; older ones arrive as they change (their events) or on the layer's
    // GeoJSON/tiles when the map needs them all.
    const page = await api("GET", `${REPORTS_URL}?limit=1000`);
    for (const report of page.items ?? page) upsertReport(report, { render: false });
    renderPanel();
  } catch (error) {
    document.getElementById("triage-result").textContent = `${t.loadFailed}: ${error.message}`;
  }
}

async function refreshReport(id) {
  if (!REPORTS_URL || !id) return;
  try {
    upsertReport(await api("GET", `${REPORTS_URL}/${id}`));
  } catch {
    // A report the page may not read any more (deleted) simply stays as it was.
  }
}

// Alert areas -----------------------------------------------------------------------------

const alerts = new Map(state.alerts.map((a) => [a.id, a]));
const alertLayers = new Map();
const SHOWN_ALERTS = ["approved", "sending", "sent"];

function alertColour(alert) {
  if (alert.kind === "evacuation_5") return "#4a0010";
  if (alert.kind === "evacuation_4") return "#a0001c";
  if (alert.kind === "evacuation_3") return "#c4461b";
  return "#6a1b9a";
}

function alertGeometry(alert) {
  if (alert.area) return alert.area;
  if (alert.whole_city && state.city) return state.city;
  const wanted = new Set(alert.district_ids);
  return {
    type: "FeatureCollection",
    features: state.districts.features.filter((f) => wanted.has(f.properties.id)),
  };
}

function drawAlert(alert) {
  alertLayers.get(alert.id)?.remove();
  alertLayers.delete(alert.id);
  if (!SHOWN_ALERTS.includes(alert.status)) return;
  const colour = alertColour(alert);
  const layer = L.geoJSON(alertGeometry(alert), {
    style: { color: colour, weight: 3, dashArray: alert.drill ? "6 6" : null, fillColor: colour, fillOpacity: 0.12 },
  });
  layer.bindTooltip(el("span", {}, `${alert.drill ? `${t.drill} ` : ""}${alert.title}`));
  layer.addTo(layers.alerts);
  alertLayers.set(alert.id, layer);
}

function applyAlert(p) {
  // An event carries the alert's own polygon, if it has one.
  const known = alerts.get(p.id);
  const alert = { ...known, ...p, area: p.area ?? known?.area ?? null };
  alerts.set(alert.id, alert);
  drawAlert(alert);
}

// Alert deliveries, the reach map and the need-help list ----------------------------------

// Per alert being sent or recently sent: its delivery figures and safety answers exactly as
// the `alert.delivery_progress` and `alert.safety_answers` events carry them (counts only).
// Each event replaces an alert's figures, so one applied twice changes nothing.
// The snapshot's counts are read after its last event, so they are newer than any event up to it.
const deliveries = new Map(
  state.deliveries.map((d) => {
    const since = { progressEvent: state.last_event_id, safetyEvent: state.last_event_id };
    return [d.id, { ...d, ...since }];
  }),
);
const deliveryItems = new Map();
// The alert whose reach the map colours and whose need-help list the panel shows.
let reachAlertId = state.deliveries[0]?.id ?? null;
let reachLegend = null;
let needHelpRequest = 0;

// Share delivered per district, worst first in the legend's reading order.
const REACH_BANDS = [
  { min: 1, colour: "#1a7f37", label: "100%" },
  { min: 0.75, colour: "#8cc084", label: "75–99%" },
  { min: 0.5, colour: "#f2c14e", label: "50–74%" },
  { min: 0.25, colour: "#f08a4b", label: "25–49%" },
  { min: 0, colour: "#b00020", label: "0–24%" },
];
const NO_RECIPIENTS = "#9e9e9e";

function recipients(c) {
  return (c?.queued ?? 0) + (c?.sent ?? 0) + (c?.delivered ?? 0) + (c?.failed ?? 0);
}

function deliveryFor(alertId, drill) {
  let entry = deliveries.get(alertId);
  if (!entry) {
    const known = alerts.get(alertId);
    entry = {
      id: alertId,
      kind: known?.kind ?? "",
      status: known?.status ?? "sending",
      drill: known?.drill ?? drill ?? false,
      title: known?.title ?? "",
      asks_safety: false,
      progress: null,
      safety: null,
      progressEvent: 0,
      safetyEvent: 0,
    };
    deliveries.set(alertId, entry);
  }
  return entry;
}

function progressText(p) {
  if (!p) return `${t.sent} 0 · ${t.delivered} 0 · ${t.failed} 0 / ${t.total} 0`;
  return `${t.sent} ${p.sent} · ${t.delivered} ${p.delivered} · ${t.failed} ${p.failed} / ${t.total} ${recipients(p)}`;
}

function safetyTotals(safety) {
  const sum = (name) => (safety?.by_district ?? []).reduce((n, d) => n + (d[name] ?? 0), 0);
  return { evacuated: sum("evacuated"), safe_at_home: sum("safe_at_home"), need_help: sum("need_help") };
}

function safetyText(counts) {
  return `${t.evacuated} ${counts.evacuated ?? 0} · ${t.safeAtHome} ${counts.safe_at_home ?? 0} · ${t.needHelp} ${counts.need_help ?? 0}`;
}

function alertName(entry) {
  return `#${entry.id} ${entry.title}`;
}

/** One alert's list item, made once and then updated in place, so that a progress event
 * never takes the keyboard focus off its button. */
function deliveryItem(entry) {
  let item = deliveryItems.get(entry.id);
  if (item) return item;
  const segment = (name) => el("span", { class: `segment ${name}` });
  const parts = {
    title: el("strong", {}),
    drill: el("span", { class: "badge drill" }, t.drill),
    status: el("span", { class: "delivery-status" }),
    bar: el("div", { class: "progress", role: "progressbar", "aria-valuemin": 0 }),
    segments: { delivered: segment("delivered"), sent: segment("sent"), failed: segment("failed") },
    figures: el("p", { class: "delivery-figures" }),
    safety: el("p", { class: "safety-figures" }),
    button: el("button", { type: "button", class: "link", "aria-pressed": "false" }, t.showReach),
  };
  parts.bar.append(parts.segments.delivered, parts.segments.sent, parts.segments.failed);
  parts.button.addEventListener("click", () => selectReach(entry.id));
  const li = el(
    "li",
    { "data-alert": entry.id },
    el("div", { class: "delivery-head" }, parts.title, " ", parts.drill, " ", parts.status),
    parts.bar,
    parts.figures,
    parts.safety,
    parts.button,
  );
  item = { li, parts };
  deliveryItems.set(entry.id, item);
  return item;
}

function updateDeliveryItem(entry) {
  const { li, parts } = deliveryItem(entry);
  const p = entry.progress;
  const total = recipients(p);
  const done = p ? p.sent + p.delivered + p.failed : 0;
  parts.title.textContent = alertName(entry);
  parts.drill.hidden = !entry.drill;
  parts.status.textContent = p?.finished ? t.finished : t.sending;
  parts.bar.setAttribute("aria-label", `${t.kind_alert_delivery_progress} ${alertName(entry)}`);
  parts.bar.setAttribute("aria-valuemax", String(Math.max(total, 1)));
  parts.bar.setAttribute("aria-valuenow", String(done));
  parts.bar.setAttribute("aria-valuetext", progressText(p));
  for (const [name, segment] of Object.entries(parts.segments)) {
    segment.style.width = `${total ? (100 * (p?.[name] ?? 0)) / total : 0}%`;
  }
  parts.figures.textContent = progressText(p);
  parts.safety.hidden = !entry.asks_safety;
  parts.safety.textContent = safetyText(safetyTotals(entry.safety));
  parts.button.setAttribute("aria-label", `${t.showReach}: ${alertName(entry)}`);
  parts.button.setAttribute("aria-pressed", String(entry.id === reachAlertId));
  li.classList.toggle("selected", entry.id === reachAlertId);
  return li;
}

function renderDeliveries() {
  const list = document.getElementById("alert-deliveries");
  const newestFirst = [...deliveries.values()].sort((a, b) => b.id - a.id);
  if (!newestFirst.length) {
    list.replaceChildren(el("li", { class: "none" }, t.noDeliveries));
    return;
  }
  list.querySelector(":scope > li.none")?.remove();
  // Appending an item already in the list moves it: the order follows, focus stays.
  newestFirst.forEach((entry, i) => {
    const li = updateDeliveryItem(entry);
    if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
  });
}

function districtName(id) {
  return state.districts.features.find((f) => f.properties.id === id)?.properties.name ?? `#${id}`;
}

function reachCounts(districtId) {
  const entry = deliveries.get(reachAlertId);
  const find = (figures) => figures?.by_district.find((d) => d.district_id === districtId) ?? null;
  return { entry, progress: find(entry?.progress), safety: find(entry?.safety) };
}

function reachStyle(feature) {
  const { progress } = reachCounts(feature.properties.id);
  const total = recipients(progress);
  if (!total) {
    return { color: "#555", weight: 1, dashArray: "2 4", fillColor: NO_RECIPIENTS, fillOpacity: 0.2 };
  }
  const band = REACH_BANDS.find((b) => progress.delivered / total >= b.min);
  return { color: "#333", weight: 1, dashArray: null, fillColor: band.colour, fillOpacity: 0.55 };
}

/** A district's tooltip on the reach map, built as nodes (Leaflet would insert a string
 * as markup): its share delivered and its safety answers for the chosen alert. */
function reachTooltip(feature) {
  const { entry, progress, safety } = reachCounts(feature.properties.id);
  const total = recipients(progress);
  const share = total
    ? `${t.shareDelivered}: ${Math.floor((100 * progress.delivered) / total)}% (${progress.delivered}/${total})`
    : t.noRecipients;
  return el(
    "div",
    { class: "reach-tip", "data-district": feature.properties.id },
    el("strong", {}, feature.properties.name),
    entry ? el("p", {}, alertName(entry)) : null,
    el("p", { class: "share" }, share),
    entry?.asks_safety ? el("p", { class: "safety" }, safetyText(safety ?? {})) : null,
  );
}

function reachLayer() {
  return L.geoJSON(state.districts, {
    style: reachStyle,
    onEachFeature: (feature, layer) => layer.bindTooltip(() => reachTooltip(feature), { sticky: true }),
  });
}

function restyleReach() {
  layers.reach?.eachLayer((layer) => {
    layer.setStyle(reachStyle(layer.feature));
    if (layer.isTooltipOpen()) layer.getTooltip().update();
  });
  renderLegend();
}

function renderLegend() {
  const node = reachLegend?.getContainer();
  if (!node) return;
  const entry = deliveries.get(reachAlertId);
  const swatch = (colour) => {
    const box = el("span", { class: "swatch", "aria-hidden": "true" });
    box.style.background = colour;
    return box;
  };
  node.replaceChildren(
    el("strong", {}, t.shareDelivered),
    entry ? el("p", { class: "reach-alert" }, alertName(entry)) : null,
    el(
      "ul",
      {},
      ...REACH_BANDS.map((b) => el("li", {}, swatch(b.colour), b.label)),
      el("li", {}, swatch(NO_RECIPIENTS), t.noRecipients),
    ),
  );
}

function reachLegendControl() {
  const control = L.control({ position: "bottomleft" });
  control.onAdd = () => {
    const node = el("div", { class: "reach-legend", role: "group", "aria-label": t.layerReach });
    L.DomEvent.disableClickPropagation(node);
    return node;
  };
  return control;
}

/** Colour the reach map by this alert and list who asked it for help. */
function selectReach(alertId) {
  reachAlertId = alertId;
  if (!map.hasLayer(layers.reach)) map.addLayer(layers.reach);
  restyleReach();
  renderDeliveries();
  refreshNeedHelp();
}

function answeredAt(at) {
  return new Date(at).toLocaleTimeString(document.documentElement.lang, {
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "Asia/Tokyo",
  });
}

function needHelpItem(row) {
  const where = row.district_ids.map(districtName).join("、");
  const show =
    row.home_lat === null || row.home_lon === null
      ? null
      : el("button", { type: "button", class: "link" }, t.show);
  show?.addEventListener("click", () => map.setView([row.home_lat, row.home_lon], 17, { animate: false }));
  return el(
    "li",
    { "data-subscriber": row.subscriber_id },
    el("time", { datetime: row.answered_at }, answeredAt(row.answered_at)),
    " ",
    el("span", { class: "contact" }, row.phone ?? (row.has_line ? "LINE" : "—")),
    row.phone && row.has_line ? " / LINE" : null,
    ` · ${t.language} ${row.language}`,
    where ? ` · ${t.districts} ${where}` : null,
    show,
  );
}

/** The people who answered "need help" to the chosen alert, from the staff-only API: they
 * are personal data, so they never travel in events and are never logged. */
async function refreshNeedHelp() {
  const list = document.getElementById("need-help-list");
  const caption = document.getElementById("need-help-alert");
  const entry = deliveries.get(reachAlertId);
  const request = ++needHelpRequest;
  if (!entry?.asks_safety) {
    caption.textContent = entry ? alertName(entry) : "";
    list.replaceChildren();
    return;
  }
  caption.textContent = alertName(entry);
  try {
    const rows = await api("GET", `/api/v1/alerts/${entry.id}/need-help`);
    if (request !== needHelpRequest) return; // a newer answer is on its way
    list.replaceChildren(...rows.map(needHelpItem));
    if (!rows.length) list.append(el("li", { class: "none" }, t.noNeedHelp));
    list.dataset.alert = String(entry.id);
  } catch (error) {
    if (request === needHelpRequest) caption.textContent = `${t.needHelpFailed}: ${error.message}`;
  }
}

function applyProgress(p, eventId) {
  const entry = deliveryFor(p.alert_id, p.drill);
  if (eventId <= entry.progressEvent) return; // older figures than those shown
  entry.progressEvent = eventId;
  entry.progress = p;
  entry.drill = p.drill;
  if (reachAlertId === null) reachAlertId = p.alert_id;
  renderDeliveries();
  if (p.alert_id === reachAlertId) restyleReach();
}

function applySafety(p, eventId) {
  const entry = deliveryFor(p.alert_id, p.drill);
  if (eventId <= entry.safetyEvent) return;
  entry.safetyEvent = eventId;
  entry.safety = p;
  entry.asks_safety = true;
  if (reachAlertId === null) reachAlertId = p.alert_id;
  renderDeliveries();
  if (p.alert_id === reachAlertId) {
    restyleReach();
    refreshNeedHelp();
  }
}

/** An alert's figures follow its newest event, whatever order events arrive in: events
 * committed together are broadcast concurrently and may overtake one another, and the
 * final figures of a fan-out are committed with its `alert.sent`. */
function applyFigures(event) {
  if (event.kind === "alert.delivery_progress") applyProgress(event.payload, event.id);
  if (event.kind === "alert.safety_answers") applySafety(event.payload, event.id);
}

function applyAlertToDeliveries(p) {
  const entry = deliveries.get(p.id) ?? (p.status === "sending" ? deliveryFor(p.id, p.drill) : null);
  if (!entry) return;
  Object.assign(entry, { kind: p.kind, status: p.status, drill: p.drill, title: p.title });
  renderDeliveries();
  renderLegend();
}

// The side panel --------------------------------------------------------------------------

function renderPanel() {
  const all = [...shelters.values()];
  const open = all.filter((s) => s.status === "open" || s.status === "full");
  const figures = {
    "open-shelters": open.length,
    evacuees: all.reduce((n, s) => n + s.occupancy, 0),
    "care-needs": all.reduce((n, s) => n + s.care_needs, 0),
    shortages: shortages.length,
  };
  for (const [id, value] of Object.entries(figures)) {
    document.getElementById(`figure-${id}`).textContent = String(value);
  }
  for (const n of [1, 2, 3, 4, 5]) {
    const count = reportFigures.open_by_severity[n] ?? 0;
    document.getElementById(`figure-severity-${n}`).textContent = String(count);
  }

  const list = document.getElementById("shortage-list");
  list.replaceChildren(
    ...shortages.slice(0, 10).map((s) => {
      const shelter = shelters.get(s.shelter_id);
      const where = shelter?.name ?? state.depots[s.depot_id]?.name ?? `#${s.depot_id}`;
      return el("li", {}, `${where}: ${shortageText(s)}`);
    }),
  );
  if (!shortages.length) list.append(el("li", {}, t.none));

  lineChart(document.getElementById("chart-evacuees"), evacueeSeries, t.evacuees);
  lineChart(
    document.getElementById("chart-reports"),
    reportFigures.per_hour.map(([at, n]) => [new Date(at), n]),
    t.reportsPerHour,
  );
}

// The report figures are counts over every report, most of which the page never loads:
// after report events the page asks the server again, once for a burst of events.
const FIGURES_DELAY = 300;
let figuresTimer = null;

function refreshFigures() {
  clearTimeout(figuresTimer);
  figuresTimer = setTimeout(async () => {
    if (!FIGURES_URL) return;
    try {
      reportFigures = await api("GET", FIGURES_URL);
      renderPanel();
    } catch {
      // The figures stay as they were; the next report event asks again.
    }
  }, FIGURES_DELAY);
}

// The feed --------------------------------------------------------------------------------

function describe(event) {
  const p = event.payload;
  const shelterName = (id) => shelters.get(id)?.name ?? `#${id}`;
  switch (event.kind) {
    case "shelter.headcount":
      return `${shelterName(p.shelter_id)}: ${t.evacuees} ${p.total}`;
    case "shelter.status_changed":
      return `${p.name}: ${state.statuses[p.status] ?? p.status}`;
    case "stock.shortages":
      return `${t.shortages}: ${p.shortages.length}`;
    case "stock.moved":
      return `${state.depots[p.depot_id]?.name ?? p.depot_id}: ${state.items[p.item_id] ?? p.item_id} ${p.quantity > 0 ? "+" : ""}${p.quantity}`;
    case "alert.delivery_progress": {
      const total = p.queued + p.sent + p.delivered + p.failed;
      return `#${p.alert_id}${p.drill ? ` (${t.drill})` : ""} ${t.delivered} ${p.delivered}/${total} · ${t.failed} ${p.failed}`;
    }
    case "alert.safety_answers": {
      const help = p.by_district.reduce((n, d) => n + d.need_help, 0);
      return `#${p.alert_id}${p.drill ? ` (${t.drill})` : ""} ${t.needHelp} ${help}`;
    }
    case "alert.drafted":
    case "alert.approved":
    case "alert.sending":
    case "alert.sent":
    case "alert.cancelled":
      return `#${p.id}${p.drill ? ` (${t.drill})` : ""} ${p.title}`;
    case "incident.declared":
    case "incident.updated":
      return `${p.name} (${p.phase})${p.is_drill ? ` (${t.drill})` : ""}`;
    default:
      if (event.kind.startsWith("transfer.") || event.kind.startsWith("supply_request.")) {
        return `#${p.transfer_id ?? p.request_id} ${state.depots[p.to_depot_id ?? p.depot_id]?.name ?? ""} ${p.status}`;
      }
      if (event.kind.startsWith("report.")) {
        const category = state.report_categories[p.category] ?? p.category;
        return `#${p.id} ${category} ${t.severity} ${p.severity} ${state.report_statuses[p.status] ?? p.status}`;
      }
      return p.name ?? p.title ?? "";
  }
}

function reportButton(id) {
  const button = el("button", { type: "button", class: "link" }, t.show);
  button.setAttribute("aria-label", `${t.show} #${id}`);
  button.addEventListener("click", () => openReport(id));
  return button;
}

function addToFeed(event) {
  const feed = document.getElementById("feed");
  const at = new Date(event.at).toLocaleTimeString(document.documentElement.lang, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZone: "Asia/Tokyo",
  });
  feed.prepend(
    el(
      "li",
      { "data-event": event.id, "data-kind": event.kind },
      el("time", { datetime: event.at }, at),
      " ",
      el("span", { class: "kind" }, t[`kind_${event.kind.replace(".", "_")}`] ?? event.kind),
      " ",
      describe(event),
      event.kind.startsWith("report.") ? reportButton(event.payload.id) : null,
    ),
  );
  while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
}

// Applying events -------------------------------------------------------------------------

async function refreshCareNeeds(shelterId) {
  try {
    const page = await api("GET", `/api/v1/shelters/${shelterId}/headcounts?limit=1`);
    const latest = (page.items ?? page)[0];
    const shelter = shelters.get(shelterId);
    if (latest && shelter) {
      shelter.care_needs = ["elderly", "infants", "pregnant", "disabled", "medical_care", "language_support"]
        .reduce((n, need) => n + (latest[need] ?? 0), 0);
      renderPanel();
    }
  } catch {
    // The figure stays as it was; the next head-count refreshes it.
  }
}

function apply(event) {
  if (event.id <= lastEventId) {
    // Replayed by a catch-up after we had it live, or overtaken by a later event.
    applyFigures(event);
    return;
  }
  lastEventId = event.id;
  const p = event.payload;
  const shelter = shelters.get(p.shelter_id);
  switch (event.kind) {
    case "shelter.headcount":
      if (shelter) {
        shelter.occupancy = p.total;
        shelter.capacity = p.capacity;
        drawShelter(shelter);
        refreshCareNeeds(shelter.id);
      }
      evacueeSeries.push([new Date(p.at), [...shelters.values()].reduce((n, s) => n + s.occupancy, 0)]);
      break;
    case "shelter.status_changed":
      if (shelter) {
        shelter.status = p.status;
        shelter.name = p.name;
        drawShelter(shelter);
      }
      break;
    case "stock.shortages":
      shortages = p.shortages;
      for (const s of shelters.values()) drawShelter(s);
      break;
    case "alert.approved":
    case "alert.sending":
    case "alert.sent":
    case "alert.cancelled":
      applyAlert(p);
      applyAlertToDeliveries(p);
      break;
    case "alert.delivery_progress":
    case "alert.safety_answers":
      applyFigures(event);
      break;
    default:
      if (event.kind.startsWith("report.")) {
        refreshReport(p.id);
        refreshFigures();
      }
  }
  addToFeed(event);
  renderPanel();
  document.getElementById("ops-map-panel").dataset.lastEvent = String(lastEventId);
}

// The live channel ------------------------------------------------------------------------

const live = {
  socket: null,
  delay: 500,
  held: false,
  timer: null,

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/ops/?after=${lastEventId}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.delay = 500;
      show("connected");
    });
    socket.addEventListener("message", (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "pong") return;
      apply(data);
    });
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
      show("disconnected");
      if (!this.held) this.retry();
    });
  },

  retry() {
    clearTimeout(this.timer);
    // Back off up to 15 s so a server that is restarting is not hammered by every screen.
    this.timer = setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 15000);
  },

  // For tests and for staff who want to check the catch-up: drop the socket and stay
  // disconnected until resume().
  drop() {
    this.held = true;
    clearTimeout(this.timer);
    this.socket?.close();
  },

  resume() {
    this.held = false;
    if (!this.socket) this.connect();
  },
};

function show(status) {
  const indicator = document.getElementById("live");
  indicator.dataset.state = status;
  indicator.textContent = status === "connected" ? t.connected : t.disconnected;
}

setInterval(() => {
  if (live.socket?.readyState === WebSocket.OPEN) live.socket.send(JSON.stringify({ type: "ping" }));
}, 25000);
// The chart's hours move on even when no report arrives.
setInterval(refreshFigures, 10 * 60 * 1000);

// Start -----------------------------------------------------------------------------------

function districtsLayer() {
  return L.geoJSON(state.districts, {
    style: { color: "#0b3d6e", weight: 1, fillOpacity: 0.04 },
    onEachFeature: (feature, layer) => layer.bindTooltip(el("span", {}, feature.properties.name)),
  });
}

window.addEventListener("map:init", (e) => {
  map = e.detail.map;
  // Clustering needs a maximum zoom; the GSI standard tiles go to 18.
  if (map.getMaxZoom() === Infinity) map.setMaxZoom(18);
  layers.shelters = L.layerGroup().addTo(map);
  layers.reports = L.markerClusterGroup({ disableClusteringAtZoom: UNCLUSTERED_ZOOM }).addTo(map);
  layers.districts = districtsLayer().addTo(map);
  layers.alerts = L.featureGroup().addTo(map);
  // Off until staff choose an alert's reach: it covers the districts layer when shown.
  layers.reach = reachLayer();
  reachLegend = reachLegendControl();
  layers.reach.on("add", () => {
    reachLegend.addTo(map);
    renderLegend();
  });
  layers.reach.on("remove", () => reachLegend.remove());
  const overlays = {
    [t.layerShelters]: layers.shelters,
    [t.layerReports]: layers.reports,
  };
  if (TILES_URL && L.vectorGrid) {
    layers.reportTiles = reportTilesLayer();
    overlays[t.layerReportTiles] = layers.reportTiles;
    map.on("click", reportUnder);
  }
  L.control
    .layers(null, {
      ...overlays,
      [t.layerDistricts]: layers.districts,
      [t.layerAlerts]: layers.alerts,
      [t.layerReach]: layers.reach,
    })
    .addTo(map);
  for (const alert of alerts.values()) drawAlert(alert);
  for (const shelter of shelters.values()) drawShelter(shelter);
  const bounds = L.latLngBounds([...shelters.values()].map((s) => [s.lat, s.lon]));
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.1), { maxZoom: 15, animate: false });
  document.getElementById("report-filters").addEventListener("change", refilterReports);
  for (const event of state.events) addToFeed(event);
  renderPanel();
  renderDeliveries();
  refreshNeedHelp();
  loadReports();
  live.connect();
  window.sonaeOps = { live, map, layers, shelterMarkers, reportMarkers, alertLayers, openReport, selectReach };
  document.getElementById("ops-map-panel").dataset.ready = "true";
});
