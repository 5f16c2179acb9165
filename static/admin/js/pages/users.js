// Users: search and filter the tenant's users, create one, change a role, deactivate
// (confirmed; the API ends their sessions and sockets at once) and reactivate.
// The table is a list of columns: a new column (a flag with a toggle, say) is one entry.
import { announce, clearFieldErrors, confirmDialog, h, options, showFieldError } from '../dom.js';

export const ROLES = ['read', 'write', 'admin'];

/** The users a search (name or email) and the role and status filters keep. */
export function filterUsers(users, { q = '', role = '', status = '' }) {
  const needle = q.trim().toLowerCase();
  return users.filter((u) => (!needle || u.name.toLowerCase().includes(needle) || u.email.toLowerCase().includes(needle))
    && (!role || u.role === role)
    && (!status || (status === 'active') === u.is_active));
}

/**
 * The table's columns, in order: `header` is a string key, `cell(user, page)` makes the
 * cell's content. `page` has t, fmt, the signed-in user's id, and the actions
 * (`patch(user, body)`, `toggle(user, field, labelKey)`, deactivate, reactivate).
 */
export const columns = [
  { header: 'admin.users.name', cell: (u) => h('span', { class: 'name' }, u.name) },
  { header: 'admin.users.email', cell: (u) => u.email },
  {
    header: 'admin.users.role',
    cell: (u, page) => h('select', {
      'aria-label': page.t('admin.users.role_of', { name: u.name }),
      disabled: u.id === page.userId || !u.is_active,
      onchange: (e) => page.patch(u, { role: e.target.value }),
    }, options(ROLES.map((r) => [r, page.t(`admin.role.${r}`)]), u.role)),
  },
  {
    header: 'admin.users.agent',
    cell: (u, page) => page.toggle(u, 'is_agent', 'admin.users.agent_of'),
  },
  {
    header: 'admin.users.status',
    cell: (u, page) => h('span', { class: u.is_active ? 'badge ok' : 'badge off' },
      page.t(u.is_active ? 'admin.users.active' : 'admin.users.inactive')),
  },
  {
    header: 'admin.users.last_seen',
    cell: (u, page) => (u.last_seen ? page.fmt.full(new Date(u.last_seen)) : page.t('admin.users.never')),
  },
  {
    header: 'admin.users.actions',
    cell: (u, page) => {
      if (u.id === page.userId) return '';
      return u.is_active
        ? h('button', { class: 'danger small', onclick: () => page.deactivate(u) }, page.t('admin.users.deactivate'))
        : h('button', { class: 'secondary small', onclick: () => page.reactivate(u) }, page.t('admin.users.reactivate'));
    },
  },
];

function createForm(t, onCreate) {
  const field = (name, input) => h('div', { class: 'field', 'data-field': name },
    h('label', { for: `new-${name}` }, t(`admin.users.${name}`)), input);
  const form = h('form', { class: 'card grid-form', novalidate: true, 'aria-labelledby': 'new-user-heading' },
    h('h2', { id: 'new-user-heading' }, t('admin.users.create')),
    field('email', h('input', { id: 'new-email', name: 'email', type: 'email', autocomplete: 'off', required: true })),
    field('name', h('input', { id: 'new-name', name: 'name', required: true })),
    field('password', h('input', { id: 'new-password', name: 'password', type: 'password', autocomplete: 'new-password', required: true })),
    field('role', h('select', { id: 'new-role', name: 'role' }, options(ROLES.map((r) => [r, t(`admin.role.${r}`)]), 'write'))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('admin.users.create_submit'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onCreate(form);
  });
  return form;
}

export async function mount({ root, api, t, fmt, userId }) {
  const filters = { q: '', role: '', status: '' };
  let users = [];
  const tbody = h('tbody');
  const count = h('p', { class: 'muted', id: 'users-count' });

  function fail(err) {
    announce(err.message);
  }

  const page = {
    t,
    fmt,
    userId,
    async patch(user, body) {
      try {
        const changed = await api.request('PATCH', `/api/admin/users/${user.id}/`, body);
        Object.assign(user, changed);
        announce(t('admin.users.saved', { name: user.name }));
      } catch (err) {
        fail(err);
      }
      render();
    },
    /** A checkbox that PATCHes `{[field]: checked}`: how a flag column is added. */
    toggle(user, field, labelKey) {
      return h('input', {
        type: 'checkbox',
        checked: Boolean(user[field]),
        'aria-label': t(labelKey, { name: user.name }),
        onchange: (e) => page.patch(user, { [field]: e.target.checked }),
      });
    },
    async deactivate(user) {
      const ok = await confirmDialog(t, {
        message: t('admin.users.deactivate_confirm', { name: user.name }),
        confirm: t('admin.users.deactivate'),
      });
      if (!ok) return;
      try {
        await api.request('DELETE', `/api/admin/users/${user.id}/`);
        user.is_active = false;
        announce(t('admin.users.deactivated', { name: user.name }));
      } catch (err) {
        fail(err);
      }
      render();
    },
    async reactivate(user) {
      try {
        Object.assign(user, await api.post(`/api/admin/users/${user.id}/reactivate/`));
        announce(t('admin.users.reactivated', { name: user.name }));
      } catch (err) {
        fail(err);
      }
      render();
    },
  };

  function render() {
    const shown = filterUsers(users, filters);
    count.textContent = t('admin.users.count', { count: shown.length });
    tbody.replaceChildren(...shown.map((u) => h('tr', { dataset: { user: u.email } },
      columns.map((c, i) => h(i === 0 ? 'th' : 'td', i === 0 ? { scope: 'row' } : {}, c.cell(u, page))))));
  }

  async function load() {
    users = await api.get('/api/admin/users/');
    render();
  }

  async function create(form) {
    clearFieldErrors(form);
    const data = Object.fromEntries(new FormData(form));
    try {
      const user = await api.post('/api/admin/users/', data);
      form.reset();
      announce(t('admin.users.created', { name: user.name }));
      await load();
    } catch (err) {
      if (!showFieldError(form, err)) fail(err);
    }
  }

  const set = (key) => (e) => {
    filters[key] = e.target.value;
    render();
  };
  const toolbar = h('div', { class: 'toolbar', role: 'search' },
    h('label', {}, t('admin.users.search'), h('input', { type: 'search', id: 'user-search', oninput: set('q') })),
    h('label', {}, t('admin.users.role'), h('select', { id: 'role-filter', onchange: set('role') },
      options([['', t('admin.all')], ...ROLES.map((r) => [r, t(`admin.role.${r}`)])]))),
    h('label', {}, t('admin.users.status'), h('select', { id: 'status-filter', onchange: set('status') },
      options([['', t('admin.all')], ['active', t('admin.users.active')], ['inactive', t('admin.users.inactive')]]))));
  const table = h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
    h('caption', { class: 'visually-hidden' }, t('admin.section.users')),
    h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, t(c.header))))),
    tbody));
  root.replaceChildren(toolbar, count, table, createForm(t, create));
  await load();
}
