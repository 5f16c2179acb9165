// The open conversation's messages: keyed reconciliation (existing elements and their
// loaded images stay; new ones go in seq order, with day separators), ticks for our own
// messages, retry/discard for failed sends, and the scroll position: stuck to the bottom
// when the reader is there, kept in place when older history arrives above. System
// messages are centred lines in the user's language; replies quote their original;
// edited and deleted messages say so; a group shows who has seen the user's last message.
// Mentions stand out (the user's own more); reactions sit under their message; a search
// result opens with its message in view, highlighted, and newer history on request.

import { canReact, isGroup, lastOwnMessage, membersOf, seenBy, systemText } from '../live.js';
import { mentionPieces } from '../mentions.js';
import { conversationOf, isMine, messageVersion, threadItems, threadOf } from '../store.js';
import { h, icons } from './dom.js';
import { createMessageMenu } from './message-menu.js';
import { createReactionsView } from './reactions.js';

const SEEN_NAMES_MAX = 3; // more names than this: a count, the names on demand

const NEAR_BOTTOM_PX = 80;
const LOAD_OLDER_AT_PX = 60;
const URL_RE = /\bhttps?:\/\/[^\s<>"']+[^\s<>"'.,;:!?)\]]/g;
const TICKS = { pending: '🕓', failed: '!', sent: '✓', delivered: '✓✓', read: '✓✓' };

const dayKey = (iso) => {
  const d = iso ? new Date(iso) : new Date();
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
};

export function createMessagesView(ctx) {
  const { t, fmt, api, pick, composer, sync } = ctx;
  const loadOlderBtn = h('button', { type: 'button', class: 'tc-load-older', hidden: true, text: t('messages.loadOlder') });
  const beginning = h('p', { class: 'tc-beginning', hidden: true, text: t('messages.beginning') });
  const list = h('ol', { class: 'tc-message-list' });
  const empty = h('p', { class: 'tc-empty tc-empty-messages', hidden: true, text: t('messages.empty') });
  const loadNewerBtn = h('button', { type: 'button', class: 'tc-load-older tc-load-newer', hidden: true, text: t('messages.loadNewer') });
  const container = pick('widgetMessageContainer', () => h('div', { id: 'widgetMessageContainer' }));
  container.classList.add('tc-messages');
  container.setAttribute('role', 'log');
  container.setAttribute('aria-live', 'polite');
  container.setAttribute('aria-relevant', 'additions');
  container.setAttribute('aria-label', t('messages.label'));
  if (!container.hasAttribute('tabindex')) container.tabIndex = 0;
  container.append(loadOlderBtn, beginning, empty, list, loadNewerBtn);
  const reactions = createReactionsView(ctx, list, (el) => (el && el.dataset.id && lastState
    ? threadOf(lastState, lastState.openConversationId).byId[el.dataset.id] : null));
  const menu = createMessageMenu(ctx, list, (el) => reactions.openFor(el));
  const seenOpen = new Set(); // messages whose full "seen by" list is shown

  loadOlderBtn.addEventListener('click', () => sync.loadOlder());
  loadNewerBtn.addEventListener('click', () => sync.loadNewer());
  container.addEventListener('scroll', () => {
    if (container.scrollTop < LOAD_OLDER_AT_PX) sync.loadOlder();
  }, { passive: true });
  list.addEventListener('click', (e) => {
    const retry = e.target.closest('[data-retry]');
    const discard = e.target.closest('[data-discard]');
    const quote = e.target.closest('[data-reply-to]');
    const seen = e.target.closest('[data-seen]');
    if (retry) composer.retry(retry.dataset.retry);
    else if (discard) composer.discard(discard.dataset.discard);
    else if (quote) showOriginal(quote.dataset.replyTo);
    else if (seen) {
      if (seenOpen.has(seen.dataset.seen)) seenOpen.delete(seen.dataset.seen); else seenOpen.add(seen.dataset.seen);
      if (lastState) render(lastState, { stick: false });
    }
  });

  /** A reply's quote was clicked: the original, when it is loaded, scrolls into view. */
  function showOriginal(id, cls = 'tc-msg--flash') {
    const el = list.querySelector(`.tc-msg[data-id="${CSS.escape(id)}"]`);
    if (!el) return false;
    el.scrollIntoView({ block: 'center' });
    el.classList.add(cls);
    if (cls === 'tc-msg--flash') setTimeout(() => el.classList.remove(cls), 1500);
    el.tabIndex = 0;
    el.focus({ preventScroll: true });
    return true;
  }

  /** Text with links, and each `@Name` of the people the message mentions highlighted. */
  function messageText(state, m) {
    const people = (m.mentions || []).map((id) => ({ id, name: nameOf(state)(id) }));
    return mentionPieces(m.content, people).flatMap((p) => (p.userId
      ? h('span', { class: `tc-mention${p.userId === state.me ? ' tc-mention--me' : ''}`, text: p.text })
      : textWithLinks(p.text)));
  }

  function dayHeading(iso) {
    const d = new Date(iso);
    const now = new Date();
    if (fmt.sameDay(d, now)) return t('messages.today');
    if (fmt.sameDay(d, new Date(now.getFullYear(), now.getMonth(), now.getDate() - 1))) return t('messages.yesterday');
    return fmt.longDate(d);
  }

  function textWithLinks(text) {
    const out = [];
    let last = 0;
    for (const match of text.matchAll(URL_RE)) {
      if (match.index > last) out.push(document.createTextNode(text.slice(last, match.index)));
      const href = api.safeUrl(match[0]);
      out.push(href === '#' ? document.createTextNode(match[0])
        : h('a', { href, target: '_blank', rel: 'noopener noreferrer nofollow', text: match[0] }));
      last = match.index + match[0].length;
    }
    if (last < text.length) out.push(document.createTextNode(text.slice(last)));
    return out;
  }

  function attachment(a) {
    if (!a) return null;
    const name = a.filename || '';
    if (a.deleted) {
      return h('span', { class: 'tc-chip tc-chip--deleted' }, icons.file(),
        h('s', { class: 'tc-chip-name', text: name }), h('span', { class: 'tc-chip-note', text: t('attachment.removed') }));
    }
    if (a.local) {
      return h('span', { class: 'tc-chip tc-chip--local' }, icons.file(),
        h('span', { class: 'tc-chip-name', text: name }), h('span', { class: 'tc-chip-size', text: fmt.size(a.size) }));
    }
    const w = Number(a.width);
    const ht = Number(a.height);
    if (w > 0 && ht > 0 && (a.thumbnail_url || /^image\//.test(a.content_type || ''))) {
      // Width and height reserve the space before the picture loads: no jump.
      const scale = Math.min(1, 240 / w, 200 / ht);
      const img = h('img', {
        class: 'tc-att-img', src: api.safeUrl(a.thumbnail_url || a.url), alt: name,
        width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(ht * scale)), decoding: 'async',
      });
      return h('a', { class: 'tc-att-image', href: api.safeUrl(a.url), target: '_blank', rel: 'noopener', title: name, 'aria-label': t('attachment.image', { filename: name }) }, img);
    }
    return h('a', { class: 'tc-chip', href: api.safeUrl(a.url), download: name, 'aria-label': t('attachment.download', { filename: name }) },
      icons.file(), h('span', { class: 'tc-chip-name', text: name }), h('span', { class: 'tc-chip-size', text: fmt.size(a.size) }));
  }

  const nameOf = (state) => (id) => {
    const u = state.users.find((x) => String(x.id) === String(id))
      || (membersOf(state, state.openConversationId) || []).find((x) => String(x.id) === String(id));
    return u ? u.name : null;
  };

  function systemMessage(state, m) {
    return h('li', { class: 'tc-msg tc-msg--system', 'data-id': m.id, 'data-seq': m.seq, 'data-event': (m.metadata && m.metadata.event) || null },
      h('p', { class: 'tc-system-text', text: systemText(t, state, m, nameOf(state)) }));
  }

  function quote(r) {
    return h('button', {
      type: 'button', class: 'tc-reply-quote', 'data-reply-to': r.id, 'aria-label': t('action.showOriginal', { name: r.sender_name || '' }),
    }, h('span', { class: 'tc-reply-name', text: r.sender_name || '' }), h('span', { class: 'tc-reply-excerpt', text: r.excerpt || t('message.deleted') }));
  }

  function seenLine(state, m, people) {
    const names = people.map((p) => p.name);
    const open = seenOpen.has(m.id);
    const text = names.length <= SEEN_NAMES_MAX ? t('seen.by', { names: names.join(', ') }) : t('seen.count', { count: names.length });
    return h('li', { class: 'tc-seen', 'data-seen-for': m.id },
      h('button', { type: 'button', class: 'tc-link-btn tc-seen-btn', 'data-seen': m.id, 'aria-expanded': String(open), text }),
      open ? h('ul', { class: 'tc-seen-list', 'aria-label': t('seen.list') }, names.map((n) => h('li', { text: n }))) : null);
  }

  function message(state, m, conv) {
    if (m.kind === 'system') return systemMessage(state, m);
    const own = isMine(state, m);
    const pending = !m.id;
    const status = pending ? (m.state === 'failed' ? 'failed' : 'pending') : (m.status || 'sent');
    const li = h('li', {
      class: `tc-msg ${own ? 'tc-msg--own' : 'tc-msg--other'}${pending ? ' tc-msg--pending' : ''}${status === 'failed' ? ' tc-msg--failed' : ''}`,
      'data-id': m.id || null, 'data-seq': m.seq || null, 'data-client-id': m.client_id || null, 'data-status': own ? status : null,
    });
    if (!own && conv && conv.is_group) li.append(h('span', { class: 'tc-msg-sender', text: m.sender_name || '' }));
    // A bot's answer says so, in 1-to-1 conversations too.
    if (m.kind === 'bot') li.append(h('span', { class: 'tc-bot-badge', text: t('message.bot') }));
    const bubble = h('div', { class: 'tc-bubble' });
    if (m.reply_to && !m.deleted) bubble.append(quote(m.reply_to));
    if (m.deleted) {
      li.classList.add('tc-msg--deleted');
      bubble.append(h('p', { class: 'tc-msg-deleted', text: t('message.deleted') }));
    } else if (m.content) bubble.append(h('p', { class: 'tc-msg-text' }, messageText(state, m)));
    if (!m.deleted && (m.mentions || []).map(String).includes(state.me)) li.classList.add('tc-msg--mentions-me');
    const atts = m.deleted ? [] : (m.attachments || []).map(attachment).filter(Boolean);
    if (atts.length) bubble.append(h('div', { class: 'tc-attachments' }, atts));
    li.append(bubble);
    const bar = pending || m.deleted ? null : reactions.bar(m, canReact(state, conv, m));
    if (bar) li.append(bar);
    let when = m.created_at ? new Date(m.created_at) : new Date();
    if (Number.isNaN(when.getTime())) when = new Date();
    const meta = h('div', { class: 'tc-msg-meta' }, h('time', { datetime: when.toISOString(), title: fmt.full(when), text: fmt.time(when) }));
    if (m.is_edited && !m.deleted) meta.append(h('span', { class: 'tc-edited', text: t('message.edited'), title: m.edited_at ? fmt.full(new Date(m.edited_at)) : null }));
    if (own) {
      const label = t(`message.status.${status}`);
      meta.append(h('span', { class: `tc-ticks tc-ticks--${status}`, role: 'img', 'aria-label': label, title: label, text: TICKS[status] || '' }));
    }
    if (status === 'failed') {
      meta.append(
        h('button', { type: 'button', class: 'tc-link-btn', 'data-retry': m.client_id, text: t('message.retry') }),
        h('button', { type: 'button', class: 'tc-link-btn', 'data-discard': m.client_id, text: t('message.discard') }));
    }
    li.append(meta);
    menu.decorate(state, li, m);
    return li;
  }

  const nearBottom = () => container.scrollHeight - container.scrollTop - container.clientHeight < NEAR_BOTTOM_PX;
  const scrollToBottom = () => { container.scrollTop = container.scrollHeight; };

  let shownId = null;
  let shownLowest = null;
  let lastState = null;
  let shownJump = null; // the search result last brought into view
  function render(state, { stick }) {
    lastState = state;
    const id = state.openConversationId;
    container.hidden = !conversationOf(state, id);
    if (id !== shownId) {
      list.replaceChildren();
      shownLowest = null;
    }
    shownId = id;
    if (!id) return;
    const thread = threadOf(state, id);
    const conv = conversationOf(state, id);
    // Loaded around a search result: the reader stays where it is as newer pages arrive.
    const stay = stick || (nearBottom() && !thread.newerMissing);
    const olderArrived = shownLowest != null && thread.lowestSeq != null && thread.lowestSeq < shownLowest;
    shownLowest = thread.lowestSeq;
    const fromBottom = container.scrollHeight - container.scrollTop;

    const wanted = [];
    let lastDay = null;
    const items = threadItems(state, id);
    const lastOwn = isGroup(conv) ? lastOwnMessage(state, items) : null;
    const seen = lastOwn ? seenBy(state, id, lastOwn) : [];
    for (const m of items) {
      const day = dayKey(m.created_at);
      if (day !== lastDay) {
        wanted.push({ key: `d:${day}`, ver: dayHeading(m.created_at) });
        lastDay = day;
      }
      // A message's actions depend on the user's role and the conversation's membership.
      wanted.push({ key: m.id ? `m:${m.id}` : `p:${m.client_id}`, ver: `${messageVersion(m)}|${state.myRole}|${conv && conv.my_role}`, m });
      if (m === lastOwn && seen.length) {
        wanted.push({ key: 's:', ver: `${m.id}|${seen.map((p) => p.id).join(',')}|${seenOpen.has(m.id)}`, seen: () => seenLine(state, m, seen) });
      }
    }
    const old = new Map();
    for (const el of list.children) old.set(el.dataset.key, el);
    const keep = new Set();
    let prev = null;
    for (const w of wanted) {
      let el = old.get(w.key);
      if (!el || el.dataset.ver !== w.ver) {
        let fresh;
        if (w.m) fresh = message(state, w.m, conv);
        else if (w.seen) fresh = w.seen();
        else fresh = h('li', { class: 'tc-day', role: 'separator' }, h('span', { text: w.ver }));
        fresh.dataset.key = w.key;
        fresh.dataset.ver = w.ver;
        if (el) {
          const focused = el === document.activeElement;
          el.replaceWith(fresh);
          if (focused && fresh.hasAttribute('tabindex')) { fresh.tabIndex = 0; fresh.focus({ preventScroll: true }); }
        }
        el = fresh;
      }
      keep.add(w.key);
      const expected = prev ? prev.nextSibling : list.firstChild;
      if (el !== expected) list.insertBefore(el, expected);
      prev = el;
    }
    for (const [k, el] of old) if (!keep.has(k)) el.remove();
    menu.bind(() => lastState);
    reactions.bind();
    menu.ensureTabStop();

    empty.hidden = !thread.loaded || items.length > 0;
    loadOlderBtn.hidden = !(thread.loaded && thread.lowestSeq != null && thread.lowestSeq > 1);
    loadOlderBtn.disabled = thread.loadingOlder;
    loadOlderBtn.textContent = thread.loadingOlder ? t('messages.loading') : t('messages.loadOlder');
    beginning.hidden = !(thread.loaded && items.length > 0 && thread.lowestSeq === 1);
    loadNewerBtn.hidden = !thread.newerMissing;

    if (stay) scrollToBottom();
    else if (olderArrived) {
      // Older history went in above: keep the reader's place (same distance from the bottom).
      container.scrollTop = container.scrollHeight - fromBottom;
    }
    const jump = state.jumpTarget;
    if (jump && jump !== shownJump && jump.conversationId === id) {
      for (const el of list.querySelectorAll('.tc-msg--found')) el.classList.remove('tc-msg--found');
      if (showOriginal(jump.messageId, 'tc-msg--found')) shownJump = jump;
    }
  }

  return { container, render, scrollToBottom };
}
