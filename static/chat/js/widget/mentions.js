// Mentions, the DOM-free part: the `@` word being typed at the caret, the participants it
// matches (start of any name part, ignoring case and accents), putting the chosen name in
// the text, which of the chosen people the text still names when it is sent, and a
// message's text cut into plain and `@Name` pieces for highlighting.

/** Lower case without accents: `Álvaro` matches `alv`. */
export const fold = (s) => String(s || '').normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();

/**
 * The mention being typed: `{start, query}` when the caret follows `@` + letters at the
 * start of the text or after white space or an opening bracket, else null.
 */
export function mentionAt(text, caret) {
  const before = String(text || '').slice(0, caret);
  const m = /(^|[\s([{"'])@([^\s@]{0,40})$/u.exec(before);
  if (!m) return null;
  return { start: before.length - m[2].length - 1, query: m[2] };
}

/** The people (`[{id, name}]`) a query matches, best first: name start, then a later word. */
export function matchPeople(people, query, { exclude = null, max = 8 } = {}) {
  const q = fold(query);
  const scored = [];
  for (const p of people || []) {
    if (!p || !p.id || !p.name || String(p.id) === String(exclude)) continue;
    const name = fold(p.name);
    let score = -1;
    if (name.startsWith(q)) score = 0;
    else if (name.split(/\s+/).some((w) => w.startsWith(q))) score = 1;
    if (score >= 0) scored.push({ p, score });
  }
  scored.sort((a, b) => a.score - b.score || a.p.name.localeCompare(b.p.name));
  return scored.slice(0, max).map((x) => x.p);
}

/** The text with the `@query` at `start`…`caret` replaced by `@Name `; and the new caret. */
export function insertMention(text, start, caret, name) {
  const inserted = `@${name} `;
  const after = text.slice(caret).replace(/^ /, '');
  return { text: text.slice(0, start) + inserted + after, caret: start + inserted.length };
}

/** The ids of the chosen people (`[{id, name}]`) whose `@Name` is still in the text. */
export function mentionedIds(text, chosen) {
  const ids = [];
  for (const p of chosen || []) {
    if (String(text).includes(`@${p.name}`) && !ids.includes(String(p.id))) ids.push(String(p.id));
  }
  return ids;
}

/**
 * A message's text as `[{text}, {text, userId}]`: each `@Name` of a mentioned person
 * (`people`: `[{id, name}]` of the message's `mentions`) is its own piece; longer names
 * first, so `@Ana Maria` wins over `@Ana`.
 */
export function mentionPieces(text, people) {
  const names = (people || []).filter((p) => p && p.name).sort((a, b) => b.name.length - a.name.length);
  const out = [];
  let plain = '';
  const s = String(text || '');
  for (let i = 0; i < s.length;) {
    const hit = s[i] === '@' ? names.find((p) => s.startsWith(p.name, i + 1)) : null;
    if (hit) {
      if (plain) out.push({ text: plain });
      plain = '';
      out.push({ text: `@${hit.name}`, userId: String(hit.id) });
      i += hit.name.length + 1;
    } else {
      plain += s[i];
      i += 1;
    }
  }
  if (plain) out.push({ text: plain });
  return out;
}
