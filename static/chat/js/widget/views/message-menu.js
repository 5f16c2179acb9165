// Message actions by mouse and keyboard. Messages are focusable (one tab stop: the
// focused message, arrows move between messages, Home/End to the ends); each message with
// actions has a menu button (shown on hover or focus); Enter on a message or a click on
// its button opens the menu (reply, react, edit, delete, copy — only those allowed); arrows move
// in the menu, Enter picks, Escape or Tab closes it and focus returns to the message.

import { canDelete, canEdit, canReact, canReply } from '../live.js';
import { conversationOf, threadOf } from '../store.js';
import { h } from './dom.js';

const ACTIONS = ['reply', 'react', 'edit', 'delete', 'copy'];

/** `onReact(el)` opens the reaction picker on a message element. */
export function createMessageMenu({ t, actions }, list, onReact) {
  const menu = h('div', { class: 'tc-menu tc-msg-menu', id: 'tcMessageMenu', role: 'menu', 'aria-label': t('action.menu'), hidden: true });
  let target = null; // the message element the menu is open on
  let getState = () => null;

  /** The actions the user may take on a message now. */
  function allowed(state, m) {
    const conv = conversationOf(state, state.openConversationId);
    return ACTIONS.filter((a) => (a === 'reply' && canReply(state, conv, m)) || (a === 'react' && canReact(state, conv, m))
      || (a === 'edit' && canEdit(state, conv, m))
      || (a === 'delete' && canDelete(state, conv, m)) || (a === 'copy' && !!m.id && !m.deleted && m.kind !== 'system' && !!m.content));
  }
  const messageOf = (state, el) => (el && el.dataset.id ? threadOf(state, state.openConversationId).byId[el.dataset.id] : null);

  function open(el) {
    const state = getState();
    const m = messageOf(state, el);
    const acts = m ? allowed(state, m) : [];
    if (!acts.length) return;
    close(false);
    target = el;
    menu.replaceChildren(...acts.map((a) => h('button', {
      type: 'button', role: 'menuitem', class: `tc-menu-item${a === 'delete' ? ' tc-menu-item--danger' : ''}`, tabindex: '-1', 'data-act': a, text: t(`action.${a}`),
    })));
    el.append(menu);
    menu.hidden = false;
    const btn = el.querySelector('.tc-msg-menu-btn');
    if (btn) btn.setAttribute('aria-expanded', 'true');
    menu.firstChild.focus();
  }

  function close(refocus) {
    if (menu.hidden) return;
    menu.hidden = true;
    const el = target;
    target = null;
    const btn = el && el.querySelector('.tc-msg-menu-btn');
    if (btn) btn.setAttribute('aria-expanded', 'false');
    menu.remove();
    if (refocus && el && el.isConnected) el.focus();
  }

  function pick(act) {
    const state = getState();
    const m = messageOf(state, target);
    const el = target;
    close(act === 'copy');
    if (!m) return;
    if (act === 'react') onReact(el);
    else if (act === 'reply') actions.reply(m);
    else if (act === 'edit') actions.edit(m);
    else if (act === 'delete') actions.remove(m);
    else if (act === 'copy') actions.copy(m);
  }

  const focusable = () => [...list.querySelectorAll('.tc-msg[tabindex]')];
  /** One tab stop: the given message takes it. */
  function rove(el) {
    for (const x of list.querySelectorAll('.tc-msg[tabindex="0"]')) if (x !== el) x.tabIndex = -1;
    el.tabIndex = 0;
    el.focus();
  }

  list.addEventListener('click', (e) => {
    const item = e.target.closest('[role="menuitem"]');
    if (item && menu.contains(item)) { pick(item.dataset.act); return; }
    const btn = e.target.closest('.tc-msg-menu-btn');
    if (btn) {
      const el = btn.closest('.tc-msg');
      if (target === el) close(true); else open(el);
    }
  });
  list.addEventListener('focusin', (e) => {
    const el = e.target.closest('.tc-msg[tabindex]');
    if (el && e.target === el) rove(el);
  });
  list.addEventListener('keydown', (e) => {
    if (menu.contains(e.target)) {
      const items = [...menu.children];
      const i = items.indexOf(document.activeElement);
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') items[(i + (e.key === 'ArrowDown' ? 1 : items.length - 1)) % items.length].focus();
      else if (e.key === 'Home' || e.key === 'End') items[e.key === 'Home' ? 0 : items.length - 1].focus();
      else if (e.key === 'Escape') close(true);
      else if (e.key === 'Tab') { close(false); return; } else return;
      e.preventDefault();
      return;
    }
    const el = e.target.closest('.tc-msg[tabindex]');
    if (!el || e.target !== el) return;
    const all = focusable();
    const i = all.indexOf(el);
    if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
      const next = all[i + (e.key === 'ArrowDown' ? 1 : -1)];
      if (next) rove(next);
    } else if (e.key === 'Home' || e.key === 'End') rove(all[e.key === 'Home' ? 0 : all.length - 1]);
    else if (e.key === 'Enter' || e.key === ' ') open(el);
    else return;
    e.preventDefault();
  });
  document.addEventListener('click', (e) => {
    if (!menu.hidden && !menu.contains(e.target) && !(target && target.contains(e.target))) close(false);
  });

  /** Message elements get their actions here, as they are built. */
  function decorate(state, el, m) {
    if (!m.id) return;
    el.tabIndex = -1;
    if (!allowed(state, m).length) return;
    el.append(h('button', {
      type: 'button', class: 'tc-icon-btn tc-msg-menu-btn', tabindex: '-1', 'aria-haspopup': 'menu', 'aria-expanded': 'false',
      'aria-controls': 'tcMessageMenu', 'aria-label': t('action.menu'), title: t('action.menu'),
    }, '⋯'));
  }

  return {
    decorate,
    /** Called before each render; a menu whose message is gone closes. */
    bind(stateGetter) { getState = stateGetter; if (target && !target.isConnected) close(false); },
    /** The tab stop goes to the newest message when none has it. */
    ensureTabStop() {
      if (!list.querySelector('.tc-msg[tabindex="0"]')) {
        const all = focusable();
        if (all.length) all[all.length - 1].tabIndex = 0;
      }
    },
  };
}
