// The Chats tab: the conversation list (newest activity first, unread counts, previews),
// the show-archived toggle, the new-group form and the notifications prompt. A mention
// badge (@) marks conversations that mention the user; search results (views/search.js)
// take the list's place while there are any.

import { isMine, otherParticipant, userOnline, visibleConversations } from '../store.js';
import { avatar, errorBox, h, icons, keepFocus, mutedMark } from './dom.js';

export function createConversationsView(ctx, tabPanel) {
  const { t, fmt, pick, existing, controller, notifier } = ctx;
  const list = pick('widgetConversationList', () => h('ul', { id: 'widgetConversationList' }));
  list.classList.add('tc-conv-list');
  list.setAttribute('aria-label', t('conversations.label'));
  const archivedToggle = h('input', { type: 'checkbox', class: 'tc-checkbox', id: 'tcShowArchived' });
  const groupToggle = h('button', { type: 'button', class: 'tc-btn tc-btn--secondary tc-new-group-btn', 'aria-expanded': 'false', 'aria-controls': 'tcGroupForm' },
    icons.plus(), h('span', { text: t('group.new') }));
  const groupTitle = h('input', { type: 'text', id: 'tcGroupTitle', class: 'tc-text-input', maxlength: '200', autocomplete: 'off' });
  const members = h('div', { class: 'tc-member-picks' });
  const groupError = errorBox('group', ctx);
  const groupForm = h('form', { id: 'tcGroupForm', class: 'tc-group-form', hidden: true, novalidate: true },
    h('label', { class: 'tc-field-label', for: 'tcGroupTitle', text: t('group.title') }), groupTitle,
    h('fieldset', { class: 'tc-fieldset' }, h('legend', { class: 'tc-field-label', text: t('group.members') }), members),
    groupError.el,
    h('div', { class: 'tc-form-actions' },
      h('button', { type: 'button', class: 'tc-btn tc-btn--secondary', onclick: () => toggleGroupForm(false) }, t('group.cancel')),
      h('button', { type: 'submit', class: 'tc-btn' }, t('group.create'))));
  const empty = h('p', { class: 'tc-empty', hidden: true, text: t('conversations.empty') });
  const listError = errorBox('list', ctx);
  const notifyBanner = h('div', { class: 'tc-banner', hidden: true, role: 'region', 'aria-label': t('notifications.enable') },
    h('p', { text: t('notifications.prompt') }),
    h('div', { class: 'tc-form-actions' },
      h('button', { type: 'button', class: 'tc-btn tc-btn--secondary', onclick: () => notifier.dismissPrompt() }, t('notifications.dismiss')),
      h('button', { type: 'button', class: 'tc-btn', onclick: () => notifier.ask(true) }, t('notifications.enable'))));
  tabPanel.append(
    h('div', { class: 'tc-toolbar' }, groupToggle,
      h('label', { class: 'tc-check-label', for: 'tcShowArchived' }, archivedToggle, h('span', { text: t('conversations.showArchived') }))),
    groupForm, notifyBanner, listError.el, existing.widgetConversationList ? null : list, empty);

  list.addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-id]');
    if (btn) controller.openConversation(btn.dataset.id);
  });
  archivedToggle.addEventListener('change', () => controller.showArchived(archivedToggle.checked));

  // The group form's open state and picks are the view's own (nothing else reads them).
  let lastState = null;
  function renderMembers(state) {
    const checked = new Set([...members.querySelectorAll('input:checked')].map((i) => i.value));
    const others = state.users.filter((u) => String(u.id) !== state.me).sort((a, b) => fmt.compare(a.name, b.name));
    members.replaceChildren(...others.map((u) => {
      const id = `tcMember-${u.id}`;
      return h('div', { class: 'tc-member' },
        h('input', { type: 'checkbox', class: 'tc-checkbox', id, value: u.id, checked: checked.has(String(u.id)) }),
        h('label', { for: id }, h('span', { class: `tc-dot tc-dot--inline ${u.is_online ? 'tc-dot--online' : ''}`, 'aria-hidden': 'true' }),
          h('span', { text: u.name })));
    }));
  }
  function toggleGroupForm(show, { focus = true } = {}) {
    groupForm.hidden = !show;
    groupToggle.setAttribute('aria-expanded', String(show));
    controller.dismissError('group');
    if (show) {
      if (lastState) renderMembers(lastState);
      groupTitle.focus();
    } else {
      groupForm.reset();
      if (focus) groupToggle.focus();
    }
  }
  groupToggle.addEventListener('click', () => toggleGroupForm(groupForm.hidden));
  groupForm.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      e.preventDefault();
      toggleGroupForm(false);
    }
  });
  groupForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const submit = groupForm.querySelector('button[type="submit"]');
    submit.disabled = true;
    const ids = [...members.querySelectorAll('input:checked')].map((i) => i.value);
    const created = await controller.createGroup(groupTitle.value.trim(), ids);
    submit.disabled = false;
    if (created) toggleGroupForm(false, { focus: false });
    else if (!groupTitle.value.trim()) groupTitle.focus();
  });

  function previewText(state, m) {
    if (!m) return t('conversations.noMessages');
    const text = (m.content || '').replace(/\s+/g, ' ').trim();
    const body = text || ((m.attachments || []).length ? `📎 ${(m.attachments[0] && m.attachments[0].filename) || t('conversations.attachment')}` : '');
    return isMine(state, m) ? t('conversations.youPrefix') + body : body;
  }

  function item(state, c) {
    const other = otherParticipant(state, c);
    const unread = Math.max(0, c.unread_count || 0);
    const mentions = Math.max(0, c.mention_count || 0);
    const open = c.id === state.openConversationId;
    const when = c.last_message ? c.last_message.created_at : null;
    const btn = h('button', { type: 'button', class: 'tc-conv-btn', 'data-id': c.id, 'aria-current': open ? 'true' : null },
      avatar(c.title, { group: !!c.is_group, online: other ? userOnline(state, other.id) : null }),
      h('span', { class: 'tc-conv-main' },
        h('span', { class: 'tc-conv-name-row' },
          h('span', { class: 'tc-conv-name', text: c.title || '' }),
          c.is_muted ? mutedMark(t) : null,
          c.is_archived ? h('span', { class: 'tc-tag', text: t('conversation.archived') }) : null),
        h('span', { class: 'tc-conv-preview', text: previewText(state, c.last_message) })),
      h('span', { class: 'tc-conv-side' },
        when ? h('time', { class: 'tc-conv-time', datetime: when, title: fmt.full(new Date(when)), text: fmt.listTime(when) }) : null,
        mentions ? h('span', { class: 'tc-mention-badge', 'aria-label': t('conversations.mentions', { count: mentions }), title: t('conversations.mentions', { count: mentions }), text: '@' }) : null,
        unread ? h('span', { class: 'tc-unread', 'aria-label': t('conversations.unread', { count: unread }), text: unread > 99 ? '99+' : String(unread) }) : null));
    return h('li', { class: `tc-conv${unread ? ' tc-conv--unread' : ''}${open ? ' tc-conv--active' : ''}`, 'data-id': c.id }, btn);
  }

  function render(state) {
    const prev = lastState;
    lastState = state;
    archivedToggle.checked = state.showArchived;
    notifyBanner.hidden = !state.notifyPrompt;
    listError.render(state);
    groupError.render(state);
    if (!groupForm.hidden && (!prev || prev.users !== state.users)) renderMembers(state);
    // Search results take the list's place while there are any.
    const searching = state.search.results !== null;
    list.hidden = searching;
    const conversations = visibleConversations(state);
    empty.hidden = searching || conversations.length > 0;
    // The list depends on these only; skip rebuilding it for unrelated changes.
    if (prev && prev.conversations === state.conversations && prev.users === state.users
      && prev.openConversationId === state.openConversationId && prev.showArchived === state.showArchived) return;
    keepFocus(list, 'data-id', () => list.replaceChildren(...conversations.map((c) => item(state, c))));
  }

  return { render };
}
