// The support desk's views: the contact-support button every user has at the top of
// the Chats tab, and the Inbox tab of agents and admins — status tabs (open, assigned,
// closed), each conversation with its requester, agent and last message (marked "new
// message" while the requester's latest is unseen), and the actions view, assign to me,
// close and reopen.

import { SUPPORT_STATUSES, hasNews } from '../support-state.js';
import { threadOf } from '../store.js';
import { errorBox, h, icons, keepFocus } from './dom.js';

export function createSupportViews(ctx, panels) {
  const { t, support } = ctx;
  const contactBtn = h('button', { type: 'button', class: 'tc-btn tc-btn--secondary tc-contact-support', id: 'tcContactSupport' },
    icons.chat(), h('span', { text: t('support.contact') }));
  contactBtn.addEventListener('click', () => support.contact());
  panels.conversations.prepend(h('div', { class: 'tc-toolbar tc-support-toolbar' }, contactBtn));

  const statusLabel = { open: t('support.status.open'), assigned: t('support.status.assigned'), closed: t('support.status.closed') };
  const statusButtons = Object.fromEntries(SUPPORT_STATUSES.map((status) => [status,
    h('button', { type: 'button', class: 'tc-btn tc-btn--secondary tc-inbox-tab', 'data-status': status, 'aria-pressed': 'false' }, statusLabel[status])]));
  const statusBar = h('div', { class: 'tc-toolbar tc-inbox-tabs', role: 'group', 'aria-label': t('support.inbox') },
    ...Object.values(statusButtons));
  const list = h('ul', { class: 'tc-inbox-list', id: 'tcInboxList', 'aria-label': t('support.inbox') });
  const empty = h('p', { class: 'tc-empty', hidden: true, text: t('support.empty') });
  const inboxError = errorBox('inbox', ctx);
  panels.inbox.append(statusBar, inboxError.el, list, empty);

  statusBar.addEventListener('click', (e) => {
    const btn = e.target.closest('[data-status]');
    if (btn) support.showTab(btn.dataset.status);
  });
  list.addEventListener('click', (e) => {
    const btn = e.target.closest('button[data-action]');
    if (!btn) return;
    const { action, id } = btn.dataset;
    if (action === 'view') support.view(id);
    else if (action === 'assign') support.assignToMe(id);
    else if (action === 'close') support.close(id);
    else if (action === 'reopen') support.reopen(id);
  });

  const actionBtn = (action, id, label, secondary = true) => h('button', {
    type: 'button', class: `tc-btn${secondary ? ' tc-btn--secondary' : ''} tc-inbox-action`, 'data-action': action, 'data-id': id,
  }, label);

  const isNews = (state, entry) => hasNews(entry, threadOf(state, entry.conversation.id).highestSeq);

  function item(state, entry) {
    const c = entry.conversation;
    const news = isNews(state, entry);
    const agent = entry.agent;
    const mine = agent && String(agent.id) === state.me;
    const last = c.last_message && c.last_message.kind !== 'system' ? (c.last_message.content || '').replace(/\s+/g, ' ').trim() : '';
    const who = agent ? t('support.assignedTo', { name: mine ? t('message.you') : agent.name }) : t('support.unassigned');
    return h('li', { class: `tc-inbox-item${news ? ' tc-inbox-item--news' : ''}`, 'data-id': c.id },
      h('div', { class: 'tc-inbox-main' },
        h('span', { class: 'tc-conv-name', text: entry.requester.name }),
        news ? h('span', { class: 'tc-badge tc-inbox-news', text: t('support.newMessage') }) : null,
        h('span', { class: 'tc-inbox-agent', text: who }),
        last ? h('span', { class: 'tc-conv-preview', text: last }) : null),
      h('div', { class: 'tc-form-actions tc-inbox-actions' },
        actionBtn('view', c.id, t('support.view')),
        entry.status !== 'closed' && !mine ? actionBtn('assign', c.id, t('support.assignToMe'), false) : null,
        entry.status !== 'closed' ? actionBtn('close', c.id, t('support.close')) : null,
        entry.status === 'closed' ? actionBtn('reopen', c.id, t('support.reopen')) : null));
  }

  let shown = null;
  function render(state) {
    inboxError.render(state);
    const { tab, inbox } = state.support;
    for (const [status, btn] of Object.entries(statusButtons)) btn.setAttribute('aria-pressed', String(status === tab));
    const entries = inbox[tab];
    // The news marks follow the threads: opening a conversation clears its mark.
    const news = (entries || []).map((entry) => isNews(state, entry)).join();
    if (shown && shown.entries === entries && shown.me === state.me && shown.news === news) return;
    shown = { entries, me: state.me, news };
    keepFocus(list, 'data-id', () => list.replaceChildren(...(entries || []).map((entry) => item(state, entry))));
    empty.hidden = !entries || entries.length > 0;
  }

  return { render };
}
