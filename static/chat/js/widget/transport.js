// The realtime link: WebSocket /ws/chat/ first; while it is down, reconnect with backoff
// and poll the REST API instead (contract: conversations and the open thread every 5 s,
// presence every 10 s). Frames in and out are plain objects; what they mean is the
// controller's business. No DOM.

export const POLL_MS = 5000;
export const PRESENCE_POLL_MS = 10000;
const PING_MS = 30000;
const PONG_TIMEOUT_MS = 10000; // no pong: the link is dead even if the browser has not noticed
const UNAUTHORIZED = 4401; // close code: the session is gone

/** Reconnect delay before attempt `attempt` (0-based): min(1 s·2^attempt + jitter, 30 s). */
export function backoffDelay(attempt, random = Math.random) {
  return Math.min(1000 * 2 ** attempt + random() * 1000, 30000);
}

/** ws(s):// URL of the chat socket for an http(s) page; with a bearer token (widget sign-in) in `?token=`. */
export function socketUrl(base, pageHref, token = '') {
  const u = new URL(`${base}/ws/chat/`, pageHref);
  u.protocol = u.protocol === 'https:' ? 'wss:' : 'ws:';
  if (token) u.searchParams.set('token', token);
  return u.href;
}

/**
 * @param {object} o
 * @param {string} o.url
 * @param {(frame: object) => void} o.onFrame       every frame from the server
 * @param {(state: string) => void} o.onSocket      'connecting' | 'open' | 'closed'
 * @param {(on: boolean) => void} o.onPolling
 * @param {() => void} o.onUnauthorized            close code 4401
 * @param {() => Promise} o.poll                   one polling round (conversations, open thread)
 * @param {() => Promise} o.pollPresence
 */
export function createTransport({ url, onFrame, onSocket, onPolling, onUnauthorized, poll, pollPresence }) {
  let ws = null;
  let ready = false; // the server said "connected"
  let stopped = false;
  let attempts = 0;
  let reconnectTimer = null;
  let pingTimer = null;
  let pongTimer = null;
  let pollTimer = null;
  let presenceTimer = null;
  let pollBusy = false;

  function send(frame) {
    if (!ws || ws.readyState !== WebSocket.OPEN) return false;
    try {
      ws.send(JSON.stringify(frame));
      return true;
    } catch (_) {
      return false;
    }
  }

  function connect() {
    if (stopped) return;
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    if (ws) return;
    let sock;
    try {
      sock = new WebSocket(url);
    } catch (_) {
      down(null);
      return;
    }
    ws = sock;
    ready = false;
    onSocket('connecting');
    sock.addEventListener('open', () => {
      if (ws !== sock) return;
      onSocket('open');
      clearInterval(pingTimer);
      pingTimer = setInterval(ping, PING_MS);
    });
    sock.addEventListener('message', (e) => {
      if (ws !== sock || typeof e.data !== 'string') return;
      let frame = null;
      try { frame = JSON.parse(e.data); } catch (_) { return; }
      if (!frame || typeof frame.type !== 'string') return;
      if (frame.type === 'pong') {
        clearTimeout(pongTimer);
        pongTimer = null;
        return;
      }
      if (frame.type === 'connected') {
        ready = true;
        attempts = 0;
        stopPolling();
      }
      onFrame(frame);
    });
    sock.addEventListener('close', (e) => {
      if (ws === sock) down(e.code);
    });
  }

  function ping() {
    if (!send({ type: 'ping' })) return;
    clearTimeout(pongTimer);
    const sock = ws;
    pongTimer = setTimeout(() => {
      if (ws !== sock || !sock) return;
      try { sock.close(); } catch (_) { /* already closing */ }
      down(1006);
    }, PONG_TIMEOUT_MS);
  }

  function clearLinkTimers() {
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    pingTimer = null;
    pongTimer = null;
  }

  function down(code) {
    ws = null;
    ready = false;
    clearLinkTimers();
    if (code === UNAUTHORIZED) {
      onUnauthorized();
      return;
    }
    onSocket('closed');
    startPolling();
    scheduleReconnect();
  }

  function scheduleReconnect() {
    if (stopped || reconnectTimer) return;
    const delay = backoffDelay(attempts);
    attempts = Math.min(attempts + 1, 10);
    reconnectTimer = setTimeout(() => {
      reconnectTimer = null;
      connect();
    }, delay);
  }

  async function pollOnce() {
    if (pollBusy || stopped) return;
    pollBusy = true;
    try {
      await poll();
    } catch (_) {
      /* offline or server down: keep polling */
    } finally {
      pollBusy = false;
    }
  }

  function startPolling() {
    if (pollTimer || stopped) return;
    pollTimer = setInterval(pollOnce, POLL_MS);
    presenceTimer = setInterval(() => pollPresence().catch(() => {}), PRESENCE_POLL_MS);
    onPolling(true);
  }

  function stopPolling() {
    if (!pollTimer) return;
    clearInterval(pollTimer);
    clearInterval(presenceTimer);
    pollTimer = null;
    presenceTimer = null;
    onPolling(false);
  }

  /** For good (signed out): no socket, no polling, no retries. */
  function stop() {
    stopped = true;
    stopPolling();
    clearTimeout(reconnectTimer);
    reconnectTimer = null;
    clearLinkTimers();
    if (ws) {
      const sock = ws;
      ws = null;
      try { sock.close(); } catch (_) { /* ignore */ }
    }
    ready = false;
  }

  /** The browser says it is back online: try now instead of waiting out the backoff. */
  function retryNow() {
    if (ws || stopped) return;
    attempts = 0;
    connect();
  }

  return { connect, send, stop, retryNow, get ready() { return ready; } };
}
