// The public shelter map (/map/): open shelters with an occupancy band, never head-counts,
// and the nearest open shelters to the visitor (browser location or a tapped point),
// filtered by the hazard chosen. Phone first: the nearest list comes before the map.
// Reached from an SMS short link (/a/<id> → /map/?alert=<id>), it first shows that alert:
// its area on the map and the open shelters in or near it for its hazard.
import { api, el } from "./dom.js";
import { gettext, interpolate } from "./i18n.js";

const hazardLabels = JSON.parse(document.getElementById("hazard-labels").textContent);
const page = document.getElementById("public-map-page").dataset;
const NEAREST = 5;
const BAND_COLOURS = { free: "#1a7f37", crowded: "#c77700", full: "#b00020" };
const AREA_STYLE = { color: "#b00020", weight: 3, fillColor: "#b00020", fillOpacity: 0.12 };
const BANDS = { free: gettext("空き"), crowded: gettext("混雑"), full: gettext("満員") };
const FAILED = gettext("読み込めませんでした。通信状況を確認してください。");
const NO_LOCATION = gettext("現在地を取得できませんでした。地図をタップして地点を選んでください。");

// Japanese pages show the names as written; every other language the romanised ones
// (shelters.readings), and marks the Japanese data it still shows (addresses, JMA's words)
// as Japanese for screen readers and translation tools.
const JAPANESE_PAGE = document.documentElement.lang.startsWith("ja");
const LIST_SEPARATOR = /^(ja|zh)/.test(document.documentElement.lang) ? "、" : ", ";
const inJapanese = (text) => (JAPANESE_PAGE ? text : el("span", { lang: "ja" }, text));
const shelterName = (shelter) => (!JAPANESE_PAGE && shelter.name_en ? shelter.name_en : shelter.name);

let map = null;
let openLayer = null;
let hereMarker = null;

// The band (空き / 混雑 / 満員) comes from the server (MAP_CROWDED_PERCENT), which never sends a
// head-count to the public: residents need "can I go there", not how many people are inside.
function shelterItem(shelter) {
  const name = shelterName(shelter);
  const hazards = shelter.hazards.map((h) => hazardLabels[h] ?? h).join(LIST_SEPARATOR);
  return el(
    "li",
    { "data-shelter": shelter.id, "data-band": shelter.band },
    el("strong", {}, name),
    " ",
    el("span", { class: `band band-${shelter.band}` }, BANDS[shelter.band]),
    // None for a shelter inside an alert's area (0 m), nothing to walk to it.
    !shelter.distance_m
      ? null
      : el("span", { class: "distance" }, ` ${gettext("約")} ${(shelter.distance_m / 1000).toFixed(1)} km`),
    el("br"),
    shelter.address ? inJapanese(shelter.address) : null,
    hazards ? el("br") : null,
    hazards ? `${gettext("対象の災害")}: ${hazards}` : null,
  );
}

async function loadOpen() {
  const list = document.getElementById("open-list");
  try {
    const found = await api("GET", page.sheltersUrl);
    const shelters = found.features.map((f) => ({
      ...f.properties,
      id: f.id,
      latitude: f.geometry.coordinates[1],
      longitude: f.geometry.coordinates[0],
    }));
    list.replaceChildren(...shelters.map((s) => shelterItem(s)));
    if (!shelters.length) list.append(el("li", {}, gettext("開設中の避難所はありません。")));
    for (const s of shelters) {
      L.circleMarker([s.latitude, s.longitude], {
        radius: 10,
        color: "#222",
        weight: 2,
        fillColor: BAND_COLOURS[s.band],
        fillOpacity: 0.9,
      })
        .bindPopup(() => el("div", { class: "popup" }, [...shelterItem(s).childNodes]))
        // A node, never a string: Leaflet writes a string tooltip with innerHTML.
        .bindTooltip(el("span", {}, `${shelterName(s)} ${BANDS[s.band]}`))
        .addTo(openLayer);
    }
    const bounds = openLayer.getBounds();
    if (bounds.isValid()) map.fitBounds(bounds.pad(0.2), { maxZoom: 15, animate: false });
  } catch {
    list.replaceChildren(el("li", {}, FAILED));
  }
}

/** The alert the visitor came for: its title, its area drawn on the map (the map then
 * shows the area rather than every shelter) and the open shelters in or near it. */
async function loadAlert() {
  const section = document.getElementById("alert-section");
  const status = document.getElementById("alert-status");
  const list = document.getElementById("alert-shelters");
  section.hidden = false;
  let found;
  try {
    found = await api("GET", page.alertUrl);
  } catch (error) {
    document.getElementById("alert-heading").textContent =
      error.status === 404 ? gettext("この情報は見つかりませんでした。") : FAILED;
    return;
  }
  const kind = found.level && found.kind_label ? ` (${found.kind_label})` : "";
  document.getElementById("alert-heading").textContent =
    `${found.drill ? gettext("【訓練】") : ""}${found.title}${kind}`;
  status.textContent = [
    found.action,
    found.area ? gettext("地図の赤い区域が対象です。") : "",
    found.in_force ? "" : gettext("この情報の有効期間は終わっています。"),
  ]
    .filter(Boolean)
    .join(" ");
  list.replaceChildren(...found.shelters.map((s) => shelterItem(s)));
  if (!found.shelters.length) list.append(el("li", {}, gettext("この区域の近くに開設中の避難所はありません。")));
  if (found.area) {
    const area = L.geoJSON(found.area, { style: AREA_STYLE, interactive: false }).addTo(map);
    area.bringToBack();
    map.fitBounds(area.getBounds().pad(0.1), { maxZoom: 16, animate: false });
  }
}

/** The level of a warning: JMA's own words on a Japanese page, the level said in the
 * page's language on any other. */
function levelBadge(warning) {
  const words = JAPANESE_PAGE
    ? warning.level_words
    : warning.level && interpolate(gettext("警戒レベル%(level)s相当"), { level: warning.level });
  return words ? el("span", { class: `level level-${warning.level}` }, words) : null;
}

/** What JMA says is in force for the city, as JMA words it (its names and texts marked as
 * Japanese on the other languages' pages), with its source shown. */
async function loadWarnings() {
  const list = document.getElementById("public-warnings");
  if (!list || !page.warningsUrl) return;
  try {
    const found = await api("GET", page.warningsUrl);
    list.replaceChildren(
      ...found.warnings.map((w) =>
        el(
          "li",
          { "data-level": w.level ?? "" },
          levelBadge(w),
          " ",
          el("strong", JAPANESE_PAGE ? {} : { lang: "ja" }, w.name),
          " ",
          inJapanese(w.area_name),
          w.text ? el("p", { class: "jma-words", lang: "ja" }, w.text) : null,
        ),
      ),
    );
    if (!found.warnings.length) list.append(el("li", {}, gettext("発表中の警報・注意報はありません")));
  } catch {
    list.replaceChildren(el("li", {}, FAILED));
  }
}

/** The open shelters nearest to `here` for the hazard chosen: a PostGIS KNN search. */
async function findNearest(here) {
  const status = document.getElementById("nearest-status");
  const list = document.getElementById("nearest-list");
  status.textContent = gettext("探しています…");
  if (hereMarker) hereMarker.remove();
  hereMarker = L.marker([here.lat, here.lon], { title: gettext("探す地点") }).addTo(map);
  const query = new URLSearchParams({
    lat: here.lat.toFixed(6),
    lon: here.lon.toFixed(6),
    limit: String(NEAREST),
  });
  const hazard = document.getElementById("hazard").value;
  if (hazard) query.set("hazard", hazard);
  try {
    const nearest = await api("GET", `${page.nearestUrl}?${query}`);
    list.replaceChildren(...nearest.map((s) => shelterItem(s)));
    status.textContent = nearest.length
      ? gettext("近い順に表示しています。")
      : gettext("条件に合う開設中の避難所は見つかりませんでした。");
  } catch {
    status.textContent = FAILED;
  }
}

function locate() {
  if (!navigator.geolocation) {
    document.getElementById("nearest-status").textContent = NO_LOCATION;
    return;
  }
  navigator.geolocation.getCurrentPosition(
    (position) => findNearest({ lat: position.coords.latitude, lon: position.coords.longitude }),
    () => {
      document.getElementById("nearest-status").textContent = NO_LOCATION;
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
  // The alert's area is fitted after the open shelters, so it is what the map shows.
  loadOpen()
    .then(() => (page.alertUrl ? loadAlert() : null))
    .then(loadWarnings)
    .then(() => {
      document.getElementById("public-map-page").dataset.ready = "true";
    });
});
