// Strings: the three locale files agree, the widget's code asks only for keys they have,
// and lookup (placeholders, plurals, fallbacks) works.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createTranslator, loadStrings, pickLocale } from '../../../static/chat/js/i18n.js';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const I18N_DIR = path.join(ROOT, 'static/chat/i18n');
const JS_DIR = path.join(ROOT, 'static/chat/js');
const LOCALES = ['en', 'es', 'pt-BR'];
const files = Object.fromEntries(LOCALES.map((l) => [l, JSON.parse(readFileSync(path.join(I18N_DIR, `${l}.json`), 'utf8'))]));

test('en, es and pt-BR have exactly the same keys, none empty', () => {
  const keys = (l) => Object.keys(files[l]).sort();
  assert.deepEqual(keys('es'), keys('en'));
  assert.deepEqual(keys('pt-BR'), keys('en'));
  for (const l of LOCALES) {
    for (const [k, v] of Object.entries(files[l])) assert.ok(typeof v === 'string' && v.trim(), `${l}: ${k} is empty`);
  }
});

test('placeholders match across languages', () => {
  const names = (s) => [...s.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort().join(',');
  for (const [k, v] of Object.entries(files.en)) {
    for (const l of ['es', 'pt-BR']) assert.equal(names(files[l][k]), names(v), `${l}: ${k}`);
  }
});

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory()
    ? sources(path.join(dir, e.name)) : e.name.endsWith('.js') ? [path.join(dir, e.name)] : []));
}

test('every key the widget asks for is in the files', () => {
  const asked = new Set();
  for (const file of sources(JS_DIR)) {
    const code = readFileSync(file, 'utf8');
    for (const m of code.matchAll(/\bt\('([\w.]+)'/g)) asked.add(m[1]);
    // message.status.${status}
    if (code.includes('t(`message.status.${status}`)')) {
      for (const s of ['pending', 'sent', 'delivered', 'read', 'failed']) asked.add(`message.status.${s}`);
    }
  }
  assert.ok(asked.size > 70, `found ${asked.size} keys`);
  const missing = [...asked].filter((k) => !(k in files.en));
  assert.deepEqual(missing, []);
});

test('no English string of the files is repeated in the widget\'s code', () => {
  const code = sources(JS_DIR).map((f) => readFileSync(f, 'utf8')).join('\n');
  const repeated = Object.entries(files.en).filter(([k, v]) => k !== 'locale'
    && [`'${v}'`, `"${v}"`, `\`${v}\``].some((quoted) => code.includes(quoted)));
  assert.deepEqual(repeated, []);
});

test('lookup fills placeholders and picks plural forms by the language\'s rules', () => {
  const t = createTranslator(files.en);
  assert.equal(t('typing.one', { name: 'Ana' }), 'Ana is typing…');
  assert.equal(t('badge.unread', { count: 1 }), '1 unread message');
  assert.equal(t('badge.unread', { count: 3 }), '3 unread messages');
  assert.equal(t('no.such.key'), 'no.such.key', 'a missing key shows as itself');
  assert.equal(t('users.lastSeen', {}), 'Last seen {time}', 'an unknown placeholder stays');
  const es = createTranslator(files.es);
  assert.equal(es('conversation.members', { count: 1 }), '1 miembro');
  assert.equal(es('conversation.members', { count: 2 }), '2 miembros');
  const pt = createTranslator(files['pt-BR']);
  assert.equal(pt('badge.unread', { count: 5 }), '5 mensagens não lidas');
});

test('locales: any Portuguese is Brazilian, unknown languages fall back to English', () => {
  assert.equal(pickLocale('pt-PT'), 'pt-BR');
  assert.equal(pickLocale('es-MX'), 'es');
  assert.equal(pickLocale('de'), 'en');
  assert.equal(pickLocale(undefined), 'en');
});

test('strings come from the page when it gives them, else from the JSON files (English under the locale)', async () => {
  const fetchJson = async (url) => JSON.parse(readFileSync(path.join(I18N_DIR, path.basename(new URL(url).pathname)), 'utf8'));
  const baseUrl = new URL('http://host.test/static/chat/i18n/');
  const given = { locale: 'es', 'tab.chat': 'Propio' };
  assert.equal(await loadStrings({ given, baseUrl, fetchJson }), given);
  const es = await loadStrings({ given: { locale: 'es' }, baseUrl, fetchJson });
  assert.equal(es['tab.chat'], files.es['tab.chat']);
  assert.equal(es.locale, 'es');
  const fallback = await loadStrings({ lang: 'pt-BR', baseUrl, fetchJson: async (url) => (url.endsWith('en.json') ? files.en : { 'tab.chat': 'Só este' }) });
  assert.equal(fallback['tab.chat'], 'Só este');
  assert.equal(fallback['tab.users'], files.en['tab.users']);
});

test('every key the page templates ask for is in the files (no raw keys on the dashboard)', () => {
  // The pages' catalog also holds the admin console's strings (src/i18n.rs).
  const admin = (l) => JSON.parse(readFileSync(path.join(ROOT, 'static/admin/i18n', `${l}.json`), 'utf8'));
  const dir = path.join(ROOT, 'templates');
  const asked = new Set();
  for (const name of readdirSync(dir).filter((f) => f.endsWith('.html'))) {
    for (const m of readFileSync(path.join(dir, name), 'utf8').matchAll(/\bs\.t\("([\w.]+)"\)/g)) asked.add(m[1]);
  }
  assert.ok(asked.has('page.dashboard.unread'));
  for (const l of LOCALES) assert.deepEqual([...asked].filter((k) => !(k in files[l]) && !(k in admin(l))), [], l);
});
