// Harness for the widget's browser tests: a fresh PostgreSQL database, the real server
// binary on a free port (stoppable and restartable on the same port), a tenant with two
// users made with the CLI, headless Chromium through playwright-core, and screenshots
// of every step under target/e2e/ (tests write nothing else; docs screenshots are
// made on request by screenshots.mjs).
//
// Environment:
//   DATABASE_URL    a PostgreSQL server URL (required); a database tenantchat_e2e_<random>
//                   is created on that server with psql and dropped at the end
//   TENANTCHAT_BIN  the server binary (default ../../target/debug/tenantchat from here)
//   REDIS_URL       optional, passed through to the server
//   CHROMIUM_PATH   optional, default /usr/bin/chromium

import assert from 'node:assert/strict';
import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { deflateSync } from 'node:zlib';
import { chromium } from 'playwright-core';

const execFileP = promisify(execFile);

export const E2E_DIR = path.dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = path.resolve(E2E_DIR, '..', '..');
export const SHOT_DIR = path.join(REPO_ROOT, 'target', 'e2e');
export const DOCS_DIR = path.join(REPO_ROOT, 'docs');
export const BIN = path.resolve(E2E_DIR, process.env.TENANTCHAT_BIN || '../../target/debug/tenantchat');

export const PASSWORD = 'e2e-password-1';
export const USERS = {
  ana: { email: 'ana@e2e.test', name: 'Ana', password: PASSWORD },
  bruno: { email: 'bruno@e2e.test', name: 'Bruno', password: PASSWORD },
};
export const TENANT = 'e2e';

// ------------------------------------------------------------------ utilities

export async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a truthy value or `timeoutMs` passes. */
export async function waitUntil(probe, { timeoutMs = 30000, intervalMs = 100, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let lastError;
  for (;;) {
    try {
      const value = await probe();
      if (value) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${lastError.message}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

function databaseUrlFor(serverUrl, dbName) {
  const u = new URL(serverUrl);
  u.pathname = `/${dbName}`;
  return u.toString();
}

async function psql(serverUrl, sql) {
  await execFileP('psql', [serverUrl, '-v', 'ON_ERROR_STOP=1', '-q', '-c', sql], { timeout: 60000 });
}

// ------------------------------------------------------------------ the server

export class Server {
  constructor({ bin = BIN, databaseUrl, port, mediaRoot, logPath, extraEnv = {} }) {
    Object.assign(this, { bin, databaseUrl, port, mediaRoot, logPath, extraEnv });
    this.baseUrl = `http://127.0.0.1:${port}`;
    this.child = null;
  }

  env() {
    const env = {
      ...process.env,
      DATABASE_URL: this.databaseUrl,
      BIND: `127.0.0.1:${this.port}`,
      RUST_LOG: 'warn',
      MEDIA_ROOT: this.mediaRoot,
      // The tests seed history through the API faster than a person types (60/min by default).
      RATE_SEND_PER_MINUTE: process.env.RATE_SEND_PER_MINUTE || '6000',
      RATE_SEND_BURST: process.env.RATE_SEND_BURST || '200',
      ...this.extraEnv,
    };
    delete env.PUBLIC_ORIGIN; // the origin is http://BIND, which the browser uses
    return env;
  }

  async cli(...args) {
    const { stdout } = await execFileP(this.bin, args, { cwd: REPO_ROOT, env: this.env(), timeout: 60000 });
    return stdout.trim();
  }

  async start() {
    if (this.child) throw new Error('server already running');
    const log = createWriteStream(this.logPath, { flags: 'a' });
    log.write(`\n--- start ${new Date().toISOString()} on ${this.baseUrl}\n`);
    const child = spawn(this.bin, ['serve'], { cwd: REPO_ROOT, env: this.env(), stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.pipe(log, { end: false });
    child.stderr.pipe(log, { end: false });
    let exited = null;
    child.on('exit', (code, signal) => {
      exited = { code, signal };
      log.write(`--- exited code=${code} signal=${signal}\n`);
    });
    this.child = child;
    this.exitPromise = new Promise((resolve) => child.on('exit', resolve));
    await waitUntil(async () => {
      if (exited) throw new Error(`server exited early (${JSON.stringify(exited)}); see ${this.logPath}`);
      const res = await fetch(`${this.baseUrl}/api/openapi.json`);
      return res.ok;
    }, { timeoutMs: 60000, intervalMs: 150, what: `${this.baseUrl}/api/openapi.json` }).catch((err) => {
      this.kill();
      throw err;
    });
  }

  /** SIGTERM, then SIGKILL if it has not stopped within 15 s. */
  async stop() {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15000);
    await this.exitPromise;
    clearTimeout(timer);
  }

  kill() {
    if (this.child && this.child.exitCode === null) this.child.kill('SIGKILL');
    this.child = null;
  }

  async restart() {
    await this.stop();
    await this.start();
  }
}

/**
 * A fresh database, the server running on it, and tenant `e2e` with users Ana and Bruno.
 * `env` adds to the server's environment (e.g. ALLOWED_ORIGINS).
 * Returns {server, baseUrl, users, teardown()}.
 */
export async function startStack({ env = {} } = {}) {
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) throw new Error('DATABASE_URL (a PostgreSQL server URL) is required');
  if (!existsSync(BIN)) throw new Error(`server binary not found: ${BIN} (build it or set TENANTCHAT_BIN)`);
  mkdirSync(SHOT_DIR, { recursive: true });
  const dbName = `tenantchat_e2e_${randomBytes(5).toString('hex')}`;
  await psql(serverUrl, `CREATE DATABASE ${dbName}`);
  const mediaRoot = mkdtempSync(path.join(tmpdir(), 'tenantchat-e2e-media-'));
  const server = new Server({
    databaseUrl: databaseUrlFor(serverUrl, dbName),
    port: await freePort(),
    mediaRoot,
    logPath: path.join(SHOT_DIR, 'server.log'),
    extraEnv: env,
  });
  const killOnExit = () => server.kill();
  process.on('exit', killOnExit);

  let torn = false;
  async function teardown() {
    if (torn) return;
    torn = true;
    await server.stop().catch(() => server.kill());
    process.off('exit', killOnExit);
    await psql(serverUrl, `DROP DATABASE IF EXISTS ${dbName} WITH (FORCE)`).catch((err) => {
      console.error(`# could not drop ${dbName}: ${err.message}`);
    });
    rmSync(mediaRoot, { recursive: true, force: true });
  }

  try {
    await server.start();
    await server.cli('tenant', 'create', '--slug', TENANT, '--name', 'E2E Inc');
    const users = {};
    for (const [key, u] of Object.entries(USERS)) {
      const out = await server.cli('user', 'create', '--tenant', TENANT, '--email', u.email, '--name', u.name,
        '--password', u.password, '--role', 'write');
      users[key] = { ...u, id: out.split(/\s+/).pop() };
    }
    return { server, baseUrl: server.baseUrl, users, teardown };
  } catch (err) {
    await teardown();
    throw err;
  }
}

// ------------------------------------------------------------------ the browser

export const CHROMIUM_ARGS = [
  '--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-quic', '--no-first-run', '--disable-component-update', '--disable-sync',
  '--disable-dev-shm-usage',
];

export function launchBrowser(extraArgs = []) {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...extraArgs],
    timeout: 60000,
  });
}

/** A browser context (one user's browser profile) with a page, logged in. */
export async function userSession(browser, baseUrl, user, contextOptions = {}, setup) {
  const context = await browser.newContext({
    baseURL: baseUrl,
    viewport: { width: 1280, height: 800 },
    locale: 'en-US',
    ...contextOptions,
  });
  context.setDefaultTimeout(15000);
  if (setup) await setup(context);
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (err) => errors.push(err));
  await login(page, user);
  return { context, page, errors, user };
}

/** Logs in through the real login page. */
export async function login(page, user) {
  await page.goto('/login/');
  const form = page.locator('form:has(input[name="password"])');
  await form.locator('input[name="tenant"]').fill(TENANT);
  await form.locator('input[name="email"]').fill(user.email);
  await form.locator('input[name="password"]').fill(user.password);
  await Promise.all([
    page.waitForURL((url) => url.pathname === '/', { timeout: 15000 }),
    form.locator('input[name="password"]').press('Enter'),
  ]);
  await page.locator('#tenantChatBar').waitFor({ state: 'visible' });
}

/** Saves screenshots as target/e2e/<test>--<nn>-<step>.png. */
export function screenshots(testName) {
  const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
  let n = 0;
  return async (page, step, options = {}) => {
    n += 1;
    const file = path.join(SHOT_DIR, `${slug(testName)}--${String(n).padStart(2, '0')}-${slug(step)}.png`);
    await page.screenshot({ path: file, ...options });
    return file;
  };
}

// ------------------------------------------------------------------ widget helpers

export function widgetState(page) {
  return page.evaluate(() => {
    const s = window.TenantChat && window.TenantChat.state;
    return s && { socketState: s.socketState, polling: s.polling, openConversationId: s.openConversationId, conversations: s.conversations.length };
  });
}

export async function waitForSocket(page, timeout = 15000) {
  await page.waitForFunction(() => window.TenantChat && window.TenantChat.state.socketState === 'open'
    && document.getElementById('tenantChatBar').dataset.state === 'online', null, { timeout });
}

export async function openPanel(page) {
  if (!(await page.locator('#tenantChatPanel').isVisible())) await page.locator('#tenantChatBar').click();
  await page.locator('#tenantChatPanel').waitFor({ state: 'visible' });
}

export async function openTab(page, name) {
  await openPanel(page);
  await page.locator(`#tenantChatPanel [role="tab"][data-tab="${name}"]`).click();
}

/** Opens (or starts) the 1-to-1 conversation with `name` from the Users & Groups tab. */
export async function startConversationWith(page, name) {
  await openTab(page, 'users');
  await page.locator('#widgetUserList button', { hasText: name }).click();
  await page.locator('#tenantChatPanel .tc-conv-title', { hasText: name }).waitFor();
  await page.waitForFunction(() => document.activeElement && document.activeElement.id === 'widgetMessageInput');
}

/** Opens the conversation titled `title` from the Chats tab. */
export async function openConversationFromList(page, title) {
  await openTab(page, 'conversations');
  await page.locator('#widgetConversationList button', { hasText: title }).click();
  await page.locator('#tenantChatPanel .tc-conv-title', { hasText: title }).waitFor();
}

export async function sendMessage(page, text) {
  const input = page.locator('#widgetMessageInput');
  await input.fill(text);
  await input.press('Enter');
  // Sent: the server's copy (with an id) is in the list.
  await message(page, text).and(page.locator('[data-id]')).waitFor();
}

/** The rendered messages whose text is exactly `text`. */
export function message(page, text) {
  return page.locator('#widgetMessageContainer .tc-msg').filter({
    has: page.locator('.tc-msg-text').getByText(text, { exact: true }),
  });
}

// ------------------------------------------------------------------ test data

const CRC_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[n] = c >>> 0;
  }
  return t;
})();
function crc32(buf) {
  let c = 0xffffffff;
  for (const b of buf) c = CRC_TABLE[(c ^ b) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}
function chunk(type, data) {
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(td));
  return Buffer.concat([len, td, crc]);
}
/** A small RGB PNG (a diagonal gradient) made in memory. */
export function makePng(width = 160, height = 100) {
  const raw = Buffer.alloc((width * 3 + 1) * height);
  for (let y = 0; y < height; y++) {
    const row = y * (width * 3 + 1);
    raw[row] = 0; // filter: none
    for (let x = 0; x < width; x++) {
      const i = row + 1 + x * 3;
      raw[i] = Math.round((x / width) * 255);
      raw[i + 1] = Math.round((y / height) * 200);
      raw[i + 2] = 220;
    }
  }
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 2; // colour type RGB
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('IDAT', deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

/** A JSON POST through the session's cookies, with the CSRF header. */
/** No page error, console error or CSP violation seen by `session` (whose `problems` the test collects). */
export function assertClean(session) {
  assert.deepEqual(session.errors.map((e) => e.message), [], 'page errors');
  assert.deepEqual(session.problems, [], 'console errors or CSP violations');
}

/** `method` on `apiPath` as the signed-in user (cookie and CSRF token); the JSON answer, null for a 204. */
export async function api(session, method, apiPath, data) {
  const cookies = await session.context.cookies();
  const csrf = (cookies.find((c) => c.name === 'csrftoken') || {}).value || '';
  const res = await session.context.request.fetch(apiPath, { method, headers: { 'X-CSRFToken': csrf }, data });
  assert.ok(res.ok(), `${method} ${apiPath}: ${res.status()} ${await res.text()}`);
  return res.status() === 204 ? null : res.json();
}

export async function apiPost(session, apiPath, data) {
  const cookies = await session.context.cookies();
  const csrf = (cookies.find((c) => c.name === 'csrftoken') || {}).value || '';
  for (let attempt = 0; ; attempt++) {
    const res = await session.context.request.post(apiPath, { headers: { 'X-CSRFToken': csrf }, data });
    if (res.status() === 429 && attempt < 5) {
      const body = await res.json().catch(() => ({}));
      await new Promise((r) => setTimeout(r, (Number(body.retry_after) || 1) * 1000));
      continue;
    }
    if (!res.ok()) throw new Error(`POST ${apiPath}: ${res.status()} ${await res.text()}`);
    return res.json();
  }
}
