// The map's legend: what the shelter pins, their ring, the report dots, the borders and the
// alert areas mean. Collapsible, so it never hides the map for long.
import { el } from "../dom.js";
import { gettext } from "../i18n.js";

const SEVERITY_COLOURS = ["#1a7f37", "#7a8b00", "#b26b00", "#c4461b", "#a0001c"];

function row(swatch, text) {
  return el("li", {}, swatch, " ", text);
}

function pin(status, text, extra = "") {
  const label = extra.includes("quiet") ? "" : "50%";
  return row(el("span", { class: `shelter-pin status-${status}${extra}`, "aria-hidden": "true" }, label), text);
}

export function legendControl() {
  const control = L.control({ position: "bottomleft" });
  control.onAdd = () => {
    const box = el(
      "details",
      // Open on a big screen; folded on a laptop, where the map needs the room.
      { class: "map-legend", open: window.innerHeight > 900 },
      el("summary", {}, gettext("凡例")),
      el(
        "ul",
        {},
        pin("open", gettext("開設中（数字は収容率）")),
        pin("full", gettext("満員")),
        pin("preparing", gettext("開設準備中")),
        pin("open", gettext("物資が不足（黄色の輪）"), " short"),
        pin("closed", gettext("閉鎖中（既定では非表示）"), " quiet"),
        row(
          el("span", { class: "severity-scale", "aria-hidden": "true" }, ...SEVERITY_COLOURS.map((c) => {
            const dot = el("span", { class: "dot" });
            dot.style.background = c;
            return dot;
          })),
          gettext("被害報告の深刻度 1〜5（薄い色は解決済み）"),
        ),
        row(el("span", { class: "swatch district", "aria-hidden": "true" }), gettext("地区の境界")),
        row(el("span", { class: "swatch alert-area", "aria-hidden": "true" }), gettext("避難情報の対象区域（破線は訓練）")),
      ),
    );
    L.DomEvent.disableClickPropagation(box);
    return box;
  };
  return control;
}
