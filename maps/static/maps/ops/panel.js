// The side panel: shelter and report figures, the shortage list and the two charts.
import { api, el, lineChart } from "../dom.js";
import { gettext } from "../i18n.js";
import { shortageText } from "./shelters.js";
import { snapshot, state, urls } from "./state.js";

// The report figures are counts over every report, most of which the page never loads:
// after report events the page asks the server again, at most once every two seconds
// however many events a burst brings (the last event is always followed by a fetch).
const FIGURES_DELAY = 300;
const FIGURES_INTERVAL = 2000;
const figures = { timer: null, last: 0 };

export function renderPanel() {
  const { shelters, shortages, reportFigures } = state;
  const all = [...shelters.values()];
  const open = all.filter((s) => s.status === "open" || s.status === "full");
  const shown = {
    "open-shelters": open.length,
    evacuees: all.reduce((n, s) => n + s.occupancy, 0),
    "care-needs": all.reduce((n, s) => n + s.care_needs, 0),
    "supported-elsewhere": all.reduce((n, s) => n + (s.supported_elsewhere ?? 0), 0),
    shortages: shortages.length,
  };
  for (const [id, value] of Object.entries(shown)) {
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
      const where = shelter?.name ?? snapshot.depots[s.depot_id]?.name ?? `#${s.depot_id}`;
      return el("li", {}, `${where}: ${shortageText(s)}`);
    }),
  );
  if (!shortages.length) list.append(el("li", {}, gettext("なし")));

  lineChart(document.getElementById("chart-evacuees"), state.evacueeSeries, gettext("避難者"));
  lineChart(
    document.getElementById("chart-reports"),
    reportFigures.per_hour.map(([at, n]) => [new Date(at), n]),
    gettext("1時間ごとの被害報告数"),
  );
}

export function refreshFigures() {
  if (figures.timer) return; // one is due: it counts this event too
  const wait = Math.max(FIGURES_DELAY, figures.last + FIGURES_INTERVAL - Date.now());
  figures.timer = setTimeout(async () => {
    figures.timer = null;
    figures.last = Date.now();
    if (!urls.figures) return;
    try {
      state.reportFigures = await api("GET", urls.figures);
      renderPanel();
      document.dispatchEvent(new Event("ops:figures"));
    } catch {
      // The figures stay as they were; the next report event asks again.
    }
  }, wait);
}
