// Drafting, reviewing and approving alerts (/ops/alerts/). Everything goes through the
// alerts API; every value from it goes into the page as text (el() / textContent), never
// as markup: titles and bodies are typed by people and must not run.
//
// Two people agree on the text (DESIGN decision 11): whoever made a version of a draft
// edits it in the form and is not offered approval (a drill excepted); anyone else sees it
// read-only, with what changed since the version before highlighted, and approves the
// version shown (its number goes with the approval) or sends it back with a comment.
import { api, el } from "../maps/dom.js";
import { gettext, interpolate } from "../maps/i18n.js";

const page = document.getElementById("alerts-page");
const API = page.dataset.apiUrl;
const labels = JSON.parse(document.getElementById("alerts-labels").textContent);
const form = document.getElementById("alert-form");
const detail = document.getElementById("alert-detail");
const me = page.dataset.user;

let selected = null; // the alert shown in the detail panel
let editing = null; // the id of the draft the form edits (null: a new draft)
let map = null;
let points = []; // the polygon being drawn, as L.LatLng
let finished = false;
let drawn = null; // the drawn polygon's layer
let shownArea = null; // the selected alert's area on the map

const label = (group, value) => labels[group]?.[value] ?? value;

// The list ----------------------------------------------------------------------------------

async function loadList() {
  const status = document.getElementById("list-status");
  try {
    const data = await api("GET", `${API}alerts?limit=100`);
    const list = document.getElementById("alert-list");
    list.replaceChildren(
      ...data.items.map((alert) =>
        el(
          "li",
          { "data-alert": alert.id, class: alert.id === selected?.id ? "selected" : null },
          el(
            "button",
            { type: "button", class: "alert-item", "aria-pressed": alert.id === selected?.id ? "true" : "false" },
            el("span", { class: `status status-${alert.status}` }, label("statuses", alert.status)),
            " ",
            el("span", { class: "kind" }, label("kinds", alert.kind)),
            alert.is_drill ? el("span", { class: "drill" }, gettext("訓練")) : null,
            " ",
            el("span", { class: "title" }, alert.title_ja),
            " ",
            el("span", { class: "id" }, `#${alert.id}`),
          ),
        ),
      ),
    );
    for (const button of list.querySelectorAll("button.alert-item")) {
      button.addEventListener("click", () => select(Number(button.closest("li").dataset.alert)));
    }
    status.textContent = data.items.length ? "" : gettext("避難情報はまだありません");
  } catch (error) {
    status.textContent = `${gettext("読み込めませんでした")}: ${error.message}`;
  }
}

// The selected alert ------------------------------------------------------------------------

function fact(name, value) {
  return el("div", {}, el("dt", {}, name), el("dd", {}, value));
}

function renderFacts(alert) {
  document.getElementById("detail-heading").replaceChildren(
    ...el(
      "span",
      {},
      `#${alert.id} `,
      alert.is_drill ? el("span", { class: "drill" }, gettext("訓練")) : null,
      " ",
      el("span", { class: "title" }, alert.title_ja),
    ).childNodes,
  );
  const target = [];
  if (alert.whole_city) target.push(gettext("市内全域"));
  for (const id of alert.district_ids) target.push(districtNames.get(id) ?? `#${id}`);
  if (alert.area) target.push(gettext("描いた区域"));
  document
    .getElementById("detail-facts")
    .replaceChildren(
      fact(gettext("状態"), label("statuses", alert.status)),
      fact(gettext("版"), String(alert.version)),
      fact(gettext("種別"), label("kinds", alert.kind)),
      fact(gettext("対象"), target.join("、")),
      fact(gettext("作成者"), alert.drafted_by ?? "—"),
      fact(gettext("承認者"), alert.approved_by ?? "—"),
    );
}

// What the recipients and the suggested shelters of the alert shown are, for the warnings.
const shownFigures = { recipients: null, shelters: null };

async function renderRecipients(alert) {
  const counts = await api("GET", `${API}alerts/${alert.id}/recipients`);
  shownFigures.recipients = counts;
  document
    .getElementById("recipients")
    .replaceChildren(
      el("div", {}, el("dt", {}, gettext("登録者")), el("dd", { id: "recipients-subscribers" }, counts.subscribers)),
      el("div", {}, el("dt", {}, "LINE"), el("dd", { id: "recipients-line" }, counts.line)),
      el("div", {}, el("dt", {}, "SMS"), el("dd", { id: "recipients-sms" }, counts.sms)),
      // 対象人数・対象世帯数, as every 避難指示 announcement states them, and how counted.
      el("div", {}, el("dt", {}, gettext("対象人数")), el("dd", { id: "recipients-population" }, counts.population.toLocaleString("ja-JP"))),
      el("div", {}, el("dt", {}, gettext("対象世帯数")), el("dd", { id: "recipients-households" }, counts.households.toLocaleString("ja-JP"))),
      el("div", { class: "method" }, el("dt", {}, gettext("数え方")), el("dd", { id: "recipients-method" }, counts.population_method,
        counts.districts_partial ? interpolate(gettext("（一部だけ含まれる地区: %(n)s）"), { n: counts.districts_partial }) : "")),
    );
}

// Why a preview row needs a look before approval (the API's warning codes).
const PREVIEW_WARNINGS = {
  japanese_staff_text: gettext("職員の文は日本語のまま付きます（この言語の件名・本文がありません）"),
  unreviewed_wording: gettext("この言語の定型文はまだ確認されていません"),
  no_wording: gettext("この言語の定型文がなく、日本語で届きます"),
};

async function renderPreviews(alert) {
  const previews = await api("GET", `${API}alerts/${alert.id}/messages`);
  // Languages somebody reads first: those with recipients, and Japanese always.
  const shown = previews.filter((p) => p.subscribers > 0 || p.language === "ja");
  const rows = shown.map((p) => {
    const tooLong = p.sms_limit !== null && p.characters > p.sms_limit;
    const warnings = p.warnings.map((w) => el("li", { "data-warning": w }, PREVIEW_WARNINGS[w] ?? w));
    return el(
      "tr",
      { "data-language": p.language, "data-channel": p.channel, class: p.warnings.length ? "warned" : null },
      el(
        "th",
        { scope: "row" },
        label("languages", p.language),
        el("br"),
        el("small", {}, interpolate(gettext("%(n)s 人"), { n: p.subscribers })),
      ),
      el("td", {}, label("channels", p.channel)),
      el(
        "td",
        {},
        el("small", { class: "source" }, p.source === "staff" ? gettext("職員の入力") : gettext("定型文")),
        el("pre", { class: "message", lang: p.language === "ja-easy" ? "ja" : p.language }, p.text),
        warnings.length ? el("ul", { class: "preview-warnings" }, warnings) : null,
      ),
      el(
        "td",
        { class: tooLong ? "too-long" : null },
        p.segments === null
          ? String(p.characters)
          : `${p.characters} (${p.encoding}) · ${interpolate(gettext("%(n)s / %(max)s 通"), { n: p.segments, max: p.max_segments })}`,
        tooLong ? el("span", {}, ` ${gettext("SMS に収まりません")}`) : null,
      ),
    );
  });
  document.getElementById("previews").replaceChildren(
    el(
      "table",
      { class: "data previews" },
      el(
        "thead",
        {},
        el(
          "tr",
          {},
          el("th", { scope: "col" }, gettext("言語（受信者）")),
          el("th", { scope: "col" }, gettext("配信経路")),
          el("th", { scope: "col" }, gettext("文面")),
          el("th", { scope: "col" }, gettext("文字数")),
        ),
      ),
      el("tbody", {}, rows),
    ),
  );
}

async function renderShelters(alert) {
  const shelters = await api("GET", `${API}alerts/${alert.id}/shelters`);
  shownFigures.shelters = shelters;
  const body = document.querySelector("#shelters tbody");
  body.replaceChildren(
    ...(shelters.length
      ? shelters.map((s) =>
          el(
            "tr",
            { "data-shelter": s.id },
            el("th", { scope: "row" }, s.name),
            el("td", { class: s.free > 0 ? null : "warn" }, `${s.free} / ${s.capacity}`, s.free > 0 ? null : ` ${gettext("空きなし")}`),
            el("td", {}, s.days_of_supply === null ? "—" : s.days_of_supply.toFixed(1)),
          ),
        )
      : [el("tr", {}, el("td", { colspan: 3 }, gettext("該当する避難所はありません")))]),
  );
}

/** Said before anyone approves: an alert that reaches nobody, and shelters it points
 * people to that have no room for them. */
function renderWarnings(alert) {
  const counts = shownFigures.recipients;
  const shelters = shownFigures.shelters ?? [];
  const who = document.getElementById("recipients-warning");
  const nobody = alert.status === "draft" && counts && counts.subscribers === 0;
  who.hidden = !nobody;
  who.textContent = nobody ? gettext("この対象には受信登録者がいません。送信しても誰にも届きません。対象を確かめてください。") : "";
  const where = document.getElementById("shelters-warning");
  const full = shelters.filter((s) => s.free <= 0);
  const free = shelters.reduce((n, s) => n + Math.max(0, s.free), 0);
  const people = counts?.population ?? 0;
  const lines = [];
  if (full.length) {
    lines.push(interpolate(gettext("空きのない避難所が案内されます: %(names)s"), { names: full.map((s) => s.name).join(gettext("、")) }));
  }
  if (shelters.length && people > free) {
    lines.push(
      interpolate(gettext("案内する避難所の空きは合計 %(free)s 人分で、対象人数 %(people)s 人に足りません。"), {
        free: free.toLocaleString(),
        people: people.toLocaleString(),
      }),
    );
  }
  if (!shelters.length && alert.kind?.startsWith("evacuation")) lines.push(gettext("案内できる開設中の避難所がありません。"));
  where.hidden = !lines.length || alert.status !== "draft";
  where.textContent = lines.join(" ");
}

/** Progress on this page too (not only on the operations map), with the way to who was
 * and was not reached. */
async function renderDelivery(alert) {
  const box = document.getElementById("delivery");
  box.hidden = !["approved", "sending", "sent"].includes(alert.status);
  if (box.hidden) return;
  document.getElementById("delivery-link").href = `/ops/alerts/${alert.id}/deliveries/`;
  document.getElementById("reach-link").href = `/ops/?reach=${alert.id}`;
  const p = await api("GET", `${API}alerts/${alert.id}/delivery`);
  document.getElementById("delivery-figures").textContent = interpolate(
    gettext("到達 %(reached)s · 送信待ち %(queued)s · 送信済み %(sent)s · 配信済み %(delivered)s · 失敗 %(failed)s"),
    p,
  );
}

/** A button shows it is working (and takes no second press) until its request is answered. */
async function busy(button, work) {
  if (!button || button.getAttribute("aria-busy") === "true") return work();
  button.setAttribute("aria-busy", "true");
  button.classList.add("busy");
  button.disabled = true;
  try {
    return await work();
  } finally {
    button.removeAttribute("aria-busy");
    button.classList.remove("busy");
    button.disabled = false;
  }
}

const mine = (alert) => alert.editors.includes(me);

function renderActions(alert) {
  const draft = alert.status === "draft";
  const approve = document.getElementById("approve");
  approve.hidden = !alert.may_approve;
  approve.dataset.version = String(alert.version);
  document.getElementById("approve-version").textContent = interpolate(gettext("（版 %(version)s）"), {
    version: alert.version,
  });
  document.getElementById("approve-confirm").hidden = true;
  document.getElementById("send-back").hidden = !draft || mine(alert);
  const sendBack = document.getElementById("send-back-form");
  sendBack.hidden = true;
  sendBack.reset();
  document.getElementById("error-comment").textContent = "";
  document.getElementById("cancel-draft").hidden = !draft;
  document.getElementById("followup-form").hidden = alert.status !== "sent" || alert.msg_type === "cancel";
  const note = document.getElementById("review-note");
  note.hidden = !(draft && mine(alert) && !alert.may_approve);
  note.textContent = gettext("この下書きはあなたが作成・変更したため、承認できません。別の職員が内容を確認して承認します。");
}

function when(at) {
  return new Date(at).toLocaleString(document.documentElement.lang, { dateStyle: "short", timeStyle: "short" });
}

function renderSendBacks(alert) {
  const section = document.getElementById("send-backs");
  section.hidden = alert.send_backs.length === 0;
  section.querySelector("ul").replaceChildren(
    ...alert.send_backs.map((s) =>
      el(
        "li",
        { "data-version": s.version },
        el("span", { class: "meta" }, `${gettext("版")} ${s.version} · ${s.by ?? "—"} · ${when(s.at)}`),
        el("p", { class: "comment" }, s.comment),
      ),
    ),
  );
}

// The read-only view of what a reviewer approves -------------------------------------------

const TEXT = /^(title|body)_/;

function shown(field, value) {
  // One reviewed value in words (the API's content: codes, ids and GeoJSON).
  if (value === null || value === undefined || value === "") return "—";
  switch (field) {
    case "kind":
      return label("kinds", value);
    case "msg_type":
      return label("msg_types", value);
    case "hazard":
      return label("hazards", value);
    case "channels":
      return value.map((c) => label("channels", c)).join("、") || "—";
    case "district_ids":
      return value.map((id) => districtNames.get(id) ?? `#${id}`).join("、") || "—";
    case "area": {
      const rings = value.type === "MultiPolygon" ? value.coordinates.map((p) => p[0]) : [value.coordinates[0]];
      const vertices = rings.reduce((n, ring) => n + ring.length - 1, 0);
      return `${gettext("描いた区域")} (${gettext("頂点の数")}: ${vertices})`;
    }
    case "valid_minutes":
      return interpolate(gettext("%(minutes)s 分"), { minutes: value });
    case "references_id":
      return `#${value}`;
    default:
      if (typeof value === "boolean") return value ? gettext("はい") : gettext("いいえ");
      return String(value);
  }
}

function reviewRow(field, value, change) {
  const text = (v) => (TEXT.test(field) && v ? el("pre", { class: "message" }, v) : shown(field, v));
  return el(
    "tr",
    { "data-field": field, class: change ? "changed" : null },
    el(
      "th",
      { scope: "row" },
      label("fields", field),
      change ? el("span", { class: "changed-mark" }, gettext("変更あり")) : null,
    ),
    el(
      "td",
      {},
      text(value),
      change ? el("div", { class: "before" }, `${gettext("変更前")}: `, el("del", {}, text(change.before))) : null,
    ),
  );
}

async function renderReview(alert) {
  // Every reviewed field of the version shown (the alert as fetched: its `version`), the
  // ones that changed since the version before marked, with what they were.
  const section = document.getElementById("review");
  section.hidden = editing === alert.id;
  const history = await api("GET", `${API}alerts/${alert.id}/versions`);
  const shownVersion = history.find((v) => v.number === alert.version);
  const changes = new Map((shownVersion?.changes ?? []).map((c) => [c.field, c]));
  const rows = [];
  for (const field of Object.keys(labels.fields)) {
    const value = alert[field];
    const change = changes.get(field);
    if (value === undefined) continue; // not in the alert's answer (the incident)
    if (!change && (value === null || value === "") && field !== "title_ja" && field !== "body_ja") continue;
    if (!change && field === "msg_type" && value === "alert") continue;
    rows.push(reviewRow(field, value, change));
  }
  document.querySelector("#review-fields tbody").replaceChildren(...rows);
  section.dataset.version = String(alert.version);
  const made = shownVersion ? ` · ${shownVersion.made_by ?? "—"} · ${when(shownVersion.made_at)}` : "";
  const summary =
    history.length > 1 && shownVersion
      ? interpolate(gettext("前の版からの変更: %(count)s 項目"), { count: changes.size })
      : gettext("最初の版");
  document.getElementById("review-version").textContent = `${gettext("版")} ${alert.version}${made} — ${summary}`;
}

function showArea(alert) {
  if (!map) return;
  shownArea?.remove();
  shownArea = null;
  if (alert?.area && !(editing === alert.id)) {
    shownArea = L.geoJSON(alert.area, { style: { color: "#6a1b9a", weight: 2, fillOpacity: 0.1 }, interactive: false });
    shownArea.addTo(map);
  }
}

async function select(id) {
  const result = document.getElementById("action-result");
  result.textContent = "";
  try {
    selected = await api("GET", `${API}alerts/${id}`);
  } catch (error) {
    result.textContent = error.message;
    return;
  }
  detail.hidden = false;
  renderFacts(selected);
  renderActions(selected);
  renderSendBacks(selected);
  // A draft of one's own opens in the form for editing; a colleague's draft is shown
  // read-only for review. Looking at any other alert keeps what is being typed for a new
  // draft, and only leaves a draft that was open for editing.
  if (selected.status === "draft" && mine(selected)) editDraft(selected);
  else if (editing !== null) newDraft();
  showArea(selected);
  detail.dataset.ready = "false";
  loadList();
  try {
    await Promise.all([
      renderReview(selected),
      renderRecipients(selected),
      renderPreviews(selected),
      renderShelters(selected),
      renderDelivery(selected),
    ]);
    renderWarnings(selected);
  } catch (error) {
    result.textContent = `${gettext("読み込めませんでした")}: ${error.message}`;
  }
  detail.dataset.ready = "true";
  detail.dataset.alert = String(selected.id);
}

async function act(method, url, body, done) {
  const result = document.getElementById("action-result");
  result.textContent = "";
  const button = document.activeElement instanceof HTMLButtonElement ? document.activeElement : null;
  try {
    const alert = await busy(button, () => api(method, url, body));
    await select(alert.id);
    document.getElementById("action-result").textContent = done;
    return alert;
  } catch (error) {
    // The draft changed since it was shown: show it as it is now, and say what changed.
    if (error.data?.code === "version_changed") await select(selected.id);
    document.getElementById("action-result").textContent = error.message;
    return null;
  }
}

document.getElementById("approve").addEventListener("click", () => {
  document.getElementById("approve-confirm").hidden = false;
  document.getElementById("approve-yes").focus();
});
document.getElementById("approve-no").addEventListener("click", () => {
  document.getElementById("approve-confirm").hidden = true;
  document.getElementById("approve").focus();
});
document.getElementById("approve-yes").addEventListener("click", async () => {
  document.getElementById("approve-confirm").hidden = true;
  // The version shown is the version approved: the API refuses it if the draft has changed.
  const version = Number(document.getElementById("approve").dataset.version);
  await act("POST", `${API}alerts/${selected.id}/approve`, { version }, gettext("承認しました。送信します。"));
});
document.getElementById("send-back").addEventListener("click", () => {
  document.getElementById("send-back-form").hidden = false;
  document.getElementById("send-back-form").elements.comment.focus();
});
document.getElementById("send-back-no").addEventListener("click", () => {
  document.getElementById("send-back-form").hidden = true;
  document.getElementById("send-back").focus();
});
document.getElementById("send-back-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const comment = e.target.elements.comment;
  const error = document.getElementById("error-comment");
  error.textContent = comment.value.trim() ? "" : gettext("差し戻す理由を書いてください。");
  if (error.textContent) {
    comment.setAttribute("aria-invalid", "true");
    comment.focus();
    return;
  }
  comment.removeAttribute("aria-invalid");
  const version = Number(document.getElementById("approve").dataset.version);
  await act("POST", `${API}alerts/${selected.id}/send-back`, { version, comment: comment.value }, gettext("差し戻しました"));
});
document.getElementById("cancel-draft").addEventListener("click", () =>
  act("POST", `${API}alerts/${selected.id}/cancel`, undefined, gettext("取り消しました")),
);
document.getElementById("followup-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const data = new FormData(e.target);
  const body = Object.fromEntries(["msg_type", "title_ja", "body_ja"].map((n) => [n, data.get(n)]));
  const done = gettext("続報の下書きを作りました");
  if (await act("POST", `${API}alerts/${selected.id}/followups`, body, done)) e.target.reset();
});

// Drawing the area ----------------------------------------------------------------------------

function redraw() {
  drawn?.remove();
  drawn = null;
  if (map && points.length) {
    const style = { color: "#b00020", weight: 3, fillOpacity: finished ? 0.2 : 0.08, dashArray: finished ? null : "6 4" };
    drawn = (points.length < 3 ? L.polyline(points, style) : L.polygon(points, style)).addTo(map);
  }
  const status = document.getElementById("draw-status");
  status.textContent = points.length
    ? `${finished ? gettext("区域を確定しました") : gettext("描画中")} (${gettext("頂点の数")}: ${points.length})`
    : gettext("区域なし");
  form.dataset.points = String(points.length);
  form.dataset.finished = String(finished);
}

function addPoint(latlng) {
  if (finished) return;
  points.push(latlng);
  redraw();
}

function setPoints(area) {
  // A draft's area back as vertices: the outer ring of its (first) polygon, unclosed.
  points = [];
  finished = false;
  const coords = area?.type === "MultiPolygon" ? area.coordinates[0]?.[0] : area?.coordinates?.[0];
  if (coords?.length > 3) {
    points = coords.slice(0, -1).map(([lng, lat]) => L.latLng(lat, lng));
    finished = true;
  }
  redraw();
}

function areaGeoJSON() {
  if (points.length === 0) return null;
  const ring = points.map((p) => [p.lng, p.lat]);
  ring.push(ring[0]);
  return { type: "Polygon", coordinates: [ring] };
}

document.getElementById("draw-center").addEventListener("click", () => map && addPoint(map.getCenter()));
document.getElementById("draw-undo").addEventListener("click", () => {
  finished = false;
  points.pop();
  redraw();
});
document.getElementById("draw-clear").addEventListener("click", () => {
  points = [];
  finished = false;
  redraw();
});
document.getElementById("draw-finish").addEventListener("click", () => {
  fieldError("area", "");
  if (points.length < 3) {
    fieldError("area", gettext("区域には3つ以上の頂点が必要です"));
    return;
  }
  finished = true;
  redraw();
});

// The form ------------------------------------------------------------------------------------

const districtNames = new Map();
const districtLayers = new Map();
const DISTRICT_STYLE = { color: "#0b3d6e", weight: 1, fillOpacity: 0.03 };
const DISTRICT_CHOSEN = { color: "#b00020", weight: 3, fillColor: "#b00020", fillOpacity: 0.25 };

function highlightDistricts() {
  const chosen = new Set([...form.querySelectorAll("input[name=district_ids]:checked")].map((b) => b.value));
  for (const [id, layer] of districtLayers) {
    layer.setStyle(chosen.has(id) ? DISTRICT_CHOSEN : DISTRICT_STYLE);
    layer.getTooltip()?.getElement()?.classList.toggle("chosen", chosen.has(id));
  }
}

async function loadDistricts() {
  const box = document.getElementById("districts");
  const status = document.getElementById("districts-status");
  try {
    const data = await api("GET", `${API}map/districts.geojson`);
    const features = [...data.features].sort((a, b) => a.properties.name.localeCompare(b.properties.name, "ja"));
    for (const f of features) {
      districtNames.set(f.id ?? f.properties.id, f.properties.name);
      box.append(
        el(
          "label",
          { class: "check" },
          el("input", { type: "checkbox", name: "district_ids", value: f.id ?? f.properties.id }),
          " ",
          f.properties.name,
        ),
      );
    }
    status.textContent = features.length ? "" : gettext("地区がありません");
    if (map && features.length) {
      // Each district named on the map, and filled when its box is ticked: what the
      // checkboxes choose is seen where it is.
      L.geoJSON(data, {
        style: DISTRICT_STYLE,
        interactive: false,
        onEachFeature: (feature, layer) => {
          districtLayers.set(String(feature.id ?? feature.properties.id), layer);
          layer.bindTooltip(el("span", {}, feature.properties.name), {
            permanent: true,
            direction: "center",
            className: "district-label",
          });
        },
      }).addTo(map);
      box.addEventListener("change", highlightDistricts);
      highlightDistricts();
    }
  } catch (error) {
    status.textContent = `${gettext("読み込めませんでした")}: ${error.message}`;
  }
}

function fieldError(field, message) {
  const node = document.getElementById(`error-${field}`);
  if (!node) return false;
  node.textContent = message;
  const input = form.elements[field];
  if (input instanceof HTMLElement) {
    if (message) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
  }
  if (message) node.closest("details")?.setAttribute("open", "");
  return true;
}

function clearErrors() {
  for (const node of form.querySelectorAll(".field-error")) node.textContent = "";
  for (const node of form.querySelectorAll("[aria-invalid]")) node.removeAttribute("aria-invalid");
  document.getElementById("form-error").textContent = "";
}

function payload() {
  const data = new FormData(form);
  const body = {
    kind: data.get("kind"),
    hazard: data.get("hazard"),
    is_drill: data.has("is_drill"),
    whole_city: data.has("whole_city"),
    asks_safety: data.has("asks_safety"),
    channels: data.getAll("channels"),
    district_ids: data.getAll("district_ids").map(Number),
    area: areaGeoJSON(),
    valid_minutes: Number(data.get("valid_minutes")),
  };
  for (const input of form.querySelectorAll("input[name^=title_], textarea[name^=body_]")) {
    body[input.name] = input.value;
  }
  return body;
}

function newDraft() {
  editing = null;
  form.reset();
  for (const box of form.querySelectorAll("input[name=district_ids]")) box.checked = false;
  highlightDistricts();
  clearErrors();
  setPoints(null);
  const heading = document.getElementById("form-heading");
  heading.textContent = gettext("新しい下書き");
}

function editDraft(alert) {
  editing = alert.id;
  clearErrors();
  for (const input of form.querySelectorAll("input[name^=title_], textarea[name^=body_]")) {
    input.value = alert[input.name] ?? "";
  }
  form.elements.kind.value = alert.kind;
  form.elements.hazard.value = alert.hazard;
  form.elements.is_drill.checked = alert.is_drill;
  form.elements.whole_city.checked = alert.whole_city;
  form.elements.asks_safety.checked = alert.asks_safety;
  form.elements.valid_minutes.value = alert.valid_minutes;
  for (const box of form.querySelectorAll("input[name=channels]")) box.checked = alert.channels.includes(box.value);
  for (const box of form.querySelectorAll("input[name=district_ids]")) {
    box.checked = alert.district_ids.includes(Number(box.value));
  }
  highlightDistricts();
  setPoints(alert.area);
  const heading = document.getElementById("form-heading");
  heading.textContent = `${gettext("下書きの編集")} #${alert.id}`;
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors();
  const result = document.getElementById("form-result");
  result.textContent = "";
  if (points.length > 0 && points.length < 3) {
    fieldError("area", gettext("区域には3つ以上の頂点が必要です"));
    return;
  }
  try {
    const alert = await busy(e.submitter, () =>
      editing ? api("PUT", `${API}alerts/${editing}`, payload()) : api("POST", `${API}alerts`, payload()),
    );
    await select(alert.id);
    document.getElementById("form-result").textContent = gettext("下書きを保存しました");
  } catch (error) {
    const general = [];
    for (const { field, message } of error.data?.errors ?? []) {
      if (!fieldError(String(field).split(".")[0], message)) general.push(message);
    }
    document.getElementById("form-error").textContent = [error.message, ...general].join(" ");
    form.querySelector("[aria-invalid=true]")?.focus();
  }
});

document.getElementById("new-alert").addEventListener("click", () => {
  selected = null;
  detail.hidden = true;
  showArea(null);
  newDraft();
  loadList();
  form.elements.title_ja.focus();
});

// Start ---------------------------------------------------------------------------------------

window.addEventListener("map:init", async (e) => {
  map = e.detail.map;
  if (map.getMaxZoom() === Infinity) map.setMaxZoom(18);
  map.on("click", (event) => addPoint(event.latlng));
  redraw();
  await Promise.all([loadDistricts(), loadList()]);
  window.sonaeAlerts = { map, points: () => points.map((p) => [p.lat, p.lng]) };
  page.dataset.ready = "true";
});
