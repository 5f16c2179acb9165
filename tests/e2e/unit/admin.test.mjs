// The admin console's DOM-free parts: its strings (the three locale files agree, and
// every key the pages, templates and page handler ask for exists), the chart scale, the
// users filter, the attachment type choices, the bot form's body, the delivery log's last
// answer and the flagged messages' excerpts and kinds.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { niceScale } from '../../../static/admin/js/chart.js';
import { FIELDS } from '../../../static/admin/js/pages/settings.js';
import { filterUsers, ROLES } from '../../../static/admin/js/pages/users.js';
import { typeChoices } from '../../../static/admin/js/pages/attachments.js';
import { BOT_KINDS, EVENTS, botBody, botKind } from '../../../static/admin/js/pages/integrations.js';
import { STATUSES, lastAnswer } from '../../../static/admin/js/deliveries.js';
import { KINDS, excerpt, piiKinds } from '../../../static/admin/js/pages/flagged.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const LOCALES = ['en', 'es', 'pt-BR'];
const read = (dir, l) => JSON.parse(readFileSync(path.join(ROOT, dir, `${l}.json`), 'utf8'));
const admin = Object.fromEntries(LOCALES.map((l) => [l, read('static/admin/i18n', l)]));
const widgetEn = read('static/chat/i18n', 'en');

test('the admin strings: en, es and pt-BR have the same keys and placeholders, none empty, none the widget\'s', () => {
  const keys = (l) => Object.keys(admin[l]).sort();
  assert.deepEqual(keys('es'), keys('en'));
  assert.deepEqual(keys('pt-BR'), keys('en'));
  const names = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
  for (const l of LOCALES) {
    for (const [k, v] of Object.entries(admin[l])) {
      assert.ok(typeof v === 'string' && v.trim(), `${l}: ${k} is empty`);
      assert.equal(names(v), names(admin.en[k]), `${l}: ${k} placeholders`);
    }
  }
  assert.deepEqual(Object.keys(admin.en).filter((k) => k in widgetEn), [], 'one file owns each key');
});

function files(dir, ext) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory()
    ? files(path.join(dir, e.name), ext) : e.name.endsWith(ext) ? [path.join(dir, e.name)] : []));
}

test('every key the console asks for is in the files', () => {
  const asked = new Set();
  for (const file of files(path.join(ROOT, 'static/admin/js'), '.js')) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\bt\('([\w.]+)'/g)) asked.add(m[1]);
  }
  for (const file of [...files(path.join(ROOT, 'templates/admin'), '.html'), path.join(ROOT, 'templates/dashboard.html'),
    path.join(ROOT, 'src/web/admin.rs')]) {
    for (const m of readFileSync(file, 'utf8').matchAll(/"((?:admin|page|widget)\.[\w.]+)"/g)) asked.add(m[1]);
  }
  // Keys made from names.
  for (const r of ROLES) asked.add(`admin.role.${r}`);
  for (const f of FIELDS) asked.add(`admin.settings.${f.name}`).add(`admin.settings.${f.name}.hint`);
  for (const f of ['email', 'name', 'password', 'role']) asked.add(`admin.users.${f}`);
  for (const v of ['grid', 'list']) asked.add(`admin.attachments.view_${v}`);
  for (const p of ['altered', 'unlinked']) asked.add(`admin.audit.problem.${p}`);
  for (const s of ['users', 'settings', 'audit', 'attachments', 'analytics', 'integrations', 'flagged']) asked.add(`admin.overview.${s}`);
  for (const k of BOT_KINDS) asked.add(`admin.integrations.kind.${k}`);
  for (const e of EVENTS) asked.add(`admin.integrations.event.${e}`);
  for (const f of ['name', 'webhook_url', 'instructions', 'url', 'kind', 'created', 'actions', 'events']) asked.add(`admin.integrations.${f}`);
  for (const s of STATUSES) asked.add(`admin.deliveries.status.${s}`);
  for (const s of ['delivered', 'failed']) asked.add(`admin.deliveries.now.${s}`);
  for (const c of ['event', 'status', 'attempts', 'last', 'next', 'created', 'delivered', 'actions']) asked.add(`admin.deliveries.${c}`);
  for (const k of KINDS) asked.add(`admin.flagged.kind.${k}`);
  for (const c of ['time', 'conversation', 'sender', 'kinds', 'message']) asked.add(`admin.flagged.${c}`);
  assert.ok(asked.size > 100, `found ${asked.size} keys`);
  const missing = [...asked].filter((k) => !(k in admin.en) && !(k in widgetEn));
  assert.deepEqual(missing, []);
});

test('chart scales end on a round number above the largest value', () => {
  assert.deepEqual(niceScale(0), { top: 1, step: 1 });
  assert.deepEqual(niceScale(7), { top: 8, step: 2 });
  assert.deepEqual(niceScale(41), { top: 60, step: 20 });
  assert.deepEqual(niceScale(1000), { top: 1000, step: 500 });
});

test('the users filter: name or email, role, status', () => {
  const users = [
    { name: 'Ana Almeida', email: 'ana@x.test', role: 'admin', is_active: true },
    { name: 'Bruno', email: 'bruno@x.test', role: 'write', is_active: false },
  ];
  const names = (f) => filterUsers(users, f).map((u) => u.name);
  assert.deepEqual(names({ q: 'ALME' }), ['Ana Almeida']);
  assert.deepEqual(names({ q: 'bruno@' }), ['Bruno']);
  assert.deepEqual(names({ role: 'write' }), ['Bruno']);
  assert.deepEqual(names({ status: 'active' }), ['Ana Almeida']);
  assert.deepEqual(names({ status: 'inactive', role: 'admin' }), []);
});

test('attachment type choices: each top-level type, then each type', () => {
  assert.deepEqual(typeChoices(['image/png', 'image/jpeg', 'text/plain']), ['image', 'text', 'image/png', 'image/jpeg', 'text/plain']);
});

test('no English string of the admin files is written into the console\'s code', () => {
  const code = files(path.join(ROOT, 'static/admin/js'), '.js').map((f) => readFileSync(f, 'utf8')).join('\n');
  const repeated = Object.entries(admin.en).filter(([, v]) => [`'${v}'`, `"${v}"`, `\`${v}\``].some((q) => code.includes(q)));
  assert.deepEqual(repeated, []);
});

test('the bot form sends a webhook bot\'s URL, or an assistant\'s flag and instructions', () => {
  assert.deepEqual(botBody({ kind: 'webhook', name: 'Helper', webhook_url: ' http://127.0.0.1:9/hook ', instructions: 'ignored' }),
    { name: 'Helper', webhook_url: 'http://127.0.0.1:9/hook' });
  assert.deepEqual(botBody({ kind: 'assistant', name: 'Ava', webhook_url: '', instructions: ' Be brief. ' }),
    { name: 'Ava', assistant: true, instructions: 'Be brief.' });
  assert.deepEqual(botBody({ kind: 'assistant', name: 'Ava', instructions: '  ' }), { name: 'Ava', assistant: true });
  assert.equal(botKind({ name: 'old' }), 'webhook', 'a listing without `assistant` is a webhook bot');
  assert.equal(botKind({ assistant: false }), 'webhook');
  assert.equal(botKind({ assistant: true }), 'assistant');
});

test('a delivery\'s last answer: the engine\'s error, else the HTTP status, else nothing', () => {
  assert.equal(lastAnswer({ last_status: 503, last_error: 'HTTP 503 Service Unavailable' }), 'HTTP 503 Service Unavailable');
  assert.equal(lastAnswer({ last_status: 200, last_error: null }), 'HTTP 200');
  assert.equal(lastAnswer({ last_status: null, last_error: 'connection refused' }), 'connection refused');
  assert.equal(lastAnswer({ last_status: null, last_error: null }), '');
});

test('flagged messages: excerpts cut on code points, kinds in a fixed order', () => {
  assert.equal(excerpt('short'), 'short');
  assert.equal(excerpt('abcdef', 3), 'abc…');
  assert.equal(excerpt('😀😀😀😀', 2), '😀😀…', 'never half an emoji');
  assert.deepEqual(piiKinds({ card: 1, email: 2, zzz: 1, phone: 0 }),
    [{ kind: 'email', count: 2 }, { kind: 'card', count: 1 }, { kind: 'zzz', count: 1 }]);
});
