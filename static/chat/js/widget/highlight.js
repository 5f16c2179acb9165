// Search results, the DOM-free part: the server's `highlight` (HTML-escaped text with
// `<mark>` around the matching words) read as plain segments, so the view builds text
// nodes and <mark> elements and never parses untrusted text as HTML; and the results
// grouped by conversation, in the order the server ranked them.

const ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0' };

/** `&amp;`, `&#39;`, `&#x27;`… back to characters; an unknown entity stays as written. */
export function decodeEntities(text) {
  return text.replace(/&(#x[0-9a-f]+|#[0-9]+|[a-z]+);/gi, (whole, name) => {
    if (name[0] === '#') {
      const code = name[1] === 'x' || name[1] === 'X' ? parseInt(name.slice(2), 16) : parseInt(name.slice(1), 10);
      return code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff) ? String.fromCodePoint(code) : whole;
    }
    return Object.prototype.hasOwnProperty.call(ENTITIES, name.toLowerCase()) ? ENTITIES[name.toLowerCase()] : whole;
  });
}

/**
 * The highlight as `[{text, mark}]`: `<mark>` and `</mark>` switch marking on and off;
 * any other tag-like text is kept as text (the API escapes everything else, so there
 * should be none). Adjacent pieces of the same kind are joined; empty ones dropped.
 */
export function parseHighlight(html) {
  const out = [];
  let mark = false;
  const push = (raw) => {
    const text = decodeEntities(raw);
    if (!text) return;
    const last = out[out.length - 1];
    if (last && last.mark === mark) last.text += text;
    else out.push({ text, mark });
  };
  let last = 0;
  for (const m of String(html || '').matchAll(/<(\/?)mark>/gi)) {
    push(String(html).slice(last, m.index));
    mark = m[1] !== '/';
    last = m.index + m[0].length;
  }
  push(String(html || '').slice(last));
  return out;
}

/** `[{conversation, results}]`: one group per conversation, groups in order of their best result. */
export function groupResults(results) {
  const groups = new Map();
  for (const r of results || []) {
    const conv = r && r.conversation;
    if (!conv || !conv.id || !r.message) continue;
    if (!groups.has(conv.id)) groups.set(conv.id, { conversation: conv, results: [] });
    groups.get(conv.id).results.push(r);
  }
  return [...groups.values()];
}
