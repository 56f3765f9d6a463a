// The live channel: /ws/ops/ with every event applied as it arrives. After a dropped
// connection the socket reconnects with `?after=<last id seen>` and the server replays what
// was missed.
import { gettext } from "../i18n.js";
import { apply } from "./events.js";
import { state } from "./state.js";

export const live = {
  socket: null,
  delay: 500,
  held: false,
  timer: null,

  connect() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/ws/ops/?after=${state.lastEventId}`);
    this.socket = socket;
    socket.addEventListener("open", () => {
      this.delay = 500;
      show("connected");
    });
    socket.addEventListener("message", (message) => {
      const data = JSON.parse(message.data);
      if (data.type === "pong") return;
      apply(data);
    });
    socket.addEventListener("close", (closed) => {
      if (this.socket !== socket) return;
      this.socket = null;
      // The server closes with 4401 once the session or token no longer signs anyone in
      // (logged out, revoked) and 4403 once the role is gone: reconnecting cannot help.
      if (closed.code === 4401 || closed.code === 4403) {
        show(closed.code === 4401 ? "signed-out" : "forbidden");
        return;
      }
      show("disconnected");
      if (!this.held) this.retry();
    });
  },

  retry() {
    clearTimeout(this.timer);
    // Back off up to 15 s so a server that is restarting is not hammered by every screen.
    this.timer = setTimeout(() => this.connect(), this.delay);
    this.delay = Math.min(this.delay * 2, 15000);
  },

  // For tests and for staff who want to check the catch-up: drop the socket and stay
  // disconnected until resume().
  drop() {
    this.held = true;
    clearTimeout(this.timer);
    this.socket?.close();
  },

  resume() {
    this.held = false;
    if (!this.socket) this.connect();
  },
};

function show(status) {
  const indicator = document.getElementById("live");
  indicator.dataset.state = status;
  indicator.textContent = {
    connected: gettext("接続中（リアルタイム）"),
    "signed-out": gettext("ログインが切れました — ページを開き直してください"),
    forbidden: gettext("この画面を見る権限がなくなりました"),
  }[status] ?? gettext("切断中 — 再接続しています…");
}

setInterval(() => {
  if (live.socket?.readyState === WebSocket.OPEN) live.socket.send(JSON.stringify({ type: "ping" }));
}, 25000);
