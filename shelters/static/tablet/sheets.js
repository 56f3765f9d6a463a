// Uploading a filled-in stock sheet as a count. Needs a connection (a file is not queued):
// every bad row comes back with its line number and nothing is written.
import { gettext, interpolate } from "../maps/i18n.js";

const form = document.querySelector("#count-sheet");
const result = document.querySelector("#result");
const problems = document.querySelector("#sheet-problems");
const list = document.querySelector("#sheet-errors");

form?.addEventListener("submit", async (event) => {
  event.preventDefault();
  list.replaceChildren();
  problems.hidden = true;
  const key = "sheet-" + Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  let response;
  try {
    response = await fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Idempotency-Key": key,
        "X-CSRFToken": document.querySelector('meta[name="csrf-token"]').content,
      },
      body: new FormData(form),
    });
  } catch {
    result.textContent = gettext("通信できません。つながったら自動で送信します。");
    result.className = "result error";
    return;
  }
  const data = await response.json().catch(() => null);
  if (response.ok) {
    result.className = "result ok";
    result.textContent = interpolate(
      gettext("%(counted)s 行を取り込みました（帳簿と違った行: %(adjusted)s）。"),
      { counted: data.rows_counted, adjusted: data.rows_adjusted },
    );
    form.reset();
    return;
  }
  result.textContent = data?.message || `HTTP ${response.status}`;
  result.className = "result error";
  const rows = data?.rows || (data?.errors || []).map((e) => ({ line: "", field: e.field, message: e.message }));
  if (!rows.length) return;
  // The rows to fix come first on the page, above the form, where the eye is.
  list.replaceChildren(...rows.map((row) => {
    const item = document.createElement("li");
    const line = row.line ? `${interpolate(gettext("%(line)s 行目"), { line: row.line })} ` : "";
    item.textContent = `${line}${row.field}: ${row.message}`;
    return item;
  }));
  const heading = document.querySelector("#sheet-problems-heading");
  heading.textContent = interpolate(gettext("取り込めなかった行: %(n)s"), { n: rows.length });
  problems.hidden = false;
  heading.focus();
  problems.scrollIntoView({ block: "start" });
});
