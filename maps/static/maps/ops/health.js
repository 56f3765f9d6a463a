// The operations map's red banner: no worker alive (approved alerts would not go out), the
// database unreachable, or an alert approved or being sent that made no progress for over a
// minute. Drawn from the snapshot at load, then from /healthz every 15 s, which answers the
// same facts (with a 503 when something is down; alerts/delivery/health.py).
import { el } from "../dom.js";
import { gettext, interpolate } from "../i18n.js";
import { snapshot } from "./state.js";

const HEALTH_URL = "/healthz";
const POLL_MS = 15 * 1000;

const banner = el("p", { id: "health-alarm", class: "health-alarm", role: "alert", hidden: true });
document.querySelector(".ops-head").after(banner);

/** What the banner says about a /healthz answer: a sentence per problem, none when well. */
export function problems(facts) {
  const found = [];
  if (!facts.database?.ok) {
    found.push(gettext("データベースに接続できません。避難情報を送信できません。"));
  } else if (!facts.workers?.alive) {
    found.push(gettext("配信ワーカーが動いていません。承認した避難情報が送信されません。"));
  }
  const stuck = facts.alerts?.without_progress ?? 0;
  if (stuck) {
    const text = gettext("1分以上配信が進んでいない避難情報があります（%(count)s件）。");
    found.push(interpolate(text, { count: stuck }));
  }
  return found;
}

function show(facts) {
  const found = problems(facts);
  banner.replaceChildren(found.join(" "));
  banner.hidden = found.length === 0;
}

async function poll() {
  try {
    const response = await fetch(HEALTH_URL, { headers: { Accept: "application/json" } });
    show(await response.json());
  } catch {
    // The server itself is unreachable: the live channel's status says so (切断中).
  }
}

// Shown once the map is made: the map opens at the size the page had when ops/early.js
// asked for its tiles, then follows its container (main.js) as the banner comes and goes.
window.addEventListener("map:init", () => snapshot.health && show(snapshot.health), { once: true });
setInterval(poll, POLL_MS);
