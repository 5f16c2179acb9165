// What the user's gestures do: open and close the panel, switch tabs, open, start, flag
// and group conversations. Each intent dispatches to the store and runs its effects
// (HTTP, focus after the next render); views only call these.

import { conversationOf } from './store.js';
import { conversationPath } from './sync.js';
import { storage } from './storage.js';

const ERROR_SHOWN_MS = 8000;
const PANEL_KEY = 'tenantChat.panel';
const CONVERSATION_KEY = 'tenantChat.conversation';

export function createController(app) {
  const { store, api, sync, t } = app;
  const state = () => store.getState();

  const errorTimers = {};
  function showError(area, text) {
    store.dispatch({ type: 'error/shown', area, text });
    clearTimeout(errorTimers[area]);
    errorTimers[area] = setTimeout(() => store.dispatch({ type: 'error/dismissed', area, text }), ERROR_SHOWN_MS);
  }
  const dismissError = (area) => store.dispatch({ type: 'error/dismissed', area });

  function errorText(err) {
    if (!err) return t('error.generic');
    if (err.status === 0) return t('error.network');
    // Refused for a tenant rule: the phrase, in the reader's language.
    if (err.code === 'forbidden_topic' && err.body.phrase) return t('error.forbiddenTopic', { phrase: err.body.phrase });
    if (err.body && err.body.message) return err.body.message;
    if (err.status === 403) return t('error.forbidden');
    return t('error.generic');
  }

  function openPanel({ focus = true } = {}) {
    if (!state().panelOpen) {
      store.dispatch({ type: 'panel/opened' });
      storage.set('sessionStorage', PANEL_KEY, '1');
    }
    if (focus) app.afterRender(() => app.views.focusActive());
    if (state().activeTab === 'chat') app.stickToBottom();
  }

  function closePanel({ returnFocus = true } = {}) {
    if (!state().panelOpen) return;
    store.dispatch({ type: 'panel/closed' });
    storage.set('sessionStorage', PANEL_KEY, null);
    if (returnFocus) app.afterRender(() => app.views.focusBar());
  }

  const togglePanel = () => (state().panelOpen ? closePanel() : openPanel());

  function setTab(tab, { focus = false } = {}) {
    store.dispatch({ type: 'tab/selected', tab });
    if (focus) app.afterRender(() => app.views.focusTab(tab));
    if (tab === 'chat') app.stickToBottom();
  }

  let openSeq = 0; // a later open wins over an earlier one still loading
  /**
   * Opens a conversation at its newest messages, or with `at` ({id, seq} of a message,
   * e.g. a search result) at that message, with the history around it loaded.
   */
  async function openConversation(rawId, { showPanel = true, focus = true, at = null } = {}) {
    if (!rawId) return;
    const id = String(rawId);
    const mine = ++openSeq;
    const switching = state().openConversationId !== id;
    store.dispatch({ type: 'conversation/opened', id, jump: !!at });
    storage.set('sessionStorage', CONVERSATION_KEY, id);
    if (showPanel) openPanel({ focus: false });
    if (!at) app.stickToBottom();
    if (focus && !at && state().panelOpen && !state().signedOut) app.afterRender(() => app.views.focusInput());
    if (!conversationOf(state(), id)) {
      try {
        store.dispatch({ type: 'conversation/received', conversation: await api.get(conversationPath(id)) });
      } catch (err) {
        showError('chat', errorText(err));
      }
    }
    try {
      if (at) await sync.loadAround(id, at.id, at.seq);
      else await sync.catchUp(id);
    } catch (err) {
      if (mine === openSeq) showError('chat', errorText(err));
    }
    if (mine === openSeq && switching && !at) app.stickToBottom();
  }

  async function showArchived(show) {
    store.dispatch({ type: 'archived/toggled', show });
    await sync.refreshConversations({ notify: false }).catch((err) => showError('list', errorText(err)));
  }

  /** The conversation menu: archive/unarchive or mute/unmute the open conversation. */
  async function toggleFlag(which) {
    const conv = conversationOf(state(), state().openConversationId);
    if (!conv) return;
    const flag = which === 'archive' ? 'is_archived' : 'is_muted';
    const on = !conv[flag];
    const action = which === 'archive' ? (on ? 'archive' : 'unarchive') : (on ? 'mute' : 'unmute');
    try {
      await api.patch(conversationPath(conv.id, `${action}/`));
      store.dispatch({ type: 'conversation/flagged', id: conv.id, flags: { [flag]: on } });
    } catch (err) {
      showError('chat', errorText(err));
    }
  }

  /** The group info panel of the open conversation, in place of its messages. */
  function toggleInfo(open = !state().infoOpen) {
    store.dispatch({ type: 'info/toggled', open });
    dismissError('info');
    app.afterRender(() => (open ? app.views.focusInfo() : app.views.focusInput()));
  }

  async function startDirect(userId) {
    try {
      const conv = await api.post('/api/chat/conversations/start/', { participant_id: userId });
      store.dispatch({ type: 'conversation/received', conversation: conv });
      await openConversation(conv.id);
    } catch (err) {
      showError('users', errorText(err));
    }
  }

  /** Returns whether the group was created (the form closes then). */
  async function createGroup(title, memberIds) {
    if (!title) { showError('group', t('group.needTitle')); return false; }
    if (!memberIds.length) { showError('group', t('group.needMembers')); return false; }
    try {
      const conv = await api.post('/api/chat/conversations/', { title, participant_ids: memberIds });
      store.dispatch({ type: 'conversation/received', conversation: conv });
      dismissError('group');
      openConversation(conv.id);
      return true;
    } catch (err) {
      showError('group', errorText(err));
      return false;
    }
  }

  /** On start: the list, presence, and the panel and conversation of the last page. */
  async function restore() {
    try {
      await sync.refreshConversations({ notify: false });
    } catch (err) {
      if (!state().signedOut) showError('list', errorText(err));
    }
    sync.loadPresence().catch(() => {});
    const lastConversation = storage.get('sessionStorage', CONVERSATION_KEY);
    const panelWasOpen = storage.get('sessionStorage', PANEL_KEY) === '1';
    if (lastConversation && conversationOf(state(), lastConversation) && !state().openConversationId) {
      await openConversation(lastConversation, { showPanel: panelWasOpen, focus: false });
    } else if (panelWasOpen && !state().panelOpen) {
      openPanel({ focus: false });
    }
  }

  function signedOut() {
    if (state().signedOut) return;
    app.transport.stop();
    store.dispatch({ type: 'session/ended' });
    showError('chat', t('error.signedOut'));
    showError('list', t('error.signedOut'));
  }

  return {
    showError, dismissError, errorText, openPanel, closePanel, togglePanel, setTab, openConversation,
    showArchived, toggleFlag, toggleInfo, startDirect, createGroup, restore, signedOut,
  };
}
