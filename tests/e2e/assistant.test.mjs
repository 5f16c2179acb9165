// The assistant in the widget: its answer appears at the first words and grows in place
// as the fake endpoint releases more; a failing endpoint leaves a worded system line. The
// chat-completions endpoint is a fake on 127.0.0.1 started here, so nothing leaves the
// machine. Run: cd tests/e2e && node --test assistant.test.mjs (see harness.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import * as H from './harness.mjs';

const EN = JSON.parse(readFileSync(path.join(H.REPO_ROOT, 'static/chat/i18n/en.json'), 'utf8'));
const en = (key, params = {}) => EN[key].replace(/\{(\w+)\}/g, (_, k) => params[k]);
const KEY = 'e2e-key-not-a-secret';

let stack;
let browser;
let fake;
// Each request the fake gets, waiting for the test to answer it.
const calls = [];
let callArrived = () => {};

function startFake() {
  const server = http.createServer((req, res) => {
    if (req.headers.authorization !== `Bearer ${KEY}`) {
      res.writeHead(401).end();
      return;
    }
    let body = '';
    req.on('data', (chunk) => { body += chunk; });
    req.on('end', () => {
      calls.push({ body: JSON.parse(body), res });
      callArrived();
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function nextCall() {
  if (!calls.length) await new Promise((resolve) => { callArrived = resolve; });
  return calls.shift();
}

const chunk = (text) => `data: ${JSON.stringify({ choices: [{ index: 0, delta: { content: text }, finish_reason: null }] })}\n\n`;

before(async () => {
  fake = await startFake();
  const base = `http://127.0.0.1:${fake.address().port}/v1`;
  stack = await H.startStack({ env: { OPENAI_API_KEY: KEY, OPENAI_BASE_URL: base } });
  browser = await H.launchBrowser();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.teardown();
  if (fake) fake.close();
});

test('an assistant answer grows in place as it streams; a failure shows a system line', { timeout: 120000 }, async (t) => {
  const out = await stack.server.cli('user', 'create', '--tenant', H.TENANT, '--email', 'ada@e2e.test', '--name', 'Ada',
    '--password', H.PASSWORD, '--role', 'admin');
  const ada = { email: 'ada@e2e.test', name: 'Ada', password: H.PASSWORD, id: out.split(/\s+/).pop() };
  const admin = await H.userSession(browser, stack.baseUrl, ada);
  t.after(() => admin.context.close().catch(() => {}));
  const bot = await H.apiPost(admin, '/api/admin/bots/', { name: 'Helper', assistant: true });
  assert.equal(bot.assistant, true);

  const ana = await H.userSession(browser, stack.baseUrl, stack.users.ana);
  t.after(() => ana.context.close().catch(() => {}));
  await H.waitForSocket(ana.page);
  await H.apiPost(ana, '/api/chat/conversations/start/', { participant_id: bot.id });
  await H.openPanel(ana.page);
  await H.openConversationFromList(ana.page, 'Helper');

  await H.sendMessage(ana.page, 'What is the capital of France?');
  const call = await nextCall();
  assert.equal(call.body.messages.at(-1).content, 'Ana: What is the capital of France?');
  call.res.writeHead(200, { 'content-type': 'text/event-stream' });
  call.res.write(chunk('The capital'));
  const answer = H.message(ana.page, 'The capital');
  await answer.waitFor();
  const id = await answer.getAttribute('data-id');
  call.res.write(chunk(' is Paris.'));
  await H.message(ana.page, 'The capital is Paris.').waitFor();
  call.res.end('data: [DONE]\n\n');
  // The same message grew: one bot message, with its badge.
  const grown = H.message(ana.page, 'The capital is Paris.');
  assert.equal(await grown.getAttribute('data-id'), id);
  assert.equal(await grown.locator('.tc-bot-badge').textContent(), 'Bot');
  assert.equal(await ana.page.locator('#widgetMessageContainer .tc-msg .tc-bot-badge').count(), 1);

  await H.sendMessage(ana.page, 'And of Spain?');
  const failing = await nextCall();
  failing.res.writeHead(500, { 'content-type': 'application/json' });
  failing.res.end(JSON.stringify({ error: { message: 'down' } }));
  await ana.page
    .locator('#widgetMessageContainer .tc-msg--system', { hasText: en('system.assistant_failed.error', { name: 'Helper' }) })
    .waitFor();
});
