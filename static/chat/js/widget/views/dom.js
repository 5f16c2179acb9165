// Small DOM helpers for the views: elements from tag + attributes + children (text is
// always a text node, never HTML), the icons, and an error box bound to a store area.

export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v == null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat()) {
    if (c == null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

/** Sets text only when it differs (no needless mutations for screen readers). */
export function setText(el, text) {
  if (el.textContent !== text) el.textContent = text;
}

function svg(paths, cls = '') {
  const ns = 'http://www.w3.org/2000/svg';
  const s = document.createElementNS(ns, 'svg');
  for (const [k, v] of Object.entries({ viewBox: '0 0 24 24', width: '20', height: '20', 'aria-hidden': 'true', focusable: 'false', class: `tc-svg ${cls}` })) {
    s.setAttribute(k, v);
  }
  for (const d of [].concat(paths)) {
    const p = document.createElementNS(ns, 'path');
    p.setAttribute('d', d);
    s.append(p);
  }
  return s;
}

export const icons = {
  chat: () => svg('M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z'),
  close: () => svg('M6 6l12 12M18 6L6 18', 'tc-svg--stroke'),
  dots: () => svg(['M12 5.5a1.5 1.5 0 1 0 0 .01', 'M12 12a1.5 1.5 0 1 0 0 .01', 'M12 18.5a1.5 1.5 0 1 0 0 .01'], 'tc-svg--stroke tc-svg--dots'),
  send: () => svg('M3 20l18-8L3 4l2 8-2 8zm2-8h8', 'tc-svg--stroke'),
  paperclip: () => svg('M21 11.5l-8.5 8.5a5 5 0 0 1-7-7L14 4.5a3.5 3.5 0 0 1 5 5l-8.5 8.5a2 2 0 0 1-3-3L15 7.5', 'tc-svg--stroke'),
  plus: () => svg('M12 5v14M5 12h14', 'tc-svg--stroke'),
  bellOff: () => svg(['M18 16v-5a6 6 0 0 0-9.5-4.9M6 10v6l-2 2h14', 'M10 21h4', 'M3 3l18 18'], 'tc-svg--stroke'),
  file: () => svg(['M14 3H6a2 2 0 0 0-2 2v14a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V9z', 'M14 3v6h6'], 'tc-svg--stroke'),
  info: () => svg(['M12 21a9 9 0 1 0 0-18 9 9 0 0 0 0 18z', 'M12 11v5', 'M12 7.5v.01'], 'tc-svg--stroke'),
  back: () => svg('M15 6l-6 6 6 6', 'tc-svg--stroke'),
};

export function initials(name) {
  const parts = String(name || '?').trim().split(/\s+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[parts.length - 1][0] : (parts[0] || '?').slice(0, 2);
  return letters.toUpperCase();
}

/** An avatar with initials, and an online dot for people. */
export function avatar(name, { group = false, online = null } = {}) {
  const el = h('span', { class: `tc-avatar${group ? ' tc-avatar--group' : ''}`, 'aria-hidden': 'true', text: initials(name) });
  if (online != null) el.append(h('span', { class: `tc-dot ${online ? 'tc-dot--online' : ''}` }));
  return el;
}

export const mutedMark = (t) => h('span', { class: 'tc-muted-mark', role: 'img', 'aria-label': t('conversation.muted'), title: t('conversation.muted') }, icons.bellOff());

/** A dismissable message box showing state.errors[area]. */
export function errorBox(area, { t, controller }) {
  const text = h('span', { class: 'tc-error-text' });
  const el = h('div', { class: 'tc-error', role: 'status', hidden: true }, text,
    h('button', {
      type: 'button', class: 'tc-icon-btn tc-error-close', 'aria-label': t('error.dismiss'), title: t('error.dismiss'),
      onclick: () => controller.dismissError(area),
    }, icons.close()));
  return {
    el,
    render(state) {
      const message = state.errors[area];
      el.hidden = !message;
      if (message) setText(text, message);
    },
  };
}

/** Keeps focus on the element with the same data attribute after a list is rebuilt. */
export function keepFocus(list, attr, rebuild) {
  const active = document.activeElement;
  const focused = active && list.contains(active) ? active.getAttribute(attr) : null;
  rebuild();
  if (focused) {
    const again = list.querySelector(`button[${attr}="${CSS.escape(focused)}"]`);
    if (again) again.focus();
  }
}
