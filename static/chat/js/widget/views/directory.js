// The directory of shared conversations, a section of the Users & Groups tab: search by
// title, open one (read-only for a viewer, who may join it from the conversation).

import { isMember } from '../live.js';
import { avatar, errorBox, h, keepFocus } from './dom.js';

const SEARCH_DELAY_MS = 250;

export function createDirectoryView(ctx, tabPanel) {
  const { t, groups } = ctx;
  const search = h('input', {
    type: 'search', id: 'tcDirectorySearch', class: 'tc-text-input', maxlength: '200', autocomplete: 'off',
    placeholder: t('directory.search'), 'aria-label': t('directory.search'), 'aria-controls': 'tcDirectoryList',
  });
  const list = h('ul', { id: 'tcDirectoryList', class: 'tc-user-list tc-directory', 'aria-labelledby': 'tcDirectoryHeading' });
  const empty = h('p', { class: 'tc-empty', hidden: true, text: t('directory.empty') });
  const error = errorBox('directory', ctx);
  tabPanel.append(h('section', { class: 'tc-section', 'aria-labelledby': 'tcDirectoryHeading' },
    h('h3', { class: 'tc-section-title', id: 'tcDirectoryHeading', text: t('directory.title') }),
    search, error.el, list, empty));

  let timer = null;
  search.addEventListener('input', () => {
    clearTimeout(timer);
    timer = setTimeout(() => groups.loadDirectory(search.value), SEARCH_DELAY_MS);
  });
  list.addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-id]');
    if (!btn) return;
    const conv = (lastList || []).find((c) => c.id === btn.dataset.id);
    if (conv) groups.view(conv);
  });

  function item(c) {
    const joined = isMember(c);
    return h('li', { class: 'tc-user' },
      h('button', { type: 'button', class: 'tc-user-btn', 'data-id': c.id },
        avatar(c.title, { group: true }),
        h('span', { class: 'tc-conv-main' },
          h('span', { class: 'tc-conv-name', text: c.title || t('directory.untitled') }),
          h('span', { class: 'tc-conv-preview', text: c.description || t('conversation.members', { count: c.member_count || 0 }) })),
        joined ? h('span', { class: 'tc-tag', text: t('directory.joined') }) : null));
  }

  let lastList = null;
  function render(state) {
    error.render(state);
    const { list: found } = state.directory;
    if (found === lastList) return;
    lastList = found;
    keepFocus(list, 'data-id', () => list.replaceChildren(...(found || []).map(item)));
    empty.hidden = !found || found.length > 0;
  }

  return { render };
}
