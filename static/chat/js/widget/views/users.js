// The Users & Groups tab: the tenant's people with online dots (a click starts or opens
// the 1-to-1 conversation) and the groups one belongs to.

import { groupConversations } from '../store.js';
import { avatar, errorBox, h, keepFocus } from './dom.js';

export function createUsersView(ctx, tabPanel) {
  const { t, fmt, pick, existing, controller } = ctx;
  const userList = pick('widgetUserList', () => h('ul', { id: 'widgetUserList' }));
  userList.classList.add('tc-user-list');
  userList.setAttribute('aria-label', t('users.label'));
  const groupList = h('ul', { class: 'tc-user-list tc-group-list', 'aria-label': t('users.groups') });
  const usersEmpty = h('p', { class: 'tc-empty', hidden: true, text: t('users.empty') });
  const groupsEmpty = h('p', { class: 'tc-empty', hidden: true, text: t('users.noGroups') });
  const error = errorBox('users', ctx);
  tabPanel.append(error.el,
    h('h3', { class: 'tc-section-title', text: t('users.people') }),
    existing.widgetUserList ? null : userList, usersEmpty,
    h('h3', { class: 'tc-section-title', text: t('users.groups') }), groupList, groupsEmpty);

  userList.addEventListener('click', async (e) => {
    const btn = e.target.closest('button[data-user-id]');
    if (!btn || btn.disabled) return;
    btn.disabled = true;
    try {
      await controller.startDirect(btn.dataset.userId);
    } finally {
      btn.disabled = false;
    }
  });
  groupList.addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-id]');
    if (btn) controller.openConversation(btn.dataset.id);
  });

  function person(u) {
    const presence = u.is_online ? t('users.online') : t('users.offline');
    const status = u.is_online || !u.last_seen ? presence : t('users.lastSeen', { time: fmt.listTime(u.last_seen) });
    return h('li', { class: 'tc-user', 'data-user-id': u.id },
      h('button', { type: 'button', class: 'tc-user-btn', 'data-user-id': u.id, 'aria-label': `${t('users.start', { name: u.name })} (${presence})` },
        avatar(u.name, { online: !!u.is_online }),
        h('span', { class: 'tc-conv-main' }, h('span', { class: 'tc-conv-name', text: u.name }), h('span', { class: 'tc-conv-preview', text: u.email })),
        h('span', { class: `tc-presence ${u.is_online ? 'tc-presence--online' : ''}`, text: status })));
  }

  function group(c) {
    return h('li', { class: 'tc-user' },
      h('button', { type: 'button', class: 'tc-user-btn', 'data-id': c.id },
        avatar(c.title, { group: true }),
        h('span', { class: 'tc-conv-main' },
          h('span', { class: 'tc-conv-name', text: c.title }),
          h('span', { class: 'tc-conv-preview', text: (c.participants || []).map((p) => p.name).join(', ') }))));
  }

  let prev = null;
  function render(state) {
    error.render(state);
    if (!prev || prev.users !== state.users) {
      const others = state.users.filter((u) => String(u.id) !== state.me)
        .sort((a, b) => (b.is_online - a.is_online) || fmt.compare(a.name, b.name));
      keepFocus(userList, 'data-user-id', () => userList.replaceChildren(...others.map(person)));
      usersEmpty.hidden = others.length > 0;
    }
    if (!prev || prev.conversations !== state.conversations) {
      const groups = groupConversations(state);
      groupList.replaceChildren(...groups.map(group));
      groupsEmpty.hidden = groups.length > 0;
    }
    prev = state;
  }

  return { render };
}
