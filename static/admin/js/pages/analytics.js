// Analytics: the tenant's usage as charts drawn by the page — messages per day over
// the last 30 days, active users among all users, and conversations beside messages.
import { barChart, rowChart } from '../chart.js';
import { h } from '../dom.js';

function kpi(label, value) {
  return h('div', { class: 'card kpi' }, h('span', { class: 'kpi-label' }, label), h('span', { class: 'kpi-value' }, value));
}

function chartCard(id, title, chart) {
  return h('figure', { class: 'card', id }, h('figcaption', {}, h('h2', {}, title)), chart);
}

export async function mount({ root, api, t, fmt }) {
  const a = await api.get('/api/admin/analytics/');
  const number = new Intl.NumberFormat(fmt.locale);
  const day = new Intl.DateTimeFormat(fmt.locale, { day: 'numeric', month: 'short', timeZone: 'UTC' });
  const points = a.messages_per_day.map((d) => {
    const label = day.format(new Date(`${d.day}T00:00:00Z`));
    return { label, value: d.messages, title: t('admin.analytics.day', { day: label, count: d.messages }) };
  });
  root.replaceChildren(
    h('section', { class: 'kpis', 'aria-label': t('admin.analytics.totals') },
      kpi(t('admin.analytics.users'), number.format(a.users)),
      kpi(t('admin.analytics.active_users'), number.format(a.active_users_7d)),
      kpi(t('admin.analytics.conversations'), number.format(a.conversations)),
      kpi(t('admin.analytics.messages'), number.format(a.messages))),
    chartCard('chart-messages', t('admin.analytics.messages_per_day'),
      barChart({ label: t('admin.analytics.messages_per_day'), points, format: (v) => number.format(v), labelEvery: 5 })),
    h('div', { class: 'charts' },
      chartCard('chart-active', t('admin.analytics.active_users'), rowChart({
        label: t('admin.analytics.active_users'),
        format: (v) => number.format(v),
        items: [
          { label: t('admin.analytics.active_users'), value: a.active_users_7d },
          { label: t('admin.analytics.users'), value: a.users },
        ],
      })),
      chartCard('chart-conversations', t('admin.analytics.conversations'), rowChart({
        label: t('admin.analytics.conversations'),
        format: (v) => number.format(v),
        items: [
          { label: t('admin.analytics.conversations'), value: a.conversations },
          { label: t('admin.analytics.per_conversation'), value: a.conversations ? Math.round(a.messages / a.conversations) : 0 },
        ],
      }))));
}
