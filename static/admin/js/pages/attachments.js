// Attachments: the tenant's files as a thumbnail grid or a list, filtered by
// conversation, uploader, type and date, with their totals per uploader and per type
// drawn as charts; open a file, remove several at once (confirmed; messages keep a
// tombstone), and upload into a conversation the admin belongs to, with progress.
import { rowChart } from '../chart.js';
import { announce, confirmDialog, dayEnd, dayStart, h, options, query } from '../dom.js';

const PAGE = 48;
/** The types that have a thumbnail (see docs/attachments.md). */
const THUMBNAILED = ['image/jpeg', 'image/png', 'image/webp'];

/** Type filter choices: each top-level type, then each type. */
export function typeChoices(types) {
  const top = [...new Set(types.map((x) => x.split('/')[0]))];
  return [...top, ...types];
}

/** A conversation's name in lists: its title, else its members' names. */
export const conversationName = (c) => c.title || (c.participant_names || []).join(', ');

export async function mount({ root, api, t, fmt, attachmentTypes }) {
  const state = { view: 'grid', offset: 0, selected: new Set(), page: null };
  const [users, conversations, mine] = await Promise.all([
    api.get('/api/admin/users/'),
    api.get('/api/admin/conversations/?limit=200'),
    api.get('/api/chat/conversations/'),
  ]);
  const ownConversations = Array.isArray(mine) ? mine : mine.results || [];

  const filters = h('form', { class: 'toolbar', role: 'search', 'aria-label': t('admin.filters') },
    h('label', {}, t('admin.attachments.conversation'), h('select', { name: 'conversation', id: 'files-conversation' },
      options([['', t('admin.all')], ...conversations.map((c) => [c.id, conversationName(c)])]))),
    h('label', {}, t('admin.attachments.uploader'), h('select', { name: 'uploader', id: 'files-uploader' },
      options([['', t('admin.all')], ...users.map((u) => [u.id, u.name])]))),
    h('label', {}, t('admin.attachments.type'), h('select', { name: 'type', id: 'files-type' },
      options([['', t('admin.all')], ...typeChoices(attachmentTypes || []).map((x) => [x, x])]))),
    h('label', {}, t('admin.from'), h('input', { name: 'from', type: 'date', id: 'files-from' })),
    h('label', {}, t('admin.to'), h('input', { name: 'to', type: 'date', id: 'files-to' })),
    h('button', { type: 'submit', class: 'primary' }, t('admin.apply')));
  filters.addEventListener('submit', (e) => {
    e.preventDefault();
    state.offset = 0;
    reload();
  });

  const viewButtons = ['grid', 'list'].map((view) => h('button', {
    type: 'button', class: 'secondary', 'aria-pressed': String(state.view === view), dataset: { view },
    onclick: () => {
      state.view = view;
      for (const b of viewButtons) b.setAttribute('aria-pressed', String(b.dataset.view === view));
      render();
    },
  }, t(`admin.attachments.view_${view}`)));
  const removeButton = h('button', { class: 'danger', id: 'files-delete', disabled: true, onclick: () => removeSelected() });
  const summary = h('p', { class: 'muted', id: 'files-summary' });
  const items = h('ul', { class: 'files', id: 'files' });
  const charts = h('div', { class: 'charts' });
  const prev = h('button', { class: 'secondary', onclick: () => go(-PAGE) }, t('admin.previous'));
  const next = h('button', { class: 'secondary', onclick: () => go(PAGE) }, t('admin.next'));

  function updateSelection() {
    removeButton.textContent = t('admin.attachments.delete_selected', { count: state.selected.size });
    removeButton.disabled = state.selected.size === 0;
  }

  function item(a) {
    const url = api.safeUrl(`/api/chat/attachments/${a.id}/`);
    const removed = Boolean(a.deleted_at);
    const check = removed ? null : h('input', {
      type: 'checkbox', checked: state.selected.has(a.id),
      'aria-label': t('admin.attachments.select', { name: a.filename }),
      onchange: (e) => {
        if (e.target.checked) state.selected.add(a.id);
        else state.selected.delete(a.id);
        updateSelection();
      },
    });
    const essence = a.content_type.split(';')[0].trim();
    const thumb = state.view === 'grid'
      ? (!removed && THUMBNAILED.includes(essence)
        ? h('img', { class: 'thumb', src: api.safeUrl(`/api/chat/attachments/${a.id}/?thumb=1`), alt: '', loading: 'lazy' })
        : h('span', { class: 'thumb placeholder', 'aria-hidden': 'true' }, essence.split('/')[1] || essence))
      : null;
    return h('li', { class: removed ? 'file removed' : 'file', dataset: { filename: a.filename } },
      check, thumb,
      h('span', { class: 'file-name' }, removed
        ? a.filename
        : h('a', { href: url, target: '_blank', rel: 'noopener' }, a.filename)),
      h('span', { class: 'muted' }, `${essence} · ${fmt.size(a.size)}`),
      h('span', { class: 'muted' }, `${a.uploader_name} · ${fmt.full(new Date(a.uploaded_at))}`),
      removed ? h('span', { class: 'badge off' }, t('admin.attachments.removed')) : null);
  }

  function render() {
    const page = state.page;
    items.className = `files ${state.view}`;
    items.replaceChildren(...page.results.map(item));
    summary.textContent = t('admin.attachments.summary', { count: page.count, size: fmt.size(page.total_size) });
    charts.replaceChildren(
      h('figure', { class: 'card' }, h('figcaption', {}, t('admin.attachments.by_uploader')),
        rowChart({ label: t('admin.attachments.by_uploader'), format: fmt.size,
          items: page.by_uploader.map((x) => ({ label: x.uploader_name, value: x.size, title: `${x.uploader_name}: ${fmt.size(x.size)} (${x.files})` })) })),
      h('figure', { class: 'card' }, h('figcaption', {}, t('admin.attachments.by_type')),
        rowChart({ label: t('admin.attachments.by_type'), format: fmt.size,
          items: page.by_type.map((x) => ({ label: x.content_type, value: x.size, title: `${x.content_type}: ${fmt.size(x.size)} (${x.files})` })) })));
    prev.disabled = state.offset === 0;
    next.disabled = state.offset + PAGE >= page.count;
    updateSelection();
  }

  async function reload() {
    const form = new FormData(filters);
    state.page = await api.get(`/api/admin/attachments/${query({
      conversation: form.get('conversation'), uploader: form.get('uploader'), type: form.get('type'),
      from: dayStart(form.get('from')), to: dayEnd(form.get('to')), limit: PAGE, offset: state.offset,
    })}`);
    state.selected.clear();
    render();
  }

  function go(delta) {
    state.offset = Math.max(0, state.offset + delta);
    reload().catch((err) => announce(err.message));
  }

  async function removeSelected() {
    const ids = [...state.selected];
    const ok = await confirmDialog(t, {
      message: t('admin.attachments.delete_confirm', { count: ids.length }),
      confirm: t('admin.attachments.delete'),
    });
    if (!ok) return;
    let removed = 0;
    try {
      for (const id of ids) {
        await api.request('DELETE', `/api/admin/attachments/${id}/`);
        removed += 1;
      }
      announce(t('admin.attachments.deleted', { count: removed }));
    } catch (err) {
      announce(err.message);
    }
    await reload();
  }

  const progress = h('progress', { max: 100, value: 0, id: 'upload-progress', hidden: true });
  const uploadForm = h('form', { class: 'card grid-form', 'aria-labelledby': 'upload-heading' },
    h('h2', { id: 'upload-heading' }, t('admin.attachments.upload')),
    h('div', { class: 'field' }, h('label', { for: 'upload-conversation' }, t('admin.attachments.conversation')),
      h('select', { id: 'upload-conversation', name: 'conversation', required: true },
        options(ownConversations.map((c) => [c.id, c.title])))),
    h('div', { class: 'field' }, h('label', { for: 'upload-files' }, t('admin.attachments.files')),
      h('input', { id: 'upload-files', type: 'file', name: 'attachments', multiple: true, required: true })),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('admin.attachments.upload_submit')),
      h('label', { class: 'progress' }, h('span', { class: 'visually-hidden' }, t('admin.attachments.progress')), progress)));
  uploadForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const form = new FormData(uploadForm);
    const body = new FormData();
    for (const file of form.getAll('attachments')) body.append('attachments', file, file.name);
    progress.hidden = false;
    progress.value = 0;
    try {
      await api.upload(`/api/chat/conversations/${form.get('conversation')}/messages/`, body, (p) => { progress.value = p; });
      progress.value = 100;
      uploadForm.reset();
      announce(t('admin.attachments.uploaded'));
      await reload();
    } catch (err) {
      announce(err.message);
    }
  });
  if (!ownConversations.length) {
    for (const el of uploadForm.querySelectorAll('select, input, button')) el.disabled = true;
    uploadForm.append(h('p', { class: 'hint' }, t('admin.attachments.no_conversations')));
  }

  root.replaceChildren(filters, charts,
    h('div', { class: 'toolbar' }, h('div', { class: 'segmented', role: 'group', 'aria-label': t('admin.attachments.view') }, viewButtons),
      removeButton, summary),
    items,
    h('div', { class: 'pager' }, prev, next),
    uploadForm);
  await reload();
}
