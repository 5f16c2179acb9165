// Which users' presence the socket follows: the ones the widget shows (see
// `presenceInterest`), sent as one `presence_subscribe` once each socket is ready
// (`connected`) and again whenever that set changes. The server then sends `presence_state` for them and
// batched changes of those users only.

import { presenceInterest } from './store.js';

export function createPresenceFollower(app) {
  let subscribed = null; // the ids (joined) this socket follows; null: nothing chosen yet
  let seen = null; // the state parts the interest was last computed from
  let interest = [];

  function current(s) {
    if (!seen || seen.users !== s.users || seen.conversations !== s.conversations
      || seen.open !== s.openConversationId || seen.archived !== s.showArchived) {
      seen = { users: s.users, conversations: s.conversations, open: s.openConversationId, archived: s.showArchived };
      interest = presenceInterest(s);
    }
    return interest;
  }

  /** After a store change: subscribe if what the widget shows changed, or the socket is new. */
  function update() {
    const s = app.store.getState();
    if (!s.socketReady) {
      subscribed = null; // the next socket follows its default set until told otherwise
      return;
    }
    const ids = current(s);
    const key = ids.join(',');
    if (key !== subscribed && app.transport.send({ type: 'presence_subscribe', user_ids: ids })) subscribed = key;
  }

  return { update };
}
