// The widget's store alone: reducers and selectors as plain functions, no browser.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  connectionStatus, createStore, hasGapBefore, initialState, isUnseenNews, reduce, threadItems, threadOf,
  totalUnread, typingNames, visibleConversations,
} from '../../../static/chat/js/widget/store.js';

const ME = 'u-me';
const OTHER = 'u-ana';
const msg = (seq, extra = {}) => ({
  id: `m${seq}`, seq, conversation: 'c1', sender_id: OTHER, content: `hello ${seq}`, attachments: [],
  status: 'sent', created_at: `2026-01-01T10:00:${String(seq).padStart(2, '0')}Z`, ...extra,
});
const conv = (id, extra = {}) => ({
  id, title: id, is_group: false, is_archived: false, is_muted: false, unread_count: 0, last_message: null,
  participants: [{ id: ME, name: 'Me' }, { id: OTHER, name: 'Ana' }], created_at: '2026-01-01T09:00:00Z', ...extra,
});
const run = (state, ...actions) => actions.reduce(reduce, state);
const seqs = (state, id = 'c1') => threadItems(state, id).map((m) => m.seq);

function withConversation(...actions) {
  return run(initialState(ME), { type: 'conversations/loaded', list: [conv('c1')], archived: false }, ...actions);
}

test('catch-up merges by id: overlapping pages give each message once, in seq order', () => {
  const s = withConversation(
    { type: 'messages/received', id: 'c1', messages: [msg(3), msg(1), msg(2)] },
    { type: 'thread/loaded', id: 'c1' },
    { type: 'messages/received', id: 'c1', messages: [msg(2), msg(3), msg(4), msg(5)] },
  );
  assert.deepEqual(seqs(s), [1, 2, 3, 4, 5]);
  assert.equal(threadOf(s, 'c1').highestSeq, 5);
  assert.equal(threadOf(s, 'c1').lowestSeq, 1);
});

test('a received page counts unread once per new message and moves the preview', () => {
  const s = withConversation(
    { type: 'messages/received', id: 'c1', messages: [msg(1), msg(2)] },
    { type: 'messages/received', id: 'c1', messages: [msg(2)] },
  );
  assert.equal(s.conversations.c1.unread_count, 2);
  assert.equal(s.conversations.c1.last_message.seq, 2);
  assert.equal(totalUnread(s), 2);
});

test('a message status never goes back (read stays read when a late "delivered" arrives)', () => {
  const mine = (seq, status) => msg(seq, { sender_id: ME, status });
  let s = withConversation({ type: 'messages/received', id: 'c1', messages: [mine(1, 'sent'), mine(2, 'sent')] });
  s = run(s, { type: 'message/status', id: 'c1', seq: 2, status: 'read' });
  assert.deepEqual(threadItems(s, 'c1').map((m) => m.status), ['read', 'read']);
  s = run(s, { type: 'message/status', id: 'c1', seq: 2, status: 'delivered' },
    { type: 'messages/received', id: 'c1', messages: [mine(1, 'delivered')] });
  assert.deepEqual(threadItems(s, 'c1').map((m) => m.status), ['read', 'read']);
});

test('the echo of our own send replaces the pending copy; a failed one stays for retry', () => {
  const pending = (clientId, content) => ({
    client_id: clientId, conversation: 'c1', content, files: [], attachments: [], sender_id: ME, state: 'pending',
  });
  let s = withConversation(
    { type: 'send/queued', pending: pending('a', 'hi') },
    { type: 'send/queued', pending: pending('b', 'again') },
    { type: 'send/failed', id: 'c1', clientId: 'b' },
  );
  assert.equal(threadItems(s, 'c1').length, 2);
  s = run(s, { type: 'message/created', id: 'c1', message: msg(1, { sender_id: ME, content: 'hi' }) });
  // The thread was not loaded, so the live event only updates the list; the POST answer stores it.
  s = run(s, { type: 'send/done', id: 'c1', clientId: 'a', message: msg(1, { sender_id: ME, content: 'hi' }) });
  assert.deepEqual(threadItems(s, 'c1').map((m) => m.id || `pending:${m.state}`), ['m1', 'pending:failed']);
  assert.equal(s.conversations.c1.unread_count, 0, 'our own message is not unread');
});

test('a live message after a gap is not stored: the open thread catches up, another goes stale', () => {
  let s = withConversation(
    { type: 'messages/received', id: 'c1', messages: [msg(1)] },
    { type: 'thread/loaded', id: 'c1' },
  );
  assert.equal(hasGapBefore(s, 'c1', msg(2)), false);
  assert.equal(hasGapBefore(s, 'c1', msg(4)), true);
  const away = run(s, { type: 'message/created', id: 'c1', message: msg(4) });
  assert.deepEqual(seqs(away), [1]);
  assert.equal(threadOf(away, 'c1').stale, true);
  s = run(s, { type: 'conversation/opened', id: 'c1' }, { type: 'message/created', id: 'c1', message: msg(4) });
  assert.equal(threadOf(s, 'c1').stale, false, 'the open thread fetches the gap instead');
  s = run(s, { type: 'message/created', id: 'c1', message: msg(2) });
  assert.deepEqual(seqs(s), [1, 2]);
});

test('messages arriving while the conversation is on screen are not unread and clear typing', () => {
  let s = withConversation(
    { type: 'panel/opened' }, { type: 'conversation/opened', id: 'c1' },
    { type: 'typing/started', id: 'c1', userId: OTHER, name: 'Ana', until: 5000 },
  );
  assert.deepEqual(typingNames(s, 'c1', 1000), ['Ana']);
  assert.equal(isUnseenNews(s, 'c1', msg(1)), false, 'on screen: no notification');
  s = run(s, { type: 'message/created', id: 'c1', message: msg(1) });
  assert.equal(s.conversations.c1.unread_count, 0);
  assert.deepEqual(typingNames(s, 'c1', 1000), []);
  s = run(s, { type: 'page/visibility', visible: false });
  assert.equal(isUnseenNews(s, 'c1', msg(2)), true, 'hidden tab: notify');
});

test('typing indicators expire', () => {
  const s = withConversation({ type: 'typing/started', id: 'c1', userId: OTHER, name: 'Ana', until: 5000 });
  assert.deepEqual(typingNames(run(s, { type: 'typing/expired', now: 6000 }), 'c1', 0), []);
});

test('a reloaded list keeps the newer last message and drops conversations archived elsewhere', () => {
  let s = run(initialState(ME), { type: 'conversations/loaded', list: [conv('c1'), conv('c2')], archived: false },
    { type: 'message/created', id: 'c1', message: msg(7) });
  s = run(s, { type: 'conversations/loaded', list: [conv('c1', { last_message: msg(5) })], archived: false });
  assert.equal(s.conversations.c1.last_message.seq, 7);
  assert.deepEqual(Object.keys(s.conversations), ['c1']);
});

test('a list asked for before a group arrived live does not drop the group', () => {
  let s = run(initialState(ME), { type: 'conversations/loaded', list: [conv('c1')], archived: false });
  const since = s.liveSeq;
  s = run(s, { type: 'conversation/received', conversation: conv('team', { title: 'Team' }) },
    { type: 'conversations/loaded', list: [conv('c1')], archived: false, since });
  assert.deepEqual(Object.keys(s.conversations).sort(), ['c1', 'team']);
  // A list asked for afterwards is the truth again: without the group, it goes.
  s = run(s, { type: 'conversations/loaded', list: [conv('c1')], archived: false, since: s.liveSeq });
  assert.deepEqual(Object.keys(s.conversations), ['c1']);
});

test('the Chats list: newest activity first, archived only when shown', () => {
  const list = [
    conv('old', { last_message: msg(1) }),
    conv('new', { last_message: msg(9) }),
    conv('archived', { is_archived: true, last_message: msg(5), unread_count: 3 }),
  ];
  const s = run(initialState(ME), { type: 'conversations/loaded', list, archived: true });
  assert.deepEqual(visibleConversations(s).map((c) => c.id), ['new', 'old']);
  assert.deepEqual(visibleConversations(run(s, { type: 'archived/toggled', show: true })).map((c) => c.id), ['new', 'archived', 'old']);
  assert.equal(totalUnread(s), 0, 'archived conversations do not count');
});

test('a new message from someone else brings an archived conversation back', () => {
  let s = run(initialState(ME), { type: 'conversations/loaded', list: [conv('c1', { is_archived: true })], archived: true });
  s = run(s, { type: 'message/created', id: 'c1', message: msg(1) });
  assert.equal(s.conversations.c1.is_archived, false);
  assert.equal(s.conversations.c1.unread_count, 1);
});

test('reconnecting marks held threads stale except the open one', () => {
  let s = run(initialState(ME), { type: 'conversations/loaded', list: [conv('c1'), conv('c2')], archived: false },
    { type: 'thread/loaded', id: 'c1' }, { type: 'thread/loaded', id: 'c2' }, { type: 'conversation/opened', id: 'c1' });
  s = run(s, { type: 'socket/ready' });
  assert.equal(threadOf(s, 'c1').stale, false);
  assert.equal(threadOf(s, 'c2').stale, true);
  const replaced = run(s, { type: 'messages/received', id: 'c2', messages: [msg(3, { conversation: 'c2' })], replace: true });
  assert.deepEqual(seqs(replaced, 'c2'), [3]);
});

test('read elsewhere clears unread only up to the read seq', () => {
  let s = withConversation({ type: 'messages/received', id: 'c1', messages: [msg(1), msg(2)] });
  assert.equal(run(s, { type: 'conversation/read', id: 'c1', seq: 1 }).conversations.c1.unread_count, 2);
  s = run(s, { type: 'conversation/read', id: 'c1', seq: 2 });
  assert.equal(s.conversations.c1.unread_count, 0);
  assert.equal(threadOf(s, 'c1').readSeq, 2);
});

test('connection status as the user sees it', () => {
  const s0 = initialState(ME);
  assert.equal(connectionStatus(s0).name, 'connecting');
  const online = run(s0, { type: 'socket/connecting' }, { type: 'socket/opened' }, { type: 'socket/ready' });
  assert.equal(connectionStatus(online).name, 'online');
  const down = run(online, { type: 'socket/closed' }, { type: 'polling/changed', on: true });
  assert.equal(connectionStatus(down).name, 'reconnecting');
  assert.equal(connectionStatus(run(down, { type: 'session/ended' })).key, 'status.signedOut');
  assert.equal(run(down, { type: 'session/ended' }).polling, false);
});

test('the store notifies once per real change and never for a no-op', () => {
  const store = createStore(reduce, initialState(ME));
  const seen = [];
  store.subscribe((state, prev, action) => seen.push(action.type));
  store.dispatch({ type: 'panel/opened' });
  store.dispatch({ type: 'no/such/action' });
  assert.deepEqual(seen, ['panel/opened']);
  assert.equal(store.getState().panelOpen, true);
});

test('reducers do not mutate the state they are given', () => {
  const s = withConversation({ type: 'messages/received', id: 'c1', messages: [msg(1)] });
  const frozen = JSON.stringify(s);
  run(s, { type: 'messages/received', id: 'c1', messages: [msg(2)] }, { type: 'message/status', id: 'c1', seq: 2, status: 'read' },
    { type: 'conversation/read', id: 'c1', seq: 2 }, { type: 'typing/started', id: 'c1', userId: OTHER, name: 'A', until: 1 });
  assert.equal(JSON.stringify(s), frozen);
});

test('an error auto-dismissed later does not hide a newer one', () => {
  let s = run(initialState(ME), { type: 'error/shown', area: 'chat', text: 'first' }, { type: 'error/shown', area: 'chat', text: 'second' });
  s = run(s, { type: 'error/dismissed', area: 'chat', text: 'first' });
  assert.equal(s.errors.chat, 'second');
  s = run(s, { type: 'error/dismissed', area: 'chat' });
  assert.equal(s.errors.chat, null);
  assert.equal(run(s, { type: 'error/dismissed', area: 'chat' }), s, 'nothing shown: no change, no render');
});

test('our send answered after others wrote is not stored over the gap: catch-up brings theirs and ours', () => {
  let s = withConversation(
    { type: 'messages/received', id: 'c1', messages: [msg(9), msg(10)] },
    { type: 'thread/loaded', id: 'c1' },
    { type: 'send/queued', pending: { client_id: 'a', conversation: 'c1', content: 'mine', files: [], attachments: [], sender_id: ME, state: 'pending' } },
  );
  const mine = msg(13, { sender_id: ME, content: 'mine' });
  assert.equal(hasGapBefore(s, 'c1', mine), true);
  s = run(s, { type: 'send/done', id: 'c1', clientId: 'a', message: mine });
  assert.deepEqual(seqs(s), [9, 10], 'no hole: 11 and 12 are fetched first');
  s = run(s, { type: 'messages/received', id: 'c1', messages: [msg(11), msg(12), mine] });
  assert.deepEqual(seqs(s), [9, 10, 11, 12, 13]);
});

test('a late list snapshot keeps the unread count that came with the newer last message', () => {
  let s = run(initialState(ME), { type: 'conversations/loaded', list: [conv('c1')], archived: false },
    { type: 'message/created', id: 'c1', message: msg(5) },
    { type: 'message/created', id: 'c1', message: msg(6) });
  assert.equal(s.conversations.c1.unread_count, 2);
  s = run(s, { type: 'conversations/loaded', list: [conv('c1', { last_message: msg(5), unread_count: 1 })], archived: false });
  assert.equal(s.conversations.c1.last_message.seq, 6);
  assert.equal(s.conversations.c1.unread_count, 2);
});
