// Strings for the browser side, ONLY from static/chat/i18n/<locale>.json: the page may
// hand them over (window.CHAT_I18N, rendered by the server), else they are fetched. No
// English lives in code: a missing key shows as the key, which a test catches.
// Generic (no widget knowledge), so other pages can use it too.

export const LOCALES = ['en', 'es', 'pt-BR'];

/** The supported locale a language tag falls under (any Portuguese is Brazilian here). */
export function pickLocale(tag) {
  const primary = String(tag || '').split(/[-_]/)[0].toLowerCase();
  if (primary === 'es') return 'es';
  if (primary === 'pt') return 'pt-BR';
  return 'en';
}

/**
 * The strings to use: `given` when it holds strings (not just a locale), else the JSON
 * files under `baseUrl` (English first, the locale's own on top, so gaps fall back).
 */
export async function loadStrings({ given, lang, baseUrl, fetchJson }) {
  if (given && typeof given === 'object' && Object.keys(given).some((k) => k !== 'locale')) return given;
  const locale = pickLocale((given && given.locale) || lang);
  const strings = {};
  for (const name of locale === 'en' ? ['en'] : ['en', locale]) {
    try {
      Object.assign(strings, await fetchJson(new URL(`${name}.json`, baseUrl).href));
    } catch (_) { /* keys show as themselves: visible, not fatal */ }
  }
  strings.locale = locale;
  return strings;
}

/**
 * t(key, params): the string with {name} placeholders filled. With a numeric
 * params.count, a plural form `<key>.<category>` (Intl.PluralRules: one, few, many,
 * other, …) wins over the plain key when the file has it.
 */
export function createTranslator(strings, locale = strings.locale || 'en') {
  let rules = null;
  try { rules = new Intl.PluralRules(locale); } catch (_) { rules = new Intl.PluralRules('en'); }
  const has = (k) => Object.prototype.hasOwnProperty.call(strings, k) && typeof strings[k] === 'string';
  return function t(key, params) {
    let k = key;
    if (params && typeof params.count === 'number') {
      const plural = `${key}.${rules.select(params.count)}`;
      if (has(plural)) k = plural;
    }
    let s = has(k) ? strings[k] : key;
    if (params) s = s.replace(/\{(\w+)\}/g, (m, p) => (p in params ? String(params[p]) : m));
    return s;
  };
}

/** Dates, times and sizes in the page's language. */
export function createFormatters(locale) {
  const fmt = (opts) => {
    try { return new Intl.DateTimeFormat(locale, opts); } catch (_) { return new Intl.DateTimeFormat('en', opts); }
  };
  const time = fmt({ hour: '2-digit', minute: '2-digit' });
  const weekday = fmt({ weekday: 'short' });
  const shortDate = fmt({ day: 'numeric', month: 'short' });
  const longDate = fmt({ weekday: 'long', day: 'numeric', month: 'long', year: 'numeric' });
  const full = fmt({ dateStyle: 'medium', timeStyle: 'short' });
  const valid = (d) => !Number.isNaN(d.getTime());
  const sameDay = (a, b) => a.getFullYear() === b.getFullYear() && a.getMonth() === b.getMonth() && a.getDate() === b.getDate();

  function size(bytes) {
    const n = Number(bytes) || 0;
    for (const [unit, factor] of [['gigabyte', 1e9], ['megabyte', 1e6], ['kilobyte', 1e3]]) {
      if (n >= factor) return new Intl.NumberFormat(locale, { style: 'unit', unit, maximumFractionDigits: 1 }).format(n / factor);
    }
    return new Intl.NumberFormat(locale, { style: 'unit', unit: 'byte', unitDisplay: 'long' }).format(n);
  }

  return {
    locale,
    time: (d) => (valid(d) ? time.format(d) : ''),
    full: (d) => (valid(d) ? full.format(d) : ''),
    sameDay,
    /** A list's time column: the time today, the weekday this week, else the date. */
    listTime(iso, now = new Date()) {
      const d = new Date(iso);
      if (!valid(d)) return '';
      if (sameDay(d, now)) return time.format(d);
      if (now - d < 6 * 864e5) return weekday.format(d);
      return shortDate.format(d);
    },
    longDate: (d) => longDate.format(d),
    size,
    compare: (a, b) => String(a).localeCompare(String(b), locale),
  };
}
