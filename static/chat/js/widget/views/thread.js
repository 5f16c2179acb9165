// The Internal chat tab: the open conversation's header (avatar, presence or members,
// the group info button, the Archive/Mute menu), its messages, who is typing, errors, the
// reply/edit bar and the composer — or, for a viewer, a Join button instead — and the
// group info panel in place of the messages when it is open.

import { canJoin, canSend, isGroup, isMember, isShared } from '../live.js';
import { endsClosed, isSupport } from '../support-state.js';
import { conversationOf, otherParticipant, threadItems, typingNames, userOnline } from '../store.js';
import { errorBox, h, icons, initials, setText } from './dom.js';
import { createInfoView } from './info.js';
import { createMessagesView } from './messages.js';
import { createComposerView } from './composer.js';

export function createThreadView(ctx, tabPanel) {
  const { t, controller, existing, groups, actions } = ctx;
  const infoBtn = h('button', {
    type: 'button', class: 'tc-icon-btn tc-info-btn', 'aria-label': t('info.open'), title: t('info.open'),
    'aria-expanded': 'false', 'aria-controls': 'tcGroupInfo', hidden: true,
  }, icons.info());
  const title = h('h3', { class: 'tc-conv-title', id: 'tcConvTitle' });
  const subtitle = h('p', { class: 'tc-conv-subtitle' });
  const convAvatar = h('span', { class: 'tc-avatar', 'aria-hidden': 'true' });
  const muted = h('span', { class: 'tc-muted-mark', role: 'img', 'aria-label': t('conversation.muted'), title: t('conversation.muted'), hidden: true }, icons.bellOff());
  const menuBtn = h('button', {
    type: 'button', class: 'tc-icon-btn tc-menu-btn', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
    'aria-controls': 'tcConvMenu', 'aria-label': t('conversation.menu'), title: t('conversation.menu'),
  }, icons.dots());
  const archiveItem = h('button', { type: 'button', role: 'menuitem', class: 'tc-menu-item', tabindex: '-1', 'data-action': 'archive' });
  const muteItem = h('button', { type: 'button', role: 'menuitem', class: 'tc-menu-item', tabindex: '-1', 'data-action': 'mute' });
  const menu = h('div', { class: 'tc-menu', id: 'tcConvMenu', role: 'menu', 'aria-label': t('conversation.menu'), hidden: true }, archiveItem, muteItem);
  const header = h('div', { class: 'tc-conv-header', hidden: true },
    convAvatar,
    h('div', { class: 'tc-conv-heading' }, h('div', { class: 'tc-conv-title-row' }, title, muted), subtitle),
    infoBtn, h('div', { class: 'tc-menu-wrap' }, menuBtn, menu));
  const none = h('div', { class: 'tc-empty tc-no-conversation' },
    h('p', { text: t('conversation.none') }),
    h('button', { type: 'button', class: 'tc-btn tc-btn--secondary', onclick: () => controller.setTab('conversations', { focus: true }) }, t('conversation.browse')));
  const typing = h('p', { class: 'tc-typing', 'aria-live': 'polite', 'aria-atomic': 'true' });
  const error = errorBox('chat', ctx);
  const messages = createMessagesView(ctx);
  const composer = createComposerView(ctx);
  const info = createInfoView(ctx);
  const contextText = h('span', { class: 'tc-context-text' });
  const contextBar = h('div', { class: 'tc-context', role: 'status', hidden: true }, contextText,
    h('button', {
      type: 'button', class: 'tc-icon-btn', 'aria-label': t('action.cancel'), title: t('action.cancel'), onclick: () => actions.cancel(),
    }, icons.close()));
  const readOnlyText = h('span', { class: 'tc-readonly-text' });
  const joinBtn = h('button', { type: 'button', class: 'tc-btn tc-join-btn', text: t('directory.join') });
  const readOnly = h('div', { class: 'tc-readonly', hidden: true }, readOnlyText, joinBtn);
  // The requester's closed support conversation: the way to a new one.
  const supportClosed = h('div', { class: 'tc-readonly tc-support-closed', id: 'tcSupportClosed', hidden: true },
    h('span', { class: 'tc-readonly-text', text: t('support.closedNotice') }),
    h('button', { type: 'button', class: 'tc-btn', onclick: () => ctx.support.contact() }, t('support.contact')));
  tabPanel.append(header, none, info.el, existing.widgetMessageContainer ? null : messages.container,
    typing, error.el, contextBar, readOnly, supportClosed, existing.widgetMessageForm ? null : composer.form);
  infoBtn.addEventListener('click', () => controller.toggleInfo());
  joinBtn.addEventListener('click', async () => {
    joinBtn.disabled = true;
    const joined = await groups.join(shownConversation);
    joinBtn.disabled = false;
    if (joined) focusInput();
  });
  // Escape in the composer drops the reply or edit first (then it closes the panel).
  composer.form.addEventListener('keydown', (e) => {
    if (e.key === 'Escape' && !contextBar.hidden) {
      e.preventDefault();
      actions.cancel();
    }
  });

  // The menu is the view's own business (open/closed is not application state).
  function openMenu() {
    menu.hidden = false;
    menuBtn.setAttribute('aria-expanded', 'true');
    archiveItem.focus();
  }
  function closeMenu(focusButton) {
    if (menu.hidden) return;
    menu.hidden = true;
    menuBtn.setAttribute('aria-expanded', 'false');
    if (focusButton) menuBtn.focus();
  }
  menuBtn.addEventListener('click', () => (menu.hidden ? openMenu() : closeMenu(true)));
  menu.addEventListener('keydown', (e) => {
    const items = [archiveItem, muteItem];
    const i = items.indexOf(document.activeElement);
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      e.preventDefault();
      items[(i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length].focus();
    } else if (e.key === 'Home' || e.key === 'End') {
      e.preventDefault();
      items[e.key === 'Home' ? 0 : items.length - 1].focus();
    } else if (e.key === 'Escape') {
      e.preventDefault(); // closes only the menu, not the panel
      closeMenu(true);
    } else if (e.key === 'Tab') {
      closeMenu(false);
    }
  });
  menu.addEventListener('click', (e) => {
    const item = e.target.closest('[role="menuitem"]');
    if (!item) return;
    closeMenu(true);
    controller.toggleFlag(item.dataset.action);
  });
  document.addEventListener('click', (e) => {
    if (!menu.hidden && !menu.contains(e.target) && !menuBtn.contains(e.target)) closeMenu(false);
  });

  let shownConversation = null;
  function renderHeader(state) {
    const conv = conversationOf(state, state.openConversationId);
    header.hidden = !conv;
    none.hidden = !!conv;
    if (!conv) return;
    if (conv.id !== shownConversation || !state.panelOpen || state.activeTab !== 'chat') closeMenu(false);
    shownConversation = conv.id;
    setText(title, conv.title || '');
    muted.hidden = !conv.is_muted;
    archiveItem.textContent = conv.is_archived ? t('conversation.unarchive') : t('conversation.archive');
    muteItem.textContent = conv.is_muted ? t('conversation.unmute') : t('conversation.mute');
    const other = otherParticipant(state, conv);
    const online = other ? userOnline(state, other.id) : null;
    convAvatar.replaceChildren(document.createTextNode(initials(conv.title)));
    convAvatar.classList.toggle('tc-avatar--group', !!conv.is_group);
    if (other) convAvatar.append(h('span', { class: `tc-dot ${online ? 'tc-dot--online' : ''}` }));
    if (other) {
      subtitle.textContent = online ? t('users.online') : t('users.offline');
    } else {
      const names = (conv.participants || []).map((p) => (String(p.id) === state.me ? t('message.you') : p.name));
      subtitle.textContent = `${t('conversation.members', { count: names.length })} · ${names.join(', ')}`;
    }
    if (conv.is_archived) subtitle.append(h('span', { class: 'tc-tag', text: t('conversation.archived') }));
    infoBtn.hidden = !isGroup(conv) || isSupport(conv); // a support conversation has no group settings
    infoBtn.setAttribute('aria-expanded', String(!!state.infoOpen));
  }

  /** The composer for members who may write; else why not, and Join when one may. */
  let shownEdit = null;
  function renderComposerArea(state) {
    const conv = conversationOf(state, state.openConversationId);
    const sendable = !!conv && canSend(state, conv);
    if (!sendable || state.infoOpen) composer.form.hidden = true;
    readOnly.hidden = !conv || sendable || state.infoOpen;
    if (conv && !sendable) {
      let why = 'readonly.reader';
      if (canJoin(state, conv)) why = 'readonly.viewer';
      else if (!isMember(conv) && isSupport(conv)) why = 'readonly.support';
      else if (!isMember(conv)) why = isShared(conv) ? 'readonly.viewerRead' : 'readonly.removed';
      setText(readOnlyText, t(why));
      joinBtn.hidden = !canJoin(state, conv);
    }
    supportClosed.hidden = !conv || !isSupport(conv) || String(conv.created_by) !== state.me || state.infoOpen
      || !endsClosed(threadItems(state, conv.id));
    // Closed is final for the requester (docs/support-desk.md): the notice replaces the composer.
    if (!supportClosed.hidden) composer.form.hidden = true;
    const draft = state.editing || state.replyTo;
    const here = draft && draft.conversationId === state.openConversationId && sendable && !state.infoOpen;
    contextBar.hidden = !here;
    if (here) {
      const m = draft.message;
      setText(contextText, state.editing ? t('action.editing') : t('action.replyingTo', { name: m.sender_name || '', text: (m.content || '').slice(0, 80) }));
    }
    // Starting an edit puts the message's text in the composer.
    const editKey = state.editing ? state.editing.message.id : null;
    if (editKey !== shownEdit) {
      if (state.editing) composer.setDraft(state.editing.message.content || '');
      else if (shownEdit) composer.setDraft('');
      shownEdit = editKey;
    }
  }
  function focusInput() {
    if (!composer.form.hidden) composer.focus();
    else if (!joinBtn.hidden && !readOnly.hidden) joinBtn.focus();
  }

  function renderTyping(state) {
    const names = state.openConversationId ? typingNames(state, state.openConversationId, Date.now()) : [];
    let text = '';
    if (names.length === 1) text = t('typing.one', { name: names[0] });
    else if (names.length === 2) text = t('typing.two', { name: names[0], other: names[1] });
    else if (names.length > 2) text = t('typing.many');
    setText(typing, text);
    typing.classList.toggle('tc-typing--on', !!text);
  }

  return {
    render(state, opts) {
      renderHeader(state);
      info.render(state);
      messages.render(state, opts);
      if (state.infoOpen) messages.container.hidden = true;
      renderTyping(state);
      error.render(state);
      composer.render(state);
      renderComposerArea(state);
    },
    scrollToBottom: messages.scrollToBottom,
    focusInput,
    focusInfo: info.focus,
  };
}
