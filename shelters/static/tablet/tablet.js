// Wiring of the tablet pages: forms and buttons write through the offline queue, the queue
// panel shows what is still waiting, pickers and steppers make one-handed entry quick.
import { gettext } from "../maps/i18n.js";
import { dismiss, enqueue, failed, flush, pending, state } from "./queue.js";

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

function renderQueue() {
  const panel = $("#queue-panel");
  if (!panel) return;
  const waiting = pending();
  const refused = failed();
  const { sending, paused } = state();
  $("#queue-count").textContent = String(waiting.length);
  panel.dataset.pending = String(waiting.length);
  let status = gettext("すべて送信済みです。");
  if (waiting.length) {
    status = sending ? gettext("送信中…")
      : paused === "offline" || !navigator.onLine ? gettext("通信できません。つながったら自動で送信します。")
      : paused === "login" ? gettext("ログインし直すと送信します。")
      : paused === "server" ? gettext("サーバーが応答しません。しばらくして自動で再送します。")
      : gettext("送信を待っています。");
  }
  $("#queue-status").textContent = status;
  $("#queue-list").replaceChildren(
    ...waiting.map((e) => element("li", {}, `${e.label}（${new Date(e.queuedAt).toLocaleTimeString(document.documentElement.lang)}）`)),
  );
  $("#queue-failed").replaceChildren(
    ...refused.map((e) => {
      const button = element("button", { type: "button", className: "small" }, gettext("確認した"));
      button.addEventListener("click", () => dismiss(e.key));
      return element("li", { className: "error" }, `${e.label}: ${e.error} `, button);
    }),
  );
  $("#queue-send").hidden = !waiting.length;
}

function announce(message, kind = "ok") {
  const box = $("#result");
  if (!box) return;
  box.textContent = message;
  box.className = `result ${kind}`;
}

/** What became of a write just queued: sending now, or kept until the connection is back. */
function announceQueued() {
  announce(
    navigator.onLine ? gettext("送信しています…") : gettext("通信できないため保存しました。つながったら送信します。"),
    "pending",
  );
}

function valueOf(input) {
  if (input.value === "") return undefined;
  return input.type === "number" ? Number(input.value) : input.value;
}

/** The time a datetime-local input names (the tablet's own time zone), or now: a count
 * carries the time it was taken, not the time the connection let it through. */
function momentOf(input) {
  const typed = input?.value ? new Date(input.value) : null;
  return (typed && !Number.isNaN(typed.getTime()) ? typed : new Date()).toISOString();
}

/** A head-count: the total, every figure the manager changed from the last count (the
 * server keeps the others as they were), and when it was counted. */
function headCountOf(form) {
  const body = { total: Number(form.total.value), observed_at: momentOf(form.observed_at) };
  for (const input of $$("input[data-figure-field]", form)) {
    if (input.value !== "" && input.value !== input.defaultValue) body[input.name] = Number(input.value);
  }
  if (form.note.value) body.note = form.note.value;
  return body;
}

function bodyOf(form) {
  if (form.dataset.kind === "headcount") return headCountOf(form);
  if (form.dataset.kind === "request") {
    const lines = $$("input[data-line-item]", form)
      .filter((input) => Number(input.value) > 0)
      .map((input) => ({ item_id: Number(input.dataset.lineItem), quantity: Number(input.value) }));
    return { depot_id: Number(form.dataset.depot), urgency: form.urgency.value, note: form.note.value, lines };
  }
  const body = {};
  for (const input of $$("input[name], select[name], textarea[name]", form)) {
    if ((input.type === "radio" || input.type === "checkbox") && !input.checked) continue;
    if (input.dataset.skip !== undefined) continue;
    const value = valueOf(input);
    if (value !== undefined) body[input.name] = input.name === "item_id" ? Number(value) : value;
  }
  return body;
}

function labelOf(form, body) {
  const item = $("input[name=item_id]:checked", form);
  const parts = [form.dataset.label];
  if (item) parts.push(item.dataset.name);
  const amount = body.quantity ?? body.counted ?? body.total;
  if (amount !== undefined) parts.push(String(amount) + (item ? item.dataset.unit : ""));
  if (body.lines) parts.push(`${gettext("品目")} ${body.lines.length}`);
  if (body.status) parts.push($("input[name=status]:checked", form).dataset.name);
  return parts.join(" ");
}

function wireForms() {
  for (const form of $$("form[data-api]")) {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const body = bodyOf(form);
      if (form.dataset.kind === "request" && !body.lines.length) {
        announce(gettext("数量を 1 つ以上入力してください。"), "error");
        return;
      }
      const entry = enqueue({ url: form.dataset.api, body, label: labelOf(form, body) });
      form.dataset.lastKey = entry.key;
      announceQueued();
      if (form.dataset.kind === "headcount") {
        // What was sent is now the last count as far as this page knows: the next update
        // starts from it (the answer, when it comes, sets the figures for good).
        for (const input of $$("input[data-figure-field], input[name=total]", form)) input.defaultValue = input.value;
        form.observed_at.value = "";
        form.note.value = "";
      } else {
        form.reset();
      }
      form.dispatchEvent(new Event("change"));
    });
  }
  for (const button of $$("button[data-api]")) {
    button.addEventListener("click", () => {
      enqueue({ url: button.dataset.api, body: {}, label: button.dataset.label });
      button.disabled = true;
      announceQueued();
    });
  }
  document.addEventListener("sonae:settled", ({ detail }) => {
    if (detail.error) announce(`${detail.entry.label}: ${detail.error}`, "error");
    else {
      const onHand = detail.data?.on_hand;
      const stock = onHand !== undefined ? `（${gettext("在庫")} ${onHand}）` : "";
      const past = detail.data?.is_current === false ? `（${gettext("過去の記録として")}）` : "";
      announce(`${detail.entry.label} — ${gettext("記録しました")}${past}${stock}`);
      applyAnswer(detail.data);
    }
  });
}

/** Show what the server answered at once: the current head-count and its figures, the
 * status, an item's stock in the pickers. Then the page's figures are read again. */
function applyAnswer(data) {
  if (!data) return;
  const text = (selector, value) => { const node = $(selector); if (node && value !== undefined) node.textContent = String(value); };
  if (data.is_current) {
    text("#occupancy", data.total);
    text("#care-needs", data.care_needs);
    text("#now-supported_at_home", data.supported_at_home);
    text("#now-supported_in_cars", data.supported_in_cars);
    const form = $("#headcount-form");
    for (const input of form ? $$("input[data-figure-field], input[name=total]", form) : []) {
      if (data[input.name] === undefined) continue;
      const pristine = input.value === input.defaultValue;
      input.defaultValue = String(data[input.name]);
      if (pristine) input.value = input.defaultValue;
    }
  }
  if (data.status && data.status_label) {
    const strong = $("strong[data-status]");
    if (strong) { strong.dataset.status = data.status; strong.textContent = data.status_label; }
    text("#occupancy", data.occupancy);
  }
  const itemId = data.movements?.[0]?.item_id;
  if (itemId !== undefined && data.on_hand !== undefined) {
    for (const input of $$(`input[name=item_id][value="${itemId}"]`)) {
      input.dataset.onHand = String(data.on_hand);
      const small = input.parentElement.querySelector("small");
      if (small) small.textContent = `${data.on_hand}${input.dataset.unit}`;
    }
    for (const form of $$("form[data-api]")) form.dispatchEvent(new Event("change"));
  }
}

function wirePickers() {
  for (const form of $$("form[data-api]")) {
    const update = () => {
      const item = $("input[name=item_id]:checked", form);
      const info = $("[data-picked]", form);
      if (info) info.textContent = item ? `${item.dataset.name}: ${gettext("在庫")} ${item.dataset.onHand} ${item.dataset.unit}` : "";
      const lots = $("select[data-lots]", form);
      if (lots) {
        const options = item ? JSON.parse(item.dataset.lots || "[]") : [];
        lots.replaceChildren(
          element("option", { value: "" }, gettext("新しいロット（下に期限を入力）")),
          ...options.map((lot) => element("option", { value: JSON.stringify(lot) }, lot.label)),
        );
        lots.dispatchEvent(new Event("change"));
      }
    };
    form.addEventListener("change", (event) => {
      if (!event.target || event.target.name === "item_id" || event.target === form) update();
    });
    update();
    const lots = $("select[data-lots]", form);
    if (lots) {
      lots.addEventListener("change", () => {
        const lot = lots.value ? JSON.parse(lots.value) : null;
        form.expires_on.value = lot ? lot.expires_on || "" : "";
        form.source.value = lot ? lot.source : "procured";
        const counted = form.counted;
        if (lot && counted.value === "") counted.placeholder = String(lot.on_hand);
      });
    }
  }
  for (const button of $$("button[data-add]")) {
    button.addEventListener("click", () => {
      const input = $(`#${button.dataset.for}`);
      const next = Math.max(0, (Number(input.value) || 0) + Number(button.dataset.add));
      input.value = String(next);
      input.dispatchEvent(new Event("input", { bubbles: true }));
    });
  }
}

function wireQueuePanel() {
  document.addEventListener("sonae:queue", renderQueue);
  window.addEventListener("online", renderQueue);
  window.addEventListener("offline", renderQueue);
  $("#queue-send")?.addEventListener("click", () => flush());
  renderQueue();
  flush();
}

wireForms();
wirePickers();
wireQueuePanel();
