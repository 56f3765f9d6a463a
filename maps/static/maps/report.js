// The public damage-report form (/map/report/): choose a place on the map or from the
// browser's location, describe what happened, optionally attach a photo; posted to the
// public report endpoint as multipart form data with the page's CSRF token.
import { api, el } from "./dom.js";
import { gettext } from "./i18n.js";

const form = document.getElementById("report-form");
const result = document.getElementById("report-result");
let map = null;
let marker = null;
// One key per report: sending again after a lost answer (a weak phone link) repeats the
// same write, which the server answers once. A changed form is another report.
let reportKey = null;

function choose(lat, lon) {
  reportKey = null;
  document.getElementById("latitude").value = lat.toFixed(6);
  document.getElementById("longitude").value = lon.toFixed(6);
  if (marker) marker.remove();
  marker = L.marker([lat, lon], { title: gettext("選んだ地点") }).addTo(map);
  document.getElementById("place-chosen").textContent = `${gettext("選んだ地点")}: ${lat.toFixed(5)}, ${lon.toFixed(5)}`;
}

function fieldErrors(error) {
  return (error.data?.errors ?? []).map((e) => el("li", {}, `${e.field}: ${e.message}`));
}

async function submit(event) {
  event.preventDefault();
  if (!document.getElementById("latitude").value) {
    result.textContent = gettext("場所を選んでください。");
    return;
  }
  const data = new FormData(form);
  if (!data.get("photo")?.size) data.delete("photo");
  // The server's own limit, said on the form: a photo over it is not sent at all.
  const photo = document.getElementById("photo");
  if (data.get("photo")?.size > Number(photo.dataset.maxBytes)) {
    result.textContent = photo.dataset.tooLarge;
    return;
  }
  result.textContent = gettext("送信しています…");
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  reportKey ??= crypto.randomUUID();
  try {
    const report = await api("POST", form.getAttribute("action"), data, reportKey);
    reportKey = null;
    result.replaceChildren(`${gettext("受け付けました。受付番号")} ${report.id}`);
    form.reset();
    marker?.remove();
    document.getElementById("place-chosen").textContent = "";
  } catch (error) {
    const text =
      error.status === 429
        ? gettext("短い間に送信が続いたため受け付けませんでした。しばらくしてからもう一度送ってください。")
        : `${gettext("送信できませんでした")}: ${error.message}`;
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
        document.getElementById("place-chosen").textContent =
          gettext("現在地を取得できませんでした。地図をタップしてください。");
      },
    );
  });
  form.addEventListener("submit", submit);
  form.addEventListener("input", () => { reportKey = null; });
  form.dataset.ready = "true";
});
