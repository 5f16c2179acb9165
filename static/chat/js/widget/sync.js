// Keeping the store in step with the server over REST: the conversation list, presence,
// a thread's latest page, catch-up after a gap (after_seq, duplicates merged by id in the
// store), older history, read receipts. Used on start, after reconnects and by polling.

import { conversationOf, isUnseenNews, isViewing, needsReadReceipt, threadOf, topSeq } from './store.js';

export const conversationPath = (id, rest = '') => `/api/chat/conversations/${encodeURIComponent(id)}/${rest}`;
const PAGE = 50;
const CATCH_UP_PAGE = 200; // the server's page size for after_seq
const AROUND = 25; // messages loaded on each side of a search result
const MARK_READ_DELAY_MS = 200; // a burst of arrivals makes one receipt

export function createSync(app) {
  const { store, api } = app;
  const state = () => store.getState();

  async function refreshConversations({ notify }) {
    const { showArchived: archived, liveSeq: since } = state();
    const list = await api.get(`/api/chat/conversations/${archived ? '?archived=true' : ''}`);
    if (!Array.isArray(list)) return;
    if (notify) {
      for (const c of list) {
        if (c.last_message && conversationOf(state(), c.id) && isUnseenNews(state(), c.id, c.last_message)) {
          app.notifier.notify({ ...c }, c.last_message);
        }
      }
    }
    store.dispatch({ type: 'conversations/loaded', list, archived, since });
  }

  let refreshTimer = null;
  /** Soon, once: a message arrived for a conversation we do not know yet. */
  function refreshSoon() {
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(() => refreshConversations({ notify: true }).catch(() => {}), 300);
  }

  async function loadPresence() {
    const users = await api.get('/api/chat/conversations/presence/');
    if (Array.isArray(users)) store.dispatch({ type: 'presence/loaded', users });
  }

  async function loadLatest(id) {
    const messages = await api.get(conversationPath(id, `messages/?limit=${PAGE}`));
    if (!Array.isArray(messages)) return;
    const t = threadOf(state(), id);
    store.dispatch({ type: 'messages/received', id, messages, replace: t.stale || !t.loaded });
    store.dispatch({ type: 'thread/loaded', id });
  }

  // One catch-up per conversation at a time: a burst of live messages after a gap asks
  // for one each; they join the one running, and it goes round once more if any asked
  // meanwhile (their messages may be newer than what its last request saw).
  const catchingUp = new Map(); // id → { promise, again }
  function catchUp(id) {
    const running = catchingUp.get(id);
    if (running) {
      running.again = true;
      return running.promise;
    }
    const entry = { again: false, promise: null };
    entry.promise = (async () => {
      try {
        do {
          entry.again = false;
          await catchUpOnce(id);
        } while (entry.again);
      } finally {
        catchingUp.delete(id);
      }
    })();
    catchingUp.set(id, entry);
    return entry.promise;
  }

  /**
   * Everything after what we hold; a thread we cannot trust is reloaded instead. A thread
   * loaded around an older message has nothing to catch up: newer pages load on request.
   */
  async function catchUpOnce(id) {
    const t = threadOf(state(), id);
    if (!t.loaded || t.stale) {
      await loadLatest(id);
      return;
    }
    if (t.newerMissing) return;
    for (let round = 0; round < 20; round++) {
      const after = threadOf(state(), id).highestSeq;
      const messages = await api.get(conversationPath(id, `messages/?after_seq=${after}`));
      if (!Array.isArray(messages) || !messages.length) break;
      store.dispatch({ type: 'messages/received', id, messages });
      if (messages.length < CATCH_UP_PAGE) break;
    }
  }

  async function loadOlder() {
    const id = state().openConversationId;
    const t = threadOf(state(), id);
    if (!id || t.loadingOlder || !t.loaded || t.lowestSeq == null || t.lowestSeq <= 1) return;
    store.dispatch({ type: 'older/loading', id, loading: true });
    try {
      const messages = await api.get(conversationPath(id, `messages/?before_seq=${t.lowestSeq}&limit=${PAGE}`));
      if (Array.isArray(messages)) store.dispatch({ type: 'older/loaded', id, messages });
    } catch (err) {
      app.controller.showError('chat', app.controller.errorText(err));
    } finally {
      store.dispatch({ type: 'older/loading', id, loading: false });
    }
  }

  /**
   * The history around message `seq` (a search result): the history API's two cursors,
   * `before_seq` (the message and older) and `after_seq` (newer), AROUND each.
   */
  async function loadAround(id, messageId, seq) {
    const [older, newer] = await Promise.all([
      api.get(conversationPath(id, `messages/?before_seq=${seq + 1}&limit=${AROUND}`)),
      api.get(conversationPath(id, `messages/?after_seq=${seq}&limit=${AROUND}`)),
    ]);
    if (!Array.isArray(older) || !Array.isArray(newer)) return;
    store.dispatch({ type: 'thread/jumped', id, messageId, messages: older.concat(newer), reachedEnd: newer.length < AROUND });
  }

  /** The next page after a thread loaded around an older message. */
  let loadingNewer = false;
  async function loadNewer() {
    const id = state().openConversationId;
    const t = threadOf(state(), id);
    if (!id || loadingNewer || !t.newerMissing) return;
    loadingNewer = true;
    try {
      const messages = await api.get(conversationPath(id, `messages/?after_seq=${t.highestSeq}&limit=${PAGE}`));
      if (Array.isArray(messages)) store.dispatch({ type: 'newer/loaded', id, messages, reachedEnd: messages.length < PAGE });
    } catch (err) {
      app.controller.showError('chat', app.controller.errorText(err));
    } finally {
      loadingNewer = false;
    }
  }

  /** The open conversation's new messages and the list, after a gap or on a poll. */
  async function syncOpen({ onlyIfBehind }) {
    const id = state().openConversationId;
    if (!id) return;
    const t = threadOf(state(), id);
    if (!onlyIfBehind || !t.loaded || t.stale || topSeq(state(), id) > t.highestSeq) await catchUp(id);
  }

  /** After (re)connecting: what happened while we were away. */
  async function syncAll() {
    try {
      await refreshConversations({ notify: true });
      await syncOpen({ onlyIfBehind: false });
    } catch (_) { /* the next poll or reconnect tries again */ }
    loadPresence().catch(() => {});
  }

  /** One polling round while the socket is down. */
  async function poll() {
    if (state().signedOut) return;
    await refreshConversations({ notify: true });
    await syncOpen({ onlyIfBehind: true });
  }

  // Read receipts: whenever the open conversation is on screen with something unread.
  // REST rather than the socket's `read` frame: it answers, so a refused receipt is not
  // lost silently.
  const markTimers = new Map();
  function markReadIfViewing() {
    const id = state().openConversationId;
    if (!needsReadReceipt(state(), id) || markTimers.has(id)) return;
    markTimers.set(id, setTimeout(async () => {
      markTimers.delete(id);
      if (!isViewing(state(), id)) return;
      store.dispatch({ type: 'conversation/read', id, seq: topSeq(state(), id) });
      try {
        await api.post(conversationPath(id, 'mark_read/'));
      } catch (_) {
        store.dispatch({ type: 'conversation/readFailed', id });
      }
    }, MARK_READ_DELAY_MS));
  }

  return {
    refreshConversations, refreshSoon, loadPresence, catchUp, loadOlder, loadAround, loadNewer, syncAll, poll, markReadIfViewing,
  };
}
