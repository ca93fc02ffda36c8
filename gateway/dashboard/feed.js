// The real-time feed (GET /api/agent/ws): reconnects by itself, catches up with
// ?since=<the last seq seen>, and asks for a reload on `resync`.

export class Feed {
  constructor({ token, onEvent, onState, onResync, onRefused }) {
    this.token = token;
    this.onEvent = onEvent;
    this.onState = onState;
    this.onResync = onResync;
    this.onRefused = onRefused;
    this.lastSeq = null;
    this.socket = null;
    this.stopped = false;
    this.held = false;
    this.failures = 0;
    this.timer = null;
  }

  start() {
    this.stopped = false;
    this.connect();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.timer);
    if (this.socket) this.socket.close(1000, "signed out");
    this.socket = null;
  }

  /** For tests and for people: drop the socket now; with `hold`, stay down until resume(). */
  drop({ hold = false } = {}) {
    this.held = hold;
    if (this.socket) this.socket.close(4000, "dropped");
  }

  resume() {
    this.held = false;
    if (!this.socket) this.connect();
  }

  connect() {
    clearTimeout(this.timer);
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    let url = `${scheme}://${location.host}/api/agent/ws?token=${encodeURIComponent(this.token)}`;
    if (this.lastSeq !== null) url += `&since=${this.lastSeq}`;
    this.onState(this.failures || this.lastSeq !== null ? "reconnecting" : "connecting");
    const socket = new WebSocket(url);
    this.socket = socket;
    socket.onmessage = (message) => this.frame(JSON.parse(message.data));
    socket.onclose = () => {
      if (this.socket !== socket) return;
      this.socket = null;
      if (this.stopped) return;
      this.failures += 1;
      this.onState("reconnecting");
      if (this.held) return;
      // A socket refused at once may be a revoked token: the dashboard checks it.
      if (this.failures >= 2) this.onRefused();
      const delay = Math.min(5000, 250 * 2 ** Math.min(this.failures, 5));
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  frame(frame) {
    if (frame.type === "hello") {
      this.failures = 0;
      if (this.lastSeq === null) this.lastSeq = frame.seq;
      this.onState("connected");
      return;
    }
    if (frame.type === "pong") return;
    if (frame.type === "resync") {
      this.lastSeq = frame.seq;
      this.onResync();
      return;
    }
    if (this.lastSeq !== null && frame.seq <= this.lastSeq) return; // seen already
    this.lastSeq = frame.seq;
    this.onEvent(frame);
  }
}
