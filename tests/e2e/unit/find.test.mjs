// Search, reactions and mentions without a browser: the highlight read as text and
// marks, results grouped by conversation, `@` autocomplete, mention highlighting, reaction
// counts, and the store's jumps into history and mention badges.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeEntities, groupResults, parseHighlight } from '../../../static/chat/js/widget/highlight.js';
import {
  insertMention, matchPeople, mentionAt, mentionedIds, mentionPieces,
} from '../../../static/chat/js/widget/mentions.js';
import { applyReaction, withOwnReactions } from '../../../static/chat/js/widget/reactions.js';
import {
  conversationOf, hasGapBefore, initialState, messageVersion, reduce, threadItems, threadOf,
} from '../../../static/chat/js/widget/store.js';

const ME = 'u-me';
const OTHER = 'u-ana';
const msg = (seq, extra = {}) => ({
  id: `m${seq}`, seq, conversation: 'c1', sender_id: OTHER, content: `hello ${seq}`, attachments: [], reactions: [], mentions: [],
  status: 'sent', created_at: `2026-01-01T10:00:${String(seq % 60).padStart(2, '0')}Z`, ...extra,
});
const conv = (id, extra = {}) => ({
  id, title: id, is_group: false, unread_count: 0, mention_count: 0, last_message: null,
  participants: [{ id: ME, name: 'Me' }, { id: OTHER, name: 'Ana' }], created_at: '2026-01-01T09:00:00Z', ...extra,
});
const run = (state, ...actions) => actions.reduce(reduce, state);
const withConversation = (...actions) => run(initialState(ME),
  { type: 'conversations/loaded', list: [conv('c1', { last_message: msg(100) })], archived: false }, ...actions);

// ------------------------------------------------------------------ highlights

test('a highlight becomes text and marks; escaped markup stays text, never a tag', () => {
  assert.deepEqual(parseHighlight('the <mark>launch</mark> <mark>plan</mark> is final'), [
    { text: 'the ', mark: false }, { text: 'launch', mark: true }, { text: ' ', mark: false }, { text: 'plan', mark: true }, { text: ' is final', mark: false },
  ]);
  assert.deepEqual(parseHighlight('&lt;script&gt;alert(1)&lt;/script&gt; <mark>x</mark>'), [
    { text: '<script>alert(1)</script> ', mark: false }, { text: 'x', mark: true },
  ]);
  // A raw tag the server should never send is shown as its characters.
  assert.deepEqual(parseHighlight('<b>bold</b>'), [{ text: '<b>bold</b>', mark: false }]);
  assert.deepEqual(parseHighlight('<MARK>ação</MARK>&amp;co'), [{ text: 'ação', mark: true }, { text: '&co', mark: false }]);
  assert.deepEqual(parseHighlight(''), []);
});

test('entities decode, numeric ones included; unknown or invalid ones stay as written', () => {
  assert.equal(decodeEntities('&quot;a&quot; &#39;b&#x27; &amp;amp;'), '"a" \'b\' &amp;');
  assert.equal(decodeEntities('&bogus; &#0; &#xd800;'), '&bogus; &#0; &#xd800;');
});

test('results group by conversation in rank order, each group keeping its order', () => {
  const r = (c, id) => ({ conversation: { id: c, title: c }, message: { id }, highlight: id });
  const groups = groupResults([r('a', 1), r('b', 2), r('a', 3), { message: { id: 4 } }]);
  assert.deepEqual(groups.map((g) => [g.conversation.id, g.results.map((x) => x.message.id)]), [['a', [1, 3]], ['b', [2]]]);
});

// ------------------------------------------------------------------ mentions

const PEOPLE = [{ id: 'a', name: 'Ana Almeida' }, { id: 'b', name: 'Bruno Bianchi' }, { id: 'c', name: 'Álvaro Costa' }, { id: ME, name: 'Me Myself' }];

test('the @ word at the caret is found only at a word start', () => {
  assert.deepEqual(mentionAt('hi @br', 6), { start: 3, query: 'br' });
  assert.deepEqual(mentionAt('@', 1), { start: 0, query: '' });
  assert.deepEqual(mentionAt('(@an', 4), { start: 1, query: 'an' });
  assert.equal(mentionAt('mail me@example', 15), null);
  assert.equal(mentionAt('hi @br and more', 15), null);
  assert.deepEqual(mentionAt('hi @br and more', 6), { start: 3, query: 'br' });
});

test('autocomplete matches name starts, then later words, ignoring case and accents, never oneself', () => {
  assert.deepEqual(matchPeople(PEOPLE, 'a', { exclude: ME }).map((p) => p.id), ['c', 'a']);
  assert.deepEqual(matchPeople(PEOPLE, 'co').map((p) => p.id), ['c'], 'a later word matches');
  assert.deepEqual(matchPeople(PEOPLE, 'alv').map((p) => p.id), ['c']);
  assert.deepEqual(matchPeople(PEOPLE, 'BIAN').map((p) => p.id), ['b']);
  assert.deepEqual(matchPeople(PEOPLE, 'me', { exclude: ME }), []);
  assert.equal(matchPeople(PEOPLE, '').length, 4);
  assert.equal(matchPeople(PEOPLE, '', { max: 2 }).length, 2);
});

test('a pick replaces the typed @word with @Name and a space; the send names who is still in the text', () => {
  const { text, caret } = insertMention('hi @br how', 3, 6, 'Bruno Bianchi');
  assert.equal(text, 'hi @Bruno Bianchi how');
  assert.equal(caret, 'hi @Bruno Bianchi '.length);
  const chosen = [{ id: 'b', name: 'Bruno Bianchi' }, { id: 'a', name: 'Ana Almeida' }];
  assert.deepEqual(mentionedIds(text, chosen), ['b']);
  assert.deepEqual(mentionedIds('@Ana Almeida and @Bruno Bianchi', chosen), ['b', 'a']);
});

test('mention pieces: each @Name of a mentioned person, the longest name first', () => {
  const people = [{ id: 'a', name: 'Ana' }, { id: 'am', name: 'Ana Maria' }];
  assert.deepEqual(mentionPieces('hi @Ana Maria and @Ana, not @Bob', people), [
    { text: 'hi ' }, { text: '@Ana Maria', userId: 'am' }, { text: ' and ' }, { text: '@Ana', userId: 'a' }, { text: ', not @Bob' },
  ]);
  assert.deepEqual(mentionPieces('plain', []), [{ text: 'plain' }]);
  assert.deepEqual(mentionPieces('@Ana', [{ id: 'x', name: null }]), [{ text: '@Ana' }]);
});

// ------------------------------------------------------------------ reactions

test('reaction counts: others change them, our own click and its event count once', () => {
  let r = applyReaction([], '👍', true, false);
  assert.deepEqual(r, [{ emoji: '👍', count: 1, me: false }]);
  r = applyReaction(r, '👍', true, true);
  assert.deepEqual(r, [{ emoji: '👍', count: 2, me: true }]);
  assert.equal(applyReaction(r, '👍', true, true), r, 'the echo of our own add changes nothing');
  r = applyReaction(r, '🎉', true, false);
  r = applyReaction(r, '👍', false, true);
  assert.deepEqual(r, [{ emoji: '👍', count: 1, me: false }, { emoji: '🎉', count: 1, me: false }]);
  r = applyReaction(r, '👍', false, false);
  assert.deepEqual(r, [{ emoji: '🎉', count: 1, me: false }], 'a count of 0 goes');
});

test('message_updated keeps our own marks (its shared copy says me: false)', () => {
  const held = msg(1, { reactions: [{ emoji: '👍', count: 2, me: true }] });
  const fresh = msg(1, { content: 'edited', reactions: [{ emoji: '👍', count: 2, me: false }, { emoji: '🎉', count: 1, me: false }] });
  assert.deepEqual(withOwnReactions(held, fresh).reactions, [{ emoji: '👍', count: 2, me: true }, { emoji: '🎉', count: 1, me: false }]);
  assert.equal(withOwnReactions(undefined, fresh).reactions[0].me, false, 'nothing held: nothing of ours');
});

test('a reaction event re-renders its message (a new version), in the thread we hold', () => {
  const s = withConversation({ type: 'messages/received', id: 'c1', messages: [msg(99), msg(100)] }, { type: 'thread/loaded', id: 'c1' });
  const before = messageVersion(threadOf(s, 'c1').byId.m99);
  const s2 = run(s, { type: 'reaction/changed', id: 'c1', messageId: 'm99', emoji: '🎉', userId: OTHER, added: true });
  assert.deepEqual(threadOf(s2, 'c1').byId.m99.reactions, [{ emoji: '🎉', count: 1, me: false }]);
  assert.notEqual(messageVersion(threadOf(s2, 'c1').byId.m99), before);
  assert.equal(run(s2, { type: 'reaction/changed', id: 'c1', messageId: 'm1', emoji: '🎉', userId: OTHER, added: true }), s2, 'a message we do not hold');
});

// ------------------------------------------------------------------ mentions in the store

test('the mention badge counts mention events off screen and clears on reading', () => {
  let s = withConversation({ type: 'mention/received', id: 'c1', viewing: false }, { type: 'mention/received', id: 'c1', viewing: false });
  assert.equal(conversationOf(s, 'c1').mention_count, 2);
  assert.equal(run(s, { type: 'mention/received', id: 'c1', viewing: true }), s, 'on screen: nothing to flag');
  s = run(s, { type: 'conversation/read', id: 'c1', seq: 100 });
  assert.equal(conversationOf(s, 'c1').mention_count, 0);
});

// ------------------------------------------------------------------ search and jumps

test('search pages append; a late answer to an older query is dropped; clearing forgets', () => {
  let s = run(initialState(ME), { type: 'search/started', query: 'plan' });
  assert.equal(s.search.results, null);
  assert.equal(s.search.loading, true);
  s = run(s, { type: 'search/loaded', query: 'plan', results: [1, 2], nextCursor: 'k' });
  s = run(s, { type: 'search/started', query: 'plan', more: true }, { type: 'search/loaded', query: 'plan', more: true, results: [3], nextCursor: null });
  assert.deepEqual(s.search, { query: 'plan', results: [1, 2, 3], nextCursor: null, loading: false });
  s = run(s, { type: 'search/started', query: 'other' }, { type: 'search/loaded', query: 'plan', results: [9] });
  assert.equal(s.search.results, null, 'the answer for "plan" does not land on "other"');
  s = run(s, { type: 'search/cleared' });
  assert.equal(s.search.query, '');
});

test('a jump loads around a message: older pages as usual, newer ones on request, live messages wait', () => {
  let s = withConversation({ type: 'conversation/opened', id: 'c1', jump: true },
    { type: 'thread/jumped', id: 'c1', messageId: 'm30', messages: [28, 29, 30, 31, 32].map((n) => msg(n)), reachedEnd: false });
  assert.deepEqual(threadItems(s, 'c1').map((m) => m.seq), [28, 29, 30, 31, 32]);
  assert.equal(threadOf(s, 'c1').newerMissing, true);
  assert.deepEqual(s.jumpTarget, { conversationId: 'c1', messageId: 'm30' });
  // A live message does not land after a hole; the gap is known.
  assert.equal(hasGapBefore(s, 'c1', msg(33)), true);
  const live = run(s, { type: 'message/created', id: 'c1', message: msg(101) });
  assert.equal(threadOf(live, 'c1').byId.m101, undefined);
  assert.equal(conversationOf(live, 'c1').last_message.seq, 101);
  // Newer pages fill in up to the newest.
  s = run(s, { type: 'newer/loaded', id: 'c1', messages: [33, 34].map((n) => msg(n)), reachedEnd: true });
  assert.equal(threadOf(s, 'c1').highestSeq, 34);
  assert.equal(threadOf(s, 'c1').newerMissing, false);
});

test('opening a jumped conversation as usual goes back to its newest messages', () => {
  let s = withConversation({ type: 'conversation/opened', id: 'c1', jump: true },
    { type: 'thread/jumped', id: 'c1', messageId: 'm30', messages: [msg(30)], reachedEnd: false });
  s = run(s, { type: 'conversation/opened', id: 'c1' });
  assert.equal(threadOf(s, 'c1').stale, true, 'reloaded before it is trusted');
  s = run(s, { type: 'messages/received', id: 'c1', messages: [msg(99), msg(100)], replace: true }, { type: 'thread/loaded', id: 'c1' });
  assert.deepEqual(threadItems(s, 'c1').map((m) => m.seq), [99, 100]);
  assert.equal(threadOf(s, 'c1').newerMissing, false);
});
