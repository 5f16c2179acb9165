// Sending a text message over the socket while it is live, with REST as the fallback: when
// the socket is down, when it closes before answering, or when no answer comes within
// SOCKET_ANSWER_MS, the same message goes over REST with the same client_id — the server
// answers a client_id it already stored with the original message, so a send the socket
// did deliver is not stored twice. Answers (`send_ok`, `send_error`) are matched to their
// send by client_id. No DOM.

import { ApiError } from '../api.js';

export const SOCKET_ANSWER_MS = 5000;

// A send_error as the ApiError REST would have thrown, so the composer handles both alike
// (waiting out `rate_limited`, showing the message). Its codes are REST's.
const STATUS_OF = { validation_error: 400, forbidden_topic: 400, not_found: 404, rate_limited: 429 };
export function sendErrorAsApiError(frame) {
  return new ApiError(STATUS_OF[frame.error] || 403, frame);
}

/**
 * @param {object} o
 * @param {{ready: boolean, send: (frame: object) => boolean}} o.transport
 * @param {number} [o.timeoutMs]
 * @param {{setTimeout: Function, clearTimeout: Function}} [o.timers]
 */
export function createSocketSender({ transport, timeoutMs = SOCKET_ANSWER_MS, timers = globalThis }) {
  const waiting = new Map(); // client_id → { resolve, reject, rest, timer }

  function fallBack(clientId) {
    const w = waiting.get(clientId);
    if (!w) return;
    waiting.delete(clientId);
    timers.clearTimeout(w.timer);
    w.rest().then(w.resolve, w.reject);
  }

  /**
   * Sends `{conversation_id, content, client_id}`; `rest()` sends the same over REST.
   * Resolves with the stored Message, rejects with an ApiError.
   */
  function send(message, rest) {
    const id = message.client_id;
    // Tried again while its socket answer is still awaited: over REST, leaving that wait be.
    if (!transport.ready || waiting.has(id) || !transport.send({ type: 'send', ...message })) return rest();
    return new Promise((resolve, reject) => {
      const timer = timers.setTimeout(() => fallBack(id), timeoutMs);
      waiting.set(id, { resolve, reject, rest, timer });
    });
  }

  /** A frame from the server; true when it answers a send (late answers are dropped). */
  function answered(frame) {
    if (frame.type !== 'send_ok' && frame.type !== 'send_error') return false;
    const w = waiting.get(frame.client_id);
    if (!w) return true;
    waiting.delete(frame.client_id);
    timers.clearTimeout(w.timer);
    if (frame.type === 'send_ok') w.resolve(frame.message);
    else w.reject(sendErrorAsApiError(frame));
    return true;
  }

  /** The socket closed: what it has not answered goes over REST now. */
  function socketDown() {
    for (const id of [...waiting.keys()]) fallBack(id);
  }

  return { send, answered, socketDown };
}
