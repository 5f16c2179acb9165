// The chat widget in a real browser: headless Chromium, two browser contexts as two users
// (Ana and Bruno) of one tenant, against the real server binary on a fresh database.
// Run: cd tests/e2e && npm test (see harness.mjs for the environment).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const I18N = Object.fromEntries(['en', 'es', 'pt-BR'].map((l) => [l,
  JSON.parse(readFileSync(path.join(H.REPO_ROOT, 'static/chat/i18n', `${l}.json`), 'utf8'))]));
const en = (key, params = {}) => I18N.en[key].replace(/\{(\w+)\}/g, (_, k) => params[k]);

let stack;
let browser;
const sessions = [];

before(async () => {
  stack = await H.startStack();
  browser = await H.launchBrowser();
});

after(async () => {
  for (const s of sessions) await s.context.close().catch(() => {});
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.teardown();
});

/** Logs a user in; the session closes at the end of the test. */
async function session(t, who, contextOptions, setup) {
  const s = await H.userSession(browser, stack.baseUrl, stack.users[who], contextOptions, setup);
  s.dialogs = [];
  s.page.on('dialog', (d) => {
    s.dialogs.push(d.message());
    d.dismiss().catch(() => {});
  });
  sessions.push(s);
  t.after(async () => {
    await s.context.close().catch(() => {});
  });
  return s;
}

function assertNoPageErrors(...all) {
  for (const s of all) assert.deepEqual(s.errors.map((e) => e.message), [], `page errors for ${s.user.name}`);
}

const badge = (page) => page.locator('#widgetNewMessagesBadge');

test('live chat: start from the users list, live delivery, unread badge and reset, typing, read ticks', { timeout: 120000 }, async (t) => {
  const shot = H.screenshots(t.name.split(':')[0]);
  const anaFrames = []; // what Ana's widget writes to its socket
  const ana = await session(t, 'ana', {}, async (context) => {
    context.on('page', (page) => page.on('websocket', (ws) => ws.on('framesent', (f) => anaFrames.push(JSON.parse(String(f.payload))))));
  });
  const bruno = await session(t, 'bruno');
  await H.waitForSocket(ana.page);
  await H.waitForSocket(bruno.page);
  await shot(ana.page, 'ana logged in, widget closed');
  assert.equal(await badge(bruno.page).isVisible(), false, 'no unread badge to start with');

  // Ana opens the widget and starts a conversation with Bruno from Users & Groups.
  await H.openTab(ana.page, 'users');
  await ana.page.locator('#widgetUserList button', { hasText: 'Bruno' }).locator('.tc-dot--online').waitFor();
  await shot(ana.page, 'users list with online dot');
  await H.startConversationWith(ana.page, 'Bruno');
  await shot(ana.page, 'conversation opened');

  // Two messages; Bruno's panel is closed, so his badge counts them.
  await H.sendMessage(ana.page, 'Hi Bruno! First message.');
  await badge(bruno.page).filter({ hasText: /^1$/ }).waitFor();
  assert.ok(anaFrames.some((f) => f.type === 'send' && f.content === 'Hi Bruno! First message.' && f.client_id), 'sent over the live socket');
  assert.equal(await badge(bruno.page).getAttribute('aria-label'), en('badge.unread.one', { count: 1 }), 'singular form');
  await H.sendMessage(ana.page, 'Second one, are you there?');
  await badge(bruno.page).filter({ hasText: /^2$/ }).waitFor();
  await shot(bruno.page, 'bruno sees unread badge 2');

  // Bruno's widget acknowledged them: Ana sees delivered ticks.
  await H.message(ana.page, 'Second one, are you there?').and(ana.page.locator('[data-status="delivered"], [data-status="read"]')).waitFor();
  await shot(ana.page, 'ana sees delivered ticks');

  // Bruno opens the panel: the Chats list shows the conversation with 2 unread.
  await H.openPanel(bruno.page);
  await H.openTab(bruno.page, 'conversations');
  const item = bruno.page.locator('#widgetConversationList li', { hasText: 'Ana' });
  await item.locator('.tc-unread', { hasText: '2' }).waitFor();
  await item.locator('.tc-conv-preview', { hasText: 'Second one, are you there?' }).waitFor();
  await shot(bruno.page, 'chats list with unread count');
  await item.locator('button').click();
  await H.message(bruno.page, 'Hi Bruno! First message.').waitFor();
  await H.message(bruno.page, 'Second one, are you there?').waitFor();
  await badge(bruno.page).waitFor({ state: 'hidden' });
  assert.equal(await bruno.page.evaluate(() => document.activeElement.id), 'widgetMessageInput', 'focus moves to the input');
  await shot(bruno.page, 'conversation open, badge reset');

  // Ana sees read ticks (coloured) on both messages.
  await H.message(ana.page, 'Second one, are you there?').and(ana.page.locator('[data-status="read"]')).locator('.tc-ticks--read').waitFor();
  await H.message(ana.page, 'Hi Bruno! First message.').and(ana.page.locator('[data-status="read"]')).waitFor();
  await shot(ana.page, 'ana sees read ticks');

  // Typing indicator on Ana's side while Bruno types; never for oneself.
  await bruno.page.locator('#widgetMessageInput').pressSequentially('Yes, I am here', { delay: 40 });
  await ana.page.locator('.tc-typing', { hasText: en('typing.one', { name: 'Bruno' }) }).waitFor();
  assert.equal(await bruno.page.locator('.tc-typing').textContent(), '', 'no typing indicator for oneself');
  await shot(ana.page, 'typing indicator');

  // Shift+Enter is a newline, Enter sends; the message arrives live and clears the indicator.
  await bruno.page.locator('#widgetMessageInput').press('Shift+Enter');
  await bruno.page.locator('#widgetMessageInput').pressSequentially('Second line');
  assert.equal(await bruno.page.locator('#widgetMessageInput').inputValue(), 'Yes, I am here\nSecond line');
  await bruno.page.locator('#widgetMessageInput').press('Enter');
  await H.message(ana.page, 'Yes, I am here\nSecond line').waitFor();
  await ana.page.locator('.tc-typing').filter({ hasText: /^$/ }).waitFor();
  assert.equal(await bruno.page.locator('#widgetMessageInput').inputValue(), '');
  await shot(ana.page, 'reply arrived live');
  // Ana is looking at the conversation, so Bruno's reply is read at once.
  await H.message(bruno.page, 'Yes, I am here\nSecond line').and(bruno.page.locator('[data-status="read"]')).waitFor();
  assert.equal(await H.message(ana.page, 'Yes, I am here\nSecond line').count(), 1);
  assertNoPageErrors(ana, bruno);
});

test('attachments: upload with progress, image thumbnail and file chip for the other user', { timeout: 90000 }, async (t) => {
  const shot = H.screenshots(t.name.split(':')[0]);
  const ana = await session(t, 'ana');
  const bruno = await session(t, 'bruno');
  await H.waitForSocket(bruno.page);
  await H.startConversationWith(ana.page, 'Bruno');
  await H.openConversationFromList(bruno.page, 'Ana');

  const png = H.makePng(160, 100);
  await ana.page.setInputFiles('#widgetAttachmentInput', [
    { name: 'chart.png', mimeType: 'image/png', buffer: png },
    { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('Agenda:\n1. Widget\n2. Release\n') },
  ]);
  await ana.page.locator('.tc-file-chips li', { hasText: 'chart.png' }).waitFor();
  await ana.page.locator('.tc-file-chips li', { hasText: 'notes.txt' }).waitFor();
  await shot(ana.page, 'files picked');
  await ana.page.locator('#widgetMessageInput').fill('Here is the chart and the agenda');
  await ana.page.locator('#widgetMessageInput').press('Enter');
  await H.message(ana.page, 'Here is the chart and the agenda').and(ana.page.locator('[data-id]')).locator('img.tc-att-img').waitFor();
  await shot(ana.page, 'sent with attachments');

  // Bruno gets the message live with the thumbnail (space reserved) and a download chip.
  const msg = H.message(bruno.page, 'Here is the chart and the agenda');
  const img = msg.locator('img.tc-att-img');
  await img.waitFor();
  assert.match(await img.getAttribute('src'), /\/api\/chat\/attachments\/[^/]+\/\?thumb=1$/);
  assert.equal(await img.getAttribute('width'), '160');
  assert.equal(await img.getAttribute('height'), '100');
  assert.equal(await img.getAttribute('alt'), 'chart.png');
  await bruno.page.waitForFunction(() => [...document.querySelectorAll('#widgetMessageContainer img.tc-att-img')]
    .every((i) => i.complete && i.naturalWidth > 0));
  assert.match(await msg.locator('a.tc-att-image').getAttribute('href'), /\/api\/chat\/attachments\/[^/?]+\/$/);
  const chip = msg.locator('a.tc-chip', { hasText: 'notes.txt' });
  await chip.waitFor();
  assert.match(await chip.locator('.tc-chip-size').textContent(), /\d/);
  await shot(bruno.page, 'bruno sees thumbnail and file chip');

  // The picture downloads with Bruno's session.
  const res = await bruno.context.request.get(await img.getAttribute('src'));
  assert.equal(res.status(), 200);
  assert.match(res.headers()['content-type'], /^image\//);

  assertNoPageErrors(ana, bruno);
});

test('XSS: markup in a message is shown as text and never runs', { timeout: 60000 }, async (t) => {
  const shot = H.screenshots('xss');
  const ana = await session(t, 'ana');
  const bruno = await session(t, 'bruno');
  await H.waitForSocket(bruno.page);
  await H.startConversationWith(ana.page, 'Bruno');
  await H.openConversationFromList(bruno.page, 'Ana');
  const payload = '<img src=x onerror=alert(1)> <script>alert(2)</script> <b>bold?</b>';
  await H.sendMessage(ana.page, payload);
  await H.message(bruno.page, payload).waitFor();
  for (const s of [ana, bruno]) {
    assert.equal(await s.page.locator('#tenantChatPanel img[src="x"], #tenantChatPanel script, #tenantChatPanel b').count(), 0);
    assert.equal(await H.message(s.page, payload).locator('.tc-msg-text').textContent(), payload);
  }
  // The list preview is text too.
  await H.openTab(bruno.page, 'conversations');
  await bruno.page.locator('#widgetConversationList .tc-conv-preview', { hasText: '<img src=x onerror=alert(1)>' }).waitFor();
  await shot(bruno.page, 'payload shown as text');
  assert.deepEqual([...ana.dialogs, ...bruno.dialogs], [], 'no dialog fired');
  assertNoPageErrors(ana, bruno);
});

test('polling fallback: with WebSockets blocked, messages still arrive within the polling interval', { timeout: 90000 }, async (t) => {
  const shot = H.screenshots('polling fallback');
  const ana = await session(t, 'ana');
  let blocked = 0;
  const bruno = await session(t, 'bruno', {}, async (context) => {
    await context.routeWebSocket(/\/ws\/chat\//, (ws) => {
      blocked += 1;
      ws.close({ code: 1011, reason: 'blocked by the test' });
    });
  });
  await H.waitForSocket(ana.page);
  await bruno.page.waitForFunction(() => window.TenantChat.state.polling === true && window.TenantChat.state.socketState !== 'open');
  assert.ok(blocked >= 1, 'the widget tried the socket first');
  await bruno.page.locator('#tenantChatBar[data-state="reconnecting"]').waitFor();
  await H.openConversationFromList(bruno.page, 'Ana');
  await shot(bruno.page, 'bruno on polling, reconnecting state');

  await H.startConversationWith(ana.page, 'Bruno');
  const sentAt = Date.now();
  await H.sendMessage(ana.page, 'Delivered by polling');
  // Polling runs every 5 s: the message shows within one interval (plus request time).
  await H.message(bruno.page, 'Delivered by polling').waitFor({ timeout: 8000 });
  const took = Date.now() - sentAt;
  assert.ok(took < 8000, `arrived after ${took} ms`);
  await shot(bruno.page, 'message arrived by polling');

  // Sending works without a socket too, and Ana's live widget gets it.
  await H.sendMessage(bruno.page, 'Reply without a socket');
  await H.message(ana.page, 'Reply without a socket').waitFor();
  // Bruno reads by REST (mark_read): Ana's ticks turn to read.
  await H.message(ana.page, 'Delivered by polling').and(ana.page.locator('[data-status="read"]')).waitFor();
  await shot(ana.page, 'ana got the reply');
  assert.equal(await H.message(bruno.page, 'Delivered by polling').count(), 1);
  assertNoPageErrors(ana, bruno);
});

test('server restart: the widget reconnects and shows what was sent meanwhile exactly once', { timeout: 150000 }, async (t) => {
  const shot = H.screenshots('server restart');
  const ana = await session(t, 'ana');
  const bruno = await session(t, 'bruno');
  await H.waitForSocket(ana.page);
  await H.waitForSocket(bruno.page);
  await H.startConversationWith(ana.page, 'Bruno');
  await H.openConversationFromList(bruno.page, 'Ana');
  await H.sendMessage(ana.page, 'Before the restart');
  await H.message(bruno.page, 'Before the restart').waitFor();
  const conversationId = await bruno.page.evaluate(() => window.TenantChat.state.openConversationId);

  await stack.server.stop();
  await bruno.page.locator('#tenantChatBar[data-state="reconnecting"]').waitFor();
  await bruno.page.locator('#tenantChatBar .tc-bar-status', { hasText: en('status.reconnecting') }).waitFor();
  await shot(bruno.page, 'reconnecting while the server is down');

  await stack.server.start();
  // Sent while Bruno's widget is still away (backing off between attempts).
  const during = ['During the outage 1', 'During the outage 2', 'During the outage 3'];
  for (const content of during) {
    await H.apiPost(ana, `/api/chat/conversations/${conversationId}/messages/`, { content, client_id: `restart-${content}` });
  }
  await H.waitForSocket(bruno.page, 45000);
  await H.waitForSocket(ana.page, 45000);
  for (const text of during) await H.message(bruno.page, text).waitFor();
  await shot(bruno.page, 'reconnected and caught up');

  // Live again over the new socket.
  await H.sendMessage(ana.page, 'After the restart');
  await H.message(bruno.page, 'After the restart').waitFor();
  for (const text of ['Before the restart', ...during, 'After the restart']) {
    assert.equal(await H.message(bruno.page, text).count(), 1, `"${text}" shown once for Bruno`);
    assert.equal(await H.message(ana.page, text).count(), 1, `"${text}" shown once for Ana`);
  }
  // Every rendered message is unique and in seq order.
  const seqs = await bruno.page.locator('#widgetMessageContainer .tc-msg[data-seq]').evaluateAll((els) => els.map((e) => Number(e.dataset.seq)));
  assert.deepEqual(seqs, [...new Set(seqs)].sort((a, b) => a - b), 'unique, ascending seqs');
  await shot(bruno.page, 'live after the restart');
  assertNoPageErrors(ana, bruno);
});

test('groups, mute/archive menu and older history on scroll-up', { timeout: 120000 }, async (t) => {
  const shot = H.screenshots('groups and history');
  const ana = await session(t, 'ana');
  const bruno = await session(t, 'bruno');
  await H.waitForSocket(bruno.page);

  // Ana creates a group with Bruno from the Chats tab.
  await H.openTab(ana.page, 'conversations');
  await ana.page.locator('.tc-new-group-btn').click();
  await ana.page.locator('#tcGroupTitle').fill('Release crew');
  await ana.page.locator('.tc-member-picks label', { hasText: 'Bruno' }).click();
  await shot(ana.page, 'new group form');
  await ana.page.locator('#tcGroupForm button[type="submit"]').click();
  await ana.page.locator('#tenantChatPanel .tc-conv-title', { hasText: 'Release crew' }).waitFor();
  const groupId = await ana.page.evaluate(() => window.TenantChat.state.openConversationId);

  // 60 messages: Bruno opens the group and sees the newest 50, then older ones on scroll-up.
  for (let i = 1; i <= 60; i++) {
    await H.apiPost(ana, `/api/chat/conversations/${groupId}/messages/`, { content: `History ${i}` });
  }
  await bruno.page.evaluate((id) => window.TenantChat.open(id), groupId);
  await H.message(bruno.page, 'History 60').waitFor();
  await bruno.page.locator('#tenantChatPanel .tc-conv-subtitle', { hasText: '2' }).waitFor();
  assert.equal(await H.message(bruno.page, 'History 10').count(), 0, 'only the newest 50 at first');
  const msgs = bruno.page.locator('#widgetMessageContainer .tc-msg');
  assert.equal(await msgs.count(), 50);
  await shot(bruno.page, 'group opened with the newest 50');
  // Scrolling to the top loads older messages above without moving what the reader sees.
  const anchor = H.message(bruno.page, 'History 11');
  const topBefore = await anchor.evaluate((el) => {
    document.getElementById('widgetMessageContainer').scrollTop = 0;
    return el.getBoundingClientRect().top;
  });
  await H.message(bruno.page, 'History 1').waitFor();
  assert.equal(await msgs.count(), 60);
  await bruno.page.locator('.tc-beginning').waitFor();
  const topAfter = await anchor.evaluate((el) => el.getBoundingClientRect().top);
  assert.ok(Math.abs(topAfter - topBefore) < 3, `scroll position kept (${topBefore} → ${topAfter})`);
  await shot(bruno.page, 'older history loaded');

  // Mute from the menu: icon shown, menu item flips; then archive drops it from the list.
  await bruno.page.locator('.tc-menu-btn').click();
  await bruno.page.locator('#tcConvMenu [role="menuitem"]', { hasText: en('conversation.mute') }).click();
  await bruno.page.locator('.tc-conv-header .tc-muted-mark').waitFor();
  await bruno.page.locator('.tc-menu-btn').click();
  await bruno.page.locator('#tcConvMenu [role="menuitem"]', { hasText: en('conversation.unmute') }).waitFor();
  await shot(bruno.page, 'menu after muting');
  await bruno.page.keyboard.press('Escape');
  await bruno.page.locator('#tcConvMenu').waitFor({ state: 'hidden' });
  assert.equal(await bruno.page.locator('#tenantChatPanel').isVisible(), true, 'Esc in the menu closes only the menu');
  await bruno.page.locator('.tc-menu-btn').click();
  await bruno.page.locator('#tcConvMenu [role="menuitem"]', { hasText: en('conversation.archive') }).click();
  await H.openTab(bruno.page, 'conversations');
  await bruno.page.locator('#widgetConversationList li', { hasText: 'Ana' }).waitFor();
  assert.equal(await bruno.page.locator('#widgetConversationList li', { hasText: 'Release crew' }).count(), 0, 'archived group left the list');
  await bruno.page.locator('label[for="tcShowArchived"]').click();
  await bruno.page.locator('#widgetConversationList li', { hasText: 'Release crew' }).locator('.tc-muted-mark').waitFor();
  await shot(bruno.page, 'archived and muted group');
  assertNoPageErrors(ana, bruno);
});

test('keyboard and ARIA: the bar opens with Enter, Esc closes and returns focus', { timeout: 60000 }, async (t) => {
  const bruno = await session(t, 'bruno');
  const { page } = bruno;
  const bar = page.locator('#tenantChatBar');
  await bar.focus();
  await page.keyboard.press('Enter');
  const panel = page.locator('#tenantChatPanel');
  await panel.waitFor({ state: 'visible' });
  assert.equal(await panel.getAttribute('role'), 'dialog');
  assert.equal(await bar.getAttribute('aria-expanded'), 'true');
  assert.equal(await page.locator('#tenantChatPanel [role="tablist"] [role="tab"]').count(), 3);
  assert.equal(await page.locator('#widgetMessageContainer').getAttribute('aria-live'), 'polite');
  assert.equal(await page.locator('.tc-typing').getAttribute('aria-live'), 'polite');
  // Arrow keys move between tabs.
  await page.locator('#tenantChatPanel [role="tab"][aria-selected="true"]').focus();
  await page.keyboard.press('ArrowRight');
  const selected = await page.locator('#tenantChatPanel [role="tab"][aria-selected="true"]').getAttribute('data-tab');
  assert.equal(await page.evaluate(() => document.activeElement.dataset.tab), selected);
  await page.keyboard.press('Escape');
  await panel.waitFor({ state: 'hidden' });
  assert.equal(await page.evaluate(() => document.activeElement.id), 'tenantChatBar', 'focus back on the bar');
  assert.equal(await bar.getAttribute('aria-expanded'), 'false');
  await page.keyboard.press('Space');
  await panel.waitFor({ state: 'visible' });
  assertNoPageErrors(bruno);
});

test('Spanish UI under Accept-Language: es', { timeout: 60000 }, async (t) => {
  const shot = H.screenshots('spanish');
  const es = I18N.es;
  const bruno = await session(t, 'bruno', {
    locale: 'es-ES',
    extraHTTPHeaders: { 'Accept-Language': 'es-ES,es;q=0.9' },
  });
  await H.waitForSocket(bruno.page);
  await H.openPanel(bruno.page);
  const tabs = await bruno.page.locator('#tenantChatPanel [role="tab"] .tc-tab-label').allTextContents();
  assert.deepEqual(tabs, [es['tab.chat'], es['tab.conversations'], es['tab.users']]);
  assert.deepEqual(tabs, ['Chat interno', 'Conversaciones', 'Usuarios y grupos']);
  await bruno.page.locator('#tenantChatBar .tc-bar-status', { hasText: es['status.online'] }).waitFor();
  await H.openConversationFromList(bruno.page, 'Ana');
  assert.equal(await bruno.page.locator('#widgetMessageInput').getAttribute('placeholder'), es['composer.placeholder']);
  await shot(bruno.page, 'spanish widget');
  assertNoPageErrors(bruno);
});

test('an embedding page without CHAT_I18N: the widget fetches its strings from the JSON files', { timeout: 60000 }, async (t) => {
  const pt = I18N['pt-BR'];
  const bruno = await session(t, 'bruno', {
    locale: 'pt-BR',
    extraHTTPHeaders: { 'Accept-Language': 'pt-BR,pt;q=0.9' },
  }, async (context) => {
    // The page's configuration block cannot hand strings over: assignments are dropped.
    await context.addInitScript(() => Object.defineProperty(window, 'CHAT_I18N', { get: () => undefined, set: () => {} }));
  });
  const fetched = [];
  bruno.page.on('request', (r) => { if (/\/static\/chat\/i18n\//.test(r.url())) fetched.push(new URL(r.url()).pathname); });
  await bruno.page.reload();
  await H.waitForSocket(bruno.page);
  await H.openPanel(bruno.page);
  const tabs = await bruno.page.locator('#tenantChatPanel [role="tab"] .tc-tab-label').allTextContents();
  assert.deepEqual(tabs, [pt['tab.chat'], pt['tab.conversations'], pt['tab.users']]);
  await bruno.page.locator('#tenantChatBar .tc-bar-status', { hasText: pt['status.online'] }).waitFor();
  assert.deepEqual(fetched.sort(), ['/static/chat/i18n/en.json', '/static/chat/i18n/pt-BR.json']);
  assertNoPageErrors(bruno);
});

test('phone viewport: the panel takes the full screen', { timeout: 60000 }, async (t) => {
  const shot = H.screenshots('phone');
  const bruno = await session(t, 'bruno', { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, hasTouch: true });
  await H.waitForSocket(bruno.page);
  await shot(bruno.page, 'phone closed');
  await H.openConversationFromList(bruno.page, 'Ana');
  const box = await bruno.page.locator('#tenantChatPanel').boundingBox();
  assert.deepEqual(
    [box.x, box.y, box.width, box.height].map(Math.round),
    [0, 0, 390, 844],
    `panel box ${JSON.stringify(box)}`,
  );
  // The composer is inside the screen.
  const composer = await bruno.page.locator('#widgetMessageForm').boundingBox();
  assert.ok(composer.y + composer.height <= 844 + 0.5, 'composer visible');
  await shot(bruno.page, 'phone panel full screen');
  await bruno.page.keyboard.press('Escape');
  await bruno.page.locator('#tenantChatPanel').waitFor({ state: 'hidden' });
  assertNoPageErrors(bruno);
});
