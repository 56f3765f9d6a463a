// Districts coloured by their census population (a layer staff switch on in the layer
// control, with its legend): where many people live, before an alert is drafted.
import { el } from "../dom.js";
import { gettext, interpolate } from "../i18n.js";
import { snapshot } from "./state.js";

// Upper bounds of the bands (people per district) and their colours, light to dark.
const BANDS = [
  { below: 1000, colour: "#fee5d9" },
  { below: 2000, colour: "#fcae91" },
  { below: 4000, colour: "#fb6a4a" },
  { below: 8000, colour: "#de2d26" },
  { below: Infinity, colour: "#a50f15" },
];
const UNKNOWN = "#bdbdbd";

const number = (n) => n.toLocaleString("ja-JP");

function colourOf(population) {
  if (population === null || population === undefined) return UNKNOWN;
  return BANDS.find((b) => population < b.below).colour;
}

function bandLabel(band, index) {
  const from = index === 0 ? 0 : BANDS[index - 1].below;
  return band.below === Infinity
    ? interpolate(gettext("%(from)s 人以上"), { from: number(from) })
    : interpolate(gettext("%(from)s〜%(to)s 人"), { from: number(from), to: number(band.below - 1) });
}

function tooltip(p) {
  const figures =
    p.population === null
      ? gettext("人口不明")
      : interpolate(gettext("人口 %(population)s 人・%(households)s 世帯"), {
          population: number(p.population),
          households: number(p.households ?? 0),
        });
  return el(
    "span",
    { class: "population-tip", "data-district": p.id },
    el("strong", {}, p.name),
    el("br"),
    figures,
    p.derived ? el("span", {}, ` ${gettext("（区域は推定）")}`) : null,
  );
}

export function populationLayer() {
  return L.geoJSON(snapshot.districts, {
    style: (f) => ({ color: "#555", weight: 1, fillColor: colourOf(f.properties.population), fillOpacity: 0.6 }),
    onEachFeature: (feature, layer) => layer.bindTooltip(tooltip(feature.properties)),
  });
}

export function populationLegendControl() {
  const control = L.control({ position: "bottomleft" });
  control.onAdd = () => {
    const swatch = (colour) => {
      const box = el("span", { class: "swatch", "aria-hidden": "true" });
      box.style.background = colour;
      return box;
    };
    const total = snapshot.districts.features.reduce((n, f) => n + (f.properties.population ?? 0), 0);
    const node = el(
      "div",
      { class: "reach-legend population-legend", role: "group", "aria-label": gettext("地区の人口") },
      el("strong", {}, gettext("地区の人口（国勢調査）")),
      el("p", {}, interpolate(gettext("市内 %(total)s 人"), { total: number(total) })),
      el(
        "ul",
        {},
        ...BANDS.map((b, i) => el("li", {}, swatch(b.colour), bandLabel(b, i))),
        el("li", {}, swatch(UNKNOWN), gettext("人口不明")),
      ),
    );
    L.DomEvent.disableClickPropagation(node);
    return node;
  };
  return control;
}
