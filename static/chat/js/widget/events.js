// What the server's socket frames do to the widget (see the AsyncAPI document): each
// frame becomes one store action, plus the effects it needs (catch-up, receipts,
// notifications). Delivered receipts are coalesced per conversation.

import { isMember } from './live.js';
import { withOwnReactions } from './reactions.js';
import { conversationOf, hasGapBefore, isMine, isUnseenNews, isViewing, threadOf } from './store.js';

const TYPING_SHOWN_MS = 2500;
const ACK_DELAY_MS = 250; // one `ack` frame for a burst of messages

export function createEventHandler(app) {
  const { store, sync } = app;
  const state = () => store.getState();

  const acks = new Map();
  let ackTimer = null;
  function queueAck(conversationId, seq) {
    acks.set(conversationId, Math.max(acks.get(conversationId) || 0, seq));
    if (ackTimer) return;
    ackTimer = setTimeout(() => {
      ackTimer = null;
      for (const [id, top] of acks) app.transport.send({ type: 'ack', conversation_id: id, seq: top });
      acks.clear();
    }, ACK_DELAY_MS);
  }

  function messageCreated(ev) {
    const m = ev.message;
    if (!m || !m.id) return;
    const id = String(ev.conversation_id || m.conversation);
    const s = state();
    if (!conversationOf(s, id)) sync.refreshSoon();
    if (isUnseenNews(s, id, m)) app.notifier.notify(conversationOf(s, id), m);
    const gap = hasGapBefore(s, id, m) && id === s.openConversationId;
    if (isMine(s, m)) app.stickToBottom();
    store.dispatch({ type: 'message/created', id, message: m });
    if (gap) sync.catchUp(id).catch(() => {});
    // Delivered receipt; the read receipt (when on screen) follows from the store change.
    // A viewer (of a shared or support conversation) has no receipts.
    const conv = conversationOf(s, id);
    if (!isMine(s, m) && (!conv || isMember(conv))) queueAck(id, m.seq);
  }

  function presenceChanged(changes) {
    const known = new Set(state().users.map((u) => String(u.id)));
    // Someone we do not list yet (a new colleague): the list is reloaded with presence.
    if (changes.some((c) => !known.has(String(c.userId)))) sync.loadPresence().catch(() => {});
    store.dispatch({ type: 'presence/batch', changes, at: new Date().toISOString() });
  }

  const handlers = {
    connected() {
      store.dispatch({ type: 'socket/ready' });
      sync.syncAll();
    },
    message_created: messageCreated,
    message_updated(ev) {
      if (!ev.message || !ev.message.id) return;
      const id = String(ev.conversation_id || ev.message.conversation);
      const held = threadOf(state(), id).byId[ev.message.id];
      store.dispatch({ type: 'message/updated', id, message: withOwnReactions(held, ev.message) });
    },
    reaction(ev) {
      store.dispatch({
        type: 'reaction/changed', id: String(ev.conversation_id), messageId: String(ev.message_id), emoji: ev.emoji, userId: ev.user_id, added: !!ev.added,
      });
    },
    mention(ev) {
      // Follows the message's own message_created: the badge counts it unless it is on
      // screen; a mention notifies even in a muted conversation.
      const id = String(ev.conversation_id);
      const s = state();
      store.dispatch({ type: 'mention/received', id, viewing: isViewing(s, id) });
      if (ev.message && conversationOf(s, id)) app.notifier.notify(conversationOf(s, id), ev.message, { mention: true });
    },
    message_status(ev) {
      store.dispatch({ type: 'message/status', id: String(ev.conversation_id), seq: ev.seq, status: ev.status });
    },
    read(ev) {
      // Our own receipts from another tab; other people's move their "seen by" (their
      // effect on our ticks arrives as message_status).
      const id = String(ev.conversation_id);
      if (String(ev.user_id) === state().me) store.dispatch({ type: 'conversation/read', id, seq: ev.seq });
      else store.dispatch({ type: 'members/read', id, userId: ev.user_id, seq: ev.seq });
    },
    typing(ev) {
      if (String(ev.user_id) === state().me) return;
      store.dispatch({
        type: 'typing/started', id: String(ev.conversation_id), userId: ev.user_id, name: ev.user_name || '', until: Date.now() + TYPING_SHOWN_MS,
      });
      setTimeout(() => store.dispatch({ type: 'typing/expired', now: Date.now() }), TYPING_SHOWN_MS + 100);
    },
    presence(ev) {
      presenceChanged([{ userId: ev.user_id, online: !!ev.is_online }]);
    },
    presence_batch(ev) {
      presenceChanged((ev.changes || []).map((c) => ({ userId: c.user_id, online: !!c.is_online })));
    },
    presence_state(ev) {
      if (Array.isArray(ev.users)) store.dispatch({ type: 'presence/state', users: ev.users });
    },
    conversation_updated(ev) {
      // Settings or members changed (here, by someone else, or we were removed): the
      // open one reloads its members, for the info panel and "seen by".
      if (ev.conversation && ev.conversation.id) app.groups.received(ev.conversation);
    },
    conversation_deleted(ev) {
      const id = String(ev.conversation_id);
      if (id === state().openConversationId) app.controller.showError('chat', app.t('conversation.deleted'));
      store.dispatch({ type: 'conversation/deleted', id });
    },
    support_updated: () => app.support.updated(),
    send_ok: (ev) => app.sending.answered(ev),
    send_error: (ev) => app.sending.answered(ev),
    error(ev) {
      // Answers to our own frames (typing, ack, ping): nothing the user did or can fix.
      if (globalThis.console && console.debug) console.debug('tenantchat socket error', ev.error, ev.message);
    },
  };

  return function handleFrame(ev) {
    const handler = Object.prototype.hasOwnProperty.call(handlers, ev.type) ? handlers[ev.type] : null;
    if (handler) handler(ev);
  };
}
