// The widget embedded in another app's page, signed in with that app's identity
// (POST /api/auth/widget/): a demo host app — a tiny node http server on another site
// (http://localhost:<port>, while tenantchat is http://127.0.0.1:<port>) — signs its
// user server-side with the tenant's widget secret and includes the widget; its user
// chats with Bruno, who uses tenantchat's own dashboard.
// Run: cd tests/e2e && node --test embed.test.mjs (see harness.mjs for the environment).

import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { createServer } from 'node:http';
import * as H from './harness.mjs';

let stack;
let browser;
let host;
let hostOrigin;
let widgetSecret = '';
const CUSTOMER = { external_id: 'cust-1001', email: 'carol@host.test', name: 'Carol Customer' };

/**
 * The host app's part, as docs/embedding.md describes it: its server signs
 * `tenant|external_id|email|name|ts` with the widget secret and hands the signed fields
 * to the widget (here in a small script, so the page needs no inline script), fresh on
 * every load since a signature is good once.
 */
function hostApp(chatOrigin) {
  return createServer((req, res) => {
    if (req.url === '/signed-in.js') {
      const ts = Math.floor(Date.now() / 1000);
      const { external_id, email, name } = CUSTOMER;
      const text = [H.TENANT, external_id, email, name, ts].join('|');
      const signature = createHmac('sha256', widgetSecret).update(text).digest('hex');
      const signIn = { tenant: H.TENANT, external_id, email, name, ts, signature };
      res.writeHead(200, { 'Content-Type': 'text/javascript', 'Cache-Control': 'no-store' });
      res.end(`window.CHAT_API_BASE = ${JSON.stringify(chatOrigin)};\nwindow.CHAT_SIGN_IN = ${JSON.stringify(signIn)};\n`);
      return;
    }
    res.writeHead(200, { 'Content-Type': 'text/html; charset=utf-8', 'Cache-Control': 'no-store' });
    res.end(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Host app</title></head>
<body><h1>Host app dashboard</h1>
<script src="/signed-in.js"></script>
<script src="${chatOrigin}/static/chat/js/tenant_chat.js"></script>
</body></html>`);
  });
}

before(async () => {
  const hostPort = await H.freePort();
  hostOrigin = `http://localhost:${hostPort}`;
  stack = await H.startStack({ env: { ALLOWED_ORIGINS: hostOrigin } });
  host = hostApp(stack.baseUrl);
  await new Promise((resolve) => host.listen(hostPort, resolve));
  browser = await H.launchBrowser();
});

after(async () => {
  if (browser) await browser.close().catch(() => {});
  if (host) await new Promise((resolve) => host.close(resolve));
  if (stack) await stack.teardown();
});

test('a host app on another site signs its user in and the user chats', { timeout: 120000 }, async (t) => {
  const shot = H.screenshots('embed');
  // The tenant's admin makes the widget secret, shown once.
  const adminUser = { email: 'ada@e2e.test', name: 'Ada', password: H.PASSWORD };
  await stack.server.cli('user', 'create', '--tenant', H.TENANT, '--email', adminUser.email, '--name', adminUser.name,
    '--password', adminUser.password, '--role', 'admin');
  const admin = await H.userSession(browser, stack.baseUrl, adminUser);
  t.after(() => admin.context.close().catch(() => {}));
  ({ secret: widgetSecret } = await H.apiPost(admin, '/api/admin/widget-secret/', {}));
  assert.match(widgetSecret, /^tcws_[0-9a-f]{64}$/);

  const bruno = await H.userSession(browser, stack.baseUrl, stack.users.bruno);
  t.after(() => bruno.context.close().catch(() => {}));

  // Carol only ever visits the host app.
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale: 'en-US' });
  t.after(() => context.close().catch(() => {}));
  context.setDefaultTimeout(15000);
  const carol = await context.newPage();
  const errors = [];
  carol.on('pageerror', (err) => errors.push(err));
  await carol.goto(`${hostOrigin}/`);
  await H.waitForSocket(carol);
  await shot(carol, 'host page with the widget');
  assert.deepEqual(await context.cookies(stack.baseUrl), [], 'no tenantchat cookie: the widget runs on its token');

  await H.startConversationWith(carol, 'Bruno');
  await H.sendMessage(carol, 'Hello from the host app');
  await H.waitForSocket(bruno.page);
  await H.openConversationFromList(bruno.page, CUSTOMER.name);
  await H.message(bruno.page, 'Hello from the host app').waitFor();
  await H.sendMessage(bruno.page, 'Hi Carol, how can I help?');
  await H.message(carol, 'Hi Carol, how can I help?').waitFor();
  await shot(carol, 'the reply arrives live');

  // Every load signs afresh; the same user comes back, and the widget reopens the
  // conversation it showed (its tab's memory), history loaded from the server.
  await carol.reload();
  await H.waitForSocket(carol);
  await carol.waitForFunction(() => window.TenantChat.state.panelOpen && window.TenantChat.state.openConversationId);
  await H.message(carol, 'Hi Carol, how can I help?').waitFor();
  assert.deepEqual(errors.map((e) => e.message), []);
});
