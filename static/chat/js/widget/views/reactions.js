// Reactions under a message: one button per emoji with its count (pressed when it is the
// user's own; a click adds or takes back the user's), and the picker — a small menu of
// common emoji opened from the message menu (action.react) or the bar's + button. The picker
// is one element moved to the message it serves; arrows move, Enter picks, Escape or Tab
// closes it and focus returns to where it was opened from.

import { REACTION_CHOICES } from '../reactions.js';
import { h } from './dom.js';

export function createReactionsView({ t, actions }, list, messageOf) {
  const picker = h('div', { class: 'tc-menu tc-reaction-picker', id: 'tcReactionPicker', role: 'menu', 'aria-label': t('reactions.pick'), hidden: true },
    REACTION_CHOICES.map((e) => h('button', { type: 'button', role: 'menuitem', class: 'tc-reaction-choice', tabindex: '-1', 'data-pick': e, 'aria-label': e, text: e })));
  let target = null; // the message element the picker is open on
  let returnTo = null;
  let focusedPick = null; // the emoji last focused in the picker
  picker.addEventListener('focusin', (e) => { focusedPick = e.target.dataset.pick || null; });

  function open(el, from) {
    close(false);
    target = el;
    returnTo = from || el;
    el.append(picker);
    picker.hidden = false;
    picker.firstChild.focus();
  }

  function close(refocus) {
    if (picker.hidden) return;
    picker.hidden = true;
    picker.remove();
    const back = returnTo && returnTo.isConnected ? returnTo : target;
    target = null;
    returnTo = null;
    if (refocus && back && back.isConnected) back.focus();
  }

  function react(el, emoji) {
    const m = messageOf(el);
    if (m) actions.react(m, emoji);
  }

  list.addEventListener('click', (e) => {
    const choice = e.target.closest('[data-pick]');
    if (choice && picker.contains(choice)) {
      const el = target;
      close(true);
      react(el, choice.dataset.pick);
      return;
    }
    const chip = e.target.closest('[data-reaction]');
    if (chip) { react(chip.closest('.tc-msg'), chip.dataset.reaction); return; }
    const add = e.target.closest('.tc-reaction-add');
    if (add) open(add.closest('.tc-msg'), add);
  });
  list.addEventListener('keydown', (e) => {
    if (!picker.contains(e.target)) return;
    const items = [...picker.children];
    const i = items.indexOf(document.activeElement);
    const step = { ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1 }[e.key];
    if (step) items[(i + step + items.length) % items.length].focus();
    else if (e.key === 'Home' || e.key === 'End') items[e.key === 'Home' ? 0 : items.length - 1].focus();
    else if (e.key === 'Escape') close(true);
    else if (e.key === 'Tab') { close(false); return; } else return;
    e.preventDefault();
    e.stopPropagation(); // Escape closes the picker, not the panel; arrows stay out of the message list
  });
  document.addEventListener('click', (e) => {
    if (!picker.hidden && !picker.contains(e.target) && !e.target.closest('.tc-reaction-add, [data-act="react"]')) close(false);
  });

  /** The bar under a message (null when it has no reactions); `canReact` enables it. */
  function bar(m, canReact) {
    const reactions = (m.reactions || []).filter((r) => r.count > 0);
    if (!reactions.length) return null;
    return h('div', { class: 'tc-reactions', role: 'group', 'aria-label': t('reactions.label') },
      reactions.map((r) => h('button', {
        type: 'button', class: `tc-reaction${r.me ? ' tc-reaction--me' : ''}`, 'data-reaction': r.emoji, 'aria-pressed': String(!!r.me),
        disabled: !canReact, 'aria-label': t(r.me ? 'reactions.mine' : 'reactions.count', { emoji: r.emoji, count: r.count }),
      }, h('span', { class: 'tc-reaction-emoji', 'aria-hidden': 'true', text: r.emoji }), h('span', { class: 'tc-reaction-count', text: String(r.count) }))),
      canReact ? h('button', {
        type: 'button', class: 'tc-reaction tc-reaction-add', 'aria-haspopup': 'menu', 'aria-controls': 'tcReactionPicker',
        'aria-label': t('reactions.add'), title: t('reactions.add'), text: '+',
      }) : null);
  }

  return {
    bar,
    /** The message menu's react action: the picker on that message; focus comes back to it. */
    openFor: (el) => open(el, el),
    /**
     * After each render: a message re-rendered (a new status, a count) keeps its open
     * picker and the focus in it; a picker whose message is gone closes.
     */
    bind() {
      if (!target || target.isConnected) return;
      const again = target.dataset.id ? list.querySelector(`.tc-msg[data-id="${CSS.escape(target.dataset.id)}"]`) : null;
      if (!again) { close(false); return; }
      const hadFocus = !document.activeElement || document.activeElement === document.body;
      target = again;
      again.append(picker);
      if (hadFocus && focusedPick) picker.querySelector(`[data-pick="${CSS.escape(focusedPick)}"]`).focus();
    },
  };
}
