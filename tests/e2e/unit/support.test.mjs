// The support desk's DOM-free part: which canned replies the composer offers for what
// is typed, and the inbox state.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cannedMatches, endsClosed, hasNews, initialSupportState, reduceSupport } from '../../../static/chat/js/widget/support-state.js';

const canned = [
  { shortcut: 'hello', text: 'Hi! How can I help?' },
  { shortcut: 'refund', text: 'Your refund is on its way.' },
  { shortcut: 'thanks-hello', text: 'Thanks, and hello again.' },
];

test('a slash lists every reply; more letters filter, prefixes first', () => {
  assert.deepEqual(cannedMatches(canned, '/').map((r) => r.shortcut), ['hello', 'refund', 'thanks-hello']);
  assert.deepEqual(cannedMatches(canned, '/hel').map((r) => r.shortcut), ['hello', 'thanks-hello']);
  assert.deepEqual(cannedMatches(canned, '/REF').map((r) => r.shortcut), ['refund']);
});

test('no picker without a leading slash, after a space, or without a match', () => {
  for (const text of ['', 'hello', ' /hello', '/hello there', '/zzz']) assert.deepEqual(cannedMatches(canned, text), [], text);
});

test('the inbox keeps one list per status and ignores unknown tabs', () => {
  let state = initialSupportState();
  state = reduceSupport(state, { type: 'support/staff', staff: true, canned });
  state = reduceSupport(state, { type: 'support/inbox', status: 'open', items: [{ id: 1 }] });
  state = reduceSupport(state, { type: 'support/tab', tab: 'closed' });
  assert.equal(reduceSupport(state, { type: 'support/tab', tab: 'spam' }), state);
  assert.deepEqual(state.support.inbox, { open: [{ id: 1 }], assigned: null, closed: null });
  assert.equal(state.support.tab, 'closed');
  assert.equal(state.support.staff, true);
  assert.equal(reduceSupport(state, { type: 'presence/batch' }), undefined);
});

test('a support conversation ends closed when its last desk step closed it', () => {
  const step = (event) => ({ kind: 'system', metadata: { event } });
  const text = { kind: 'text', metadata: {} };
  assert.equal(endsClosed([]), false);
  assert.equal(endsClosed([step('support_assigned'), text]), false);
  assert.equal(endsClosed([step('support_assigned'), step('support_closed'), text]), true);
  assert.equal(endsClosed([step('support_closed'), step('support_reopened')]), false);
});

test("an inbox entry is news while the requester's latest message is unseen", () => {
  const entry = (last, conv = {}) => ({
    requester: { id: 'u1' },
    conversation: { id: 'c1', my_role: null, unread_count: 0, last_message: last, ...conv },
  });
  const fromRequester = { seq: 4, sender_id: 'u1' };
  assert.equal(hasNews(entry(fromRequester), 0), true, 'never opened here');
  assert.equal(hasNews(entry(fromRequester), 3), true, 'newer than what this widget holds');
  assert.equal(hasNews(entry(fromRequester), 4), false, 'shown already');
  assert.equal(hasNews(entry({ seq: 5, sender_id: 'agent' }), 0), false, 'an answer is no news');
  assert.equal(hasNews(entry(null), 0), false, 'no message yet');
  const member = { my_role: 'member' };
  assert.equal(hasNews(entry(fromRequester, { ...member, unread_count: 0 }), 0), false, 'a member read it before');
  assert.equal(hasNews(entry(fromRequester, { ...member, unread_count: 1 }), 0), true, 'a member has it unread');
});
