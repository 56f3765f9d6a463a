// The JMA warnings panel of /ops/: what JMA says is in force for the city now (kind, level
// as 警戒レベル相当, since when, what JMA expects next) and the telegrams behind it, live from
// the `jma.warnings` and `jma.telegram` events. JMA's words are shown as JMA wrote them
// (気象業務法): nothing here rewords or predicts.
import { api, el, localTime as time } from "../dom.js";
import { gettext } from "../i18n.js";
import { snapshot } from "./state.js";

const TIMELINE_MAX = 20;

export const warnings = {
  inForce: snapshot.warnings ?? [],
  timeline: new Map((snapshot.warning_timeline ?? []).map((t) => [t.id, t])),
  suggestions: new Map((snapshot.suggestions ?? []).map((s) => [s.id, s])),
  callUps: new Map((snapshot.call_ups ?? []).map((c) => [c.id, c])),
};
const API = "/api/v1/";
const ANSWERS = {
  coming: gettext("参集する"),
  arrived: gettext("到着"),
  cannot: gettext("参集できない"),
  waiting: gettext("未回答"),
};

function warningItem(w) {
  const level = w.level_words || (w.intensity ? w.name : "");
  return el(
    "li",
    { "data-warning": w.id, "data-level": w.level ?? "", "data-family": w.family },
    level ? el("span", { class: `level level-${w.level ?? "quake"}` }, level) : null,
    " ",
    // An earthquake's badge is its intensity (震度２); a warning's is its level.
    el("strong", {}, w.intensity ? w.area_name : w.name),
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

// Acting on a suggestion: each button is one API call; the event that follows redraws it.
async function act(button, path, body) {
  button.disabled = true;
  const status = button.closest("li").querySelector(".act-status");
  try {
    const updated = await api("POST", `${API}suggestions/${path}`, body);
    warnings.suggestions.set(updated.id, updated);
    renderWarnings();
  } catch (error) {
    status.textContent = error.message;
    button.disabled = false;
  }
}

function actionButton(label, path, body) {
  const button = el("button", { type: "button" }, label);
  button.addEventListener("click", () => act(button, path, body));
  return button;
}

function suggestionItem(s) {
  const open = s.status === "open";
  const parts = [];
  if (s.staffing_label) parts.push(s.staffing_label);
  if (s.shelters.length) parts.push(`${gettext("避難所の開設準備")} ${s.shelters.length}`);
  if (s.alert) parts.push(`${gettext("避難情報の下書き")}「${s.alert.title}」`);
  if (s.incident) parts.push(`${gettext("災害")}「${s.incident.name}」`);
  const buttons = [];
  if (open && s.call_up && !s.called_up_at) buttons.push(actionButton(gettext("職員を参集"), `${s.id}/call-up`));
  if (open && s.shelters.length && !s.shelters_opened_at)
    buttons.push(actionButton(gettext("避難所を開設準備に"), `${s.id}/open-shelters`));
  if (open && s.alert && !s.alert.adopted && s.alert.status === "draft")
    buttons.push(actionButton(gettext("下書きを引き受ける"), `${s.id}/adopt`, { version: s.alert.version }));
  if (open) buttons.push(actionButton(gettext("見送る"), `${s.id}/dismiss`));
  return el(
    "li",
    { "data-suggestion": s.id, "data-status": s.status },
    el("strong", {}, s.rule || gettext("提案")),
    " ",
    el("span", { class: "hint" }, snapshot.suggestion_statuses?.[s.status] ?? s.status),
    el("p", { class: "jma-words" }, `${gettext("きっかけ")}: ${s.summary}`),
    el("p", {}, parts.join(" · ")),
    s.alert?.adopted && s.alert.status === "draft"
      ? el("p", { class: "hint" }, el("a", { href: "/ops/alerts/" }, gettext("別の職員が承認します（避難情報の作成と承認）")))
      : null,
    s.reason ? el("p", { class: "hint" }, s.reason) : null,
    buttons.length ? el("div", { class: "actions" }, ...buttons) : null,
    el("p", { class: "act-status", role: "status" }),
  );
}

function callUpItem(c) {
  const counts = Object.entries(ANSWERS).map(([k, label]) => `${label} ${c.counts[k] ?? 0}`);
  return el(
    "li",
    { "data-call-up": c.id },
    el("a", { href: "/ops/callup/" }, `${c.staffing_label} #${c.id}`),
    " ",
    counts.join(" · "),
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
  const suggestions = [...warnings.suggestions.values()].sort((a, b) => b.id - a.id);
  document.getElementById("suggestions").replaceChildren(...suggestions.map(suggestionItem));
  document.getElementById("suggestions-section").hidden = !suggestions.length;
  const callUps = [...warnings.callUps.values()].sort((a, b) => b.id - a.id).slice(0, 3);
  document.getElementById("call-ups").replaceChildren(...callUps.map(callUpItem));
  document.getElementById("call-ups-section").hidden = !callUps.length;
}

/** Apply one event if it is a warnings event (every event sets a value: safe twice). */
export function applyWarnings(event) {
  if (event.kind === "jma.warnings") warnings.inForce = event.payload.warnings;
  else if (event.kind === "jma.telegram") warnings.timeline.set(event.payload.id, event.payload);
  else if (event.kind === "suggestion.changed") warnings.suggestions.set(event.payload.id, event.payload);
  else if (event.kind === "callup.changed") warnings.callUps.set(event.payload.id, event.payload);
  else return false;
  renderWarnings();
  return true;
}
