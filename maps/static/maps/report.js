// The public damage-report form (/map/report/): choose a place on the map or from the
// browser's location, describe what happened, optionally attach a photo; posted to the
// public report endpoint as multipart form data with the page's CSRF token.
import { api, el, messages } from "./dom.js";

const t = messages("report-messages");
const form = document.getElementById("report-form");
const result = document.getElementById("report-result");
let map = null;
let marker = null;

function choose(lat, lon) {
  document.getElementById("latitude").value = lat.toFixed(6);
  document.getElementById("longitude").value = lon.toFixed(6);
  if (marker) marker.remove();
  marker = L.marker([lat, lon], { title: t.chosen }).addTo(map);
  document.getElementById("place-chosen").textContent = `${t.chosen}: ${lat.toFixed(5)}, ${lon.toFixed(5)}`;
}

function fieldErrors(error) {
  return (error.data?.errors ?? []).map((e) => el("li", {}, `${e.field}: ${e.message}`));
}

async function submit(event) {
  event.preventDefault();
  if (!document.getElementById("latitude").value) {
    result.textContent = t.noPlace;
    return;
  }
  const data = new FormData(form);
  if (!data.get("photo")?.size) data.delete("photo");
  result.textContent = t.sending;
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const report = await api("POST", form.getAttribute("action"), data);
    result.replaceChildren(`${t.sent} ${report.id}`);
    form.reset();
    marker?.remove();
    document.getElementById("place-chosen").textContent = "";
  } catch (error) {
    const text = error.status === 429 ? t.tooMany : `${t.failed}: ${error.message}`;
    result.replaceChildren(text, el("ul", {}, fieldErrors(error)));
  } finally {
    button.disabled = false;
  }
}

window.addEventListener("map:init", (e) => {
  map = e.detail.map;
  map.on("click", (ev) => choose(ev.latlng.lat, ev.latlng.lng));
  document.getElementById("use-location").addEventListener("click", () => {
    navigator.geolocation?.getCurrentPosition(
      (p) => {
        choose(p.coords.latitude, p.coords.longitude);
        map.setView([p.coords.latitude, p.coords.longitude], 16);
      },
      () => {
        document.getElementById("place-chosen").textContent = t.noLocation;
      },
    );
  });
  form.addEventListener("submit", submit);
  form.dataset.ready = "true";
});
