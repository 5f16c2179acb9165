// The composer's canned-reply picker, for agents and admins: typing `/` (then part of a
// shortcut) lists the matching replies above the input; ArrowUp/ArrowDown move, Enter
// or Tab puts the reply's text in the input (to edit or send), Escape or a space closes.

import { cannedMatches } from '../support-state.js';
import { h } from './dom.js';

export function createCannedPicker({ t }, form, input, getState) {
  const list = h('ul', { class: 'tc-canned', id: 'tcCannedList', role: 'listbox', 'aria-label': t('canned.label'), hidden: true });
  form.prepend(list);
  let matches = [];
  let active = 0;

  function show() {
    const open = matches.length > 0;
    list.hidden = !open;
    input.setAttribute('aria-expanded', String(open));
    if (!open) {
      input.removeAttribute('aria-activedescendant');
      list.replaceChildren();
      return;
    }
    input.setAttribute('aria-controls', 'tcCannedList');
    list.replaceChildren(...matches.map((r, i) => h('li', {
      id: `tcCanned-${i}`, role: 'option', class: 'tc-canned-option', 'aria-selected': String(i === active), 'data-index': i,
    }, h('span', { class: 'tc-canned-shortcut', text: `/${r.shortcut}` }), h('span', { class: 'tc-canned-text', text: r.text }))));
    input.setAttribute('aria-activedescendant', `tcCanned-${active}`);
  }

  function update() {
    const { support } = getState();
    matches = support.staff ? cannedMatches(support.canned, input.value) : [];
    active = 0;
    show();
  }

  function pick(i) {
    const reply = matches[i];
    if (!reply) return;
    matches = [];
    show();
    input.value = reply.text;
    // The composer sizes itself and says "typing" on input, as if it had been typed.
    input.dispatchEvent(new Event('input', { bubbles: true }));
    input.focus();
  }

  input.addEventListener('input', update);
  input.addEventListener('blur', () => { matches = []; show(); });
  // Capture, so a picked reply's Enter never reaches the composer (which would send).
  form.addEventListener('keydown', (e) => {
    if (e.target !== input || list.hidden || e.isComposing) return;
    const moves = { ArrowDown: 1, ArrowUp: -1 };
    if (e.key in moves) {
      active = (active + moves[e.key] + matches.length) % matches.length;
      show();
    } else if (e.key === 'Enter' || e.key === 'Tab') {
      pick(active);
    } else if (e.key === 'Escape') {
      matches = [];
      show();
    } else {
      return;
    }
    e.preventDefault();
    e.stopPropagation();
  }, true);
  // mousedown would blur the input (and close the list) before the click lands.
  list.addEventListener('mousedown', (e) => e.preventDefault());
  list.addEventListener('click', (e) => {
    const option = e.target.closest('[data-index]');
    if (option) pick(Number(option.dataset.index));
  });
}
