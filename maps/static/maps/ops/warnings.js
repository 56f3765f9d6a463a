// The JMA warnings panel of /ops/: what JMA says is in force for the city now (kind, level
// as 警戒レベル相当, since when, what JMA expects next) and the telegrams behind it, live from
// the `jma.warnings` and `jma.telegram` events. JMA's words are shown as JMA wrote them
// (気象業務法): nothing here rewords or predicts.
import { el } from "../dom.js";
import { gettext } from "../i18n.js";
import { snapshot } from "./state.js";

const TIMELINE_MAX = 20;

export const warnings = {
  inForce: snapshot.warnings ?? [],
  timeline: new Map((snapshot.warning_timeline ?? []).map((t) => [t.id, t])),
};

function time(iso) {
  if (!iso) return "";
  return new Date(iso).toLocaleString(document.documentElement.lang, {
    month: "numeric",
    day: "numeric",
    hour: "2-digit",
    minute: "2-digit",
    timeZone: "Asia/Tokyo",
  });
}

function warningItem(w) {
  const level = w.level_words || (w.intensity ? w.name : "");
  return el(
    "li",
    { "data-warning": w.id, "data-level": w.level ?? "", "data-family": w.family },
    level ? el("span", { class: `level level-${w.level ?? "quake"}` }, level) : null,
    " ",
    el("strong", {}, w.intensity ? `${w.area_name} ${w.name}` : w.name),
    w.intensity ? null : ` ${w.area_name}`,
    el("br"),
    el("span", { class: "hint" }, `${gettext("発表")} ${time(w.since)}`),
    w.text ? el("p", { class: "jma-words" }, w.text) : null,
    ...w.next_kinds.map((n) => el("p", { class: "jma-words next" }, `${gettext("今後")}: ${n.sentence || n.name}`)),
  );
}

function timelineItem(t) {
  const flags = [t.info_type !== "発表" ? t.info_type : "", t.cancelled ? gettext("取り消し済み") : ""];
  return el(
    "li",
    { "data-telegram": t.id, "data-outcome": t.outcome },
    el("time", { datetime: t.report_at ?? t.received_at }, time(t.report_at ?? t.received_at)),
    " ",
    t.outcome === "refused" ? gettext("受け付けなかった電文") : t.title,
    flags.filter(Boolean).length ? ` (${flags.filter(Boolean).join("・")})` : "",
  );
}

export function renderWarnings() {
  const list = document.getElementById("warnings-in-force");
  if (!list) return;
  list.replaceChildren(...warnings.inForce.map(warningItem));
  if (!warnings.inForce.length) list.append(el("li", { class: "hint" }, gettext("発表中の警報・注意報はありません")));
  const timeline = document.getElementById("warning-timeline");
  const newest = [...warnings.timeline.values()].sort((a, b) => b.id - a.id).slice(0, TIMELINE_MAX);
  timeline.replaceChildren(...newest.map(timelineItem));
}

/** Apply one event if it is a warnings event (every event sets a value: safe twice). */
export function applyWarnings(event) {
  if (event.kind === "jma.warnings") warnings.inForce = event.payload.warnings;
  else if (event.kind === "jma.telegram") warnings.timeline.set(event.payload.id, event.payload);
  else return false;
  renderWarnings();
  return true;
}
