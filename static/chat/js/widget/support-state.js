// The support desk, the DOM-free part: whether the user staffs the desk (an agent or an
// admin), the inbox's status tab and its lists, the tenant's canned replies, and which
// of them the composer's `/` picker offers. store.js hands it the actions it does not know.

export const SUPPORT_STATUSES = ['open', 'assigned', 'closed'];
const MAX_PICKS = 8;

export function initialSupportState() {
  return {
    support: {
      staff: false, // may use the inbox and canned replies
      tab: 'open', // the inbox's status tab
      inbox: { open: null, assigned: null, closed: null }, // null: not loaded yet
      canned: [], // [{shortcut, text}]
    },
  };
}

export const isSupport = (conv) => !!conv && conv.kind === 'support';

/**
 * The canned replies the composer offers for `text`: only while it is `/` and a
 * shortcut being typed (no white space); shortcuts that start with it first, then
 * those that contain it.
 */
export function cannedMatches(canned, text) {
  if (!text || text[0] !== '/' || /\s/.test(text)) return [];
  const q = text.slice(1).toLowerCase();
  const starts = canned.filter((r) => r.shortcut.startsWith(q));
  const contains = canned.filter((r) => !r.shortcut.startsWith(q) && r.shortcut.includes(q));
  return starts.concat(contains).slice(0, MAX_PICKS);
}

/**
 * Whether a support conversation's messages (in seq order) end closed: its last desk
 * step among them is `support_closed`.
 */
export function endsClosed(messages) {
  for (let i = messages.length - 1; i >= 0; i -= 1) {
    const event = messages[i] && messages[i].metadata && messages[i].metadata.event;
    if (typeof event === 'string' && event.startsWith('support_')) return event === 'support_closed';
  }
  return false;
}

/**
 * Whether an inbox entry has news for this agent: its last message is the requester's
 * and this widget has not shown it. `highestSeq` is the highest seq of the conversation
 * the widget holds (0 when never opened); a conversation the agent is a member of also
 * needs it unread on the server, so what they read in an earlier visit is no news.
 */
export function hasNews(entry, highestSeq) {
  const c = entry && entry.conversation;
  const last = c && c.last_message;
  if (!last || String(last.sender_id) !== String(entry.requester && entry.requester.id)) return false;
  if (last.seq <= (highestSeq || 0)) return false;
  return c.my_role == null || (c.unread_count || 0) > 0;
}

const withSupport = (state, change) => ({ ...state, support: { ...state.support, ...change } });

/** Returns the next state, or undefined for an action this module does not handle. */
export function reduceSupport(state, action) {
  switch (action.type) {
    case 'support/staff':
      return withSupport(state, { staff: !!action.staff, canned: Array.isArray(action.canned) ? action.canned : [] });
    case 'support/tab':
      return SUPPORT_STATUSES.includes(action.tab) ? withSupport(state, { tab: action.tab }) : state;
    case 'support/inbox':
      return withSupport(state, { inbox: { ...state.support.inbox, [action.status]: action.items } });
    default:
      return undefined;
  }
}
