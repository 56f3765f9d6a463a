// The figures a tablet page shows (status, head-count, stock, transfers, requests) follow
// the server without a reload: after a write lands and when the connection returns, the
// page is read again and its figure regions ([data-figure] with an id) are swapped in,
// what the pickers show is updated, and a form the manager has not touched follows too.
// The answer to a write is shown at once (applyAnswer) before that.

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

function pristine(input) {
  return input.type === "radio" || input.type === "checkbox"
    ? input.checked === input.defaultChecked
    : input.value === input.defaultValue;
}

/** A form field's value as last recorded: what the manager has not changed follows it. */
function setDefault(input, value) {
  const untouched = pristine(input);
  input.defaultValue = String(value);
  if (untouched) input.value = input.defaultValue;
}

function setItemStock(input, onHand, lots) {
  input.dataset.onHand = String(onHand);
  if (lots !== undefined) input.dataset.lots = lots;
  const small = input.parentElement?.querySelector("small");
  if (small) small.textContent = `${onHand}${input.dataset.unit}`;
}

function changedForms() {
  for (const form of $$("form[data-api]")) form.dispatchEvent(new Event("change"));
}

function setStatus(status, label) {
  const strong = $("strong[data-status]");
  if (strong && label) { strong.dataset.status = status; strong.textContent = label; }
  for (const radio of $$("#status-form input[name=status]")) {
    const untouched = pristine(radio);
    radio.defaultChecked = radio.value === status;
    if (untouched) radio.checked = radio.defaultChecked;
  }
}

/** Show what the server answered to a write at once: the current head-count and its
 * figures, the status, an item's stock. */
export function applyAnswer(data) {
  if (!data) return;
  const text = (selector, value) => {
    const node = $(selector);
    if (node && value !== undefined && value !== null) node.textContent = String(value);
  };
  if (data.is_current) {
    text("#occupancy", data.total);
    text("#care-needs", data.care_needs);
    text("#now-supported_at_home", data.supported_at_home);
    text("#now-supported_in_cars", data.supported_in_cars);
    const form = $("#headcount-form");
    for (const input of form ? $$("input[data-figure-field], input[name=total]", form) : []) {
      if (data[input.name] !== undefined) setDefault(input, data[input.name]);
    }
  }
  if (data.status && data.status_label) {
    setStatus(data.status, data.status_label);
    text("#occupancy", data.occupancy);
  }
  const itemId = data.movements?.[0]?.item_id;
  if (itemId !== undefined && data.on_hand !== undefined) {
    for (const input of $$(`input[name=item_id][value="${itemId}"]`)) setItemStock(input, data.on_hand);
    changedForms();
  }
}

/** Read this page again from the server and show its figures. False when the server could
 * not be reached (the service worker answered from its cache, or nothing answered). */
export async function refreshFigures() {
  let response;
  try {
    response = await fetch(location.href, { credentials: "same-origin", cache: "no-store" });
  } catch {
    return false;
  }
  if (!response.ok || response.redirected) return false;
  const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  const root = $("#tablet");
  const freshRoot = fresh.getElementById("tablet");
  if (!root || !freshRoot || freshRoot.dataset.served !== "network") return false;

  for (const node of $$("[data-figure]")) {
    const next = node.id && fresh.getElementById(node.id);
    if (next) node.replaceWith(document.importNode(next, true));
  }
  for (const input of $$("input[name=item_id]")) {
    const next = fresh.querySelector(`input[name=item_id][value="${input.value}"]`);
    if (next) setItemStock(input, next.dataset.onHand, next.dataset.lots);
  }
  for (const input of $$("#headcount-form input[data-figure-field], #headcount-form input[name=total]")) {
    const next = fresh.querySelector(`#headcount-form input[name="${input.name}"]`);
    if (next) setDefault(input, next.getAttribute("value") ?? "");
  }
  const status = fresh.querySelector("strong[data-status]");
  if (status) setStatus(status.dataset.status, status.textContent);
  changedForms();
  root.dataset.renderedAt = freshRoot.dataset.renderedAt;
  root.dataset.served = "network";
  document.dispatchEvent(new CustomEvent("sonae:figures"));
  return true;
}
