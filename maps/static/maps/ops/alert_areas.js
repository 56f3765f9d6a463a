// Alert areas on the operations map: each alert approved, being sent or sent, drawn over
// its polygon, its districts or the whole city (dashed for a drill).
import { el } from "../dom.js";
import { gettext } from "../i18n.js";
import { snapshot, state } from "./state.js";

const SHOWN_ALERTS = ["approved", "sending", "sent"];

function alertColour(alert) {
  if (alert.kind === "evacuation_5") return "#4a0010";
  if (alert.kind === "evacuation_4") return "#a0001c";
  if (alert.kind === "evacuation_3") return "#c4461b";
  return "#6a1b9a";
}

/** Everything the alert reaches, as the residents' public map shows it: the whole city,
 * or its drawn area together with every district it names (their union). */
function alertGeometry(alert) {
  if (alert.whole_city && snapshot.city) return snapshot.city;
  const wanted = new Set(alert.district_ids ?? []);
  const features = snapshot.districts.features.filter((f) => wanted.has(f.properties.id));
  if (alert.area) features.push({ type: "Feature", properties: {}, geometry: alert.area });
  return { type: "FeatureCollection", features };
}

export function drawAlert(alert) {
  const { alertLayers } = state;
  alertLayers.get(alert.id)?.remove();
  alertLayers.delete(alert.id);
  if (!SHOWN_ALERTS.includes(alert.status)) return;
  const colour = alertColour(alert);
  const layer = L.geoJSON(alertGeometry(alert), {
    style: { color: colour, weight: 3, dashArray: alert.drill ? "6 6" : null, fillColor: colour, fillOpacity: 0.12 },
  });
  layer.bindTooltip(el("span", {}, `${alert.drill ? `${gettext("訓練")} ` : ""}${alert.title}`));
  layer.addTo(state.layers.alerts);
  alertLayers.set(alert.id, layer);
}

export function applyAlert(p) {
  // An event carries the alert's own polygon, if it has one.
  const known = state.alerts.get(p.id);
  const alert = { ...known, ...p, area: p.area ?? known?.area ?? null };
  state.alerts.set(alert.id, alert);
  drawAlert(alert);
}
