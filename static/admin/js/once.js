// The dialog that shows a new credential (a bot's token, a signing secret) the only time
// the API returns it: each value in a read-only field with a copy button, a plain warning
// that it will not be shown again, and focus given back to the page when it closes.
import { h } from './dom.js';

/** Copies `input`'s value: the Clipboard API where the page may use it, else select and copy. */
async function copy(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch (_) {
    // Not a secure context (plain http on a real host), or permission refused.
    input.focus();
    input.select();
    return document.execCommand('copy');
  }
}

/**
 * Shows `values` ([{label, value}]) under `title`; resolves when the admin closes it.
 * `t` gives the strings.
 */
export function showOnce(t, { title, values }) {
  const back = document.activeElement;
  return new Promise((resolve) => {
    const rows = values.map(({ label, value }, i) => {
      const id = `once-${i}`;
      // Focus starts on the first value, not on Done: an early Enter must not lose it.
      const input = h('input', { id, class: 'secret', readonly: true, value, spellcheck: 'false', autocomplete: 'off', autofocus: i === 0 });
      const done = h('span', { class: 'copied', role: 'status' });
      const button = h('button', {
        type: 'button', class: 'secondary small', 'aria-label': t('admin.once.copy_of', { label }),
        onclick: async () => {
          done.textContent = (await copy(input)) ? t('admin.once.copied') : t('admin.once.copy_failed');
        },
      }, t('admin.once.copy'));
      return h('div', { class: 'field' }, h('label', { for: id }, label), h('div', { class: 'secret-row' }, input, button), done);
    });
    const dialog = h('dialog', { class: 'confirm once', 'aria-labelledby': 'once-title', 'aria-describedby': 'once-warning' },
      h('h2', { id: 'once-title' }, title),
      h('p', { id: 'once-warning', class: 'warning' }, t('admin.once.warning')),
      rows,
      h('form', { method: 'dialog', class: 'actions' },
        h('button', { value: 'done', class: 'primary' }, t('admin.once.done'))));
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (back && back.isConnected) back.focus();
      resolve();
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}
