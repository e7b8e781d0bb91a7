// The live connection: one websocket to /api/v1/ws. It remembers the id
// of the last event it saw and, whenever the socket closes, reconnects with
// ?after=<that id> and exponential backoff, so the server replays every
// event the page missed.

const minDelay = 500;
const maxDelay = 10000;

export class Live {
  // onEvent(event) gets each event once, in id order; onState(state) gets
  // "connecting", "open" or "reconnecting"; checkSession() resolves false
  // when the session is gone (then the page shows the login form and the
  // connection stops trying).
  constructor({ onEvent, onState, checkSession }) {
    this.onEvent = onEvent;
    this.onState = onState;
    this.checkSession = checkSession;
    this.ws = null;
    this.timer = 0;
    this.attempt = 0;
    this.lastId = 0;
    this.stopped = true;
    // gen tells a timer of an older run from the current one.
    this.gen = 0;
  }

  start(after) {
    this.stop();
    this.stopped = false;
    this.lastId = Number(after) > 0 ? Number(after) : 0;
    this.attempt = 0;
    this.connect();
  }

  stop() {
    this.stopped = true;
    this.gen++;
    clearTimeout(this.timer);
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onclose = null;
      ws.onmessage = null;
      ws.close();
    }
  }

  connect() {
    if (this.stopped) return;
    const proto = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    const url = `${proto}//${window.location.host}/api/v1/ws?after=${encodeURIComponent(String(this.lastId))}`;
    this.onState(this.attempt ? 'reconnecting' : 'connecting');
    let ws;
    try {
      ws = new WebSocket(url);
    } catch (_) {
      this.retry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (this.ws !== ws) return;
      this.attempt = 0;
      this.onState('open');
    };
    ws.onmessage = (e) => {
      if (this.ws !== ws) return;
      let ev;
      try { ev = JSON.parse(e.data); } catch (_) { return; }
      if (!ev || typeof ev.id !== 'number' || typeof ev.type !== 'string') return;
      // A replay may overlap what was seen already; each event counts once.
      if (ev.id <= this.lastId) return;
      this.lastId = ev.id;
      this.onEvent(ev);
    };
    ws.onclose = () => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      this.onState('reconnecting');
      this.retry();
    };
  }

  retry() {
    if (this.stopped) return;
    const base = Math.min(maxDelay, minDelay * 2 ** this.attempt);
    const delay = base * (0.8 + Math.random() * 0.4);
    this.attempt++;
    clearTimeout(this.timer);
    const gen = this.gen;
    this.timer = setTimeout(async () => {
      if (this.stopped || gen !== this.gen) return;
      let ok = true;
      try { ok = await this.checkSession(); } catch (_) { ok = true; }
      if (this.stopped || gen !== this.gen) return;
      if (ok === false) { this.stop(); return; }
      this.connect();
    }, delay);
  }
}
