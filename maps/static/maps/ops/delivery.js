// Alerts being sent: a live progress bar per alert, the reach map (each district coloured by
// the share reached, its safety answers in the tooltip) and the list of who asked for help.
// "Reached" is delivered plus LINE messages LINE accepted: LINE reports no delivery, so a
// fully sent LINE alert would otherwise show every district unreached. Every figure may be
// missing or zero (an alert sent to no one yet, a stuck one): nothing here may throw.
import { api, el } from "../dom.js";
import { gettext } from "../i18n.js";
import { snapshot, state } from "./state.js";

// Each alert's list item, made once and then updated in place (see deliveryItem).
const deliveryItems = new Map();
// Counts need-help requests, so that only the newest answer fills the list.
const needHelp = { request: 0 };

// Share reached per district, best first in the legend's reading order.
const REACH_BANDS = [
  { min: 1, colour: "#1a7f37", label: "100%" },
  { min: 0.75, colour: "#8cc084", label: "75–99%" },
  { min: 0.5, colour: "#f2c14e", label: "50–74%" },
  { min: 0.25, colour: "#f08a4b", label: "25–49%" },
  { min: 0, colour: "#b00020", label: "0–24%" },
];
const NO_RECIPIENTS = "#9e9e9e";

function figure(c, name) {
  const n = Number(c?.[name]);
  return Number.isFinite(n) && n > 0 ? n : 0;
}

function recipients(c) {
  return figure(c, "queued") + figure(c, "sent") + figure(c, "delivered") + figure(c, "failed");
}

/** The band of a share reached (0–1); the lowest for anything unexpected. */
function reachBand(share) {
  return REACH_BANDS.find((b) => share >= b.min) ?? REACH_BANDS[REACH_BANDS.length - 1];
}

function deliveryFor(alertId, drill) {
  let entry = state.deliveries.get(alertId);
  if (!entry) {
    const known = state.alerts.get(alertId);
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
    state.deliveries.set(alertId, entry);
  }
  return entry;
}

function progressText(p) {
  const sent = gettext("送信済み");
  const delivered = gettext("配信済み");
  const failed = gettext("失敗");
  const total = gettext("合計");
  const n = (name) => figure(p, name);
  return `${sent} ${n("sent")} · ${delivered} ${n("delivered")} · ${failed} ${n("failed")} / ${total} ${recipients(p)}`;
}

function safetyTotals(safety) {
  const sum = (name) => (safety?.by_district ?? []).reduce((n, d) => n + (d[name] ?? 0), 0);
  return { evacuated: sum("evacuated"), safe_at_home: sum("safe_at_home"), need_help: sum("need_help") };
}

function safetyText(counts) {
  return [
    `${gettext("避難済み")} ${counts.evacuated ?? 0}`,
    `${gettext("自宅で無事")} ${counts.safe_at_home ?? 0}`,
    `${gettext("要救助")} ${counts.need_help ?? 0}`,
  ].join(" · ");
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
    drill: el("span", { class: "badge drill" }, gettext("訓練")),
    status: el("span", { class: "delivery-status" }),
    bar: el("div", { class: "progress", role: "progressbar", "aria-valuemin": 0 }),
    segments: { delivered: segment("delivered"), sent: segment("sent"), failed: segment("failed") },
    figures: el("p", { class: "delivery-figures" }),
    console: el("p", { class: "delivery-console warn" }),
    safety: el("p", { class: "safety-figures" }),
    button: el("button", { type: "button", class: "link", "aria-pressed": "false" }, gettext("配信状況を地図に表示")),
  };
  parts.bar.append(parts.segments.delivered, parts.segments.sent, parts.segments.failed);
  parts.button.addEventListener("click", () => selectReach(entry.id));
  const li = el(
    "li",
    { "data-alert": entry.id },
    el("div", { class: "delivery-head" }, parts.title, " ", parts.drill, " ", parts.status),
    parts.bar,
    parts.figures,
    parts.console,
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
  const done = figure(p, "sent") + figure(p, "delivered") + figure(p, "failed");
  const selected = entry.id === state.reachAlertId;
  parts.title.textContent = alertName(entry);
  parts.drill.hidden = !entry.drill;
  parts.status.textContent = p?.finished ? gettext("完了") : gettext("送信中");
  parts.bar.setAttribute("aria-label", `${gettext("警報の配信")} ${alertName(entry)}`);
  parts.bar.setAttribute("aria-valuemax", String(Math.max(total, 1)));
  parts.bar.setAttribute("aria-valuenow", String(done));
  parts.bar.setAttribute("aria-valuetext", progressText(p));
  for (const [name, segment] of Object.entries(parts.segments)) {
    segment.style.width = `${total ? (100 * figure(p, name)) / total : 0}%`;
  }
  parts.figures.textContent = progressText(p);
  // Deliveries the console took were never sent to anyone (no provider credentials).
  parts.console.hidden = !figure(p, "console");
  parts.console.textContent = `${gettext("コンソール配信（実際には送信されません）")}: ${figure(p, "console")}`;
  parts.safety.hidden = !entry.asks_safety;
  parts.safety.textContent = safetyText(safetyTotals(entry.safety));
  parts.button.setAttribute("aria-label", `${gettext("配信状況を地図に表示")}: ${alertName(entry)}`);
  parts.button.setAttribute("aria-pressed", String(selected));
  li.classList.toggle("selected", selected);
  return li;
}

/** Alerts still going out under 配信中; those whose sending has finished (kept while
 * their safety check takes answers) move to a list of their own, folded away. */
export function renderDeliveries() {
  const live = document.getElementById("alert-deliveries");
  const done = document.getElementById("alert-deliveries-done");
  const newestFirst = [...state.deliveries.values()].sort((a, b) => b.id - a.id);
  const finished = (entry) => Boolean(entry.progress?.finished) || entry.status === "sent" || entry.status === "cancelled";
  const lists = [
    [live, newestFirst.filter((e) => !finished(e))],
    [done, newestFirst.filter(finished)],
  ];
  for (const [list, entries] of lists) {
    if (!list) continue;
    // Appending an item already in a list moves it: the order follows, focus stays.
    entries.forEach((entry, i) => {
      const li = updateDeliveryItem(entry);
      if (list.children[i] !== li) list.insertBefore(li, list.children[i] ?? null);
    });
    while (list.children.length > entries.length) list.lastElementChild.remove();
  }
  if (!live.children.length) live.append(el("li", { class: "none" }, gettext("配信中の避難情報はありません")));
  const count = document.getElementById("finished-count");
  if (count) count.textContent = String(lists[1][1].length);
}

function districtName(id) {
  return snapshot.districts.features.find((f) => f.properties.id === id)?.properties.name ?? `#${id}`;
}

function reachCounts(districtId) {
  const entry = state.deliveries.get(state.reachAlertId);
  const find = (figures) => figures?.by_district?.find((d) => d.district_id === districtId) ?? null;
  return { entry, progress: find(entry?.progress), safety: find(entry?.safety) };
}

function reachStyle(feature) {
  const { progress } = reachCounts(feature.properties.id);
  const total = recipients(progress);
  if (!total) {
    return { color: "#555", weight: 1, dashArray: "2 4", fillColor: NO_RECIPIENTS, fillOpacity: 0.2 };
  }
  const band = reachBand(figure(progress, "reached") / total);
  return { color: "#333", weight: 1, dashArray: null, fillColor: band.colour, fillOpacity: 0.55 };
}

/** A district's tooltip on the reach map, built as nodes (Leaflet would insert a string
 * as markup): its share reached and its safety answers for the chosen alert. */
function reachTooltip(feature) {
  const { entry, progress, safety } = reachCounts(feature.properties.id);
  const total = recipients(progress);
  const reached = figure(progress, "reached");
  const share = total
    ? `${gettext("到達率")}: ${Math.floor((100 * reached) / total)}% (${reached}/${total})`
    : gettext("受信者なし");
  return el(
    "div",
    { class: "reach-tip", "data-district": feature.properties.id },
    el("strong", {}, feature.properties.name),
    entry ? el("p", {}, alertName(entry)) : null,
    el("p", { class: "share" }, share),
    entry?.asks_safety ? el("p", { class: "safety" }, safetyText(safety ?? {})) : null,
  );
}

export function reachLayer() {
  return L.geoJSON(snapshot.districts, {
    style: reachStyle,
    onEachFeature: (feature, layer) => layer.bindTooltip(() => reachTooltip(feature), { sticky: true }),
  });
}

function restyleReach() {
  state.layers.reach?.eachLayer((layer) => {
    layer.setStyle(reachStyle(layer.feature));
    if (layer.isTooltipOpen()) layer.getTooltip().update();
  });
  renderLegend();
}

export function renderLegend() {
  const node = state.reachLegend?.getContainer();
  if (!node) return;
  const entry = state.deliveries.get(state.reachAlertId);
  const swatch = (colour) => {
    const box = el("span", { class: "swatch", "aria-hidden": "true" });
    box.style.background = colour;
    return box;
  };
  node.replaceChildren(
    el("strong", {}, gettext("到達率")),
    entry ? el("p", { class: "reach-alert" }, alertName(entry)) : null,
    el("p", { class: "reach-note" }, gettext("到達 = 配信済み + LINE が受け付けた分（LINE は配信を報告しません）")),
    el(
      "ul",
      {},
      ...REACH_BANDS.map((b) => el("li", {}, swatch(b.colour), b.label)),
      el("li", {}, swatch(NO_RECIPIENTS), gettext("受信者なし")),
    ),
  );
}

export function reachLegendControl() {
  const control = L.control({ position: "bottomleft" });
  control.onAdd = () => {
    const node = el("div", { class: "reach-legend", role: "group", "aria-label": gettext("配信状況（地区別）") });
    L.DomEvent.disableClickPropagation(node);
    return node;
  };
  return control;
}

/** Colour the reach map by this alert and list who asked it for help. */
export function selectReach(alertId) {
  const { map, layers } = state;
  state.reachAlertId = alertId;
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
      : el("button", { type: "button", class: "link" }, gettext("地図で見る"));
  show?.addEventListener("click", () => state.map.setView([row.home_lat, row.home_lon], 17, { animate: false }));
  return el(
    "li",
    { "data-subscriber": row.subscriber_id },
    el("time", { datetime: row.answered_at }, answeredAt(row.answered_at)),
    " ",
    el("span", { class: "contact" }, row.phone ?? (row.has_line ? "LINE" : "—")),
    row.phone && row.has_line ? " / LINE" : null,
    ` · ${gettext("言語")} ${row.language}`,
    where ? ` · ${gettext("地区")} ${where}` : null,
    show,
  );
}

/** The people who answered "need help" to the chosen alert, from the staff-only API: they
 * are personal data, so they never travel in events and are never logged. */
export async function refreshNeedHelp() {
  const list = document.getElementById("need-help-list");
  const caption = document.getElementById("need-help-alert");
  const entry = state.deliveries.get(state.reachAlertId);
  const request = ++needHelp.request;
  if (!entry?.asks_safety) {
    caption.textContent = entry
      ? `${alertName(entry)}: ${gettext("この避難情報は安否確認を求めていません")}`
      : gettext("安否確認を求めた避難情報はありません");
    list.replaceChildren();
    return;
  }
  caption.textContent = alertName(entry);
  try {
    const rows = await api("GET", `/api/v1/alerts/${entry.id}/need-help`);
    if (request !== needHelp.request) return; // a newer answer is on its way
    list.replaceChildren(...rows.map(needHelpItem));
    if (!rows.length) list.append(el("li", { class: "none" }, gettext("要救助の回答はありません")));
    list.dataset.alert = String(entry.id);
  } catch (error) {
    if (request === needHelp.request) {
      caption.textContent = `${gettext("要救助の一覧を読み込めませんでした")}: ${error.message}`;
    }
  }
}

function applyProgress(p, eventId) {
  const entry = deliveryFor(p.alert_id, p.drill);
  if (eventId <= entry.progressEvent) return; // older figures than those shown
  entry.progressEvent = eventId;
  entry.progress = p;
  entry.drill = p.drill;
  if (state.reachAlertId === null) state.reachAlertId = p.alert_id;
  renderDeliveries();
  if (p.alert_id === state.reachAlertId) restyleReach();
}

function applySafety(p, eventId) {
  const entry = deliveryFor(p.alert_id, p.drill);
  if (eventId <= entry.safetyEvent) return;
  entry.safetyEvent = eventId;
  entry.safety = p;
  entry.asks_safety = true;
  if (state.reachAlertId === null) state.reachAlertId = p.alert_id;
  renderDeliveries();
  if (p.alert_id === state.reachAlertId) {
    restyleReach();
    refreshNeedHelp();
  }
}

/** An alert's figures follow its newest event, whatever order events arrive in: events
 * committed together are broadcast concurrently and may overtake one another, and the
 * final figures of a fan-out are committed with its `alert.sent`. */
export function applyFigures(event) {
  if (event.kind === "alert.delivery_progress") applyProgress(event.payload, event.id);
  if (event.kind === "alert.safety_answers") applySafety(event.payload, event.id);
}

export function applyAlertToDeliveries(p) {
  const entry = state.deliveries.get(p.id) ?? (p.status === "sending" ? deliveryFor(p.id, p.drill) : null);
  if (!entry) return;
  Object.assign(entry, { kind: p.kind, status: p.status, drill: p.drill, title: p.title });
  renderDeliveries();
  renderLegend();
}
