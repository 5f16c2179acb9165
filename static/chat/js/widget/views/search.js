// The search box at the top of the Chats tab and its results in place of the list:
// grouped by conversation, each with its sender, time and the highlighted excerpt
// (built as text nodes and <mark> elements from highlight.js's segments, never as
// HTML), "load more" while the server has more, and a way back to the list. A result
// opens its conversation at that message. Escape in the box clears the search.

import { groupResults, parseHighlight } from '../highlight.js';
import { conversationOf } from '../store.js';
import { h, keepFocus, setText } from './dom.js';

export function createSearchView(ctx, tabPanel) {
  const { t, fmt, search } = ctx;
  const input = h('input', {
    type: 'search', id: 'tcSearchInput', class: 'tc-text-input tc-search-input', maxlength: '500', autocomplete: 'off',
    placeholder: t('search.placeholder'), 'aria-label': t('search.label'),
  });
  const form = h('form', { class: 'tc-search', role: 'search', id: 'tcSearchForm', novalidate: true }, input,
    h('button', { type: 'submit', class: 'tc-btn tc-btn--secondary tc-search-btn', text: t('search.submit') }));
  const summary = h('p', { class: 'tc-search-summary', role: 'status' });
  const groups = h('div', { class: 'tc-search-groups' });
  const moreBtn = h('button', { type: 'button', class: 'tc-btn tc-btn--secondary tc-search-more', hidden: true, text: t('search.more') });
  const clearBtn = h('button', { type: 'button', class: 'tc-link-btn tc-search-clear', text: t('search.clear') });
  const results = h('div', { class: 'tc-search-results', id: 'tcSearchResults', hidden: true }, summary, groups,
    h('div', { class: 'tc-form-actions' }, clearBtn, moreBtn));
  tabPanel.prepend(form, results);
  let shown = null; // the results on screen

  form.addEventListener('submit', (e) => {
    e.preventDefault();
    search.run(input.value);
  });
  input.addEventListener('keydown', (e) => {
    if (e.key !== 'Escape' || (!input.value && !shown)) return;
    e.preventDefault(); // clears the search, the panel stays open
    input.value = '';
    search.clear();
  });
  moreBtn.addEventListener('click', () => search.more());
  clearBtn.addEventListener('click', () => {
    input.value = '';
    search.clear();
    input.focus();
  });
  let list = [];
  groups.addEventListener('click', (e) => {
    const btn = e.target.closest('[data-result]');
    if (btn) search.open(list[Number(btn.dataset.result)]);
  });

  const highlighted = (html) => parseHighlight(html).map((p) => (p.mark ? h('mark', { text: p.text }) : document.createTextNode(p.text)));

  function hit(r, i) {
    const m = r.message;
    return h('li', { class: 'tc-search-item' }, h('button', { type: 'button', class: 'tc-search-hit', 'data-result': i, 'data-id': m.id },
      h('span', { class: 'tc-search-meta' }, h('span', { class: 'tc-search-sender', text: m.sender_name || '' }),
        m.created_at ? h('time', { datetime: m.created_at, title: fmt.full(new Date(m.created_at)), text: fmt.listTime(m.created_at) }) : null),
      h('span', { class: 'tc-search-text' }, highlighted(r.highlight || m.content || ''))));
  }

  function render(state) {
    const s = state.search;
    results.hidden = s.results === null;
    moreBtn.hidden = !s.nextCursor;
    moreBtn.disabled = s.loading;
    form.setAttribute('aria-busy', String(s.loading));
    if (s.results === shown) return;
    shown = s.results;
    list = s.results || [];
    if (s.results === null) { groups.replaceChildren(); return; }
    setText(summary, list.length ? t('search.count', { count: list.length, query: s.query }) : t('search.none', { query: s.query }));
    keepFocus(groups, 'data-id', () => groups.replaceChildren(...groupResults(list).map((g) => {
      const conv = conversationOf(state, g.conversation.id);
      const title = (conv && conv.title) || g.conversation.title || t('search.untitled');
      return h('section', { class: 'tc-search-group', 'aria-label': title },
        h('h4', { class: 'tc-search-title', text: title }),
        h('ul', { class: 'tc-search-list' }, g.results.map((r) => hit(r, list.indexOf(r)))));
    })));
  }

  return { render, focus: () => input.focus() };
}
