// The operations map (/ops/): shelters, damage reports, districts and alert areas on one
// Leaflet map, a side panel of figures, and every event applied live from /ws/ops/.
//
// One module per concern, sharing one state object (state.js); this one builds the map's
// layers once Leaflet has made the map, draws the snapshot and opens the live channel.
import { el } from "../dom.js";
import { gettext } from "../i18n.js";
import { drawAlert } from "./alert_areas.js";
import {
  reachLayer,
  reachLegendControl,
  refreshNeedHelp,
  renderDeliveries,
  renderLegend,
  selectReach,
} from "./delivery.js";
import { addToFeed } from "./feed.js";
import { live } from "./live.js";
import { refreshFigures, renderPanel } from "./panel.js";
import { populationLayer, populationLegendControl } from "./population.js";
import { legendControl } from "./legend.js";
import {
  UNCLUSTERED_ZOOM,
  loadReports,
  openReport,
  refilterReports,
  renderReportCount,
  reportTilesLayer,
  reportUnder,
} from "./reports.js";
import { drawShelter } from "./shelters.js";
import { snapshot, state, urls } from "./state.js";
import { renderWarnings } from "./warnings.js";

// The zoom range, as the page gives it to early.js too (maps/views.py).
const MIN_ZOOM = Number(document.getElementById("ops-map-panel").dataset.minZoom);

// The chart's hours move on even when no report arrives.
setInterval(refreshFigures, 10 * 60 * 1000);

function districtsLayer() {
  return L.geoJSON(snapshot.districts, {
    style: { color: "#0b3d6e", weight: 1, fillOpacity: 0.04 },
    onEachFeature: (feature, layer) => layer.bindTooltip(el("span", {}, feature.properties.name)),
  });
}

window.addEventListener("map:init", (e) => {
  const map = e.detail.map;
  const { layers } = state;
  state.map = map;
  // Clustering needs a maximum zoom; the GSI standard tiles go to 18.
  if (map.getMaxZoom() === Infinity) map.setMaxZoom(18);
  map.setMinZoom(MIN_ZOOM);
  // Shelter pins above the report markers and clusters (never hidden under them); every
  // open report's dot (vector tiles) below everything else drawn.
  map.createPane("shelters").style.zIndex = "640";
  map.createPane("reportTiles").style.zIndex = "350";
  layers.shelters = L.layerGroup().addTo(map);
  // Closed shelters: off by default, quiet grey pins when shown.
  layers.closedShelters = L.layerGroup();
  layers.reports = L.markerClusterGroup({ disableClusteringAtZoom: UNCLUSTERED_ZOOM }).addTo(map);
  layers.districts = districtsLayer().addTo(map);
  layers.alerts = L.featureGroup().addTo(map);
  // Off until staff choose an alert's reach: it covers the districts layer when shown.
  layers.reach = reachLayer();
  state.reachLegend = reachLegendControl();
  layers.reach.on("add", () => {
    state.reachLegend.addTo(map);
    renderLegend();
  });
  layers.reach.on("remove", () => state.reachLegend.remove());
  // Off until chosen: districts coloured by population, with its legend.
  layers.population = populationLayer();
  const populationLegend = populationLegendControl();
  layers.population.on("add", () => populationLegend.addTo(map));
  layers.population.on("remove", () => populationLegend.remove());
  const overlays = {
    [gettext("避難所（開設・準備中など）")]: layers.shelters,
    [gettext("閉鎖中の避難所")]: layers.closedShelters,
  };
  if (urls.tiles && L.vectorGrid) {
    // On by default: every open report, however many, is on the map (added once the view
    // is set, below, so only the tiles of that view are asked for).
    layers.reportTiles = reportTilesLayer();
    overlays[gettext("未解決の被害報告（すべて・点）")] = layers.reportTiles;
    map.on("click", reportUnder);
  }
  overlays[gettext("被害報告（新しい順・操作用の印）")] = layers.reports;
  map.on("overlayadd overlayremove", renderReportCount);
  L.control
    .layers(null, {
      ...overlays,
      [gettext("地区")]: layers.districts,
      [gettext("地区の人口")]: layers.population,
      [gettext("避難情報の対象区域")]: layers.alerts,
      [gettext("配信状況（地区別）")]: layers.reach,
    })
    .addTo(map);
  legendControl().addTo(map);
  for (const alert of state.alerts.values()) drawAlert(alert);
  for (const shelter of state.shelters.values()) drawShelter(shelter);
  // Every shelter in view, as early.js chose it (and asked for its report tiles).
  const view = window.sonaeOpsView;
  if (view) map.setView(view.center, view.zoom, { animate: false });
  // Leaflet measures its container once: it follows the banners and the count line beside
  // it as they come and go, around the same centre.
  new ResizeObserver(() => map.invalidateSize()).observe(map.getContainer());
  layers.reportTiles?.addTo(map);
  document.getElementById("report-filters").addEventListener("change", refilterReports);
  for (const event of snapshot.events) addToFeed(event);
  renderPanel();
  renderWarnings();
  renderDeliveries();
  // `?reach=<alert id>`: opened from an alert's delivery page, its reach map at once.
  const reach = Number(new URLSearchParams(location.search).get("reach"));
  if (reach && state.deliveries.has(reach)) selectReach(reach);
  refreshNeedHelp();
  renderReportCount();
  document.addEventListener("ops:figures", renderReportCount);
  loadReports();
  live.connect();
  window.sonaeOps = {
    live,
    map,
    layers,
    shelterMarkers: state.shelterMarkers,
    reportMarkers: state.reportMarkers,
    alertLayers: state.alertLayers,
    openReport,
    selectReach,
  };
  const panel = document.getElementById("ops-map-panel");
  panel.dataset.readyAt = String(Math.round(performance.now()));
  panel.dataset.ready = "true";
});
