// Settings: every tenant setting in one form, built from FIELDS (a new setting is one
// entry there, plus its strings), saved with PUT; the API's `validation_error` shows by
// the field it names. The branding fields drive a live preview of the widget's look.
import { applyBranding } from '../../../chat/js/branding.js';
import { announce, clearFieldErrors, h, options, showFieldError } from '../dom.js';

/**
 * The settings, in form order. `kind` picks how the field is drawn and read (KINDS);
 * `choices` lists a `choice` field's values, `keys` a `pairs` field's two properties;
 * `group: 'branding'` places it beside the preview. Each needs `admin.settings.<name>` and `admin.settings.<name>.hint` strings.
 */
export const FIELDS = [
  { name: 'widget_title', kind: 'text', group: 'branding' },
  { name: 'widget_color', kind: 'color', group: 'branding' },
  { name: 'max_upload_bytes', kind: 'number' },
  { name: 'allowed_types', kind: 'types' },
  { name: 'send_per_minute', kind: 'number' },
  { name: 'retention_days', kind: 'number' },
  { name: 'edit_window_minutes', kind: 'number' },
  { name: 'forbidden_topics', kind: 'lines' },
  { name: 'pii_mode', kind: 'choice', choices: ['off', 'flag', 'redact'] },
  { name: 'canned_replies', kind: 'pairs', keys: ['shortcut', 'text'] },
  { name: 'support_round_robin', kind: 'flag' },
  { name: 'search_enabled', kind: 'flag', default: true },
];

const id = (field) => `setting-${field.name}`;

/**
 * How each kind of field is drawn from its current value and read back: `draw(field,
 * value, t)` makes the control, `read(wrapper, field)` answers the value to send, or
 * undefined to leave the field out (its default).
 */
export const KINDS = {
  text: {
    draw: (f, value) => h('input', { id: id(f), name: f.name, value: value ?? '' }),
    read: (el) => el.querySelector('input').value.trim() || undefined,
  },
  number: {
    draw: (f, value) => h('input', { id: id(f), name: f.name, type: 'number', step: 1, inputmode: 'numeric', value: value ?? '' }),
    read: (el) => {
      const raw = el.querySelector('input').value.trim();
      return raw === '' ? undefined : Number(raw);
    },
  },
  /** Free text (the API judges it) with a colour picker kept in step. */
  color: {
    draw: (f, value) => {
      const text = h('input', { id: id(f), name: f.name, value: value ?? '', placeholder: '#RRGGBB', spellcheck: 'false' });
      const picker = h('input', { type: 'color', 'aria-label': f.label, tabindex: -1, value: value || '#2563eb' });
      picker.addEventListener('input', () => {
        text.value = picker.value;
        text.dispatchEvent(new Event('input', { bubbles: true }));
      });
      text.addEventListener('input', () => {
        if (/^#[0-9a-f]{6}$/i.test(text.value)) picker.value = text.value.toLowerCase();
      });
      return h('span', { class: 'color-input' }, text, picker);
    },
    read: (el) => el.querySelector('input').value.trim() || undefined,
  },
  /** A checkbox per type the server accepts (`f.all`). */
  types: {
    draw: (f, value) => h('div', { class: 'checks', id: id(f) },
      f.all.map((type) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: f.name, value: type, checked: value.includes(type) }), type))),
    read: (el) => [...el.querySelectorAll('input:checked')].map((c) => c.value),
  },
  /** One of `f.choices`, each labelled by `admin.settings.<name>.<choice>`. */
  choice: {
    draw: (f, value, t) => h('select', { id: id(f), name: f.name },
      options(f.choices.map((c) => [c, t(`admin.settings.${f.name}.${c}`)]), value)),
    read: (el) => el.querySelector('select').value,
  },
  /** On or off: a checkbox; an unset value shows the server's default (`f.default`, else off). */
  flag: {
    draw: (f, value) => h('input', { id: id(f), name: f.name, type: 'checkbox', checked: Boolean(value ?? f.default) }),
    read: (el) => el.querySelector('input').checked,
  },
  /** A list of phrases, one a line. */
  lines: {
    draw: (f, value) => h('textarea', { id: id(f), name: f.name, rows: 4 }, (value || []).join('\n')),
    read: (el) => el.querySelector('textarea').value.split('\n').map((l) => l.trim()).filter(Boolean),
  },
  /**
   * A list of objects with two text properties, `f.keys` (e.g. shortcut and text), one a
   * line: the first word is the first property, the rest of the line the second.
   */
  pairs: {
    draw: (f, value) => h('textarea', { id: id(f), name: f.name, rows: 4 },
      (value || []).map((item) => `${item[f.keys[0]]} ${item[f.keys[1]]}`).join('\n')),
    read: (el, f) => el.querySelector('textarea').value.split('\n').map((l) => l.trim()).filter(Boolean)
      .map((line) => {
        const [first, ...rest] = line.split(/\s+/);
        return { [f.keys[0]]: first, [f.keys[1]]: rest.join(' ') };
      }),
  },
};

/** The static mock of the widget: its launcher and its panel header, in the tenant's colours. */
function preview(t) {
  const title = h('span', { class: 'preview-title' });
  const launcherTitle = h('span', {});
  const header = h('div', { class: 'preview-header' }, title, h('span', { 'aria-hidden': 'true' }, '×'));
  const launcher = h('div', { class: 'preview-launcher' }, h('span', { class: 'preview-dot' }), launcherTitle);
  const box = h('figure', { class: 'card preview', id: 'widget-preview' },
    h('figcaption', {}, t('admin.settings.preview')),
    h('div', { class: 'preview-panel' }, header, h('div', { class: 'preview-body' }, h('p', { class: 'preview-bubble' }, t('admin.settings.preview_message')))),
    launcher);
  function update({ title: text, color }) {
    const shown = text || t('widget.title');
    title.textContent = shown;
    launcherTitle.textContent = shown;
    for (const el of [header, launcher]) {
      el.style.removeProperty('--tc-accent');
      el.style.removeProperty('--tc-on-accent');
    }
    applyBranding([header, launcher], { color });
  }
  return { box, update };
}

export async function mount({ root, api, t, attachmentTypes }) {
  const settings = await api.get('/api/admin/settings/');
  const fields = FIELDS.map((f) => ({ ...f, label: t(`admin.settings.${f.name}`), all: attachmentTypes || settings.allowed_types }));
  const wrappers = new Map();
  const draw = (f) => {
    const kind = KINDS[f.kind];
    const hintId = `${id(f)}-hint`;
    const control = kind.draw(f, settings[f.name], t);
    const input = control.matches('input, select, textarea') ? control : control.querySelector('input, select, textarea');
    if (input && f.kind !== 'types') input.setAttribute('aria-describedby', hintId);
    const label = f.kind === 'types'
      ? h('legend', {}, f.label)
      : h('label', { for: id(f) }, f.label);
    const wrapper = h(f.kind === 'types' ? 'fieldset' : 'div', { class: 'field', 'data-field': f.name },
      label, control, h('p', { class: 'hint', id: hintId }, t(`admin.settings.${f.name}.hint`)));
    wrappers.set(f.name, wrapper);
    return wrapper;
  };
  const { box, update } = preview(t);
  const values = () => Object.fromEntries(fields.map((f) => [f.name, KINDS[f.kind].read(wrappers.get(f.name), f)]));
  const refresh = () => {
    const v = values();
    update({ title: v.widget_title, color: v.widget_color });
  };
  const form = h('form', { class: 'settings', novalidate: true, oninput: refresh },
    h('section', { class: 'branding', 'aria-labelledby': 'branding-heading' },
      h('div', { class: 'card stack' },
        h('h2', { id: 'branding-heading' }, t('admin.settings.branding')),
        fields.filter((f) => f.group === 'branding').map(draw)),
      box),
    h('section', { class: 'card stack', 'aria-labelledby': 'chat-heading' },
      h('h2', { id: 'chat-heading' }, t('admin.settings.chat')),
      fields.filter((f) => f.group !== 'branding').map(draw)),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('admin.save'))));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    clearFieldErrors(form);
    const body = Object.fromEntries(Object.entries(values()).filter(([, v]) => v !== undefined));
    try {
      await api.request('PUT', '/api/admin/settings/', body);
      announce(t('admin.settings.saved'));
    } catch (err) {
      if (!showFieldError(form, err)) announce(err.message);
      else announce(t('admin.settings.invalid'));
    }
  });
  root.replaceChildren(form);
  refresh();
}
