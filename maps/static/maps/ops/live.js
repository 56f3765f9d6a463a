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
    socket.addEventListener("close", () => {
      if (this.socket !== socket) return;
      this.socket = null;
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
  indicator.textContent =
    status === "connected" ? gettext("接続中（リアルタイム）") : gettext("切断中 — 再接続しています…");
}

setInterval(() => {
  if (live.socket?.readyState === WebSocket.OPEN) live.socket.send(JSON.stringify({ type: "ping" }));
}, 25000);
