// The frame: the floating bar (title, connection status, unread badge), the panel
// dialog with its header and its tabs (a fourth, the inbox, for the support desk), branding colours, and the page title's count.
// Elements the page already has (by contract id) are used as they are.

import { connectionStatus, totalUnread } from '../store.js';
import { applyBranding } from '../../branding.js';
import { h, icons, setText } from './dom.js';

export const TABS = [
  ['chat', 'tcTabChat', 'tcTabpanelChat', 'tab.chat'],
  ['conversations', 'tcTabConversations', 'tcTabpanelConversations', 'tab.conversations'],
  ['users', 'tcTabUsers', 'tcTabpanelUsers', 'tab.users'],
  ['inbox', 'tcTabInbox', 'tcTabpanelInbox', 'tab.inbox'],
];
const ALL_TABS = TABS.map(([name]) => name);
// In the tab list only for the support desk's staff (agents and admins; see render).
const STAFF_TABS = new Set(['inbox']);
const countText = (n) => (n > 99 ? '99+' : String(n));

export function createShell({ t, pick, existing, title, branding, controller }) {
  const badge = pick('widgetNewMessagesBadge', () => h('span', { id: 'widgetNewMessagesBadge', hidden: true }));
  badge.classList.add('tc-badge');
  const barTitle = h('span', { class: 'tc-bar-title', text: title || t('widget.title') });
  const barStatus = h('span', { class: 'tc-bar-status', text: t('status.connecting') });
  const bar = pick('tenantChatBar', () => h('button', { id: 'tenantChatBar', type: 'button' }));
  bar.classList.add('tc-bar', 'tc-widget');
  if (!existing.tenantChatBar || !bar.childElementCount) {
    bar.append(h('span', { class: 'tc-bar-icon', 'aria-hidden': 'true' }, icons.chat()),
      h('span', { class: 'tc-bar-dot', 'aria-hidden': 'true' }),
      h('span', { class: 'tc-bar-text' }, barTitle, barStatus));
  }
  if (!bar.contains(badge) && !existing.widgetNewMessagesBadge) bar.append(badge);
  if (bar.tagName !== 'BUTTON') {
    bar.setAttribute('role', 'button');
    if (!bar.hasAttribute('tabindex')) bar.tabIndex = 0;
  }
  bar.setAttribute('aria-haspopup', 'dialog');
  bar.setAttribute('aria-controls', 'tenantChatPanel');

  const panel = pick('tenantChatPanel', () => h('section', { id: 'tenantChatPanel', hidden: true }));
  panel.classList.add('tc-panel', 'tc-widget');
  panel.setAttribute('role', 'dialog');
  panel.setAttribute('aria-modal', 'false');
  panel.setAttribute('aria-labelledby', 'tcPanelTitle');

  const panelStatus = h('span', { class: 'tc-panel-status', role: 'status' });
  const closeBtn = h('button', { type: 'button', class: 'tc-icon-btn tc-close', 'aria-label': t('panel.close'), title: t('panel.close') }, icons.close());

  const tabButtons = {};
  const tabPanels = {};
  const tablist = h('div', { class: 'tc-tabs', role: 'tablist', 'aria-label': t('tab.list') });
  for (const [name, tabId, panelId, key] of TABS) {
    tabButtons[name] = h('button', {
      type: 'button', role: 'tab', id: tabId, class: 'tc-tab', 'aria-controls': panelId, 'aria-selected': 'false', tabindex: '-1', 'data-tab': name,
    }, h('span', { class: 'tc-tab-label', text: t(key) }));
    tabPanels[name] = h('div', { role: 'tabpanel', id: panelId, class: 'tc-tabpanel', 'aria-labelledby': tabId, hidden: true });
    if (!STAFF_TABS.has(name)) tablist.append(tabButtons[name]);
  }
  const tabCount = h('span', { class: 'tc-tab-count', hidden: true });
  tabButtons.conversations.append(tabCount);

  const header = h('header', { class: 'tc-panel-header' },
    h('div', { class: 'tc-panel-heading' }, h('h2', { id: 'tcPanelTitle', class: 'tc-panel-title', text: title || t('panel.label') }), panelStatus), closeBtn);
  if (!existing.tenantChatPanel || !panel.childElementCount) panel.append(header);
  panel.append(tablist, tabPanels.chat, tabPanels.conversations, tabPanels.users, tabPanels.inbox);

  // The widget's own elements go into one root at the end of <body>.
  const root = h('div', { class: 'tc-root', id: 'tenantChatRoot' });
  if (!existing.tenantChatPanel) root.append(panel);
  if (!existing.tenantChatBar) root.append(bar);
  if (root.childElementCount) document.body.append(root);
  applyBranding([root, bar, panel], branding);

  bar.addEventListener('click', () => controller.togglePanel());
  if (bar.tagName !== 'BUTTON') {
    bar.addEventListener('keydown', (e) => {
      if (e.key === 'Enter' || e.key === ' ') {
        e.preventDefault();
        controller.togglePanel();
      }
    });
  }
  closeBtn.addEventListener('click', () => controller.closePanel());
  panel.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !e.defaultPrevented) {
      e.preventDefault();
      controller.closePanel();
    }
  });
  let activeTab = null;
  let tabOrder = ALL_TABS;
  tablist.addEventListener('click', (e) => {
    const tab = e.target.closest('[role="tab"]');
    if (tab) controller.setTab(tab.dataset.tab);
  });
  tablist.addEventListener('keydown', (e) => {
    let i = tabOrder.indexOf(activeTab);
    if (e.key === 'ArrowRight') i = (i + 1) % tabOrder.length;
    else if (e.key === 'ArrowLeft') i = (i - 1 + tabOrder.length) % tabOrder.length;
    else if (e.key === 'Home') i = 0;
    else if (e.key === 'End') i = tabOrder.length - 1;
    else return;
    e.preventDefault();
    controller.setTab(tabOrder[i], { focus: true });
  });

  const baseTitle = document.title;

  function render(state) {
    const status = connectionStatus(state);
    bar.dataset.state = status.name;
    panel.dataset.state = status.name;
    setText(barStatus, t(status.key));
    setText(panelStatus, status.name === 'online' ? '' : t(status.key));

    const n = totalUnread(state);
    const unreadLabel = t('badge.unread', { count: n });
    for (const el of [badge, tabCount]) {
      el.hidden = n === 0;
      setText(el, countText(n));
      el.setAttribute('aria-label', unreadLabel);
    }
    const label = [title || t('widget.title'), t(status.key)];
    if (n) label.push(unreadLabel);
    bar.setAttribute('aria-label', label.join(' — '));
    const wanted = n ? `(${countText(n)}) ${baseTitle}` : baseTitle;
    if (baseTitle && document.title !== wanted) document.title = wanted;

    panel.hidden = !state.panelOpen;
    bar.setAttribute('aria-expanded', String(state.panelOpen));
    root.classList.toggle('tc-root--open', state.panelOpen);
    activeTab = state.activeTab;
    tabOrder = state.support.staff ? ALL_TABS : ALL_TABS.filter((name) => !STAFF_TABS.has(name));
    for (const name of STAFF_TABS) {
      if (state.support.staff && !tabButtons[name].isConnected) tablist.append(tabButtons[name]);
      else if (!state.support.staff) tabButtons[name].remove();
    }
    for (const name of ALL_TABS) {
      const selected = name === state.activeTab;
      tabButtons[name].setAttribute('aria-selected', String(selected));
      tabButtons[name].tabIndex = selected ? 0 : -1;
      tabPanels[name].hidden = !selected;
    }
  }

  return {
    tabPanels,
    render,
    focusBar: () => bar.focus(),
    focusTab: (name) => tabButtons[name].focus(),
  };
}
