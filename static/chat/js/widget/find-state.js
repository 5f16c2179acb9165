// Search, jumps into history, reactions and mentions (API v2, issue 13), the state part:
// the search box's query and results, a thread loaded around an older message (with
// newer messages still to load), live reaction counts and mention badges. Like live.js,
// a function of (state, action) that store.js hands the actions it does not know.

import { applyReaction } from './reactions.js';

export function initialFindState() {
  return {
    // The search box: null results before a search; `nextCursor` pages on.
    search: { query: '', results: null, nextCursor: null, loading: false },
    jumpTarget: null, // {conversationId, messageId}: the message a search result opened
  };
}

const put = (obj, key, value) => ({ ...obj, [key]: value });

function mapMessage(state, id, messageId, fn) {
  const t = state.threads[id];
  const m = t && t.byId[messageId];
  if (!m) return state;
  const next = fn(m);
  return next === m ? state : { ...state, threads: put(state.threads, id, { ...t, byId: put(t.byId, messageId, next) }) };
}

/** Returns the next state, or undefined for an action this module does not handle. */
export function reduceFind(state, action) {
  switch (action.type) {
    case 'search/started':
      return { ...state, search: { ...state.search, query: action.query, loading: true, ...(action.more ? {} : { results: null, nextCursor: null }) } };
    case 'search/loaded': {
      if (action.query !== state.search.query) return state; // an older search answered late
      const results = action.more ? (state.search.results || []).concat(action.results) : action.results;
      return { ...state, search: { query: action.query, results, nextCursor: action.nextCursor || null, loading: false } };
    }
    case 'search/failed':
      return { ...state, search: { ...state.search, loading: false } };
    case 'search/cleared':
      return { ...state, search: initialFindState().search };
    case 'thread/jumped': {
      // The history around one message replaces what we held: older pages load above as
      // usual, newer ones on request until the newest is reached.
      const byId = {};
      let lowestSeq = null;
      let highestSeq = 0;
      for (const m of action.messages) {
        byId[m.id] = m;
        lowestSeq = lowestSeq == null ? m.seq : Math.min(lowestSeq, m.seq);
        highestSeq = Math.max(highestSeq, m.seq);
      }
      const t = state.threads[action.id] || {};
      const thread = {
        ...t, byId, pending: t.pending || [], lowestSeq, highestSeq, loaded: true, stale: false, loadingOlder: false,
        readSeq: t.readSeq || 0, newerMissing: !action.reachedEnd,
      };
      return { ...state, threads: put(state.threads, action.id, thread), jumpTarget: { conversationId: action.id, messageId: action.messageId } };
    }
    case 'jump/shown':
      return { ...state, jumpTarget: null };
    case 'newer/loaded': {
      const t = state.threads[action.id];
      if (!t) return state;
      const byId = { ...t.byId };
      let { highestSeq } = t;
      for (const m of action.messages) {
        if (!byId[m.id]) byId[m.id] = m;
        highestSeq = Math.max(highestSeq, m.seq);
      }
      return { ...state, threads: put(state.threads, action.id, { ...t, byId, highestSeq, newerMissing: !action.reachedEnd }) };
    }
    case 'reaction/changed': {
      const mine = String(action.userId) === state.me;
      return mapMessage(state, action.id, action.messageId, (m) => {
        const reactions = applyReaction(m.reactions, action.emoji, action.added, mine);
        return reactions === m.reactions ? m : { ...m, reactions };
      });
    }
    case 'reaction/restored': // our change was refused: the server's copy of the message wins
      return mapMessage(state, action.id, action.message.id, () => action.message);
    case 'mention/received': {
      const conv = state.conversations[action.id];
      if (!conv || action.viewing) return state;
      return { ...state, conversations: put(state.conversations, action.id, { ...conv, mention_count: (conv.mention_count || 0) + 1 }) };
    }
    default:
      return undefined;
  }
}
