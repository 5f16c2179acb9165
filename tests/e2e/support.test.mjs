// The support desk in a real browser, three people live: a user contacts support, an
// agent sees it arrive in the inbox and her follow-up marked as news, views it (getting
// her messages live before taking it), takes it, answers with a canned reply picked by
// typing `/`, and closes it; the user sees each step as it happens. Run: cd tests/e2e &&
// npm test (see harness.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const EN = JSON.parse(readFileSync(path.join(H.REPO_ROOT, 'static/chat/i18n/en.json'), 'utf8'));
const en = (key, params = {}) => EN[key].replace(/\{(\w+)\}/g, (_, k) => params[k]);

const REPLY = 'Thanks for writing! We are looking into it.';
let stack;
let browser;
let ada;
let alex;

async function createUser(name, role, ...flags) {
  const email = `${name.toLowerCase()}@e2e.test`;
  const out = await stack.server.cli('user', 'create', '--tenant', H.TENANT, '--email', email, '--name', name,
    '--password', H.PASSWORD, '--role', role, ...flags);
  return { email, name, password: H.PASSWORD, id: out.split(/\s+/).pop() };
}

before(async () => {
  stack = await H.startStack();
  browser = await H.launchBrowser();
  ada = await createUser('Ada', 'admin');
  alex = await createUser('Alex', 'write', '--agent');
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

async function apiPut(s, apiPath, data) {
  const cookies = await s.context.cookies();
  const csrf = (cookies.find((c) => c.name === 'csrftoken') || {}).value || '';
  const res = await s.context.request.put(apiPath, { headers: { 'X-CSRFToken': csrf }, data });
  assert.equal(res.status(), 200, await res.text());
}

const systemLine = (page, text) => page.locator('#widgetMessageContainer .tc-msg--system', { hasText: text });
const inboxItem = (page, name) => page.locator('#tcInboxList .tc-inbox-item', { hasText: name });

test('a user contacts support; an agent takes it from the inbox, answers with a canned reply and closes it', { timeout: 120000 }, async (t) => {
  const shot = H.screenshots('support desk');
  const admin = await session(t, ada);
  await apiPut(admin, '/api/admin/settings/', { canned_replies: [{ shortcut: 'thanks', text: REPLY }, { shortcut: 'bye', text: 'Goodbye!' }] });

  const agent = await session(t, alex);
  const user = await session(t, stack.users.ana);
  await H.openTab(agent.page, 'inbox');
  assert.equal(await user.page.locator('[role="tab"][data-tab="inbox"]').isVisible(), false, 'no inbox for users');

  // The user contacts support and writes; the agent's inbox shows it without reload.
  await H.openTab(user.page, 'conversations');
  await user.page.locator('#tcContactSupport').click();
  await user.page.locator('#tenantChatPanel .tc-conv-title', { hasText: 'Support' }).waitFor();
  await H.sendMessage(user.page, 'My invoice is wrong');
  const item = inboxItem(agent.page, 'Ana');
  await item.waitFor();
  await item.filter({ hasText: en('support.unassigned') }).waitFor();

  // Her follow-up moves into the inbox live, marked as news for the agent.
  await H.sendMessage(user.page, 'It shows last month');
  await item.filter({ hasText: 'It shows last month' }).locator('.tc-inbox-news', { hasText: en('support.newMessage') }).waitFor();
  await shot(agent.page, 'inbox with a new conversation');

  // Before taking it, the agent views it and gets her messages as she writes them.
  await item.locator('button[data-action="view"]').click();
  await H.message(agent.page, 'It shows last month').waitFor();
  await agent.page.locator('#tenantChatPanel .tc-readonly-text', { hasText: en('readonly.support') }).waitFor();
  await H.sendMessage(user.page, 'Are you there?');
  await H.message(agent.page, 'Are you there?').waitFor();
  await H.openTab(agent.page, 'inbox');
  await item.filter({ hasText: 'Are you there?' }).waitFor();
  assert.equal(await item.locator('.tc-inbox-news').count(), 0, 'seen: no longer news');

  // The agent takes it; the user sees who took it.
  await item.locator('button[data-action="assign"]').click();
  await systemLine(user.page, en('system.support_taken', { name: 'Alex' })).waitFor();
  await inboxItem(agent.page, 'Ana').waitFor({ state: 'detached' }); // gone from the open tab
  await agent.page.locator('.tc-inbox-tab[data-status="assigned"]').click();
  await inboxItem(agent.page, 'Ana').locator('button[data-action="view"]').click();
  await H.message(agent.page, 'My invoice is wrong').waitFor();

  // `/` lists the canned replies; typing filters, Enter puts the text in, Enter sends.
  const input = agent.page.locator('#widgetMessageInput');
  await input.fill('');
  await input.press('/');
  await agent.page.locator('#tcCannedList [role="option"]').nth(1).waitFor();
  await input.press('t');
  const options = agent.page.locator('#tcCannedList [role="option"]');
  await options.filter({ hasText: '/thanks' }).waitFor();
  assert.equal(await options.count(), 1);
  await shot(agent.page, 'canned reply picker');
  await input.press('Enter');
  assert.equal(await input.inputValue(), REPLY);
  await input.press('Enter');
  await H.message(user.page, REPLY).waitFor();

  // The agent closes it from the inbox; the user sees it closed.
  await H.openTab(agent.page, 'inbox');
  await inboxItem(agent.page, 'Ana').locator('button[data-action="close"]').click();
  await systemLine(user.page, en('system.support_closed', { by: 'Alex' })).waitFor();
  await agent.page.locator('.tc-inbox-tab[data-status="closed"]').click();
  await inboxItem(agent.page, 'Ana').locator('button[data-action="reopen"]').waitFor();
  await user.page.locator('#tcSupportClosed').waitFor();
  assert.equal(await user.page.locator('#widgetMessageForm').isVisible(), false, 'no composer in a closed one');
  await shot(user.page, 'the user sees it closed');

  // Closed is final for the user: contacting support again opens a new conversation.
  const closedId = (await H.widgetState(user.page)).openConversationId;
  await user.page.locator('#tcSupportClosed button').click();
  await user.page.waitForFunction((old) => window.TenantChat.state.openConversationId !== old, closedId);
  await user.page.locator('#tcSupportClosed').waitFor({ state: 'hidden' });
  await user.page.locator('#widgetMessageForm').waitFor();
  await agent.page.locator('.tc-inbox-tab[data-status="open"]').click();
  await inboxItem(agent.page, 'Ana').waitFor(); // the new one waits for an agent

  for (const s of [admin, agent, user]) assert.deepEqual(s.errors, [], `${s.user.name}: page errors`);
});
