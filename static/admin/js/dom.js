// Small DOM helpers for the console's pages: elements from a tag, attributes and
// children (text is always text, never HTML), the page's status line, a confirmation
// dialog, and an API error shown by the field it names (or atop the form).

const SVG_NS = 'http://www.w3.org/2000/svg';

function build(el, attrs, children) {
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.setAttribute('class', value);
    else if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key === 'checked' || key === 'selected' || key === 'value') el[key] = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

/** h('button', {class: 'primary', onclick}, t('admin.save')) */
export const h = (tag, attrs, ...children) => build(document.createElement(tag), attrs, children);

/** The same for SVG elements. */
export const svg = (tag, attrs, ...children) => build(document.createElementNS(SVG_NS, tag), attrs, children);

/** Says `text` in the page's status line (a polite live region). */
export function announce(text) {
  const line = document.getElementById('admin-status');
  if (line) line.textContent = text;
}

/**
 * Asks for confirmation in a modal dialog; resolves true when confirmed. The dialog
 * keeps focus inside while open (showModal) and gives it back when closed.
 */
export function confirmDialog(t, { message, confirm }) {
  const back = document.activeElement;
  return new Promise((resolve) => {
    const dialog = h('dialog', { class: 'confirm', 'aria-labelledby': 'confirm-text' },
      h('p', { id: 'confirm-text' }, message),
      h('form', { method: 'dialog', class: 'actions' },
        h('button', { value: 'cancel', class: 'secondary', autofocus: true }, t('admin.cancel')),
        h('button', { value: 'ok', class: 'danger' }, confirm)));
    dialog.addEventListener('close', () => {
      dialog.remove();
      if (back && back.isConnected) back.focus();
      resolve(dialog.returnValue === 'ok');
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

/** Removes the field messages a form shows. */
export function clearFieldErrors(form) {
  for (const p of form.querySelectorAll('.field-error')) p.remove();
  for (const input of form.querySelectorAll('[aria-invalid]')) {
    input.removeAttribute('aria-invalid');
    input.removeAttribute('aria-describedby');
  }
}

/**
 * Shows an API error by the field it names (`data-field` on the field's wrapper):
 * the message under the field, tied to the input for screen readers, and focus there.
 * Answers false when the error names no field of this form.
 */
export function showFieldError(form, err) {
  const name = err && err.body && err.body.field;
  const wrapper = name && form.querySelector(`[data-field="${CSS.escape(name)}"]`);
  if (!wrapper) return false;
  const input = wrapper.querySelector('input, select, textarea');
  const id = `error-${name}`;
  wrapper.append(h('p', { class: 'field-error', id }, err.message));
  if (input) {
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', id);
    input.focus();
  }
  return true;
}

/**
 * Shows an API error by its field, or else as the form's own message (a 409 such as
 * "no assistant on this server" belongs to no field), announced to screen readers.
 */
export function showFormError(form, err) {
  if (showFieldError(form, err)) return;
  const actions = form.querySelector('.actions');
  const p = h('p', { class: 'field-error form-error', role: 'alert' }, err.message);
  if (actions) actions.before(p);
  else form.append(p);
}

/** A select's options from [value, label] pairs, `selected` chosen. */
export function options(pairs, selected) {
  return pairs.map(([value, label]) => h('option', { value, selected: String(value) === String(selected ?? '') }, label));
}

/** A `<input type=date>` value (local day) as the RFC 3339 start of that day. */
export function dayStart(value) {
  return value ? new Date(`${value}T00:00:00`).toISOString() : '';
}

/** The RFC 3339 start of the day after a `<input type=date>` value: an inclusive "to". */
export function dayEnd(value) {
  if (!value) return '';
  const d = new Date(`${value}T00:00:00`);
  d.setDate(d.getDate() + 1);
  return d.toISOString();
}

/** A query string from the non-empty entries of `params`. */
export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== '' && v !== null && v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}
