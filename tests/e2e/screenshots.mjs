// The documentation's screenshots, made on request (npm run screenshots), never by the
// tests: docs/widget-desktop.png, docs/widget-phone.png, the group info panel, reactions
// with a mention and search results (widget-*.png) and docs/admin-<page>.png, from a real
// server and browser through the same harness as the tests. Needs what the tests need (see
// harness.mjs: DATABASE_URL, TENANTCHAT_BIN).

import { mkdirSync } from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const imagesLoaded = (page) => page.waitForFunction(() => [...document.querySelectorAll('#widgetMessageContainer img')]
  .every((i) => i.complete && i.naturalWidth > 0));

/** A page of the admin console per docs/admin-<name>.png, as a freshly made admin sees it. */
async function adminShots(browser, stack) {
  const admin = { email: 'ada@e2e.test', name: 'Ada', password: H.PASSWORD };
  await stack.server.cli('user', 'create', '--tenant', H.TENANT, '--email', admin.email, '--name', admin.name,
    '--password', admin.password, '--role', 'admin');
  const s = await H.userSession(browser, stack.baseUrl, admin, { viewport: { width: 1280, height: 900 } });
  const written = [];
  for (const [name, url, ready] of [
    ['users', '/admin/users/', 'tr[data-user]'],
    ['settings', '/admin/settings/', '#widget-preview .preview-title'],
    ['attachments', '/admin/attachments/', '#files li'],
    ['audit-log', '/admin/audit-log/', 'tbody tr[data-id]'],
    ['analytics', '/admin/analytics/', '#chart-messages svg'],
  ]) {
    await s.page.goto(url);
    await s.page.locator(ready).first().waitFor();
    if (name === 'settings') {
      await s.page.locator('#setting-widget_title').fill('Help desk');
      await s.page.locator('#setting-widget_color').fill('#0f766e');
      await s.page.getByRole('button', { name: 'Save' }).click();
      await s.page.locator('#admin-status', { hasText: 'Settings saved.' }).waitFor();
    }
    if (name === 'audit-log') {
      await s.page.getByRole('button', { name: 'Check the chain' }).click();
      await s.page.locator('#chain-result', { hasText: 'intact' }).waitFor();
      await s.page.locator('tbody tr[data-id] button').first().click();
    }
    await s.page.waitForFunction(() => [...document.images].every((i) => i.complete));
    const file = path.join(H.DOCS_DIR, `admin-${name}.png`);
    await s.page.screenshot({ path: file, fullPage: true });
    written.push(file);
  }
  written.push(...await integrationShots(s, stack));
  if (s.errors.length) throw new Error(`page errors for ${admin.name}: ${s.errors.map((e) => e.message).join('; ')}`);
  return written;
}

/**
 * docs/admin-integrations.png (a bot whose webhook, a closed local port, refuses, with its
 * delivery log open, and a tenant webhook) and docs/admin-flagged.png (a message flagged
 * for an e-mail address).
 */
async function integrationShots(s, stack) {
  const csrf = (await s.context.cookies()).find((c) => c.name === 'csrftoken').value;
  const call = async (method, url, data) => {
    const res = await s.context.request.fetch(url, { method, headers: { 'X-CSRFToken': csrf }, data });
    if (!res.ok()) throw new Error(`${method} ${url}: ${res.status()} ${await res.text()}`);
    return res.json();
  };
  await call('PUT', '/api/admin/settings/', { widget_title: 'Help desk', widget_color: '#0f766e', pii_mode: 'flag' });
  const bot = await call('POST', '/api/admin/bots/', { name: 'Order tracker', webhook_url: 'http://127.0.0.1:9/orders' });
  await call('POST', '/api/admin/webhooks/', { url: 'http://127.0.0.1:9/events', events: ['message_created', 'member_added'] });
  const group = await call('POST', '/api/chat/conversations/', {
    title: 'Orders', participant_ids: [stack.users.ana.id, bot.id],
  });
  await call('POST', `/api/chat/conversations/${group.id}/messages/`, { content: 'Where is order 1042? Reply to ana.almeida@example.com' });
  await H.waitUntil(async () => (await call('GET', `/api/admin/bots/${bot.id}/deliveries/`)).some((d) => d.attempts > 0),
    { what: 'a first attempt' });
  await s.page.goto('/admin/integrations/');
  await s.page.getByRole('button', { name: 'Deliveries to Order tracker' }).click();
  await s.page.locator('#delivery-log tbody tr').first().waitFor();
  const integrations = path.join(H.DOCS_DIR, 'admin-integrations.png');
  await s.page.screenshot({ path: integrations, fullPage: true });
  await s.page.goto('/admin/flagged-messages/');
  await s.page.locator('#flagged tr').first().waitFor();
  const flagged = path.join(H.DOCS_DIR, 'admin-flagged.png');
  await s.page.screenshot({ path: flagged, fullPage: true });
  return [integrations, flagged];
}

async function main() {
  // The integrations screenshot's bot points at a closed local port.
  const stack = await H.startStack({ env: { WEBHOOK_ALLOWED_HOSTS: '127.0.0.1' } });
  let browser;
  try {
    browser = await H.launchBrowser();
    const ana = await H.userSession(browser, stack.baseUrl, stack.users.ana);
    const bruno = await H.userSession(browser, stack.baseUrl, stack.users.bruno);
    await H.waitForSocket(ana.page);
    await H.waitForSocket(bruno.page);

    // A short conversation: two messages, a reply, a picture and a file.
    await H.startConversationWith(ana.page, 'Bruno');
    await H.sendMessage(ana.page, 'Hi Bruno! First message.');
    await H.sendMessage(ana.page, 'Second one, are you there?');
    await H.openConversationFromList(bruno.page, 'Ana');
    await H.sendMessage(bruno.page, 'Yes, I am here\nSecond line');
    await ana.page.setInputFiles('#widgetAttachmentInput', [
      { name: 'chart.png', mimeType: 'image/png', buffer: H.makePng(160, 100) },
      { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Agenda:\n1. Widget\n2. Release\n') },
    ]);
    await H.sendMessage(ana.page, 'Here is the chart and the agenda');
    await H.message(bruno.page, 'Here is the chart and the agenda').locator('img.tc-att-img').waitFor();
    await H.message(bruno.page, 'Yes, I am here\nSecond line').and(bruno.page.locator('[data-status="read"]')).waitFor();
    await H.message(ana.page, 'Here is the chart and the agenda').and(ana.page.locator('[data-status="read"]')).waitFor();
    // A fresh page, so the dashboard's counts include the conversation; the widget
    // reopens where it was (sessionStorage).
    await bruno.page.reload();
    await H.waitForSocket(bruno.page);
    await H.message(bruno.page, 'Here is the chart and the agenda').locator('img.tc-att-img').waitFor();
    await imagesLoaded(bruno.page);
    await bruno.page.locator('#widgetMessageInput').fill('Looks great, thanks!');

    mkdirSync(H.DOCS_DIR, { recursive: true });
    const desktop = path.join(H.DOCS_DIR, 'widget-desktop.png');
    await bruno.page.screenshot({ path: desktop });

    const phone = await H.userSession(browser, stack.baseUrl, stack.users.bruno,
      { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true });
    await H.waitForSocket(phone.page);
    await H.openConversationFromList(phone.page, 'Ana');
    await H.message(phone.page, 'Here is the chart and the agenda').locator('img.tc-att-img').waitFor();
    await imagesLoaded(phone.page);
    const mobile = path.join(H.DOCS_DIR, 'widget-phone.png');
    await phone.page.screenshot({ path: mobile });

    // The group info panel, as its owner sees it.
    await H.apiPost(ana, '/api/chat/conversations/', { title: 'Launch plan', participant_ids: [stack.users.bruno.id] });
    await H.openConversationFromList(ana.page, 'Launch plan');
    await ana.page.locator('.tc-info-btn').click();
    await ana.page.locator('#tcGroupInfo .tc-info-member', { hasText: 'Bruno' }).waitFor();
    const info = path.join(H.DOCS_DIR, 'widget-group-info.png');
    await ana.page.screenshot({ path: info });

    // Reactions and a mention in the group, then a search for an earlier word.
    await ana.page.locator('.tc-info-back').click();
    await H.sendMessage(ana.page, 'The launch checklist is ready for review');
    await H.openConversationFromList(bruno.page, 'Launch plan');
    const checklist = H.message(bruno.page, 'The launch checklist is ready for review');
    await checklist.locator('.tc-msg-menu-btn').click();
    await bruno.page.locator('#tcMessageMenu [role="menuitem"][data-act="react"]').click();
    await bruno.page.locator('#tcReactionPicker [data-pick="🎉"]').click();
    await H.message(ana.page, 'The launch checklist is ready for review').locator('.tc-reaction[data-reaction="🎉"]').waitFor();
    const input = bruno.page.locator('#widgetMessageInput');
    await input.fill(''); // the draft written for the first picture
    await input.pressSequentially('@An');
    await bruno.page.locator('#tcMentionList [role="option"]', { hasText: 'Ana' }).waitFor();
    await input.press('Enter');
    await input.pressSequentially('looks good, shipping Friday');
    await input.press('Enter');
    await H.message(ana.page, '@Ana looks good, shipping Friday').locator('.tc-mention--me').waitFor();
    const reactions = path.join(H.DOCS_DIR, 'widget-reactions.png');
    await ana.page.screenshot({ path: reactions });
    await H.openTab(ana.page, 'conversations');
    await ana.page.locator('#tcSearchInput').fill('launch');
    await ana.page.locator('#tcSearchInput').press('Enter');
    await ana.page.locator('#tcSearchResults mark').first().waitFor();
    const search = path.join(H.DOCS_DIR, 'widget-search.png');
    await ana.page.screenshot({ path: search });

    for (const s of [ana, bruno, phone]) {
      if (s.errors.length) throw new Error(`page errors for ${s.user.name}: ${s.errors.map((e) => e.message).join('; ')}`);
    }
    const admin = await adminShots(browser, stack);
    console.log(`wrote ${[desktop, mobile, info, reactions, search, ...admin].map((f) => path.relative(H.REPO_ROOT, f)).join(', ')}`);
  } finally {
    await browser?.close().catch(() => {});
    await stack.teardown();
  }
}

main().catch((err) => {
  console.error(err);
  process.exitCode = 1;
});
