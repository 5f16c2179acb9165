// The message actions: reply (the next send quotes it), edit (the composer holds the text
// until Enter saves it), delete, copy, react. The server's answer replaces the message in
// the store; everyone else gets `message_updated` (or `reaction`).

import { threadOf } from './store.js';
import { conversationPath } from './sync.js';

export function createMessageActions(app) {
  const { store, api, t } = app;
  const state = () => store.getState();
  const messagePath = (id, messageId) => conversationPath(id, `messages/${encodeURIComponent(messageId)}/`);
  const fail = (err) => { app.controller.showError('chat', app.controller.errorText(err)); return false; };

  function reply(message) {
    store.dispatch({ type: 'reply/started', id: state().openConversationId, message });
    app.afterRender(() => app.views.focusInput());
  }

  function edit(message) {
    store.dispatch({ type: 'edit/started', id: state().openConversationId, message });
    app.afterRender(() => app.views.focusInput());
  }

  const cancel = () => store.dispatch({ type: 'draft/contextCleared' });

  /** Saves the edit under way; returns whether the composer may clear its text. */
  function saveEdit(text) {
    const { editing } = state();
    if (!editing) return false;
    const content = text.trim();
    if (!content) return false;
    cancel();
    if (content === editing.message.content) return true;
    api.patch(messagePath(editing.conversationId, editing.message.id), { content })
      .then((m) => { if (m && m.id) store.dispatch({ type: 'message/updated', id: editing.conversationId, message: m }); })
      .catch(fail);
    return true;
  }

  async function remove(message) {
    const id = state().openConversationId;
    try {
      await api.request('DELETE', messagePath(id, message.id));
      // 204 has no body: the tombstone as the server keeps it, until the event confirms.
      store.dispatch({ type: 'message/updated', id, message: { ...message, deleted: true, content: '', attachments: [] } });
      return true;
    } catch (err) { return fail(err); }
  }

  async function copy(message) {
    try {
      await navigator.clipboard.writeText(message.content || '');
      app.controller.showError('chat', t('action.copied'));
    } catch (_) {
      fail(null);
    }
  }

  /**
   * Adds the user's `emoji` to a message, or takes it back when it is already theirs.
   * Shown at once; the `reaction` event that follows changes nothing more; a refusal
   * puts the server's copy back.
   */
  async function react(message, emoji) {
    const id = state().openConversationId;
    const held = threadOf(state(), id).byId[message.id] || message;
    const added = !(held.reactions || []).some((r) => r.emoji === emoji && r.me);
    store.dispatch({ type: 'reaction/changed', id, messageId: message.id, emoji, userId: state().me, added });
    const path = `${messagePath(id, message.id)}reactions/${encodeURIComponent(emoji)}/`;
    try {
      await api.request(added ? 'PUT' : 'DELETE', path);
    } catch (err) {
      fail(err);
      const fresh = await api.get(messagePath(id, message.id)).catch(() => null);
      if (fresh && fresh.id) store.dispatch({ type: 'reaction/restored', id, message: fresh });
    }
  }

  return { reply, edit, cancel, saveEdit, remove, copy, react };
}
