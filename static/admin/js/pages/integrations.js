// Integrations: the tenant's bots (a webhook bot, or an AI assistant where the server
// has one) and tenant webhooks — list, create (the token and secret shown once), delete
// (confirmed) — and the delivery log of each with a manual retry (../deliveries.js).
import { deliveryLog } from '../deliveries.js';
import { announce, clearFieldErrors, confirmDialog, h, showFormError } from '../dom.js';
import { showOnce } from '../once.js';

/** The tenant events a webhook can subscribe to (docs/integrations.md, `hooks::endpoints::EVENTS`). */
export const EVENTS = ['message_created', 'conversation_created', 'member_added', 'member_removed', 'member_joined',
  'member_left', 'role_changed', 'title_changed', 'description_changed', 'visibility_changed'];
export const BOT_KINDS = ['webhook', 'assistant'];

/**
 * The body of `POST /api/admin/bots/` for the form's values: a webhook bot names its URL,
 * an assistant says so and may carry instructions (left out when empty).
 */
export function botBody({ kind, name, webhook_url: url = '', instructions = '' }) {
  if (kind === 'assistant') {
    const body = { name, assistant: true };
    if (instructions.trim()) body.instructions = instructions.trim();
    return body;
  }
  return { name, webhook_url: url.trim() };
}

/** A bot listed before assistants existed has no `assistant` field: it is a webhook bot. */
export const botKind = (bot) => (bot.assistant === true ? 'assistant' : 'webhook');

const field = (t, prefix, name, input, hint) => h('div', { class: 'field', 'data-field': name },
  h('label', { for: `${prefix}-${name}` }, t(`admin.integrations.${name}`)), input,
  hint ? h('p', { class: 'hint' }, hint) : null);

function botForm(t, onCreate) {
  const kinds = h('fieldset', { class: 'field', 'data-field': 'kind' },
    h('legend', {}, t('admin.integrations.kind')),
    h('div', { class: 'checks' }, BOT_KINDS.map((k) => h('label', { class: 'check' },
      h('input', { type: 'radio', name: 'kind', value: k, checked: k === 'webhook', id: `bot-kind-${k}` }),
      t(`admin.integrations.kind.${k}`)))));
  const url = field(t, 'bot', 'webhook_url',
    h('input', { id: 'bot-webhook_url', name: 'webhook_url', type: 'url', inputmode: 'url', placeholder: 'http://', required: true }),
    t('admin.integrations.webhook_url.hint'));
  const instructions = field(t, 'bot', 'instructions',
    h('textarea', { id: 'bot-instructions', name: 'instructions', rows: 3 }), t('admin.integrations.instructions.hint'));
  const form = h('form', { class: 'card grid-form', novalidate: true, 'aria-labelledby': 'new-bot-heading' },
    h('h2', { id: 'new-bot-heading' }, t('admin.integrations.new_bot')),
    kinds,
    field(t, 'bot', 'name', h('input', { id: 'bot-name', name: 'name', required: true, maxlength: 200 })),
    url, instructions,
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('admin.integrations.create_bot'))));
  // Only the chosen kind's field shows (and is sent).
  const choose = () => {
    const assistant = form.elements.kind.value === 'assistant';
    url.hidden = assistant;
    instructions.hidden = !assistant;
  };
  form.addEventListener('change', (e) => { if (e.target.name === 'kind') choose(); });
  // A reset puts the radios back to "webhook" after its event, hence the next task.
  form.addEventListener('reset', () => setTimeout(choose));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onCreate(form);
  });
  choose();
  return form;
}

function webhookForm(t, onCreate) {
  const form = h('form', { class: 'card grid-form', novalidate: true, 'aria-labelledby': 'new-webhook-heading' },
    h('h2', { id: 'new-webhook-heading' }, t('admin.integrations.new_webhook')),
    field(t, 'webhook', 'url', h('input', { id: 'webhook-url', name: 'url', type: 'url', inputmode: 'url', placeholder: 'http://', required: true }),
      t('admin.integrations.webhook_url.hint')),
    h('fieldset', { class: 'field events', 'data-field': 'events' },
      h('legend', {}, t('admin.integrations.events')),
      h('div', { class: 'checks' }, EVENTS.map((ev) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'events', value: ev, checked: ev === 'message_created' }),
        t(`admin.integrations.event.${ev}`), h('code', { class: 'muted' }, ev))))),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'primary' }, t('admin.integrations.create_webhook'))));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    onCreate(form);
  });
  return form;
}

function table(caption, headers, tbody, t) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
    h('caption', { class: 'visually-hidden' }, caption),
    h('thead', {}, h('tr', {}, headers.map((k) => h('th', { scope: 'col' }, t(`admin.integrations.${k}`))))),
    tbody));
}

export async function mount({ root, api, t, fmt }) {
  const log = deliveryLog({ api, t, fmt });
  const bots = h('tbody', { id: 'bots' });
  const webhooks = h('tbody', { id: 'webhooks' });
  const noBots = h('p', { class: 'muted', hidden: true }, t('admin.integrations.no_bots'));
  const noWebhooks = h('p', { class: 'muted', hidden: true }, t('admin.integrations.no_webhooks'));
  const created = (at) => fmt.full(new Date(at));

  /** The row's buttons: its delivery log when it has a webhook (`base`), and delete. */
  const actions = (label, remove, base) => h('td', { class: 'actions' },
    base ? h('button', {
      class: 'secondary small', 'aria-label': t('admin.integrations.deliveries_of', { name: label }),
      onclick: () => log.open({ base, name: label }).catch((err) => announce(err.message)),
    }, t('admin.integrations.deliveries')) : null,
    h('button', { class: 'danger small', 'aria-label': t('admin.integrations.delete_of', { name: label }), onclick: remove },
      t('admin.integrations.delete')));

  async function removeEndpoint(base, message, done) {
    if (!(await confirmDialog(t, { message, confirm: t('admin.integrations.delete') }))) return;
    try {
      await api.request('DELETE', base);
      log.forget(base);
      announce(done);
      await load();
    } catch (err) {
      announce(err.message);
    }
  }

  function botRow(b) {
    const base = `/api/admin/bots/${b.id}/`;
    const kind = botKind(b);
    const remove = () => removeEndpoint(base, t('admin.integrations.delete_bot_confirm', { name: b.name }),
      t('admin.integrations.bot_deleted', { name: b.name }));
    return h('tr', { dataset: { bot: b.name } },
      h('th', { scope: 'row' }, b.name),
      h('td', {}, h('span', { class: 'badge off' }, t(`admin.integrations.kind.${kind}`))),
      h('td', { class: 'url' }, b.webhook_url || '—'),
      h('td', {}, created(b.created_at)),
      // An assistant has no webhook, so no delivery log.
      actions(b.name, remove, kind === 'webhook' ? base : null));
  }

  function webhookRow(w) {
    const base = `/api/admin/webhooks/${w.id}/`;
    const remove = () => removeEndpoint(base, t('admin.integrations.delete_webhook_confirm', { url: w.url }),
      t('admin.integrations.webhook_deleted', { url: w.url }));
    return h('tr', { dataset: { webhook: w.url } },
      h('th', { scope: 'row', class: 'url' }, w.url),
      h('td', {}, h('ul', { class: 'tags' }, w.events.map((ev) => h('li', {}, h('code', {}, ev))))),
      h('td', {}, created(w.created_at)),
      actions(w.url, remove, base));
  }

  async function load() {
    const [b, w] = await Promise.all([api.get('/api/admin/bots/'), api.get('/api/admin/webhooks/')]);
    bots.replaceChildren(...b.map(botRow));
    webhooks.replaceChildren(...w.map(webhookRow));
    noBots.hidden = b.length > 0;
    noWebhooks.hidden = w.length > 0;
  }

  async function createBot(form) {
    clearFieldErrors(form);
    const data = Object.fromEntries(new FormData(form));
    try {
      const bot = await api.post('/api/admin/bots/', botBody(data));
      form.reset();
      load().catch((err) => announce(err.message));
      announce(t('admin.integrations.bot_created', { name: bot.name }));
      const values = [{ label: t('admin.integrations.token'), value: bot.token }];
      if (bot.secret) values.push({ label: t('admin.integrations.secret'), value: bot.secret });
      await showOnce(t, { title: t('admin.integrations.bot_credentials', { name: bot.name }), values });
    } catch (err) {
      showFormError(form, err);
    }
  }

  async function createWebhook(form) {
    clearFieldErrors(form);
    const data = new FormData(form);
    try {
      const hook = await api.post('/api/admin/webhooks/', { url: String(data.get('url')).trim(), events: data.getAll('events') });
      form.reset();
      load().catch((err) => announce(err.message));
      announce(t('admin.integrations.webhook_created', { url: hook.url }));
      await showOnce(t, {
        title: t('admin.integrations.webhook_credentials', { url: hook.url }),
        values: [{ label: t('admin.integrations.secret'), value: hook.secret }],
      });
    } catch (err) {
      showFormError(form, err);
    }
  }

  root.replaceChildren(
    h('section', { class: 'stack', 'aria-labelledby': 'bots-heading' },
      h('h2', { id: 'bots-heading' }, t('admin.integrations.bots')),
      h('p', { class: 'hint' }, t('admin.integrations.bots.hint')),
      table(t('admin.integrations.bots'), ['name', 'kind', 'webhook_url', 'created', 'actions'], bots, t),
      noBots, botForm(t, createBot)),
    h('section', { class: 'stack', 'aria-labelledby': 'webhooks-heading' },
      h('h2', { id: 'webhooks-heading' }, t('admin.integrations.webhooks')),
      h('p', { class: 'hint' }, t('admin.integrations.webhooks.hint')),
      table(t('admin.integrations.webhooks'), ['url', 'events', 'created', 'actions'], webhooks, t),
      noWebhooks, webhookForm(t, createWebhook)),
    log.panel);
  await load();
}
