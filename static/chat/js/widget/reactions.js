// Reactions, the DOM-free part: the emoji the picker offers, a message's reactions after
// someone adds or removes one (the `reaction` event, or our own click before the server
// answers), and our own marks kept across `message_updated` (whose copy, shared by every
// reader, always says `me: false`).

/** The picker's fixed set: common, one grapheme each (the server accepts any one emoji). */
export const REACTION_CHOICES = ['👍', '❤️', '😂', '🎉', '😮', '😢', '🙏', '👀'];

/**
 * `reactions` after `emoji` was added (`added`) or removed by someone — us when `mine`.
 * Our own change is idempotent (a click and then its event count once); someone else's
 * event is a real change (the server sends none for a repeat).
 */
export function applyReaction(reactions, emoji, added, mine) {
  const list = Array.isArray(reactions) ? reactions : [];
  const i = list.findIndex((r) => r.emoji === emoji);
  const cur = i >= 0 ? list[i] : { emoji, count: 0, me: false };
  if (mine && cur.me === added) return list;
  const next = { ...cur, count: Math.max(0, cur.count + (added ? 1 : -1)), me: mine ? added : cur.me };
  if (next.count === 0) return list.filter((_, j) => j !== i);
  return i >= 0 ? list.map((r, j) => (j === i ? next : r)) : list.concat(next);
}

/** An event's copy of a message with our own `me` marks from the copy we held. */
export function withOwnReactions(held, fresh) {
  if (!fresh || !Array.isArray(fresh.reactions)) return fresh;
  const mine = new Set(((held && held.reactions) || []).filter((r) => r.me).map((r) => r.emoji));
  return { ...fresh, reactions: fresh.reactions.map((r) => (mine.has(r.emoji) ? { ...r, me: true } : r)) };
}

/** What a message's reactions look like, for its rendering version. */
export const reactionsKey = (m) => (m.reactions || []).map((r) => `${r.emoji}${r.count}${r.me ? '*' : ''}`).join(',');
