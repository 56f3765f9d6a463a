// Wiring of the tablet pages: forms and buttons write through the offline queue, the queue
// panel shows what is waiting and what became of each write, a refused write goes back into
// its form with the reason, figures follow the answers, pickers and steppers make one-handed
// entry quick.
import { gettext, interpolate } from "../maps/i18n.js";
import { applyAnswer, refreshFigures } from "./figures.js";
import { showConnection, start, warm } from "./offline.js";
import { dismiss, enqueue, entries, flush, markRestored, ready, state } from "./queue.js";

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));
const LANDED_SHOWN = 5;
const DRAW_AFTER_MS = 200; // the panel is redrawn at most this often (a drain settles many)

function element(tag, props = {}, ...children) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children.filter((child) => child !== null));
  return node;
}

function clock(iso) {
  return new Date(iso).toLocaleTimeString(document.documentElement.lang, { hour: "2-digit", minute: "2-digit" });
}

// The queue panel ---------------------------------------------------------------------

let drawing = null;
let again = false;

/** Redraw the queue panel soon: once for a burst of changes (a drain settles many), and
 * once more if something changed while it was being drawn. */
function renderQueue() {
  if (drawing) {
    again = true;
    return drawing;
  }
  drawing = new Promise((resolve) => setTimeout(resolve, DRAW_AFTER_MS))
    .then(drawQueue)
    .finally(() => {
      drawing = null;
      if (again) {
        again = false;
        renderQueue();
      }
    });
  return drawing;
}

async function drawQueue() {
  const panel = $("#queue-panel");
  if (!panel) return;
  const all = await entries();
  const waiting = all.filter((e) => e.state === "pending");
  const refused = all.filter((e) => e.state === "refused");
  const landed = all.filter((e) => e.state === "landed").slice(-LANDED_SHOWN).reverse();
  const { sending, paused } = state();
  $("#queue-count").textContent = String(waiting.length);
  panel.dataset.pending = String(waiting.length);
  panel.dataset.refused = String(refused.length);
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
    ...waiting.map((e) => element("li", {}, `${e.label}（${clock(e.queuedAt)}）`)),
  );
  $("#queue-failed").replaceChildren(
    ...refused.map((e) => {
      const seen = element("button", { type: "button", className: "small" }, gettext("確認した"));
      seen.addEventListener("click", () => dismiss(e.key));
      const back = e.form && e.form.path === location.pathname && $(`#${e.form.id}`)
        ? element("button", { type: "button", className: "small" }, gettext("フォームに戻す"))
        : null;
      back?.addEventListener("click", () => restore(e));
      const where = e.form && e.form.path !== location.pathname
        ? element("a", { href: e.form.path }, gettext("入力したページへ"))
        : null;
      return element(
        "li",
        { className: "error" },
        `✗ ${e.label}: ${gettext("受け付けられませんでした")} — ${e.error} `,
        back,
        where,
        " ",
        seen,
      );
    }),
  );
  $("#queue-landed").replaceChildren(
    ...landed.map((e) => element("li", { className: "ok" }, `✓ ${e.label} — ${interpolate(gettext("%(time)s に記録済み"), { time: clock(e.settledAt) })}`)),
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

// Forms -------------------------------------------------------------------------------

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

/** Everything typed into a form, so that a refused write can be put back. */
function snapshot(form) {
  const fields = $$("input, select, textarea", form)
    .filter((input) => input.name || input.dataset.lineItem)
    .filter((input) => !(input.type === "radio" || input.type === "checkbox") || input.checked)
    .map((input) => [input.name || `line:${input.dataset.lineItem}`, input.value]);
  return { path: location.pathname, id: form.id, fields };
}

function fieldOf(form, name) {
  if (name.startsWith("line:")) return $(`input[data-line-item="${name.slice(5)}"]`, form);
  return $$(`[name="${name}"]`, form);
}

/** Put a refused write back into its form, as it was typed, and say why. */
async function restore(entry) {
  const form = entry.form && $(`#${entry.form.id}`);
  if (!form) return;
  for (const [name, value] of entry.form.fields) {
    const found = fieldOf(form, name);
    for (const input of Array.isArray(found) ? found : [found]) {
      if (!input) continue;
      if (input.type === "radio" || input.type === "checkbox") input.checked = input.value === value;
      else input.value = value;
    }
  }
  form.dispatchEvent(new Event("change"));
  $$("[aria-invalid]", form).forEach((input) => input.removeAttribute("aria-invalid"));
  for (const error of entry.fields || []) {
    const found = fieldOf(form, error.field || "");
    for (const input of Array.isArray(found) ? found : [found]) input?.setAttribute("aria-invalid", "true");
  }
  const box = $("[data-form-error]", form);
  if (box) box.textContent = `${gettext("受け付けられませんでした")}: ${entry.error}`;
  form.dataset.refusedKey = entry.key;
  await markRestored(entry.key);
}

function clearFormError(form) {
  const box = $("[data-form-error]", form);
  if (box) box.textContent = "";
  $$("[aria-invalid]", form).forEach((input) => input.removeAttribute("aria-invalid"));
  delete form.dataset.refusedKey;
}

function wireForms() {
  for (const form of $$("form[data-api]")) {
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const body = bodyOf(form);
      if (form.dataset.kind === "request" && !body.lines.length) {
        announce(gettext("数量を 1 つ以上入力してください。"), "error");
        return;
      }
      const refused = form.dataset.refusedKey;
      const typed = snapshot(form);
      clearFormError(form);
      const entry = await enqueue({ url: form.dataset.api, body, label: labelOf(form, body), form: typed });
      if (refused) dismiss(refused); // typed again and sent: the earlier refusal is dealt with
      form.dataset.lastKey = entry.key;
      announceQueued();
      if (form.dataset.kind === "headcount") {
        // What was sent is now the last count as far as this page knows: the next update
        // starts from it (the answer, when it comes, sets the figures for good).
        for (const input of $$("input[data-figure-field], input[name=total]", form)) input.defaultValue = input.value;
        form.observed_at.value = "";
        form.note.value = "";
      } else if (form.id !== "status-form") {
        form.reset();
      }
      form.dispatchEvent(new Event("change"));
    });
  }
  // Delegated: the buttons of transfers are redrawn with the figures.
  document.addEventListener("click", async (event) => {
    const button = event.target.closest?.("button[data-api]");
    if (!button) return;
    button.disabled = true;
    await enqueue({ url: button.dataset.api, body: {}, label: button.dataset.label });
    announceQueued();
  });
  document.addEventListener("sonae:settled", ({ detail }) => {
    if (detail.state === "refused") {
      announce(`${detail.label}: ${detail.error}`, "error");
      if (detail.form?.path === location.pathname) restore(detail);
      return;
    }
    const onHand = detail.data?.on_hand;
    const stock = onHand !== undefined ? `（${gettext("在庫")} ${onHand}）` : "";
    const past = detail.data?.is_current === false ? `（${gettext("過去の記録として")}）` : "";
    announce(`${detail.label} — ${gettext("記録しました")}${past}${stock}`);
    applyAnswer(detail.data);
  });
  document.addEventListener("sonae:queue", async ({ detail }) => {
    renderQueue();
    if (detail?.kind === "drained") {
      // Every page's figures may have changed: this one now, the others for offline use.
      await refreshFigures();
      warm(true);
    }
  });
}

/** Writes refused while the manager was elsewhere come back into their forms here. */
async function restoreRefused() {
  for (const entry of await entries()) {
    if (entry.state === "refused" && !entry.restored && entry.form?.path === location.pathname) {
      await restore(entry);
    }
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
        const chosen = lots.value;
        const options = item ? JSON.parse(item.dataset.lots || "[]") : [];
        lots.replaceChildren(
          element("option", { value: "" }, gettext("新しいロット（下に期限を入力）")),
          ...options.map((lot) => element("option", { value: JSON.stringify(lot) }, lot.label)),
        );
        if ([...lots.options].some((o) => o.value === chosen)) lots.value = chosen;
        else lots.dispatchEvent(new Event("change"));
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
  window.addEventListener("online", renderQueue);
  window.addEventListener("offline", renderQueue);
  $("#queue-send")?.addEventListener("click", () => flush());
}

wireForms();
wirePickers();
wireQueuePanel();
start();
ready.then(async () => {
  await renderQueue();
  await restoreRefused();
  showConnection();
  flush();
});
