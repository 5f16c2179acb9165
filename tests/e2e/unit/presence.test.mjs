// Presence by interest in the widget: whom it follows, how the server's presence frames
// change the store, and when it sends `presence_subscribe` (the real store, a transport
// that records what would go over the socket).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_PRESENCE_INTEREST, createStore, initialState, presenceInterest, reduce,
} from '../../../static/chat/js/widget/store.js';
import { createPresenceFollower } from '../../../static/chat/js/widget/presence.js';

const ME = 'u-me';
const user = (id, extra = {}) => ({ id, name: id, email: `${id}@x.test`, is_online: false, last_seen: null, ...extra });
const conv = (id, participants, extra = {}) => ({
  id, title: id, is_group: participants.length > 2, is_archived: false, is_muted: false, unread_count: 0,
  last_message: null, participants: participants.map((p) => ({ id: p, name: p })), created_at: '2026-01-01T09:00:00Z', ...extra,
});
const run = (state, ...actions) => actions.reduce(reduce, state);
const online = (s) => Object.fromEntries(s.users.map((u) => [u.id, u.is_online]));

test('the interest is the open conversation, the 1-to-1 partners and the users list, without me, at most 500', () => {
  let s = run(initialState(ME),
    { type: 'conversations/loaded', list: [conv('c1', [ME, 'u-ana']), conv('g1', [ME, 'u-bea', 'u-cid'])], archived: false },
    { type: 'presence/loaded', users: [user(ME), user('u-dan')] });
  assert.deepEqual(presenceInterest(s), ['u-ana', 'u-dan'], 'group members only while their group is open');
  s = run(s, { type: 'conversation/opened', id: 'g1' });
  assert.deepEqual(presenceInterest(s), ['u-ana', 'u-bea', 'u-cid', 'u-dan']);

  const crowd = Array.from({ length: 700 }, (_, i) => user(`u-${String(i).padStart(3, '0')}`));
  s = run(s, { type: 'presence/loaded', users: crowd });
  const interest = presenceInterest(s);
  assert.equal(interest.length, MAX_PRESENCE_INTEREST);
  for (const shown of ['u-ana', 'u-bea', 'u-cid']) assert.ok(interest.includes(shown), `${shown} comes first`);
});

test('presence_state sets the named users; a batch applies the last state per user', () => {
  let s = run(initialState(ME), { type: 'presence/loaded', users: [user('u-ana'), user('u-bea'), user('u-cid')] });
  s = run(s, { type: 'presence/state', users: [{ user_id: 'u-ana', is_online: true, last_seen: '2026-01-01T10:00:00.000Z' }] });
  assert.deepEqual(online(s), { 'u-ana': true, 'u-bea': false, 'u-cid': false });
  s = run(s, {
    type: 'presence/batch',
    changes: [{ userId: 'u-ana', online: false }, { userId: 'u-bea', online: true }, { userId: 'u-nobody', online: true }],
    at: '2026-01-01T11:00:00.000Z',
  });
  assert.deepEqual(online(s), { 'u-ana': false, 'u-bea': true, 'u-cid': false });
  assert.equal(s.users[0].last_seen, '2026-01-01T11:00:00.000Z', 'going offline is when we last saw them');
});

test('the follower subscribes once the socket is ready, again only when the shown users change', () => {
  const store = createStore(reduce, initialState(ME));
  const sent = [];
  const app = { store, transport: { send: (frame) => { sent.push(frame); return true; } } };
  const follower = createPresenceFollower(app);
  store.subscribe(() => follower.update());

  store.dispatch({ type: 'presence/loaded', users: [user('u-ana')] });
  assert.deepEqual(sent, [], 'no socket yet');
  store.dispatch({ type: 'socket/opened' });
  store.dispatch({ type: 'socket/ready' });
  assert.deepEqual(sent, [{ type: 'presence_subscribe', user_ids: ['u-ana'] }]);

  store.dispatch({ type: 'presence/batch', changes: [{ userId: 'u-ana', online: true }], at: 'x' });
  store.dispatch({ type: 'presence/loaded', users: [user('u-ana'), user('u-bea')] });
  assert.deepEqual(sent.map((f) => f.user_ids), [['u-ana'], ['u-ana', 'u-bea']], 'a change of presence is no new interest');

  store.dispatch({ type: 'socket/closed' });
  store.dispatch({ type: 'socket/opened' });
  store.dispatch({ type: 'socket/ready' });
  assert.equal(sent.length, 3, 'a new socket subscribes again');
});
