// The public shelter map (/map/): open shelters with an occupancy band, never head-counts,
// and the nearest open shelters to the visitor (browser location or a tapped point),
// filtered by the hazard chosen. Phone first: the nearest list comes before the map.
import { api, el, messages } from "./dom.js";

const t = messages("public-messages");
const hazardLabels = JSON.parse(document.getElementById("hazard-labels").textContent);
const NEAREST = 5;
// Bands, not numbers: residents need "can I go there", and a count per shelter says more
// about the people inside than they need to know.
const CROWDED_FROM = 80;

let map = null;
let openLayer = null;
let hereMarker = null;

export function band(shelter) {
  const p = shelter.percent_of_capacity;
  if (shelter.status === "full" || (p !== null && p >= 100)) return "full";
  if (p !== null && p >= CROWDED_FROM) return "crowded";
  return "free";
}

function distanceKm(a, b) {
  const rad = Math.PI / 180;
  const dLat = (b.lat - a.lat) * rad;
  const dLon = (b.lon - a.lon) * rad;
  const h = Math.sin(dLat / 2) ** 2 + Math.cos(a.lat * rad) * Math.cos(b.lat * rad) * Math.sin(dLon / 2) ** 2;
  return 12742 * Math.asin(Math.sqrt(h));
}

function shelterItem(shelter, from) {
  const b = band(shelter);
  const name = document.documentElement.lang === "en" && shelter.name_en ? shelter.name_en : shelter.name;
  const hazards = shelter.hazards.map((h) => hazardLabels[h] ?? h).join("、");
  return el(
    "li",
    { "data-shelter": shelter.id, "data-band": b },
    el("strong", {}, name),
    " ",
    el("span", { class: `band band-${b}` }, t[b]),
    from
      ? el("span", { class: "distance" }, ` ${t.distance} ${distanceKm(from, { lat: shelter.latitude, lon: shelter.longitude }).toFixed(1)} km`)
      : null,
    el("br"),
    shelter.address,
    hazards ? el("br") : null,
    hazards ? `${t.hazards}: ${hazards}` : null,
  );
}

async function loadOpen() {
  const list = document.getElementById("open-list");
  try {
    const page = await api("GET", "/api/v1/shelters?status=open&status=full&limit=1000");
    const shelters = page.items;
    list.replaceChildren(...shelters.map((s) => shelterItem(s)));
    if (!shelters.length) list.append(el("li", {}, t.noneOpen));
    for (const s of shelters) {
      const b = band(s);
      L.circleMarker([s.latitude, s.longitude], {
        radius: 10,
        color: "#222",
        weight: 2,
        fillColor: { free: "#1a7f37", crowded: "#c77700", full: "#b00020" }[b],
        fillOpacity: 0.9,
      })
        .bindPopup(() => el("div", { class: "popup" }, [...shelterItem(s).childNodes]))
        .bindTooltip(`${s.name} ${t[b]}`)
        .addTo(openLayer);
    }
    const bounds = openLayer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.2), { maxZoom: 15, animate: false });
  } catch {
    list.replaceChildren(el("li", {}, t.failed));
  }
}

async function findNearest(here) {
  const status = document.getElementById("nearest-status");
  const list = document.getElementById("nearest-list");
  status.textContent = t.searching;
  if (hereMarker) hereMarker.remove();
  hereMarker = L.marker([here.lat, here.lon], { title: t.here }).addTo(map);
  const query = new URLSearchParams({
    status: "open",
    near_lat: here.lat.toFixed(6),
    near_lon: here.lon.toFixed(6),
    limit: String(NEAREST),
  });
  const hazard = document.getElementById("hazard").value;
  if (hazard) query.set("hazard", hazard);
  try {
    const page = await api("GET", `/api/v1/shelters?${query}`);
    list.replaceChildren(...page.items.map((s) => shelterItem(s, here)));
    status.textContent = page.items.length ? t.found : t.noneNear;
  } catch {
    status.textContent = t.failed;
  }
}

function locate() {
  if (!navigator.geolocation) {
    document.getElementById("nearest-status").textContent = t.noLocation;
    return;
  }
  navigator.geolocation.getCurrentPosition(
    (position) => findNearest({ lat: position.coords.latitude, lon: position.coords.longitude }),
    () => {
      document.getElementById("nearest-status").textContent = t.noLocation;
    },
    { enableHighAccuracy: true, timeout: 10000 },
  );
}

window.addEventListener("map:init", (e) => {
  map = e.detail.map;
  openLayer = L.featureGroup().addTo(map);
  map.on("click", (event) => findNearest({ lat: event.latlng.lat, lon: event.latlng.lng }));
  document.getElementById("locate").addEventListener("click", locate);
  document.getElementById("hazard").addEventListener("change", () => {
    if (hereMarker) findNearest({ lat: hereMarker.getLatLng().lat, lon: hereMarker.getLatLng().lng });
  });
  loadOpen().then(() => {
    document.getElementById("public-map-page").dataset.ready = "true";
  });
});
