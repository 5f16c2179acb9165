// Flagged messages: the messages in which `pii_mode: flag` found personal data, newest
// first, with the kinds found, the conversation, the sender, the time and an excerpt.
// Message text is user content: it is only ever set as text, never parsed as HTML.
import { announce, h, query } from '../dom.js';
import { conversationName } from './attachments.js';

const PAGE = 25;
const EXCERPT = 200;
/** The detectors' kinds, in the order shown (docs/content-safety.md). */
export const KINDS = ['email', 'phone', 'card', 'iban', 'cpf', 'cnpj'];

/** The first `max` characters of `text` (whole code points), with an ellipsis if cut. */
export function excerpt(text, max = EXCERPT) {
  const chars = [...text];
  return chars.length > max ? `${chars.slice(0, max).join('').trimEnd()}…` : text;
}

/** The kinds found in a message, known ones first in KINDS order, with their counts. */
export function piiKinds(pii) {
  const known = KINDS.filter((k) => pii[k]);
  const other = Object.keys(pii).filter((k) => !KINDS.includes(k) && pii[k]).sort();
  return [...known, ...other].map((kind) => ({ kind, count: pii[kind] }));
}

export async function mount({ root, api, t, fmt }) {
  const state = { offset: 0 };
  // Names for the conversation column; one the list does not reach shows its id.
  const conversations = new Map((await api.get('/api/admin/conversations/?limit=200')).map((c) => [c.id, conversationName(c)]));
  const tbody = h('tbody', { id: 'flagged' });
  const empty = h('p', { class: 'muted', hidden: true }, t('admin.flagged.none'));
  const prev = h('button', { class: 'secondary', onclick: () => go(-PAGE) }, t('admin.previous'));
  const next = h('button', { class: 'secondary', onclick: () => go(PAGE) }, t('admin.next'));

  const kindLabel = ({ kind, count }) => {
    const known = KINDS.includes(kind);
    return h('li', { class: 'badge warn', dataset: { kind } },
      t('admin.flagged.found', { kind: known ? t(`admin.flagged.kind.${kind}`) : kind, count }));
  };

  function row(m) {
    return h('tr', { dataset: { message: m.id } },
      h('td', {}, fmt.full(new Date(m.created_at))),
      h('td', { class: 'conversation' }, conversations.get(m.conversation) || m.conversation),
      h('td', {}, h('span', { class: 'name' }, m.sender_name), h('br'), h('span', { class: 'muted' }, m.sender_email)),
      h('td', {}, h('ul', { class: 'tags' }, piiKinds(m.pii).map(kindLabel))),
      h('td', { class: 'excerpt' }, excerpt(m.content)));
  }

  async function load() {
    const page = await api.get(`/api/admin/flagged-messages/${query({ limit: PAGE + 1, offset: state.offset })}`);
    const shown = page.slice(0, PAGE);
    tbody.replaceChildren(...shown.map(row));
    empty.hidden = shown.length > 0;
    prev.disabled = state.offset === 0;
    next.disabled = page.length <= PAGE;
  }

  function go(delta) {
    state.offset = Math.max(0, state.offset + delta);
    load().catch((err) => announce(err.message));
  }

  root.replaceChildren(
    h('p', { class: 'hint' }, t('admin.flagged.hint')),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
      h('caption', { class: 'visually-hidden' }, t('admin.section.flagged')),
      h('thead', {}, h('tr', {}, ['time', 'conversation', 'sender', 'kinds', 'message']
        .map((k) => h('th', { scope: 'col' }, t(`admin.flagged.${k}`))))),
      tbody)),
    empty,
    h('div', { class: 'pager' }, prev, next));
  await load();
}
