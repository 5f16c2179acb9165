// Desktop notifications for messages in conversations that are not on screen. Asked
// for once, a few seconds after the first load; browsers that only prompt after a user
// gesture get a button in the Chats tab instead (state.notifyPrompt).

import { isViewing } from './store.js';
import { storage } from './storage.js';

const ASKED_KEY = 'tenantChat.notifyAsked';
const SHOWN_MS = 5000;

const supported = () => 'Notification' in window && typeof Notification === 'function';

export function createNotifier(app) {
  const { store, t } = app;

  function ask(fromUser) {
    if (!supported()) return;
    storage.set('localStorage', ASKED_KEY, '1');
    store.dispatch({ type: 'notify/prompt', visible: false });
    try {
      const r = Notification.requestPermission();
      if (r && typeof r.then === 'function') {
        r.then((perm) => {
          if (perm === 'default' && !fromUser) store.dispatch({ type: 'notify/prompt', visible: true });
        }).catch(() => {});
      }
    } catch (_) { /* very old API */ }
  }

  function dismissPrompt() {
    storage.set('localStorage', ASKED_KEY, '1');
    store.dispatch({ type: 'notify/prompt', visible: false });
  }

  function askLater(delayMs) {
    setTimeout(() => {
      if (!supported() || Notification.permission !== 'default' || storage.get('localStorage', ASKED_KEY)) return;
      ask(false);
    }, delayMs);
  }

  /** A mention (`mention: true`) is shown even when the conversation is muted. */
  function notify(conv, m, { mention = false } = {}) {
    if (!supported() || Notification.permission !== 'granted') return;
    const s = store.getState();
    if (!conv || (conv.is_muted && !mention) || String(m.sender_id) === s.me) return;
    if (isViewing(s, conv.id) && document.hasFocus()) return;
    const preview = (m.content || '').replace(/\s+/g, ' ').trim().slice(0, 140)
      || ((m.attachments || []).length ? t('notifications.attachment') : '');
    try {
      const n = new Notification(m.sender_name || conv.title || t('widget.title'), {
        body: conv.is_group ? `${conv.title}: ${preview}` : preview,
        tag: `tenantchat-${conv.id}`,
      });
      n.onclick = () => {
        try { window.focus(); } catch (_) { /* ignore */ }
        app.controller.openConversation(conv.id);
        n.close();
      };
      setTimeout(() => n.close(), SHOWN_MS);
    } catch (_) { /* e.g. Android Chrome needs a service worker */ }
  }

  return { ask, askLater, dismissPrompt, notify };
}
