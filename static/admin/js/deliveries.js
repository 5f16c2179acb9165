// The delivery log of one bot or tenant webhook: filter by status, page through (the
// API gives no total, so one row more than a page is asked for to know whether there is
// a next page), and retry a delivery; the retried row then follows the engine until its
// new attempt has an outcome.
import { announce, h, options, query } from './dom.js';

const PAGE = 20;
export const STATUSES = ['pending', 'delivered', 'failed'];
/** How often, and how many times, a retried delivery is re-read while it is pending. */
const FOLLOW_MS = 1000;
const FOLLOW_TRIES = 30;

/** What the last attempt said: its HTTP status, else the engine's error, else nothing yet. */
export function lastAnswer(d) {
  if (d.last_error) return d.last_error;
  if (d.last_status !== null && d.last_status !== undefined) return `HTTP ${d.last_status}`;
  return '';
}

/**
 * The log panel. `open({base, name})` shows the deliveries of the endpoint whose API
 * path is `base` (`/api/admin/bots/{id}/`), titled by `name`; `close()` hides it.
 */
export function deliveryLog({ api, t, fmt }) {
  const state = { base: null, offset: 0, rows: [], following: null };
  const heading = h('h2', { id: 'deliveries-heading', tabindex: -1 });
  const status = h('select', { id: 'deliveries-status', onchange: () => show(0) },
    options([['', t('admin.all')], ...STATUSES.map((s) => [s, t(`admin.deliveries.status.${s}`)])]));
  const tbody = h('tbody');
  const empty = h('p', { class: 'muted', id: 'deliveries-empty', hidden: true }, t('admin.deliveries.none'));
  const prev = h('button', { class: 'secondary', onclick: () => show(state.offset - PAGE) }, t('admin.previous'));
  const next = h('button', { class: 'secondary', onclick: () => show(state.offset + PAGE) }, t('admin.next'));
  const panel = h('section', { class: 'card stack', id: 'delivery-log', 'aria-labelledby': 'deliveries-heading', hidden: true },
    heading,
    h('div', { class: 'toolbar' },
      h('label', {}, t('admin.deliveries.status'), status),
      h('button', { type: 'button', class: 'secondary', id: 'deliveries-refresh', onclick: () => show(state.offset) }, t('admin.deliveries.refresh')),
      h('button', { type: 'button', class: 'secondary', onclick: () => close() }, t('admin.deliveries.close'))),
    h('div', { class: 'table-wrap' }, h('table', { class: 'data' },
      h('caption', { class: 'visually-hidden' }, heading.textContent),
      h('thead', {}, h('tr', {}, ['event', 'status', 'attempts', 'last', 'next', 'created', 'delivered', 'actions']
        .map((k) => h('th', { scope: 'col' }, t(`admin.deliveries.${k}`))))),
      tbody)),
    empty,
    h('div', { class: 'pager' }, prev, next));

  const when = (at) => (at ? fmt.full(new Date(at)) : '—');

  function row(d) {
    return h('tr', { dataset: { delivery: d.id, status: d.status } },
      h('td', {}, h('code', {}, d.event)),
      h('td', {}, h('span', { class: `badge ${d.status}` }, t(`admin.deliveries.status.${d.status}`))),
      h('td', { class: 'attempts' }, String(d.attempts)),
      h('td', { class: 'last' }, lastAnswer(d) || '—'),
      h('td', {}, when(d.next_attempt_at)),
      h('td', {}, when(d.created_at)),
      h('td', {}, when(d.delivered_at)),
      h('td', {}, h('button', {
        class: 'secondary small',
        'aria-label': t('admin.deliveries.retry_of', { event: d.event, time: when(d.created_at) }),
        onclick: () => retry(d),
      }, t('admin.deliveries.retry'))));
  }

  function render() {
    tbody.replaceChildren(...state.rows.map(row));
    empty.hidden = state.rows.length > 0;
  }

  async function load() {
    const base = state.base;
    const page = await api.get(`${base}deliveries/${query({ status: status.value, limit: PAGE + 1, offset: state.offset })}`);
    if (base !== state.base) return; // another endpoint was opened meanwhile
    state.rows = page.slice(0, PAGE);
    prev.disabled = state.offset === 0;
    next.disabled = page.length <= PAGE;
    render();
  }

  /** Shows the page that starts at `offset`. */
  function show(offset) {
    state.offset = Math.max(0, offset);
    load().catch((err) => announce(err.message));
  }

  /** Re-reads the page until delivery `id` is no longer pending (or is off the page). */
  function follow(id, tries = FOLLOW_TRIES) {
    clearTimeout(state.following);
    if (tries === 0) return;
    state.following = setTimeout(async () => {
      try {
        await load();
      } catch (err) {
        announce(err.message);
        return;
      }
      const d = state.rows.find((r) => r.id === id);
      if (d && d.status === 'pending') follow(id, tries - 1);
      else if (d) announce(t(`admin.deliveries.now.${d.status}`, { event: d.event }));
    }, FOLLOW_MS);
  }

  async function retry(d) {
    try {
      const retried = await api.post(`${state.base}deliveries/${d.id}/retry/`);
      state.rows = state.rows.map((r) => (r.id === retried.id ? retried : r));
      render();
      announce(t('admin.deliveries.retried', { event: d.event }));
      follow(retried.id);
    } catch (err) {
      announce(err.message);
    }
  }

  async function open({ base, name }) {
    clearTimeout(state.following);
    Object.assign(state, { base, offset: 0, rows: [] });
    heading.textContent = t('admin.deliveries.heading', { name });
    panel.querySelector('caption').textContent = heading.textContent;
    status.value = '';
    render();
    panel.hidden = false;
    heading.focus();
    await load();
  }

  function close() {
    clearTimeout(state.following);
    state.base = null;
    panel.hidden = true;
  }

  /** Hides the log if it shows the endpoint at `base` (which was just deleted). */
  function forget(base) {
    if (state.base === base) close();
  }

  return { panel, open, close, forget };
}
