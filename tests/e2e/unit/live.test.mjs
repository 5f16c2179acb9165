// Conversations that live, without a browser: who may do what, "seen by" from read
// watermarks and read events, system messages worded from metadata in each language,
// a deleted conversation leaving the state, and the reply/edit drafts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTranslator } from '../../../static/chat/js/i18n.js';
import {
  canDelete, canEdit, canJoin, canLeave, canManage, canSend, lastOwnMessage, seenBy, systemText,
} from '../../../static/chat/js/widget/live.js';
import { initialState, reduce } from '../../../static/chat/js/widget/store.js';

const I18N_DIR = path.join(path.dirname(fileURLToPath(import.meta.url)), '../../../static/chat/i18n');
const translator = (l) => createTranslator(JSON.parse(readFileSync(path.join(I18N_DIR, `${l}.json`), 'utf8')));

const ME = 'u-me';
const run = (state, ...actions) => actions.reduce(reduce, state);
const group = (extra = {}) => ({ id: 'g1', title: 'Launch', is_group: true, kind: 'group', visibility: 'private', my_role: 'member', participants: [], ...extra });
const as = (role, ...actions) => run(initialState(ME), { type: 'me/loaded', role }, ...actions);
const member = (id, name, read = 0) => ({ id, name, role: 'member', last_read_seq: read, last_delivered_seq: read });

test('permissions: owners and admins manage, members leave, viewers with write join, readers only read', () => {
  const write = as('write');
  assert.equal(canManage(write, group({ my_role: 'owner' })), true);
  assert.equal(canManage(write, group()), false, 'a member does not manage');
  assert.equal(canManage(as('admin'), group({ my_role: null })), true, 'a tenant admin manages any group');
  assert.equal(canManage(write, { ...group({ my_role: 'owner' }), is_group: false, kind: 'direct' }), false, 'no settings for a 1-to-1');
  assert.equal(canLeave(write, group()), true);
  const shared = group({ my_role: null, visibility: 'tenant' });
  assert.equal(canJoin(write, shared), true);
  assert.equal(canJoin(as('read'), shared), false, 'read users view, never join');
  assert.equal(canSend(write, shared), false, 'a viewer has no composer');
  assert.equal(canSend(as('read'), group()), false);
  assert.equal(canJoin(write, group({ my_role: null })), false, 'a removed member of a private group cannot join');
});

test('message actions: edit own only, delete own or as admin, nothing on system or deleted messages', () => {
  const own = { id: 'm1', seq: 1, sender_id: ME, content: 'x' };
  const theirs = { id: 'm2', seq: 2, sender_id: 'u-ana', content: 'y' };
  const conv = group();
  assert.equal(canEdit(as('write'), conv, own), true);
  assert.equal(canEdit(as('write'), conv, theirs), false);
  assert.equal(canDelete(as('write'), conv, theirs), false);
  assert.equal(canDelete(as('admin'), conv, theirs), true);
  assert.equal(canEdit(as('write'), conv, { ...own, deleted: true }), false);
  assert.equal(canDelete(as('admin'), conv, { ...theirs, kind: 'system' }), false);
});

test('seen by: members whose read watermark covers the message, updated by read events', () => {
  const m = { id: 'm5', seq: 5, sender_id: ME, content: 'hi' };
  let s = as('write',
    { type: 'conversation/received', conversation: group() },
    { type: 'members/loaded', id: 'g1', members: [member(ME, 'Me', 5), member('u-ana', 'Ana', 5), member('u-bruno', 'Bruno', 4)] });
  assert.deepEqual(seenBy(s, 'g1', m).map((p) => p.name), ['Ana'], 'not me, not below the seq');
  s = run(s, { type: 'members/read', id: 'g1', userId: 'u-bruno', seq: 6 });
  assert.deepEqual(seenBy(s, 'g1', m).map((p) => p.name), ['Ana', 'Bruno']);
  const same = run(s, { type: 'members/read', id: 'g1', userId: 'u-bruno', seq: 3 });
  assert.equal(same, s, 'a watermark never goes back');
  const items = [m, { id: 'm6', seq: 6, sender_id: 'u-ana' }, { id: 'm7', seq: 7, sender_id: ME, kind: 'system' }];
  assert.equal(lastOwnMessage(s, items), m, 'the own last message, system lines aside');
});

test('system messages are worded from metadata in each language, "you" when the user did it', () => {
  const s = initialState(ME);
  const names = { 'u-carla': 'Carla' };
  const nameOf = (id) => names[id] || null;
  const added = { kind: 'system', sender_id: 'u-ana', sender_name: 'Ana', content: 'Ana added Carla', metadata: { event: 'member_added', by: 'u-ana', user_ids: ['u-carla'], count: 1 } };
  assert.equal(systemText(translator('en'), s, added, nameOf), 'Ana added Carla');
  assert.equal(systemText(translator('es'), s, added, nameOf), 'Ana añadió a Carla');
  assert.equal(systemText(translator('pt-BR'), s, added, nameOf), 'Ana adicionou Carla');
  const mine = { ...added, sender_id: ME, metadata: { ...added.metadata, by: ME } };
  assert.equal(systemText(translator('es'), s, mine, nameOf), `${translator('es')('message.you')} añadiste a Carla`);
  const removed = { kind: 'system', sender_id: 'u-ana', sender_name: 'Ana', metadata: { event: 'member_removed', by: 'u-ana', user_id: 'u-gone', user_name: 'Dora' } };
  assert.equal(systemText(translator('en'), s, removed, nameOf), 'Ana removed Dora', 'the name the event carries for someone gone');
  const succession = { kind: 'system', sender_name: 'Ana', metadata: { event: 'role_changed', user_id: 'u-carla', role: 'owner', succession: true } };
  assert.equal(systemText(translator('en'), s, succession, nameOf), 'Carla is now an owner');
  const unknown = { kind: 'system', content: 'Something new happened', metadata: { event: 'from_the_future' } };
  assert.equal(systemText(translator('en'), s, unknown, nameOf), 'Something new happened', 'unknown events show the server\'s line');
  const failed = { kind: 'system', sender_id: 'u-bot', sender_name: 'Helper', metadata: { event: 'assistant_failed', reason: 'timeout', by: 'u-bot' } };
  assert.equal(systemText(translator('en'), s, failed, nameOf), 'Helper could not answer: it took too long');
  assert.equal(systemText(translator('pt-BR'), s, failed, nameOf), 'Helper não conseguiu responder: demorou demais');
  const strange = { ...failed, metadata: { ...failed.metadata, reason: 'from_the_future' } };
  assert.equal(systemText(translator('es'), s, strange, nameOf), 'Helper no pudo responder', 'an unknown reason gets the general line');
});

test('a deleted conversation leaves the state; the open one closes with its info panel and drafts', () => {
  let s = as('write', { type: 'conversation/received', conversation: group() }, { type: 'conversation/opened', id: 'g1' },
    { type: 'info/toggled', open: true }, { type: 'reply/started', id: 'g1', message: { id: 'm1' } });
  s = run(s, { type: 'conversation/deleted', id: 'g1' });
  assert.equal(s.conversations.g1, undefined);
  assert.equal(s.openConversationId, null);
  assert.equal(s.infoOpen, false);
  assert.equal(s.replyTo, null);
});

test('reply and edit drafts: one at a time, dropped when another conversation opens', () => {
  let s = as('write', { type: 'conversation/received', conversation: group() }, { type: 'conversation/opened', id: 'g1' },
    { type: 'reply/started', id: 'g1', message: { id: 'm1' } }, { type: 'edit/started', id: 'g1', message: { id: 'm2' } });
  assert.equal(s.replyTo, null, 'editing replaces replying');
  assert.equal(s.editing.message.id, 'm2');
  s = run(s, { type: 'conversation/opened', id: 'other' });
  assert.equal(s.editing, null);
});
