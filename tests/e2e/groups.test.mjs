// Conversations that live, in a real browser with two (or three) users live: the group
// info panel (rename, add, remove, seen by), the directory of shared conversations (view,
// join), and the message actions (reply, edit, delete; these need the server's message
// edit/delete/reply endpoints). Run: cd tests/e2e && npm test (see harness.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const EN = JSON.parse(readFileSync(path.join(H.REPO_ROOT, 'static/chat/i18n/en.json'), 'utf8'));
const en = (key, params = {}) => EN[key].replace(/\{(\w+)\}/g, (_, k) => params[k]);

let stack;
let browser;
let carla;

before(async () => {
  stack = await H.startStack();
  browser = await H.launchBrowser();
  const out = await stack.server.cli('user', 'create', '--tenant', H.TENANT, '--email', 'carla@e2e.test', '--name', 'Carla',
    '--password', H.PASSWORD, '--role', 'write');
  carla = { email: 'carla@e2e.test', name: 'Carla', password: H.PASSWORD, id: out.split(/\s+/).pop() };
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.teardown();
});

async function session(t, user) {
  const s = await H.userSession(browser, stack.baseUrl, user);
  t.after(() => s.context.close().catch(() => {}));
  await H.waitForSocket(s.page);
  return s;
}

const header = (page) => page.locator('#tenantChatPanel .tc-conv-title');
const systemLine = (page, text) => page.locator('#widgetMessageContainer .tc-msg--system', { hasText: text });
const info = (page) => page.locator('#tcGroupInfo');

// How long the other user's widget took to show a change, from the click that made it:
// printed as a TAP diagnostic for docs/widget.md, never judged (a figure, not a test result).
async function timed(t, change, act, seen) {
  const start = Date.now();
  await act();
  await seen();
  t.diagnostic(`live: ${change} seen by the other user in ${Date.now() - start} ms`);
}

async function openInfo(page) {
  await page.locator('.tc-info-btn').click();
  await info(page).waitFor();
}

test('group info: rename, add and remove live; the removed member is read-only; seen by follows reads', { timeout: 120000 }, async (t) => {
  const shot = H.screenshots('group info');
  const ana = await session(t, stack.users.ana);
  const bruno = await session(t, stack.users.bruno);
  await H.apiPost(ana, '/api/chat/conversations/', { title: 'Launch', participant_ids: [stack.users.bruno.id] });
  await H.openConversationFromList(ana.page, 'Launch');
  await H.openConversationFromList(bruno.page, 'Launch');

  // Ana (the owner) renames the group from its info panel; Bruno sees it without reload.
  await openInfo(ana.page);
  assert.equal(await bruno.page.locator('.tc-info-btn').isVisible(), true, 'members get the info button too');
  await info(ana.page).locator('#tcInfoName').fill('Launch v2');
  await timed(t, 'rename',
    () => info(ana.page).locator('button[type="submit"]', { hasText: en('info.save') }).click(),
    () => header(bruno.page).filter({ hasText: 'Launch v2' }).waitFor());
  await systemLine(bruno.page, en('system.title_changed', { by: 'Ana', title: 'Launch v2' })).waitFor();

  // Ana adds Carla; Bruno sees the system line, Ana's panel lists Carla.
  await info(ana.page).locator('button', { hasText: en('info.addMembers') }).click();
  await info(ana.page).locator('#tcInfoAdd label', { hasText: 'Carla' }).click();
  await timed(t, 'member added',
    () => info(ana.page).locator('#tcInfoAdd button[type="submit"]').click(),
    () => systemLine(bruno.page, en('system.member_added', { by: 'Ana', names: 'Carla' })).waitFor());
  await info(ana.page).locator('.tc-info-member', { hasText: 'Carla' }).waitFor();
  await shot(ana.page, 'info panel of the owner');

  // Bruno, a member, sees no owner actions in his info panel, but may leave.
  await openInfo(bruno.page);
  await info(bruno.page).locator('.tc-info-member', { hasText: 'Carla' }).waitFor();
  assert.equal(await info(bruno.page).locator('button[data-act]').count(), 0, 'no role/remove buttons for a member');
  assert.equal(await info(bruno.page).locator('.tc-delete-btn').isVisible(), false, 'no delete for a member');
  assert.equal(await info(bruno.page).locator('.tc-leave-btn').isVisible(), true, 'a member may leave');
  await info(bruno.page).locator('.tc-info-back').click();

  // Seen by: Ana writes, Bruno has the conversation open and reads it.
  await ana.page.locator('.tc-info-back').click();
  await H.sendMessage(ana.page, 'Kick-off at ten');
  await H.message(bruno.page, 'Kick-off at ten').waitFor();
  await ana.page.locator('.tc-seen', { hasText: en('seen.by', { names: 'Bruno' }) }).waitFor();
  await shot(ana.page, 'seen by bruno');

  // Ana removes Bruno: his widget turns read-only at once.
  await openInfo(ana.page);
  await timed(t, 'member removed',
    () => info(ana.page).locator('.tc-info-member', { hasText: 'Bruno' }).locator('button[data-act="remove"]').click(),
    () => bruno.page.locator('.tc-readonly', { hasText: en('readonly.removed') }).waitFor());
  await info(ana.page).locator('.tc-info-member', { hasText: 'Bruno' }).waitFor({ state: 'detached' });
  assert.equal(await bruno.page.locator('#widgetMessageForm').isVisible(), false, 'no composer once removed');
  await shot(bruno.page, 'bruno removed');
});

test('directory: a shared group is found, viewed read-only with live messages, then joined', { timeout: 120000 }, async (t) => {
  const shot = H.screenshots('directory');
  const ana = await session(t, stack.users.ana);
  const bruno = await session(t, stack.users.bruno);
  await H.apiPost(ana, '/api/chat/conversations/', { title: 'Town hall', participant_ids: [carla.id] });
  await H.openConversationFromList(ana.page, 'Town hall');

  // Ana shares it with the tenant from the info panel.
  await openInfo(ana.page);
  await info(ana.page).locator('#tcInfoVisibility').selectOption('tenant');
  await info(ana.page).locator('button[type="submit"]', { hasText: en('info.save') }).click();
  await ana.page.locator('.tc-info-back').click();
  await systemLine(ana.page, en('system.visibility_tenant.you', { by: en('message.you') })).waitFor();

  // Bruno finds it in the directory by a part of its title and opens it as a viewer.
  await H.openTab(bruno.page, 'users');
  await bruno.page.locator('#tcDirectorySearch').fill('town');
  await bruno.page.locator('#tcDirectoryList button', { hasText: 'Town hall' }).click();
  await header(bruno.page).filter({ hasText: 'Town hall' }).waitFor();
  const join = bruno.page.locator('.tc-readonly button', { hasText: en('directory.join') });
  await join.waitFor();
  assert.equal(await bruno.page.locator('#widgetMessageForm').isVisible(), false, 'a viewer has no composer');
  await shot(bruno.page, 'viewing a shared group');

  // As a viewer he gets its messages live (the widget sent `open`).
  await H.sendMessage(ana.page, 'Agenda is up');
  await H.message(bruno.page, 'Agenda is up').waitFor();

  // He joins and writes; Ana sees him join and his message.
  await join.click();
  await bruno.page.locator('#widgetMessageForm').waitFor();
  await systemLine(ana.page, en('system.member_joined', { name: 'Bruno' })).waitFor();
  await H.sendMessage(bruno.page, 'Count me in');
  await H.message(ana.page, 'Count me in').waitFor();
});

// Needs the server's message edit/delete/reply (PATCH/DELETE …/messages/{id}/, reply_to).
test('message actions: reply, edit and delete by keyboard and menu, seen live by the other', { timeout: 120000 }, async (t) => {
  const ana = await session(t, stack.users.ana);
  const bruno = await session(t, stack.users.bruno);
  await H.startConversationWith(ana.page, 'Bruno');
  await H.sendMessage(ana.page, 'Lunch at noon?');
  await H.openConversationFromList(bruno.page, 'Ana');
  const original = H.message(bruno.page, 'Lunch at noon?');
  await original.waitFor();

  // Bruno replies by keyboard: focus the message, Enter opens its menu, Reply.
  await original.focus();
  await bruno.page.keyboard.press('Enter');
  await bruno.page.locator('#tcMessageMenu [data-act="reply"]').waitFor();
  assert.equal(await bruno.page.locator('#tcMessageMenu [data-act="edit"]').count(), 0, 'no edit on someone else\'s message');
  await bruno.page.keyboard.press('Enter');
  await bruno.page.locator('.tc-context', { hasText: 'Ana' }).waitFor();
  await bruno.page.locator('#widgetMessageInput').fill('Yes, see you there');
  await bruno.page.locator('#widgetMessageInput').press('Enter');
  const reply = H.message(ana.page, 'Yes, see you there');
  await reply.locator('.tc-reply-quote', { hasText: 'Lunch at noon?' }).waitFor();

  // Ana edits her message from its menu; Bruno sees the new text and the mark. Read by
  // Bruno first: the menu closes when its message re-renders (a new tick; docs/known-limits.md).
  await H.message(ana.page, 'Lunch at noon?').and(ana.page.locator('[data-status="read"]')).waitFor();
  await H.message(ana.page, 'Lunch at noon?').hover();
  await H.message(ana.page, 'Lunch at noon?').locator('.tc-msg-menu-btn').click();
  await ana.page.locator('#tcMessageMenu [data-act="edit"]').click();
  await ana.page.locator('#widgetMessageInput').fill('Lunch at one?');
  await timed(t, 'edit',
    () => ana.page.locator('#widgetMessageInput').press('Enter'),
    () => H.message(bruno.page, 'Lunch at one?').locator('.tc-edited').waitFor());

  // Ana deletes it; Bruno sees the placeholder.
  await H.message(ana.page, 'Lunch at one?').locator('.tc-msg-menu-btn').click();
  await timed(t, 'delete',
    () => ana.page.locator('#tcMessageMenu [data-act="delete"]').click(),
    () => bruno.page.locator('.tc-msg--deleted', { hasText: en('message.deleted') }).waitFor());
});
