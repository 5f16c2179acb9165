// Audit log: filter by actor, action and time, page through, expand a row for its
// details, and check the hash chain, which names the first broken row.
import { announce, dayEnd, dayStart, h, options, query } from '../dom.js';

const PAGE = 25;
/** Actions the server writes, offered as suggestions (any action can be typed). */
const ACTIONS = ['user.create', 'user.update', 'user.deactivate', 'user.reactivate', 'settings.update',
  'attachment.list', 'attachment.delete', 'conversation.list', 'conversation.read', 'retention.purge', 'admin.denied',
  'bot.create', 'bot.delete', 'webhook.create', 'webhook.delete', 'delivery.retry', 'message.flagged.list'];

export async function mount({ root, api, t, fmt }) {
  const state = { offset: 0, count: 0, brokenId: null };
  const users = await api.get('/api/admin/users/');
  const tbody = h('tbody');
  const range = h('span', { class: 'muted', id: 'audit-range' });
  const prev = h('button', { class: 'secondary', onclick: () => go(-PAGE) }, t('admin.previous'));
  const next = h('button', { class: 'secondary', onclick: () => go(PAGE) }, t('admin.next'));
  const chain = h('p', { id: 'chain-result', class: 'chain', role: 'status' });

  const filters = h('form', { class: 'toolbar', role: 'search', 'aria-label': t('admin.filters') },
    h('label', {}, t('admin.audit.actor'), h('select', { name: 'actor', id: 'audit-actor' },
      options([['', t('admin.all')], ...users.map((u) => [u.id, `${u.name} (${u.email})`])]))),
    h('label', {}, t('admin.audit.action'), h('input', { name: 'action', id: 'audit-action', list: 'audit-actions', autocomplete: 'off' })),
    h('datalist', { id: 'audit-actions' }, ACTIONS.map((a) => h('option', { value: a }))),
    h('label', {}, t('admin.from'), h('input', { name: 'from', type: 'date', id: 'audit-from' })),
    h('label', {}, t('admin.to'), h('input', { name: 'to', type: 'date', id: 'audit-to' })),
    h('button', { type: 'submit', class: 'primary' }, t('admin.apply')));
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    state.offset = 0;
    load();
  });

  function details(entry, rowId) {
    return h('tr', { class: 'details', id: rowId, hidden: true },
      h('td', { colspan: 6 }, h('dl', {},
        h('dt', {}, t('admin.audit.resource')), h('dd', {}, `${entry.resource_type} ${entry.resource_id || ''}`),
        h('dt', {}, t('admin.audit.ip')), h('dd', {}, entry.ip || '—'),
        h('dt', {}, t('admin.audit.user_agent')), h('dd', {}, entry.user_agent || '—'),
        h('dt', {}, t('admin.audit.details')), h('dd', {}, h('pre', {}, JSON.stringify(entry.details, null, 2))))));
  }

  function row(entry) {
    const rowId = `audit-details-${entry.id}`;
    const more = details(entry, rowId);
    const toggle = h('button', {
      class: 'link', 'aria-expanded': 'false', 'aria-controls': rowId,
      'aria-label': t('admin.audit.show_details', { id: entry.id }),
      onclick: () => {
        const open = toggle.getAttribute('aria-expanded') !== 'true';
        toggle.setAttribute('aria-expanded', String(open));
        more.hidden = !open;
      },
    }, `#${entry.id}`);
    const broken = entry.id === state.brokenId;
    return [h('tr', { class: broken ? 'broken' : null, dataset: { id: entry.id } },
      h('td', {}, toggle),
      h('td', {}, fmt.full(new Date(entry.created_at))),
      h('td', {}, entry.actor_email || t('admin.audit.system')),
      h('td', {}, h('code', {}, entry.action)),
      h('td', {}, entry.resource_type),
      h('td', {}, entry.ip || '—')), more];
  }

  async function load() {
    const form = new FormData(filters);
    const page = await api.get(`/api/admin/audit-log/${query({
      actor: form.get('actor'), action: form.get('action').trim(),
      from: dayStart(form.get('from')), to: dayEnd(form.get('to')), limit: PAGE, offset: state.offset,
    })}`);
    state.count = page.count;
    tbody.replaceChildren(...page.results.flatMap(row));
    range.textContent = page.count
      ? t('admin.range', { from: state.offset + 1, to: state.offset + page.results.length, count: page.count })
      : t('admin.audit.none');
    prev.disabled = state.offset === 0;
    next.disabled = state.offset + PAGE >= page.count;
  }

  function go(delta) {
    state.offset = Math.max(0, state.offset + delta);
    load().catch((err) => announce(err.message));
  }

  async function check() {
    chain.textContent = t('admin.audit.checking');
    const result = await api.get('/api/admin/audit-log/verify/');
    state.brokenId = result.first_broken ? result.first_broken.id : null;
    chain.className = result.ok ? 'chain ok' : 'chain broken';
    chain.textContent = result.ok
      ? t('admin.audit.intact', { count: result.checked })
      : t('admin.audit.broken', { id: result.first_broken.id, reason: t(`admin.audit.problem.${result.first_broken.problem}`) });
    await load();
  }

  root.replaceChildren(
    h('div', { class: 'card chain-card' },
      h('button', { class: 'primary', id: 'chain-check', onclick: () => check().catch((err) => announce(err.message)) }, t('admin.audit.check')),
      chain),
    filters,
    h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
      h('caption', { class: 'visually-hidden' }, t('admin.section.audit')),
      h('thead', {}, h('tr', {}, ['admin.audit.id', 'admin.audit.time', 'admin.audit.actor', 'admin.audit.action',
        'admin.audit.resource', 'admin.audit.ip'].map((k) => h('th', { scope: 'col' }, t(k))))),
      tbody)),
    h('div', { class: 'pager' }, prev, range, next));
  await load();
}
