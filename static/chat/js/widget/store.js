// The widget's state and the pure reducer that changes it. No DOM, no fetch, no timers:
// everything here is a function of (state, action), so it runs under `node --test` as is.
// Views render from this state; the controller turns clicks, socket frames and HTTP
// answers into actions (see main.js for the loop). The v2 parts (members, roles, message
// actions, the directory) live in live.js; search, jumps, reactions and mentions in find-state.js.

import { initialFindState, reduceFind } from './find-state.js';
import { afterCoreAction, initialLiveState, reduceLive } from './live.js';
import { reactionsKey } from './reactions.js';
import { initialSupportState, reduceSupport } from './support-state.js';

/** How far a message of ours has got; a lower status never overwrites a higher one. */
export const STATUS_RANK = { sent: 1, delivered: 2, read: 3 };
const rank = (status) => STATUS_RANK[status] || 0;

export function initialState(me) {
  return {
    me: String(me),
    socket: 'closed', // 'connecting' | 'open' | 'closed'
    socketReady: false, // the server said "connected"
    everConnected: false,
    polling: false,
    signedOut: false,
    panelOpen: false,
    activeTab: 'conversations', // 'chat' | 'conversations' | 'users' | 'inbox'
    pageVisible: true,
    showArchived: false,
    openConversationId: null,
    conversations: {}, // every conversation seen, by id
    liveSeq: 0, // counts conversations received live (see `conversations/loaded`)
    threads: {}, // the messages we hold, per conversation id (see emptyThread)
    users: [], // the tenant's users with presence
    typing: {}, // conversation id → {user id → {name, until}}
    draftFiles: [], // files picked for the next message
    uploadPercent: null, // progress of the upload under way
    notifyPrompt: false, // offer the "enable notifications" button
    errors: {}, // area ('chat' | 'list' | 'users' | 'group' | 'info' | 'directory') → text shown there
    ...initialLiveState(),
    ...initialFindState(),
    ...initialSupportState(),
  };
}

export const emptyThread = Object.freeze({
  byId: Object.freeze({}), // server messages by id
  pending: Object.freeze([]), // our sends without a server copy yet, in order
  loaded: false, // the latest page has been fetched
  stale: false, // events may have been missed: reload before trusting it
  lowestSeq: null,
  highestSeq: 0,
  loadingOlder: false,
  readSeq: 0, // the highest seq we have marked read
  newerMissing: false, // loaded around an older message: newer ones load on request
});

// ------------------------------------------------------------------ selectors

export const threadOf = (state, id) => (id && state.threads[id]) || emptyThread;
export const conversationOf = (state, id) => (id && state.conversations[id]) || null;
export const isMine = (state, m) => String(m.sender_id) === state.me;

/** The user is looking at this conversation right now. */
export function isViewing(state, id) {
  return !!id && state.panelOpen && state.activeTab === 'chat' && state.openConversationId === id && state.pageVisible;
}

function activity(c) {
  const v = Date.parse((c.last_message && c.last_message.created_at) || c.updated_at || c.created_at);
  return Number.isNaN(v) ? 0 : v;
}
export const byActivity = (a, b) => activity(b) - activity(a);

/** The Chats list: newest activity first, archived ones only when asked for. */
export function visibleConversations(state) {
  return Object.values(state.conversations).filter((c) => state.showArchived || !c.is_archived).sort(byActivity);
}

export function groupConversations(state) {
  return Object.values(state.conversations).filter((c) => c.is_group && !c.is_archived).sort(byActivity);
}

export function totalUnread(state) {
  let n = 0;
  for (const c of Object.values(state.conversations)) if (!c.is_archived) n += Math.max(0, c.unread_count || 0);
  return n;
}

export function otherParticipant(state, conv) {
  if (!conv || conv.is_group) return null;
  return (conv.participants || []).find((p) => String(p.id) !== state.me) || null;
}

export function userOnline(state, id) {
  const u = state.users.find((x) => String(x.id) === String(id));
  return !!(u && u.is_online);
}

/** The most users one `presence_subscribe` may name (the server refuses more). */
export const MAX_PRESENCE_INTEREST = 500;

/**
 * The users whose presence the widget shows, the most visible first (the open
 * conversation's members, the 1-to-1 partners of the Chats list, the Users & Groups
 * list), at most 500, sorted: a reordered list is the same subscription.
 */
export function presenceInterest(state) {
  const ids = new Set();
  const add = (id) => {
    if (id != null && String(id) !== state.me && ids.size < MAX_PRESENCE_INTEREST) ids.add(String(id));
  };
  const open = conversationOf(state, state.openConversationId);
  for (const p of (open && open.participants) || []) add(p.id);
  for (const c of visibleConversations(state)) add((otherParticipant(state, c) || {}).id);
  for (const u of state.users) add(u.id);
  return [...ids].sort();
}

/** Users' presence changed (`changes`: [{userId, online}]) at `at`. */
function presenceChanged(state, changes, at) {
  const byId = new Map(changes.map((c) => [String(c.userId), !!c.online]));
  return {
    ...state,
    users: state.users.map((u) => {
      const id = String(u.id);
      if (!byId.has(id)) return u;
      const online = byId.get(id);
      return { ...u, is_online: online, last_seen: online ? u.last_seen : at };
    }),
  };
}

/** Server messages in seq order, then our pending sends. */
export function threadItems(state, id) {
  const t = threadOf(state, id);
  return Object.values(t.byId).sort((a, b) => a.seq - b.seq).concat(t.pending);
}

/** Names of the people typing in a conversation at `now` (ms). */
export function typingNames(state, id, now) {
  const map = state.typing[id] || {};
  return Object.values(map).filter((v) => v.until > now).map((v) => v.name);
}

/** The connection as the user sees it: a string key and a data-state value. */
export function connectionStatus(state) {
  if (state.signedOut) return { key: 'status.signedOut', name: 'signed-out' };
  if (state.socket === 'open' && state.socketReady) return { key: 'status.online', name: 'online' };
  if (!state.everConnected && !state.polling) return { key: 'status.connecting', name: 'connecting' };
  return { key: 'status.reconnecting', name: 'reconnecting' };
}

/** The highest seq known in a conversation (held messages or the list's last message). */
export function topSeq(state, id) {
  const conv = conversationOf(state, id);
  return Math.max(threadOf(state, id).highestSeq, conv && conv.last_message ? conv.last_message.seq : 0);
}

/** The open conversation has something unread that a receipt should cover. */
export function needsReadReceipt(state, id) {
  if (!isViewing(state, id)) return false;
  const conv = conversationOf(state, id);
  return !!(conv && conv.unread_count > 0) || topSeq(state, id) > threadOf(state, id).readSeq;
}

/**
 * A live message that has a gap before it in a thread we trust: the open conversation
 * fetches what is missing (after_seq), another one is marked stale. A thread loaded
 * around an older message always has one (its newer messages load on request).
 */
export function hasGapBefore(state, id, m) {
  const t = threadOf(state, id);
  return t.loaded && !t.stale && !t.byId[m.id] && (t.newerMissing || m.seq > t.highestSeq + 1);
}

/** A message from someone else that is news to us and not on screen: worth a notification. */
export function isUnseenNews(state, id, m) {
  const conv = conversationOf(state, id);
  if (!conv || isMine(state, m) || threadOf(state, id).byId[m.id] || isViewing(state, id)) return false;
  return !conv.last_message || m.seq > conv.last_message.seq;
}

/** What changes a message's rendering (a new version replaces its element). */
export function messageVersion(m) {
  const atts = (m.attachments || []).map((a) => (a.deleted ? 'x' : 'o')).join('');
  return `${m.status || ''}|${m.updated_at || ''}|${atts}|${m.state || ''}|${m.edited_at || ''}|${m.deleted ? 'd' : ''}|${reactionsKey(m)}|${m.content || ''}`;
}

// ------------------------------------------------------------------ helpers

const put = (obj, key, value) => ({ ...obj, [key]: value });
const withThread = (state, id, patch) => ({ ...state, threads: put(state.threads, id, { ...threadOf(state, id), ...patch }) });
const withConversation = (state, conv) => ({ ...state, conversations: put(state.conversations, conv.id, conv) });

/**
 * A late snapshot of a conversation keeps the newer last message we already have, and
 * what came with it (the unread count, the activity time, un-archiving).
 */
function mergeConversation(prev, c) {
  if (prev && prev.last_message && c.last_message && prev.last_message.seq > c.last_message.seq) {
    const { last_message, unread_count, updated_at, is_archived } = prev;
    return { ...c, last_message, unread_count, updated_at, is_archived };
  }
  return c;
}

/**
 * Adds server messages to a thread, by id (duplicates merge, statuses never go back).
 * Returns the new thread and the messages that were new to it.
 */
export function mergeMessages(thread, messages, me) {
  const byId = { ...thread.byId };
  let pending = thread.pending;
  let { lowestSeq, highestSeq } = thread;
  const added = [];
  for (const m of messages) {
    if (!m || !m.id) continue;
    const prev = byId[m.id];
    if (prev) {
      const merged = rank(prev.status) > rank(m.status) ? { ...m, status: prev.status } : m;
      if (messageVersion(merged) !== messageVersion(prev)) byId[m.id] = merged;
      continue;
    }
    if (String(m.sender_id) === me) {
      // The socket's echo of our own send may beat the POST's answer: it replaces the pending copy.
      const n = (m.attachments || []).length;
      const i = pending.findIndex((p) => p.state !== 'failed' && p.content === (m.content || '') && p.attachments.length === n);
      if (i >= 0) pending = pending.filter((_, j) => j !== i);
    }
    byId[m.id] = m;
    highestSeq = Math.max(highestSeq, m.seq);
    lowestSeq = lowestSeq == null ? m.seq : Math.min(lowestSeq, m.seq);
    added.push(m);
  }
  return { thread: { ...thread, byId, pending, lowestSeq, highestSeq }, added };
}

/** A message new to us updates its conversation's preview, unread count and typing. */
function noteMessage(state, id, m) {
  const conv = conversationOf(state, id);
  if (!conv) return state;
  const fromOther = !isMine(state, m);
  let next = state;
  if (!conv.last_message || m.seq > conv.last_message.seq) {
    const c = { ...conv, last_message: m, updated_at: m.created_at };
    if (fromOther) {
      c.is_archived = false; // a new message brings an archived conversation back
      if (!isViewing(state, id)) c.unread_count = (conv.unread_count || 0) + 1;
    }
    next = withConversation(next, c);
  }
  if (fromOther && next.typing[id] && next.typing[id][String(m.sender_id)]) {
    const { [String(m.sender_id)]: _gone, ...rest } = next.typing[id];
    next = { ...next, typing: put(next.typing, id, rest) };
  }
  return next;
}

function receive(state, id, messages, { replace = false, note = true } = {}) {
  const base = replace ? { ...threadOf(state, id), byId: {}, lowestSeq: null, highestSeq: 0 } : threadOf(state, id);
  const { thread, added } = mergeMessages(base, messages, state.me);
  let next = withThread(state, id, thread);
  if (note) for (const m of added) next = noteMessage(next, id, m);
  return next;
}

function mapThreads(state, fn) {
  const threads = {};
  for (const [id, t] of Object.entries(state.threads)) threads[id] = fn(t, id);
  return { ...state, threads };
}

function mapPending(state, id, clientId, fn) {
  const t = threadOf(state, id);
  return withThread(state, id, { pending: t.pending.map((p) => (p.client_id === clientId ? fn(p) : p)) });
}

// ------------------------------------------------------------------ the reducer

export function reduce(state, action) {
  const live = reduceLive(state, action) ?? reduceFind(state, action) ?? reduceSupport(state, action);
  if (live !== undefined) return live;
  const next = reduceCore(state, action);
  return next === state ? state : afterCoreAction(state, next, action);
}

function reduceCore(state, action) {
  switch (action.type) {
    // --- connection
    case 'socket/connecting':
      return { ...state, socket: 'connecting', socketReady: false };
    case 'socket/opened':
      return { ...state, socket: 'open' };
    case 'socket/ready':
      // Events may have been missed while away: every held thread but the open one
      // (which catches up at once) is reloaded before it is trusted again.
      return mapThreads({ ...state, socketReady: true, everConnected: true, polling: false },
        (t, id) => (id !== state.openConversationId && t.loaded ? { ...t, stale: true } : t));
    case 'socket/closed':
      return { ...state, socket: 'closed', socketReady: false };
    case 'polling/changed':
      return { ...state, polling: action.on };
    case 'session/ended':
      return { ...state, signedOut: true, polling: false, socket: 'closed', socketReady: false };

    // --- the panel
    case 'panel/opened':
      return { ...state, panelOpen: true };
    case 'panel/closed':
      return { ...state, panelOpen: false };
    case 'tab/selected':
      return { ...state, activeTab: action.tab };
    case 'page/visibility':
      return { ...state, pageVisible: action.visible };
    case 'archived/toggled':
      return { ...state, showArchived: action.show };
    case 'conversation/opened': {
      const switching = state.openConversationId !== action.id;
      let next = { ...state, openConversationId: action.id, activeTab: 'chat' };
      // Opened as usual (not to a search result): back to the newest messages.
      if (!action.jump && threadOf(state, action.id).newerMissing) next = withThread(next, action.id, { stale: true });
      return switching ? { ...next, errors: put(state.errors, 'chat', null) } : next;
    }
    case 'error/shown':
      return { ...state, errors: put(state.errors, action.area, action.text) };
    case 'error/dismissed': {
      // With a text: only if that message is still the one shown (a newer one stays).
      const shown = state.errors[action.area];
      return shown && (action.text === undefined || shown === action.text) ? { ...state, errors: put(state.errors, action.area, null) } : state;
    }
    case 'notify/prompt':
      return { ...state, notifyPrompt: action.visible };

    // --- conversations and people
    case 'conversations/loaded': {
      const conversations = { ...state.conversations };
      let next = state;
      const seen = new Set();
      // A conversation received live after the list was asked for (`since`) is newer than
      // the list's copy, or missing from it (a group created meanwhile): it stays as is.
      const newer = (c) => action.since !== undefined && c && c.liveSeq > action.since;
      for (const raw of action.list) {
        seen.add(raw.id);
        if (newer(conversations[raw.id])) continue;
        const c = mergeConversation(conversations[raw.id], { ...raw });
        if (isViewing(state, c.id)) Object.assign(c, { unread_count: 0, mention_count: 0 }); // on screen: the receipt follows
        conversations[c.id] = c;
        const t = state.threads[c.id];
        if (t && c.last_message && c.last_message.seq > t.highestSeq && c.id !== state.openConversationId) {
          next = withThread(next, c.id, { stale: true });
        }
      }
      // Conversations that left the list (archived elsewhere) go, except the open one.
      for (const [id, c] of Object.entries(conversations)) {
        if (!seen.has(id) && id !== state.openConversationId && !newer(c) && (action.archived || !c.is_archived)) delete conversations[id];
      }
      return { ...next, conversations };
    }
    case 'conversation/received': {
      const liveSeq = state.liveSeq + 1;
      const conv = { ...mergeConversation(state.conversations[action.conversation.id], action.conversation), liveSeq };
      return withConversation({ ...state, liveSeq }, conv);
    }
    case 'conversation/flagged': {
      const conv = conversationOf(state, action.id);
      return conv ? withConversation(state, { ...conv, ...action.flags }) : state;
    }
    case 'presence/loaded':
      return { ...state, users: action.users };
    case 'presence/changed':
      return presenceChanged(state, [{ userId: action.userId, online: action.online }], action.at);
    case 'presence/batch':
      return presenceChanged(state, action.changes, action.at);
    case 'presence/state': {
      // The answer to `presence_subscribe`: the truth for the users it names.
      const byId = new Map(action.users.map((u) => [String(u.user_id), u]));
      return {
        ...state,
        users: state.users.map((u) => {
          const fresh = byId.get(String(u.id));
          return fresh ? { ...u, is_online: !!fresh.is_online, last_seen: fresh.last_seen ?? u.last_seen } : u;
        }),
      };
    }
    case 'typing/started': {
      const map = put(state.typing[action.id] || {}, String(action.userId), { name: action.name, until: action.until });
      return { ...state, typing: put(state.typing, action.id, map) };
    }
    case 'typing/expired': {
      const typing = {};
      for (const [id, map] of Object.entries(state.typing)) {
        typing[id] = Object.fromEntries(Object.entries(map).filter(([, v]) => v.until > action.now));
      }
      return { ...state, typing };
    }

    // --- messages
    case 'messages/received':
      // A page from the server (latest, after_seq catch-up or our own send's answer).
      return receive(state, action.id, action.messages, { replace: action.replace });
    case 'thread/loaded':
      return withThread(state, action.id, { loaded: true, stale: false, newerMissing: false });
    case 'message/created': {
      // A live event: stored only when it follows what we hold, so a thread never has holes.
      const t = threadOf(state, action.id);
      const m = action.message;
      const conv = conversationOf(state, action.id);
      let isNew = !t.byId[m.id];
      let next = state;
      if (t.loaded && !t.stale && isNew) {
        if (m.seq <= t.highestSeq + 1) next = withThread(next, action.id, mergeMessages(t, [m], state.me).thread);
        else if (action.id !== state.openConversationId) next = withThread(next, action.id, { stale: true });
      }
      if (isNew && conv && conv.last_message && conv.last_message.seq >= m.seq) isNew = false;
      return isNew ? noteMessage(next, action.id, m) : next;
    }
    case 'message/updated': {
      const t = threadOf(state, action.id);
      const m = action.message;
      let next = t.byId[m.id] ? withThread(state, action.id, mergeMessages(t, [m], state.me).thread) : state;
      const conv = conversationOf(next, action.id);
      if (conv && conv.last_message && conv.last_message.id === m.id) next = withConversation(next, { ...conv, last_message: m });
      return next;
    }
    case 'message/status': {
      const { id, seq, status } = action;
      const upgrade = (m) => (isMine(state, m) && m.seq <= seq && rank(m.status) < rank(status) ? { ...m, status } : m);
      let next = state;
      const t = state.threads[id];
      if (t) {
        const byId = {};
        for (const [mid, m] of Object.entries(t.byId)) byId[mid] = upgrade(m);
        next = withThread(next, id, { byId });
      }
      const conv = conversationOf(next, id);
      if (conv && conv.last_message) next = withConversation(next, { ...conv, last_message: upgrade(conv.last_message) });
      return next;
    }
    case 'conversation/read': {
      // Read up to `seq`, here or in another tab of ours.
      const conv = conversationOf(state, action.id);
      let next = withThread(state, action.id, { readSeq: Math.max(threadOf(state, action.id).readSeq, action.seq) });
      if (conv && (!conv.last_message || conv.last_message.seq <= action.seq)) next = withConversation(next, { ...conv, unread_count: 0, mention_count: 0 });
      return next;
    }
    case 'conversation/readFailed':
      return withThread(state, action.id, { readSeq: 0 });
    case 'older/loading':
      return withThread(state, action.id, { loadingOlder: action.loading });
    case 'older/loaded':
      return receive(state, action.id, action.messages, { note: false });

    // --- sending
    case 'draft/filesAdded':
      return { ...state, draftFiles: state.draftFiles.concat(action.files) };
    case 'draft/fileRemoved':
      return { ...state, draftFiles: state.draftFiles.filter((_, i) => i !== action.index) };
    case 'draft/cleared':
      return { ...state, draftFiles: [] };
    case 'send/queued': {
      const p = action.pending;
      return withThread(state, p.conversation, { pending: threadOf(state, p.conversation).pending.concat(p) });
    }
    case 'send/started':
      return mapPending(state, action.id, action.clientId, (p) => ({ ...p, state: 'pending' }));
    case 'send/failed':
      return mapPending(state, action.id, action.clientId, (p) => ({ ...p, state: 'failed' }));
    case 'send/discarded':
      return withThread(state, action.id, { pending: threadOf(state, action.id).pending.filter((p) => p.client_id !== action.clientId) });
    case 'send/done': {
      const next = withThread(state, action.id, { pending: threadOf(state, action.id).pending.filter((p) => p.client_id !== action.clientId) });
      if (!action.message || !action.message.id) return next;
      // Like a live event: stored only when it follows what we hold. Others may have
      // written since our last fetch; the catch-up the composer starts brings theirs and ours.
      return hasGapBefore(state, action.id, action.message) ? next : receive(next, action.id, [action.message]);
    }
    case 'upload/progress':
      return { ...state, uploadPercent: action.percent };
    default:
      return state;
  }
}

/** A store: one state, changed only by dispatching actions to the reducer. */
export function createStore(reducer, state) {
  const listeners = new Set();
  return {
    getState: () => state,
    dispatch(action) {
      const next = reducer(state, action);
      if (next === state) return;
      const prev = state;
      state = next;
      for (const fn of listeners) fn(state, prev, action);
    },
    subscribe(fn) {
      listeners.add(fn);
      return () => listeners.delete(fn);
    },
  };
}
