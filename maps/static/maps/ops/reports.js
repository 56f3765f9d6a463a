// Damage reports on the operations map: the newest thousand as markers (clustered, live, with
// the triage controls in their popups), every open one as vector tiles, and the filters.
import { api, el } from "../dom.js";
import { gettext } from "../i18n.js";
import { renderPanel } from "./panel.js";
import { snapshot, state, urls } from "./state.js";

const SEVERITY_COLOURS = ["#1a7f37", "#7a8b00", "#b26b00", "#c4461b", "#a0001c"];
export const UNCLUSTERED_ZOOM = 17;

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
    const updated = await api("POST", `${urls.reports}/${report.id}/${action}`, body);
    out.textContent = `${gettext("更新しました")} #${report.id}`;
    state.reportMarkers.get(report.id)?.closePopup();
    if (updated?.id) upsertReport(updated);
  } catch (error) {
    out.textContent = `${gettext("更新できませんでした")} #${report.id}: ${error.message}`;
  }
}

/** The open reports near in place and time that this one probably repeats (the API's
 * near-duplicate hint): each a button that puts its number in the merge field. */
function duplicateHints(report, into) {
  const box = el("p", { class: "duplicates", hidden: true });
  if (!isUnresolved(report)) return box;
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
    el("p", {}, `${gettext("深刻度")} ${report.severity} · ${report.status_label ?? report.status}`),
    report.reporters > 1 ? el("p", {}, `${gettext("報告者数")} ${report.reporters}`) : null,
    el("p", { class: "description" }, report.description ?? ""),
    report.address ? el("p", {}, report.address) : null,
    reportPhotos(report),
    duplicateHints(report, into),
    el(
      "div",
      { class: "triage" },
      button(gettext("確認済みにする"), "verify"),
      el("label", { for: `team-${report.id}` }, gettext("担当班")),
      team,
      button(gettext("割り当て"), "assign", () => ({ team: team.value })),
      el("label", { for: `into-${report.id}` }, gettext("統合先の報告番号")),
      into,
      button(gettext("統合"), "merge", () => ({ into: Number(into.value) })),
      button(gettext("解決"), "resolve"),
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
  const { layers, reports, reportMarkers } = state;
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
  const category = snapshot.report_categories[report.category] ?? report.category;
  // A node, not a string: Leaflet puts a string into the page as markup.
  marker.unbindTooltip().bindTooltip(el("span", {}, `#${report.id} ${category}`));
  const shown = layers.reports.hasLayer(marker);
  if (reportVisible(report) && !shown) layers.reports.addLayer(marker);
  if (!reportVisible(report) && shown) layers.reports.removeLayer(marker);
  if (render) renderPanel();
}

/** Bring a report into view (out of its cluster, low on the map so its popup with the
 * triage controls fits above it) and open its popup. */
export function openReport(id) {
  const { map, layers } = state;
  const marker = state.reportMarkers.get(id);
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
  if (!state.reportMarkers.has(id)) await refreshReport(id);
  openReport(id);
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
  return L.vectorGrid.protobuf(tilesUrl(), {
    rendererFactory: L.canvas.tile,
    interactive: false,
    maxNativeZoom: 18,
    fetchOptions: { credentials: "same-origin" },
    vectorTileLayerStyles: { reports: style },
  });
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
  for (const status of ["new", "verified", "assigned"]) query.append("status", status);
  const found = await api("GET", `${urls.geojson}?${query}`);
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
  if (f.status === "") for (const status of Object.keys(snapshot.report_statuses)) query.append("status", status);
  else if (f.status !== "open") query.append("status", f.status);
  if (f.hours) query.append("since", new Date(Date.now() - f.hours * 3600e3).toISOString());
  const text = query.toString();
  return text ? `${urls.tiles}?${text}` : urls.tiles;
}

export function refilterReports() {
  const { layers } = state;
  layers.reports.clearLayers();
  for (const [id, report] of state.reports) {
    if (reportVisible(report)) layers.reports.addLayer(state.reportMarkers.get(id));
  }
  layers.reportTiles?.setUrl(tilesUrl());
}

export async function loadReports() {
  if (!urls.reports) return;
  try {
    // The newest 1000; older ones arrive as they change (their events) or on the layer's
    // GeoJSON/tiles when the map needs them all.
    const page = await api("GET", `${urls.reports}?limit=1000`);
    for (const report of page.items ?? page) upsertReport(report, { render: false });
    renderPanel();
  } catch (error) {
    document.getElementById("triage-result").textContent =
      `${gettext("被害報告を読み込めませんでした")}: ${error.message}`;
  }
}

export async function refreshReport(id) {
  if (!urls.reports || !id) return;
  try {
    upsertReport(await api("GET", `${urls.reports}/${id}`));
  } catch {
    // A report the page may not read any more (deleted) simply stays as it was.
  }
}
