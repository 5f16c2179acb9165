// `@` autocomplete in the composer: typing `@` and the start of a name lists the open
// conversation's participants that match (a listbox above the input, the input keeps
// focus: aria-activedescendant); ↑/↓ move, Enter or Tab puts `@Name ` in the text,
// Escape closes the list (and only the list). The people picked for the current draft
// are remembered, so the send names the ones whose `@Name` is still in the text.

import { insertMention, matchPeople, mentionAt, mentionedIds } from '../mentions.js';
import { h } from './dom.js';

export function createMentionPicker({ t }, input) {
  const listbox = h('ul', { class: 'tc-mention-list', id: 'tcMentionList', role: 'listbox', 'aria-label': t('mentions.list'), hidden: true });
  input.setAttribute('aria-autocomplete', 'list');
  input.setAttribute('aria-controls', 'tcMentionList');
  input.setAttribute('aria-expanded', 'false');
  let people = []; // the open conversation's participants [{id, name}]
  let me = null;
  let matches = [];
  let active = 0;
  let at = null; // {start, query} of the mention being typed
  let chosen = []; // picked for this draft

  function show() {
    const open = matches.length > 0;
    listbox.hidden = !open;
    input.setAttribute('aria-expanded', String(open));
    listbox.replaceChildren(...matches.map((p, i) => h('li', {
      id: `tcMention-${i}`, role: 'option', class: 'tc-mention-option', 'aria-selected': String(i === active), 'data-index': i, text: p.name,
    })));
    if (open) input.setAttribute('aria-activedescendant', `tcMention-${active}`);
    else input.removeAttribute('aria-activedescendant');
  }

  function close() {
    matches = [];
    at = null;
    show();
  }

  /** After typing or moving the caret: the list follows the `@word` at the caret. */
  function update() {
    at = input.selectionStart === input.selectionEnd ? mentionAt(input.value, input.selectionStart) : null;
    const next = at ? matchPeople(people, at.query, { exclude: me }) : [];
    if (next.map((p) => p.id).join() !== matches.map((p) => p.id).join()) active = 0;
    matches = next;
    show();
  }

  function pick(i) {
    const p = matches[i];
    if (!p || !at) return;
    const { text, caret } = insertMention(input.value, at.start, input.selectionStart, p.name);
    input.value = text;
    input.setSelectionRange(caret, caret);
    if (!chosen.some((c) => String(c.id) === String(p.id))) chosen.push({ id: String(p.id), name: p.name });
    close();
    input.dispatchEvent(new Event('input', { bubbles: true }));
  }

  listbox.addEventListener('mousedown', (e) => e.preventDefault()); // the input keeps focus
  listbox.addEventListener('click', (e) => {
    const li = e.target.closest('[data-index]');
    if (li) pick(Number(li.dataset.index));
  });
  input.addEventListener('click', update);
  input.addEventListener('keyup', (e) => { if (e.key === 'ArrowLeft' || e.key === 'ArrowRight' || e.key === 'Home' || e.key === 'End') update(); });
  // Leaving the input closes the list, unless focus came back meanwhile (a re-render that
  // moved it for a moment): a late close would hide the list under the user's typing.
  input.addEventListener('blur', () => setTimeout(() => { if (document.activeElement !== input) close(); }, 150));

  return {
    listbox,
    update,
    /** The composer's keydown asks first; true when the list used the key. */
    handleKey(e) {
      if (listbox.hidden || e.isComposing) return false;
      if (e.key === 'ArrowDown' || e.key === 'ArrowUp') {
        active = (active + (e.key === 'ArrowDown' ? 1 : matches.length - 1)) % matches.length;
        show();
      } else if (e.key === 'Enter' || e.key === 'Tab') pick(active);
      else if (e.key === 'Escape') { close(); e.stopPropagation(); } else return false;
      e.preventDefault();
      return true;
    },
    /** The ids the draft's text mentions; the draft's picks are forgotten after a send. */
    mentions: (text) => mentionedIds(text, chosen),
    reset() { chosen = []; close(); },
    /**
     * The open conversation's participants, from every render. They may arrive after the
     * user typed `@` (the member list loads when the conversation opens), so a change
     * re-reads the `@word` being typed instead of waiting for the next key.
     */
    setPeople(list, myId) {
      const key = (ps) => ps.map((p) => `${p.id}:${p.name}`).join();
      const changed = key(list) !== key(people) || myId !== me;
      people = list;
      me = myId;
      if (changed && document.activeElement === input) update();
    },
  };
}
