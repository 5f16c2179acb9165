// Search, reactions and mentions in the widget, in a real browser, in English, Spanish and
// Brazilian Portuguese: a search finds an old message and opens its conversation at it
// (the history around it loaded, newer pages on request); Ana reacts and Bruno sees the
// count live; Bruno mentions Ana with the @ autocomplete and she gets the badge and the
// highlight. Prints how long a reaction and a mention took to reach the other user's
// widget (TAP diagnostics `live: …`; figures, not judged). Run: see harness.mjs.

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as H from './harness.mjs';

const LANGS = {
  en: { locale: 'en-US', header: 'en-US,en;q=0.9', word: 'zebra', typed: 'zebra' },
  es: { locale: 'es-ES', header: 'es-ES,es;q=0.9', word: 'jirafa', typed: 'jirafa' },
  // Accent-insensitive: the user types without the accent.
  'pt-BR': { locale: 'pt-BR', header: 'pt-BR,pt;q=0.9', word: 'tamanduá', typed: 'tamandua' },
};
const STRINGS = Object.fromEntries(Object.keys(LANGS).map((l) => [l,
  JSON.parse(readFileSync(path.join(H.REPO_ROOT, 'static/chat/i18n', `${l}.json`), 'utf8'))]));
/** The string the widget shows (the `.one` form for a count of 1, as Intl.PluralRules picks). */
function tr(lang, key, params = {}) {
  const s = STRINGS[lang];
  const k = params.count === 1 && s[`${key}.one`] ? `${key}.one` : key;
  return s[k].replace(/\{(\w+)\}/g, (_, p) => params[p]);
}

const HISTORY = 60; // messages in the searched group; the found one is the 5th
const FOUND_AT = 5;

let stack;
let browser;

before(async () => {
  stack = await H.startStack();
  browser = await H.launchBrowser();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (stack) await stack.teardown();
});

async function session(t, who, lang) {
  const s = await H.userSession(browser, stack.baseUrl, stack.users[who], {
    locale: LANGS[lang].locale, extraHTTPHeaders: { 'Accept-Language': LANGS[lang].header },
  });
  t.after(() => s.context.close().catch(() => {}));
  await H.waitForSocket(s.page);
  return s;
}

// How long the other user's widget took to show a change, from the gesture that made it.
async function timed(t, change, act, seen) {
  const start = Date.now();
  await act();
  await seen();
  t.diagnostic(`live: ${change} seen by the other user in ${Date.now() - start} ms`);
}

const noPageErrors = (...sessions) => {
  for (const s of sessions) assert.deepEqual(s.errors.map((e) => e.message), [], `page errors for ${s.user.name}`);
};
const header = (page) => page.locator('#tenantChatPanel .tc-conv-title');
const seeded = (i, word) => (i === FOUND_AT ? `the ${word} report is due on Friday` : `history line ${i}`);

for (const lang of Object.keys(LANGS)) {
  const { word, typed } = LANGS[lang];

  test(`[${lang}] search finds an old message and opens its conversation at it, the history around it loaded`, { timeout: 180000 }, async (t) => {
    const shot = H.screenshots(`search ${lang}`);
    const ana = await session(t, 'ana', lang);
    const title = `Archive ${lang}`;
    const group = await H.apiPost(ana, '/api/chat/conversations/', { title, participant_ids: [stack.users.bruno.id] });
    for (let i = 1; i <= HISTORY; i++) await H.apiPost(ana, `/api/chat/conversations/${group.id}/messages/`, { content: seeded(i, word) });
    const bruno = await session(t, 'bruno', lang);

    // The search box is in the Chats tab, labelled in the user's language.
    await H.openTab(bruno.page, 'conversations');
    const box = bruno.page.locator('#tcSearchInput');
    assert.equal(await box.getAttribute('aria-label'), tr(lang, 'search.label'));
    await box.fill(typed);
    await box.press('Enter');
    const results = bruno.page.locator('#tcSearchResults');
    await results.locator('.tc-search-summary', { hasText: tr(lang, 'search.count', { count: 1, query: typed }) }).waitFor();
    assert.equal(await bruno.page.locator('#widgetConversationList').isVisible(), false, 'results take the list\'s place');
    const group1 = results.locator('.tc-search-group');
    assert.equal(await group1.count(), 1);
    assert.equal(await group1.locator('.tc-search-title').textContent(), title);
    assert.equal(await group1.locator('mark').first().textContent(), word, 'the match is marked');
    assert.equal(await group1.locator('.tc-search-text').textContent(), seeded(FOUND_AT, word));
    await shot(bruno.page, 'results');

    // The result opens the group at the message: highlighted, in view, with its neighbours.
    await group1.locator('.tc-search-hit').click();
    await header(bruno.page).filter({ hasText: title }).waitFor();
    const found = H.message(bruno.page, seeded(FOUND_AT, word));
    await found.and(bruno.page.locator('.tc-msg--found')).waitFor();
    assert.ok(await found.isVisible() && await found.evaluate((el) => {
      const box = el.getBoundingClientRect();
      const view = document.getElementById('widgetMessageContainer').getBoundingClientRect();
      return box.top >= view.top && box.bottom <= view.bottom;
    }), 'the found message is scrolled into view');
    await H.message(bruno.page, seeded(FOUND_AT - 1, word)).waitFor();
    await H.message(bruno.page, seeded(FOUND_AT + 20, word)).waitFor();
    assert.equal(await H.message(bruno.page, seeded(HISTORY, word)).count(), 0, 'the newest messages are not loaded yet');
    await shot(bruno.page, 'jumped to the message');

    // Newer history on request, until the newest message.
    const newer = bruno.page.locator('.tc-load-newer', { hasText: tr(lang, 'messages.loadNewer') });
    await newer.click();
    await H.message(bruno.page, seeded(HISTORY, word)).waitFor();
    await newer.waitFor({ state: 'hidden' });

    // A common word: a page of 20, then "load more" follows the cursor.
    await H.openTab(bruno.page, 'conversations');
    await box.fill('history');
    await box.press('Enter');
    await results.locator('.tc-search-summary', { hasText: tr(lang, 'search.count', { count: 20, query: 'history' }) }).waitFor();
    await results.locator('.tc-search-more', { hasText: tr(lang, 'search.more') }).click();
    await results.locator('.tc-search-summary', { hasText: tr(lang, 'search.count', { count: 40, query: 'history' }) }).waitFor();
    assert.equal(await results.locator('.tc-search-hit').count(), 40);
    assert.equal(await results.locator('.tc-search-group').count(), 1, 'one conversation, one group');

    // Back to the list: Escape in the search box clears the search, the panel stays.
    await box.press('Escape');
    await bruno.page.locator('#widgetConversationList').waitFor();
    assert.equal(await bruno.page.locator('#tenantChatPanel').isVisible(), true);
    noPageErrors(ana, bruno);
  });

  test(`[${lang}] Ana reacts and Bruno sees the count live; Bruno mentions Ana with the autocomplete, she gets the badge and the highlight`, { timeout: 120000 }, async (t) => {
    const shot = H.screenshots(`react and mention ${lang}`);
    const ana = await session(t, 'ana', lang);
    const bruno = await session(t, 'bruno', lang);
    const title = `Team ${lang}`;
    await H.apiPost(ana, '/api/chat/conversations/', { title, participant_ids: [stack.users.bruno.id] });
    await H.openConversationFromList(ana.page, title);
    await H.openConversationFromList(bruno.page, title);
    const text = `Ship it (${lang})`;
    await H.sendMessage(ana.page, text);
    await H.message(bruno.page, text).waitFor();
    // Read by Bruno first: the message menu closes when its message re-renders (a new tick).
    await H.message(ana.page, text).and(ana.page.locator('[data-status="read"]')).waitFor();

    // Ana reacts from the message menu's picker (by keyboard); Bruno's widget counts it.
    await H.message(ana.page, text).locator('.tc-msg-menu-btn').click();
    await ana.page.locator('#tcMessageMenu [role="menuitem"]', { hasText: tr(lang, 'action.react') }).click();
    const picker = ana.page.locator(`#tcReactionPicker[aria-label="${tr(lang, 'reactions.pick')}"]`);
    await picker.waitFor();
    await ana.page.keyboard.press('ArrowRight'); // 👍 → ❤️
    await ana.page.keyboard.press('ArrowLeft'); // back to 👍
    const brunoChip = H.message(bruno.page, text).locator('.tc-reaction[data-reaction="👍"]');
    await timed(t, `reaction (${lang})`, () => ana.page.keyboard.press('Enter'),
      () => brunoChip.filter({ hasText: '1' }).waitFor());
    const anaChip = H.message(ana.page, text).locator('.tc-reaction[data-reaction="👍"]');
    assert.equal(await anaChip.getAttribute('aria-pressed'), 'true', 'her own reaction is marked');
    assert.equal(await anaChip.getAttribute('aria-label'), tr(lang, 'reactions.mine', { emoji: '👍', count: 1 }));
    assert.equal(await brunoChip.getAttribute('aria-pressed'), 'false');
    // Bruno adds his with a click on the count; Ana sees 2, and his is the marked one on his side.
    await brunoChip.click();
    await anaChip.filter({ hasText: '2' }).waitFor();
    await brunoChip.and(bruno.page.locator('[aria-pressed="true"]')).waitFor();
    await shot(ana.page, 'reactions');

    // Ana leaves the conversation's screen; Bruno mentions her through the autocomplete.
    await H.openTab(ana.page, 'conversations');
    const input = bruno.page.locator('#widgetMessageInput');
    await input.pressSequentially('@An');
    const option = bruno.page.locator('#tcMentionList [role="option"]', { hasText: 'Ana' });
    await option.waitFor();
    assert.equal(await bruno.page.locator('#tcMentionList').getAttribute('aria-label'), tr(lang, 'mentions.list'));
    assert.equal(await option.getAttribute('aria-selected'), 'true');
    await shot(bruno.page, 'autocomplete');
    await input.press('Tab');
    await bruno.page.locator('#tcMentionList').waitFor({ state: 'hidden' });
    assert.equal(await input.inputValue(), '@Ana ');
    await input.pressSequentially('please check');
    const badge = ana.page.locator('#widgetConversationList .tc-conv', { hasText: title }).locator('.tc-mention-badge');
    await timed(t, `mention (${lang})`, () => input.press('Enter'), () => badge.waitFor());
    assert.equal(await badge.getAttribute('aria-label'), tr(lang, 'conversations.mentions', { count: 1 }));
    await H.message(bruno.page, '@Ana please check').locator('.tc-mention', { hasText: '@Ana' }).waitFor();
    await shot(ana.page, 'mention badge');

    // She opens it: her mention stands out, and reading clears the badge.
    await H.openConversationFromList(ana.page, title);
    const mention = H.message(ana.page, '@Ana please check');
    await mention.locator('.tc-mention--me', { hasText: '@Ana' }).waitFor();
    assert.match(await mention.getAttribute('class'), /tc-msg--mentions-me/);
    await shot(ana.page, 'mention highlighted');
    // Read once on screen (the receipt leaves after a short pause), then the list has no badge.
    await ana.page.waitForFunction((name) => window.TenantChat.state.conversations.find((c) => c.title === name).mention_count === 0, title);
    await H.openTab(ana.page, 'conversations');
    await ana.page.locator('#widgetConversationList .tc-conv', { hasText: title }).waitFor();
    await badge.waitFor({ state: 'detached' });
    noPageErrors(ana, bruno);
  });
}

test('phone width: the search results and the reaction picker fit the screen', { timeout: 120000 }, async (t) => {
  const shot = H.screenshots('find on a phone');
  const ana = await session(t, 'ana', 'en');
  const title = 'Phone check';
  const group = await H.apiPost(ana, '/api/chat/conversations/', { title, participant_ids: [stack.users.bruno.id] });
  await H.apiPost(ana, `/api/chat/conversations/${group.id}/messages/`, { content: 'the pangolin notes are in the shared folder' });
  const phone = await H.userSession(browser, stack.baseUrl, stack.users.bruno, { viewport: { width: 390, height: 844 }, hasTouch: true });
  t.after(() => phone.context.close().catch(() => {}));
  await H.waitForSocket(phone.page);
  const { page } = phone;
  const fits = (locator) => locator.evaluate((el) => {
    const r = el.getBoundingClientRect();
    return r.left >= 0 && r.right <= window.innerWidth;
  });

  await H.openTab(page, 'conversations');
  await page.locator('#tcSearchInput').fill('pangolin');
  await page.locator('#tcSearchInput').press('Enter');
  const hit = page.locator('#tcSearchResults .tc-search-hit');
  await hit.waitFor();
  assert.ok(await fits(page.locator('#tcSearchForm')), 'the search box fits');
  assert.ok(await fits(hit), 'a result fits');
  await shot(page, 'results');
  await hit.click();
  const found = H.message(page, 'the pangolin notes are in the shared folder');
  await found.and(page.locator('.tc-msg--found')).waitFor();
  await found.locator('.tc-msg-menu-btn').click();
  await page.locator('#tcMessageMenu [role="menuitem"][data-act="react"]').click();
  const picker = page.locator('#tcReactionPicker');
  await picker.waitFor();
  assert.ok(await fits(picker), 'the picker fits');
  await shot(page, 'picker');
  await picker.locator('[data-pick="👀"]').click();
  await found.locator('.tc-reaction--me[data-reaction="👀"]').waitFor();
  noPageErrors(ana, phone);
});
