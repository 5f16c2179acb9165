// Content safety in a real browser: a tenant admin forbids a topic and turns PII
// redaction on through the admin API; a send with the topic is refused with the reason
// shown inline in the composer, and redacted personal data is all the other user sees.
// Run: cd tests/e2e && npm test (see harness.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const EN = JSON.parse(readFileSync(path.join(H.REPO_ROOT, 'static/chat/i18n/en.json'), 'utf8'));
const en = (key, params = {}) => EN[key].replace(/\{(\w+)\}/g, (_, k) => params[k]);

let stack;
let browser;
const ada = { email: 'ada@e2e.test', name: 'Ada', password: H.PASSWORD };

before(async () => {
  stack = await H.startStack();
  browser = await H.launchBrowser();
  await stack.server.cli('user', 'create', '--tenant', H.TENANT, '--email', ada.email, '--name', ada.name,
    '--password', ada.password, '--role', 'admin');
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

/** The tenant's settings replaced through the admin API, as the admin's browser would. */
async function putSettings(admin, settings) {
  const cookies = await admin.context.cookies();
  const csrf = (cookies.find((c) => c.name === 'csrftoken') || {}).value || '';
  const res = await admin.context.request.put('/api/admin/settings/', { headers: { 'X-CSRFToken': csrf }, data: settings });
  assert.equal(res.status(), 200, await res.text());
}

test('a forbidden topic is refused with the reason shown; redacted PII is all the other user sees', { timeout: 120000 }, async (t) => {
  const shot = H.screenshots('content safety');
  const admin = await session(t, ada);
  await putSettings(admin, { forbidden_topics: ['salary review'], pii_mode: 'redact' });
  const ana = await session(t, stack.users.ana);
  const bruno = await session(t, stack.users.bruno);
  await H.startConversationWith(ana.page, 'Bruno');
  await H.sendMessage(ana.page, 'Hello Bruno');
  await H.openConversationFromList(bruno.page, 'Ana');

  // Refused: the composer says why, naming the phrase; Bruno gets nothing.
  const input = ana.page.locator('#widgetMessageInput');
  await input.fill('When is the Salary Review?');
  await input.press('Enter');
  const reason = en('error.send', { message: en('error.forbiddenTopic', { phrase: 'salary review' }) });
  await ana.page.locator('#tenantChatPanel .tc-error-text', { hasText: reason }).waitFor();
  await shot(ana.page, 'forbidden topic refused');

  // Redacted before storing: Bruno sees the placeholder, never the address.
  await input.fill('Write to ana.almeida@example.com please');
  await input.press('Enter');
  await H.message(bruno.page, 'Write to [redacted:email] please').waitFor();
  // The sender's own copy is the stored one too, once the server has answered.
  await H.message(ana.page, 'Write to [redacted:email] please').waitFor();
  await shot(bruno.page, 'redacted email');
  const shown = await bruno.page.locator('#widgetMessageContainer').innerText();
  assert.ok(!shown.includes('Salary Review'), 'the refused message never reached Bruno');
  assert.ok(!shown.includes('example.com'), 'the address never reached Bruno');
  assert.deepEqual([...ana.errors, ...bruno.errors], []);
});
