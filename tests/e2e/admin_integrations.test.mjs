// The console's integrations and flagged-messages pages in a real browser, against a
// webhook receiver this test runs on 127.0.0.1 (allowed by WEBHOOK_ALLOWED_HOSTS): an
// admin creates a webhook bot and sees its credentials once, watches its deliveries
// arrive, fail and succeed on a manual retry; makes and deletes a tenant webhook; reads
// the messages flagged for personal data. Other languages, a phone's width and a
// non-admin are checked too. The engine's automatic retry is pushed minutes away
// (WEBHOOK_RETRY_BASE_MS), so only the admin's Retry can deliver a failed attempt here.
// Run: cd tests/e2e && node --test admin_integrations.test.mjs (see harness.mjs).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import * as H from './harness.mjs';

const ADMIN = { email: 'ada@e2e.test', name: 'Ada', password: H.PASSWORD };

let stack;
let browser;
let admin;
let receiver;

// Chromium logs every 4xx answer as a console error; the refusals these tests cause on
// purpose (400 validation_error, the faked 409 assistant_unavailable) are expected.
const EXPECTED = /^Failed to load resource: the server responded with a status of (400|409)/;

/** A webhook receiver answering `status` (changeable), keeping what it got. */
function startReceiver() {
  const r = { status: 200, got: [] };
  const server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => { body += c; });
    req.on('end', () => {
      r.got.push({ path: req.url, delivery: req.headers['x-tenantchat-delivery'], body });
      res.writeHead(r.status, { 'content-type': 'text/plain' });
      res.end(r.status === 200 ? 'ok' : 'broken');
    });
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    r.url = `http://127.0.0.1:${server.address().port}`;
    r.close = () => {
      server.closeAllConnections();
      return new Promise((done) => server.close(done));
    };
    resolve(r);
  }));
}

async function session(user, contextOptions = {}) {
  const problems = [];
  const s = await H.userSession(browser, stack.baseUrl, user, contextOptions, async (context) => {
    await context.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) => {
        console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
      });
    });
    context.on('page', (page) => page.on('console', (msg) => {
      if (msg.type() === 'error' && !EXPECTED.test(msg.text())) problems.push(`${msg.text()} (${msg.location().url})`);
    }));
  });
  s.problems = problems;
  return s;
}

const status = (page) => page.locator('#admin-status');

before(async () => {
  receiver = await startReceiver();
  stack = await H.startStack({ env: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1', WEBHOOK_RETRY_BASE_MS: '600000' } });
  const out = await stack.server.cli('user', 'create', '--tenant', H.TENANT, '--email', ADMIN.email, '--name', ADMIN.name,
    '--password', ADMIN.password, '--role', 'admin');
  ADMIN.id = out.split(/\s+/).pop();
  browser = await H.launchBrowser();
  admin = await session(ADMIN);
  await admin.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.baseUrl });
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.teardown();
  if (receiver) await receiver.close();
});

test('a webhook bot: credentials once, its deliveries logged, a failed one retried until delivered, then deleted', { timeout: 120000 }, async (t) => {
  const shot = H.screenshots(t.name.split(':')[0]);
  const { page } = admin;
  await page.goto('/admin/');
  await page.locator('.sidenav a', { hasText: 'Integrations' }).click();
  await page.getByRole('heading', { name: 'Integrations', level: 1 }).waitFor();

  // A refused URL is shown by its field.
  await page.locator('#bot-name').fill('Helper');
  await page.locator('#bot-webhook_url').fill('ftp://127.0.0.1/hook');
  await page.getByRole('button', { name: 'Create bot' }).click();
  await page.locator('[data-field="webhook_url"] .field-error').waitFor();
  assert.equal(await page.locator('#bot-webhook_url').getAttribute('aria-invalid'), 'true');

  await page.locator('#bot-webhook_url').fill(`${receiver.url}/hook`);
  await page.getByRole('button', { name: 'Create bot' }).click();
  const dialog = page.locator('dialog.once[open]');
  await dialog.waitFor();
  assert.match(await dialog.locator('.warning').textContent(), /you will not see them again/);
  const [token, secret] = await dialog.locator('input.secret').evaluateAll((inputs) => inputs.map((i) => i.value));
  assert.ok(token && secret, 'the token and the secret are shown');
  assert.equal(await page.evaluate(() => document.activeElement.classList.contains('secret')), true, 'focus on the first value');
  await dialog.getByRole('button', { name: 'Copy the Signing secret (checks X-Tenantchat-Signature)' }).click();
  await dialog.locator('.copied', { hasText: 'Copied.' }).waitFor();
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), secret);
  await shot(page, 'credentials shown once');
  await dialog.getByRole('button', { name: 'I have saved them' }).click();
  await dialog.waitFor({ state: 'detached' });
  const row = page.locator('tr[data-bot="Helper"]');
  await row.waitFor();
  assert.equal(await row.locator('td').nth(0).textContent(), 'Webhook bot');
  await page.reload();
  await row.waitFor();
  const shown = await page.locator('body').innerText();
  assert.ok(!shown.includes(secret) && !shown.includes(token), 'never shown again');

  // A message in a conversation with the bot becomes a delivery.
  const bot = (await H.api(admin, 'GET', '/api/admin/bots/')).find((b) => b.name === 'Helper');
  const group = await H.api(admin, 'POST', '/api/chat/conversations/', { title: 'Helpdesk', participant_ids: [stack.users.ana.id, bot.id] });
  const say = (content) => H.api(admin, 'POST', `/api/chat/conversations/${group.id}/messages/`, { content });
  const log = (query = '') => H.api(admin, 'GET', `/api/admin/bots/${bot.id}/deliveries/${query}`);
  await say('Hello bot');
  await H.waitUntil(async () => (await log('?status=delivered')).length === 1, { what: 'the first delivery' });
  await row.getByRole('button', { name: 'Deliveries to Helper' }).click();
  const panel = page.locator('#delivery-log');
  await panel.getByRole('heading', { name: 'Deliveries to Helper' }).waitFor();
  const delivered = panel.locator('tbody tr[data-status="delivered"]');
  await delivered.waitFor();
  assert.equal(await delivered.locator('td.attempts').textContent(), '1');
  assert.equal(await delivered.locator('td.last').textContent(), 'HTTP 200');

  // The receiver breaks: the next delivery stays pending after a failed attempt.
  receiver.status = 500;
  await say('Are you there?');
  const failing = await H.waitUntil(async () => (await log('?status=pending')).find((d) => d.last_status === 500),
    { what: 'a failed attempt' });
  await page.getByRole('button', { name: 'Refresh' }).click();
  const pending = panel.locator(`tbody tr[data-delivery="${failing.id}"]`);
  await pending.locator('.badge', { hasText: 'Pending' }).waitFor();
  assert.equal(await pending.locator('td.last').textContent(), 'HTTP 500 Internal Server Error');
  await page.locator('#deliveries-status').selectOption('failed');
  await panel.locator('#deliveries-empty:not([hidden])').waitFor();
  await page.locator('#deliveries-status').selectOption('pending');
  await panel.locator('tbody tr').first().waitFor();
  assert.deepEqual(await panel.locator('tbody tr').evaluateAll((rows) => rows.map((r) => r.dataset.delivery)), [failing.id]);
  await page.locator('#deliveries-status').selectOption('');
  await panel.locator('tbody tr[data-status="delivered"]').waitFor();
  await shot(page, 'a failed attempt');

  // Fixed, and retried by hand: the same delivery id arrives again and the row turns delivered.
  receiver.status = 200;
  const before = receiver.got.length;
  await pending.getByRole('button', { name: /^Retry the message_created delivery of / }).click();
  await page.locator(`#delivery-log tbody tr[data-delivery="${failing.id}"][data-status="delivered"]`).waitFor();
  await status(page).filter({ hasText: 'The message_created delivery was delivered.' }).waitFor();
  assert.equal(receiver.got[receiver.got.length - 1].delivery, failing.id);
  assert.ok(receiver.got.length > before);
  const audit = await H.api(admin, 'GET', '/api/admin/audit-log/?action=delivery.retry');
  assert.equal(audit.count, 1);
  assert.equal(audit.results[0].resource_id, failing.id);
  await shot(page, 'retried and delivered');

  // Deleting asks first, and the log of a deleted bot closes.
  await row.getByRole('button', { name: 'Delete Helper' }).click();
  await page.locator('dialog.confirm').getByRole('button', { name: 'Delete' }).click();
  await status(page).filter({ hasText: 'The bot Helper was deleted.' }).waitFor();
  await row.waitFor({ state: 'detached' });
  assert.equal(await panel.isHidden(), true);
  H.assertClean(admin);
});

test('an AI assistant: the form sends the assistant body and shows why the server refuses it', { timeout: 60000 }, async () => {
  const { page } = admin;
  await page.goto('/admin/integrations/');
  await page.locator('#bot-name').waitFor();
  let sent;
  // The answer of a server without OPENAI_API_KEY, so the test does not depend on one.
  await page.route('**/api/admin/bots/', (route) => {
    if (route.request().method() !== 'POST') return route.continue();
    sent = route.request().postDataJSON();
    return route.fulfill({
      status: 409,
      contentType: 'application/json',
      body: JSON.stringify({ error: 'assistant_unavailable', message: 'No AI assistant is configured on this server.' }),
    });
  });
  await page.getByRole('radio', { name: 'AI assistant' }).check();
  assert.equal(await page.locator('#bot-webhook_url').isHidden(), true, 'no URL for an assistant');
  await page.locator('#bot-name').fill('Ava');
  await page.locator('#bot-instructions').fill('Answer briefly.');
  await page.getByRole('button', { name: 'Create bot' }).click();
  await page.locator('.form-error[role="alert"]', { hasText: 'No AI assistant is configured on this server.' }).waitFor();
  assert.deepEqual(sent, { name: 'Ava', assistant: true, instructions: 'Answer briefly.' });
  await page.unroute('**/api/admin/bots/');
  await page.getByRole('radio', { name: 'Webhook bot' }).check();
  assert.equal(await page.locator('#bot-instructions').isHidden(), true);
  H.assertClean(admin);
});

test('a tenant webhook: events chosen by checkbox, the secret shown once, deleted', { timeout: 60000 }, async () => {
  const { page } = admin;
  await page.goto('/admin/integrations/');
  const url = `${receiver.url}/events`;
  await page.locator('#webhook-url').fill(url);
  await page.getByRole('checkbox', { name: /New message/ }).uncheck();
  await page.getByRole('button', { name: 'Create webhook' }).click();
  await page.locator('[data-field="events"] .field-error').waitFor();
  await page.getByRole('checkbox', { name: /New message/ }).check();
  await page.getByRole('checkbox', { name: /Member added/ }).check();
  await page.getByRole('button', { name: 'Create webhook' }).click();
  const dialog = page.locator('dialog.once[open]');
  await dialog.waitFor();
  assert.equal(await dialog.locator('input.secret').count(), 1, 'a webhook has a secret and no token');
  await page.keyboard.press('Escape');
  await dialog.waitFor({ state: 'detached' });
  const row = page.locator(`tr[data-webhook="${url}"]`);
  await row.waitFor();
  assert.deepEqual(await row.locator('code').allTextContents(), ['message_created', 'member_added']);
  await row.getByRole('button', { name: `Delete ${url}` }).click();
  await page.locator('dialog.confirm').getByRole('button', { name: 'Delete' }).click();
  await status(page).filter({ hasText: `The webhook to ${url} was deleted.` }).waitFor();
  await row.waitFor({ state: 'detached' });
  assert.equal(await page.locator('#webhooks tr').count(), 0);
  H.assertClean(admin);
});

test('flagged messages: the kinds found, the conversation, the sender and the text as text', { timeout: 60000 }, async (t) => {
  const shot = H.screenshots(t.name.split(':')[0]);
  await H.api(admin, 'PUT', '/api/admin/settings/', { pii_mode: 'flag' });
  const ana = await H.userSession(browser, stack.baseUrl, stack.users.ana);
  t.after(() => ana.context.close().catch(() => {}));
  const group = await H.apiPost(ana, '/api/chat/conversations/', { title: 'Billing', participant_ids: [stack.users.bruno.id] });
  const content = 'Mail <b>me</b> at ana.almeida@example.com';
  await H.apiPost(ana, `/api/chat/conversations/${group.id}/messages/`, { content });

  const { page } = admin;
  await page.goto('/admin/');
  await page.locator('.sidenav a', { hasText: 'Flagged messages' }).click();
  const row = page.locator('#flagged tr').first();
  await row.waitFor();
  assert.equal(await row.locator('td.conversation').textContent(), 'Billing');
  assert.match(await row.locator('td').nth(2).innerText(), /Ana\s+ana@e2e\.test/);
  assert.deepEqual(await row.locator('.tags li').allTextContents(), ['E-mail address × 1']);
  assert.equal(await row.locator('td.excerpt').textContent(), content);
  assert.equal(await row.locator('td.excerpt b').count(), 0, 'user text is never HTML');
  await shot(page, 'flagged');
  H.assertClean(admin);
});

test('Spanish and Portuguese: both pages in the browser\'s language, no key shown raw', { timeout: 60000 }, async () => {
  for (const [locale, integrations, flagged, kind] of [
    ['es-ES', 'Integraciones', 'Mensajes marcados', 'Correo electrónico × 1'],
    ['pt-BR', 'Integrações', 'Mensagens sinalizadas', 'Endereço de e-mail × 1'],
  ]) {
    const s = await session(ADMIN, { locale, extraHTTPHeaders: { 'Accept-Language': `${locale},${locale.slice(0, 2)};q=0.9` } });
    const { page } = s;
    await page.goto('/admin/integrations/');
    await page.getByRole('heading', { name: integrations, level: 1 }).waitFor();
    await page.locator('#bot-name').waitFor();
    await page.goto('/admin/flagged-messages/');
    await page.getByRole('heading', { name: flagged, level: 1 }).waitFor();
    await page.locator('#flagged .tags li', { hasText: kind }).waitFor();
    for (const url of ['/admin/', '/admin/integrations/', '/admin/flagged-messages/']) {
      await page.goto(url);
      await page.locator('#admin-root > *').first().waitFor();
      assert.doesNotMatch(await page.locator('body').innerText(), /\b(admin|page|widget)\.[a-z_]+/, `${locale} ${url} shows a raw key`);
    }
    H.assertClean(s);
    await s.context.close();
  }
});

test('on a phone both pages fit the screen', { timeout: 60000 }, async (t) => {
  const shot = H.screenshots(t.name.split(':')[0]);
  const phone = await session(ADMIN);
  await phone.page.setViewportSize({ width: 390, height: 844 });
  const { page } = phone;
  for (const url of ['/admin/integrations/', '/admin/flagged-messages/']) {
    await page.goto(url);
    await page.locator('#admin-root > *').first().waitFor();
    await page.locator('#admin-root table').first().waitFor();
    await shot(page, `phone ${url}`, { fullPage: true });
    const [scroll, width] = await page.evaluate(() => [document.documentElement.scrollWidth, window.innerWidth]);
    assert.ok(scroll <= width, `${url} is ${scroll}px wide on a ${width}px screen`);
  }
  H.assertClean(phone);
  await phone.context.close();
});

test('a write user reaches neither page nor their API', { timeout: 60000 }, async () => {
  const bruno = await session(stack.users.bruno);
  for (const url of ['/admin/integrations/', '/admin/flagged-messages/']) {
    const res = await bruno.page.goto(url);
    assert.equal(res.status(), 403, url);
    await bruno.page.getByRole('heading', { name: 'Admins only' }).waitFor();
  }
  for (const path of ['/api/admin/bots/', '/api/admin/webhooks/', '/api/admin/flagged-messages/']) {
    const res = await bruno.context.request.get(path);
    assert.equal(res.status(), 403, path);
  }
  await bruno.context.close();
});
