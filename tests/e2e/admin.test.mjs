// The admin console in a real browser: an admin does each console task end to end
// (users, settings with its preview and a refused value, the audit log and its chain
// check, attachments, analytics); a write user gets the 403 page. Every page must load
// without console errors or Content-Security-Policy violations.
// Run: cd tests/e2e && node --test admin.test.mjs (see harness.mjs for the environment).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import * as H from './harness.mjs';

const ADMIN = { email: 'ada@e2e.test', name: 'Ada', password: H.PASSWORD };

let stack;
let browser;
let admin;

// Chromium logs every 4xx answer as a console error; the refused values these tests
// send on purpose (400 validation_error) are expected, anything else is a problem.
const EXPECTED = /^Failed to load resource: the server responded with a status of 400/;

/** Console errors and CSP violations of every page of a context, as strings. */
async function watchProblems(context, problems) {
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  context.on('page', (page) => page.on('console', (msg) => {
    if (msg.type() === 'error' && !EXPECTED.test(msg.text())) problems.push(`${msg.text()} (${msg.location().url})`);
  }));
}

async function session(user, contextOptions = {}) {
  const problems = [];
  const s = await H.userSession(browser, stack.baseUrl, user, contextOptions, (context) => watchProblems(context, problems));
  s.problems = problems;
  return s;
}

const status = (page) => page.locator('#admin-status');

before(async () => {
  stack = await H.startStack();
  const out = await stack.server.cli('user', 'create', '--tenant', H.TENANT, '--email', ADMIN.email, '--name', ADMIN.name,
    '--password', ADMIN.password, '--role', 'admin');
  ADMIN.id = out.split(/\s+/).pop();
  browser = await H.launchBrowser();
  admin = await session(ADMIN);
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.teardown();
});

test('users: from the dashboard, create, search, change role, deactivate and reactivate', { timeout: 120000 }, async (t) => {
  const shot = H.screenshots(t.name.split(':')[0]);
  const { page } = admin;
  await page.getByRole('link', { name: 'Admin console' }).click();
  await page.waitForURL('**/admin/');
  await page.getByRole('heading', { name: 'Overview' }).waitFor();
  await page.locator('#admin-root .cards a', { hasText: 'Users' }).click();
  await page.locator('tr[data-user="bruno@e2e.test"]').waitFor();

  await page.locator('#new-email').fill('dora@e2e.test');
  await page.locator('#new-name').fill('Dora');
  await page.locator('#new-password').fill('short');
  await page.locator('#new-role').selectOption('read');
  await page.getByRole('button', { name: 'Create user' }).click();
  await page.locator('[data-field="password"] .field-error').waitFor();
  assert.equal(await page.locator('#new-password').getAttribute('aria-invalid'), 'true');
  await page.locator('#new-password').fill('dora-password-1');
  await page.getByRole('button', { name: 'Create user' }).click();
  const dora = page.locator('tr[data-user="dora@e2e.test"]');
  await dora.waitFor();
  await shot(page, 'user created');

  await page.locator('#user-search').fill('dor');
  assert.equal(await page.locator('tbody tr').count(), 1, 'the search keeps Dora only');
  await dora.getByRole('combobox', { name: 'Role of Dora' }).selectOption('write');
  await status(page).filter({ hasText: 'Dora was updated.' }).waitFor();
  const users = await H.api(admin, 'GET', '/api/admin/users/');
  assert.equal(users.find((u) => u.name === 'Dora').role, 'write');
  await dora.getByRole('checkbox', { name: 'Dora answers support conversations' }).check();
  await H.waitUntil(async () => (await H.api(admin, 'GET', '/api/admin/users/')).find((u) => u.name === 'Dora').is_agent,
    { what: 'the agent flag to reach the API' });

  await dora.getByRole('button', { name: 'Deactivate' }).click();
  const dialog = page.locator('dialog.confirm');
  await dialog.waitFor();
  await shot(page, 'deactivation asks first');
  await dialog.getByRole('button', { name: 'Deactivate' }).click();
  await dora.locator('.badge', { hasText: 'Deactivated' }).waitFor();
  await page.locator('#user-search').fill('');
  await page.locator('#status-filter').selectOption('inactive');
  assert.equal(await page.locator('tbody tr').count(), 1, 'only Dora is deactivated');
  await dora.getByRole('button', { name: 'Reactivate' }).click();
  await status(page).filter({ hasText: 'Dora can sign in again.' }).waitFor();
  await page.locator('#status-filter').selectOption('active');
  await dora.locator('.badge', { hasText: 'Active' }).waitFor();
  H.assertClean(admin);
});

test('settings: a refused value is shown by its field, the preview follows the branding', { timeout: 60000 }, async (t) => {
  const shot = H.screenshots(t.name.split(':')[0]);
  const { page } = admin;
  await page.goto('/admin/settings/');
  await page.locator('#setting-widget_title').fill('Helpdesk');
  await page.locator('#widget-preview .preview-title', { hasText: 'Helpdesk' }).waitFor();
  await page.locator('#setting-widget_color').fill('#12345');
  await page.getByRole('button', { name: 'Save' }).click();
  const error = page.locator('[data-field="widget_color"] .field-error');
  await error.waitFor();
  assert.equal(await page.locator('#setting-widget_color').getAttribute('aria-invalid'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement.id), 'setting-widget_color', 'focus goes to the field');
  await shot(page, 'refused colour');

  await page.locator('#setting-widget_color').fill('#0f766e');
  const header = page.locator('#widget-preview .preview-header');
  await page.waitForFunction(() => getComputedStyle(document.querySelector('#widget-preview .preview-header')).backgroundColor === 'rgb(15, 118, 110)');
  assert.equal(await header.evaluate((el) => getComputedStyle(el).color), 'rgb(255, 255, 255)', 'white text on a dark accent');
  await page.getByRole('button', { name: 'Save' }).click();
  await status(page).filter({ hasText: 'Settings saved.' }).waitFor();
  assert.equal(await error.count(), 0, 'the message goes once the value is fixed');
  const saved = await H.api(admin, 'GET', '/api/admin/settings/');
  assert.deepEqual([saved.widget_title, saved.widget_color], ['Helpdesk', '#0f766e']);

  // The support desk's settings: saved from the same form, and kept by a later save.
  await page.locator('#setting-canned_replies').fill('hello Hi! How can we help?\nrefund We refund within 5 days.');
  await page.locator('#setting-support_round_robin').check();
  await page.getByRole('button', { name: 'Save' }).click();
  await H.waitUntil(async () => (await H.api(admin, 'GET', '/api/admin/settings/')).support_round_robin === true,
    { what: 'the support settings to be saved' });
  const support = await H.api(admin, 'GET', '/api/admin/settings/');
  assert.deepEqual(support.canned_replies, [
    { shortcut: 'hello', text: 'Hi! How can we help?' },
    { shortcut: 'refund', text: 'We refund within 5 days.' },
  ]);
  assert.notEqual(support.search_enabled, false, 'saving the form leaves search on (its default)');
  await shot(page, 'saved');
  H.assertClean(admin);
});

test('settings: each kind of field reads back the value it was drawn with (new settings are one entry)', { timeout: 30000 }, async () => {
  const { page } = admin;
  await page.goto('/admin/settings/');
  await page.locator('#setting-widget_title').waitFor();
  const roundTrips = await page.evaluate(async () => {
    const { KINDS } = await import('/static/admin/js/pages/settings.js');
    const t = (key) => key;
    const cases = [
      [{ name: 'a', kind: 'text' }, 'Support'],
      [{ name: 'b', kind: 'number' }, 42],
      [{ name: 'c', kind: 'color' }, '#0f766e'],
      [{ name: 'd', kind: 'types', all: ['image/png', 'text/plain'] }, ['text/plain']],
      [{ name: 'e', kind: 'choice', choices: ['off', 'flag', 'redact'] }, 'flag'],
      [{ name: 'f', kind: 'lines' }, ['refund', 'lawsuit']],
      [{ name: 'g', kind: 'pairs', keys: ['shortcut', 'text'] }, [{ shortcut: '/hi', text: 'Hello, how can I help?' }]],
      [{ name: 'h', kind: 'flag' }, true],
      [{ name: 'i', kind: 'flag' }, false],
    ];
    return cases.map(([field, value]) => {
      const wrapper = document.createElement('div');
      wrapper.append(KINDS[field.kind].draw(field, value, t));
      return [field.kind, KINDS[field.kind].read(wrapper, field), value];
    });
  });
  for (const [kind, read, drawn] of roundTrips) assert.deepEqual(read, drawn, kind);
  H.assertClean(admin);
});

test('audit log: filter by action, open a row, check the chain', { timeout: 60000 }, async (t) => {
  const shot = H.screenshots(t.name.split(':')[0]);
  const { page } = admin;
  await page.goto('/admin/audit-log/');
  await page.locator('tbody tr[data-id]').first().waitFor();
  await page.locator('#audit-action').fill('user.update');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  // Dora's role change, then her agent flag: newest first, so the role change is last.
  await page.locator('#audit-range', { hasText: '1–2 of 2' }).waitFor();
  const row = page.locator('tbody tr[data-id]').last();
  assert.equal(await row.locator('code').textContent(), 'user.update');
  const toggle = row.getByRole('button');
  await toggle.click();
  assert.equal(await toggle.getAttribute('aria-expanded'), 'true');
  await page.locator('tr.details:not([hidden]) pre', { hasText: '"to": "write"' }).waitFor();
  await page.getByRole('button', { name: 'Check the chain' }).click();
  await page.locator('#chain-result', { hasText: 'The chain is intact' }).waitFor();
  await shot(page, 'chain intact');

  // Someone with the database's keys edits that row behind the trigger's back.
  const id = await row.getAttribute('data-id');
  await promisify(execFile)('psql', [stack.server.databaseUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-c',
    `BEGIN; ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only;
     UPDATE audit_log SET details = '{}' WHERE id = ${Number(id)};
     ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only; COMMIT;`]);
  await page.getByRole('button', { name: 'Check the chain' }).click();
  await page.locator('#chain-result', { hasText: `The chain is broken at row ${id}: its content does not match its hash.` }).waitFor();
  await page.locator(`tbody tr.broken[data-id="${id}"]`).waitFor();
  await shot(page, 'chain broken');
  H.assertClean(admin);
});

test('attachments: upload with progress, filter, totals chart, grid and list, remove', { timeout: 90000 }, async (t) => {
  const shot = H.screenshots(t.name.split(':')[0]);
  const { page } = admin;
  await H.api(admin, 'POST', '/api/chat/conversations/', { title: 'Files', participant_ids: [stack.users.bruno.id] });
  await page.goto('/admin/attachments/');
  await page.locator('#upload-conversation').selectOption({ label: 'Files' });
  await page.setInputFiles('#upload-files', [
    { name: 'chart.png', mimeType: 'image/png', buffer: H.makePng(160, 100) },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Agenda\n') },
  ]);
  await page.getByRole('button', { name: 'Upload', exact: true }).click();
  await status(page).filter({ hasText: 'Uploaded.' }).waitFor();
  assert.equal(await page.locator('#upload-progress').evaluate((p) => p.value), 100);
  await page.locator('#files li[data-filename="chart.png"] img.thumb').waitFor();
  await page.waitForFunction(() => [...document.querySelectorAll('#files img')].every((i) => i.complete && i.naturalWidth > 0));
  await page.locator('#files-summary', { hasText: '2 files' }).waitFor();
  assert.equal(await page.locator('.charts svg.chart').count(), 2, 'totals per user and per type');
  assert.equal(await page.locator('.charts svg.chart').nth(1).locator('rect.bar').count(), 2, 'two types');
  await shot(page, 'grid');

  await page.locator('#files-type').selectOption('image');
  await page.getByRole('button', { name: 'Apply filters' }).click();
  await page.locator('#files-summary', { hasText: '1 file' }).waitFor();
  await page.getByRole('button', { name: 'List' }).click();
  await page.locator('#files.list').waitFor();
  await page.getByRole('checkbox', { name: 'Select chart.png' }).check();
  await page.getByRole('button', { name: 'Remove selected (1)' }).click();
  await page.locator('dialog.confirm').getByRole('button', { name: 'Remove' }).click();
  await status(page).filter({ hasText: '1 file removed.' }).waitFor();
  await page.locator('#files li.removed[data-filename="chart.png"]').waitFor();
  await shot(page, 'removed');
  H.assertClean(admin);
});

test('analytics: messages per day, active users and conversations as charts', { timeout: 60000 }, async () => {
  const { page } = admin;
  await page.goto('/admin/analytics/');
  await page.locator('#chart-messages svg[role="img"]').waitFor();
  assert.equal(await page.locator('#chart-messages rect.bar').count(), 30, 'the last 30 days');
  assert.equal(await page.locator('#chart-active rect.bar').count(), 2);
  assert.equal(await page.locator('#chart-conversations rect.bar').count(), 2);
  H.assertClean(admin);
});

test('keyboard and phone: skip link first, the confirmation cancels with Escape, nothing wider than the screen', { timeout: 60000 }, async (t) => {
  const shot = H.screenshots(t.name.split(':')[0]);
  const phone = await session(ADMIN);
  await phone.page.setViewportSize({ width: 390, height: 844 });
  const { page } = phone;
  for (const url of ['/admin/users/', '/admin/settings/', '/admin/audit-log/', '/admin/attachments/', '/admin/analytics/']) {
    await page.goto(url);
    await page.locator('#admin-root > *').first().waitFor();
    await shot(page, `phone ${url}`, { fullPage: true });
    const [scroll, width, widest] = await page.evaluate(() => {
      const over = [...document.querySelectorAll('body *')].filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1);
      const last = over.pop();
      return [document.documentElement.scrollWidth, window.innerWidth, last && `${last.tagName}.${last.className}`];
    });
    assert.ok(scroll <= width, `${url} is ${scroll}px wide on a ${width}px screen (${widest})`);
  }
  await page.goto('/admin/users/');
  const bruno = page.locator('tr[data-user="bruno@e2e.test"]');
  await bruno.waitFor();
  await page.keyboard.press('Tab');
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Skip to content');
  const deactivate = bruno.getByRole('button', { name: 'Deactivate' });
  await deactivate.focus();
  await page.keyboard.press('Enter');
  await page.locator('dialog.confirm[open]').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement.textContent), 'Cancel', 'the safe choice has focus');
  await page.keyboard.press('Escape');
  await page.locator('dialog.confirm').waitFor({ state: 'detached' });
  assert.equal(await deactivate.evaluate((b) => b === document.activeElement), true, 'focus goes back');
  await bruno.locator('.badge', { hasText: 'Active' }).waitFor();
  H.assertClean(phone);
  await phone.context.close();
});

test('Spanish: every console page in the browser\'s language, no key shown raw', { timeout: 60000 }, async () => {
  const es = await session(ADMIN, { locale: 'es-ES', extraHTTPHeaders: { 'Accept-Language': 'es-ES,es;q=0.9' } });
  const { page } = es;
  for (const [url, heading] of [['/admin/', 'Resumen'], ['/admin/users/', 'Usuarios'], ['/admin/settings/', 'Configuración'],
    ['/admin/audit-log/', 'Registro de auditoría'], ['/admin/attachments/', 'Archivos adjuntos'], ['/admin/analytics/', 'Estadísticas']]) {
    await page.goto(url);
    await page.getByRole('heading', { name: heading, level: 1 }).waitFor();
    await page.locator('#admin-root > *').first().waitFor();
    const text = await page.locator('body').innerText();
    assert.doesNotMatch(text, /\b(admin|page|widget)\.[a-z_]+/, `${url} shows a raw key`);
  }
  H.assertClean(es);
  await es.context.close();
});

test('a write user gets the 403 page', { timeout: 60000 }, async () => {
  const bruno = await session(stack.users.bruno);
  assert.equal(await bruno.page.getByRole('link', { name: 'Admin console' }).count(), 0, 'no link on the dashboard');
  const res = await bruno.page.goto('/admin/users/');
  assert.equal(res.status(), 403);
  await bruno.page.getByRole('heading', { name: 'Admins only' }).waitFor();
  await bruno.context.close();
});
