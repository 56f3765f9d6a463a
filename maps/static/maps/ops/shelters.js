// Shelters on the operations map: a pin per shelter with its occupancy and a warning when
// it runs short of something, and a popup with its figures.
import { el } from "../dom.js";
import { gettext, interpolate, pgettext } from "../i18n.js";
import { snapshot, state } from "./state.js";

function percent(shelter) {
  return shelter.capacity ? Math.round((100 * shelter.occupancy) / shelter.capacity) : null;
}

function worstShortage(shelterId) {
  // `shortages` is sorted soonest-empty first, so the first one of a shelter is its worst.
  return state.shortages.find((s) => s.shelter_id === shelterId) ?? null;
}

export function shortageText(s) {
  const item = snapshot.items[s.item_id] ?? `#${s.item_id}`;
  // Equipment (toilets) is counted against what the head-count needs, not in days.
  if (s.days_of_supply === null && s.required_units !== null && s.required_units !== undefined) {
    return `${item} ${interpolate(gettext("%(n)s / 必要 %(need)s"), { n: s.on_hand, need: s.required_units })}`;
  }
  if (s.days_of_supply === null) return `${item} ${gettext("在庫なし")}`;
  return `${item} ${s.days_of_supply.toFixed(1)}${gettext("日分")}`;
}

function shelterIcon(shelter) {
  const p = percent(shelter);
  const short = worstShortage(shelter.id);
  // A closed shelter has no occupancy to show: a small grey dot, not a "0%" pin.
  if (shelter.status === "closed") {
    const dot = el("span", { class: "shelter-pin status-closed quiet" });
    return L.divIcon({ html: dot, className: "shelter-icon", iconSize: [12, 12] });
  }
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
    el("p", {}, `${pgettext("shelter status", "状態")}: ${snapshot.statuses[shelter.status] ?? shelter.status}`),
    el(
      "p",
      {},
      `${gettext("避難者")}: ${shelter.occupancy} / ${shelter.capacity} (${percent(shelter) ?? "—"}%)`,
    ),
    el("p", {}, `${gettext("要配慮者")}: ${shelter.care_needs}`),
    short ? el("p", { class: "warn" }, `${gettext("最も不足")}: ${shortageText(short)}`) : null,
  );
}

export function drawShelter(shelter) {
  let marker = state.shelterMarkers.get(shelter.id);
  if (!marker) {
    marker = L.marker([shelter.lat, shelter.lon], { title: shelter.name, keyboard: true, pane: "shelters" });
    state.shelterMarkers.set(shelter.id, marker);
  }
  // Closed shelters live in their own layer, off by default: 28 "0%" pins piled up.
  const { shelters, closedShelters } = state.layers;
  const [layer, other] = shelter.status === "closed" ? [closedShelters, shelters] : [shelters, closedShelters];
  other.removeLayer(marker);
  layer.addLayer(marker);
  marker.setIcon(shelterIcon(shelter));
  marker.bindPopup(() => shelterPopup(shelter));
  marker.getElement()?.setAttribute("data-shelter", shelter.id);
}
