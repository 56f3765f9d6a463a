// The feed of latest events in the side panel, newest first: each event in words.
import { el } from "../dom.js";
import { gettext } from "../i18n.js";
import { openReport } from "./reports.js";
import { snapshot, state } from "./state.js";

const FEED_MAX = 50;

// What each kind of event is called in the feed; other kinds show as they are named.
const KINDS = {
  "alert.drafted": gettext("避難情報の下書き"),
  "alert.sent_back": gettext("避難情報の差し戻し"),
  "alert.approved": gettext("避難情報の承認"),
  "alert.sending": gettext("避難情報の送信"),
  "alert.sent": gettext("避難情報の送信完了"),
  "alert.cancelled": gettext("避難情報の取消"),
  "shelter.headcount": gettext("避難者数"),
  "shelter.status_changed": gettext("避難所の状態"),
  "shelter.corrected": gettext("避難所の情報の訂正"),
  "stock.shortages": gettext("物資の不足"),
  "stock.moved": gettext("在庫"),
  "stock.expiring": gettext("期限が近い在庫"),
  "report.created": gettext("新しい被害報告"),
  "report.updated": gettext("被害報告の更新"),
  "alert.delivery_progress": gettext("警報の配信"),
  "alert.safety_answers": gettext("安否の回答"),
  "incident.declared": gettext("災害の宣言"),
  "incident.updated": gettext("災害の更新"),
  "jma.telegram": gettext("気象庁の電文"),
  "jma.warnings": gettext("気象庁の警報・注意報"),
  "suggestion.changed": gettext("提案"),
  "callup.changed": gettext("職員参集"),
  "supply_request.created": gettext("物資要請"),
  "supply_request.approved": gettext("物資要請の承認"),
  "supply_request.rejected": gettext("物資要請の却下"),
  "supply_request.cancelled": gettext("物資要請の取下げ"),
  "supply_request.fulfilled": gettext("物資要請の充足"),
  "transfer.planned": gettext("移送の計画"),
  "transfer.dispatched": gettext("移送の発送"),
  "transfer.received": gettext("移送の受領"),
  "transfer.cancelled": gettext("移送の取消"),
};

function describe(event) {
  const p = event.payload;
  const drill = (yes) => (yes ? ` (${gettext("訓練")})` : "");
  const shelterName = (id) => state.shelters.get(id)?.name ?? `#${id}`;
  switch (event.kind) {
    case "shelter.headcount":
      return `${shelterName(p.shelter_id)}: ${gettext("避難者")} ${p.total}`;
    case "shelter.status_changed":
      return `${p.name}: ${snapshot.statuses[p.status] ?? p.status}`;
    case "stock.shortages":
      return `${gettext("不足している品目")}: ${p.shortages.length}`;
    case "stock.moved":
      return `${snapshot.depots[p.depot_id]?.name ?? p.depot_id}: ${snapshot.items[p.item_id] ?? p.item_id} ${p.quantity > 0 ? "+" : ""}${p.quantity}`;
    case "alert.delivery_progress": {
      const total = p.queued + p.sent + p.delivered + p.failed;
      return `#${p.alert_id}${drill(p.drill)} ${gettext("配信済み")} ${p.delivered}/${total} · ${gettext("失敗")} ${p.failed}`;
    }
    case "alert.safety_answers": {
      const help = p.by_district.reduce((n, d) => n + d.need_help, 0);
      return `#${p.alert_id}${drill(p.drill)} ${gettext("要救助")} ${help}`;
    }
    case "callup.changed":
      return p.staffing_label;
    case "suggestion.changed":
      return p.summary;
    case "jma.warnings":
      return `${gettext("発表中")} ${p.warnings.length}`;
    case "shelter.corrected":
      return shelterName(p.shelter_id);
    case "stock.expiring":
      return `${gettext("期限が近いロット")}: ${p.lots.length}`;
    case "alert.drafted":
    case "alert.sent_back":
    case "alert.approved":
    case "alert.sending":
    case "alert.sent":
    case "alert.cancelled":
      return `#${p.id}${drill(p.drill)} ${p.title}`;
    case "incident.declared":
    case "incident.updated":
      return `${p.name} (${p.phase})${drill(p.is_drill)}`;
    default:
      if (event.kind.startsWith("transfer.") || event.kind.startsWith("supply_request.")) {
        // The kind says what happened; the place says where (never the raw status code).
        return `#${p.transfer_id ?? p.request_id} ${snapshot.depots[p.to_depot_id ?? p.depot_id]?.name ?? ""}`;
      }
      if (event.kind.startsWith("report.")) {
        const category = snapshot.report_categories[p.category] ?? p.category;
        return `#${p.id} ${category} ${gettext("深刻度")} ${p.severity} ${snapshot.report_statuses[p.status] ?? p.status}`;
      }
      return p.name ?? p.title ?? "";
  }
}

function reportButton(id) {
  const button = el("button", { type: "button", class: "link" }, gettext("地図で見る"));
  button.setAttribute("aria-label", `${gettext("地図で見る")} #${id}`);
  button.addEventListener("click", () => openReport(id));
  return button;
}

export function addToFeed(event) {
  const feed = document.getElementById("feed");
  const at = new Date(event.at).toLocaleTimeString(document.documentElement.lang, {
    hour: "2-digit",
    minute: "2-digit",
    second: "2-digit",
    timeZone: "Asia/Tokyo",
  });
  feed.prepend(
    el(
      "li",
      { "data-event": event.id, "data-kind": event.kind },
      el("time", { datetime: event.at }, at),
      " ",
      el("span", { class: "kind" }, KINDS[event.kind] ?? event.kind),
      " ",
      describe(event),
      event.kind.startsWith("report.") ? reportButton(event.payload.id) : null,
    ),
  );
  while (feed.children.length > FEED_MAX) feed.lastElementChild.remove();
}
