// Bots in the widget: a bot's answer carries a "Bot" badge (en, es, pt-BR keys in
// static/chat/i18n). The bot is created through the admin API and answers with its token,
// as a real bot does; its webhook points at a closed local port (allowed by
// WEBHOOK_ALLOWED_HOSTS), so nothing leaves the machine.
// Run: cd tests/e2e && node --test bots.test.mjs (see harness.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import * as H from './harness.mjs';

let stack;
let browser;

before(async () => {
  process.env.WEBHOOK_ALLOWED_HOSTS = '127.0.0.1';
  stack = await H.startStack();
  browser = await H.launchBrowser();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.teardown();
});

test('a bot answer shows a Bot badge; a person\'s message does not', { timeout: 120000 }, async (t) => {
  const out = await stack.server.cli('user', 'create', '--tenant', H.TENANT, '--email', 'ada@e2e.test', '--name', 'Ada',
    '--password', H.PASSWORD, '--role', 'admin');
  const ada = { email: 'ada@e2e.test', name: 'Ada', password: H.PASSWORD, id: out.split(/\s+/).pop() };
  const admin = await H.userSession(browser, stack.baseUrl, ada);
  t.after(() => admin.context.close().catch(() => {}));
  const bot = await H.apiPost(admin, '/api/admin/bots/', { name: 'Helper', webhook_url: 'http://127.0.0.1:9/hook' });
  const group = await H.apiPost(admin, '/api/chat/conversations/', {
    title: 'Helpdesk', participant_ids: [stack.users.ana.id, bot.id],
  });

  const ana = await H.userSession(browser, stack.baseUrl, stack.users.ana);
  t.after(() => ana.context.close().catch(() => {}));
  await H.waitForSocket(ana.page);
  await H.openPanel(ana.page);
  await H.openConversationFromList(ana.page, 'Helpdesk');
  await H.sendMessage(ana.page, 'Can someone help?');

  const res = await fetch(`${stack.baseUrl}/api/chat/conversations/${group.id}/messages/`, {
    method: 'POST',
    headers: { authorization: `Bearer ${bot.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ content: 'Happy to help.' }),
  });
  const sent = await res.text();
  assert.equal(res.status, 201, sent);
  assert.equal(JSON.parse(sent).kind, 'bot');

  const answer = H.message(ana.page, 'Happy to help.');
  await answer.waitFor();
  assert.equal(await answer.locator('.tc-bot-badge').textContent(), 'Bot');
  assert.equal(await H.message(ana.page, 'Can someone help?').locator('.tc-bot-badge').count(), 0);
});
